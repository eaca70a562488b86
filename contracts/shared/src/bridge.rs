//! Off-chain stand-in for the contract host's call routing (feature `testing`).
//!
//! The ink! 5 off-chain engine panics on any cross-contract call. Tests therefore deploy
//! the real contracts in one engine and register each instance here under its address;
//! [`crate::cross::registry`] and [`crate::cross::staking`] then reach that instance, which
//! runs its own message code against its own storage (see [`crate::testing::as_contract`]).
//! Nothing here fabricates an answer.

use std::cell::RefCell;
use std::rc::Rc;

use ink::primitives::AccountId;

use crate::cross::{RegistryReader, StakingReader};

thread_local! {
    static REGISTRIES: RefCell<Vec<(AccountId, Rc<dyn RegistryReader>)>> = const { RefCell::new(Vec::new()) };
    static STAKING: RefCell<Vec<(AccountId, Rc<dyn StakingReader>)>> = const { RefCell::new(Vec::new()) };
}

/// Routes registry reads for `at` to `registry`.
pub fn register_registry(at: AccountId, registry: Rc<dyn RegistryReader>) {
    REGISTRIES.with(|r| r.borrow_mut().push((at, registry)));
}

/// Routes staking reads for `at` to `staking`.
pub fn register_staking(at: AccountId, staking: Rc<dyn StakingReader>) {
    STAKING.with(|r| r.borrow_mut().push((at, staking)));
}

/// Forgets every registered instance (each test starts from an empty engine).
pub fn reset() {
    REGISTRIES.with(|r| r.borrow_mut().clear());
    STAKING.with(|r| r.borrow_mut().clear());
}

pub(crate) fn registry(at: &AccountId) -> Option<Rc<dyn RegistryReader>> {
    REGISTRIES.with(|r| {
        r.borrow()
            .iter()
            .rev()
            .find(|(a, _)| a == at)
            .map(|(_, c)| c.clone())
    })
}

pub(crate) fn staking(at: &AccountId) -> Option<Rc<dyn StakingReader>> {
    STAKING.with(|r| {
        r.borrow()
            .iter()
            .rev()
            .find(|(a, _)| a == at)
            .map(|(_, c)| c.clone())
    })
}
