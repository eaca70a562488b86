//! # depin-ink-shared
//!
//! What the five DePIN ink! contracts have in common, and nothing else:
//!
//! - [`types`]: the values contracts read from each other (network, device, bond views)
//!   and the registry's enums, SCALE-encoded so they cross contract boundaries.
//! - [`cross`]: the two read-only interfaces one contract asks another about
//!   ([`cross::RegistryReader`], [`cross::StakingReader`]) and [`cross::read`], which
//!   opens the callee through its generated contract reference on chain.
//! - [`host`]: thin wrappers over host functions: SHA-256 as a `depin_core` hasher, the
//!   block clock in seconds, ECDSA signer recovery, the account a device key controls
//!   (`blake2_256(key)`), native transfers.
//! - `bridge` / `testing` (feature `testing`, off chain only): the ink! off-chain engine
//!   cannot execute cross-contract calls, so tests register the real contract instances
//!   behind the same interfaces and switch the engine's callee to them for each read.
//!
//! All math stays in `depin_core`; this crate only adapts it to the contract host.

#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod cross;
pub mod host;
pub mod types;

#[cfg(feature = "testing")]
pub mod bridge;
#[cfg(feature = "testing")]
pub mod testing;

pub use types::*;
