//! The reference implementation: both configuration services behind [`PoolService`],
//! written from `spec/` alone.
//!
//! [`ReferenceService`] is a complete, in-memory `Msvm_ResourcePoolConfigurationService` or
//! `CIM_ResourcePoolConfigurationService` (the [`ReferenceConfig::dialect`] decides which). It
//! keeps its own store of pool instances and `ElementAllocatedFromPool`-style holdings
//! (`store`), validates and applies every method (`msvm`, `cim`, `alloc`), runs the
//! methods the config names as `CIM_ConcreteJob`s (`jobs`) and answers with its own return
//! code tables (`codes`).
//!
//! # What it refuses to know
//!
//! - **The model** (`crate::model`): the suite checks this implementation against the model,
//!   so deriving anything from the model would prove nothing. Every rule here was implemented
//!   from the prose of `spec/*.md` and `spec/interpretations.md`.
//! - **The harness** (`crate::harness`) and rule bookkeeping: no rule ids are attached to
//!   answers; a refusal carries a reason and a message, as a real service's would.
//! - **`spec/return-codes.toml`**: a real implementation carries its own table; so does this
//!   one (`codes`).
//!
//! Embedded instances are always parsed by [`crate::codec`] (never matched as text).
//!
//! # Defects
//!
//! A [`ReferenceConfig`] may name [`Defect`]s: deliberate, realistic deviations, each a small
//! change of one correct code path, guarded by `self.has(Defect::X)` where the bug would
//! live. With no defects the service is meant to conform to every rule.
//!
//! # Robustness
//!
//! No input makes it panic: parameters are read through checked accessors, amounts use
//! saturating or checked arithmetic, and the hierarchy is walked iteratively.

mod alloc;
mod cim;
mod codes;
mod defects;
mod jobs;
mod msvm;
mod ops;
mod params;
mod store;

pub use defects::Defect;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::sut::{
    CallReply, CimError, Dialect, HostFixture, JobView, Method, MethodCall, MethodReturn,
    ObjectPath, Param, ParamValue, PoolService, ServiceDescription, ServiceError, Snapshot,
    SnapshotDelta, JOB_STARTED,
};

use codes::{CodeQuirks, Reason, Refusal};
use ops::Op;
use store::Store;

/// What the service supports for one resource type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypePolicy {
    pub resource_type: u16,
    pub resource_subtype: String,
    /// Whether one allocation for several parents (a shared-capacity allocation) is supported
    /// (SHARE-001).
    pub shared_capacity: bool,
    /// `MaxParentPools`; 0 means no limit (ID-003, A-9).
    pub max_parent_pools: u8,
}

impl TypePolicy {
    pub fn new(resource_type: u16, subtype: &str, shared_capacity: bool, max_parents: u8) -> Self {
        TypePolicy {
            resource_type,
            resource_subtype: subtype.to_string(),
            shared_capacity,
            max_parent_pools: max_parents,
        }
    }
}

/// How a [`ReferenceService`] behaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceConfig {
    pub dialect: Dialect,
    /// Per-type policies; a type not listed supports no shared allocation and has no
    /// parent limit.
    pub types: Vec<TypePolicy>,
    /// The methods that answer 4096 and do their work in a job; the others are synchronous.
    pub job_methods: Vec<Method>,
    /// Deliberate deviations (empty for the conforming implementation).
    pub defects: Vec<Defect>,
}

fn default_types() -> Vec<TypePolicy> {
    vec![
        TypePolicy::new(4, "Microsoft:Hyper-V:Memory", true, 0),
        TypePolicy::new(3, "Microsoft:Hyper-V:Processor", true, 0),
        TypePolicy::new(33, "Microsoft:Hyper-V:Ethernet Connection", false, 0),
        TypePolicy::new(31, "Microsoft:Hyper-V:Virtual Hard Disk", false, 0),
        TypePolicy::new(64764, "Microsoft:Hyper-V:FibreChannel Connection", false, 1),
    ]
}

impl ReferenceConfig {
    /// Hyper-V-shaped: CreatePool and ModifyPoolResources run as jobs, ModifyPoolSettings and
    /// DeletePool are synchronous.
    pub fn msvm_default() -> Self {
        ReferenceConfig {
            dialect: Dialect::Msvm,
            types: default_types(),
            job_methods: vec![Method::CreatePool, Method::ModifyPoolResources],
            defects: Vec::new(),
        }
    }

    /// DMTF-shaped: CreateChildResourcePool and ChangeParentResourcePool run as jobs.
    pub fn cim_default() -> Self {
        ReferenceConfig {
            dialect: Dialect::Cim,
            types: default_types(),
            job_methods: vec![
                Method::CreateChildResourcePool,
                Method::ChangeParentResourcePool,
            ],
            defects: Vec::new(),
        }
    }

    /// The same config with one more defect.
    pub fn with_defect(mut self, defect: Defect) -> Self {
        if !self.defects.contains(&defect) {
            self.defects.push(defect);
        }
        self
    }

    /// The same config with these methods as the job methods (all others synchronous).
    pub fn with_job_methods(mut self, methods: &[Method]) -> Self {
        self.job_methods = methods.to_vec();
        self
    }

    /// The same config with these type policies (e.g. taken from a profile).
    pub fn with_types(mut self, types: Vec<TypePolicy>) -> Self {
        self.types = types;
        self
    }

    /// The policy of a (type, subtype): an exact match, else the first entry of that type
    /// number, else no shared capacity and no parent limit.
    pub fn policy(&self, resource_type: u16, subtype: &str) -> TypePolicy {
        self.types
            .iter()
            .find(|t| t.resource_type == resource_type && t.resource_subtype == subtype)
            .or_else(|| self.types.iter().find(|t| t.resource_type == resource_type))
            .cloned()
            .unwrap_or_else(|| TypePolicy::new(resource_type, subtype, false, 0))
    }
}

/// The reference implementation of both services.
#[derive(Clone, Debug)]
pub struct ReferenceService {
    config: ReferenceConfig,
    store: Store,
    /// Every job since the last reset, running or finished (a client may poll a finished job
    /// again), by path.
    jobs: HashMap<ObjectPath, jobs::Job>,
    /// Successful calls of job methods so far (the `MixedSyncAndJob` defect counts them).
    job_method_successes: u64,
    /// The fixture last built and the store `Store::new` made from it: `reset` to an equal
    /// fixture (every reset of a harness run or fuzzing campaign) clones this store instead
    /// of building the pools, paths and indexes again. Starts as the dialect's default.
    fresh: (HostFixture, Store),
}

impl ReferenceService {
    /// A service as configured, already reset to its dialect's default host fixture.
    pub fn new(config: ReferenceConfig) -> Self {
        let fixture = match config.dialect {
            Dialect::Msvm => HostFixture::msvm_default(),
            Dialect::Cim => HostFixture::cim_default(),
        };
        let store = Store::new(
            config.dialect,
            &fixture,
            config
                .defects
                .contains(&Defect::ReservedCountsGrandchildren),
        );
        ReferenceService {
            config,
            store: store.clone(),
            jobs: HashMap::new(),
            job_method_successes: 0,
            fresh: (fixture, store),
        }
    }

    pub fn config(&self) -> &ReferenceConfig {
        &self.config
    }

    /// Whether a defect is active.
    pub(crate) fn has(&self, defect: Defect) -> bool {
        self.config.defects.contains(&defect)
    }

    /// Whether a check is skipped: by its own defect, or by `Permissive`.
    pub(crate) fn lax(&self, defect: Defect) -> bool {
        self.has(defect) || self.has(Defect::Permissive)
    }

    /// Whether the checks that have no defect of their own are done.
    pub(crate) fn strict(&self) -> bool {
        !self.has(Defect::Permissive)
    }

    fn quirks(&self) -> CodeQuirks {
        CodeQuirks {
            all_unknown: self.has(Defect::FailedAsUnknown),
            not_found_outside_table: self.has(Defect::CodeOutsideTable),
        }
    }

    pub(crate) fn code(&self, method: Method, reason: Reason) -> u32 {
        codes::code_for(self.config.dialect, method, reason, self.quirks())
    }

    /// The refusal's ReturnValue; when that is the Invalid Parameter number (for an invalid
    /// parameter, or a reason the dialect's table has no number for, such as CIM's Object Not
    /// Found), with an `Error` output parameter (an embedded `CIM_Error`) whose `Message` says
    /// what was wrong.
    fn refuse(&self, method: Method, refusal: &Refusal) -> CallReply {
        let code = self.code(method, refusal.reason);
        let mut ret = MethodReturn::code(code);
        if code == self.code(method, Reason::InvalidParameter) {
            ret.out_params.push(Param {
                name: "Error".into(),
                value: ParamValue::String(params::error_instance(
                    codes::CIM_ERR_INVALID_PARAMETER,
                    if self.has(Defect::VagueErrors) {
                        "Invalid parameter"
                    } else {
                        &refusal.message
                    },
                )),
            });
        }
        CallReply::Return(ret)
    }

    /// Validates and applies `op` now. A refusal leaves no trace, except for the partial
    /// reservations the `LeakOnFailure` defect does not roll back.
    fn execute(&mut self, op: &Op) -> Result<Option<ObjectPath>, Refusal> {
        let effect = self.check(op).and_then(|()| self.plan(op));
        match effect {
            Ok(effect) => Ok(self.apply(effect)),
            Err(refusal) => {
                self.commit_leaks(&refusal);
                Err(refusal)
            }
        }
    }

    /// A synchronous success: 0, with the new pool for creates.
    fn success(pool: Option<ObjectPath>) -> CallReply {
        let mut ret = MethodReturn::code(codes::COMPLETED);
        if let Some(path) = pool {
            ret = ret.with_reference("Pool", path);
        }
        CallReply::Return(ret)
    }

    fn invoke_job_method(&mut self, method: Method, op: Op) -> CallReply {
        if self.has(Defect::JobWithoutReference) {
            return match self.execute(&op) {
                Ok(_) => CallReply::Return(MethodReturn::code(JOB_STARTED)),
                Err(refusal) => self.refuse(method, &refusal),
            };
        }
        if self.has(Defect::MixedSyncAndJob) && self.plan(&op).is_ok() {
            self.job_method_successes = self.job_method_successes.saturating_add(1);
            if self.job_method_successes % 2 == 0 {
                return match self.execute(&op) {
                    Ok(pool) => Self::success(pool),
                    Err(refusal) => self.refuse(method, &refusal),
                };
            }
        }
        let path = self.store.new_job_path();
        let creates = op.creates_pool();
        self.jobs.insert(path.clone(), jobs::Job::new(method, op));
        let mut ret = MethodReturn::code(JOB_STARTED).with_reference("Job", path);
        if creates {
            ret.out_params.push(Param {
                name: "Pool".into(),
                value: ParamValue::Null,
            });
        }
        CallReply::Return(ret)
    }
}

impl PoolService for ReferenceService {
    fn describe(&self) -> ServiceDescription {
        let mut name = String::from("poolcheck-reference");
        for defect in &self.config.defects {
            name.push('+');
            name.push_str(defect.name());
        }
        ServiceDescription {
            name,
            version: env!("CARGO_PKG_VERSION").to_string(),
            dialect: self.config.dialect,
        }
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        // The fixture is compared whole each time: a store is reused only for an equal one.
        if self.fresh.0 != *fixture {
            let store = Store::new(
                self.config.dialect,
                fixture,
                self.has(Defect::ReservedCountsGrandchildren),
            );
            self.fresh = (fixture.clone(), store);
        }
        self.store.clone_from(&self.fresh.1);
        self.jobs.clear();
        self.job_method_successes = 0;
        Ok(())
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        let method = call.method;
        if method.dialect() != self.config.dialect {
            return Err(ServiceError::Unsupported(format!(
                "{method} is not a method of the {:?} service",
                self.config.dialect
            )));
        }
        let args = match params::extract(call, self.has(Defect::Permissive)) {
            Ok(args) => args,
            Err(description) => {
                return Ok(CallReply::CimError(CimError {
                    status: codes::CIM_ERR_INVALID_PARAMETER,
                    description,
                }))
            }
        };
        let op = match self.parse(method, &args).and_then(|op| {
            self.check(&op)?;
            Ok(op)
        }) {
            Ok(op) => op,
            Err(refusal) => return Ok(self.refuse(method, &refusal)),
        };
        if self.config.job_methods.contains(&method) {
            return Ok(self.invoke_job_method(method, op));
        }
        Ok(match self.execute(&op) {
            Ok(pool) => Self::success(pool),
            Err(refusal) => self.refuse(method, &refusal),
        })
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.poll(job)
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        Ok(Snapshot {
            pools: self.store.snapshot(),
        })
    }

    /// Tracked at the store: every insert, removal and change of a pool marks it, and a change
    /// of holdings marks the parents whose Reserved it may change — so the zoo's mutants
    /// report their own, defective, changes as truthfully as the conforming service does.
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        Ok(Some(self.store.take_changes()))
    }
}
