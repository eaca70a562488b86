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
    pub market: Account<'info, EnergyMarket>,
    /// The interval's book.
    #[account(
        mut,
        seeds = [Interval::SEED, market.key().as_ref(), &interval_index.to_le_bytes()],
        bump = interval.load()?.bump,
    )]
    pub interval: AccountLoader<'info, Interval>,
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
    let mut asks = [Order::default(); MAX_ORDERS_PER_SIDE];
    let mut bids = [Order::default(); MAX_ORDERS_PER_SIDE];
    for (order, slot) in asks.iter_mut().zip(book.asks.iter()).take(na) {
        let live = slot.status == ORDER_OPEN;
        *order = Order {
            price: slot.price,
            wh: if live { slot.wh } else { 0 },
        };
    }
    for (order, slot) in bids.iter_mut().zip(book.bids.iter()).take(nb) {
        let live = slot.status == ORDER_OPEN;
        *order = Order {
            price: slot.limit,
            wh: if live { slot.wh } else { 0 },
        };
    }
    let mut ask_matched = [0u64; MAX_ORDERS_PER_SIDE];
    let mut bid_matched = [0u64; MAX_ORDERS_PER_SIDE];
    let asks = asks.get(..na).ok_or(EnergyError::BookFull)?;
    let bids = bids.get(..nb).ok_or(EnergyError::BookFull)?;
    let ask_matched = ask_matched.get_mut(..na).ok_or(EnergyError::BookFull)?;
    let bid_matched = bid_matched.get_mut(..nb).ok_or(EnergyError::BookFull)?;
    let clearing =
        energy::clear(asks, bids, ask_matched, bid_matched).map_err(EnergyError::from)?;

    for (slot, matched) in book.asks.iter_mut().zip(ask_matched.iter()) {
        slot.matched_wh = *matched;
    }
    for (slot, matched) in book.bids.iter_mut().zip(bid_matched.iter()) {
        slot.matched_wh = *matched;
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
    drop(book);
    emit_cpi!(IntervalCleared {
        market: ctx.accounts.market.key(),
        interval: interval_index,
        clearing_price: price,
        volume_wh: volume,
        ask_matched_wh: ask_matched.to_vec(),
        bid_matched_wh: bid_matched.to_vec(),
    });
    Ok(())
}
