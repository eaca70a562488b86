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
    pub network: Box<Account<'info, Network>>,
    /// The pool.
    #[account(
        mut,
        dup,
        has_one = network @ StakingError::WrongNetwork,
    )]
    pub pool: Box<Account<'info, StakePool>>,
    /// The staker's position, created on first stake. Its address derives from the pool and
    /// the signer, so an existing position can only be topped up, never re-initialised.
    /// CHECK: the handler loads it as this pool's and this signer's `StakePosition` (owner,
    // discriminator and stored pool and owner checked), or creates it at the canonical
    // address of `["stake", pool, owner]` on the first stake (`ConstraintSeeds` for any
    // other address).
    #[account(mut)]
    pub position: UncheckedAccount<'info>,
    /// The stake mint.
    #[account(address = pool.stake_mint @ StakingError::WrongStakeMint)]
    pub stake_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The staker's token account the stake comes from.
    #[account(mut, dup, token::mint = stake_mint, token::authority = owner)]
    pub owner_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The pool's vault.
    #[account(mut, dup, address = pool.vault)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
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
        &[StakePosition::SEED, pool_key.as_ref(), owner_key.as_ref()],
        StakingError::PositionAddressTaken,
        |p: &StakePosition| p.pool == pool_key && p.owner == owner_key,
        |bump| StakePosition {
            pool: pool_key,
            owner: owner_key,
            amount: 0,
            pending: 0,
            unlock_ts: 0,
            devices_bonded: 0,
            bump,
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
