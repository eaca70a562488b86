//! Demand-driven region multipliers: where demand outruns supply, the next epoch pays more.
//!
//! For a network and an epoch `e`, from what the indexer and the telemetry service stored:
//! 1. **Usage** per region (an H3 cell at [`RegionPolicy::resolution`], the parent of each
//!    device's asserted cell) in each of the `history_epochs` epochs before `e`, from every
//!    source the network has: wireless bytes served (telemetry), storage bytes of the deals
//!    its providers started (`deals`), and energy delivered to its buyers (`energy_orders`,
//!    bid side). Each source's usage becomes a share of that source's total in the epoch, so
//!    sources in different units add up; a region's demand is its average share.
//! 2. **Forecast** of each region's demand share in epoch `e`: exponential smoothing fitted
//!    by `augurs` (AutoETS, non-seasonal: level and trend picked by AICc) when the region
//!    has at least [`MIN_ETS_POINTS`] epochs of history, the mean of what it has otherwise
//!    (the method is recorded per region).
//!    Usage reported by a device that is now suspended is left out: a device flagged for
//!    inflating its service must not pull its region's multiplier up.
//! 3. **Supply**: the network's active devices per region.
//! 4. **Multipliers**: demand share over supply share, clamped to the policy's bounds
//!    ([`depin_sdk::incentives::multipliers_from_demand`]).
//!
//! [`publish`] stores the table (`region_multiplier_tables`, `region_multipliers`, migration
//! V10) with its hash, the value the oracles propose with the epoch's reward root; once
//! published, an epoch's table never changes. [`load`] reads it back for the reward rows
//! ([`depin_sdk::incentives::epoch_rows`]).

use std::collections::BTreeMap;

use augurs::ets::AutoETS;
use augurs::{Fit, Predict};
use depin_sdk::incentives::{self, IncentiveError, RegionMultiplier, RegionMultipliers};
use depin_sdk::Pubkey;
use h3o::{CellIndex, Resolution};
use tokio_postgres::Client as Db;

/// Fewest epochs of history for an exponential-smoothing forecast.
/// (AutoETS refuses fewer: it needs more observations than the parameters it fits.)
pub const MIN_ETS_POINTS: usize = 8;

/// How an epoch's multipliers are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionPolicy {
    /// H3 resolution of a region (each device counts in its cell's parent at it).
    pub resolution: u8,
    /// Lowest multiplier, in basis points (10,000 = 1x).
    pub min_bps: u16,
    /// Highest multiplier, in basis points.
    pub max_bps: u16,
    /// Epochs of usage history the forecast reads.
    pub history_epochs: u64,
}

impl Default for RegionPolicy {
    /// Resolution 5 (regions of about 250 km²), multipliers between 0.5x and 2x, twelve
    /// epochs of history.
    fn default() -> Self {
        RegionPolicy {
            resolution: 5,
            min_bps: 5_000,
            max_bps: 20_000,
            history_epochs: 12,
        }
    }
}

/// Why a table could not be computed, published or loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    /// The database failed.
    #[error("database: {}", crate::pg_message(.0))]
    Database(#[from] tokio_postgres::Error),
    /// The network has no rewards config indexed (its epochs are unknown).
    #[error("network {0}: no rewards config indexed")]
    NoRewardsConfig(String),
    /// A stored value is not what the indexer writes.
    #[error("unexpected data: {0}")]
    Data(String),
    /// The policy or the table is refused.
    #[error(transparent)]
    Incentive(#[from] IncentiveError),
    /// A different table was already published for the epoch.
    #[error(
        "network {network} epoch {epoch}: a different table is already published (hash {existing})"
    )]
    AlreadyPublished {
        /// The network.
        network: String,
        /// The epoch.
        epoch: u64,
        /// The published table's hash, hex.
        existing: String,
    },
}

/// How a region's demand was forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exponential smoothing (augurs AutoETS).
    Ets,
    /// The mean of a history too short for a model.
    Mean,
    /// No usage in the history at all.
    None,
}

impl Method {
    /// As stored in `region_multipliers.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ets => "ets",
            Method::Mean => "mean",
            Method::None => "none",
        }
    }
}

/// One region's row of a computed table: its multiplier and what it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionRow {
    /// The region.
    pub region: u64,
    /// Demand share per epoch of the history, oldest first.
    pub history: Vec<f64>,
    /// Forecast demand share of the epoch.
    pub forecast: f64,
    /// How it was forecast.
    pub method: Method,
    /// Active devices in the region.
    pub supply: u64,
    /// The multiplier (bps); `None` for a region with demand but no device to pay.
    pub bps: Option<u16>,
}

/// A computed epoch table and its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// The table the rewards use (its hash goes on chain).
    pub table: RegionMultipliers,
    /// Every region seen, with its inputs.
    pub rows: Vec<RegionRow>,
    /// The policy's history length.
    pub history_epochs: u64,
}

/// The region of an H3 cell as the indexer stores it (lowercase hex): its parent at
/// `resolution`, or the cell itself if it is already that coarse.
pub fn region_of(cell_hex: &str, resolution: u8) -> Result<u64, RegionError> {
    let raw = u64::from_str_radix(cell_hex, 16)
        .map_err(|e| RegionError::Data(format!("cell {cell_hex}: {e}")))?;
    let cell =
        CellIndex::try_from(raw).map_err(|e| RegionError::Data(format!("cell {cell_hex}: {e}")))?;
    let res = Resolution::try_from(resolution)
        .map_err(|e| RegionError::Data(format!("resolution {resolution}: {e}")))?;
    Ok(cell.parent(res).map_or(raw, u64::from))
}

/// Forecasts the next value of a demand-share series (never negative).
pub fn forecast(history: &[f64]) -> (f64, Method) {
    if history.iter().all(|v| *v == 0.0) {
        return (0.0, Method::None);
    }
    let mean = history.iter().sum::<f64>() / history.len() as f64;
    if history.len() < MIN_ETS_POINTS || history.windows(2).all(|w| w[0] == w[1]) {
        // too short for a model, or constant (nothing for a model to fit)
        return (mean, Method::Mean);
    }
    let fitted = AutoETS::non_seasonal()
        .fit(history)
        .ok()
        .and_then(|model| model.predict(1, None).ok())
        .and_then(|f| f.point.first().copied())
        .filter(|v| v.is_finite());
    match fitted {
        Some(v) => (v.max(0.0), Method::Ets),
        None => (mean, Method::Mean),
    }
}

/// The network's rewards epochs: `(genesis_ts, epoch_duration_secs)`.
async fn epochs_of(db: &Db, network: &str) -> Result<(i64, i64), RegionError> {
    let row = db
        .query_opt(
            "SELECT genesis_ts, epoch_duration_secs::BIGINT FROM rewards_rewards_initialized
             WHERE network = $1 ORDER BY slot DESC LIMIT 1",
            &[&network],
        )
        .await?
        .ok_or_else(|| RegionError::NoRewardsConfig(network.to_string()))?;
    let duration: i64 = row.get(1);
    if duration <= 0 {
        return Err(RegionError::Data(format!("epoch duration {duration}")));
    }
    Ok((row.get(0), duration))
}

/// The rewards epoch of `network` that contains unix time `now` (the one whose table the
/// auditor publishes while it runs; its history is every epoch before it).
pub async fn current_epoch(db: &Db, network: &Pubkey, now: i64) -> Result<u64, RegionError> {
    let (genesis, duration) = epochs_of(db, &network.to_string()).await?;
    Ok(u64::try_from(now.saturating_sub(genesis) / duration).unwrap_or(0))
}

/// The rewards epoch of `network` holding the window that ends at `window_to` (a window
/// holds the reports stamped in `(from, to]`, so one ending on an epoch's last second is
/// that epoch's), with the epoch's first and last second: `(epoch, start, end)`, the
/// epoch's windows being those ending in `(start, end]`.
pub async fn epoch_of_window(
    db: &Db,
    network: &Pubkey,
    window_to: i64,
) -> Result<(u64, i64, i64), RegionError> {
    let (genesis, duration) = epochs_of(db, &network.to_string()).await?;
    let epoch = window_to.saturating_sub(1).saturating_sub(genesis).max(0) / duration;
    let start = genesis.saturating_add(epoch.saturating_mul(duration));
    let epoch = u64::try_from(epoch).map_err(|e| RegionError::Data(e.to_string()))?;
    Ok((epoch, start, start.saturating_add(duration)))
}

/// Usage per (region, epoch index within the history) of one source, as shares of the
/// source's total in that epoch.
fn shares(usage: &BTreeMap<(u64, usize), f64>, epochs: usize) -> BTreeMap<(u64, usize), f64> {
    let mut totals = vec![0.0; epochs];
    for ((_, i), v) in usage {
        totals[*i] += v;
    }
    usage
        .iter()
        .filter(|((_, i), _)| totals[*i] > 0.0)
        .map(|(k, v)| (*k, v / totals[k.1]))
        .collect()
}

/// Computes epoch `epoch`'s multipliers for `network` under `policy`.
pub async fn compute(
    db: &Db,
    network: &Pubkey,
    epoch: u64,
    policy: &RegionPolicy,
) -> Result<Computed, RegionError> {
    let net = network.to_string();
    let (genesis, duration) = epochs_of(db, &net).await?;
    let first = epoch.saturating_sub(policy.history_epochs);
    let epochs = usize::try_from(epoch - first).map_err(|e| RegionError::Data(e.to_string()))?;
    let epoch_start = |e: u64| -> Result<i64, RegionError> {
        i64::try_from(e)
            .ok()
            .and_then(|e| e.checked_mul(duration))
            .and_then(|s| s.checked_add(genesis))
            .ok_or_else(|| RegionError::Data(format!("epoch {e} overflows time")))
    };
    let (from, to) = (epoch_start(first)?, epoch_start(epoch)?);
    // which epoch of the history a unix time falls in
    let index = |ts: i64| -> Option<usize> {
        (ts >= from && ts < to).then(|| ((ts - from) / duration) as usize)
    };

    // every device of the network with a location, and its region; the usage a suspended
    // device reported is not counted as demand (an inflating device must not pull its
    // region's multiplier up), a decommissioned device's past service is
    let mut region_of_device: BTreeMap<String, u64> = BTreeMap::new();
    let mut supply: BTreeMap<u64, u64> = BTreeMap::new();
    for row in db
        .query(
            "SELECT device, location, status FROM devices
             WHERE network = $1 AND location IS NOT NULL",
            &[&net],
        )
        .await?
    {
        let region = region_of(row.get::<_, &str>(1), policy.resolution)?;
        let status: &str = row.get(2);
        if status == "active" {
            *supply.entry(region).or_default() += 1;
        }
        if !status.starts_with("suspended") {
            region_of_device.insert(row.get(0), region);
        }
    }

    let mut sources: Vec<BTreeMap<(u64, usize), f64>> = Vec::new();
    // wireless: bytes served, from telemetry
    let mut wireless = BTreeMap::new();
    for row in db
        .query(
            "SELECT device, unix_ts, bytes_served FROM telemetry
             WHERE network = $1 AND unix_ts >= $2 AND unix_ts < $3 AND bytes_served > 0",
            &[&net, &from, &to],
        )
        .await?
    {
        let (Some(region), Some(i)) = (
            region_of_device.get(row.get::<_, &str>(0)),
            index(row.get(1)),
        ) else {
            continue;
        };
        *wireless.entry((*region, i)).or_insert(0.0) += row.get::<_, i64>(2) as f64;
    }
    sources.push(wireless);
    // storage: bytes of the deals the network's providers started
    let mut storage = BTreeMap::new();
    for row in db
        .query(
            "SELECT d.provider_device, d.start_ts,
                    (d.num_chunks * p.chunk_size)::DOUBLE PRECISION
             FROM deals d
             JOIN LATERAL (SELECT chunk_size FROM storage_deal_proposed p
                           WHERE p.deal = d.deal AND p.deal_id = d.deal_id
                           ORDER BY slot DESC LIMIT 1) p ON TRUE
             JOIN devices v ON v.device = d.provider_device AND v.network = $1
             WHERE d.start_ts >= $2 AND d.start_ts < $3",
            &[&net, &from, &to],
        )
        .await?
    {
        let (Some(region), Some(i)) = (
            region_of_device.get(row.get::<_, &str>(0)),
            row.get::<_, Option<i64>>(1).and_then(index),
        ) else {
            continue;
        };
        *storage.entry((*region, i)).or_insert(0.0) += row.get::<_, f64>(2);
    }
    sources.push(storage);
    // energy: Wh delivered to the network's buyers, at the interval's start
    let mut energy = BTreeMap::new();
    for row in db
        .query(
            "SELECT o.device, (o.interval_index * m.interval_secs)::BIGINT,
                    o.delivered_wh::DOUBLE PRECISION
             FROM energy_orders o
             JOIN energy_market_initialized m ON m.market = o.market
             JOIN devices v ON v.device = o.device AND v.network = $1
             WHERE o.side = 'bid' AND o.delivered_wh > 0",
            &[&net],
        )
        .await?
    {
        let (Some(region), Some(i)) = (
            region_of_device.get(row.get::<_, &str>(0)),
            index(row.get(1)),
        ) else {
            continue;
        };
        *energy.entry((*region, i)).or_insert(0.0) += row.get::<_, f64>(2);
    }
    sources.push(energy);

    // a region's demand share per epoch: the mean of the shares of the sources in use
    let per_source: Vec<BTreeMap<(u64, usize), f64>> =
        sources.iter().map(|s| shares(s, epochs)).collect();
    let mut in_use = vec![0usize; epochs];
    for s in &per_source {
        let mut seen = vec![false; epochs];
        for (_, i) in s.keys() {
            seen[*i] = true;
        }
        for (i, used) in seen.into_iter().enumerate() {
            in_use[i] += usize::from(used);
        }
    }
    let mut history: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for region in supply.keys() {
        history.insert(*region, vec![0.0; epochs]);
    }
    for s in &per_source {
        for ((region, i), share) in s {
            history.entry(*region).or_insert_with(|| vec![0.0; epochs])[*i] +=
                share / in_use[*i].max(1) as f64;
        }
    }

    let mut inputs = BTreeMap::new();
    let mut rows = Vec::new();
    for (region, series) in history {
        let (demand, method) = forecast(&series);
        let devices = supply.get(&region).copied().unwrap_or(0);
        inputs.insert(region, (demand, devices as f64));
        rows.push(RegionRow {
            region,
            history: series,
            forecast: demand,
            method,
            supply: devices,
            bps: None,
        });
    }
    let table = incentives::multipliers_from_demand(
        *network,
        epoch,
        policy.resolution,
        policy.min_bps,
        policy.max_bps,
        &inputs,
    )?;
    for row in &mut rows {
        row.bps = table.get(row.region);
    }
    Ok(Computed {
        table,
        rows,
        history_epochs: policy.history_epochs,
    })
}

/// Stores a computed table and its inputs in one transaction. Publishing the same table
/// again changes nothing; a different table for an epoch already published is refused.
pub async fn publish(db: &mut Db, computed: &Computed) -> Result<(), RegionError> {
    let t = &computed.table;
    t.validate()?;
    let network = t.network.to_string();
    let epoch = i64::try_from(t.epoch).map_err(|e| RegionError::Data(e.to_string()))?;
    let hash = t.hash();
    let tx = db.transaction().await?;
    // serialize publishers of one epoch: the first one's table stands
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('depin-region-multipliers'), 0)",
        &[],
    )
    .await?;
    if let Some(row) = tx
        .query_opt(
            "SELECT hash FROM region_multiplier_tables WHERE network = $1 AND epoch = $2",
            &[&network, &epoch],
        )
        .await?
    {
        let existing: Vec<u8> = row.get(0);
        if existing == hash {
            return Ok(());
        }
        return Err(RegionError::AlreadyPublished {
            network,
            epoch: t.epoch,
            existing: existing.iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    tx.execute(
        "INSERT INTO region_multiplier_tables
             (network, epoch, resolution, min_bps, max_bps, history_epochs, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &network,
            &epoch,
            &i16::from(t.resolution),
            &i32::from(t.min_bps),
            &i32::from(t.max_bps),
            &i64::try_from(computed.history_epochs)
                .map_err(|e| RegionError::Data(e.to_string()))?,
            &hash.as_slice(),
        ],
    )
    .await?;
    let statement = tx
        .prepare(
            "INSERT INTO region_multipliers
                 (network, epoch, region, multiplier_bps, demand_forecast, supply, method)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    for row in &computed.rows {
        let Some(bps) = row.bps else { continue };
        tx.execute(
            &statement,
            &[
                &network,
                &epoch,
                &format!("{:x}", row.region),
                &i32::from(bps),
                &row.forecast,
                &i64::try_from(row.supply).map_err(|e| RegionError::Data(e.to_string()))?,
                &row.method.as_str(),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The table published for `network`'s epoch `epoch`, checked against its stored hash.
pub async fn load(
    db: &Db,
    network: &Pubkey,
    epoch: u64,
) -> Result<Option<RegionMultipliers>, RegionError> {
    let net = network.to_string();
    let e = i64::try_from(epoch).map_err(|e| RegionError::Data(e.to_string()))?;
    let Some(head) = db
        .query_opt(
            "SELECT resolution, min_bps, max_bps, hash FROM region_multiplier_tables
             WHERE network = $1 AND epoch = $2",
            &[&net, &e],
        )
        .await?
    else {
        return Ok(None);
    };
    let narrow = |v: i32| u16::try_from(v).map_err(|e| RegionError::Data(e.to_string()));
    let mut regions = Vec::new();
    for row in db
        .query(
            "SELECT region, multiplier_bps FROM region_multipliers
             WHERE network = $1 AND epoch = $2",
            &[&net, &e],
        )
        .await?
    {
        let hex: &str = row.get(0);
        regions.push(RegionMultiplier {
            region: u64::from_str_radix(hex, 16)
                .map_err(|err| RegionError::Data(format!("region {hex}: {err}")))?,
            bps: narrow(row.get(1))?,
        });
    }
    regions.sort_by_key(|r| r.region);
    let table = RegionMultipliers {
        network: *network,
        epoch,
        resolution: u8::try_from(head.get::<_, i16>(0))
            .map_err(|e| RegionError::Data(e.to_string()))?,
        min_bps: narrow(head.get(1))?,
        max_bps: narrow(head.get(2))?,
        regions,
    };
    table.validate()?;
    let stored: Vec<u8> = head.get(3);
    if stored != table.hash() {
        return Err(RegionError::Data(format!(
            "network {net} epoch {epoch}: the stored rows do not match the stored hash"
        )));
    }
    Ok(Some(table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_parents_at_the_policy_resolution() {
        // a resolution-8 cell (the localnet scenario's location)
        let cell = "8a2a1072b59ffff";
        let region = region_of(cell, 5).expect("region");
        let parent = CellIndex::try_from(region).expect("cell");
        assert_eq!(u8::from(parent.resolution()), 5);
        // coarser than the cell: the cell itself
        let raw = u64::from_str_radix(cell, 16).expect("hex");
        assert_eq!(region_of(cell, 15).expect("region"), raw);
        assert!(matches!(region_of("zz", 5), Err(RegionError::Data(_))));
        assert!(matches!(region_of("1", 5), Err(RegionError::Data(_))));
        assert!(matches!(region_of(cell, 16), Err(RegionError::Data(_))));
    }

    #[test]
    fn forecasts_follow_the_trend_with_ets_and_fall_back_on_short_or_flat_history() {
        let (v, m) = forecast(&[0.1, 0.22, 0.29, 0.41, 0.5, 0.62, 0.68, 0.8]);
        assert_eq!(m, Method::Ets);
        assert!(
            v > 0.8,
            "a rising series forecasts past its last value: {v}"
        );
        assert_eq!(
            forecast(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]).1,
            Method::Mean
        );
        assert_eq!(forecast(&[0.2, 0.4]), (0.30000000000000004, Method::Mean));
        assert_eq!(forecast(&[0.0; 6]), (0.0, Method::None));
        assert_eq!(forecast(&[0.25; 6]), (0.25, Method::Mean));
        let (v, _) = forecast(&[0.9, 0.6, 0.3, 0.1, 0.0, 0.0]);
        assert!(v >= 0.0, "never negative: {v}");
    }
}
