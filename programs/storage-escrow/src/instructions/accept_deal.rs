use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};

use super::pay_into_vault;
use crate::error::StorageError;
use crate::events::DealAccepted;
use crate::state::{Deal, DealState, StorageMarket};

/// Accounts of `accept_deal`.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptDeal<'info> {
    /// The provider device's owner; posts the collateral.
    pub provider: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ StorageError::NetworkPaused)]
    pub network: Account<'info, Network>,
    /// The market.
    #[account(
        seeds = [StorageMarket::SEED, network.key().as_ref()],
        bump = market.bump,
        has_one = network,
        has_one = payment_mint,
        has_one = vault,
    )]
    pub market: Account<'info, StorageMarket>,
    /// The deal.
    #[account(
        mut,
        seeds = [Deal::SEED, deal.client.as_ref(), &deal.deal_id.to_le_bytes()],
        bump = deal.bump,
        has_one = market,
        constraint = deal.state == DealState::Proposed @ StorageError::DealNotProposed,
    )]
    pub deal: Account<'info, Deal>,
    /// The provider's registry device named in the deal.
    #[account(
        address = deal.provider_device @ StorageError::NotStorageDevice,
        constraint = device.network == network.key() @ StorageError::NotStorageDevice,
        constraint = device.owner == provider.key() @ StorageError::NotDeviceOwner,
        constraint = device.is_active() @ StorageError::DeviceNotActive,
    )]
    pub device: Account<'info, Device>,
    /// The payment mint.
    pub payment_mint: InterfaceAccount<'info, Mint>,
    /// The provider's payment-mint account the collateral comes from.
    #[account(mut, token::mint = payment_mint, token::authority = provider)]
    pub provider_token_account: InterfaceAccount<'info, TokenAccount>,
    /// The market's vault.
    #[account(mut)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Takes the collateral, starts period 0 and emits [`DealAccepted`].
pub fn handler(ctx: Context<AcceptDeal>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let deal = &mut ctx.accounts.deal;
    deal.provider = ctx.accounts.provider.key();
    deal.collateral_left = deal.collateral;
    deal.state = DealState::Active;
    deal.start_ts = now;
    let collateral = deal.collateral;
    pay_into_vault(
        &ctx.accounts.provider_token_account,
        &ctx.accounts.provider,
        &ctx.accounts.vault,
        &ctx.accounts.payment_mint,
        &ctx.accounts.token_program,
        collateral,
    )?;
    emit_cpi!(DealAccepted {
        deal: ctx.accounts.deal.key(),
        provider: ctx.accounts.provider.key(),
        collateral,
        start_ts: now,
    });
    Ok(())
}
