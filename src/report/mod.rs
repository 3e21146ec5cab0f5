//! Reports: the only place that decides how results look — the per-rule table, the failure
//! walk-through, JSON.
//!
//! Everything here is a pure function from harness values to text; nothing here runs an
//! implementation or judges a result.

pub mod zoo;

use std::fmt::Write as _;

use crate::harness::trace::{Expected, Observed, StepRecord};
use crate::harness::{Failure, RunReport, Verdict};
use crate::spec::rules;
use crate::sut::{MethodCall, ParamValue};

/// The word for a verdict in tables.
pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "FAILED",
        Verdict::NotExercised => "not exercised",
        Verdict::NotApplicable => "n/a",
    }
}

/// One row per rule, one column per run: the verdict and the number of steps that decided it.
pub fn rule_table(reports: &[RunReport]) -> String {
    let mut out = String::new();
    let title_width = 58;
    let _ = write!(out, "{:<10} {:<title_width$}", "rule", "title");
    for report in reports {
        let _ = write!(out, " {:>24}", report.profile);
    }
    out.push('\n');
    let _ = write!(out, "{:-<10} {:-<title_width$}", "", "");
    for _ in reports {
        let _ = write!(out, " {:->24}", "");
    }
    out.push('\n');
    for rule in rules::all() {
        let mut title: String = rule.title.chars().take(title_width).collect();
        if rule.title.chars().count() > title_width {
            title.pop();
            title.push('…');
        }
        let _ = write!(out, "{:<10} {:<title_width$}", rule.id.0, title);
        for report in reports {
            let cell = report
                .rules
                .iter()
                .find(|r| r.rule == rule.id)
                .map(|r| match r.verdict {
                    Verdict::Passed | Verdict::Failed => {
                        format!("{} ({})", verdict_word(r.verdict), r.counts.decisive)
                    }
                    other => verdict_word(other).to_string(),
                })
                .unwrap_or_default();
            let _ = write!(out, " {cell:>24}");
        }
        out.push('\n');
    }
    out
}

/// A one-line summary per run.
pub fn summary(report: &RunReport) -> String {
    let count = |v: Verdict| report.rules.iter().filter(|r| r.verdict == v).count();
    format!(
        "{} on {} ({} {}): {} — {} passed, {} failed, {} not exercised, {} n/a; {} cases, {} steps, seed {}",
        report.profile,
        report.target.name,
        report.target.version,
        format!("{:?}", report.target.dialect).to_lowercase(),
        if report.conforms() { "CONFORMS" } else { "DOES NOT CONFORM" },
        count(Verdict::Passed),
        count(Verdict::Failed),
        count(Verdict::NotExercised),
        count(Verdict::NotApplicable),
        report.cases_run,
        report.steps_run,
        report.config.seed,
    )
}

/// The failure walk-through: the minimal sequence step by step, what the specification
/// expected and what the implementation did, the violated rule and the seed that replays it.
pub fn failure(report: &RunReport, failure: &Failure) -> String {
    let mut out = String::new();
    let rule = rules::find(failure.rule.0);
    let _ = writeln!(
        out,
        "FAILED {} — {}",
        failure.rule,
        rule.map(|r| r.title).unwrap_or("(rule not in spec/)")
    );
    let _ = writeln!(out, "  {}", failure.detail);
    if let Some(rule) = rule {
        let _ = writeln!(out, "  rule: {} (spec/{})", rule.interpretation, rule.file);
    }
    let _ = writeln!(
        out,
        "  profile {}, seed {}: failing case #{} after {:.1?}; shrunk from {} to {} step(s); {}",
        report.profile,
        report.config.seed,
        failure.cases_until_failure,
        failure.time_to_failure,
        failure.original_steps,
        failure.shrunk_steps,
        if failure.deterministic {
            "deterministic (same verdict on every re-run)"
        } else {
            "FLAKY (re-runs disagree)"
        }
    );
    let _ = writeln!(out, "  minimal sequence:");
    for step in &failure.trace.steps {
        out.push_str(&step_text(step));
    }
    let _ = writeln!(
        out,
        "  replay: poolcheck run --target <same target> --profile {} --seed {} --cases {} --max-steps {}",
        report.profile, report.config.seed, report.config.cases, report.config.max_steps
    );
    out
}

/// One step of a trace, as text.
pub fn step_text(step: &StepRecord) -> String {
    let mut out = String::new();
    let call = step
        .call
        .as_ref()
        .map(call_text)
        .unwrap_or_else(|| "(skipped: no method for this operation)".into());
    let _ = writeln!(out, "  [{}] {}", step.index, call);
    let _ = writeln!(out, "      expected: {}", expected_text(&step.expected));
    let _ = writeln!(out, "      observed: {}", observed_text(&step.observed));
    for violation in &step.violations {
        let _ = writeln!(
            out,
            "      VIOLATES {}: {}",
            violation.rule, violation.detail
        );
    }
    if let Some(diff) = &step.state_diff {
        let _ = writeln!(
            out,
            "      pools that differ (left: specified, right: observed):"
        );
        for line in diff.lines() {
            let _ = writeln!(out, "        {line}");
        }
    }
    out
}

fn call_text(call: &MethodCall) -> String {
    let params: Vec<String> = call
        .params
        .iter()
        .map(|p| format!("{}={}", p.name, value_text(&p.value)))
        .collect();
    format!("{}({})", call.method, params.join(", "))
}

fn value_text(value: &ParamValue) -> String {
    let short = |s: &str| -> String {
        let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 160 {
            format!("{}…", one_line.chars().take(160).collect::<String>())
        } else {
            one_line
        }
    };
    match value {
        ParamValue::Null => "NULL".into(),
        ParamValue::String(s) => format!("{:?}", short(s)),
        ParamValue::StringArray(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|s| format!("{:?}", short(s)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ParamValue::Reference(p) => p.to_string(),
        ParamValue::ReferenceArray(paths) => format!(
            "[{}]",
            paths
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn expected_text(expected: &Expected) -> String {
    match expected {
        Expected::Skipped => "nothing (skipped)".into(),
        Expected::Success { rule } => format!("success ({rule})"),
        Expected::Refusal { refusals } => refusals
            .iter()
            .map(|r| {
                let reasons: Vec<String> = r.reasons.iter().map(|x| x.to_string()).collect();
                format!("{} by {} ({})", reasons.join(" or "), r.rule, r.detail)
            })
            .collect::<Vec<_>>()
            .join("; or "),
    }
}

fn observed_text(observed: &Observed) -> String {
    match observed {
        Observed::Skipped => "skipped".into(),
        Observed::Unsupported(what) => format!("unsupported: {what}"),
        Observed::Completed { via_job: false } => "completed (ReturnValue 0)".into(),
        Observed::Completed { via_job: true } => {
            "completed through a job (4096, then Completed)".into()
        }
        Observed::Refused {
            channel,
            code,
            reason,
        } => match reason {
            Some(r) => format!("refused: {code} {r} ({channel:?})"),
            None => format!("refused: {code} ({channel:?})"),
        },
        Observed::Broken(why) => format!("no usable answer: {why}"),
    }
}

/// All runs as one JSON document.
pub fn json(reports: &[RunReport]) -> String {
    serde_json::to_string_pretty(reports).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The rule catalogue as text: id, title, file, source.
pub fn rules_text() -> String {
    let mut out = String::new();
    for rule in rules::all() {
        let _ = writeln!(out, "{} — {} (spec/{})", rule.id, rule.title, rule.file);
        let _ = writeln!(out, "    source: {}", rule.source);
        if !rule.knob.is_empty() && rule.knob != "none." {
            let _ = writeln!(out, "    profile knob: {}", rule.knob);
        }
    }
    out
}
