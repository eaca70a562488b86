//! The indexer pointed at the localnet, as at a cluster: it starts after the network was
//! built, so it backfills over the localnet's JSON-RPC what the gRPC endpoint can no longer
//! replay, then follows the live Yellowstone stream; every event lands once, and the state
//! tables show the devices the SDK client onboarded.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

mod common;

use std::time::Duration;

use common::*;
use depin_indexer::testkit::postgres::TempPostgres;
use depin_localnet::{scenario, Config, Localnet};
use depin_tests::{Keypair, Signer};

const LIMIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_backfills_then_follows_a_localnet() {
    // a localnet whose gRPC replays only the last 20 slots
    let localnet = Localnet::start(Config {
        replay_slots: 20,
        ..Config::ephemeral()
    })
    .await
    .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let first_slot = client
        .rpc()
        .get_first_available_block()
        .await
        .expect("slot");

    // Given a network with three devices, built before the indexer runs
    let net = scenario::network(&client, 11, true).await.expect("network");
    let mut devices = Vec::new();
    for _ in 0..3 {
        let device = Keypair::new();
        let ix = net.onboard(&device, scenario::LOCATION);
        let outcome = client
            .send(&[ix], &[&net.operator, &net.maker, &device])
            .await
            .expect("onboard");
        assert!(outcome.is_landed(), "{outcome:?}");
        devices.push(device);
    }
    // and out of the gRPC replay window
    let built = client.rpc().get_slot().await.expect("slot");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while client.rpc().get_slot().await.expect("slot") < built + 30 {
        assert!(
            std::time::Instant::now() < deadline,
            "the localnet stopped producing slots"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // When the indexer starts from the network's first slot
    let pg = TempPostgres::start().await.expect("postgres");
    let mut config = config(&localnet.grpc_url(), pg.url(), Some(&localnet.rpc_url()));
    config.source.start_slot = Some(first_slot);
    let indexer = spawn(config);

    // Then the backfill over JSON-RPC brings the history in: the network and its devices
    let network = net.network.to_string();
    let devices_sql = format!("SELECT count(*) FROM devices WHERE network = '{network}'");
    assert_eq!(wait_for(pg.url(), &devices_sql, 3, LIMIT).await, 3);
    let backfilled = indexer
        .hooks
        .metrics
        .backfilled
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        backfilled, 4,
        "initialize + 3 onboardings came over JSON-RPC"
    );

    // and the live stream what comes after
    for _ in 0..2 {
        let device = Keypair::new();
        let ix = net.onboard(&device, scenario::LOCATION);
        assert!(client
            .send(&[ix], &[&net.operator, &net.maker, &device])
            .await
            .expect("onboard")
            .is_landed());
        devices.push(device);
    }
    assert_eq!(wait_for(pg.url(), &devices_sql, 5, LIMIT).await, 5);
    let db = connect(pg.url()).await;
    // each event once, however it arrived
    let onboarded =
        format!("SELECT count(*) FROM registry_device_onboarded WHERE network = '{network}'");
    assert_eq!(scalar(&db, &onboarded).await, 5);
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT count(*) FROM registry_network_initialized WHERE network = '{network}'"
            )
        )
        .await,
        1
    );
    for device in &devices {
        let sql = format!(
            "SELECT count(*) FROM devices WHERE device = '{}' AND owner = '{}'",
            net.device(device),
            net.operator.pubkey()
        );
        assert_eq!(scalar(&db, &sql).await, 1, "{sql}");
    }
    // and the slots the localnet finalized are finalized in the database
    let finalized = "SELECT count(*) FROM slots WHERE status = 'finalized'";
    assert!(
        wait_for(
            pg.url(),
            &format!("SELECT LEAST(({finalized}), 1)"),
            1,
            LIMIT
        )
        .await
            == 1,
        "finalized slots recorded"
    );
    indexer.shutdown().await;
    localnet.stop().await;
}
