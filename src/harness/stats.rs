//! Per-rule bookkeeping: how many steps checked a rule, how many it decided, how many failed.

use serde::{Deserialize, Serialize};

use super::trace::{Channel, Observed};
use crate::model::fxhash::FxHashMap;
use crate::model::{invariants, rule_id, Expectation, HostModel, Step, Violation};
use crate::spec::RuleId;

/// Counts for one rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    /// Steps on which the rule's check ran.
    pub checked: u64,
    /// Steps the rule decided: it was violated by the call, or the step sat on its boundary.
    pub decisive: u64,
    /// Steps on which the implementation violated it.
    pub failed: u64,
    /// Steps on which it violated it as the profile expects (a known divergence).
    #[serde(default)]
    pub expected: u64,
}

/// Counts for every rule, over a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    /// Counts per rule (Fx-hashed: deterministic, and cheap on the per-step path).
    pub rules: FxHashMap<RuleId, RuleCounts>,
    pub steps: u64,
    /// Set when the implementation's `changes()` reports disagreed with its full snapshot:
    /// why. From then on every step of the run is checked on a full snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_breach: Option<String>,
}

impl RuleStats {
    fn bump(&mut self, rule: RuleId, decisive: bool) {
        let counts = self.rules.entry(rule).or_default();
        counts.checked += 1;
        if decisive {
            counts.decisive += 1;
        }
    }

    /// Record one judged step.
    pub fn record_step(
        &mut self,
        expectation: &Expectation,
        observed: &Observed,
        step: &Step,
        violations: &[Violation],
        model: &HostModel,
    ) {
        self.steps += 1;
        for rule in &expectation.checked {
            self.bump(*rule, expectation.decisive.contains(rule));
        }
        let has_children = model.has_children();
        for rule in invariants::INVARIANT_RULES {
            self.bump(rule_id(rule), has_children);
        }
        self.bump(rule_id("RC-001"), true);
        let (completed, via_job, refused_rv, cim_status) = match observed {
            Observed::Completed { via_job } => (true, *via_job, false, false),
            Observed::Refused { channel, .. } => (
                false,
                *channel == Channel::Job,
                *channel == Channel::ReturnValue,
                *channel == Channel::CimStatus,
            ),
            _ => (false, false, false, false),
        };
        if refused_rv && !expectation.accepts() {
            self.bump(rule_id("RC-002"), true);
        }
        if cim_status {
            self.bump(rule_id("RC-003"), true);
        }
        if via_job {
            for rule in ["JOB-001", "JOB-002", "JOB-003", "JOB-004"] {
                self.bump(rule_id(rule), true);
            }
            if step.method.dialect() == crate::sut::Dialect::Msvm {
                self.bump(rule_id("JOB-006"), true);
            }
        }
        if expectation.accepts() {
            self.bump(expectation.accept_rule, completed);
            if !expectation.shared_free.is_empty() {
                self.bump(rule_id("SHARE-003"), completed);
            }
        }
        if completed {
            self.bump(rule_id("JOB-005"), true);
            self.bump(rule_id("ATOM-002"), true);
        } else {
            self.bump(rule_id("ATOM-001"), !expectation.accepts());
        }
        for violation in violations {
            self.rules.entry(violation.rule).or_default().failed += 1;
        }
    }

    /// Record that a step's pool or job references were checked against the profile's
    /// `[instances]` (ID-005).
    pub(crate) fn record_placement(&mut self) {
        self.bump(rule_id("ID-005"), true);
    }

    /// Record that an Invalid Parameter refusal's `Error` output was checked (EMB-005).
    pub(crate) fn record_error_output(&mut self) {
        self.bump(rule_id("EMB-005"), true);
    }

    /// Record a step whose violations the profile expects, attributed to `rule`.
    pub fn record_expected(&mut self, rule: RuleId) {
        self.rules.entry(rule).or_default().expected += 1;
    }

    /// Add another run's counts.
    pub fn merge(&mut self, other: &RuleStats) {
        self.steps += other.steps;
        if self.changes_breach.is_none() {
            self.changes_breach.clone_from(&other.changes_breach);
        }
        for (rule, counts) in &other.rules {
            let mine = self.rules.entry(*rule).or_default();
            mine.checked += counts.checked;
            mine.decisive += counts.decisive;
            mine.failed += counts.failed;
            mine.expected += counts.expected;
        }
    }
}
