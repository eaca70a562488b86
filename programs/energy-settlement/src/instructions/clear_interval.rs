use anchor_lang::prelude::*;
use depin_core::energy::{self, Order, MAX_ORDERS_PER_SIDE};

use super::now;
use crate::error::EnergyError;
use crate::events::IntervalCleared;
use crate::state::{
    EnergyMarket, Interval, INTERVAL_CLEARED, INTERVAL_OPEN, INTERVAL_SETTLED, ORDER_OPEN,
};

/// Accounts of `clear_interval`. Anyone may send it once the gate has closed.
#[event_cpi]
#[derive(Accounts)]
#[instruction(interval_index: u64)]
pub struct ClearInterval<'info> {
    /// The market.
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The interval's book.
    #[account(
        mut,
        constraint = interval.load()?.market == market.key() @ EnergyError::UnexpectedAccount,
        constraint = interval.load()?.index == interval_index @ EnergyError::UnexpectedAccount,
    )]
    pub interval: AccountLoader<'info, Interval>,
}

/// Slots `0..n` ordered by their orders' arrival numbers `seqs` (an insertion sort: at most
/// 32 entries, no allocation).
fn arrival_order(seqs: impl Iterator<Item = u16>) -> [u8; MAX_ORDERS_PER_SIDE] {
    let mut order = [0u8; MAX_ORDERS_PER_SIDE];
    let mut keys = [0u16; MAX_ORDERS_PER_SIDE];
    for (n, (slot, seq)) in (0u8..).zip(seqs).take(MAX_ORDERS_PER_SIDE).enumerate() {
        let mut i = n;
        while i > 0 && keys[i - 1] > seq {
            keys[i] = keys[i - 1];
            order[i] = order[i - 1];
            i -= 1;
        }
        keys[i] = seq;
        order[i] = slot;
    }
    order
}

/// Runs the double auction over the open orders (cancelled ones take part with no volume),
/// records the price and each order's matched Wh and emits [`IntervalCleared`].
pub fn handler(ctx: Context<ClearInterval>, interval_index: u64) -> Result<()> {
    let closure = ctx
        .accounts
        .market
        .gate_closure(interval_index)
        .ok_or(EnergyError::MathOverflow)?;
    require!(now()? >= closure, EnergyError::GateNotClosed);

    let mut book = ctx.accounts.interval.load_mut()?;
    require!(book.state == INTERVAL_OPEN, EnergyError::AlreadyCleared);
    let (na, nb) = (usize::from(book.ask_count), usize::from(book.bid_count));
    // The auction breaks price ties by arrival: hand it each side in `seq` order (slots are
    // reused, so slot order is not arrival order) and map the results back to the slots.
    let ask_order = arrival_order(book.asks.iter().take(na).map(|o| o.seq));
    let bid_order = arrival_order(book.bids.iter().take(nb).map(|o| o.seq));
    let mut asks = [Order::default(); MAX_ORDERS_PER_SIDE];
    let mut bids = [Order::default(); MAX_ORDERS_PER_SIDE];
    for (order, &slot) in asks.iter_mut().zip(ask_order.iter()).take(na) {
        let o = book
            .asks
            .get(usize::from(slot))
            .ok_or(EnergyError::BookFull)?;
        *order = Order {
            price: o.price,
            wh: if o.status == ORDER_OPEN { o.wh } else { 0 },
        };
    }
    for (order, &slot) in bids.iter_mut().zip(bid_order.iter()).take(nb) {
        let o = book
            .bids
            .get(usize::from(slot))
            .ok_or(EnergyError::BookFull)?;
        *order = Order {
            price: o.limit,
            wh: if o.status == ORDER_OPEN { o.wh } else { 0 },
        };
    }
    let mut ask_matched = [0u64; MAX_ORDERS_PER_SIDE];
    let mut bid_matched = [0u64; MAX_ORDERS_PER_SIDE];
    let clearing = energy::clear(
        asks.get(..na).ok_or(EnergyError::BookFull)?,
        bids.get(..nb).ok_or(EnergyError::BookFull)?,
        ask_matched.get_mut(..na).ok_or(EnergyError::BookFull)?,
        bid_matched.get_mut(..nb).ok_or(EnergyError::BookFull)?,
    )
    .map_err(EnergyError::from)?;

    // Results back to the slots they came from.
    for (&slot, &matched) in ask_order.iter().zip(ask_matched.iter()).take(na) {
        book.asks
            .get_mut(usize::from(slot))
            .ok_or(EnergyError::BookFull)?
            .matched_wh = matched;
    }
    for (&slot, &matched) in bid_order.iter().zip(bid_matched.iter()).take(nb) {
        book.bids
            .get_mut(usize::from(slot))
            .ok_or(EnergyError::BookFull)?
            .matched_wh = matched;
    }
    if let Some(c) = clearing {
        book.clearing_price = c.price;
        book.volume_wh = c.volume_wh;
    }
    // A book whose orders were all cancelled has nothing left to settle.
    book.state = if book.all_done() {
        INTERVAL_SETTLED
    } else {
        INTERVAL_CLEARED
    };
    let (price, volume) = (book.clearing_price, book.volume_wh);
    let ask_matched_wh = book.asks.iter().take(na).map(|o| o.matched_wh).collect();
    let bid_matched_wh = book.bids.iter().take(nb).map(|o| o.matched_wh).collect();
    drop(book);
    emit_cpi!(IntervalCleared {
        market: ctx.accounts.market.key(),
        interval: interval_index,
        clearing_price: price,
        volume_wh: volume,
        ask_matched_wh,
        bid_matched_wh,
    });
    Ok(())
}
