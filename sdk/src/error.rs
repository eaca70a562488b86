//! Errors of the SDK.

/// Everything the SDK can refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdkError {
    /// The bytes are not an account of the expected type (wrong discriminator, too short,
    /// or a layout that does not deserialize).
    #[error("account data is not a valid {expected}: {reason}")]
    AccountDecode {
        /// Account type the caller asked for.
        expected: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The bytes are not an event of the expected type.
    #[error("instruction data is not a {expected} event: {reason}")]
    EventDecode {
        /// Event type the caller asked for.
        expected: &'static str,
        /// What went wrong.
        reason: String,
    },
}
