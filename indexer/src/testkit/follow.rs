//! The indexer running in the test's own process, following a localnet (its Yellowstone
//! gRPC stream from the first slot, its JSON-RPC for backfill) into a database: what the
//! end-to-end tests of the services around the chain start beside their localnet.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::run::{run, Hooks, RunError};
use crate::sink::Commitment;

/// A running indexer.
pub struct Following {
    stop: watch::Sender<bool>,
    handle: JoinHandle<Result<(), RunError>>,
}

impl Following {
    /// Starts the indexer on `grpc_url` (from slot 0, at confirmed) with backfill over
    /// `rpc_url`, writing to `database_url`, with short batches and backoffs.
    pub fn start(grpc_url: &str, rpc_url: &str, database_url: &str) -> Self {
        let mut config = Config::default();
        config.source.endpoint = grpc_url.to_owned();
        config.source.commitment = Commitment::Confirmed;
        config.source.start_slot = Some(0);
        config.database.url = database_url.to_owned();
        config.backfill.rpc_url = rpc_url.to_owned();
        config.batch.flush_interval_ms = 20;
        config.reconnect.initial_backoff_ms = 20;
        config.reconnect.max_backoff_ms = 200;
        config.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(run(config, Hooks::default(), stopped));
        Following { stop, handle }
    }

    /// Asks it to stop and waits at most 30 s; says why if it did not return cleanly.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(true);
        match tokio::time::timeout(Duration::from_secs(30), self.handle).await {
            Err(_) => Err("the indexer did not stop within 30 s".into()),
            Ok(Err(e)) => Err(format!("the indexer task panicked: {e}")),
            Ok(Ok(result)) => result.map_err(|e| format!("the indexer returned {e}")),
        }
    }
}
