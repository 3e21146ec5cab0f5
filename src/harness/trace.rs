//! The canonical trace: what was run, what was sent, what came back, what the specification
//! expected, and which rules were violated. One format for proptest failures, fuzz findings,
//! replays and hand-written vectors (documented in `spec/trace-format.md`).

use serde::{Deserialize, Serialize};

use super::scope::Tolerance;
use crate::codec::Encoding;
use crate::model::{Operation, Step, Violation};
use crate::spec::{Reason, RuleId};
use crate::sut::{CallReply, HostFixture, JobView, MethodCall, ServiceDescription};

/// Version of the trace format; bumped on any incompatible change.
pub const TRACE_FORMAT_VERSION: u32 = 1;

/// The value of a trace's `format` field, which tells a trace from other JSON files a replay
/// may be handed (a trace without the field is read as one).
pub const TRACE_FORMAT: &str = "poolcheck-trace";

fn trace_format() -> String {
    TRACE_FORMAT.to_string()
}

// A *draft* — a hand-written vector that gives its profile and operations only — reads with
// these placeholders; `poolcheck promote` fills in the rest by running it.
fn unknown_target() -> ServiceDescription {
    ServiceDescription {
        name: String::new(),
        version: String::new(),
        dialect: crate::sut::Dialect::Msvm,
    }
}

fn unknown_fixture() -> HostFixture {
    HostFixture {
        host_name: String::new(),
        resource_types: Vec::new(),
    }
}

fn current_version() -> u32 {
    TRACE_FORMAT_VERSION
}

fn nothing_failed() -> TraceVerdict {
    TraceVerdict {
        passed: true,
        failed_rules: Vec::new(),
        expected_failures: Vec::new(),
    }
}

/// How a refusal reached the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    ReturnValue,
    CimStatus,
    Job,
}

/// What the implementation did with one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// The operation has no method in this dialect, or the profile says it is unsupported.
    Skipped,
    /// The implementation said it does not support the method.
    Unsupported(String),
    Completed {
        via_job: bool,
    },
    Refused {
        channel: Channel,
        code: u32,
        /// What the code means in the method's table (`None` for a job's ErrorCode or an
        /// undocumented value).
        reason: Option<Reason>,
    },
    /// No usable answer: a crash, a protocol error, a job that never ended.
    Broken(String),
}

/// What the specification expected of one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    Skipped,
    Success { rule: RuleId },
    Refusal { refusals: Vec<ExpectedRefusal> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedRefusal {
    pub rule: RuleId,
    pub reasons: Vec<Reason>,
    pub detail: String,
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub operation: Operation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<MethodCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<CallReply>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polls: Vec<JobView>,
    pub expected: Expected,
    pub observed: Observed,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Set when the step's violations do not count as failures: its first violated rule is a
    /// known divergence of the profile, or outside the run's rule filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated: Option<Tolerance>,
    /// A readable diff of the expected and observed host, when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_diff: Option<String>,
}

/// The verdict of a whole trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceVerdict {
    /// No violation counted as a failure.
    pub passed: bool,
    /// The rules of the violations that count as failures, in step order.
    pub failed_rules: Vec<RuleId>,
    /// The rules whose violations the profile expects (known divergences), in step order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_failures: Vec<RuleId>,
}

impl TraceVerdict {
    /// The verdict of a trace with these steps.
    pub fn of(steps: &[StepRecord]) -> TraceVerdict {
        let failed_rules: Vec<RuleId> = steps
            .iter()
            .filter(|s| s.tolerated.is_none())
            .flat_map(|s| s.violations.iter().map(|v| v.rule))
            .collect();
        // A tolerated step's violations are charged to its first rule.
        let expected_failures: Vec<RuleId> = steps
            .iter()
            .filter(|s| s.tolerated == Some(Tolerance::Expected))
            .filter_map(|s| s.violations.first().map(|v| v.rule))
            .collect();
        TraceVerdict {
            passed: failed_rules.is_empty(),
            failed_rules,
            expected_failures,
        }
    }
}

/// A complete, replayable run of one operation sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Always [`TRACE_FORMAT`].
    #[serde(default = "trace_format")]
    pub format: String,
    #[serde(default = "current_version")]
    pub format_version: u32,
    #[serde(default)]
    pub suite_version: String,
    #[serde(default)]
    pub spec_edition: String,
    pub profile: String,
    /// The implementation's self-description.
    #[serde(default = "unknown_target")]
    pub target: ServiceDescription,
    /// The `--target` string that built the implementation (`reference`, `mutant:NAME`, …),
    /// when known: `poolcheck replay` uses it unless told otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_spec: Option<String>,
    /// What the trace shows, for hand-written and promoted vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "unknown_fixture")]
    pub fixture: HostFixture,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// EMB-004: the encoding every embedded instance of the calls was re-encoded as on the
    /// wire (`harness::equivalence`). The steps are that run's, and its verdict is its
    /// comparison with the run as generated; a replay runs both and compares them again.
    /// Absent: the calls as generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendition: Option<Encoding>,
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    #[serde(default = "nothing_failed")]
    pub verdict: TraceVerdict,
}

impl Trace {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Trace, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A hand-written draft: operations without the steps that running them records.
    pub fn is_draft(&self) -> bool {
        self.steps.is_empty() && !self.operations.is_empty()
    }
}
