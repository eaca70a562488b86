use anchor_lang::prelude::*;

/// Most oracles a network may have.
pub const MAX_ORACLES: usize = 11;

/// Emission schedule (see `depin_core::emission`): epoch `e` emits
/// `max(initial_per_epoch >> (e / halving_interval_epochs), tail_per_epoch)`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct Schedule {
    /// Emission of the first era, per epoch.
    pub initial_per_epoch: u64,
    /// Epochs per halving; 0 means the emission never halves.
    pub halving_interval_epochs: u64,
    /// Floor of the per-epoch emission.
    pub tail_per_epoch: u64,
}

impl From<Schedule> for depin_core::emission::EmissionSchedule {
    fn from(s: Schedule) -> Self {
        depin_core::emission::EmissionSchedule {
            initial_per_epoch: s.initial_per_epoch,
            halving_interval_epochs: s.halving_interval_epochs,
            tail_per_epoch: s.tail_per_epoch,
        }
    }
}

/// A network's rewards configuration. Seeds: `["rewards", network]`. It is the reward
/// mint's mint authority.
#[account]
#[derive(InitSpace, Debug)]
pub struct RewardsConfig {
    /// The registry network.
    pub network: Pubkey,
    /// The reward mint.
    pub reward_mint: Pubkey,
    /// Emission schedule.
    pub schedule: Schedule,
    /// Length of an epoch in seconds.
    pub epoch_duration_secs: u64,
    /// Unix time at which epoch 0 starts.
    pub genesis_ts: i64,
    /// Oracle keys; the first `oracle_count` are in use.
    pub oracles: [Pubkey; MAX_ORACLES],
    /// Oracles in use.
    pub oracle_count: u8,
    /// Identical proposals needed to finalize an epoch.
    pub quorum: u8,
    /// Incremented by every `set_oracles`; proposals made under an older set are discarded.
    pub oracle_set_version: u32,
    /// Rewards minted so far.
    pub total_minted: u64,
    /// Latest finalized epoch, `None` before the first.
    pub latest_finalized_epoch: Option<u64>,
    /// Cumulative total of the latest finalized epoch: the most the program will ever have
    /// minted until a later epoch finalizes.
    pub latest_finalized_total: u64,
    /// Merkle root of the latest finalized epoch: the only root claims prove against (zero
    /// before the first finalization).
    pub latest_finalized_root: [u8; 32],
    /// Bump of this PDA.
    pub bump: u8,
}

impl RewardsConfig {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"rewards";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Index of `key` in the oracle set.
    pub fn oracle_index(&self, key: &Pubkey) -> Option<usize> {
        self.oracles
            .iter()
            .take(usize::from(self.oracle_count))
            .position(|o| o == key)
    }
}
