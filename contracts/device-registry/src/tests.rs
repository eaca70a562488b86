//! Off-chain tests: one happy path per message and one test per reachable error,
//! mirroring `tests/tests/registry.rs` of the Solana suite.

use crate::device_registry::{
    issue_message, onboard_message, AuditorSet, AuthorityAccepted, AuthorityProposed,
    DeviceAudited, DeviceIssued, DeviceOnboarded, DeviceRegistry, DeviceStatusChanged,
    DeviceTransferred, Error, LocationAsserted, MakerApprovalSet, MakerRegistered, NetworkUpdated,
};
use crate::live::{deploy, onboard, CELL};
use crate::{Capabilities, DeviceId, DeviceStatus, NetworkKind, Signature};
use depin_ink_shared::host::key_account;
use depin_ink_shared::testing::{
    account, as_contract, balance_of, call, event_count, last_event, set_time, DeviceSigner,
};
use ink::primitives::AccountId;
use std::cell::RefCell;
use std::rc::Rc;

const REGISTRY: u8 = 0xA0;
const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const OWNER: u8 = 4;
const OTHER: u8 = 5;
const AUDITOR: u8 = 6;
const SUCCESSOR: u8 = 7;
const ONBOARDING_FEE: u64 = 50;
const LOCATION_FEE: u64 = 7;
/// Hash of an auditor's evidence (its scores and their inputs).
const EVIDENCE: [u8; 32] = [0xE5; 32];

struct Net {
    at: AccountId,
    registry: Rc<RefCell<DeviceRegistry>>,
}

impl Net {
    fn new() -> Self {
        depin_ink_shared::bridge::reset();
        for who in [AUTHORITY, MAKER, OWNER, OTHER, AUDITOR, SUCCESSOR] {
            ink::env::test::set_account_balance::<ink::env::DefaultEnvironment>(
                account(who),
                1_000_000,
            );
        }
        ink::env::test::set_account_balance::<ink::env::DefaultEnvironment>(account(TREASURY), 0);
        let at = account(REGISTRY);
        let registry = deploy(
            at,
            account(AUTHORITY),
            NetworkKind::Wireless,
            account(TREASURY),
            ONBOARDING_FEE,
            LOCATION_FEE,
        );
        Net { at, registry }
    }

    /// Makes the next message a call by `who` carrying `value`.
    fn by(&self, who: u8, value: u64) -> std::cell::RefMut<'_, DeviceRegistry> {
        call(self.at, account(who), u128::from(value));
        self.registry.borrow_mut()
    }

    fn maker(&self, approved: bool, quota: u32) {
        self.by(AUTHORITY, 0)
            .register_maker(account(MAKER), "acme".into(), quota)
            .unwrap();
        self.by(AUTHORITY, 0)
            .set_maker_approval(account(MAKER), approved, quota)
            .unwrap();
    }

    fn device(&self) -> DeviceId {
        onboard(
            &self.registry,
            self.at,
            account(MAKER),
            account(OWNER),
            &DeviceSigner::new(9),
            1,
        )
    }

    fn paused(&self) {
        self.by(AUTHORITY, 0)
            .update_network(None, None, Some(true), None)
            .unwrap();
    }

    fn resumed(&self) {
        self.by(AUTHORITY, 0)
            .update_network(None, None, Some(false), None)
            .unwrap();
    }

    /// The authority names `who` the network's auditor.
    fn auditor(&self, who: Option<u8>) {
        self.by(AUTHORITY, 0).set_auditor(who.map(account)).unwrap();
    }

    fn audit(&self, who: u8, device: DeviceId, status: DeviceStatus) -> Result<(), Error> {
        self.by(who, 0).audit_device(device, status, EVIDENCE)
    }

    fn authority_sets(&self, device: DeviceId, status: DeviceStatus) -> Result<(), Error> {
        self.by(AUTHORITY, 0).set_device_status(device, status)
    }

    fn status(&self, device: DeviceId) -> DeviceStatus {
        as_contract(self.at, || {
            self.registry.borrow().device(device).unwrap().status
        })
    }
}

#[ink::test]
fn test_new_ok() {
    let net = Net::new();
    let info = as_contract(net.at, || net.registry.borrow().network_info());
    assert_eq!(info.authority, account(AUTHORITY));
    assert_eq!(info.treasury, account(TREASURY));
    assert_eq!(info.kind, NetworkKind::Wireless);
    assert!(!info.paused);
    assert_eq!(event_count(), 1);
}

#[ink::test]
fn test_new_zero_treasury() {
    let _net = Net::new();
    call(account(0xA1), account(AUTHORITY), 0);
    assert_eq!(
        DeviceRegistry::new(
            NetworkKind::Wireless,
            AccountId::from([0; 32]),
            ONBOARDING_FEE,
            LOCATION_FEE
        )
        .err(),
        Some(Error::InvalidAuthority)
    );
}

#[ink::test]
fn test_update_network_ok() {
    let net = Net::new();
    net.by(AUTHORITY, 0)
        .update_network(Some(1), Some(2), Some(true), Some(account(OTHER)))
        .unwrap();
    let e: NetworkUpdated = last_event();
    assert_eq!(
        (e.onboarding_fee, e.location_fee, e.paused, e.treasury),
        (1, 2, true, account(OTHER))
    );
    let info = || as_contract(net.at, || net.registry.borrow().network_info());
    assert_eq!((info().paused, info().resumed_at), (true, 0));
    // pausing again or changing a fee while paused is no resume
    set_time(5_000);
    net.by(AUTHORITY, 0)
        .update_network(Some(3), None, Some(true), None)
        .unwrap();
    assert_eq!(info().resumed_at, 0);
    // allowed while paused: it is how a network resumes, and the resume's time is kept
    set_time(7_000);
    net.by(AUTHORITY, 0)
        .update_network(None, None, Some(false), None)
        .unwrap();
    assert_eq!((info().paused, info().resumed_at), (false, 7_000));
    // resuming a running network is no resume either
    set_time(9_000);
    net.by(AUTHORITY, 0)
        .update_network(None, None, Some(false), None)
        .unwrap();
    assert_eq!(info().resumed_at, 7_000);
}

#[ink::test]
fn test_update_network_wrong_authority() {
    let net = Net::new();
    assert_eq!(
        net.by(OTHER, 0).update_network(Some(1), None, None, None),
        Err(Error::NotNetworkAuthority)
    );
}

#[ink::test]
fn test_update_network_zero_treasury() {
    let net = Net::new();
    assert_eq!(
        net.by(AUTHORITY, 0)
            .update_network(None, None, None, Some(AccountId::from([0; 32]))),
        Err(Error::InvalidAuthority)
    );
}

#[ink::test]
fn test_authority_rotation_ok() {
    let net = Net::new();
    net.by(AUTHORITY, 0)
        .propose_authority(account(OTHER))
        .unwrap();
    let e: AuthorityProposed = last_event();
    assert_eq!(e.pending_authority, account(OTHER));
    net.by(OTHER, 0).accept_authority().unwrap();
    let e: AuthorityAccepted = last_event();
    assert_eq!(
        (e.previous_authority, e.authority),
        (account(AUTHORITY), account(OTHER))
    );
    let (pending, ..) = as_contract(net.at, || net.registry.borrow().settings());
    assert_eq!(pending, None);
    assert_eq!(
        net.by(AUTHORITY, 0).propose_authority(account(MAKER)),
        Err(Error::NotNetworkAuthority)
    );
}

#[ink::test]
fn test_propose_authority_zero() {
    let net = Net::new();
    assert_eq!(
        net.by(AUTHORITY, 0)
            .propose_authority(AccountId::from([0; 32])),
        Err(Error::InvalidAuthority)
    );
}

#[ink::test]
fn test_accept_authority_not_pending() {
    let net = Net::new();
    assert_eq!(
        net.by(OTHER, 0).accept_authority(),
        Err(Error::NotPendingAuthority)
    );
    net.by(AUTHORITY, 0)
        .propose_authority(account(OTHER))
        .unwrap();
    assert_eq!(
        net.by(MAKER, 0).accept_authority(),
        Err(Error::NotPendingAuthority)
    );
}

#[ink::test]
fn test_register_maker_ok() {
    let net = Net::new();
    net.by(AUTHORITY, 0)
        .register_maker(account(MAKER), "acme".into(), 3)
        .unwrap();
    let e: MakerRegistered = last_event();
    assert_eq!(
        (e.maker, e.name.as_str(), e.device_quota),
        (account(MAKER), "acme", 3)
    );
    let maker = as_contract(net.at, || net.registry.borrow().maker(account(MAKER))).unwrap();
    assert!(!maker.approved);
}

#[ink::test]
fn test_register_maker_errors() {
    let net = Net::new();
    assert_eq!(
        net.by(OTHER, 0)
            .register_maker(account(MAKER), "acme".into(), 3),
        Err(Error::NotNetworkAuthority)
    );
    assert_eq!(
        net.by(AUTHORITY, 0)
            .register_maker(account(MAKER), String::new(), 3),
        Err(Error::InvalidMakerName)
    );
    assert_eq!(
        net.by(AUTHORITY, 0)
            .register_maker(account(MAKER), "x".repeat(33), 3),
        Err(Error::InvalidMakerName)
    );
    net.by(AUTHORITY, 0)
        .register_maker(account(MAKER), "acme".into(), 3)
        .unwrap();
    assert_eq!(
        net.by(AUTHORITY, 0)
            .register_maker(account(MAKER), "acme".into(), 3),
        Err(Error::MakerAlreadyRegistered)
    );
}

#[ink::test]
fn test_register_maker_paused() {
    let net = Net::new();
    net.paused();
    assert_eq!(
        net.by(AUTHORITY, 0)
            .register_maker(account(MAKER), "acme".into(), 3),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_set_maker_approval_ok_and_errors() {
    let net = Net::new();
    assert_eq!(
        net.by(AUTHORITY, 0)
            .set_maker_approval(account(MAKER), true, 1),
        Err(Error::MakerNotFound)
    );
    net.by(AUTHORITY, 0)
        .register_maker(account(MAKER), "acme".into(), 3)
        .unwrap();
    assert_eq!(
        net.by(OTHER, 0).set_maker_approval(account(MAKER), true, 1),
        Err(Error::NotNetworkAuthority)
    );
    net.paused(); // allowed while paused
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), true, 1)
        .unwrap();
    let e: MakerApprovalSet = last_event();
    assert!(e.approved);
    assert_eq!(e.device_quota, 1);
}

#[ink::test]
fn test_issue_device_ok() {
    let net = Net::new();
    net.maker(true, 1);
    let key = DeviceSigner::new(9).key();
    let id = net
        .by(MAKER, 0)
        .issue_device(
            key,
            4,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(9), account(MAKER)),
        )
        .unwrap();
    assert_eq!(id, depin_ink_shared::host::device_id(&key));
    let e: DeviceIssued = last_event();
    assert_eq!((e.device, e.maker, e.class), (id, account(MAKER), 4));
    let maker = as_contract(net.at, || net.registry.borrow().maker(account(MAKER))).unwrap();
    assert_eq!(maker.devices_issued, 1);
}

/// Issuing needs the device's consent, so an approved maker cannot take another maker's
/// device key first: a signature by another key, one naming another maker or another
/// registry, are each refused and store nothing.
#[ink::test]
fn test_issue_device_needs_the_devices_consent() {
    let net = Net::new();
    net.maker(true, 5);
    let signer = DeviceSigner::new(9);
    let key = signer.key();
    let forged = consent(&net, &DeviceSigner::new(8), account(MAKER));
    let for_other_maker = consent(&net, &signer, account(OTHER));
    let for_other_registry = signer.sign(&issue_message(&account(0xA1), &key, &account(MAKER)));
    let events = event_count();
    for signature in [forged, for_other_maker, for_other_registry] {
        assert_eq!(
            net.by(MAKER, 0)
                .issue_device(key, 1, Capabilities::default(), signature),
            Err(Error::InvalidDeviceSignature)
        );
    }
    let id = depin_ink_shared::host::device_id(&key);
    assert!(as_contract(net.at, || net.registry.borrow().issuance(id)).is_none());
    let maker = as_contract(net.at, || net.registry.borrow().maker(account(MAKER))).unwrap();
    assert_eq!(maker.devices_issued, 0);
    assert_eq!(event_count(), events);
}

/// A device issued by a maker that is then revoked, and never onboarded, is not stuck: while
/// its maker is approved nobody else can issue it, once revoked another maker it consents
/// to can, and its owner then onboards it under that maker.
#[ink::test]
fn test_issue_device_a_revoked_makers_device_can_be_issued_again() {
    let net = Net::new();
    net.maker(true, 5);
    net.by(AUTHORITY, 0)
        .register_maker(account(OTHER), "other".into(), 5)
        .unwrap();
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(OTHER), true, 5)
        .unwrap();
    let signer = DeviceSigner::new(9);
    let key = signer.key();
    let issue_by_other = || {
        net.by(OTHER, 0).issue_device(
            key,
            2,
            Capabilities::default(),
            consent(&net, &signer, account(OTHER)),
        )
    };
    let id = net
        .by(MAKER, 0)
        .issue_device(
            key,
            1,
            Capabilities::default(),
            consent(&net, &signer, account(MAKER)),
        )
        .unwrap();
    assert_eq!(issue_by_other(), Err(Error::DeviceAlreadyOnboarded));
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), false, 5)
        .unwrap();
    let onboarding = signer.sign(&onboard_message(&net.at, &key, &account(OWNER)));
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE)
            .onboard_device(key, Some(CELL), onboarding),
        Err(Error::MakerNotApproved)
    );
    assert_eq!(issue_by_other(), Ok(id));
    let issuance = as_contract(net.at, || net.registry.borrow().issuance(id)).unwrap();
    assert_eq!((issuance.maker, issuance.class), (account(OTHER), 2));
    let issued = |maker| {
        as_contract(net.at, || net.registry.borrow().maker(account(maker)))
            .unwrap()
            .devices_issued
    };
    assert_eq!((issued(MAKER), issued(OTHER)), (0, 1));
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE)
            .onboard_device(key, Some(CELL), onboarding),
        Ok(id)
    );
    // onboarded: nobody issues it again
    assert_eq!(issue_by_other(), Err(Error::DeviceAlreadyOnboarded));
}

#[ink::test]
fn test_issue_device_errors() {
    let net = Net::new();
    let key = DeviceSigner::new(9).key();
    assert_eq!(
        net.by(MAKER, 0).issue_device(
            key,
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(9), account(MAKER))
        ),
        Err(Error::MakerNotFound)
    );
    net.maker(false, 1);
    assert_eq!(
        net.by(MAKER, 0).issue_device(
            key,
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(9), account(MAKER))
        ),
        Err(Error::MakerNotApproved)
    );
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), true, 1)
        .unwrap();
    net.by(MAKER, 0)
        .issue_device(
            key,
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(9), account(MAKER)),
        )
        .unwrap();
    assert_eq!(
        net.by(MAKER, 0).issue_device(
            DeviceSigner::new(8).key(),
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(8), account(MAKER))
        ),
        Err(Error::MakerQuotaExceeded)
    );
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), true, 5)
        .unwrap();
    assert_eq!(
        net.by(MAKER, 0).issue_device(
            key,
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(9), account(MAKER))
        ),
        Err(Error::DeviceAlreadyOnboarded)
    );
    net.paused();
    assert_eq!(
        net.by(MAKER, 0).issue_device(
            DeviceSigner::new(8).key(),
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(8), account(MAKER))
        ),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_onboard_device_ok() {
    let net = Net::new();
    let owner_before = balance_of(account(OWNER));
    set_time(1_000);
    let id = net.device();
    assert_eq!(
        balance_of(account(OWNER)),
        owner_before - u128::from(ONBOARDING_FEE)
    );
    assert_eq!(balance_of(account(TREASURY)), u128::from(ONBOARDING_FEE));
    assert_eq!(balance_of(net.at), 0);
    let device = as_contract(net.at, || net.registry.borrow().device(id)).unwrap();
    assert_eq!(device.owner, account(OWNER));
    assert_eq!(device.maker, account(MAKER));
    assert_eq!(device.location, Some(CELL));
    assert_eq!(device.status, DeviceStatus::Active);
    assert_eq!(
        (device.onboarded_at, device.location_changed_at),
        (1_000, 1_000)
    );
    let e: DeviceOnboarded = last_event();
    assert_eq!(
        (e.device, e.owner, e.fee_paid),
        (id, account(OWNER), ONBOARDING_FEE)
    );
    assert!(as_contract(net.at, || net.registry.borrow().issuance(id)).is_none());
    let (_, _, _, device_count, _) = as_contract(net.at, || net.registry.borrow().settings());
    assert_eq!(device_count, 1);
}

/// What the maker registered at issuance reaches every reader: `device_info` carries the
/// device's capabilities (the energy market bounds asks by the panel and battery).
#[ink::test]
fn test_device_info_carries_the_capabilities_the_maker_registered() {
    let net = Net::new();
    net.maker(true, 5);
    let signer = DeviceSigner::new(9);
    let capabilities = Capabilities {
        radio_bands: 0b101,
        capacity_gib: 4_096,
        panel_watts: 5_000,
        battery_wh: 13_500,
    };
    net.by(MAKER, 0)
        .issue_device(
            signer.key(),
            1,
            capabilities,
            consent(&net, &signer, account(MAKER)),
        )
        .unwrap();
    let issuance = as_contract(net.at, || {
        net.registry
            .borrow()
            .issuance(depin_ink_shared::host::device_id(&signer.key()))
    })
    .unwrap();
    assert_eq!(issuance.capabilities, capabilities);
    let sig = signer.sign(&onboard_message(&net.at, &signer.key(), &account(OWNER)));
    let id = net
        .by(OWNER, ONBOARDING_FEE)
        .onboard_device(signer.key(), None, sig)
        .unwrap();
    let info = as_contract(net.at, || net.registry.borrow().device_info(id)).unwrap();
    assert_eq!(info.capabilities, capabilities);
    assert_eq!(
        (info.device_key, info.owner, info.class, info.status),
        (signer.key(), account(OWNER), 1, DeviceStatus::Active)
    );
    let device = as_contract(net.at, || net.registry.borrow().device(id)).unwrap();
    assert_eq!(device.capabilities, capabilities);
}

/// The test helper gives an Energy network's devices a rooftop meter's capabilities and
/// any other network's none; `onboard_with` registers the ones it is given.
#[ink::test]
fn test_onboard_helper_capabilities_follow_the_network_kind() {
    use depin_ink_shared::testing::ROOFTOP_METER;
    let net = Net::new();
    let hotspot = net.device();
    let info = as_contract(net.at, || net.registry.borrow().device_info(hotspot)).unwrap();
    assert_eq!(info.capabilities, Capabilities::default());
    let at = account(0xA1);
    let energy = deploy(
        at,
        account(AUTHORITY),
        NetworkKind::Energy,
        account(TREASURY),
        0,
        0,
    );
    let meter = onboard(
        &energy,
        at,
        account(MAKER),
        account(OWNER),
        &DeviceSigner::new(9),
        1,
    );
    let info = as_contract(at, || energy.borrow().device_info(meter)).unwrap();
    assert_eq!(info.capabilities, ROOFTOP_METER);
    let battery = Capabilities {
        battery_wh: 10_000,
        ..Capabilities::default()
    };
    let other = crate::live::onboard_with(
        &energy,
        at,
        account(MAKER),
        account(OWNER),
        &DeviceSigner::new(8),
        1,
        battery,
    );
    let info = as_contract(at, || energy.borrow().device_info(other)).unwrap();
    assert_eq!(info.capabilities, battery);
}

/// Issues device 9 and returns its key, its signature for OWNER and the signer.
/// The device's consent to be issued by `maker` on `net`'s registry.
fn consent(net: &Net, signer: &DeviceSigner, maker: AccountId) -> Signature {
    signer.sign(&issue_message(&net.at, &signer.key(), &maker))
}

fn issued(net: &Net) -> ([u8; 33], [u8; 65]) {
    net.maker(true, 5);
    let signer = DeviceSigner::new(9);
    net.by(MAKER, 0)
        .issue_device(
            signer.key(),
            1,
            Capabilities::default(),
            consent(net, &signer, account(MAKER)),
        )
        .unwrap();
    let sig = signer.sign(&onboard_message(&net.at, &signer.key(), &account(OWNER)));
    (signer.key(), sig)
}

#[ink::test]
fn test_onboard_device_not_issued() {
    let net = Net::new();
    let signer = DeviceSigner::new(9);
    let sig = signer.sign(&onboard_message(&net.at, &signer.key(), &account(OWNER)));
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE)
            .onboard_device(signer.key(), None, sig),
        Err(Error::DeviceNotIssued)
    );
}

#[ink::test]
fn test_onboard_device_wrong_signature() {
    let net = Net::new();
    let (key, _) = issued(&net);
    // signed by another key
    let other = DeviceSigner::new(7).sign(&onboard_message(&net.at, &key, &account(OWNER)));
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE)
            .onboard_device(key, None, other),
        Err(Error::InvalidDeviceSignature)
    );
    // signed for another owner
    let theirs = DeviceSigner::new(9).sign(&onboard_message(&net.at, &key, &account(OTHER)));
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE)
            .onboard_device(key, None, theirs),
        Err(Error::InvalidDeviceSignature)
    );
    // malformed recovery byte
    let mut bad = theirs;
    bad[64] = 9;
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE).onboard_device(key, None, bad),
        Err(Error::InvalidDeviceSignature)
    );
}

#[ink::test]
fn test_onboard_device_wrong_fee() {
    let net = Net::new();
    let (key, sig) = issued(&net);
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE - 1)
            .onboard_device(key, None, sig),
        Err(Error::WrongFee)
    );
}

#[ink::test]
fn test_onboard_device_invalid_location() {
    let net = Net::new();
    let (key, sig) = issued(&net);
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE)
            .onboard_device(key, Some(12345), sig),
        Err(Error::InvalidLocation)
    );
}

#[ink::test]
fn test_onboard_device_after_its_maker_was_revoked() {
    let net = Net::new();
    let (key, sig) = issued(&net);
    // the issuing key is stolen: the authority revokes the maker before the owner onboards
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), false, 5)
        .unwrap();
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE).onboard_device(key, None, sig),
        Err(Error::MakerNotApproved)
    );
    let device = depin_ink_shared::host::device_id(&key);
    assert!(net.registry.borrow().device(device).is_none());
    assert!(
        net.registry.borrow().issuance(device).is_some(),
        "the issuance stays"
    );
    let (_, _, _, device_count, _) = as_contract(net.at, || net.registry.borrow().settings());
    assert_eq!(device_count, 0);
    // approved again, the same issuance onboards
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), true, 5)
        .unwrap();
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE).onboard_device(key, None, sig),
        Ok(device)
    );
}

#[ink::test]
fn test_a_lowered_quota_stops_issuing_not_the_devices_already_issued() {
    let net = Net::new();
    let (key, sig) = issued(&net);
    net.by(AUTHORITY, 0)
        .set_maker_approval(account(MAKER), true, 0)
        .unwrap();
    assert_eq!(
        net.by(MAKER, 0).issue_device(
            DeviceSigner::new(8).key(),
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(8), account(MAKER))
        ),
        Err(Error::MakerQuotaExceeded)
    );
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE).onboard_device(key, None, sig),
        Ok(depin_ink_shared::host::device_id(&key))
    );
}

#[ink::test]
fn test_onboard_device_paused() {
    let net = Net::new();
    let (key, sig) = issued(&net);
    net.paused();
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE).onboard_device(key, None, sig),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_assert_location_ok() {
    let net = Net::new();
    let id = net.device();
    set_time(2_000);
    let cell = 0x0852_8308_3fff_ffff; // resolution 5
    net.by(OWNER, LOCATION_FEE)
        .assert_location(id, cell)
        .unwrap();
    let e: LocationAsserted = last_event();
    assert_eq!(
        (e.previous_location, e.location, e.fee_paid),
        (Some(CELL), cell, LOCATION_FEE)
    );
    assert_eq!(
        balance_of(account(TREASURY)),
        u128::from(ONBOARDING_FEE + LOCATION_FEE)
    );
    let device = as_contract(net.at, || net.registry.borrow().device(id)).unwrap();
    assert_eq!(
        (device.location, device.location_changed_at),
        (Some(cell), 2_000)
    );
}

#[ink::test]
fn test_assert_location_errors() {
    let net = Net::new();
    let id = net.device();
    assert_eq!(
        net.by(OWNER, LOCATION_FEE).assert_location(id, 1),
        Err(Error::InvalidLocation)
    );
    assert_eq!(
        net.by(OTHER, LOCATION_FEE).assert_location(id, CELL),
        Err(Error::NotDeviceOwner)
    );
    assert_eq!(
        net.by(OWNER, LOCATION_FEE).assert_location([7; 32], CELL),
        Err(Error::DeviceNotFound)
    );
    assert_eq!(
        net.by(OWNER, LOCATION_FEE + 1).assert_location(id, CELL),
        Err(Error::WrongFee)
    );
    net.by(AUTHORITY, 0)
        .set_device_status(id, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(
        net.by(OWNER, LOCATION_FEE).assert_location(id, CELL),
        Err(Error::DeviceNotActive)
    );
    net.paused();
    assert_eq!(
        net.by(OWNER, LOCATION_FEE).assert_location(id, CELL),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_transfer_device_ok() {
    let net = Net::new();
    let id = net.device();
    net.by(OWNER, 0)
        .transfer_device(id, account(OTHER))
        .unwrap();
    let e: DeviceTransferred = last_event();
    assert_eq!(
        (e.previous_owner, e.new_owner),
        (account(OWNER), account(OTHER))
    );
    let info = as_contract(net.at, || net.registry.borrow().device_info(id)).unwrap();
    assert_eq!(info.owner, account(OTHER));
}

#[ink::test]
fn test_transfer_device_errors() {
    let net = Net::new();
    let id = net.device();
    assert_eq!(
        net.by(OTHER, 0).transfer_device(id, account(OTHER)),
        Err(Error::NotDeviceOwner)
    );
    assert_eq!(
        net.by(OWNER, 0).transfer_device(id, account(OWNER)),
        Err(Error::InvalidNewOwner)
    );
    assert_eq!(
        net.by(OWNER, 0)
            .transfer_device(id, AccountId::from([0; 32])),
        Err(Error::InvalidNewOwner)
    );
    net.by(OWNER, 0)
        .set_device_status(id, DeviceStatus::Decommissioned)
        .unwrap();
    assert_eq!(
        net.by(OWNER, 0).transfer_device(id, account(OTHER)),
        Err(Error::DeviceDecommissioned)
    );
}

#[ink::test]
fn test_transfer_device_paused() {
    let net = Net::new();
    let id = net.device();
    net.paused();
    assert_eq!(
        net.by(OWNER, 0).transfer_device(id, account(OTHER)),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_set_device_status_ok() {
    let net = Net::new();
    let id = net.device();
    net.paused(); // the authority may suspend during a pause
    net.by(AUTHORITY, 0)
        .set_device_status(id, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(net.status(id), DeviceStatus::Suspended);
    net.by(AUTHORITY, 0)
        .set_device_status(id, DeviceStatus::Active)
        .unwrap();
    net.by(AUTHORITY, 0)
        .update_network(None, None, Some(false), None)
        .unwrap();
    set_time(4_321);
    net.by(OWNER, 0)
        .set_device_status(id, DeviceStatus::Decommissioned)
        .unwrap();
    let e: DeviceStatusChanged = last_event();
    assert_eq!(
        (e.changed_by, e.previous_status, e.status, e.timestamp),
        (
            account(OWNER),
            DeviceStatus::Active,
            DeviceStatus::Decommissioned,
            4_321
        )
    );
}

#[ink::test]
fn test_set_device_status_errors() {
    let net = Net::new();
    let id = net.device();
    assert_eq!(
        net.by(OWNER, 0)
            .set_device_status([1; 32], DeviceStatus::Suspended),
        Err(Error::DeviceNotFound)
    );
    assert_eq!(
        net.by(OTHER, 0)
            .set_device_status(id, DeviceStatus::Suspended),
        Err(Error::StatusChangeUnauthorized)
    );
    // owner may not suspend; authority may not decommission nor set the same status
    assert_eq!(
        net.by(OWNER, 0)
            .set_device_status(id, DeviceStatus::Suspended),
        Err(Error::InvalidStatusTransition)
    );
    assert_eq!(
        net.by(AUTHORITY, 0)
            .set_device_status(id, DeviceStatus::Decommissioned),
        Err(Error::InvalidStatusTransition)
    );
    assert_eq!(
        net.by(AUTHORITY, 0)
            .set_device_status(id, DeviceStatus::Active),
        Err(Error::InvalidStatusTransition)
    );
    net.paused();
    assert_eq!(
        net.by(OWNER, 0)
            .set_device_status(id, DeviceStatus::Decommissioned),
        Err(Error::NetworkPaused)
    );
    net.by(AUTHORITY, 0)
        .update_network(None, None, Some(false), None)
        .unwrap();
    net.by(OWNER, 0)
        .set_device_status(id, DeviceStatus::Decommissioned)
        .unwrap();
    assert_eq!(
        net.by(AUTHORITY, 0)
            .set_device_status(id, DeviceStatus::Active),
        Err(Error::DeviceDecommissioned)
    );
}

#[ink::test]
fn test_failed_messages_change_nothing() {
    let net = Net::new();
    let (key, sig) = issued(&net);
    let owner_before = balance_of(account(OWNER));
    let events = event_count();
    assert_eq!(
        net.by(OWNER, ONBOARDING_FEE - 1)
            .onboard_device(key, None, sig),
        Err(Error::WrongFee)
    );
    // the host reverts the call and its value transfer; here we only check that nothing
    // was written or emitted before the refusal
    assert_eq!(event_count(), events);
    let id = depin_ink_shared::host::device_id(&key);
    assert!(as_contract(net.at, || net.registry.borrow().device(id)).is_none());
    assert!(as_contract(net.at, || net.registry.borrow().issuance(id)).is_some());
    assert_eq!(balance_of(account(TREASURY)), 0);
    assert!(balance_of(account(OWNER)) < owner_before);
}

#[ink::test]
fn test_key_account_is_blake2_256_of_the_compressed_key() {
    // blake2b-256 of 33 bytes of 0x02 (Python: hashlib.blake2b(bytes([2] * 33),
    // digest_size=32)), i.e. the AccountId32 of MultiSigner::Ecdsa([2; 33]).
    let expected = [
        0x70, 0xd2, 0x07, 0x90, 0xc6, 0xd0, 0x52, 0x38, 0xdc, 0x6e, 0xb2, 0x10, 0x53, 0xf6, 0xa7,
        0xc0, 0x19, 0x3e, 0x6f, 0x90, 0x81, 0x60, 0x63, 0x38, 0x61, 0xf4, 0x4c, 0x43, 0x5b, 0x20,
        0xa6, 0x55,
    ];
    assert_eq!(key_account(&[2; 33]), AccountId::from(expected));
}

#[ink::test]
fn test_issue_device_key_is_maker_key() {
    // Given a maker whose issuing account is the one the device key controls
    let net = Net::new();
    let signer = DeviceSigner::new(9);
    let maker = key_account(&signer.key());
    net.by(AUTHORITY, 0)
        .register_maker(maker, "acme".into(), 5)
        .unwrap();
    net.by(AUTHORITY, 0)
        .set_maker_approval(maker, true, 5)
        .unwrap();
    let events = event_count();
    // When it issues that device, Then one key would sign as maker and as device: refused
    call(net.at, maker, 0);
    assert_eq!(
        net.registry.borrow_mut().issue_device(
            signer.key(),
            1,
            Capabilities::default(),
            consent(&net, &signer, maker)
        ),
        Err(Error::DeviceKeyIsMakerKey)
    );
    let id = depin_ink_shared::host::device_id(&signer.key());
    assert!(as_contract(net.at, || net.registry.borrow().issuance(id)).is_none());
    assert_eq!(
        as_contract(net.at, || net.registry.borrow().maker(maker))
            .unwrap()
            .devices_issued,
        0
    );
    assert_eq!(event_count(), events);
    // another key is fine for that maker
    call(net.at, maker, 0);
    net.registry
        .borrow_mut()
        .issue_device(
            DeviceSigner::new(8).key(),
            1,
            Capabilities::default(),
            consent(&net, &DeviceSigner::new(8), maker),
        )
        .unwrap();
}

#[ink::test]
fn test_onboard_device_key_is_owner() {
    // Given an issued device and, as would-be owner, the account its key controls
    let net = Net::new();
    let (key, _) = issued(&net);
    let owner = key_account(&key);
    ink::env::test::set_account_balance::<ink::env::DefaultEnvironment>(owner, 1_000_000);
    let sig = DeviceSigner::new(9).sign(&onboard_message(&net.at, &key, &owner));
    // When that account onboards it, Then the device's signature would also be the
    // owner's: refused, and nothing is written
    call(net.at, owner, u128::from(ONBOARDING_FEE));
    assert_eq!(
        net.registry.borrow_mut().onboard_device(key, None, sig),
        Err(Error::DeviceKeyIsOwner)
    );
    let id = depin_ink_shared::host::device_id(&key);
    assert!(as_contract(net.at, || net.registry.borrow().device(id)).is_none());
    assert!(as_contract(net.at, || net.registry.borrow().issuance(id)).is_some());
    assert_eq!(balance_of(account(TREASURY)), 0);
}

#[ink::test]
fn test_transfer_device_to_its_own_key_account() {
    let net = Net::new();
    let id = net.device();
    let key_owner = key_account(&DeviceSigner::new(9).key());
    assert_eq!(
        net.by(OWNER, 0).transfer_device(id, key_owner),
        Err(Error::DeviceKeyIsOwner)
    );
    let info = as_contract(net.at, || net.registry.borrow().device_info(id)).unwrap();
    assert_eq!(info.owner, account(OWNER));
}

// ---- the auditor ----------------------------------------------------------------------

/// The second most recent event, decoded as `T` (`audit_device` emits two).
fn event_before_last<T: ink::scale::Decode>() -> T {
    let events: Vec<_> = ink::env::test::recorded_events().collect();
    let event = &events[events.len() - 2];
    T::decode(&mut &event.data[..]).expect("the event before last has the expected type")
}

#[ink::test]
fn test_set_auditor_ok_rotates_and_clears() {
    let net = Net::new();
    let auditor = || as_contract(net.at, || net.registry.borrow().network_info().auditor);
    assert_eq!(auditor(), None);
    // named, even while paused (authority housekeeping)
    net.paused();
    net.auditor(Some(AUDITOR));
    let e: AuditorSet = last_event();
    assert_eq!((e.previous, e.auditor), (None, Some(account(AUDITOR))));
    assert_eq!(auditor(), Some(account(AUDITOR)));
    net.resumed();
    // rotated
    net.auditor(Some(SUCCESSOR));
    let e: AuditorSet = last_event();
    assert_eq!(
        (e.previous, e.auditor),
        (Some(account(AUDITOR)), Some(account(SUCCESSOR)))
    );
    assert_eq!(auditor(), Some(account(SUCCESSOR)));
    // cleared
    net.auditor(None);
    let e: AuditorSet = last_event();
    assert_eq!((e.previous, e.auditor), (Some(account(SUCCESSOR)), None));
    assert_eq!(auditor(), None);
}

#[ink::test]
fn test_set_auditor_errors() {
    let net = Net::new();
    net.auditor(Some(AUDITOR));
    let events = event_count();
    // only the authority: not a stranger, not the auditor itself
    for who in [OTHER, AUDITOR, OWNER] {
        assert_eq!(
            net.by(who, 0).set_auditor(Some(account(who))),
            Err(Error::NotNetworkAuthority)
        );
        assert_eq!(
            net.by(who, 0).set_auditor(None),
            Err(Error::NotNetworkAuthority)
        );
    }
    assert_eq!(
        net.by(AUTHORITY, 0)
            .set_auditor(Some(AccountId::from([0; 32]))),
        Err(Error::InvalidAuthority)
    );
    assert_eq!(event_count(), events);
    assert_eq!(
        as_contract(net.at, || net.registry.borrow().network_info().auditor),
        Some(account(AUDITOR))
    );
}

#[ink::test]
fn test_audit_device_ok_suspends_and_reinstates_with_evidence_while_paused() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    net.paused(); // suspending is an incident tool
    set_time(6_000);
    net.audit(AUDITOR, id, DeviceStatus::Suspended).unwrap();
    assert_eq!(net.status(id), DeviceStatus::SuspendedByAuditor);
    let changed: DeviceStatusChanged = event_before_last();
    assert_eq!(
        (
            changed.device,
            changed.changed_by,
            changed.previous_status,
            changed.status,
            changed.timestamp
        ),
        (
            id,
            account(AUDITOR),
            DeviceStatus::Active,
            DeviceStatus::SuspendedByAuditor,
            6_000
        )
    );
    let audited: DeviceAudited = last_event();
    assert_eq!(
        (
            audited.device,
            audited.auditor,
            audited.previous_status,
            audited.status,
            audited.evidence
        ),
        (
            id,
            account(AUDITOR),
            DeviceStatus::Active,
            DeviceStatus::SuspendedByAuditor,
            EVIDENCE
        )
    );
    // every other contract now reads the device as inactive
    let info = as_contract(net.at, || net.registry.borrow().device_info(id)).unwrap();
    assert_eq!(info.status, DeviceStatus::SuspendedByAuditor);
    assert!(!info.is_active());
    // the auditor lifts its own suspension
    net.by(AUDITOR, 0)
        .audit_device(id, DeviceStatus::Active, [1; 32])
        .unwrap();
    assert_eq!(net.status(id), DeviceStatus::Active);
    let audited: DeviceAudited = last_event();
    assert_eq!(
        (audited.previous_status, audited.status, audited.evidence),
        (
            DeviceStatus::SuspendedByAuditor,
            DeviceStatus::Active,
            [1; 32]
        )
    );
}

#[ink::test]
fn test_audit_device_not_network_auditor() {
    let net = Net::new();
    let id = net.device();
    // no auditor named yet
    assert_eq!(
        net.audit(AUDITOR, id, DeviceStatus::Suspended),
        Err(Error::NotNetworkAuditor)
    );
    net.auditor(Some(AUDITOR));
    // a stranger, the authority itself, the device's owner
    for who in [OTHER, AUTHORITY, OWNER] {
        assert_eq!(
            net.audit(who, id, DeviceStatus::Suspended),
            Err(Error::NotNetworkAuditor)
        );
    }
    // checked before the device is even looked up
    assert_eq!(
        net.audit(OTHER, [1; 32], DeviceStatus::Suspended),
        Err(Error::NotNetworkAuditor)
    );
    assert_eq!(
        net.audit(AUDITOR, [1; 32], DeviceStatus::Suspended),
        Err(Error::DeviceNotFound)
    );
    assert_eq!(net.status(id), DeviceStatus::Active);
}

#[ink::test]
fn test_audit_device_missing_evidence() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    let events = event_count();
    assert_eq!(
        net.by(AUDITOR, 0)
            .audit_device(id, DeviceStatus::Suspended, [0; 32]),
        Err(Error::MissingEvidence)
    );
    assert_eq!(event_count(), events);
    assert_eq!(net.status(id), DeviceStatus::Active);
}

#[ink::test]
fn test_audit_device_invalid_transitions() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    // nothing to reinstate; statuses the auditor never asks for
    for asked in [
        DeviceStatus::Active,
        DeviceStatus::SuspendedByAuditor,
        DeviceStatus::Decommissioned,
    ] {
        assert_eq!(
            net.audit(AUDITOR, id, asked),
            Err(Error::InvalidStatusTransition)
        );
    }
    // no stacking: a suspended device is not suspended again
    net.audit(AUDITOR, id, DeviceStatus::Suspended).unwrap();
    assert_eq!(
        net.by(AUDITOR, 0)
            .audit_device(id, DeviceStatus::Suspended, [9; 32]),
        Err(Error::InvalidStatusTransition)
    );
    assert_eq!(net.status(id), DeviceStatus::SuspendedByAuditor);
}

#[ink::test]
fn test_auditor_cannot_touch_the_authority_suspension() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    net.authority_sets(id, DeviceStatus::Suspended).unwrap();
    for asked in [DeviceStatus::Active, DeviceStatus::Suspended] {
        assert_eq!(
            net.audit(AUDITOR, id, asked),
            Err(Error::InvalidStatusTransition)
        );
    }
    assert_eq!(net.status(id), DeviceStatus::Suspended);
}

#[ink::test]
fn test_auditor_cannot_touch_a_decommissioned_device() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    net.audit(AUDITOR, id, DeviceStatus::Suspended).unwrap();
    // the owner may still retire a device the auditor suspended
    net.by(OWNER, 0)
        .set_device_status(id, DeviceStatus::Decommissioned)
        .unwrap();
    for asked in [DeviceStatus::Active, DeviceStatus::Suspended] {
        assert_eq!(
            net.audit(AUDITOR, id, asked),
            Err(Error::DeviceDecommissioned)
        );
    }
    // even without evidence, the final status is what is reported
    assert_eq!(
        net.by(AUDITOR, 0)
            .audit_device(id, DeviceStatus::Active, [0; 32]),
        Err(Error::DeviceDecommissioned)
    );
    assert_eq!(net.status(id), DeviceStatus::Decommissioned);
}

#[ink::test]
fn test_authority_reverses_or_takes_over_the_auditor_suspension() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    net.audit(AUDITOR, id, DeviceStatus::Suspended).unwrap();
    // the owner cannot lift it, nobody sets the auditor's status by hand
    assert_eq!(
        net.by(OWNER, 0).set_device_status(id, DeviceStatus::Active),
        Err(Error::InvalidStatusTransition)
    );
    assert_eq!(
        net.authority_sets(id, DeviceStatus::SuspendedByAuditor),
        Err(Error::InvalidStatusTransition)
    );
    // the authority reverses it, even while paused
    net.paused();
    net.authority_sets(id, DeviceStatus::Active).unwrap();
    let e: DeviceStatusChanged = last_event();
    assert_eq!(
        (e.changed_by, e.previous_status, e.status),
        (
            account(AUTHORITY),
            DeviceStatus::SuspendedByAuditor,
            DeviceStatus::Active
        )
    );
    assert_eq!(
        net.authority_sets(id, DeviceStatus::SuspendedByAuditor),
        Err(Error::InvalidStatusTransition)
    );
    // or takes it over: then it is the authority's, which the auditor cannot lift
    net.audit(AUDITOR, id, DeviceStatus::Suspended).unwrap();
    net.authority_sets(id, DeviceStatus::Suspended).unwrap();
    assert_eq!(net.status(id), DeviceStatus::Suspended);
    assert_eq!(
        net.audit(AUDITOR, id, DeviceStatus::Active),
        Err(Error::InvalidStatusTransition)
    );
}

#[ink::test]
fn test_rotated_out_auditor_loses_the_power() {
    let net = Net::new();
    let id = net.device();
    net.auditor(Some(AUDITOR));
    net.audit(AUDITOR, id, DeviceStatus::Suspended).unwrap();
    net.auditor(Some(SUCCESSOR));
    // the old auditor can neither lift its suspension nor make a new one
    assert_eq!(
        net.audit(AUDITOR, id, DeviceStatus::Active),
        Err(Error::NotNetworkAuditor)
    );
    // its suspension stands until the successor (or the authority) lifts it
    assert_eq!(net.status(id), DeviceStatus::SuspendedByAuditor);
    net.audit(SUCCESSOR, id, DeviceStatus::Active).unwrap();
    assert_eq!(
        net.audit(AUDITOR, id, DeviceStatus::Suspended),
        Err(Error::NotNetworkAuditor)
    );
    // once removed, nobody audits
    net.auditor(None);
    assert_eq!(
        net.audit(SUCCESSOR, id, DeviceStatus::Suspended),
        Err(Error::NotNetworkAuditor)
    );
    assert_eq!(net.status(id), DeviceStatus::Active);
}
