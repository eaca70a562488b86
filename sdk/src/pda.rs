//! Program-derived addresses of every account, from the seeds the programs use.
//!
//! Each function returns `(address, bump)`.

use anchor_lang::prelude::Pubkey;
use device_registry::state::{Device, Maker, Network};
use energy_settlement::state::{EnergyMarket, Interval, Meter, MeterReading};
use rewards::state::{Claimed, EpochRoot, RewardsConfig};
use staking::state::{DeviceBond, StakePool, StakePosition};
use storage_escrow::state::{Deal, StorageMarket};

/// `Network`: `["network", network_id le]` in the registry.
pub fn network(network_id: u32) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Network::SEED, &network_id.to_le_bytes()],
        &device_registry::ID,
    )
}

/// `Maker`: `["maker", network, maker_authority]` in the registry.
pub fn maker(network: &Pubkey, maker_authority: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Maker::SEED, network.as_ref(), maker_authority.as_ref()],
        &device_registry::ID,
    )
}

/// `Device`: `["device", network, device_key]` in the registry.
pub fn device(network: &Pubkey, device_key: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Device::SEED, network.as_ref(), device_key.as_ref()],
        &device_registry::ID,
    )
}

/// `StakePool`: `["stake_pool", network]` in staking.
pub fn stake_pool(network: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[StakePool::SEED, network.as_ref()], &staking::ID)
}

/// The pool's vault token account: `["vault", pool]` in staking.
pub fn stake_vault(pool: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[StakePool::VAULT_SEED, pool.as_ref()], &staking::ID)
}

/// `StakePosition`: `["stake", pool, owner]` in staking.
pub fn stake_position(pool: &Pubkey, owner: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[StakePosition::SEED, pool.as_ref(), owner.as_ref()],
        &staking::ID,
    )
}

/// `DeviceBond`: `["bond", pool, device]` in staking.
pub fn device_bond(pool: &Pubkey, device: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[DeviceBond::SEED, pool.as_ref(), device.as_ref()],
        &staking::ID,
    )
}

/// The event-CPI authority of a program: `["__event_authority"]`.
pub fn event_authority(program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[b"__event_authority"], program_id)
}

/// `RewardsConfig`: `["rewards", network]` in rewards. Also the reward mint's authority.
pub fn rewards_config(network: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[RewardsConfig::SEED, network.as_ref()], &rewards::ID)
}

/// `EpochRoot`: `["epoch", config, epoch le]` in rewards.
pub fn epoch_root(config: &Pubkey, epoch: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[EpochRoot::SEED, config.as_ref(), &epoch.to_le_bytes()],
        &rewards::ID,
    )
}

/// `Claimed`: `["claimed", config, device]` in rewards.
pub fn claimed(config: &Pubkey, device: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Claimed::SEED, config.as_ref(), device.as_ref()],
        &rewards::ID,
    )
}

/// `EnergyMarket`: `["energy", network]` in energy settlement.
pub fn energy_market(network: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[EnergyMarket::SEED, network.as_ref()],
        &energy_settlement::ID,
    )
}

/// The energy market's escrow vault: `["energy_vault", market]`.
pub fn energy_vault(market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[EnergyMarket::VAULT_SEED, market.as_ref()],
        &energy_settlement::ID,
    )
}

/// `Interval`: `["interval", market, index le]`.
pub fn interval(market: &Pubkey, index: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Interval::SEED, market.as_ref(), &index.to_le_bytes()],
        &energy_settlement::ID,
    )
}

/// `Meter`: `["meter", market, device]`.
pub fn meter(market: &Pubkey, device: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Meter::SEED, market.as_ref(), device.as_ref()],
        &energy_settlement::ID,
    )
}

/// `MeterReading`: `["reading", device, interval le]`.
pub fn meter_reading(device: &Pubkey, interval: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[MeterReading::SEED, device.as_ref(), &interval.to_le_bytes()],
        &energy_settlement::ID,
    )
}

/// `StorageMarket`: `["market", network]` in storage escrow.
pub fn storage_market(network: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[StorageMarket::SEED, network.as_ref()],
        &storage_escrow::ID,
    )
}

/// The storage market's vault: `["storage_vault", market]`.
pub fn storage_vault(market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[StorageMarket::VAULT_SEED, market.as_ref()],
        &storage_escrow::ID,
    )
}

/// `DealCounter`: `["deal_counter", client]`.
pub fn deal_counter(client: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[storage_escrow::state::DealCounter::SEED, client.as_ref()],
        &storage_escrow::ID,
    )
}

/// `Deal`: `["deal", client, deal_id le]`.
pub fn deal(client: &Pubkey, deal_id: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[Deal::SEED, client.as_ref(), &deal_id.to_le_bytes()],
        &storage_escrow::ID,
    )
}
