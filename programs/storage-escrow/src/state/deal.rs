use anchor_lang::prelude::*;

/// Most periods a deal may have.
pub const MAX_PERIODS: usize = 32;

/// Lifecycle of a deal.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum DealState {
    /// Escrowed, waiting for the provider.
    Proposed,
    /// Accepted: periods running.
    Active,
    /// Every period resolved; collateral returned. (The account is closed right after.)
    Completed,
    /// Ended at the fault limit.
    Terminated,
    /// Withdrawn before acceptance. (The account is closed right after.)
    Cancelled,
}

/// What happened in one period.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct PeriodRecord {
    /// Slot at which the challenge opened (0 until then).
    pub challenge_slot: u64,
    /// `PERIOD_PENDING`, `PERIOD_CHALLENGED`, `PERIOD_PROVEN` or `PERIOD_FAULTED`.
    pub status: u8,
    /// Bitmask of the challenges answered.
    pub answered: u8,
}

/// Period status: nothing yet.
pub const PERIOD_PENDING: u8 = 0;
/// Period status: challenge open.
pub const PERIOD_CHALLENGED: u8 = 1;
/// Period status: proven and paid.
pub const PERIOD_PROVEN: u8 = 2;
/// Period status: faulted, refunded and slashed.
pub const PERIOD_FAULTED: u8 = 3;

/// A storage deal. Seeds: `["deal", client, deal_id le]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Deal {
    /// The market.
    pub market: Pubkey,
    /// The paying client.
    pub client: Pubkey,
    /// Client-chosen id (part of the address).
    pub deal_id: u64,
    /// The provider's registry device.
    pub provider_device: Pubkey,
    /// Provider wallet (the device owner who accepted; default until then).
    pub provider: Pubkey,
    /// Root of the piece commitment (`depin_core::storage`).
    pub piece_root: [u8; 32],
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Chunks in the piece.
    pub num_chunks: u64,
    /// Paid per proven period.
    pub price_per_period: u64,
    /// Periods in the deal.
    pub periods: u8,
    /// Collateral the provider posts.
    pub collateral: u64,
    /// Collateral still in the vault.
    pub collateral_left: u64,
    /// Escrow still in the vault.
    pub escrow_left: u64,
    /// Owed to the market's treasury (protocol fees of proven periods, and the collateral
    /// slashed at termination), held in the vault and paid when the deal is closed: one
    /// token transfer per proof instead of two.
    pub fees_owed: u64,
    /// Lifecycle state.
    pub state: DealState,
    /// Start of period 0 (0 until accepted).
    pub start_ts: i64,
    /// The longest run of faulted periods in a row, in period order (whatever order the
    /// faults were reported in; a proof never shortens a run, it only ends one): the deal
    /// terminates when a run reaches the market's `max_consecutive_faults`.
    pub consecutive_faults: u8,
    /// Faults in all.
    pub total_faults: u8,
    /// One record per period.
    pub records: [PeriodRecord; MAX_PERIODS],
    /// Bump of this PDA.
    pub bump: u8,
}

impl Deal {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"deal";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// The terms a provider accepts, as `depin_core::storage` hashes them; `address` is this
    /// deal's own address.
    pub fn terms(&self, address: &Pubkey) -> depin_core::storage::DealTerms {
        depin_core::storage::DealTerms {
            market: self.market.to_bytes(),
            deal: address.to_bytes(),
            client: self.client.to_bytes(),
            provider_device: self.provider_device.to_bytes(),
            piece_root: self.piece_root,
            chunk_size: self.chunk_size,
            num_chunks: self.num_chunks,
            price_per_period: self.price_per_period,
            periods: self.periods,
            collateral: self.collateral,
        }
    }

    /// The record of `period`, if the deal has that period.
    pub fn record_mut(&mut self, period: u64) -> Option<&mut PeriodRecord> {
        let i = usize::try_from(period).ok()?;
        if i >= usize::from(self.periods) {
            return None;
        }
        self.records.get_mut(i)
    }
}
