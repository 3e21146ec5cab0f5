//! Per-rule bookkeeping: how many steps checked a rule, how many it decided, how many failed.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::trace::{Channel, Observed};
use crate::model::fxhash::FxHashMap;
use crate::model::{invariants, rule_id, Expectation, HostModel, Step, Violation};
use crate::spec::{rules, RuleId};

/// Counts for one rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    /// Steps on which the rule's check ran.
    pub checked: u64,
    /// Steps the rule decided: it was violated by the call, or the step sat on its boundary.
    pub decisive: u64,
    /// Steps on which the implementation violated it.
    pub failed: u64,
    /// Steps on which it violated it as the profile expects (a known divergence).
    #[serde(default)]
    pub expected: u64,
}

/// Counts for every rule, over a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    /// Counts per rule: a table indexed by the rule's place in the catalogue (cheap on the
    /// per-step path), any id the catalogue lacks in a map.
    pub rules: RuleTable,
    pub steps: u64,
    /// Set when the implementation's `changes()` reports disagreed with its full snapshot:
    /// why. From then on every step of the run is checked on a full snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_breach: Option<String>,
}

impl RuleStats {
    /// Record one judged step.
    pub fn record_step(
        &mut self,
        expectation: &Expectation,
        observed: &Observed,
        step: &Step,
        violations: &[Violation],
        model: &HostModel,
    ) {
        self.steps += 1;
        let hot = &catalogue().hot;
        let rules = &mut self.rules;
        for rule in &expectation.checked {
            rules.bump(place(*rule), expectation.decisive.contains(rule));
        }
        let has_children = model.has_children();
        for &rule in &hot.invariants {
            rules.bump(rule, has_children);
        }
        rules.bump(hot.rc_001, true);
        let (completed, via_job, refused_rv, cim_status) = match observed {
            Observed::Completed { via_job } => (true, *via_job, false, false),
            Observed::Refused { channel, .. } => (
                false,
                *channel == Channel::Job,
                *channel == Channel::ReturnValue,
                *channel == Channel::CimStatus,
            ),
            _ => (false, false, false, false),
        };
        if refused_rv && !expectation.accepts() {
            rules.bump(hot.rc_002, true);
        }
        if cim_status {
            rules.bump(hot.rc_003, true);
        }
        if via_job {
            for rule in hot.job_001_004 {
                rules.bump(rule, true);
            }
            if step.method.dialect() == crate::sut::Dialect::Msvm {
                rules.bump(hot.job_006, true);
            }
        }
        if expectation.accepts() {
            rules.bump(place(expectation.accept_rule), completed);
            if !expectation.shared_free.is_empty() {
                rules.bump(hot.share_003, completed);
            }
        }
        if completed {
            rules.bump(hot.job_005, true);
            rules.bump(hot.atom_002, true);
        } else {
            rules.bump(hot.atom_001, !expectation.accepts());
        }
        for violation in violations {
            rules.at(place(violation.rule)).failed += 1;
        }
    }

    /// Record that a step's pool or job references were checked against the profile's
    /// `[instances]` (ID-005).
    pub(crate) fn record_placement(&mut self) {
        self.rules.bump(catalogue().hot.id_005, true);
    }

    /// Record that an Invalid Parameter refusal's `Error` output was checked (EMB-005).
    pub(crate) fn record_error_output(&mut self) {
        self.rules.bump(catalogue().hot.emb_005, true);
    }

    /// Record a step whose violations the profile expects, attributed to `rule`.
    pub fn record_expected(&mut self, rule: RuleId) {
        self.rules.at(place(rule)).expected += 1;
    }

    /// Add another run's counts.
    pub fn merge(&mut self, other: &RuleStats) {
        self.steps += other.steps;
        if self.changes_breach.is_none() {
            self.changes_breach.clone_from(&other.changes_breach);
        }
        self.rules.merge(&other.rules);
    }
}

/// Counts per rule, keyed by rule id like a map: the catalogue's rules in a table indexed by
/// their place in [`rules::all`], any other id (one the catalogue lacks) in a hash map. A rule
/// has an entry once something counted it (even zero, as `entry(..).or_default()` makes one).
///
/// Equality, iteration and the serialized form are those of the map it stands for: an object
/// from rule id to [`RuleCounts`] (written in catalogue order, then the other ids in order).
#[derive(Clone, Default)]
pub struct RuleTable {
    /// By catalogue index; empty until the first catalogue rule is counted.
    known: Vec<Option<RuleCounts>>,
    /// Ids the catalogue lacks.
    other: FxHashMap<RuleId, RuleCounts>,
}

/// Where a rule's counts live in a [`RuleTable`].
#[derive(Clone, Copy, Debug)]
enum Place {
    Known(usize),
    Other(RuleId),
}

/// The place of `rule`: its catalogue index, found through [`Catalogue::index`].
#[inline]
fn place(rule: RuleId) -> Place {
    match catalogue().index(rule.0) {
        Some(i) => Place::Known(i),
        None => Place::Other(rule),
    }
}

/// The catalogue's ids in an open-addressed table keyed by their text, and the places of the
/// ids counted on every step.
struct Catalogue {
    /// `SLOTS` slots; an empty one has `len == 0` (no indexed id is shorter than 4 bytes).
    slots: Box<[Slot]>,
    len: usize,
    hot: Hot,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    key: (u64, u64),
    len: u32,
    index: u32,
}

/// A power of two, at least twice the catalogue's size (checked when it is built).
const SLOTS: usize = 256;

/// The places of the rules [`RuleStats::record_step`] counts by name.
struct Hot {
    invariants: Vec<Place>,
    rc_001: Place,
    rc_002: Place,
    rc_003: Place,
    job_001_004: [Place; 4],
    job_005: Place,
    job_006: Place,
    share_003: Place,
    atom_001: Place,
    atom_002: Place,
    id_005: Place,
    emb_005: Place,
}

/// An id's text as two words that, with its length, determine it: the first and last four
/// bytes for 4..=8 bytes, the first and last eight for 9..=16; `None` for other lengths
/// (such ids are kept in the map).
#[inline]
fn key(id: &str) -> Option<(u64, u64)> {
    let b = id.as_bytes();
    let n = b.len();
    let word4 =
        |s: &[u8]| -> Option<u64> { Some(u64::from(u32::from_le_bytes(s.try_into().ok()?))) };
    let word8 = |s: &[u8]| -> Option<u64> { Some(u64::from_le_bytes(s.try_into().ok()?)) };
    match n {
        4..=8 => Some((word4(b.get(..4)?)?, word4(b.get(n - 4..)?)?)),
        9..=16 => Some((word8(b.get(..8)?)?, word8(b.get(n - 8..)?)?)),
        _ => None,
    }
}

#[inline]
fn slot_of(key: (u64, u64), len: usize) -> usize {
    let mixed = (key.0 ^ key.1.rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 56) as usize & (SLOTS - 1)
}

impl Catalogue {
    fn build() -> Catalogue {
        let all = rules::all();
        let mut slots = vec![Slot::default(); SLOTS].into_boxed_slice();
        // Ids beyond what the table may hold stay in the map: correct, only slower.
        for (index, rule) in all.iter().enumerate().take(SLOTS / 2) {
            let id = rule.id.0;
            let Some(key) = key(id) else { continue };
            let mut at = slot_of(key, id.len());
            loop {
                let slot = &mut slots[at];
                if slot.len == 0 {
                    *slot = Slot {
                        key,
                        len: id.len() as u32,
                        index: index as u32,
                    };
                    break;
                }
                if slot.key == key && slot.len as usize == id.len() {
                    break; // the same id twice: the first place answers for it
                }
                at = (at + 1) & (SLOTS - 1);
            }
        }
        let place = |rule: RuleId| match index_in(&slots, rule.0) {
            Some(i) => Place::Known(i),
            None => Place::Other(rule),
        };
        let hot = Hot {
            invariants: invariants::INVARIANT_RULES
                .iter()
                .map(|id| place(rule_id(id)))
                .collect(),
            rc_001: place(rule_id("RC-001")),
            rc_002: place(rule_id("RC-002")),
            rc_003: place(rule_id("RC-003")),
            job_001_004: ["JOB-001", "JOB-002", "JOB-003", "JOB-004"].map(|id| place(rule_id(id))),
            job_005: place(rule_id("JOB-005")),
            job_006: place(rule_id("JOB-006")),
            share_003: place(rule_id("SHARE-003")),
            atom_001: place(rule_id("ATOM-001")),
            atom_002: place(rule_id("ATOM-002")),
            id_005: place(rule_id("ID-005")),
            emb_005: place(rule_id("EMB-005")),
        };
        Catalogue {
            slots,
            len: all.len(),
            hot,
        }
    }

    /// The catalogue index of the rule whose id is `id`, if the table holds it.
    #[inline]
    fn index(&self, id: &str) -> Option<usize> {
        index_in(&self.slots, id)
    }
}

/// The catalogue index `slots` hold for `id`, if any.
#[inline]
fn index_in(slots: &[Slot], id: &str) -> Option<usize> {
    let key = key(id)?;
    let mut at = slot_of(key, id.len());
    loop {
        let slot = slots.get(at)?;
        if slot.len == 0 {
            return None;
        }
        if slot.key == key && slot.len as usize == id.len() {
            return Some(slot.index as usize);
        }
        at = (at + 1) & (SLOTS - 1);
    }
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::build)
}

impl RuleTable {
    /// The catalogue rules' slots, made (all empty) on first use.
    fn slots(&mut self) -> &mut [Option<RuleCounts>] {
        if self.known.is_empty() {
            self.known = vec![None; catalogue().len];
        }
        &mut self.known
    }

    /// The counts at `place`, made (zero) if there were none.
    #[inline]
    fn at(&mut self, place: Place) -> &mut RuleCounts {
        match place {
            Place::Known(i) => self.slots()[i].get_or_insert_with(RuleCounts::default),
            Place::Other(rule) => self.other.entry(rule).or_default(),
        }
    }

    /// One more step checked `place`'s rule; one more it decided when `decisive`.
    #[inline(always)]
    fn bump(&mut self, place: Place, decisive: bool) {
        // The usual case inline: a catalogue rule that already has an entry.
        if let Place::Known(i) = place {
            if let Some(Some(counts)) = self.known.get_mut(i) {
                counts.checked += 1;
                counts.decisive += u64::from(decisive);
                return;
            }
        }
        self.bump_new(place, decisive);
    }

    #[inline(never)]
    fn bump_new(&mut self, place: Place, decisive: bool) {
        let counts = self.at(place);
        counts.checked += 1;
        counts.decisive += u64::from(decisive);
    }

    /// The counts of `rule`, if it has an entry.
    pub fn get(&self, rule: &RuleId) -> Option<&RuleCounts> {
        match place(*rule) {
            Place::Known(i) => self.known.get(i)?.as_ref(),
            Place::Other(rule) => self.other.get(&rule),
        }
    }

    /// The counts of `rule`, if it has an entry, to change.
    pub fn get_mut(&mut self, rule: &RuleId) -> Option<&mut RuleCounts> {
        match place(*rule) {
            Place::Known(i) => self.known.get_mut(i)?.as_mut(),
            Place::Other(rule) => self.other.get_mut(&rule),
        }
    }

    /// Whether `rule` has an entry.
    pub fn contains_key(&self, rule: &RuleId) -> bool {
        self.get(rule).is_some()
    }

    /// The entry of `rule`, as with a map: `entry(rule).or_default()` gives its counts,
    /// made zero when it had none.
    pub fn entry(&mut self, rule: RuleId) -> Entry<'_> {
        Entry { table: self, rule }
    }

    /// Set the counts of `rule`; the ones it had before, if any.
    pub fn insert(&mut self, rule: RuleId, counts: RuleCounts) -> Option<RuleCounts> {
        match place(rule) {
            Place::Known(i) => self.slots()[i].replace(counts),
            Place::Other(rule) => self.other.insert(rule, counts),
        }
    }

    /// Every rule with an entry and its counts: the catalogue's rules in catalogue order, then
    /// the other ids.
    pub fn iter(&self) -> impl Iterator<Item = (&RuleId, &RuleCounts)> + '_ {
        let all = rules::all();
        self.known
            .iter()
            .zip(all)
            .filter_map(|(counts, rule)| Some((&rule.id, counts.as_ref()?)))
            .chain(self.other.iter())
    }

    /// The rules with an entry.
    pub fn keys(&self) -> impl Iterator<Item = &RuleId> + '_ {
        self.iter().map(|(rule, _)| rule)
    }

    /// The counts of the rules with an entry.
    pub fn values(&self) -> impl Iterator<Item = &RuleCounts> + '_ {
        self.iter().map(|(_, counts)| counts)
    }

    /// How many rules have an entry.
    pub fn len(&self) -> usize {
        self.known.iter().filter(|c| c.is_some()).count() + self.other.len()
    }

    /// Whether no rule has an entry.
    pub fn is_empty(&self) -> bool {
        self.other.is_empty() && self.known.iter().all(Option::is_none)
    }

    /// Add `other`'s counts to these, rule by rule.
    pub fn merge(&mut self, other: &RuleTable) {
        for (i, counts) in other.known.iter().enumerate() {
            if let Some(counts) = counts {
                add(self.at(Place::Known(i)), counts);
            }
        }
        for (rule, counts) in &other.other {
            add(self.other.entry(*rule).or_default(), counts);
        }
    }
}

fn add(mine: &mut RuleCounts, other: &RuleCounts) {
    mine.checked += other.checked;
    mine.decisive += other.decisive;
    mine.failed += other.failed;
    mine.expected += other.expected;
}

/// A rule's entry in a [`RuleTable`] ([`RuleTable::entry`]).
pub struct Entry<'a> {
    table: &'a mut RuleTable,
    rule: RuleId,
}

impl<'a> Entry<'a> {
    /// The rule's counts, made zero when it had none.
    pub fn or_default(self) -> &'a mut RuleCounts {
        self.table.at(place(self.rule))
    }
}

impl<'a> IntoIterator for &'a RuleTable {
    type Item = (&'a RuleId, &'a RuleCounts);
    type IntoIter = Box<dyn Iterator<Item = (&'a RuleId, &'a RuleCounts)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<(RuleId, RuleCounts)> for RuleTable {
    fn from_iter<I: IntoIterator<Item = (RuleId, RuleCounts)>>(iter: I) -> Self {
        let mut table = RuleTable::default();
        for (rule, counts) in iter {
            table.insert(rule, counts);
        }
        table
    }
}

impl PartialEq for RuleTable {
    fn eq(&self, other: &RuleTable) -> bool {
        let n = self.known.len().max(other.known.len());
        (0..n)
            .all(|i| self.known.get(i).copied().flatten() == other.known.get(i).copied().flatten())
            && self.other == other.other
    }
}

impl Eq for RuleTable {}

impl fmt::Debug for RuleTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for RuleTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut others: Vec<(&RuleId, &RuleCounts)> = self.other.iter().collect();
        others.sort_unstable_by_key(|(rule, _)| **rule);
        let known = self
            .known
            .iter()
            .zip(rules::all())
            .filter_map(|(counts, rule)| Some((&rule.id, counts.as_ref()?)));
        serializer.collect_map(known.chain(others))
    }
}

impl<'de> Deserialize<'de> for RuleTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = FxHashMap::<RuleId, RuleCounts>::deserialize(deserializer)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    // Well-formed ids the catalogue lacks, spelled so that tests/catalogue.rs, which looks for
    // rule ids among the checks' string literals, does not take them for checks.
    const UNKNOWN: &str = concat!("ZZZ", "-999");
    const UNKNOWN_LONG: &str = concat!("LONGFAMILYNAME", "-123");
    const UNKNOWN_SHARE: &str = concat!("SHARE", "-009");

    /// Every catalogue rule is in the table at its own index, and so is every rule
    /// `record_step` counts by name: the per-step path never falls back to the map for them.
    #[test]
    fn every_catalogue_rule_has_its_own_place() {
        let catalogue = catalogue();
        for (i, rule) in rules::all().iter().enumerate() {
            assert_eq!(catalogue.index(rule.id.0), Some(i), "{}", rule.id);
        }
        let hot = &catalogue.hot;
        let mut places = vec![
            hot.rc_001,
            hot.rc_002,
            hot.rc_003,
            hot.job_005,
            hot.job_006,
            hot.share_003,
            hot.atom_001,
            hot.atom_002,
            hot.id_005,
            hot.emb_005,
        ];
        places.extend(hot.job_001_004);
        places.extend(hot.invariants.iter().copied());
        assert_eq!(hot.invariants.len(), invariants::INVARIANT_RULES.len());
        for place in places {
            assert!(matches!(place, Place::Known(_)), "{place:?}");
        }
        for id in [
            "",
            "X",
            "ARG",
            "ARG-0001",
            "arg-001",
            "ARG-001 ",
            "SHARE-0031",
            UNKNOWN,
        ] {
            assert_eq!(catalogue.index(id), None, "{id:?}");
        }
    }

    /// Ids the table may hold (catalogue ids) and ids it keeps in its map: unknown ones of
    /// every length its key treats differently.
    fn ids() -> Vec<RuleId> {
        let all = rules::all();
        let mut ids: Vec<RuleId> = all.iter().step_by(7).map(|r| r.id).collect();
        ids.extend(["RC-001", "EMB-005", "SHARE-003", "CAP-001"].map(RuleId));
        ids.extend([UNKNOWN, "X", "", "QQ-1", UNKNOWN_LONG, UNKNOWN_SHARE].map(RuleId));
        ids
    }

    #[derive(Clone, Debug)]
    enum Op {
        Bump(usize, bool),
        Expected(usize),
        Failed(usize),
        Insert(usize, u64),
        EntryOnly(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let n = ids().len();
        prop_oneof![
            (0..n, any::<bool>()).prop_map(|(i, d)| Op::Bump(i, d)),
            (0..n).prop_map(Op::Expected),
            (0..n).prop_map(Op::Failed),
            (0..n, 0..5u64).prop_map(|(i, c)| Op::Insert(i, c)),
            (0..n).prop_map(Op::EntryOnly),
        ]
    }

    type Model = FxHashMap<RuleId, RuleCounts>;

    fn apply(ops: &[Op], table: &mut RuleTable, model: &mut Model) {
        let ids = ids();
        for op in ops {
            match *op {
                Op::Bump(i, decisive) => {
                    table.bump(place(ids[i]), decisive);
                    let counts = model.entry(ids[i]).or_default();
                    counts.checked += 1;
                    counts.decisive += u64::from(decisive);
                }
                Op::Expected(i) => {
                    table.at(place(ids[i])).expected += 1;
                    model.entry(ids[i]).or_default().expected += 1;
                }
                Op::Failed(i) => {
                    table.entry(ids[i]).or_default().failed += 1;
                    model.entry(ids[i]).or_default().failed += 1;
                }
                Op::Insert(i, checked) => {
                    let counts = RuleCounts {
                        checked,
                        ..RuleCounts::default()
                    };
                    assert_eq!(table.insert(ids[i], counts), model.insert(ids[i], counts));
                }
                Op::EntryOnly(i) => {
                    table.entry(ids[i]).or_default();
                    model.entry(ids[i]).or_default();
                }
            }
        }
    }

    fn sorted(table: &RuleTable) -> BTreeMap<RuleId, RuleCounts> {
        table.iter().map(|(r, c)| (*r, *c)).collect()
    }

    fn assert_same(table: &RuleTable, model: &Model) {
        for id in ids() {
            assert_eq!(table.get(&id), model.get(&id), "{id}");
            assert_eq!(table.contains_key(&id), model.contains_key(&id), "{id}");
        }
        assert_eq!(table.len(), model.len());
        assert_eq!(table.is_empty(), model.is_empty());
        assert_eq!(table.iter().count(), model.len());
        let model_sorted: BTreeMap<RuleId, RuleCounts> =
            model.iter().map(|(r, c)| (*r, *c)).collect();
        assert_eq!(sorted(table), model_sorted);
        // The serialized form is the map's, up to the order of its keys.
        let as_json = serde_json::to_value(table).expect("serializes");
        assert_eq!(as_json, serde_json::to_value(model).expect("serializes"));
    }

    proptest! {
        /// The table answers as the map it replaced would: entries, counts, iteration,
        /// equality, merging, the serialized form and reading it back.
        #[test]
        fn the_table_behaves_as_a_map_of_rule_ids(
            a_ops in proptest::collection::vec(op(), 0..40),
            b_ops in proptest::collection::vec(op(), 0..40),
        ) {
            let (mut a, mut a_model) = (RuleTable::default(), Model::default());
            let (mut b, mut b_model) = (RuleTable::default(), Model::default());
            apply(&a_ops, &mut a, &mut a_model);
            apply(&b_ops, &mut b, &mut b_model);
            assert_same(&a, &a_model);
            assert_same(&b, &b_model);
            prop_assert_eq!(a == b, a_model == b_model);
            prop_assert_eq!(a.clone() == a, true);
            // Merged, as RuleStats::merge merged the maps.
            let mut merged = a.clone();
            merged.merge(&b);
            let mut merged_model = a_model.clone();
            for (rule, counts) in &b_model {
                add(merged_model.entry(*rule).or_default(), counts);
            }
            assert_same(&merged, &merged_model);
            // Read back from JSON: only catalogue ids deserialize (as before).
            let json = serde_json::to_string(&merged).expect("serializes");
            let back: Result<RuleTable, _> = serde_json::from_str(&json);
            let model_back: Result<Model, _> = serde_json::from_str(&json);
            prop_assert_eq!(back.is_ok(), model_back.is_ok());
            if let (Ok(back), Ok(model_back)) = (back, model_back) {
                assert_same(&back, &model_back);
                prop_assert_eq!(&back, &merged);
            }
            // An empty table equals one whose catalogue slots were made but hold nothing.
            let mut made = RuleTable::default();
            made.at(Place::Known(0));
            made.known[0] = None;
            prop_assert_eq!(made, RuleTable::default());
        }
    }

    /// Whole stats: merge, equality and the serialized form with an unknown rule id.
    #[test]
    fn stats_with_an_unknown_rule_id() {
        let unknown = RuleId(UNKNOWN);
        let mut a = RuleStats::default();
        a.record_expected(unknown);
        a.record_error_output();
        a.steps = 3;
        let mut b = RuleStats::default();
        b.merge(&a);
        b.merge(&a);
        assert_eq!(b.rules.get(&unknown).map(|c| c.expected), Some(2));
        assert_eq!(b.rules.get(&RuleId("EMB-005")).map(|c| c.checked), Some(2));
        assert_eq!(b.steps, 6);
        assert_ne!(a, b);
        let json = serde_json::to_string(&a).expect("serializes");
        assert_eq!(
            json,
            format!(
                r#"{{"rules":{{"EMB-005":{{"checked":1,"decisive":1,"failed":0,"expected":0}},"{UNKNOWN}":{{"checked":0,"decisive":0,"failed":0,"expected":1}}}},"steps":3}}"#
            )
        );
    }
}
