//! Typed views of the two setting-data classes resource-pool methods take as embedded
//! instances. A view knows property names and CIM types, never what values mean.
//!
//! `from_instance` checks the class (case-insensitively) and the type and range of every
//! property it knows; every other property is kept, unchanged, in `other`, so that
//! `to_instance` gives the instance back (known properties first, in a fixed order, with
//! their proper CIM types; `None` fields omitted). Known properties that are present but NULL
//! read as `None`. Because the integer accessors accept any integer type, views also read
//! instances decoded from MOF (where every integer is `uint64`/`sint64`).

use serde::{Deserialize, Serialize};

use super::error::{invalid_value, CodecError};

use super::instance::{
    take_string_array, BorrowedInstance, BorrowedProperty, BorrowedValue, CimType, Instance,
    Property, PropertyLike,
};
use super::lexical;

/// A typed view of `i`: its class checked against `classes`, its properties sorted into the
/// view's `known` ones and the rest, then `read` — with every error bounded in size.
fn read_view<T>(
    i: BorrowedInstance<'_>,
    classes: &[&str],
    known: &'static [&'static str],
    read: fn(String, Sorted<'_>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    check_class(&i, classes).map_err(CodecError::bounded)?;
    let sorted = Sorted::new(i.properties, known);
    read(i.class_name.into_owned(), sorted).map_err(CodecError::bounded)
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

/// An instance's properties, sorted in one pass into those a view knows (by their place in
/// the view's `KNOWN` list; the first of equal names) and the others, in order. The known
/// ones stay borrowed until the view takes them: a value is copied at most once, into the
/// view, and only when it borrows from the decoded text.
struct Sorted<'a> {
    known_names: &'static [&'static str],
    known: [Option<BorrowedProperty<'a>>; MAX_KNOWN],
    other: Vec<Property>,
}

impl<'a> Sorted<'a> {
    fn new(properties: Vec<BorrowedProperty<'a>>, known_names: &'static [&'static str]) -> Self {
        let mut known: [Option<BorrowedProperty<'a>>; MAX_KNOWN] = Default::default();
        let mut other = Vec::new();
        for p in properties {
            // The known names are ASCII: an ASCII name matches one only at the same length.
            let ascii = p.name.is_ascii();
            let slot = known_names.iter().position(|k| {
                if ascii {
                    k.len() == p.name.len() && k.eq_ignore_ascii_case(&p.name)
                } else {
                    lexical::names_equal(k, &p.name)
                }
            });
            match slot.and_then(|slot| known.get_mut(slot)) {
                Some(entry) => {
                    entry.get_or_insert(p);
                }
                None => other.push(p.into_owned()),
            }
        }
        Sorted {
            known_names,
            known,
            other,
        }
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.known_names.iter().position(|k| *k == name)
    }

    /// The property of this known name, if the instance has it.
    fn get(&self, name: &str) -> Option<&BorrowedProperty<'a>> {
        self.slot(name)
            .and_then(|slot| self.known.get(slot))
            .and_then(Option::as_ref)
    }

    /// The property of this known name, moved out.
    fn take(&mut self, name: &str) -> Option<BorrowedProperty<'a>> {
        self.slot(name)
            .and_then(|slot| self.known.get_mut(slot))
            .and_then(Option::take)
    }

    /// A `string` scalar, moved out: [`Instance::string`]'s answer, copying the text only
    /// when it borrows.
    fn take_string(&mut self, name: &str) -> Result<Option<String>, CodecError> {
        match self.take(name) {
            Some(BorrowedProperty {
                cim_type: CimType::String,
                is_array: false,
                value: BorrowedValue::Scalar(text),
                ..
            }) => Ok(Some(text.into_owned())),
            other => Instance::string_of(other.as_ref()),
        }
    }

    /// A `string[]` property without NULL elements, moved out: [`Instance::string_array`]'s
    /// answer.
    fn take_string_array(&mut self, name: &str) -> Result<Option<Vec<String>>, CodecError> {
        take_string_array(self.take(name))
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
        read_view(i, Self::CLASSES, Self::KNOWN, Self::read)
    }

    /// Decodes `text` straight into the view: [`decode_borrowed`](super::decode_borrowed)
    /// then [`from_borrowed`](Self::from_borrowed), the same answer and the same errors as
    /// `decode` then [`from_owned`](Self::from_owned).
    pub fn decode(text: &str) -> Result<Self, CodecError> {
        Self::from_borrowed(super::decode_borrowed(text)?)
    }

    fn read(class_name: String, mut s: Sorted<'_>) -> Result<Self, CodecError> {
        let instance_id = s.take_string("InstanceID")?;
        let pool_id = s.take_string("PoolID")?;
        let element_name = s.take_string("ElementName")?;
        let resource_type = narrow(s.get("ResourceType"), "ResourceType", CimType::Uint16)?;
        Ok(PoolSettingData {
            class_name,
            instance_id,
            pool_id,
            element_name,
            resource_type,
            other_resource_type: s.take_string("OtherResourceType")?,
            resource_subtype: s.take_string("ResourceSubType")?,
            notes: s.take_string("Notes")?,
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
    pub host_resource: Option<Vec<String>>,
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
        read_view(i, Self::CLASSES, Self::KNOWN, Self::read)
    }

    /// Decodes `text` straight into the view: [`decode_borrowed`](super::decode_borrowed)
    /// then [`from_borrowed`](Self::from_borrowed), the same answer and the same errors as
    /// `decode` then [`from_owned`](Self::from_owned) — what a service does with an
    /// embedded allocation, without an owned instance in between.
    pub fn decode(text: &str) -> Result<Self, CodecError> {
        Self::from_borrowed(super::decode_borrowed(text)?)
    }

    fn read(class_name: String, mut s: Sorted<'_>) -> Result<Self, CodecError> {
        let host_resource = s.take_string_array("HostResource")?;
        let instance_id = s.take_string("InstanceID")?;
        let pool_id = s.take_string("PoolID")?;
        let element_name = s.take_string("ElementName")?;
        let resource_type = narrow(s.get("ResourceType"), "ResourceType", CimType::Uint16)?;
        let other_resource_type = s.take_string("OtherResourceType")?;
        let resource_subtype = s.take_string("ResourceSubType")?;
        let allocation_units = s.take_string("AllocationUnits")?;
        let unsigned = |name| Instance::unsigned_of(s.get(name));
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
            virtual_quantity: unsigned("VirtualQuantity")?,
            reservation: unsigned("Reservation")?,
            limit: unsigned("Limit")?,
            weight: narrow(s.get("Weight"), "Weight", CimType::Uint32)?,
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
            Some(paths) => i.with_array("HostResource", CimType::String, paths.clone()),
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
