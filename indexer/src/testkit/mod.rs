//! Real parts on loopback for the indexer's tests and benchmark: a throwaway PostgreSQL
//! cluster, a Yellowstone Geyser gRPC server and a Solana JSON-RPC server, both serving
//! transactions that the real programs executed in the test runtime.

pub mod chain;
pub mod geyser;
pub mod postgres;
pub mod rpc_server;
pub mod scenario;
