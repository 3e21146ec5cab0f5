//! The driver behind BENCHMARKS.md's instruction counts for the harness overhead (section
//! "Throughput, harness overhead, ..."): the throughput bench's 64 recorded sequences, run `N`
//! times either raw (the recorded calls and job polls, no harness) or in lockstep
//! (`run_sequence`, or `run_sequence_verdict`), and nothing else, so that `valgrind --tool=callgrind` can count the
//! instructions of one pass as the difference between two runs (N = 6 and N = 1, divided by
//! 5: start-up, recording the sequences and the allocator's warm-up cancel).
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-harness cargo build --release --example throughput_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/lockstep.%p \
//!     target/release/examples/throughput_instructions lockstep 6
//! ```
//!
//! Usage: `throughput_instructions raw|lockstep|verdict N` (`verdict`: `run_sequence_verdict`,
//! what `harness::check` runs per case: the same steps, no step records kept).

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;

use poolcheck::harness::{run_sequence, RuleStats};
use poolcheck::spec::Profile;

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, n] = args.as_slice() else {
        eprintln!("usage: throughput_instructions raw|lockstep|verdict N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    let profile = Profile::built_in("reference-msvm");
    let sequences = common::sequences(&profile, 64, 32, 7);
    let recorded: Vec<Vec<common::Recorded>> = sequences
        .iter()
        .map(|ops| common::recorded_calls(&profile, ops))
        .collect();
    let mut service = common::reference(&profile);
    let mut sink = 0usize;
    for _ in 0..n {
        match kind.as_str() {
            "raw" => {
                for calls in &recorded {
                    sink += common::replay_raw(&mut *service, &profile, calls);
                }
            }
            "lockstep" => {
                for ops in &sequences {
                    let outcome =
                        run_sequence(&mut *service, &profile, ops, &mut RuleStats::default())
                            .expect("runs");
                    sink += outcome.steps.len();
                    black_box(outcome.failure);
                }
            }
            "verdict" => {
                sink += common::verdict_pass(&mut *service, &profile, &sequences);
            }
            _ => {
                eprintln!("kind is raw, lockstep or verdict");
                std::process::exit(2);
            }
        }
    }
    black_box(sink);
}
