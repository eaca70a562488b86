//! The sink on its own task, so the stream keeps being read and decoded while a batch is
//! written: one batch is written while the next one fills, and at most one more waits (the
//! stream is then back-pressured). A batch's rows are built when it is handed over, on the
//! caller's task ([`Prepared`]), so the writer's task only writes. Jobs run in the order
//! they were submitted, so a checkpoint read or a prune after a write sees that write
//! committed.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::run::{Committed, Hooks};
use crate::sink::{Batch, Prepared, Sink, SinkError};

enum Job {
    Write(Box<Prepared>),
    Checkpoint(oneshot::Sender<Result<Option<u64>, SinkError>>),
    Prune,
}

/// Handle of the writer task.
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    task: Option<JoinHandle<(Sink, Result<(), SinkError>)>>,
}

/// The writer stopped: the database failed (the last committed batch and its checkpoint
/// are intact), or its task ended unexpectedly.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The database failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The task panicked or was cancelled.
    #[error("the writer task ended: {0}")]
    Gone(String),
}

impl Writer {
    /// Moves `sink` onto its own task; committed batches are reported through `hooks`.
    pub fn spawn(sink: Sink, hooks: Hooks) -> Writer {
        // one batch queued behind the one being written
        let (jobs, mut queue) = mpsc::channel::<Job>(1);
        let task = tokio::spawn(async move {
            let mut sink = sink;
            while let Some(job) = queue.recv().await {
                let outcome = match job {
                    Job::Write(prepared) => write(&mut sink, &hooks, *prepared).await,
                    Job::Checkpoint(reply) => {
                        let _ = reply.send(sink.checkpoint().await);
                        Ok(())
                    }
                    Job::Prune => prune(&mut sink, &hooks).await,
                };
                if let Err(e) = outcome {
                    return (sink, Err(e));
                }
            }
            (sink, Ok(()))
        });
        Writer {
            jobs,
            task: Some(task),
        }
    }

    /// Queues `batch` (waits while one batch is written and another already waits). Its
    /// rows are built here, on the caller's task, while the writer writes the batch before
    /// ([`Prepared`]).
    pub async fn write(&mut self, batch: Batch) -> Result<(), WriterError> {
        self.submit(Job::Write(Box::new(Prepared::new(batch))))
            .await
    }

    /// Queues `batch` if the writer can take it now (its rows built here, as in
    /// [`Writer::write`]); gives it back untouched when a batch already waits (the caller
    /// keeps filling it, so a busy writer gets fewer, larger batches).
    pub async fn offer(&mut self, batch: Batch) -> Result<Option<Batch>, WriterError> {
        match self.jobs.try_reserve() {
            Ok(permit) => {
                permit.send(Job::Write(Box::new(Prepared::new(batch))));
                return Ok(None);
            }
            Err(mpsc::error::TrySendError::Full(())) => return Ok(Some(batch)),
            // the task stopped: why is below, once the reservation's borrow has ended
            Err(mpsc::error::TrySendError::Closed(())) => {}
        }
        Err(self.failure().await)
    }

    /// Queues a prune of the slot bookkeeping and, when configured, the retirement of old
    /// event segments.
    pub async fn prune(&mut self) -> Result<(), WriterError> {
        self.submit(Job::Prune).await
    }

    /// The checkpoint once everything queued before is committed.
    pub async fn checkpoint(&mut self) -> Result<Option<u64>, WriterError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Checkpoint(reply)).await?;
        match answer.await {
            Ok(checkpoint) => Ok(checkpoint?),
            Err(_) => Err(self.failure().await),
        }
    }

    /// Waits until everything queued is committed.
    pub async fn settle(&mut self) -> Result<(), WriterError> {
        self.checkpoint().await.map(drop)
    }

    /// Writes what is queued, stops the task and closes the database connection. After a
    /// failure already reported by another call there is nothing left to close.
    pub async fn close(mut self) -> Result<(), WriterError> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        drop(self.jobs);
        match task.await {
            Ok((sink, outcome)) => {
                sink.close().await;
                Ok(outcome?)
            }
            Err(e) => Err(WriterError::Gone(e.to_string())),
        }
    }

    async fn submit(&mut self, job: Job) -> Result<(), WriterError> {
        if self.jobs.send(job).await.is_ok() {
            return Ok(());
        }
        Err(self.failure().await)
    }

    /// Why the task stopped (while the handle lives, it only stops on a failure).
    async fn failure(&mut self) -> WriterError {
        let Some(task) = self.task.take() else {
            return WriterError::Gone("the writer already stopped".into());
        };
        match task.await {
            Ok((sink, outcome)) => {
                sink.close().await;
                match outcome {
                    Err(e) => WriterError::Sink(e),
                    Ok(()) => WriterError::Gone("stopped without an error".into()),
                }
            }
            Err(e) => WriterError::Gone(e.to_string()),
        }
    }
}

/// Writes one batch and reports it.
async fn write(sink: &mut Sink, hooks: &Hooks, prepared: Prepared) -> Result<(), SinkError> {
    let stats = sink.write_prepared(&prepared).await?;
    let batch = prepared.into_batch();
    let metrics = &hooks.metrics;
    metrics.committed(
        stats.event_rows,
        stats.transactions,
        stats.failures,
        stats.dead_slots,
    );
    if let Some(c) = batch.checkpoint {
        metrics.checkpoint_slot.fetch_max(c, Ordering::Relaxed);
    }
    tracing::debug!(
        transactions = batch.transactions.len(),
        rows = stats.event_rows,
        checkpoint = batch.checkpoint,
        looked_up = stats.looked_up,
        "committed"
    );
    if let Some(observer) = &hooks.observer {
        let _ = observer.send(Committed {
            signatures: batch
                .transactions
                .into_iter()
                .map(|t| t.signature)
                .collect(),
            at: Instant::now(),
            stats,
        });
    }
    Ok(())
}

/// Prunes the slot bookkeeping (and counts the slots left unjudged below the finalized
/// horizon) and retires the event segments past retention.
async fn prune(sink: &mut Sink, hooks: &Hooks) -> Result<(), SinkError> {
    let removed = sink.prune_slots().await?;
    tracing::debug!(removed, "slot bookkeeping pruned");
    let unjudged = sink.unjudged_slots().await?;
    if unjudged > 0 {
        tracing::warn!(
            unjudged,
            "slots below the newest finalized one are still unjudged (their ancestry never resolved)"
        );
    }
    hooks
        .metrics
        .slots_unjudged
        .store(unjudged, Ordering::Relaxed);
    let retired = sink.retire_events().await?;
    if retired > 0 {
        tracing::info!(retired, "event segments retired");
        hooks
            .metrics
            .event_segments_retired
            .fetch_add(retired, Ordering::Relaxed);
    }
    let past = sink.segments_past_retention().await?;
    if past > 0 {
        tracing::info!(
            past,
            "event segments past the kept slots held back (a row not settled yet, or in use)"
        );
    }
    hooks
        .metrics
        .event_segments_past_retention
        .store(past, Ordering::Relaxed);
    Ok(())
}
