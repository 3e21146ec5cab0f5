//! `poolcheck run`: check an implementation under one or more profiles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use poolcheck::adapters::{build_targets, process, transcript, AdapterOptions};
use poolcheck::harness::{self, Config, RunReport};
use poolcheck::report;
use poolcheck::spec::Profile;

use super::Outcome;

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
    /// Write the reports as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
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
    let seed = args.seed.unwrap_or_else(random_seed);
    let config = Config {
        cases: args.cases,
        max_steps: args.max_steps,
        seed,
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
    for (profile, service) in targets.iter_mut() {
        let report = match recorder.as_mut() {
            None => harness::check(&mut **service, profile, &config),
            Some(recorder) => {
                let mut recording = recorder
                    .record(&mut **service, &args.target, profile, &config)
                    .map_err(|e| e.to_string())?;
                let report = harness::check(&mut recording, profile, &config);
                recording.finish().map_err(|e| e.to_string())?;
                report
            }
        }
        .map_err(|e| e.to_string())?;
        if let Some(failure) = &report.failure {
            let path = write_trace(&args.trace_dir, &report, failure)?;
            print!("{}", report::failure(&report, failure));
            println!("  trace written to {}", path.display());
        }
        reports.push(report);
    }
    println!();
    print!("{}", report::rule_table(&reports));
    println!();
    for report in &reports {
        println!("{}", report::summary(report));
    }
    if let Some(path) = &args.json {
        std::fs::write(path, report::json(&reports))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
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
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!(
        "{}-seed{}-{}.json",
        report.profile, report.config.seed, failure.rule
    ));
    std::fs::write(&path, failure.trace.to_json())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
