//! Compute units of the heaviest instructions: `claim` with a depth-20 proof (a tree of
//! about a million devices), `clear_interval` over a full book, `submit_reading`, and
//! `submit_proof` answering one challenge on a 4 MiB piece.
//!
//! Meaningful only against the SBF builds (`SBF_OUT_DIR` holding every program's `.so`):
//! natively compiled programs are not metered, so the binary then says it skipped rather
//! than print a number that measures something else.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use depin_core::merkle::root_from_proof;
use depin_sdk::accounts::NetworkKind;
use depin_sdk::energy::{self, MeterSigner, PlaceAskArgs, PlaceBidArgs, Reading};
use depin_sdk::oracle::{RewardRow, Sha256Hasher};
use depin_sdk::rewards::{self, ClaimArgs};
use depin_sdk::Instruction;
use depin_tests::fixture::{default_energy_args, FixtureBuilder, NetworkParams, RewardsParams};
use depin_tests::runtime::{ProgramBuild, Suite};
use depin_tests::Signer;

const DEPTH: usize = 20;

/// Units the instructions consume in simulation.
async fn units(suite: &mut Suite, ixs: &[Instruction]) -> Result<u64, String> {
    let tx = suite
        .transaction(ixs, &[])
        .await
        .map_err(|e| e.to_string())?;
    let simulation = suite
        .ctx
        .banks_client
        .simulate_transaction(tx)
        .await
        .map_err(|e| e.to_string())?;
    match (simulation.result, simulation.simulation_details) {
        (Some(Ok(())), Some(details)) => Ok(details.units_consumed),
        (result, _) => Err(format!("simulation failed: {result:?}")),
    }
}

async fn claim_units(suite: &mut Suite) -> Result<u64, String> {
    let fx = FixtureBuilder::default()
        .stake(100_000_000)
        .bond_all()
        .build(suite)
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
            .map_err(|e| e.to_string())?;
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
        &row.owner,
        &rw.token,
        &to,
        ClaimArgs {
            epoch: 0,
            cumulative_amount: 1_000,
            proof,
        },
    );
    units(suite, &[ix]).await
}

async fn energy_units(suite: &mut Suite) -> Result<(u64, u64), String> {
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Energy,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Meterco", 100, true).await;
    let market = suite
        .create_energy_market(&net, default_energy_args())
        .await
        .map_err(|e| e.to_string())?;
    let op = suite.add_operator(&net, 1_000_000_000).await;
    let quote = suite
        .quote_account(&market, &op.wallet.pubkey(), 1_000_000_000)
        .await;
    let device = suite
        .onboard(&net, &maker, &op)
        .await
        .map_err(|e| e.to_string())?;
    let now = suite.clock().await.unix_timestamp as u64;
    let k = now / 900 + 2;
    for i in 0..32u64 {
        let ask = energy::place_ask(
            &op.wallet.pubkey(),
            &net.network,
            &device.device,
            PlaceAskArgs {
                interval: k,
                price: 50 + i,
                wh: 1_000,
            },
        );
        let bid = energy::place_bid(
            &op.wallet.pubkey(),
            &net.network,
            &device.device,
            &market.quote,
            &quote,
            PlaceBidArgs {
                interval: k,
                limit: 90 - i,
                wh: 1_000,
            },
        );
        suite
            .send(&[ask, bid], &[&op.wallet])
            .await
            .map_err(|e| e.to_string())?;
    }
    suite.set_time((k * 900) as i64 - 300).await;
    let clear = units(suite, &[energy::clear_interval(&net.network, k)]).await?;
    suite.set_time((k * 900 + 900) as i64).await;
    let signer = MeterSigner {
        key: &device.key,
        device: device.device,
        network: net.network,
    };
    let reading = signer.reading_instructions(
        &suite.payer(),
        &Reading {
            interval: k,
            produced_wh: 1,
            consumed_wh: 2,
            counter: 1,
        },
    );
    let submit = units(suite, &reading).await?;
    Ok((clear, submit))
}

async fn storage_units(suite: &mut Suite) -> Result<u64, String> {
    use depin_sdk::storage::{
        self, InitializeMarketArgs, ProposeDealArgs, StorageProver, SubmitProofArgs, SLOT_HASHES_ID,
    };
    use std::io::Write;
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Storage,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Diskco", 10, true).await;
    let args = InitializeMarketArgs {
        proving_period_secs: 3600,
        challenge_window_slots: 20,
        challenges_per_period: 1,
        max_consecutive_faults: 2,
        fault_slash_bps: 1_000,
        protocol_fee_bps: 250,
    };
    let market = suite
        .create_storage_market(&net, args)
        .await
        .map_err(|e| e.to_string())?;
    let (token, treasury) = (market.token, market.treasury);
    let provider = suite.add_operator(&net, 1_000_000_000).await;
    let device = suite
        .onboard(&net, &maker, &provider)
        .await
        .map_err(|e| e.to_string())?;
    let pay = suite
        .funded_account(
            &token.token_program,
            &token.mint,
            &provider.wallet.pubkey(),
            1_000_000,
        )
        .await;
    let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    file.write_all(&vec![7u8; 4 << 20])
        .map_err(|e| e.to_string())?;
    let prover = StorageProver::new(file.path(), 4096).map_err(|e| e.to_string())?;
    let client = provider.wallet.pubkey();
    let deal = depin_sdk::pda::deal(&client, 1).0;
    let propose = storage::propose_deal(
        &client,
        &net.network,
        &device.device,
        &token,
        &pay,
        ProposeDealArgs {
            deal_id: 1,
            piece_root: prover.piece_root(),
            chunk_size: 4096,
            num_chunks: prover.num_chunks(),
            price_per_period: 10,
            periods: 1,
            collateral: 10,
        },
    );
    let accept = storage::accept_deal(&client, &net.network, &deal, &device.device, &token, &pay);
    suite
        .send(&[propose, accept], &[&provider.wallet])
        .await
        .map_err(|e| e.to_string())?;
    let open = storage::open_challenge(&client, &net.network, &deal, 0);
    suite
        .send(&[open], &[&provider.wallet])
        .await
        .map_err(|e| e.to_string())?;
    let opened: depin_sdk::accounts::Deal = suite.account(deal).await;
    suite.advance_slots(2).await;
    let hashes = suite
        .raw_account(SLOT_HASHES_ID)
        .await
        .ok_or("no SlotHashes")?
        .data;
    let responses = prover
        .answers(&hashes, opened.records[0].challenge_slot, &deal, 0, 1)
        .map_err(|e| e.to_string())?;
    let ix = storage::submit_proof(
        &client,
        &net.network,
        &deal,
        &token,
        &pay,
        &treasury,
        SubmitProofArgs {
            period: 0,
            responses,
        },
    );
    let tx = suite
        .transaction(&[ix], &[&provider.wallet])
        .await
        .map_err(|e| e.to_string())?;
    let simulation = suite
        .ctx
        .banks_client
        .simulate_transaction(tx)
        .await
        .map_err(|e| e.to_string())?;
    match (simulation.result, simulation.simulation_details) {
        (Some(Ok(())), Some(details)) => Ok(details.units_consumed),
        (result, _) => Err(format!("simulation failed: {result:?}")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    if ProgramBuild::detect() == ProgramBuild::Native {
        println!("compute units: skipped (no SBF build; set SBF_OUT_DIR to the directory holding every program's .so, e.g. target/deploy after `anchor build`)");
        return std::process::ExitCode::SUCCESS;
    }
    let mut suite = Suite::start().await;
    let result = async {
        let claim = claim_units(&mut suite).await?;
        let (clear, submit) = energy_units(&mut suite).await?;
        let proof = storage_units(&mut suite).await?;
        println!("claim, depth {DEPTH} proof (first claim)   {claim} CU");
        println!("clear_interval, 32 x 32 book            {clear} CU");
        println!("submit_reading (with its Ed25519 check) {submit} CU");
        println!("submit_proof, one challenge, 4 MiB piece  {proof} CU");
        Ok::<(), String>(())
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compute units: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
