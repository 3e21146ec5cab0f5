//! Lexical rules shared by both encodings: CIM names, the text forms of typed values, and the
//! characters XML 1.0 can carry. Nothing here allocates more than its input.

use super::instance::CimType;

/// XML 1.0 `Char`: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
/// (Rust `char`s are never surrogates, so only the other exclusions need checking.)
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

/// First character of a CIM identifier (DSP0004): `_`, ASCII letters, U+0080..=U+FFEF.
pub(crate) fn is_identifier_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || ('\u{80}'..='\u{FFEF}').contains(&c)
}

/// A CIM identifier (class, property, key or qualifier name), as DSP0004 defines it.
pub(crate) fn is_identifier(s: &str) -> bool {
    if s.is_ascii() {
        let bytes = s.as_bytes();
        return bytes
            .first()
            .is_some_and(|b| *b == b'_' || b.is_ascii_alphabetic())
            && bytes
                .iter()
                .all(|b| *b == b'_' || b.is_ascii_alphanumeric());
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(first) if is_identifier_start(first) => {
            chars.all(|c| is_identifier_start(c) || c.is_ascii_digit())
        }
        _ => false,
    }
}

/// The form of a CIM name used to compare names: CIM names are case-insensitive.
pub(crate) fn fold_name(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

/// Whether two CIM names are equal ignoring case. Names are almost always ASCII, where
/// comparing ignoring ASCII case decides; only other names pay for Unicode lower-casing.
pub(crate) fn names_equal(a: &str, b: &str) -> bool {
    if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// XML whitespace (`S` production): space, tab, CR, LF.
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Trims XML whitespace only (not every Unicode space, which a string may hold on purpose).
pub(crate) fn trim_xml_space(s: &str) -> &str {
    s.trim_matches(is_xml_space)
}

/// Whether decoding trims the text of a value of this type before checking it. Strings and
/// char16 values are taken verbatim; every other type is whitespace-tolerant (DSP0201).
pub(crate) fn trims(cim_type: CimType) -> bool {
    !matches!(
        cim_type,
        CimType::String | CimType::Char16 | CimType::Reference
    )
}

/// Inclusive range of an integer type, or `None` for non-integer types.
pub(crate) fn integer_range(cim_type: CimType) -> Option<(i128, i128)> {
    Some(match cim_type {
        CimType::Uint8 => (0, u8::MAX.into()),
        CimType::Sint8 => (i8::MIN.into(), i8::MAX.into()),
        CimType::Uint16 => (0, u16::MAX.into()),
        CimType::Sint16 => (i16::MIN.into(), i16::MAX.into()),
        CimType::Uint32 => (0, u32::MAX.into()),
        CimType::Sint32 => (i32::MIN.into(), i32::MAX.into()),
        CimType::Uint64 => (0, u64::MAX.into()),
        CimType::Sint64 => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    })
}

/// Parses the CIM-XML text form of an integer: `[+-]` then decimal digits, or `0x`/`0X` then
/// hexadecimal digits (DSP0201 allows both). No surrounding whitespace.
pub(crate) fn parse_integer(text: &str) -> Result<i128, &'static str> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or("")),
        Some(b'+') => (false, text.get(1..).unwrap_or("")),
        _ => (false, text),
    };
    let (radix, digits) = match rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        Some(hex) => (16, hex),
        None => (10, rest),
    };
    if digits.is_empty() {
        return Err("no digits");
    }
    let mut value: i128 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(radix).ok_or(if radix == 16 {
            "not a hexadecimal integer"
        } else {
            "not a decimal integer"
        })?;
        value = value
            .checked_mul(i128::from(radix))
            .and_then(|v| v.checked_add(i128::from(digit)))
            .ok_or("out of range")?;
    }
    Ok(if negative { -value } else { value })
}

/// Checks an integer's text against its declared type's range.
pub(crate) fn check_integer(cim_type: CimType, text: &str) -> Result<i128, String> {
    // Plain decimal digits (what every writer uses), at once when in range: what the general
    // path below returns for them (eighteen digits cannot overflow).
    let digits = text.as_bytes();
    if (1..=18).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) {
        let value = digits
            .iter()
            .fold(0i128, |v, &d| v * 10 + i128::from(d - b'0'));
        if integer_range(cim_type).is_some_and(|(_, max)| value <= max) {
            return Ok(value);
        }
    }
    let value = parse_integer(text).map_err(|reason| {
        if reason == "out of range" {
            format!("out of the range of {}", cim_type.name())
        } else {
            reason.to_string()
        }
    })?;
    match integer_range(cim_type) {
        Some((min, max)) if value < min || value > max => Err(format!(
            "out of the range of {} ({min}..={max})",
            cim_type.name()
        )),
        _ => Ok(value),
    }
}

/// Whether `text` is a special real value: `INF`, `+INF`, `-INF` or `NaN` (any case).
pub(crate) fn is_special_real(text: &str) -> bool {
    let unsigned = text
        .strip_prefix('-')
        .or_else(|| text.strip_prefix('+'))
        .unwrap_or(text);
    unsigned.eq_ignore_ascii_case("INF") || text.eq_ignore_ascii_case("NaN")
}

/// Whether `text` has the decimal form of a real: `[+-] digits [. digits] [(e|E) [+-] digits]`
/// with at least one digit in the mantissa and a digit after any decimal point.
pub(crate) fn is_decimal_real(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        frac_digits = i - frac_start;
        if frac_digits == 0 {
            return false;
        }
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == bytes.len()
}

/// Checks a real's text: the decimal form (finite within the type's range) or a special value.
pub(crate) fn check_real(cim_type: CimType, text: &str) -> Result<(), String> {
    if is_special_real(text) {
        return Ok(());
    }
    if !is_decimal_real(text) {
        return Err(
            "not a real number (expected [+-]digits[.digits][e[+-]digits], INF, -INF or NaN)"
                .into(),
        );
    }
    let finite = match cim_type {
        CimType::Real32 => text.parse::<f32>().is_ok_and(f32::is_finite),
        _ => text.parse::<f64>().is_ok_and(f64::is_finite),
    };
    if finite {
        Ok(())
    } else {
        Err(format!("out of the range of {}", cim_type.name()))
    }
}

/// Checks a boolean's text: `TRUE` or `FALSE`, any case.
pub(crate) fn parse_boolean(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn two_digit_field(bytes: &[u8], at: usize, max: u32, what: &str) -> Result<(), String> {
    let field = bytes
        .get(at..at + 2)
        .ok_or_else(|| format!("{what} missing"))?;
    if field.iter().all(|b| *b == b'*') {
        return Ok(());
    }
    if !field.iter().all(u8::is_ascii_digit) {
        return Err(format!("{what} is not two digits"));
    }
    let value = field
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    if value > max {
        return Err(format!("{what} {value} is out of range"));
    }
    Ok(())
}

fn digits_or_stars(bytes: &[u8], what: &str) -> Result<(), String> {
    if bytes.iter().all(|b| b.is_ascii_digit() || *b == b'*') {
        Ok(())
    } else {
        Err(format!("{what} must be digits (or '*')"))
    }
}

/// Checks a CIM datetime: a timestamp `yyyymmddhhmmss.mmmmmmsutc` (s is `+` or `-`) or an
/// interval `ddddddddhhmmss.mmmmmm:000`. Fields may be `*` (insignificant), per DSP0004.
pub(crate) fn check_datetime(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    if bytes.len() != 25 {
        return Err(format!(
            "a datetime is exactly 25 characters, this is {}",
            text.chars().count()
        ));
    }
    if bytes.get(14) != Some(&b'.') {
        return Err("character 15 must be '.'".into());
    }
    digits_or_stars(bytes.get(15..21).unwrap_or_default(), "microseconds")?;
    match bytes.get(21) {
        Some(b':') => {
            // Interval.
            if bytes.get(22..25) != Some(b"000".as_slice()) {
                return Err("an interval ends in \":000\"".into());
            }
            digits_or_stars(bytes.get(0..8).unwrap_or_default(), "days")?;
            two_digit_field(bytes, 8, 23, "hours")?;
            two_digit_field(bytes, 10, 59, "minutes")?;
            two_digit_field(bytes, 12, 59, "seconds")
        }
        Some(b'+' | b'-') => {
            digits_or_stars(bytes.get(0..4).unwrap_or_default(), "year")?;
            for (at, what) in [(4, "month"), (6, "day")] {
                two_digit_field(bytes, at, if at == 4 { 12 } else { 31 }, what)?;
                if bytes.get(at..at + 2) == Some(b"00".as_slice()) {
                    return Err(format!("{what} 0 is out of range"));
                }
            }
            two_digit_field(bytes, 8, 23, "hours")?;
            two_digit_field(bytes, 10, 59, "minutes")?;
            two_digit_field(bytes, 12, 60, "seconds")?;
            digits_or_stars(bytes.get(22..25).unwrap_or_default(), "UTC offset")
        }
        _ => Err("character 22 must be '+', '-' (timestamp) or ':' (interval)".into()),
    }
}

/// Checks a char16: exactly one character, in the Basic Multilingual Plane (UCS-2).
pub(crate) fn check_char16(text: &str) -> Result<(), String> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if u32::from(c) <= 0xFFFF => Ok(()),
        (Some(_), None) => Err("a char16 must be in the Basic Multilingual Plane".into()),
        (None, _) => Err("a char16 cannot be empty".into()),
        _ => Err("a char16 is exactly one character".into()),
    }
}

/// Checks the text of one (non-reference) value against its type. The text must already be
/// trimmed where [`trims`] says so.
pub(crate) fn check_value(cim_type: CimType, text: &str) -> Result<(), String> {
    match cim_type {
        CimType::String => Ok(()),
        CimType::Boolean => parse_boolean(text)
            .map(|_| ())
            .ok_or_else(|| "a boolean is TRUE or FALSE".to_string()),
        CimType::Char16 => check_char16(text),
        CimType::Datetime => check_datetime(text),
        CimType::Real32 | CimType::Real64 => check_real(cim_type, text),
        CimType::Reference => super::path::check_canonical(text),
        _ => check_integer(cim_type, text).map(|_| ()),
    }
}

/// `value` in decimal, as `value.to_string()` writes it, in `digits` (no allocation).
pub(crate) fn decimal(value: u64, digits: &mut [u8; 20]) -> &str {
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    std::str::from_utf8(&digits[at..]).expect("ASCII digits")
}
