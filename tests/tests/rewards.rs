//! Rewards: emission schedule, oracle quorum and cumulative merkle claims, inside the real
//! runtime with the real SPL Token program minting.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use anchor_spl::token::spl_token;
use depin_core::emission::EmissionSchedule;
use depin_sdk::accounts::{Claimed, DeviceStatus, EpochRoot, RewardsConfig};
use depin_sdk::events::decode_event;
use depin_sdk::oracle::{RewardRow, RewardTree};
use depin_sdk::registry::{self, UpdateNetworkArgs};
use depin_sdk::rewards::{
    self, ClaimArgs, InitializeRewardsArgs, ProposeRootArgs, Schedule, SetOraclesArgs,
};
use depin_sdk::rewards_program::error::RewardsError;
use depin_sdk::rewards_program::events::{RootFinalized, RootProposed};
use depin_sdk::staking;
use depin_sdk::{pda, Pubkey};
use depin_tests::assert::{assert_error, assert_instruction_error, InstructionError};
use depin_tests::fixture::{
    DeviceFixture, Fixture, FixtureBuilder, NetworkFixture, OperatorFixture, RewardsFixture,
    RewardsParams,
};
use depin_tests::runtime::{SendError, Suite};
use depin_tests::{Keypair, Signer};

const MIN: u64 = 100_000_000;

/// A network with 2 operators x 2 bonded devices and rewards configured.
async fn setup(suite: &mut Suite) -> (Fixture, RewardsFixture) {
    let fx = FixtureBuilder::default()
        .pool(MIN, 3600)
        .operators(2, 2)
        .stake(2 * MIN)
        .bond_all()
        .build(suite)
        .await;
    let rw = suite
        .create_rewards(&fx.net, RewardsParams::default())
        .await;
    (fx, rw)
}

fn devices(fx: &Fixture) -> Vec<(&OperatorFixture, &DeviceFixture)> {
    fx.operators
        .iter()
        .flat_map(|(op, ds)| ds.iter().map(move |d| (op, d)))
        .collect()
}

/// A tree paying `amounts[i]` (cumulative) to the i-th device, to its current owner.
fn tree(fx: &Fixture, amounts: &[u64]) -> RewardTree {
    let rows = devices(fx)
        .into_iter()
        .zip(amounts)
        .map(|((op, d), amount)| RewardRow {
            device: d.device,
            owner: op.wallet.pubkey(),
            cumulative_amount: *amount,
        })
        .collect();
    RewardTree::build(rows).expect("tree")
}

/// Finalizes `epoch` with `tree` (oracles 0 and 1 agree).
async fn finalize(
    suite: &mut Suite,
    fx: &Fixture,
    rw: &RewardsFixture,
    epoch: u64,
    tree: &RewardTree,
) {
    suite.finish_epoch(rw, epoch).await;
    for oracle in 0..usize::from(rw.params.quorum) {
        suite
            .propose(&fx.net, rw, oracle, epoch, tree.root(), tree.total())
            .await
            .expect("propose");
    }
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, epoch).0).await;
    assert!(root.finalized);
}

async fn recipient(suite: &mut Suite, net: &NetworkFixture, owner: &Pubkey) -> Pubkey {
    suite
        .create_token_account(&net.token.token_program, &net.reward_mint, owner)
        .await
}

/// The instructions of a claim for `device`, naming its current owner (read from the
/// chain): `open_claimed` (paid by `payer`) first when the device has no claim record yet.
async fn claim_ix(
    suite: &mut Suite,
    payer: &Pubkey,
    net: &NetworkFixture,
    rw: &RewardsFixture,
    device: &Pubkey,
    to: &Pubkey,
    args: ClaimArgs,
) -> Vec<depin_sdk::Instruction> {
    let owner = suite
        .account::<depin_sdk::accounts::Device>(*device)
        .await
        .owner;
    let open = suite.exists(pda::claimed(&rw.config, device).0).await;
    rewards::claim_instructions(
        payer,
        &net.network,
        device,
        &owner,
        &rw.token,
        to,
        args,
        open,
    )
}

fn args(epoch: u64, cumulative_amount: u64, proof: Vec<[u8; 32]>) -> ClaimArgs {
    ClaimArgs {
        epoch,
        cumulative_amount,
        proof,
    }
}

/// Claims the device's row of `tree` into `to`, cranked by the harness payer.
async fn claim(
    suite: &mut Suite,
    fx: &Fixture,
    rw: &RewardsFixture,
    tree: &RewardTree,
    device: &DeviceFixture,
    to: &Pubkey,
    epoch: u64,
) -> Result<(), SendError> {
    let p = tree.proof(&device.device).expect("device in tree");
    let payer = suite.payer();
    let ix = claim_ix(
        suite,
        &payer,
        &fx.net,
        rw,
        &device.device,
        to,
        args(epoch, p.row.cumulative_amount, p.proof),
    )
    .await;
    suite.send(&ix, &[]).await
}

async fn minted(suite: &mut Suite, rw: &RewardsFixture) -> u64 {
    suite.account::<RewardsConfig>(rw.config).await.total_minted
}

#[tokio::test]
async fn account_sizes_match_their_layout() {
    assert_eq!(
        RewardsConfig::SIZE,
        8 + 32 * 2 + 24 + 8 + 8 + 32 * 11 + 1 + 1 + 4 + 8 + 9 + 8 + 32 + 1
    );
    assert_eq!(
        EpochRoot::SIZE,
        8 + 32 + 8 + 4 + 11 * (1 + 32 + 8 + 32) + 1 + 32 + 8 + 32 + 8 + 1
    );
    assert_eq!(Claimed::SIZE, 8 + 32 * 2 + 8 + 8 + 1);
}

#[tokio::test]
async fn initialize_rewards_ok_hands_the_mint_to_the_program() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let config: RewardsConfig = suite.account(rw.config).await;
    assert_eq!(config.network, fx.net.network);
    assert_eq!(config.reward_mint, fx.net.reward_mint);
    assert_eq!(config.schedule, rw.params.schedule);
    assert_eq!(config.genesis_ts, rw.genesis_ts);
    assert_eq!((config.oracle_count, config.quorum), (3, 2));
    assert_eq!(
        &config.oracles[..3],
        &rw.oracles.iter().map(|k| k.pubkey()).collect::<Vec<_>>()[..]
    );
    assert_eq!(
        (config.total_minted, config.latest_finalized_epoch),
        (0, None)
    );

    let mint = suite.raw_account(fx.net.reward_mint).await.expect("mint");
    let mint =
        <spl_token::state::Mint as solana_program_pack::Pack>::unpack(&mint.data).expect("mint");
    assert_eq!(mint.mint_authority, Some(rw.config).into());
    // the old authority can no longer mint
    let to = recipient(&mut suite, &fx.net, &Pubkey::new_unique()).await;
    let ix = spl_token::instruction::mint_to(
        &spl_token::ID,
        &fx.net.reward_mint,
        &to,
        &suite.mint_authority.pubkey(),
        &[],
        1,
    )
    .expect("ix");
    let authority = suite.mint_authority.insecure_clone();
    // SPL Token's OwnerMismatch
    assert_instruction_error(
        suite.send(&[ix], &[&authority]).await,
        InstructionError::Custom(4),
    );
}

#[tokio::test]
async fn initialize_rewards_errors() {
    let mut suite = Suite::start().await;
    let fx = FixtureBuilder::default().build(&mut suite).await;
    let net = &fx.net;
    let oracles: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
    let good = InitializeRewardsArgs {
        schedule: RewardsParams::default().schedule,
        epoch_duration_secs: 60,
        genesis_ts: 0,
        oracles: oracles.clone(),
        quorum: 2,
    };
    let mint_authority = suite.mint_authority.insecure_clone();
    let token = rewards::RewardToken {
        mint: net.reward_mint,
        token_program: spl_token::ID,
    };
    let send = |args: InitializeRewardsArgs, authority: Keypair| {
        let ix = rewards::initialize_rewards(
            &suite.payer(),
            &authority.pubkey(),
            &net.network,
            &token,
            &mint_authority.pubkey(),
            args,
        );
        (ix, authority)
    };
    let cases: Vec<(InitializeRewardsArgs, RewardsError)> = vec![
        (
            InitializeRewardsArgs {
                schedule: Schedule {
                    initial_per_epoch: 1,
                    halving_interval_epochs: 1,
                    tail_per_epoch: 2,
                },
                ..good.clone()
            },
            RewardsError::InvalidSchedule,
        ),
        (
            InitializeRewardsArgs {
                epoch_duration_secs: 0,
                ..good.clone()
            },
            RewardsError::InvalidEpochDuration,
        ),
        (
            InitializeRewardsArgs {
                epoch_duration_secs: depin_core::epoch::MAX_DURATION_SECS + 1,
                ..good.clone()
            },
            RewardsError::InvalidEpochDuration,
        ),
        (
            InitializeRewardsArgs {
                genesis_ts: -1,
                ..good.clone()
            },
            RewardsError::InvalidGenesis,
        ),
        (
            InitializeRewardsArgs {
                genesis_ts: i64::MAX,
                ..good.clone()
            },
            RewardsError::InvalidGenesis,
        ),
        (
            InitializeRewardsArgs {
                quorum: 1,
                ..good.clone()
            },
            RewardsError::InvalidQuorum,
        ),
        (
            InitializeRewardsArgs {
                quorum: 4,
                ..good.clone()
            },
            RewardsError::InvalidQuorum,
        ),
        (
            InitializeRewardsArgs {
                oracles: (0..12).map(|_| Pubkey::new_unique()).collect(),
                quorum: 7,
                ..good.clone()
            },
            RewardsError::InvalidOracleSet,
        ),
        (
            InitializeRewardsArgs {
                oracles: vec![oracles[0], oracles[0], oracles[1]],
                ..good.clone()
            },
            RewardsError::InvalidOracleSet,
        ),
        (
            InitializeRewardsArgs {
                oracles: vec![],
                quorum: 0,
                ..good.clone()
            },
            RewardsError::InvalidOracleSet,
        ),
    ];
    let mut txs = Vec::new();
    for (args, err) in cases {
        txs.push((send(args, net.authority.insecure_clone()), err));
    }
    let stranger = send(good.clone(), Keypair::new());
    for ((ix, authority), err) in txs {
        assert_error(suite.send(&[ix], &[&authority, &mint_authority]).await, err);
    }
    let (ix, authority) = stranger;
    assert_error(
        suite.send(&[ix], &[&authority, &mint_authority]).await,
        RewardsError::NotNetworkAuthority,
    );

    // a mint other than the network's reward mint
    let other = rewards::RewardToken {
        mint: net.token.mint,
        token_program: spl_token::ID,
    };
    let ix = rewards::initialize_rewards(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &other,
        &mint_authority.pubkey(),
        good.clone(),
    );
    assert_error(
        suite.send(&[ix], &[&net.authority, &mint_authority]).await,
        RewardsError::RewardMintMismatch,
    );

    // a signer that is not the mint's authority: SPL Token refuses (OwnerMismatch)
    let impostor = Keypair::new();
    let ix = rewards::initialize_rewards(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &token,
        &impostor.pubkey(),
        good.clone(),
    );
    assert_instruction_error(
        suite.send(&[ix], &[&net.authority, &impostor]).await,
        InstructionError::Custom(4),
    );
    assert!(
        !suite.exists(pda::rewards_config(&net.network).0).await,
        "nothing half-written"
    );

    // twice
    let ix = rewards::initialize_rewards(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &token,
        &mint_authority.pubkey(),
        good.clone(),
    );
    suite
        .send(&[ix], &[&net.authority, &mint_authority])
        .await
        .expect("first");
    let ix = rewards::initialize_rewards(
        &suite.payer(),
        &net.authority.pubkey(),
        &net.network,
        &token,
        &mint_authority.pubkey(),
        InitializeRewardsArgs {
            epoch_duration_secs: 1,
            ..good
        },
    );
    assert_error(
        suite.send(&[ix], &[&net.authority, &mint_authority]).await,
        RewardsError::RewardsAlreadyInitialized,
    );
}

#[tokio::test]
async fn quorum_reached_and_not_reached() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let t = tree(&fx, &[10, 20, 30, 40]);
    suite.finish_epoch(&rw, 0).await;

    // Given one proposal of a 2-of-3 quorum, the epoch is not final
    let ix = rewards::propose_root(
        &rw.oracles[0].pubkey(),
        &fx.net.network,
        ProposeRootArgs {
            epoch: 0,
            root: t.root(),
            cumulative_total: t.total(),
            multipliers_hash: [0; 32],
        },
    );
    let events = suite
        .send_with_events(&[ix], &[&rw.oracles[0]])
        .await
        .expect("propose");
    let proposed: RootProposed = decode_event(&events[0]).expect("RootProposed");
    assert_eq!(
        (proposed.epoch, proposed.votes, proposed.cumulative_total),
        (0, 1, 100)
    );
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 0).0).await;
    assert!(!root.finalized);
    assert_eq!(
        suite
            .account::<RewardsConfig>(rw.config)
            .await
            .latest_finalized_epoch,
        None
    );

    // When a second oracle agrees exactly, Then it finalizes
    let ix = rewards::propose_root(
        &rw.oracles[2].pubkey(),
        &fx.net.network,
        ProposeRootArgs {
            epoch: 0,
            root: t.root(),
            cumulative_total: t.total(),
            multipliers_hash: [0; 32],
        },
    );
    let events = suite
        .send_with_events(&[ix], &[&rw.oracles[2]])
        .await
        .expect("propose");
    assert_eq!(events.len(), 2);
    let finalized: RootFinalized = decode_event(&events[1]).expect("RootFinalized");
    assert_eq!(
        (finalized.epoch, finalized.root, finalized.cumulative_total),
        (0, t.root(), 100)
    );
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 0).0).await;
    assert!(root.finalized);
    assert_eq!((root.root, root.cumulative_total), (t.root(), 100));
    let config: RewardsConfig = suite.account(rw.config).await;
    assert_eq!(
        (config.latest_finalized_epoch, config.latest_finalized_total),
        (Some(0), 100)
    );

    // and it stays final
    let late = suite.propose(&fx.net, &rw, 1, 0, [9; 32], 100).await;
    assert_error(late, RewardsError::EpochAlreadyFinalized);
}

#[tokio::test]
async fn conflicting_proposals() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let honest = tree(&fx, &[10, 20, 30, 40]);
    suite.finish_epoch(&rw, 0).await;
    suite
        .propose(&fx.net, &rw, 0, 0, honest.root(), honest.total())
        .await
        .expect("a");
    // same root, different total: does not count as agreement
    suite
        .propose(&fx.net, &rw, 1, 0, honest.root(), honest.total() + 1)
        .await
        .expect("b");
    assert!(
        !suite
            .account::<EpochRoot>(pda::epoch_root(&rw.config, 0).0)
            .await
            .finalized
    );
    // an oracle may revise its own proposal; then the honest pair wins
    suite
        .propose(&fx.net, &rw, 1, 0, honest.root(), honest.total())
        .await
        .expect("b revised");
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 0).0).await;
    assert!(root.finalized);
    assert_eq!(root.cumulative_total, honest.total());
}

/// Oracle `index` proposes `(tree, hash)` for `epoch`; returns the votes its `RootProposed`
/// counted and the hash a `RootFinalized` carried, if the proposal finalized the epoch.
async fn propose_table(
    suite: &mut Suite,
    fx: &Fixture,
    rw: &RewardsFixture,
    index: usize,
    epoch: u64,
    tree: &RewardTree,
    multipliers_hash: [u8; 32],
) -> (u8, Option<[u8; 32]>) {
    let oracle = &rw.oracles[index];
    let ix = rewards::propose_root(
        &oracle.pubkey(),
        &fx.net.network,
        ProposeRootArgs {
            epoch,
            root: tree.root(),
            cumulative_total: tree.total(),
            multipliers_hash,
        },
    );
    let events = suite
        .send_with_events(&[ix], &[oracle])
        .await
        .expect("propose");
    let proposed: RootProposed = decode_event(&events[0]).expect("RootProposed");
    assert_eq!(
        (proposed.oracle, proposed.epoch, proposed.root),
        (oracle.pubkey(), epoch, tree.root())
    );
    assert_eq!(proposed.multipliers_hash, multipliers_hash);
    let finalized = events.get(1).map(|data| {
        let e: RootFinalized = decode_event(data).expect("RootFinalized");
        assert_eq!((e.epoch, e.root), (epoch, tree.root()));
        e.multipliers_hash
    });
    (proposed.votes, finalized)
}

#[tokio::test]
async fn multiplier_table_hash_must_agree_and_is_kept_on_finalization() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let t = tree(&fx, &[10, 20, 30, 40]);
    let (table_a, table_b) = ([0xa1; 32], [0xb2; 32]);
    suite.finish_epoch(&rw, 1).await;

    // Given two oracles of a 2-of-3 quorum with the same root and total but different
    // multiplier tables, Then neither counts the other's vote and the epoch stays open
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 0, 0, &t, table_a).await,
        (1, None)
    );
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 1, 0, &t, table_b).await,
        (1, None)
    );
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 0).0).await;
    assert!(!root.finalized);
    assert_eq!(root.multipliers_hash, [0; 32]);
    assert_eq!(
        (
            root.proposals[0].multipliers_hash,
            root.proposals[1].multipliers_hash
        ),
        (table_a, table_b)
    );
    // a zero hash (no table) agrees with neither
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 2, 0, &t, [0; 32]).await,
        (1, None)
    );

    // When a third oracle changes its mind to agree with table B, Then it finalizes with B
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 2, 0, &t, table_b).await,
        (2, Some(table_b))
    );
    // and the hash is readable after finalization
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 0).0).await;
    assert!(root.finalized);
    assert_eq!(
        (root.root, root.cumulative_total, root.multipliers_hash),
        (t.root(), t.total(), table_b)
    );

    // Given an oracle that proposed table A for epoch 1 and then changed its mind to B
    let t1 = tree(&fx, &[20, 30, 40, 50]);
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 0, 1, &t1, table_a).await,
        (1, None)
    );
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 0, 1, &t1, table_b).await,
        (1, None)
    );
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 1).0).await;
    assert_eq!(root.proposals[0].multipliers_hash, table_b);
    // Then its earlier table A no longer counts: another oracle proposing A is alone
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 1, 1, &t1, table_a).await,
        (1, None)
    );
    assert!(
        !suite
            .account::<EpochRoot>(pda::epoch_root(&rw.config, 1).0)
            .await
            .finalized
    );
    // and agreeing with B finalizes epoch 1 with B
    assert_eq!(
        propose_table(&mut suite, &fx, &rw, 1, 1, &t1, table_b).await,
        (2, Some(table_b))
    );
    let root: EpochRoot = suite.account(pda::epoch_root(&rw.config, 1).0).await;
    assert_eq!((root.finalized, root.multipliers_hash), (true, table_b));
}

#[tokio::test]
async fn propose_root_errors() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let t = tree(&fx, &[10, 20, 30, 40]);

    // the epoch is not over yet
    assert_error(
        suite.propose(&fx.net, &rw, 0, 0, t.root(), t.total()).await,
        RewardsError::EpochNotOver,
    );
    suite.finish_epoch(&rw, 0).await;
    assert_error(
        suite.propose(&fx.net, &rw, 0, 1, t.root(), t.total()).await,
        RewardsError::EpochNotOver,
    );

    // a stranger is not an oracle
    let stranger = Keypair::new();
    suite.airdrop(&stranger.pubkey(), 100_000_000).await;
    let ix = rewards::propose_root(
        &stranger.pubkey(),
        &fx.net.network,
        ProposeRootArgs {
            epoch: 0,
            root: t.root(),
            cumulative_total: 1,
            multipliers_hash: [0; 32],
        },
    );
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        RewardsError::NotOracle,
    );

    // more than the schedule allows through epoch 0
    let cap = rw.params.schedule.initial_per_epoch;
    assert_error(
        suite.propose(&fx.net, &rw, 0, 0, t.root(), cap + 1).await,
        RewardsError::ExceedsEmissionSchedule,
    );
    suite
        .propose(&fx.net, &rw, 0, 0, t.root(), cap)
        .await
        .expect("exactly the cap is allowed");

    // after epoch 0 finalizes at 100, epoch 1 may not go below it, nor may epoch 0 be redone
    finalize(&mut suite, &fx, &rw, 0, &t).await;
    suite.finish_epoch(&rw, 1).await;
    assert_error(
        suite
            .propose(&fx.net, &rw, 0, 1, t.root(), t.total() - 1)
            .await,
        RewardsError::DecreasingTotal,
    );
    suite.finish_epoch(&rw, 3).await;
    let t3 = tree(&fx, &[20, 30, 40, 50]);
    finalize(&mut suite, &fx, &rw, 3, &t3).await;
    assert_error(
        suite
            .propose(&fx.net, &rw, 0, 2, t3.root(), t3.total())
            .await,
        RewardsError::StaleEpoch,
    );

    // nothing while paused
    let pause = registry::update_network(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        None,
        UpdateNetworkArgs {
            paused: Some(true),
            ..Default::default()
        },
    );
    suite
        .send(&[pause], &[&fx.net.authority])
        .await
        .expect("pause");
    suite.finish_epoch(&rw, 4).await;
    assert_error(
        suite
            .propose(&fx.net, &rw, 0, 4, t3.root(), t3.total())
            .await,
        RewardsError::NetworkPaused,
    );
}

#[tokio::test]
async fn set_oracles_ok_discards_proposals_of_the_old_set() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let t = tree(&fx, &[10, 20, 30, 40]);
    suite.finish_epoch(&rw, 0).await;
    suite
        .propose(&fx.net, &rw, 0, 0, t.root(), t.total())
        .await
        .expect("old oracle 0");

    // Given the set is replaced by (new, oracle 1) with quorum 2
    let newcomer = Keypair::new();
    suite.airdrop(&newcomer.pubkey(), 100_000_000).await;
    let ix = rewards::set_oracles(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        SetOraclesArgs {
            oracles: vec![newcomer.pubkey(), rw.oracles[1].pubkey()],
            quorum: 2,
        },
    );
    suite
        .send(&[ix], &[&fx.net.authority])
        .await
        .expect("set oracles");
    let config: RewardsConfig = suite.account(rw.config).await;
    assert_eq!(
        (
            config.oracle_count,
            config.quorum,
            config.oracle_set_version
        ),
        (2, 2, 1)
    );

    // Then the removed oracle cannot propose, and its earlier vote does not count
    assert_error(
        suite.propose(&fx.net, &rw, 0, 0, t.root(), t.total()).await,
        RewardsError::NotOracle,
    );
    suite
        .propose(&fx.net, &rw, 1, 0, t.root(), t.total())
        .await
        .expect("oracle 1 (index 1 in the new set)");
    assert!(
        !suite
            .account::<EpochRoot>(pda::epoch_root(&rw.config, 0).0)
            .await
            .finalized
    );
    let ix = rewards::propose_root(
        &newcomer.pubkey(),
        &fx.net.network,
        ProposeRootArgs {
            epoch: 0,
            root: t.root(),
            cumulative_total: t.total(),
            multipliers_hash: [0; 32],
        },
    );
    suite.send(&[ix], &[&newcomer]).await.expect("newcomer");
    assert!(
        suite
            .account::<EpochRoot>(pda::epoch_root(&rw.config, 0).0)
            .await
            .finalized
    );
}

#[tokio::test]
async fn set_oracles_errors() {
    let mut suite = Suite::start().await;
    let (fx, _rw) = setup(&mut suite).await;
    let stranger = Keypair::new();
    let args = SetOraclesArgs {
        oracles: vec![Pubkey::new_unique()],
        quorum: 1,
    };
    let ix = rewards::set_oracles(&stranger.pubkey(), &fx.net.network, args.clone());
    assert_error(
        suite.send(&[ix], &[&stranger]).await,
        RewardsError::NotNetworkAuthority,
    );
    let ix = rewards::set_oracles(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        SetOraclesArgs {
            quorum: 0,
            ..args.clone()
        },
    );
    assert_error(
        suite.send(&[ix], &[&fx.net.authority]).await,
        RewardsError::InvalidQuorum,
    );
    let ix = rewards::set_oracles(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        SetOraclesArgs {
            oracles: vec![Pubkey::default()],
            quorum: 1,
        },
    );
    assert_error(
        suite.send(&[ix], &[&fx.net.authority]).await,
        RewardsError::InvalidOracleSet,
    );
}

#[tokio::test]
async fn claim_ok_mints_exactly_the_difference() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let (op, device) = (&fx.operators[0].0, &fx.operators[0].1[0]);
    let to = recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await;
    let t0 = tree(&fx, &[100, 200, 300, 400]);
    finalize(&mut suite, &fx, &rw, 0, &t0).await;
    let supply = suite.mint_supply(fx.net.reward_mint).await;

    // anyone may crank: a stranger pays the fees and the rent, the owner gets the tokens
    let cranker = Keypair::new();
    suite.airdrop(&cranker.pubkey(), 100_000_000).await;
    let p = t0.proof(&device.device).unwrap();
    let ix = claim_ix(
        &mut suite,
        &cranker.pubkey(),
        &fx.net,
        &rw,
        &device.device,
        &to,
        args(0, p.row.cumulative_amount, p.proof),
    )
    .await;
    suite.send(&ix, &[&cranker]).await.expect("claim");
    assert_eq!(suite.token_balance(to).await, 100);
    assert_eq!(suite.mint_supply(fx.net.reward_mint).await, supply + 100);
    let claimed: Claimed = suite
        .account(pda::claimed(&rw.config, &device.device).0)
        .await;
    assert_eq!(
        (claimed.device, claimed.total_claimed, claimed.last_epoch),
        (device.device, 100, 0)
    );
    assert_eq!(minted(&mut suite, &rw).await, 100);

    // a second claim of the same root pays nothing and changes nothing
    claim(&mut suite, &fx, &rw, &t0, device, &to, 0)
        .await
        .expect("second claim");
    assert_eq!(suite.token_balance(to).await, 100);
    assert_eq!(minted(&mut suite, &rw).await, 100);

    // a later epoch pays only what was added since
    let t1 = tree(&fx, &[250, 200, 300, 400]);
    finalize(&mut suite, &fx, &rw, 1, &t1).await;
    claim(&mut suite, &fx, &rw, &t1, device, &to, 1)
        .await
        .expect("claim epoch 1");
    assert_eq!(suite.token_balance(to).await, 250);
    assert_eq!(suite.mint_supply(fx.net.reward_mint).await, supply + 250);
}

#[tokio::test]
async fn claim_after_several_epochs_pays_the_sum() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let (op, device) = (&fx.operators[1].0, &fx.operators[1].1[1]);
    let to = recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await;
    // the device earns 40, 50, 60 in epochs 0, 1, 2 and claims only at the end
    for (epoch, cumulative) in [(0u64, 40u64), (1, 90), (2, 150)] {
        let t = tree(&fx, &[1, 1, 1, cumulative]);
        finalize(&mut suite, &fx, &rw, epoch, &t).await;
        if epoch == 2 {
            claim(&mut suite, &fx, &rw, &t, device, &to, 2)
                .await
                .expect("claim");
        }
    }
    assert_eq!(suite.token_balance(to).await, 150);
}

/// Regression (security review, rewards 1): a superseded root stayed claimable. When the
/// oracles' epoch 1 corrected a device's amount down, the device claimed against epoch 0 for
/// the higher amount, and that overpayment then made honest claims against the latest root
/// fail with `MintCapExceeded`.
#[tokio::test]
async fn claim_against_a_superseded_root() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let ds = devices(&fx);
    let (cheat_op, cheat) = ds[0];
    let (honest_op, honest) = ds[1];
    let cheat_to = recipient(&mut suite, &fx.net, &cheat_op.wallet.pubkey()).await;
    let honest_to = recipient(&mut suite, &fx.net, &honest_op.wallet.pubkey()).await;
    // Given epoch 0 paying the first device 500, and epoch 1 correcting it to 300 (fraud
    // found) while the second device's measured service raised it to 400
    let t0 = tree(&fx, &[500, 100, 0, 0]);
    finalize(&mut suite, &fx, &rw, 0, &t0).await;
    let t1 = tree(&fx, &[300, 400, 0, 0]);
    finalize(&mut suite, &fx, &rw, 1, &t1).await;
    // When the first device claims against epoch 0
    // Then the superseded root pays nothing
    assert_error(
        claim(&mut suite, &fx, &rw, &t0, cheat, &cheat_to, 0).await,
        RewardsError::SupersededRoot,
    );
    assert_eq!(suite.token_balance(cheat_to).await, 0);
    // and the latest root pays each device exactly its amount there, all of it mintable
    claim(&mut suite, &fx, &rw, &t1, cheat, &cheat_to, 1)
        .await
        .expect("latest root");
    claim(&mut suite, &fx, &rw, &t1, honest, &honest_to, 1)
        .await
        .expect("honest claim fits the cap");
    assert_eq!(suite.token_balance(cheat_to).await, 300);
    assert_eq!(suite.token_balance(honest_to).await, 400);
    assert_eq!(minted(&mut suite, &rw).await, t1.total());
    // and nothing more, in any order, against any epoch
    for (t, epoch) in [(&t0, 0), (&t1, 1), (&t0, 0)] {
        let _ = claim(&mut suite, &fx, &rw, t, cheat, &cheat_to, epoch).await;
    }
    assert_eq!(suite.token_balance(cheat_to).await, 300);
}

#[tokio::test]
async fn open_claimed_ok_and_errors() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let device = &fx.operators[0].1[0];
    let address = pda::claimed(&rw.config, &device.device).0;
    // anyone may open a device's record, once
    let opener = Keypair::new();
    suite.airdrop(&opener.pubkey(), 100_000_000).await;
    let open = |payer: &Pubkey, network: &Pubkey, device: &Pubkey| {
        rewards::open_claimed(payer, network, device)
    };
    let events = suite
        .send_with_events(
            &[open(&opener.pubkey(), &fx.net.network, &device.device)],
            &[&opener],
        )
        .await
        .expect("open");
    let claimed: Claimed = suite.account(address).await;
    assert_eq!(
        (claimed.config, claimed.device, claimed.total_claimed),
        (rw.config, device.device, 0)
    );
    let opened: depin_sdk::rewards_program::events::ClaimedOpened =
        decode_event(&events[0]).expect("ClaimedOpened");
    assert_eq!((opened.device, opened.claimed), (device.device, address));
    assert_error(
        suite
            .send(
                &[open(&opener.pubkey(), &fx.net.network, &device.device)],
                &[&opener],
            )
            .await,
        RewardsError::ClaimedAlreadyOpen,
    );
    // a device of another network
    let other = FixtureBuilder::default().build(&mut suite).await;
    let foreign = &other.operators[0].1[0];
    assert_error(
        suite
            .send(
                &[open(&opener.pubkey(), &fx.net.network, &foreign.device)],
                &[&opener],
            )
            .await,
        RewardsError::WrongNetwork,
    );
    // a claim before the device's record is open: the account it needs does not exist
    let second = &fx.operators[0].1[1];
    let t = tree(&fx, &[1, 2, 3, 4]);
    finalize(&mut suite, &fx, &rw, 0, &t).await;
    let p = t.proof(&second.device).unwrap();
    let to = recipient(&mut suite, &fx.net, &fx.operators[0].0.wallet.pubkey()).await;
    let bare = rewards::claim(
        &fx.net.network,
        &second.device,
        &fx.operators[0].0.wallet.pubkey(),
        &rw.token,
        &to,
        args(0, p.row.cumulative_amount, p.proof),
    );
    assert_error(
        suite.send(&[bare], &[]).await,
        anchor_lang::error::ErrorCode::AccountNotInitialized,
    );
    // while paused
    let pause = registry::update_network(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        None,
        UpdateNetworkArgs {
            paused: Some(true),
            ..Default::default()
        },
    );
    suite.send(&[pause], &[&fx.net.authority]).await.unwrap();
    assert_error(
        suite
            .send(
                &[open(&opener.pubkey(), &fx.net.network, &second.device)],
                &[&opener],
            )
            .await,
        RewardsError::NetworkPaused,
    );
}

#[tokio::test]
async fn claim_with_a_wrong_proof_or_for_a_wrong_owner() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let (op, device) = (&fx.operators[0].0, &fx.operators[0].1[0]);
    let to = recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await;
    let t = tree(&fx, &[100, 200, 300, 400]);
    finalize(&mut suite, &fx, &rw, 0, &t).await;
    let p = t.proof(&device.device).unwrap();
    let payer = suite.payer();

    // an inflated amount
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &device.device,
        &to,
        args(0, 101, p.proof.clone()),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::InvalidProof);
    // a corrupted sibling
    let mut bad = p.proof.clone();
    bad[0][0] ^= 1;
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &device.device,
        &to,
        args(0, 100, bad),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::InvalidProof);
    // another device's proof
    let other = t.proof(&fx.operators[0].1[1].device).unwrap();
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &device.device,
        &to,
        args(0, other.row.cumulative_amount, other.proof),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::InvalidProof);
    // a proof longer than any real tree
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &device.device,
        &to,
        args(0, 100, vec![[0; 32]; 33]),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::ProofTooLong);

    // a wrong owner: the tree names the old owner, the device now belongs to someone else
    let buyer = &fx.operators[1].0;
    let transfer = registry::transfer_device(
        &op.wallet.pubkey(),
        &fx.net.network,
        &device.key.pubkey(),
        &buyer.wallet.pubkey(),
    );
    suite
        .send(&[transfer], &[&op.wallet])
        .await
        .expect("transfer");
    let unbond = staking::unbond_device(
        &buyer.wallet.pubkey(),
        &op.wallet.pubkey(),
        &fx.net.network,
        &device.device,
    );
    suite
        .send(&[unbond], &[&buyer.wallet])
        .await
        .expect("unbond");
    suite
        .stake(&fx.net, buyer, MIN)
        .await
        .expect("stake for a third device");
    suite.bond(&fx.net, buyer, device).await.expect("rebond");
    let buyer_to = recipient(&mut suite, &fx.net, &buyer.wallet.pubkey()).await;
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &device.device,
        &buyer_to,
        args(0, 100, p.proof.clone()),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::InvalidProof);
    // and the old owner's account is not the device owner's any more
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &device.device,
        &to,
        args(0, 100, p.proof),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::WrongRecipient);
    assert_eq!(minted(&mut suite, &rw).await, 0);
    assert_eq!(suite.token_balance(to).await, 0);
}

#[tokio::test]
async fn claim_for_an_ineligible_device() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let (op, devs) = &fx.operators[0];
    let to = recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await;
    let t = tree(&fx, &[100, 200, 300, 400]);
    finalize(&mut suite, &fx, &rw, 0, &t).await;

    // suspended
    let suspend = registry::set_device_status(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        &devs[0].key.pubkey(),
        DeviceStatus::Suspended,
    );
    suite
        .send(&[suspend], &[&fx.net.authority])
        .await
        .expect("suspend");
    assert_error(
        claim(&mut suite, &fx, &rw, &t, &devs[0], &to, 0).await,
        RewardsError::DeviceNotActive,
    );

    // unbonded
    let unbond = staking::unbond_device(
        &op.wallet.pubkey(),
        &op.wallet.pubkey(),
        &fx.net.network,
        &devs[1].device,
    );
    suite.send(&[unbond], &[&op.wallet]).await.expect("unbond");
    assert_error(
        claim(&mut suite, &fx, &rw, &t, &devs[1], &to, 0).await,
        RewardsError::DeviceNotBonded,
    );

    // bonded by its previous owner: the new owner has not put stake behind it
    let (buyer, buyer_devs) = &fx.operators[1];
    let transfer = registry::transfer_device(
        &buyer.wallet.pubkey(),
        &fx.net.network,
        &buyer_devs[0].key.pubkey(),
        &op.wallet.pubkey(),
    );
    suite
        .send(&[transfer], &[&buyer.wallet])
        .await
        .expect("transfer");
    finalize(&mut suite, &fx, &rw, 1, &tree(&fx, &[100, 200, 300, 400])).await;
    suite.finish_epoch(&rw, 2).await;
    // epoch 2 carries the new owner's row; totals only grow
    let rows = vec![
        RewardRow {
            device: buyer_devs[0].device,
            owner: op.wallet.pubkey(),
            cumulative_amount: 300,
        },
        RewardRow {
            device: buyer_devs[1].device,
            owner: buyer.wallet.pubkey(),
            cumulative_amount: 700,
        },
    ];
    let t2 = RewardTree::build(rows).unwrap();
    finalize(&mut suite, &fx, &rw, 2, &t2).await;
    assert_error(
        claim(&mut suite, &fx, &rw, &t2, &buyer_devs[0], &to, 2).await,
        RewardsError::BondStakerNotOwner,
    );

    // an epoch after the latest finalized one, whose account does not even exist
    let p = t2.proof(&buyer_devs[1].device).unwrap();
    let buyer_to = recipient(&mut suite, &fx.net, &buyer.wallet.pubkey()).await;
    let payer = suite.payer();
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &buyer_devs[1].device,
        &buyer_to,
        args(9, p.row.cumulative_amount, p.proof.clone()),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::EpochNotFinalized);
    // and one that exists with a single proposal
    suite.finish_epoch(&rw, 3).await;
    suite
        .propose(&fx.net, &rw, 0, 3, t2.root(), t2.total())
        .await
        .expect("one proposal");
    let payer = suite.payer();
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &buyer_devs[1].device,
        &buyer_to,
        args(3, p.row.cumulative_amount, p.proof.clone()),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::EpochNotFinalized);

    // paused
    let pause = registry::update_network(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        None,
        UpdateNetworkArgs {
            paused: Some(true),
            ..Default::default()
        },
    );
    suite
        .send(&[pause], &[&fx.net.authority])
        .await
        .expect("pause");
    assert_error(
        claim(&mut suite, &fx, &rw, &t2, &buyer_devs[1], &buyer_to, 2).await,
        RewardsError::NetworkPaused,
    );
    assert_eq!(minted(&mut suite, &rw).await, 0);
}

#[tokio::test]
async fn claims_never_mint_past_the_finalized_total() {
    // Given oracles that finalize a total smaller than the tree's leaves add up to
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let t = tree(&fx, &[400, 300, 200, 100]);
    suite.finish_epoch(&rw, 0).await;
    for oracle in 0..2 {
        suite
            .propose(&fx.net, &rw, oracle, 0, t.root(), 500)
            .await
            .expect("propose");
    }
    // When every device claims, Then minting stops at the finalized total
    let mut paid = Vec::new();
    for (op, device) in devices(&fx) {
        let to = recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await;
        paid.push(claim(&mut suite, &fx, &rw, &t, device, &to, 0).await);
    }
    assert!(paid[0].is_ok()); // 400
    assert_error(paid.remove(1), RewardsError::MintCapExceeded); // 400 + 300 > 500
    assert_eq!(minted(&mut suite, &rw).await, 400 + 100);
}

/// A seeded random multi-epoch run: oracles finalize growing trees (sometimes skipping
/// epochs), random devices claim. After every step: minted = supply growth = sum of
/// `Claimed`, and minted <= the schedule through the latest finalized epoch.
#[tokio::test]
async fn random_epochs_never_mint_past_the_schedule() {
    let mut suite = Suite::start().await;
    let params = RewardsParams {
        schedule: Schedule {
            initial_per_epoch: 1_000,
            halving_interval_epochs: 2,
            tail_per_epoch: 100,
        },
        ..RewardsParams::default()
    };
    let fx = FixtureBuilder::default()
        .pool(MIN, 3600)
        .operators(2, 2)
        .stake(2 * MIN)
        .bond_all()
        .build(&mut suite)
        .await;
    let rw = suite.create_rewards(&fx.net, params.clone()).await;
    let schedule = EmissionSchedule::from(params.schedule);
    let supply0 = suite.mint_supply(fx.net.reward_mint).await;
    let devs = devices(&fx);
    let mut recipients = Vec::new();
    for (op, _) in &devs {
        recipients.push(recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await);
    }

    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut cumulative = vec![0u64; devs.len()];
    let mut epoch = 0u64;
    for _ in 0..8 {
        epoch += next(2); // sometimes skip an epoch
        let cap = schedule.cumulative_through(epoch).unwrap() as u64;
        let total: u64 = cumulative.iter().sum();
        let budget = cap - total;
        for c in cumulative.iter_mut() {
            *c += next(budget / devs.len() as u64 + 1);
        }
        let t = tree(&fx, &cumulative);
        finalize(&mut suite, &fx, &rw, epoch, &t).await;
        let finalized_epoch = epoch;
        epoch += 1;

        for _ in 0..3 {
            let i = next(devs.len() as u64) as usize;
            claim(
                &mut suite,
                &fx,
                &rw,
                &t,
                devs[i].1,
                &recipients[i],
                finalized_epoch,
            )
            .await
            .expect("claim");

            let config: RewardsConfig = suite.account(rw.config).await;
            let through = schedule
                .cumulative_through(config.latest_finalized_epoch.unwrap())
                .unwrap();
            assert!(
                u128::from(config.total_minted) <= through,
                "minted past the schedule"
            );
            assert!(config.total_minted <= config.latest_finalized_total);
            assert_eq!(
                suite.mint_supply(fx.net.reward_mint).await - supply0,
                config.total_minted
            );
            let mut claimed_sum = 0;
            for (_, d) in &devs {
                let address = pda::claimed(&rw.config, &d.device).0;
                if suite.exists(address).await {
                    claimed_sum += suite.account::<Claimed>(address).await.total_claimed;
                }
            }
            assert_eq!(claimed_sum, config.total_minted);
        }
    }
}

#[tokio::test]
async fn claim_for_a_device_of_another_network() {
    let mut suite = Suite::start().await;
    let (fx, rw) = setup(&mut suite).await;
    let other = FixtureBuilder::default()
        .pool(MIN, 3600)
        .operators(1, 1)
        .stake(MIN)
        .bond_all()
        .build(&mut suite)
        .await;
    let (op, devices) = &other.operators[0];
    let row = RewardRow {
        device: devices[0].device,
        owner: op.wallet.pubkey(),
        cumulative_amount: 10,
    };
    let t = RewardTree::build(vec![row]).unwrap();
    finalize(&mut suite, &fx, &rw, 0, &t).await;
    let to = recipient(&mut suite, &fx.net, &op.wallet.pubkey()).await;
    let payer = suite.payer();
    let ix = claim_ix(
        &mut suite,
        &payer,
        &fx.net,
        &rw,
        &devices[0].device,
        &to,
        args(0, 10, vec![]),
    )
    .await;
    assert_error(suite.send(&ix, &[]).await, RewardsError::WrongNetwork);
}

/// Operator 0's two devices bonded with exactly 2 x MIN, and a finalized tree paying its
/// first device 100: the fixtures, the tree and the owner's reward account.
async fn bonded_at_the_minimum(suite: &mut Suite) -> (Fixture, RewardsFixture, RewardTree, Pubkey) {
    let (fx, rw) = setup(suite).await;
    let owner = fx.operators[0].0.wallet.pubkey();
    let to = recipient(suite, &fx.net, &owner).await;
    let t = tree(&fx, &[100, 200, 300, 400]);
    finalize(suite, &fx, &rw, 0, &t).await;
    (fx, rw, t, to)
}

/// Operator 0's first device cannot claim (`UnderCollateralized`) before each stake of
/// `stakes` but the last, and claims its 100 once the last is staked.
async fn claims_once_restaked(
    suite: &mut Suite,
    (fx, rw, t, to): (&Fixture, &RewardsFixture, &RewardTree, Pubkey),
    stakes: &[u64],
) {
    let (op, devs) = &fx.operators[0];
    for amount in stakes {
        assert_error(
            claim(suite, fx, rw, t, &devs[0], &to, 0).await,
            RewardsError::UnderCollateralized,
        );
        suite.stake(&fx.net, op, *amount).await.expect("restake");
    }
    claim(suite, fx, rw, t, &devs[0], &to, 0)
        .await
        .expect("claim");
    assert_eq!(suite.token_balance(to).await, 100);
}

/// A slash that leaves the owner's stake below what its bonded devices need stops their
/// rewards until the owner restakes.
#[tokio::test]
async fn no_rewards_for_devices_of_an_under_collateralised_position() {
    let mut suite = Suite::start().await;
    let (fx, rw, t, to) = bonded_at_the_minimum(&mut suite).await;
    // Given 2 devices bonded with exactly 2 x MIN, When 1 unit is slashed
    let slash = staking::slash(
        &fx.pool.slash_authority.pubkey(),
        &fx.net.network,
        &fx.operators[0].0.wallet.pubkey(),
        &fx.net.token,
        &fx.pool.treasury,
        depin_sdk::staking::SlashArgs {
            amount: 1,
            evidence_hash: [1; 32],
        },
    );
    suite
        .send(&[slash], &[&fx.pool.slash_authority])
        .await
        .expect("slash");
    // Then its devices cannot claim until the owner tops the stake up again
    claims_once_restaked(&mut suite, (&fx, &rw, &t, to), &[1]).await;
}

/// A minimum raised above what a position holds per bonded device stops its devices'
/// rewards, as a slash does, until the owner stakes up to the new minimum: the bonds stay.
#[tokio::test]
async fn a_raised_minimum_stops_rewards_of_positions_below_it_until_they_restake() {
    let mut suite = Suite::start().await;
    let (fx, rw, t, to) = bonded_at_the_minimum(&mut suite).await;
    // Given 2 devices bonded with exactly 2 x MIN, When the authority raises the minimum by 1
    let raise = staking::update_pool(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        staking::UpdatePoolArgs {
            min_stake_per_device: Some(MIN + 1),
            ..Default::default()
        },
    );
    suite
        .send(&[raise], &[&fx.net.authority])
        .await
        .expect("raise the minimum");
    // Then its devices cannot claim, not even one unit per device short, until the owner
    // covers both devices at the new minimum
    claims_once_restaked(&mut suite, (&fx, &rw, &t, to), &[1, 1]).await;
}
