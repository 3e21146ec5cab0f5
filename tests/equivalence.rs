//! EMB-004 (src/harness/equivalence.rs): equivalent encodings of an embedded instance must be
//! treated the same. The reference passes it in both dialects with the rule exercised;
//! implementations that treat one encoding differently — refusing WMI DTD 2.0's qualifiers,
//! refusing MOF, reading MOF differently — are caught by it, at the step that differs.

mod common;
mod shape;

use std::time::Instant;

use common::*;
use poolcheck::codec::{decode, AllocationSettingData, CimType, Encoding, PoolSettingData};
use poolcheck::harness::equivalence::{
    compare, phase, replay_rendition, rewrite, Comparison, EMBEDDED_PARAMETERS,
};
use poolcheck::harness::scope::Tolerance;
use poolcheck::harness::{
    check, replay, replay_trace, Config, RuleFilter, RuleStats, RunReport, Trace, Verdict,
};
use poolcheck::model::operation::{EncodingSel, Fault, Malformation};
use poolcheck::model::Operation;
use poolcheck::mutants;
use poolcheck::spec::profile::ExpectedFailure;
use poolcheck::spec::{Profile, RuleId};
use poolcheck::sut::*;

/// Msvm's and CIM's Invalid Parameter.
const MSVM_INVALID: u32 = 32773;
const CIM_INVALID: u32 = 5;

const TRACE_FORMAT_DOC: &str = include_str!("../spec/trace-format.md");

/// Which embedded-instance texts a broken service refuses (or misreads).
#[derive(Clone, Copy, Debug)]
enum Quirk {
    /// Refuses CIM-XML that carries qualifiers or `CLASSORIGIN` (a parser written against
    /// `GetText(1)` output only).
    RefusesWmiDecorations,
    /// Refuses MOF instance text.
    RefusesMof,
    /// Reads MOF PoolSettings without their ElementName.
    DropsMofElementName,
}

/// The reference implementation behind a quirk.
struct Quirky {
    inner: Box<dyn PoolService>,
    quirk: Quirk,
    invalid: u32,
}

fn embedded_texts(call: &MethodCall) -> Vec<&str> {
    call.params
        .iter()
        .filter(|p| {
            EMBEDDED_PARAMETERS
                .iter()
                .any(|n| p.name.eq_ignore_ascii_case(n))
        })
        .flat_map(|p| match &p.value {
            ParamValue::String(s) => vec![s.as_str()],
            ParamValue::StringArray(items) => items.iter().map(String::as_str).collect(),
            _ => vec![],
        })
        .collect()
}

impl Quirky {
    /// Invalid Parameter, with an `Error` output as the reference profiles ask (EMB-005): one
    /// `CIM_Error` whose Message names the embedded-instance parameters it refused.
    fn refusal(&self, call: &MethodCall, why: &str) -> CallReply {
        let names: Vec<&str> = call
            .params
            .iter()
            .filter(|p| EMBEDDED_PARAMETERS.contains(&p.name.as_str()))
            .map(|p| p.name.as_str())
            .collect();
        let error = poolcheck::codec::Instance::new("CIM_Error").with_scalar(
            "Message",
            CimType::String,
            format!("{}: {why}", names.join(", ")),
        );
        let mut ret = MethodReturn::code(self.invalid);
        ret.out_params.push(Param {
            name: "Error".into(),
            value: ParamValue::String(poolcheck::codec::encode(&error, Encoding::CimXml)),
        });
        CallReply::Return(ret)
    }
}

impl PoolService for Quirky {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.inner.reset(fixture)
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        let texts = embedded_texts(call);
        let is_mof = |t: &&str| !t.trim_start().starts_with('<');
        match self.quirk {
            Quirk::RefusesWmiDecorations
                if texts
                    .iter()
                    .any(|t| t.contains("<QUALIFIER") || t.contains("CLASSORIGIN=")) =>
            {
                return Ok(self.refusal(call, "qualifiers and CLASSORIGIN are not supported"))
            }
            Quirk::RefusesMof if texts.iter().any(is_mof) => {
                return Ok(self.refusal(call, "MOF instance text is not supported"))
            }
            Quirk::DropsMofElementName => {
                let mut call = call.clone();
                for p in &mut call.params {
                    if let ParamValue::String(text) = &mut p.value {
                        if p.name == "PoolSettings" && !text.trim_start().starts_with('<') {
                            *text = text
                                .lines()
                                .filter(|l| !l.trim_start().starts_with("ElementName"))
                                .collect::<Vec<_>>()
                                .join("\n");
                        }
                    }
                }
                return self.inner.invoke(&call);
            }
            _ => {}
        }
        self.inner.invoke(call)
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.inner.poll_job(job)
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.inner.snapshot()
    }
}

fn quirky(quirk: Quirk, profile: &Profile) -> Quirky {
    let invalid = if profile.name.contains("cim") {
        CIM_INVALID
    } else {
        MSVM_INVALID
    };
    Quirky {
        inner: mutants::build("reference", profile).expect("the reference builds"),
        quirk,
        invalid,
    }
}

fn run(service: &mut dyn PoolService, profile: &Profile, cases: u32) -> RunReport {
    check(
        service,
        profile,
        &Config {
            cases,
            seed: 4004,
            ..Config::default()
        },
    )
    .expect("harness runs")
}

/// Creates, modifies and renames, every embedded instance generated as compact CIM-XML.
fn xml_only_sequence() -> Vec<Operation> {
    let mut ops = vec![
        create(MEMORY, 1, &[live(0)], &[qty(8)]),
        create(ETHERNET, 2, &[live(0)], &[res(0b011)]),
        create(MEMORY, 3, &[live(0)], &[qty(4)]),
    ];
    let mut renamed = rename(live(0), 4, false);
    if let Operation::ChangeSettings(op) = &mut renamed {
        op.encoding = EncodingSel::CimXml;
    }
    ops.push(renamed);
    ops
}

#[test]
fn the_reference_treats_every_encoding_the_same_and_the_rule_is_exercised() {
    for name in ["reference-msvm", "reference-cim"] {
        let profile = Profile::built_in(name);
        let mut service = mutants::build("reference", &profile).expect("builds");
        let report = run(&mut *service, &profile, 200);
        assert!(report.conforms(), "{name}: {:#?}", report.failure);
        assert_eq!(report.verdict("EMB-004"), Some(Verdict::Passed), "{name}");
        let counts = report
            .rules
            .iter()
            .find(|r| r.rule.0 == "EMB-004")
            .expect("EMB-004 is in the table")
            .counts;
        assert!(counts.decisive >= 50, "{name}: {counts:?}");
    }
}

#[test]
fn a_service_that_refuses_wmi_dtd_20_text_fails_emb_004_and_nothing_else() {
    for name in ["reference-msvm", "reference-cim"] {
        let profile = Profile::built_in(name);
        let mut service = quirky(Quirk::RefusesWmiDecorations, &profile);
        let report = run(&mut service, &profile, 200);
        let failure = report.failure.as_ref().expect("the quirk is caught");
        println!("{name}: {}", failure.detail);
        assert_eq!(failure.rule.0, "EMB-004", "{name}: {}", failure.detail);
        assert!(
            failure.detail.contains("WmiDtd20") && failure.detail.contains("refused"),
            "{name}: {}",
            failure.detail
        );
        assert_eq!(report.verdict("EMB-004"), Some(Verdict::Failed));
        let others_failed: Vec<&str> = report
            .rules
            .iter()
            .filter(|r| r.rule.0 != "EMB-004" && r.verdict == Verdict::Failed)
            .map(|r| r.rule.0)
            .collect();
        assert!(others_failed.is_empty(), "{name}: {others_failed:?}");
        // Shrunk to the one step that differs, shown as re-encoded, with the violation on it.
        assert_eq!(
            failure.shrunk_steps, 1,
            "{name}: {:#?}",
            failure.trace.operations
        );
        assert!(failure.deterministic);
        let step = failure.trace.steps.last().expect("a step");
        assert_eq!(step.violations[0].rule.0, "EMB-004");
        let call = step.call.as_ref().expect("the call as sent");
        assert!(
            embedded_texts(call)
                .iter()
                .any(|t| t.contains("<QUALIFIER")),
            "{call:?}"
        );
        assert_eq!(failure.trace.verdict.failed_rules[0].0, "EMB-004");
    }
}

#[test]
fn a_service_that_refuses_mof_diverges_at_the_first_step_with_an_instance() {
    let profile = Profile::built_in("reference-msvm");
    let mut service = quirky(Quirk::RefusesMof, &profile);
    let ops = xml_only_sequence();
    match compare(&mut service, &profile, &RuleFilter::all(), &ops).expect("runs") {
        Comparison::Diverged(d) => {
            assert_eq!(d.encoding, Encoding::Mof);
            assert_eq!(d.step, 0);
            assert!(
                d.detail.contains("completed") && d.detail.contains("refused"),
                "{}",
                d.detail
            );
        }
        other => panic!("{other:?}"),
    }
    // The whole suite catches it too (the sequences it generates send MOF themselves).
    let report = run(&mut service, &profile, 200);
    assert!(!report.conforms());
}

#[test]
fn a_service_that_reads_mof_differently_diverges_in_what_it_does() {
    let profile = Profile::built_in("reference-msvm");
    let mut service = quirky(Quirk::DropsMofElementName, &profile);
    match compare(
        &mut service,
        &profile,
        &RuleFilter::all(),
        &xml_only_sequence(),
    )
    .expect("runs")
    {
        Comparison::Diverged(d) => {
            assert_eq!(d.encoding, Encoding::Mof);
            assert_eq!(d.step, 0, "{}", d.detail);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_reference_agrees_with_itself_on_a_fixed_sequence_with_faults() {
    let profile = Profile::built_in("reference-msvm");
    let mut service = mutants::build("reference", &profile).expect("builds");
    let mut ops = xml_only_sequence();
    ops.push(create_with(
        MEMORY,
        5,
        &[live(0)],
        &[qty(1)],
        Fault::Malformed(0, Malformation::Truncated),
    ));
    ops.push(create_with(
        MEMORY,
        6,
        &[live(0)],
        &[qty(1)],
        Fault::WrongClass(1),
    ));
    ops.push(create_with(
        MEMORY,
        7,
        &[live(0)],
        &[qty(1)],
        Fault::BadValue(0),
    ));
    assert_eq!(
        compare(&mut *service, &profile, &RuleFilter::all(), &ops).expect("runs"),
        Comparison::Agreed { steps: 7 }
    );
}

#[test]
fn rewriting_keeps_the_instance_and_leaves_what_does_not_decode() {
    let xml = r#"<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData"><PROPERTY NAME="PoolID" TYPE="string"><VALUE>P1</VALUE></PROPERTY><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>4</VALUE></PROPERTY></INSTANCE>"#;
    let rasd =
        "instance of Msvm_ResourceAllocationSettingData { ResourceType = 4; Reservation = 8; };";
    let call = MethodCall::new(Method::CreatePool)
        .with("PoolSettings", ParamValue::String(xml.into()))
        .with(
            "ParentPools",
            ParamValue::ReferenceArray(vec![ObjectPath::new("x")]),
        )
        .with(
            "AllocationSettings",
            ParamValue::StringArray(vec![rasd.into(), "<INSTANCE".into()]),
        );
    for encoding in [Encoding::CimXml, Encoding::WmiDtd20, Encoding::Mof] {
        let out = rewrite(&call, encoding).expect("the call holds instances");
        let settings = match out.param("PoolSettings") {
            Some(ParamValue::String(s)) => s.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(settings.trim_start().starts_with('<'), encoding.is_xml());
        let view = PoolSettingData::from_instance(&decode(&settings).expect("decodes"))
            .expect("a pool setting data");
        assert_eq!(
            (view.pool_id.as_deref(), view.resource_type),
            (Some("P1"), Some(4))
        );
        let Some(ParamValue::StringArray(items)) = out.param("AllocationSettings") else {
            panic!("allocations")
        };
        let allocation = AllocationSettingData::from_instance(&decode(&items[0]).expect("decodes"))
            .expect("an allocation");
        assert_eq!(allocation.reservation, Some(8));
        // From MOF, ResourceType comes back as the uint16 the class declares.
        if encoding.is_xml() {
            let instance = decode(&items[0]).expect("decodes");
            let resource_type = instance.property("ResourceType").expect("present");
            assert_eq!(resource_type.cim_type, CimType::Uint16);
        }
        assert_eq!(items[1], "<INSTANCE", "malformed text is sent unchanged");
        assert_eq!(out.param("ParentPools"), call.param("ParentPools"));
    }
    let no_instances = MethodCall::new(Method::DeletePool)
        .with("Pool", ParamValue::Reference(ObjectPath::new("x")));
    assert_eq!(rewrite(&no_instances, Encoding::Mof), None);
}

#[test]
fn a_spent_time_budget_still_runs_a_few_cases_and_a_rule_filter_leaves_the_rule_out() {
    let profile = Profile::built_in("reference-msvm");
    let mut service = mutants::build("reference", &profile).expect("builds");
    let config = Config {
        cases: 400,
        seed: 4004,
        ..Config::default()
    };
    let out_of_time = || true;
    let mut stats = RuleStats::default();
    let failure = phase(
        &mut *service,
        &profile,
        &config,
        &RuleFilter::all(),
        &mut stats,
        Instant::now(),
        10,
        &out_of_time,
    )
    .expect("runs");
    assert!(failure.is_none());
    let counts = stats
        .rules
        .get(&RuleId("EMB-004"))
        .copied()
        .unwrap_or_default();
    assert!(counts.decisive > 0, "{counts:?}");
    // Not even those when the main run generated no case at all.
    let mut stats = RuleStats::default();
    phase(
        &mut *service,
        &profile,
        &config,
        &RuleFilter::all(),
        &mut stats,
        Instant::now(),
        0,
        &out_of_time,
    )
    .expect("runs");
    assert!(stats.rules.is_empty(), "{stats:?}");

    let filtered = check(
        &mut *service,
        &profile,
        &Config {
            cases: 50,
            seed: 4004,
            rules: vec!["CAP".into()],
            ..Config::default()
        },
    )
    .expect("harness runs");
    assert_eq!(filtered.verdict("EMB-004"), Some(Verdict::Filtered));
    // A service EMB-004 would catch is not failed by it when it is filtered out.
    let mut quirk = quirky(Quirk::RefusesWmiDecorations, &profile);
    let report = check(
        &mut quirk,
        &profile,
        &Config {
            cases: 100,
            seed: 4004,
            rules: vec!["CAP".into()],
            ..Config::default()
        },
    )
    .expect("harness runs");
    assert!(report.failure.is_none(), "{:?}", report.failure);
}

fn emb_004_rules(trace: &Trace) -> Vec<&str> {
    trace.verdict.failed_rules.iter().map(|r| r.0).collect()
}

/// The trace of an EMB-004 failure names the rendition of the run that differed; written to
/// JSON and read back, it replays to the same verdict against the same implementation — where
/// a replay of its operations as generated passes — and passes against the reference. Without
/// the field (an older trace) it replays as generated.
#[test]
fn an_emb_004_trace_records_its_rendition_and_replays_to_the_same_verdict() {
    for name in ["reference-msvm", "reference-cim"] {
        let profile = Profile::built_in(name);
        let mut service = quirky(Quirk::RefusesWmiDecorations, &profile);
        let report = run(&mut service, &profile, 200);
        let failure = report.failure.as_ref().expect("the quirk is caught");
        assert_eq!(failure.rule.0, "EMB-004", "{name}: {}", failure.detail);
        assert_eq!(failure.trace.rendition, Some(Encoding::WmiDtd20), "{name}");

        let json = failure.trace.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value["rendition"], "WmiDtd20", "{name}");
        let fields = shape::documented(TRACE_FORMAT_DOC, "## Fields");
        let errors = shape::check(&value, &fields, "");
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let loaded = Trace::from_json(&json).expect("reads back");
        assert_eq!(loaded, failure.trace, "{name}");

        let all = RuleFilter::all();
        let replayed = replay_trace(&mut service, &profile, &loaded, &all).expect("replays");
        assert_eq!(replayed.verdict, loaded.verdict, "{name}");
        assert_eq!(emb_004_rules(&replayed)[0], "EMB-004", "{name}");
        assert_eq!(replayed.rendition, Some(Encoding::WmiDtd20));
        assert_eq!(
            replayed.steps, loaded.steps,
            "{name}: the same run, step by step"
        );
        // What the field is for: the operations as generated do not show the failure.
        let as_generated = replay(&mut service, &profile, &loaded.operations).expect("replays");
        assert!(
            as_generated.verdict.passed,
            "{name}: {:?}",
            as_generated.verdict
        );

        // A fixed implementation passes the same comparison.
        let mut reference = mutants::build("reference", &profile).expect("builds");
        let fixed = replay_trace(&mut *reference, &profile, &loaded, &all).expect("replays");
        assert!(fixed.verdict.passed, "{name}: {:?}", fixed.verdict);
        assert_eq!(fixed.rendition, Some(Encoding::WmiDtd20));
        assert!(fixed.steps.iter().all(|s| s.violations.is_empty()));

        // An older trace, without the field, reads and replays as generated.
        let mut old = value.clone();
        old.as_object_mut().unwrap().remove("rendition");
        let old = Trace::from_json(&old.to_string()).expect("an older trace reads");
        assert_eq!(old.rendition, None);
        let again = replay_trace(&mut service, &profile, &old, &all).expect("replays");
        assert_eq!(again.verdict, as_generated.verdict, "{name}");
        assert_eq!(again.rendition, None);
    }
}

/// A service that refuses MOF, on a sequence generated as CIM-XML only: the MOF rendition
/// differs at the first step, the CIM-XML ones do not; a rule filter or an expected failure
/// tolerates the divergence as it would any violation.
#[test]
fn replaying_a_rendition_compares_it_with_the_run_as_generated() {
    let profile = Profile::built_in("reference-msvm");
    let mut service = quirky(Quirk::RefusesMof, &profile);
    let ops = xml_only_sequence();
    let all = RuleFilter::all();
    let trace = replay_rendition(&mut service, &profile, &ops, Encoding::Mof, &all).expect("runs");
    assert_eq!(trace.rendition, Some(Encoding::Mof));
    assert!(!trace.verdict.passed);
    assert_eq!(emb_004_rules(&trace)[0], "EMB-004", "{:?}", trace.verdict);
    let first = &trace.steps[0];
    assert_eq!(first.violations[0].rule.0, "EMB-004");
    assert!(
        first.violations[0].detail.contains("Mof"),
        "{}",
        first.violations[0].detail
    );
    let call = first.call.as_ref().expect("sent");
    assert!(
        embedded_texts(call)
            .iter()
            .all(|t| t.trim_start().starts_with("instance of")),
        "the call as sent, in MOF: {call:?}"
    );
    for encoding in [Encoding::CimXml, Encoding::WmiDtd20] {
        let trace = replay_rendition(&mut service, &profile, &ops, encoding, &all).expect("runs");
        assert!(trace.verdict.passed, "{encoding:?}: {:?}", trace.verdict);
    }
    let mut reference = mutants::build("reference", &profile).expect("builds");
    let fixed =
        replay_rendition(&mut *reference, &profile, &ops, Encoding::Mof, &all).expect("runs");
    assert!(fixed.verdict.passed, "{:?}", fixed.verdict);

    let caps = RuleFilter::new(&["CAP".to_string()]);
    let filtered =
        replay_rendition(&mut service, &profile, &ops, Encoding::Mof, &caps).expect("runs");
    assert!(filtered.verdict.passed, "{:?}", filtered.verdict);
    assert_eq!(filtered.steps[0].tolerated, Some(Tolerance::Filtered));
    assert_eq!(filtered.steps[0].violations[0].rule.0, "EMB-004");

    let mut expecting = profile.clone();
    expecting.expected_failures.push(ExpectedFailure {
        rule: "EMB-004".into(),
        reason: "refuses MOF".into(),
    });
    let expected =
        replay_rendition(&mut service, &expecting, &ops, Encoding::Mof, &all).expect("runs");
    assert!(expected.verdict.passed, "{:?}", expected.verdict);
    assert_eq!(expected.verdict.expected_failures, vec![RuleId("EMB-004")]);
}
