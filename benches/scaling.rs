//! Cost of one operation as the host grows. Three views, all under the CIM profile (its
//! service chooses PoolIDs, so a host can hold any number of pools):
//!
//! - **harness step at N pools**: the cost of one lockstep step (model, call, job polls,
//!   snapshot, invariants, state comparison) on a host the harness built with N creates, read
//!   from the instants of the calls of 32 create/delete probe steps after 32 untimed ones (N
//!   up to 100,000; each step is checked on the reference's change report, and the full
//!   snapshot that ends a sequence is not part of a step). Three groups: with step records
//!   kept (`run_sequence`), verdict only (`run_sequence_verdict`, what `harness::check` runs
//!   for every case), and the first 8 probes with records, as BENCHMARKS.md's rounds 1–6
//!   timed them;
//! - **reference raw create+delete at N pools**: the implementation alone, with its default
//!   jobs, on a host built by direct calls (N up to 100,000), and one create followed by
//!   `changes()`;
//! - **reference snapshot at N pools**: what the harness asks for after every step.
//!
//! BENCHMARKS.md records the figures and the ratio between the smallest and largest host.

#[path = "common/mod.rs"]
mod common;

use common::{host_of, probes, run_one, Timed};

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use poolcheck::harness::render::render;
use poolcheck::model::operation::EncodingSel;
use poolcheck::model::step::{Allocation, StepKind};
use poolcheck::model::Step;
use poolcheck::mutants::reference_config;
use poolcheck::reference::ReferenceService;
use poolcheck::spec::Profile;
use poolcheck::sut::{CallReply, MethodCall, ObjectPath, PoolService};

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROFILE: &str = "reference-cim";
/// Probe steps (created and deleted in turn) after the host is built; the host keeps its size.
const PROBES: usize = 64;
/// The probes timed by default: the last 32. Right after N creates, the delete path's code,
/// branch history and data have not been used for N steps, so at 100,000 pools the first
/// probes pay for that (about half as much again as later ones) while at 10 pools they do not.
/// Timing the probes after a warm-up of 32 compares the step at every N with its code equally
/// warm. [`FIRST_PROBES`] keeps the first 8 as rounds 1–6 of BENCHMARKS.md timed them.
const WARM_PROBES: std::ops::Range<usize> = 32..PROBES;
const FIRST_PROBES: std::ops::Range<usize> = 0..8;

fn harness_step(c: &mut Criterion) {
    let all = [10usize, 100, 1000, 10_000, 100_000];
    harness_step_in(c, "harness step at N pools", true, WARM_PROBES, &all);
    harness_step_in(
        c,
        "harness step at N pools, verdict only",
        false,
        WARM_PROBES,
        &all,
    );
    harness_step_in(
        c,
        "harness step at N pools, first probes",
        true,
        FIRST_PROBES,
        &[10, 100_000],
    );
}

/// The harness's cost per step for the probes in `timed` (indices into the `PROBES` probe
/// steps), on hosts of each size in `sizes`.
fn harness_step_in(
    c: &mut Criterion,
    group_name: &str,
    records: bool,
    timed: std::ops::Range<usize>,
    sizes: &[usize],
) {
    let profile = Profile::built_in(PROFILE);
    let mut service = Timed::new(common::reference(&profile));
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for &n in sizes {
        let mut whole = host_of(n);
        whole.extend(probes(PROBES));
        let check = run_one(&mut service, &profile, &whole, records);
        assert!(check.failure.is_none(), "the probe sequence conforms");
        assert_eq!(service.invokes.len(), n + PROBES, "every step was a call");
        assert_eq!(
            service.snapshots_done.len(),
            2,
            "checked on change reports: a full snapshot after reset and at the end only"
        );
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut probes_time = Duration::ZERO;
                for _ in 0..iters {
                    black_box(run_one(&mut service, &profile, &whole, records));
                    // From the call of the first timed probe to the call of the probe after
                    // the last one, or, after the last probe, to its change report (the full
                    // snapshot that ends the sequence is not part of a step).
                    let first = service.invokes[n + timed.start];
                    let last = match service.invokes.get(n + timed.end) {
                        Some(next) => *next,
                        None => *service.changes_done.last().expect("change reports"),
                    };
                    probes_time += last.duration_since(first) / timed.len() as u32;
                }
                probes_time
            })
        });
    }
    group.finish();
}

/// A CreateChildResourcePool call: a memory child of `parent`, reserving nothing.
fn create_call(parent: &ObjectPath) -> MethodCall {
    let step = Step {
        method: poolcheck::sut::Method::CreateChildResourcePool,
        kind: StepKind::Create {
            new_type: poolcheck::model::step::TypeRef {
                resource_type: 4,
                resource_subtype: "Microsoft:Hyper-V:Memory".into(),
            },
            settings: None,
            element_name: Some("Pool".into()),
            parents: Some(vec![parent.clone()]),
            allocations: vec![Allocation {
                resource_type: Some(4),
                resource_subtype: "Microsoft:Hyper-V:Memory".into(),
                pool_id: String::new(),
                reservation: Some(0),
                limit: None,
                host_resources: vec![],
            }],
        },
        encoding: EncodingSel::CimXml,
        param_fault: None,
        instance_fault: None,
    };
    render(&step, poolcheck::sut::Dialect::Cim)
}

fn delete_call(pool: &ObjectPath) -> MethodCall {
    render(
        &Step {
            method: poolcheck::sut::Method::DeleteResourcePool,
            kind: StepKind::Delete { pool: pool.clone() },
            encoding: EncodingSel::CimXml,
            param_fault: None,
            instance_fault: None,
        },
        poolcheck::sut::Dialect::Cim,
    )
}

/// Invoke a call and poll its job to the end; the new pool of a create, if any.
fn invoke(service: &mut dyn PoolService, call: &MethodCall) -> Option<ObjectPath> {
    match service.invoke(call).expect("answers") {
        CallReply::Return(ret) => {
            if let Some(pool) = ret.out_reference("Pool") {
                return Some(pool.clone());
            }
            let job = ret.out_reference("Job")?.clone();
            for _ in 0..8 {
                let view = service.poll_job(&job).expect("polls");
                if view.job_state >= 7 {
                    return view.affected_elements.first().cloned();
                }
            }
            None
        }
        CallReply::CimError(_) => None,
    }
}

fn reference_raw(c: &mut Criterion) {
    let profile = Profile::built_in(PROFILE);
    let mut group = c.benchmark_group("reference at N pools");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for n in [10usize, 100, 1000, 10_000, 100_000] {
        // The profile's own configuration: creates run as jobs (found by path, kept after
        // they finish), deletes are synchronous.
        let mut service = ReferenceService::new(reference_config(&profile));
        service.reset(&profile.fixture()).expect("resets");
        let primordial = service
            .snapshot()
            .expect("snapshots")
            .pools
            .iter()
            .find(|p| p.primordial && p.resource_type == 4)
            .expect("a memory primordial pool")
            .path
            .clone();
        let create = create_call(&primordial);
        for _ in 0..n {
            invoke(&mut service, &create).expect("a pool is created");
        }
        assert!(service.snapshot().expect("snapshots").pools.len() >= n);
        group.bench_with_input(BenchmarkId::new("raw create+delete pair", n), &n, |b, _| {
            b.iter(|| {
                let pool = invoke(&mut service, &create).expect("created");
                black_box(invoke(&mut service, &delete_call(&pool)));
            })
        });
        // What a harness that reads changes instead of snapshots pays on top of the call: one
        // create and the `changes()` after it (the new pool and its parent). The delete that
        // keeps the host's size, and its own `changes()`, are not timed.
        group.bench_with_input(BenchmarkId::new("create + changes()", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let pool = invoke(&mut service, &create).expect("created");
                    let delta = service.changes().expect("answers").expect("tracked");
                    timed += start.elapsed();
                    assert_eq!(delta.changed.len(), 2, "the new pool and its parent");
                    black_box(invoke(&mut service, &delete_call(&pool)));
                    black_box(service.changes().expect("answers"));
                }
                timed
            })
        });
        if n <= 1000 {
            group.bench_with_input(BenchmarkId::new("snapshot", n), &n, |b, _| {
                b.iter(|| black_box(service.snapshot().expect("snapshots")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, harness_step, reference_raw);
criterion_main!(benches);
