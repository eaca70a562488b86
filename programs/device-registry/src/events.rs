//! Events of the device registry, emitted with `emit_cpi!` so they survive log truncation.

use anchor_lang::prelude::*;

use crate::state::{Capabilities, DeviceStatus, NetworkKind};

/// A network was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInitialized {
    /// The `Network` account.
    pub network: Pubkey,
    /// Its identifier.
    pub network_id: u32,
    /// Its authority.
    pub authority: Pubkey,
    /// Its kind.
    pub kind: NetworkKind,
    /// Reward mint.
    pub reward_mint: Pubkey,
    /// Fee mint.
    pub fee_mint: Pubkey,
    /// Treasury token account.
    pub treasury: Pubkey,
    /// Onboarding fee.
    pub onboarding_fee: u64,
    /// Location fee.
    pub location_fee: u64,
}

/// A network's settings changed; carries the values now in force.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkUpdated {
    /// The `Network` account.
    pub network: Pubkey,
    /// Treasury token account.
    pub treasury: Pubkey,
    /// Onboarding fee.
    pub onboarding_fee: u64,
    /// Location fee.
    pub location_fee: u64,
    /// Pause flag.
    pub paused: bool,
}

/// The authority named a successor.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityProposed {
    /// The `Network` account.
    pub network: Pubkey,
    /// Current authority.
    pub authority: Pubkey,
    /// Proposed successor.
    pub pending_authority: Pubkey,
}

/// The successor accepted: it is now the authority.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityAccepted {
    /// The `Network` account.
    pub network: Pubkey,
    /// Previous authority.
    pub previous_authority: Pubkey,
    /// New authority.
    pub authority: Pubkey,
}

/// A maker was registered (unapproved).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakerRegistered {
    /// The `Network` account.
    pub network: Pubkey,
    /// The `Maker` account.
    pub maker: Pubkey,
    /// The maker's issuing key.
    pub maker_authority: Pubkey,
    /// Display name.
    pub name: String,
    /// Device quota.
    pub device_quota: u32,
}

/// A maker's approval or quota changed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakerApprovalSet {
    /// The `Network` account.
    pub network: Pubkey,
    /// The `Maker` account.
    pub maker: Pubkey,
    /// Approval now in force.
    pub approved: bool,
    /// Quota now in force.
    pub device_quota: u32,
}

/// A device was onboarded.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOnboarded {
    /// The `Network` account.
    pub network: Pubkey,
    /// The `Device` account.
    pub device: Pubkey,
    /// The device's key.
    pub device_key: Pubkey,
    /// Its owner.
    pub owner: Pubkey,
    /// The `Maker` account that issued it.
    pub maker: Pubkey,
    /// Device class.
    pub class: u8,
    /// Capabilities.
    pub capabilities: Capabilities,
    /// Initial location, if asserted at onboarding.
    pub location: Option<u64>,
    /// Fee paid into the treasury.
    pub fee_paid: u64,
    /// Unix time.
    pub timestamp: i64,
}

/// A device's location was asserted.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationAsserted {
    /// The `Device` account.
    pub device: Pubkey,
    /// Owner who asserted it.
    pub owner: Pubkey,
    /// Previous location.
    pub previous_location: Option<u64>,
    /// New H3 cell.
    pub location: u64,
    /// Fee paid into the treasury.
    pub fee_paid: u64,
    /// Unix time.
    pub timestamp: i64,
}

/// A device changed hands.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTransferred {
    /// The `Device` account.
    pub device: Pubkey,
    /// Previous owner.
    pub previous_owner: Pubkey,
    /// New owner.
    pub new_owner: Pubkey,
}

/// A device's status changed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatusChanged {
    /// The `Device` account.
    pub device: Pubkey,
    /// Key that made the change (network authority or owner).
    pub changed_by: Pubkey,
    /// Previous status.
    pub previous_status: DeviceStatus,
    /// New status.
    pub status: DeviceStatus,
    /// Unix time of the change (the cluster's clock): from when a reinstated device is
    /// expected to report again.
    pub timestamp: i64,
}

/// The network's auditor was set, rotated or removed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditorSet {
    /// The `Network` account.
    pub network: Pubkey,
    /// The auditor before.
    pub previous: Option<Pubkey>,
    /// The auditor now (`None`: no auditor).
    pub auditor: Option<Pubkey>,
}

/// The auditor suspended or reinstated a device; `evidence` is the hash of what it based
/// the action on (its scores and their inputs), kept off chain for review.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAudited {
    /// The `Device` account.
    pub device: Pubkey,
    /// Its network.
    pub network: Pubkey,
    /// The auditor that acted.
    pub auditor: Pubkey,
    /// Previous status.
    pub previous_status: DeviceStatus,
    /// New status.
    pub status: DeviceStatus,
    /// Hash of the evidence.
    pub evidence: [u8; 32],
}
