//! poolcheck: a property-based conformance suite for resource-pool configuration services.
//!
//! The crate holds an executable specification of the allocation rules of
//! `Msvm_ResourcePoolConfigurationService` and `CIM_ResourcePoolConfigurationService`
//! ([`model`]), the one seam any implementation plugs into ([`sut::PoolService`]), a
//! reference implementation written independently of the model ([`reference`]), and a
//! stateful harness that runs both in lockstep and attributes every verdict to a rule id
//! ([`harness`]). Read `ARCHITECTURE.md` first.

pub mod adapters;
pub mod codec;
pub mod harness;
pub mod model;
pub mod mutants;
pub mod reference;
pub mod report;
pub mod spec;
pub mod sut;
