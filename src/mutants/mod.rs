//! The mutant zoo: deliberately broken implementations, each a realistic one-line change of
//! the reference implementation ([`Defect`]), tagged with the rule ids it violates.
//!
//! A conformance suite is only as good as the broken implementations it catches: the tests
//! and `poolcheck mutants` run the harness against every entry and require that one of its
//! tagged rules catches it. This module names targets; it refuses to know how they are
//! judged. Its submodules run the harness over the zoo ([`hunt`]) and check that shrunk
//! counterexamples are minimal ([`minimal`]); they refuse to know how results look.

pub mod hunt;
pub mod minimal;

use crate::reference::{Defect, ReferenceConfig, ReferenceService, TypePolicy};
use crate::spec::profile::{MethodMode, Profile};
use crate::sut::{Dialect, Method, PoolService};

/// One broken implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mutant {
    pub defect: Defect,
    /// Rules a suite with teeth must name when it catches this mutant.
    pub rules: &'static [&'static str],
    /// The dialects in which the defect is observable.
    pub dialects: &'static [Dialect],
    pub description: &'static str,
}

const BOTH: &[Dialect] = &[Dialect::Msvm, Dialect::Cim];

/// Every mutant of the zoo.
pub const ZOO: &[Mutant] = &[
    Mutant {
        defect: Defect::AcceptAnyAllocationCount,
        rules: &["ARG-001"],
        dialects: BOTH,
        description: "accepts an AllocationSettings count that is neither 1 nor one per parent",
    },
    Mutant {
        defect: Defect::FirstAllocationOnly,
        rules: &["ATOM-002", "JOB-004", "CAP-004", "CAP-002", "HOST-001"],
        dialects: BOTH,
        description: "uses only the first allocation setting and its parent",
    },
    Mutant {
        defect: Defect::IgnoreParentPools,
        // Ignoring ParentPools also means never checking that a parent exists (ID-002) or
        // that there is one at all (ARG-003).
        rules: &[
            "ATOM-002", "JOB-004", "CAP-002", "CAP-003", "MOD-003", "TYPE-001", "ID-003",
            "ARG-004", "ID-002", "ARG-003",
        ],
        dialects: BOTH,
        description: "allocates from the primordial pool whatever ParentPools says",
    },
    Mutant {
        defect: Defect::SharedAlwaysSupported,
        rules: &["SHARE-001"],
        dialects: BOTH,
        description: "accepts a shared-capacity allocation on a type that does not support it",
    },
    Mutant {
        defect: Defect::SharedNeverSupported,
        rules: &["SHARE-002", "RC-002"],
        dialects: BOTH,
        description: "refuses shared-capacity allocations where they are supported",
    },
    Mutant {
        defect: Defect::OffByOneCapacity,
        rules: &["CAP-005"],
        dialects: BOTH,
        description: "refuses an allocation of exactly the parent's free capacity",
    },
    Mutant {
        defect: Defect::IgnoreParentCapacity,
        rules: &["CAP-005", "CAP-001"],
        dialects: BOTH,
        description: "over-commits a parent: no free-capacity check",
    },
    Mutant {
        defect: Defect::SharedExceedsAggregate,
        rules: &["SHARE-002", "CAP-001", "SHARE-003"],
        dialects: BOTH,
        description: "lets a shared allocation exceed the parents' aggregate free capacity",
    },
    Mutant {
        defect: Defect::LeakOnFailure,
        rules: &["ATOM-001", "JOB-004", "CAP-002"],
        dialects: BOTH,
        description: "leaks a parent reservation when a call fails",
    },
    Mutant {
        defect: Defect::NoReleaseOnDelete,
        rules: &["CAP-002", "DEL-002", "ATOM-002"],
        dialects: BOTH,
        description: "does not return what a deleted pool held to its parents",
    },
    Mutant {
        defect: Defect::DeleteWithChildren,
        rules: &["DEL-001"],
        dialects: BOTH,
        description: "deletes a pool that still has child pools",
    },
    Mutant {
        defect: Defect::PrimordialMutable,
        rules: &["PRIM-001"],
        dialects: BOTH,
        description: "lets a call delete or modify a primordial pool",
    },
    Mutant {
        defect: Defect::DuplicatePoolIds,
        rules: &["ID-001"],
        // A CIM service chooses the PoolID itself; this one takes the ElementName (or
        // "ResourcePool") for it, so two pools can share one in either dialect.
        dialects: BOTH,
        description: "allows two pools of one type with the same PoolID",
    },
    Mutant {
        defect: Defect::ForeignTypeParent,
        rules: &["TYPE-001"],
        dialects: BOTH,
        description: "accepts a parent of another resource type",
    },
    Mutant {
        defect: Defect::FailedAsUnknown,
        rules: &["RC-002"],
        dialects: BOTH,
        description: "reports every refusal as Unknown (32771 / 2)",
    },
    Mutant {
        defect: Defect::CodeOutsideTable,
        rules: &["RC-001"],
        dialects: BOTH,
        description: "reports Object Not Found with a code outside the method's table",
    },
    Mutant {
        defect: Defect::JobWithoutReference,
        rules: &["JOB-001"],
        dialects: BOTH,
        description: "returns 4096 without a Job reference",
    },
    Mutant {
        defect: Defect::JobSucceedsWithoutPool,
        rules: &["JOB-004", "ID-004"],
        dialects: BOTH,
        description: "a create job reports success but leaves no pool",
    },
    Mutant {
        defect: Defect::JobFailsButLeavesPool,
        rules: &["JOB-004"],
        dialects: BOTH,
        description: "a create job reports failure but leaves the pool",
    },
    Mutant {
        defect: Defect::Permissive,
        rules: &[
            "ARG-001",
            "ARG-002",
            "ARG-003",
            "ARG-004",
            "ARG-005",
            "CAP-005",
            "CAP-001",
            "SHARE-001",
            "SHARE-002",
            "TYPE-001",
            "ID-001",
            "ID-002",
            "ID-003",
            "DEL-001",
            "PRIM-001",
            "EMB-001",
            "EMB-002",
            "EMB-003",
            "HOST-001",
            "HOST-003",
            "HOST-004",
            "MOD-002",
            "MOD-003",
            "MOD-004",
            "CAP-006",
        ],
        dialects: BOTH,
        description: "accepts everything it can make sense of",
    },
    Mutant {
        defect: Defect::IgnoreHostResourceOwnership,
        rules: &["HOST-001", "CAP-003"],
        dialects: BOTH,
        description: "lets a child take host resources its parent does not have",
    },
    Mutant {
        defect: Defect::MixedSyncAndJob,
        rules: &["JOB-005"],
        dialects: BOTH,
        description: "answers a job method synchronously every second time",
    },
    Mutant {
        defect: Defect::JobNeverFinishes,
        rules: &["JOB-002"],
        dialects: BOTH,
        description: "jobs stay Running forever",
    },
    Mutant {
        defect: Defect::AllowCycles,
        rules: &["MOD-003"],
        dialects: BOTH,
        description: "lets a pool become its own ancestor",
    },
    Mutant {
        defect: Defect::ReservedCountsGrandchildren,
        rules: &["CAP-002", "CAP-001", "ATOM-002", "JOB-004"],
        dialects: BOTH,
        description: "counts grandchildren's holdings in a parent's Reserved",
    },
    Mutant {
        defect: Defect::VagueErrors,
        rules: &["EMB-005"],
        dialects: BOTH,
        description: "Invalid Parameter refusals say only \"Invalid parameter\"",
    },
    Mutant {
        defect: Defect::PoolsOutsideNamespace,
        rules: &["ID-005"],
        dialects: BOTH,
        description: "new pools' references name the other dialect's namespace",
    },
];

/// The zoo entry with this name.
pub fn find(name: &str) -> Option<&'static Mutant> {
    ZOO.iter().find(|m| m.defect.name() == name)
}

/// The reference implementation configured to behave as `profile` describes: its dialect,
/// its per-type policies, and a job for every method the profile says runs as one.
pub fn reference_config(profile: &Profile) -> ReferenceConfig {
    let base = match profile.dialect {
        Dialect::Msvm => ReferenceConfig::msvm_default(),
        Dialect::Cim => ReferenceConfig::cim_default(),
    };
    let types = profile
        .resource_types
        .iter()
        .map(|t| {
            TypePolicy::new(
                t.resource_type,
                &t.resource_subtype,
                t.shared_capacity,
                t.max_parent_pools,
            )
        })
        .collect();
    let job_methods: Vec<Method> = profile
        .dialect
        .methods()
        .iter()
        .copied()
        .filter(|m| profile.mode(*m) == MethodMode::Job)
        .collect();
    base.with_types(types).with_job_methods(&job_methods)
}

/// The built-in implementations by target name: `reference`, or `mutant:NAME`, configured
/// for `profile` and reset to its host fixture.
pub fn build(target: &str, profile: &Profile) -> Result<Box<dyn PoolService>, String> {
    let base = reference_config(profile);
    let config = if target == "reference" {
        base
    } else if let Some(name) = target.strip_prefix("mutant:") {
        let mutant = find(name).ok_or_else(|| {
            let names: Vec<&str> = ZOO.iter().map(|m| m.defect.name()).collect();
            format!(
                "no mutant named {name:?}; the zoo has: {}",
                names.join(", ")
            )
        })?;
        base.with_defect(mutant.defect)
    } else {
        return Err(format!(
            "unknown target {target:?}: use `reference` or `mutant:NAME` (`poolcheck mutants` lists the zoo)"
        ));
    };
    let mut service = ReferenceService::new(config);
    service.reset(&profile.fixture()).map_err(|e| {
        format!(
            "the {target} implementation cannot be reset to profile {}: {e}",
            profile.name
        )
    })?;
    Ok(Box::new(service))
}
