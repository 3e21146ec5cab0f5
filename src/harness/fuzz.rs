//! Fuzz bodies: what the cargo-fuzz targets under `fuzz/` run, as library code.
//!
//! A fuzz target is a few lines of glue that hands libFuzzer's bytes to a function of this
//! module and panics when it reports a finding; `tests/fuzz_smoke.rs` runs the same functions
//! over the seed corpus, random bytes and the regression files on stable, so nothing is
//! written twice.
//!
//! The differential body decodes bytes with `arbitrary` into the one operation type
//! ([`operations`]) — the same [`Operation`] that proptest strategies, trace files and
//! hand-written vectors use — and runs them in lockstep against the model and an
//! implementation ([`Differential`]), which is any target [`build_target`] can build: the
//! reference implementation by default, a mutant of the zoo, an external adapter. The fuzz
//! target picks it from the environment once per process ([`TARGET_VAR`], [`PROFILE_VAR`]).
//!
//! The protocol body ([`protocol`]) feeds bytes to the adapter protocol's decoders as lines
//! an adapter process could have written, and checks that they return and that whatever
//! they accept survives a round trip. (The embedded-instance decoder's body is the codec's
//! own, `codec::fuzz::decode_body`.)
//!
//! A finding is written where a regression can be made from it ([`Finding::record`]): the
//! whole trace and a ready-to-commit [`Regression`] file. This is the one module of the
//! harness that reads the environment and writes files, and it does either only when a fuzz
//! target starts or finds something. It refuses to know which implementation should fail.

use std::cell::RefCell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use serde::{Deserialize, Serialize};

use super::runner::run_sequence_verdict_uncounted;
use super::{minimize, replay, run_sequence, HarnessError, RuleFilter, RuleStats, Trace};
use crate::adapters::build_target;
use crate::adapters::protocol::{
    decode_hello, decode_response, decode_result, service_error, Fault, HelloLine, Reply, Request,
    PROTOCOL,
};
use crate::model::Operation;
use crate::spec::profile::Profile;
use crate::spec::RuleId;
use crate::sut::{
    CallReply, HostFixture, JobView, ObjectPath, PoolService, Snapshot, SnapshotDelta,
};

/// The longest operation sequence one fuzz input decodes to.
pub const MAX_OPERATIONS: usize = 32;

/// Names the implementation the differential target runs against (a `--target` string:
/// `reference`, `mutant:NAME`, or an adapter's). Default: `reference`.
pub const TARGET_VAR: &str = "POOLCHECK_FUZZ_TARGET";

/// Names the profile (built-in name or file path). Default: [`DEFAULT_PROFILE`].
pub const PROFILE_VAR: &str = "POOLCHECK_FUZZ_PROFILE";

/// The folder findings are written to. Default: libFuzzer's `-artifact_prefix` folder, else
/// `poolcheck-fuzz-findings` in the working directory.
pub const FINDINGS_VAR: &str = "POOLCHECK_FUZZ_FINDINGS";

/// The profile used when [`PROFILE_VAR`] is not set.
pub const DEFAULT_PROFILE: &str = "reference-msvm";

/// Decode fuzz bytes into an operation sequence: as many operations as the bytes hold, at
/// most [`MAX_OPERATIONS`]. Every input decodes; the same bytes give the same sequence.
pub fn operations(data: &[u8]) -> Vec<Operation> {
    let mut bytes = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < MAX_OPERATIONS && !bytes.is_empty() {
        match Operation::arbitrary(&mut bytes) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    ops
}

/// What went wrong for a fuzz input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// The implementation violated a rule (or an invariant) at this step.
    Violation {
        step: usize,
        rule: RuleId,
        detail: String,
    },
    /// The harness could not run the sequence at all (the implementation cannot be reset,
    /// or its fresh state does not match the fixture).
    Harness(HarnessError),
    /// The library itself panicked on this input.
    Panic(String),
    /// The fuzz target could not be set up (unknown target or profile).
    Setup(String),
}

/// One finding of the differential body: which implementation, which sequence, what broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub target: String,
    pub profile: String,
    pub operations: Vec<Operation>,
    pub kind: FindingKind,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (target, profile, steps) = (&self.target, &self.profile, self.operations.len());
        match &self.kind {
            FindingKind::Violation { step, rule, detail } => write!(
                f,
                "{target} under {profile} violates {rule} at step {step} of {steps}: {detail}"
            ),
            FindingKind::Harness(e) => write!(f, "{target} under {profile}: {e}"),
            FindingKind::Panic(message) => write!(
                f,
                "poolcheck panicked running {steps} operations against {target} under {profile}: {message}"
            ),
            FindingKind::Setup(message) => write!(f, "the fuzz target cannot start: {message}"),
        }
    }
}

/// What a regression file expects when it is replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Expect {
    /// The sequence conforms.
    Passes,
    /// The sequence fails, first on this rule.
    Fails { rule: RuleId },
    /// The sequence runs to a verdict, whatever it is, without a panic or harness error.
    Completes,
}

/// A fuzz finding (or any sequence worth keeping) as a file that `cargo test` replays
/// through [`Differential`]: `tests/fuzz-regressions/ops/*.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regression {
    pub description: String,
    /// A `--target` string.
    pub target: String,
    /// A profile name or path.
    pub profile: String,
    pub operations: Vec<Operation>,
    pub expect: Expect,
}

impl Regression {
    pub fn from_json(text: &str) -> Result<Regression, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Replay the sequence against its target and compare with the expectation; `Err` says
    /// what differed.
    pub fn check(&self) -> Result<(), String> {
        let mut differential =
            Differential::new(&self.target, &self.profile).map_err(|f| f.to_string())?;
        let outcome = differential.check(&self.operations);
        match (&self.expect, &outcome) {
            (Expect::Passes, Ok(())) => Ok(()),
            (
                Expect::Fails { rule: wanted },
                Err(Finding {
                    kind: FindingKind::Violation { rule, .. },
                    ..
                }),
            ) if rule == wanted => Ok(()),
            (
                Expect::Completes,
                Ok(())
                | Err(Finding {
                    kind: FindingKind::Violation { .. },
                    ..
                }),
            ) => Ok(()),
            (expect, Ok(())) => Err(format!("expected {expect:?}, but the sequence conforms")),
            (expect, Err(finding)) => Err(format!("expected {expect:?}, but {finding}")),
        }
    }
}

/// The differential oracle: the model and one implementation, run in lockstep over
/// operation sequences. The implementation is built once and reset before every sequence.
///
/// Per-rule counts are kept across sequences, like one harness run's: nothing reads them,
/// but the runner needs somewhere to count, and one table whose entries already exist costs
/// less per input than a new one grown from empty. It also carries
/// [`RuleStats::changes_breach`]: once the implementation's change reports have disagreed
/// with its full snapshot, every later sequence is checked on full snapshots straight away
/// (as in a harness run), instead of first on the reports that were shown to be wrong.
///
/// A sequence is checked for its verdict alone, its step records dropped as it runs
/// ([`run_sequence_verdict_uncounted`], from the profile's fixture built once here); the
/// run is deterministic, so a failing sequence is run once more with its records, for the
/// finding's detail.
pub struct Differential {
    target: String,
    profile: Profile,
    fixture: HostFixture,
    service: Box<dyn PoolService>,
    stats: RuleStats,
    all: RuleFilter,
}

impl Differential {
    /// Build the implementation `target` names (anything [`build_target`] accepts) for the
    /// profile `profile` (a built-in name or a file path).
    pub fn new(target: &str, profile: &str) -> Result<Differential, Finding> {
        let setup = |message: String| Finding {
            target: target.to_string(),
            profile: profile.to_string(),
            operations: Vec::new(),
            kind: FindingKind::Setup(message),
        };
        let profile = Profile::load(profile).map_err(|e| setup(e.to_string()))?;
        let service = build_target(target, &profile).map_err(setup)?;
        Ok(Differential {
            target: target.to_string(),
            fixture: profile.fixture(),
            profile,
            service,
            stats: RuleStats::default(),
            all: RuleFilter::all(),
        })
    }

    /// Configured by [`TARGET_VAR`] and [`PROFILE_VAR`].
    pub fn from_env() -> Result<Differential, Finding> {
        let target = std::env::var(TARGET_VAR).unwrap_or_else(|_| "reference".to_string());
        let profile = std::env::var(PROFILE_VAR).unwrap_or_else(|_| DEFAULT_PROFILE.to_string());
        Differential::new(&target, &profile)
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Decode `data` ([`operations`]) and [`check`](Differential::check) the sequence.
    pub fn check_bytes(&mut self, data: &[u8]) -> Result<(), Finding> {
        self.check(&operations(data))
    }

    /// Run `ops` in lockstep; `Err` on the first violated rule or a harness error.
    pub fn check(&mut self, ops: &[Operation]) -> Result<(), Finding> {
        let verdict = run_sequence_verdict_uncounted(
            &mut *self.service,
            &self.profile,
            &self.fixture,
            ops,
            &mut self.stats,
            &self.all,
        );
        let kind = match verdict {
            Ok(outcome) => match outcome.failure {
                None => return Ok(()),
                Some((step, rule)) => FindingKind::Violation {
                    step,
                    rule,
                    detail: self.detail(ops, step, rule),
                },
            },
            Err(e) => FindingKind::Harness(e),
        };
        Err(self.finding(ops, kind))
    }

    /// The detail of the first violation at `step`: `ops` run again, with step records, on
    /// the same kind of snapshots as the run that found it (the counts of this run are not
    /// kept). A deterministic implementation fails again exactly there on `rule`; one that
    /// does not is said to.
    fn detail(&mut self, ops: &[Operation], step: usize, rule: RuleId) -> String {
        let mut stats = RuleStats {
            changes_breach: self.stats.changes_breach.clone(),
            ..RuleStats::default()
        };
        let again = run_sequence(&mut *self.service, &self.profile, ops, &mut stats);
        let first = again.as_ref().ok().and_then(|outcome| {
            let record = outcome.steps.get(step)?;
            record.violations.first()
        });
        match (first, &again) {
            (Some(violation), Ok(outcome)) if outcome.failure == Some((step, rule)) => {
                violation.detail.clone()
            }
            (_, Ok(outcome)) => format!(
                "(run again for its detail, the sequence gave {:?} instead: not deterministic)",
                outcome.failure
            ),
            (_, Err(e)) => format!("(run again for its detail, the sequence gave {e})"),
        }
    }

    /// A violation's sequence cut down to one-step minimal (dropping any single step loses
    /// the violation of the same rule; see [`minimize`]); other findings as they are.
    pub fn minimize(&mut self, finding: Finding) -> Finding {
        let FindingKind::Violation { rule, .. } = finding.kind else {
            return finding;
        };
        let shorter = minimize(
            &mut *self.service,
            &self.profile,
            finding.operations.clone(),
            rule,
        );
        match shorter {
            Ok(ops) if ops.len() < finding.operations.len() => match self.check(&ops) {
                Err(
                    shrunk @ Finding {
                        kind: FindingKind::Violation { rule: again, .. },
                        ..
                    },
                ) if again == rule => shrunk,
                _ => finding,
            },
            _ => finding,
        }
    }

    /// The full trace of `ops` (re-run once more), for a finding's record.
    pub fn trace(&mut self, ops: &[Operation]) -> Result<Trace, HarnessError> {
        replay(&mut *self.service, &self.profile, ops)
    }

    fn finding(&self, ops: &[Operation], kind: FindingKind) -> Finding {
        Finding {
            target: self.target.clone(),
            profile: self.profile.name.clone(),
            operations: ops.to_vec(),
            kind,
        }
    }
}

/// Where a recorded finding was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub regression: PathBuf,
    /// Absent when the finding has no trace (a panic or a harness error).
    pub trace: Option<PathBuf>,
}

impl Finding {
    /// The regression file for this finding. A violation by a deliberately broken or an
    /// external implementation is expected to recur on its rule; a violation by the reference
    /// implementation is a bug of the reference or the model, and the file expects the
    /// sequence to pass once it is fixed; a panic or harness error is expected to go away.
    pub fn regression(&self) -> Regression {
        let expect = match &self.kind {
            FindingKind::Violation { .. } if self.target == "reference" => Expect::Passes,
            FindingKind::Violation { rule, .. } => Expect::Fails { rule: *rule },
            _ => Expect::Completes,
        };
        Regression {
            description: self.to_string(),
            target: self.target.clone(),
            profile: self.profile.clone(),
            operations: self.operations.clone(),
            expect,
        }
    }

    /// Write the regression file, and the trace when one is given, into `dir` as
    /// `<name>.regression.json` and `<name>.trace.json`.
    pub fn record(
        &self,
        dir: &Path,
        name: &str,
        trace: Option<&Trace>,
    ) -> std::io::Result<Recorded> {
        std::fs::create_dir_all(dir)?;
        let regression = dir.join(format!("{name}.regression.json"));
        std::fs::write(&regression, self.regression().to_json())?;
        let trace = match trace {
            Some(trace) => {
                let path = dir.join(format!("{name}.trace.json"));
                std::fs::write(&path, trace.to_json())?;
                Some(path)
            }
            None => None,
        };
        Ok(Recorded { regression, trace })
    }
}

/// A stable name for an input's findings: FNV-1a of its bytes, in hex.
pub fn input_name(data: &[u8]) -> String {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("input-{hash:016x}")
}

/// The folder findings go to: [`FINDINGS_VAR`]; else, under cargo-fuzz (libFuzzer's
/// `-artifact_prefix=DIR/artifacts/TARGET/`), `DIR/findings/TARGET/` — not the artifact
/// folder itself, whose every new file cargo-fuzz reports as a crashing input; else
/// `poolcheck-fuzz-findings`.
pub fn findings_dir() -> PathBuf {
    if let Ok(dir) = std::env::var(FINDINGS_VAR) {
        return PathBuf::from(dir);
    }
    let prefix =
        std::env::args().find_map(|a| a.strip_prefix("-artifact_prefix=").map(String::from));
    match prefix {
        Some(prefix) => findings_dir_beside(&prefix),
        None => PathBuf::from("poolcheck-fuzz-findings"),
    }
}

/// The findings folder for libFuzzer's `-artifact_prefix`: `DIR/artifacts/TARGET/` gives
/// `DIR/findings/TARGET/`, any other folder `F` gives `F-findings`.
pub fn findings_dir_beside(artifact_prefix: &str) -> PathBuf {
    let prefix = artifact_prefix;
    let artifact_dir = if prefix.ends_with('/') {
        PathBuf::from(prefix)
    } else {
        Path::new(&prefix)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let target = artifact_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "fuzz".to_string());
    match artifact_dir.parent() {
        Some(artifacts) if artifacts.file_name().is_some_and(|n| n == "artifacts") => {
            artifacts.with_file_name("findings").join(target)
        }
        _ => artifact_dir.with_file_name(format!("{target}-findings")),
    }
}

thread_local! {
    static ENV_TARGET: RefCell<Option<Result<Differential, Finding>>> = const { RefCell::new(None) };
}

/// The differential fuzz body: decode `data`, run it against the implementation named by
/// the environment (built on the first call, reused and reset afterwards), and on a finding
/// minimize it, record it ([`findings_dir`]) and return it. A panic inside the library is recorded as a
/// regression too, then propagated so that libFuzzer saves the input.
pub fn differential(data: &[u8]) -> Result<(), Finding> {
    ENV_TARGET.with(|cell| {
        let mut slot = cell.borrow_mut();
        let differential = match slot.get_or_insert_with(Differential::from_env) {
            Ok(differential) => differential,
            Err(setup) => return Err(setup.clone()),
        };
        let ops = operations(data);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| differential.check(&ops)));
        let finding = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(finding)) => finding,
            Err(payload) => {
                let finding = differential.finding(&ops, FindingKind::Panic(panic_text(&*payload)));
                report_recording(&finding, data, None);
                panic::resume_unwind(payload);
            }
        };
        let finding = differential.minimize(finding);
        let trace = differential.trace(&finding.operations).ok();
        report_recording(&finding, data, trace.as_ref());
        Err(finding)
    })
}

fn report_recording(finding: &Finding, data: &[u8], trace: Option<&Trace>) {
    let dir = findings_dir();
    match finding.record(&dir, &input_name(data), trace) {
        Ok(recorded) => {
            eprintln!("poolcheck: {finding}");
            eprintln!(
                "poolcheck: regression file {}",
                recorded.regression.display()
            );
            if let Some(trace) = recorded.trace {
                eprintln!("poolcheck: trace {}", trace.display());
            }
        }
        Err(e) => eprintln!(
            "poolcheck: {finding}\npoolcheck: cannot write the finding to {}: {e}",
            dir.display()
        ),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// What the protocol body made of one input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProtocolTally {
    /// The first line decoded as a hello line.
    pub hello: bool,
    /// Further lines that decoded as a response (`ok`, `unsupported` or `error`).
    pub responses: usize,
    /// `ok` results that decoded as the answer to some request (a `CallReply`, a `JobView`,
    /// a `Snapshot`, a change report).
    pub results: usize,
}

/// The adapter protocol's fuzz body: the bytes as the lines an adapter wrote (invalid UTF-8
/// replaced, as a reader of its stdout would), the first line decoded as the hello line,
/// every further line as the response to request `n` (its line number). `Err` names a broken
/// invariant: an accepted hello line or result that does not survive encoding and decoding
/// again. Every fault maps onto a [`ServiceError`](crate::sut::ServiceError).
pub fn protocol(data: &[u8]) -> Result<ProtocolTally, String> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let mut tally = ProtocolTally::default();
    match decode_hello(lines.next().unwrap_or_default()) {
        Ok(hello) => {
            tally.hello = true;
            let line = serde_json::to_string(&HelloLine {
                protocol: PROTOCOL.to_string(),
                hello: hello.clone(),
            })
            .map_err(|e| format!("an accepted hello does not encode: {e}"))?;
            if decode_hello(&line).as_ref() != Ok(&hello) {
                return Err(format!(
                    "the hello line {line} does not decode to {hello:?}"
                ));
            }
            if let Some(source) = &hello.profile {
                // Accepted or refused, loading the claimed profile must return.
                let _ = source.load(&hello.name);
            }
        }
        Err(fault) => fault_maps(&fault),
    }
    for (idx, line) in lines.enumerate() {
        match decode_response(line, idx as u64 + 1) {
            Ok(Reply::Ok(raw)) => {
                tally.responses += 1;
                let job = Request::PollJob {
                    job: ObjectPath::new("job"),
                };
                tally.results += round_trip::<CallReply>(&raw, &Request::Snapshot)?
                    + round_trip::<JobView>(&raw, &job)?
                    + round_trip::<Snapshot>(&raw, &Request::Snapshot)?
                    + round_trip::<Option<SnapshotDelta>>(&raw, &Request::Changes)?;
            }
            Ok(Reply::Unsupported(_) | Reply::Error(_)) => tally.responses += 1,
            Err(fault) => fault_maps(&fault),
        }
    }
    Ok(tally)
}

fn fault_maps(fault: &Fault) {
    let _ = service_error(fault, "stderr tail");
}

/// 1 when `raw` decodes as a `T` that encodes and decodes to itself, 0 when it is refused.
fn round_trip<T>(raw: &serde_json::value::RawValue, request: &Request) -> Result<usize, String>
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
{
    let value: T = match decode_result(raw, request) {
        Ok(value) => value,
        Err(fault) => {
            fault_maps(&fault);
            return Ok(0);
        }
    };
    let text = serde_json::to_string(&value)
        .map_err(|e| format!("an accepted result does not encode: {e}: {value:?}"))?;
    let again: Result<T, _> = serde_json::from_str(&text);
    match again {
        Ok(again) if again == value => Ok(1),
        other => Err(format!(
            "the result {} decoded to {value:?}, which encodes to {text} and decodes to {other:?}",
            raw.get()
        )),
    }
}
