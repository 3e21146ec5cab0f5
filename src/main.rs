//! The `poolcheck` binary: glue over the library (see `src/cli/`).

mod cli;

/// The harness allocates and frees many small values per step (paths, views, embedded
/// instances); mimalloc serves them about a fifth faster than the system allocator
/// (BENCHMARKS.md). The library leaves the choice to the program that links it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
