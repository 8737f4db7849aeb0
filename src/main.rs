//! The `slipway` binary: see `slipway --help`.

/// jemalloc instead of glibc's malloc. The pages build many short-lived
/// rows and strings per request; under load glibc's allocator (its arena
/// locks, `malloc_consolidate` on every large buffer) was a sixth of the
/// server's CPU, and "my work" serves 7–20 % more requests with
/// jemalloc, with a steadier tail (README "Benchmarks"). mimalloc was
/// tried too: no faster here, and three times the resident memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    slipway::cli::main()
}
