//! The auditor's suspension across contracts, every instance real: a device the network's
//! auditor suspended (`SuspendedByAuditor`) is inactive for staking and rewards exactly
//! like one the authority suspended, and earns again once the authority reverses it.

use depin_core::merkle::{reward_leaf, MerkleTree};
use depin_ink_shared::host::InkSha256;
use depin_ink_shared::testing::{account, balance_of, call, set_time, DeviceSigner};
use depin_ink_shared::{DeviceStatus, NetworkKind};
use ink::env::DefaultEnvironment as E;
use rewards::rewards::{Error as RewardsError, Rewards, Schedule};
use staking::staking::Error as StakingError;
use std::cell::RefCell;
use std::rc::Rc;

const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const OPERATOR: u8 = 4;
const AUDITOR: u8 = 5;
const ORACLE_A: u8 = 11;
const ORACLE_B: u8 = 12;
const REGISTRY: u8 = 0xA1;
const STAKING: u8 = 0xB1;
const REWARDS: u8 = 0xC1;
/// Hash of the auditor's evidence.
const EVIDENCE: [u8; 32] = [0xE5; 32];
/// The multiplier table hash of an epoch without a region multiplier table.
const NO_TABLE: [u8; 32] = [0; 32];

#[ink::test]
fn a_device_suspended_by_the_auditor_neither_claims_nor_bonds() {
    // Given: a wireless network with an auditor, a hotspot onboarded, staked and bonded,
    // and a finalized epoch that owes it 1_234
    depin_ink_shared::bridge::reset();
    for who in [AUTHORITY, MAKER, OPERATOR, AUDITOR, ORACLE_A, ORACLE_B] {
        ink::env::test::set_account_balance::<E>(account(who), 1_000_000);
    }
    for at in [TREASURY, REGISTRY, STAKING, REWARDS] {
        ink::env::test::set_account_balance::<E>(account(at), 0);
    }
    set_time(10_000);
    let registry = device_registry::live::deploy(
        account(REGISTRY),
        account(AUTHORITY),
        NetworkKind::Wireless,
        account(TREASURY),
        0,
        0,
    );
    let onboard = |seed: u8| {
        device_registry::live::onboard(
            &registry,
            account(REGISTRY),
            account(MAKER),
            account(OPERATOR),
            &DeviceSigner::new(seed),
            1,
        )
    };
    let hotspot = onboard(9);
    let spare = onboard(8);
    let pool = staking::live::deploy(
        account(STAKING),
        account(AUTHORITY),
        account(REGISTRY),
        500,
        3_600,
        account(AUTHORITY),
    );
    call(account(STAKING), account(OPERATOR), 1_000);
    pool.borrow_mut().stake().unwrap();
    call(account(STAKING), account(OPERATOR), 0);
    pool.borrow_mut().bond_device(hotspot).unwrap();

    call(account(REWARDS), account(AUTHORITY), 0);
    let schedule = Schedule {
        initial_per_epoch: 10_000,
        halving_interval_epochs: 0,
        tail_per_epoch: 0,
    };
    let rewards = Rc::new(RefCell::new(
        Rewards::new(
            account(REGISTRY),
            account(STAKING),
            schedule,
            600,
            10_000,
            vec![account(ORACLE_A), account(ORACLE_B)],
            2,
        )
        .unwrap(),
    ));
    call(account(REWARDS), account(AUTHORITY), 10_000);
    rewards.borrow_mut().fund().unwrap();
    let leaves = [(hotspot, 1_234u64), ([0xEE; 32], 766)]
        .iter()
        .map(|(d, a)| reward_leaf::<InkSha256>(d, account(OPERATOR).as_ref(), *a))
        .collect();
    let tree = MerkleTree::new::<InkSha256>(leaves).unwrap();
    set_time(10_600);
    for oracle in [ORACLE_A, ORACLE_B] {
        call(account(REWARDS), account(oracle), 0);
        rewards
            .borrow_mut()
            .propose_root(0, tree.root(), 2_000, NO_TABLE)
            .unwrap();
    }
    call(account(REGISTRY), account(AUTHORITY), 0);
    registry
        .borrow_mut()
        .set_auditor(Some(account(AUDITOR)))
        .unwrap();

    // When: the auditor suspends both devices
    for device in [hotspot, spare] {
        call(account(REGISTRY), account(AUDITOR), 0);
        registry
            .borrow_mut()
            .audit_device(device, DeviceStatus::Suspended, EVIDENCE)
            .unwrap();
    }

    // Then: the hotspot's claim is refused, and the spare cannot be bonded
    let claim = || {
        call(account(REWARDS), account(OPERATOR), 0);
        rewards
            .borrow_mut()
            .claim(hotspot, 0, 1_234, tree.proof(0).unwrap())
    };
    assert_eq!(claim(), Err(RewardsError::DeviceNotActive));
    call(account(STAKING), account(OPERATOR), 0);
    assert_eq!(
        pool.borrow_mut().bond_device(spare),
        Err(StakingError::DeviceNotActive)
    );
    assert_eq!(balance_of(account(REWARDS)), 10_000);

    // When: the authority reverses the auditor's suspension of the hotspot
    call(account(REGISTRY), account(AUTHORITY), 0);
    registry
        .borrow_mut()
        .set_device_status(hotspot, DeviceStatus::Active)
        .unwrap();

    // Then: the claim pays what the tree says; the spare, still suspended, still cannot bond
    let before = balance_of(account(OPERATOR));
    assert_eq!(claim(), Ok(1_234));
    assert_eq!(balance_of(account(OPERATOR)), before + 1_234);
    call(account(STAKING), account(OPERATOR), 0);
    assert_eq!(
        pool.borrow_mut().bond_device(spare),
        Err(StakingError::DeviceNotActive)
    );
}
