//! The fleet: three networks (wireless, storage, energy) bootstrapped through the SDK client
//! as their operators would, with devices in real H3 cells across four cities, one gateway
//! (with its durable outbox) per network and city, and what each device reports.

use depin_gateway::Outbox;
use depin_localnet::scenario::{self, Network, Operator};
use depin_sdk::client::{expect_landed, Client};
use depin_sdk::registry::{self, NetworkKind};
use depin_sdk::rewards::Schedule;
use depin_sdk::telemetry::Metrics;
use depin_sdk::Pubkey;
use depin_tests::{Keypair, Signer};
use h3o::{LatLng, Resolution};

use crate::error::DemoError;
use crate::Scale;

/// Simulated length of an epoch, in seconds (an hour; the demo runs them in seconds).
pub const EPOCH_SECS: i64 = 3_600;
/// What each network emits per epoch, in reward base units (1,000 tokens of 6 decimals).
pub const EMISSION_PER_EPOCH: u64 = 1_000_000_000;

/// The cities devices are placed in: name, latitude, longitude, and how much service a
/// hotspot there carries relative to the others (Lisbon is short of hotspots).
pub const CITIES: [(&str, f64, f64, u64); 4] = [
    ("lisbon", 38.7223, -9.1393, 2),
    ("berlin", 52.52, 13.405, 1),
    ("nairobi", -1.2921, 36.8219, 1),
    ("sao-paulo", -23.5505, -46.6333, 1),
];

/// The kind of a network, as the demo names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Hotspots carrying traffic.
    Wireless,
    /// Storage nodes answering challenges.
    Storage,
    /// Solar meters and batteries.
    Energy,
}

impl Kind {
    /// All three, in the demo's order.
    pub const ALL: [Kind; 3] = [Kind::Wireless, Kind::Storage, Kind::Energy];

    /// Its lowercase name (as the indexer writes `networks.kind`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Wireless => "wireless",
            Kind::Storage => "storage",
            Kind::Energy => "energy",
        }
    }

    fn registry(self) -> NetworkKind {
        match self {
            Kind::Wireless => NetworkKind::Wireless,
            Kind::Storage => NetworkKind::Storage,
            Kind::Energy => NetworkKind::Energy,
        }
    }
}

/// How a device misbehaves (the auditor must flag exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A hotspot whose radio died: reports, but no uptime and no traffic.
    DeadRadio,
    /// A hotspot claiming forty times the traffic of its peers.
    Inflating,
    /// A device that stops reporting after the first epoch.
    Silent,
    /// A meter stuck on one reading.
    StuckMeter,
    /// A meter that reads zero.
    ZeroMeter,
}

impl Fault {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::DeadRadio => "dead radio",
            Fault::Inflating => "inflating traffic",
            Fault::Silent => "silent after epoch 0",
            Fault::StuckMeter => "stuck meter",
            Fault::ZeroMeter => "zero meter",
        }
    }

    /// The first epoch in which it shows.
    pub fn from_epoch(self) -> u64 {
        match self {
            Fault::Silent => 1,
            _ => 0,
        }
    }

    /// The faults of a network's devices, by index within the network.
    fn of(kind: Kind, index: usize) -> Option<Fault> {
        match (kind, index) {
            (Kind::Wireless, 1) => Some(Fault::DeadRadio),
            (Kind::Wireless, 2) => Some(Fault::Inflating),
            (Kind::Wireless, 3) => Some(Fault::Silent),
            (Kind::Storage, 1) => Some(Fault::Silent),
            (Kind::Energy, 1) => Some(Fault::StuckMeter),
            (Kind::Energy, 2) => Some(Fault::ZeroMeter),
            _ => None,
        }
    }
}

/// One device of the fleet.
pub struct FleetDevice {
    /// Its device key (the secure element that signs its reports).
    pub key: Keypair,
    /// Its `Device` account.
    pub account: Pubkey,
    /// Index of its operator in [`FleetNetwork::operators`].
    pub operator: usize,
    /// Index of its city in [`CITIES`].
    pub city: usize,
    /// Its H3 cell (resolution 10).
    pub cell: u64,
    /// Its index within the network (varies its readings).
    pub index: usize,
    /// How it misbehaves, if it does.
    pub fault: Option<Fault>,
    /// Index of its gateway in [`Fleet::gateways`].
    pub gateway: usize,
}

/// One network of the fleet.
pub struct FleetNetwork {
    /// Its kind.
    pub kind: Kind,
    /// The network, its authority, maker and first operator.
    pub net: Network,
    /// Its operators (the first is `net.operator`).
    pub operators: Vec<Operator>,
    /// Each operator's reward-token account (where claims pay).
    pub recipients: Vec<Pubkey>,
    /// Its devices.
    pub devices: Vec<FleetDevice>,
    /// Its oracles (both propose every root; quorum 2 of 2).
    pub oracles: Vec<Keypair>,
    /// The reward schedule.
    pub schedule: Schedule,
}

/// A gateway: the devices of one network in one city report through it.
pub struct Gateway {
    /// Its name (the `gateway` column of the telemetry table).
    pub name: String,
    /// Index of its network in [`Fleet::networks`].
    pub network: usize,
    /// Its durable outbox.
    pub outbox: Outbox,
    /// Readings recorded into the outbox.
    pub recorded: u64,
    /// Readings the service accepted.
    pub accepted: u64,
    /// Readings the service refused for good (dead letters).
    pub dead: u64,
    /// Deliveries interrupted by a cut uplink.
    pub interrupted: u64,
}

/// Everything the demo runs.
pub struct Fleet {
    /// The three networks.
    pub networks: Vec<FleetNetwork>,
    /// The gateways.
    pub gateways: Vec<Gateway>,
    /// The auditor's key (named on every network).
    pub auditor: Keypair,
    /// Unix time at which epoch 0 started.
    pub genesis: i64,
}

/// The H3 cell (resolution 10) of device `index` in city `city`: one of the 343
/// resolution-10 children of the city centre's resolution-7 cell, so every device of a city
/// sits in its own cell and all of them in the same region (resolution 5).
pub fn cell(city: usize, index: usize) -> Result<u64, DemoError> {
    let (name, lat, lng, _) = CITIES[city % CITIES.len()];
    let centre = LatLng::new(lat, lng)
        .map_err(|e| DemoError::Data(format!("coordinates of {name}: {e}")))?
        .to_cell(Resolution::Seven);
    // a step of 50, coprime to 343 = 7^3, visits every child and scatters neighbours
    let k = (index.wrapping_mul(50)) % 343;
    centre
        .children(Resolution::Ten)
        .nth(k)
        .map(u64::from)
        .ok_or_else(|| DemoError::Data(format!("{name} has no child cell {k}")))
}

impl Fleet {
    /// Bootstraps the three networks through `client` (networks, makers, operators, devices,
    /// stake, bonds, rewards with two oracles, the auditor named) and opens one outbox per
    /// gateway under `dir`. Epoch 0 starts `scale.epochs` epochs and a minute before `now`,
    /// so every simulated epoch has ended on the chain's clock.
    pub async fn bootstrap(
        client: &Client,
        scale: &Scale,
        now: i64,
        dir: &std::path::Path,
    ) -> Result<Fleet, DemoError> {
        let auditor = Keypair::new();
        let epochs = i64::try_from(scale.epochs).unwrap_or(i64::MAX);
        let genesis = now - epochs.saturating_mul(EPOCH_SECS) - 60;
        let mut oracles_of = Vec::new();
        for _ in Kind::ALL {
            let pair = vec![Keypair::new(), Keypair::new()];
            for o in &pair {
                fund(client, &o.pubkey()).await?;
            }
            oracles_of.push(pair);
        }
        fund(client, &auditor.pubkey()).await?;
        let builds =
            Kind::ALL
                .into_iter()
                .zip(oracles_of)
                .enumerate()
                .map(|(n, (kind, oracles))| {
                    build_network(
                        client,
                        scale,
                        kind,
                        160 + n as u32,
                        oracles,
                        genesis,
                        &auditor,
                    )
                });
        let networks = futures::future::try_join_all(builds).await?;
        let mut gateways = Vec::new();
        let mut fleet_networks = Vec::new();
        for (n, mut network) in networks.into_iter().enumerate() {
            for (c, (city, ..)) in CITIES.iter().enumerate() {
                let name = format!("gw-{}-{city}", network.kind.name());
                let outbox = Outbox::open(dir.join(format!("{name}.redb")))?;
                let index = gateways.len();
                gateways.push(Gateway {
                    name,
                    network: n,
                    outbox,
                    recorded: 0,
                    accepted: 0,
                    dead: 0,
                    interrupted: 0,
                });
                for d in network.devices.iter_mut().filter(|d| d.city == c) {
                    d.gateway = index;
                }
            }
            fleet_networks.push(network);
        }
        Ok(Fleet {
            networks: fleet_networks,
            gateways,
            auditor,
            genesis,
        })
    }

    /// The gateway whose uplink the demo cuts: the wireless network's in Berlin.
    pub fn cut_gateway(&self) -> usize {
        self.gateways
            .iter()
            .position(|g| g.name == "gw-wireless-berlin")
            .unwrap_or(0)
    }
}

/// Gives `key` a SOL for fees.
async fn fund(client: &Client, key: &Pubkey) -> Result<(), DemoError> {
    client
        .transfer(key, 1_000_000_000)
        .await
        .map_err(DemoError::chain("fund the oracles and the auditor"))
}

async fn build_network(
    client: &Client,
    scale: &Scale,
    kind: Kind,
    network_id: u32,
    oracles: Vec<Keypair>,
    genesis: i64,
    auditor: &Keypair,
) -> Result<FleetNetwork, DemoError> {
    let what = |s: &str| format!("{} network: {s}", kind.name());
    let net = scenario::network_of_kind(client, network_id, kind.registry(), true)
        .await
        .map_err(DemoError::chain(what("create")))?;
    let mut operators = vec![Operator {
        wallet: net.operator.insecure_clone(),
        tokens: net.operator_tokens,
    }];
    for _ in 1..scale.operators_per_network.max(1) {
        operators.push(
            net.add_operator(client)
                .await
                .map_err(DemoError::chain(what("fund an operator")))?,
        );
    }
    let mut devices = Vec::new();
    for index in 0..scale.devices_per_network {
        let key = Keypair::new();
        let city = index % CITIES.len();
        devices.push(FleetDevice {
            account: net.device(&key),
            key,
            operator: index % operators.len(),
            city,
            cell: cell(city, index)?,
            index,
            fault: Fault::of(kind, index),
            gateway: 0,
        });
    }
    // onboarding: signed by the operator, the maker and the device key
    let groups = devices
        .iter()
        .map(|d| {
            let op = &operators[d.operator];
            vec![net.onboard_for(&op.wallet, &op.tokens, &d.key, d.cell)]
        })
        .collect();
    let mut signers: Vec<&Keypair> = operators.iter().map(|o| &o.wallet).collect();
    signers.push(&net.maker);
    signers.extend(devices.iter().map(|d| &d.key));
    landed_all(
        client
            .send_packed(groups, &signers, Vec::new())
            .await
            .map_err(DemoError::chain(what("onboard devices")))?,
        &what("onboard devices"),
    )?;
    // stake behind every device, then bond each to its operator's stake
    net.open_pool(client)
        .await
        .map_err(DemoError::chain(what("open the stake pool")))?;
    for (o, op) in operators.iter().enumerate() {
        let count = devices.iter().filter(|d| d.operator == o).count() as u64;
        net.stake_for(client, op, count)
            .await
            .map_err(DemoError::chain(what("stake")))?;
    }
    let bonds = devices
        .iter()
        .map(|d| vec![net.bond_for(&operators[d.operator].wallet, &d.key)])
        .collect();
    let signers: Vec<&Keypair> = operators.iter().map(|o| &o.wallet).collect();
    landed_all(
        client
            .send_packed(bonds, &signers, Vec::new())
            .await
            .map_err(DemoError::chain(what("bond devices")))?,
        &what("bond devices"),
    )?;
    // rewards: two oracles, both needed; the auditor named
    let schedule = Schedule {
        initial_per_epoch: EMISSION_PER_EPOCH,
        halving_interval_epochs: 0,
        tail_per_epoch: 0,
    };
    net.enable_rewards(
        client,
        schedule,
        EPOCH_SECS as u64,
        genesis,
        oracles.iter().map(|o| o.pubkey()).collect(),
        2,
    )
    .await
    .map_err(DemoError::chain(what("configure rewards")))?;
    let name = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    expect_landed(
        client
            .send(&[name], &[&net.authority])
            .await
            .map_err(DemoError::chain(what("name the auditor")))?,
    )
    .map_err(DemoError::chain(what("name the auditor")))?;
    let mut recipients = Vec::new();
    for op in &operators {
        recipients.push(
            client
                .create_token_account(&net.reward_mint, &op.wallet.pubkey())
                .await
                .map_err(DemoError::chain(what("open reward accounts")))?,
        );
    }
    Ok(FleetNetwork {
        kind,
        net,
        operators,
        recipients,
        devices,
        oracles,
        schedule,
    })
}

/// Fails unless every packed transaction landed.
pub fn landed_all(
    outcomes: Vec<(std::ops::Range<usize>, depin_sdk::client::Outcome)>,
    step: &str,
) -> Result<(), DemoError> {
    for (groups, outcome) in outcomes {
        if !outcome.is_landed() {
            return Err(DemoError::Data(format!(
                "{step}: the transaction of groups {groups:?} did not land: {outcome:?}"
            )));
        }
    }
    Ok(())
}

/// What device `d` of a `kind` network reports as reading `r` of `epoch` (`None`: it
/// stays silent).
pub fn reading(kind: Kind, d: &FleetDevice, epoch: u64, r: u32) -> Option<Metrics> {
    let fault = d.fault.filter(|f| epoch >= f.from_epoch());
    let wobble = (d.index as u64 * 37 + u64::from(r) * 11 + epoch * 5) % 100;
    match (kind, fault) {
        (_, Some(Fault::Silent)) => None,
        (Kind::Wireless, fault) => {
            let base = 1_000_000 * CITIES[d.city % CITIES.len()].3;
            let bytes = base / 1_000 * (1_000 + wobble);
            Some(match fault {
                Some(Fault::DeadRadio) => Metrics::Wireless {
                    uptime_secs: 0,
                    bytes_served: 0,
                    latency_ms: 0,
                },
                Some(Fault::Inflating) => Metrics::Wireless {
                    uptime_secs: 600,
                    bytes_served: bytes * 40,
                    latency_ms: 25,
                },
                _ => Metrics::Wireless {
                    uptime_secs: 600,
                    bytes_served: bytes,
                    latency_ms: 20 + (wobble % 15) as u32,
                },
            })
        }
        (Kind::Storage, _) => Some(Metrics::Storage {
            uptime_secs: 600,
            proofs_answered: 4,
            proofs_missed: u32::from(wobble.is_multiple_of(10)),
        }),
        (Kind::Energy, Some(Fault::StuckMeter)) => Some(Metrics::Energy {
            produced_wh: 512,
            consumed_wh: 40,
        }),
        (Kind::Energy, Some(Fault::ZeroMeter)) => Some(Metrics::Energy {
            produced_wh: 0,
            consumed_wh: 0,
        }),
        (Kind::Energy, _) => Some(Metrics::Energy {
            produced_wh: 400 + (d.index as u64 * 13 + u64::from(r) * 29 + epoch * 7) % 200,
            consumed_wh: 100 + (d.index as u64 * 7 + u64::from(r) * 17) % 80,
        }),
    }
}
