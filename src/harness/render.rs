//! Rendering: a concrete [`Step`] becomes the [`MethodCall`] an implementation receives —
//! parameters by name, embedded instances as CIM-XML or MOF text, and the step's deliberate
//! wire defects applied.

use crate::codec::{encode, CimType, Encoding, Instance};
use crate::model::operation::{EncodingSel, Malformation};
use crate::model::step::{Allocation, InstanceFault, ParamFault, PoolSettings, StepKind};
use crate::model::Step;
use crate::sut::{Dialect, MethodCall, ObjectPath, Param, ParamKind, ParamValue};

/// The wire form of a step.
pub fn render(step: &Step, dialect: Dialect) -> MethodCall {
    let mut instances = Instances {
        encoding: step.encoding,
        fault: step.instance_fault,
        next: 0,
    };
    let refs = |paths: &Option<Vec<ObjectPath>>| match paths {
        Some(paths) => ParamValue::ReferenceArray(paths.clone()),
        None => ParamValue::Null,
    };
    let text = |value: &Option<String>| match value {
        Some(v) => ParamValue::String(v.clone()),
        None => ParamValue::Null,
    };
    let devices = |list: &[String]| {
        ParamValue::ReferenceArray(list.iter().map(|d| ObjectPath(d.clone())).collect())
    };
    let values: Vec<ParamValue> = match &step.kind {
        StepKind::Create {
            settings,
            element_name,
            parents,
            allocations,
            ..
        } => match (dialect, settings) {
            (Dialect::Msvm, Some(settings)) => vec![
                ParamValue::String(instances.next(pool_settings(settings, dialect))),
                refs(parents),
                instances.allocations(allocations, dialect),
            ],
            _ => vec![
                text(element_name),
                instances.allocations(allocations, dialect),
                refs(parents),
            ],
        },
        StepKind::ChangeParents {
            child,
            parents,
            allocations,
        } => vec![
            ParamValue::Reference(child.clone()),
            refs(parents),
            instances.allocations(allocations, dialect),
        ],
        StepKind::ChangeSettings { child, settings } => vec![
            ParamValue::Reference(child.clone()),
            ParamValue::String(instances.next(pool_settings(settings, dialect))),
        ],
        StepKind::Delete { pool } => vec![ParamValue::Reference(pool.clone())],
        StepKind::CreateRoot {
            resource_type,
            element_name,
            devices: list,
        } => vec![
            text(element_name),
            devices(list),
            ParamValue::String(resource_type.clone()),
        ],
        StepKind::AddResources {
            pool,
            devices: list,
        }
        | StepKind::RemoveResources {
            pool,
            devices: list,
        } => {
            vec![devices(list), ParamValue::Reference(pool.clone())]
        }
    };
    let signature = step.method.input_parameters();
    let mut params: Vec<Param> = signature
        .iter()
        .zip(values)
        .map(|((name, _), value)| Param {
            name: (*name).to_string(),
            value,
        })
        .collect();
    match step.param_fault {
        None => {}
        Some(ParamFault::Missing(idx)) if idx < params.len() => {
            params.remove(idx);
        }
        Some(ParamFault::Missing(_)) => {}
        Some(ParamFault::Duplicate(idx)) => {
            if let Some(p) = params.get(idx).cloned() {
                params.push(p);
            }
        }
        Some(ParamFault::Extra) => params.push(Param {
            name: "Unexpected".into(),
            value: ParamValue::String("poolcheck".into()),
        }),
        Some(ParamFault::WrongKind(idx)) => {
            if let (Some(p), Some((_, kind))) = (params.get_mut(idx), signature.get(idx)) {
                p.value = wrong_kind(*kind);
            }
        }
    }
    MethodCall {
        method: step.method,
        params,
    }
}

/// A value of a kind the parameter does not have.
fn wrong_kind(kind: ParamKind) -> ParamValue {
    match kind {
        ParamKind::String => ParamValue::ReferenceArray(vec![ObjectPath::new("not-a-string")]),
        ParamKind::StringArray => ParamValue::Reference(ObjectPath::new("not-an-array")),
        ParamKind::Reference => ParamValue::StringArray(vec!["not-a-reference".into()]),
        ParamKind::ReferenceArray => ParamValue::String("not-a-reference-array".into()),
    }
}

struct Instances {
    encoding: EncodingSel,
    fault: Option<(usize, InstanceFault)>,
    next: usize,
}

impl Instances {
    fn next(&mut self, instance: Instance) -> String {
        let idx = self.next;
        self.next += 1;
        let fault = self.fault.filter(|(at, _)| *at == idx).map(|(_, f)| f);
        let encoding = match self.encoding {
            EncodingSel::CimXml => Encoding::CimXml,
            EncodingSel::Mof => Encoding::Mof,
        };
        match fault {
            None => encode(&instance, encoding),
            Some(InstanceFault::WrongClass) => {
                let mut other = instance;
                other.class_name = "Msvm_VirtualSystemSettingData".into();
                encode(&other, encoding)
            }
            Some(InstanceFault::BadValue) => {
                let mut bad = instance;
                bad.properties
                    .retain(|p| !p.name.eq_ignore_ascii_case("ResourceType"));
                let bad = bad.with_scalar("ResourceType", CimType::Uint16, "70000");
                encode(&bad, encoding)
            }
            Some(InstanceFault::Malformed(how)) => malformed(&encode(&instance, encoding), how),
        }
    }

    fn allocations(&mut self, allocations: &[Allocation], dialect: Dialect) -> ParamValue {
        ParamValue::StringArray(
            allocations
                .iter()
                .map(|a| self.next(allocation(a, dialect)))
                .collect(),
        )
    }
}

fn malformed(text: &str, how: Malformation) -> String {
    match how {
        Malformation::Truncated => {
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text[..cut].to_string()
        }
        Malformation::Doctype => format!(
            "<?xml version=\"1.0\"?><!DOCTYPE INSTANCE [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{text}"
        ),
        Malformation::WrongRoot => {
            if text.trim_start().starts_with('<') {
                text.replacen("<INSTANCE", "<CLASS", 1)
                    .replacen("</INSTANCE>", "</CLASS>", 1)
            } else {
                text.replacen("instance of", "class", 1)
            }
        }
        Malformation::Garbage => "\u{1}\u{2}not an instance }}{{ <<>>".to_string(),
        Malformation::Empty => String::new(),
    }
}

fn pool_settings(settings: &PoolSettings, dialect: Dialect) -> Instance {
    let class = match dialect {
        Dialect::Msvm => "Msvm_ResourcePoolSettingData",
        Dialect::Cim => "CIM_ResourcePoolSettingData",
    };
    let mut instance = Instance::new(class)
        .with_scalar("PoolID", CimType::String, settings.pool_id.clone())
        .with_scalar(
            "ResourceSubType",
            CimType::String,
            settings.resource_subtype.clone(),
        );
    if let Some(t) = settings.resource_type {
        instance = instance.with_scalar("ResourceType", CimType::Uint16, t.to_string());
    }
    if let Some(name) = &settings.element_name {
        instance = instance.with_scalar("ElementName", CimType::String, name.clone());
    }
    instance
}

fn allocation(a: &Allocation, dialect: Dialect) -> Instance {
    let class = match dialect {
        Dialect::Msvm => "Msvm_ResourceAllocationSettingData",
        Dialect::Cim => "CIM_ResourceAllocationSettingData",
    };
    let mut instance = Instance::new(class)
        .with_scalar("PoolID", CimType::String, a.pool_id.clone())
        .with_scalar(
            "ResourceSubType",
            CimType::String,
            a.resource_subtype.clone(),
        );
    if let Some(t) = a.resource_type {
        instance = instance.with_scalar("ResourceType", CimType::Uint16, t.to_string());
    }
    if let Some(r) = a.reservation {
        instance = instance.with_scalar("Reservation", CimType::Uint64, r.to_string());
    }
    if let Some(l) = a.limit {
        instance = instance.with_scalar("Limit", CimType::Uint64, l.to_string());
    }
    if a.reservation.is_none() {
        instance = instance.with_array("HostResource", CimType::String, a.host_resources.clone());
    }
    instance
}
