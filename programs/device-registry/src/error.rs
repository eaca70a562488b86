//! Errors of the device registry. Anchor numbers them from 6000 in declaration order, so new
//! variants are only ever appended.

use anchor_lang::prelude::*;

/// Every way a registry instruction can refuse its input.
#[error_code]
pub enum RegistryError {
    /// Returned if the network is paused and the instruction changes state.
    #[msg("The network is paused")]
    NetworkPaused,
    /// Returned if the signer is not the network's authority.
    #[msg("Signer is not the network authority")]
    NotNetworkAuthority,
    /// Returned if `accept_authority` is signed by a key other than the proposed one, or no
    /// rotation is pending.
    #[msg("Signer is not the pending authority")]
    NotPendingAuthority,
    /// Returned if a maker name is empty or longer than 32 bytes.
    #[msg("Maker name must be 1 to 32 bytes")]
    InvalidMakerName,
    /// Returned if an unapproved maker tries to onboard a device.
    #[msg("Maker is not approved")]
    MakerNotApproved,
    /// Returned if the maker has already onboarded `device_quota` devices.
    #[msg("Maker device quota exceeded")]
    MakerQuotaExceeded,
    /// Returned if the signing issuing key is not the maker's authority.
    #[msg("Signer is not the maker authority")]
    NotMakerAuthority,
    /// Returned if a location is not a well-formed H3 cell index.
    #[msg("Location is not a valid H3 cell index")]
    InvalidLocation,
    /// Returned if the signer is not the device's owner.
    #[msg("Signer is not the device owner")]
    NotDeviceOwner,
    /// Returned if the device is decommissioned: that status is final.
    #[msg("Device is decommissioned")]
    DeviceDecommissioned,
    /// Returned if the device must be active and is not.
    #[msg("Device is not active")]
    DeviceNotActive,
    /// Returned if the requested status change is not allowed for the signer or the current
    /// status (e.g. the authority decommissioning, the owner reactivating, a no-op change).
    #[msg("Status transition not allowed")]
    InvalidStatusTransition,
    /// Returned if the signer is neither the network authority nor the device owner.
    #[msg("Signer may not change this device's status")]
    StatusChangeUnauthorized,
    /// Returned if a token account has the wrong mint for its role.
    #[msg("Token account mint does not match the network's fee mint")]
    WrongFeeMint,
    /// Returned if a device is transferred to its current owner or to the default key.
    #[msg("Invalid new owner")]
    InvalidNewOwner,
    /// Returned if a proposed authority is the default key.
    #[msg("Invalid authority")]
    InvalidAuthority,
    /// Returned if a counter would overflow.
    #[msg("Arithmetic overflow")]
    MathOverflow,
    /// Returned if the device key is already onboarded in this network.
    #[msg("Device already onboarded")]
    DeviceAlreadyOnboarded,
    /// Returned if a network with this id already exists.
    #[msg("Network id already taken")]
    NetworkIdTaken,
    /// Returned if the maker authority is already registered in this network.
    #[msg("Maker already registered")]
    MakerAlreadyRegistered,
    /// Returned if a device key is the maker's issuing key: the device's own signature must
    /// come from a third key.
    #[msg("The device key is the maker's issuing key")]
    DeviceKeyIsMakerKey,
    /// Returned if a device key is (or would become) its owner's wallet: an owner must not
    /// be able to sign as its device.
    #[msg("The device key is the owner's key")]
    DeviceKeyIsOwner,
    /// Returned if `audit_device` is signed by a key that is not the network's auditor (or
    /// the network has none).
    #[msg("Not the network's auditor")]
    NotNetworkAuditor,
    /// Returned if an audit action carries no evidence (an all-zero hash).
    #[msg("An audit action needs an evidence hash")]
    MissingEvidence,
}

impl From<depin_core::CoreError> for RegistryError {
    /// The refusals of [`depin_core::status`] keep the registry's own codes; the status
    /// rule returns nothing else, so any other core error reads as a refused transition.
    fn from(e: depin_core::CoreError) -> Self {
        use depin_core::CoreError;
        match e {
            CoreError::DeviceDecommissioned => RegistryError::DeviceDecommissioned,
            CoreError::StatusChangeUnauthorized => RegistryError::StatusChangeUnauthorized,
            CoreError::NetworkPaused => RegistryError::NetworkPaused,
            CoreError::MissingEvidence => RegistryError::MissingEvidence,
            CoreError::InvalidH3Index => RegistryError::InvalidLocation,
            CoreError::MathOverflow => RegistryError::MathOverflow,
            _ => RegistryError::InvalidStatusTransition,
        }
    }
}
