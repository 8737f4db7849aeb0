//! The `slipway` binary: see `slipway --help`.

fn main() -> std::process::ExitCode {
    slipway::cli::main()
}
