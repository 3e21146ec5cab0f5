//! Time to first failure per mutant: the harness with default settings against every zoo
//! mutant in every dialect it is observable in. Criterion times the whole `check` (finding,
//! shrinking, re-running the shrunk case); the time to the *first* failure, which the harness
//! measures itself, is collected on the way and printed as a table with its median at the end.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use poolcheck::harness::Config;
use poolcheck::mutants::hunt::{hunt, profile_name};
use poolcheck::mutants::ZOO;

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn zoo(c: &mut Criterion) {
    let mut group = c.benchmark_group("zoo: default check until a shrunk failure");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    let mut firsts: Vec<(String, Vec<Duration>, u32, usize)> = Vec::new();
    for mutant in ZOO {
        for dialect in mutant.dialects {
            let profile = profile_name(*dialect);
            let seen: RefCell<Vec<Duration>> = RefCell::new(Vec::new());
            let mut cases = 0;
            let mut shrunk = 0;
            let id = format!("{}/{}", mutant.defect.name(), profile);
            group.bench_function(&id, |b| {
                b.iter(|| {
                    let hunted = hunt(mutant, profile, &Config::default());
                    let catch = hunted.catch().expect("every zoo mutant is caught");
                    seen.borrow_mut().push(catch.time_to_failure);
                    cases = catch.cases_until_failure;
                    shrunk = catch.shrunk_steps;
                    black_box(hunted)
                })
            });
            firsts.push((id, seen.into_inner(), cases, shrunk));
        }
    }
    group.finish();
    let mut medians: Vec<Duration> = Vec::new();
    eprintln!("\ntime to first failure (median over every run criterion made):");
    eprintln!(
        "{:<58} {:>12} {:>6} {:>6}",
        "mutant/profile", "median", "cases", "shrunk"
    );
    for (id, mut times, cases, shrunk) in firsts {
        times.sort();
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        medians.push(median);
        eprintln!(
            "{id:<58} {:>9.3} ms {cases:>6} {shrunk:>6}",
            median.as_secs_f64() * 1000.0
        );
    }
    medians.sort();
    let overall = medians.get(medians.len() / 2).copied().unwrap_or_default();
    let worst = medians.last().copied().unwrap_or_default();
    eprintln!(
        "median of the medians: {:.3} ms; slowest: {:.3} ms",
        overall.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    );
}

criterion_group!(benches, zoo);
criterion_main!(benches);
