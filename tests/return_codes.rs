//! Every return-code mapping of both dialects, as tables: reason → code, code → meaning, the
//! CIM fallbacks, the CIM-status channel and the job vocabulary — all loaded from
//! spec/return-codes.toml.

use poolcheck::spec::codes::tables;
use poolcheck::spec::{Meaning, Reason};
use poolcheck::sut::Method;
use rstest::rstest;

const MSVM_METHODS: [Method; 4] = [
    Method::CreatePool,
    Method::ModifyPoolResources,
    Method::ModifyPoolSettings,
    Method::DeletePool,
];

#[rstest]
#[case(Reason::Failed, 32768)]
#[case(Reason::AccessDenied, 32769)]
#[case(Reason::NotSupported, 32770)]
#[case(Reason::Unknown, 32771)]
#[case(Reason::Timeout, 32772)]
#[case(Reason::InvalidParameter, 32773)]
#[case(Reason::InUse, 32774)]
#[case(Reason::InvalidState, 32775)]
#[case(Reason::IncorrectResourceType, 32776)]
#[case(Reason::Unavailable, 32777)]
#[case(Reason::OutOfMemory, 32778)]
#[case(Reason::VendorReserved, 32779)]
#[case(Reason::InsufficientResources, 32780)]
#[case(Reason::ObjectNotFound, 32781)]
#[case(Reason::ObjectExists, 32788)]
fn msvm_reason_to_code(#[case] reason: Reason, #[case] code: u32) {
    for method in MSVM_METHODS {
        assert_eq!(
            tables().code_for(method, reason),
            Some(code),
            "{method} {reason}"
        );
        assert_eq!(
            tables().meaning(method, code),
            Some(Meaning::Refused(reason)),
            "{method} {code}"
        );
    }
}

#[rstest]
#[case(32781)]
#[case(32784)]
#[case(32787)]
fn msvm_object_not_found_is_a_range(#[case] code: u32) {
    for method in MSVM_METHODS {
        assert_eq!(
            tables().meaning(method, code),
            Some(Meaning::Refused(Reason::ObjectNotFound))
        );
    }
}

#[rstest]
#[case(0, Some(Meaning::Completed))]
#[case(4096, Some(Meaning::JobStarted))]
#[case(1, None)]
#[case(4095, None)]
#[case(4097, None)]
#[case(32767, None)]
#[case(32789, None)]
#[case(65535, None)]
#[case(70000, None)]
fn msvm_table_edges(#[case] code: u32, #[case] meaning: Option<Meaning>) {
    for method in MSVM_METHODS {
        assert_eq!(tables().meaning(method, code), meaning, "{method} {code}");
    }
}

#[rstest]
#[case(Method::CreateChildResourcePool, Reason::NotSupported, 1)]
#[case(Method::CreateChildResourcePool, Reason::Unknown, 2)]
#[case(Method::CreateChildResourcePool, Reason::Timeout, 3)]
#[case(Method::CreateChildResourcePool, Reason::Failed, 4)]
#[case(Method::CreateChildResourcePool, Reason::InvalidParameter, 5)]
#[case(Method::CreateChildResourcePool, Reason::InUse, 6)]
#[case(Method::CreateChildResourcePool, Reason::IncorrectResourceType, 7)]
#[case(Method::CreateChildResourcePool, Reason::InsufficientResources, 8)]
#[case(Method::CreateChildResourcePool, Reason::SizeNotSupported, 4097)]
#[case(Method::ChangeParentResourcePool, Reason::InsufficientResources, 8)]
#[case(Method::ChangeParentResourcePool, Reason::SizeNotSupported, 4097)]
#[case(Method::DeleteResourcePool, Reason::InUse, 6)]
#[case(Method::CreateResourcePool, Reason::SizeNotSupported, 4097)]
#[case(Method::AddResourcesToResourcePool, Reason::IncorrectResourceType, 7)]
#[case(Method::RemoveResourcesFromResourcePool, Reason::InvalidParameter, 5)]
// Reasons the CIM tables lack fall back to a code they have.
#[case(Method::CreateChildResourcePool, Reason::ObjectNotFound, 5)]
#[case(Method::DeleteResourcePool, Reason::ObjectNotFound, 5)]
#[case(Method::CreateChildResourcePool, Reason::ObjectExists, 4)]
#[case(Method::DeleteResourcePool, Reason::InvalidState, 4)]
#[case(Method::CreateResourcePool, Reason::InsufficientResources, 4)]
#[case(Method::AddResourcesToResourcePool, Reason::InsufficientResources, 4)]
fn cim_reason_to_code(#[case] method: Method, #[case] reason: Reason, #[case] code: u32) {
    assert_eq!(
        tables().code_for(method, reason),
        Some(code),
        "{method} {reason}"
    );
}

#[rstest]
#[case(
    Method::CreateChildResourcePool,
    8,
    Some(Meaning::Refused(Reason::InsufficientResources))
)]
#[case(
    Method::ChangeParentResourcePool,
    8,
    Some(Meaning::Refused(Reason::InsufficientResources))
)]
#[case(Method::CreateResourcePool, 8, None)]
#[case(Method::DeleteResourcePool, 8, None)]
#[case(Method::AddResourcesToResourcePool, 8, None)]
#[case(Method::DeleteResourcePool, 4097, None)]
#[case(
    Method::CreateResourcePool,
    4097,
    Some(Meaning::Refused(Reason::SizeNotSupported))
)]
#[case(Method::CreateChildResourcePool, 9, None)]
#[case(Method::CreateChildResourcePool, 4095, None)]
#[case(Method::CreateChildResourcePool, 4098, None)]
#[case(Method::CreateChildResourcePool, 32767, None)]
#[case(
    Method::CreateChildResourcePool,
    32768,
    Some(Meaning::Refused(Reason::VendorSpecific))
)]
#[case(
    Method::DeleteResourcePool,
    65535,
    Some(Meaning::Refused(Reason::VendorSpecific))
)]
#[case(Method::DeleteResourcePool, 65536, None)]
#[case(Method::DeleteResourcePool, 0, Some(Meaning::Completed))]
#[case(Method::DeleteResourcePool, 4096, Some(Meaning::JobStarted))]
fn cim_table_per_method(
    #[case] method: Method,
    #[case] code: u32,
    #[case] meaning: Option<Meaning>,
) {
    assert_eq!(tables().meaning(method, code), meaning, "{method} {code}");
}

#[rstest]
#[case(Reason::InvalidParameter, 4)]
#[case(Reason::ObjectNotFound, 6)]
#[case(Reason::NotSupported, 7)]
#[case(Reason::ObjectExists, 11)]
#[case(Reason::AccessDenied, 2)]
#[case(Reason::InUse, 1)]
#[case(Reason::InsufficientResources, 1)]
fn cim_status_channel(#[case] reason: Reason, #[case] status: u32) {
    assert_eq!(tables().cim_status(reason), status);
}

#[rstest]
#[case(2, true, false, false)]
#[case(4, true, false, false)]
#[case(7, true, true, true)]
#[case(8, true, true, false)]
#[case(9, true, true, false)]
#[case(10, true, true, false)]
#[case(12, true, false, false)]
#[case(13, false, false, false)]
#[case(32768, true, true, true)]
#[case(32769, false, false, false)]
fn job_states(
    #[case] state: u16,
    #[case] documented: bool,
    #[case] terminal: bool,
    #[case] success: bool,
) {
    assert_eq!(tables().job_state_documented(state), documented);
    assert_eq!(tables().job_state_terminal(state), terminal);
    assert_eq!(tables().job_state_success(state), success);
}

#[rstest]
#[case(Method::CreatePool, Some(150))]
#[case(Method::ModifyPoolResources, Some(151))]
#[case(Method::ModifyPoolSettings, Some(152))]
#[case(Method::DeletePool, Some(153))]
#[case(Method::CreateChildResourcePool, None)]
fn job_types(#[case] method: Method, #[case] job_type: Option<u16>) {
    assert_eq!(tables().job_type(method), job_type);
}
