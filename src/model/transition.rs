//! Transitions: what the specification permits for a [`Step`] in the current state
//! ([`HostModel::expect`]), and the state after a success, following the choices the
//! specification leaves to the implementation ([`HostModel::commit`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::observed::ObservedHost;
use super::state::{covers, union, union_refs, Holding, HostModel, ModelPool, Role};
use super::step::{Allocation, InstanceFault, Step, StepKind};
use crate::spec::profile::{Profile, Strictness};
use crate::spec::{Reason, RuleId};
use crate::sut::{Dialect, ObjectPath, PoolView, ResourceKind};

/// One reason the specification gives for refusing a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub rule: RuleId,
    /// The reasons any of which is a correct refusal for this rule.
    pub reasons: Vec<Reason>,
    pub detail: String,
}

/// What the specification says about one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// Empty: the step must succeed. Otherwise every entry is a correct reason to refuse it;
    /// the first one, in spec order, is charged when the implementation gets it wrong.
    pub refusals: Vec<Refusal>,
    /// The rule charged when a step that must succeed is refused.
    pub accept_rule: RuleId,
    /// Rules whose check decided this step (a violation or a boundary case).
    pub decisive: Vec<RuleId>,
    /// Rules whose check was applied to this step.
    pub checked: Vec<RuleId>,
    /// For a shared allocation: the parents' free capacity before the step.
    pub shared_free: Vec<(ObjectPath, u64)>,
}

impl Expectation {
    pub fn accepts(&self) -> bool {
        self.refusals.is_empty()
    }

    /// Every reason permitted for a refusal.
    pub fn permitted_reasons(&self) -> BTreeSet<Reason> {
        self.refusals
            .iter()
            .flat_map(|r| r.reasons.iter().copied())
            .collect()
    }
}

/// A violation found while following the implementation's choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: RuleId,
    pub detail: String,
}

struct Judge<'a> {
    model: &'a HostModel,
    profile: &'a Profile,
    refusals: Vec<Refusal>,
    decisive: RuleList,
    checked: RuleList,
}

/// Rule ids in the order first added, each once. A step adds about fifteen: a 64-bit filter
/// over the ids ([`RuleList::bit`]) spares the search of the list for an id not added yet.
#[derive(Default)]
struct RuleList {
    ids: Vec<RuleId>,
    seen: u64,
}

impl RuleList {
    /// The bit of an id in the filter: distinct for every id in [`MODEL_RULES`] (a unit test
    /// asserts it); ids that shared one would only be searched for.
    fn bit(id: &str) -> u64 {
        let bytes = id.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return 1;
        };
        let n = usize::from(first) * 4 + usize::from(last) * 9 + bytes.len();
        1 << (n % 64)
    }

    fn add(&mut self, id: RuleId) {
        let bit = Self::bit(id.0);
        if self.seen & bit == 0 || !self.ids.contains(&id) {
            self.seen |= bit;
            self.ids.push(id);
        }
    }
}

impl Judge<'_> {
    fn check(
        &mut self,
        rule: &'static str,
        violated: bool,
        reason: Reason,
        detail: impl FnOnce() -> String,
    ) {
        self.check_any(rule, violated, &[reason], detail)
    }

    fn check_any(
        &mut self,
        rule: &'static str,
        violated: bool,
        reasons: &[Reason],
        detail: impl FnOnce() -> String,
    ) {
        let id = rule_id(rule);
        self.checked.add(id);
        if violated {
            self.decisive.add(id);
            self.refusals.push(Refusal {
                rule: id,
                reasons: reasons.to_vec(),
                detail: detail(),
            });
        }
    }

    fn boundary(&mut self, rule: &'static str) {
        let id = rule_id(rule);
        self.decisive.add(id);
        self.checked.add(id);
    }
}

/// Whether a path is named twice (ARG-004). Steps name a few parents: compared pairwise up to
/// a handful, through an ordered set beyond.
fn has_duplicates(paths: &[ObjectPath]) -> bool {
    if paths.len() <= 8 {
        paths
            .iter()
            .enumerate()
            .any(|(i, path)| paths[..i].contains(path))
    } else {
        let distinct: BTreeSet<&ObjectPath> = paths.iter().collect();
        distinct.len() != paths.len()
    }
}

/// The `RuleId` for an id the model checks. Every id used here exists in spec/ (a unit test
/// asserts it); an unknown one would still be reported, under its own name.
pub fn rule_id(id: &'static str) -> RuleId {
    // Ids compare by their text, so no catalogue lookup is needed on this per-step path;
    // tests/catalogue.rs checks that every id the model and the harness use is in the
    // specification.
    RuleId(id)
}

/// Every rule id the model itself checks, for the catalogue cross-check.
pub const MODEL_RULES: &[&str] = &[
    "ARG-001",
    "ARG-002",
    "ARG-003",
    "ARG-004",
    "ARG-005",
    "TYPE-001",
    "ID-001",
    "ID-002",
    "ID-003",
    "ID-004",
    "CAP-005",
    "CAP-006",
    "SHARE-001",
    "SHARE-002",
    "SHARE-003",
    "HOST-001",
    "HOST-002",
    "HOST-003",
    "HOST-004",
    "HOST-005",
    "MOD-001",
    "MOD-002",
    "MOD-003",
    "MOD-004",
    "DEL-001",
    "DEL-002",
    "PRIM-001",
    "EMB-001",
    "EMB-002",
    "EMB-003",
];

impl HostModel {
    /// What the specification permits for `step` in the current state.
    pub fn expect(&self, step: &Step, profile: &Profile) -> Expectation {
        let mut judge = Judge {
            model: self,
            profile,
            refusals: Vec::new(),
            decisive: RuleList::default(),
            // A step checks about a dozen rules: one allocation.
            checked: RuleList {
                ids: Vec::with_capacity(16),
                seen: 0,
            },
        };
        judge.check(
            "ARG-002",
            step.param_fault.is_some(),
            Reason::InvalidParameter,
            || {
                format!(
                    "the call's parameters are malformed: {:?}",
                    step.param_fault
                )
            },
        );
        if let Some((idx, fault)) = step.instance_fault {
            let (rule, what) = match fault {
                InstanceFault::Malformed(how) => ("EMB-001", format!("{how:?}")),
                InstanceFault::WrongClass => ("EMB-002", "of the wrong class".to_string()),
                InstanceFault::BadValue => ("EMB-003", "with a value out of its type".to_string()),
            };
            judge.check(rule, true, Reason::InvalidParameter, || {
                format!("embedded instance #{idx} is {what}")
            });
        }
        let mut shared_free = Vec::new();
        let accept_rule = match &step.kind {
            StepKind::Create {
                new_type,
                settings,
                parents,
                allocations,
                ..
            } => {
                if let Some(settings) = settings {
                    judge.check(
                        "ARG-005",
                        settings.resource_type.is_none(),
                        Reason::InvalidParameter,
                        || "PoolSettings has no ResourceType".into(),
                    );
                }
                let type_idx = self.type_index(new_type.resource_type, &new_type.resource_subtype);
                if let (Some(settings), Some(type_idx)) = (settings, type_idx) {
                    let clash = self.pool_id_taken(type_idx, &settings.pool_id, None);
                    judge.check("ID-001", clash, Reason::ObjectExists, || {
                        format!("PoolID {:?} already exists for this type", settings.pool_id)
                    });
                }
                shared_free =
                    judge.allocation_rules(type_idx, parents.as_deref(), allocations, None);
                if !shared_free.is_empty() {
                    "SHARE-002"
                } else {
                    "ID-004"
                }
            }
            StepKind::ChangeParents {
                child,
                parents,
                allocations,
            } => {
                let child_pool = self.pool(child);
                judge.check(
                    "ID-002",
                    child_pool.is_none(),
                    Reason::ObjectNotFound,
                    || format!("ChildPool {child} names no pool"),
                );
                if let Some(child_pool) = child_pool {
                    judge.primordial_target(child_pool);
                    if self.dialect == Dialect::Cim {
                        judge.check(
                            "HOST-003",
                            child_pool.role == Role::Root,
                            Reason::InvalidParameter,
                            || "a root pool has no parents to change".into(),
                        );
                    }
                    if child_pool.role == Role::Child {
                        shared_free = judge.allocation_rules(
                            Some(child_pool.type_idx),
                            parents.as_deref(),
                            allocations,
                            Some(child_pool),
                        );
                    }
                }
                "MOD-001"
            }
            StepKind::ChangeSettings { child, settings } => {
                let child_pool = self.pool(child);
                judge.check(
                    "ID-002",
                    child_pool.is_none(),
                    Reason::ObjectNotFound,
                    || format!("ChildPool {child} names no pool"),
                );
                judge.check(
                    "ARG-005",
                    settings.resource_type.is_none(),
                    Reason::InvalidParameter,
                    || "PoolSettings has no ResourceType".into(),
                );
                if let Some(child_pool) = child_pool {
                    judge.primordial_target(child_pool);
                    let own = &self.types[child_pool.type_idx];
                    let retyped = settings
                        .resource_type
                        .is_some_and(|t| t != own.resource_type)
                        || settings.resource_subtype != own.resource_subtype;
                    judge.check("MOD-004", retyped, Reason::IncorrectResourceType, || {
                        "PoolSettings names another resource type".into()
                    });
                    let clash = self.pool_id_taken(
                        child_pool.type_idx,
                        &settings.pool_id,
                        Some(&child_pool.path),
                    );
                    judge.check("ID-001", clash, Reason::ObjectExists, || {
                        format!("PoolID {:?} already exists for this type", settings.pool_id)
                    });
                }
                "MOD-004"
            }
            StepKind::Delete { pool } => {
                let target = self.pool(pool);
                judge.check("ID-002", target.is_none(), Reason::ObjectNotFound, || {
                    format!("Pool {pool} names no pool")
                });
                if let Some(target) = target {
                    judge.primordial_target(target);
                    let n_children = self.children_of(target).count();
                    judge.check("DEL-001", n_children > 0, Reason::InUse, || {
                        format!("the pool still has {n_children} child pool(s)")
                    });
                }
                "DEL-002"
            }
            StepKind::CreateRoot {
                resource_type,
                devices,
                ..
            } => judge.create_root_rules(resource_type, devices),
            StepKind::AddResources { pool, devices } => judge.add_remove_rules(pool, devices, true),
            StepKind::RemoveResources { pool, devices } => {
                judge.add_remove_rules(pool, devices, false)
            }
        };
        Expectation {
            refusals: judge.refusals,
            accept_rule: rule_id(accept_rule),
            decisive: judge.decisive.ids,
            checked: judge.checked.ids,
            shared_free,
        }
    }
}

impl Judge<'_> {
    fn primordial_target(&mut self, target: &ModelPool) {
        let reasons: &[Reason] = match (self.profile.strictness, self.model.dialect) {
            (Strictness::Exact, _) => &[Reason::InvalidParameter],
            (Strictness::Family, Dialect::Msvm) => &[
                Reason::InvalidParameter,
                Reason::InvalidState,
                Reason::NotSupported,
            ],
            (Strictness::Family, Dialect::Cim) => &[
                Reason::InvalidParameter,
                Reason::NotSupported,
                Reason::Failed,
            ],
        };
        self.check_any("PRIM-001", target.role == Role::Primordial, reasons, || {
            "the target is a primordial pool".into()
        });
    }

    /// ARG-001/003/004/005, ID-002/003, TYPE-001, SHARE-*, CAP-005/006, HOST-001/002 and, for a
    /// change of parents, MOD-002/003. Returns the parents' free capacity when the step is a
    /// well-formed shared allocation.
    fn allocation_rules(
        &mut self,
        type_idx: Option<usize>,
        parents: Option<&[ObjectPath]>,
        allocations: &[Allocation],
        child: Option<&ModelPool>,
    ) -> Vec<(ObjectPath, u64)> {
        let model = self.model;
        let parents = parents.unwrap_or(&[]);
        for alloc in allocations {
            let missing = alloc.resource_type.is_none()
                || (type_idx.is_some_and(|t| model.kind(t) == ResourceKind::Quantity)
                    && alloc.reservation.is_none());
            self.check("ARG-005", missing, Reason::InvalidParameter, || {
                "an allocation lacks ResourceType or Reservation".into()
            });
        }
        // Each parent is looked up once; the rules below read these.
        let found: Vec<Option<&ModelPool>> = parents.iter().map(|p| model.pool(p)).collect();
        let missing = parents
            .iter()
            .zip(&found)
            .find_map(|(path, pool)| pool.is_none().then_some(path));
        self.check("ID-002", missing.is_some(), Reason::ObjectNotFound, || {
            format!(
                "ParentPools names no pool: {}",
                missing.map_or("", |p| p.as_str())
            )
        });
        self.check(
            "ARG-003",
            parents.is_empty(),
            Reason::InvalidParameter,
            || "no parent pool".into(),
        );
        let named_twice = has_duplicates(parents);
        self.check("ARG-004", named_twice, Reason::InvalidParameter, || {
            "a parent is named twice".into()
        });
        let n_parents = parents.len();
        let n_allocs = allocations.len();
        self.check(
            "ARG-001",
            !(n_allocs == 1 || n_allocs == n_parents),
            Reason::InvalidParameter,
            || format!("{n_allocs} allocation settings for {n_parents} parent pools"),
        );
        // Types: the child's type against every parent and allocation.
        let wrong_parent = found.iter().flatten().any(|p| Some(p.type_idx) != type_idx);
        let wrong_alloc = allocations.iter().any(|a| {
            a.resource_type.is_some_and(|t| {
                model.type_index(t, &a.resource_subtype) != type_idx || type_idx.is_none()
            })
        });
        self.check(
            "TYPE-001",
            type_idx.is_none() || wrong_parent || wrong_alloc,
            Reason::IncorrectResourceType,
            || "a parent or an allocation is of another resource type".into(),
        );
        let Some(type_idx) = type_idx else {
            return Vec::new();
        };
        let policy = &model.types[type_idx];
        let max = policy.max_parent_pools as usize;
        self.check(
            "ID-003",
            max > 0 && n_parents > max,
            Reason::InvalidParameter,
            || format!("{n_parents} parents, MaxParentPools is {max}"),
        );
        let shared = n_allocs == 1 && n_parents > 1;
        if shared {
            self.check(
                "SHARE-001",
                !policy.shared_capacity,
                Reason::NotSupported,
                || "shared-capacity allocation on a type that does not support it".into(),
            );
        }
        for alloc in allocations {
            let incoherent =
                matches!((alloc.reservation, alloc.limit), (Some(r), Some(l)) if l < r);
            self.check("CAP-006", incoherent, Reason::InvalidParameter, || {
                "Limit below Reservation".into()
            });
        }
        if let Some(child) = child {
            let cycle = parents
                .iter()
                .any(|p| model.is_descendant_or_self(p, &child.path));
            self.check("MOD-003", cycle, Reason::InvalidParameter, || {
                "a new parent is the pool itself or one of its descendants".into()
            });
        }
        let structural = missing.is_some()
            || parents.is_empty()
            || named_twice
            || !(n_allocs == 1 || n_allocs == n_parents)
            || wrong_parent
            || wrong_alloc;
        if structural || (shared && !policy.shared_capacity) {
            return Vec::new();
        }
        let kind = policy.kind;
        let parent_pools: Vec<&ModelPool> = found.into_iter().flatten().collect();
        let free_of = |p: &ModelPool| -> u64 {
            let already = child
                .and_then(|c| c.holdings.iter().find(|h| h.parent == p.path))
                .map(|h| h.quantity)
                .unwrap_or(0);
            model.free(p).saturating_add(already)
        };
        let mut shared_free = Vec::new();
        if shared {
            let alloc = &allocations[0];
            match kind {
                ResourceKind::Quantity => {
                    let total = parent_pools
                        .iter()
                        .fold(0u64, |s, p| s.saturating_add(free_of(p)));
                    let want = alloc.reservation.unwrap_or(0);
                    self.check(
                        "SHARE-002",
                        want > total,
                        Reason::InsufficientResources,
                        || format!("shared Reservation {want} exceeds the parents' free {total}"),
                    );
                    shared_free = parent_pools
                        .iter()
                        .map(|p| (p.path.clone(), free_of(p)))
                        .collect();
                }
                _ => {
                    let uncovered = alloc.host_resources.iter().find(|r| {
                        !parent_pools.iter().any(|p| {
                            model
                                .resource_refs(p)
                                .iter()
                                .any(|own| covers(kind, own, r))
                        })
                    });
                    self.check(
                        "SHARE-002",
                        uncovered.is_some(),
                        Reason::InvalidParameter,
                        || {
                            format!(
                                "no parent has host resource {:?}",
                                uncovered.cloned().unwrap_or_default()
                            )
                        },
                    );
                    if alloc.host_resources.is_empty() {
                        self.boundary("HOST-002");
                    }
                    shared_free = parent_pools.iter().map(|p| (p.path.clone(), 0)).collect();
                }
            }
        } else {
            for (parent, alloc) in parent_pools.iter().zip(allocations) {
                match kind {
                    ResourceKind::Quantity => {
                        let free = free_of(parent);
                        let want = alloc.reservation.unwrap_or(0);
                        self.check(
                            "CAP-005",
                            want > free,
                            Reason::InsufficientResources,
                            || {
                                format!(
                                    "Reservation {want} exceeds the parent's free capacity {free}"
                                )
                            },
                        );
                        if want == free {
                            self.boundary("CAP-005");
                        }
                    }
                    _ => {
                        let own = model.resource_refs(parent);
                        let foreign = alloc
                            .host_resources
                            .iter()
                            .find(|r| !own.iter().any(|o| covers(kind, o, r)));
                        self.check(
                            "HOST-001",
                            foreign.is_some(),
                            Reason::InvalidParameter,
                            || {
                                format!(
                                    "the parent has no host resource {:?}",
                                    foreign.cloned().unwrap_or_default()
                                )
                            },
                        );
                        if alloc.host_resources.is_empty() {
                            self.boundary("HOST-002");
                        }
                    }
                }
            }
        }
        if let Some(child) = child {
            self.shrink_rules(child, kind, &parent_pools, allocations);
        }
        shared_free
    }

    /// MOD-002: the child's new holdings must still cover what its own children hold.
    fn shrink_rules(
        &mut self,
        child: &ModelPool,
        kind: ResourceKind,
        parents: &[&ModelPool],
        allocations: &[Allocation],
    ) {
        let model = self.model;
        let reserved = model.reserved(child);
        if reserved == 0 {
            return;
        }
        match kind {
            ResourceKind::Quantity => {
                let new_capacity = if allocations.len() == 1 && parents.len() > 1 {
                    allocations[0].reservation.unwrap_or(0)
                } else {
                    allocations
                        .iter()
                        .fold(0u64, |s, a| s.saturating_add(a.reservation.unwrap_or(0)))
                };
                self.check("MOD-002", new_capacity < reserved, Reason::InUse, || {
                    format!(
                        "new capacity {new_capacity} is below what its children hold ({reserved})"
                    )
                });
            }
            _ => {
                let new_resources =
                    union_refs(allocations.iter().flat_map(|a| a.host_resources.iter()));
                let lost = model
                    .held_from(child)
                    .flat_map(|h| h.resources.iter())
                    .find(|h| !new_resources.iter().any(|n| covers(kind, n, h)));
                self.check("MOD-002", lost.is_some(), Reason::InUse, || {
                    format!(
                        "a child still holds {:?}",
                        lost.cloned().unwrap_or_default()
                    )
                });
            }
        }
    }

    fn create_root_rules(&mut self, resource_type: &str, devices: &[String]) -> &'static str {
        let model = self.model;
        let parsed = resource_type.parse::<u16>().ok();
        self.check(
            "ARG-005",
            parsed.is_none(),
            Reason::InvalidParameter,
            || format!("ResourceType {resource_type:?} is not a number"),
        );
        let Some(value) = parsed else {
            return "HOST-003";
        };
        let candidates: Vec<usize> = (0..model.types.len())
            .filter(|&i| model.types[i].resource_type == value)
            .collect();
        self.check(
            "TYPE-001",
            candidates.is_empty(),
            Reason::IncorrectResourceType,
            || format!("the host has no pools of ResourceType {value}"),
        );
        let Some(&type_idx) = candidates.first() else {
            return "HOST-003";
        };
        let kind = model.kind(type_idx);
        self.check(
            "HOST-003",
            kind == ResourceKind::Quantity,
            Reason::NotSupported,
            || "root pools hold named host resources only".into(),
        );
        self.device_rules(type_idx, devices, None, true);
        "HOST-003"
    }

    fn add_remove_rules(
        &mut self,
        pool: &ObjectPath,
        devices: &[String],
        add: bool,
    ) -> &'static str {
        let model = self.model;
        let rule = if add { "HOST-003" } else { "HOST-004" };
        let target = model.pool(pool);
        self.check("ID-002", target.is_none(), Reason::ObjectNotFound, || {
            format!("Pool {pool} names no pool")
        });
        let Some(target) = target else {
            return rule;
        };
        self.primordial_target(target);
        self.check(
            rule,
            target.role == Role::Child,
            Reason::InvalidParameter,
            || "host resources are added to and removed from root pools only".into(),
        );
        if target.role == Role::Root {
            self.device_rules(target.type_idx, devices, Some(target), add);
        }
        rule
    }

    /// HOST-003/004/005 for a list of host resources given to (or taken from) a root pool.
    fn device_rules(
        &mut self,
        type_idx: usize,
        devices: &[String],
        pool: Option<&ModelPool>,
        add: bool,
    ) {
        let model = self.model;
        let own_type = &model.types[type_idx].host_resources;
        let distinct: BTreeSet<&String> = devices.iter().collect();
        let rule = if add { "HOST-003" } else { "HOST-004" };
        self.check(
            rule,
            distinct.len() != devices.len(),
            Reason::InvalidParameter,
            || "a host resource is named twice".into(),
        );
        for device in devices {
            let other_type = model
                .types
                .iter()
                .any(|t| t.host_resources.contains(device) && !own_type.contains(device));
            let known = own_type.contains(device);
            if add {
                self.check(
                    "HOST-003",
                    !known && !other_type,
                    Reason::InvalidParameter,
                    || format!("the host has no host resource {device}"),
                );
                self.check(
                    "TYPE-001",
                    other_type,
                    Reason::IncorrectResourceType,
                    || format!("{device} is of another resource type"),
                );
                let owner = model.root_owner(device);
                self.check("HOST-003", known && owner.is_some(), Reason::InUse, || {
                    format!("{device} already belongs to a root pool")
                });
                if known && owner.is_none() && model.was_released(device) {
                    self.boundary("HOST-005");
                }
            } else if let Some(pool) = pool {
                self.check(
                    "TYPE-001",
                    other_type,
                    Reason::IncorrectResourceType,
                    || format!("{device} is of another resource type"),
                );
                let in_pool = pool.own_resources.contains(device);
                self.check("HOST-004", !in_pool, Reason::InvalidParameter, || {
                    format!("the pool does not hold {device}")
                });
                let kind = model.kind(type_idx);
                let held_by_child = model
                    .held_from(pool)
                    .any(|h| h.resources.iter().any(|r| covers(kind, device, r)));
                self.check("HOST-004", in_pool && held_by_child, Reason::InUse, || {
                    format!("a child pool holds {device}")
                });
            }
        }
    }
}

impl HostModel {
    /// Apply a successful step, following the implementation's choices as `after` shows them:
    /// the new pool's path (and, in the CIM dialect, its PoolID), default ElementNames, and the
    /// split of a shared allocation. Returns the violations found in those choices.
    /// `touched` are the pools the implementation created, changed or removed in this step
    /// ([`crate::model::observed::Update::touched`]): a new pool is looked for among them.
    pub fn commit(
        &mut self,
        step: &Step,
        expectation: &Expectation,
        after: &ObservedHost,
        touched: &BTreeSet<ObjectPath>,
    ) -> Vec<Violation> {
        let new_pools = |model: &HostModel| -> Vec<&PoolView> {
            touched
                .iter()
                .filter(|p| model.pool(p).is_none())
                .filter_map(|p| after.pool(p))
                .collect()
        };
        let mut violations = Vec::new();
        match &step.kind {
            StepKind::Create {
                new_type,
                settings,
                element_name,
                parents,
                allocations,
            } => {
                let Some(type_idx) =
                    self.type_index(new_type.resource_type, &new_type.resource_subtype)
                else {
                    return violations;
                };
                let new_pools = new_pools(self);
                let [view] = new_pools.as_slice() else {
                    violations.push(Violation {
                        rule: rule_id("ID-004"),
                        detail: format!(
                            "a successful create left {} new pools, not exactly one",
                            new_pools.len()
                        ),
                    });
                    return violations;
                };
                let wanted_id = settings.as_ref().map(|s| s.pool_id.clone());
                let wanted_name = element_name.clone();
                // Each problem's detail is written only when the problem is there.
                let problems: [(bool, &dyn Fn() -> String); 4] = [
                    (view.primordial, &|| {
                        "the new pool is primordial".to_string()
                    }),
                    (
                        view.resource_type != new_type.resource_type
                            || view.resource_subtype != new_type.resource_subtype,
                        &|| {
                            format!(
                                "the new pool has type {} {:?}",
                                view.resource_type, view.resource_subtype
                            )
                        },
                    ),
                    (
                        wanted_id.as_ref().is_some_and(|id| id != &view.pool_id),
                        &|| {
                            format!(
                                "the new pool has PoolID {:?}, asked for {:?}",
                                view.pool_id, wanted_id
                            )
                        },
                    ),
                    (
                        match &wanted_name {
                            Some(name) => name != &view.element_name,
                            None => view.element_name.is_empty(),
                        },
                        &|| {
                            format!(
                                "the new pool has ElementName {:?}, asked for {:?}",
                                view.element_name, wanted_name
                            )
                        },
                    ),
                ];
                for (bad, detail) in problems {
                    if bad {
                        violations.push(Violation {
                            rule: rule_id("ID-004"),
                            detail: detail(),
                        });
                    }
                }
                let parents = parents.clone().unwrap_or_default();
                let holdings = self.follow_holdings(
                    type_idx,
                    &parents,
                    allocations,
                    expectation,
                    view,
                    &mut violations,
                );
                self.insert(ModelPool {
                    path: view.path.clone(),
                    pool_id: wanted_id.unwrap_or_else(|| view.pool_id.clone()),
                    element_name: wanted_name.unwrap_or_else(|| view.element_name.clone()),
                    type_idx,
                    role: Role::Child,
                    holdings,
                    own_resources: Vec::new(),
                    slot: usize::MAX,
                });
            }
            StepKind::ChangeParents {
                child,
                parents,
                allocations,
            } => {
                let Some(type_idx) = self.pool(child).map(|p| p.type_idx) else {
                    return violations;
                };
                let parents = parents.clone().unwrap_or_default();
                let holdings = match after.pool(child) {
                    Some(view) => self.follow_holdings(
                        type_idx,
                        &parents,
                        allocations,
                        expectation,
                        view,
                        &mut violations,
                    ),
                    None => self.planned_holdings(type_idx, &parents, allocations, expectation),
                };
                self.update(child, |pool| pool.holdings = holdings);
            }
            StepKind::ChangeSettings { child, settings } => {
                self.update(child, |pool| {
                    pool.pool_id = settings.pool_id.clone();
                    if let Some(name) = &settings.element_name {
                        pool.element_name = name.clone();
                    }
                });
            }
            StepKind::Delete { pool } => {
                if let Some(removed) = self.remove(pool) {
                    for resource in removed
                        .own_resources
                        .iter()
                        .filter(|_| removed.role == Role::Root)
                    {
                        self.set_root_owner(resource, None);
                    }
                }
            }
            StepKind::CreateRoot {
                resource_type,
                element_name,
                devices,
            } => {
                let value = resource_type.parse::<u16>().unwrap_or(0);
                let Some(type_idx) =
                    (0..self.types.len()).find(|&i| self.types[i].resource_type == value)
                else {
                    return violations;
                };
                let new_pools = new_pools(self);
                let [view] = new_pools.as_slice() else {
                    violations.push(Violation {
                        rule: rule_id("HOST-003"),
                        detail: format!(
                            "a successful CreateResourcePool left {} new pools",
                            new_pools.len()
                        ),
                    });
                    return violations;
                };
                if element_name
                    .as_ref()
                    .is_some_and(|n| n != &view.element_name)
                    || view.element_name.is_empty()
                {
                    violations.push(Violation {
                        rule: rule_id("ID-004"),
                        detail: format!(
                            "the root pool has ElementName {:?}, asked for {:?}",
                            view.element_name, element_name
                        ),
                    });
                }
                let path = view.path.clone();
                for device in devices {
                    self.set_root_owner(device, Some(path.clone()));
                }
                self.insert(ModelPool {
                    path,
                    pool_id: view.pool_id.clone(),
                    element_name: element_name
                        .clone()
                        .unwrap_or_else(|| view.element_name.clone()),
                    type_idx,
                    role: Role::Root,
                    holdings: Vec::new(),
                    own_resources: devices.clone(),
                    slot: usize::MAX,
                });
            }
            StepKind::AddResources { pool, devices } => {
                self.update(pool, |target| {
                    target.own_resources.extend(devices.iter().cloned())
                });
                for device in devices {
                    self.set_root_owner(device, Some(pool.clone()));
                }
            }
            StepKind::RemoveResources { pool, devices } => {
                self.update(pool, |target| {
                    target.own_resources.retain(|r| !devices.contains(r))
                });
                for device in devices {
                    self.set_root_owner(device, None);
                }
            }
        }
        violations
    }

    /// The holdings the specification fixes for a non-shared allocation.
    fn planned_holdings(
        &self,
        type_idx: usize,
        parents: &[ObjectPath],
        allocations: &[Allocation],
        expectation: &Expectation,
    ) -> Vec<Holding> {
        let kind = self.kind(type_idx);
        if !expectation.shared_free.is_empty() {
            // Shared: split greedily (used only when the implementation shows no choice).
            let mut remaining = allocations.first().and_then(|a| a.reservation).unwrap_or(0);
            let wanted: Vec<String> = allocations
                .first()
                .map(|a| a.host_resources.clone())
                .unwrap_or_default();
            let mut placed: BTreeSet<String> = BTreeSet::new();
            return expectation
                .shared_free
                .iter()
                .map(|(parent, free)| {
                    let take = remaining.min(*free);
                    remaining -= take;
                    let own = self
                        .pool(parent)
                        .map(|p| self.resource_refs(p))
                        .unwrap_or_default();
                    let resources: Vec<String> = wanted
                        .iter()
                        .filter(|r| !placed.contains(*r) && own.iter().any(|o| covers(kind, o, r)))
                        .cloned()
                        .collect();
                    placed.extend(resources.iter().cloned());
                    Holding {
                        parent: parent.clone(),
                        quantity: if kind == ResourceKind::Quantity {
                            take
                        } else {
                            0
                        },
                        resources,
                    }
                })
                .collect();
        }
        parents
            .iter()
            .zip(allocations)
            .map(|(parent, alloc)| Holding {
                parent: parent.clone(),
                quantity: if kind == ResourceKind::Quantity {
                    alloc.reservation.unwrap_or(0)
                } else {
                    0
                },
                resources: if kind == ResourceKind::Quantity {
                    Vec::new()
                } else {
                    union(alloc.host_resources.iter())
                },
            })
            .collect()
    }

    /// Holdings after a success: fixed by the specification, except for a shared allocation,
    /// where the implementation's split is checked (SHARE-003) and then followed.
    fn follow_holdings(
        &self,
        type_idx: usize,
        parents: &[ObjectPath],
        allocations: &[Allocation],
        expectation: &Expectation,
        view: &crate::sut::PoolView,
        violations: &mut Vec<Violation>,
    ) -> Vec<Holding> {
        let planned = self.planned_holdings(type_idx, parents, allocations, expectation);
        if expectation.shared_free.is_empty() {
            return planned;
        }
        let kind = self.kind(type_idx);
        let wanted_quantity = allocations.first().and_then(|a| a.reservation).unwrap_or(0);
        let wanted_resources: BTreeSet<String> = allocations
            .first()
            .map(|a| a.host_resources.iter().cloned().collect())
            .unwrap_or_default();
        let mut problems = Vec::new();
        let mut total = 0u64;
        let mut placed = BTreeSet::new();
        for held in &view.allocations {
            let Some((_, free)) = expectation
                .shared_free
                .iter()
                .find(|(p, _)| p == &held.parent)
            else {
                problems.push(format!(
                    "it holds from {}, which is not one of its parents",
                    held.parent
                ));
                continue;
            };
            total = total.saturating_add(held.quantity);
            if kind == ResourceKind::Quantity && held.quantity > *free {
                problems.push(format!(
                    "it takes {} from {}, which had {} free",
                    held.quantity, held.parent, free
                ));
            }
            let own = self
                .pool(&held.parent)
                .map(|p| self.resource_refs(p))
                .unwrap_or_default();
            for r in &held.host_resources {
                if !own.iter().any(|o| covers(kind, o, r)) {
                    problems.push(format!(
                        "it takes {r:?} from {}, which does not have it",
                        held.parent
                    ));
                }
                placed.insert(r.clone());
            }
        }
        if kind == ResourceKind::Quantity && total != wanted_quantity {
            problems.push(format!(
                "its parts add up to {total}, not the shared Reservation {wanted_quantity}"
            ));
        }
        if kind != ResourceKind::Quantity && placed != wanted_resources {
            problems.push(format!(
                "it holds {placed:?}, asked for {wanted_resources:?}"
            ));
        }
        if !problems.is_empty() {
            violations.push(Violation {
                rule: rule_id("SHARE-003"),
                detail: format!(
                    "the shared allocation's split is not permitted: {}",
                    problems.join("; ")
                ),
            });
            return planned;
        }
        // Follow the implementation's split: one holding per parent, zero parts included.
        expectation
            .shared_free
            .iter()
            .map(|(parent, _)| {
                let observed = view.allocations.iter().find(|a| &a.parent == parent);
                Holding {
                    parent: parent.clone(),
                    quantity: observed.map(|a| a.quantity).unwrap_or(0),
                    resources: observed
                        .map(|a| a.host_resources.clone())
                        .unwrap_or_default(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{has_duplicates, rule_id, RuleList, MODEL_RULES};
    use crate::sut::ObjectPath;
    use std::collections::BTreeSet;

    #[test]
    fn model_rules_have_distinct_filter_bits() {
        let bits: BTreeSet<u64> = MODEL_RULES.iter().map(|id| RuleList::bit(id)).collect();
        assert_eq!(bits.len(), MODEL_RULES.len());
    }

    /// Ids are kept once, in the order first added, whether or not they share a filter bit.
    #[test]
    fn rule_lists_keep_each_id_once_in_order() {
        let ids = [
            "ARG-002", "ID-002", "X", "", "ARG-002", "Y", "X", "HOST-004", "ID-002",
        ];
        let mut list = RuleList::default();
        let mut expected = Vec::new();
        for id in ids {
            list.add(rule_id(id));
            if !expected.contains(&rule_id(id)) {
                expected.push(rule_id(id));
            }
        }
        assert_eq!(list.ids, expected);
        // Every bit taken: what is new is still added, what is there is not.
        list.seen = u64::MAX;
        list.add(rule_id("MOD-003"));
        list.add(rule_id("X"));
        expected.push(rule_id("MOD-003"));
        assert_eq!(list.ids, expected);
    }

    #[test]
    fn duplicates_are_found_in_short_and_long_lists() {
        for len in 0..12usize {
            for twice in 0..len {
                let mut paths: Vec<ObjectPath> = (0..len)
                    .map(|i| ObjectPath(format!(r#"\\H\root:P.InstanceID="{i}""#)))
                    .collect();
                assert!(!has_duplicates(&paths));
                paths[len - 1] = paths[twice].clone();
                let distinct: BTreeSet<&ObjectPath> = paths.iter().collect();
                assert_eq!(has_duplicates(&paths), distinct.len() != paths.len());
            }
        }
    }
}
