//! One file per instruction: its arguments, its accounts and its handler.
//!
//! The glob re-exports put every accounts struct (and the client modules Anchor generates
//! beside it) at the crate root, where `#[program]` looks for them.
#![allow(
    ambiguous_glob_reexports,
    reason = "every instruction file names its entry point `handler`; lib.rs calls each by its full path"
)]

pub mod claim;

pub mod initialize_rewards;
pub mod open_claimed;
pub mod propose_root;
pub mod set_oracles;

pub use claim::*;
pub use initialize_rewards::*;
pub use open_claimed::*;
pub use propose_root::*;
pub use set_oracles::*;

use anchor_lang::prelude::*;

use crate::error::RewardsError;
use crate::state::MAX_ORACLES;

/// Checks an oracle set and quorum with the core rules and packs it into the fixed array the
/// config stores.
pub(crate) fn pack_oracles(oracles: &[Pubkey], quorum: u8) -> Result<[Pubkey; MAX_ORACLES]> {
    let keys: Vec<[u8; 32]> = oracles.iter().map(|k| k.to_bytes()).collect();
    depin_core::oracle::validate_oracle_set(&keys, quorum).map_err(|e| match e {
        depin_core::CoreError::InvalidQuorum => RewardsError::InvalidQuorum,
        _ => RewardsError::InvalidOracleSet,
    })?;
    let mut packed = [Pubkey::default(); MAX_ORACLES];
    for (slot, key) in packed.iter_mut().zip(oracles) {
        *slot = *key;
    }
    Ok(packed)
}
