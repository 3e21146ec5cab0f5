//! `poolcheck run`: check an implementation under one or more profiles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use poolcheck::adapters::{build_targets, process, transcript, AdapterOptions};
use poolcheck::harness::{self, Config, RuleFilter, RunReport};
use poolcheck::report::{self, Invocation};
use poolcheck::spec::Profile;

use super::{progress, Outcome};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The implementation: `reference`, `mutant:NAME`, `exec:'COMMAND ARGS'` (an adapter
    /// process speaking spec/adapter-protocol.md) or `transcript:FILE` (a recorded run).
    #[arg(long, default_value = "reference")]
    target: String,
    /// A built-in profile name or a profile file; repeat to check several. Default: the
    /// profile an `exec:` adapter or a transcript declares, else the reference profiles of
    /// both dialects.
    #[arg(long)]
    profile: Vec<String>,
    /// Seed of the generator (default: drawn at random and printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Operation sequences per profile.
    #[arg(long, default_value_t = 1000)]
    cases: u32,
    /// Longest operation sequence.
    #[arg(long, default_value_t = 32)]
    max_steps: usize,
    /// Stop generating cases per profile after this long (`90s`, `5m`, `1h`, `500ms`; a bare
    /// number is seconds). A failure found in time is still shrunk.
    #[arg(long, value_parser = parse_duration)]
    time_budget: Option<Duration>,
    /// Judge only these rules: ids or families, comma-separated (`ARG-001,CAP`). The others
    /// are reported as filtered out.
    #[arg(long, value_delimiter = ',')]
    rules: Vec<String>,
    /// Write the reports as JSON to this file (shape: spec/report-format.md).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to this file (one testcase per rule).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write a Markdown summary, fit for a pull-request comment, to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Where failure traces are written.
    #[arg(long, default_value = "poolcheck-failures")]
    trace_dir: PathBuf,
    /// Save every exchange with the implementation to this transcript (JSON lines), for
    /// `poolcheck replay FILE` or `--target transcript:FILE`.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Per-call timeout of an `exec:` adapter, in seconds (default 10).
    #[arg(long, value_parser = process::parse_timeout)]
    timeout: Option<Duration>,
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// Run every profile; `Err` for a usage or harness error.
pub fn run(args: &RunArgs) -> Result<Outcome, String> {
    let requested = args
        .profile
        .iter()
        .map(|name| Profile::load(name).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let unknown = RuleFilter::new(&args.rules).unknown();
    if !unknown.is_empty() {
        return Err(format!(
            "--rules names no rule or family of spec/: {} (`poolcheck rules` lists them)",
            unknown.join(", ")
        ));
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let config = Config {
        cases: args.cases,
        max_steps: args.max_steps,
        seed,
        time_budget: args.time_budget,
        rules: args.rules.clone(),
        ..Config::default()
    };
    let options = AdapterOptions {
        timeout: args.timeout.unwrap_or(process::DEFAULT_TIMEOUT),
        ..AdapterOptions::default()
    };
    let mut targets = build_targets(&args.target, &requested, &options)?;
    let mut recorder = match &args.record {
        Some(path) => Some(transcript::Recorder::create(path).map_err(|e| e.to_string())?),
        None => None,
    };
    println!(
        "poolcheck {} — spec {} — target {} — seed {seed} (replay with --seed {seed})",
        harness::SUITE_VERSION,
        poolcheck::spec::edition(),
        args.target
    );
    let mut reports: Vec<RunReport> = Vec::new();
    let mut invocation = Invocation::new(&args.target);
    for (arg, profile) in args.profile.iter().zip(&requested) {
        if *arg != profile.name {
            invocation
                .profile_args
                .insert(profile.name.clone(), arg.clone());
        }
    }
    for (profile, service) in targets.iter_mut() {
        let bar = progress::Bar::new(&profile.name, config.cases);
        let update = |p| bar.update(p);
        let report = match recorder.as_mut() {
            None => harness::check_with_progress(&mut **service, profile, &config, &update),
            Some(recorder) => {
                let mut recording = recorder
                    .record(&mut **service, &args.target, profile, &config)
                    .map_err(|e| e.to_string())?;
                let report =
                    harness::check_with_progress(&mut recording, profile, &config, &update);
                recording
                    .finish(report.as_ref())
                    .map_err(|e| e.to_string())?;
                report
            }
        };
        bar.finish();
        let report = report.map_err(|e| e.to_string())?;
        if let Some(failure) = &report.failure {
            let path = write_trace(&args.trace_dir, &report, failure, &args.target)?;
            print!("{}", report::failure(&report, failure));
            println!("  trace written to {}", path.display());
            println!("  {}", report::replay_command(&path));
            invocation.traces.insert(report.profile.clone(), path);
        }
        reports.push(report);
    }
    println!();
    print!("{}", report::rule_table(&reports));
    println!();
    for report in &reports {
        println!("{}", report::summary(report));
    }
    let outputs = [
        (&args.json, report::json(&reports)),
        (&args.junit, report::junit::junit(&reports, &invocation)),
        (
            &args.markdown,
            report::markdown::markdown(&reports, &invocation),
        ),
    ];
    for (path, text) in outputs {
        if let Some(path) = path {
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(if reports.iter().all(RunReport::conforms) {
        Outcome::Conforms
    } else {
        Outcome::Fails
    })
}

fn write_trace(
    dir: &Path,
    report: &RunReport,
    failure: &harness::Failure,
    target: &str,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!(
        "{}-seed{}-{}.json",
        report.profile, report.config.seed, failure.rule
    ));
    let mut trace = failure.trace.clone();
    trace.target_spec = Some(target.to_string());
    std::fs::write(&path, trace.to_json())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// `90s`, `5m`, `1h`, `500ms`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 5m, 1h or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}: use ms, s, m or h"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}
