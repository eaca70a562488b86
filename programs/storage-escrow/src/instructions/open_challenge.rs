use anchor_lang::prelude::*;

use crate::error::StorageError;
use crate::events::ChallengeOpened;
use crate::state::{Deal, DealState, StorageMarket, PERIOD_CHALLENGED, PERIOD_PENDING};

/// Accounts of `open_challenge`. Allowed while paused: proving is the provider's
/// obligation and must not turn into faults because of a pause.
#[event_cpi]
#[derive(Accounts)]
pub struct OpenChallenge<'info> {
    /// The deal's provider.
    pub provider: Signer<'info>,
    /// The market.
    pub market: Box<Account<'info, StorageMarket>>,
    /// The deal.
    #[account(
        mut,
        dup,
        has_one = market,
        has_one = provider,
        constraint = deal.state == DealState::Active @ StorageError::DealNotActive,
    )]
    pub deal: Box<Account<'info, Deal>>,
}

/// Records the current slot for `period` (the current period) and emits
/// [`ChallengeOpened`].
pub fn handler(ctx: Context<OpenChallenge>, period: u64) -> Result<()> {
    let clock = Clock::get()?;
    let deal = &mut ctx.accounts.deal;
    let current = depin_core::storage::period_at(
        deal.start_ts,
        ctx.accounts.market.proving_period_secs,
        clock.unix_timestamp,
    );
    require!(current == Some(period), StorageError::WrongPeriod);
    let record = deal.record_mut(period).ok_or(StorageError::WrongPeriod)?;
    require!(
        record.status == PERIOD_PENDING,
        StorageError::ChallengeAlreadyOpen
    );
    record.status = PERIOD_CHALLENGED;
    record.challenge_slot = clock.slot;
    emit_cpi!(ChallengeOpened {
        deal: deal.key(),
        period,
        slot: clock.slot,
    });
    Ok(())
}
