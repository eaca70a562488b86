//! Shared parts of the indexer's integration tests: a chain recorded from the real programs,
//! the indexer configured against loopback servers, and bounded waits on the database.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use depin_indexer::config::Config;
use depin_indexer::decode::{decode_transaction, DecodedTransaction, EventRecord, EventSource};
use depin_indexer::events::{storage, Event};
use depin_indexer::rows::event_row;
use depin_indexer::run::{run, Hooks, RunError};
use depin_indexer::sink::{Commitment, IndexedTransaction, SlotStatus, SlotUpdate, Source};
use depin_indexer::source::suite_programs;
use depin_indexer::testkit::chain::{lay_out, stream_updates, transaction_view, ChainTransaction};
use depin_indexer::testkit::scenario::full_scenario;
use depin_tests::runtime::Suite;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls};
use yellowstone_grpc_proto::geyser::SubscribeUpdate;

/// First slot of the recorded chain.
pub const FIRST_SLOT: u64 = 1_000;

/// The scenario's transactions laid out as a chain, three per slot.
pub struct Chain {
    /// The runtime they ran in (its accounts are the chain state).
    pub suite: Suite,
    /// The transactions with their slots.
    pub txs: Vec<ChainTransaction>,
}

impl Chain {
    /// Every stream update: each slot's transactions, then its three statuses.
    pub fn updates(&self) -> Vec<SubscribeUpdate> {
        stream_updates(&self.txs)
    }

    /// The stream updates of slots `from..to`.
    pub fn updates_of(&self, from: u64, to: u64) -> Vec<SubscribeUpdate> {
        let txs: Vec<_> = self
            .txs
            .iter()
            .filter(|t| (from..to).contains(&t.slot))
            .cloned()
            .collect();
        stream_updates(&txs)
    }

    /// The last slot.
    pub fn last_slot(&self) -> u64 {
        self.txs.last().map(|t| t.slot).unwrap_or(FIRST_SLOT)
    }

    /// Every event row the runtime's transactions carry: its slot and its table.
    pub fn event_rows(&self) -> Vec<(u64, &'static str)> {
        self.txs
            .iter()
            .flat_map(|tx| {
                decode_transaction(&transaction_view(&tx.processed))
                    .events
                    .into_iter()
                    .map(|record| (tx.slot, event_row(&record.event).table))
            })
            .collect()
    }

    /// Expected event rows per table, decoded from what the runtime reported.
    pub fn expected_rows(&self) -> BTreeMap<String, i64> {
        let mut counts = BTreeMap::new();
        for (_, table) in self.event_rows() {
            *counts.entry(table.to_owned()).or_insert(0) += 1;
        }
        counts
    }

    /// Transactions that mention a suite program (what the subscription streams).
    pub fn suite_transactions(&self) -> usize {
        let programs = suite_programs();
        self.txs
            .iter()
            .filter(|t| {
                t.processed
                    .account_keys
                    .iter()
                    .any(|k| programs.contains(k))
            })
            .count()
    }

    /// Total expected event rows.
    pub fn expected_total(&self) -> i64 {
        self.expected_rows().values().sum()
    }
}

/// Runs the full scenario in a fresh runtime and records it as a chain.
pub async fn scenario_chain() -> Chain {
    let mut suite = Suite::start().await;
    suite.start_recording();
    full_scenario(&mut suite).await.expect("scenario runs");
    let recorded = suite.take_recorded();
    Chain {
        suite,
        txs: lay_out(recorded, FIRST_SLOT, 3),
    }
}

/// An indexer configuration against loopback servers, with small batches and short
/// backoffs so the tests run quickly.
pub fn config(endpoint: &str, database: &str, rpc: Option<&str>) -> Config {
    let mut config = Config::default();
    config.source.endpoint = endpoint.to_owned();
    config.source.commitment = Commitment::Confirmed;
    config.source.start_slot = Some(FIRST_SLOT);
    config.database.url = database.to_owned();
    config.backfill.rpc_url = rpc.unwrap_or_default().to_owned();
    config.backfill.page_limit = 7;
    config.batch.max_transactions = 8;
    config.batch.flush_interval_ms = 20;
    config.reconnect.initial_backoff_ms = 20;
    config.reconnect.max_backoff_ms = 200;
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.log.format = "text".into();
    config
}

/// An indexer running in this process.
pub struct Running {
    /// Its task.
    pub handle: JoinHandle<Result<(), RunError>>,
    /// Turn to `true` to stop it.
    pub stop: watch::Sender<bool>,
    /// Its metrics.
    pub hooks: Hooks,
}

impl Running {
    /// Asks it to stop and waits (bounded) for a clean return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let result = tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("indexer stops within 30 s")
            .expect("indexer task did not panic");
        result.expect("indexer returned without error");
    }
}

/// Sends the indexer's logs to the test output (shown for failing tests).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("depin_indexer=debug")
        .with_test_writer()
        .try_init();
}

/// Starts the indexer in this process.
pub fn spawn(config: Config) -> Running {
    logs();
    let hooks = Hooks::default();
    let (stop, stopped) = watch::channel(false);
    let handle = tokio::spawn(run(config, hooks.clone(), stopped));
    Running {
        handle,
        stop,
        hooks,
    }
}

/// A database client.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

/// One BIGINT (or count) value.
pub async fn scalar(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Polls `sql` (one BIGINT) until it equals `expected`, for at most `limit`; returns the
/// last value seen (so the caller's assertion shows it).
pub async fn wait_for(url: &str, sql: &str, expected: i64, limit: Duration) -> i64 {
    let deadline = Instant::now() + limit;
    let mut last = i64::MIN;
    while Instant::now() < deadline {
        // the database may not exist yet (migrations run at the indexer's start)
        if let Ok((client, connection)) = tokio_postgres::connect(url, NoTls).await {
            tokio::spawn(connection);
            if let Ok(row) = client.query_one(sql, &[]).await {
                last = row.get(0);
                if last == expected {
                    return last;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

/// The checkpoint, or -1.
pub const CHECKPOINT: &str =
    "SELECT COALESCE((SELECT slot FROM indexer_checkpoint WHERE name = 'main'), -1)";

/// Event rows in all tables.
pub const EVENT_ROWS: &str = "SELECT count(*) FROM events";

/// Event rows per table, as stored.
pub async fn stored_rows(client: &Client) -> BTreeMap<String, i64> {
    client
        .query(
            "SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1",
            &[],
        )
        .await
        .expect("count rows")
        .into_iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect()
}

/// State queue rows not yet applied by the state refresher (0: the state is current).
pub const STATE_QUEUED: &str = "SELECT count(*) FROM state_queue";

/// Every current-state table, in one digest (table name and row text, sorted).
pub const STATE_DIGEST: &str = "SELECT md5(COALESCE(string_agg(t, '|' ORDER BY t), '')) FROM (
    SELECT 'networks' || x::text AS t FROM networks x
    UNION ALL SELECT 'makers' || x::text FROM makers x
    UNION ALL SELECT 'devices' || x::text FROM devices x
    UNION ALL SELECT 'stake_positions' || x::text FROM stake_positions x
    UNION ALL SELECT 'device_bonds' || x::text FROM device_bonds x
    UNION ALL SELECT 'reward_epochs' || x::text FROM reward_epochs x
    UNION ALL SELECT 'reward_claims' || x::text FROM reward_claims x
    UNION ALL SELECT 'deals' || x::text FROM deals x
    UNION ALL SELECT 'energy_intervals' || x::text FROM energy_intervals x
    UNION ALL SELECT 'energy_orders' || x::text FROM energy_orders x) s";

/// The state's digest ([`STATE_DIGEST`]).
pub async fn state_digest(client: &Client) -> String {
    client
        .query_one(STATE_DIGEST, &[])
        .await
        .expect("state digest")
        .get(0)
}

/// The state's digest as it is, and after a full recompute from the events
/// (`depin_rebuild_state`), in that order.
pub async fn state_and_recompute(client: &Client) -> (String, String) {
    let current = state_digest(client).await;
    client
        .execute("SELECT depin_rebuild_state()", &[])
        .await
        .expect("rebuild");
    (current, state_digest(client).await)
}

/// A transaction of `storage_escrow` at `slot` with `events` (one instruction).
pub fn transaction(signature: &str, slot: u64, events: Vec<Event>) -> IndexedTransaction {
    IndexedTransaction {
        signature: signature.into(),
        slot,
        tx_index: 0,
        source: Source::Grpc,
        decoded: DecodedTransaction {
            events: events
                .into_iter()
                .enumerate()
                .map(|(i, event)| EventRecord {
                    instruction_index: 0,
                    event_index: u16::try_from(i).expect("few events"),
                    program: storage_escrow::ID,
                    source: EventSource::InnerInstruction,
                    event,
                })
                .collect(),
            failures: Vec::new(),
        },
    }
}

/// `slot` confirmed (its parent the slot before).
pub fn confirmed(slot: u64) -> SlotUpdate {
    SlotUpdate {
        slot,
        parent: slot.checked_sub(1),
        status: SlotStatus::Reached(Commitment::Confirmed),
    }
}

/// `slot` finalized (its parent the slot before).
pub fn finalized(slot: u64) -> SlotUpdate {
    SlotUpdate {
        slot,
        parent: slot.checked_sub(1),
        status: SlotStatus::Reached(Commitment::Finalized),
    }
}

/// `slot` dead (its parent the slot before).
pub fn dead(slot: u64) -> SlotUpdate {
    SlotUpdate {
        slot,
        parent: slot.checked_sub(1),
        status: SlotStatus::Dead,
    }
}

/// A deal proposal at `deal`.
pub fn proposed(deal: Pubkey, deal_id: u64, price_per_period: u64) -> Event {
    Event::Storage(storage::Event::DealProposed(storage::DealProposed {
        deal,
        client: Pubkey::new_from_array([7; 32]),
        deal_id,
        provider_device: Pubkey::new_from_array([8; 32]),
        piece_root: [9; 32],
        chunk_size: 1024,
        num_chunks: 16,
        price_per_period,
        periods: 3,
        collateral: 500,
    }))
}
