//! Errors of the staking program. Anchor numbers them from 6000 in declaration order, so new
//! variants are only ever appended.

use anchor_lang::prelude::*;

/// Every way a staking instruction can refuse its input.
#[error_code]
pub enum StakingError {
    /// Returned if the network is paused and the instruction is not a withdrawal of the
    /// caller's own funds.
    #[msg("The network is paused")]
    NetworkPaused,
    /// Returned if the signer is not the network's authority.
    #[msg("Signer is not the network authority")]
    NotNetworkAuthority,
    /// Returned if the signer is not the pool's slash authority.
    #[msg("Signer is not the slash authority")]
    NotSlashAuthority,
    /// Returned if a bond is requested for a device the signer does not own.
    #[msg("Signer is not the device owner")]
    NotDeviceOwner,
    /// Returned if a bond is requested for a device that is not active.
    #[msg("Device is not active")]
    DeviceNotActive,
    /// Returned if a device belongs to another network than the pool's.
    #[msg("Device belongs to another network")]
    WrongNetwork,
    /// Returned if bonding or unstaking would leave active stake below
    /// `devices_bonded * min_stake_per_device`.
    #[msg("Active stake below the bonded minimum")]
    StakeBelowMinimum,
    /// Returned if an unstake asks for more than the active stake.
    #[msg("Amount exceeds the active stake")]
    InsufficientStake,
    /// Returned if an amount is zero.
    #[msg("Amount must be positive")]
    ZeroAmount,
    /// Returned if `withdraw` comes before the cooldown ends.
    #[msg("Cooldown has not elapsed")]
    CooldownNotElapsed,
    /// Returned if `withdraw` finds nothing pending.
    #[msg("Nothing to withdraw")]
    NothingToWithdraw,
    /// Returned if a slash asks for more than active plus pending stake.
    #[msg("Slash exceeds the position's stake")]
    SlashExceedsStake,
    /// Returned if `unbond_device` is signed by neither the bond's staker nor the device's
    /// current owner.
    #[msg("Signer may not unbond this device")]
    NotBondParty,
    /// Returned if the slash treasury is not a stake-mint account of the network treasury's
    /// owner.
    #[msg("Treasury does not belong to the network treasury's owner")]
    TreasuryMismatch,
    /// Returned if a token account or mint is not the pool's stake mint.
    #[msg("Wrong stake mint")]
    WrongStakeMint,
    /// Returned if a counter or time would overflow.
    #[msg("Arithmetic overflow")]
    MathOverflow,
    /// Returned if the device is already bonded in this pool.
    #[msg("Device already bonded")]
    DeviceAlreadyBonded,
    /// Returned if the network already has a stake pool (or its vault address is taken).
    #[msg("Stake pool already exists")]
    PoolAlreadyExists,
    /// Returned if a stake position address holds an account that is not a position of
    /// this program.
    #[msg("Stake position address is taken")]
    PositionAddressTaken,
    /// Returned if an unstaking cooldown exceeds `depin_core::stake::MAX_COOLDOWN_SECS`
    /// (366 days), at `initialize_pool` or `update_pool`.
    #[msg("Cooldown longer than a year")]
    InvalidCooldown,
    /// Returned if a stake position or bond belongs to another pool or another staker than
    /// the instruction names.
    #[msg("Stake position or bond belongs to another pool or staker")]
    PositionMismatch,
    /// Returned if a slash authority is the default key, which nobody can sign for.
    #[msg("Invalid slash authority")]
    InvalidSlashAuthority,
}

impl From<depin_core::error::CoreError> for StakingError {
    fn from(e: depin_core::error::CoreError) -> Self {
        use depin_core::error::CoreError;
        match e {
            CoreError::InsufficientStake => StakingError::StakeBelowMinimum,
            CoreError::SlashExceedsStake => StakingError::SlashExceedsStake,
            CoreError::InvalidCooldown => StakingError::InvalidCooldown,
            _ => StakingError::MathOverflow,
        }
    }
}
