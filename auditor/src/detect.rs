//! The detectors: one window's [`DayFeatures`] of every device, compared with its region's
//! baseline and with its own recent windows, become [`Finding`]s.
//!
//! An [`Auditor`] keeps what it needs between windows, in fixed space per device (a ring of
//! its last [`HISTORY`] service ratios, its previous report ratio, its last asserted cell)
//! and per group of devices of one class in one region (the group's last service levels and
//! hourly profiles). Scoring a window:
//!
//! 1. **Baselines**, per group: the expected hourly profile is an `augurs` MSTL forecast
//!    (daily seasonality) of the group's median profile over its previous days, when the
//!    windows are days and at least [`MIN_MSTL_DAYS`] of them are known; otherwise the
//!    window's own median profile. The group's service level is the median of its devices'
//!    service (per W of panel for meters whose panel is known), with the spread of its
//!    logarithm (median absolute deviation) for robust z-scores.
//! 2. **Malfunction**: no uptime, every reading zero, zero readings where the baseline
//!    expects service, a stuck meter, readings whose ratio to the baseline jumps
//!    erratically, production at night, storage challenges mostly missed.
//! 3. **Inflation**: service far beyond the group's (ratio and robust z-score), or a sudden
//!    jump of the device's ratio to the group against its own previous windows; for
//!    meters with a known panel, more energy per W than the region's clearest recent day.
//! 4. **Neighbour inflation** (meters): far more than the region's other producers on a
//!    cloudy window, while on the region's clear recent day it produced what they did:
//!    its output does not follow the weather. A meter beyond the clearest recent day whose
//!    hourly ratio to its neighbours also swings with their clouds is this kind, not the
//!    one above: it reports clear-sky output in a week whose clearest day was hazy.
//! 5. **Lagging**: too few reports in the window, or fewer than expected two windows in a
//!    row.
//! 6. **Location spoofing**: consecutive asserted cells further apart than anything could
//!    travel in the time between them.
//! 7. **Collusion**: rings of at least three devices of a group whose hourly deviations
//!    from the baseline are almost identical. Candidate pairs come from locality-sensitive
//!    hashing (signs of random projections, several bands), so the cost stays linear in
//!    the fleet; each candidate pair's correlation is then checked exactly, and a device
//!    is flagged when it falls in a ring in two windows out of four (chance does not
//!    repeat itself).

use std::collections::VecDeque;

use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use h3o::{CellIndex, LatLng};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::features::{DayFeatures, DeviceClass, Window, MAX_BUCKETS};
use crate::{Finding, InflationBaseline, Thresholds};

/// Windows of history kept per device and per group.
pub const HISTORY: usize = 7;

/// Fewest previous days of a group for an MSTL forecast of its profile.
pub const MIN_MSTL_DAYS: usize = 3;

/// Bits per locality-sensitive hashing band.
const LSH_BITS: usize = 12;
/// Bands: a pair is a candidate when all the bits of one band agree.
const LSH_BANDS: usize = 3;
/// Windows within which a device must fall in a ring again to be flagged.
const RING_MEMORY: u32 = 3;
/// Largest bucket whose pairs are all compared (a degenerate bucket is cut here).
const MAX_LSH_BUCKET: usize = 512;

/// What the auditor knows of a device besides its telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// Its class.
    pub class: DeviceClass,
    /// Its region (any number; devices of a class in one region are compared).
    pub region: u32,
    /// Its panel's rated power in W (meters), 0 when unknown.
    pub capacity_w: f64,
    /// Its asserted H3 cell before the first window scored, if any.
    pub cell: Option<u64>,
    /// When that cell was asserted (unix).
    pub cell_ts: i64,
}

/// A location the device's owner asserted (an on-chain `LocationAsserted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The device (its index in the auditor).
    pub device: u32,
    /// When (unix).
    pub ts: i64,
    /// The H3 cell.
    pub cell: u64,
}

/// Why a window could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    /// The features are not one per device.
    #[error("{features} feature rows for {devices} devices")]
    Mismatch {
        /// Rows given.
        features: usize,
        /// Devices known.
        devices: usize,
    },
}

/// How a scoring went (for the benchmark and the logs).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScoringStats {
    /// MSTL forecasts fitted, in total.
    pub mstl_fits: u64,
    /// Seconds spent in them, in total.
    pub mstl_secs: f64,
    /// Candidate pairs whose correlation was computed, in total.
    pub pairs_checked: u64,
}

#[derive(Debug, Clone, Copy)]
struct History {
    /// The device's service over its group's level per window (NaN: none, or flagged for
    /// anything but neighbour inflation).
    ratio: [f32; HISTORY],
    /// Reports over expected in the previous window (NaN: not scored).
    previous_reports: f32,
    /// Last asserted cell (0: none) and when.
    cell: u64,
    cell_ts: i64,
    /// The last window in which it fell in a candidate ring, plus one (0: never).
    ring_window: u32,
    /// Meters: one bit per window (same slots as `ratio`) in which its hourly ratio to its
    /// region's producers swung with their clouds.
    swings: u8,
}

#[derive(Debug, Clone)]
struct Group {
    class: DeviceClass,
    members: Vec<u32>,
    /// The group's service level per window (NaN: none), same slots as the devices' rings.
    levels: [f32; HISTORY],
    /// The group's median profile of its last windows, oldest first.
    profiles: VecDeque<[f32; MAX_BUCKETS]>,
}

/// What one group's baseline is in one window.
struct Baseline {
    shape: [f32; MAX_BUCKETS],
    active: [bool; MAX_BUCKETS],
    buckets: usize,
    peak: f32,
    source: &'static str,
}

/// Per-device values of one window that the group's medians need.
#[derive(Clone, Copy)]
struct Derived {
    value: f64,
    erratic_sd: f64,
    missed_ratio: f64,
}

/// Scores windows of a fleet, one after the other, remembering what it needs.
#[derive(Debug, Clone)]
pub struct Auditor {
    thresholds: Thresholds,
    devices: Vec<DeviceInfo>,
    names: Vec<String>,
    history: Vec<History>,
    groups: Vec<Group>,
    windows: usize,
    planes: Vec<[f32; MAX_BUCKETS]>,
    stats: ScoringStats,
}

fn median_f32(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    *m
}

fn median_f64(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

fn cell_latlng(cell: u64) -> Option<LatLng> {
    CellIndex::try_from(cell).ok().map(LatLng::from)
}

struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
}

impl Auditor {
    /// An auditor of `devices` (named `names` in its findings; `#index` when a name is
    /// missing).
    pub fn new(thresholds: Thresholds, devices: Vec<DeviceInfo>, names: Vec<String>) -> Auditor {
        let mut groups: Vec<Group> = Vec::new();
        let mut index: std::collections::HashMap<(u32, DeviceClass), usize> =
            std::collections::HashMap::new();
        for (i, d) in devices.iter().enumerate() {
            let g = *index.entry((d.region, d.class)).or_insert_with(|| {
                groups.push(Group {
                    class: d.class,
                    members: Vec::new(),
                    levels: [f32::NAN; HISTORY],
                    profiles: VecDeque::new(),
                });
                groups.len() - 1
            });
            groups[g].members.push(i as u32);
        }
        let history = devices
            .iter()
            .map(|d| History {
                ratio: [f32::NAN; HISTORY],
                previous_reports: f32::NAN,
                cell: d.cell.unwrap_or(0),
                cell_ts: d.cell_ts,
                ring_window: 0,
                swings: 0,
            })
            .collect();
        // fixed hyperplanes: the same devices hash alike from one window to the next
        let mut rng = ChaCha8Rng::seed_from_u64(0x00c0_11d3);
        let planes = (0..LSH_BITS * LSH_BANDS)
            .map(|_| {
                let mut p = [0f32; MAX_BUCKETS];
                for v in &mut p {
                    *v = rng.random_range(-1.0f32..1.0);
                }
                p
            })
            .collect();
        Auditor {
            thresholds,
            devices,
            names,
            history,
            groups,
            windows: 0,
            planes,
            stats: ScoringStats::default(),
        }
    }

    /// The devices, in the order their features are expected.
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// Totals since the auditor was made.
    pub fn stats(&self) -> ScoringStats {
        self.stats
    }

    fn name(&self, i: u32) -> String {
        self.names
            .get(i as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    }

    /// Scores one window: `features[i]` is device `i`'s, `assertions` the locations asserted
    /// during the window (any order). Returns each device's findings, in device order.
    pub fn score(
        &mut self,
        window: &Window,
        features: &[DayFeatures],
        assertions: &[Assertion],
    ) -> Result<Vec<Vec<Finding>>, DetectError> {
        if features.len() != self.devices.len() {
            return Err(DetectError::Mismatch {
                features: features.len(),
                devices: self.devices.len(),
            });
        }
        let slot = self.windows % HISTORY;
        let mut findings: Vec<Vec<Finding>> = vec![Vec::new(); features.len()];
        let mut today_ratio = vec![f32::NAN; features.len()];
        let mut today_swing = vec![false; features.len()];
        for g in 0..self.groups.len() {
            self.score_group(
                g,
                window,
                features,
                &mut findings,
                (&mut today_ratio, &mut today_swing),
            );
        }
        self.locations(assertions, &mut findings);
        self.lagging(features, &mut findings);
        for (i, h) in self.history.iter_mut().enumerate() {
            let f = &features[i];
            // a flagged device's ratio would skew its own baseline, except a meter that
            // ignores the clouds: its ratio on clear days is what later days compare with
            let flagged = findings[i]
                .iter()
                .any(|f| f.suspends() && !matches!(f, Finding::NeighbourInflation { .. }));
            h.ratio[slot] = if flagged { f32::NAN } else { today_ratio[i] };
            h.swings = (h.swings & !(1 << slot)) | (u8::from(today_swing[i]) << slot);
            h.previous_reports = if f.expected == 0 {
                f32::NAN
            } else {
                f.reports as f32 / f.expected as f32
            };
        }
        self.windows += 1;
        Ok(findings)
    }

    fn baseline(&mut self, g: usize, window: &Window, features: &[DayFeatures]) -> Baseline {
        let buckets = window.buckets();
        let group = &self.groups[g];
        let mut today = [f32::NAN; MAX_BUCKETS];
        let mut scratch: Vec<f32> = Vec::with_capacity(group.members.len());
        for (b, t) in today.iter_mut().enumerate().take(buckets) {
            scratch.clear();
            scratch.extend(
                group
                    .members
                    .iter()
                    .map(|&i| features[i as usize].service[b])
                    .filter(|v| !v.is_nan()),
            );
            *t = median_f32(&mut scratch);
        }
        let daily = buckets == MAX_BUCKETS && window.len_secs() == 86_400;
        let mut forecast: Option<[f32; MAX_BUCKETS]> = None;
        if daily && group.profiles.len() >= MIN_MSTL_DAYS {
            let y: Vec<f64> = group
                .profiles
                .iter()
                .flat_map(|p| {
                    p.iter()
                        .map(|v| if v.is_nan() { 0.0 } else { f64::from(*v) })
                })
                .collect();
            let started = std::time::Instant::now();
            let predicted = MSTLModel::naive(vec![MAX_BUCKETS])
                .fit(&y)
                .ok()
                .and_then(|m| m.predict(MAX_BUCKETS, None).ok());
            self.stats.mstl_fits += 1;
            self.stats.mstl_secs += started.elapsed().as_secs_f64();
            if let Some(f) = predicted {
                if f.point.len() == MAX_BUCKETS && f.point.iter().all(|v| v.is_finite()) {
                    let mut p = [0f32; MAX_BUCKETS];
                    for (s, v) in p.iter_mut().zip(&f.point) {
                        *s = v.max(0.0) as f32;
                    }
                    forecast = Some(p);
                }
            }
        }
        let group = &mut self.groups[g];
        if daily {
            group.profiles.push_back(today);
            if group.profiles.len() > HISTORY {
                group.profiles.pop_front();
            }
        }
        let shape = today;
        let peak = shape[..buckets]
            .iter()
            .filter(|v| !v.is_nan())
            .fold(0.0f32, |a, b| a.max(*b));
        // a bucket expects service when the window's median says so and, once the group has
        // a few days of history, the MSTL forecast agrees (a region-wide gap is not the
        // devices' fault, and a forecast alone does not know today's clouds)
        let mut active = [false; MAX_BUCKETS];
        let forecast_peak = forecast.map_or(0.0, |f| f.iter().fold(0.0f32, |a, b| a.max(*b)));
        for (b, a) in active.iter_mut().enumerate().take(buckets) {
            *a = peak > 0.0
                && shape[b] >= 0.2 * peak
                && forecast.is_none_or(|f| forecast_peak > 0.0 && f[b] >= 0.2 * forecast_peak);
        }
        let source = if forecast.is_some() {
            "its region's median in this window, where the MSTL forecast from its previous days agrees"
        } else {
            "its region's median in this window"
        };
        Baseline {
            shape,
            active,
            buckets,
            peak,
            source,
        }
    }

    fn score_group(
        &mut self,
        g: usize,
        window: &Window,
        features: &[DayFeatures],
        findings: &mut [Vec<Finding>],
        (today_ratio, today_swing): (&mut [f32], &mut [bool]),
    ) {
        let t = self.thresholds.clone();
        let base = self.baseline(g, window, features);
        let group = &self.groups[g];
        let class = group.class;
        let buckets = base.buckets;
        let shape_total: f32 = base.shape[..buckets].iter().filter(|v| !v.is_nan()).sum();
        let active = |b: usize| base.active[b];
        let night = |b: usize| base.shape[b] <= 0.02 * base.peak;
        let unit = if window.bucket_secs() == 3_600 {
            "hours".to_string()
        } else {
            format!("{}-minute buckets", window.bucket_secs() / 60)
        };
        let members = &group.members;
        // 1. per-device values the group's medians need
        let mut derived: Vec<Derived> = Vec::with_capacity(members.len());
        for &i in members {
            let f = &features[i as usize];
            let info = &self.devices[i as usize];
            let mut d = Derived {
                value: f64::NAN,
                erratic_sd: f64::NAN,
                missed_ratio: f64::NAN,
            };
            if f.expected > 0 && f.reports > 0 && shape_total > 0.0 {
                let covered: f32 = (0..buckets)
                    .filter(|b| !f.service[*b].is_nan() && !base.shape[*b].is_nan())
                    .map(|b| base.shape[b])
                    .sum();
                let coverage = f64::from(covered / shape_total);
                // a device that sent a tenth of its reports still says what its service is
                if coverage >= 0.1 {
                    let rate = f.service_total() / coverage;
                    d.value = if class == DeviceClass::Energy && info.capacity_w > 0.0 {
                        rate / info.capacity_w
                    } else {
                        rate
                    };
                }
                // the median change of the log ratio to the baseline from one bucket to the
                // next: noise stays small, a single step (a fault starting) is one change
                let mut steps: Vec<f64> = Vec::with_capacity(buckets);
                let mut last: Option<f64> = None;
                for b in 0..buckets {
                    let v = f.service[b];
                    if !active(b) || v.is_nan() || v <= 0.0 {
                        last = None;
                        continue;
                    }
                    let x = f64::from(v / base.shape[b]).ln();
                    if let Some(l) = last {
                        steps.push((x - l).abs());
                    }
                    last = Some(x);
                }
                if steps.len() >= 6 {
                    d.erratic_sd = median_f64(&mut steps);
                }
            }
            if class == DeviceClass::Storage {
                let answered = f.primary_total;
                let asked = answered + f.secondary_total;
                if asked >= 10.0 {
                    d.missed_ratio = f.secondary_total / asked;
                }
            }
            derived.push(d);
        }
        let mut values: Vec<f64> = derived
            .iter()
            .map(|d| d.value)
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let peers = values.len();
        let level = median_f64(&mut values);
        let mut deviations: Vec<f64> = values.iter().map(|v| (v.ln() - level.ln()).abs()).collect();
        let spread = (1.4826 * median_f64(&mut deviations)).max(0.05);
        let mut sds: Vec<f64> = derived
            .iter()
            .map(|d| d.erratic_sd)
            .filter(|v| v.is_finite())
            .collect();
        let typical_sd = median_f64(&mut sds);
        let mut misses: Vec<f64> = derived
            .iter()
            .map(|d| d.missed_ratio)
            .filter(|v| v.is_finite())
            .collect();
        let typical_missed = median_f64(&mut misses);
        let has_baseline = peers >= t.min_peers && level.is_finite() && level > 0.0;
        let known_levels = group.levels.iter().filter(|v| v.is_finite()).count();
        let clear = group
            .levels
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(level as f32, f32::max);
        // 2. the detectors, device by device
        for (k, &i) in members.iter().enumerate() {
            let f = &features[i as usize];
            if f.expected == 0 || f.reports == 0 {
                continue;
            }
            let info = &self.devices[i as usize];
            let h = &self.history[i as usize];
            let d = derived[k];
            let out = &mut findings[i as usize];
            // malfunction: at most one, the plainest first
            let zero_buckets = (0..buckets)
                .filter(|b| active(*b) && f.service[*b] == 0.0)
                .count();
            let night_share = if class == DeviceClass::Energy && base.peak > 0.0 {
                let total = f.service_total();
                let at_night: f64 = (0..buckets)
                    .filter(|b| night(*b) && !f.service[*b].is_nan())
                    .map(|b| f64::from(f.service[b]))
                    .sum();
                if total > 0.0 {
                    at_night / total
                } else {
                    0.0
                }
            } else {
                0.0
            };
            let malfunction = if f.no_uptime {
                Some(format!("no uptime in any of {} reports", f.reports))
            } else if f.all_zero {
                Some(if class == DeviceClass::Energy {
                    format!("all {} meter readings are zero", f.reports)
                } else {
                    format!("all {} readings are zero", f.reports)
                })
            } else if class == DeviceClass::Energy && f.stuck_run as usize >= t.stuck_reports {
                Some(format!(
                    "the meter is stuck: {} readings of exactly {} Wh produced",
                    f.stuck_run, f.stuck_value
                ))
            } else if zero_buckets >= t.zero_buckets && class != DeviceClass::Storage {
                Some(format!(
                    "{} read zero in {zero_buckets} {unit} where the baseline ({}) expects at least {:.0}",
                    class.service(),
                    base.source,
                    0.2 * base.peak
                ))
            } else if night_share > t.night_share {
                Some(format!(
                    "{:.0}% of its energy was produced in {unit} when its region's producers make none (baseline: {})",
                    100.0 * night_share,
                    base.source
                ))
            } else if d.erratic_sd > t.erratic_log_sd {
                Some(format!(
                    "erratic readings: their ratio to the baseline ({}) changes by a median factor of e^{:.2} from one {} to the next, where its peers' changes by e^{:.2}",
                    base.source,
                    d.erratic_sd,
                    unit.trim_end_matches('s'),
                    typical_sd
                ))
            } else if d.missed_ratio > t.max_missed_ratio {
                Some(format!(
                    "it missed {:.0}% of {:.0} storage challenges, where its region's storage nodes miss a median of {:.1}%",
                    100.0 * d.missed_ratio,
                    f.primary_total + f.secondary_total,
                    100.0 * typical_missed
                ))
            } else {
                None
            };
            if let Some(what) = malfunction {
                out.push(Finding::Malfunction { what });
                continue; // a broken meter's readings say nothing of its service
            }
            if !has_baseline || !d.value.is_finite() || class == DeviceClass::Other {
                continue;
            }
            let ratio = d.value / level;
            today_ratio[i as usize] = ratio as f32;
            let z = (d.value.ln() - level.ln()) / spread;
            let with_panel = class == DeviceClass::Energy && info.capacity_w > 0.0;
            let feature = if with_panel {
                "Wh produced per W of panel"
            } else {
                class.service()
            };
            if with_panel {
                let clear = f64::from(clear);
                // hour by hour, its ratio to its neighbours swings with their clouds (it
                // does not see them), where a meter inflating by a factor keeps it
                let ignores_clouds = d.erratic_sd >= (2.0 * typical_sd).max(0.15);
                today_swing[i as usize] = ignores_clouds;
                // its output on the region's clearest recent day it reported on, and the
                // region's level that day
                let clear_day = |like_peers: bool| {
                    (0..HISTORY)
                        .filter_map(|j| {
                            let lj = f64::from(group.levels[j]);
                            let rj = f64::from(h.ratio[j]);
                            (lj.is_finite()
                                && rj.is_finite()
                                && lj >= 0.8 * clear
                                && (!like_peers || rj <= 1.6))
                                .then_some((lj, rj))
                        })
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                };
                // the clearest level needs a few days to be clear
                if known_levels >= 3 && d.value / clear > t.clear_sky_ratio {
                    // beyond clear sky, blind to the clouds (today or in a recent window)
                    // and about what it made on the clearest day: a meter reporting
                    // clear-sky output whatever the weather, in a week whose clearest day
                    // was hazy (one inflating by a factor follows the clouds)
                    let blind = ignores_clouds || h.swings != 0;
                    let reference = clear_day(false).filter(|(lj, rj)| d.value <= 2.0 * rj * lj);
                    if let (true, Some((lj, rj))) = (blind, reference) {
                        out.push(Finding::NeighbourInflation {
                            hourly_spread: d.erratic_sd,
                            neighbours_spread: typical_sd,
                            value: d.value,
                            neighbours: level,
                            producers: peers,
                            clear_day: lj,
                            clear_day_value: rj * lj,
                        });
                    } else {
                        out.push(Finding::Inflation {
                            feature,
                            value: d.value,
                            median: clear,
                            z,
                            peers,
                            baseline: InflationBaseline::ClearSky,
                        });
                    }
                    continue;
                }
                if ratio >= t.neighbour_ratio && ignores_clouds {
                    // it looked like its peers on the region's clearest recent day
                    if let Some((lj, rj)) = clear_day(true) {
                        // the region darkened, its ratio rose as much, its own output did not
                        let darker = level <= 0.75 * lj;
                        let steady = (0.75..=1.33).contains(&(d.value / (rj * lj)));
                        if darker && steady && ratio / rj >= 1.25 {
                            out.push(Finding::NeighbourInflation {
                                hourly_spread: d.erratic_sd,
                                neighbours_spread: typical_sd,
                                value: d.value,
                                neighbours: level,
                                producers: peers,
                                clear_day: lj,
                                clear_day_value: rj * lj,
                            });
                        }
                    }
                }
                continue;
            }
            if ratio > t.inflation_ratio && z > t.inflation_z {
                out.push(Finding::Inflation {
                    feature,
                    value: d.value,
                    median: level,
                    z,
                    peers,
                    baseline: InflationBaseline::ClassPeers,
                });
                continue;
            }
            let mut before: Vec<f64> = h
                .ratio
                .iter()
                .filter(|r| r.is_finite())
                .map(|r| f64::from(*r))
                .collect();
            let days = before.len();
            if days >= 1 {
                let reference = median_f64(&mut before);
                if reference > 0.0 && ratio / reference > t.inflation_ratio {
                    out.push(Finding::Inflation {
                        feature,
                        value: d.value,
                        median: level,
                        z,
                        peers,
                        baseline: InflationBaseline::OwnHistory {
                            ratio_before: reference,
                            windows: days,
                        },
                    });
                }
            }
        }
        // a meter that does not see its region's clouds swings against their median like
        // every other such meter: that is the neighbour detector's evidence, not a ring's
        let mut apart = vec![false; members.len()];
        for (k, &i) in members.iter().enumerate() {
            let swings = class == DeviceClass::Energy
                && derived[k].erratic_sd >= (2.0 * typical_sd).max(0.15);
            apart[k] = swings || !findings[i as usize].is_empty();
        }
        self.collusion(g, &base, features, &apart, findings);
        let group = &mut self.groups[g];
        group.levels[self.windows % HISTORY] = if has_baseline { level as f32 } else { f32::NAN };
    }

    fn collusion(
        &mut self,
        g: usize,
        base: &Baseline,
        features: &[DayFeatures],
        apart: &[bool],
        findings: &mut [Vec<Finding>],
    ) {
        let t = &self.thresholds;
        let group = &self.groups[g];
        // a storage node's series is the network's challenges: alike by design
        if !matches!(group.class, DeviceClass::Wireless | DeviceClass::Energy) || base.peak <= 0.0 {
            return;
        }
        let buckets = base.buckets;
        let active: Vec<usize> = (0..buckets).filter(|b| base.active[*b]).collect();
        if active.len() < 8 {
            return;
        }
        // each candidate's deviations from the baseline, centred and of unit length
        let mut ids: Vec<u32> = Vec::new();
        let mut vectors: Vec<[f32; MAX_BUCKETS]> = Vec::new();
        for (&i, _) in group.members.iter().zip(apart).filter(|(_, a)| !**a) {
            let f = &features[i as usize];
            if f.expected == 0 || f.reports == 0 {
                continue;
            }
            let mut x = [0f32; MAX_BUCKETS];
            let mut n = 0usize;
            let mut sum = 0f32;
            for &b in &active {
                let v = f.service[b];
                if v.is_nan() || v <= 0.0 {
                    continue;
                }
                x[b] = (v / base.shape[b]).ln();
                sum += x[b];
                n += 1;
            }
            if n + 2 < active.len() {
                continue;
            }
            let mean = sum / n as f32;
            let mut norm = 0f32;
            for &b in &active {
                if x[b] != 0.0 {
                    x[b] -= mean;
                    norm += x[b] * x[b];
                }
            }
            let sd = (norm / n as f32).sqrt();
            if sd < t.collusion_min_sd as f32 {
                continue; // too smooth to tell chance from agreement
            }
            let inv = 1.0 / norm.sqrt();
            for v in &mut x {
                *v *= inv;
            }
            ids.push(i);
            vectors.push(x);
        }
        if ids.len() < t.collusion_min_ring {
            return;
        }
        // chance alone reaches a correlation more easily over few buckets: ask for one that
        // independent series reach less than once in millions of pairs (Fisher's z of 5)
        let dims = active.len() as f64;
        let required = t
            .collusion_correlation
            .max((5.0 / (dims - 3.0).max(1.0).sqrt()).tanh());
        let mut uf = UnionFind::new(ids.len());
        let mut edge_min = vec![f32::INFINITY; ids.len()];
        let mut keys: Vec<(u16, u32)> = Vec::with_capacity(ids.len());
        let mut pairs = 0u64;
        for band in 0..LSH_BANDS {
            keys.clear();
            for (k, x) in vectors.iter().enumerate() {
                let mut key = 0u16;
                for bit in 0..LSH_BITS {
                    let p = &self.planes[band * LSH_BITS + bit];
                    let dot: f32 = active.iter().map(|&b| p[b] * x[b]).sum();
                    if dot >= 0.0 {
                        key |= 1 << bit;
                    }
                }
                keys.push((key, k as u32));
            }
            keys.sort_unstable();
            let mut start = 0;
            while start < keys.len() {
                let mut end = start + 1;
                while end < keys.len() && keys[end].0 == keys[start].0 {
                    end += 1;
                }
                let run = &keys[start..end.min(start + MAX_LSH_BUCKET)];
                for a in 0..run.len() {
                    for b in a + 1..run.len() {
                        let (ka, kb) = (run[a].1 as usize, run[b].1 as usize);
                        pairs += 1;
                        let corr: f32 = active
                            .iter()
                            .map(|&j| vectors[ka][j] * vectors[kb][j])
                            .sum();
                        if f64::from(corr) >= required {
                            uf.union(ka as u32, kb as u32);
                            edge_min[ka] = edge_min[ka].min(corr);
                            edge_min[kb] = edge_min[kb].min(corr);
                        }
                    }
                }
                start = end;
            }
        }
        self.stats.pairs_checked += pairs;
        let mut rings: std::collections::BTreeMap<u32, Vec<usize>> =
            std::collections::BTreeMap::new();
        for (k, weakest) in edge_min.iter().enumerate() {
            if weakest.is_finite() {
                let root = uf.find(k as u32);
                rings.entry(root).or_default().push(k);
            }
        }
        // a ring found by chance does not come back: a device is flagged when it falls in
        // a ring again within a few windows
        let now = self.windows as u32 + 1;
        for ring in rings.values().filter(|r| r.len() >= t.collusion_min_ring) {
            let weakest = ring
                .iter()
                .map(|k| edge_min[*k])
                .fold(f32::INFINITY, f32::min);
            for &k in ring {
                let h = &mut self.history[ids[k] as usize];
                let again = h.ring_window > 0 && now - h.ring_window <= RING_MEMORY;
                h.ring_window = now;
                if !again {
                    continue;
                }
                let mut with: Vec<String> = ring
                    .iter()
                    .filter(|o| **o != k)
                    .take(10)
                    .map(|o| self.name(ids[*o]))
                    .collect();
                with.sort();
                findings[ids[k] as usize].push(Finding::Collusion {
                    ring: ring.len(),
                    with,
                    correlation: f64::from(weakest),
                    buckets: active.len(),
                });
            }
        }
    }

    fn locations(&mut self, assertions: &[Assertion], findings: &mut [Vec<Finding>]) {
        let mut sorted: Vec<Assertion> = assertions
            .iter()
            .copied()
            .filter(|a| (a.device as usize) < self.history.len())
            .collect();
        sorted.sort_unstable_by_key(|a| (a.device, a.ts));
        let mut worst: std::collections::BTreeMap<u32, Finding> = std::collections::BTreeMap::new();
        for a in sorted {
            let h = &mut self.history[a.device as usize];
            let (from, from_ts) = (h.cell, h.cell_ts);
            h.cell = a.cell;
            h.cell_ts = a.ts;
            if from == 0 || from == a.cell {
                continue;
            }
            let (Some(p), Some(q)) = (cell_latlng(from), cell_latlng(a.cell)) else {
                continue;
            };
            let km = p.distance_km(q);
            let hours = ((a.ts - from_ts).max(60)) as f64 / 3_600.0;
            let kmh = km / hours;
            if km > self.thresholds.min_jump_km && kmh > self.thresholds.max_speed_kmh {
                let replace = match worst.get(&a.device) {
                    Some(Finding::LocationSpoofing { kmh: seen, .. }) => kmh > *seen,
                    _ => true,
                };
                if replace {
                    worst.insert(
                        a.device,
                        Finding::LocationSpoofing {
                            from: format!("{from:x}"),
                            to: format!("{:x}", a.cell),
                            km,
                            hours,
                            kmh,
                        },
                    );
                }
            }
        }
        for (device, f) in worst {
            findings[device as usize].push(f);
        }
    }

    fn lagging(&self, features: &[DayFeatures], findings: &mut [Vec<Finding>]) {
        let t = &self.thresholds;
        for (i, f) in features.iter().enumerate() {
            if f.expected == 0 {
                continue;
            }
            let ratio = f64::from(f.reports) / f64::from(f.expected);
            let previous = f64::from(self.history[i].previous_reports);
            let persistent = ratio < t.late_report_ratio
                && previous.is_finite()
                && previous < t.late_report_ratio;
            if f.reports == 0 || ratio < t.min_report_ratio || persistent {
                findings[i].push(Finding::Lagging {
                    reports: i64::from(f.reports),
                    expected: i64::from(f.expected),
                    silent_secs: f.silent_secs,
                    previous_ratio: persistent.then_some(previous),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{extract, Reading};
    use crate::sim::{Fleet, FleetConfig};

    const DAY: Window = Window {
        from: 0,
        to: 86_400,
        interval_secs: 3_600,
    };

    fn day(k: i64) -> Window {
        DAY.earlier(-k)
    }

    fn features(class: DeviceClass, window: &Window, values: &[f64]) -> DayFeatures {
        let readings: Vec<Reading> = values
            .iter()
            .enumerate()
            .map(|(h, v)| Reading {
                ts: window.from + (h as i64 + 1) * 3_600,
                uptime_secs: 3_600,
                primary: *v,
                ..Reading::default()
            })
            .collect();
        extract(class, window, &readings)
    }

    fn info(class: DeviceClass, capacity_w: f64) -> DeviceInfo {
        DeviceInfo {
            class,
            region: 0,
            capacity_w,
            cell: None,
            cell_ts: 0,
        }
    }

    /// A clear sky's share of a panel's peak in hour `h` (sunrise 6:00, sunset 18:00).
    fn sun(h: usize) -> f64 {
        let x = (h as f64 + 0.5 - 6.0) / 12.0;
        if (0.0..1.0).contains(&x) {
            (std::f64::consts::PI * x).sin()
        } else {
            0.0
        }
    }

    /// An auditor of `n` devices of `class` in one region, named `{prefix}0`,
    /// `{prefix}1`, ...
    fn auditor_of(class: DeviceClass, capacity_w: f64, n: usize, prefix: &str) -> Auditor {
        let devices = vec![info(class, capacity_w); n];
        let names = (0..n).map(|i| format!("{prefix}{i}")).collect();
        Auditor::new(Thresholds::default(), devices, names)
    }

    /// An auditor of `n` meters of 5 kW in one region, named `m0`, `m1`, ...
    fn meters(n: usize) -> Auditor {
        auditor_of(DeviceClass::Energy, 5_000.0, n, "m")
    }

    /// Day `d` of `n` devices of `class`, device `i` serving `value(i, h)` in hour `h`.
    fn group_day(
        class: DeviceClass,
        n: usize,
        d: i64,
        value: impl Fn(usize, usize) -> f64,
    ) -> Vec<DayFeatures> {
        let w = day(d);
        (0..n)
            .map(|i| {
                let values: Vec<f64> = (0..24).map(|h| value(i, h)).collect();
                features(class, &w, &values)
            })
            .collect()
    }

    /// A small deterministic noise in [-1, 1].
    fn noise(i: usize, h: usize, d: i64) -> f64 {
        // splitmix64's finaliser over the three coordinates
        let mut x = (i as u64) << 40 ^ (h as u64) << 20 ^ d as u64;
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    #[test]
    fn a_healthy_fleet_with_outages_seasonality_and_moves_gets_no_finding() {
        // Given a simulated fleet without faults: diurnal traffic, weather, outages, moves
        let fleet = Fleet::new(FleetConfig {
            devices: 3_000,
            days: 7,
            faulty_fraction: 0.0,
            ..FleetConfig::default()
        });
        let infos = fleet.device_infos();
        let mut auditor = Auditor::new(Thresholds::default(), infos.clone(), Vec::new());
        for d in 0..7 {
            let sim = fleet.day(d);
            let found = auditor
                .score(&sim.window, &sim.features(&infos), &sim.assertions)
                .expect("scored");
            // Then no device is flagged, on any day
            let flagged: Vec<_> = found.iter().flatten().map(Finding::explain).collect();
            assert!(flagged.is_empty(), "day {d}: {flagged:?}");
        }
        assert!(auditor.stats().mstl_fits > 0, "the baselines use MSTL");
    }

    #[test]
    fn a_cell_asserted_across_the_world_within_hours_is_spoofing_and_a_slow_move_is_not() {
        let berlin = u64::from(
            LatLng::new(52.52, 13.405)
                .expect("ll")
                .to_cell(h3o::Resolution::Eight),
        );
        let tokyo = u64::from(
            LatLng::new(35.68, 139.65)
                .expect("ll")
                .to_cell(h3o::Resolution::Eight),
        );
        let paris = u64::from(
            LatLng::new(48.86, 2.35)
                .expect("ll")
                .to_cell(h3o::Resolution::Eight),
        );
        // one asserted Berlin at midnight, the other three days before
        let mut devices = vec![info(DeviceClass::Other, 0.0); 2];
        for (d, at) in devices.iter_mut().zip([0, -3 * 86_400]) {
            d.cell = Some(berlin);
            d.cell_ts = at;
        }
        let mut auditor =
            Auditor::new(Thresholds::default(), devices, vec!["a".into(), "b".into()]);
        let f = vec![features(DeviceClass::Other, &DAY, &[0.0; 24]); 2];
        let found = auditor
            .score(
                &DAY,
                &f,
                &[
                    Assertion {
                        device: 0,
                        ts: 3_600,
                        cell: tokyo,
                    },
                    Assertion {
                        device: 1,
                        ts: 3_600,
                        cell: paris,
                    },
                ],
            )
            .expect("scored");
        let text = found[0][0].explain();
        assert!(
            matches!(found[0][..], [Finding::LocationSpoofing { .. }]),
            "{text}"
        );
        assert!(
            text.contains("km/h, faster than any device travels"),
            "{text}"
        );
        assert!(found[1].is_empty(), "{:?}", found[1]);
    }

    #[test]
    fn devices_replaying_one_series_are_a_ring_and_independent_ones_are_not() {
        // Given 30 hotspots with a shared diurnal curve and their own noise, three of which
        // replay one series with 1% noise
        let n = 30;
        let mut auditor = auditor_of(DeviceClass::Wireless, 0.0, n, "d");
        let curve = |h: usize| 1e6 * (1.5 + (h as f64 / 24.0 * std::f64::consts::TAU).sin());
        let mut found = Vec::new();
        for d in 0..2 {
            let f = group_day(DeviceClass::Wireless, n, d, |i, h| {
                let source = if i >= n - 3 { 999 } else { i };
                let own = if i >= n - 3 {
                    0.01 * noise(i, h, 7 + d)
                } else {
                    0.0
                };
                curve(h) * (0.3 * noise(source, h, d)).exp() * (1.0 + own)
            });
            found = auditor.score(&day(d), &f, &[]).expect("scored");
            if d == 0 {
                // one window of agreement could be chance: nobody is flagged yet
                assert!(found.iter().all(Vec::is_empty), "{found:?}");
            }
        }
        // Then exactly the three are flagged, each naming the two others
        for (i, fs) in found.iter().enumerate() {
            if i >= n - 3 {
                let text = fs.first().map(Finding::explain).unwrap_or_default();
                assert!(
                    matches!(fs[..], [Finding::Collusion { ring: 3, .. }]),
                    "{i}: {fs:?}"
                );
                assert!(text.contains("d27") || i == 27, "{text}");
            } else {
                assert!(fs.is_empty(), "{i}: {fs:?}");
            }
        }
    }

    #[test]
    fn a_meter_that_ignores_the_clouds_its_neighbours_saw_inflates() {
        // Given 20 meters of 5 kW under a clear day, then a cloudy one with passing clouds,
        // and one meter reporting clear-sky output on the cloudy day
        let n = 20;
        let mut auditor = meters(n);
        for d in 0..2i64 {
            let f = group_day(DeviceClass::Energy, n, d, |i, h| {
                let clouds = if d == 1 && i != 0 {
                    0.3 * (0.6 * noise(1_000, h, d)).exp()
                } else {
                    1.0
                };
                4_000.0 * sun(h) * clouds * (0.05 * noise(i, h, d)).exp()
            });
            let found = auditor.score(&day(d), &f, &[]).expect("scored");
            if d == 0 {
                assert!(found.iter().all(Vec::is_empty), "{found:?}");
                continue;
            }
            // Then on the cloudy day it alone is flagged, for not following the weather
            let text = found[0].first().map(Finding::explain).unwrap_or_default();
            assert!(
                matches!(found[0][..], [Finding::NeighbourInflation { .. }]),
                "{found:?}"
            );
            assert!(text.contains("does not follow the weather"), "{text}");
            assert!(found[1..].iter().all(Vec::is_empty), "{found:?}");
        }
    }

    #[test]
    fn in_a_hazy_week_a_meter_blind_to_the_clouds_is_neighbour_inflation_and_a_multiplied_one_inflation(
    ) {
        // Given 20 meters under four hazy days with passing clouds; meter 0 reports
        // clear-sky output throughout, meter 1 reports four times its output on the last day
        let n = 20;
        let mut auditor = meters(n);
        for d in 0..4i64 {
            let f = group_day(DeviceClass::Energy, n, d, |i, h| {
                let sky = if i == 0 {
                    1.0
                } else {
                    0.45 * (0.4 * noise(1_000, h, d)).exp()
                };
                let factor = if i == 1 && d == 3 { 4.0 } else { 1.0 };
                factor * 4_000.0 * sun(h) * sky * (0.05 * noise(i, h, d)).exp()
            });
            let found = auditor.score(&day(d), &f, &[]).expect("scored");
            if d < 3 {
                // (the region's clearest level needs three days to be known)
                assert!(found[1..].iter().all(Vec::is_empty), "{found:?}");
                continue;
            }
            // Then on the fourth day both are beyond the week's clearest level, and each is
            // named for what it does
            assert!(
                matches!(found[0][..], [Finding::NeighbourInflation { .. }]),
                "{:?}",
                found[0]
            );
            assert!(
                matches!(
                    found[1][..],
                    [Finding::Inflation {
                        baseline: InflationBaseline::ClearSky,
                        ..
                    }]
                ),
                "{:?}",
                found[1]
            );
            let text = found[0][0].explain();
            assert!(text.contains("beyond what its panel makes"), "{text}");
            assert!(found[2..].iter().all(Vec::is_empty), "{found:?}");
        }
    }
}
