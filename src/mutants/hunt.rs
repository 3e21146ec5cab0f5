//! Hunting the zoo: the harness run against every mutant, in every dialect it is observable
//! in, with the numbers that say how sharp the suite is — the rule that caught the mutant,
//! the cases and wall time until the first failure, and the length of the shrunk sequence.
//!
//! This module runs the harness and collects its values; it refuses to know how they look
//! (that is `report::zoo`) and which exit code they mean (that is `cli`).

use std::time::Duration;

use crate::adapters::build_target;
use crate::harness::{self, Config};
use crate::model::Operation;
use crate::spec::{Profile, RuleId};
use crate::sut::Dialect;

use super::{Mutant, ZOO};

/// The built-in profile a mutant is hunted under in a dialect.
pub fn profile_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Msvm => "reference-msvm",
        Dialect::Cim => "reference-cim",
    }
}

/// How a hunt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HuntOutcome {
    /// The harness failed the mutant.
    Caught(Catch),
    /// The mutant passed every case: the suite has no teeth for it.
    Escaped { cases: u32 },
    /// The harness could not run against the mutant at all.
    HarnessError(String),
}

/// What the harness reported when it caught a mutant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catch {
    pub rule: RuleId,
    pub detail: String,
    /// Whether `rule` is one of the mutant's tagged rules.
    pub tagged: bool,
    pub cases_until_failure: u32,
    pub time_to_failure: Duration,
    pub original_steps: usize,
    pub shrunk_steps: usize,
    pub deterministic: bool,
    /// The shrunk counterexample.
    pub operations: Vec<Operation>,
}

/// One mutant hunted under one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunt {
    pub mutant: &'static Mutant,
    pub profile: String,
    pub outcome: HuntOutcome,
}

impl Hunt {
    /// Caught, and by one of the mutant's tagged rules.
    pub fn caught_by_tagged_rule(&self) -> bool {
        matches!(&self.outcome, HuntOutcome::Caught(c) if c.tagged)
    }

    pub fn catch(&self) -> Option<&Catch> {
        match &self.outcome {
            HuntOutcome::Caught(c) => Some(c),
            _ => None,
        }
    }
}

/// Run the harness against one mutant under one built-in profile.
pub fn hunt(mutant: &'static Mutant, profile_name: &str, config: &Config) -> Hunt {
    let outcome = match run(mutant, profile_name, config) {
        Ok(outcome) => outcome,
        Err(message) => HuntOutcome::HarnessError(message),
    };
    Hunt {
        mutant,
        profile: profile_name.to_string(),
        outcome,
    }
}

fn run(mutant: &Mutant, profile_name: &str, config: &Config) -> Result<HuntOutcome, String> {
    let profile = Profile::load(profile_name).map_err(|e| e.to_string())?;
    let target = format!("mutant:{}", mutant.defect.name());
    let mut service = build_target(&target, &profile)?;
    let report = harness::check(&mut *service, &profile, config).map_err(|e| e.to_string())?;
    Ok(match report.failure {
        None => HuntOutcome::Escaped {
            cases: report.cases_run,
        },
        Some(failure) => HuntOutcome::Caught(Catch {
            tagged: mutant.rules.contains(&failure.rule.0),
            rule: failure.rule,
            detail: failure.detail,
            cases_until_failure: failure.cases_until_failure,
            time_to_failure: failure.time_to_failure,
            original_steps: failure.original_steps,
            shrunk_steps: failure.shrunk_steps,
            deterministic: failure.deterministic,
            operations: failure.trace.operations,
        }),
    })
}

/// Every mutant of the zoo, in every dialect it is observable in, in zoo order.
pub fn hunt_zoo(config: &Config) -> Vec<Hunt> {
    hunt_some(ZOO.iter(), config)
}

/// The given mutants, in every dialect each is observable in.
pub fn hunt_some(mutants: impl IntoIterator<Item = &'static Mutant>, config: &Config) -> Vec<Hunt> {
    mutants
        .into_iter()
        .flat_map(|mutant| {
            mutant
                .dialects
                .iter()
                .map(move |dialect| hunt(mutant, profile_name(*dialect), config))
        })
        .collect()
}

/// The median of the times to first failure of the caught hunts (`None` when none was caught).
pub fn median_time_to_failure(hunts: &[Hunt]) -> Option<Duration> {
    let mut times: Vec<Duration> = hunts
        .iter()
        .filter_map(|h| h.catch().map(|c| c.time_to_failure))
        .collect();
    if times.is_empty() {
        return None;
    }
    times.sort();
    let mid = times.len() / 2;
    Some(if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2
    })
}
