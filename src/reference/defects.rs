//! Deliberate deviations from the specification, one per realistic bug.
//!
//! Each [`Defect`] is a small change of one correct code path of the reference
//! implementation, guarded by `self.has(Defect::X)` at the exact place the bug would live in a
//! real service. A [`ReferenceService`](super::ReferenceService) configured with defects is a
//! *mutant*: the suite must tell it apart from the conforming implementation.

use serde::{Deserialize, Serialize};

/// A deliberate, realistic deviation of the reference implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Defect {
    /// ARG-001 skipped: any number of allocations is accepted (2 for 3 parents …); the
    /// allocations are paired by position with as many parents as they cover, and a parent
    /// without an allocation holds nothing.
    AcceptAnyAllocationCount,
    /// Uses only `AllocationSettings[0]`, applied to parent 0; the other parents and
    /// allocations are ignored.
    FirstAllocationOnly,
    /// Allocates everything from the type's primordial pool, whatever `ParentPools` says.
    IgnoreParentPools,
    /// SHARE-001 skipped: a shared allocation is accepted for every resource type.
    SharedAlwaysSupported,
    /// A shared allocation is refused with Not Supported even where the type supports it.
    SharedNeverSupported,
    /// An allocation of exactly the free capacity is refused (`<` where `<=` belongs).
    OffByOneCapacity,
    /// No free-capacity check on per-parent allocations.
    IgnoreParentCapacity,
    /// A shared request is checked against the parents' aggregate *capacity* instead of their
    /// free capacity, and the split then takes more than a parent has free.
    SharedExceedsAggregate,
    /// Reserves from the parents one by one and does not roll back when a later parent fails.
    LeakOnFailure,
    /// Deleting a pool does not return its holdings to its parents.
    NoReleaseOnDelete,
    /// DEL-001 skipped: a pool with children is deleted; its children keep pointing at it.
    DeleteWithChildren,
    /// PRIM-001 skipped: primordial pools can be deleted and modified.
    PrimordialMutable,
    /// ID-001 skipped: a PoolID that already exists for the type is accepted (CIM: the child's
    /// PoolID is derived from its ElementName).
    DuplicatePoolIds,
    /// TYPE-001 skipped for parents: a parent of another resource type is accepted.
    ForeignTypeParent,
    /// Every refusal is reported as Unknown (Msvm 32771, CIM 2).
    FailedAsUnknown,
    /// Object Not Found is reported with a code outside the tables (Msvm 32789, CIM 9).
    CodeOutsideTable,
    /// 4096 is returned without the `Job` output parameter; the work is done immediately.
    JobWithoutReference,
    /// A create job reports Completed but creates nothing.
    JobSucceedsWithoutPool,
    /// A create job that fails reports Exception but keeps the pool it had created.
    JobFailsButLeavesPool,
    /// Every validation is skipped; everything the service can make sense of is accepted.
    Permissive,
    /// HOST-001 skipped: a child may take host resources its parent does not have.
    IgnoreHostResourceOwnership,
    /// A job method answers every second success synchronously (JOB-005).
    MixedSyncAndJob,
    /// Jobs stay Running forever.
    JobNeverFinishes,
    /// MOD-003 skipped: a pool may become its own ancestor.
    AllowCycles,
    /// A parent's Reserved also counts what its grandchildren hold (double counting).
    ReservedCountsGrandchildren,
    /// Invalid Parameter refusals carry a `CIM_Error` whose Message only says "Invalid
    /// parameter", naming nothing (EMB-005).
    VagueErrors,
    /// The `Pool` reference of a new pool is built with the other dialect's namespace, as a
    /// provider that writes its output paths by hand might (ID-005); the pool itself lives
    /// where the snapshot shows it, under that same path.
    PoolsOutsideNamespace,
}

impl Defect {
    /// Every defect, in declaration order.
    pub const ALL: &'static [Defect] = &[
        Defect::AcceptAnyAllocationCount,
        Defect::FirstAllocationOnly,
        Defect::IgnoreParentPools,
        Defect::SharedAlwaysSupported,
        Defect::SharedNeverSupported,
        Defect::OffByOneCapacity,
        Defect::IgnoreParentCapacity,
        Defect::SharedExceedsAggregate,
        Defect::LeakOnFailure,
        Defect::NoReleaseOnDelete,
        Defect::DeleteWithChildren,
        Defect::PrimordialMutable,
        Defect::DuplicatePoolIds,
        Defect::ForeignTypeParent,
        Defect::FailedAsUnknown,
        Defect::CodeOutsideTable,
        Defect::JobWithoutReference,
        Defect::JobSucceedsWithoutPool,
        Defect::JobFailsButLeavesPool,
        Defect::Permissive,
        Defect::IgnoreHostResourceOwnership,
        Defect::MixedSyncAndJob,
        Defect::JobNeverFinishes,
        Defect::AllowCycles,
        Defect::ReservedCountsGrandchildren,
        Defect::VagueErrors,
        Defect::PoolsOutsideNamespace,
    ];

    /// The defect's kebab-case name, as used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Defect::AcceptAnyAllocationCount => "accept-any-allocation-count",
            Defect::FirstAllocationOnly => "first-allocation-only",
            Defect::IgnoreParentPools => "ignore-parent-pools",
            Defect::SharedAlwaysSupported => "shared-always-supported",
            Defect::SharedNeverSupported => "shared-never-supported",
            Defect::OffByOneCapacity => "off-by-one-capacity",
            Defect::IgnoreParentCapacity => "ignore-parent-capacity",
            Defect::SharedExceedsAggregate => "shared-exceeds-aggregate",
            Defect::LeakOnFailure => "leak-on-failure",
            Defect::NoReleaseOnDelete => "no-release-on-delete",
            Defect::DeleteWithChildren => "delete-with-children",
            Defect::PrimordialMutable => "primordial-mutable",
            Defect::DuplicatePoolIds => "duplicate-pool-ids",
            Defect::ForeignTypeParent => "foreign-type-parent",
            Defect::FailedAsUnknown => "failed-as-unknown",
            Defect::CodeOutsideTable => "code-outside-table",
            Defect::JobWithoutReference => "job-without-reference",
            Defect::JobSucceedsWithoutPool => "job-succeeds-without-pool",
            Defect::JobFailsButLeavesPool => "job-fails-but-leaves-pool",
            Defect::Permissive => "permissive",
            Defect::IgnoreHostResourceOwnership => "ignore-host-resource-ownership",
            Defect::MixedSyncAndJob => "mixed-sync-and-job",
            Defect::JobNeverFinishes => "job-never-finishes",
            Defect::AllowCycles => "allow-cycles",
            Defect::ReservedCountsGrandchildren => "reserved-counts-grandchildren",
            Defect::VagueErrors => "vague-errors",
            Defect::PoolsOutsideNamespace => "pools-outside-namespace",
        }
    }

    /// The defect with this kebab-case name.
    pub fn from_name(name: &str) -> Option<Defect> {
        Defect::ALL.iter().copied().find(|d| d.name() == name)
    }
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
