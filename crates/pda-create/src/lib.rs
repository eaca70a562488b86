//! # pda-create
//!
//! Creates a program-derived account the way every Solana runtime supports, finds its
//! canonical bump at a fraction of the usual compute, and lets the caller name the error for
//! "it already exists".
//!
//! - [`find_canonical`]: the canonical address and bump of a set of seeds, exactly what
//!   `Pubkey::find_program_address` returns, for about a fifth of its compute units (see
//!   below).
//! - [`create_pda_account`]: checks that an account is the canonical address of its seeds
//!   and creates it there, returning the bump for the account to store.
//! - [`load_or_create`]: loads an account this program wrote (recognised by its owner,
//!   discriminator and stored identity) or creates it on first use.
//! - [`write_account`]: serializes an account into freshly created data.
//!
//! ## Why not Anchor's `init`
//! For an address that already holds lamports, Anchor 1.2 calls the system program's
//! `CreateAccountAllowPrefund`, which runtimes without that instruction reject as invalid
//! instruction data. Since anyone can send lamports to a PDA whose seeds are public, that
//! would let a stranger block a device's onboarding or bonding for good. Here a pre-funded
//! address is topped up, allocated and assigned with the classic instructions, and an
//! address that is already an account gets the caller's typed error instead of the system
//! program's generic one.
//!
//! ## Why a bump search of our own
//! Every account the suite creates must live at the *canonical* address of its seeds (the
//! highest bump that is off the curve): that is what makes it unique, so that later
//! instructions can recognise it by owner, discriminator and stored fields without deriving
//! its address again. The runtime's `sol_try_find_program_address` charges 1,500 compute
//! units per bump it tries, so an account whose canonical bump happens to be 250 costs
//! 9,000 units to create. A candidate address is only `sha256(seeds || bump || program_id ||
//! "ProgramDerivedAddress")` followed by a test that the hash is not a curve point; with the
//! `sol_sha256` and `sol_curve_validate_point` syscalls that test costs about 330 units, so
//! the search costs a fifth as much and its variation from one address to the next shrinks
//! the same way. Off chain the same test runs on `curve25519-dalek`, as in the runtime.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};

/// Most seeds a program address may have, not counting the bump (the runtime's limit is 16
/// with the bump).
pub const MAX_SEEDS: usize = 15;
/// Longest seed the runtime accepts.
pub const MAX_SEED_LEN: usize = 32;
/// Suffix the runtime hashes after the program id.
const PDA_MARKER: &[u8] = b"ProgramDerivedAddress";

/// Whether `bytes` decompress to a point of the ed25519 curve (then they cannot be a program
/// address, since a point may have a private key).
#[cfg(target_os = "solana")]
fn is_on_curve(bytes: &[u8; 32]) -> bool {
    /// `CURVE25519_EDWARDS` of the curve25519 syscalls.
    const EDWARDS: u64 = 0;
    let mut unused = 0u8;
    // SAFETY: the syscall reads the 32 bytes at `bytes`; `unused` is a valid, writable byte
    // (the runtime does not write it for validation). Both live across the call.
    let result = unsafe {
        solana_define_syscall::definitions::sol_curve_validate_point(
            EDWARDS,
            bytes.as_ptr(),
            &mut unused,
        )
    };
    result == 0
}

/// Whether `bytes` decompress to a point of the ed25519 curve.
#[cfg(not(target_os = "solana"))]
fn is_on_curve(bytes: &[u8; 32]) -> bool {
    curve25519_dalek::edwards::CompressedEdwardsY(*bytes)
        .decompress()
        .is_some()
}

/// The canonical program address of `seeds` (without bump) under `program_id` and its bump:
/// the same answer as `Pubkey::find_program_address`, for a fifth of the compute units.
/// Fails with Anchor's `ConstraintSeeds` for seeds the runtime would refuse (more than
/// [`MAX_SEEDS`], or one longer than [`MAX_SEED_LEN`]) and in the (never observed) case that
/// no bump gives an address.
pub fn find_canonical(seeds: &[&[u8]], program_id: &Pubkey) -> Result<(Pubkey, u8)> {
    require!(
        seeds.len() <= MAX_SEEDS && seeds.iter().all(|s| s.len() <= MAX_SEED_LEN),
        ErrorCode::ConstraintSeeds
    );
    let program = program_id.as_ref();
    for bump in (0..=u8::MAX).rev() {
        let bump_seed = [bump];
        let mut parts: [&[u8]; MAX_SEEDS + 3] = [&[]; MAX_SEEDS + 3];
        for (part, seed) in parts.iter_mut().zip(seeds) {
            *part = seed;
        }
        let n = seeds.len();
        let tail = parts.get_mut(n..n + 3).ok_or(ErrorCode::ConstraintSeeds)?;
        tail.copy_from_slice(&[&bump_seed, program, PDA_MARKER]);
        let candidate = solana_sha256_hasher::hashv(parts.get(..n + 3).unwrap_or(&[])).to_bytes();
        if !is_on_curve(&candidate) {
            return Ok((Pubkey::new_from_array(candidate), bump));
        }
    }
    err!(ErrorCode::ConstraintSeeds)
}

/// Creates `account`, which must be the canonical program address of `seeds` (without
/// bump) under `program_id` (else Anchor's `ConstraintSeeds`), with `space` bytes,
/// rent-exempt, paid by `payer`, owned by `owner` (the calling program, or the token
/// program for a vault). Fails with `already_exists` if the address is already an account
/// (it has data or an owner other than the system program). Returns the bump to store.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    program_id: &Pubkey,
    seeds: &[&[u8]],
    already_exists: impl Into<anchor_lang::error::Error>,
) -> Result<u8> {
    if !account.data_is_empty() || *account.owner != system_program::ID {
        return Err(already_exists.into());
    }
    let (address, bump) = find_canonical(seeds, program_id)?;
    require_keys_eq!(*account.key, address, ErrorCode::ConstraintSeeds);
    let bump_seed = [bump];
    let mut signer: [&[u8]; MAX_SEEDS + 1] = [&[]; MAX_SEEDS + 1];
    for (slot, seed) in signer.iter_mut().zip(seeds) {
        *slot = seed;
    }
    let n = seeds.len();
    if let Some(slot) = signer.get_mut(n) {
        *slot = &bump_seed;
    }
    let signer_seeds = signer.get(..n + 1).unwrap_or(&[]);
    create_at(payer, account, space, owner, signer_seeds)?;
    Ok(bump)
}

/// Tops up, allocates and assigns `account` (signed with `signer_seeds`, bump included).
fn create_at<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    signer_seeds: &[&[u8]],
) -> Result<()> {
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

/// Loads the `T` at `account` if this program (`program_id`) already wrote one there and
/// `is_ours` recognises its stored identity (the fields its seeds are made of), otherwise
/// creates the account at the canonical address of `seeds` (as [`create_pda_account`]) and
/// returns `new(bump)`, unwritten: the caller updates it and writes it back with
/// [`write_account`].
///
/// An existing account is recognised without deriving its address: only this program
/// creates `T`s, always at the canonical address of their identity, so an account it owns
/// with `T`'s discriminator and the expected identity can only be that address. An address
/// holding anything else (data of another program, another identity) fails with `taken`.
#[allow(
    clippy::too_many_arguments,
    reason = "payer, account, size, address and the three callbacks of one creation are distinct"
)]
pub fn load_or_create<'info, T: AccountDeserialize>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    space: usize,
    program_id: &Pubkey,
    seeds: &[&[u8]],
    taken: impl Into<anchor_lang::error::Error>,
    is_ours: impl FnOnce(&T) -> bool,
    new: impl FnOnce(u8) -> T,
) -> Result<T> {
    if account.owner == program_id {
        let data = account.try_borrow_data()?;
        let value = T::try_deserialize(&mut &data[..])?;
        return if is_ours(&value) {
            Ok(value)
        } else {
            Err(taken.into())
        };
    }
    let bump = create_pda_account(payer, account, space, program_id, program_id, seeds, taken)?;
    Ok(new(bump))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_search_matches_the_runtime() {
        // Given many seed sets (including ones whose canonical bump is well below 255)
        // Then the search finds exactly the runtime's canonical address and bump.
        let program = Pubkey::new_from_array([7; 32]);
        let mut below_255 = 0;
        for i in 0u32..2_000 {
            let a = i.to_le_bytes();
            let seeds: [&[u8]; 3] = [b"device", &a, program.as_ref()];
            let expected = Pubkey::find_program_address(&seeds, &program);
            assert_eq!(find_canonical(&seeds, &program).unwrap(), expected);
            if expected.1 < 255 {
                below_255 += 1;
            }
        }
        assert!(below_255 > 500, "the sample exercises the search");
    }

    #[test]
    fn seeds_the_runtime_refuses_are_refused() {
        let program = Pubkey::new_from_array([1; 32]);
        let long = [0u8; 33];
        assert!(find_canonical(&[&long], &program).is_err());
        let many: [&[u8]; 16] = [b"x"; 16];
        assert!(find_canonical(&many, &program).is_err());
        let most: [&[u8]; 15] = [b"x"; 15];
        assert_eq!(
            find_canonical(&most, &program).unwrap(),
            Pubkey::find_program_address(&most, &program)
        );
        assert_eq!(
            find_canonical(&[], &program).unwrap(),
            Pubkey::find_program_address(&[], &program)
        );
    }
}
