//! # Energy settlement
//!
//! Neighbours trade energy peer to peer, one market interval (e.g. 15 minutes) at a time.
//!
//! 1. Before gate closure, producers post asks and consumers post bids (escrowing
//!    `limit x Wh`) in the interval's book, a zero-copy [`state::Interval`] of at most 32
//!    orders per side. An ask offers at most what its device can deliver in one interval
//!    (its registered panel's peak output over the interval plus a full battery), so a
//!    meter that cannot deliver cannot outbid the producers that can. Orders may be
//!    cancelled until gate closure.
//! 2. After gate closure anyone clears the interval: a uniform-price double auction from
//!    `depin_core::energy` fixes one price and each order's matched Wh.
//! 3. After the interval, each smart meter submits its reading, signed by its device key:
//!    the transaction carries an Ed25519 program instruction over the exact message, and
//!    [`instructions::submit_reading`] checks it through the instructions sysvar and a
//!    monotonic counter.
//! 4. Anyone settles each order: producers are paid for `min(matched, metered)` (a missing
//!    reading counts as zero once the reading window closes), less the grid fee; then
//!    consumers pay their pro-rata share of what was delivered and get the rest of their
//!    escrow back. The last settlement sends the rounding remainder to the treasury.
//!
//! Layout: `state/` one file per account, `instructions/` one file per instruction,
//! `signature.rs` (reading the Ed25519 instruction), `events.rs`, `error.rs`.

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
pub mod signature;
pub mod state;

use instructions::*;

declare_id!("G3HEFnero2u1sF31Kk2rRC6YehGMcXCB2evhF1STuFG8");

#[program]
pub mod energy_settlement {
    use super::*;

    /// Creates a network's energy market and its escrow vault (network authority).
    pub fn initialize_energy_market(
        ctx: Context<InitializeEnergyMarket>,
        args: InitializeEnergyMarketArgs,
    ) -> Result<()> {
        instructions::initialize_energy_market::handler(ctx, args)
    }

    /// A producer offers `wh` at `price` per kWh in an interval, at most what its device
    /// can deliver in one interval.
    pub fn place_ask(ctx: Context<PlaceAsk>, args: PlaceAskArgs) -> Result<()> {
        instructions::place_ask::handler(ctx, args)
    }

    /// A consumer bids for `wh` up to `limit` per kWh, escrowing `limit x wh`.
    pub fn place_bid(ctx: Context<PlaceBid>, args: PlaceBidArgs) -> Result<()> {
        instructions::place_bid::handler(ctx, args)
    }

    /// Withdraws an order before gate closure (a bid's escrow is refunded).
    pub fn cancel_order(ctx: Context<CancelOrder>, args: OrderRef) -> Result<()> {
        instructions::cancel_order::handler(ctx, args)
    }

    /// Records a meter reading signed by the device key (Ed25519 instruction checked).
    pub fn submit_reading(ctx: Context<SubmitReading>, args: SubmitReadingArgs) -> Result<()> {
        instructions::submit_reading::handler(ctx, args)
    }

    /// Runs the double auction of an interval after gate closure (anyone).
    pub fn clear_interval(ctx: Context<ClearInterval>, interval: u64) -> Result<()> {
        instructions::clear_interval::handler(ctx, interval)
    }

    /// Settles one order of a cleared interval (anyone).
    pub fn settle_order(ctx: Context<SettleOrder>, args: OrderRef) -> Result<()> {
        instructions::settle_order::handler(ctx, args)
    }

    /// Closes a settled interval, returning its rent to whoever opened the book (anyone).
    pub fn close_interval(ctx: Context<CloseInterval>, interval: u64) -> Result<()> {
        instructions::close_interval::handler(ctx, interval)
    }

    /// Points the market's treasury (grid fees and rounding) at a quote-mint account of the network
    /// treasury's current owner, after the network authority rotated the treasury (anyone
    /// may send it).
    pub fn sync_treasury(ctx: Context<SyncTreasury>) -> Result<()> {
        instructions::sync_treasury::handler(ctx)
    }
}
