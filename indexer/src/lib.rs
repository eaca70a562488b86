//! # depin-indexer
//!
//! Streams the suite's transactions from a Yellowstone gRPC endpoint into PostgreSQL,
//! exactly once and resumably (SPEC section 6).
//!
//! Modules overview:
//! - [`events`]: one enum per program with a variant per event, decoded with the programs'
//!   own types (discriminator checked, no trailing bytes), and [`events::Event`] over all.
//! - [`decode`]: finds the events of one transaction in both places they can be: `emit_cpi!`
//!   self-invocations among the inner instructions, and `emit!` `Program data:` log lines
//!   (attributed to the program on top of the invocation stack). Every event is keyed by
//!   (instruction index, event index); what cannot be decoded is a [`decode::DecodeFailure`].
//! - [`source`]: the gRPC subscription and Geyser updates turned into decoded transactions
//!   and slot statuses ([`wire`]: the parts of an update it reads, decoded without the
//!   rest); [`rpc`]: the JSON-RPC backfill of a gap the endpoint cannot replay.
//! - [`rows`]: an event as a row of its table; [`sink`]: migrations, batched exactly-once
//!   writes (binary COPY straight into the tables; signatures of recent slots remembered,
//!   a redelivery of older slots looked up first), the state keys touched
//!   queued, slot statuses, dead slots and the checkpoint, all in one database transaction
//!   per batch.
//! - [`state`]: the current-state rows, refreshed from the queue on a second connection
//!   (its own transactions; the queue is its durable position).
//! - [`writer`]: the sink on its own task, so the stream is read and decoded (and the next
//!   batch's rows built) while a batch is written.
//! - [`run`]: the loop (resume, batch, reconnect with backoff, backfill, shutdown);
//!   [`config`]: file and environment; [`metrics`]: Prometheus and health.
//! - `testkit` (feature): a throwaway PostgreSQL cluster and loopback Geyser / JSON-RPC
//!   servers, for the tests and the benchmark.

pub mod config;
pub mod decode;
pub mod events;
pub mod metrics;
pub mod rows;
pub mod rpc;
pub mod run;
pub mod sink;
pub mod source;
pub mod state;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wire;
pub mod writer;
