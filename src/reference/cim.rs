//! `CIM_ResourcePoolConfigurationService`: CreateResourcePool, CreateChildResourcePool,
//! DeleteResourcePool, AddResourcesToResourcePool, RemoveResourcesFromResourcePool,
//! ChangeParentResourcePool.
//!
//! - CreateChildResourcePool: `Settings` are the child's allocations; the child's type
//!   is `Settings[0]`'s; the service chooses the PoolID (unique per type); a NULL ElementName
//!   gets a non-empty default (the PoolID).
//! - Root pools (`CreateResourcePool`) own host resources of the fixture exclusively; their
//!   Capacity is the number they own; they can be parents of child pools. Only named and path
//!   types have root pools. `ResourceType` is a decimal string.
//! - Add/RemoveResources change a root pool's host resources and never re-parent it.

use std::collections::BTreeSet;

use crate::sut::{Method, ObjectPath, ResourceKind};

use super::codes::{invalid, Reason, Refusal};
use super::msvm::{read_allocations, target};
use super::ops::{short, ChangeRequest, CreateRequest, Effect, NewPool, Op};
use super::params::{shorten, Args};
use super::store::{qualifies, union_into, Origin, PoolRecord};
use super::ReferenceService;

impl ReferenceService {
    pub(crate) fn parse_cim(&self, method: Method, args: &Args) -> Result<Op, Refusal> {
        match method {
            Method::CreateChildResourcePool => {
                let allocations = read_allocations("Settings", args.strings("Settings"))?;
                let Some(first) = allocations.first() else {
                    return Err(invalid(
                        "Settings must hold one allocation, or one per parent pool",
                    ));
                };
                Ok(Op::Create(CreateRequest {
                    pool_id: None,
                    element_name: args.string("ElementName").map(str::to_string),
                    resource_type: first.resource_type,
                    resource_subtype: first.resource_subtype.clone(),
                    parents: args.references("ParentPool").to_vec(),
                    allocations,
                }))
            }
            Method::ChangeParentResourcePool => Ok(Op::ChangeParents(ChangeRequest {
                target: target(args, "ChildPool")?,
                parents: args.references("ParentPool").to_vec(),
                allocations: read_allocations("Settings", args.strings("Settings"))?,
            })),
            Method::DeleteResourcePool => Ok(Op::Delete {
                target: target(args, "Pool")?,
            }),
            Method::CreateResourcePool => {
                let Some(text) = args.string("ResourceType") else {
                    return Err(invalid("ResourceType is NULL"));
                };
                Ok(Op::CreateRoot {
                    element_name: args.string("ElementName").map(str::to_string),
                    resource_type: parse_resource_type(text)?,
                    host_resources: host_resource_names(args),
                })
            }
            Method::AddResourcesToResourcePool => Ok(Op::AddResources {
                target: target(args, "Pool")?,
                host_resources: host_resource_names(args),
            }),
            Method::RemoveResourcesFromResourcePool => Ok(Op::RemoveResources {
                target: target(args, "Pool")?,
                host_resources: host_resource_names(args),
            }),
            other => Err(Refusal::new(
                Reason::NotSupported,
                format!("{other} is not a method of this service"),
            )),
        }
    }

    /// CreateResourcePool, parameter level: TYPE-001, HOST-003 (type, quantity types,
    /// unknown references).
    pub(crate) fn check_create_root(
        &self,
        resource_type: u16,
        host_resources: &[String],
    ) -> Result<(), Refusal> {
        let Some(fixture) = self.store.fixture_type_by_number(resource_type) else {
            return Err(Refusal::new(
                Reason::IncorrectResourceType,
                format!("this host has no resources of ResourceType {resource_type}"),
            ));
        };
        if fixture.kind == ResourceKind::Quantity {
            return Err(Refusal::new(
                Reason::NotSupported,
                format!("ResourceType {resource_type} is a quantity; it has no root pools"),
            ));
        }
        let subtype = fixture.resource_subtype.clone();
        self.check_host_resource_references(resource_type, &subtype, host_resources)
    }

    /// Add/RemoveResources, parameter level: ID-002, PRIM-001, root pools only (HOST-003),
    /// and the references themselves.
    pub(crate) fn check_root_resources(
        &self,
        target: &ObjectPath,
        host_resources: &[String],
    ) -> Result<(), Refusal> {
        let pool = self.existing(target, "Pool")?;
        self.refuse_primordial(pool, "given or stripped of host resources")?;
        if self.strict() && !pool.is_root() && !pool.is_primordial() {
            return Err(invalid(format!(
                "{} is a child pool; host resources are added to and removed from root pools only",
                short(target)
            )));
        }
        self.check_host_resource_references(
            pool.resource_type,
            &pool.resource_subtype,
            host_resources,
        )
    }

    /// Every reference names a host resource of the fixture (Invalid Parameter) of the
    /// pool's type (Incorrect ResourceType), at most once (Invalid Parameter).
    fn check_host_resource_references(
        &self,
        resource_type: u16,
        subtype: &str,
        host_resources: &[String],
    ) -> Result<(), Refusal> {
        if !self.strict() {
            return Ok(());
        }
        let mut seen: BTreeSet<&String> = BTreeSet::new();
        for hr in host_resources {
            if !seen.insert(hr) {
                return Err(invalid(format!(
                    "host resource {:?} is named twice",
                    shorten(hr)
                )));
            }
            let Some(owner_type) = self
                .store
                .types
                .iter()
                .find(|t| t.host_resources.iter().any(|r| r == hr))
            else {
                return Err(invalid(format!(
                    "{:?} is not a host resource of this host",
                    shorten(hr)
                )));
            };
            if owner_type.resource_type != resource_type || owner_type.resource_subtype != subtype {
                return Err(Refusal::new(
                    Reason::IncorrectResourceType,
                    format!(
                        "host resource {:?} is of ResourceType {}, not {resource_type}",
                        shorten(hr),
                        owner_type.resource_type
                    ),
                ));
            }
        }
        Ok(())
    }

    /// HOST-003: a host resource belongs to at most one root pool.
    fn refuse_owned(&self, host_resources: &[String]) -> Result<(), Refusal> {
        if !self.strict() {
            return Ok(());
        }
        for hr in host_resources {
            if let Some(owner) = self.store.root_owner(hr) {
                return Err(Refusal::new(
                    Reason::InUse,
                    format!(
                        "host resource {:?} belongs to root pool {}",
                        shorten(hr),
                        short(&owner.path)
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn plan_create_root(
        &self,
        element_name: &Option<String>,
        resource_type: u16,
        host_resources: &[String],
    ) -> Result<Effect, Refusal> {
        let Some(fixture) = self.store.fixture_type_by_number(resource_type) else {
            return Err(Refusal::new(
                Reason::IncorrectResourceType,
                format!("this host has no resources of ResourceType {resource_type}"),
            ));
        };
        self.refuse_owned(host_resources)?;
        let mut owned = Vec::new();
        union_into(&mut owned, host_resources);
        Ok(Effect::Create(NewPool {
            pool_id: None,
            element_name: element_name.clone(),
            resource_type,
            resource_subtype: fixture.resource_subtype.clone(),
            kind: fixture.kind,
            origin: Origin::Root,
            holdings: Vec::new(),
            base_host_resources: owned,
        }))
    }

    pub(crate) fn plan_add_resources(
        &self,
        target: &ObjectPath,
        host_resources: &[String],
    ) -> Result<Effect, Refusal> {
        let pool = self.existing(target, "Pool")?;
        self.refuse_owned(host_resources)?;
        let mut owned = pool.base_host_resources.clone();
        union_into(&mut owned, host_resources);
        Ok(Effect::SetOwnedResources {
            target: target.clone(),
            host_resources: owned,
        })
    }

    /// HOST-004: a resource the pool does not hold is Invalid Parameter; one a child holds
    /// (path types: a child holds it or something under it) is In Use.
    pub(crate) fn plan_remove_resources(
        &self,
        target: &ObjectPath,
        host_resources: &[String],
    ) -> Result<Effect, Refusal> {
        let pool = self.existing(target, "Pool")?;
        if self.strict() {
            for hr in host_resources {
                if !pool.base_host_resources.contains(hr) {
                    return Err(invalid(format!(
                        "{} does not hold host resource {:?}",
                        short(target),
                        shorten(hr)
                    )));
                }
                if let Some(child) = self.child_holding(pool, hr) {
                    return Err(Refusal::new(
                        Reason::InUse,
                        format!(
                            "child pool {} holds host resource {:?}",
                            short(&child.path),
                            shorten(hr)
                        ),
                    ));
                }
            }
        }
        let owned = pool
            .base_host_resources
            .iter()
            .filter(|r| !host_resources.contains(r))
            .cloned()
            .collect();
        Ok(Effect::SetOwnedResources {
            target: target.clone(),
            host_resources: owned,
        })
    }

    fn child_holding<'a>(&'a self, pool: &'a PoolRecord, hr: &str) -> Option<&'a PoolRecord> {
        self.store.children_of(&pool.path).find(|child| {
            self.store
                .held_from(child, &pool.path)
                .1
                .iter()
                .any(|held| qualifies(held, hr, pool.kind))
        })
    }
}

/// `HostResources` as the strings the pools hold.
fn host_resource_names(args: &Args) -> Vec<String> {
    args.references("HostResources")
        .iter()
        .map(|p| p.as_str().to_string())
        .collect()
}

/// `ResourceType` of CreateResourcePool: a decimal uint16 (ARG-005, EMB-003).
fn parse_resource_type(text: &str) -> Result<u16, Refusal> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "ResourceType {:?} is not a decimal number",
            shorten(text)
        )));
    }
    text.parse::<u16>().map_err(|_| {
        invalid(format!(
            "ResourceType {:?} is out of the uint16 range",
            shorten(text)
        ))
    })
}
