//! Every cross-contract read the contracts make, as real calls between Wasm contracts on
//! pallet-contracts: each read is shown to reach the other contract's live storage by an
//! answer that only that storage can produce (a refusal with the exact error, or a payment
//! to the account the other contract names). A refused message is reverted by the runtime
//! with the value it carried.

use depin_ink_e2e::chain::ChainError;
use depin_ink_e2e::suite::{account, at, Suite, AUTHORITY, MAKER, TREASURY};
use depin_ink_shared::testing::DeviceSigner;
use depin_ink_shared::{DeviceStatus, NetworkKind};
use device_registry::device_registry::DeviceRegistryRef;
use energy_settlement::energy_settlement::{EnergySettlementRef, Error as EnergyError};
use ink::codegen::TraitCallBuilder;
use ink::primitives::AccountId;
use ink::scale::Decode;
use rewards::rewards::{Error as RewardsError, RewardsRef};
use staking::staking::{Error as StakingError, StakingRef};
use storage_escrow::storage_escrow::{DealTerms, Error as StorageError, StorageEscrowRef};

const OWNER: u8 = 4;
const OTHER: u8 = 5;
const ORACLE: u8 = 11;
const PEOPLE: [u8; 6] = [AUTHORITY, TREASURY, MAKER, OWNER, OTHER, ORACLE];

fn suite() -> Suite {
    Suite::new(&PEOPLE, 1_000_000_000_000).expect("the suite is deployed")
}

/// The error a reverted constructor answered.
fn constructor_error<E: Decode>(result: Result<AccountId, ChainError>) -> E {
    match result {
        Err(ChainError::Reverted(data)) => {
            match <ink::ConstructorResult<Result<(), E>>>::decode(&mut &data[..]) {
                Ok(Ok(Err(e))) => e,
                other => panic!(
                    "not a constructor error: {:?}",
                    other.map(|r| r.map(|_| ()))
                ),
            }
        }
        other => panic!("the constructor did not revert: {other:?}"),
    }
}

fn pause(suite: &mut Suite, registry: AccountId, paused: bool) {
    let mut r: DeviceRegistryRef = at(registry);
    let answer = suite
        .chain
        .call(
            "update_network",
            account(AUTHORITY),
            0,
            r.call_mut().update_network(None, None, Some(paused), None),
        )
        .unwrap();
    assert_eq!(answer, Ok(()));
}

fn set_status(suite: &mut Suite, registry: AccountId, device: [u8; 32], status: DeviceStatus) {
    let mut r: DeviceRegistryRef = at(registry);
    let answer = suite
        .chain
        .call(
            "set_device_status",
            account(AUTHORITY),
            0,
            r.call_mut().set_device_status(device, status),
        )
        .unwrap();
    assert_eq!(answer, Ok(()));
}

#[test]
fn constructors_read_the_registry_network_info() {
    // Given a wireless registry
    let mut s = suite();
    let wireless = s.registry(NetworkKind::Wireless).unwrap();
    let (staking, storage, energy) = (
        s.code.staking.clone(),
        s.code.storage.clone(),
        s.code.energy.clone(),
    );
    // When anyone but its authority instantiates a module for it, Then the module refuses:
    // it read `network_info().authority` from the registry
    let ctor = StakingRef::new(wireless, 500, 3_600, account(AUTHORITY));
    let refused = s
        .chain
        .instantiate("staking", &staking, account(OTHER), 0, ctor);
    assert_eq!(
        constructor_error::<StakingError>(refused),
        StakingError::NotNetworkAuthority
    );
    // and the markets refuse a network of the wrong kind (`network_info().kind`)
    let ctor = StorageEscrowRef::new(wireless, 100, 10, 2, 2, 1_000, 500);
    let refused = s
        .chain
        .instantiate("storage-escrow", &storage, account(AUTHORITY), 0, ctor);
    assert_eq!(
        constructor_error::<StorageError>(refused),
        StorageError::NotStorageNetwork
    );
    let ctor = EnergySettlementRef::new(wireless, depin_ink_e2e::suite::energy_params());
    let refused = s
        .chain
        .instantiate("energy-settlement", &energy, account(AUTHORITY), 0, ctor);
    assert_eq!(
        constructor_error::<EnergyError>(refused),
        EnergyError::NotEnergyNetwork
    );
    // and a paused network (`network_info().paused`)
    pause(&mut s, wireless, true);
    let ctor = StakingRef::new(wireless, 500, 3_600, account(AUTHORITY));
    let refused = s
        .chain
        .instantiate("staking", &staking, account(AUTHORITY), 0, ctor);
    assert_eq!(
        constructor_error::<StakingError>(refused),
        StakingError::NetworkPaused
    );
    // Then, once the registry runs again, the authority's instantiation goes through
    pause(&mut s, wireless, false);
    assert!(s.staking(wireless, 500, 3_600).is_ok());
}

/// A wireless network: OWNER's hotspot onboarded, staked (500) and bonded; rewards funded
/// with 10,000 and epoch 0 finalized by the one oracle, owing the hotspot 1,000.
struct Wireless {
    s: Suite,
    registry: AccountId,
    staking: AccountId,
    rewards: AccountId,
    hotspot: [u8; 32],
    proof: Vec<[u8; 32]>,
}

fn wireless() -> Wireless {
    use depin_core::merkle::{reward_leaf, MerkleTree};
    use depin_ink_shared::host::InkSha256;
    let mut s = suite();
    s.chain.set_time(10_000);
    let registry = s.registry(NetworkKind::Wireless).unwrap();
    let hotspot = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(9), 1)
        .unwrap();
    let staking = s.staking(registry, 500, 3_600).unwrap();
    let mut pool: StakingRef = at(staking);
    assert_eq!(
        s.chain
            .call("stake", account(OWNER), 500, pool.call_mut().stake())
            .unwrap(),
        Ok(500)
    );
    assert_eq!(
        s.chain
            .call(
                "bond_device",
                account(OWNER),
                0,
                pool.call_mut().bond_device(hotspot)
            )
            .unwrap(),
        Ok(())
    );
    let rewards = s
        .rewards(registry, staking, 600, 10_000, vec![account(ORACLE)], 1)
        .unwrap();
    let mut r: RewardsRef = at(rewards);
    assert_eq!(
        s.chain
            .call("fund", account(AUTHORITY), 10_000, r.call_mut().fund())
            .unwrap(),
        Ok(())
    );
    let leaves = vec![
        reward_leaf::<InkSha256>(&hotspot, account(OWNER).as_ref(), 1_000),
        reward_leaf::<InkSha256>(&[0xEE; 32], account(OTHER).as_ref(), 500),
    ];
    let tree = MerkleTree::new::<InkSha256>(leaves).unwrap();
    s.chain.set_time(10_600);
    let finalized = s
        .chain
        .call(
            "propose_root",
            account(ORACLE),
            0,
            r.call_mut().propose_root(0, tree.root(), 1_500, [0; 32]),
        )
        .unwrap();
    assert_eq!(finalized, Ok(true));
    Wireless {
        s,
        registry,
        staking,
        rewards,
        hotspot,
        proof: tree.proof(0).unwrap(),
    }
}

#[test]
fn staking_reads_network_and_device_from_the_registry() {
    let Wireless {
        mut s,
        registry,
        staking,
        hotspot,
        ..
    } = wireless();
    let mut pool: StakingRef = at(staking);
    let other = account(OTHER);
    assert_eq!(
        s.chain
            .call("stake", other, 500, pool.call_mut().stake())
            .unwrap(),
        Ok(500)
    );
    // `device_info`: unknown to the registry, owned by someone else
    let bond = s
        .chain
        .call(
            "bond_device",
            other,
            0,
            pool.call_mut().bond_device([0x77; 32]),
        )
        .unwrap();
    assert_eq!(bond, Err(StakingError::DeviceNotFound));
    let second = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(8), 1)
        .unwrap();
    let bond = s
        .chain
        .call("bond_device", other, 0, pool.call_mut().bond_device(second))
        .unwrap();
    assert_eq!(bond, Err(StakingError::NotDeviceOwner));
    // the device's status, as the registry holds it right now
    set_status(&mut s, registry, second, DeviceStatus::Suspended);
    let bond = s
        .chain
        .call(
            "bond_device",
            account(OWNER),
            0,
            pool.call_mut().bond_device(second),
        )
        .unwrap();
    assert_eq!(bond, Err(StakingError::DeviceNotActive));
    // `network_info().paused`
    pause(&mut s, registry, true);
    let staked = s
        .chain
        .call("stake", other, 10, pool.call_mut().stake())
        .unwrap();
    assert_eq!(staked, Err(StakingError::NetworkPaused));
    pause(&mut s, registry, false);
    // `network_info().authority`: only the registry's authority updates the pool
    let update = pool.call_mut().update_pool(Some(400), Some(60), None);
    assert_eq!(
        s.chain.call("update_pool", other, 0, update).unwrap(),
        Err(StakingError::NotNetworkAuthority)
    );
    let update = pool.call_mut().update_pool(Some(500), Some(3_600), None);
    assert_eq!(
        s.chain
            .call("update_pool", account(AUTHORITY), 0, update)
            .unwrap(),
        Ok(())
    );
    // `network_info().treasury`: a slash pays the registry's treasury
    let treasury = s.chain.free_balance(account(TREASURY));
    let slash = pool.call_mut().slash(other, 100, [0x5a; 32]);
    assert_eq!(
        s.chain.call("slash", account(AUTHORITY), 0, slash).unwrap(),
        Ok(())
    );
    assert_eq!(s.chain.free_balance(account(TREASURY)), treasury + 100);
    // `device_info().owner`: the device's new owner may release its bond
    let mut r: DeviceRegistryRef = at(registry);
    let moved = s
        .chain
        .call(
            "transfer_device",
            account(OWNER),
            0,
            r.call_mut().transfer_device(hotspot, other),
        )
        .unwrap();
    assert_eq!(moved, Ok(()));
    let unbond = s
        .chain
        .call(
            "unbond_device",
            account(MAKER),
            0,
            pool.call_mut().unbond_device(hotspot),
        )
        .unwrap();
    assert_eq!(unbond, Err(StakingError::NotBondParty));
    let unbond = s
        .chain
        .call(
            "unbond_device",
            other,
            0,
            pool.call_mut().unbond_device(hotspot),
        )
        .unwrap();
    assert_eq!(unbond, Ok(()));
}

#[test]
fn rewards_reads_the_registry_and_the_staking_bond() {
    let Wireless {
        mut s,
        registry,
        staking,
        rewards,
        hotspot,
        proof,
    } = wireless();
    let mut r: RewardsRef = at(rewards);
    let mut pool: StakingRef = at(staking);
    let owner = account(OWNER);
    let crank = account(OTHER);
    // the crank claims the hotspot's 1,000 of epoch 0 for its owner
    let claim = |s: &mut Suite| {
        let mut r: RewardsRef = at(rewards);
        s.chain
            .call(
                "claim",
                crank,
                0,
                r.call_mut().claim(hotspot, 0, 1_000, proof.clone()),
            )
            .unwrap()
    };
    let before = s.chain.free_balance(owner);
    let since = s.chain.costs().len();
    // `network_info().paused`
    pause(&mut s, registry, true);
    assert_eq!(claim(&mut s), Err(RewardsError::NetworkPaused));
    pause(&mut s, registry, false);
    // `device_info().status`
    set_status(&mut s, registry, hotspot, DeviceStatus::Suspended);
    assert_eq!(claim(&mut s), Err(RewardsError::DeviceNotActive));
    set_status(&mut s, registry, hotspot, DeviceStatus::Active);
    // staking's `bond_info`: no bond, no reward
    let unbond = s
        .chain
        .call(
            "unbond_device",
            owner,
            0,
            pool.call_mut().unbond_device(hotspot),
        )
        .unwrap();
    assert_eq!(unbond, Ok(()));
    assert_eq!(claim(&mut s), Err(RewardsError::DeviceNotBonded));
    // a slash below the per-device minimum leaves the bond under-collateralized
    let bond = s
        .chain
        .call(
            "bond_device",
            owner,
            0,
            pool.call_mut().bond_device(hotspot),
        )
        .unwrap();
    assert_eq!(bond, Ok(()));
    let slash = pool.call_mut().slash(owner, 1, [0x5a; 32]);
    assert_eq!(
        s.chain.call("slash", account(AUTHORITY), 0, slash).unwrap(),
        Ok(())
    );
    assert_eq!(claim(&mut s), Err(RewardsError::UnderCollateralized));
    assert_eq!(
        s.chain
            .call("stake", owner, 1, pool.call_mut().stake())
            .unwrap(),
        Ok(500)
    );
    // `device_info().owner` against `bond_info().staker`: a transferred device's reward
    // is not paid while the old owner's stake backs it
    let mut registry_ref: DeviceRegistryRef = at(registry);
    let moved = s
        .chain
        .call(
            "transfer_device",
            owner,
            0,
            registry_ref.call_mut().transfer_device(hotspot, crank),
        )
        .unwrap();
    assert_eq!(moved, Ok(()));
    assert_eq!(claim(&mut s), Err(RewardsError::BondStakerNotOwner));
    let moved = s
        .chain
        .call(
            "transfer_device",
            crank,
            0,
            registry_ref.call_mut().transfer_device(hotspot, owner),
        )
        .unwrap();
    assert_eq!(moved, Ok(()));
    // Then with every read satisfied the claim pays the owner the registry names
    assert_eq!(claim(&mut s), Ok(1_000));
    // (less the 1 it staked back in and the storage deposits of its own calls)
    let deposits = u128::try_from(s.chain.deposits_paid(owner, since)).unwrap();
    assert_eq!(s.chain.free_balance(owner), before + 1_000 - 1 - deposits);
    // `network_info().authority`: only the registry's authority sets the oracles
    let set = r.call_mut().set_oracles(vec![account(OTHER)], 1);
    assert_eq!(
        s.chain.call("set_oracles", crank, 0, set).unwrap(),
        Err(RewardsError::NotNetworkAuthority)
    );
}

#[test]
fn storage_reads_the_provider_device_and_the_treasury() {
    let mut s = suite();
    let registry = s.registry(NetworkKind::Storage).unwrap();
    let node = s
        .onboard(registry, account(OWNER), &DeviceSigner::new(8), 1)
        .unwrap();
    let market_at = s.storage(registry).unwrap();
    let mut market: StorageEscrowRef = at(market_at);
    let client = account(OTHER);
    let terms = |device| DealTerms {
        provider_device: device,
        piece_root: [0x11; 32],
        chunk_size: 64,
        num_chunks: 4,
        price_per_period: 1_000,
        periods: 2,
        collateral: 3_000,
    };
    let before = s.chain.free_balance(client);
    // `device_info`: a provider the registry does not know; the refused call's value
    // comes back with the revert
    let propose = s
        .chain
        .call(
            "propose_deal",
            client,
            2_000,
            market.call_mut().propose_deal(0, terms([0x77; 32])),
        )
        .unwrap();
    assert_eq!(propose, Err(StorageError::NotStorageDevice));
    assert_eq!(s.chain.free_balance(client), before);
    // `network_info().paused`
    pause(&mut s, registry, true);
    let propose = s
        .chain
        .call(
            "propose_deal",
            client,
            2_000,
            market.call_mut().propose_deal(0, terms(node)),
        )
        .unwrap();
    assert_eq!(propose, Err(StorageError::NetworkPaused));
    pause(&mut s, registry, false);
    let propose = s
        .chain
        .call(
            "propose_deal",
            client,
            2_000,
            market.call_mut().propose_deal(0, terms(node)),
        )
        .unwrap();
    assert_eq!(propose, Ok(()));
    let hash = s
        .chain
        .call(
            "deal_terms_hash",
            client,
            0,
            market.call().deal_terms_hash(client, 0),
        )
        .unwrap()
        .unwrap();
    // `device_info().owner` and `.status` at acceptance
    let accept = s
        .chain
        .call(
            "accept_deal",
            client,
            3_000,
            market.call_mut().accept_deal(client, 0, hash),
        )
        .unwrap();
    assert_eq!(accept, Err(StorageError::NotDeviceOwner));
    set_status(&mut s, registry, node, DeviceStatus::Suspended);
    let accept = s
        .chain
        .call(
            "accept_deal",
            account(OWNER),
            3_000,
            market.call_mut().accept_deal(client, 0, hash),
        )
        .unwrap();
    assert_eq!(accept, Err(StorageError::DeviceNotActive));
    set_status(&mut s, registry, node, DeviceStatus::Active);
    let accept = s
        .chain
        .call(
            "accept_deal",
            account(OWNER),
            3_000,
            market.call_mut().accept_deal(client, 0, hash),
        )
        .unwrap();
    assert_eq!(accept, Ok(()));
    // `network_info().treasury`: two unproven periods (the fault limit) terminate the
    // deal; each period's price and its 10% collateral slash go to the client, the rest
    // of the collateral to the treasury the registry names
    let treasury = s.chain.free_balance(account(TREASURY));
    let since = s.chain.costs().len();
    let client_before = s.chain.free_balance(client);
    s.chain.set_time(200);
    let fault = s
        .chain
        .call(
            "report_fault",
            client,
            0,
            market.call_mut().report_fault(client, 0, 0),
        )
        .unwrap();
    assert_eq!(fault, Ok(false));
    let fault = s
        .chain
        .call(
            "report_fault",
            client,
            0,
            market.call_mut().report_fault(client, 0, 1),
        )
        .unwrap();
    assert_eq!(fault, Ok(true));
    let deposits = s.chain.deposits_paid(client, since);
    let client_after = i128::try_from(s.chain.free_balance(client)).unwrap() + deposits;
    assert_eq!(
        client_after,
        i128::try_from(client_before).unwrap() + 1_000 + 300 + 1_000 + 270
    );
    assert_eq!(
        s.chain.free_balance(account(TREASURY)),
        treasury + 3_000 - 300 - 270
    );
}

#[test]
fn energy_reads_devices_network_and_treasury() {
    let mut s = suite();
    let registry = s.registry(NetworkKind::Energy).unwrap();
    let meter = DeviceSigner::new(7);
    let panel = s.onboard(registry, account(OWNER), &meter, 3).unwrap();
    let market_at = s.energy(registry).unwrap();
    let mut market: EnergySettlementRef = at(market_at);
    let iv = 100u64;
    s.chain.set_time(80_000);
    let other = account(OTHER);
    // `device_info`: unknown, someone else's, suspended; `network_info().paused`
    let ask = s
        .chain
        .call(
            "place_ask",
            account(OWNER),
            0,
            market.call_mut().place_ask(iv, [0x77; 32], 120, 2_000),
        )
        .unwrap();
    assert_eq!(ask, Err(EnergyError::DeviceNotFound));
    let ask = s
        .chain
        .call(
            "place_ask",
            other,
            0,
            market.call_mut().place_ask(iv, panel, 120, 2_000),
        )
        .unwrap();
    assert_eq!(ask, Err(EnergyError::NotDeviceOwner));
    let before = s.chain.free_balance(other);
    let bid = s
        .chain
        .call(
            "place_bid",
            other,
            270,
            market.call_mut().place_bid(iv, panel, 180, 1_500),
        )
        .unwrap();
    assert_eq!(bid, Err(EnergyError::NotDeviceOwner));
    assert_eq!(s.chain.free_balance(other), before);
    set_status(&mut s, registry, panel, DeviceStatus::Suspended);
    let ask = s
        .chain
        .call(
            "place_ask",
            account(OWNER),
            0,
            market.call_mut().place_ask(iv, panel, 120, 2_000),
        )
        .unwrap();
    assert_eq!(ask, Err(EnergyError::DeviceNotActive));
    set_status(&mut s, registry, panel, DeviceStatus::Active);
    pause(&mut s, registry, true);
    let ask = s
        .chain
        .call(
            "place_ask",
            account(OWNER),
            0,
            market.call_mut().place_ask(iv, panel, 120, 2_000),
        )
        .unwrap();
    assert_eq!(ask, Err(EnergyError::NetworkPaused));
    pause(&mut s, registry, false);
    let ask = s
        .chain
        .call(
            "place_ask",
            account(OWNER),
            0,
            market.call_mut().place_ask(iv, panel, 120, 2_000),
        )
        .unwrap();
    assert_eq!(ask, Ok(0));
    // a reading is accepted only for a device the registry holds active, signed by its key
    s.chain.set_time(90_900);
    let message = depin_core::meter::reading_message(market_at.as_ref(), &panel, iv, 1_200, 40, 1);
    let forged = DeviceSigner::new(6).sign(&message);
    let read = s
        .chain
        .call(
            "submit_reading",
            other,
            0,
            market
                .call_mut()
                .submit_reading(panel, iv, 1_200, 40, 1, forged),
        )
        .unwrap();
    assert_eq!(read, Err(EnergyError::InvalidSignature));
    set_status(&mut s, registry, panel, DeviceStatus::Suspended);
    let read = s
        .chain
        .call(
            "submit_reading",
            other,
            0,
            market
                .call_mut()
                .submit_reading(panel, iv, 1_200, 40, 1, meter.sign(&message)),
        )
        .unwrap();
    assert_eq!(read, Err(EnergyError::DeviceNotActive));
    set_status(&mut s, registry, panel, DeviceStatus::Active);
    let read = s
        .chain
        .call(
            "submit_reading",
            other,
            0,
            market
                .call_mut()
                .submit_reading(panel, iv, 1_200, 40, 1, meter.sign(&message)),
        )
        .unwrap();
    assert_eq!(read, Ok(()));
}
