//! The embedded-instance codec: strings that hold one whole CIM instance, in and out.
//!
//! Resource-pool methods take their settings as *embedded instances*: a string holding one
//! CIM instance, either as a CIM-XML `INSTANCE` element (DSP0201; what WMI's
//! `GetText(1)`/CimDtd20 and `GetText(2)`/WmiDtd20 produce) or as MOF instance text
//! (`instance of Msvm_ResourcePoolSettingData { PoolID = "P1"; ResourceType = 4; };`).
//! This module turns such strings into an [`Instance`] (class name plus typed properties) and
//! back, and offers typed views of the two setting-data classes the pool methods take
//! ([`PoolSettingData`], [`AllocationSettingData`]).
//!
//! # What it refuses to know
//!
//! The codec knows CIM's type system and the two text encodings, nothing else. It knows
//! nothing about pools, allocation rules, the model, the harness or any implementation under
//! test; the typed views know property names and CIM types of two classes, not what values
//! mean. Whether a `ResourceType` is supported or a `PoolID` exists is for others to decide.
//!
//! # Decoding
//!
//! [`decode`] picks the encoding from the first character that is not whitespace or a
//! byte-order mark: `<` means CIM-XML, anything else MOF. Decoding is hardened for hostile
//! input: the length is checked against [`Limits::max_bytes`] before anything else, and
//! nesting depth, property count, array length and value size are checked while reading, so
//! memory stays within a small multiple of the input. DTDs are refused outright (no entity
//! is ever declared or expanded, no external resource is ever touched). No input makes the
//! codec panic; every problem is a [`CodecError`] that names what was wrong and where.
//!
//! Values are kept as text: strings verbatim (never trimmed), other types trimmed of XML
//! whitespace and checked against the declared type: integers in range (decimal or `0x`
//! hexadecimal, as DSP0201 allows), booleans `TRUE`/`FALSE` in any case, reals in decimal
//! form or `INF`/`-INF`/`NaN` and in range, char16 exactly one BMP character, datetimes in the
//! 25-character timestamp or interval form. Property names are unique ignoring case.
//!
//! # References
//!
//! A `PROPERTY.REFERENCE` is held as a [`PropertyValue::Reference`] whose text is an object
//! path in the untyped WBEM-URI style of DSP0207, one form per DSP0201 element:
//!
//! | CIM-XML inside `VALUE.REFERENCE`        | text                                 |
//! |-----------------------------------------|--------------------------------------|
//! | `INSTANCEPATH` (`NAMESPACEPATH` + name) | `//host/ns1/ns2:Class.Key="v",N=5`   |
//! | `LOCALINSTANCEPATH`                     | `/ns1/ns2:Class.Key="v"`             |
//! | `INSTANCENAME` with `KEYBINDING`s       | `Class.Key="v",Flag=TRUE`            |
//! | `INSTANCENAME` with one bare `KEYVALUE` | `Class="v"`                          |
//! | `INSTANCENAME` with no keys (singleton) | `Class=@` (the WMI spelling)         |
//! | `CLASSPATH` / `LOCALCLASSPATH`          | `//host/ns:Class` / `/ns:Class`      |
//! | `CLASSNAME`                             | `Class`                              |
//!
//! String key values are quoted with `\` and `"` escaped by a backslash; boolean and numeric
//! key values are bare, as their (trimmed) text appeared. A key whose value is itself a
//! reference is rendered as a quoted string holding the nested path (and written back as a
//! string `KEYVALUE`). The rendering is canonical: a reference value is valid when it parses
//! under this grammar and renders back to the same text; encoding parses it to write the
//! elements again. A non-canonical reference is written as character data inside
//! `VALUE.REFERENCE`, which decoding refuses. Reference arrays and embedded object
//! properties (WMI's `PROPERTY.OBJECT`) are not supported.
//!
//! # Control characters
//!
//! XML 1.0 cannot carry most C0 control characters (U+0001–U+0008, U+000B, U+000C,
//! U+000E–U+001F) nor U+FFFE/U+FFFF, not even as character references. Decoding CIM-XML
//! refuses them (raw or as `&#x1;`) with [`CodecError::Xml`]. Encoding to CIM-XML writes
//! them as character references — never raw — so the output stays well-formed up to that
//! one reference, and decoding it fails instead of silently changing the string;
//! [`try_encode`] refuses such an instance up front. CR is always written as `&#xD;` (XML
//! would otherwise turn it into LF), tab and LF raw in text and as references in attributes,
//! DEL and C1 controls as references. MOF carries every character: controls are written as
//! `\n`, `\t`, `\r` or `\xNNNN`.
//!
//! # Round trips
//!
//! * CIM-XML: `decode(&encode(&i, Encoding::CimXml)) == Ok(i)` for every `i` for which
//!   [`Instance::validate`] succeeds and whose text holds only characters XML 1.0 can carry;
//!   the same holds for [`Encoding::WmiDtd20`], whose qualifiers and extra attributes
//!   decoding skips.
//! * MOF: MOF instance text does not carry CIM types, so decoding types properties by the
//!   form of their literals (string → `string`, `'c'` → `char16`, integer → `uint64`, or
//!   `sint64` when negative, real → `real64`, `TRUE`/`FALSE` → `boolean`, `NULL` → a `string`
//!   scalar NULL, arrays by their elements, empty arrays `string[]`); datetimes and
//!   references become strings. The round trip is the identity *up to that typing*:
//!   `decode(&encode(&i, Encoding::Mof)) == Ok(mof_normal_form(&i))` for every valid `i`.
//!   [`mof_normal_form`] also canonicalises integer text (`0x1F` → `31`), boolean case and
//!   reals without a decimal point (`5` → `5.0`).
//!
//! [`encode`] never fails. It escapes every name and value so that no value can change the
//! structure of the output. If the instance is not valid, the output either decodes to
//! something else or (usually) fails to decode: invalid CIM-XML values stay as text that
//! decoding refuses, and in MOF invalid names and values are written as `$invalid("...")`,
//! which is not MOF.

mod error;
pub mod fuzz;
mod instance;
mod lexical;
mod mof;
mod path;
mod string_list;
mod typed;
mod xml;
mod xml_compact;
mod xml_fast;

pub use error::{CodecError, Position, MAX_CONTEXT_CHARS, MAX_QUOTED_CHARS};
pub use instance::{
    BorrowedInstance, BorrowedProperty, BorrowedValue, CimType, Instance, Property, PropertyValue,
};
pub use mof::mof_normal_form;
pub use string_list::{Iter as StringListIter, StringList};
pub use typed::{AllocationSettingData, PoolSettingData};
pub use xml::event_reader;

pub(crate) use lexical::decimal;

use serde::{Deserialize, Serialize};

/// The text encodings of an embedded instance: two CIM-XML shapes and MOF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Encoding {
    /// A compact DSP0201 `INSTANCE` element, as WMI's `GetText(1)` (CimDtd20) writes it.
    CimXml,
    /// The same `INSTANCE` element with what WMI's `GetText(2)` (WmiDtd20) adds: an instance
    /// qualifier, `CLASSORIGIN`/`PROPAGATED` attributes and a `CIMTYPE` qualifier on every
    /// property, `REFERENCECLASS` on references. Decodes to the same instance as [`CimXml`](Encoding::CimXml).
    WmiDtd20,
    /// MOF instance text (`instance of Class { ... };`).
    Mof,
}

impl Encoding {
    /// Every encoding, in a fixed order.
    pub const ALL: [Encoding; 3] = [Encoding::CimXml, Encoding::WmiDtd20, Encoding::Mof];

    /// Whether the encoding is CIM-XML (either shape).
    pub fn is_xml(self) -> bool {
        matches!(self, Encoding::CimXml | Encoding::WmiDtd20)
    }
}

/// Bounds on what decoding will accept. All are enforced while reading.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Longest accepted text, in bytes (checked first).
    pub max_bytes: usize,
    /// Deepest element nesting (CIM-XML; `INSTANCE` is depth 1) or bracket nesting (MOF; the
    /// instance body is depth 1, an array 2).
    pub max_depth: usize,
    /// Most properties in the instance (also: most key bindings in one object path).
    pub max_properties: usize,
    /// Most elements in one array (property or qualifier; also namespace components).
    pub max_array_len: usize,
    /// Longest single value (string, element of an array, key value), in bytes after
    /// unescaping.
    pub max_value_bytes: usize,
}

impl Default for Limits {
    /// 64 KiB, depth 16, 256 properties, 1024 array elements, 16 KiB per value.
    ///
    /// Depth 16 admits a reference whose key is itself a full instance path (`INSTANCE` >
    /// `PROPERTY.REFERENCE` > `VALUE.REFERENCE` > `INSTANCEPATH` > `INSTANCENAME` >
    /// `KEYBINDING` > `VALUE.REFERENCE` > `INSTANCEPATH` > `NAMESPACEPATH` >
    /// `LOCALNAMESPACEPATH` > `NAMESPACE` is 11 levels), as pywbem writes association paths,
    /// and refuses references nested beyond that.
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024,
            max_depth: 16,
            max_properties: 256,
            max_array_len: 1024,
            max_value_bytes: 16 * 1024,
        }
    }
}

/// Decodes one embedded instance with the default [`Limits`].
pub fn decode(text: &str) -> Result<Instance, CodecError> {
    decode_with_limits(text, &Limits::default())
}

/// Decodes one embedded instance (CIM-XML if the first character that is not whitespace or a
/// byte-order mark is `<`, MOF otherwise).
pub fn decode_with_limits(text: &str, limits: &Limits) -> Result<Instance, CodecError> {
    decode_borrowed_with_limits(text, limits).map(BorrowedInstance::into_owned)
}

/// [`decode`], borrowing names and values from `text` wherever they appear there unchanged:
/// the same checks, the same errors, the same instance
/// (`decode_borrowed(t).map(BorrowedInstance::into_owned) == decode(t)`), with no allocation
/// per value. MOF is decoded to an owned instance and wrapped.
pub fn decode_borrowed(text: &str) -> Result<BorrowedInstance<'_>, CodecError> {
    decode_borrowed_with_limits(text, &Limits::default())
}

/// [`decode_borrowed`] for text that most likely takes the compact CIM-XML form [`encode`]
/// writes for [`Encoding::CimXml`] (what a service built on this codec sends, such as the
/// reference's `CIM_Error` outputs): that form is scanned directly, without an XML reader,
/// and any other text takes [`decode_borrowed`]'s path. The same checks, the same errors, the
/// same instance as [`decode_borrowed`].
pub fn decode_borrowed_compact(text: &str) -> Result<BorrowedInstance<'_>, CodecError> {
    let limits = Limits::default();
    match xml_compact::decode(text, &limits) {
        Some(instance) => Ok(instance),
        None => decode_borrowed_with_limits(text, &limits),
    }
}

/// [`decode_borrowed`] with the given [`Limits`].
pub fn decode_borrowed_with_limits<'a>(
    text: &'a str,
    limits: &Limits,
) -> Result<BorrowedInstance<'a>, CodecError> {
    decode_unbounded(text, limits).map_err(CodecError::bounded)
}

fn decode_unbounded<'a>(
    text: &'a str,
    limits: &Limits,
) -> Result<BorrowedInstance<'a>, CodecError> {
    if text.len() > limits.max_bytes {
        return Err(CodecError::TooLarge {
            size: text.len(),
            limit: limits.max_bytes,
        });
    }
    let (body, base) = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => (rest, '\u{FEFF}'.len_utf8()),
        None => (text, 0),
    };
    match body
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .chars()
        .next()
    {
        None => Err(CodecError::Empty),
        // The common form straight from quick-xml's events; everything else, every refusal
        // included, through the full decoder.
        Some('<') => match xml_fast::decode(body, limits) {
            Some(instance) => Ok(instance),
            None => xml::decode(body, base, limits),
        },
        Some(_) => mof::decode(body, limits).map(BorrowedInstance::from),
    }
}

/// The text the common-case CIM-XML decoder (`xml_fast`) is tried on: `text` without a
/// byte-order mark, when it is within [`Limits::max_bytes`] and its first character that is
/// not whitespace is `<` — exactly when [`decode_borrowed_with_limits`] tries it.
pub(crate) fn common_xml_body<'a>(text: &'a str, limits: &Limits) -> Option<&'a str> {
    if text.len() > limits.max_bytes {
        return None;
    }
    let body = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    body.trim_start_matches(|c: char| c.is_ascii_whitespace())
        .starts_with('<')
        .then_some(body)
}

/// Encodes `instance`. Never fails; see the module documentation for what that means for
/// instances that are not valid.
pub fn encode(instance: &Instance, encoding: Encoding) -> String {
    match encoding {
        Encoding::CimXml => xml::encode(instance),
        Encoding::WmiDtd20 => xml::encode_wmi(instance),
        Encoding::Mof => mof::encode(instance),
    }
}

/// [`encode`] for many instances of one shape — the same class, and the same property names,
/// CIM types and arrayness in the same order, only the values differing (what a test harness
/// sends step after step). The text around the values is written once, when the encoder is
/// made, and copied whole for every instance; the values are written as [`encode`] writes
/// them. The output is exactly [`encode`]'s, for an instance of any shape: one that does not
/// fit the encoder's is encoded by [`encode`] itself.
#[derive(Clone, Debug)]
pub struct ShapeEncoder {
    encoding: Encoding,
    class_name: String,
    /// Name, type and arrayness of each property, in order.
    shape: Vec<(String, CimType, bool)>,
    head: String,
    /// Before and after each property's value.
    frames: Vec<(String, String)>,
    tail: &'static str,
}

impl ShapeEncoder {
    /// An encoder for instances shaped like `instance`, in `encoding` (compact CIM-XML or MOF;
    /// `None` for the WMI DTD 2.0 shape, whose text around a value depends on the class).
    pub fn new(instance: &Instance, encoding: Encoding) -> Option<ShapeEncoder> {
        let (head, frames, tail) = match encoding {
            Encoding::CimXml => xml::compact_frames(instance),
            Encoding::Mof => mof::frames(instance),
            Encoding::WmiDtd20 => return None,
        };
        Some(ShapeEncoder {
            encoding,
            class_name: instance.class_name.clone(),
            shape: instance
                .properties
                .iter()
                .map(|p| (p.name.clone(), p.cim_type, p.is_array))
                .collect(),
            head,
            frames,
            tail,
        })
    }

    /// Whether `instance` has the shape this encoder was made for.
    pub fn fits(&self, instance: &Instance) -> bool {
        instance.class_name == self.class_name
            && instance.properties.len() == self.shape.len()
            && instance
                .properties
                .iter()
                .zip(&self.shape)
                .all(|(p, (name, cim_type, is_array))| {
                    p.cim_type == *cim_type && p.is_array == *is_array && p.name == *name
                })
    }

    /// Exactly `encode(instance, encoding)`.
    pub fn encode(&self, instance: &Instance) -> String {
        if !self.fits(instance) {
            return encode(instance, self.encoding);
        }
        self.encode_fitting(instance)
    }

    /// [`ShapeEncoder::encode`] of an instance known to [fit](ShapeEncoder::fits): the one the
    /// encoder was made from, or one whose values alone changed since.
    pub(crate) fn encode_fitting(&self, instance: &Instance) -> String {
        debug_assert!(self.fits(instance), "the instance has the encoder's shape");
        let values: usize = self.frames.iter().map(|(a, b)| a.len() + b.len()).sum();
        let mut out = String::with_capacity(self.head.len() + values + 64 * self.frames.len());
        out.push_str(&self.head);
        for (p, (open, close)) in instance.properties.iter().zip(&self.frames) {
            out.push_str(open);
            match self.encoding {
                Encoding::Mof => mof::write_value(&mut out, p),
                _ => xml::write_value(&mut out, &p.value),
            }
            out.push_str(close);
        }
        out.push_str(self.tail);
        out
    }
}

/// Encodes `instance` after checking that the result will decode back: the instance must be
/// [valid](Instance::validate) and, for CIM-XML (either shape), hold only characters XML 1.0
/// can carry.
pub fn try_encode(instance: &Instance, encoding: Encoding) -> Result<String, CodecError> {
    instance.validate()?;
    if encoding.is_xml() {
        if let Some((property, c)) = xml::first_unrepresentable(instance) {
            let reason = format!("U+{:04X} cannot be carried by XML 1.0", u32::from(c));
            return Err(match property {
                Some(p) => CodecError::InvalidValue {
                    property: p.name.clone(),
                    cim_type: p.cim_type,
                    value: format!("U+{:04X}", u32::from(c)),
                    reason,
                },
                None => CodecError::InvalidName {
                    what: "class name".into(),
                    name: error::quote(&instance.class_name),
                    position: Position::Unknown,
                },
            });
        }
    }
    Ok(encode(instance, encoding))
}
