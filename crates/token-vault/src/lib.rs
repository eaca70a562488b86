//! # token-vault
//!
//! The token movements every program of the suite makes, written once:
//!
//! - [`create_vault`]: a PDA token account whose authority is another PDA of the program
//!   (created through `pda-create`, so a prefunded address cannot block it).
//! - [`pay_from_vault`]: `transfer_checked` out of a vault, signed by its authority PDA.
//! - [`pay_from_signer`]: `transfer_checked` from a signer's account (fees, stake, escrow,
//!   collateral).
//!
//! Zero amounts move nothing and make no CPI. Works with SPL Token and Token-2022 mints
//! whose extensions need no account extensions (vaults are 165 bytes).

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    self, InitializeAccount3, Mint, TokenInterface, TransferChecked,
};

/// Bytes of a token account without extensions (SPL Token and Token-2022 alike).
pub const TOKEN_ACCOUNT_LEN: usize = 165;

/// Creates `vault` (a PDA with `vault_seeds`, bump included) as a token account of `mint`
/// whose authority is `authority`. Fails with `taken` if the address is already an account.
pub fn create_vault<'info>(
    payer: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    vault_seeds: &[&[u8]],
    taken: impl Into<anchor_lang::error::Error>,
) -> Result<()> {
    pda_create::create_pda_account(
        payer,
        vault,
        TOKEN_ACCOUNT_LEN,
        &token_program.key(),
        vault_seeds,
        taken,
    )?;
    token_interface::initialize_account3(CpiContext::new(
        token_program.key(),
        InitializeAccount3 {
            account: vault.clone(),
            mint: mint.clone(),
            authority: authority.clone(),
        },
    ))
}

/// Moves `amount` of `mint` from `vault` to `to`, signed by the vault's authority PDA
/// (`authority_seeds`, bump included).
pub fn pay_from_vault<'info>(
    vault: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    authority_seeds: &[&[u8]],
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: vault.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: authority.clone(),
            },
            &[authority_seeds],
        ),
        amount,
        mint.decimals,
    )
}

/// Moves `amount` of `mint` from `from` (a token account of the signer `authority`) to `to`.
pub fn pay_from_signer<'info>(
    from: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    token_interface::transfer_checked(
        CpiContext::new(
            token_program.key(),
            TransferChecked {
                from: from.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: authority.clone(),
            },
        ),
        amount,
        mint.decimals,
    )
}
