use anchor_lang::prelude::*;

/// A network's stake pool. Seeds: `["stake_pool", network]`. It is the authority of its
/// vault, so only this program moves staked tokens.
#[account]
#[derive(InitSpace, Debug)]
pub struct StakePool {
    /// The registry `Network` this pool backs.
    pub network: Pubkey,
    /// Mint of the staked token.
    pub stake_mint: Pubkey,
    /// PDA token account (seeds `["vault", pool]`) holding all stake of the pool.
    pub vault: Pubkey,
    /// Stake-mint token account of the network treasury's owner; receives slashed stake
    /// (`sync_treasury` points it at the new owner's after the treasury is rotated).
    pub treasury: Pubkey,
    /// Active stake each bonded device requires.
    pub min_stake_per_device: u64,
    /// Seconds between `request_unstake` and the earliest `withdraw`.
    pub cooldown_secs: u64,
    /// Key allowed to slash.
    pub slash_authority: Pubkey,
    /// Sum of all positions' active stake.
    pub total_staked: u64,
    /// Sum of all positions' stake in cooldown.
    pub total_pending: u64,
    /// Stake slashed to the treasury since the pool began.
    pub total_slashed: u64,
    /// Bump of this PDA.
    pub bump: u8,
    /// Bump of the vault PDA.
    pub vault_bump: u8,
}

impl StakePool {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"stake_pool";
    /// Seed prefix of the vault.
    pub const VAULT_SEED: &'static [u8] = b"vault";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
