//! The auditor end to end: seven hotspots on a localnet, indexed into PostgreSQL, reporting
//! through the telemetry service for an hour: five honest, one inflating its bytes a
//! hundredfold, one that reports twice (and only sends heartbeats the rest of the hour).
//! The auditor flags exactly those two with their reasons, suspends the inflating one on
//! chain with the hash of its findings (the same hash the registry's event carries, as
//! indexed), records the action for review, and leaves the lagging one active at half its
//! rewards; once the authority reinstates the suspended one, the auditor does not judge it
//! again on the hour it was suspended for. Then three nodes of a compute network, whose report is a heartbeat: two beating
//! all hour are healthy, one beating twice lags.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use depin_auditor::{act, score_network, Finding, Thresholds};
use depin_indexer::testkit::postgres::TempPostgres;
use depin_localnet::{scenario, Config as LocalnetConfig, Localnet};
use depin_sdk::accounts::{Device, DeviceStatus};
use depin_sdk::registry::{self, NetworkKind};
use depin_sdk::telemetry::{Metrics, Report, WireBatch, WireReport};
use depin_tests::{Keypair, Signer};

async fn db(pg: &TempPostgres) -> tokio_postgres::Client {
    pg.connect().await.expect("connect")
}

async fn wait_for(pg: &TempPostgres, sql: &str, expected: i64) {
    pg.wait_for(sql, expected, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Onboards `devices` into `net` at the scenario's location, every onboarding landed.
async fn onboard(client: &depin_sdk::client::Client, net: &scenario::Network, devices: &[Keypair]) {
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
}

/// The telemetry service on `pg`, on a free loopback port.
async fn telemetry_service(pg: &TempPostgres) -> depin_telemetry::Running {
    let mut config = depin_telemetry::Config::new(pg.url());
    config.listen = "127.0.0.1:0".parse().expect("address");
    depin_telemetry::serve(config).await.expect("service")
}

/// Posts `reports` to `service` as one batch of gateway "gw"; its answer.
async fn post(service: &depin_telemetry::Running, reports: Vec<WireReport>) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{}/v1/telemetry", service.url()))
        .json(&WireBatch {
            gateway: "gw".into(),
            reports,
        })
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("answer")
}

/// Moves the onboarding of `network`'s devices an hour back in the indexer's state (the
/// localnet's clock cannot be turned back); the rows moved.
async fn onboarded_an_hour_earlier(database: &tokio_postgres::Client, network: &str) -> u64 {
    database
        .execute(
            "UPDATE devices SET onboarded_ts = onboarded_ts - 3600 WHERE network = $1",
            &[&network],
        )
        .await
        .expect("onboarding moved back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_flags_the_faulty_devices_and_suspends_the_inflating_one() {
    let localnet = Localnet::start(LocalnetConfig::ephemeral())
        .await
        .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let net = scenario::network(&client, 31, true).await.expect("network");
    let devices: Vec<Keypair> = (0..7).map(|_| Keypair::new()).collect();
    onboard(&client, &net, &devices).await;
    let auditor = Keypair::new();
    localnet
        .airdrop(&auditor.pubkey(), 1_000_000_000)
        .await
        .expect("airdrop");
    let name = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    assert!(client
        .send(&[name], &[&net.authority])
        .await
        .expect("name the auditor")
        .is_landed());

    // the indexer and the telemetry service on one PostgreSQL
    let pg = TempPostgres::start().await.expect("postgres");
    let indexer = depin_indexer::testkit::follow::Following::start(
        &localnet.grpc_url(),
        &localnet.rpc_url(),
        pg.url(),
    );
    let network = net.network.to_string();
    wait_for(
        &pg,
        &format!("SELECT count(*) FROM devices WHERE network = '{network}' AND status = 'active'"),
        7,
    )
    .await;
    let service = telemetry_service(&pg).await;

    // an hour of reports every five minutes: 0-4 honest, 5 inflating, 6 reporting twice
    // (and beating the rest of the hour: in a network whose devices measure, a heartbeat
    // is not one of their reports)
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (from, to) = (now - 3_600, now);
    let mut reports = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        for k in 0..12 {
            let bytes = match i {
                5 => 120_000_000,
                _ => 1_000_000 + (i as u64) * 20_000 + k * 1_000,
            };
            let metrics = if i == 6 && k >= 2 {
                Metrics::Heartbeat
            } else {
                Metrics::Wireless {
                    uptime_secs: 300,
                    bytes_served: bytes,
                    latency_ms: 30,
                }
            };
            let report = Report {
                network: net.network,
                device_key: device.pubkey(),
                counter: k + 1,
                timestamp: from + 300 * (k as i64 + 1) - 1,
                metrics,
            };
            reports.push(report.sign(device).to_wire());
        }
    }
    let answer = post(&service, reports).await;
    assert_eq!(answer["accepted"], 12 * 7, "{answer}");

    // When the auditor scores the hour (the devices on chain all hour long: the localnet's
    // clock cannot be turned back, so their onboarding time in the indexer's state moves
    // an hour back instead; a device onboarded during the hour owes only the reports since)
    let database = db(&pg).await;
    assert_eq!(onboarded_an_hour_earlier(&database, &network).await, 7);
    let scores = score_network(&database, &network, from, to, &Thresholds::default())
        .await
        .expect("scores");

    // Then exactly the two faulty devices are flagged, each for its own reason
    let device_of = |i: usize| net.device(&devices[i]).to_string();
    let flagged: Vec<(String, &Vec<Finding>)> = scores
        .iter()
        .filter(|s| !s.findings.is_empty())
        .map(|s| (s.device.clone(), &s.findings))
        .collect();
    assert_eq!(flagged.len(), 2, "{scores:#?}");
    let inflating = scores
        .iter()
        .find(|s| s.device == device_of(5))
        .expect("scored");
    assert!(
        matches!(inflating.findings[..], [Finding::Inflation { .. }]),
        "{inflating:?}"
    );
    assert!(
        inflating.explanation().contains("among 7 devices"),
        "{}",
        inflating.explanation()
    );
    let lagging = scores
        .iter()
        .find(|s| s.device == device_of(6))
        .expect("scored");
    assert!(
        matches!(lagging.findings[..], [Finding::Lagging { reports: 2, .. }]),
        "{lagging:?}"
    );
    // what an operator reads (shown with --nocapture)
    println!("{}\n{}", inflating.explanation(), lagging.explanation());
    assert_eq!(lagging.health, 0.5);

    // and acting suspends the inflating one on chain, with its evidence, recorded for review
    let actions = act(&database, &client, &auditor, &net.network, &scores)
        .await
        .expect("act");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].device, device_of(5));
    assert_eq!(actions[0].outcome, "landed");
    let account = client
        .rpc()
        .get_account_data(&net.device(&devices[5]))
        .await
        .expect("device");
    let device: Device = depin_sdk::accounts::decode(&account).expect("decode");
    assert_eq!(device.status, DeviceStatus::SuspendedByAuditor);
    let lagging_account = client
        .rpc()
        .get_account_data(&net.device(&devices[6]))
        .await
        .expect("device");
    let lagging_device: Device = depin_sdk::accounts::decode(&lagging_account).expect("decode");
    assert_eq!(lagging_device.status, DeviceStatus::Active);
    // the evidence on chain (as indexed) is the hash recorded with the explanation
    let indexed = format!(
        "SELECT count(*) FROM registry_device_audited a JOIN audit_actions r
           ON r.device = a.device AND r.evidence = a.evidence
         WHERE a.device = '{}' AND a.status = 'suspended_by_auditor' AND r.explanation LIKE 'inflation:%'",
        device_of(5)
    );
    wait_for(&pg, &indexed, 1).await;
    // and the telemetry service now refuses the suspended device
    let late = Report {
        network: net.network,
        device_key: devices[5].pubkey(),
        counter: 99,
        timestamp: now,
        metrics: Metrics::Heartbeat,
    };
    wait_for(
        &pg,
        &format!(
            "SELECT count(*) FROM devices WHERE device = '{}' AND status = 'suspended_by_auditor'",
            device_of(5)
        ),
        1,
    )
    .await;
    let answer = post(&service, vec![late.sign(&devices[5]).to_wire()]).await;
    assert_eq!(answer["accepted"], 0, "{answer}");

    // When the authority reviews the suspension and reinstates the device, and the auditor
    // runs over the same hour again (a restart scores its last window again)
    let reinstate = registry::set_device_status(
        &net.authority.pubkey(),
        &net.network,
        &devices[5].pubkey(),
        DeviceStatus::Active,
    );
    assert!(client
        .send(&[reinstate], &[&net.authority])
        .await
        .expect("reinstate")
        .is_landed());
    wait_for(
        &pg,
        &format!(
            "SELECT count(*) FROM devices d
             JOIN registry_device_status_changed c ON c.device = d.device
             WHERE d.device = '{}' AND d.status = 'active' AND c.status = 'active'
               AND c.unix_ts >= {now}",
            device_of(5)
        ),
        1,
    )
    .await;
    let again = score_network(&database, &network, from, to, &Thresholds::default())
        .await
        .expect("scores");
    // Then it is not judged again on the hour it was suspended for (it was active again only
    // after the hour ended: nothing of the hour is its to answer for), so the auditor does
    // not suspend it again at once, and its health for the hour stays what it was; the
    // lagging one is flagged as before
    assert!(
        !again.iter().any(|s| s.device == device_of(5)),
        "{again:#?}"
    );
    assert!(act(&database, &client, &auditor, &net.network, &again)
        .await
        .expect("act")
        .is_empty());
    assert!(again
        .iter()
        .any(|s| s.device == device_of(6) && !s.findings.is_empty()));

    service.stop().await;
    let _ = indexer.stop().await;
    localnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_nodes_report_by_heartbeat_and_a_silent_one_lags() {
    // Given three nodes of a compute network (whose devices measure nothing the telemetry
    // carries: a heartbeat is their report), indexed, with the telemetry service
    let localnet = Localnet::start(LocalnetConfig::ephemeral())
        .await
        .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let net = scenario::network_of_kind(&client, 32, NetworkKind::Compute, true)
        .await
        .expect("network");
    let devices: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
    onboard(&client, &net, &devices).await;
    let pg = TempPostgres::start().await.expect("postgres");
    let indexer = depin_indexer::testkit::follow::Following::start(
        &localnet.grpc_url(),
        &localnet.rpc_url(),
        pg.url(),
    );
    let network = net.network.to_string();
    wait_for(
        &pg,
        &format!(
            "SELECT count(*) FROM devices d JOIN networks n ON n.network = d.network
             WHERE d.network = '{network}' AND d.status = 'active' AND n.kind = 'compute'"
        ),
        3,
    )
    .await;
    let service = telemetry_service(&pg).await;

    // When nodes 0 and 1 beat every five minutes for an hour and node 2 beats twice
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (from, to) = (now - 3_600, now);
    let mut reports = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        let beats = if i == 2 { 2 } else { 12 };
        for k in 0..beats {
            let report = Report {
                network: net.network,
                device_key: device.pubkey(),
                counter: k + 1,
                timestamp: from + 300 * (k as i64 + 1) - 1,
                metrics: Metrics::Heartbeat,
            };
            reports.push(report.sign(device).to_wire());
        }
    }
    let answer = post(&service, reports).await;
    assert_eq!(answer["accepted"], 12 + 12 + 2, "{answer}");
    let database = db(&pg).await;
    assert_eq!(onboarded_an_hour_earlier(&database, &network).await, 3);
    let scores = score_network(&database, &network, from, to, &Thresholds::default())
        .await
        .expect("scores");

    // Then the beating nodes are healthy (their heartbeats are not readings of zeros, which
    // would read as a malfunction), and the silent one lags by its two reports of twelve
    let score_of = |i: usize| {
        let device = net.device(&devices[i]).to_string();
        scores
            .iter()
            .find(|s| s.device == device)
            .unwrap_or_else(|| panic!("device {i} scored: {scores:#?}"))
    };
    for i in [0, 1] {
        assert!(score_of(i).findings.is_empty(), "{:?}", score_of(i));
        assert_eq!(score_of(i).health, 1.0, "{:?}", score_of(i));
    }
    assert!(
        matches!(
            score_of(2).findings[..],
            [Finding::Lagging { reports: 2, .. }]
        ),
        "{:?}",
        score_of(2)
    );
    assert_eq!(score_of(2).health, 0.5);
    assert_eq!(scores.len(), 3);

    service.stop().await;
    let _ = indexer.stop().await;
    localnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_error_carries_the_servers_own_message() {
    // Given a database without the indexer's tables (no migration has run)
    let pg = TempPostgres::start().await.expect("postgres");
    let client = db(&pg).await;
    // When the auditor scores a network there, its error names what the server refused
    // (tokio_postgres alone would print "db error")
    let error = score_network(&client, "net", 0, 3_600, &Thresholds::default())
        .await
        .expect_err("no tables to read");
    let message = error.to_string();
    assert!(
        message.starts_with("database: ") && message.contains("does not exist (42P01)"),
        "{message}"
    );
}
