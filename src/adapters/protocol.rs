//! The adapter protocol, `poolcheck-adapter/1`: JSON lines between poolcheck and an adapter
//! process, and the one function that maps whatever goes wrong at that boundary onto the
//! suite's vocabulary ([`service_error`]).
//!
//! An adapter speaks first with one [`HelloLine`] naming itself, its version, its dialect and
//! (optionally) its profile. Then poolcheck sends one [`Request`] per line, each with an `id`,
//! and waits for exactly one response line echoing that `id`: `{"id":7,"ok":RESULT}`,
//! `{"id":7,"unsupported":"why"}` (an explicit "not implemented", reported as not applicable,
//! never as a failure) or `{"id":7,"error":"what went wrong"}` (the implementation behind the
//! adapter failed to answer). Results and parameters are exactly the serde forms of the wire
//! types in [`crate::sut`]. `spec/adapter-protocol.md` documents every message with examples.
//!
//! This module knows the messages and their framing. It refuses to know processes, pipes and
//! clocks (that is [`super::process`]) and whether an answer is *correct* (that is the
//! harness): a well-formed `CallReply` that breaks every rule is a valid message here.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::spec::profile::{Profile, ProfileError, BUILT_IN};
use crate::sut::{
    Dialect, HostFixture, MethodCall, ObjectPath, ParamValue, ResourceKind, ServiceDescription,
    ServiceError,
};

/// The protocol version an adapter must name in its hello line.
pub const PROTOCOL: &str = "poolcheck-adapter/1";

/// Environment variable set for every adapter process, holding [`PROTOCOL`].
pub const PROTOCOL_ENV: &str = "POOLCHECK_PROTOCOL";

/// The feature an adapter names in its hello line (`"features":["changes"]`) when it answers
/// the optional [`Request::Changes`]. An adapter that does not name it is never sent one.
pub const FEATURE_CHANGES: &str = "changes";

/// The adapter's first line: `{"protocol":"poolcheck-adapter/1","hello":{...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HelloLine {
    pub protocol: String,
    pub hello: Hello,
}

/// Who the adapter is and what it claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub name: String,
    pub version: String,
    pub dialect: Dialect,
    /// The profile the adapter claims; used when the run names none.
    #[serde(default)]
    pub profile: Option<ProfileSource>,
    /// The optional requests the adapter answers ([`FEATURE_CHANGES`]); names poolcheck does
    /// not know are ignored, so that an adapter can serve several versions of poolcheck.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl Hello {
    /// Whether the adapter named `feature` in its hello line.
    pub fn offers(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    pub fn description(&self) -> ServiceDescription {
        ServiceDescription {
            name: self.name.clone(),
            version: self.version.clone(),
            dialect: self.dialect,
        }
    }
}

/// Where an adapter's profile comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    /// A profile shipped with poolcheck, by name (`{"builtin":"hyperv"}`).
    Builtin(String),
    /// Profile TOML text, as in `spec/profiles/` (`{"toml":"name = ..."}`).
    Toml(String),
    /// The same profile as a JSON object (`{"json":{"name":...}}`).
    Json(Box<Profile>),
}

impl ProfileSource {
    /// Load and validate the profile. `adapter` names the adapter in error messages.
    pub fn load(&self, adapter: &str) -> Result<Profile, ProfileError> {
        let origin = format!("the profile of adapter {adapter:?}");
        match self {
            ProfileSource::Builtin(name) => {
                if BUILT_IN.iter().any(|(n, _)| n == name) {
                    Profile::load(name)
                } else {
                    let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                    Err(ProfileError::Invalid {
                        name: origin,
                        message: format!(
                            "{name:?} is not a built-in profile (built in: {})",
                            names.join(", ")
                        ),
                    })
                }
            }
            ProfileSource::Toml(text) => Profile::from_toml(&origin, text),
            // Through TOML, so that a JSON profile is validated exactly like a file.
            ProfileSource::Json(profile) => Profile::from_toml(&origin, &profile.to_toml()),
        }
    }
}

/// One request, without its `id`. Serialised with the operation in `"op"`:
/// `{"op":"reset","fixture":{...}}`, `{"op":"invoke","method":"CreatePool","params":[...]}`,
/// `{"op":"poll_job","job":"..."}`, `{"op":"snapshot"}`, and — only to an adapter that offers
/// [`FEATURE_CHANGES`] — `{"op":"changes"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Reset {
        fixture: HostFixture,
    },
    Invoke(MethodCall),
    PollJob {
        job: ObjectPath,
    },
    Snapshot,
    /// What changed since the previous `reset`, `snapshot` or `changes`: answered with a
    /// [`SnapshotDelta`](crate::sut::SnapshotDelta), or `null` / `unsupported` for "not tracked".
    Changes,
}

impl Request {
    /// A short description for messages: `invoke CreatePool`, `snapshot`.
    pub fn describe(&self) -> String {
        self.outgoing().describe()
    }

    /// The request as sent, borrowing what it carries.
    pub fn outgoing(&self) -> Outgoing<'_> {
        match self {
            Request::Reset { fixture } => Outgoing::Reset(fixture),
            Request::Invoke(call) => Outgoing::Invoke(call),
            Request::PollJob { job } => Outgoing::PollJob(job),
            Request::Snapshot => Outgoing::Snapshot,
            Request::Changes => Outgoing::Changes,
        }
    }
}

/// A [`Request`] as it is sent: borrowing what it carries from the caller, so that nothing
/// is cloned to send it. Encodes to exactly the line its `Request` encodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing<'a> {
    Reset(&'a HostFixture),
    Invoke(&'a MethodCall),
    PollJob(&'a ObjectPath),
    Snapshot,
    Changes,
}

impl Outgoing<'_> {
    /// A short description for messages: `invoke CreatePool`, `snapshot`.
    pub fn describe(self) -> String {
        match self {
            Outgoing::Reset(_) => "reset".into(),
            Outgoing::Invoke(call) => format!("invoke {}", call.method),
            Outgoing::PollJob(job) => format!("poll_job {job}"),
            Outgoing::Snapshot => "snapshot".into(),
            Outgoing::Changes => "changes".into(),
        }
    }
}

/// A request line: the request with its `id` first, and a newline.
pub fn encode_request(id: u64, request: &Request) -> String {
    let mut line = Vec::new();
    write_request(&mut line, id, request.outgoing());
    // Only whole UTF-8 strings and ASCII are ever written.
    String::from_utf8(line).unwrap_or_default()
}

/// Write the request line for `request` with `id` (its newline included) into `line`,
/// replacing what it held: the process adapter keeps one buffer for all its requests.
///
/// Written directly, not through serde_json: the parameters of `invoke` (the bulk of a run)
/// hold whole embedded instances, full of quotes, and serde_json escapes strings one byte at
/// a time. The bytes are exactly those serde_json writes for [`Request`], with the id spliced
/// in first (the tests check every shape against serde_json, so a change to the wire types
/// that this function misses fails them).
pub fn write_request(line: &mut Vec<u8>, id: u64, request: Outgoing<'_>) {
    line.clear();
    line.extend_from_slice(b"{\"id\":");
    write_u64(line, id);
    match request {
        Outgoing::Invoke(call) => {
            line.extend_from_slice(b",\"op\":\"invoke\",\"method\":");
            write_json_str(line, call.method.name());
            line.extend_from_slice(b",\"params\":[");
            for (idx, param) in call.params.iter().enumerate() {
                if idx > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(b"{\"name\":");
                write_json_str(line, &param.name);
                line.extend_from_slice(b",\"value\":{\"kind\":");
                match &param.value {
                    ParamValue::Null => line.extend_from_slice(b"\"null\""),
                    ParamValue::String(text) => {
                        line.extend_from_slice(b"\"string\",\"value\":");
                        write_json_str(line, text);
                    }
                    ParamValue::StringArray(texts) => {
                        line.extend_from_slice(b"\"string_array\",\"value\":");
                        write_json_strs(line, texts.iter().map(String::as_str));
                    }
                    ParamValue::Reference(path) => {
                        line.extend_from_slice(b"\"reference\",\"value\":");
                        write_json_str(line, path.as_str());
                    }
                    ParamValue::ReferenceArray(paths) => {
                        line.extend_from_slice(b"\"reference_array\",\"value\":");
                        write_json_strs(line, paths.iter().map(ObjectPath::as_str));
                    }
                }
                line.extend_from_slice(b"}}");
            }
            line.extend_from_slice(b"]}");
        }
        Outgoing::PollJob(job) => {
            line.extend_from_slice(b",\"op\":\"poll_job\",\"job\":");
            write_json_str(line, job.as_str());
            line.push(b'}');
        }
        Outgoing::Snapshot => line.extend_from_slice(b",\"op\":\"snapshot\"}"),
        Outgoing::Changes => line.extend_from_slice(b",\"op\":\"changes\"}"),
        Outgoing::Reset(fixture) => {
            line.extend_from_slice(b",\"op\":\"reset\",\"fixture\":{\"host_name\":");
            write_json_str(line, &fixture.host_name);
            line.extend_from_slice(b",\"resource_types\":[");
            for (idx, t) in fixture.resource_types.iter().enumerate() {
                if idx > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(b"{\"resource_type\":");
                write_u64(line, u64::from(t.resource_type));
                line.extend_from_slice(b",\"resource_subtype\":");
                write_json_str(line, &t.resource_subtype);
                line.extend_from_slice(match t.kind {
                    ResourceKind::Quantity => b",\"kind\":\"quantity\",\"capacity\":",
                    ResourceKind::Named => b",\"kind\":\"named\",\"capacity\":",
                    ResourceKind::Path => b",\"kind\":\"path\",\"capacity\":",
                });
                write_u64(line, t.capacity);
                line.extend_from_slice(b",\"host_resources\":");
                write_json_strs(line, t.host_resources.iter().map(String::as_str));
                line.push(b'}');
            }
            line.extend_from_slice(b"]}}");
        }
    }
    line.push(b'\n');
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(crate::codec::decimal(n, &mut [0u8; 20]).as_bytes());
}

fn write_json_strs<'a>(out: &mut Vec<u8>, texts: impl Iterator<Item = &'a str>) {
    out.push(b'[');
    for (idx, text) in texts.enumerate() {
        if idx > 0 {
            out.push(b',');
        }
        write_json_str(out, text);
    }
    out.push(b']');
}

/// `text` as a JSON string, escaped exactly as serde_json escapes it: `"` and `\\` with a
/// backslash, `\b \f \n \r \t` by name, every other control character below 0x20 as
/// `\u00XX` (lower-case hex), everything else as it is.
///
/// Eight bytes at a time: each word is appended whole (a fixed-size copy, no call to
/// `memcpy`) and cut back to its first byte that needs escaping, so that a run of plain
/// bytes costs a load, a test and a store per word. (Walking every escape of a word from one
/// exact mask instead was tried: more instructions, the escapes of an embedded instance being
/// a few words apart.)
pub(crate) fn write_json_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut r = 0;
    while let Some(chunk) = bytes.get(r..r + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        out.extend_from_slice(&word);
        let hits = escape_mask(u64::from_le_bytes(word));
        if hits == 0 {
            r += 8;
            continue;
        }
        let plain = (hits.trailing_zeros() / 8) as usize;
        out.truncate(out.len() - 8 + plain);
        write_escape(out, bytes[r + plain]);
        r += plain + 1;
    }
    for &byte in &bytes[r..] {
        if ESCAPE[usize::from(byte)] != 0 {
            write_escape(out, byte);
        } else {
            out.push(byte);
        }
    }
    out.push(b'"');
}

/// The high bit of every byte of `word` (little-endian) that JSON needs escaped — `"`, `\\`,
/// or a control character below 0x20 — and possibly of bytes after the first such byte
/// (borrows run upwards), never of one before it: the lowest set bit is exact. Only ASCII
/// bytes match: every byte of a multi-byte UTF-8 sequence is 0x80 or above.
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTE: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASH: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);
    let quote = word ^ QUOTE;
    let backslash = word ^ BACKSLASH;
    (word.wrapping_sub(SPACE) & !word
        | quote.wrapping_sub(ONES) & !quote
        | backslash.wrapping_sub(ONES) & !backslash)
        & HIGH
}

/// For each byte JSON needs escaped, the letter after its backslash (`u` for `\u00XX`); 0
/// for every other byte.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table
};

/// Append the escape for `byte` (one [`ESCAPE`] names).
#[inline(always)]
fn write_escape(out: &mut Vec<u8>, byte: u8) {
    let letter = ESCAPE[usize::from(byte)];
    if letter == b'u' {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]);
    } else {
        out.extend_from_slice(&[b'\\', letter]);
    }
}

/// What a response line says, once its `id` matched.
#[derive(Debug)]
pub enum Reply {
    Ok(Box<RawValue>),
    Unsupported(String),
    Error(String),
}

/// What a response line says, borrowing from the line: the `ok` result is left unparsed
/// until the caller decodes it as the type its request answers with.
#[derive(Debug)]
pub enum ReplyRef<'a> {
    Ok(&'a RawValue),
    Unsupported(Cow<'a, str>),
    Error(Cow<'a, str>),
}

impl ReplyRef<'_> {
    pub fn into_owned(self) -> Reply {
        match self {
            ReplyRef::Ok(raw) => Reply::Ok(raw.to_owned()),
            ReplyRef::Unsupported(why) => Reply::Unsupported(why.into_owned()),
            ReplyRef::Error(what) => Reply::Error(what.into_owned()),
        }
    }
}

#[derive(Deserialize)]
struct ResponseLine<'a> {
    id: u64,
    #[serde(default, borrow, deserialize_with = "present")]
    ok: Option<&'a RawValue>,
    #[serde(default, borrow)]
    unsupported: Option<Text<'a>>,
    #[serde(default, borrow)]
    error: Option<Text<'a>>,
}

/// A string borrowed from the line unless it had escapes (serde borrows a `Cow` only when it
/// is not nested in an `Option`).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// `Some` whenever the key is present, even with the value `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// Decode one response line to the request with `expected_id`.
pub fn decode_response(line: &str, expected_id: u64) -> Result<Reply, Fault> {
    decode_reply(line, expected_id).map(ReplyRef::into_owned)
}

/// [`decode_response`], borrowing from `line`.
pub fn decode_reply(line: &str, expected_id: u64) -> Result<ReplyRef<'_>, Fault> {
    let response: ResponseLine = serde_json::from_str(line).map_err(|e| Fault::Garbage {
        line: excerpt(line),
        problem: format!("not a response line ({e})"),
    })?;
    if response.id != expected_id {
        return Err(Fault::WrongId {
            expected: expected_id,
            got: response.id,
        });
    }
    match (response.ok, response.unsupported, response.error) {
        (Some(ok), None, None) => Ok(ReplyRef::Ok(ok)),
        (None, Some(Text(why)), None) => Ok(ReplyRef::Unsupported(why)),
        (None, None, Some(Text(what))) => Ok(ReplyRef::Error(what)),
        _ => Err(Fault::Garbage {
            line: excerpt(line),
            problem: "a response has exactly one of \"ok\", \"unsupported\", \"error\"".into(),
        }),
    }
}

/// What a response line says, with an `ok` result decoded as the type its request answers
/// with.
#[derive(Debug)]
pub enum Answer<'a, T> {
    Ok(T),
    Unsupported(Cow<'a, str>),
    Error(Cow<'a, str>),
    /// An `ok` result of the wrong shape ([`Fault::BadResult`]): the exchange itself was in
    /// step.
    Invalid(Fault),
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct TypedLine<'a, T> {
    id: u64,
    #[serde(default = "Option::default", deserialize_with = "present_typed")]
    ok: Option<T>,
    #[serde(default, borrow)]
    unsupported: Option<Text<'a>>,
    #[serde(default, borrow)]
    error: Option<Text<'a>>,
}

/// `Some` whenever the key is present, even with the value `null`.
fn present_typed<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Decode the answer to `request`, sent with `expected_id`: [`decode_reply`] and then
/// [`decode_result_of`] for an `ok`, with the same outcome — but a well-formed answer (the
/// common case) is read in one pass, its result straight from the line. Anything else is
/// decoded again in two steps, which name the fault exactly.
pub fn decode_answer<'a, T: DeserializeOwned>(
    line: &'a str,
    expected_id: u64,
    request: Outgoing<'_>,
) -> Result<Answer<'a, T>, Fault> {
    if let Ok(typed) = serde_json::from_str::<TypedLine<'a, T>>(line) {
        if typed.id == expected_id {
            match (typed.ok, typed.unsupported, typed.error) {
                (Some(ok), None, None) => return Ok(Answer::Ok(ok)),
                (None, Some(Text(why)), None) => return Ok(Answer::Unsupported(why)),
                (None, None, Some(Text(what))) => return Ok(Answer::Error(what)),
                _ => {}
            }
        }
    }
    Ok(match decode_reply(line, expected_id)? {
        ReplyRef::Ok(raw) => match decode_result_of(raw, request) {
            Ok(ok) => Answer::Ok(ok),
            Err(fault) => Answer::Invalid(fault),
        },
        ReplyRef::Unsupported(why) => Answer::Unsupported(why),
        ReplyRef::Error(what) => Answer::Error(what),
    })
}

/// Decode an `ok` result as the type `request` answers with.
pub fn decode_result<T: DeserializeOwned>(raw: &RawValue, request: &Request) -> Result<T, Fault> {
    decode_result_of(raw, request.outgoing())
}

/// [`decode_result`] for a request as sent.
pub fn decode_result_of<T: DeserializeOwned>(
    raw: &RawValue,
    request: Outgoing<'_>,
) -> Result<T, Fault> {
    serde_json::from_str(raw.get()).map_err(|e| Fault::BadResult {
        request: request.describe(),
        problem: format!("{e}: {}", excerpt(raw.get())),
    })
}

/// Decode the hello line.
pub fn decode_hello(line: &str) -> Result<Hello, Fault> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| Fault::Handshake {
        problem: format!("the first line is not JSON ({e}): {}", excerpt(line)),
    })?;
    match value.get("protocol").and_then(|p| p.as_str()) {
        Some(PROTOCOL) => {}
        Some(other) => {
            return Err(Fault::Handshake {
                problem: format!("the adapter speaks protocol {other:?}; poolcheck speaks {PROTOCOL:?}"),
            })
        }
        None => {
            return Err(Fault::Handshake {
                problem: format!(
                    "the first line has no \"protocol\" (expected {{\"protocol\":\"{PROTOCOL}\",\"hello\":{{...}}}}): {}",
                    excerpt(line)
                ),
            })
        }
    }
    serde_json::from_value::<HelloLine>(value)
        .map(|h| h.hello)
        .map_err(|e| Fault::Handshake {
            problem: format!("the hello line is not valid ({e}): {}", excerpt(line)),
        })
}

/// Everything that can go wrong at the process boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The adapter answered `unsupported`.
    Unsupported(String),
    /// The adapter answered `error`.
    AdapterError(String),
    /// The adapter's first line is not a valid hello.
    Handshake { problem: String },
    /// A line that is not a response (not JSON, no id, not exactly one outcome).
    Garbage { line: String, problem: String },
    /// A response to another request than the one pending.
    WrongId { expected: u64, got: u64 },
    /// An `ok` result that is not the type the request answers with.
    BadResult { request: String, problem: String },
    /// The adapter closed its stdout or exited; `status` as far as known.
    Exited { during: String, status: String },
    /// No answer within the per-call timeout.
    Timeout { during: String, after: Duration },
    /// The adapter's process could not be started or talked to.
    Io { during: String, problem: String },
    /// A call after the adapter was lost, before the next reset restarts it.
    Lost { earlier: String },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Unsupported(why) => write!(f, "{why}"),
            Fault::AdapterError(what) => write!(f, "the adapter reported an error: {what}"),
            Fault::Handshake { problem } => write!(f, "bad handshake: {problem}"),
            Fault::Garbage { line, problem } => {
                write!(f, "the adapter printed garbage: {problem}: {line}")
            }
            Fault::WrongId { expected, got } => write!(
                f,
                "the adapter answered request {got} while request {expected} was pending (answers must come in order, one per request)"
            ),
            Fault::BadResult { request, problem } => {
                write!(f, "the adapter's answer to {request} is not valid: {problem}")
            }
            Fault::Exited { during, status } => {
                write!(f, "the adapter exited ({status}) during {during}")
            }
            Fault::Timeout { during, after } => write!(
                f,
                "the adapter did not answer {during} within {} (per-call timeout)",
                human(*after)
            ),
            Fault::Io { during, problem } => write!(f, "{during}: {problem}"),
            Fault::Lost { earlier } => write!(
                f,
                "the adapter is no longer running after an earlier failure ({earlier}); it is restarted at the next reset"
            ),
        }
    }
}

/// The one place that maps the boundary's faults onto [`ServiceError`]: `unsupported` is
/// not applicable; a dead, hung or unreachable adapter is a crash or a timeout; anything
/// that breaks the protocol is a protocol error. `stderr_tail` (the last lines the adapter
/// wrote to stderr, possibly empty) is appended to the message.
pub fn service_error(fault: &Fault, stderr_tail: &str) -> ServiceError {
    let message = with_tail(fault.to_string(), stderr_tail);
    match fault {
        Fault::Unsupported(_) => ServiceError::Unsupported(message),
        Fault::Timeout { .. } => ServiceError::Timeout(message),
        Fault::AdapterError(_) | Fault::Exited { .. } | Fault::Io { .. } | Fault::Lost { .. } => {
            ServiceError::Crashed(message)
        }
        Fault::Handshake { .. }
        | Fault::Garbage { .. }
        | Fault::WrongId { .. }
        | Fault::BadResult { .. } => ServiceError::Protocol(message),
    }
}

fn with_tail(message: String, tail: &str) -> String {
    let tail = tail.trim_end();
    if tail.is_empty() {
        return message;
    }
    let mut out = message;
    out.push_str(" — adapter stderr (tail):");
    for line in tail.lines() {
        out.push_str("\n    | ");
        out.push_str(line);
    }
    out
}

/// At most 200 characters of a line, for messages.
pub fn excerpt(line: &str) -> String {
    const MAX: usize = 200;
    let line = line.trim_end_matches(['\r', '\n']);
    if line.chars().count() <= MAX {
        format!("{line:?}")
    } else {
        let head: String = line.chars().take(MAX).collect();
        format!("{head:?}… ({} bytes)", line.len())
    }
}

/// `1.5 s`, `250 ms`.
pub fn human(duration: Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::Method;
    use proptest::prelude::*;

    #[test]
    fn requests_carry_their_id_first() {
        assert_eq!(
            encode_request(7, &Request::Snapshot),
            "{\"id\":7,\"op\":\"snapshot\"}\n"
        );
        assert_eq!(
            encode_request(9, &Request::Changes),
            "{\"id\":9,\"op\":\"changes\"}\n"
        );
        let call = MethodCall::new(Method::DeletePool).with(
            "Pool",
            crate::sut::ParamValue::Reference(ObjectPath::new("p")),
        );
        let line = encode_request(8, &Request::Invoke(call.clone()));
        assert!(line.starts_with("{\"id\":8,\"op\":\"invoke\",\"method\":\"DeletePool\""));
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["id"], 8);
        let request: Request = serde_json::from_value(back).unwrap();
        assert_eq!(request, Request::Invoke(call));
    }

    /// The line as serde_json writes the request, with the id spliced in first: what
    /// `write_request` must produce byte for byte.
    fn serde_line(id: u64, request: &Request) -> String {
        let body = serde_json::to_string(request).unwrap();
        format!("{{\"id\":{id},{}\n", body.strip_prefix('{').unwrap())
    }

    fn any_text() -> impl Strategy<Value = String> {
        // Controls, quotes, backslashes, ASCII, two-, three- and four-byte characters, at
        // every length and position (the word scan reads eight bytes at a time).
        let piece = prop_oneof![
            (0u8..0x20).prop_map(|b| char::from(b).to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("\u{7f}".to_string()),
            "[ -~]{0,12}",
            Just("é".to_string()),
            Just("\u{2028}€".to_string()),
            Just("\u{1F600}".to_string()),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    fn any_value() -> impl Strategy<Value = ParamValue> {
        prop_oneof![
            Just(ParamValue::Null),
            any_text().prop_map(ParamValue::String),
            proptest::collection::vec(any_text(), 0..4).prop_map(ParamValue::StringArray),
            any_text().prop_map(|p| ParamValue::Reference(ObjectPath(p))),
            proptest::collection::vec(any_text().prop_map(ObjectPath), 0..4)
                .prop_map(ParamValue::ReferenceArray),
        ]
    }

    proptest! {
        #[test]
        fn strings_are_escaped_exactly_as_serde_json_escapes_them(text in any_text()) {
            let mut out = Vec::new();
            write_json_str(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }

        #[test]
        fn invoke_lines_are_the_lines_serde_json_writes(
            id in 0u64..=u64::MAX,
            method in proptest::sample::select(Method::ALL.to_vec()),
            params in proptest::collection::vec((any_text(), any_value()), 0..5),
        ) {
            let mut call = MethodCall::new(method);
            for (name, value) in params {
                call.params.push(crate::sut::Param { name, value });
            }
            let request = Request::Invoke(call);
            prop_assert_eq!(encode_request(id, &request), serde_line(id, &request));
        }

        #[test]
        fn the_other_requests_are_the_lines_serde_json_writes(
            id in 0u64..=u64::MAX,
            job in any_text(),
            host_name in any_text(),
            types in proptest::collection::vec(
                (
                    any::<u16>(),
                    any_text(),
                    proptest::sample::select(vec![
                        ResourceKind::Quantity,
                        ResourceKind::Named,
                        ResourceKind::Path,
                    ]),
                    any::<u64>(),
                    proptest::collection::vec(any_text(), 0..3),
                ),
                0..4,
            ),
        ) {
            let fixture = HostFixture {
                host_name,
                resource_types: types
                    .into_iter()
                    .map(|(resource_type, resource_subtype, kind, capacity, host_resources)| {
                        crate::sut::ResourceTypeFixture {
                            resource_type,
                            resource_subtype,
                            kind,
                            capacity,
                            host_resources,
                        }
                    })
                    .collect(),
            };
            for request in [
                Request::Reset { fixture: HostFixture::msvm_default() },
                Request::PollJob { job: ObjectPath(job) },
                Request::Snapshot,
                Request::Changes,
                Request::Reset { fixture },
            ] {
                prop_assert_eq!(encode_request(id, &request), serde_line(id, &request));
            }
        }
    }

    #[test]
    fn the_request_buffer_is_reused() {
        let mut line = Vec::new();
        let call = MethodCall::new(Method::CreatePool).with(
            "PoolSettings",
            crate::sut::ParamValue::String("x\"y".repeat(100)),
        );
        write_request(&mut line, 1, Outgoing::Invoke(&call));
        let capacity = line.capacity();
        write_request(&mut line, 2, Outgoing::Snapshot);
        assert_eq!(line, b"{\"id\":2,\"op\":\"snapshot\"}\n");
        assert_eq!(line.capacity(), capacity);
    }

    /// `decode_answer` in one pass says what `decode_reply` and `decode_result_of` say.
    fn two_steps<T: DeserializeOwned>(
        line: &str,
        id: u64,
        request: Outgoing<'_>,
    ) -> Result<Answer<'static, T>, Fault> {
        Ok(match decode_reply(line, id)? {
            ReplyRef::Ok(raw) => match decode_result_of(raw, request) {
                Ok(ok) => Answer::Ok(ok),
                Err(fault) => Answer::Invalid(fault),
            },
            ReplyRef::Unsupported(why) => Answer::Unsupported(Cow::Owned(why.into_owned())),
            ReplyRef::Error(what) => Answer::Error(Cow::Owned(what.into_owned())),
        })
    }

    fn same<T: DeserializeOwned + fmt::Debug>(line: &str, request: Outgoing<'_>) {
        let one = format!("{:?}", decode_answer::<T>(line, 3, request));
        let two = format!("{:?}", two_steps::<T>(line, 3, request));
        assert_eq!(
            one.replace("Owned(", "").replace("Borrowed(", ""),
            two.replace("Owned(", "").replace("Borrowed(", ""),
            "{line}"
        );
    }

    #[test]
    fn answers_in_one_pass_are_the_answers_in_two() {
        let lines = [
            r#"{"id":3,"ok":{"pools":[]}}"#,
            r#"{"ok":{"pools":[{"path":"p","pool_id":"","element_name":"e","resource_type":4,"resource_subtype":"s","primordial":true,"capacity":1,"reserved":0,"host_resources":[],"allocations":[]}]},"id":3}"#,
            r#"{"id":3,"ok":{"pools":7}}"#,
            r#"{"id":3,"ok":{"job_state":7,"error_code":0,"error_description":"","job_type":0,"affected_elements":[]}}"#,
            r#"{"id":3,"ok":{"return":{"return_value":0,"out_params":[]}}}"#,
            r#"{"id":3,"ok":{"changed":[],"removed":[]}}"#,
            r#"{"id":3,"ok":null}"#,
            r#"{"id":3,"ok":{}}"#,
            r#"{"id":3,"ok":{},"ok":{}}"#,
            r#"{"id":3,"unsupported":"no "way""}"#,
            r#"{"id":3,"error":"down"}"#,
            r#"{"id":3,"error":7}"#,
            r#"{"id":2,"ok":{"pools":[]}}"#,
            r#"{"id":3,"ok":{"pools":[]},"error":"x"}"#,
            r#"{"id":3}"#,
            r#"{"ok":{}}"#,
            "not json",
            r#"{"id":3,"ok":{"pools":[]}} trailing"#,
        ];
        let call = MethodCall::new(Method::CreatePool);
        for line in lines {
            same::<crate::sut::Snapshot>(line, Outgoing::Snapshot);
            same::<crate::sut::JobView>(line, Outgoing::Snapshot);
            same::<crate::sut::CallReply>(line, Outgoing::Invoke(&call));
            same::<Option<crate::sut::SnapshotDelta>>(line, Outgoing::Changes);
            same::<serde::de::IgnoredAny>(line, Outgoing::Snapshot);
        }
    }

    #[test]
    fn replies_borrow_from_the_line() {
        let line = r#"{"id":4,"ok":{"pools":[]},"log":["x"]}"#;
        match decode_reply(line, 4) {
            Ok(ReplyRef::Ok(raw)) => assert_eq!(raw.get(), r#"{"pools":[]}"#),
            other => panic!("{other:?}"),
        }
        match decode_reply(r#"{"id":5,"unsupported":"not \"here\""}"#, 5) {
            Ok(ReplyRef::Unsupported(why)) => assert_eq!(why, "not \"here\""),
            other => panic!("{other:?}"),
        }
        match decode_reply(r#"{"id":5,"unsupported":"plain"}"#, 5) {
            Ok(ReplyRef::Unsupported(Cow::Borrowed(why))) => assert_eq!(why, "plain"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn responses_have_exactly_one_outcome_for_the_pending_id() {
        assert!(matches!(
            decode_response(r#"{"id":3,"ok":null}"#, 3),
            Ok(Reply::Ok(raw)) if raw.get() == "null"
        ));
        assert!(matches!(
            decode_response(r#"{"ok":{},"id":3,"log":"x"}"#, 3),
            Ok(Reply::Ok(_))
        ));
        assert!(matches!(
            decode_response(r#"{"id":3,"unsupported":"no"}"#, 3),
            Ok(Reply::Unsupported(why)) if why == "no"
        ));
        assert!(matches!(
            decode_response(r#"{"id":3,"error":"down"}"#, 3),
            Ok(Reply::Error(what)) if what == "down"
        ));
        assert_eq!(
            decode_response(r#"{"id":2,"ok":{}}"#, 3).unwrap_err(),
            Fault::WrongId {
                expected: 3,
                got: 2
            }
        );
        for garbage in [
            r#"{"id":3}"#,
            r#"{"id":3,"ok":{},"error":"x"}"#,
            r#"{"ok":{}}"#,
            r#"{"id":"3","ok":{}}"#,
            "not json",
            "[]",
        ] {
            assert!(
                matches!(decode_response(garbage, 3), Err(Fault::Garbage { .. })),
                "{garbage}"
            );
        }
    }

    #[test]
    fn results_must_have_the_requests_type() {
        let raw = RawValue::from_string("{\"pools\":[]}".into()).unwrap();
        let snapshot: crate::sut::Snapshot = decode_result(&raw, &Request::Snapshot).unwrap();
        assert!(snapshot.pools.is_empty());
        let wrong = decode_result::<crate::sut::JobView>(&raw, &Request::Snapshot).unwrap_err();
        assert!(matches!(wrong, Fault::BadResult { .. }));
    }

    #[test]
    fn hellos_name_the_protocol_and_the_adapter() {
        let hello = decode_hello(
            r#"{"protocol":"poolcheck-adapter/1","hello":{"name":"a","version":"1","dialect":"Cim","profile":{"builtin":"reference-cim"}}}"#,
        )
        .unwrap();
        assert_eq!(hello.dialect, Dialect::Cim);
        assert_eq!(
            hello.profile.as_ref().unwrap().load("a").unwrap().name,
            "reference-cim"
        );
        for (line, needle) in [
            ("hello", "not JSON"),
            (r#"{"hello":{}}"#, "no \"protocol\""),
            (
                r#"{"protocol":"poolcheck-adapter/2","hello":{}}"#,
                "poolcheck-adapter/2",
            ),
            (
                r#"{"protocol":"poolcheck-adapter/1","hello":{"name":"a"}}"#,
                "not valid",
            ),
        ] {
            let fault = decode_hello(line).unwrap_err();
            assert!(fault.to_string().contains(needle), "{line}: {fault}");
        }
        assert!(hello.features.is_empty(), "no features unless named");
        assert!(!hello.offers(FEATURE_CHANGES));
        let with_features = decode_hello(
            r#"{"protocol":"poolcheck-adapter/1","hello":{"name":"a","version":"1","dialect":"Msvm","features":["changes","from-the-future"]}}"#,
        )
        .unwrap();
        assert!(with_features.offers(FEATURE_CHANGES));
        assert!(!with_features.offers("snapshot"));
        let unknown = ProfileSource::Builtin("nope".into()).load("a").unwrap_err();
        assert!(unknown.to_string().contains("not a built-in profile"));
        let file_path = ProfileSource::Builtin("Cargo.toml".into()).load("a");
        assert!(file_path.is_err(), "a builtin name is never read as a path");
    }

    #[test]
    fn one_function_maps_every_fault() {
        let during = || "request 1 (reset)".to_string();
        let cases = [
            (Fault::Unsupported("x".into()), "unsupported"),
            (Fault::AdapterError("x".into()), "crashed"),
            (
                Fault::Exited {
                    during: during(),
                    status: "exit status: 1".into(),
                },
                "crashed",
            ),
            (
                Fault::Io {
                    during: during(),
                    problem: "x".into(),
                },
                "crashed",
            ),
            (
                Fault::Lost {
                    earlier: "x".into(),
                },
                "crashed",
            ),
            (
                Fault::Timeout {
                    during: during(),
                    after: Duration::from_millis(250),
                },
                "timed out",
            ),
            (
                Fault::Handshake {
                    problem: "x".into(),
                },
                "protocol",
            ),
            (
                Fault::Garbage {
                    line: "x".into(),
                    problem: "y".into(),
                },
                "protocol",
            ),
            (
                Fault::WrongId {
                    expected: 2,
                    got: 1,
                },
                "protocol",
            ),
            (
                Fault::BadResult {
                    request: "x".into(),
                    problem: "y".into(),
                },
                "protocol",
            ),
        ];
        for (fault, kind) in cases {
            let error = service_error(&fault, "line one\nline two\n");
            let text = error.to_string();
            assert!(text.contains(kind), "{fault:?}: {text}");
            assert!(
                text.ends_with("stderr (tail):\n    | line one\n    | line two"),
                "{text}"
            );
        }
        assert_eq!(
            service_error(&Fault::Unsupported("x".into()), ""),
            ServiceError::Unsupported("x".into())
        );
    }
}
