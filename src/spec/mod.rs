//! The specification as data: rule ids parsed from `spec/*.md`, the return-code tables of
//! `spec/return-codes.toml`, and implementation profiles (`spec/profiles/*.toml`).
//!
//! Everything here is loaded from the files under `spec/` (embedded at compile time), so the
//! Markdown a reader checks and the ids the code charges are one and the same. This module
//! knows the vocabulary of the specification — rule ids, reasons, codes, profiles — and
//! refuses to know how a rule is checked or which implementation is being checked.

pub mod codes;
pub mod profile;
pub mod rules;

pub use codes::{CodeTables, Meaning, Reason};
pub use profile::{ErrorChannel, ErrorOutput, JobTypeUse, MethodMode, Profile, Strictness};
pub use rules::{Rule, RuleId};

/// The edition of the specification, recorded in every report and trace.
pub fn edition() -> &'static str {
    &codes::tables().edition
}
