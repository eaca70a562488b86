//! Cross-contract reads.
//!
//! Where a Solana program reads another program's account, a contract asks the other
//! contract through one of these traits. On chain the implementation is the callee's
//! generated contract reference (`DeviceRegistryRef`, `StakingRef`), so every read is a
//! real cross-contract call to the address the caller stored at instantiation.

use ink::env::call::FromAccountId;
use ink::env::DefaultEnvironment;
use ink::prelude::boxed::Box;
use ink::primitives::AccountId;

use crate::types::{BondInfo, DeviceId, DeviceInfo, NetworkInfo};

/// Read-only interface of the device registry.
pub trait RegistryReader {
    /// The network the registry governs.
    fn network_info(&self) -> NetworkInfo;
    /// One device, `None` if it is not registered.
    fn device_info(&self, device: DeviceId) -> Option<DeviceInfo>;
}

/// Read-only interface of the staking contract.
pub trait StakingReader {
    /// The bond of `device` and the stake behind it, `None` if the device is not bonded.
    fn bond_info(&self, device: DeviceId) -> Option<BondInfo>;
    /// The registry whose network the pool serves.
    fn registry(&self) -> AccountId;
}

#[cfg(feature = "testing")]
impl<T: RegistryReader + ?Sized> RegistryReader for std::rc::Rc<T> {
    fn network_info(&self) -> NetworkInfo {
        (**self).network_info()
    }
    fn device_info(&self, device: DeviceId) -> Option<DeviceInfo> {
        (**self).device_info(device)
    }
}

#[cfg(feature = "testing")]
impl<T: StakingReader + ?Sized> StakingReader for std::rc::Rc<T> {
    fn bond_info(&self, device: DeviceId) -> Option<BondInfo> {
        (**self).bond_info(device)
    }
    fn registry(&self) -> AccountId {
        (**self).registry()
    }
}

/// The registry at `at`, reached through its contract reference `R`.
///
/// With the `testing` feature (off chain only) a contract instance registered in
/// `bridge` for `at` answers instead, because the off-chain engine cannot execute
/// cross-contract calls.
pub fn registry<R>(at: AccountId) -> Box<dyn RegistryReader>
where
    R: RegistryReader + FromAccountId<DefaultEnvironment> + 'static,
{
    #[cfg(feature = "testing")]
    if let Some(live) = crate::bridge::registry(&at) {
        return Box::new(live);
    }
    Box::new(R::from_account_id(at))
}

/// The staking contract at `at`, reached through its contract reference `R` (see
/// [`registry`] for the off-chain case).
pub fn staking<R>(at: AccountId) -> Box<dyn StakingReader>
where
    R: StakingReader + FromAccountId<DefaultEnvironment> + 'static,
{
    #[cfg(feature = "testing")]
    if let Some(live) = crate::bridge::staking(&at) {
        return Box::new(live);
    }
    Box::new(R::from_account_id(at))
}
