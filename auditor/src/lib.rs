//! # Node auditor
//!
//! Scores every device of a network, window after window, from the telemetry its gateways
//! sent (the `telemetry` table) and the registry as indexed (`devices`, the onboarding and
//! `LocationAsserted` events), flags the devices that lag, malfunction, inflate what they
//! report, spoof their location or collude (series that move together, or storage nodes
//! paid only by their own operators, from the indexed deals), explains each flag in plain words (which
//! feature, against which baseline), and closes the loop on chain: a device flagged badly
//! enough is suspended with `audit_device`, carrying the hash of the findings as evidence,
//! and the action is recorded in `audit_actions` for the network authority to review (and
//! reverse with `set_device_status`).
//!
//! ## Modules overview
//! - [`features`]: a device's reports over a window reduced to compact [`features::DayFeatures`]
//!   (reports against expected, service per time bucket, shapes of a broken meter).
//! - [`detect`]: the [`detect::Auditor`], which compares each device with its region's
//!   baseline (an `augurs` MSTL forecast of the region's daily profile, medians and robust
//!   z-scores) and with its own previous windows, and returns [`Finding`]s; see its doc for
//!   every detector.
//! - [`sim`]: a seeded fleet simulator (classes, H3 regions around real cities, daily
//!   seasonality, weather, outages) with labelled faults of every kind, for the tests and
//!   the `fleet` benchmark.
//! - this file: [`Finding`] and [`Score`], [`score_network`] (the same detectors over what
//!   PostgreSQL holds), [`health_map`] (each device's health in basis points, the
//!   oracle's input) and [`act`] (suspensions on chain).
//! - [`market`]: who serves whom: devices whose storage deals are paid by their own
//!   operators (self-dealing, or a circle of operators buying from each other only).
//! - [`regions`]: demand-driven region multipliers, forecast from the indexed usage and
//!   published with their hash.
//!
//! What it detects, and when, is set by [`Thresholds`].

pub mod detect;
pub mod features;
pub mod market;
pub mod regions;
pub mod sim;

use std::collections::BTreeMap;

use depin_sdk::client::{Client, ClientError, Outcome};
use depin_sdk::registry::{self, AuditDeviceArgs, DeviceStatus};
use depin_sdk::Pubkey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use solana_keypair::Keypair;
use tokio_postgres::Client as Db;

use detect::{Assertion, Auditor, DeviceInfo};
use features::{extract, DayFeatures, DeviceClass, Reading, Window};
use market::{closed_markets, Deal, MarketThresholds};

/// When a device is flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Seconds between two reports of a healthy device.
    pub report_interval_secs: i64,
    /// Fraction of the expected reports below which a device lags.
    pub min_report_ratio: f64,
    /// Fraction of the expected reports below which a device lags when it also fell below
    /// it in the previous window (a healthy device's outages are short and rare).
    pub late_report_ratio: f64,
    /// Robust z-score (of the logarithm, against its region's devices of its class) above
    /// which a device inflates.
    pub inflation_z: f64,
    /// Multiple of the class median (or of its own previous ratio to it) above which a
    /// device inflates.
    pub inflation_ratio: f64,
    /// Fewest peers of a class in a region for a baseline.
    pub min_peers: usize,
    /// Reports on one non-zero value after which a meter is stuck.
    pub stuck_reports: usize,
    /// Buckets reading zero where the baseline expects service, after which a device is
    /// broken.
    pub zero_buckets: usize,
    /// Median change, from one bucket to the next, of the log ratio of a device's readings
    /// to the baseline above which its readings are erratic (healthy noise stays around
    /// 0.2; a single step, such as a fault starting, is one change and does not count).
    pub erratic_log_sd: f64,
    /// Share of a meter's production in hours when its region produces nothing above which
    /// it is broken.
    pub night_share: f64,
    /// Share of storage challenges missed above which a storage node is broken.
    pub max_missed_ratio: f64,
    /// Multiple of the region's clearest recent level (energy per W of panel) above which a
    /// meter inflates: more than its panel can deliver under a clear sky.
    pub clear_sky_ratio: f64,
    /// Multiple of the region's producers' level above which a meter that produced like
    /// them on the region's clearest recent day inflates on a darker one (at most 0.75 of
    /// that day's level; its ratio to them up at least 1.25-fold, its own output within a
    /// third of that day's), when its hourly ratio to them also swings with their clouds.
    pub neighbour_ratio: f64,
    /// Speed (km/h) between two asserted cells above which the location is spoofed.
    pub max_speed_kmh: f64,
    /// Distance (km) under which a move is never called spoofing (neighbouring cells).
    pub min_jump_km: f64,
    /// Correlation of the hourly deviations from the baseline above which two devices move
    /// together beyond chance.
    pub collusion_correlation: f64,
    /// Fewest devices in a colluding ring.
    pub collusion_min_ring: usize,
    /// Standard deviation of the log deviations below which a series is too smooth to
    /// compare (identical honest readings are not collusion).
    pub collusion_min_sd: f64,
    /// Windows before the scored one that [`score_network`] replays, so that the
    /// detectors see each device's recent history.
    pub history_windows: u32,
    /// When storage nodes serve only their own operators (over the storage deals accepted
    /// in the scored and the replayed windows).
    pub market: MarketThresholds,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            report_interval_secs: 300,
            min_report_ratio: 0.5,
            late_report_ratio: 0.8,
            inflation_z: 6.0,
            inflation_ratio: 3.0,
            min_peers: 5,
            stuck_reports: 6,
            zero_buckets: 3,
            erratic_log_sd: 0.75,
            night_share: 0.15,
            max_missed_ratio: 0.5,
            clear_sky_ratio: 1.5,
            neighbour_ratio: 1.3,
            max_speed_kmh: 1_000.0,
            min_jump_km: 50.0,
            collusion_correlation: 0.95,
            collusion_min_ring: 3,
            collusion_min_sd: 0.03,
            history_windows: 6,
            market: MarketThresholds::default(),
        }
    }
}

/// What an inflation finding compares the device with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "against", rename_all = "snake_case")]
pub enum InflationBaseline {
    /// The median of its region's devices of its class in the window.
    ClassPeers,
    /// Its own ratio to that median over its previous windows.
    OwnHistory {
        /// Its median ratio to the class median before.
        ratio_before: f64,
        /// Windows that median covers.
        windows: usize,
    },
    /// The region's clearest recent level (energy per W of panel).
    ClearSky,
}

/// The kinds of [`Finding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// See [`Finding::Lagging`].
    Lagging,
    /// See [`Finding::Malfunction`].
    Malfunction,
    /// See [`Finding::Inflation`].
    Inflation,
    /// See [`Finding::NeighbourInflation`].
    NeighbourInflation,
    /// See [`Finding::LocationSpoofing`].
    LocationSpoofing,
    /// See [`Finding::Collusion`].
    Collusion,
}

impl FindingKind {
    /// Every kind, in order.
    pub const ALL: [FindingKind; 6] = [
        FindingKind::Lagging,
        FindingKind::Malfunction,
        FindingKind::Inflation,
        FindingKind::NeighbourInflation,
        FindingKind::LocationSpoofing,
        FindingKind::Collusion,
    ];

    /// Its name in snake case.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Lagging => "lagging",
            FindingKind::Malfunction => "malfunction",
            FindingKind::Inflation => "inflation",
            FindingKind::NeighbourInflation => "neighbour_inflation",
            FindingKind::LocationSpoofing => "location_spoofing",
            FindingKind::Collusion => "collusion",
        }
    }
}

/// What is wrong with a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// It reports too rarely.
    Lagging {
        /// Reports in the window.
        reports: i64,
        /// Reports a healthy device sends in it.
        expected: i64,
        /// Seconds since its last report, at the window's end.
        silent_secs: i64,
        /// Its share of the expected reports in the previous window, when that one was
        /// short too (the finding rests on both).
        previous_ratio: Option<f64>,
    },
    /// Its readings cannot be real measurements.
    Malfunction {
        /// What was seen.
        what: String,
    },
    /// It reports far more service than its class makes plausible.
    Inflation {
        /// The feature.
        feature: &'static str,
        /// Its value over the window.
        value: f64,
        /// The baseline's value (the class median, or the region's clearest level).
        median: f64,
        /// Its robust z-score against the class.
        z: f64,
        /// Peers in the baseline.
        peers: usize,
        /// What it is compared with.
        baseline: InflationBaseline,
    },
    /// A meter whose output does not follow the clouds its region's other producers saw:
    /// far more than them on a cloudy window, although on the region's clear days it
    /// produced what they did, or more than the region's clearest recent day while its
    /// hourly ratio to them swings with their clouds.
    NeighbourInflation {
        /// Its energy per W of panel in the window.
        value: f64,
        /// The median of the region's producers in the window.
        neighbours: f64,
        /// Producers in that median.
        producers: usize,
        /// The region's median on its clearest recent day.
        clear_day: f64,
        /// Its own value on that day.
        clear_day_value: f64,
        /// Median change of the log of its ratio to the region's median from one bucket to
        /// the next (it swings with clouds it does not see).
        hourly_spread: f64,
        /// The same, median over the region's producers.
        neighbours_spread: f64,
    },
    /// Its asserted location moved faster than anything could.
    LocationSpoofing {
        /// The cell it was in (H3, hex).
        from: String,
        /// The cell asserted next.
        to: String,
        /// Great-circle distance between their centres.
        km: f64,
        /// Hours between the two assertions.
        hours: f64,
        /// The speed that implies.
        kmh: f64,
    },
    /// It belongs to a ring of devices whose readings move together beyond chance.
    Collusion {
        /// Devices in the ring (itself included).
        ring: usize,
        /// The others (at most ten).
        with: Vec<String>,
        /// The weakest correlation that tied the ring.
        correlation: f64,
        /// Buckets compared.
        buckets: usize,
    },
    /// It serves a circle of wallets that own the devices they buy from, and nobody else
    /// (see [`market`]).
    ClosedMarket {
        /// Wallets in the circle (1: its operator pays its own device).
        wallets: usize,
        /// Devices of the circle that served it.
        devices: usize,
        /// The others (at most ten).
        with: Vec<String>,
        /// Deals paid by the circle to its own devices in the window.
        inside_deals: usize,
        /// Share of the circle's devices' revenue paid by the circle.
        inside_share: f64,
    },
}

impl Finding {
    /// Its kind.
    pub fn kind(&self) -> FindingKind {
        match self {
            Finding::Lagging { .. } => FindingKind::Lagging,
            Finding::Malfunction { .. } => FindingKind::Malfunction,
            Finding::Inflation { .. } => FindingKind::Inflation,
            Finding::NeighbourInflation { .. } => FindingKind::NeighbourInflation,
            Finding::LocationSpoofing { .. } => FindingKind::LocationSpoofing,
            Finding::Collusion { .. } | Finding::ClosedMarket { .. } => FindingKind::Collusion,
        }
    }

    /// The multiplier this finding puts on the device's rewards.
    pub fn health(&self) -> f64 {
        match self {
            Finding::Lagging { .. } => 0.5,
            Finding::Malfunction { .. } => 0.25,
            Finding::Inflation { .. }
            | Finding::NeighbourInflation { .. }
            | Finding::LocationSpoofing { .. }
            | Finding::Collusion { .. }
            | Finding::ClosedMarket { .. } => 0.0,
        }
    }

    /// Whether it warrants a suspension (not just a lower multiplier).
    pub fn suspends(&self) -> bool {
        match self {
            Finding::Lagging { reports, .. } => *reports == 0,
            _ => true,
        }
    }

    /// The finding in plain words.
    pub fn explain(&self) -> String {
        match self {
            Finding::Lagging {
                reports,
                expected,
                silent_secs,
                previous_ratio,
            } => {
                let mut s = format!(
                    "lagging: {reports} reports where a healthy device sends {expected}; silent for the last {silent_secs} s"
                );
                if let Some(p) = previous_ratio {
                    s.push_str(&format!(
                        "; the window before it also sent only {:.0}% of them",
                        100.0 * p
                    ));
                }
                s
            }
            Finding::Malfunction { what } => format!("malfunction: {what}"),
            Finding::Inflation {
                feature,
                value,
                median,
                z,
                peers,
                baseline,
            } => match baseline {
                InflationBaseline::ClassPeers => format!(
                    "inflation: {feature} {value:.0} over the window against a median of {median:.0} among {peers} devices of its class (robust z-score {z:.1})"
                ),
                InflationBaseline::OwnHistory {
                    ratio_before,
                    windows,
                } => format!(
                    "inflation: {feature} {value:.0} over the window is {:.1} times the median of {median:.0} among {peers} devices of its class, where over its previous {windows} windows it was {ratio_before:.2} times it: a {:.1}-fold jump",
                    value / median,
                    value / median / ratio_before
                ),
                InflationBaseline::ClearSky => format!(
                    "inflation: {feature} {value:.2} over the window, {:.1} times what its region's producers reached on their clearest recent day ({median:.2}, median of {peers}): more than its panel can deliver under a clear sky",
                    value / median
                ),
            },
            Finding::NeighbourInflation {
                value,
                neighbours,
                producers,
                clear_day,
                clear_day_value,
                hourly_spread,
                neighbours_spread,
            } => {
                let that_day = if *clear_day_value <= 1.6 * clear_day {
                    "like them".to_string()
                } else {
                    format!(
                        "already {:.1} times them, beyond what its panel makes under that sky",
                        clear_day_value / clear_day
                    )
                };
                format!(
                    "neighbour inflation: {value:.2} Wh per W of panel over the window, {:.1} times the median of its region's {producers} other producers ({neighbours:.2}) under this window's clouds; on the region's clearest recent day (median {clear_day:.2}) it produced {clear_day_value:.2}, {that_day}; hour by hour its ratio to the region's median changes by a median factor of e^{hourly_spread:.2} where theirs changes by e^{neighbours_spread:.2}: its output does not follow the weather its neighbours saw",
                    value / neighbours
                )
            }
            Finding::LocationSpoofing {
                from,
                to,
                km,
                hours,
                kmh,
            } => format!(
                "location spoofing: asserted cell {to} {hours:.1} h after cell {from}, {km:.0} km away: {kmh:.0} km/h, faster than any device travels"
            ),
            Finding::Collusion {
                ring,
                with,
                correlation,
                buckets,
            } => format!(
                "collusion: its deviations from the regional baseline over {buckets} buckets move with those of {} ({ring} devices in the ring, correlations of at least {correlation:.3}, where independent devices stay near 0)",
                with.join(", ")
            ),
            Finding::ClosedMarket {
                wallets,
                devices,
                with,
                inside_deals,
                inside_share,
            } => {
                let circle = if *wallets == 1 {
                    "its own operator".to_string()
                } else {
                    format!("a circle of {wallets} operators who buy from each other's devices")
                };
                let others = if with.is_empty() {
                    String::new()
                } else {
                    format!(" (with {})", with.join(", "))
                };
                format!(
                    "collusion: its storage deals in the window were paid by {circle}: {inside_deals} deals inside the circle, {:.0}% of what the circle's {devices} serving devices{others} earned, so they serve each other rather than the network",
                    100.0 * inside_share
                )
            }
        }
    }
}

/// A device's score over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The `Device` account.
    pub device: String,
    /// Its device key.
    pub device_key: String,
    /// The multiplier on its rewards: 1 when healthy, the lowest of its findings' otherwise.
    pub health: f64,
    /// What was found.
    pub findings: Vec<Finding>,
}

impl Score {
    /// Every finding in plain words, or "healthy".
    pub fn explanation(&self) -> String {
        if self.findings.is_empty() {
            "healthy".into()
        } else {
            self.findings
                .iter()
                .map(Finding::explain)
                .collect::<Vec<_>>()
                .join("; ")
        }
    }

    /// SHA-256 of the score as JSON: the evidence an on-chain action carries.
    pub fn evidence(&self) -> [u8; 32] {
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(json).into()
    }
}

/// The server's own message (and SQLSTATE) of a database error when there is one, since
/// `tokio_postgres` alone prints "db error"; else the error and its cause.
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Why the auditor could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database failed.
    #[error("database: {}", pg_message(.0))]
    Database(#[from] tokio_postgres::Error),
    /// A stored value is not what the indexer or the telemetry service writes.
    #[error("unexpected data: {0}")]
    Data(String),
    /// The detectors refused their input.
    #[error("detectors: {0}")]
    Detect(#[from] detect::DetectError),
}

/// One device's telemetry and registry history, as read from the database.
#[derive(Debug, Clone, Default)]
struct Series {
    device_key: String,
    kind: String,
    readings: Vec<Reading>,
    onboarded_ts: i64,
    /// When it was last reinstated (unix seconds): the time of its latest status change to
    /// active (the latest change of any kind may be a suspension the state rows do not
    /// show yet). Nothing is expected of it before, and what it reported before was judged
    /// then.
    reinstated_ts: Option<i64>,
    /// Panel rating of a meter (W), 0 when unknown.
    capacity_w: f64,
    /// Its cells as onboarded and asserted since, with their times, in time order.
    cells: Vec<(i64, u64)>,
}

fn parse_cell(hex: &str) -> Result<u64, AuditError> {
    u64::from_str_radix(hex, 16).map_err(|e| AuditError::Data(format!("cell {hex}: {e}")))
}

/// Scores every active device of `network` (but one reinstated only after `to`, which has
/// nothing in the window to answer for) over `(from, to]` (unix seconds: a report is
/// stamped at the end of the interval it covers, so one stamped at `to` is this window's
/// and one at `from` the window's before), after
/// replaying the [`Thresholds::history_windows`] windows of the same length before it so
/// that each device is also compared with its own recent history.
pub async fn score_network(
    db: &Db,
    network: &str,
    from: i64,
    to: i64,
    thresholds: &Thresholds,
) -> Result<Vec<Score>, AuditError> {
    let window = Window {
        from,
        to,
        interval_secs: thresholds.report_interval_secs.max(1),
    };
    let earliest = window.earlier(i64::from(thresholds.history_windows)).from;
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for row in db
        .query(
            "SELECT d.device, d.device_key, d.onboarded_ts, COALESCE(o.panel_watts, 0),
                    o.location, o.unix_ts, depin_reinstated_ts(d.device)
             FROM devices d
             LEFT JOIN LATERAL (SELECT panel_watts, location, unix_ts FROM registry_device_onboarded x
                 WHERE x.device = d.device
                 ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC
                 LIMIT 1) o ON true
             WHERE d.network = $1 AND d.status = 'active'",
            &[&network],
        )
        .await?
    {
        let mut cells = Vec::new();
        if let (Some(hex), Some(ts)) = (row.get::<_, Option<String>>(4), row.get::<_, Option<i64>>(5))
        {
            cells.push((ts, parse_cell(&hex)?));
        }
        series.insert(
            row.get(0),
            Series {
                device_key: row.get(1),
                onboarded_ts: row.get(2),
                reinstated_ts: row.get(6),
                capacity_w: row.get::<_, i64>(3) as f64,
                cells,
                ..Series::default()
            },
        );
    }
    for row in db
        .query(
            "SELECT a.device, a.location, a.unix_ts FROM registry_location_asserted a
             JOIN devices d ON d.device = a.device
             WHERE d.network = $1 AND d.status = 'active' AND a.unix_ts <= $2
             ORDER BY a.device, a.unix_ts",
            &[&network, &to],
        )
        .await?
    {
        let device: String = row.get(0);
        if let Some(s) = series.get_mut(&device) {
            s.cells.push((row.get(2), parse_cell(row.get(1))?));
        }
    }
    // the network's kind says what its devices measure: in a network whose devices report
    // metrics, a heartbeat is not one of their reports (a hotspot whose radio died but
    // whose gateway still beats is silent, not healthy); in one without (compute), a
    // heartbeat is the report, alive and measuring nothing
    let network_kind: Option<String> = db
        .query_opt("SELECT kind FROM networks WHERE network = $1", &[&network])
        .await?
        .map(|row| row.get(0));
    let measures = network_kind
        .as_deref()
        .is_some_and(|k| DeviceClass::from_kind(k) != DeviceClass::Other);
    if let Some(kind) = &network_kind {
        for s in series.values_mut() {
            s.kind = kind.clone();
        }
    }
    for row in db
        .query(
            "SELECT device, kind, unix_ts, uptime_secs, bytes_served, proofs_answered,
                    proofs_missed, produced_wh, consumed_wh
             FROM telemetry WHERE network = $1 AND unix_ts > $2 AND unix_ts <= $3
             ORDER BY device, unix_ts",
            &[&network, &earliest, &to],
        )
        .await?
    {
        let device: String = row.get(0);
        let Some(s) = series.get_mut(&device) else {
            continue; // suspended or decommissioned since: not scored
        };
        let kind: String = row.get(1);
        let n = |i: usize| row.get::<_, Option<i64>>(i).unwrap_or(0);
        let (primary, secondary) = match kind.as_str() {
            "wireless" => (n(4), 0),
            "storage" => (n(5), n(6)),
            "energy" => (n(7), n(8)),
            _ => (0, 0),
        };
        let heartbeat = kind == "heartbeat";
        if heartbeat && measures {
            continue;
        }
        if network_kind.is_none() && (!heartbeat || s.kind.is_empty()) {
            s.kind = kind;
        }
        s.readings.push(Reading {
            ts: row.get(2),
            uptime_secs: n(3),
            primary: primary as f64,
            secondary: secondary as f64,
            heartbeat,
        });
    }
    let mut scores = score(&series, from, to, thresholds)?;
    let market = storage_market(db, network, earliest, to, &thresholds.market).await?;
    for s in &mut scores {
        if let Some(finding) = market.get(&s.device) {
            s.health = s.health.min(finding.health());
            s.findings.push(finding.clone());
        }
    }
    Ok(scores)
}

/// The [`closed_markets`] of `network`'s storage deals accepted in `[from, to)`, by device:
/// each acceptance's provider wallet (the device's owner) paid by its proposal's client,
/// the value the proposal escrowed (price per period times periods). A deal address used
/// again pairs each acceptance with the proposal just before it.
async fn storage_market(
    db: &Db,
    network: &str,
    from: i64,
    to: i64,
    t: &MarketThresholds,
) -> Result<BTreeMap<String, Finding>, AuditError> {
    let rows = db
        .query(
            "SELECT p.client, p.provider_device, a.provider,
                    (p.price_per_period * p.periods)::float8
             FROM storage_deal_accepted a
             JOIN LATERAL (SELECT client, provider_device, price_per_period, periods
                 FROM storage_deal_proposed x
                 WHERE x.deal = a.deal
                   AND (x.slot, x.tx_index, x.instruction_index, x.event_index)
                     < (a.slot, a.tx_index, a.instruction_index, a.event_index)
                 ORDER BY x.slot DESC, x.tx_index DESC, x.instruction_index DESC,
                          x.event_index DESC
                 LIMIT 1) p ON true
             JOIN devices d ON d.device = p.provider_device
             WHERE d.network = $1 AND a.start_ts >= $2 AND a.start_ts < $3",
            &[&network, &from, &to],
        )
        .await?;
    let mut wallets: BTreeMap<String, u32> = BTreeMap::new();
    let mut devices: Vec<String> = Vec::new();
    let mut device_ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut deals = Vec::with_capacity(rows.len());
    for row in rows {
        let mut id = |w: String| {
            let next = wallets.len() as u32;
            *wallets.entry(w).or_insert(next)
        };
        let client = id(row.get(0));
        let owner = id(row.get(2));
        let name: String = row.get(1);
        let device = *device_ids.entry(name.clone()).or_insert_with(|| {
            devices.push(name);
            devices.len() as u32 - 1
        });
        deals.push(Deal {
            client,
            device,
            owner,
            value: row.get(3),
        });
    }
    let name = |d: u32| devices.get(d as usize).cloned().unwrap_or_default();
    Ok(closed_markets(&deals, name, t)
        .into_iter()
        .map(|(d, f)| (name(d), f))
        .collect())
}

/// The region of a cell: its parent at resolution 5 (about 250 km²).
fn region_of(cell: u64) -> Option<u64> {
    h3o::CellIndex::try_from(cell)
        .ok()
        .and_then(|c| c.parent(h3o::Resolution::Five))
        .map(u64::from)
}

/// Scores `series` over the window `(from, to]` after replaying the history windows
/// before it: every device but one reinstated only after the window ended.
fn score(
    series: &BTreeMap<String, Series>,
    from: i64,
    to: i64,
    t: &Thresholds,
) -> Result<Vec<Score>, detect::DetectError> {
    let window = Window {
        from,
        to,
        interval_secs: t.report_interval_secs.max(1),
    };
    let history = i64::from(t.history_windows);
    let earliest = window.earlier(history).from;
    let mut regions: BTreeMap<u64, u32> = BTreeMap::new();
    let mut infos = Vec::with_capacity(series.len());
    let mut names = Vec::with_capacity(series.len());
    for (device, s) in series {
        // where it was before the first replayed window, and where it is at the end
        let before = s.cells.iter().rev().find(|(ts, _)| *ts < earliest).copied();
        let last = s.cells.last().map(|(_, c)| *c);
        let region = match last.and_then(region_of) {
            Some(r) => {
                let next = regions.len() as u32;
                *regions.entry(r).or_insert(next)
            }
            None => u32::MAX,
        };
        infos.push(DeviceInfo {
            class: DeviceClass::from_kind(&s.kind),
            region,
            capacity_w: s.capacity_w,
            cell: before.map(|(_, c)| c),
            cell_ts: before.map_or(0, |(ts, _)| ts),
        });
        names.push(device.clone());
    }
    let mut auditor = Auditor::new(t.clone(), infos, names);
    let mut last = Vec::new();
    for k in (0..=history).rev() {
        let w = window.earlier(k);
        let mut features: Vec<DayFeatures> = Vec::with_capacity(series.len());
        let mut assertions = Vec::new();
        for (i, s) in series.values().enumerate() {
            let class = DeviceClass::from_kind(&s.kind);
            let reinstated = s.reinstated_ts.unwrap_or(i64::MIN);
            if w.to <= reinstated || (w.to <= s.onboarded_ts && k > 0) {
                // a window before it was reinstated, or a replayed one before it was on
                // chain: nothing was expected of it, and what it reported before its
                // reinstatement was judged then (the authority reviewed that evidence)
                features.push(DayFeatures::absent(class));
            } else {
                let readings = window_readings(&s.readings, &w);
                let cut = readings.partition_point(|r| r.ts <= reinstated);
                let mut f = extract(class, &w, &readings[cut..]);
                let since = s.onboarded_ts.max(reinstated);
                if w.from < since && since < w.to {
                    // onboarded or reinstated during the window: only the reports due since
                    // then are expected (none yet, less than an interval after)
                    let live = w.to - since;
                    f.expected = u32::try_from(live / w.interval_secs.max(1)).unwrap_or(0);
                    f.silent_secs = f.silent_secs.min(live);
                }
                features.push(f);
            }
            assertions.extend(
                s.cells
                    .iter()
                    .filter(|(ts, _)| *ts >= w.from && (*ts < w.to || (k == 0 && *ts == w.to)))
                    .map(|(ts, cell)| Assertion {
                        device: i as u32,
                        ts: *ts,
                        cell: *cell,
                    }),
            );
        }
        last = auditor.score(&w, &features, &assertions)?;
    }
    // a device reinstated after the window ended has nothing in it to answer for: it is
    // not scored (no health row, no action), so a window scored again after a
    // reinstatement neither suspends the device again nor replaces its earlier health
    Ok(series
        .iter()
        .zip(last)
        .filter(|((_, s), _)| s.reinstated_ts.is_none_or(|r| r < window.to))
        .map(|((device, s), findings)| {
            let health = findings.iter().map(Finding::health).fold(1.0, f64::min);
            Score {
                device: device.clone(),
                device_key: s.device_key.clone(),
                health,
                findings,
            }
        })
        .collect())
}

/// The readings of `readings` (in time order) that window `w` holds: those stamped in
/// `(from, to]`. A report stamped on a boundary ends the interval before it, so it counts
/// in the window that ends there and in no other.
fn window_readings<'a>(readings: &'a [Reading], w: &Window) -> &'a [Reading] {
    let lo = readings.partition_point(|r| r.ts <= w.from);
    let hi = readings.partition_point(|r| r.ts <= w.to);
    &readings[lo..hi.max(lo)]
}

/// A device's health as basis points (0 to 10,000) of its earnings; NaN counts as 0.
pub fn health_bps(health: f64) -> u16 {
    if health.is_nan() {
        return 0;
    }
    (health.clamp(0.0, 1.0) * 10_000.0).round() as u16
}

/// Every scored device's health in basis points: the oracle's input for the epoch's rows
/// (`depin_sdk::incentives::epoch_rows`, or `depin-oracle epoch --health`). A device whose
/// address does not parse is refused.
pub fn health_map(scores: &[Score]) -> Result<BTreeMap<Pubkey, u16>, AuditError> {
    scores
        .iter()
        .map(|s| {
            let device: Pubkey = s
                .device
                .parse()
                .map_err(|e| AuditError::Data(format!("device {}: {e}", s.device)))?;
            Ok((device, health_bps(s.health)))
        })
        .collect()
}

/// The window a run at unix time `now` scores: `(from, to]`, the last whole window of
/// `interval` seconds on the grid of its multiples (`to` the last multiple at or before
/// `now`). Runs at any moment of one window score the same one, so a restart or a late
/// tick scores a window again whole (the `audit_health` rows of the devices it scores
/// replaced), never a window
/// overlapping another by part of it, which would count those hours twice in an epoch's
/// mean health. An `interval` below one second counts as one.
pub fn scored_window(now: i64, interval: i64) -> (i64, i64) {
    let interval = interval.max(1);
    let to = now.saturating_sub(now.rem_euclid(interval));
    (to.saturating_sub(interval), to)
}

/// The windows a run at `now` scores, oldest first: the whole windows on the grid
/// ([`scored_window`]) that ended at least `grace` seconds ago (reports still on their
/// way are in them) and after `last`, the end of the last window scored (none at start:
/// the latest window alone), at most `max` of them (the latest). Empty when the latest is
/// scored already.
pub fn windows_due(
    now: i64,
    interval: i64,
    grace: i64,
    last: Option<i64>,
    max: usize,
) -> Vec<(i64, i64)> {
    let interval = interval.max(1);
    let (_, latest) = scored_window(now.saturating_sub(grace.max(0)), interval);
    let mut due = Vec::new();
    let mut to = latest;
    while due.len() < max.max(1) && last.is_none_or(|last| to > last) {
        due.push((to.saturating_sub(interval), to));
        if last.is_none() || to == i64::MIN {
            break;
        }
        to = to.saturating_sub(interval);
    }
    due.reverse();
    due
}

/// When the window after the latest one due at `now` is due: its end plus `grace`.
pub fn next_due(now: i64, interval: i64, grace: i64) -> i64 {
    let interval = interval.max(1);
    let grace = grace.max(0);
    let (_, latest) = scored_window(now.saturating_sub(grace), interval);
    latest.saturating_add(interval).saturating_add(grace)
}

/// What [`write_oracle_inputs`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleInputs {
    /// `health-<epoch>.csv`: `device,health_bps` for every device scored in the rewards
    /// epoch of the window (each the mean of its windows' healths in that epoch); or
    /// `health.csv`, the window alone, when the network's rewards are not indexed.
    pub health: std::path::PathBuf,
    /// The rewards epoch the health file covers so far (the one in its name), when the
    /// network's rewards are indexed.
    pub health_epoch: Option<u64>,
    /// The current epoch, its table's file and hash, when the network's rewards are indexed.
    pub multipliers: Option<(u64, std::path::PathBuf, [u8; 32])>,
}

/// Records the window `(from, to]`'s `scores` in `audit_health` (a window scored again
/// replaces the rows of the devices scored; a device scored before and not now, suspended
/// or reinstated since, keeps its row) and writes the oracle's inputs to `dir`, each file
/// replaced whole:
///
/// - `health-<epoch>.csv`: every device scored in a window of the rewards epoch this
///   window ends in, with the mean of its healths over those windows (a device flagged for
///   one window of twenty-four loses a twenty-fourth of its earnings, not all or nothing on
///   the last window's score). One file per epoch: the first window of the next epoch
///   starts the next file and leaves this one as the epoch's last window made it (a single
///   `health.csv` was overwritten by that window, so an oracle reading it after the epoch
///   got the next epoch's first window, and a device lagging all epoch long was paid in
///   full);
/// - `health.csv`: the window's scores alone, when the network has no indexed rewards
///   config (no epochs to name);
/// - `multipliers-<epoch>.json`: the region multiplier table of the epoch containing `to`,
///   published in PostgreSQL first if it is not yet (an epoch's published table is never
///   recomputed).
pub async fn write_oracle_inputs(
    db: &mut Db,
    dir: &std::path::Path,
    network: &Pubkey,
    scores: &[Score],
    (from, to): (i64, i64),
) -> Result<OracleInputs, AuditError> {
    use std::io::Write as _;
    if to <= from {
        return Err(AuditError::Data(format!("window ({from}, {to}] is empty")));
    }
    let net = network.to_string();
    let window = health_map(scores)?;
    let (devices, healths): (Vec<String>, Vec<i32>) = window
        .iter()
        .map(|(device, bps)| (device.to_string(), i32::from(*bps)))
        .unzip();
    let tx = db.transaction().await?;
    tx.execute(
        "DELETE FROM audit_health WHERE network = $1 AND window_to = $2 AND device = ANY($3)",
        &[&net, &to, &devices],
    )
    .await?;
    tx.execute(
        "INSERT INTO audit_health (network, device, window_from, window_to, health_bps)
         SELECT $1, d, $2, $3, h FROM unnest($4::text[], $5::int[]) AS x(d, h)",
        &[&net, &from, &to, &devices, &healths],
    )
    .await?;
    tx.commit().await?;
    let region = |e: regions::RegionError| AuditError::Data(e.to_string());
    let (health_epoch, rows) = match regions::epoch_of_window(db, network, to).await {
        Ok((epoch, start, end)) => {
            let mut rows = BTreeMap::new();
            for row in db
                .query(
                    "SELECT device, round(avg(health_bps))::int FROM audit_health
                     WHERE network = $1 AND window_to > $2 AND window_to <= $3
                     GROUP BY device",
                    &[&net, &start, &end],
                )
                .await?
            {
                let device: String = row.get(0);
                let device: Pubkey = device
                    .parse()
                    .map_err(|e| AuditError::Data(format!("device {device}: {e}")))?;
                let bps = u16::try_from(row.get::<_, i32>(1))
                    .map_err(|e| AuditError::Data(e.to_string()))?;
                rows.insert(device, bps);
            }
            (Some(epoch), rows)
        }
        Err(regions::RegionError::NoRewardsConfig(_)) => (None, window),
        Err(e) => return Err(region(e)),
    };
    let health = match health_epoch {
        Some(epoch) => dir.join(format!("health-{epoch}.csv")),
        None => dir.join("health.csv"),
    };
    let io = |path: &std::path::Path, e: std::io::Error| {
        AuditError::Data(format!("{}: {e}", path.display()))
    };
    depin_sdk::file::replace(&health, false, |w| {
        writeln!(w, "device,health_bps")?;
        for (device, bps) in &rows {
            writeln!(w, "{device},{bps}")?;
        }
        Ok(())
    })
    .map_err(|e| io(&health, e))?;
    if health_epoch.is_none() {
        return Ok(OracleInputs {
            health,
            health_epoch,
            multipliers: None,
        });
    }
    let epoch = regions::current_epoch(db, network, to)
        .await
        .map_err(region)?;
    let table = match regions::load(db, network, epoch).await.map_err(region)? {
        Some(table) => table,
        None => {
            let computed = regions::compute(db, network, epoch, &regions::RegionPolicy::default())
                .await
                .map_err(region)?;
            regions::publish(db, &computed).await.map_err(region)?;
            computed.table
        }
    };
    let path = dir.join(format!("multipliers-{epoch}.json"));
    let json = serde_json::to_vec_pretty(&table).map_err(|e| AuditError::Data(e.to_string()))?;
    depin_sdk::file::replace(&path, false, |w| w.write_all(&json)).map_err(|e| io(&path, e))?;
    Ok(OracleInputs {
        health,
        health_epoch,
        multipliers: Some((epoch, path, table.hash())),
    })
}

/// One action the auditor took.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The device.
    pub device: String,
    /// The evidence hash sent on chain.
    pub evidence: [u8; 32],
    /// What happened to the transaction (`landed`, or why not).
    pub outcome: String,
}

/// What `audit_actions` records of a suspension's send: its signature when it was signed
/// and sent, and its outcome. A send whose outcome is unknown (the node stopped answering
/// after it) is `unconfirmed` with its signature, to look up: it may have landed (it was
/// recorded as `not sent`, without a signature).
fn action_record(sent: Result<Outcome, ClientError>) -> (Option<String>, String) {
    match sent {
        Ok(Outcome::Landed { signature, .. }) => (Some(signature.to_string()), "landed".into()),
        Ok(Outcome::Failed {
            signature, failure, ..
        }) => (Some(signature.to_string()), format!("failed: {failure}")),
        Ok(Outcome::Expired { signature, .. }) => {
            (Some(signature.to_string()), "expired".to_string())
        }
        Err(ClientError::Unconfirmed { signature, reason }) => (
            Some(signature.to_string()),
            format!("unconfirmed: {reason}"),
        ),
        Err(e) => (None, format!("not sent: {e}")),
    }
}

/// Suspends every device whose findings warrant it, as the network's `auditor`, and records
/// each action (landed or not) in `audit_actions`.
pub async fn act(
    db: &Db,
    client: &Client,
    auditor: &Keypair,
    network: &Pubkey,
    scores: &[Score],
) -> Result<Vec<Action>, AuditError> {
    use solana_signer::Signer;
    let mut actions = Vec::new();
    for score in scores
        .iter()
        .filter(|s| s.findings.iter().any(Finding::suspends))
    {
        let key: Pubkey = score
            .device_key
            .parse()
            .map_err(|e| AuditError::Data(format!("device key {}: {e}", score.device_key)))?;
        let evidence = score.evidence();
        let ix = registry::audit_device(
            &auditor.pubkey(),
            network,
            &key,
            AuditDeviceArgs {
                status: DeviceStatus::Suspended,
                evidence,
            },
        );
        let (signature, outcome) = action_record(client.send(&[ix], &[auditor]).await);
        let findings =
            serde_json::to_value(&score.findings).map_err(|e| AuditError::Data(e.to_string()))?;
        db.execute(
            "INSERT INTO audit_actions (device, network, action, evidence, explanation, findings,
                signature, outcome)
             VALUES ($1, $2, 'suspend', $3, $4, $5, $6, $7)",
            &[
                &score.device,
                &network.to_string(),
                &evidence.as_slice(),
                &score.explanation(),
                &findings,
                &signature,
                &outcome,
            ],
        )
        .await?;
        actions.push(Action {
            device: score.device.clone(),
            evidence,
            outcome,
        });
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspension_whose_outcome_is_unknown_is_recorded_with_its_signature() {
        use solana_signer::Signer as _;
        let signature = solana_keypair::Keypair::new().sign_message(b"a suspension");
        let (recorded, outcome) = action_record(Err(ClientError::Unconfirmed {
            signature,
            reason: "the node stopped answering".into(),
        }));
        assert_eq!(recorded, Some(signature.to_string()));
        assert_eq!(outcome, "unconfirmed: the node stopped answering");
        // one that was never sent has no signature
        let (recorded, outcome) = action_record(Err(ClientError::Rpc("connection refused".into())));
        assert_eq!(recorded, None);
        assert!(outcome.starts_with("not sent: "), "{outcome}");
    }

    fn wireless(bytes: i64, reports: usize, from: i64, interval: i64) -> Series {
        Series {
            kind: "wireless".into(),
            readings: (0..reports as i64)
                .map(|i| Reading {
                    ts: from + (i + 1) * interval,
                    uptime_secs: interval,
                    primary: bytes as f64,
                    ..Reading::default()
                })
                .collect(),
            ..Series::default()
        }
    }

    #[test]
    fn a_fleet_flags_exactly_its_lagging_inflating_and_broken_devices() {
        let t = Thresholds::default();
        let (from, to) = (0, 3_600);
        let mut fleet = BTreeMap::new();
        for i in 0..6 {
            fleet.insert(
                format!("healthy-{i}"),
                wireless(1_000_000 + i * 10_000, 12, from, 300),
            );
        }
        fleet.insert("lagging".into(), wireless(1_000_000, 3, from, 300));
        fleet.insert("inflating".into(), wireless(100_000_000, 12, from, 300));
        let mut dead = wireless(1_000_000, 12, from, 300);
        for r in &mut dead.readings {
            r.uptime_secs = 0;
        }
        fleet.insert("no-uptime".into(), dead);
        let scores = score(&fleet, from, to, &t).expect("scored");
        let flagged: Vec<&str> = scores
            .iter()
            .filter(|s| !s.findings.is_empty())
            .map(|s| s.device.as_str())
            .collect();
        assert_eq!(flagged, ["inflating", "lagging", "no-uptime"]);
        let by = |d: &str| {
            scores
                .iter()
                .find(|s| s.device == d)
                .cloned()
                .unwrap_or_else(|| panic!("{d}"))
        };
        assert!(matches!(
            by("lagging").findings[..],
            [Finding::Lagging {
                reports: 3,
                expected: 12,
                ..
            }]
        ));
        assert_eq!(by("lagging").health, 0.5);
        assert!(
            by("inflating").explanation().contains("median of"),
            "{}",
            by("inflating").explanation()
        );
        assert_eq!(by("inflating").health, 0.0);
        assert!(by("inflating").findings.iter().any(Finding::suspends));
        assert!(!by("lagging").findings.iter().any(Finding::suspends));
        assert_eq!(by("healthy-0").explanation(), "healthy");
        assert_eq!(by("healthy-0").health, 1.0);
        // the evidence is the findings' hash: stable, and different per device
        assert_eq!(by("inflating").evidence(), by("inflating").evidence());
        assert_ne!(by("inflating").evidence(), by("lagging").evidence());
    }

    #[test]
    fn meters_that_read_zero_or_stick_are_malfunctioning_and_too_few_peers_mean_no_baseline() {
        let t = Thresholds::default();
        let meter = |produced: Vec<i64>| Series {
            kind: "energy".into(),
            readings: produced
                .iter()
                .enumerate()
                .map(|(i, p)| Reading {
                    ts: (i as i64 + 1) * 300,
                    primary: *p as f64,
                    ..Reading::default()
                })
                .collect(),
            ..Series::default()
        };
        let mut fleet = BTreeMap::new();
        fleet.insert("zero".to_string(), meter(vec![0; 12]));
        fleet.insert("stuck".to_string(), meter(vec![420; 12]));
        fleet.insert(
            "fine".to_string(),
            meter((0..12).map(|i| 400 + i * 7).collect()),
        );
        // a huge producer, but only three meters: no baseline, no inflation finding
        fleet.insert(
            "big".to_string(),
            meter(
                vec![90_000; 12]
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| v + i as i64)
                    .collect(),
            ),
        );
        let scores = score(&fleet, 0, 3_600, &t).expect("scored");
        let find = |d: &str| {
            scores
                .iter()
                .find(|s| s.device == d)
                .map(|s| s.explanation())
                .unwrap_or_default()
        };
        assert!(
            find("zero").contains("all 12 meter readings are zero"),
            "{}",
            find("zero")
        );
        assert!(find("stuck").contains("stuck"), "{}", find("stuck"));
        assert_eq!(find("fine"), "healthy");
        assert_eq!(find("big"), "healthy");
    }

    #[test]
    fn devices_that_only_send_heartbeats_are_healthy_not_zero_readings() {
        // a network whose devices report nothing but heartbeats (a compute network has no
        // metrics kind): alive every interval, never a malfunction, never suspended; one
        // silent for most of the hour is lagging
        let t = Thresholds::default();
        let beats = |count: i64| Series {
            kind: "heartbeat".into(),
            readings: (1..=count)
                .map(|i| Reading {
                    ts: i * 300,
                    heartbeat: true,
                    ..Reading::default()
                })
                .collect(),
            ..Series::default()
        };
        let mut fleet: BTreeMap<String, Series> = (0..6)
            .map(|i| (format!("beating-{i}"), beats(12)))
            .collect();
        fleet.insert("quiet".into(), beats(3));
        let scores = score(&fleet, 0, 3_600, &t).expect("scored");
        for s in scores.iter().filter(|s| s.device.starts_with("beating")) {
            assert_eq!(s.explanation(), "healthy", "{}", s.device);
            assert_eq!(s.health, 1.0);
            assert!(!s.findings.iter().any(Finding::suspends));
        }
        let quiet = scores.iter().find(|s| s.device == "quiet").expect("scored");
        assert!(
            quiet
                .findings
                .iter()
                .any(|f| matches!(f, Finding::Lagging { .. })),
            "{}",
            quiet.explanation()
        );
        assert!(
            !quiet
                .findings
                .iter()
                .any(|f| matches!(f, Finding::Malfunction { .. })),
            "{}",
            quiet.explanation()
        );
    }

    #[test]
    fn every_run_within_a_window_scores_the_same_whole_window() {
        let hour = 3_600;
        // runs at any moment of [10:00, 11:00) score (09:00, 10:00]
        for now in [36_000, 36_001, 37_800, 39_599] {
            assert_eq!(scored_window(now, hour), (32_400, 36_000), "{now}");
        }
        assert_eq!(scored_window(39_600, hour), (36_000, 39_600));
        // consecutive windows meet and never overlap
        let (a, b) = (scored_window(37_000, hour), scored_window(40_000, hour));
        assert_eq!(a.1, b.0);
        // extremes: no overflow, no division by zero
        assert_eq!(scored_window(0, hour), (-3_600, 0));
        assert_eq!(scored_window(i64::MAX, 1), (i64::MAX - 1, i64::MAX));
        assert_eq!(scored_window(7, 0), (6, 7));
        let (from, to) = scored_window(i64::MIN, hour);
        assert!(from <= to);
        assert_eq!(scored_window(5, i64::MAX), (-i64::MAX, 0));
    }

    #[test]
    fn windows_are_due_once_each_after_their_grace_and_missed_ones_are_caught_up() {
        let (hour, grace) = (3_600, 60);
        // at start: the latest window that ended a grace ago
        assert_eq!(
            windows_due(36_059, hour, grace, None, 24),
            [(28_800, 32_400)]
        );
        assert_eq!(
            windows_due(36_060, hour, grace, None, 24),
            [(32_400, 36_000)]
        );
        // scored already: nothing until the next one is due
        assert!(windows_due(39_000, hour, grace, Some(36_000), 24).is_empty());
        assert_eq!(next_due(36_060, hour, grace), 39_660);
        assert_eq!(next_due(39_659, hour, grace), 39_660);
        assert_eq!(
            windows_due(39_660, hour, grace, Some(36_000), 24),
            [(36_000, 39_600)]
        );
        // a run that outlasted three windows: the four due, oldest first
        assert_eq!(
            windows_due(50_500, hour, grace, Some(36_000), 24),
            [
                (36_000, 39_600),
                (39_600, 43_200),
                (43_200, 46_800),
                (46_800, 50_400)
            ]
        );
        // at most `max`, the latest
        assert_eq!(
            windows_due(50_500, hour, grace, Some(0), 2),
            [(43_200, 46_800), (46_800, 50_400)]
        );
        // a clock stepped back: nothing scored twice
        assert!(windows_due(30_000, hour, grace, Some(36_000), 24).is_empty());
        // extremes end
        assert_eq!(windows_due(i64::MIN, hour, grace, Some(0), 24), []);
        assert_eq!(windows_due(i64::MIN, 1, 0, Some(i64::MIN), 24), []);
        assert_eq!(windows_due(i64::MAX, i64::MAX, i64::MAX, None, 24).len(), 1);
        assert!(next_due(i64::MAX, hour, grace) >= i64::MAX - hour);
    }

    #[test]
    fn healths_become_basis_points_the_oracle_reads() {
        let score = |device: String, health: f64| Score {
            device,
            device_key: String::new(),
            health,
            findings: Vec::new(),
        };
        let [a, b, c, d] = [0; 4].map(|_| Pubkey::new_unique());
        let map = health_map(&[
            score(a.to_string(), 1.0),
            score(b.to_string(), 0.25),
            score(c.to_string(), f64::NAN),
            score(d.to_string(), 7.0),
        ])
        .expect("map");
        assert_eq!(
            map,
            BTreeMap::from([(a, 10_000), (b, 2_500), (c, 0), (d, 10_000)])
        );
        assert!(matches!(
            health_map(&[score("not a key".into(), 1.0)]),
            Err(AuditError::Data(_))
        ));
    }

    #[test]
    fn a_silent_device_lags_and_a_device_with_no_report_at_all_is_suspended() {
        let t = Thresholds::default();
        let mut fleet = BTreeMap::new();
        // twelve reports, all in the first half hour, then silence
        fleet.insert(
            "went-quiet".to_string(),
            wireless(1_000_000, 12, -3_000, 250),
        );
        fleet.insert("never".to_string(), Series::default());
        let scores = score(&fleet, 0, 3_600, &t).expect("scored");
        let quiet = &scores
            .iter()
            .find(|s| s.device == "went-quiet")
            .expect("scored")
            .findings;
        assert!(matches!(quiet[..], [Finding::Lagging { .. }]), "{quiet:?}");
        let never = &scores
            .iter()
            .find(|s| s.device == "never")
            .expect("scored")
            .findings;
        assert!(never.iter().any(Finding::suspends), "{never:?}");
    }

    /// Defect: a report stamped exactly on a window boundary counted in both windows around
    /// it (the replayed ones overlapped at their ends), so a device reporting on the
    /// boundaries had one report too many and its bytes counted twice in each window. Each
    /// report now counts in one window: every window's reports sum to the device's.
    #[test]
    fn a_report_on_a_window_boundary_counts_in_one_window() {
        let t = Thresholds::default();
        let interval = t.report_interval_secs;
        let len = 3_600;
        // reports every interval across the replayed windows and the scored one, many of
        // them stamped exactly on window boundaries
        let history = i64::from(t.history_windows);
        let from = -history * len;
        let per_window = len / interval;
        let series = wireless(1_000, (per_window * (history + 1)) as usize, from, interval);
        let window = Window {
            from: 0,
            to: len,
            interval_secs: interval,
        };
        let mut total = 0;
        for k in (0..=history).rev() {
            let w = window.earlier(k);
            let f = extract(
                DeviceClass::Wireless,
                &w,
                window_readings(&series.readings, &w),
            );
            assert_eq!(i64::from(f.reports), per_window, "window {k} back");
            assert_eq!(f.reports, f.expected, "window {k} back");
            total += i64::from(f.reports);
        }
        assert_eq!(total, series.readings.len() as i64, "each report once");
        // and a fleet reporting so is healthy, not flagged for one report too many
        let mut fleet = BTreeMap::new();
        for i in 0..6 {
            fleet.insert(format!("on-the-boundary-{i}"), series.clone());
        }
        let scores = score(&fleet, 0, len, &t).expect("scored");
        for s in &scores {
            assert!(s.findings.is_empty(), "{}: {:?}", s.device, s.findings);
            assert_eq!(s.health, 1.0);
        }
    }

    /// Defect: in the window being scored, a device onboarded minutes before the run was
    /// expected to have reported all window long: no report yet read as `Lagging` with zero
    /// reports, which suspends it on chain.
    #[test]
    fn a_device_onboarded_during_the_window_owes_only_the_reports_since() {
        let t = Thresholds::default();
        let interval = t.report_interval_secs;
        let mut fleet = BTreeMap::new();
        // onboarded ten seconds before the run: nothing due yet
        fleet.insert(
            "just-onboarded".to_string(),
            Series {
                onboarded_ts: 3_600 - 10,
                ..Series::default()
            },
        );
        // onboarded half way, reporting on time since
        let half = Series {
            onboarded_ts: 1_800,
            ..wireless(1_000_000, (1_800 / interval) as usize, 1_800, interval)
        };
        fleet.insert("half-way".to_string(), half);
        // onboarded half way and silent since: it does lag
        fleet.insert(
            "silent-since".to_string(),
            Series {
                onboarded_ts: 1_800,
                ..Series::default()
            },
        );
        let scores = score(&fleet, 0, 3_600, &t).expect("scored");
        let of = |name: &str| {
            scores
                .iter()
                .find(|s| s.device == name)
                .expect("scored")
                .findings
                .clone()
        };
        let just = of("just-onboarded");
        assert!(!just.iter().any(Finding::suspends), "{just:?}");
        let half = of("half-way");
        assert!(
            !half.iter().any(|f| matches!(f, Finding::Lagging { .. })),
            "{half:?}"
        );
        let silent = of("silent-since");
        assert!(silent.iter().any(Finding::suspends), "{silent:?}");
    }

    /// Defect: a device the authority reinstated was scored over the window it spent
    /// suspended (the telemetry service refused its reports then) and on the evidence it was
    /// suspended for, so the auditor suspended it again at once.
    #[test]
    fn a_reinstated_device_is_judged_only_on_what_it_did_since() {
        let t = Thresholds::default();
        let mut fleet = BTreeMap::new();
        for i in 0..6 {
            fleet.insert(
                format!("healthy-{i}"),
                wireless(1_000_000 + i * 10_000, 12, 0, 300),
            );
        }
        // inflating until its suspension at 900, reinstated at 2_400, honest since
        let mut back = wireless(100_000_000, 3, 0, 300);
        back.readings
            .extend(wireless(1_000_000, 4, 2_400, 300).readings);
        back.reinstated_ts = Some(2_400);
        fleet.insert("back-honest".into(), back);
        // reinstated a minute before the window ended: nothing due yet
        let mut just = wireless(100_000_000, 3, 0, 300);
        just.reinstated_ts = Some(3_540);
        fleet.insert("just-back".into(), just);
        // reinstated after the window ended, before it was scored: nothing of it is judged
        let mut after = wireless(100_000_000, 3, 0, 300);
        after.reinstated_ts = Some(3_630);
        fleet.insert("back-after".into(), after);
        // reinstated at the window's very end (a report stamped then is refused by the
        // telemetry service: it covers time spent suspended): likewise
        let mut at_end = wireless(100_000_000, 12, 0, 300);
        at_end.reinstated_ts = Some(3_600);
        fleet.insert("back-at-end".into(), at_end);
        // reinstated at 2_400 and silent since: it does lag
        let mut silent = wireless(1_000_000, 12, 0, 300);
        silent.readings.retain(|r| r.ts <= 900);
        silent.reinstated_ts = Some(2_400);
        fleet.insert("back-silent".into(), silent);
        // reinstated at 1_800 and inflating again since: flagged for what it did since
        let mut again = wireless(100_000_000, 12, 0, 300);
        again.reinstated_ts = Some(1_800);
        fleet.insert("back-inflating".into(), again);

        let scores = score(&fleet, 0, 3_600, &t).expect("scored");
        let of = |name: &str| {
            scores
                .iter()
                .find(|s| s.device == name)
                .unwrap_or_else(|| panic!("{name} scored"))
                .clone()
        };
        for name in ["back-honest", "just-back"] {
            assert!(of(name).findings.is_empty(), "{name}: {:?}", of(name));
            assert_eq!(of(name).health, 1.0, "{name}");
        }
        for name in ["back-after", "back-at-end"] {
            assert!(
                !scores.iter().any(|s| s.device == name),
                "{name}: {scores:?}"
            );
        }
        assert!(
            matches!(
                of("back-silent").findings[..],
                [Finding::Lagging {
                    reports: 0,
                    expected: 4,
                    ..
                }]
            ),
            "{:?}",
            of("back-silent")
        );
        assert!(
            of("back-inflating")
                .findings
                .iter()
                .any(|f| matches!(f, Finding::Inflation { .. })),
            "{:?}",
            of("back-inflating")
        );
    }
}
