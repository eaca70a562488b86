//! PostgreSQL sink: migrations, batched exactly-once writes, slot statuses, the checkpoint.
//!
//! One [`Batch`] is one database transaction: its event rows (binary `COPY` straight into
//! the event tables; a transaction already stored writes nothing, see [`Sink::write`]), its
//! decode failures, the state keys its events touched (queued for the state refresher, see
//! [`crate::state`]; applied in the same transaction when there is none), its slot
//! statuses (removing dead slots and abandoned forks, finalizing ancestors) and the
//! checkpoint. A crash before the commit loses the whole batch and nothing else; the stream
//! resumes from the previous checkpoint and the rows come again.
//!
//! Commitment belongs to the slot: rows carry none, the `slots` table holds each slot's
//! status and `depin_commitment(slot)` gives a row's level, so a finalization is one small
//! update rather than a rewrite of the slot's rows.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use anchor_lang::prelude::Pubkey;
use bytes::BytesMut;
use futures::pin_mut;
use futures::SinkExt;
use serde::Deserialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls, Transaction};

use crate::decode::DecodedTransaction;
use crate::events::{rewards, Event};
use crate::rows::{
    event_row, state_keys, StateKey, Value, ACTIVITY_TABLES, INTERVAL_TABLES, KEY_COLUMNS,
    SLOT_COLUMN, TABLES, TALLY_TABLES,
};
use crate::state;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Key of the indexer's advisory lock: one indexer per database.
const LOCK_KEY: i64 = 0x6465_7069_6e5f_6978; // "depin_ix"

/// Why the sink failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The database refused or the connection broke.
    #[error("postgres: {}", pg_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// A `COPY` sent together with others failed: the server's answer.
    /// The batch is rolled back and not retried on that connection.
    #[error("postgres, in a pipelined COPY: {}", pg_message(.0))]
    Pipelined(tokio_postgres::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(#[from] refinery::Error),
    /// Another indexer holds this database.
    #[error("another indexer is writing to this database")]
    Locked,
    /// A value does not fit its column.
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// The state refresher met a queue row it cannot read, or its task ended.
    #[error("state refresh: {0}")]
    State(String),
    /// A setting the sink was given is out of its range.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// Something the sink relies on did not hold (a statement's answer missing, a staged
    /// row without its slot).
    #[error("unexpected: {0}")]
    Unexpected(String),
}

/// The server's own message (and SQLSTATE) when there is one: `tokio_postgres` alone
/// prints "db error".
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Commitment level of the stream and of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Commitment {
    /// Executed by the node, may still be rolled back.
    Processed,
    /// Voted on by a supermajority.
    Confirmed,
    /// Rooted.
    Finalized,
}

impl Commitment {
    /// The name stored in rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        }
    }
}

impl std::str::FromStr for Commitment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "processed" => Ok(Commitment::Processed),
            "confirmed" => Ok(Commitment::Confirmed),
            "finalized" => Ok(Commitment::Finalized),
            other => Err(format!(
                "unknown commitment {other:?} (processed, confirmed or finalized)"
            )),
        }
    }
}

/// What a slot status update says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// Reached this commitment.
    Reached(Commitment),
    /// Abandoned: its rows must go.
    Dead,
}

/// One slot status update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotUpdate {
    /// The slot.
    pub slot: u64,
    /// Its parent, when the update carries it.
    pub parent: Option<u64>,
    /// Its new status.
    pub status: SlotStatus,
}

/// Where a transaction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The gRPC stream.
    Grpc,
    /// A JSON-RPC backfill.
    Rpc,
}

/// A decoded transaction with its place in the chain.
#[derive(Debug, Clone)]
pub struct IndexedTransaction {
    /// Base58 signature.
    pub signature: String,
    /// Slot it executed in.
    pub slot: u64,
    /// Position in its block.
    pub tx_index: u64,
    /// Where it came from.
    pub source: Source,
    /// Its events and decode failures.
    pub decoded: DecodedTransaction,
}

/// Everything one database transaction writes.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Transactions, in stream order.
    pub transactions: Vec<IndexedTransaction>,
    /// Slot status updates, in stream order (applied after the transactions).
    pub slots: Vec<SlotUpdate>,
    /// The slot to resume from after this batch (never moves backwards).
    pub checkpoint: Option<u64>,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty() && self.slots.is_empty() && self.checkpoint.is_none()
    }
}

/// A batch with its rows built ahead of its write, so building them (a sixth of a batch's
/// time on the write path) happens on the caller's task while the writer's task writes
/// the batch before. The rows are built as if every transaction not repeated within the
/// batch were new; [`Sink::write_prepared`] uses them when the sink agrees, and builds
/// them again otherwise (a transaction it already wrote, remembers or finds stored).
#[derive(Debug)]
pub struct Prepared {
    batch: Batch,
    /// What the rows were built for: each transaction's first copy in the batch new, a
    /// copy after it stored in the first one's slot.
    firsts: Vec<Option<u64>>,
    /// The rows; `None` when building them failed (the write builds them again and
    /// reports why).
    staged: Option<Staged>,
}

impl Prepared {
    /// Builds `batch`'s rows.
    pub fn new(batch: Batch) -> Prepared {
        let firsts = Recent::default().stored_slots(&batch, &HashMap::new());
        let staged = stage_rows(&batch, &firsts).ok();
        Prepared {
            batch,
            firsts,
            staged,
        }
    }

    /// The batch.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// The batch, its rows dropped.
    pub fn into_batch(self) -> Batch {
        self.batch
    }
}

/// What one batch wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions not seen before.
    pub transactions: u64,
    /// Event rows inserted (replays excluded).
    pub event_rows: u64,
    /// Decode failures recorded.
    pub failures: u64,
    /// Slots removed as dead or as part of an abandoned fork.
    pub dead_slots: u64,
    /// Time spent on the current-state rows in the batch's transaction: queueing the keys
    /// it touched, and applying the queue when the sink has no refresher.
    pub state_refresh: Duration,
    /// Transactions looked up in the database before the batch was written: those not
    /// remembered whose copies could be in slots older than the ones the sink remembers
    /// (a redelivery of old slots).
    pub looked_up: u64,
}

impl WriteStats {
    /// Counts `rows` written to `table`.
    fn count(&mut self, table: &str, rows: u64) {
        match table {
            "indexed_transactions" => self.transactions = rows,
            "decode_failures" => self.failures = rows,
            _ => self.event_rows += rows,
        }
    }
}

/// The PostgreSQL sink.
pub struct Sink {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
    commitment: Commitment,
    name: String,
    /// The signatures stored in the recent slots; `None` when following the transactions
    /// of removed slots failed, until the next write loads them again.
    recent: Option<Recent>,
    /// Wakes the state refresher after a commit; without one, each batch applies the state
    /// queue in its own transaction.
    refresher: Option<Arc<Notify>>,
    /// Retention of the activity, energy interval and tallied events, when configured.
    retention: Option<Retention>,
}

/// How long the activity events ([`ACTIVITY_TABLES`]), the energy lifecycle events
/// ([`INTERVAL_TABLES`]) and the tallied events ([`TALLY_TABLES`]) are kept, and how they
/// are stored meanwhile: in segments of `segment_slots` slots, each retired as a whole once
/// all its slots are more than `keep_slots` below the newest finalized slot and its rows
/// are settled (an energy interval retires only whole, its state rows with it, and one
/// still kept moves its rows out of the segment first; a tallied segment goes after adding
/// its rows to their keys' tallies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRetention {
    /// Slots kept below the newest finalized slot (at least 1).
    pub keep_slots: u64,
    /// Slots per segment (at least 1).
    pub segment_slots: u64,
    /// Detach retired segments (moved to schema `depin_detached`) instead of dropping them.
    pub detach: bool,
}

/// [`EventRetention`] with the segments known to exist.
#[derive(Debug)]
struct Retention {
    config: EventRetention,
    segments: HashSet<String>,
}

/// Applies the embedded migrations (`migrations/`) that are not yet recorded, up to version
/// `target` (all when `None`). [`Sink::connect`] applies them all; a target lets a test
/// upgrade a database holding data from an older schema.
///
/// Every process that migrates this database (the indexer, the telemetry service) does so
/// under one session-level advisory lock, so two starting together never both apply a
/// migration.
pub async fn migrate(client: &mut Client, target: Option<i32>) -> Result<(), SinkError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let mut runner = embedded::migrations::runner();
    if let Some(version) = target {
        runner = runner.set_target(refinery::Target::Version(version));
    }
    let result = runner.run_async(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    for migration in result?.applied_migrations() {
        tracing::info!(migration = %migration, "migration applied");
    }
    Ok(())
}

/// Key of the advisory lock held while migrating (distinct from the writer's [`LOCK_KEY`]).
const MIGRATION_LOCK_KEY: i64 = 0x6465_7069_6e6d_6967; // "depinmig"

fn i64_of(v: u64, what: &str) -> Result<i64, SinkError> {
    i64::try_from(v).map_err(|_| SinkError::OutOfRange(format!("{what} {v}")))
}

impl Sink {
    /// Connects, takes the advisory lock, applies pending migrations and loads the
    /// signatures of the recent slots.
    /// `commitment` is the level the stream delivers transactions at (their slots are
    /// recorded at least at it); `name` keys the checkpoint (one per stream).
    pub async fn connect(url: &str, commitment: Commitment, name: &str) -> Result<Self, SinkError> {
        let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "postgres connection closed");
            }
        });
        // a predecessor that is shutting down may still hold the lock for a moment
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let locked: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
                .await?
                .get(0);
            if locked {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(SinkError::Locked);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        configure_session(&client, &format!("writer {name}")).await?;
        migrate(&mut client, None).await?;
        // what the recent slots already hold: after a restart the stream replays them
        let recent = Recent::load(&client).await?;
        Ok(Sink {
            client,
            connection,
            commitment,
            name: name.to_owned(),
            recent: Some(recent),
            refresher: None,
            retention: None,
        })
    }

    /// The slot to resume from, if a batch was ever committed.
    pub async fn checkpoint(&self) -> Result<Option<u64>, SinkError> {
        let row = self
            .client
            .query_opt(
                "SELECT slot FROM indexer_checkpoint WHERE name = $1",
                &[&self.name],
            )
            .await?;
        Ok(row
            .map(|r| r.get::<_, i64>(0))
            .map(|s| s.max(0).unsigned_abs()))
    }

    /// Closes the connection (releasing the lock) and waits until it is closed.
    pub async fn close(self) {
        drop(self.client);
        let _ = self.connection.await;
    }

    /// Leaves the state rows to a [`crate::state::Refresher`]: from now on a batch's
    /// transaction only queues the state keys its events touched, and `wake` is notified
    /// after each commit. Without it, each batch applies the queue in its own transaction.
    pub fn refresh_state_with(&mut self, wake: Arc<Notify>) {
        self.refresher = Some(wake);
    }

    /// Keeps the activity events ([`ACTIVITY_TABLES`]), the energy lifecycle events
    /// ([`INTERVAL_TABLES`]) and the tallied events ([`TALLY_TABLES`]) written from now on
    /// in slot-range segments, retired by [`Sink::retire_events`] (rows written before stay
    /// in their tables, and an interval with some of them is kept whole there).
    pub async fn retain_events(&mut self, config: EventRetention) -> Result<(), SinkError> {
        if config.keep_slots == 0 || config.segment_slots == 0 {
            return Err(SinkError::Setting(format!(
                "event retention needs at least one slot kept and per segment: {config:?}"
            )));
        }
        let segments = self.attached_segments().await?;
        self.retention = Some(Retention { config, segments });
        Ok(())
    }

    async fn attached_segments(&self) -> Result<HashSet<String>, SinkError> {
        Ok(self
            .client
            .query("SELECT segment FROM event_segments", &[])
            .await?
            .into_iter()
            .map(|row| row.get(0))
            .collect())
    }

    /// Retires (drops, or detaches) the event segments whose slots all lie more than the
    /// kept slots below the newest finalized slot; returns how many. A segment whose rows
    /// are not settled stays: one with a row a fork moved past the kept slots' start, or a
    /// row of a slot below it neither finalized nor judged dead yet (unless that slot lies
    /// more than the kept slots below it), or proofs or faults of a deal whose proposal is
    /// in such a slot or among the kept slots. An energy interval retires only whole, its
    /// `energy_intervals` and `energy_orders` rows with it in the same transaction; the rows
    /// of one still kept move out of a retiring segment first, into their kinds' segments
    /// of the first kept slots (or into the event tables, for an interval with rows written
    /// before retention was on). Nothing without [`Sink::retain_events`].
    ///
    /// Retiring a segment needs it unused for a moment: a query still reading it (a long
    /// report on its event table) holds it, as a state refresh under way holds the tallies,
    /// and rather than stall the writer behind them, the retirement gives up after
    /// [`RETIRE_LOCK_TIMEOUT`] and is tried again at the next prune (returning 0).
    pub async fn retire_events(&mut self) -> Result<u64, SinkError> {
        let Some(config) = self.retention.as_ref().map(|r| r.config) else {
            return Ok(0);
        };
        let keep = i64_of(config.keep_slots, "keep_event_slots")?;
        let tx = self.client.transaction().await?;
        tx.batch_execute(&format!("SET LOCAL lock_timeout = '{RETIRE_LOCK_TIMEOUT}'"))
            .await?;
        let retired = tx
            .query_one(
                &format!("SELECT depin_retire_segments({RETENTION_HORIZON}, $2)"),
                &[&keep, &config.detach],
            )
            .await;
        let retired: i64 = match retired {
            Ok(row) => row.get::<_, Option<i64>>(0).unwrap_or(0),
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                tracing::info!(
                    "an event segment to retire, or the tallies (a state refresh), is in use; retrying at the next prune"
                );
                return Ok(0); // dropping `tx` rolls it back
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit().await?;
        if retired > 0 {
            let segments = self.attached_segments().await?;
            if let Some(retention) = self.retention.as_mut() {
                retention.segments = segments;
            }
        }
        Ok(retired.max(0).unsigned_abs())
    }

    /// How many attached segments lie wholly past the kept slots (what
    /// [`Sink::retire_events`] would take if nothing held them back): after a retirement,
    /// the segments held back by a row not settled yet (of a slot neither finalized nor
    /// judged dead, or moved past the kept slots' start by a fork), or in use. 0 without
    /// [`Sink::retain_events`].
    pub async fn segments_past_retention(&self) -> Result<u64, SinkError> {
        let Some(config) = self.retention.as_ref().map(|r| r.config) else {
            return Ok(0);
        };
        let keep = i64_of(config.keep_slots, "keep_event_slots")?;
        let past: i64 = self
            .client
            .query_one(
                &format!(
                    "SELECT count(*) FROM event_segments WHERE end_slot <= {RETENTION_HORIZON}"
                ),
                &[&keep],
            )
            .await?
            .get(0);
        Ok(past.max(0).unsigned_abs())
    }

    /// How many slots below the newest finalized slot are still only processed or
    /// confirmed: slots whose ancestry no finalization reached (the stream never told their
    /// parent, or a gap in the slot updates), so their rows keep their level and prunes keep
    /// their bookkeeping. Zero on a healthy stream; a count that grows is for an operator
    /// to look at (the rows of such a slot may be on an abandoned fork). 0 before any slot
    /// is finalized.
    pub async fn unjudged_slots(&self) -> Result<u64, SinkError> {
        let unjudged: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM slots
                 WHERE status IN ('processed', 'confirmed')
                   AND slot < (SELECT max(slot) FROM slots WHERE status = 'finalized')",
                &[],
            )
            .await?
            .get(0);
        Ok(unjudged.max(0).unsigned_abs())
    }

    /// The database client, for queries outside batches.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes `batch` in one database transaction, exactly once: a transaction already
    /// stored adds no row (only, when it arrives in another slot, the record of that slot).
    ///
    /// Rows go straight into their tables with binary `COPY`. Which transactions are stored
    /// is known from the signatures this sink wrote or loaded in the [`RECENT_SLOTS`] below
    /// the newest; a transaction of an older slot (a redelivery of old slots) is looked up
    /// in the database first, among the transactions stored within [`COPIES_WITHIN`] of its
    /// slot. A transaction lands once per fork, and again in another fork only while its
    /// blockhash lives (README.md, Indexer, "Exactly once"), so its copies are never
    /// further apart than that.
    pub async fn write(&mut self, batch: &Batch) -> Result<WriteStats, SinkError> {
        self.write_staged(batch, None).await
    }

    /// Writes a [`Prepared`] batch as [`Sink::write`] does, with the rows built ahead when
    /// they are those of the transactions this sink finds new (always, unless the batch
    /// holds one it wrote, remembers or finds stored).
    pub async fn write_prepared(&mut self, prepared: &Prepared) -> Result<WriteStats, SinkError> {
        let ahead = prepared
            .staged
            .as_ref()
            .map(|staged| (prepared.firsts.as_slice(), staged));
        self.write_staged(&prepared.batch, ahead).await
    }

    /// Writes `batch`, with `ahead` the rows built beforehand and whom they were built for.
    async fn write_staged(
        &mut self,
        batch: &Batch,
        ahead: Option<(&[Option<u64>], &Staged)>,
    ) -> Result<WriteStats, SinkError> {
        let mut recent = match self.recent.take() {
            Some(recent) => recent,
            None => Recent::load(&self.client).await?,
        };
        let written = self.write_judged(&mut recent, batch, ahead).await;
        if matches!(&written, Ok(stats) if stats.dead_slots > 0) {
            // the rows of removed slots are gone, or moved to another slot their
            // transaction was seen in: what the sink remembers of them must follow
            if let Err(e) = recent.forget_removed(&self.client).await {
                tracing::warn!(
                    error = %e,
                    "could not follow the transactions of removed slots; loading the recent slots again before the next batch"
                );
                return written;
            }
        }
        self.recent = Some(recent);
        written
    }

    /// Judges which of `batch`'s transactions are new against `recent` (and the database,
    /// for those whose copies could be older than it) and writes the batch; `recent` then
    /// holds its transactions.
    async fn write_judged(
        &mut self,
        recent: &mut Recent,
        batch: &Batch,
        ahead: Option<(&[Option<u64>], &Staged)>,
    ) -> Result<WriteStats, SinkError> {
        // transactions whose copies could be in slots below the remembered ones: ask the
        // database
        let older: Vec<&IndexedTransaction> = batch
            .transactions
            .iter()
            .filter(|t| {
                t.slot.saturating_sub(COPIES_WITHIN) < recent.floor
                    && !recent.slot_of.contains_key(&t.signature)
            })
            .collect();
        let looked_up = u64::try_from(older.len()).unwrap_or(u64::MAX);
        let found = stored_among(&self.client, &older).await?;
        let stored = recent.stored_slots(batch, &found);
        let mut stats = match ahead.filter(|(firsts, _)| *firsts == stored.as_slice()) {
            Some((_, staged)) => self.write_rows(batch, staged, Duration::ZERO).await?,
            None => {
                let started = std::time::Instant::now();
                let staged = stage_rows(batch, &stored)?;
                self.write_rows(batch, &staged, started.elapsed()).await?
            }
        };
        stats.looked_up = looked_up;
        // each at the slot of its row (a copy in another slot only recorded that slot)
        for (t, stored) in batch.transactions.iter().zip(&stored) {
            recent.insert(&t.signature, stored.unwrap_or(t.slot));
        }
        // a batch of old slots (a backfill) leaves nothing below the floor
        let newest = batch.transactions.iter().map(|t| t.slot).max();
        recent.forget_below(newest.unwrap_or(0).saturating_sub(RECENT_SLOTS));
        Ok(stats)
    }

    /// One attempt at writing `batch` with its rows `staged` (built in `stage_time`).
    async fn write_rows(
        &mut self,
        batch: &Batch,
        staged: &Staged,
        stage_time: Duration,
    ) -> Result<WriteStats, SinkError> {
        let started = std::time::Instant::now();
        // segments this attempt creates: known once it commits
        let mut created = Vec::new();
        let tx = self.client.transaction().await?;
        let mut stats = copy_rows(&tx, staged, self.retention.as_ref(), &mut created).await?;
        // a transaction's first slot is its `indexed_transactions` row; `transaction_slots`
        // holds the other slots it was seen in (forks), so the one that survives keeps it
        // (a delivery in its own slot again records nothing: see `stage_rows`)
        let (signatures, slots, indices) = &staged.seen_again;
        if !signatures.is_empty() {
            tx.execute(
                "INSERT INTO transaction_slots (signature, slot, tx_index)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
                 ON CONFLICT DO NOTHING",
                &[signatures, slots, indices],
            )
            .await?;
        }
        if !staged.slots.is_empty() {
            tx.execute(
                "SELECT depin_note_slots($1, $2)",
                &[&staged.slots, &self.commitment.as_str()],
            )
            .await?;
        }
        let rows_done = started.elapsed();
        state::queue(&tx, &staged.keys, &staged.claims).await?;
        let state_done = started.elapsed();
        if !batch.slots.is_empty() {
            let mut slots = Vec::with_capacity(batch.slots.len());
            let mut parents = Vec::with_capacity(batch.slots.len());
            let mut statuses = Vec::with_capacity(batch.slots.len());
            for update in &batch.slots {
                slots.push(i64_of(update.slot, "slot")?);
                parents.push(update.parent.map(|p| i64_of(p, "parent")).transpose()?);
                statuses.push(match update.status {
                    SlotStatus::Reached(c) => c.as_str(),
                    SlotStatus::Dead => "dead",
                });
            }
            let removed: i64 = tx
                .query_one(
                    "SELECT depin_apply_slots($1, $2, $3)",
                    &[&slots, &parents, &statuses],
                )
                .await?
                .get(0);
            stats.dead_slots = removed.max(0).unsigned_abs();
        }
        if let Some(checkpoint) = batch.checkpoint {
            let checkpoint = i64_of(checkpoint, "checkpoint")?;
            tx.execute(
                "INSERT INTO indexer_checkpoint (name, slot) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE
                 SET slot = GREATEST(indexer_checkpoint.slot, EXCLUDED.slot), updated_at = now()",
                &[&self.name, &checkpoint],
            )
            .await?;
        }
        let slots_done = started.elapsed();
        if self.refresher.is_none() {
            // no refresher: the state (the batch's keys and those of removed slots) in this
            // transaction
            state::apply_queued(&tx).await?;
        }
        let applied_done = started.elapsed();
        tx.commit().await?;
        if let Some(retention) = self.retention.as_mut() {
            retention.segments.extend(created);
        }
        if let Some(wake) = &self.refresher {
            wake.notify_one();
        }
        stats.state_refresh = (state_done - rows_done) + (applied_done - slots_done);
        tracing::debug!(
            stage_ms = stage_time.as_millis() as u64,
            rows_ms = rows_done.as_millis() as u64,
            state_ms = (state_done - rows_done).as_millis() as u64,
            slots_ms = (slots_done - state_done).as_millis() as u64,
            applied_ms = (applied_done - slots_done).as_millis() as u64,
            commit_ms = (started.elapsed() - applied_done).as_millis() as u64,
            "batch timing"
        );
        Ok(stats)
    }

    /// Removes slot bookkeeping below the newest finalized slot (see `depin_prune_slots`
    /// in the migrations); returns the number of slot statuses removed.
    pub async fn prune_slots(&self) -> Result<u64, SinkError> {
        let removed: i64 = self
            .client
            .query_one("SELECT depin_prune_slots()", &[])
            .await?
            .get(0);
        Ok(removed.max(0).unsigned_abs())
    }
}

/// Where a staged table's rows go: the table itself, or, for a segmented table (activity,
/// energy lifecycle or tallied) under event retention, the segments of their slots (created
/// when missing; their names are added to `created`), each with its rows.
async fn destinations<'r>(
    tx: &Transaction<'_>,
    retention: Option<&Retention>,
    created: &mut Vec<String>,
    table: &'static str,
    rows: &'r [Vec<Value>],
) -> Result<Vec<Destination<'r>>, SinkError> {
    let Some(retention) = retention.filter(|_| {
        ACTIVITY_TABLES.contains(&table)
            || INTERVAL_TABLES.contains(&table)
            || TALLY_TABLES.contains(&table)
    }) else {
        return Ok(vec![Destination {
            table: table.to_owned(),
            rows: rows.iter().collect(),
        }]);
    };
    let width = i64_of(retention.config.segment_slots, "event_segment_slots")?;
    let mut by_segment: BTreeMap<i64, Vec<&'r Vec<Value>>> = BTreeMap::new();
    for row in rows {
        let Some(Value::Int8(slot)) = row.get(SLOT_COLUMN) else {
            return Err(SinkError::Unexpected(format!(
                "a {table} row without its slot"
            )));
        };
        by_segment
            .entry(*slot - slot.rem_euclid(width))
            .or_default()
            .push(row);
    }
    let mut out = Vec::with_capacity(by_segment.len());
    for (first, rows) in by_segment {
        let end = first.checked_add(width).ok_or_else(|| {
            SinkError::OutOfRange(format!("the segment of slot {first} ends past BIGINT"))
        })?;
        let name = format!("{table}__{first}_{end}");
        if !retention.segments.contains(&name) && !created.contains(&name) {
            let made: String = tx
                .query_one(
                    "SELECT depin_event_segment($1, $2, $3)",
                    &[&table, &first, &end],
                )
                .await?
                .get(0);
            created.push(made);
        }
        out.push(Destination { table: name, rows });
    }
    Ok(out)
}

/// One table (or segment) a batch writes, with the rows it gets.
struct Destination<'r> {
    table: String,
    rows: Vec<&'r Vec<Value>>,
}

/// Every staged table copied into its own table (or segments), all at once
/// ([`pipelined`]): none has a key to refuse a row (V14, V26), the sink has judged which
/// transactions are new.
async fn copy_rows(
    tx: &Transaction<'_>,
    staged: &Staged,
    retention: Option<&Retention>,
    created: &mut Vec<String>,
) -> Result<WriteStats, SinkError> {
    let mut stats = WriteStats::default();
    let mut copies = Vec::new();
    for (table, columns, rows) in &staged.tables {
        for destination in destinations(tx, retention, created, table, rows).await? {
            copies.push((destination, columns.as_slice()));
        }
        stats.count(table, u64::try_from(rows.len()).unwrap_or(u64::MAX));
    }
    pipelined(
        copies.iter().map(|(destination, columns)| {
            copy_in(tx, &destination.table, columns, &destination.rows)
        }),
    )
    .await?;
    Ok(stats)
}

/// How far apart, in slots, two copies of one transaction are looked for: further than
/// they can be (a transaction lands once per fork, and in another fork only while its
/// blockhash, 150 blocks, lives).
pub const COPIES_WITHIN: u64 = 512;

/// How many slots below the newest the sink remembers the signatures stored: twice
/// [`COPIES_WITHIN`], so a transaction of the newest [`COPIES_WITHIN`] slots is judged
/// from memory alone.
pub const RECENT_SLOTS: u64 = 2 * COPIES_WITHIN;

/// Signatures stored in the recent slots, so duplicates are known without a query.
#[derive(Debug, Default)]
struct Recent {
    /// Each remembered signature's slot (its `indexed_transactions` row's).
    slot_of: HashMap<String, u64>,
    by_slot: BTreeMap<u64, Vec<String>>,
    /// Every transaction stored in this slot or a later one is remembered.
    floor: u64,
}

impl Recent {
    /// The signatures stored in the [`RECENT_SLOTS`] below the newest slot the database
    /// knows.
    async fn load(client: &Client) -> Result<Recent, SinkError> {
        let newest: Option<i64> = client
            .query_one("SELECT max(slot) FROM slots", &[])
            .await?
            .get(0);
        let floor = newest
            .map_or(0, |n| n.max(0).unsigned_abs())
            .saturating_sub(RECENT_SLOTS);
        let mut recent = Recent {
            floor,
            ..Recent::default()
        };
        for row in client
            .query(
                "SELECT signature, slot FROM indexed_transactions WHERE slot >= $1",
                &[&i64_of(floor, "slot")?],
            )
            .await?
        {
            recent.insert(row.get(0), row.get::<_, i64>(1).max(0).unsigned_abs());
        }
        Ok(recent)
    }

    /// Where each of `batch`'s transactions is stored: `None` for a new one (neither
    /// remembered, nor in `found`, the stored transactions looked up, nor earlier in the
    /// batch), else the slot of its stored row (an earlier copy's in the batch).
    fn stored_slots(&self, batch: &Batch, found: &HashMap<String, u64>) -> Vec<Option<u64>> {
        let mut in_batch: HashMap<&str, u64> = HashMap::with_capacity(batch.transactions.len());
        batch
            .transactions
            .iter()
            .map(|t| {
                let stored = in_batch
                    .get(t.signature.as_str())
                    .or_else(|| self.slot_of.get(&t.signature))
                    .or_else(|| found.get(&t.signature))
                    .copied();
                if stored.is_none() {
                    in_batch.insert(&t.signature, t.slot);
                }
                stored
            })
            .collect()
    }

    fn insert(&mut self, signature: &str, slot: u64) {
        if !self.slot_of.contains_key(signature) {
            self.slot_of.insert(signature.to_owned(), slot);
            self.by_slot
                .entry(slot)
                .or_default()
                .push(signature.to_owned());
        }
    }

    /// After slots were removed (their statuses now `dead`): forgets the transactions
    /// remembered in dead slots, then remembers those whose rows are still stored where
    /// they are now (moved to another slot they were seen in, `transaction_slots`; or still
    /// in their dead slot).
    async fn forget_removed(&mut self, client: &Client) -> Result<(), SinkError> {
        let dead: Vec<i64> = client
            .query(
                "SELECT slot FROM slots WHERE status = 'dead' AND slot >= $1",
                &[&i64_of(self.floor, "slot")?],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut gone = Vec::new();
        for slot in &dead {
            if let Some(signatures) = self.by_slot.remove(&slot.max(&0).unsigned_abs()) {
                for signature in &signatures {
                    self.slot_of.remove(signature);
                }
                gone.extend(signatures);
            }
        }
        if gone.is_empty() {
            return Ok(());
        }
        for row in client
            .query(
                "SELECT signature, slot FROM indexed_transactions
                 WHERE signature = ANY($1)
                   AND slot = ANY(ARRAY(SELECT slot FROM transaction_slots
                                        WHERE signature = ANY($1)) || $2::bigint[])",
                &[&gone, &dead],
            )
            .await?
        {
            let slot = row.get::<_, i64>(1).max(0).unsigned_abs();
            // one moved below the floor is looked up when it comes again, as any there
            if slot >= self.floor {
                self.insert(row.get(0), slot);
            }
        }
        Ok(())
    }

    /// Raises the floor to `slot` (never lowers it) and forgets the signatures below it.
    fn forget_below(&mut self, slot: u64) {
        self.floor = self.floor.max(slot);
        let keep = self.by_slot.split_off(&self.floor);
        for signature in std::mem::replace(&mut self.by_slot, keep)
            .into_values()
            .flatten()
        {
            self.slot_of.remove(&signature);
        }
    }
}

/// The stored slots of those of `older` (transactions whose copies could be in slots the
/// sink does not remember) that are stored, looked up among the transactions stored within
/// [`COPIES_WITHIN`] of their slots (the BRIN index on `slot` finds them).
async fn stored_among(
    client: &Client,
    older: &[&IndexedTransaction],
) -> Result<HashMap<String, u64>, SinkError> {
    let (Some(first), Some(last)) = (
        older.iter().map(|t| t.slot).min(),
        older.iter().map(|t| t.slot).max(),
    ) else {
        return Ok(HashMap::new());
    };
    let signatures: Vec<&str> = older.iter().map(|t| t.signature.as_str()).collect();
    let rows = client
        .query(
            "SELECT signature, slot FROM indexed_transactions
             WHERE slot >= $1 AND slot <= $2 AND signature = ANY($3)",
            &[
                &i64_of(first.saturating_sub(COPIES_WITHIN), "slot")?,
                &i64_of(last.saturating_add(COPIES_WITHIN), "slot")?,
                &signatures,
            ],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.get(0), row.get::<_, i64>(1).max(0).unsigned_abs()))
        .collect())
}

/// One table's share of a batch: its name, the columns written and the rows.
pub type StagedTable = (&'static str, Vec<&'static str>, Vec<Vec<Value>>);

/// A batch turned into rows: each staged table with its columns and rows (bookkeeping
/// first), the slots its transactions are in, the transactions seen again (signature, slot,
/// position), and the state keys its events touch.
#[derive(Debug)]
struct Staged {
    tables: Vec<StagedTable>,
    slots: Vec<i64>,
    seen_again: (Vec<String>, Vec<i64>, Vec<i64>),
    keys: BTreeSet<StateKey>,
    /// Claimed amount and number of claims per (config, epoch) in the batch's new rows.
    claims: BTreeMap<(String, u64), (u128, i64)>,
}

/// The rows of `batch`: every row of the transactions `stored` marks new (`None`, or
/// missing), and for the others, when they came in another slot than the one stored, only
/// that slot (a fork carried them too).
fn stage_rows(batch: &Batch, stored: &[Option<u64>]) -> Result<Staged, SinkError> {
    let mut transactions = Vec::with_capacity(batch.transactions.len());
    let mut seen_again = (Vec::new(), Vec::new(), Vec::new());
    let mut failures = Vec::new();
    let mut events: BTreeMap<&'static str, Vec<Vec<Value>>> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    let mut claims: BTreeMap<(String, u64), (u128, i64)> = BTreeMap::new();
    let mut slots = BTreeSet::new();
    for (i, t) in batch.transactions.iter().enumerate() {
        let slot = i64_of(t.slot, "slot")?;
        let tx_index = i64_of(t.tx_index, "tx_index")?;
        slots.insert(slot);
        if let Some(first) = stored.get(i).copied().flatten() {
            if first != t.slot {
                seen_again.0.push(t.signature.clone());
                seen_again.1.push(slot);
                seen_again.2.push(tx_index);
            }
            continue;
        }
        // what an event's text holds that PostgreSQL cannot store (a NUL), noted beside the
        // transaction's decode failures
        let mut notes: Vec<(u16, Pubkey, String)> = Vec::new();
        for record in &t.decoded.events {
            let mut row = event_row(&record.event);
            if let Some(fields) = replace_nul(&mut row.values) {
                notes.push((
                    record.instruction_index,
                    record.program,
                    format!(
                        "{} event text holds NUL bytes, which PostgreSQL text cannot store: \
                         stored with U+FFFD in their place ({fields} field(s))",
                        row.table
                    ),
                ));
            }
            let mut values = Vec::with_capacity(KEY_COLUMNS.len() + row.values.len());
            values.extend([
                Value::Text(t.signature.clone()),
                Value::Int4(i32::from(record.instruction_index)),
                Value::Int4(i32::from(record.event_index)),
                Value::Int8(slot),
                Value::Int8(tx_index),
            ]);
            values.extend(row.values);
            events.entry(row.table).or_default().push(values);
            keys.extend(state_keys(&record.event));
            if let Event::Rewards(rewards::Event::RewardsClaimed(c)) = &record.event {
                let total = claims.entry((c.config.to_string(), c.epoch)).or_default();
                total.0 += u128::from(c.amount);
                total.1 += 1;
            }
        }
        let noted = notes
            .iter()
            .map(|(ix, program, reason)| (Some(*ix), Some(*program), reason.as_str()));
        let all = t
            .decoded
            .failures
            .iter()
            .map(|f| (f.instruction_index, f.program, f.reason.as_str()))
            .chain(noted);
        let mut recorded = 0usize;
        for (i, (instruction_index, program, reason)) in all.enumerate() {
            failures.push(vec![
                Value::Text(t.signature.clone()),
                Value::Int4(i32::try_from(i).unwrap_or(i32::MAX)),
                Value::Int8(slot),
                Value::OptInt4(instruction_index.map(i32::from)),
                Value::OptText(program.map(|p| p.to_string())),
                Value::Text(reason.replace('\0', "\u{FFFD}")),
            ]);
            recorded += 1;
        }
        transactions.push(vec![
            Value::Text(t.signature.clone()),
            Value::Int8(slot),
            Value::Int8(tx_index),
            Value::Int4(i32::try_from(t.decoded.events.len()).unwrap_or(i32::MAX)),
            Value::Int4(i32::try_from(recorded).unwrap_or(i32::MAX)),
            Value::Text(
                match t.source {
                    Source::Grpc => "grpc",
                    Source::Rpc => "rpc",
                }
                .into(),
            ),
        ]);
    }
    let mut tables = Vec::new();
    let mut add = |table: &'static str, columns: Vec<&'static str>, rows: Vec<Vec<Value>>| {
        if !rows.is_empty() {
            tables.push((table, columns, rows));
        }
    };
    add(
        "indexed_transactions",
        vec![
            "signature",
            "slot",
            "tx_index",
            "events",
            "failures",
            "source",
        ],
        transactions,
    );
    for (table, rows) in events {
        let own = TABLES
            .iter()
            .find(|t| t.name == table)
            .map(|t| t.columns)
            .unwrap_or_default();
        add(
            table,
            KEY_COLUMNS.iter().chain(own).copied().collect(),
            rows,
        );
    }
    add(
        "decode_failures",
        vec![
            "signature",
            "failure_index",
            "slot",
            "instruction_index",
            "program",
            "reason",
        ],
        failures,
    );
    Ok(Staged {
        tables,
        slots: slots.into_iter().collect(),
        seen_again,
        keys,
        claims,
    })
}

/// Replaces every NUL in the text of `values` (PostgreSQL's `TEXT` cannot hold one, and a
/// program's string argument can: a maker's name) with U+FFFD; returns how many values held
/// one, `None` when none did.
fn replace_nul(values: &mut [Value]) -> Option<usize> {
    let mut replaced = 0;
    let mut fix = |text: &mut String| {
        if text.contains('\0') {
            *text = text.replace('\0', "\u{FFFD}");
            replaced += 1;
        }
    };
    for value in values.iter_mut() {
        match value {
            Value::Text(text) | Value::OptText(Some(text)) => fix(text),
            Value::TextArray(texts) => texts.iter_mut().for_each(&mut fix),
            _ => {}
        }
    }
    (replaced > 0).then_some(replaced)
}

/// The event rows the sink writes for `batch`, per event table with its columns: what a
/// plain COPY of the same data would write (the benchmark's baseline).
pub fn event_rows(batch: &Batch) -> Result<Vec<StagedTable>, SinkError> {
    let staged = stage_rows(batch, &[])?;
    Ok(staged
        .tables
        .into_iter()
        .filter(|(table, _, _)| TABLES.iter().any(|t| t.name == *table))
        .collect())
}

/// Runs `copies` (`COPY`s on one connection, in one transaction) at once: the client
/// sends each one's request as soon as the one before it is written, so a `COPY` costs one
/// wait for the server instead of three in a row (prepare, start, finish), and the
/// server goes from one to the next without waiting for the client (a batch writes up to
/// 44 tables; README.md, Benchmarks, has what it saved).
///
/// The server runs them in order; after one fails, those after it are refused only because
/// the transaction is aborted, so the first error in order is the cause. It is returned as
/// [`SinkError::Pipelined`] (a database error) and never retried on this connection: the
/// copies refused before they started leave answers the client does not expect.
async fn pipelined<F>(copies: impl Iterator<Item = F>) -> Result<(), SinkError>
where
    F: std::future::Future<Output = Result<(), SinkError>>,
{
    let outcomes = futures::future::join_all(copies).await;
    match outcomes.into_iter().find_map(Result::err) {
        None => Ok(()),
        Some(SinkError::Postgres(e)) => Err(SinkError::Pipelined(e)),
        Some(other) => Err(other),
    }
}

/// Binary-COPYs `rows` into `table`: the rows are encoded straight into the COPY stream
/// (PostgreSQL's binary format: a header, then per row its field count and each field as
/// length and bytes), sent in chunks of about [`COPY_CHUNK`] bytes.
async fn copy_in<R: AsRef<[Value]>>(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[&str],
    rows: &[R],
) -> Result<(), SinkError> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let types: Vec<Type> = first.as_ref().iter().map(Value::pg_type).collect();
    let fields = i16::try_from(types.len())
        .map_err(|_| SinkError::OutOfRange(format!("{} columns in {table}", types.len())))?;
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&format!(
            "COPY {table} ({}) FROM STDIN BINARY",
            columns.join(", ")
        ))
        .await?;
    pin_mut!(sink);
    let mut buf = BytesMut::with_capacity(COPY_CHUNK + 1024);
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buf.extend_from_slice(&0i32.to_be_bytes()); // flags
    buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    for row in rows {
        let row = row.as_ref();
        if row.len() != types.len() {
            return Err(SinkError::OutOfRange(format!(
                "a row of {} values for the {} columns of {table}",
                row.len(),
                types.len()
            )));
        }
        buf.extend_from_slice(&fields.to_be_bytes());
        for (value, ty) in row.iter().zip(&types) {
            let at = buf.len();
            buf.extend_from_slice(&0i32.to_be_bytes());
            let null = value
                .to_sql_checked(ty, &mut buf)
                .map_err(|e| SinkError::OutOfRange(format!("{table}: {e}")))?;
            let len = match null {
                IsNull::Yes => -1,
                IsNull::No => i32::try_from(buf.len() - at - 4).map_err(|_| {
                    SinkError::OutOfRange(format!("a value of {} bytes", buf.len() - at - 4))
                })?,
            };
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        if buf.len() >= COPY_CHUNK {
            sink.as_mut().send(buf.split().freeze()).await?;
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes()); // trailer
    sink.as_mut().send(buf.freeze()).await?;
    sink.finish().await?;
    Ok(())
}

/// Settings of the indexer's own database sessions (the writer and the state refresher).
///
/// JIT compilation off: every statement the indexer runs is a keyed lookup or insert of
/// a few hundred rows, but once the event tables hold a few hundred thousand rows the
/// planner's cost estimates for the state refresh cross `jit_above_cost`, and compiling
/// each statement then took about 30 ms of a 32 ms statement. In the pipeline benchmark,
/// the refresh per event row with ten times the rows stored cost 1.62-1.67x of an empty
/// database with JIT, 1.10-1.25x without.
pub(crate) const SESSION_SETTINGS: &str = "SET jit = off";

/// Sets up one of the indexer's sessions: [`SESSION_SETTINGS`], and the application name
/// `depin-indexer <role>` unless the connection string chose one, so an operator (or the
/// benchmark) can tell the writer from the state refresher in `pg_stat_activity`.
pub(crate) async fn configure_session(client: &Client, role: &str) -> Result<(), SinkError> {
    client.batch_execute(SESSION_SETTINGS).await?;
    client
        .execute(
            "SELECT set_config('application_name', $1, false)
             WHERE current_setting('application_name') = ''",
            &[&format!("depin-indexer {role}")],
        )
        .await?;
    Ok(())
}

/// How long retiring an event segment waits for a query still reading it.
pub const RETIRE_LOCK_TIMEOUT: &str = "1s";

/// The slot retention retires below, as SQL with the slots kept as `$1`: the newest
/// finalized slot less those kept. [`Sink::retire_events`] retires below it and
/// [`Sink::segments_past_retention`] counts what is still attached below it.
const RETENTION_HORIZON: &str = "(SELECT max(slot) FROM slots WHERE status = 'finalized') - $1";

/// Bytes of COPY data sent at once.
const COPY_CHUNK: usize = 64 * 1024;
