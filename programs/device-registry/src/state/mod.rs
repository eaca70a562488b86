//! Accounts of the device registry, one file each.

pub mod device;
pub mod maker;
pub mod network;

pub use device::*;
pub use maker::*;
pub use network::*;
