//! # depin-core
//!
//! The chain-agnostic heart of the DePIN suite: every piece of math and every state
//! transition that does not touch accounts, storage or tokens. The Solana programs and the
//! ink! contracts both call it, so both chains compute exactly the same results.
//!
//! Modules:
//! - [`h3`]: validation of H3 cell indexes (device locations).
//! - [`stake`]: bonding and unstaking rules, slash splits, cooldown arithmetic.
//! - [`fees`]: basis-point fees with a written-down rounding rule.
//! - [`emission`]: the reward emission schedule and its cumulative sum.
//! - [`energy`]: the per-interval double auction and the settlement split.
//! - [`epoch`]: epoch boundaries.
//! - [`meter`]: the bytes a meter signs for a reading, and the replay-counter rule.
//! - [`merkle`]: domain-separated, sorted-pair merkle trees and proofs, generic over the
//!   platform's SHA-256.
//! - [`oracle`]: oracle-set and quorum rules.
//! - [`status`]: device statuses and who (authority, owner, auditor) may move a device
//!   from which to which.
//! - [`storage`]: piece commitments, storage challenges, deal periods and payments.
//! - [`error`]: the one error type of the crate.
//!
//! The crate has no dependencies, is `no_std` without its default `std` feature, never
//! panics and uses checked arithmetic only.

#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod emission;
pub mod energy;
pub mod epoch;
pub mod error;
pub mod fees;
pub mod h3;
pub mod merkle;
pub mod meter;
pub mod oracle;
pub mod stake;
pub mod status;
pub mod storage;

pub use error::CoreError;
