//! # pda-create
//!
//! Creates a program-derived account the way every Solana runtime supports, and lets the
//! caller name the error for "it already exists".
//!
//! Why not Anchor's `init`: for an address that already holds lamports, Anchor 1.2 calls the
//! system program's `CreateAccountAllowPrefund`, which runtimes without that instruction
//! reject as invalid instruction data. Since anyone can send lamports to a PDA whose seeds
//! are public, that would let a stranger block a device's onboarding or bonding for good.
//! Here a pre-funded address is topped up, allocated and assigned with the classic
//! instructions, and an address that is already an account gets the caller's typed error
//! instead of the system program's generic one.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};

/// Creates `account` (a PDA of `owner` with `signer_seeds`) with `space` bytes, rent-exempt,
/// paid by `payer`. Fails with `already_exists` if the address is already an account
/// (it has data or an owner other than the system program).
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    signer_seeds: &[&[u8]],
    already_exists: impl Into<anchor_lang::error::Error>,
) -> Result<()> {
    if !account.data_is_empty() || *account.owner != system_program::ID {
        return Err(already_exists.into());
    }
    let rent = Rent::get()?.minimum_balance(space);
    let seeds = &[signer_seeds];
    let current = account.lamports();
    if current == 0 {
        let accounts = CreateAccount {
            from: payer.clone(),
            to: account.clone(),
        };
        return system_program::create_account(
            CpiContext::new_with_signer(system_program::ID, accounts, seeds),
            rent,
            space as u64,
            owner,
        );
    }
    let top_up = rent.saturating_sub(current);
    if top_up > 0 {
        let accounts = Transfer {
            from: payer.clone(),
            to: account.clone(),
        };
        system_program::transfer(CpiContext::new(system_program::ID, accounts), top_up)?;
    }
    let accounts = Allocate {
        account_to_allocate: account.clone(),
    };
    system_program::allocate(
        CpiContext::new_with_signer(system_program::ID, accounts, seeds),
        space as u64,
    )?;
    let accounts = Assign {
        account_to_assign: account.clone(),
    };
    system_program::assign(
        CpiContext::new_with_signer(system_program::ID, accounts, seeds),
        owner,
    )
}

/// Writes `value` (discriminator first) into the freshly created `account`.
pub fn write_account<T: AccountSerialize>(account: &AccountInfo, value: &T) -> Result<()> {
    let mut data = account.try_borrow_mut_data()?;
    let mut cursor: &mut [u8] = &mut data;
    value.try_serialize(&mut cursor)
}

/// Loads the `T` at `account` if this program (`owner`) already wrote one there, otherwise
/// creates the account (as [`create_pda_account`]) and returns `new()`, unwritten: the
/// caller updates it and writes it back with [`write_account`].
///
/// An address holding anything else (data of another program) fails with `taken`.
pub fn load_or_create<'info, T: AccountDeserialize>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    signer_seeds: &[&[u8]],
    taken: impl Into<anchor_lang::error::Error>,
    new: impl FnOnce() -> T,
) -> Result<T> {
    if account.owner == owner {
        let data = account.try_borrow_data()?;
        return T::try_deserialize(&mut &data[..]);
    }
    create_pda_account(payer, account, space, owner, signer_seeds, taken)?;
    Ok(new())
}
