//! `poolcheck promote TRACE`: add a trace to `spec/vectors/`, where `cargo test` replays it
//! against the reference implementation (`tests/vectors.rs`).
//!
//! The trace is normalised — the target it was found on and a description recorded, the seed
//! and the rendition (EMB-004) kept — and checked before it is written: replayed against the
//! reference implementation under its profile (in its rendition, compared with the run as
//! generated), the specification must expect exactly what it recorded at every step, and the
//! reference must pass. An existing vector is never overwritten. Exit 0 and the path
//! printed when written; 2 when refused.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use poolcheck::adapters::build_target;
use poolcheck::harness::{self, RuleFilter, Trace};
use poolcheck::spec::Profile;

use super::replay::{load, Replayable};
use super::Outcome;

#[derive(clap::Args)]
pub struct PromoteArgs {
    /// The trace file to promote.
    trace: PathBuf,
    /// The vector's file name, without `.json`. Default: made from the first violated rule
    /// (or `passes`), the target, the profile and the seed.
    #[arg(long)]
    name: Option<String>,
    /// The vectors folder.
    #[arg(long, default_value = "spec/vectors")]
    dir: PathBuf,
    /// What the vector shows. Default: the trace's own description, else one made from its
    /// verdict.
    #[arg(long)]
    description: Option<String>,
    /// The `--target` the trace was found on, if the trace does not record it.
    #[arg(long)]
    target: Option<String>,
}

pub fn promote(args: &PromoteArgs) -> Result<Outcome, String> {
    let Replayable::Trace(trace) = load(&args.trace)?;
    let mut vector = *trace;
    if vector.is_draft() {
        vector = run_draft(vector, args.target.as_deref())?;
    }
    vector.target_spec = args
        .target
        .clone()
        .or(vector.target_spec.take())
        .or_else(|| built_in_target_spec(&vector.target.name));
    vector.description = args
        .description
        .clone()
        .or(vector.description.take())
        .or_else(|| Some(default_description(&vector)));
    check_against_reference(&vector)?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&vector),
    };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(format!("--name {name:?} is not a plain file name"));
    }
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let path = args.dir.join(format!("{name}.json"));
    write_new(&path, &(vector.to_json() + "\n"))?;
    println!("{}", path.display());
    Ok(Outcome::Conforms)
}

/// A hand-written draft (profile and operations only), run against its target (default the
/// reference implementation) to record its steps and verdict.
fn run_draft(draft: Trace, target: Option<&str>) -> Result<Trace, String> {
    let profile = Profile::load(&draft.profile).map_err(|e| e.to_string())?;
    let target = target
        .map(str::to_string)
        .or_else(|| draft.target_spec.clone())
        .unwrap_or_else(|| "reference".to_string());
    let mut service = build_target(&target, &profile)?;
    let mut trace = harness::replay_trace(&mut *service, &profile, &draft, &RuleFilter::all())
        .map_err(|e| e.to_string())?;
    trace.seed = draft.seed;
    trace.description = draft.description;
    trace.target_spec = Some(target);
    Ok(trace)
}

/// Replay `vector` against the reference implementation: it must expect what the vector
/// recorded at every step, and pass.
fn check_against_reference(vector: &Trace) -> Result<(), String> {
    let profile = Profile::load(&vector.profile).map_err(|e| {
        format!(
            "the trace's profile cannot be loaded ({e}); vectors must name a built-in profile or a file cargo test can read"
        )
    })?;
    let mut reference = build_target("reference", &profile)?;
    let replayed = harness::replay_trace(&mut *reference, &profile, vector, &RuleFilter::all())
        .map_err(|e| e.to_string())?;
    if replayed.steps.len() != vector.steps.len() {
        return Err(format!(
            "refused: the trace records {} step(s), the reference implementation ran {}",
            vector.steps.len(),
            replayed.steps.len()
        ));
    }
    for (was, now) in vector.steps.iter().zip(&replayed.steps) {
        if was.expected != now.expected {
            return Err(format!(
                "refused: at step {} the specification now expects {:?}, the trace recorded {:?}; the model has moved on since it was recorded (run the target again and promote the new trace)",
                was.index, now.expected, was.expected
            ));
        }
    }
    if !replayed.verdict.passed {
        return Err(format!(
            "refused: the reference implementation fails this trace ({}); fix the reference (or the model) first — `poolcheck replay {} --target reference` shows where",
            replayed
                .verdict
                .failed_rules
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            vector.profile
        ));
    }
    Ok(())
}

fn write_new(path: &Path, text: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("refused: {} exists; choose another --name", path.display())
            }
            _ => format!("cannot create {}: {e}", path.display()),
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The `--target` of the built-in implementations, from their self-description.
fn built_in_target_spec(name: &str) -> Option<String> {
    match name.strip_prefix("poolcheck-reference") {
        Some("") => Some("reference".into()),
        Some(rest) => rest.strip_prefix('+').map(|m| format!("mutant:{m}")),
        None => None,
    }
}

fn default_description(vector: &Trace) -> String {
    let found = vector
        .target_spec
        .clone()
        .unwrap_or_else(|| vector.target.name.clone());
    let seed = vector
        .seed
        .map(|s| format!(", seed {s}"))
        .unwrap_or_default();
    if vector.verdict.passed {
        format!(
            "{} step(s) under {} that {found} passes{seed}",
            vector.steps.len(),
            vector.profile
        )
    } else {
        let rules: Vec<String> = vector
            .verdict
            .failed_rules
            .iter()
            .map(|r| r.to_string())
            .collect();
        format!(
            "{found} under {} violates {}{seed}",
            vector.profile,
            rules.join(", ")
        )
    }
}

fn default_name(vector: &Trace) -> String {
    let target = vector
        .target_spec
        .clone()
        .unwrap_or_else(|| vector.target.name.clone());
    let rule = vector
        .verdict
        .failed_rules
        .first()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "passes".into());
    let seed = vector.seed.map(|s| format!("-seed{s}")).unwrap_or_default();
    slug(&format!("{rule}-{target}-{}{seed}", vector.profile))
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
