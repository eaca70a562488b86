//! The current-state rows (`devices`, `deals`, `reward_epochs`, ...), off the write path.
//!
//! A batch's database transaction queues the state keys its events touched in `state_queue`
//! (`queue`; removing a dead slot or an abandoned fork queues its keys the same way, in
//! SQL). [`apply_queued`] takes every queued row, recomputes those keys from the events,
//! adds the queued claim totals to their reward epochs, deletes the rows it took and raises
//! `state_watermark`, all in one database transaction.
//!
//! The [`Refresher`] runs it on its own connection, in REPEATABLE READ transactions, woken
//! after every commit: the queue rows and the events it reads come from one snapshot, and
//! the writer's transaction commits a batch's events with its queue rows, so the state is
//! always the fold of the events committed up to that snapshot. The queue is its durable
//! position: after a crash or a restart it resumes with what is still queued. Only the
//! refresher writes state rows, so it never contends with the writer for a row.
//!
//! A [`crate::sink::Sink`] used on its own (without a refresher) applies the queue in each
//! batch's own transaction, as before the refresher existed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, IsolationLevel, NoTls, Transaction};

use crate::metrics::Metrics;
use crate::rows::StateKey;
use crate::sink::{configure_session, SinkError};

/// Claimed amount and number of claims per (config, epoch).
pub(crate) type Claims = BTreeMap<(String, u64), (u128, i64)>;

/// The state tables refreshed by key alone, with their refresh functions' suffix.
const SINGLE: [&str; 6] = [
    "networks",
    "makers",
    "devices",
    "stake_positions",
    "device_bonds",
    "deals",
];

/// Keys to refresh, gathered from a batch or from queued rows.
#[derive(Debug, Default)]
struct Keys {
    single: BTreeMap<&'static str, BTreeSet<String>>,
    epochs: BTreeSet<(String, String)>,
    claims: BTreeSet<(String, String)>,
    intervals: BTreeSet<(String, String)>,
    /// Claims to add to reward epochs: amount and count per (config, epoch).
    added: BTreeMap<(String, String), (u128, i64)>,
}

impl Keys {
    /// The keys of a batch: `keys` its events touched, `claims` the claims of its new rows
    /// (added to their epochs' totals).
    fn of_batch(keys: &BTreeSet<StateKey>, claims: &Claims) -> Keys {
        let mut out = Keys::default();
        for key in keys {
            match key {
                StateKey::Network(k) => out.add_single("networks", k),
                StateKey::Maker(k) => out.add_single("makers", k),
                StateKey::Device(k) => out.add_single("devices", k),
                StateKey::Position(k) => out.add_single("stake_positions", k),
                StateKey::Bond(k) => out.add_single("device_bonds", k),
                StateKey::Deal(k) => out.add_single("deals", k),
                StateKey::Epoch(c, e) => {
                    out.epochs.insert((c.clone(), e.to_string()));
                }
                StateKey::EpochClaims(c, e) => {
                    let (amount, count) = claims.get(&(c.clone(), *e)).copied().unwrap_or_default();
                    let total = out.added.entry((c.clone(), e.to_string())).or_default();
                    total.0 += amount;
                    total.1 += count;
                }
                StateKey::Claim(c, d) => {
                    out.claims.insert((c.clone(), d.clone()));
                }
                StateKey::Interval(m, i) => {
                    out.intervals.insert((m.clone(), i.to_string()));
                }
            }
        }
        out
    }

    fn add_single(&mut self, table: &'static str, key: &str) {
        self.single.entry(table).or_default().insert(key.to_owned());
    }

    fn is_empty(&self) -> bool {
        self.single.values().all(BTreeSet::is_empty)
            && self.epochs.is_empty()
            && self.claims.is_empty()
            && self.intervals.is_empty()
            && self.added.is_empty()
    }

    /// Adds one queued row.
    fn add_queued(
        &mut self,
        kind: &str,
        keys: Vec<String>,
        keys2: Option<Vec<String>>,
        amounts: Option<Vec<String>>,
        counts: Option<Vec<i64>>,
    ) -> Result<(), SinkError> {
        if let Some(table) = SINGLE.iter().find(|t| **t == kind) {
            self.single.entry(table).or_default().extend(keys);
            return Ok(());
        }
        let pairs = keys.into_iter().zip(keys2.unwrap_or_default());
        match kind {
            "reward_epochs" => self.epochs.extend(pairs),
            "reward_claims" => self.claims.extend(pairs),
            "energy" => self.intervals.extend(pairs),
            "epoch_claims" => {
                let amounts = amounts.unwrap_or_default();
                let counts = counts.unwrap_or_default();
                for ((pair, amount), count) in pairs.zip(amounts).zip(counts) {
                    let amount: u128 = amount
                        .parse()
                        .map_err(|_| SinkError::State(format!("queued claim {amount:?}")))?;
                    let total = self.added.entry(pair).or_default();
                    total.0 = total.0.saturating_add(amount);
                    total.1 = total.1.saturating_add(count);
                }
            }
            other => {
                return Err(SinkError::State(format!(
                    "unknown state_queue kind {other:?}"
                )))
            }
        }
        Ok(())
    }
}

fn split(pairs: &BTreeSet<(String, String)>) -> (Vec<String>, Vec<String>) {
    pairs.iter().cloned().unzip()
}

/// One `state_queue` row: kind, keys, second key parts, amounts (as text), counts.
type QueueRow<'a> = (
    &'a str,
    Vec<String>,
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<Vec<i64>>,
);

/// Queues the state keys of a batch in its own transaction (see [`Keys::of_batch`]).
pub(crate) async fn queue(
    tx: &Transaction<'_>,
    keys: &BTreeSet<StateKey>,
    claims: &Claims,
) -> Result<(), SinkError> {
    let keys = Keys::of_batch(keys, claims);
    if keys.is_empty() {
        return Ok(());
    }
    const INSERT: &str = "INSERT INTO state_queue (kind, keys, keys2, amounts, counts)
        VALUES ($1, $2, $3, $4::text[]::numeric[], $5)";
    let mut rows: Vec<QueueRow> = Vec::new();
    for (table, set) in &keys.single {
        if !set.is_empty() {
            rows.push((table, set.iter().cloned().collect(), None, None, None));
        }
    }
    for (kind, pairs) in [
        ("reward_epochs", &keys.epochs),
        ("reward_claims", &keys.claims),
        ("energy", &keys.intervals),
    ] {
        if !pairs.is_empty() {
            let (a, b) = split(pairs);
            rows.push((kind, a, Some(b), None, None));
        }
    }
    if !keys.added.is_empty() {
        let mut c = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((config, epoch), (amount, count)) in &keys.added {
            c.0.push(config.clone());
            c.1.push(epoch.clone());
            c.2.push(amount.to_string());
            c.3.push(*count);
        }
        rows.push(("epoch_claims", c.0, Some(c.1), Some(c.2), Some(c.3)));
    }
    // pipelined: the statements go out together and the answers come back together
    let params: Vec<[&(dyn ToSql + Sync); 5]> = rows
        .iter()
        .map(|(kind, a, b, amounts, counts)| {
            [
                kind as &(dyn ToSql + Sync),
                a as &(dyn ToSql + Sync),
                b as &(dyn ToSql + Sync),
                amounts as &(dyn ToSql + Sync),
                counts as &(dyn ToSql + Sync),
            ]
        })
        .collect();
    futures::future::try_join_all(params.iter().map(|p| tx.execute(INSERT, p))).await?;
    Ok(())
}

/// Applies every queued state refresh through `client` (inside a transaction: the caller
/// commits) and returns the number of queue rows applied.
pub async fn apply_queued<C: GenericClient + Sync>(client: &C) -> Result<u64, SinkError> {
    let queued = client
        .query(
            "SELECT id, kind, keys, keys2, amounts::text[], counts FROM state_queue ORDER BY id",
            &[],
        )
        .await?;
    if queued.is_empty() {
        return Ok(0);
    }
    let mut keys = Keys::default();
    let mut ids = Vec::with_capacity(queued.len());
    for row in queued {
        ids.push(row.get::<_, i64>(0));
        keys.add_queued(
            row.get::<_, &str>(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
        )?;
    }
    refresh(client, &keys).await?;
    let newest = ids.iter().copied().max().unwrap_or_default();
    client
        .execute("DELETE FROM state_queue WHERE id = ANY($1)", &[&ids])
        .await?;
    client
        .execute(
            "UPDATE state_watermark SET applied = GREATEST(applied, $1), updated_at = now()
             WHERE name = 'state'",
            &[&newest],
        )
        .await?;
    Ok(u64::try_from(ids.len()).unwrap_or(u64::MAX))
}

/// Brings the state rows of `keys` up to date: each recomputed from its events, except the
/// claim totals of reward epochs not recomputed here, to which the queued claims are added
/// (summing an epoch's claims again at every refresh would cost in proportion to the
/// epoch's claims).
async fn refresh<C: GenericClient + Sync>(client: &C, keys: &Keys) -> Result<(), SinkError> {
    let calls: Vec<(String, Vec<String>)> = keys
        .single
        .iter()
        .filter(|(_, set)| !set.is_empty())
        .map(|(table, set)| {
            (
                format!("SELECT depin_refresh_{table}($1)"),
                set.iter().cloned().collect(),
            )
        })
        .collect();
    // pipelined: the statements go out together and the answers come back together
    let params: Vec<[&(dyn ToSql + Sync); 1]> = calls
        .iter()
        .map(|(_, keys)| [keys as &(dyn ToSql + Sync)])
        .collect();
    futures::future::try_join_all(
        calls
            .iter()
            .zip(&params)
            .map(|((call, _), params)| client.execute(call.as_str(), params)),
    )
    .await?;
    if !keys.epochs.is_empty() {
        let (configs, epochs) = split(&keys.epochs);
        client
            .execute(
                "SELECT depin_refresh_reward_epochs($1, $2::text[]::numeric[])",
                &[&configs, &epochs],
            )
            .await?;
    }
    let mut added = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((config, epoch), (amount, count)) in &keys.added {
        if keys.epochs.contains(&(config.clone(), epoch.clone())) {
            continue; // recomputed above, these claims included
        }
        added.0.push(config.clone());
        added.1.push(epoch.clone());
        added.2.push(amount.to_string());
        added.3.push(*count);
    }
    if !added.0.is_empty() {
        client
            .execute(
                "UPDATE reward_epochs e SET claimed = e.claimed + d.amount, claims = e.claims + d.n
                 FROM unnest($1::text[], $2::text[]::numeric[], $3::text[]::numeric[], $4::bigint[])
                      AS d(config, epoch, amount, n)
                 WHERE e.config = d.config AND e.epoch = d.epoch",
                &[&added.0, &added.1, &added.2, &added.3],
            )
            .await?;
    }
    if !keys.claims.is_empty() {
        let (configs, devices) = split(&keys.claims);
        client
            .execute(
                "SELECT depin_refresh_reward_claims($1, $2)",
                &[&configs, &devices],
            )
            .await?;
    }
    if !keys.intervals.is_empty() {
        let (markets, intervals) = split(&keys.intervals);
        client
            .execute(
                "SELECT depin_refresh_energy($1, $2::text[]::numeric[])",
                &[&markets, &intervals],
            )
            .await?;
    }
    Ok(())
}

/// The state refresher: applies the queue on its own connection, woken after each commit.
pub struct Refresher {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), SinkError>>>,
}

impl Refresher {
    /// Connects to `url` and starts refreshing: first what is still queued (after a crash
    /// or a restart), then whenever woken ([`Refresher::waker`]). Time spent and queue rows
    /// applied are counted in `metrics`.
    pub async fn spawn(url: &str, metrics: Arc<Metrics>) -> Result<Refresher, SinkError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "state refresher: postgres connection closed");
            }
        });
        configure_session(&client, "state").await?;
        let wake = Arc::new(Notify::new());
        let (stop, mut stopped) = watch::channel(false);
        let woken = Arc::clone(&wake);
        let task = tokio::spawn(async move {
            let mut client = client;
            let outcome = async {
                loop {
                    // one refresh applies everything committed before its snapshot; a
                    // commit after it notifies `wake` after committing, which leaves a
                    // permit if it lands before the wait below, so nothing is missed
                    refresh_once(&mut client, &metrics).await?;
                    if *stopped.borrow() {
                        // the stop came after the last commit, but the refresh above may
                        // have taken its snapshot before that commit: one more sees it
                        refresh_once(&mut client, &metrics).await?;
                        return Ok(());
                    }
                    tokio::select! {
                        _ = woken.notified() => {}
                        _ = stopped.changed() => {}
                    }
                }
            }
            .await;
            drop(client);
            let _ = connection.await;
            outcome
        });
        Ok(Refresher {
            wake,
            stop,
            task: Some(task),
        })
    }

    /// Wakes the refresher: a commit queued state keys.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Resolves when the refresher has failed, with its error (never while it runs well).
    pub async fn failure(&mut self) -> SinkError {
        let Some(task) = self.task.as_mut() else {
            return std::future::pending().await;
        };
        let outcome = task.await;
        self.task = None;
        match outcome {
            Ok(Err(e)) => e,
            Ok(Ok(())) => std::future::pending().await,
            Err(e) => SinkError::State(format!("the refresher task ended: {e}")),
        }
    }

    /// Applies what is queued, then stops and closes its connection.
    pub async fn close(mut self) -> Result<(), SinkError> {
        let _ = self.stop.send(true);
        self.wake.notify_one();
        match self.task.take() {
            Some(task) => match task.await {
                Ok(outcome) => outcome,
                Err(e) => Err(SinkError::State(format!("the refresher task ended: {e}"))),
            },
            None => Ok(()),
        }
    }
}

/// Begins a state refresh on `client`: a REPEATABLE READ transaction (the refresh reads
/// one snapshot) whose first statement locks the tallies of retired events in SHARE mode.
///
/// A retirement locks them too, before anything else (`depin_retire_segments`, V19), and
/// the two modes conflict, so a refresh and a retirement never overlap. `LOCK` takes no
/// snapshot: the refresh's snapshot comes from its first query, after any retirement in
/// progress has committed. Without it, a retirement committing after the snapshot but
/// before the refresh read the segment's event table left the refresh reading the tallies
/// without the segment's rows and the event table without the segment (a dropped child
/// leaves the catalog, which no snapshot keeps), and the state row it wrote missed them.
pub async fn begin_refresh(
    client: &mut tokio_postgres::Client,
) -> Result<Transaction<'_>, SinkError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await?;
    tx.batch_execute(
        "LOCK TABLE deal_tallies, reward_claim_tallies, reward_epoch_tallies IN SHARE MODE",
    )
    .await?;
    Ok(tx)
}

/// One refresh transaction (retried when it meets a concurrent update of the same rows);
/// returns the number of queue rows applied.
async fn refresh_once(
    client: &mut tokio_postgres::Client,
    metrics: &Metrics,
) -> Result<u64, SinkError> {
    let mut attempt = 0u32;
    loop {
        let started = Instant::now();
        let outcome = async {
            let tx = begin_refresh(client).await?;
            let applied = apply_queued(&tx).await?;
            tx.commit().await?;
            Ok::<_, SinkError>(applied)
        }
        .await;
        match outcome {
            Ok(applied) => {
                if applied > 0 {
                    let took = started.elapsed();
                    metrics.state_refresh_micros.fetch_add(
                        u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    metrics
                        .state_queue_applied
                        .fetch_add(applied, Ordering::Relaxed);
                    tracing::debug!(
                        applied,
                        state_ms = took.as_millis() as u64,
                        "state refreshed"
                    );
                }
                return Ok(applied);
            }
            Err(SinkError::Postgres(e))
                if attempt < 10
                    && matches!(
                        e.code(),
                        Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                            | Some(&SqlState::T_R_DEADLOCK_DETECTED)
                    ) =>
            {
                attempt += 1;
                tracing::info!(attempt, error = %e, "state refresh met a concurrent update; retrying");
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
}
