//! # Storage-deal escrow
//!
//! A client pays a storage provider (a registered device of a Storage network) per proving
//! period out of escrow; the provider posts collateral and must answer challenges it could
//! not have predicted with proofs of the stored data, or be slashed.
//!
//! 1. `propose_deal`: the client commits to the piece (its root, chunk size and chunk
//!    count, see `depin_core::storage`) and escrows `price_per_period x periods`. Deal ids
//!    are sequential per client ([`state::DealCounter`]), so a deal address is used once.
//!    `cancel_deal` refunds it all until the provider accepts.
//! 2. `accept_deal`: the provider's device must be an active Storage device it owns; it
//!    names the exact terms it accepts by their hash (`depin_core::storage::DealTerms`),
//!    which the program recomputes from the deal, and posts the collateral the client asked
//!    for. Period 0 starts now. A signed acceptance can never land on other terms.
//! 3. Every period the provider calls `open_challenge`, which records the current slot S.
//!    The challenge seed is the hash of the first slot after S, read from the SlotHashes
//!    sysvar when the proof arrives: nobody knows it when the challenge opens.
//! 4. `submit_proof` answers the period's challenges (one or more per call) while fewer
//!    than `challenge_window_slots` slots with a block have passed since S (skipped slots
//!    do not count); when all are answered the period's price, less the
//!    protocol fee, goes to the provider. The fee stays in the vault, owed to the treasury
//!    (`Deal::fees_owed`), so a proof makes one token transfer, not two.
//! 5. `report_fault` (anyone) after a period's window passed unproven: the period's price
//!    goes back to the client with `fault_slash_bps` of the remaining collateral; once
//!    `max_consecutive_faults` periods in a row are faulted (counted in period order, not
//!    in the order they were reported) the deal terminates, the remaining escrow returns
//!    to the client and the remaining collateral is owed to the treasury.
//! 6. `complete_deal` after the last period (or a termination): collateral back to the
//!    provider, what is owed to the treasury paid to it, the deal account closed and its
//!    rent returned to the client.
//!
//! Layout: `state/` one file per account, `instructions/` one file per instruction,
//! `slot_hashes.rs` (finding the seed), `events.rs`, `error.rs`.

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod hasher;
pub mod instructions;
pub mod slot_hashes;
pub mod state;

use instructions::*;

declare_id!("HrGpunu2F12SpfcGFFQ9KZkwTW68wYLtDu2sN68SRwD4");

#[program]
pub mod storage_escrow {
    use super::*;

    /// Creates a Storage network's market and its vault (network authority).
    pub fn initialize_market(
        ctx: Context<InitializeMarket>,
        args: InitializeMarketArgs,
    ) -> Result<()> {
        instructions::initialize_market::handler(ctx, args)
    }

    /// A client proposes a deal (at its next deal id) and escrows its whole price.
    pub fn propose_deal(ctx: Context<ProposeDeal>, args: ProposeDealArgs) -> Result<()> {
        instructions::propose_deal::handler(ctx, args)
    }

    /// The client withdraws a deal nobody accepted: full refund, account closed.
    pub fn cancel_deal(ctx: Context<CancelDeal>) -> Result<()> {
        instructions::cancel_deal::handler(ctx)
    }

    /// The provider accepts a deal, naming the terms it accepts by their hash, and posts
    /// collateral.
    pub fn accept_deal(ctx: Context<AcceptDeal>, args: AcceptDealArgs) -> Result<()> {
        instructions::accept_deal::handler(ctx, args)
    }

    /// The provider opens the current period's challenge (records the slot).
    pub fn open_challenge(ctx: Context<OpenChallenge>, period: u64) -> Result<()> {
        instructions::open_challenge::handler(ctx, period)
    }

    /// The provider answers challenges; a fully answered period is paid.
    pub fn submit_proof(ctx: Context<SubmitProof>, args: SubmitProofArgs) -> Result<()> {
        instructions::submit_proof::handler(ctx, args)
    }

    /// Anyone reports a period left unproven; refunds and slashes, maybe terminates.
    pub fn report_fault(ctx: Context<ReportFault>, period: u64) -> Result<()> {
        instructions::report_fault::handler(ctx, period)
    }

    /// Closes a deal after its last period: collateral back, rent returned.
    pub fn complete_deal(ctx: Context<CompleteDeal>) -> Result<()> {
        instructions::complete_deal::handler(ctx)
    }

    /// Points the market's treasury (fees and terminal slashes) at a payment-mint account of the network
    /// treasury's current owner, after the network authority rotated the treasury (anyone
    /// may send it).
    pub fn sync_treasury(ctx: Context<SyncTreasury>) -> Result<()> {
        instructions::sync_treasury::handler(ctx)
    }
}
