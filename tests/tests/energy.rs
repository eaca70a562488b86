//! Energy settlement: signed meter readings, the per-interval double auction and escrowed
//! settlement, inside the real runtime with the real SPL Token program and the real
//! Ed25519 precompile.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use depin_sdk::accounts::{
    decode_interval, Device, DeviceStatus, EnergyMarket, Interval, Meter, MeterReading, Network,
    NetworkKind,
};
use depin_sdk::energy::{
    self, batch_readings, MeterSigner, OrderRef, PlaceAskArgs, PlaceBidArgs, Reading, Side,
};
use depin_sdk::energy_program::error::EnergyError;
use depin_sdk::registry::{self, Capabilities, OnboardDeviceArgs, UpdateNetworkArgs};
use depin_sdk::{pda, Instruction, Pubkey};
use depin_tests::assert::{assert_error, assert_instruction_error, InstructionError};
use depin_tests::fixture::{
    default_energy_args, default_meter_args, DeviceFixture, EnergyFixture, MakerFixture,
    NetworkFixture, NetworkParams, OperatorFixture,
};
use depin_tests::runtime::{SendError, Suite};
use depin_tests::{Keypair, Signer};

/// One meter: its owner, the device, and the owner's stablecoin account.
struct Party {
    op: OperatorFixture,
    device: DeviceFixture,
    quote: Pubkey,
}

struct Market {
    net: NetworkFixture,
    maker: MakerFixture,
    energy: EnergyFixture,
}

async fn market(suite: &mut Suite) -> Market {
    market_with(suite, default_energy_args()).await
}

async fn market_with(
    suite: &mut Suite,
    args: depin_sdk::energy::InitializeEnergyMarketArgs,
) -> Market {
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Energy,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Meterco", 100, true).await;
    let energy = suite
        .create_energy_market(&net, args)
        .await
        .expect("market");
    Market { net, maker, energy }
}

/// A party with the default home meter ([`default_meter_args`]).
async fn party(suite: &mut Suite, m: &Market, quote_tokens: u64) -> Party {
    party_with(suite, m, quote_tokens, default_meter_args().capabilities).await
}

/// A party whose meter has `capabilities` (a panel, a battery, neither) instead of the
/// default home meter's.
async fn party_with(
    suite: &mut Suite,
    m: &Market,
    quote_tokens: u64,
    capabilities: Capabilities,
) -> Party {
    let op = suite.add_operator(&m.net, 1_000_000_000).await;
    let device = suite
        .onboard_with(
            &m.net,
            &m.maker,
            &op,
            OnboardDeviceArgs {
                capabilities,
                ..default_meter_args()
            },
        )
        .await
        .expect("onboard meter");
    let quote = suite
        .quote_account(&m.energy, &op.wallet.pubkey(), quote_tokens)
        .await;
    Party { op, device, quote }
}

/// A meter with the largest panel and battery a maker can register.
fn largest_meter() -> Capabilities {
    Capabilities {
        panel_watts: u32::MAX,
        battery_wh: u32::MAX,
        ..Capabilities::default()
    }
}

/// An interval whose gate is still open, far enough ahead for a test's orders.
async fn next_interval(suite: &mut Suite, m: &Market) -> u64 {
    let now = suite.clock().await.unix_timestamp as u64;
    now / m.energy.args.interval_secs + 2
}

fn start(m: &Market, interval: u64) -> i64 {
    (interval * m.energy.args.interval_secs) as i64
}

async fn ask(
    suite: &mut Suite,
    m: &Market,
    p: &Party,
    interval: u64,
    price: u64,
    wh: u64,
) -> Result<(), SendError> {
    let ix = energy::place_ask(
        &p.op.wallet.pubkey(),
        &m.net.network,
        &p.device.device,
        PlaceAskArgs {
            interval,
            price,
            wh,
        },
    );
    suite.send(&[ix], &[&p.op.wallet]).await
}

async fn bid(
    suite: &mut Suite,
    m: &Market,
    p: &Party,
    interval: u64,
    limit: u64,
    wh: u64,
) -> Result<(), SendError> {
    let ix = energy::place_bid(
        &p.op.wallet.pubkey(),
        &m.net.network,
        &p.device.device,
        &m.energy.quote,
        &p.quote,
        PlaceBidArgs {
            interval,
            limit,
            wh,
        },
    );
    suite.send(&[ix], &[&p.op.wallet]).await
}

async fn clear(suite: &mut Suite, m: &Market, interval: u64) -> Result<(), SendError> {
    let ix = energy::clear_interval(&m.net.network, interval);
    suite.send(&[ix], &[]).await
}

fn meter<'a>(m: &Market, p: &'a Party) -> MeterSigner<'a> {
    MeterSigner {
        key: &p.device.key,
        device: p.device.device,
        network: m.net.network,
    }
}

async fn read(
    suite: &mut Suite,
    m: &Market,
    p: &Party,
    interval: u64,
    produced_wh: u64,
    consumed_wh: u64,
    counter: u64,
) -> Result<(), SendError> {
    let ixs = meter(m, p).reading_instructions(
        &suite.payer(),
        &Reading {
            interval,
            produced_wh,
            consumed_wh,
            counter,
        },
    );
    suite.send(&ixs, &[]).await
}

async fn settle(
    suite: &mut Suite,
    m: &Market,
    p: &Party,
    interval: u64,
    side: Side,
    slot: u8,
) -> Result<(), SendError> {
    settle_to(suite, m, p, (interval, side, slot), m.energy.treasury).await
}

/// [`settle`], naming `treasury` as the market's treasury.
async fn settle_to(
    suite: &mut Suite,
    m: &Market,
    p: &Party,
    (interval, side, slot): (u64, Side, u8),
    treasury: Pubkey,
) -> Result<(), SendError> {
    let ixs = energy::settle_order_instructions(
        &suite.payer(),
        &m.net.network,
        &m.energy.quote,
        &treasury,
        &p.device.device,
        &p.op.wallet.pubkey(),
        OrderRef {
            interval,
            side,
            slot,
        },
    );
    suite.send(&ixs, &[]).await
}

async fn book(suite: &mut Suite, m: &Market, interval: u64) -> Interval {
    let raw = suite
        .raw_account(pda::interval(&m.energy.market, interval).0)
        .await
        .expect("interval exists");
    decode_interval(&raw.data).expect("interval layout")
}

#[tokio::test]
async fn account_sizes_match_their_layout() {
    assert_eq!(
        EnergyMarket::SIZE,
        8 + 32 * 4 + 8 * 3 + 1 + 2 + 8 * 2 + 1 + 1
    );
    assert_eq!(Interval::SIZE, 8 + 160 + 32 * 104 + 32 * 112);
    // market, device, counter, readings, 8 tallies of (interval, asks, bids), bump
    assert_eq!(Meter::SIZE, 8 + 32 * 2 + 8 * 2 + 8 * (8 + 1 + 1) + 1);
    assert_eq!(MeterReading::SIZE, 8 + 32 + 8 * 5 + 1);
}

/// Two producers and two consumers through clearing and settlement, every balance checked
/// to the unit against numbers worked out by hand.
#[tokio::test]
async fn full_interval_settles_to_the_unit() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let p1 = party(&mut suite, &m, 0).await;
    let p2 = party(&mut suite, &m, 0).await;
    let c1 = party(&mut suite, &m, 1_000).await;
    let c2 = party(&mut suite, &m, 1_000).await;
    let k = next_interval(&mut suite, &m).await;

    // Given asks 1000 Wh @ 100 and 2000 Wh @ 150, bids 1500 Wh up to 200 and 1000 Wh up to 120
    ask(&mut suite, &m, &p1, k, 100, 1_000)
        .await
        .expect("ask 1");
    ask(&mut suite, &m, &p2, k, 150, 2_000)
        .await
        .expect("ask 2");
    bid(&mut suite, &m, &c1, k, 200, 1_500)
        .await
        .expect("bid 1");
    bid(&mut suite, &m, &c2, k, 120, 1_000)
        .await
        .expect("bid 2");
    // escrow = ceil(limit * wh / 1000): 300 and 120
    assert_eq!(suite.token_balance(c1.quote).await, 700);
    assert_eq!(suite.token_balance(c2.quote).await, 880);
    assert_eq!(suite.token_balance(m.energy.vault).await, 420);

    // When the gate closes and the interval clears
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.expect("clear");
    // Then 100 vs 200 (1000 Wh), 150 vs 200 (500 Wh), 150 vs 120 stops: price (150 + 200) / 2
    let b = book(&mut suite, &m, k).await;
    assert_eq!((b.clearing_price, b.volume_wh), (175, 1_500));
    assert_eq!((b.asks[0].matched_wh, b.asks[1].matched_wh), (1_000, 500));
    assert_eq!((b.bids[0].matched_wh, b.bids[1].matched_wh), (1_500, 0));

    // The meters report after the interval: producer 2 under-delivers (300 of 500)
    suite.set_time(start(&m, k) + 900).await;
    read(&mut suite, &m, &p1, k, 1_000, 0, 1)
        .await
        .expect("reading 1");
    read(&mut suite, &m, &p2, k, 300, 0, 1)
        .await
        .expect("reading 2");
    read(&mut suite, &m, &c1, k, 0, 1_400, 1)
        .await
        .expect("consumer reading");

    // Settlement: asks first
    settle(&mut suite, &m, &p1, k, Side::Ask, 0)
        .await
        .expect("settle ask 1");
    settle(&mut suite, &m, &p2, k, Side::Ask, 1)
        .await
        .expect("settle ask 2");
    // 1000 Wh x 175 = 175, fee 2% = 3 -> 172; 300 Wh x 175 = 52 (52.5 down), fee 1 -> 51
    assert_eq!(suite.token_balance(p1.quote).await, 172);
    assert_eq!(suite.token_balance(p2.quote).await, 51);
    settle(&mut suite, &m, &c1, k, Side::Bid, 0)
        .await
        .expect("settle bid 1");
    settle(&mut suite, &m, &c2, k, Side::Bid, 1)
        .await
        .expect("settle bid 2");
    // consumer 1 gets its share of 1300 delivered Wh: ceil(1500 * 1300 * 175 / 1.5e6) = 228
    assert_eq!(suite.token_balance(c1.quote).await, 700 + 300 - 228);
    assert_eq!(
        suite.token_balance(c2.quote).await,
        1_000,
        "unmatched bid refunded in full"
    );
    // treasury: fees 3 + 1, rounding 228 - (175 + 52) = 1
    assert_eq!(suite.token_balance(m.energy.treasury).await, 5);
    assert_eq!(
        suite.token_balance(m.energy.vault).await,
        0,
        "escrow fully distributed"
    );
    let b = book(&mut suite, &m, k).await;
    assert_eq!(b.state, depin_sdk::energy_program::state::INTERVAL_SETTLED);
    assert_eq!(
        (b.delivered_wh, b.charged_total, b.gross_paid_total),
        (1_300, 228, 227)
    );

    // the settled book is closed and its rent goes back to whoever opened it (producer 1)
    let address = pda::interval(&m.energy.market, k).0;
    let rent = suite.lamports(address).await;
    let opener = p1.op.wallet.pubkey();
    let before = suite.lamports(opener).await;
    let close = energy::close_interval(&m.net.network, k, &opener);
    suite.send(&[close], &[]).await.expect("close");
    assert!(!suite.exists(address).await);
    assert_eq!(suite.lamports(opener).await, before + rent);
}

#[tokio::test]
async fn equal_prices_fill_in_placement_order_and_partially() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (a1, a2, c) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &a1, k, 100, 500).await.unwrap();
    ask(&mut suite, &m, &a2, k, 100, 500).await.unwrap();
    bid(&mut suite, &m, &c, k, 100, 700).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    let b = book(&mut suite, &m, k).await;
    assert_eq!(b.clearing_price, 100);
    assert_eq!(
        (
            b.asks[0].matched_wh,
            b.asks[1].matched_wh,
            b.bids[0].matched_wh
        ),
        (500, 200, 700)
    );
}

#[tokio::test]
async fn no_crossing_orders_refund_everything() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (p, c) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &p, k, 300, 1_000).await.unwrap();
    bid(&mut suite, &m, &c, k, 200, 1_000).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    let b = book(&mut suite, &m, k).await;
    assert_eq!((b.clearing_price, b.volume_wh), (0, 0));
    suite.set_time(start(&m, k) + 900).await;
    // nothing matched: the ask settles without waiting for a reading
    settle(&mut suite, &m, &p, k, Side::Ask, 0).await.unwrap();
    settle(&mut suite, &m, &c, k, Side::Bid, 0).await.unwrap();
    assert_eq!(suite.token_balance(c.quote).await, 1_000);
    assert_eq!(suite.token_balance(p.quote).await, 0);
    assert_eq!(suite.token_balance(m.energy.vault).await, 0);
}

#[tokio::test]
async fn a_missing_reading_counts_as_zero_after_the_window() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (p, c) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &p, k, 100, 1_000).await.unwrap();
    bid(&mut suite, &m, &c, k, 100, 1_000).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();

    suite.set_time(start(&m, k) + 900).await;
    assert_error(
        settle(&mut suite, &m, &p, k, Side::Ask, 0).await,
        EnergyError::ReadingWindowOpen,
    );
    assert_error(
        settle(&mut suite, &m, &c, k, Side::Bid, 0).await,
        EnergyError::AsksNotSettled,
    );
    suite.set_time(start(&m, k) + 900 + 600).await;
    settle(&mut suite, &m, &p, k, Side::Ask, 0)
        .await
        .expect("settle at zero");
    settle(&mut suite, &m, &c, k, Side::Bid, 0)
        .await
        .expect("refund");
    assert_eq!(suite.token_balance(p.quote).await, 0);
    assert_eq!(
        suite.token_balance(c.quote).await,
        1_000,
        "nothing delivered, nothing paid"
    );
}

/// A paused network refuses readings, so a pause must not run their window out: a producer
/// is not settled at zero while the network is paused, nor within a whole reading window
/// after it resumes. One producer reports after the resume and is paid; the other never
/// does and settles at zero once that window has passed. (Before, the pause over the
/// deadline let anyone settle both at zero while their readings were refused.)
#[tokio::test]
async fn a_pause_over_the_reading_deadline_does_not_zero_producers() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (reporting, silent, c) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &reporting, k, 100, 1_000)
        .await
        .unwrap();
    ask(&mut suite, &m, &silent, k, 100, 1_000).await.unwrap();
    bid(&mut suite, &m, &c, k, 100, 2_000).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    let set_paused = |paused| {
        registry::update_network(
            &m.net.authority.pubkey(),
            &m.net.network,
            None,
            UpdateNetworkArgs {
                paused: Some(paused),
                ..Default::default()
            },
        )
    };

    // paused during the interval: the reading is refused within its window
    suite
        .send(&[set_paused(true)], &[&m.net.authority])
        .await
        .unwrap();
    let (end, delay) = (start(&m, k) + 900, 600);
    suite.set_time(end + 100).await;
    assert_error(
        read(&mut suite, &m, &reporting, k, 1_000, 0, 1).await,
        EnergyError::NetworkPaused,
    );
    // past the deadline, still paused: no producer settles at zero
    suite.set_time(end + delay + 1).await;
    assert_error(
        settle(&mut suite, &m, &reporting, k, Side::Ask, 0).await,
        EnergyError::NetworkPaused,
    );

    // resumed: a whole reading window from now before a missing reading counts as zero
    let resumed = end + delay + 60;
    suite.set_time(resumed).await;
    suite
        .send(&[set_paused(false)], &[&m.net.authority])
        .await
        .unwrap();
    let network: Network = suite.account(m.net.network).await;
    assert_eq!((network.paused, network.resumed_at), (false, resumed));
    assert_error(
        settle(&mut suite, &m, &silent, k, Side::Ask, 1).await,
        EnergyError::ReadingWindowOpen,
    );
    read(&mut suite, &m, &reporting, k, 1_000, 0, 1)
        .await
        .expect("the reading the pause refused, sent after the resume");
    settle(&mut suite, &m, &reporting, k, Side::Ask, 0)
        .await
        .expect("settled on its reading");
    suite.set_time(resumed + delay - 1).await;
    assert_error(
        settle(&mut suite, &m, &silent, k, Side::Ask, 1).await,
        EnergyError::ReadingWindowOpen,
    );
    suite.set_time(resumed + delay).await;
    settle(&mut suite, &m, &silent, k, Side::Ask, 1)
        .await
        .expect("no reading a whole window after the resume: zero");
    settle(&mut suite, &m, &c, k, Side::Bid, 0)
        .await
        .expect("the consumer pays for what was delivered");
    // 1,000 Wh delivered at 100 per kWh: 100, less the 2% grid fee to the producer
    assert_eq!(suite.token_balance(reporting.quote).await, 98);
    assert_eq!(suite.token_balance(silent.quote).await, 0);
    assert_eq!(suite.token_balance(c.quote).await, 1_000 - 100);
}

/// A bid that matched nothing is owed its whole escrow whatever the producers deliver: it is
/// refunded once the interval is over without waiting for the asks, even while a pause
/// holds back an ask without a reading (it waited for that ask, so for the pause). A bid
/// that matched still waits for every ask.
#[tokio::test]
async fn a_bid_that_matched_nothing_is_refunded_without_waiting_for_the_asks() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (p, matched, unmatched) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &p, k, 100, 1_000).await.unwrap();
    bid(&mut suite, &m, &matched, k, 100, 1_000).await.unwrap();
    // below the ask: it crosses nothing
    bid(&mut suite, &m, &unmatched, k, 50, 1_000).await.unwrap();
    assert_eq!(suite.token_balance(unmatched.quote).await, 1_000 - 50);
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    let b = book(&mut suite, &m, k).await;
    assert_eq!((b.bids[0].matched_wh, b.bids[1].matched_wh), (1_000, 0));

    // Given the interval over and the network paused with the ask's reading missing
    let pause = registry::update_network(
        &m.net.authority.pubkey(),
        &m.net.network,
        None,
        UpdateNetworkArgs {
            paused: Some(true),
            ..Default::default()
        },
    );
    suite.send(&[pause], &[&m.net.authority]).await.unwrap();
    let end = start(&m, k) + 900;
    suite.set_time(end + 600 + 1).await;
    assert_error(
        settle(&mut suite, &m, &p, k, Side::Ask, 0).await,
        EnergyError::NetworkPaused,
    );
    // Then the bid that matched still waits for the ask
    assert_error(
        settle(&mut suite, &m, &matched, k, Side::Bid, 0).await,
        EnergyError::AsksNotSettled,
    );
    // and the one that matched nothing is refunded whole
    settle(&mut suite, &m, &unmatched, k, Side::Bid, 1)
        .await
        .expect("an unmatched bid settles before the asks");
    assert_eq!(suite.token_balance(unmatched.quote).await, 1_000);
    let b = book(&mut suite, &m, k).await;
    assert_eq!((b.bids_done, b.asks_done), (1, 0));
    assert_eq!(b.bids[1].charge, 0);
    // once: settling it again is refused
    assert_error(
        settle(&mut suite, &m, &unmatched, k, Side::Bid, 1).await,
        EnergyError::OrderNotOpen,
    );
}

/// Orders as large as allowed, at the floor, cannot overflow the clearing: two asks of the
/// most the largest registrable meters can deliver and two bids of `MAX_ORDER_WH` each (a
/// bid escrows little at a floor of 1) clear beside an honest bid, which then settles.
/// (Before `MAX_ORDER_WH`, two of each at 2^63 Wh overflowed the volume for about 1.8e16
/// base units of escrow, and no bid of the interval could ever settle.)
#[tokio::test]
async fn the_largest_orders_still_clear() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let most = depin_core::energy::MAX_ORDER_WH;
    let capacity = depin_core::energy::ask_capacity_wh(u32::MAX, u32::MAX, 900);
    let escrow = depin_core::energy::bid_escrow(1, most).unwrap();
    let honest = party(&mut suite, &m, 1_000).await;
    let (a1, a2) = (
        party_with(&mut suite, &m, 0, largest_meter()).await,
        party_with(&mut suite, &m, 0, largest_meter()).await,
    );
    let (b1, b2) = (
        party(&mut suite, &m, escrow).await,
        party(&mut suite, &m, escrow).await,
    );
    let k = next_interval(&mut suite, &m).await;
    bid(&mut suite, &m, &honest, k, 200, 1_000).await.unwrap();
    ask(&mut suite, &m, &a1, k, 1, capacity).await.unwrap();
    ask(&mut suite, &m, &a2, k, 1, capacity).await.unwrap();
    bid(&mut suite, &m, &b1, k, 1, most).await.unwrap();
    bid(&mut suite, &m, &b2, k, 1, most).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k)
        .await
        .expect("the largest orders clear");
    let cleared = book(&mut suite, &m, k).await;
    // the honest bid (limit 200) fills first; the large bids take the rest of the asks
    assert_eq!(cleared.volume_wh, 2 * capacity);
    // no readings: the asks settle at zero after the window, then every bid is refunded
    suite.set_time(start(&m, k) + 900 + 600).await;
    for (p, slot) in [(&a1, 0), (&a2, 1)] {
        settle(&mut suite, &m, p, k, Side::Ask, slot)
            .await
            .expect("ask");
    }
    for (p, slot) in [(&honest, 0), (&b1, 1), (&b2, 2)] {
        settle(&mut suite, &m, p, k, Side::Bid, slot)
            .await
            .expect("bid");
    }
    assert_eq!(suite.token_balance(honest.quote).await, 1_000);
    for p in [&b1, &b2] {
        assert_eq!(suite.token_balance(p.quote).await, escrow);
    }
}

/// ... and they settle once delivered: two asks of the largest meters' capacity and two
/// bids of `MAX_ORDER_WH` at 1,000 per kWh, both asks metered in full, pay out to the unit:
/// the first bid takes both asks and pays for them, the second is refunded whole.
#[tokio::test]
async fn the_largest_orders_settle_when_delivered() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let most = depin_core::energy::MAX_ORDER_WH;
    let capacity = depin_core::energy::ask_capacity_wh(u32::MAX, u32::MAX, 900);
    let escrow = depin_core::energy::bid_escrow(1_000, most).unwrap();
    assert_eq!(escrow, most);
    let (a1, a2) = (
        party_with(&mut suite, &m, 0, largest_meter()).await,
        party_with(&mut suite, &m, 0, largest_meter()).await,
    );
    let (b1, b2) = (
        party(&mut suite, &m, escrow).await,
        party(&mut suite, &m, escrow).await,
    );
    let k = next_interval(&mut suite, &m).await;
    for p in [&a1, &a2] {
        ask(&mut suite, &m, p, k, 1_000, capacity).await.unwrap();
    }
    for p in [&b1, &b2] {
        bid(&mut suite, &m, p, k, 1_000, most).await.unwrap();
    }
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.expect("clear");
    let cleared = book(&mut suite, &m, k).await;
    assert_eq!(
        (cleared.clearing_price, cleared.volume_wh),
        (1_000, 2 * capacity)
    );
    suite.set_time(start(&m, k) + 900).await;
    for p in [&a1, &a2] {
        read(&mut suite, &m, p, k, capacity, 0, 1)
            .await
            .expect("reading");
    }
    for (p, slot) in [(&a1, 0), (&a2, 1)] {
        settle(&mut suite, &m, p, k, Side::Ask, slot)
            .await
            .expect("ask");
    }
    for (p, slot) in [(&b1, 0), (&b2, 1)] {
        settle(&mut suite, &m, p, k, Side::Bid, slot)
            .await
            .expect("bid");
    }
    // each ask: its capacity at 1,000 per kWh = capacity base units, less the 2% grid fee;
    // the first bid pays for both asks out of its escrow, the second matched nothing
    let fee = u64::try_from(u128::from(capacity) * 200 / 10_000).unwrap();
    for p in [&a1, &a2] {
        assert_eq!(suite.token_balance(p.quote).await, capacity - fee);
    }
    assert_eq!(suite.token_balance(b1.quote).await, escrow - 2 * capacity);
    assert_eq!(suite.token_balance(b2.quote).await, escrow);
    assert_eq!(suite.token_balance(m.energy.treasury).await, 2 * fee);
}

/// An ask offers at most what its meter can deliver in one interval: the panel's peak
/// output over the interval (rounded down) plus a full battery. One Wh more is refused
/// with `AskAboveCapacity` and takes neither a book slot nor the device's allowance.
#[tokio::test]
async fn an_ask_is_bounded_by_what_its_meter_can_deliver() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let panel = |watts| Capabilities {
        panel_watts: watts,
        ..Capabilities::default()
    };
    let battery = |wh| Capabilities {
        battery_wh: wh,
        ..Capabilities::default()
    };
    let home = party(&mut suite, &m, 0).await;
    let (solar, odd, stored) = (
        party_with(&mut suite, &m, 0, panel(5_000)).await,
        party_with(&mut suite, &m, 0, panel(7)).await,
        party_with(&mut suite, &m, 0, battery(2_000)).await,
    );
    let k = next_interval(&mut suite, &m).await;
    let market: EnergyMarket = suite.account(m.energy.market).await;
    // 5 kW over 15 minutes and a 13.5 kWh battery; 5 kW alone; 7 W (1.75 Wh, rounded
    // down); a 2 kWh battery alone
    for (p, capacity) in [
        (&home, 14_750),
        (&solar, 1_250),
        (&odd, 1),
        (&stored, 2_000),
    ] {
        // what a gateway computes from the accounts is the bound the program enforces
        let device: Device = suite.account(p.device.device).await;
        assert_eq!(
            energy::ask_capacity_wh(&device.capabilities, &market),
            capacity
        );
        for _ in 0..depin_core::energy::MAX_PLACEMENTS_PER_DEVICE {
            assert_error(
                ask(&mut suite, &m, p, k, 100, capacity + 1).await,
                EnergyError::AskAboveCapacity,
            );
        }
        // refused asks counted nothing: the allowance is whole and the next slot free
        ask(&mut suite, &m, p, k, 100, capacity)
            .await
            .expect("an ask of exactly the capacity");
    }
    let b = book(&mut suite, &m, k).await;
    assert_eq!(b.ask_count, 4);
    let asks: Vec<(Pubkey, u64)> = b.asks[..4].iter().map(|a| (a.device, a.wh)).collect();
    assert_eq!(
        asks,
        vec![
            (home.device.device, 14_750),
            (solar.device.device, 1_250),
            (odd.device.device, 1),
            (stored.device.device, 2_000),
        ]
    );
    // the bound is per interval length: an hour-long market lets the same panel offer
    // four times as much
    let hourly = market_with(
        &mut suite,
        depin_sdk::energy::InitializeEnergyMarketArgs {
            interval_secs: 3_600,
            ..default_energy_args()
        },
    )
    .await;
    let solar = party_with(&mut suite, &hourly, 0, panel(5_000)).await;
    let k = next_interval(&mut suite, &hourly).await;
    assert_error(
        ask(&mut suite, &hourly, &solar, k, 100, 5_001).await,
        EnergyError::AskAboveCapacity,
    );
    ask(&mut suite, &hourly, &solar, k, 100, 5_000)
        .await
        .expect("an hour of 5 kW");
}

/// A consumer's meter (no panel, no battery) can bid but not ask, and a meter that cannot
/// deliver cannot crowd out the producers that can: its `MAX_ORDER_WH` ask at the floor,
/// which would have taken the whole bid and delivered nothing, is refused, and the honest
/// producer sells and is paid.
#[tokio::test]
async fn a_meter_that_cannot_deliver_cannot_outbid_producers() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (honest, idle, c) = (
        party(&mut suite, &m, 0).await,
        party_with(&mut suite, &m, 10, Capabilities::default()).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    for wh in [1, depin_core::energy::MAX_ORDER_WH] {
        assert_error(
            ask(&mut suite, &m, &idle, k, 1, wh).await,
            EnergyError::AskAboveCapacity,
        );
    }
    // the consumer's meter still bids
    bid(&mut suite, &m, &idle, k, 1, 10)
        .await
        .expect("a consumer's meter bids");
    ask(&mut suite, &m, &honest, k, 100, 1_000).await.unwrap();
    bid(&mut suite, &m, &c, k, 1_000, 1_000).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    let b = book(&mut suite, &m, k).await;
    // the midpoint of the honest ask (100) and the bid (1,000)
    assert_eq!((b.clearing_price, b.volume_wh), (550, 1_000));
    suite.set_time(start(&m, k) + 900).await;
    read(&mut suite, &m, &honest, k, 1_000, 0, 1).await.unwrap();
    settle(&mut suite, &m, &honest, k, Side::Ask, 0)
        .await
        .unwrap();
    // 1 kWh at 550, less the 2% grid fee (11)
    assert_eq!(suite.token_balance(honest.quote).await, 539);
}

#[tokio::test]
async fn readings_signed_by_the_wrong_party_or_over_other_bytes() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (p, other) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 0).await,
    );
    let k = next_interval(&mut suite, &m).await;
    suite.set_time(start(&m, k) + 900).await;
    let payer = suite.payer();
    let reading = Reading {
        interval: k,
        produced_wh: 1_000,
        consumed_wh: 0,
        counter: 1,
    };
    let [sig_ix, submit_ix] = meter(&m, &p).reading_instructions(&payer, &reading);

    // a forged signature: the Ed25519 precompile itself rejects the transaction
    let mut forged = sig_ix.clone();
    forged.data[16 + 32] ^= 1;
    let result = suite.send(&[forged, submit_ix.clone()], &[]).await;
    // PrecompileError::InvalidSignature
    assert_instruction_error(result, InstructionError::Custom(2));

    // a valid signature by another device's key over the same message
    let impostor = MeterSigner {
        key: &other.device.key,
        device: p.device.device,
        network: m.net.network,
    };
    let [other_sig, _] = impostor.reading_instructions(&payer, &reading);
    assert_error(
        suite.send(&[other_sig, submit_ix.clone()], &[]).await,
        EnergyError::WrongSigner,
    );

    // the device signed 1000 Wh, the instruction claims 2000
    let inflated = energy::submit_reading(
        &payer,
        &m.net.network,
        &p.device.device,
        depin_sdk::energy::SubmitReadingArgs {
            interval: k,
            produced_wh: 2_000,
            consumed_wh: 0,
            counter: 1,
        },
    );
    assert_error(
        suite.send(&[sig_ix.clone(), inflated], &[]).await,
        EnergyError::MessageMismatch,
    );

    // no signature instruction at all, or one whose key lives in another instruction
    assert_error(
        suite.send(std::slice::from_ref(&submit_ix), &[]).await,
        EnergyError::MissingSignature,
    );
    // a signature instruction that verifies fine but whose key and message live in another
    // instruction: the precompile accepts it, the program must not
    let mut pointer = vec![1u8, 0];
    for field in [48u16, 0, 16, 0, 112, 110, 0] {
        pointer.extend_from_slice(&field.to_le_bytes());
    }
    let pointing = Instruction {
        program_id: depin_sdk::energy::ED25519_PROGRAM_ID,
        accounts: vec![],
        data: pointer,
    };
    let result = suite
        .send(&[sig_ix.clone(), pointing, submit_ix.clone()], &[])
        .await;
    assert_error(result, EnergyError::MalformedSignature);

    assert!(
        !suite
            .exists(pda::meter_reading(&p.device.device, k).0)
            .await
    );
    // and the genuine pair is accepted
    suite
        .send(&[sig_ix, submit_ix], &[])
        .await
        .expect("genuine reading");
    let stored: MeterReading = suite
        .account(pda::meter_reading(&p.device.device, k).0)
        .await;
    assert_eq!((stored.produced_wh, stored.counter), (1_000, 1));
}

#[tokio::test]
async fn replayed_and_stale_counters() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let p = party(&mut suite, &m, 0).await;
    let k = next_interval(&mut suite, &m).await;
    suite.set_time(start(&m, k + 2) + 900).await;
    read(&mut suite, &m, &p, k, 10, 0, 5).await.expect("first");
    // the same signed reading again: same interval
    assert_error(
        read(&mut suite, &m, &p, k, 10, 0, 6).await,
        EnergyError::ReadingAlreadySubmitted,
    );
    // a later interval with the same or a lower counter
    assert_error(
        read(&mut suite, &m, &p, k + 1, 10, 0, 5).await,
        EnergyError::StaleCounter,
    );
    assert_error(
        read(&mut suite, &m, &p, k + 1, 10, 0, 4).await,
        EnergyError::StaleCounter,
    );
    read(&mut suite, &m, &p, k + 1, 10, 0, 6)
        .await
        .expect("next");
    let meter_state: Meter = suite
        .account(pda::meter(&m.energy.market, &p.device.device).0)
        .await;
    assert_eq!((meter_state.last_counter, meter_state.readings), (6, 2));
    // a reading for an interval that is not over
    assert_error(
        read(&mut suite, &m, &p, k + 10, 10, 0, 7).await,
        EnergyError::IntervalNotOver,
    );
}

#[tokio::test]
async fn a_gateway_batches_two_meters_per_transaction() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let parties = [
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 0).await,
    ];
    let k = next_interval(&mut suite, &m).await;
    suite.set_time(start(&m, k) + 900).await;
    let payer = suite.payer();
    let readings: Vec<(MeterSigner, Reading)> = parties
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                meter(&m, p),
                Reading {
                    interval: k,
                    produced_wh: 100 * i as u64,
                    consumed_wh: 7,
                    counter: 1,
                },
            )
        })
        .collect();
    let batches = batch_readings(&payer, &readings);
    // a compute-unit limit, then (Ed25519, submit_reading) per meter
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 3]);
    for batch in &batches {
        assert_eq!(batch[0].program_id, depin_sdk::compute::COMPUTE_BUDGET_ID);
        assert_eq!(
            u32::from_le_bytes(batch[0].data[1..5].try_into().unwrap()),
            depin_sdk::compute::compute_unit_limit(&batch[1..])
        );
        let tx = suite.transaction(batch, &[]).await.expect("tx");
        let size = bincode_size(&tx);
        assert!(size <= 1232, "transaction of {size} bytes exceeds a packet");
        suite.send(batch, &[]).await.expect("batch");
    }
    for (i, p) in parties.iter().enumerate() {
        let stored: MeterReading = suite
            .account(pda::meter_reading(&p.device.device, k).0)
            .await;
        assert_eq!(stored.produced_wh, 100 * i as u64);
    }
}

/// Serialized size of a legacy transaction: signatures and message, as the wire carries it.
fn bincode_size(tx: &solana_transaction::Transaction) -> usize {
    let message = tx.message.serialize();
    1 + 64 * tx.signatures.len() + message.len()
}

#[tokio::test]
async fn order_errors() {
    let mut suite = Suite::start().await;
    let m = market_with(
        &mut suite,
        depin_sdk::energy::InitializeEnergyMarketArgs {
            max_orders_per_interval: 2,
            ..default_energy_args()
        },
    )
    .await;
    let (p, c, stranger) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 10_000).await,
        party(&mut suite, &m, 0).await,
    );
    let k = next_interval(&mut suite, &m).await;

    assert_error(
        ask(&mut suite, &m, &p, k, 0, 10).await,
        EnergyError::PriceOutOfBounds,
    );
    assert_error(
        ask(&mut suite, &m, &p, k, 1_000_001, 10).await,
        EnergyError::PriceOutOfBounds,
    );
    assert_error(
        bid(&mut suite, &m, &c, k, 10, 0).await,
        EnergyError::ZeroVolume,
    );
    let too_large = depin_core::energy::MAX_ORDER_WH + 1;
    assert_error(
        ask(&mut suite, &m, &p, k, 10, too_large).await,
        EnergyError::OrderTooLarge,
    );
    assert_error(
        bid(&mut suite, &m, &c, k, 10, too_large).await,
        EnergyError::OrderTooLarge,
    );
    // someone else's device
    let ix = energy::place_ask(
        &stranger.op.wallet.pubkey(),
        &m.net.network,
        &p.device.device,
        PlaceAskArgs {
            interval: k,
            price: 10,
            wh: 10,
        },
    );
    assert_error(
        suite.send(&[ix], &[&stranger.op.wallet]).await,
        EnergyError::NotDeviceOwner,
    );

    // one open order per device and side: a device cannot fill the book alone
    ask(&mut suite, &m, &p, k, 10, 10).await.unwrap();
    assert_error(
        ask(&mut suite, &m, &p, k, 11, 10).await,
        EnergyError::DuplicateOrder,
    );
    // a full book (two asks here)
    ask(&mut suite, &m, &stranger, k, 11, 10).await.unwrap();
    assert_error(
        ask(&mut suite, &m, &c, k, 12, 10).await,
        EnergyError::BookFull,
    );

    // cancelling: only the owner, only once, and the escrow comes back
    bid(&mut suite, &m, &c, k, 100, 1_000).await.unwrap();
    assert_error(
        cancel(&mut suite, &m, &stranger, k, Side::Bid, 0).await,
        EnergyError::NotOrderOwner,
    );
    cancel(&mut suite, &m, &c, k, Side::Bid, 0)
        .await
        .expect("cancel");
    assert_eq!(suite.token_balance(c.quote).await, 10_000);
    assert_error(
        cancel(&mut suite, &m, &c, k, Side::Bid, 0).await,
        EnergyError::OrderNotOpen,
    );
    assert_error(
        cancel(&mut suite, &m, &c, k, Side::Bid, 5).await,
        EnergyError::NoSuchOrder,
    );

    // clearing too early, then after gate closure no more orders or cancellations
    assert_error(clear(&mut suite, &m, k).await, EnergyError::GateNotClosed);
    suite.set_time(start(&m, k) - 300).await;
    assert_error(
        bid(&mut suite, &m, &c, k, 100, 10).await,
        EnergyError::GateClosed,
    );
    assert_error(
        cancel(&mut suite, &m, &p, k, Side::Ask, 0).await,
        EnergyError::GateClosed,
    );
    clear(&mut suite, &m, k).await.expect("clear");
    assert_error(clear(&mut suite, &m, k).await, EnergyError::AlreadyCleared);
}

async fn cancel(
    suite: &mut Suite,
    m: &Market,
    p: &Party,
    interval: u64,
    side: Side,
    slot: u8,
) -> Result<(), SendError> {
    let ix = energy::cancel_order(
        &p.op.wallet.pubkey(),
        &m.net.network,
        &m.energy.quote,
        &p.quote,
        OrderRef {
            interval,
            side,
            slot,
        },
    );
    suite.send(&[ix], &[&p.op.wallet]).await
}

/// Regression (security review, energy 3): one device used to fill an interval's book for
/// free by placing and cancelling an ask 32 times; the next honest producer got `BookFull`.
#[tokio::test]
async fn place_ask_one_device_cannot_fill_the_book() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (spammer, honest) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 0).await,
    );
    let k = next_interval(&mut suite, &m).await;
    // Given a device that places and cancels as often as it is allowed
    let allowance = depin_core::energy::MAX_PLACEMENTS_PER_DEVICE;
    for price in 0..u64::from(allowance) {
        ask(&mut suite, &m, &spammer, k, 10 + price, 10)
            .await
            .unwrap();
        cancel(&mut suite, &m, &spammer, k, Side::Ask, 0)
            .await
            .unwrap();
    }
    // Then its cancelled orders hold no capacity: it reused one slot throughout
    let b = book(&mut suite, &m, k).await;
    assert_eq!((b.ask_count, b.asks_done), (1, 1));
    // and its churn stops at the allowance
    assert_error(
        ask(&mut suite, &m, &spammer, k, 10, 10).await,
        EnergyError::TooManyPlacements,
    );
    // while the honest producer gets the freed slot
    ask(&mut suite, &m, &honest, k, 20, 10).await.unwrap();
    let b = book(&mut suite, &m, k).await;
    assert_eq!((b.ask_count, b.asks_done), (1, 0));
    assert_eq!(b.asks[0].device, honest.device.device);
    // and the allowance is per side: the spammer's device may still bid
    let meter: Meter = suite
        .account(pda::meter(&m.energy.market, &spammer.device.device).0)
        .await;
    assert_eq!(
        (
            meter.tallies[0].interval,
            meter.tallies[0].asks,
            meter.tallies[0].bids
        ),
        (k, allowance, 0)
    );
}

/// Filling a side of the book takes as many devices as it has slots; a cancelled slot is
/// reused by the next order, and ties still go to the earlier order, wherever it sits.
#[tokio::test]
async fn place_order_filling_a_side_takes_a_device_per_slot() {
    let mut suite = Suite::start().await;
    let m = market_with(
        &mut suite,
        depin_sdk::energy::InitializeEnergyMarketArgs {
            max_orders_per_interval: 3,
            ..default_energy_args()
        },
    )
    .await;
    let mut producers = Vec::new();
    for _ in 0..4 {
        producers.push(party(&mut suite, &m, 0).await);
    }
    let consumer = party(&mut suite, &m, 1_000).await;
    let k = next_interval(&mut suite, &m).await;
    for p in &producers[..3] {
        ask(&mut suite, &m, p, k, 100, 400).await.unwrap();
    }
    assert_error(
        ask(&mut suite, &m, &producers[3], k, 100, 400).await,
        EnergyError::BookFull,
    );
    // the first producer withdraws; the fourth takes its slot (slot 0) and is the latest
    cancel(&mut suite, &m, &producers[0], k, Side::Ask, 0)
        .await
        .unwrap();
    ask(&mut suite, &m, &producers[3], k, 100, 400)
        .await
        .unwrap();
    let b = book(&mut suite, &m, k).await;
    assert_eq!(b.asks[0].device, producers[3].device.device);
    assert!(b.asks[0].seq > b.asks[2].seq, "arrival order is kept");
    // a 600 Wh bid at the same price fills the two earlier asks first (slots 1 and 2)
    bid(&mut suite, &m, &consumer, k, 100, 600).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    let b = book(&mut suite, &m, k).await;
    assert_eq!(
        (
            b.asks[1].matched_wh,
            b.asks[2].matched_wh,
            b.asks[0].matched_wh
        ),
        (400, 200, 0)
    );
    assert_eq!(b.bids[0].matched_wh, 600);
}

/// A device trades in a bounded number of intervals whose gates are open; an entry frees
/// up once its interval's gate has closed.
#[tokio::test]
async fn place_ask_too_many_open_intervals() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let p = party(&mut suite, &m, 0).await;
    let k = next_interval(&mut suite, &m).await;
    let open = depin_sdk::energy_program::state::MAX_OPEN_INTERVALS as u64;
    for i in 0..open {
        ask(&mut suite, &m, &p, k + i, 10, 10).await.unwrap();
    }
    assert_error(
        ask(&mut suite, &m, &p, k + open, 10, 10).await,
        EnergyError::TooManyOpenIntervals,
    );
    // once interval k's gate has closed, its entry serves a new interval
    suite.set_time(start(&m, k) - 300).await;
    ask(&mut suite, &m, &p, k + open, 10, 10).await.unwrap();
    let meter: Meter = suite
        .account(pda::meter(&m.energy.market, &p.device.device).0)
        .await;
    assert!(meter.tallies.iter().any(|t| t.interval == k + open));
    assert!(meter.tallies.iter().all(|t| t.interval != k));
}

#[tokio::test]
async fn settlement_errors() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (p, c) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &p, k, 100, 1_000).await.unwrap();
    bid(&mut suite, &m, &c, k, 100, 1_000).await.unwrap();
    assert_error(
        settle(&mut suite, &m, &p, k, Side::Ask, 0).await,
        EnergyError::NotCleared,
    );
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    assert_error(
        settle(&mut suite, &m, &p, k, Side::Ask, 0).await,
        EnergyError::IntervalNotOver,
    );
    suite.set_time(start(&m, k) + 900).await;
    read(&mut suite, &m, &p, k, 1_000, 0, 1).await.unwrap();

    // paying the consumer's account for the producer's ask
    let ix = energy::settle_order(
        &m.net.network,
        &m.energy.quote,
        &m.energy.treasury,
        &p.device.device,
        &c.quote,
        OrderRef {
            interval: k,
            side: Side::Ask,
            slot: 0,
        },
    );
    assert_error(suite.send(&[ix], &[]).await, EnergyError::WrongRecipient);
    // passing another device's reading address
    let ix = energy::settle_order(
        &m.net.network,
        &m.energy.quote,
        &m.energy.treasury,
        &c.device.device,
        &p.quote,
        OrderRef {
            interval: k,
            side: Side::Ask,
            slot: 0,
        },
    );
    assert_error(suite.send(&[ix], &[]).await, EnergyError::WrongReading);
    // passing another account for the market's network (whose pause it must see)
    let mut ix = energy::settle_order(
        &m.net.network,
        &m.energy.quote,
        &m.energy.treasury,
        &p.device.device,
        &p.quote,
        OrderRef {
            interval: k,
            side: Side::Ask,
            slot: 0,
        },
    );
    assert_eq!(ix.accounts[1].pubkey, m.net.network);
    ix.accounts[1].pubkey = Pubkey::new_unique();
    assert_error(suite.send(&[ix], &[]).await, EnergyError::UnexpectedAccount);
    settle(&mut suite, &m, &p, k, Side::Ask, 0)
        .await
        .expect("settle");
    assert_error(
        settle(&mut suite, &m, &p, k, Side::Ask, 0).await,
        EnergyError::OrderNotOpen,
    );
    // the bid is not settled yet: the book stays open
    let close = energy::close_interval(&m.net.network, k, &p.op.wallet.pubkey());
    assert_error(
        suite.send(&[close], &[]).await,
        EnergyError::IntervalNotSettled,
    );
    assert_eq!(suite.token_balance(p.quote).await, 98);
}

#[tokio::test]
async fn market_and_network_errors() {
    let mut suite = Suite::start().await;
    // a wireless network has no energy market
    let wireless = suite.create_network(NetworkParams::default()).await;
    let result = suite
        .create_energy_market(&wireless, default_energy_args())
        .await
        .map(|_| ());
    assert_error(result, EnergyError::NotEnergyNetwork);

    let m = market(&mut suite).await;
    let again = suite
        .create_energy_market(&m.net, default_energy_args())
        .await
        .map(|_| ());
    assert_error(again, EnergyError::MarketAlreadyExists);
    let net2 = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Energy,
            ..NetworkParams::default()
        })
        .await;
    let bad = depin_sdk::energy::InitializeEnergyMarketArgs {
        price_floor: 10,
        price_cap: 9,
        ..default_energy_args()
    };
    assert_error(
        suite.create_energy_market(&net2, bad).await.map(|_| ()),
        EnergyError::InvalidMarketParams,
    );
    let too_long = depin_core::epoch::MAX_DURATION_SECS + 1;
    for bad in [
        depin_sdk::energy::InitializeEnergyMarketArgs {
            max_orders_per_interval: 33,
            ..default_energy_args()
        },
        depin_sdk::energy::InitializeEnergyMarketArgs {
            interval_secs: too_long,
            ..default_energy_args()
        },
        depin_sdk::energy::InitializeEnergyMarketArgs {
            gate_closure_secs: too_long,
            ..default_energy_args()
        },
        depin_sdk::energy::InitializeEnergyMarketArgs {
            settlement_delay_secs: too_long,
            ..default_energy_args()
        },
        // an empty reading window: readings and settlement at zero would open together, and
        // any cranker could settle producers at zero before their readings landed
        depin_sdk::energy::InitializeEnergyMarketArgs {
            settlement_delay_secs: 0,
            ..default_energy_args()
        },
        depin_sdk::energy::InitializeEnergyMarketArgs {
            settlement_delay_secs: depin_core::energy::MIN_SETTLEMENT_DELAY_SECS - 1,
            ..default_energy_args()
        },
        // a floor of 0 lets free bids of any size overflow the clearing volume
        depin_sdk::energy::InitializeEnergyMarketArgs {
            price_floor: 0,
            ..default_energy_args()
        },
    ] {
        assert_error(
            suite.create_energy_market(&net2, bad).await.map(|_| ()),
            EnergyError::InvalidMarketParams,
        );
    }

    // a suspended meter cannot trade; a paused network takes no orders or readings
    let p = party(&mut suite, &m, 0).await;
    let k = next_interval(&mut suite, &m).await;
    let suspend = registry::set_device_status(
        &m.net.authority.pubkey(),
        &m.net.network,
        &p.device.key.pubkey(),
        DeviceStatus::Suspended,
    );
    suite.send(&[suspend], &[&m.net.authority]).await.unwrap();
    assert_error(
        ask(&mut suite, &m, &p, k, 10, 10).await,
        EnergyError::DeviceNotActive,
    );
    let reactivate = registry::set_device_status(
        &m.net.authority.pubkey(),
        &m.net.network,
        &p.device.key.pubkey(),
        DeviceStatus::Active,
    );
    suite
        .send(&[reactivate], &[&m.net.authority])
        .await
        .unwrap();
    let pause = registry::update_network(
        &m.net.authority.pubkey(),
        &m.net.network,
        None,
        UpdateNetworkArgs {
            paused: Some(true),
            ..Default::default()
        },
    );
    suite.send(&[pause], &[&m.net.authority]).await.unwrap();
    assert_error(
        ask(&mut suite, &m, &p, k, 10, 10).await,
        EnergyError::NetworkPaused,
    );
    suite.set_time(start(&m, k) + 900).await;
    assert_error(
        read(&mut suite, &m, &p, k, 1, 0, 1).await,
        EnergyError::NetworkPaused,
    );
    let _ = (
        assert_instruction_error,
        InstructionError::Custom(0),
        Keypair::new(),
    );
}

/// A producer with no stablecoin account cannot hold up the interval: the cranker's
/// settlement creates the producer's associated account and pays into it.
#[tokio::test]
async fn a_producer_without_an_account_is_paid_into_a_new_one() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let op = suite.add_operator(&m.net, 1_000_000_000).await;
    let device = suite.onboard(&m.net, &m.maker, &op).await.unwrap();
    let c = party(&mut suite, &m, 1_000).await;
    let k = next_interval(&mut suite, &m).await;
    let ix = energy::place_ask(
        &op.wallet.pubkey(),
        &m.net.network,
        &device.device,
        PlaceAskArgs {
            interval: k,
            price: 100,
            wh: 1_000,
        },
    );
    suite.send(&[ix], &[&op.wallet]).await.unwrap();
    bid(&mut suite, &m, &c, k, 100, 1_000).await.unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    suite.set_time(start(&m, k) + 900 + 600).await;
    let ata = energy::quote_account(&op.wallet.pubkey(), &m.energy.quote);
    assert!(!suite.exists(ata).await);
    let producer = Party {
        op,
        device,
        quote: ata,
    };
    read(&mut suite, &m, &producer, k, 1_000, 0, 1)
        .await
        .unwrap();
    settle(&mut suite, &m, &producer, k, Side::Ask, 0)
        .await
        .expect("settle creates the account");
    assert_eq!(suite.token_balance(ata).await, 98); // 100 less the 2% grid fee
    settle(&mut suite, &m, &c, k, Side::Bid, 0)
        .await
        .expect("consumers are not blocked");
    assert_eq!(suite.token_balance(c.quote).await, 900);
}

#[tokio::test]
async fn market_authority_treasury_and_foreign_devices() {
    let mut suite = Suite::start().await;
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Energy,
            ..NetworkParams::default()
        })
        .await;
    let quote = depin_sdk::energy::QuoteToken {
        mint: suite.create_mint(&net.token.token_program, 6).await,
        token_program: net.token.token_program,
    };
    let treasury = suite
        .create_token_account(
            &quote.token_program,
            &quote.mint,
            &net.treasury_owner.pubkey(),
        )
        .await;
    let stranger = Keypair::new();
    let ix = energy::initialize_energy_market(
        &suite.payer(),
        &stranger.pubkey(),
        &net.network,
        &quote,
        &net.treasury,
        &treasury,
        default_energy_args(),
    );
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        EnergyError::NotNetworkAuthority,
    );
    let foreign = suite
        .create_token_account(&quote.token_program, &quote.mint, &stranger.pubkey())
        .await;
    let ix = energy::initialize_energy_market(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &quote,
        &net.treasury,
        &foreign,
        default_energy_args(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        EnergyError::TreasuryMismatch,
    );

    // a meter of another energy network cannot trade or report here
    let m = market(&mut suite).await;
    let other = market(&mut suite).await;
    let outsider = party(&mut suite, &other, 0).await;
    let k = next_interval(&mut suite, &m).await;
    let ix = energy::place_ask(
        &outsider.op.wallet.pubkey(),
        &m.net.network,
        &outsider.device.device,
        PlaceAskArgs {
            interval: k,
            price: 10,
            wh: 10,
        },
    );
    assert_error(
        suite.send(&[ix], &[&outsider.op.wallet]).await,
        EnergyError::WrongNetwork,
    );
    suite.set_time(start(&m, k) + 900).await;
    let signer = MeterSigner {
        key: &outsider.device.key,
        device: outsider.device.device,
        network: m.net.network,
    };
    let ixs = signer.reading_instructions(
        &suite.payer(),
        &Reading {
            interval: k,
            produced_wh: 1,
            consumed_wh: 1,
            counter: 1,
        },
    );
    assert_error(suite.send(&ixs, &[]).await, EnergyError::WrongNetwork);
}

/// Regression (review 2026-11-28): the market kept the treasury it was created with, so
/// once the authority rotated the network treasury (a leaked key) and the old owner closed
/// its quote-mint account, no order could settle and every bid's escrow was frozen.
#[tokio::test]
async fn a_closed_treasury_freezes_nothing_once_the_market_is_synced() {
    let mut suite = Suite::start().await;
    let m = market(&mut suite).await;
    let (producer, consumer) = (
        party(&mut suite, &m, 0).await,
        party(&mut suite, &m, 1_000).await,
    );
    let k = next_interval(&mut suite, &m).await;
    ask(&mut suite, &m, &producer, k, 100, 1_000).await.unwrap();
    bid(&mut suite, &m, &consumer, k, 1_000, 1_000)
        .await
        .unwrap();
    suite.set_time(start(&m, k) - 300).await;
    clear(&mut suite, &m, k).await.unwrap();
    suite.set_time(start(&m, k) + 900).await;
    read(&mut suite, &m, &producer, k, 1_000, 0, 1)
        .await
        .unwrap();

    let rotated = suite.rotate_treasury(&m.net).await;
    let quote_program = m.energy.quote.token_program;
    suite
        .close_token_account(&quote_program, &m.energy.treasury, &m.net.treasury_owner)
        .await;
    let new_treasury = suite
        .create_token_account(
            &quote_program,
            &m.energy.quote.mint,
            &rotated.owner.pubkey(),
        )
        .await;
    let ask_ref = (k, Side::Ask, 0);
    // the market still names the closed account, and refuses any other
    assert_error(
        settle(&mut suite, &m, &producer, k, Side::Ask, 0).await,
        anchor_lang::error::ErrorCode::AccountNotInitialized,
    );
    assert_error(
        settle_to(&mut suite, &m, &producer, ask_ref, new_treasury).await,
        anchor_lang::error::ErrorCode::ConstraintHasOne,
    );

    let sync = |network_treasury: Pubkey, treasury: Pubkey| {
        energy::sync_treasury(&m.net.network, &network_treasury, &treasury)
    };
    let wrong_mint = suite
        .create_token_account(&quote_program, &m.net.token.mint, &rotated.owner.pubkey())
        .await;
    let old_owner = suite
        .create_token_account(
            &quote_program,
            &m.energy.quote.mint,
            &m.net.treasury_owner.pubkey(),
        )
        .await;
    for (network_treasury, treasury) in [
        (rotated.treasury, wrong_mint),
        (rotated.treasury, old_owner),
        (m.net.treasury, old_owner),
    ] {
        assert_error(
            suite.send(&[sync(network_treasury, treasury)], &[]).await,
            EnergyError::TreasuryMismatch,
        );
    }
    suite
        .send(&[sync(rotated.treasury, new_treasury)], &[])
        .await
        .expect("sync");
    let market: EnergyMarket = suite.account(m.energy.market).await;
    assert_eq!(market.treasury, new_treasury);

    settle_to(&mut suite, &m, &producer, ask_ref, new_treasury)
        .await
        .expect("the ask settles");
    settle_to(&mut suite, &m, &consumer, (k, Side::Bid, 0), new_treasury)
        .await
        .expect("the bid settles");
    // 1 kWh at 550: the producer is paid 539 after the 2% grid fee, which goes to the new
    // treasury; the consumer pays 550 and gets the rest of its 1,000 back
    assert_eq!(suite.token_balance(producer.quote).await, 539);
    assert_eq!(suite.token_balance(consumer.quote).await, 1_000 - 550);
    assert_eq!(suite.token_balance(new_treasury).await, 11);
    let b = book(&mut suite, &m, k).await;
    let ix = energy::close_interval(&m.net.network, k, &b.rent_payer);
    suite.send(&[ix], &[]).await.expect("the interval closes");
}
