//! # DePIN suite SDK
//!
//! What a hardware vendor's gateway, an operator's wallet or an oracle needs to talk to the
//! suite's programs without hand-assembling bytes:
//!
//! - [`pda`]: every program-derived address, from the same seeds the programs use.
//! - [`registry`], [`staking`], [`rewards`], [`storage`] and [`energy`]: one typed builder
//!   per instruction, returning a ready
//!   [`Instruction`] (the event-CPI accounts Anchor needs are filled in).
//! - [`accounts`]: decoding of every account, with the discriminator checked.
//! - [`compute`]: each instruction's measured compute units, and the compute-unit limit a
//!   transaction should request (fees follow requested units).
//!   [`energy`] also signs meter readings with the device key and batches a gateway's
//!   meters into transactions; [`storage`] has the provider's `StorageProver` and the
//!   client's piece-root helper.
//! - [`oracle`]: the reward oracle's tools: build the tree over `(device, owner,
//!   cumulative)` rows, serve and verify proofs, keep a proof store on disk (the
//!   `depin-oracle` binary wraps it).
//! - [`telemetry`]: device-signed telemetry reports (heartbeats and service metrics), their
//!   signing, range checks and JSON wire form.
//! - [`events`]: decoding of the events the programs emit as self-CPIs.
//! - [`error`]: the SDK's typed errors; nothing here panics on bad input.
//! - [`errors`]: the name and message of a program's error code (`Custom(6004)` is
//!   `device_registry::MakerNotApproved`).
//! - [`client`]: the gateway client: compute budget, priority fee, send and confirm through
//!   blockhash expiry, durable nonces, packed batches (see its example).
//! - [`pack`]: packing instructions into the fewest transactions under the packet size limit.
//! - [`file`]: replacing a file whole (keypairs, proof stores): never half written.
//!
//! The program crates are re-exported so callers use the very same argument and account
//! types the programs were built with.

pub mod accounts;
pub mod client;
pub mod compute;
pub mod energy;
pub mod error;
pub mod errors;
pub mod events;
pub mod file;
pub mod incentives;
pub mod oracle;
pub mod pack;
pub mod pda;
pub mod registry;
pub mod rewards;
pub mod staking;
pub mod storage;
pub mod telemetry;

pub use ::energy_settlement as energy_program;
pub use ::rewards as rewards_program;
pub use ::staking as staking_program;
pub use ::storage_escrow as storage_program;
pub use anchor_lang::prelude::Pubkey;
pub use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
pub use device_registry;
pub use error::SdkError;

/// Program id of the device registry.
pub const REGISTRY_PROGRAM_ID: Pubkey = device_registry::ID;
/// Program id of the staking program.
pub const STAKING_PROGRAM_ID: Pubkey = ::staking::ID;
/// Program id of the energy settlement program.
pub const ENERGY_PROGRAM_ID: Pubkey = ::energy_settlement::ID;
/// Program id of the storage escrow program.
pub const STORAGE_PROGRAM_ID: Pubkey = ::storage_escrow::ID;
/// Program id of the rewards program.
pub const REWARDS_PROGRAM_ID: Pubkey = ::rewards::ID;
