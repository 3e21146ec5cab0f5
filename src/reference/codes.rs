//! The reference implementation's own return-code tables.
//!
//! A real service carries its table in its own code; so does this one. It deliberately does
//! not read `spec/return-codes.toml`: the suite checks these numbers against that file, and a
//! table loaded from it would check nothing.

use crate::sut::{Dialect, Method};

/// Method completed with no error.
pub(crate) const COMPLETED: u32 = 0;

// Msvm_ResourcePoolConfigurationService.
const MSVM_NOT_SUPPORTED: u32 = 32770;
const MSVM_UNKNOWN: u32 = 32771;
const MSVM_INVALID_PARAMETER: u32 = 32773;
const MSVM_IN_USE: u32 = 32774;
const MSVM_INCORRECT_RESOURCE_TYPE: u32 = 32776;
const MSVM_INSUFFICIENT_RESOURCES: u32 = 32780;
const MSVM_OBJECT_NOT_FOUND: u32 = 32781;
const MSVM_OBJECT_EXISTS: u32 = 32788;
/// What the `CodeOutsideTable` defect reports for Object Not Found.
const MSVM_OUTSIDE_TABLE: u32 = 32789;

// CIM_ResourcePoolConfigurationService.
const CIM_NOT_SUPPORTED: u32 = 1;
const CIM_UNKNOWN: u32 = 2;
const CIM_FAILED: u32 = 4;
const CIM_INVALID_PARAMETER: u32 = 5;
const CIM_IN_USE: u32 = 6;
const CIM_INCORRECT_RESOURCE_TYPE: u32 = 7;
const CIM_INSUFFICIENT_RESOURCES: u32 = 8;
/// What the `CodeOutsideTable` defect reports for Object Not Found.
const CIM_OUTSIDE_TABLE: u32 = 9;

/// `CIM_ERR_INVALID_PARAMETER` on the CIM-status channel (DSP0200).
pub(crate) const CIM_ERR_INVALID_PARAMETER: u32 = 4;

/// Why a call is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    InvalidParameter,
    NotSupported,
    InUse,
    IncorrectResourceType,
    InsufficientResources,
    ObjectNotFound,
    ObjectExists,
}

/// A refusal: the reason, a message for people, and — only when the `LeakOnFailure` defect
/// is active — the partial reservations the failed call did not roll back.
#[derive(Clone, Debug)]
pub(crate) struct Refusal {
    pub reason: Reason,
    pub message: String,
    pub leaked: Vec<super::store::Holding>,
}

impl Refusal {
    pub fn new(reason: Reason, message: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            message: message.into(),
            leaked: Vec::new(),
        }
    }
}

/// Shorthands.
pub(crate) fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(Reason::InvalidParameter, message)
}

/// Options of the table that defects change.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CodeQuirks {
    pub all_unknown: bool,
    pub not_found_outside_table: bool,
}

/// The number a dialect's method returns for a reason.
pub(crate) fn code_for(
    dialect: Dialect,
    method: Method,
    reason: Reason,
    quirks: CodeQuirks,
) -> u32 {
    match dialect {
        Dialect::Msvm => {
            if quirks.all_unknown {
                return MSVM_UNKNOWN;
            }
            match reason {
                Reason::InvalidParameter => MSVM_INVALID_PARAMETER,
                Reason::NotSupported => MSVM_NOT_SUPPORTED,
                Reason::InUse => MSVM_IN_USE,
                Reason::IncorrectResourceType => MSVM_INCORRECT_RESOURCE_TYPE,
                Reason::InsufficientResources => MSVM_INSUFFICIENT_RESOURCES,
                Reason::ObjectNotFound if quirks.not_found_outside_table => MSVM_OUTSIDE_TABLE,
                Reason::ObjectNotFound => MSVM_OBJECT_NOT_FOUND,
                Reason::ObjectExists => MSVM_OBJECT_EXISTS,
            }
        }
        Dialect::Cim => {
            if quirks.all_unknown {
                return CIM_UNKNOWN;
            }
            match reason {
                Reason::InvalidParameter => CIM_INVALID_PARAMETER,
                Reason::NotSupported => CIM_NOT_SUPPORTED,
                Reason::InUse => CIM_IN_USE,
                Reason::IncorrectResourceType => CIM_INCORRECT_RESOURCE_TYPE,
                // Only the two allocation methods list Insufficient Resources.
                Reason::InsufficientResources => match method {
                    Method::CreateChildResourcePool | Method::ChangeParentResourcePool => {
                        CIM_INSUFFICIENT_RESOURCES
                    }
                    _ => CIM_FAILED,
                },
                Reason::ObjectNotFound if quirks.not_found_outside_table => CIM_OUTSIDE_TABLE,
                // The CIM tables have no Object Not Found / Object Exists.
                Reason::ObjectNotFound | Reason::ObjectExists => CIM_INVALID_PARAMETER,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirks_change_codes() {
        let q = CodeQuirks::default();
        let m = Method::CreatePool;
        assert_eq!(code_for(Dialect::Msvm, m, Reason::ObjectNotFound, q), 32781);
        let outside = CodeQuirks {
            not_found_outside_table: true,
            ..q
        };
        assert_eq!(
            code_for(Dialect::Msvm, m, Reason::ObjectNotFound, outside),
            32789
        );
        let c = Method::AddResourcesToResourcePool;
        assert_eq!(
            code_for(Dialect::Cim, c, Reason::InsufficientResources, q),
            4
        );
        assert_eq!(
            code_for(
                Dialect::Cim,
                Method::CreateChildResourcePool,
                Reason::InsufficientResources,
                q
            ),
            8
        );
    }
}
