//! # Node auditor
//!
//! Scores every device of a network over a window from the telemetry its gateways sent
//! (the `telemetry` table) and the registry as indexed (`devices`), flags the devices that
//! lag, malfunction or inflate what they report, explains each flag in plain words (which
//! feature, against which baseline), and closes the loop on chain: a device flagged badly
//! enough is suspended with `audit_device`, carrying the hash of the findings as evidence,
//! and the action is recorded in `audit_actions` for the network authority to review (and
//! reverse with `set_device_status`).
//!
//! What it detects (see [`Thresholds`]):
//! - **lagging**: fewer reports than half of those expected over the window, or none in the
//!   last three expected intervals;
//! - **malfunction**: a meter whose every report is zero, or whose readings are stuck on one
//!   value; a hotspot reporting no uptime at all;
//! - **inflation**: service far beyond the device's class peers in the network: a robust
//!   z-score (median and median absolute deviation) above [`Thresholds::inflation_z`] and
//!   more than [`Thresholds::inflation_ratio`] times the median.
//!
//! [`weighted_rows`] turns the scores into the oracle's next reward rows: each device's
//! earnings for the epoch times its health.
//!
//! Not built yet (issue 15): location spoofing, collusion, seasonal baselines and
//! forecasting (`augurs`), multivariate scores (`linfa`), region multipliers.

pub mod regions;

use std::collections::BTreeMap;

use depin_sdk::client::{Client, Outcome};
use depin_sdk::registry::{self, AuditDeviceArgs, DeviceStatus};
use depin_sdk::Pubkey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use solana_keypair::Keypair;
use tokio_postgres::Client as Db;

/// When a device is flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Seconds between two reports of a healthy device.
    pub report_interval_secs: i64,
    /// Fraction of the expected reports below which a device lags.
    pub min_report_ratio: f64,
    /// Robust z-score above which a device inflates.
    pub inflation_z: f64,
    /// Multiple of the class median above which a device inflates.
    pub inflation_ratio: f64,
    /// Fewest peers of a class for an inflation baseline.
    pub min_peers: usize,
    /// Reports on one non-zero value after which a meter is stuck.
    pub stuck_reports: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            report_interval_secs: 300,
            min_report_ratio: 0.5,
            inflation_z: 6.0,
            inflation_ratio: 3.0,
            min_peers: 5,
            stuck_reports: 6,
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
    },
    /// Its readings cannot be real measurements.
    Malfunction {
        /// What was seen.
        what: String,
    },
    /// It reports far more service than its peers.
    Inflation {
        /// The feature.
        feature: &'static str,
        /// Its value per report.
        value: f64,
        /// The class median per report.
        median: f64,
        /// Its robust z-score.
        z: f64,
        /// Peers in the baseline.
        peers: usize,
    },
}

impl Finding {
    /// The multiplier this finding puts on the device's rewards.
    pub fn health(&self) -> f64 {
        match self {
            Finding::Lagging { .. } => 0.5,
            Finding::Malfunction { .. } => 0.25,
            Finding::Inflation { .. } => 0.0,
        }
    }

    /// Whether it warrants a suspension (not just a lower multiplier).
    pub fn suspends(&self) -> bool {
        matches!(
            self,
            Finding::Inflation { .. } | Finding::Malfunction { .. }
        ) || matches!(self, Finding::Lagging { reports, .. } if *reports == 0)
    }

    /// The finding in plain words.
    pub fn explain(&self) -> String {
        match self {
            Finding::Lagging {
                reports,
                expected,
                silent_secs,
            } => format!(
                "lagging: {reports} reports where a healthy device sends {expected}; silent for the last {silent_secs} s"
            ),
            Finding::Malfunction { what } => format!("malfunction: {what}"),
            Finding::Inflation {
                feature,
                value,
                median,
                z,
                peers,
            } => format!(
                "inflation: {feature} {value:.0} per report against a median of {median:.0} among {peers} devices of its class (robust z-score {z:.1})"
            ),
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

/// Why the auditor could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// A stored value is not what the indexer or the telemetry service writes.
    #[error("unexpected data: {0}")]
    Data(String),
}

/// One device's telemetry over the window, as read from the database.
#[derive(Debug, Clone, Default)]
struct Series {
    device_key: String,
    kind: String,
    timestamps: Vec<i64>,
    uptime: Vec<i64>,
    bytes: Vec<i64>,
    produced: Vec<i64>,
    consumed: Vec<i64>,
}

/// Scores every active device of `network` over `[from, to)` (unix seconds).
pub async fn score_network(
    db: &Db,
    network: &str,
    from: i64,
    to: i64,
    thresholds: &Thresholds,
) -> Result<Vec<Score>, AuditError> {
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for row in db
        .query(
            "SELECT device, device_key FROM devices WHERE network = $1 AND status = 'active'",
            &[&network],
        )
        .await?
    {
        series.insert(
            row.get(0),
            Series {
                device_key: row.get(1),
                ..Series::default()
            },
        );
    }
    for row in db
        .query(
            "SELECT device, kind, unix_ts, uptime_secs, bytes_served, produced_wh, consumed_wh
             FROM telemetry WHERE network = $1 AND unix_ts >= $2 AND unix_ts < $3
             ORDER BY device, unix_ts",
            &[&network, &from, &to],
        )
        .await?
    {
        let device: String = row.get(0);
        let Some(s) = series.get_mut(&device) else {
            continue; // suspended or decommissioned since: not scored
        };
        s.kind = row.get(1);
        s.timestamps.push(row.get(2));
        s.uptime.push(row.get::<_, Option<i64>>(3).unwrap_or(0));
        s.bytes.push(row.get::<_, Option<i64>>(4).unwrap_or(0));
        s.produced.push(row.get::<_, Option<i64>>(5).unwrap_or(0));
        s.consumed.push(row.get::<_, Option<i64>>(6).unwrap_or(0));
    }
    Ok(score(&series, from, to, thresholds))
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn mean(values: &[i64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().map(|v| *v as f64).sum::<f64>() / values.len() as f64
    }
}

fn score(series: &BTreeMap<String, Series>, from: i64, to: i64, t: &Thresholds) -> Vec<Score> {
    let interval = t.report_interval_secs.max(1);
    let expected = ((to - from) / interval).max(1);
    // the class baselines: per-report means of the devices that report at all
    let mut by_class: BTreeMap<&str, Vec<(String, f64)>> = BTreeMap::new();
    for (device, s) in series {
        if s.timestamps.is_empty() {
            continue;
        }
        let value = match s.kind.as_str() {
            "wireless" => mean(&s.bytes),
            "energy" => mean(&s.produced),
            _ => continue,
        };
        by_class
            .entry(s.kind.as_str())
            .or_default()
            .push((device.clone(), value));
    }
    let mut inflated: BTreeMap<String, Finding> = BTreeMap::new();
    for (class, values) in &by_class {
        if values.len() < t.min_peers {
            continue;
        }
        let mut all: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
        let med = median(&mut all);
        let mut deviations: Vec<f64> = values.iter().map(|(_, v)| (v - med).abs()).collect();
        // 1.4826 scales the MAD to a standard deviation under normal noise; a floor keeps a
        // fleet of identical devices from making every small difference infinite
        let spread = (1.4826 * median(&mut deviations))
            .max(med.abs() * 0.01)
            .max(1.0);
        for (device, value) in values {
            let z = (value - med) / spread;
            if z > t.inflation_z && *value > t.inflation_ratio * med {
                inflated.insert(
                    device.clone(),
                    Finding::Inflation {
                        feature: if *class == "wireless" {
                            "bytes served"
                        } else {
                            "Wh produced"
                        },
                        value: *value,
                        median: med,
                        z,
                        peers: values.len(),
                    },
                );
            }
        }
    }
    series
        .iter()
        .map(|(device, s)| {
            let mut findings = Vec::new();
            let reports = s.timestamps.len() as i64;
            let last = s.timestamps.last().copied().unwrap_or(from);
            let silent = to - last;
            if (reports as f64) < t.min_report_ratio * expected as f64 || silent > 3 * interval {
                findings.push(Finding::Lagging {
                    reports,
                    expected,
                    silent_secs: silent,
                });
            }
            if s.kind == "energy" && reports > 0 {
                if s.produced.iter().chain(&s.consumed).all(|v| *v == 0) {
                    findings.push(Finding::Malfunction {
                        what: format!("all {reports} meter readings are zero"),
                    });
                } else if s.produced.len() >= t.stuck_reports
                    && s.produced.windows(2).all(|w| w[0] == w[1])
                    && s.consumed.windows(2).all(|w| w[0] == w[1])
                {
                    findings.push(Finding::Malfunction {
                        what: format!(
                            "the meter is stuck: {reports} readings of exactly {} Wh produced",
                            s.produced[0]
                        ),
                    });
                }
            }
            if s.kind == "wireless" && reports > 0 && s.uptime.iter().all(|u| *u == 0) {
                findings.push(Finding::Malfunction {
                    what: format!("no uptime in any of {reports} reports"),
                });
            }
            if let Some(f) = inflated.get(device) {
                findings.push(f.clone());
            }
            let health = findings.iter().map(Finding::health).fold(1.0, f64::min);
            Score {
                device: device.clone(),
                device_key: s.device_key.clone(),
                health,
                findings,
            }
        })
        .collect()
}

/// A device's health as basis points (0 to 10,000) of its earnings.
fn health_bps(health: f64) -> u128 {
    if health.is_nan() {
        return 0;
    }
    (health.clamp(0.0, 1.0) * 10_000.0).round() as u128
}

/// The reward rows of the next root: every device of `previous` keeps its cumulative amount,
/// and each device of `earned` (device, owner, what it earned this epoch before health) adds
/// its earnings times its health from `scores` (a device without a score counts as
/// healthy). Rounded down, so the epoch never pays more than was earned; a device flagged
/// inflating earns nothing. `None` if a cumulative amount would overflow.
pub fn weighted_rows(
    previous: &[depin_sdk::oracle::RewardRow],
    earned: &[(Pubkey, Pubkey, u64)],
    scores: &[Score],
) -> Option<Vec<depin_sdk::oracle::RewardRow>> {
    use depin_sdk::oracle::RewardRow;
    let health: BTreeMap<&str, f64> = scores
        .iter()
        .map(|s| (s.device.as_str(), s.health))
        .collect();
    let mut rows: BTreeMap<Pubkey, RewardRow> = previous.iter().map(|r| (r.device, *r)).collect();
    for (device, owner, amount) in earned {
        let bps = health_bps(
            health
                .get(device.to_string().as_str())
                .copied()
                .unwrap_or(1.0),
        );
        let weighted = u64::try_from(u128::from(*amount) * bps / 10_000).ok()?;
        let row = rows.entry(*device).or_insert(RewardRow {
            device: *device,
            owner: *owner,
            cumulative_amount: 0,
        });
        row.owner = *owner;
        row.cumulative_amount = row.cumulative_amount.checked_add(weighted)?;
    }
    Some(rows.into_values().collect())
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
        let (signature, outcome) = match client.send(&[ix], &[auditor]).await {
            Ok(Outcome::Landed { signature, .. }) => (Some(signature.to_string()), "landed".into()),
            Ok(Outcome::Failed {
                signature, failure, ..
            }) => (Some(signature.to_string()), format!("failed: {failure}")),
            Ok(Outcome::Expired { signature, .. }) => {
                (Some(signature.to_string()), "expired".to_string())
            }
            Err(e) => (None, format!("not sent: {e}")),
        };
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

    fn wireless(bytes: i64, reports: usize, from: i64, interval: i64) -> Series {
        Series {
            device_key: String::new(),
            kind: "wireless".into(),
            timestamps: (0..reports as i64)
                .map(|i| from + (i + 1) * interval)
                .collect(),
            uptime: vec![interval; reports],
            bytes: vec![bytes; reports],
            produced: vec![0; reports],
            consumed: vec![0; reports],
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
        dead.uptime = vec![0; 12];
        fleet.insert("no-uptime".into(), dead);
        let scores = score(&fleet, from, to, &t);
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
            device_key: String::new(),
            kind: "energy".into(),
            timestamps: (1..=produced.len() as i64).map(|i| i * 300).collect(),
            uptime: vec![0; produced.len()],
            bytes: vec![0; produced.len()],
            consumed: vec![0; produced.len()],
            produced,
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
        let scores = score(&fleet, 0, 3_600, &t);
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
    fn rewards_follow_health_and_never_exceed_what_was_earned() {
        use depin_sdk::oracle::RewardRow;
        let owner = Pubkey::new_unique();
        let [a, b, c, d] = [0; 4].map(|_| Pubkey::new_unique());
        let previous = vec![
            RewardRow {
                device: a,
                owner,
                cumulative_amount: 1_000,
            },
            RewardRow {
                device: d,
                owner,
                cumulative_amount: 77,
            },
        ];
        let score = |device: &Pubkey, health: f64| Score {
            device: device.to_string(),
            device_key: String::new(),
            health,
            findings: Vec::new(),
        };
        let scores = [score(&a, 1.0), score(&b, 0.5), score(&c, 0.0)];
        let earned = [(a, owner, 100), (b, owner, 101), (c, owner, 500)];
        let rows = weighted_rows(&previous, &earned, &scores).expect("no overflow");
        let by = |k: &Pubkey| {
            rows.iter()
                .find(|r| r.device == *k)
                .map(|r| r.cumulative_amount)
        };
        assert_eq!(by(&a), Some(1_100));
        assert_eq!(by(&b), Some(50), "half of 101, rounded down");
        assert_eq!(by(&c), Some(0), "an inflating device earns nothing");
        assert_eq!(
            by(&d),
            Some(77),
            "a device that earned nothing keeps its total"
        );
        let before: u64 = previous.iter().map(|r| r.cumulative_amount).sum();
        let after: u64 = rows.iter().map(|r| r.cumulative_amount).sum();
        assert!(after - before <= earned.iter().map(|e| e.2).sum::<u64>());
        // a NaN or out-of-range health is clamped, an overflow refused
        let odd = [score(&a, f64::NAN), score(&b, 7.0)];
        let rows = weighted_rows(&[], &[(a, owner, 10), (b, owner, 10)], &odd).expect("rows");
        assert_eq!(rows.iter().map(|r| r.cumulative_amount).sum::<u64>(), 10);
        let full = [RewardRow {
            device: a,
            owner,
            cumulative_amount: u64::MAX,
        }];
        assert_eq!(weighted_rows(&full, &[(a, owner, 1)], &[]), None);
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
        let scores = score(&fleet, 0, 3_600, &t);
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
}
