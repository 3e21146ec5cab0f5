//! Invariants checked on an implementation's snapshot after every step, on the snapshot
//! alone: they need no model state, so they hold for any implementation at any instant.
//! [`check_pools`] checks only the pools a step may have affected, on an indexed
//! [`ObservedHost`]; [`check`] checks a whole snapshot the same way.

use std::collections::BTreeSet;

use super::observed::ObservedHost;
use super::state::covers;
use super::transition::{rule_id, Violation};
use crate::spec::profile::Profile;
use crate::sut::{ObjectPath, PoolView, ResourceKind, Snapshot};

/// Every rule id checked here, for the catalogue cross-check.
pub const INVARIANT_RULES: &[&str] = &[
    "CAP-001", "CAP-002", "CAP-003", "CAP-004", "ID-001", "PRIM-001",
];

/// Check every snapshot invariant on a whole snapshot; the violations come in spec order.
pub fn check(profile: &Profile, snapshot: &Snapshot) -> Vec<Violation> {
    let host = ObservedHost::from_snapshot(snapshot.clone());
    let all: BTreeSet<ObjectPath> = snapshot.pools.iter().map(|p| p.path.clone()).collect();
    check_pools(profile, &host, &all, true)
}

/// Check the invariants of the pools in `paths`, given in path order and each once (those a
/// step may have affected: see [`crate::model::observed::Update::affected`]), on an observed
/// host; the violations come in spec order, pools in path order. Costs O(those pools, their
/// parents and children), whatever the size of the host. PRIM-001 is checked for every
/// resource type of the profile when `primordial` says a primordial pool may have changed.
pub fn check_pools<'a>(
    profile: &Profile,
    host: &ObservedHost,
    paths: impl IntoIterator<Item = &'a ObjectPath>,
    primordial: bool,
) -> Vec<Violation> {
    let mut out = Vec::new();
    // Each pool with the kind of its type (none for a type the profile does not know), found
    // once for the rules below.
    let pools: Vec<(&PoolView, Option<ResourceKind>)> = paths
        .into_iter()
        .filter_map(|p| host.pool(p))
        .map(|pool| (pool, kind_of(profile, pool)))
        .collect();
    for (pool, _) in &pools {
        if pool.reserved > pool.capacity {
            out.push(violation(
                "CAP-001",
                format!(
                    "pool {} ({:?}) has Reserved {} above Capacity {}",
                    pool.path, pool.pool_id, pool.reserved, pool.capacity
                ),
            ));
        }
    }
    for &(pool, kind) in &pools {
        let Some(kind) = kind else { continue };
        let expected = match kind {
            ResourceKind::Quantity => host.held_quantity(&pool.path),
            _ => {
                // The children in slot order: the count below does not depend on their order.
                let held: Vec<&String> = host
                    .holders_of(&pool.path)
                    .flat_map(|child| child.allocations.iter().filter(|a| a.parent == pool.path))
                    .flat_map(|a| a.host_resources.iter())
                    .collect();
                pool.host_resources
                    .iter()
                    .filter(|own| held.iter().any(|h| covers(kind, own, h)))
                    .count() as u64
            }
        };
        if pool.reserved != expected {
            out.push(violation(
                "CAP-002",
                format!(
                    "pool {} ({:?}) reports Reserved {} but its children hold {}",
                    pool.path, pool.pool_id, pool.reserved, expected
                ),
            ));
        }
    }
    for &(pool, kind) in &pools {
        let Some(kind) = kind else { continue };
        for allocation in &pool.allocations {
            match host.pool(&allocation.parent) {
                None => out.push(violation(
                    "CAP-003",
                    format!(
                        "pool {} holds from {}, which does not exist",
                        pool.path, allocation.parent
                    ),
                )),
                Some(parent)
                    if parent.resource_type != pool.resource_type
                        || parent.resource_subtype != pool.resource_subtype =>
                {
                    out.push(violation(
                        "CAP-003",
                        format!(
                            "pool {} (type {}) holds from {} of type {}",
                            pool.path, pool.resource_type, parent.path, parent.resource_type
                        ),
                    ))
                }
                Some(parent) => {
                    if let Some(r) = allocation
                        .host_resources
                        .iter()
                        .find(|r| !parent.host_resources.iter().any(|own| covers(kind, own, r)))
                    {
                        out.push(violation(
                            "CAP-003",
                            format!(
                                "pool {} holds {r:?} from {}, which does not have it",
                                pool.path, parent.path
                            ),
                        ));
                    }
                }
            }
        }
    }
    for &(pool, kind) in pools
        .iter()
        .filter(|(p, _)| !p.primordial && !p.allocations.is_empty())
    {
        let Some(kind) = kind else { continue };
        let (capacity, resources) = match kind {
            ResourceKind::Quantity => (
                pool.allocations
                    .iter()
                    .fold(0u64, |s, a| s.saturating_add(a.quantity)),
                BTreeSet::new(),
            ),
            _ => {
                let set: BTreeSet<&String> = pool
                    .allocations
                    .iter()
                    .flat_map(|a| a.host_resources.iter())
                    .collect();
                (set.len() as u64, set)
            }
        };
        let reported: BTreeSet<&String> = pool.host_resources.iter().collect();
        if pool.capacity != capacity || (kind != ResourceKind::Quantity && reported != resources) {
            out.push(violation("CAP-004", format!(
                "pool {} reports Capacity {} and {} host resources, but holds {} ({} host resources)",
                pool.path, pool.capacity, reported.len(), capacity, resources.len()
            )));
        }
    }
    let mut keys = BTreeSet::new();
    // Nothing to look up when no PoolID is shared anywhere on the host (the usual case).
    for (pool, _) in pools.iter().filter(|_| host.shares_a_pool_id()) {
        if host.id_count(pool) > 1
            && keys.insert((
                pool.resource_type,
                pool.resource_subtype.as_str(),
                pool.pool_id.as_str(),
            ))
        {
            out.push(violation(
                "ID-001",
                format!(
                    "two pools of type {} {:?} share PoolID {:?}",
                    pool.resource_type, pool.resource_subtype, pool.pool_id
                ),
            ));
        }
    }
    for t in profile.resource_types.iter().filter(|_| primordial) {
        let mut primordial = host.primordial_iter(t.resource_type, &t.resource_subtype);
        let (first, more) = (primordial.next(), primordial.count());
        let found = usize::from(first.is_some()) + more;
        let capacity = match t.kind {
            ResourceKind::Quantity => t.capacity,
            _ => t.host_resources.len() as u64,
        };
        let ok = match (first, more) {
            (Some(p), 0) => {
                p.capacity == capacity
                    && same_resources(&p.host_resources, &t.host_resources)
                    && p.allocations.is_empty()
                    && p.pool_id.is_empty()
            }
            _ => false,
        };
        if !ok {
            out.push(violation("PRIM-001", format!(
                "the primordial pool of type {} {:?} no longer matches the fixture (found {} primordial pool(s))",
                t.resource_type, t.resource_subtype, found
            )));
        }
    }
    out
}

/// The kind of a pool's type, if the profile knows the type.
fn kind_of(profile: &Profile, pool: &PoolView) -> Option<ResourceKind> {
    profile
        .resource_types
        .iter()
        .find(|t| {
            t.resource_type == pool.resource_type && t.resource_subtype == pool.resource_subtype
        })
        .map(|t| t.kind)
}

/// Whether two lists hold the same host resources once sorted (without copying them when they
/// are equal as they stand, or both sorted already, as the mirror's are).
fn same_resources(a: &[String], b: &[String]) -> bool {
    if a == b {
        return true;
    }
    let sorted = |v: &[String]| v.windows(2).all(|w| w[0] <= w[1]);
    if sorted(a) && sorted(b) {
        return a == b;
    }
    let mut a = a.to_vec();
    a.sort();
    let mut b = b.to_vec();
    b.sort();
    a == b
}

fn violation(rule: &'static str, detail: String) -> Violation {
    Violation {
        rule: rule_id(rule),
        detail,
    }
}
