//! The vectors of `spec/vectors/`: every one replayed against the reference implementation
//! (the specification expects what the vector recorded, step by step, and the reference
//! passes), replayed against the built-in target it was found on (its recorded verdict and
//! observations reproduce), and checked against the field table of `spec/trace-format.md`.

mod shape;

use std::path::{Path, PathBuf};

use poolcheck::adapters::build_target;
use poolcheck::harness::{replay, replay_trace, RuleFilter, Trace};
use poolcheck::spec::profile::ExpectedFailure;
use poolcheck::spec::{Profile, RuleId};
use pretty_assertions::assert_eq;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors");
const TRACE_FORMAT_DOC: &str = include_str!("../spec/trace-format.md");

fn vector_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(VECTORS)
        .expect("spec/vectors exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "spec/vectors holds no vector");
    files
}

fn load(path: &Path) -> Trace {
    let text = std::fs::read_to_string(path).expect("readable vector");
    Trace::from_json(&text).unwrap_or_else(|e| panic!("{}: not a trace: {e}", path.display()))
}

/// Whether `cargo test` can build this target in-process.
fn built_in(target: &str) -> bool {
    target == "reference" || target.starts_with("mutant:")
}

/// What is wrong with one vector, if anything.
fn problems(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let vector = load(path);
    let mut out = Vec::new();
    if vector.is_draft() {
        return vec![format!(
            "{name}: a draft (no steps); `poolcheck promote` it first"
        )];
    }
    let profile = match Profile::load(&vector.profile) {
        Ok(p) => p,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let mut reference = build_target("reference", &profile).expect("the reference builds");
    let all = RuleFilter::all();
    let replayed = replay_trace(&mut *reference, &profile, &vector, &all).expect("replays");
    if replayed.steps.len() != vector.steps.len() {
        out.push(format!(
            "{name}: recorded {} step(s), the reference ran {}",
            vector.steps.len(),
            replayed.steps.len()
        ));
    }
    for (was, now) in vector.steps.iter().zip(&replayed.steps) {
        if was.expected != now.expected {
            out.push(format!(
                "{name}: step {}: the specification now expects {:?}, the vector recorded {:?}",
                was.index, now.expected, was.expected
            ));
        }
    }
    if !replayed.verdict.passed {
        out.push(format!(
            "{name}: the reference implementation fails it: {:?}",
            replayed.verdict.failed_rules
        ));
    }
    if let Some(target) = vector.target_spec.as_deref().filter(|t| built_in(t)) {
        let mut found_on = build_target(target, &profile).expect("the recorded target builds");
        let again = replay_trace(&mut *found_on, &profile, &vector, &all).expect("replays");
        if again.verdict != vector.verdict {
            out.push(format!(
                "{name}: on {target} the verdict is now {:?}, recorded {:?}",
                again.verdict, vector.verdict
            ));
        }
        let observed = |t: &Trace| {
            t.steps
                .iter()
                .map(|s| s.observed.clone())
                .collect::<Vec<_>>()
        };
        if observed(&again) != observed(&vector) {
            out.push(format!("{name}: on {target} the observations changed"));
        }
    }
    out
}

#[test]
fn every_vector_holds_against_the_reference_and_its_own_target() {
    let problems: Vec<String> = vector_files().iter().flat_map(|p| problems(p)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn vectors_include_promoted_failures_and_a_hand_written_one() {
    let vectors: Vec<Trace> = vector_files().iter().map(|p| load(p)).collect();
    assert!(vectors.iter().any(|v| !v.verdict.passed
        && v.target_spec
            .as_deref()
            .is_some_and(|t| t.starts_with("mutant:"))));
    assert!(vectors.iter().any(|v| v.verdict.passed));
    for profile in ["reference-msvm", "reference-cim"] {
        assert!(
            vectors.iter().any(|v| v.profile == profile),
            "no vector under {profile}"
        );
    }
}

#[test]
fn every_vector_has_the_documented_shape() {
    let fields = shape::documented(TRACE_FORMAT_DOC, "## Fields");
    for path in vector_files() {
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors = shape::check(&value, &fields, "");
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn a_trace_with_a_tolerated_step_has_the_documented_shape() {
    let mut profile = Profile::built_in("reference-cim");
    profile.expected_failures.push(ExpectedFailure {
        rule: "CAP-002".into(),
        reason: "leaks a reservation when a call fails".into(),
    });
    let mut service = build_target("mutant:leak-on-failure", &profile).expect("builds");
    let vector =
        load(&Path::new(VECTORS).join("cap-002-mutant-leak-on-failure-reference-cim-seed7.json"));
    let trace = replay(&mut *service, &profile, &vector.operations).expect("replays");
    assert!(
        trace.steps.iter().any(|s| s.tolerated.is_some()),
        "{:#?}",
        trace.verdict
    );
    assert!(trace.verdict.passed);
    assert_eq!(trace.verdict.expected_failures, vec![RuleId("CAP-002")]);
    let value = serde_json::to_value(&trace).unwrap();
    let fields = shape::documented(TRACE_FORMAT_DOC, "## Fields");
    let errors = shape::check(&value, &fields, "");
    assert!(errors.is_empty(), "{errors:#?}");
}

/// The draft printed in spec/trace-format.md is the source of the hand-written vector: same
/// profile, same operations, and promoting it gives the recorded steps.
#[test]
fn the_documented_draft_is_the_hand_written_vector() {
    let start = TRACE_FORMAT_DOC.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + TRACE_FORMAT_DOC[start..].find("```").expect("closed");
    let draft = Trace::from_json(&TRACE_FORMAT_DOC[start..end]).expect("the draft parses");
    assert!(draft.is_draft());
    let vector = load(&Path::new(VECTORS).join("arg-001-one-or-one-per-parent-by-hand.json"));
    assert_eq!(draft.operations, vector.operations);
    assert_eq!(draft.profile, vector.profile);
    assert_eq!(draft.description, vector.description);
    let profile = Profile::load(&draft.profile).unwrap();
    let mut reference = build_target("reference", &profile).unwrap();
    let ran = replay(&mut *reference, &profile, &draft.operations).unwrap();
    assert_eq!(ran.steps, vector.steps);
    assert!(vector
        .steps
        .iter()
        .any(|s| format!("{:?}", s.expected).contains("ARG-001")));
}
