//! Every suite account as a JSON object, field by field as the programs store them
//! (amounts in base units, hashes in hex, H3 cells in hex, enums by name).

use depin_sdk::accounts::{
    Claimed, Deal, Device, DeviceBond, EnergyMarket, EpochRoot, Interval, Maker, Meter,
    MeterReading, Network, RewardsConfig, StakePool, StakePosition, StorageMarket, SuiteAccount,
};
use depin_sdk::oracle::hex;
use serde_json::{json, Value};

/// An H3 cell as H3 tools print it.
pub fn h3(cell: u64) -> String {
    format!("{cell:x}")
}

/// A `Network`.
pub fn network(n: &Network) -> Value {
    json!({
        "network_id": n.network_id,
        "authority": n.authority.to_string(),
        "pending_authority": n.pending_authority.map(|k| k.to_string()),
        "auditor": n.auditor.map(|k| k.to_string()),
        "kind": format!("{:?}", n.kind).to_lowercase(),
        "reward_mint": n.reward_mint.to_string(),
        "fee_mint": n.fee_mint.to_string(),
        "treasury": n.treasury.to_string(),
        "onboarding_fee": n.onboarding_fee,
        "location_fee": n.location_fee,
        "device_count": n.device_count,
        "maker_count": n.maker_count,
        "paused": n.paused,
        "resumed_at": n.resumed_at,
    })
}

/// A `Maker`.
pub fn maker(m: &Maker) -> Value {
    json!({
        "network": m.network.to_string(),
        "maker_authority": m.maker_authority.to_string(),
        "name": m.name,
        "approved": m.approved,
        "device_quota": m.device_quota,
        "devices_onboarded": m.devices_onboarded,
    })
}

/// A `Device`.
pub fn device(d: &Device) -> Value {
    json!({
        "network": d.network.to_string(),
        "device_key": d.device_key.to_string(),
        "owner": d.owner.to_string(),
        "maker": d.maker.to_string(),
        "class": d.class,
        "capabilities": {
            "radio_bands": d.capabilities.radio_bands,
            "capacity_gib": d.capabilities.capacity_gib,
            "panel_watts": d.capabilities.panel_watts,
            "battery_wh": d.capabilities.battery_wh,
        },
        "location": d.location.map(h3),
        "status": match d.status {
            depin_sdk::registry::DeviceStatus::Active => "active",
            depin_sdk::registry::DeviceStatus::Suspended => "suspended",
            depin_sdk::registry::DeviceStatus::Decommissioned => "decommissioned",
            depin_sdk::registry::DeviceStatus::SuspendedByAuditor => "suspended_by_auditor",
        },
        "onboarded_at": d.onboarded_at,
        "location_changed_at": d.location_changed_at,
    })
}

/// A `StakePool`.
pub fn stake_pool(p: &StakePool) -> Value {
    json!({
        "network": p.network.to_string(),
        "stake_mint": p.stake_mint.to_string(),
        "vault": p.vault.to_string(),
        "treasury": p.treasury.to_string(),
        "min_stake_per_device": p.min_stake_per_device,
        "cooldown_secs": p.cooldown_secs,
        "slash_authority": p.slash_authority.to_string(),
        "total_staked": p.total_staked,
        "total_pending": p.total_pending,
        "total_slashed": p.total_slashed,
    })
}

/// A `StakePosition`.
pub fn stake_position(p: &StakePosition) -> Value {
    json!({
        "pool": p.pool.to_string(),
        "owner": p.owner.to_string(),
        "amount": p.amount,
        "pending": p.pending,
        "unlock_ts": p.unlock_ts,
        "devices_bonded": p.devices_bonded,
    })
}

/// A `DeviceBond`.
pub fn device_bond(b: &DeviceBond) -> Value {
    json!({
        "pool": b.pool.to_string(),
        "device": b.device.to_string(),
        "position": b.position.to_string(),
        "staker": b.staker.to_string(),
        "bonded_at": b.bonded_at,
    })
}

/// A `RewardsConfig`.
pub fn rewards_config(c: &RewardsConfig) -> Value {
    let oracles: Vec<String> = c
        .oracles
        .iter()
        .take(usize::from(c.oracle_count))
        .map(ToString::to_string)
        .collect();
    json!({
        "network": c.network.to_string(),
        "reward_mint": c.reward_mint.to_string(),
        "schedule": {
            "initial_per_epoch": c.schedule.initial_per_epoch,
            "halving_interval_epochs": c.schedule.halving_interval_epochs,
            "tail_per_epoch": c.schedule.tail_per_epoch,
        },
        "epoch_duration_secs": c.epoch_duration_secs,
        "genesis_ts": c.genesis_ts,
        "oracles": oracles,
        "quorum": c.quorum,
        "oracle_set_version": c.oracle_set_version,
        "total_minted": c.total_minted,
        "latest_finalized_epoch": c.latest_finalized_epoch,
        "latest_finalized_total": c.latest_finalized_total,
        "latest_finalized_root": hex(&c.latest_finalized_root),
    })
}

/// An `EpochRoot`.
pub fn epoch_root(e: &EpochRoot) -> Value {
    let proposals: Vec<Value> = e
        .proposals
        .iter()
        .enumerate()
        .filter(|(_, p)| p.submitted)
        .map(|(i, p)| {
            json!({
                "oracle_index": i,
                "root": hex(&p.root),
                "cumulative_total": p.cumulative_total,
                "multipliers_hash": hex(&p.multipliers_hash),
            })
        })
        .collect();
    json!({
        "config": e.config.to_string(),
        "epoch": e.epoch,
        "oracle_set_version": e.oracle_set_version,
        "proposals": proposals,
        "finalized": e.finalized,
        "root": hex(&e.root),
        "cumulative_total": e.cumulative_total,
        "multipliers_hash": hex(&e.multipliers_hash),
        "finalized_at": e.finalized_at,
    })
}

/// A `Claimed` record.
pub fn claimed(c: &Claimed) -> Value {
    json!({
        "config": c.config.to_string(),
        "device": c.device.to_string(),
        "total_claimed": c.total_claimed,
        "last_epoch": c.last_epoch,
    })
}

/// A `StorageMarket`.
pub fn storage_market(m: &StorageMarket) -> Value {
    json!({
        "network": m.network.to_string(),
        "payment_mint": m.payment_mint.to_string(),
        "vault": m.vault.to_string(),
        "treasury": m.treasury.to_string(),
        "proving_period_secs": m.proving_period_secs,
        "challenge_window_slots": m.challenge_window_slots,
        "challenges_per_period": m.challenges_per_period,
        "max_consecutive_faults": m.max_consecutive_faults,
        "fault_slash_bps": m.fault_slash_bps,
        "protocol_fee_bps": m.protocol_fee_bps,
    })
}

/// A storage `Deal`.
pub fn deal(d: &Deal) -> Value {
    let records: Vec<Value> = d
        .records
        .iter()
        .take(usize::from(d.periods))
        .map(|r| json!({"challenge_slot": r.challenge_slot, "status": r.status, "answered": r.answered}))
        .collect();
    json!({
        "market": d.market.to_string(),
        "client": d.client.to_string(),
        "deal_id": d.deal_id,
        "provider_device": d.provider_device.to_string(),
        "provider": d.provider.to_string(),
        "piece_root": hex(&d.piece_root),
        "chunk_size": d.chunk_size,
        "num_chunks": d.num_chunks,
        "price_per_period": d.price_per_period,
        "periods": d.periods,
        "collateral": d.collateral,
        "collateral_left": d.collateral_left,
        "escrow_left": d.escrow_left,
        "fees_owed": d.fees_owed,
        "state": format!("{:?}", d.state).to_lowercase(),
        "start_ts": d.start_ts,
        "consecutive_faults": d.consecutive_faults,
        "total_faults": d.total_faults,
        "records": records,
    })
}

/// An `EnergyMarket`.
pub fn energy_market(m: &EnergyMarket) -> Value {
    json!({
        "network": m.network.to_string(),
        "quote_mint": m.quote_mint.to_string(),
        "vault": m.vault.to_string(),
        "treasury": m.treasury.to_string(),
        "interval_secs": m.interval_secs,
        "gate_closure_secs": m.gate_closure_secs,
        "settlement_delay_secs": m.settlement_delay_secs,
        "max_orders_per_interval": m.max_orders_per_interval,
        "grid_fee_bps": m.grid_fee_bps,
        "price_floor": m.price_floor,
        "price_cap": m.price_cap,
    })
}

/// An energy `Interval` (its book: the used order slots of each side).
pub fn interval(i: &Interval) -> Value {
    let asks: Vec<Value> = i
        .asks
        .iter()
        .take(usize::from(i.ask_count))
        .map(|a| {
            json!({
                "device": a.device.to_string(), "owner": a.owner.to_string(), "price": a.price,
                "wh": a.wh, "matched_wh": a.matched_wh, "delivered_wh": a.delivered_wh,
                "status": a.status, "seq": a.seq,
            })
        })
        .collect();
    let bids: Vec<Value> = i
        .bids
        .iter()
        .take(usize::from(i.bid_count))
        .map(|b| {
            json!({
                "device": b.device.to_string(), "owner": b.owner.to_string(), "limit": b.limit,
                "wh": b.wh, "escrow": b.escrow, "matched_wh": b.matched_wh, "charge": b.charge,
                "status": b.status, "seq": b.seq,
            })
        })
        .collect();
    json!({
        "market": i.market.to_string(),
        "index": i.index,
        "state": i.state,
        "clearing_price": i.clearing_price,
        "volume_wh": i.volume_wh,
        "delivered_wh": i.delivered_wh,
        "escrow_total": i.escrow_total,
        "charged_total": i.charged_total,
        "gross_paid_total": i.gross_paid_total,
        "asks": asks,
        "bids": bids,
    })
}

/// An energy `Meter`.
pub fn meter(m: &Meter) -> Value {
    json!({
        "market": m.market.to_string(),
        "device": m.device.to_string(),
        "last_counter": m.last_counter,
        "readings": m.readings,
    })
}

/// An energy `MeterReading`.
pub fn meter_reading(r: &MeterReading) -> Value {
    json!({
        "device": r.device.to_string(),
        "interval": r.interval,
        "produced_wh": r.produced_wh,
        "consumed_wh": r.consumed_wh,
        "counter": r.counter,
        "submitted_at": r.submitted_at,
    })
}

/// Any suite account: its type name and its fields.
pub fn suite_account(account: &SuiteAccount) -> (&'static str, Value) {
    match account {
        SuiteAccount::Network(a) => ("Network", network(a)),
        SuiteAccount::Maker(a) => ("Maker", maker(a)),
        SuiteAccount::Device(a) => ("Device", device(a)),
        SuiteAccount::StakePool(a) => ("StakePool", stake_pool(a)),
        SuiteAccount::StakePosition(a) => ("StakePosition", stake_position(a)),
        SuiteAccount::DeviceBond(a) => ("DeviceBond", device_bond(a)),
        SuiteAccount::RewardsConfig(a) => ("RewardsConfig", rewards_config(a)),
        SuiteAccount::EpochRoot(a) => ("EpochRoot", epoch_root(a)),
        SuiteAccount::Claimed(a) => ("Claimed", claimed(a)),
        SuiteAccount::StorageMarket(a) => ("StorageMarket", storage_market(a)),
        SuiteAccount::Deal(a) => ("Deal", deal(a)),
        SuiteAccount::EnergyMarket(a) => ("EnergyMarket", energy_market(a)),
        SuiteAccount::Interval(a) => ("Interval", interval(a)),
        SuiteAccount::Meter(a) => ("Meter", meter(a)),
        SuiteAccount::MeterReading(a) => ("MeterReading", meter_reading(a)),
    }
}
