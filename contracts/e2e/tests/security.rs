//! The security review's regressions, as Wasm on pallet-contracts: each refusal with its
//! exact error, reverted by the runtime together with the value it carried, and the
//! honest path still open afterwards.

use depin_core::merkle::{reward_leaf, MerkleTree};
use depin_core::stake::MAX_COOLDOWN_SECS;
use depin_ink_e2e::suite::{account, at, Suite, AUTHORITY, CELL, MAKER, ONBOARDING_FEE, TREASURY};
use depin_ink_shared::host::{key_account, InkSha256};
use depin_ink_shared::testing::{DeviceSigner, ROOFTOP_METER};
use depin_ink_shared::{Capabilities, DeviceStatus, NetworkKind};
use device_registry::device_registry::{
    issue_message, onboard_message, DeviceRegistryRef, Error as RegistryError,
};
use energy_settlement::energy_settlement::{
    EnergySettlementRef, Error as EnergyError, IntervalState, Side,
};
use ink::codegen::TraitCallBuilder;
use ink::primitives::AccountId;
use rewards::rewards::{Error as RewardsError, RewardsRef};
use staking::staking::{Error as StakingError, StakingRef};
use storage_escrow::storage_escrow::{DealTerms, Error as StorageError, StorageEscrowRef};

const OWNER: u8 = 4;
const OTHER: u8 = 5;
const AUDITOR: u8 = 6;
const ORACLE: u8 = 11;
/// Owns an energy meter with no panel and no battery and tries to win the book with it.
const GRIEFER: u8 = 12;
const PEOPLE: [u8; 8] = [
    AUTHORITY, TREASURY, MAKER, OWNER, OTHER, AUDITOR, ORACLE, GRIEFER,
];
const MAX_PLACEMENTS_PER_DEVICE: u8 = depin_core::energy::MAX_PLACEMENTS_PER_DEVICE;

fn suite() -> Suite {
    Suite::new(&PEOPLE, 1_000_000_000_000).expect("the suite is deployed")
}

/// A wireless network with two bonded devices of OWNER and funded rewards (one oracle).
fn wireless(s: &mut Suite) -> (AccountId, AccountId, AccountId, [u8; 32], [u8; 32]) {
    s.chain.set_time(10_000);
    let registry = s.registry(NetworkKind::Wireless).unwrap();
    let device = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(9), 1)
        .unwrap();
    let other = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(8), 1)
        .unwrap();
    let staking = s.staking(registry, 500, 3_600).unwrap();
    let mut pool: StakingRef = at(staking);
    assert_eq!(
        s.chain
            .call("stake", account(OWNER), 1_000, pool.call_mut().stake())
            .unwrap(),
        Ok(1_000)
    );
    for d in [device, other] {
        assert_eq!(
            s.chain
                .call(
                    "bond_device",
                    account(OWNER),
                    0,
                    pool.call_mut().bond_device(d)
                )
                .unwrap(),
            Ok(())
        );
    }
    let rewards = s
        .rewards(registry, staking, 600, 10_000, vec![account(ORACLE)], 1)
        .unwrap();
    let mut r: RewardsRef = at(rewards);
    assert_eq!(
        s.chain
            .call("fund", account(AUTHORITY), 10_000, r.call_mut().fund())
            .unwrap(),
        Ok(())
    );
    (registry, staking, rewards, device, other)
}

fn tree(rows: &[([u8; 32], u64)]) -> MerkleTree {
    let leaves = rows
        .iter()
        .map(|(d, a)| reward_leaf::<InkSha256>(d, account(OWNER).as_ref(), *a))
        .collect();
    MerkleTree::new::<InkSha256>(leaves).unwrap()
}

fn finalize(s: &mut Suite, rewards: AccountId, epoch: u64, root: [u8; 32], total: u64) {
    let mut r: RewardsRef = at(rewards);
    s.chain.set_time(10_000 + (epoch + 1) * 600);
    let done = s
        .chain
        .call(
            "propose_root",
            account(ORACLE),
            0,
            r.call_mut().propose_root(epoch, root, total, [0; 32]),
        )
        .unwrap();
    assert_eq!(done, Ok(true));
}

#[test]
fn test_claim_superseded_root() {
    // Given epoch 0 gives `device` 500, then epoch 1 corrects it downwards to 300
    let mut s = suite();
    let (_, _, rewards, device, other) = wireless(&mut s);
    let (t0, t1) = (
        tree(&[(device, 500), (other, 300)]),
        tree(&[(device, 300), (other, 500)]),
    );
    finalize(&mut s, rewards, 0, t0.root(), 800);
    finalize(&mut s, rewards, 1, t1.root(), 800);
    let mut r: RewardsRef = at(rewards);
    let crank = account(OTHER);
    let before = s.chain.free_balance(account(OWNER));
    // When a claim proves against the superseded root, Then it is refused
    let old = r.call_mut().claim(device, 0, 500, t0.proof(0).unwrap());
    assert_eq!(
        s.chain.call("claim", crank, 0, old).unwrap(),
        Err(RewardsError::SupersededRoot)
    );
    // and the latest root pays the corrected amount, once
    let new = r.call_mut().claim(device, 1, 300, t1.proof(0).unwrap());
    assert_eq!(
        s.chain.call("claim", crank, 0, new.clone()).unwrap(),
        Ok(300)
    );
    let old = r.call_mut().claim(device, 0, 500, t0.proof(0).unwrap());
    assert_eq!(
        s.chain.call("claim", crank, 0, old).unwrap(),
        Err(RewardsError::SupersededRoot)
    );
    assert_eq!(s.chain.call("claim", crank, 0, new).unwrap(), Ok(0));
    // honest claims still fit the cap
    let honest = r.call_mut().claim(other, 1, 500, t1.proof(1).unwrap());
    assert_eq!(s.chain.call("claim", crank, 0, honest).unwrap(), Ok(500));
    assert_eq!(s.chain.free_balance(account(OWNER)), before + 800);
    assert_eq!(
        s.chain.call("totals", crank, 0, r.call().totals()).unwrap(),
        (800, Some(1), 800)
    );
}

/// A Storage network with OWNER's storage node and its market: the market and the node.
fn storage_market(s: &mut Suite) -> (AccountId, [u8; 32]) {
    let registry = s.registry(NetworkKind::Storage).unwrap();
    let node = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(8), 1)
        .unwrap();
    (s.storage(registry).unwrap(), node)
}

/// The terms hash of `client`'s deal `id`, which an acceptance names.
fn terms_hash(s: &mut Suite, market: AccountId, client: AccountId, id: u64) -> [u8; 32] {
    let m: StorageEscrowRef = at(market);
    s.chain
        .call(
            "deal_terms_hash",
            client,
            0,
            m.call().deal_terms_hash(client, id),
        )
        .unwrap()
        .unwrap()
}

#[test]
fn test_propose_deal_id_not_next_and_accept_deal_terms_mismatch() {
    let mut s = suite();
    let (market_at, node) = storage_market(&mut s);
    let mut market: StorageEscrowRef = at(market_at);
    let client = account(OTHER);
    let terms = |price| DealTerms {
        provider_device: node,
        piece_root: [0x11; 32],
        chunk_size: 64,
        num_chunks: 4,
        price_per_period: price,
        periods: 2,
        collateral: 3_000,
    };
    // Given deal 0 proposed and cancelled (its escrow back)
    let before = s.chain.free_balance(client);
    let since = s.chain.costs().len();
    assert_eq!(
        s.chain
            .call(
                "propose_deal",
                client,
                2_000,
                market.call_mut().propose_deal(0, terms(1_000))
            )
            .unwrap(),
        Ok(())
    );
    let old_hash = terms_hash(&mut s, market_at, client, 0);
    assert_eq!(
        s.chain
            .call("cancel_deal", client, 0, market.call_mut().cancel_deal(0))
            .unwrap(),
        Ok(())
    );
    let deposits = u128::try_from(s.chain.deposits_paid(client, since)).unwrap();
    assert_eq!(s.chain.free_balance(client), before - deposits);
    // When the key is proposed again or an id is skipped, Then both are refused
    for id in [0, 2] {
        let again = market.call_mut().propose_deal(id, terms(1));
        assert_eq!(
            s.chain.call("propose_deal", client, 2, again).unwrap(),
            Err(StorageError::DealIdNotNext)
        );
    }
    // and an acceptance of the old terms lands nowhere: not on the cancelled key, not on
    // the next deal's other terms
    assert_eq!(
        s.chain
            .call(
                "propose_deal",
                client,
                2,
                market.call_mut().propose_deal(1, terms(1))
            )
            .unwrap(),
        Ok(())
    );
    let provider = account(OWNER);
    let provider_before = s.chain.free_balance(provider);
    let accept = market.call_mut().accept_deal(client, 0, old_hash);
    assert_eq!(
        s.chain
            .call("accept_deal", provider, 3_000, accept)
            .unwrap(),
        Err(StorageError::DealNotFound)
    );
    let accept = market.call_mut().accept_deal(client, 1, old_hash);
    assert_eq!(
        s.chain
            .call("accept_deal", provider, 3_000, accept)
            .unwrap(),
        Err(StorageError::TermsMismatch)
    );
    assert_eq!(s.chain.free_balance(provider), provider_before);
    let new_hash = terms_hash(&mut s, market_at, client, 1);
    let accept = market.call_mut().accept_deal(client, 1, new_hash);
    assert_eq!(
        s.chain
            .call("accept_deal", provider, 3_000, accept)
            .unwrap(),
        Ok(())
    );
}

/// An energy market with one device each for OWNER (two) and OTHER, each a rooftop meter
/// (5 kW of panel, a 13.5 kWh battery: asks of up to 14,750 Wh in the market's 900 s
/// intervals). Returns the registry, the market and the devices.
fn energy(s: &mut Suite) -> (AccountId, AccountId, [[u8; 32]; 3]) {
    let registry = s.registry(NetworkKind::Energy).unwrap();
    let a = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(7), 3)
        .unwrap();
    let b = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(8), 3)
        .unwrap();
    let c = s
        .onboard(registry, account(OTHER), &DeviceSigner::new(6), 3)
        .unwrap();
    let market = s.energy(registry).unwrap();
    s.chain.set_time(80_000);
    (registry, market, [a, b, c])
}

#[test]
fn test_place_cancel_churn_never_fills_the_book() {
    let mut s = suite();
    let (_, market_at, [a, b, c]) = energy(&mut s);
    let mut m: EnergySettlementRef = at(market_at);
    let (owner, iv) = (account(OWNER), 100);
    // Given one device placing and cancelling an ask over and over, each placement
    // reusing the slot its predecessor freed
    for _ in 0..MAX_PLACEMENTS_PER_DEVICE {
        assert_eq!(
            s.chain
                .call(
                    "place_ask",
                    owner,
                    0,
                    m.call_mut().place_ask(iv, a, 100, 500)
                )
                .unwrap(),
            Ok(0)
        );
        assert_eq!(
            s.chain
                .call(
                    "cancel_order",
                    owner,
                    0,
                    m.call_mut().cancel_order(iv, Side::Ask, 0)
                )
                .unwrap(),
            Ok(0)
        );
    }
    // Then it stops at its own allowance, never at a full book
    let churn = m.call_mut().place_ask(iv, a, 100, 500);
    assert_eq!(
        s.chain.call("place_ask", owner, 0, churn).unwrap(),
        Err(EnergyError::TooManyPlacements)
    );
    let placed = s
        .chain
        .call(
            "placements",
            owner,
            0,
            m.call().placements(iv, a, Side::Ask),
        )
        .unwrap();
    assert_eq!(placed, MAX_PLACEMENTS_PER_DEVICE);
    let book = s
        .chain
        .call("interval", owner, 0, m.call().interval(iv))
        .unwrap()
        .unwrap();
    assert_eq!((book.asks.len(), book.asks_done), (1, 1));
    // and honest devices still find every slot, the cancelled one first
    assert_eq!(
        s.chain
            .call(
                "place_ask",
                owner,
                0,
                m.call_mut().place_ask(iv, b, 100, 500)
            )
            .unwrap(),
        Ok(0)
    );
    assert_eq!(
        s.chain
            .call(
                "place_ask",
                account(OTHER),
                0,
                m.call_mut().place_ask(iv, c, 100, 500)
            )
            .unwrap(),
        Ok(1)
    );
}

#[test]
fn test_place_bid_too_many_placements() {
    let mut s = suite();
    let (_, market_at, [_, _, c]) = energy(&mut s);
    let mut m: EnergySettlementRef = at(market_at);
    let (consumer, iv) = (account(OTHER), 100);
    let before = s.chain.free_balance(consumer);
    let since = s.chain.costs().len();
    for _ in 0..MAX_PLACEMENTS_PER_DEVICE {
        assert_eq!(
            s.chain
                .call(
                    "place_bid",
                    consumer,
                    80,
                    m.call_mut().place_bid(iv, c, 200, 400)
                )
                .unwrap(),
            Ok(0)
        );
        assert_eq!(
            s.chain
                .call(
                    "cancel_order",
                    consumer,
                    0,
                    m.call_mut().cancel_order(iv, Side::Bid, 0)
                )
                .unwrap(),
            Ok(80)
        );
    }
    let bid = m.call_mut().place_bid(iv, c, 200, 400);
    assert_eq!(
        s.chain.call("place_bid", consumer, 80, bid).unwrap(),
        Err(EnergyError::TooManyPlacements)
    );
    // every escrow came back, the refused one through the runtime's revert
    let deposits = u128::try_from(s.chain.deposits_paid(consumer, since)).unwrap();
    assert_eq!(s.chain.free_balance(consumer), before - deposits);
    assert_eq!(s.chain.free_balance(market_at), 1); // the existential deposit
                                                    // the allowance is per interval
    assert_eq!(
        s.chain
            .call(
                "place_bid",
                consumer,
                80,
                m.call_mut().place_bid(iv + 1, c, 200, 400)
            )
            .unwrap(),
        Ok(0)
    );
    assert_eq!(s.chain.free_balance(market_at), 1 + 80);
}

/// What a rooftop meter can deliver in one of the market's 900 s intervals: 1,250 Wh from
/// its 5 kW panel plus its full 13.5 kWh battery.
const ROOFTOP_CAPACITY: u64 = 14_750;

/// `place_ask` as `who`, with its answer.
fn ask(
    s: &mut Suite,
    market: AccountId,
    who: u8,
    device: [u8; 32],
    price: u64,
    wh: u64,
) -> Result<u8, EnergyError> {
    let mut m: EnergySettlementRef = at(market);
    let place = m.call_mut().place_ask(100, device, price, wh);
    s.chain.call("place_ask", account(who), 0, place).unwrap()
}

/// `settle_order(100, side, 0)` called by ORACLE (anyone may), with its answer.
fn settle(s: &mut Suite, market: AccountId, side: Side) -> Result<u64, EnergyError> {
    let mut m: EnergySettlementRef = at(market);
    let settle = m.call_mut().settle_order(100, side, 0);
    s.chain
        .call("settle_order", account(ORACLE), 0, settle)
        .unwrap()
}

/// `clear_interval(100)` called by ORACLE at 89,700 (the gate has closed), with its answer.
fn clear(s: &mut Suite, market: AccountId) -> Result<u64, EnergyError> {
    s.chain.set_time(89_700);
    let mut m: EnergySettlementRef = at(market);
    let clear = m.call_mut().clear_interval(100);
    s.chain
        .call("clear_interval", account(ORACLE), 0, clear)
        .unwrap()
}

/// The first `energy()` device's meter (signer 7) reports `produced_wh` and `consumed_wh`
/// for interval 100 (counter 1) at 90,900, after the interval; ORACLE relays it.
fn read(
    s: &mut Suite,
    market: AccountId,
    device: [u8; 32],
    produced_wh: u64,
    consumed_wh: u64,
) -> Result<(), EnergyError> {
    s.chain.set_time(90_900);
    let message = depin_core::meter::reading_message(
        market.as_ref(),
        &device,
        100,
        produced_wh,
        consumed_wh,
        1,
    );
    let signature = DeviceSigner::new(7).sign(&message);
    let mut m: EnergySettlementRef = at(market);
    let read = m
        .call_mut()
        .submit_reading(device, 100, produced_wh, consumed_wh, 1, signature);
    s.chain
        .call("submit_reading", account(ORACLE), 0, read)
        .unwrap()
}

/// Asks `device` placed in interval 100.
fn asks_placed(s: &mut Suite, market: AccountId, device: [u8; 32]) -> u8 {
    let m: EnergySettlementRef = at(market);
    let placed = m.call().placements(100, device, Side::Ask);
    s.chain
        .call("placements", account(OWNER), 0, placed)
        .unwrap()
}

#[test]
fn test_place_ask_above_capacity() {
    // Given rooftop meters, a battery-only and a panel-only meter, as their maker
    // registered them
    let mut s = suite();
    let (registry, market_at, [a, _, _]) = energy(&mut s);
    assert_eq!(
        depin_core::energy::ask_capacity_wh(
            ROOFTOP_METER.panel_watts,
            ROOFTOP_METER.battery_wh,
            900
        ),
        ROOFTOP_CAPACITY
    );
    let battery = Capabilities {
        battery_wh: 10_000,
        ..Capabilities::default()
    };
    let battery = s
        .onboard_with(registry, account(OWNER), &DeviceSigner::new(4), 3, battery)
        .unwrap();
    // 4,001 W over a quarter of an hour: 1,000.25 Wh, rounded down
    let panel = Capabilities {
        panel_watts: 4_001,
        ..Capabilities::default()
    };
    let panel = s
        .onboard_with(registry, account(OTHER), &DeviceSigner::new(3), 3, panel)
        .unwrap();
    // When each offers one Wh more than it can deliver, Then the ask is refused (reverted:
    // no book, no placement counted)
    for (who, device, capacity) in [
        (OWNER, a, ROOFTOP_CAPACITY),
        (OWNER, battery, 10_000),
        (OTHER, panel, 1_000),
    ] {
        assert_eq!(
            ask(&mut s, market_at, who, device, 100, capacity + 1),
            Err(EnergyError::AskAboveCapacity)
        );
        assert_eq!(asks_placed(&mut s, market_at, device), 0);
    }
    let m: EnergySettlementRef = at(market_at);
    let book = s
        .chain
        .call("interval", account(OWNER), 0, m.call().interval(100))
        .unwrap();
    assert!(book.is_none());
    // and exactly its capacity is accepted, as its first placement
    for (slot, (who, device, capacity)) in [
        (OWNER, a, ROOFTOP_CAPACITY),
        (OWNER, battery, 10_000),
        (OTHER, panel, 1_000),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            ask(&mut s, market_at, who, device, 100, capacity),
            Ok(u8::try_from(slot).unwrap())
        );
        assert_eq!(asks_placed(&mut s, market_at, device), 1);
    }
    let book = s
        .chain
        .call("interval", account(OWNER), 0, m.call().interval(100))
        .unwrap()
        .unwrap();
    let offered: Vec<u64> = book.asks.iter().map(|a| a.wh).collect();
    assert_eq!(offered, [ROOFTOP_CAPACITY, 10_000, 1_000]);
}

#[test]
fn test_a_meter_without_capacity_cannot_outbid_honest_producers() {
    // Given an honest rooftop producer, a consumer's meter and a griefer's meter, the last
    // two with no panel and no battery
    let mut s = suite();
    let (registry, market_at, [panel, _, _]) = energy(&mut s);
    let none = Capabilities::default();
    let home = s
        .onboard_with(registry, account(OTHER), &DeviceSigner::new(4), 3, none)
        .unwrap();
    let empty = s
        .onboard_with(registry, account(GRIEFER), &DeviceSigner::new(3), 3, none)
        .unwrap();
    let mut m: EnergySettlementRef = at(market_at);
    // When the griefer offers the most any order may at the price floor, Then it is refused
    let floor = depin_ink_e2e::suite::energy_params().price_floor;
    assert_eq!(
        ask(
            &mut s,
            market_at,
            GRIEFER,
            empty,
            floor,
            depin_core::energy::MAX_ORDER_WH
        ),
        Err(EnergyError::AskAboveCapacity)
    );
    assert_eq!(asks_placed(&mut s, market_at, empty), 0);
    // and the consumer's meter cannot ask even one Wh, but bids: escrow
    // ceil(180 * 1_500 / 1_000) = 270
    assert_eq!(
        ask(&mut s, market_at, OTHER, home, 100, 1),
        Err(EnergyError::AskAboveCapacity)
    );
    let bid = m.call_mut().place_bid(100, home, 180, 1_500);
    assert_eq!(
        s.chain.call("place_bid", account(OTHER), 270, bid).unwrap(),
        Ok(0)
    );
    // Then the honest producer's ask is the book's only one and matches the bid
    assert_eq!(ask(&mut s, market_at, OWNER, panel, 120, 2_000), Ok(0));
    assert_eq!(clear(&mut s, market_at), Ok(150));
    let book = s
        .chain
        .call("interval", account(ORACLE), 0, m.call().interval(100))
        .unwrap()
        .unwrap();
    assert_eq!(book.volume_wh, 1_500);
    assert_eq!(book.asks.len(), 1);
    assert_eq!(
        (book.asks[0].device, book.asks[0].matched_wh),
        (panel, 1_500)
    );
    // and, its meter reporting 1,200 Wh, it is paid for them: 180 at 150, 177 net of the
    // 2% grid fee; the consumer pays 180 and gets 90 of its escrow back
    assert_eq!(read(&mut s, market_at, panel, 1_200, 40), Ok(()));
    let (producer, consumer, treasury) = (
        s.chain.free_balance(account(OWNER)),
        s.chain.free_balance(account(OTHER)),
        s.chain.free_balance(account(TREASURY)),
    );
    for (side, paid) in [(Side::Ask, 177), (Side::Bid, 90)] {
        assert_eq!(settle(&mut s, market_at, side), Ok(paid));
    }
    assert_eq!(s.chain.free_balance(account(OWNER)), producer + 177);
    assert_eq!(s.chain.free_balance(account(OTHER)), consumer + 90);
    assert_eq!(s.chain.free_balance(account(TREASURY)), treasury + 3);
    assert_eq!(s.chain.free_balance(market_at), 1); // the existential deposit
    let book = s
        .chain
        .call("interval", account(ORACLE), 0, m.call().interval(100))
        .unwrap()
        .unwrap();
    assert_eq!(book.state, IntervalState::Settled);
    assert_eq!(book.asks[0].delivered_wh, 1_200);
}

/// The existential deposit of the chain of
/// `test_settle_order_an_unpayable_producer_freezes_no_escrow`: above the producer's
/// payout, so the payout cannot create the producer's account once it is reaped.
const LARGE_EXISTENTIAL_DEPOSIT: u128 = 1_000;

/// What the market owes `who`.
fn owed(s: &mut Suite, market: AccountId, who: u8) -> u64 {
    let m: EnergySettlementRef = at(market);
    s.chain
        .call("owed", account(ORACLE), 0, m.call().owed(account(who)))
        .unwrap()
}

/// `withdraw_owed` called by `who`, with its answer.
fn withdraw(s: &mut Suite, market: AccountId, who: u8) -> Result<u64, EnergyError> {
    let mut m: EnergySettlementRef = at(market);
    let withdraw = m.call_mut().withdraw_owed();
    s.chain
        .call("withdraw_owed", account(who), 0, withdraw)
        .unwrap()
}

#[test]
fn test_settle_order_an_unpayable_producer_freezes_no_escrow() {
    // Given a chain whose existential deposit is above the producer's payout, a producer
    // (OWNER) whose ask of 500 Wh at 100 meets a bid of 400 Wh up to 200 (escrow 80)
    depin_ink_e2e::runtime::set_existential_deposit(LARGE_EXISTENTIAL_DEPOSIT);
    let mut s = suite();
    let (_, market_at, [panel, _, home]) = energy(&mut s);
    let mut m: EnergySettlementRef = at(market_at);
    assert_eq!(ask(&mut s, market_at, OWNER, panel, 100, 500), Ok(0));
    let bid = m.call_mut().place_bid(100, home, 200, 400);
    assert_eq!(
        s.chain.call("place_bid", account(OTHER), 80, bid).unwrap(),
        Ok(0)
    );
    assert_eq!(clear(&mut s, market_at), Ok(150));
    // and its honest reading of 400 Wh submitted
    assert_eq!(read(&mut s, market_at, panel, 400, 0), Ok(()));
    // When the producer empties its account and it is reaped
    s.chain
        .empty_into(account(OWNER), account(AUTHORITY))
        .unwrap();
    assert!(!s.chain.exists(account(OWNER)));
    let (consumer, treasury) = (
        s.chain.free_balance(account(OTHER)),
        s.chain.free_balance(account(TREASURY)),
    );
    // Then its payout (400 Wh at 150: 60, 59 net of the 2% grid fee) cannot be pushed, but
    // the ask settles and the 59 are owed to it; the treasury still gets its fee
    assert_eq!(settle(&mut s, market_at, Side::Ask), Ok(59));
    assert!(!s.chain.exists(account(OWNER)));
    assert_eq!(owed(&mut s, market_at, OWNER), 59);
    assert_eq!(s.chain.free_balance(account(TREASURY)), treasury + 1);
    // and the bid settles (charged 60, 20 back) and the interval closes
    assert_eq!(settle(&mut s, market_at, Side::Bid), Ok(20));
    assert_eq!(s.chain.free_balance(account(OTHER)), consumer + 20);
    let close = m.call_mut().close_interval(100);
    assert_eq!(
        s.chain
            .call("close_interval", account(ORACLE), 0, close)
            .unwrap(),
        Ok(())
    );
    // While its account does not exist, its withdrawal fails and changes nothing
    assert_eq!(
        withdraw(&mut s, market_at, OWNER),
        Err(EnergyError::TransferFailed)
    );
    assert_eq!(owed(&mut s, market_at, OWNER), 59);
    // Once it exists again, it withdraws exactly the 59, once
    s.chain
        .endow(account(OWNER), LARGE_EXISTENTIAL_DEPOSIT)
        .unwrap();
    let since = s.chain.costs().len();
    assert_eq!(withdraw(&mut s, market_at, OWNER), Ok(59));
    let refunded = u128::try_from(-s.chain.deposits_paid(account(OWNER), since)).unwrap();
    assert_eq!(
        s.chain.free_balance(account(OWNER)) - refunded,
        LARGE_EXISTENTIAL_DEPOSIT + 59
    );
    assert_eq!(owed(&mut s, market_at, OWNER), 0);
    assert_eq!(
        withdraw(&mut s, market_at, OWNER),
        Err(EnergyError::NothingOwed)
    );
    // and the market keeps nothing but its existential deposit
    assert_eq!(s.chain.free_balance(market_at), LARGE_EXISTENTIAL_DEPOSIT);
}

/// A client that empties its account and lets it be reaped cannot lock its provider's
/// collateral: on a chain whose existential deposit is above a fault's refund, the refund
/// cannot be pushed to the reaped client, so every `report_fault` failed, the faulted
/// periods stayed unresolved and `complete_deal` answered `DealNotFinished` for ever. Now
/// the refund is owed to the client and the deal runs its course.
#[test]
fn test_report_fault_a_reaped_client_locks_no_collateral() {
    // Given a chain whose existential deposit (1,000) is above a fault's refund, and a deal
    // of two 100 s periods at 10 a period with 5,000 of collateral (a tenth slashed to the
    // client per fault, two faults in a row terminate it)
    depin_ink_e2e::runtime::set_existential_deposit(LARGE_EXISTENTIAL_DEPOSIT);
    let mut s = suite();
    s.chain.set_time(10_000);
    let (market_at, node) = storage_market(&mut s);
    let mut market: StorageEscrowRef = at(market_at);
    let (client, provider) = (account(OTHER), account(OWNER));
    let terms = DealTerms {
        provider_device: node,
        piece_root: [0x11; 32],
        chunk_size: 64,
        num_chunks: 4,
        price_per_period: 10,
        periods: 2,
        collateral: 5_000,
    };
    let propose = market.call_mut().propose_deal(0, terms);
    assert_eq!(
        s.chain.call("propose_deal", client, 20, propose).unwrap(),
        Ok(())
    );
    let hash = terms_hash(&mut s, market_at, client, 0);
    let accept = market.call_mut().accept_deal(client, 0, hash);
    assert_eq!(
        s.chain
            .call("accept_deal", provider, 5_000, accept)
            .unwrap(),
        Ok(())
    );
    // When the client empties its account and it is reaped, and the provider proves nothing
    s.chain.empty_into(client, account(AUTHORITY)).unwrap();
    assert!(!s.chain.exists(client));
    let owed = |s: &mut Suite| {
        let m: StorageEscrowRef = at(market_at);
        s.chain
            .call("owed", account(ORACLE), 0, m.call().owed(client))
            .unwrap()
    };
    // Then each fault is reported all the same, its refund owed to the client: 10 and 500
    // slashed, then 10 and 450 (and the deal terminates, the rest of the collateral to the
    // treasury)
    s.chain.set_time(10_100);
    let fault = market.call_mut().report_fault(client, 0, 0);
    assert_eq!(
        s.chain
            .call("report_fault", account(ORACLE), 0, fault)
            .unwrap(),
        Ok(false)
    );
    assert_eq!(owed(&mut s), 510);
    let treasury = s.chain.free_balance(account(TREASURY));
    s.chain.set_time(10_200);
    let fault = market.call_mut().report_fault(client, 0, 1);
    assert_eq!(
        s.chain
            .call("report_fault", account(ORACLE), 0, fault)
            .unwrap(),
        Ok(true)
    );
    assert_eq!(owed(&mut s), 970);
    assert_eq!(s.chain.free_balance(account(TREASURY)), treasury + 4_050);
    assert!(!s.chain.exists(client));
    // and the deal completes and leaves storage
    let complete = market.call_mut().complete_deal(client, 0);
    assert_eq!(
        s.chain
            .call("complete_deal", account(ORACLE), 0, complete)
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        s.chain
            .call(
                "get_deal",
                account(ORACLE),
                0,
                market.call().get_deal(client, 0)
            )
            .unwrap(),
        None
    );
    // Once the client's account exists again, it withdraws exactly what it is owed, once
    s.chain.endow(client, LARGE_EXISTENTIAL_DEPOSIT).unwrap();
    let withdraw = market.call_mut().withdraw_owed();
    assert_eq!(
        s.chain.call("withdraw_owed", client, 0, withdraw).unwrap(),
        Ok(970)
    );
    assert_eq!(owed(&mut s), 0);
    let withdraw = market.call_mut().withdraw_owed();
    assert_eq!(
        s.chain.call("withdraw_owed", client, 0, withdraw).unwrap(),
        Err(StorageError::NothingOwed)
    );
}

#[test]
fn test_update_pool_invalid_cooldown_cannot_brick_unstaking() {
    let mut s = suite();
    s.chain.set_time(10_000);
    let registry = s.registry(NetworkKind::Wireless).unwrap();
    let staking = s.staking(registry, 500, 3_600).unwrap();
    let mut pool: StakingRef = at(staking);
    let owner = account(OWNER);
    assert_eq!(
        s.chain
            .call("stake", owner, 300, pool.call_mut().stake())
            .unwrap(),
        Ok(300)
    );
    for cooldown in [u64::MAX, MAX_COOLDOWN_SECS + 1] {
        let update = pool
            .call_mut()
            .update_pool(Some(1), Some(cooldown), Some(account(OTHER)));
        assert_eq!(
            s.chain
                .call("update_pool", account(AUTHORITY), 0, update)
                .unwrap(),
            Err(StakingError::InvalidCooldown)
        );
    }
    let settings = s
        .chain
        .call("settings", owner, 0, pool.call().settings())
        .unwrap();
    assert_eq!(settings, (registry, 500, 3_600, account(AUTHORITY)));
    let update = pool
        .call_mut()
        .update_pool(None, Some(MAX_COOLDOWN_SECS), None);
    assert_eq!(
        s.chain
            .call("update_pool", account(AUTHORITY), 0, update)
            .unwrap(),
        Ok(())
    );
    let unlock = s
        .chain
        .call(
            "request_unstake",
            owner,
            0,
            pool.call_mut().request_unstake(300),
        )
        .unwrap();
    assert_eq!(unlock, Ok(10_000 + MAX_COOLDOWN_SECS as i64));
    s.chain.set_time(10_000 + MAX_COOLDOWN_SECS);
    let before = s.chain.free_balance(owner);
    assert_eq!(
        s.chain
            .call("withdraw", owner, 0, pool.call_mut().withdraw())
            .unwrap(),
        Ok(300)
    );
    let refund = u128::try_from(-s.chain.costs().last().unwrap().storage_deposit).unwrap();
    assert_eq!(s.chain.free_balance(owner), before + 300 + refund);
}

#[test]
fn test_three_onboarding_parties_are_three_keys() {
    let mut s = suite();
    let registry = s.registry(NetworkKind::Wireless).unwrap();
    let mut r: DeviceRegistryRef = at(registry);
    let authority = account(AUTHORITY);
    let signer = DeviceSigner::new(9);
    let key_owner = key_account(&signer.key());
    s.chain.endow(key_owner, 1_000_000_000).unwrap();
    // a maker whose account is the device key's cannot issue it
    let register = r.call_mut().register_maker(key_owner, "self".into(), 10);
    assert_eq!(
        s.chain
            .call("register_maker", authority, 0, register)
            .unwrap(),
        Ok(())
    );
    let approve = r.call_mut().set_maker_approval(key_owner, true, 10);
    assert_eq!(
        s.chain
            .call("set_maker_approval", authority, 0, approve)
            .unwrap(),
        Ok(())
    );
    let consent = signer.sign(&issue_message(&registry, &signer.key(), &key_owner));
    let issue = r
        .call_mut()
        .issue_device(signer.key(), 1, Capabilities::default(), consent);
    assert_eq!(
        s.chain.call("issue_device", key_owner, 0, issue).unwrap(),
        Err(RegistryError::DeviceKeyIsMakerKey)
    );
    // an owner whose account is the device key's cannot onboard it (fee reverted)
    let device = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(8), 1)
        .unwrap();
    let consent = signer.sign(&issue_message(&registry, &signer.key(), &account(MAKER)));
    let issue = r
        .call_mut()
        .issue_device(signer.key(), 1, Capabilities::default(), consent);
    let issued = s.chain.call("issue_device", account(MAKER), 0, issue);
    assert!(issued.unwrap().is_ok());
    let proof = signer.sign(&onboard_message(&registry, &signer.key(), &key_owner));
    let before = s.chain.free_balance(key_owner);
    let onboard = r.call_mut().onboard_device(signer.key(), Some(CELL), proof);
    let fee = u128::from(ONBOARDING_FEE);
    assert_eq!(
        s.chain
            .call("onboard_device", key_owner, fee, onboard)
            .unwrap(),
        Err(RegistryError::DeviceKeyIsOwner)
    );
    assert_eq!(s.chain.free_balance(key_owner), before);
    // and no device is transferred to its own key's account
    let key_of_device = key_account(&DeviceSigner::new(8).key());
    let transfer = r.call_mut().transfer_device(device, key_of_device);
    assert_eq!(
        s.chain
            .call("transfer_device", account(OWNER), 0, transfer)
            .unwrap(),
        Err(RegistryError::DeviceKeyIsOwner)
    );
    let info = s
        .chain
        .call(
            "device_info",
            account(OWNER),
            0,
            r.call().device_info(device),
        )
        .unwrap()
        .unwrap();
    assert_eq!(info.owner, account(OWNER));
}

#[test]
fn a_device_suspended_by_the_auditor_neither_claims_nor_bonds() {
    // Given a finalized epoch owing a bonded hotspot 1,234
    let mut s = suite();
    let (registry, staking, rewards, device, other) = wireless(&mut s);
    let t = tree(&[(device, 1_234), (other, 0)]);
    finalize(&mut s, rewards, 0, t.root(), 1_234);
    let mut reg: DeviceRegistryRef = at(registry);
    let mut r: RewardsRef = at(rewards);
    let mut pool: StakingRef = at(staking);
    let (authority, owner) = (account(AUTHORITY), account(OWNER));
    let set = reg.call_mut().set_auditor(Some(account(AUDITOR)));
    assert_eq!(
        s.chain.call("set_auditor", authority, 0, set).unwrap(),
        Ok(())
    );
    // When the auditor suspends it
    let audit = reg
        .call_mut()
        .audit_device(device, DeviceStatus::Suspended, [0xE5; 32]);
    assert_eq!(
        s.chain
            .call("audit_device", account(AUDITOR), 0, audit)
            .unwrap(),
        Ok(())
    );
    // Then it can neither claim nor be bonded again
    let claim = r.call_mut().claim(device, 0, 1_234, t.proof(0).unwrap());
    assert_eq!(
        s.chain
            .call("claim", account(OTHER), 0, claim.clone())
            .unwrap(),
        Err(RewardsError::DeviceNotActive)
    );
    assert_eq!(
        s.chain
            .call(
                "unbond_device",
                owner,
                0,
                pool.call_mut().unbond_device(device)
            )
            .unwrap(),
        Ok(())
    );
    let bond = s
        .chain
        .call("bond_device", owner, 0, pool.call_mut().bond_device(device))
        .unwrap();
    assert_eq!(bond, Err(StakingError::DeviceNotActive));
    // and once the authority reverses the suspension it is bonded and paid again
    let reverse = reg
        .call_mut()
        .set_device_status(device, DeviceStatus::Active);
    assert_eq!(
        s.chain
            .call("set_device_status", authority, 0, reverse)
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        s.chain
            .call("bond_device", owner, 0, pool.call_mut().bond_device(device))
            .unwrap(),
        Ok(())
    );
    let before = s.chain.free_balance(owner);
    assert_eq!(
        s.chain.call("claim", account(OTHER), 0, claim).unwrap(),
        Ok(1_234)
    );
    assert_eq!(s.chain.free_balance(owner), before + 1_234);
}
