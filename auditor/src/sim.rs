//! A seeded fleet simulator with ground truth, for the tests and the `fleet` benchmark.
//!
//! [`Fleet::new`] places devices of three classes in regions (H3 resolution-5 cells around
//! six real cities, devices in resolution-8 cells inside them) and picks the faulty ones:
//! a fraction of the fleet for each [`FindingKind`], each with a [`Label`] (device, kind,
//! start). [`Fleet::day`] then generates one day of hourly reports, so a month of a large
//! fleet streams day by day in bounded memory:
//!
//! - **wireless**: bytes follow a diurnal curve in local time (lowest at 4:00, highest at
//!   16:00) times the region's demand of the day, with per-hour noise;
//! - **storage**: 8 to 16 challenges an hour, about 1% of them missed;
//! - **energy**: a solar bell curve in local time, scaled by the panel, its efficiency and
//!   the region's weather of the day (clear, or cloudy with clouds passing hour by hour),
//!   plus a
//!   household's consumption;
//! - **healthy noise**: short outages (one to four hours without reports) on 4% of the
//!   device-days, and about 1% of healthy devices moving once, at a plausible speed.
//!
//! The faults, from their start on: lagging (reports dropped at random, or silence);
//! malfunction (zero readings, a stuck or erratic meter, a meter that stops while still
//! reporting, a storage node failing its challenges); inflation (service multiplied);
//! neighbour inflation (a meter reporting clear-sky output whatever the clouds); location
//! spoofing (cells asserted across continents within hours); collusion (half of it rings of
//! three to six devices of a region replaying one generator's series with 1% noise, half
//! storage nodes paid only by their own operators, alone or in circles of two or three).
//!
//! [`Fleet::deals`] generates each day's storage deals (customers, a few honest operators
//! who buy storage too, and the closed circles), and [`DealWindow`] keeps the last days of
//! them for [`crate::market`].

use h3o::{CellIndex, LatLng, Resolution};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::detect::{Assertion, DeviceInfo};
use crate::features::{extract, DayFeatures, DeviceClass, Reading, Window, MAX_BUCKETS};
use crate::market::{closed_markets, Deal, MarketThresholds};
use crate::{Finding, FindingKind};

/// Hours in a simulated day (one report an hour).
pub const HOURS: usize = MAX_BUCKETS;
const DAY: i64 = 86_400;
const CITIES: [(&str, f64, f64); 6] = [
    ("Berlin", 52.52, 13.405),
    ("Paris", 48.8566, 2.3522),
    ("Lagos", 6.5244, 3.3792),
    ("San Francisco", 37.7749, -122.4194),
    ("Tokyo", 35.6762, 139.6503),
    ("Sao Paulo", -23.5505, -46.6333),
];

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetConfig {
    /// Devices in the fleet.
    pub devices: usize,
    /// Days simulated.
    pub days: u32,
    /// Fraction of the fleet faulty with each kind (0.02: 2% lagging, 2% malfunctioning...).
    pub faulty_fraction: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Unix time of the first day's midnight (UTC).
    pub start_ts: i64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            devices: 2_000,
            days: 10,
            faulty_fraction: 0.02,
            seed: 7,
            start_ts: 1_767_225_600, // 2026-01-01
        }
    }
}

/// How a faulty device misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum FaultMode {
    /// Each hourly report arrives with this probability.
    Lagging {
        /// Probability of a report.
        keep: f32,
    },
    /// No report at all.
    Silent,
    /// The service reads zero (the device still reports and is up).
    Zero,
    /// The meter repeats one reading.
    Stuck,
    /// Readings at random, whatever the hour.
    Erratic,
    /// Reports continue with every metric at zero (no uptime).
    Stops,
    /// A storage node answers few challenges.
    FailsChallenges,
    /// The service is multiplied.
    Inflation {
        /// By this.
        factor: f32,
    },
    /// A meter reports what its panel makes under a clear sky, whatever the weather.
    IgnoresClouds,
    /// Asserted cells jump between cities.
    Spoofing,
    /// Replays ring's generator.
    Collusion {
        /// The ring.
        ring: u32,
    },
    /// A storage node paid only by a circle of operators that owns it (its telemetry is
    /// healthy).
    ClosedMarket {
        /// The circle.
        circle: u32,
    },
}

/// A fault injected in the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Label {
    /// The device (its index).
    pub device: u32,
    /// The kind a detector should report.
    pub kind: FindingKind,
    /// When it starts (unix).
    pub start_ts: i64,
    /// How.
    pub mode: FaultMode,
}

/// One simulated hourly report (or its absence).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Hour {
    /// Whether the report was sent.
    pub present: bool,
    /// Seconds up.
    pub uptime_secs: u16,
    /// Bytes served, challenges answered or Wh produced.
    pub primary: f32,
    /// Challenges missed or Wh consumed.
    pub secondary: f32,
}

/// One simulated day of the whole fleet.
#[derive(Debug, Clone)]
pub struct SimDay {
    /// Which day (0-based).
    pub day: u32,
    /// Its window (hourly reports).
    pub window: Window,
    /// [`HOURS`] hours per device, device after device.
    pub hours: Vec<Hour>,
    /// Locations asserted during the day.
    pub assertions: Vec<Assertion>,
}

#[derive(Debug, Clone)]
struct Region {
    cell: CellIndex,
    lng: f64,
}

#[derive(Debug, Clone)]
struct Device {
    class: DeviceClass,
    region: u32,
    cell: u64,
    /// Wireless: bytes an hour at the diurnal peak; storage: challenges an hour; energy:
    /// panel W.
    scale: f32,
    /// Energy: panel efficiency; consumption base in `aux`.
    eff: f32,
    aux: f32,
    fault: Option<(FaultMode, i64)>,
    /// Storage: the operator (wallet) that owns it.
    owner: u32,
    /// A healthy move: when, and to which cell.
    moves: Option<(i64, u64)>,
}

#[derive(Debug, Clone)]
struct Ring {
    /// The generator its members replay.
    leader: Device,
}

/// A simulated fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    config: FleetConfig,
    regions: Vec<Region>,
    devices: Vec<Device>,
    rings: Vec<Ring>,
    labels: Vec<Label>,
    market: Market,
}

/// The storage market: operators (wallets `0..operators`) own the storage nodes, customers
/// (wallets `operators..operators + customers`) buy from them; a few honest operators buy
/// storage too, and the closed circles buy only from their own devices.
#[derive(Debug, Clone, Default)]
struct Market {
    operators: u32,
    customers: u32,
    /// Honest operators who also buy storage.
    buyers: Vec<u32>,
    /// Each closed circle's wallets.
    circles: Vec<Vec<u32>>,
}

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box-Muller
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn random_child(rng: &mut ChaCha8Rng, region: CellIndex) -> u64 {
    let count = region.children_count(Resolution::Eight);
    let pos = rng.random_range(0..count.max(1));
    region
        .child_at(pos, Resolution::Eight)
        .map_or(u64::from(region), u64::from)
}

fn seed_for(seed: u64, day: u64, stream: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ day.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ stream.wrapping_mul(0x94D0_49BB_1331_11EB)
}

/// The day's conditions of one region.
#[derive(Clone, Copy)]
struct Conditions {
    weather: f32,
    clouds: [f32; HOURS],
    demand: f32,
    lng: f64,
}

impl Fleet {
    /// Generates the fleet (devices, regions, faults); nothing is generated per day yet.
    pub fn new(config: FleetConfig) -> Fleet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(config.seed, u64::MAX, 0));
        let mut regions = Vec::new();
        let mut city_of_region = Vec::new();
        for (c, (_, lat, lng)) in CITIES.iter().enumerate() {
            let Ok(center) = LatLng::new(*lat, *lng) else {
                continue;
            };
            for cell in center.to_cell(Resolution::Five).grid_disk::<Vec<_>>(1) {
                regions.push(Region {
                    cell,
                    lng: LatLng::from(cell).lng(),
                });
                city_of_region.push(c);
            }
        }
        let n_regions = regions.len().max(1) as u32;
        let mut devices: Vec<Device> = (0..config.devices)
            .map(|_| {
                let region = rng.random_range(0..n_regions);
                let cell = regions
                    .get(region as usize)
                    .map_or(0, |r| random_child(&mut rng, r.cell));
                let class = match rng.random_range(0..3) {
                    0 => DeviceClass::Wireless,
                    1 => DeviceClass::Storage,
                    _ => DeviceClass::Energy,
                };
                let (scale, eff, aux) = match class {
                    DeviceClass::Wireless => (
                        40e6 * (0.35 * normal(&mut rng)).exp().clamp(0.4, 2.2),
                        1.0,
                        0.0,
                    ),
                    DeviceClass::Storage => (4.0 * rng.random_range(2..=4) as f32, 1.0, 0.0),
                    _ => (
                        rng.random_range(2_000.0..8_000.0),
                        rng.random_range(0.75..1.15),
                        rng.random_range(300.0..900.0),
                    ),
                };
                Device {
                    class,
                    region,
                    cell,
                    scale,
                    eff,
                    aux,
                    fault: None,
                    owner: u32::MAX,
                    moves: None,
                }
            })
            .collect();
        let per_kind = (config.devices as f64 * config.faulty_fraction).round() as usize;
        // faults start in the first half, so each has at least half the run to show
        let latest_day = (i64::from(config.days) / 2).max(2);
        let start =
            |rng: &mut ChaCha8Rng| config.start_ts + rng.random_range(24..latest_day * 24) * 3_600;
        let mut order: Vec<u32> = (0..config.devices as u32).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut labels = Vec::new();
        let mut rings = Vec::new();
        // collusion: rings inside one region and class
        let mut groups: std::collections::BTreeMap<(u32, DeviceClass), Vec<u32>> =
            std::collections::BTreeMap::new();
        for &i in &order {
            let d = &devices[i as usize];
            if matches!(d.class, DeviceClass::Wireless | DeviceClass::Energy) {
                groups.entry((d.region, d.class)).or_default().push(i);
            }
        }
        // half of the colluding devices replay one series, half serve a closed market
        let closed_quota = per_kind / 2;
        let mut colluding = closed_quota;
        let mut group_list: Vec<_> = groups.into_iter().collect();
        for i in (1..group_list.len()).rev() {
            group_list.swap(i, rng.random_range(0..=i));
        }
        'rings: for ((region, class), members) in group_list {
            let mut rest = members.as_slice();
            while colluding < per_kind {
                let size = rng.random_range(3..=6usize);
                if rest.len() < size {
                    continue 'rings;
                }
                let (ring, tail) = rest.split_at(size);
                rest = tail;
                let ring_id = rings.len() as u32;
                let at = start(&mut rng);
                for &m in ring {
                    devices[m as usize].fault = Some((FaultMode::Collusion { ring: ring_id }, at));
                    labels.push(Label {
                        device: m,
                        kind: FindingKind::Collusion,
                        start_ts: at,
                        mode: FaultMode::Collusion { ring: ring_id },
                    });
                }
                colluding += size;
                let mut leader = devices[ring[0] as usize].clone();
                leader.scale = match class {
                    DeviceClass::Wireless => 40e6,
                    _ => 5_000.0,
                };
                leader.eff = 1.0;
                leader.region = region;
                leader.fault = None;
                rings.push(Ring { leader });
            }
            break;
        }
        let take = |devices: &mut Vec<Device>,
                    rng: &mut ChaCha8Rng,
                    kind: FindingKind,
                    only: Option<DeviceClass>,
                    labels: &mut Vec<Label>| {
            let mut taken = 0;
            for &i in &order {
                if taken == per_kind {
                    break;
                }
                let d = &devices[i as usize];
                if d.fault.is_some() || only.is_some_and(|c| c != d.class) {
                    continue;
                }
                let mode = match kind {
                    FindingKind::Lagging => {
                        if rng.random_bool(0.2) {
                            FaultMode::Silent
                        } else {
                            FaultMode::Lagging {
                                keep: rng.random_range(0.15..0.6),
                            }
                        }
                    }
                    FindingKind::Malfunction => {
                        let modes: &[FaultMode] = match d.class {
                            DeviceClass::Wireless => {
                                &[FaultMode::Zero, FaultMode::Erratic, FaultMode::Stops]
                            }
                            DeviceClass::Storage => &[FaultMode::FailsChallenges, FaultMode::Stops],
                            _ => &[
                                FaultMode::Zero,
                                FaultMode::Stuck,
                                FaultMode::Erratic,
                                FaultMode::Stops,
                            ],
                        };
                        modes[rng.random_range(0..modes.len())]
                    }
                    FindingKind::Inflation => FaultMode::Inflation {
                        factor: if d.class == DeviceClass::Energy {
                            rng.random_range(3.0..6.0)
                        } else {
                            rng.random_range(4.0..10.0)
                        },
                    },
                    FindingKind::NeighbourInflation => FaultMode::IgnoresClouds,
                    FindingKind::LocationSpoofing => FaultMode::Spoofing,
                    FindingKind::Collusion => continue,
                };
                let at = start(rng);
                devices[i as usize].fault = Some((mode, at));
                labels.push(Label {
                    device: i,
                    kind,
                    start_ts: at,
                    mode,
                });
                taken += 1;
            }
        };
        take(
            &mut devices,
            &mut rng,
            FindingKind::NeighbourInflation,
            Some(DeviceClass::Energy),
            &mut labels,
        );
        for kind in [
            FindingKind::Lagging,
            FindingKind::Malfunction,
            FindingKind::Inflation,
            FindingKind::LocationSpoofing,
        ] {
            take(&mut devices, &mut rng, kind, None, &mut labels);
        }
        let market = Self::storage_market(
            &mut rng,
            &mut devices,
            &order,
            closed_quota,
            start,
            &mut labels,
        );
        // healthy moves: 1% of the healthy devices, across town or (rarely) to another city
        let span = i64::from(config.days.max(1)) * DAY;
        for d in devices.iter_mut().filter(|d| d.fault.is_none()) {
            if !rng.random_bool(0.01) {
                continue;
            }
            let city = city_of_region.get(d.region as usize).copied().unwrap_or(0);
            let candidates: Vec<usize> = if rng.random_bool(0.3) {
                (0..regions.len()).collect()
            } else {
                (0..regions.len())
                    .filter(|r| city_of_region[*r] == city)
                    .collect()
            };
            let r = candidates[rng.random_range(0..candidates.len())];
            let cell = random_child(&mut rng, regions[r].cell);
            d.moves = Some((config.start_ts + rng.random_range(0..span), cell));
        }
        labels.sort_by_key(|l| l.device);
        Fleet {
            config,
            regions,
            devices,
            rings,
            labels,
            market,
        }
    }

    /// Gives the storage nodes their operators (one to four nodes each, in `order`), picks
    /// the honest operators who also buy storage (one in ten) and the closed circles (one
    /// to three operators whose nodes are all otherwise healthy) until `quota` nodes are
    /// in circles, labelled as collusion from their start.
    fn storage_market(
        rng: &mut ChaCha8Rng,
        devices: &mut [Device],
        order: &[u32],
        quota: usize,
        start: impl Fn(&mut ChaCha8Rng) -> i64,
        labels: &mut Vec<Label>,
    ) -> Market {
        let mut owned: Vec<Vec<u32>> = Vec::new();
        let mut left = 0;
        for &i in order {
            if devices[i as usize].class != DeviceClass::Storage {
                continue;
            }
            if left == 0 {
                owned.push(Vec::new());
                left = rng.random_range(1..=4);
            }
            let owner = owned.len() as u32 - 1;
            devices[i as usize].owner = owner;
            owned[owner as usize].push(i);
            left -= 1;
        }
        let operators = owned.len() as u32;
        let nodes: usize = owned.iter().map(Vec::len).sum();
        let mut market = Market {
            operators,
            customers: 2 * nodes as u32,
            ..Market::default()
        };
        let mut closed = 0;
        let mut next = 0usize;
        while closed < quota && next < owned.len() {
            let size = rng.random_range(1..=3usize);
            let mut circle = Vec::new();
            while circle.len() < size && next < owned.len() {
                let op = next;
                next += 1;
                if owned[op]
                    .iter()
                    .all(|&i| devices[i as usize].fault.is_none())
                {
                    circle.push(op as u32);
                }
            }
            if circle.is_empty() {
                break;
            }
            let id = market.circles.len() as u32;
            let at = start(rng);
            for &op in &circle {
                for &i in &owned[op as usize] {
                    let mode = FaultMode::ClosedMarket { circle: id };
                    devices[i as usize].fault = Some((mode, at));
                    labels.push(Label {
                        device: i,
                        kind: FindingKind::Collusion,
                        start_ts: at,
                        mode,
                    });
                    closed += 1;
                }
            }
            market.circles.push(circle);
        }
        market.buyers = (next as u32..operators)
            .filter(|_| rng.random_bool(0.1))
            .collect();
        market
    }

    /// The storage deals accepted on day `day`: each customer buys with probability 0.3,
    /// and each honest operator who buys with the same, from a random node that still
    /// serves the open market (never its own); from its start, a closed circle's node is
    /// paid, with probability 0.9 a day, by a wallet of its circle (another operator's
    /// when the circle has several) and by nobody else. Values are 50 to 500.
    pub fn deals(&self, day: u32) -> Vec<Deal> {
        let window = self.window(day);
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(self.config.seed, u64::from(day), 3));
        let closed = |d: &Device| matches!(d.fault, Some((FaultMode::ClosedMarket { .. }, at)) if at < window.to);
        let open: Vec<u32> = (0..self.devices.len() as u32)
            .filter(|&i| {
                let d = &self.devices[i as usize];
                d.class == DeviceClass::Storage && !closed(d)
            })
            .collect();
        let mut deals = Vec::new();
        if open.is_empty() {
            return deals;
        }
        let m = &self.market;
        let buyers = (m.operators..m.operators + m.customers).chain(m.buyers.iter().copied());
        for client in buyers {
            if !rng.random_bool(0.3) {
                continue;
            }
            let device = open[rng.random_range(0..open.len())];
            let owner = self.devices[device as usize].owner;
            if owner == client {
                continue;
            }
            deals.push(Deal {
                client,
                device,
                owner,
                value: rng.random_range(50.0..500.0),
            });
        }
        for (i, d) in self.devices.iter().enumerate() {
            let Some((FaultMode::ClosedMarket { circle }, _)) = d.fault else {
                continue;
            };
            if !closed(d) || !rng.random_bool(0.9) {
                continue;
            }
            let Some(wallets) = m.circles.get(circle as usize) else {
                continue;
            };
            let others: Vec<u32> = wallets.iter().copied().filter(|w| *w != d.owner).collect();
            let client = if others.is_empty() {
                d.owner
            } else {
                others[rng.random_range(0..others.len())]
            };
            deals.push(Deal {
                client,
                device: i as u32,
                owner: d.owner,
                value: rng.random_range(50.0..500.0),
            });
        }
        deals
    }

    /// What it simulates.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// The injected faults, by device.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// What an auditor knows of each device (class, region, panel, home cell asserted a
    /// month before the first day).
    pub fn device_infos(&self) -> Vec<DeviceInfo> {
        self.devices
            .iter()
            .map(|d| DeviceInfo {
                class: d.class,
                region: d.region,
                capacity_w: if d.class == DeviceClass::Energy {
                    f64::from(d.scale)
                } else {
                    0.0
                },
                cell: Some(d.cell),
                cell_ts: self.config.start_ts - 30 * DAY,
            })
            .collect()
    }

    /// The window of day `day`.
    pub fn window(&self, day: u32) -> Window {
        let from = self.config.start_ts + i64::from(day) * DAY;
        Window {
            from,
            to: from + DAY,
            interval_secs: 3_600,
        }
    }

    fn conditions(&self, rng: &mut ChaCha8Rng, day: u32) -> Vec<Conditions> {
        let weekend = matches!((day + 3) % 7, 5 | 6); // 2026-01-01 is a Thursday
        self.regions
            .iter()
            .map(|r| {
                let weather = if rng.random_bool(0.4) {
                    rng.random_range(0.8..1.0)
                } else {
                    rng.random_range(0.15..0.8)
                };
                // passing clouds on cloudy days; a clear day is clear all day
                let passing = if weather >= 0.8 { 0.03 } else { 0.25 };
                let mut clouds = [1.0f32; HOURS];
                for c in &mut clouds {
                    *c = (passing * normal(rng)).exp().clamp(0.3, 1.7);
                }
                Conditions {
                    weather,
                    clouds,
                    demand: rng.random_range(0.85..1.15) * if weekend { 0.9 } else { 1.0 },
                    lng: r.lng,
                }
            })
            .collect()
    }

    /// One healthy hour of `d` under `c`.
    fn healthy(rng: &mut ChaCha8Rng, d: &Device, c: &Conditions, h: usize, clear: bool) -> Hour {
        let local = (h as f64 + 0.5 + c.lng / 15.0).rem_euclid(24.0) as f32;
        match d.class {
            DeviceClass::Wireless => {
                let diurnal = 0.25
                    + 0.75 * (0.5 - 0.5 * (std::f32::consts::TAU * (local - 4.0) / 24.0).cos());
                Hour {
                    present: true,
                    uptime_secs: 3_600 - rng.random_range(0..60),
                    primary: d.scale * c.demand * diurnal * (0.2 * normal(rng)).exp(),
                    secondary: 0.0,
                }
            }
            DeviceClass::Storage => {
                let asked = d.scale;
                let missed = if rng.random_bool(0.01) { 1.0 } else { 0.0 };
                Hour {
                    present: true,
                    uptime_secs: 3_600,
                    primary: asked - missed,
                    secondary: missed,
                }
            }
            _ => {
                let sun = if (6.0..18.0).contains(&local) {
                    (std::f32::consts::PI * (local - 6.0) / 12.0).sin()
                } else {
                    0.0
                };
                let sky = if clear { 1.0 } else { c.weather * c.clouds[h] };
                let evening = if (17.0..23.0).contains(&local) {
                    1.0
                } else {
                    0.3
                };
                Hour {
                    present: true,
                    uptime_secs: 0,
                    primary: d.scale * d.eff * 0.85 * sun * sky * (0.08 * normal(rng)).exp(),
                    secondary: d.aux * evening * (0.2 * normal(rng)).exp(),
                }
            }
        }
    }

    /// Generates day `day` (0-based) of every device.
    pub fn day(&self, day: u32) -> SimDay {
        let window = self.window(day);
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(self.config.seed, u64::from(day), 1));
        let conditions = self.conditions(&mut rng, day);
        let leaders: Vec<[Hour; HOURS]> = self
            .rings
            .iter()
            .map(|ring| {
                let c = &conditions[ring.leader.region as usize];
                let mut hours = [Hour::default(); HOURS];
                for (h, slot) in hours.iter_mut().enumerate() {
                    *slot = Self::healthy(&mut rng, &ring.leader, c, h, false);
                }
                hours
            })
            .collect();
        let mut hours = vec![Hour::default(); self.devices.len() * HOURS];
        let mut assertions = Vec::new();
        for (i, d) in self.devices.iter().enumerate() {
            let c = &conditions[d.region as usize];
            let out = &mut hours[i * HOURS..(i + 1) * HOURS];
            for (h, slot) in out.iter_mut().enumerate() {
                *slot = Self::healthy(&mut rng, d, c, h, false);
            }
            if rng.random_bool(0.04) {
                let from = rng.random_range(0..HOURS);
                let len = rng.random_range(1..=4usize);
                for slot in out.iter_mut().skip(from).take(len) {
                    slot.present = false;
                }
            }
            if let Some((at, cell)) = d.moves {
                if at >= window.from && at < window.to {
                    assertions.push(Assertion {
                        device: i as u32,
                        ts: at,
                        cell,
                    });
                }
            }
            let Some((mode, start)) = d.fault else {
                continue;
            };
            if start >= window.to {
                continue;
            }
            let first = usize::try_from((start - window.from).max(0) / 3_600).unwrap_or(0);
            for h in first..HOURS {
                let slot = &mut out[h];
                match mode {
                    FaultMode::Lagging { keep } => {
                        slot.present &= rng.random_bool(f64::from(keep));
                    }
                    FaultMode::Silent => slot.present = false,
                    FaultMode::Zero => slot.primary = 0.0,
                    FaultMode::Stuck => {
                        slot.primary = (d.scale * d.eff * 0.3).round();
                        slot.secondary = d.aux.round();
                    }
                    FaultMode::Erratic => {
                        let top = match d.class {
                            DeviceClass::Energy => d.scale,
                            _ => d.scale * 2.0,
                        };
                        slot.primary = rng.random_range(0.0..top);
                    }
                    FaultMode::Stops => {
                        slot.uptime_secs = 0;
                        slot.primary = 0.0;
                        slot.secondary = 0.0;
                    }
                    FaultMode::FailsChallenges => {
                        let answered = (d.scale * rng.random_range(0.0..0.3f32)).round();
                        slot.secondary = d.scale - answered;
                        slot.primary = answered;
                    }
                    FaultMode::Inflation { factor } => slot.primary *= factor,
                    FaultMode::IgnoresClouds => {
                        let present = slot.present;
                        *slot = Self::healthy(&mut rng, d, c, h, true);
                        slot.present = present;
                    }
                    FaultMode::Spoofing | FaultMode::ClosedMarket { .. } => {}
                    FaultMode::Collusion { ring } => {
                        if let (Some(r), Some(l)) =
                            (self.rings.get(ring as usize), leaders.get(ring as usize))
                        {
                            let k = d.scale / r.leader.scale;
                            slot.present = l[h].present;
                            slot.primary = l[h].primary * k * (1.0 + 0.01 * normal(&mut rng));
                            slot.secondary = l[h].secondary * (1.0 + 0.01 * normal(&mut rng));
                        }
                    }
                }
            }
            if mode == FaultMode::Spoofing {
                // three assertions a day, each in a random city, at random hours
                let mut at: Vec<usize> = (0..3).map(|_| rng.random_range(first..HOURS)).collect();
                at.sort_unstable();
                for h in at {
                    let r = rng.random_range(0..self.regions.len());
                    assertions.push(Assertion {
                        device: i as u32,
                        ts: window.from + h as i64 * 3_600 + rng.random_range(0..3_600),
                        cell: random_child(&mut rng, self.regions[r].cell),
                    });
                }
            }
        }
        SimDay {
            day,
            window,
            hours,
            assertions,
        }
    }
}

impl SimDay {
    /// Each device's features of the day, extracted from its hourly reports as the live
    /// auditor extracts them from telemetry.
    pub fn features(&self, classes: &[DeviceInfo]) -> Vec<DayFeatures> {
        let mut readings = Vec::with_capacity(HOURS);
        self.hours
            .chunks_exact(HOURS)
            .zip(classes)
            .map(|(hours, info)| {
                readings.clear();
                readings.extend(hours.iter().enumerate().filter(|(_, h)| h.present).map(
                    |(h, r)| Reading {
                        ts: self.window.from + (h as i64 + 1) * 3_600 - 1,
                        uptime_secs: i64::from(r.uptime_secs),
                        primary: f64::from(r.primary),
                        secondary: f64::from(r.secondary),
                        heartbeat: false,
                    },
                ));
                extract(info.class, &self.window, &readings)
            })
            .collect()
    }
}

/// The storage deals of the last few days, as the live auditor reads them over its
/// replayed windows.
#[derive(Debug, Clone)]
pub struct DealWindow {
    days: std::collections::VecDeque<Vec<Deal>>,
    keep: usize,
}

impl DealWindow {
    /// A window of the last `keep` days (at least one).
    pub fn new(keep: usize) -> DealWindow {
        DealWindow {
            days: std::collections::VecDeque::new(),
            keep: keep.max(1),
        }
    }

    /// Adds a day's deals, forgetting the oldest day beyond the window, and adds the
    /// [`closed_markets`] findings of the window to `findings` (one row per device).
    pub fn push_and_audit(
        &mut self,
        deals: Vec<Deal>,
        t: &MarketThresholds,
        findings: &mut [Vec<Finding>],
    ) {
        if self.days.len() == self.keep {
            self.days.pop_front();
        }
        self.days.push_back(deals);
        let all: Vec<Deal> = self.days.iter().flatten().copied().collect();
        for (device, finding) in closed_markets(&all, |d| format!("#{d}"), t) {
            if let Some(row) = findings.get_mut(device as usize) {
                row.push(finding);
            }
        }
    }
}

/// Precision, recall and time to flag of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KindQuality {
    /// The kind.
    pub kind: FindingKind,
    /// Devices labelled with it.
    pub labelled: usize,
    /// Devices flagged with it.
    pub flagged: usize,
    /// Flagged devices labelled with it.
    pub true_positives: usize,
    /// Hours from fault start to the end of the window that flagged it: median.
    pub hours_to_flag_median: f64,
    /// And 95th percentile.
    pub hours_to_flag_p95: f64,
}

impl KindQuality {
    /// True positives over flagged (1 when nothing was flagged).
    pub fn precision(&self) -> f64 {
        if self.flagged == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.flagged as f64
        }
    }

    /// True positives over labelled (1 when nothing was labelled).
    pub fn recall(&self) -> f64 {
        if self.labelled == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.labelled as f64
        }
    }
}

/// Ground truth against findings, window after window.
#[derive(Debug, Clone)]
pub struct Tally {
    labels: Vec<Option<Label>>,
    /// Per device, per kind: end of the first window that flagged it.
    first_flag: Vec<[Option<i64>; 6]>,
    suspended: Vec<bool>,
    /// An example explanation per (labelled kind, flagged kind).
    examples: std::collections::BTreeMap<(Option<FindingKind>, FindingKind), String>,
}

impl Tally {
    /// A tally of `fleet`'s labels.
    pub fn new(fleet: &Fleet) -> Tally {
        let mut labels = vec![None; fleet.devices.len()];
        for l in fleet.labels() {
            labels[l.device as usize] = Some(*l);
        }
        Tally {
            first_flag: vec![[None; 6]; labels.len()],
            suspended: vec![false; labels.len()],
            labels,
            examples: std::collections::BTreeMap::new(),
        }
    }

    /// Records the findings of the window ending at `window_end`.
    pub fn record(&mut self, window_end: i64, findings: &[Vec<Finding>]) {
        for (i, found) in findings.iter().enumerate() {
            for f in found {
                let k = f.kind() as usize;
                if self.first_flag[i][k].is_none() {
                    self.first_flag[i][k] = Some(window_end);
                }
                self.suspended[i] |= f.suspends();
                let label = self.labels[i].map(|l| l.kind);
                self.examples
                    .entry((label, f.kind()))
                    .or_insert_with(|| f.explain());
            }
        }
    }

    /// Quality per kind.
    pub fn quality(&self) -> Vec<KindQuality> {
        FindingKind::ALL
            .iter()
            .map(|&kind| {
                let k = kind as usize;
                let mut q = KindQuality {
                    kind,
                    labelled: 0,
                    flagged: 0,
                    true_positives: 0,
                    hours_to_flag_median: f64::NAN,
                    hours_to_flag_p95: f64::NAN,
                };
                let mut delays = Vec::new();
                for (label, flags) in self.labels.iter().zip(&self.first_flag) {
                    let labelled = label.is_some_and(|l| l.kind == kind);
                    q.labelled += usize::from(labelled);
                    if let Some(at) = flags[k] {
                        q.flagged += 1;
                        if let (true, Some(l)) = (labelled, label) {
                            q.true_positives += 1;
                            delays.push((at - l.start_ts) as f64 / 3_600.0);
                        }
                    }
                }
                delays.sort_by(f64::total_cmp);
                if !delays.is_empty() {
                    q.hours_to_flag_median = delays[delays.len() / 2];
                    q.hours_to_flag_p95 = delays[(delays.len() * 95 / 100).min(delays.len() - 1)];
                }
                q
            })
            .collect()
    }

    /// The labels of `kind` never flagged with it, and the kinds they were flagged with.
    pub fn missed(&self, kind: FindingKind) -> Vec<(Label, Vec<FindingKind>)> {
        self.labels
            .iter()
            .zip(&self.first_flag)
            .filter_map(|(l, flags)| {
                let l = (*l)?;
                (l.kind == kind && flags[kind as usize].is_none()).then(|| {
                    let got = FindingKind::ALL
                        .iter()
                        .copied()
                        .filter(|k| flags[*k as usize].is_some())
                        .collect();
                    (l, got)
                })
            })
            .collect()
    }

    /// Healthy devices suspended at least once.
    pub fn healthy_suspended(&self) -> usize {
        self.labels
            .iter()
            .zip(&self.suspended)
            .filter(|(l, s)| l.is_none() && **s)
            .count()
    }

    /// Healthy devices flagged at least once (with any finding).
    pub fn healthy_flagged(&self) -> usize {
        self.labels
            .iter()
            .zip(&self.first_flag)
            .filter(|(l, f)| l.is_none() && f.iter().any(Option::is_some))
            .count()
    }

    /// One explanation for each (labelled kind or healthy, flagged kind) seen.
    pub fn examples(
        &self,
    ) -> &std::collections::BTreeMap<(Option<FindingKind>, FindingKind), String> {
        &self.examples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Auditor;
    use crate::Thresholds;

    fn run(config: FleetConfig) -> (Fleet, Tally) {
        let fleet = Fleet::new(config);
        let infos = fleet.device_infos();
        let mut auditor = Auditor::new(Thresholds::default(), infos.clone(), Vec::new());
        let mut tally = Tally::new(&fleet);
        let mut deals = DealWindow::new(7);
        for day in 0..config.days {
            let sim = fleet.day(day);
            let features = sim.features(&infos);
            let mut findings = auditor
                .score(&sim.window, &features, &sim.assertions)
                .expect("one row per device");
            deals.push_and_audit(
                fleet.deals(day),
                &MarketThresholds::default(),
                &mut findings,
            );
            tally.record(sim.window.to, &findings);
        }
        (fleet, tally)
    }

    #[test]
    fn the_simulator_is_deterministic_and_labels_every_kind() {
        let config = FleetConfig {
            devices: 600,
            days: 3,
            ..FleetConfig::default()
        };
        let (a, b) = (Fleet::new(config), Fleet::new(config));
        assert_eq!(a.labels(), b.labels());
        assert_eq!(a.day(1).hours, b.day(1).hours);
        for kind in FindingKind::ALL {
            assert!(
                a.labels().iter().filter(|l| l.kind == kind).count() >= 12,
                "{kind:?}"
            );
        }
        let other = Fleet::new(FleetConfig { seed: 8, ..config });
        assert_ne!(a.day(1).hours, other.day(1).hours);
    }

    #[test]
    fn a_small_fleet_is_audited_with_high_precision_and_recall_and_no_healthy_suspension() {
        // Given 2,000 devices over three weeks, 2% faulty with each kind
        let (_, tally) = run(FleetConfig {
            days: 21,
            ..FleetConfig::default()
        });
        // Then every kind is found with precision and recall of at least 0.95
        for q in tally.quality() {
            println!(
                "{:<20} labelled {:>4} flagged {:>4} tp {:>4} precision {:.3} recall {:.3} hours to flag {:.0} (p95 {:.0})",
                q.kind.name(),
                q.labelled,
                q.flagged,
                q.true_positives,
                q.precision(),
                q.recall(),
                q.hours_to_flag_median,
                q.hours_to_flag_p95
            );
        }
        for (k, text) in tally.examples() {
            println!("{k:?}: {text}");
        }
        for kind in FindingKind::ALL {
            for (l, got) in tally.missed(kind) {
                println!("missed {l:?} got {got:?}");
            }
        }
        for q in tally.quality() {
            assert!(q.labelled >= 30, "{q:?}");
            assert!(q.precision() >= 0.95, "{q:?}");
            assert!(q.recall() >= 0.95, "{q:?}");
        }
        // and no healthy device is suspended
        assert_eq!(tally.healthy_suspended(), 0);
    }
}
