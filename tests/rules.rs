//! Positive and negative example cases of every rule the model decides: each case is a short
//! scenario whose last step must be accepted, or refused by the named rule. Each case is
//! judged by the model, and then run against the reference implementation, which must agree
//! (no violation on any step).

mod common;

use common::*;
use poolcheck::harness::{replay, run_sequence, RuleStats};
use poolcheck::model::operation::{Amount, DeviceSel, Fault, LimitSel, Malformation, PoolSel};
use poolcheck::model::Operation;
use poolcheck::mutants;
use poolcheck::spec::Profile;
use poolcheck::sut::Dialect;
use rstest::rstest;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Accept,
    Refuse,
}

/// Judge the last step of `ops` with the model, in the state the steps before it reached
/// against the reference implementation.
fn model_verdict(dialect: Dialect, ops: &[Operation]) -> (bool, Vec<String>) {
    let profile = profile_of(dialect);
    let mut service = mutants::build("reference", &profile_of(dialect)).expect("reference builds");
    let (last, setup) = ops.split_last().expect("a scenario has a step");
    let mut stats = RuleStats::default();
    let outcome = run_sequence(&mut *service, &profile, setup, &mut stats).expect("harness runs");
    assert_eq!(
        outcome.failure, None,
        "the setup steps must pass: {:#?}",
        outcome.steps
    );
    let step = outcome
        .model
        .resolve(last)
        .expect("the dialect has the method");
    let expectation = outcome.model.expect(&step, &profile);
    (
        expectation.accepts(),
        expectation
            .refusals
            .iter()
            .map(|r| r.rule.0.to_string())
            .collect(),
    )
}

fn profile_of(dialect: Dialect) -> Profile {
    Profile::built_in(match dialect {
        Dialect::Msvm => "reference-msvm",
        Dialect::Cim => "reference-cim",
    })
}

fn scenario(dialect: Dialect, rule: &str, ops: Vec<Operation>, want: Want) {
    let (accepts, refused_by) = model_verdict(dialect, &ops);
    match want {
        Want::Accept => assert!(accepts, "{rule}: the model refuses the last step: {refused_by:?}"),
        Want::Refuse => assert!(
            refused_by.iter().any(|r| r == rule),
            "{rule}: the model does not refuse the last step by {rule}: accepts={accepts}, refused by {refused_by:?}"
        ),
    }
    // The reference implementation agrees with the model on every step.
    let profile = profile_of(dialect);
    let mut service = mutants::build("reference", &profile_of(dialect)).expect("reference builds");
    let trace = replay(&mut *service, &profile, &ops).expect("replay runs");
    assert!(
        trace.verdict.passed,
        "{rule}: the reference disagrees: {:#?}",
        trace.steps.last()
    );
}

fn two_memory_children() -> Vec<Operation> {
    vec![
        create(MEMORY, 1, &[live(0)], &[qty(8)]),
        create(MEMORY, 2, &[live(1)], &[qty(8)]),
    ]
}

fn with(mut setup: Vec<Operation>, last: Operation) -> Vec<Operation> {
    setup.push(last);
    setup
}

#[rstest]
// ARG-001: one element per parent, or exactly one.
#[case::arg001_one_per_parent("ARG-001", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[qty(8)])])]
#[case::arg001_two_for_three("ARG-001", Want::Refuse, with(two_memory_children(), create(MEMORY, 3, &[live(0), live(0), live(0)], &[qty(1), qty(1)])))]
#[case::arg001_none("ARG-001", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[])])]
// ARG-002: parameters present once, of their kind.
#[case::arg002_missing("ARG-002", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::MissingParam(1))])]
#[case::arg002_extra("ARG-002", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::ExtraParam)])]
#[case::arg002_wrong_kind("ARG-002", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::WrongKind(2))])]
// ARG-003: at least one parent.
#[case::arg003_null("ARG-003", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::NullParents)])]
#[case::arg003_empty("ARG-003", Want::Refuse, vec![create(MEMORY, 1, &[], &[qty(8)])])]
// ARG-004: no parent twice.
#[case::arg004_twice("ARG-004", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::DuplicateParent)])]
// ARG-005: required properties.
#[case::arg005_missing_type("ARG-005", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::MissingProperty(0))])]
// TYPE-001: one resource type.
#[case::type001_same("TYPE-001", Want::Accept, vec![create(ETHERNET, 1, &[live(0)], &[res(1)])])]
#[case::type001_foreign_parent("TYPE-001", Want::Refuse, vec![create(MEMORY, 1, &[PoolSel::AnyType(3)], &[qty(8)])])]
// ID-002: references name pools.
#[case::id002_dangling("ID-002", Want::Refuse, vec![create(MEMORY, 1, &[PoolSel::Dangling(0)], &[qty(8)])])]
#[case::id002_delete_dangling("ID-002", Want::Refuse, vec![delete(PoolSel::Dangling(1))])]
// ID-003: MaxParentPools of the virtual SAN type is 1.
#[case::id003_one_parent("ID-003", Want::Accept, vec![create(SAN, 1, &[live(0)], &[res(1)])])]
#[case::id003_two_parents("ID-003", Want::Refuse, vec![create(SAN, 1, &[live(0)], &[res(1)]), create(SAN, 2, &[live(0), live(1)], &[res(1), res(1)])])]
// CAP-005: exactly the free capacity succeeds, one more fails.
#[case::cap005_all_free("CAP-005", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[q(Amount::AllFree)])])]
#[case::cap005_one_more("CAP-005", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[q(Amount::FreePlusOne)])])]
#[case::cap005_exhausted_parent("CAP-005", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(64)]), create(MEMORY, 2, &[live(1)], &[qty(1)])])]
// CAP-006: Limit below Reservation.
#[case::cap006_equal("CAP-006", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[poolcheck::model::operation::AllocSel { limit: LimitSel::Equal, ..qty(8) }])])]
#[case::cap006_below("CAP-006", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[poolcheck::model::operation::AllocSel { limit: LimitSel::Below, ..qty(8) }])])]
// SHARE-001..002: memory supports shared capacity, Ethernet does not.
#[case::share001_unsupported("SHARE-001", Want::Refuse, vec![create(ETHERNET, 1, &[live(0)], &[res(3)]), create(ETHERNET, 2, &[live(0), live(0)], &[res(1)])])]
#[case::share002_within("SHARE-002", Want::Accept, with(two_memory_children(), create(MEMORY, 3, &[live(0), live(0)], &[q(Amount::AllFree)])))]
#[case::share002_beyond("SHARE-002", Want::Refuse, with(two_memory_children(), create(MEMORY, 3, &[live(0), live(0)], &[q(Amount::FreePlusOne)])))]
// HOST-001/002: named host resources.
#[case::host001_foreign("HOST-001", Want::Refuse, vec![create(ETHERNET, 1, &[live(0)], &[res(1)]), create(ETHERNET, 2, &[live(0)], &[poolcheck::model::operation::AllocSel { resources: poolcheck::model::operation::ResSel::Foreign(1), ..res(1) }])])]
#[case::host001_under_path("HOST-001", Want::Accept, vec![create(VHD, 1, &[live(0)], &[poolcheck::model::operation::AllocSel { resources: poolcheck::model::operation::ResSel::Under(0), ..res(0) }])])]
#[case::host002_empty("HOST-002", Want::Accept, vec![create(ETHERNET, 1, &[live(0)], &[res(0)])])]
// MOD-001..003: changing parents.
#[case::mod001_move("MOD-001", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), change_parents(PoolSel::Concrete(0), &[live(1)], &[qty(4)])])]
#[case::mod002_shrink_below_children("MOD-002", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(16)]), create(MEMORY, 2, &[live(0)], &[qty(8)]), change_parents(PoolSel::Concrete(1), &[live(2)], &[qty(4)])])]
#[case::mod003_own_parent("MOD-003", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), change_parents(PoolSel::Concrete(0), &[live(0)], &[qty(4)])])]
// DEL-001: a pool with children.
#[case::del001_children("DEL-001", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(16)]), create(MEMORY, 2, &[live(0)], &[qty(8)]), delete(PoolSel::Concrete(1))])]
#[case::del001_leaf("DEL-001", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[qty(16)]), create(MEMORY, 2, &[live(0)], &[qty(8)]), delete(PoolSel::Concrete(0))])]
// PRIM-001: primordial targets.
#[case::prim001_delete("PRIM-001", Want::Refuse, vec![delete(PoolSel::Live(0))])]
#[case::prim001_change_parents("PRIM-001", Want::Refuse, vec![change_parents(PoolSel::Live(4), &[live(0)], &[qty(1)])])]
// EMB-001..003: embedded instances.
#[case::emb001_truncated("EMB-001", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::Malformed(0, Malformation::Truncated))])]
#[case::emb001_doctype("EMB-001", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::Malformed(1, Malformation::Doctype))])]
#[case::emb002_wrong_class("EMB-002", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::WrongClass(0))])]
#[case::emb003_out_of_range("EMB-003", Want::Refuse, vec![create_with(MEMORY, 1, &[live(0)], &[qty(8)], Fault::BadValue(0))])]
fn rule_examples_in_both_dialects(
    #[case] rule: &str,
    #[case] want: Want,
    #[case] ops: Vec<Operation>,
    #[values(Dialect::Msvm, Dialect::Cim)] dialect: Dialect,
) {
    scenario(dialect, rule, ops, want);
}

#[rstest]
#[case::id001_clash("ID-001", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), create(MEMORY, 1, &[live(1)], &[qty(8)])])]
#[case::id001_distinct("ID-001", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), create(MEMORY, 2, &[live(1)], &[qty(8)])])]
#[case::id001_rename_clash("ID-001", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), create(MEMORY, 2, &[live(1)], &[qty(8)]), rename(PoolSel::Concrete(0), 1, false)])]
#[case::mod004_rename("MOD-004", Want::Accept, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), rename(PoolSel::Concrete(0), 5, false)])]
#[case::mod004_retype("MOD-004", Want::Refuse, vec![create(MEMORY, 1, &[live(0)], &[qty(8)]), rename(PoolSel::Concrete(0), 5, true)])]
#[case::prim001_rename("PRIM-001", Want::Refuse, vec![rename(PoolSel::Live(0), 5, false)])]
fn msvm_rule_examples(#[case] rule: &str, #[case] want: Want, #[case] ops: Vec<Operation>) {
    scenario(Dialect::Msvm, rule, ops, want);
}

#[rstest]
#[case::host003_root("HOST-003", Want::Accept, vec![create_root(ETHERNET, &[DeviceSel::Own(0)])])]
#[case::host003_taken("HOST-003", Want::Refuse, vec![create_root(ETHERNET, &[DeviceSel::Own(0)]), create_root(ETHERNET, &[DeviceSel::Own(0)])])]
#[case::host003_quantity("HOST-003", Want::Refuse, vec![create_root(MEMORY, &[])])]
#[case::host003_unknown("HOST-003", Want::Refuse, vec![create_root(ETHERNET, &[DeviceSel::Unknown(0)])])]
#[case::host003_add("HOST-003", Want::Accept, vec![create_root(ETHERNET, &[DeviceSel::Own(0)]), add_resources(PoolSel::Concrete(0), &[DeviceSel::Own(1)])])]
#[case::type001_other_type_device("TYPE-001", Want::Refuse, vec![create_root(ETHERNET, &[DeviceSel::OtherType(0)])])]
#[case::host004_held_by_child("HOST-004", Want::Refuse, vec![create_root(ETHERNET, &[DeviceSel::Own(0)]), create(ETHERNET, 1, &[live(0)], &[res(1)]), remove_resources(PoolSel::Concrete(1), &[DeviceSel::Own(0)])])]
#[case::host004_free("HOST-004", Want::Accept, vec![create_root(ETHERNET, &[DeviceSel::Own(0), DeviceSel::Own(1)]), remove_resources(PoolSel::Concrete(0), &[DeviceSel::Own(0)])])]
#[case::host004_not_held("HOST-004", Want::Refuse, vec![create_root(ETHERNET, &[DeviceSel::Own(0)]), remove_resources(PoolSel::Concrete(0), &[DeviceSel::Own(1)])])]
#[case::host005_reuse("HOST-005", Want::Accept, vec![create_root(ETHERNET, &[DeviceSel::Own(0)]), delete(PoolSel::Concrete(0)), create_root(ETHERNET, &[DeviceSel::Own(0)])])]
#[case::prim001_add("PRIM-001", Want::Refuse, vec![add_resources(PoolSel::Live(2), &[DeviceSel::Own(0)])])]
fn cim_rule_examples(#[case] rule: &str, #[case] want: Want, #[case] ops: Vec<Operation>) {
    scenario(Dialect::Cim, rule, ops, want);
}
