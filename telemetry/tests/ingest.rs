//! The telemetry service end to end: devices onboarded on a localnet (one then suspended by
//! the network's auditor), the indexer writing them to a real PostgreSQL, the service on
//! loopback taking batches of device-signed reports over HTTP. Good reports are stored once;
//! every kind of bad report is refused with its reason and leaves nothing behind; what a
//! measuring report measured is claimed from where the device's earlier reports (or its
//! reinstatement) left off, and must fit the time since; reports
//! past the retention are pruned on schedule; a batch that loses a deadlock runs again.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use depin_indexer::testkit::postgres::TempPostgres;
use depin_localnet::{scenario, Config as LocalnetConfig, Localnet};
use depin_sdk::registry::{self, AuditDeviceArgs, DeviceStatus};
use depin_sdk::telemetry::{Metrics, Report, WireBatch, WireReport};
use depin_telemetry::{serve, Config, IngestError, Pruned};
use serde_json::Value;
use solana_keypair::Keypair;
use solana_signer::Signer;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn count(pg: &TempPostgres, sql: &str) -> i64 {
    let client = pg.connect().await.expect("connect");
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Polls until `sql` gives `expected` (at most 60 s).
async fn wait_for(pg: &TempPostgres, sql: &str, expected: i64) {
    pg.wait_for(sql, expected, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

fn wireless(network: &depin_sdk::Pubkey, device: &Keypair, counter: u64, ts: i64) -> Report {
    Report {
        network: *network,
        device_key: device.pubkey(),
        counter,
        timestamp: ts,
        metrics: Metrics::Wireless {
            uptime_secs: 300,
            bytes_served: 1_000_000 * counter,
            latency_ms: 35,
        },
    }
}

async fn post(url: &str, reports: Vec<WireReport>) -> Value {
    let batch = WireBatch {
        gateway: "gateway-1".into(),
        reports,
    };
    reqwest::Client::new()
        .post(format!("{url}/v1/telemetry"))
        .json(&batch)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_reports_of_active_devices_are_stored_once_and_bad_ones_never() {
    // Given a network with two devices on a localnet, one suspended by its auditor
    let localnet = Localnet::start(LocalnetConfig::ephemeral())
        .await
        .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let net = scenario::network(&client, 21, true).await.expect("network");
    let healthy = Keypair::new();
    let flagged = Keypair::new();
    for device in [&healthy, &flagged] {
        let ix = net.onboard(device, scenario::LOCATION);
        assert!(client
            .send(&[ix], &[&net.operator, &net.maker, device])
            .await
            .expect("onboard")
            .is_landed());
    }
    let auditor = Keypair::new();
    let name = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    assert!(client
        .send(&[name], &[&net.authority])
        .await
        .expect("auditor")
        .is_landed());
    let suspend = registry::audit_device(
        &auditor.pubkey(),
        &net.network,
        &flagged.pubkey(),
        AuditDeviceArgs {
            status: DeviceStatus::Suspended,
            evidence: [0x5a; 32],
        },
    );
    assert!(client
        .send(&[suspend], &[&auditor])
        .await
        .expect("suspend")
        .is_landed());

    // and the indexer writing the registry into PostgreSQL
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
            "SELECT count(*) FROM devices WHERE network = '{network}' AND status = 'suspended_by_auditor'"
        ),
        1,
    )
    .await;

    // When the telemetry service takes a gateway's batch
    let mut config = Config::new(pg.url());
    config.listen = "127.0.0.1:0".parse().expect("address");
    let service = serve(config).await.expect("service");
    let url = service.url();
    let t = now();
    let good: Vec<WireReport> = (1..=3)
        .map(|c| {
            wireless(&net.network, &healthy, c, t - 1_500 + 300 * c as i64)
                .sign(&healthy)
                .to_wire()
        })
        .collect();
    let answer = post(&url, good.clone()).await;

    // Then every good report is stored
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["rejected"], Value::Array(vec![]));
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 3);
    assert_eq!(
        count(
            &pg,
            &format!(
                "SELECT sum(bytes_served)::int8 FROM telemetry WHERE device = '{}' AND kind = 'wireless'",
                net.device(&healthy)
            )
        )
        .await,
        6_000_000
    );

    // and every bad one is refused with its reason, nothing of it written
    let stranger = Keypair::new();
    let mut forged = wireless(&net.network, &healthy, 10, t).sign(&stranger);
    forged.report.device_key = healthy.pubkey();
    let mut tampered = wireless(&net.network, &healthy, 11, t).sign(&healthy);
    tampered.report.counter = 12;
    let bad = vec![
        // 0: replay of an accepted report
        good[0].clone(),
        // 1: another device's key signed it
        forged.to_wire(),
        // 2: changed after signing
        tampered.to_wire(),
        // 3: a device the registry does not know
        wireless(&net.network, &stranger, 1, t)
            .sign(&stranger)
            .to_wire(),
        // 4: a real device named under another network
        wireless(&depin_sdk::pda::network(99).0, &healthy, 13, t)
            .sign(&healthy)
            .to_wire(),
        // 5: a suspended device
        wireless(&net.network, &flagged, 1, t)
            .sign(&flagged)
            .to_wire(),
        // 6: out of range
        Report {
            metrics: Metrics::Wireless {
                uptime_secs: 90_000,
                bytes_served: 0,
                latency_ms: 0,
            },
            ..wireless(&net.network, &healthy, 14, t)
        }
        .sign(&healthy)
        .to_wire(),
        // 7: a week and a day old; 8: an hour in the future
        wireless(&net.network, &healthy, 15, t - 8 * 86_400)
            .sign(&healthy)
            .to_wire(),
        wireless(&net.network, &healthy, 16, t + 3_600)
            .sign(&healthy)
            .to_wire(),
        // 9: not a report at all
        WireReport {
            report: "bm90IGEgcmVwb3J0".into(),
            signature: good[0].signature.clone(),
        },
        // 10: another report under the counter last accepted (3): counters started again,
        // not a replay (which would tell the gateway it was stored)
        wireless(&net.network, &healthy, 3, t)
            .sign(&healthy)
            .to_wire(),
        // 11: a hotspot reporting as a storage node (alone in its kind, it would have no
        // peers to be compared with)
        Report {
            metrics: Metrics::Storage {
                uptime_secs: 300,
                proofs_answered: 1,
                proofs_missed: 0,
            },
            ..wireless(&net.network, &healthy, 17, t)
        }
        .sign(&healthy)
        .to_wire(),
        // 12: a new counter stamped before the last accepted report (t - 600): backdated
        // into a window the auditor has already scored
        wireless(&net.network, &healthy, 18, t - 3_600)
            .sign(&healthy)
            .to_wire(),
        // 13: stamped at the last accepted report's very second (one a second at most)
        wireless(&net.network, &healthy, 19, t - 600)
            .sign(&healthy)
            .to_wire(),
        // 14: a second after it, claiming 300 s of uptime: many such reports would each
        // add five minutes of uptime and of traffic
        wireless(&net.network, &healthy, 20, t - 599)
            .sign(&healthy)
            .to_wire(),
    ];
    let answer = post(&url, bad.clone()).await;
    assert_eq!(answer["accepted"], 0, "{answer}");
    let rejected = answer["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), bad.len(), "{answer}");
    let reason = |i: usize| {
        rejected[i]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for (i, needle, kind) in [
        (0, "replay", "replay"),
        (1, "bad signature", "invalid"),
        (2, "bad signature", "invalid"),
        (3, "unknown device", "unknown_device"),
        (4, "unknown device", "unknown_device"),
        (5, "is suspended", "not_active"),
        (6, "out of range", "invalid"),
        (7, "outside the accepted window", "stale"),
        (8, "outside the accepted window", "stale"),
        (9, "malformed", "invalid"),
        (10, "another report holds it", "counter_behind"),
        (11, "holds storage metrics", "wrong_kind"),
        (12, "backdated", "backdated"),
        (13, "is not after", "backdated"),
        (14, "uptime 300 s make 300 s of service", "overreported"),
    ] {
        assert_eq!(rejected[i]["index"], i);
        assert!(reason(i).contains(needle), "report {i}: {}", reason(i));
        assert_eq!(rejected[i]["kind"], kind, "report {i}");
    }
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 3);
    assert_eq!(
        count(&pg, "SELECT max(last_counter) FROM telemetry_counters").await,
        3
    );

    // a batch mixing good and bad stores exactly the good; a replay within one batch too
    let next = wireless(&net.network, &healthy, 4, t - 300)
        .sign(&healthy)
        .to_wire();
    let answer = post(&url, vec![next.clone(), bad[5].clone(), next]).await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["rejected"].as_array().map(Vec::len), Some(2));
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 4);

    // a body that is not a batch is a 400 with its reason
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/telemetry"))
        .body("{\"reports\": 3}")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap_or_default()
        .contains("malformed batch"));

    // a gateway name the service would store with every report must be short and printable:
    // a batch under a 10,000-byte name, or one holding a NUL (which PostgreSQL text refuses:
    // it was a 503, retried by the gateway for ever), is a 400 and stores nothing
    let fifth = wireless(&net.network, &healthy, 5, t)
        .sign(&healthy)
        .to_wire();
    for (name, needle) in [
        ("g".repeat(10_000), "10000 bytes long"),
        ("gw\0".to_string(), "control character"),
        (String::new(), "empty"),
    ] {
        let response = reqwest::Client::new()
            .post(format!("{url}/v1/telemetry"))
            .json(&WireBatch {
                gateway: name,
                reports: vec![fifth.clone()],
            })
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
        let text = response.text().await.unwrap_or_default();
        assert!(text.contains(needle), "{text}");
    }
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 4);
    // the same report under a proper name is stored: the refusals consumed nothing
    let answer = post(&url, vec![fifth]).await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 5);

    // A measuring report claims from where the device's last measuring one (`fifth`, at t)
    // left off: a heartbeat in between claims nothing and leaves that time as it was; a
    // report at the last report's very second is refused (one a second at most)
    let measuring = |device: &Keypair, counter: u64, ts: i64, uptime_secs: u32| {
        Report {
            metrics: Metrics::Wireless {
                uptime_secs,
                bytes_served: 1_000,
                latency_ms: 35,
            },
            ..wireless(&net.network, device, counter, ts)
        }
        .sign(device)
        .to_wire()
    };
    let beat = |device: &Keypair, counter: u64, ts: i64| {
        Report {
            metrics: Metrics::Heartbeat,
            ..wireless(&net.network, device, counter, ts)
        }
        .sign(device)
        .to_wire()
    };
    let answer = post(
        &url,
        vec![
            beat(&healthy, 6, t + 60),
            measuring(&healthy, 7, t + 120, 120),
            measuring(&healthy, 8, t + 120, 1),
            beat(&healthy, 9, t + 121),
        ],
    )
    .await;
    assert_eq!(answer["accepted"], 3, "{answer}");
    let rejected = answer["rejected"].as_array().expect("rejected");
    assert_eq!(
        (rejected.len(), &rejected[0]["index"], &rejected[0]["kind"]),
        (1, &Value::from(2), &Value::from("backdated")),
        "{answer}"
    );

    // The auditor reinstates the suspended device: a report it kept from its suspension
    // (stamped before the reinstatement) is refused, and its first report after covers
    // only the time since the reinstatement
    let reinstate = registry::audit_device(
        &auditor.pubkey(),
        &net.network,
        &flagged.pubkey(),
        AuditDeviceArgs {
            status: DeviceStatus::Active,
            evidence: [0x5b; 32],
        },
    );
    assert!(client
        .send(&[reinstate], &[&auditor])
        .await
        .expect("reinstate")
        .is_landed());
    let flagged_device = net.device(&flagged).to_string();
    wait_for(
        &pg,
        &format!(
            "SELECT count(*) FROM devices d
             JOIN registry_device_status_changed c ON c.device = d.device AND c.status = 'active'
             WHERE d.device = '{flagged_device}' AND d.status = 'active' AND c.unix_ts IS NOT NULL"
        ),
        1,
    )
    .await;
    let reinstated = count(
        &pg,
        &format!(
            "SELECT unix_ts FROM registry_device_status_changed
             WHERE device = '{flagged_device}' AND status = 'active'"
        ),
    )
    .await;
    let answer = post(
        &url,
        vec![
            measuring(&flagged, 1, reinstated - 60, 60),
            measuring(&flagged, 2, reinstated, 1),
            measuring(&flagged, 3, reinstated + 30, 300),
            measuring(&flagged, 4, reinstated + 30, 30),
            beat(&flagged, 5, reinstated + 31),
        ],
    )
    .await;
    assert_eq!(answer["accepted"], 2, "{answer}");
    let rejected = answer["rejected"].as_array().expect("rejected");
    let kinds: Vec<(u64, &str)> = rejected
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap_or(99),
                r["kind"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (0, "before_reinstatement"),
            (1, "before_reinstatement"),
            (2, "overreported")
        ],
        "{answer}"
    );
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 10);

    service.stop().await;
    let _ = indexer.stop().await;
    localnet.stop().await;
}

/// `GET /health` on the service: status code and body.
async fn health(url: &str) -> (u16, String) {
    let answer = reqwest::get(format!("{url}/health"))
        .await
        .expect("request");
    let status = answer.status().as_u16();
    (status, answer.text().await.expect("body"))
}

/// Defect: the service held one database connection for its whole life, behind a lock:
/// once its backend was gone (a server restart, a terminated backend) every batch failed
/// with 503 until the service was restarted, and `/health` still answered ok. Now it
/// reconnects at the next batch, and its health follows the database; a batch refused
/// whole by its signatures is answered even while the database is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_reconnects_and_its_health_follows_the_database() {
    let pg = TempPostgres::start().await.expect("postgres");
    let admin = pg.connect().await.expect("connect");
    let name = format!("telemetry_health_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("database");
    let base = pg.url().rsplit_once('/').map(|(b, _)| b).expect("url");
    let mut config = Config::new(format!("{base}/{name}"));
    config.listen = "127.0.0.1:0".parse().expect("address");
    let service = serve(config).await.expect("service");
    let url = service.url();
    assert_eq!(health(&url).await, (200, "ok".to_owned()));

    // a report of a device the registry does not know: refused by name, which takes a
    // working database (a failed one answers 503)
    let stranger = Keypair::new();
    let network = depin_sdk::pda::network(1).0;
    let report = wireless(&network, &stranger, 1, now())
        .sign(&stranger)
        .to_wire();
    let answer = post(&url, vec![report.clone()]).await;
    assert_eq!(answer["rejected"][0]["kind"], "unknown_device", "{answer}");

    // When the service's backends are terminated
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'depin-telemetry'",
            &[&name],
        )
        .await
        .expect("terminate")
        .get(0);
    assert!(killed >= 1, "the service's connections, by their name");

    // Then the next batch is answered on a new connection, and the service is healthy
    let answer = post(&url, vec![report.clone()]).await;
    assert_eq!(answer["rejected"][0]["kind"], "unknown_device", "{answer}");
    assert_eq!(health(&url).await, (200, "ok".to_owned()));

    // When the database is gone, the service says so, on /health and to a batch
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop");
    let (status, body) = health(&url).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("database: "), "{body}");
    let answer = post(&url, vec![report.clone()]).await;
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("database: ")),
        "{answer}"
    );
    // a batch refused whole by its signatures needs no database: its signatures are
    // checked before it takes a connection, so such batches never hold the pool
    let forged: Vec<WireReport> = (0..3)
        .map(|i| {
            let mut forged = wireless(&network, &stranger, 10 + i, now())
                .sign(&stranger)
                .to_wire();
            forged.signature = report.signature.clone();
            forged
        })
        .collect();
    let answer = post(&url, forged).await;
    assert_eq!(answer["accepted"], 0, "{answer}");
    let kinds: Vec<&str> = answer["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["invalid"; 3], "{answer}");
    assert!(
        answer["rejected"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("signature")),
        "{answer}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_past_retention_are_pruned_on_schedule_and_their_counters_stay() {
    let pg = TempPostgres::start().await.expect("postgres");
    // a retention shorter than a report is accepted for is refused before anything starts
    let mut config = Config::new(pg.url());
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.max_age_secs = 3_600;
    config.retain_secs = Some(3_599);
    match serve(config.clone()).await {
        Err(IngestError::Config(reason)) => assert!(reason.contains("3599"), "{reason}"),
        other => panic!(
            "a retention below the accepted age: {:?}",
            other.map(|_| ())
        ),
    }
    config.retain_secs = Some(3_600);
    config.prune_every = Duration::ZERO;
    match serve(config.clone()).await {
        Err(IngestError::Config(reason)) => assert!(reason.contains("every 0 s"), "{reason}"),
        other => panic!("pruning without pause: {:?}", other.map(|_| ())),
    }

    // Given reports and health rows on both sides of an hour's retention, in two networks,
    // one with more old reports than a pruning chunk holds
    config.prune_every = Duration::from_millis(100);
    let service = serve(config).await.expect("service");
    let t = now();
    let client = pg.connect().await.expect("connect");
    client
        .batch_execute(&format!(
            "INSERT INTO telemetry (device_key, counter, network, device, unix_ts, gateway, kind, signature)
             SELECT 'key-a', n, 'net-a', 'device-a', {old} + n % 100, 'g', 'heartbeat', 's'
             FROM generate_series(1, 25000) n;
             INSERT INTO telemetry (device_key, counter, network, device, unix_ts, gateway, kind, signature)
             VALUES ('key-a', 25001, 'net-a', 'device-a', {kept}, 'g', 'heartbeat', 's'),
                    ('key-a', 25002, 'net-a', 'device-a', {t}, 'g', 'heartbeat', 's'),
                    ('key-b', 7, 'net-b', 'device-b', {old}, 'g', 'heartbeat', 's'),
                    ('key-b', 8, 'net-b', 'device-b', {kept}, 'g', 'heartbeat', 's');
             INSERT INTO telemetry_counters (network, device_key, last_counter, last_ts)
             VALUES ('net-a', 'key-a', 25002, {t}), ('net-b', 'key-b', 8, {kept});
             INSERT INTO audit_health (network, device, window_from, window_to, health_bps)
             VALUES ('net-a', 'device-a', {old} - 60, {old}, 10000),
                    ('net-a', 'device-a', {kept} - 60, {kept}, 5000),
                    ('net-b', 'device-b', {old} - 60, {old}, 0);",
            old = t - 7_200,
            kept = t - 3_000,
        ))
        .await
        .expect("rows");

    // Then the schedule deletes what is older than the retention, network by network
    wait_for(&pg, "SELECT count(*) FROM telemetry", 3).await;
    wait_for(&pg, "SELECT count(*) FROM audit_health", 1).await;
    assert_eq!(
        count(
            &pg,
            &format!(
                "SELECT count(*) FROM telemetry WHERE unix_ts >= {}",
                t - 3_600
            )
        )
        .await,
        3,
        "only what is older than the retention goes"
    );
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM audit_health WHERE health_bps = 5000"
        )
        .await,
        1
    );
    // and the counters stay: a replay of a pruned report is still refused by them
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM telemetry_counters WHERE (network, last_counter) IN (('net-a', 25002), ('net-b', 8))"
        )
        .await,
        2
    );
    // nothing is left for another round
    assert_eq!(
        depin_telemetry::prune(&client, t - 3_600)
            .await
            .expect("prune"),
        Pruned::default()
    );

    // Once stopped, the schedule prunes no more; a round run by hand counts what it deletes
    service.stop().await;
    client
        .batch_execute(&format!(
            "INSERT INTO telemetry (device_key, counter, network, device, unix_ts, gateway, kind, signature)
             VALUES ('key-b', 9, 'net-b', 'device-b', {old}, 'g', 'heartbeat', 's'),
                    ('key-a', 25003, 'net-a', 'device-a', {old}, 'g', 'heartbeat', 's');
             INSERT INTO audit_health (network, device, window_from, window_to, health_bps)
             VALUES ('net-b', 'device-b', {old} - 60, {old}, 0);",
            old = t - 7_200,
        ))
        .await
        .expect("rows");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 5);
    assert_eq!(
        depin_telemetry::prune(&client, t - 3_600)
            .await
            .expect("prune"),
        Pruned {
            reports: 2,
            health: 1
        }
    );
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 3);
}

/// `GET /v1/pruning`, polled until `done` holds for it (at most 60 s).
async fn pruning_until(url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status: Value = reqwest::get(format!("{url}/v1/pruning"))
            .await
            .expect("pruning status")
            .json()
            .await
            .expect("JSON");
        if done(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within 60 s; last status {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_pruning_round_is_reported_while_ingestion_stays_healthy() {
    let pg = TempPostgres::start().await.expect("postgres");
    // Without a retention nothing is pruned, and the status says so
    let mut config = Config::new(pg.url());
    config.listen = "127.0.0.1:0".parse().expect("address");
    let keeping = serve(config.clone()).await.expect("service");
    let status = pruning_until(&keeping.url(), "the status", |_| true).await;
    assert_eq!(status["retain_secs"], Value::Null);
    assert_eq!(status["rounds"], 0);
    keeping.stop().await;

    // Given a service pruning every 100 ms what is older than an hour
    config.max_age_secs = 3_600;
    config.retain_secs = Some(3_600);
    config.prune_every = Duration::from_millis(100);
    let service = serve(config).await.expect("service");
    let url = service.url();
    let first = pruning_until(&url, "a successful round", |s| {
        s["last_success_unix"].is_i64()
    })
    .await;
    assert_eq!(first["retain_secs"], 3_600);
    assert_eq!(first["failed_rounds"], 0);
    assert_eq!(first["last_error"], Value::Null);

    // When a table it deletes from cannot be reached, its rounds fail and say why
    let client = pg.connect().await.expect("connect");
    client
        .batch_execute("ALTER TABLE audit_health RENAME TO audit_health_away")
        .await
        .expect("rename");
    let failing = pruning_until(&url, "a failed round", |s| {
        s["failures_in_a_row"].as_u64() >= Some(2)
    })
    .await;
    let error = failing["last_error"].as_str().expect("the error");
    assert!(error.contains("audit_health"), "{error}");
    assert!(failing["failed_rounds"].as_u64() >= Some(2));
    // while ingestion, which does not need that table, stays healthy
    let health = reqwest::get(format!("{url}/health")).await.expect("health");
    assert_eq!(health.status(), reqwest::StatusCode::OK);

    // Then, the table back with old rows beside it, the next round succeeds, clears the
    // error and counts what it deleted
    let t = now();
    client
        .batch_execute(&format!(
            "ALTER TABLE audit_health_away RENAME TO audit_health;
             INSERT INTO telemetry (device_key, counter, network, device, unix_ts, gateway, kind, signature)
             VALUES ('key-a', 1, 'net-a', 'device-a', {old}, 'g', 'heartbeat', 's'),
                    ('key-a', 2, 'net-a', 'device-a', {old}, 'g', 'heartbeat', 's');
             INSERT INTO telemetry_counters (network, device_key, last_counter, last_ts)
             VALUES ('net-a', 'key-a', 2, {old});
             INSERT INTO audit_health (network, device, window_from, window_to, health_bps)
             VALUES ('net-a', 'device-a', {old} - 60, {old}, 10000);",
            old = t - 7_200,
        ))
        .await
        .expect("rows");
    let recovered = pruning_until(&url, "the old rows pruned", |s| {
        s["pruned"]["reports"] == 2 && s["pruned"]["health"] == 1
    })
    .await;
    assert_eq!(recovered["failures_in_a_row"], 0);
    assert_eq!(recovered["last_error"], Value::Null);
    assert!(recovered["failed_rounds"].as_u64() >= failing["failed_rounds"].as_u64());
    assert!(recovered["rounds"].as_u64() > recovered["failed_rounds"].as_u64());
    assert!(recovered["last_success_unix"].as_i64() >= Some(t));
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 0);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_chosen_as_a_deadlock_victim_runs_again_and_is_stored_once() {
    // Given two active devices whose counters are stored (registry rows written directly:
    // no indexer runs here)
    let pg = TempPostgres::start().await.expect("postgres");
    let mut config = Config::new(pg.url());
    config.listen = "127.0.0.1:0".parse().expect("address");
    let service = serve(config).await.expect("service");
    let network = Keypair::new().pubkey();
    let (a, b) = (Keypair::new(), Keypair::new());
    let t = now();
    let mut other = pg.connect().await.expect("connect");
    other
        .batch_execute(&format!(
            "INSERT INTO networks VALUES ('{network}', 1, 'wireless', 'x', NULL, 'x', 'x', 'x', 0, 0, false);
             INSERT INTO devices VALUES
                 ('device-a', '{network}', '{a}', 'm', 0, 'o', NULL, 'active', 0, 0),
                 ('device-b', '{network}', '{b}', 'm', 0, 'o', NULL, 'active', 0, 0);
             INSERT INTO telemetry_counters VALUES
                 ('{network}', '{a}', 1, {then}), ('{network}', '{b}', 1, {then});",
            a = a.pubkey(),
            b = b.pubkey(),
            then = t - 300,
        ))
        .await
        .expect("rows");

    // When another session holds device B's counter, the batch (A, then B) locks A's and
    // waits for B's; the other session then asks for A's: a deadlock, which the server
    // breaks by failing the batch's transaction (the other session waits a minute before it
    // looks for deadlocks, the service's session the default second)
    let held = other.transaction().await.expect("begin");
    held.batch_execute(&format!(
        "SET LOCAL deadlock_timeout = '60s';
         SELECT 1 FROM telemetry_counters WHERE device_key = '{}' FOR UPDATE;",
        b.pubkey()
    ))
    .await
    .expect("hold B");
    let reports = vec![
        wireless(&network, &a, 2, t).sign(&a).to_wire(),
        wireless(&network, &b, 2, t).sign(&b).to_wire(),
    ];
    let url = service.url();
    let batch = tokio::spawn(async move { post(&url, reports).await });
    wait_for(
        &pg,
        "SELECT count(*) FROM pg_stat_activity
         WHERE application_name = 'depin-telemetry' AND wait_event_type = 'Lock'",
        1,
    )
    .await;
    let deadlocks = || async {
        count(
            &pg,
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
        )
        .await
    };
    let before = deadlocks().await;
    held.execute(
        "UPDATE telemetry_counters SET last_counter = last_counter WHERE device_key = $1",
        &[&a.pubkey().to_string()],
    )
    .await
    .expect("the other session gets A once the batch's transaction is gone");
    held.rollback().await.expect("release");

    // Then the batch runs again on its own and is stored whole, once
    let answer = tokio::time::timeout(Duration::from_secs(60), batch)
        .await
        .expect("answered")
        .expect("joined");
    assert_eq!(answer["accepted"], 2, "{answer}");
    assert_eq!(count(&pg, "SELECT count(*) FROM telemetry").await, 2);
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM telemetry_counters WHERE last_counter = 2"
        )
        .await,
        2
    );
    // (the statistics collector reports the deadlock once it flushes)
    let mut seen = deadlocks().await;
    for _ in 0..50 {
        if seen > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = deadlocks().await;
    }
    assert!(seen > before, "a deadlock was detected: {before} -> {seen}");
    service.stop().await;
}

/// V28 on a database with reports: each device's claimed-through time starts at its newest
/// measuring report still kept (a heartbeat after it leaves it there), none for a device
/// with heartbeats alone or of a compute network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_starts_each_devices_claims_at_its_newest_measuring_report() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut client = pg.connect().await.expect("connect");
    depin_indexer::sink::migrate(&mut client, Some(27))
        .await
        .expect("schema before V28");
    client
        .batch_execute(
            "INSERT INTO networks VALUES
                 ('net-w', 1, 'wireless', 'x', NULL, 'x', 'x', 'x', 0, 0, false),
                 ('net-c', 2, 'compute', 'x', NULL, 'x', 'x', 'x', 0, 0, false);
             INSERT INTO telemetry (device_key, counter, network, device, unix_ts, gateway, kind,
                                    uptime_secs, signature) VALUES
                 ('a', 1, 'net-w', 'dev-a', 1000, 'g', 'wireless', 300, 's'),
                 ('a', 2, 'net-w', 'dev-a', 1300, 'g', 'wireless', 300, 's'),
                 ('a', 3, 'net-w', 'dev-a', 1400, 'g', 'heartbeat', NULL, 's'),
                 ('b', 1, 'net-w', 'dev-b', 1000, 'g', 'heartbeat', NULL, 's'),
                 ('c', 1, 'net-c', 'dev-c', 1000, 'g', 'heartbeat', NULL, 's');
             INSERT INTO telemetry_counters (network, device_key, last_counter, last_ts) VALUES
                 ('net-w', 'a', 3, 1400), ('net-w', 'b', 1, 1000), ('net-c', 'c', 1, 1000);",
        )
        .await
        .expect("reports at the old schema");
    depin_indexer::sink::migrate(&mut client, None)
        .await
        .expect("V28 and later");
    let rows = client
        .query(
            "SELECT device_key, claimed_through_ts FROM telemetry_counters ORDER BY device_key",
            &[],
        )
        .await
        .expect("counters");
    let claimed: Vec<(String, Option<i64>)> =
        rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(
        claimed,
        [
            ("a".to_string(), Some(1300)),
            ("b".to_string(), None),
            ("c".to_string(), None)
        ]
    );
}
