//! `poolcheck mutants`: hunt every mutant of the zoo with the harness and print the zoo table.
//!
//! Exit 0 only when every mutant is caught by one of its tagged rules; 1 when one escapes or
//! is caught by another rule; 2 when the harness could not run against one.

use poolcheck::harness::Config;
use poolcheck::mutants::hunt::{hunt_some, HuntOutcome};
use poolcheck::mutants::minimal::{check_minimal, Minimality, SearchBudget};
use poolcheck::mutants::{self, ZOO};
use poolcheck::report::zoo::{zoo_table, ZooRow};
use poolcheck::spec::Profile;

use super::Outcome;

#[derive(clap::Args)]
pub struct MutantsArgs {
    /// Operation sequences per mutant and dialect (the default is the harness default).
    #[arg(long, default_value_t = Config::default().cases)]
    cases: u32,
    /// Seed of the generator (the default is the harness default, so runs compare).
    #[arg(long, default_value_t = Config::default().seed)]
    seed: u64,
    /// Hunt only these mutants (repeat); default: the whole zoo.
    #[arg(long = "mutant")]
    only: Vec<String>,
    /// Check every shrunk counterexample for minimality (exhaustive search over shorter
    /// sequences; see `poolcheck::mutants::minimal`).
    #[arg(long)]
    check_minimal: bool,
    /// Most sequences one minimality check may run.
    #[arg(long, default_value_t = SearchBudget::default().max_sequences)]
    minimal_budget: usize,
}

pub fn mutants(args: &MutantsArgs) -> Result<Outcome, String> {
    let selected: Vec<&'static mutants::Mutant> = if args.only.is_empty() {
        ZOO.iter().collect()
    } else {
        args.only
            .iter()
            .map(|name| {
                mutants::find(name).ok_or_else(|| {
                    let names: Vec<&str> = ZOO.iter().map(|m| m.defect.name()).collect();
                    format!(
                        "no mutant named {name:?}; the zoo has: {}",
                        names.join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let config = Config {
        cases: args.cases,
        seed: args.seed,
        ..Config::default()
    };
    println!(
        "poolcheck {} — hunting {} mutants, {} cases each, seed {}",
        poolcheck::harness::SUITE_VERSION,
        selected.len(),
        config.cases,
        config.seed
    );
    let hunts = hunt_some(selected, &config);
    let mut minimalities: Vec<Option<Minimality>> = Vec::with_capacity(hunts.len());
    for hunt in &hunts {
        let checked = match (&hunt.outcome, args.check_minimal) {
            (HuntOutcome::Caught(catch), true) => {
                let profile = Profile::load(&hunt.profile).map_err(|e| e.to_string())?;
                let target = format!("mutant:{}", hunt.mutant.defect.name());
                let mut service = mutants::build(&target, &profile)?;
                let budget = SearchBudget {
                    max_sequences: args.minimal_budget,
                };
                Some(
                    check_minimal(&mut *service, &profile, &catch.operations, budget)
                        .map_err(|e| e.to_string())?,
                )
            }
            _ => None,
        };
        minimalities.push(checked);
    }
    let rows: Vec<ZooRow<'_>> = hunts
        .iter()
        .zip(&minimalities)
        .map(|(hunt, minimality)| ZooRow {
            hunt,
            minimality: minimality.as_ref(),
        })
        .collect();
    print!("{}", zoo_table(&rows));
    if hunts
        .iter()
        .any(|h| matches!(h.outcome, HuntOutcome::HarnessError(_)))
    {
        return Err("the harness could not run against every mutant".into());
    }
    Ok(if hunts.iter().all(|h| h.caught_by_tagged_rule()) {
        Outcome::Conforms
    } else {
        Outcome::Fails
    })
}
