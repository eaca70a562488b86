//! An energy network: orders placed, cancelled and churned, books cleared, meters read
//! (and their signed readings replayed), orders settled, books closed, with the model of
//! every book and of the escrow vault.

use std::collections::BTreeMap;

use depin_core::energy::{
    ask_capacity_wh, bid_escrow, clear, record_placement, settle_consumer, settle_producer, Order,
    PlacementTally,
};
use depin_sdk::accounts::NetworkKind;
use depin_sdk::energy::{
    self, InitializeEnergyMarketArgs, MeterSigner, OrderRef, PlaceAskArgs, PlaceBidArgs, Reading,
    Side,
};
use depin_sdk::energy_program::state::MAX_OPEN_INTERVALS;
use depin_sdk::registry::{Capabilities, OnboardDeviceArgs};
use depin_sdk::{Instruction, Pubkey};
use depin_tests::fixture::{
    default_energy_args, default_meter_args, DeviceFixture, EnergyFixture, NetworkFixture,
    NetworkParams, OperatorFixture,
};
use depin_tests::Signer;

use crate::Ctx;

const MAX_ORDERS: u8 = 4;
const QUOTE: u64 = 10_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Open,
    Cancelled,
    Settled,
}

#[derive(Clone, Copy, Debug)]
struct OrderM {
    meter: usize,
    price: u64,
    wh: u64,
    escrow: u64,
    seq: u16,
    status: Status,
    matched: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Book {
    Open,
    Cleared,
    Settled,
    Closed,
}

struct IntervalM {
    index: u64,
    state: Book,
    asks: Vec<OrderM>,
    bids: Vec<OrderM>,
    next_seq: u16,
    price: u64,
    volume: u64,
    delivered: u64,
    charged: u64,
    gross_paid: u64,
    /// What the vault holds for this book.
    vault: u64,
}

struct MeterM {
    op: OperatorFixture,
    device: DeviceFixture,
    quote: Pubkey,
    /// The most it may ask in one interval (`ask_capacity_wh` of its capabilities).
    capacity: u64,
    balance: u64,
    counter: u64,
    tallies: [PlacementTally; MAX_OPEN_INTERVALS],
    /// Produced Wh per interval read.
    readings: BTreeMap<u64, u64>,
    /// The last reading's instructions, as a relayer saw them.
    last_reading: Option<[Instruction; 2]>,
}

pub struct Energy {
    net: NetworkFixture,
    market: EnergyFixture,
    meters: Vec<MeterM>,
    books: BTreeMap<u64, IntervalM>,
    treasury: u64,
}

impl Energy {
    pub async fn setup(ctx: &mut Ctx) -> Self {
        let s = &mut ctx.suite;
        let net = s
            .create_network(NetworkParams {
                kind: NetworkKind::Energy,
                ..NetworkParams::default()
            })
            .await;
        let maker = s.add_maker(&net, "Meterco", 20, true).await;
        let market = s
            .create_energy_market(
                &net,
                InitializeEnergyMarketArgs {
                    max_orders_per_interval: MAX_ORDERS,
                    ..default_energy_args()
                },
            )
            .await
            .expect("energy market");
        let mut meters = Vec::new();
        // (panel W, battery Wh): asks reach 2,000 Wh, so in 15-minute intervals three
        // meters' capacity never binds, two bind at 1,000 and 1,500 Wh (a panel alone, a
        // battery alone), and the last (a consumer's meter) cannot ask at all
        let capabilities = [
            (5_000, 13_500),
            (4_000, 0),
            (5_000, 13_500),
            (0, 1_500),
            (5_000, 13_500),
            (0, 0),
        ];
        for (panel_watts, battery_wh) in capabilities {
            let op = s.add_operator(&net, 1_000_000_000).await;
            let args = OnboardDeviceArgs {
                capabilities: Capabilities {
                    panel_watts,
                    battery_wh,
                    ..Capabilities::default()
                },
                ..default_meter_args()
            };
            let device = s
                .onboard_with(&net, &maker, &op, args)
                .await
                .expect("meter");
            let quote = s.quote_account(&market, &op.wallet.pubkey(), QUOTE).await;
            meters.push(MeterM {
                op,
                device,
                quote,
                capacity: ask_capacity_wh(panel_watts, battery_wh, market.args.interval_secs),
                balance: QUOTE,
                counter: 0,
                tallies: Default::default(),
                readings: BTreeMap::new(),
                last_reading: None,
            });
        }
        Energy {
            net,
            market,
            meters,
            books: BTreeMap::new(),
            treasury: 0,
        }
    }

    fn args(&self) -> &InitializeEnergyMarketArgs {
        &self.market.args
    }

    fn start(&self, k: u64) -> i64 {
        (k * self.args().interval_secs) as i64
    }

    fn gate(&self, k: u64) -> i64 {
        self.start(k) - self.args().gate_closure_secs as i64
    }

    fn end(&self, k: u64) -> i64 {
        self.start(k + 1)
    }

    fn deadline(&self, k: u64) -> i64 {
        self.end(k) + self.args().settlement_delay_secs as i64
    }

    /// An interval the step acts on: mostly a known book for which `useful` holds, or one a
    /// little ahead (whose gate is usually open).
    async fn interval(&self, ctx: &mut Ctx, useful: impl Fn(&IntervalM) -> bool) -> u64 {
        let now = ctx.now().await as u64;
        let ahead = now / self.args().interval_secs + 1 + ctx.rng.below(3);
        let keys: Vec<u64> = self.books.keys().copied().collect();
        let fits: Vec<u64> = keys
            .iter()
            .copied()
            .filter(|k| useful(&self.books[k]))
            .collect();
        if !fits.is_empty() && ctx.rng.chance(75) {
            fits[ctx.rng.index(fits.len())]
        } else if !keys.is_empty() && ctx.rng.chance(20) {
            keys[ctx.rng.index(keys.len())]
        } else {
            ahead
        }
    }

    pub async fn step(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        if ctx.rng.chance(50) {
            return self.progress(ctx).await;
        }
        match ctx.rng.below(12) {
            0..=2 => self.place(ctx).await,
            3 => self.cancel(ctx).await,
            4 => self.clear(ctx).await,
            5 => self.read(ctx).await,
            6 => self.replay_reading(ctx).await,
            7 | 8 => self.settle(ctx).await,
            9 => self.close(ctx).await,
            _ => {
                let secs = if ctx.rng.chance(50) {
                    ctx.rng.below(self.args().interval_secs)
                } else {
                    self.args().interval_secs + self.args().settlement_delay_secs
                };
                ctx.suite.advance_time(secs as i64).await;
                ctx.trace.push(format!("advance {secs} s"));
                Ok(())
            }
        }
    }

    /// What the market's participants would do next for some book (place, clear, read,
    /// settle, close), or the passing of time.
    async fn progress(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let mut next: Vec<u8> = Vec::new();
        for (&k, b) in &self.books {
            match b.state {
                Book::Open if now < self.gate(k) => next.push(0),
                Book::Open => next.push(1),
                Book::Cleared if now >= self.end(k) => {
                    let unread = b.asks.iter().any(|o| {
                        o.status == Status::Open
                            && o.matched > 0
                            && !self.meters[o.meter].readings.contains_key(&k)
                    });
                    next.push(if unread && now < self.deadline(k) {
                        2
                    } else {
                        3
                    });
                }
                Book::Settled => next.push(4),
                _ => {}
            }
        }
        if self.books.values().all(|b| b.state == Book::Closed) || ctx.rng.chance(20) {
            next.push(0);
        }
        if next.is_empty() {
            ctx.suite
                .advance_time(self.args().gate_closure_secs as i64)
                .await;
            ctx.trace
                .push(format!("advance {} s", self.args().gate_closure_secs));
            return Ok(());
        }
        match next[ctx.rng.index(next.len())] {
            0 => self.place(ctx).await,
            1 => self.clear(ctx).await,
            2 => self.read(ctx).await,
            3 => self.settle(ctx).await,
            _ => self.close(ctx).await,
        }
    }

    async fn place(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let k = self.interval(ctx, |b| b.state == Book::Open).await;
        let ask = ctx.rng.chance(50);
        let book = self.books.get(&k);
        let meters = &self.meters;
        let m = ctx.rng.prefer(meters.len(), |m| {
            (!ask || meters[m].capacity > 0)
                && book.is_none_or(|b| {
                    let side = if ask { &b.asks } else { &b.bids };
                    !side
                        .iter()
                        .any(|o| o.meter == m && o.status == Status::Open)
                })
        });
        let price = match ctx.rng.below(12) {
            0 => 0,
            1 => 2_000_000,
            _ => 50 + ctx.rng.below(100),
        };
        // mostly within what the meter can deliver when it asks, sometimes past it
        let most = if ask && self.meters[m].capacity < 2_000 && !ctx.rng.chance(30) {
            self.meters[m].capacity.clamp(1, 2_000)
        } else {
            2_000
        };
        let wh = if ctx.rng.chance(5) {
            0
        } else {
            1 + ctx.rng.below(most)
        };
        let now = ctx.now().await;
        let gate_open = now < self.gate(k);
        let escrow = if ask { Ok(0) } else { bid_escrow(price, wh) };
        let mut tallies = self.meters[m].tallies;
        let tally_ok = {
            let closure = |i: u64| now < self.gate(i);
            record_placement(&mut tallies, k, ask, closure).is_ok()
        };
        let book = self.books.get(&k);
        let side = book.map(|b| if ask { &b.asks } else { &b.bids });
        let dup = side.is_some_and(|o| o.iter().any(|o| o.meter == m && o.status == Status::Open));
        let used = side.map_or(0, Vec::len);
        let reuse = side.and_then(|o| o.iter().position(|o| o.status == Status::Cancelled));
        let room = reuse.is_some() || used < usize::from(MAX_ORDERS);
        let ok = gate_open
            && (1..=1_000_000).contains(&price)
            && wh > 0
            && (!ask || wh <= self.meters[m].capacity)
            && tally_ok
            && !dup
            && room
            && book.is_none_or(|b| b.state == Book::Open)
            && escrow.is_ok_and(|e| e <= self.meters[m].balance);
        let meter = &self.meters[m];
        let ix = if ask {
            energy::place_ask(
                &meter.op.wallet.pubkey(),
                &self.net.network,
                &meter.device.device,
                PlaceAskArgs {
                    interval: k,
                    price,
                    wh,
                },
            )
        } else {
            energy::place_bid(
                &meter.op.wallet.pubkey(),
                &self.net.network,
                &meter.device.device,
                &self.market.quote,
                &meter.quote,
                PlaceBidArgs {
                    interval: k,
                    limit: price,
                    wh,
                },
            )
        };
        let result = ctx.suite.send(&[ix], &[&meter.op.wallet]).await;
        let what = format!(
            "meter{m} {} {k}: {wh} Wh at {price}",
            if ask { "asks" } else { "bids" }
        );
        if ctx.expect(what, ok, result)? {
            let escrow = escrow.unwrap_or(0);
            self.meters[m].tallies = tallies;
            self.meters[m].balance -= escrow;
            let book = self.books.entry(k).or_insert(IntervalM {
                index: k,
                state: Book::Open,
                asks: Vec::new(),
                bids: Vec::new(),
                next_seq: 0,
                price: 0,
                volume: 0,
                delivered: 0,
                charged: 0,
                gross_paid: 0,
                vault: 0,
            });
            let order = OrderM {
                meter: m,
                price,
                wh,
                escrow,
                seq: book.next_seq,
                status: Status::Open,
                matched: 0,
            };
            book.next_seq += 1;
            book.vault += escrow;
            let side = if ask { &mut book.asks } else { &mut book.bids };
            match reuse {
                Some(slot) => side[slot] = order,
                None => side.push(order),
            }
        }
        Ok(())
    }

    /// An order to act on, (interval, ask side, slot): mostly an open order of a book in
    /// `state` (asks before the bids that matched, as settlement requires), sometimes any
    /// slot of any book.
    fn pick_order(&self, ctx: &mut Ctx, state: Book) -> Option<(u64, bool, usize)> {
        if self.books.is_empty() {
            return None;
        }
        let mut open = Vec::new();
        for (&k, b) in &self.books {
            if b.state != state {
                continue;
            }
            let asks_left = b.asks.iter().any(|o| o.status == Status::Open);
            for (slot, o) in b.asks.iter().enumerate() {
                if o.status == Status::Open {
                    open.push((k, true, slot));
                }
            }
            for (slot, o) in b.bids.iter().enumerate() {
                if o.status == Status::Open
                    && (state != Book::Cleared || !asks_left || o.matched == 0)
                {
                    open.push((k, false, slot));
                }
            }
        }
        if !open.is_empty() && ctx.rng.chance(80) {
            return Some(open[ctx.rng.index(open.len())]);
        }
        let keys: Vec<u64> = self.books.keys().copied().collect();
        let k = keys[ctx.rng.index(keys.len())];
        let ask = ctx.rng.chance(50);
        let side = if ask {
            &self.books[&k].asks
        } else {
            &self.books[&k].bids
        };
        let slot = ctx.rng.index(side.len() + 1);
        Some((k, ask, slot))
    }

    async fn cancel(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let Some((k, ask, slot)) = self.pick_order(ctx, Book::Open) else {
            return Ok(());
        };
        let now = ctx.now().await;
        let book = &self.books[&k];
        let side = if ask { &book.asks } else { &book.bids };
        let signer = match side.get(slot) {
            Some(o) if ctx.rng.chance(85) => o.meter,
            _ => ctx.rng.index(self.meters.len()),
        };
        let ok = now < self.gate(k)
            && book.state != Book::Closed
            && side
                .get(slot)
                .is_some_and(|o| o.meter == signer && o.status == Status::Open);
        let meter = &self.meters[signer];
        let ix = energy::cancel_order(
            &meter.op.wallet.pubkey(),
            &self.net.network,
            &self.market.quote,
            &meter.quote,
            OrderRef {
                interval: k,
                side: if ask { Side::Ask } else { Side::Bid },
                slot: slot as u8,
            },
        );
        let result = ctx.suite.send(&[ix], &[&meter.op.wallet]).await;
        if ctx.expect(
            format!("meter{signer} cancels {k}/{ask}/{slot}"),
            ok,
            result,
        )? {
            let book = self.books.get_mut(&k).expect("book");
            let side = if ask { &mut book.asks } else { &mut book.bids };
            let order = &mut side[slot];
            order.status = Status::Cancelled;
            let refund = order.escrow;
            book.vault -= refund;
            self.meters[signer].balance += refund;
        }
        Ok(())
    }

    async fn clear(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let gates: BTreeMap<u64, bool> = self
            .books
            .keys()
            .map(|&k| (k, now >= self.gate(k)))
            .collect();
        let k = self
            .interval(ctx, |b| {
                b.state == Book::Open && gates.get(&b.index).copied().unwrap_or(false)
            })
            .await;
        let ok = now >= self.gate(k) && self.books.get(&k).is_some_and(|b| b.state == Book::Open);
        let result = ctx
            .suite
            .send(&[energy::clear_interval(&self.net.network, k)], &[])
            .await;
        if ctx.expect(format!("clear {k}"), ok, result)? {
            let book = self.books.get_mut(&k).expect("book");
            let run = |orders: &[OrderM]| {
                let mut by_seq: Vec<usize> = (0..orders.len()).collect();
                by_seq.sort_by_key(|&i| orders[i].seq);
                let list: Vec<Order> = by_seq
                    .iter()
                    .map(|&i| Order {
                        price: orders[i].price,
                        wh: if orders[i].status == Status::Open {
                            orders[i].wh
                        } else {
                            0
                        },
                    })
                    .collect();
                (by_seq, list)
            };
            let (ask_order, asks) = run(&book.asks);
            let (bid_order, bids) = run(&book.bids);
            let mut am = vec![0; asks.len()];
            let mut bm = vec![0; bids.len()];
            let c = clear(&asks, &bids, &mut am, &mut bm).map_err(|e| e.to_string())?;
            for (&slot, m) in ask_order.iter().zip(am) {
                book.asks[slot].matched = m;
            }
            for (&slot, m) in bid_order.iter().zip(bm) {
                book.bids[slot].matched = m;
            }
            if let Some(c) = c {
                book.price = c.price;
                book.volume = c.volume_wh;
            }
            let done = book
                .asks
                .iter()
                .chain(&book.bids)
                .all(|o| o.status != Status::Open);
            book.state = if done { Book::Settled } else { Book::Cleared };
        }
        Ok(())
    }

    async fn read(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let ends: BTreeMap<u64, bool> = self
            .books
            .keys()
            .map(|&k| (k, now >= self.end(k)))
            .collect();
        let k = self
            .interval(ctx, |b| {
                b.state == Book::Cleared && ends.get(&b.index).copied().unwrap_or(false)
            })
            .await;
        let m = {
            let book = self.books.get(&k);
            let meters = &self.meters;
            ctx.rng.prefer(meters.len(), |m| {
                !meters[m].readings.contains_key(&k)
                    && book.is_some_and(|b| {
                        b.asks
                            .iter()
                            .any(|o| o.meter == m && o.status == Status::Open)
                    })
            })
        };
        let counter = match ctx.rng.below(10) {
            0 => self.meters[m].counter,
            _ => self.meters[m].counter + 1 + ctx.rng.below(3),
        };
        let produced = ctx.rng.below(2_500);
        let meter = &self.meters[m];
        let ok = now >= self.end(k) && counter > meter.counter && !meter.readings.contains_key(&k);
        let ixs = MeterSigner {
            key: &meter.device.key,
            device: meter.device.device,
            network: self.net.network,
        }
        .reading_instructions(
            &ctx.suite.payer(),
            &Reading {
                interval: k,
                produced_wh: produced,
                consumed_wh: 10,
                counter,
            },
        );
        let result = ctx.suite.send(&ixs, &[]).await;
        let what = format!("meter{m} reads {k}: {produced} Wh, counter {counter}");
        if ctx.expect(what, ok, result)? {
            let meter = &mut self.meters[m];
            meter.counter = counter;
            meter.readings.insert(k, produced);
            meter.last_reading = Some(ixs);
        }
        Ok(())
    }

    /// A relayer resends a meter's signed reading in a new transaction: the device's
    /// signature is valid, the counter is not.
    async fn replay_reading(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let m = ctx.rng.index(self.meters.len());
        let Some(ixs) = self.meters[m].last_reading.clone() else {
            return Ok(());
        };
        let result = ctx.suite.send(&ixs, &[]).await;
        ctx.expect(format!("replay meter{m}'s last reading"), false, result)
            .map(drop)
    }

    async fn settle(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let Some((k, ask, slot)) = self.pick_order(ctx, Book::Cleared) else {
            return Ok(());
        };
        let now = ctx.now().await;
        let book = &self.books[&k];
        let side = if ask { &book.asks } else { &book.bids };
        let Some(order) = side.get(slot).copied() else {
            return Ok(());
        };
        let reading = self.meters[order.meter].readings.get(&k).copied();
        let asks_done = book.asks.iter().all(|o| o.status != Status::Open);
        let ok = book.state == Book::Cleared
            && now >= self.end(k)
            && order.status == Status::Open
            && if ask {
                order.matched == 0 || reading.is_some() || now >= self.deadline(k)
            } else {
                // a bid that matched nothing is refunded without waiting for the asks
                order.matched == 0 || asks_done
            };
        let meter = &self.meters[order.meter];
        let ix = energy::settle_order(
            &self.net.network,
            &self.market.quote,
            &self.market.treasury,
            &meter.device.device,
            &meter.quote,
            OrderRef {
                interval: k,
                side: if ask { Side::Ask } else { Side::Bid },
                slot: slot as u8,
            },
        );
        let result = ctx.suite.send(&[ix], &[]).await;
        if ctx.expect(
            format!("settle {} {k}/{slot}", if ask { "ask" } else { "bid" }),
            ok,
            result,
        )? {
            let fee_bps = self.args().grid_fee_bps;
            let book = self.books.get_mut(&k).expect("book");
            let (to_owner, to_treasury) = if ask {
                let produced = if order.matched == 0 {
                    0
                } else {
                    reading.unwrap_or(0)
                };
                let s = settle_producer(order.matched, produced, book.price, fee_bps)
                    .map_err(|e| e.to_string())?;
                book.delivered += s.delivered_wh;
                book.gross_paid += s.gross;
                book.asks[slot].status = Status::Settled;
                (s.net, s.fee)
            } else {
                let s = settle_consumer(
                    order.matched,
                    book.delivered,
                    book.volume,
                    book.price,
                    order.escrow,
                )
                .map_err(|e| e.to_string())?;
                book.charged += s.charge;
                book.bids[slot].status = Status::Settled;
                (s.refund, 0)
            };
            let done = book
                .asks
                .iter()
                .chain(&book.bids)
                .all(|o| o.status != Status::Open);
            let rounding = if done {
                book.state = Book::Settled;
                book.charged - book.gross_paid
            } else {
                0
            };
            book.vault -= to_owner + to_treasury + rounding;
            self.meters[order.meter].balance += to_owner;
            self.treasury += to_treasury + rounding;
        }
        Ok(())
    }

    async fn close(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        if self.books.is_empty() {
            return Ok(());
        }
        let keys: Vec<u64> = self.books.keys().copied().collect();
        let settled: Vec<bool> = keys
            .iter()
            .map(|k| self.books[k].state == Book::Settled)
            .collect();
        let k = keys[ctx.rng.prefer(keys.len(), |i| settled[i])];
        let ok = self.books[&k].state == Book::Settled;
        let payer = {
            match ctx
                .suite
                .raw_account(depin_sdk::pda::interval(&self.market.market, k).0)
                .await
            {
                Some(a) => {
                    depin_sdk::accounts::decode_interval(&a.data)
                        .map_err(|e| e.to_string())?
                        .rent_payer
                }
                None => ctx.suite.payer(),
            }
        };
        let ix = energy::close_interval(&self.net.network, k, &payer);
        let result = ctx.suite.send(&[ix], &[]).await;
        if ctx.expect(format!("close {k}"), ok, result)? {
            self.books.get_mut(&k).expect("book").state = Book::Closed;
        }
        Ok(())
    }

    pub async fn check(&self, ctx: &mut Ctx) -> Result<(), String> {
        let s = &mut ctx.suite;
        let vault = s.token_balance(self.market.vault).await;
        let owed: u64 = self.books.values().map(|b| b.vault).sum();
        if vault != owed {
            return Err(format!("energy vault holds {vault}, the books owe {owed}"));
        }
        let treasury = s.token_balance(self.market.treasury).await;
        if treasury != self.treasury {
            return Err(format!(
                "energy treasury {treasury}, model {}",
                self.treasury
            ));
        }
        let mut held = vault + treasury;
        for (i, m) in self.meters.iter().enumerate() {
            let b = s.token_balance(m.quote).await;
            if b != m.balance {
                return Err(format!("meter{i} holds {b}, model {}", m.balance));
            }
            held += b;
        }
        let supply = s.mint_supply(self.market.quote.mint).await;
        if held != supply {
            return Err(format!(
                "quote token: accounts hold {held}, supply {supply}"
            ));
        }
        for (k, b) in &self.books {
            if b.state == Book::Closed {
                continue;
            }
            if b.state == Book::Settled && b.vault != 0 {
                return Err(format!("settled book {k} still owes {}", b.vault));
            }
        }
        Ok(())
    }
}
