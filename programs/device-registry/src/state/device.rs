use anchor_lang::prelude::*;

/// Lifecycle of a device.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum DeviceStatus {
    /// Serving and eligible for rewards.
    Active,
    /// Held by the network authority (e.g. under investigation); may be reactivated.
    Suspended,
    /// Retired by its owner. Final.
    Decommissioned,
    /// Held by the network's auditor (`audit_device`), which may reinstate it; the authority
    /// may reinstate it too, or take the suspension over (`Suspended`).
    SuspendedByAuditor,
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

/// What a device can do. Each network kind reads the fields that apply to it and leaves the
/// others zero.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct Capabilities {
    /// Wireless: bitmask of supported radio bands (network-defined).
    pub radio_bands: u32,
    /// Storage: capacity in GiB.
    pub capacity_gib: u64,
    /// Energy: peak panel output in watts.
    pub panel_watts: u32,
    /// Energy: battery capacity in watt-hours.
    pub battery_wh: u32,
}

/// One physical device. Seeds: `["device", network, device_key]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Device {
    /// The network the device belongs to.
    pub network: Pubkey,
    /// Ed25519 public key held in the device's secure element; it signs readings and proofs.
    pub device_key: Pubkey,
    /// Operator wallet that owns the device and receives its rewards.
    pub owner: Pubkey,
    /// The `Maker` account that issued the device.
    pub maker: Pubkey,
    /// Network-defined device class (e.g. indoor / outdoor hotspot, meter model).
    pub class: u8,
    /// What the device can do.
    pub capabilities: Capabilities,
    /// H3 cell index of the device, `None` until first asserted.
    pub location: Option<u64>,
    /// Current lifecycle status.
    pub status: DeviceStatus,
    /// Unix time of onboarding.
    pub onboarded_at: i64,
    /// Unix time of the last location assertion (0 if never asserted).
    pub location_changed_at: i64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl Device {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"device";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// True while the device may serve and earn.
    pub fn is_active(&self) -> bool {
        self.status == DeviceStatus::Active
    }
}
