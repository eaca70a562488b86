//! # The DePIN suite, running
//!
//! One command starts the whole system on loopback and shows it working: a localnet, a
//! throwaway PostgreSQL cluster, the indexer following the localnet's gRPC stream, the
//! telemetry service, gateways with durable outboxes, two oracles per network and the
//! auditor. Three networks (wireless, storage, energy) are bootstrapped through the SDK
//! client with devices in real H3 cells of four cities; then a few epochs run in
//! accelerated time (an hour each, simulated in seconds), and a report is read from
//! PostgreSQL with the SQL beside each result and checked against the chain.
//!
//! Modules, in the order the demo uses them:
//! - [`fleet`]: the networks, operators, devices, gateways and what each device reports
//!   (and which ones are made faulty);
//! - [`sim`]: the services started side by side ([`sim::Demo::start`]) and the epochs
//!   ([`sim::Demo::run`]): readings through the outboxes (one gateway's uplink cut for a
//!   while), the auditor's scores and suspensions, the region multipliers, the oracles'
//!   roots and the operators' claims;
//! - [`market`]: the energy network's market, in real time beside the epochs: orders,
//!   clearing by the on-chain double auction, meter readings signed by the device keys,
//!   settlement with the grid fee;
//! - [`deals`]: the storage network's deals, in real time beside the epochs: challenges
//!   seeded by a later slot's hash, answered by the prover from the stored file, deals
//!   completed;
//! - [`report`]: the SQL report;
//! - [`checks`]: the report checked against the chain;
//! - [`progress`]: one line per step, with the elapsed time.
//!
//! Not built yet: storage faults on chain (every provider answers its challenges) and a
//! meter that lies about delivered energy on the market.

pub mod checks;
pub mod clock;
pub mod deals;
pub mod error;
pub mod fleet;
pub mod market;
pub mod progress;
pub mod report;
pub mod sim;

pub use error::DemoError;

/// How big the demo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Devices in each of the three networks.
    pub devices_per_network: usize,
    /// Operators in each network (devices are shared out round robin).
    pub operators_per_network: usize,
    /// Epochs run.
    pub epochs: u64,
    /// Readings each device sends per epoch.
    pub readings_per_epoch: u32,
}

impl Scale {
    /// The demo's: 80 devices per network (240 in all), 4 operators each, 4 epochs.
    pub fn full() -> Scale {
        Scale {
            devices_per_network: 80,
            operators_per_network: 4,
            epochs: 4,
            readings_per_epoch: 6,
        }
    }

    /// The test's: 24 devices per network (six per city, enough peers for the auditor's
    /// regional baselines), 2 operators each, 2 epochs.
    pub fn small() -> Scale {
        Scale {
            devices_per_network: 24,
            operators_per_network: 2,
            epochs: 2,
            readings_per_epoch: 6,
        }
    }
}
