//! # DePIN suite localnet
//!
//! The suite's five programs and the real SPL Token programs in the in-process Solana runtime
//! the tests use (native builds, or the SBF `.so` builds when `SBF_OUT_DIR` points at them),
//! served on loopback the way a validator serves them:
//!
//! - **JSON-RPC** over HTTP ([`rpc::METHODS`]: what the SDK client, the `depin` CLI, the
//!   indexer's backfill and Solana's own clients need); anything else is "method not found";
//! - **Yellowstone gRPC** ([`geyser`]): the `Subscribe` stream the indexer reads, with slot
//!   statuses and transactions, replayable from a slot inside its window, and the unary calls.
//!
//! [`scenario`] builds a small network through the SDK client, for tests and the demo.
//!
//! Slots advance in real time ([`Config::slot_time`]); a transaction lands in the slot it is
//! sent in; a slot is `processed` while open, `confirmed` once closed and `finalized`
//! [`Config::finalize_depth`] slots later, and reads at a commitment see the accounts as of
//! that commitment's slot. Programs see wall-clock time in the `Clock` sysvar.
//!
//! ```no_run
//! # async fn demo() -> Result<(), depin_localnet::LocalnetError> {
//! let localnet = depin_localnet::Localnet::start(depin_localnet::Config::ephemeral()).await?;
//! println!("JSON-RPC {} gRPC {}", localnet.rpc_url(), localnet.grpc_url());
//! localnet.stop().await;
//! # Ok(()) }
//! ```

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecates parts of its API in favour of crates that need a newer rustc; it is still the real runtime we test against"
)]

pub mod encode;
pub mod geyser;
pub mod ledger;
pub mod rpc;
pub mod scenario;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::rent::Rent;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use depin_tests::runtime::Suite;
use depin_tests::Signer;
use serde_json::Value;
use solana_epoch_schedule::EpochSchedule;
use solana_hash::Hash;
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Transaction;
use tokio::sync::{oneshot, Mutex};
use tokio::task::JoinHandle;
use yellowstone_grpc_proto::geyser::SlotStatus;

use geyser::{GeyserFeed, Tip};
use ledger::{Chain, Commitment, SubmitError};

/// How a localnet runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Wall-clock length of a slot (a cluster's is 400 ms), 10 ms to 400 ms.
    pub slot_time: Duration,
    /// Slots between a slot's confirmation and its finalization (32 on a cluster).
    pub finalize_depth: u64,
    /// Where JSON-RPC listens (port 0: any free port).
    pub rpc_addr: SocketAddr,
    /// Where Yellowstone gRPC listens (port 0: any free port).
    pub grpc_addr: SocketAddr,
    /// Slots of updates a gRPC subscription can replay with `from_slot`.
    pub replay_slots: u64,
    /// Slots of blocks and transactions the JSON-RPC keeps (older ones are cleaned up).
    pub history_slots: u64,
    /// Accounts funded at start, with lamports.
    pub fund: Vec<(Pubkey, u64)>,
}

impl Default for Config {
    /// A cluster's timing on the Solana tools' usual ports (8899 and 10000).
    fn default() -> Self {
        Config {
            slot_time: Duration::from_millis(400),
            finalize_depth: 32,
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 8899)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 10000)),
            replay_slots: 9_000,
            // about 11 hours at 400 ms slots
            history_slots: 100_000,
            fund: Vec::new(),
        }
    }
}

impl Config {
    /// Fast slots (50 ms, finalized 8 slots later) on free ports: for tests.
    pub fn ephemeral() -> Self {
        Config {
            slot_time: Duration::from_millis(50),
            finalize_depth: 8,
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        }
    }
}

/// Why a localnet could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    /// The configuration is out of range.
    #[error("invalid localnet configuration: {0}")]
    Config(String),
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime refused or failed.
    #[error(transparent)]
    Chain(#[from] SubmitError),
}

/// What the services share.
pub struct Shared {
    /// The chain.
    pub chain: Mutex<Chain>,
    /// The Geyser feed.
    pub geyser: GeyserFeed,
    genesis_hash: Hash,
    rent: Rent,
    epoch_schedule: EpochSchedule,
}

impl Shared {
    /// Lands `tx` (see [`Chain::submit`]) and streams it to Geyser subscribers.
    pub async fn submit(
        &self,
        tx: VersionedTransaction,
        preflight: bool,
    ) -> Result<Option<ledger::Landed>, SubmitError> {
        let mut chain = self.chain.lock().await;
        let landed = chain.submit(tx, preflight).await?;
        if let Some(landed) = &landed {
            // pushed under the chain's lock: the stream's order is the chain's order
            self.geyser.push(encode::transaction_update(landed)).await;
        }
        Ok(landed)
    }

    /// Sends `lamports` from the faucet to `to`.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> Result<Signature, SubmitError> {
        let tx = {
            let mut chain = self.chain.lock().await;
            let (blockhash, _) = chain.latest_blockhash().await?;
            let faucet = &chain.suite.ctx.payer;
            let transfer =
                solana_system_interface::instruction::transfer(&faucet.pubkey(), to, lamports);
            Transaction::new_signed_with_payer(
                &[transfer],
                Some(&faucet.pubkey()),
                &[faucet],
                blockhash,
            )
        };
        let signature = tx.signatures[0];
        self.submit(tx.into(), true).await?;
        Ok(signature)
    }
}

/// Starts the runtime on a thread of its own, on a scheduler whose clock is paused for good.
///
/// The test runtime spawns a task that registers a fresh blockhash every 6.4 ms of wall time
/// (so a blockhash would live about one second, where a cluster's lives 150 slots). On a
/// paused clock that cannot advance (a blocking task in flight keeps tokio from advancing it
/// on its own), that task never wakes from its first sleep, and the localnet's slot clock is
/// the only thing that registers blockhashes: one per slot, as on a cluster. The runtime's
/// request server only uses its timer for deadlines, which then never fire.
async fn start_runtime() -> Result<(Suite, oneshot::Sender<()>), SubmitError> {
    let (sender, receiver) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("localnet-runtime".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = sender.send(Err(SubmitError::Runtime(e.to_string())));
                    return;
                }
            };
            runtime.block_on(async move {
                // in flight for good: the paused clock never auto-advances
                tokio::task::spawn_blocking(|| loop {
                    std::thread::park();
                });
                let suite = Suite::start().await;
                if sender.send(Ok(suite)).is_ok() {
                    // serves the runtime's banks server until the localnet stops
                    let _ = stopped.await;
                }
            });
            // a plain drop would wait for the parked blocking task forever
            runtime.shutdown_background();
        })
        .map_err(|e| SubmitError::Runtime(e.to_string()))?;
    let suite = receiver
        .await
        .map_err(|_| SubmitError::Runtime("the runtime thread stopped".into()))??;
    Ok((suite, stop))
}

/// A running localnet.
pub struct Localnet {
    shared: Arc<Shared>,
    rpc_addr: SocketAddr,
    grpc_addr: SocketAddr,
    stop_rpc: Option<oneshot::Sender<()>>,
    stop_runtime: Option<oneshot::Sender<()>>,
    ticker: JoinHandle<()>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Localnet {
    /// Starts the runtime, the JSON-RPC and gRPC servers and the slot clock.
    pub async fn start(config: Config) -> Result<Self, LocalnetError> {
        if config.slot_time < Duration::from_millis(10)
            || config.slot_time > Duration::from_millis(400)
        {
            return Err(LocalnetError::Config(format!(
                "slot time {:?} is outside 10 ms..=400 ms",
                config.slot_time
            )));
        }
        if config.finalize_depth == 0 || config.replay_slots == 0 {
            return Err(LocalnetError::Config(
                "finalize depth and replay window must be at least one slot".into(),
            ));
        }
        let (suite, stop_runtime) = start_runtime().await?;
        let genesis_hash = suite.ctx.genesis_config().hash();
        let banks = suite.ctx.banks_client.clone();
        let rent = banks
            .get_rent()
            .await
            .map_err(|e| SubmitError::Runtime(e.to_string()))?;
        let epoch_schedule = suite.ctx.genesis_config().epoch_schedule.clone();
        let mut chain = Chain::new(suite, config.finalize_depth, config.history_slots).await?;
        // close the runtime's first slot before serving: from the start, a confirmed or
        // finalized read sees a closed block, never the open one
        chain.advance(unix_now()).await?;
        let geyser = GeyserFeed::start_on(config.grpc_addr)
            .await
            .map_err(|source| LocalnetError::Bind {
                addr: config.grpc_addr,
                source,
            })?;
        // the slot clock pushes under the chain's lock: a slow subscriber must not stall it
        geyser.disconnect_lagging();
        let grpc_addr = geyser
            .endpoint()
            .trim_start_matches("http://")
            .parse()
            .map_err(|e| LocalnetError::Config(format!("gRPC address: {e}")))?;
        let shared = Arc::new(Shared {
            chain: Mutex::new(chain),
            geyser,
            genesis_hash,
            rent,
            epoch_schedule,
        });
        // one transfer per account: two identical transfers in one slot would be one
        // transaction (same signature), and the second refused
        let mut funds: Vec<(Pubkey, u64)> = Vec::new();
        for (to, lamports) in &config.fund {
            match funds.iter_mut().find(|(k, _)| k == to) {
                Some((_, total)) => *total = total.saturating_add(*lamports),
                None => funds.push((*to, *lamports)),
            }
        }
        for (to, lamports) in &funds {
            shared.airdrop(to, *lamports).await?;
        }
        publish_tip(&shared).await;

        let listener = tokio::net::TcpListener::bind(config.rpc_addr)
            .await
            .map_err(|source| LocalnetError::Bind {
                addr: config.rpc_addr,
                source,
            })?;
        let rpc_addr = listener
            .local_addr()
            .map_err(|source| LocalnetError::Bind {
                addr: config.rpc_addr,
                source,
            })?;
        let app = Router::new()
            .route("/", post(serve_rpc))
            .with_state(Arc::clone(&shared));
        let (stop_rpc, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let ticker = tokio::spawn(tick(Arc::clone(&shared), config));
        Ok(Localnet {
            shared,
            rpc_addr,
            grpc_addr,
            stop_rpc: Some(stop_rpc),
            stop_runtime: Some(stop_runtime),
            ticker,
        })
    }

    /// The JSON-RPC URL, `http://127.0.0.1:port`.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The Yellowstone gRPC endpoint, `http://127.0.0.1:port`.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The open slot.
    pub async fn slot(&self) -> u64 {
        self.shared.chain.lock().await.slot
    }

    /// Sends `lamports` to `to` from the faucet.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> Result<Signature, LocalnetError> {
        Ok(self.shared.airdrop(to, lamports).await?)
    }

    /// A client of this localnet paying from a new keypair funded with `lamports` from the
    /// faucet, confirming every 25 ms (the slot clock's pace), as tests and demos use it.
    pub async fn funded_client(
        &self,
        lamports: u64,
    ) -> Result<depin_sdk::client::Client, LocalnetError> {
        let payer = depin_tests::Keypair::new();
        self.airdrop(&payer.pubkey(), lamports).await?;
        Ok(depin_sdk::client::Client::new(
            self.rpc_url(),
            payer,
            depin_sdk::client::ClientConfig {
                poll_interval: Duration::from_millis(25),
                ..depin_sdk::client::ClientConfig::default()
            },
        ))
    }

    /// The services' shared state (the chain and the feed), for tests that look inside.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the slot clock and both servers.
    pub async fn stop(mut self) {
        self.shutdown();
        let _ = (&mut self.ticker).await;
    }

    fn shutdown(&mut self) {
        self.ticker.abort();
        if let Some(stop) = self.stop_rpc.take() {
            let _ = stop.send(());
        }
        self.shared.geyser.disconnect_all();
        if let Some(stop) = self.stop_runtime.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve_rpc(State(shared): State<Arc<Shared>>, Json(request): Json<Value>) -> Json<Value> {
    match request {
        Value::Array(batch) => {
            let mut out = Vec::with_capacity(batch.len());
            for r in &batch {
                out.push(rpc::handle(&shared, r).await);
            }
            Json(Value::Array(out))
        }
        single => Json(rpc::handle(&shared, &single).await),
    }
}

/// Publishes the tip the gRPC unary calls answer from.
async fn publish_tip(shared: &Shared) {
    let mut chain = shared.chain.lock().await;
    let Ok((hash, last_valid)) = chain.latest_blockhash().await else {
        return;
    };
    let levels = [
        Commitment::Processed,
        Commitment::Confirmed,
        Commitment::Finalized,
    ];
    let tip = Tip {
        slots: levels.map(|c| chain.slot_at(c)),
        block_heights: levels.map(|c| chain.block_height_at(c)),
        latest_blockhash: (hash.to_string(), last_valid),
        valid_blockhashes: chain
            .valid_blockhashes()
            .iter()
            .map(Hash::to_string)
            .collect(),
    };
    shared.geyser.set_tip(tip);
}

/// The slot clock: closes a slot every `slot_time` and streams its statuses.
async fn tick(shared: Arc<Shared>, config: Config) {
    let mut interval = tokio::time::interval(config.slot_time);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let mut chain = shared.chain.lock().await;
        let finalized_before = chain.finalized_slot();
        let block = match chain.advance(unix_now()).await {
            Ok(block) => block,
            Err(e) => {
                eprintln!("localnet: the slot clock stopped: {e}");
                return;
            }
        };
        let parent = Some(block.parent);
        let geyser = &shared.geyser;
        geyser
            .push(encode::slot_update(
                block.slot,
                parent,
                SlotStatus::SlotProcessed,
            ))
            .await;
        geyser
            .push(encode::slot_update(
                block.slot,
                parent,
                SlotStatus::SlotConfirmed,
            ))
            .await;
        for slot in finalized_before + 1..=chain.finalized_slot() {
            let parent = chain.blocks.get(&slot).map(|b| b.parent);
            geyser
                .push(encode::slot_update(slot, parent, SlotStatus::SlotFinalized))
                .await;
        }
        geyser.retain_from(chain.slot.saturating_sub(config.replay_slots));
        drop(chain);
        publish_tip(&shared).await;
    }
}
