//! Events of the rewards program, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::state::Schedule;

/// A network's rewards were configured.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardsInitialized {
    /// The `RewardsConfig` account.
    pub config: Pubkey,
    /// Its network.
    pub network: Pubkey,
    /// The reward mint (its mint authority is now `config`).
    pub reward_mint: Pubkey,
    /// Emission schedule.
    pub schedule: Schedule,
    /// Epoch length in seconds.
    pub epoch_duration_secs: u64,
    /// Start of epoch 0.
    pub genesis_ts: i64,
    /// Oracles.
    pub oracles: Vec<Pubkey>,
    /// Quorum.
    pub quorum: u8,
}

/// The oracle set changed; proposals made under the previous set no longer count.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OraclesSet {
    /// The `RewardsConfig` account.
    pub config: Pubkey,
    /// New oracles.
    pub oracles: Vec<Pubkey>,
    /// New quorum.
    pub quorum: u8,
    /// Version of the oracle set after the change.
    pub oracle_set_version: u32,
}

/// An oracle proposed an epoch's root.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootProposed {
    /// The `RewardsConfig` account.
    pub config: Pubkey,
    /// The epoch.
    pub epoch: u64,
    /// The proposing oracle.
    pub oracle: Pubkey,
    /// Proposed root.
    pub root: [u8; 32],
    /// Proposed cumulative total.
    pub cumulative_total: u64,
    /// Proposed SHA-256 of the epoch's region multiplier table (all zeros: no table).
    pub multipliers_hash: [u8; 32],
    /// Oracles that proposed exactly this root, total and multiplier table hash so far.
    pub votes: u8,
}

/// An epoch's root reached quorum.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFinalized {
    /// The `RewardsConfig` account.
    pub config: Pubkey,
    /// The epoch.
    pub epoch: u64,
    /// Finalized root.
    pub root: [u8; 32],
    /// Finalized cumulative total.
    pub cumulative_total: u64,
    /// Finalized SHA-256 of the epoch's region multiplier table (all zeros: no table).
    pub multipliers_hash: [u8; 32],
}

/// Rewards were minted to a device owner.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardsClaimed {
    /// The `RewardsConfig` account.
    pub config: Pubkey,
    /// The registry device.
    pub device: Pubkey,
    /// Its owner, who received the tokens.
    pub owner: Pubkey,
    /// Epoch whose root the claim proved against.
    pub epoch: u64,
    /// Amount minted now.
    pub amount: u64,
    /// Total claimed by the device so far.
    pub total_claimed: u64,
}

/// A device's claim record was opened (nothing claimed yet).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedOpened {
    /// The `RewardsConfig` account.
    pub config: Pubkey,
    /// The registry device.
    pub device: Pubkey,
    /// The new `Claimed` account.
    pub claimed: Pubkey,
}
