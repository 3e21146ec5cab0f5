//! The embedded-instance decoder: any bytes, decoded as CIM-XML or MOF; the codec's body
//! panics exactly when one of its invariants breaks (a refusal is not a finding).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    poolcheck::codec::fuzz::decode_body(data);
});
