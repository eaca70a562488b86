//! # depin-indexer
//!
//! Turns the suite's transactions into typed events, the first stage of the pipeline that
//! will stream them from a Yellowstone gRPC endpoint into PostgreSQL (SPEC section 6).
//!
//! Modules overview:
//! - [`events`]: one enum per program with a variant per event, decoded with the programs'
//!   own types (discriminator checked, no trailing bytes), and [`events::Event`] over all.
//! - [`decode`]: finds the events of one transaction in both places they can be: `emit_cpi!`
//!   self-invocations among the inner instructions, and `emit!` `Program data:` log lines
//!   (attributed to the program on top of the invocation stack). Every event is keyed by
//!   (instruction index, event index) so a replay yields the same keys; whatever cannot be
//!   decoded is returned as a [`decode::DecodeFailure`] with its reason, never dropped.
//!
//! The source (gRPC subscription, resume, RPC backfill) and the sink (migrations, batched
//! writes, checkpoints, dead slots) are not built yet.

pub mod decode;
pub mod events;
