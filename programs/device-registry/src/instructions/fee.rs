//! Fee collection shared by `onboard_device` and `assert_location`.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

/// Moves `amount` of the fee mint from the payer's token account into the treasury.
/// A zero fee moves nothing and makes no CPI.
pub fn charge_fee<'info>(
    token_program: &Interface<'info, TokenInterface>,
    from: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    treasury: &InterfaceAccount<'info, TokenAccount>,
    payer: &Signer<'info>,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let accounts = TransferChecked {
        from: from.to_account_info(),
        mint: mint.to_account_info(),
        to: treasury.to_account_info(),
        authority: payer.to_account_info(),
    };
    token_interface::transfer_checked(
        CpiContext::new(token_program.key(), accounts),
        amount,
        mint.decimals,
    )
}
