//! The canonical trace: what was run, what was sent, what came back, what the specification
//! expected, and which rules were violated. One format for proptest failures, fuzz findings,
//! replays and hand-written vectors (documented in `spec/trace-format.md`).

use serde::{Deserialize, Serialize};

use crate::model::{Operation, Step, Violation};
use crate::spec::{Reason, RuleId};
use crate::sut::{CallReply, HostFixture, JobView, MethodCall, ServiceDescription};

/// Version of the trace format; bumped on any incompatible change.
pub const TRACE_FORMAT_VERSION: u32 = 1;

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
    /// A readable diff of the expected and observed host, when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_diff: Option<String>,
}

/// The verdict of a whole trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceVerdict {
    pub passed: bool,
    pub failed_rules: Vec<RuleId>,
}

/// A complete, replayable run of one operation sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub format_version: u32,
    pub suite_version: String,
    pub spec_edition: String,
    pub profile: String,
    pub target: ServiceDescription,
    pub fixture: HostFixture,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub operations: Vec<Operation>,
    pub steps: Vec<StepRecord>,
    pub verdict: TraceVerdict,
}

impl Trace {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Trace, serde_json::Error> {
        serde_json::from_str(text)
    }
}
