//! # idl-gen
//!
//! Builds the Anchor IDL of every program under `programs/` natively, without the Anchor CLI,
//! and keeps the committed copies in `idl/<program>.json` in step with the programs, for
//! TypeScript clients, explorers and Codama-style generators.
//!
//! ```sh
//! cargo run -p idl-gen -- --write     # rebuild every IDL and write idl/*.json
//! cargo run -p idl-gen                # rebuild and compare with idl/*.json (also `--check`)
//! UPDATE_IDL=1 cargo test -p idl-gen  # the same as --write, through the test
//! ```
//!
//! `tests/idl.rs` runs the comparison inside `cargo test --workspace`, so a change to a
//! program that changes its interface fails the tests until `idl/` is regenerated.
//!
//! ## How an IDL is built
//! With the `idl-build` feature, Anchor's macros add `#[test]` functions named
//! `__anchor_private_print_idl_*` to a program; each prints a piece of the IDL (address,
//! instructions and accounts, types, events, errors). [`IdlBuilder`] runs them
//! (`cargo test __anchor_private_print_idl --features idl-build -- --show-output`) in the
//! program's directory and assembles, sorts and verifies the JSON: the same code that
//! `anchor build` and `anchor idl build` use, with the same defaults as `Anchor.toml`
//! (`resolution = true`, `skip-lint = false`, docs included).
//!
//! The nested `cargo` builds in a target directory of its own (`$CARGO_TARGET_DIR/idl`, see
//! [`default_target_dir`]) with `--locked`, so `idl-build` (which adds code and features to
//! `anchor-lang`, `anchor-spl` and every program) never joins the feature set of the
//! workspace's own build: the programs the tests run are built exactly as before, and the two
//! builds never rebuild each other's artifacts. For the same reason this crate depends on no
//! program crate. The nested build compiles `anchor-lang`, `anchor-spl` and their Solana
//! dependencies once more (about 1.5 minutes on 2 cores, 0.6 GB); after that a check takes
//! about 3 seconds. It needs three small crates the workspace build does not (`cargo_toml`,
//! `toml`, `toml_datetime`, for `anchor-syn`'s `idl-build`), downloaded on first use unless
//! `--offline` / `CARGO_NET_OFFLINE` says otherwise. `IdlBuilder` also sets
//! `RUSTFLAGS=-A warnings` for it, one more reason to keep its artifacts apart.
//!
//! ## `RUSTUP_TOOLCHAIN`
//! `anchor-lang-idl` 0.1.4 (the version `anchor-lang` 1.2.2 pins) mishandles that variable:
//! when it is set, it runs `cargo <toolchain>` as a probe (which fails), then
//! `rustup toolchain install <toolchain>`, which *updates* a channel toolchain such as
//! `stable` in place, then `cargo +{toolchain}` with the braces literally, which fails. rustup
//! sets the variable for every process started through its `cargo` proxy, so under every
//! `cargo run` and `cargo test` a bare `IdlBuilder` would upgrade the machine's toolchain and
//! still not build. [`pin_toolchain`] (called at the start of the binary, before any thread
//! starts) puts the running toolchain's own `cargo` first on `PATH` and removes the variable:
//! the nested build uses the same toolchain without it, and [`build`] refuses to run while
//! the variable is set.

use std::{
    collections::BTreeMap,
    env,
    ffi::OsString,
    fs,
    io::ErrorKind,
    path::{Path, PathBuf},
    process::Command,
};

use anchor_lang_idl::build::IdlBuilder;
pub use anchor_lang_idl::types::Idl;
use anyhow::{bail, ensure, Context, Result};

/// The command that rewrites `idl/` from the programs.
pub const REGENERATE: &str = "cargo run -p idl-gen -- --write";

/// The same through the check test.
pub const REGENERATE_WITH_TEST: &str = "UPDATE_IDL=1 cargo test -p idl-gen";

/// The repository root (the Cargo workspace this crate belongs to).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/idl-gen sits two levels below the workspace root")
        .to_path_buf()
}

/// Where the committed IDLs live: `idl/` at the repository root.
pub fn idl_dir(root: &Path) -> PathBuf {
    root.join("idl")
}

/// The target directory of the nested IDL build: `idl/` inside the workspace's target
/// directory, i.e. `$CARGO_TARGET_DIR/idl` (a relative `CARGO_TARGET_DIR` is taken from the
/// workspace root). Without `CARGO_TARGET_DIR`: next to the running binary's profile
/// directory when it lives in a Cargo target directory (which covers `build.target-dir` in a
/// Cargo config), else `target/idl` in the workspace.
pub fn default_target_dir(root: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
        return root.join(dir).join("idl");
    }
    let from_exe = env::current_exe().ok().and_then(|exe| {
        let target = exe.parent()?.parent()?;
        target
            .join("CACHEDIR.TAG")
            .is_file()
            .then(|| target.join("idl"))
    });
    from_exe.unwrap_or_else(|| root.join("target").join("idl"))
}

/// A program whose IDL is built: a directory under `programs/` whose `Cargo.toml` declares
/// an `idl-build` feature.
#[derive(Clone, Debug)]
pub struct Program {
    /// The crate's library name (`device_registry`), which is also the `#[program]` module's
    /// name, the IDL's `metadata.name` and the file name in `idl/`.
    pub name: String,
    /// The program crate's directory.
    pub dir: PathBuf,
}

impl Program {
    /// The committed IDL's path: `idl/<name>.json`.
    pub fn idl_path(&self, root: &Path) -> PathBuf {
        idl_dir(root).join(format!("{}.json", self.name))
    }
}

/// Every program under `root/programs`, sorted by name.
pub fn programs(root: &Path) -> Result<Vec<Program>> {
    let programs_dir = root.join("programs");
    let mut programs = Vec::new();
    for entry in fs::read_dir(&programs_dir)
        .with_context(|| format!("reading {}", programs_dir.display()))?
    {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let has_idl_build = text.lines().any(|line| {
            line.trim_start()
                .strip_prefix("idl-build")
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        if !has_idl_build {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|name| name.to_str())
            .with_context(|| format!("program directory name of {}", dir.display()))?
            .replace('-', "_");
        programs.push(Program { name, dir });
    }
    programs.sort_by(|a, b| a.name.cmp(&b.name));
    ensure!(
        !programs.is_empty(),
        "no program with an `idl-build` feature under {}",
        programs_dir.display()
    );
    Ok(programs)
}

/// Makes this process's environment safe for [`IdlBuilder`] (see the crate doc): puts the
/// running toolchain's `cargo` (`$CARGO` when started by cargo, else `rustup which cargo`
/// when `RUSTUP_TOOLCHAIN` is set) first on `PATH`, removes `RUSTUP_TOOLCHAIN`, and checks
/// that `cargo` runs.
///
/// Changes the process environment: call it at the start of `main`, before any thread
/// starts.
pub fn pin_toolchain() -> Result<()> {
    let cargo = match env::var_os("CARGO").map(PathBuf::from) {
        Some(cargo) if cargo.is_file() => Some(cargo),
        _ if env::var_os("RUSTUP_TOOLCHAIN").is_some() => Some(rustup_which_cargo()?),
        _ => None,
    };
    if let Some(bin_dir) = cargo.as_deref().and_then(Path::parent) {
        let mut dirs = vec![bin_dir.to_path_buf()];
        dirs.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
        let path = env::join_paths(dirs).context("joining PATH")?;
        env::set_var("PATH", path);
    }
    env::remove_var("RUSTUP_TOOLCHAIN");

    match Command::new("cargo").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => bail!(
            "`cargo --version` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(err) if err.kind() == ErrorKind::NotFound => bail!(
            "`cargo` was not found on PATH; building the IDLs needs it (install Rust with \
             rustup, stable 1.95 or newer)"
        ),
        Err(err) => Err(err).context("running `cargo --version`"),
    }
}

fn rustup_which_cargo() -> Result<PathBuf> {
    let output = Command::new("rustup")
        .args(["which", "cargo"])
        .output()
        .context("RUSTUP_TOOLCHAIN is set but `rustup which cargo` could not run")?;
    ensure!(
        output.status.success(),
        "`rustup which cargo` failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(PathBuf::from(
        String::from_utf8(output.stdout)
            .context("`rustup which cargo` printed a non-UTF-8 path")?
            .trim(),
    ))
}

/// How the nested `cargo` runs.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Its `--target-dir` (see [`default_target_dir`]).
    pub target_dir: PathBuf,
    /// Pass `--offline` (`CARGO_NET_OFFLINE` is inherited anyway).
    pub offline: bool,
}

/// Builds one program's IDL with [`IdlBuilder`] and checks its name and address. The
/// nested cargo's stderr (progress, compile errors) goes to this process's stderr.
///
/// [`pin_toolchain`] must have run first.
pub fn build(program: &Program, options: &BuildOptions) -> Result<Idl> {
    ensure!(
        env::var_os("RUSTUP_TOOLCHAIN").is_none(),
        "RUSTUP_TOOLCHAIN is set: call idl_gen::pin_toolchain() first (anchor-lang-idl 0.1.4 \
         cannot build with it set)"
    );
    let target_dir = options
        .target_dir
        .to_str()
        .with_context(|| format!("target directory {:?} is not UTF-8", options.target_dir))?;
    // No debug info: the test binaries only print; a cold build is then half the size and a
    // little faster.
    let mut cargo_args: Vec<String> = [
        "--lib",
        "--locked",
        "--target-dir",
        target_dir,
        "--config",
        "profile.dev.debug=0",
    ]
    .map(String::from)
    .into();
    if options.offline {
        cargo_args.push("--offline".into());
    }
    let idl = IdlBuilder::new()
        .program_path(program.dir.clone())
        .cargo_args(cargo_args)
        .build()
        .with_context(|| {
            format!(
                "building the IDL of {} failed (the nested cargo's output is above; \
                 `ANCHOR_LOG=1` also prints the tests' output)",
                program.dir.display()
            )
        })?;
    ensure!(
        idl.metadata.name == program.name,
        "{}: the IDL is named `{}`, expected `{}` (the `#[program]` module should be named \
         after the crate)",
        program.dir.display(),
        idl.metadata.name,
        program.name
    );
    ensure!(
        is_address(&idl.address),
        "{}: the IDL's address `{}` is not a base58 public key (is `declare_id!` missing?)",
        program.dir.display(),
        idl.address
    );
    Ok(idl)
}

fn is_address(address: &str) -> bool {
    const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    (32..=44).contains(&address.len()) && address.chars().all(|c| BASE58.contains(c))
}

/// The committed form of an IDL: pretty JSON (as `anchor build` writes it) and a final
/// newline.
pub fn to_json(idl: &Idl) -> Result<String> {
    let mut json = anchor_lang_idl::serde_json::to_string_pretty(idl)?;
    json.push('\n');
    Ok(json)
}

/// The `*.json` files in `idl/`, by file stem.
pub fn committed_files(root: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let dir = idl_dir(root);
    let mut files = BTreeMap::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(files),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            if let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) {
                files.insert(stem.to_owned(), path);
            }
        }
    }
    Ok(files)
}

/// What differs between a committed file and the freshly built JSON, or `None` when they
/// are equal (line endings aside, so a CRLF checkout still compares equal).
pub fn difference(committed: &str, built: &str) -> Option<String> {
    let committed = committed.replace("\r\n", "\n");
    if committed == built {
        return None;
    }
    let mut committed_lines = committed.lines();
    let mut built_lines = built.lines();
    for line in 1.. {
        match (committed_lines.next(), built_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => break,
            (a, b) => {
                return Some(format!(
                    "first difference at line {line}: committed {}, built {}",
                    a.map_or("<end of file>".to_owned(), |a| format!("`{}`", a.trim())),
                    b.map_or("<end of file>".to_owned(), |b| format!("`{}`", b.trim())),
                ))
            }
        }
    }
    Some("differs only in trailing whitespace".to_owned())
}

/// Relative path for messages.
pub fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `UPDATE_IDL` set to anything but empty or `0`.
pub fn update_requested(value: Option<OsString>) -> bool {
    value.is_some_and(|value| !value.is_empty() && value != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_first_line() {
        assert_eq!(difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(difference("a\r\nb\r\n", "a\nb\n"), None);
        assert_eq!(
            difference("a\nb\n", "a\nc\n").unwrap(),
            "first difference at line 2: committed `b`, built `c`"
        );
        assert_eq!(
            difference("a\n", "a\nc\n").unwrap(),
            "first difference at line 2: committed <end of file>, built `c`"
        );
    }

    #[test]
    fn addresses_are_base58_keys() {
        assert!(is_address("3HKKi5rkoaxo8XmnXKtnAaQKYir6RbB9qyoKDSA3J28N"));
        assert!(!is_address(""));
        assert!(!is_address("0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl"));
    }

    #[test]
    fn every_program_is_found() {
        let names: Vec<_> = programs(&workspace_root())
            .unwrap()
            .into_iter()
            .map(|program| program.name)
            .collect();
        for name in [
            "device_registry",
            "energy_settlement",
            "rewards",
            "staking",
            "storage_escrow",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
    }

    #[test]
    fn update_flag() {
        assert!(!update_requested(None));
        assert!(!update_requested(Some("".into())));
        assert!(!update_requested(Some("0".into())));
        assert!(update_requested(Some("1".into())));
    }
}
