//! Off-chain tests: one happy path per message and one test per reachable error,
//! mirroring `tests/tests/staking.rs` of the Solana suite. The registry is a real
//! instance in the same engine, read through the bridge.

use crate::staking::{
    DeviceBonded, DeviceUnbonded, Error, PoolUpdated, Slashed, Staked, Staking, UnstakeRequested,
    Withdrawn,
};
use depin_core::stake::MAX_COOLDOWN_SECS;
use depin_ink_shared::testing::{
    account, as_contract, balance_of, call, event_count, last_event, set_time, DeviceSigner,
};
use depin_ink_shared::{DeviceId, DeviceStatus, NetworkKind};
use device_registry::device_registry::DeviceRegistry;
use ink::env::DefaultEnvironment as E;
use ink::primitives::AccountId;
use std::cell::{RefCell, RefMut};
use std::rc::Rc;

const REGISTRY: u8 = 0xA0;
const POOL: u8 = 0xB0;
const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const OWNER: u8 = 4;
const OTHER: u8 = 5;
const SLASHER: u8 = 6;
const MIN: u64 = 100;
const COOLDOWN: u64 = 60;

struct Pool {
    registry: Rc<RefCell<DeviceRegistry>>,
    pool: Rc<RefCell<Staking>>,
}

impl Pool {
    fn new() -> Self {
        depin_ink_shared::bridge::reset();
        for who in [AUTHORITY, MAKER, OWNER, OTHER, SLASHER] {
            ink::env::test::set_account_balance::<E>(account(who), 1_000_000);
        }
        ink::env::test::set_account_balance::<E>(account(TREASURY), 0);
        set_time(10_000);
        let registry = device_registry::live::deploy(
            account(REGISTRY),
            account(AUTHORITY),
            NetworkKind::Wireless,
            account(TREASURY),
            0,
            0,
        );
        let pool = crate::live::deploy(
            account(POOL),
            account(AUTHORITY),
            account(REGISTRY),
            MIN,
            COOLDOWN,
            account(SLASHER),
        );
        Pool { registry, pool }
    }

    fn by(&self, who: u8, value: u64) -> RefMut<'_, Staking> {
        call(account(POOL), account(who), u128::from(value));
        self.pool.borrow_mut()
    }

    fn device(&self, seed: u8) -> DeviceId {
        device_registry::live::onboard(
            &self.registry,
            account(REGISTRY),
            account(MAKER),
            account(OWNER),
            &DeviceSigner::new(seed),
            1,
        )
    }

    fn registry_by(&self, who: u8) -> RefMut<'_, DeviceRegistry> {
        call(account(REGISTRY), account(who), 0);
        self.registry.borrow_mut()
    }

    fn pause(&self, paused: bool) {
        self.registry_by(AUTHORITY)
            .update_network(None, None, Some(paused), None)
            .unwrap();
    }

    fn position(&self, who: u8) -> crate::staking::Position {
        as_contract(account(POOL), || self.pool.borrow().position(account(who))).unwrap()
    }
}

#[ink::test]
fn test_initialize_pool_ok() {
    let pool = Pool::new();
    let settings = as_contract(account(POOL), || pool.pool.borrow().settings());
    assert_eq!(
        settings,
        (account(REGISTRY), MIN, COOLDOWN, account(SLASHER))
    );
}

#[ink::test]
fn test_initialize_pool_wrong_authority_or_paused() {
    let pool = Pool::new();
    call(account(0xB1), account(OTHER), 0);
    assert_eq!(
        Staking::new(account(REGISTRY), MIN, COOLDOWN, account(SLASHER)).err(),
        Some(Error::NotNetworkAuthority)
    );
    pool.pause(true);
    call(account(0xB1), account(AUTHORITY), 0);
    assert_eq!(
        Staking::new(account(REGISTRY), MIN, COOLDOWN, account(SLASHER)).err(),
        Some(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_stake_ok() {
    let pool = Pool::new();
    let before = balance_of(account(OWNER));
    assert_eq!(pool.by(OWNER, 150).stake(), Ok(150));
    assert_eq!(pool.by(OWNER, 50).stake(), Ok(200));
    let e: Staked = last_event();
    assert_eq!((e.owner, e.amount, e.active), (account(OWNER), 50, 200));
    assert_eq!(balance_of(account(OWNER)), before - 200);
    assert_eq!(balance_of(account(POOL)), 200);
    assert_eq!(
        as_contract(account(POOL), || pool.pool.borrow().totals()),
        (200, 0, 0)
    );
}

#[ink::test]
fn test_stake_zero_or_paused() {
    let pool = Pool::new();
    assert_eq!(pool.by(OWNER, 0).stake(), Err(Error::ZeroAmount));
    pool.pause(true);
    assert_eq!(pool.by(OWNER, 10).stake(), Err(Error::NetworkPaused));
}

#[ink::test]
fn test_bond_device_ok() {
    let pool = Pool::new();
    let device = pool.device(9);
    pool.by(OWNER, MIN).stake().unwrap();
    pool.by(OWNER, 0).bond_device(device).unwrap();
    let e: DeviceBonded = last_event();
    assert_eq!(
        (e.device, e.staker, e.devices_bonded),
        (device, account(OWNER), 1)
    );
    let info = as_contract(account(POOL), || pool.pool.borrow().bond_info(device)).unwrap();
    assert_eq!(
        (
            info.staker,
            info.active,
            info.devices_bonded,
            info.min_stake_per_device
        ),
        (account(OWNER), MIN, 1, MIN)
    );
}

#[ink::test]
fn test_bond_device_below_minimum() {
    let pool = Pool::new();
    let (a, b) = (pool.device(9), pool.device(8));
    assert_eq!(pool.by(OWNER, 0).bond_device(a), Err(Error::NoPosition));
    pool.by(OWNER, MIN + MIN / 2).stake().unwrap();
    pool.by(OWNER, 0).bond_device(a).unwrap();
    assert_eq!(
        pool.by(OWNER, 0).bond_device(b),
        Err(Error::StakeBelowMinimum)
    );
    assert_eq!(pool.position(OWNER).devices_bonded, 1);
}

#[ink::test]
fn test_bond_device_errors() {
    let pool = Pool::new();
    let device = pool.device(9);
    pool.by(OWNER, 10 * MIN).stake().unwrap();
    pool.by(OTHER, 10 * MIN).stake().unwrap();
    assert_eq!(
        pool.by(OWNER, 0).bond_device([3; 32]),
        Err(Error::DeviceNotFound)
    );
    assert_eq!(
        pool.by(OTHER, 0).bond_device(device),
        Err(Error::NotDeviceOwner)
    );
    pool.by(OWNER, 0).bond_device(device).unwrap();
    assert_eq!(
        pool.by(OWNER, 0).bond_device(device),
        Err(Error::DeviceAlreadyBonded)
    );
    let other = pool.device(8);
    pool.registry_by(AUTHORITY)
        .set_device_status(other, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(
        pool.by(OWNER, 0).bond_device(other),
        Err(Error::DeviceNotActive)
    );
    pool.pause(true);
    assert_eq!(
        pool.by(OWNER, 0).bond_device(other),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_unbond_device_ok_by_staker_and_new_owner() {
    let pool = Pool::new();
    let (a, b) = (pool.device(9), pool.device(8));
    pool.by(OWNER, 2 * MIN).stake().unwrap();
    pool.by(OWNER, 0).bond_device(a).unwrap();
    pool.by(OWNER, 0).bond_device(b).unwrap();
    pool.pause(true); // allowed while paused
    pool.by(OWNER, 0).unbond_device(a).unwrap();
    let e: DeviceUnbonded = last_event();
    assert_eq!(
        (e.device, e.unbonded_by, e.devices_bonded),
        (a, account(OWNER), 1)
    );
    pool.pause(false);
    pool.registry_by(OWNER)
        .transfer_device(b, account(OTHER))
        .unwrap();
    pool.by(OTHER, 0).unbond_device(b).unwrap();
    assert_eq!(pool.position(OWNER).devices_bonded, 0);
    assert!(as_contract(account(POOL), || pool.pool.borrow().bond(b)).is_none());
}

#[ink::test]
fn test_unbond_device_errors() {
    let pool = Pool::new();
    let device = pool.device(9);
    assert_eq!(
        pool.by(OWNER, 0).unbond_device(device),
        Err(Error::DeviceNotBonded)
    );
    pool.by(OWNER, MIN).stake().unwrap();
    pool.by(OWNER, 0).bond_device(device).unwrap();
    assert_eq!(
        pool.by(OTHER, 0).unbond_device(device),
        Err(Error::NotBondParty)
    );
}

#[ink::test]
fn test_request_unstake_ok() {
    let pool = Pool::new();
    pool.by(OWNER, 300).stake().unwrap();
    pool.pause(true); // allowed while paused
    assert_eq!(
        pool.by(OWNER, 0).request_unstake(120),
        Ok(10_000 + COOLDOWN as i64)
    );
    let e: UnstakeRequested = last_event();
    assert_eq!((e.amount, e.pending, e.unlock_ts), (120, 120, 10_060));
    let p = pool.position(OWNER);
    assert_eq!((p.amount, p.pending), (180, 120));
    assert_eq!(
        as_contract(account(POOL), || pool.pool.borrow().totals()),
        (180, 120, 0)
    );
}

#[ink::test]
fn test_request_unstake_errors() {
    let pool = Pool::new();
    assert_eq!(pool.by(OWNER, 0).request_unstake(0), Err(Error::ZeroAmount));
    assert_eq!(pool.by(OWNER, 0).request_unstake(1), Err(Error::NoPosition));
    let device = pool.device(9);
    pool.by(OWNER, 150).stake().unwrap();
    assert_eq!(
        pool.by(OWNER, 0).request_unstake(151),
        Err(Error::InsufficientStake)
    );
    pool.by(OWNER, 0).bond_device(device).unwrap();
    assert_eq!(
        pool.by(OWNER, 0).request_unstake(51),
        Err(Error::StakeBelowMinimum)
    );
    assert_eq!(pool.position(OWNER).amount, 150);
}

#[ink::test]
fn test_withdraw_ok() {
    let pool = Pool::new();
    pool.by(OWNER, 300).stake().unwrap();
    pool.by(OWNER, 0).request_unstake(100).unwrap();
    let before = balance_of(account(OWNER));
    set_time(10_000 + COOLDOWN);
    pool.pause(true); // allowed while paused
    assert_eq!(pool.by(OWNER, 0).withdraw(), Ok(100));
    let e: Withdrawn = last_event();
    assert_eq!(e.amount, 100);
    assert_eq!(balance_of(account(OWNER)), before + 100);
    assert_eq!(balance_of(account(POOL)), 200);
    assert_eq!(pool.position(OWNER).pending, 0);
}

#[ink::test]
fn test_withdraw_errors() {
    let pool = Pool::new();
    assert_eq!(pool.by(OWNER, 0).withdraw(), Err(Error::NoPosition));
    pool.by(OWNER, 300).stake().unwrap();
    assert_eq!(pool.by(OWNER, 0).withdraw(), Err(Error::NothingToWithdraw));
    pool.by(OWNER, 0).request_unstake(100).unwrap();
    set_time(10_000 + COOLDOWN - 1);
    assert_eq!(pool.by(OWNER, 0).withdraw(), Err(Error::CooldownNotElapsed));
    assert_eq!(balance_of(account(POOL)), 300);
}

#[ink::test]
fn test_slash_ok_active_then_pending() {
    let pool = Pool::new();
    pool.by(OWNER, 300).stake().unwrap();
    pool.by(OWNER, 0).request_unstake(100).unwrap();
    pool.pause(true); // an incident tool: allowed while paused
    pool.by(SLASHER, 0)
        .slash(account(OWNER), 250, [7; 32])
        .unwrap();
    let e: Slashed = last_event();
    assert_eq!(
        (e.from_active, e.from_pending, e.evidence_hash),
        (200, 50, [7; 32])
    );
    let p = pool.position(OWNER);
    assert_eq!((p.amount, p.pending), (0, 50));
    assert_eq!(balance_of(account(TREASURY)), 250);
    assert_eq!(balance_of(account(POOL)), 50);
    assert_eq!(
        as_contract(account(POOL), || pool.pool.borrow().totals()),
        (0, 50, 250)
    );
}

#[ink::test]
fn test_slash_errors() {
    let pool = Pool::new();
    assert_eq!(
        pool.by(OTHER, 0).slash(account(OWNER), 1, [0; 32]),
        Err(Error::NotSlashAuthority)
    );
    assert_eq!(
        pool.by(SLASHER, 0).slash(account(OWNER), 0, [0; 32]),
        Err(Error::ZeroAmount)
    );
    assert_eq!(
        pool.by(SLASHER, 0).slash(account(OWNER), 1, [0; 32]),
        Err(Error::NoPosition)
    );
    pool.by(OWNER, 300).stake().unwrap();
    assert_eq!(
        pool.by(SLASHER, 0).slash(account(OWNER), 301, [0; 32]),
        Err(Error::SlashExceedsStake)
    );
    assert_eq!(balance_of(account(TREASURY)), 0);
}

#[ink::test]
fn test_update_pool_ok_and_wrong_authority() {
    let pool = Pool::new();
    assert_eq!(
        pool.by(OTHER, 0).update_pool(Some(1), None, None),
        Err(Error::NotNetworkAuthority)
    );
    pool.pause(true); // housekeeping: allowed while paused
    pool.by(AUTHORITY, 0)
        .update_pool(Some(5), Some(6), Some(account(OTHER)))
        .unwrap();
    let e: PoolUpdated = last_event();
    assert_eq!(
        (e.min_stake_per_device, e.cooldown_secs, e.slash_authority),
        (5, 6, account(OTHER))
    );
    let _: AccountId = as_contract(account(POOL), || pool.pool.borrow().settings().3);
}

#[ink::test]
fn test_initialize_pool_invalid_cooldown() {
    let _pool = Pool::new();
    call(account(0xB1), account(AUTHORITY), 0);
    assert_eq!(
        Staking::new(account(REGISTRY), MIN, u64::MAX, account(SLASHER)).err(),
        Some(Error::InvalidCooldown)
    );
    assert_eq!(
        Staking::new(
            account(REGISTRY),
            MIN,
            MAX_COOLDOWN_SECS + 1,
            account(SLASHER)
        )
        .err(),
        Some(Error::InvalidCooldown)
    );
    // the bound itself is a valid cooldown
    assert!(Staking::new(account(REGISTRY), MIN, MAX_COOLDOWN_SECS, account(SLASHER)).is_ok());
}

#[ink::test]
fn test_initialize_pool_zero_slash_authority() {
    let _pool = Pool::new();
    call(account(0xB1), account(AUTHORITY), 0);
    assert_eq!(
        Staking::new(account(REGISTRY), MIN, COOLDOWN, AccountId::from([0; 32])).err(),
        Some(Error::InvalidSlashAuthority)
    );
}

#[ink::test]
fn test_update_pool_invalid_cooldown_cannot_brick_unstaking() {
    // Given a staker
    let pool = Pool::new();
    pool.by(OWNER, 300).stake().unwrap();
    let events = event_count();
    // When the authority sets a cooldown no clock can add (u64::MAX made every later
    // unstake fail with an overflow), Then the update is refused and nothing changes
    for cooldown in [u64::MAX, MAX_COOLDOWN_SECS + 1] {
        assert_eq!(
            pool.by(AUTHORITY, 0)
                .update_pool(Some(1), Some(cooldown), Some(account(OTHER))),
            Err(Error::InvalidCooldown)
        );
    }
    assert_eq!(event_count(), events);
    assert_eq!(
        as_contract(account(POOL), || pool.pool.borrow().settings()),
        (account(REGISTRY), MIN, COOLDOWN, account(SLASHER))
    );
    // and the longest valid cooldown still gives every unstake an unlock time
    pool.by(AUTHORITY, 0)
        .update_pool(None, Some(MAX_COOLDOWN_SECS), None)
        .unwrap();
    assert_eq!(
        pool.by(OWNER, 0).request_unstake(300),
        Ok(10_000 + MAX_COOLDOWN_SECS as i64)
    );
    set_time(10_000 + MAX_COOLDOWN_SECS);
    assert_eq!(pool.by(OWNER, 0).withdraw(), Ok(300));
}

#[ink::test]
fn test_update_pool_zero_slash_authority() {
    let pool = Pool::new();
    assert_eq!(
        pool.by(AUTHORITY, 0)
            .update_pool(Some(1), None, Some(AccountId::from([0; 32]))),
        Err(Error::InvalidSlashAuthority)
    );
    assert_eq!(
        as_contract(account(POOL), || pool.pool.borrow().settings()),
        (account(REGISTRY), MIN, COOLDOWN, account(SLASHER))
    );
}

#[ink::test]
fn test_update_pool_extreme_minimum_never_bricks_unstaking() {
    // Given a position with two bonded devices
    let pool = Pool::new();
    let (a, b) = (pool.device(9), pool.device(8));
    pool.by(OWNER, 2 * MIN).stake().unwrap();
    pool.by(OWNER, 0).bond_device(a).unwrap();
    pool.by(OWNER, 0).bond_device(b).unwrap();
    pool.by(OTHER, 50).stake().unwrap();
    // When the minimum is raised to the most a u64 can say (2 devices need 2^65 - 2)
    pool.by(AUTHORITY, 0)
        .update_pool(Some(u64::MAX), None, None)
        .unwrap();
    // Then a bonded position is refused as under the minimum, never with an overflow
    assert_eq!(
        pool.by(OWNER, 0).request_unstake(1),
        Err(Error::StakeBelowMinimum)
    );
    // a position without bonds can always leave
    assert_eq!(
        pool.by(OTHER, 0).request_unstake(50),
        Ok(10_000 + COOLDOWN as i64)
    );
    // and once unbonded, so can the first one
    pool.by(OWNER, 0).unbond_device(a).unwrap();
    pool.by(OWNER, 0).unbond_device(b).unwrap();
    pool.by(OWNER, 0).request_unstake(2 * MIN).unwrap();
    set_time(10_000 + COOLDOWN);
    assert_eq!(pool.by(OWNER, 0).withdraw(), Ok(2 * MIN));
    assert_eq!(pool.by(OTHER, 0).withdraw(), Ok(50));
    assert_eq!(balance_of(account(POOL)), 0);
}
