//! Accounts of the staking program, one file each.

pub mod device_bond;
pub mod stake_pool;
pub mod stake_position;

pub use device_bond::*;
pub use stake_pool::*;
pub use stake_position::*;
