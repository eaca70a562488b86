use anchor_lang::prelude::*;

/// One meter's reading for one interval. Seeds: `["reading", device, interval le]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct MeterReading {
    /// The registry device (the meter).
    pub device: Pubkey,
    /// Interval index.
    pub interval: u64,
    /// Wh produced during the interval.
    pub produced_wh: u64,
    /// Wh consumed during the interval.
    pub consumed_wh: u64,
    /// The meter's monotonic counter in the signed message.
    pub counter: u64,
    /// Unix time of submission.
    pub submitted_at: i64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl MeterReading {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"reading";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
