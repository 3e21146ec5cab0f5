//! Reports: the only place that decides how results look — the per-rule table, the failure
//! walk-through, JSON ([`json`], shape in `spec/report-format.md`), JUnit ([`junit`]),
//! Markdown for a pull-request comment ([`markdown`]) and the step-by-step comparison of a
//! replay with its recorded trace ([`replay`]).
//!
//! Everything here is a pure function from harness values to text; nothing here runs an
//! implementation or judges a result.

pub mod junit;
pub mod markdown;
pub mod replay;
pub mod zoo;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::harness::trace::{Expected, Observed, StepRecord};
use crate::harness::{Failure, RuleResult, RunReport, Tolerance, Verdict};
use crate::spec::rules;
use crate::sut::{MethodCall, ParamValue};

/// The word for a verdict in tables.
pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "FAILED",
        Verdict::NotExercised => "not exercised",
        Verdict::NotApplicable => "n/a",
        Verdict::ExpectedFailure => "expected failure",
        Verdict::UnexpectedPass => "UNEXPECTED PASS",
        Verdict::Filtered => "filtered out",
    }
}

/// Every verdict, worst first: the order in which summaries list them.
pub const VERDICTS: [Verdict; 7] = [
    Verdict::Failed,
    Verdict::UnexpectedPass,
    Verdict::NotExercised,
    Verdict::ExpectedFailure,
    Verdict::Passed,
    Verdict::NotApplicable,
    Verdict::Filtered,
];

/// A verdict's cell: the word, and for decided verdicts the number of steps behind it.
pub fn verdict_cell(result: &RuleResult) -> String {
    match result.verdict {
        Verdict::Passed | Verdict::Failed | Verdict::UnexpectedPass => {
            format!(
                "{} ({})",
                verdict_word(result.verdict),
                result.counts.decisive
            )
        }
        Verdict::ExpectedFailure => {
            format!(
                "{} ({})",
                verdict_word(result.verdict),
                result.counts.expected
            )
        }
        other => verdict_word(other).to_string(),
    }
}

/// How many rules of a report have each verdict.
pub fn verdict_counts(report: &RunReport) -> BTreeMap<&'static str, usize> {
    VERDICTS
        .iter()
        .map(|v| {
            (
                verdict_word(*v),
                report.rules.iter().filter(|r| r.verdict == *v).count(),
            )
        })
        .collect()
}

/// What a report needs to know about the command that produced it, beyond the harness's
/// values: how the target was named and where failure traces were written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The `--target` string (`reference`, `mutant:NAME`, …).
    pub target: String,
    /// Per profile name: the failure trace written for it.
    pub traces: BTreeMap<String, PathBuf>,
    /// Per profile name: the `--profile` argument that loaded it, when it was not the name
    /// (a file path).
    pub profile_args: BTreeMap<String, String>,
}

impl Invocation {
    pub fn new(target: &str) -> Invocation {
        Invocation {
            target: target.to_string(),
            ..Invocation::default()
        }
    }
}

/// The command that reproduces a report's run (and its failure, if any).
pub fn rerun_command(report: &RunReport, invocation: &Invocation) -> String {
    let profile = invocation
        .profile_args
        .get(&report.profile)
        .unwrap_or(&report.profile);
    let mut command = format!(
        "poolcheck run --target {} --profile {} --seed {} --cases {} --max-steps {}",
        invocation.target,
        profile,
        report.config.seed,
        report.config.cases,
        report.config.max_steps
    );
    if !report.config.rules.is_empty() {
        let _ = write!(command, " --rules {}", report.config.rules.join(","));
    }
    command
}

/// The command that replays a written trace.
pub fn replay_command(trace: &std::path::Path) -> String {
    format!("poolcheck replay {}", trace.display())
}

/// The one-line description of the implementation a report judged.
pub fn target_line(report: &RunReport) -> String {
    format!(
        "{} {} ({})",
        report.target.name,
        report.target.version,
        format!("{:?}", report.target.dialect).to_lowercase()
    )
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
                .map(verdict_cell)
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
    let mut extra = String::new();
    for verdict in [
        Verdict::ExpectedFailure,
        Verdict::UnexpectedPass,
        Verdict::Filtered,
    ] {
        if count(verdict) > 0 {
            let _ = write!(extra, ", {} {}", count(verdict), verdict_word(verdict));
        }
    }
    let mut out = format!(
        "{} on {} ({} {}): {} — {} passed, {} failed, {} not exercised, {} n/a{extra}; {} cases, {} steps, seed {}",
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
    );
    if report.time_budget_exhausted {
        let _ = write!(
            out,
            " (time budget reached after {} of {} cases)",
            report.cases_run, report.config.cases
        );
    }
    if let Some(why) = &report.changes_breach {
        let _ = write!(out, "; note: {why}");
    }
    if let Some(failure) = &report.failure {
        let _ = write!(
            out,
            "; failure {} is {}",
            failure.rule,
            determinism_word(failure)
        );
    }
    out
}

/// `deterministic` or `FLAKY`, as the re-runs of the shrunk sequence found it.
pub fn determinism_word(failure: &Failure) -> &'static str {
    if failure.deterministic {
        "deterministic"
    } else {
        "FLAKY"
    }
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
    let word = match step.tolerated {
        None => "VIOLATES",
        Some(Tolerance::Expected) => "violates (expected failure)",
        Some(Tolerance::Filtered) => "violates (filtered out)",
    };
    for violation in &step.violations {
        let _ = writeln!(out, "      {word} {}: {}", violation.rule, violation.detail);
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
