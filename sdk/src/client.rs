//! The gateway client: build, sign, send and confirm transactions against any cluster (or the
//! suite's localnet), on `solana-rpc-client`'s nonblocking client.
//!
//! - **Compute units.** A transaction asks for what it needs plus a margin: the units a
//!   simulation consumed ([`ComputeLimit::Simulate`]) or the SDK's measured table
//!   ([`ComputeLimit::Table`], what offline signers use). Fees follow requested units.
//! - **Priority fee.** A percentile of `getRecentPrioritizationFees` over the accounts the
//!   transaction writes, clamped to [`ClientConfig::priority_fee_bounds`].
//! - **Blockhash expiry.** The same signed transaction is re-broadcast until its blockhash's
//!   last valid block height has passed; only then can it never land, and it is re-signed
//!   under a fresh blockhash, up to [`ClientConfig::max_attempts`] times, with exponential
//!   backoff and jitter between attempts. The [`Outcome`] says which of landed, failed (with
//!   the program's own error name, see [`crate::errors`]) or expired.
//! - **Durable nonces.** [`Client::create_nonce_account`], [`sign_with_nonce`] (offline: only
//!   the nonce value is needed) and [`Client::submit_signed`], which sends it hours later
//!   (and stops following it after [`ClientConfig::nonce_patience`], when it can still land).
//! - **Packing.** [`Client::send_packed`] puts many instruction groups into the fewest
//!   transactions under the 1,232-byte limit ([`crate::pack`]), as v0 transactions over
//!   address lookup tables ([`Client::create_lookup_table`]) when given some.
//!
//! ```no_run
//! use depin_sdk::client::{Client, ClientConfig, Outcome};
//! use solana_keypair::Keypair;
//! # async fn gateway(instructions: Vec<depin_sdk::Instruction>) -> Result<(), depin_sdk::client::ClientError> {
//! let payer = Keypair::new(); // the gateway's key, e.g. read from its keypair file
//! let client = Client::new("http://127.0.0.1:8899", payer, ClientConfig::default());
//! match client.send(&instructions, &[]).await? {
//!     Outcome::Landed { signature, slot } => println!("{signature} landed in slot {slot}"),
//!     Outcome::Failed { signature, failure, .. } => eprintln!("{signature} failed: {failure}"),
//!     Outcome::Expired { signature, .. } => eprintln!("{signature} expired; try again later"),
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
pub use solana_commitment_config::CommitmentConfig;
use solana_commitment_config::CommitmentLevel;
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, Hash, Message, VersionedMessage};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{RpcSendTransactionConfig, RpcSimulateTransactionConfig};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{Transaction, TransactionError};

use crate::compute::{self, COMPUTE_BUDGET_ID};
use crate::errors::{decode_instruction_error, ProgramErrorInfo};
use crate::pack::{PackError, Packer};

/// How the compute-unit limit of a transaction is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeLimit {
    /// Simulate first and ask for the units consumed plus the margin (a simulation that
    /// fails stops the send: the transaction could only fail).
    Simulate,
    /// The SDK's measured worst cases ([`crate::compute`]), no simulation.
    Table,
}

/// Tunables of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Commitment a transaction must reach to count as landed.
    pub commitment: CommitmentConfig,
    /// How the compute-unit limit is chosen.
    pub compute_limit: ComputeLimit,
    /// Margin on simulated units, in percent.
    pub compute_margin_percent: u32,
    /// Percentile (0-100) of recent prioritization fees to pay.
    pub priority_fee_percentile: u8,
    /// Lowest and highest compute-unit price paid, in micro-lamports.
    pub priority_fee_bounds: (u64, u64),
    /// Signings of one transaction (each under a fresh blockhash) before it is reported
    /// expired.
    pub max_attempts: u32,
    /// How often an unconfirmed transaction is sent again.
    pub rebroadcast_interval: Duration,
    /// How often the status is polled.
    pub poll_interval: Duration,
    /// First backoff after an expired attempt or a failed request; doubles each time.
    pub backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Requests to the node that may fail in a row before the client gives up.
    pub max_request_failures: u32,
    /// How long a durable-nonce transaction is followed (re-broadcast while its nonce is
    /// unchanged) before the client stops and reports it [`ClientError::Unconfirmed`]: it
    /// has no blockhash to expire, so without a bound a transaction the cluster keeps
    /// dropping would be followed forever. It can still land; submitting the same signed
    /// transaction again is safe.
    pub nonce_patience: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            commitment: CommitmentConfig::confirmed(),
            compute_limit: ComputeLimit::Simulate,
            compute_margin_percent: 10,
            priority_fee_percentile: 75,
            priority_fee_bounds: (0, 1_000_000),
            max_attempts: 3,
            rebroadcast_interval: Duration::from_secs(2),
            poll_interval: Duration::from_millis(400),
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_request_failures: 5,
            nonce_patience: Duration::from_secs(90),
        }
    }
}

/// A program error a transaction ended with, decoded where the program is one of the suite's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The runtime's error.
    pub error: TransactionError,
    /// The failing instruction's program, when the error names an instruction.
    pub program: Option<Pubkey>,
    /// The program's own error (name, code, message), when it is a suite program's.
    pub decoded: Option<ProgramErrorInfo>,
}

impl Failure {
    /// Decodes `error` against the instructions of `message`.
    pub fn of(error: TransactionError, message: &VersionedMessage) -> Self {
        let (program, decoded) = match &error {
            TransactionError::InstructionError(index, inner) => {
                let program = message
                    .instructions()
                    .get(usize::from(*index))
                    .and_then(|ix| {
                        message
                            .static_account_keys()
                            .get(usize::from(ix.program_id_index))
                    })
                    .copied();
                let decoded = program.and_then(|p| decode_instruction_error(&p, inner));
                (program, decoded)
            }
            _ => (None, None),
        };
        Failure {
            error,
            program,
            decoded,
        }
    }

    /// The program error's name (`"MakerNotApproved"`), if decoded.
    pub fn name(&self) -> Option<&str> {
        self.decoded.as_ref().map(|d| d.name.as_str())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.decoded, &self.error) {
            (Some(decoded), TransactionError::InstructionError(index, _)) => {
                write!(f, "instruction {index}: {decoded}")
            }
            _ => write!(f, "{}", self.error),
        }
    }
}

/// What became of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It landed and succeeded, at the configured commitment.
    Landed {
        /// Its signature.
        signature: Signature,
        /// The slot it landed in.
        slot: u64,
    },
    /// It landed and failed (its fee was paid; nothing else changed).
    Failed {
        /// Its signature.
        signature: Signature,
        /// The slot it landed in.
        slot: u64,
        /// Why.
        failure: Failure,
    },
    /// Every attempt's blockhash (or the nonce) went stale before it landed; it never will.
    Expired {
        /// The last attempt's signature.
        signature: Signature,
        /// Attempts made.
        attempts: u32,
    },
}

impl Outcome {
    /// The (last) signature.
    pub fn signature(&self) -> Signature {
        match self {
            Outcome::Landed { signature, .. }
            | Outcome::Failed { signature, .. }
            | Outcome::Expired { signature, .. } => *signature,
        }
    }

    /// Whether it landed and succeeded.
    pub fn is_landed(&self) -> bool {
        matches!(self, Outcome::Landed { .. })
    }
}

/// The compute budget program's `SetComputeUnitLimit` tag.
const SET_UNIT_LIMIT: u8 = 2;
/// The compute budget program's `SetComputeUnitPrice` tag.
const SET_UNIT_PRICE: u8 = 3;

/// Blocks a blockhash stays usable after its own (the runtime's `MAX_PROCESSING_AGE`).
const MAX_PROCESSING_AGE: u64 = 150;

/// How far back a node looks for a signature's status.
#[derive(Clone, Copy)]
enum Lookup {
    /// Its recent status cache (about 300 slots): every poll.
    Recent,
    /// Its whole history: the last look before a transaction is called expired.
    History,
}

/// Where a signature stands in a node's history.
enum Seen {
    /// Nowhere: it has not landed.
    Nowhere,
    /// Landed, not yet at the configured commitment.
    Pending,
    /// Landed at the configured commitment: its outcome.
    Final(Outcome),
}

/// Why the client could not get a transaction to an outcome.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node kept failing (transport or server errors), or answered something unusable.
    #[error("rpc: {0}")]
    Rpc(String),
    /// Simulation (or the node's preflight) says the transaction can only fail; nothing was
    /// sent.
    #[error("simulation failed: {failure}")]
    Simulation {
        /// Why.
        failure: Box<Failure>,
        /// The program logs.
        logs: Vec<String>,
    },
    /// A signer the transaction needs is missing, or signing failed.
    #[error("signing: {0}")]
    Signing(String),
    /// The instructions cannot be packed into transactions.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// A nonce account is missing or not initialized.
    #[error("nonce account: {0}")]
    Nonce(String),
    /// The transaction was sent and its outcome is not known: the node stopped answering
    /// before it was, or a durable-nonce transaction had not landed within
    /// [`ClientConfig::nonce_patience`] (its nonce unchanged, so it can still land). Look
    /// `signature` up before sending it again (sending the same signed transaction again is
    /// safe; signing a new one may pay twice).
    #[error("sent as {signature}, outcome unknown: {reason}")]
    Unconfirmed {
        /// The signature to look up.
        signature: Signature,
        /// What the node answered.
        reason: String,
    },
    /// [`Client::send_packed`] stopped at a transaction it could not get an outcome for,
    /// after others had reached theirs: `sent` holds those (groups and outcome, landed ones
    /// among them), `error` what stopped it at the groups `stopped_at`, and the groups after
    /// those were not sent.
    #[error(
        "packed send stopped at groups {}..{} after {} transactions: {error}",
        stopped_at.start, stopped_at.end, sent.len()
    )]
    PartlySent {
        /// The transactions sent before, with their groups and outcomes.
        sent: Vec<(std::ops::Range<usize>, Outcome)>,
        /// The groups of the transaction that stopped the send.
        stopped_at: std::ops::Range<usize>,
        /// What stopped it (when [`ClientError::Unconfirmed`], that transaction may have
        /// landed: look its signature up before sending those groups again).
        error: Box<ClientError>,
    },
}

fn rpc(e: impl std::fmt::Display) -> ClientError {
    ClientError::Rpc(e.to_string())
}

/// Sends and confirms transactions for one fee payer.
pub struct Client {
    rpc: RpcClient,
    payer: Arc<Keypair>,
    config: ClientConfig,
}

/// A signed transaction and what the client needs to follow it.
struct Attempt {
    tx: VersionedTransaction,
    /// Last block height its blockhash is valid at (`None` for a durable nonce).
    last_valid: Option<u64>,
}

impl Client {
    /// A client of the node at `url`, paying with `payer`.
    pub fn new(url: impl Into<String>, payer: Keypair, config: ClientConfig) -> Self {
        Client {
            rpc: RpcClient::new_with_commitment(url.into(), config.commitment),
            payer: Arc::new(payer),
            config,
        }
    }

    /// The underlying RPC client.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The fee payer.
    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Runs a request, retrying transport failures with backoff up to
    /// [`ClientConfig::max_request_failures`] times.
    async fn retry<T, F, Fut>(&self, mut request: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, solana_rpc_client_api::client_error::Error>>,
    {
        let mut failures = 0;
        loop {
            match request().await {
                Ok(value) => return Ok(value),
                Err(e) if is_transport(&e) && failures + 1 < self.config.max_request_failures => {
                    tokio::time::sleep(self.backoff(failures)).await;
                    failures += 1;
                }
                Err(e) => return Err(rpc(e)),
            }
        }
    }

    /// Exponential backoff with full jitter for the `n`th retry.
    fn backoff(&self, n: u32) -> Duration {
        let ceiling = self
            .config
            .backoff
            .saturating_mul(1u32.checked_shl(n.min(16)).unwrap_or(u32::MAX))
            .min(self.config.max_backoff);
        ceiling.mul_f64(rand::random::<f64>().clamp(0.1, 1.0))
    }

    /// The compute-unit price to pay for writing `writable`: the configured percentile of
    /// the node's recent prioritization fees for them, clamped to the configured bounds.
    pub async fn priority_fee(&self, writable: &[Pubkey]) -> Result<u64, ClientError> {
        let accounts: Vec<Pubkey> = writable.iter().take(128).copied().collect();
        let fees = self
            .retry(|| self.rpc.get_recent_prioritization_fees(&accounts))
            .await?;
        let mut values: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
        Ok(clamp_fee(
            percentile(&mut values, self.config.priority_fee_percentile),
            self.config.priority_fee_bounds,
        ))
    }

    /// The compute-unit limit for `instructions` (without budget instructions).
    async fn unit_limit(&self, instructions: &[Instruction]) -> Result<u32, ClientError> {
        match self.config.compute_limit {
            ComputeLimit::Table => Ok(compute::compute_unit_limit(instructions)),
            ComputeLimit::Simulate => {
                let mut probe = vec![set_unit_limit(compute::MAX_UNITS)];
                probe.extend_from_slice(instructions);
                let message =
                    Message::new_with_blockhash(&probe, Some(&self.payer()), &Hash::default());
                let tx = Transaction::new_unsigned(message);
                let config = RpcSimulateTransactionConfig {
                    sig_verify: false,
                    replace_recent_blockhash: true,
                    commitment: Some(CommitmentConfig::processed()),
                    ..RpcSimulateTransactionConfig::default()
                };
                let simulation = self
                    .retry(|| {
                        self.rpc
                            .simulate_transaction_with_config(&tx, config.clone())
                    })
                    .await?
                    .value;
                if let Some(err) = simulation.err {
                    let error: TransactionError = err.into();
                    // the probe's first instruction is the limit: point at the caller's
                    let error = match error {
                        TransactionError::InstructionError(i, e) if i > 0 => {
                            TransactionError::InstructionError(i - 1, e)
                        }
                        other => other,
                    };
                    let message =
                        VersionedMessage::Legacy(Message::new(instructions, Some(&self.payer())));
                    return Err(ClientError::Simulation {
                        failure: Box::new(Failure::of(error, &message)),
                        logs: simulation.logs.unwrap_or_default(),
                    });
                }
                let used = simulation.units_consumed.unwrap_or(0);
                let with_margin =
                    used.saturating_mul(u64::from(100 + self.config.compute_margin_percent)) / 100
                        + u64::from(compute::HEADROOM_UNITS);
                Ok(u32::try_from(with_margin)
                    .unwrap_or(compute::MAX_UNITS)
                    .min(compute::MAX_UNITS))
            }
        }
    }

    /// The budget instructions for `instructions`: unit limit, then unit price, each unless
    /// `instructions` already set it.
    pub async fn budget(
        &self,
        instructions: &[Instruction],
    ) -> Result<Vec<Instruction>, ClientError> {
        // what the instructions set themselves (e.g. `energy::batch_readings`) is kept: a
        // second instruction of the same kind would fail the transaction whole
        let sets = |tag: u8| {
            instructions
                .iter()
                .any(|ix| ix.program_id == COMPUTE_BUDGET_ID && ix.data.first() == Some(&tag))
        };
        let mut budget = Vec::new();
        if !sets(SET_UNIT_LIMIT) {
            budget.push(set_unit_limit(self.unit_limit(instructions).await?));
        }
        if !sets(SET_UNIT_PRICE) {
            let price = self.priority_fee(&writable(instructions)).await?;
            if price > 0 {
                budget.push(set_unit_price(price));
            }
        }
        Ok(budget)
    }

    /// Builds, signs, sends and confirms one transaction with `instructions` (compute budget
    /// added where they set none), paid by the client's payer and signed by it and `signers`.
    pub async fn send(
        &self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Outcome, ClientError> {
        let mut all = self.budget(instructions).await?;
        all.extend_from_slice(instructions);
        self.send_message(
            |hash| {
                Ok(VersionedMessage::Legacy(Message::new_with_blockhash(
                    &all,
                    Some(&self.payer()),
                    &hash,
                )))
            },
            signers,
        )
        .await
    }

    /// Signs the message `build` makes for each fresh blockhash and follows it to an outcome.
    async fn send_message<F>(&self, build: F, signers: &[&Keypair]) -> Result<Outcome, ClientError>
    where
        F: Fn(Hash) -> Result<VersionedMessage, ClientError>,
    {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (hash, last_valid) = self
                .retry(|| {
                    self.rpc
                        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
                })
                .await?;
            let tx = self.sign(build(hash)?, signers)?;
            let attempt = Attempt {
                tx,
                last_valid: Some(last_valid),
            };
            match self.follow(&attempt).await? {
                Outcome::Expired { signature, .. } if attempts >= self.config.max_attempts => {
                    return Ok(Outcome::Expired {
                        signature,
                        attempts,
                    })
                }
                Outcome::Expired { .. } => tokio::time::sleep(self.backoff(attempts - 1)).await,
                outcome => return Ok(outcome),
            }
        }
    }

    /// Signs `message` with the payer and `signers` (each key the message requires).
    fn sign(
        &self,
        message: VersionedMessage,
        signers: &[&Keypair],
    ) -> Result<VersionedTransaction, ClientError> {
        let mut keys: Vec<&Keypair> = vec![&self.payer];
        keys.extend(signers.iter().filter(|k| k.pubkey() != self.payer()));
        sign_message(message, &keys)
    }

    /// Sends a transaction signed elsewhere (with a durable nonce, or a recent blockhash) and
    /// follows it to an outcome; it is never re-signed.
    pub async fn submit_signed(
        &self,
        tx: impl Into<VersionedTransaction>,
    ) -> Result<Outcome, ClientError> {
        let tx = tx.into();
        let hash = *tx.message.recent_blockhash();
        let nonce = nonce_account_of(&tx.message);
        let last_valid = if nonce.is_some() {
            None
        } else {
            let valid = self
                .retry(|| {
                    self.rpc
                        .is_blockhash_valid(&hash, CommitmentConfig::processed())
                })
                .await?;
            if !valid {
                // it can no longer land, but it may have landed already (a retry of a send
                // whose answer was lost): only the node's history tells
                let signature = tx.signatures.first().copied().unwrap_or_default();
                return match self.seen(&signature, &tx.message, Lookup::History).await? {
                    Seen::Final(outcome) => Ok(outcome),
                    Seen::Pending => {
                        self.follow(&Attempt {
                            tx,
                            last_valid: Some(0),
                        })
                        .await
                    }
                    Seen::Nowhere => Ok(Outcome::Expired {
                        signature,
                        attempts: 1,
                    }),
                };
            }
            // valid now, so its block is at most the processed height: it stays valid at
            // most MAX_PROCESSING_AGE blocks past that (a bound from the confirmed height
            // could end before the blockhash does, and a re-signed copy land beside it)
            let height = self
                .retry(|| {
                    self.rpc
                        .get_block_height_with_commitment(CommitmentConfig::processed())
                })
                .await?;
            Some(height.saturating_add(MAX_PROCESSING_AGE))
        };
        let attempt = Attempt { tx, last_valid };
        self.follow(&attempt).await
    }

    /// Where `signature` stands, looked up as far back as `lookup` says.
    async fn seen(
        &self,
        signature: &Signature,
        message: &VersionedMessage,
        lookup: Lookup,
    ) -> Result<Seen, ClientError> {
        let signatures = std::slice::from_ref(signature);
        let status = self
            .retry(|| async {
                match lookup {
                    Lookup::Recent => self.rpc.get_signature_statuses(signatures).await,
                    Lookup::History => {
                        self.rpc
                            .get_signature_statuses_with_history(signatures)
                            .await
                    }
                }
            })
            .await?
            .value
            .into_iter()
            .next()
            .flatten();
        Ok(match status {
            None => Seen::Nowhere,
            Some(status) if status.satisfies_commitment(self.config.commitment) => {
                let (signature, slot) = (*signature, status.slot);
                Seen::Final(match status.err {
                    None => Outcome::Landed { signature, slot },
                    Some(error) => Outcome::Failed {
                        signature,
                        slot,
                        failure: Failure::of(error, message),
                    },
                })
            }
            Some(_) => Seen::Pending,
        })
    }

    /// Broadcasts `attempt` until it reaches the configured commitment or can no longer land.
    async fn follow(&self, attempt: &Attempt) -> Result<Outcome, ClientError> {
        let tx = &attempt.tx;
        let signature = tx.signatures.first().copied().unwrap_or_default();
        // the first send runs the node's preflight: a transaction that can only fail is
        // reported, not broadcast
        let preflight = RpcSendTransactionConfig {
            skip_preflight: false,
            preflight_commitment: Some(CommitmentLevel::Processed),
            ..RpcSendTransactionConfig::default()
        };
        match self.rpc.send_transaction_with_config(tx, preflight).await {
            Ok(_) => {}
            Err(e) => {
                if let Some((error, logs)) = preflight_failure(&e) {
                    if error == TransactionError::BlockhashNotFound {
                        // a validator checks the blockhash (or the nonce) before its status
                        // cache: a resent transaction that landed meets this too
                        match self.seen(&signature, &tx.message, Lookup::History).await? {
                            Seen::Final(outcome) => return Ok(outcome),
                            Seen::Pending => {}
                            Seen::Nowhere => {
                                return Ok(Outcome::Expired {
                                    signature,
                                    attempts: 1,
                                })
                            }
                        }
                    } else if error != TransactionError::AlreadyProcessed {
                        return Err(ClientError::Simulation {
                            failure: Box::new(Failure::of(error, &tx.message)),
                            logs,
                        });
                    }
                } else if !is_transport(&e) {
                    return Err(rpc(e));
                }
            }
        }
        let rebroadcast = RpcSendTransactionConfig {
            skip_preflight: true,
            max_retries: Some(0),
            ..RpcSendTransactionConfig::default()
        };
        let mut last_send = tokio::time::Instant::now();
        let followed_since = last_send;
        let nonce = nonce_account_of(&tx.message);
        // from here the transaction may be on its way: a node that stops answering leaves
        // its outcome unknown, and the error says which signature to look up
        let watched: Result<Outcome, ClientError> = async {
            loop {
                tokio::time::sleep(self.config.poll_interval).await;
                match self.seen(&signature, &tx.message, Lookup::Recent).await? {
                    Seen::Final(outcome) => return Ok(outcome),
                    // landed, not yet at the commitment: wait, never re-send
                    Seen::Pending => continue,
                    Seen::Nowhere => {}
                }
                let stale = match (attempt.last_valid, &nonce) {
                    // at confirmed: a minority fork's processed height may pass the limit while
                    // the majority's has not, and the transaction could still land there
                    (Some(last_valid), _) => {
                        let height = self
                            .retry(|| {
                                self.rpc
                                    .get_block_height_with_commitment(CommitmentConfig::confirmed())
                            })
                            .await?;
                        height > last_valid
                    }
                    (None, Some((account, _))) => {
                        self.nonce_value(account).await? != *tx.message.recent_blockhash()
                    }
                    (None, None) => false,
                };
                if stale {
                    // one last look, through the node's whole history: it may have landed just
                    // before its blockhash expired (found there and final, it is answered here:
                    // the next poll, without history, would not see it again)
                    match self.seen(&signature, &tx.message, Lookup::History).await? {
                        Seen::Final(outcome) => return Ok(outcome),
                        Seen::Pending => continue,
                        Seen::Nowhere => {
                            return Ok(Outcome::Expired {
                                signature,
                                attempts: 1,
                            })
                        }
                    }
                }
                if attempt.last_valid.is_none()
                    && followed_since.elapsed() >= self.config.nonce_patience
                {
                    // a durable nonce never expires: stop following it, with the last look
                    // through the node's whole history first
                    match self.seen(&signature, &tx.message, Lookup::History).await? {
                        Seen::Final(outcome) => return Ok(outcome),
                        Seen::Pending => continue,
                        Seen::Nowhere => {
                            return Err(ClientError::Unconfirmed {
                                signature,
                                reason: format!(
                                    "not landed after {:?} of re-broadcasts; its nonce is \
                                     unchanged, so it can still land: submit the same \
                                     transaction again",
                                    self.config.nonce_patience
                                ),
                            })
                        }
                    }
                }
                if last_send.elapsed() >= self.config.rebroadcast_interval {
                    // a dropped send is no loss: the next round re-sends
                    let _ = self.rpc.send_transaction_with_config(tx, rebroadcast).await;
                    last_send = tokio::time::Instant::now();
                }
            }
        }
        .await;
        watched.map_err(|e| match e {
            ClientError::Rpc(reason) | ClientError::Nonce(reason) => {
                ClientError::Unconfirmed { signature, reason }
            }
            other => other,
        })
    }

    /// Packs `groups` (each kept whole in one transaction, in order) into the fewest
    /// transactions under 1,232 bytes, each with its compute budget (from the SDK's table,
    /// since a batch's size must be known before it is simulated), and sends them one after
    /// the other. With `tables`, the transactions are v0 and address the tables' keys by
    /// index. Returns one outcome per transaction, with the groups it carried. A group
    /// carrying a compute-budget instruction is refused (`PackError::OwnComputeBudget`):
    /// the budget is set here, once per transaction. An error once some transactions have
    /// reached their outcomes comes as [`ClientError::PartlySent`] with those outcomes, so
    /// a caller never loses what landed; an error before any comes as it is.
    pub async fn send_packed(
        &self,
        groups: Vec<Vec<Instruction>>,
        signers: &[&Keypair],
        tables: Vec<AddressLookupTableAccount>,
    ) -> Result<Vec<(std::ops::Range<usize>, Outcome)>, ClientError> {
        if let Some(group) = groups
            .iter()
            .position(|g| g.iter().any(|ix| ix.program_id == COMPUTE_BUDGET_ID))
        {
            return Err(ClientError::Pack(PackError::OwnComputeBudget { group }));
        }
        let all: Vec<Instruction> = groups.iter().flatten().cloned().collect();
        let price = self.priority_fee(&writable(&all)).await?;
        let packer = if tables.is_empty() {
            Packer::legacy(self.payer())
        } else {
            Packer::v0(self.payer(), tables)
        };
        let packed = packer.pack(groups, |instructions| {
            let mut budget = vec![set_unit_limit(compute::compute_unit_limit(instructions))];
            if price > 0 {
                budget.push(set_unit_price(price));
            }
            budget
        })?;
        let mut outcomes = Vec::with_capacity(packed.len());
        for batch in packed {
            let needed: Vec<&Keypair> = signers
                .iter()
                .copied()
                .filter(|k| batch.signers.contains(&k.pubkey()))
                .collect();
            let sent = self
                .send_message(
                    |hash| {
                        packer.message(&batch.instructions, hash).map_err(|e| {
                            ClientError::Pack(PackError::Compile {
                                group: batch.groups.start,
                                error: e,
                            })
                        })
                    },
                    &needed,
                )
                .await;
            match sent {
                Ok(outcome) => outcomes.push((batch.groups.clone(), outcome)),
                Err(error) if outcomes.is_empty() => return Err(error),
                Err(error) => {
                    return Err(ClientError::PartlySent {
                        sent: outcomes,
                        stopped_at: batch.groups.clone(),
                        error: Box::new(error),
                    })
                }
            }
        }
        Ok(outcomes)
    }

    /// Creates an address lookup table holding `addresses` (authority and payer: the
    /// client's payer), waits until it can be used (the slot after its last extension) and
    /// returns it.
    pub async fn create_lookup_table(
        &self,
        addresses: &[Pubkey],
    ) -> Result<AddressLookupTableAccount, ClientError> {
        use solana_address_lookup_table_interface::instruction as alt;
        let slot = self
            .retry(|| {
                self.rpc
                    .get_slot_with_commitment(CommitmentConfig::finalized())
            })
            .await?;
        let (create, table) = alt::create_lookup_table(self.payer(), self.payer(), slot);
        expect_landed(self.send(&[create], &[]).await?)?;
        // 30 addresses per extension keeps each transaction under the size limit
        for chunk in addresses.chunks(30) {
            let extend =
                alt::extend_lookup_table(table, self.payer(), Some(self.payer()), chunk.to_vec());
            expect_landed(self.send(&[extend], &[]).await?)?;
        }
        // usable from the slot after the last extension
        let extended = self
            .retry(|| {
                self.rpc
                    .get_slot_with_commitment(CommitmentConfig::processed())
            })
            .await?;
        loop {
            let now = self
                .retry(|| {
                    self.rpc
                        .get_slot_with_commitment(CommitmentConfig::processed())
                })
                .await?;
            if now > extended {
                break;
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
        Ok(AddressLookupTableAccount {
            key: table,
            addresses: addresses.to_vec(),
        })
    }

    /// Creates an SPL Token mint with `decimals` and `authority`; returns its address.
    pub async fn create_mint(
        &self,
        authority: &Pubkey,
        decimals: u8,
    ) -> Result<Pubkey, ClientError> {
        use anchor_spl::token::spl_token;
        use solana_program_pack::Pack;
        let mint = Keypair::new();
        let rent = self
            .retry(|| {
                self.rpc
                    .get_minimum_balance_for_rent_exemption(spl_token::state::Mint::LEN)
            })
            .await?;
        let create = solana_system_interface::instruction::create_account(
            &self.payer(),
            &mint.pubkey(),
            rent,
            spl_token::state::Mint::LEN as u64,
            &spl_token::ID,
        );
        let init = spl_token::instruction::initialize_mint2(
            &spl_token::ID,
            &mint.pubkey(),
            authority,
            None,
            decimals,
        )
        .map_err(|e| ClientError::Signing(e.to_string()))?;
        expect_landed(self.send(&[create, init], &[&mint]).await?)?;
        Ok(mint.pubkey())
    }

    /// Creates an SPL Token account of `mint` owned by `owner`; returns its address.
    pub async fn create_token_account(
        &self,
        mint: &Pubkey,
        owner: &Pubkey,
    ) -> Result<Pubkey, ClientError> {
        use anchor_spl::token::spl_token;
        use solana_program_pack::Pack;
        let account = Keypair::new();
        let rent = self
            .retry(|| {
                self.rpc
                    .get_minimum_balance_for_rent_exemption(spl_token::state::Account::LEN)
            })
            .await?;
        let create = solana_system_interface::instruction::create_account(
            &self.payer(),
            &account.pubkey(),
            rent,
            spl_token::state::Account::LEN as u64,
            &spl_token::ID,
        );
        let init = spl_token::instruction::initialize_account3(
            &spl_token::ID,
            &account.pubkey(),
            mint,
            owner,
        )
        .map_err(|e| ClientError::Signing(e.to_string()))?;
        expect_landed(self.send(&[create, init], &[&account]).await?)?;
        Ok(account.pubkey())
    }

    /// Mints `amount` base units of `mint` to `to`, signed by the mint's `authority`.
    pub async fn mint_to(
        &self,
        mint: &Pubkey,
        to: &Pubkey,
        authority: &Keypair,
        amount: u64,
    ) -> Result<(), ClientError> {
        use anchor_spl::token::spl_token;
        let ix = spl_token::instruction::mint_to(
            &spl_token::ID,
            mint,
            to,
            &authority.pubkey(),
            &[],
            amount,
        )
        .map_err(|e| ClientError::Signing(e.to_string()))?;
        expect_landed(self.send(&[ix], &[authority]).await?)
    }

    /// Sends `lamports` from the payer to `to`.
    pub async fn transfer(&self, to: &Pubkey, lamports: u64) -> Result<(), ClientError> {
        let ix = solana_system_interface::instruction::transfer(&self.payer(), to, lamports);
        expect_landed(self.send(&[ix], &[]).await?)
    }

    /// Creates and initializes a durable nonce account at `nonce` (a fresh keypair) with
    /// `authority`, funded rent-exempt by the payer.
    pub async fn create_nonce_account(
        &self,
        nonce: &Keypair,
        authority: &Pubkey,
    ) -> Result<Outcome, ClientError> {
        let rent = self
            .retry(|| {
                self.rpc
                    .get_minimum_balance_for_rent_exemption(NONCE_ACCOUNT_LEN)
            })
            .await?;
        let instructions = solana_system_interface::instruction::create_nonce_account(
            &self.payer(),
            &nonce.pubkey(),
            authority,
            rent,
        );
        self.send(&instructions, &[nonce]).await
    }

    /// The value a transaction using the nonce account must carry as its blockhash.
    pub async fn nonce_value(&self, account: &Pubkey) -> Result<Hash, ClientError> {
        let account = self
            .retry(|| {
                self.rpc
                    .get_account_with_commitment(account, CommitmentConfig::processed())
            })
            .await?
            .value
            .ok_or_else(|| ClientError::Nonce(format!("{account} does not exist")))?;
        let data = solana_rpc_client_nonce_utils::nonblocking::data_from_account(&account)
            .map_err(|e| ClientError::Nonce(e.to_string()))?;
        Ok(data.blockhash())
    }

    /// A snapshot of the bonds of `network`'s stake pool at `commitment`, by device: what
    /// an oracle takes at each epoch boundary to tell which devices a bond covered all
    /// epoch ([`crate::incentives::Coverage`]). The bonds and the positions backing them
    /// are read in one request, at one slot (the snapshot's); the pool's minimum stake per
    /// device at that slot or a later one. Oracles that must agree on a root take it at
    /// `finalized`. A network without a stake pool, a bond whose position is missing, or an
    /// account of the pool that does not decode is refused ([`ClientError::Rpc`]), never
    /// skipped or read as no bonds.
    pub async fn bonds(
        &self,
        network: &Pubkey,
        commitment: CommitmentConfig,
    ) -> Result<crate::incentives::BondSnapshot, ClientError> {
        use anchor_lang::Discriminator;
        use solana_account_decoder_client_types::UiAccountEncoding;
        use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
        use solana_rpc_client_api::request::RpcRequest;
        use solana_rpc_client_api::response::{OptionalContext, RpcKeyedAccount};
        use staking::state::{DeviceBond, StakePool, StakePosition};

        let pool = crate::pda::stake_pool(network).0;
        // every bond and position of the pool (both hold it first, after the discriminator)
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                8,
                pool.to_bytes().to_vec(),
            ))]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(commitment),
                ..RpcAccountInfoConfig::default()
            },
            with_context: Some(true),
            ..RpcProgramAccountsConfig::default()
        };
        let params = serde_json::json!([staking::ID.to_string(), config]);
        let response: OptionalContext<Vec<RpcKeyedAccount>> = self
            .retry(|| {
                self.rpc
                    .send(RpcRequest::GetProgramAccounts, params.clone())
            })
            .await?;
        let OptionalContext::Context(response) = response else {
            return Err(ClientError::Rpc(
                "getProgramAccounts answered without the slot it read at".into(),
            ));
        };
        let slot = response.context.slot;
        let mut bonds: Vec<DeviceBond> = Vec::new();
        let mut positions: std::collections::BTreeMap<Pubkey, StakePosition> =
            std::collections::BTreeMap::new();
        for keyed in response.value {
            let data = keyed.account.data.decode().ok_or_else(|| {
                ClientError::Rpc(format!("account {}: undecodable data", keyed.pubkey))
            })?;
            let unreadable = |e: crate::error::SdkError| {
                ClientError::Rpc(format!("account {}: {e}", keyed.pubkey))
            };
            match data.get(..8) {
                Some(d) if d == DeviceBond::DISCRIMINATOR => {
                    bonds.push(crate::accounts::decode(&data).map_err(unreadable)?);
                }
                Some(d) if d == StakePosition::DISCRIMINATOR => {
                    let address: Pubkey = keyed
                        .pubkey
                        .parse()
                        .map_err(|e| ClientError::Rpc(format!("account {}: {e}", keyed.pubkey)))?;
                    positions.insert(address, crate::accounts::decode(&data).map_err(unreadable)?);
                }
                // another kind of account whose bytes after the discriminator happen to
                // be the pool's address: neither a bond nor a position
                _ => {}
            }
        }
        // the pool's minimum, no older than the bonds
        let account = self
            .retry(|| {
                self.rpc.get_ui_account_with_config(
                    &pool,
                    RpcAccountInfoConfig {
                        encoding: Some(UiAccountEncoding::Base64),
                        commitment: Some(commitment),
                        min_context_slot: Some(slot),
                        ..RpcAccountInfoConfig::default()
                    },
                )
            })
            .await?
            .value
            .ok_or_else(|| {
                ClientError::Rpc(format!("network {network} has no stake pool ({pool})"))
            })?;
        let data = account
            .data
            .decode()
            .ok_or_else(|| ClientError::Rpc(format!("stake pool {pool}: undecodable data")))?;
        let min: u64 = crate::accounts::decode::<StakePool>(&data)
            .map_err(|e| ClientError::Rpc(format!("stake pool {pool}: {e}")))?
            .min_stake_per_device;
        let mut snapshot = crate::incentives::BondSnapshot {
            pool,
            slot,
            bonds: crate::incentives::Bonds::new(),
        };
        for bond in bonds {
            let position = positions.get(&bond.position).ok_or_else(|| {
                ClientError::Rpc(format!(
                    "the bond of device {} names position {}, which the pool lacks",
                    bond.device, bond.position
                ))
            })?;
            let record = crate::incentives::BondRecord {
                staker: bond.staker,
                bonded_at: bond.bonded_at,
                collateralized: depin_core::stake::covers(
                    position.amount,
                    position.devices_bonded,
                    min,
                ),
            };
            if snapshot.bonds.insert(bond.device, record).is_some() {
                return Err(ClientError::Rpc(format!(
                    "device {} has two bonds in one pool",
                    bond.device
                )));
            }
        }
        Ok(snapshot)
    }

    /// The chain's clock: the `unix_timestamp` of the Clock sysvar in the newest slot the
    /// node has processed, the time the programs see. A period or interval that programs
    /// measure in unix time has begun for a transaction sent now once this reads its start
    /// (a transaction lands in that slot or a later one), whatever the caller's own clock says.
    pub async fn chain_time(&self) -> Result<i64, ClientError> {
        let account = self
            .retry(|| {
                self.rpc.get_account_with_commitment(
                    &anchor_lang::solana_program::clock::sysvar::ID,
                    CommitmentConfig::processed(),
                )
            })
            .await?
            .value
            .ok_or_else(|| ClientError::Rpc("the node has no Clock sysvar".into()))?;
        let clock: anchor_lang::solana_program::clock::Clock = bincode::deserialize(&account.data)
            .map_err(|e| ClientError::Rpc(format!("Clock sysvar: {e}")))?;
        Ok(clock.unix_timestamp)
    }
}

/// Bytes of a nonce account.
pub const NONCE_ACCOUNT_LEN: usize = 80;

/// Signs, offline, a transaction that uses the durable nonce `nonce_value` of `nonce_account`
/// instead of a recent blockhash: it stays valid until the nonce is advanced, however long
/// that takes. The nonce is advanced by the transaction itself (its first instruction), so it
/// lands at most once. `signers` must include the payer and the nonce authority.
pub fn sign_with_nonce(
    payer: &Pubkey,
    nonce_account: &Pubkey,
    nonce_authority: &Pubkey,
    nonce_value: Hash,
    instructions: &[Instruction],
    signers: &[&Keypair],
) -> Result<Transaction, ClientError> {
    let mut all = vec![solana_system_interface::instruction::advance_nonce_account(
        nonce_account,
        nonce_authority,
    )];
    all.extend(compute::with_compute_budget(instructions));
    let message = Message::new_with_blockhash(&all, Some(payer), &nonce_value);
    let mut tx = Transaction::new_unsigned(message);
    tx.try_sign(signers, nonce_value)
        .map_err(|e| ClientError::Signing(e.to_string()))?;
    Ok(tx)
}

/// The nonce account and authority of a transaction whose first instruction advances a nonce.
fn nonce_account_of(message: &VersionedMessage) -> Option<(Pubkey, Pubkey)> {
    let keys = message.static_account_keys();
    let first = message.instructions().first()?;
    let program = keys.get(usize::from(first.program_id_index))?;
    // AdvanceNonceAccount is the system program's instruction 4 (u32, little-endian)
    if *program != anchor_lang::solana_program::system_program::ID
        || first.data.get(..4) != Some(&[4, 0, 0, 0])
    {
        return None;
    }
    let account = keys.get(usize::from(*first.accounts.first()?))?;
    let authority = keys.get(usize::from(*first.accounts.get(2)?))?;
    Some((*account, *authority))
}

fn sign_message(
    message: VersionedMessage,
    keys: &[&Keypair],
) -> Result<VersionedTransaction, ClientError> {
    let required = usize::from(message.header().num_required_signatures);
    let needed =
        &message.static_account_keys()[..required.min(message.static_account_keys().len())];
    let mut ordered: Vec<&Keypair> = Vec::with_capacity(needed.len());
    for key in needed {
        let signer = keys
            .iter()
            .find(|k| k.pubkey() == *key)
            .ok_or_else(|| ClientError::Signing(format!("missing signer {key}")))?;
        ordered.push(signer);
    }
    VersionedTransaction::try_new(message, &ordered)
        .map_err(|e| ClientError::Signing(e.to_string()))
}

/// `Ok` when `outcome` landed; a failure or an expiry as an error.
pub fn expect_landed(outcome: Outcome) -> Result<(), ClientError> {
    match outcome {
        Outcome::Landed { .. } => Ok(()),
        Outcome::Failed { failure, .. } => Err(ClientError::Simulation {
            failure: Box::new(failure),
            logs: Vec::new(),
        }),
        Outcome::Expired { signature, .. } => Err(ClientError::Rpc(format!(
            "{signature} expired before landing"
        ))),
    }
}

/// `SetComputeUnitLimit`.
pub fn set_unit_limit(units: u32) -> Instruction {
    let mut data = vec![SET_UNIT_LIMIT];
    data.extend_from_slice(&units.to_le_bytes());
    Instruction {
        program_id: COMPUTE_BUDGET_ID,
        accounts: Vec::new(),
        data,
    }
}

/// `SetComputeUnitPrice`, in micro-lamports per unit.
pub fn set_unit_price(micro_lamports: u64) -> Instruction {
    let mut data = vec![SET_UNIT_PRICE];
    data.extend_from_slice(&micro_lamports.to_le_bytes());
    Instruction {
        program_id: COMPUTE_BUDGET_ID,
        accounts: Vec::new(),
        data,
    }
}

/// The accounts `instructions` write, each once, in a stable order.
pub fn writable(instructions: &[Instruction]) -> Vec<Pubkey> {
    let set: BTreeSet<Pubkey> = instructions
        .iter()
        .flat_map(|ix| ix.accounts.iter())
        .filter(|m| m.is_writable)
        .map(|m| m.pubkey)
        .collect();
    set.into_iter().collect()
}

/// The `p`th percentile (nearest rank) of `values`; 0 when empty.
pub fn percentile(values: &mut [u64], p: u8) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let p = usize::from(p.min(100));
    let rank = (p * values.len()).div_ceil(100).max(1);
    values[rank - 1]
}

/// `fee` within `(low, high)`.
pub fn clamp_fee(fee: u64, (low, high): (u64, u64)) -> u64 {
    fee.max(low).min(high.max(low))
}

fn is_transport(e: &solana_rpc_client_api::client_error::Error) -> bool {
    use solana_rpc_client_api::client_error::ErrorKind;
    matches!(e.kind(), ErrorKind::Io(_) | ErrorKind::Reqwest(_))
}

/// The transaction error and logs of a preflight refusal.
fn preflight_failure(
    e: &solana_rpc_client_api::client_error::Error,
) -> Option<(TransactionError, Vec<String>)> {
    use solana_rpc_client_api::client_error::ErrorKind;
    use solana_rpc_client_api::request::{RpcError, RpcResponseErrorData};
    match e.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError {
            data: RpcResponseErrorData::SendTransactionPreflightFailure(result),
            ..
        }) => result
            .err
            .clone()
            .map(|err| (err.into(), result.logs.clone().unwrap_or_default())),
        ErrorKind::TransactionError(err) => Some((err.clone(), Vec::new())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank_and_clamp() {
        assert_eq!(percentile(&mut [], 75), 0);
        assert_eq!(percentile(&mut [5], 0), 5);
        let mut v = [10, 0, 40, 30, 20];
        assert_eq!(percentile(&mut v, 50), 20);
        assert_eq!(percentile(&mut v, 75), 30);
        assert_eq!(percentile(&mut v, 100), 40);
        assert_eq!(percentile(&mut v, 255), 40);
        assert_eq!(clamp_fee(5, (10, 100)), 10);
        assert_eq!(clamp_fee(500, (10, 100)), 100);
        assert_eq!(clamp_fee(50, (10, 100)), 50);
        // inverted bounds: the floor wins
        assert_eq!(clamp_fee(50, (100, 10)), 100);
    }

    #[test]
    fn budget_instructions_encode_as_the_compute_budget_program_reads_them() {
        assert_eq!(set_unit_limit(200_000).data, [2, 0x40, 0x0d, 0x03, 0x00]);
        assert_eq!(set_unit_price(1).data, [3, 1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_nonce_transaction_is_recognized_by_its_first_instruction() {
        let payer = Keypair::new();
        let nonce = Keypair::new();
        let tx = sign_with_nonce(
            &payer.pubkey(),
            &nonce.pubkey(),
            &payer.pubkey(),
            Hash::new_from_array([7; 32]),
            &[],
            &[&payer],
        )
        .expect("signs");
        let message = VersionedMessage::Legacy(tx.message);
        assert_eq!(
            nonce_account_of(&message),
            Some((nonce.pubkey(), payer.pubkey()))
        );
        let plain =
            VersionedMessage::Legacy(Message::new(&[set_unit_limit(1)], Some(&payer.pubkey())));
        assert_eq!(nonce_account_of(&plain), None);
    }

    #[test]
    fn a_missing_signer_is_an_error_not_a_panic() {
        let payer = Keypair::new();
        let other = Keypair::new();
        let ix = Instruction {
            program_id: Pubkey::new_unique(),
            accounts: vec![anchor_lang::prelude::AccountMeta::new(other.pubkey(), true)],
            data: vec![],
        };
        let message = VersionedMessage::Legacy(Message::new(&[ix], Some(&payer.pubkey())));
        assert!(matches!(
            sign_message(message, &[&payer]),
            Err(ClientError::Signing(_))
        ));
    }
}
