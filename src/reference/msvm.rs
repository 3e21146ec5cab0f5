//! `Msvm_ResourcePoolConfigurationService`: CreatePool, ModifyPoolResources,
//! ModifyPoolSettings, DeletePool.
//!
//! - `PoolSettings` is an embedded `Msvm_ResourcePoolSettingData` (PoolID, ResourceType,
//!   ResourceSubType required, ARG-005; ElementName optional, default = the PoolID).
//! - `AllocationSettings` are embedded RASDs, one per parent or one shared (ARG-001).
//! - ModifyPoolSettings changes PoolID and ElementName only (MOD-004); a NULL ElementName
//!   leaves the name unchanged.

use crate::sut::{Method, ObjectPath};

use super::codes::{invalid, Reason, Refusal};
use super::ops::{short, ChangeRequest, CreateRequest, Effect, Op};
use super::params::{self, Allocation, Args, PoolSettings};
use super::{Defect, ReferenceService};

impl ReferenceService {
    pub(crate) fn parse_msvm(&self, method: Method, args: &Args) -> Result<Op, Refusal> {
        match method {
            Method::CreatePool => {
                let settings = self.read_pool_settings(args)?;
                Ok(Op::Create(CreateRequest {
                    pool_id: settings.pool_id,
                    element_name: settings.element_name,
                    resource_type: settings.resource_type,
                    resource_subtype: settings.resource_subtype,
                    parents: args.references("ParentPools").to_vec(),
                    allocations: read_allocations(
                        "AllocationSettings",
                        args.strings("AllocationSettings"),
                    )?,
                }))
            }
            Method::ModifyPoolResources => Ok(Op::ChangeParents(ChangeRequest {
                target: target(args, "ChildPool")?,
                parents: args.references("ParentPools").to_vec(),
                allocations: read_allocations(
                    "AllocationSettings",
                    args.strings("AllocationSettings"),
                )?,
            })),
            Method::ModifyPoolSettings => Ok(Op::ModifySettings {
                target: target(args, "ChildPool")?,
                settings: self.read_pool_settings(args)?,
            }),
            Method::DeletePool => Ok(Op::Delete {
                target: target(args, "Pool")?,
            }),
            other => Err(Refusal::new(
                Reason::NotSupported,
                format!("{other} is not a method of this service"),
            )),
        }
    }

    /// `PoolSettings`: NULL is Invalid Parameter; the text must decode as one pool setting
    /// data instance (EMB-001..003).
    fn read_pool_settings(&self, args: &Args) -> Result<PoolSettings, Refusal> {
        let Some(text) = args.string("PoolSettings") else {
            return Err(invalid("PoolSettings is NULL"));
        };
        params::pool_settings("PoolSettings", text).map_err(invalid)
    }

    /// ModifyPoolSettings, parameter level: ARG-005, ID-002, PRIM-001, MOD-004 types.
    pub(crate) fn check_modify_settings(
        &self,
        target: &ObjectPath,
        settings: &PoolSettings,
    ) -> Result<(), Refusal> {
        if self.strict()
            && (settings.pool_id.is_none()
                || settings.resource_type.is_none()
                || settings.resource_subtype.is_none())
        {
            return Err(invalid(
                "PoolSettings must carry PoolID, ResourceType and ResourceSubType",
            ));
        }
        let pool = self.existing(target, "ChildPool")?;
        self.refuse_primordial(pool, "modified")?;
        if self.strict()
            && (settings.resource_type != Some(pool.resource_type)
                || settings.resource_subtype.as_deref() != Some(pool.resource_subtype.as_str()))
        {
            return Err(Refusal::new(
                Reason::IncorrectResourceType,
                format!(
                    "PoolSettings is not of the type of {} ({} / {:?})",
                    short(target),
                    pool.resource_type,
                    pool.resource_subtype
                ),
            ));
        }
        Ok(())
    }

    /// ModifyPoolSettings, state level: ID-001 for the new PoolID.
    pub(crate) fn plan_modify_settings(
        &self,
        target: &ObjectPath,
        settings: &PoolSettings,
    ) -> Result<Effect, Refusal> {
        let pool = self.existing(target, "ChildPool")?;
        if let Some(id) = &settings.pool_id {
            if !self.lax(Defect::DuplicatePoolIds) {
                if let Some(other) = self
                    .pool_with_id(pool.resource_type, &pool.resource_subtype, id)
                    .filter(|other| other.path != pool.path)
                {
                    return Err(Refusal::new(
                        Reason::ObjectExists,
                        format!(
                            "PoolID {:?} of this resource type is taken by {}",
                            params::shorten(id),
                            short(&other.path)
                        ),
                    ));
                }
            }
        }
        Ok(Effect::SetSettings {
            target: target.clone(),
            pool_id: settings.pool_id.clone(),
            element_name: settings.element_name.clone(),
        })
    }
}

/// A reference parameter that names the pool acted on; NULL is Invalid Parameter.
pub(crate) fn target(args: &Args, name: &str) -> Result<ObjectPath, Refusal> {
    args.reference(name)
        .cloned()
        .ok_or_else(|| invalid(format!("{name} is NULL")))
}

/// Decodes every allocation (EMB-001..003); the first that fails names its position.
pub(crate) fn read_allocations(param: &str, texts: &[String]) -> Result<Vec<Allocation>, Refusal> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| params::allocation(&format!("{param}[{i}]"), text).map_err(invalid))
        .collect()
}
