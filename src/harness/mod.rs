//! The conformance harness: stateful property testing of any [`PoolService`] against the model.
//!
//! [`check`] generates operation sequences with proptest ([`strategy`]), runs each in lockstep
//! against the model and the implementation ([`runner`]), checks every invariant after every
//! step, shrinks the first failure to a minimal sequence that violates the *same* rule, and
//! returns a [`RunReport`] with a verdict per rule. [`replay`] re-runs a fixed sequence and
//! returns its [`Trace`].
//!
//! The harness refuses to know how results look (that is `report`) and which implementation
//! it is talking to beyond the trait; it never reads the reference implementation's state.

pub mod equivalence;
mod error_output;
pub mod fuzz;
mod placement;
pub mod render;
pub mod runner;
pub mod scope;
pub mod shorter;
pub mod stats;
pub mod strategy;
pub mod trace;

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use serde::{Deserialize, Serialize};

pub use runner::{
    run_sequence, run_sequence_scoped, run_sequence_verdict, HarnessError, SequenceOutcome,
};
pub use scope::{RuleFilter, Tolerance};
pub use stats::{Entry as RuleEntry, RuleCounts, RuleStats, RuleTable};
pub use trace::{Trace, TraceVerdict};

use crate::model::Operation;
use crate::spec::profile::{ExpectedFailure, MethodMode, Profile};
use crate::spec::{rules, RuleId};
use crate::sut::{Dialect, Method, PoolService, ResourceKind, ServiceDescription};

/// The suite's version, recorded in every report and trace.
pub const SUITE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a run is configured. Same configuration, same seed, same implementation: same run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Operation sequences to generate.
    pub cases: u32,
    /// Longest sequence.
    pub max_steps: usize,
    /// The seed of the generator; printed with every failure.
    pub seed: u64,
    /// Upper bound on shrinking steps.
    pub max_shrink_iters: u32,
    /// How many times a shrunk failure is re-run to tell deterministic from flaky.
    pub reruns: u32,
    /// Generate no new case once this much time has passed (shrinking a failure found
    /// before then still completes). `None`: no budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget: Option<Duration>,
    /// Judge only these rules: ids (`ARG-001`) or families (`CAP`); empty judges every rule.
    /// Violations of the others are recorded but end no case ([`scope`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cases: 1000,
            max_steps: 32,
            seed: 0,
            max_shrink_iters: 4096,
            reruns: 3,
            time_budget: None,
            rules: Vec::new(),
        }
    }
}

/// The verdict on one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// The rule applies, but no step decided it.
    NotExercised,
    /// The profile makes the rule inapplicable.
    NotApplicable,
    /// The profile lists the rule as a known divergence, and it failed as expected.
    ExpectedFailure,
    /// The profile lists the rule as a known divergence, but it was exercised and never
    /// failed: the profile is out of date. Fails the run.
    UnexpectedPass,
    /// The rule is outside the run's `--rules` filter: not judged.
    Filtered,
}

impl Verdict {
    /// Whether this verdict makes the run fail.
    pub fn fails_run(self) -> bool {
        matches!(self, Verdict::Failed | Verdict::UnexpectedPass)
    }
}

/// One row of the per-rule table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: RuleId,
    pub verdict: Verdict,
    pub counts: RuleCounts,
}

/// The first failure, shrunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub rule: RuleId,
    pub detail: String,
    /// Cases generated until the first failing one (inclusive).
    pub cases_until_failure: u32,
    /// Wall time until the first failure was seen.
    pub time_to_failure: Duration,
    /// Length of the failing sequence before and after shrinking.
    pub original_steps: usize,
    pub shrunk_steps: usize,
    /// Whether re-running the shrunk sequence fails the same way every time.
    pub deterministic: bool,
    /// The shrunk sequence, run once more, step by step.
    pub trace: Trace,
}

/// The outcome of [`check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    pub suite_version: String,
    pub spec_edition: String,
    pub profile: String,
    pub target: ServiceDescription,
    pub config: Config,
    pub cases_run: u32,
    pub steps_run: u64,
    pub rules: Vec<RuleResult>,
    pub failure: Option<Failure>,
    /// The profile's known divergences, with their reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_failures: Vec<ExpectedFailure>,
    /// The run stopped generating cases because its time budget ran out.
    #[serde(default)]
    pub time_budget_exhausted: bool,
    /// The implementation's `changes()` reports once disagreed with its full snapshot (why);
    /// every step from then on was checked on a full snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_breach: Option<String>,
}

impl RunReport {
    /// True when no rule failed and no expected failure passed.
    pub fn conforms(&self) -> bool {
        self.failure.is_none() && !self.rules.iter().any(|r| r.verdict.fails_run())
    }

    pub fn verdict(&self, rule: &str) -> Option<Verdict> {
        self.rules
            .iter()
            .find(|r| r.rule.0 == rule)
            .map(|r| r.verdict)
    }
}

/// How far a run has got, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// `done` of `total` cases have been run.
    Cases { done: u32, total: u32 },
    /// A failure of `rule` was found; its sequence is being shrunk.
    Shrinking { rule: RuleId },
}

/// Run the suite against `service` under `profile`.
pub fn check(
    service: &mut dyn PoolService,
    profile: &Profile,
    config: &Config,
) -> Result<RunReport, HarnessError> {
    check_with_progress(service, profile, config, &|_| {})
}

/// [`check`], telling `progress` how far it has got after every case.
pub fn check_with_progress(
    service: &mut dyn PoolService,
    profile: &Profile,
    config: &Config,
    progress: &dyn Fn(Progress),
) -> Result<RunReport, HarnessError> {
    let target = service.describe();
    let filter = RuleFilter::new(&config.rules);
    let started = Instant::now();
    let out_of_time = Cell::new(false);
    let service = RefCell::new(service);
    let stats = RefCell::new(RuleStats::default());
    let failing_rule: Cell<Option<RuleId>> = Cell::new(None);
    let first_seen: Cell<Option<(u32, Duration, usize)>> = Cell::new(None);
    let cases = Cell::new(0u32);
    let harness_error: RefCell<Option<HarnessError>> = RefCell::new(None);

    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases: config.cases,
            max_shrink_iters: config.max_shrink_iters,
            failure_persistence: None,
            max_global_rejects: 0,
            ..ProptestConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(config.seed)),
    );
    let strategy = strategy::sequence(profile, config.max_steps);
    let result = runner.run(&strategy, |ops: Vec<Operation>| {
        if harness_error.borrow().is_some() {
            return Err(TestCaseError::fail("harness error"));
        }
        let searching = failing_rule.get().is_none();
        if searching && config.time_budget.is_some_and(|b| started.elapsed() >= b) {
            // With no global rejects allowed, a reject ends proptest's run at once.
            out_of_time.set(true);
            return Err(TestCaseError::reject("time budget exhausted"));
        }
        let mut local = RuleStats {
            changes_breach: stats.borrow().changes_breach.clone(),
            ..RuleStats::default()
        };
        let mut guard = service.borrow_mut();
        // Only the verdict: a failing sequence's records are rebuilt where they are reported.
        let outcome = match run_sequence_verdict(&mut **guard, profile, &ops, &mut local, &filter) {
            Ok(outcome) => outcome,
            Err(e) => {
                *harness_error.borrow_mut() = Some(e);
                return Err(TestCaseError::fail("harness error"));
            }
        };
        if searching {
            cases.set(cases.get() + 1);
            stats.borrow_mut().merge(&local);
            progress(Progress::Cases {
                done: cases.get(),
                total: config.cases,
            });
        }
        match (outcome.failure, failing_rule.get()) {
            (None, _) => Ok(()),
            (Some((_, rule)), None) => {
                failing_rule.set(Some(rule));
                progress(Progress::Shrinking { rule });
                first_seen.set(Some((cases.get(), started.elapsed(), ops.len())));
                Err(TestCaseError::fail(rule.0))
            }
            // While shrinking, only the same rule counts as the same failure.
            (Some((_, rule)), Some(wanted)) if rule == wanted => Err(TestCaseError::fail(rule.0)),
            (Some(_), Some(_)) => Ok(()),
        }
    });
    if let Some(e) = harness_error.into_inner() {
        return Err(e);
    }
    let service = service.into_inner();
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Abort(_)) if out_of_time.get() => None,
        Err(TestError::Abort(reason)) => {
            return Err(HarnessError::Start(format!(
                "proptest aborted the run: {reason}"
            )))
        }
        Err(TestError::Fail(_, ops)) => {
            let (cases_until_failure, time_to_failure, original_steps) = first_seen
                .get()
                .unwrap_or((cases.get(), started.elapsed(), ops.len()));
            let ops = match failing_rule.get() {
                Some(rule) => minimize_in(service, profile, ops, rule, &filter)?,
                None => ops,
            };
            Some(shrunk_failure(
                service,
                profile,
                config,
                &ops,
                cases_until_failure,
                time_to_failure,
                original_steps,
            )?)
        }
    };
    let mut stats = stats.into_inner();
    // EMB-004 (equivalence.rs): only when nothing else failed.
    let failure = match failure {
        Some(failure) => Some(failure),
        None => equivalence::phase(
            service,
            profile,
            config,
            &filter,
            &mut stats,
            started,
            cases.get(),
            &|| out_of_time.get() || config.time_budget.is_some_and(|b| started.elapsed() >= b),
        )?,
    };
    let rules = rule_results(profile, &filter, &stats, failure.as_ref());
    Ok(RunReport {
        suite_version: SUITE_VERSION.to_string(),
        spec_edition: crate::spec::edition().to_string(),
        profile: profile.name.clone(),
        target,
        config: config.clone(),
        cases_run: cases.get(),
        steps_run: stats.steps,
        rules,
        failure,
        expected_failures: profile.expected_failures.clone(),
        time_budget_exhausted: out_of_time.get(),
        changes_breach: stats.changes_breach.clone(),
    })
}

fn shrunk_failure(
    service: &mut dyn PoolService,
    profile: &Profile,
    config: &Config,
    ops: &[Operation],
    cases_until_failure: u32,
    time_to_failure: Duration,
    original_steps: usize,
) -> Result<Failure, HarnessError> {
    let filter = &RuleFilter::new(&config.rules);
    let mut trace = replay_scoped(service, profile, ops, filter)?;
    trace.seed = Some(config.seed);
    // The sequence failed when it was found; a replay that passes is already a disagreement.
    let mut deterministic = !trace.verdict.passed;
    for _ in 0..config.reruns {
        let again = replay_scoped(service, profile, ops, filter)?;
        if again.verdict != trace.verdict {
            deterministic = false;
        }
    }
    let (rule, detail) = trace
        .steps
        .iter()
        .filter(|s| s.tolerated.is_none())
        .flat_map(|s| s.violations.iter())
        .next()
        .map(|v| (v.rule, v.detail.clone()))
        .unwrap_or((
            RuleId("ATOM-002"),
            "the failure did not reproduce on replay".into(),
        ));
    Ok(Failure {
        rule,
        detail,
        cases_until_failure,
        time_to_failure,
        original_steps,
        shrunk_steps: ops.len(),
        deterministic,
        trace,
    })
}

/// After proptest's shrinking: drop single steps while the sequence still fails on the same
/// rule, until no single step can go, and cut everything after the failing step; then look
/// for a shorter sequence that fails on the same rule ([`shorter::search`]: pairs of steps
/// dropped, sequences of one or two operations) and start again from it.
pub fn minimize(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: Vec<Operation>,
    rule: RuleId,
) -> Result<Vec<Operation>, HarnessError> {
    minimize_in(service, profile, ops, rule, &RuleFilter::all())
}

fn minimize_in(
    service: &mut dyn PoolService,
    profile: &Profile,
    mut ops: Vec<Operation>,
    rule: RuleId,
    filter: &RuleFilter,
) -> Result<Vec<Operation>, HarnessError> {
    let failing_step =
        |service: &mut dyn PoolService, ops: &[Operation]| -> Result<Option<usize>, HarnessError> {
            let mut stats = RuleStats::default();
            let outcome = run_sequence_verdict(service, profile, ops, &mut stats, filter)?;
            Ok(outcome
                .failure
                .filter(|(_, r)| *r == rule)
                .map(|(idx, _)| idx))
        };
    loop {
        loop {
            let mut improved = false;
            for idx in 0..ops.len() {
                if ops.len() <= 1 {
                    break;
                }
                let mut candidate = ops.clone();
                candidate.remove(idx);
                if failing_step(service, &candidate)?.is_some() {
                    ops = candidate;
                    improved = true;
                    break;
                }
            }
            if !improved {
                break;
            }
        }
        if let Some(idx) = failing_step(service, &ops)? {
            ops.truncate(idx + 1);
        }
        // Past one-step minimality: pairs of steps, and short sequences over the alphabet.
        let mut fails = |candidate: &[Operation]| Ok(failing_step(service, candidate)?.is_some());
        match shorter::search(profile, &ops, &mut fails)? {
            Some(candidate) => ops = candidate,
            None => return Ok(ops),
        }
    }
}

/// Re-run a fixed operation sequence and return its trace.
pub fn replay(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
) -> Result<Trace, HarnessError> {
    replay_scoped(service, profile, ops, &RuleFilter::all())
}

/// Re-run a recorded trace under a rule filter: its operations as generated, or, when it
/// records a rendition (an EMB-004 failure), as generated and re-encoded, compared again
/// ([`equivalence::replay_rendition`]).
pub fn replay_trace(
    service: &mut dyn PoolService,
    profile: &Profile,
    recorded: &Trace,
    filter: &RuleFilter,
) -> Result<Trace, HarnessError> {
    let ops = &recorded.operations;
    match recorded.rendition {
        Some(encoding) => equivalence::replay_rendition(service, profile, ops, encoding, filter),
        None => replay_scoped(service, profile, ops, filter),
    }
}

/// [`replay`] under a rule filter (see [`run_sequence_scoped`]).
pub fn replay_scoped(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    filter: &RuleFilter,
) -> Result<Trace, HarnessError> {
    let mut stats = RuleStats::default();
    let outcome = run_sequence_scoped(service, profile, ops, &mut stats, filter)?;
    Ok(Trace {
        format: trace::TRACE_FORMAT.to_string(),
        format_version: trace::TRACE_FORMAT_VERSION,
        suite_version: SUITE_VERSION.to_string(),
        spec_edition: crate::spec::edition().to_string(),
        profile: profile.name.clone(),
        target: service.describe(),
        target_spec: None,
        description: None,
        fixture: profile.fixture(),
        seed: None,
        rendition: None,
        operations: ops.to_vec(),
        verdict: TraceVerdict::of(&outcome.steps),
        steps: outcome.steps,
    })
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (idx, chunk) in bytes.chunks_mut(8).enumerate() {
        let word = seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(idx as u64 + 1));
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    bytes
}

/// Whether the profile makes a rule applicable at all.
pub fn applicable(rule: RuleId, profile: &Profile) -> bool {
    let types = &profile.resource_types;
    let has_kind = |pred: fn(ResourceKind) -> bool| types.iter().any(|t| pred(t.kind));
    let supports = |m: Method| profile.supports(m);
    let msvm = profile.dialect == Dialect::Msvm;
    let creates = supports(Method::CreatePool) || supports(Method::CreateChildResourcePool);
    let changes =
        supports(Method::ModifyPoolResources) || supports(Method::ChangeParentResourcePool);
    let deletes = supports(Method::DeletePool) || supports(Method::DeleteResourcePool);
    let jobs = profile
        .dialect
        .methods()
        .iter()
        .any(|m| matches!(profile.mode(*m), MethodMode::Job | MethodMode::Either));
    match rule.0 {
        "ARG-001" | "ARG-003" | "ARG-004" | "TYPE-001" | "ID-004" | "CAP-001" | "CAP-002"
        | "CAP-003" | "CAP-004" => creates,
        "CAP-005" | "CAP-006" => creates && has_kind(|k| k == ResourceKind::Quantity),
        "HOST-001" | "HOST-002" => creates && has_kind(|k| k != ResourceKind::Quantity),
        "HOST-003" => {
            supports(Method::CreateResourcePool) || supports(Method::AddResourcesToResourcePool)
        }
        "HOST-004" => supports(Method::RemoveResourcesFromResourcePool),
        "HOST-005" => supports(Method::CreateResourcePool) && supports(Method::DeleteResourcePool),
        "SHARE-001" => {
            creates
                && types
                    .iter()
                    .any(|t| !t.shared_capacity && t.max_parent_pools != 1)
        }
        "SHARE-002" | "SHARE-003" => creates && types.iter().any(|t| t.shared_capacity),
        "ID-003" => creates && types.iter().any(|t| t.max_parent_pools > 0),
        "MOD-001" | "MOD-002" | "MOD-003" => changes,
        "MOD-004" => msvm && supports(Method::ModifyPoolSettings),
        "DEL-001" | "DEL-002" => deletes,
        "JOB-001" | "JOB-002" | "JOB-003" | "JOB-004" => jobs,
        "JOB-006" => msvm && jobs,
        "ID-005" => profile.instances.is_some(),
        "EMB-005" => profile.error_output.is_some(),
        _ => true,
    }
}

fn rule_results(
    profile: &Profile,
    filter: &RuleFilter,
    stats: &RuleStats,
    failure: Option<&Failure>,
) -> Vec<RuleResult> {
    rules::all()
        .iter()
        .map(|rule| {
            let counts = stats.rules.get(&rule.id).copied().unwrap_or_default();
            let failed = counts.failed > 0 || failure.is_some_and(|f| f.rule == rule.id);
            let expected = profile.expected_failure(rule.id.0).is_some();
            let verdict = if !filter.includes(rule.id) {
                Verdict::Filtered
            } else if failed {
                Verdict::Failed
            } else if !applicable(rule.id, profile) {
                Verdict::NotApplicable
            } else if expected && counts.expected > 0 {
                Verdict::ExpectedFailure
            } else if expected && counts.decisive > 0 {
                Verdict::UnexpectedPass
            } else if counts.decisive > 0 {
                Verdict::Passed
            } else {
                Verdict::NotExercised
            };
            RuleResult {
                rule: rule.id,
                verdict,
                counts,
            }
        })
        .collect()
}

/// Every rule id the harness itself charges (reply, job and state checks), for the
/// catalogue cross-check.
pub const HARNESS_RULES: &[&str] = &[
    "RC-001", "RC-002", "RC-003", "JOB-001", "JOB-002", "JOB-003", "JOB-004", "JOB-005", "JOB-006",
    "ATOM-001", "ATOM-002", "EMB-004", "EMB-005", "ID-005",
];
