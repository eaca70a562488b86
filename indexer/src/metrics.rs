//! Prometheus metrics and the health endpoint.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// Counters and gauges the indexer updates as it runs.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Highest slot seen on the stream.
    pub tip_slot: AtomicU64,
    /// Last checkpointed slot.
    pub checkpoint_slot: AtomicU64,
    /// Event rows inserted.
    pub rows_written: AtomicU64,
    /// Transactions indexed (new ones).
    pub transactions: AtomicU64,
    /// Transactions recovered over JSON-RPC.
    pub backfilled: AtomicU64,
    /// Batches committed.
    pub batches: AtomicU64,
    /// Reconnects to the gRPC endpoint.
    pub reconnects: AtomicU64,
    /// Decode failures recorded.
    pub decode_failures: AtomicU64,
    /// Dead slots removed.
    pub dead_slots: AtomicU64,
    /// 1 while the stream is connected.
    pub connected: AtomicU64,
    /// Unix seconds of the last commit.
    pub last_commit_unix: AtomicU64,
    /// Microseconds the state refresher spent in its transactions.
    pub state_refresh_micros: AtomicU64,
    /// `state_queue` rows the state refresher applied.
    pub state_queue_applied: AtomicU64,
    /// Event segments retired (dropped or detached) by retention.
    pub event_segments_retired: AtomicU64,
    /// Event segments wholly past the kept slots but still attached after the last prune:
    /// held back by a row not settled yet, or in use at that prune.
    pub event_segments_past_retention: AtomicU64,
    /// Slots below the newest finalized slot still only processed or confirmed at the last
    /// prune (their ancestry never resolved; see `Sink::unjudged_slots`).
    pub slots_unjudged: AtomicU64,
    rate: Mutex<RateWindow>,
}

#[derive(Debug)]
struct RateWindow {
    since: Instant,
    rows_at_start: u64,
    per_second: f64,
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow {
            since: Instant::now(),
            rows_at_start: 0,
            per_second: 0.0,
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Metrics {
    /// Records a committed batch.
    pub fn committed(&self, rows: u64, transactions: u64, failures: u64, dead: u64) {
        let total = self.rows_written.fetch_add(rows, Ordering::Relaxed) + rows;
        self.transactions.fetch_add(transactions, Ordering::Relaxed);
        self.decode_failures.fetch_add(failures, Ordering::Relaxed);
        self.dead_slots.fetch_add(dead, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.last_commit_unix.store(unix_now(), Ordering::Relaxed);
        if let Ok(mut window) = self.rate.lock() {
            let elapsed = window.since.elapsed();
            if elapsed >= Duration::from_secs(1) {
                let rows = total.saturating_sub(window.rows_at_start);
                window.per_second = rows as f64 / elapsed.as_secs_f64();
                window.since = Instant::now();
                window.rows_at_start = total;
            }
        }
    }

    /// Raises the tip slot.
    pub fn saw_slot(&self, slot: u64) {
        self.tip_slot.fetch_max(slot, Ordering::Relaxed);
    }

    /// Slots between the stream's tip and the checkpoint.
    pub fn slot_lag(&self) -> u64 {
        self.tip_slot
            .load(Ordering::Relaxed)
            .saturating_sub(self.checkpoint_slot.load(Ordering::Relaxed))
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP depin_indexer_{name} {help}");
            let _ = writeln!(out, "# TYPE depin_indexer_{name} {kind}");
            let _ = writeln!(out, "depin_indexer_{name} {value}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        metric(
            "slot_lag",
            "gauge",
            "Slots between the stream tip and the checkpoint.",
            self.slot_lag().to_string(),
        );
        metric(
            "tip_slot",
            "gauge",
            "Highest slot seen on the stream.",
            load(&self.tip_slot),
        );
        metric(
            "checkpoint_slot",
            "gauge",
            "Last checkpointed slot.",
            load(&self.checkpoint_slot),
        );
        metric(
            "rows_written_total",
            "counter",
            "Event rows inserted.",
            load(&self.rows_written),
        );
        let per_second = self.rate.lock().map(|w| w.per_second).unwrap_or(0.0);
        metric(
            "rows_per_second",
            "gauge",
            "Event rows inserted per second over the last window of at least 1 s.",
            format!("{per_second:.1}"),
        );
        metric(
            "transactions_total",
            "counter",
            "Transactions indexed.",
            load(&self.transactions),
        );
        metric(
            "backfilled_transactions_total",
            "counter",
            "Transactions recovered over JSON-RPC.",
            load(&self.backfilled),
        );
        metric(
            "batches_total",
            "counter",
            "Batches committed.",
            load(&self.batches),
        );
        metric(
            "reconnects_total",
            "counter",
            "Reconnects to the gRPC endpoint.",
            load(&self.reconnects),
        );
        metric(
            "decode_failures_total",
            "counter",
            "Transactions parts that could not be decoded.",
            load(&self.decode_failures),
        );
        metric(
            "dead_slots_total",
            "counter",
            "Dead slots whose rows were removed.",
            load(&self.dead_slots),
        );
        metric(
            "connected",
            "gauge",
            "1 while the gRPC stream is connected.",
            load(&self.connected),
        );
        metric(
            "last_commit_timestamp_seconds",
            "gauge",
            "Unix time of the last commit.",
            load(&self.last_commit_unix),
        );
        metric(
            "state_queue_applied_total",
            "counter",
            "State queue rows applied by the state refresher.",
            load(&self.state_queue_applied),
        );
        metric(
            "event_segments_retired_total",
            "counter",
            "Event segments dropped or detached by retention.",
            load(&self.event_segments_retired),
        );
        metric(
            "event_segments_past_retention",
            "gauge",
            "Event segments past the kept slots still attached after the last prune (held back by a row not settled yet, or in use).",
            load(&self.event_segments_past_retention),
        );
        metric(
            "slots_unjudged",
            "gauge",
            "Slots below the newest finalized slot still only processed or confirmed at the last prune (ancestry never resolved).",
            load(&self.slots_unjudged),
        );
        metric(
            "state_refresh_seconds_total",
            "counter",
            "Time the state refresher spent refreshing state rows.",
            format!(
                "{:.6}",
                self.state_refresh_micros.load(Ordering::Relaxed) as f64 / 1e6
            ),
        );
        out
    }

    /// Healthy when the stream is connected and a batch committed within `max_idle`.
    pub fn health(&self, max_idle: Duration) -> Result<(), String> {
        if self.connected.load(Ordering::Relaxed) == 0 {
            return Err("gRPC stream not connected".into());
        }
        let last = self.last_commit_unix.load(Ordering::Relaxed);
        let idle = unix_now().saturating_sub(last);
        if idle > max_idle.as_secs() {
            return Err(format!("no commit for {idle} s"));
        }
        Ok(())
    }
}

/// Serves `/metrics` and `/health` on `addr` until `shutdown` resolves; returns the bound
/// address (useful with port 0) once listening.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    max_idle: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/metrics",
            get(
                |State((m, _)): State<(Arc<Metrics>, Duration)>| async move {
                    ([("content-type", "text/plain; version=0.0.4")], m.render())
                },
            ),
        )
        .route(
            "/health",
            get(
                |State((m, idle)): State<(Arc<Metrics>, Duration)>| async move {
                    match m.health(idle) {
                        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
                        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
                    }
                },
            ),
        )
        .with_state((metrics, max_idle));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}
