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
        match self {
            Request::Reset { .. } => "reset".into(),
            Request::Invoke(call) => format!("invoke {}", call.method),
            Request::PollJob { job } => format!("poll_job {job}"),
            Request::Snapshot => "snapshot".into(),
            Request::Changes => "changes".into(),
        }
    }
}

/// A request line: the request with its `id` first, and a newline.
pub fn encode_request(id: u64, request: &Request) -> String {
    // Serialising these types cannot fail (every map key is a string), and a request is
    // always a JSON object: the id goes right after its opening brace.
    let body = serde_json::to_string(request).unwrap_or_else(|_| "{}".into());
    let mut line = String::with_capacity(body.len() + 24);
    line.push_str("{\"id\":");
    line.push_str(&id.to_string());
    match body.strip_prefix('{').filter(|rest| *rest != "}") {
        Some(rest) => {
            line.push(',');
            line.push_str(rest);
        }
        None => line.push('}'),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::Method;

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
