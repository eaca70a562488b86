use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::storage::period_end;

use super::pay_from_vault;
use crate::error::StorageError;
use crate::events::DealCompleted;
use crate::state::{Deal, DealState, StorageMarket, PERIOD_FAULTED, PERIOD_PROVEN};

/// Accounts of `complete_deal`. Anyone may send it once the deal is over; a terminated
/// deal is closed the same way (its money was already distributed).
#[event_cpi]
#[derive(Accounts)]
pub struct CompleteDeal<'info> {
    /// The market.
    #[account(has_one = payment_mint, has_one = vault, has_one = treasury)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The deal to close.
    #[account(
        mut,
        dup,
        close = client,
        has_one = market,
        has_one = client,
    )]
    pub deal: Box<Account<'info, Deal>>,
    /// The client, who paid the deal's rent and gets it back.
    /// CHECK: only receives lamports; pinned to `deal.client` by `has_one`.
    #[account(mut)]
    pub client: UncheckedAccount<'info>,
    /// The payment mint.
    pub payment_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The provider's payment-mint account (collateral goes back there).
    #[account(mut, dup, constraint = provider_token_account.owner == deal.provider @ StorageError::WrongRecipient)]
    pub provider_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's treasury: the deal's protocol fees and terminal slash go there.
    #[account(mut, dup)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Returns the remaining collateral to the provider, pays the treasury what the deal owes it
/// (protocol fees, a terminal slash), closes the deal (rent to the client) and emits
/// [`DealCompleted`].
pub fn handler(ctx: Context<CompleteDeal>) -> Result<()> {
    let market = &ctx.accounts.market;
    let deal = &mut ctx.accounts.deal;
    let resolved = deal
        .records
        .iter()
        .take(usize::from(deal.periods))
        .all(|r| r.status == PERIOD_PROVEN || r.status == PERIOD_FAULTED);
    match deal.state {
        DealState::Active => {
            let last = u64::from(deal.periods)
                .checked_sub(1)
                .ok_or(StorageError::MathOverflow)?;
            let end = period_end(deal.start_ts, market.proving_period_secs, last)
                .map_err(|_| StorageError::MathOverflow)?;
            require!(
                resolved && Clock::get()?.unix_timestamp >= end,
                StorageError::DealNotFinished
            );
        }
        DealState::Terminated => {}
        _ => return err!(StorageError::DealNotActive),
    }
    let collateral_returned = deal.collateral_left;
    let fees = deal.fees_owed;
    deal.collateral_left = 0;
    deal.fees_owed = 0;
    deal.state = DealState::Completed;
    let count = |status: u8| {
        deal.records
            .iter()
            .take(usize::from(deal.periods))
            .filter(|r| r.status == status)
            .count() as u8
    };
    let (proven_periods, faulted_periods) = (count(PERIOD_PROVEN), count(PERIOD_FAULTED));
    pay_from_vault(
        market,
        &ctx.accounts.vault,
        &ctx.accounts.payment_mint,
        &ctx.accounts.provider_token_account,
        &ctx.accounts.token_program,
        collateral_returned,
    )?;
    pay_from_vault(
        market,
        &ctx.accounts.vault,
        &ctx.accounts.payment_mint,
        &ctx.accounts.treasury,
        &ctx.accounts.token_program,
        fees,
    )?;
    emit_cpi!(DealCompleted {
        deal: ctx.accounts.deal.key(),
        collateral_returned,
        proven_periods,
        faulted_periods,
    });
    Ok(())
}
