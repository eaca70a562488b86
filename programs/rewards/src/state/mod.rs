//! Accounts of the rewards program, one file each.

pub mod claimed;
pub mod epoch_root;
pub mod rewards_config;

pub use claimed::*;
pub use epoch_root::*;
pub use rewards_config::*;
