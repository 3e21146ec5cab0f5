//! Typed views of the two setting-data classes resource-pool methods take as embedded
//! instances. A view knows property names and CIM types, never what values mean.
//!
//! `from_instance` checks the class (case-insensitively) and the type and range of every
//! property it knows; every other property is kept, unchanged, in `other`, so that
//! `to_instance` gives the instance back (known properties first, in a fixed order, with
//! their proper CIM types; `None` fields omitted). Known properties that are present but NULL
//! read as `None`. Because the integer accessors accept any integer type, views also read
//! instances decoded from MOF (where every integer is `uint64`/`sint64`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::error::{invalid_value, CodecError};

use super::instance::{
    take_string_list, BorrowedInstance, BorrowedProperty, BorrowedValue, CimType, Instance,
    Property, PropertyLike,
};
use super::lexical;
use super::string_list::StringList;
use super::xml_fast::Build;

/// What a view reads: the classes it accepts, the properties it knows (in the order
/// `to_instance` writes them; each known property has a *slot*, its place in that list),
/// and which of them, if any, is a `string[]` it keeps as a [`StringList`].
struct Shape {
    classes: &'static [&'static str],
    known: &'static [&'static str],
    list: Option<usize>,
    /// Bit `k` of entry `n`: `known[k]` is `n` bytes long.
    by_len: [u16; 32],
}

impl Shape {
    const fn new(
        classes: &'static [&'static str],
        known: &'static [&'static str],
        list: Option<usize>,
    ) -> Shape {
        assert!(known.len() <= MAX_KNOWN);
        let mut by_len = [0u16; 32];
        let mut k = 0;
        while k < known.len() {
            by_len[known[k].len()] |= 1 << k;
            // `letters_match` relies on this.
            let name = known[k].as_bytes();
            let mut i = 0;
            while i < name.len() {
                assert!(name[i].is_ascii_alphabetic());
                i += 1;
            }
            k += 1;
        }
        Shape {
            classes,
            known,
            list,
            by_len,
        }
    }

    /// The slot of the known property `name` (an ASCII name matches only one of its length,
    /// ignoring ASCII case; other names are compared as [`lexical::names_equal`] compares).
    fn slot(&self, name: &str) -> Option<usize> {
        if name.is_ascii() {
            self.slot_ascii(name)
        } else {
            self.known
                .iter()
                .position(|k| lexical::names_equal(k, name))
        }
    }

    /// [`slot`](Self::slot) of an ASCII name.
    fn slot_ascii(&self, name: &str) -> Option<usize> {
        let mut candidates = *self.by_len.get(name.len())?;
        while candidates != 0 {
            let k = candidates.trailing_zeros() as usize;
            if letters_match(self.known.get(k)?.as_bytes(), name.as_bytes()) {
                return Some(k);
            }
            candidates &= candidates - 1;
        }
        None
    }
}

/// Whether `name` equals `known`, a name of ASCII letters only, ignoring ASCII case: what
/// `eq_ignore_ascii_case` answers, eight bytes at a time. Setting bit 5 of every byte maps
/// each letter of `known` to its lower case, and only that letter's two cases to it.
fn letters_match(known: &[u8], name: &[u8]) -> bool {
    const CASE: u64 = 0x2020_2020_2020_2020;
    fn word(bytes: &[u8], at: usize) -> Option<u64> {
        let mut w = [0u8; 8];
        w.copy_from_slice(bytes.get(at..at + 8)?);
        Some(u64::from_le_bytes(w) | CASE)
    }
    let n = known.len();
    if n != name.len() {
        return false;
    }
    if n < 8 {
        return known.iter().zip(name).all(|(k, b)| k | 0x20 == b | 0x20);
    }
    // Whole words, then the last eight bytes (overlapping what was compared).
    let mut at = 0;
    while at + 8 <= n {
        if word(known, at) != word(name, at) {
            return false;
        }
        at += 8;
    }
    word(known, n - 8) == word(name, n - 8)
}

/// The slot of `name` in `known`; evaluated at compile time (through [`slot!`]), where a
/// name that is not known fails the build.
const fn slot_of(known: &[&str], name: &str) -> usize {
    let mut k = 0;
    while k < known.len() {
        let (a, b) = (known[k].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut i = 0;
            while i < a.len() && a[i] == b[i] {
                i += 1;
            }
            if i == a.len() {
                return k;
            }
        }
        k += 1;
    }
    panic!("not a known property")
}

/// The slot of a known property of `$view`, as a constant.
macro_rules! slot {
    ($view:ty, $name:literal) => {
        const { slot_of(<$view>::KNOWN, $name) }
    };
}

/// A typed view of `i`: its class checked against the shape's classes, its properties
/// sorted into the view's known ones and the rest, then `read` — with every error bounded in
/// size.
fn read_view<T>(
    i: BorrowedInstance<'_>,
    shape: &'static Shape,
    read: fn(Sorted<'_>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    check_class(&i, shape.classes).map_err(CodecError::bounded)?;
    let mut sorted = Sorted::new(shape, i.class_name);
    for p in i.properties {
        sorted.insert(p);
    }
    read(sorted).map_err(CodecError::bounded)
}

/// Decodes `text` straight into a view: when the text takes the common CIM-XML form
/// (`xml_fast`) and the view reads it without an error, the properties go from the
/// decoder's events into the view's slots (no instance in between; a `string[]` the view
/// keeps as a list unescaped straight into it). Otherwise — every error included — through
/// [`decode_borrowed`](super::decode_borrowed) and [`read_view`], whose answer the direct
/// path always equals.
fn decode_view<T>(
    text: &str,
    shape: &'static Shape,
    read: fn(Sorted<'_>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let limits = super::Limits::default();
    if let Some(body) = super::common_xml_body(text, &limits) {
        let mut sorted = Sorted::new(shape, Cow::Borrowed(""));
        if super::xml_fast::decode_into(body, &limits, &mut sorted).is_some() {
            if let Ok(view) = read(sorted) {
                return Ok(view);
            }
        }
    }
    read_view(super::decode_borrowed(text)?, shape, read)
}

fn check_class(instance: &BorrowedInstance<'_>, classes: &[&str]) -> Result<(), CodecError> {
    if classes.iter().any(|c| instance.is_class(c)) {
        Ok(())
    } else {
        Err(CodecError::WrongClass {
            expected: format!("one of {}", classes.join(", ")),
            found: instance.class_name.to_string(),
        })
    }
}

/// Most properties a view knows.
const MAX_KNOWN: usize = 12;

/// An instance's class name and properties, sorted into those a view knows (by slot; the
/// first of equal names) and the others, in order. The known ones stay borrowed until the
/// view takes them: a value is copied at most once, into the view, and only when it borrows
/// from the decoded text.
struct Sorted<'a> {
    shape: &'static Shape,
    class_name: Cow<'a, str>,
    known: [Option<BorrowedProperty<'a>>; MAX_KNOWN],
    /// The value of the shape's list property, when the decoder read it as a list.
    list: Option<StringList>,
    other: Vec<Property>,
}

impl<'a> Sorted<'a> {
    fn new(shape: &'static Shape, class_name: Cow<'a, str>) -> Self {
        Sorted {
            shape,
            class_name,
            known: Default::default(),
            list: None,
            other: Vec::new(),
        }
    }

    /// Sorts in one property (of any instance: a second property of a known name is
    /// ignored, as a lookup by name would never find it).
    fn insert(&mut self, p: BorrowedProperty<'a>) {
        match self.shape.slot(&p.name).and_then(|k| self.known.get_mut(k)) {
            Some(entry) => {
                entry.get_or_insert(p);
            }
            None => self.other.push(p.into_owned()),
        }
    }

    /// Whether slot `k` holds a value (a property or the list).
    fn filled(&self, k: usize) -> bool {
        self.known.get(k).is_some_and(Option::is_some)
            || (self.list.is_some() && self.shape.list == Some(k))
    }

    /// The property of this slot, if the instance has it.
    fn get(&self, k: usize) -> Option<&BorrowedProperty<'a>> {
        self.known.get(k).and_then(Option::as_ref)
    }

    /// The property of this slot, moved out.
    fn take(&mut self, k: usize) -> Option<BorrowedProperty<'a>> {
        self.known.get_mut(k).and_then(Option::take)
    }

    /// A `string` scalar, moved out: [`Instance::string`]'s answer, copying the text only
    /// when it borrows.
    fn take_string(&mut self, k: usize) -> Result<Option<String>, CodecError> {
        match self.take(k) {
            Some(BorrowedProperty {
                cim_type: CimType::String,
                is_array: false,
                value: BorrowedValue::Scalar(text),
                ..
            }) => Ok(Some(text.into_owned())),
            other => Instance::string_of(other.as_ref()),
        }
    }

    /// A `string[]` property without NULL elements, as one list: [`Instance::string_array`]'s
    /// answer, element for element.
    fn take_string_list(&mut self, k: usize) -> Result<Option<StringList>, CodecError> {
        if self.shape.list == Some(k) {
            if let Some(list) = self.list.take() {
                return Ok(Some(list));
            }
        }
        take_string_list(self.take(k))
    }
}

/// What the common-case decoder reads goes straight into the slots. It gives up (and the
/// full path decides) on another class, a second property of the same name, and a list
/// property it cannot read as a list.
impl<'a> Build<'a> for Sorted<'a> {
    fn class(&mut self, name: Cow<'a, str>) -> Option<()> {
        // `check_class`, for an ASCII name.
        if !self
            .shape
            .classes
            .iter()
            .any(|c| c.len() == name.len() && c.eq_ignore_ascii_case(&name))
        {
            return None;
        }
        self.class_name = name;
        Some(())
    }

    fn wants_list(&self, name: &str) -> bool {
        self.shape
            .list
            .and_then(|k| self.shape.known.get(k))
            .is_some_and(|k| letters_match(k.as_bytes(), name.as_bytes()))
    }

    fn property(&mut self, p: BorrowedProperty<'a>) -> Option<()> {
        match self.shape.slot_ascii(&p.name) {
            Some(k) => {
                if self.filled(k) {
                    return None;
                }
                *self.known.get_mut(k)? = Some(p);
            }
            None => {
                let name = &p.name;
                if self
                    .other
                    .iter()
                    .any(|o| o.name.len() == name.len() && o.name.eq_ignore_ascii_case(name))
                {
                    return None;
                }
                self.other.push(p.into_owned());
            }
        }
        Some(())
    }

    fn list(&mut self, _: &str, list: StringList) -> Option<()> {
        let k = self.shape.list?;
        if self.filled(k) {
            return None;
        }
        self.list = Some(list);
        Some(())
    }
}

fn narrow<T: TryFrom<u64>, P: PropertyLike>(
    property: Option<&P>,
    name: &str,
    target: CimType,
) -> Result<Option<T>, CodecError> {
    let Some(value) = Instance::unsigned_of(property)? else {
        return Ok(None);
    };
    T::try_from(value).map(Some).map_err(|_| {
        let declared = property.map_or(target, PropertyLike::cim_type);
        invalid_value(
            name,
            declared,
            &value.to_string(),
            format!("{name} must be within the range of {target}"),
        )
    })
}

/// Appends `other` properties whose names do not collide with a known property.
fn with_others(mut instance: Instance, known: &[&str], other: &[Property]) -> Instance {
    for p in other {
        let collides = known.iter().any(|k| lexical::names_equal(k, &p.name))
            || instance.property(&p.name).is_some();
        if !collides {
            instance.properties.push(p.clone());
        }
    }
    instance
}

fn put_string(instance: Instance, name: &str, value: &Option<String>) -> Instance {
    match value {
        Some(v) => instance.with_scalar(name, CimType::String, v.clone()),
        None => instance,
    }
}

fn put_number(instance: Instance, name: &str, cim_type: CimType, value: Option<u64>) -> Instance {
    match value {
        Some(v) => instance.with_scalar(name, cim_type, v.to_string()),
        None => instance,
    }
}

/// The class that defines `property` in the hierarchy of `class`, as WMI reports it in a
/// property's `CLASSORIGIN`: the DMTF root classes for the properties every setting data
/// inherits, the allocation or pool base class for the properties the views know, and
/// `class` itself for everything else. Used only to decorate the WMI DTD 2.0 encoding.
pub(crate) fn class_origin<'a>(class: &'a str, property: &str) -> &'a str {
    let is = |names: &[&str]| names.iter().any(|n| lexical::names_equal(n, property));
    let of = |classes: &[&str]| classes.iter().any(|c| lexical::names_equal(c, class));
    if is(&["Caption", "Description", "ElementName"]) {
        "CIM_ManagedElement"
    } else if is(&["InstanceID"]) {
        "CIM_SettingData"
    } else if of(AllocationSettingData::CLASSES)
        && (is(AllocationSettingData::KNOWN)
            || is(&[
                "AutomaticAllocation",
                "AutomaticDeallocation",
                "Parent",
                "Connection",
                "Address",
                "ConsumerVisibility",
                "MappingBehavior",
                "VirtualQuantityUnits",
            ]))
    {
        "CIM_ResourceAllocationSettingData"
    } else if lexical::names_equal(class, "Msvm_ResourcePoolSettingData")
        && (is(PoolSettingData::KNOWN)
            || is(&["LoadBalancingBehavior", "MappingBehavior", "MappingOrder"]))
    {
        "Msvm_AbstractResourcePoolSettingData"
    } else {
        class
    }
}

static POOL: Shape = Shape::new(PoolSettingData::CLASSES, PoolSettingData::KNOWN, None);

static ALLOCATION: Shape = Shape::new(
    AllocationSettingData::CLASSES,
    AllocationSettingData::KNOWN,
    Some(slot_of(AllocationSettingData::KNOWN, "HostResource")),
);

/// `Msvm_ResourcePoolSettingData` / `CIM_ResourcePoolSettingData`: the `PoolSettings` of
/// `CreatePool` / `CreateChildResourcePool` and `ModifyPoolSettings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSettingData {
    pub class_name: String,
    pub instance_id: Option<String>,
    pub pool_id: Option<String>,
    pub element_name: Option<String>,
    pub resource_type: Option<u16>,
    pub other_resource_type: Option<String>,
    pub resource_subtype: Option<String>,
    pub notes: Option<String>,
    /// Every other property (e.g. `LoadBalancingBehavior`, `MappingOrder`, WMI's `__PATH`).
    pub other: Vec<Property>,
}

impl PoolSettingData {
    /// The classes this view reads.
    pub const CLASSES: &'static [&'static str] = &[
        "Msvm_ResourcePoolSettingData",
        "CIM_ResourcePoolSettingData",
    ];

    /// The properties this view knows, in the order `to_instance` writes them.
    pub const KNOWN: &'static [&'static str] = &[
        "InstanceID",
        "PoolID",
        "ElementName",
        "ResourceType",
        "OtherResourceType",
        "ResourceSubType",
        "Notes",
    ];

    /// Reads the view; `WrongClass` for other classes, `WrongShape`/`InvalidValue` for known
    /// properties of the wrong type or out of range (`ResourceType` must fit a `uint16`).
    pub fn from_instance(i: &Instance) -> Result<Self, CodecError> {
        Self::from_borrowed(BorrowedInstance::from(i))
    }

    /// [`from_instance`](Self::from_instance), consuming the instance: its values are moved
    /// into the view, not copied.
    pub fn from_owned(i: Instance) -> Result<Self, CodecError> {
        Self::from_borrowed(BorrowedInstance::from(i))
    }

    /// [`from_instance`](Self::from_instance) of a [`decode_borrowed`](super::decode_borrowed)
    /// result: each text is copied once, into the view (moved when it is owned already).
    pub fn from_borrowed(i: BorrowedInstance<'_>) -> Result<Self, CodecError> {
        read_view(i, &POOL, Self::read)
    }

    /// Decodes `text` straight into the view: the same answer and the same errors as
    /// [`decode_borrowed`](super::decode_borrowed) then [`from_borrowed`](Self::from_borrowed),
    /// or `decode` then [`from_owned`](Self::from_owned); the common CIM-XML form without an
    /// instance in between.
    pub fn decode(text: &str) -> Result<Self, CodecError> {
        decode_view(text, &POOL, Self::read)
    }

    fn read(mut s: Sorted<'_>) -> Result<Self, CodecError> {
        let instance_id = s.take_string(slot!(Self, "InstanceID"))?;
        let pool_id = s.take_string(slot!(Self, "PoolID"))?;
        let element_name = s.take_string(slot!(Self, "ElementName"))?;
        let resource_type = narrow(
            s.get(slot!(Self, "ResourceType")),
            "ResourceType",
            CimType::Uint16,
        )?;
        Ok(PoolSettingData {
            instance_id,
            pool_id,
            element_name,
            resource_type,
            other_resource_type: s.take_string(slot!(Self, "OtherResourceType"))?,
            resource_subtype: s.take_string(slot!(Self, "ResourceSubType"))?,
            notes: s.take_string(slot!(Self, "Notes"))?,
            class_name: s.class_name.into_owned(),
            other: s.other,
        })
    }

    /// The instance: known properties with their CIM types, then `other`.
    pub fn to_instance(&self) -> Instance {
        let i = Instance::new(self.class_name.clone());
        let i = put_string(i, "InstanceID", &self.instance_id);
        let i = put_string(i, "PoolID", &self.pool_id);
        let i = put_string(i, "ElementName", &self.element_name);
        let i = put_number(
            i,
            "ResourceType",
            CimType::Uint16,
            self.resource_type.map(u64::from),
        );
        let i = put_string(i, "OtherResourceType", &self.other_resource_type);
        let i = put_string(i, "ResourceSubType", &self.resource_subtype);
        let i = put_string(i, "Notes", &self.notes);
        with_others(i, Self::KNOWN, &self.other)
    }
}

/// `CIM_ResourceAllocationSettingData` and the Hyper-V subclasses used for pool allocations:
/// the `AllocationSettings` of `CreatePool` / `CreateChildResourcePool` and
/// `ModifyPoolResources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationSettingData {
    pub class_name: String,
    pub instance_id: Option<String>,
    pub pool_id: Option<String>,
    pub element_name: Option<String>,
    pub resource_type: Option<u16>,
    pub other_resource_type: Option<String>,
    pub resource_subtype: Option<String>,
    /// `HostResource`: a `string[]` without NULL elements, kept in one buffer.
    pub host_resource: Option<StringList>,
    pub allocation_units: Option<String>,
    pub virtual_quantity: Option<u64>,
    pub reservation: Option<u64>,
    pub limit: Option<u64>,
    pub weight: Option<u32>,
    /// Every other property (e.g. `Parent`, `Connection`, `AutomaticAllocation`).
    pub other: Vec<Property>,
}

impl AllocationSettingData {
    /// The classes this view reads: the DMTF and Hyper-V base classes, plus each Hyper-V
    /// subclass (and its DMTF parent) that carries the allocation for one pool type — all
    /// derive from `CIM_ResourceAllocationSettingData` in root\virtualization\v2 (per the
    /// class definitions generated from live namespaces in microsoft/wmi):
    ///
    /// * `Msvm_ProcessorSettingData` (Processor pools), `Msvm_MemorySettingData` (Memory);
    /// * `Msvm_EthernetPortAllocationSettingData` : `CIM_EthernetPortAllocationSettingData`
    ///   (Ethernet pools: `HostResource` holds switch paths);
    /// * `Msvm_StorageAllocationSettingData` : `CIM_StorageAllocationSettingData` (VHD, ISO
    ///   and VFD pools: `HostResource` holds folder paths);
    /// * `Msvm_FcPortAllocationSettingData` (virtual SANs: `HostResource` holds
    ///   `Msvm_VirtualFcSwitch` paths);
    /// * `Msvm_PciExpressSettingData` (PciExpress pools).
    ///
    /// `CIM_SettingData` is not here: it is not an allocation.
    pub const CLASSES: &'static [&'static str] = &[
        "Msvm_ResourceAllocationSettingData",
        "CIM_ResourceAllocationSettingData",
        "Msvm_ProcessorSettingData",
        "Msvm_MemorySettingData",
        "Msvm_EthernetPortAllocationSettingData",
        "CIM_EthernetPortAllocationSettingData",
        "Msvm_StorageAllocationSettingData",
        "CIM_StorageAllocationSettingData",
        "Msvm_FcPortAllocationSettingData",
        "Msvm_PciExpressSettingData",
    ];

    /// The properties this view knows, in the order `to_instance` writes them.
    pub const KNOWN: &'static [&'static str] = &[
        "InstanceID",
        "PoolID",
        "ElementName",
        "ResourceType",
        "OtherResourceType",
        "ResourceSubType",
        "HostResource",
        "AllocationUnits",
        "VirtualQuantity",
        "Reservation",
        "Limit",
        "Weight",
    ];

    /// Reads the view; `WrongClass` for other classes, `WrongShape`/`InvalidValue` for known
    /// properties of the wrong type or out of range (`ResourceType` must fit a `uint16`,
    /// `Weight` a `uint32`; `HostResource` is a `string[]` without NULL elements).
    pub fn from_instance(i: &Instance) -> Result<Self, CodecError> {
        Self::from_borrowed(BorrowedInstance::from(i))
    }

    /// [`from_instance`](Self::from_instance), consuming the instance: its values are moved
    /// into the view, not copied.
    pub fn from_owned(i: Instance) -> Result<Self, CodecError> {
        Self::from_borrowed(BorrowedInstance::from(i))
    }

    /// [`from_instance`](Self::from_instance) of a [`decode_borrowed`](super::decode_borrowed)
    /// result: each text is copied once, into the view (moved when it is owned already).
    pub fn from_borrowed(i: BorrowedInstance<'_>) -> Result<Self, CodecError> {
        read_view(i, &ALLOCATION, Self::read)
    }

    /// Decodes `text` straight into the view — what a service does with an embedded
    /// allocation: the same answer and the same errors as
    /// [`decode_borrowed`](super::decode_borrowed) then [`from_borrowed`](Self::from_borrowed),
    /// or `decode` then [`from_owned`](Self::from_owned); the common CIM-XML form without an
    /// instance in between, `HostResource` unescaped straight into its list.
    pub fn decode(text: &str) -> Result<Self, CodecError> {
        decode_view(text, &ALLOCATION, Self::read)
    }

    fn read(mut s: Sorted<'_>) -> Result<Self, CodecError> {
        let host_resource = s.take_string_list(slot!(Self, "HostResource"))?;
        let instance_id = s.take_string(slot!(Self, "InstanceID"))?;
        let pool_id = s.take_string(slot!(Self, "PoolID"))?;
        let element_name = s.take_string(slot!(Self, "ElementName"))?;
        let resource_type = narrow(
            s.get(slot!(Self, "ResourceType")),
            "ResourceType",
            CimType::Uint16,
        )?;
        let other_resource_type = s.take_string(slot!(Self, "OtherResourceType"))?;
        let resource_subtype = s.take_string(slot!(Self, "ResourceSubType"))?;
        let allocation_units = s.take_string(slot!(Self, "AllocationUnits"))?;
        let class_name = std::mem::take(&mut s.class_name).into_owned();
        let unsigned = |k| Instance::unsigned_of(s.get(k));
        Ok(AllocationSettingData {
            class_name,
            instance_id,
            pool_id,
            element_name,
            resource_type,
            other_resource_type,
            resource_subtype,
            host_resource,
            allocation_units,
            virtual_quantity: unsigned(slot!(Self, "VirtualQuantity"))?,
            reservation: unsigned(slot!(Self, "Reservation"))?,
            limit: unsigned(slot!(Self, "Limit"))?,
            weight: narrow(s.get(slot!(Self, "Weight")), "Weight", CimType::Uint32)?,
            other: s.other,
        })
    }

    /// The instance: known properties with their CIM types, then `other`.
    pub fn to_instance(&self) -> Instance {
        let i = Instance::new(self.class_name.clone());
        let i = put_string(i, "InstanceID", &self.instance_id);
        let i = put_string(i, "PoolID", &self.pool_id);
        let i = put_string(i, "ElementName", &self.element_name);
        let i = put_number(
            i,
            "ResourceType",
            CimType::Uint16,
            self.resource_type.map(u64::from),
        );
        let i = put_string(i, "OtherResourceType", &self.other_resource_type);
        let i = put_string(i, "ResourceSubType", &self.resource_subtype);
        let i = match &self.host_resource {
            Some(paths) => i.with_array("HostResource", CimType::String, paths.to_vec()),
            None => i,
        };
        let i = put_string(i, "AllocationUnits", &self.allocation_units);
        let i = put_number(i, "VirtualQuantity", CimType::Uint64, self.virtual_quantity);
        let i = put_number(i, "Reservation", CimType::Uint64, self.reservation);
        let i = put_number(i, "Limit", CimType::Uint64, self.limit);
        let i = put_number(i, "Weight", CimType::Uint32, self.weight.map(u64::from));
        with_others(i, Self::KNOWN, &self.other)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{decode_view, read_view, AllocationSettingData, PoolSettingData, Sorted};
    use super::{ALLOCATION, POOL};
    use crate::codec::{common_xml_body, decode_borrowed, xml_fast, Limits};

    /// Whether `text` is read by the direct path (decoder events straight into the slots,
    /// and the view reads them without an error).
    fn direct<T>(
        text: &str,
        shape: &'static super::Shape,
        read: fn(Sorted<'_>) -> Result<T, crate::codec::CodecError>,
    ) -> bool {
        let limits = Limits::default();
        let Some(body) = common_xml_body(text, &limits) else {
            return false;
        };
        let mut sorted = Sorted::new(shape, Cow::Borrowed(""));
        xml_fast::decode_into(body, &limits, &mut sorted).is_some() && read(sorted).is_ok()
    }

    #[test]
    fn the_common_allocations_take_the_direct_path_and_read_the_same() {
        for text in [
            include_str!("../../tests/data/pywbem/rasd_client_1k.xml"),
            include_str!("../../tests/data/pywbem/rasd_large.xml"),
        ] {
            assert!(direct(text, &ALLOCATION, AllocationSettingData::read));
            let view = decode_view(text, &ALLOCATION, AllocationSettingData::read).unwrap();
            let read = read_view(
                decode_borrowed(text).unwrap(),
                &ALLOCATION,
                AllocationSettingData::read,
            );
            assert_eq!(Ok(&view), read.as_ref());
            assert!(view.host_resource.as_ref().is_some_and(|h| !h.is_empty()));
            // Not a pool: the direct path gives up, and the full path says why.
            assert!(!direct(text, &POOL, PoolSettingData::read));
            assert!(PoolSettingData::decode(text).is_err());
        }
        let large = include_str!("../../tests/data/pywbem/rasd_large.xml");
        let view = AllocationSettingData::decode(large).unwrap();
        let hosts = view.host_resource.unwrap();
        assert_eq!(hosts.len(), 480);
        assert_eq!(
            hosts.get(10),
            Some(r"\\fileserver-010\vhd-share-010\tenant-3\gold & silver <10>")
        );
    }

    #[test]
    fn the_direct_path_gives_up_on_what_the_view_or_the_decoder_would_refuse() {
        let ok = "<INSTANCE CLASSNAME=\"Msvm_StorageAllocationSettingData\">\
            <PROPERTY.ARRAY NAME=\"HostResource\" TYPE=\"string\"><VALUE.ARRAY><VALUE>a&amp;b</VALUE>\
            <VALUE>c</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>\
            <PROPERTY NAME=\"Weight\" TYPE=\"uint32\"><VALUE>7</VALUE></PROPERTY></INSTANCE>";
        assert!(direct(ok, &ALLOCATION, AllocationSettingData::read));
        let view = AllocationSettingData::decode(ok).unwrap();
        assert_eq!(view.host_resource.unwrap(), vec!["a&b", "c"]);
        for broken in [
            // A NULL element: the view's error.
            ok.replace("<VALUE>c</VALUE>", "<VALUE.NULL/>"),
            // Twice the same name, in another case: the decoder's error.
            ok.replace("\"Weight\"", "\"hostRESOURCE\""),
            ok.replace("\"Weight\" TYPE=\"uint32\"", "\"Foo\" TYPE=\"uint32\"")
                .replace(
                    "</INSTANCE>",
                    "<PROPERTY NAME=\"FOO\" TYPE=\"string\"/></INSTANCE>",
                ),
            // Out of range for the view.
            ok.replace("<VALUE>7</VALUE>", "<VALUE>4294967296</VALUE>")
                .replace("uint32", "uint64"),
            // Another class.
            ok.replace("Msvm_StorageAllocationSettingData", "Msvm_Other"),
        ] {
            assert!(
                !direct(&broken, &ALLOCATION, AllocationSettingData::read),
                "{broken}"
            );
            assert!(AllocationSettingData::decode(&broken).is_err(), "{broken}");
        }
    }
}
