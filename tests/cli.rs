//! The binary as CI uses it: exit codes 0 / 1 / 2, the files `run` writes (reports and
//! failure traces), `replay` of a failure and of a promoted vector, `promote` refusing to
//! overwrite, and output that is the same without a terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use poolcheck::codec::Encoding;
use poolcheck::harness::{RunReport, Trace};

const BIN: &str = env!("CARGO_BIN_EXE_poolcheck");

/// A fresh, empty working directory for one test.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("poolcheck-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn poolcheck(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn a_conforming_run_exits_0_and_writes_every_report() {
    let dir = workdir("conforms");
    let out = poolcheck(
        &dir,
        &[
            "run",
            "--cases",
            "60",
            "--seed",
            "3",
            "--json",
            "r.json",
            "--junit",
            "r.xml",
            "--markdown",
            "r.md",
        ],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let reports: Vec<RunReport> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(reports.len(), 2, "both reference profiles by default");
    assert!(reports.iter().all(|r| r.config.seed == 3));
    assert!(std::fs::read_to_string(dir.join("r.xml"))
        .unwrap()
        .contains("<testsuites"));
    assert!(std::fs::read_to_string(dir.join("r.md"))
        .unwrap()
        .starts_with("## poolcheck: ✅ conforms"));
    assert!(
        !dir.join("poolcheck-failures").exists(),
        "no failure, no trace"
    );
    // Not a terminal: no progress bar in either stream.
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text}");
    }
}

#[test]
fn the_same_seed_prints_the_same_run() {
    let dir = workdir("same-seed");
    let args = [
        "run",
        "--cases",
        "40",
        "--seed",
        "11",
        "--profile",
        "reference-cim",
    ];
    let (a, b) = (poolcheck(&dir, &args), poolcheck(&dir, &args));
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn usage_and_harness_errors_exit_2() {
    let dir = workdir("usage");
    for args in [
        &["run", "--target", "nonsense"][..],
        &["run", "--target", "mutant:no-such-mutant"],
        &["run", "--profile", "no-such-profile"],
        &["run", "--rules", "ARG-001,NOPE"],
        &["run", "--time-budget", "soon"],
        &["run", "--cases", "many"],
        &["replay", "missing.json"],
        &["promote", "missing.json"],
        &["frobnicate"],
    ] {
        let out = poolcheck(&dir, args);
        assert_eq!(code(&out), 2, "{args:?}: {}{}", stdout(&out), stderr(&out));
    }
    std::fs::write(dir.join("other.json"), r#"{"format": "something-else"}"#).unwrap();
    let out = poolcheck(&dir, &["replay", "other.json"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("something-else"), "{}", stderr(&out));
}

#[test]
fn a_failure_exits_1_writes_its_trace_and_replays() {
    let dir = workdir("failure");
    let out = poolcheck(
        &dir,
        &[
            "run",
            "--target",
            "mutant:leak-on-failure",
            "--profile",
            "reference-msvm",
            "--seed",
            "7",
            "--cases",
            "500",
            "--junit",
            "r.xml",
            "--markdown",
            "r.md",
        ],
    );
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let traces = files(&dir.join("poolcheck-failures"));
    assert_eq!(traces.len(), 1, "{traces:?}");
    let trace_path = &traces[0];
    assert!(stdout(&out).contains("trace written to poolcheck-failures/"));
    let trace = Trace::from_json(&std::fs::read_to_string(trace_path).unwrap()).unwrap();
    assert_eq!(trace.target_spec.as_deref(), Some("mutant:leak-on-failure"));
    assert_eq!(trace.seed, Some(7));
    assert!(!trace.verdict.passed);
    let relative = format!(
        "poolcheck-failures/{}",
        trace_path.file_name().unwrap().to_string_lossy()
    );
    assert!(std::fs::read_to_string(dir.join("r.md"))
        .unwrap()
        .contains(&format!("poolcheck replay {relative}")));

    // Replayed on the recorded target: it fails again, the same way.
    let out = poolcheck(&dir, &["replay", &relative, "--trace-dir", "replays"]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("the replay reproduces the recorded verdict"));
    assert_eq!(
        files(&dir.join("replays")).len(),
        1,
        "a failing replay writes its trace"
    );
    // Replayed on the reference: it passes, and says what changed.
    let out = poolcheck(&dir, &["replay", &relative, "--target", "reference"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("does NOT reproduce"));
    assert!(stdout(&out).contains("! violations: none"));
}

#[test]
fn promote_writes_a_vector_that_replays_and_never_overwrites() {
    let dir = workdir("promote");
    let out = poolcheck(
        &dir,
        &[
            "run",
            "--target",
            "mutant:accept-any-allocation-count",
            "--profile",
            "reference-cim",
            "--seed",
            "5",
            "--cases",
            "500",
        ],
    );
    assert_eq!(code(&out), 1);
    let trace = files(&dir.join("poolcheck-failures")).remove(0);
    let trace = trace.to_string_lossy().into_owned();
    let out = poolcheck(&dir, &["promote", &trace, "--dir", "vectors"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let vector = stdout(&out).trim().to_string();
    assert!(
        vector
            .starts_with("vectors/arg-001-mutant-accept-any-allocation-count-reference-cim-seed5"),
        "{vector}"
    );
    let promoted = Trace::from_json(&std::fs::read_to_string(dir.join(&vector)).unwrap()).unwrap();
    assert_eq!(promoted.seed, Some(5));
    assert_eq!(
        promoted.target_spec.as_deref(),
        Some("mutant:accept-any-allocation-count")
    );
    assert!(promoted.description.is_some());
    // The vector passes on the reference and still fails its mutant.
    let out = poolcheck(&dir, &["replay", &vector, "--target", "reference"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = poolcheck(&dir, &["replay", &vector, "--trace-dir", "replays"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    // A second promotion to the same name is refused and leaves the file alone.
    let before = std::fs::read(dir.join(&vector)).unwrap();
    let out = poolcheck(&dir, &["promote", &trace, "--dir", "vectors"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.join(&vector)).unwrap(), before);
}

/// The Python example adapter with `--bug no-qualifiers` refuses CIM-XML carrying WMI's
/// qualifiers, which the generated calls never send: only EMB-004's re-encoded runs show it.
/// Its trace records the rendition, and `replay` and `promote` honour it.
#[test]
fn an_emb_004_failure_replays_in_its_rendition_and_promotes_with_it() {
    let dir = workdir("emb-004");
    let adapter = format!(
        "python3 -B '{}/examples/python/pool_adapter.py'",
        env!("CARGO_MANIFEST_DIR")
    );
    let profile_file = format!(
        "{}/examples/python/pool_adapter.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let buggy = format!("exec:{adapter} --bug no-qualifiers");
    let fixed = format!("exec:{adapter}");
    let out = poolcheck(
        &dir,
        &["run", "--target", &buggy, "--seed", "5", "--cases", "40"],
    );
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("FAILED EMB-004"), "{}", stdout(&out));
    let traces = files(&dir.join("poolcheck-failures"));
    assert_eq!(traces.len(), 1, "{traces:?}");
    let text = std::fs::read_to_string(&traces[0]).unwrap();
    let trace = Trace::from_json(&text).unwrap();
    assert_eq!(trace.rendition, Some(Encoding::WmiDtd20));
    assert_eq!(trace.verdict.failed_rules[0].0, "EMB-004");
    let recorded = traces[0].to_string_lossy().into_owned();

    // The adapter declares its profile in its hello line; replay is given the file.
    let replay = |target: &str| {
        poolcheck(
            &dir,
            &[
                "replay",
                &recorded,
                "--profile",
                &profile_file,
                "--target",
                target,
                "--trace-dir",
                "replays",
            ],
        )
    };
    let out = replay(&buggy);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("re-encoded as WmiDtd20"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("the replay reproduces the recorded verdict"),
        "{}",
        stdout(&out)
    );
    let replays = files(&dir.join("replays"));
    let again = Trace::from_json(&std::fs::read_to_string(&replays[0]).unwrap()).unwrap();
    assert_eq!(again.rendition, Some(Encoding::WmiDtd20));
    for target in [fixed.as_str(), "reference"] {
        let out = replay(target);
        assert_eq!(code(&out), 0, "{target}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stdout(&out).contains("does NOT reproduce"),
            "{}",
            stdout(&out)
        );
    }

    // Promoted (with its profile named by file, so that the check against the reference can
    // load it), the vector keeps the rendition and still catches the bug.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["profile"] = serde_json::Value::String(profile_file.clone());
    std::fs::write(dir.join("emb.json"), value.to_string()).unwrap();
    let out = poolcheck(&dir, &["promote", "emb.json", "--dir", "vectors"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let vector = stdout(&out).trim().to_string();
    let promoted = Trace::from_json(&std::fs::read_to_string(dir.join(&vector)).unwrap()).unwrap();
    assert_eq!(promoted.rendition, Some(Encoding::WmiDtd20));
    assert_eq!(promoted.target_spec.as_deref(), Some(buggy.as_str()));
    let out = poolcheck(&dir, &["replay", &vector, "--trace-dir", "replays"]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("the replay reproduces the recorded verdict"));
}

#[test]
fn expected_failures_in_a_profile_file_decide_the_exit_code() {
    let dir = workdir("expected");
    let base = poolcheck::spec::profile::BUILT_IN
        .iter()
        .find(|(n, _)| *n == "reference-msvm")
        .unwrap()
        .1;
    let profile = format!(
        "{}\n[[expected_failures]]\nrule = \"CAP-005\"\nreason = \"refuses exactly the free capacity\"\n",
        base.replace("name = \"reference-msvm\"", "name = \"mine\"")
    );
    std::fs::write(dir.join("mine.toml"), profile).unwrap();
    let args = |target: &'static str| {
        vec![
            "run",
            "--target",
            target,
            "--profile",
            "mine.toml",
            "--seed",
            "7",
            "--cases",
            "300",
            "--rules",
            "CAP,ARG",
        ]
    };
    let out = poolcheck(&dir, &args("mutant:off-by-one-capacity"));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("expected failure ("));
    let out = poolcheck(&dir, &args("reference"));
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("UNEXPECTED PASS"));
}

#[test]
fn a_time_budget_is_reported() {
    let dir = workdir("budget");
    let out = poolcheck(
        &dir,
        &[
            "run",
            "--time-budget",
            "0s",
            "--cases",
            "1000",
            "--profile",
            "reference-cim",
            "--json",
            "r.json",
        ],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("time budget reached after 0 of 1000 cases"));
    let reports: Vec<RunReport> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert!(reports[0].time_budget_exhausted);
}
