//! Staking: every instruction's happy path and every error path, with token balances
//! checked before and after every movement.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use depin_sdk::accounts::{DeviceBond, DeviceStatus, StakePool, StakePosition};
use depin_sdk::events::decode_event;
use depin_sdk::registry::{self, UpdateNetworkArgs};
use depin_sdk::staking::{self, InitializePoolArgs, SlashArgs, UpdatePoolArgs};
use depin_sdk::staking_program::error::StakingError;
use depin_sdk::staking_program::events::{Slashed, TreasurySynced};
use depin_sdk::{pda, Pubkey};
use depin_tests::assert::{assert_error, assert_instruction_error, InstructionError};
use depin_tests::fixture::{
    Fixture, FixtureBuilder, NetworkFixture, NetworkParams, OperatorFixture, PoolFixture,
};
use depin_tests::runtime::Suite;
use depin_tests::{Keypair, Signer};

const MIN: u64 = 100_000_000;
const COOLDOWN: i64 = 3600;
const EVIDENCE: [u8; 32] = [7; 32];

/// Every token account of the network token the fixture knows about.
fn holders(fx: &Fixture) -> Vec<Pubkey> {
    let mut all = vec![fx.net.treasury, fx.pool.vault];
    all.extend(fx.operators.iter().map(|(op, _)| op.token_account));
    all
}

/// Checks that the tokens are all where the books say they are: the accounts sum to the
/// supply, and the vault holds exactly the pool's active plus pending stake.
async fn assert_conserved(suite: &mut Suite, fx: &Fixture) {
    let mut held = 0u64;
    for account in holders(fx) {
        held += suite.token_balance(account).await;
    }
    assert_eq!(
        held,
        suite.mint_supply(fx.net.token.mint).await,
        "tokens appeared or vanished"
    );
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(
        suite.token_balance(fx.pool.vault).await,
        pool.total_staked + pool.total_pending
    );
}

async fn fixture(suite: &mut Suite, stake: u64) -> Fixture {
    FixtureBuilder::default()
        .pool(MIN, COOLDOWN as u64)
        .operators(2, 2)
        .stake(stake)
        .build(suite)
        .await
}

async fn position(suite: &mut Suite, pool: &PoolFixture, owner: &Keypair) -> StakePosition {
    suite
        .account(pda::stake_position(&pool.pool, &owner.pubkey()).0)
        .await
}

async fn unstake(
    suite: &mut Suite,
    net: &NetworkFixture,
    op: &OperatorFixture,
    amount: u64,
) -> Result<(), depin_tests::runtime::SendError> {
    let ix = staking::request_unstake(&op.wallet.pubkey(), &net.network, amount);
    suite.send(&[ix], &[&op.wallet]).await
}

async fn withdraw(
    suite: &mut Suite,
    net: &NetworkFixture,
    op: &OperatorFixture,
) -> Result<(), depin_tests::runtime::SendError> {
    let ix = staking::withdraw(
        &op.wallet.pubkey(),
        &net.network,
        &net.token,
        &op.token_account,
    );
    suite.send(&[ix], &[&op.wallet]).await
}

async fn slash(
    suite: &mut Suite,
    fx: &Fixture,
    signer: &Keypair,
    staker: &Keypair,
    amount: u64,
) -> Result<(), depin_tests::runtime::SendError> {
    let ix = staking::slash(
        &signer.pubkey(),
        &fx.net.network,
        &staker.pubkey(),
        &fx.net.token,
        &fx.pool.treasury,
        SlashArgs {
            amount,
            evidence_hash: EVIDENCE,
        },
    );
    suite.send(&[ix], &[signer]).await
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
    assert_eq!(StakePool::SIZE, 8 + 32 * 4 + 8 * 2 + 32 + 8 * 3 + 1 + 1);
    assert_eq!(StakePosition::SIZE, 8 + 32 * 2 + 8 * 2 + 8 + 4 + 1);
    assert_eq!(DeviceBond::SIZE, 8 + 32 * 4 + 8 + 1);
}

#[tokio::test]
async fn initialize_pool_ok() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 0).await;
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(pool.network, fx.net.network);
    assert_eq!(pool.stake_mint, fx.net.token.mint);
    assert_eq!(pool.vault, fx.pool.vault);
    assert_eq!(pool.treasury, fx.net.treasury);
    assert_eq!(
        (pool.min_stake_per_device, pool.cooldown_secs),
        (MIN, COOLDOWN as u64)
    );
    assert_eq!(pool.slash_authority, fx.pool.slash_authority.pubkey());
    assert_eq!(
        (pool.total_staked, pool.total_pending, pool.total_slashed),
        (0, 0, 0)
    );
    assert_eq!(suite.token_balance(fx.pool.vault).await, 0);
}

#[tokio::test]
async fn initialize_pool_errors() {
    let mut suite = Suite::start().await;
    let net = suite.create_network(NetworkParams::default()).await;
    let args = || InitializePoolArgs {
        min_stake_per_device: MIN,
        cooldown_secs: 60,
        slash_authority: Pubkey::new_unique(),
    };
    let stranger = Keypair::new();
    let ix = staking::initialize_pool(
        &suite.payer(),
        &stranger.pubkey(),
        &net.network,
        &net.token,
        &net.treasury,
        &net.treasury,
        args(),
    );
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        StakingError::NotNetworkAuthority,
    );

    // slashed stake may only go to the network treasury's owner
    let foreign = suite
        .create_token_account(
            &net.token.token_program,
            &net.token.mint,
            &stranger.pubkey(),
        )
        .await;
    let ix = staking::initialize_pool(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &net.token,
        &net.treasury,
        &foreign,
        args(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        StakingError::TreasuryMismatch,
    );

    // and in the stake mint
    let wrong_mint = suite
        .create_token_account(
            &net.token.token_program,
            &net.reward_mint,
            &net.treasury_owner.pubkey(),
        )
        .await;
    let ix = staking::initialize_pool(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &net.token,
        &net.treasury,
        &wrong_mint,
        args(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        StakingError::WrongStakeMint,
    );

    pause(&mut suite, &net, true).await;
    let ix = staking::initialize_pool(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &net.token,
        &net.treasury,
        &net.treasury,
        args(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        StakingError::NetworkPaused,
    );
    assert!(!suite.exists(pda::stake_pool(&net.network).0).await);
}

/// Regression (security review, staking 4): `cooldown_secs = u64::MAX` used to be accepted,
/// after which every `request_unstake` failed with an overflow.
#[tokio::test]
async fn initialize_pool_invalid_cooldown_or_slash_authority() {
    let mut suite = Suite::start().await;
    let net = suite.create_network(NetworkParams::default()).await;
    let init = |cooldown_secs, slash_authority| {
        staking::initialize_pool(
            &Pubkey::new_unique(),
            &net.authority.pubkey(),
            &net.network,
            &net.token,
            &net.treasury,
            &net.treasury,
            InitializePoolArgs {
                min_stake_per_device: MIN,
                cooldown_secs,
                slash_authority,
            },
        )
    };
    let slasher = Pubkey::new_unique();
    for cooldown in [u64::MAX, depin_core::stake::MAX_COOLDOWN_SECS + 1] {
        let mut ix = init(cooldown, slasher);
        ix.accounts[0].pubkey = suite.payer();
        assert_error(
            suite.send(&[ix], &[&net.authority]).await,
            StakingError::InvalidCooldown,
        );
    }
    let mut ix = init(60, Pubkey::default());
    ix.accounts[0].pubkey = suite.payer();
    assert_error(
        suite.send(&[ix], &[&net.authority]).await,
        StakingError::InvalidSlashAuthority,
    );
    assert!(!suite.exists(pda::stake_pool(&net.network).0).await);
    // the longest cooldown allowed is accepted
    let mut ix = init(depin_core::stake::MAX_COOLDOWN_SECS, slasher);
    ix.accounts[0].pubkey = suite.payer();
    suite.send(&[ix], &[&net.authority]).await.unwrap();
}

/// Regression (security review, staking 4): a pool update could brick unstaking.
#[tokio::test]
async fn update_pool_cannot_brick_unstaking() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 3 * MIN).await;
    let (op, devices) = &fx.operators[0];
    for d in devices {
        suite.bond(&fx.net, op, d).await.expect("bond");
    }
    let update = |args| staking::update_pool(&fx.net.authority.pubkey(), &fx.net.network, args);
    // Given an authority trying the extreme cooldown
    for cooldown in [u64::MAX, depin_core::stake::MAX_COOLDOWN_SECS + 1] {
        let ix = update(UpdatePoolArgs {
            cooldown_secs: Some(cooldown),
            ..Default::default()
        });
        assert_error(
            suite.send(&[ix], &[&fx.net.authority]).await,
            StakingError::InvalidCooldown,
        );
    }
    let ix = update(UpdatePoolArgs {
        slash_authority: Some(Pubkey::default()),
        ..Default::default()
    });
    assert_error(
        suite.send(&[ix], &[&fx.net.authority]).await,
        StakingError::InvalidSlashAuthority,
    );
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(pool.cooldown_secs, COOLDOWN as u64, "nothing changed");
    // and the extreme minimum, which it may set
    let ix = update(UpdatePoolArgs {
        min_stake_per_device: Some(u64::MAX),
        ..Default::default()
    });
    suite.send(&[ix], &[&fx.net.authority]).await.unwrap();
    // Then unstaking with bonded devices is refused as insufficient, not as an overflow
    assert_error(
        unstake(&mut suite, &fx.net, op, 1).await,
        StakingError::StakeBelowMinimum,
    );
    // and once the devices are unbonded the whole stake can leave
    for d in devices {
        let ix = staking::unbond_device(
            &op.wallet.pubkey(),
            &op.wallet.pubkey(),
            &fx.net.network,
            &d.device,
        );
        suite.send(&[ix], &[&op.wallet]).await.expect("unbond");
    }
    unstake(&mut suite, &fx.net, op, 3 * MIN).await.unwrap();
    assert_eq!(
        position(&mut suite, &fx.pool, &op.wallet).await.pending,
        3 * MIN
    );
    assert_conserved(&mut suite, &fx).await;
}

/// A position is the signer's own: another staker's position in the instruction is refused.
#[tokio::test]
async fn request_unstake_on_someone_elses_position() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, MIN).await;
    let victim = &fx.operators[0].0;
    let thief = &fx.operators[1].0;
    let mut ix = staking::request_unstake(&thief.wallet.pubkey(), &fx.net.network, MIN);
    let theirs = pda::stake_position(&fx.pool.pool, &victim.wallet.pubkey()).0;
    let ours = pda::stake_position(&fx.pool.pool, &thief.wallet.pubkey()).0;
    for meta in ix.accounts.iter_mut().filter(|m| m.pubkey == ours) {
        meta.pubkey = theirs;
    }
    assert_error(
        suite.send(&[ix], &[&thief.wallet]).await,
        StakingError::PositionMismatch,
    );
    assert_eq!(
        position(&mut suite, &fx.pool, &victim.wallet).await.amount,
        MIN
    );
}

#[tokio::test]
async fn initialize_pool_twice() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 0).await;
    let ix = staking::initialize_pool(
        &suite.payer(),
        &fx.net.authority.pubkey(),
        &fx.net.network,
        &fx.net.token,
        &fx.net.treasury,
        &fx.net.treasury,
        InitializePoolArgs {
            min_stake_per_device: 1,
            cooldown_secs: 1,
            slash_authority: Pubkey::new_unique(),
        },
    );
    assert_error(
        suite.send(&[ix], &[&fx.net.authority]).await,
        StakingError::PoolAlreadyExists,
    );
    assert_eq!(
        suite
            .account::<StakePool>(fx.pool.pool)
            .await
            .min_stake_per_device,
        MIN
    );
}

#[tokio::test]
async fn pool_vault_and_position_at_prefunded_addresses() {
    // Anyone can send lamports to these public addresses; that must block nothing.
    let mut suite = Suite::start().await;
    let net = suite.create_network(NetworkParams::default()).await;
    let pool = pda::stake_pool(&net.network).0;
    suite.airdrop(&pool, 1_000_000).await;
    suite.airdrop(&pda::stake_vault(&pool).0, 1_000_000).await;
    let fx_pool = suite.create_pool(&net, MIN, 60).await;
    let op = suite.add_operator(&net, 10 * MIN).await;
    suite
        .airdrop(
            &pda::stake_position(&pool, &op.wallet.pubkey()).0,
            1_000_000,
        )
        .await;
    suite.stake(&net, &op, MIN).await.expect("stake");
    assert_eq!(suite.token_balance(fx_pool.vault).await, MIN);
    assert_eq!(position(&mut suite, &fx_pool, &op.wallet).await.amount, MIN);
}

#[tokio::test]
async fn update_pool_ok_and_by_stranger() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 0).await;
    let new_slasher = Pubkey::new_unique();
    let ix = staking::update_pool(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        UpdatePoolArgs {
            min_stake_per_device: Some(5),
            cooldown_secs: None,
            slash_authority: Some(new_slasher),
        },
    );
    suite
        .send(&[ix], &[&fx.net.authority])
        .await
        .expect("update");
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(
        (
            pool.min_stake_per_device,
            pool.cooldown_secs,
            pool.slash_authority
        ),
        (5, COOLDOWN as u64, new_slasher)
    );

    let stranger = Keypair::new();
    let ix = staking::update_pool(
        &stranger.pubkey(),
        &fx.net.network,
        UpdatePoolArgs::default(),
    );
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        StakingError::NotNetworkAuthority,
    );
}

#[tokio::test]
async fn stake_ok_moves_tokens_into_the_vault() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 0).await;
    let op = &fx.operators[0].0;
    let before = suite.token_balance(op.token_account).await;

    suite.stake(&fx.net, op, 150_000_000).await.expect("stake");
    suite.stake(&fx.net, op, 50_000_000).await.expect("top up");

    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!((pos.pool, pos.owner), (fx.pool.pool, op.wallet.pubkey()));
    assert_eq!(
        (pos.amount, pos.pending, pos.devices_bonded),
        (200_000_000, 0, 0)
    );
    assert_eq!(
        suite.token_balance(op.token_account).await,
        before - 200_000_000
    );
    assert_eq!(suite.token_balance(fx.pool.vault).await, 200_000_000);
    assert_eq!(
        suite.account::<StakePool>(fx.pool.pool).await.total_staked,
        200_000_000
    );
    assert_conserved(&mut suite, &fx).await;
}

#[tokio::test]
async fn stake_errors() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 0).await;
    let op = &fx.operators[0].0;
    assert_error(suite.stake(&fx.net, op, 0).await, StakingError::ZeroAmount);
    // more than the wallet holds: the token program refuses (InsufficientFunds = 1)
    let balance = suite.token_balance(op.token_account).await;
    assert_instruction_error(
        suite.stake(&fx.net, op, balance + 1).await,
        InstructionError::Custom(1),
    );
    pause(&mut suite, &fx.net, true).await;
    assert_error(
        suite.stake(&fx.net, op, 1).await,
        StakingError::NetworkPaused,
    );
    assert!(
        !suite
            .exists(pda::stake_position(&fx.pool.pool, &op.wallet.pubkey()).0)
            .await
    );
    assert_conserved(&mut suite, &fx).await;
}

#[tokio::test]
async fn bond_device_ok() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 2 * MIN).await;
    let (op, devices) = &fx.operators[0];
    suite.bond(&fx.net, op, &devices[0]).await.expect("bond 1");
    suite.bond(&fx.net, op, &devices[1]).await.expect("bond 2");
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!(pos.devices_bonded, 2);
    let bond: DeviceBond = suite
        .account(pda::device_bond(&fx.pool.pool, &devices[0].device).0)
        .await;
    assert_eq!(bond.pool, fx.pool.pool);
    assert_eq!(bond.device, devices[0].device);
    assert_eq!(
        bond.position,
        pda::stake_position(&fx.pool.pool, &op.wallet.pubkey()).0
    );
    assert_eq!(bond.staker, op.wallet.pubkey());
    assert_conserved(&mut suite, &fx).await;
}

#[tokio::test]
async fn bond_device_without_enough_stake() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 2 * MIN - 1).await;
    let (op, devices) = &fx.operators[0];
    suite
        .bond(&fx.net, op, &devices[0])
        .await
        .expect("first device is covered");
    assert_error(
        suite.bond(&fx.net, op, &devices[1]).await,
        StakingError::StakeBelowMinimum,
    );
    assert!(
        !suite
            .exists(pda::device_bond(&fx.pool.pool, &devices[1].device).0)
            .await
    );
}

#[tokio::test]
async fn bond_someone_elses_device() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 5 * MIN).await;
    let (thief, _) = &fx.operators[0];
    let (_, victims_devices) = &fx.operators[1];
    assert_error(
        suite.bond(&fx.net, thief, &victims_devices[0]).await,
        StakingError::NotDeviceOwner,
    );
}

#[tokio::test]
async fn bond_device_errors() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 5 * MIN).await;
    let (op, devices) = &fx.operators[0];

    // twice
    suite.bond(&fx.net, op, &devices[0]).await.expect("bond");
    assert_error(
        suite.bond(&fx.net, op, &devices[0]).await,
        StakingError::DeviceAlreadyBonded,
    );

    // a suspended device
    let suspend = registry::set_device_status(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        &devices[1].key.pubkey(),
        DeviceStatus::Suspended,
    );
    suite
        .send(&[suspend], &[&fx.net.authority])
        .await
        .expect("suspend");
    assert_error(
        suite.bond(&fx.net, op, &devices[1]).await,
        StakingError::DeviceNotActive,
    );

    // a device of another network
    let other_net = suite.create_network(NetworkParams::default()).await;
    let other_maker = suite.add_maker(&other_net, "Other", 5, true).await;
    let other_op = suite.add_operator(&other_net, 100_000_000).await;
    let foreign = suite
        .onboard(&other_net, &other_maker, &other_op)
        .await
        .expect("onboard");
    let ix = staking::bond_device(&op.wallet.pubkey(), &fx.net.network, &foreign.device);
    assert_error(
        suite.send(&[ix], &[&op.wallet]).await,
        StakingError::WrongNetwork,
    );

    // while paused
    let reactivate = registry::set_device_status(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        &devices[1].key.pubkey(),
        DeviceStatus::Active,
    );
    suite
        .send(&[reactivate], &[&fx.net.authority])
        .await
        .expect("reactivate");
    pause(&mut suite, &fx.net, true).await;
    assert_error(
        suite.bond(&fx.net, op, &devices[1]).await,
        StakingError::NetworkPaused,
    );
    assert_eq!(
        position(&mut suite, &fx.pool, &op.wallet)
            .await
            .devices_bonded,
        1
    );
}

#[tokio::test]
async fn unbond_device_ok_returns_rent() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, MIN).await;
    let (op, devices) = &fx.operators[0];
    suite.bond(&fx.net, op, &devices[0]).await.expect("bond");
    let bond = pda::device_bond(&fx.pool.pool, &devices[0].device).0;
    let rent = suite.lamports(bond).await;
    let before = suite.lamports(op.wallet.pubkey()).await;

    pause(&mut suite, &fx.net, true).await; // unbonding is allowed during a pause
    let ix = staking::unbond_device(
        &op.wallet.pubkey(),
        &op.wallet.pubkey(),
        &fx.net.network,
        &devices[0].device,
    );
    suite.send(&[ix], &[&op.wallet]).await.expect("unbond");

    assert!(!suite.exists(bond).await);
    assert_eq!(suite.lamports(op.wallet.pubkey()).await, before + rent);
    assert_eq!(
        position(&mut suite, &fx.pool, &op.wallet)
            .await
            .devices_bonded,
        0
    );
}

#[tokio::test]
async fn unbond_by_new_owner_after_transfer() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, MIN).await;
    let (seller, devices) = &fx.operators[0];
    let (buyer, _) = &fx.operators[1];
    suite
        .bond(&fx.net, seller, &devices[0])
        .await
        .expect("bond");
    let transfer = registry::transfer_device(
        &seller.wallet.pubkey(),
        &fx.net.network,
        &devices[0].key.pubkey(),
        &buyer.wallet.pubkey(),
    );
    suite
        .send(&[transfer], &[&seller.wallet])
        .await
        .expect("transfer");

    // the buyer frees the device from the seller's stake; the rent goes back to the seller
    let ix = staking::unbond_device(
        &buyer.wallet.pubkey(),
        &seller.wallet.pubkey(),
        &fx.net.network,
        &devices[0].device,
    );
    suite.send(&[ix], &[&buyer.wallet]).await.expect("unbond");
    assert_eq!(
        position(&mut suite, &fx.pool, &seller.wallet)
            .await
            .devices_bonded,
        0
    );
    // and bonds it to their own stake
    suite
        .bond(&fx.net, buyer, &devices[0])
        .await
        .expect("rebond");
    let bond: DeviceBond = suite
        .account(pda::device_bond(&fx.pool.pool, &devices[0].device).0)
        .await;
    assert_eq!(bond.staker, buyer.wallet.pubkey());
}

#[tokio::test]
async fn unbond_device_by_stranger() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, MIN).await;
    let (op, devices) = &fx.operators[0];
    let (stranger, _) = &fx.operators[1];
    suite.bond(&fx.net, op, &devices[0]).await.expect("bond");
    let ix = staking::unbond_device(
        &stranger.wallet.pubkey(),
        &op.wallet.pubkey(),
        &fx.net.network,
        &devices[0].device,
    );
    assert_error(
        suite.send(&[ix], &[&stranger.wallet]).await,
        StakingError::NotBondParty,
    );
    assert!(
        suite
            .exists(pda::device_bond(&fx.pool.pool, &devices[0].device).0)
            .await
    );
}

#[tokio::test]
async fn unstake_cooldown_withdraw_ok() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 3 * MIN).await;
    let (op, devices) = &fx.operators[0];
    suite.bond(&fx.net, op, &devices[0]).await.expect("bond");
    let wallet_before = suite.token_balance(op.token_account).await;

    unstake(&mut suite, &fx.net, op, 2 * MIN)
        .await
        .expect("unstake down to the bonded minimum");
    let now = suite.clock().await.unix_timestamp;
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!((pos.amount, pos.pending), (MIN, 2 * MIN));
    assert_eq!(pos.unlock_ts, now + COOLDOWN);
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(
        (pool.total_pending, pool.total_staked),
        (2 * MIN, 3 * MIN + 3 * MIN - 2 * MIN)
    );
    assert_conserved(&mut suite, &fx).await;

    suite.advance_time(COOLDOWN).await;
    pause(&mut suite, &fx.net, true).await; // withdrawals of one's own funds survive a pause
    withdraw(&mut suite, &fx.net, op).await.expect("withdraw");
    assert_eq!(
        suite.token_balance(op.token_account).await,
        wallet_before + 2 * MIN
    );
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!((pos.amount, pos.pending), (MIN, 0));
    assert_conserved(&mut suite, &fx).await;
}

#[tokio::test]
async fn request_unstake_errors() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 2 * MIN).await;
    let (op, devices) = &fx.operators[0];
    suite.bond(&fx.net, op, &devices[0]).await.expect("bond");
    suite.bond(&fx.net, op, &devices[1]).await.expect("bond");
    assert_error(
        unstake(&mut suite, &fx.net, op, 1).await,
        StakingError::StakeBelowMinimum,
    );
    assert_error(
        unstake(&mut suite, &fx.net, op, 2 * MIN + 1).await,
        StakingError::InsufficientStake,
    );
    assert_error(
        unstake(&mut suite, &fx.net, op, 0).await,
        StakingError::ZeroAmount,
    );
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!((pos.amount, pos.pending), (2 * MIN, 0));
}

#[tokio::test]
async fn withdraw_errors() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 2 * MIN).await;
    let op = &fx.operators[0].0;
    assert_error(
        withdraw(&mut suite, &fx.net, op).await,
        StakingError::NothingToWithdraw,
    );
    unstake(&mut suite, &fx.net, op, MIN)
        .await
        .expect("unstake");
    suite.advance_time(COOLDOWN - 1).await;
    assert_error(
        withdraw(&mut suite, &fx.net, op).await,
        StakingError::CooldownNotElapsed,
    );
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!(pos.pending, MIN);
    assert_conserved(&mut suite, &fx).await;
}

/// Regression (review 2026-11-28): the pool kept the slash treasury it was created with, so
/// after the authority rotated the network treasury (a leaked key) slashed stake still went
/// to the old owner, and once that account was closed no slash could land at all.
#[tokio::test]
async fn a_rotated_treasury_receives_slashes_once_the_pool_is_synced() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 3 * MIN).await;
    let op = &fx.operators[0].0;
    let token_program = fx.net.token.token_program;
    let rotated = suite.rotate_treasury(&fx.net).await;
    let (new_owner, new_treasury) = (rotated.owner, rotated.treasury);
    let slash_into = |treasury: Pubkey| {
        staking::slash(
            &fx.pool.slash_authority.pubkey(),
            &fx.net.network,
            &op.wallet.pubkey(),
            &fx.net.token,
            &treasury,
            SlashArgs {
                amount: MIN,
                evidence_hash: EVIDENCE,
            },
        )
    };

    // not synced yet: the pool still names the old treasury
    assert_error(
        suite
            .send(&[slash_into(new_treasury)], &[&fx.pool.slash_authority])
            .await,
        StakingError::TreasuryMismatch,
    );
    let sync = |network_treasury: Pubkey, treasury: Pubkey| {
        staking::sync_treasury(&fx.net.network, &network_treasury, &treasury)
    };
    // the new treasury must belong to the network treasury's current owner ...
    let stranger = suite
        .create_token_account(&token_program, &fx.net.token.mint, &Keypair::new().pubkey())
        .await;
    for treasury in [fx.net.treasury, stranger] {
        assert_error(
            suite.send(&[sync(new_treasury, treasury)], &[]).await,
            StakingError::TreasuryMismatch,
        );
    }
    // ... as the network names it now, not as it was
    assert_error(
        suite
            .send(&[sync(fx.net.treasury, fx.net.treasury)], &[])
            .await,
        StakingError::TreasuryMismatch,
    );
    // ... and in the stake mint
    let other_mint = suite
        .create_token_account(&token_program, &fx.net.reward_mint, &new_owner.pubkey())
        .await;
    assert_error(
        suite.send(&[sync(new_treasury, other_mint)], &[]).await,
        StakingError::WrongStakeMint,
    );
    // ... of the pool's own network
    let other = suite.create_network(NetworkParams::default()).await;
    let mut foreign = staking::sync_treasury(&other.network, &other.treasury, &other.treasury);
    foreign.accounts[2].pubkey = fx.pool.pool;
    assert_error(
        suite.send(&[foreign], &[]).await,
        StakingError::WrongNetwork,
    );
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(
        pool.treasury, fx.net.treasury,
        "refused syncs changed nothing"
    );

    // anyone syncs, even while the network is paused
    pause(&mut suite, &fx.net, true).await;
    let events = suite
        .send_with_events(&[sync(new_treasury, new_treasury)], &[])
        .await
        .expect("sync");
    let event: TreasurySynced = decode_event(&events[0]).expect("a TreasurySynced event");
    assert_eq!(
        event,
        TreasurySynced {
            pool: fx.pool.pool,
            previous: fx.net.treasury,
            treasury: new_treasury,
        }
    );
    pause(&mut suite, &fx.net, false).await;

    assert_error(
        suite
            .send(&[slash_into(fx.net.treasury)], &[&fx.pool.slash_authority])
            .await,
        StakingError::TreasuryMismatch,
    );
    let old_before = suite.token_balance(fx.net.treasury).await;
    suite
        .send(&[slash_into(new_treasury)], &[&fx.pool.slash_authority])
        .await
        .expect("slash");
    assert_eq!(suite.token_balance(new_treasury).await, MIN);
    assert_eq!(suite.token_balance(fx.net.treasury).await, old_before);
}

#[tokio::test]
async fn slash_takes_active_then_pending_into_the_treasury() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 3 * MIN).await;
    let op = &fx.operators[0].0;
    unstake(&mut suite, &fx.net, op, 2 * MIN)
        .await
        .expect("unstake");
    let treasury_before = suite.token_balance(fx.net.treasury).await;

    // Given active = MIN and pending = 2 MIN, When slashing 1.5 MIN,
    // Then active goes to 0 and pending loses the remaining 0.5 MIN.
    let ix = staking::slash(
        &fx.pool.slash_authority.pubkey(),
        &fx.net.network,
        &op.wallet.pubkey(),
        &fx.net.token,
        &fx.pool.treasury,
        SlashArgs {
            amount: MIN + MIN / 2,
            evidence_hash: EVIDENCE,
        },
    );
    let events = suite
        .send_with_events(&[ix], &[&fx.pool.slash_authority])
        .await
        .expect("slash");
    let event: Slashed = decode_event(&events[0]).expect("a Slashed event");
    assert_eq!((event.from_active, event.from_pending), (MIN, MIN / 2));
    assert_eq!(
        (event.owner, event.evidence_hash),
        (op.wallet.pubkey(), EVIDENCE)
    );
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!((pos.amount, pos.pending), (0, 2 * MIN - MIN / 2));
    assert_eq!(
        suite.token_balance(fx.net.treasury).await,
        treasury_before + MIN + MIN / 2
    );
    let pool: StakePool = suite.account(fx.pool.pool).await;
    assert_eq!(pool.total_slashed, MIN + MIN / 2);
    assert_conserved(&mut suite, &fx).await;
}

#[tokio::test]
async fn slash_errors() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, MIN).await;
    let op = &fx.operators[0].0;
    let stranger = Keypair::new();
    assert_error(
        slash(&mut suite, &fx, &stranger, &op.wallet, 1).await,
        StakingError::NotSlashAuthority,
    );
    let slasher = fx.pool.slash_authority.insecure_clone();
    assert_error(
        slash(&mut suite, &fx, &slasher, &op.wallet, MIN + 1).await,
        StakingError::SlashExceedsStake,
    );
    assert_error(
        slash(&mut suite, &fx, &slasher, &op.wallet, 0).await,
        StakingError::ZeroAmount,
    );
    let pos = position(&mut suite, &fx.pool, &op.wallet).await;
    assert_eq!(pos.amount, MIN);
    assert_conserved(&mut suite, &fx).await;
}

/// A seeded random walk over stake, unstake, withdraw and slash for two operators, checking
/// after every step that no token appeared or vanished and that the pool's books match.
#[tokio::test]
async fn random_walk_conserves_value() {
    let mut suite = Suite::start().await;
    let fx = fixture(&mut suite, 0).await;
    let slasher = fx.pool.slash_authority.insecure_clone();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..40 {
        let (op, _) = &fx.operators[next(2) as usize];
        let amount = 1 + next(200_000_000);
        // Failures are expected along the way (not enough stake, cooldown running); what is
        // checked is that a failure changes nothing and a success moves exactly the books.
        let _ = match next(5) {
            0 | 1 => suite.stake(&fx.net, op, amount).await,
            2 => unstake(&mut suite, &fx.net, op, amount).await,
            3 => {
                suite.advance_time(COOLDOWN / 2).await;
                withdraw(&mut suite, &fx.net, op).await
            }
            _ => slash(&mut suite, &fx, &slasher, &op.wallet, amount / 4 + 1).await,
        };
        assert_conserved(&mut suite, &fx).await;
        let pool: StakePool = suite.account(fx.pool.pool).await;
        let mut active = 0;
        let mut pending = 0;
        for (op, _) in &fx.operators {
            if suite
                .exists(pda::stake_position(&fx.pool.pool, &op.wallet.pubkey()).0)
                .await
            {
                let pos = position(&mut suite, &fx.pool, &op.wallet).await;
                active += pos.amount;
                pending += pos.pending;
            }
        }
        assert_eq!((pool.total_staked, pool.total_pending), (active, pending));
        assert_eq!(
            suite.token_balance(fx.net.treasury).await,
            fx.net.params.onboarding_fee * 4 + pool.total_slashed
        );
    }
}
