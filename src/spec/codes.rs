//! The return-code tables of both dialects, loaded from `spec/return-codes.toml`.
//!
//! Rules speak of *reasons* (Invalid Parameter, In Use …); this module is the one place that
//! turns a reason into the numbers a dialect's method may return for it, and a number back
//! into what it means.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::sut::{Dialect, Method};

const TABLES_TOML: &str = include_str!("../../spec/return-codes.toml");

/// Why a call was refused, in the words of the return-code tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Failed,
    AccessDenied,
    NotSupported,
    Unknown,
    Timeout,
    InvalidParameter,
    InUse,
    InvalidState,
    IncorrectResourceType,
    Unavailable,
    OutOfMemory,
    VendorReserved,
    InsufficientResources,
    ObjectNotFound,
    ObjectExists,
    SizeNotSupported,
    VendorSpecific,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::Failed => "Failed",
            Reason::AccessDenied => "Access Denied",
            Reason::NotSupported => "Not Supported",
            Reason::Unknown => "Unknown",
            Reason::Timeout => "Timeout",
            Reason::InvalidParameter => "Invalid Parameter",
            Reason::InUse => "In Use",
            Reason::InvalidState => "Invalid State",
            Reason::IncorrectResourceType => "Incorrect Resource Type",
            Reason::Unavailable => "Unavailable",
            Reason::OutOfMemory => "Out of Memory",
            Reason::VendorReserved => "Vendor Reserved",
            Reason::InsufficientResources => "Insufficient Resources",
            Reason::ObjectNotFound => "Object Not Found",
            Reason::ObjectExists => "Object Exists",
            Reason::SizeNotSupported => "Size Not Supported",
            Reason::VendorSpecific => "Vendor Specific",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a ReturnValue means for one method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    Completed,
    JobStarted,
    #[serde(untagged)]
    Refused(Reason),
}

#[derive(Debug, Deserialize)]
struct Row {
    from: u32,
    to: u32,
    name: String,
    meaning: Meaning,
    #[serde(default)]
    methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DialectTable {
    rows: Vec<Row>,
    #[serde(default)]
    fallback: BTreeMap<Reason, Reason>,
}

#[derive(Debug, Deserialize)]
struct JobStates {
    documented: Vec<u16>,
    terminal: Vec<u16>,
    success: Vec<u16>,
}

#[derive(Debug, Deserialize)]
struct RawTables {
    edition: String,
    msvm: DialectTable,
    cim: DialectTable,
    cim_status: BTreeMap<String, u32>,
    job_states: JobStates,
    job_types: BTreeMap<String, u16>,
}

/// Both tables, the CIM-status mapping and the job vocabulary.
#[derive(Debug)]
pub struct CodeTables {
    pub edition: String,
    msvm: DialectTable,
    cim: DialectTable,
    cim_status: BTreeMap<String, u32>,
    job_states: JobStates,
    job_types: BTreeMap<String, u16>,
}

/// The tables, parsed once. The file is part of the crate; a parse error is a build defect
/// that the unit tests catch, so this panics with the parser's message.
pub fn tables() -> &'static CodeTables {
    static TABLES: OnceLock<CodeTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let raw: RawTables = toml::from_str(TABLES_TOML)
            .unwrap_or_else(|e| panic!("spec/return-codes.toml does not parse: {e}"));
        CodeTables {
            edition: raw.edition,
            msvm: raw.msvm,
            cim: raw.cim,
            cim_status: raw.cim_status,
            job_states: raw.job_states,
            job_types: raw.job_types,
        }
    })
}

impl CodeTables {
    fn table(&self, dialect: Dialect) -> &DialectTable {
        match dialect {
            Dialect::Msvm => &self.msvm,
            Dialect::Cim => &self.cim,
        }
    }

    fn rows(&self, method: Method) -> impl Iterator<Item = &Row> {
        self.table(method.dialect()).rows.iter().filter(move |row| {
            row.methods.is_empty() || row.methods.iter().any(|m| m == method.name())
        })
    }

    /// What `code` means when `method` returns it, or `None` when its table has no such row
    /// (a reserved or undocumented value).
    pub fn meaning(&self, method: Method, code: u32) -> Option<Meaning> {
        self.rows(method)
            .find(|row| (row.from..=row.to).contains(&code))
            .map(|row| row.meaning)
    }

    /// The documented name of `code` for `method`.
    pub fn name(&self, method: Method, code: u32) -> Option<&str> {
        self.rows(method)
            .find(|row| (row.from..=row.to).contains(&code))
            .map(|row| row.name.as_str())
    }

    /// The reason whose code stands for `reason` in this method's table (itself, or the
    /// fallback the table names when it has no row for it).
    pub fn effective_reason(&self, method: Method, reason: Reason) -> Reason {
        let has_row = self
            .rows(method)
            .any(|row| row.meaning == Meaning::Refused(reason));
        if has_row {
            return reason;
        }
        match self.table(method.dialect()).fallback.get(&reason) {
            Some(&fallback) if fallback != reason => self.effective_reason(method, fallback),
            _ => reason,
        }
    }

    /// The return values `method` may use to report `reason`.
    pub fn codes_for(&self, method: Method, reason: Reason) -> Vec<RangeInclusive<u32>> {
        let effective = self.effective_reason(method, reason);
        self.rows(method)
            .filter(|row| row.meaning == Meaning::Refused(effective))
            .map(|row| row.from..=row.to)
            .collect()
    }

    /// The first code `method` uses for `reason` (what an implementation would return).
    pub fn code_for(&self, method: Method, reason: Reason) -> Option<u32> {
        self.codes_for(method, reason).first().map(|r| *r.start())
    }

    /// The DSP0200 CIM status that stands for `reason` on the second error channel.
    pub fn cim_status(&self, reason: Reason) -> u32 {
        let key = serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.cim_status
            .get(&key)
            .or_else(|| self.cim_status.get("default"))
            .copied()
            .unwrap_or(1)
    }

    pub fn job_state_documented(&self, state: u16) -> bool {
        self.job_states.documented.contains(&state)
    }
    pub fn job_state_terminal(&self, state: u16) -> bool {
        self.job_states.terminal.contains(&state)
    }
    pub fn job_state_success(&self, state: u16) -> bool {
        self.job_states.success.contains(&state)
    }

    /// The Msvm JobType of a method's job, if the tables name one.
    pub fn job_type(&self, method: Method) -> Option<u16> {
        self.job_types.get(method.name()).copied()
    }

    /// Every documented row of a method's table as `(from, to, name)`.
    pub fn documented_rows(&self, method: Method) -> Vec<(u32, u32, String)> {
        self.rows(method)
            .map(|row| (row.from, row.to, row.name.clone()))
            .collect()
    }
}
