//! The indexer's main loop: subscribe from the checkpoint, batch, commit, reconnect with
//! backoff, and backfill over JSON-RPC what the endpoint can no longer replay.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use futures::{FutureExt, SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::{mpsc, watch};
use yellowstone_grpc_proto::geyser::SubscribeRequestPing;

use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::rpc::{RpcClient, RpcError};
use crate::sink::{Batch, Commitment, IndexedTransaction, Sink, SinkError, SlotStatus, WriteStats};
use crate::source::{
    convert, endpoint_slot, is_replay_unavailable, subscribe, subscribe_request, GeyserChannel,
    GrpcSettings, SourceError, Subscription, Update,
};
use crate::state::Refresher;
use crate::writer::{Writer, WriterError};

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database failed; the last committed batch and its checkpoint are intact.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The writer task ended without a database error (it panicked).
    #[error("{0}")]
    Writer(String),
    /// The endpoint cannot replay from the checkpoint and no RPC URL is configured.
    #[error("the endpoint cannot replay from slot {from} and backfill.rpc_url is not set")]
    GapWithoutBackfill {
        /// First missing slot.
        from: u64,
    },
    /// The gap starts before the oldest block the RPC node still holds: its listing would
    /// leave the older transactions out without a word. Point `backfill.rpc_url` at a node
    /// with that history (an archive node).
    #[error(
        "the backfill needs slot {from} on, and the RPC node's history starts at {first_available}"
    )]
    GapBeyondRpcHistory {
        /// First missing slot.
        from: u64,
        /// The oldest block the node holds.
        first_available: u64,
    },
}

/// A committed batch, reported to an observer (benchmarks measure latency with it).
#[derive(Debug, Clone)]
pub struct Committed {
    /// Signatures of the batch's transactions.
    pub signatures: Vec<String>,
    /// When the commit returned.
    pub at: Instant,
    /// What it wrote.
    pub stats: WriteStats,
}

/// Everything [`run`] needs besides the configuration.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Shared metrics (served by [`crate::metrics::serve`]).
    pub metrics: Arc<Metrics>,
    /// Receives every committed batch, if set.
    pub observer: Option<mpsc::UnboundedSender<Committed>>,
}

enum End {
    /// Shutdown requested; everything received was committed.
    Shutdown,
    /// The stream ended or failed after delivering messages.
    Progress,
    /// It ended or failed before delivering any.
    NoProgress,
}

enum SessionError {
    Source(SourceError),
    Rpc(RpcError),
    Fatal(RunError),
}

impl From<WriterError> for RunError {
    fn from(e: WriterError) -> Self {
        match e {
            WriterError::Sink(e) => RunError::Sink(e),
            WriterError::Gone(why) => RunError::Writer(why),
        }
    }
}

impl From<WriterError> for SessionError {
    fn from(e: WriterError) -> Self {
        SessionError::Fatal(e.into())
    }
}

struct Session<'a> {
    config: &'a Config,
    settings: GrpcSettings,
    programs: Vec<Pubkey>,
    writer: Writer,
    rpc: Option<RpcClient>,
    hooks: &'a Hooks,
    batch: Batch,
}

/// Runs until `shutdown` turns true (then commits what it holds and returns `Ok`) or a
/// fatal error. Stream failures are retried with exponential backoff and full jitter.
pub async fn run(
    config: Config,
    hooks: Hooks,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), RunError> {
    config.validate()?;
    let programs = config.programs()?;
    let settings = GrpcSettings {
        endpoint: config.source.endpoint.clone(),
        x_token: Some(config.source.x_token.clone()).filter(|t| !t.is_empty()),
        commitment: config.source.commitment,
        connect_timeout: config.connect_timeout(),
        programs: programs.clone(),
    };
    let mut sink = Sink::connect(
        &config.database.url,
        config.source.commitment,
        &config.source.stream_name,
    )
    .await?;
    if let Some(retention) = config.event_retention() {
        sink.retain_events(retention).await?;
    }
    // the state rows on a second connection, off the write path (after the migrations:
    // the sink applied them)
    let mut refresher = Refresher::spawn(&config.database.url, Arc::clone(&hooks.metrics)).await?;
    sink.refresh_state_with(refresher.waker());
    let rpc = Some(config.backfill.rpc_url.clone())
        .filter(|u| !u.is_empty())
        .map(|u| RpcClient::new(&u, config.source.commitment, config.backfill.page_limit));
    let mut session = Session {
        config: &config,
        settings,
        programs,
        writer: Writer::spawn(sink, hooks.clone()),
        rpc,
        hooks: &hooks,
        batch: Batch::default(),
    };
    let result = tokio::select! {
        result = session.run(&mut shutdown) => result,
        e = refresher.failure() => Err(RunError::Sink(e)),
    };
    let closed = session.writer.close().await;
    // what the last batches queued is applied before the refresher stops
    let refreshed = refresher.close().await;
    result?;
    closed?;
    Ok(refreshed?)
}

/// Delay before reconnect attempt `attempt`: uniform in `[0, min(max, initial * 2^attempt)]`.
pub fn backoff(attempt: u32, initial_ms: u64, max_ms: u64) -> Duration {
    let ceiling = initial_ms
        .saturating_mul(1u64.checked_shl(attempt.min(32)).unwrap_or(u64::MAX))
        .min(max_ms);
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

impl Session<'_> {
    /// Streams, reconnecting with backoff, until shutdown or a fatal error.
    async fn run(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), RunError> {
        let (config, hooks) = (self.config, self.hooks);
        let mut attempt: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let outcome = self.stream(shutdown).await;
            hooks.metrics.connected.store(0, Ordering::Relaxed);
            match outcome {
                Ok(End::Shutdown) => return Ok(()),
                Ok(End::Progress) => {
                    tracing::warn!("stream ended; reconnecting");
                    attempt = 0;
                }
                Ok(End::NoProgress) => tracing::warn!(attempt, "stream ended without updates"),
                Err(SessionError::Source(e)) => {
                    tracing::warn!(attempt, error = %e, "stream failed")
                }
                Err(SessionError::Rpc(e)) => tracing::warn!(attempt, error = %e, "backfill failed"),
                Err(SessionError::Fatal(e)) => return Err(e),
            }
            hooks.metrics.reconnects.fetch_add(1, Ordering::Relaxed);
            let delay = backoff(
                attempt,
                config.reconnect.initial_backoff_ms,
                config.reconnect.max_backoff_ms,
            );
            attempt = attempt.saturating_add(1);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }

    /// One connection: from the checkpoint, or live plus a JSON-RPC backfill of the gap when
    /// the endpoint cannot replay that far back.
    async fn stream(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<End, SessionError> {
        // resume from what is committed: everything queued before is written first
        let checkpoint = self.writer.checkpoint().await?;
        if let Some(c) = checkpoint {
            self.hooks
                .metrics
                .checkpoint_slot
                .store(c, Ordering::Relaxed);
        }
        let from = match checkpoint {
            Some(c) => Some(c.saturating_add(1)),
            None => self.config.source.start_slot,
        };
        match self.stream_from(from, None, shutdown).await {
            Err(SessionError::Source(SourceError::Subscribe(status)))
                if from.is_some() && is_replay_unavailable(&status) =>
            {
                let from = from.unwrap_or_default();
                tracing::warn!(from, reason = %status.message(), "endpoint cannot replay; backfilling over JSON-RPC");
                if self.rpc.is_none() {
                    return Err(SessionError::Fatal(RunError::GapWithoutBackfill { from }));
                }
                self.stream_from(None, Some(from), shutdown).await
            }
            other => other,
        }
    }

    async fn stream_from(
        &mut self,
        from_slot: Option<u64>,
        mut backfill_from: Option<u64>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<End, SessionError> {
        // the client keeps the connection
        let Subscription {
            mut client,
            mut requests,
            updates: stream,
        } = subscribe(&self.settings, from_slot)
            .await
            .map_err(SessionError::Source)?;
        tracing::info!(endpoint = %self.settings.endpoint, from_slot, "subscribed");
        let metrics = Arc::clone(&self.hooks.metrics);
        let mut received = false;
        // a slot reached the stream's commitment since the batch was last offered
        let mut slot_completed = false;
        let mut stream = stream.peekable();
        let mut ticker =
            tokio::time::interval(Duration::from_millis(self.config.batch.flush_interval_ms));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let prune_every = self.config.retention.prune_slots_interval_secs;
        let mut pruner = tokio::time::interval(Duration::from_secs(prune_every.max(1)));
        pruner.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    self.flush().await?;
                    self.writer.settle().await?;
                    tracing::info!("shutdown: committed what was received");
                    return Ok(End::Shutdown);
                }
                message = stream.next() => {
                    let update = match message {
                        None => {
                            self.flush().await?;
                            return Ok(if received { End::Progress } else { End::NoProgress });
                        }
                        Some(Err(status)) => {
                            self.flush().await?;
                            if received {
                                tracing::warn!(error = %status, "stream error");
                                return Ok(End::Progress);
                            }
                            return Err(SessionError::Source(SourceError::Subscribe(status)));
                        }
                        Some(Ok(update)) => convert(update),
                    };
                    if !received {
                        received = true;
                        metrics.connected.store(1, Ordering::Relaxed);
                    }
                    let slot = match &update {
                        Update::Transaction(t) => Some(t.slot),
                        Update::Slot(s) => Some(s.slot),
                        Update::Ping | Update::Skip => None,
                    };
                    if let (Some(first_live), Some(from)) =
                        (live_boundary(&update, self.settings.commitment), backfill_from)
                    {
                        backfill_from = None;
                        self.backfill(from, first_live, &mut client).await?;
                    }
                    if let Some(slot) = slot {
                        metrics.saw_slot(slot);
                    }
                    match update {
                        Update::Transaction(t) => self.batch.transactions.push(*t),
                        Update::Slot(s) => {
                            let level = checkpoint_level(self.settings.commitment);
                            // no checkpoint past a gap its backfill has not written: at
                            // `processed`, a confirmed status above the gap may come before
                            // the update that starts the backfill, and a batch committed
                            // meanwhile (or a crash, or a failed backfill) would resume past
                            // the gap for good. The backfill moves the checkpoint itself.
                            if s.status == SlotStatus::Reached(level) && backfill_from.is_none() {
                                self.batch.checkpoint =
                                    Some(self.batch.checkpoint.map_or(s.slot, |c| c.max(s.slot)));
                            }
                            if s.status == SlotStatus::Reached(self.settings.commitment) {
                                slot_completed = true;
                            }
                            self.batch.slots.push(s);
                        }
                        Update::Ping => {
                            let mut request = subscribe_request(
                                &self.programs,
                                self.settings.commitment,
                                None,
                            );
                            request.ping = Some(SubscribeRequestPing { id: 1 });
                            if let Err(e) = requests.send(request).await {
                                tracing::warn!(error = %e, "could not answer ping");
                            }
                        }
                        Update::Skip => {}
                    }
                    // full: hand over, waiting if the writer is behind. Caught up with a
                    // completed slot: offer it now rather than at the next tick (a
                    // keeping-up indexer commits each slot as it completes; while the
                    // writer is busy the batch keeps filling, so a busy indexer writes
                    // fewer, larger batches)
                    let full = self.batch.transactions.len() >= self.config.batch.max_transactions;
                    if full {
                        self.flush().await?;
                    } else if slot_completed
                        && !matches!(
                            std::pin::Pin::new(&mut stream).peek().now_or_never(),
                            Some(Some(_))
                        )
                    {
                        slot_completed = false;
                        self.offer().await?;
                    }
                }
                _ = ticker.tick() => self.offer().await?,
                _ = pruner.tick(), if prune_every > 0 => {
                    self.writer.prune().await?;
                }
            }
        }
    }

    /// Fetches and commits over JSON-RPC the slots from `from` up to the live stream's first
    /// slot `first_live`, or through the endpoint's slot at the stream's commitment (asked
    /// on the subscription's connection, `endpoint`, now that it is live) or the RPC node's,
    /// whichever ends last; the checkpoint moves to the last slot of that range. The RPC
    /// node is waited for until it has reached that slot.
    ///
    /// `first_live` alone is not a safe end: a late block of a minority fork, below slots the
    /// endpoint had reached before the subscription, may be the first update on the live
    /// stream, and the slots between would come neither live nor in the backfill. The
    /// endpoint's slot is at or above every slot it delivered before the subscription (an
    /// endpoint that does not answer `GetSlot` leaves the RPC node's slot, which covers them
    /// unless that node is behind the endpoint: logged). A slot of the range that also comes
    /// live is written once (the copy is dropped).
    async fn backfill(
        &mut self,
        from: u64,
        first_live: u64,
        endpoint: &mut GeyserChannel,
    ) -> Result<(), SessionError> {
        // a handle on the same HTTP client, so the batch can be flushed meanwhile
        let Some(rpc) = self.rpc.clone() else {
            return Err(SessionError::Fatal(RunError::GapWithoutBackfill { from }));
        };
        let commitment = self.settings.commitment;
        let endpoint_tip = match endpoint_slot(endpoint, commitment).await {
            Ok(slot) => Some(slot),
            Err(status) => {
                tracing::warn!(
                    error = %status,
                    "the endpoint did not answer GetSlot: the backfill ends at the RPC node's slot or the first live slot"
                );
                None
            }
        };
        let rpc_tip = rpc.slot_at(commitment).await.map_err(SessionError::Rpc)?;
        let to = first_live
            .max(rpc_tip.saturating_add(1))
            .max(endpoint_tip.map_or(0, |s| s.saturating_add(1)));
        if to <= from {
            return Ok(());
        }
        self.flush().await?;
        let started = Instant::now();
        let transactions = rpc
            .backfill(&self.programs, from, to)
            .await
            .map_err(|e| match e {
                RpcError::Pruned {
                    from,
                    first_available,
                } => SessionError::Fatal(RunError::GapBeyondRpcHistory {
                    from,
                    first_available,
                }),
                e => SessionError::Rpc(e),
            })?;
        let count = transactions.len();
        let max = self.config.batch.max_transactions;
        let mut chunks: Vec<Vec<IndexedTransaction>> = Vec::new();
        let mut iter = transactions.into_iter().peekable();
        while iter.peek().is_some() {
            chunks.push(iter.by_ref().take(max).collect());
        }
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            self.batch.transactions = chunk;
            if i == last {
                self.batch.checkpoint = Some(to - 1);
            }
            self.flush().await?;
        }
        self.hooks
            .metrics
            .backfilled
            .fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
        tracing::info!(
            from,
            to,
            transactions = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "backfilled"
        );
        Ok(())
    }

    /// Hands the batch to the writer if it can take it now; otherwise the batch keeps
    /// filling until the writer is free or the batch is full.
    async fn offer(&mut self) -> Result<(), SessionError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        if let Some(batch) = self.writer.offer(batch).await? {
            self.batch = batch;
        }
        Ok(())
    }

    /// Hands the batch to the writer (waiting while it is a batch behind).
    async fn flush(&mut self) -> Result<(), SessionError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.writer.write(batch).await?;
        Ok(())
    }
}

/// The status at which a slot moves the checkpoint of a stream at `commitment`: that
/// commitment, except `processed`, where it is `confirmed`.
///
/// A resume starts after the checkpoint, so nothing may arrive below it. Slots are processed
/// on every fork, out of order: with the checkpoint at the highest processed slot, a sibling
/// below it processed later (and maybe the fork that wins) arrived after a restart only if it
/// was at or above the resume, and its rows were lost. A slot below a confirmed one is its
/// ancestor, already delivered, or on a fork that can no longer win. The stream delivers
/// every status whatever its commitment (`filter_by_commitment` off), so the confirmed
/// statuses are there; a resume replays the processed slots above the checkpoint, whose
/// rows are already stored and come again as duplicates, dropped.
fn checkpoint_level(commitment: Commitment) -> Commitment {
    commitment.max(Commitment::Confirmed)
}

/// Where the backfill of a live subscription at `commitment` ends at the earliest, if
/// `update` tells it: the slot of a transaction (delivered at that commitment), or of a slot
/// reaching that commitment or a lower one, which reached it after the subscription began.
/// A slot below it that reaches `commitment` later comes both ways, and the copy is dropped.
/// A higher commitment, or a dead slot, may name a slot far behind the ones that reached
/// `commitment` before the subscription: ending the backfill there would lose those. So
/// may a late block of a minority fork, which is why the backfill runs through the RPC
/// node's slot too (see `Session::backfill`).
fn live_boundary(update: &Update, commitment: Commitment) -> Option<u64> {
    match update {
        Update::Transaction(t) => Some(t.slot),
        Update::Slot(s) => match s.status {
            SlotStatus::Reached(c) if c <= commitment => Some(s.slot),
            SlotStatus::Reached(_) | SlotStatus::Dead => None,
        },
        Update::Ping | Update::Skip => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_processed_the_checkpoint_follows_confirmed_slots() {
        assert_eq!(
            checkpoint_level(Commitment::Processed),
            Commitment::Confirmed
        );
        assert_eq!(
            checkpoint_level(Commitment::Confirmed),
            Commitment::Confirmed
        );
        assert_eq!(
            checkpoint_level(Commitment::Finalized),
            Commitment::Finalized
        );
    }

    #[test]
    fn only_an_update_at_or_below_the_commitment_bounds_the_backfill() {
        use crate::sink::SlotUpdate;
        let slot = |status| {
            Update::Slot(SlotUpdate {
                slot: 7,
                parent: Some(6),
                status,
            })
        };
        let confirmed = Commitment::Confirmed;
        for (status, boundary) in [
            (SlotStatus::Reached(Commitment::Processed), Some(7)),
            (SlotStatus::Reached(Commitment::Confirmed), Some(7)),
            (SlotStatus::Reached(Commitment::Finalized), None),
            (SlotStatus::Dead, None),
        ] {
            assert_eq!(
                live_boundary(&slot(status), confirmed),
                boundary,
                "{status:?}"
            );
        }
        assert_eq!(
            live_boundary(
                &slot(SlotStatus::Reached(Commitment::Finalized)),
                Commitment::Finalized
            ),
            Some(7)
        );
        assert_eq!(live_boundary(&Update::Ping, confirmed), None);
    }

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        for attempt in 0..40 {
            let d = backoff(attempt, 100, 5_000);
            let ceiling = 100u64.saturating_mul(1 << attempt.min(32)).min(5_000);
            assert!(d <= Duration::from_millis(ceiling), "{attempt}: {d:?}");
        }
        // full jitter: over many draws the delay is not constant
        let draws: std::collections::BTreeSet<_> =
            (0..50).map(|_| backoff(10, 100, 5_000)).collect();
        assert!(draws.len() > 1);
    }
}
