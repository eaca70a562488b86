//! # Rewards
//!
//! Pays operators for the service their devices provably delivered, with a cumulative merkle
//! distribution:
//!
//! 1. Oracles measure the network off chain and, once an epoch is over, each proposes the
//!    merkle root over `(device, owner, cumulative_amount)` for every device, and the sum of
//!    the cumulative amounts, with the SHA-256 of the epoch's region multiplier table as
//!    published off chain (zeros when the epoch uses none) ([`instructions::propose_root`]).
//! 2. When `quorum` oracles proposed exactly the same root, total and table hash, the epoch
//!    finalizes and its [`state::EpochRoot`] keeps the hash.
//!    The total may not exceed the emission schedule's cumulative emission up to that epoch
//!    and may not fall below the previous finalized total.
//! 3. Anyone may crank [`instructions::claim`] for a device with its leaf and proof against
//!    the **latest** finalized root: it mints `cumulative_amount - already_claimed` to the
//!    device owner's token account, provided the device is active in the registry and
//!    bonded to its owner's stake. A superseded root never pays (`SupersededRoot`), so
//!    however the oracles corrected earlier epochs (a device's amount may go down when fraud
//!    is found), no claim pays a device beyond its amount in the latest root.
//!
//! Storage is one [`state::Claimed`] account per device (opened once by
//! [`instructions::open_claimed`], so that claims never create accounts) and one
//! [`state::EpochRoot`] per epoch; a claim costs O(log n) hashes whatever the number of
//! devices, and the same compute units whatever the device. The program's
//! [`state::RewardsConfig`] PDA is the reward mint's mint authority, and the program never
//! mints past the latest finalized total, hence never past the schedule.
//!
//! Layout: `state/` one file per account, `instructions/` one file per instruction,
//! `events.rs`, `error.rs`, `hasher.rs` (the chain's SHA-256 for the core merkle code).

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod hasher;
pub mod instructions;
pub mod state;

use instructions::*;

declare_id!("AVigXCSdoZ6AQeGz4mY84S5hJe614LrKY9uVNJDrhD1F");

#[program]
pub mod rewards {
    use super::*;

    /// Creates a network's rewards configuration and makes its PDA the reward mint authority
    /// (network authority and the mint's current authority sign).
    pub fn initialize_rewards(
        ctx: Context<InitializeRewards>,
        args: InitializeRewardsArgs,
    ) -> Result<()> {
        instructions::initialize_rewards::handler(ctx, args)
    }

    /// Replaces the oracle set and quorum (network authority; allowed while paused).
    pub fn set_oracles(ctx: Context<SetOracles>, args: SetOraclesArgs) -> Result<()> {
        instructions::set_oracles::handler(ctx, args)
    }

    /// An oracle proposes the root, cumulative total and region multiplier table hash of an
    /// epoch that has ended.
    pub fn propose_root(ctx: Context<ProposeRoot>, args: ProposeRootArgs) -> Result<()> {
        instructions::propose_root::handler(ctx, args)
    }

    /// Opens a device's claim record (anyone may pay its rent), once, before its first
    /// claim.
    pub fn open_claimed(ctx: Context<OpenClaimed>) -> Result<()> {
        instructions::open_claimed::handler(ctx)
    }

    /// Mints a device's unclaimed rewards to its owner (anyone may crank), proving against
    /// the latest finalized root only.
    pub fn claim(ctx: Context<Claim>, args: ClaimArgs) -> Result<()> {
        instructions::claim::handler(ctx, args)
    }
}
