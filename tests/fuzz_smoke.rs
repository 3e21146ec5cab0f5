//! The fuzz bodies as smoke tests on stable: every body runs over its checked-in seed corpus
//! (`fuzz/seeds/<target>/`), a few thousand deterministic pseudo-random inputs, and every
//! regression file under `tests/fuzz-regressions/`, through exactly the library functions the
//! cargo-fuzz targets call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use poolcheck::adapters::build_target;
use poolcheck::codec::fuzz::{decode_body, BodyOutcome};
use poolcheck::harness::fuzz::{
    findings_dir_beside, operations, protocol, Differential, Expect, Finding, FindingKind,
    Regression, MAX_OPERATIONS,
};
use poolcheck::harness::{run_sequence, RuleStats};
use poolcheck::model::Operation;
use poolcheck::spec::profile::Profile;
use poolcheck::spec::RuleId;

const PROFILES: [&str; 2] = ["reference-msvm", "reference-cim"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The files of a folder, sorted by name (so that every run sees the same order).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} reads: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files(&repo(&format!("fuzz/seeds/{target}")))
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("seed reads");
            (p, bytes)
        })
        .collect()
}

/// Deterministic pseudo-random byte strings (splitmix64), 0..max_len bytes each.
fn random_inputs(seed: u64, count: usize, max_len: usize) -> Vec<Vec<u8>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| {
            let len = (next() % (max_len as u64 + 1)) as usize;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect()
}

fn variant(op: &Operation) -> &'static str {
    match op {
        Operation::Create(_) => "create",
        Operation::ChangeParents(_) => "change_parents",
        Operation::ChangeSettings(_) => "change_settings",
        Operation::Delete(_) => "delete",
        Operation::CreateRoot(_) => "create_root",
        Operation::AddResources(_) => "add_resources",
        Operation::RemoveResources(_) => "remove_resources",
    }
}

#[test]
fn bytes_decode_to_bounded_deterministic_operation_sequences() {
    assert!(operations(&[]).is_empty());
    let long = vec![0x5a; 64 * 1024];
    assert_eq!(operations(&long).len(), MAX_OPERATIONS);
    for input in random_inputs(1, 500, 600) {
        let ops = operations(&input);
        assert!(ops.len() <= MAX_OPERATIONS);
        assert_eq!(ops, operations(&input), "same bytes, same sequence");
        // Fuzz inputs, trace files and proptest share the one operation type and its JSON.
        let json = serde_json::to_string(&ops).expect("operations serialise");
        let back: Vec<Operation> = serde_json::from_str(&json).expect("and deserialise");
        assert_eq!(back, ops);
    }
}

#[test]
fn the_seed_corpus_of_the_differential_target_conforms_against_the_reference() {
    let corpus = seeds("ops");
    assert!(
        corpus.len() >= 20,
        "the ops seed corpus has {}",
        corpus.len()
    );
    let mut kinds = BTreeSet::new();
    for profile in PROFILES {
        let mut differential = Differential::new("reference", profile).expect("builds");
        for (path, bytes) in &corpus {
            kinds.extend(operations(bytes).iter().map(variant));
            if let Err(finding) = differential.check_bytes(bytes) {
                panic!("{}: {finding}", path.display());
            }
        }
    }
    assert_eq!(kinds.len(), 7, "the seeds reach every operation: {kinds:?}");
}

#[test]
fn random_bytes_run_against_the_reference_conform_in_both_dialects() {
    for profile in PROFILES {
        let mut differential = Differential::new("reference", profile).expect("builds");
        let mut steps = 0;
        for input in random_inputs(0x5eed, 2000, 400) {
            steps += operations(&input).len();
            if let Err(finding) = differential.check_bytes(&input) {
                panic!("{finding}\ninput: {input:?}");
            }
        }
        assert!(
            steps > 2000 * 4,
            "the inputs decode to real sequences ({steps} steps)"
        );
    }
}

/// Every input starts from a reset, and the reference reuses the store it built for a fixture
/// when it is reset to an equal one: a reset to another fixture must still give exactly that
/// fixture's host, and a reset after a sequence must undo the sequence, whatever the fixture
/// before. Each snapshot after a reset is compared with a service that never ran anything.
#[test]
fn a_reset_gives_the_fixtures_own_host_whatever_came_before() {
    use poolcheck::harness::{run_sequence, RuleStats};
    use poolcheck::reference::{ReferenceConfig, ReferenceService};
    use poolcheck::spec::profile::Profile;
    use poolcheck::sut::PoolService;

    let profiles = [
        "reference-msvm",
        "hyperv",
        "reference-msvm",
        "hyperv",
        "hyperv",
    ]
    .map(|name| Profile::load(name).expect("profile loads"));
    let mut service = ReferenceService::new(ReferenceConfig::msvm_default());
    let corpus = seeds("ops");
    let mut stats = RuleStats::default();
    for (round, profile) in profiles.iter().enumerate() {
        let fixture = profile.fixture();
        let mut untouched = ReferenceService::new(ReferenceConfig::msvm_default());
        untouched.reset(&fixture).expect("resets");
        let expected = untouched.snapshot().expect("snapshot");
        assert_eq!(expected.pools.len(), fixture.resource_types.len());
        for (_, bytes) in corpus.iter().skip(round * 7).take(7) {
            service.reset(&fixture).expect("resets");
            assert_eq!(
                service.snapshot().expect("snapshot"),
                expected,
                "round {round}: a reset to {} after another sequence or fixture",
                profile.name
            );
            // Changes the host (the outcome does not matter here, only that the next reset
            // undoes whatever it did).
            let _ = run_sequence(&mut service, profile, &operations(bytes), &mut stats);
        }
    }
}

/// The differential body has teeth: random bytes alone catch broken implementations, each
/// by one of the rules the zoo tags it with, and the same bytes give the same finding.
#[test]
fn random_bytes_catch_mutants_with_a_tagged_rule_and_deterministically() {
    let inputs = random_inputs(0xfa11, 3000, 400);
    for name in [
        "duplicate-pool-ids",
        "foreign-type-parent",
        "job-without-reference",
    ] {
        let mutant = poolcheck::mutants::find(name).expect("in the zoo");
        let mut differential =
            Differential::new(&format!("mutant:{name}"), "reference-msvm").expect("builds");
        let found = inputs
            .iter()
            .find_map(|input| differential.check_bytes(input).err().map(|f| (input, f)));
        let (input, finding) = found.unwrap_or_else(|| panic!("{name} was not caught"));
        match &finding.kind {
            FindingKind::Violation { rule, .. } => assert!(
                mutant.rules.contains(&rule.0),
                "{name} was caught by {rule}, not one of {:?}",
                mutant.rules
            ),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(differential.check_bytes(input), Err(finding));
    }
}

/// The differential body checks a sequence for its verdict alone and runs a failing one again
/// with step records for its detail: a finding names the step, the rule and the detail that one
/// run of `harness::run_sequence`, with every record kept, shows for the same sequence.
#[test]
fn a_finding_is_what_a_run_with_step_records_shows() {
    let mut compared = 0;
    for path in files(&repo("tests/fuzz-regressions/ops")) {
        let text = std::fs::read_to_string(&path).expect("regression reads");
        let regression = Regression::from_json(&text).expect("regression parses");
        if !matches!(regression.expect, Expect::Fails { .. }) {
            continue;
        }
        let mut differential =
            Differential::new(&regression.target, &regression.profile).expect("builds");
        let finding = differential
            .check(&regression.operations)
            .expect_err("the regression fails");
        let profile = Profile::load(&regression.profile).expect("profile loads");
        let mut service = build_target(&regression.target, &profile).expect("target builds");
        let outcome = run_sequence(
            &mut *service,
            &profile,
            &regression.operations,
            &mut RuleStats::default(),
        )
        .expect("runs");
        let (step, rule) = outcome.failure.expect("fails with records kept too");
        let detail = outcome.steps[step].violations[0].detail.clone();
        assert!(
            !detail.is_empty(),
            "{}: a violation without detail",
            path.display()
        );
        assert_eq!(
            finding.kind,
            FindingKind::Violation { step, rule, detail },
            "{}",
            path.display()
        );
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} failing regression files");
}

#[test]
fn every_regression_file_replays_with_its_recorded_verdict() {
    let dir = repo("tests/fuzz-regressions/ops");
    let mut caught_mutants = BTreeSet::new();
    for path in files(&dir) {
        let text = std::fs::read_to_string(&path).expect("regression reads");
        let regression = Regression::from_json(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        if let Err(why) = regression.check() {
            panic!("{}: {why}", path.display());
        }
        if let (Some(name), Expect::Fails { rule }) = (
            regression.target.strip_prefix("mutant:"),
            &regression.expect,
        ) {
            let mutant = poolcheck::mutants::find(name).expect("a zoo mutant");
            assert!(
                mutant.rules.contains(&rule.0),
                "{}: {rule} is not among the rules {name} is tagged with",
                path.display()
            );
            // The same sequence conforms against the reference: the finding is the mutant's.
            let reference = Regression {
                target: "reference".into(),
                expect: Expect::Passes,
                ..regression.clone()
            };
            if let Err(why) = reference.check() {
                panic!("{} against the reference: {why}", path.display());
            }
            caught_mutants.insert(name.to_string());
        }
    }
    assert!(
        caught_mutants.len() >= 5,
        "regressions cover only these mutants: {caught_mutants:?}"
    );
}

#[test]
fn a_finding_becomes_a_regression_file_and_a_trace_that_reproduce_it() {
    let mut differential =
        Differential::new("mutant:foreign-type-parent", "reference-msvm").expect("builds");
    let finding = random_inputs(7, 3000, 400)
        .iter()
        .find_map(|input| differential.check_bytes(input).err())
        .expect("caught");
    let dir = std::env::temp_dir().join(format!("poolcheck-fuzz-smoke-{}", std::process::id()));
    let trace = differential.trace(&finding.operations).expect("replays");
    let recorded = finding
        .record(&dir, "finding", Some(&trace))
        .expect("writes");
    let regression = Regression::from_json(
        &std::fs::read_to_string(&recorded.regression).expect("regression reads"),
    )
    .expect("parses");
    let trace_back = poolcheck::harness::Trace::from_json(
        &std::fs::read_to_string(recorded.trace.as_ref().expect("a trace")).expect("reads"),
    )
    .expect("parses");
    std::fs::remove_dir_all(&dir).expect("cleans up");
    assert_eq!(regression, finding.regression());
    assert_eq!(regression.operations, trace_back.operations);
    let FindingKind::Violation { rule, .. } = finding.kind else {
        panic!("not a violation: {finding}");
    };
    assert_eq!(regression.expect, Expect::Fails { rule });
    assert!(trace_back.verdict.failed_rules.contains(&rule));
    regression
        .check()
        .expect("the regression reproduces the finding");
    let wrong = Regression {
        expect: Expect::Fails {
            rule: other_rule(rule),
        },
        ..regression
    };
    assert!(wrong.check().is_err(), "a regression can fail");
}

/// A violation by the reference implementation is a bug to fix: its regression file expects
/// the sequence to pass, so `cargo test` fails until the reference or the model is fixed.
#[test]
fn a_finding_against_the_reference_is_expected_to_pass_once_fixed() {
    let ops = operations(&[7; 64]);
    let finding = Finding {
        target: "reference".into(),
        profile: "reference-msvm".into(),
        operations: ops.clone(),
        kind: FindingKind::Violation {
            step: 0,
            rule: poolcheck::spec::rules::all()[0].id,
            detail: "made up".into(),
        },
    };
    let regression = finding.regression();
    assert_eq!(regression.expect, Expect::Passes);
    assert_eq!(regression.operations, ops);
    regression.check().expect("the reference passes it today");
}

/// Findings never go into cargo-fuzz's artifact folder, whose every new file it reports as
/// a crashing input.
#[test]
fn findings_go_beside_the_artifact_folder() {
    assert_eq!(
        findings_dir_beside("/w/fuzz/artifacts/ops/"),
        PathBuf::from("/w/fuzz/findings/ops")
    );
    assert_eq!(
        findings_dir_beside("/w/out/ops/crash-"),
        PathBuf::from("/w/out/ops-findings")
    );
}

fn other_rule(rule: RuleId) -> RuleId {
    poolcheck::spec::rules::all()
        .iter()
        .map(|r| r.id)
        .find(|id| *id != rule)
        .expect("more than one rule")
}

#[test]
fn an_unknown_target_or_profile_is_a_setup_finding_not_a_panic() {
    for (target, profile) in [
        ("mutant:no-such-mutant", "reference-msvm"),
        ("reference", "no-such-profile"),
    ] {
        match Differential::new(target, profile) {
            Err(finding) => assert!(matches!(finding.kind, FindingKind::Setup(_))),
            Ok(_) => panic!("{target} under {profile} built"),
        }
    }
}

#[test]
fn the_decoder_body_decodes_its_seeds_and_survives_random_bytes_and_regressions() {
    let corpus = seeds("decode");
    assert!(
        corpus.len() >= 10,
        "the decode seed corpus has {}",
        corpus.len()
    );
    for (path, bytes) in &corpus {
        assert!(
            matches!(decode_body(bytes), BodyOutcome::Decoded(_)),
            "seed {} does not decode",
            path.display()
        );
    }
    for input in random_inputs(0xdec0de, 3000, 300) {
        decode_body(&input);
    }
    // Random bytes rarely look like an instance: mutate the seeds too.
    for (idx, flips) in random_inputs(0xf11b, 3000, 8).iter().enumerate() {
        let mut bytes = corpus[idx % corpus.len()].1.clone();
        for pair in flips.chunks(2) {
            let at = usize::from(pair[0]) * bytes.len() / 256;
            bytes[at] = *pair.get(1).unwrap_or(&b'<');
        }
        decode_body(&bytes);
    }
    // A regression file's name says what it expects: `refused-*` must be refused and
    // `decoded-*` must decode; either way the codec's invariants hold (or decode_body panics).
    let regressions = files(&repo("tests/fuzz-regressions/decode"));
    assert!(!regressions.is_empty());
    for path in regressions {
        let outcome = decode_body(&std::fs::read(&path).expect("reads"));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("refused-") {
            assert!(
                matches!(outcome, BodyOutcome::Refused(_)),
                "{name}: {outcome:?}"
            );
        } else if name.starts_with("decoded-") {
            assert!(
                matches!(outcome, BodyOutcome::Decoded(_)),
                "{name}: {outcome:?}"
            );
        }
    }
}

#[test]
fn the_protocol_body_accepts_its_seeds_and_survives_random_bytes_and_regressions() {
    let corpus = seeds("protocol");
    assert!(!corpus.is_empty());
    for (path, bytes) in &corpus {
        let tally = protocol(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        assert!(tally.hello, "{}: the hello line is refused", path.display());
        assert_eq!(tally.responses, lines - 1, "{}", path.display());
        assert!(tally.results >= 3, "{}: {tally:?}", path.display());
    }
    for input in random_inputs(0x9a7e, 3000, 300) {
        if let Err(e) = protocol(&input) {
            panic!("{e}\ninput: {input:?}");
        }
    }
    for (idx, flips) in random_inputs(0x11e5, 3000, 8).iter().enumerate() {
        let mut bytes = corpus[idx % corpus.len()].1.clone();
        for pair in flips.chunks(2) {
            let at = usize::from(pair[0]) * bytes.len() / 256;
            bytes[at] = *pair.get(1).unwrap_or(&b'"');
        }
        if let Err(e) = protocol(&bytes) {
            panic!("{e}\ninput: {}", String::from_utf8_lossy(&bytes));
        }
    }
    let regressions = files(&repo("tests/fuzz-regressions/protocol"));
    assert!(!regressions.is_empty());
    for path in regressions {
        if let Err(e) = protocol(&std::fs::read(&path).expect("reads")) {
            panic!("{}: {e}", path.display());
        }
    }
}
