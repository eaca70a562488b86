use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::IntervalClosed;
use crate::state::{EnergyMarket, Interval, INTERVAL_SETTLED};

/// Accounts of `close_interval`. Anyone may send it once every order is settled.
#[event_cpi]
#[derive(Accounts)]
#[instruction(interval_index: u64)]
pub struct CloseInterval<'info> {
    /// The market.
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The settled interval.
    #[account(
        mut,
        dup,
        close = rent_payer,
        constraint = interval.load()?.market == market.key() @ EnergyError::UnexpectedAccount,
        constraint = interval.load()?.index == interval_index @ EnergyError::UnexpectedAccount,
        constraint = interval.load()?.state == INTERVAL_SETTLED @ EnergyError::IntervalNotSettled,
    )]
    pub interval: AccountLoader<'info, Interval>,
    /// Who paid the interval's rent.
    /// CHECK: only receives lamports; pinned to the interval's recorded rent payer.
    #[account(mut, address = interval.load()?.rent_payer)]
    pub rent_payer: UncheckedAccount<'info>,
}

/// Closes the interval (rent to its payer) and emits [`IntervalClosed`].
pub fn handler(ctx: Context<CloseInterval>, interval_index: u64) -> Result<()> {
    emit_cpi!(IntervalClosed {
        market: ctx.accounts.market.key(),
        interval: interval_index,
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    Ok(())
}
