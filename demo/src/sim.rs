//! The running system and its epochs: the services started side by side, the fleet
//! reporting through its gateways, and per epoch the auditor, the region multipliers, the
//! oracles' root and the operators' claims.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use depin_auditor::regions::{self, RegionPolicy};
use depin_auditor::{Score, Thresholds};
use depin_gateway::Uplink;
use depin_indexer::testkit::follow::Following;
use depin_indexer::testkit::postgres::{PgError, TempPostgres};
use depin_localnet::{Config as LocalnetConfig, Localnet};
use depin_sdk::accounts::EpochRoot;
use depin_sdk::client::{expect_landed, Client, ClientConfig, CommitmentConfig};
use depin_sdk::incentives::{self, BondSnapshot, Earning, RegionMultipliers, ONE_BPS};
use depin_sdk::oracle::{RewardRow, RewardTree};
use depin_sdk::rewards::{self, ClaimArgs, ProposeRootArgs};
use depin_sdk::{pda, Pubkey};
use depin_tests::{Keypair, Signer};

use crate::deals::Deals;
use crate::error::DemoError;
use crate::fleet::{self, Fleet, Kind, EPOCH_SECS};
use crate::market::Market;
use crate::progress::Progress;
use crate::Scale;

/// The services around the chain, when PostgreSQL is there.
pub struct OffChain {
    /// The throwaway cluster.
    pub pg: TempPostgres,
    /// The indexer, following the localnet's gRPC.
    pub indexer: Following,
    /// The telemetry service.
    pub telemetry: depin_telemetry::Running,
    /// A connection for the auditor, the oracles and the report.
    pub db: tokio_postgres::Client,
}

/// What one network's oracles and auditor hold between epochs.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// The rows of the last finalized root.
    pub rows: Vec<RewardRow>,
    /// The last finalized root's epoch, root and total.
    pub last_root: Option<(u64, [u8; 32], u64)>,
    /// What each device has claimed in all (its cumulative amount at its last claim).
    pub claimed: BTreeMap<Pubkey, u64>,
    /// Devices the auditor suspended, with its explanation.
    pub suspended: BTreeMap<Pubkey, String>,
    /// Devices flagged (suspended or not), with the explanation, per epoch.
    pub flagged: Vec<(u64, Pubkey, String)>,
    /// Claims that landed.
    pub claims: u64,
    /// The stake pool's bonds at the last epoch boundary: the next epoch's start snapshot
    /// (`None` before the first epoch's).
    pub bonds: Option<BondSnapshot>,
    /// The devices that earned in an epoch without one bond covering it, per epoch (paid
    /// nothing for it).
    pub unbonded: Vec<(u64, Pubkey)>,
    /// The device whose operator unbonded and bonded it again within an epoch, with that
    /// epoch and its cumulative amount before it.
    pub rebonded: Option<(u64, Pubkey, u64)>,
}

/// The claims of one network's epoch, sent with the other networks'.
struct Claims {
    network: usize,
    groups: Vec<Vec<depin_sdk::Instruction>>,
    claiming: Vec<(Pubkey, u64)>,
    line: String,
}

/// The whole system, running.
pub struct Demo {
    /// The localnet.
    pub localnet: Localnet,
    /// The SDK client (its payer funds everything).
    pub client: Client,
    /// PostgreSQL, the indexer and the telemetry service (`None` without PostgreSQL).
    pub off_chain: Option<OffChain>,
    /// Why PostgreSQL is not there, if it is not.
    pub no_postgres: Option<String>,
    /// The fleet.
    pub fleet: Fleet,
    /// Per network (same order as the fleet's), the oracles' and auditor's state.
    pub ledgers: Vec<Ledger>,
    /// The demo's scale.
    pub scale: Scale,
    /// The progress display.
    pub progress: Progress,
    /// Epochs run so far.
    pub epochs_run: u64,
    /// The energy market and the client its traders use (their own payer, so they run
    /// beside the epochs), when it opened.
    pub market: Option<(Client, Market)>,
    /// The storage deals and the client their parties use, when the market opened.
    pub deals: Option<(Client, Deals)>,
    /// When the fleet started reporting (for the indexer's rows per second).
    pub started: Instant,
    _dir: tempfile::TempDir,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Polls `sql` (one BIGINT) until it gives at least `expected`, for at most `limit`.
pub async fn wait_for(
    db: &tokio_postgres::Client,
    sql: &str,
    expected: i64,
    limit: Duration,
) -> Result<(), DemoError> {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        match db.query_one(sql, &[]).await {
            Ok(row) => {
                let got: i64 = row.get(0);
                if got >= expected {
                    return Ok(());
                }
                last = Some(got);
            }
            Err(_) => last = None, // the indexer has not created the tables yet
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(DemoError::Timeout(format!(
        "`{sql}` gave {last:?}, expected {expected}, within {limit:?}"
    )))
}

impl Demo {
    /// Starts everything and bootstraps the fleet.
    pub async fn start(scale: Scale, progress: Progress) -> Result<Demo, DemoError> {
        let localnet = Localnet::start(LocalnetConfig::ephemeral()).await?;
        progress.step(format!(
            "localnet up: JSON-RPC {}, Yellowstone gRPC {} (50 ms slots)",
            localnet.rpc_url(),
            localnet.grpc_url()
        ));
        let payer = Keypair::new();
        localnet
            .airdrop(&payer.pubkey(), 10_000_000_000_000)
            .await?;
        let client = Client::new(
            localnet.rpc_url(),
            payer,
            ClientConfig {
                poll_interval: Duration::from_millis(25),
                ..ClientConfig::default()
            },
        );
        let (off_chain, no_postgres) = match TempPostgres::start().await {
            Ok(pg) => {
                let indexer = Following::start(&localnet.grpc_url(), &localnet.rpc_url(), pg.url());
                let mut config = depin_telemetry::Config::new(pg.url());
                config.listen = "127.0.0.1:0"
                    .parse()
                    .map_err(|e| DemoError::Data(format!("loopback address: {e}")))?;
                let telemetry = depin_telemetry::serve(config).await?;
                let (db, connection) =
                    tokio_postgres::connect(pg.url(), tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                progress.step(format!(
                    "PostgreSQL up (throwaway cluster), indexer following the gRPC stream, telemetry service on {}",
                    telemetry.url()
                ));
                (
                    Some(OffChain {
                        pg,
                        indexer,
                        telemetry,
                        db,
                    }),
                    None,
                )
            }
            Err(e) => {
                let why = match &e {
                    PgError::NoBinaries(_) => format!(
                        "{e}\n          install the server with `sudo apt-get install -y postgresql` (or set PG_BIN to its bin directory, or DATABASE_URL to a server); running the on-chain part alone"
                    ),
                    _ => format!("{e}; running the on-chain part alone"),
                };
                progress.step(format!("no PostgreSQL: {why}"));
                (None, Some(why))
            }
        };
        let dir = tempfile::tempdir()?;
        let fleet = Fleet::bootstrap(&client, &scale, unix_now(), dir.path()).await?;
        let devices: usize = fleet.networks.iter().map(|n| n.devices.len()).sum();
        let operators: usize = fleet.networks.iter().map(|n| n.operators.len()).sum();
        progress.step(format!(
            "bootstrapped 3 networks (wireless, storage, energy): {devices} devices in {} cities, {operators} operators staked and bonded, 2 oracles each, the auditor named",
            fleet::CITIES.len()
        ));
        if let Some(off) = &off_chain {
            wait_for(
                &off.db,
                "SELECT count(*) FROM devices WHERE status = 'active'",
                devices as i64,
                Duration::from_secs(90),
            )
            .await?;
            progress.step(format!(
                "indexer caught up: {devices} active devices in PostgreSQL"
            ));
        }
        let ledgers = vec![Ledger::default(); fleet.networks.len()];
        let market_payer = Keypair::new();
        localnet
            .airdrop(&market_payer.pubkey(), 1_000_000_000_000)
            .await?;
        let market_client = Client::new(
            localnet.rpc_url(),
            market_payer,
            ClientConfig {
                poll_interval: Duration::from_millis(25),
                ..ClientConfig::default()
            },
        );
        let mut market = None;
        if let Some(energy) = fleet.networks.iter().find(|n| n.kind == Kind::Energy) {
            let opened = Market::open(&market_client, energy).await?;
            progress.step(format!(
                "energy market open: {} producers and {} consumers, {} s intervals, 2% grid fee",
                opened.producers.len(),
                opened.consumers.len(),
                crate::market::INTERVAL_SECS
            ));
            market = Some((market_client, opened));
        }
        let deals_payer = Keypair::new();
        localnet
            .airdrop(&deals_payer.pubkey(), 1_000_000_000_000)
            .await?;
        let deals_client = Client::new(
            localnet.rpc_url(),
            deals_payer,
            ClientConfig {
                poll_interval: Duration::from_millis(25),
                ..ClientConfig::default()
            },
        );
        let mut deals = None;
        if let Some(storage) = fleet.networks.iter().find(|n| n.kind == Kind::Storage) {
            let opened = Deals::open(&deals_client, storage, dir.path()).await?;
            progress.step(format!(
                "storage market open: a client proposed {} deals to storage nodes",
                opened.deals.len()
            ));
            deals = Some((deals_client, opened));
        }
        Ok(Demo {
            localnet,
            client,
            off_chain,
            no_postgres,
            fleet,
            ledgers,
            scale,
            progress,
            epochs_run: 0,
            market,
            deals,
            started: Instant::now(),
            _dir: dir,
        })
    }

    /// Runs every epoch of the scale, and beside them one energy market interval per epoch
    /// and the storage deals (in real time: intervals and proving periods are seconds
    /// long).
    pub async fn run(&mut self) -> Result<(), DemoError> {
        let mut market = self.market.take();
        let mut deals = self.deals.take();
        let intervals = self.scale.epochs;
        let progress = self.progress.clone();
        let trading = async {
            match &mut market {
                Some((client, m)) => m.run(client, intervals, &progress).await,
                None => Ok(()),
            }
        };
        let epochs = async {
            for epoch in 0..self.scale.epochs {
                self.epoch(epoch).await?;
                self.epochs_run = epoch + 1;
            }
            Ok::<(), DemoError>(())
        };
        let storing = async {
            match &mut deals {
                Some((client, d)) => d.run(client, &progress).await,
                None => Ok(()),
            }
        };
        let (traded, stored, ran) = tokio::join!(trading, storing, epochs);
        self.market = market;
        self.deals = deals;
        ran?;
        traded?;
        stored
    }

    /// The epoch in which the cut gateway's uplink goes down.
    pub fn cut_epoch(&self) -> u64 {
        self.scale.epochs.saturating_sub(1).min(1)
    }

    /// Network `n`'s stake pool's bonds now, as its oracles snapshot them at an epoch
    /// boundary (at `confirmed`: the localnet's slots are its own, no fork undoes them).
    async fn bond_snapshot(&self, n: usize) -> Result<BondSnapshot, DemoError> {
        let network = &self.fleet.networks[n];
        self.client
            .bonds(&network.net.network, CommitmentConfig::confirmed())
            .await
            .map_err(|e| DemoError::Data(format!("{}: bonds: {e}", network.kind.name())))
    }

    /// The bond hop, seen by the oracles: within epoch `epoch`, the operator of network
    /// `n`'s first healthy device unbonds it (its stake free to back another device for a
    /// claim) and bonds it again once the chain's clock has moved past its first bonding.
    /// Both snapshots hold a bond for it, not the same one: it earns nothing for the epoch.
    /// Returns the epoch line's words and the record for [`Ledger::rebonded`].
    async fn rebond_mid_epoch(
        &self,
        n: usize,
        epoch: u64,
    ) -> Result<(String, (u64, Pubkey, u64)), DemoError> {
        let network = &self.fleet.networks[n];
        let name = network.kind.name();
        let device = network
            .devices
            .iter()
            .find(|d| d.fault.is_none())
            .ok_or_else(|| DemoError::Data(format!("{name}: no healthy device")))?;
        let bonded_at = self.ledgers[n]
            .bonds
            .as_ref()
            .and_then(|b| b.bonds.get(&device.account))
            .map(|b| b.bonded_at)
            .ok_or_else(|| {
                DemoError::Data(format!("{name}: device {} not bonded", device.account))
            })?;
        let step = format!("{name}: re-bond {}", device.account);
        // a bond made in the same second would carry the same time
        crate::clock::until(&self.client, bonded_at.saturating_add(1), &step).await?;
        let wallet = &network.operators[device.operator].wallet;
        let owner = wallet.pubkey();
        let key = network.net.network;
        let hop = [
            depin_sdk::staking::unbond_device(&owner, &owner, &key, &device.account),
            depin_sdk::staking::bond_device(&owner, &key, &device.account),
        ];
        expect_landed(
            self.client
                .send(&hop, &[wallet])
                .await
                .map_err(DemoError::chain(step.clone()))?,
        )
        .map_err(DemoError::chain(step))?;
        let before = self.ledgers[n]
            .rows
            .iter()
            .find(|r| r.device == device.account)
            .map_or(0, |r| r.cumulative_amount);
        let words = format!(
            "operator {} unbonded and bonded again device {} mid-epoch; ",
            device.operator,
            &device.account.to_string()[..8]
        );
        Ok((words, (epoch, device.account, before)))
    }

    async fn epoch(&mut self, epoch: u64) -> Result<(), DemoError> {
        let start = self.fleet.genesis + i64::try_from(epoch).unwrap_or(0) * EPOCH_SECS;
        let end = start + EPOCH_SECS;
        self.progress
            .step(format!("epoch {epoch} (simulated {} to {}):", start, end));
        // the first epoch's start snapshot (each later one starts from its predecessor's end)
        for n in 0..self.fleet.networks.len() {
            if self.ledgers[n].bonds.is_none() {
                self.ledgers[n].bonds = Some(self.bond_snapshot(n).await?);
            }
        }
        if self.off_chain.is_some() {
            self.report_epoch(epoch, start).await?;
        }
        let mut claims = Vec::new();
        for n in 0..self.fleet.networks.len() {
            claims.push(self.settle(n, epoch, start, end).await?);
        }
        // the operators of the three networks claim at the same time
        let client = &self.client;
        let sends = claims.iter_mut().map(|c| {
            let groups = std::mem::take(&mut c.groups);
            async move { client.send_packed(groups, &[], Vec::new()).await }
        });
        let outcomes = futures::future::join_all(sends).await;
        for (c, outcome) in claims.into_iter().zip(outcomes) {
            let name = self.fleet.networks[c.network].kind.name();
            let outcome =
                outcome.map_err(DemoError::chain(format!("{name}: claims of epoch {epoch}")))?;
            let ledger = &mut self.ledgers[c.network];
            let mut landed = 0u64;
            for (range, outcome) in outcome {
                if outcome.is_landed() {
                    for (device, amount) in &c.claiming[range] {
                        ledger.claimed.insert(*device, *amount);
                        landed += 1;
                    }
                }
            }
            ledger.claims += landed;
            self.progress
                .detail(format!("{name}: {}{landed} claims landed", c.line));
        }
        Ok(())
    }

    /// The fleet's readings of `epoch`, through the gateways' outboxes.
    async fn report_epoch(&mut self, epoch: u64, start: i64) -> Result<(), DemoError> {
        let Some(off) = &self.off_chain else {
            return Ok(());
        };
        let readings = self.scale.readings_per_epoch.max(1);
        let interval = EPOCH_SECS / i64::from(readings);
        let url = off.telemetry.url();
        let cut = self.fleet.cut_gateway();
        // a closed loopback port: the cut uplink's connections are refused
        let dead = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            format!("http://{}", listener.local_addr()?)
        };
        let cut_readings = if epoch == self.cut_epoch() && readings >= 4 {
            1..readings - 1
        } else if epoch == self.cut_epoch() {
            0..readings.saturating_sub(1)
        } else {
            0..0
        };
        for r in 0..readings {
            let ts = start + (i64::from(r) + 1) * interval - 1;
            for network in &self.fleet.networks {
                for d in &network.devices {
                    if let Some(metrics) = fleet::reading(network.kind, d, epoch, r) {
                        let gateway = &mut self.fleet.gateways[d.gateway];
                        gateway
                            .outbox
                            .record(&network.net.network, &d.key, ts, metrics)?;
                        gateway.recorded += 1;
                    }
                }
            }
            let is_cut = cut_readings.contains(&r);
            let mut uplinks = Vec::new();
            for (g, gateway) in self.fleet.gateways.iter().enumerate() {
                let base = if g == cut && is_cut { &dead } else { &url };
                uplinks.push(Uplink::new(base, &gateway.name, Duration::from_secs(30))?);
            }
            let deliveries = futures::future::join_all(
                self.fleet
                    .gateways
                    .iter()
                    .zip(&uplinks)
                    .map(|(g, u)| g.outbox.deliver(u)),
            )
            .await;
            for (gateway, delivery) in self.fleet.gateways.iter_mut().zip(deliveries) {
                let delivery = delivery?;
                gateway.accepted += (delivery.accepted + delivery.already_stored) as u64;
                gateway.dead += delivery.dead as u64;
                if delivery.interrupted.is_some() {
                    gateway.interrupted += 1;
                }
            }
            // a gateway whose delivery was cut short (a slow answer) tries again, a few times
            for attempt in 0..5u32 {
                let mut retried = false;
                for (g, gateway) in self.fleet.gateways.iter_mut().enumerate() {
                    if (g == cut && is_cut) || gateway.outbox.pending_len()? == 0 {
                        continue;
                    }
                    retried = true;
                    let delivery = gateway.outbox.deliver(&uplinks[g]).await?;
                    gateway.accepted += (delivery.accepted + delivery.already_stored) as u64;
                    gateway.dead += delivery.dead as u64;
                }
                if !retried {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1))).await;
            }
            let held = self.fleet.gateways[cut].outbox.pending_len()?;
            if is_cut && r == cut_readings.start {
                self.progress.detail(format!(
                    "uplink of {} cut: its readings stay signed in its outbox on disk",
                    self.fleet.gateways[cut].name
                ));
            } else if !is_cut && r == cut_readings.end && !cut_readings.is_empty() {
                self.progress.detail(format!(
                    "uplink of {} back: its outbox delivered what it held, pending now {held}",
                    self.fleet.gateways[cut].name
                ));
            }
            if is_cut && r + 1 == cut_readings.end {
                self.progress.detail(format!(
                    "{} readings held in the outbox of {} after {} reading rounds",
                    held,
                    self.fleet.gateways[cut].name,
                    cut_readings.len()
                ));
            }
        }
        let (recorded, accepted, dead) = self.fleet.gateways.iter().fold((0, 0, 0), |a, g| {
            (a.0 + g.recorded, a.1 + g.accepted, a.2 + g.dead)
        });
        self.progress.detail(format!(
            "telemetry: {} gateways, {recorded} readings signed so far, {accepted} stored by the service, {dead} refused (suspended devices)",
            self.fleet.gateways.len()
        ));
        Ok(())
    }

    /// One network's epoch: audit, multipliers, the oracles' root; returns the claims its
    /// operators send.
    async fn settle(
        &mut self,
        n: usize,
        epoch: u64,
        start: i64,
        end: i64,
    ) -> Result<Claims, DemoError> {
        let network = &self.fleet.networks[n];
        let name = network.kind.name();
        let key = network.net.network;
        let policy = RegionPolicy::default();
        let mut health: BTreeMap<Pubkey, u16> = BTreeMap::new();
        let mut table: Option<RegionMultipliers> = None;
        let mut earnings = Vec::new();
        let mut line = String::new();
        if let Some(off) = &mut self.off_chain {
            let scores = score(&off.db, &key, start, end, self.scale.readings_per_epoch).await?;
            for s in scores.iter().filter(|s| !s.findings.is_empty()) {
                let device = parse(&s.device)?;
                self.ledgers[n]
                    .flagged
                    .push((epoch, device, s.explanation()));
            }
            for s in &scores {
                let bps = (s.health.clamp(0.0, 1.0) * f64::from(ONE_BPS)).round() as u16;
                health.insert(parse(&s.device)?, bps);
            }
            // multipliers before the suspensions, from the usage of the epochs before
            if network.kind == Kind::Wireless && epoch >= 1 {
                let computed = regions::compute(&off.db, &key, epoch, &policy).await?;
                regions::publish(&mut off.db, &computed).await?;
                let spread: Vec<String> = computed
                    .rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{}×{:.2}",
                            city_of_region(r.region, policy.resolution),
                            f64::from(r.bps.unwrap_or(ONE_BPS)) / f64::from(ONE_BPS)
                        )
                    })
                    .collect();
                line.push_str(&format!("multipliers {}; ", spread.join(" ")));
                table = Some(computed.table);
            }
            let actions =
                depin_auditor::act(&off.db, &self.client, &self.fleet.auditor, &key, &scores)
                    .await?;
            for a in &actions {
                if a.outcome == "landed" {
                    let device = parse(&a.device)?;
                    let why = scores
                        .iter()
                        .find(|s| s.device == a.device)
                        .map(Score::explanation)
                        .unwrap_or_default();
                    self.ledgers[n].suspended.insert(device, why);
                }
            }
            let flagged = scores.iter().filter(|s| !s.findings.is_empty()).count();
            line.push_str(&format!(
                "auditor scored {} devices, flagged {flagged}, suspended {}; ",
                scores.len(),
                actions.iter().filter(|a| a.outcome == "landed").count()
            ));
            // what the scored devices earned, from the telemetry the service stored
            let scored: BTreeSet<Pubkey> = health.keys().copied().collect();
            let amount = match network.kind {
                Kind::Wireless => "sum(bytes_served) / 100",
                Kind::Storage => "sum(proofs_answered) * 10000",
                Kind::Energy => "sum(produced_wh) * 100",
            };
            let sql = format!(
                "SELECT t.device, d.owner, d.location, ({amount})::BIGINT
                 FROM telemetry t JOIN devices d ON d.device = t.device
                 WHERE t.network = $1 AND t.unix_ts >= $2 AND t.unix_ts < $3
                 GROUP BY t.device, d.owner, d.location"
            );
            for row in off
                .db
                .query(&sql, &[&key.to_string(), &start, &end])
                .await?
            {
                let device = parse(row.get::<_, &str>(0))?;
                if !scored.contains(&device) {
                    continue;
                }
                let location: Option<&str> = row.get(2);
                let region = match location {
                    Some(cell) => regions::region_of(cell, policy.resolution)?,
                    None => 0,
                };
                earnings.push(Earning {
                    device,
                    owner: parse(row.get::<_, &str>(1))?,
                    region,
                    amount: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
                });
            }
        } else {
            // without PostgreSQL the oracle reads the fleet's readings directly
            for d in &network.devices {
                let mut amount = 0u64;
                for r in 0..self.scale.readings_per_epoch.max(1) {
                    amount += match fleet::reading(network.kind, d, epoch, r) {
                        Some(depin_sdk::telemetry::Metrics::Wireless { bytes_served, .. }) => {
                            bytes_served / 100
                        }
                        Some(depin_sdk::telemetry::Metrics::Storage {
                            proofs_answered, ..
                        }) => u64::from(proofs_answered) * 10_000,
                        Some(depin_sdk::telemetry::Metrics::Energy { produced_wh, .. }) => {
                            produced_wh * 100
                        }
                        _ => 0,
                    };
                }
                earnings.push(Earning {
                    device: d.account,
                    owner: network.operators[d.operator].wallet.pubkey(),
                    region: 0,
                    amount,
                });
            }
        }

        let mut rebonded = None;
        if network.kind == Kind::Wireless && epoch == self.cut_epoch() {
            let (words, record) = self.rebond_mid_epoch(n, epoch).await?;
            line.push_str(&words);
            rebonded = Some(record);
        }
        // the pool's bonds at the epoch's end: with those at its start, which devices one
        // bond covered all epoch (only those earn for it)
        let bonds_end = self.bond_snapshot(n).await?;
        // the oracles: rows, tree, both propose; quorum 2 finalizes
        let ledger = &self.ledgers[n];
        let bonds_start = ledger.bonds.as_ref().ok_or_else(|| {
            DemoError::Data(format!("{name}: no bond snapshot at epoch {epoch}'s start"))
        })?;
        let coverage = incentives::Coverage {
            start: bonds_start,
            end: &bonds_end,
        };
        let previous_total = ledger.last_root.map_or(0, |r| r.2);
        let budget = incentives::epoch_budget(&network.schedule.into(), epoch, previous_total)
            .map_err(|e| DemoError::Oracle(e.to_string()))?;
        // with the auditor running, only the devices it scored earn (see above); without it
        // the epoch has no scores and every device counts as healthy
        let scores = self.off_chain.is_some().then_some(incentives::Health {
            scores: &health,
            unscored_bps: 0,
        });
        let rows = incentives::epoch_rows(
            &ledger.rows,
            &earnings,
            coverage,
            scores,
            table.as_ref(),
            budget,
        )
        .map_err(|e| DemoError::Oracle(e.to_string()))?;
        match rows.unbonded.len() {
            0 => {}
            1 => line.push_str("1 device earned without a bond all epoch, paid nothing for it; "),
            n => line.push_str(&format!(
                "{n} devices earned without a bond all epoch, paid nothing for them; "
            )),
        }
        let unbonded: Vec<(u64, Pubkey)> = rows.unbonded.iter().map(|d| (epoch, *d)).collect();
        let tree = RewardTree::build(rows.rows.clone())
            .map_err(|e| DemoError::Oracle(format!("{e:?}")))?;
        let hash = table.as_ref().map_or([0; 32], RegionMultipliers::hash);
        // both oracles propose at once; the second proposal reaches the quorum
        let proposals = network.oracles.iter().map(|oracle| {
            let propose = rewards::propose_root(
                &oracle.pubkey(),
                &key,
                ProposeRootArgs {
                    epoch,
                    root: tree.root(),
                    cumulative_total: tree.total(),
                    multipliers_hash: hash,
                },
            );
            let client = &self.client;
            async move { client.send(&[propose], &[oracle]).await }
        });
        for outcome in futures::future::join_all(proposals).await {
            let step = format!("{name}: propose epoch {epoch}");
            expect_landed(outcome.map_err(DemoError::chain(step.clone()))?)
                .map_err(DemoError::chain(step))?;
        }
        let config = pda::rewards_config(&key).0;
        let root = self
            .client
            .rpc()
            .get_account_data(&pda::epoch_root(&config, epoch).0)
            .await
            .map_err(|e| DemoError::Data(format!("{name}: epoch root {epoch}: {e}")))?;
        let root: EpochRoot = depin_sdk::accounts::decode(&root)
            .map_err(|e| DemoError::Data(format!("{name}: epoch root {epoch}: {e:?}")))?;
        if !root.finalized || root.root != tree.root() {
            return Err(DemoError::Data(format!(
                "{name}: epoch {epoch}'s root is not the oracles' finalized root"
            )));
        }
        line.push_str(&format!(
            "root finalized by 2 of 2 oracles, {} paid this epoch{}; ",
            rows.paid,
            if rows.scaled {
                " (scaled to the budget)"
            } else {
                ""
            }
        ));

        // the operators claim every active device's new amount
        let mut groups = Vec::new();
        let mut claiming = Vec::new();
        for d in &network.devices {
            if ledger.suspended.contains_key(&d.account) {
                continue;
            }
            let Some(proof) = tree.proof(&d.account) else {
                continue;
            };
            let before = ledger.claimed.get(&d.account).copied();
            if before.unwrap_or(0) >= proof.row.cumulative_amount {
                continue;
            }
            groups.push(rewards::claim_instructions(
                &self.client.payer(),
                &key,
                &d.account,
                &network.operators[d.operator].wallet.pubkey(),
                &network.net.reward_token(),
                &network.recipients[d.operator],
                ClaimArgs {
                    epoch,
                    cumulative_amount: proof.row.cumulative_amount,
                    proof: proof.proof,
                },
                before.is_some(),
            ));
            claiming.push((d.account, proof.row.cumulative_amount));
        }
        let ledger = &mut self.ledgers[n];
        ledger.rows = rows.rows;
        ledger.last_root = Some((epoch, tree.root(), tree.total()));
        ledger.bonds = Some(bonds_end);
        ledger.unbonded.extend(unbonded);
        if rebonded.is_some() {
            ledger.rebonded = rebonded;
        }
        Ok(Claims {
            network: n,
            groups,
            claiming,
            line,
        })
    }

    /// Waits until the indexer has every claim and audit the demo landed.
    pub async fn settle_indexer(&self) -> Result<(), DemoError> {
        let Some(off) = &self.off_chain else {
            return Ok(());
        };
        let claims: u64 = self.ledgers.iter().map(|l| l.claims).sum();
        let audits: usize = self.ledgers.iter().map(|l| l.suspended.len()).sum();
        if let Some((_, deals)) = &self.deals {
            wait_for(
                &off.db,
                "SELECT count(*) FROM storage_deal_completed",
                i64::try_from(deals.completed).unwrap_or(i64::MAX),
                Duration::from_secs(60),
            )
            .await?;
        }
        if let Some((_, market)) = &self.market {
            wait_for(
                &off.db,
                "SELECT count(*) FROM energy_interval_settled",
                i64::try_from(market.cleared.len()).unwrap_or(i64::MAX),
                Duration::from_secs(60),
            )
            .await?;
        }
        wait_for(
            &off.db,
            "SELECT count(*) FROM rewards_rewards_claimed",
            i64::try_from(claims).unwrap_or(i64::MAX),
            Duration::from_secs(60),
        )
        .await?;
        wait_for(
            &off.db,
            "SELECT count(*) FROM registry_device_audited",
            i64::try_from(audits).unwrap_or(i64::MAX),
            Duration::from_secs(60),
        )
        .await
    }

    /// Stops every service, the indexer first.
    pub async fn stop(self) -> Result<(), DemoError> {
        let Demo {
            localnet,
            off_chain,
            ..
        } = self;
        let mut failure = None;
        if let Some(off) = off_chain {
            off.telemetry.stop().await;
            if let Err(e) = off.indexer.stop().await {
                failure = Some(DemoError::Data(format!("stopping the indexer: {e}")));
            }
            drop(off.db);
            drop(off.pg);
        }
        localnet.stop().await;
        failure.map_or(Ok(()), Err)
    }
}

/// The auditor's scores of one network over one epoch (the one call to the auditor's
/// detection, so a change of its signature is made here only).
async fn score(
    db: &tokio_postgres::Client,
    network: &Pubkey,
    from: i64,
    to: i64,
    readings: u32,
) -> Result<Vec<Score>, DemoError> {
    let thresholds = Thresholds {
        report_interval_secs: EPOCH_SECS / i64::from(readings.max(1)),
        ..Thresholds::default()
    };
    Ok(depin_auditor::score_network(db, &network.to_string(), from, to, &thresholds).await?)
}

fn parse(key: &str) -> Result<Pubkey, DemoError> {
    key.parse()
        .map_err(|e| DemoError::Data(format!("address {key}: {e}")))
}

/// The city whose devices sit in `region` (or the region in hex).
pub fn city_of_region(region: u64, resolution: u8) -> String {
    for (c, (name, ..)) in fleet::CITIES.iter().enumerate() {
        let ok = fleet::cell(c, 0)
            .ok()
            .and_then(|cell| regions::region_of(&format!("{cell:x}"), resolution).ok());
        if ok == Some(region) {
            return (*name).to_string();
        }
    }
    format!("{region:x}")
}
