//! # Cross-module scenario
//!
//! Holds no code: its integration test (`tests/cross_module.rs`) deploys every DePIN ink!
//! contract into one off-chain engine and drives three networks end to end. Each
//! cross-contract read reaches the real instance of the callee (see
//! `depin_ink_shared::bridge`), so every module runs its own code on its own storage.
