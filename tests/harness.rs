//! The harness end to end: the reference implementation conforms in both dialects with every
//! applicable rule exercised; broken implementations fail with the right rule; shrinking
//! gives a minimal sequence (tests/mutants.rs checks the zoo); the same seed gives the same run.

mod common;

use common::*;
use poolcheck::harness::{self, check, replay, Config, RunReport, Verdict};
use poolcheck::model::operation::PoolSel;
use poolcheck::model::Operation;
use poolcheck::mutants;
use poolcheck::reference::ReferenceService;
use poolcheck::spec::Profile;
use poolcheck::sut::*;
use rstest::rstest;

fn run(target: &str, profile: &str, cases: u32, seed: u64) -> RunReport {
    let profile = Profile::built_in(profile);
    let mut service = mutants::build(target, &profile).expect("target builds");
    check(
        &mut *service,
        &profile,
        &Config {
            cases,
            seed,
            ..Config::default()
        },
    )
    .expect("harness runs")
}

#[rstest]
#[case("reference-msvm")]
#[case("reference-cim")]
fn the_reference_conforms_and_exercises_every_applicable_rule(#[case] profile: &str) {
    let report = run("reference", profile, 600, 20261121);
    assert!(report.conforms(), "{:#?}", report.failure);
    let idle: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.verdict == Verdict::NotExercised)
        .map(|r| r.rule.0)
        .collect();
    assert!(
        idle.is_empty(),
        "rules not exercised under {profile}: {idle:?}"
    );
    assert_eq!(report.rules.len(), poolcheck::spec::rules::all().len());
}

#[rstest]
#[case::two_settings_for_three_parents("accept-any-allocation-count", &["ARG-001"])]
#[case::ignores_parent_capacity("ignore-parent-capacity", &["CAP-005", "CAP-001"])]
#[case::leaks_on_failure("leak-on-failure", &["ATOM-001", "JOB-004", "CAP-002"])]
fn broken_implementations_fail_with_the_right_rule(
    #[case] mutant: &str,
    #[case] rules: &[&str],
    #[values("reference-msvm", "reference-cim")] profile: &str,
) {
    let report = run(&format!("mutant:{mutant}"), profile, 1000, 7);
    let failure = report.failure.as_ref().expect("the mutant is caught");
    assert!(
        rules.contains(&failure.rule.0),
        "{mutant} under {profile} was caught by {} ({})",
        failure.rule,
        failure.detail
    );
    assert_eq!(report.verdict(failure.rule.0), Some(Verdict::Failed));
    assert!(!report.conforms());
}

// The zoo and the minimality of shrunk counterexamples: tests/mutants.rs.

#[test]
fn the_same_seed_gives_the_same_run() {
    let a = run("mutant:leak-on-failure", "reference-cim", 500, 99);
    let b = run("mutant:leak-on-failure", "reference-cim", 500, 99);
    let (fa, fb) = (
        a.failure.clone().expect("caught"),
        b.failure.clone().expect("caught"),
    );
    assert_eq!(fa.trace, fb.trace);
    assert_eq!(fa.cases_until_failure, fb.cases_until_failure);
    assert_eq!(a.rules, b.rules);
    let c = run("reference", "reference-msvm", 100, 5);
    let d = run("reference", "reference-msvm", 100, 5);
    assert_eq!((c.rules, c.steps_run), (d.rules, d.steps_run));
    let e = run("reference", "reference-msvm", 100, 6);
    assert_ne!(
        d.steps_run, e.steps_run,
        "another seed should give another run"
    );
}

/// A wrapper that breaks one thing the snapshot or the job reports, for the invariants the
/// zoo's defects never reach on their own.
struct Tamper {
    inner: ReferenceService,
    on_snapshot: fn(&mut Snapshot),
    on_job: fn(&mut JobView),
    /// Forward the reference's change reports (tampered the same way) instead of leaving
    /// `changes` untracked: the invariants are then checked on the reported pools only.
    incremental: bool,
}

impl PoolService for Tamper {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.inner.reset(fixture)
    }
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.inner.invoke(call)
    }
    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        let mut view = self.inner.poll_job(job)?;
        (self.on_job)(&mut view);
        Ok(view)
    }
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        let mut snapshot = self.inner.snapshot()?;
        (self.on_snapshot)(&mut snapshot);
        Ok(snapshot)
    }
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        if !self.incremental {
            return Ok(None);
        }
        let Some(delta) = self.inner.changes()? else {
            return Ok(None);
        };
        let mut changed = Snapshot {
            pools: delta.changed,
        };
        (self.on_snapshot)(&mut changed);
        Ok(Some(SnapshotDelta {
            changed: changed.pools,
            removed: delta.removed,
        }))
    }
}

fn children(s: &mut Snapshot) -> impl Iterator<Item = &mut PoolView> {
    s.pools.iter_mut().filter(|p| !p.primordial)
}

fn no_change(_: &mut JobView) {}
fn no_snapshot_change(_: &mut Snapshot) {}

#[rstest]
#[case::reserved_above_capacity("CAP-001", |s: &mut Snapshot| children(s).for_each(|p| p.reserved = p.capacity + 1), no_change as fn(&mut JobView))]
#[case::capacity_not_what_it_holds("CAP-004", |s: &mut Snapshot| children(s).for_each(|p| p.capacity += 1), no_change as fn(&mut JobView))]
#[case::holds_from_a_stranger("CAP-003", |s: &mut Snapshot| children(s).for_each(|p| p.allocations.iter_mut().for_each(|a| a.parent = ObjectPath::new("nowhere"))), no_change as fn(&mut JobView))]
#[case::duplicate_pool_ids("ID-001", |s: &mut Snapshot| children(s).for_each(|p| p.pool_id = String::new()), no_change as fn(&mut JobView))]
#[case::primordial_shrinks("PRIM-001", |s: &mut Snapshot| s.pools.iter_mut().filter(|p| p.primordial).for_each(|p| p.capacity = p.capacity.saturating_sub(1)), no_change as fn(&mut JobView))]
#[case::success_with_error_code("JOB-003", no_snapshot_change as fn(&mut Snapshot), |j: &mut JobView| if j.job_state == 7 { j.error_code = 1 })]
#[case::wrong_job_type("JOB-006", no_snapshot_change as fn(&mut Snapshot), |j: &mut JobView| j.job_type = 999)]
#[case::undocumented_job_state("JOB-002", no_snapshot_change as fn(&mut Snapshot), |j: &mut JobView| j.job_state = 13)]
fn invariants_catch_a_tampered_report(
    #[case] rule: &str,
    #[case] on_snapshot: fn(&mut Snapshot),
    #[case] on_job: fn(&mut JobView),
    #[values(false, true)] incremental: bool,
) {
    let profile = Profile::built_in("reference-msvm");
    let mut service = Tamper {
        inner: ReferenceService::new(mutants::reference_config(&profile)),
        on_snapshot,
        on_job,
        incremental,
    };
    let ops: Vec<Operation> = vec![
        create(MEMORY, 1, &[live(0)], &[qty(8)]),
        create(MEMORY, 2, &[live(1)], &[qty(8)]),
    ];
    let trace = replay(&mut service, &profile, &ops).expect("replays");
    assert!(
        trace.verdict.failed_rules.iter().any(|r| r.0 == rule),
        "expected {rule} among {:?}",
        trace.verdict.failed_rules
    );
}

#[test]
fn a_failure_trace_round_trips_through_json() {
    let report = run("mutant:delete-with-children", "reference-cim", 1000, 1);
    let trace = report.failure.expect("caught").trace;
    let text = trace.to_json();
    let back = harness::Trace::from_json(&text).expect("parses");
    assert_eq!(back, trace);
    assert!(text.contains("\"DEL-001\""));
}

#[test]
fn an_implementation_that_cannot_reset_is_a_harness_error() {
    struct Dead;
    impl PoolService for Dead {
        fn describe(&self) -> ServiceDescription {
            ServiceDescription {
                name: "dead".into(),
                version: "0".into(),
                dialect: Dialect::Msvm,
            }
        }
        fn reset(&mut self, _: &HostFixture) -> Result<(), ServiceError> {
            Err(ServiceError::Crashed("exit status 3".into()))
        }
        fn invoke(&mut self, _: &MethodCall) -> Result<CallReply, ServiceError> {
            Err(ServiceError::Crashed("gone".into()))
        }
        fn poll_job(&mut self, _: &ObjectPath) -> Result<JobView, ServiceError> {
            Err(ServiceError::Crashed("gone".into()))
        }
        fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
            Err(ServiceError::Crashed("gone".into()))
        }
    }
    let profile = Profile::built_in("reference-msvm");
    let err = check(
        &mut Dead,
        &profile,
        &Config {
            cases: 5,
            ..Config::default()
        },
    )
    .expect_err("cannot run");
    assert!(err.to_string().contains("exit status 3"), "{err}");
}

#[test]
fn a_crashing_call_is_a_reported_failure_not_a_panic() {
    struct Crashy(ReferenceService);
    impl PoolService for Crashy {
        fn describe(&self) -> ServiceDescription {
            self.0.describe()
        }
        fn reset(&mut self, f: &HostFixture) -> Result<(), ServiceError> {
            self.0.reset(f)
        }
        fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
            if call.method == Method::DeletePool {
                return Err(ServiceError::Protocol("garbage on the wire".into()));
            }
            self.0.invoke(call)
        }
        fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
            self.0.poll_job(job)
        }
        fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
            self.0.snapshot()
        }
    }
    let profile = Profile::built_in("reference-msvm");
    let mut service = Crashy(ReferenceService::new(mutants::reference_config(&profile)));
    let report = check(
        &mut service,
        &profile,
        &Config {
            cases: 200,
            seed: 4,
            ..Config::default()
        },
    )
    .expect("runs");
    let failure = report.failure.expect("the garbage is a failure");
    assert!(
        failure.detail.contains("garbage on the wire"),
        "{}",
        failure.detail
    );
    assert_eq!(failure.shrunk_steps, 1);
    let _ = PoolSel::Live(0);
}

/// The reference behind a filter on its change reports, counting full snapshots.
struct Reports {
    inner: Box<dyn PoolService>,
    /// What to do to each report; `None` leaves `changes` untracked.
    filter: Option<fn(&mut SnapshotDelta)>,
    snapshots: usize,
}

impl PoolService for Reports {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.inner.reset(fixture)
    }
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.inner.invoke(call)
    }
    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.inner.poll_job(job)
    }
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.snapshots += 1;
        self.inner.snapshot()
    }
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        let Some(filter) = self.filter else {
            return Ok(None);
        };
        let mut delta = self.inner.changes()?.expect("the reference tracks changes");
        filter(&mut delta);
        Ok(Some(delta))
    }
}

fn check_reports(service: &mut Reports, profile: &Profile) -> RunReport {
    check(
        service,
        profile,
        &Config {
            cases: 200,
            seed: 11,
            ..Config::default()
        },
    )
    .expect("harness runs")
}

#[rstest]
fn truthful_change_reports_replace_the_full_snapshot_after_every_step(
    #[values("reference-msvm", "reference-cim")] profile: &str,
) {
    let profile = Profile::built_in(profile);
    let reference = || -> Box<dyn PoolService> {
        Box::new(ReferenceService::new(mutants::reference_config(&profile)))
    };
    let mut tracked = Reports {
        inner: reference(),
        filter: Some(|_| {}),
        snapshots: 0,
    };
    let mut untracked = Reports {
        inner: reference(),
        filter: None,
        snapshots: 0,
    };
    let with_reports = check_reports(&mut tracked, &profile);
    let with_snapshots = check_reports(&mut untracked, &profile);
    assert!(with_reports.conforms(), "{:#?}", with_reports.failure);
    assert_eq!(with_reports.changes_breach, None);
    // Same verdicts and counts either way.
    assert_eq!(with_reports.rules, with_snapshots.rules);
    assert_eq!(with_reports.steps_run, with_snapshots.steps_run);
    // A full snapshot only at the start and the end of each sequence (EMB-004's re-encoded
    // re-runs included), instead of one per step.
    assert!(
        untracked.snapshots as u64 > with_reports.steps_run,
        "{} snapshots without reports",
        untracked.snapshots
    );
    assert!(
        tracked.snapshots * 8 < untracked.snapshots,
        "{} snapshots with reports, {} without",
        tracked.snapshots,
        untracked.snapshots
    );
}

#[rstest]
#[case::forgets_deletions(|d: &mut SnapshotDelta| d.removed.clear())]
#[case::forgets_parents(|d: &mut SnapshotDelta| d.changed.retain(|p| p.allocations.is_empty()))]
#[case::reports_nothing(|d: &mut SnapshotDelta| *d = SnapshotDelta::default())]
fn a_change_report_that_leaves_out_a_change_cannot_hide_or_invent_a_failure(
    #[case] filter: fn(&mut SnapshotDelta),
) {
    let profile = Profile::built_in("reference-msvm");
    // The conforming reference still conforms, and the report says why full snapshots were used.
    let mut service = Reports {
        inner: Box::new(ReferenceService::new(mutants::reference_config(&profile))),
        filter: Some(filter),
        snapshots: 0,
    };
    let report = check_reports(&mut service, &profile);
    assert!(report.conforms(), "{:#?}", report.failure);
    let why = report.changes_breach.expect("the breach is reported");
    assert!(
        why.contains("changes() did not report every change"),
        "{why}"
    );
    // A mutant whose reports hide its defect is still caught by one of its rules.
    let mutant = mutants::find("no-release-on-delete").expect("in the zoo");
    let mut service = Reports {
        inner: mutants::build("mutant:no-release-on-delete", &profile).expect("builds"),
        filter: Some(filter),
        snapshots: 0,
    };
    let report = check_reports(&mut service, &profile);
    let failure = report.failure.expect("the mutant is caught");
    assert!(
        mutant.rules.contains(&failure.rule.0),
        "caught by {}, tagged {:?}",
        failure.rule,
        mutant.rules
    );
}
