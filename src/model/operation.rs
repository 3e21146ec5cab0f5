//! The one operation type every driver uses: proptest strategies, fuzz inputs, trace files and
//! hand-written vectors.
//!
//! An [`Operation`] is dialect-neutral and *relative*: it names pools, amounts and host
//! resources by selectors that are resolved against the model's state when the step runs
//! (`Live(3)` is "the fourth live pool of the right type, counting round"). Every sequence of
//! operations is therefore meaningful in every state, and shrinking one (dropping steps,
//! shrinking numbers) keeps it meaningful. The dialect decides which method an operation
//! becomes: `Create` is `CreatePool` (Msvm) or `CreateChildResourcePool` (CIM).

use arbitrary::Arbitrary;
use serde::{Deserialize, Serialize};

/// One step of a conformance run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `CreatePool` / `CreateChildResourcePool`.
    Create(CreateOp),
    /// `ModifyPoolResources` / `ChangeParentResourcePool`.
    ChangeParents(ChangeParentsOp),
    /// `ModifyPoolSettings` (Msvm only).
    ChangeSettings(ChangeSettingsOp),
    /// `DeletePool` / `DeleteResourcePool`.
    Delete(DeleteOp),
    /// `CreateResourcePool` (CIM only).
    CreateRoot(CreateRootOp),
    /// `AddResourcesToResourcePool` (CIM only).
    AddResources(HostResourcesOp),
    /// `RemoveResourcesFromResourcePool` (CIM only).
    RemoveResources(HostResourcesOp),
}

/// Picks a resource type of the host fixture: index modulo the number of types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct TypeSel(pub u8);

/// Picks a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum PoolSel {
    /// The n-th live pool of the operation's resource type, newest first (modulo their
    /// number); among several parents, each pick skips the pools already picked. Counting
    /// from the newest keeps a selector pointing at the same pool when shrinking drops an
    /// earlier, unrelated step.
    Live(u16),
    /// The n-th live pool that is not primordial, newest first (any pool when there is none).
    Concrete(u16),
    /// The n-th live pool of any type (may be of a foreign type).
    AnyType(u16),
    /// A well-formed object path that names no pool.
    Dangling(u16),
}

/// Picks a PoolID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum IdSel {
    /// `P<n>`: from a small space, so clashes also happen by chance.
    Named(u8),
    /// The PoolID of the n-th live pool of the type (a deliberate clash; the primordial
    /// pool's is "").
    Existing(u16),
}

/// How large an allocation is, relative to what its parent (or, shared, its parents
/// together) has free when the step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum Amount {
    /// `free * n / 4`, n in 0..=4.
    Quarters(u8),
    /// Exactly the free amount: the boundary that must succeed.
    AllFree,
    /// One more than the free amount: the boundary that must fail.
    FreePlusOne,
    /// An absolute amount.
    Absolute(u64),
}

/// The Limit written beside a Reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum LimitSel {
    /// No Limit property.
    Null,
    /// Limit = Reservation.
    Equal,
    /// Limit = Reservation + n.
    Above(u8),
    /// Limit = Reservation − 1 (CAP-006), or no Limit when the Reservation is 0.
    Below,
}

/// Which host resources a named or path allocation asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum ResSel {
    /// The subset of the parent's (shared: the parents' together) host resources whose bits
    /// are set, in order. 0 asks for nothing (HOST-002).
    Subset(u8),
    /// That subset plus one host resource the parent does not have.
    Foreign(u8),
    /// For path types: a folder under the n-th of the parent's paths; otherwise `Subset`.
    Under(u8),
}

/// One element of AllocationSettings / Settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct AllocSel {
    pub amount: Amount,
    pub limit: LimitSel,
    pub resources: ResSel,
    /// Write this allocation with another resource type (TYPE-001).
    #[arbitrary(with = fuzz_weights::rarely)]
    pub foreign_type: bool,
}

/// How the embedded instances of a step are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum EncodingSel {
    CimXml,
    Mof,
}

/// A deliberate defect in how a step's call is put on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    None,
    /// Leave out the n-th input parameter (ARG-002).
    MissingParam(u8),
    /// Send the n-th input parameter twice (ARG-002).
    DuplicateParam(u8),
    /// Add a parameter the method does not have (ARG-002).
    ExtraParam,
    /// Send the n-th input parameter with the wrong wire kind (ARG-002).
    WrongKind(u8),
    /// Send NULL for ParentPools / ParentPool (ARG-003).
    NullParents,
    /// Name the first parent twice (ARG-004).
    DuplicateParent,
    /// Leave out a required property of the n-th embedded instance (ARG-005).
    MissingProperty(u8),
    /// Make the n-th embedded instance unparseable in the given way (EMB-001).
    Malformed(u8, Malformation),
    /// Give the n-th embedded instance another class (EMB-002).
    WrongClass(u8),
    /// Give the n-th embedded instance a value its CIM type cannot hold (EMB-003).
    BadValue(u8),
}

/// Ways of breaking an embedded instance's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum Malformation {
    /// Cut the text in half.
    Truncated,
    /// Wrap the instance in a DOCTYPE that declares an external entity.
    Doctype,
    /// Replace the root element / declaration keyword.
    WrongRoot,
    /// Replace the whole text with bytes that are not an instance.
    Garbage,
    /// An empty string.
    Empty,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct CreateOp {
    pub resource: TypeSel,
    #[arbitrary(with = fuzz_weights::pool_id)]
    pub pool_id: IdSel,
    /// ElementName `Pool <n>`; `None` sends NULL (CIM: the implementation picks a default).
    pub element_name: Option<u8>,
    #[arbitrary(with = fuzz_weights::parents)]
    pub parents: Vec<PoolSel>,
    #[arbitrary(with = fuzz_weights::allocations)]
    pub allocations: Vec<AllocSel>,
    pub encoding: EncodingSel,
    #[arbitrary(with = fuzz_weights::fault)]
    pub fault: Fault,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct ChangeParentsOp {
    /// The child whose parents change; `Live` counts over pools of every type here.
    #[arbitrary(with = fuzz_weights::target)]
    pub child: PoolSel,
    #[arbitrary(with = fuzz_weights::parents)]
    pub parents: Vec<PoolSel>,
    #[arbitrary(with = fuzz_weights::allocations)]
    pub allocations: Vec<AllocSel>,
    pub encoding: EncodingSel,
    #[arbitrary(with = fuzz_weights::fault)]
    pub fault: Fault,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct ChangeSettingsOp {
    #[arbitrary(with = fuzz_weights::target)]
    pub child: PoolSel,
    #[arbitrary(with = fuzz_weights::pool_id)]
    pub pool_id: IdSel,
    pub element_name: Option<u8>,
    /// Write the settings with another resource type (MOD-004).
    #[arbitrary(with = fuzz_weights::rarely)]
    pub foreign_type: bool,
    pub encoding: EncodingSel,
    #[arbitrary(with = fuzz_weights::fault)]
    pub fault: Fault,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct DeleteOp {
    /// `Live` counts over pools of every type here.
    #[arbitrary(with = fuzz_weights::target)]
    pub pool: PoolSel,
    #[arbitrary(with = fuzz_weights::fault)]
    pub fault: Fault,
}

/// Picks a host resource for the root-pool methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSel {
    /// The n-th host resource of the operation's type.
    Own(u8),
    /// The n-th host resource of another type.
    OtherType(u8),
    /// A host resource the host does not have.
    Unknown(u8),
    /// The n-th host resource a child of the target pool holds from it (RemoveResources of a
    /// resource in use, HOST-004); the n-th of the operation's type when nothing is held.
    Held(u8),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct CreateRootOp {
    pub resource: TypeSel,
    pub element_name: Option<u8>,
    pub devices: Vec<DeviceSel>,
    #[arbitrary(with = fuzz_weights::fault)]
    pub fault: Fault,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub struct HostResourcesOp {
    /// `Live` counts over pools of every type here.
    #[arbitrary(with = fuzz_weights::target)]
    pub pool: PoolSel,
    /// Resolved against the target pool's type.
    pub devices: Vec<DeviceSel>,
    #[arbitrary(with = fuzz_weights::fault)]
    pub fault: Fault,
}

impl Operation {
    pub fn fault(&self) -> Fault {
        match self {
            Operation::Create(op) => op.fault,
            Operation::ChangeParents(op) => op.fault,
            Operation::ChangeSettings(op) => op.fault,
            Operation::Delete(op) => op.fault,
            Operation::CreateRoot(op) => op.fault,
            Operation::AddResources(op) | Operation::RemoveResources(op) => op.fault,
        }
    }

    pub fn encoding(&self) -> EncodingSel {
        match self {
            Operation::Create(op) => op.encoding,
            Operation::ChangeParents(op) => op.encoding,
            Operation::ChangeSettings(op) => op.encoding,
            _ => EncodingSel::CimXml,
        }
    }
}

/// How fuzz bytes weight the choices that make a step malformed, so that most fuzzed steps
/// are well-formed, as most generated ones are (the proptest strategies in
/// `harness::strategy` use similar weights): a fault on one step in eight, a foreign type on
/// one allocation in sixteen, mostly fresh PoolIDs and live parents. Every variant stays
/// reachable.
mod fuzz_weights {
    use arbitrary::{Arbitrary, Result, Unstructured};

    use super::{AllocSel, Fault, IdSel, PoolSel};

    pub fn fault(u: &mut Unstructured) -> Result<Fault> {
        if u.ratio(7u8, 8)? {
            Ok(Fault::None)
        } else {
            Fault::arbitrary(u)
        }
    }

    pub fn rarely(u: &mut Unstructured) -> Result<bool> {
        u.ratio(1u8, 16)
    }

    pub fn pool_id(u: &mut Unstructured) -> Result<IdSel> {
        if u.ratio(7u8, 8)? {
            Ok(IdSel::Named(u.arbitrary()?))
        } else {
            IdSel::arbitrary(u)
        }
    }

    fn parent(u: &mut Unstructured) -> Result<PoolSel> {
        if u.ratio(7u8, 8)? {
            Ok(PoolSel::Live(u.arbitrary()?))
        } else {
            PoolSel::arbitrary(u)
        }
    }

    /// One to three mostly, sometimes none or four.
    fn count(u: &mut Unstructured) -> Result<usize> {
        Ok(match u.int_in_range(0u8..=15)? {
            0 => 0,
            1..=8 => 1,
            9..=12 => 2,
            13..=14 => 3,
            _ => 4,
        })
    }

    pub fn parents(u: &mut Unstructured) -> Result<Vec<PoolSel>> {
        (0..count(u)?).map(|_| parent(u)).collect()
    }

    pub fn allocations(u: &mut Unstructured) -> Result<Vec<AllocSel>> {
        (0..count(u)?).map(|_| AllocSel::arbitrary(u)).collect()
    }

    /// The pool a change or delete targets: mostly one that is not primordial.
    pub fn target(u: &mut Unstructured) -> Result<PoolSel> {
        if u.ratio(3u8, 4)? {
            Ok(PoolSel::Concrete(u.arbitrary()?))
        } else {
            PoolSel::arbitrary(u)
        }
    }
}
