//! JUnit XML: one `<testsuite>` per profile, one `<testcase>` per rule.
//!
//! The dialect is the common denominator that Jenkins, GitLab, GitHub Actions reporters and
//! Azure Pipelines read: `<testsuites>` › `<testsuite name tests failures errors skipped>` ›
//! `<properties>` and `<testcase classname name>` holding at most one `<failure>` or
//! `<skipped>`. A failed rule and an unexpected pass are failures; a rule that is not
//! applicable, not exercised, filtered out or an expected failure is skipped, with the reason
//! in its message. Run-level identity (suite version, spec edition, profile, seed, the
//! implementation's self-description, determinism of the failure) goes into `<properties>`.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::{determinism_word, replay_command, rerun_command, step_text, verdict_word, Invocation};
use crate::harness::{RuleResult, RunReport, Verdict};
use crate::spec::rules;

/// The JUnit document for `reports`.
pub fn junit(reports: &[RunReport], invocation: &Invocation) -> String {
    let total = |pred: fn(&RuleResult) -> bool| -> usize {
        reports
            .iter()
            .map(|r| r.rules.iter().filter(|x| pred(x)).count())
            .sum()
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"poolcheck\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        total(|_| true),
        total(|r| r.verdict.fails_run()),
        total(|r| is_skipped(r.verdict)),
    );
    for report in reports {
        suite(&mut out, report, invocation);
    }
    out.push_str("</testsuites>\n");
    out
}

fn is_skipped(verdict: Verdict) -> bool {
    !verdict.fails_run() && verdict != Verdict::Passed
}

fn suite(out: &mut String, report: &RunReport, invocation: &Invocation) {
    let count = |pred: fn(Verdict) -> bool| report.rules.iter().filter(|r| pred(r.verdict)).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        attr(&report.profile),
        report.rules.len(),
        count(Verdict::fails_run),
        count(is_skipped),
    );
    out.push_str("    <properties>\n");
    let mut properties: Vec<(&str, String)> = vec![
        ("suite_version", report.suite_version.clone()),
        ("spec_edition", report.spec_edition.clone()),
        ("profile", report.profile.clone()),
        ("seed", report.config.seed.to_string()),
        ("cases", report.config.cases.to_string()),
        ("max_steps", report.config.max_steps.to_string()),
        ("cases_run", report.cases_run.to_string()),
        ("steps_run", report.steps_run.to_string()),
        ("target", invocation.target.clone()),
        ("target.name", report.target.name.clone()),
        ("target.version", report.target.version.clone()),
        ("target.dialect", format!("{:?}", report.target.dialect)),
        ("conforms", report.conforms().to_string()),
        (
            "time_budget_exhausted",
            report.time_budget_exhausted.to_string(),
        ),
    ];
    if !report.config.rules.is_empty() {
        properties.push(("rules", report.config.rules.join(",")));
    }
    if let Some(failure) = &report.failure {
        properties.push(("failure.rule", failure.rule.to_string()));
        properties.push(("failure.deterministic", failure.deterministic.to_string()));
        properties.push(("failure.shrunk_steps", failure.shrunk_steps.to_string()));
    }
    if let Some(path) = invocation.traces.get(&report.profile) {
        properties.push(("failure.trace", path.display().to_string()));
    }
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            attr(name),
            attr(&value)
        );
    }
    out.push_str("    </properties>\n");
    for result in &report.rules {
        case(out, report, result, invocation);
    }
    out.push_str("  </testsuite>\n");
}

fn case(out: &mut String, report: &RunReport, result: &RuleResult, invocation: &Invocation) {
    let rule = rules::find(result.rule.0);
    let name = format!(
        "{} — {}",
        result.rule,
        rule.map(|r| r.title).unwrap_or("(rule not in spec/)")
    );
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\">",
        attr(&report.profile),
        attr(&name)
    );
    let counts = format!(
        "{}: checked on {} step(s), decided {}, failed {}, failed as expected {}",
        verdict_word(result.verdict),
        result.counts.checked,
        result.counts.decisive,
        result.counts.failed,
        result.counts.expected
    );
    match result.verdict {
        Verdict::Passed => {}
        Verdict::Failed => {
            let (message, body) = failed_text(report, result, invocation);
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                attr(result.rule.0),
                attr(&message),
                text(&body)
            );
        }
        Verdict::UnexpectedPass => {
            let reason = expected_reason(report, result);
            let message = format!(
                "unexpected pass: the profile expects {} to fail ({reason}), but it held on all {} step(s) that decided it; remove it from expected_failures",
                result.rule, result.counts.decisive
            );
            let _ = writeln!(
                out,
                "      <failure type=\"unexpected-pass\" message=\"{}\">{}</failure>",
                attr(&message),
                text(&message)
            );
        }
        Verdict::ExpectedFailure => {
            let message = format!(
                "expected failure: {} ({} step(s))",
                expected_reason(report, result),
                result.counts.expected
            );
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(&message));
        }
        Verdict::NotApplicable => {
            let _ = writeln!(
                out,
                "      <skipped message=\"not applicable: the profile makes this rule inapplicable\"/>"
            );
        }
        Verdict::NotExercised => {
            let _ = writeln!(
                out,
                "      <skipped message=\"not exercised: no step decided this rule\"/>"
            );
        }
        Verdict::Filtered => {
            let _ = writeln!(
                out,
                "      <skipped message=\"filtered out: not selected by --rules\"/>"
            );
        }
    }
    let _ = writeln!(out, "      <system-out>{}</system-out>", text(&counts));
    out.push_str("    </testcase>\n");
}

fn expected_reason(report: &RunReport, result: &RuleResult) -> String {
    report
        .expected_failures
        .iter()
        .find(|e| e.rule == result.rule.0)
        .map(|e| e.reason.clone())
        .unwrap_or_else(|| "a known divergence of the profile".into())
}

/// The message and body of a failed rule: the violation, the minimal sequence, how to replay.
fn failed_text(
    report: &RunReport,
    result: &RuleResult,
    invocation: &Invocation,
) -> (String, String) {
    let Some(failure) = &report.failure else {
        let message = format!(
            "{} violated on {} step(s)",
            result.rule, result.counts.failed
        );
        return (message.clone(), message);
    };
    let detail = if failure.rule == result.rule {
        Some(failure.detail.clone())
    } else {
        failure
            .trace
            .steps
            .iter()
            .flat_map(|s| s.violations.iter())
            .find(|v| v.rule == result.rule)
            .map(|v| format!("{} (alongside {})", v.detail, failure.rule))
    };
    let message = detail.unwrap_or_else(|| {
        format!(
            "{} violated on {} step(s) (the shrunk failure is {})",
            result.rule, result.counts.failed, failure.rule
        )
    });
    let mut body = String::new();
    let _ = writeln!(body, "{message}");
    let _ = writeln!(
        body,
        "profile {}, seed {}: failing case #{}, shrunk from {} to {} step(s), {}",
        report.profile,
        report.config.seed,
        failure.cases_until_failure,
        failure.original_steps,
        failure.shrunk_steps,
        determinism_word(failure)
    );
    let _ = writeln!(body, "minimal sequence:");
    for step in &failure.trace.steps {
        body.push_str(&step_text(step));
    }
    if let Some(path) = invocation.traces.get(&report.profile) {
        let _ = writeln!(body, "replay: {}", replay_command(path));
    }
    let _ = writeln!(body, "rerun: {}", rerun_command(report, invocation));
    (message, body)
}

/// Text content: escaped, and without the characters XML 1.0 forbids.
fn text(value: &str) -> String {
    escape(xml_chars(value)).into_owned()
}

/// An attribute value: escaped, one line.
fn attr(value: &str) -> String {
    let one_line: String = xml_chars(value)
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    escape(&one_line).into_owned()
}

fn xml_chars(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 => '\u{fffd}',
            '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}
