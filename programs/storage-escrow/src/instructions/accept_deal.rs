use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};

use super::pay_into_vault;
use crate::error::StorageError;
use crate::events::DealAccepted;
use crate::hasher::SolanaSha256;
use crate::state::{Deal, DealState, StorageMarket};

/// Arguments of `accept_deal`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct AcceptDealArgs {
    /// Hash of the terms the provider accepts (`depin_core::storage::DealTerms::hash` of
    /// the deal as the provider read it): the acceptance is refused (`TermsMismatch`) unless
    /// the deal still has exactly these terms.
    pub terms_hash: [u8; 32],
}

/// Accounts of `accept_deal`.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptDeal<'info> {
    /// The provider device's owner; posts the collateral.
    pub provider: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ StorageError::NetworkPaused)]
    pub network: Box<Account<'info, Network>>,
    /// The market.
    #[account(has_one = network, has_one = payment_mint, has_one = vault)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The deal.
    #[account(
        mut,
        dup,
        has_one = market,
        constraint = deal.state == DealState::Proposed @ StorageError::DealNotProposed,
    )]
    pub deal: Box<Account<'info, Deal>>,
    /// The provider's registry device named in the deal.
    #[account(
        address = deal.provider_device @ StorageError::NotStorageDevice,
        constraint = device.network == network.key() @ StorageError::NotStorageDevice,
        constraint = device.owner == provider.key() @ StorageError::NotDeviceOwner,
        constraint = device.is_active() @ StorageError::DeviceNotActive,
    )]
    pub device: Box<Account<'info, Device>>,
    /// The payment mint.
    pub payment_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The provider's payment-mint account the collateral comes from.
    #[account(mut, dup, token::mint = payment_mint, token::authority = provider)]
    pub provider_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Checks the accepted terms, takes the collateral, starts period 0 and emits
/// [`DealAccepted`].
pub fn handler(ctx: Context<AcceptDeal>, args: AcceptDealArgs) -> Result<()> {
    let deal_key = ctx.accounts.deal.key();
    require!(
        ctx.accounts.deal.terms(&deal_key).hash::<SolanaSha256>() == args.terms_hash,
        StorageError::TermsMismatch
    );
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
        deal: deal_key,
        provider: ctx.accounts.provider.key(),
        collateral,
        start_ts: now,
    });
    Ok(())
}
