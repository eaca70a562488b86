//! Errors of the rewards program. Anchor numbers them from 6000 in declaration order, so new
//! variants are only ever appended.

use anchor_lang::prelude::*;

/// Every way a rewards instruction can refuse its input.
#[error_code]
pub enum RewardsError {
    /// Returned if the network is paused and the instruction is not the authority's.
    #[msg("The network is paused")]
    NetworkPaused,
    /// Returned if the signer is not the network's authority.
    #[msg("Signer is not the network authority")]
    NotNetworkAuthority,
    /// Returned if the emission schedule's tail exceeds its initial amount.
    #[msg("Invalid emission schedule")]
    InvalidSchedule,
    /// Returned if the epoch duration is zero or longer than a year
    /// (`depin_core::epoch::MAX_DURATION_SECS`).
    #[msg("Invalid epoch duration")]
    InvalidEpochDuration,
    /// Returned if the oracle set is empty, larger than 11, has a duplicate or the default key.
    #[msg("Invalid oracle set")]
    InvalidOracleSet,
    /// Returned if the quorum is not a majority of the oracle set (or exceeds it).
    #[msg("Quorum must be a majority of the oracles")]
    InvalidQuorum,
    /// Returned if the signer of `propose_root` is not an oracle.
    #[msg("Signer is not an oracle")]
    NotOracle,
    /// Returned if a root is proposed for an epoch that has not ended yet.
    #[msg("Epoch is not over")]
    EpochNotOver,
    /// Returned if a root is proposed for an epoch that is already finalized.
    #[msg("Epoch already finalized")]
    EpochAlreadyFinalized,
    /// Returned if a root is proposed for an epoch at or before the latest finalized one.
    #[msg("Epoch is older than the latest finalized epoch")]
    StaleEpoch,
    /// Returned if a proposed total exceeds the schedule's cumulative emission.
    #[msg("Total exceeds the emission schedule")]
    ExceedsEmissionSchedule,
    /// Returned if a proposed total is below the previous finalized total.
    #[msg("Total below the previous finalized total")]
    DecreasingTotal,
    /// Returned if a claim names an epoch whose root is not finalized.
    #[msg("Epoch root is not finalized")]
    EpochNotFinalized,
    /// Returned if the merkle proof does not lead to the epoch's root.
    #[msg("Invalid merkle proof")]
    InvalidProof,
    /// Returned if a proof has more than 32 levels.
    #[msg("Proof too long")]
    ProofTooLong,
    /// Returned if the device is not active in the registry.
    #[msg("Device is not active")]
    DeviceNotActive,
    /// Returned if the device, pool, config or epoch belongs to another network.
    #[msg("Device belongs to another network")]
    WrongNetwork,
    /// Returned if the device has no bond in the network's stake pool.
    #[msg("Device is not bonded")]
    DeviceNotBonded,
    /// Returned if the device's bond is backed by someone other than its current owner.
    #[msg("Bond is not backed by the device owner")]
    BondStakerNotOwner,
    /// Returned if the recipient token account is not owned by the device owner.
    #[msg("Recipient is not the device owner's token account")]
    WrongRecipient,
    /// Returned if a claim would mint past the latest finalized total.
    #[msg("Claim exceeds the finalized total")]
    MintCapExceeded,
    /// Returned if the reward mint is not the network's.
    #[msg("Reward mint does not match the network")]
    RewardMintMismatch,
    /// Returned if the network already has a rewards configuration.
    #[msg("Rewards already initialized")]
    RewardsAlreadyInitialized,
    /// Returned if an account at a program address is not what the program wrote there.
    #[msg("Account at a program address is not the expected account")]
    UnexpectedAccount,
    /// Returned if a counter, time or amount would overflow.
    #[msg("Arithmetic overflow")]
    MathOverflow,
    /// Returned if the owner's active stake no longer covers its bonded devices at the
    /// pool's current minimum (after a slash, or after the minimum was raised): no rewards
    /// until it stakes again or unbonds devices.
    #[msg("Stake position no longer covers its bonded devices")]
    UnderCollateralized,
    /// Returned if a claim proves against a finalized root that a later finalized epoch has
    /// superseded: claims prove against the latest finalized root only.
    #[msg("Claims prove against the latest finalized root only")]
    SupersededRoot,
    /// Returned if a genesis time is negative or more than a year after initialization.
    #[msg("Invalid genesis time")]
    InvalidGenesis,
    /// Returned if a device's `Claimed` record is opened a second time.
    #[msg("The device's claim record is already open")]
    ClaimedAlreadyOpen,
}
