//! # depin-indexer
//!
//! Will stream the suite's transactions from a Yellowstone gRPC endpoint, decode every
//! event of every program and write them to PostgreSQL exactly once (SPEC section 6).
//!
//! Nothing is here yet: the crate exists so the workspace layout is final. The programs
//! already emit every state change with `emit_cpi!`, which is what the indexer will read.
