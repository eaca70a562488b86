use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenAccount;
use device_registry::state::Network;

use crate::error::StorageError;
use crate::events::TreasurySynced;
use crate::state::StorageMarket;

/// Accounts of `sync_treasury`. Anyone may send it, also while the network is paused: the
/// new treasury must be a payment-mint account of the network treasury's current owner, so
/// the only thing a caller decides is which of that owner's accounts receives the market's
/// fees and terminal slashes.
#[event_cpi]
#[derive(Accounts)]
pub struct SyncTreasury<'info> {
    /// The market's network.
    pub network: Account<'info, Network>,
    /// The network's treasury as it is now (after any `update_network`).
    #[account(address = network.treasury @ StorageError::TreasuryMismatch)]
    pub network_treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market whose treasury follows it.
    #[account(mut, dup, has_one = network)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The payment-mint account that receives the market's fees and terminal slashes from now on.
    #[account(
        constraint = treasury.mint == market.payment_mint @ StorageError::TreasuryMismatch,
        constraint = treasury.owner == network_treasury.owner @ StorageError::TreasuryMismatch,
    )]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
}

/// Points the market's treasury at `treasury` and emits [`TreasurySynced`].
pub fn handler(ctx: Context<SyncTreasury>) -> Result<()> {
    let market = &mut ctx.accounts.market;
    let previous = market.treasury;
    market.treasury = ctx.accounts.treasury.key();
    emit_cpi!(TreasurySynced {
        market: market.key(),
        previous,
        treasury: market.treasury,
    });
    Ok(())
}
