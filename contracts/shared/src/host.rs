//! Host functions in the shapes the contracts use.

use depin_core::merkle::Hasher;
use ink::env::hash::{Blake2x256, HashOutput, Sha2x256};
use ink::env::DefaultEnvironment;
use ink::prelude::vec::Vec;
use ink::primitives::AccountId;

use crate::types::{DeviceId, DeviceKey, Signature};

/// SHA-256 through the contract host, as `depin_core`'s [`Hasher`]: the same bytes the
/// Solana programs get from their syscall and off-chain tools from a library.
pub struct InkSha256;

impl Hasher for InkSha256 {
    fn hashv(parts: &[&[u8]]) -> [u8; 32] {
        let input: Vec<u8> = parts.concat();
        let mut out = <Sha2x256 as HashOutput>::Type::default();
        ink::env::hash_bytes::<Sha2x256>(&input, &mut out);
        out
    }
}

/// Block time in whole seconds (the host gives milliseconds), the clock every period,
/// epoch and cooldown of the suite is expressed in.
pub fn now_secs() -> i64 {
    let millis = ink::env::block_timestamp::<DefaultEnvironment>();
    // u64::MAX / 1000 fits an i64, so the fallback is unreachable.
    i64::try_from(millis / 1000).unwrap_or(i64::MAX)
}

/// A device's id: `sha256(device_key)`.
pub fn device_id(device_key: &DeviceKey) -> DeviceId {
    InkSha256::hashv(&[device_key])
}

/// The account a device key controls on a Substrate chain: `blake2_256(device_key)`, the
/// `AccountId32` of `MultiSigner::Ecdsa(device_key)`. A secp256k1 key can sign extrinsics
/// as this account, so the registry compares it with the maker's and the owner's accounts
/// to keep the three onboarding parties three different keys.
pub fn key_account(device_key: &DeviceKey) -> AccountId {
    let mut out = <Blake2x256 as HashOutput>::Type::default();
    ink::env::hash_bytes::<Blake2x256>(device_key, &mut out);
    AccountId::from(out)
}

/// The compressed public key that signed `sha256(message)`, `None` if the signature does
/// not recover. The recovery byte is checked first so malformed input is refused rather
/// than handed to the host.
pub fn recover_signer(signature: &Signature, message: &[u8]) -> Option<DeviceKey> {
    if !matches!(signature[64], 0 | 1 | 27 | 28) {
        return None;
    }
    let digest = InkSha256::hashv(&[message]);
    let mut key = [0u8; 33];
    ink::env::ecdsa_recover(signature, &digest, &mut key).ok()?;
    Some(key)
}

/// Whether `signature` is `device_key`'s over `message`.
pub fn signed_by(device_key: &DeviceKey, signature: &Signature, message: &[u8]) -> bool {
    recover_signer(signature, message).is_some_and(|key| key == *device_key)
}

/// The all-zero account, which no contract accepts as an owner or authority.
pub fn is_zero(account: &AccountId) -> bool {
    <AccountId as AsRef<[u8; 32]>>::as_ref(account) == &[0u8; 32]
}

/// Converts a base-unit amount to the chain's balance type.
pub fn balance(amount: u64) -> u128 {
    u128::from(amount)
}

/// The value transferred with the current call in base units, `None` above `u64::MAX`
/// (amounts are `u64` base units throughout the suite, as on Solana).
pub fn transferred_amount() -> Option<u64> {
    u64::try_from(ink::env::transferred_value::<DefaultEnvironment>()).ok()
}

/// Pays `amount` of the contract's native balance to `to`; zero moves nothing.
pub fn pay(to: AccountId, amount: u64) -> Result<(), ink::env::Error> {
    if amount == 0 {
        return Ok(());
    }
    ink::env::transfer::<DefaultEnvironment>(to, balance(amount))
}

/// Why [`withdraw_owed`] paid nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawError {
    /// Nothing is owed to the caller.
    NothingOwed,
    /// The transfer failed; the amount stays owed.
    TransferFailed,
}

/// Pays `to` `amount`, or, when the transfer fails (on a Substrate chain: an amount below
/// the existential deposit to an account that does not exist), credits it to `to` in
/// `owed`, the contract's ledger of payouts it could not push. Returns `to`'s owed total
/// when it credited (the contract emits its `PayoutOwed`), `None` when it paid; `Err` only
/// when the owed total would overflow.
pub fn pay_or_credit<K: ink::storage::traits::StorageKey>(
    owed: &mut ink::storage::Mapping<AccountId, u64, K>,
    to: AccountId,
    amount: u64,
) -> Result<Option<u64>, depin_core::CoreError> {
    if pay(to, amount).is_ok() {
        return Ok(None);
    }
    let total = owed
        .get(to)
        .unwrap_or(0)
        .checked_add(amount)
        .ok_or(depin_core::CoreError::MathOverflow)?;
    owed.insert(to, &total);
    Ok(Some(total))
}

/// Pays `caller` everything `owed` holds for it and forgets it (the contract emits its
/// `OwedWithdrawn`); a failed transfer changes nothing.
pub fn withdraw_owed<K: ink::storage::traits::StorageKey>(
    owed: &mut ink::storage::Mapping<AccountId, u64, K>,
    caller: AccountId,
) -> Result<u64, WithdrawError> {
    let amount = owed.get(caller).ok_or(WithdrawError::NothingOwed)?;
    pay(caller, amount).map_err(|_| WithdrawError::TransferFailed)?;
    owed.remove(caller);
    Ok(amount)
}
