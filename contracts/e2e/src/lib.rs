//! The DePIN ink! contracts as Wasm in a real `pallet-contracts` runtime.
//!
//! - [`wasm`] compiles the five contracts to the Wasm the chain runs and makes it
//!   deployable (what `cargo-contract` would do, which no longer builds on this toolchain).
//! - [`chain`] is the runtime in the test process (`ink_sandbox` 5.1.1: pallet-contracts
//!   31 with wasmi), called through the same entry points as a node, recording the weight
//!   and storage deposit of every call, on [`runtime`] (the default sandbox runtime with an
//!   existential deposit a test can raise).
//!
//! The tests in `tests/` deploy the contracts and run the cross-module scenario, every
//! cross-contract read and the security regressions through real messages; every read of
//! another contract is a real `seal2.call` executed by the runtime. The `cost-report`
//! binary prints the cost table of `contracts/README.md`.

pub mod chain;
pub mod runtime;
pub mod scenario;
pub mod suite;
pub mod wasm;
