use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenAccount;
use device_registry::state::Network;

use crate::error::StakingError;
use crate::events::TreasurySynced;
use crate::state::StakePool;

/// Accounts of `sync_treasury`. Anyone may send it, also while the network is paused: the
/// new treasury must be a stake-mint account of the network treasury's current owner, so
/// the only thing a caller decides is which of that owner's accounts receives slashed
/// stake.
#[event_cpi]
#[derive(Accounts)]
pub struct SyncTreasury<'info> {
    /// The pool's network.
    pub network: Account<'info, Network>,
    /// The network's treasury as it is now (after any `update_network`).
    #[account(address = network.treasury @ StakingError::TreasuryMismatch)]
    pub network_treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The pool whose slash treasury follows it.
    #[account(mut, dup, has_one = network @ StakingError::WrongNetwork)]
    pub pool: Box<Account<'info, StakePool>>,
    /// The stake-mint account that receives slashed stake from now on.
    #[account(
        constraint = treasury.mint == pool.stake_mint @ StakingError::WrongStakeMint,
        constraint = treasury.owner == network_treasury.owner @ StakingError::TreasuryMismatch,
    )]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
}

/// Points the pool's slash treasury at `treasury` and emits [`TreasurySynced`].
pub fn handler(ctx: Context<SyncTreasury>) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    let previous = pool.treasury;
    pool.treasury = ctx.accounts.treasury.key();
    emit_cpi!(TreasurySynced {
        pool: pool.key(),
        previous,
        treasury: pool.treasury,
    });
    Ok(())
}
