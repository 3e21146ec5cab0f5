//! The `poolcheck` command: argument parsing and exit codes over the library.
//!
//! Exit codes: 0 the implementation conforms; 1 a conformance failure; 2 a usage or harness
//! error. A failure's trace is written to disk before the process exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use poolcheck::harness::{self, Config, RunReport};
use poolcheck::spec::Profile;
use poolcheck::{mutants, report};

#[derive(Parser)]
#[command(
    name = "poolcheck",
    version,
    about = "Conformance suite for resource-pool configuration services"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an implementation against the specification.
    Run(RunArgs),
    /// List the rules of the specification with their sources.
    Rules,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The implementation: `reference` or `mutant:NAME`.
    #[arg(long, default_value = "reference")]
    target: String,
    /// A built-in profile name or a profile file; repeat to check several. Default: the
    /// reference profiles of both dialects.
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
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Rules => {
            print!("{}", report::rules_text());
            ExitCode::SUCCESS
        }
        Command::Run(args) => match run(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(message) => {
                eprintln!("poolcheck: {message}");
                ExitCode::from(2)
            }
        },
    }
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// Run every profile; `Ok(conforms)`, or `Err` for a usage or harness error.
fn run(args: &RunArgs) -> Result<bool, String> {
    let profile_names: Vec<String> = if args.profile.is_empty() {
        vec!["reference-msvm".into(), "reference-cim".into()]
    } else {
        args.profile.clone()
    };
    let profiles = profile_names
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
    println!(
        "poolcheck {} — spec {} — target {} — seed {seed} (replay with --seed {seed})",
        harness::SUITE_VERSION,
        poolcheck::spec::edition(),
        args.target
    );
    let mut reports: Vec<RunReport> = Vec::new();
    for profile in &profiles {
        let mut service = mutants::build(&args.target, profile)?;
        let report = harness::check(&mut *service, profile, &config).map_err(|e| e.to_string())?;
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
    Ok(reports.iter().all(RunReport::conforms))
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
