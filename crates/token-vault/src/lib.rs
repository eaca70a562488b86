//! # token-vault
//!
//! The token movements every program of the suite makes, written once:
//!
//! - [`create_vault`]: a PDA token account whose authority is another PDA of the program
//!   (created through `pda-create`, so a prefunded address cannot block it).
//! - [`pay_from_vault`]: a transfer out of a vault, signed by its authority PDA.
//! - [`pay_from_signer`]: a transfer from a signer's account (fees, stake, escrow,
//!   collateral).
//!
//! Transfers are `Transfer` under SPL Token and `TransferChecked` under Token-2022.
//!
//! Zero amounts move nothing and make no CPI. Works with SPL Token and Token-2022 mints
//! whose extensions need no account extensions (vaults are 165 bytes).

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    self, InitializeAccount3, Mint, TokenInterface, TransferChecked,
};

/// Bytes of a token account without extensions (SPL Token and Token-2022 alike).
pub const TOKEN_ACCOUNT_LEN: usize = 165;

/// Creates `vault`, the canonical address of `vault_seeds` (without bump) under
/// `program_id`, as a token account of `mint` whose authority is `authority`. Fails with
/// `taken` if the address is already an account. Returns the vault's bump.
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is a distinct account or seed set of the CPI"
)]
pub fn create_vault<'info>(
    payer: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    program_id: &Pubkey,
    vault_seeds: &[&[u8]],
    taken: impl Into<anchor_lang::error::Error>,
) -> Result<u8> {
    let bump = pda_create::create_pda_account(
        payer,
        vault,
        TOKEN_ACCOUNT_LEN,
        &token_program.key(),
        program_id,
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
    ))?;
    Ok(bump)
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
    transfer(
        vault,
        mint,
        to,
        authority,
        token_program,
        &[authority_seeds],
        amount,
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
    transfer(from, mint, to, authority, token_program, &[], amount)
}

/// One token transfer. SPL Token gets its plain `Transfer`, which needs no mint account and
/// costs about 1,500 compute units less than `TransferChecked` (the program checks the mint
/// of both accounts either way); Token-2022, whose extensions (transfer fees, hooks) may
/// require it, gets `TransferChecked`. Zero moves nothing and makes no CPI.
fn transfer<'info>(
    from: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    signer_seeds: &[&[&[u8]]],
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    if token_program.key() == anchor_spl::token::ID {
        return anchor_spl::token::transfer(
            CpiContext::new_with_signer(
                token_program.key(),
                anchor_spl::token::Transfer {
                    from: from.clone(),
                    to: to.clone(),
                    authority: authority.clone(),
                },
                signer_seeds,
            ),
            amount,
        );
    }
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: from.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: authority.clone(),
            },
            signer_seeds,
        ),
        amount,
        mint.decimals,
    )
}
