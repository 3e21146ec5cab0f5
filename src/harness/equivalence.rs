//! EMB-004: an implementation treats equivalent encodings of the same embedded instance the
//! same way.
//!
//! After the main run finds no failure, [`phase`] generates a share of cases of its own (one
//! for every [`EVERY`] cases of the run, from a seed derived from the run's) and runs each
//! operation sequence four times on a fresh reset: as generated, then with every embedded
//! instance re-encoded as compact CIM-XML (`GetText(1)`'s shape), as WMI DTD 2.0 CIM-XML
//! (`GetText(2)`'s: qualifiers, `CLASSORIGIN`, `PROPAGATED`) and as MOF. Re-encoding happens
//! on the wire, in a [`PoolService`] wrapper ([`Rendering`]): each embedded-instance string
//! is decoded, given back the CIM types of its class where the typed views know them (MOF
//! carries no types), and encoded again; text that does not decode (the deliberately
//! malformed variants) is sent unchanged. The four runs must agree step by step: the same
//! outcome (completed, synchronously or through a job; refused, on the same channel with the
//! same code; unsupported; skipped), the same violations, and the same host after every step
//! up to the object paths the implementation chose. The first difference is a failure of
//! EMB-004, shrunk by dropping single steps while it persists, and reported with the trace of
//! the run that differed (its calls as re-encoded, its `rendition` naming the encoding) and
//! the step that differed. Replaying such a trace ([`replay_rendition`], through
//! `harness::replay_trace`) runs the sequence as generated and in that rendition again and
//! compares the two the same way.
//!
//! A case whose run as generated already fails some other rule says nothing about
//! equivalence and is not compared. This module refuses to know how results look, and knows
//! the codec only through its public API.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};

use super::runner::{run_sequence_scoped, state_diff, HarnessError, SequenceOutcome};
use super::scope::{tolerance, RuleFilter, Tolerance};
use super::stats::RuleStats;
use super::trace::{Channel, Observed, StepRecord, TraceVerdict};
use super::{replay_scoped, strategy, Config, Failure};
use crate::codec::{decode, encode, AllocationSettingData, Encoding, Instance, PoolSettingData};
use crate::model::fxhash::FxHashMap;
use crate::model::observed::ObservedHost;
use crate::model::{rule_id, Operation, Violation};
use crate::spec::profile::Profile;
use crate::sut::{
    CallReply, HostFixture, JobView, MethodCall, ObjectPath, ParamValue, PoolService,
    ServiceDescription, ServiceError, Snapshot, SnapshotDelta,
};

/// One equivalence case for every `EVERY` cases of the main run (at least one).
pub const EVERY: u32 = 4;

/// Cases the phase runs even when the run's time budget is spent (fewer if the run has
/// fewer cases; none if the main run generated none), so that a budgeted run still exercises
/// EMB-004; this overruns the budget by `4 * MIN_CASES` sequence runs at most.
pub const MIN_CASES: u32 = 16;

/// The parameters that hold embedded instances (CreatePool, ModifyPoolResources,
/// ModifyPoolSettings; CreateChildResourcePool, ChangeParentResourcePool).
pub const EMBEDDED_PARAMETERS: [&str; 3] = ["PoolSettings", "AllocationSettings", "Settings"];

/// The re-encodings every case is run in, besides the encoding it was generated with.
pub const RENDITIONS: [Encoding; 3] = [Encoding::CimXml, Encoding::WmiDtd20, Encoding::Mof];

fn emb_004() -> crate::spec::RuleId {
    rule_id("EMB-004")
}

/// `text` decoded and encoded again as `encoding`, with the CIM types of its class where a
/// typed view knows them; unchanged when it does not decode.
pub fn reencode(text: &str, encoding: Encoding) -> String {
    match decode(text) {
        Ok(instance) => encode(&retyped(instance), encoding),
        Err(_) => text.to_string(),
    }
}

/// MOF carries no CIM types (its integers decode as `uint64`): the typed views give the
/// properties they know their declared types back. Instances of other classes keep theirs.
fn retyped(instance: Instance) -> Instance {
    if let Ok(view) = AllocationSettingData::from_instance(&instance) {
        return view.to_instance();
    }
    if let Ok(view) = PoolSettingData::from_instance(&instance) {
        return view.to_instance();
    }
    instance
}

/// `call` with every embedded instance re-encoded as `encoding`; `None` when it holds none.
pub fn rewrite(call: &MethodCall, encoding: Encoding) -> Option<MethodCall> {
    rewrite_with(call, |text| reencode(text, encoding))
}

/// The embedded instances a phase re-encoded, by text: [`reencode`] without decoding a text
/// again, or encoding it again in a rendition it was already encoded in. The result is a pure
/// function of the text and the encoding, so what is kept changes nothing but the cost: the
/// runs of a case send the same texts while they agree, and cases of one fixture often send
/// texts earlier cases sent (about two re-encodings in three, measured under the reference
/// profiles). At most [`Decoded::LIMIT`] texts are kept; the next new text starts afresh.
#[derive(Default)]
struct Decoded {
    entries: FxHashMap<String, Reencoded>,
}

/// One text: its instance retyped (`None` when the text does not decode) and its encodings
/// in each of [`RENDITIONS`] made so far.
struct Reencoded {
    instance: Option<Instance>,
    encoded: [Option<String>; RENDITIONS.len()],
}

impl Decoded {
    /// Texts kept at most (each with its instance and up to three encodings: a few MiB).
    const LIMIT: usize = 2048;

    /// Exactly [`reencode`]`(text, encoding)`.
    fn reencode(&mut self, text: &str, encoding: Encoding) -> String {
        if let Some(entry) = self.entries.get_mut(text) {
            return entry.reencode(text, encoding);
        }
        if self.entries.len() >= Self::LIMIT {
            self.entries.clear();
        }
        let mut entry = Reencoded {
            instance: decode(text).ok().map(retyped),
            encoded: Default::default(),
        };
        let out = entry.reencode(text, encoding);
        self.entries.insert(text.to_string(), entry);
        out
    }
}

impl Reencoded {
    /// `text` (this entry's) re-encoded as `encoding`, made once per rendition.
    fn reencode(&mut self, text: &str, encoding: Encoding) -> String {
        let Some(instance) = &self.instance else {
            return text.to_string();
        };
        match RENDITIONS.iter().position(|e| *e == encoding) {
            Some(at) => self.encoded[at]
                .get_or_insert_with(|| encode(instance, encoding))
                .clone(),
            None => encode(instance, encoding),
        }
    }
}

/// `call` with every embedded instance replaced by `reencode(text)`; `None` when it holds none.
fn rewrite_with(call: &MethodCall, mut reencode: impl FnMut(&str) -> String) -> Option<MethodCall> {
    let mut call = call.clone();
    let mut any = false;
    for param in &mut call.params {
        if !EMBEDDED_PARAMETERS
            .iter()
            .any(|name| param.name.eq_ignore_ascii_case(name))
        {
            continue;
        }
        match &mut param.value {
            ParamValue::String(text) => {
                *text = reencode(text);
                any = true;
            }
            ParamValue::StringArray(items) if !items.is_empty() => {
                for text in items.iter_mut() {
                    *text = reencode(text);
                }
                any = true;
            }
            _ => {}
        }
    }
    any.then_some(call)
}

/// What the harness learnt of the host at one point: a full snapshot or a change report.
#[derive(Clone, Debug)]
pub enum HostReport {
    Full(Snapshot),
    Changes(SnapshotDelta),
}

/// The wrapper every run of a case goes through: it re-encodes embedded instances (when
/// given an encoding), and records what was sent and every snapshot or change report the
/// harness took, with the number of calls made before it.
pub struct Rendering<'s> {
    inner: &'s mut dyn PoolService,
    encoding: Option<Encoding>,
    /// The calls as sent, in order (unless `keep_sent` is off).
    pub sent: Vec<MethodCall>,
    /// Every snapshot and change report since the last reset, with the number of calls made
    /// before it.
    pub reports: Vec<(usize, HostReport)>,
    /// Calls made since the last reset.
    calls: usize,
    /// Whether `sent` keeps the calls (a comparison needs only the reports).
    keep_sent: bool,
    decoded: Decoded,
}

impl<'s> Rendering<'s> {
    /// `inner` as is (`encoding` `None`), or with every embedded instance re-encoded.
    pub fn new(inner: &'s mut dyn PoolService, encoding: Option<Encoding>) -> Self {
        Rendering {
            inner,
            encoding,
            sent: Vec::new(),
            reports: Vec::new(),
            calls: 0,
            keep_sent: true,
            decoded: Decoded::default(),
        }
    }
}

impl PoolService for Rendering<'_> {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.sent.clear();
        self.reports.clear();
        self.calls = 0;
        self.inner.reset(fixture)
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        let decoded = &mut self.decoded;
        let rewritten = self
            .encoding
            .and_then(|e| rewrite_with(call, |text| decoded.reencode(text, e)));
        let reply = self.inner.invoke(rewritten.as_ref().unwrap_or(call));
        self.calls += 1;
        if self.keep_sent {
            self.sent.push(rewritten.unwrap_or_else(|| call.clone()));
        }
        reply
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.inner.poll_job(job)
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        let snapshot = self.inner.snapshot()?;
        self.reports
            .push((self.calls, HostReport::Full(snapshot.clone())));
        Ok(snapshot)
    }

    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        let delta = self.inner.changes()?;
        if let Some(delta) = &delta {
            self.reports
                .push((self.calls, HostReport::Changes(delta.clone())));
        }
        Ok(delta)
    }
}

/// One run of a case, as compared.
struct Run {
    outcome: SequenceOutcome,
    reports: Vec<(usize, HostReport)>,
}

/// One run of `ops`; `decoded` carries decoded instances from one run of a case to the next.
fn run(
    service: &mut dyn PoolService,
    profile: &Profile,
    filter: &RuleFilter,
    ops: &[Operation],
    encoding: Option<Encoding>,
    decoded: &mut Decoded,
) -> Result<Run, HarnessError> {
    let mut rendering = Rendering::new(service, encoding);
    rendering.keep_sent = false;
    rendering.decoded = std::mem::take(decoded);
    let mut stats = RuleStats::default();
    let outcome = run_sequence_scoped(&mut rendering, profile, ops, &mut stats, filter);
    *decoded = std::mem::take(&mut rendering.decoded);
    let outcome = outcome?;
    Ok(Run {
        outcome,
        reports: rendering.reports,
    })
}

/// An outcome as EMB-004 compares it: the class of answer and its code, not its text.
fn outcome_key(observed: &Observed) -> String {
    match observed {
        Observed::Skipped => "was skipped".into(),
        Observed::Unsupported(_) => "was unsupported".into(),
        Observed::Completed { via_job: false } => "completed synchronously".into(),
        Observed::Completed { via_job: true } => "completed through a job".into(),
        Observed::Refused { channel, code, .. } => match channel {
            Channel::ReturnValue => format!("was refused with ReturnValue {code}"),
            Channel::Job => format!("was refused by its job with ErrorCode {code}"),
            Channel::CimStatus => format!("was refused with CIM status {code}"),
        },
        Observed::Broken(_) => "gave no usable answer".into(),
    }
}

/// Whether a step's call carried at least one embedded instance.
fn carries_instances(record: &StepRecord) -> bool {
    record.call.as_ref().is_some_and(|call| {
        call.params.iter().any(|p| {
            let embedded = EMBEDDED_PARAMETERS
                .iter()
                .any(|name| p.name.eq_ignore_ascii_case(name));
            embedded
                && match &p.value {
                    ParamValue::String(_) => true,
                    ParamValue::StringArray(items) => !items.is_empty(),
                    _ => false,
                }
        })
    })
}

/// What changed on the host at each point the harness looked (index 0: the host after reset;
/// index k: after the k-th judged step), with every pool path replaced by a name that does not
/// depend on the paths the implementation chose: the pools of the first snapshot after reset by
/// their place in it, sorted by type, PoolID and name; every later pool by the number of calls
/// made before it first appeared (and its place among the pools new there). Reports made
/// before the same call count (a change report and the full snapshot that verifies it) are
/// one point. A change is a pool's new view, or its absence once deleted — computed on a
/// mirror of the host, so a report that repeats unchanged pools changes nothing.
fn canonical(reports: &[(usize, HostReport)]) -> Vec<Snapshot> {
    let mut names: BTreeMap<ObjectPath, String> = BTreeMap::new();
    let order = |pools: &mut Vec<&crate::sut::PoolView>| {
        pools.sort_by(|a, b| {
            (
                a.resource_type,
                &a.resource_subtype,
                &a.pool_id,
                &a.element_name,
            )
                .cmp(&(
                    b.resource_type,
                    &b.resource_subtype,
                    &b.pool_id,
                    &b.element_name,
                ))
        })
    };
    let mut mirror = ObservedHost::default();
    let mut out = Vec::new();
    for (index, point) in reports.chunk_by(|a, b| a.0 == b.0).enumerate() {
        let calls = point[0].0;
        let mut touched: BTreeSet<ObjectPath> = BTreeSet::new();
        for (_, report) in point {
            let update = match report {
                HostReport::Full(snapshot) => mirror.replace(snapshot.clone()),
                HostReport::Changes(delta) => mirror.apply(delta.clone()),
            };
            touched.extend(update.touched);
        }
        let mut new: Vec<&crate::sut::PoolView> = touched
            .iter()
            .filter(|p| !names.contains_key(*p))
            .filter_map(|p| mirror.pool(p))
            .collect();
        order(&mut new);
        for (k, pool) in new.into_iter().enumerate() {
            let name = if index == 0 {
                format!("initial#{k}")
            } else {
                format!("new-after-call-{calls}#{k}")
            };
            names.insert(pool.path.clone(), name);
        }
        let rename = |path: &ObjectPath| {
            ObjectPath(
                names
                    .get(path)
                    .cloned()
                    .unwrap_or_else(|| format!("unknown:{}", path.0)),
            )
        };
        let mut pools: Vec<crate::sut::PoolView> = touched
            .iter()
            .map(|path| match mirror.pool(path) {
                Some(p) => {
                    let mut p = p.clone();
                    p.path = rename(&p.path);
                    for allocation in &mut p.allocations {
                        allocation.parent = rename(&allocation.parent);
                    }
                    p
                }
                // Deleted: named, and marked as gone.
                None => crate::sut::PoolView {
                    path: rename(path),
                    pool_id: "(deleted)".into(),
                    element_name: String::new(),
                    resource_type: 0,
                    resource_subtype: String::new(),
                    primordial: false,
                    capacity: 0,
                    reserved: 0,
                    host_resources: Vec::new(),
                    allocations: Vec::new(),
                },
            })
            .collect();
        crate::model::state::normalize(&mut pools);
        out.push(Snapshot { pools });
    }
    out
}

/// Where and how a re-encoded run differed from the run as generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The encoding of the run that differed.
    pub encoding: Encoding,
    /// The index of the first step that differed.
    pub step: usize,
    pub detail: String,
}

/// The result of comparing one case's runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// The run as generated failed another rule: nothing to compare.
    NotCompared,
    /// The runs agreed; `steps` steps carried embedded instances.
    Agreed {
        steps: u64,
    },
    Diverged(Divergence),
}

fn describe_step(record: &StepRecord) -> String {
    match &record.step {
        Some(step) => format!("step {} ({})", record.index, step.method),
        None => format!("step {}", record.index),
    }
}

/// `mine` is `canonical(&primary.reports)`, computed once for all of a case's renditions.
fn first_difference(
    primary: &Run,
    mine: &[Snapshot],
    other: &Run,
    encoding: Encoding,
) -> Option<Divergence> {
    let diverged = |step: usize, detail: String| Divergence {
        encoding,
        step,
        detail,
    };
    let (ours, theirs) = (&primary.outcome.steps, &other.outcome.steps);
    let yours = canonical(&other.reports);
    // Snapshot k+1 follows the k-th judged step; index 0 is the one after reset.
    let mut judged = 0;
    for (a, b) in ours.iter().zip(theirs) {
        let (key_a, key_b) = (outcome_key(&a.observed), outcome_key(&b.observed));
        if key_a != key_b {
            return Some(diverged(
                a.index,
                format!(
                    "{}: with its embedded instances as generated it {key_a}; re-encoded as \
                     {encoding:?} it {key_b}",
                    describe_step(a)
                ),
            ));
        }
        let rules = |r: &StepRecord| r.violations.iter().map(|v| v.rule).collect::<Vec<_>>();
        if rules(a) != rules(b) {
            return Some(diverged(
                a.index,
                format!(
                    "{}: as generated it violated {:?}; re-encoded as {encoding:?}, {:?}",
                    describe_step(a),
                    rules(a),
                    rules(b)
                ),
            ));
        }
        let was_judged = !matches!(a.observed, Observed::Skipped | Observed::Unsupported(_));
        if was_judged {
            judged += 1;
            if let (Some(x), Some(y)) = (mine.get(judged), yours.get(judged)) {
                if x != y {
                    return Some(diverged(
                        a.index,
                        format!(
                            "{}: both runs {key_a}, but re-encoded as {encoding:?} the host \
                             differs afterwards (pools named up to their paths):\n{}",
                            describe_step(a),
                            state_diff(x, y)
                        ),
                    ));
                }
            }
        }
    }
    if ours.len() != theirs.len() {
        let at = ours.len().min(theirs.len());
        return Some(diverged(
            at,
            format!(
                "as generated the sequence ran {} steps; re-encoded as {encoding:?}, {}",
                ours.len(),
                theirs.len()
            ),
        ));
    }
    None
}

/// Runs `ops` as generated and in every [`RENDITIONS`] encoding, and compares.
pub fn compare(
    service: &mut dyn PoolService,
    profile: &Profile,
    filter: &RuleFilter,
    ops: &[Operation],
) -> Result<Comparison, HarnessError> {
    compare_with(service, profile, filter, ops, &mut Decoded::default())
}

/// [`compare`], re-encoding through `decoded` (kept by the caller from one case to the next).
fn compare_with(
    service: &mut dyn PoolService,
    profile: &Profile,
    filter: &RuleFilter,
    ops: &[Operation],
    decoded: &mut Decoded,
) -> Result<Comparison, HarnessError> {
    let primary = run(service, profile, filter, ops, None, decoded)?;
    if primary.outcome.failure.is_some() {
        return Ok(Comparison::NotCompared);
    }
    let steps = primary
        .outcome
        .steps
        .iter()
        .filter(|r| carries_instances(r))
        .count() as u64;
    if steps == 0 {
        return Ok(Comparison::Agreed { steps });
    }
    let mine = canonical(&primary.reports);
    for encoding in RENDITIONS {
        let other = run(service, profile, filter, ops, Some(encoding), decoded)?;
        if let Some(divergence) = first_difference(&primary, &mine, &other, encoding) {
            return Ok(Comparison::Diverged(divergence));
        }
    }
    Ok(Comparison::Agreed { steps })
}

/// Drops single steps while the case still diverges, and cuts it after the step that does.
fn minimize(
    service: &mut dyn PoolService,
    profile: &Profile,
    filter: &RuleFilter,
    mut ops: Vec<Operation>,
) -> Result<Vec<Operation>, HarnessError> {
    loop {
        let mut improved = false;
        for idx in 0..ops.len() {
            if ops.len() <= 1 {
                break;
            }
            let mut candidate = ops.clone();
            candidate.remove(idx);
            if matches!(
                compare(service, profile, filter, &candidate)?,
                Comparison::Diverged(_)
            ) {
                ops = candidate;
                improved = true;
                break;
            }
        }
        if !improved {
            break;
        }
    }
    if let Comparison::Diverged(d) = compare(service, profile, filter, &ops)? {
        ops.truncate(d.step + 1);
    }
    Ok(ops)
}

/// Runs `ops` as generated and re-encoded as `encoding`, and returns where they first differ,
/// whatever the run as generated did.
fn diverges_as(
    service: &mut dyn PoolService,
    profile: &Profile,
    filter: &RuleFilter,
    ops: &[Operation],
    encoding: Encoding,
) -> Result<Option<Divergence>, HarnessError> {
    let mut decoded = Decoded::default();
    let primary = run(service, profile, filter, ops, None, &mut decoded)?;
    let other = run(service, profile, filter, ops, Some(encoding), &mut decoded)?;
    let mine = canonical(&primary.reports);
    Ok(first_difference(&primary, &mine, &other, encoding))
}

/// The trace of the run re-encoded as `encoding` (its calls as sent, its `rendition` set),
/// with the EMB-004 violation on the step that differed from the run as generated, if any.
fn rendition_trace(
    service: &mut dyn PoolService,
    profile: &Profile,
    filter: &RuleFilter,
    ops: &[Operation],
    encoding: Encoding,
    divergence: Option<&Divergence>,
) -> Result<super::Trace, HarnessError> {
    let mut rendering = Rendering::new(service, Some(encoding));
    let mut trace = replay_scoped(&mut rendering, profile, ops, filter)?;
    trace.rendition = Some(encoding);
    let mut sent = rendering.sent.into_iter();
    for record in &mut trace.steps {
        if record.call.is_some() {
            record.call = sent.next();
        }
    }
    if let Some(divergence) = divergence {
        // A run that stopped early differs where it stopped: on its last step.
        let at = trace
            .steps
            .iter()
            .position(|r| r.index == divergence.step)
            .or(trace.steps.len().checked_sub(1));
        if let Some(record) = at.map(|at| &mut trace.steps[at]) {
            record.violations.insert(
                0,
                Violation {
                    rule: emb_004(),
                    detail: divergence.detail.clone(),
                },
            );
            record.tolerated = tolerance(emb_004(), profile, filter);
        }
    }
    trace.verdict = TraceVerdict::of(&trace.steps);
    Ok(trace)
}

/// Replays an EMB-004 trace: `ops` run as generated and re-encoded as `encoding`, compared as
/// [`phase`] compares them. The trace is the re-encoded run's, with EMB-004 on the step that
/// differed when the runs still differ (tolerated as the filter and profile say); when they
/// agree it is that run's own verdict.
pub fn replay_rendition(
    service: &mut dyn PoolService,
    profile: &Profile,
    ops: &[Operation],
    encoding: Encoding,
    filter: &RuleFilter,
) -> Result<super::Trace, HarnessError> {
    let divergence = diverges_as(service, profile, filter, ops, encoding)?;
    rendition_trace(service, profile, filter, ops, encoding, divergence.as_ref())
}

/// The EMB-004 phase of a run that found no other failure: compares a share of generated
/// cases ([`EVERY`]), adds what it checked to `stats`, and returns the first divergence,
/// shrunk, as the run's failure (`cases_run`: the cases the main run generated before).
/// Skipped when the filter leaves EMB-004 out; when `out_of_time` says the run's time budget
/// is spent, stopped after [`MIN_CASES`].
#[allow(clippy::too_many_arguments)]
pub fn phase(
    service: &mut dyn PoolService,
    profile: &Profile,
    config: &Config,
    filter: &RuleFilter,
    stats: &mut RuleStats,
    started: Instant,
    cases_run: u32,
    out_of_time: &dyn Fn() -> bool,
) -> Result<Option<Failure>, HarnessError> {
    let rule = emb_004();
    if !filter.includes(rule) || config.cases == 0 {
        return Ok(None);
    }
    let cases = (config.cases / EVERY).max(1);
    let min_cases = if cases_run == 0 {
        0
    } else {
        MIN_CASES.min(cases)
    };
    let mut seed = [0u8; 32];
    for (idx, chunk) in seed.chunks_mut(8).enumerate() {
        let word = config.seed ^ 0x0045_4d42_2d30_3034_u64.wrapping_mul(idx as u64 + 3);
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    );
    let strategy = strategy::sequence(profile, config.max_steps);
    let mut decoded = Decoded::default();
    for case in 0..cases {
        if case >= min_cases && out_of_time() {
            break;
        }
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            break;
        };
        let ops = tree.current();
        let divergence = match compare_with(service, profile, filter, &ops, &mut decoded)? {
            Comparison::NotCompared => continue,
            Comparison::Agreed { steps } => {
                let counts = stats.rules.entry(rule).or_default();
                counts.checked += steps;
                counts.decisive += steps;
                continue;
            }
            Comparison::Diverged(d) => d,
        };
        let counts = stats.rules.entry(rule).or_default();
        counts.checked += 1;
        counts.decisive += 1;
        if tolerance(rule, profile, filter) == Some(Tolerance::Expected) {
            stats.record_expected(rule);
            continue;
        }
        counts.failed += 1;
        let time_to_failure = started.elapsed();
        let original_steps = ops.len();
        let ops = minimize(service, profile, filter, ops)?;
        let mut deterministic = true;
        let mut last = divergence.clone();
        for _ in 0..config.reruns.max(1) {
            match compare(service, profile, filter, &ops)? {
                Comparison::Diverged(d) => last = d,
                _ => deterministic = false,
            }
        }
        let mut trace =
            rendition_trace(service, profile, filter, &ops, last.encoding, Some(&last))?;
        trace.seed = Some(config.seed);
        return Ok(Some(Failure {
            rule,
            detail: last.detail.clone(),
            cases_until_failure: cases_run + case + 1,
            time_to_failure,
            original_steps,
            shrunk_steps: ops.len(),
            deterministic,
            trace,
        }));
    }
    Ok(None)
}
