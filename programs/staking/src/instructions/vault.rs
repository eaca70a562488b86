//! Payments out of the pool's vault, signed by the pool PDA.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::state::StakePool;

/// Moves `amount` of stake from the vault to `to`, signing as the pool.
pub fn pay_out<'info>(
    pool: &Account<'info, StakePool>,
    vault: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &InterfaceAccount<'info, TokenAccount>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    token_vault::pay_from_vault(
        &vault.to_account_info(),
        mint,
        &to.to_account_info(),
        &pool.to_account_info(),
        token_program,
        &[StakePool::SEED, pool.network.as_ref(), &[pool.bump]],
        amount,
    )
}
