//! EMB-005: an Invalid Parameter refusal tells the client what was wrong, in the `Error` output
//! parameter the profile says the implementation sends (`error_output`).
//!
//! `cim_error`: one embedded instance of `CIM_Error` (or of a subclass, a class named `…_Error`),
//! in any encoding EMB-001 accepts, with a non-empty `Message` — DSP0200's extended error.
//! `text`: a non-empty message string, as the older root\virtualization pages document
//! (`[out] string Error`). Either way, when the refusal is for an embedded instance the harness
//! broke (EMB-001..003), the message names that parameter (`PoolSettings`, `AllocationSettings`
//! or `Settings`).
//!
//! What it refuses to know: the wording. Messages are for people; the check asks only that one
//! is there, decodes, and names the parameter — never what else it says.

use std::cell::RefCell;

use crate::codec::{self, Instance};
use crate::model::fxhash::FxHashMap;
use crate::model::step::StepKind;
use crate::model::Step;
use crate::spec::profile::ErrorOutput;
use crate::sut::{Dialect, MethodReturn, ParamValue};

/// Why the refusal's `Error` output does not do what `kind` promises, or `None` when it does.
/// `broken` is the parameter whose embedded instance the harness broke, when that is why the
/// call is refused.
pub(crate) fn unhelpful(
    kind: ErrorOutput,
    ret: &MethodReturn,
    broken: Option<&str>,
) -> Option<String> {
    let error = ret
        .out_params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("Error"));
    let text = match error.map(|p| &p.value) {
        Some(ParamValue::String(text)) => text,
        None | Some(ParamValue::Null) => {
            return Some("an Invalid Parameter refusal came without an Error output".into())
        }
        Some(other) => {
            return Some(format!(
                "the Error output is a {:?}, not a string",
                other.kind()
            ))
        }
    };
    match kind {
        ErrorOutput::Text => judge_message(text, broken),
        ErrorOutput::CimError => with_cim_error_message(text, |decoded| match decoded {
            Ok(message) => judge_message(message, broken),
            Err(why) => Some(why.clone()),
        }),
    }
}

/// Why a message (untrimmed) does not say what was wrong, or `None` when it does.
fn judge_message(message: &str, broken: Option<&str>) -> Option<String> {
    let message = message.trim();
    if message.is_empty() {
        return Some("the Error output's message is empty".into());
    }
    match broken {
        Some(param) if !contains_ignoring_case(message, param) => Some(format!(
            "the Error output does not name {param}, whose embedded instance was broken: {:?}",
            shorten(message)
        )),
        _ => None,
    }
}

/// How many `Error` texts [`with_cim_error_message`] remembers per thread before it starts
/// afresh (an implementation's refusals repeat a few dozen texts).
const REMEMBERED_TEXTS: usize = 256;

/// The longest `Error` text [`with_cim_error_message`] remembers (a `CIM_Error` is about 500
/// bytes).
const REMEMBERED_TEXT_BYTES: usize = 4096;

thread_local! {
    /// [`cim_error_message`]'s answers for the texts this thread has judged.
    static MESSAGES: RefCell<FxHashMap<String, Result<String, String>>> =
        RefCell::new(FxHashMap::default());
}

/// `then(&cim_error_message(text))`, decoding each text once per thread (a pure function of
/// the text, so remembering its answer changes nothing).
fn with_cim_error_message<R>(text: &str, then: impl FnOnce(&Result<String, String>) -> R) -> R {
    MESSAGES.with(|messages| {
        let Ok(mut messages) = messages.try_borrow_mut() else {
            return then(&cim_error_message(text));
        };
        if let Some(known) = messages.get(text) {
            return then(known);
        }
        // An implementation chooses the texts' size: only short ones are kept.
        if text.len() > REMEMBERED_TEXT_BYTES {
            return then(&cim_error_message(text));
        }
        if messages.len() >= REMEMBERED_TEXTS {
            messages.clear();
        }
        then(
            messages
                .entry(text.to_string())
                .or_insert_with(|| cim_error_message(text)),
        )
    })
}

/// The `Message` of an embedded `CIM_Error` (untrimmed), or why the text is not one. Decoded
/// borrowed: the same checks and errors as [`codec::decode`], without copying the instance,
/// and the compact CIM-XML form services built on the codec send scanned directly
/// ([`codec::decode_borrowed_compact`]).
fn cim_error_message(text: &str) -> Result<String, String> {
    let instance = codec::decode_borrowed_compact(text)
        .map_err(|e| format!("the Error output is not an embedded instance: {e}"))?;
    let class = &instance.class_name;
    let is_error = instance.is_class("CIM_Error")
        || class.len() > "_Error".len()
            && class
                .get(class.len() - "_Error".len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case("_Error"));
    if !is_error {
        return Err(format!(
            "the Error output is an instance of {class}, not of CIM_Error or a subclass"
        ));
    }
    match Instance::string_of(instance.property("Message")) {
        Ok(message) => Ok(message.unwrap_or_default()),
        Err(e) => Err(format!("the Error output's Message is not a string: {e}")),
    }
}

/// At most 120 characters of a message, for a violation's detail.
fn shorten(message: &str) -> String {
    let mut chars = message.chars();
    let head: String = chars.by_ref().take(120).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Whether `needle` occurs in `haystack`, ASCII letters compared without case (no copy).
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}

/// The parameter whose embedded instance the step broke, by the order in which the renderer
/// writes embedded instances: `PoolSettings` first when the call has one, then the allocations.
pub(crate) fn broken_parameter(step: &Step) -> Option<&'static str> {
    let (index, _) = step.instance_fault?;
    let allocations = match step.method.dialect() {
        Dialect::Msvm => "AllocationSettings",
        Dialect::Cim => "Settings",
    };
    match &step.kind {
        StepKind::Create { settings, .. } if settings.is_some() && index == 0 => {
            Some("PoolSettings")
        }
        StepKind::Create { .. } | StepKind::ChangeParents { .. } => Some(allocations),
        StepKind::ChangeSettings { .. } => Some("PoolSettings"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{encode, CimType, Encoding, Instance};
    use crate::sut::Param;

    fn reply(error: Option<ParamValue>) -> MethodReturn {
        let mut ret = MethodReturn::code(32773);
        if let Some(value) = error {
            ret.out_params.push(Param {
                name: "Error".into(),
                value,
            });
        }
        ret
    }

    fn cim_error(class: &str, message: &str, encoding: Encoding) -> ParamValue {
        let instance = Instance::new(class)
            .with_scalar("CIMStatusCode", CimType::Uint32, "4")
            .with_scalar("Message", CimType::String, message);
        ParamValue::String(encode(&instance, encoding))
    }

    #[test]
    fn a_cim_error_naming_the_parameter_passes_in_every_encoding() {
        for encoding in Encoding::ALL {
            let ret = reply(Some(cim_error(
                "CIM_Error",
                "AllocationSettings[1] is not a usable embedded instance: truncated",
                encoding,
            )));
            assert_eq!(
                unhelpful(ErrorOutput::CimError, &ret, Some("AllocationSettings")),
                None
            );
        }
        let subclass = reply(Some(cim_error(
            "Msvm_Error",
            "PoolSettings: bad",
            Encoding::CimXml,
        )));
        assert_eq!(
            unhelpful(ErrorOutput::CimError, &subclass, Some("poolsettings")),
            None
        );
    }

    #[test]
    fn missing_garbled_empty_or_vague_errors_are_named() {
        let cases = [
            (reply(None), "without an Error output"),
            (reply(Some(ParamValue::Null)), "without an Error output"),
            (
                reply(Some(ParamValue::String("xyzzy".into()))),
                "not an embedded instance",
            ),
            (
                reply(Some(cim_error("CIM_Job", "Settings[0]", Encoding::CimXml))),
                "not of CIM_Error",
            ),
            (
                reply(Some(cim_error("CIM_Error", "  ", Encoding::CimXml))),
                "message is empty",
            ),
            (
                reply(Some(cim_error(
                    "CIM_Error",
                    "something was wrong",
                    Encoding::Mof,
                ))),
                "does not name Settings",
            ),
        ];
        for (ret, why) in cases {
            let found = unhelpful(ErrorOutput::CimError, &ret, Some("Settings"));
            assert!(
                found.as_deref().is_some_and(|f| f.contains(why)),
                "{found:?} ≠ {why}"
            );
        }
    }

    #[test]
    fn plain_text_errors_are_judged_as_text() {
        let named = reply(Some(ParamValue::String("PoolSettings is truncated".into())));
        assert_eq!(
            unhelpful(ErrorOutput::Text, &named, Some("PoolSettings")),
            None
        );
        let empty = reply(Some(ParamValue::String(" ".into())));
        assert!(unhelpful(ErrorOutput::Text, &empty, None).is_some());
        let unnamed = reply(Some(ParamValue::String("bad input".into())));
        assert!(unhelpful(ErrorOutput::Text, &unnamed, Some("PoolSettings")).is_some());
        // No broken instance: any non-empty message will do.
        assert_eq!(unhelpful(ErrorOutput::Text, &unnamed, None), None);
    }

    #[test]
    fn a_remembered_text_is_judged_as_it_was_first() {
        let texts: Vec<ParamValue> = vec![
            cim_error("CIM_Error", "PoolSettings: truncated", Encoding::CimXml),
            cim_error("CIM_Error", "something was wrong", Encoding::Mof),
            cim_error("CIM_Job", "PoolSettings", Encoding::CimXml),
            cim_error("CIM_Error", " ", Encoding::WmiDtd20),
            ParamValue::String("xyzzy".into()),
        ];
        // The answer computed afresh, then the same texts again and again in another order:
        // the answers never change, whichever text came before.
        let fresh = |text: &ParamValue, broken| {
            let ParamValue::String(text) = text else {
                unreachable!("every text is a string")
            };
            match cim_error_message(text) {
                Ok(message) => judge_message(&message, broken),
                Err(why) => Some(why),
            }
        };
        for round in 0..3 {
            for (i, text) in texts
                .iter()
                .enumerate()
                .cycle()
                .skip(round)
                .take(texts.len())
            {
                for broken in [None, Some("PoolSettings")] {
                    let ret = reply(Some(text.clone()));
                    assert_eq!(
                        unhelpful(ErrorOutput::CimError, &ret, broken),
                        fresh(text, broken),
                        "text {i}, round {round}"
                    );
                }
            }
        }
        assert!(fresh(&texts[0], Some("PoolSettings")).is_none());
        assert!(fresh(&texts[1], Some("PoolSettings")).is_some());
        assert!(fresh(&texts[4], None).is_some());
    }
}
