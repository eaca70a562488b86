//! Events of the energy settlement program, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

/// Which side of the book an order is on.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// A producer's ask.
    Ask,
    /// A consumer's bid.
    Bid,
}

/// A market was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketInitialized {
    /// The market.
    pub market: Pubkey,
    /// Its network.
    pub network: Pubkey,
    /// Quote mint.
    pub quote_mint: Pubkey,
    /// Interval length.
    pub interval_secs: u64,
    /// Gate closure before each interval.
    pub gate_closure_secs: u64,
    /// Reading window after each interval.
    pub settlement_delay_secs: u64,
    /// Orders per side.
    pub max_orders_per_interval: u8,
    /// Grid fee.
    pub grid_fee_bps: u16,
    /// Price floor per kWh.
    pub price_floor: u64,
    /// Price cap per kWh.
    pub price_cap: u64,
}

/// An order entered a book.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlaced {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Ask or bid.
    pub side: Side,
    /// Slot in its side of the book.
    pub slot: u8,
    /// The registry device.
    pub device: Pubkey,
    /// Its owner.
    pub owner: Pubkey,
    /// Price (ask) or limit (bid) per kWh.
    pub price: u64,
    /// Wh.
    pub wh: u64,
    /// Quote tokens escrowed (bids; 0 for asks).
    pub escrow: u64,
}

/// An order was withdrawn.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCancelled {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Ask or bid.
    pub side: Side,
    /// Slot.
    pub slot: u8,
    /// Escrow refunded (bids).
    pub refunded: u64,
}

/// A meter reading was accepted.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingSubmitted {
    /// The market.
    pub market: Pubkey,
    /// The registry device.
    pub device: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Wh produced.
    pub produced_wh: u64,
    /// Wh consumed.
    pub consumed_wh: u64,
    /// Meter counter.
    pub counter: u64,
}

/// An interval was cleared.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalCleared {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Uniform price per kWh (0 if nothing crossed).
    pub clearing_price: u64,
    /// Wh matched.
    pub volume_wh: u64,
    /// Matched Wh of each ask slot, in slot order.
    pub ask_matched_wh: Vec<u64>,
    /// Matched Wh of each bid slot, in slot order.
    pub bid_matched_wh: Vec<u64>,
}

/// An order was settled.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSettled {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Ask or bid.
    pub side: Side,
    /// Slot.
    pub slot: u8,
    /// Ask: Wh delivered; bid: its pro-rata share of the delivered Wh, rounded down.
    pub delivered_wh: u64,
    /// Ask: paid to the producer (after the fee); bid: charged to the consumer.
    pub amount: u64,
    /// Ask: grid fee; bid: 0.
    pub fee: u64,
    /// Bid: escrow refunded; ask: 0.
    pub refund: u64,
}

/// Every order of an interval is settled.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalSettled {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Wh delivered in all.
    pub delivered_wh: u64,
    /// Rounding remainder sent to the treasury.
    pub rounding: u64,
}

/// A settled interval's account was closed and its rent returned.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalClosed {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Who got the rent back.
    pub rent_payer: Pubkey,
}

/// The market's treasury now follows the network treasury's current owner.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasurySynced {
    /// The market.
    pub market: Pubkey,
    /// The treasury before.
    pub previous: Pubkey,
    /// The treasury now: receives the market's grid fees and rounding.
    pub treasury: Pubkey,
}
