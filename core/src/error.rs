//! The error type of the core crate.

/// Every way a core computation can refuse its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreError {
    /// Returned if a result does not fit its integer type.
    MathOverflow,
    /// Returned if a value is not a well-formed H3 cell index.
    InvalidH3Index,
    /// Returned if active stake would not cover the bonded devices.
    InsufficientStake,
    /// Returned if a slash asks for more than active plus pending stake.
    SlashExceedsStake,
    /// Returned if a basis-point rate exceeds 10,000.
    InvalidBps,
    /// Returned if an emission schedule's tail exceeds its initial emission.
    InvalidSchedule,
    /// Returned if an epoch duration (or period, or interval) is zero or longer than a year.
    InvalidEpochDuration,
    /// Returned if an oracle set is empty, too large, has duplicates or the default key.
    InvalidOracleSet,
    /// Returned if a quorum is not a strict majority of its oracle set.
    InvalidQuorum,
    /// Returned if a merkle tree is built from no leaves.
    EmptyTree,
    /// Returned if a leaf index is outside the tree.
    IndexOutOfRange,
    /// Returned if an order book side has more than `MAX_ORDERS_PER_SIDE` orders.
    TooManyOrders,
    /// Returned if output slices do not match the order books' lengths.
    LengthMismatch,
    /// Returned if a consumer's charge would exceed its escrow.
    EscrowShortfall,
    /// Returned if a chunk size is not a positive multiple of 32 bytes (at most 2 MiB), or a
    /// piece has no chunks.
    InvalidChunkSize,
    /// Returned if a piece's chunk count is zero or above `storage::MAX_CHUNKS` (a chunk
    /// proof would not fit the proof length a program accepts).
    InvalidChunkCount,
    /// Returned if an unstaking cooldown exceeds `stake::MAX_COOLDOWN_SECS`.
    InvalidCooldown,
    /// Returned if a genesis time is negative or more than a year ahead.
    InvalidGenesis,
    /// Returned if a device already placed `energy::MAX_PLACEMENTS_PER_DEVICE` orders on one
    /// side of an interval.
    TooManyPlacements,
    /// Returned if a device already trades in as many intervals with open gates as it may.
    TooManyOpenIntervals,
    /// Returned if a device status change starts from `Decommissioned`, which is final.
    DeviceDecommissioned,
    /// Returned if a status change is asked by someone who is neither the network
    /// authority nor the device owner.
    StatusChangeUnauthorized,
    /// Returned if a status change is only allowed to a role that waits while the network
    /// is paused (the owner's decommissioning).
    NetworkPaused,
    /// Returned if no role of the caller may move the device from its status to the one
    /// asked (see `status`), no-op changes included.
    InvalidStatusTransition,
    /// Returned if an auditor's action carries an all-zero evidence hash.
    MissingEvidence,
}

impl core::fmt::Display for CoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CoreError::MathOverflow => "arithmetic overflow",
            CoreError::InvalidH3Index => "not a valid H3 cell index",
            CoreError::InsufficientStake => "active stake below the bonded minimum",
            CoreError::SlashExceedsStake => "slash exceeds active plus pending stake",
            CoreError::InvalidBps => "basis points above 10000",
            CoreError::InvalidSchedule => "emission tail exceeds the initial emission",
            CoreError::InvalidEpochDuration => "duration is zero or longer than a year",
            CoreError::InvalidOracleSet => "oracle set is empty, too large or has duplicates",
            CoreError::InvalidQuorum => "quorum is not a majority of the oracles",
            CoreError::EmptyTree => "merkle tree without leaves",
            CoreError::IndexOutOfRange => "leaf index out of range",
            CoreError::TooManyOrders => "too many orders on one side of the book",
            CoreError::LengthMismatch => "output slices do not match the books",
            CoreError::EscrowShortfall => "charge exceeds the escrow",
            CoreError::InvalidChunkSize => "chunk size is not a positive multiple of 32 bytes",
            CoreError::InvalidChunkCount => "a piece has no chunks or more than 2^32",
            CoreError::InvalidCooldown => "cooldown longer than a year",
            CoreError::InvalidGenesis => "genesis before 1970 or more than a year ahead",
            CoreError::TooManyPlacements => "too many orders placed by one device in this interval",
            CoreError::TooManyOpenIntervals => "orders in too many open intervals",
            CoreError::DeviceDecommissioned => "device is decommissioned",
            CoreError::StatusChangeUnauthorized => "caller may not change this device's status",
            CoreError::NetworkPaused => "the network is paused",
            CoreError::InvalidStatusTransition => "status transition not allowed",
            CoreError::MissingEvidence => "an audit action needs an evidence hash",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CoreError {}
