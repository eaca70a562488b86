//! # Staking
//!
//! Operators back their devices with stake. A [`state::StakePool`] per network holds every
//! staker's tokens in one PDA-owned vault; a [`state::StakePosition`] per staker tracks active
//! and cooling-down amounts; a [`state::DeviceBond`] per device proves the device is backed by
//! its owner's stake, and is what the rewards program reads to decide eligibility.
//!
//! Invariant kept by every instruction: the vault holds exactly
//! `total_staked + total_pending` of the pool.
//!
//! Layout: `state/` one file per account, `instructions/` one file per instruction,
//! `events.rs`, `error.rs`; this file only forwards.

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
pub mod state;

use instructions::*;

declare_id!("CApmpwRVLJaxSeHEAUK8mLWFFhU1811kAuHJEr74s6Qi");

#[program]
pub mod staking {
    use super::*;

    /// Creates a network's stake pool and its vault (network authority only).
    pub fn initialize_pool(ctx: Context<InitializePool>, args: InitializePoolArgs) -> Result<()> {
        instructions::initialize_pool::handler(ctx, args)
    }

    /// Changes the pool's minimum stake, cooldown or slash authority (network authority only).
    pub fn update_pool(ctx: Context<UpdatePool>, args: UpdatePoolArgs) -> Result<()> {
        instructions::update_pool::handler(ctx, args)
    }

    /// Points the pool's slash treasury at a stake-mint account of the network treasury's
    /// current owner, after the network authority rotated the treasury (anyone may send it).
    pub fn sync_treasury(ctx: Context<SyncTreasury>) -> Result<()> {
        instructions::sync_treasury::handler(ctx)
    }

    /// Moves tokens from the staker into the vault as active stake.
    pub fn stake(ctx: Context<Stake>, amount: u64) -> Result<()> {
        instructions::stake::handler(ctx, amount)
    }

    /// Bonds one of the staker's active devices to their stake.
    pub fn bond_device(ctx: Context<BondDevice>) -> Result<()> {
        instructions::bond_device::handler(ctx)
    }

    /// Removes a device's bond (its staker, or the device's current owner).
    pub fn unbond_device(ctx: Context<UnbondDevice>) -> Result<()> {
        instructions::unbond_device::handler(ctx)
    }

    /// Moves active stake into cooldown.
    pub fn request_unstake(ctx: Context<RequestUnstake>, amount: u64) -> Result<()> {
        instructions::request_unstake::handler(ctx, amount)
    }

    /// Pays out stake whose cooldown has elapsed. Allowed while the network is paused.
    pub fn withdraw(ctx: Context<Withdraw>) -> Result<()> {
        instructions::withdraw::handler(ctx)
    }

    /// Takes stake from a position (active first, then pending) into the treasury.
    pub fn slash(ctx: Context<Slash>, args: SlashArgs) -> Result<()> {
        instructions::slash::handler(ctx, args)
    }
}
