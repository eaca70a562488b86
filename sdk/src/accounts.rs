//! Decoding of every account of the suite's programs.
//!
//! [`decode`] checks the 8-byte Anchor discriminator before deserializing, so bytes of one
//! account type are never mistaken for another.

use anchor_lang::{AccountDeserialize, Discriminator};

pub use device_registry::state::{Capabilities, Device, DeviceStatus, Maker, Network, NetworkKind};
pub use energy_settlement::state::{AskSlot, BidSlot, EnergyMarket, Interval, Meter, MeterReading};
pub use rewards::state::{Claimed, EpochRoot, Proposal, RewardsConfig, Schedule};
pub use staking::state::{DeviceBond, StakePool, StakePosition};
pub use storage_escrow::state::{Deal, DealState, PeriodRecord, StorageMarket};

use crate::error::SdkError;

/// Decodes account data of type `T` (discriminator checked).
pub fn decode<T: AccountDeserialize + Discriminator>(data: &[u8]) -> Result<T, SdkError> {
    let mut bytes = data;
    T::try_deserialize(&mut bytes).map_err(|e| SdkError::AccountDecode {
        expected: short_type_name::<T>(),
        reason: e.to_string(),
    })
}

pub(crate) fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Any account of the registry or staking programs, recognised by its discriminator.
#[derive(Debug)]
pub enum SuiteAccount {
    /// A registry `Network`.
    Network(Network),
    /// A registry `Maker`.
    Maker(Maker),
    /// A registry `Device`.
    Device(Device),
    /// A staking `StakePool`.
    StakePool(StakePool),
    /// A staking `StakePosition`.
    StakePosition(StakePosition),
    /// A staking `DeviceBond`.
    DeviceBond(DeviceBond),
    /// A rewards `RewardsConfig`.
    RewardsConfig(Box<RewardsConfig>),
    /// A rewards `EpochRoot`.
    EpochRoot(Box<EpochRoot>),
    /// A rewards `Claimed`.
    Claimed(Claimed),
    /// A storage `StorageMarket`.
    StorageMarket(StorageMarket),
    /// A storage `Deal`.
    Deal(Box<Deal>),
    /// An energy `EnergyMarket`.
    EnergyMarket(EnergyMarket),
    /// An energy `Interval` (zero-copy book).
    Interval(Box<Interval>),
    /// An energy `Meter`.
    Meter(Meter),
    /// An energy `MeterReading`.
    MeterReading(MeterReading),
}

/// Decodes any account of the suite by looking at its discriminator.
pub fn decode_any(data: &[u8]) -> Result<SuiteAccount, SdkError> {
    let disc = data.get(..8).ok_or(SdkError::AccountDecode {
        expected: "suite account",
        reason: "shorter than a discriminator".into(),
    })?;
    Ok(match disc {
        d if d == Network::DISCRIMINATOR => SuiteAccount::Network(decode(data)?),
        d if d == Maker::DISCRIMINATOR => SuiteAccount::Maker(decode(data)?),
        d if d == Device::DISCRIMINATOR => SuiteAccount::Device(decode(data)?),
        d if d == StakePool::DISCRIMINATOR => SuiteAccount::StakePool(decode(data)?),
        d if d == StakePosition::DISCRIMINATOR => SuiteAccount::StakePosition(decode(data)?),
        d if d == DeviceBond::DISCRIMINATOR => SuiteAccount::DeviceBond(decode(data)?),
        d if d == RewardsConfig::DISCRIMINATOR => {
            SuiteAccount::RewardsConfig(Box::new(decode(data)?))
        }
        d if d == EpochRoot::DISCRIMINATOR => SuiteAccount::EpochRoot(Box::new(decode(data)?)),
        d if d == Claimed::DISCRIMINATOR => SuiteAccount::Claimed(decode(data)?),
        d if d == StorageMarket::DISCRIMINATOR => SuiteAccount::StorageMarket(decode(data)?),
        d if d == Deal::DISCRIMINATOR => SuiteAccount::Deal(Box::new(decode(data)?)),
        d if d == EnergyMarket::DISCRIMINATOR => SuiteAccount::EnergyMarket(decode(data)?),
        d if d == Interval::DISCRIMINATOR => {
            SuiteAccount::Interval(Box::new(decode_interval(data)?))
        }
        d if d == Meter::DISCRIMINATOR => SuiteAccount::Meter(decode(data)?),
        d if d == MeterReading::DISCRIMINATOR => SuiteAccount::MeterReading(decode(data)?),
        _ => {
            return Err(SdkError::AccountDecode {
                expected: "suite account",
                reason: "unknown discriminator".into(),
            })
        }
    })
}

/// Decodes a zero-copy `Interval` (discriminator and length checked; copied out, so the
/// input needs no particular alignment).
pub fn decode_interval(data: &[u8]) -> Result<Interval, SdkError> {
    let error = |reason: &str| SdkError::AccountDecode {
        expected: "Interval",
        reason: reason.into(),
    };
    let (disc, body) = data.split_at_checked(8).ok_or_else(|| error("too short"))?;
    if disc != Interval::DISCRIMINATOR {
        return Err(error("wrong discriminator"));
    }
    let body = body
        .get(..std::mem::size_of::<Interval>())
        .ok_or_else(|| error("too short"))?;
    Ok(bytemuck::pod_read_unaligned(body))
}
