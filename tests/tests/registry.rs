//! Device registry: every instruction's happy path and every error path, through the SDK,
//! inside the real runtime with the real SPL Token program.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use depin_sdk::accounts::{Device, DeviceStatus, Maker, Network, NetworkKind};
use depin_sdk::events::decode_event;
use depin_sdk::registry::{
    self, InitializeNetworkArgs, RegisterMakerArgs, SetMakerApprovalArgs, UpdateNetworkArgs,
};
use depin_sdk::{pda, Instruction, Pubkey};
use depin_tests::assert::assert_error;
use depin_tests::fixture::{default_device_args, NetworkFixture, NetworkParams, DEFAULT_LOCATION};
use depin_tests::runtime::Suite;
use depin_tests::{Keypair, Signer};
use device_registry::error::RegistryError;
use device_registry::events::{AuditorSet, DeviceAudited, DeviceOnboarded, DeviceStatusChanged};

/// A second well-formed H3 cell (resolution 9).
const OTHER_LOCATION: u64 = 0x0892_8308_280f_ffff;
/// Mode bits 0 (not a cell index).
const MALFORMED_LOCATION: u64 = 0x00a2_a107_2b59_ffff;

fn unsign(mut ix: Instruction, key: &Pubkey) -> Instruction {
    for meta in ix.accounts.iter_mut().filter(|m| m.pubkey == *key) {
        meta.is_signer = false;
    }
    ix
}

async fn network(suite: &mut Suite) -> NetworkFixture {
    suite.create_network(NetworkParams::default()).await
}

async fn pause(suite: &mut Suite, net: &NetworkFixture, paused: bool) {
    let ix = registry::update_network(
        &net.authority.pubkey(),
        &net.network,
        None,
        UpdateNetworkArgs {
            paused: Some(paused),
            ..Default::default()
        },
    );
    suite.send(&[ix], &[&net.authority]).await.expect("pause");
}

#[tokio::test]
async fn account_sizes_match_their_layout() {
    // discriminator + fields, written out by hand from the structs' docs
    assert_eq!(
        Network::SIZE,
        8 + 4 + 32 + 33 + 33 + 1 + 32 * 3 + 8 * 3 + 4 + 1 + 8 + 1
    );
    assert_eq!(Maker::SIZE, 8 + 32 + 32 + (4 + 32) + 1 + 4 + 4 + 1);
    assert_eq!(
        Device::SIZE,
        8 + 32 * 4 + 1 + (4 + 8 + 4 + 4) + 9 + 1 + 8 + 8 + 1
    );
}

#[tokio::test]
async fn spl_token_is_the_real_bpf_program() {
    let mut suite = Suite::start().await;
    let program = suite
        .raw_account(spl_token::ID)
        .await
        .expect("token program loaded");
    assert!(program.executable);
    // a BPF loader owns it (not the native loader a builtin stand-in would have)
    assert!(
        program.owner.to_string().starts_with("BPFLoader"),
        "owner {}",
        program.owner
    );

    // and a CPI into it moves real balances: the onboarding fee
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    suite.onboard(&net, &maker, &op).await.expect("onboard");
    assert_eq!(
        suite.token_balance(op.token_account).await,
        100_000_000 - net.params.onboarding_fee
    );
    assert_eq!(
        suite.token_balance(net.treasury).await,
        net.params.onboarding_fee
    );
}

#[tokio::test]
async fn initialize_network_ok() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let state: Network = suite.account(net.network).await;
    assert_eq!(state.network_id, net.network_id);
    assert_eq!(state.authority, net.authority.pubkey());
    assert_eq!(state.pending_authority, None);
    assert_eq!(state.kind, NetworkKind::Wireless);
    assert_eq!(state.fee_mint, net.token.mint);
    assert_eq!(state.reward_mint, net.reward_mint);
    assert_eq!(state.treasury, net.treasury);
    assert_eq!(state.onboarding_fee, net.params.onboarding_fee);
    assert_eq!(state.location_fee, net.params.location_fee);
    assert_eq!(
        (state.device_count, state.maker_count, state.paused),
        (0, 0, false)
    );
    assert_eq!(state.bump, pda::network(net.network_id).1);
}

#[tokio::test]
async fn initialize_network_missing_authority_signature() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let authority = Keypair::new();
    let ix = registry::initialize_network(
        &suite.payer(),
        &authority.pubkey(),
        &net.reward_mint,
        &net.token.mint,
        &net.treasury,
        InitializeNetworkArgs {
            network_id: 999,
            kind: NetworkKind::Energy,
            onboarding_fee: 0,
            location_fee: 0,
        },
    );
    let result = suite.send(&[unsign(ix, &authority.pubkey())], &[]).await;
    assert_error(result, AnchorError::AccountNotSigner);
    assert!(!suite.exists(pda::network(999).0).await);
}

#[tokio::test]
async fn initialize_network_treasury_of_wrong_mint() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let authority = Keypair::new();
    let ix = registry::initialize_network(
        &suite.payer(),
        &authority.pubkey(),
        &net.reward_mint,
        &net.reward_mint, // fee mint differs from the treasury's mint
        &net.treasury,
        InitializeNetworkArgs {
            network_id: 998,
            kind: NetworkKind::Storage,
            onboarding_fee: 1,
            location_fee: 1,
        },
    );
    assert_error(
        suite.send(&[ix], &[&authority]).await,
        RegistryError::WrongFeeMint,
    );
}

#[tokio::test]
async fn initialize_network_twice() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let ix = registry::initialize_network(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.reward_mint,
        &net.token.mint,
        &net.treasury,
        InitializeNetworkArgs {
            network_id: net.network_id,
            kind: NetworkKind::Energy,
            onboarding_fee: 0,
            location_fee: 0,
        },
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::NetworkIdTaken,
    );
    assert_eq!(
        suite.account::<Network>(net.network).await.kind,
        NetworkKind::Wireless
    );
}

#[tokio::test]
async fn initialize_network_at_a_prefunded_address() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let authority = Keypair::new();
    suite.airdrop(&pda::network(4242).0, 1_000_000).await;
    let ix = registry::initialize_network(
        &suite.payer(),
        &authority.pubkey(),
        &net.reward_mint,
        &net.token.mint,
        &net.treasury,
        InitializeNetworkArgs {
            network_id: 4242,
            kind: NetworkKind::Compute,
            onboarding_fee: 0,
            location_fee: 0,
        },
    );
    suite.send(&[ix], &[&authority]).await.expect("initialize");
    let state: Network = suite.account(pda::network(4242).0).await;
    assert_eq!(
        (state.kind, state.authority),
        (NetworkKind::Compute, authority.pubkey())
    );
}

#[tokio::test]
async fn update_network_ok() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let new_treasury = suite
        .create_token_account(
            &spl_token::ID,
            &net.token.mint,
            &net.treasury_owner.pubkey(),
        )
        .await;
    let ix = registry::update_network(
        &net.authority.pubkey(),
        &net.network,
        Some(new_treasury),
        UpdateNetworkArgs {
            onboarding_fee: Some(7),
            location_fee: Some(3),
            paused: Some(true),
        },
    );
    suite.send(&[ix], &[&net.authority]).await.expect("update");
    let state: Network = suite.account(net.network).await;
    assert_eq!(
        (state.onboarding_fee, state.location_fee, state.paused),
        (7, 3, true)
    );
    assert_eq!(state.treasury, new_treasury);
    assert_eq!(state.resumed_at, 0, "a pause is no resume");

    // resuming is allowed while paused, `None` leaves settings alone, and the resume's
    // time is kept (windows given to users count again from it)
    suite.set_time(1_900_000_000).await;
    pause(&mut suite, &net, false).await;
    let state: Network = suite.account(net.network).await;
    assert_eq!(
        (state.onboarding_fee, state.location_fee, state.paused),
        (7, 3, false)
    );
    assert_eq!(state.resumed_at, 1_900_000_000);
    // resuming a running network is no resume
    suite.set_time(1_900_000_500).await;
    pause(&mut suite, &net, false).await;
    let state: Network = suite.account(net.network).await;
    assert_eq!(state.resumed_at, 1_900_000_000);
}

#[tokio::test]
async fn update_network_by_stranger() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let stranger = Keypair::new();
    let ix = registry::update_network(
        &stranger.pubkey(),
        &net.network,
        None,
        UpdateNetworkArgs::default(),
    );
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        RegistryError::NotNetworkAuthority,
    );
}

#[tokio::test]
async fn update_network_treasury_of_wrong_mint() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let wrong = suite
        .create_token_account(
            &spl_token::ID,
            &net.reward_mint,
            &net.treasury_owner.pubkey(),
        )
        .await;
    let ix = registry::update_network(
        &net.authority.pubkey(),
        &net.network,
        Some(wrong),
        UpdateNetworkArgs::default(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::WrongFeeMint,
    );
}

#[tokio::test]
async fn authority_rotation_ok() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let successor = Keypair::new();
    pause(&mut suite, &net, true).await; // rotation works during an incident
    let propose =
        registry::propose_authority(&net.authority.pubkey(), &net.network, &successor.pubkey());
    suite
        .send(&[propose], &[&net.authority])
        .await
        .expect("propose");
    let state: Network = suite.account(net.network).await;
    assert_eq!(state.pending_authority, Some(successor.pubkey()));
    assert_eq!(
        state.authority,
        net.authority.pubkey(),
        "nothing changes before acceptance"
    );

    let accept = registry::accept_authority(&successor.pubkey(), &net.network);
    suite.send(&[accept], &[&successor]).await.expect("accept");
    let state: Network = suite.account(net.network).await;
    assert_eq!(state.authority, successor.pubkey());
    assert_eq!(state.pending_authority, None);

    // the old authority has lost its rights
    let ix = registry::update_network(
        &net.authority.pubkey(),
        &net.network,
        None,
        UpdateNetworkArgs::default(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::NotNetworkAuthority,
    );
}

#[tokio::test]
async fn accept_authority_by_wrong_key() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let successor = Keypair::new();
    let impostor = Keypair::new();
    // Given no rotation pending, nobody can accept
    let early = registry::accept_authority(&successor.pubkey(), &net.network);
    assert_error(
        suite.send(&[early], &[&successor]).await,
        RegistryError::NotPendingAuthority,
    );
    // Given a proposal for `successor`, another key cannot accept
    let propose =
        registry::propose_authority(&net.authority.pubkey(), &net.network, &successor.pubkey());
    suite
        .send(&[propose], &[&net.authority])
        .await
        .expect("propose");
    let accept = registry::accept_authority(&impostor.pubkey(), &net.network);
    assert_error(
        suite.send(&[accept], &[&impostor]).await,
        RegistryError::NotPendingAuthority,
    );
    let state: Network = suite.account(net.network).await;
    assert_eq!(state.authority, net.authority.pubkey());
}

#[tokio::test]
async fn propose_authority_by_stranger_or_to_default_key() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let stranger = Keypair::new();
    let ix = registry::propose_authority(&stranger.pubkey(), &net.network, &stranger.pubkey());
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        RegistryError::NotNetworkAuthority,
    );
    let ix = registry::propose_authority(&net.authority.pubkey(), &net.network, &Pubkey::default());
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::InvalidAuthority,
    );
}

#[tokio::test]
async fn register_maker_and_approve_ok() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme Radio", 3, false).await;
    let state: Maker = suite.account(maker.maker).await;
    assert_eq!(state.name, "Acme Radio");
    assert_eq!(state.maker_authority, maker.authority.pubkey());
    assert!(!state.approved);
    assert_eq!((state.device_quota, state.devices_onboarded), (3, 0));
    let net_state: Network = suite.account(net.network).await;
    assert_eq!(net_state.maker_count, 1);

    let approve = registry::set_maker_approval(
        &net.authority.pubkey(),
        &net.network,
        &maker.authority.pubkey(),
        SetMakerApprovalArgs {
            approved: true,
            device_quota: 9,
        },
    );
    suite
        .send(&[approve], &[&net.authority])
        .await
        .expect("approve");
    let state: Maker = suite.account(maker.maker).await;
    assert!(state.approved);
    assert_eq!(state.device_quota, 9);
}

#[tokio::test]
async fn register_maker_errors() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let stranger = Keypair::new();
    let args = |name: &str| RegisterMakerArgs {
        maker_authority: Pubkey::new_unique(),
        name: name.to_string(),
        device_quota: 1,
    };
    let ix = registry::register_maker(&suite.payer(), &stranger.pubkey(), &net.network, args("X"));
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        RegistryError::NotNetworkAuthority,
    );
    let ix = registry::register_maker(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        args(""),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::InvalidMakerName,
    );
    let ix = registry::register_maker(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        args(&"x".repeat(33)),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::InvalidMakerName,
    );
    let taken = RegisterMakerArgs {
        maker_authority: Pubkey::new_unique(),
        name: "First".into(),
        device_quota: 1,
    };
    let first = registry::register_maker(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        taken.clone(),
    );
    suite
        .send(&[first], &[&net.authority])
        .await
        .expect("register");
    let again = registry::register_maker(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        RegisterMakerArgs {
            name: "Second".into(),
            ..taken
        },
    );
    assert_error(
        suite.send(&[again], &[&net.authority]).await,
        RegistryError::MakerAlreadyRegistered,
    );
    pause(&mut suite, &net, true).await;
    let ix = registry::register_maker(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        args("Paused"),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        RegistryError::NetworkPaused,
    );
}

#[tokio::test]
async fn set_maker_approval_by_stranger() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 3, false).await;
    let stranger = Keypair::new();
    let ix = registry::set_maker_approval(
        &stranger.pubkey(),
        &net.network,
        &maker.authority.pubkey(),
        SetMakerApprovalArgs {
            approved: true,
            device_quota: 3,
        },
    );
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        RegistryError::NotNetworkAuthority,
    );
}

#[tokio::test]
async fn onboard_device_ok_charges_the_fee() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 500_000_000).await;
    let supply = suite.mint_supply(net.token.mint).await;

    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");

    let state: Device = suite.account(device.device).await;
    assert_eq!(state.network, net.network);
    assert_eq!(state.device_key, device.key.pubkey());
    assert_eq!(state.owner, op.wallet.pubkey());
    assert_eq!(state.maker, maker.maker);
    assert_eq!(state.class, default_device_args().class);
    assert_eq!(state.capabilities, default_device_args().capabilities);
    assert_eq!(state.location, Some(DEFAULT_LOCATION));
    assert_eq!(state.status, DeviceStatus::Active);
    assert!(state.onboarded_at > 0);
    assert_eq!(state.location_changed_at, state.onboarded_at);
    let maker_state: Maker = suite.account(maker.maker).await;
    assert_eq!(maker_state.devices_onboarded, 1);
    let net_state: Network = suite.account(net.network).await;
    assert_eq!(net_state.device_count, 1);

    // the fee moved from the owner to the treasury; nothing appeared or vanished
    assert_eq!(
        suite.token_balance(op.token_account).await,
        500_000_000 - net.params.onboarding_fee
    );
    assert_eq!(
        suite.token_balance(net.treasury).await,
        net.params.onboarding_fee
    );
    assert_eq!(suite.mint_supply(net.token.mint).await, supply);
}

#[tokio::test]
async fn onboard_device_emits_its_event_as_an_inner_instruction() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let key = Keypair::new();
    let ix = suite.onboard_instruction(&net, &maker, &op, &key, default_device_args());
    let events = suite
        .send_with_events(&[ix], &[&op.wallet, &maker.authority, &key])
        .await
        .expect("onboard");
    assert_eq!(events.len(), 1);
    let event: DeviceOnboarded = decode_event(&events[0]).expect("a DeviceOnboarded event");
    assert_eq!(event.network, net.network);
    assert_eq!(event.device, pda::device(&net.network, &key.pubkey()).0);
    assert_eq!(event.device_key, key.pubkey());
    assert_eq!(event.owner, op.wallet.pubkey());
    assert_eq!(event.maker, maker.maker);
    assert_eq!(event.location, Some(DEFAULT_LOCATION));
    assert_eq!(event.fee_paid, net.params.onboarding_fee);
    // and the wrong type is refused, not misread
    assert!(decode_event::<device_registry::events::DeviceTransferred>(&events[0]).is_err());
}

#[tokio::test]
async fn onboard_device_with_token_2022_fee_mint() {
    let mut suite = Suite::start().await;
    let net = suite
        .create_network(NetworkParams {
            token_program: spl_token_2022::ID,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    suite.onboard(&net, &maker, &op).await.expect("onboard");
    assert_eq!(
        suite.token_balance(net.treasury).await,
        net.params.onboarding_fee
    );
    assert_eq!(
        suite.token_balance(op.token_account).await,
        100_000_000 - net.params.onboarding_fee
    );
}

#[tokio::test]
async fn onboard_device_by_unapproved_maker() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, false).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let result = suite.onboard(&net, &maker, &op).await.map(|_| ());
    assert_error(result, RegistryError::MakerNotApproved);
    assert_eq!(
        suite.token_balance(op.token_account).await,
        100_000_000,
        "no fee taken"
    );
}

#[tokio::test]
async fn onboard_device_quota_exceeded() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 2, true).await;
    let op = suite.add_operator(&net, 1_000_000_000).await;
    suite.onboard(&net, &maker, &op).await.expect("first");
    suite.onboard(&net, &maker, &op).await.expect("second");
    let result = suite.onboard(&net, &maker, &op).await.map(|_| ());
    assert_error(result, RegistryError::MakerQuotaExceeded);
    let state: Maker = suite.account(maker.maker).await;
    assert_eq!(state.devices_onboarded, 2);
}

#[tokio::test]
async fn onboard_device_signed_by_another_maker_key() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let forger = Keypair::new();
    let key = Keypair::new();
    let mut ix = suite.onboard_instruction(&net, &maker, &op, &key, default_device_args());
    // the forger signs in the maker authority's place
    ix.accounts[1].pubkey = forger.pubkey();
    let result = suite.send(&[ix], &[&op.wallet, &forger, &key]).await;
    assert_error(result, RegistryError::NotMakerAuthority);
}

#[tokio::test]
async fn onboard_device_missing_signatures() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let key = Keypair::new();
    let ix = suite.onboard_instruction(&net, &maker, &op, &key, default_device_args());

    let without_device = unsign(ix.clone(), &key.pubkey());
    let result = suite
        .send(&[without_device], &[&op.wallet, &maker.authority])
        .await;
    assert_error(result, AnchorError::AccountNotSigner);

    let without_maker = unsign(ix.clone(), &maker.authority.pubkey());
    let result = suite.send(&[without_maker], &[&op.wallet, &key]).await;
    assert_error(result, AnchorError::AccountNotSigner);

    let without_owner = unsign(ix, &op.wallet.pubkey());
    let result = suite
        .send(&[without_owner], &[&maker.authority, &key])
        .await;
    assert_error(result, AnchorError::AccountNotSigner);
    assert!(
        !suite
            .exists(pda::device(&net.network, &key.pubkey()).0)
            .await
    );
}

/// Regression (security review, registry 5): one key used to stand in for two of the
/// three signatures onboarding requires.
#[tokio::test]
async fn onboard_device_key_is_the_maker_key() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    // Given the maker's issuing key offered as the device key
    let ix = suite.onboard_instruction(&net, &maker, &op, &maker.authority, default_device_args());
    // Then the device is refused and nothing is charged
    let result = suite.send(&[ix], &[&op.wallet, &maker.authority]).await;
    assert_error(result, RegistryError::DeviceKeyIsMakerKey);
    assert_eq!(suite.token_balance(op.token_account).await, 100_000_000);
    assert!(
        !suite
            .exists(pda::device(&net.network, &maker.authority.pubkey()).0)
            .await
    );
}

#[tokio::test]
async fn onboard_device_key_is_the_owner() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    // Given the owner's wallet offered as the device key (it would sign its own readings)
    let ix = suite.onboard_instruction(&net, &maker, &op, &op.wallet, default_device_args());
    let result = suite.send(&[ix], &[&op.wallet, &maker.authority]).await;
    assert_error(result, RegistryError::DeviceKeyIsOwner);
    assert_eq!(suite.token_balance(op.token_account).await, 100_000_000);
    assert!(
        !suite
            .exists(pda::device(&net.network, &op.wallet.pubkey()).0)
            .await
    );
}

#[tokio::test]
async fn transfer_device_to_its_own_key() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let ix = registry::transfer_device(
        &op.wallet.pubkey(),
        &net.network,
        &device.key.pubkey(),
        &device.key.pubkey(),
    );
    assert_error(
        suite.send(&[ix], &[&op.wallet]).await,
        RegistryError::DeviceKeyIsOwner,
    );
    let state: Device = suite.account(device.device).await;
    assert_eq!(state.owner, op.wallet.pubkey());
}

#[tokio::test]
async fn onboard_device_twice() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 500_000_000).await;
    let key = Keypair::new();
    let ix = suite.onboard_instruction(&net, &maker, &op, &key, default_device_args());
    suite
        .send(&[ix], &[&op.wallet, &maker.authority, &key])
        .await
        .expect("first");
    let mut args = default_device_args();
    args.class = 2; // a different transaction, same device key
    let ix = suite.onboard_instruction(&net, &maker, &op, &key, args);
    let result = suite
        .send(&[ix], &[&op.wallet, &maker.authority, &key])
        .await;
    assert_error(result, RegistryError::DeviceAlreadyOnboarded);
    assert_eq!(
        suite.token_balance(op.token_account).await,
        500_000_000 - net.params.onboarding_fee
    );
    assert_eq!(
        suite
            .account::<Device>(pda::device(&net.network, &key.pubkey()).0)
            .await
            .class,
        1
    );
}

#[tokio::test]
async fn onboard_device_at_a_prefunded_address() {
    // Anyone can send lamports to a device's future address; that must not block onboarding.
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 500_000_000).await;
    let key = Keypair::new();
    let address = pda::device(&net.network, &key.pubkey()).0;
    suite.airdrop(&address, 1_000_000).await;
    let ix = suite.onboard_instruction(&net, &maker, &op, &key, default_device_args());
    suite
        .send(&[ix], &[&op.wallet, &maker.authority, &key])
        .await
        .expect("onboard");
    assert_eq!(
        suite.account::<Device>(address).await.owner,
        op.wallet.pubkey()
    );
}

#[tokio::test]
async fn onboard_device_malformed_location() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let key = Keypair::new();
    let mut args = default_device_args();
    args.location = Some(MALFORMED_LOCATION);
    let ix = suite.onboard_instruction(&net, &maker, &op, &key, args);
    let result = suite
        .send(&[ix], &[&op.wallet, &maker.authority, &key])
        .await;
    assert_error(result, RegistryError::InvalidLocation);
}

#[tokio::test]
async fn onboard_device_while_paused() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    pause(&mut suite, &net, true).await;
    let result = suite.onboard(&net, &maker, &op).await.map(|_| ());
    assert_error(result, RegistryError::NetworkPaused);
}

#[tokio::test]
async fn onboard_device_fee_to_a_foreign_treasury() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let thief = suite.add_operator(&net, 0).await;
    let key = Keypair::new();
    let mut fee = net.fee_accounts(op.token_account);
    fee.treasury = thief.token_account;
    let ix = registry::onboard_device(
        &op.wallet.pubkey(),
        &maker.authority.pubkey(),
        &key.pubkey(),
        &net.network,
        &fee,
        default_device_args(),
    );
    let result = suite
        .send(&[ix], &[&op.wallet, &maker.authority, &key])
        .await;
    assert_error(result, AnchorError::ConstraintAddress);
    assert_eq!(suite.token_balance(thief.token_account).await, 0);
}

#[tokio::test]
async fn assert_location_ok_charges_the_fee() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let before_owner = suite.token_balance(op.token_account).await;
    let before_treasury = suite.token_balance(net.treasury).await;
    suite.advance_time(60).await;

    let ix = registry::assert_location(
        &op.wallet.pubkey(),
        &net.network,
        &device.key.pubkey(),
        &net.fee_accounts(op.token_account),
        OTHER_LOCATION,
    );
    suite
        .send(&[ix], &[&op.wallet])
        .await
        .expect("assert location");
    let state: Device = suite.account(device.device).await;
    assert_eq!(state.location, Some(OTHER_LOCATION));
    assert!(state.location_changed_at > state.onboarded_at);
    assert_eq!(
        suite.token_balance(op.token_account).await,
        before_owner - net.params.location_fee
    );
    assert_eq!(
        suite.token_balance(net.treasury).await,
        before_treasury + net.params.location_fee
    );
}

#[tokio::test]
async fn assert_location_errors() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let other = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let assert_ix = |owner: &depin_tests::fixture::OperatorFixture, cell: u64| {
        registry::assert_location(
            &owner.wallet.pubkey(),
            &net.network,
            &device.key.pubkey(),
            &net.fee_accounts(owner.token_account),
            cell,
        )
    };

    // a non-owner cannot move the device
    let result = suite
        .send(&[assert_ix(&other, OTHER_LOCATION)], &[&other.wallet])
        .await;
    assert_error(result, RegistryError::NotDeviceOwner);
    // a malformed cell is refused
    let result = suite
        .send(&[assert_ix(&op, MALFORMED_LOCATION)], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::InvalidLocation);
    // a suspended device cannot move
    let suspend = registry::set_device_status(
        &net.authority.pubkey(),
        &net.network,
        &device.key.pubkey(),
        DeviceStatus::Suspended,
    );
    suite
        .send(&[suspend], &[&net.authority])
        .await
        .expect("suspend");
    let result = suite
        .send(&[assert_ix(&op, OTHER_LOCATION)], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::DeviceNotActive);
    // nor does anything move while paused
    let reactivate = registry::set_device_status(
        &net.authority.pubkey(),
        &net.network,
        &device.key.pubkey(),
        DeviceStatus::Active,
    );
    suite
        .send(&[reactivate], &[&net.authority])
        .await
        .expect("reactivate");
    pause(&mut suite, &net, true).await;
    let result = suite
        .send(&[assert_ix(&op, OTHER_LOCATION)], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::NetworkPaused);

    let state: Device = suite.account(device.device).await;
    assert_eq!(state.location, Some(DEFAULT_LOCATION));
    assert_eq!(
        suite.token_balance(op.token_account).await,
        100_000_000 - net.params.onboarding_fee
    );
}

#[tokio::test]
async fn transfer_device_ok() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let buyer = Keypair::new();
    let ix = registry::transfer_device(
        &op.wallet.pubkey(),
        &net.network,
        &device.key.pubkey(),
        &buyer.pubkey(),
    );
    suite.send(&[ix], &[&op.wallet]).await.expect("transfer");
    let state: Device = suite.account(device.device).await;
    assert_eq!(state.owner, buyer.pubkey());
}

#[tokio::test]
async fn transfer_device_errors() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let stranger = Keypair::new();
    let transfer = |from: &Keypair, to: &Pubkey| {
        registry::transfer_device(&from.pubkey(), &net.network, &device.key.pubkey(), to)
    };

    let result = suite
        .send(&[transfer(&stranger, &stranger.pubkey())], &[&stranger])
        .await;
    assert_error(result, RegistryError::NotDeviceOwner);
    let result = suite
        .send(&[transfer(&op.wallet, &op.wallet.pubkey())], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::InvalidNewOwner);
    let result = suite
        .send(&[transfer(&op.wallet, &Pubkey::default())], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::InvalidNewOwner);

    pause(&mut suite, &net, true).await;
    let result = suite
        .send(&[transfer(&op.wallet, &stranger.pubkey())], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::NetworkPaused);
    pause(&mut suite, &net, false).await;

    let decommission = registry::set_device_status(
        &op.wallet.pubkey(),
        &net.network,
        &device.key.pubkey(),
        DeviceStatus::Decommissioned,
    );
    suite
        .send(&[decommission], &[&op.wallet])
        .await
        .expect("decommission");
    let result = suite
        .send(&[transfer(&op.wallet, &stranger.pubkey())], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::DeviceDecommissioned);
    let state: Device = suite.account(device.device).await;
    assert_eq!(state.owner, op.wallet.pubkey());
}

#[tokio::test]
async fn set_device_status_ok() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let status = |signer: &Keypair, s: DeviceStatus| {
        registry::set_device_status(&signer.pubkey(), &net.network, &device.key.pubkey(), s)
    };

    // the authority suspends and reactivates, even while paused
    pause(&mut suite, &net, true).await;
    suite
        .send(
            &[status(&net.authority, DeviceStatus::Suspended)],
            &[&net.authority],
        )
        .await
        .expect("suspend");
    assert_eq!(
        suite.account::<Device>(device.device).await.status,
        DeviceStatus::Suspended
    );
    suite
        .send(
            &[status(&net.authority, DeviceStatus::Active)],
            &[&net.authority],
        )
        .await
        .expect("reactivate");
    assert_eq!(
        suite.account::<Device>(device.device).await.status,
        DeviceStatus::Active
    );
    pause(&mut suite, &net, false).await;

    // the owner decommissions, for good
    suite
        .send(
            &[status(&op.wallet, DeviceStatus::Decommissioned)],
            &[&op.wallet],
        )
        .await
        .expect("decommission");
    assert_eq!(
        suite.account::<Device>(device.device).await.status,
        DeviceStatus::Decommissioned
    );
}

#[tokio::test]
async fn set_device_status_errors() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let stranger = Keypair::new();
    let status = |signer: &Keypair, s: DeviceStatus| {
        registry::set_device_status(&signer.pubkey(), &net.network, &device.key.pubkey(), s)
    };

    let result = suite
        .send(&[status(&stranger, DeviceStatus::Suspended)], &[&stranger])
        .await;
    assert_error(result, RegistryError::StatusChangeUnauthorized);
    // the authority cannot decommission someone's device, the owner cannot suspend or
    // lift a suspension, and a no-op change is refused
    let result = suite
        .send(
            &[status(&net.authority, DeviceStatus::Decommissioned)],
            &[&net.authority],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    let result = suite
        .send(
            &[status(&op.wallet, DeviceStatus::Suspended)],
            &[&op.wallet],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    let result = suite
        .send(
            &[status(&net.authority, DeviceStatus::Active)],
            &[&net.authority],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    suite
        .send(
            &[status(&net.authority, DeviceStatus::Suspended)],
            &[&net.authority],
        )
        .await
        .expect("suspend");
    let result = suite
        .send(&[status(&op.wallet, DeviceStatus::Active)], &[&op.wallet])
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);

    // the owner cannot decommission while paused
    pause(&mut suite, &net, true).await;
    let result = suite
        .send(
            &[status(&op.wallet, DeviceStatus::Decommissioned)],
            &[&op.wallet],
        )
        .await;
    assert_error(result, RegistryError::NetworkPaused);
    pause(&mut suite, &net, false).await;

    // decommissioning is final: not even the authority can reactivate
    suite
        .send(
            &[status(&op.wallet, DeviceStatus::Decommissioned)],
            &[&op.wallet],
        )
        .await
        .expect("decommission");
    let result = suite
        .send(
            &[status(&net.authority, DeviceStatus::Active)],
            &[&net.authority],
        )
        .await;
    assert_error(result, RegistryError::DeviceDecommissioned);
    assert_eq!(
        suite.account::<Device>(device.device).await.status,
        DeviceStatus::Decommissioned
    );
}

/// `audit_device` as the auditor signs it.
fn audit(
    net: &NetworkFixture,
    auditor: &Keypair,
    device_key: &Pubkey,
    status: DeviceStatus,
    evidence: [u8; 32],
) -> Instruction {
    registry::audit_device(
        &auditor.pubkey(),
        &net.network,
        device_key,
        registry::AuditDeviceArgs { status, evidence },
    )
}

#[tokio::test]
async fn an_auditor_suspends_and_reinstates_with_evidence_and_the_authority_reverses_it() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let auditor = Keypair::new();

    // the authority names the auditor
    let ix = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    let events = suite
        .send_with_events(&[ix], &[&net.authority])
        .await
        .expect("set auditor");
    let set: AuditorSet = decode_event(&events[0]).expect("AuditorSet");
    assert_eq!(
        (set.network, set.previous, set.auditor),
        (net.network, None, Some(auditor.pubkey()))
    );
    assert_eq!(
        suite.account::<Network>(net.network).await.auditor,
        Some(auditor.pubkey())
    );

    // the auditor suspends, even while the network is paused, with its evidence recorded
    pause(&mut suite, &net, true).await;
    let evidence = [0xab; 32];
    let events = suite
        .send_with_events(
            &[audit(
                &net,
                &auditor,
                &device.key.pubkey(),
                DeviceStatus::Suspended,
                evidence,
            )],
            &[&auditor],
        )
        .await
        .expect("suspend");
    let changed_at = suite.clock().await.unix_timestamp;
    pause(&mut suite, &net, false).await;
    let changed: DeviceStatusChanged = decode_event(&events[0]).expect("DeviceStatusChanged");
    assert_eq!(
        (
            changed.changed_by,
            changed.previous_status,
            changed.status,
            changed.timestamp
        ),
        (
            auditor.pubkey(),
            DeviceStatus::Active,
            DeviceStatus::SuspendedByAuditor,
            changed_at
        )
    );
    let audited: DeviceAudited = decode_event(&events[1]).expect("DeviceAudited");
    assert_eq!(
        audited,
        DeviceAudited {
            device: device.device,
            network: net.network,
            auditor: auditor.pubkey(),
            previous_status: DeviceStatus::Active,
            status: DeviceStatus::SuspendedByAuditor,
            evidence,
        }
    );
    assert_eq!(
        suite.account::<Device>(device.device).await.status,
        DeviceStatus::SuspendedByAuditor
    );

    // the authority reviews and reverses it
    let ix = registry::set_device_status(
        &net.authority.pubkey(),
        &net.network,
        &device.key.pubkey(),
        DeviceStatus::Active,
    );
    suite.send(&[ix], &[&net.authority]).await.expect("reverse");
    assert_eq!(
        suite.account::<Device>(device.device).await.status,
        DeviceStatus::Active
    );

    // suspended again, then reinstated by the auditor itself
    for (action, status) in [
        (DeviceStatus::Suspended, DeviceStatus::SuspendedByAuditor),
        (DeviceStatus::Active, DeviceStatus::Active),
    ] {
        suite
            .send(
                &[audit(&net, &auditor, &device.key.pubkey(), action, [1; 32])],
                &[&auditor],
            )
            .await
            .expect("audit");
        assert_eq!(suite.account::<Device>(device.device).await.status, status);
    }

    // a suspension by the authority is the authority's: the auditor cannot lift it
    let by_authority = |status| {
        registry::set_device_status(
            &net.authority.pubkey(),
            &net.network,
            &device.key.pubkey(),
            status,
        )
    };
    suite
        .send(&[by_authority(DeviceStatus::Suspended)], &[&net.authority])
        .await
        .expect("authority suspends");
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &device.key.pubkey(),
                DeviceStatus::Active,
                [4; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    suite
        .send(&[by_authority(DeviceStatus::Active)], &[&net.authority])
        .await
        .expect("authority lifts its own");
    // and the authority can take an auditor's suspension over, which the auditor then
    // cannot lift either; nobody but the auditor's instruction sets SuspendedByAuditor
    suite
        .send(
            &[audit(
                &net,
                &auditor,
                &device.key.pubkey(),
                DeviceStatus::Suspended,
                [5; 32],
            )],
            &[&auditor],
        )
        .await
        .expect("auditor suspends");
    let result = suite
        .send(
            &[by_authority(DeviceStatus::SuspendedByAuditor)],
            &[&net.authority],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    suite
        .send(&[by_authority(DeviceStatus::Suspended)], &[&net.authority])
        .await
        .expect("authority takes over");
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &device.key.pubkey(),
                DeviceStatus::Active,
                [6; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    suite
        .send(&[by_authority(DeviceStatus::Active)], &[&net.authority])
        .await
        .expect("authority lifts it");

    // rotated: the old key may no longer act, the new one may; removed: nobody may
    let successor = Keypair::new();
    let ix = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(successor.pubkey()),
    );
    let events = suite
        .send_with_events(&[ix], &[&net.authority])
        .await
        .expect("rotate");
    let set: AuditorSet = decode_event(&events[0]).expect("AuditorSet");
    assert_eq!(set.previous, Some(auditor.pubkey()));
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &device.key.pubkey(),
                DeviceStatus::Suspended,
                [2; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::NotNetworkAuditor);
    suite
        .send(
            &[audit(
                &net,
                &successor,
                &device.key.pubkey(),
                DeviceStatus::Suspended,
                [2; 32],
            )],
            &[&successor],
        )
        .await
        .expect("the successor audits");
    let ix = registry::set_auditor(&net.authority.pubkey(), &net.network, None);
    suite.send(&[ix], &[&net.authority]).await.expect("remove");
    let result = suite
        .send(
            &[audit(
                &net,
                &successor,
                &device.key.pubkey(),
                DeviceStatus::Active,
                [3; 32],
            )],
            &[&successor],
        )
        .await;
    assert_error(result, RegistryError::NotNetworkAuditor);
}

#[tokio::test]
async fn set_auditor_errors() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let stranger = Keypair::new();
    suite.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let ix = registry::set_auditor(&stranger.pubkey(), &net.network, Some(stranger.pubkey()));
    let result = suite.send(&[ix], &[&stranger]).await;
    assert_error(result, RegistryError::NotNetworkAuthority);
    let ix = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(Pubkey::default()),
    );
    let result = suite.send(&[ix], &[&net.authority]).await;
    assert_error(result, RegistryError::InvalidAuthority);
    let ix = unsign(
        registry::set_auditor(
            &net.authority.pubkey(),
            &net.network,
            Some(stranger.pubkey()),
        ),
        &net.authority.pubkey(),
    );
    let result = suite.send(&[ix], &[]).await;
    assert_error(result, AnchorError::AccountNotSigner);
    assert_eq!(suite.account::<Network>(net.network).await.auditor, None);
}

#[tokio::test]
async fn audit_device_errors() {
    let mut suite = Suite::start().await;
    let net = network(&mut suite).await;
    let other = network(&mut suite).await;
    let maker = suite.add_maker(&net, "Acme", 5, true).await;
    let op = suite.add_operator(&net, 100_000_000).await;
    let device = suite.onboard(&net, &maker, &op).await.expect("onboard");
    let key = device.key.pubkey();
    let auditor = Keypair::new();
    suite.airdrop(&auditor.pubkey(), 1_000_000_000).await;

    // no auditor named yet
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &key,
                DeviceStatus::Suspended,
                [1; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::NotNetworkAuditor);
    let ix = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    suite
        .send(&[ix], &[&net.authority])
        .await
        .expect("set auditor");

    // a stranger, the authority itself, an unsigned auditor
    let stranger = Keypair::new();
    suite.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let result = suite
        .send(
            &[audit(
                &net,
                &stranger,
                &key,
                DeviceStatus::Suspended,
                [1; 32],
            )],
            &[&stranger],
        )
        .await;
    assert_error(result, RegistryError::NotNetworkAuditor);
    let result = suite
        .send(
            &[audit(
                &net,
                &net.authority,
                &key,
                DeviceStatus::Suspended,
                [1; 32],
            )],
            &[&net.authority],
        )
        .await;
    assert_error(result, RegistryError::NotNetworkAuditor);
    let ix = unsign(
        audit(&net, &auditor, &key, DeviceStatus::Suspended, [1; 32]),
        &auditor.pubkey(),
    );
    let result = suite.send(&[ix], &[]).await;
    assert_error(result, AnchorError::AccountNotSigner);

    // no evidence; a transition the auditor may not make; a no-op
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &key,
                DeviceStatus::Suspended,
                [0; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::MissingEvidence);
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &key,
                DeviceStatus::Decommissioned,
                [1; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);
    let result = suite
        .send(
            &[audit(&net, &auditor, &key, DeviceStatus::Active, [1; 32])],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);

    // the device named under another network (whose auditor it is not)
    let mut foreign = audit(&net, &auditor, &key, DeviceStatus::Suspended, [1; 32]);
    foreign.accounts[1].pubkey = other.network;
    let result = suite.send(&[foreign], &[&auditor]).await;
    assert_error(result, RegistryError::NotNetworkAuditor);
    let ix = registry::set_auditor(
        &other.authority.pubkey(),
        &other.network,
        Some(auditor.pubkey()),
    );
    suite
        .send(&[ix], &[&other.authority])
        .await
        .expect("set auditor");
    let mut foreign = audit(&net, &auditor, &key, DeviceStatus::Suspended, [1; 32]);
    foreign.accounts[1].pubkey = other.network;
    let result = suite.send(&[foreign], &[&auditor]).await;
    assert_error(result, AnchorError::ConstraintHasOne);

    // a second suspension (fresh signature, other evidence) is refused: the auditor cannot
    // stack actions on a device
    suite
        .send(
            &[audit(
                &net,
                &auditor,
                &key,
                DeviceStatus::Suspended,
                [1; 32],
            )],
            &[&auditor],
        )
        .await
        .expect("suspend");
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &key,
                DeviceStatus::Suspended,
                [9; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::InvalidStatusTransition);

    // a decommissioned device is beyond the auditor's reach
    suite
        .send(
            &[audit(&net, &auditor, &key, DeviceStatus::Active, [1; 32])],
            &[&auditor],
        )
        .await
        .expect("reinstate");
    let ix = registry::set_device_status(
        &op.wallet.pubkey(),
        &net.network,
        &key,
        DeviceStatus::Decommissioned,
    );
    suite
        .send(&[ix], &[&op.wallet])
        .await
        .expect("decommission");
    let result = suite
        .send(
            &[audit(
                &net,
                &auditor,
                &key,
                DeviceStatus::Suspended,
                [1; 32],
            )],
            &[&auditor],
        )
        .await;
    assert_error(result, RegistryError::DeviceDecommissioned);
}
