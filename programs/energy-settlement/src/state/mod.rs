//! Accounts of the energy settlement program, one file each.

pub mod energy_market;
pub mod interval;
pub mod meter;
pub mod meter_reading;

pub use energy_market::*;
pub use interval::*;
pub use meter::*;
pub use meter_reading::*;
