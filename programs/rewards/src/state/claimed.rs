use anchor_lang::prelude::*;

/// What one device has claimed so far. Seeds: `["claimed", config, device]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Claimed {
    /// The `RewardsConfig`.
    pub config: Pubkey,
    /// The registry device.
    pub device: Pubkey,
    /// Total minted for the device so far.
    pub total_claimed: u64,
    /// Epoch of the latest claim that paid something.
    pub last_epoch: u64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl Claimed {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"claimed";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
