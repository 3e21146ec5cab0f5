//! CIM-XML (DSP0201) `INSTANCE` elements: decoding on quick-xml's pull reader, and encoding.
//!
//! Decoding is a recursive descent over quick-xml events. Recursion follows element nesting,
//! which is capped by [`Limits::max_depth`], so the stack is bounded; every other count
//! (properties, array elements, bytes per value) is checked as soon as the event that would
//! exceed it is read. Nothing is buffered beyond the values being kept, and those are at most
//! as long as the input.
//!
//! What is accepted (beyond the DSP0201 `INSTANCE` grammar, which is enforced):
//!
//! * an optional XML declaration (its `encoding` is ignored: the text is already decoded),
//!   comments and processing instructions anywhere, whitespace between elements;
//! * unknown attributes (WMI's `CLASSORIGIN`, `PROPAGATED`, `EmbeddedObject`, `xml:lang`, ...);
//! * `QUALIFIER` elements before the properties of `INSTANCE` and before the value of a
//!   property: their values are read (bounded by the same limits) and dropped;
//! * the five predefined entities, character references and CDATA sections in values.
//!
//! What is refused: any `DOCTYPE` (so no DTD, entity declaration or external entity is ever
//! seen, let alone expanded), any other entity reference, characters XML 1.0 cannot carry
//! (raw or as a character reference), text where only elements may appear, and a second
//! root element. Raw line breaks in text are normalised to `\n` as XML requires; a CR that
//! must survive is written (and read) as `&#xD;`.

use std::borrow::Cow;
use std::fmt;

use quick_xml::errors::{Error as QxError, SyntaxError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::error::{invalid_value, quote, CodecError, Position};
use super::instance::{
    BorrowedInstance, BorrowedProperty, BorrowedValue, CimType, Instance, Property, PropertyValue,
};
use super::lexical;
use super::path::{self, KeyValue, Keys, ObjectPath};
use super::Limits;

/// The attributes an element carries that the grammar reads, by their place in
/// [`READ_ATTRIBUTES`]; values borrow from the input unless unescaping changed them. A fixed
/// array: reading an element's attributes allocates nothing.
#[derive(Default)]
struct Attrs<'a>([Option<Cow<'a, str>>; 4]);

/// Most attributes [`Parser::attributes`] reads without quick-xml's iterator.
const FAST_ATTRIBUTES: usize = 8;

/// The only attributes the `INSTANCE` grammar reads; see [`Parser::attributes`].
const READ_ATTRIBUTES: [&str; 4] = ["NAME", "TYPE", "CLASSNAME", "VALUETYPE"];

impl<'a> Attrs<'a> {
    fn slot(name: &str) -> Option<usize> {
        READ_ATTRIBUTES.iter().position(|k| *k == name)
    }

    /// Keeps `value` when `key` is one of [`READ_ATTRIBUTES`] (the first one wins; quick-xml
    /// refuses duplicates before this is reached).
    fn keep(&mut self, key: &[u8], value: Cow<'a, str>) {
        if let Some(slot) = READ_ATTRIBUTES.iter().position(|k| k.as_bytes() == key) {
            if let Some(entry) = self.0.get_mut(slot) {
                entry.get_or_insert(value);
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        Self::slot(name)
            .and_then(|slot| self.0.get(slot))
            .and_then(|v| v.as_deref())
    }

    fn take(&mut self, name: &str) -> Option<Cow<'a, str>> {
        Self::slot(name)
            .and_then(|slot| self.0.get_mut(slot))
            .and_then(Option::take)
    }
}

/// What one pass over the whole document found, so that values need not be scanned one by
/// one when the document holds nothing that unescaping, normalisation or the character check
/// would act on (see [`Parser::unescape`]).
#[derive(Clone, Copy)]
pub(super) struct DocumentScan {
    /// A CR, a byte below 0x20 other than tab and LF, or 0xEF anywhere.
    pub(super) unusual: bool,
    /// A tab or LF anywhere (attribute values turn them into spaces).
    pub(super) tab_or_lf: bool,
    /// An `&` anywhere.
    pub(super) ampersand: bool,
}

/// A simplified event. Names and text borrow from the input whenever they can.
enum Ev<'a> {
    Start {
        name: Cow<'a, str>,
        attrs: Attrs<'a>,
        offset: usize,
    },
    End,
    /// Character data (text or CDATA), already unescaped; `blank` when it is only whitespace.
    Text {
        text: Cow<'a, str>,
        blank: bool,
        offset: usize,
    },
    Eof {
        offset: usize,
    },
}

/// A child of an element with element-only content.
enum Child<'a> {
    Start {
        name: Cow<'a, str>,
        attrs: Attrs<'a>,
        offset: usize,
    },
    End,
}

/// What a value belongs to, for error messages (formatted only when an error is made).
#[derive(Clone, Copy)]
enum Owner<'n> {
    Property(&'n str),
    Qualifier(&'n str),
}

impl fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Property(name) => write!(f, "property {name:?}"),
            Owner::Qualifier(name) => write!(f, "qualifier {name:?}"),
        }
    }
}

struct Parser<'a> {
    /// The text being decoded (without a byte-order mark).
    text: &'a str,
    reader: Reader<&'a [u8]>,
    limits: Limits,
    /// Added to reader offsets: the length of a byte-order mark stripped before parsing.
    base: usize,
    depth: usize,
    /// Names of the open elements, for error messages.
    open: Vec<Cow<'a, str>>,
    /// Whether anything but whitespace, comments or PIs has been seen (for the declaration).
    seen_content: bool,
    /// An `Empty` event was returned as a start; its end is still to be returned.
    pending_end: bool,
    /// What the whole text holds.
    document: DocumentScan,
}

/// quick-xml's reader over `text`, configured as both CIM-XML decoders read: empty elements
/// expanded, end names and comments checked, text untrimmed. The codec bench reads through
/// the same reader for its floor, so floor and decoder always pay for the same checks.
pub fn event_reader(text: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.check_comments = true;
    config.trim_text(false);
    reader
}

/// Decodes one CIM-XML `INSTANCE`. `text` has had any byte-order mark removed; `base` is the
/// length of what was removed, so that offsets refer to the caller's text.
pub(crate) fn decode<'a>(
    text: &'a str,
    base: usize,
    limits: &Limits,
) -> Result<BorrowedInstance<'a>, CodecError> {
    let reader = event_reader(text);
    let mut parser = Parser {
        text,
        reader,
        limits: limits.clone(),
        base,
        depth: 0,
        open: Vec::new(),
        seen_content: false,
        pending_end: false,
        document: scan_document(text.as_bytes()),
    };
    parser.document()
}

fn attr<'x>(attrs: &'x Attrs<'_>, name: &str) -> Option<&'x str> {
    attrs.get(name)
}

fn required_attr<'x>(
    attrs: &'x Attrs<'_>,
    element: &str,
    name: &str,
) -> Result<&'x str, CodecError> {
    attr(attrs, name).ok_or_else(|| CodecError::MissingAttribute {
        element: element.to_string(),
        attribute: name.to_string(),
    })
}

/// A required attribute that holds a CIM name, moved out of `attrs` (borrowed from the input
/// when it is there unchanged).
fn required_name<'a>(
    attrs: &mut Attrs<'a>,
    element: &str,
    attribute: &str,
    what: &str,
    offset: usize,
) -> Result<Cow<'a, str>, CodecError> {
    let name = attrs
        .take(attribute)
        .ok_or_else(|| CodecError::MissingAttribute {
            element: element.to_string(),
            attribute: attribute.to_string(),
        })?;
    if lexical::is_identifier(&name) {
        Ok(name)
    } else {
        Err(CodecError::InvalidName {
            what: what.to_string(),
            name: quote(&name),
            position: Position::Offset(offset),
        })
    }
}

fn cim_name(what: &str, name: &str, offset: usize) -> Result<String, CodecError> {
    if lexical::is_identifier(name) {
        Ok(name.to_string())
    } else {
        Err(CodecError::InvalidName {
            what: what.to_string(),
            name: quote(name),
            position: Position::Offset(offset),
        })
    }
}

/// XML line-end normalisation: `\r\n` and lone `\r` become `\n`.
fn normalize_newlines(raw: Cow<'_, str>) -> Cow<'_, str> {
    if raw.contains('\r') {
        raw.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        raw
    }
}

/// The first character of `text` that XML 1.0 cannot carry. In UTF-8 only C0 controls
/// (single bytes below 0x20) and U+FFFE/U+FFFF (`EF BF BE`/`EF BF BF`) are excluded, so a
/// branch-free pass over 32-byte chunks (which the compiler vectorises) finds the first chunk
/// that may hold one, and only from there are characters decoded and checked.
pub(super) fn first_non_xml_char(text: &str) -> Option<char> {
    let bytes = text.as_bytes();
    let chunk = bytes.chunks(32).position(|c| {
        c.iter()
            .fold(false, |any, &b| any | (b < 0x20) | (b == 0xEF))
    })?;
    let mut at = chunk * 32;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[at..].chars().find(|c| !lexical::is_xml_char(*c))
}

/// XML's five predefined entities and character references, replaced: what
/// `quick_xml::escape::unescape` does, in one pass. The common references are replaced here;
/// anything else (an unknown or unterminated entity, a malformed character reference) is
/// handed to quick-xml's own `unescape` for the whole text, so that the result, and every
/// error, is exactly quick-xml's (`tests/codec.rs` checks the two agree on generated text).
pub(super) fn unescape_references(
    raw: &str,
) -> Result<Cow<'_, str>, quick_xml::escape::EscapeError> {
    let bytes = raw.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'&') else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    let mut done = 0;
    let mut at = first;
    loop {
        out.push_str(&raw[done..at]);
        // The longest reference this path takes is `&#x10FFFF;` (10 bytes).
        let Some(len) = bytes[at + 1..]
            .iter()
            .take(10)
            .position(|&b| b == b';' || b == b'&')
            .filter(|&len| bytes[at + 1 + len] == b';')
        else {
            return quick_xml::escape::unescape(raw);
        };
        let name = &raw[at + 1..at + 1 + len];
        match name {
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "amp" => out.push('&'),
            "apos" => out.push('\''),
            "quot" => out.push('"'),
            _ => {
                let code = match name.strip_prefix('#') {
                    Some(hex) if hex.starts_with('x') => hex
                        .get(1..)
                        .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                        .and_then(|d| u32::from_str_radix(d, 16).ok()),
                    Some(dec) if dec.bytes().all(|b| b.is_ascii_digit()) => dec.parse().ok(),
                    _ => None,
                };
                match code.filter(|c| *c != 0).and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => return quick_xml::escape::unescape(raw),
                }
            }
        }
        done = at + 1 + len + 1;
        match bytes[done..].iter().position(|&b| b == b'&') {
            Some(next) => at = done + next,
            None => break,
        }
    }
    out.push_str(&raw[done..]);
    Ok(Cow::Owned(out))
}

/// What one pass over raw character data found: whether unescaping, line-end normalisation
/// and the character check have anything to do.
#[derive(Clone, Copy)]
struct Scan {
    carriage_return: bool,
    ampersand: bool,
    /// A byte below 0x20 (tab, LF and CR included) or 0xEF (the lead byte of U+FFFE and
    /// U+FFFF): a character XML 1.0 cannot carry may be there.
    control: bool,
}

/// One pass over the bytes, eight at a time (SWAR: `has_zero` tells whether a word holds a
/// zero byte, `has_below` one below a bound, exactly, for bounds up to 128).
fn scan(bytes: &[u8]) -> Scan {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    fn has_zero(w: u64) -> bool {
        w.wrapping_sub(ONES) & !w & HIGHS != 0
    }
    fn has_byte(w: u64, b: u8) -> bool {
        has_zero(w ^ (ONES * u64::from(b)))
    }
    fn has_below(w: u64, n: u8) -> bool {
        w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0
    }
    let (mut cr, mut amp, mut control) = (false, false, false);
    let mut words = bytes.chunks_exact(8);
    for word in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        cr |= has_byte(w, b'\r');
        amp |= has_byte(w, b'&');
        control |= has_below(w, 0x20) | has_byte(w, 0xEF);
    }
    for &b in words.remainder() {
        cr |= b == b'\r';
        amp |= b == b'&';
        control |= (b < 0x20) | (b == 0xEF);
    }
    Scan {
        carriage_return: cr,
        ampersand: amp,
        control,
    }
}

/// [`DocumentScan`] of the whole text: one branch-free pass that the compiler vectorises.
pub(super) fn scan_document(bytes: &[u8]) -> DocumentScan {
    let (mut unusual, mut tab_or_lf, mut amp) = (0u8, 0u8, 0u8);
    for &b in bytes {
        unusual |=
            u8::from(b < 0x20) & u8::from(b != b'\t') & u8::from(b != b'\n') | u8::from(b == 0xEF);
        tab_or_lf |= u8::from(b == b'\t') | u8::from(b == b'\n');
        amp |= u8::from(b == b'&');
    }
    DocumentScan {
        unusual: unusual != 0,
        tab_or_lf: tab_or_lf != 0,
        ampersand: amp != 0,
    }
}

/// A case-insensitive hash of a CIM name (FNV-1a over its lower-cased characters), for
/// duplicate detection without allocating. Both paths hash the same characters, so that
/// names equal by `names_equal` hash equally.
pub(super) fn name_hash(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |c: char| {
        hash ^= u64::from(u32::from(c));
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    };
    if name.is_ascii() {
        name.bytes()
            .for_each(|b| add(char::from(b.to_ascii_lowercase())));
    } else {
        name.chars().flat_map(char::to_lowercase).for_each(add);
    }
    hash
}

impl<'a> Parser<'a> {
    fn xml_error(&self, offset: usize, message: impl Into<String>) -> CodecError {
        CodecError::Xml {
            offset,
            message: message.into(),
        }
    }

    fn context(&self) -> String {
        match self.open.last() {
            Some(name) => format!("<{name}>"),
            None => "the document".to_string(),
        }
    }

    fn map_reader_error(&self, error: QxError) -> CodecError {
        let offset =
            self.base + usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        match error {
            QxError::Syntax(SyntaxError::UnclosedDoctype) => CodecError::Dtd { offset },
            other => self.xml_error(offset, other.to_string()),
        }
    }

    fn position(&self) -> usize {
        self.base + usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    /// `bytes` as a slice of the input, when it is one: quick-xml lends slices of the input
    /// for names, attribute values and text, so that most of them are never copied.
    fn borrowed(&self, bytes: &[u8]) -> Option<&'a str> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        let slice = self.text.get(start..start.checked_add(bytes.len())?)?;
        (slice.as_ptr() == bytes.as_ptr()).then_some(slice)
    }

    /// `bytes` as text, borrowed from the input when they are a slice of it.
    fn text_of(&self, bytes: &[u8], offset: usize) -> Result<Cow<'a, str>, CodecError> {
        match self.borrowed(bytes) {
            Some(slice) => Ok(Cow::Borrowed(slice)),
            None => std::str::from_utf8(bytes)
                .map(|s| Cow::Owned(s.to_string()))
                .map_err(|e| self.xml_error(offset, format!("invalid UTF-8: {e}"))),
        }
    }

    /// Unescapes character data (`normalize_attr`: an attribute value, whose tabs and line
    /// ends become spaces) and checks that every character is one XML 1.0 can carry. Borrows
    /// from the input when nothing had to change. One pass over the bytes ([`scan`]) decides
    /// which of the steps are needed at all.
    fn unescape(
        &self,
        raw: Cow<'a, str>,
        offset: usize,
        normalize_attr: bool,
    ) -> Result<Cow<'a, str>, CodecError> {
        // Every value is a piece of the document: when the document holds no CR, no control
        // character but tab and LF and no 0xEF byte (and, for attribute values, no tab or LF
        // either), only an `&` can make a value need work.
        let found = if self.document.unusual || (normalize_attr && self.document.tab_or_lf) {
            scan(raw.as_bytes())
        } else {
            Scan {
                carriage_return: false,
                ampersand: self.document.ampersand && raw.as_bytes().contains(&b'&'),
                control: false,
            }
        };
        let mut text = raw;
        if found.carriage_return {
            text = normalize_newlines(text);
        }
        if normalize_attr && found.control && text.contains(['\t', '\n']) {
            text = text.replace(['\t', '\n'], " ").into();
        }
        // Only a character reference can bring in a character the raw text did not have.
        let char_reference = found.ampersand && text.contains("&#");
        if found.ampersand {
            let escape_error = |e: quick_xml::escape::EscapeError| {
                use quick_xml::escape::EscapeError;
                let message = match e {
                    EscapeError::UnrecognizedEntity(_, name) => format!(
                        "undeclared entity reference &{name}; (DTDs are refused, so only &lt; \
                         &gt; &amp; &apos; &quot; and character references are known)"
                    ),
                    other => other.to_string(),
                };
                self.xml_error(offset, message)
            };
            text = match text {
                Cow::Borrowed(s) => unescape_references(s).map_err(escape_error)?,
                Cow::Owned(s) => {
                    Cow::Owned(unescape_references(&s).map_err(escape_error)?.into_owned())
                }
            };
        }
        if found.control || char_reference {
            if let Some(bad) = first_non_xml_char(&text) {
                return Err(self.xml_error(
                    offset,
                    format!(
                        "character U+{:04X} cannot appear in XML 1.0, raw or as a character \
                         reference",
                        u32::from(bad)
                    ),
                ));
            }
        }
        Ok(text)
    }

    /// The attributes the grammar reads ([`READ_ATTRIBUTES`]). Every attribute is checked
    /// (syntax, duplicates, entity references, characters), but the others — WMI's
    /// `CLASSORIGIN`, `PROPAGATED`, ... — are dropped at once, so that an element with
    /// thousands of attributes costs no memory.
    ///
    /// The common case — at most [`FAST_ATTRIBUTES`] attributes, each `name="value"` or
    /// `name='value'` with a name of ASCII letters, digits, `_`, `:`, `-` or `.`, no two names
    /// equal — is read here, straight from the input; anything else (other spacing, other
    /// names, more attributes, any error) goes through quick-xml's attribute iterator, so
    /// that what is accepted, and every error, is exactly quick-xml's.
    fn attributes(&self, start: &BytesStart<'_>, offset: usize) -> Result<Attrs<'a>, CodecError> {
        if let Some(raw) = self.borrowed(start.attributes_raw()) {
            if let Some(attrs) = self.fast_attributes(raw, offset) {
                return attrs;
            }
        }
        let mut attrs = Attrs::default();
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|e| self.xml_error(offset, format!("bad attribute: {e}")))?;
            let raw = self.text_of(&attribute.value, offset)?;
            let value = self.unescape(raw, offset, true)?;
            attrs.keep(attribute.key.as_ref(), value);
        }
        Ok(attrs)
    }

    /// The attributes of `raw` (what follows an element's name) when they take the common
    /// form described at [`Parser::attributes`]; `None` when they do not, and nothing is
    /// decided yet.
    fn fast_attributes(
        &self,
        raw: &'a str,
        offset: usize,
    ) -> Option<Result<Attrs<'a>, CodecError>> {
        let bytes = raw.as_bytes();
        let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        let is_name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.');
        let mut keys: [&[u8]; FAST_ATTRIBUTES] = [&[]; FAST_ATTRIBUTES];
        let mut count = 0;
        let mut values: [(usize, usize); FAST_ATTRIBUTES] = [(0, 0); FAST_ATTRIBUTES];
        let mut at = 0;
        loop {
            while bytes.get(at).is_some_and(|&b| is_space(b)) {
                at += 1;
            }
            if at == bytes.len() {
                break;
            }
            let key_start = at;
            while bytes.get(at).is_some_and(|&b| is_name(b)) {
                at += 1;
            }
            let key = bytes.get(key_start..at)?;
            if key.is_empty() || bytes.get(at) != Some(&b'=') || count == FAST_ATTRIBUTES {
                return None;
            }
            let quote = *bytes.get(at + 1).filter(|&&q| q == b'"' || q == b'\'')?;
            let value_start = at + 2;
            let len = bytes.get(value_start..)?.iter().position(|&b| b == quote)?;
            if keys.get(..count)?.contains(&key) {
                return None;
            }
            *keys.get_mut(count)? = key;
            *values.get_mut(count)? = (value_start, value_start + len);
            count += 1;
            at = value_start + len + 1;
        }
        // The syntax is sound and the names unique: from here on the answer is final.
        let mut attrs = Attrs::default();
        for (key, (from, to)) in keys.iter().zip(values).take(count) {
            // Quotes are ASCII, so the value's bounds are character boundaries.
            let value = raw.get(from..to)?;
            match self.unescape(Cow::Borrowed(value), offset, true) {
                Ok(value) => attrs.keep(key, value),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(attrs))
    }

    fn start_event(
        &mut self,
        start: &BytesStart<'_>,
        offset: usize,
        empty: bool,
    ) -> Result<Ev<'a>, CodecError> {
        self.seen_content = true;
        let name = self.text_of(start.name().as_ref(), offset)?;
        if self.depth >= self.limits.max_depth {
            return Err(CodecError::TooDeep {
                limit: self.limits.max_depth,
                context: format!("{} (opening <{name}>)", self.context()),
                position: Position::Offset(offset),
            });
        }
        let attrs = self.attributes(start, offset)?;
        self.depth += 1;
        self.open.push(name.clone());
        self.pending_end = empty;
        Ok(Ev::Start {
            name,
            attrs,
            offset,
        })
    }

    fn next(&mut self) -> Result<Ev<'a>, CodecError> {
        if self.pending_end {
            self.pending_end = false;
            self.depth = self.depth.saturating_sub(1);
            self.open.pop();
            return Ok(Ev::End);
        }
        loop {
            let offset = self.position();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => return Err(self.map_reader_error(e)),
            };
            match event {
                Event::Decl(_) => {
                    if self.seen_content {
                        return Err(self
                            .xml_error(offset, "XML declaration after the start of the document"));
                    }
                    self.seen_content = true;
                }
                Event::DocType(_) => return Err(CodecError::Dtd { offset }),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Start(start) => return self.start_event(&start, offset, false),
                Event::Empty(start) => return self.start_event(&start, offset, true),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    self.open.pop();
                    return Ok(Ev::End);
                }
                Event::Text(text) => {
                    let raw = text.into_inner();
                    let blank = raw
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                    if !blank {
                        self.seen_content = true;
                    }
                    let raw = self.text_of(&raw, offset)?;
                    let text = if blank {
                        // Whitespace is significant inside a VALUE; it needs only newline
                        // normalisation (it cannot hold references).
                        normalize_newlines(raw)
                    } else {
                        self.unescape(raw, offset, false)?
                    };
                    return Ok(Ev::Text {
                        text,
                        blank,
                        offset,
                    });
                }
                Event::CData(data) => {
                    self.seen_content = true;
                    let raw = data.into_inner();
                    let text = normalize_newlines(self.text_of(&raw, offset)?);
                    if let Some(bad) = first_non_xml_char(&text) {
                        return Err(self.xml_error(
                            offset,
                            format!(
                                "character U+{:04X} cannot appear in XML 1.0",
                                u32::from(bad)
                            ),
                        ));
                    }
                    let blank = text.chars().all(lexical::is_xml_space);
                    return Ok(Ev::Text {
                        text,
                        blank,
                        offset,
                    });
                }
                Event::Eof => return Ok(Ev::Eof { offset }),
            }
        }
    }

    /// The next child of an element with element-only content (whitespace is skipped).
    fn child(&mut self, parent: &str) -> Result<Child<'a>, CodecError> {
        loop {
            match self.next()? {
                Ev::Start {
                    name,
                    attrs,
                    offset,
                } => {
                    return Ok(Child::Start {
                        name,
                        attrs,
                        offset,
                    })
                }
                Ev::End => return Ok(Child::End),
                Ev::Text { blank: true, .. } => {}
                Ev::Text { offset, .. } => {
                    return Err(self.xml_error(
                        offset,
                        format!("text is not allowed directly inside <{parent}>"),
                    ))
                }
                Ev::Eof { offset } => {
                    return Err(self.xml_error(offset, format!("input ends inside <{parent}>")))
                }
            }
        }
    }

    /// A child that must be one of `expected`.
    fn expect_child(
        &mut self,
        parent: &str,
        parent_offset: usize,
        expected: &[&str],
    ) -> Result<(Cow<'a, str>, Attrs<'a>, usize), CodecError> {
        match self.child(parent)? {
            Child::Start {
                name,
                attrs,
                offset,
            } if expected.contains(&name.as_ref()) => Ok((name, attrs, offset)),
            Child::Start { name, offset, .. } => Err(CodecError::UnexpectedElement {
                element: name.into_owned(),
                context: format!("<{parent}> (expected {})", expected.join(" or ")),
                offset,
            }),
            Child::End => Err(CodecError::MissingElement {
                element: expected.join(" or "),
                parent: parent.to_string(),
                offset: parent_offset,
            }),
        }
    }

    /// The end of an element that must have no further children.
    fn expect_end(&mut self, parent: &str) -> Result<(), CodecError> {
        match self.child(parent)? {
            Child::End => Ok(()),
            Child::Start { name, offset, .. } => Err(CodecError::UnexpectedElement {
                element: name.into_owned(),
                context: format!("<{parent}> (no further elements allowed)"),
                offset,
            }),
        }
    }

    /// The character content of a text-only element, through its end tag; borrowed from
    /// the input when it is one unchanged piece.
    fn text_content(
        &mut self,
        element: &str,
        owner: Owner<'_>,
    ) -> Result<Cow<'a, str>, CodecError> {
        let mut content: Cow<'a, str> = Cow::Borrowed("");
        loop {
            match self.next()? {
                Ev::Text { text, offset, .. } => {
                    if content.len() + text.len() > self.limits.max_value_bytes {
                        return Err(CodecError::ValueTooLarge {
                            owner: owner.to_string(),
                            limit: self.limits.max_value_bytes,
                            position: Position::Offset(offset),
                        });
                    }
                    if content.is_empty() {
                        content = text;
                    } else {
                        content.to_mut().push_str(&text);
                    }
                }
                Ev::End => return Ok(content),
                Ev::Start { name, offset, .. } => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: format!("<{element}> of {owner} (text only)"),
                        offset,
                    })
                }
                Ev::Eof { offset } => {
                    return Err(self.xml_error(offset, format!("input ends inside <{element}>")))
                }
            }
        }
    }

    /// An element that must be empty (`VALUE.NULL`, `NAMESPACE`, `CLASSNAME`).
    fn empty_content(&mut self, element: &str) -> Result<(), CodecError> {
        loop {
            match self.next()? {
                Ev::End => return Ok(()),
                Ev::Text { blank: true, .. } => {}
                Ev::Text { offset, .. } => {
                    return Err(self.xml_error(offset, format!("<{element}> must be empty")))
                }
                Ev::Start { name, offset, .. } => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: format!("<{element}> (must be empty)"),
                        offset,
                    })
                }
                Ev::Eof { offset } => {
                    return Err(self.xml_error(offset, format!("input ends inside <{element}>")))
                }
            }
        }
    }

    fn document(&mut self) -> Result<BorrowedInstance<'a>, CodecError> {
        let instance = loop {
            match self.next()? {
                Ev::Start {
                    name,
                    attrs,
                    offset,
                } if name == "INSTANCE" => break self.instance(attrs, offset)?,
                Ev::Start { name, offset, .. } => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: "the document (the root element must be INSTANCE)".into(),
                        offset,
                    })
                }
                Ev::Text { blank: true, .. } => {}
                Ev::Text { offset, .. } => {
                    return Err(self.xml_error(offset, "text before the root element"))
                }
                Ev::End => {
                    let offset = self.position();
                    return Err(self.xml_error(offset, "end tag before the root element"));
                }
                Ev::Eof { .. } => return Err(CodecError::Empty),
            }
        };
        loop {
            match self.next()? {
                Ev::Eof { .. } => return Ok(instance),
                Ev::Text { blank: true, .. } => {}
                Ev::Text { offset, .. } | Ev::Start { offset, .. } => {
                    return Err(CodecError::TrailingContent {
                        position: Position::Offset(offset),
                    })
                }
                Ev::End => {
                    let offset = self.position();
                    return Err(CodecError::TrailingContent {
                        position: Position::Offset(offset),
                    });
                }
            }
        }
    }

    fn instance(
        &mut self,
        mut attrs: Attrs<'a>,
        offset: usize,
    ) -> Result<BorrowedInstance<'a>, CodecError> {
        let class_name = required_name(&mut attrs, "INSTANCE", "CLASSNAME", "class name", offset)?;
        let mut properties: Vec<BorrowedProperty<'a>> = Vec::new();
        // Case-insensitive hashes of the names so far (at most `max_properties`); a hit is
        // confirmed by comparing names.
        let mut seen: Vec<u64> = Vec::new();
        loop {
            let (element, mut attrs, offset) = match self.child("INSTANCE")? {
                Child::End => break,
                Child::Start {
                    name,
                    attrs,
                    offset,
                } => (name, attrs, offset),
            };
            match element.as_ref() {
                "QUALIFIER" if properties.is_empty() => self.qualifier(&attrs)?,
                "PROPERTY" | "PROPERTY.ARRAY" | "PROPERTY.REFERENCE" => {
                    let name =
                        required_name(&mut attrs, &element, "NAME", "property name", offset)?;
                    if properties.len() >= self.limits.max_properties {
                        return Err(CodecError::TooManyProperties {
                            limit: self.limits.max_properties,
                            property: name.into_owned(),
                            position: Position::Offset(offset),
                        });
                    }
                    let hash = name_hash(&name);
                    let duplicate = seen.contains(&hash)
                        && properties
                            .iter()
                            .any(|p| lexical::names_equal(&p.name, &name));
                    seen.push(hash);
                    if duplicate {
                        return Err(CodecError::DuplicateProperty {
                            name: name.into_owned(),
                            position: Position::Offset(offset),
                        });
                    }
                    let property = match element.as_ref() {
                        "PROPERTY" => self.property(name, &attrs)?,
                        "PROPERTY.ARRAY" => self.property_array(name, &attrs)?,
                        _ => self.property_reference(name)?,
                    };
                    properties.push(property);
                }
                "QUALIFIER" => {
                    return Err(CodecError::UnexpectedElement {
                        element: element.into_owned(),
                        context: "<INSTANCE> after a property (qualifiers come first)".into(),
                        offset,
                    })
                }
                _ => {
                    return Err(CodecError::UnexpectedElement {
                        element: element.into_owned(),
                        context: format!("<INSTANCE CLASSNAME={class_name:?}>"),
                        offset,
                    })
                }
            }
        }
        Ok(BorrowedInstance {
            class_name,
            properties,
        })
    }

    /// A `QUALIFIER`: its value is read (within the limits) and dropped.
    fn qualifier(&mut self, attrs: &Attrs<'_>) -> Result<(), CodecError> {
        let owner = Owner::Qualifier(attr(attrs, "NAME").unwrap_or("?"));
        let mut have_value = false;
        loop {
            match self.child("QUALIFIER")? {
                Child::End => return Ok(()),
                Child::Start { name, offset, .. } if have_value => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: format!("<QUALIFIER> {owner} after its value"),
                        offset,
                    })
                }
                Child::Start { name, .. } if name == "VALUE" => {
                    self.text_content("VALUE", owner)?;
                    have_value = true;
                }
                Child::Start { name, offset, .. } if name == "VALUE.ARRAY" => {
                    self.value_array(owner, None, offset)?;
                    have_value = true;
                }
                Child::Start { name, offset, .. } => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: format!("<QUALIFIER> {owner}"),
                        offset,
                    })
                }
            }
        }
    }

    fn declared_type(
        &self,
        element: &str,
        property: &str,
        attrs: &Attrs<'_>,
    ) -> Result<CimType, CodecError> {
        let type_name = required_attr(attrs, element, "TYPE")?;
        match CimType::from_name(type_name) {
            Some(CimType::Reference) => Err(CodecError::WrongShape {
                property: property.to_string(),
                expected: "PROPERTY.REFERENCE for a reference".into(),
                found: format!("<{element} TYPE=\"{type_name}\">"),
            }),
            Some(cim_type) => Ok(cim_type),
            None => Err(CodecError::UnknownCimType(quote(type_name))),
        }
    }

    /// Checks (and, for non-string types, trims) the text of one value.
    fn typed_value(
        property: &str,
        cim_type: CimType,
        raw: Cow<'a, str>,
    ) -> Result<Cow<'a, str>, CodecError> {
        if cim_type == CimType::String {
            return Ok(raw);
        }
        let check = |text: &str| {
            lexical::check_value(cim_type, text)
                .map_err(|reason| invalid_value(property, cim_type, text, reason))
        };
        let trims = lexical::trims(cim_type);
        match raw {
            Cow::Borrowed(raw) => {
                let text = if trims {
                    lexical::trim_xml_space(raw)
                } else {
                    raw
                };
                check(text)?;
                Ok(Cow::Borrowed(text))
            }
            Cow::Owned(raw) => {
                let text = if trims {
                    lexical::trim_xml_space(&raw)
                } else {
                    &raw
                };
                check(text)?;
                Ok(Cow::Owned(if text.len() == raw.len() {
                    raw
                } else {
                    text.to_string()
                }))
            }
        }
    }

    /// Reads the children shared by all three property kinds: `QUALIFIER*` then at most one
    /// value element named `value_element`, handed to `read`.
    fn property_content(
        &mut self,
        element: &str,
        property: &str,
        value_element: &str,
        mut read: impl FnMut(&mut Self, usize) -> Result<BorrowedValue<'a>, CodecError>,
    ) -> Result<BorrowedValue<'a>, CodecError> {
        let mut value = None;
        loop {
            match self.child(element)? {
                Child::End => return Ok(value.unwrap_or(BorrowedValue::Null)),
                Child::Start {
                    name,
                    attrs,
                    offset,
                } => {
                    if value.is_none() && name == "QUALIFIER" {
                        self.qualifier(&attrs)?;
                    } else if value.is_none() && name == value_element {
                        value = Some(read(self, offset)?);
                    } else {
                        return Err(CodecError::UnexpectedElement {
                            element: name.into_owned(),
                            context: format!(
                                "<{element} NAME={property:?}> (allowed: QUALIFIER* then at most one {value_element})"
                            ),
                            offset,
                        });
                    }
                }
            }
        }
    }

    fn property(
        &mut self,
        name: Cow<'a, str>,
        attrs: &Attrs<'_>,
    ) -> Result<BorrowedProperty<'a>, CodecError> {
        let cim_type = self.declared_type("PROPERTY", &name, attrs)?;
        let owner = Owner::Property(&name);
        let value = self.property_content("PROPERTY", &name, "VALUE", |p, _| {
            let raw = p.text_content("VALUE", owner)?;
            Self::typed_value(&name, cim_type, raw).map(BorrowedValue::Scalar)
        })?;
        Ok(BorrowedProperty {
            name,
            cim_type,
            is_array: false,
            value,
        })
    }

    fn property_array(
        &mut self,
        name: Cow<'a, str>,
        attrs: &Attrs<'_>,
    ) -> Result<BorrowedProperty<'a>, CodecError> {
        let cim_type = self.declared_type("PROPERTY.ARRAY", &name, attrs)?;
        let owner = Owner::Property(&name);
        let value =
            self.property_content("PROPERTY.ARRAY", &name, "VALUE.ARRAY", |p, offset| {
                p.value_array(owner, Some((&name, cim_type)), offset)
                    .map(BorrowedValue::Array)
            })?;
        Ok(BorrowedProperty {
            name,
            cim_type,
            is_array: true,
            value,
        })
    }

    /// The elements of a `VALUE.ARRAY`, checked against `typed` (property name and type) when
    /// given.
    fn value_array(
        &mut self,
        owner: Owner<'_>,
        typed: Option<(&str, CimType)>,
        array_offset: usize,
    ) -> Result<Vec<Option<Cow<'a, str>>>, CodecError> {
        let mut items = Vec::new();
        loop {
            let (name, offset) = match self.child("VALUE.ARRAY")? {
                Child::End => return Ok(items),
                Child::Start { name, offset, .. } => (name, offset),
            };
            if items.len() >= self.limits.max_array_len {
                return Err(CodecError::ArrayTooLong {
                    owner: owner.to_string(),
                    limit: self.limits.max_array_len,
                    position: Position::Offset(array_offset),
                });
            }
            match name.as_ref() {
                "VALUE" => {
                    let raw = self.text_content("VALUE", owner)?;
                    items.push(Some(match typed {
                        Some((property, cim_type)) => Self::typed_value(property, cim_type, raw)?,
                        None => raw,
                    }));
                }
                "VALUE.NULL" => {
                    self.empty_content("VALUE.NULL")?;
                    items.push(None);
                }
                _ => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: format!("<VALUE.ARRAY> of {owner} (allowed: VALUE, VALUE.NULL)"),
                        offset,
                    })
                }
            }
        }
    }

    fn property_reference(
        &mut self,
        name: Cow<'a, str>,
    ) -> Result<BorrowedProperty<'a>, CodecError> {
        let owner = Owner::Property(&name);
        let value = self.property_content(
            "PROPERTY.REFERENCE",
            &name,
            "VALUE.REFERENCE",
            |p, offset| {
                let path = p.value_reference(owner, offset)?;
                Ok(BorrowedValue::Reference(Cow::Owned(path.render())))
            },
        )?;
        Ok(BorrowedProperty {
            name,
            cim_type: CimType::Reference,
            is_array: false,
            value,
        })
    }

    /// The content of a `VALUE.REFERENCE`, through its end tag.
    fn value_reference(
        &mut self,
        owner: Owner<'_>,
        offset: usize,
    ) -> Result<ObjectPath, CodecError> {
        const FORMS: [&str; 6] = [
            "INSTANCEPATH",
            "LOCALINSTANCEPATH",
            "INSTANCENAME",
            "CLASSPATH",
            "LOCALCLASSPATH",
            "CLASSNAME",
        ];
        let (element, attrs, at) = self.expect_child("VALUE.REFERENCE", offset, &FORMS)?;
        let path = match element.as_ref() {
            "INSTANCEPATH" => {
                let (host, namespace) = self.namespace_path("INSTANCEPATH", at, owner)?;
                let (_, attrs, name_at) =
                    self.expect_child("INSTANCEPATH", at, &["INSTANCENAME"])?;
                let (class, keys) = self.instance_name(&attrs, name_at, owner)?;
                self.expect_end("INSTANCEPATH")?;
                ObjectPath {
                    host: Some(host),
                    namespace,
                    class,
                    keys,
                }
            }
            "LOCALINSTANCEPATH" => {
                let (_, _, ns_at) =
                    self.expect_child("LOCALINSTANCEPATH", at, &["LOCALNAMESPACEPATH"])?;
                let namespace = self.local_namespace_path(ns_at)?;
                let (_, attrs, name_at) =
                    self.expect_child("LOCALINSTANCEPATH", at, &["INSTANCENAME"])?;
                let (class, keys) = self.instance_name(&attrs, name_at, owner)?;
                self.expect_end("LOCALINSTANCEPATH")?;
                ObjectPath {
                    host: None,
                    namespace,
                    class,
                    keys,
                }
            }
            "INSTANCENAME" => {
                let (class, keys) = self.instance_name(&attrs, at, owner)?;
                ObjectPath {
                    host: None,
                    namespace: Vec::new(),
                    class,
                    keys,
                }
            }
            "CLASSPATH" => {
                let (host, namespace) = self.namespace_path("CLASSPATH", at, owner)?;
                let (_, attrs, name_at) = self.expect_child("CLASSPATH", at, &["CLASSNAME"])?;
                let class = self.class_name(&attrs, name_at)?;
                self.expect_end("CLASSPATH")?;
                ObjectPath {
                    host: Some(host),
                    namespace,
                    class,
                    keys: Keys::Class,
                }
            }
            "LOCALCLASSPATH" => {
                let (_, _, ns_at) =
                    self.expect_child("LOCALCLASSPATH", at, &["LOCALNAMESPACEPATH"])?;
                let namespace = self.local_namespace_path(ns_at)?;
                let (_, attrs, name_at) =
                    self.expect_child("LOCALCLASSPATH", at, &["CLASSNAME"])?;
                let class = self.class_name(&attrs, name_at)?;
                self.expect_end("LOCALCLASSPATH")?;
                ObjectPath {
                    host: None,
                    namespace,
                    class,
                    keys: Keys::Class,
                }
            }
            _ => {
                let class = self.class_name(&attrs, at)?;
                ObjectPath {
                    host: None,
                    namespace: Vec::new(),
                    class,
                    keys: Keys::Class,
                }
            }
        };
        self.expect_end("VALUE.REFERENCE")?;
        Ok(path)
    }

    /// `CLASSNAME NAME=".."` (empty), through its end tag.
    fn class_name(&mut self, attrs: &Attrs<'_>, offset: usize) -> Result<String, CodecError> {
        let class = cim_name(
            "class name",
            required_attr(attrs, "CLASSNAME", "NAME")?,
            offset,
        )?;
        self.empty_content("CLASSNAME")?;
        Ok(class)
    }

    /// The `NAMESPACEPATH` child of `parent`: `HOST` then `LOCALNAMESPACEPATH`.
    fn namespace_path(
        &mut self,
        parent: &str,
        offset: usize,
        owner: Owner<'_>,
    ) -> Result<(String, Vec<String>), CodecError> {
        let (_, _, at) = self.expect_child(parent, offset, &["NAMESPACEPATH"])?;
        let (_, _, host_at) = self.expect_child("NAMESPACEPATH", at, &["HOST"])?;
        let host = self.text_content("HOST", owner)?;
        let host = lexical::trim_xml_space(&host).to_string();
        if !path::is_host(&host) {
            return Err(CodecError::InvalidName {
                what: "host".into(),
                name: quote(&host),
                position: Position::Offset(host_at),
            });
        }
        let (_, _, ns_at) = self.expect_child("NAMESPACEPATH", at, &["LOCALNAMESPACEPATH"])?;
        let namespace = self.local_namespace_path(ns_at)?;
        self.expect_end("NAMESPACEPATH")?;
        Ok((host, namespace))
    }

    /// The content of a `LOCALNAMESPACEPATH`: one or more `NAMESPACE NAME=".."`.
    fn local_namespace_path(&mut self, offset: usize) -> Result<Vec<String>, CodecError> {
        let mut namespace = Vec::new();
        loop {
            match self.child("LOCALNAMESPACEPATH")? {
                Child::End if namespace.is_empty() => {
                    return Err(CodecError::MissingElement {
                        element: "NAMESPACE".into(),
                        parent: "LOCALNAMESPACEPATH".into(),
                        offset,
                    })
                }
                Child::End => return Ok(namespace),
                Child::Start {
                    name,
                    attrs,
                    offset,
                } if name == "NAMESPACE" => {
                    if namespace.len() >= self.limits.max_array_len {
                        return Err(CodecError::ArrayTooLong {
                            owner: "LOCALNAMESPACEPATH".into(),
                            limit: self.limits.max_array_len,
                            position: Position::Offset(offset),
                        });
                    }
                    namespace.push(cim_name(
                        "namespace name",
                        required_attr(&attrs, "NAMESPACE", "NAME")?,
                        offset,
                    )?);
                    self.empty_content("NAMESPACE")?;
                }
                Child::Start { name, offset, .. } => {
                    return Err(CodecError::UnexpectedElement {
                        element: name.into_owned(),
                        context: "<LOCALNAMESPACEPATH> (allowed: NAMESPACE)".into(),
                        offset,
                    })
                }
            }
        }
    }

    /// An `INSTANCENAME` (already opened), through its end tag.
    fn instance_name(
        &mut self,
        attrs: &Attrs<'_>,
        offset: usize,
        owner: Owner<'_>,
    ) -> Result<(String, Keys), CodecError> {
        let class = cim_name(
            "class name",
            required_attr(attrs, "INSTANCENAME", "CLASSNAME")?,
            offset,
        )?;
        let mut bindings = Vec::new();
        let mut single = None;
        loop {
            let (name, attrs, at) = match self.child("INSTANCENAME")? {
                Child::End => break,
                Child::Start {
                    name,
                    attrs,
                    offset,
                } => (name, attrs, offset),
            };
            match name.as_ref() {
                "KEYBINDING" if single.is_none() => {
                    if bindings.len() >= self.limits.max_properties {
                        return Err(CodecError::TooManyProperties {
                            limit: self.limits.max_properties,
                            property: format!("key of {owner}"),
                            position: Position::Offset(at),
                        });
                    }
                    let key =
                        cim_name("key name", required_attr(&attrs, "KEYBINDING", "NAME")?, at)?;
                    let (element, attrs, value_at) =
                        self.expect_child("KEYBINDING", at, &["KEYVALUE", "VALUE.REFERENCE"])?;
                    let value = self.key_value(&element, &attrs, value_at, owner)?;
                    self.expect_end("KEYBINDING")?;
                    bindings.push((key, value));
                }
                "KEYVALUE" | "VALUE.REFERENCE" if bindings.is_empty() && single.is_none() => {
                    single = Some(self.key_value(&name, &attrs, at, owner)?);
                }
                _ => return Err(CodecError::UnexpectedElement {
                    element: name.into_owned(),
                    context:
                        "<INSTANCENAME> (allowed: KEYBINDING*, or one KEYVALUE or VALUE.REFERENCE)"
                            .into(),
                    offset: at,
                }),
            }
        }
        let keys = match single {
            Some(value) => Keys::Single(value),
            None if bindings.is_empty() => Keys::Singleton,
            None => Keys::Bindings(bindings),
        };
        Ok((class, keys))
    }

    /// A `KEYVALUE` or key `VALUE.REFERENCE` (already opened), through its end tag.
    fn key_value(
        &mut self,
        element: &str,
        attrs: &Attrs<'_>,
        offset: usize,
        owner: Owner<'_>,
    ) -> Result<KeyValue, CodecError> {
        if element == "VALUE.REFERENCE" {
            let nested = self.value_reference(owner, offset)?;
            return Ok(KeyValue::String(nested.render()));
        }
        let value_type = attr(attrs, "VALUETYPE").unwrap_or("string");
        let raw = self.text_content("KEYVALUE", owner)?;
        let property = || owner.to_string();
        match value_type {
            "string" => Ok(KeyValue::String(raw.into_owned())),
            "boolean" => {
                let text = lexical::trim_xml_space(&raw);
                if lexical::parse_boolean(text).is_none() {
                    return Err(invalid_value(
                        &property(),
                        CimType::Reference,
                        text,
                        "a boolean key value is TRUE or FALSE",
                    ));
                }
                Ok(KeyValue::Boolean(text.to_string()))
            }
            "numeric" => {
                let text = lexical::trim_xml_space(&raw);
                if !path::is_numeric_key(text) {
                    return Err(invalid_value(
                        &property(),
                        CimType::Reference,
                        text,
                        "a numeric key value must be an integer or a real",
                    ));
                }
                Ok(KeyValue::Numeric(text.to_string()))
            }
            other => Err(self.xml_error(
                offset,
                format!(
                    "KEYVALUE VALUETYPE must be string, boolean or numeric, not {:?}",
                    quote(other)
                ),
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Escapes text for element content (`attribute == false`) or a double-quoted attribute value.
///
/// `&`, `<`, `>` and `"` become entity references; CR (and, in attributes, tab and LF) become
/// character references so that XML's newline and attribute normalisation leave them intact;
/// DEL and the C1 controls become character references (legal, and safer than raw). Characters
/// XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) are also written as
/// character references, which conforming XML 1.0 readers, this decoder included, refuse.
pub(crate) fn escape_into(out: &mut String, text: &str, attribute: bool) {
    // Runs of printable ASCII are copied whole; everything else is decided per character.
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let plain = match bytes[i] {
            b'&' | b'<' | b'>' | b'"' | b'\r' => false,
            b'\t' | b'\n' => !attribute,
            0x20..=0x7E => true,
            _ => false,
        };
        if plain {
            i += 1;
            continue;
        }
        out.push_str(&text[start..i]);
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' if attribute => {
                out.push_str(&format!("&#x{:X};", u32::from(c)));
            }
            '\t' | '\n' => out.push(c),
            c if !lexical::is_xml_char(c) || ('\u{7F}'..='\u{9F}').contains(&c) => {
                out.push_str(&format!("&#x{:X};", u32::from(c)));
            }
            c => out.push(c),
        }
        i += c.len_utf8();
        start = i;
    }
    out.push_str(&text[start..]);
}

fn open_tag(out: &mut String, element: &str, attrs: &[(&str, &str)]) {
    out.push('<');
    out.push_str(element);
    for (name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape_into(out, value, true);
        out.push('"');
    }
    out.push('>');
}

fn close_tag(out: &mut String, element: &str) {
    out.push_str("</");
    out.push_str(element);
    out.push('>');
}

fn text_element(out: &mut String, element: &str, attrs: &[(&str, &str)], text: &str) {
    open_tag(out, element, attrs);
    escape_into(out, text, false);
    close_tag(out, element);
}

fn write_local_namespace(out: &mut String, namespace: &[String]) {
    open_tag(out, "LOCALNAMESPACEPATH", &[]);
    for ns in namespace {
        open_tag(out, "NAMESPACE", &[("NAME", ns)]);
        close_tag(out, "NAMESPACE");
    }
    close_tag(out, "LOCALNAMESPACEPATH");
}

fn write_key_value(out: &mut String, value: &KeyValue) {
    text_element(
        out,
        "KEYVALUE",
        &[("VALUETYPE", value.value_type())],
        value.text(),
    );
}

fn write_instance_name(out: &mut String, class: &str, keys: &Keys) {
    open_tag(out, "INSTANCENAME", &[("CLASSNAME", class)]);
    match keys {
        Keys::Class | Keys::Singleton => {}
        Keys::Single(value) => write_key_value(out, value),
        Keys::Bindings(bindings) => {
            for (name, value) in bindings {
                open_tag(out, "KEYBINDING", &[("NAME", name)]);
                write_key_value(out, value);
                close_tag(out, "KEYBINDING");
            }
        }
    }
    close_tag(out, "INSTANCENAME");
}

fn write_class_name(out: &mut String, class: &str) {
    open_tag(out, "CLASSNAME", &[("NAME", class)]);
    close_tag(out, "CLASSNAME");
}

/// Writes the object-path elements for `text`, or — when `text` is not a canonical object
/// path — the text itself as character data, which the decoder refuses.
fn write_reference(out: &mut String, text: &str) {
    open_tag(out, "VALUE.REFERENCE", &[]);
    match path::parse(text) {
        Ok(p) if p.render() == text => {
            let is_class = p.keys == Keys::Class;
            match (&p.host, p.namespace.is_empty()) {
                (Some(host), _) => {
                    let outer = if is_class {
                        "CLASSPATH"
                    } else {
                        "INSTANCEPATH"
                    };
                    open_tag(out, outer, &[]);
                    open_tag(out, "NAMESPACEPATH", &[]);
                    text_element(out, "HOST", &[], host);
                    write_local_namespace(out, &p.namespace);
                    close_tag(out, "NAMESPACEPATH");
                    if is_class {
                        write_class_name(out, &p.class);
                    } else {
                        write_instance_name(out, &p.class, &p.keys);
                    }
                    close_tag(out, outer);
                }
                (None, false) => {
                    let outer = if is_class {
                        "LOCALCLASSPATH"
                    } else {
                        "LOCALINSTANCEPATH"
                    };
                    open_tag(out, outer, &[]);
                    write_local_namespace(out, &p.namespace);
                    if is_class {
                        write_class_name(out, &p.class);
                    } else {
                        write_instance_name(out, &p.class, &p.keys);
                    }
                    close_tag(out, outer);
                }
                (None, true) if is_class => write_class_name(out, &p.class),
                (None, true) => write_instance_name(out, &p.class, &p.keys),
            }
        }
        _ => escape_into(out, text, false),
    }
    close_tag(out, "VALUE.REFERENCE");
}

/// Writes a value in the form its variant calls for. If the variant does not fit the
/// property's declaration the result breaks the DSP0201 grammar, and decoding refuses it.
pub(crate) fn write_value(out: &mut String, value: &PropertyValue) {
    match value {
        PropertyValue::Null => {}
        PropertyValue::Scalar(text) => text_element(out, "VALUE", &[], text),
        PropertyValue::Array(items) => {
            open_tag(out, "VALUE.ARRAY", &[]);
            for item in items {
                match item {
                    Some(text) => text_element(out, "VALUE", &[], text),
                    None => out.push_str("<VALUE.NULL/>"),
                }
            }
            close_tag(out, "VALUE.ARRAY");
        }
        PropertyValue::Reference(text) => write_reference(out, text),
    }
}

/// The fixed text of [`encode`]'s output for `instance`'s shape (class, and each property's
/// name, type and arrayness): what comes before the first property, and each property's
/// opening and closing tags — everything but the values, which [`write_value`] writes.
pub(crate) fn compact_frames(instance: &Instance) -> (String, Vec<(String, String)>, &'static str) {
    let mut head = String::new();
    open_tag(
        &mut head,
        "INSTANCE",
        &[("CLASSNAME", &instance.class_name)],
    );
    let properties = instance
        .properties
        .iter()
        .map(|p| {
            let mut open = String::new();
            let element = if p.cim_type == CimType::Reference {
                open_tag(&mut open, "PROPERTY.REFERENCE", &[("NAME", &p.name)]);
                "PROPERTY.REFERENCE"
            } else {
                let element = if p.is_array {
                    "PROPERTY.ARRAY"
                } else {
                    "PROPERTY"
                };
                open_tag(
                    &mut open,
                    element,
                    &[("NAME", &p.name), ("TYPE", p.cim_type.name())],
                );
                element
            };
            let mut close = String::new();
            close_tag(&mut close, element);
            (open, close)
        })
        .collect();
    (head, properties, "</INSTANCE>")
}

/// Writes `instance` as one compact CIM-XML `INSTANCE` element: the DSP0201 grammar and
/// nothing more, as `GetText(1)` (CimDtd20) writes a freshly built instance.
pub(crate) fn encode(instance: &Instance) -> String {
    write_instance(instance, false)
}

/// Writes `instance` as WMI's `GetText(2)` (WmiDtd20) shapes it: the same grammar, plus what
/// WMI adds and a decoder must skip — an instance qualifier, `CLASSORIGIN` and `PROPAGATED`
/// on every property, a `CIMTYPE` qualifier before every value, and `REFERENCECLASS` on
/// references. Qualifiers are dropped and unknown attributes ignored by [`decode`], so the
/// result decodes to exactly what [`encode`] would give. WMI's system properties (`__PATH`,
/// `__CLASS`, ...) are not added: they would be properties of the decoded instance.
pub(crate) fn encode_wmi(instance: &Instance) -> String {
    write_instance(instance, true)
}

/// One WMI-style qualifier element with a single value.
fn write_qualifier(
    out: &mut String,
    name: &str,
    cim_type: &str,
    extra: &[(&str, &str)],
    value: &str,
) {
    let mut attrs = vec![("NAME", name), ("PROPAGATED", "true"), ("TYPE", cim_type)];
    attrs.extend_from_slice(extra);
    open_tag(out, "QUALIFIER", &attrs);
    text_element(out, "VALUE", &[], value);
    close_tag(out, "QUALIFIER");
}

fn write_instance(instance: &Instance, wmi: bool) -> String {
    let mut out = String::with_capacity(256 + 160 * instance.properties.len());
    open_tag(&mut out, "INSTANCE", &[("CLASSNAME", &instance.class_name)]);
    if wmi {
        write_qualifier(
            &mut out,
            "dynamic",
            "boolean",
            &[("TOSUBCLASS", "false"), ("TOINSTANCE", "true")],
            "TRUE",
        );
    }
    for p in &instance.properties {
        // At most four attributes: NAME, CLASSORIGIN, PROPAGATED, TYPE or REFERENCECLASS.
        let mut attrs: [(&str, &str); 4] = [("", ""); 4];
        attrs[0] = ("NAME", &p.name);
        let mut n = 1;
        if wmi {
            let origin = super::typed::class_origin(&instance.class_name, &p.name);
            let propagated = if lexical::names_equal(origin, &instance.class_name) {
                "false"
            } else {
                "true"
            };
            attrs[1] = ("CLASSORIGIN", origin);
            attrs[2] = ("PROPAGATED", propagated);
            n = 3;
        }
        // Only WMI's shape names the class a reference points to.
        let reference_class = match (&p.value, wmi) {
            (PropertyValue::Reference(text), true) => path::parse(text).ok().map(|path| path.class),
            _ => None,
        };
        let element = if p.cim_type == CimType::Reference {
            if let (true, Some(class)) = (wmi, &reference_class) {
                attrs[n] = ("REFERENCECLASS", class);
                n += 1;
            }
            "PROPERTY.REFERENCE"
        } else {
            attrs[n] = ("TYPE", p.cim_type.name());
            n += 1;
            if p.is_array {
                "PROPERTY.ARRAY"
            } else {
                "PROPERTY"
            }
        };
        open_tag(&mut out, element, &attrs[..n]);
        if wmi {
            let cim_type: std::borrow::Cow<'_, str> = match (&reference_class, p.cim_type) {
                (Some(class), _) => format!("ref:{class}").into(),
                (None, CimType::Reference) => "ref".into(),
                (None, t) => t.name().into(),
            };
            write_qualifier(
                &mut out,
                "CIMTYPE",
                "string",
                &[("TOINSTANCE", "true")],
                &cim_type,
            );
        }
        write_value(&mut out, &p.value);
        close_tag(&mut out, element);
    }
    close_tag(&mut out, "INSTANCE");
    out
}

/// The first character in `instance`'s names or values that XML 1.0 cannot carry, with the
/// property it is in (`None` for the class name).
pub(crate) fn first_unrepresentable(instance: &Instance) -> Option<(Option<&Property>, char)> {
    let bad = |s: &str| s.chars().find(|c| !lexical::is_xml_char(*c));
    if let Some(c) = bad(&instance.class_name) {
        return Some((None, c));
    }
    for p in &instance.properties {
        let found = bad(&p.name).or_else(|| match &p.value {
            PropertyValue::Null => None,
            PropertyValue::Scalar(t) | PropertyValue::Reference(t) => bad(t),
            PropertyValue::Array(items) => items.iter().flatten().find_map(|t| bad(t)),
        });
        if let Some(c) = found {
            return Some((Some(p), c));
        }
    }
    None
}
