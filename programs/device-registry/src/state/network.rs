use anchor_lang::prelude::*;

/// The kind of physical infrastructure a network's devices provide. Other programs use it to
/// decide which devices may take part (e.g. only `Storage` devices accept storage deals).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum NetworkKind {
    /// Hotspots and small cells.
    Wireless,
    /// Storage nodes.
    Storage,
    /// Edge compute nodes.
    Compute,
    /// Smart meters of producers, consumers and batteries.
    Energy,
}

/// One DePIN network. Seeds: `["network", network_id.to_le_bytes()]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Network {
    /// Caller-chosen identifier, part of the seeds.
    pub network_id: u32,
    /// Key that governs the network: fees, makers, pause, device suspension.
    pub authority: Pubkey,
    /// Successor named by `propose_authority`, until it accepts. `None` when no rotation is
    /// under way.
    pub pending_authority: Option<Pubkey>,
    /// Key that may suspend and reinstate devices with evidence (`audit_device`), set and
    /// rotated by the authority with `set_auditor`. `None`: no auditor.
    pub auditor: Option<Pubkey>,
    /// What the network's devices do.
    pub kind: NetworkKind,
    /// Mint in which the network pays rewards (the rewards program becomes its mint authority).
    pub reward_mint: Pubkey,
    /// Mint in which onboarding and location fees are charged.
    pub fee_mint: Pubkey,
    /// Token account (of `fee_mint`) that receives fees and slashed stake.
    pub treasury: Pubkey,
    /// Fee, in `fee_mint` base units, charged by `onboard_device`.
    pub onboarding_fee: u64,
    /// Fee, in `fee_mint` base units, charged by `assert_location`.
    pub location_fee: u64,
    /// Devices ever onboarded (decommissioned ones included).
    pub device_count: u64,
    /// Makers ever registered.
    pub maker_count: u32,
    /// While true, every state change except the authority's own housekeeping and users'
    /// withdrawals of their own funds is refused. (A withdrawal that waits on someone
    /// else's settlement waits for the resume: an energy bid settles after the asks, and an
    /// ask without a reading cannot settle at zero while readings are refused.)
    pub paused: bool,
    /// Unix time the network last resumed from a pause (0 if it never was paused). A
    /// program that gives users a window to act in (the energy market's meter readings)
    /// counts it again from here, so a pause that refuses them cannot run it out.
    pub resumed_at: i64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl Network {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"network";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Fails with `NetworkPaused` while the network is paused.
    pub fn require_not_paused(&self) -> Result<()> {
        require!(!self.paused, crate::error::RegistryError::NetworkPaused);
        Ok(())
    }
}
