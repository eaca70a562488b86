//! # Test harness of the DePIN suite
//!
//! Runs the suite's programs inside a real Solana runtime (`solana-program-test`'s bank,
//! the same one a validator runs) next to the real SPL Token and Token-2022 programs, which
//! the runtime loads as their deployed BPF builds.
//!
//! - [`runtime`]: [`runtime::Suite`] starts the runtime with the programs (compiled natively,
//!   or the SBF `.so` builds when `SBF_OUT_DIR`/`BPF_OUT_DIR` points at them), sends
//!   transactions, reads accounts and balances, creates mints and token accounts, and moves
//!   the clock.
//! - [`fixture`]: a typed fixture builder (network, maker, operators, devices, stake pool,
//!   stake, bonds) that every program's tests reuse.
//! - [`assert`]: turns a failed transaction into the program error it carries.
//!
//! `src/bin/demo.rs` is the scripted scenario the README's first command runs.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecates parts of its API in favour of crates that need a newer rustc; it is still the real runtime we test against"
)]

pub mod assert;
pub mod fixture;
pub mod runtime;

pub use solana_keypair::Keypair;
pub use solana_signer::Signer;
