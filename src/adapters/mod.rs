//! Targets: how a `--target` string becomes a [`PoolService`].
//!
//! `reference` and `mutant:NAME` are built in (see [`crate::mutants`]); adapters for
//! implementations outside this process (a JSON-lines process adapter, later WBEM clients)
//! live in this folder, each behind the same trait. This module knows how to reach an
//! implementation; it refuses to know what the implementation should answer.

use crate::mutants;
use crate::spec::profile::Profile;
use crate::sut::PoolService;

/// Build the implementation a `--target` names, configured for `profile`.
pub fn build_target(target: &str, profile: &Profile) -> Result<Box<dyn PoolService>, String> {
    mutants::build(target, profile)
}
