use anchor_lang::prelude::*;

/// Replay protection of one meter. Seeds: `["meter", market, device]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Meter {
    /// The market.
    pub market: Pubkey,
    /// The registry device (the meter).
    pub device: Pubkey,
    /// Highest counter accepted so far; the next reading must carry a higher one.
    pub last_counter: u64,
    /// Readings accepted.
    pub readings: u64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl Meter {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"meter";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
