//! Value types: one decoded CIM instance, its properties and their values.
//!
//! Values are kept as text, exactly as they appeared (trimmed for non-string types), so that
//! nothing is lost or rounded on the way through; the accessors ([`Instance::unsigned`] and
//! friends) interpret the text and check it against the declared type.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{invalid_value, CodecError, Position};
use super::lexical;
use super::string_list::StringList;

/// The CIM types a property can declare (DSP0004), named as CIM-XML's `TYPE` attribute names
/// them. Embedded objects are not supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CimType {
    String,
    Boolean,
    Char16,
    Datetime,
    Uint8,
    Sint8,
    Uint16,
    Sint16,
    Uint32,
    Sint32,
    Uint64,
    Sint64,
    Real32,
    Real64,
    Reference,
}

impl CimType {
    /// Every CIM type, in declaration order.
    pub const ALL: [CimType; 15] = [
        CimType::String,
        CimType::Boolean,
        CimType::Char16,
        CimType::Datetime,
        CimType::Uint8,
        CimType::Sint8,
        CimType::Uint16,
        CimType::Sint16,
        CimType::Uint32,
        CimType::Sint32,
        CimType::Uint64,
        CimType::Sint64,
        CimType::Real32,
        CimType::Real64,
        CimType::Reference,
    ];

    /// The CIM name of the type: `"string"`, `"uint16"`, ..., `"reference"`.
    pub fn name(self) -> &'static str {
        match self {
            CimType::String => "string",
            CimType::Boolean => "boolean",
            CimType::Char16 => "char16",
            CimType::Datetime => "datetime",
            CimType::Uint8 => "uint8",
            CimType::Sint8 => "sint8",
            CimType::Uint16 => "uint16",
            CimType::Sint16 => "sint16",
            CimType::Uint32 => "uint32",
            CimType::Sint32 => "sint32",
            CimType::Uint64 => "uint64",
            CimType::Sint64 => "sint64",
            CimType::Real32 => "real32",
            CimType::Real64 => "real64",
            CimType::Reference => "reference",
        }
    }

    /// The type with this CIM name, ignoring ASCII case; `None` for anything else.
    pub fn from_name(s: &str) -> Option<CimType> {
        // Exact spelling first: it is what every writer uses.
        CimType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .or_else(|| {
                CimType::ALL
                    .into_iter()
                    .find(|t| t.name().eq_ignore_ascii_case(s))
            })
    }

    /// Whether this is one of the eight integer types.
    pub fn is_integer(self) -> bool {
        lexical::integer_range(self).is_some()
    }

    /// Whether this is `real32` or `real64`.
    pub fn is_real(self) -> bool {
        matches!(self, CimType::Real32 | CimType::Real64)
    }
}

impl fmt::Display for CimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of one property.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PropertyValue {
    /// No value (CIM-XML: no `VALUE`/`VALUE.ARRAY`/`VALUE.REFERENCE` child; MOF: `NULL`).
    /// Valid for scalars and arrays of every type.
    Null,
    /// The text of a scalar value of any type but `reference`.
    Scalar(String),
    /// The elements of an array value; `None` is a `VALUE.NULL` element.
    Array(Vec<Option<String>>),
    /// A reference, as the textual object path described in [`crate::codec`]'s documentation.
    Reference(String),
}

/// One property of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Property {
    /// The property name as written (names compare case-insensitively).
    pub name: String,
    /// The declared CIM type (for arrays: the element type).
    pub cim_type: CimType,
    /// Whether the property is declared as an array.
    pub is_array: bool,
    /// The value.
    pub value: PropertyValue,
}

impl Property {
    /// A short description of the property's declared shape, e.g. `"uint16[]"`.
    pub fn shape(&self) -> String {
        if self.is_array {
            format!("{}[]", self.cim_type)
        } else {
            self.cim_type.name().to_string()
        }
    }

    /// Checks that the value's shape matches the declaration and that every value is valid
    /// text for the declared type (references: a canonical object path).
    pub fn validate(&self) -> Result<(), CodecError> {
        if !lexical::is_identifier(&self.name) {
            return Err(CodecError::InvalidName {
                what: "property name".into(),
                name: super::error::quote(&self.name),
                position: Position::Unknown,
            });
        }
        let wrong = |expected: &str, found: &str| CodecError::WrongShape {
            property: self.name.clone(),
            expected: expected.into(),
            found: found.into(),
        };
        if self.is_array && self.cim_type == CimType::Reference {
            return Err(wrong(
                "a scalar reference",
                "an array of references (not supported)",
            ));
        }
        match (&self.value, self.is_array, self.cim_type) {
            (PropertyValue::Null, _, _) => Ok(()),
            (PropertyValue::Scalar(_), true, _) => Err(wrong("an array value", "a scalar value")),
            (PropertyValue::Scalar(_), false, CimType::Reference) => Err(wrong(
                "a reference value",
                "a scalar value on a reference property",
            )),
            (PropertyValue::Scalar(text), false, t) => self.check_text(t, text),
            (PropertyValue::Array(_), false, _) => Err(wrong("a scalar value", "an array value")),
            (PropertyValue::Array(items), true, t) => items
                .iter()
                .flatten()
                .try_for_each(|text| self.check_text(t, text)),
            (PropertyValue::Reference(_), true, _) => Err(wrong(
                "a scalar reference",
                "a reference value on an array property",
            )),
            (PropertyValue::Reference(path), false, CimType::Reference) => {
                self.check_text(CimType::Reference, path)
            }
            (PropertyValue::Reference(_), false, t) => {
                Err(wrong(&format!("a {t} value"), "a reference value"))
            }
        }
    }

    fn check_text(&self, cim_type: CimType, text: &str) -> Result<(), CodecError> {
        if lexical::trims(cim_type) && lexical::trim_xml_space(text).len() != text.len() {
            return Err(invalid_value(
                &self.name,
                cim_type,
                text,
                "leading or trailing whitespace (decoding would trim it)",
            ));
        }
        lexical::check_value(cim_type, text)
            .map_err(|reason| invalid_value(&self.name, cim_type, text, reason))
    }
}

/// One CIM instance: a class name and its properties, in document order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Instance {
    /// The class name as written (compare case-insensitively).
    pub class_name: String,
    /// The properties, in the order they appeared or were added.
    pub properties: Vec<Property>,
}

impl Instance {
    /// An instance of `class_name` with no properties.
    pub fn new(class_name: impl Into<String>) -> Self {
        Instance {
            class_name: class_name.into(),
            properties: Vec::new(),
        }
    }

    /// Adds (or replaces, matching the name case-insensitively) a property.
    pub fn with_property(mut self, property: Property) -> Self {
        match self
            .properties
            .iter_mut()
            .find(|p| lexical::names_equal(&p.name, &property.name))
        {
            Some(existing) => *existing = property,
            None => self.properties.push(property),
        }
        self
    }

    /// Adds (or replaces) a scalar property. With [`CimType::Reference`] the value is stored
    /// as a [`PropertyValue::Reference`] (an object path).
    pub fn with_scalar(self, name: &str, cim_type: CimType, value: impl Into<String>) -> Self {
        let value = value.into();
        let value = if cim_type == CimType::Reference {
            PropertyValue::Reference(value)
        } else {
            PropertyValue::Scalar(value)
        };
        self.with_property(Property {
            name: name.to_string(),
            cim_type,
            is_array: false,
            value,
        })
    }

    /// Adds (or replaces) an array property with no NULL elements.
    pub fn with_array(self, name: &str, cim_type: CimType, values: Vec<String>) -> Self {
        self.with_property(Property {
            name: name.to_string(),
            cim_type,
            is_array: true,
            value: PropertyValue::Array(values.into_iter().map(Some).collect()),
        })
    }

    /// Adds (or replaces) a scalar property whose value is NULL.
    pub fn with_null(self, name: &str, cim_type: CimType) -> Self {
        self.with_property(Property {
            name: name.to_string(),
            cim_type,
            is_array: false,
            value: PropertyValue::Null,
        })
    }

    /// The property with this name, compared case-insensitively.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| lexical::names_equal(&p.name, name))
    }

    /// Whether the instance's class is `class_name` (case-insensitively).
    pub fn is_class(&self, class_name: &str) -> bool {
        lexical::names_equal(&self.class_name, class_name)
    }

    /// A scalar property's value and type, `None` when absent or NULL; `WrongShape` for arrays.
    fn scalar_of<P: PropertyLike>(p: Option<&P>) -> Result<Option<(&P, &str)>, CodecError> {
        let Some(p) = p else {
            return Ok(None);
        };
        if p.is_array() {
            return Err(CodecError::WrongShape {
                property: p.name().to_string(),
                expected: "a scalar".into(),
                found: p.shape(),
            });
        }
        match p.value_text() {
            ValueText::Null => Ok(None),
            ValueText::Text(text) => Ok(Some((p, text))),
            ValueText::Array => Err(CodecError::WrongShape {
                property: p.name().to_string(),
                expected: "a scalar value".into(),
                found: "an array value".into(),
            }),
        }
    }

    /// A `string` scalar: `None` when absent or NULL; `WrongShape` when the property is an
    /// array or declares another type.
    pub fn string(&self, name: &str) -> Result<Option<String>, CodecError> {
        Self::string_of(self.property(name))
    }

    /// [`Instance::string`] of a property already looked up.
    pub(crate) fn string_of<P: PropertyLike>(p: Option<&P>) -> Result<Option<String>, CodecError> {
        let Some((p, text)) = Self::scalar_of(p)? else {
            return Ok(None);
        };
        if p.cim_type() != CimType::String {
            return Err(CodecError::WrongShape {
                property: p.name().to_string(),
                expected: "string".into(),
                found: p.shape(),
            });
        }
        Ok(Some(text.to_string()))
    }

    /// An integer scalar of any `uintN`/`sintN` type as a `u64`: `None` when absent or NULL.
    /// The text must be a valid integer within the declared type's range; negative values
    /// are an `InvalidValue` error. Other types are `WrongShape`.
    pub fn unsigned(&self, name: &str) -> Result<Option<u64>, CodecError> {
        Self::unsigned_of(self.property(name))
    }

    /// [`Instance::unsigned`] of a property already looked up.
    pub(crate) fn unsigned_of<P: PropertyLike>(p: Option<&P>) -> Result<Option<u64>, CodecError> {
        let Some((p, value)) = Self::integer_of(p)? else {
            return Ok(None);
        };
        u64::try_from(value).map(Some).map_err(|_| {
            invalid_value(
                p.name(),
                p.cim_type(),
                &value.to_string(),
                "negative, where an unsigned value is required",
            )
        })
    }

    /// An integer scalar of any `uintN`/`sintN` type as an `i64`: `None` when absent or NULL.
    /// Values above `i64::MAX` are an `InvalidValue` error.
    pub fn signed(&self, name: &str) -> Result<Option<i64>, CodecError> {
        Self::signed_of(self.property(name))
    }

    /// [`Instance::signed`] of a property already looked up.
    pub(crate) fn signed_of<P: PropertyLike>(p: Option<&P>) -> Result<Option<i64>, CodecError> {
        let Some((p, value)) = Self::integer_of(p)? else {
            return Ok(None);
        };
        i64::try_from(value).map(Some).map_err(|_| {
            invalid_value(
                p.name(),
                p.cim_type(),
                &value.to_string(),
                "above the range of a signed 64-bit integer",
            )
        })
    }

    fn integer_of<P: PropertyLike>(p: Option<&P>) -> Result<Option<(&P, i128)>, CodecError> {
        let Some((p, text)) = Self::scalar_of(p)? else {
            return Ok(None);
        };
        if !p.cim_type().is_integer() {
            return Err(CodecError::WrongShape {
                property: p.name().to_string(),
                expected: "an integer (uintN or sintN)".into(),
                found: p.shape(),
            });
        }
        lexical::check_integer(p.cim_type(), lexical::trim_xml_space(text))
            .map(|v| Some((p, v)))
            .map_err(|reason| invalid_value(p.name(), p.cim_type(), text, reason))
    }

    /// A `boolean` scalar: `None` when absent or NULL.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, CodecError> {
        Self::boolean_of(self.property(name))
    }

    /// [`Instance::boolean`] of a property already looked up.
    pub(crate) fn boolean_of<P: PropertyLike>(p: Option<&P>) -> Result<Option<bool>, CodecError> {
        let Some((p, text)) = Self::scalar_of(p)? else {
            return Ok(None);
        };
        if p.cim_type() != CimType::Boolean {
            return Err(CodecError::WrongShape {
                property: p.name().to_string(),
                expected: "boolean".into(),
                found: p.shape(),
            });
        }
        lexical::parse_boolean(lexical::trim_xml_space(text))
            .map(Some)
            .ok_or_else(|| {
                invalid_value(p.name(), p.cim_type(), text, "a boolean is TRUE or FALSE")
            })
    }

    /// A `string[]` property: `None` when absent or NULL; a NULL element is an
    /// `InvalidValue` error; scalars and other types are `WrongShape`.
    pub fn string_array(&self, name: &str) -> Result<Option<Vec<String>>, CodecError> {
        Self::string_array_of(self.property(name))
    }

    /// [`Instance::string_array`] of a property already looked up.
    pub(crate) fn string_array_of(p: Option<&Property>) -> Result<Option<Vec<String>>, CodecError> {
        let Some(p) = p else {
            return Ok(None);
        };
        if !p.is_array || p.cim_type != CimType::String {
            return Err(CodecError::WrongShape {
                property: p.name.clone(),
                expected: "string[]".into(),
                found: p.shape(),
            });
        }
        match &p.value {
            PropertyValue::Null => Ok(None),
            PropertyValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.clone().ok_or_else(|| {
                        invalid_value(
                            &p.name,
                            p.cim_type,
                            "NULL",
                            format!("array element {i} is NULL"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            PropertyValue::Scalar(_) | PropertyValue::Reference(_) => Err(CodecError::WrongShape {
                property: p.name.clone(),
                expected: "an array value".into(),
                found: "a scalar value".into(),
            }),
        }
    }

    /// Checks everything decoding checks that does not depend on the encoding: the class and
    /// property names are CIM identifiers, no two properties share a name (ignoring case),
    /// each value's shape matches its declaration, and each value's text is valid for its
    /// type, in the form decoding keeps it (no surrounding whitespace on non-string values;
    /// references as canonical object paths). Limits are not checked.
    ///
    /// For a valid instance, `decode(&encode(i, Encoding::CimXml)) == Ok(i)` provided its
    /// strings hold only characters XML 1.0 can carry (see [`crate::codec`]).
    pub fn validate(&self) -> Result<(), CodecError> {
        if !lexical::is_identifier(&self.class_name) {
            return Err(CodecError::InvalidName {
                what: "class name".into(),
                name: super::error::quote(&self.class_name),
                position: Position::Unknown,
            });
        }
        let mut seen = HashSet::new();
        for p in &self.properties {
            p.validate()?;
            if !seen.insert(lexical::fold_name(&p.name)) {
                return Err(CodecError::DuplicateProperty {
                    name: p.name.clone(),
                    position: Position::Unknown,
                });
            }
        }
        Ok(())
    }
}

/// What an accessor needs of a value: NULL, one text, or an array.
pub(crate) enum ValueText<'x> {
    Null,
    Text(&'x str),
    Array,
}

/// What the accessors read of a property, owned ([`Property`]) or borrowed
/// ([`BorrowedProperty`]), so that both give the same answers and the same errors.
pub(crate) trait PropertyLike {
    fn name(&self) -> &str;
    fn cim_type(&self) -> CimType;
    fn is_array(&self) -> bool;
    fn value_text(&self) -> ValueText<'_>;

    fn shape(&self) -> String {
        if self.is_array() {
            format!("{}[]", self.cim_type())
        } else {
            self.cim_type().name().to_string()
        }
    }
}

impl PropertyLike for Property {
    fn name(&self) -> &str {
        &self.name
    }
    fn cim_type(&self) -> CimType {
        self.cim_type
    }
    fn is_array(&self) -> bool {
        self.is_array
    }
    fn value_text(&self) -> ValueText<'_> {
        match &self.value {
            PropertyValue::Null => ValueText::Null,
            PropertyValue::Scalar(t) | PropertyValue::Reference(t) => ValueText::Text(t),
            PropertyValue::Array(_) => ValueText::Array,
        }
    }
}

impl PropertyLike for BorrowedProperty<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn cim_type(&self) -> CimType {
        self.cim_type
    }
    fn is_array(&self) -> bool {
        self.is_array
    }
    fn value_text(&self) -> ValueText<'_> {
        match &self.value {
            BorrowedValue::Null => ValueText::Null,
            BorrowedValue::Scalar(t) | BorrowedValue::Reference(t) => ValueText::Text(t),
            BorrowedValue::Array(_) => ValueText::Array,
        }
    }
}

/// The value of one [`BorrowedProperty`]: a [`PropertyValue`] whose texts borrow from the
/// decoded text wherever nothing had to be unescaped, trimmed of nothing but XML whitespace
/// or normalised.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BorrowedValue<'a> {
    /// No value.
    Null,
    /// The text of a scalar value of any type but `reference`.
    Scalar(Cow<'a, str>),
    /// The elements of an array value; `None` is a NULL element.
    Array(Vec<Option<Cow<'a, str>>>),
    /// A reference, as a textual object path.
    Reference(Cow<'a, str>),
}

/// One property of a [`BorrowedInstance`]: a [`Property`] whose name and values may borrow
/// from the decoded text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BorrowedProperty<'a> {
    /// The property name as written.
    pub name: Cow<'a, str>,
    /// The declared CIM type (for arrays: the element type).
    pub cim_type: CimType,
    /// Whether the property is declared as an array.
    pub is_array: bool,
    /// The value.
    pub value: BorrowedValue<'a>,
}

/// One decoded CIM instance whose names and values borrow from the text it was decoded from
/// wherever they appear there unchanged — what [`decode_borrowed`](super::decode_borrowed)
/// returns, with no allocation per value. It holds exactly what [`Instance`] holds:
/// `decode_borrowed(t).map(BorrowedInstance::into_owned) == decode(t)` for every text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BorrowedInstance<'a> {
    /// The class name as written.
    pub class_name: Cow<'a, str>,
    /// The properties, in document order.
    pub properties: Vec<BorrowedProperty<'a>>,
}

impl BorrowedValue<'_> {
    /// The owned value.
    pub fn into_owned(self) -> PropertyValue {
        match self {
            BorrowedValue::Null => PropertyValue::Null,
            BorrowedValue::Scalar(t) => PropertyValue::Scalar(t.into_owned()),
            BorrowedValue::Array(items) => PropertyValue::Array(
                items
                    .into_iter()
                    .map(|item| item.map(Cow::into_owned))
                    .collect(),
            ),
            BorrowedValue::Reference(t) => PropertyValue::Reference(t.into_owned()),
        }
    }
}

impl BorrowedProperty<'_> {
    /// The owned property.
    pub fn into_owned(self) -> Property {
        Property {
            name: self.name.into_owned(),
            cim_type: self.cim_type,
            is_array: self.is_array,
            value: self.value.into_owned(),
        }
    }
}

impl<'a> BorrowedInstance<'a> {
    /// The owned instance (each borrowed text copied once).
    pub fn into_owned(self) -> Instance {
        Instance {
            class_name: self.class_name.into_owned(),
            properties: self
                .properties
                .into_iter()
                .map(BorrowedProperty::into_owned)
                .collect(),
        }
    }

    /// The property with this name, compared case-insensitively.
    pub fn property(&self, name: &str) -> Option<&BorrowedProperty<'a>> {
        self.properties
            .iter()
            .find(|p| lexical::names_equal(&p.name, name))
    }

    /// Whether the instance's class is `class_name` (case-insensitively).
    pub fn is_class(&self, class_name: &str) -> bool {
        lexical::names_equal(&self.class_name, class_name)
    }
}

impl From<Instance> for BorrowedInstance<'static> {
    /// Moves every text of `instance` (nothing is copied but array vectors).
    fn from(instance: Instance) -> Self {
        BorrowedInstance {
            class_name: Cow::Owned(instance.class_name),
            properties: instance
                .properties
                .into_iter()
                .map(|p| BorrowedProperty {
                    name: Cow::Owned(p.name),
                    cim_type: p.cim_type,
                    is_array: p.is_array,
                    value: match p.value {
                        PropertyValue::Null => BorrowedValue::Null,
                        PropertyValue::Scalar(t) => BorrowedValue::Scalar(Cow::Owned(t)),
                        PropertyValue::Array(items) => BorrowedValue::Array(
                            items.into_iter().map(|item| item.map(Cow::Owned)).collect(),
                        ),
                        PropertyValue::Reference(t) => BorrowedValue::Reference(Cow::Owned(t)),
                    },
                })
                .collect(),
        }
    }
}

impl<'a> From<&'a Instance> for BorrowedInstance<'a> {
    /// Borrows every text of `instance`.
    fn from(instance: &'a Instance) -> Self {
        BorrowedInstance {
            class_name: Cow::Borrowed(&instance.class_name),
            properties: instance
                .properties
                .iter()
                .map(|p| BorrowedProperty {
                    name: Cow::Borrowed(&p.name),
                    cim_type: p.cim_type,
                    is_array: p.is_array,
                    value: match &p.value {
                        PropertyValue::Null => BorrowedValue::Null,
                        PropertyValue::Scalar(t) => BorrowedValue::Scalar(Cow::Borrowed(t)),
                        PropertyValue::Array(items) => BorrowedValue::Array(
                            items
                                .iter()
                                .map(|item| item.as_deref().map(Cow::Borrowed))
                                .collect(),
                        ),
                        PropertyValue::Reference(t) => BorrowedValue::Reference(Cow::Borrowed(t)),
                    },
                })
                .collect(),
        }
    }
}

impl PartialEq<Instance> for BorrowedInstance<'_> {
    fn eq(&self, other: &Instance) -> bool {
        self.class_name == other.class_name.as_str()
            && self.properties.len() == other.properties.len()
            && self.properties.iter().zip(&other.properties).all(|(b, o)| {
                b.name == o.name.as_str()
                    && b.cim_type == o.cim_type
                    && b.is_array == o.is_array
                    && match (&b.value, &o.value) {
                        (BorrowedValue::Null, PropertyValue::Null) => true,
                        (BorrowedValue::Scalar(x), PropertyValue::Scalar(y))
                        | (BorrowedValue::Reference(x), PropertyValue::Reference(y)) => {
                            x == y.as_str()
                        }
                        (BorrowedValue::Array(x), PropertyValue::Array(y)) => {
                            x.len() == y.len()
                                && x.iter().zip(y).all(|(a, b)| a.as_deref() == b.as_deref())
                        }
                        _ => false,
                    }
            })
    }
}

/// [`Instance::string_array`] of a borrowed property, as one [`StringList`]: the same answer
/// (element for element) and the same errors.
pub(crate) fn take_string_list(
    p: Option<BorrowedProperty<'_>>,
) -> Result<Option<StringList>, CodecError> {
    let Some(p) = p else {
        return Ok(None);
    };
    if !p.is_array || p.cim_type != CimType::String {
        let found = p.shape();
        return Err(CodecError::WrongShape {
            property: p.name.into_owned(),
            expected: "string[]".into(),
            found,
        });
    }
    match p.value {
        BorrowedValue::Null => Ok(None),
        BorrowedValue::Array(items) => {
            let mut out = StringList::new();
            out.ends.reserve_exact(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Some(text) => out.push(&text),
                    None => {
                        return Err(invalid_value(
                            &p.name,
                            p.cim_type,
                            "NULL",
                            format!("array element {i} is NULL"),
                        ))
                    }
                }
            }
            Ok(Some(out))
        }
        BorrowedValue::Scalar(_) | BorrowedValue::Reference(_) => Err(CodecError::WrongShape {
            property: p.name.into_owned(),
            expected: "an array value".into(),
            found: "a scalar value".into(),
        }),
    }
}
