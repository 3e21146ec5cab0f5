//! `poolcheck replay TRACE`: re-run a trace's operations and print the step-by-step
//! comparison with the recording.
//!
//! Exit 0 when the replay passes, 1 when it fails a rule, 2 when the trace, its profile or
//! the target cannot be loaded. Whether the replay reproduces the recorded verdict is printed
//! either way (a promoted mutant failure replayed against the reference passes, and that is
//! the point).

use std::path::{Path, PathBuf};

use poolcheck::adapters::build_target;
use poolcheck::harness::trace::TRACE_FORMAT;
use poolcheck::harness::{self, RuleFilter, Trace};
use poolcheck::report;
use poolcheck::spec::Profile;

use super::Outcome;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The trace file (`poolcheck-failures/*.json`, `spec/vectors/*.json`).
    trace: PathBuf,
    /// The implementation. Default: the target recorded in the trace, else `reference`.
    #[arg(long)]
    target: Option<String>,
    /// A built-in profile name or a profile file. Default: the trace's profile.
    #[arg(long)]
    profile: Option<String>,
    /// Judge only these rules (ids or families, comma-separated), as `run --rules`.
    #[arg(long, value_delimiter = ',')]
    rules: Vec<String>,
    /// Where the replay's own trace is written when it fails.
    #[arg(long, default_value = "poolcheck-failures")]
    trace_dir: PathBuf,
}

/// What `replay` can be handed, told apart by the document's `format` field.
pub enum Replayable {
    Trace(Box<Trace>),
}

/// Read a replayable document. Other formats are recognised here and told apart by their
/// tag: a trace says `"format": "poolcheck-trace"` (or nothing, for older traces); a
/// transcript of the process adapter starts with a line tagged `"transcript"`.
pub fn load(path: &Path) -> Result<Replayable, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let first_line: Option<serde_json::Value> = text
        .lines()
        .next()
        .and_then(|line| serde_json::from_str(line).ok());
    if let Some(tag) = first_line
        .as_ref()
        .and_then(|v| v.get("transcript"))
        .and_then(|t| t.as_str())
    {
        return Err(format!(
            "{} is a transcript ({tag}), not a trace: replay it with `poolcheck run --target transcript:{}`",
            path.display(),
            path.display()
        ));
    }
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let format = value
        .get("format")
        .and_then(|f| f.as_str())
        .unwrap_or(TRACE_FORMAT);
    match format {
        TRACE_FORMAT => serde_json::from_value(value)
            .map(|t| Replayable::Trace(Box::new(t)))
            .map_err(|e| format!("{} is not a valid trace: {e}", path.display())),
        other => Err(format!(
            "{} is a {other:?} document; replay reads {TRACE_FORMAT:?} traces",
            path.display()
        )),
    }
}

pub fn replay(args: &ReplayArgs) -> Result<Outcome, String> {
    if poolcheck::adapters::transcript::is_transcript(&args.trace) {
        return replay_transcript(args);
    }
    let Replayable::Trace(recorded) = load(&args.trace)?;
    let filter = RuleFilter::new(&args.rules);
    let unknown = filter.unknown();
    if !unknown.is_empty() {
        return Err(format!(
            "--rules names no rule or family of spec/: {}",
            unknown.join(", ")
        ));
    }
    let profile_name = args.profile.as_deref().unwrap_or(&recorded.profile);
    let profile = Profile::load(profile_name).map_err(|e| e.to_string())?;
    let target = args
        .target
        .clone()
        .or_else(|| recorded.target_spec.clone())
        .unwrap_or_else(|| "reference".to_string());
    let mut service = build_target(&target, &profile)?;
    println!(
        "replay of {} ({} operation(s), recorded on {} {} under {}, suite {}, spec {}) — target {target}, profile {}",
        args.trace.display(),
        recorded.operations.len(),
        recorded.target.name,
        recorded.target.version,
        recorded.profile,
        recorded.suite_version,
        recorded.spec_edition,
        profile.name
    );
    if !recorded.is_draft() && profile.fixture() != recorded.fixture {
        println!(
            "note: profile {}'s host fixture differs from the one recorded in the trace; the replay uses the profile's",
            profile.name
        );
    }
    let mut replayed = harness::replay_trace(&mut *service, &profile, &recorded, &filter)
        .map_err(|e| e.to_string())?;
    replayed.seed = recorded.seed;
    replayed.target_spec = Some(target);
    replayed.description = recorded.description.clone();
    print!("{}", report::replay::comparison(&recorded, &replayed));
    if replayed.verdict.passed {
        return Ok(Outcome::Conforms);
    }
    let path = write_replay_trace(&args.trace_dir, &args.trace, &replayed)?;
    println!("replay trace written to {}", path.display());
    Ok(Outcome::Fails)
}

/// A transcript of `run --record`: every recorded run, re-run offline against the recorded
/// replies with the recorded profile and configuration (`adapters::transcript`).
fn replay_transcript(args: &ReplayArgs) -> Result<Outcome, String> {
    if args.target.is_some() || args.profile.is_some() || !args.rules.is_empty() {
        return Err(format!(
            "{} is a transcript: it replays its recorded target, profile and rules; drop --target, --profile and --rules",
            args.trace.display()
        ));
    }
    let reports = poolcheck::adapters::transcript::replay_transcript(&args.trace)
        .map_err(|e| e.to_string())?;
    println!(
        "replay of transcript {} ({} run(s)), offline",
        args.trace.display(),
        reports.len()
    );
    for run in &reports {
        if let Some(failure) = &run.failure {
            print!("{}", report::failure(run, failure));
        }
    }
    print!("{}", report::rule_table(&reports));
    for run in &reports {
        println!("{}", report::summary(run));
    }
    Ok(if reports.iter().all(|r| r.conforms()) {
        Outcome::Conforms
    } else {
        Outcome::Fails
    })
}

fn write_replay_trace(dir: &Path, source: &Path, trace: &Trace) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let stem = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into());
    let path = dir.join(format!("replay-{stem}.json"));
    std::fs::write(&path, trace.to_json())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
