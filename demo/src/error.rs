//! The demo's one error type: which part failed, in words a person can act on.

use depin_sdk::client::ClientError;

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The localnet did not start or stop.
    #[error("localnet: {0}")]
    Localnet(#[from] depin_localnet::LocalnetError),
    /// A transaction could not be sent or did not land.
    #[error("{step}: {source}")]
    Chain {
        /// What the demo was doing.
        step: String,
        /// The client's error.
        source: ClientError,
    },
    /// PostgreSQL refused a query.
    #[error("PostgreSQL: {}", depin_indexer::sink::pg_message(.0))]
    Database(#[from] tokio_postgres::Error),
    /// The throwaway PostgreSQL cluster did not start.
    #[error("PostgreSQL cluster: {0}")]
    Postgres(#[from] depin_indexer::testkit::postgres::PgError),
    /// The telemetry service did not start.
    #[error("telemetry service: {0}")]
    Telemetry(#[from] depin_telemetry::IngestError),
    /// A gateway's outbox failed.
    #[error("gateway outbox: {0}")]
    Outbox(#[from] depin_gateway::OutboxError),
    /// The auditor failed.
    #[error("auditor: {0}")]
    Audit(#[from] depin_auditor::AuditError),
    /// The region multipliers could not be computed or published.
    #[error("region multipliers: {0}")]
    Regions(#[from] depin_auditor::regions::RegionError),
    /// The oracle could not build an epoch's rows or tree.
    #[error("oracle: {0}")]
    Oracle(String),
    /// Something did not happen in time (the indexer never caught up, ...).
    #[error("timed out: {0}")]
    Timeout(String),
    /// A local resource (temporary directory, socket) failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A value read back is not what was written.
    #[error("unexpected data: {0}")]
    Data(String),
}

impl DemoError {
    /// Wraps a client error with the step it happened in.
    pub fn chain(step: impl Into<String>) -> impl FnOnce(ClientError) -> DemoError {
        let step = step.into();
        move |source| DemoError::Chain { step, source }
    }
}
