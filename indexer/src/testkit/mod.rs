//! Real parts on loopback for the indexer's tests and benchmark: a throwaway PostgreSQL
//! cluster, a Yellowstone Geyser gRPC server and a Solana JSON-RPC server, both serving
//! transactions that the real programs executed in the test runtime.

pub mod chain;
pub mod follow;
/// The Geyser server is the localnet's feed, fed here by the tests with a recorded chain.
pub mod geyser {
    pub use depin_localnet::geyser::GeyserFeed as GeyserTestServer;
    pub use depin_localnet::geyser::*;
}
pub mod postgres;
pub mod rpc_server;
pub mod scenario;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`; a lock poisoned by a panicking test thread still holds usable data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
