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
use super::instance::{CimType, Instance, Property};
use super::lexical;

fn check_class(instance: &Instance, classes: &[&str]) -> Result<(), CodecError> {
    if classes.iter().any(|c| instance.is_class(c)) {
        Ok(())
    } else {
        Err(CodecError::WrongClass {
            expected: format!("one of {}", classes.join(", ")),
            found: instance.class_name.clone(),
        })
    }
}

fn others(instance: &Instance, known: &[&str]) -> Vec<Property> {
    instance
        .properties
        .iter()
        .filter(|p| !known.iter().any(|k| lexical::names_equal(k, &p.name)))
        .cloned()
        .collect()
}

fn narrow<T: TryFrom<u64>>(
    instance: &Instance,
    name: &str,
    target: CimType,
) -> Result<Option<T>, CodecError> {
    let Some(value) = instance.unsigned(name)? else {
        return Ok(None);
    };
    T::try_from(value).map(Some).map_err(|_| {
        let declared = instance.property(name).map_or(target, |p| p.cim_type);
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
        Self::read(i).map_err(CodecError::bounded)
    }

    fn read(i: &Instance) -> Result<Self, CodecError> {
        check_class(i, Self::CLASSES)?;
        Ok(PoolSettingData {
            class_name: i.class_name.clone(),
            instance_id: i.string("InstanceID")?,
            pool_id: i.string("PoolID")?,
            element_name: i.string("ElementName")?,
            resource_type: narrow(i, "ResourceType", CimType::Uint16)?,
            other_resource_type: i.string("OtherResourceType")?,
            resource_subtype: i.string("ResourceSubType")?,
            notes: i.string("Notes")?,
            other: others(i, Self::KNOWN),
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
        Self::read(i).map_err(CodecError::bounded)
    }

    fn read(i: &Instance) -> Result<Self, CodecError> {
        check_class(i, Self::CLASSES)?;
        Ok(AllocationSettingData {
            class_name: i.class_name.clone(),
            instance_id: i.string("InstanceID")?,
            pool_id: i.string("PoolID")?,
            element_name: i.string("ElementName")?,
            resource_type: narrow(i, "ResourceType", CimType::Uint16)?,
            other_resource_type: i.string("OtherResourceType")?,
            resource_subtype: i.string("ResourceSubType")?,
            host_resource: i.string_array("HostResource")?,
            allocation_units: i.string("AllocationUnits")?,
            virtual_quantity: i.unsigned("VirtualQuantity")?,
            reservation: i.unsigned("Reservation")?,
            limit: i.unsigned("Limit")?,
            weight: narrow(i, "Weight", CimType::Uint32)?,
            other: others(i, Self::KNOWN),
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
