//! Cost of one operation as the host grows. Three views, all under the CIM profile (its
//! service chooses PoolIDs, so a host can hold any number of pools):
//!
//! - **harness step at N pools**: the cost of one lockstep step (model, call, job polls,
//!   snapshot, invariants, state comparison) on a host the harness built with N creates, read
//!   from the instants of the calls of the last steps (N up to 100,000; each step is checked
//!   on the reference's change report, and the full snapshot that ends a sequence is not part
//!   of a step);
//! - **reference raw create+delete at N pools**: the implementation alone, with its default
//!   jobs, on a host built by direct calls (N up to 100,000), and one create followed by
//!   `changes()`;
//! - **reference snapshot at N pools**: what the harness asks for after every step.
//!
//! BENCHMARKS.md records the figures and the ratio between the smallest and largest host.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use poolcheck::harness::render::render;
use poolcheck::harness::{run_sequence, RuleStats};
use poolcheck::model::operation::*;
use poolcheck::model::step::{Allocation, StepKind};
use poolcheck::model::{Operation, Step};
use poolcheck::mutants::reference_config;
use poolcheck::reference::ReferenceService;
use poolcheck::spec::Profile;
use poolcheck::sut::{CallReply, MethodCall, ObjectPath, PoolService, ServiceError};

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROFILE: &str = "reference-cim";
const PROBES: usize = 8;

fn memory_child(parent: PoolSel) -> Operation {
    Operation::Create(CreateOp {
        resource: TypeSel(0),
        pool_id: IdSel::Named(0),
        element_name: Some(1),
        parents: vec![parent],
        allocations: vec![AllocSel {
            amount: Amount::Quarters(0),
            limit: LimitSel::Null,
            resources: ResSel::Subset(0),
            foreign_type: false,
        }],
        encoding: EncodingSel::CimXml,
        fault: Fault::None,
    })
}

/// N creates; each new pool's parent is one of the 24 newest memory pools, so the host is a
/// bushy tree of bounded fan-out rather than one long chain or one huge family.
fn host_of(n: usize) -> Vec<Operation> {
    (0..n)
        .map(|i| memory_child(PoolSel::Live(((i * 7) % 24) as u16)))
        .collect()
}

/// Create a pool and delete it again, `PROBES / 2` times: the host keeps its size.
fn probes() -> Vec<Operation> {
    (0..PROBES / 2)
        .flat_map(|_| {
            [
                memory_child(PoolSel::Live(3)),
                Operation::Delete(DeleteOp {
                    pool: PoolSel::Concrete(0),
                    fault: Fault::None,
                }),
            ]
        })
        .collect()
}

/// The reference, with the instant of every `invoke` and the end of every `snapshot`
/// recorded, so that the harness's cost for the last steps of a long sequence can be read off
/// without subtracting two long runs from each other.
struct Timed {
    inner: Box<dyn PoolService>,
    invokes: Vec<Instant>,
    snapshots_done: Vec<Instant>,
    changes_done: Vec<Instant>,
}

impl PoolService for Timed {
    fn describe(&self) -> poolcheck::sut::ServiceDescription {
        self.inner.describe()
    }
    fn reset(&mut self, fixture: &poolcheck::sut::HostFixture) -> Result<(), ServiceError> {
        self.invokes.clear();
        self.snapshots_done.clear();
        self.changes_done.clear();
        self.inner.reset(fixture)
    }
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.invokes.push(Instant::now());
        self.inner.invoke(call)
    }
    fn poll_job(&mut self, job: &ObjectPath) -> Result<poolcheck::sut::JobView, ServiceError> {
        self.inner.poll_job(job)
    }
    fn snapshot(&mut self) -> Result<poolcheck::sut::Snapshot, ServiceError> {
        let snapshot = self.inner.snapshot();
        self.snapshots_done.push(Instant::now());
        snapshot
    }
    fn changes(&mut self) -> Result<Option<poolcheck::sut::SnapshotDelta>, ServiceError> {
        let changes = self.inner.changes();
        self.changes_done.push(Instant::now());
        changes
    }
}

fn harness_step(c: &mut Criterion) {
    let profile = Profile::built_in(PROFILE);
    let mut service = Timed {
        inner: common::reference(&profile),
        invokes: Vec::new(),
        snapshots_done: Vec::new(),
        changes_done: Vec::new(),
    };
    let mut group = c.benchmark_group("harness step at N pools");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for n in [10usize, 100, 1000, 10_000, 100_000] {
        let mut whole = host_of(n);
        whole.extend(probes());
        let check =
            run_sequence(&mut service, &profile, &whole, &mut RuleStats::default()).expect("runs");
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
                    black_box(
                        run_sequence(&mut service, &profile, &whole, &mut RuleStats::default())
                            .expect("runs"),
                    );
                    // From the first probe's call to the change report after the last probe
                    // (the full snapshot that ends the sequence is not part of a step).
                    let first = service.invokes[n];
                    let last = *service.changes_done.last().expect("change reports");
                    probes_time += last.duration_since(first) / PROBES as u32;
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
