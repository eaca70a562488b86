//! Off-chain test helpers (feature `testing`).

use ink::env::test;
use ink::env::DefaultEnvironment as E;
use ink::primitives::AccountId;
use secp256k1::{ecdsa::RecoverableSignature, Message, PublicKey, Secp256k1, SecretKey};

use crate::host::InkSha256;
use crate::types::{Capabilities, DeviceKey, NetworkKind, Signature};
use depin_core::merkle::Hasher;

/// An account made of one repeated byte, easy to read in a failing assertion.
pub fn account(byte: u8) -> AccountId {
    AccountId::from([byte; 32])
}

/// An energy producer's smart meter as the tests' maker registers it: a 5 kW rooftop array
/// and a 13.5 kWh home battery. In a 900 s interval its asks may offer up to
/// `5_000 * 900 / 3_600 + 13_500 = 14_750` Wh (`depin_core::energy::ask_capacity_wh`).
pub const ROOFTOP_METER: Capabilities = Capabilities {
    radio_bands: 0,
    capacity_gib: 0,
    panel_watts: 5_000,
    battery_wh: 13_500,
};

/// The capabilities test helpers issue a device of a network of `kind` with:
/// [`ROOFTOP_METER`] on an Energy network, none on any other.
pub fn capabilities_for(kind: NetworkKind) -> Capabilities {
    match kind {
        NetworkKind::Energy => ROOFTOP_METER,
        NetworkKind::Wireless | NetworkKind::Storage | NetworkKind::Compute => {
            Capabilities::default()
        }
    }
}

/// Runs `f` as a call from the current callee into the contract at `at`, then restores
/// caller, callee and transferred value: what the host does for a cross-contract call.
pub fn as_contract<T>(at: AccountId, f: impl FnOnce() -> T) -> T {
    let caller = ink::env::caller::<E>();
    let callee = test::callee::<E>();
    let value = ink::env::transferred_value::<E>();
    test::set_caller::<E>(callee);
    test::set_callee::<E>(at);
    test::set_value_transferred::<E>(0);
    let out = f();
    test::set_callee::<E>(callee);
    test::set_caller::<E>(caller);
    test::set_value_transferred::<E>(value);
    out
}

/// Makes the next message a call by `caller` into the contract at `at`, carrying `value`
/// (moved from the caller's balance to the contract's, as the host does).
pub fn call(at: AccountId, caller: AccountId, value: u128) {
    test::set_caller::<E>(caller);
    test::set_callee::<E>(at);
    if value > 0 {
        test::transfer_in::<E>(value);
    } else {
        test::set_value_transferred::<E>(0);
    }
}

/// Native balance of `account`.
pub fn balance_of(account: AccountId) -> u128 {
    test::get_account_balance::<E>(account).unwrap_or(0)
}

/// Sets the block time to `secs` seconds.
pub fn set_time(secs: u64) {
    test::set_block_timestamp::<E>(secs.saturating_mul(1000));
}

/// A device's secure element: a secp256k1 key that signs `sha256(message)`.
pub struct DeviceSigner {
    secret: SecretKey,
}

impl DeviceSigner {
    /// The signer with the secret key `[seed; 32]` (`seed` must not be 0).
    pub fn new(seed: u8) -> Self {
        Self {
            secret: SecretKey::from_slice(&[seed; 32]).expect("non-zero seed is a valid key"),
        }
    }

    /// The compressed public key.
    pub fn key(&self) -> DeviceKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &self.secret).serialize()
    }

    /// Signs `sha256(message)` in the `r || s || v` layout contracts verify.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let digest = InkSha256::hashv(&[message]);
        let sig: RecoverableSignature =
            Secp256k1::new().sign_ecdsa_recoverable(&Message::from_digest(digest), &self.secret);
        let (id, bytes) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&bytes);
        out[64] = u8::try_from(id.to_i32()).expect("recovery ids are 0..=3");
        out
    }
}

/// Number of events recorded so far (by every contract of the test).
pub fn event_count() -> usize {
    test::recorded_events().count()
}

/// The most recent event, decoded as `T`.
pub fn last_event<T: ink::scale::Decode>() -> T {
    let event = test::recorded_events()
        .last()
        .expect("an event was emitted");
    T::decode(&mut &event.data[..]).expect("the last event has the expected type")
}
