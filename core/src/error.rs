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
}

impl core::fmt::Display for CoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CoreError::MathOverflow => "arithmetic overflow",
            CoreError::InvalidH3Index => "not a valid H3 cell index",
            CoreError::InsufficientStake => "active stake below the bonded minimum",
            CoreError::SlashExceedsStake => "slash exceeds active plus pending stake",
            CoreError::InvalidBps => "basis points above 10000",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CoreError {}
