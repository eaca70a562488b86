use anchor_lang::prelude::*;

use crate::error::StakingError;
use crate::events::UnstakeRequested;
use crate::state::{StakePool, StakePosition};

/// Accounts of `request_unstake`. Allowed while paused: it starts the way out of the caller's
/// own funds, and stake in cooldown stays slashable.
#[event_cpi]
#[derive(Accounts)]
pub struct RequestUnstake<'info> {
    /// The staker.
    pub owner: Signer<'info>,
    /// The pool.
    #[account(mut, dup)]
    pub pool: Box<Account<'info, StakePool>>,
    /// The staker's position.
    #[account(
        mut,
        dup,
        has_one = pool @ StakingError::PositionMismatch,
        has_one = owner @ StakingError::PositionMismatch,
    )]
    pub position: Box<Account<'info, StakePosition>>,
}

/// Moves `amount` from active to pending, (re)starts the cooldown for the whole pending
/// amount and emits [`UnstakeRequested`].
pub fn handler(ctx: Context<RequestUnstake>, amount: u64) -> Result<()> {
    require!(amount > 0, StakingError::ZeroAmount);
    let pool = &mut ctx.accounts.pool;
    let position = &mut ctx.accounts.position;
    require!(amount <= position.amount, StakingError::InsufficientStake);
    position.amount = depin_core::stake::can_unstake(
        position.amount,
        amount,
        position.devices_bonded,
        pool.min_stake_per_device,
    )
    .map_err(StakingError::from)?;
    position.pending = position
        .pending
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    let now = Clock::get()?.unix_timestamp;
    position.unlock_ts =
        depin_core::stake::unlock_time(now, pool.cooldown_secs).map_err(StakingError::from)?;

    pool.total_staked = pool
        .total_staked
        .checked_sub(amount)
        .ok_or(StakingError::MathOverflow)?;
    pool.total_pending = pool
        .total_pending
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;

    emit_cpi!(UnstakeRequested {
        pool: pool.key(),
        position: position.key(),
        owner: position.owner,
        amount,
        pending: position.pending,
        unlock_ts: position.unlock_ts,
    });
    Ok(())
}
