//! Interop of the embedded-instance codec with pywbem, a widely used Python WBEM client.
//!
//! Two directions:
//!
//! * **pywbem writes, poolcheck reads.** `scripts/pywbem_vectors.py generate` had pywbem
//!   serialize instances (compact and indented CIM-XML, MOF) into `tests/data/pywbem/`, with
//!   the values it was given in `expected.json`. These vectors are checked in and always
//!   checked: every one must decode to the expected class, types and values, and read through
//!   the typed views the same way in every encoding.
//! * **poolcheck writes, pywbem reads.** Generated instances (and the vectors, decoded) are
//!   written by poolcheck in all three encodings and handed to pywbem's own CIM-XML parser
//!   and MOF compiler (`scripts/pywbem_vectors.py parse`), which must read back the same
//!   instance. This needs `python3` with pywbem importable; without it the test prints a
//!   `SKIPPED: pywbem not importable (...)` line and checks only the Rust side (that the
//!   same instances round-trip through poolcheck's own decoder).
//!
//! Values are compared as values, not text: integers as numbers (pywbem and poolcheck both
//! accept `0x1F` and `+5`), booleans ignoring case, reals as `f32`/`f64` (NaN equal to NaN).
//! pywbem's own limitations are worked around where they apply, each with its reason (see
//! the script's documentation and [`pywbem_mof_limitation`]): no NULL elements in arrays of
//! non-string types go to pywbem, nor MOF it cannot compile (an instance without properties;
//! `-INF`; `INF` or `NaN` in an array).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use poolcheck::codec::{
    decode, encode, mof_normal_form, try_encode, AllocationSettingData, CimType, Encoding,
    Instance, PoolSettingData, Property, PropertyValue, StringList,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use serde::Deserialize;

// ------------------------------------------------------------------------------------------
// The expected values, as pywbem_vectors.py writes them

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
enum ExpectedValue {
    Scalar(String),
    Array(Vec<Option<String>>),
}

#[derive(Clone, Debug, Deserialize)]
struct ExpectedProperty {
    name: String,
    #[serde(rename = "type")]
    cim_type: String,
    is_array: bool,
    value: Option<ExpectedValue>,
    #[serde(default)]
    mof_value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    files: Vec<String>,
    class: String,
    properties: Vec<ExpectedProperty>,
    pywbem_reads_back: bool,
}

#[derive(Debug, Deserialize)]
struct Expected {
    pywbem_version: String,
    vectors: Vec<Vector>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pywbem")
}

fn expected() -> Expected {
    let path = data_dir().join("expected.json");
    let text = std::fs::read_to_string(&path).expect("tests/data/pywbem/expected.json reads");
    serde_json::from_str(&text).expect("expected.json parses")
}

fn read_vector_file(name: &str) -> String {
    std::fs::read_to_string(data_dir().join(name)).expect("vector file reads")
}

// ------------------------------------------------------------------------------------------
// Comparing values as values

/// An integer's value from the text forms both sides accept: `[+-]digits` or `[+-]0x hex`.
fn integer(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = match rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => rest.parse::<i128>().ok()?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn real(text: &str) -> Option<f64> {
    let t = text.trim();
    match t.to_ascii_uppercase().as_str() {
        "INF" | "+INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        "NAN" => Some(f64::NAN),
        _ => t.parse::<f64>().ok(),
    }
}

fn same_real(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (a.is_nan() && b.is_nan()),
        _ => false,
    }
}

/// Whether two value texts of `cim_type` denote the same value.
fn same_value(cim_type: CimType, ours: &str, theirs: &str) -> bool {
    match cim_type {
        t if t.is_integer() => integer(ours).is_some() && integer(ours) == integer(theirs),
        CimType::Boolean => ours.trim().eq_ignore_ascii_case(theirs.trim()),
        CimType::Real32 => same_real(
            real(ours).map(|v| f64::from(v as f32)),
            real(theirs).map(|v| f64::from(v as f32)),
        ),
        CimType::Real64 => same_real(real(ours), real(theirs)),
        _ => ours == theirs,
    }
}

/// The differences between a decoded instance and a description of it (name, type, whether
/// an array, value). Names and types must match exactly; values as values.
fn differences(
    instance: &Instance,
    class: &str,
    properties: &[(String, CimType, bool, Option<ExpectedValue>)],
) -> Vec<String> {
    let mut out = Vec::new();
    if instance.class_name != class {
        out.push(format!(
            "class {:?}, expected {class:?}",
            instance.class_name
        ));
    }
    let names: Vec<&str> = instance
        .properties
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let expected_names: Vec<&str> = properties.iter().map(|p| p.0.as_str()).collect();
    if names != expected_names {
        out.push(format!("properties {names:?}, expected {expected_names:?}"));
        return out;
    }
    for (p, (name, cim_type, is_array, value)) in instance.properties.iter().zip(properties) {
        if p.cim_type != *cim_type || p.is_array != *is_array {
            out.push(format!(
                "{name}: type {}, expected {cim_type}{}",
                p.shape(),
                if *is_array { "[]" } else { "" }
            ));
            continue;
        }
        let ok = match (&p.value, value) {
            (PropertyValue::Null, None) => true,
            (
                PropertyValue::Scalar(t) | PropertyValue::Reference(t),
                Some(ExpectedValue::Scalar(e)),
            ) => same_value(p.cim_type, t, e),
            (PropertyValue::Array(items), Some(ExpectedValue::Array(e))) => {
                items.len() == e.len()
                    && items.iter().zip(e).all(|(a, b)| match (a, b) {
                        (None, None) => true,
                        (Some(a), Some(b)) => same_value(p.cim_type, a, b),
                        _ => false,
                    })
            }
            _ => false,
        };
        if !ok {
            out.push(format!("{name}: value {:?}, expected {value:?}", p.value));
        }
    }
    out
}

fn cim_type(name: &str) -> CimType {
    CimType::from_name(name).unwrap_or_else(|| panic!("unknown CIM type {name:?}"))
}

/// The description of a vector as CIM-XML carries it: declared types, values as given.
fn as_xml(vector: &Vector) -> Vec<(String, CimType, bool, Option<ExpectedValue>)> {
    vector
        .properties
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                cim_type(&p.cim_type),
                p.is_array,
                p.value.clone(),
            )
        })
        .collect()
}

/// The description of a vector as MOF carries it: MOF instance text holds no types, so
/// poolcheck types each property by its literal (src/codec/mof.rs): strings, datetimes and
/// references are strings (a reference holds the URI pywbem wrote), integers `uint64`, or
/// `sint64` when one is negative, reals `real64`, a NULL scalar or array a NULL `string`,
/// an empty or all-NULL array `string[]`.
fn as_mof(vector: &Vector) -> Vec<(String, CimType, bool, Option<ExpectedValue>)> {
    vector
        .properties
        .iter()
        .map(|p| {
            let declared = cim_type(&p.cim_type);
            let value = match (&p.mof_value, &p.value) {
                (Some(uri), _) => Some(ExpectedValue::Scalar(uri.clone())),
                (None, v) => v.clone(),
            };
            let negative = |t: &str| integer(t).is_some_and(|v| v < 0);
            let texts: Vec<&str> = match &value {
                Some(ExpectedValue::Scalar(t)) => vec![t.as_str()],
                Some(ExpectedValue::Array(items)) => {
                    items.iter().flatten().map(String::as_str).collect()
                }
                None => vec![],
            };
            let mof_type = match declared {
                _ if value.is_none() || texts.is_empty() => CimType::String,
                CimType::Datetime | CimType::Reference | CimType::String => CimType::String,
                CimType::Real32 | CimType::Real64 => CimType::Real64,
                t if t.is_integer() && texts.iter().any(|t| negative(t)) => CimType::Sint64,
                t if t.is_integer() => CimType::Uint64,
                t => t,
            };
            let is_array = p.is_array && value.is_some();
            (p.name.clone(), mof_type, is_array, value)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// pywbem writes, poolcheck reads (always checked)

#[test]
fn the_vectors_are_all_there() {
    let expected = expected();
    assert!(
        expected.pywbem_version.starts_with('1'),
        "{}",
        expected.pywbem_version
    );
    assert!(expected.vectors.len() >= 10);
    for vector in &expected.vectors {
        assert_eq!(vector.files.len(), 3, "{}", vector.name);
        for file in &vector.files {
            assert!(data_dir().join(file).is_file(), "{file} is missing");
        }
    }
}

#[test]
fn every_pywbem_vector_decodes_to_the_expected_values() {
    let mut checked = 0;
    for vector in expected().vectors {
        for file in &vector.files {
            let text = read_vector_file(file);
            let instance = decode(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            let description = if file.ends_with(".mof") {
                as_mof(&vector)
            } else {
                as_xml(&vector)
            };
            let diffs = differences(&instance, &vector.class, &description);
            assert!(diffs.is_empty(), "{file}:\n  {}", diffs.join("\n  "));
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} files checked");
}

#[test]
fn pywbem_vectors_read_the_same_through_the_typed_views_in_every_encoding() {
    type Known = (
        Option<String>,
        Option<String>,
        Option<u16>,
        Option<String>,
        Option<StringList>,
        Option<u64>,
        Option<u64>,
        Option<u32>,
    );
    let mut read = 0;
    for vector in expected().vectors {
        let mut seen: Vec<(String, Known)> = Vec::new();
        for file in &vector.files {
            let instance = decode(&read_vector_file(file)).expect("decodes");
            if let Ok(v) = AllocationSettingData::from_instance(&instance) {
                let known = (
                    v.pool_id,
                    v.element_name,
                    v.resource_type,
                    v.resource_subtype,
                    v.host_resource,
                    v.reservation,
                    v.limit,
                    v.weight,
                );
                seen.push((file.clone(), known));
            } else if let Ok(v) = PoolSettingData::from_instance(&instance) {
                let known = (
                    v.pool_id,
                    v.element_name,
                    v.resource_type,
                    v.resource_subtype,
                    None,
                    None,
                    None,
                    None,
                );
                seen.push((file.clone(), known));
            }
        }
        if let Some((first_file, first)) = seen.first() {
            assert_eq!(
                seen.len(),
                3,
                "{}: a view reads only some encodings",
                vector.name
            );
            for (file, known) in &seen {
                assert_eq!(known, first, "{file} and {first_file} read differently");
            }
            read += 1;
        }
    }
    // rpsd_minimal, rpsd_wmi, cim_rpsd, rasd_ethernet, rasd_memory, sasd_storage,
    // rasd_client_1k, rasd_large; not cim_rasd, whose HostResource holds a NULL element.
    assert_eq!(read, 8);
    for file in ["cim_rasd.xml", "cim_rasd.mof"] {
        let instance = decode(&read_vector_file(file)).expect("decodes");
        let error = AllocationSettingData::from_instance(&instance).unwrap_err();
        assert!(
            error.to_string().contains("HostResource") && error.to_string().contains("NULL"),
            "{file}: {error}"
        );
    }
}

#[test]
fn the_pool_settings_vectors_hold_what_create_pool_needs() {
    let instance = decode(&read_vector_file("rpsd_wmi.xml")).expect("decodes");
    let view = PoolSettingData::from_instance(&instance).expect("a pool setting data");
    assert_eq!(view.pool_id.as_deref(), Some("Pool-A"));
    assert_eq!(view.resource_type, Some(33));
    assert_eq!(
        view.notes.as_deref(),
        Some("tenant <blue> & 'co' \"quoted\" ]]> end")
    );
    let instance = decode(&read_vector_file("rasd_ethernet.mof")).expect("decodes");
    let view = AllocationSettingData::from_instance(&instance).expect("an allocation");
    assert_eq!(view.limit, Some(u64::MAX));
    assert_eq!(view.host_resource.map(|h| h.len()), Some(1));
}

// ------------------------------------------------------------------------------------------
// poolcheck writes, pywbem reads

/// MOF keywords (DSP0004), which pywbem's MOF compiler does not take as names.
const MOF_KEYWORDS: &[&str] = &[
    "any",
    "as",
    "association",
    "boolean",
    "char16",
    "class",
    "datetime",
    "disableoverride",
    "enableoverride",
    "false",
    "flavor",
    "include",
    "indication",
    "instance",
    "method",
    "null",
    "of",
    "parameter",
    "pragma",
    "property",
    "qualifier",
    "real32",
    "real64",
    "ref",
    "reference",
    "restricted",
    "schema",
    "scope",
    "sint16",
    "sint32",
    "sint64",
    "sint8",
    "string",
    "toinstance",
    "tosubclass",
    "translatable",
    "true",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "enumeration",
    "structure",
    "interface",
    "object",
    "void",
    "in",
    "out",
];

fn name() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9_]{0,10}".prop_filter("not a MOF keyword", |n| {
        !MOF_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(n))
    })
}

/// Text XML 1.0 can carry, with the characters that need escaping in either encoding.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,16}",
        "[<>&\"'\\\\;{}\\[\\]\t\n\r a-z]{0,10}",
        "[a-z\u{A0}-\u{2FF}\u{4E00}-\u{4E20}\u{1F600}-\u{1F610}]{0,8}",
    ]
}

fn value_of(cim_type: CimType) -> BoxedStrategy<String> {
    match cim_type {
        CimType::String => text().boxed(),
        CimType::Boolean => prop_oneof![
            Just("TRUE".to_string()),
            Just("FALSE".to_string()),
            Just("true".to_string()),
            Just("False".to_string())
        ]
        .boxed(),
        CimType::Char16 => "[ -~\u{A0}-\u{D7FF}\u{E000}-\u{FFFD}]".boxed(),
        CimType::Datetime => prop_oneof![
            (1u32..10000, 1u32..13, 1u32..29, 0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000, prop::bool::ANY, 0u32..721)
                .prop_map(|(y, mo, d, h, mi, s, us, plus, utc)| format!(
                    "{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}.{us:06}{}{utc:03}",
                    if plus { '+' } else { '-' }
                )),
            (0u32..100_000_000, 0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000)
                .prop_map(|(d, h, mi, s, us)| format!("{d:08}{h:02}{mi:02}{s:02}.{us:06}:000")),
        ]
        .boxed(),
        CimType::Real32 => prop_oneof![
            4 => any::<f32>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
            1 => prop_oneof![Just("INF".to_string()), Just("-INF".to_string()), Just("NaN".to_string())],
        ]
        .boxed(),
        CimType::Real64 => prop_oneof![
            4 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
            1 => prop_oneof![Just("INF".to_string()), Just("-INF".to_string()), Just("NaN".to_string())],
        ]
        .boxed(),
        CimType::Reference => reference().boxed(),
        t => {
            let (min, max): (i128, i128) = match t {
                CimType::Uint8 => (0, u8::MAX.into()),
                CimType::Sint8 => (i8::MIN.into(), i8::MAX.into()),
                CimType::Uint16 => (0, u16::MAX.into()),
                CimType::Sint16 => (i16::MIN.into(), i16::MAX.into()),
                CimType::Uint32 => (0, u32::MAX.into()),
                CimType::Sint32 => (i32::MIN.into(), i32::MAX.into()),
                CimType::Uint64 => (0, u64::MAX.into()),
                _ => (i64::MIN.into(), i64::MAX.into()),
            };
            let edges = prop_oneof![Just(min), Just(max), Just(0i128)];
            let any_in_range = (0u128..=(max - min) as u128).prop_map(move |o| min + o as i128);
            (prop_oneof![edges, any_in_range], 0..3u8)
                .prop_map(|(v, form)| match form {
                    1 if v >= 0 => format!("0x{v:X}"),
                    2 if v >= 0 => format!("+{v}"),
                    _ => v.to_string(),
                })
                .boxed()
        }
    }
}

/// An object path in poolcheck's canonical text, in the forms pywbem renders back the same
/// way: string keys quoted, booleans upper case, integers in decimal.
fn reference() -> impl Strategy<Value = String> {
    let quoted = text().prop_map(|s| {
        let escaped: String = s
            .chars()
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    });
    let key_value = prop_oneof![
        quoted,
        prop_oneof![Just("TRUE".to_string()), Just("FALSE".to_string())],
        any::<i64>().prop_map(|v| v.to_string()),
    ];
    let keys = prop_oneof![
        Just(String::new()),
        Just("=@".to_string()),
        key_value.clone().prop_map(|v| format!("={v}")),
        prop::collection::vec((name(), key_value), 1..4).prop_map(|bindings| {
            let mut seen = std::collections::HashSet::new();
            let parts: Vec<String> = bindings
                .into_iter()
                .filter(|(k, _)| seen.insert(k.to_lowercase()))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(".{}", parts.join(","))
        }),
    ];
    let prefix = prop_oneof![
        Just(String::new()),
        prop::collection::vec(name(), 1..4).prop_map(|ns| format!("/{}:", ns.join("/"))),
        (
            "[a-z][a-z0-9.-]{0,10}(:[0-9]{1,4})?",
            prop::collection::vec(name(), 1..3)
        )
            .prop_map(|(host, ns)| format!("//{host}/{}:", ns.join("/"))),
    ];
    (prefix, name(), keys).prop_map(|(prefix, class, keys)| format!("{prefix}{class}{keys}"))
}

fn property() -> impl Strategy<Value = Property> {
    (
        name(),
        prop::sample::select(CimType::ALL.to_vec()),
        prop::bool::ANY,
        0..8u8,
    )
        .prop_flat_map(|(name, cim_type, is_array, roll)| {
            let is_array = is_array && cim_type != CimType::Reference;
            if roll == 0 {
                return Just(Property {
                    name,
                    cim_type,
                    is_array,
                    value: PropertyValue::Null,
                })
                .boxed();
            }
            if !is_array {
                return value_of(cim_type)
                    .prop_map(move |v| Property {
                        name: name.clone(),
                        cim_type,
                        is_array: false,
                        value: if cim_type == CimType::Reference {
                            PropertyValue::Reference(v)
                        } else {
                            PropertyValue::Scalar(v)
                        },
                    })
                    .boxed();
            }
            // pywbem cannot read VALUE.NULL in arrays of other types than string.
            let element = if cim_type == CimType::String {
                prop::option::weighted(0.8, value_of(cim_type)).boxed()
            } else {
                value_of(cim_type).prop_map(Some).boxed()
            };
            prop::collection::vec(element, 0..5)
                .prop_map(move |items| Property {
                    name: name.clone(),
                    cim_type,
                    is_array: true,
                    value: PropertyValue::Array(items),
                })
                .boxed()
        })
}

fn instance() -> impl Strategy<Value = Instance> {
    (name(), prop::collection::vec(property(), 0..10)).prop_map(|(class_name, properties)| {
        let mut seen = std::collections::HashSet::new();
        Instance {
            class_name,
            properties: properties
                .into_iter()
                .filter(|p| seen.insert(p.name.to_lowercase()))
                .collect(),
        }
    })
}

/// `n` instances from a fixed seed: the same every run.
fn generated(n: usize) -> Vec<Instance> {
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]),
    );
    let strategy = instance();
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the strategy generates")
                .current()
        })
        .collect()
}

/// Why pywbem's MOF compiler (1.9.1) cannot read `instance`'s MOF, or `None`. Neither is a
/// fault of the text poolcheck writes that pywbem's own `tomof()` avoids:
///
/// * DSP0004's grammar wants at least one property in `instance of C { ... };`, and
///   there is no MOF for an instance without properties (poolcheck writes `{ };`, which
///   it reads back; pywbem refuses it);
/// * MOF has no literal for infinities and NaN; poolcheck (like pywbem's `tomof()`) writes
///   `INF`, `-INF` and `NaN`, and pywbem's compiler accepts only `INF` and `NaN`, and only
///   as scalars.
fn pywbem_mof_limitation(instance: &Instance) -> Option<&'static str> {
    let special = |t: &str| {
        let t = t.trim();
        t.eq_ignore_ascii_case("INF") || t.eq_ignore_ascii_case("NaN")
    };
    if instance.properties.is_empty() {
        return Some("an instance without properties");
    }
    for p in instance.properties.iter().filter(|p| p.cim_type.is_real()) {
        match &p.value {
            PropertyValue::Scalar(t) if t.trim() == "-INF" => return Some("-INF"),
            PropertyValue::Array(items)
                if items
                    .iter()
                    .flatten()
                    .any(|t| special(t) || t.trim() == "-INF") =>
            {
                return Some("INF or NaN in an array")
            }
            _ => {}
        }
    }
    None
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pywbem_vectors.py")
}

/// Why pywbem cannot be used, or `None` when it can.
fn pywbem_unavailable() -> Option<String> {
    match Command::new("python3")
        .arg(script())
        .arg("version")
        .output()
    {
        Err(e) => Some(format!("python3 could not be started: {e}")),
        Ok(out) if !out.status.success() => Some(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .trim_start_matches("pywbem not importable: ")
                .to_string(),
        ),
        Ok(_) => None,
    }
}

#[derive(Debug, Deserialize)]
struct ParseResult {
    id: String,
    ok: bool,
    #[serde(default)]
    class: String,
    #[serde(default)]
    properties: Vec<ExpectedProperty>,
    #[serde(default)]
    error: String,
}

/// Runs `pywbem_vectors.py parse` over the requests; results by id.
fn pywbem_parse(requests: &[serde_json::Value]) -> BTreeMap<String, ParseResult> {
    let mut child = Command::new("python3")
        .arg(script())
        .arg("parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let input = serde_json::to_vec(requests).expect("requests serialize");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("requests written");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "pywbem_vectors.py parse failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<ParseResult> =
        serde_json::from_slice(&out.stdout).expect("pywbem results parse");
    results.into_iter().map(|r| (r.id.clone(), r)).collect()
}

fn declared(instance: &Instance) -> serde_json::Value {
    instance
        .properties
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "type": p.cim_type.name(),
                "is_array": p.is_array,
            })
        })
        .collect()
}

/// How pywbem must describe `instance` after reading `encoding`: through CIM-XML the
/// instance itself; through MOF the declared types (pywbem's compiler types literals by the
/// class declaration), with references as the strings poolcheck's MOF writes.
fn description_for_pywbem(
    instance: &Instance,
) -> Vec<(String, CimType, bool, Option<ExpectedValue>)> {
    instance
        .properties
        .iter()
        .map(|p| {
            let value = match &p.value {
                PropertyValue::Null => None,
                PropertyValue::Scalar(t) | PropertyValue::Reference(t) => {
                    Some(ExpectedValue::Scalar(t.clone()))
                }
                PropertyValue::Array(items) => Some(ExpectedValue::Array(items.clone())),
            };
            (p.name.clone(), p.cim_type, p.is_array, value)
        })
        .collect()
}

/// pywbem's result as an instance-shaped description, for `differences`.
fn pywbem_instance(result: &ParseResult) -> Instance {
    Instance {
        class_name: result.class.clone(),
        properties: result
            .properties
            .iter()
            .map(|p| {
                let t = cim_type(&p.cim_type);
                Property {
                    name: p.name.clone(),
                    cim_type: t,
                    is_array: p.is_array,
                    value: match &p.value {
                        None => PropertyValue::Null,
                        Some(ExpectedValue::Scalar(s)) if t == CimType::Reference => {
                            PropertyValue::Reference(s.clone())
                        }
                        Some(ExpectedValue::Scalar(s)) => PropertyValue::Scalar(s.clone()),
                        Some(ExpectedValue::Array(items)) => PropertyValue::Array(items.clone()),
                    },
                }
            })
            .collect(),
    }
}

#[test]
fn pywbem_reads_back_what_poolcheck_writes() {
    let mut instances: Vec<(String, Instance)> = Vec::new();
    for vector in expected().vectors {
        // pywbem cannot read what poolcheck (or pywbem) writes for the VALUE.NULL elements of
        // all_types' non-string arrays; its other vectors go round.
        if vector.pywbem_reads_back {
            let file = format!("{}.xml", vector.name);
            instances.push((
                file.clone(),
                decode(&read_vector_file(&file)).expect("decodes"),
            ));
        }
    }
    for (i, instance) in generated(300).into_iter().enumerate() {
        instances.push((format!("generated #{i}"), instance));
    }

    // The Rust side, always: the instances are valid and round-trip through poolcheck.
    for (label, instance) in &instances {
        assert_eq!(instance.validate(), Ok(()), "{label}");
        for encoding in [Encoding::CimXml, Encoding::WmiDtd20] {
            let text = try_encode(instance, encoding).expect("encodable");
            assert_eq!(
                decode(&text).as_ref(),
                Ok(instance),
                "{label} via {encoding:?}"
            );
        }
        let mof = encode(instance, Encoding::Mof);
        assert_eq!(
            decode(&mof),
            Ok(mof_normal_form(instance)),
            "{label} via MOF"
        );
    }

    if let Some(why) = pywbem_unavailable() {
        println!(
            "SKIPPED: pywbem not importable ({why}); poolcheck's output was not read back by \
             pywbem, only by poolcheck. Install it with `python3 -m pip install pywbem`."
        );
        return;
    }

    let mut requests = Vec::new();
    let mut not_sent: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, (_, instance)) in instances.iter().enumerate() {
        for encoding in Encoding::ALL {
            if encoding == Encoding::Mof {
                if let Some(why) = pywbem_mof_limitation(instance) {
                    *not_sent.entry(why).or_default() += 1;
                    continue;
                }
            }
            requests.push(serde_json::json!({
                "id": format!("{index}/{encoding:?}"),
                "encoding": if encoding == Encoding::Mof { "mof" } else { "xml" },
                "text": encode(instance, encoding),
                "declared": declared(instance),
            }));
        }
    }
    let results = pywbem_parse(&requests);
    assert_eq!(results.len(), requests.len(), "one result per request");
    let mut failures = Vec::new();
    for (index, (label, instance)) in instances.iter().enumerate() {
        for encoding in Encoding::ALL {
            let Some(result) = results.get(&format!("{index}/{encoding:?}")) else {
                continue;
            };
            let text = encode(instance, encoding);
            if !result.ok {
                failures.push(format!(
                    "{label} as {encoding:?}: pywbem refused it: {}\n{text}",
                    result.error
                ));
                continue;
            }
            let mof = encoding == Encoding::Mof;
            let mut description = description_for_pywbem(instance);
            if mof {
                for (_, t, _, _) in &mut description {
                    if *t == CimType::Reference {
                        *t = CimType::String;
                    }
                }
            }
            let theirs = pywbem_instance(result);
            let diffs = differences(&theirs, &instance.class_name, &description);
            if !diffs.is_empty() {
                failures.push(format!(
                    "{label} as {encoding:?}: pywbem read it differently:\n  {}\n{text}",
                    diffs.join("\n  ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} texts were not read back by pywbem as written:\n\n{}",
        failures.len(),
        requests.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    println!(
        "pywbem {} read back all {} texts poolcheck wrote for {} instances in 3 encodings \
         (MOF texts not sent, for pywbem's limitations: {not_sent:?})",
        expected().pywbem_version,
        requests.len(),
        instances.len(),
    );
}
