//! Accounts of the storage escrow program, one file each.

pub mod deal;
pub mod deal_counter;
pub mod storage_market;

pub use deal::*;
pub use deal_counter::*;
pub use storage_market::*;
