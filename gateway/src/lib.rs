//! # Gateway outbox
//!
//! A gateway signs its devices' telemetry and sends it to the telemetry service. Uplinks
//! fail and gateways restart, so every report goes through a durable [`Outbox`] first: an
//! embedded `redb` database on the gateway's disk.
//!
//! - [`Outbox::record`] numbers the device's report (its counter, kept in the same file, one
//!   above the last), signs it with the device key and stores it, in one durable write
//!   transaction: a report signed is a report kept, across crashes and restarts, and a
//!   counter is never reused.
//! - [`Outbox::deliver`] sends what is pending, oldest first, in batches over an
//!   [`Uplink`], and forgets a report only once the service answered for it:
//!   - accepted: delivered;
//!   - refused as a `replay`: an earlier attempt was stored and its answer lost, so it was
//!     delivered already;
//!   - refused for another reason (stale after a very long cut, the device suspended, ...):
//!     moved to the dead letters with the reason, never dropped silently.
//!
//!   If the uplink is down, nothing is forgotten; the next call sends it again.
//!
//! Each report is stored by the service exactly once: at most once because the service
//! refuses any counter at or below the device's last accepted one (in the same database
//! transaction that stores the report), at least once because the outbox keeps a report
//! until the service has answered for it.

use std::path::Path;
use std::time::Duration;

use depin_sdk::telemetry::{Metrics, Report, WireBatch, WireReport};
use depin_sdk::Pubkey;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Pending reports: sequence number -> the signed report (JSON wire form).
const PENDING: TableDefinition<u64, &[u8]> = TableDefinition::new("pending");
/// Last counter per (network, device key): 64 bytes -> counter.
const COUNTERS: TableDefinition<&[u8], u64> = TableDefinition::new("counters");
/// Reports the service refused for good: sequence number -> [`DeadLetter`] (JSON).
const DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("dead");
/// The next sequence number, under [`NEXT_SEQ`].
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_SEQ: &str = "next_seq";

/// Most reports per request (the service takes up to 1,000).
pub const BATCH: usize = 500;

/// What can go wrong with the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The embedded database failed (disk full, corrupted file, ...).
    #[error("outbox store: {0}")]
    Store(#[from] redb::Error),
    /// A stored entry does not decode (the file was written by something else).
    #[error("outbox entry {seq}: {reason}")]
    Corrupt {
        /// Its sequence number.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// A device's counter reached `u64::MAX`.
    #[error("device {0}: counter exhausted")]
    CounterExhausted(Pubkey),
    /// The service answered something that is not an answer to the batch sent.
    #[error("telemetry service: {0}")]
    BadAnswer(String),
    /// The gateway's name is one the service refuses.
    #[error("{0}")]
    BadGatewayName(#[from] depin_sdk::telemetry::GatewayNameError),
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for OutboxError {
            fn from(e: $t) -> Self {
                OutboxError::Store(e.into())
            }
        }
    )*};
}
store_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A report the service refused for good, kept for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its sequence number in the outbox.
    pub seq: u64,
    /// The report as sent.
    pub report: WireReport,
    /// The service's reason, by name (`stale`, `not_active`, ...).
    pub kind: String,
    /// The service's reason, in words.
    pub error: String,
}

/// The result of one [`Outbox::deliver`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Reports the service accepted now.
    pub accepted: usize,
    /// Reports it had stored already (refused as replays: an earlier answer was lost).
    pub already_stored: usize,
    /// Reports it refused for good (now dead letters).
    pub dead: usize,
    /// Reports still pending.
    pub pending: usize,
    /// Why delivery stopped early (the uplink is down), if it did.
    pub interrupted: Option<String>,
}

/// The way to the telemetry service.
#[derive(Debug, Clone)]
pub struct Uplink {
    http: reqwest::Client,
    url: String,
    gateway: String,
}

impl Uplink {
    /// The service at `base_url` (e.g. `http://127.0.0.1:8080`), for the gateway named
    /// `gateway` (a name [`depin_sdk::telemetry::check_gateway_name`] accepts, else
    /// [`OutboxError::BadGatewayName`]); a request that takes longer than `timeout` counts as
    /// a cut uplink.
    pub fn new(base_url: &str, gateway: &str, timeout: Duration) -> Result<Self, OutboxError> {
        depin_sdk::telemetry::check_gateway_name(gateway)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| OutboxError::BadAnswer(format!("http client: {e}")))?;
        Ok(Uplink {
            http,
            url: format!("{}/v1/telemetry", base_url.trim_end_matches('/')),
            gateway: gateway.to_string(),
        })
    }
}

/// The service's answer to a batch.
#[derive(Debug, Deserialize)]
struct Answer {
    accepted: usize,
    rejected: Vec<Rejected>,
}

#[derive(Debug, Deserialize)]
struct Rejected {
    index: usize,
    kind: String,
    error: String,
}

/// A gateway's durable outbox (see the crate docs).
pub struct Outbox {
    db: Database,
}

fn counter_key(network: &Pubkey, device: &Pubkey) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(network.as_ref());
    key[32..].copy_from_slice(device.as_ref());
    key
}

impl Outbox {
    /// Opens the outbox file at `path`, creating it if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
        tx.open_table(PENDING)?;
        tx.open_table(COUNTERS)?;
        tx.open_table(DEAD)?;
        tx.open_table(META)?;
        tx.commit()?;
        Ok(Outbox { db })
    }

    /// Numbers, signs and stores one report of `device` (see the crate docs); returns its
    /// counter. Durable when it returns. `timestamp` is the end of the interval `metrics`
    /// covers: the telemetry service takes a device's reports only in time order, at most
    /// one a second, none stamped at or before the device's latest reinstatement, and a
    /// measuring report only if what it measured fits the time since the device's earlier
    /// ones at its class's highest rate (`depin_sdk::telemetry::Report::claim_from`); a
    /// report it refuses becomes a dead letter.
    pub fn record(
        &self,
        network: &Pubkey,
        device: &Keypair,
        timestamp: i64,
        metrics: Metrics,
    ) -> Result<u64, OutboxError> {
        let key = device.pubkey();
        let tx = self.db.begin_write()?;
        let counter = {
            let mut counters = tx.open_table(COUNTERS)?;
            let ck = counter_key(network, &key);
            let last = counters.get(ck.as_slice())?.map_or(0, |v| v.value());
            let counter = last
                .checked_add(1)
                .ok_or(OutboxError::CounterExhausted(key))?;
            counters.insert(ck.as_slice(), counter)?;
            counter
        };
        let wire = Report {
            network: *network,
            device_key: key,
            counter,
            timestamp,
            metrics,
        }
        .sign(device)
        .to_wire();
        let json = serde_json::to_vec(&wire).map_err(|e| OutboxError::Corrupt {
            seq: 0,
            reason: e.to_string(),
        })?;
        {
            let mut meta = tx.open_table(META)?;
            let seq = meta.get(NEXT_SEQ)?.map_or(0, |v| v.value());
            meta.insert(NEXT_SEQ, seq + 1)?;
            tx.open_table(PENDING)?.insert(seq, json.as_slice())?;
        }
        tx.commit()?;
        Ok(counter)
    }

    /// Reports waiting to be delivered.
    pub fn pending_len(&self) -> Result<usize, OutboxError> {
        let tx = self.db.begin_read()?;
        Ok(usize::try_from(tx.open_table(PENDING)?.len()?).unwrap_or(usize::MAX))
    }

    /// The oldest `limit` pending reports with their sequence numbers.
    pub fn pending(&self, limit: usize) -> Result<Vec<(u64, WireReport)>, OutboxError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(PENDING)?;
        let mut out = Vec::new();
        for entry in table.iter()?.take(limit) {
            let (seq, bytes) = entry?;
            let seq = seq.value();
            let report =
                serde_json::from_slice(bytes.value()).map_err(|e| OutboxError::Corrupt {
                    seq,
                    reason: e.to_string(),
                })?;
            out.push((seq, report));
        }
        Ok(out)
    }

    /// The reports the service refused for good.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, OutboxError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(DEAD)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (seq, bytes) = entry?;
            out.push(
                serde_json::from_slice(bytes.value()).map_err(|e| OutboxError::Corrupt {
                    seq: seq.value(),
                    reason: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }

    /// Sends every pending report over `uplink`, in batches of at most [`BATCH`], oldest
    /// first, until none is left or the uplink fails (then `interrupted` says why and every
    /// report not answered for stays pending).
    pub async fn deliver(&self, uplink: &Uplink) -> Result<Delivery, OutboxError> {
        let mut delivery = Delivery::default();
        loop {
            let batch = self.pending(BATCH)?;
            if batch.is_empty() {
                break;
            }
            let body = WireBatch {
                gateway: uplink.gateway.clone(),
                reports: batch.iter().map(|(_, r)| r.clone()).collect(),
            };
            let response = match uplink.http.post(&uplink.url).json(&body).send().await {
                Ok(r) => r,
                Err(e) => {
                    delivery.interrupted = Some(format!("uplink: {e}"));
                    break;
                }
            };
            let status = response.status();
            if status.is_server_error() {
                // the service is up but its database is not: try again later
                delivery.interrupted = Some(format!("telemetry service: HTTP {status}"));
                break;
            }
            if !status.is_success() {
                let text = response.text().await.unwrap_or_default();
                return Err(OutboxError::BadAnswer(format!("HTTP {status}: {text}")));
            }
            let answer: Answer = match response.json().await {
                Ok(a) => a,
                Err(e) => {
                    delivery.interrupted = Some(format!("uplink: {e}"));
                    break;
                }
            };
            let (accepted, replays, dead) = self.settle(&batch, &answer)?;
            delivery.accepted += accepted;
            delivery.already_stored += replays;
            delivery.dead += dead;
        }
        delivery.pending = self.pending_len()?;
        Ok(delivery)
    }

    /// Forgets the reports of `batch` the service answered for, moving refused ones to the
    /// dead letters, in one write transaction.
    fn settle(
        &self,
        batch: &[(u64, WireReport)],
        answer: &Answer,
    ) -> Result<(usize, usize, usize), OutboxError> {
        // every report answered for exactly once: the counts add up (an absurd count must not
        // overflow) and each refusal names a report of the batch no other refusal names
        let mut named = vec![false; batch.len()];
        let each_once = answer
            .rejected
            .iter()
            .all(|r| r.index < batch.len() && !std::mem::replace(&mut named[r.index], true));
        if !each_once || answer.accepted.checked_add(answer.rejected.len()) != Some(batch.len()) {
            return Err(OutboxError::BadAnswer(format!(
                "{} accepted and {} rejected (indices {:?}) for a batch of {}",
                answer.accepted,
                answer.rejected.len(),
                answer.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
                batch.len()
            )));
        }
        let (mut replays, mut dead) = (0, 0);
        let tx = self.db.begin_write()?;
        {
            let mut pending = tx.open_table(PENDING)?;
            let mut letters = tx.open_table(DEAD)?;
            for (seq, _) in batch {
                pending.remove(*seq)?;
            }
            for r in &answer.rejected {
                if r.kind == "replay" {
                    replays += 1;
                    continue;
                }
                let (seq, report) = &batch[r.index];
                let letter = DeadLetter {
                    seq: *seq,
                    report: report.clone(),
                    kind: r.kind.clone(),
                    error: r.error.clone(),
                };
                let json = serde_json::to_vec(&letter).map_err(|e| OutboxError::Corrupt {
                    seq: *seq,
                    reason: e.to_string(),
                })?;
                letters.insert(*seq, json.as_slice())?;
                dead += 1;
            }
        }
        tx.commit()?;
        Ok((answer.accepted, replays, dead))
    }
}
