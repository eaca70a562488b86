use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::storage::{fault_run, fault_slash, period_end};

use super::pay_from_vault;
use crate::error::StorageError;
use crate::events::{DealTerminated, FaultReported};
use crate::slot_hashes::{since_challenge, SLOT_HASHES_ID};
use crate::state::{
    Deal, DealState, StorageMarket, PERIOD_CHALLENGED, PERIOD_FAULTED, PERIOD_PENDING,
};

/// Accounts of `report_fault`. Anyone may send it.
#[event_cpi]
#[derive(Accounts)]
pub struct ReportFault<'info> {
    /// The market.
    #[account(has_one = payment_mint, has_one = vault)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The deal.
    #[account(
        mut,
        dup,
        has_one = market,
        constraint = deal.state == DealState::Active @ StorageError::DealNotActive,
    )]
    pub deal: Box<Account<'info, Deal>>,
    /// The payment mint.
    pub payment_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The client's payment-mint account (refunds and slashes go there).
    #[account(mut, dup, constraint = client_token_account.owner == deal.client @ StorageError::WrongRecipient)]
    pub client_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// The SlotHashes sysvar (read in place: a challenged period's window is counted in the
    /// slots with a block since its challenge).
    /// CHECK: pinned to the sysvar's address.
    #[account(address = SLOT_HASHES_ID)]
    pub slot_hashes: UncheckedAccount<'info>,
}

/// Refunds the period and slashes part of the collateral to the client; when the faulted
/// periods in a row around this one (in period order, [`fault_run`]) reach the market's
/// limit, terminates the deal. Emits [`FaultReported`] (and [`DealTerminated`]).
pub fn handler(ctx: Context<ReportFault>, period: u64) -> Result<()> {
    let market = &ctx.accounts.market;
    let clock = Clock::get()?;
    let deal_key = ctx.accounts.deal.key();
    let deal = &mut ctx.accounts.deal;
    let (start, price) = (deal.start_ts, deal.price_per_period);
    let ended = clock.unix_timestamp
        >= period_end(start, market.proving_period_secs, period)
            .map_err(|_| StorageError::MathOverflow)?;
    let record = deal.record_mut(period).ok_or(StorageError::WrongPeriod)?;
    let at_fault = match record.status {
        // never challenged: at fault once the period is over
        PERIOD_PENDING => ended,
        // challenged: at fault once the proof window has passed, counted as `submit_proof`
        // counts it (in slots with a block since the challenge)
        PERIOD_CHALLENGED => {
            let data = ctx.accounts.slot_hashes.try_borrow_data()?;
            since_challenge(&data, record.challenge_slot)
                .map_err(|_| StorageError::SeedUnavailable)?
                .produced
                >= market.challenge_window_slots
        }
        _ => false,
    };
    require!(at_fault, StorageError::FaultNotReportable);
    record.status = PERIOD_FAULTED;

    let slashed = fault_slash(deal.collateral_left, market.fault_slash_bps)
        .map_err(|_| StorageError::MathOverflow)?;
    deal.collateral_left = deal
        .collateral_left
        .checked_sub(slashed)
        .ok_or(StorageError::MathOverflow)?;
    deal.escrow_left = deal
        .escrow_left
        .checked_sub(price)
        .ok_or(StorageError::MathOverflow)?;
    // faults count in a row by period, whatever order they are reported in
    let periods = usize::from(deal.periods);
    let run = fault_run(
        deal.records
            .iter()
            .take(periods)
            .map(|r| r.status == PERIOD_FAULTED),
        usize::try_from(period).map_err(|_| StorageError::WrongPeriod)?,
    );
    let run = u8::try_from(run).map_err(|_| StorageError::MathOverflow)?;
    deal.consecutive_faults = deal.consecutive_faults.max(run);
    deal.total_faults = deal
        .total_faults
        .checked_add(1)
        .ok_or(StorageError::MathOverflow)?;
    let mut to_client = price
        .checked_add(slashed)
        .ok_or(StorageError::MathOverflow)?;
    let terminated = run >= market.max_consecutive_faults;
    let (refunded, slashed_to_treasury) = (deal.escrow_left, deal.collateral_left);
    if terminated {
        to_client = to_client
            .checked_add(refunded)
            .ok_or(StorageError::MathOverflow)?;
        // owed to the treasury, paid when the deal is closed (`complete_deal`)
        deal.fees_owed = deal
            .fees_owed
            .checked_add(slashed_to_treasury)
            .ok_or(StorageError::MathOverflow)?;
        deal.escrow_left = 0;
        deal.collateral_left = 0;
        deal.state = DealState::Terminated;
    }
    pay_from_vault(
        market,
        &ctx.accounts.vault,
        &ctx.accounts.payment_mint,
        &ctx.accounts.client_token_account,
        &ctx.accounts.token_program,
        to_client,
    )?;
    emit_cpi!(FaultReported {
        deal: deal_key,
        period,
        refunded: price,
        slashed,
        consecutive_faults: run,
    });
    if terminated {
        emit_cpi!(DealTerminated {
            deal: deal_key,
            refunded,
            slashed_to_treasury,
        });
    }
    Ok(())
}
