//! The executable specification: a pure, deterministic model of one host's resource pools.
//!
//! Given the host fixture and a profile, [`HostModel`] holds the primordial pools, child and
//! root pools with their per-parent holdings, and root-pool ownership of host resources.
//! For each [`Step`] it says which outcomes the specification permits ([`Expectation`]) with
//! the rule ids that decided them; after a success it follows the choices the specification
//! leaves open (paths, shared splits, default names) and reports choices it does not permit.
//! [`invariants`] checks a snapshot on its own.
//!
//! The model refuses to know about implementations, the wire, time, randomness or I/O: it
//! imports nothing from `reference`, `mutants`, `harness`, `report` or the CLI, and it never
//! sees a `MethodCall` — only the concrete [`Step`] that the harness also renders.

pub mod fxhash;
pub mod invariants;
pub mod observed;
pub mod operation;
pub mod order;
pub mod state;
pub mod step;
pub mod transition;

pub use operation::Operation;
pub use state::{HostModel, ModelPool, Role};
pub use step::{method_of, Step, StepKind};
pub use transition::{rule_id, Expectation, Refusal, Violation};
