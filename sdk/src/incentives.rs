//! Demand-driven incentives: the region multiplier table an epoch's rewards use, its hash
//! (what the oracles commit on chain with the reward root), and the epoch's reward rows.
//!
//! An epoch's reward for a device is what its service earned (the oracle's measurement),
//! times its health (the auditor's score: 1 when healthy, less when flagged), times its
//! region's multiplier (above 1 where demand outruns supply, below 1 where the map is
//! saturated). Two bounds hold whatever the inputs:
//! - every multiplier lies within the table's `[min_bps, max_bps]`, and the table itself
//!   within [`MAX_MULTIPLIER_BPS`];
//! - the epoch pays at most its budget (what the emission schedule allows on top of the
//!   previous root's total): when the weighted amounts add up to more, every amount is scaled
//!   down by the same ratio, rounded down, so no device gains from another's rounding.
//!
//! ```text
//! amount = earned × health_bps × multiplier_bps / 10,000²   (then × budget / Σ if Σ > budget)
//! ```
//!
//! Only an epoch its bond covered earns: a device whose bond to its owner's stake was not
//! the same at the epoch's start and at its end (bonded after the start, unbonded or bonded
//! again within the epoch, backed by someone other than its owner, or its stake short of
//! its devices' minimum at either end) is paid nothing for it ([`Coverage`]). The rewards program checks a bond at claim time only, so without this
//! rule one device's minimum stake could back a whole fleet in turn (bond a device, claim,
//! unbond, bond the next): an epoch's earnings would be paid to devices no stake backed
//! while they earned them.
//!
//! The table's hash is SHA-256 over a canonical encoding ([`RegionMultipliers::hash`]):
//! every oracle that computed the same table proposes the same hash, and anyone holding the
//! published table can check it against the finalized epoch.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use depin_core::emission::EmissionSchedule;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::oracle::RewardRow;

/// One in basis points: a neutral multiplier, or full health.
pub const ONE_BPS: u16 = 10_000;
/// The largest multiplier any table may set: 5x.
pub const MAX_MULTIPLIER_BPS: u16 = 50_000;
/// Domain separation of the table's hash.
pub const HASH_DOMAIN: &[u8] = b"depin-region-multipliers-v1";

/// Everything a multiplier table or an epoch's rows can be refused for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncentiveError {
    /// The bounds are empty, zero, or beyond [`MAX_MULTIPLIER_BPS`].
    #[error("multiplier bounds [{min}, {max}] bps: need 0 < min <= 10000 <= max <= 50000")]
    BadBounds {
        /// Lower bound.
        min: u16,
        /// Upper bound.
        max: u16,
    },
    /// A multiplier lies outside the table's bounds.
    #[error("region {region:x}: multiplier {bps} bps outside [{min}, {max}]")]
    OutOfBounds {
        /// The region.
        region: u64,
        /// Its multiplier.
        bps: u16,
        /// Lower bound.
        min: u16,
        /// Upper bound.
        max: u16,
    },
    /// Regions must be listed once each, in increasing order (the canonical form).
    #[error("region {0:x} is out of order or listed twice")]
    Unordered(u64),
    /// A health above 10,000 bps (more than full health).
    #[error("device {device}: health {bps} bps above 10000")]
    BadHealth {
        /// The device.
        device: Pubkey,
        /// The health given.
        bps: u16,
    },
    /// The health of devices without a score is above 10,000 bps.
    #[error("unscored devices' health {0} bps above 10000")]
    BadUnscoredHealth(u16),
    /// A device earns twice in one epoch's input.
    #[error("device {0} earns twice in one epoch")]
    DuplicateEarning(Pubkey),
    /// The two bond snapshots cannot bound one epoch (different pools, or the start not
    /// older than the end), or a snapshot lacks its pool and slot line.
    #[error("bond snapshots: {0}")]
    BadBonds(String),
    /// A cumulative amount or a total would overflow `u64`.
    #[error("a cumulative amount overflows u64")]
    Overflow,
    /// The emission schedule cannot be evaluated at this epoch.
    #[error("emission schedule: {0}")]
    Schedule(String),
    /// A CSV line is malformed.
    #[error("line {line}: {reason}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the input failed.
    #[error("i/o: {0}")]
    Io(String),
}

/// One region's multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionMultiplier {
    /// The region: an H3 cell at the table's resolution.
    pub region: u64,
    /// Its multiplier, in basis points of the device's earnings.
    pub bps: u16,
}

/// An epoch's region multipliers, in canonical form (regions increasing, each once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionMultipliers {
    /// The registry network whose rewards they weight.
    pub network: Pubkey,
    /// The reward epoch they apply to.
    pub epoch: u64,
    /// The H3 resolution of the regions.
    pub resolution: u8,
    /// Lowest multiplier allowed, in bps.
    pub min_bps: u16,
    /// Highest multiplier allowed, in bps.
    pub max_bps: u16,
    /// Every region's multiplier.
    pub regions: Vec<RegionMultiplier>,
}

impl RegionMultipliers {
    /// Checks the bounds, that every multiplier lies within them, and the canonical order.
    pub fn validate(&self) -> Result<(), IncentiveError> {
        validate_bounds(self.min_bps, self.max_bps)?;
        let mut previous: Option<u64> = None;
        for r in &self.regions {
            if previous.is_some_and(|p| p >= r.region) {
                return Err(IncentiveError::Unordered(r.region));
            }
            previous = Some(r.region);
            if !(self.min_bps..=self.max_bps).contains(&r.bps) {
                return Err(IncentiveError::OutOfBounds {
                    region: r.region,
                    bps: r.bps,
                    min: self.min_bps,
                    max: self.max_bps,
                });
            }
        }
        Ok(())
    }

    /// SHA-256 over the canonical encoding: the domain, the network, the epoch (u64 LE), the
    /// resolution, both bounds (u16 LE), the number of regions (u32 LE), then each region
    /// (u64 LE) and its multiplier (u16 LE). What the oracles commit with the epoch's root.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update(self.network.as_ref());
        h.update(self.epoch.to_le_bytes());
        h.update([self.resolution]);
        h.update(self.min_bps.to_le_bytes());
        h.update(self.max_bps.to_le_bytes());
        h.update((self.regions.len() as u32).to_le_bytes());
        for r in &self.regions {
            h.update(r.region.to_le_bytes());
            h.update(r.bps.to_le_bytes());
        }
        h.finalize().into()
    }

    /// The multiplier of `region`, if the table covers it.
    pub fn get(&self, region: u64) -> Option<u16> {
        self.regions
            .binary_search_by_key(&region, |r| r.region)
            .ok()
            .map(|i| self.regions[i].bps)
    }
}

fn validate_bounds(min: u16, max: u16) -> Result<(), IncentiveError> {
    if !(1..=ONE_BPS).contains(&min) || !(ONE_BPS..=MAX_MULTIPLIER_BPS).contains(&max) {
        return Err(IncentiveError::BadBounds { min, max });
    }
    Ok(())
}

/// What one device earned in the epoch, before health and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earning {
    /// The `Device` account.
    pub device: Pubkey,
    /// Its owner (who claims).
    pub owner: Pubkey,
    /// Its region at the table's resolution.
    pub region: u64,
    /// What its service earned, in reward-token base units.
    pub amount: u64,
}

/// The auditor's health scores of an epoch, as [`epoch_rows`] weighs earnings by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health<'a> {
    /// Each scored device's health, in basis points (at most 10,000).
    pub scores: &'a BTreeMap<Pubkey, u16>,
    /// The health of a device that earned but has no score, in basis points: the auditor
    /// never found it active at a scoring run of the epoch (onboarded after the last one,
    /// suspended throughout, or windows the auditor did not score). Such devices are listed
    /// in [`EpochRows::unscored`]. Every oracle of a network must use the same value, or
    /// their roots differ.
    pub unscored_bps: u16,
}

/// One device's bond in a snapshot of a pool's bonds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BondRecord {
    /// The bond's staker: the owner of the stake position backing the device.
    pub staker: Pubkey,
    /// When it was bonded (the `DeviceBond`'s unix time): a device unbonded and bonded
    /// again carries a new time, so two snapshots holding the same record saw one bond.
    pub bonded_at: i64,
    /// Whether the position backing it covered all its bonded devices at the pool's
    /// minimum at the snapshot (a slash or a raised minimum can leave it short).
    pub collateralized: bool,
}

/// Bonds by device (a device has at most one bond per pool).
pub type Bonds = BTreeMap<Pubkey, BondRecord>;

/// A pool's bonds at one slot: what an oracle snapshots at each epoch boundary
/// (`Client::bonds`, `depin-oracle bonds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondSnapshot {
    /// The stake pool.
    pub pool: Pubkey,
    /// The slot the bonds were read at.
    pub slot: u64,
    /// Its bonds.
    pub bonds: Bonds,
}

/// The bonds of an epoch's pool at its start and at its end: a device earns in the epoch
/// only if both hold the same bond, collateralized, with the owner paid as its staker
/// ([`Coverage::covers`]). Snapshot the pool's bonds at each epoch boundary (one epoch's
/// end is the next one's start), at a commitment no fork can undo; every oracle of a
/// network must use the same snapshots, or their roots differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage<'a> {
    /// The bonds when the epoch began.
    pub start: &'a BondSnapshot,
    /// The bonds when it ended.
    pub end: &'a BondSnapshot,
}

impl Coverage<'_> {
    /// Whether the two snapshots can bound an epoch: one pool, the start read at an
    /// earlier slot than the end.
    pub fn check(&self) -> Result<(), IncentiveError> {
        if self.start.pool != self.end.pool {
            return Err(IncentiveError::BadBonds(format!(
                "the start snapshot is of pool {}, the end one of pool {}",
                self.start.pool, self.end.pool
            )));
        }
        if self.start.slot >= self.end.slot {
            return Err(IncentiveError::BadBonds(format!(
                "the start snapshot (slot {}) is not older than the end one (slot {})",
                self.start.slot, self.end.slot
            )));
        }
        Ok(())
    }

    /// Whether one bond backed `device` by `owner`'s stake throughout the epoch: the same
    /// record (staker and bonding time) at its start and at its end, its position
    /// covering its bonded devices at both, and `owner` as the staker. A bond made after
    /// the start, one closed or made again within the epoch, one whose stake fell short,
    /// or one whose staker is not the owner who is paid does not cover it.
    pub fn covers(&self, device: &Pubkey, owner: &Pubkey) -> bool {
        match (self.start.bonds.get(device), self.end.bonds.get(device)) {
            (Some(start), Some(end)) => {
                start == end && start.collateralized && start.staker == *owner
            }
            _ => false,
        }
    }
}

/// An epoch's reward rows and how they were reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRows {
    /// Every device's cumulative amount: the previous root's rows plus this epoch's pay.
    pub rows: Vec<RewardRow>,
    /// What this epoch pays in all.
    pub paid: u64,
    /// What it would pay before the budget (health and regions applied).
    pub weighted: u64,
    /// Whether the budget scaled the amounts down.
    pub scaled: bool,
    /// The devices whose region the table does not list (device, region), paid at the
    /// table's `min_bps`: a region with no supply when the table was computed, entered by
    /// onboarding or `assert_location` since, earns the least any region may, and one such
    /// device never holds back everyone's epoch.
    pub unlisted: Vec<(Pubkey, u64)>,
    /// The devices that earned (more than 0) without a health score, paid at
    /// [`Health::unscored_bps`] (empty for an epoch without scores).
    pub unscored: Vec<Pubkey>,
    /// The devices that earned (more than 0) without a bond covering the epoch
    /// ([`Coverage::covers`]): paid nothing for it.
    pub unbonded: Vec<Pubkey>,
}

/// The budget of epoch `epoch`: what the schedule allows through it minus what the previous
/// root already committed (zero if that is already at or above the cap).
pub fn epoch_budget(
    schedule: &EmissionSchedule,
    epoch: u64,
    previous_total: u64,
) -> Result<u64, IncentiveError> {
    let cap = schedule
        .cumulative_through(epoch)
        .map_err(|e| IncentiveError::Schedule(format!("{e:?}")))?;
    let room = cap.saturating_sub(u128::from(previous_total));
    Ok(u64::try_from(room).unwrap_or(u64::MAX))
}

/// The next root's rows: every row of `previous` (the last finalized epoch's) keeps its
/// cumulative amount, and every device of `earnings` whose bond covered the epoch
/// (`bonds`; the others earn nothing and are listed in [`EpochRows::unbonded`]) adds its
/// earnings times its health
/// (`health`; a device without a score counts at its `unscored_bps` and is listed in
/// [`EpochRows::unscored`]; `None` for an epoch without scores, when every device counts
/// as healthy) times its region's multiplier
/// (`table`; `None` for an epoch without multipliers, when every region counts as 1; a region
/// the table does not list counts at its `min_bps`, see [`EpochRows::unlisted`]), scaled
/// down to `budget` if needed. Rounded down throughout, so the epoch never pays more than
/// its budget nor any device more than its weighted earnings.
pub fn epoch_rows(
    previous: &[RewardRow],
    earnings: &[Earning],
    bonds: Coverage<'_>,
    health: Option<Health<'_>>,
    table: Option<&RegionMultipliers>,
    budget: u64,
) -> Result<EpochRows, IncentiveError> {
    if let Some(t) = table {
        t.validate()?;
    }
    bonds.check()?;
    if let Some(h) = health {
        if h.unscored_bps > ONE_BPS {
            return Err(IncentiveError::BadUnscoredHealth(h.unscored_bps));
        }
        for (device, bps) in h.scores {
            if *bps > ONE_BPS {
                return Err(IncentiveError::BadHealth {
                    device: *device,
                    bps: *bps,
                });
            }
        }
    }
    // the weighted amounts, in u128 (earned × 10^4 × 5·10^4 stays far below 2^128)
    let mut weighted: BTreeMap<Pubkey, (Pubkey, u128)> = BTreeMap::new();
    let mut sum: u128 = 0;
    let mut unlisted = Vec::new();
    let mut unscored = Vec::new();
    let mut unbonded = Vec::new();
    let mut seen = BTreeSet::new();
    for e in earnings {
        if !seen.insert(e.device) {
            return Err(IncentiveError::DuplicateEarning(e.device));
        }
        if !bonds.covers(&e.device, &e.owner) {
            // not backed by its owner's stake all epoch: no row, no weight, no listing in
            // the other tallies (its region or health does not matter)
            if e.amount > 0 {
                unbonded.push(e.device);
            }
            continue;
        }
        let region_bps = match table {
            None => ONE_BPS,
            Some(t) => t.get(e.region).unwrap_or_else(|| {
                unlisted.push((e.device, e.region));
                t.min_bps
            }),
        };
        let health_bps = match health {
            None => ONE_BPS,
            Some(h) => h.scores.get(&e.device).copied().unwrap_or_else(|| {
                if e.amount > 0 {
                    unscored.push(e.device);
                }
                h.unscored_bps
            }),
        };
        let amount = u128::from(e.amount) * u128::from(health_bps) * u128::from(region_bps)
            / (u128::from(ONE_BPS) * u128::from(ONE_BPS));
        weighted.insert(e.device, (e.owner, amount));
        sum += amount;
    }
    let budget_wide = u128::from(budget);
    let scaled = sum > budget_wide;
    let mut rows: BTreeMap<Pubkey, RewardRow> = previous.iter().map(|r| (r.device, *r)).collect();
    let mut paid: u64 = 0;
    for (device, (owner, amount)) in weighted {
        let pay = if scaled {
            scale_down(amount, budget, sum)
        } else {
            amount
        };
        let pay = u64::try_from(pay).map_err(|_| IncentiveError::Overflow)?;
        paid = paid.checked_add(pay).ok_or(IncentiveError::Overflow)?;
        let row = rows.entry(device).or_insert(RewardRow {
            device,
            owner,
            cumulative_amount: 0,
        });
        row.owner = owner;
        row.cumulative_amount = row
            .cumulative_amount
            .checked_add(pay)
            .ok_or(IncentiveError::Overflow)?;
    }
    Ok(EpochRows {
        rows: rows.into_values().collect(),
        paid,
        weighted: u64::try_from(sum).unwrap_or(u64::MAX),
        scaled,
        unlisted,
        unscored,
        unbonded,
    })
}

/// `floor(amount × budget / sum)` for `amount <= sum`, exact even where the product passes
/// `u128` (an amount near `u64::MAX` weighted 5x, scaled to a budget near `u64::MAX`): the
/// product is formed in 192 bits and divided bit by bit. The result is at most `budget`.
fn scale_down(amount: u128, budget: u64, sum: u128) -> u128 {
    if let Some(product) = amount.checked_mul(u128::from(budget)) {
        return product / sum;
    }
    // amount × budget as hi·2^128 + lo
    let b = u128::from(budget);
    let low_part = (amount & u128::from(u64::MAX)) * b;
    let high_part = (amount >> 64) * b;
    let (lo, carry) = low_part.overflowing_add(high_part << 64);
    let hi = (high_part >> 64) + u128::from(carry);
    // long division of the 192-bit product by `sum`; the quotient fits in 64 bits
    let mut quotient: u128 = 0;
    let mut remainder: u128 = 0;
    for i in (0..192).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carried = remainder >> 127 == 1;
        remainder = (remainder << 1) | bit;
        if carried || remainder >= sum {
            // with a carry the true remainder is 2^128 + remainder, which is at least `sum`
            // and less than 2·sum, so the wrapping difference is the exact one
            remainder = remainder.wrapping_sub(sum);
            if i < 128 {
                quotient |= 1 << i;
            }
        }
    }
    quotient
}

/// Multipliers from demand and supply per region: a region's multiplier is its share of the
/// forecast demand over its share of the supply (1 where they match), clamped to
/// `[min_bps, max_bps]`. A region with supply and no demand gets `min_bps`; a region with
/// demand and no supply has no device to pay and is left out. `inputs` maps each region to
/// `(forecast demand, supply)` in any consistent units.
pub fn multipliers_from_demand(
    network: Pubkey,
    epoch: u64,
    resolution: u8,
    min_bps: u16,
    max_bps: u16,
    inputs: &BTreeMap<u64, (f64, f64)>,
) -> Result<RegionMultipliers, IncentiveError> {
    validate_bounds(min_bps, max_bps)?;
    let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let demand_total: f64 = inputs.values().map(|(d, _)| clean(*d)).sum();
    let supply_total: f64 = inputs.values().map(|(_, s)| clean(*s)).sum();
    let mut regions = Vec::new();
    for (region, (demand, supply)) in inputs {
        let (demand, supply) = (clean(*demand), clean(*supply));
        if supply == 0.0 {
            continue;
        }
        let ratio = if demand_total == 0.0 {
            1.0 // no demand anywhere: nothing to steer by
        } else {
            (demand / demand_total) / (supply / supply_total)
        };
        let bps = (ratio * f64::from(ONE_BPS))
            .round()
            .clamp(f64::from(min_bps), f64::from(max_bps)) as u16;
        regions.push(RegionMultiplier {
            region: *region,
            bps,
        });
    }
    let table = RegionMultipliers {
        network,
        epoch,
        resolution,
        min_bps,
        max_bps,
        regions,
    };
    table.validate()?;
    Ok(table)
}

/// The fields of each data line of a CSV with `columns` fields per line (an optional header
/// naming `header` first, blank lines and `#` comments skipped), with their line numbers.
fn csv_lines(
    input: impl BufRead,
    columns: usize,
    header: &str,
) -> Result<Vec<(usize, Vec<String>)>, IncentiveError> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| IncentiveError::Io(e.to_string()))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<String> = line.split(',').map(|f| f.trim().to_string()).collect();
        if fields.len() != columns {
            return Err(IncentiveError::Csv {
                line: i + 1,
                reason: format!("expected {columns} fields, found {}", fields.len()),
            });
        }
        if i == 0 && fields[0].eq_ignore_ascii_case(header) {
            continue;
        }
        out.push((i + 1, fields));
    }
    Ok(out)
}

fn csv_field<T: FromStr>(line: usize, name: &str, field: &str) -> Result<T, IncentiveError>
where
    T::Err: std::fmt::Display,
{
    field.parse().map_err(|e| IncentiveError::Csv {
        line,
        reason: format!("{name} {field:?}: {e}"),
    })
}

/// Parses earnings from CSV: `device,owner,region,amount` per line (base58 keys, the region
/// as the lowercase hex H3 index, the amount in base units).
pub fn parse_earnings(input: impl BufRead) -> Result<Vec<Earning>, IncentiveError> {
    csv_lines(input, 4, "device")?
        .into_iter()
        .map(|(line, f)| {
            Ok(Earning {
                device: csv_field(line, "device", &f[0])?,
                owner: csv_field(line, "owner", &f[1])?,
                region: u64::from_str_radix(&f[2], 16).map_err(|e| IncentiveError::Csv {
                    line,
                    reason: format!("region {:?}: {e}", f[2]),
                })?,
                amount: csv_field(line, "amount", &f[3])?,
            })
        })
        .collect()
}

/// Parses healths from CSV: `device,health_bps` per line (0 to 10,000; each device once).
pub fn parse_health(input: impl BufRead) -> Result<BTreeMap<Pubkey, u16>, IncentiveError> {
    let mut out = BTreeMap::new();
    for (line, f) in csv_lines(input, 2, "device")? {
        let device: Pubkey = csv_field(line, "device", &f[0])?;
        let bps: u16 = csv_field(line, "health_bps", &f[1])?;
        if bps > ONE_BPS {
            return Err(IncentiveError::BadHealth { device, bps });
        }
        if out.insert(device, bps).is_some() {
            return Err(IncentiveError::Csv {
                line,
                reason: format!("device {device} appears twice"),
            });
        }
    }
    Ok(out)
}

/// The first line of a bond snapshot's CSV: `# bonds of pool <POOL> at slot <SLOT>`.
const SNAPSHOT_LINE: &str = "# bonds of pool ";

/// Parses a bond snapshot as [`write_bonds`] writes it: the line naming its pool and slot,
/// then `device,staker,bonded_at,collateralized` per line (base58 keys, the bond's unix
/// time, `true` or `false`; each device once).
pub fn parse_bonds(mut input: impl BufRead) -> Result<BondSnapshot, IncentiveError> {
    let mut first = String::new();
    input
        .read_line(&mut first)
        .map_err(|e| IncentiveError::Io(e.to_string()))?;
    let (pool, slot) = first
        .trim()
        .strip_prefix(SNAPSHOT_LINE)
        .and_then(|rest| rest.split_once(" at slot "))
        .ok_or_else(|| {
            IncentiveError::BadBonds(format!(
                "the first line is not \"{SNAPSHOT_LINE}<POOL> at slot <SLOT>\": {:?}",
                first.trim()
            ))
        })?;
    let pool: Pubkey = csv_field(1, "pool", pool)?;
    let slot: u64 = csv_field(1, "slot", slot)?;
    let mut bonds = Bonds::new();
    // `csv_lines` counts from the line after the first
    let lines = csv_lines(input, 4, "device").map_err(|e| match e {
        IncentiveError::Csv { line, reason } => IncentiveError::Csv {
            line: line + 1,
            reason,
        },
        other => other,
    })?;
    for (line, f) in lines {
        let line = line + 1;
        let device: Pubkey = csv_field(line, "device", &f[0])?;
        let record = BondRecord {
            staker: csv_field(line, "staker", &f[1])?,
            bonded_at: csv_field(line, "bonded_at", &f[2])?,
            collateralized: csv_field(line, "collateralized", &f[3])?,
        };
        if bonds.insert(device, record).is_some() {
            return Err(IncentiveError::Csv {
                line,
                reason: format!("device {device} appears twice"),
            });
        }
    }
    Ok(BondSnapshot { pool, slot, bonds })
}

/// Writes a bond snapshot as the CSV [`parse_bonds`] reads: its pool and slot line, a
/// header, then the devices in order.
pub fn write_bonds(snapshot: &BondSnapshot, mut out: impl std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{SNAPSHOT_LINE}{} at slot {}",
        snapshot.pool, snapshot.slot
    )?;
    writeln!(out, "device,staker,bonded_at,collateralized")?;
    for (device, b) in &snapshot.bonds {
        writeln!(
            out,
            "{device},{},{},{}",
            b.staker, b.bonded_at, b.collateralized
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(regions: &[(u64, u16)]) -> RegionMultipliers {
        RegionMultipliers {
            network: Pubkey::new_from_array([7; 32]),
            epoch: 3,
            resolution: 5,
            min_bps: 5_000,
            max_bps: 20_000,
            regions: regions
                .iter()
                .map(|(region, bps)| RegionMultiplier {
                    region: *region,
                    bps: *bps,
                })
                .collect(),
        }
    }

    /// A snapshot of pool `[9; 32]` at `slot` holding `bonds`.
    fn snapshot(slot: u64, bonds: Bonds) -> BondSnapshot {
        BondSnapshot {
            pool: Pubkey::new_from_array([9; 32]),
            slot,
            bonds,
        }
    }

    /// A collateralized bond of `staker` made at `bonded_at`.
    fn bond(staker: Pubkey, bonded_at: i64) -> BondRecord {
        BondRecord {
            staker,
            bonded_at,
            collateralized: true,
        }
    }

    /// [`epoch_rows`] with every earning device covered by its bond.
    fn bonded_rows(
        previous: &[RewardRow],
        earnings: &[Earning],
        health: Option<Health<'_>>,
        table: Option<&RegionMultipliers>,
        budget: u64,
    ) -> Result<EpochRows, IncentiveError> {
        let bonds: Bonds = earnings
            .iter()
            .map(|e| (e.device, bond(e.owner, 1)))
            .collect();
        let (start, end) = (snapshot(1, bonds.clone()), snapshot(2, bonds));
        let coverage = Coverage {
            start: &start,
            end: &end,
        };
        epoch_rows(previous, earnings, coverage, health, table, budget)
    }

    fn earning(device: Pubkey, region: u64, amount: u64) -> Earning {
        Earning {
            device,
            owner: Pubkey::new_from_array([1; 32]),
            region,
            amount,
        }
    }

    #[test]
    fn rows_weight_earnings_by_health_and_region() {
        let [a, b, c] = [0; 3].map(|_| Pubkey::new_unique());
        let t = table(&[(10, 20_000), (20, 5_000)]);
        let previous = [RewardRow {
            device: a,
            owner: Pubkey::new_from_array([1; 32]),
            cumulative_amount: 1_000,
        }];
        let health = BTreeMap::from([(a, 10_000), (b, 10_000), (c, 5_000)]);
        let out = bonded_rows(
            &previous,
            &[
                earning(a, 10, 100),
                earning(b, 20, 100),
                earning(c, 10, 101),
            ],
            Some(Health {
                scores: &health,
                unscored_bps: 0,
            }),
            Some(&t),
            u64::MAX,
        )
        .expect("rows");
        let by = |d: Pubkey| {
            out.rows
                .iter()
                .find(|r| r.device == d)
                .map(|r| r.cumulative_amount)
        };
        assert_eq!(by(a), Some(1_200), "double in a region short of supply");
        assert_eq!(by(b), Some(50), "half in a saturated region");
        assert_eq!(by(c), Some(101), "2x region times half health");
        assert_eq!(out.paid, 351);
        assert!(!out.scaled);
    }

    #[test]
    fn a_device_without_a_score_is_paid_at_the_unscored_health_and_listed() {
        let [scored, late, suspended] = [0; 3].map(|_| Pubkey::new_unique());
        let idle = Pubkey::new_unique();
        let earnings = [
            earning(scored, 10, 1_000),
            earning(late, 10, 1_000),
            earning(suspended, 10, 1_000),
            earning(idle, 10, 0),
        ];
        let scores = BTreeMap::from([(scored, 8_000)]);
        let paid = |out: &EpochRows, d: Pubkey| {
            out.rows
                .iter()
                .find(|r| r.device == d)
                .map(|r| r.cumulative_amount)
        };
        for (unscored_bps, expected) in [(0, 0), (5_000, 500), (10_000, 1_000)] {
            let health = Health {
                scores: &scores,
                unscored_bps,
            };
            let out = bonded_rows(&[], &earnings, Some(health), None, u64::MAX).expect("rows");
            assert_eq!(paid(&out, scored), Some(800), "its own score");
            assert_eq!(paid(&out, late), Some(expected));
            assert_eq!(paid(&out, suspended), Some(expected));
            assert_eq!(
                out.unscored,
                vec![late, suspended],
                "one that earned nothing is not"
            );
            assert_eq!(out.paid, 800 + 2 * expected);
        }
        // an epoch without scores: every device healthy, none listed
        let out = bonded_rows(&[], &earnings, None, None, u64::MAX).expect("rows");
        assert_eq!(out.paid, 3_000);
        assert!(out.unscored.is_empty());
    }

    #[test]
    fn only_a_device_one_bond_covered_all_epoch_is_paid_and_the_rest_are_listed() {
        let owner = Pubkey::new_from_array([1; 32]);
        let other = Pubkey::new_unique();
        let [steady, hopped_from, hopped_to, rebonded, lent, handed_over, slashed, idle] =
            [0; 8].map(|_| Pubkey::new_unique());
        let short = BondRecord {
            collateralized: false,
            ..bond(owner, 100)
        };
        let start = snapshot(
            10,
            Bonds::from([
                (steady, bond(owner, 100)),
                (hopped_from, bond(owner, 100)),
                (rebonded, bond(owner, 100)),
                (lent, bond(other, 100)),
                (handed_over, bond(owner, 100)),
                (slashed, bond(owner, 100)),
            ]),
        );
        // within the epoch: the stake moved from one device to another, one device was
        // unbonded and bonded again, `lent` stayed backed by someone else's stake, one
        // bond's record changed staker alone (same bonding time) and one position was
        // slashed below its devices' minimum
        let end = snapshot(
            20,
            Bonds::from([
                (steady, bond(owner, 100)),
                (hopped_to, bond(owner, 250)),
                (rebonded, bond(owner, 260)),
                (lent, bond(other, 100)),
                (handed_over, bond(other, 100)),
                (slashed, short),
            ]),
        );
        let earnings: Vec<Earning> = [
            steady,
            hopped_from,
            hopped_to,
            rebonded,
            lent,
            handed_over,
            slashed,
        ]
        .into_iter()
        .map(|d| earning(d, 10, 1_000))
        .chain([earning(idle, 10, 0)])
        .collect();
        let previous = [RewardRow {
            device: hopped_from,
            owner,
            cumulative_amount: 700,
        }];
        let coverage = Coverage {
            start: &start,
            end: &end,
        };
        let out = epoch_rows(&previous, &earnings, coverage, None, None, u64::MAX).expect("rows");
        assert_eq!(out.paid, 1_000, "only the steady device earns");
        let amounts: Vec<(Pubkey, u64)> = out
            .rows
            .iter()
            .map(|r| (r.device, r.cumulative_amount))
            .collect();
        let mut expected = vec![(steady, 1_000), (hopped_from, 700)];
        expected.sort();
        assert_eq!(
            amounts, expected,
            "an earlier epoch's amount stays, nothing added"
        );
        let mut unbonded = vec![hopped_from, hopped_to, rebonded, lent, handed_over, slashed];
        unbonded.sort();
        let mut listed = out.unbonded.clone();
        listed.sort();
        assert_eq!(listed, unbonded, "one that earned nothing is not listed");
        // the end's staker alone differing from the owner, or a shortfall at the start
        // alone, uncovers a device too
        let mut end_other = start.clone();
        end_other.slot = 20;
        end_other.bonds.insert(steady, bond(other, 100));
        let start_short = snapshot(10, Bonds::from([(steady, short)]));
        let end_fine = snapshot(20, Bonds::from([(steady, bond(owner, 100))]));
        for (start, end) in [(&start, &end_other), (&start_short, &end_fine)] {
            let coverage = Coverage { start, end };
            assert!(!coverage.covers(&steady, &owner));
        }
        // an uncovered device takes nothing from the budget the covered ones share
        let scaled = epoch_rows(&[], &earnings, coverage, None, None, 600).expect("rows");
        assert_eq!(
            (scaled.paid, scaled.weighted, scaled.scaled),
            (600, 1_000, true)
        );
        // with no bonds at all nobody earns
        let (none_start, none_end) = (snapshot(10, Bonds::new()), snapshot(20, Bonds::new()));
        let coverage = Coverage {
            start: &none_start,
            end: &none_end,
        };
        let out = epoch_rows(&[], &earnings, coverage, None, None, u64::MAX).expect("rows");
        assert_eq!((out.paid, out.rows.len(), out.unbonded.len()), (0, 0, 7));
        // a duplicate is refused even where neither copy is covered
        assert_eq!(
            epoch_rows(
                &[],
                &[earning(idle, 10, 1), earning(idle, 10, 2)],
                coverage,
                None,
                None,
                10
            ),
            Err(IncentiveError::DuplicateEarning(idle))
        );
    }

    #[test]
    fn snapshots_that_cannot_bound_an_epoch_are_refused() {
        let owner = Pubkey::new_from_array([1; 32]);
        let d = Pubkey::new_unique();
        let bonds = Bonds::from([(d, bond(owner, 1))]);
        let start = snapshot(10, bonds.clone());
        let earnings = [earning(d, 10, 5)];
        let refused = |start: &BondSnapshot, end: &BondSnapshot| {
            epoch_rows(&[], &earnings, Coverage { start, end }, None, None, 10)
        };
        // the same snapshot twice, the two swapped, two pools
        let later = snapshot(20, bonds.clone());
        let elsewhere = BondSnapshot {
            pool: Pubkey::new_unique(),
            ..later.clone()
        };
        for (s, e) in [(&start, &start), (&later, &start), (&start, &elsewhere)] {
            assert!(
                matches!(refused(s, e), Err(IncentiveError::BadBonds(_))),
                "{} -> {}",
                s.slot,
                e.slot
            );
        }
        assert_eq!(refused(&start, &later).map(|o| o.paid), Ok(5));
    }

    #[test]
    fn bond_snapshots_read_back_what_was_written_and_refuse_a_device_twice() {
        let [a, b] = [0; 2].map(|_| Pubkey::new_unique());
        let staker = Pubkey::new_unique();
        let written = BondSnapshot {
            pool: Pubkey::new_unique(),
            slot: 77,
            bonds: Bonds::from([
                (a, bond(staker, -5)),
                (
                    b,
                    BondRecord {
                        staker,
                        bonded_at: 1_700_000_000,
                        collateralized: false,
                    },
                ),
            ]),
        };
        let mut csv = Vec::new();
        write_bonds(&written, &mut csv).expect("write");
        assert_eq!(parse_bonds(csv.as_slice()), Ok(written.clone()));
        let head = format!("{SNAPSHOT_LINE}{} at slot 77\n", written.pool);
        let twice = format!("{head}{a},{staker},1,true\n{a},{staker},2,true\n");
        assert!(matches!(
            parse_bonds(twice.as_bytes()),
            Err(IncentiveError::Csv { line: 3, .. })
        ));
        for bad in [
            format!("{head}{a},{staker},1\n"),
            format!("{head}{a},{staker},soon,true\n"),
            format!("{head}{a},not-a-key,1,true\n"),
            format!("{head}{a},{staker},1,yes\n"),
        ] {
            assert!(
                matches!(
                    parse_bonds(bad.as_bytes()),
                    Err(IncentiveError::Csv { line: 2, .. })
                ),
                "{bad}"
            );
        }
        // without its pool and slot line (an older file, or not a snapshot at all)
        for bad in [
            format!("device,staker,bonded_at,collateralized\n{a},{staker},1,true\n"),
            format!("{SNAPSHOT_LINE}{} at slot soon\n", written.pool),
            String::new(),
        ] {
            assert!(
                matches!(
                    parse_bonds(bad.as_bytes()),
                    Err(IncentiveError::BadBonds(_) | IncentiveError::Csv { line: 1, .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_budget_scales_every_amount_down_and_is_never_exceeded() {
        let devices: Vec<Pubkey> = (0..7).map(|_| Pubkey::new_unique()).collect();
        let t = table(&[(10, 20_000)]);
        let earnings: Vec<Earning> = devices.iter().map(|d| earning(*d, 10, 333)).collect();
        let out = bonded_rows(&[], &earnings, None, Some(&t), 1_000).expect("rows");
        assert!(out.scaled);
        assert_eq!(out.weighted, 7 * 666);
        assert!(out.paid <= 1_000, "{}", out.paid);
        assert!(
            out.paid >= 1_000 - 7,
            "rounding loses at most one unit per device"
        );
        assert!(out
            .rows
            .iter()
            .all(|r| r.cumulative_amount == out.rows[0].cumulative_amount));
        // a zero budget pays nothing
        let none = bonded_rows(&[], &earnings, None, Some(&t), 0).expect("rows");
        assert_eq!(none.paid, 0);
    }

    #[test]
    fn scaling_is_exact_where_the_product_passes_u128() {
        // (amount, budget, sum, floor(amount × budget / sum)), the quotients computed apart
        // with arbitrary-precision integers
        let m = u64::MAX;
        let cases: [(u128, u64, u128, u128); 7] = [
            (
                92233720368547758075,
                m,
                92233720368547770420,
                18446744073709549146,
            ),
            (92233720368547758075, m, (1 << 127) + 3, 9),
            (
                147573952589676412927,
                m - 7,
                147573952589676412927,
                18446744073709551608,
            ),
            (
                55340232221128654862,
                m - 1,
                166020696663385964535,
                6148914691236517206,
            ),
            (u128::MAX, m, u128::MAX, 18446744073709551615),
            (u128::MAX - 1, m, u128::MAX, 18446744073709551614),
            ((1 << 127) + 5, m - 3, u128::MAX - 6, 9223372036854775806),
        ];
        for (amount, budget, sum, expected) in cases {
            assert!(amount.checked_mul(u128::from(budget)).is_none());
            assert_eq!(
                scale_down(amount, budget, sum),
                expected,
                "{amount} {budget} {sum}"
            );
        }
        assert_eq!(scale_down(600, 1_000, 1_200), 500, "the plain path");
    }

    #[test]
    fn an_epoch_at_the_extremes_is_scaled_to_its_budget_without_overflow() {
        // one device earning u64::MAX in a 5x region, another a little: the weighted sum
        // passes u64 by far, and amount × budget passes u128
        let [a, b] = [0; 2].map(|_| Pubkey::new_unique());
        let t = RegionMultipliers {
            max_bps: MAX_MULTIPLIER_BPS,
            ..table(&[(10, MAX_MULTIPLIER_BPS)])
        };
        let out = bonded_rows(
            &[],
            &[earning(a, 10, u64::MAX), earning(b, 10, 1_000)],
            None,
            Some(&t),
            u64::MAX,
        )
        .expect("rows");
        assert!(out.scaled);
        let by = |d: Pubkey| {
            out.rows
                .iter()
                .find(|r| r.device == d)
                .unwrap()
                .cumulative_amount
        };
        // a: u64::MAX·5 / (u64::MAX·5 + 5,000) of the budget; b: 5,000 / that sum, rounded down
        assert_eq!(by(a), 18446744073709550615);
        assert_eq!(by(b), 999);
        // within the budget: one unit short of u64::MAX, lost to rounding down
        assert_eq!(out.paid, u64::MAX - 1);
    }

    #[test]
    fn bad_tables_and_inputs_are_refused_with_their_reason() {
        let d = Pubkey::new_unique();
        let mut t = table(&[(20, 10_000), (10, 10_000)]);
        assert_eq!(t.validate(), Err(IncentiveError::Unordered(10)));
        t.regions.swap(0, 1);
        t.regions[1].bps = 30_000;
        assert!(matches!(
            t.validate(),
            Err(IncentiveError::OutOfBounds { region: 20, .. })
        ));
        let mut bounds = table(&[]);
        for (min, max) in [
            (0, 10_000),
            (12_000, 20_000),
            (5_000, 9_000),
            (5_000, 60_000),
        ] {
            bounds.min_bps = min;
            bounds.max_bps = max;
            assert_eq!(
                bounds.validate(),
                Err(IncentiveError::BadBounds { min, max })
            );
        }
        // a region the table does not list: paid at its floor and named, never failing
        // everyone else's epoch
        let ok = table(&[(10, 10_000)]);
        let other = Pubkey::new_from_array([42; 32]);
        let out = bonded_rows(
            &[],
            &[earning(d, 99, 1_000), earning(other, 10, 1_000)],
            None,
            Some(&ok),
            10_000,
        )
        .expect("the epoch's rows");
        assert_eq!(out.unlisted, vec![(d, 99)]);
        let paid = |device: Pubkey| {
            out.rows
                .iter()
                .find(|r| r.device == device)
                .map(|r| r.cumulative_amount)
        };
        assert_eq!(paid(d), Some(1_000 * u64::from(ok.min_bps) / 10_000));
        assert_eq!(paid(other), Some(1_000));
        assert_eq!(
            bonded_rows(
                &[],
                &[earning(d, 10, 1)],
                Some(Health {
                    scores: &BTreeMap::from([(d, 10_001)]),
                    unscored_bps: 0
                }),
                Some(&ok),
                10
            ),
            Err(IncentiveError::BadHealth {
                device: d,
                bps: 10_001
            })
        );
        assert_eq!(
            bonded_rows(
                &[],
                &[earning(d, 10, 1)],
                Some(Health {
                    scores: &BTreeMap::new(),
                    unscored_bps: 10_001
                }),
                Some(&ok),
                10
            ),
            Err(IncentiveError::BadUnscoredHealth(10_001))
        );
        assert_eq!(
            bonded_rows(&[], &[earning(d, 10, 1), earning(d, 10, 2)], None, None, 10),
            Err(IncentiveError::DuplicateEarning(d))
        );
        let full = [RewardRow {
            device: d,
            owner: Pubkey::new_from_array([1; 32]),
            cumulative_amount: u64::MAX,
        }];
        assert_eq!(
            bonded_rows(&full, &[earning(d, 10, 1)], None, None, 10),
            Err(IncentiveError::Overflow)
        );
    }

    #[test]
    fn the_hash_commits_to_every_field_and_not_to_anything_else() {
        let base = table(&[(10, 10_000), (20, 15_000)]);
        assert_eq!(base.hash(), base.clone().hash());
        let mut variants = Vec::new();
        let mut v = base.clone();
        v.epoch += 1;
        variants.push(v);
        let mut v = base.clone();
        v.network = Pubkey::new_unique();
        variants.push(v);
        let mut v = base.clone();
        v.resolution = 6;
        variants.push(v);
        let mut v = base.clone();
        v.max_bps = 20_001;
        variants.push(v);
        let mut v = base.clone();
        v.regions[1].bps = 15_001;
        variants.push(v);
        let mut v = base.clone();
        v.regions.pop();
        variants.push(v);
        for v in variants {
            assert_ne!(v.hash(), base.hash(), "{v:?}");
        }
        // the JSON round trip keeps the hash
        let json = serde_json::to_string(&base).expect("json");
        let back: RegionMultipliers = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.hash(), base.hash());
    }

    #[test]
    fn demand_over_supply_sets_the_multipliers_within_bounds() {
        let inputs = BTreeMap::from([
            (1, (900.0, 10.0)), // 90% of demand, 10% of supply: 9x, clamped to 2x
            (2, (100.0, 40.0)), // 10% of demand, 40% of supply: 0.25x, clamped to 0.5x
            (3, (0.0, 50.0)),   // no demand: the floor
            (4, (500.0, 0.0)),  // no device to pay: left out
            (5, (f64::NAN, 0.0)),
        ]);
        let net = Pubkey::new_unique();
        let t = multipliers_from_demand(net, 4, 5, 5_000, 20_000, &inputs).expect("table");
        assert_eq!(
            t.regions,
            vec![
                RegionMultiplier {
                    region: 1,
                    bps: 20_000
                },
                RegionMultiplier {
                    region: 2,
                    bps: 5_000
                },
                RegionMultiplier {
                    region: 3,
                    bps: 5_000
                },
            ]
        );
        // balanced demand and supply is neutral
        let even = BTreeMap::from([(1, (10.0, 1.0)), (2, (20.0, 2.0))]);
        let t = multipliers_from_demand(net, 4, 5, 5_000, 20_000, &even).expect("table");
        assert!(t.regions.iter().all(|r| r.bps == ONE_BPS), "{t:?}");
        assert!(matches!(
            multipliers_from_demand(net, 4, 5, 0, 20_000, &even),
            Err(IncentiveError::BadBounds { .. })
        ));
    }

    #[test]
    fn earnings_and_health_parse_from_csv_and_bad_lines_name_their_line() {
        let (d, o) = (Pubkey::new_unique(), Pubkey::new_unique());
        let text =
            format!("device,owner,region,amount\n# a comment\n\n{d},{o},85283473fffffff,42\n");
        assert_eq!(
            parse_earnings(text.as_bytes()).expect("earnings"),
            vec![Earning {
                device: d,
                owner: o,
                region: 0x0852_8347_3fff_ffff,
                amount: 42
            }]
        );
        for (bad, line) in [
            (format!("{d},{o},zz,42"), 1),
            (format!("{d},{o},85283473fffffff"), 1),
            (
                format!("device,owner,region,amount\n{d},nope,85283473fffffff,1"),
                2,
            ),
            (format!("{d},{o},85283473fffffff,-1"), 1),
        ] {
            assert!(
                matches!(parse_earnings(bad.as_bytes()), Err(IncentiveError::Csv { line: l, .. }) if l == line),
                "{bad}"
            );
        }
        let health =
            parse_health(format!("device,health_bps\n{d},2500\n").as_bytes()).expect("health");
        assert_eq!(health, BTreeMap::from([(d, 2_500)]));
        assert_eq!(
            parse_health(format!("{d},10001").as_bytes()),
            Err(IncentiveError::BadHealth {
                device: d,
                bps: 10_001
            })
        );
        assert!(matches!(
            parse_health(format!("{d},1\n{d},2").as_bytes()),
            Err(IncentiveError::Csv { line: 2, .. })
        ));
    }

    #[test]
    fn the_budget_is_what_the_schedule_allows_past_the_previous_total() {
        let schedule = EmissionSchedule {
            initial_per_epoch: 1_000,
            halving_interval_epochs: 0,
            tail_per_epoch: 0,
        };
        let through_2 = schedule.cumulative_through(2).expect("cap");
        assert_eq!(
            epoch_budget(&schedule, 2, 0).expect("budget") as u128,
            through_2
        );
        assert_eq!(
            epoch_budget(&schedule, 2, 2_500).expect("budget") as u128,
            through_2 - 2_500
        );
        assert_eq!(epoch_budget(&schedule, 2, u64::MAX).expect("budget"), 0);
    }
}
