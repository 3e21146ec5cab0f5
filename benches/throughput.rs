//! Throughput: the model alone, the reference implementation alone (raw, no harness), the
//! lockstep harness on the same sequences, whole `harness::check` runs, and — for comparison,
//! in the same run — the same model and reference driven by a plain proptest-state-machine
//! harness. BENCHMARKS.md records the figures and the ratios.

#[path = "common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use poolcheck::harness::render::render;
use poolcheck::harness::trace::Observed;
use poolcheck::harness::{self, run_sequence, strategy, Config, RuleStats};
use poolcheck::model::observed::ObservedHost;
use poolcheck::model::state::normalize;
use poolcheck::model::{invariants, HostModel, Operation};
use poolcheck::spec::codes::{tables, Meaning};
use poolcheck::spec::Profile;
use poolcheck::sut::{CallReply, ObjectPath, PoolService, Snapshot};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROFILE: &str = "reference-msvm";
const SEQUENCES: usize = 64;
const CASES: u32 = 100;

fn snapshot(service: &mut dyn PoolService) -> Snapshot {
    let mut snapshot = service.snapshot().expect("the reference snapshots");
    normalize(&mut snapshot.pools);
    snapshot
}

/// One step as the model sees it: the operation, whether the implementation completed it,
/// and the host after it.
struct ModelStep {
    op: Operation,
    completed: bool,
    /// The host after the step, as the harness's mirror holds it, and the pools it touched.
    after: ObservedHost,
    touched: BTreeSet<ObjectPath>,
}

/// For each sequence: the first snapshot and every step with the host after it, recorded
/// from the reference so that the model can be timed alone.
fn model_inputs(
    profile: &Profile,
    sequences: &[Vec<Operation>],
) -> Vec<(Snapshot, Vec<ModelStep>)> {
    sequences
        .iter()
        .map(|ops| {
            let mut service = common::reference(profile);
            let outcome =
                run_sequence(&mut *service, profile, ops, &mut RuleStats::default()).expect("runs");
            service.reset(&profile.fixture()).expect("resets");
            let first = snapshot(&mut *service);
            let mut mirror = ObservedHost::from_snapshot(first.clone());
            let mut steps = Vec::new();
            for record in outcome.steps {
                if let Some(call) = &record.call {
                    let reply = service.invoke(call);
                    if let Ok(CallReply::Return(ret)) = reply {
                        if let Some(job) = ret.out_reference("Job") {
                            let job = job.clone();
                            for _ in 0..record.polls.len() {
                                let _ = service.poll_job(&job);
                            }
                        }
                    }
                }
                let touched = mirror.replace(snapshot(&mut *service)).touched;
                steps.push(ModelStep {
                    op: record.operation,
                    completed: matches!(record.observed, Observed::Completed { .. }),
                    after: mirror.clone(),
                    touched,
                });
            }
            (first, steps)
        })
        .collect()
}

fn throughput(c: &mut Criterion) {
    let profile = Profile::built_in(PROFILE);
    let sequences = common::sequences(&profile, SEQUENCES, 32, 7);
    let recorded: Vec<Vec<common::Recorded>> = sequences
        .iter()
        .map(|ops| common::recorded_calls(&profile, ops))
        .collect();
    let calls: u64 = recorded.iter().map(|r| r.len() as u64).sum();
    let inputs = model_inputs(&profile, &sequences);
    let model_steps: u64 = inputs.iter().map(|(_, s)| s.len() as u64).sum();

    let mut group = c.benchmark_group("per-operation");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));

    group.throughput(Throughput::Elements(model_steps));
    group.bench_function("model step (resolve, expect, commit)", |b| {
        b.iter(|| {
            for (first, steps) in &inputs {
                let mut model = HostModel::start(&profile, first).expect("starts");
                for step in steps {
                    let Some(resolved) = model.resolve(&step.op) else {
                        continue;
                    };
                    let expectation = model.expect(&resolved, &profile);
                    if step.completed && expectation.accepts() {
                        black_box(model.commit(
                            &resolved,
                            &expectation,
                            &step.after,
                            &step.touched,
                        ));
                    }
                }
                black_box(&model);
            }
        })
    });

    group.throughput(Throughput::Elements(calls));
    let mut service = common::reference(&profile);
    group.bench_function("reference raw (invoke and polls, no harness)", |b| {
        b.iter(|| {
            for calls in &recorded {
                black_box(common::replay_raw(&mut *service, &profile, calls));
            }
        })
    });
    group.bench_function("reference raw plus one snapshot per call", |b| {
        b.iter(|| {
            for calls in &recorded {
                service.reset(&profile.fixture()).expect("resets");
                for one in calls {
                    common::replay_raw_one(&mut *service, one);
                    black_box(service.snapshot().expect("snapshots"));
                }
            }
        })
    });
    group.bench_function("reference raw plus one changes() per call", |b| {
        b.iter(|| {
            for calls in &recorded {
                service.reset(&profile.fixture()).expect("resets");
                black_box(service.changes().expect("reports"));
                for one in calls {
                    common::replay_raw_one(&mut *service, one);
                    black_box(service.changes().expect("reports"));
                }
            }
        })
    });
    group.bench_function("harness lockstep (same sequences)", |b| {
        b.iter(|| {
            for ops in &sequences {
                let outcome = run_sequence(&mut *service, &profile, ops, &mut RuleStats::default())
                    .expect("runs");
                black_box(outcome.failure);
            }
        })
    });
    // What `harness::check` runs per case: the same steps and checks, no step records kept.
    group.bench_function(
        "harness lockstep, verdict only (as harness::check runs it)",
        |b| b.iter(|| black_box(common::verdict_pass(&mut *service, &profile, &sequences))),
    );
    group.finish();

    let mut group = c.benchmark_group("cases");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(u64::from(CASES)));
    group.bench_function("harness::check against the reference", |b| {
        b.iter(|| {
            let report = harness::check(
                &mut *service,
                &profile,
                &Config {
                    cases: CASES,
                    seed: 5,
                    ..Config::default()
                },
            )
            .expect("runs");
            assert!(report.conforms());
            black_box(report.steps_run)
        })
    });
    group.bench_function(
        "plain proptest-state-machine, same model and reference",
        |b| {
            b.iter_batched(
                || (),
                |()| run_plain_state_machine(CASES, 5),
                BatchSize::PerIteration,
            )
        },
    );
    group.finish();
}

thread_local! {
    static OPERATIONS: RefCell<Option<BoxedStrategy<Operation>>> = const { RefCell::new(None) };
}

fn bench_profile() -> Profile {
    Profile::built_in(PROFILE)
}

/// The reference state machine of the plain harness. The model needs the implementation's
/// choices (paths, shared splits) to follow a success, so it cannot run ahead of the system
/// under test as proptest-state-machine's reference state does: the state here counts steps,
/// and the model lives beside the implementation in [`PlainLockstep`].
struct PlainReference;

impl ReferenceStateMachine for PlainReference {
    type State = usize;
    type Transition = Operation;

    fn init_state() -> BoxedStrategy<usize> {
        Just(0usize).boxed()
    }

    fn transitions(_: &usize) -> BoxedStrategy<Operation> {
        OPERATIONS.with(|cell| {
            cell.borrow_mut()
                .get_or_insert_with(|| strategy::operation(&bench_profile()))
                .clone()
        })
    }

    fn apply(state: usize, _: &Operation) -> usize {
        state + 1
    }
}

/// The system under test of the plain harness: the reference implementation and the model,
/// stepped together with the same checks as the harness's lockstep minus reply-code judging
/// and rule bookkeeping.
struct PlainLockstep {
    profile: Profile,
    service: Box<dyn PoolService>,
    model: HostModel,
}

struct PlainTest;

impl StateMachineTest for PlainTest {
    type SystemUnderTest = PlainLockstep;
    type Reference = PlainReference;

    fn init_test(_: &usize) -> PlainLockstep {
        let profile = bench_profile();
        let mut service = common::reference(&profile);
        let first = snapshot(&mut *service);
        let model = HostModel::start(&profile, &first).expect("starts");
        PlainLockstep {
            profile,
            service,
            model,
        }
    }

    fn apply(mut sut: PlainLockstep, _: &usize, op: Operation) -> PlainLockstep {
        let Some(step) = sut.model.resolve(&op) else {
            return sut;
        };
        if !sut.profile.supports(step.method) {
            return sut;
        }
        let expectation = sut.model.expect(&step, &sut.profile);
        let call = render(&step, sut.model.dialect);
        let completed = match sut.service.invoke(&call) {
            Ok(CallReply::Return(ret)) => match tables().meaning(step.method, ret.return_value) {
                Some(Meaning::Completed) => true,
                Some(Meaning::JobStarted) => {
                    let job = ret.out_reference("Job").expect("a job").clone();
                    let mut success = false;
                    for _ in 0..64 {
                        let view = sut.service.poll_job(&job).expect("polls");
                        if tables().job_state_terminal(view.job_state) {
                            success = tables().job_state_success(view.job_state);
                            break;
                        }
                    }
                    success
                }
                _ => false,
            },
            _ => false,
        };
        assert_eq!(completed, expectation.accepts(), "{step:?}");
        let after = snapshot(&mut *sut.service);
        assert!(invariants::check(&sut.profile, &after).is_empty());
        if completed {
            let observed = ObservedHost::from_snapshot(after.clone());
            let every: BTreeSet<ObjectPath> = after.pools.iter().map(|p| p.path.clone()).collect();
            assert!(sut
                .model
                .commit(&step, &expectation, &observed, &every)
                .is_empty());
        }
        assert_eq!(sut.model.expected_snapshot(), after);
        sut
    }
}

/// `cases` cases of at most 32 steps through proptest-state-machine's sequential strategy.
fn run_plain_state_machine(cases: u32, seed: u8) {
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config.clone(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    runner
        .run(
            &PlainReference::sequential_strategy(1..=32),
            |(initial, transitions, seen)| {
                PlainTest::test_sequential(config.clone(), initial, transitions, seen);
                Ok(())
            },
        )
        .expect("the reference passes the plain harness");
}

criterion_group!(benches, throughput);
criterion_main!(benches);
