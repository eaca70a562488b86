//! The five contracts compiled to the Wasm `pallet-contracts` executes.
//!
//! `cargo-contract` 5 (and with it `ink_e2e`'s build step) cannot build on Rust 1.92 and
//! later: it asks for the `panic_immediate_abort` std feature, which became a panic
//! strategy. So this module does the parts of its build that matter to the chain:
//!
//! 1. `cargo rustc --crate-type cdylib --release --no-default-features` for the target
//!    `wasm32v1-none`, the Wasm MVP plus mutable globals. (`wasm32-unknown-unknown` on
//!    Rust 1.82 and later emits reference types, multi-value and bulk memory, which the
//!    runtime's wasmi refuses.) The linker imports the memory (`--import-memory`), caps it
//!    at 16 pages (`--max-memory`, the limit of `pallet-contracts`' schedule) and gives the
//!    stack 64 KiB, as `cargo-contract` does.
//! 2. [`post_process`]: only `call` and `deploy` stay exported (the linker also exports
//!    `__heap_base`, `__data_end` and the `mem*` builtins, which the runtime refuses), and
//!    custom sections (names, producers, target features) are dropped.
//!
//! What is missing against `cargo-contract` is `wasm-opt`, a C++ build of binaryen: the
//! code is optimized by LLVM for size (`opt-level = "z"`) but not re-optimized afterwards.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use wasm_encoder::{ExportKind, ExportSection, Module, RawSection};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// The Rust target the contracts are compiled for.
pub const TARGET: &str = "wasm32v1-none";

/// Memory limit in 64 KiB pages (`pallet-contracts`' default schedule allows 16).
pub const MAX_MEMORY_PAGES: u64 = 16;

/// The crates of the five contracts, in deployment order, with their Wasm file names.
pub const CONTRACTS: [(&str, &str); 5] = [
    ("device-registry", "device_registry"),
    ("staking", "staking"),
    ("rewards", "rewards"),
    ("storage-escrow", "storage_escrow"),
    ("energy-settlement", "energy_settlement"),
];

/// The deployable code of every contract.
#[derive(Clone, Debug)]
pub struct Contracts {
    /// `device-registry`.
    pub registry: Vec<u8>,
    /// `staking`.
    pub staking: Vec<u8>,
    /// `rewards`.
    pub rewards: Vec<u8>,
    /// `storage-escrow`.
    pub storage: Vec<u8>,
    /// `energy-settlement`.
    pub energy: Vec<u8>,
}

impl Contracts {
    /// `(crate name, code)` of every contract, in deployment order.
    pub fn all(&self) -> [(&'static str, &[u8]); 5] {
        [
            (CONTRACTS[0].0, &self.registry),
            (CONTRACTS[1].0, &self.staking),
            (CONTRACTS[2].0, &self.rewards),
            (CONTRACTS[3].0, &self.storage),
            (CONTRACTS[4].0, &self.energy),
        ]
    }
}

/// Why the contracts could not be built.
#[derive(Clone, Debug)]
pub enum BuildError {
    /// `cargo` could not be started.
    Cargo(String),
    /// `cargo` ran and failed (its exit status and the tail of its output).
    Compile(String),
    /// A compiled file could not be read.
    Read(String),
    /// The compiled module is not one `pallet-contracts` accepts.
    Module(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cargo(e) => write!(f, "cannot run cargo: {e}"),
            Self::Compile(e) => write!(f, "building the contracts for {TARGET} failed: {e}"),
            Self::Read(e) => write!(f, "cannot read a compiled contract: {e}"),
            Self::Module(e) => write!(f, "the compiled module is not deployable: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The contracts workspace (the parent of this crate).
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Where the Wasm build writes: `$DEPIN_WASM_TARGET_DIR`, else `wasm/` under
/// `$CARGO_TARGET_DIR` (or under the contracts' `target/`). A directory of its own, so the
/// build never waits on the lock of the build running the tests.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DEPIN_WASM_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| contracts_dir().join("target"), PathBuf::from)
        .join("wasm")
}

/// Builds the five contracts once per process and returns their code (later calls answer
/// from the first build).
pub fn contracts() -> Result<&'static Contracts, BuildError> {
    static BUILT: OnceLock<Result<Contracts, BuildError>> = OnceLock::new();
    BUILT.get_or_init(build).as_ref().map_err(Clone::clone)
}

/// Compiles every contract for [`TARGET`] and post-processes it (see the module doc).
pub fn build() -> Result<Contracts, BuildError> {
    let target_dir = target_dir();
    let mut code = Vec::with_capacity(CONTRACTS.len());
    for (package, file) in CONTRACTS {
        compile(package, &target_dir)?;
        let path = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{file}.wasm"));
        let raw = std::fs::read(&path)
            .map_err(|e| BuildError::Read(format!("{}: {e}", path.display())))?;
        code.push(post_process(&raw).map_err(|e| BuildError::Module(format!("{file}: {e}")))?);
    }
    let mut code = code.into_iter();
    let mut next = || code.next().unwrap_or_default();
    Ok(Contracts {
        registry: next(),
        staking: next(),
        rewards: next(),
        storage: next(),
        energy: next(),
    })
}

fn compile(package: &str, target_dir: &Path) -> Result<(), BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(contracts_dir())
        // The flags below are the final crate's only; anything inherited would rebuild
        // every dependency for the host's flags.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .args(["rustc", "--locked", "--quiet", "--release", "--lib"])
        .args([
            "--crate-type",
            "cdylib",
            "--no-default-features",
            "--target",
            TARGET,
        ])
        .args(["--package", package, "--"])
        .args(["-C", "link-arg=-zstack-size=65536"])
        .args(["-C", "link-arg=--import-memory"])
        .arg("-C")
        .arg(format!(
            "link-arg=--max-memory={}",
            MAX_MEMORY_PAGES * 65_536
        ))
        .output()
        .map_err(|e| BuildError::Cargo(e.to_string()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(BuildError::Compile(format!(
        "{package}: {}\n{}",
        output.status,
        tail.join("\n")
    )))
}

/// Makes a linked contract deployable: keeps the exports `call` and `deploy` only, drops
/// custom sections, and checks that the memory is imported as `env.memory` with a maximum
/// of at most [`MAX_MEMORY_PAGES`] and that nothing else is (the checks `pallet-contracts`
/// makes at upload, answered here with a readable error).
pub fn post_process(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let mut module = Module::new();
    let mut memory_imported = false;
    let mut entry_points = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| e.to_string())?;
        match &payload {
            Payload::CustomSection(_) | Payload::CodeSectionEntry(_) => continue,
            Payload::MemorySection(s) if s.count() > 0 => {
                return Err("defines its own memory instead of importing it".into())
            }
            Payload::ImportSection(imports) => {
                for import in imports.clone() {
                    let import = import.map_err(|e| e.to_string())?;
                    if let TypeRef::Memory(memory) = import.ty {
                        if (import.module, import.name) != ("env", "memory") {
                            return Err(format!(
                                "memory imported as {}.{}",
                                import.module, import.name
                            ));
                        }
                        match memory.maximum {
                            Some(max) if max <= MAX_MEMORY_PAGES => memory_imported = true,
                            max => {
                                return Err(format!(
                                "memory maximum {max:?} pages, at most {MAX_MEMORY_PAGES} allowed"
                            ))
                            }
                        }
                    }
                }
            }
            Payload::ExportSection(exports) => {
                let mut kept = ExportSection::new();
                for export in exports.clone() {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind == ExternalKind::Func && matches!(export.name, "call" | "deploy")
                    {
                        kept.export(export.name, ExportKind::Func, export.index);
                        entry_points += 1;
                    }
                }
                module.section(&kept);
                continue;
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            let data = wasm.get(range).ok_or("section out of bounds")?;
            module.section(&RawSection { id, data });
        }
    }
    if !memory_imported {
        return Err("no memory import".into());
    }
    if entry_points != 2 {
        return Err("`call` and `deploy` must both be exported".into());
    }
    Ok(module.finish())
}
