use anchor_lang::prelude::*;

/// A Storage network's market. Seeds: `["market", network]`. It is the authority of the
/// vault (seeds `["storage_vault", market]`) holding every deal's escrow and collateral.
#[account]
#[derive(InitSpace, Debug)]
pub struct StorageMarket {
    /// The registry network (kind Storage).
    pub network: Pubkey,
    /// Mint deals are paid and collateralised in.
    pub payment_mint: Pubkey,
    /// The vault.
    pub vault: Pubkey,
    /// Payment-mint account of the network treasury's owner: fees and terminal slashes
    /// (`sync_treasury` points it at the new owner's after the treasury is rotated).
    pub treasury: Pubkey,
    /// Length of a proving period in seconds.
    pub proving_period_secs: u64,
    /// Slots with a block after a challenge opens within which its proof must land (slots
    /// skipped by their leader do not count).
    pub challenge_window_slots: u64,
    /// Challenges per period, 1 to 8.
    pub challenges_per_period: u8,
    /// Faulted periods in a row that terminate a deal, 1 to 32.
    pub max_consecutive_faults: u8,
    /// Share of the remaining collateral slashed to the client per fault, in bps.
    pub fault_slash_bps: u16,
    /// Share of each period's payment kept by the protocol, in bps.
    pub protocol_fee_bps: u16,
    /// Bump of this PDA.
    pub bump: u8,
    /// Bump of the vault PDA.
    pub vault_bump: u8,
}

impl StorageMarket {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"market";
    /// Seed prefix of the vault.
    pub const VAULT_SEED: &'static [u8] = b"storage_vault";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
