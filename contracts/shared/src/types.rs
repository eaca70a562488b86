//! Values exchanged between the contracts.

use ink::primitives::AccountId;

/// A device's identifier: the SHA-256 of its compressed public key (see
/// [`crate::host::device_id`]), so a device key registers once.
pub type DeviceId = [u8; 32];

/// A device's secp256k1 public key, SEC1-compressed: the key its secure element holds and
/// signs meter readings with.
pub type DeviceKey = [u8; 33];

/// A recoverable secp256k1 signature: `r || s || v` with `v` in `{0, 1, 27, 28}`.
pub type Signature = [u8; 65];

/// The kind of physical infrastructure a network's devices provide.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum NetworkKind {
    /// Hotspots and small cells.
    Wireless,
    /// Storage nodes.
    Storage,
    /// Edge compute nodes.
    Compute,
    /// Smart meters of producers, consumers and batteries.
    Energy,
}

/// Lifecycle of a device. Who may move a device between these is
/// [`depin_core::status`]'s rule, the same on both chains; new variants are only ever
/// appended, so the SCALE index of a stored status never changes.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum DeviceStatus {
    /// Serving and eligible for rewards.
    Active,
    /// Held by the network authority; may be reactivated.
    Suspended,
    /// Retired by its owner. Final.
    Decommissioned,
    /// Held by the network's auditor (`audit_device`), which may reinstate it; the
    /// authority may reinstate it too, or take the suspension over (`Suspended`).
    SuspendedByAuditor,
}

impl DeviceStatus {
    /// True while the device may serve and earn: only `Active`. Both kinds of suspension
    /// (the authority's and the auditor's) stop claims, bonds, deals and trades alike.
    pub fn is_active(self) -> bool {
        depin_core::status::DeviceStatus::from(self).is_active()
    }
}

impl From<DeviceStatus> for depin_core::status::DeviceStatus {
    fn from(status: DeviceStatus) -> Self {
        match status {
            DeviceStatus::Active => Self::Active,
            DeviceStatus::Suspended => Self::Suspended,
            DeviceStatus::Decommissioned => Self::Decommissioned,
            DeviceStatus::SuspendedByAuditor => Self::SuspendedByAuditor,
        }
    }
}

impl From<depin_core::status::DeviceStatus> for DeviceStatus {
    fn from(status: depin_core::status::DeviceStatus) -> Self {
        use depin_core::status::DeviceStatus as Core;
        match status {
            Core::Active => Self::Active,
            Core::Suspended => Self::Suspended,
            Core::Decommissioned => Self::Decommissioned,
            Core::SuspendedByAuditor => Self::SuspendedByAuditor,
        }
    }
}

/// What a device can do; each network kind reads the fields that apply to it.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Capabilities {
    /// Wireless: bitmask of supported radio bands.
    pub radio_bands: u32,
    /// Storage: capacity in GiB.
    pub capacity_gib: u64,
    /// Energy: peak panel output in watts.
    pub panel_watts: u32,
    /// Energy: battery capacity in watt-hours.
    pub battery_wh: u32,
}

/// What other contracts need to know about the registry's network.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkInfo {
    /// Governs fees, makers, pause and device suspension; also creates the other modules.
    pub authority: AccountId,
    /// Receives fees and slashed value.
    pub treasury: AccountId,
    /// What the network's devices do.
    pub kind: NetworkKind,
    /// While true, state changes other than withdrawals of users' own funds are refused.
    pub paused: bool,
    /// Unix time (seconds) the network last resumed from a pause, 0 if it never was
    /// paused: a module that gives users a window to act in (the energy market's meter
    /// readings) counts it again from here, so a pause that refuses them cannot run it out.
    pub resumed_at: i64,
    /// May suspend active devices and reinstate the ones it suspended (`audit_device`);
    /// `None` while the network has no auditor.
    pub auditor: Option<AccountId>,
}

/// What other contracts need to know about one device.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device's public key (signs readings).
    pub device_key: DeviceKey,
    /// Operator wallet that owns the device and receives its rewards.
    pub owner: AccountId,
    /// Network-defined device class.
    pub class: u8,
    /// Current lifecycle status.
    pub status: DeviceStatus,
    /// What the device can do, as its maker registered at issuance (the energy market
    /// bounds an ask by the panel and battery: `depin_core::energy::ask_capacity_wh`).
    pub capabilities: Capabilities,
}

impl DeviceInfo {
    /// True while the device may serve and earn: `Active` only, so a device suspended by
    /// the authority or by the auditor is refused by every contract that asks.
    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }
}

/// What the rewards contract needs to know about a device's bond.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BondInfo {
    /// Whose stake backs the device.
    pub staker: AccountId,
    /// That staker's active stake.
    pub active: u64,
    /// Devices that stake backs.
    pub devices_bonded: u32,
    /// Active stake the pool requires per bonded device.
    pub min_stake_per_device: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Active,
        DeviceStatus::Suspended,
        DeviceStatus::Decommissioned,
        DeviceStatus::SuspendedByAuditor,
    ];

    #[test]
    fn statuses_round_trip_through_the_core_rule() {
        for status in ALL {
            let core: depin_core::status::DeviceStatus = status.into();
            assert_eq!(DeviceStatus::from(core), status);
        }
    }

    #[test]
    fn both_suspensions_make_a_device_inactive_for_every_reader() {
        for status in ALL {
            let info = DeviceInfo {
                device_key: [2; 33],
                owner: AccountId::from([4; 32]),
                class: 1,
                status,
                capabilities: Capabilities::default(),
            };
            assert_eq!(
                info.is_active(),
                status == DeviceStatus::Active,
                "{status:?}"
            );
        }
    }

    #[test]
    fn stored_statuses_keep_their_scale_index() {
        use ink::scale::Encode;
        let indexes: Vec<u8> = ALL.iter().map(|s| s.encode()[0]).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);
    }
}
