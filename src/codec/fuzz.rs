//! The decoder's fuzz body, as library code: what the cargo-fuzz target for the codec runs,
//! and what `cargo test` runs as a smoke test over the checked-in vectors and generated
//! inputs, so that nothing is written twice.
//!
//! [`decode_body`] takes arbitrary bytes, decodes them as an embedded instance and checks the
//! codec's invariants on whatever comes out. It panics exactly when an invariant is broken
//! (that is how a fuzzer learns of a finding); a refusal of bad input is not a finding.
//!
//! The invariants:
//!
//! * decoding returns, whatever the input (no panic, no hang: every loop is bounded by
//!   [`Limits`]);
//! * an error's message is bounded in size, whatever the size of the input;
//! * anything that decodes is [valid](Instance::validate), and re-encodes and decodes back:
//!   to itself through both CIM-XML shapes (when XML 1.0 can carry its text) and to its
//!   [`mof_normal_form`] through MOF;
//! * the typed views either refuse an instance or read it, and what they read writes back to
//!   an instance they read the same way; reading a borrowed or an owned instance is the same,
//!   and so is decoding text straight into a view;
//! * the common-case CIM-XML decoder, when it accepts, returns what the full decoder returns.
//!
//! It knows nothing of the harness, the reference implementation or the fuzzing engine.

use super::{
    decode, decode_with_limits, encode, mof_normal_form, try_encode, AllocationSettingData,
    CodecError, Encoding, Instance, Limits, PoolSettingData, MAX_CONTEXT_CHARS,
};

/// Longest message any codec error may have, in characters: a handful of names and values
/// cut to [`MAX_QUOTED_CHARS`](super::MAX_QUOTED_CHARS), free text cut to
/// [`MAX_CONTEXT_CHARS`], and the fixed wording around them.
pub const MAX_ERROR_CHARS: usize = 4 * MAX_CONTEXT_CHARS;

/// What one input came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyOutcome {
    /// The bytes decoded to an instance, which passed every check.
    Decoded(Instance),
    /// The bytes were refused with this (bounded) error.
    Refused(CodecError),
}

/// Decodes `data` (as UTF-8; invalid sequences are replaced by U+FFFD, as a service that
/// received the bytes as text would see them) and checks every invariant of the module
/// documentation.
///
/// # Panics
///
/// When an invariant is broken: that is a finding.
pub fn decode_body(data: &[u8]) -> BodyOutcome {
    let text = String::from_utf8_lossy(data);
    check_text(&text)
}

/// [`decode_body`] for text.
///
/// # Panics
///
/// When an invariant is broken.
pub fn check_text(text: &str) -> BodyOutcome {
    check_fast_path(text);
    check_direct_views(text);
    match decode(text) {
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.chars().count() <= MAX_ERROR_CHARS,
                "an error message of {} characters for an input of {} bytes: {message:.200}",
                message.chars().count(),
                text.len()
            );
            assert_eq!(
                error.clone().bounded(),
                error,
                "a decoding error was not bounded"
            );
            BodyOutcome::Refused(error)
        }
        Ok(instance) => {
            check_instance(&instance);
            BodyOutcome::Decoded(instance)
        }
    }
}

/// Limits for decoding re-encoded text: the instance already passed the real limits, and
/// re-encoding may legitimately make the text longer (escaping, WMI decorations).
fn generous() -> Limits {
    Limits {
        max_bytes: usize::MAX,
        max_depth: 64,
        ..Limits::default()
    }
}

/// The invariants on a decoded instance.
///
/// # Panics
///
/// When one is broken.
pub fn check_instance(instance: &Instance) {
    if let Err(e) = instance.validate() {
        panic!("a decoded instance is not valid: {e}\n{instance:?}");
    }
    for encoding in [Encoding::CimXml, Encoding::WmiDtd20] {
        // Only text XML 1.0 can carry round-trips through CIM-XML; try_encode says which.
        if let Ok(text) = try_encode(instance, encoding) {
            let back = decode_with_limits(&text, &generous());
            assert_eq!(
                back.as_ref(),
                Ok(instance),
                "{encoding:?} round trip changed the instance; text:\n{text}"
            );
        }
    }
    let mof = encode(instance, Encoding::Mof);
    let back = decode_with_limits(&mof, &generous());
    let normal = mof_normal_form(instance);
    assert_eq!(
        back.as_ref(),
        Ok(&normal),
        "MOF round trip did not give the MOF normal form; text:\n{mof}"
    );
    assert_eq!(
        mof_normal_form(&normal),
        normal,
        "the MOF normal form is not a fixed point"
    );
    check_views(instance);
}

/// The typed views either refuse the instance with a bounded error or read it, and the
/// instance a view writes reads back to the same view.
fn check_views(instance: &Instance) {
    fn bounded(error: &CodecError) {
        assert!(
            error.to_string().chars().count() <= MAX_ERROR_CHARS,
            "a view error is too long: {error:.200}"
        );
    }
    match PoolSettingData::from_instance(instance) {
        Ok(view) => assert_eq!(
            PoolSettingData::from_instance(&view.to_instance()),
            Ok(view.clone()),
            "the pool setting data view does not read back what it writes"
        ),
        Err(e) => bounded(&e),
    }
    match AllocationSettingData::from_instance(instance) {
        Ok(view) => assert_eq!(
            AllocationSettingData::from_instance(&view.to_instance()),
            Ok(view.clone()),
            "the allocation setting data view does not read back what it writes"
        ),
        Err(e) => bounded(&e),
    }
    assert_eq!(
        PoolSettingData::from_owned(instance.clone()),
        PoolSettingData::from_instance(instance),
        "the pool setting data view reads an owned instance differently"
    );
    assert_eq!(
        AllocationSettingData::from_owned(instance.clone()),
        AllocationSettingData::from_instance(instance),
        "the allocation setting data view reads an owned instance differently"
    );
}

/// Checks the promise of the views' direct decoding: `AllocationSettingData::decode` and
/// `PoolSettingData::decode` (straight from the decoder's events into the view, where the
/// text takes the common form) answer exactly what [`decode`] then `from_owned` answers,
/// errors included.
///
/// # Panics
///
/// When they differ.
pub fn check_direct_views(text: &str) {
    assert_eq!(
        AllocationSettingData::decode(text),
        decode(text).and_then(AllocationSettingData::from_owned),
        "the allocation view decoded {text:.300?} differently from decode then from_owned"
    );
    assert_eq!(
        PoolSettingData::decode(text),
        decode(text).and_then(PoolSettingData::from_owned),
        "the pool view decoded {text:.300?} differently from decode then from_owned"
    );
}

/// Checks the one promise of the common-case CIM-XML decoder (`xml_fast`): whenever it
/// accepts `text` (with the default limits), the full decoder returns exactly the same
/// instance. Returns whether it accepted. Checks the same of the compact-form scan
/// (`xml_compact`), which must moreover accept only what `xml_fast` accepts.
///
/// # Panics
///
/// When they disagree.
pub fn check_fast_path(text: &str) -> bool {
    let limits = Limits::default();
    check_compact_path(text, &limits);
    let Some(body) = super::common_xml_body(text, &limits) else {
        return false;
    };
    let base = text.len() - body.len();
    let Some(fast) = super::xml_fast::decode(body, &limits) else {
        return false;
    };
    let full = super::xml::decode(body, base, &limits);
    assert_eq!(
        full.as_ref(),
        Ok(&fast),
        "the common-case decoder accepted {:.300?} differently from the full decoder",
        text
    );
    true
}

/// Checks the compact-form scan (`xml_compact`, taken by
/// [`decode_borrowed_compact`](super::decode_borrowed_compact)) under `limits`: whenever it
/// accepts `text`, the full decoder and the common-case decoder return exactly the same
/// instance. Returns whether it accepted.
///
/// # Panics
///
/// When they disagree.
pub fn check_compact_path(text: &str, limits: &Limits) -> bool {
    let Some(compact) = super::xml_compact::decode(text, limits) else {
        return false;
    };
    assert_eq!(
        super::decode_borrowed_with_limits(text, limits).as_ref(),
        Ok(&compact),
        "the compact-form scan accepted {:.300?} differently from the decoder",
        text
    );
    let body = super::common_xml_body(text, limits);
    assert_eq!(
        body.and_then(|body| super::xml::decode(body, text.len() - body.len(), limits).ok()),
        Some(compact.clone()),
        "the compact-form scan accepted {:.300?} differently from the full decoder",
        text
    );
    assert_eq!(
        body.and_then(|body| super::xml_fast::decode(body, limits)),
        Some(compact),
        "the compact-form scan accepted {:.300?}, which the common-case decoder does not",
        text
    );
    true
}
