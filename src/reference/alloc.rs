//! Creating a child pool and changing its parents: the rules both dialects share.
//!
//! - Pairing (ARG-001, A-6): *n* allocations for *n* parents pair by position, the
//!   allocation's own PoolID is ignored; one allocation for several parents is shared
//!   (SHARE-*).
//! - Quantity kinds read `Reservation` (required); `Limit` below `Reservation` is refused for
//!   every kind (CAP-006); named and path kinds read `HostResource` (NULL or empty: nothing from that parent, HOST-002).
//! - Free capacity (CAP-005) is `Capacity − Reserved`; when a child's parents change, what
//!   it held from a parent counts as free (release first, then acquire).
//! - A shared quantity is split greedily in parent order; each shared host resource is
//!   taken from the first parent (in order) that has it.

use std::collections::{BTreeMap, BTreeSet};

use crate::sut::{ObjectPath, ResourceKind};

use super::codes::{invalid, Reason, Refusal};
use super::ops::{short, ChangeRequest, CreateRequest, Effect, NewPool};
use super::params::Allocation;
use super::store::{qualifies, union_into, Holding, Origin, PoolRecord};
use super::{Defect, ReferenceService};

/// The new or existing child's type.
struct ChildType<'a> {
    resource_type: u16,
    subtype: &'a str,
    kind: ResourceKind,
}

impl ReferenceService {
    fn child_type<'a>(&self, req: &'a CreateRequest) -> Result<ChildType<'a>, Refusal> {
        let what = match self.config.dialect {
            crate::sut::Dialect::Msvm => "PoolSettings",
            crate::sut::Dialect::Cim => "Settings[0]",
        };
        let (Some(resource_type), Some(subtype)) =
            (req.resource_type, req.resource_subtype.as_deref())
        else {
            return Err(invalid(format!(
                "{what} must carry ResourceType and ResourceSubType"
            )));
        };
        Ok(ChildType {
            resource_type,
            subtype,
            kind: self.store.kind_of(resource_type, subtype),
        })
    }

    /// CreatePool / CreateChildResourcePool, parameter level.
    pub(crate) fn check_create(&self, req: &CreateRequest) -> Result<(), Refusal> {
        // ARG-005: the pool settings' PoolID (Msvm).
        if self.strict()
            && self.config.dialect == crate::sut::Dialect::Msvm
            && req.pool_id.is_none()
        {
            return Err(invalid("PoolSettings must carry a PoolID"));
        }
        let child = self.child_type(req)?;
        self.check_allocation_request(&child, &req.parents, &req.allocations)
    }

    /// ModifyPoolResources / ChangeParentResourcePool, parameter level.
    pub(crate) fn check_change(&self, req: &ChangeRequest) -> Result<(), Refusal> {
        let target = self.existing(&req.target, "ChildPool")?;
        self.refuse_primordial(target, "given new parents")?;
        if self.strict() && target.is_root() {
            return Err(invalid(format!(
                "{} is a root pool; it has no parents to change",
                short(&target.path)
            )));
        }
        let child = ChildType {
            resource_type: target.resource_type,
            subtype: &target.resource_subtype,
            kind: target.kind,
        };
        self.check_allocation_request(&child, &req.parents, &req.allocations)?;
        // MOD-003: the hierarchy stays acyclic.
        if !self.lax(Defect::AllowCycles) && !self.has(Defect::IgnoreParentPools) {
            if let Some(p) = req
                .parents
                .iter()
                .find(|p| self.store.is_self_or_descendant(p, &target.path))
            {
                return Err(invalid(format!(
                    "parent {} is the pool itself or one of its descendants",
                    short(p)
                )));
            }
        }
        Ok(())
    }

    /// The parameter-level rules of an allocation request.
    fn check_allocation_request(
        &self,
        child: &ChildType<'_>,
        parents: &[ObjectPath],
        allocations: &[Allocation],
    ) -> Result<(), Refusal> {
        let ignore_parents = self.has(Defect::IgnoreParentPools);
        let policy = self.config.policy(child.resource_type, child.subtype);
        let n = parents.len();
        let m = allocations.len();
        if !ignore_parents {
            // ARG-003
            if self.strict() && n == 0 {
                return Err(invalid("at least one parent pool must be given"));
            }
            // ARG-004
            if self.strict() {
                let mut seen: BTreeSet<&ObjectPath> = BTreeSet::new();
                if let Some((i, p)) = parents.iter().enumerate().find(|(_, p)| !seen.insert(*p)) {
                    return Err(invalid(format!(
                        "parent {} appears twice (position {i})",
                        short(p)
                    )));
                }
            }
            // ID-003
            let max = usize::from(policy.max_parent_pools);
            if self.strict() && max > 0 && n > max {
                return Err(invalid(format!(
                    "{n} parents given; this resource type allows at most {max}"
                )));
            }
            // ARG-001
            let well_formed = m == 1 || m == n;
            if !well_formed && !self.lax(Defect::AcceptAnyAllocationCount) {
                return Err(invalid(format!(
                    "{m} allocation setting(s) for {n} parent(s): give one, or one per parent"
                )));
            }
        } else if self.strict() && m == 0 {
            return Err(invalid("at least one allocation setting must be given"));
        }
        // ARG-005 and CAP-006, allocation by allocation.
        if self.strict() {
            for (i, a) in allocations.iter().enumerate() {
                if a.resource_type.is_none() || a.resource_subtype.is_none() {
                    return Err(invalid(format!(
                        "allocation {i} must carry ResourceType and ResourceSubType"
                    )));
                }
                if child.kind == ResourceKind::Quantity && a.reservation.is_none() {
                    return Err(invalid(format!("allocation {i} must carry a Reservation")));
                }
                if let (Some(reservation), Some(limit)) = (a.reservation, a.limit) {
                    if limit < reservation {
                        return Err(invalid(format!(
                            "allocation {i}: Reservation {reservation} exceeds Limit {limit}"
                        )));
                    }
                }
            }
        }
        // ID-002
        if !ignore_parents {
            for p in parents {
                self.existing(p, "parent")?;
            }
        }
        // TYPE-001
        if self.strict()
            && self
                .store
                .primordial_of(child.resource_type, child.subtype)
                .is_none()
        {
            return Err(Refusal::new(
                Reason::IncorrectResourceType,
                format!(
                    "this host has no pools of ResourceType {} / {:?}",
                    child.resource_type,
                    super::params::shorten(child.subtype)
                ),
            ));
        }
        if !ignore_parents && !self.lax(Defect::ForeignTypeParent) {
            for p in parents {
                let parent = self.existing(p, "parent")?;
                if parent.resource_type != child.resource_type
                    || parent.resource_subtype != child.subtype
                {
                    return Err(Refusal::new(
                        Reason::IncorrectResourceType,
                        format!(
                            "parent {} is of ResourceType {} / {:?}, not {} / {:?}",
                            short(p),
                            parent.resource_type,
                            parent.resource_subtype,
                            child.resource_type,
                            super::params::shorten(child.subtype)
                        ),
                    ));
                }
            }
        }
        if self.strict() {
            for (i, a) in allocations.iter().enumerate() {
                if a.resource_type != Some(child.resource_type)
                    || a.resource_subtype.as_deref() != Some(child.subtype)
                {
                    return Err(Refusal::new(
                        Reason::IncorrectResourceType,
                        format!("allocation {i} is not of the pool's resource type"),
                    ));
                }
            }
        }
        // SHARE-001
        let shared = !ignore_parents && m == 1 && n > 1;
        if shared && self.has(Defect::SharedNeverSupported) {
            return Err(Refusal::new(
                Reason::NotSupported,
                "shared-capacity allocations are not supported",
            ));
        }
        if shared && !self.lax(Defect::SharedAlwaysSupported) && !policy.shared_capacity {
            return Err(Refusal::new(
                Reason::NotSupported,
                format!(
                    "ResourceType {} does not support shared-capacity allocations",
                    child.resource_type
                ),
            ));
        }
        Ok(())
    }

    /// ID-001 and the allocation itself.
    pub(crate) fn plan_create(&self, req: &CreateRequest) -> Result<Effect, Refusal> {
        let child = self.child_type(req)?;
        let pool_id = match (&req.pool_id, self.config.dialect) {
            (Some(id), _) => Some(id.clone()),
            (None, crate::sut::Dialect::Msvm) => Some(String::new()),
            (None, crate::sut::Dialect::Cim) => None,
        };
        if let Some(id) = &pool_id {
            if !self.lax(Defect::DuplicatePoolIds) {
                if let Some(existing) = self.pool_with_id(child.resource_type, child.subtype, id) {
                    return Err(Refusal::new(
                        Reason::ObjectExists,
                        format!(
                            "PoolID {:?} of this resource type is taken by {}",
                            super::params::shorten(id),
                            short(&existing.path)
                        ),
                    ));
                }
            }
        }
        let holdings = self.compute_holdings(&child, &req.parents, &req.allocations, None)?;
        Ok(Effect::Create(NewPool {
            pool_id,
            element_name: req.element_name.clone(),
            resource_type: child.resource_type,
            resource_subtype: child.subtype.to_string(),
            kind: child.kind,
            origin: Origin::Child,
            holdings,
            base_host_resources: Vec::new(),
        }))
    }

    /// The pool of a (type, subtype) with this PoolID (ID-001).
    pub(crate) fn pool_with_id(
        &self,
        resource_type: u16,
        subtype: &str,
        pool_id: &str,
    ) -> Option<&PoolRecord> {
        self.store.pool_with_id(resource_type, subtype, pool_id)
    }

    /// The new holdings, then MOD-002.
    pub(crate) fn plan_change(&self, req: &ChangeRequest) -> Result<Effect, Refusal> {
        let target = self.existing(&req.target, "ChildPool")?;
        let child = ChildType {
            resource_type: target.resource_type,
            subtype: &target.resource_subtype,
            kind: target.kind,
        };
        let holdings =
            self.compute_holdings(&child, &req.parents, &req.allocations, Some(&target.path))?;
        if self.strict() {
            if child.kind == ResourceKind::Quantity {
                let new_capacity = holdings
                    .iter()
                    .fold(0u64, |sum, h| sum.saturating_add(h.quantity));
                let reserved = self.store.reserved(target);
                if new_capacity < reserved {
                    return Err(Refusal::new(
                        Reason::InUse,
                        format!(
                            "the new capacity {new_capacity} is below the {reserved} that child pools hold"
                        ),
                    ));
                }
            } else {
                let mut new_resources = Vec::new();
                for h in &holdings {
                    union_into(&mut new_resources, &h.host_resources);
                }
                for grandchild in self.store.children_of(&target.path) {
                    let (_, held) = self.store.held_from(grandchild, &target.path);
                    if let Some(lost) = held.iter().find(|hr| {
                        !new_resources
                            .iter()
                            .any(|own| qualifies(hr, own, child.kind))
                    }) {
                        return Err(Refusal::new(
                            Reason::InUse,
                            format!(
                                "child pool {} holds {:?}, which the new allocation drops",
                                short(&grandchild.path),
                                super::params::shorten(lost)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(Effect::SetHoldings {
            target: req.target.clone(),
            holdings,
        })
    }

    /// Whether `amount` fits in `free` (CAP-005: exactly the free capacity fits).
    fn fits(&self, amount: u64, free: u64) -> bool {
        if self.has(Defect::OffByOneCapacity) {
            amount < free
        } else {
            amount <= free
        }
    }

    /// A parent's free capacity, counting what `releasing` (the child whose parents change)
    /// holds from it as free, minus what this request already took from it.
    fn free(&self, parent: &PoolRecord, releasing: Option<&ObjectPath>, taken: u64) -> u64 {
        let capacity = self.store.capacity(parent);
        let reserved = self.store.reserved(parent);
        let released = releasing
            .and_then(|c| self.store.get(c))
            .map(|c| self.store.held_from(c, &parent.path).0)
            .unwrap_or(0);
        capacity
            .saturating_sub(reserved.saturating_sub(released))
            .saturating_sub(taken)
    }

    /// Whether a parent has a host resource (HOST-001; path kinds: equal or under).
    fn parent_has(&self, parent: &PoolRecord, host_resource: &str) -> bool {
        self.store
            .host_resources(parent)
            .iter()
            .any(|own| qualifies(host_resource, own, parent.kind))
    }

    /// The holdings an allocation request yields (CAP-005, SHARE-002/003, HOST-001/002).
    fn compute_holdings(
        &self,
        child: &ChildType<'_>,
        parents: &[ObjectPath],
        allocations: &[Allocation],
        releasing: Option<&ObjectPath>,
    ) -> Result<Vec<Holding>, Refusal> {
        let (parents, allocations): (Vec<ObjectPath>, Vec<Allocation>) =
            if self.has(Defect::IgnoreParentPools) {
                let Some(primordial) = self.store.primordial_of(child.resource_type, child.subtype)
                else {
                    return Err(Refusal::new(
                        Reason::IncorrectResourceType,
                        "this host has no primordial pool of the resource type",
                    ));
                };
                let mut merged = Allocation::default();
                for a in allocations {
                    let sum = merged
                        .reservation
                        .unwrap_or(0)
                        .checked_add(a.reservation.unwrap_or(0));
                    let Some(sum) = sum else {
                        return Err(Refusal::new(
                            Reason::InsufficientResources,
                            "the reservations add up to more than any pool holds",
                        ));
                    };
                    merged.reservation = Some(sum);
                    let mut hrs = merged.host_resource.take().unwrap_or_default();
                    union_into(&mut hrs, &a.host_resources());
                    merged.host_resource = Some(hrs);
                }
                (vec![primordial.path.clone()], vec![merged])
            } else if self.has(Defect::FirstAllocationOnly) {
                (
                    parents.iter().take(1).cloned().collect(),
                    allocations.iter().take(1).cloned().collect(),
                )
            } else {
                (parents.to_vec(), allocations.to_vec())
            };
        match allocations.as_slice() {
            [shared] if parents.len() > 1 => {
                self.shared_holdings(child, &parents, shared, releasing)
            }
            _ => self.per_parent_holdings(child, &parents, &allocations, releasing),
        }
    }

    /// One allocation per parent, paired by position.
    fn per_parent_holdings(
        &self,
        child: &ChildType<'_>,
        parents: &[ObjectPath],
        allocations: &[Allocation],
        releasing: Option<&ObjectPath>,
    ) -> Result<Vec<Holding>, Refusal> {
        let mut holdings: Vec<Holding> = Vec::with_capacity(parents.len());
        let mut taken: BTreeMap<&ObjectPath, u64> = BTreeMap::new();
        for (i, path) in parents.iter().enumerate() {
            let parent = self.existing(path, "parent")?;
            let mut holding = Holding {
                parent: path.clone(),
                quantity: 0,
                host_resources: Vec::new(),
            };
            // Only the skipped ARG-001 check leaves a parent without an allocation.
            if let Some(a) = allocations.get(i) {
                let failure = if child.kind == ResourceKind::Quantity {
                    let amount = a.reservation.unwrap_or(0);
                    let already = taken.get(path).copied().unwrap_or(0);
                    let free = self.free(parent, releasing, already);
                    holding.quantity = amount;
                    (!self.lax(Defect::IgnoreParentCapacity) && !self.fits(amount, free)).then(
                        || {
                            Refusal::new(
                                Reason::InsufficientResources,
                                format!(
                                "allocation {i} asks {amount} of parent {}, which has {free} free",
                                short(path)
                            ),
                            )
                        },
                    )
                } else {
                    holding.host_resources = a.host_resources();
                    holding
                        .host_resources
                        .iter()
                        .find(|hr| {
                            !self.lax(Defect::IgnoreHostResourceOwnership)
                                && !self.parent_has(parent, hr)
                        })
                        .map(|hr| {
                            invalid(format!(
                                "allocation {i} asks host resource {:?}, which parent {} does not have",
                                super::params::shorten(hr),
                                short(path)
                            ))
                        })
                };
                if let Some(mut refusal) = failure {
                    if self.has(Defect::LeakOnFailure) {
                        refusal.leaked = holdings;
                    }
                    return Err(refusal);
                }
            }
            let entry = taken.entry(path).or_insert(0);
            *entry = entry.saturating_add(holding.quantity);
            holdings.push(holding);
        }
        Ok(holdings)
    }

    /// One allocation shared by several parents (SHARE-002/003).
    fn shared_holdings(
        &self,
        child: &ChildType<'_>,
        parents: &[ObjectPath],
        allocation: &Allocation,
        releasing: Option<&ObjectPath>,
    ) -> Result<Vec<Holding>, Refusal> {
        let mut records: Vec<&PoolRecord> = Vec::with_capacity(parents.len());
        for p in parents {
            records.push(self.existing(p, "parent")?);
        }
        let mut holdings: Vec<Holding> = parents
            .iter()
            .map(|p| Holding {
                parent: p.clone(),
                quantity: 0,
                host_resources: Vec::new(),
            })
            .collect();
        if child.kind == ResourceKind::Quantity {
            let total = allocation.reservation.unwrap_or(0);
            // The same pool may appear twice only when validation was skipped; what an
            // earlier position took is then not free for a later one.
            let mut taken: BTreeMap<&ObjectPath, u64> = BTreeMap::new();
            let mut remaining = total;
            let mut aggregate = 0u64;
            for (i, parent) in records.iter().enumerate() {
                let already = taken.get(&parent.path).copied().unwrap_or(0);
                let free = self.free(parent, releasing, already);
                aggregate = aggregate.saturating_add(if self.has(Defect::SharedExceedsAggregate) {
                    self.store.capacity(parent)
                } else {
                    free
                });
                let part = free.min(remaining);
                remaining = remaining.saturating_sub(part);
                if let Some(h) = holdings.get_mut(i) {
                    h.quantity = part;
                }
                let entry = taken.entry(&parent.path).or_insert(0);
                *entry = entry.saturating_add(part);
            }
            if self.strict() && !self.fits(total, aggregate) {
                return Err(Refusal::new(
                    Reason::InsufficientResources,
                    format!(
                        "the shared allocation asks {total}; the parents have {aggregate} free together"
                    ),
                ));
            }
            // Only reachable when the check above was skipped or mis-made: the last parent
            // takes the rest, more than it has free.
            if remaining > 0 {
                if let Some(last) = holdings.last_mut() {
                    last.quantity = last.quantity.saturating_add(remaining);
                }
            }
        } else {
            for hr in allocation.host_resources() {
                let owner = records.iter().position(|p| self.parent_has(p, &hr));
                let index = match owner {
                    Some(index) => index,
                    None if self.lax(Defect::IgnoreHostResourceOwnership) => 0,
                    None => {
                        return Err(invalid(format!(
                            "no parent has host resource {:?}",
                            super::params::shorten(&hr)
                        )))
                    }
                };
                if let Some(h) = holdings.get_mut(index) {
                    h.host_resources.push(hr);
                }
            }
        }
        Ok(holdings)
    }
}
