//! Sections 2 to 4 of the demo: rewards, energy, storage.

use std::io::Write;

use depin_sdk::accounts::{decode_interval, Deal, NetworkKind};
use depin_sdk::energy::{self, MeterSigner, OrderRef, PlaceAskArgs, PlaceBidArgs, Reading, Side};
use depin_sdk::oracle::{hex, RewardRow, RewardTree};
use depin_sdk::pda;
use depin_sdk::rewards::{self as rewards_ix, ClaimArgs};
use depin_sdk::storage::{
    self as storage_ix, InitializeMarketArgs, ProposeDealArgs, StorageProver, SubmitProofArgs,
    SLOT_HASHES_ID,
};
use depin_tests::fixture::{default_energy_args, Fixture, NetworkParams, RewardsParams};
use depin_tests::runtime::Suite;
use depin_tests::Signer;

use crate::{short, tokens};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Oracles pay the demo's devices for epoch 0; every device claims.
pub async fn rewards(suite: &mut Suite, fx: &Fixture) -> Result<(), String> {
    println!(
        "\n2. rewards: 3 oracles (quorum 2); epoch 0 pays each device for its measured service"
    );
    let rw = suite
        .create_rewards(&fx.net, RewardsParams::default())
        .await;
    let mut rows = Vec::new();
    for (i, (op, devices)) in fx.operators.iter().enumerate() {
        for (j, d) in devices.iter().enumerate() {
            rows.push(RewardRow {
                device: d.device,
                owner: op.wallet.pubkey(),
                cumulative_amount: 50_000_000 * (1 + i as u64 + j as u64),
            });
        }
    }
    let tree = RewardTree::build(rows.clone()).map_err(err)?;
    println!("  tree root        {}", hex(&tree.root()));
    println!(
        "  devices / total  {} / {}",
        tree.len(),
        tokens(tree.total())
    );
    suite.finish_epoch(&rw, 0).await;
    for oracle in 0..2 {
        suite
            .propose(&fx.net, &rw, oracle, 0, tree.root(), tree.total())
            .await
            .map_err(err)?;
    }
    println!("  epoch 0          finalized: 2 of 3 oracles proposed the same root and total");
    for (op, _) in &fx.operators {
        let to = suite
            .create_token_account(
                &fx.net.token.token_program,
                &fx.net.reward_mint,
                &op.wallet.pubkey(),
            )
            .await;
        for row in rows.iter().filter(|r| r.owner == op.wallet.pubkey()) {
            let proof = tree
                .proof(&row.device)
                .ok_or("a device is missing from its own tree")?;
            let args = ClaimArgs {
                epoch: 0,
                cumulative_amount: row.cumulative_amount,
                proof: proof.proof,
            };
            let ixs = rewards_ix::claim_instructions(
                &suite.payer(),
                &fx.net.network,
                &row.device,
                &row.owner,
                &rw.token,
                &to,
                args,
                false,
            );
            suite.send(&ixs, &[]).await.map_err(err)?;
        }
        println!(
            "  operator {}  claimed {}",
            short(&op.wallet.pubkey()),
            tokens(suite.token_balance(to).await)
        );
    }
    println!(
        "  reward supply    {} (the schedule allows {} through epoch 0)",
        tokens(suite.mint_supply(fx.net.reward_mint).await),
        tokens(rw.params.schedule.initial_per_epoch)
    );
    Ok(())
}

/// One interval between a rooftop producer and a neighbour.
pub async fn energy(suite: &mut Suite) -> Result<(), String> {
    println!("\n3. energy: one 15-minute interval between a rooftop producer and a neighbour");
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
    let producer = suite.add_operator(&net, 1_000_000_000).await;
    let consumer = suite.add_operator(&net, 1_000_000_000).await;
    let pv = suite.onboard(&net, &maker, &producer).await.map_err(err)?;
    let home = suite.onboard(&net, &maker, &consumer).await.map_err(err)?;
    // The producer has no stablecoin account: settlement creates its associated one.
    let pv_quote = energy::quote_account(&producer.wallet.pubkey(), &market.quote);
    let home_quote = suite
        .quote_account(&market, &consumer.wallet.pubkey(), 10_000_000)
        .await;
    let interval_secs = market.args.interval_secs;
    let k = suite.clock().await.unix_timestamp as u64 / interval_secs + 2;
    let start = (k * interval_secs) as i64;

    let ask = energy::place_ask(
        &producer.wallet.pubkey(),
        &net.network,
        &pv.device,
        PlaceAskArgs {
            interval: k,
            price: 120_000,
            wh: 3_000,
        },
    );
    suite.send(&[ask], &[&producer.wallet]).await.map_err(err)?;
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
    println!(
        "  orders           ask 3000 Wh at {}/kWh, bid 2000 Wh up to {}/kWh",
        tokens(120_000),
        tokens(200_000)
    );

    suite
        .set_time(start - market.args.gate_closure_secs as i64)
        .await;
    suite
        .send(&[energy::clear_interval(&net.network, k)], &[])
        .await
        .map_err(err)?;
    let raw = suite
        .raw_account(pda::interval(&market.market, k).0)
        .await
        .ok_or("no interval account")?;
    let book = decode_interval(&raw.data).map_err(err)?;
    println!(
        "  cleared          {} Wh at {}/kWh",
        book.volume_wh,
        tokens(book.clearing_price)
    );

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
    println!("  meter reading    1800 Wh produced, signed by the meter's device key");

    let payer = suite.payer();
    let (producer_key, consumer_key) = (producer.wallet.pubkey(), consumer.wallet.pubkey());
    let settle = |device, owner, side| {
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
                slot: 0,
            },
        )
    };
    suite
        .send(&settle(&pv.device, &producer_key, Side::Ask), &[])
        .await
        .map_err(err)?;
    suite
        .send(&settle(&home.device, &consumer_key, Side::Bid), &[])
        .await
        .map_err(err)?;
    println!(
        "  settled          producer +{}, consumer paid {}, grid fee and rounding {}",
        tokens(suite.token_balance(pv_quote).await),
        tokens(10_000_000 - suite.token_balance(home_quote).await),
        tokens(suite.token_balance(market.treasury).await)
    );
    Ok(())
}

/// A 1 MiB storage deal over one proving period.
pub async fn storage(suite: &mut Suite) -> Result<(), String> {
    println!("\n4. storage: a client stores 1 MiB with a provider for one proving period");
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
        challenges_per_period: 2,
        max_consecutive_faults: 2,
        fault_slash_bps: 1_000,
        protocol_fee_bps: 250,
    };
    let market = suite.create_storage_market(&net, args).await.map_err(err)?;
    let (token, treasury) = (market.token, market.treasury);
    let provider = suite.add_operator(&net, 1_000_000_000).await;
    let disk = suite.onboard(&net, &maker, &provider).await.map_err(err)?;
    let provider_pay = suite
        .funded_account(
            &token.token_program,
            &token.mint,
            &provider.wallet.pubkey(),
            5_000_000,
        )
        .await;
    let client = suite.add_operator(&net, 0).await;
    let client_pay = suite
        .funded_account(
            &token.token_program,
            &token.mint,
            &client.wallet.pubkey(),
            5_000_000,
        )
        .await;

    let mut file = tempfile::NamedTempFile::new().map_err(err)?;
    let bytes: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    file.write_all(&bytes).map_err(err)?;
    let prover = StorageProver::new(file.path(), 4096).map_err(err)?;
    println!(
        "  piece root       {} ({} chunks of 4 KiB)",
        hex(&prover.piece_root()),
        prover.num_chunks()
    );

    let deal = pda::deal(&client.wallet.pubkey(), 0).0;
    let terms = ProposeDealArgs {
        deal_id: 0,
        piece_root: prover.piece_root(),
        chunk_size: 4096,
        num_chunks: prover.num_chunks(),
        price_per_period: 1_000_000,
        periods: 1,
        collateral: 2_000_000,
    };
    let propose = storage_ix::propose_deal(
        &client.wallet.pubkey(),
        &net.network,
        &disk.device,
        &token,
        &client_pay,
        terms,
    );
    suite
        .send(&[propose], &[&client.wallet])
        .await
        .map_err(err)?;
    let accepted = storage_ix::terms_hash(&deal, &suite.account::<Deal>(deal).await);
    let accept = storage_ix::accept_deal(
        &provider.wallet.pubkey(),
        &net.network,
        &deal,
        &disk.device,
        &token,
        &provider_pay,
        accepted,
    );
    suite
        .send(&[accept], &[&provider.wallet])
        .await
        .map_err(err)?;
    let open = storage_ix::open_challenge(&provider.wallet.pubkey(), &net.network, &deal, 0);
    suite
        .send(&[open], &[&provider.wallet])
        .await
        .map_err(err)?;
    let opened: Deal = suite.account(deal).await;
    let challenge_slot = opened.records[0].challenge_slot;
    suite.advance_slots(2).await;
    let hashes = suite
        .raw_account(SLOT_HASHES_ID)
        .await
        .ok_or("no SlotHashes sysvar")?
        .data;
    for response in prover
        .answers(&hashes, challenge_slot, &deal, 0, 2)
        .map_err(err)?
    {
        let args = SubmitProofArgs {
            period: 0,
            responses: vec![response],
        };
        let ix = storage_ix::submit_proof(
            &provider.wallet.pubkey(),
            &net.network,
            &deal,
            &token,
            &provider_pay,
            args,
        );
        suite.send(&[ix], &[&provider.wallet]).await.map_err(err)?;
    }
    println!("  period 0         challenge opened at slot {challenge_slot}; 2 words proven from the hash of a later slot");

    suite.set_time(opened.start_ts + 3600).await;
    let complete = storage_ix::complete_deal(
        &net.network,
        &deal,
        &client.wallet.pubkey(),
        &token,
        &provider_pay,
        &treasury,
    );
    suite.send(&[complete], &[]).await.map_err(err)?;
    println!(
        "  completed        provider +{} (collateral back), client paid {}, protocol fee {}",
        tokens(suite.token_balance(provider_pay).await - 5_000_000),
        tokens(5_000_000 - suite.token_balance(client_pay).await),
        tokens(suite.token_balance(treasury).await)
    );
    Ok(())
}
