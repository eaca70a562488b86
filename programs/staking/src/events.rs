//! Events of the staking program, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

/// A stake pool was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInitialized {
    /// The pool.
    pub pool: Pubkey,
    /// Its network.
    pub network: Pubkey,
    /// Stake mint.
    pub stake_mint: Pubkey,
    /// Vault.
    pub vault: Pubkey,
    /// Slash treasury.
    pub treasury: Pubkey,
    /// Minimum active stake per bonded device.
    pub min_stake_per_device: u64,
    /// Cooldown in seconds.
    pub cooldown_secs: u64,
    /// Slash authority.
    pub slash_authority: Pubkey,
}

/// A pool's settings changed; carries the values now in force.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUpdated {
    /// The pool.
    pub pool: Pubkey,
    /// Minimum active stake per bonded device.
    pub min_stake_per_device: u64,
    /// Cooldown in seconds.
    pub cooldown_secs: u64,
    /// Slash authority.
    pub slash_authority: Pubkey,
}

/// The pool's slash treasury now follows the network treasury's current owner.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasurySynced {
    /// The pool.
    pub pool: Pubkey,
    /// The slash treasury before.
    pub previous: Pubkey,
    /// The slash treasury now.
    pub treasury: Pubkey,
}

/// Tokens were staked.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staked {
    /// The pool.
    pub pool: Pubkey,
    /// The position.
    pub position: Pubkey,
    /// The staker.
    pub owner: Pubkey,
    /// Amount moved into the vault.
    pub amount: u64,
    /// The position's active stake afterwards.
    pub active: u64,
}

/// A device was bonded.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBonded {
    /// The pool.
    pub pool: Pubkey,
    /// The bond account.
    pub bond: Pubkey,
    /// The registry device.
    pub device: Pubkey,
    /// The backing position.
    pub position: Pubkey,
    /// The staker.
    pub staker: Pubkey,
    /// Devices bonded to the position afterwards.
    pub devices_bonded: u32,
}

/// A device's bond was removed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceUnbonded {
    /// The pool.
    pub pool: Pubkey,
    /// The closed bond account.
    pub bond: Pubkey,
    /// The registry device.
    pub device: Pubkey,
    /// The position that backed it.
    pub position: Pubkey,
    /// Who signed the unbond.
    pub unbonded_by: Pubkey,
    /// Devices bonded to the position afterwards.
    pub devices_bonded: u32,
}

/// Active stake entered cooldown.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnstakeRequested {
    /// The pool.
    pub pool: Pubkey,
    /// The position.
    pub position: Pubkey,
    /// The staker.
    pub owner: Pubkey,
    /// Amount moved from active to pending.
    pub amount: u64,
    /// Total pending afterwards.
    pub pending: u64,
    /// Unix time from which the pending stake may be withdrawn.
    pub unlock_ts: i64,
}

/// Pending stake was paid out.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawn {
    /// The pool.
    pub pool: Pubkey,
    /// The position.
    pub position: Pubkey,
    /// The staker.
    pub owner: Pubkey,
    /// Amount paid out.
    pub amount: u64,
}

/// Stake was slashed into the treasury.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slashed {
    /// The pool.
    pub pool: Pubkey,
    /// The position.
    pub position: Pubkey,
    /// The staker.
    pub owner: Pubkey,
    /// Taken from active stake.
    pub from_active: u64,
    /// Taken from pending stake.
    pub from_pending: u64,
    /// Hash of the off-chain evidence that justified the slash.
    pub evidence_hash: [u8; 32],
}
