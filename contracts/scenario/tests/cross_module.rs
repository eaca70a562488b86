//! One scenario across all five modules, in one off-chain engine, with native value
//! conserved throughout:
//!
//! 1. Wireless: a maker issues a hotspot, its owner onboards it, stakes and bonds it;
//!    oracles finalize an epoch; the owner claims exactly what the reward tree says.
//! 2. Storage: a client's first deal (id 0) with a registered storage node, accepted by
//!    the hash of the terms the provider saw, runs to completion, every period proven
//!    against the real piece.
//! 3. Energy: a producer and a consumer trade in one interval; the meter's signed reading
//!    settles it.

use depin_core::merkle::{reward_leaf, MerkleTree};
use depin_core::storage::{self as core_storage, challenge, words_per_chunk, PieceCommitment};
use depin_ink_shared::host::InkSha256;
use depin_ink_shared::testing::{account, as_contract, balance_of, call, set_time, DeviceSigner};
use depin_ink_shared::NetworkKind;
use energy_settlement::energy_settlement::{EnergySettlement, IntervalState, MarketParams, Side};
use ink::env::DefaultEnvironment as E;
use ink::primitives::AccountId;
use rewards::rewards::{Rewards, Schedule};
use std::cell::RefCell;
use std::rc::Rc;
use storage_escrow::storage_escrow::{ChallengeResponse, DealTerms, StorageEscrow};

const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const OPERATOR: u8 = 4;
const CLIENT: u8 = 5;
const CONSUMER: u8 = 6;
const ORACLE_A: u8 = 11;
const ORACLE_B: u8 = 12;
/// SHA-256 of the epoch's region multiplier table the oracles commit with the root.
const TABLE_HASH: [u8; 32] = [0x3c; 32];
const PEOPLE: [u8; 8] = [
    AUTHORITY, TREASURY, MAKER, OPERATOR, CLIENT, CONSUMER, ORACLE_A, ORACLE_B,
];

const WIRELESS: u8 = 0xA1;
const STAKING: u8 = 0xB1;
const REWARDS: u8 = 0xC1;
const STORAGE_NET: u8 = 0xA2;
const STORAGE: u8 = 0xD2;
const ENERGY_NET: u8 = 0xA3;
const ENERGY: u8 = 0xE3;
const CONTRACTS: [u8; 7] = [
    WIRELESS,
    STAKING,
    REWARDS,
    STORAGE_NET,
    STORAGE,
    ENERGY_NET,
    ENERGY,
];

const ONBOARDING_FEE: u64 = 25;

/// Native value held by every account of the scenario.
fn total_value() -> u128 {
    PEOPLE
        .iter()
        .chain(CONTRACTS.iter())
        .map(|a| balance_of(account(*a)))
        .sum()
}

fn registry(
    at: u8,
    kind: NetworkKind,
) -> Rc<RefCell<device_registry::device_registry::DeviceRegistry>> {
    device_registry::live::deploy(
        account(at),
        account(AUTHORITY),
        kind,
        account(TREASURY),
        ONBOARDING_FEE,
        0,
    )
}

#[ink::test]
fn register_stake_earn_claim_then_store_then_trade_energy() {
    depin_ink_shared::bridge::reset();
    for who in PEOPLE {
        ink::env::test::set_account_balance::<E>(account(who), 1_000_000);
    }
    for at in CONTRACTS {
        ink::env::test::set_account_balance::<E>(account(at), 0);
    }
    set_time(10_000);
    let start_value = total_value();

    // ---- 1. Wireless: register, stake, earn, claim ------------------------------------
    let wireless = registry(WIRELESS, NetworkKind::Wireless);
    let hotspot = device_registry::live::onboard(
        &wireless,
        account(WIRELESS),
        account(MAKER),
        account(OPERATOR),
        &DeviceSigner::new(9),
        1,
    );
    let pool = staking::live::deploy(
        account(STAKING),
        account(AUTHORITY),
        account(WIRELESS),
        500,
        3_600,
        account(AUTHORITY),
    );
    call(account(STAKING), account(OPERATOR), 500);
    pool.borrow_mut().stake().unwrap();
    call(account(STAKING), account(OPERATOR), 0);
    pool.borrow_mut().bond_device(hotspot).unwrap();

    call(account(REWARDS), account(AUTHORITY), 0);
    let schedule = Schedule {
        initial_per_epoch: 10_000,
        halving_interval_epochs: 0,
        tail_per_epoch: 0,
    };
    let oracles = vec![account(ORACLE_A), account(ORACLE_B)];
    let rewards = Rc::new(RefCell::new(
        Rewards::new(
            account(WIRELESS),
            account(STAKING),
            schedule,
            600,
            10_000,
            oracles,
            2,
        )
        .unwrap(),
    ));
    call(account(REWARDS), account(AUTHORITY), 10_000);
    rewards.borrow_mut().fund().unwrap();

    let rows: [([u8; 32], AccountId, u64); 2] = [
        (hotspot, account(OPERATOR), 1_234),
        ([0xEE; 32], account(CLIENT), 766),
    ];
    let leaves = rows
        .iter()
        .map(|(d, o, a)| reward_leaf::<InkSha256>(d, o.as_ref(), *a))
        .collect();
    let tree = MerkleTree::new::<InkSha256>(leaves).unwrap();
    set_time(10_600);
    for oracle in [ORACLE_A, ORACLE_B] {
        call(account(REWARDS), account(oracle), 0);
        rewards
            .borrow_mut()
            .propose_root(0, tree.root(), 2_000, TABLE_HASH)
            .unwrap();
    }
    // the finalized epoch keeps the region multiplier table's hash
    let epoch_root =
        as_contract(account(REWARDS), || rewards.borrow().epoch_root(0)).expect("epoch 0");
    assert!(epoch_root.finalized);
    assert_eq!(epoch_root.multipliers_hash, TABLE_HASH);
    let operator_before = balance_of(account(OPERATOR));
    call(account(REWARDS), account(CLIENT), 0); // anyone may crank the claim
    let paid = rewards
        .borrow_mut()
        .claim(hotspot, 0, 1_234, tree.proof(0).unwrap())
        .unwrap();
    assert_eq!(paid, 1_234);
    assert_eq!(balance_of(account(OPERATOR)), operator_before + 1_234);
    assert_eq!(balance_of(account(REWARDS)), 10_000 - 1_234);

    // ---- 2. Storage: a deal to completion --------------------------------------------
    let storage_net = registry(STORAGE_NET, NetworkKind::Storage);
    let node = device_registry::live::onboard(
        &storage_net,
        account(STORAGE_NET),
        account(MAKER),
        account(OPERATOR),
        &DeviceSigner::new(8),
        1,
    );
    call(account(STORAGE), account(AUTHORITY), 0);
    let market = Rc::new(RefCell::new(
        StorageEscrow::new(account(STORAGE_NET), 100, 10, 2, 2, 1_000, 500).unwrap(),
    ));
    let piece: Vec<u8> = (0..=255u8).rev().collect();
    let commitment = PieceCommitment::from_bytes::<InkSha256>(&piece, 64).unwrap();
    let terms = DealTerms {
        provider_device: node,
        piece_root: commitment.root(),
        chunk_size: 64,
        num_chunks: commitment.num_chunks(),
        price_per_period: 1_000,
        periods: 2,
        collateral: 3_000,
    };
    let deal_id = as_contract(account(STORAGE), || {
        market.borrow().next_deal_id(account(CLIENT))
    });
    assert_eq!(deal_id, 0);
    call(account(STORAGE), account(CLIENT), 2_000);
    market.borrow_mut().propose_deal(deal_id, terms).unwrap();
    let deal_key = as_contract(account(STORAGE), || {
        market.borrow().deal_key(account(CLIENT), deal_id)
    });
    // the provider's wallet hashes the terms it shows and accepts exactly those
    let seen = core_storage::DealTerms {
        market: *AsRef::<[u8; 32]>::as_ref(&account(STORAGE)),
        deal: deal_key,
        client: *AsRef::<[u8; 32]>::as_ref(&account(CLIENT)),
        provider_device: terms.provider_device,
        piece_root: terms.piece_root,
        chunk_size: terms.chunk_size,
        num_chunks: terms.num_chunks,
        price_per_period: terms.price_per_period,
        periods: terms.periods,
        collateral: terms.collateral,
    }
    .hash::<InkSha256>();
    assert_eq!(
        as_contract(account(STORAGE), || market
            .borrow()
            .deal_terms_hash(account(CLIENT), deal_id)),
        Some(seen)
    );
    set_time(20_000);
    call(account(STORAGE), account(OPERATOR), 3_000);
    market
        .borrow_mut()
        .accept_deal(account(CLIENT), deal_id, seen)
        .unwrap();
    let operator_before = balance_of(account(OPERATOR));
    for period in 0..2u64 {
        set_time(20_000 + period * 100);
        call(account(STORAGE), account(OPERATOR), 0);
        let seed = market
            .borrow_mut()
            .open_challenge(account(CLIENT), deal_id, period)
            .unwrap();
        ink::env::test::advance_block::<E>();
        let responses = (0..2u8)
            .map(|i| {
                let at = challenge::<InkSha256>(
                    &seed,
                    &deal_key,
                    period,
                    i,
                    commitment.num_chunks(),
                    words_per_chunk(64).unwrap(),
                )
                .unwrap();
                let from = at.chunk as usize * 64;
                let a = commitment
                    .answer::<InkSha256>(at, &piece[from..from + 64])
                    .unwrap();
                ChallengeResponse {
                    index: i,
                    word: a.word,
                    word_proof: a.word_proof,
                    chunk_proof: a.chunk_proof,
                }
            })
            .collect();
        call(account(STORAGE), account(OPERATOR), 0);
        let proven = market
            .borrow_mut()
            .submit_proof(account(CLIENT), deal_id, period, responses)
            .unwrap();
        assert!(proven);
    }
    set_time(20_200);
    call(account(STORAGE), account(CLIENT), 0);
    market
        .borrow_mut()
        .complete_deal(account(CLIENT), deal_id)
        .unwrap();
    // two periods at 1,000 less a 5% fee, and the collateral back
    assert_eq!(
        balance_of(account(OPERATOR)),
        operator_before + 2 * 950 + 3_000
    );
    assert_eq!(balance_of(account(STORAGE)), 0);

    // ---- 3. Energy: an interval to settlement ----------------------------------------
    let energy_net = registry(ENERGY_NET, NetworkKind::Energy);
    let meter = DeviceSigner::new(7);
    let panel = device_registry::live::onboard(
        &energy_net,
        account(ENERGY_NET),
        account(MAKER),
        account(OPERATOR),
        &meter,
        3,
    );
    let home = device_registry::live::onboard(
        &energy_net,
        account(ENERGY_NET),
        account(MAKER),
        account(CONSUMER),
        &DeviceSigner::new(6),
        3,
    );
    call(account(ENERGY), account(AUTHORITY), 0);
    let params = MarketParams {
        interval_secs: 900,
        gate_closure_secs: 300,
        settlement_delay_secs: 600,
        max_orders_per_interval: 8,
        grid_fee_bps: 200,
        price_floor: 1,
        price_cap: 10_000,
    };
    let energy = Rc::new(RefCell::new(
        EnergySettlement::new(account(ENERGY_NET), params).unwrap(),
    ));
    let iv = 100u64; // [90_000, 90_900)
    set_time(80_000);
    call(account(ENERGY), account(OPERATOR), 0);
    energy
        .borrow_mut()
        .place_ask(iv, panel, 120, 2_000)
        .unwrap();
    // escrow ceil(180 * 1_500 / 1_000) = 270
    call(account(ENERGY), account(CONSUMER), 270);
    energy.borrow_mut().place_bid(iv, home, 180, 1_500).unwrap();
    set_time(89_700);
    call(account(ENERGY), account(CLIENT), 0);
    assert_eq!(energy.borrow_mut().clear_interval(iv), Ok(150));
    set_time(90_900);
    let message =
        depin_core::meter::reading_message(account(ENERGY).as_ref(), &panel, iv, 1_200, 40, 1);
    call(account(ENERGY), account(CLIENT), 0); // a gateway relays it
    energy
        .borrow_mut()
        .submit_reading(panel, iv, 1_200, 40, 1, meter.sign(&message))
        .unwrap();
    let (operator_before, consumer_before) =
        (balance_of(account(OPERATOR)), balance_of(account(CONSUMER)));
    call(account(ENERGY), account(CLIENT), 0);
    // delivered 1,200 Wh at 150: gross 180, grid fee 3, net 177
    assert_eq!(energy.borrow_mut().settle_order(iv, Side::Ask, 0), Ok(177));
    call(account(ENERGY), account(CLIENT), 0);
    // the consumer pays for the 1,200 Wh delivered (180) and gets 90 back
    assert_eq!(energy.borrow_mut().settle_order(iv, Side::Bid, 0), Ok(90));
    assert_eq!(balance_of(account(OPERATOR)), operator_before + 177);
    assert_eq!(balance_of(account(CONSUMER)), consumer_before + 90);
    assert_eq!(balance_of(account(ENERGY)), 0);
    let book = as_contract(account(ENERGY), || energy.borrow().interval(iv)).unwrap();
    assert_eq!(book.state, IntervalState::Settled);

    // ---- Value conservation ---------------------------------------------------------
    // 4 onboarding fees, the storage protocol fees (2 x 50) and the grid fee (3) went to
    // the treasury; nothing was created or destroyed.
    assert_eq!(
        balance_of(account(TREASURY)),
        1_000_000 + 4 * u128::from(ONBOARDING_FEE) + 100 + 3
    );
    assert_eq!(total_value(), start_value);
}
