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
    /// A file could not be read.
    #[error("i/o: {0}")]
    Io(String),
    /// A storage computation refused its input (chunk size, index, empty piece).
    #[error("storage: {0}")]
    Storage(depin_core::CoreError),
    /// Deal terms name another piece than the file holds: its root, chunk size or chunk
    /// count differs (see `StorageProver::check_terms`).
    #[error("the deal's {term} is {deal}, the file's {file}")]
    TermsMismatch {
        /// Which term differs: `piece root`, `chunk size` or `chunk count`.
        term: &'static str,
        /// The deal's value.
        deal: String,
        /// The file's value.
        file: String,
    },
    /// The challenge seed is not (not yet, or no longer) in the SlotHashes data given.
    #[error("challenge seed not available in the SlotHashes data")]
    SeedUnavailable,
    /// The bytes are not an event of the expected type.
    #[error("instruction data is not a {expected} event: {reason}")]
    EventDecode {
        /// Event type the caller asked for.
        expected: &'static str,
        /// What went wrong.
        reason: String,
    },
}
