//! # Device registry (ink!)
//!
//! The root of trust of one DePIN network: the network's settings, the hardware vendors
//! (makers) that may issue devices into it, and the devices, who owns them, where they are
//! and whether they may earn. One contract instance is one network (the Solana program's
//! `Network` account); its address is the network id other contracts store.
//!
//! Devices are keyed by [`DeviceId`] = `sha256(device_key)`. Onboarding keeps the three
//! parties of the Solana instruction: the maker's issuing account calls `issue_device`
//! (vouching for the hardware, within its quota), then the owner calls `onboard_device`
//! with the device key's signature over the owner's address (the secure element proves it
//! holds the key) and pays the onboarding fee.
//!
//! The three parties are three different keys. A secp256k1 device key controls the
//! Substrate account `blake2_256(device_key)` ([`depin_ink_shared::host::key_account`]),
//! so a device whose key's account is its maker's issuing account (`DeviceKeyIsMakerKey`)
//! or its owner (`DeviceKeyIsOwner`) is refused: one signature must never stand in for
//! two. Nor is a device ever transferred to the account its own key controls.
//!
//! Device statuses follow [`depin_core::status`], the rule the Solana program applies too:
//! the authority suspends and reactivates, the owner decommissions (final), and the
//! network's auditor (named by the authority with `set_auditor`) suspends active devices
//! and reinstates the ones it suspended, each action with an evidence hash
//! (`audit_device`). An auditor's suspension is its own status, `SuspendedByAuditor`, so
//! the auditor never lifts the authority's suspension while the authority may reverse or
//! take over the auditor's. Either suspension makes a device inactive for every other
//! contract.
//!
//! Other contracts read the network and devices through [`RegistryReader`], implemented
//! here for the generated [`device_registry::DeviceRegistryRef`].

#![cfg_attr(not(feature = "std"), no_std, no_main)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use depin_ink_shared::cross::RegistryReader;
pub use depin_ink_shared::{
    Capabilities, DeviceId, DeviceInfo, DeviceKey, DeviceStatus, NetworkInfo, NetworkKind,
    Signature,
};

/// Domain prefix of the device key's onboarding signature:
/// `"depin-onboard-v1" || registry || device_key || owner`.
pub const ONBOARD_DOMAIN: &[u8] = b"depin-onboard-v1";

/// Domain prefix of the device key's issuance signature:
/// `"depin-issue-v1" || registry || device_key || maker`.
pub const ISSUE_DOMAIN: &[u8] = b"depin-issue-v1";

/// Longest maker name, in bytes.
pub const MAX_MAKER_NAME_LEN: usize = 32;

#[ink::contract]
pub mod device_registry {
    use super::*;
    use depin_core::status::{self, Caller};
    use depin_core::CoreError;
    use depin_ink_shared::host;
    use ink::prelude::string::String;
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;

    /// A hardware vendor allowed to issue devices into the network.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Maker {
        /// Display name, 1 to 32 bytes of UTF-8.
        pub name: String,
        /// Only approved makers may issue devices.
        pub approved: bool,
        /// Most devices this maker may ever issue.
        pub device_quota: u32,
        /// Devices this maker has issued so far.
        pub devices_issued: u32,
    }

    /// A device the maker vouched for and that no owner has onboarded yet.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Issuance {
        /// The issuing maker.
        pub maker: AccountId,
        /// Network-defined device class.
        pub class: u8,
        /// What the device can do.
        pub capabilities: Capabilities,
    }

    /// One physical device.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Device {
        /// secp256k1 key held in the device's secure element; it signs readings and proofs.
        pub device_key: DeviceKey,
        /// Operator wallet that owns the device and receives its rewards.
        pub owner: AccountId,
        /// The maker that issued the device.
        pub maker: AccountId,
        /// Network-defined device class.
        pub class: u8,
        /// What the device can do.
        pub capabilities: Capabilities,
        /// H3 cell index, `None` until first asserted.
        pub location: Option<u64>,
        /// Current lifecycle status.
        pub status: DeviceStatus,
        /// Unix time of onboarding.
        pub onboarded_at: i64,
        /// Unix time of the last location assertion (0 if never asserted).
        pub location_changed_at: i64,
    }

    /// The network's settings and counters, plus every maker and device.
    #[ink(storage)]
    pub struct DeviceRegistry {
        /// Governs fees, makers, pause and device suspension.
        authority: AccountId,
        /// Successor named by `propose_authority`, until it accepts.
        pending_authority: Option<AccountId>,
        /// What the network's devices do.
        kind: NetworkKind,
        /// Receives fees (and, in other modules, slashed value).
        treasury: AccountId,
        /// Fee, in native base units, charged by `onboard_device`.
        onboarding_fee: u64,
        /// Fee, in native base units, charged by `assert_location`.
        location_fee: u64,
        /// Devices ever onboarded (decommissioned ones included).
        device_count: u64,
        /// Makers ever registered.
        maker_count: u32,
        /// While true, every state change except the authority's housekeeping is refused.
        paused: bool,
        /// Unix time (seconds) the network last resumed from a pause, 0 if never paused.
        resumed_at: i64,
        /// Makers by their issuing account.
        makers: Mapping<AccountId, Maker>,
        /// Issued devices waiting for their owner, by device id.
        issued: Mapping<DeviceId, Issuance>,
        /// Onboarded devices by device id.
        devices: Mapping<DeviceId, Device>,
        /// May suspend active devices and reinstate the ones it suspended
        /// (`audit_device`); `None` while the network has no auditor. Named, rotated and
        /// removed by the authority (`set_auditor`).
        auditor: Option<AccountId>,
    }

    /// Every way a registry message can refuse its input.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Error {
        /// Returned if the network is paused and the message changes state.
        NetworkPaused,
        /// Returned if the caller is not the network's authority.
        NotNetworkAuthority,
        /// Returned if `accept_authority` comes from an account other than the proposed
        /// one, or no rotation is pending.
        NotPendingAuthority,
        /// Returned if a maker name is empty or longer than 32 bytes.
        InvalidMakerName,
        /// Returned if the maker account is not registered.
        MakerNotFound,
        /// Returned if the maker account is already registered.
        MakerAlreadyRegistered,
        /// Returned if an unapproved maker tries to issue a device, or an owner to onboard
        /// a device whose maker has been revoked since it issued the device.
        MakerNotApproved,
        /// Returned if the maker has already issued `device_quota` devices.
        MakerQuotaExceeded,
        /// Returned if a location is not a well-formed H3 cell index.
        InvalidLocation,
        /// Returned if the device key is already onboarded, or issued by a maker that is
        /// still approved.
        DeviceAlreadyOnboarded,
        /// Returned if an owner onboards a device no maker issued.
        DeviceNotIssued,
        /// Returned if the issuance or onboarding signature is not the device key's over
        /// the caller.
        InvalidDeviceSignature,
        /// Returned if the value sent is not exactly the fee due.
        WrongFee,
        /// Returned if the device is not registered.
        DeviceNotFound,
        /// Returned if the caller is not the device's owner.
        NotDeviceOwner,
        /// Returned if the device is decommissioned: that status is final.
        DeviceDecommissioned,
        /// Returned if the device must be active and is not.
        DeviceNotActive,
        /// Returned if the status change is not allowed for the caller or the current
        /// status (the authority decommissioning, the owner reactivating, a no-op change).
        InvalidStatusTransition,
        /// Returned if the caller is neither the network authority nor the device owner.
        StatusChangeUnauthorized,
        /// Returned if a device is transferred to its owner or to the zero account.
        InvalidNewOwner,
        /// Returned if a proposed authority or treasury is the zero account.
        InvalidAuthority,
        /// Returned if a counter would overflow.
        MathOverflow,
        /// Returned if paying the fee to the treasury fails.
        TransferFailed,
        /// Returned if `issue_device` names a device key whose account
        /// (`blake2_256(device_key)`) is the issuing maker's own account: the maker's
        /// signature would stand in for the device's.
        DeviceKeyIsMakerKey,
        /// Returned if a device would be owned by the account its own device key controls
        /// (`blake2_256(device_key)`), at onboarding or by a transfer: the device's
        /// signature would stand in for the owner's.
        DeviceKeyIsOwner,
        /// Returned if `audit_device` comes from an account that is not the network's
        /// auditor (or the network has none).
        NotNetworkAuditor,
        /// Returned if an audit action carries no evidence (an all-zero hash).
        MissingEvidence,
    }

    impl From<CoreError> for Error {
        /// The refusals of [`depin_core::status`] under the registry's own names; the
        /// status rule returns nothing else, so any other core error reads as a refused
        /// transition.
        fn from(e: CoreError) -> Self {
            match e {
                CoreError::DeviceDecommissioned => Error::DeviceDecommissioned,
                CoreError::StatusChangeUnauthorized => Error::StatusChangeUnauthorized,
                CoreError::NetworkPaused => Error::NetworkPaused,
                CoreError::MissingEvidence => Error::MissingEvidence,
                CoreError::InvalidH3Index => Error::InvalidLocation,
                CoreError::MathOverflow => Error::MathOverflow,
                _ => Error::InvalidStatusTransition,
            }
        }
    }

    /// Result of a registry message.
    pub type Result<T> = core::result::Result<T, Error>;

    /// Emitted by the constructor.
    #[ink(event)]
    pub struct NetworkInitialized {
        /// The authority.
        #[ink(topic)]
        pub authority: AccountId,
        /// What the devices do.
        pub kind: NetworkKind,
        /// The treasury.
        pub treasury: AccountId,
        /// Onboarding fee.
        pub onboarding_fee: u64,
        /// Location fee.
        pub location_fee: u64,
    }

    /// Emitted by `update_network` with the settings now in force.
    #[ink(event)]
    pub struct NetworkUpdated {
        /// The treasury.
        pub treasury: AccountId,
        /// Onboarding fee.
        pub onboarding_fee: u64,
        /// Location fee.
        pub location_fee: u64,
        /// Pause flag.
        pub paused: bool,
    }

    /// Emitted by `propose_authority`.
    #[ink(event)]
    pub struct AuthorityProposed {
        /// The current authority.
        #[ink(topic)]
        pub authority: AccountId,
        /// The proposed successor.
        #[ink(topic)]
        pub pending_authority: AccountId,
    }

    /// Emitted by `accept_authority`.
    #[ink(event)]
    pub struct AuthorityAccepted {
        /// The authority before.
        #[ink(topic)]
        pub previous_authority: AccountId,
        /// The authority now.
        #[ink(topic)]
        pub authority: AccountId,
    }

    /// Emitted by `register_maker`.
    #[ink(event)]
    pub struct MakerRegistered {
        /// The maker's issuing account.
        #[ink(topic)]
        pub maker: AccountId,
        /// Display name.
        pub name: String,
        /// Quota.
        pub device_quota: u32,
    }

    /// Emitted by `set_maker_approval`.
    #[ink(event)]
    pub struct MakerApprovalSet {
        /// The maker.
        #[ink(topic)]
        pub maker: AccountId,
        /// Approval now.
        pub approved: bool,
        /// Quota now.
        pub device_quota: u32,
    }

    /// Emitted by `issue_device`.
    #[ink(event)]
    pub struct DeviceIssued {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// The issuing maker.
        #[ink(topic)]
        pub maker: AccountId,
        /// Device class.
        pub class: u8,
    }

    /// Emitted by `onboard_device`.
    #[ink(event)]
    pub struct DeviceOnboarded {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// Its owner.
        #[ink(topic)]
        pub owner: AccountId,
        /// Its maker.
        pub maker: AccountId,
        /// Device class.
        pub class: u8,
        /// Initial location.
        pub location: Option<u64>,
        /// Fee paid into the treasury.
        pub fee_paid: u64,
        /// Unix time.
        pub timestamp: i64,
    }

    /// Emitted by `assert_location`.
    #[ink(event)]
    pub struct LocationAsserted {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// Its owner.
        #[ink(topic)]
        pub owner: AccountId,
        /// Location before.
        pub previous_location: Option<u64>,
        /// Location now.
        pub location: u64,
        /// Fee paid into the treasury.
        pub fee_paid: u64,
        /// Unix time.
        pub timestamp: i64,
    }

    /// Emitted by `transfer_device`.
    #[ink(event)]
    pub struct DeviceTransferred {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// Owner before.
        #[ink(topic)]
        pub previous_owner: AccountId,
        /// Owner now.
        #[ink(topic)]
        pub new_owner: AccountId,
    }

    /// Emitted by `set_device_status` and `audit_device`: what every reader of statuses
    /// follows.
    #[ink(event)]
    pub struct DeviceStatusChanged {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// Who changed it.
        #[ink(topic)]
        pub changed_by: AccountId,
        /// Status before.
        pub previous_status: DeviceStatus,
        /// Status now.
        pub status: DeviceStatus,
        /// Unix time of the change: from when a reinstated device is expected to report
        /// again.
        pub timestamp: i64,
    }

    /// Emitted by `set_auditor`.
    #[ink(event)]
    pub struct AuditorSet {
        /// The auditor before (`None`: there was none).
        pub previous: Option<AccountId>,
        /// The auditor now (`None`: no auditor).
        pub auditor: Option<AccountId>,
    }

    /// Emitted by `audit_device`, after its `DeviceStatusChanged`: the auditor suspended
    /// or reinstated a device; `evidence` is the hash of what it based the action on (its
    /// scores and their inputs), kept off chain for review.
    #[ink(event)]
    pub struct DeviceAudited {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// The auditor that acted.
        #[ink(topic)]
        pub auditor: AccountId,
        /// Status before.
        pub previous_status: DeviceStatus,
        /// Status now.
        pub status: DeviceStatus,
        /// Hash of the evidence; never all zeros.
        pub evidence: [u8; 32],
    }

    impl DeviceRegistry {
        /// Creates the network; the caller becomes its authority. Bounds: `treasury` is
        /// not the zero account; any fee (0 included) is accepted.
        ///
        /// # Errors
        /// `InvalidAuthority` (zero treasury).
        #[ink(constructor)]
        pub fn new(
            kind: NetworkKind,
            treasury: AccountId,
            onboarding_fee: u64,
            location_fee: u64,
        ) -> Result<Self> {
            if host::is_zero(&treasury) {
                return Err(Error::InvalidAuthority);
            }
            let authority = Self::env().caller();
            Self::env().emit_event(NetworkInitialized {
                authority,
                kind,
                treasury,
                onboarding_fee,
                location_fee,
            });
            Ok(Self {
                authority,
                pending_authority: None,
                kind,
                treasury,
                onboarding_fee,
                location_fee,
                device_count: 0,
                maker_count: 0,
                paused: false,
                resumed_at: 0,
                makers: Mapping::default(),
                issued: Mapping::default(),
                devices: Mapping::default(),
                auditor: None,
            })
        }

        /// Changes fees, treasury or the pause flag; `None` keeps a setting. Allowed while
        /// paused: it is how a network resumes (and a resume records its time,
        /// `NetworkInfo::resumed_at`). Bounds as in the constructor: the treasury
        /// is not the zero account, any fee is accepted.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `InvalidAuthority` (zero treasury).
        #[ink(message)]
        pub fn update_network(
            &mut self,
            onboarding_fee: Option<u64>,
            location_fee: Option<u64>,
            paused: Option<bool>,
            treasury: Option<AccountId>,
        ) -> Result<()> {
            self.require_authority()?;
            if treasury.as_ref().is_some_and(host::is_zero) {
                return Err(Error::InvalidAuthority);
            }
            self.onboarding_fee = onboarding_fee.unwrap_or(self.onboarding_fee);
            self.location_fee = location_fee.unwrap_or(self.location_fee);
            if self.paused && paused == Some(false) {
                self.resumed_at = host::now_secs();
            }
            self.paused = paused.unwrap_or(self.paused);
            self.treasury = treasury.unwrap_or(self.treasury);
            self.env().emit_event(NetworkUpdated {
                treasury: self.treasury,
                onboarding_fee: self.onboarding_fee,
                location_fee: self.location_fee,
                paused: self.paused,
            });
            Ok(())
        }

        /// First step of an authority rotation; replaces any earlier proposal. Allowed
        /// while paused.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `InvalidAuthority` (zero account).
        #[ink(message)]
        pub fn propose_authority(&mut self, new_authority: AccountId) -> Result<()> {
            self.require_authority()?;
            if host::is_zero(&new_authority) {
                return Err(Error::InvalidAuthority);
            }
            self.pending_authority = Some(new_authority);
            self.env().emit_event(AuthorityProposed {
                authority: self.authority,
                pending_authority: new_authority,
            });
            Ok(())
        }

        /// Names (`Some`), rotates or removes (`None`) the network's auditor and emits
        /// `AuditorSet`. Allowed while paused (authority housekeeping). A rotated-out
        /// auditor loses its power at once; the suspensions it made stay until the new
        /// auditor or the authority lifts them. The zero account is refused: it would read
        /// as "no auditor" to a careless client while still being an account.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `InvalidAuthority` (zero account).
        #[ink(message)]
        pub fn set_auditor(&mut self, auditor: Option<AccountId>) -> Result<()> {
            self.require_authority()?;
            if auditor.as_ref().is_some_and(host::is_zero) {
                return Err(Error::InvalidAuthority);
            }
            let previous = core::mem::replace(&mut self.auditor, auditor);
            self.env().emit_event(AuditorSet { previous, auditor });
            Ok(())
        }

        /// Second step of an authority rotation: the proposed account takes over.
        ///
        /// # Errors
        /// `NotPendingAuthority`.
        #[ink(message)]
        pub fn accept_authority(&mut self) -> Result<()> {
            let caller = self.env().caller();
            if self.pending_authority != Some(caller) {
                return Err(Error::NotPendingAuthority);
            }
            let previous_authority = self.authority;
            self.authority = caller;
            self.pending_authority = None;
            self.env().emit_event(AuthorityAccepted {
                previous_authority,
                authority: caller,
            });
            Ok(())
        }

        /// Registers a maker (unapproved until `set_maker_approval`).
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `NetworkPaused`, `InvalidMakerName`,
        /// `MakerAlreadyRegistered`, `MathOverflow`.
        #[ink(message)]
        pub fn register_maker(
            &mut self,
            maker: AccountId,
            name: String,
            device_quota: u32,
        ) -> Result<()> {
            self.require_authority()?;
            self.require_not_paused()?;
            if name.is_empty() || name.len() > MAX_MAKER_NAME_LEN {
                return Err(Error::InvalidMakerName);
            }
            if self.makers.contains(maker) {
                return Err(Error::MakerAlreadyRegistered);
            }
            self.maker_count = self.maker_count.checked_add(1).ok_or(Error::MathOverflow)?;
            self.makers.insert(
                maker,
                &Maker {
                    name: name.clone(),
                    approved: false,
                    device_quota,
                    devices_issued: 0,
                },
            );
            self.env().emit_event(MakerRegistered {
                maker,
                name,
                device_quota,
            });
            Ok(())
        }

        /// Approves or revokes a maker and sets its quota. Allowed while paused, so a
        /// compromised maker can be revoked during an incident.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `MakerNotFound`.
        #[ink(message)]
        pub fn set_maker_approval(
            &mut self,
            maker: AccountId,
            approved: bool,
            device_quota: u32,
        ) -> Result<()> {
            self.require_authority()?;
            let mut entry = self.makers.get(maker).ok_or(Error::MakerNotFound)?;
            entry.approved = approved;
            entry.device_quota = device_quota;
            self.makers.insert(maker, &entry);
            self.env().emit_event(MakerApprovalSet {
                maker,
                approved,
                device_quota,
            });
            Ok(())
        }

        /// The caller, an approved maker, vouches for the device with `device_key`
        /// (counts against its quota). The device consents: `device_signature` is the
        /// device key's signature over `"depin-issue-v1" || registry || device_key ||
        /// caller` (on Solana the maker, the device and the owner sign one instruction;
        /// here issuing comes first, and without the device's consent any approved maker
        /// could take a key first and keep its real maker from issuing it). The device
        /// key must not control the maker's own account. A device issued by a maker that
        /// is no longer approved (revoked, its devices stopped) and never onboarded may be
        /// issued again, by another maker it consents to (the revoked maker's count of
        /// issued devices drops by one). Returns the device id.
        ///
        /// # Errors
        /// `NetworkPaused`, `MakerNotFound`, `MakerNotApproved`, `MakerQuotaExceeded`,
        /// `DeviceKeyIsMakerKey`, `InvalidDeviceSignature`, `DeviceAlreadyOnboarded`,
        /// `MathOverflow`.
        #[ink(message)]
        pub fn issue_device(
            &mut self,
            device_key: DeviceKey,
            class: u8,
            capabilities: Capabilities,
            device_signature: Signature,
        ) -> Result<DeviceId> {
            self.require_not_paused()?;
            let maker = self.env().caller();
            let mut entry = self.makers.get(maker).ok_or(Error::MakerNotFound)?;
            if !entry.approved {
                return Err(Error::MakerNotApproved);
            }
            if entry.devices_issued >= entry.device_quota {
                return Err(Error::MakerQuotaExceeded);
            }
            if host::key_account(&device_key) == maker {
                return Err(Error::DeviceKeyIsMakerKey);
            }
            let message = issue_message(&self.env().account_id(), &device_key, &maker);
            if !host::signed_by(&device_key, &device_signature, &message) {
                return Err(Error::InvalidDeviceSignature);
            }
            let device = host::device_id(&device_key);
            if self.devices.contains(device) {
                return Err(Error::DeviceAlreadyOnboarded);
            }
            if let Some(earlier) = self.issued.get(device) {
                // an issuance stands while its maker is approved; a revoked maker's is
                // replaced, and no longer counts against that maker's quota
                if let Some(mut previous) = self.makers.get(earlier.maker) {
                    if previous.approved {
                        return Err(Error::DeviceAlreadyOnboarded);
                    }
                    previous.devices_issued = previous.devices_issued.saturating_sub(1);
                    self.makers.insert(earlier.maker, &previous);
                }
            }
            entry.devices_issued = entry
                .devices_issued
                .checked_add(1)
                .ok_or(Error::MathOverflow)?;
            self.makers.insert(maker, &entry);
            self.issued.insert(
                device,
                &Issuance {
                    maker,
                    class,
                    capabilities,
                },
            );
            self.env().emit_event(DeviceIssued {
                device,
                maker,
                class,
            });
            Ok(device)
        }

        /// The caller takes ownership of an issued device: `device_signature` is the device
        /// key's signature over `"depin-onboard-v1" || registry || device_key || caller`;
        /// the value sent must be exactly the onboarding fee, which goes to the treasury.
        /// The caller must not be the account the device key controls, and the maker that
        /// issued the device must still be approved: revoking a maker (a stolen issuing
        /// key, a vendor gone rogue) also stops the devices it issued and no owner has
        /// onboarded yet. Returns the device id.
        ///
        /// # Errors
        /// `NetworkPaused`, `InvalidLocation`, `DeviceNotIssued`, `MakerNotFound`,
        /// `MakerNotApproved`, `DeviceKeyIsOwner`, `InvalidDeviceSignature`, `WrongFee`, `MathOverflow`,
        /// `TransferFailed`.
        #[ink(message, payable)]
        pub fn onboard_device(
            &mut self,
            device_key: DeviceKey,
            location: Option<u64>,
            device_signature: Signature,
        ) -> Result<DeviceId> {
            self.require_not_paused()?;
            if let Some(cell) = location {
                depin_core::h3::validate_cell(cell).map_err(|_| Error::InvalidLocation)?;
            }
            let device = host::device_id(&device_key);
            let issuance = self.issued.get(device).ok_or(Error::DeviceNotIssued)?;
            let maker = self
                .makers
                .get(issuance.maker)
                .ok_or(Error::MakerNotFound)?;
            if !maker.approved {
                return Err(Error::MakerNotApproved);
            }
            let owner = self.env().caller();
            if host::key_account(&device_key) == owner {
                return Err(Error::DeviceKeyIsOwner);
            }
            let message = onboard_message(&self.env().account_id(), &device_key, &owner);
            if !host::signed_by(&device_key, &device_signature, &message) {
                return Err(Error::InvalidDeviceSignature);
            }
            let fee = self.onboarding_fee;
            self.require_fee(fee)?;
            let device_count = self
                .device_count
                .checked_add(1)
                .ok_or(Error::MathOverflow)?;
            let now = host::now_secs();
            host::pay(self.treasury, fee).map_err(|_| Error::TransferFailed)?;
            self.device_count = device_count;
            self.issued.remove(device);
            self.devices.insert(
                device,
                &Device {
                    device_key,
                    owner,
                    maker: issuance.maker,
                    class: issuance.class,
                    capabilities: issuance.capabilities,
                    location,
                    status: DeviceStatus::Active,
                    onboarded_at: now,
                    location_changed_at: if location.is_some() { now } else { 0 },
                },
            );
            self.env().emit_event(DeviceOnboarded {
                device,
                owner,
                maker: issuance.maker,
                class: issuance.class,
                location,
                fee_paid: fee,
                timestamp: now,
            });
            Ok(device)
        }

        /// Sets the device's H3 location (owner; the value sent must be the location fee).
        ///
        /// # Errors
        /// `NetworkPaused`, `InvalidLocation`, `DeviceNotFound`, `NotDeviceOwner`,
        /// `DeviceNotActive`, `WrongFee`, `TransferFailed`.
        #[ink(message, payable)]
        pub fn assert_location(&mut self, device: DeviceId, location: u64) -> Result<()> {
            self.require_not_paused()?;
            depin_core::h3::validate_cell(location).map_err(|_| Error::InvalidLocation)?;
            let mut entry = self.owned_device(device)?;
            if entry.status != DeviceStatus::Active {
                return Err(Error::DeviceNotActive);
            }
            let fee = self.location_fee;
            self.require_fee(fee)?;
            host::pay(self.treasury, fee).map_err(|_| Error::TransferFailed)?;
            let now = host::now_secs();
            let previous_location = entry.location.replace(location);
            entry.location_changed_at = now;
            self.devices.insert(device, &entry);
            self.env().emit_event(LocationAsserted {
                device,
                owner: entry.owner,
                previous_location,
                location,
                fee_paid: fee,
                timestamp: now,
            });
            Ok(())
        }

        /// Gives the device to `new_owner` (owner only), which must not be the account the
        /// device's own key controls. A bond in staking stays with the old owner's stake
        /// until one of them unbonds it.
        ///
        /// # Errors
        /// `NetworkPaused`, `DeviceNotFound`, `NotDeviceOwner`, `DeviceDecommissioned`,
        /// `InvalidNewOwner`, `DeviceKeyIsOwner`.
        #[ink(message)]
        pub fn transfer_device(&mut self, device: DeviceId, new_owner: AccountId) -> Result<()> {
            self.require_not_paused()?;
            let mut entry = self.owned_device(device)?;
            if entry.status == DeviceStatus::Decommissioned {
                return Err(Error::DeviceDecommissioned);
            }
            if new_owner == entry.owner || host::is_zero(&new_owner) {
                return Err(Error::InvalidNewOwner);
            }
            if host::key_account(&entry.device_key) == new_owner {
                return Err(Error::DeviceKeyIsOwner);
            }
            let previous_owner = entry.owner;
            entry.owner = new_owner;
            self.devices.insert(device, &entry);
            self.env().emit_event(DeviceTransferred {
                device,
                previous_owner,
                new_owner,
            });
            Ok(())
        }

        /// Applies the status change the caller is entitled to, by
        /// [`depin_core::status::set_status`] (the Solana program's rule):
        ///
        /// | caller    | from                 | to                     | while paused |
        /// |-----------|----------------------|------------------------|--------------|
        /// | authority | Active               | Suspended              | yes          |
        /// | authority | Suspended            | Active                 | yes          |
        /// | authority | SuspendedByAuditor   | Active (reverses the auditor) or Suspended (takes it over) | yes |
        /// | owner     | any but Decommissioned | Decommissioned       | no           |
        ///
        /// Nobody sets `SuspendedByAuditor` here: only `audit_device` does.
        ///
        /// # Errors
        /// `DeviceNotFound`, `DeviceDecommissioned`, `StatusChangeUnauthorized`,
        /// `NetworkPaused`, `InvalidStatusTransition`.
        #[ink(message)]
        pub fn set_device_status(&mut self, device: DeviceId, status: DeviceStatus) -> Result<()> {
            let mut entry = self.devices.get(device).ok_or(Error::DeviceNotFound)?;
            let caller = self.env().caller();
            let roles = Caller {
                authority: caller == self.authority,
                owner: caller == entry.owner,
            };
            let status: DeviceStatus =
                status::set_status(roles, entry.status.into(), status.into(), self.paused)?.into();
            let previous_status = entry.status;
            entry.status = status;
            self.devices.insert(device, &entry);
            self.env().emit_event(DeviceStatusChanged {
                device,
                changed_by: caller,
                previous_status,
                status,
                timestamp: host::now_secs(),
            });
            Ok(())
        }

        /// The network's auditor suspends an active device (`status` = `Suspended`: it
        /// becomes `SuspendedByAuditor`) or reinstates one it suspended (`status` =
        /// `Active`), by [`depin_core::status::audit`]. `evidence` is the hash of what the
        /// action rests on and is never all zeros. Emits `DeviceStatusChanged`, then
        /// `DeviceAudited` with the evidence. The auditor never touches a device the
        /// authority suspended; the authority can reverse or take over the auditor's
        /// suspension with `set_device_status`. Allowed while paused: suspending a device
        /// is an incident tool.
        ///
        /// # Errors
        /// `NotNetworkAuditor`, `DeviceNotFound`, `DeviceDecommissioned`,
        /// `MissingEvidence`, `InvalidStatusTransition` (reinstating the authority's
        /// suspension, a no-op, or any other status asked).
        #[ink(message)]
        pub fn audit_device(
            &mut self,
            device: DeviceId,
            status: DeviceStatus,
            evidence: [u8; 32],
        ) -> Result<()> {
            let caller = self.env().caller();
            if self.auditor != Some(caller) {
                return Err(Error::NotNetworkAuditor);
            }
            let mut entry = self.devices.get(device).ok_or(Error::DeviceNotFound)?;
            let previous_status = entry.status;
            let status: DeviceStatus = status::audit(
                previous_status.into(),
                status.into(),
                &evidence,
                self.paused,
            )?
            .into();
            entry.status = status;
            self.devices.insert(device, &entry);
            self.env().emit_event(DeviceStatusChanged {
                device,
                changed_by: caller,
                previous_status,
                status,
                timestamp: host::now_secs(),
            });
            self.env().emit_event(DeviceAudited {
                device,
                auditor: caller,
                previous_status,
                status,
                evidence,
            });
            Ok(())
        }

        /// The network as other contracts see it.
        #[ink(message)]
        pub fn network_info(&self) -> NetworkInfo {
            NetworkInfo {
                authority: self.authority,
                treasury: self.treasury,
                kind: self.kind,
                paused: self.paused,
                resumed_at: self.resumed_at,
                auditor: self.auditor,
            }
        }

        /// One device as other contracts see it, `None` if not onboarded.
        #[ink(message)]
        pub fn device_info(&self, device: DeviceId) -> Option<DeviceInfo> {
            self.devices.get(device).map(|d| DeviceInfo {
                device_key: d.device_key,
                owner: d.owner,
                class: d.class,
                status: d.status,
                capabilities: d.capabilities,
            })
        }

        /// A device's full record.
        #[ink(message)]
        pub fn device(&self, device: DeviceId) -> Option<Device> {
            self.devices.get(device)
        }

        /// A maker's record.
        #[ink(message)]
        pub fn maker(&self, maker: AccountId) -> Option<Maker> {
            self.makers.get(maker)
        }

        /// A device issued but not yet onboarded.
        #[ink(message)]
        pub fn issuance(&self, device: DeviceId) -> Option<Issuance> {
            self.issued.get(device)
        }

        /// `(pending_authority, onboarding_fee, location_fee, device_count, maker_count)`.
        #[ink(message)]
        pub fn settings(&self) -> (Option<AccountId>, u64, u64, u64, u32) {
            (
                self.pending_authority,
                self.onboarding_fee,
                self.location_fee,
                self.device_count,
                self.maker_count,
            )
        }

        fn require_authority(&self) -> Result<()> {
            if self.env().caller() != self.authority {
                return Err(Error::NotNetworkAuthority);
            }
            Ok(())
        }

        fn require_not_paused(&self) -> Result<()> {
            if self.paused {
                return Err(Error::NetworkPaused);
            }
            Ok(())
        }

        fn require_fee(&self, fee: u64) -> Result<()> {
            if host::transferred_amount() != Some(fee) {
                return Err(Error::WrongFee);
            }
            Ok(())
        }

        fn owned_device(&self, device: DeviceId) -> Result<Device> {
            let entry = self.devices.get(device).ok_or(Error::DeviceNotFound)?;
            if entry.owner != self.env().caller() {
                return Err(Error::NotDeviceOwner);
            }
            Ok(entry)
        }
    }

    /// `"depin-issue-v1" || registry || device_key || maker`: what a device signs to be
    /// issued by `maker`.
    pub fn issue_message(
        registry: &AccountId,
        device_key: &DeviceKey,
        maker: &AccountId,
    ) -> Vec<u8> {
        device_message(ISSUE_DOMAIN, registry, device_key, maker)
    }

    /// `"depin-onboard-v1" || registry || device_key || owner`: what a device signs to be
    /// onboarded by `owner`.
    pub fn onboard_message(
        registry: &AccountId,
        device_key: &DeviceKey,
        owner: &AccountId,
    ) -> Vec<u8> {
        device_message(ONBOARD_DOMAIN, registry, device_key, owner)
    }

    /// `domain || registry || device_key || party`: a device's consent to `party`.
    fn device_message(
        domain: &[u8],
        registry: &AccountId,
        device_key: &DeviceKey,
        party: &AccountId,
    ) -> Vec<u8> {
        let registry: &[u8; 32] = registry.as_ref();
        let party: &[u8; 32] = party.as_ref();
        [domain, &registry[..], &device_key[..], &party[..]].concat()
    }
}

impl RegistryReader for device_registry::DeviceRegistryRef {
    fn network_info(&self) -> NetworkInfo {
        device_registry::DeviceRegistryRef::network_info(self)
    }

    fn device_info(&self, device: DeviceId) -> Option<DeviceInfo> {
        device_registry::DeviceRegistryRef::device_info(self, device)
    }
}

/// Off-chain support for contracts that read the registry (feature `testing`).
#[cfg(feature = "testing")]
pub mod live {
    use super::device_registry::DeviceRegistry;
    use super::*;
    use depin_ink_shared::bridge::register_registry;
    use depin_ink_shared::testing::{as_contract, call, capabilities_for, DeviceSigner};
    use ink::primitives::AccountId;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A deployed registry instance answering reads with its own code and storage.
    pub struct LiveRegistry {
        /// The instance's address.
        pub at: AccountId,
        /// The instance.
        pub contract: Rc<RefCell<DeviceRegistry>>,
    }

    /// A valid H3 cell (resolution 9) for tests.
    pub const CELL: u64 = 0x0892_8308_280f_ffff;

    /// Deploys a registry at `at` with `authority` as caller and routes cross-contract
    /// reads for `at` to it.
    pub fn deploy(
        at: AccountId,
        authority: AccountId,
        kind: NetworkKind,
        treasury: AccountId,
        onboarding_fee: u64,
        location_fee: u64,
    ) -> Rc<RefCell<DeviceRegistry>> {
        call(at, authority, 0);
        let contract = Rc::new(RefCell::new(
            DeviceRegistry::new(kind, treasury, onboarding_fee, location_fee)
                .expect("registry created"),
        ));
        register_registry(
            at,
            Rc::new(LiveRegistry {
                at,
                contract: contract.clone(),
            }),
        );
        contract
    }

    /// Registers and approves `maker` (quota 100), issues the device of `signer` and
    /// onboards it for `owner` (who pays the onboarding fee). Returns the device id.
    ///
    /// The device gets the capabilities of its network's kind
    /// ([`depin_ink_shared::testing::capabilities_for`]): on an Energy network a rooftop
    /// meter (5 kW of panel, a 13.5 kWh battery), so its asks stay within its capacity;
    /// none elsewhere. [`onboard_with`] chooses them.
    pub fn onboard(
        registry: &RefCell<DeviceRegistry>,
        at: AccountId,
        maker: AccountId,
        owner: AccountId,
        signer: &DeviceSigner,
        class: u8,
    ) -> DeviceId {
        let kind = as_contract(at, || registry.borrow().network_info().kind);
        onboard_with(
            registry,
            at,
            maker,
            owner,
            signer,
            class,
            capabilities_for(kind),
        )
    }

    /// [`onboard`], the maker registering the device with `capabilities`.
    pub fn onboard_with(
        registry: &RefCell<DeviceRegistry>,
        at: AccountId,
        maker: AccountId,
        owner: AccountId,
        signer: &DeviceSigner,
        class: u8,
        capabilities: Capabilities,
    ) -> DeviceId {
        let authority = as_contract(at, || registry.borrow().network_info().authority);
        let fee = as_contract(at, || registry.borrow().settings().1);
        if as_contract(at, || registry.borrow().maker(maker)).is_none() {
            call(at, authority, 0);
            let mut r = registry.borrow_mut();
            r.register_maker(maker, "maker".into(), 100)
                .expect("maker registers");
            r.set_maker_approval(maker, true, 100)
                .expect("maker approved");
        }
        call(at, maker, 0);
        let consent = signer.sign(&device_registry::issue_message(&at, &signer.key(), &maker));
        registry
            .borrow_mut()
            .issue_device(signer.key(), class, capabilities, consent)
            .expect("device issued");
        let signature = signer.sign(&device_registry::onboard_message(
            &at,
            &signer.key(),
            &owner,
        ));
        call(at, owner, u128::from(fee));
        registry
            .borrow_mut()
            .onboard_device(signer.key(), Some(CELL), signature)
            .expect("device onboarded")
    }

    impl RegistryReader for LiveRegistry {
        fn network_info(&self) -> NetworkInfo {
            as_contract(self.at, || self.contract.borrow().network_info())
        }

        fn device_info(&self, device: DeviceId) -> Option<DeviceInfo> {
            as_contract(self.at, || self.contract.borrow().device_info(device))
        }
    }
}

#[cfg(test)]
mod tests;
