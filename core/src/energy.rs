//! Energy market math: the per-interval uniform-price double auction and the settlement
//! split. Prices are quote-token base units per kWh; volumes are Wh.
//!
//! ## Clearing rule
//!
//! Asks are sorted by ascending price, bids by descending limit; equal prices keep the order
//! in which the orders were placed (lower book slot first): that is the only way arrival
//! order matters. Orders are matched greedily while the best remaining bid's limit is at
//! least the best remaining ask's price, each step trading `min` of what both have left.
//! The clearing price is the midpoint, rounded down, of the marginal pair (the last ask and
//! bid that traded). Every matched ask asked at most that price and every matched bid bid
//! at least it, so no order trades outside its limit, and the matched volume is the most
//! that can trade at that price: `min(supply at p, demand at p)`.
//!
//! ## Settlement rule
//!
//! - A producer is paid for `delivered = min(matched, metered produced)` (a missing reading
//!   counts as zero): `gross = floor(delivered * price / 1000)`, less the grid fee
//!   `floor(gross * grid_fee_bps / 10000)`, which goes to the treasury.
//! - Consumers share what was delivered pro rata to what they matched:
//!   `charge = ceil(matched * delivered_total * price / (volume * 1000))`, never above their
//!   escrow, which was `ceil(limit * wh / 1000)`; the rest of the escrow is refunded.
//! - Charges round up and payments round down, so the charges cover the payments; the
//!   difference (less than one base unit per matched order) goes to the treasury with the fees.
//!   Hence payments + fees + refunds + rounding = escrow, exactly.

use crate::error::CoreError;
use crate::fees::bps_of;

/// Most orders per side of one interval's book.
pub const MAX_ORDERS_PER_SIDE: usize = 32;
/// Largest volume one order may carry, in Wh (about 5.8e17): a full side of a book sums
/// within a `u64`, so clearing never overflows, whatever the orders cost (an ask escrows
/// nothing, and a bid at a low floor little), and every order of such a book settles
/// (`settle_consumer` never needs more than a `u128`). No meter comes near it.
pub const MAX_ORDER_WH: u64 = u64::MAX / MAX_ORDERS_PER_SIDE as u64;
/// Orders one device may place on one side of one interval, cancelled ones included.
/// A cancelled order frees its book slot for anyone, but not the device's allowance: churning
/// orders costs the churner, never the book, so filling a side takes as many independent
/// devices as it has slots.
pub const MAX_PLACEMENTS_PER_DEVICE: u8 = 4;
/// Shortest reading window a market may have (`settlement_delay_secs`): a meter reports an
/// interval only once it is over, and a producer without a reading is settled at zero as
/// soon as the window closes, so a window of 0 closed the moment readings opened and any
/// cranker could settle every producer at zero before its reading could land. Two seconds
/// leaves a reading a few slots to land, a bare minimum: a market should leave its meters'
/// gateways minutes (the tests use 600 s).
pub const MIN_SETTLEMENT_DELAY_SECS: u64 = 2;
/// Wh per kWh.
const WH_PER_KWH: u128 = 1_000;

/// One side's order: a price (or limit) per kWh and a volume in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    /// Ask price or bid limit, quote base units per kWh.
    pub price: u64,
    /// Volume in Wh.
    pub wh: u64,
}

/// Outcome of a clearing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clearing {
    /// Uniform price every trade settles at, per kWh.
    pub price: u64,
    /// Total Wh matched.
    pub volume_wh: u64,
}

/// Clears one interval. Writes each order's matched Wh into `ask_matched` / `bid_matched`
/// (same length as `asks` / `bids`) and returns the clearing, `None` when nothing crosses.
pub fn clear(
    asks: &[Order],
    bids: &[Order],
    ask_matched: &mut [u64],
    bid_matched: &mut [u64],
) -> Result<Option<Clearing>, CoreError> {
    if asks.len() > MAX_ORDERS_PER_SIDE || bids.len() > MAX_ORDERS_PER_SIDE {
        return Err(CoreError::TooManyOrders);
    }
    if ask_matched.len() != asks.len() || bid_matched.len() != bids.len() {
        return Err(CoreError::LengthMismatch);
    }
    ask_matched.iter_mut().for_each(|m| *m = 0);
    bid_matched.iter_mut().for_each(|m| *m = 0);

    let mut ask_order = [0u8; MAX_ORDERS_PER_SIDE];
    let mut bid_order = [0u8; MAX_ORDERS_PER_SIDE];
    sorted_indexes(asks, &mut ask_order, |a, b| a.price < b.price);
    sorted_indexes(bids, &mut bid_order, |a, b| a.price > b.price);
    let ask_order = ask_order
        .get(..asks.len())
        .ok_or(CoreError::TooManyOrders)?;
    let bid_order = bid_order
        .get(..bids.len())
        .ok_or(CoreError::TooManyOrders)?;

    let (mut i, mut j) = (0usize, 0usize);
    let mut ask_left = 0u64;
    let mut bid_left = 0u64;
    let mut volume: u64 = 0;
    let mut marginal: Option<(u64, u64)> = None;
    while let (Some(&ai), Some(&bj)) = (ask_order.get(i), bid_order.get(j)) {
        let (ai, bj) = (usize::from(ai), usize::from(bj));
        let (ask, bid) = match (asks.get(ai), bids.get(bj)) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(CoreError::LengthMismatch),
        };
        if bid.price < ask.price {
            break;
        }
        if ask_left == 0 {
            ask_left = ask
                .wh
                .saturating_sub(ask_matched.get(ai).copied().unwrap_or(0));
        }
        if bid_left == 0 {
            bid_left = bid
                .wh
                .saturating_sub(bid_matched.get(bj).copied().unwrap_or(0));
        }
        let q = ask_left.min(bid_left);
        if q > 0 {
            add(ask_matched, ai, q)?;
            add(bid_matched, bj, q)?;
            volume = volume.checked_add(q).ok_or(CoreError::MathOverflow)?;
            marginal = Some((ask.price, bid.price));
        }
        ask_left = ask_left.saturating_sub(q);
        bid_left = bid_left.saturating_sub(q);
        if ask_left == 0 {
            i = i.saturating_add(1);
        }
        if bid_left == 0 {
            j = j.saturating_add(1);
        }
    }
    Ok(marginal.map(|(ask, bid)| Clearing {
        // ask <= bid, so ask + (bid - ask) / 2 neither overflows nor leaves [ask, bid]
        price: ask.saturating_add(bid.saturating_sub(ask) / 2),
        volume_wh: volume,
    }))
}

fn add(slots: &mut [u64], index: usize, q: u64) -> Result<(), CoreError> {
    let slot = slots.get_mut(index).ok_or(CoreError::LengthMismatch)?;
    *slot = slot.checked_add(q).ok_or(CoreError::MathOverflow)?;
    Ok(())
}

/// Stable insertion sort of the indexes `0..orders.len()` by `before`: equal keys keep slot
/// order, which is the placement order. At most 32 elements, so quadratic is fine and the
/// code stays allocation-free for `no_std` programs.
fn sorted_indexes(
    orders: &[Order],
    out: &mut [u8; MAX_ORDERS_PER_SIDE],
    before: impl Fn(&Order, &Order) -> bool,
) {
    let n = orders.len().min(MAX_ORDERS_PER_SIDE);
    for (k, slot) in out.iter_mut().enumerate().take(n) {
        // k < 32, lossless
        *slot = k as u8;
    }
    for k in 1..n {
        let mut m = k;
        while m > 0 {
            let prev = m.saturating_sub(1);
            let (a, b) = (usize::from(out[prev]), usize::from(out[m]));
            match (orders.get(a), orders.get(b)) {
                (Some(oa), Some(ob)) if before(ob, oa) => out.swap(prev, m),
                _ => break,
            }
            m = prev;
        }
    }
}

/// Value of `wh` at `price` per kWh, rounded down.
pub fn value_floor(wh: u64, price: u64) -> Result<u64, CoreError> {
    let v = u128::from(wh)
        .checked_mul(u128::from(price))
        .ok_or(CoreError::MathOverflow)?
        / WH_PER_KWH;
    u64::try_from(v).map_err(|_| CoreError::MathOverflow)
}

/// Seconds per hour: a panel of `w` watts makes at most `w * secs / 3600` Wh in `secs`.
const SECS_PER_HOUR: u128 = 3_600;

/// The most Wh a meter can deliver in one interval of `interval_secs`: its panel's peak
/// output over the whole interval (rounded down) plus a full battery, from the
/// capabilities its maker registered. An ask may offer at most this much. Without the
/// bound a meter with no panel and no battery could offer `MAX_ORDER_WH` at the floor, win
/// the interval's bids and deliver nothing: paid nothing, but the honest producers it
/// outbid sold nothing either. A meter with neither (a consumer's) can only bid.
/// Saturates at `u64::MAX` (above `MAX_ORDER_WH`, which bounds every order anyway).
pub fn ask_capacity_wh(panel_watts: u32, battery_wh: u32, interval_secs: u64) -> u64 {
    // below 2^96 + 2^32: neither operation can saturate a u128
    let panel = u128::from(panel_watts).saturating_mul(u128::from(interval_secs)) / SECS_PER_HOUR;
    u64::try_from(panel.saturating_add(u128::from(battery_wh))).unwrap_or(u64::MAX)
}

/// Escrow a bid locks: `ceil(limit * wh / 1000)`, so it covers any charge at any price up
/// to the limit.
pub fn bid_escrow(limit: u64, wh: u64) -> Result<u64, CoreError> {
    let product = u128::from(limit)
        .checked_mul(u128::from(wh))
        .ok_or(CoreError::MathOverflow)?;
    let v = product.div_ceil(WH_PER_KWH);
    u64::try_from(v).map_err(|_| CoreError::MathOverflow)
}

/// What a producer's ask settles to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerSettlement {
    /// Wh actually delivered: `min(matched, produced)`.
    pub delivered_wh: u64,
    /// Value of the delivered energy at the clearing price.
    pub gross: u64,
    /// Grid fee taken from `gross`.
    pub fee: u64,
    /// What the producer receives: `gross - fee`.
    pub net: u64,
}

/// Settles a producer: paid for `min(matched, produced)` at `price`, less the grid fee.
pub fn settle_producer(
    matched_wh: u64,
    produced_wh: u64,
    price: u64,
    grid_fee_bps: u16,
) -> Result<ProducerSettlement, CoreError> {
    let delivered_wh = matched_wh.min(produced_wh);
    let gross = value_floor(delivered_wh, price)?;
    let fee = bps_of(gross, grid_fee_bps)?;
    Ok(ProducerSettlement {
        delivered_wh,
        gross,
        fee,
        net: gross.checked_sub(fee).ok_or(CoreError::MathOverflow)?,
    })
}

/// What a consumer's bid settles to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettlement {
    /// The consumer's share of the energy delivered to the interval, pro rata to what it
    /// matched, rounded down: `matched × delivered / volume` (0 when nothing matched).
    pub delivered_wh: u64,
    /// What the consumer pays.
    pub charge: u64,
    /// What is returned from the escrow: `escrow - charge`.
    pub refund: u64,
}

/// Settles a consumer that matched `matched_wh` of an interval with `volume_wh` matched in
/// all and `delivered_wh` delivered in all: it pays its pro-rata share of the delivered
/// energy at `price`, rounded up, and never more than its escrow.
pub fn settle_consumer(
    matched_wh: u64,
    delivered_wh: u64,
    volume_wh: u64,
    price: u64,
    escrow: u64,
) -> Result<ConsumerSettlement, CoreError> {
    let charge = if matched_wh == 0 || volume_wh == 0 {
        0
    } else {
        // ceil(matched * price * delivered / (volume * 1000)). The three factors can pass
        // 2^128 (orders of up to MAX_ORDER_WH Wh): then the share is taken first, exactly,
        // and the kWh division after it (ceil(ceil(n / v) / 1000) = ceil(n / (v * 1000))).
        // The common case keeps its one division (u128 division is costly on SBF).
        let value = u128::from(matched_wh)
            .checked_mul(u128::from(price))
            .ok_or(CoreError::MathOverflow)?;
        let denominator = u128::from(volume_wh) * WH_PER_KWH;
        let charge = match value.checked_mul(u128::from(delivered_wh)) {
            Some(numerator) => numerator.div_ceil(denominator),
            None => mul_div_ceil(value, delivered_wh, volume_wh)
                .ok_or(CoreError::MathOverflow)?
                .div_ceil(WH_PER_KWH),
        };
        u64::try_from(charge).map_err(|_| CoreError::MathOverflow)?
    };
    if charge > escrow {
        return Err(CoreError::EscrowShortfall);
    }
    let delivered_share = if volume_wh == 0 {
        0
    } else {
        // matched <= volume, so the share is at most `delivered` and fits a u64
        let share = u128::from(matched_wh)
            .checked_mul(u128::from(delivered_wh))
            .and_then(|n| n.checked_div(u128::from(volume_wh)))
            .ok_or(CoreError::MathOverflow)?;
        u64::try_from(share).map_err(|_| CoreError::MathOverflow)?
    };
    Ok(ConsumerSettlement {
        delivered_wh: delivered_share,
        charge,
        refund: escrow.checked_sub(charge).ok_or(CoreError::MathOverflow)?,
    })
}

/// `ceil(a * b / c)` exactly, for `c > 0`, without a type wider than `u128`: with
/// `a = q * c + r`, it is `q * b + ceil(r * b / c)`, and `r * b < c * b` fits a `u128`.
/// `None` when the result does not fit a `u128` (or `c == 0`).
fn mul_div_ceil(a: u128, b: u64, c: u64) -> Option<u128> {
    let (b, c) = (u128::from(b), u128::from(c));
    let (q, r) = (a.checked_div(c)?, a.checked_rem(c)?);
    q.checked_mul(b)?.checked_add(r.checked_mul(b)?.div_ceil(c))
}

/// One device's order placements in one interval, cancelled orders included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlacementTally {
    /// The interval.
    pub interval: u64,
    /// Asks placed.
    pub asks: u8,
    /// Bids placed.
    pub bids: u8,
}

impl PlacementTally {
    /// Whether the entry holds no placements (free for any interval).
    pub fn is_empty(&self) -> bool {
        self.asks == 0 && self.bids == 0
    }
}

/// Counts one more placement by a device in `interval` on the ask (`ask == true`) or bid side,
/// in the device's `tallies` (a fixed number of entries kept with the device).
///
/// Refuses with `TooManyPlacements` once the device placed [`MAX_PLACEMENTS_PER_DEVICE`]
/// orders on that side of that interval, and with `TooManyOpenIntervals` when every entry
/// holds an interval whose gate is still open (`gate_open`) and none is `interval`: a device
/// trades in at most `tallies.len()` intervals that still take orders. Entries of intervals
/// whose gate has closed are reused (no order can be placed there any more). Nothing
/// changes on a refusal.
pub fn record_placement(
    tallies: &mut [PlacementTally],
    interval: u64,
    ask: bool,
    gate_open: impl Fn(u64) -> bool,
) -> Result<(), CoreError> {
    let index = match tallies
        .iter()
        .position(|t| !t.is_empty() && t.interval == interval)
    {
        Some(i) => i,
        None => {
            let free = tallies
                .iter()
                .position(|t| t.is_empty() || !gate_open(t.interval))
                .ok_or(CoreError::TooManyOpenIntervals)?;
            if let Some(t) = tallies.get_mut(free) {
                *t = PlacementTally {
                    interval,
                    asks: 0,
                    bids: 0,
                };
            }
            free
        }
    };
    let tally = tallies.get_mut(index).ok_or(CoreError::MathOverflow)?;
    let count = if ask {
        &mut tally.asks
    } else {
        &mut tally.bids
    };
    if *count >= MAX_PLACEMENTS_PER_DEVICE {
        return Err(CoreError::TooManyPlacements);
    }
    *count = count.checked_add(1).ok_or(CoreError::MathOverflow)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ask_s_capacity_is_the_panel_over_the_interval_plus_the_battery() {
        // 5 kW of panel over 15 minutes: 1,250 Wh; a 13.5 kWh battery on top
        assert_eq!(ask_capacity_wh(5_000, 0, 900), 1_250);
        assert_eq!(ask_capacity_wh(5_000, 13_500, 900), 14_750);
        assert_eq!(ask_capacity_wh(0, 13_500, 900), 13_500);
        // a consumer's meter (neither) cannot offer anything
        assert_eq!(ask_capacity_wh(0, 0, 900), 0);
        assert_eq!(ask_capacity_wh(0, 0, u64::MAX), 0);
        // rounded down: a 1 W panel makes a whole Wh only after an hour
        assert_eq!(ask_capacity_wh(1, 0, 3_599), 0);
        assert_eq!(ask_capacity_wh(1, 0, 3_600), 1);
        assert_eq!(ask_capacity_wh(7, 0, 1_000), 1);
        // the extremes never overflow: u32::MAX W for a year, and beyond a u64
        let year = 366 * 86_400;
        assert_eq!(
            ask_capacity_wh(u32::MAX, u32::MAX, year),
            u64::from(u32::MAX) * 366 * 24 + u64::from(u32::MAX)
        );
        assert_eq!(ask_capacity_wh(u32::MAX, u32::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn full_books_of_the_largest_orders_clear() {
        let asks = vec![
            Order {
                price: 1,
                wh: MAX_ORDER_WH
            };
            MAX_ORDERS_PER_SIDE
        ];
        let bids = vec![
            Order {
                price: 1,
                wh: MAX_ORDER_WH
            };
            MAX_ORDERS_PER_SIDE
        ];
        let (mut am, mut bm) = ([0u64; 32], [0u64; 32]);
        let c = clear(&asks, &bids, &mut am, &mut bm).unwrap().unwrap();
        assert_eq!(c.volume_wh, MAX_ORDER_WH * MAX_ORDERS_PER_SIDE as u64);
        assert!(am.iter().chain(bm.iter()).all(|&m| m == MAX_ORDER_WH));
    }

    /// A full book of the largest orders at a price above the side's size settles too:
    /// `matched * delivered * price` is then about 4e38, past `u128::MAX`, and used to
    /// refuse every bid's settlement with `MathOverflow` (the interval never settled).
    #[test]
    fn full_books_of_the_largest_orders_settle() {
        let order = Order {
            price: 40,
            wh: MAX_ORDER_WH,
        };
        let (asks, bids) = ([order; MAX_ORDERS_PER_SIDE], [order; MAX_ORDERS_PER_SIDE]);
        let (mut am, mut bm) = ([0u64; 32], [0u64; 32]);
        let c = clear(&asks, &bids, &mut am, &mut bm).unwrap().unwrap();
        let escrow = bid_escrow(order.price, order.wh).unwrap();
        for (delivered, charge) in [
            (c.volume_wh, escrow),
            // a third delivered: a third of the value, rounded up
            (
                c.volume_wh / 3,
                u64::try_from((u128::from(MAX_ORDER_WH) * 40 / 3).div_ceil(1_000)).unwrap(),
            ),
            (0, 0),
        ] {
            let s = settle_consumer(MAX_ORDER_WH, delivered, c.volume_wh, c.price, escrow);
            assert_eq!(
                s,
                Ok(ConsumerSettlement {
                    delivered_wh: u64::try_from(
                        u128::from(MAX_ORDER_WH) * u128::from(delivered) / u128::from(c.volume_wh)
                    )
                    .unwrap(),
                    charge,
                    refund: escrow - charge
                }),
                "{delivered} Wh delivered"
            );
        }
    }

    #[test]
    fn mul_div_ceil_is_exact_past_u128() {
        assert_eq!(mul_div_ceil(u128::MAX, 1, 1), Some(u128::MAX));
        assert_eq!(mul_div_ceil(u128::MAX, u64::MAX, u64::MAX), Some(u128::MAX));
        // (2^128 - 1) * 2 / 3 = 2^128 * 2/3 - 2/3, rounded up
        assert_eq!(mul_div_ceil(u128::MAX, 2, 3), Some(u128::MAX / 3 * 2));
        assert_eq!(mul_div_ceil(u128::MAX, 2, 1), None);
        assert_eq!(mul_div_ceil(1, 1, 0), None);
        assert_eq!(mul_div_ceil(7, 1, 2), Some(4));
        assert_eq!(mul_div_ceil(0, 5, 9), Some(0));
    }

    #[test]
    fn placements_are_capped_per_side_and_interval() {
        let mut t = [PlacementTally::default(); 2];
        let open = |_: u64| true;
        for _ in 0..MAX_PLACEMENTS_PER_DEVICE {
            assert_eq!(record_placement(&mut t, 7, true, open), Ok(()));
        }
        assert_eq!(
            record_placement(&mut t, 7, true, open),
            Err(CoreError::TooManyPlacements)
        );
        // the other side and another interval have their own allowance
        assert_eq!(record_placement(&mut t, 7, false, open), Ok(()));
        assert_eq!(record_placement(&mut t, 8, true, open), Ok(()));
        assert_eq!(
            t[0],
            PlacementTally {
                interval: 7,
                asks: MAX_PLACEMENTS_PER_DEVICE,
                bids: 1
            }
        );
        assert_eq!(
            t[1],
            PlacementTally {
                interval: 8,
                asks: 1,
                bids: 0
            }
        );
    }

    #[test]
    fn open_intervals_are_bounded_and_closed_ones_recycled() {
        let mut t = [PlacementTally::default(); 2];
        let before = t;
        assert_eq!(record_placement(&mut t, 1, true, |_| true), Ok(()));
        assert_eq!(record_placement(&mut t, 2, false, |_| true), Ok(()));
        let full = t;
        assert_eq!(
            record_placement(&mut t, 3, true, |_| true),
            Err(CoreError::TooManyOpenIntervals)
        );
        assert_eq!(t, full, "a refusal changes nothing");
        // once interval 1's gate has closed its entry serves interval 3
        assert_eq!(record_placement(&mut t, 3, true, |i| i != 1), Ok(()));
        assert_eq!(
            t[0],
            PlacementTally {
                interval: 3,
                asks: 1,
                bids: 0
            }
        );
        assert_ne!(t, before);
    }

    #[test]
    fn a_capped_interval_stays_capped_while_its_gate_is_open() {
        // Given a device that used its allowance in interval 5
        let mut t = [PlacementTally::default(); 4];
        for _ in 0..MAX_PLACEMENTS_PER_DEVICE {
            record_placement(&mut t, 5, true, |_| true).unwrap();
        }
        // When it places in other intervals in between
        for i in 6..9 {
            record_placement(&mut t, i, true, |_| true).unwrap();
        }
        // Then interval 5's count was not reset
        assert_eq!(
            record_placement(&mut t, 5, true, |_| true),
            Err(CoreError::TooManyPlacements)
        );
    }
    use proptest::prelude::*;

    fn o(price: u64, wh: u64) -> Order {
        Order { price, wh }
    }

    fn run(asks: &[Order], bids: &[Order]) -> (Option<Clearing>, Vec<u64>, Vec<u64>) {
        let mut am = vec![0; asks.len()];
        let mut bm = vec![0; bids.len()];
        let c = clear(asks, bids, &mut am, &mut bm).unwrap();
        (c, am, bm)
    }

    #[test]
    fn textbook_interval() {
        // supply 100 Wh @ 10, 200 @ 20, 300 @ 30; demand 150 @ 35, 150 @ 25, 200 @ 15
        let asks = [o(20, 200), o(10, 100), o(30, 300)];
        let bids = [o(25, 150), o(35, 150), o(15, 200)];
        let (c, am, bm) = run(&asks, &bids);
        // 10 vs 35 (100), 20 vs 35 (50), 20 vs 25 (150) -> marginal (20, 25) -> 22
        assert_eq!(
            c,
            Some(Clearing {
                price: 22,
                volume_wh: 300
            })
        );
        assert_eq!(am, vec![200, 100, 0]);
        assert_eq!(bm, vec![150, 150, 0]);
    }

    #[test]
    fn no_cross_and_empty_books() {
        assert_eq!(run(&[o(30, 10)], &[o(20, 10)]).0, None);
        assert_eq!(run(&[], &[o(20, 10)]).0, None);
        assert_eq!(run(&[o(20, 10)], &[]).0, None);
        let too_many = vec![o(1, 1); MAX_ORDERS_PER_SIDE + 1];
        assert_eq!(
            clear(&too_many, &[], &mut vec![0; 33], &mut []),
            Err(CoreError::TooManyOrders)
        );
        assert_eq!(
            clear(&[o(1, 1)], &[], &mut [], &mut []),
            Err(CoreError::LengthMismatch)
        );
    }

    #[test]
    fn equal_prices_fill_in_placement_order() {
        let asks = [o(10, 50), o(10, 50)];
        let bids = [o(10, 70)];
        let (c, am, bm) = run(&asks, &bids);
        assert_eq!(
            c,
            Some(Clearing {
                price: 10,
                volume_wh: 70
            })
        );
        assert_eq!(am, vec![50, 20]);
        assert_eq!(bm, vec![70]);
    }

    #[test]
    fn settlement_splits() {
        // producer matched 1000 Wh, produced 800 at 150/kWh, 2% fee
        let p = settle_producer(1_000, 800, 150, 200).unwrap();
        assert_eq!(
            p,
            ProducerSettlement {
                delivered_wh: 800,
                gross: 120,
                fee: 2,
                net: 118
            }
        );
        // consumer matched 600 of 1000 matched, 800 delivered: pays ceil(600*800*150/1e6) = 72
        let escrow = bid_escrow(200, 600).unwrap();
        assert_eq!(escrow, 120);
        assert_eq!(
            settle_consumer(600, 800, 1_000, 150, escrow),
            Ok(ConsumerSettlement {
                delivered_wh: 480,
                charge: 72,
                refund: 48
            })
        );
        assert_eq!(
            settle_consumer(600, 800, 1_000, 150, 71),
            Err(CoreError::EscrowShortfall)
        );
        assert_eq!(bid_escrow(1, 1), Ok(1), "escrow rounds up");
    }

    fn book() -> impl Strategy<Value = Vec<Order>> {
        prop::collection::vec(
            (1u64..1_000, 1u64..10_000).prop_map(|(p, w)| o(p, w)),
            0..=MAX_ORDERS_PER_SIDE,
        )
    }

    fn large_book() -> impl Strategy<Value = Vec<Order>> {
        prop::collection::vec(
            (1u64..1_000, 1u64..=MAX_ORDER_WH).prop_map(|(p, w)| o(p, w)),
            0..=MAX_ORDERS_PER_SIDE,
        )
    }

    /// Clears the books, settles every order (each producer delivering `produced_pct` of
    /// what it matched) and checks that the escrow is exactly paid out, charged, refunded
    /// and rounded, and that the charges cover the payments.
    fn money_balances(
        asks: &[Order],
        bids: &[Order],
        produced_pct: &[u64],
        fee_bps: u16,
    ) -> Result<(), TestCaseError> {
        let (c, am, bm) = run(asks, bids);
        let escrows: Vec<u64> = bids
            .iter()
            .map(|b| bid_escrow(b.price, b.wh).unwrap())
            .collect();
        let escrow_in: u128 = escrows.iter().map(|&e| u128::from(e)).sum();
        let Some(c) = c else { return Ok(()) };
        let (mut paid, mut fees, mut delivered) = (0u128, 0u128, 0u64);
        for (k, &m) in am.iter().enumerate() {
            let produced = u64::try_from(u128::from(m) * u128::from(produced_pct[k]) / 100)
                .unwrap_or(u64::MAX);
            let s = settle_producer(m, produced, c.price, fee_bps).unwrap();
            paid += u128::from(s.net);
            fees += u128::from(s.fee);
            delivered += s.delivered_wh;
        }
        let (mut charged, mut refunded) = (0u128, 0u128);
        for (k, &m) in bm.iter().enumerate() {
            let s = settle_consumer(m, delivered, c.volume_wh, c.price, escrows[k]).unwrap();
            charged += u128::from(s.charge);
            refunded += u128::from(s.refund);
        }
        prop_assert!(charged >= paid + fees, "charges cover payments");
        let rounding = charged - paid - fees;
        prop_assert!(rounding <= (asks.len() + bids.len()) as u128);
        prop_assert_eq!(paid + fees + rounding + refunded, escrow_in);
        Ok(())
    }

    proptest! {
        #[test]
        fn clearing_properties(asks in book(), bids in book()) {
            let (c, am, bm) = run(&asks, &bids);
            let matched: u64 = am.iter().sum();
            prop_assert_eq!(matched, bm.iter().sum::<u64>());
            for (k, a) in asks.iter().enumerate() { prop_assert!(am[k] <= a.wh); }
            for (k, b) in bids.iter().enumerate() { prop_assert!(bm[k] <= b.wh); }
            match c {
                None => prop_assert_eq!(matched, 0),
                Some(c) => {
                    prop_assert_eq!(c.volume_wh, matched);
                    // nobody trades outside its limit
                    for (k, a) in asks.iter().enumerate() { if am[k] > 0 { prop_assert!(a.price <= c.price); } }
                    for (k, b) in bids.iter().enumerate() { if bm[k] > 0 { prop_assert!(b.price >= c.price); } }
                    // the most that can trade at the clearing price
                    let supply: u64 = asks.iter().filter(|a| a.price <= c.price).map(|a| a.wh).sum();
                    let demand: u64 = bids.iter().filter(|b| b.price >= c.price).map(|b| b.wh).sum();
                    prop_assert_eq!(matched, supply.min(demand));
                }
            }
        }

        #[test]
        fn arrival_order_only_matters_through_ties(mut asks in book(), mut bids in book(), seed in any::<u64>()) {
            // make prices distinct so that no tie rule applies
            for (k, a) in asks.iter_mut().enumerate() { a.price = a.price * 64 + k as u64; }
            for (k, b) in bids.iter_mut().enumerate() { b.price = b.price * 64 + k as u64; }
            let (c, am, bm) = run(&asks, &bids);
            let mut pa: Vec<(Order, u64)> = asks.iter().copied().zip(am).collect();
            let mut pb: Vec<(Order, u64)> = bids.iter().copied().zip(bm).collect();
            let rot_a = if pa.is_empty() { 0 } else { (seed as usize) % pa.len() };
            let rot_b = if pb.is_empty() { 0 } else { (seed as usize / 7) % pb.len() };
            pa.rotate_left(rot_a);
            pb.rotate_left(rot_b);
            pa.reverse();
            let (asks2, am2): (Vec<Order>, Vec<u64>) = pa.into_iter().unzip();
            let (bids2, bm2): (Vec<Order>, Vec<u64>) = pb.into_iter().unzip();
            let (c2, am_after, bm_after) = run(&asks2, &bids2);
            prop_assert_eq!(c, c2);
            prop_assert_eq!(am_after, am2);
            prop_assert_eq!(bm_after, bm2);
        }

        #[test]
        fn mul_div_ceil_matches_the_direct_product(a in any::<u64>(), b in any::<u64>(), c in 1u64..) {
            let direct = (u128::from(a) * u128::from(b)).div_ceil(u128::from(c));
            prop_assert_eq!(mul_div_ceil(u128::from(a), b, c), Some(direct));
        }

        #[test]
        fn money_in_equals_money_out(asks in book(), bids in book(), produced_pct in prop::collection::vec(0u64..=150, MAX_ORDERS_PER_SIDE), fee_bps in 0u16..=10_000) {
            money_balances(&asks, &bids, &produced_pct, fee_bps)?;
        }

        /// The same at any order size up to MAX_ORDER_WH (a bid's escrow within a u64).
        #[test]
        fn money_in_equals_money_out_at_any_size(asks in large_book(), bids in large_book(), produced_pct in prop::collection::vec(0u64..=150, MAX_ORDERS_PER_SIDE), fee_bps in 0u16..=10_000) {
            money_balances(&asks, &bids, &produced_pct, fee_bps)?;
        }
    }
}
