//! Off-chain tests: one happy path per message and one test per reachable error,
//! mirroring `tests/tests/rewards.rs` of the Solana suite. Registry and staking are real
//! instances in the same engine, read through the bridge.

use crate::rewards::{
    Error, OraclesSet, Rewards, RewardsClaimed, RewardsFunded, RootFinalized, RootProposed,
    Schedule,
};
use depin_core::epoch::{MAX_DURATION_SECS, MAX_GENESIS_LEAD_SECS};
use depin_core::merkle::{reward_leaf, MerkleTree};
use depin_ink_shared::host::InkSha256;
use depin_ink_shared::testing::{
    account, as_contract, balance_of, call, last_event, set_time, DeviceSigner,
};
use depin_ink_shared::{DeviceId, DeviceStatus, NetworkKind};
use device_registry::device_registry::DeviceRegistry;
use ink::env::DefaultEnvironment as E;
use ink::primitives::AccountId;
use staking::staking::Staking;
use std::cell::{RefCell, RefMut};
use std::rc::Rc;

const REGISTRY: u8 = 0xA0;
const POOL: u8 = 0xB0;
const REWARDS: u8 = 0xC0;
const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const OWNER: u8 = 4;
const OTHER: u8 = 5;
const SLASHER: u8 = 6;
const ORACLES: [u8; 3] = [11, 12, 13];
/// The multiplier table hash of an epoch that uses no region multiplier table.
const NO_TABLE: [u8; 32] = [0; 32];
const GENESIS: i64 = 10_000;
const EPOCH: u64 = 100;
const MIN: u64 = 100;
const SCHEDULE: Schedule = Schedule {
    initial_per_epoch: 1_000,
    halving_interval_epochs: 10,
    tail_per_epoch: 100,
};

struct Net {
    registry: Rc<RefCell<DeviceRegistry>>,
    pool: Rc<RefCell<Staking>>,
    rewards: Rc<RefCell<Rewards>>,
}

fn oracles() -> Vec<AccountId> {
    ORACLES.iter().map(|o| account(*o)).collect()
}

impl Net {
    fn new() -> Self {
        depin_ink_shared::bridge::reset();
        for who in [AUTHORITY, MAKER, OWNER, OTHER, SLASHER] {
            ink::env::test::set_account_balance::<E>(account(who), 1_000_000);
        }
        for who in [TREASURY, REWARDS] {
            ink::env::test::set_account_balance::<E>(account(who), 0);
        }
        set_time(GENESIS as u64);
        let registry = device_registry::live::deploy(
            account(REGISTRY),
            account(AUTHORITY),
            NetworkKind::Wireless,
            account(TREASURY),
            0,
            0,
        );
        let pool = staking::live::deploy(
            account(POOL),
            account(AUTHORITY),
            account(REGISTRY),
            MIN,
            60,
            account(SLASHER),
        );
        call(account(REWARDS), account(AUTHORITY), 0);
        let rewards = Rc::new(RefCell::new(Self::deploy(2).unwrap()));
        Net {
            registry,
            pool,
            rewards,
        }
    }

    fn deploy(quorum: u8) -> Result<Rewards, Error> {
        Rewards::new(
            account(REGISTRY),
            account(POOL),
            SCHEDULE,
            EPOCH,
            GENESIS,
            oracles(),
            quorum,
        )
    }

    fn by(&self, who: u8, value: u64) -> RefMut<'_, Rewards> {
        call(account(REWARDS), account(who), u128::from(value));
        self.rewards.borrow_mut()
    }

    fn registry_by(&self, who: u8) -> RefMut<'_, DeviceRegistry> {
        call(account(REGISTRY), account(who), 0);
        self.registry.borrow_mut()
    }

    fn pool_by(&self, who: u8, value: u64) -> RefMut<'_, Staking> {
        call(account(POOL), account(who), u128::from(value));
        self.pool.borrow_mut()
    }

    /// An onboarded device of OWNER, bonded with MIN stake.
    fn bonded_device(&self, seed: u8) -> DeviceId {
        let device = device_registry::live::onboard(
            &self.registry,
            account(REGISTRY),
            account(MAKER),
            account(OWNER),
            &DeviceSigner::new(seed),
            1,
        );
        self.pool_by(OWNER, MIN).stake().unwrap();
        self.pool_by(OWNER, 0).bond_device(device).unwrap();
        device
    }

    /// Finalizes `epoch` with `root` and `total` (two of three oracles agree).
    fn finalize(&self, epoch: u64, root: [u8; 32], total: u64) {
        set_time(GENESIS as u64 + (epoch + 1) * EPOCH);
        assert_eq!(
            self.by(ORACLES[0], 0)
                .propose_root(epoch, root, total, NO_TABLE),
            Ok(false)
        );
        assert_eq!(
            self.by(ORACLES[1], 0)
                .propose_root(epoch, root, total, NO_TABLE),
            Ok(true)
        );
    }

    fn pause(&self, paused: bool) {
        self.registry_by(AUTHORITY)
            .update_network(None, None, Some(paused), None)
            .unwrap();
    }
}

/// A reward tree over `(device, owner, amount)` rows, with each row's proof.
fn tree(rows: &[(DeviceId, AccountId, u64)]) -> (MerkleTree, Vec<Vec<[u8; 32]>>) {
    let leaves = rows
        .iter()
        .map(|(d, o, a)| reward_leaf::<InkSha256>(d, o.as_ref(), *a))
        .collect();
    let tree = MerkleTree::new::<InkSha256>(leaves).unwrap();
    let proofs = (0..rows.len()).map(|i| tree.proof(i).unwrap()).collect();
    (tree, proofs)
}

#[ink::test]
fn test_initialize_rewards_ok() {
    let net = Net::new();
    let (set, quorum, version) = as_contract(account(REWARDS), || net.rewards.borrow().oracles());
    assert_eq!((set, quorum, version), (oracles(), 2, 0));
    assert_eq!(
        as_contract(account(REWARDS), || net.rewards.borrow().totals()),
        (0, None, 0)
    );
}

/// A pool serving another registry's network is refused: its bonds would decide this
/// network's eligibility (a device bonded there, or nowhere this network knows of).
#[ink::test]
fn test_initialize_rewards_with_another_networks_pool() {
    let _net = Net::new();
    // a second network, with its own pool
    device_registry::live::deploy(
        account(0xA1),
        account(AUTHORITY),
        NetworkKind::Wireless,
        account(TREASURY),
        0,
        0,
    );
    staking::live::deploy(
        account(0xB1),
        account(AUTHORITY),
        account(0xA1),
        MIN,
        60,
        account(SLASHER),
    );
    call(account(0xC1), account(AUTHORITY), 0);
    let new = |pool: u8| {
        Rewards::new(
            account(REGISTRY),
            account(pool),
            SCHEDULE,
            EPOCH,
            GENESIS,
            oracles(),
            2,
        )
        .err()
    };
    assert_eq!(new(0xB1), Some(Error::StakingOfAnotherNetwork));
    // its own pool is accepted
    assert_eq!(new(POOL), None);
}

#[ink::test]
fn test_initialize_rewards_errors() {
    let net = Net::new();
    call(account(0xC1), account(OTHER), 0);
    assert_eq!(Net::deploy(2).err(), Some(Error::NotNetworkAuthority));
    call(account(0xC1), account(AUTHORITY), 0);
    assert_eq!(Net::deploy(1).err(), Some(Error::InvalidQuorum));
    let bad = Schedule {
        tail_per_epoch: 2_000,
        ..SCHEDULE
    };
    let new = |schedule, epoch, set: Vec<AccountId>| {
        Rewards::new(
            account(REGISTRY),
            account(POOL),
            schedule,
            epoch,
            GENESIS,
            set,
            1,
        )
        .err()
    };
    assert_eq!(
        new(bad, EPOCH, vec![account(11)]),
        Some(Error::InvalidSchedule)
    );
    assert_eq!(
        new(SCHEDULE, 0, vec![account(11)]),
        Some(Error::InvalidEpochDuration)
    );
    assert_eq!(new(SCHEDULE, EPOCH, vec![]), Some(Error::InvalidOracleSet));
    assert_eq!(
        new(SCHEDULE, EPOCH, vec![account(11), account(11)]),
        Some(Error::InvalidOracleSet)
    );
    net.pause(true);
    call(account(0xC1), account(AUTHORITY), 0);
    assert_eq!(Net::deploy(2).err(), Some(Error::NetworkPaused));
}

#[ink::test]
fn test_set_oracles_ok_discards_old_proposals() {
    let net = Net::new();
    set_time(GENESIS as u64 + EPOCH);
    net.by(ORACLES[0], 0)
        .propose_root(0, [1; 32], 10, NO_TABLE)
        .unwrap();
    net.pause(true); // an incident tool: allowed while paused
    net.by(AUTHORITY, 0)
        .set_oracles(vec![account(12), account(11), account(14)], 2)
        .unwrap();
    let e: OraclesSet = last_event();
    assert_eq!((e.quorum, e.oracle_set_version), (2, 1));
    net.pause(false);
    // ORACLES[0]'s proposal was made under version 0: it no longer counts
    assert_eq!(
        net.by(12, 0).propose_root(0, [1; 32], 10, NO_TABLE),
        Ok(false)
    );
    assert_eq!(
        net.by(14, 0).propose_root(0, [1; 32], 10, NO_TABLE),
        Ok(true)
    );
}

#[ink::test]
fn test_set_oracles_errors() {
    let net = Net::new();
    assert_eq!(
        net.by(OTHER, 0).set_oracles(oracles(), 2),
        Err(Error::NotNetworkAuthority)
    );
    assert_eq!(
        net.by(AUTHORITY, 0)
            .set_oracles(vec![AccountId::from([0; 32])], 1),
        Err(Error::InvalidOracleSet)
    );
    assert_eq!(
        net.by(AUTHORITY, 0).set_oracles(oracles(), 4),
        Err(Error::InvalidQuorum)
    );
}

#[ink::test]
fn test_fund_ok_and_zero() {
    let net = Net::new();
    net.by(AUTHORITY, 500).fund().unwrap();
    let e: RewardsFunded = last_event();
    assert_eq!((e.funder, e.amount), (account(AUTHORITY), 500));
    assert_eq!(balance_of(account(REWARDS)), 500);
    assert_eq!(net.by(AUTHORITY, 0).fund(), Err(Error::ZeroAmount));
}

#[ink::test]
fn test_propose_root_ok_finalizes_at_quorum() {
    let net = Net::new();
    set_time(GENESIS as u64 + EPOCH);
    assert_eq!(
        net.by(ORACLES[0], 0)
            .propose_root(0, [1; 32], 600, NO_TABLE),
        Ok(false)
    );
    let e: RootProposed = last_event();
    assert_eq!((e.epoch, e.oracle, e.votes), (0, account(ORACLES[0]), 1));
    // a different proposal does not count towards the first
    assert_eq!(
        net.by(ORACLES[1], 0)
            .propose_root(0, [2; 32], 600, NO_TABLE),
        Ok(false)
    );
    assert_eq!(
        net.by(ORACLES[2], 0)
            .propose_root(0, [1; 32], 600, NO_TABLE),
        Ok(true)
    );
    let e: RootFinalized = last_event();
    assert_eq!(
        (e.epoch, e.root, e.cumulative_total, e.multipliers_hash),
        (0, [1; 32], 600, NO_TABLE)
    );
    let root = as_contract(account(REWARDS), || net.rewards.borrow().epoch_root(0)).unwrap();
    assert!(root.finalized);
    assert_eq!(root.finalized_at, GENESIS + EPOCH as i64);
    assert_eq!(
        as_contract(account(REWARDS), || net.rewards.borrow().totals()),
        (0, Some(0), 600)
    );
}

#[ink::test]
fn test_propose_root_ok_multiplier_table_hash_must_agree() {
    let net = Net::new();
    let (table_a, table_b) = ([0xa1; 32], [0xb2; 32]);
    set_time(GENESIS as u64 + 2 * EPOCH);
    let epoch_root =
        |epoch| as_contract(account(REWARDS), || net.rewards.borrow().epoch_root(epoch)).unwrap();

    // Given the same root and total with different tables, Then no quorum
    assert_eq!(
        net.by(ORACLES[0], 0).propose_root(0, [1; 32], 600, table_a),
        Ok(false)
    );
    assert_eq!(
        net.by(ORACLES[1], 0).propose_root(0, [1; 32], 600, table_b),
        Ok(false)
    );
    let e: RootProposed = last_event();
    assert_eq!((e.multipliers_hash, e.votes), (table_b, 1));
    // nor with no table at all
    assert_eq!(
        net.by(ORACLES[2], 0)
            .propose_root(0, [1; 32], 600, NO_TABLE),
        Ok(false)
    );
    let root = epoch_root(0);
    assert!(!root.finalized);
    assert_eq!(root.multipliers_hash, NO_TABLE);

    // When the third oracle changes its mind to table B, Then it finalizes with B
    assert_eq!(
        net.by(ORACLES[2], 0).propose_root(0, [1; 32], 600, table_b),
        Ok(true)
    );
    let e: RootFinalized = last_event();
    assert_eq!((e.epoch, e.multipliers_hash), (0, table_b));
    // and the hash is readable after finalization
    let root = epoch_root(0);
    assert!(root.finalized);
    assert_eq!(
        (root.root, root.cumulative_total, root.multipliers_hash),
        ([1; 32], 600, table_b)
    );

    // Given an oracle that proposed table A for epoch 1, then B instead
    assert_eq!(
        net.by(ORACLES[0], 0).propose_root(1, [2; 32], 900, table_a),
        Ok(false)
    );
    assert_eq!(
        net.by(ORACLES[0], 0).propose_root(1, [2; 32], 900, table_b),
        Ok(false)
    );
    let proposal = epoch_root(1).proposals[0].expect("oracle 0 proposed");
    assert_eq!(proposal.multipliers_hash, table_b);
    // Then its earlier A no longer counts, and B finalizes
    assert_eq!(
        net.by(ORACLES[1], 0).propose_root(1, [2; 32], 900, table_a),
        Ok(false)
    );
    assert_eq!(
        net.by(ORACLES[1], 0).propose_root(1, [2; 32], 900, table_b),
        Ok(true)
    );
    assert_eq!(epoch_root(1).multipliers_hash, table_b);
}

#[ink::test]
fn test_propose_root_errors() {
    let net = Net::new();
    set_time(GENESIS as u64 + EPOCH - 1);
    assert_eq!(
        net.by(OTHER, 0).propose_root(0, [1; 32], 1, NO_TABLE),
        Err(Error::NotOracle)
    );
    assert_eq!(
        net.by(ORACLES[0], 0).propose_root(0, [1; 32], 1, NO_TABLE),
        Err(Error::EpochNotOver)
    );
    set_time(GENESIS as u64 + EPOCH);
    assert_eq!(
        net.by(ORACLES[0], 0)
            .propose_root(0, [1; 32], 1_001, NO_TABLE),
        Err(Error::ExceedsEmissionSchedule)
    );
    net.finalize(1, [1; 32], 1_500);
    assert_eq!(
        net.by(ORACLES[2], 0)
            .propose_root(1, [1; 32], 1_500, NO_TABLE),
        Err(Error::EpochAlreadyFinalized)
    );
    assert_eq!(
        net.by(ORACLES[2], 0)
            .propose_root(0, [1; 32], 1_000, NO_TABLE),
        Err(Error::StaleEpoch)
    );
    set_time(GENESIS as u64 + 3 * EPOCH);
    assert_eq!(
        net.by(ORACLES[2], 0)
            .propose_root(2, [1; 32], 1_499, NO_TABLE),
        Err(Error::DecreasingTotal)
    );
    net.pause(true);
    assert_eq!(
        net.by(ORACLES[2], 0)
            .propose_root(2, [1; 32], 1_600, NO_TABLE),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_claim_ok_pays_exactly_the_difference() {
    let net = Net::new();
    let device = net.bonded_device(9);
    let other = [0x77; 32];
    net.by(AUTHORITY, 10_000).fund().unwrap();
    let (t0, p0) = tree(&[(device, account(OWNER), 300), (other, account(OTHER), 200)]);
    net.finalize(0, t0.root(), 500);
    let before = balance_of(account(OWNER));
    // anyone may crank; the owner is paid
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 300, p0[0].clone()),
        Ok(300)
    );
    let e: RewardsClaimed = last_event();
    assert_eq!(
        (e.owner, e.amount, e.total_claimed),
        (account(OWNER), 300, 300)
    );
    assert_eq!(balance_of(account(OWNER)), before + 300);
    // nothing new: nothing paid, nothing changed
    assert_eq!(net.by(OTHER, 0).claim(device, 0, 300, p0[0].clone()), Ok(0));
    let (t1, p1) = tree(&[(device, account(OWNER), 750), (other, account(OTHER), 400)]);
    net.finalize(1, t1.root(), 1_150);
    assert_eq!(
        net.by(OWNER, 0).claim(device, 1, 750, p1[0].clone()),
        Ok(450)
    );
    assert_eq!(balance_of(account(OWNER)), before + 750);
    assert_eq!(balance_of(account(REWARDS)), 10_000 - 750);
    let claimed = as_contract(account(REWARDS), || net.rewards.borrow().claimed(device)).unwrap();
    assert_eq!((claimed.total_claimed, claimed.last_epoch), (750, 1));
    assert_eq!(
        as_contract(account(REWARDS), || net.rewards.borrow().totals()),
        (750, Some(1), 1_150)
    );
}

#[ink::test]
fn test_claim_proof_errors() {
    let net = Net::new();
    let device = net.bonded_device(9);
    net.by(AUTHORITY, 10_000).fund().unwrap();
    let (t0, p0) = tree(&[
        (device, account(OWNER), 300),
        ([1; 32], account(OTHER), 200),
    ]);
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 300, p0[0].clone()),
        Err(Error::EpochNotFinalized)
    );
    net.finalize(0, t0.root(), 500);
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 301, p0[0].clone()),
        Err(Error::InvalidProof)
    );
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 300, vec![[0; 32]; 33]),
        Err(Error::ProofTooLong)
    );
    assert_eq!(
        net.by(OTHER, 0).claim([5; 32], 0, 300, p0[0].clone()),
        Err(Error::DeviceNotFound)
    );
    assert_eq!(balance_of(account(REWARDS)), 10_000);
}

#[ink::test]
fn test_claim_eligibility_errors() {
    let net = Net::new();
    let device = net.bonded_device(9);
    let unbonded = device_registry::live::onboard(
        &net.registry,
        account(REGISTRY),
        account(MAKER),
        account(OWNER),
        &DeviceSigner::new(8),
        1,
    );
    net.by(AUTHORITY, 10_000).fund().unwrap();
    let rows = [
        (device, account(OWNER), 300),
        (unbonded, account(OWNER), 200),
    ];
    let (t0, p0) = tree(&rows);
    net.finalize(0, t0.root(), 500);
    assert_eq!(
        net.by(OTHER, 0).claim(unbonded, 0, 200, p0[1].clone()),
        Err(Error::DeviceNotBonded)
    );
    // slashed below the bond minimum: under-collateralised
    net.pool_by(SLASHER, 0)
        .slash(account(OWNER), 1, [0; 32])
        .unwrap();
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 300, p0[0].clone()),
        Err(Error::UnderCollateralized)
    );
    net.pool_by(OWNER, 1).stake().unwrap();
    // transferred: the bond still belongs to the old owner's stake
    net.registry_by(OWNER)
        .transfer_device(device, account(OTHER))
        .unwrap();
    let (t1, p1) = tree(&[
        (device, account(OTHER), 300),
        (unbonded, account(OWNER), 200),
    ]);
    net.finalize(1, t1.root(), 500);
    assert_eq!(
        net.by(OTHER, 0).claim(device, 1, 300, p1[0].clone()),
        Err(Error::BondStakerNotOwner)
    );
    call(account(REGISTRY), account(AUTHORITY), 0);
    net.registry
        .borrow_mut()
        .set_device_status(device, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(
        net.by(OTHER, 0).claim(device, 1, 300, p1[0].clone()),
        Err(Error::DeviceNotActive)
    );
    net.pause(true);
    assert_eq!(
        net.by(OTHER, 0).claim(device, 1, 300, p1[0].clone()),
        Err(Error::NetworkPaused)
    );
    assert_eq!(balance_of(account(REWARDS)), 10_000);
}

#[ink::test]
fn test_claim_cap_and_reserve_errors() {
    let net = Net::new();
    let device = net.bonded_device(9);
    // the oracles' leaves add up to more than the total they finalized
    let (t0, p0) = tree(&[
        (device, account(OWNER), 600),
        ([1; 32], account(OTHER), 200),
    ]);
    net.finalize(0, t0.root(), 500);
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 600, p0[0].clone()),
        Err(Error::MintCapExceeded)
    );
    let (t1, p1) = tree(&[
        (device, account(OWNER), 400),
        ([1; 32], account(OTHER), 100),
    ]);
    net.finalize(1, t1.root(), 500);
    net.by(AUTHORITY, 399).fund().unwrap();
    assert_eq!(
        net.by(OTHER, 0).claim(device, 1, 400, p1[0].clone()),
        Err(Error::ReserveExhausted)
    );
    net.by(AUTHORITY, 1).fund().unwrap();
    assert_eq!(
        net.by(OTHER, 0).claim(device, 1, 400, p1[0].clone()),
        Ok(400)
    );
    assert_eq!(balance_of(account(REWARDS)), 0);
}

#[ink::test]
fn test_initialize_rewards_invalid_genesis() {
    let _net = Net::new();
    call(account(0xC1), account(AUTHORITY), 0);
    let new = |genesis: i64| {
        Rewards::new(
            account(REGISTRY),
            account(POOL),
            SCHEDULE,
            EPOCH,
            genesis,
            oracles(),
            2,
        )
        .err()
    };
    let latest = GENESIS + MAX_GENESIS_LEAD_SECS;
    // before 1970
    assert_eq!(new(-1), Some(Error::InvalidGenesis));
    assert_eq!(new(i64::MIN), Some(Error::InvalidGenesis));
    // more than a year ahead (i64::MAX used to be refused only if epoch 0 could not end)
    assert_eq!(new(latest + 1), Some(Error::InvalidGenesis));
    assert_eq!(new(i64::MAX - EPOCH as i64), Some(Error::InvalidGenesis));
    // both ends of the window are valid
    assert_eq!(new(0), None);
    assert_eq!(new(latest), None);
}

#[ink::test]
fn test_initialize_rewards_epoch_duration_too_long() {
    let _net = Net::new();
    call(account(0xC1), account(AUTHORITY), 0);
    let new = |duration: u64| {
        Rewards::new(
            account(REGISTRY),
            account(POOL),
            SCHEDULE,
            duration,
            GENESIS,
            oracles(),
            2,
        )
        .err()
    };
    // an epoch 0 that would only end in centuries used to be accepted
    assert_eq!(
        new(MAX_DURATION_SECS + 1),
        Some(Error::InvalidEpochDuration)
    );
    assert_eq!(new(u64::MAX), Some(Error::InvalidEpochDuration));
    assert_eq!(new(MAX_DURATION_SECS), None);
}

#[ink::test]
fn test_claim_superseded_root() {
    // Given two devices of OWNER; epoch 0 gives `device` 500, then epoch 1 corrects it
    // downwards to 300 (and gives the difference to `other`, so the total holds)
    let net = Net::new();
    let device = net.bonded_device(9);
    let other = net.bonded_device(8);
    net.by(AUTHORITY, 10_000).fund().unwrap();
    let (t0, p0) = tree(&[(device, account(OWNER), 500), (other, account(OWNER), 300)]);
    let (t1, p1) = tree(&[(device, account(OWNER), 300), (other, account(OWNER), 500)]);
    net.finalize(0, t0.root(), 800);
    net.finalize(1, t1.root(), 800);
    let before = balance_of(account(OWNER));
    // When a claim proves against the superseded root of epoch 0, Then it is refused
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 500, p0[0].clone()),
        Err(Error::SupersededRoot)
    );
    // a claim against the latest root pays the corrected amount
    assert_eq!(
        net.by(OTHER, 0).claim(device, 1, 300, p1[0].clone()),
        Ok(300)
    );
    // and no order of claims pays more: the old root stays refused, the latest pays 0
    assert_eq!(
        net.by(OTHER, 0).claim(device, 0, 500, p0[0].clone()),
        Err(Error::SupersededRoot)
    );
    assert_eq!(net.by(OTHER, 0).claim(device, 1, 300, p1[0].clone()), Ok(0));
    let claimed = as_contract(account(REWARDS), || net.rewards.borrow().claimed(device)).unwrap();
    assert_eq!((claimed.total_claimed, claimed.last_epoch), (300, 1));
    // an epoch that is proposed but not finalized is refused as such
    set_time(GENESIS as u64 + 3 * EPOCH);
    assert_eq!(
        net.by(ORACLES[0], 0)
            .propose_root(2, t0.root(), 800, NO_TABLE),
        Ok(false)
    );
    assert_eq!(
        net.by(OTHER, 0).claim(device, 2, 500, p0[0].clone()),
        Err(Error::EpochNotFinalized)
    );
    // honest claims against the latest root still succeed: nobody was overpaid, so the
    // cap still has room for everyone's amount
    assert_eq!(
        net.by(OTHER, 0).claim(other, 1, 500, p1[1].clone()),
        Ok(500)
    );
    assert_eq!(balance_of(account(OWNER)), before + 800);
    assert_eq!(balance_of(account(REWARDS)), 10_000 - 800);
    assert_eq!(
        as_contract(account(REWARDS), || net.rewards.borrow().totals()),
        (800, Some(1), 800)
    );
}
