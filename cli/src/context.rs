//! What every command shares: the global options, the payer, the RPC reads, and sending a
//! transaction with its outcome mapped to the CLI's errors.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anchor_lang::{AccountDeserialize, Discriminator};
use depin_sdk::client::{Client, ClientConfig, ClientError, Outcome};
use depin_sdk::{Instruction, Pubkey};
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::error::{CliError, CliResult};
use crate::keys;
use crate::output::{self, OutputFormat};

/// The global options, resolved.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// JSON-RPC URL.
    pub url: String,
    /// The keypair file of the payer (and default signer of every role).
    pub keypair_path: PathBuf,
    /// Whether `--keypair` was given (not the default path).
    pub keypair_explicit: bool,
    /// How to print results.
    pub output: OutputFormat,
    /// Skip confirmation prompts.
    pub yes: bool,
}

/// An account as read over RPC.
#[derive(Debug, Clone)]
pub struct RawAccount {
    /// Its program.
    pub owner: Pubkey,
    /// Its lamports.
    pub lamports: u64,
    /// Its data.
    pub data: Vec<u8>,
}

impl Ctx {
    /// Reads the payer's keypair file.
    pub fn payer(&self) -> CliResult<Keypair> {
        keys::read_keypair_file(&self.keypair_path)
    }

    /// A read-only RPC client (confirmed commitment).
    pub fn rpc(&self) -> RpcClient {
        RpcClient::new_with_commitment(self.url.clone(), CommitmentConfig::confirmed())
    }

    /// A client that sends as `payer`.
    pub fn client(&self, payer: Keypair) -> Client {
        Client::new(self.url.clone(), payer, ClientConfig::default())
    }

    /// Prints a command's result.
    pub fn emit(&self, value: &serde_json::Value) {
        output::emit(self.output, value);
    }

    /// Asks before something irreversible. `--yes` skips the question; without it, a stdin
    /// that is not a terminal is refused rather than waited on.
    pub fn confirm(&self, action: &str) -> CliResult<()> {
        if self.yes {
            return Ok(());
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(CliError::NotConfirmed(format!(
                "refusing to {action} without --yes: stdin is not a terminal"
            )));
        }
        eprint!("{action}? This cannot be undone. [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .map_err(|e| CliError::NotConfirmed(format!("reading the answer: {e}")))?;
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => Err(CliError::NotConfirmed(format!("{action}: cancelled"))),
        }
    }
}

/// Reads an account, `None` when it does not exist.
pub async fn get_account(rpc: &RpcClient, address: &Pubkey) -> CliResult<Option<RawAccount>> {
    let account = rpc
        .get_account_with_commitment(address, rpc.commitment())
        .await
        .map_err(CliError::rpc)?
        .value;
    Ok(account.map(|a| RawAccount {
        owner: a.owner,
        lamports: a.lamports,
        data: a.data,
    }))
}

/// Reads several accounts at once (100 per request).
pub async fn get_accounts(
    rpc: &RpcClient,
    addresses: &[Pubkey],
) -> CliResult<Vec<Option<RawAccount>>> {
    let mut out = Vec::with_capacity(addresses.len());
    for chunk in addresses.chunks(100) {
        let accounts = rpc
            .get_multiple_accounts_with_commitment(chunk, rpc.commitment())
            .await
            .map_err(CliError::rpc)?
            .value;
        out.extend(accounts.into_iter().map(|a| {
            a.map(|a| RawAccount {
                owner: a.owner,
                lamports: a.lamports,
                data: a.data,
            })
        }));
    }
    Ok(out)
}

/// Decodes `data` as a `T`, naming the account in the error.
pub fn decode<T: AccountDeserialize + Discriminator>(
    data: &[u8],
    what: &'static str,
    address: &Pubkey,
) -> CliResult<T> {
    depin_sdk::accounts::decode(data)
        .map_err(|_| CliError::BadInput(format!("{address} is not a {what} account")))
}

/// Reads and decodes a suite account; a missing one is [`CliError::NotFound`].
pub async fn fetch<T: AccountDeserialize + Discriminator>(
    rpc: &RpcClient,
    address: &Pubkey,
    what: &'static str,
) -> CliResult<T> {
    let account = get_account(rpc, address).await?.ok_or(CliError::NotFound {
        what,
        address: *address,
    })?;
    decode(&account.data, what, address)
}

/// Reads and decodes a suite account that may not exist yet.
pub async fn fetch_optional<T: AccountDeserialize + Discriminator>(
    rpc: &RpcClient,
    address: &Pubkey,
    what: &'static str,
) -> CliResult<Option<T>> {
    match get_account(rpc, address).await? {
        Some(account) => decode(&account.data, what, address).map(Some),
        None => Ok(None),
    }
}

/// Sends one transaction (compute budget and priority fee added by the SDK client) and
/// waits for it to land; every other outcome is an error with its exit code.
pub async fn send(
    client: &Client,
    instructions: &[Instruction],
    signers: &[&Keypair],
) -> CliResult<String> {
    let outcome = client
        .send(instructions, signers)
        .await
        .map_err(client_error)?;
    outcome_result(outcome)
}

/// The output of a command whose transaction landed as `signature`: `sent` (what the
/// command knows without a read, the signature among it) with the fields of `read`, the
/// state read back after it.
///
/// The transaction's effect stands whatever the read gives, so a read that fails does not
/// fail the command: a script retrying on a failed exit would send the transaction again
/// (a second stake, a second payment). The command succeeds; its output names in `unread`
/// why the read-back fields are missing, and a warning on stderr says the same.
pub fn after_landing(signature: &str, sent: Value, read: CliResult<Value>) -> Value {
    let mut out = fields(sent);
    match read {
        Ok(read) => out.extend(fields(read)),
        Err(e) => {
            eprintln!(
                "warning: transaction {signature} landed; reading its result back failed: {e}"
            );
            out.insert("unread".into(), Value::String(e.to_string()));
        }
    }
    Value::Object(out)
}

/// The fields of an output object (anything else becomes its one field `value`).
fn fields(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        other => serde_json::Map::from_iter([("value".to_owned(), other)]),
    }
}

/// A landed outcome's signature, or the error the others map to.
pub fn outcome_result(outcome: Outcome) -> CliResult<String> {
    match outcome {
        Outcome::Landed { signature, .. } => Ok(signature.to_string()),
        Outcome::Failed {
            signature, failure, ..
        } => Err(CliError::Failed {
            signature: signature.to_string(),
            failure: failure.to_string(),
        }),
        Outcome::Expired {
            signature,
            attempts,
        } => Err(CliError::Expired {
            signature: signature.to_string(),
            attempts,
        }),
    }
}

/// The CLI error of an SDK client error.
pub fn client_error(e: ClientError) -> CliError {
    match e {
        ClientError::Simulation { failure, .. } => CliError::Simulation(failure.to_string()),
        ClientError::Rpc(s) | ClientError::Nonce(s) => CliError::Rpc(s),
        ClientError::Unconfirmed { signature, reason } => CliError::Unconfirmed {
            signature: signature.to_string(),
            reason,
        },
        ClientError::Signing(s) => CliError::BadInput(format!("signing: {s}")),
        ClientError::Pack(e) => CliError::BadInput(e.to_string()),
        // the caller that can use the outcomes sent before takes them first
        ClientError::PartlySent { error, .. } => client_error(*error),
    }
}

/// Seconds since the Unix epoch by this machine's clock.
pub fn unix_now() -> CliResult<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| CliError::BadInput(format!("system clock: {e}")))?;
    i64::try_from(now.as_secs()).map_err(|e| CliError::BadInput(format!("system clock: {e}")))
}
