//! The process adapter through the real process boundary (these tests spawn `python3`).
//!
//! - The Python example adapter (examples/python/) conforms under its own profile, and each
//!   bug it can inject fails the suite with the rule that bug breaks.
//! - Misbehaving adapters (tests/adapters/) — one that crashes, hangs, exits after its hello,
//!   answers out of order, prints garbage, reports errors, says a bad hello or none — each
//!   give a failure or harness error that names the problem and carries the adapter's stderr
//!   tail; none hangs or panics poolcheck, and every child process is reaped.
//! - The optional `changes` request: sent only to an adapter that offers it, its answers
//!   mapped (a report, "not tracked", a failure); the example conforms checking steps on its
//!   change reports with the same per-rule results as on full snapshots, and an adapter whose
//!   reports leave out changes is named (`changes_breach`) and still caught on its real bug.
//! - Transcripts record a run and replay it offline, and say where a replay diverges.
//! - The command line wires `exec:`, `--record`, `--timeout` and `transcript:`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use poolcheck::adapters::process::{AdapterError, AdapterOptions, ProcessAdapter};
use poolcheck::adapters::protocol::FEATURE_CHANGES;
use poolcheck::adapters::transcript::{self, Recorder, TranscriptError};
use poolcheck::adapters::{build_target, build_targets};
use poolcheck::harness::{self, Config, HarnessError, RunReport, Verdict};
use poolcheck::spec::Profile;
use poolcheck::sut::{
    CallReply, HostFixture, JobView, Method, MethodCall, ObjectPath, ParamValue, PoolService,
    ServiceDescription, ServiceError, Snapshot, SnapshotDelta,
};

fn manifest(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

/// The command line of the example adapter, with extra arguments.
fn example(args: &str) -> String {
    format!(
        "python3 -B '{}' {args}",
        manifest("examples/python/pool_adapter.py")
    )
}

/// The command line of a misbehaving adapter in tests/adapters/.
fn misbehaving(script: &str) -> String {
    format!(
        "python3 -B '{}'",
        manifest(&format!("tests/adapters/{script}"))
    )
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "poolcheck-adapter-test-{}-{name}",
        std::process::id()
    ))
}

/// Whether a process is gone: reaped processes vanish from /proc (a zombie would remain).
fn reaped(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn assert_all_reaped(pids: &[u32]) {
    for pid in pids {
        assert!(reaped(*pid), "adapter process {pid} was not reaped");
    }
}

/// The pid a test adapter logged to stderr (`pid=123`), found in poolcheck's message.
fn logged_pid(message: &str) -> u32 {
    let start = message.find("pid=").expect("the stderr tail names the pid") + 4;
    message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a pid")
}

/// Both ways of serving the pipes: `poll(2)` (the default on Unix) and threads.
fn io_modes() -> [AdapterOptions; 2] {
    [
        AdapterOptions::default(),
        AdapterOptions {
            threads: true,
            ..AdapterOptions::default()
        },
    ]
}

fn spawn(command: &str, options: AdapterOptions) -> ProcessAdapter {
    ProcessAdapter::spawn(command, options).unwrap_or_else(|e| panic!("{command}: {e}"))
}

fn quick(seed: u64, cases: u32) -> Config {
    Config {
        seed,
        cases,
        ..Config::default()
    }
}

/// A small budget for adapters that fail every case: few shrink steps, one re-run.
fn failing(seed: u64) -> Config {
    Config {
        seed,
        cases: 4,
        max_shrink_iters: 8,
        reruns: 1,
        ..Config::default()
    }
}

fn msvm() -> Profile {
    Profile::built_in("reference-msvm")
}

fn delete_call(path: &str) -> MethodCall {
    MethodCall::new(Method::DeletePool).with("Pool", ParamValue::Reference(ObjectPath::new(path)))
}

/// A running misbehaving adapter after a good reset and snapshot, with its pid.
fn started(script: &str, options: AdapterOptions) -> (ProcessAdapter, u32) {
    let mut adapter = spawn(&misbehaving(script), options);
    adapter.reset(&msvm().fixture()).expect("reset");
    adapter.snapshot().expect("snapshot");
    let pid = adapter.pid().expect("running");
    (adapter, pid)
}

/// Counts the calls a run makes through it, and how many change reports came back.
struct Tally<'a> {
    inner: &'a mut dyn PoolService,
    snapshots: u64,
    reports: u64,
}

impl<'a> Tally<'a> {
    fn new(inner: &'a mut dyn PoolService) -> Self {
        Tally {
            inner,
            snapshots: 0,
            reports: 0,
        }
    }
}

impl PoolService for Tally<'_> {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.inner.reset(fixture)
    }
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.inner.invoke(call)
    }
    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.inner.poll_job(job)
    }
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.snapshots += 1;
        self.inner.snapshot()
    }
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        let answer = self.inner.changes();
        self.reports += u64::from(matches!(answer, Ok(Some(_))));
        answer
    }
}

#[test]
fn the_python_example_conforms_under_its_own_profile() {
    for (seed, options) in [11, 12].into_iter().zip(io_modes()) {
        let mut adapter = spawn(&example(""), options);
        assert!(adapter.hello().offers(FEATURE_CHANGES));
        let profile = adapter
            .profile(None)
            .expect("the adapter declares its profile");
        assert_eq!(profile.name, "python-example");
        let mut tally = Tally::new(&mut adapter);
        let report = harness::check(&mut tally, &profile, &quick(seed, 200)).expect("check");
        assert!(
            report.conforms(),
            "seed {seed}: {:?}",
            report.failure.as_ref().map(|f| (&f.rule, &f.detail))
        );
        assert_eq!(report.changes_breach, None, "seed {seed}");
        assert!(
            tally.reports > tally.snapshots,
            "seed {seed}: steps are checked on change reports ({} reports, {} snapshots)",
            tally.reports,
            tally.snapshots
        );
        assert_eq!(report.target.name, "python-example-pool-service");
        assert_eq!(report.cases_run, 200);
        for rule in [
            "ARG-001",
            "CAP-005",
            "SHARE-002",
            "MOD-002",
            "JOB-004",
            "EMB-001",
        ] {
            assert_eq!(report.verdict(rule), Some(Verdict::Passed), "{rule}");
        }
        let pids = adapter.spawned_pids().to_vec();
        assert_eq!(pids.len(), 1, "a conforming adapter is never restarted");
        drop(adapter);
        assert_all_reaped(&pids);
    }
}

#[test]
fn each_injected_bug_fails_the_rule_it_breaks() {
    for (bug, rule) in [("off-by-one", "CAP-005"), ("leak-on-delete", "CAP-002")] {
        let mut adapter = spawn(&example(&format!("--bug {bug}")), AdapterOptions::default());
        let profile = adapter.profile(None).unwrap();
        let report = harness::check(&mut adapter, &profile, &quick(5, 300)).expect("check");
        let failure = report
            .failure
            .as_ref()
            .unwrap_or_else(|| panic!("{bug} passed"));
        assert_eq!(failure.rule.0, rule, "{bug}: {}", failure.detail);
        assert!(failure.deterministic, "{bug}");
        assert!(
            failure.shrunk_steps <= 3,
            "{bug}: {} steps",
            failure.shrunk_steps
        );
        assert_eq!(report.verdict(rule), Some(Verdict::Failed));
        assert!(report.target.version.contains(bug));
        assert_eq!(report.changes_breach, None, "{bug}");
    }
}

#[test]
fn change_reports_give_the_same_results_as_full_snapshots() {
    let run = |args: &str| {
        let mut adapter = spawn(&example(args), AdapterOptions::default());
        let profile = adapter.profile(None).unwrap();
        let mut tally = Tally::new(&mut adapter);
        let report = harness::check(&mut tally, &profile, &quick(13, 300)).expect("check");
        (report, tally.reports)
    };
    let (tracked, reports) = run("");
    let (untracked, no_reports) = run("--no-changes");
    assert!(reports > 0, "the example's change reports are used");
    assert_eq!(
        no_reports, 0,
        "an adapter that does not offer changes is never asked"
    );
    assert!(tracked.conforms() && untracked.conforms());
    assert_eq!(tracked.changes_breach, None);
    assert_eq!(tracked.rules, untracked.rules);
    assert_eq!(tracked.steps_run, untracked.steps_run);
}

#[test]
fn a_change_report_that_leaves_out_changes_is_named_and_the_real_bug_still_caught() {
    let lossy = |args: &str| format!("{} {args}", misbehaving("lossy_changes.py"));
    let mut adapter = spawn(&lossy(""), AdapterOptions::default());
    let profile = adapter.profile(None).unwrap();
    let report = harness::check(&mut adapter, &profile, &quick(6, 60)).expect("check");
    assert!(
        report.conforms(),
        "a lossy change report invents no failure: {:?}",
        report.failure.as_ref().map(|f| (&f.rule, &f.detail))
    );
    let breach = report
        .changes_breach
        .as_deref()
        .expect("the breach is named");
    assert!(
        breach.contains("changes() did not report every change"),
        "{breach}"
    );

    let mut adapter = spawn(&lossy("--bug leak-on-delete"), AdapterOptions::default());
    let report = harness::check(&mut adapter, &profile, &quick(5, 300)).expect("check");
    let failure = report.failure.as_ref().expect("the real bug is caught");
    assert_eq!(failure.rule.0, "CAP-002", "{}", failure.detail);
    assert!(failure.deterministic);
    assert!(failure.shrunk_steps <= 3, "{} steps", failure.shrunk_steps);
    assert!(report.changes_breach.is_some());
}

#[test]
fn changes_is_sent_only_when_offered_and_its_answers_are_mapped() {
    let answering = |mode: &str| format!("{} {mode}", misbehaving("changes_answers.py"));
    for options in io_modes() {
        let mut adapter = spawn(&answering("not-offered"), options.clone());
        assert!(!adapter.hello().offers(FEATURE_CHANGES));
        adapter.reset(&msvm().fixture()).expect("reset");
        assert_eq!(adapter.changes(), Ok(None));
        adapter
            .snapshot()
            .expect("still running: it was never sent changes");
        let report = harness::check(&mut adapter, &msvm(), &quick(1, 10)).expect("check");
        assert!(report.conforms());
        assert_eq!(adapter.spawned_pids().len(), 1);

        let report_of = |removed: &str| SnapshotDelta {
            changed: Vec::new(),
            removed: vec![ObjectPath::new(removed)],
        };
        for (mode, expected) in [
            ("unsupported", Ok(None)),
            ("null", Ok(None)),
            ("report", Ok(Some(report_of("gone")))),
            (
                "error",
                Err(ServiceError::Crashed(
                    "the adapter reported an error: the change journal is unavailable".into(),
                )),
            ),
        ] {
            let mut adapter = spawn(&answering(mode), options.clone());
            assert!(adapter.hello().offers(FEATURE_CHANGES), "{mode}");
            adapter.reset(&msvm().fixture()).expect("reset");
            assert_eq!(adapter.changes(), expected, "{mode}");
            adapter.snapshot().expect("the adapter keeps running");
        }
        let mut adapter = spawn(&answering("bad-shape"), options.clone());
        adapter.reset(&msvm().fixture()).expect("reset");
        let error = adapter.changes().unwrap_err();
        assert!(
            matches!(&error, ServiceError::Protocol(m) if m.contains("the adapter's answer to changes is not valid")),
            "{error:?}"
        );
    }
    // Offered but answered "not tracked": checked on full snapshots, nothing breached.
    let mut adapter = spawn(&answering("unsupported"), AdapterOptions::default());
    let report = harness::check(&mut adapter, &msvm(), &quick(2, 10)).expect("check");
    assert!(report.conforms());
    assert_eq!(report.changes_breach, None);
}

#[test]
fn a_crash_is_a_reported_failure_with_the_exit_status_and_stderr() {
    for options in io_modes() {
        let mut adapter = spawn(&misbehaving("crash.py"), options.clone());
        let report =
            harness::check(&mut adapter, &msvm(), &failing(1)).expect("not a harness error");
        let failure = report.failure.as_ref().expect("a crash fails the run");
        assert!(
            failure.detail.contains("implementation crashed"),
            "{}",
            failure.detail
        );
        assert!(
            failure.detail.contains("exited (exit status: 3)"),
            "{}",
            failure.detail
        );
        assert!(
            failure.detail.contains("crashing on purpose during"),
            "{}",
            failure.detail
        );
        let pids = adapter.spawned_pids().to_vec();
        assert!(pids.len() > 1, "the adapter is restarted at the next reset");
        let live = adapter.pid();
        assert_all_reaped(
            &pids
                .iter()
                .copied()
                .filter(|p| Some(*p) != live)
                .collect::<Vec<_>>(),
        );
        drop(adapter);
        assert_all_reaped(&pids);
    }
}

#[test]
fn a_hang_is_a_timeout_and_the_adapter_is_killed_and_restarted() {
    for options in io_modes() {
        let options = AdapterOptions {
            timeout: Duration::from_secs(1),
            ..options.clone()
        };
        let (mut adapter, pid) = started("hang.py", options);
        let error = adapter.invoke(&delete_call("x")).unwrap_err();
        let ServiceError::Timeout(message) = &error else {
            panic!("expected a timeout, got {error:?}");
        };
        assert!(
            message.contains("did not answer request 3 (invoke DeletePool) within 1 s"),
            "{message}"
        );
        assert!(
            message.contains("hanging on purpose during DeletePool"),
            "{message}"
        );
        assert!(reaped(pid), "the hung adapter is killed and reaped at once");
        assert_eq!(adapter.pid(), None);
        let later = adapter.snapshot().unwrap_err();
        assert!(
            matches!(&later, ServiceError::Crashed(m) if m.contains("no longer running")),
            "{later:?}"
        );
        adapter
            .reset(&msvm().fixture())
            .expect("a reset restarts it");
        assert_ne!(adapter.pid(), Some(pid));
        let pids = adapter.spawned_pids().to_vec();
        drop(adapter);
        assert_all_reaped(&pids);
    }
}

#[test]
fn a_hang_fails_the_run_with_the_timeout() {
    let options = AdapterOptions {
        timeout: Duration::from_secs(1),
        ..AdapterOptions::default()
    };
    let mut adapter = spawn(&misbehaving("hang.py"), options);
    let config = Config {
        reruns: 0,
        max_shrink_iters: 2,
        ..failing(2)
    };
    let report = harness::check(&mut adapter, &msvm(), &config).expect("not a harness error");
    let failure = report.failure.as_ref().expect("a hang fails the run");
    assert!(
        failure.detail.contains("implementation timed out"),
        "{}",
        failure.detail
    );
    assert!(
        failure.detail.contains("per-call timeout"),
        "{}",
        failure.detail
    );
    assert!(
        failure.detail.contains("hanging on purpose"),
        "{}",
        failure.detail
    );
    let pids = adapter.spawned_pids().to_vec();
    drop(adapter);
    assert_all_reaped(&pids);
}

#[test]
fn garbage_on_stdout_is_a_protocol_error() {
    for options in io_modes() {
        let (mut adapter, pid) = started("garbage.py", options.clone());
        let error = adapter.invoke(&delete_call("x")).unwrap_err();
        let ServiceError::Protocol(message) = &error else {
            panic!("expected a protocol error, got {error:?}");
        };
        assert!(message.contains("the adapter printed garbage"), "{message}");
        assert!(message.contains("this is not JSON"), "{message}");
        assert!(message.contains("printing garbage on purpose"), "{message}");
        assert!(reaped(pid));
    }
}

#[test]
fn an_answer_to_another_request_is_a_protocol_error() {
    let (mut adapter, pid) = started("wrong_id.py", AdapterOptions::default());
    let error = adapter.invoke(&delete_call("x")).unwrap_err();
    let ServiceError::Protocol(message) = &error else {
        panic!("expected a protocol error, got {error:?}");
    };
    assert!(
        message.contains("answered request 2 while request 3 was pending"),
        "{message}"
    );
    assert!(
        message.contains("answering request 3 with id 2 on purpose"),
        "{message}"
    );
    assert!(reaped(pid));
    let report = {
        let mut adapter = spawn(&misbehaving("wrong_id.py"), AdapterOptions::default());
        harness::check(&mut adapter, &msvm(), &failing(3)).expect("not a harness error")
    };
    let failure = report.failure.expect("out-of-order answers fail the run");
    assert!(
        failure.detail.contains("protocol error"),
        "{}",
        failure.detail
    );
}

#[test]
fn an_adapter_error_answer_is_a_failure_but_the_adapter_stays() {
    for options in io_modes() {
        let (mut adapter, pid) = started("adapter_error.py", options.clone());
        let error = adapter.invoke(&delete_call("x")).unwrap_err();
        assert_eq!(
            error,
            ServiceError::Crashed(
                "the adapter reported an error: backend unavailable: connection refused".into()
            )
        );
        assert_eq!(
            adapter.pid(),
            Some(pid),
            "an error answer keeps the adapter running"
        );
        adapter.snapshot().expect("and it still answers");
        drop(adapter);
        assert!(reaped(pid));
    }
}

#[test]
fn an_adapter_that_exits_after_its_hello_is_a_harness_error() {
    for options in io_modes() {
        let mut adapter = spawn(&misbehaving("exit_after_hello.py"), options.clone());
        let pid = adapter.pid().unwrap();
        let error = harness::check(&mut adapter, &msvm(), &failing(4)).unwrap_err();
        let HarnessError::Reset(ServiceError::Crashed(message)) = &error else {
            panic!("expected a reset failure, got {error:?}");
        };
        assert!(
            message.contains("the adapter exited (exit status: 0)"),
            "{message}"
        );
        assert!(message.contains("during request 1 (reset)"), "{message}");
        assert!(
            message.contains("leaving right after the hello"),
            "{message}"
        );
        assert!(reaped(pid));
    }
}

#[test]
fn a_bad_hello_is_refused_naming_both_protocols() {
    for options in io_modes() {
        let error = ProcessAdapter::spawn(&misbehaving("bad_handshake.py"), options.clone())
            .err()
            .expect("a bad hello is refused");
        let AdapterError::Start {
            error: ServiceError::Protocol(message),
            ..
        } = &error
        else {
            panic!("expected a protocol error, got {error:?}");
        };
        assert!(message.contains("bad handshake"), "{message}");
        assert!(
            message.contains(r#"the adapter speaks protocol "poolcheck-adapter/0"; poolcheck speaks "poolcheck-adapter/1""#),
            "{message}"
        );
        assert!(
            message.contains("about to say hello in the wrong protocol"),
            "{message}"
        );
        assert!(reaped(logged_pid(message)));
    }
}

#[test]
fn an_adapter_that_never_says_hello_times_out() {
    for options in io_modes() {
        let options = AdapterOptions {
            startup_timeout: Duration::from_secs(2),
            ..options.clone()
        };
        let error = ProcessAdapter::spawn(&misbehaving("no_handshake.py"), options)
            .err()
            .expect("no hello, no adapter");
        let AdapterError::Start {
            error: ServiceError::Timeout(message),
            ..
        } = &error
        else {
            panic!("expected a timeout, got {error:?}");
        };
        assert!(
            message.contains("did not answer the handshake within 2 s"),
            "{message}"
        );
        assert!(message.contains("not saying hello"), "{message}");
        assert!(reaped(logged_pid(message)));
    }
}

#[test]
fn commands_that_cannot_start_are_clear_errors() {
    let error = ProcessAdapter::spawn("poolcheck-no-such-program --x", AdapterOptions::default())
        .err()
        .unwrap();
    assert!(matches!(error, AdapterError::Start { .. }), "{error:?}");
    assert!(
        error.to_string().contains("poolcheck-no-such-program"),
        "{error}"
    );
    let error = ProcessAdapter::spawn("python3 'unterminated", AdapterOptions::default())
        .err()
        .unwrap();
    assert!(matches!(error, AdapterError::Command { .. }), "{error:?}");
    assert!(error.to_string().contains("unterminated single quote"));
}

#[test]
fn targets_take_the_adapters_profile_unless_one_is_named() {
    let target = format!("exec:{}", example(""));
    let built = build_targets(&target, &[], &AdapterOptions::default()).unwrap();
    assert_eq!(built.len(), 1);
    assert_eq!(built[0].0.name, "python-example");
    let named = build_targets(&target, &[msvm()], &AdapterOptions::default()).unwrap();
    assert_eq!(named[0].0.name, "reference-msvm");
    let wrong = build_targets(
        &target,
        &[Profile::built_in("reference-cim")],
        &AdapterOptions::default(),
    )
    .err()
    .unwrap();
    assert!(wrong.contains("speaks the Msvm dialect, but profile reference-cim is for Cim"));
    let none = build_targets(
        &format!("exec:{}", misbehaving("no_handshake.py")),
        &[],
        &AdapterOptions {
            startup_timeout: Duration::from_millis(300),
            ..AdapterOptions::default()
        },
    )
    .err()
    .unwrap();
    assert!(none.contains("cannot start adapter"), "{none}");
    assert!(build_target(&format!("exec:{}", example("")), &msvm()).is_ok());
}

/// Record a run of `command` under its own profile; returns the live run's report.
fn record(command: &str, config: &Config, path: &Path) -> RunReport {
    let mut adapter = spawn(command, AdapterOptions::default());
    let profile = adapter.profile(None).unwrap();
    let mut recorder = Recorder::create(path).unwrap();
    let mut recording = recorder
        .record(&mut adapter, &format!("exec:{command}"), &profile, config)
        .unwrap();
    let report = harness::check(&mut recording, &profile, config);
    recording.finish(report.as_ref()).unwrap();
    report.unwrap()
}

fn same_run(live: &RunReport, replayed: &RunReport) {
    assert_eq!(live.rules, replayed.rules);
    assert_eq!(live.cases_run, replayed.cases_run);
    assert_eq!(live.steps_run, replayed.steps_run);
    assert_eq!(live.target, replayed.target);
    assert_eq!(
        live.failure.as_ref().map(|f| (f.rule, &f.trace.operations)),
        replayed
            .failure
            .as_ref()
            .map(|f| (f.rule, &f.trace.operations))
    );
}

#[test]
fn a_transcript_replays_offline_to_the_same_report() {
    let path = temp_file("conforming.jsonl");
    let live = record(&example(""), &quick(21, 40), &path);
    assert!(live.conforms());
    assert!(transcript::is_transcript(&path));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text
        .lines()
        .next()
        .unwrap()
        .contains("\"records_changes\":true"));
    assert!(
        text.contains(r#""request":{"op":"changes"},"reply":{"ok":{"changed":"#),
        "the run's change reports are recorded"
    );
    let replayed = transcript::replay_transcript(&path).expect("replay");
    assert_eq!(replayed.len(), 1);
    same_run(&live, &replayed[0]);

    let failing_path = temp_file("failing.jsonl");
    let live = record(&example("--bug off-by-one"), &quick(22, 200), &failing_path);
    assert_eq!(live.failure.as_ref().unwrap().rule.0, "CAP-005");
    let replayed = transcript::replay_transcript(&failing_path).expect("replay");
    same_run(&live, &replayed[0]);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&failing_path);
}

#[test]
fn a_transcript_recorded_before_change_reports_still_replays() {
    // What poolcheck recorded before it forwarded changes(): no `records_changes` in the
    // header, no `changes` exchanges (a run without change reports answers each with null).
    let path = temp_file("before-changes.jsonl");
    let live = record(&example("--no-changes"), &quick(25, 30), &path);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut n = 0u64;
    let mut dropped = 0;
    let old: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            if value.get("transcript").is_some() {
                let header = value.as_object_mut().unwrap();
                assert_eq!(header.remove("records_changes"), Some(true.into()));
            } else if value.get("n").is_some() {
                if value["request"]["op"] == "changes" {
                    assert!(value["reply"]["ok"].is_null(), "{line}");
                    dropped += 1;
                    return None;
                }
                n += 1;
                value["n"] = n.into();
            }
            Some(value.to_string())
        })
        .collect();
    assert!(dropped > 0);
    std::fs::write(&path, old.join("\n") + "\n").unwrap();
    let replayed = transcript::replay_transcript(&path).expect("replay");
    same_run(&live, &replayed[0]);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn time_budgets_never_make_a_replay_depend_on_the_clock() {
    let path = temp_file("budget.jsonl");
    let ample = Config {
        time_budget: Some(Duration::from_secs(3600)),
        ..quick(23, 20)
    };
    let live = record(&example(""), &ample, &path);
    assert!(!live.time_budget_exhausted);
    let replayed = transcript::replay_transcript(&path).expect("replay");
    same_run(&live, &replayed[0]);

    let cut_short = Config {
        time_budget: Some(Duration::from_millis(200)),
        ..quick(24, 1_000_000)
    };
    let live = record(&example(""), &cut_short, &path);
    assert!(live.time_budget_exhausted, "the budget ends the run");
    let error = transcript::replay_transcript(&path).unwrap_err();
    assert!(
        matches!(&error, TranscriptError::Unreplayable { reason, .. }
            if reason.contains("where a budget stops a run depends on the clock")),
        "{error:?}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_replay_that_leaves_the_recording_says_where() {
    let path = temp_file("diverging.jsonl");
    record(&example(""), &quick(31, 10), &path);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // Another seed: the run asks for other calls.
    let mut header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    header["config"]["seed"] = 32.into();
    let reseeded = [header.to_string()]
        .into_iter()
        .chain(lines[1..].iter().map(|l| l.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, reseeded).unwrap();
    let error = transcript::replay_transcript(&path).unwrap_err();
    let TranscriptError::Diverged { detail, .. } = &error else {
        panic!("expected a divergence, got {error:?}");
    };
    assert!(detail.contains("at exchange"), "{detail}");
    assert!(detail.contains("the run sent invoke"), "{detail}");
    assert!(detail.contains("seed 32"), "{detail}");

    // Cut short: the recording ends before the run does.
    let cut = lines[..lines.len() / 2].join("\n");
    std::fs::write(&path, cut).unwrap();
    let error = transcript::replay_transcript(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("after the recording of this run ended"),
        "{error}"
    );

    // Not a transcript at all.
    std::fs::write(&path, "{\"format\": \"poolcheck-trace\"}\n").unwrap();
    assert!(!transcript::is_transcript(&path));
    let error = transcript::replay_transcript(&path).unwrap_err();
    assert!(matches!(error, TranscriptError::Format { .. }), "{error:?}");
    let _ = std::fs::remove_file(&path);
}

fn poolcheck(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_poolcheck"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("poolcheck runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_runs_records_and_replays_an_exec_target() {
    let transcript_path = temp_file("cli.jsonl");
    let trace_dir = temp_file("cli-failures");
    let record_to = transcript_path.display().to_string();
    let traces = trace_dir.display().to_string();
    let target = format!("exec:{}", example(""));
    let (code, stdout, stderr) = poolcheck(&[
        "run",
        "--target",
        &target,
        "--seed",
        "41",
        "--cases",
        "30",
        "--record",
        &record_to,
        "--timeout",
        "20",
        "--trace-dir",
        &traces,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("python-example on python-example-pool-service"),
        "{stdout}"
    );
    assert!(stdout.contains("CONFORMS"), "{stdout}");

    let (code, stdout, stderr) = poolcheck(&["replay", &record_to]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("replay of transcript"), "{stdout}");
    assert!(stdout.contains("CONFORMS"), "{stdout}");

    let replay_target = format!("transcript:{record_to}");
    let (code, stdout, stderr) = poolcheck(&[
        "run",
        "--target",
        &replay_target,
        "--seed",
        "41",
        "--cases",
        "30",
        "--trace-dir",
        &traces,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("CONFORMS"), "{stdout}");

    let (code, _, stderr) = poolcheck(&[
        "run",
        "--target",
        &replay_target,
        "--seed",
        "42",
        "--cases",
        "30",
        "--trace-dir",
        &traces,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("diverged from transcript"), "{stderr}");

    let buggy = format!("exec:{}", example("--bug off-by-one"));
    let (code, stdout, _) = poolcheck(&[
        "run",
        "--target",
        &buggy,
        "--seed",
        "43",
        "--cases",
        "200",
        "--trace-dir",
        &traces,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FAILED CAP-005"), "{stdout}");

    let bad = format!("exec:{}", misbehaving("bad_handshake.py"));
    let (code, _, stderr) = poolcheck(&["run", "--target", &bad, "--trace-dir", &traces]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad handshake"), "{stderr}");
    let (code, _, stderr) = poolcheck(&["run", "--target", &target, "--timeout", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the timeout must be more than 0"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(&transcript_path);
    let _ = std::fs::remove_dir_all(&trace_dir);
}
