//! The narrowest case of CIM-XML decoding: the compact form this codec's own encoder writes
//! for [`Encoding::CimXml`](super::Encoding::CimXml), scanned byte by byte without an XML
//! reader.
//!
//! [`decode`] reads exactly
//!
//! ```text
//! <INSTANCE CLASSNAME="Class"><PROPERTY NAME="Name" TYPE="type"><VALUE>text</VALUE></PROPERTY>…</INSTANCE>
//! ```
//!
//! — no byte-order mark, no whitespace between or around elements, those attributes in that
//! order with double quotes and single spaces, scalar properties only (a `PROPERTY` with a
//! `VALUE` or with nothing, for NULL) — which is what services written with this codec send
//! (the reference's `CIM_Error` outputs, for one). Names are ASCII CIM identifiers, the type
//! one of [`super::xml_fast`]'s, and each value goes through the same unescaping and type
//! check as there. Anything else — another shape, a value that does not pass, a limit reached
//! — gives `None`, and the caller takes [`super::decode_borrowed`]'s path, so that what is
//! refused, and every error message, is the full decoder's.
//!
//! Within that form quick-xml's reader produces the events [`super::xml_fast`] reads (a start
//! tag, the raw text up to the next `<`, an end tag), and this scan gives what `xml_fast`
//! gives for the same text, which is what the full decoder gives:
//! [`super::fuzz::check_fast_path`] checks both on everything the tests and fuzz smoke feed it.

use std::borrow::Cow;

use super::instance::{BorrowedInstance, BorrowedProperty, BorrowedValue, CimType};
use super::xml_fast::{cim_type, find_byte, is_identifier, typed, unescape, DEPTH, MAX_PROPERTIES};
use super::Limits;

struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    /// Step over `literal` when the text continues with it.
    #[inline]
    fn eat(&mut self, literal: &[u8]) -> bool {
        let end = self.at + literal.len();
        let found = self.text.as_bytes().get(self.at..end) == Some(literal);
        if found {
            self.at = end;
        }
        found
    }

    /// The text up to the next `byte` (ASCII), stepping over both.
    #[inline]
    fn until(&mut self, byte: u8) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let end = find_byte(bytes, self.at, bytes.len(), byte)?;
        // `byte` is ASCII: both bounds are character boundaries.
        let found = self.text.get(self.at..end)?;
        self.at = end + 1;
        Some(found)
    }

    /// The text up to the next `<`, leaving the cursor on it.
    #[inline]
    fn text_before_tag(&mut self) -> Option<&'a str> {
        let found = self.until(b'<')?;
        self.at -= 1;
        Some(found)
    }
}

/// Decodes `text` when it takes exactly the compact form; `None` otherwise, without deciding
/// anything.
pub(crate) fn decode<'a>(text: &'a str, limits: &Limits) -> Option<BorrowedInstance<'a>> {
    if limits.max_depth < DEPTH || text.len() > limits.max_bytes {
        return None;
    }
    let mut scan = Scan { text, at: 0 };
    if !scan.eat(b"<INSTANCE CLASSNAME=\"") {
        return None;
    }
    let class = scan.until(b'"').filter(|c| is_identifier(c))?;
    if !scan.eat(b">") {
        return None;
    }
    let max_properties = limits.max_properties.min(MAX_PROPERTIES);
    let mut properties: Vec<BorrowedProperty<'a>> = Vec::with_capacity(8);
    while !scan.eat(b"</INSTANCE>") {
        if !scan.eat(b"<PROPERTY NAME=\"") {
            return None;
        }
        let name = scan.until(b'"').filter(|n| is_identifier(n))?;
        if !scan.eat(b" TYPE=\"") {
            return None;
        }
        let cim_type = cim_type(scan.until(b'"').filter(|t| is_identifier(t))?)?;
        if cim_type == CimType::Reference || properties.len() >= max_properties || !scan.eat(b">") {
            return None;
        }
        let value = if scan.eat(b"</PROPERTY>") {
            BorrowedValue::Null
        } else {
            if !scan.eat(b"<VALUE>") {
                return None;
            }
            let raw = scan.text_before_tag()?;
            if !scan.eat(b"</VALUE></PROPERTY>") {
                return None;
            }
            let value = unescape(raw, false)?;
            if value.len() > limits.max_value_bytes {
                return None;
            }
            BorrowedValue::Scalar(typed(cim_type, value)?)
        };
        if properties
            .iter()
            .any(|p| p.name.len() == name.len() && p.name.eq_ignore_ascii_case(name))
        {
            return None;
        }
        properties.push(BorrowedProperty {
            name: Cow::Borrowed(name),
            cim_type,
            is_array: false,
            value,
        });
    }
    (scan.at == text.len()).then_some(BorrowedInstance {
        class_name: Cow::Borrowed(class),
        properties,
    })
}
