use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::Network;

use crate::error::StakingError;
use crate::events::Staked;
use crate::state::{StakePool, StakePosition};

/// Accounts of `stake`.
#[event_cpi]
#[derive(Accounts)]
pub struct Stake<'info> {
    /// The staker; pays the position's rent the first time.
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The pool's network.
    #[account(constraint = !network.paused @ StakingError::NetworkPaused)]
    pub network: Account<'info, Network>,
    /// The pool.
    #[account(
        mut,
        seeds = [StakePool::SEED, network.key().as_ref()],
        bump = pool.bump,
        has_one = network,
    )]
    pub pool: Account<'info, StakePool>,
    /// The staker's position, created on first stake. Its address derives from the pool and
    /// the signer, so an existing position can only be topped up, never re-initialised.
    /// CHECK: the seeds pin the address; the handler creates the account on first stake and
    /// otherwise loads it as a `StakePosition` (owner and discriminator checked).
    #[account(
        mut,
        seeds = [StakePosition::SEED, pool.key().as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub position: UncheckedAccount<'info>,
    /// The stake mint.
    #[account(address = pool.stake_mint @ StakingError::WrongStakeMint)]
    pub stake_mint: InterfaceAccount<'info, Mint>,
    /// The staker's token account the stake comes from.
    #[account(mut, token::mint = stake_mint, token::authority = owner)]
    pub owner_token_account: InterfaceAccount<'info, TokenAccount>,
    /// The pool's vault.
    #[account(mut, address = pool.vault)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the stake mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program, to create the position.
    pub system_program: Program<'info, System>,
}

/// Moves `amount` into the vault, credits the position and emits [`Staked`].
pub fn handler(ctx: Context<Stake>, amount: u64) -> Result<()> {
    require!(amount > 0, StakingError::ZeroAmount);
    let pool_key = ctx.accounts.pool.key();
    let owner_key = ctx.accounts.owner.key();
    let position_info = ctx.accounts.position.to_account_info();
    let mut position = pda_create::load_or_create(
        &ctx.accounts.owner.to_account_info(),
        &position_info,
        StakePosition::SIZE,
        &crate::ID,
        &[
            StakePosition::SEED,
            pool_key.as_ref(),
            owner_key.as_ref(),
            &[ctx.bumps.position],
        ],
        StakingError::PositionAddressTaken,
        || StakePosition {
            pool: pool_key,
            owner: owner_key,
            amount: 0,
            pending: 0,
            unlock_ts: 0,
            devices_bonded: 0,
            bump: ctx.bumps.position,
        },
    )?;
    position.amount = position
        .amount
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    let pool = &mut ctx.accounts.pool;
    pool.total_staked = pool
        .total_staked
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;

    token_vault::pay_from_signer(
        &ctx.accounts.owner_token_account.to_account_info(),
        &ctx.accounts.stake_mint,
        &ctx.accounts.vault.to_account_info(),
        &ctx.accounts.owner.to_account_info(),
        &ctx.accounts.token_program,
        amount,
    )?;
    pda_create::write_account(&position_info, &position)?;

    emit_cpi!(Staked {
        pool: pool_key,
        position: position_info.key(),
        owner: owner_key,
        amount,
        active: position.amount,
    });
    Ok(())
}
