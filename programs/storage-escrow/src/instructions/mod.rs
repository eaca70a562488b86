//! One file per instruction: its arguments, its accounts and its handler; the vault payments
//! they share below (thin wrappers over `token-vault` with the market's seeds).
//!
//! The glob re-exports put every accounts struct (and the client modules Anchor generates
//! beside it) at the crate root, where `#[program]` looks for them.
#![allow(
    ambiguous_glob_reexports,
    reason = "every instruction file names its entry point `handler`; lib.rs calls each by its full path"
)]

pub mod accept_deal;
pub mod cancel_deal;
pub mod complete_deal;
pub mod initialize_market;
pub mod open_challenge;
pub mod propose_deal;
pub mod report_fault;
pub mod submit_proof;
pub mod sync_treasury;

pub use accept_deal::*;
pub use cancel_deal::*;
pub use complete_deal::*;
pub use initialize_market::*;
pub use open_challenge::*;
pub use propose_deal::*;
pub use report_fault::*;
pub use submit_proof::*;
pub use sync_treasury::*;

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::state::StorageMarket;

/// Pays `amount` out of the market vault, signed by the market PDA.
pub(crate) fn pay_from_vault<'info>(
    market: &Account<'info, StorageMarket>,
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
        &market.to_account_info(),
        token_program,
        &[StorageMarket::SEED, market.network.as_ref(), &[market.bump]],
        amount,
    )
}

/// Moves `amount` from a signer's token account into the vault.
pub(crate) fn pay_into_vault<'info>(
    from: &InterfaceAccount<'info, TokenAccount>,
    authority: &Signer<'info>,
    vault: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    token_vault::pay_from_signer(
        &from.to_account_info(),
        mint,
        &vault.to_account_info(),
        &authority.to_account_info(),
        token_program,
        amount,
    )
}
