use anchor_lang::prelude::*;

/// Proof that a device is backed by its owner's stake. Seeds: `["bond", pool, device]`, so a
/// device has at most one bond per pool. The rewards program reads it.
#[account]
#[derive(InitSpace, Debug)]
pub struct DeviceBond {
    /// The pool.
    pub pool: Pubkey,
    /// The registry `Device`.
    pub device: Pubkey,
    /// The `StakePosition` that backs the device.
    pub position: Pubkey,
    /// Owner of that position (the device owner when bonded); receives the rent on unbond.
    pub staker: Pubkey,
    /// Unix time of bonding.
    pub bonded_at: i64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl DeviceBond {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"bond";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
