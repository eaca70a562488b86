//! The committed IDLs in `idl/` match the programs.
//!
//! Runs the `idl-gen` binary, which builds every program's IDL with a nested `cargo` in
//! `$CARGO_TARGET_DIR/idl` (so the `idl-build` feature stays out of this build) and compares
//! it with `idl/<program>.json`. With `UPDATE_IDL=1` it writes the files instead.

use std::process::Command;

#[test]
fn committed_idls_match_the_programs() {
    let update = idl_gen::update_requested(std::env::var_os("UPDATE_IDL"));
    let binary = env!("CARGO_BIN_EXE_idl-gen");
    let output = Command::new(binary)
        .args([if update { "--write" } else { "--check" }, "--quiet"])
        .output()
        .unwrap_or_else(|err| panic!("could not run {binary}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    assert!(
        output.status.success(),
        "idl-gen {} ({}):\n{stderr}{stdout}",
        if update { "--write" } else { "--check" },
        output.status
    );
}
