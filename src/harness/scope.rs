//! Which violations end a case: the `--rules` filter and the profile's expected failures.
//!
//! A step's violations are attributed to the *first* rule it violated; the others on the same
//! step are its consequences (a call accepted that must be refused leaves the host changed, so
//! ATOM-002 follows the rule that should have refused it). When that first rule is outside the
//! filter, or is a known divergence of the profile, the whole step is *tolerated*: nothing on
//! it counts as a failure, and the case goes on while the model can still follow the
//! implementation (its state agrees with the specified one) — otherwise the case ends there,
//! without a failure. This module decides; it refuses to know how a verdict is shown.

use serde::{Deserialize, Serialize};

use crate::spec::profile::Profile;
use crate::spec::{rules, RuleId};

/// Why a step's violations do not count as failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tolerance {
    /// The profile lists the rule under `[[expected_failures]]`.
    Expected,
    /// The rule is outside the run's `--rules` filter.
    Filtered,
}

/// A `--rules` filter: rule ids (`ARG-001`) or families (`CAP`); empty selects every rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleFilter {
    selectors: Vec<String>,
}

impl RuleFilter {
    /// Every rule.
    pub fn all() -> RuleFilter {
        RuleFilter::default()
    }

    /// A filter from selectors as given (case-insensitive). Selectors that match no rule
    /// select nothing; [`RuleFilter::unknown`] names them.
    pub fn new(selectors: &[String]) -> RuleFilter {
        RuleFilter {
            selectors: selectors
                .iter()
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    /// Whether the filter selects every rule.
    pub fn is_all(&self) -> bool {
        self.selectors.is_empty()
    }

    pub fn includes(&self, rule: RuleId) -> bool {
        self.is_all()
            || self
                .selectors
                .iter()
                .any(|s| s == rule.0 || s == rule.family())
    }

    /// Selectors that name neither a rule nor a family of spec/.
    pub fn unknown(&self) -> Vec<String> {
        self.selectors
            .iter()
            .filter(|s| {
                !rules::all()
                    .iter()
                    .any(|r| r.id.0 == s.as_str() || r.id.family() == s.as_str())
            })
            .cloned()
            .collect()
    }
}

/// Whether violations of `rule` are tolerated under `profile` and `filter`.
pub fn tolerance(rule: RuleId, profile: &Profile, filter: &RuleFilter) -> Option<Tolerance> {
    if !filter.includes(rule) {
        Some(Tolerance::Filtered)
    } else if profile.expected_failure(rule.0).is_some() {
        Some(Tolerance::Expected)
    } else {
        None
    }
}
