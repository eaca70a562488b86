//! The outbox across an uplink cut, a gateway restart and a lost answer, against the real
//! telemetry service on a localnet indexed into PostgreSQL: every report signed is stored by
//! the service exactly once, and the one it refuses for good is kept as a dead letter.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use depin_gateway::{Outbox, Uplink};
use depin_indexer::testkit::postgres::TempPostgres;
use depin_localnet::{scenario, Config as LocalnetConfig, Localnet};
use depin_sdk::telemetry::{Metrics, WireBatch};
use depin_tests::{Keypair, Signer};

async fn count(pg: &TempPostgres, sql: &str) -> i64 {
    let client = pg.connect().await.expect("connect");
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

async fn service(pg: &TempPostgres) -> depin_telemetry::Running {
    let mut config = depin_telemetry::Config::new(pg.url());
    config.listen = "127.0.0.1:0".parse().expect("address");
    depin_telemetry::serve(config).await.expect("service")
}

fn metrics(k: u64) -> Metrics {
    Metrics::Wireless {
        uptime_secs: 300,
        bytes_served: 1_000_000 + k,
        latency_ms: 20,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_is_stored_once_across_a_cut_a_restart_and_a_lost_answer() {
    let localnet = Localnet::start(LocalnetConfig::ephemeral())
        .await
        .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let net = scenario::network(&client, 51, true).await.expect("network");
    let devices: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
    let groups = devices
        .iter()
        .map(|d| vec![net.onboard(d, scenario::LOCATION)])
        .collect();
    let mut signers: Vec<&Keypair> = vec![&net.operator, &net.maker];
    signers.extend(devices.iter());
    let outcomes = client
        .send_packed(groups, &signers, Vec::new())
        .await
        .expect("onboard");
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()));
    let pg = TempPostgres::start().await.expect("postgres");
    let indexer = depin_indexer::testkit::follow::Following::start(
        &localnet.grpc_url(),
        &localnet.rpc_url(),
        pg.url(),
    );
    // (the indexer creates the tables when it starts: until then the query fails)
    pg.wait_for(
        "SELECT count(*) FROM devices WHERE status = 'active'",
        3,
        Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|e| panic!("the devices were never indexed: {e}"));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("outbox.redb");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let timeout = Duration::from_secs(2);

    // Uplink up: five reports per device, delivered
    let up = service(&pg).await;
    let uplink = Uplink::new(&up.url(), "gw-1", timeout).expect("uplink");
    let outbox = Outbox::open(&path).expect("outbox");
    for k in 0..5 {
        for d in &devices {
            outbox
                .record(&net.network, d, now - 6_000 + 300 * k as i64, metrics(k))
                .expect("record");
        }
    }
    let delivery = outbox.deliver(&uplink).await.expect("deliver");
    assert_eq!(
        (delivery.accepted, delivery.pending),
        (15, 0),
        "{delivery:?}"
    );

    // Uplink cut: reports are signed and kept, delivery is interrupted and loses nothing
    up.stop().await;
    for k in 5..10 {
        for d in &devices {
            outbox
                .record(&net.network, d, now - 6_000 + 300 * k as i64, metrics(k))
                .expect("record");
        }
    }
    let cut = outbox.deliver(&uplink).await.expect("deliver");
    assert!(cut.interrupted.is_some(), "{cut:?}");
    assert_eq!((cut.accepted, cut.pending), (0, 15), "{cut:?}");
    // the gateway restarts: the outbox and its counters survive
    drop(outbox);
    let outbox = Outbox::open(&path).expect("reopen");
    assert_eq!(outbox.pending_len().expect("pending"), 15);
    let counter = outbox
        .record(&net.network, &devices[0], now - 2_000, metrics(10))
        .expect("record");
    assert_eq!(counter, 11, "counters continue after a restart");

    // Uplink back (a new service address): everything kept is delivered
    let back = service(&pg).await;
    let uplink = Uplink::new(&back.url(), "gw-1", timeout).expect("uplink");
    let delivery = outbox.deliver(&uplink).await.expect("deliver");
    assert_eq!(
        (delivery.accepted, delivery.pending),
        (16, 0),
        "{delivery:?}"
    );
    assert!(delivery.interrupted.is_none());

    // A lost answer: the service stored the batch but the gateway never heard back, so it
    // sends it again; the service refuses the replays and the outbox forgets them
    for d in &devices {
        outbox
            .record(&net.network, d, now - 1_000, metrics(11))
            .expect("record");
    }
    let first_try = WireBatch {
        gateway: "gw-1".into(),
        reports: outbox
            .pending(100)
            .expect("pending")
            .into_iter()
            .map(|(_, r)| r)
            .collect(),
    };
    let status = reqwest::Client::new()
        .post(format!("{}/v1/telemetry", back.url()))
        .json(&first_try)
        .send()
        .await
        .expect("post")
        .status();
    assert!(status.is_success());
    let delivery = outbox.deliver(&uplink).await.expect("deliver");
    assert_eq!(
        (delivery.accepted, delivery.already_stored, delivery.pending),
        (0, 3, 0),
        "{delivery:?}"
    );

    // A report refused for good (older than the service's window) becomes a dead letter
    outbox
        .record(&net.network, &devices[1], now - 8 * 86_400, metrics(12))
        .expect("record");
    let delivery = outbox.deliver(&uplink).await.expect("deliver");
    assert_eq!((delivery.dead, delivery.pending), (1, 0), "{delivery:?}");
    let letters = outbox.dead_letters().expect("dead letters");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].kind, "stale");

    // A recreated outbox numbers its device's reports from 1 again: they are not taken for
    // reports already stored (which a `replay` answer would make the gateway forget), but
    // refused as `counter_behind` and kept as dead letters
    let fresh = Outbox::open(dir.path().join("recreated.redb")).expect("recreated outbox");
    for k in 0..2 {
        fresh
            .record(&net.network, &devices[2], now + k, metrics(20))
            .expect("record");
    }
    let delivery = fresh.deliver(&uplink).await.expect("deliver");
    assert_eq!(
        (delivery.already_stored, delivery.dead, delivery.pending),
        (0, 2, 0),
        "{delivery:?}"
    );
    let letters = fresh.dead_letters().expect("dead letters");
    assert!(
        letters.iter().all(|l| l.kind == "counter_behind"),
        "{letters:?}"
    );

    // Then the service holds each delivered report once: 5 + 5 + 1 + 1 for the first
    // device, 5 + 5 + 1 for the others, with no counter twice
    let rows = count(&pg, "SELECT count(*) FROM telemetry").await;
    let distinct = count(
        &pg,
        "SELECT count(DISTINCT (device_key, counter)) FROM telemetry",
    )
    .await;
    assert_eq!((rows, distinct), (12 + 11 + 11, 34));
    let first = devices[0].pubkey().to_string();
    assert_eq!(
        count(
            &pg,
            &format!(
                "SELECT count(*) FROM telemetry WHERE device_key = '{first}'
                   AND counter BETWEEN 1 AND 12"
            ),
        )
        .await,
        12
    );

    back.stop().await;
    let _ = indexer.stop().await;
    localnet.stop().await;
}
