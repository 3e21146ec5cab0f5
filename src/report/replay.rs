//! The step-by-step comparison of a replay with the trace it replays.
//!
//! Every step shows the call; what the specification expected, what came back and which rules
//! were violated are printed once when the replay agrees with the recording, and marked `!`
//! with the recorded value beneath (`was:`) when it does not.

use std::fmt::Write as _;

use super::{call_text, expected_text, observed_text, step_text};
use crate::harness::trace::{StepRecord, Trace, TraceVerdict};

/// The comparison of `replayed` with `recorded`, step by step, and the two verdicts.
pub fn comparison(recorded: &Trace, replayed: &Trace) -> String {
    let mut out = String::new();
    if let Some(encoding) = replayed.rendition.or(recorded.rendition) {
        let _ = writeln!(
            out,
            "every embedded instance re-encoded as {encoding:?}; EMB-004 compares the run with the run as generated"
        );
    }
    if recorded.is_draft() {
        let _ = writeln!(out, "a draft (operations only): the steps as run");
        for step in &replayed.steps {
            out.push_str(&step_text(step));
        }
        let _ = writeln!(out, "verdict: {}", verdict_text(&replayed.verdict));
        return out;
    }
    let steps = recorded.steps.len().max(replayed.steps.len());
    for index in 0..steps {
        match (recorded.steps.get(index), replayed.steps.get(index)) {
            (Some(was), Some(now)) => step_pair(&mut out, was, now),
            (Some(was), None) => {
                let _ = writeln!(
                    out,
                    "! step {index} was recorded but the replay did not reach it:"
                );
                out.push_str(&step_text(was));
            }
            (None, Some(now)) => {
                let _ = writeln!(out, "! step {index} is new in the replay:");
                out.push_str(&step_text(now));
            }
            (None, None) => {}
        }
    }
    let _ = writeln!(out, "recorded verdict: {}", verdict_text(&recorded.verdict));
    let _ = writeln!(out, "replay verdict:   {}", verdict_text(&replayed.verdict));
    let _ = writeln!(
        out,
        "{}",
        if recorded.verdict == replayed.verdict {
            "the replay reproduces the recorded verdict"
        } else {
            "the replay does NOT reproduce the recorded verdict"
        }
    );
    out
}

fn step_pair(out: &mut String, was: &StepRecord, now: &StepRecord) {
    let call = |s: &StepRecord| {
        s.call
            .as_ref()
            .map(call_text)
            .unwrap_or_else(|| "(skipped: no method for this operation)".into())
    };
    let _ = writeln!(out, "  [{}] {}", now.index, call(now));
    if was.call != now.call {
        let _ = writeln!(out, "    ! the call differs; was: {}", call(was));
    }
    line(out, "expected", expected_text(&now.expected), {
        (was.expected != now.expected).then(|| expected_text(&was.expected))
    });
    line(out, "observed", observed_text(&now.observed), {
        (was.observed != now.observed).then(|| observed_text(&was.observed))
    });
    let rules = |s: &StepRecord| -> String {
        if s.violations.is_empty() {
            "none".into()
        } else {
            let mut text = s
                .violations
                .iter()
                .map(|v| v.rule.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            if let Some(tolerance) = s.tolerated {
                let _ = write!(text, " (tolerated: {tolerance:?})");
            }
            text
        }
    };
    let changed = was
        .violations
        .iter()
        .map(|v| v.rule)
        .ne(now.violations.iter().map(|v| v.rule))
        || was.tolerated != now.tolerated;
    if changed {
        line(out, "violations", rules(now), Some(rules(was)));
    }
    // The details and the state diff of the replay, as the failure walk-through prints them.
    let detail = step_text(now);
    for text in detail.lines().skip(3) {
        let _ = writeln!(out, "{text}");
    }
}

/// One aspect of a step: unmarked when the replay agrees, `!` and the recorded value when not.
fn line(out: &mut String, what: &str, now: String, was: Option<String>) {
    match was {
        None => {
            let _ = writeln!(out, "      {what}: {now}");
        }
        Some(was) => {
            let _ = writeln!(out, "    ! {what}: {now}");
            let _ = writeln!(out, "      {:>width$}  was: {was}", "", width = what.len());
        }
    }
}

fn verdict_text(verdict: &TraceVerdict) -> String {
    let mut text = if verdict.passed {
        "passed".to_string()
    } else {
        format!("FAILED ({})", join(&verdict.failed_rules))
    };
    if !verdict.expected_failures.is_empty() {
        let _ = write!(
            text,
            "; expected failures: {}",
            join(&verdict.expected_failures)
        );
    }
    text
}

fn join(rules: &[crate::spec::RuleId]) -> String {
    rules
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
