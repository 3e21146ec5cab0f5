//! Transcripts: every exchange between the harness and an implementation, saved as JSON lines
//! (`poolcheck run --record FILE`), and replayed offline without the implementation
//! (`--target transcript:FILE`, [`replay_transcript`]).
//!
//! A transcript holds one section per profile run. A section starts with a [`Header`] line
//! (`{"transcript":"poolcheck-transcript/1", …}`: suite version, spec edition, target, the
//! implementation's description, the whole profile and the run's [`Config`], seed included),
//! followed by one line per call in order: `{"n":1,"request":{"op":"reset",…},"reply":{"ok":…}}`
//! or `…,"reply":{"err":{"Timeout":"…"}}}`. Requests are the adapter protocol's
//! [`Request`]s; replies are what the [`PoolService`] returned — so a transcript records any
//! target, the built-in ones included, and faults (a crash, a timeout) replay as faults.
//!
//! Replaying re-runs the harness with the recorded profile and configuration against a
//! [`Replayer`], which answers each request with the recorded reply after checking that it is
//! the recorded request. The harness is deterministic, so a faithful replay sends exactly the
//! recorded requests; the first request that differs, or a run that ends early or late, is a
//! [`TranscriptError::Diverged`] saying where.
//!
//! This module records and replays calls. It refuses to know how they are judged (the
//! harness), how a live implementation is reached (the other adapters), or how results look.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Lines, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::protocol::Request;
use crate::harness::{self, Config, HarnessError, RunReport};
use crate::spec::profile::Profile;
use crate::sut::{
    CallReply, HostFixture, JobView, MethodCall, ObjectPath, PoolService, ServiceDescription,
    ServiceError, Snapshot,
};

/// The format tag of a transcript's header lines.
pub const FORMAT: &str = "poolcheck-transcript/1";

/// The first line of a section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub transcript: String,
    pub suite_version: String,
    pub spec_edition: String,
    /// The `--target` the run used.
    pub target: String,
    /// What the implementation said about itself.
    pub service: ServiceDescription,
    pub profile: Profile,
    pub config: Config,
}

/// Why a transcript could not be written or replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    #[error("transcript {path}: {problem}")]
    Io { path: PathBuf, problem: String },
    #[error("transcript {path}, line {line}: {problem}")]
    Format {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("transcript {path} has no run for profile {profile:?} (it has: {recorded})")]
    NoSection {
        path: PathBuf,
        profile: String,
        recorded: String,
    },
    #[error("the run diverged from transcript {path}: {detail}")]
    Diverged { path: PathBuf, detail: String },
    #[error("replaying transcript {path}: {error}")]
    Harness { path: PathBuf, error: HarnessError },
}

#[derive(Serialize)]
struct ExchangeOut<'a, T: Serialize> {
    n: u64,
    request: &'a Request,
    reply: ReplyOut<'a, T>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ReplyOut<'a, T: Serialize> {
    Ok(&'a T),
    Err(&'a ServiceError),
}

#[derive(Deserialize)]
struct ExchangeIn {
    n: u64,
    request: Request,
    reply: ReplyIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReplyIn {
    Ok(Box<RawValue>),
    Err(ServiceError),
}

/// A transcript file being written.
pub struct Recorder {
    path: PathBuf,
    out: BufWriter<File>,
    /// The first write error; reported by [`Recording::finish`].
    error: Option<String>,
}

impl Recorder {
    /// Create (or truncate) the transcript file.
    pub fn create(path: &Path) -> Result<Recorder, TranscriptError> {
        let file = File::create(path).map_err(|e| TranscriptError::Io {
            path: path.to_path_buf(),
            problem: format!("cannot create: {e}"),
        })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, file),
            error: None,
        })
    }

    /// Start a section for one run and return `service` wrapped so that every call is saved.
    pub fn record<'a>(
        &'a mut self,
        service: &'a mut dyn PoolService,
        target: &str,
        profile: &Profile,
        config: &Config,
    ) -> Result<Recording<'a>, TranscriptError> {
        let header = Header {
            transcript: FORMAT.to_string(),
            suite_version: harness::SUITE_VERSION.to_string(),
            spec_edition: crate::spec::edition().to_string(),
            target: target.to_string(),
            service: service.describe(),
            profile: profile.clone(),
            config: config.clone(),
        };
        self.write_line(&header);
        self.take_error()?;
        Ok(Recording {
            service,
            recorder: self,
            n: 0,
        })
    }

    fn write_line<T: Serialize>(&mut self, value: &T) {
        if self.error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, value)
            .map_err(|e| e.to_string())
            .and_then(|()| self.out.write_all(b"\n").map_err(|e| e.to_string()));
        if let Err(problem) = written {
            self.error = Some(problem);
        }
    }

    fn take_error(&mut self) -> Result<(), TranscriptError> {
        match self.error.take() {
            None => Ok(()),
            Some(problem) => Err(TranscriptError::Io {
                path: self.path.clone(),
                problem: format!("cannot write: {problem}"),
            }),
        }
    }
}

/// A service whose every call is saved to a transcript.
pub struct Recording<'a> {
    service: &'a mut dyn PoolService,
    recorder: &'a mut Recorder,
    n: u64,
}

impl Recording<'_> {
    /// Flush the section; report the first write error, if any.
    pub fn finish(self) -> Result<(), TranscriptError> {
        if let Err(e) = self.recorder.out.flush() {
            self.recorder.error.get_or_insert(e.to_string());
        }
        self.recorder.take_error()
    }

    fn save<T: Serialize>(
        &mut self,
        request: &Request,
        reply: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.n += 1;
        let reply_out = match &reply {
            Ok(value) => ReplyOut::Ok(value),
            Err(e) => ReplyOut::Err(e),
        };
        self.recorder.write_line(&ExchangeOut {
            n: self.n,
            request,
            reply: reply_out,
        });
        reply
    }
}

impl PoolService for Recording<'_> {
    fn describe(&self) -> ServiceDescription {
        self.service.describe()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        let reply = self.service.reset(fixture);
        let request = Request::Reset {
            fixture: fixture.clone(),
        };
        self.save(&request, reply)
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        let reply = self.service.invoke(call);
        self.save(&Request::Invoke(call.clone()), reply)
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        let reply = self.service.poll_job(job);
        self.save(&Request::PollJob { job: job.clone() }, reply)
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        let reply = self.service.snapshot();
        self.save(&Request::Snapshot, reply)
    }
}

/// Whether `path` is a transcript (its first line is a transcript header).
pub fn is_transcript(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut first = String::new();
    let mut reader = BufReader::new(Read::take(file, 4 * 1024 * 1024));
    if reader.read_line(&mut first).is_err() {
        return false;
    }
    parse_header(&first).is_some()
}

fn is_exchange_line(line: &str) -> bool {
    line.starts_with("{\"n\":")
}

fn parse_header(line: &str) -> Option<Header> {
    let header: Header = serde_json::from_str(line.trim_end()).ok()?;
    (header.transcript == FORMAT).then_some(header)
}

/// One section of a transcript: its header and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub line: usize,
    pub header: Header,
}

/// Every section header of a transcript, in order.
pub fn sections(path: &Path) -> Result<Vec<Section>, TranscriptError> {
    let mut found = Vec::new();
    for (idx, line) in open_lines(path)?.enumerate() {
        let line = line.map_err(|e| io_error(path, e))?;
        if is_exchange_line(&line) || line.trim().is_empty() {
            continue;
        }
        match parse_header(&line) {
            Some(header) => found.push(Section {
                line: idx + 1,
                header,
            }),
            None => {
                return Err(TranscriptError::Format {
                    path: path.to_path_buf(),
                    line: idx + 1,
                    problem: format!(
                        "neither a {FORMAT} header nor an exchange: {}",
                        super::protocol::excerpt(&line)
                    ),
                })
            }
        }
    }
    if found.is_empty() {
        return Err(TranscriptError::Format {
            path: path.to_path_buf(),
            line: 1,
            problem: format!("not a transcript: no {FORMAT} header"),
        });
    }
    Ok(found)
}

fn open_lines(path: &Path) -> Result<Lines<BufReader<File>>, TranscriptError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    Ok(BufReader::with_capacity(256 * 1024, file).lines())
}

fn io_error(path: &Path, e: std::io::Error) -> TranscriptError {
    TranscriptError::Io {
        path: path.to_path_buf(),
        problem: e.to_string(),
    }
}

/// The profile a section was recorded with, validated like a profile file.
pub fn section_profile(path: &Path, section: &Section) -> Result<Profile, TranscriptError> {
    let name = format!(
        "{} (recorded in {})",
        section.header.profile.name,
        path.display()
    );
    Profile::from_toml(&name, &section.header.profile.to_toml()).map_err(|e| {
        TranscriptError::Format {
            path: path.to_path_buf(),
            line: section.line,
            problem: e.to_string(),
        }
    })
}

/// Replays one section: answers each request with the recorded reply.
pub struct Replayer {
    path: PathBuf,
    header: Header,
    lines: Lines<BufReader<File>>,
    /// 1-based number of the last line read.
    line: usize,
    exchanges: u64,
    diverged: Option<String>,
}

impl Replayer {
    /// Open the section that starts at `section.line`.
    pub fn open(path: &Path, section: &Section) -> Result<Replayer, TranscriptError> {
        let mut lines = open_lines(path)?;
        for _ in 0..section.line {
            lines
                .next()
                .transpose()
                .map_err(|e| io_error(path, e))?
                .ok_or_else(|| TranscriptError::Format {
                    path: path.to_path_buf(),
                    line: section.line,
                    problem: "the section's header line is missing".into(),
                })?;
        }
        Ok(Replayer {
            path: path.to_path_buf(),
            header: section.header.clone(),
            lines,
            line: section.line,
            exchanges: 0,
            diverged: None,
        })
    }

    /// Where the run left the transcript, if it did.
    pub fn divergence(&self) -> Option<&str> {
        self.diverged.as_deref()
    }

    /// After the run: the run must have used every recorded exchange of the section.
    pub fn finish(mut self) -> Result<(), TranscriptError> {
        if let Some(detail) = self.diverged.take() {
            return Err(self.diverged_error(detail));
        }
        match self.next_exchange_line() {
            Ok(None) => Ok(()),
            Ok(Some(_)) => {
                let detail = format!(
                    "the run ended after {} exchanges, but the recording goes on at line {}{}",
                    self.exchanges,
                    self.line,
                    self.settings_hint()
                );
                Err(self.diverged_error(detail))
            }
            Err(detail) => Err(self.diverged_error(detail)),
        }
    }

    fn diverged_error(&self, detail: String) -> TranscriptError {
        TranscriptError::Diverged {
            path: self.path.clone(),
            detail,
        }
    }

    fn settings_hint(&self) -> String {
        let c = &self.header.config;
        format!(
            " (recorded: profile {}, seed {}, cases {}, max_steps {}; `poolcheck replay {}` uses them)",
            self.header.profile.name,
            c.seed,
            c.cases,
            c.max_steps,
            self.path.display()
        )
    }

    /// The next exchange line of this section, or `None` at its end.
    fn next_exchange_line(&mut self) -> Result<Option<String>, String> {
        loop {
            match self.lines.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(format!("cannot read line {}: {e}", self.line + 1)),
                Some(Ok(line)) => {
                    self.line += 1;
                    if line.trim().is_empty() {
                        continue;
                    }
                    return Ok(is_exchange_line(&line).then_some(line));
                }
            }
        }
    }

    fn answer<T: DeserializeOwned>(&mut self, request: Request) -> Result<T, ServiceError> {
        match self.replay(&request) {
            Ok(value) => Ok(value),
            Err(Ok(recorded)) => Err(recorded),
            Err(Err(detail)) => {
                let detail = self.diverged.get_or_insert(detail).clone();
                Err(ServiceError::Protocol(format!(
                    "the run diverged from transcript {}: {detail}",
                    self.path.display()
                )))
            }
        }
    }

    /// `Ok(value)`, `Err(Ok(recorded error))`, or `Err(Err(divergence))`.
    fn replay<T: DeserializeOwned>(
        &mut self,
        request: &Request,
    ) -> Result<T, Result<ServiceError, String>> {
        if let Some(detail) = &self.diverged {
            return Err(Err(detail.clone()));
        }
        let number = self.exchanges + 1;
        let line = match self.next_exchange_line() {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(Err(format!(
                    "the run sent request {number} ({}) after the recording of this run ended at line {}{}",
                    request.describe(),
                    self.line,
                    self.settings_hint()
                )))
            }
            Err(detail) => return Err(Err(detail)),
        };
        let exchange: ExchangeIn = serde_json::from_str(&line).map_err(|e| {
            Err(format!(
                "line {} is not a valid exchange ({e}): {}",
                self.line,
                super::protocol::excerpt(&line)
            ))
        })?;
        self.exchanges = number;
        if exchange.request != *request || exchange.n != number {
            return Err(Err(format!(
                "at exchange {number} (line {}) the run sent {} but the recording has {}: {}{}",
                self.line,
                request.describe(),
                exchange.request.describe(),
                first_difference(request, &exchange.request),
                self.settings_hint()
            )));
        }
        match exchange.reply {
            ReplyIn::Err(recorded) => Err(Ok(recorded)),
            ReplyIn::Ok(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                Err(format!(
                    "line {}: the recorded reply to {} is not valid ({e})",
                    self.line,
                    request.describe()
                ))
            }),
        }
    }
}

/// Where two requests first differ, as JSON, with some context.
fn first_difference(sent: &Request, recorded: &Request) -> String {
    let a = serde_json::to_string(sent).unwrap_or_default();
    let b = serde_json::to_string(recorded).unwrap_or_default();
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or(a.len().min(b.len()));
    let window = |s: &str| -> String {
        let start = s
            .char_indices()
            .map(|(i, _)| i)
            .rev()
            .find(|&i| i + 40 <= at)
            .unwrap_or(0);
        s[start..].chars().take(100).collect()
    };
    format!("sent …{} — recorded …{}", window(&a), window(&b))
}

impl fmt::Debug for Replayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replayer")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("exchanges", &self.exchanges)
            .finish()
    }
}

impl PoolService for Replayer {
    fn describe(&self) -> ServiceDescription {
        self.header.service.clone()
    }

    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.answer::<IgnoredAny>(Request::Reset {
            fixture: fixture.clone(),
        })
        .map(|_| ())
    }

    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.answer(Request::Invoke(call.clone()))
    }

    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.answer(Request::PollJob { job: job.clone() })
    }

    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.answer(Request::Snapshot)
    }
}

/// Replayers for `--target transcript:FILE`: one per requested profile (the section recorded
/// under that profile's name), or one per section when no profile is requested.
pub fn targets(
    path: &Path,
    requested: &[Profile],
) -> Result<Vec<(Profile, Replayer)>, TranscriptError> {
    let found = sections(path)?;
    if requested.is_empty() {
        return found
            .iter()
            .map(|s| Ok((section_profile(path, s)?, Replayer::open(path, s)?)))
            .collect();
    }
    requested
        .iter()
        .map(|profile| {
            let section = found
                .iter()
                .find(|s| s.header.profile.name == profile.name)
                .ok_or_else(|| TranscriptError::NoSection {
                    path: path.to_path_buf(),
                    profile: profile.name.clone(),
                    recorded: found
                        .iter()
                        .map(|s| s.header.profile.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            Ok((profile.clone(), Replayer::open(path, section)?))
        })
        .collect()
}

/// Re-run every section of a transcript offline: the harness, with the recorded profile and
/// configuration, against the recorded replies. Returns one report per section; any
/// divergence from the recording is an error that says where.
pub fn replay_transcript(path: &Path) -> Result<Vec<RunReport>, TranscriptError> {
    let mut reports = Vec::new();
    for section in sections(path)? {
        let profile = section_profile(path, &section)?;
        let mut replayer = Replayer::open(path, &section)?;
        let result = harness::check(&mut replayer, &profile, &section.header.config);
        if let Some(detail) = replayer.divergence() {
            return Err(TranscriptError::Diverged {
                path: path.to_path_buf(),
                detail: detail.to_string(),
            });
        }
        let report = result.map_err(|error| TranscriptError::Harness {
            path: path.to_path_buf(),
            error,
        })?;
        replayer.finish()?;
        reports.push(report);
    }
    Ok(reports)
}
