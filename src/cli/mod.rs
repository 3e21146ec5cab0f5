//! The command line: one file per subcommand, argument parsing and exit codes only.
//!
//! Exit codes: 0 the implementation conforms; 1 a conformance failure; 2 a usage or harness
//! error. Everything a command prints comes from `poolcheck::report`.

mod mutants;
mod progress;
mod promote;
mod replay;
mod rules;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "poolcheck",
    version,
    about = "Conformance suite for resource-pool configuration services (Msvm_ and CIM_ResourcePoolConfigurationService)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an implementation against the specification.
    Run(run::RunArgs),
    /// List the rules of the specification with their sources.
    Rules,
    /// Re-run a trace file and compare it step by step with the recording.
    Replay(replay::ReplayArgs),
    /// Add a trace to spec/vectors/, where `cargo test` replays it against the reference.
    Promote(promote::PromoteArgs),
    /// Hunt every mutant of the zoo and print which rule caught it, how fast, how short.
    Mutants(mutants::MutantsArgs),
}

/// What a command concluded.
pub enum Outcome {
    Conforms,
    Fails,
}

/// Parse the command line, run the command, map its result to an exit code.
pub fn main() -> ExitCode {
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
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Rules => rules::rules(),
        Command::Replay(args) => replay::replay(&args),
        Command::Promote(args) => promote::promote(&args),
        Command::Mutants(args) => mutants::mutants(&args),
    };
    match result {
        Ok(Outcome::Conforms) => ExitCode::SUCCESS,
        Ok(Outcome::Fails) => ExitCode::from(1),
        Err(message) => {
            eprintln!("poolcheck: {message}");
            ExitCode::from(2)
        }
    }
}
