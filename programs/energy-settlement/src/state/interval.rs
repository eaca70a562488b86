use anchor_lang::prelude::*;
use depin_core::energy::MAX_ORDERS_PER_SIDE;

/// Interval state: taking orders.
pub const INTERVAL_OPEN: u8 = 0;
/// Interval state: cleared, orders being settled.
pub const INTERVAL_CLEARED: u8 = 1;
/// Interval state: every order settled.
pub const INTERVAL_SETTLED: u8 = 2;

/// Order status: live.
pub const ORDER_OPEN: u8 = 1;
/// Order status: withdrawn before gate closure.
pub const ORDER_CANCELLED: u8 = 2;
/// Order status: paid out.
pub const ORDER_SETTLED: u8 = 3;

/// A producer's offer.
#[zero_copy]
#[derive(Debug, Default)]
pub struct AskSlot {
    /// The producing registry device.
    pub device: Pubkey,
    /// Who is paid (the device owner when the ask was placed).
    pub owner: Pubkey,
    /// Price per kWh, quote base units.
    pub price: u64,
    /// Offered Wh.
    pub wh: u64,
    /// Wh matched by the clearing.
    pub matched_wh: u64,
    /// Wh delivered (`min(matched, metered)`), set at settlement.
    pub delivered_wh: u64,
    /// `ORDER_OPEN`, `ORDER_CANCELLED` or `ORDER_SETTLED`.
    pub status: u8,
    /// Explicit padding.
    pub padding: u8,
    /// Arrival number in this side of the book (`Interval::next_seq` when placed): ties in
    /// the auction go to the earlier order, whichever slot it sits in.
    pub seq: u16,
    /// Explicit padding to an 8-byte boundary.
    pub reserved: [u8; 4],
}

/// A consumer's bid.
#[zero_copy]
#[derive(Debug, Default)]
pub struct BidSlot {
    /// The consuming registry device.
    pub device: Pubkey,
    /// Who pays and is refunded (the device owner when the bid was placed).
    pub owner: Pubkey,
    /// Highest price per kWh it accepts.
    pub limit: u64,
    /// Wanted Wh.
    pub wh: u64,
    /// Quote tokens escrowed: `ceil(limit * wh / 1000)`.
    pub escrow: u64,
    /// Wh matched by the clearing.
    pub matched_wh: u64,
    /// What it paid, set at settlement.
    pub charge: u64,
    /// `ORDER_OPEN`, `ORDER_CANCELLED` or `ORDER_SETTLED`.
    pub status: u8,
    /// Explicit padding.
    pub padding: u8,
    /// Arrival number in this side of the book (`Interval::next_seq` when placed): ties in
    /// the auction go to the earlier order, whichever slot it sits in.
    pub seq: u16,
    /// Explicit padding to an 8-byte boundary.
    pub reserved: [u8; 4],
}

/// One market interval's order book and results. Seeds: `["interval", market, index le]`.
/// Zero-copy: about 7 KB, too big for the stack.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Interval {
    /// The market.
    pub market: Pubkey,
    /// Interval index.
    pub index: u64,
    /// Uniform clearing price per kWh (0 until cleared or if nothing crossed).
    pub clearing_price: u64,
    /// Wh matched in all.
    pub volume_wh: u64,
    /// Wh delivered in all, summed as asks settle.
    pub delivered_wh: u64,
    /// Quote tokens escrowed by open and settled bids.
    pub escrow_total: u64,
    /// What consumers paid so far.
    pub charged_total: u64,
    /// Gross value paid to producers so far (fees included).
    pub gross_paid_total: u64,
    /// Slots of the ask side used so far (open, cancelled or settled); a cancelled slot is
    /// reused by the next ask, so only open and settled asks hold capacity.
    pub ask_count: u8,
    /// Slots of the bid side used so far, as `ask_count`.
    pub bid_count: u8,
    /// `INTERVAL_OPEN`, `INTERVAL_CLEARED` or `INTERVAL_SETTLED`.
    pub state: u8,
    /// Used ask slots whose order is cancelled or settled.
    pub asks_done: u8,
    /// Used bid slots whose order is cancelled or settled.
    pub bids_done: u8,
    /// Bump of this PDA.
    pub bump: u8,
    /// Orders placed so far on both sides: the next order's arrival number.
    pub next_seq: u16,
    /// Who paid the account's rent (the first order's owner); `close_interval` returns it.
    pub rent_payer: Pubkey,
    /// Reserved for future fields.
    pub reserved: [u8; 32],
    /// Asks (arrival order is `seq`, not the slot).
    pub asks: [AskSlot; MAX_ORDERS_PER_SIDE],
    /// Bids (arrival order is `seq`, not the slot).
    pub bids: [BidSlot; MAX_ORDERS_PER_SIDE],
}

impl Interval {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"interval";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + core::mem::size_of::<Interval>();

    /// True once every order is cancelled or settled.
    pub fn all_done(&self) -> bool {
        self.asks_done == self.ask_count && self.bids_done == self.bid_count
    }

    /// Takes the next arrival number.
    pub fn take_seq(&mut self) -> Option<u16> {
        let seq = self.next_seq;
        self.next_seq = seq.checked_add(1)?;
        Some(seq)
    }
}

const _: () = assert!(core::mem::size_of::<AskSlot>() == 104);
const _: () = assert!(core::mem::size_of::<BidSlot>() == 112);
const _: () = assert!(core::mem::size_of::<Interval>() == 160 + 32 * 104 + 32 * 112);
