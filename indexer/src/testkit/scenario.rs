//! A scenario that drives every instruction of the five programs through the real runtime,
//! so every one of the 46 event kinds is emitted at least once. The indexer's tests record
//! its transactions and replay them as a chain.

use std::io::Write;

use depin_sdk::accounts::{Deal, NetworkKind};
use depin_sdk::energy::{self, MeterSigner, OrderRef, PlaceAskArgs, PlaceBidArgs, Reading, Side};
use depin_sdk::oracle::{RewardRow, RewardTree};
use depin_sdk::pda;
use depin_sdk::registry::{self, DeviceStatus, UpdateNetworkArgs};
use depin_sdk::rewards::{self, ClaimArgs, ProposeRootArgs, SetOraclesArgs};
use depin_sdk::staking::{self, SlashArgs, UpdatePoolArgs};
use depin_sdk::storage::{
    self, InitializeMarketArgs, ProposeDealArgs, StorageProver, SubmitProofArgs, SLOT_HASHES_ID,
};
use depin_tests::fixture::{default_energy_args, FixtureBuilder, NetworkParams, RewardsParams};
use depin_tests::runtime::{ProcessedTransaction, Suite};
use depin_tests::{Keypair, Signer};

/// The region multiplier table hash the scenario's oracles commit with epoch 0's root.
pub const SCENARIO_MULTIPLIERS_HASH: [u8; 32] = [0x3c; 32];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// How many copies of the scenario a benchmark's load holds: `DEPIN_BENCH_COPIES`, 400
/// when unset or not a number.
pub fn bench_copies() -> u64 {
    std::env::var("DEPIN_BENCH_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// The scenario run once in a fresh runtime: its transactions that touch a suite program,
/// as recorded (the benchmarks replicate them with [`crate::testkit::chain::replicate`]).
pub async fn recorded_scenario() -> Result<Vec<ProcessedTransaction>, String> {
    let mut suite = Suite::start().await;
    suite.start_recording();
    full_scenario(&mut suite).await?;
    let programs = crate::events::suite_programs();
    Ok(suite
        .take_recorded()
        .into_iter()
        .filter(|t| t.account_keys.iter().any(|k| programs.contains(k)))
        .collect())
}

/// Runs the whole scenario on `suite` (about 70 transactions).
pub async fn full_scenario(suite: &mut Suite) -> Result<(), String> {
    registry_staking_rewards(suite).await?;
    storage_deals(suite).await?;
    energy_interval(suite).await?;
    Ok(())
}

/// Registry, staking and rewards on one wireless network.
async fn registry_staking_rewards(suite: &mut Suite) -> Result<(), String> {
    let fx = FixtureBuilder::default()
        .operators(2, 2)
        .pool(100, 10)
        .stake(1_000)
        .bond_all()
        .build(suite)
        .await;
    let net = &fx.net;
    let (op0, devices0) = &fx.operators[0];
    let (op1, devices1) = &fx.operators[1];

    let update = registry::update_network(
        &net.authority.pubkey(),
        &net.network,
        None,
        UpdateNetworkArgs {
            location_fee: Some(1_000),
            ..Default::default()
        },
    );
    suite
        .send(&[update], &[&net.authority])
        .await
        .map_err(err)?;
    let locate = registry::assert_location(
        &op0.wallet.pubkey(),
        &net.network,
        &devices0[0].key.pubkey(),
        &net.fee_accounts(op0.token_account),
        0x08a2_a107_2b59_ffff,
    );
    suite.send(&[locate], &[&op0.wallet]).await.map_err(err)?;
    let unbond = staking::unbond_device(
        &op0.wallet.pubkey(),
        &op0.wallet.pubkey(),
        &net.network,
        &devices0[1].device,
    );
    suite.send(&[unbond], &[&op0.wallet]).await.map_err(err)?;
    let buyer = Keypair::new();
    let transfer = registry::transfer_device(
        &op0.wallet.pubkey(),
        &net.network,
        &devices0[1].key.pubkey(),
        &buyer.pubkey(),
    );
    suite.send(&[transfer], &[&op0.wallet]).await.map_err(err)?;
    let suspend = registry::set_device_status(
        &net.authority.pubkey(),
        &net.network,
        &devices1[1].key.pubkey(),
        DeviceStatus::Suspended,
    );
    suite
        .send(&[suspend], &[&net.authority])
        .await
        .map_err(err)?;
    // an auditor named, suspending a device with evidence
    let auditor = Keypair::new();
    let name = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    suite.send(&[name], &[&net.authority]).await.map_err(err)?;
    let audit = registry::audit_device(
        &auditor.pubkey(),
        &net.network,
        &devices0[0].key.pubkey(),
        registry::AuditDeviceArgs {
            status: DeviceStatus::Suspended,
            evidence: [0xe5; 32],
        },
    );
    suite.send(&[audit], &[&auditor]).await.map_err(err)?;
    let reinstate = registry::audit_device(
        &auditor.pubkey(),
        &net.network,
        &devices0[0].key.pubkey(),
        registry::AuditDeviceArgs {
            status: DeviceStatus::Active,
            evidence: [0xe6; 32],
        },
    );
    suite.send(&[reinstate], &[&auditor]).await.map_err(err)?;

    let pool_update = staking::update_pool(
        &net.authority.pubkey(),
        &net.network,
        UpdatePoolArgs {
            min_stake_per_device: Some(200),
            cooldown_secs: None,
            slash_authority: None,
        },
    );
    suite
        .send(&[pool_update], &[&net.authority])
        .await
        .map_err(err)?;
    // a keeper's sync after a treasury rotation (here the treasury is unchanged: anyone may
    // send it, and it only ever names an account of the network treasury's owner)
    let sync = staking::sync_treasury(&net.network, &net.treasury, &fx.pool.treasury);
    suite.send(&[sync], &[]).await.map_err(err)?;
    let unstake = staking::request_unstake(&op1.wallet.pubkey(), &net.network, 300);
    suite.send(&[unstake], &[&op1.wallet]).await.map_err(err)?;
    suite.advance_time(fx.pool.cooldown_secs as i64 + 1).await;
    let withdraw = staking::withdraw(
        &op1.wallet.pubkey(),
        &net.network,
        &net.token,
        &op1.token_account,
    );
    suite.send(&[withdraw], &[&op1.wallet]).await.map_err(err)?;
    let slash = staking::slash(
        &fx.pool.slash_authority.pubkey(),
        &net.network,
        &op0.wallet.pubkey(),
        &net.token,
        &fx.pool.treasury,
        SlashArgs {
            amount: 7,
            evidence_hash: [9; 32],
        },
    );
    suite
        .send(&[slash], &[&fx.pool.slash_authority])
        .await
        .map_err(err)?;

    // rewards: a new oracle set, one finalized epoch, one claim
    let rw = suite.create_rewards(net, RewardsParams::default()).await;
    let set = rewards::set_oracles(
        &net.authority.pubkey(),
        &net.network,
        SetOraclesArgs {
            oracles: rw.oracles.iter().map(|o| o.pubkey()).collect(),
            quorum: 2,
        },
    );
    suite.send(&[set], &[&net.authority]).await.map_err(err)?;
    let rows = vec![
        RewardRow {
            device: devices0[0].device,
            owner: op0.wallet.pubkey(),
            cumulative_amount: 40_000_000,
        },
        RewardRow {
            device: devices1[0].device,
            owner: op1.wallet.pubkey(),
            cumulative_amount: 60_000_000,
        },
    ];
    let tree = RewardTree::build(rows.clone()).map_err(err)?;
    suite.finish_epoch(&rw, 0).await;
    for oracle in 0..2 {
        // with a region multiplier table, so its hash reaches the indexed rows
        let args = ProposeRootArgs {
            epoch: 0,
            root: tree.root(),
            cumulative_total: tree.total(),
            multipliers_hash: SCENARIO_MULTIPLIERS_HASH,
        };
        suite
            .propose_args(net, &rw, oracle, args)
            .await
            .map_err(err)?;
    }
    for row in &rows {
        let recipient = suite
            .create_token_account(&net.token.token_program, &net.reward_mint, &row.owner)
            .await;
        let proof = tree
            .proof(&row.device)
            .ok_or("device missing from its tree")?;
        let claim = rewards::claim_instructions(
            &suite.payer(),
            &net.network,
            &row.device,
            &row.owner,
            &rw.token,
            &recipient,
            ClaimArgs {
                epoch: 0,
                cumulative_amount: row.cumulative_amount,
                proof: proof.proof,
            },
            false,
        );
        suite.send(&claim, &[]).await.map_err(err)?;
    }

    // the network hands its authority over
    let successor = Keypair::new();
    suite.airdrop(&successor.pubkey(), 10_000_000).await;
    let propose =
        registry::propose_authority(&net.authority.pubkey(), &net.network, &successor.pubkey());
    suite
        .send(&[propose], &[&net.authority])
        .await
        .map_err(err)?;
    let accept = registry::accept_authority(&successor.pubkey(), &net.network);
    suite.send(&[accept], &[&successor]).await.map_err(err)?;
    Ok(())
}

/// Three deals: one proven and completed, one cancelled, one faulted until terminated.
async fn storage_deals(suite: &mut Suite) -> Result<(), String> {
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Storage,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Diskco", 10, true).await;
    const WINDOW: u64 = 20;
    let args = InitializeMarketArgs {
        proving_period_secs: 3600,
        challenge_window_slots: WINDOW,
        challenges_per_period: 2,
        max_consecutive_faults: 2,
        fault_slash_bps: 1_000,
        protocol_fee_bps: 250,
    };
    let market = suite.create_storage_market(&net, args).await.map_err(err)?;
    let (token, treasury) = (market.token, market.treasury);
    let sync = storage::sync_treasury(&net.network, &net.treasury, &treasury);
    suite.send(&[sync], &[]).await.map_err(err)?;
    let provider = suite.add_operator(&net, 1_000_000_000).await;
    let disk = suite.onboard(&net, &maker, &provider).await.map_err(err)?;
    let provider_pay = suite
        .funded_account(
            &token.token_program,
            &token.mint,
            &provider.wallet.pubkey(),
            50_000_000,
        )
        .await;
    let client = suite.add_operator(&net, 0).await;
    let client_pay = suite
        .funded_account(
            &token.token_program,
            &token.mint,
            &client.wallet.pubkey(),
            50_000_000,
        )
        .await;

    let mut file = tempfile::NamedTempFile::new().map_err(err)?;
    let bytes: Vec<u8> = (0..1u32 << 18)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    file.write_all(&bytes).map_err(err)?;
    let prover = StorageProver::new(file.path(), 4096).map_err(err)?;

    let client_key = client.wallet.pubkey();
    let provider_key = provider.wallet.pubkey();
    // Deal ids are sequential per client: 0 is completed, 1 cancelled, 2 terminated.
    for (id, periods) in [(0u64, 1u8), (1, 1), (2, 2)] {
        let propose = storage::propose_deal(
            &client_key,
            &net.network,
            &disk.device,
            &token,
            &client_pay,
            ProposeDealArgs {
                deal_id: id,
                piece_root: prover.piece_root(),
                chunk_size: 4096,
                num_chunks: prover.num_chunks(),
                price_per_period: 1_000_000,
                periods,
                collateral: 2_000_000,
            },
        );
        suite
            .send(&[propose], &[&client.wallet])
            .await
            .map_err(err)?;
    }
    let cancel = storage::cancel_deal(&client_key, &net.network, 1, &token, &client_pay);
    suite
        .send(&[cancel], &[&client.wallet])
        .await
        .map_err(err)?;
    let deal1 = pda::deal(&client_key, 0).0;
    let deal3 = pda::deal(&client_key, 2).0;
    for deal in [deal1, deal3] {
        let terms = storage::terms_hash(&deal, &suite.account::<Deal>(deal).await);
        let accept = storage::accept_deal(
            &provider_key,
            &net.network,
            &deal,
            &disk.device,
            &token,
            &provider_pay,
            terms,
        );
        suite
            .send(&[accept], &[&provider.wallet])
            .await
            .map_err(err)?;
    }

    // deal 1: period 0 challenged and proven
    let open = storage::open_challenge(&provider_key, &net.network, &deal1, 0);
    suite
        .send(&[open], &[&provider.wallet])
        .await
        .map_err(err)?;
    let opened: Deal = suite.account(deal1).await;
    let challenge_slot = opened.records[0].challenge_slot;
    suite.advance_slots(2).await;
    let hashes = suite
        .raw_account(SLOT_HASHES_ID)
        .await
        .ok_or("no SlotHashes sysvar")?
        .data;
    for response in prover
        .answers(&hashes, challenge_slot, &deal1, 0, 2)
        .map_err(err)?
    {
        let proof = storage::submit_proof(
            &provider_key,
            &net.network,
            &deal1,
            &token,
            &provider_pay,
            SubmitProofArgs {
                period: 0,
                responses: vec![response],
            },
        );
        suite
            .send(&[proof], &[&provider.wallet])
            .await
            .map_err(err)?;
    }

    // period 1 begins: deal 1 is over, deal 3's unchallenged period 0 is a fault
    suite.set_time(opened.start_ts + 3600).await;
    let complete = storage::complete_deal(
        &net.network,
        &deal1,
        &client_key,
        &token,
        &provider_pay,
        &treasury,
    );
    suite.send(&[complete], &[]).await.map_err(err)?;
    let report = |period| storage::report_fault(&net.network, &deal3, &token, &client_pay, period);
    suite.send(&[report(0)], &[]).await.map_err(err)?;
    // period 1 challenged but never answered: the second fault terminates the deal
    let open = storage::open_challenge(&provider_key, &net.network, &deal3, 1);
    suite
        .send(&[open], &[&provider.wallet])
        .await
        .map_err(err)?;
    suite.advance_slots(WINDOW + 1).await;
    suite.send(&[report(1)], &[]).await.map_err(err)?;
    Ok(())
}

/// One interval: an ask and a bid match, a second ask is cancelled, a reading is signed,
/// both orders settle and the book is closed.
async fn energy_interval(suite: &mut Suite) -> Result<(), String> {
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Energy,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Meterco", 10, true).await;
    let market = suite
        .create_energy_market(&net, default_energy_args())
        .await
        .map_err(err)?;
    let sync = energy::sync_treasury(&net.network, &net.treasury, &market.treasury);
    suite.send(&[sync], &[]).await.map_err(err)?;
    let producer = suite.add_operator(&net, 1_000_000_000).await;
    let second = suite.add_operator(&net, 1_000_000_000).await;
    let consumer = suite.add_operator(&net, 1_000_000_000).await;
    let pv = suite.onboard(&net, &maker, &producer).await.map_err(err)?;
    let pv2 = suite.onboard(&net, &maker, &second).await.map_err(err)?;
    let home = suite.onboard(&net, &maker, &consumer).await.map_err(err)?;
    let second_quote = suite
        .quote_account(&market, &second.wallet.pubkey(), 0)
        .await;
    let home_quote = suite
        .quote_account(&market, &consumer.wallet.pubkey(), 10_000_000)
        .await;
    let interval_secs = market.args.interval_secs;
    let k = suite.clock().await.unix_timestamp as u64 / interval_secs + 2;
    let start = (k * interval_secs) as i64;

    let ask = |owner: &Keypair, device, price, wh| {
        energy::place_ask(
            &owner.pubkey(),
            &net.network,
            device,
            PlaceAskArgs {
                interval: k,
                price,
                wh,
            },
        )
    };
    suite
        .send(
            &[ask(&producer.wallet, &pv.device, 120_000, 3_000)],
            &[&producer.wallet],
        )
        .await
        .map_err(err)?;
    suite
        .send(
            &[ask(&second.wallet, &pv2.device, 150_000, 1_000)],
            &[&second.wallet],
        )
        .await
        .map_err(err)?;
    let bid = energy::place_bid(
        &consumer.wallet.pubkey(),
        &net.network,
        &home.device,
        &market.quote,
        &home_quote,
        PlaceBidArgs {
            interval: k,
            limit: 200_000,
            wh: 2_000,
        },
    );
    suite.send(&[bid], &[&consumer.wallet]).await.map_err(err)?;
    let cancel = energy::cancel_order(
        &second.wallet.pubkey(),
        &net.network,
        &market.quote,
        &second_quote,
        OrderRef {
            interval: k,
            side: Side::Ask,
            slot: 1,
        },
    );
    suite
        .send(&[cancel], &[&second.wallet])
        .await
        .map_err(err)?;
    // the second producer places again: its new ask reuses the cancelled slot 1, above the
    // clearing, so it is settled with nothing matched
    suite
        .send(
            &[ask(&second.wallet, &pv2.device, 150_000, 500)],
            &[&second.wallet],
        )
        .await
        .map_err(err)?;

    suite
        .set_time(start - market.args.gate_closure_secs as i64)
        .await;
    suite
        .send(&[energy::clear_interval(&net.network, k)], &[])
        .await
        .map_err(err)?;
    suite.set_time(start + interval_secs as i64).await;
    let meter = MeterSigner {
        key: &pv.key,
        device: pv.device,
        network: net.network,
    };
    let reading = meter.reading_instructions(
        &suite.payer(),
        &Reading {
            interval: k,
            produced_wh: 1_800,
            consumed_wh: 0,
            counter: 1,
        },
    );
    suite.send(&reading, &[]).await.map_err(err)?;

    let payer = suite.payer();
    let settle = |device, owner, side, slot| {
        energy::settle_order_instructions(
            &payer,
            &net.network,
            &market.quote,
            &market.treasury,
            device,
            owner,
            OrderRef {
                interval: k,
                side,
                slot,
            },
        )
    };
    let (producer_key, consumer_key) = (producer.wallet.pubkey(), consumer.wallet.pubkey());
    suite
        .send(&settle(&pv.device, &producer_key, Side::Ask, 0), &[])
        .await
        .map_err(err)?;
    let second_key = second.wallet.pubkey();
    suite
        .send(&settle(&pv2.device, &second_key, Side::Ask, 1), &[])
        .await
        .map_err(err)?;
    suite
        .send(&settle(&home.device, &consumer_key, Side::Bid, 0), &[])
        .await
        .map_err(err)?;
    let close = energy::close_interval(&net.network, k, &producer_key);
    suite.send(&[close], &[]).await.map_err(err)?;
    Ok(())
}
