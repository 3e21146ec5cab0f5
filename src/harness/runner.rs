//! The lockstep runner: one operation sequence, run against the model and an implementation
//! side by side, with every reply judged and every invariant checked after every step.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::error_output::{broken_parameter, unhelpful};
use super::placement::{Named, Placement};
use super::render::render_reusing;
use super::scope::{tolerance, RuleFilter, Tolerance};
use super::stats::RuleStats;
use super::trace::{Channel, Expected, ExpectedRefusal, Observed, StepRecord};
use crate::model::observed::{ObservedHost, Update};
use crate::model::{invariants, rule_id, Expectation, HostModel, Operation, Step, Violation};
use crate::spec::codes::{tables, Meaning};
use crate::spec::profile::{ErrorChannel, JobTypeUse, MethodMode, Profile};
use crate::spec::{Reason, RuleId};
use crate::sut::{
    CallReply, Dialect, HostFixture, JobView, Method, PoolService, ServiceError, Snapshot,
};

/// How many times a job is polled before it counts as never finishing (JOB-002).
pub const POLL_BUDGET: usize = 64;

/// The harness could not run at all (not a conformance verdict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HarnessError {
    #[error("the implementation could not be reset to the host fixture: {0}")]
    Reset(ServiceError),
    #[error("the implementation's first snapshot failed: {0}")]
    FirstSnapshot(ServiceError),
    #[error("the implementation's state after reset does not match the fixture: {0}")]
    Start(String),
}

/// The result of one sequence.
#[derive(Debug, Clone)]
pub struct SequenceOutcome {
    pub steps: Vec<StepRecord>,
    /// The first rule violated, with the index of its step.
    pub failure: Option<(usize, RuleId)>,
    /// The model's state after the last step run.
    pub model: HostModel,
}

/// Reset `service` to the profile's fixture and run `ops` in lockstep with the model,
/// stopping at the first step that violates a rule (other than one the profile expects to
/// fail: see [`run_sequence_scoped`]).
pub fn run_sequence(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    stats: &mut RuleStats,
) -> Result<SequenceOutcome, HarnessError> {
    run_sequence_scoped(service, profile, ops, stats, &RuleFilter::all())
}

/// [`run_sequence`] under a rule filter. A step whose first violated rule is outside `filter`
/// or expected by the profile is tolerated ([`super::scope`]): it is recorded, and the
/// sequence goes on while the implementation's state still agrees with the model's, and
/// ends there (without a failure) when it does not.
///
/// When the implementation tracks [`PoolService::changes`], each step is checked on what it
/// reports changed (cost independent of the host's size), and the sequence ends with a full
/// snapshot compared with what those reports added up to. If the two ever disagree, the
/// implementation broke the `changes` contract: the sequence is run again from the start with
/// a full snapshot after every step, which decides the verdict, and every later sequence of
/// the run is checked that way too ([`RuleStats::changes_breach`] says why, for the report).
pub fn run_sequence_scoped(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    stats: &mut RuleStats,
    filter: &RuleFilter,
) -> Result<SequenceOutcome, HarnessError> {
    run_checked(service, profile, ops, stats, filter, Records::Keep)
}

/// [`run_sequence_scoped`] for a caller that needs only the verdict: the same steps, checks,
/// statistics and verdict, but each step's record is dropped as soon as the step is judged
/// ([`SequenceOutcome::steps`] is empty). The run is deterministic, so a sequence whose records
/// are wanted (a failure to report, trace or compare) is run again with
/// [`run_sequence_scoped`].
pub fn run_sequence_verdict(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    stats: &mut RuleStats,
    filter: &RuleFilter,
) -> Result<SequenceOutcome, HarnessError> {
    run_checked(service, profile, ops, stats, filter, Records::Drop)
}

/// Whether a run keeps its step records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Records {
    Keep,
    Drop,
}

fn run_checked(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    stats: &mut RuleStats,
    filter: &RuleFilter,
    records: Records,
) -> Result<SequenceOutcome, HarnessError> {
    let fixture = profile.fixture();
    let sequence = Sequence {
        profile,
        fixture: &fixture,
        ops,
        filter,
        records,
    };
    run_deciding(service, &sequence, stats, Counts::Restored)
}

/// [`run_sequence_verdict`] for a fuzzing campaign, which runs one sequence per input and never
/// reads the per-rule counts: `fixture` is the profile's ([`Profile::fixture`]), built once by
/// the caller, and the counts of an attempt abandoned for a change-report breach are kept
/// instead of restored, so no copy of the table is made per sequence. The same steps, checks,
/// [`RuleStats::changes_breach`] and verdict as [`run_sequence_verdict`].
pub fn run_sequence_verdict_uncounted(
    service: &mut dyn PoolService,
    profile: &Profile,
    fixture: &HostFixture,
    ops: &[Operation],
    stats: &mut RuleStats,
    filter: &RuleFilter,
) -> Result<SequenceOutcome, HarnessError> {
    let sequence = Sequence {
        profile,
        fixture,
        ops,
        filter,
        records: Records::Drop,
    };
    run_deciding(service, &sequence, stats, Counts::Kept)
}

/// One sequence to run, and how: everything a run takes but the implementation and the counts.
struct Sequence<'a> {
    profile: &'a Profile,
    /// The profile's fixture, which every attempt resets to.
    fixture: &'a HostFixture,
    ops: &'a [Operation],
    filter: &'a RuleFilter,
    records: Records,
}

/// What happens to the counts of an attempt abandoned for a change-report breach.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counts {
    /// Put back as they were before it (a copy of the table is kept per sequence).
    Restored,
    /// Kept (no copy; for callers that never read them).
    Kept,
}

/// Run the sequence on change reports while the implementation keeps its `changes` contract,
/// and on full snapshots from a breach on (that run decides; [`RuleStats::changes_breach`]
/// says why).
fn run_deciding(
    service: &mut dyn PoolService,
    sequence: &Sequence,
    stats: &mut RuleStats,
    counts: Counts,
) -> Result<SequenceOutcome, HarnessError> {
    if stats.changes_breach.is_none() {
        let before = (counts == Counts::Restored).then(|| stats.clone());
        match run_once_from(service, sequence, stats, true)? {
            Attempt::Done(outcome) => return Ok(*outcome),
            Attempt::ChangesBreach(why) => {
                if let Some(before) = before {
                    *stats = before;
                }
                stats.changes_breach = Some(why);
            }
        }
    }
    match run_once_from(service, sequence, stats, false)? {
        Attempt::Done(outcome) => Ok(*outcome),
        Attempt::ChangesBreach(why) => unreachable!("a full-snapshot run cannot breach: {why}"),
    }
}

enum Attempt {
    Done(Box<SequenceOutcome>),
    /// The implementation's `changes` reports disagreed with its full snapshot.
    ChangesBreach(String),
}

fn run_once_from(
    service: &mut dyn PoolService,
    sequence: &Sequence,
    stats: &mut RuleStats,
    try_incremental: bool,
) -> Result<Attempt, HarnessError> {
    let &Sequence {
        profile,
        fixture,
        ops,
        filter,
        records,
    } = sequence;
    service.reset(fixture).map_err(HarnessError::Reset)?;
    let first = normalized(service.snapshot().map_err(HarnessError::FirstSnapshot)?);
    let model = HostModel::start(profile, &first).map_err(|e| HarnessError::Start(e.0))?;
    let mut observed = spare_mirror();
    // The whole first snapshot is compared (and its invariants checked) at the first step.
    let pending = observed.replace(first);
    // Asking also sets the implementation's baseline for the first step's report.
    let incremental = try_incremental && matches!(service.changes(), Ok(Some(_)));
    let mut lockstep = Lockstep {
        service,
        profile,
        filter,
        modes: BTreeMap::new(),
        observed,
        pending: Some(pending),
        incremental,
        breach: None,
        placement: Placement::default(),
    };
    let mut model = model;
    let mut steps = Vec::with_capacity(if records == Records::Keep {
        ops.len()
    } else {
        0
    });
    let mut failure = None;
    for (index, op) in ops.iter().enumerate() {
        let (record, verdict) = lockstep.step(&mut model, index, op, stats, records);
        if let Some(why) = lockstep.breach.take() {
            keep_mirror(lockstep.observed);
            return Ok(Attempt::ChangesBreach(why));
        }
        steps.extend(record);
        match verdict.first {
            Some(rule) if !verdict.tolerated => {
                failure = Some((index, rule));
                break;
            }
            // The model cannot follow a host that differs from the specified one.
            Some(_) if !verdict.state_agrees => break,
            _ => {}
        }
    }
    let breach = if lockstep.incremental && failure.is_none() {
        lockstep.verify_with_full_snapshot()
    } else {
        None
    };
    keep_mirror(lockstep.observed);
    if let Some(why) = breach {
        return Ok(Attempt::ChangesBreach(why));
    }
    Ok(Attempt::Done(Box::new(SequenceOutcome {
        steps,
        failure,
        model,
    })))
}

thread_local! {
    /// A mirror a finished sequence on this thread left, cleared: the next sequence fills it
    /// again, and its maps keep their memory.
    static SPARE_MIRROR: RefCell<Option<ObservedHost>> = const { RefCell::new(None) };
}

/// An empty mirror, recycled when this thread has one.
fn spare_mirror() -> ObservedHost {
    SPARE_MIRROR
        .with(|spare| spare.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .unwrap_or_default()
}

/// Clear `mirror` and keep it for this thread's next sequence.
fn keep_mirror(mut mirror: ObservedHost) {
    mirror.clear();
    SPARE_MIRROR.with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            *spare = Some(mirror);
        }
    });
}

struct Lockstep<'a> {
    service: &'a mut dyn PoolService,
    profile: &'a Profile,
    filter: &'a RuleFilter,
    /// Per method: whether its first success came through a job (JOB-005).
    modes: BTreeMap<Method, bool>,
    /// The implementation's host as its snapshots (or change reports) showed it.
    observed: ObservedHost,
    /// Pools still to compare at the next checked step (the whole first snapshot).
    pending: Option<Update>,
    /// Whether steps are checked on `changes()` reports instead of full snapshots.
    incremental: bool,
    /// Set when a change report disagreed with a full snapshot.
    breach: Option<String>,
    /// ID-005's memory of the references found in place.
    placement: Placement,
}

/// What the sequence needs to know of a step, with or without its record.
struct StepVerdict {
    /// The first rule the step violated.
    first: Option<RuleId>,
    /// Whether that violation is tolerated (outside the filter, or expected by the profile).
    tolerated: bool,
    /// Whether the implementation's state still agrees with the model's.
    state_agrees: bool,
}

impl StepVerdict {
    /// A step that expected nothing, or whose method the implementation does not support.
    const QUIET: StepVerdict = StepVerdict {
        first: None,
        tolerated: false,
        state_agrees: true,
    };
}

fn normalized(mut snapshot: Snapshot) -> Snapshot {
    crate::model::state::normalize(&mut snapshot.pools);
    snapshot
}

impl Lockstep<'_> {
    /// One step: its record (only when `records` keeps them) and its verdict.
    fn step(
        &mut self,
        model: &mut HostModel,
        index: usize,
        op: &Operation,
        stats: &mut RuleStats,
        records: Records,
    ) -> (Option<StepRecord>, StepVerdict) {
        let keep = records == Records::Keep;
        // The record of a step that expects nothing (the operation cloned once, when needed).
        let skipped = || StepRecord {
            index,
            operation: op.clone(),
            step: None,
            call: None,
            reply: None,
            polls: Vec::new(),
            expected: Expected::Skipped,
            observed: Observed::Skipped,
            violations: Vec::new(),
            tolerated: None,
            state_diff: None,
        };
        let Some(step) = model.resolve(op) else {
            return (keep.then(skipped), StepVerdict::QUIET);
        };
        if !self.profile.supports(step.method) {
            let record = keep.then(|| StepRecord {
                step: Some(step),
                ..skipped()
            });
            return (record, StepVerdict::QUIET);
        }
        let call = render_reusing(&step, model.dialect);
        let mut violations = Vec::new();
        let mut charge = |rule: &'static str, detail: String| {
            violations.push(Violation {
                rule: rule_id(rule),
                detail,
            })
        };
        let reply = self.service.invoke(&call);
        // ID-005: the references the reply hands out name the profile's namespace and classes.
        let mut placed = false;
        if let (Some(instances), Ok(CallReply::Return(ret))) = (&self.profile.instances, &reply) {
            for (name, what) in [("Pool", Named::Pool), ("Job", Named::Job)] {
                if let Some(path) = ret.out_reference(name) {
                    placed = true;
                    if let Some(why) = self.placement.misplaced(instances, what, path) {
                        charge("ID-005", why);
                    }
                }
            }
        }
        let mut polls = Vec::new();
        let observed = match &reply {
            Err(ServiceError::Unsupported(what)) => Observed::Unsupported(what.clone()),
            Err(e) => Observed::Broken(e.to_string()),
            Ok(CallReply::CimError(e)) => Observed::Refused {
                channel: Channel::CimStatus,
                code: e.status,
                reason: None,
            },
            Ok(CallReply::Return(ret)) => match tables().meaning(step.method, ret.return_value) {
                None => {
                    charge(
                        "RC-001",
                        format!(
                            "{} returned {}, which its return-code table does not list",
                            step.method, ret.return_value
                        ),
                    );
                    Observed::Broken(format!("undocumented ReturnValue {}", ret.return_value))
                }
                Some(Meaning::Completed) => Observed::Completed { via_job: false },
                Some(Meaning::Refused(reason)) => Observed::Refused {
                    channel: Channel::ReturnValue,
                    code: ret.return_value,
                    reason: Some(reason),
                },
                Some(Meaning::JobStarted) => match ret.out_reference("Job") {
                    None => {
                        charge(
                            "JOB-001",
                            format!("{} returned 4096 without a Job reference", step.method),
                        );
                        Observed::Broken("4096 without a job".into())
                    }
                    Some(job) => {
                        let job = job.clone();
                        self.follow_job(&step, &job, &mut polls, &mut charge)
                    }
                },
            },
        };
        // ID-005 for what a job says it touched: the new pool of a job that leaves `Pool`
        // NULL is named only there (namespace only: an element may be of any class).
        if let (Some(instances), Some(last)) = (&self.profile.instances, polls.last()) {
            for element in &last.affected_elements {
                placed = true;
                if let Some(why) = self
                    .placement
                    .misplaced(instances, Named::Affected, element)
                {
                    charge("ID-005", why);
                }
            }
        }
        if let Observed::Unsupported(_) = observed {
            let record = keep.then(|| StepRecord {
                step: Some(step),
                call: Some(call),
                observed,
                ..skipped()
            });
            return (record, StepVerdict::QUIET);
        }
        // Only now: an unsupported method needs no expectation.
        let expectation = model.expect(&step, self.profile);
        let reply_ok = reply.ok();
        self.judge_reply(&step, &expectation, &observed, &mut violations);
        // EMB-005: an Invalid Parameter refusal says what was wrong, where the profile says.
        let mut error_checked = false;
        if let (
            Some(kind),
            Some(CallReply::Return(ret)),
            Observed::Refused {
                channel, reason, ..
            },
        ) = (self.profile.error_output, &reply_ok, &observed)
        {
            if *channel == Channel::ReturnValue && *reason == Some(Reason::InvalidParameter) {
                error_checked = true;
                let broken = expectation
                    .refusals
                    .first()
                    .filter(|r| matches!(r.rule.0, "EMB-001" | "EMB-002" | "EMB-003"))
                    .and_then(|_| broken_parameter(&step));
                if let Some(why) = unhelpful(kind, ret, broken) {
                    violations.push(Violation {
                        rule: rule_id("EMB-005"),
                        detail: why,
                    });
                }
            }
        }
        let (state_violations, state_diff) =
            self.check_state(model, &step, &expectation, &observed);
        let state_agrees = state_violations.is_empty();
        violations.extend(state_violations);
        let tolerated = violations
            .first()
            .and_then(|v| tolerance(v.rule, self.profile, self.filter));
        let charged: &[Violation] = if tolerated.is_some() {
            &[]
        } else {
            &violations
        };
        stats.record_step(&expectation, &observed, &step, charged, model);
        if placed {
            stats.record_placement();
        }
        if error_checked {
            stats.record_error_output();
        }
        if let (Some(Tolerance::Expected), Some(first)) = (tolerated, violations.first()) {
            stats.record_expected(first.rule);
        }
        let verdict = StepVerdict {
            first: violations.first().map(|v| v.rule),
            tolerated: tolerated.is_some(),
            state_agrees,
        };
        let record = keep.then(|| StepRecord {
            index,
            operation: op.clone(),
            step: Some(step),
            call: Some(call),
            reply: reply_ok,
            polls,
            expected: expected_of(expectation),
            observed,
            violations,
            tolerated,
            state_diff,
        });
        (record, verdict)
    }

    /// Poll a job to its end: JOB-002, JOB-003, JOB-006.
    fn follow_job(
        &mut self,
        step: &Step,
        job: &crate::sut::ObjectPath,
        polls: &mut Vec<JobView>,
        charge: &mut impl FnMut(&'static str, String),
    ) -> Observed {
        let codes = tables();
        for _ in 0..POLL_BUDGET {
            let view = match self.service.poll_job(job) {
                Ok(view) => view,
                Err(e) => {
                    charge("JOB-002", format!("polling job {job} failed: {e}"));
                    return Observed::Broken(format!("job poll failed: {e}"));
                }
            };
            polls.push(view);
            let view = &polls[polls.len() - 1];
            if !codes.job_state_documented(view.job_state) {
                charge(
                    "JOB-002",
                    format!(
                        "job {job} reports JobState {}, which is not documented",
                        view.job_state
                    ),
                );
                return Observed::Broken(format!("undocumented JobState {}", view.job_state));
            }
            if !codes.job_state_terminal(view.job_state) {
                continue;
            }
            let success = codes.job_state_success(view.job_state);
            if success != (view.error_code == 0) {
                charge(
                    "JOB-003",
                    format!(
                        "job {job} ended in JobState {} with ErrorCode {}",
                        view.job_state, view.error_code
                    ),
                );
            }
            let job_type_set = view.job_type != 0 || self.profile.job_type == JobTypeUse::Required;
            if step.method.dialect() == Dialect::Msvm && job_type_set {
                let wanted = codes.job_type(step.method);
                if wanted.is_some_and(|t| t != view.job_type) {
                    charge(
                        "JOB-006",
                        format!(
                            "{} started a job of JobType {}, expected {:?}",
                            step.method, view.job_type, wanted
                        ),
                    );
                }
            }
            return if success {
                Observed::Completed { via_job: true }
            } else {
                Observed::Refused {
                    channel: Channel::Job,
                    code: u32::from(view.error_code),
                    reason: None,
                }
            };
        }
        charge(
            "JOB-002",
            format!("job {job} did not reach a terminal state in {POLL_BUDGET} polls"),
        );
        Observed::Broken("job never finished".into())
    }

    /// Compare the reply with what the specification permits.
    fn judge_reply(
        &mut self,
        step: &Step,
        expectation: &Expectation,
        observed: &Observed,
        out: &mut Vec<Violation>,
    ) {
        let already_charged = !out.is_empty();
        let mut charge = |rule: RuleId, detail: String| out.push(Violation { rule, detail });
        let first_refusal = expectation.refusals.first();
        match (observed, first_refusal) {
            (Observed::Broken(why), _) => {
                if !already_charged {
                    let rule = first_refusal
                        .map(|r| r.rule)
                        .unwrap_or(expectation.accept_rule);
                    charge(
                        rule,
                        format!("{} gave no usable answer: {why}", step.method),
                    );
                }
            }
            (Observed::Completed { via_job }, None) => {
                let mode = self.profile.mode(step.method);
                let wrong = match mode {
                    MethodMode::Sync => *via_job,
                    MethodMode::Job => !*via_job,
                    _ => false,
                };
                let first = *self.modes.entry(step.method).or_insert(*via_job);
                if wrong || first != *via_job {
                    charge(
                        rule_id("JOB-005"),
                        format!(
                            "{} completed {} but the profile says {:?} and its first success was {}",
                            step.method,
                            if *via_job { "through a job" } else { "synchronously" },
                            mode,
                            if first { "through a job" } else { "synchronous" }
                        ),
                    );
                }
            }
            (Observed::Completed { .. }, Some(refusal)) => charge(
                refusal.rule,
                format!(
                    "{} succeeded, but must be refused: {}",
                    step.method, refusal.detail
                ),
            ),
            (
                Observed::Refused {
                    code,
                    channel,
                    reason,
                },
                None,
            ) => {
                let boundary = expectation
                    .decisive
                    .first()
                    .copied()
                    .unwrap_or(expectation.accept_rule);
                charge(
                    boundary,
                    format!(
                        "{} was refused ({}) but must succeed",
                        step.method,
                        describe_refusal(step.method, *channel, *code, *reason)
                    ),
                );
            }
            (
                Observed::Refused {
                    channel,
                    code,
                    reason,
                },
                Some(refusal),
            ) => {
                let permitted = expectation.permitted_reasons();
                match channel {
                    Channel::Job => {}
                    Channel::ReturnValue => {
                        let ok = reason.is_some_and(|r| {
                            permitted
                                .iter()
                                .any(|p| tables().effective_reason(step.method, *p) == r)
                        });
                        if !ok {
                            charge(
                                rule_id("RC-002"),
                                format!(
                                    "{} returned {} for a call {} must refuse ({}): expected {}",
                                    step.method,
                                    describe_refusal(step.method, *channel, *code, *reason),
                                    refusal.rule,
                                    refusal.detail,
                                    permitted_codes(step.method, &permitted)
                                ),
                            );
                        }
                    }
                    Channel::CimStatus => {
                        let arg_fault = expectation.refusals.iter().any(|r| r.rule.0 == "ARG-002");
                        let allowed =
                            arg_fault || self.profile.error_channel != ErrorChannel::ReturnValue;
                        let status_ok = permitted.iter().any(|r| tables().cim_status(*r) == *code);
                        if !allowed || !status_ok {
                            charge(
                                rule_id("RC-003"),
                                format!(
                                    "{} raised CIM status {code} for a call {} must refuse ({}); {}",
                                    step.method,
                                    refusal.rule,
                                    refusal.detail,
                                    if allowed {
                                        "the status does not match the reason"
                                    } else {
                                        "the profile does not allow the CIM-status channel"
                                    }
                                ),
                            );
                        }
                    }
                }
            }
            (Observed::Skipped | Observed::Unsupported(_), _) => {}
        }
    }

    /// Snapshot invariants, then the model's state against the snapshot (ATOM-001/002,
    /// JOB-004), following the implementation's choices after a success. Only the pools the
    /// step touched (on either side) and their neighbours are looked at: before the step the
    /// two hosts agreed, or the sequence would have ended.
    fn check_state(
        &mut self,
        model: &mut HostModel,
        step: &Step,
        expectation: &Expectation,
        observed: &Observed,
    ) -> (Vec<Violation>, Option<String>) {
        let mut out = Vec::new();
        let report = if self.incremental {
            match self.service.changes() {
                Ok(Some(delta)) => Ok(self.observed.apply(delta)),
                Ok(None) => {
                    self.breach = Some(
                        "changes() answered \"not tracked\" after it had answered a report".into(),
                    );
                    return (out, None);
                }
                Err(e) => Err(format!("the implementation's change report failed: {e}")),
            }
        } else {
            match self.service.snapshot() {
                Ok(s) => Ok(self.observed.replace(s)),
                Err(e) => Err(format!("the implementation's snapshot failed: {e}")),
            }
        };
        let mut update = match report {
            Ok(update) => update,
            Err(detail) => {
                out.push(Violation {
                    rule: rule_id("ATOM-002"),
                    detail,
                });
                return (out, None);
            }
        };
        if let Some(pending) = self.pending.take() {
            update.absorb(pending);
        }
        out.extend(invariants::check_pools(
            self.profile,
            &self.observed,
            update.affected(),
            update.primordial_touched,
        ));
        let via_job = matches!(
            observed,
            Observed::Completed { via_job: true }
                | Observed::Refused {
                    channel: Channel::Job,
                    ..
                }
        );
        let completed = matches!(observed, Observed::Completed { .. });
        if completed && expectation.accepts() {
            out.extend(model.commit(step, expectation, &self.observed, &update.touched));
        }
        let dirty = model.take_dirty();
        let mut left = Vec::new();
        let mut right = Vec::new();
        // Both sides' touched pools, in path order; a view is built only where they differ.
        for path in dirty.union(&update.touched) {
            let seen = self.observed.pool(path);
            if !model.view_matches(path, seen) {
                left.extend(model.expected_view(path));
                right.extend(seen.cloned());
            }
        }
        let duplicated = !update.duplicates.is_empty();
        let mut diff = None;
        if !left.is_empty() || !right.is_empty() || duplicated {
            let rule = match (via_job, completed) {
                (true, _) => "JOB-004",
                (false, true) => "ATOM-002",
                (false, false) => "ATOM-001",
            };
            let mut detail = if completed {
                format!(
                    "after {} succeeded, the host differs from the specified effect",
                    step.method
                )
            } else {
                format!(
                    "after {} was refused, the host is not as it was",
                    step.method
                )
            };
            if duplicated {
                detail.push_str(&format!(
                    "; the implementation reports {} more than once",
                    update.duplicates[0]
                ));
            }
            out.push(Violation {
                rule: rule_id(rule),
                detail,
            });
            diff = Some(pool_diff(&left, &right));
        }
        if self.incremental && !out.is_empty() {
            // A verdict is never drawn from a change report alone.
            if let Some(why) = self.verify_with_full_snapshot() {
                self.breach = Some(why);
            }
        }
        (out, diff)
    }

    /// Compare a full snapshot with the host the change reports built; why they disagree, if
    /// they do.
    fn verify_with_full_snapshot(&mut self) -> Option<String> {
        let mut full = match self.service.snapshot() {
            Ok(s) => s,
            Err(e) => return Some(format!("a full snapshot failed after change reports: {e}")),
        };
        if self.observed.agrees_with(&mut full) {
            return None;
        }
        let update = self.observed.replace(full);
        let first = update
            .duplicates
            .first()
            .or_else(|| update.touched.iter().next())?;
        Some(format!(
            "changes() did not report every change: the full snapshot differs at {first} \
             ({} pool(s) in all); checked with full snapshots from then on",
            update.touched.len().max(update.duplicates.len())
        ))
    }
}

/// A readable diff of two lists of pools (expected, observed).
fn pool_diff(expected: &[crate::sut::PoolView], observed: &[crate::sut::PoolView]) -> String {
    strip_ansi(&pretty_assertions::Comparison::new(&expected, &observed).to_string())
}

/// A readable diff of the pools that differ between the expected and the observed host.
pub fn state_diff(expected: &Snapshot, observed: &Snapshot) -> String {
    let differing = |a: &Snapshot, b: &Snapshot| -> Vec<crate::sut::PoolView> {
        a.pools
            .iter()
            .filter(|p| b.pool(&p.path) != Some(*p))
            .cloned()
            .collect()
    };
    let left = differing(expected, observed);
    let right = differing(observed, expected);
    strip_ansi(&pretty_assertions::Comparison::new(&left, &right).to_string())
}

/// The diff without terminal colour codes, so that traces and logs stay plain text.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What the step record keeps of an expectation (its refusals moved, not copied).
fn expected_of(expectation: Expectation) -> Expected {
    if expectation.accepts() {
        Expected::Success {
            rule: expectation.accept_rule,
        }
    } else {
        Expected::Refusal {
            refusals: expectation
                .refusals
                .into_iter()
                .map(|r| ExpectedRefusal {
                    rule: r.rule,
                    reasons: r.reasons,
                    detail: r.detail,
                })
                .collect(),
        }
    }
}

fn describe_refusal(
    method: Method,
    channel: Channel,
    code: u32,
    reason: Option<crate::spec::Reason>,
) -> String {
    match (channel, reason) {
        (Channel::ReturnValue, Some(r)) => format!("ReturnValue {code} {r}"),
        (Channel::ReturnValue, None) => format!("ReturnValue {code}"),
        (Channel::CimStatus, _) => format!("CIM status {code}"),
        (Channel::Job, _) => format!("job ended in error, ErrorCode {code} ({method})"),
    }
}

fn permitted_codes(
    method: Method,
    permitted: &std::collections::BTreeSet<crate::spec::Reason>,
) -> String {
    permitted
        .iter()
        .map(|r| {
            let ranges: Vec<String> = tables()
                .codes_for(method, *r)
                .iter()
                .map(|range| {
                    if range.start() == range.end() {
                        range.start().to_string()
                    } else {
                        format!("{}..{}", range.start(), range.end())
                    }
                })
                .collect();
            format!("{} ({})", r, ranges.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" or ")
}
