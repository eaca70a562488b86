use anchor_lang::prelude::*;

use super::MAX_ORACLES;

/// One oracle's proposal for an epoch.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct Proposal {
    /// Whether this oracle has proposed.
    pub submitted: bool,
    /// Proposed merkle root.
    pub root: [u8; 32],
    /// Proposed cumulative total.
    pub cumulative_total: u64,
    /// Proposed SHA-256 of the epoch's region multiplier table, as the oracles publish it
    /// off chain (all zeros: the epoch uses no table).
    pub multipliers_hash: [u8; 32],
}

impl Proposal {
    /// Whether `self` and `other` propose exactly the same outcome: root, cumulative total
    /// and multiplier table hash.
    pub fn agrees_with(&self, other: &Proposal) -> bool {
        self.root == other.root
            && self.cumulative_total == other.cumulative_total
            && self.multipliers_hash == other.multipliers_hash
    }
}

/// Proposals and, once quorum is reached, the finalized root of one epoch.
/// Seeds: `["epoch", config, epoch.to_le_bytes()]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct EpochRoot {
    /// The `RewardsConfig`.
    pub config: Pubkey,
    /// The epoch.
    pub epoch: u64,
    /// Oracle-set version the proposals were made under.
    pub oracle_set_version: u32,
    /// Proposals, by oracle index.
    pub proposals: [Proposal; MAX_ORACLES],
    /// Whether quorum was reached.
    pub finalized: bool,
    /// Finalized root (zero until finalized).
    pub root: [u8; 32],
    /// Finalized cumulative total (zero until finalized).
    pub cumulative_total: u64,
    /// Finalized SHA-256 of the epoch's region multiplier table (zero until finalized, and
    /// after it when the epoch uses no table): anyone can check the table the oracles
    /// published off chain against it.
    pub multipliers_hash: [u8; 32],
    /// Unix time of finalization (zero until finalized).
    pub finalized_at: i64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl EpochRoot {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"epoch";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Number of submitted proposals identical to `proposal`: same root, same cumulative
    /// total and same multiplier table hash. Proposals that differ in any of them are votes
    /// for different epochs' outcomes, so they never add up to a quorum together.
    pub fn votes_for(&self, proposal: &Proposal) -> u8 {
        let votes = self
            .proposals
            .iter()
            .filter(|p| p.submitted && p.agrees_with(proposal))
            .count();
        // At most MAX_ORACLES (11) proposals exist.
        u8::try_from(votes).unwrap_or(u8::MAX)
    }
}
