//! A diagnostic for BENCHMARKS.md's "Cost of one operation as the host grows": one sequence of
//! `N` creates (the scaling bench's host) and `STEPS` probe steps, run once, then the cost per
//! step of three windows of probes — the first 8 (what rounds 1–6 timed), the 8 after the
//! first 32 (where the bench's timed probes start) and everything after the first 32 — and,
//! for the last, how it splits between the implementation's own methods and the harness
//! around them.
//!
//! ```sh
//! cargo build --release --example scaling_probes
//! taskset -c 1 target/release/examples/scaling_probes 100000 2000 verdict   # pinned to one CPU
//! ```
//!
//! Usage: `scaling_probes N STEPS verdict|records` (`verdict`: `run_sequence_verdict`, what
//! `harness::check` runs per case; `records`: `run_sequence`, step records kept). STEPS is at
//! least 40. One run is one sample: on a virtual machine the same command can differ by half
//! from run to run (BENCHMARKS.md), so run it several times.

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Duration;

use poolcheck::spec::Profile;

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: scaling_probes N STEPS verdict|records (STEPS >= 40)");
        std::process::exit(2);
    };
    let [n, steps, kind] = args.as_slice() else {
        usage()
    };
    let (Ok(n), Ok(steps)) = (n.parse::<usize>(), steps.parse::<usize>()) else {
        usage()
    };
    let records = match kind.as_str() {
        "verdict" => false,
        "records" => true,
        _ => usage(),
    };
    if steps < 40 {
        usage()
    }
    let profile = Profile::built_in("reference-cim");
    let mut ops = common::host_of(n);
    ops.extend(common::probes(steps));
    let mut service = common::Timed::splitting(common::reference(&profile));
    let outcome = common::run_one(&mut service, &profile, &ops, records);
    assert!(outcome.failure.is_none(), "the probe sequence conforms");
    assert_eq!(service.invokes.len(), n + steps, "every step was a call");

    // Window [from, to) of probe steps, timed from call to call.
    let per_step = |from: usize, to: usize| -> (Duration, Duration) {
        let (a, b) = (n + from, n + to);
        let total = service.invokes[b] - service.invokes[a];
        let inside = service.inside_at_invokes[b] - service.inside_at_invokes[a];
        let len = (to - from) as u32;
        (total / len, inside / len)
    };
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let (first, _) = per_step(0, 8);
    let (bench, _) = per_step(32, 40);
    let (later, inside) = per_step(32, steps - 1);
    println!(
        "N={n} {kind}: first 8 probes {:.2} µs/step; probes 32..40 {:.2}; probes 32..{} {:.2} \
         µs/step (implementation {:.2}, harness {:.2})",
        micros(first),
        micros(bench),
        steps - 1,
        micros(later),
        micros(inside),
        micros(later - inside),
    );
}
