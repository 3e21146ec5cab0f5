//! Transcripts: every exchange between the harness and an implementation, saved as JSON lines
//! (`poolcheck run --record FILE`), and replayed offline without the implementation
//! (`--target transcript:FILE`, [`replay_transcript`]).
//!
//! A transcript holds one section per profile run. A section starts with a [`Header`] line
//! (`{"transcript":"poolcheck-transcript/1", …}`: suite version, spec edition, target, the
//! implementation's description, the whole profile and the run's [`Config`], seed included),
//! followed by one line per call in order — `changes()` calls included, answered with a change
//! report or `null` — `{"n":1,"request":{"op":"reset",…},"reply":{"ok":…}}`
//! or `…,"reply":{"err":{"Timeout":"…"}}}`, and ends with an [`Ending`] line
//! (`{"end":{"cases_run":…}}`) once the run is over. Requests are the adapter protocol's
//! [`Request`]s; replies are what the [`PoolService`] returned — so a transcript records any
//! target, the built-in ones included, and faults (a crash, a timeout) replay as faults.
//!
//! Replaying re-runs the harness with the recorded profile and configuration against a
//! [`Replayer`], which answers each request with the recorded reply after checking that it is
//! the recorded request. The harness is deterministic, so a faithful replay sends exactly the
//! recorded requests; the first request that differs, a run that ends early or late, or a
//! verdict other than the recorded one is a [`TranscriptError::Diverged`] saying where. A
//! replay never depends on the clock: a recorded time budget is dropped, and a run that its
//! budget cut short is refused ([`TranscriptError::Unreplayable`]) — where it stopped was the
//! clock's choice.
//!
//! This module records and replays calls. It refuses to know how they are judged (the
//! harness), how a live implementation is reached (the other adapters), or how results look.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Lines, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::protocol::Request;
use crate::harness::{self, Config, HarnessError, RunReport};
use crate::spec::profile::Profile;
use crate::sut::{
    CallReply, HostFixture, JobView, MethodCall, ObjectPath, PoolService, ServiceDescription,
    ServiceError, Snapshot, SnapshotDelta,
};

/// The format tag of a transcript's header lines.
pub const FORMAT: &str = "poolcheck-transcript/1";

/// The first line of a section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub transcript: String,
    pub suite_version: String,
    pub spec_edition: String,
    /// The `--target` the run used.
    pub target: String,
    /// What the implementation said about itself.
    pub service: ServiceDescription,
    pub profile: Profile,
    pub config: Config,
    /// Whether every `changes()` call is in the recording (`{"op":"changes"}`, answered with a
    /// change report or `null` for "not tracked"). Absent in transcripts recorded before
    /// poolcheck forwarded `changes()`: their runs never saw a change report, so a replay
    /// answers "not tracked" without reading the recording.
    #[serde(default)]
    pub records_changes: bool,
}

/// The last line of a section: how the recorded run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    pub cases_run: u32,
    pub steps_run: u64,
    /// The rule of the (shrunk) failure, if the run found one.
    pub failed_rule: Option<String>,
    pub time_budget_exhausted: bool,
    /// Set instead of the rest when the run ended in a harness error.
    pub harness_error: Option<String>,
}

impl Ending {
    fn of(outcome: Result<&RunReport, &HarnessError>) -> Ending {
        match outcome {
            Ok(report) => Ending {
                cases_run: report.cases_run,
                steps_run: report.steps_run,
                failed_rule: report.failure.as_ref().map(|f| f.rule.0.to_string()),
                time_budget_exhausted: report.time_budget_exhausted,
                harness_error: None,
            },
            Err(error) => Ending {
                cases_run: 0,
                steps_run: 0,
                failed_rule: None,
                time_budget_exhausted: false,
                harness_error: Some(error.to_string()),
            },
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(error) = &self.harness_error {
            return write!(f, "in a harness error ({error})");
        }
        write!(
            f,
            "after {} cases and {} steps ",
            self.cases_run, self.steps_run
        )?;
        match &self.failed_rule {
            Some(rule) => write!(f, "with a failure of {rule}"),
            None => write!(f, "without a failure"),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct EndLine {
    end: Ending,
}

/// Why a transcript could not be written or replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    #[error("transcript {path}: {problem}")]
    Io { path: PathBuf, problem: String },
    #[error("transcript {path}, line {line}: {problem}")]
    Format {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("transcript {path} has no run for profile {profile:?} (it has: {recorded})")]
    NoSection {
        path: PathBuf,
        profile: String,
        recorded: String,
    },
    #[error("transcript {path}: the run recorded at line {line} cannot be replayed: {reason}")]
    Unreplayable {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("the run diverged from transcript {path}: {detail}")]
    Diverged { path: PathBuf, detail: String },
    #[error("replaying transcript {path}: {error}")]
    Harness { path: PathBuf, error: HarnessError },
}

#[derive(Serialize)]
struct ExchangeOut<'a, T: Serialize> {
    n: u64,
    request: &'a Request,
    reply: ReplyOut<'a, T>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ReplyOut<'a, T: Serialize> {
    Ok(&'a T),
    Err(&'a ServiceError),
}

#[derive(Deserialize)]
struct ExchangeIn {
    n: u64,
    request: Request,
    reply: ReplyIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReplyIn {
    Ok(Box<RawValue>),
    Err(ServiceError),
}

/// A transcript file being written.
pub struct Recorder {
    path: PathBuf,
    out: BufWriter<File>,
    /// The first write error; reported by [`Recording::finish`].
    error: Option<String>,
}

impl Recorder {
    /// Create (or truncate) the transcript file.
    pub fn create(path: &Path) -> Result<Recorder, TranscriptError> {
        let file = File::create(path).map_err(|e| TranscriptError::Io {
            path: path.to_path_buf(),
            problem: format!("cannot create: {e}"),
        })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, file),
            error: None,
        })
    }

    /// Start a section for one run and return `service` wrapped so that every call is saved.
    pub fn record<'a>(
        &'a mut self,
        service: &'a mut dyn PoolService,
        target: &str,
        profile: &Profile,
        config: &Config,
    ) -> Result<Recording<'a>, TranscriptError> {
        let header = Header {
            transcript: FORMAT.to_string(),
            suite_version: harness::SUITE_VERSION.to_string(),
            spec_edition: crate::spec::edition().to_string(),
            target: target.to_string(),
            service: service.describe(),
            profile: profile.clone(),
            config: config.clone(),
            records_changes: true,
        };
        self.write_line(&header);
        self.take_error()?;
        Ok(Recording {
            service,
            recorder: self,
            n: 0,
        })
    }

    fn write_line<T: Serialize>(&mut self, value: &T) {
        if self.error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, value)
            .map_err(|e| e.to_string())
            .and_then(|()| self.out.write_all(b"\n").map_err(|e| e.to_string()));
        if let Err(problem) = written {
            self.error = Some(problem);
        }
    }

    fn take_error(&mut self) -> Result<(), TranscriptError> {
        match self.error.take() {
            None => Ok(()),
            Some(problem) => Err(TranscriptError::Io {
                path: self.path.clone(),
                problem: format!("cannot write: {problem}"),
            }),
        }
    }
}

/// A service whose every call is saved to a transcript.
pub struct Recording<'a> {
    service: &'a mut dyn PoolService,
    recorder: &'a mut Recorder,
    n: u64,
}

impl Recording<'_> {
    /// End the section with how the run ended, flush it, and report the first write error.
    pub fn finish(self, outcome: Result<&RunReport, &HarnessError>) -> Result<(), TranscriptError> {
        self.recorder.write_line(&EndLine {
            end: Ending::of(outcome),
        });
        if let Err(e) = self.recorder.out.flush() {
            self.recorder.error.get_or_insert(e.to_string());
        }
        self.recorder.take_error()
    }

    fn save<T: Serialize>(
        &mut self,
        request: &Request,
        reply: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.n += 1;
        let reply_out = match &reply {
            Ok(value) => ReplyOut::Ok(value),
            Err(e) => ReplyOut::Err(e),
        };
        self.recorder.write_line(&ExchangeOut {
            n: self.n,
            request,
            reply: reply_out,
        });
        reply
    }
}

impl PoolService for Recording<'_> {
    fn describe(&self) -> ServiceDescription {
        self.service.describe()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        let reply = self.service.reset(fixture);
        let request = Request::Reset {
            fixture: fixture.clone(),
        };
        self.save(&request, reply)
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        let reply = self.service.invoke(call);
        self.save(&Request::Invoke(call.clone()), reply)
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        let reply = self.service.poll_job(job);
        self.save(&Request::PollJob { job: job.clone() }, reply)
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        let reply = self.service.snapshot();
        self.save(&Request::Snapshot, reply)
    }

    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        let reply = self.service.changes();
        self.save(&Request::Changes, reply)
    }
}

/// Whether `path` is a transcript (its first line is a transcript header).
pub fn is_transcript(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut first = String::new();
    let mut reader = BufReader::new(Read::take(file, 4 * 1024 * 1024));
    if reader.read_line(&mut first).is_err() {
        return false;
    }
    parse_header(&first).is_some()
}

fn is_exchange_line(line: &str) -> bool {
    line.starts_with("{\"n\":")
}

fn parse_ending(line: &str) -> Option<Ending> {
    if !line.starts_with("{\"end\":") {
        return None;
    }
    serde_json::from_str::<EndLine>(line).ok().map(|l| l.end)
}

fn parse_header(line: &str) -> Option<Header> {
    let header: Header = serde_json::from_str(line.trim_end()).ok()?;
    (header.transcript == FORMAT).then_some(header)
}

/// One section of a transcript: its header and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub line: usize,
    pub header: Header,
    /// How the recorded run ended; `None` when the recording was cut off.
    pub ending: Option<Ending>,
}

/// Every section header of a transcript, in order.
pub fn sections(path: &Path) -> Result<Vec<Section>, TranscriptError> {
    let mut found: Vec<Section> = Vec::new();
    for (idx, line) in open_lines(path)?.enumerate() {
        let line = line.map_err(|e| io_error(path, e))?;
        if is_exchange_line(&line) || line.trim().is_empty() {
            continue;
        }
        if let Some(ending) = parse_ending(&line) {
            if let Some(last) = found.last_mut() {
                last.ending = Some(ending);
            }
            continue;
        }
        match parse_header(&line) {
            Some(header) => found.push(Section {
                line: idx + 1,
                header,
                ending: None,
            }),
            None => {
                return Err(TranscriptError::Format {
                    path: path.to_path_buf(),
                    line: idx + 1,
                    problem: format!(
                        "neither a {FORMAT} header nor an exchange: {}",
                        super::protocol::excerpt(&line)
                    ),
                })
            }
        }
    }
    if found.is_empty() {
        return Err(TranscriptError::Format {
            path: path.to_path_buf(),
            line: 1,
            problem: format!("not a transcript: no {FORMAT} header"),
        });
    }
    Ok(found)
}

fn open_lines(path: &Path) -> Result<Lines<BufReader<File>>, TranscriptError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    Ok(BufReader::with_capacity(256 * 1024, file).lines())
}

fn io_error(path: &Path, e: std::io::Error) -> TranscriptError {
    TranscriptError::Io {
        path: path.to_path_buf(),
        problem: e.to_string(),
    }
}

/// The profile a section was recorded with, validated like a profile file.
pub fn section_profile(path: &Path, section: &Section) -> Result<Profile, TranscriptError> {
    let name = format!(
        "{} (recorded in {})",
        section.header.profile.name,
        path.display()
    );
    Profile::from_toml(&name, &section.header.profile.to_toml()).map_err(|e| {
        TranscriptError::Format {
            path: path.to_path_buf(),
            line: section.line,
            problem: e.to_string(),
        }
    })
}

/// Replays one section: answers each request with the recorded reply.
pub struct Replayer {
    path: PathBuf,
    header: Header,
    lines: Lines<BufReader<File>>,
    /// 1-based number of the last line read.
    line: usize,
    exchanges: u64,
    diverged: Option<String>,
}

impl Replayer {
    /// Open the section that starts at `section.line`.
    pub fn open(path: &Path, section: &Section) -> Result<Replayer, TranscriptError> {
        let mut lines = open_lines(path)?;
        for _ in 0..section.line {
            lines
                .next()
                .transpose()
                .map_err(|e| io_error(path, e))?
                .ok_or_else(|| TranscriptError::Format {
                    path: path.to_path_buf(),
                    line: section.line,
                    problem: "the section's header line is missing".into(),
                })?;
        }
        Ok(Replayer {
            path: path.to_path_buf(),
            header: section.header.clone(),
            lines,
            line: section.line,
            exchanges: 0,
            diverged: None,
        })
    }

    /// Where the run left the transcript, if it did.
    pub fn divergence(&self) -> Option<&str> {
        self.diverged.as_deref()
    }

    /// After the run: the run must have used every recorded exchange of the section.
    pub fn finish(mut self) -> Result<(), TranscriptError> {
        if let Some(detail) = self.diverged.take() {
            return Err(self.diverged_error(detail));
        }
        match self.next_exchange_line() {
            Ok(None) => Ok(()),
            Ok(Some(_)) => {
                let detail = format!(
                    "the run ended after {} exchanges, but the recording goes on at line {}{}",
                    self.exchanges,
                    self.line,
                    self.settings_hint()
                );
                Err(self.diverged_error(detail))
            }
            Err(detail) => Err(self.diverged_error(detail)),
        }
    }

    fn diverged_error(&self, detail: String) -> TranscriptError {
        TranscriptError::Diverged {
            path: self.path.clone(),
            detail,
        }
    }

    fn settings_hint(&self) -> String {
        let c = &self.header.config;
        let budget = match c.time_budget {
            Some(budget) => format!(
                "; it had a time budget of {budget:?}, which may have ended it where the replay goes on"
            ),
            None => String::new(),
        };
        format!(
            " (recorded: profile {}, seed {}, cases {}, max_steps {}{budget}; `poolcheck replay {}` uses them)",
            self.header.profile.name,
            c.seed,
            c.cases,
            c.max_steps,
            self.path.display()
        )
    }

    /// The next exchange line of this section, or `None` at its end.
    fn next_exchange_line(&mut self) -> Result<Option<String>, String> {
        loop {
            match self.lines.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(format!("cannot read line {}: {e}", self.line + 1)),
                Some(Ok(line)) => {
                    self.line += 1;
                    if line.trim().is_empty() {
                        continue;
                    }
                    return Ok(is_exchange_line(&line).then_some(line));
                }
            }
        }
    }

    fn answer<T: DeserializeOwned>(&mut self, request: Request) -> Result<T, ServiceError> {
        match self.replay(&request) {
            Ok(value) => Ok(value),
            Err(Ok(recorded)) => Err(recorded),
            Err(Err(detail)) => {
                let detail = self.diverged.get_or_insert(detail).clone();
                Err(ServiceError::Protocol(format!(
                    "the run diverged from transcript {}: {detail}",
                    self.path.display()
                )))
            }
        }
    }

    /// `Ok(value)`, `Err(Ok(recorded error))`, or `Err(Err(divergence))`.
    fn replay<T: DeserializeOwned>(
        &mut self,
        request: &Request,
    ) -> Result<T, Result<ServiceError, String>> {
        if let Some(detail) = &self.diverged {
            return Err(Err(detail.clone()));
        }
        let number = self.exchanges + 1;
        let line = match self.next_exchange_line() {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(Err(format!(
                    "the run sent request {number} ({}) after the recording of this run ended at line {}{}",
                    request.describe(),
                    self.line,
                    self.settings_hint()
                )))
            }
            Err(detail) => return Err(Err(detail)),
        };
        let exchange: ExchangeIn = serde_json::from_str(&line).map_err(|e| {
            Err(format!(
                "line {} is not a valid exchange ({e}): {}",
                self.line,
                super::protocol::excerpt(&line)
            ))
        })?;
        self.exchanges = number;
        if exchange.request != *request || exchange.n != number {
            return Err(Err(format!(
                "at exchange {number} (line {}) the run sent {} but the recording has {}: {}{}",
                self.line,
                request.describe(),
                exchange.request.describe(),
                first_difference(request, &exchange.request),
                self.settings_hint()
            )));
        }
        match exchange.reply {
            ReplyIn::Err(recorded) => Err(Ok(recorded)),
            ReplyIn::Ok(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                Err(format!(
                    "line {}: the recorded reply to {} is not valid ({e})",
                    self.line,
                    request.describe()
                ))
            }),
        }
    }
}

/// Where two requests first differ, as JSON, with some context.
fn first_difference(sent: &Request, recorded: &Request) -> String {
    let a = serde_json::to_string(sent).unwrap_or_default();
    let b = serde_json::to_string(recorded).unwrap_or_default();
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or(a.len().min(b.len()));
    let window = |s: &str| -> String {
        let start = s
            .char_indices()
            .map(|(i, _)| i)
            .rev()
            .find(|&i| i + 40 <= at)
            .unwrap_or(0);
        s[start..].chars().take(100).collect()
    };
    format!("sent …{} — recorded …{}", window(&a), window(&b))
}

impl fmt::Debug for Replayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replayer")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("exchanges", &self.exchanges)
            .finish()
    }
}

impl PoolService for Replayer {
    fn describe(&self) -> ServiceDescription {
        self.header.service.clone()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.answer::<IgnoredAny>(Request::Reset {
            fixture: fixture.clone(),
        })
        .map(|_| ())
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.answer(Request::Invoke(call.clone()))
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.answer(Request::PollJob { job: job.clone() })
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.answer(Request::Snapshot)
    }

    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        if !self.header.records_changes {
            return Ok(None);
        }
        self.answer(Request::Changes)
    }
}

/// Replayers for `--target transcript:FILE`: one per requested profile (the section recorded
/// under that profile's name), or one per section when no profile is requested.
pub fn targets(
    path: &Path,
    requested: &[Profile],
) -> Result<Vec<(Profile, Replayer)>, TranscriptError> {
    let found = sections(path)?;
    if requested.is_empty() {
        return found
            .iter()
            .map(|s| Ok((section_profile(path, s)?, Replayer::open(path, s)?)))
            .collect();
    }
    requested
        .iter()
        .map(|profile| {
            let section = found
                .iter()
                .find(|s| s.header.profile.name == profile.name)
                .ok_or_else(|| TranscriptError::NoSection {
                    path: path.to_path_buf(),
                    profile: profile.name.clone(),
                    recorded: found
                        .iter()
                        .map(|s| s.header.profile.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            Ok((profile.clone(), Replayer::open(path, section)?))
        })
        .collect()
}

/// The configuration a section is replayed with: the recorded one without its time budget.
/// A run that its budget cut short cannot be replayed: where a budget stops a run depends on
/// the clock, not on the recording.
pub fn replay_config(path: &Path, section: &Section) -> Result<Config, TranscriptError> {
    if let Some(ending) = section.ending.as_ref().filter(|e| e.time_budget_exhausted) {
        return Err(TranscriptError::Unreplayable {
            path: path.to_path_buf(),
            line: section.line,
            reason: format!(
                "its time budget ({:?}) stopped the run after {} cases, and where a budget stops a run depends on the clock; record without --time-budget to replay",
                section.header.config.time_budget.unwrap_or_default(),
                ending.cases_run
            ),
        });
    }
    let mut config = section.header.config.clone();
    config.time_budget = None;
    Ok(config)
}

/// Re-run every section of a transcript offline: the harness, with the recorded profile and
/// configuration, against the recorded replies. Returns one report per section; any
/// divergence from the recording — a request, the length of the run, its verdict — is an
/// error that says where.
pub fn replay_transcript(path: &Path) -> Result<Vec<RunReport>, TranscriptError> {
    let mut reports = Vec::new();
    for section in sections(path)? {
        let profile = section_profile(path, &section)?;
        let config = replay_config(path, &section)?;
        let mut replayer = Replayer::open(path, &section)?;
        let result = harness::check(&mut replayer, &profile, &config);
        let diverged = |detail: String| TranscriptError::Diverged {
            path: path.to_path_buf(),
            detail,
        };
        if let Some(detail) = replayer.divergence() {
            return Err(diverged(detail.to_string()));
        }
        if let Some(recorded) = &section.ending {
            let replayed = Ending::of(result.as_ref());
            let same = Ending {
                time_budget_exhausted: recorded.time_budget_exhausted,
                ..replayed.clone()
            };
            if &same != recorded {
                return Err(diverged(format!(
                    "the run recorded at line {} ended {recorded}; its replay ended {replayed}",
                    section.line
                )));
            }
        }
        let report = result.map_err(|error| TranscriptError::Harness {
            path: path.to_path_buf(),
            error,
        })?;
        replayer.finish()?;
        reports.push(report);
    }
    Ok(reports)
}
