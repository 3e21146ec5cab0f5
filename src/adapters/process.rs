//! The process adapter: a [`PoolService`] that runs an implementation written in any language
//! as a child process speaking the JSON-lines protocol of [`super::protocol`].
//!
//! `--target exec:'COMMAND ARGS'` starts `COMMAND` (split by [`split_command`]: POSIX-shell
//! quoting, no expansion, no shell) with piped stdin, stdout and stderr, in its own process
//! group, with `POOLCHECK_PROTOCOL=poolcheck-adapter/1` in its environment. The caller never
//! blocks on the child past the per-call timeout: on Unix it writes and reads non-blocking
//! pipes itself, waiting in `poll(2)`; elsewhere (or with [`AdapterOptions::threads`]) a
//! writer and a reader thread hand lines over channels (`process/link.rs`). A thread drains stderr
//! into a bounded buffer whose last lines go into every failure message.
//!
//! Whatever goes wrong — the adapter exits, hangs past the timeout, prints garbage, answers
//! another request than the pending one — the child's whole process group is killed and
//! reaped at once, and the call fails with a [`ServiceError`] naming the problem and ending
//! with the tail of the adapter's stderr. Later calls fail fast until the harness's next
//! `reset`, which starts the adapter again (so a crash is charged to the step that caused it,
//! and shrinking can re-run sequences); an adapter that cannot be started or reset is a
//! harness error. Dropping the adapter kills and reaps the child.
//!
//! This module knows processes, pipes and deadlines. It refuses to know what the messages
//! mean (that is [`super::protocol`]) or whether an answer is right (that is the harness).

mod link;

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::de::{DeserializeOwned, IgnoredAny};

use super::protocol::{
    self, decode_answer, decode_hello, service_error, write_request, Answer, Fault, Hello,
    Outgoing, FEATURE_CHANGES,
};
use crate::spec::profile::Profile;
use crate::sut::{
    CallReply, HostFixture, JobView, MethodCall, ObjectPath, PoolService, ServiceDescription,
    ServiceError, Snapshot, SnapshotDelta,
};
use link::{Link, LinkError};

/// The per-call timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an adapter may take to print its hello line when nothing else is configured.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest line accepted from an adapter's stdout.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How many bytes of stderr are kept, and how many of its last lines go into a message.
const STDERR_KEEP_BYTES: usize = 16 * 1024;
const STDERR_TAIL_LINES: usize = 12;

/// After killing the adapter, how long to wait for the rest of its stderr to arrive (its
/// pipe closes when the process group is gone; a daemonised grandchild could hold it open).
const STDERR_GRACE: Duration = Duration::from_secs(2);

/// How an adapter process is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterOptions {
    /// How long poolcheck waits for each answer.
    pub timeout: Duration,
    /// How long poolcheck waits for the hello line after starting the adapter.
    pub startup_timeout: Duration,
    /// Serve the pipes with a reader and a writer thread instead of `poll(2)` (always the
    /// case off Unix).
    pub threads: bool,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            timeout: DEFAULT_TIMEOUT,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            threads: false,
        }
    }
}

/// Why an adapter could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("bad adapter command {command:?}: {problem}")]
    Command { command: String, problem: String },
    #[error("cannot start adapter `{command}`: {error}")]
    Start {
        command: String,
        error: ServiceError,
    },
    #[error("adapter `{command}`: {problem}")]
    Profile { command: String, problem: String },
}

/// Parse a `--timeout` value in seconds (`10`, `0.5`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{text:?}: the timeout must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Split a command line the way a POSIX shell splits words, without expanding anything:
/// blanks separate words; `'…'` is literal; inside `"…"` a backslash escapes `"`, `\`, `$`
/// and `` ` ``; outside quotes a backslash escapes any character.
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("a trailing backslash escapes nothing".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

/// A JSON-lines adapter process behind [`PoolService`].
pub struct ProcessAdapter {
    command: String,
    argv: Vec<String>,
    options: AdapterOptions,
    hello: Hello,
    session: Option<Session>,
    /// Why the last session was lost, until the next reset starts a new one.
    lost: Option<String>,
    pids: Vec<u32>,
}

impl ProcessAdapter {
    /// Start the adapter and read its hello line.
    pub fn spawn(command: &str, options: AdapterOptions) -> Result<ProcessAdapter, AdapterError> {
        let argv = split_command(command).map_err(|problem| AdapterError::Command {
            command: command.to_string(),
            problem,
        })?;
        let (session, hello) =
            Session::start(&argv, &options).map_err(|error| AdapterError::Start {
                command: command.to_string(),
                error,
            })?;
        Ok(ProcessAdapter {
            command: command.to_string(),
            argv,
            options,
            hello,
            pids: vec![session.pid],
            session: Some(session),
            lost: None,
        })
    }

    /// What the adapter said in its hello line.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// The process id of the running adapter, if one is running.
    pub fn pid(&self) -> Option<u32> {
        self.session.as_ref().map(|s| s.pid)
    }

    /// Every process id this adapter has started, oldest first (one more after each restart).
    pub fn spawned_pids(&self) -> &[u32] {
        &self.pids
    }

    /// The profile to run under: `requested` when given (it must be for the adapter's
    /// dialect), otherwise the one the adapter declared in its hello line.
    pub fn profile(&self, requested: Option<&Profile>) -> Result<Profile, AdapterError> {
        let problem = |problem: String| AdapterError::Profile {
            command: self.command.clone(),
            problem,
        };
        let profile = match requested {
            Some(profile) => profile.clone(),
            None => self
                .hello
                .profile
                .as_ref()
                .ok_or_else(|| {
                    problem(format!(
                        "{:?} declares no profile in its hello line; name one with --profile",
                        self.hello.name
                    ))
                })?
                .load(&self.hello.name)
                .map_err(|e| problem(e.to_string()))?,
        };
        if profile.dialect != self.hello.dialect {
            return Err(problem(format!(
                "{:?} speaks the {:?} dialect, but profile {} is for {:?}",
                self.hello.name, self.hello.dialect, profile.name, profile.dialect
            )));
        }
        Ok(profile)
    }

    fn restart(&mut self) -> Result<(), ServiceError> {
        let (session, hello) = Session::start(&self.argv, &self.options)?;
        let before = self.hello.description();
        if hello.description() != before {
            return Err(ServiceError::Protocol(format!(
                "the restarted adapter introduced itself as {:?} {:?} ({:?}), not {:?} {:?} ({:?})",
                hello.name,
                hello.version,
                hello.dialect,
                before.name,
                before.version,
                before.dialect
            )));
        }
        if hello.features != self.hello.features {
            return Err(ServiceError::Protocol(format!(
                "the restarted adapter offers the features {:?}, not {:?}",
                hello.features, self.hello.features
            )));
        }
        self.pids.push(session.pid);
        self.session = Some(session);
        self.lost = None;
        Ok(())
    }

    fn call<T: DeserializeOwned>(&mut self, request: Outgoing<'_>) -> Result<T, ServiceError> {
        self.call_with(|session| session.call(request))
    }

    /// [`ProcessAdapter::call`] with the exchange `exchange` makes on the session.
    fn call_with<T>(
        &mut self,
        exchange: impl FnOnce(&mut Session) -> Result<Answer<'_, T>, Fault>,
    ) -> Result<T, ServiceError> {
        let Some(session) = self.session.as_mut() else {
            let earlier = self.lost.clone().unwrap_or_default();
            return Err(service_error(&Fault::Lost { earlier }, ""));
        };
        let fault = match exchange(session) {
            Ok(Answer::Ok(ok)) => return Ok(ok),
            Ok(Answer::Unsupported(why)) => Fault::Unsupported(why.into_owned()),
            Ok(Answer::Error(what)) => Fault::AdapterError(what.into_owned()),
            Ok(Answer::Invalid(fault)) => fault,
            Err(fault) => return Err(self.lose(fault)),
        };
        Err(service_error(&fault, ""))
    }

    /// The session is out of step or dead: kill and reap it, and describe the fault with
    /// the adapter's exit status and the tail of its stderr.
    fn lose(&mut self, mut fault: Fault) -> ServiceError {
        let tail = match self.session.take() {
            Some(mut session) => {
                let (status, tail) = session.terminate();
                if let Fault::Exited { status: slot, .. } = &mut fault {
                    *slot = status;
                }
                tail
            }
            None => String::new(),
        };
        self.lost = Some(fault.to_string());
        service_error(&fault, &tail)
    }
}

impl PoolService for ProcessAdapter {
    fn describe(&self) -> ServiceDescription {
        self.hello.description()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        if self.session.is_none() {
            self.restart()?;
        }
        self.call::<IgnoredAny>(Outgoing::Reset(fixture))
            .map(|_| ())
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.call(Outgoing::Invoke(call))
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.call(Outgoing::PollJob(job))
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.call_with(Session::call_snapshot)
    }

    /// Sent only to an adapter that offers `changes` in its hello line; `unsupported` (or an
    /// `ok` of `null`) means "not tracked", like not offering it.
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        if !self.hello.offers(FEATURE_CHANGES) {
            return Ok(None);
        }
        match self.call(Outgoing::Changes) {
            Err(ServiceError::Unsupported(_)) => Ok(None),
            answer => answer,
        }
    }
}

/// For a line `{"id":N,"ok":REST` with `N` = `id` written plainly, and no `"id"` in `REST`:
/// `REST`. What such a line decodes to depends on `REST` alone ([`Session::call_snapshot`]).
fn snapshot_rest(line: &str, id: u64) -> Option<&str> {
    let after = line.strip_prefix("{\"id\":")?;
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let (number, after) = after.split_at(digits);
    let plain = number == "0" || (!number.is_empty() && !number.starts_with('0'));
    let rest = after.strip_prefix(",\"ok\":")?;
    (plain && number.parse() == Ok(id) && !rest.contains("\"id\"")).then_some(rest)
}

/// The last bytes an adapter wrote to stderr.
#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(STDERR_KEEP_BYTES);
        self.bytes.drain(..excess);
    }

    fn render(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let text = String::from_utf8_lossy(&[front, back].concat()).into_owned();
        let lines: Vec<&str> = text.trim_end().lines().collect();
        let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
        lines[start..].join("\n")
    }
}

/// One running adapter process.
struct Session {
    child: Child,
    pid: u32,
    link: Box<dyn Link>,
    stderr: Arc<Mutex<Tail>>,
    stderr_closed: Receiver<()>,
    next_id: u64,
    /// The request line being sent, kept across calls.
    out: Vec<u8>,
    timeout: Duration,
    reaped: bool,
    /// The last snapshot answer decoded: its line after the id, and the snapshot.
    last_snapshot: Option<(String, Snapshot)>,
}

impl Session {
    /// Spawn the process and read its hello line.
    fn start(argv: &[String], options: &AdapterOptions) -> Result<(Session, Hello), ServiceError> {
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env(protocol::PROTOCOL_ENV, protocol::PROTOCOL);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().map_err(|e| {
            service_error(
                &Fault::Io {
                    during: format!("starting {:?}", argv[0]),
                    problem: e.to_string(),
                },
                "",
            )
        })?;
        let pid = child.id();
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ServiceError::Crashed(
                "the adapter's pipes could not be opened".into(),
            ));
        };
        let (closed, stderr_closed) = mpsc::channel();
        let tail = Arc::new(Mutex::new(Tail::default()));
        spawn_drain(stderr, Arc::clone(&tail), closed);
        let link = match link::open(stdin, stdout, options.threads) {
            Ok(link) => link,
            Err(e) => {
                kill_group(&mut child, pid);
                let _ = child.wait();
                return Err(ServiceError::Crashed(format!(
                    "the adapter's pipes could not be set up: {e}"
                )));
            }
        };
        let mut session = Session {
            child,
            pid,
            link,
            stderr: tail,
            stderr_closed,
            next_id: 1,
            out: Vec::with_capacity(4 * 1024),
            timeout: options.timeout,
            reaped: false,
            last_snapshot: None,
        };
        match session.read_hello(options.startup_timeout) {
            Ok(hello) => Ok((session, hello)),
            Err(mut fault) => {
                let (status, tail) = session.terminate();
                if let Fault::Exited { status: slot, .. } = &mut fault {
                    *slot = status;
                }
                Err(service_error(&fault, &tail))
            }
        }
    }

    fn read_hello(&mut self, timeout: Duration) -> Result<Hello, Fault> {
        let during = || "the handshake".to_string();
        let line = self
            .link
            .receive(Instant::now() + timeout)
            .map_err(|e| link_fault(e, &during(), timeout))?;
        decode_hello(line)
    }

    /// Send one request and wait for its answer (borrowed from the link until the next
    /// call). The request line is written into a buffer kept across calls and sent with one
    /// write; the answer is read where it arrived and decoded in place.
    fn call<T: DeserializeOwned>(&mut self, request: Outgoing<'_>) -> Result<Answer<'_, T>, Fault> {
        let (id, line) = self.exchange(request)?;
        decode_answer(line, id, request)
    }

    /// Send `request` and wait for the answer line: its id and the line (borrowed from the
    /// link alone, so that the session's other fields stay free).
    fn exchange(&mut self, request: Outgoing<'_>) -> Result<(u64, &str), Fault> {
        let id = self.next_id;
        self.next_id += 1;
        let during = || format!("request {id} ({})", request.describe());
        let timeout = self.timeout;
        let deadline = Instant::now() + timeout;
        write_request(&mut self.out, id, request);
        let link = &mut self.link;
        link.send(&self.out, deadline)
            .map_err(|e| link_fault(e, &during(), timeout))?;
        let line = link
            .receive(deadline)
            .map_err(|e| link_fault(e, &during(), timeout))?;
        Ok((id, line))
    }

    /// [`Session::call`] for `snapshot`. Every sequence starts with a reset to the same
    /// fixture and a snapshot of its primordial pools, so most snapshot answers repeat the last
    /// one byte for byte but for their id; such an answer is not decoded again. A line
    /// `{"id":N,"ok":REST` whose `N` is the expected id and whose `REST` names no other `"id"`
    /// decodes to a value that depends on `REST` alone, so the snapshot decoded from the last
    /// such line with the same `REST` is that value.
    fn call_snapshot(&mut self) -> Result<Answer<'_, Snapshot>, Fault> {
        let last = self.last_snapshot.take();
        let (id, line) = self.exchange(Outgoing::Snapshot)?;
        let rest = snapshot_rest(line, id);
        let (answer, keep) = match (rest, last) {
            (Some(rest), Some((seen, snapshot))) if rest == seen => {
                (Answer::Ok(snapshot.clone()), Some((seen, snapshot)))
            }
            _ => {
                let answer = decode_answer::<Snapshot>(line, id, Outgoing::Snapshot)?;
                let keep = match (&answer, rest) {
                    (Answer::Ok(snapshot), Some(rest)) => {
                        Some((rest.to_string(), snapshot.clone()))
                    }
                    _ => None,
                };
                (answer, keep)
            }
        };
        // The answer may borrow the line; the kept snapshot is stored once it is owned.
        let answer = match answer {
            Answer::Ok(snapshot) => Answer::Ok(snapshot),
            Answer::Unsupported(why) => Answer::Unsupported(why.into_owned().into()),
            Answer::Error(what) => Answer::Error(what.into_owned().into()),
            Answer::Invalid(fault) => Answer::Invalid(fault),
        };
        self.last_snapshot = keep;
        Ok(answer)
    }

    /// Kill the process group, reap the child, and collect the rest of stderr. Returns the
    /// exit status as text and the stderr tail.
    fn terminate(&mut self) -> (String, String) {
        self.link.close();
        kill_group(&mut self.child, self.pid);
        let status = match self.child.wait() {
            Ok(status) => describe_status(status),
            Err(e) => format!("could not be reaped: {e}"),
        };
        self.reaped = true;
        let _ = self.stderr_closed.recv_timeout(STDERR_GRACE);
        let tail = self.stderr.lock().map(|t| t.render()).unwrap_or_default();
        (status, tail)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.reaped {
            self.link.close();
            kill_group(&mut self.child, self.pid);
            let _ = self.child.wait();
            self.reaped = true;
        }
    }
}

#[cfg(unix)]
fn kill_group(child: &mut Child, pid: u32) {
    if let Ok(pgid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals the process group the adapter leads
        // (spawned with process_group(0)); it touches no memory of this process.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child, _pid: u32) {
    let _ = child.kill();
}

fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(libc::SIGKILL) {
            return "still running; killed by poolcheck".into();
        }
    }
    status.to_string()
}

/// What a link failure means at the boundary.
fn link_fault(error: LinkError, during: &str, timeout: Duration) -> Fault {
    match error {
        LinkError::Closed => Fault::Exited {
            during: during.to_string(),
            status: "status unknown".into(),
        },
        LinkError::Timeout => Fault::Timeout {
            during: during.to_string(),
            after: timeout,
        },
        LinkError::TooLong => Fault::Garbage {
            line: format!("(more than {MAX_LINE_BYTES} bytes without a newline)"),
            problem: "a line is too long".into(),
        },
        LinkError::NotUtf8(excerpt) => Fault::Garbage {
            line: excerpt,
            problem: "a line is not UTF-8".into(),
        },
        LinkError::Io(problem) => Fault::Io {
            during: format!("talking to the adapter during {during}"),
            problem,
        },
    }
}

fn spawn_drain(mut stderr: ChildStderr, tail: Arc<Mutex<Tail>>, closed: Sender<()>) {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match stderr.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut tail) = tail.lock() {
                        tail.push(&chunk[..n]);
                    }
                }
            }
        }
        let _ = closed.send(());
    });
}

/// Start the adapter `command` and bind it to a profile (see [`ProcessAdapter::profile`]).
pub fn build(
    command: &str,
    requested: Option<&Profile>,
    options: &AdapterOptions,
) -> Result<(Profile, ProcessAdapter), AdapterError> {
    let adapter = ProcessAdapter::spawn(command, options.clone())?;
    let profile = adapter.profile(requested)?;
    Ok((profile, adapter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_ok_line_with_the_expected_id_is_matched_on_its_rest() {
        let ok = r#"{"id":12,"ok":{"pools":[]}}"#;
        assert_eq!(snapshot_rest(ok, 12), Some(r#"{"pools":[]}}"#));
        assert_eq!(
            snapshot_rest(r#"{"id":0,"ok":{"pools":[]}}"#, 0),
            Some(r#"{"pools":[]}}"#)
        );
        for (line, id) in [
            (ok, 13),                                          // another id
            (r#"{"id":012,"ok":{"pools":[]}}"#, 12),           // not written plainly
            (r#"{"id":12,"ok":{"pools":[]},"id":13}"#, 12),    // a second id
            (r#"{"id":12,"unsupported":"no"}"#, 12),           // not ok
            (r#"{"ok":{"pools":[]},"id":12}"#, 12),            // another order
            (r#" {"id":12,"ok":{"pools":[]}}"#, 12),           // a leading space
            (r#"{"id":99999999999999999999999,"ok":{}}"#, 12), // out of range
        ] {
            assert_eq!(snapshot_rest(line, id), None, "{line}");
        }
    }

    #[test]
    fn commands_split_like_a_shell_without_expansion() {
        let words = split_command(r#"python3 'my dir/a.py' --bug "off by\"one" a\ b $HOME"#);
        assert_eq!(
            words.unwrap(),
            vec![
                "python3",
                "my dir/a.py",
                "--bug",
                "off by\"one",
                "a b",
                "$HOME"
            ]
        );
        assert_eq!(split_command("  x  ''  ").unwrap(), vec!["x", ""]);
        assert!(split_command("a 'b").unwrap_err().contains("single quote"));
        assert!(split_command("a \"b").unwrap_err().contains("double quote"));
        assert!(split_command("   ").unwrap_err().contains("empty"));
    }

    #[test]
    fn timeouts_parse_as_positive_seconds() {
        assert_eq!(parse_timeout("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("10"), Ok(Duration::from_secs(10)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("inf").is_err());
    }

    #[test]
    fn the_stderr_tail_keeps_the_last_lines() {
        let mut tail = Tail::default();
        for idx in 0..100 {
            tail.push(format!("line {idx}\n").as_bytes());
        }
        let text = tail.render();
        assert!(text.ends_with("line 99"));
        assert_eq!(text.lines().count(), STDERR_TAIL_LINES);
        tail.push(&vec![b'x'; 3 * STDERR_KEEP_BYTES]);
        assert!(tail.bytes.len() <= STDERR_KEEP_BYTES);
    }
}
