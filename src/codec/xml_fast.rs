//! The common case of CIM-XML decoding, straight from quick-xml's events into a
//! [`BorrowedInstance`]: no event layer in between, no allocation per value.
//!
//! [`decode`] reads the documents services actually receive — one `INSTANCE` of `PROPERTY`
//! and `PROPERTY.ARRAY` elements with their values, as WMI's `GetText(1)` and pywbem write
//! them — in one flat loop over quick-xml's reader (configured exactly as the full decoder
//! in [`super::xml`] configures it), parsing the few attributes it needs itself and
//! borrowing every name and value from the input unless a reference had to be unescaped.
//!
//! It only ever *accepts*. Whenever it meets anything else — an XML declaration, a comment,
//! a processing instruction, CDATA, a qualifier, a reference property, an attribute or a
//! character that needs more than entity unescaping, a value or name that does not pass its
//! check, a limit reached, any error of the reader — it gives up with `None` and the full
//! decoder reads the document from the start, so that what is refused, and every error
//! message, is the full decoder's. When it does return an instance, it is the one the full
//! decoder returns for the same text: `tests/codec.rs` and the fuzz smoke check this on
//! generated and mutated documents ([`super::fuzz::check_text`]).

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::instance::{BorrowedInstance, BorrowedProperty, BorrowedValue, CimType};
use super::lexical;
use super::string_list::StringList;
use super::Limits;

/// The deepest element this path reads (`INSTANCE` > `PROPERTY.ARRAY` > `VALUE.ARRAY` >
/// `VALUE`); with a smaller [`Limits::max_depth`] the full decoder decides.
pub(super) const DEPTH: usize = 4;

/// Most attributes one element may carry on this path.
const MAX_ATTRIBUTES: usize = 8;

/// Most properties this path reads (duplicates are found by comparing names pairwise).
pub(super) const MAX_PROPERTIES: usize = 64;

/// Bytes of attribute names this path reads: ASCII letters, digits, `_`, `:`, `-`, `.`.
const ATTRIBUTE_NAME: [bool; 256] = byte_class(b"_:-.");

/// Bytes of CIM identifiers: ASCII letters, digits, `_` (non-ASCII names take the full
/// decoder).
const IDENTIFIER: [bool; 256] = byte_class(b"_");

const fn byte_class(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// An ASCII CIM identifier (what [`lexical::is_identifier`] accepts, for ASCII).
pub(super) fn is_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes
        .first()
        .is_some_and(|b| *b == b'_' || b.is_ascii_alphabetic())
        && bytes.iter().all(|&b| IDENTIFIER[usize::from(b)])
}

#[cfg(not(target_arch = "x86_64"))]
const ONES: u64 = 0x0101_0101_0101_0101;
#[cfg(not(target_arch = "x86_64"))]
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` (little-endian) that may be `&`, below 0x20 or 0xEF;
/// the lowest one set is exact.
#[cfg(not(target_arch = "x86_64"))]
fn special_mask(w: u64) -> u64 {
    let amp = w ^ (ONES * u64::from(b'&'));
    let ef = w ^ (ONES * 0xEF);
    ((amp.wrapping_sub(ONES) & !amp)
        | (ef.wrapping_sub(ONES) & !ef)
        | (w.wrapping_sub(ONES * 0x20) & !w))
        & HIGHS
}

/// The first byte at or after `from` that is `&`, below 0x20 or 0xEF (the lead byte of
/// U+FFFE and U+FFFF), sixteen bytes at a time with SSE2 (part of every x86-64 CPU): the
/// last, partial block is read as the input's last sixteen bytes with the bytes already
/// scanned masked off; inputs shorter than a block byte by byte.
#[cfg(target_arch = "x86_64")]
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// Bit k set when byte k of the sixteen at `block` is special.
    ///
    /// # Safety
    /// `block` must be valid for reading sixteen bytes.
    #[inline(always)]
    unsafe fn special_bits(block: *const u8) -> u32 {
        let v = _mm_loadu_si128(block.cast::<__m128i>());
        let below_20 = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
        let amp = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'&' as i8));
        let ef = _mm_cmpeq_epi8(v, _mm_set1_epi8(0xEFu8 as i8));
        _mm_movemask_epi8(_mm_or_si128(below_20, _mm_or_si128(amp, ef))) as u32
    }

    let len = bytes.len();
    let mut at = from;
    if len >= 16 {
        while at + 16 <= len {
            // SAFETY: at + 16 <= len, and SSE2 is baseline on x86-64.
            let bits = unsafe { special_bits(bytes.as_ptr().add(at)) };
            if bits != 0 {
                return Some(at + bits.trailing_zeros() as usize);
            }
            at += 16;
        }
        if at >= len {
            return None;
        }
        let base = len - 16;
        // SAFETY: base + 16 == len; bytes below `at` were scanned and are shifted out.
        let bits = unsafe { special_bits(bytes.as_ptr().add(base)) } >> (at - base);
        return (bits != 0).then(|| at + bits.trailing_zeros() as usize);
    }
    bytes
        .get(at..)?
        .iter()
        .position(|&b| b == b'&' || b < 0x20 || b == 0xEF)
        .map(|i| at + i)
}

/// The first byte at or after `from` that is `&`, below 0x20 or 0xEF (the lead byte of
/// U+FFFE and U+FFFF), eight bytes at a time: in each word, the lowest byte flagged by the
/// zero-byte and below-0x20 tests is exact (only bytes above a flagged one can be flagged
/// wrongly).
#[cfg(not(target_arch = "x86_64"))]
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let mask = special_mask(u64::from_le_bytes(w));
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes
        .get(at..)?
        .iter()
        .position(|&b| b == b'&' || b < 0x20 || b == 0xEF)
        .map(|i| at + i)
}

/// The first position at or after `from`, and before `end`, that does not hold a byte of
/// an attribute name ([`ATTRIBUTE_NAME`]); `end` when there is none. Sixteen bytes at a time
/// where sixteen bytes of `text` remain (they may lie past `end`: only what is before it
/// counts).
fn name_end(text: &[u8], from: usize, end: usize) -> usize {
    let mut at = from;
    #[cfg(target_arch = "x86_64")]
    while at < end && at + 16 <= text.len() {
        // SAFETY: at + 16 <= text.len().
        let other = !unsafe { simd::name_bits(text.as_ptr().add(at)) } & 0xFFFF;
        if other != 0 {
            return (at + other.trailing_zeros() as usize).min(end);
        }
        at += 16;
    }
    while at < end
        && text
            .get(at)
            .is_some_and(|&b| ATTRIBUTE_NAME[usize::from(b)])
    {
        at += 1;
    }
    at.min(end)
}

/// The first position at or after `from`, and before `end`, that holds `byte`; sixteen bytes
/// at a time as [`name_end`] reads them.
pub(super) fn find_byte(text: &[u8], from: usize, end: usize, byte: u8) -> Option<usize> {
    let mut at = from;
    #[cfg(target_arch = "x86_64")]
    while at < end && at + 16 <= text.len() {
        // SAFETY: at + 16 <= text.len().
        let found = unsafe { simd::equal_bits(text.as_ptr().add(at), byte) };
        if found != 0 {
            let i = at + found.trailing_zeros() as usize;
            return (i < end).then_some(i);
        }
        at += 16;
    }
    (at..end).find(|&i| text.get(i) == Some(&byte))
}

/// Byte classes of sixteen bytes at once, with SSE2 (part of every x86-64 CPU).
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8,
        _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// All ones in the bytes of `v` within `lo..=hi` (unsigned).
    #[inline(always)]
    unsafe fn within(v: __m128i, lo: u8, hi: u8) -> __m128i {
        let above = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(lo as i8)), v);
        let below = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(hi as i8)), v);
        _mm_and_si128(above, below)
    }

    /// Bit k set when byte k of the sixteen at `block` is a byte of an attribute name: an
    /// ASCII letter or digit, `_`, `:`, `-` or `.` (what `ATTRIBUTE_NAME` holds).
    ///
    /// # Safety
    /// `block` must be valid for reading sixteen bytes.
    #[inline(always)]
    pub(super) unsafe fn name_bits(block: *const u8) -> u32 {
        let v = _mm_loadu_si128(block.cast::<__m128i>());
        // `-` `.` `/` `0`..`9` `:` without `/`; letters of either case; `_`.
        let punct_digits = _mm_andnot_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'/' as i8)),
            within(v, b'-', b':'),
        );
        let letters = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
        let underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
        _mm_movemask_epi8(_mm_or_si128(
            punct_digits,
            _mm_or_si128(letters, underscore),
        )) as u32
    }

    /// Bit k set when byte k of the sixteen at `block` is `byte`.
    ///
    /// # Safety
    /// `block` must be valid for reading sixteen bytes.
    #[inline(always)]
    pub(super) unsafe fn equal_bits(block: *const u8, byte: u8) -> u32 {
        let v = _mm_loadu_si128(block.cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8))) as u32
    }
}

/// The reference that follows an `&` (`rest` starts after it): its character and how many
/// bytes of `rest` it takes. Only the forms `super::xml::unescape_references` resolves
/// itself (and agrees with quick-xml on); `None` for anything else, and for a character
/// reference to a character XML 1.0 cannot carry.
fn reference(rest: &[u8]) -> Option<(char, usize)> {
    Some(match rest {
        [b'l', b't', b';', ..] => ('<', 3),
        [b'g', b't', b';', ..] => ('>', 3),
        [b'a', b'm', b'p', b';', ..] => ('&', 4),
        [b'q', b'u', b'o', b't', b';', ..] => ('"', 5),
        [b'a', b'p', b'o', b's', b';', ..] => ('\'', 5),
        [b'#', b'x', digits @ ..] => {
            let end = digits.iter().take(9).position(|&b| b == b';')?;
            let digits = digits.get(..end)?;
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let code = digits.iter().try_fold(0u32, |v, &d| {
                v.checked_mul(16)?.checked_add(char::from(d).to_digit(16)?)
            })?;
            (char_of(code)?, end + 3)
        }
        [b'#', digits @ ..] => {
            let end = digits.iter().take(9).position(|&b| b == b';')?;
            let digits = digits.get(..end)?;
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let code = digits.iter().try_fold(0u32, |v, &d| {
                v.checked_mul(10)?.checked_add(u32::from(d - b'0'))
            })?;
            (char_of(code)?, end + 2)
        }
        _ => return None,
    })
}

/// Character data or an attribute value with its references replaced, in one pass that also
/// checks every character: tab and LF pass (in attribute values only when `attribute` is
/// false, as the full decoder would turn them into spaces), CR, other controls and 0xEF
/// lead bytes give `None` (the full decoder normalises or refuses them). Borrowed when
/// nothing was replaced.
#[inline]
pub(super) fn unescape(raw: &str, attribute: bool) -> Option<Cow<'_, str>> {
    let bytes = raw.as_bytes();
    let mut at = 0;
    while let Some(i) = find_special(bytes, at) {
        match bytes.get(i)? {
            b'\t' | b'\n' if !attribute => at = i + 1,
            b'&' => {
                let mut text = String::with_capacity(raw.len());
                text.push_str(raw.get(..i)?);
                unescape_into(raw.get(i..)?, attribute, &mut text)?;
                return Some(Cow::Owned(text));
            }
            _ => return None,
        }
    }
    Some(Cow::Borrowed(raw))
}

/// [`unescape`], appending the text to `out` (which may hold more than it on `None`).
fn unescape_into(raw: &str, attribute: bool, out: &mut String) -> Option<()> {
    let bytes = raw.as_bytes();
    let mut done = 0;
    let mut at = 0;
    while let Some(i) = find_special(bytes, at) {
        match bytes.get(i)? {
            b'\t' | b'\n' if !attribute => at = i + 1,
            b'&' => {
                let (c, len) = reference(bytes.get(i + 1..)?)?;
                out.push_str(raw.get(done..i)?);
                out.push(c);
                done = i + 1 + len;
                at = done;
            }
            _ => return None,
        }
    }
    out.push_str(raw.get(done..)?);
    Some(())
}

/// The character of a character reference, when XML 1.0 can carry it.
fn char_of(code: u32) -> Option<char> {
    char::from_u32(code).filter(|c| lexical::is_xml_char(*c))
}

struct Fast<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    max_value_bytes: usize,
}

/// Where the common path puts what it reads: a whole [`BorrowedInstance`] ([`decode`]), or
/// what a typed view takes (`super::typed`). Every method may give up with `None` (a
/// duplicate name, a value the builder would have to refuse), and the caller then takes the
/// full path.
pub(crate) trait Build<'a> {
    /// The class name (an ASCII CIM identifier).
    fn class(&mut self, name: Cow<'a, str>) -> Option<()>;
    /// Whether the `string[]` property `name` is read straight into one [`StringList`]
    /// (then given to [`list`](Self::list), never to [`property`](Self::property)).
    fn wants_list(&self, name: &str) -> bool;
    /// One property, with an ASCII identifier for a name, in document order.
    fn property(&mut self, property: BorrowedProperty<'a>) -> Option<()>;
    /// The value of a property [`wants_list`](Self::wants_list) asked for: every element,
    /// none NULL.
    fn list(&mut self, name: &str, list: StringList) -> Option<()>;
}

/// The whole instance, as the full decoder returns it.
struct WholeInstance<'a> {
    class_name: Cow<'a, str>,
    properties: Vec<BorrowedProperty<'a>>,
}

impl<'a> Build<'a> for WholeInstance<'a> {
    fn class(&mut self, name: Cow<'a, str>) -> Option<()> {
        self.class_name = name;
        Some(())
    }

    fn wants_list(&self, _: &str) -> bool {
        false
    }

    fn property(&mut self, property: BorrowedProperty<'a>) -> Option<()> {
        let name = &property.name;
        if self
            .properties
            .iter()
            .any(|p| p.name.len() == name.len() && p.name.eq_ignore_ascii_case(name))
        {
            return None;
        }
        self.properties.push(property);
        Some(())
    }

    fn list(&mut self, _: &str, _: StringList) -> Option<()> {
        None
    }
}

/// Decodes `text` (a byte-order mark already removed) when it takes the common form; `None`
/// otherwise, without deciding anything.
pub(crate) fn decode<'a>(text: &'a str, limits: &Limits) -> Option<BorrowedInstance<'a>> {
    let mut whole = WholeInstance {
        class_name: Cow::Borrowed(""),
        properties: Vec::with_capacity(16),
    };
    decode_into(text, limits, &mut whole)?;
    Some(BorrowedInstance {
        class_name: whole.class_name,
        properties: whole.properties,
    })
}

/// [`decode`] into `build`: `Some` when `build` holds what it makes of the instance the full
/// decoder would return, `None` when this path cannot tell (the text's form, or `build` gave
/// up; what `build` holds is then of no use).
pub(crate) fn decode_into<'a, B: Build<'a>>(
    text: &'a str,
    limits: &Limits,
    build: &mut B,
) -> Option<()> {
    if limits.max_depth < DEPTH {
        return None;
    }
    let reader = super::xml::event_reader(text);
    let mut fast = Fast {
        text,
        reader,
        max_value_bytes: limits.max_value_bytes,
    };
    fast.document(limits, build)
}

/// Whether `bytes` is XML whitespace only.
fn is_blank(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

impl<'a> Fast<'a> {
    /// `bytes` as a slice of the input, when it is one.
    fn borrowed(&self, bytes: &[u8]) -> Option<&'a str> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        let slice = self.text.get(start..start.checked_add(bytes.len())?)?;
        (slice.as_ptr() == bytes.as_ptr()).then_some(slice)
    }

    /// The attributes of a start tag that the grammar reads, by name: `NAME`, `TYPE`,
    /// `CLASSNAME` (index 0, 1, 2). Every attribute must be `name="value"` or `name='value'`
    /// with an ASCII name, separated by spaces, at most [`MAX_ATTRIBUTES`], no name twice —
    /// a form in which quick-xml's attribute iterator accepts them and reads the same
    /// values. No tab or line end anywhere in the tag (the full decoder normalises those).
    fn attributes(&self, start: &BytesStart<'_>) -> Option<[Option<Cow<'a, str>>; 3]> {
        let raw = self.borrowed(start.attributes_raw())?;
        // Positions are offsets into the whole input, so that the block scans may read past
        // the tag (never past the input).
        let text = self.text.as_bytes();
        let base = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = base.checked_add(raw.len())?;
        let bytes = text.get(..end)?;
        // Controls (tab and line ends included) or 0xEF anywhere: the full decoder's case.
        let escaped = match find_special(bytes, base) {
            None => false,
            Some(i) if bytes.get(i) == Some(&b'&') => true,
            Some(_) => return None,
        };
        // Each name's length, first and last byte: names are compared only when these agree.
        let mut keys: [(u32, usize); MAX_ATTRIBUTES] = [(0, 0); MAX_ATTRIBUTES];
        let mut count = 0;
        let mut out: [Option<Cow<'a, str>>; 3] = [None, None, None];
        let mut at = base;
        loop {
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            if at == end {
                return Some(out);
            }
            let key_start = at;
            at = name_end(text, at, end);
            let key = bytes.get(key_start..at)?;
            let (&first, &last) = (key.first()?, key.last()?);
            if bytes.get(at) != Some(&b'=') || count == MAX_ATTRIBUTES {
                return None;
            }
            let quote = *bytes.get(at + 1).filter(|&&q| q == b'"' || q == b'\'')?;
            let value_start = at + 2;
            let value_end = find_byte(text, value_start, end, quote)?;
            let signature = (key.len() as u32) << 16 | u32::from(first) << 8 | u32::from(last);
            for &(other, other_start) in keys.get(..count)? {
                if other == signature && bytes.get(other_start..other_start + key.len())? == key {
                    return None;
                }
            }
            *keys.get_mut(count)? = (signature, key_start);
            count += 1;
            // Quotes are ASCII: the bounds are character boundaries.
            let raw_value = self.text.get(value_start..value_end)?;
            at = value_end + 1;
            let slot = match (key.len(), first) {
                (4, b'N') if key == b"NAME" => 0,
                (4, b'T') if key == b"TYPE" => 1,
                (9, b'C') if key == b"CLASSNAME" => 2,
                _ if !escaped => continue,
                _ => {
                    // Not read, but checked as the full decoder checks it.
                    unescape(raw_value, true)?;
                    continue;
                }
            };
            let value = if escaped {
                unescape(raw_value, true)?
            } else {
                Cow::Borrowed(raw_value)
            };
            if let Some(entry) = out.get_mut(slot) {
                *entry = Some(value);
            }
        }
    }

    /// The next event that is not whitespace-only text.
    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            match self.reader.read_event().ok()? {
                Event::Text(t) if is_blank(&t) => {}
                event => return Some(event),
            }
        }
    }

    fn document<B: Build<'a>>(&mut self, limits: &Limits, build: &mut B) -> Option<()> {
        let Event::Start(start) = self.next()? else {
            return None;
        };
        if start.name().as_ref() != b"INSTANCE" {
            return None;
        }
        let [_, _, class] = self.attributes(&start)?;
        build.class(class.filter(|c| is_identifier(c))?)?;
        let max_properties = limits.max_properties.min(MAX_PROPERTIES);
        let mut count = 0;
        loop {
            let start = match self.next()? {
                Event::Start(start) => start,
                Event::End(_) => break,
                _ => return None,
            };
            let (is_array, value_element): (bool, &[u8]) = match start.name().as_ref() {
                b"PROPERTY" => (false, b"VALUE"),
                b"PROPERTY.ARRAY" => (true, b"VALUE.ARRAY"),
                _ => return None,
            };
            let [name, type_name, _] = self.attributes(&start)?;
            let name = name.filter(|n| is_identifier(n))?;
            let cim_type = cim_type(&type_name?)?;
            if cim_type == CimType::Reference || count >= max_properties {
                return None;
            }
            count += 1;
            let value = match self.next()? {
                Event::End(_) => BorrowedValue::Null,
                Event::Start(v)
                    if v.name().as_ref() == value_element && v.attributes_raw().is_empty() =>
                {
                    if is_array && cim_type == CimType::String && build.wants_list(&name) {
                        let list = self.list(limits)?;
                        let Event::End(_) = self.next()? else {
                            return None;
                        };
                        build.list(&name, list)?;
                        continue;
                    }
                    let value = if is_array {
                        BorrowedValue::Array(self.array(cim_type, limits)?)
                    } else {
                        BorrowedValue::Scalar(self.text_value(cim_type)?)
                    };
                    match self.next()? {
                        Event::End(_) => value,
                        _ => return None,
                    }
                }
                _ => return None,
            };
            build.property(BorrowedProperty {
                name,
                cim_type,
                is_array,
                value,
            })?;
        }
        // Nothing but whitespace after the root element.
        match self.next()? {
            Event::Eof => Some(()),
            _ => None,
        }
    }

    /// The raw text of a `VALUE` (already opened) through its end tag: borrowed from the
    /// input, references not yet replaced.
    fn raw_text(&mut self) -> Option<&'a str> {
        Some(match self.reader.read_event().ok()? {
            Event::End(_) => "",
            Event::Text(t) => {
                let raw = match t.into_inner() {
                    Cow::Borrowed(bytes) => self.borrowed(bytes)?,
                    Cow::Owned(_) => return None,
                };
                match self.reader.read_event().ok()? {
                    Event::End(_) => raw,
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The elements of a `string[]` `VALUE.ARRAY` (already opened) through its end tag, into
    /// one list; `None` at a `VALUE.NULL` too (a list has no NULL elements).
    fn list(&mut self, limits: &Limits) -> Option<StringList> {
        let mut list = StringList::new();
        loop {
            let start = match self.next()? {
                Event::End(_) => return Some(list),
                Event::Start(start) => start,
                _ => return None,
            };
            if list.ends.len() >= limits.max_array_len
                || !start.attributes_raw().is_empty()
                || start.name().as_ref() != b"VALUE"
            {
                return None;
            }
            let raw = self.raw_text()?;
            // Unescaping never lengthens a text: one reservation per element at most.
            list.buf.reserve(raw.len());
            let from = list.buf.len();
            unescape_into(raw, false, &mut list.buf)?;
            // A string is kept as it is: only its size is checked.
            if list.buf.len() - from > self.max_value_bytes {
                return None;
            }
            list.ends.push(list.buf.len());
        }
    }

    /// The content of a `VALUE` (already opened) through its end tag, checked against the
    /// property's type.
    fn text_value(&mut self, cim_type: CimType) -> Option<Cow<'a, str>> {
        let raw = self.raw_text()?;
        let text = unescape(raw, false)?;
        if text.len() > self.max_value_bytes {
            return None;
        }
        typed(cim_type, text)
    }

    /// The elements of a `VALUE.ARRAY` (already opened) through its end tag.
    fn array(&mut self, cim_type: CimType, limits: &Limits) -> Option<Vec<Option<Cow<'a, str>>>> {
        let mut items = Vec::new();
        loop {
            let start = match self.next()? {
                Event::End(_) => return Some(items),
                Event::Start(start) => start,
                _ => return None,
            };
            if items.len() >= limits.max_array_len || !start.attributes_raw().is_empty() {
                return None;
            }
            match start.name().as_ref() {
                b"VALUE" => items.push(Some(self.text_value(cim_type)?)),
                b"VALUE.NULL" => match self.next()? {
                    Event::End(_) => items.push(None),
                    _ => return None,
                },
                _ => return None,
            }
        }
    }
}

/// The CIM type of a `TYPE` attribute: the common spellings at once, the others as
/// [`CimType::from_name`] reads them.
pub(super) fn cim_type(name: &str) -> Option<CimType> {
    match name {
        "string" => Some(CimType::String),
        "uint16" => Some(CimType::Uint16),
        "uint32" => Some(CimType::Uint32),
        "uint64" => Some(CimType::Uint64),
        "boolean" => Some(CimType::Boolean),
        other => CimType::from_name(other),
    }
}

/// The value as the full decoder keeps it: trimmed of XML whitespace for the types that
/// trim, and valid for its type.
#[inline]
pub(super) fn typed(cim_type: CimType, text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    if cim_type == CimType::String {
        return Some(text);
    }
    // Plain unsigned decimals (what every writer uses for integers): the range check here;
    // anything else through the lexical rules.
    let digits = text.as_bytes();
    if (1..=18).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) {
        if let Some((_, max)) = lexical::integer_range(cim_type) {
            let value = digits
                .iter()
                .fold(0i128, |v, &d| v * 10 + i128::from(d - b'0'));
            return (value <= max).then_some(text);
        }
    }
    let trimmed = if lexical::trims(cim_type) {
        lexical::trim_xml_space(&text)
    } else {
        &text
    };
    lexical::check_value(cim_type, trimmed).ok()?;
    if trimmed.len() == text.len() {
        return Some(text);
    }
    Some(match text {
        Cow::Borrowed(t) => Cow::Borrowed(lexical::trim_xml_space(t)),
        Cow::Owned(t) => Cow::Owned(lexical::trim_xml_space(&t).to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::{find_byte, find_special, name_end, ATTRIBUTE_NAME};

    /// Every window of texts up to three blocks long, every end, one or two other bytes
    /// anywhere (before, inside and after the window): the block scans find what a byte loop
    /// finds, and never anything at or after `end`.
    #[test]
    fn name_end_and_find_byte_agree_with_a_byte_loop() {
        // Every byte, in a whole block: the block's class is the table's.
        for b in 0..=255u8 {
            for at in [0, 7, 15] {
                let mut text = [b'a'; 20];
                text[at] = b;
                let expected = if ATTRIBUTE_NAME[usize::from(b)] {
                    20
                } else {
                    at
                };
                assert_eq!(name_end(&text, 0, 20), expected, "byte {b:#x} at {at}");
                assert_eq!(
                    find_byte(&text, 0, 20, b),
                    Some(if b == b'a' { 0 } else { at })
                );
            }
        }
        let names = [b'a', b'Z', b'0', b'9', b'_', b':', b'-', b'.'];
        let others = [
            b'=', b' ', b'"', b'\'', b'/', b'>', 0x80, 0xFF, b'@', b'[', b'`', b'{',
        ];
        for len in 0..40 {
            for (k, &other) in others.iter().enumerate() {
                for at in 0..=len {
                    let mut text: Vec<u8> =
                        (0..len).map(|i| names[(i + k) % names.len()]).collect();
                    if at < len {
                        text[at] = other;
                        text[(at * 7 + 3) % len] = others[(k + 1) % others.len()];
                    }
                    for from in 0..=len {
                        for end in from..=len {
                            let naive_end = (from..end)
                                .find(|&i| !ATTRIBUTE_NAME[usize::from(text[i])])
                                .unwrap_or(end);
                            assert_eq!(
                                name_end(&text, from, end),
                                naive_end,
                                "{text:?} {from} {end}"
                            );
                            let naive_byte = (from..end).find(|&i| text[i] == other);
                            assert_eq!(
                                find_byte(&text, from, end, other),
                                naive_byte,
                                "{text:?} {from} {end}"
                            );
                        }
                    }
                }
            }
        }
    }

    fn naive(bytes: &[u8], from: usize) -> Option<usize> {
        (from..bytes.len()).find(|&i| matches!(bytes[i], b'&' | 0xEF) || bytes[i] < 0x20)
    }

    /// Every length up to three blocks, every start, one or two specials anywhere (the tail
    /// block overlaps what was scanned): the first special found is the first there is.
    #[test]
    fn find_special_finds_the_first_special_byte() {
        let specials = [b'&', 0xEF, 0x00, b'\t', b'\n', b'\r', 0x1F];
        let plain = [b'a', b' ', 0x20, 0x7F, 0x80, 0xEE, 0xF0, 0xFF, b'<'];
        for len in 0..48 {
            for from in 0..=len + 1 {
                let filler = plain[len % plain.len()];
                let mut bytes = vec![filler; len];
                assert_eq!(find_special(&bytes, from), None, "{len} {from}");
                for at in 0..len {
                    for (k, &special) in specials.iter().enumerate() {
                        bytes[at] = special;
                        let second = (at + 5 + k) % len;
                        let before = bytes[second];
                        bytes[second] = specials[(k + 1) % specials.len()];
                        assert_eq!(
                            find_special(&bytes, from),
                            naive(&bytes, from),
                            "len {len}, from {from}, specials at {at} and {second}"
                        );
                        bytes[second] = before;
                        bytes[at] = filler;
                    }
                }
            }
        }
    }
}
