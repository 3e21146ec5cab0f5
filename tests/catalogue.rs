//! The catalogue cross-check: every rule in spec/ has a check in the code, every rule id the
//! code charges exists in spec/, every rule is fully written down, and every ambiguity of the
//! research digest is decided in spec/interpretations.md.

use std::collections::BTreeSet;
use std::path::Path;

use poolcheck::spec::{rules, Profile};

/// Rule-id string literals ("ABC-123") in the Rust files under `dir`.
fn ids_in_code(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("source folder reads") {
            let entry = entry.expect("entry");
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).expect("source reads");
                for piece in text.split('"').skip(1).step_by(2) {
                    if rules::is_rule_id(piece) {
                        found.insert(piece.to_string());
                    }
                }
            }
        }
    }
    found
}

fn checking_code() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut ids = ids_in_code(&root.join("model"));
    ids.extend(ids_in_code(&root.join("harness")));
    ids
}

#[test]
fn every_rule_in_spec_has_a_check() {
    let code = checking_code();
    let missing: Vec<&str> = rules::all()
        .iter()
        .map(|r| r.id.0)
        .filter(|id| !code.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules in spec/ that no check charges: {missing:?}"
    );
}

#[test]
fn every_check_names_a_rule_in_spec() {
    let spec: BTreeSet<&str> = rules::all().iter().map(|r| r.id.0).collect();
    let unknown: Vec<String> = checking_code()
        .into_iter()
        .filter(|id| !spec.contains(id.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "checks that name rules spec/ lacks: {unknown:?}"
    );
}

#[test]
fn every_mutant_is_tagged_with_rules_in_spec() {
    for mutant in poolcheck::mutants::ZOO {
        assert!(
            !mutant.rules.is_empty(),
            "{} has no rule",
            mutant.defect.name()
        );
        for rule in mutant.rules {
            assert!(
                rules::find(rule).is_some(),
                "{} names {rule}",
                mutant.defect.name()
            );
        }
    }
}

#[test]
fn every_rule_is_written_down_in_full() {
    let all = rules::all();
    assert!(all.len() >= 40, "only {} rules parsed", all.len());
    let mut seen = BTreeSet::new();
    for rule in all {
        assert!(seen.insert(rule.id), "{} is defined twice", rule.id);
        for (what, text) in [
            ("source", &rule.source),
            ("interpretation", &rule.interpretation),
            ("outcome", &rule.outcome),
            ("profile knob", &rule.knob),
        ] {
            assert!(!text.trim().is_empty(), "{} has no {what}", rule.id);
        }
        assert!(
            rule.source.contains('"') || rule.source.contains('`'),
            "{} quotes no source",
            rule.id
        );
    }
}

#[test]
fn every_ambiguity_of_the_digest_is_decided() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/interpretations.md"),
    )
    .expect("reads");
    for n in 1..=22 {
        let row = format!("| A-{n} |");
        assert!(
            text.contains(&row),
            "spec/interpretations.md has no decision for A-{n}"
        );
    }
}

#[test]
fn built_in_profiles_load_and_are_consistent() {
    for (name, _) in poolcheck::spec::profile::BUILT_IN {
        let profile = Profile::load(name).expect("built-in profile loads");
        assert_eq!(&profile.name, name);
        assert!(!profile.fixture().resource_types.is_empty());
    }
}

#[test]
fn a_profile_naming_a_foreign_method_is_refused() {
    let text = r#"
name = "broken"
dialect = "Msvm"
strictness = "exact"
error_channel = "return_value"
[methods]
CreateChildResourcePool = "sync"
[[resource_types]]
resource_type = 4
resource_subtype = "Microsoft:Hyper-V:Memory"
kind = "quantity"
capacity = 8
"#;
    let err = Profile::from_toml("broken", text).expect_err("must be refused");
    assert!(err.to_string().contains("CreateChildResourcePool"), "{err}");
}

/// `crate::X` paths used outside comments in the Rust files of one source folder.
fn crate_paths_in(folder: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(folder);
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("folder reads") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("file reads");
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for piece in line.split("crate::").skip(1) {
                let module: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.insert(module);
            }
        }
    }
    found
}

#[test]
fn the_model_knows_no_implementation() {
    let used = crate_paths_in("model");
    for forbidden in ["reference", "mutants", "harness", "report", "adapters"] {
        assert!(
            !used.contains(forbidden),
            "src/model uses crate::{forbidden}"
        );
    }
}

#[test]
fn the_reference_never_calls_the_model() {
    let used = crate_paths_in("reference");
    for forbidden in ["model", "harness", "spec", "mutants", "report"] {
        assert!(
            !used.contains(forbidden),
            "src/reference uses crate::{forbidden}"
        );
    }
}
