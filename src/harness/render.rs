//! Rendering: a concrete [`Step`] becomes the [`MethodCall`] an implementation receives —
//! parameters by name, embedded instances as CIM-XML or MOF text, and the step's deliberate
//! wire defects applied.

use crate::codec::{encode, CimType, Encoding, Instance, Property, PropertyValue, ShapeEncoder};
use crate::model::operation::{EncodingSel, Malformation};
use crate::model::step::{Allocation, InstanceFault, ParamFault, PoolSettings, StepKind};
use crate::model::Step;
use crate::sut::{Dialect, MethodCall, ObjectPath, Param, ParamKind, ParamValue};

/// The wire form of a step.
pub fn render(step: &Step, dialect: Dialect) -> MethodCall {
    render_with(step, dialect, &mut Scratch::default())
}

thread_local! {
    /// The scratch of [`render_reusing`]: one per thread, kept from one sequence to the next.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// [`render`], writing the embedded instances into this thread's scratch (what the lockstep
/// runner does for every step).
pub fn render_reusing(step: &Step, dialect: Dialect) -> MethodCall {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => render_with(step, dialect, &mut scratch),
        Err(_) => render(step, dialect),
    })
}

/// The embedded instances of earlier calls, kept so that the next call's are written into
/// them (only their values change) instead of being built anew: what a runner keeps from one
/// step to the next. The result of [`render_with`] does not depend on it.
#[derive(Debug, Default)]
pub struct Scratch {
    /// By [`ShapeKey`]: the instance of that shape, once one was rendered.
    templates: Vec<Option<Template>>,
}

/// An instance of one shape, and its encoders (made when first needed): only the values of
/// the instance change from one use to the next.
#[derive(Debug)]
struct Template {
    instance: Instance,
    /// Compact CIM-XML, MOF.
    encoders: [Option<ShapeEncoder>; 2],
}

impl Template {
    /// Exactly `encode(&self.instance, encoding)`.
    fn encode(&mut self, encoding: Encoding) -> String {
        let slot = match encoding {
            Encoding::CimXml => 0,
            Encoding::Mof => 1,
            Encoding::WmiDtd20 => return encode(&self.instance, encoding),
        };
        // The encoders are made from this instance, whose values alone change.
        let instance = &self.instance;
        match &mut self.encoders[slot] {
            Some(encoder) => encoder.encode_fitting(instance),
            empty => match ShapeEncoder::new(instance, encoding) {
                Some(encoder) => empty.insert(encoder).encode_fitting(instance),
                None => encode(instance, encoding),
            },
        }
    }
}

/// One property of an instance to build: name, type, whether an array.
type Shape = (&'static str, CimType, bool);

/// Names one shape of embedded instance the renderer builds: which instance (PoolSettings or
/// an allocation), the dialect, and which optional properties it has. Equal keys, equal
/// class and properties.
#[derive(Clone, Copy, Debug)]
struct ShapeKey(usize);

impl ShapeKey {
    /// PoolSettings: 0..8 (dialect and two optional properties).
    fn settings(dialect: Dialect, resource_type: bool, element_name: bool) -> ShapeKey {
        ShapeKey(
            usize::from(dialect == Dialect::Cim)
                | usize::from(resource_type) << 1
                | usize::from(element_name) << 2,
        )
    }

    /// An allocation: 8..24 (dialect and three optional properties; the HostResource array
    /// is there exactly when the Reservation is not).
    fn allocation(dialect: Dialect, resource_type: bool, reservation: bool, limit: bool) -> Self {
        ShapeKey(
            8 + (usize::from(dialect == Dialect::Cim)
                | usize::from(resource_type) << 1
                | usize::from(reservation) << 2
                | usize::from(limit) << 3),
        )
    }
}

impl Scratch {
    /// The instance of shape `key` — of `class`, with these properties in this order (values
    /// left from before).
    fn template(&mut self, key: ShapeKey, class: &str, shape: &[Shape]) -> &mut Template {
        if self.templates.len() <= key.0 {
            self.templates.resize_with(key.0 + 1, || None);
        }
        let template = self.templates[key.0].get_or_insert_with(|| Template {
            instance: Instance {
                class_name: class.to_string(),
                properties: shape
                    .iter()
                    .map(|&(name, cim_type, is_array)| Property {
                        name: name.to_string(),
                        cim_type,
                        is_array,
                        value: PropertyValue::Null,
                    })
                    .collect(),
            },
            encoders: [None, None],
        });
        debug_assert!(
            template.instance.class_name == class
                && template.instance.properties.len() == shape.len()
                && template.instance.properties.iter().zip(shape).all(
                    |(p, &(name, cim_type, is_array))| p.name == name
                        && p.cim_type == cim_type
                        && p.is_array == is_array
                ),
            "one shape key, one shape"
        );
        template
    }
}

/// Set a scalar property's value to `value` (reusing its text's buffer).
fn set_text(property: &mut Property, value: &str) {
    if let PropertyValue::Scalar(text) = &mut property.value {
        text.clear();
        text.push_str(value);
    } else {
        property.value = PropertyValue::Scalar(value.to_string());
    }
}

/// Set a scalar property's value to `value` in decimal, as `to_string` writes it (reusing
/// its text's buffer).
fn set_number(property: &mut Property, value: u64) {
    set_text(property, crate::codec::decimal(value, &mut [0u8; 20]));
}

/// Set an array property's elements (reusing their buffers).
fn set_array(property: &mut Property, values: &[String]) {
    if !matches!(property.value, PropertyValue::Array(_)) {
        property.value = PropertyValue::Array(Vec::with_capacity(values.len()));
    }
    let PropertyValue::Array(items) = &mut property.value else {
        return;
    };
    items.truncate(values.len());
    for (i, value) in values.iter().enumerate() {
        match items.get_mut(i) {
            Some(Some(text)) => {
                text.clear();
                text.push_str(value);
            }
            Some(slot) => *slot = Some(value.clone()),
            None => items.push(Some(value.clone())),
        }
    }
}

/// [`render`], writing the embedded instances into `scratch`'s.
pub fn render_with(step: &Step, dialect: Dialect, scratch: &mut Scratch) -> MethodCall {
    let mut instances = Instances {
        cursor: Cursor {
            encoding: step.encoding,
            fault: step.instance_fault,
            next: 0,
        },
        scratch,
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
                ParamValue::String(instances.pool_settings(settings, dialect)),
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
            ParamValue::String(instances.pool_settings(settings, dialect)),
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

struct Instances<'a> {
    cursor: Cursor,
    scratch: &'a mut Scratch,
}

/// Which embedded instance of the step comes next, and how to write it.
struct Cursor {
    encoding: EncodingSel,
    fault: Option<(usize, InstanceFault)>,
    next: usize,
}

impl Cursor {
    fn next(&mut self, template: &mut Template) -> String {
        let idx = self.next;
        self.next += 1;
        let fault = self.fault.filter(|(at, _)| *at == idx).map(|(_, f)| f);
        let encoding = match self.encoding {
            EncodingSel::CimXml => Encoding::CimXml,
            EncodingSel::Mof => Encoding::Mof,
        };
        let Some(fault) = fault else {
            return template.encode(encoding);
        };
        let instance = &template.instance;
        match fault {
            InstanceFault::WrongClass => {
                let mut other = instance.clone();
                other.class_name = "Msvm_VirtualSystemSettingData".into();
                encode(&other, encoding)
            }
            InstanceFault::BadValue => {
                let mut bad = instance.clone();
                bad.properties
                    .retain(|p| !p.name.eq_ignore_ascii_case("ResourceType"));
                let bad = bad.with_scalar("ResourceType", CimType::Uint16, "70000");
                encode(&bad, encoding)
            }
            InstanceFault::Malformed(how) => malformed(&encode(instance, encoding), how),
        }
    }
}

impl Instances<'_> {
    fn pool_settings(&mut self, settings: &PoolSettings, dialect: Dialect) -> String {
        let template = pool_settings(self.scratch, settings, dialect);
        self.cursor.next(template)
    }

    fn allocations(&mut self, allocations: &[Allocation], dialect: Dialect) -> ParamValue {
        let mut texts = Vec::with_capacity(allocations.len());
        for a in allocations {
            let template = allocation(self.scratch, a, dialect);
            texts.push(self.cursor.next(template));
        }
        ParamValue::StringArray(texts)
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

/// The PoolSettings instance of a step, written into `scratch` (as `Instance::new(class)` and
/// one `with_scalar` per property, in this order, would build it).
fn pool_settings<'a>(
    scratch: &'a mut Scratch,
    settings: &PoolSettings,
    dialect: Dialect,
) -> &'a mut Template {
    let class = match dialect {
        Dialect::Msvm => "Msvm_ResourcePoolSettingData",
        Dialect::Cim => "CIM_ResourcePoolSettingData",
    };
    let mut shape: [Shape; 4] = [("", CimType::String, false); 4];
    shape[0] = ("PoolID", CimType::String, false);
    shape[1] = ("ResourceSubType", CimType::String, false);
    let mut n = 2;
    if settings.resource_type.is_some() {
        shape[n] = ("ResourceType", CimType::Uint16, false);
        n += 1;
    }
    if settings.element_name.is_some() {
        shape[n] = ("ElementName", CimType::String, false);
        n += 1;
    }
    let key = ShapeKey::settings(
        dialect,
        settings.resource_type.is_some(),
        settings.element_name.is_some(),
    );
    let template = scratch.template(key, class, &shape[..n]);
    let mut properties = template.instance.properties.iter_mut();
    let mut next = || properties.next().expect("the shape has this property");
    set_text(next(), &settings.pool_id);
    set_text(next(), &settings.resource_subtype);
    if let Some(t) = settings.resource_type {
        set_number(next(), u64::from(t));
    }
    if let Some(name) = &settings.element_name {
        set_text(next(), name);
    }
    template
}

/// One allocation's RASD, written into `scratch` (as `Instance::new(class)` and one
/// `with_scalar` or `with_array` per property, in this order, would build it).
fn allocation<'a>(scratch: &'a mut Scratch, a: &Allocation, dialect: Dialect) -> &'a mut Template {
    let class = match dialect {
        Dialect::Msvm => "Msvm_ResourceAllocationSettingData",
        Dialect::Cim => "CIM_ResourceAllocationSettingData",
    };
    let mut shape: [Shape; 6] = [("", CimType::String, false); 6];
    shape[0] = ("PoolID", CimType::String, false);
    shape[1] = ("ResourceSubType", CimType::String, false);
    let mut n = 2;
    if a.resource_type.is_some() {
        shape[n] = ("ResourceType", CimType::Uint16, false);
        n += 1;
    }
    if a.reservation.is_some() {
        shape[n] = ("Reservation", CimType::Uint64, false);
        n += 1;
    }
    if a.limit.is_some() {
        shape[n] = ("Limit", CimType::Uint64, false);
        n += 1;
    }
    if a.reservation.is_none() {
        shape[n] = ("HostResource", CimType::String, true);
        n += 1;
    }
    let key = ShapeKey::allocation(
        dialect,
        a.resource_type.is_some(),
        a.reservation.is_some(),
        a.limit.is_some(),
    );
    let template = scratch.template(key, class, &shape[..n]);
    let mut properties = template.instance.properties.iter_mut();
    let mut next = || properties.next().expect("the shape has this property");
    set_text(next(), &a.pool_id);
    set_text(next(), &a.resource_subtype);
    if let Some(t) = a.resource_type {
        set_number(next(), u64::from(t));
    }
    if let Some(r) = a.reservation {
        set_number(next(), r);
    }
    if let Some(l) = a.limit {
        set_number(next(), l);
    }
    if a.reservation.is_none() {
        set_array(next(), &a.host_resources);
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instances as they were built before the scratch: `Instance::new` and `with_*`.
    fn built_settings(settings: &PoolSettings, class: &str) -> Instance {
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

    fn built_allocation(a: &Allocation, class: &str) -> Instance {
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
            instance =
                instance.with_array("HostResource", CimType::String, a.host_resources.clone());
        }
        instance
    }

    /// A template's encoders write what `encode` writes for its instance.
    fn assert_encodes_as_encode(template: &mut Template) {
        for encoding in [Encoding::CimXml, Encoding::Mof] {
            assert_eq!(
                template.encode(encoding),
                encode(&template.instance, encoding)
            );
        }
    }

    #[test]
    fn a_reused_scratch_builds_what_a_fresh_instance_would() {
        let mut scratch = Scratch::default();
        let resources = |n: usize| -> Vec<String> {
            (0..n).map(|i| format!("\\\\HOST\\\\switch-{i}")).collect()
        };
        // Every shape, in an order that grows and shrinks values and arrays.
        for round in 0..3u64 {
            for mask in 0..16u8 {
                for dialect in [Dialect::Msvm, Dialect::Cim] {
                    let a = Allocation {
                        resource_type: (mask & 1 != 0).then_some(4 + round as u16),
                        resource_subtype: format!("Microsoft:Hyper-V:{mask}"),
                        pool_id: if mask & 8 != 0 {
                            String::new()
                        } else {
                            format!("pool-{round}-{mask}")
                        },
                        reservation: (mask & 2 != 0).then_some(1024 * round + u64::from(mask)),
                        limit: (mask & 4 != 0).then_some(u64::MAX - round),
                        host_resources: resources(usize::from(mask) % 4 + round as usize),
                    };
                    let class = match dialect {
                        Dialect::Msvm => "Msvm_ResourceAllocationSettingData",
                        Dialect::Cim => "CIM_ResourceAllocationSettingData",
                    };
                    let template = allocation(&mut scratch, &a, dialect);
                    assert_eq!(&template.instance, &built_allocation(&a, class));
                    assert_encodes_as_encode(template);
                    let settings = PoolSettings {
                        resource_type: a.resource_type,
                        resource_subtype: a.resource_subtype.clone(),
                        pool_id: a.pool_id.clone(),
                        element_name: (mask & 2 != 0).then(|| format!("name {round}")),
                    };
                    let class = match dialect {
                        Dialect::Msvm => "Msvm_ResourcePoolSettingData",
                        Dialect::Cim => "CIM_ResourcePoolSettingData",
                    };
                    let template = pool_settings(&mut scratch, &settings, dialect);
                    assert_eq!(&template.instance, &built_settings(&settings, class));
                    assert_encodes_as_encode(template);
                }
            }
        }
    }
}
