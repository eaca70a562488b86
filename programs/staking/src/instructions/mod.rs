//! One file per instruction: its arguments, its accounts and its handler.
//!
//! The glob re-exports put every accounts struct (and the client modules Anchor generates
//! beside it) at the crate root, where `#[program]` looks for them.
#![allow(
    ambiguous_glob_reexports,
    reason = "every instruction file names its entry point `handler`; lib.rs calls each by its full path"
)]

pub mod bond_device;
pub mod initialize_pool;
pub mod request_unstake;
pub mod slash;
pub mod stake;
pub mod sync_treasury;
pub mod unbond_device;
pub mod update_pool;
pub mod vault;
pub mod withdraw;

pub use bond_device::*;
pub use initialize_pool::*;
pub use request_unstake::*;
pub use slash::*;
pub use stake::*;
pub use sync_treasury::*;
pub use unbond_device::*;
pub use update_pool::*;
pub use withdraw::*;
