//! Parameter extraction (ARG-002) and the reading of embedded instances (EMB-001..003).
//!
//! Every embedded-instance string is parsed by the codec straight into its typed views
//! ([`AllocationSettingData::decode`], [`PoolSettingData::decode`]); nothing here matches on
//! the text itself. This is the only file of the reference implementation that knows the
//! codec's API.

use crate::codec::{
    encode, AllocationSettingData, CimType, CodecError, Encoding, Instance, PoolSettingData,
};
use crate::sut::{MethodCall, ObjectPath, ParamValue};

/// The input parameters of one call, checked against the method's signature.
#[derive(Clone, Debug)]
pub(crate) struct Args {
    values: Vec<(&'static str, ParamValue)>,
}

impl Args {
    /// The value of a parameter of the signature; NULL when it was absent (only possible
    /// when the signature check was skipped).
    fn value(&self, name: &str) -> &ParamValue {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .unwrap_or(&ParamValue::Null)
    }

    /// A string parameter; `None` for NULL.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            ParamValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A string-array parameter; NULL counts as empty.
    pub fn strings(&self, name: &str) -> &[String] {
        match self.value(name) {
            ParamValue::StringArray(items) => items,
            _ => &[],
        }
    }

    /// A reference parameter; `None` for NULL.
    pub fn reference(&self, name: &str) -> Option<&ObjectPath> {
        match self.value(name) {
            ParamValue::Reference(path) => Some(path),
            _ => None,
        }
    }

    /// A reference-array parameter; NULL counts as empty.
    pub fn references(&self, name: &str) -> &[ObjectPath] {
        match self.value(name) {
            ParamValue::ReferenceArray(items) => items,
            _ => &[],
        }
    }
}

/// Checks the call against the method's signature (ARG-002): every input parameter present
/// exactly once (names compare case-insensitively), no unknown name, every value of its
/// wire kind or NULL. The error is the description for `CIM_ERR_INVALID_PARAMETER`.
///
/// `lenient` (the `Permissive` defect) skips the check: unknown names are ignored, the first
/// of repeated names wins, and absent or mistyped values read as NULL.
pub(crate) fn extract(call: &MethodCall, lenient: bool) -> Result<Args, String> {
    let signature = call.method.input_parameters();
    let mut values: Vec<(&'static str, ParamValue)> = Vec::with_capacity(signature.len());
    for param in &call.params {
        let Some(&(name, kind)) = signature
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&param.name))
        else {
            if lenient {
                continue;
            }
            return Err(format!(
                "{} has no parameter named {:?}",
                call.method,
                shorten(&param.name)
            ));
        };
        if values.iter().any(|(n, _)| *n == name) {
            if lenient {
                continue;
            }
            return Err(format!(
                "parameter {name} of {} is given more than once",
                call.method
            ));
        }
        let value = match param.value.kind() {
            None => ParamValue::Null,
            Some(k) if k == kind => param.value.clone(),
            Some(k) => {
                if lenient {
                    ParamValue::Null
                } else {
                    return Err(format!(
                        "parameter {name} of {} must be a {kind:?}, not a {k:?}",
                        call.method
                    ));
                }
            }
        };
        values.push((name, value));
    }
    for &(name, _) in signature {
        if !values.iter().any(|(n, _)| *n == name) {
            if !lenient {
                return Err(format!("parameter {name} of {} is missing", call.method));
            }
            values.push((name, ParamValue::Null));
        }
    }
    Ok(Args { values })
}

/// The properties of an `Msvm_ResourcePoolSettingData` the service reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolSettings {
    pub pool_id: Option<String>,
    pub element_name: Option<String>,
    pub resource_type: Option<u16>,
    pub resource_subtype: Option<String>,
}

/// The properties of a resource allocation setting data the service reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Allocation {
    pub resource_type: Option<u16>,
    pub resource_subtype: Option<String>,
    pub reservation: Option<u64>,
    pub limit: Option<u64>,
    /// NULL reads as `None`; the service treats it like an empty array (HOST-002).
    pub host_resource: Option<Vec<String>>,
}

impl Allocation {
    /// The host resources asked for, without duplicates, in request order.
    pub fn host_resources(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(items) = &self.host_resource {
            super::store::union_into(&mut out, items);
        }
        out
    }
}

/// The message of the Invalid Parameter refusal: which parameter, and the codec's own
/// account of what was wrong and where (bounded in size, whatever the input).
fn describe(what: &str, error: &CodecError) -> String {
    format!("{what} is not a usable embedded instance: {error}")
}

/// Decodes `PoolSettings` (EMB-001..003): one instance of a pool setting data class.
pub(crate) fn pool_settings(what: &str, text: &str) -> Result<PoolSettings, String> {
    let typed = PoolSettingData::decode(text).map_err(|e| describe(what, &e))?;
    Ok(PoolSettings {
        pool_id: typed.pool_id,
        element_name: typed.element_name,
        resource_type: typed.resource_type,
        resource_subtype: typed.resource_subtype,
    })
}

/// Decodes one allocation (EMB-001..003): one instance of a resource allocation setting data
/// class.
pub(crate) fn allocation(what: &str, text: &str) -> Result<Allocation, String> {
    let typed = AllocationSettingData::decode(text).map_err(|e| describe(what, &e))?;
    Ok(Allocation {
        resource_type: typed.resource_type,
        resource_subtype: typed.resource_subtype,
        reservation: typed.reservation,
        limit: typed.limit,
        host_resource: typed.host_resource.map(|list| list.to_vec()),
    })
}

/// The `Error` output parameter of a refusal for an invalid parameter: one `CIM_Error`
/// embedded instance (compact CIM-XML, as DSP0200 carries CIM_Error instances) whose
/// `Message` says what was wrong — for an embedded instance, the codec's own account, naming
/// the element, attribute, property or value and where it was. See spec/embedded-instances.md.
pub(crate) fn error_instance(status: u32, message: &str) -> String {
    let instance = Instance::new("CIM_Error")
        .with_scalar("CIMStatusCode", CimType::Uint32, status.to_string())
        .with_scalar(
            "CIMStatusCodeDescription",
            CimType::String,
            "CIM_ERR_INVALID_PARAMETER",
        )
        .with_scalar("Message", CimType::String, message)
        .with_scalar("OwningEntity", CimType::String, "poolcheck-reference");
    encode(&instance, Encoding::CimXml)
}

/// At most 64 characters of a caller-supplied value, for messages.
pub(crate) fn shorten(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(64).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}
