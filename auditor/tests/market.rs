//! Devices that only serve their own operators, end to end: a storage network on a
//! localnet, indexed into PostgreSQL. One operator buys three deals from its own node, two
//! operators buy only from each other's nodes, and an honest operator's node is paid by
//! customers. The auditor flags exactly the three nodes of the closed circles as colluding,
//! with a plain-words reason; once the honest operator and the circle buy from each other,
//! the circle earns most from outside and is no longer flagged.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use depin_auditor::{score_network, Finding, FindingKind, Score, Thresholds};
use depin_indexer::testkit::postgres::TempPostgres;
use depin_localnet::scenario::{self, Operator};
use depin_localnet::{Config as LocalnetConfig, Localnet};
use depin_sdk::client::{expect_landed, Client};
use depin_sdk::registry::NetworkKind;
use depin_sdk::storage::{self, InitializeMarketArgs, PaymentToken, ProposeDealArgs};
use depin_sdk::{pda, Pubkey};
use depin_tests::{Keypair, Signer};

/// Proposes deal `deal_id` of `client` with `device` and has its owner accept it.
async fn deal(
    client: &Client,
    net: &scenario::Network,
    token: &PaymentToken,
    buyer: &Operator,
    deal_id: u64,
    device: &Pubkey,
    owner: &Operator,
) {
    let propose = storage::propose_deal(
        &buyer.wallet.pubkey(),
        &net.network,
        device,
        token,
        &buyer.tokens,
        ProposeDealArgs {
            deal_id,
            piece_root: [deal_id as u8 + 1; 32],
            chunk_size: 4096,
            num_chunks: 16,
            price_per_period: 1_000,
            periods: 4,
            collateral: 100,
        },
    );
    expect_landed(
        client
            .send(&[propose], &[&buyer.wallet])
            .await
            .expect("propose"),
    )
    .expect("proposed");
    let address = pda::deal(&buyer.wallet.pubkey(), deal_id).0;
    let data = client.rpc().get_account_data(&address).await.expect("deal");
    let terms = storage::terms_hash(
        &address,
        &depin_sdk::accounts::decode(&data).expect("decode"),
    );
    let accept = storage::accept_deal(
        &owner.wallet.pubkey(),
        &net.network,
        &address,
        device,
        token,
        &owner.tokens,
        terms,
    );
    expect_landed(
        client
            .send(&[accept], &[&owner.wallet])
            .await
            .expect("accept"),
    )
    .expect("accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_paid_only_by_their_own_operators_are_flagged_as_colluding() {
    let localnet = Localnet::start(LocalnetConfig::ephemeral())
        .await
        .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let net = scenario::network_of_kind(&client, 41, NetworkKind::Storage, true)
        .await
        .expect("network");
    let token = PaymentToken {
        mint: net.token.mint,
        token_program: net.token.token_program,
    };
    let init = storage::initialize_market(
        &client.payer(),
        &net.authority.pubkey(),
        &net.network,
        &token,
        &net.treasury,
        &net.treasury,
        InitializeMarketArgs {
            proving_period_secs: 3_600,
            challenge_window_slots: 100,
            challenges_per_period: 2,
            max_consecutive_faults: 2,
            fault_slash_bps: 1_000,
            protocol_fee_bps: 250,
        },
    );
    expect_landed(
        client
            .send(&[init], &[&net.authority])
            .await
            .expect("market"),
    )
    .expect("market created");

    // Given operators: a self-dealer (0), a circle of two (1, 2), an honest one (3), and
    // customers who own no device (4, 5, 6), each with one node (0-3)
    let mut operators = Vec::new();
    for _ in 0..7 {
        operators.push(net.add_operator(&client).await.expect("operator"));
    }
    let nodes: Vec<Keypair> = (0..4).map(|_| Keypair::new()).collect();
    for (node, owner) in nodes.iter().zip(&operators) {
        let onboard = net.onboard_for(&owner.wallet, &owner.tokens, node, scenario::LOCATION);
        expect_landed(
            client
                .send(&[onboard], &[&owner.wallet, &net.maker, node])
                .await
                .expect("onboard"),
        )
        .expect("onboarded");
    }
    let node = |i: usize| net.device(&nodes[i]);
    let mut next_id = vec![0u64; operators.len()];
    let mut buy = async |buyer: usize, seller: usize| {
        let id = next_id[buyer];
        next_id[buyer] += 1;
        deal(
            &client,
            &net,
            &token,
            &operators[buyer],
            id,
            &node(seller),
            &operators[seller],
        )
        .await;
    };
    // the self-dealer buys three deals from its own node
    for _ in 0..3 {
        buy(0, 0).await;
    }
    // operators 1 and 2 buy only from each other
    for _ in 0..2 {
        buy(1, 2).await;
        buy(2, 1).await;
    }
    // the honest node is paid by three customers
    for customer in 4..7 {
        buy(customer, 3).await;
    }

    let pg = TempPostgres::start().await.expect("postgres");
    let indexer = depin_indexer::testkit::follow::Following::start(
        &localnet.grpc_url(),
        &localnet.rpc_url(),
        pg.url(),
    );
    let accepted = |n: i64| {
        let pg = &pg;
        async move {
            pg.wait_for(
                "SELECT count(*) FROM storage_deal_accepted",
                n,
                Duration::from_secs(60),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
    };
    accepted(3 + 4 + 3).await;

    // When the auditor scores the network
    let db = pg.connect().await.expect("connect");
    let network = net.network.to_string();
    let thresholds = Thresholds::default();
    let score = async || {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        score_network(&db, &network, now - 3_600, now + 1, &thresholds)
            .await
            .expect("scores")
    };
    let market = |scores: &[Score], i: usize| {
        scores
            .iter()
            .find(|s| s.device == node(i).to_string())
            .expect("scored")
            .findings
            .iter()
            .find(|f| matches!(f, Finding::ClosedMarket { .. }))
            .cloned()
    };
    let scores = score().await;
    assert_eq!(scores.len(), 4, "{scores:#?}");
    // Then the self-dealer's node is flagged, alone in its circle
    match market(&scores, 0) {
        Some(Finding::ClosedMarket {
            wallets: 1,
            devices: 1,
            inside_deals: 3,
            inside_share,
            ..
        }) => assert!((inside_share - 1.0).abs() < 1e-9),
        other => panic!("{other:?}"),
    }
    let self_dealer = market(&scores, 0).expect("flagged");
    assert_eq!(self_dealer.kind(), FindingKind::Collusion);
    assert!(self_dealer.explain().contains("its own operator"));
    // and the circle of two, each node naming the other
    for (i, other) in [(1, 2), (2, 1)] {
        let Some(Finding::ClosedMarket {
            wallets: 2,
            devices: 2,
            inside_deals: 4,
            with,
            ..
        }) = market(&scores, i)
        else {
            panic!("{scores:#?}");
        };
        assert_eq!(with, vec![node(other).to_string()]);
    }
    let circle = scores
        .iter()
        .find(|s| s.device == node(1).to_string())
        .expect("scored");
    let reason = circle.explanation();
    assert!(reason.contains("a circle of 2 operators"), "{reason}");
    assert_eq!(circle.health, 0.0);
    println!("{reason}");
    // and the node its customers pay is not
    assert_eq!(market(&scores, 3), None);

    // When the honest operator and operator 1 buy from each other's nodes once
    buy(1, 3).await;
    buy(3, 1).await;
    accepted(3 + 4 + 3 + 2).await;
    let scores = score().await;
    // Then 1, 2 and 3 reach each other, but 3 of the 9 deals their nodes earned were
    // paid from outside the circle: nobody in it is flagged; the self-dealer still is
    for i in 1..4 {
        assert_eq!(market(&scores, i), None, "{scores:#?}");
    }
    assert!(market(&scores, 0).is_some());

    let _ = indexer.stop().await;
    localnet.stop().await;
}
