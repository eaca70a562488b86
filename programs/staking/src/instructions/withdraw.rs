use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::vault::pay_out;
use crate::error::StakingError;
use crate::events::Withdrawn;
use crate::state::{StakePool, StakePosition};

/// Accounts of `withdraw`. Allowed while paused: users can always take out their own funds.
#[event_cpi]
#[derive(Accounts)]
pub struct Withdraw<'info> {
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
    /// The stake mint.
    #[account(address = pool.stake_mint @ StakingError::WrongStakeMint)]
    pub stake_mint: InterfaceAccount<'info, Mint>,
    /// Where the stake goes: any stake-mint account of the staker's.
    #[account(mut, dup, token::mint = stake_mint, token::authority = owner)]
    pub owner_token_account: InterfaceAccount<'info, TokenAccount>,
    /// The pool's vault.
    #[account(mut, dup, address = pool.vault)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the stake mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Pays out all pending stake once the cooldown is over and emits [`Withdrawn`].
pub fn handler(ctx: Context<Withdraw>) -> Result<()> {
    let position = &mut ctx.accounts.position;
    let amount = position.pending;
    require!(amount > 0, StakingError::NothingToWithdraw);
    let now = Clock::get()?.unix_timestamp;
    require!(now >= position.unlock_ts, StakingError::CooldownNotElapsed);
    position.pending = 0;
    let pool = &mut ctx.accounts.pool;
    pool.total_pending = pool
        .total_pending
        .checked_sub(amount)
        .ok_or(StakingError::MathOverflow)?;

    pay_out(
        pool,
        &ctx.accounts.vault,
        &ctx.accounts.stake_mint,
        &ctx.accounts.owner_token_account,
        &ctx.accounts.token_program,
        amount,
    )?;
    emit_cpi!(Withdrawn {
        pool: pool.key(),
        position: position.key(),
        owner: position.owner,
        amount,
    });
    Ok(())
}
