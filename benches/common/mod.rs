//! Shared set-up of the benches: fixed operation sequences drawn from the harness's own
//! strategy with a fixed seed, the reference implementation, and the recorded wire calls of a
//! sequence (for the raw rate with no harness), and the scaling bench's host and probe steps
//! with an implementation that notes when it was called (`Timed`). No measurement lives here.
#![allow(dead_code)]

use poolcheck::harness::{
    run_sequence, run_sequence_verdict, strategy, RuleFilter, RuleStats, SequenceOutcome,
};
use std::time::{Duration, Instant};

use poolcheck::model::operation::{
    AllocSel, Amount, CreateOp, DeleteOp, EncodingSel, Fault, IdSel, LimitSel, PoolSel, ResSel,
    TypeSel,
};
use poolcheck::model::Operation;
use poolcheck::mutants;
use poolcheck::spec::Profile;
use poolcheck::sut::{
    CallReply, HostFixture, JobView, MethodCall, ObjectPath, PoolService, ServiceDescription,
    ServiceError, Snapshot, SnapshotDelta,
};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// `n` operation sequences of at most `max_steps` steps, as the harness would generate them
/// for `profile`; the same seed gives the same sequences.
pub fn sequences(profile: &Profile, n: usize, max_steps: usize, seed: u8) -> Vec<Vec<Operation>> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    let strategy = strategy::sequence(profile, max_steps);
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the strategy generates")
                .current()
        })
        .collect()
}

/// The conforming reference implementation for `profile`.
pub fn reference(profile: &Profile) -> Box<dyn PoolService> {
    mutants::build("reference", profile).expect("the reference builds")
}

/// One recorded wire call and how many job polls it took.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub call: MethodCall,
    pub polls: usize,
}

/// The calls the harness sent for `ops` (run once against the reference), in order.
pub fn recorded_calls(profile: &Profile, ops: &[Operation]) -> Vec<Recorded> {
    let mut service = reference(profile);
    let outcome = run_sequence(&mut *service, profile, ops, &mut RuleStats::default())
        .expect("the harness runs");
    outcome
        .steps
        .into_iter()
        .filter_map(|s| {
            s.call.map(|call| Recorded {
                call,
                polls: s.polls.len(),
            })
        })
        .collect()
}

/// Replay recorded calls against `service` with no harness: reset, invoke, poll jobs as often
/// as the harness did. Returns the number of calls made (to keep the work observable).
pub fn replay_raw(service: &mut dyn PoolService, profile: &Profile, calls: &[Recorded]) -> usize {
    service
        .reset(&profile.fixture())
        .expect("the reference resets");
    calls.iter().map(|one| replay_raw_one(service, one)).sum()
}

/// One recorded call and its job polls; returns the number of calls made.
pub fn replay_raw_one(service: &mut dyn PoolService, recorded: &Recorded) -> usize {
    let mut made = 1;
    if let Ok(CallReply::Return(ret)) = service.invoke(&recorded.call) {
        if let Some(job) = ret.out_reference("Job") {
            let job = job.clone();
            for _ in 0..recorded.polls {
                let _ = service.poll_job(&job);
                made += 1;
            }
        }
    }
    made
}

/// Run every sequence as `harness::check` runs a case (`run_sequence_verdict`, no step
/// records). Returns how many sequences failed (to keep the work observable).
pub fn verdict_pass(
    service: &mut dyn PoolService,
    profile: &Profile,
    sequences: &[Vec<Operation>],
) -> usize {
    sequences
        .iter()
        .filter(|ops| {
            run_sequence_verdict(
                service,
                profile,
                ops,
                &mut RuleStats::default(),
                &RuleFilter::all(),
            )
            .expect("runs")
            .failure
            .is_some()
        })
        .count()
}

/// One sequence, with every step's record kept (`run_sequence`, what a failure's report and
/// trace are built from) or dropped once the step is judged (`run_sequence_verdict`, what
/// `harness::check` runs for every case and minimisation candidate).
pub fn run_one(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    records: bool,
) -> SequenceOutcome {
    let stats = &mut RuleStats::default();
    if records {
        run_sequence(service, profile, ops, stats).expect("runs")
    } else {
        run_sequence_verdict(service, profile, ops, stats, &RuleFilter::all()).expect("runs")
    }
}

/// A CIM memory pool created under `parent`, reserving nothing: the step the scaling bench
/// grows a host with.
pub fn memory_child(parent: PoolSel) -> Operation {
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
pub fn host_of(n: usize) -> Vec<Operation> {
    (0..n)
        .map(|i| memory_child(PoolSel::Live(((i * 7) % 24) as u16)))
        .collect()
}

/// `steps` probe steps: a pool created under a recent one and deleted again, in turn, so the
/// host keeps its size.
pub fn probes(steps: usize) -> Vec<Operation> {
    (0..steps)
        .map(|i| {
            if i % 2 == 0 {
                memory_child(PoolSel::Live(3))
            } else {
                Operation::Delete(DeleteOp {
                    pool: PoolSel::Concrete(0),
                    fault: Fault::None,
                })
            }
        })
        .collect()
}

/// An implementation with the instant of every `invoke` and the end of every `snapshot` and
/// `changes` recorded, so that the harness's cost for chosen steps of a long sequence can be
/// read off without subtracting two long runs from each other. [`Timed::splitting`] also adds
/// up the time spent in the implementation's own methods (after reset), to split a step's cost
/// between the implementation and the harness; that costs two more clock reads per call, so
/// the benches do not ask for it.
pub struct Timed {
    pub inner: Box<dyn PoolService>,
    pub invokes: Vec<Instant>,
    pub snapshots_done: Vec<Instant>,
    pub changes_done: Vec<Instant>,
    /// Time spent inside the implementation's methods (only when splitting).
    pub inside: Duration,
    /// `inside` as it was at each `invoke` (only when splitting).
    pub inside_at_invokes: Vec<Duration>,
    split: bool,
}

impl Timed {
    pub fn new(inner: Box<dyn PoolService>) -> Timed {
        Timed {
            inner,
            invokes: Vec::new(),
            snapshots_done: Vec::new(),
            changes_done: Vec::new(),
            inside: Duration::ZERO,
            inside_at_invokes: Vec::new(),
            split: false,
        }
    }

    /// [`Timed::new`], also adding up the time spent inside the implementation.
    pub fn splitting(inner: Box<dyn PoolService>) -> Timed {
        Timed {
            split: true,
            ..Timed::new(inner)
        }
    }

    /// Call the implementation; the instant it returned.
    fn timed<T>(&mut self, call: impl FnOnce(&mut dyn PoolService) -> T) -> (T, Instant) {
        if !self.split {
            let result = call(self.inner.as_mut());
            return (result, Instant::now());
        }
        let start = Instant::now();
        let result = call(self.inner.as_mut());
        let end = Instant::now();
        self.inside += end - start;
        (result, end)
    }
}

impl PoolService for Timed {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.invokes.clear();
        self.snapshots_done.clear();
        self.changes_done.clear();
        self.inside = Duration::ZERO;
        self.inside_at_invokes.clear();
        self.inner.reset(fixture)
    }
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.invokes.push(Instant::now());
        if !self.split {
            return self.inner.invoke(call);
        }
        self.inside_at_invokes.push(self.inside);
        self.timed(|inner| inner.invoke(call)).0
    }
    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        if !self.split {
            return self.inner.poll_job(job);
        }
        self.timed(|inner| inner.poll_job(job)).0
    }
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        let (snapshot, end) = self.timed(|inner| inner.snapshot());
        self.snapshots_done.push(end);
        snapshot
    }
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        let (changes, end) = self.timed(|inner| inner.changes());
        self.changes_done.push(end);
        changes
    }
}
