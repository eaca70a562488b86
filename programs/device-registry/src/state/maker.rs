use anchor_lang::prelude::*;

/// Longest maker name, in bytes.
pub const MAX_MAKER_NAME_LEN: usize = 32;

/// A hardware vendor allowed to issue devices into one network.
/// Seeds: `["maker", network, maker_authority]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Maker {
    /// The network this maker issues into.
    pub network: Pubkey,
    /// The vendor's issuing key: it co-signs every onboarding.
    pub maker_authority: Pubkey,
    /// Display name, 1 to 32 bytes of UTF-8.
    #[max_len(32)]
    pub name: String,
    /// Only approved makers may onboard devices.
    pub approved: bool,
    /// Most devices this maker may ever onboard.
    pub device_quota: u32,
    /// Devices this maker has onboarded so far.
    pub devices_onboarded: u32,
    /// Bump of this PDA.
    pub bump: u8,
}

impl Maker {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"maker";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
