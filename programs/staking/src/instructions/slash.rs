use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::vault::pay_out;
use crate::error::StakingError;
use crate::events::Slashed;
use crate::state::{StakePool, StakePosition};

/// Arguments of `slash`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SlashArgs {
    /// Amount to take, from active stake first and then from pending.
    pub amount: u64,
    /// Hash of the off-chain evidence (kept in the event for audit).
    pub evidence_hash: [u8; 32],
}

/// Accounts of `slash`. Allowed while paused: it is an incident tool.
#[event_cpi]
#[derive(Accounts)]
pub struct Slash<'info> {
    /// The pool's slash authority.
    pub slash_authority: Signer<'info>,
    /// The pool.
    #[account(
        mut,
        dup,
        has_one = slash_authority @ StakingError::NotSlashAuthority,
    )]
    pub pool: Box<Account<'info, StakePool>>,
    /// The position to slash.
    #[account(mut, dup, has_one = pool @ StakingError::PositionMismatch)]
    pub position: Box<Account<'info, StakePosition>>,
    /// The stake mint.
    #[account(address = pool.stake_mint @ StakingError::WrongStakeMint)]
    pub stake_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The pool's vault.
    #[account(mut, dup, address = pool.vault)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The pool's slash treasury.
    #[account(mut, dup, address = pool.treasury @ StakingError::TreasuryMismatch)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the stake mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Takes `amount` (active first, then pending) into the treasury and emits [`Slashed`].
/// Bonds stay in place; a position left under-collateralised cannot bond more devices and
/// the rewards program can read `amount` against `devices_bonded`.
pub fn handler(ctx: Context<Slash>, args: SlashArgs) -> Result<()> {
    require!(args.amount > 0, StakingError::ZeroAmount);
    let position = &mut ctx.accounts.position;
    let split = depin_core::stake::split_slash(position.amount, position.pending, args.amount)
        .map_err(StakingError::from)?;
    position.amount = position
        .amount
        .checked_sub(split.from_active)
        .ok_or(StakingError::MathOverflow)?;
    position.pending = position
        .pending
        .checked_sub(split.from_pending)
        .ok_or(StakingError::MathOverflow)?;

    let pool = &mut ctx.accounts.pool;
    pool.total_staked = pool
        .total_staked
        .checked_sub(split.from_active)
        .ok_or(StakingError::MathOverflow)?;
    pool.total_pending = pool
        .total_pending
        .checked_sub(split.from_pending)
        .ok_or(StakingError::MathOverflow)?;
    pool.total_slashed = pool
        .total_slashed
        .checked_add(args.amount)
        .ok_or(StakingError::MathOverflow)?;

    pay_out(
        pool,
        &ctx.accounts.vault,
        &ctx.accounts.stake_mint,
        &ctx.accounts.treasury,
        &ctx.accounts.token_program,
        args.amount,
    )?;
    emit_cpi!(Slashed {
        pool: pool.key(),
        position: position.key(),
        owner: position.owner,
        from_active: split.from_active,
        from_pending: split.from_pending,
        evidence_hash: args.evidence_hash,
    });
    Ok(())
}
