use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::pay_from_vault;
use crate::error::StorageError;
use crate::events::DealCancelled;
use crate::state::{Deal, DealState, StorageMarket};

/// Accounts of `cancel_deal`. Allowed while paused: it returns the client's own funds.
#[event_cpi]
#[derive(Accounts)]
pub struct CancelDeal<'info> {
    /// The client; receives the escrow and the deal's rent.
    #[account(mut)]
    pub client: Signer<'info>,
    /// The market.
    #[account(has_one = payment_mint, has_one = vault)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The deal to cancel.
    #[account(
        mut,
        dup,
        close = client,
        has_one = client,
        has_one = market,
        constraint = deal.state == DealState::Proposed @ StorageError::DealNotProposed,
    )]
    pub deal: Box<Account<'info, Deal>>,
    /// The payment mint.
    pub payment_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The client's payment-mint account.
    #[account(mut, dup, token::mint = payment_mint, token::authority = client)]
    pub client_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Refunds the whole escrow, closes the deal and emits [`DealCancelled`].
pub fn handler(ctx: Context<CancelDeal>) -> Result<()> {
    let refunded = ctx.accounts.deal.escrow_left;
    ctx.accounts.deal.escrow_left = 0;
    ctx.accounts.deal.state = DealState::Cancelled;
    pay_from_vault(
        &ctx.accounts.market,
        &ctx.accounts.vault,
        &ctx.accounts.payment_mint,
        &ctx.accounts.client_token_account,
        &ctx.accounts.token_program,
        refunded,
    )?;
    emit_cpi!(DealCancelled {
        deal: ctx.accounts.deal.key(),
        refunded,
    });
    Ok(())
}
