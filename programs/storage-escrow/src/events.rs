//! Events of the storage escrow program, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

/// A market was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketInitialized {
    /// The market.
    pub market: Pubkey,
    /// Its network.
    pub network: Pubkey,
    /// Payment mint.
    pub payment_mint: Pubkey,
    /// Proving period.
    pub proving_period_secs: u64,
    /// Challenge window, in slots with a block after the challenge.
    pub challenge_window_slots: u64,
    /// Challenges per period.
    pub challenges_per_period: u8,
    /// Faulted periods in a row (in period order) that terminate a deal, 1 to 32.
    pub max_consecutive_faults: u8,
    /// Collateral slashed per fault.
    pub fault_slash_bps: u16,
    /// Protocol fee on each period's payment.
    pub protocol_fee_bps: u16,
}

/// A client proposed a deal.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealProposed {
    /// The deal.
    pub deal: Pubkey,
    /// The client.
    pub client: Pubkey,
    /// Client-chosen id.
    pub deal_id: u64,
    /// The provider's registry device.
    pub provider_device: Pubkey,
    /// Piece root.
    pub piece_root: [u8; 32],
    /// Chunk size.
    pub chunk_size: u32,
    /// Chunks.
    pub num_chunks: u64,
    /// Price per period.
    pub price_per_period: u64,
    /// Periods.
    pub periods: u8,
    /// Collateral asked of the provider.
    pub collateral: u64,
}

/// A proposed deal was cancelled and refunded.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealCancelled {
    /// The deal.
    pub deal: Pubkey,
    /// Refunded escrow.
    pub refunded: u64,
}

/// The provider accepted.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealAccepted {
    /// The deal.
    pub deal: Pubkey,
    /// Provider wallet.
    pub provider: Pubkey,
    /// Collateral posted.
    pub collateral: u64,
    /// Start of period 0.
    pub start_ts: i64,
}

/// A period's challenge was opened.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeOpened {
    /// The deal.
    pub deal: Pubkey,
    /// Period.
    pub period: u64,
    /// Slot recorded; the seed is the hash of the first slot after it.
    pub slot: u64,
}

/// Challenges were answered.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofAccepted {
    /// The deal.
    pub deal: Pubkey,
    /// Period.
    pub period: u64,
    /// Bitmask of the challenges answered so far.
    pub answered: u8,
    /// Whether the period is now proven (and paid).
    pub proven: bool,
    /// Paid to the provider (if proven).
    pub provider_paid: u64,
    /// Protocol fee (if proven).
    pub protocol_fee: u64,
}

/// A period was reported at fault.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultReported {
    /// The deal.
    pub deal: Pubkey,
    /// Period.
    pub period: u64,
    /// Price refunded to the client.
    pub refunded: u64,
    /// Collateral slashed to the client.
    pub slashed: u64,
    /// Faulted periods in a row (in period order) around this one, this one included.
    pub consecutive_faults: u8,
}

/// A deal terminated at the fault limit.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealTerminated {
    /// The deal.
    pub deal: Pubkey,
    /// Remaining escrow refunded to the client.
    pub refunded: u64,
    /// Remaining collateral slashed to the treasury.
    pub slashed_to_treasury: u64,
}

/// A deal completed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealCompleted {
    /// The deal.
    pub deal: Pubkey,
    /// Collateral returned to the provider.
    pub collateral_returned: u64,
    /// Periods proven.
    pub proven_periods: u8,
    /// Periods faulted.
    pub faulted_periods: u8,
}

/// The market's treasury now follows the network treasury's current owner.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasurySynced {
    /// The market.
    pub market: Pubkey,
    /// The treasury before.
    pub previous: Pubkey,
    /// The treasury now: receives the market's fees and terminal slashes.
    pub treasury: Pubkey,
}
