//! proptest strategies for operation sequences.
//!
//! Generation is state-aware through the operation type itself: selectors are resolved
//! against the live state when a step runs, and amounts are fractions of what the chosen
//! parents have free — so sequences keep reaching exhausted parents (`AllFree`), off-by-one
//! refusals (`FreePlusOne`), multi-parent and shared allocations, deep hierarchies (parents
//! are picked among all live pools of the type, children included), deletes of pools with
//! children and primordial targets, jobs, and malformed or mismatched arguments.

use proptest::prelude::*;

use crate::model::operation::*;
use crate::spec::profile::Profile;
use crate::sut::{Dialect, Method};

fn pool_sel() -> impl Strategy<Value = PoolSel> {
    prop_oneof![
        36 => (0u16..24).prop_map(PoolSel::Live),
        1 => (0u16..24).prop_map(PoolSel::AnyType),
        1 => (0u16..4).prop_map(PoolSel::Dangling),
    ]
}

fn target_sel() -> impl Strategy<Value = PoolSel> {
    prop_oneof![
        16 => (0u16..8).prop_map(PoolSel::Concrete),
        8 => (0u16..64).prop_map(PoolSel::Live),
        1 => (0u16..4).prop_map(PoolSel::Dangling),
    ]
}

fn id_sel() -> impl Strategy<Value = IdSel> {
    prop_oneof![
        12 => (0u8..8).prop_map(IdSel::Named),
        1 => (0u16..8).prop_map(IdSel::Existing),
    ]
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        6 => (0u8..=4).prop_map(Amount::Quarters),
        2 => Just(Amount::AllFree),
        2 => Just(Amount::FreePlusOne),
        1 => (0u64..80).prop_map(Amount::Absolute),
        1 => Just(Amount::Absolute(u64::MAX)),
    ]
}

fn limit() -> impl Strategy<Value = LimitSel> {
    prop_oneof![
        8 => Just(LimitSel::Null),
        3 => Just(LimitSel::Equal),
        3 => (0u8..16).prop_map(LimitSel::Above),
        1 => Just(LimitSel::Below),
    ]
}

fn resources() -> impl Strategy<Value = ResSel> {
    prop_oneof![
        10 => any::<u8>().prop_map(ResSel::Subset),
        1 => any::<u8>().prop_map(ResSel::Foreign),
        3 => (0u8..8).prop_map(ResSel::Under),
    ]
}

fn alloc_sel() -> impl Strategy<Value = AllocSel> {
    (amount(), limit(), resources(), prop::bool::weighted(0.03)).prop_map(
        |(amount, limit, resources, foreign_type)| AllocSel {
            amount,
            limit,
            resources,
            foreign_type,
        },
    )
}

/// Parents and allocations: mostly one allocation per parent, often one shared allocation,
/// sometimes a count that is neither (ARG-001).
fn parents_and_allocations() -> impl Strategy<Value = (Vec<PoolSel>, Vec<AllocSel>)> {
    prop_oneof![5 => Just(1usize), 3 => Just(2usize), 2 => Just(3usize)].prop_flat_map(
        |n_parents| {
            let n_allocs = prop_oneof![
                12 => Just(n_parents),
                5 => Just(1usize),
                1 => 0usize..=4,
            ];
            (
                prop::collection::vec(pool_sel(), n_parents),
                n_allocs.prop_flat_map(|n| prop::collection::vec(alloc_sel(), n)),
            )
        },
    )
}

fn encoding() -> impl Strategy<Value = EncodingSel> {
    prop_oneof![3 => Just(EncodingSel::CimXml), 1 => Just(EncodingSel::Mof)]
}

fn malformation() -> impl Strategy<Value = Malformation> {
    prop_oneof![
        Just(Malformation::Truncated),
        Just(Malformation::Doctype),
        Just(Malformation::WrongRoot),
        Just(Malformation::Garbage),
        Just(Malformation::Empty),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        60 => Just(Fault::None),
        1 => (0u8..4).prop_map(Fault::MissingParam),
        1 => (0u8..4).prop_map(Fault::DuplicateParam),
        1 => Just(Fault::ExtraParam),
        1 => (0u8..4).prop_map(Fault::WrongKind),
        1 => Just(Fault::NullParents),
        1 => Just(Fault::DuplicateParent),
        1 => (0u8..4).prop_map(Fault::MissingProperty),
        2 => ((0u8..4), malformation()).prop_map(|(n, m)| Fault::Malformed(n, m)),
        1 => (0u8..4).prop_map(Fault::WrongClass),
        1 => (0u8..4).prop_map(Fault::BadValue),
    ]
}

fn element_name() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![4 => (0u8..16).prop_map(Some), 1 => Just(None)]
}

fn create() -> impl Strategy<Value = Operation> {
    (
        any::<u8>(),
        id_sel(),
        element_name(),
        parents_and_allocations().boxed(),
        encoding(),
        fault().boxed(),
    )
        .prop_map(
            |(resource, pool_id, element_name, (parents, allocations), encoding, fault)| {
                Operation::Create(CreateOp {
                    resource: TypeSel(resource),
                    pool_id,
                    element_name,
                    parents,
                    allocations,
                    encoding,
                    fault,
                })
            },
        )
}

fn change_parents() -> impl Strategy<Value = Operation> {
    (
        target_sel(),
        parents_and_allocations().boxed(),
        encoding(),
        fault().boxed(),
    )
        .prop_map(|(child, (parents, allocations), encoding, fault)| {
            Operation::ChangeParents(ChangeParentsOp {
                child,
                parents,
                allocations,
                encoding,
                fault,
            })
        })
}

fn change_settings() -> impl Strategy<Value = Operation> {
    (
        target_sel(),
        id_sel(),
        element_name(),
        prop::bool::weighted(0.05),
        encoding(),
        fault().boxed(),
    )
        .prop_map(
            |(child, pool_id, element_name, foreign_type, encoding, fault)| {
                Operation::ChangeSettings(ChangeSettingsOp {
                    child,
                    pool_id,
                    element_name,
                    foreign_type,
                    encoding,
                    fault,
                })
            },
        )
}

fn delete() -> impl Strategy<Value = Operation> {
    (target_sel(), fault().boxed())
        .prop_map(|(pool, fault)| Operation::Delete(DeleteOp { pool, fault }))
}

fn device() -> impl Strategy<Value = DeviceSel> {
    prop_oneof![
        12 => (0u8..8).prop_map(DeviceSel::Own),
        3 => (0u8..8).prop_map(DeviceSel::Held),
        1 => (0u8..8).prop_map(DeviceSel::OtherType),
        1 => (0u8..4).prop_map(DeviceSel::Unknown),
    ]
}

fn devices() -> impl Strategy<Value = Vec<DeviceSel>> {
    prop::collection::vec(device(), 0..=2)
}

fn create_root() -> impl Strategy<Value = Operation> {
    (any::<u8>(), element_name(), devices(), fault()).prop_map(
        |(resource, element_name, devices, fault)| {
            Operation::CreateRoot(CreateRootOp {
                resource: TypeSel(resource),
                element_name,
                devices,
                fault,
            })
        },
    )
}

fn host_resources() -> impl Strategy<Value = HostResourcesOp> {
    (target_sel(), devices(), fault()).prop_map(|(pool, devices, fault)| HostResourcesOp {
        pool,
        devices,
        fault,
    })
}

/// One operation, weighted for the profile's dialect and the methods it supports. A
/// profile that supports no method at all gets an empty sequence of deletes, which the
/// runner skips.
pub fn operation(profile: &Profile) -> BoxedStrategy<Operation> {
    let options: Vec<(Method, u32, BoxedStrategy<Operation>)> = match profile.dialect {
        Dialect::Msvm => vec![
            (Method::CreatePool, 45, create().boxed()),
            (Method::ModifyPoolResources, 15, change_parents().boxed()),
            (Method::ModifyPoolSettings, 10, change_settings().boxed()),
            (Method::DeletePool, 22, delete().boxed()),
        ],
        Dialect::Cim => vec![
            (Method::CreateChildResourcePool, 40, create().boxed()),
            (
                Method::ChangeParentResourcePool,
                12,
                change_parents().boxed(),
            ),
            (Method::DeleteResourcePool, 18, delete().boxed()),
            (Method::CreateResourcePool, 12, create_root().boxed()),
            (
                Method::AddResourcesToResourcePool,
                8,
                host_resources().prop_map(Operation::AddResources).boxed(),
            ),
            (
                Method::RemoveResourcesFromResourcePool,
                8,
                host_resources()
                    .prop_map(Operation::RemoveResources)
                    .boxed(),
            ),
        ],
    };
    let weighted: Vec<(u32, BoxedStrategy<Operation>)> = options
        .into_iter()
        .filter(|(method, _, _)| profile.supports(*method))
        .map(|(_, weight, strategy)| (weight, strategy))
        .collect();
    if weighted.is_empty() {
        return delete().boxed();
    }
    proptest::strategy::Union::new_weighted(weighted).boxed()
}

/// A sequence of 1..=`max_steps` operations.
pub fn sequence(profile: &Profile, max_steps: usize) -> BoxedStrategy<Vec<Operation>> {
    prop::collection::vec(operation(profile), 1..=max_steps.max(1)).boxed()
}
