//! The `depin` binary against a real localnet on 127.0.0.1: one test binary (each links the
//! whole runtime), one module per story.
//!
//! - `bootstrap`: a whole network bootstrapped through the CLI alone, rewards claimed.
//! - `errors`: bad input (exit 2, one line, nothing sent), program errors by name (exit 1),
//!   JSON and text output.
//! - `landed`: a landed transaction whose read back fails exits 0 and says so.
//! - `lifecycle`: fees, locations, transfers, unstake, withdraw, unbond, slash.
//! - `markets`: storage deals proven, energy asks, bids and signed readings.
//! - `localnet`: `depin localnet` serves, funds and stops on Ctrl-C.

mod bootstrap;
mod common;
mod errors;
mod landed;
mod lifecycle;
mod localnet;
mod markets;
