//! Targets: how a `--target` string becomes a [`PoolService`].
//!
//! `reference` and `mutant:NAME` are built in (see [`crate::mutants`]); adapters for
//! implementations outside this process live in this folder, each behind the same trait:
//! `exec:COMMAND` runs a JSON-lines adapter process ([`process`], [`protocol`]) and
//! `transcript:FILE` replays a recorded run offline ([`transcript`]). This module knows how to reach an
//! implementation; it refuses to know what the implementation should answer.

pub mod process;
pub mod protocol;
pub mod transcript;

use std::path::Path;

use crate::mutants;
use crate::spec::profile::Profile;
use crate::sut::PoolService;

pub use process::AdapterOptions;

/// A built target: the profile it runs under and the implementation.
pub type Target = (Profile, Box<dyn PoolService>);

/// The profiles a run uses when it names none and the target declares none.
pub const DEFAULT_PROFILES: [&str; 2] = ["reference-msvm", "reference-cim"];

/// Build the implementation a `--target` names, configured for `profile`: `reference`,
/// `mutant:NAME`, `exec:COMMAND` (a JSON-lines adapter process, default options) or
/// `transcript:FILE` (the run recorded under this profile's name, replayed).
pub fn build_target(target: &str, profile: &Profile) -> Result<Box<dyn PoolService>, String> {
    let mut built = build_targets(
        target,
        std::slice::from_ref(profile),
        &AdapterOptions::default(),
    )?;
    Ok(built.remove(0).1)
}

/// Build the target once per profile. With no profiles, the target's own: the profile an
/// adapter declares in its hello line, or the profiles a transcript recorded — and for the
/// built-in targets [`DEFAULT_PROFILES`].
pub fn build_targets(
    target: &str,
    profiles: &[Profile],
    options: &AdapterOptions,
) -> Result<Vec<Target>, String> {
    if let Some(command) = target.strip_prefix("exec:") {
        if profiles.is_empty() {
            let (profile, adapter) =
                process::build(command, None, options).map_err(|e| e.to_string())?;
            return Ok(vec![(profile, Box::new(adapter))]);
        }
        return profiles
            .iter()
            .map(|requested| {
                let (profile, adapter) =
                    process::build(command, Some(requested), options).map_err(|e| e.to_string())?;
                Ok((profile, Box::new(adapter) as Box<dyn PoolService>))
            })
            .collect();
    }
    if let Some(path) = target.strip_prefix("transcript:") {
        let replayers =
            transcript::targets(Path::new(path), profiles).map_err(|e| e.to_string())?;
        return Ok(replayers
            .into_iter()
            .map(|(profile, replayer)| (profile, Box::new(replayer) as Box<dyn PoolService>))
            .collect());
    }
    let defaults;
    let profiles = if profiles.is_empty() {
        defaults = DEFAULT_PROFILES.map(Profile::built_in);
        &defaults[..]
    } else {
        profiles
    };
    profiles
        .iter()
        .map(|profile| Ok((profile.clone(), mutants::build(target, profile)?)))
        .collect()
}
