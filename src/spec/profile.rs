//! Implementation profiles: what an implementation claims, in TOML (`spec/profiles/`).
//!
//! A profile names the dialect, which methods exist and whether each completes synchronously
//! or through a job, per resource type whether shared-capacity allocations are supported and
//! its MaxParentPools, the host fixture, how strictly codes are compared, and which error
//! channel is accepted. The schema is documented in `spec/profiles/README.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::sut::{Dialect, HostFixture, Method, ResourceKind, ResourceTypeFixture};

/// Whether a method completes synchronously (0), through a job (4096), or either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodMode {
    Sync,
    Job,
    Either,
    Unsupported,
}

/// How exactly refusal codes must match where the specification names only a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strictness {
    /// Only the first-named reason of a family is accepted.
    Exact,
    /// Any reason of the family the specification leaves open is accepted.
    Family,
}

/// Which channel may carry a refusal (RC-003).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorChannel {
    ReturnValue,
    CimStatus,
    Either,
}

/// Whether an Msvm job must name the kind of work it does (JOB-006).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobTypeUse {
    /// JobType 0 ("not set") passes; a set JobType must be its method's.
    #[default]
    Optional,
    /// Every job carries its method's JobType; 0 fails.
    Required,
}

/// What the `Error` output of an Invalid Parameter refusal holds (EMB-005).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorOutput {
    /// One embedded `CIM_Error` (or subclass) instance with a non-empty `Message` (DSP0200).
    CimError,
    /// A non-empty message string (`[out] string Error`, root\virtualization v1).
    Text,
}

/// Where the implementation's pools and jobs live (ID-005): the namespace and the class names
/// its references must name. Anything left out is not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instances {
    /// The namespace of pools and jobs (compared as CIM does: case-insensitive, `\` = `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The classes a pool reference may name (case-insensitive); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool_classes: Vec<String>,
    /// The classes a job reference may name (case-insensitive); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_classes: Vec<String>,
}

/// One resource type of the host, with the implementation's policy for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceTypeProfile {
    pub resource_type: u16,
    pub resource_subtype: String,
    pub kind: ResourceKind,
    #[serde(default)]
    pub capacity: u64,
    #[serde(default)]
    pub host_resources: Vec<String>,
    #[serde(default)]
    pub shared_capacity: bool,
    #[serde(default)]
    pub max_parent_pools: u8,
}

/// A known divergence: failures of `rule` are expected, for `reason`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedFailure {
    pub rule: String,
    pub reason: String,
}

/// What an implementation claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub dialect: Dialect,
    #[serde(default = "default_host_name")]
    pub host_name: String,
    pub strictness: Strictness,
    pub error_channel: ErrorChannel,
    /// Per method name: its mode. A method of the dialect that is not listed is `either`.
    #[serde(default)]
    pub methods: BTreeMap<String, MethodMode>,
    pub resource_types: Vec<ResourceTypeProfile>,
    #[serde(default)]
    pub expected_failures: Vec<ExpectedFailure>,
    /// Whether Msvm jobs must carry their JobType (JOB-006); `optional` when absent.
    #[serde(default, skip_serializing_if = "JobTypeUse::is_optional")]
    pub job_type: JobTypeUse,
    /// What its Invalid Parameter refusals carry in `Error` (EMB-005); not checked when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_output: Option<ErrorOutput>,
    /// Where its pools and jobs live (ID-005); not checked when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<Instances>,
}

impl JobTypeUse {
    fn is_optional(&self) -> bool {
        *self == JobTypeUse::Optional
    }
}

fn default_host_name() -> String {
    "POOLHOST".into()
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {message}")]
    Read { path: String, message: String },
    #[error("profile {name} is not valid TOML for a poolcheck profile: {message}")]
    Parse { name: String, message: String },
    #[error("profile {name}: {message}")]
    Invalid { name: String, message: String },
}

/// The profiles shipped with poolcheck, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "reference-msvm",
        include_str!("../../spec/profiles/reference-msvm.toml"),
    ),
    (
        "reference-cim",
        include_str!("../../spec/profiles/reference-cim.toml"),
    ),
    ("hyperv", include_str!("../../spec/profiles/hyperv.toml")),
];

impl Profile {
    /// Parse a profile from TOML text; `name` is used in error messages.
    pub fn from_toml(name: &str, text: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|e| ProfileError::Parse {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// A built-in profile by name, or a profile file by path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((name, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::from_toml(name, text);
        }
        let text =
            std::fs::read_to_string(Path::new(name_or_path)).map_err(|e| ProfileError::Read {
                path: name_or_path.to_string(),
                message: e.to_string(),
            })?;
        Profile::from_toml(name_or_path, &text)
    }

    /// The built-in profile with this name. Panics only if the shipped file is broken, which
    /// the unit tests rule out.
    pub fn built_in(name: &str) -> Profile {
        Profile::load(name).unwrap_or_else(|e| panic!("built-in profile {name}: {e}"))
    }

    fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |message: String| ProfileError::Invalid {
            name: self.name.clone(),
            message,
        };
        for method in self.methods.keys() {
            let known = Method::from_name(method)
                .ok_or_else(|| invalid(format!("unknown method {method:?}")))?;
            if known.dialect() != self.dialect {
                return Err(invalid(format!(
                    "method {method} does not belong to the {:?} dialect",
                    self.dialect
                )));
            }
        }
        if self.resource_types.is_empty() {
            return Err(invalid(
                "no resource_types: the host needs at least one primordial pool".into(),
            ));
        }
        for (idx, t) in self.resource_types.iter().enumerate() {
            let twin = self.resource_types[..idx].iter().any(|o| {
                o.resource_type == t.resource_type && o.resource_subtype == t.resource_subtype
            });
            if twin {
                return Err(invalid(format!(
                    "resource type {} {:?} is listed twice",
                    t.resource_type, t.resource_subtype
                )));
            }
            if t.kind != ResourceKind::Quantity && t.host_resources.is_empty() {
                return Err(invalid(format!(
                    "resource type {} {:?} holds named host resources but lists none",
                    t.resource_type, t.resource_subtype
                )));
            }
        }
        for (idx, expected) in self.expected_failures.iter().enumerate() {
            if crate::spec::rules::find(&expected.rule).is_none() {
                return Err(invalid(format!(
                    "expected failure names rule {:?}, which spec/ does not have",
                    expected.rule
                )));
            }
            if expected.reason.trim().is_empty() {
                return Err(invalid(format!(
                    "expected failure of {} has no reason: every known divergence needs one",
                    expected.rule
                )));
            }
            if self.expected_failures[..idx]
                .iter()
                .any(|e| e.rule == expected.rule)
            {
                return Err(invalid(format!(
                    "expected failure of {} is listed twice",
                    expected.rule
                )));
            }
        }
        Ok(())
    }

    /// The mode of a method under this profile.
    pub fn mode(&self, method: Method) -> MethodMode {
        if method.dialect() != self.dialect {
            return MethodMode::Unsupported;
        }
        self.methods
            .get(method.name())
            .copied()
            .unwrap_or(MethodMode::Either)
    }

    /// The known divergence the profile declares for `rule`, if any.
    pub fn expected_failure(&self, rule: &str) -> Option<&ExpectedFailure> {
        self.expected_failures.iter().find(|e| e.rule == rule)
    }

    pub fn supports(&self, method: Method) -> bool {
        self.mode(method) != MethodMode::Unsupported
    }

    /// The host the implementation is reset to.
    pub fn fixture(&self) -> HostFixture {
        HostFixture {
            host_name: self.host_name.clone(),
            resource_types: self
                .resource_types
                .iter()
                .map(|t| ResourceTypeFixture {
                    resource_type: t.resource_type,
                    resource_subtype: t.resource_subtype.clone(),
                    kind: t.kind,
                    capacity: t.capacity,
                    host_resources: t.host_resources.clone(),
                })
                .collect(),
        }
    }

    /// Serialise back to TOML (for reports and traces).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}
