//! Shared set-up of the benches: fixed operation sequences drawn from the harness's own
//! strategy with a fixed seed, the reference implementation, and the recorded wire calls of a
//! sequence (for the raw rate with no harness). No timing logic lives here.
#![allow(dead_code)]

use poolcheck::harness::{run_sequence, run_sequence_verdict, strategy, RuleFilter, RuleStats};
use poolcheck::model::Operation;
use poolcheck::mutants;
use poolcheck::spec::Profile;
use poolcheck::sut::{CallReply, MethodCall, PoolService};
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
