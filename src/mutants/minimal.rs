//! Checking that a shrunk counterexample is minimal.
//!
//! proptest's shrinking and [`crate::harness::minimize`] guarantee *one-step* minimality: no
//! single step can be dropped. That is weaker than "no shorter operation sequence fails". This
//! module checks the stronger claim by exhaustive search over a finite space, and says exactly
//! which space:
//!
//! For a counterexample of `n` operations, the **alphabet** is the distinct operations of the
//! counterexample together with the [canonical operations](canonical_operations) the profile's
//! dialect supports (about twenty: creates of every resource type from one and from two
//! parents, shared and split, at a quarter, all and one more than the free capacity; a
//! duplicate PoolID; deletes of the newest pool, the two newest concrete pools and a
//! dangling path; changes of parents and settings; root-pool creates and host-resource changes). Every
//! sequence of length `1..n` over the alphabet is run against the implementation; the
//! counterexample is **checked minimal** when none of them fails on *any* rule.
//!
//! Because operations are relative (selectors resolve against the state when a step runs),
//! the alphabet reaches far more concrete calls than its size suggests. It is still a finite
//! sample of the operation space: "checked minimal" means minimal within this space, not
//! over every possible operation — the report says so.
//!
//! The module runs sequences and compares lengths; it refuses to know how rules are judged.

use crate::harness::shorter::alphabet;
pub use crate::harness::shorter::canonical_operations;
use crate::harness::{run_sequence_verdict, HarnessError, RuleFilter, RuleStats};
use crate::model::Operation;
use crate::spec::{Profile, RuleId};
use crate::sut::PoolService;

/// How many sequences a check may run before it stops searching longer lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchBudget {
    pub max_sequences: usize,
}

impl Default for SearchBudget {
    fn default() -> Self {
        SearchBudget {
            max_sequences: 20_000,
        }
    }
}

/// The result of a minimality check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MinimalityVerdict {
    /// No sequence of length `1..n` over the alphabet fails.
    Minimal,
    /// A shorter sequence fails (the first found, shortest first).
    Shorter {
        operations: Vec<Operation>,
        rule: RuleId,
    },
    /// The space was larger than the budget: every length up to `complete_up_to` was searched
    /// completely and no sequence failed.
    Incomplete { complete_up_to: usize },
    /// The given sequence does not fail at all: nothing to check.
    NotFailing,
}

/// A minimality check and the size of the space it searched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minimality {
    pub verdict: MinimalityVerdict,
    /// Length of the counterexample.
    pub length: usize,
    /// Distinct operations the shorter sequences were built from.
    pub alphabet: usize,
    /// Sequences run.
    pub sequences_tried: usize,
}

/// Whether no shorter sequence than `ops` fails against `service` (see the module docs for the
/// exact space searched).
pub fn check_minimal(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    budget: SearchBudget,
) -> Result<Minimality, HarnessError> {
    let alphabet = alphabet(profile, ops);
    let mut result = Minimality {
        verdict: MinimalityVerdict::Minimal,
        length: ops.len(),
        alphabet: alphabet.len(),
        sequences_tried: 0,
    };
    if failing_rule(service, profile, ops)?.is_none() {
        result.verdict = MinimalityVerdict::NotFailing;
        return Ok(result);
    }
    for length in 1..ops.len() {
        let count = alphabet.len().checked_pow(length as u32);
        let remaining = budget.max_sequences.saturating_sub(result.sequences_tried);
        if count.map_or(true, |c| c > remaining) {
            result.verdict = MinimalityVerdict::Incomplete {
                complete_up_to: length - 1,
            };
            return Ok(result);
        }
        let mut digits = vec![0usize; length];
        loop {
            let candidate: Vec<Operation> = digits.iter().map(|&d| alphabet[d].clone()).collect();
            result.sequences_tried += 1;
            if let Some(rule) = failing_rule(service, profile, &candidate)? {
                result.verdict = MinimalityVerdict::Shorter {
                    operations: candidate,
                    rule,
                };
                return Ok(result);
            }
            if !crate::harness::shorter::advance(&mut digits, alphabet.len()) {
                break;
            }
        }
    }
    Ok(result)
}

fn failing_rule(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
) -> Result<Option<RuleId>, HarnessError> {
    let mut stats = RuleStats::default();
    let outcome = run_sequence_verdict(service, profile, ops, &mut stats, &RuleFilter::all())?;
    Ok(outcome.failure.map(|(_, rule)| rule))
}

#[cfg(test)]
mod tests {
    use crate::harness::shorter::advance;

    #[test]
    fn the_odometer_visits_every_sequence_once() {
        let mut digits = vec![0usize; 3];
        let mut seen = vec![digits.clone()];
        while advance(&mut digits, 4) {
            seen.push(digits.clone());
        }
        assert_eq!(seen.len(), 64);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 64);
    }
}
