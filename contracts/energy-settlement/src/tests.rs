//! Off-chain tests: one happy path per message and one test per reachable error,
//! mirroring `tests/tests/energy.rs` of the Solana suite. The registry is a real instance
//! in the same engine, read through the bridge; readings are signed with real secp256k1
//! device keys and checked by the host's `ecdsa_recover`.

use crate::energy_settlement::{
    EnergySettlement, Error, IntervalCleared, IntervalClosed, IntervalSettled, IntervalState,
    MarketParams, OrderCancelled, OrderPlaced, OrderSettled, OrderStatus, OwedWithdrawn,
    PayoutOwed, ReadingSubmitted, Side,
};
use depin_core::energy::{self, MAX_PLACEMENTS_PER_DEVICE};
use depin_core::epoch::MAX_DURATION_SECS;
use depin_ink_shared::testing::{
    account, as_contract, balance_of, call, event_count, last_event, set_time, DeviceSigner,
    ROOFTOP_METER,
};
use depin_ink_shared::{Capabilities, DeviceId, DeviceStatus, NetworkKind, Signature};
use device_registry::device_registry::DeviceRegistry;
use ink::env::DefaultEnvironment as E;
use std::cell::{RefCell, RefMut};
use std::rc::Rc;

const REGISTRY: u8 = 0xA0;
const MARKET: u8 = 0xE0;
const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const PRODUCER: u8 = 4;
const CONSUMER: u8 = 5;
const OTHER: u8 = 6;
/// Interval 100 covers [90_000, 90_900); its gate closes at 89_700 and its readings are
/// due by 91_500.
const IV: u64 = 100;
const BEFORE_GATE: u64 = 80_000;
const GATE: u64 = 89_700;
const END: u64 = 90_900;
const DEADLINE: u64 = 91_500;
const PARAMS: MarketParams = MarketParams {
    interval_secs: 900,
    gate_closure_secs: 300,
    settlement_delay_secs: 600,
    max_orders_per_interval: 2,
    grid_fee_bps: 1_000,
    price_floor: 1,
    price_cap: 1_000,
};

struct Market {
    registry: Rc<RefCell<DeviceRegistry>>,
    market: Rc<RefCell<EnergySettlement>>,
    producer: DeviceId,
    consumer: DeviceId,
    meter: DeviceSigner,
}

fn network(kind: NetworkKind) -> Rc<RefCell<DeviceRegistry>> {
    depin_ink_shared::bridge::reset();
    for who in [AUTHORITY, MAKER, PRODUCER, CONSUMER, OTHER] {
        ink::env::test::set_account_balance::<E>(account(who), 1_000_000);
    }
    // The market's account gets a balance when value first reaches it: until then its
    // transfers fail, the one way the off-chain engine fails a payout
    // (`test_settle_order_a_failed_payout_is_owed_and_withdrawn`).
    ink::env::test::set_account_balance::<E>(account(TREASURY), 0);
    set_time(BEFORE_GATE);
    device_registry::live::deploy(
        account(REGISTRY),
        account(AUTHORITY),
        kind,
        account(TREASURY),
        0,
        0,
    )
}

impl Market {
    fn new() -> Self {
        Self::with(PARAMS)
    }

    fn with(params: MarketParams) -> Self {
        let registry = network(NetworkKind::Energy);
        let onboard = |owner, seed| {
            device_registry::live::onboard(
                &registry,
                account(REGISTRY),
                account(MAKER),
                account(owner),
                &DeviceSigner::new(seed),
                2,
            )
        };
        let (producer, consumer) = (onboard(PRODUCER, 9), onboard(CONSUMER, 7));
        call(account(MARKET), account(AUTHORITY), 0);
        let market = EnergySettlement::new(account(REGISTRY), params).unwrap();
        Market {
            registry,
            market: Rc::new(RefCell::new(market)),
            producer,
            consumer,
            meter: DeviceSigner::new(9),
        }
    }

    fn by(&self, who: u8, value: u64) -> RefMut<'_, EnergySettlement> {
        call(account(MARKET), account(who), u128::from(value));
        self.market.borrow_mut()
    }

    fn pause(&self, paused: bool) {
        call(account(REGISTRY), account(AUTHORITY), 0);
        self.registry
            .borrow_mut()
            .update_network(None, None, Some(paused), None)
            .unwrap();
    }

    /// Producer asks 500 Wh at 100, consumer bids 400 Wh up to 200 (escrow 80).
    fn book(&self) {
        self.by(PRODUCER, 0)
            .place_ask(IV, self.producer, 100, 500)
            .unwrap();
        self.by(CONSUMER, 80)
            .place_bid(IV, self.consumer, 200, 400)
            .unwrap();
    }

    /// The producer's meter signs a reading.
    fn signed(&self, produced: u64, consumed: u64, counter: u64) -> Signature {
        let message = depin_core::meter::reading_message(
            account(MARKET).as_ref(),
            &self.producer,
            IV,
            produced,
            consumed,
            counter,
        );
        self.meter.sign(&message)
    }

    fn submit(&self, produced: u64, counter: u64, signature: Signature) -> Result<(), Error> {
        self.by(OTHER, 0)
            .submit_reading(self.producer, IV, produced, 0, counter, signature)
    }

    fn interval(&self) -> crate::energy_settlement::Interval {
        self.book_if_any().expect("the interval's book")
    }

    /// Another device of `owner`, onboarded with the key of `seed`.
    fn device(&self, owner: u8, seed: u8) -> DeviceId {
        device_registry::live::onboard(
            &self.registry,
            account(REGISTRY),
            account(MAKER),
            account(owner),
            &DeviceSigner::new(seed),
            2,
        )
    }

    /// Another device of `owner`, onboarded with the key of `seed` and the capabilities
    /// its maker registers for it.
    fn device_with(&self, owner: u8, seed: u8, capabilities: Capabilities) -> DeviceId {
        device_registry::live::onboard_with(
            &self.registry,
            account(REGISTRY),
            account(MAKER),
            account(owner),
            &DeviceSigner::new(seed),
            2,
            capabilities,
        )
    }

    /// The interval's book, `None` while nothing was ever placed in it.
    fn book_if_any(&self) -> Option<crate::energy_settlement::Interval> {
        as_contract(account(MARKET), || self.market.borrow().interval(IV))
    }

    fn placements(&self, device: DeviceId, side: Side) -> u8 {
        as_contract(account(MARKET), || {
            self.market.borrow().placements(IV, device, side)
        })
    }
}

#[ink::test]
fn test_initialize_energy_market_ok() {
    let m = Market::new();
    assert_eq!(
        as_contract(account(MARKET), || m.market.borrow().params()),
        PARAMS
    );
}

#[ink::test]
fn test_initialize_energy_market_errors() {
    let m = Market::new();
    call(account(0xE1), account(OTHER), 0);
    assert_eq!(
        EnergySettlement::new(account(REGISTRY), PARAMS).err(),
        Some(Error::NotNetworkAuthority)
    );
    call(account(0xE1), account(AUTHORITY), 0);
    for bad in [
        MarketParams {
            interval_secs: 0,
            ..PARAMS
        },
        MarketParams {
            max_orders_per_interval: 0,
            ..PARAMS
        },
        MarketParams {
            max_orders_per_interval: 33,
            ..PARAMS
        },
        MarketParams {
            grid_fee_bps: 10_001,
            ..PARAMS
        },
        MarketParams {
            price_floor: 1_001,
            ..PARAMS
        },
        // free bids of any size would overflow the clearing volume
        MarketParams {
            price_floor: 0,
            ..PARAMS
        },
    ] {
        assert_eq!(
            EnergySettlement::new(account(REGISTRY), bad).err(),
            Some(Error::InvalidMarketParams)
        );
    }
    m.pause(true);
    call(account(0xE1), account(AUTHORITY), 0);
    assert_eq!(
        EnergySettlement::new(account(REGISTRY), PARAMS).err(),
        Some(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_initialize_energy_market_not_energy_network() {
    let _registry = network(NetworkKind::Storage);
    call(account(0xE1), account(AUTHORITY), 0);
    assert_eq!(
        EnergySettlement::new(account(REGISTRY), PARAMS).err(),
        Some(Error::NotEnergyNetwork)
    );
}

#[ink::test]
fn test_place_ask_ok() {
    let m = Market::new();
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500), Ok(0));
    let e: OrderPlaced = last_event();
    assert_eq!(
        (e.side, e.slot, e.price, e.wh, e.escrow),
        (Side::Ask, 0, 100, 500, 0)
    );
    let book = m.interval();
    assert_eq!((book.asks.len(), book.state), (1, IntervalState::Open));
}

#[ink::test]
fn test_place_ask_errors() {
    let m = Market::new();
    let ask = |who, device, price, wh| m.by(who, 0).place_ask(IV, device, price, wh);
    assert_eq!(ask(PRODUCER, [1; 32], 100, 1), Err(Error::DeviceNotFound));
    assert_eq!(ask(OTHER, m.producer, 100, 1), Err(Error::NotDeviceOwner));
    assert_eq!(
        ask(PRODUCER, m.producer, 0, 1),
        Err(Error::PriceOutOfBounds)
    );
    assert_eq!(
        ask(PRODUCER, m.producer, 1_001, 1),
        Err(Error::PriceOutOfBounds)
    );
    assert_eq!(ask(PRODUCER, m.producer, 100, 0), Err(Error::ZeroVolume));
    assert_eq!(
        ask(PRODUCER, m.producer, 100, energy::MAX_ORDER_WH + 1),
        Err(Error::OrderTooLarge)
    );
    ask(PRODUCER, m.producer, 100, 1).unwrap();
    assert_eq!(
        ask(PRODUCER, m.producer, 100, 1),
        Err(Error::DuplicateOrder)
    );
    let second = device_registry::live::onboard(
        &m.registry,
        account(REGISTRY),
        account(MAKER),
        account(PRODUCER),
        &DeviceSigner::new(8),
        2,
    );
    let third = device_registry::live::onboard(
        &m.registry,
        account(REGISTRY),
        account(MAKER),
        account(PRODUCER),
        &DeviceSigner::new(6),
        2,
    );
    ask(PRODUCER, second, 100, 1).unwrap();
    assert_eq!(ask(PRODUCER, third, 100, 1), Err(Error::BookFull));
    call(account(REGISTRY), account(AUTHORITY), 0);
    m.registry
        .borrow_mut()
        .set_device_status(third, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(ask(PRODUCER, third, 100, 1), Err(Error::DeviceNotActive));
    set_time(GATE);
    assert_eq!(ask(PRODUCER, m.producer, 100, 1), Err(Error::GateClosed));
    m.pause(true);
    assert_eq!(ask(PRODUCER, m.producer, 100, 1), Err(Error::NetworkPaused));
}

#[ink::test]
fn test_place_bid_ok_escrows() {
    let m = Market::new();
    let before = balance_of(account(CONSUMER));
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Ok(0)
    );
    let e: OrderPlaced = last_event();
    assert_eq!((e.side, e.escrow), (Side::Bid, 80));
    assert_eq!(balance_of(account(CONSUMER)), before - 80);
    assert_eq!(balance_of(account(MARKET)), 80);
    assert_eq!(m.interval().escrow_total, 80);
}

#[ink::test]
fn test_place_bid_errors() {
    let m = Market::new();
    // ceil(201 * 399 / 1000) = 81
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 201, 399),
        Err(Error::WrongPayment)
    );
    assert_eq!(
        m.by(OTHER, 80).place_bid(IV, m.consumer, 200, 400),
        Err(Error::NotDeviceOwner)
    );
    assert_eq!(
        m.by(CONSUMER, 80)
            .place_bid(IV, m.consumer, 200, energy::MAX_ORDER_WH + 1),
        Err(Error::OrderTooLarge)
    );
    m.by(CONSUMER, 80)
        .place_bid(IV, m.consumer, 200, 400)
        .unwrap();
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Err(Error::DuplicateOrder)
    );
    set_time(GATE);
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Err(Error::GateClosed)
    );
    // the refused calls' value is returned by the host's revert (not modelled off
    // chain); the book holds only the one bid's escrow
    let book = m.interval();
    assert_eq!((book.bids.len(), book.escrow_total), (1, 80));
}

#[ink::test]
fn test_cancel_order_ok_refunds_bid() {
    let m = Market::new();
    m.book();
    let before = balance_of(account(CONSUMER));
    m.pause(true); // a refund of the caller's own funds: allowed while paused
    assert_eq!(m.by(CONSUMER, 0).cancel_order(IV, Side::Bid, 0), Ok(80));
    let e: OrderCancelled = last_event();
    assert_eq!((e.side, e.refunded), (Side::Bid, 80));
    assert_eq!(m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0), Ok(0));
    assert_eq!(balance_of(account(CONSUMER)), before + 80);
    assert_eq!(balance_of(account(MARKET)), 0);
    let book = m.interval();
    assert_eq!(
        (book.asks_done, book.bids_done, book.escrow_total),
        (1, 1, 0)
    );
    assert_eq!(book.bids[0].status, OrderStatus::Cancelled);
}

#[ink::test]
fn test_cancel_order_errors() {
    let m = Market::new();
    assert_eq!(
        m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0),
        Err(Error::NoSuchOrder)
    );
    m.book();
    assert_eq!(
        m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 1),
        Err(Error::NoSuchOrder)
    );
    assert_eq!(
        m.by(OTHER, 0).cancel_order(IV, Side::Bid, 0),
        Err(Error::NotOrderOwner)
    );
    m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    assert_eq!(
        m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0),
        Err(Error::OrderNotOpen)
    );
    set_time(GATE);
    assert_eq!(
        m.by(CONSUMER, 0).cancel_order(IV, Side::Bid, 0),
        Err(Error::GateClosed)
    );
}

#[ink::test]
fn test_submit_reading_ok() {
    let m = Market::new();
    set_time(END);
    m.submit(300, 1, m.signed(300, 0, 1)).unwrap();
    let e: ReadingSubmitted = last_event();
    assert_eq!(
        (e.device, e.interval, e.produced_wh, e.counter),
        (m.producer, IV, 300, 1)
    );
    let reading = as_contract(account(MARKET), || {
        m.market.borrow().reading(m.producer, IV)
    })
    .unwrap();
    assert_eq!(
        (reading.produced_wh, reading.counter, reading.submitted_at),
        (300, 1, END as i64)
    );
    let meter = as_contract(account(MARKET), || m.market.borrow().meter(m.producer)).unwrap();
    assert_eq!((meter.last_counter, meter.readings), (1, 1));
}

#[ink::test]
fn test_submit_reading_signature_errors() {
    let m = Market::new();
    set_time(END);
    // signed for another amount
    assert_eq!(
        m.submit(301, 1, m.signed(300, 0, 1)),
        Err(Error::InvalidSignature)
    );
    // signed by another key
    let message =
        depin_core::meter::reading_message(account(MARKET).as_ref(), &m.producer, IV, 300, 0, 1);
    let forged = DeviceSigner::new(7).sign(&message);
    assert_eq!(m.submit(300, 1, forged), Err(Error::InvalidSignature));
    let mut malformed = m.signed(300, 0, 1);
    malformed[64] = 5;
    assert_eq!(m.submit(300, 1, malformed), Err(Error::InvalidSignature));
    assert!(as_contract(account(MARKET), || m.market.borrow().meter(m.producer)).is_none());
}

/// A registry can have several markets, each with its own meter counters: a reading signed
/// for one is refused by another (a producer would otherwise be paid twice for the same
/// energy), and one signed for the other is accepted there.
#[ink::test]
fn test_submit_reading_signed_for_another_market_is_refused() {
    const SECOND: u8 = 0xE1;
    let m = Market::new();
    call(account(SECOND), account(AUTHORITY), 0);
    let mut second = EnergySettlement::new(account(REGISTRY), PARAMS).unwrap();
    set_time(END);
    let for_first = m.signed(300, 0, 1);
    assert_eq!(m.submit(300, 1, for_first), Ok(()));
    call(account(SECOND), account(OTHER), 0);
    assert_eq!(
        second.submit_reading(m.producer, IV, 300, 0, 1, for_first),
        Err(Error::InvalidSignature)
    );
    assert!(second.meter(m.producer).is_none());
    let message =
        depin_core::meter::reading_message(account(SECOND).as_ref(), &m.producer, IV, 300, 0, 1);
    let for_second = m.meter.sign(&message);
    assert_eq!(
        second.submit_reading(m.producer, IV, 300, 0, 1, for_second),
        Ok(())
    );
    // and the first market, which has its own counter, refuses the second's reading
    assert_eq!(m.submit(300, 2, for_second), Err(Error::InvalidSignature));
}

#[ink::test]
fn test_submit_reading_replay_errors() {
    let m = Market::new();
    set_time(END);
    // counters start above 0
    assert_eq!(
        m.submit(300, 0, m.signed(300, 0, 0)),
        Err(Error::StaleCounter)
    );
    m.submit(300, 5, m.signed(300, 0, 5)).unwrap();
    // the same reading again, or an older counter
    assert_eq!(
        m.submit(300, 5, m.signed(300, 0, 5)),
        Err(Error::StaleCounter)
    );
    assert_eq!(
        m.submit(300, 4, m.signed(300, 0, 4)),
        Err(Error::StaleCounter)
    );
    // a fresh counter for an interval already reported
    assert_eq!(
        m.submit(300, 6, m.signed(300, 0, 6)),
        Err(Error::ReadingAlreadySubmitted)
    );
}

#[ink::test]
fn test_submit_reading_state_errors() {
    let m = Market::new();
    set_time(END - 1);
    assert_eq!(
        m.submit(300, 1, m.signed(300, 0, 1)),
        Err(Error::IntervalNotOver)
    );
    set_time(END);
    assert_eq!(
        m.by(OTHER, 0)
            .submit_reading([1; 32], IV, 1, 0, 1, m.signed(1, 0, 1)),
        Err(Error::DeviceNotFound)
    );
    call(account(REGISTRY), account(AUTHORITY), 0);
    m.registry
        .borrow_mut()
        .set_device_status(m.producer, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(
        m.submit(300, 1, m.signed(300, 0, 1)),
        Err(Error::DeviceNotActive)
    );
    m.pause(true);
    assert_eq!(
        m.submit(300, 1, m.signed(300, 0, 1)),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_clear_interval_ok() {
    let m = Market::new();
    m.book();
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(150));
    let e: IntervalCleared = last_event();
    assert_eq!(
        (
            e.clearing_price,
            e.volume_wh,
            e.ask_matched_wh,
            e.bid_matched_wh
        ),
        (150, 400, vec![400], vec![400])
    );
    let book = m.interval();
    assert_eq!(
        (book.state, book.asks[0].matched_wh),
        (IntervalState::Cleared, 400)
    );
}

#[ink::test]
fn test_clear_interval_errors() {
    let m = Market::new();
    set_time(GATE);
    assert_eq!(
        m.by(OTHER, 0).clear_interval(IV),
        Err(Error::IntervalNotFound)
    );
    set_time(BEFORE_GATE);
    m.book();
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Err(Error::GateNotClosed));
    set_time(GATE);
    m.by(OTHER, 0).clear_interval(IV).unwrap();
    assert_eq!(
        m.by(OTHER, 0).clear_interval(IV),
        Err(Error::AlreadyCleared)
    );
}

#[ink::test]
fn test_settle_order_ok_conserves_value() {
    let m = Market::new();
    m.book();
    set_time(GATE);
    m.by(OTHER, 0).clear_interval(IV).unwrap();
    set_time(END);
    m.submit(300, 1, m.signed(300, 0, 1)).unwrap();
    let (producer, consumer) = (balance_of(account(PRODUCER)), balance_of(account(CONSUMER)));
    m.pause(true); // payouts are allowed while paused
                   // delivered 300 Wh at 150: gross 45, grid fee 4, net 41
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(41));
    let e: OrderSettled = last_event();
    assert_eq!((e.wh, e.amount, e.fee), (300, 41, 4));
    // the consumer pays ceil(400 * 300 * 150 / (400 * 1000)) = 45 and gets 35 back
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 0), Ok(35));
    // its event tells the energy it received, as on Solana: all of the 300 Wh delivered
    // (it matched the whole volume), not the 400 it matched
    let e: OrderSettled = event_before_last(1);
    assert_eq!((e.side, e.wh, e.amount, e.refund), (Side::Bid, 300, 45, 35));
    let e: IntervalSettled = last_event();
    assert_eq!((e.delivered_wh, e.rounding), (300, 0));
    assert_eq!(balance_of(account(PRODUCER)), producer + 41);
    assert_eq!(balance_of(account(CONSUMER)), consumer + 35);
    assert_eq!(balance_of(account(TREASURY)), 4);
    assert_eq!(balance_of(account(MARKET)), 0);
    let book = m.interval();
    assert_eq!(
        (book.state, book.bids[0].charge),
        (IntervalState::Settled, 45)
    );
}

/// The largest orders settle once delivered, without overflow: the largest ask a device
/// can place (its whole capacity for one interval, with every capability at `u32::MAX`:
/// `ask_capacity_wh(u32::MAX, u32::MAX, 900)` = 5,368,709,118 Wh) against a bid of
/// `MAX_ORDER_WH` (its escrow about 1.15e18), both at 2,000 per kWh, the ask metered in
/// full. The interval clears at 2,000 for the ask's whole volume; the producer is paid the
/// delivered value less the grid fee, the consumer is charged exactly that value out of its
/// escrow and refunded the rest, the treasury gets the fee and the market keeps nothing.
/// (An ask of `MAX_ORDER_WH` itself, which once made the bid's share
/// `matched * delivered * price` pass `u128::MAX`, is now refused as above any device's
/// capacity; `depin_core::energy`'s own tests keep that product's settlement covered.)
#[ink::test]
fn test_settle_order_the_largest_orders_settle_when_delivered() {
    let m = Market::with(MarketParams {
        price_cap: 2_000,
        ..PARAMS
    });
    let strongest = Capabilities {
        panel_watts: u32::MAX,
        battery_wh: u32::MAX,
        ..Capabilities::default()
    };
    let plant = m.device_with(PRODUCER, 8, strongest);
    let most_ask = energy::ask_capacity_wh(u32::MAX, u32::MAX, PARAMS.interval_secs);
    assert_eq!(most_ask, u64::from(u32::MAX) / 4 + u64::from(u32::MAX));
    let most_bid = energy::MAX_ORDER_WH;
    let escrow = energy::bid_escrow(2_000, most_bid).unwrap();
    ink::env::test::set_account_balance::<E>(account(CONSUMER), u128::from(escrow));
    assert_eq!(
        m.by(PRODUCER, 0).place_ask(IV, plant, 2_000, most_ask + 1),
        Err(Error::AskAboveCapacity)
    );
    m.by(PRODUCER, 0)
        .place_ask(IV, plant, 2_000, most_ask)
        .unwrap();
    m.by(CONSUMER, escrow)
        .place_bid(IV, m.consumer, 2_000, most_bid)
        .unwrap();
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(2_000));
    let book = m.interval();
    assert_eq!(
        (
            book.volume_wh,
            book.asks[0].matched_wh,
            book.bids[0].matched_wh
        ),
        (most_ask, most_ask, most_ask)
    );
    set_time(END);
    let message =
        depin_core::meter::reading_message(account(MARKET).as_ref(), &plant, IV, most_ask, 0, 1);
    m.by(OTHER, 0)
        .submit_reading(
            plant,
            IV,
            most_ask,
            0,
            1,
            DeviceSigner::new(8).sign(&message),
        )
        .unwrap();
    let (producer, consumer) = (balance_of(account(PRODUCER)), balance_of(account(CONSUMER)));
    // gross = most_ask * 2,000 / 1,000, less the 10% grid fee (rounded down)
    let gross = most_ask * 2;
    let fee = gross / 10;
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Ok(gross - fee)
    );
    // the consumer pays exactly the delivered value; the rest of its escrow comes back
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Bid, 0),
        Ok(escrow - gross)
    );
    assert_eq!(m.interval().bids[0].charge, gross);
    assert_eq!(
        balance_of(account(PRODUCER)),
        producer + u128::from(gross - fee)
    );
    assert_eq!(
        balance_of(account(CONSUMER)),
        consumer + u128::from(escrow - gross)
    );
    assert_eq!(balance_of(account(TREASURY)), u128::from(fee));
    assert_eq!(balance_of(account(MARKET)), 0);
    assert_eq!(m.interval().state, IntervalState::Settled);
}

#[ink::test]
fn test_settle_order_errors() {
    let m = Market::new();
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::IntervalNotFound)
    );
    m.book();
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::NotCleared)
    );
    set_time(GATE);
    m.by(OTHER, 0).clear_interval(IV).unwrap();
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::IntervalNotOver)
    );
    set_time(END);
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 3),
        Err(Error::NoSuchOrder)
    );
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::ReadingWindowOpen)
    );
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Bid, 0),
        Err(Error::AsksNotSettled)
    );
    // no reading by the deadline: the producer delivered nothing
    set_time(DEADLINE);
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(0));
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::OrderNotOpen)
    );
    // and the consumer gets the whole escrow back
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 0), Ok(80));
    assert_eq!(balance_of(account(MARKET)), 0);
}

/// A cleared book whose network is paused from the interval's end until `resumed`, past the
/// reading deadline: the producer's reading is refused within its window, and nobody can
/// settle the producer at zero while the network is paused.
fn paused_over_the_deadline(m: &Market, resumed: u64) {
    m.book();
    set_time(GATE);
    m.by(OTHER, 0).clear_interval(IV).unwrap();
    set_time(END);
    m.pause(true);
    assert_eq!(
        m.submit(300, 1, m.signed(300, 0, 1)),
        Err(Error::NetworkPaused)
    );
    set_time(DEADLINE + 1);
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::NetworkPaused)
    );
    set_time(resumed);
    m.pause(false);
}

#[ink::test]
fn test_settle_order_a_pause_over_the_deadline_does_not_zero_the_producer() {
    let m = Market::new();
    let resumed = DEADLINE + 60;
    paused_over_the_deadline(&m, resumed);
    // a whole reading window after the resume before a missing reading counts as zero
    set_time(resumed + 599);
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::ReadingWindowOpen)
    );
    // the reading the pause refused, sent now, is paid: 300 Wh at 150, 41 net of the fee
    m.submit(300, 1, m.signed(300, 0, 1)).unwrap();
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(41));
}

#[ink::test]
fn test_settle_order_no_reading_a_window_after_the_resume_is_zero() {
    let m = Market::new();
    let resumed = DEADLINE + 60;
    paused_over_the_deadline(&m, resumed);
    set_time(resumed + 600);
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(0));
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 0), Ok(80));
}

#[ink::test]
fn test_close_interval_ok_and_errors() {
    let m = Market::new();
    assert_eq!(
        m.by(OTHER, 0).close_interval(IV),
        Err(Error::IntervalNotFound)
    );
    m.book();
    assert_eq!(
        m.by(OTHER, 0).close_interval(IV),
        Err(Error::IntervalNotSettled)
    );
    m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    m.by(CONSUMER, 0).cancel_order(IV, Side::Bid, 0).unwrap();
    set_time(GATE);
    // every order was cancelled: clearing settles the interval at once
    m.by(OTHER, 0).clear_interval(IV).unwrap();
    let events = event_count();
    m.by(OTHER, 0).close_interval(IV).unwrap();
    let e: IntervalClosed = last_event();
    assert_eq!(e.interval, IV);
    assert_eq!(event_count(), events + 1);
    assert!(as_contract(account(MARKET), || m.market.borrow().interval(IV)).is_none());
}

#[ink::test]
fn test_initialize_energy_market_param_bounds() {
    let _m = Market::new();
    call(account(0xE1), account(AUTHORITY), 0);
    for bad in [
        MarketParams {
            interval_secs: MAX_DURATION_SECS + 1,
            ..PARAMS
        },
        MarketParams {
            interval_secs: u64::MAX,
            ..PARAMS
        },
        MarketParams {
            gate_closure_secs: MAX_DURATION_SECS + 1,
            ..PARAMS
        },
        // i64::MAX used to be accepted: no reading deadline could then be computed, so
        // an ask without a reading never settled and every bid's escrow stayed locked
        MarketParams {
            settlement_delay_secs: i64::MAX as u64,
            ..PARAMS
        },
        MarketParams {
            settlement_delay_secs: MAX_DURATION_SECS + 1,
            ..PARAMS
        },
        // an empty reading window: readings and settlement at zero would open together
        MarketParams {
            settlement_delay_secs: 0,
            ..PARAMS
        },
        MarketParams {
            settlement_delay_secs: depin_core::energy::MIN_SETTLEMENT_DELAY_SECS - 1,
            ..PARAMS
        },
    ] {
        assert_eq!(
            EnergySettlement::new(account(REGISTRY), bad).err(),
            Some(Error::InvalidMarketParams)
        );
    }
    // every bound itself is valid
    let edge = MarketParams {
        interval_secs: MAX_DURATION_SECS,
        gate_closure_secs: MAX_DURATION_SECS,
        settlement_delay_secs: MAX_DURATION_SECS,
        max_orders_per_interval: 32,
        grid_fee_bps: 10_000,
        price_floor: 7,
        price_cap: 7,
    };
    assert!(EnergySettlement::new(account(REGISTRY), edge).is_ok());
    let shortest = MarketParams {
        settlement_delay_secs: depin_core::energy::MIN_SETTLEMENT_DELAY_SECS,
        ..PARAMS
    };
    assert!(EnergySettlement::new(account(REGISTRY), shortest).is_ok());
}

/// A bid that matched nothing is owed its whole escrow whatever the producers deliver: it
/// settles once the interval is over without waiting for the asks, even while a pause holds
/// back the ask without a reading; a bid that matched still waits.
#[ink::test]
fn test_settle_order_a_bid_that_matched_nothing_does_not_wait_for_the_asks() {
    let m = Market::new();
    m.book();
    // another consumer's bid below the ask's price crosses nothing (escrow ceil(50 * 400 /
    // 1000) = 20)
    let other = m.device(OTHER, 11);
    m.by(OTHER, 20).place_bid(IV, other, 50, 400).unwrap();
    set_time(GATE);
    m.by(OTHER, 0).clear_interval(IV).unwrap();
    let book = m.interval();
    assert_eq!((book.bids[0].matched_wh, book.bids[1].matched_wh), (400, 0));
    set_time(DEADLINE + 1);
    m.pause(true);
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Ask, 0),
        Err(Error::NetworkPaused)
    );
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Bid, 0),
        Err(Error::AsksNotSettled)
    );
    let before = balance_of(account(OTHER));
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 1), Ok(20));
    assert_eq!(balance_of(account(OTHER)), before + 20);
    let e: OrderSettled = last_event();
    assert_eq!((e.wh, e.amount, e.refund), (0, 0, 20));
    assert_eq!(
        m.by(OTHER, 0).settle_order(IV, Side::Bid, 1),
        Err(Error::OrderNotOpen)
    );
    let book = m.interval();
    assert_eq!((book.asks_done, book.bids_done), (0, 1));
}

#[ink::test]
fn test_place_ask_reuses_cancelled_slot() {
    // Given a full ask side: the producer in slot 0, a second device in slot 1
    let m = Market::new();
    let (second, third) = (m.device(PRODUCER, 8), m.device(OTHER, 6));
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500), Ok(0));
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, second, 100, 500), Ok(1));
    assert_eq!(
        m.by(OTHER, 0).place_ask(IV, third, 90, 300),
        Err(Error::BookFull)
    );
    // When the producer cancels, Then the next ask, another owner's, takes its slot
    m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    assert_eq!(m.by(OTHER, 0).place_ask(IV, third, 90, 300), Ok(0));
    let e: OrderPlaced = last_event();
    assert_eq!((e.device, e.owner, e.slot), (third, account(OTHER), 0));
    let book = m.interval();
    assert_eq!((book.asks.len(), book.asks_done), (2, 0));
    assert_eq!(
        (book.asks[0].device, book.asks[0].price, book.asks[0].status),
        (third, 90, OrderStatus::Open)
    );
    // the slot is the new ask's: its old owner cannot cancel it
    assert_eq!(
        m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0),
        Err(Error::NotOrderOwner)
    );
}

#[ink::test]
fn test_place_cancel_churn_never_fills_the_book() {
    // Given one device placing and cancelling an ask over and over (asks escrow nothing)
    let m = Market::new();
    for _ in 0..MAX_PLACEMENTS_PER_DEVICE {
        // every placement reuses the slot its cancelled predecessor freed
        assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500), Ok(0));
        m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    }
    // Then it stops at its own allowance, never at a full book
    assert_eq!(
        m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500),
        Err(Error::TooManyPlacements)
    );
    assert_eq!(
        m.placements(m.producer, Side::Ask),
        MAX_PLACEMENTS_PER_DEVICE
    );
    let book = m.interval();
    assert_eq!((book.asks.len(), book.asks_done), (1, 1));
    // and honest devices still find every slot
    let (second, third) = (m.device(PRODUCER, 8), m.device(OTHER, 6));
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, second, 100, 500), Ok(0));
    assert_eq!(m.by(OTHER, 0).place_ask(IV, third, 100, 500), Ok(1));
}

#[ink::test]
fn test_place_bid_too_many_placements() {
    let m = Market::new();
    let before = balance_of(account(CONSUMER));
    for _ in 0..MAX_PLACEMENTS_PER_DEVICE {
        assert_eq!(
            m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
            Ok(0)
        );
        assert_eq!(m.by(CONSUMER, 0).cancel_order(IV, Side::Bid, 0), Ok(80));
    }
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Err(Error::TooManyPlacements)
    );
    // the host's revert returns the refused call's value (not modelled off chain, so
    // it goes back here); every placed bid's escrow came back
    ink::env::transfer::<E>(account(CONSUMER), 80).unwrap();
    assert_eq!(balance_of(account(CONSUMER)), before);
    assert_eq!(balance_of(account(MARKET)), 0);
    let book = m.interval();
    assert_eq!(
        (book.bids.len(), book.bids_done, book.escrow_total),
        (1, 1, 0)
    );
    // the allowance is per side and per interval
    assert_eq!(m.placements(m.consumer, Side::Ask), 0);
    assert_eq!(m.by(CONSUMER, 0).place_ask(IV, m.consumer, 100, 10), Ok(0));
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV + 1, m.consumer, 200, 400),
        Ok(0)
    );
    assert_eq!(balance_of(account(CONSUMER)), before - 80);
    assert_eq!(balance_of(account(MARKET)), 80);
}

#[ink::test]
fn test_filling_a_side_takes_as_many_devices_as_slots() {
    let m = Market::new();
    let (second, third) = (m.device(PRODUCER, 8), m.device(OTHER, 6));
    // one device holds at most one open order per side, however it churns
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500), Ok(0));
    assert_eq!(
        m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500),
        Err(Error::DuplicateOrder)
    );
    m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500), Ok(0));
    assert_eq!(m.interval().asks.len(), 1);
    // the side's two slots take two distinct devices
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, second, 100, 500), Ok(1));
    assert_eq!(
        m.by(OTHER, 0).place_ask(IV, third, 100, 500),
        Err(Error::BookFull)
    );
    let book = m.interval();
    assert!(book.asks.iter().all(|a| a.status == OrderStatus::Open));
    assert_eq!(book.asks[0].device, m.producer);
    assert_eq!(book.asks[1].device, second);
}

#[ink::test]
fn test_interval_with_reused_slots_clears_settles_and_closes() {
    // Given both orders placed, cancelled and placed again in the same slots
    let m = Market::new();
    m.book();
    m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    m.by(CONSUMER, 0).cancel_order(IV, Side::Bid, 0).unwrap();
    m.book();
    let book = m.interval();
    assert_eq!(
        (
            book.asks.len(),
            book.bids.len(),
            book.asks_done,
            book.bids_done
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(book.escrow_total, 80);
    let (producer, consumer) = (balance_of(account(PRODUCER)), balance_of(account(CONSUMER)));
    // When the interval clears and settles as usual
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(150));
    assert_eq!(m.interval().state, IntervalState::Cleared);
    set_time(END);
    m.submit(300, 1, m.signed(300, 0, 1)).unwrap();
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(41));
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 0), Ok(35));
    // Then the done counters add up, the interval is settled and closes
    let book = m.interval();
    assert_eq!(
        (book.state, book.asks_done, book.bids_done),
        (IntervalState::Settled, 1, 1)
    );
    assert_eq!(balance_of(account(PRODUCER)), producer + 41);
    assert_eq!(balance_of(account(CONSUMER)), consumer + 35);
    assert_eq!(balance_of(account(TREASURY)), 4);
    assert_eq!(balance_of(account(MARKET)), 0);
    m.by(OTHER, 0).close_interval(IV).unwrap();
    assert!(as_contract(account(MARKET), || m.market.borrow().interval(IV)).is_none());
}

// ---- an ask offers at most what its device can deliver in one interval ----------------

/// What the fixtures' rooftop meter (5 kW of panel, a 13.5 kWh battery) can deliver in
/// one 900 s interval: 1,250 Wh from the panel plus the full battery.
const ROOFTOP_CAPACITY: u64 = 14_750;

#[ink::test]
fn test_place_ask_above_capacity() {
    // Given a book holding the consumer's bid, and the producer's rooftop meter
    let m = Market::new();
    assert_eq!(
        energy::ask_capacity_wh(
            ROOFTOP_METER.panel_watts,
            ROOFTOP_METER.battery_wh,
            PARAMS.interval_secs
        ),
        ROOFTOP_CAPACITY
    );
    m.by(CONSUMER, 80)
        .place_bid(IV, m.consumer, 200, 400)
        .unwrap();
    let book = m.interval();
    let events = event_count();
    // When it offers one Wh more than it can deliver, Then the ask is refused
    assert_eq!(
        m.by(PRODUCER, 0)
            .place_ask(IV, m.producer, 100, ROOFTOP_CAPACITY + 1),
        Err(Error::AskAboveCapacity)
    );
    // and leaves the book as it was: no order, no event, no placement counted
    assert_eq!(m.interval(), book);
    assert_eq!(event_count(), events);
    assert_eq!(m.placements(m.producer, Side::Ask), 0);
    // the market's own checks come first: a bad price, then the order bound
    assert_eq!(
        m.by(PRODUCER, 0)
            .place_ask(IV, m.producer, 0, ROOFTOP_CAPACITY + 1),
        Err(Error::PriceOutOfBounds)
    );
    assert_eq!(
        m.by(PRODUCER, 0)
            .place_ask(IV, m.producer, 100, energy::MAX_ORDER_WH + 1),
        Err(Error::OrderTooLarge)
    );
    // exactly its capacity is accepted, and counts as its first placement
    assert_eq!(
        m.by(PRODUCER, 0)
            .place_ask(IV, m.producer, 100, ROOFTOP_CAPACITY),
        Ok(0)
    );
    let e: OrderPlaced = last_event();
    assert_eq!((e.side, e.wh), (Side::Ask, ROOFTOP_CAPACITY));
    assert_eq!(m.placements(m.producer, Side::Ask), 1);
    let book = m.interval();
    assert_eq!(book.asks.len(), 1);
    assert_eq!(
        (book.asks[0].device, book.asks[0].wh, book.asks[0].status),
        (m.producer, ROOFTOP_CAPACITY, OrderStatus::Open)
    );
}

#[ink::test]
fn test_place_ask_capacity_of_a_battery_only_and_a_panel_only_meter() {
    let m = Market::new();
    // A battery-only meter offers its battery, whatever the interval
    let battery = m.device_with(
        PRODUCER,
        8,
        Capabilities {
            battery_wh: 10_000,
            ..Capabilities::default()
        },
    );
    // a panel-only meter its panel over the market's 900 s: 4,001 W x 1/4 h = 1,000.25 Wh,
    // rounded down to 1,000
    let panel = m.device_with(
        OTHER,
        6,
        Capabilities {
            panel_watts: 4_001,
            ..Capabilities::default()
        },
    );
    assert_eq!(
        m.by(PRODUCER, 0).place_ask(IV, battery, 100, 10_001),
        Err(Error::AskAboveCapacity)
    );
    assert_eq!(
        m.by(OTHER, 0).place_ask(IV, panel, 100, 1_001),
        Err(Error::AskAboveCapacity)
    );
    assert_eq!(m.placements(battery, Side::Ask), 0);
    assert_eq!(m.placements(panel, Side::Ask), 0);
    assert!(m.book_if_any().is_none());
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, battery, 100, 10_000), Ok(0));
    assert_eq!(m.by(OTHER, 0).place_ask(IV, panel, 100, 1_000), Ok(1));
    let book = m.interval();
    assert_eq!((book.asks[0].wh, book.asks[1].wh), (10_000, 1_000));
    // The same meters in a market of hourly intervals: the panel makes four times as much,
    // the battery holds no more
    let hourly_at = account(0xE1);
    call(hourly_at, account(AUTHORITY), 0);
    let mut hourly = EnergySettlement::new(
        account(REGISTRY),
        MarketParams {
            interval_secs: 3_600,
            ..PARAMS
        },
    )
    .unwrap();
    call(hourly_at, account(OTHER), 0);
    assert_eq!(
        hourly.place_ask(IV, panel, 100, 4_002),
        Err(Error::AskAboveCapacity)
    );
    assert_eq!(hourly.place_ask(IV, panel, 100, 4_001), Ok(0));
    call(hourly_at, account(PRODUCER), 0);
    assert_eq!(
        hourly.place_ask(IV, battery, 100, 10_001),
        Err(Error::AskAboveCapacity)
    );
    assert_eq!(hourly.place_ask(IV, battery, 100, 10_000), Ok(1));
    let book = as_contract(hourly_at, || hourly.interval(IV)).unwrap();
    assert_eq!((book.asks[0].wh, book.asks[1].wh), (4_001, 10_000));
}

#[ink::test]
fn test_place_ask_a_consumer_meter_cannot_ask_but_bids() {
    // Given a consumer's meter: no panel, no battery
    let m = Market::new();
    let home = m.device_with(OTHER, 6, Capabilities::default());
    // When it asks even one Wh, Then it is refused and nothing is counted
    assert_eq!(
        m.by(OTHER, 0).place_ask(IV, home, 100, 1),
        Err(Error::AskAboveCapacity)
    );
    assert_eq!(m.placements(home, Side::Ask), 0);
    assert!(m.book_if_any().is_none());
    // but it bids as any consumer does: ceil(200 x 400 / 1000) = 80 escrowed
    let before = balance_of(account(OTHER));
    assert_eq!(m.by(OTHER, 80).place_bid(IV, home, 200, 400), Ok(0));
    assert_eq!(balance_of(account(OTHER)), before - 80);
    assert_eq!(m.placements(home, Side::Bid), 1);
    let book = m.interval();
    assert_eq!(
        (book.asks.len(), book.bids[0].device, book.escrow_total),
        (0, home, 80)
    );
}

/// The griefing attack: a meter with no panel and no battery offers `MAX_ORDER_WH` at the
/// price floor to win the interval's bids and deliver nothing. It is refused, so the honest
/// producer's ask matches the consumer's bid and is settled and paid.
#[ink::test]
fn test_place_ask_a_meter_without_capacity_cannot_outbid_honest_producers() {
    let m = Market::new();
    let empty = m.device_with(OTHER, 6, Capabilities::default());
    // When the empty meter asks the most any order may at the floor, Then it is refused
    assert_eq!(
        m.by(OTHER, 0)
            .place_ask(IV, empty, PARAMS.price_floor, energy::MAX_ORDER_WH),
        Err(Error::AskAboveCapacity)
    );
    assert_eq!(m.placements(empty, Side::Ask), 0);
    // and the honest producer (500 Wh at 100) meets the consumer's bid (400 Wh up to 200)
    m.book();
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(150));
    let e: IntervalCleared = last_event();
    assert_eq!(
        (e.volume_wh, e.ask_matched_wh, e.bid_matched_wh),
        (400, vec![400], vec![400])
    );
    assert!(m.interval().asks.iter().all(|a| a.device == m.producer));
    // Then the producer delivers 300 Wh and is paid for them: 45 at 150, 41 net of the fee
    set_time(END);
    m.submit(300, 1, m.signed(300, 0, 1)).unwrap();
    let (producer, consumer) = (balance_of(account(PRODUCER)), balance_of(account(CONSUMER)));
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(41));
    let e: OrderSettled = last_event();
    assert_eq!(
        (e.owner, e.wh, e.amount, e.fee),
        (account(PRODUCER), 300, 41, 4)
    );
    // and the consumer pays 45 for them, 35 of its escrow back
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 0), Ok(35));
    assert_eq!(balance_of(account(PRODUCER)), producer + 41);
    assert_eq!(balance_of(account(CONSUMER)), consumer + 35);
    assert_eq!(balance_of(account(TREASURY)), 4);
    assert_eq!(balance_of(account(MARKET)), 0);
    assert_eq!(m.interval().state, IntervalState::Settled);
}

// ---- price ties go by arrival, not by slot ----------------------------------------------

/// The tie griefing: producer M asks early, an honest producer asks at the same price,
/// then M cancels and asks again just before the gate. M's new ask reuses slot 0, but it
/// arrived last, so the honest ask wins the tie, as on Solana.
#[ink::test]
fn test_clear_interval_a_replaced_ask_goes_to_the_back_of_its_price_level() {
    let m = Market::new();
    let honest = m.device(OTHER, 6);
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 500), Ok(0));
    assert_eq!(m.by(OTHER, 0).place_ask(IV, honest, 100, 400), Ok(1));
    m.by(PRODUCER, 0).cancel_order(IV, Side::Ask, 0).unwrap();
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 400), Ok(0));
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Ok(0)
    );
    let book = m.interval();
    assert_eq!(
        (
            book.asks[0].seq,
            book.asks[1].seq,
            book.bids[0].seq,
            book.next_seq
        ),
        (2, 1, 3, 4)
    );
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(150));
    let e: IntervalCleared = last_event();
    assert_eq!(
        (e.volume_wh, e.ask_matched_wh, e.bid_matched_wh),
        (400, vec![0, 400], vec![400])
    );
    let book = m.interval();
    assert_eq!((book.asks[0].matched_wh, book.asks[1].matched_wh), (0, 400));
}

/// The same on the bid side: a replaced bid loses the tie to the bid placed before it.
#[ink::test]
fn test_clear_interval_a_replaced_bid_goes_to_the_back_of_its_price_level() {
    let m = Market::new();
    let honest = m.device(OTHER, 6);
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Ok(0)
    );
    assert_eq!(m.by(OTHER, 80).place_bid(IV, honest, 200, 400), Ok(1));
    m.by(CONSUMER, 0).cancel_order(IV, Side::Bid, 0).unwrap();
    assert_eq!(
        m.by(CONSUMER, 80).place_bid(IV, m.consumer, 200, 400),
        Ok(0)
    );
    assert_eq!(m.by(PRODUCER, 0).place_ask(IV, m.producer, 100, 400), Ok(0));
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(150));
    let e: IntervalCleared = last_event();
    assert_eq!(
        (e.ask_matched_wh, e.bid_matched_wh),
        (vec![400], vec![0, 400])
    );
}

// ---- a payout that cannot be pushed is owed, never blocking -----------------------------

/// The decoded event `back` places before the last one.
fn event_before_last<T: ink::scale::Decode>(back: usize) -> T {
    let events: Vec<_> = ink::env::test::recorded_events().collect();
    let event = &events[events.len() - 1 - back];
    T::decode(&mut &event.data[..]).expect("the event has the expected type")
}

fn owed(m: &Market, who: u8) -> u64 {
    as_contract(account(MARKET), || m.market.borrow().owed(account(who)))
}

/// A settlement whose transfer to the owner fails still settles: the amount is owed and
/// the interval settles and closes; the owner withdraws it once a transfer can succeed.
/// Off chain a transfer fails only when the paying contract's account has no balance, so
/// the bid's escrow is sent as a value the engine does not move.
#[ink::test]
fn test_settle_order_a_failed_payout_is_owed_and_withdrawn() {
    let m = Market::with(MarketParams {
        grid_fee_bps: 0, // so that no fee goes to the treasury, whose push still must work
        ..PARAMS
    });
    m.by(PRODUCER, 0)
        .place_ask(IV, m.producer, 100, 500)
        .unwrap();
    call(account(MARKET), account(CONSUMER), 0);
    ink::env::test::set_value_transferred::<E>(80);
    m.market
        .borrow_mut()
        .place_bid(IV, m.consumer, 200, 400)
        .unwrap();
    set_time(GATE);
    assert_eq!(m.by(OTHER, 0).clear_interval(IV), Ok(150));
    set_time(END);
    m.submit(400, 1, m.signed(400, 0, 1)).unwrap();
    let (producer, consumer) = (balance_of(account(PRODUCER)), balance_of(account(CONSUMER)));
    // delivered 400 Wh at 150: 60, owed since the push fails
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Ask, 0), Ok(60));
    let e: PayoutOwed = event_before_last(1);
    assert_eq!((e.owner, e.amount, e.owed), (account(PRODUCER), 60, 60));
    // the bids still settle (charged 60, 20 of the escrow owed back) and the interval closes
    assert_eq!(m.by(OTHER, 0).settle_order(IV, Side::Bid, 0), Ok(20));
    assert_eq!((owed(&m, PRODUCER), owed(&m, CONSUMER)), (60, 20));
    assert_eq!(m.interval().state, IntervalState::Settled);
    m.by(OTHER, 0).close_interval(IV).unwrap();
    // a withdrawal whose transfer fails changes nothing
    assert_eq!(
        m.by(PRODUCER, 0).withdraw_owed(),
        Err(Error::TransferFailed)
    );
    assert_eq!(owed(&m, PRODUCER), 60);
    // once the market can pay, each owner takes exactly what it is owed, once
    // (the engine's balances start at its existential deposit)
    let floor = ink::env::minimum_balance::<E>();
    ink::env::test::set_account_balance::<E>(account(MARKET), floor + 80);
    assert_eq!(m.by(PRODUCER, 0).withdraw_owed(), Ok(60));
    let e: OwedWithdrawn = last_event();
    assert_eq!((e.owner, e.amount), (account(PRODUCER), 60));
    assert_eq!(m.by(CONSUMER, 0).withdraw_owed(), Ok(20));
    assert_eq!(balance_of(account(PRODUCER)), producer + 60);
    assert_eq!(balance_of(account(CONSUMER)), consumer + 20);
    assert_eq!(balance_of(account(MARKET)), floor);
    assert_eq!((owed(&m, PRODUCER), owed(&m, CONSUMER)), (0, 0));
    assert_eq!(m.by(PRODUCER, 0).withdraw_owed(), Err(Error::NothingOwed));
    assert_eq!(m.by(OTHER, 0).withdraw_owed(), Err(Error::NothingOwed));
}
