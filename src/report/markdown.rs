//! Markdown: a summary fit for a pull-request comment.
//!
//! First the conclusion and one line of counts per profile, then per profile the rules that
//! did not simply pass (failed, unexpected passes, not exercised, expected failures) in a
//! table, the minimal failing sequence and the commands that reproduce it; the full per-rule
//! table last, folded away in `<details>`.

use std::fmt::Write as _;

use super::{
    determinism_word, replay_command, rerun_command, step_text, target_line, verdict_cell,
    verdict_word, Invocation, VERDICTS,
};
use crate::harness::{RuleResult, RunReport, Verdict};
use crate::spec::rules;

/// The Markdown summary of `reports`.
pub fn markdown(reports: &[RunReport], invocation: &Invocation) -> String {
    let mut out = String::new();
    let conforms = reports.iter().all(RunReport::conforms);
    let _ = writeln!(
        out,
        "## poolcheck: {}\n",
        if conforms {
            "✅ conforms"
        } else {
            "❌ does not conform"
        }
    );
    if let Some(first) = reports.first() {
        let _ = writeln!(
            out,
            "Target `{}` — {} · suite {} · spec {} · seed {}\n",
            cell(&invocation.target),
            cell(&target_line(first)),
            cell(&first.suite_version),
            cell(&first.spec_edition),
            first.config.seed
        );
    }
    out.push_str("| profile | result |");
    for verdict in VERDICTS {
        let _ = write!(out, " {} |", verdict_word(verdict));
    }
    out.push_str(" cases | steps |\n|---|---|");
    for _ in VERDICTS {
        out.push_str("---:|");
    }
    out.push_str("---:|---:|\n");
    for report in reports {
        let _ = write!(
            out,
            "| {} | {} |",
            cell(&report.profile),
            if report.conforms() {
                "conforms"
            } else {
                "**does not conform**"
            }
        );
        for verdict in VERDICTS {
            let n = report.rules.iter().filter(|r| r.verdict == verdict).count();
            let _ = write!(out, " {n} |");
        }
        let budget = if report.time_budget_exhausted {
            " (time budget)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            " {}/{}{budget} | {} |",
            report.cases_run, report.config.cases, report.steps_run
        );
    }
    for report in reports {
        profile_section(&mut out, report, invocation);
    }
    out
}

fn profile_section(out: &mut String, report: &RunReport, invocation: &Invocation) {
    let _ = writeln!(
        out,
        "\n### {} — {}\n",
        cell(&report.profile),
        if report.conforms() {
            "conforms"
        } else {
            "does not conform"
        }
    );
    let _ = writeln!(
        out,
        "{} · seed {} · {} of {} cases · {} steps",
        cell(&target_line(report)),
        report.config.seed,
        report.cases_run,
        report.config.cases,
        report.steps_run
    );
    if !report.config.rules.is_empty() {
        let _ = writeln!(
            out,
            "\nOnly rules `{}` were judged.",
            cell(&report.config.rules.join(","))
        );
    }
    let mut notable: Vec<&RuleResult> = report
        .rules
        .iter()
        .filter(|r| {
            !matches!(
                r.verdict,
                Verdict::Passed | Verdict::NotApplicable | Verdict::Filtered
            )
        })
        .collect();
    notable.sort_by_key(|r| VERDICTS.iter().position(|v| *v == r.verdict));
    if notable.is_empty() {
        out.push_str("\nEvery judged rule passed.\n");
    } else {
        out.push_str("\n| rule | title | verdict | note |\n|---|---|---|---|\n");
        for result in notable {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                result.rule,
                cell(rules::find(result.rule.0).map(|r| r.title).unwrap_or("")),
                emphasis(result),
                cell(&note(report, result))
            );
        }
    }
    if let Some(failure) = &report.failure {
        let _ = writeln!(
            out,
            "\n**{}** failed: {} — failing case #{}, shrunk from {} to {} step(s), **{}**.",
            failure.rule,
            cell(&failure.detail),
            failure.cases_until_failure,
            failure.original_steps,
            failure.shrunk_steps,
            determinism_word(failure)
        );
        let _ = writeln!(
            out,
            "\n<details><summary>Minimal failing sequence ({} step(s))</summary>\n\n```text",
            failure.trace.steps.len()
        );
        for step in &failure.trace.steps {
            out.push_str(&fence_safe(&step_text(step)));
        }
        out.push_str("```\n\n</details>\n");
    }
    if !report.conforms() {
        out.push_str("\nReproduce:\n\n```sh\n");
        if let Some(path) = invocation.traces.get(&report.profile) {
            let _ = writeln!(out, "{}", replay_command(path));
        }
        let _ = writeln!(out, "{}", rerun_command(report, invocation));
        out.push_str("```\n");
    }
    let _ = writeln!(
        out,
        "\n<details><summary>All {} rules</summary>\n\n| rule | verdict | checked | decided | failed |\n|---|---|---:|---:|---:|",
        report.rules.len()
    );
    for result in &report.rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            result.rule,
            verdict_cell(result),
            result.counts.checked,
            result.counts.decisive,
            result.counts.failed
        );
    }
    out.push_str("\n</details>\n");
}

fn emphasis(result: &RuleResult) -> String {
    let text = verdict_cell(result);
    if result.verdict.fails_run() {
        format!("**{text}**")
    } else {
        text
    }
}

fn note(report: &RunReport, result: &RuleResult) -> String {
    let reason = || {
        report
            .expected_failures
            .iter()
            .find(|e| e.rule == result.rule.0)
            .map(|e| e.reason.clone())
            .unwrap_or_default()
    };
    match result.verdict {
        Verdict::Failed => match &report.failure {
            Some(f) if f.rule == result.rule => f.detail.clone(),
            Some(f) => format!("violated alongside {}", f.rule),
            None => format!("violated on {} step(s)", result.counts.failed),
        },
        Verdict::UnexpectedPass => format!(
            "listed as a known divergence ({}) but held on every step: update the profile",
            reason()
        ),
        Verdict::ExpectedFailure => format!("known divergence: {}", reason()),
        Verdict::NotExercised => "no step decided this rule".into(),
        _ => String::new(),
    }
}

/// A table cell: one line, pipes escaped, not too long.
fn cell(value: &str) -> String {
    let one_line: String = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = if one_line.chars().count() > 300 {
        format!("{}…", one_line.chars().take(300).collect::<String>())
    } else {
        one_line
    };
    short.replace('|', "\\|")
}

/// Text inside a fenced block must not close the fence.
fn fence_safe(text: &str) -> String {
    text.replace("```", "'''")
}
