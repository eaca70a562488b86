//! Accounts of the storage escrow program, one file each.

pub mod deal;
pub mod storage_market;

pub use deal::*;
pub use storage_market::*;
