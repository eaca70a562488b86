//! Events as table rows: the table of each event kind, its columns, and the SQL values.
//!
//! The tables live in `migrations/V1__events.sql`; every event table starts with the columns
//! in [`KEY_COLUMNS`] (inherited from `events`), followed by the event's own columns listed
//! here in the same order. A test writes one row of every kind to check the two agree.

use anchor_lang::prelude::Pubkey;
use bytes::BytesMut;
use postgres_types::{to_sql_checked, IsNull, ToSql, Type};

use crate::events::{energy, registry, rewards, staking, storage, Event};

/// The activity event tables no state row is derived from (meter readings, challenges
/// opened, device audits, claim records opened): the ones `retention.keep_event_slots`
/// applies to, written into slot-range segments (`migrations/V12__event_segments.sql`). A
/// test checks no state function reads them.
pub const ACTIVITY_TABLES: [&str; 4] = [
    "energy_reading_submitted",
    "storage_challenge_opened",
    "registry_device_audited",
    "rewards_claimed_opened",
];

/// The energy lifecycle tables (orders placed, cancelled and settled, intervals cleared,
/// settled and closed): `energy_intervals` and `energy_orders` are derived from them, per
/// interval. With `retention.keep_event_slots` set they are written into segments too, and
/// a segment is retired only with every row of each interval it holds, the intervals' state
/// rows with it (`migrations/V17__interval_retention.sql`).
pub const INTERVAL_TABLES: [&str; 6] = [
    "energy_order_placed",
    "energy_order_cancelled",
    "energy_interval_cleared",
    "energy_order_settled",
    "energy_interval_settled",
    "energy_interval_closed",
];

/// The state-source tables whose rows the state reads only as sums, counts, maxima and a
/// latest owner (storage proofs and faults: `deals`; reward claims: `reward_claims` and the
/// claimed totals of `reward_epochs`). With `retention.keep_event_slots` set they are
/// written into segments too, and a retired segment's rows are first added to per-key
/// tallies the refresh functions read with the kept rows
/// (`migrations/V18__tallied_retention.sql`).
pub const TALLY_TABLES: [&str; 3] = [
    "storage_proof_accepted",
    "storage_fault_reported",
    "rewards_rewards_claimed",
];

/// Position of `slot` in [`KEY_COLUMNS`].
pub const SLOT_COLUMN: usize = 3;

/// Columns every event table starts with, in order.
pub const KEY_COLUMNS: [&str; 5] = [
    "signature",
    "instruction_index",
    "event_index",
    "slot",
    "tx_index",
];

/// One SQL value, typed so binary COPY can encode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `TEXT`.
    Text(String),
    /// Nullable `TEXT`.
    OptText(Option<String>),
    /// `BYTEA`.
    Bytea(Vec<u8>),
    /// `SMALLINT`.
    Int2(i16),
    /// `INTEGER`.
    Int4(i32),
    /// Nullable `INTEGER`.
    OptInt4(Option<i32>),
    /// `BIGINT`.
    Int8(i64),
    /// `NUMERIC(20,0)` holding a `u64`.
    Numeric(u64),
    /// `BOOLEAN`.
    Bool(bool),
    /// `TEXT[]`.
    TextArray(Vec<String>),
    /// `NUMERIC(20,0)[]`.
    NumericArray(Vec<u64>),
}

impl Value {
    /// The PostgreSQL type of the column this value goes into.
    pub fn pg_type(&self) -> Type {
        match self {
            Value::Text(_) | Value::OptText(_) => Type::TEXT,
            Value::Bytea(_) => Type::BYTEA,
            Value::Int2(_) => Type::INT2,
            Value::Int4(_) | Value::OptInt4(_) => Type::INT4,
            Value::Int8(_) => Type::INT8,
            Value::Numeric(_) => Type::NUMERIC,
            Value::Bool(_) => Type::BOOL,
            Value::TextArray(_) => Type::TEXT_ARRAY,
            Value::NumericArray(_) => Type::NUMERIC_ARRAY,
        }
    }
}

/// A `u64` in PostgreSQL's binary `NUMERIC` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numeric(pub u64);

impl ToSql for Numeric {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // base-10000 digits, most significant first (a u64 has at most 5)
        let mut digits = [0i16; 5];
        let mut n = self.0;
        let mut count = 0usize;
        while n > 0 {
            let digit = i16::try_from(n % 10_000)?;
            digits[count] = digit;
            count += 1;
            n /= 10_000;
        }
        let ndigits = i16::try_from(count)?;
        out.extend_from_slice(&ndigits.to_be_bytes());
        // weight: exponent (in base-10000 digits) of the first digit
        out.extend_from_slice(&ndigits.saturating_sub(1).max(0).to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes()); // sign: positive
        out.extend_from_slice(&0u16.to_be_bytes()); // display scale: integer
        for digit in digits[..count].iter().rev() {
            out.extend_from_slice(&digit.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Text(v) => v.to_sql(ty, out),
            Value::OptText(v) => v.to_sql(ty, out),
            Value::Bytea(v) => v.to_sql(ty, out),
            Value::Int2(v) => v.to_sql(ty, out),
            Value::Int4(v) => v.to_sql(ty, out),
            Value::OptInt4(v) => v.to_sql(ty, out),
            Value::Int8(v) => v.to_sql(ty, out),
            Value::Numeric(v) => Numeric(*v).to_sql(ty, out),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::TextArray(v) => v.to_sql(ty, out),
            Value::NumericArray(v) => v
                .iter()
                .map(|n| Numeric(*n))
                .collect::<Vec<_>>()
                .to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // each variant checks its own type when encoding
        true
    }

    to_sql_checked!();
}

/// Conversion of an event field into its column value.
pub trait ToValue {
    /// The column value.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for Pubkey {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for u8 {
    fn to_value(&self) -> Value {
        Value::Int2(i16::from(*self))
    }
}

impl ToValue for u16 {
    fn to_value(&self) -> Value {
        Value::Int4(i32::from(*self))
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int8(i64::from(*self))
    }
}

impl ToValue for u64 {
    fn to_value(&self) -> Value {
        Value::Numeric(*self)
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int8(*self)
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToValue for Option<Pubkey> {
    fn to_value(&self) -> Value {
        Value::OptText(self.map(|k| k.to_string()))
    }
}

impl ToValue for [u8; 32] {
    fn to_value(&self) -> Value {
        Value::Bytea(self.to_vec())
    }
}

impl ToValue for Vec<u64> {
    fn to_value(&self) -> Value {
        Value::NumericArray(self.clone())
    }
}

impl ToValue for Vec<Pubkey> {
    fn to_value(&self) -> Value {
        Value::TextArray(self.iter().map(Pubkey::to_string).collect())
    }
}

impl ToValue for device_registry::state::DeviceStatus {
    fn to_value(&self) -> Value {
        use device_registry::state::DeviceStatus::*;
        Value::Text(
            match self {
                Active => "active",
                Suspended => "suspended",
                Decommissioned => "decommissioned",
                SuspendedByAuditor => "suspended_by_auditor",
            }
            .into(),
        )
    }
}

impl ToValue for device_registry::state::NetworkKind {
    fn to_value(&self) -> Value {
        use device_registry::state::NetworkKind::*;
        Value::Text(
            match self {
                Wireless => "wireless",
                Storage => "storage",
                Compute => "compute",
                Energy => "energy",
            }
            .into(),
        )
    }
}

impl ToValue for energy_settlement::events::Side {
    fn to_value(&self) -> Value {
        use energy_settlement::events::Side::*;
        Value::Text(
            match self {
                Ask => "ask",
                Bid => "bid",
            }
            .into(),
        )
    }
}

/// An H3 cell as the lowercase hex string H3 tools print.
fn h3(cell: u64) -> Value {
    Value::Text(format!("{cell:x}"))
}

/// An optional H3 cell.
fn h3_opt(cell: Option<u64>) -> Value {
    Value::OptText(cell.map(|c| format!("{c:x}")))
}

/// An event table: its name and its own columns (after [`KEY_COLUMNS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// The event's columns, in table order.
    pub columns: &'static [&'static str],
}

/// An event's row: its table and its own column values (after [`KEY_COLUMNS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Table name.
    pub table: &'static str,
    /// Values of the event's columns.
    pub values: Vec<Value>,
}

macro_rules! event_tables {
    ($( $outer:ident $module:ident :: $event:ident => $table:literal |$e:ident| {
        $($col:literal : $val:expr),+ $(,)?
    } )+) => {
        /// Every event table, one per event kind.
        pub const TABLES: &[Table] = &[ $( Table { name: $table, columns: &[$($col),+] } ),+ ];

        /// The row of `event`.
        pub fn event_row(event: &Event) -> EventRow {
            match event {
                $( Event::$outer($module::Event::$event($e)) => EventRow {
                    table: $table,
                    values: vec![$(ToValue::to_value(&$val)),+],
                }, )+
            }
        }
    };
}

event_tables! {
    Registry registry::NetworkInitialized => "registry_network_initialized" |e| {
        "network": e.network, "network_id": e.network_id, "authority": e.authority,
        "kind": e.kind, "reward_mint": e.reward_mint, "fee_mint": e.fee_mint,
        "treasury": e.treasury, "onboarding_fee": e.onboarding_fee,
        "location_fee": e.location_fee,
    }
    Registry registry::NetworkUpdated => "registry_network_updated" |e| {
        "network": e.network, "treasury": e.treasury, "onboarding_fee": e.onboarding_fee,
        "location_fee": e.location_fee, "paused": e.paused,
    }
    Registry registry::AuthorityProposed => "registry_authority_proposed" |e| {
        "network": e.network, "authority": e.authority, "pending_authority": e.pending_authority,
    }
    Registry registry::AuthorityAccepted => "registry_authority_accepted" |e| {
        "network": e.network, "previous_authority": e.previous_authority,
        "authority": e.authority,
    }
    Registry registry::MakerRegistered => "registry_maker_registered" |e| {
        "network": e.network, "maker": e.maker, "maker_authority": e.maker_authority,
        "name": e.name, "device_quota": e.device_quota,
    }
    Registry registry::MakerApprovalSet => "registry_maker_approval_set" |e| {
        "network": e.network, "maker": e.maker, "approved": e.approved,
        "device_quota": e.device_quota,
    }
    Registry registry::DeviceOnboarded => "registry_device_onboarded" |e| {
        "network": e.network, "device": e.device, "device_key": e.device_key, "owner": e.owner,
        "maker": e.maker, "class": e.class, "radio_bands": e.capabilities.radio_bands,
        "capacity_gib": e.capabilities.capacity_gib, "panel_watts": e.capabilities.panel_watts,
        "battery_wh": e.capabilities.battery_wh, "location": h3_opt(e.location),
        "fee_paid": e.fee_paid, "unix_ts": e.timestamp,
    }
    Registry registry::LocationAsserted => "registry_location_asserted" |e| {
        "device": e.device, "owner": e.owner, "previous_location": h3_opt(e.previous_location),
        "location": h3(e.location), "fee_paid": e.fee_paid, "unix_ts": e.timestamp,
    }
    Registry registry::DeviceTransferred => "registry_device_transferred" |e| {
        "device": e.device, "previous_owner": e.previous_owner, "new_owner": e.new_owner,
    }
    Registry registry::DeviceStatusChanged => "registry_device_status_changed" |e| {
        "device": e.device, "changed_by": e.changed_by, "previous_status": e.previous_status,
        "status": e.status, "unix_ts": e.timestamp,
    }
    Registry registry::AuditorSet => "registry_auditor_set" |e| {
        "network": e.network, "previous": e.previous, "auditor": e.auditor,
    }
    Registry registry::DeviceAudited => "registry_device_audited" |e| {
        "device": e.device, "network": e.network, "auditor": e.auditor,
        "previous_status": e.previous_status, "status": e.status, "evidence": e.evidence,
    }
    Staking staking::PoolInitialized => "staking_pool_initialized" |e| {
        "pool": e.pool, "network": e.network, "stake_mint": e.stake_mint, "vault": e.vault,
        "treasury": e.treasury, "min_stake_per_device": e.min_stake_per_device,
        "cooldown_secs": e.cooldown_secs, "slash_authority": e.slash_authority,
    }
    Staking staking::PoolUpdated => "staking_pool_updated" |e| {
        "pool": e.pool, "min_stake_per_device": e.min_stake_per_device,
        "cooldown_secs": e.cooldown_secs, "slash_authority": e.slash_authority,
    }
    Staking staking::TreasurySynced => "staking_treasury_synced" |e| {
        "pool": e.pool, "previous": e.previous, "treasury": e.treasury,
    }
    Staking staking::Staked => "staking_staked" |e| {
        "pool": e.pool, "position": e.position, "owner": e.owner, "amount": e.amount,
        "active": e.active,
    }
    Staking staking::DeviceBonded => "staking_device_bonded" |e| {
        "pool": e.pool, "bond": e.bond, "device": e.device, "position": e.position,
        "staker": e.staker, "devices_bonded": e.devices_bonded,
    }
    Staking staking::DeviceUnbonded => "staking_device_unbonded" |e| {
        "pool": e.pool, "bond": e.bond, "device": e.device, "position": e.position,
        "unbonded_by": e.unbonded_by, "devices_bonded": e.devices_bonded,
    }
    Staking staking::UnstakeRequested => "staking_unstake_requested" |e| {
        "pool": e.pool, "position": e.position, "owner": e.owner, "amount": e.amount,
        "pending": e.pending, "unlock_ts": e.unlock_ts,
    }
    Staking staking::Withdrawn => "staking_withdrawn" |e| {
        "pool": e.pool, "position": e.position, "owner": e.owner, "amount": e.amount,
    }
    Staking staking::Slashed => "staking_slashed" |e| {
        "pool": e.pool, "position": e.position, "owner": e.owner,
        "from_active": e.from_active, "from_pending": e.from_pending,
        "evidence_hash": e.evidence_hash,
    }
    Rewards rewards::RewardsInitialized => "rewards_rewards_initialized" |e| {
        "config": e.config, "network": e.network, "reward_mint": e.reward_mint,
        "initial_per_epoch": e.schedule.initial_per_epoch,
        "halving_interval_epochs": e.schedule.halving_interval_epochs,
        "tail_per_epoch": e.schedule.tail_per_epoch,
        "epoch_duration_secs": e.epoch_duration_secs, "genesis_ts": e.genesis_ts,
        "oracles": e.oracles, "quorum": e.quorum,
    }
    Rewards rewards::OraclesSet => "rewards_oracles_set" |e| {
        "config": e.config, "oracles": e.oracles, "quorum": e.quorum,
        "oracle_set_version": e.oracle_set_version,
    }
    Rewards rewards::RootProposed => "rewards_root_proposed" |e| {
        "config": e.config, "epoch": e.epoch, "oracle": e.oracle, "root": e.root,
        "cumulative_total": e.cumulative_total, "votes": e.votes,
        "multipliers_hash": e.multipliers_hash,
    }
    Rewards rewards::RootFinalized => "rewards_root_finalized" |e| {
        "config": e.config, "epoch": e.epoch, "root": e.root,
        "cumulative_total": e.cumulative_total, "multipliers_hash": e.multipliers_hash,
    }
    Rewards rewards::RewardsClaimed => "rewards_rewards_claimed" |e| {
        "config": e.config, "device": e.device, "owner": e.owner, "epoch": e.epoch,
        "amount": e.amount, "total_claimed": e.total_claimed,
    }
    Rewards rewards::ClaimedOpened => "rewards_claimed_opened" |e| {
        "config": e.config, "device": e.device, "claimed": e.claimed,
    }
    Storage storage::MarketInitialized => "storage_market_initialized" |e| {
        "market": e.market, "network": e.network, "payment_mint": e.payment_mint,
        "proving_period_secs": e.proving_period_secs,
        "challenge_window_slots": e.challenge_window_slots,
        "challenges_per_period": e.challenges_per_period,
        "max_consecutive_faults": e.max_consecutive_faults,
        "fault_slash_bps": e.fault_slash_bps, "protocol_fee_bps": e.protocol_fee_bps,
    }
    Storage storage::DealProposed => "storage_deal_proposed" |e| {
        "deal": e.deal, "client": e.client, "deal_id": e.deal_id,
        "provider_device": e.provider_device, "piece_root": e.piece_root,
        "chunk_size": e.chunk_size, "num_chunks": e.num_chunks,
        "price_per_period": e.price_per_period, "periods": e.periods,
        "collateral": e.collateral,
    }
    Storage storage::DealCancelled => "storage_deal_cancelled" |e| {
        "deal": e.deal, "refunded": e.refunded,
    }
    Storage storage::DealAccepted => "storage_deal_accepted" |e| {
        "deal": e.deal, "provider": e.provider, "collateral": e.collateral,
        "start_ts": e.start_ts,
    }
    Storage storage::ChallengeOpened => "storage_challenge_opened" |e| {
        "deal": e.deal, "period": e.period, "challenge_slot": e.slot,
    }
    Storage storage::ProofAccepted => "storage_proof_accepted" |e| {
        "deal": e.deal, "period": e.period, "answered": e.answered, "proven": e.proven,
        "provider_paid": e.provider_paid, "protocol_fee": e.protocol_fee,
    }
    Storage storage::FaultReported => "storage_fault_reported" |e| {
        "deal": e.deal, "period": e.period, "refunded": e.refunded, "slashed": e.slashed,
        "consecutive_faults": e.consecutive_faults,
    }
    Storage storage::DealTerminated => "storage_deal_terminated" |e| {
        "deal": e.deal, "refunded": e.refunded, "slashed_to_treasury": e.slashed_to_treasury,
    }
    Storage storage::DealCompleted => "storage_deal_completed" |e| {
        "deal": e.deal, "collateral_returned": e.collateral_returned,
        "proven_periods": e.proven_periods, "faulted_periods": e.faulted_periods,
    }
    Storage storage::TreasurySynced => "storage_treasury_synced" |e| {
        "market": e.market, "previous": e.previous, "treasury": e.treasury,
    }
    Energy energy::MarketInitialized => "energy_market_initialized" |e| {
        "market": e.market, "network": e.network, "quote_mint": e.quote_mint,
        "interval_secs": e.interval_secs, "gate_closure_secs": e.gate_closure_secs,
        "settlement_delay_secs": e.settlement_delay_secs,
        "max_orders_per_interval": e.max_orders_per_interval,
        "grid_fee_bps": e.grid_fee_bps, "price_floor": e.price_floor, "price_cap": e.price_cap,
    }
    Energy energy::OrderPlaced => "energy_order_placed" |e| {
        "market": e.market, "interval_index": e.interval, "side": e.side,
        "order_slot": e.slot, "device": e.device, "owner": e.owner, "price": e.price,
        "wh": e.wh, "escrow": e.escrow,
    }
    Energy energy::OrderCancelled => "energy_order_cancelled" |e| {
        "market": e.market, "interval_index": e.interval, "side": e.side,
        "order_slot": e.slot, "refunded": e.refunded,
    }
    Energy energy::ReadingSubmitted => "energy_reading_submitted" |e| {
        "market": e.market, "device": e.device, "interval_index": e.interval,
        "produced_wh": e.produced_wh, "consumed_wh": e.consumed_wh, "counter": e.counter,
    }
    Energy energy::IntervalCleared => "energy_interval_cleared" |e| {
        "market": e.market, "interval_index": e.interval,
        "clearing_price": e.clearing_price, "volume_wh": e.volume_wh,
        "ask_matched_wh": e.ask_matched_wh, "bid_matched_wh": e.bid_matched_wh,
    }
    Energy energy::OrderSettled => "energy_order_settled" |e| {
        "market": e.market, "interval_index": e.interval, "side": e.side,
        "order_slot": e.slot, "delivered_wh": e.delivered_wh, "amount": e.amount,
        "fee": e.fee, "refund": e.refund,
    }
    Energy energy::IntervalSettled => "energy_interval_settled" |e| {
        "market": e.market, "interval_index": e.interval, "delivered_wh": e.delivered_wh,
        "rounding": e.rounding,
    }
    Energy energy::IntervalClosed => "energy_interval_closed" |e| {
        "market": e.market, "interval_index": e.interval, "rent_payer": e.rent_payer,
    }
    Energy energy::TreasurySynced => "energy_treasury_synced" |e| {
        "market": e.market, "previous": e.previous, "treasury": e.treasury,
    }
}

/// The current-state rows an event can change, by the key the refresh functions take.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateKey {
    /// `networks`.
    Network(String),
    /// `makers`.
    Maker(String),
    /// `devices`.
    Device(String),
    /// `stake_positions`.
    Position(String),
    /// `device_bonds`.
    Bond(String),
    /// `reward_epochs`: config and epoch (a root event: the row is recomputed).
    Epoch(String, u64),
    /// `reward_epochs`: config and epoch whose claim totals a claim adds to (the sink adds
    /// the batch's claims to the row rather than summing the whole epoch again).
    EpochClaims(String, u64),
    /// `reward_claims`: config and device.
    Claim(String, String),
    /// `deals`.
    Deal(String),
    /// `energy_intervals` and `energy_orders`: market and interval.
    Interval(String, u64),
}

/// The state rows `event` affects.
pub fn state_keys(event: &Event) -> Vec<StateKey> {
    use StateKey::*;
    let s = |k: &Pubkey| k.to_string();
    match event {
        Event::Registry(e) => match e {
            registry::Event::NetworkInitialized(e) => vec![Network(s(&e.network))],
            registry::Event::NetworkUpdated(e) => vec![Network(s(&e.network))],
            registry::Event::AuthorityProposed(e) => vec![Network(s(&e.network))],
            registry::Event::AuthorityAccepted(e) => vec![Network(s(&e.network))],
            registry::Event::MakerRegistered(e) => vec![Maker(s(&e.maker))],
            registry::Event::MakerApprovalSet(e) => vec![Maker(s(&e.maker))],
            registry::Event::DeviceOnboarded(e) => vec![Device(s(&e.device))],
            registry::Event::LocationAsserted(e) => vec![Device(s(&e.device))],
            registry::Event::DeviceTransferred(e) => vec![Device(s(&e.device))],
            registry::Event::DeviceStatusChanged(e) => vec![Device(s(&e.device))],
            // the device's status follows its DeviceStatusChanged, emitted beside it
            registry::Event::AuditorSet(_) | registry::Event::DeviceAudited(_) => vec![],
        },
        Event::Staking(e) => match e {
            staking::Event::PoolInitialized(_)
            | staking::Event::PoolUpdated(_)
            | staking::Event::TreasurySynced(_) => vec![],
            staking::Event::Staked(e) => vec![Position(s(&e.position))],
            staking::Event::DeviceBonded(e) => vec![Position(s(&e.position)), Bond(s(&e.bond))],
            staking::Event::DeviceUnbonded(e) => {
                vec![Position(s(&e.position)), Bond(s(&e.bond))]
            }
            staking::Event::UnstakeRequested(e) => vec![Position(s(&e.position))],
            staking::Event::Withdrawn(e) => vec![Position(s(&e.position))],
            staking::Event::Slashed(e) => vec![Position(s(&e.position))],
        },
        Event::Rewards(e) => match e {
            rewards::Event::RewardsInitialized(_)
            | rewards::Event::OraclesSet(_)
            | rewards::Event::ClaimedOpened(_) => vec![],
            rewards::Event::RootProposed(e) => vec![Epoch(s(&e.config), e.epoch)],
            rewards::Event::RootFinalized(e) => vec![Epoch(s(&e.config), e.epoch)],
            rewards::Event::RewardsClaimed(e) => vec![
                EpochClaims(s(&e.config), e.epoch),
                Claim(s(&e.config), s(&e.device)),
            ],
        },
        Event::Storage(e) => match e {
            storage::Event::MarketInitialized(_) | storage::Event::TreasurySynced(_) => vec![],
            storage::Event::DealProposed(e) => vec![Deal(s(&e.deal))],
            storage::Event::DealCancelled(e) => vec![Deal(s(&e.deal))],
            storage::Event::DealAccepted(e) => vec![Deal(s(&e.deal))],
            storage::Event::ChallengeOpened(e) => vec![Deal(s(&e.deal))],
            storage::Event::ProofAccepted(e) => vec![Deal(s(&e.deal))],
            storage::Event::FaultReported(e) => vec![Deal(s(&e.deal))],
            storage::Event::DealTerminated(e) => vec![Deal(s(&e.deal))],
            storage::Event::DealCompleted(e) => vec![Deal(s(&e.deal))],
        },
        Event::Energy(e) => match e {
            energy::Event::MarketInitialized(_)
            | energy::Event::ReadingSubmitted(_)
            | energy::Event::TreasurySynced(_) => vec![],
            energy::Event::OrderPlaced(e) => vec![Interval(s(&e.market), e.interval)],
            energy::Event::OrderCancelled(e) => vec![Interval(s(&e.market), e.interval)],
            energy::Event::IntervalCleared(e) => vec![Interval(s(&e.market), e.interval)],
            energy::Event::OrderSettled(e) => vec![Interval(s(&e.market), e.interval)],
            energy::Event::IntervalSettled(e) => vec![Interval(s(&e.market), e.interval)],
            energy::Event::IntervalClosed(e) => vec![Interval(s(&e.market), e.interval)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_named_once() {
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
        assert_eq!(TABLES.len(), 46);
    }

    #[test]
    fn numeric_encoding_matches_postgres_layout() {
        let encode = |n: u64| {
            let mut out = BytesMut::new();
            Numeric(n)
                .to_sql(&Type::NUMERIC, &mut out)
                .expect("encodes");
            out.to_vec()
        };
        assert_eq!(encode(0), vec![0, 0, 0, 0, 0, 0, 0, 0]);
        // 12345678 = 1234 * 10^4 + 5678: two digits, weight 1
        assert_eq!(
            encode(12_345_678),
            vec![0, 2, 0, 1, 0, 0, 0, 0, 4, 210, 22, 46]
        );
    }
}
