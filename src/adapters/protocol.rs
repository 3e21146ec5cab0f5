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

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::spec::profile::{Profile, ProfileError, BUILT_IN};
use crate::sut::{Dialect, HostFixture, MethodCall, ObjectPath, ServiceDescription, ServiceError};

/// The protocol version an adapter must name in its hello line.
pub const PROTOCOL: &str = "poolcheck-adapter/1";

/// Environment variable set for every adapter process, holding [`PROTOCOL`].
pub const PROTOCOL_ENV: &str = "POOLCHECK_PROTOCOL";

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
}

impl Hello {
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
/// `{"op":"poll_job","job":"..."}`, `{"op":"snapshot"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Reset { fixture: HostFixture },
    Invoke(MethodCall),
    PollJob { job: ObjectPath },
    Snapshot,
}

impl Request {
    /// A short description for messages: `invoke CreatePool`, `snapshot`.
    pub fn describe(&self) -> String {
        match self {
            Request::Reset { .. } => "reset".into(),
            Request::Invoke(call) => format!("invoke {}", call.method),
            Request::PollJob { job } => format!("poll_job {job}"),
            Request::Snapshot => "snapshot".into(),
        }
    }
}

/// A request line: the request with its `id` first.
pub fn encode_request(id: u64, request: &Request) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        id: u64,
        #[serde(flatten)]
        request: &'a Request,
    }
    // Serialising these types cannot fail: every map key is a string.
    let mut line = serde_json::to_string(&Line { id, request }).unwrap_or_default();
    line.push('\n');
    line
}

/// What a response line says, once its `id` matched.
#[derive(Debug)]
pub enum Reply {
    Ok(Box<RawValue>),
    Unsupported(String),
    Error(String),
}

#[derive(Deserialize)]
struct ResponseLine {
    id: u64,
    #[serde(default, deserialize_with = "present")]
    ok: Option<Box<RawValue>>,
    #[serde(default)]
    unsupported: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `Some` whenever the key is present, even with the value `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// Decode one response line to the request with `expected_id`.
pub fn decode_response(line: &str, expected_id: u64) -> Result<Reply, Fault> {
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
        (Some(ok), None, None) => Ok(Reply::Ok(ok)),
        (None, Some(why), None) => Ok(Reply::Unsupported(why)),
        (None, None, Some(what)) => Ok(Reply::Error(what)),
        _ => Err(Fault::Garbage {
            line: excerpt(line),
            problem: "a response has exactly one of \"ok\", \"unsupported\", \"error\"".into(),
        }),
    }
}

/// Decode an `ok` result as the type `request` answers with.
pub fn decode_result<T: DeserializeOwned>(raw: &RawValue, request: &Request) -> Result<T, Fault> {
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
