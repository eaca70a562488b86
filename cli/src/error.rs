//! The CLI's typed errors and the exit code each one maps to.
//!
//! Scripts rely on the codes (they are listed in `depin --help`):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the transaction failed (on chain, or refused by its simulation); the program error is printed by name |
//! | 2 | bad input: usage, keypair file, pubkey, amount, unknown account; nothing was sent |
//! | 3 | RPC or network error |
//! | 4 | the transaction expired (its blockhash went stale before it landed) |
//! | 5 | the transaction was sent and its outcome is unknown (the node stopped answering): look its signature up before sending again |

use std::path::PathBuf;

use depin_sdk::Pubkey;

/// Exit code of a success.
pub const EXIT_OK: u8 = 0;
/// Exit code of a transaction that failed on chain or in its simulation.
pub const EXIT_TX_FAILED: u8 = 1;
/// Exit code of bad input (nothing was sent).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of an RPC or network error.
pub const EXIT_RPC: u8 = 3;
/// Exit code of a transaction that never landed.
pub const EXIT_EXPIRED: u8 = 4;
/// Exit code of a transaction sent whose outcome is unknown.
pub const EXIT_UNCONFIRMED: u8 = 5;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line itself is wrong (clap's message, first line).
    #[error("{0}")]
    Usage(String),
    /// The keypair file does not exist.
    #[error("keypair file {} not found", .0.display())]
    KeypairMissing(PathBuf),
    /// The keypair file exists but is not a Solana CLI keypair.
    #[error("keypair file {}: {reason}", path.display())]
    KeypairMalformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument is malformed or out of range (amount, pubkey, hex, file contents).
    #[error("{0}")]
    BadInput(String),
    /// An account the command needs does not exist.
    #[error("{what} {address} not found")]
    NotFound {
        /// What it should have been (`"network"`, `"maker"`, ...).
        what: &'static str,
        /// Its address.
        address: Pubkey,
    },
    /// The user declined the confirmation prompt, or no prompt was possible without `--yes`.
    #[error("{0}")]
    NotConfirmed(String),
    /// The RPC node could not be reached or answered something unusable.
    #[error("rpc: {0}")]
    Rpc(String),
    /// The transaction landed and failed.
    #[error("transaction {signature} failed: {failure}")]
    Failed {
        /// Its signature.
        signature: String,
        /// The program error, by name where it is a suite program's.
        failure: String,
    },
    /// The simulation (or the node's preflight) says the transaction can only fail; it was
    /// not sent.
    #[error("transaction refused by simulation: {0}")]
    Simulation(String),
    /// The transaction never landed.
    #[error("transaction {signature} expired before landing ({attempts} attempts)")]
    Expired {
        /// The last attempt's signature.
        signature: String,
        /// How many times it was signed and sent.
        attempts: u32,
    },
    /// The transaction was sent, then the node stopped answering: it may have landed.
    #[error(
        "transaction {signature} sent, outcome unknown ({reason}): look it up before sending again"
    )]
    Unconfirmed {
        /// Its signature.
        signature: String,
        /// What the node answered.
        reason: String,
    },
    /// Some transactions of a batch failed or expired (the summary was printed).
    #[error("{failed} of {transactions} transactions failed and {expired} expired; first failure: {first}")]
    Batch {
        /// Transactions sent.
        transactions: usize,
        /// Of which failed.
        failed: usize,
        /// Of which expired.
        expired: usize,
        /// The first failure or expiry, described.
        first: String,
    },
    /// The localnet could not start.
    #[error("localnet: {0}")]
    Localnet(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed { .. } | CliError::Simulation(_) => EXIT_TX_FAILED,
            CliError::Batch { failed, .. } if *failed > 0 => EXIT_TX_FAILED,
            CliError::Batch { .. } | CliError::Expired { .. } => EXIT_EXPIRED,
            CliError::Rpc(_) | CliError::Localnet(_) => EXIT_RPC,
            CliError::Unconfirmed { .. } => EXIT_UNCONFIRMED,
            CliError::Usage(_)
            | CliError::KeypairMissing(_)
            | CliError::KeypairMalformed { .. }
            | CliError::BadInput(_)
            | CliError::NotFound { .. }
            | CliError::NotConfirmed(_) => EXIT_BAD_INPUT,
        }
    }

    /// An RPC error from anything displayable.
    pub fn rpc(e: impl std::fmt::Display) -> Self {
        CliError::Rpc(e.to_string())
    }
}

/// The result of a command.
pub type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_error_has_its_documented_code() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::KeypairMissing("/x".into()).exit_code(), 2);
        assert_eq!(
            CliError::NotFound {
                what: "network",
                address: Pubkey::default()
            }
            .exit_code(),
            2
        );
        assert_eq!(CliError::Simulation("x".into()).exit_code(), 1);
        assert_eq!(CliError::Rpc("x".into()).exit_code(), 3);
        let expired = CliError::Expired {
            signature: "s".into(),
            attempts: 3,
        };
        assert_eq!(expired.exit_code(), 4);
        let unconfirmed = CliError::Unconfirmed {
            signature: "s".into(),
            reason: "x".into(),
        };
        assert_eq!(unconfirmed.exit_code(), 5);
        let batch = |failed| CliError::Batch {
            transactions: 3,
            failed,
            expired: 1,
            first: "x".into(),
        };
        assert_eq!(batch(1).exit_code(), 1);
        assert_eq!(batch(0).exit_code(), 4);
    }

    #[test]
    fn a_missing_keypair_reads_as_one_line() {
        let e = CliError::KeypairMissing("/x/y.json".into());
        assert_eq!(e.to_string(), "keypair file /x/y.json not found");
    }
}
