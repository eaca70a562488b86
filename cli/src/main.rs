//! The `depin` binary; everything lives in the library (see its crate doc).

fn main() -> std::process::ExitCode {
    depin_cli::main_entry()
}
