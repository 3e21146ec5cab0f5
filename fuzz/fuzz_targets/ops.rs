//! Differential operation traces: bytes → `arbitrary` → operations, run in lockstep against
//! the model and the implementation named by `POOLCHECK_FUZZ_TARGET` (default `reference`)
//! under `POOLCHECK_FUZZ_PROFILE` (default `reference-msvm`).
#![no_main]
#![feature(cfg_sanitize)]

use libfuzzer_sys::fuzz_target;
use poolcheck::harness::fuzz;

/// Every input allocates and frees a whole host's worth of small values, so the allocator is
/// a good part of an execution's cost: mimalloc, not the system's, in a build without a
/// sanitizer (`-s none`, BENCHMARKS.md). A sanitizer's build keeps the system allocator, which
/// the sanitizer intercepts.
#[cfg(not(sanitize = "address"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = fuzz::differential(data) {
        panic!("{finding}");
    }
});
