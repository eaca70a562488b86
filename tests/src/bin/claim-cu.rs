//! Compute units of `claim` with a depth-20 proof (a tree of about a million devices).
//!
//! Meaningful only against the SBF build (`SBF_OUT_DIR` holding `rewards.so` and its
//! siblings): natively compiled programs do not meter compute, so the binary then says it
//! skipped rather than print a number that measures something else.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use depin_core::merkle::root_from_proof;
use depin_sdk::oracle::{RewardRow, Sha256Hasher};
use depin_sdk::rewards::{self, ClaimArgs};
use depin_tests::fixture::{FixtureBuilder, RewardsParams};
use depin_tests::runtime::{ProgramBuild, Suite};
use depin_tests::Signer;

const DEPTH: usize = 20;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    if ProgramBuild::detect() == ProgramBuild::Native {
        println!("claim compute units at depth {DEPTH}: skipped (no SBF build; set SBF_OUT_DIR to the directory holding device_registry.so, staking.so and rewards.so)");
        return std::process::ExitCode::SUCCESS;
    }
    let mut suite = Suite::start().await;
    let fx = FixtureBuilder::default()
        .stake(100_000_000)
        .bond_all()
        .build(&mut suite)
        .await;
    let rw = suite
        .create_rewards(&fx.net, RewardsParams::default())
        .await;
    let (op, devices) = &fx.operators[0];
    let row = RewardRow {
        device: devices[0].device,
        owner: op.wallet.pubkey(),
        cumulative_amount: 1_000,
    };
    let proof: Vec<[u8; 32]> = (0..DEPTH as u8)
        .map(|i| [i.wrapping_mul(37).wrapping_add(1); 32])
        .collect();
    let root = root_from_proof::<Sha256Hasher>(&proof, row.leaf());
    suite.finish_epoch(&rw, 0).await;
    for oracle in 0..2 {
        suite
            .propose(&fx.net, &rw, oracle, 0, root, 1_000)
            .await
            .expect("propose");
    }
    let to = suite
        .create_token_account(
            &fx.net.token.token_program,
            &fx.net.reward_mint,
            &op.wallet.pubkey(),
        )
        .await;
    let ix = rewards::claim(
        &suite.payer(),
        &fx.net.network,
        &row.device,
        &rw.token,
        &to,
        ClaimArgs {
            epoch: 0,
            cumulative_amount: 1_000,
            proof,
        },
    );
    let tx = suite.transaction(&[ix], &[]).await.expect("transaction");
    let simulation = suite
        .ctx
        .banks_client
        .simulate_transaction(tx)
        .await
        .expect("simulate");
    match (simulation.result, simulation.simulation_details) {
        (Some(Ok(())), Some(details)) => {
            println!(
                "claim compute units at depth {DEPTH} (first claim, creates Claimed): {}",
                details.units_consumed
            );
            std::process::ExitCode::SUCCESS
        }
        (result, _) => {
            eprintln!("claim failed in simulation: {result:?}");
            std::process::ExitCode::FAILURE
        }
    }
}
