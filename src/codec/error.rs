//! The one error type of the codec.
//!
//! Every variant says *what* was wrong: which element, attribute, property or value, and where
//! (a byte offset into the decoded text for CIM-XML, a 1-based line and column for MOF).
//! Values and names quoted in errors are cut to [`MAX_QUOTED_CHARS`] characters, and free
//! text (contexts, the XML reader's messages) to [`MAX_CONTEXT_CHARS`], so that an error never
//! carries a copy of a large hostile input: every error the decoder and the typed views return
//! has passed through [`CodecError::bounded`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::instance::CimType;

/// Longest excerpt of an offending value or name kept in an error.
pub const MAX_QUOTED_CHARS: usize = 64;

/// Longest free-text part of an error (a context, a message of the XML reader, a shape).
pub const MAX_CONTEXT_CHARS: usize = 256;

/// Where in the input an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Position {
    /// Byte offset into the text given to the decoder (CIM-XML).
    Offset(usize),
    /// 1-based line and column (in characters) into the text given to the decoder (MOF).
    LineColumn { line: usize, column: usize },
    /// Not tied to a place in any input (typed views, accessors, validation).
    Unknown,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Offset(offset) => write!(f, "byte {offset}"),
            Position::LineColumn { line, column } => write!(f, "line {line}, column {column}"),
            Position::Unknown => f.write_str("an unknown position"),
        }
    }
}

/// Everything that can go wrong while decoding, validating or viewing an embedded instance.
///
/// Match with `{ .. }` patterns: variants may gain fields.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodecError {
    /// The input is longer than [`Limits::max_bytes`](super::Limits::max_bytes). Checked
    /// before any parsing.
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },

    /// Elements (CIM-XML) or brackets (MOF) nest deeper than [`Limits::max_depth`](super::Limits::max_depth).
    #[error("nesting deeper than the limit of {limit} levels at {position} (inside {context})")]
    TooDeep {
        limit: usize,
        context: String,
        position: Position,
    },

    /// More properties than [`Limits::max_properties`](super::Limits::max_properties).
    #[error("more than {limit} properties: property {property:?} at {position} is one too many")]
    TooManyProperties {
        limit: usize,
        property: String,
        position: Position,
    },

    /// An array (of a property or a qualifier) with more elements than
    /// [`Limits::max_array_len`](super::Limits::max_array_len).
    #[error("array of {owner} has more than {limit} elements (at {position})")]
    ArrayTooLong {
        owner: String,
        limit: usize,
        position: Position,
    },

    /// One value longer than [`Limits::max_value_bytes`](super::Limits::max_value_bytes).
    #[error("a value of {owner} is longer than the limit of {limit} bytes (at {position})")]
    ValueTooLarge {
        owner: String,
        limit: usize,
        position: Position,
    },

    /// The text is not well-formed XML, or uses XML that CIM-XML embedded instances never
    /// need (an undeclared entity, a character XML 1.0 cannot carry, text where only elements
    /// may appear, ...).
    #[error("malformed XML at byte {offset}: {message}")]
    Xml { offset: usize, message: String },

    /// A document type declaration. DTDs, entity declarations and external entities are
    /// refused outright; nothing in them is ever read or expanded.
    #[error("DOCTYPE at byte {offset} refused: DTDs and entity declarations are never processed")]
    Dtd { offset: usize },

    /// An element the CIM-XML `INSTANCE` grammar does not allow where it appeared.
    #[error("unexpected element <{element}> in {context} at byte {offset}")]
    UnexpectedElement {
        element: String,
        context: String,
        offset: usize,
    },

    /// A required child element is absent.
    #[error("<{parent}> at byte {offset} is missing its <{element}> element")]
    MissingElement {
        element: String,
        parent: String,
        offset: usize,
    },

    /// A required attribute is absent.
    #[error("<{element}> is missing the required attribute {attribute}")]
    MissingAttribute { element: String, attribute: String },

    /// A class, property, key or namespace name that is not a CIM identifier (or is empty).
    #[error("{what} {name:?} is not a valid CIM name (at {position})")]
    InvalidName {
        what: String,
        name: String,
        position: Position,
    },

    /// A `TYPE` attribute naming no CIM type.
    #[error("unknown CIM type {0:?}")]
    UnknownCimType(String),

    /// A value whose text is not valid for its declared CIM type. `value` is cut to
    /// [`MAX_QUOTED_CHARS`] characters.
    #[error("property {property:?}: value {value:?} is not a valid {cim_type}: {reason}")]
    InvalidValue {
        property: String,
        cim_type: CimType,
        value: String,
        reason: String,
    },

    /// A property has the wrong shape or type for what was asked of it (scalar vs array,
    /// string vs integer, a reference declared with `PROPERTY`, ...).
    #[error("property {property:?}: expected {expected}, found {found}")]
    WrongShape {
        property: String,
        expected: String,
        found: String,
    },

    /// Two properties whose names are equal ignoring case.
    #[error("property {name:?} appears more than once (names are case-insensitive); second at {position}")]
    DuplicateProperty { name: String, position: Position },

    /// MOF text that is not a single well-formed `instance of` declaration.
    #[error("MOF syntax error at line {line}, column {column}: {message}")]
    Mof {
        line: usize,
        column: usize,
        message: String,
    },

    /// No instance at all: empty text, or only whitespace, a byte-order mark or comments.
    #[error("no instance: the text is empty or holds only whitespace and comments")]
    Empty,

    /// Something other than whitespace or comments after the one instance.
    #[error("unexpected content after the end of the instance at {position}")]
    TrailingContent { position: Position },

    /// A typed view was asked to read an instance of a class it does not cover.
    #[error("wrong class: expected {expected}, found {found:?}")]
    WrongClass { expected: String, found: String },
}

/// Cuts `value` to [`MAX_QUOTED_CHARS`] characters, marking the cut with `…`.
pub(crate) fn quote(value: &str) -> String {
    cut(value, MAX_QUOTED_CHARS)
}

/// Cuts `value` to `max` characters, marking the cut with `…`.
fn cut(value: &str, max: usize) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

impl CodecError {
    /// The same error with every name and value cut to [`MAX_QUOTED_CHARS`] characters and
    /// every free-text part to [`MAX_CONTEXT_CHARS`], so that its size does not depend on the
    /// size of the input. Idempotent.
    pub fn bounded(self) -> CodecError {
        let name = |s: String| cut(&s, MAX_QUOTED_CHARS);
        let text = |s: String| cut(&s, MAX_CONTEXT_CHARS);
        match self {
            CodecError::TooDeep {
                limit,
                context,
                position,
            } => CodecError::TooDeep {
                limit,
                context: text(context),
                position,
            },
            CodecError::TooManyProperties {
                limit,
                property,
                position,
            } => CodecError::TooManyProperties {
                limit,
                property: name(property),
                position,
            },
            CodecError::ArrayTooLong {
                owner,
                limit,
                position,
            } => CodecError::ArrayTooLong {
                owner: text(owner),
                limit,
                position,
            },
            CodecError::ValueTooLarge {
                owner,
                limit,
                position,
            } => CodecError::ValueTooLarge {
                owner: text(owner),
                limit,
                position,
            },
            CodecError::Xml { offset, message } => CodecError::Xml {
                offset,
                message: text(message),
            },
            CodecError::UnexpectedElement {
                element,
                context,
                offset,
            } => CodecError::UnexpectedElement {
                element: name(element),
                context: text(context),
                offset,
            },
            CodecError::MissingElement {
                element,
                parent,
                offset,
            } => CodecError::MissingElement {
                element: text(element),
                parent: name(parent),
                offset,
            },
            CodecError::MissingAttribute { element, attribute } => CodecError::MissingAttribute {
                element: name(element),
                attribute: name(attribute),
            },
            CodecError::InvalidName {
                what,
                name: n,
                position,
            } => CodecError::InvalidName {
                what: text(what),
                name: name(n),
                position,
            },
            CodecError::UnknownCimType(t) => CodecError::UnknownCimType(name(t)),
            CodecError::InvalidValue {
                property,
                cim_type,
                value,
                reason,
            } => CodecError::InvalidValue {
                property: name(property),
                cim_type,
                value: name(value),
                reason: text(reason),
            },
            CodecError::WrongShape {
                property,
                expected,
                found,
            } => CodecError::WrongShape {
                property: name(property),
                expected: text(expected),
                found: text(found),
            },
            CodecError::DuplicateProperty { name: n, position } => CodecError::DuplicateProperty {
                name: name(n),
                position,
            },
            CodecError::Mof {
                line,
                column,
                message,
            } => CodecError::Mof {
                line,
                column,
                message: text(message),
            },
            // `expected` is the view's own list of classes, not input.
            CodecError::WrongClass { expected, found } => CodecError::WrongClass {
                expected,
                found: name(found),
            },
            other @ (CodecError::TooLarge { .. }
            | CodecError::Dtd { .. }
            | CodecError::Empty
            | CodecError::TrailingContent { .. }) => other,
        }
    }
}

/// Shorthand for an [`CodecError::InvalidValue`] that quotes the value safely.
pub(crate) fn invalid_value(
    property: &str,
    cim_type: CimType,
    value: &str,
    reason: impl Into<String>,
) -> CodecError {
    CodecError::InvalidValue {
        property: property.to_string(),
        cim_type,
        value: quote(value),
        reason: reason.into(),
    }
}
