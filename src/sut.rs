//! The system under test: the [`PoolService`] trait and its wire types.
//!
//! This is the single seam every implementation plugs into — the built-in reference
//! implementation, the mutant zoo, process adapters for implementations written in other
//! languages. The types here are *wire-faithful*: they carry what a WBEM client would put on
//! the wire and read back, and nothing the suite derived.
//!
//! - Embedded instances (`PoolSettings`, `AllocationSettings`, `Settings`) are strings.
//! - Pools, jobs and host devices are object paths ([`ObjectPath`]).
//! - A method's `ReturnValue` is a `u32`; output parameters (`Pool`, `Job`) are named.
//! - A failure can also arrive on the second error channel, a CIM status such as
//!   `CIM_ERR_INVALID_PARAMETER` instead of a return value ([`CallReply::CimError`]).
//! - `4096` comes with a job reference that the harness polls through [`PoolService::poll_job`].
//!
//! The module refuses to know about rules, the model, profiles or verdicts: it describes
//! calls and observations, never whether they are right.
//!
//! # Plugging in an implementation
//!
//! Wrapping an implementation takes five methods. This one forwards to some client library
//! (here a stand-in that refuses everything) and compiles as it stands:
//!
//! ```
//! use poolcheck::sut::*;
//!
//! /// A stand-in for your client: a WMI session, a CIM-XML connection, an FFI handle …
//! struct MyClient { pools: Vec<PoolView> }
//!
//! struct MyService { client: MyClient }
//!
//! impl PoolService for MyService {
//!     fn describe(&self) -> ServiceDescription {
//!         ServiceDescription {
//!             name: "my-pool-service".into(),
//!             version: "1.2.3".into(),
//!             dialect: Dialect::Msvm,
//!         }
//!     }
//!
//!     fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
//!         // Bring the host back to the fixture: only primordial pools, nothing allocated.
//!         self.client.pools = fixture.primordial_views();
//!         Ok(())
//!     }
//!
//!     fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
//!         match call.method {
//!             Method::CreatePool | Method::DeletePool => {
//!                 // Forward call.params to the real service and translate its answer.
//!                 Ok(CallReply::Return(MethodReturn::code(32770)))
//!             }
//!             other => Err(ServiceError::Unsupported(other.name().into())),
//!         }
//!     }
//!
//!     fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
//!         Err(ServiceError::Protocol(format!("no such job {job}")))
//!     }
//!
//!     fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
//!         Ok(Snapshot { pools: self.client.pools.clone() })
//!     }
//! }
//!
//! let mut service = MyService { client: MyClient { pools: vec![] } };
//! let fixture = HostFixture::msvm_default();
//! service.reset(&fixture).unwrap();
//! assert_eq!(service.snapshot().unwrap().pools.len(), fixture.resource_types.len());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// `ReturnValue` meaning "Method Parameters Checked - Job Started" in both dialects.
pub const JOB_STARTED: u32 = 4096;

/// A WBEM object path as the implementation renders it, e.g.
/// `\\HOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="Microsoft:…"`.
/// The suite never parses it; it only compares paths for equality.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectPath(pub String);

impl ObjectPath {
    pub fn new(path: impl Into<String>) -> Self {
        ObjectPath(path.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which service class an implementation speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Dialect {
    /// `Msvm_ResourcePoolConfigurationService` (Hyper-V, root\virtualization\v2).
    Msvm,
    /// `CIM_ResourcePoolConfigurationService` (DMTF).
    Cim,
}

impl Dialect {
    /// The methods of this dialect's service class that manage pools.
    pub fn methods(self) -> &'static [Method] {
        match self {
            Dialect::Msvm => &[
                Method::CreatePool,
                Method::ModifyPoolResources,
                Method::ModifyPoolSettings,
                Method::DeletePool,
            ],
            Dialect::Cim => &[
                Method::CreateResourcePool,
                Method::CreateChildResourcePool,
                Method::DeleteResourcePool,
                Method::AddResourcesToResourcePool,
                Method::RemoveResourcesFromResourcePool,
                Method::ChangeParentResourcePool,
            ],
        }
    }
}

/// The pool-management methods of both service classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Method {
    CreatePool,
    ModifyPoolResources,
    ModifyPoolSettings,
    DeletePool,
    CreateResourcePool,
    CreateChildResourcePool,
    DeleteResourcePool,
    AddResourcesToResourcePool,
    RemoveResourcesFromResourcePool,
    ChangeParentResourcePool,
}

impl Method {
    pub const ALL: [Method; 10] = [
        Method::CreatePool,
        Method::ModifyPoolResources,
        Method::ModifyPoolSettings,
        Method::DeletePool,
        Method::CreateResourcePool,
        Method::CreateChildResourcePool,
        Method::DeleteResourcePool,
        Method::AddResourcesToResourcePool,
        Method::RemoveResourcesFromResourcePool,
        Method::ChangeParentResourcePool,
    ];

    /// The method's name as it appears in the MOF.
    pub fn name(self) -> &'static str {
        match self {
            Method::CreatePool => "CreatePool",
            Method::ModifyPoolResources => "ModifyPoolResources",
            Method::ModifyPoolSettings => "ModifyPoolSettings",
            Method::DeletePool => "DeletePool",
            Method::CreateResourcePool => "CreateResourcePool",
            Method::CreateChildResourcePool => "CreateChildResourcePool",
            Method::DeleteResourcePool => "DeleteResourcePool",
            Method::AddResourcesToResourcePool => "AddResourcesToResourcePool",
            Method::RemoveResourcesFromResourcePool => "RemoveResourcesFromResourcePool",
            Method::ChangeParentResourcePool => "ChangeParentResourcePool",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn dialect(self) -> Dialect {
        match self {
            Method::CreatePool
            | Method::ModifyPoolResources
            | Method::ModifyPoolSettings
            | Method::DeletePool => Dialect::Msvm,
            _ => Dialect::Cim,
        }
    }

    /// The input parameters of the method, in MOF order, with their wire kinds.
    pub fn input_parameters(self) -> &'static [(&'static str, ParamKind)] {
        use ParamKind::*;
        match self {
            Method::CreatePool => &[
                ("PoolSettings", String),
                ("ParentPools", ReferenceArray),
                ("AllocationSettings", StringArray),
            ],
            Method::ModifyPoolResources => &[
                ("ChildPool", Reference),
                ("ParentPools", ReferenceArray),
                ("AllocationSettings", StringArray),
            ],
            Method::ModifyPoolSettings => &[("ChildPool", Reference), ("PoolSettings", String)],
            Method::DeletePool => &[("Pool", Reference)],
            Method::CreateResourcePool => &[
                ("ElementName", String),
                ("HostResources", ReferenceArray),
                ("ResourceType", String),
            ],
            Method::CreateChildResourcePool => &[
                ("ElementName", String),
                ("Settings", StringArray),
                ("ParentPool", ReferenceArray),
            ],
            Method::DeleteResourcePool => &[("Pool", Reference)],
            Method::AddResourcesToResourcePool | Method::RemoveResourcesFromResourcePool => {
                &[("HostResources", ReferenceArray), ("Pool", Reference)]
            }
            Method::ChangeParentResourcePool => &[
                ("ChildPool", Reference),
                ("ParentPool", ReferenceArray),
                ("Settings", StringArray),
            ],
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The wire kind of a method parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamKind {
    String,
    StringArray,
    Reference,
    ReferenceArray,
}

/// A parameter value as it travels on the wire. `Null` is an explicit NULL; an absent
/// parameter is simply not in [`MethodCall::params`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ParamValue {
    Null,
    String(String),
    StringArray(Vec<String>),
    Reference(ObjectPath),
    ReferenceArray(Vec<ObjectPath>),
}

impl ParamValue {
    pub fn kind(&self) -> Option<ParamKind> {
        match self {
            ParamValue::Null => None,
            ParamValue::String(_) => Some(ParamKind::String),
            ParamValue::StringArray(_) => Some(ParamKind::StringArray),
            ParamValue::Reference(_) => Some(ParamKind::Reference),
            ParamValue::ReferenceArray(_) => Some(ParamKind::ReferenceArray),
        }
    }
}

/// One named parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: ParamValue,
}

/// One extrinsic method invocation on the service instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodCall {
    pub method: Method,
    pub params: Vec<Param>,
}

impl MethodCall {
    pub fn new(method: Method) -> Self {
        MethodCall {
            method,
            params: Vec::new(),
        }
    }

    pub fn with(mut self, name: &str, value: ParamValue) -> Self {
        self.params.push(Param {
            name: name.to_string(),
            value,
        });
        self
    }

    /// The parameter with this name (CIM names compare case-insensitively).
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| &p.value)
    }
}

/// What the method returned: its `ReturnValue` and its output parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodReturn {
    pub return_value: u32,
    pub out_params: Vec<Param>,
}

impl MethodReturn {
    /// A return with no output parameters.
    pub fn code(return_value: u32) -> Self {
        MethodReturn {
            return_value,
            out_params: Vec::new(),
        }
    }

    pub fn with_reference(mut self, name: &str, path: ObjectPath) -> Self {
        self.out_params.push(Param {
            name: name.to_string(),
            value: ParamValue::Reference(path),
        });
        self
    }

    /// The reference-valued output parameter with this name, if present and not NULL.
    pub fn out_reference(&self, name: &str) -> Option<&ObjectPath> {
        self.out_params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| match &p.value {
                ParamValue::Reference(path) => Some(path),
                _ => None,
            })
    }
}

/// A failure on the second error channel: the call raised a CIM status instead of
/// returning a value (DSP0200 status codes, e.g. 4 = `CIM_ERR_INVALID_PARAMETER`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CimError {
    pub status: u32,
    pub description: String,
}

/// The implementation's answer to one [`MethodCall`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallReply {
    Return(MethodReturn),
    CimError(CimError),
}

/// A `CIM_ConcreteJob` as read by one poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    /// `JobState`: 2 New … 7 Completed, 8 Terminated, 9 Killed, 10 Exception, 32768 vendor
    /// "completed with warnings".
    pub job_state: u16,
    /// `ErrorCode`: zero exactly when the job completed without error.
    pub error_code: u16,
    pub error_description: String,
    /// `JobType` (150 create, 151 change parents, 152 change settings, 153 delete), or 0 when
    /// the implementation does not set it.
    pub job_type: u16,
    /// Elements the job affected (`Msvm_AffectedJobElement`): for a create, the new pool.
    pub affected_elements: Vec<ObjectPath>,
}

/// One pool as the implementation reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolView {
    pub path: ObjectPath,
    pub pool_id: String,
    pub element_name: String,
    pub resource_type: u16,
    pub resource_subtype: String,
    pub primordial: bool,
    /// `Capacity`, in the pool's allocation units (for named host resources: their count).
    pub capacity: u64,
    /// `Reserved`, in the same units.
    pub reserved: u64,
    /// The host resources this pool holds (switch paths, storage folders, FC switch paths,
    /// host devices). Empty for quantity pools.
    pub host_resources: Vec<String>,
    /// One entry per parent pool (`ElementAllocatedFromPool`), with what the pool holds from it.
    pub allocations: Vec<ParentAllocation>,
}

/// What a child pool holds from one parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentAllocation {
    pub parent: ObjectPath,
    /// The quantity held from this parent (quantity pools), zero for named pools.
    pub quantity: u64,
    /// The host resources held from this parent (named pools).
    pub host_resources: Vec<String>,
}

/// Every pool the implementation knows, as of one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub pools: Vec<PoolView>,
}

impl Snapshot {
    pub fn pool(&self, path: &ObjectPath) -> Option<&PoolView> {
        self.pools.iter().find(|p| &p.path == path)
    }
}

/// What changed on the host since the previous `reset`, `snapshot` or `changes` call: the
/// answer of the optional [`PoolService::changes`].
///
/// The contract: every pool created or whose view differs in any field (Reserved of a parent
/// whose child changed included) is in `changed`, with its whole view; every pool deleted is in
/// `removed`. Reporting a pool that did not change is allowed; leaving out one that did is not
/// — and cannot hide a failure: the harness compares a full snapshot at the end of every
/// sequence, and re-checks a sequence step by step with full snapshots whenever the two views
/// disagree (ARCHITECTURE.md, "Cost per step").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDelta {
    #[serde(default)]
    pub changed: Vec<PoolView>,
    #[serde(default)]
    pub removed: Vec<ObjectPath>,
}

/// How an allocation of a resource type is expressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// An amount (memory in MB, processor in percent of a core): `Reservation` on the RASD.
    Quantity,
    /// Named host resources compared by identity (switch ports, FC switches, devices):
    /// `HostResource[]` on the RASD.
    Named,
    /// Named host resources that are storage folders: a child's path qualifies when it equals
    /// a parent's path or lies under it (`\` separated).
    Path,
}

/// One resource type the host offers, with its primordial pool's inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceTypeFixture {
    pub resource_type: u16,
    pub resource_subtype: String,
    pub kind: ResourceKind,
    /// Capacity of the primordial pool for [`ResourceKind::Quantity`] types.
    #[serde(default)]
    pub capacity: u64,
    /// Host resources of the primordial pool for named and path types.
    #[serde(default)]
    pub host_resources: Vec<String>,
}

/// The host an implementation is reset to: its name and one primordial pool per type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFixture {
    pub host_name: String,
    pub resource_types: Vec<ResourceTypeFixture>,
}

impl HostFixture {
    /// The Hyper-V-shaped default host: memory, processor, Ethernet, VHD and virtual SAN pools.
    pub fn msvm_default() -> HostFixture {
        HostFixture {
            host_name: "POOLHOST".into(),
            resource_types: vec![
                ResourceTypeFixture {
                    resource_type: 4,
                    resource_subtype: "Microsoft:Hyper-V:Memory".into(),
                    kind: ResourceKind::Quantity,
                    capacity: 64,
                    host_resources: vec![],
                },
                ResourceTypeFixture {
                    resource_type: 3,
                    resource_subtype: "Microsoft:Hyper-V:Processor".into(),
                    kind: ResourceKind::Quantity,
                    capacity: 48,
                    host_resources: vec![],
                },
                ResourceTypeFixture {
                    resource_type: 33,
                    resource_subtype: "Microsoft:Hyper-V:Ethernet Connection".into(),
                    kind: ResourceKind::Named,
                    capacity: 0,
                    host_resources: vec![
                        switch_path("POOLHOST", "SW-A"),
                        switch_path("POOLHOST", "SW-B"),
                        switch_path("POOLHOST", "SW-C"),
                    ],
                },
                ResourceTypeFixture {
                    resource_type: 31,
                    resource_subtype: "Microsoft:Hyper-V:Virtual Hard Disk".into(),
                    kind: ResourceKind::Path,
                    capacity: 0,
                    host_resources: vec![r"C:\VMs".into(), r"D:\Pools".into()],
                },
                ResourceTypeFixture {
                    resource_type: 64764,
                    resource_subtype: "Microsoft:Hyper-V:FibreChannel Connection".into(),
                    kind: ResourceKind::Named,
                    capacity: 0,
                    host_resources: vec![
                        fc_switch_path("POOLHOST", "FCSW-1"),
                        fc_switch_path("POOLHOST", "FCSW-2"),
                    ],
                },
            ],
        }
    }

    /// The default host for the CIM dialect: the same inventory.
    pub fn cim_default() -> HostFixture {
        HostFixture::msvm_default()
    }

    /// The primordial pools of this fixture as a conforming implementation reports them right
    /// after `reset`. Paths follow poolcheck's own convention; an implementation may use its own.
    pub fn primordial_views(&self) -> Vec<PoolView> {
        self.resource_types
            .iter()
            .map(|t| PoolView {
                path: ObjectPath(format!(
                    r#"\\{}\root\virtualization\v2:Msvm_ResourcePool.InstanceID="Microsoft:Primordial\{}""#,
                    self.host_name, t.resource_subtype
                )),
                pool_id: String::new(),
                element_name: "Primordial".into(),
                resource_type: t.resource_type,
                resource_subtype: t.resource_subtype.clone(),
                primordial: true,
                capacity: t.primordial_capacity(),
                reserved: 0,
                host_resources: t.host_resources.clone(),
                allocations: vec![],
            })
            .collect()
    }
}

impl ResourceTypeFixture {
    /// Capacity of the primordial pool: the quantity, or the number of host resources.
    pub fn primordial_capacity(&self) -> u64 {
        match self.kind {
            ResourceKind::Quantity => self.capacity,
            ResourceKind::Named | ResourceKind::Path => self.host_resources.len() as u64,
        }
    }
}

fn switch_path(host: &str, name: &str) -> String {
    format!(
        r#"\\{host}\root\virtualization\v2:Msvm_VirtualEthernetSwitch.CreationClassName="Msvm_VirtualEthernetSwitch",Name="{name}""#
    )
}

fn fc_switch_path(host: &str, name: &str) -> String {
    format!(
        r#"\\{host}\root\virtualization\v2:Msvm_VirtualFcSwitch.CreationClassName="Msvm_VirtualFcSwitch",Name="{name}""#
    )
}

/// Who an implementation says it is; recorded in every report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDescription {
    pub name: String,
    pub version: String,
    pub dialect: Dialect,
}

/// The implementation (or the channel to it) failed to answer at all. This is not a
/// conformance verdict on a method's result: a method that fails returns a
/// [`CallReply`]. The harness reports `Unsupported` as "not applicable" and every other
/// variant as a failure of the rule the step was exercising.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ServiceError {
    /// The implementation does not offer this method or operation at all.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The implementation crashed, exited or could not be reached.
    #[error("implementation crashed: {0}")]
    Crashed(String),
    /// The implementation did not answer in time.
    #[error("implementation timed out: {0}")]
    Timeout(String),
    /// The implementation answered something that is not a valid answer.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// The one seam between poolcheck and an implementation.
///
/// Object-safe; the harness drives a `&mut dyn PoolService`. Calls come one at a time, in
/// order; the harness never calls `invoke` while it still polls a job of an earlier call.
pub trait PoolService {
    /// Name, version and dialect, recorded in every report.
    fn describe(&self) -> ServiceDescription;

    /// Forget everything and come back as a host with exactly the fixture's primordial
    /// pools: no child pools, nothing reserved, no jobs.
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError>;

    /// Invoke one extrinsic method of the configuration service.
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError>;

    /// Read the job a call returned with `4096`. The harness polls until `job_state` is
    /// terminal (or its poll budget runs out, which is a failure).
    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError>;

    /// Every pool, with parents, per-parent holdings, capacity, reserved amount and host
    /// resources. Called after every step to check the invariants against observed state,
    /// unless the implementation tracks [`changes`](PoolService::changes).
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError>;

    /// Optional: the pools created, changed or deleted since the previous `reset`,
    /// `snapshot` or `changes` call ([`SnapshotDelta`] has the contract). An implementation
    /// that answers `Some` lets the harness check a step in time independent of the host's
    /// size; the default, `None`, means "not tracked", and the harness asks for a full
    /// `snapshot` after every step instead.
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        Ok(None)
    }
}
