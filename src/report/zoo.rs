//! The zoo table of `poolcheck mutants`: one row per mutant and dialect — the rules it should
//! violate, the rule that caught it, cases and wall time until the first failure, the length
//! of the shrunk sequence and whether it was checked minimal — and a summary line.
//!
//! Pure formatting of values from [`crate::mutants::hunt`] and [`crate::mutants::minimal`];
//! nothing here runs an implementation or decides an exit code.

use std::fmt::Write as _;
use std::time::Duration;

use crate::mutants::hunt::{median_time_to_failure, Hunt, HuntOutcome};
use crate::mutants::minimal::{Minimality, MinimalityVerdict};

/// One row of the table: a hunt and, when it was checked, the minimality of its counterexample.
pub struct ZooRow<'a> {
    pub hunt: &'a Hunt,
    pub minimality: Option<&'a Minimality>,
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// The minimality cell: `yes (N seq)`, `NO: k steps fail RULE`, `≤k checked`, or `-`.
pub fn minimality_cell(minimality: Option<&Minimality>) -> String {
    match minimality {
        None => "-".into(),
        Some(m) => match &m.verdict {
            MinimalityVerdict::Minimal => format!("yes ({} seq)", m.sequences_tried),
            MinimalityVerdict::Shorter { operations, rule } => {
                format!("NO: {} steps fail {rule}", operations.len())
            }
            MinimalityVerdict::Incomplete { complete_up_to } => {
                format!("lengths ≤{complete_up_to} only")
            }
            MinimalityVerdict::NotFailing => "did not replay".into(),
        },
    }
}

/// The table, with a header, one row per hunt, and the summary.
pub fn zoo_table(rows: &[ZooRow<'_>]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<31} {:<7} {:<26} {:<12} {:>6} {:>10} {:>7} {:<20}",
        "mutant", "dialect", "tagged rules", "caught by", "cases", "time", "shrunk", "minimal"
    );
    let _ = writeln!(
        out,
        "{:-<31} {:-<7} {:-<26} {:-<12} {:->6} {:->10} {:->7} {:-<20}",
        "", "", "", "", "", "", "", ""
    );
    for row in rows {
        let hunt = row.hunt;
        let dialect = hunt.profile.trim_start_matches("reference-");
        let mut tagged = hunt.mutant.rules.join(",");
        if tagged.chars().count() > 26 {
            tagged = tagged.chars().take(25).collect::<String>() + "…";
        }
        let (caught_by, cases, time, shrunk) = match &hunt.outcome {
            HuntOutcome::Caught(c) => (
                if c.tagged {
                    c.rule.0.to_string()
                } else {
                    format!("{} (untagged!)", c.rule)
                },
                c.cases_until_failure.to_string(),
                millis(c.time_to_failure),
                format!("{}→{}", c.original_steps, c.shrunk_steps),
            ),
            HuntOutcome::Escaped { cases } => {
                ("ESCAPED".into(), cases.to_string(), "-".into(), "-".into())
            }
            HuntOutcome::HarnessError(_) => {
                ("HARNESS ERROR".into(), "-".into(), "-".into(), "-".into())
            }
        };
        let _ = writeln!(
            out,
            "{:<31} {:<7} {:<26} {:<12} {:>6} {:>10} {:>7} {:<20}",
            hunt.mutant.defect.name(),
            dialect,
            tagged,
            caught_by,
            cases,
            time,
            shrunk,
            minimality_cell(row.minimality)
        );
    }
    out.push('\n');
    let hunts: Vec<&Hunt> = rows.iter().map(|r| r.hunt).collect();
    out.push_str(&zoo_summary(&hunts));
    out.push('\n');
    for hunt in hunts {
        if let HuntOutcome::HarnessError(message) = &hunt.outcome {
            let _ = writeln!(
                out,
                "harness error on {} under {}: {message}",
                hunt.mutant.defect, hunt.profile
            );
        }
    }
    out
}

/// `N of M hunts caught by a tagged rule; median time to first failure X; …`.
pub fn zoo_summary(hunts: &[&Hunt]) -> String {
    let tagged = hunts.iter().filter(|h| h.caught_by_tagged_rule()).count();
    let escaped = hunts
        .iter()
        .filter(|h| matches!(h.outcome, HuntOutcome::Escaped { .. }))
        .count();
    let errors = hunts
        .iter()
        .filter(|h| matches!(h.outcome, HuntOutcome::HarnessError(_)))
        .count();
    let owned: Vec<Hunt> = hunts.iter().map(|h| (*h).clone()).collect();
    let median = median_time_to_failure(&owned)
        .map(millis)
        .unwrap_or_else(|| "-".into());
    let max_shrunk = hunts
        .iter()
        .filter_map(|h| h.catch().map(|c| c.shrunk_steps))
        .max()
        .unwrap_or(0);
    format!(
        "{tagged} of {} hunts caught by a tagged rule ({} untagged, {escaped} escaped, {errors} harness errors); median time to first failure {median}; longest shrunk counterexample {max_shrunk} steps",
        hunts.len(),
        hunts.len() - tagged - escaped - errors,
    )
}
