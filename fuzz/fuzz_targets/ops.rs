//! Differential operation traces: bytes → `arbitrary` → operations, run in lockstep against
//! the model and the implementation named by `POOLCHECK_FUZZ_TARGET` (default `reference`)
//! under `POOLCHECK_FUZZ_PROFILE` (default `reference-msvm`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use poolcheck::harness::fuzz;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = fuzz::differential(data) {
        panic!("{finding}");
    }
});
