//! # Telemetry ingest
//!
//! Gateways POST their devices' signed reports ([`depin_sdk::telemetry`]) in batches to
//! `/v1/telemetry`. A batch of more than [`MAX_BATCH`] reports is refused whole (413), as is
//! one whose gateway name [`depin_sdk::telemetry::check_gateway_name`] refuses (400: empty,
//! over 64 bytes, or holding a control character; the name is stored with every report).
//! Then each report is checked, in order:
//!
//! 1. it decodes, and the device key's signature covers it;
//! 2. its values are within what its device class can produce;
//! 3. its time is neither in the future (beyond [`Config::max_future_secs`]) nor older than
//!    [`Config::max_age_secs`] (a gateway's outbox may hold reports for a while);
//! 4. the registry knows the device key in that network and the device is active (the
//!    indexer's `devices` table, so a device suspended on chain is refused here too), and
//!    its metrics are of its network's kind (a hotspot cannot report as a storage node to
//!    leave its peers' baseline);
//! 5. its counter is above every counter accepted for the device (a replay is refused), and
//!    its time is not before the last accepted report's (a device numbers and stamps its
//!    reports in order, and a gateway sends its outbox in that order; a backdated report
//!    would land in a window the auditor has already scored), nor at its time (one report
//!    a second at most), nor at or before the device's latest reinstatement (time it spent
//!    suspended);
//! 6. what a report that measures (not a heartbeat) measured is claimed at its class's
//!    highest rate (plus 1% for drifting clocks) from where the device's earlier reports
//!    (or its reinstatement) left off, and must end by its time plus 2 s for whole-second
//!    timestamps, what runs past it carried to the next report
//!    ([`depin_sdk::telemetry::Report::claim_from`]), so reports stamped close together
//!    cannot each claim a day's worth of uptime or traffic (a device's first is bounded by
//!    the day).
//!
//! Steps 1 and 3 (and the counter's range) need no database: they run first, on a blocking
//! thread (as many batches at once as the machine has cores) and before the batch takes a
//! database connection, so forged batches never hold one, and a batch refused whole is
//! answered even while the database is down.
//!
//! The accepted reports of a batch are written in one transaction with their counters; a
//! refused report is never written, and the answer lists it with its reason. Nothing about
//! a batch is written when the database fails.
//!
//! Batches run concurrently on up to [`Config::connections`] database connections, each
//! opened when needed; a connection found closed (the server restarted, a backend was
//! terminated) is dropped and a new one opened, and a batch whose connection closed under
//! it (nothing of it written) runs once more on a new one. `GET /health` answers `ok` only
//! when a connection answers a query, else 503 with the reason.
//!
//! With [`Config::retain_secs`] set, a task deletes on a schedule the reports older than
//! that and the auditor's health rows of the windows before them ([`prune`]); `GET
//! /v1/pruning` tells how its rounds went ([`PruningStatus`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use depin_sdk::telemetry::{Metrics, SignedReport, TelemetryError, WireBatch};
use serde::Serialize;
use tokio::sync::{oneshot, watch, Semaphore, SemaphorePermit};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// Most reports in one batch.
pub const MAX_BATCH: usize = 1_000;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// PostgreSQL connection string (the indexer's database).
    pub database_url: String,
    /// Where HTTP listens.
    pub listen: SocketAddr,
    /// Oldest report accepted, in seconds before now.
    pub max_age_secs: i64,
    /// Furthest a report may be ahead of the service's clock, in seconds.
    pub max_future_secs: i64,
    /// Most database connections at once (batches beyond wait for one).
    pub connections: usize,
    /// How long reports are kept, in seconds of their own time: older ones, and the
    /// auditor's health rows of windows that ended before them, are deleted every
    /// [`Config::prune_every`]. `None` (the default) keeps everything. It must be at least
    /// [`Config::max_age_secs`] (a report still accepted is never pruned), and should
    /// cover a rewards epoch and the oracle's lag behind it: the health the oracle reads
    /// for an epoch is the mean over the epoch's windows still stored.
    pub retain_secs: Option<i64>,
    /// How often pruning runs when [`Config::retain_secs`] is set.
    pub prune_every: Duration,
}

impl Config {
    /// Defaults: a week of outbox, five minutes of clock skew, port 8900 on loopback, four
    /// database connections, every report kept (pruning, once set, every ten minutes).
    pub fn new(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8900)),
            max_age_secs: 7 * 86_400,
            max_future_secs: 300,
            connections: 4,
            retain_secs: None,
            prune_every: Duration::from_secs(600),
        }
    }
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// It does not decode, its signature is wrong, or a value is out of range.
    #[error(transparent)]
    Report(#[from] TelemetryError),
    /// Its time is outside the accepted window.
    #[error("timestamp {timestamp} outside the accepted window (now {now})")]
    Stale {
        /// The report's time.
        timestamp: i64,
        /// The service's time.
        now: i64,
    },
    /// The registry has no device with this key in this network.
    #[error("unknown device: key {device_key} in network {network}")]
    UnknownDevice {
        /// The device key.
        device_key: String,
        /// The network named.
        network: String,
    },
    /// The device is suspended or decommissioned.
    #[error("device {device} is {status}")]
    NotActive {
        /// The `Device` account.
        device: String,
        /// Its status.
        status: String,
    },
    /// The very report is already stored under its counter (an earlier attempt whose
    /// answer was lost).
    #[error("replay: counter {counter} is not above {last}, the last accepted")]
    Replay {
        /// The report's counter.
        counter: u64,
        /// The last accepted.
        last: i64,
    },
    /// The counter is not above the device's last accepted one, and the report stored
    /// under it is another: a device's counters started again (a replaced or recreated
    /// outbox), and the report must not be taken for one already stored.
    #[error(
        "counter {counter} is not above {last}, the last accepted, and another report holds it"
    )]
    CounterBehind {
        /// The report's counter.
        counter: u64,
        /// The last accepted.
        last: i64,
    },
    /// The metrics are of another kind than the device's network.
    #[error(
        "device {device} is in a {network_kind} network; its report holds {report_kind} metrics"
    )]
    WrongKind {
        /// The `Device` account.
        device: String,
        /// Its network's kind (`wireless`, `storage`, `compute`, `energy`).
        network_kind: String,
        /// The report's metrics kind.
        report_kind: &'static str,
    },
    /// The report's time is not after the device's last accepted report's: a device stamps
    /// its reports in order, at most one a second.
    #[error("backdated: timestamp {timestamp} is not after {last}, the last accepted report's")]
    Backdated {
        /// The report's time.
        timestamp: i64,
        /// The time it had to follow.
        last: i64,
    },
    /// The report is stamped at or before the device's latest reinstatement: it covers
    /// time the device spent suspended (its reports refused then), and would otherwise
    /// slip in afterwards.
    #[error("timestamp {timestamp} is not after the device's reinstatement at {reinstated}")]
    BeforeReinstatement {
        /// The report's time.
        timestamp: i64,
        /// The reinstatement's time (`DeviceStatusChanged`).
        reinstated: i64,
    },
    /// What the report measured, at its class's highest rate, does not fit the time since
    /// the device's earlier reports' claims ([`depin_sdk::telemetry::Report::claim_from`]):
    /// many reports stamped close together, each claiming as much as a long interval could
    /// hold.
    #[error("overreported: {0}")]
    Overreported(TelemetryError),
}

impl Refusal {
    /// A stable name for the reason, for machines (`invalid`, `stale`, `unknown_device`,
    /// `not_active`, `replay`, `counter_behind`, `wrong_kind`, `backdated`,
    /// `before_reinstatement`, `overreported`). `replay` is
    /// answered only for the very report stored under its counter: a gateway that sees it
    /// for a report it sent knows an earlier attempt was stored (its answer was lost), and
    /// may forget it; any other refusal is for it to keep as a dead letter.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Report(_) => "invalid",
            Refusal::Stale { .. } => "stale",
            Refusal::UnknownDevice { .. } => "unknown_device",
            Refusal::NotActive { .. } => "not_active",
            Refusal::Replay { .. } => "replay",
            Refusal::CounterBehind { .. } => "counter_behind",
            Refusal::WrongKind { .. } => "wrong_kind",
            Refusal::Backdated { .. } => "backdated",
            Refusal::BeforeReinstatement { .. } => "before_reinstatement",
            Refusal::Overreported(_) => "overreported",
        }
    }
}

/// Why a batch could not be processed at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The database failed; nothing of the batch was written.
    #[error("database: {}", depin_indexer::sink::pg_message(.0))]
    Database(#[from] tokio_postgres::Error),
    /// The batch is larger than [`MAX_BATCH`].
    #[error("batch of {0} reports exceeds {MAX_BATCH}")]
    TooLarge(usize),
    /// The batch's gateway name is refused (empty, longer than
    /// [`depin_sdk::telemetry::MAX_GATEWAY_NAME_LEN`] bytes, or holding a control
    /// character): nothing of the batch is stored.
    #[error("{0}")]
    BadGateway(#[from] depin_sdk::telemetry::GatewayNameError),
    /// The migrations could not be applied.
    #[error("migrations: {0}")]
    Migrations(String),
    /// The HTTP port could not be bound.
    #[error("listen: {0}")]
    Listen(String),
    /// The database URL does not parse.
    #[error("database url: {0}")]
    DatabaseUrl(String),
    /// The service is stopping: no connection is handed out any more.
    #[error("stopping: {0}")]
    Closing(String),
    /// The configuration contradicts itself.
    #[error("configuration: {0}")]
    Config(String),
    /// The task checking a batch's signatures ended without an answer (it panicked or the
    /// runtime is shutting down): nothing of the batch was written.
    #[error("verifying the batch: {0}")]
    Verify(String),
}

/// One refused report of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Its position in the batch.
    pub index: usize,
    /// Why, by name ([`Refusal::kind`]).
    pub kind: &'static str,
    /// Why, in words.
    pub error: String,
}

/// The answer to a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Reports stored.
    pub accepted: usize,
    /// Reports refused, with their reasons.
    pub rejected: Vec<Rejected>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The columns of a report's metrics: kind, then uptime, bytes, latency, answered, missed,
/// produced, consumed (each `None` where the kind has no such value).
type Columns = (&'static str, [Option<i64>; 7]);

fn columns(metrics: &Metrics) -> Columns {
    let n = |v: u64| Some(i64::try_from(v).unwrap_or(i64::MAX));
    match metrics {
        Metrics::Heartbeat => ("heartbeat", [None; 7]),
        Metrics::Wireless {
            uptime_secs,
            bytes_served,
            latency_ms,
        } => (
            "wireless",
            [
                n((*uptime_secs).into()),
                n(*bytes_served),
                n((*latency_ms).into()),
                None,
                None,
                None,
                None,
            ],
        ),
        Metrics::Storage {
            uptime_secs,
            proofs_answered,
            proofs_missed,
        } => (
            "storage",
            [
                n((*uptime_secs).into()),
                None,
                None,
                n((*proofs_answered).into()),
                n((*proofs_missed).into()),
                None,
                None,
            ],
        ),
        Metrics::Energy {
            produced_wh,
            consumed_wh,
        } => (
            "energy",
            [
                None,
                None,
                None,
                None,
                None,
                n(*produced_wh),
                n(*consumed_wh),
            ],
        ),
    }
}

/// Checks and stores `batch` (see the crate docs), in one database transaction.
pub async fn ingest(
    client: &mut Client,
    batch: &WireBatch,
    config: &Config,
) -> Result<Outcome, IngestError> {
    check_batch(batch)?;
    let verified = verify_batch(batch, unix_now(), config);
    store(client, batch, &verified).await
}

/// Each report of a batch decoded and checked on its own, with no database: its
/// signature, its time window, its counter's range. CPU work (up to [`MAX_BATCH`] Ed25519
/// verifications), done before the batch takes a database connection, so batches of bad
/// signatures cannot hold the pool's connections while they are checked.
fn verify_batch(batch: &WireBatch, now: i64, config: &Config) -> Vec<Result<Verified, Refusal>> {
    batch
        .reports
        .iter()
        .map(|wire| verify(wire, now, config))
        .collect()
}

/// The answer's entry for report `index`, refused for `refusal`.
fn rejected(index: usize, refusal: &Refusal) -> Rejected {
    Rejected {
        index,
        kind: refusal.kind(),
        error: refusal.to_string(),
    }
}

/// A report whose signature, time and counter passed ([`verify`]).
#[derive(Debug, Clone)]
struct Verified {
    signed: SignedReport,
    /// Its counter as stored (at most `i64::MAX`).
    counter: i64,
}

/// One report's checks that need no database.
fn verify(
    wire: &depin_sdk::telemetry::WireReport,
    now: i64,
    config: &Config,
) -> Result<Verified, Refusal> {
    let signed = SignedReport::from_wire(wire).and_then(|s| s.verify().map(|()| s))?;
    let report = &signed.report;
    if report.timestamp > now.saturating_add(config.max_future_secs)
        || report.timestamp < now.saturating_sub(config.max_age_secs)
    {
        return Err(Refusal::Stale {
            timestamp: report.timestamp,
            now,
        });
    }
    let counter = i64::try_from(report.counter).map_err(|_| {
        Refusal::Report(TelemetryError::OutOfRange(format!(
            "counter {} exceeds {}",
            report.counter,
            i64::MAX
        )))
    })?;
    Ok(Verified { signed, counter })
}

/// What refuses a batch whole, before any database work: its size and its gateway name.
fn check_batch(batch: &WireBatch) -> Result<(), IngestError> {
    if batch.reports.len() > MAX_BATCH {
        return Err(IngestError::TooLarge(batch.reports.len()));
    }
    depin_sdk::telemetry::check_gateway_name(&batch.gateway)?;
    Ok(())
}

/// Checks against the database each report of a batch [`check_batch`] passed that
/// [`verify_batch`] verified (`verified`, in the batch's order) and stores the good ones,
/// in one database transaction.
async fn store(
    client: &mut Client,
    batch: &WireBatch,
    verified: &[Result<Verified, Refusal>],
) -> Result<Outcome, IngestError> {
    let tx = client.transaction().await?;
    let mut outcome = Outcome {
        accepted: 0,
        rejected: Vec::new(),
    };
    for (index, (wire, verified)) in batch.reports.iter().zip(verified).enumerate() {
        let refused = |refusal: &Refusal| rejected(index, refusal);
        let checked = match verified {
            Ok(verified) => check(&tx, verified, &wire.signature)
                .await?
                .map(|accepted| (verified, accepted))
                .map_err(|refusal| refused(&refusal)),
            Err(refusal) => Err(refused(refusal)),
        };
        match checked {
            Ok((
                Verified {
                    signed, counter, ..
                },
                Accepted {
                    device,
                    claimed_through,
                },
            )) => {
                let report = &signed.report;
                let key = report.device_key.to_string();
                let counter = *counter;
                let (kind, values) = columns(&report.metrics);
                tx.execute(
                    "INSERT INTO telemetry (device_key, counter, network, device, unix_ts, gateway,
                        kind, uptime_secs, bytes_served, latency_ms, proofs_answered,
                        proofs_missed, produced_wh, consumed_wh, signature)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    &[
                        &key,
                        &counter,
                        &report.network.to_string(),
                        &device,
                        &report.timestamp,
                        &batch.gateway,
                        &kind,
                        &values[0],
                        &values[1],
                        &values[2],
                        &values[3],
                        &values[4],
                        &values[5],
                        &values[6],
                        &wire.signature,
                    ],
                )
                .await?;
                // a heartbeat leaves the claimed-through time as it was
                tx.execute(
                    "INSERT INTO telemetry_counters
                         (network, device_key, last_counter, last_ts, claimed_through_ts)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (network, device_key)
                     DO UPDATE SET last_counter = EXCLUDED.last_counter,
                                   last_ts = EXCLUDED.last_ts,
                                   claimed_through_ts = COALESCE(
                                       EXCLUDED.claimed_through_ts,
                                       telemetry_counters.claimed_through_ts)",
                    &[
                        &report.network.to_string(),
                        &key,
                        &counter,
                        &report.timestamp,
                        &claimed_through,
                    ],
                )
                .await?;
                outcome.accepted += 1;
            }
            Err(rejected) => outcome.rejected.push(rejected),
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

/// A verified report's checks against the database (its device, kind, counter and time
/// against the last stored, what it measured against the device's earlier claims;
/// `signature`, as it came, tells a replay of the stored report from another under its
/// counter); `Ok(Ok(_))` when it may be stored, `Ok(Err(_))` a refusal, `Err(_)` a
/// database failure.
async fn check(
    tx: &tokio_postgres::Transaction<'_>,
    verified: &Verified,
    signature: &str,
) -> Result<Result<Accepted, Refusal>, tokio_postgres::Error> {
    let (report, counter) = (&verified.signed.report, verified.counter);
    let key = report.device_key.to_string();
    let network = report.network.to_string();
    // the device, its network's kind and when it was last reinstated (its latest change
    // to active, if any)
    let row = tx
        .query_opt(
            "SELECT d.device, d.status, n.kind, depin_reinstated_ts(d.device) FROM devices d
             JOIN networks n ON n.network = d.network
             WHERE d.device_key = $1 AND d.network = $2",
            &[&key, &network],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Err(Refusal::UnknownDevice {
            device_key: key,
            network,
        }));
    };
    let (device, status, network_kind, reinstated): (String, String, String, Option<i64>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if status != "active" {
        return Ok(Err(Refusal::NotActive { device, status }));
    }
    let report_kind = columns(&report.metrics).0;
    if report_kind != "heartbeat" && report_kind != network_kind {
        return Ok(Err(Refusal::WrongKind {
            device,
            network_kind,
            report_kind,
        }));
    }
    // the device's counter row, locked until the batch commits (concurrent batches of the
    // same device wait here rather than both accepting one counter)
    tx.execute(
        "INSERT INTO telemetry_counters (network, device_key, last_counter) VALUES ($1, $2, -1)
         ON CONFLICT (network, device_key) DO NOTHING",
        &[&network, &key],
    )
    .await?;
    let (last, last_ts, claimed_through): (i64, Option<i64>, Option<i64>) = tx
        .query_one(
            "SELECT last_counter, last_ts, claimed_through_ts FROM telemetry_counters
             WHERE network = $1 AND device_key = $2 FOR UPDATE",
            &[&network, &key],
        )
        .await
        .map(|row| (row.get(0), row.get(1), row.get(2)))?;
    if counter <= last {
        // the very report stored before (its answer lost), or another under a counter
        // already used (the device's counters started again): only the first is a replay
        let stored: Option<String> = tx
            .query_opt(
                "SELECT signature FROM telemetry
                 WHERE network = $1 AND device_key = $2 AND counter = $3",
                &[&network, &key, &counter],
            )
            .await?
            .map(|row| row.get(0));
        return Ok(Err(if stored.as_deref() == Some(signature) {
            Refusal::Replay {
                counter: report.counter,
                last,
            }
        } else {
            Refusal::CounterBehind {
                counter: report.counter,
                last,
            }
        }));
    }
    // one report a second at most, in time order
    if let Some(last) = last_ts.filter(|last| report.timestamp <= *last) {
        return Ok(Err(Refusal::Backdated {
            timestamp: report.timestamp,
            last,
        }));
    }
    if let Some(reinstated) = reinstated.filter(|r| report.timestamp <= *r) {
        return Ok(Err(Refusal::BeforeReinstatement {
            timestamp: report.timestamp,
            reinstated,
        }));
    }
    // what a measuring report measured is claimed at its class's highest rate from where
    // the device's earlier ones (or its reinstatement) left off, and must end by its time
    // (a device's first is bounded by the day, `check_ranges`); a heartbeat claims nothing
    let claimed_through = if report_kind == "heartbeat" {
        None
    } else {
        match claimed_through.max(reinstated) {
            Some(from) => match report.claim_from(from) {
                Ok(through) => Some(through),
                Err(e) => return Ok(Err(Refusal::Overreported(e))),
            },
            None => Some(report.timestamp),
        }
    };
    Ok(Ok(Accepted {
        device,
        claimed_through,
    }))
}

/// A report [`check`] accepted.
struct Accepted {
    /// The `Device` account.
    device: String,
    /// The device's claimed-through time after a measuring report
    /// ([`depin_sdk::telemetry::Report::claim_from`]); `None` for a heartbeat.
    claimed_through: Option<i64>,
}

/// Rows deleted by one [`prune`] (or, in [`PruningStatus`], by every scheduled round).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Reports (`telemetry`).
    pub reports: u64,
    /// The auditor's health rows (`audit_health`).
    pub health: u64,
}

/// Rows deleted per statement: each chunk is its own short transaction, so pruning a large
/// backlog never holds its locks for long.
const PRUNE_CHUNK: i64 = 10_000;

/// Deletes the reports stamped before `before` (unix seconds) and the auditor's health rows
/// of windows that ended before it, network by network through the tables' `(network, time)`
/// indexes, in chunks of [`PRUNE_CHUNK`]. The counters stay: a replayed report is still
/// refused by its counter (and by its age: see [`Config::retain_secs`]).
pub async fn prune(client: &Client, before: i64) -> Result<Pruned, IngestError> {
    let networks: Vec<String> = client
        .query(
            "SELECT network FROM telemetry_counters UNION SELECT network FROM networks",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    // one chunk of one network's rows older than `before`, prepared once for every network
    let delete = |table: &str, time: &str| {
        format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM {table} WHERE network = $1 AND {time} < $2 LIMIT $3))"
        )
    };
    let reports = client.prepare(&delete("telemetry", "unix_ts")).await?;
    let health = client.prepare(&delete("audit_health", "window_to")).await?;
    let mut pruned = Pruned::default();
    for network in &networks {
        for (delete, total) in [
            (&reports, &mut pruned.reports),
            (&health, &mut pruned.health),
        ] {
            loop {
                let deleted = client
                    .execute(delete, &[network, &before, &PRUNE_CHUNK])
                    .await?;
                *total += deleted;
                if deleted < PRUNE_CHUNK.unsigned_abs() {
                    break;
                }
            }
        }
    }
    Ok(pruned)
}

/// How the scheduled pruning has gone, as `GET /v1/pruning` answers it: a failing round
/// leaves ingestion working (so `/health` stays `ok`) while the tables grow, which this is
/// for an operator to see and alert on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruningStatus {
    /// [`Config::retain_secs`]: `None` when nothing is pruned.
    pub retain_secs: Option<i64>,
    /// Rounds run since the service started, failed ones included.
    pub rounds: u64,
    /// Rounds that failed since the service started.
    pub failed_rounds: u64,
    /// Rounds that failed since the last one that succeeded (0 when the last succeeded).
    pub failures_in_a_row: u64,
    /// When the last successful round ended (unix seconds).
    pub last_success_unix: Option<i64>,
    /// The last failed round's error, until a round succeeds.
    pub last_error: Option<String>,
    /// Rows deleted since the service started.
    pub pruned: Pruned,
}

impl PruningStatus {
    /// Counts one round's outcome, ended at `now` (unix seconds).
    fn record(&mut self, outcome: Result<Pruned, String>, now: i64) {
        self.rounds = self.rounds.saturating_add(1);
        match outcome {
            Ok(pruned) => {
                self.failures_in_a_row = 0;
                self.last_success_unix = Some(now);
                self.last_error = None;
                self.pruned.reports = self.pruned.reports.saturating_add(pruned.reports);
                self.pruned.health = self.pruned.health.saturating_add(pruned.health);
            }
            Err(error) => {
                self.failed_rounds = self.failed_rounds.saturating_add(1);
                self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
                self.last_error = Some(error);
            }
        }
    }
}

/// Prunes every `config.prune_every` what is older than `config.retain_secs`, until
/// `stopped`; a failed round is reported (on stderr and in [`PruningStatus`]) and the next
/// one tries again.
async fn prune_on_schedule(shared: Arc<Shared>, keep: i64, mut stopped: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(shared.config.prune_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => return,
        }
        let round = async {
            let mut lease = shared.pool.get_open().await?;
            let Some(client) = lease.client() else {
                return Err(IngestError::Closing("no connection".into()));
            };
            prune(client, unix_now().saturating_sub(keep)).await
        };
        tokio::select! {
            result = round => {
                if let Err(e) = &result {
                    eprintln!("telemetry: pruning failed, trying again in {:?}: {e}", shared.config.prune_every);
                }
                shared
                    .pruning_status()
                    .record(result.map_err(|e| e.to_string()), unix_now());
            }
            _ = stopped.changed() => return,
        }
    }
}

/// The service's database connections: at most `Config::connections` in use at once, each
/// opened when first needed and kept while it stays open; one found closed is dropped, so a
/// restarted server is reconnected to at the next request.
struct Pool {
    config: tokio_postgres::Config,
    idle: std::sync::Mutex<Vec<Client>>,
    permits: Semaphore,
}

/// A connection taken from the [`Pool`], given back on drop while it is open.
struct Lease<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    fn new(config: tokio_postgres::Config, size: usize) -> Pool {
        Pool {
            config,
            idle: std::sync::Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        // a panic while holding this lock leaves a plain list of clients: still usable
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An open connection: an idle one, or a new one.
    async fn get(&self) -> Result<Lease<'_>, IngestError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| IngestError::Closing(e.to_string()))?;
        let idle = loop {
            match self.idle().pop() {
                Some(client) if client.is_closed() => continue,
                other => break other,
            }
        };
        let client = match idle {
            Some(client) => client,
            None => self.connect().await?,
        };
        Ok(Lease {
            pool: self,
            client: Some(client),
            _permit: permit,
        })
    }

    /// An open connection, as [`Pool::get`] gives, renewed should it have closed since
    /// it was last used (checked before the caller's first statement).
    async fn get_open(&self) -> Result<Lease<'_>, IngestError> {
        let mut lease = self.get().await?;
        if lease.is_closed() {
            self.renew(&mut lease).await?;
        }
        Ok(lease)
    }

    /// A new connection, in place of `lease`'s closed one.
    async fn renew(&self, lease: &mut Lease<'_>) -> Result<(), tokio_postgres::Error> {
        lease.client = Some(self.connect().await?);
        Ok(())
    }

    async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }
}

impl Lease<'_> {
    fn client(&mut self) -> Option<&mut Client> {
        self.client.as_mut()
    }

    fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed()) {
            self.pool.idle().push(client);
        }
    }
}

struct Shared {
    pool: Pool,
    /// Batches whose signatures are being checked at once: as many as the machine has
    /// cores, so forged batches queue here instead of taking every blocking thread.
    verifying: tokio::sync::Semaphore,
    /// Shared with each batch's verification (on a blocking thread), not copied for it.
    config: Arc<Config>,
    pruning: std::sync::Mutex<PruningStatus>,
}

impl Shared {
    /// The pruning status, locked (a panic while it was held cannot leave it half-written:
    /// [`PruningStatus::record`] does not panic, so a poisoned lock still holds a whole one).
    fn pruning_status(&self) -> std::sync::MutexGuard<'_, PruningStatus> {
        self.pruning
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Ingests `batch` on a pooled connection: once more on a new connection when the one it
/// ran on turns out closed (its transaction never committed, so nothing of it was written),
/// and again when the database chose it as a deadlock's victim (two batches locking the
/// same devices' counters in opposite orders) or failed it on a serialization conflict.
async fn ingest_pooled(shared: &Shared, batch: Arc<WireBatch>) -> Result<Outcome, IngestError> {
    // refused whole before it waits for a connection (or gets a 503 while the database is
    // down, which a gateway retries)
    check_batch(&batch)?;
    // the signatures checked before the batch takes a connection, on a blocking thread:
    // batches of bad signatures neither hold the pool nor stall the runtime
    let verified = {
        let _turn = shared
            .verifying
            .acquire()
            .await
            .map_err(|e| IngestError::Verify(e.to_string()))?;
        let (batch, config) = (Arc::clone(&batch), Arc::clone(&shared.config));
        tokio::task::spawn_blocking(move || verify_batch(&batch, unix_now(), &config))
            .await
            .map_err(|e| IngestError::Verify(e.to_string()))?
    };
    if verified.iter().all(Result::is_err) {
        // nothing to look up or store: answered without a connection, even while the
        // database is down
        return Ok(Outcome {
            accepted: 0,
            rejected: verified
                .iter()
                .enumerate()
                .filter_map(|(index, v)| v.as_ref().err().map(|r| rejected(index, r)))
                .collect(),
        });
    }
    let mut lease = shared.pool.get().await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(client) = lease.client() else {
            shared.pool.renew(&mut lease).await?;
            continue;
        };
        let outcome = store(client, &batch, &verified).await;
        match outcome {
            Err(IngestError::Database(e)) if attempt < 3 => {
                if lease.is_closed() {
                    shared.pool.renew(&mut lease).await?;
                } else if !matches!(
                    e.code(),
                    Some(&SqlState::T_R_DEADLOCK_DETECTED)
                        | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                ) {
                    return Err(IngestError::Database(e));
                }
            }
            other => return other,
        }
    }
}

async fn post_batch(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<WireBatch>, axum::extract::rejection::JsonRejection>,
) -> (StatusCode, Json<serde_json::Value>) {
    let Json(batch) = match body {
        Ok(batch) => batch,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": format!("malformed batch: {}", e.body_text())})),
            )
        }
    };
    match ingest_pooled(&shared, Arc::new(batch)).await {
        Ok(outcome) => (
            StatusCode::OK,
            Json(serde_json::to_value(outcome).unwrap_or_default()),
        ),
        Err(e) => {
            let status = match e {
                IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                IngestError::BadGateway(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            (status, Json(serde_json::json!({"error": e.to_string()})))
        }
    }
}

/// `ok` when a pooled connection answers a query within two seconds, else 503 with why.
async fn health(State(shared): State<Arc<Shared>>) -> (StatusCode, String) {
    let check = async {
        let mut lease = shared.pool.get_open().await?;
        if let Some(client) = lease.client() {
            client.simple_query("SELECT 1").await?;
        }
        Ok::<(), IngestError>(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), check).await {
        Ok(Ok(())) => (StatusCode::OK, "ok".into()),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database: no answer within 2 s".into(),
        ),
    }
}

/// The scheduled pruning's [`PruningStatus`], as JSON.
async fn pruning_report(State(shared): State<Arc<Shared>>) -> Json<PruningStatus> {
    Json(shared.pruning_status().clone())
}

/// A running service.
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
    /// Stops the pruning task (when [`Config::retain_secs`] is set).
    stop_pruning: watch::Sender<bool>,
    pruning: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits for the ones in flight.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.stop_pruning.send(true);
        let _ = (&mut self.handle).await;
        if let Some(pruning) = self.pruning.take() {
            let _ = pruning.await;
        }
    }
}

/// Connects to the database (applying the migrations the indexer applies, so the tables
/// exist whichever starts first) and serves until [`Running::stop`].
pub async fn serve(config: Config) -> Result<Running, IngestError> {
    if let Some(keep) = config.retain_secs {
        if keep < config.max_age_secs {
            return Err(IngestError::Config(format!(
                "reports kept {keep} s, less than the {} s a report is accepted for",
                config.max_age_secs
            )));
        }
        if config.prune_every.is_zero() {
            return Err(IngestError::Config("pruning every 0 s".into()));
        }
    }
    let mut database: tokio_postgres::Config = config
        .database_url
        .parse()
        .map_err(|e: tokio_postgres::Error| IngestError::DatabaseUrl(e.to_string()))?;
    database.application_name("depin-telemetry");
    let pool = Pool::new(database, config.connections);
    {
        let mut lease = pool.get().await?;
        let Some(client) = lease.client() else {
            return Err(IngestError::Migrations("no connection".into()));
        };
        depin_indexer::sink::migrate(client, None)
            .await
            .map_err(|e| IngestError::Migrations(e.to_string()))?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| IngestError::Listen(format!("{}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| IngestError::Listen(e.to_string()))?;
    let pruning = std::sync::Mutex::new(PruningStatus {
        retain_secs: config.retain_secs,
        ..PruningStatus::default()
    });
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let shared = Arc::new(Shared {
        pool,
        verifying: tokio::sync::Semaphore::new(cores),
        config: Arc::new(config),
        pruning,
    });
    let (stop_pruning, pruning_stopped) = watch::channel(false);
    let pruning = shared.config.retain_secs.map(|keep| {
        tokio::spawn(prune_on_schedule(
            Arc::clone(&shared),
            keep,
            pruning_stopped,
        ))
    });
    let app = Router::new()
        .route("/v1/telemetry", post(post_batch))
        .route("/health", get(health))
        .route("/v1/pruning", get(pruning_report))
        .layer(DefaultBodyLimit::max(4 << 20))
        .with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Running {
        addr,
        stop: Some(stop),
        handle,
        stop_pruning,
        pruning,
    })
}
