use anchor_lang::prelude::*;

/// One staker's stake in one pool. Seeds: `["stake", pool, owner]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct StakePosition {
    /// The pool.
    pub pool: Pubkey,
    /// The staker.
    pub owner: Pubkey,
    /// Active stake: backs bonds and can be slashed.
    pub amount: u64,
    /// Stake in cooldown: can still be slashed, withdrawable from `unlock_ts`.
    pub pending: u64,
    /// Unix time from which `pending` may be withdrawn.
    pub unlock_ts: i64,
    /// Devices currently bonded to this position.
    pub devices_bonded: u32,
    /// Bump of this PDA.
    pub bump: u8,
}

impl StakePosition {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"stake";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
