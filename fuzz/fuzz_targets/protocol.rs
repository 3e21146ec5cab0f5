//! The adapter protocol's message decoders: bytes as the lines an adapter process wrote
//! (hello line, then responses), every accepted message checked by a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poolcheck::harness::fuzz;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = fuzz::protocol(data) {
        panic!("{broken}");
    }
});
