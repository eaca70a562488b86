//! One file per instruction: its arguments, its accounts and its handler.
//!
//! The glob re-exports put every accounts struct (and the client modules Anchor generates
//! beside it) at the crate root, where `#[program]` looks for them.
#![allow(
    ambiguous_glob_reexports,
    reason = "every instruction file names its entry point `handler`; lib.rs calls each by its full path"
)]

pub mod accept_authority;
pub mod assert_location;
pub mod audit_device;
pub mod initialize_network;
pub mod onboard_device;
pub mod propose_authority;
pub mod register_maker;
pub mod set_auditor;
pub mod set_device_status;
pub mod set_maker_approval;
pub mod transfer_device;
pub mod update_network;

pub use accept_authority::*;
pub use assert_location::*;
pub use audit_device::*;
pub use initialize_network::*;
pub use onboard_device::*;
pub use propose_authority::*;
pub use register_maker::*;
pub use set_auditor::*;
pub use set_device_status::*;
pub use set_maker_approval::*;
pub use transfer_device::*;
pub use update_network::*;
