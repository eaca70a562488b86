//! The incentive loop end to end, on a localnet indexed into PostgreSQL: eight hotspots in two
//! cities report their service through the telemetry service for thirteen epochs. Lisbon's
//! two carry almost half the traffic, Berlin's six the rest, and one of Berlin's reports no
//! uptime at all.
//!
//! - The auditor flags the broken one and suspends it on chain with its evidence.
//! - The region multipliers for the next epoch, forecast from the indexed usage, pay more in
//!   Lisbon and less in Berlin, within the policy's bounds.
//! - They are published in PostgreSQL with their hash, which the oracle proposes on chain with
//!   the epoch's root.
//! - The next epoch's rows pay each device its earnings times its health times its region's
//!   multiplier, within the emission budget.
//! - A Lisbon device claims its weighted amount. The suspended device's claim is refused until
//!   the auditor reinstates it, and then it is paid its lowered amount.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use depin_auditor::regions::{self, RegionPolicy};
use depin_auditor::{act, score_network, Thresholds};
use depin_indexer::testkit::postgres::TempPostgres;
use depin_localnet::{scenario, Config as LocalnetConfig, Localnet};
use depin_sdk::accounts::{Device, DeviceStatus, EpochRoot};
use depin_sdk::client::{Client, ClientError, CommitmentConfig};
use depin_sdk::incentives::{self, Earning, ONE_BPS};
use depin_sdk::oracle::RewardTree;
use depin_sdk::registry::{self, AuditDeviceArgs};
use depin_sdk::rewards::{self, ClaimArgs, ProposeRootArgs, Schedule};
use depin_sdk::telemetry::{Metrics, Report, WireBatch};
use depin_sdk::{pda, Pubkey};
use depin_tests::{Keypair, Signer};
use h3o::{LatLng, Resolution};

const EPOCH_SECS: i64 = 600;
const EPOCHS: u64 = 13;
const EARNED: u64 = 1_000_000;

async fn db(pg: &TempPostgres) -> tokio_postgres::Client {
    pg.connect().await.expect("connect")
}

async fn wait_for(pg: &TempPostgres, sql: &str, expected: i64) {
    pg.wait_for(sql, expected, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

fn cell(lat: f64, lng: f64) -> u64 {
    LatLng::new(lat, lng)
        .expect("coordinates")
        .to_cell(Resolution::Ten)
        .into()
}

async fn balance(client: &Client, account: &Pubkey) -> u64 {
    client
        .rpc()
        .get_token_account_balance(account)
        .await
        .expect("balance")
        .amount
        .parse()
        .expect("amount")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipliers_follow_demand_and_the_auditor_closes_the_loop_on_claims() {
    let localnet = Localnet::start(LocalnetConfig::ephemeral())
        .await
        .expect("localnet");
    let client = localnet
        .funded_client(1_000_000_000_000)
        .await
        .expect("funded client");
    let net = scenario::network(&client, 41, true).await.expect("network");
    // two in Lisbon, six in Berlin; Berlin's last (index 7) is broken
    let (lisbon, berlin) = (cell(38.7223, -9.1393), cell(52.52, 13.405));
    let devices: Vec<Keypair> = (0..8).map(|_| Keypair::new()).collect();
    let location = |i: usize| if i < 2 { lisbon } else { berlin };
    let groups = devices
        .iter()
        .enumerate()
        .map(|(i, d)| vec![net.onboard(d, location(i))])
        .collect();
    let mut signers: Vec<&Keypair> = vec![&net.operator, &net.maker];
    signers.extend(devices.iter());
    let outcomes = client
        .send_packed(groups, &signers, Vec::new())
        .await
        .expect("onboard");
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()));
    net.open_stake(&client, 8).await.expect("stake");
    let bonds = devices.iter().map(|d| vec![net.bond(d)]).collect();
    let outcomes = client
        .send_packed(bonds, &[&net.operator], Vec::new())
        .await
        .expect("bond");
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()));
    // the oracle's snapshot of the pool's bonds as the epochs begin
    let bonds_start = client
        .bonds(&net.network, CommitmentConfig::confirmed())
        .await
        .expect("bonds");
    assert_eq!(bonds_start.bonds.len(), devices.len());

    // rewards: thirteen ten-minute epochs are over; one oracle
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let genesis = now - EPOCHS as i64 * EPOCH_SECS - 60;
    let schedule = Schedule {
        initial_per_epoch: 10 * EARNED,
        halving_interval_epochs: 0,
        tail_per_epoch: 0,
    };
    let oracle = Keypair::new();
    let auditor = Keypair::new();
    for key in [&oracle, &auditor] {
        localnet
            .airdrop(&key.pubkey(), 1_000_000_000)
            .await
            .expect("airdrop");
    }
    net.enable_rewards(
        &client,
        schedule,
        EPOCH_SECS as u64,
        genesis,
        vec![oracle.pubkey()],
        1,
    )
    .await
    .expect("rewards");
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
        8,
    )
    .await;
    wait_for(
        &pg,
        &format!("SELECT count(*) FROM rewards_rewards_initialized WHERE network = '{network}'"),
        1,
    )
    .await;
    let mut service_config = depin_telemetry::Config::new(pg.url());
    service_config.listen = "127.0.0.1:0".parse().expect("address");
    let service = depin_telemetry::serve(service_config)
        .await
        .expect("service");

    // one report per device per epoch: a Lisbon hotspot serves 2.5 times a Berlin one
    let mut reports = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        for epoch in 0..EPOCHS {
            let bytes = if i < 2 { 2_500_000 } else { 1_000_000 } + epoch * 1_000 + i as u64;
            let report = Report {
                network: net.network,
                device_key: device.pubkey(),
                counter: epoch + 1,
                timestamp: genesis + epoch as i64 * EPOCH_SECS + EPOCH_SECS / 2,
                metrics: Metrics::Wireless {
                    uptime_secs: if i == 7 { 0 } else { EPOCH_SECS as u32 },
                    bytes_served: bytes,
                    latency_ms: 30,
                },
            };
            reports.push(report.sign(device).to_wire());
        }
    }
    let answer: serde_json::Value = reqwest::Client::new()
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
        .expect("answer");
    assert_eq!(answer["accepted"], 8 * EPOCHS, "{answer}");

    // When the auditor scores the last epoch, it flags and suspends the broken device
    let mut database = db(&pg).await;
    let last = (genesis + 12 * EPOCH_SECS, genesis + 13 * EPOCH_SECS);
    let thresholds = Thresholds {
        report_interval_secs: EPOCH_SECS,
        ..Thresholds::default()
    };
    let scores = score_network(&database, &network, last.0, last.1, &thresholds)
        .await
        .expect("scores");
    let broken = net.device(&devices[7]);
    let flagged: Vec<&str> = scores
        .iter()
        .filter(|s| !s.findings.is_empty())
        .map(|s| s.device.as_str())
        .collect();
    assert_eq!(flagged, [broken.to_string().as_str()], "{scores:#?}");
    let actions = act(&database, &client, &auditor, &net.network, &scores)
        .await
        .expect("act");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].outcome, "landed");

    // And the next epoch's multipliers, forecast from the indexed usage, favour Lisbon
    let policy = RegionPolicy::default();
    let computed = regions::compute(&database, &net.network, EPOCHS, &policy)
        .await
        .expect("multipliers");
    let region = |c: u64| regions::region_of(&format!("{c:x}"), policy.resolution).expect("region");
    let table = &computed.table;
    let (lisbon_bps, berlin_bps) = (
        table.get(region(lisbon)).expect("Lisbon"),
        table.get(region(berlin)).expect("Berlin"),
    );
    println!("{computed:#?}");
    assert!(lisbon_bps > ONE_BPS && berlin_bps < ONE_BPS, "{table:?}");
    assert!(
        (policy.min_bps..=policy.max_bps).contains(&lisbon_bps)
            && (policy.min_bps..=policy.max_bps).contains(&berlin_bps)
    );
    assert!(computed
        .rows
        .iter()
        .all(|r| r.method == regions::Method::Ets && r.history.len() == 12));
    // published once, queryable, and read back exactly
    regions::publish(&mut database, &computed)
        .await
        .expect("publish");
    regions::publish(&mut database, &computed)
        .await
        .expect("publishing the same table again is a no-op");
    let loaded = regions::load(&database, &net.network, EPOCHS)
        .await
        .expect("load")
        .expect("published");
    assert_eq!(&loaded, table);
    let mut other = computed.clone();
    other.table.regions[0].bps = policy.max_bps;
    if other.table != computed.table {
        assert!(matches!(
            regions::publish(&mut database, &other).await,
            Err(regions::RegionError::AlreadyPublished { .. })
        ));
    }
    // the auditor's files for the oracle: the same table (the current epoch is the 13th)
    // and every scored device's health over the scored window's epoch (the 12th)
    let out = tempfile::tempdir().expect("tempdir");
    let inputs =
        depin_auditor::write_oracle_inputs(&mut database, out.path(), &net.network, &scores, last)
            .await
            .expect("oracle inputs");
    let (file_epoch, file, file_hash) = inputs.multipliers.clone().expect("rewards are indexed");
    assert_eq!((file_epoch, file_hash), (EPOCHS, table.hash()));
    assert_eq!(inputs.health_epoch, Some(EPOCHS - 1));
    let from_file: depin_sdk::incentives::RegionMultipliers =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert_eq!(&from_file, table);
    let health_file = |inputs: &depin_auditor::OracleInputs| {
        let csv = std::fs::read(&inputs.health).expect("health.csv");
        incentives::parse_health(csv.as_slice()).expect("parse")
    };
    let parsed = health_file(&inputs);
    assert_eq!(parsed.len(), 8);
    let flagged_bps = parsed[&broken];
    assert!(flagged_bps < ONE_BPS);

    // Defect: health.csv held the last window's scores alone, so a device flagged earlier
    // in the epoch and healthy in its last window was paid in full. Now the file is the
    // mean over the epoch's windows: a second, healthy window of the same epoch halves the
    // penalty; a window of another epoch counts there only; a window scored again
    // replaces its scores
    let healthy: Vec<depin_auditor::Score> = scores
        .iter()
        .cloned()
        .map(|mut s| {
            s.health = 1.0;
            s.findings.clear();
            s
        })
        .collect();
    let half = (last.0, last.0 + EPOCH_SECS / 2);
    let inputs =
        depin_auditor::write_oracle_inputs(&mut database, out.path(), &net.network, &healthy, half)
            .await
            .expect("oracle inputs");
    assert_eq!(inputs.health_epoch, Some(EPOCHS - 1));
    let parsed = health_file(&inputs);
    assert_eq!(parsed.len(), 8);
    let mean = ((u32::from(flagged_bps) + u32::from(ONE_BPS)) as f64 / 2.0).round() as u16;
    assert_eq!(parsed[&broken], mean);
    assert!(parsed
        .iter()
        .filter(|(d, _)| **d != broken)
        .all(|(_, bps)| *bps == ONE_BPS));
    let before = (last.0 - EPOCH_SECS, last.0);
    let inputs = depin_auditor::write_oracle_inputs(
        &mut database,
        out.path(),
        &net.network,
        &scores,
        before,
    )
    .await
    .expect("oracle inputs");
    assert_eq!(inputs.health_epoch, Some(EPOCHS - 2));
    assert_eq!(
        health_file(&inputs)[&broken],
        flagged_bps,
        "its own epoch only"
    );
    // in its own epoch's file: the file of the epoch after it still holds that epoch's
    // mean (one health.csv was overwritten by whichever window came last, so an oracle
    // reading it for an epoch just ended got the next epoch's first window)
    assert_eq!(
        inputs.health.file_name().and_then(|n| n.to_str()),
        Some(format!("health-{}.csv", EPOCHS - 2).as_str())
    );
    let later = out.path().join(format!("health-{}.csv", EPOCHS - 1));
    let csv = std::fs::read(&later).expect("the later epoch's file");
    assert_eq!(
        incentives::parse_health(csv.as_slice()).expect("parse")[&broken],
        mean,
        "the later epoch's file is untouched"
    );
    let inputs =
        depin_auditor::write_oracle_inputs(&mut database, out.path(), &net.network, &healthy, last)
            .await
            .expect("oracle inputs");
    assert_eq!(
        health_file(&inputs)[&broken],
        ONE_BPS,
        "the window scored again"
    );
    let inputs =
        depin_auditor::write_oracle_inputs(&mut database, out.path(), &net.network, &scores, last)
            .await
            .expect("oracle inputs");
    assert_eq!(health_file(&inputs)[&broken], mean);
    // a device not scored when the window is scored again (suspended since, or reinstated
    // after it) keeps its row of the window: the others' rows are replaced
    let others: Vec<depin_auditor::Score> = healthy
        .iter()
        .filter(|s| s.device != broken.to_string())
        .cloned()
        .collect();
    let inputs =
        depin_auditor::write_oracle_inputs(&mut database, out.path(), &net.network, &others, last)
            .await
            .expect("oracle inputs");
    assert_eq!(
        health_file(&inputs)[&broken],
        mean,
        "its row of the window kept"
    );
    assert_eq!(health_file(&inputs).len(), 8);
    let stored: i64 = database
        .query_one(
            "SELECT count(*) FROM region_multipliers m JOIN region_multiplier_tables t
               USING (network, epoch)
             WHERE network = $1 AND epoch = $2 AND t.hash = $3",
            &[&network, &(EPOCHS as i64), &table.hash().as_slice()],
        )
        .await
        .expect("query")
        .get(0);
    assert_eq!(stored, 2);

    // The oracle's rows: earnings × health × region, within the budget
    let health: BTreeMap<Pubkey, u16> = scores
        .iter()
        .map(|s| {
            let bps = (s.health.clamp(0.0, 1.0) * f64::from(ONE_BPS)).round() as u16;
            (s.device.parse().expect("device"), bps)
        })
        .collect();
    let earnings: Vec<Earning> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| Earning {
            device: net.device(d),
            owner: net.operator.pubkey(),
            region: region(location(i)),
            amount: EARNED,
        })
        .collect();
    let budget =
        incentives::epoch_budget(&schedule.into(), EPOCHS, 0).expect("the schedule's budget");
    let scored = incentives::Health {
        scores: &health,
        unscored_bps: 0,
    };
    // and as they end: nothing touched a bond in between, so every device is covered
    // (what the rule refuses is tested in sdk's incentives and localnet's client tests)
    let bonds_end = client
        .bonds(&net.network, CommitmentConfig::confirmed())
        .await
        .expect("bonds");
    let coverage = incentives::Coverage {
        start: &bonds_start,
        end: &bonds_end,
    };
    let epoch_rows =
        incentives::epoch_rows(&[], &earnings, coverage, Some(scored), Some(table), budget)
            .expect("rows");
    assert!(!epoch_rows.scaled && epoch_rows.paid <= budget);
    assert!(epoch_rows.unbonded.is_empty(), "every device stayed bonded");
    assert!(
        epoch_rows.unscored.is_empty(),
        "the auditor scored every device"
    );
    let amount_of = |d: &Pubkey| {
        epoch_rows
            .rows
            .iter()
            .find(|r| r.device == *d)
            .map(|r| r.cumulative_amount)
            .expect("row")
    };
    let lisbon_device = net.device(&devices[0]);
    assert_eq!(
        amount_of(&lisbon_device),
        EARNED * u64::from(lisbon_bps) / 10_000
    );
    assert_eq!(
        amount_of(&net.device(&devices[2])),
        EARNED * u64::from(berlin_bps) / 10_000
    );
    let broken_health = u64::from(health[&broken]);
    assert!(broken_health < u64::from(ONE_BPS));
    assert_eq!(
        amount_of(&broken),
        EARNED * broken_health * u64::from(berlin_bps) / 100_000_000
    );

    // proposed with the table's hash: quorum 1 finalizes it, and the hash is on chain
    let tree = RewardTree::build(epoch_rows.rows.clone()).expect("tree");
    let epoch = EPOCHS - 1;
    let propose = rewards::propose_root(
        &oracle.pubkey(),
        &net.network,
        ProposeRootArgs {
            epoch,
            root: tree.root(),
            cumulative_total: tree.total(),
            multipliers_hash: table.hash(),
        },
    );
    assert!(client
        .send(&[propose], &[&oracle])
        .await
        .expect("propose")
        .is_landed());
    let config = pda::rewards_config(&net.network).0;
    let data = client
        .rpc()
        .get_account_data(&pda::epoch_root(&config, epoch).0)
        .await
        .expect("epoch root");
    let root: EpochRoot = depin_sdk::accounts::decode(&data).expect("decode");
    assert!(root.finalized);
    assert_eq!(root.multipliers_hash, table.hash());
    // as indexed: the finalized root's hash is the published table's
    wait_for(
        &pg,
        &format!(
            "SELECT count(*) FROM rewards_root_finalized f JOIN region_multiplier_tables t
               ON t.hash = f.multipliers_hash
             WHERE t.network = '{network}' AND f.epoch = {epoch}"
        ),
        1,
    )
    .await;

    // A Lisbon device claims its weighted amount
    let recipient = client
        .create_token_account(&net.reward_mint, &net.operator.pubkey())
        .await
        .expect("reward account");
    let claim = |device: &Pubkey, claimed_open: bool| {
        let proof = tree.proof(device).expect("proof");
        rewards::claim_instructions(
            &client.payer(),
            &net.network,
            device,
            &net.operator.pubkey(),
            &net.reward_token(),
            &recipient,
            ClaimArgs {
                epoch,
                cumulative_amount: amount_of(device),
                proof: proof.proof,
            },
            claimed_open,
        )
    };
    assert!(client
        .send(&claim(&lisbon_device, false), &[])
        .await
        .expect("claim")
        .is_landed());
    assert_eq!(
        balance(&client, &recipient).await,
        amount_of(&lisbon_device)
    );

    // the suspended device's claim is refused before anything is sent
    let account = client
        .rpc()
        .get_account_data(&broken)
        .await
        .expect("device");
    let device: Device = depin_sdk::accounts::decode(&account).expect("decode");
    assert_eq!(device.status, DeviceStatus::SuspendedByAuditor);
    match client.send(&claim(&broken, false), &[]).await {
        Err(ClientError::Simulation { failure, .. }) => assert_eq!(
            failure.decoded.map(|d| d.name),
            Some("DeviceNotActive".into())
        ),
        other => panic!("a suspended device claimed: {other:?}"),
    }
    // once the auditor reinstates it (new evidence), it is paid its lowered amount
    let reinstate = registry::audit_device(
        &auditor.pubkey(),
        &net.network,
        &devices[7].pubkey(),
        AuditDeviceArgs {
            status: DeviceStatus::Active,
            evidence: [9; 32],
        },
    );
    assert!(client
        .send(&[reinstate], &[&auditor])
        .await
        .expect("reinstate")
        .is_landed());
    assert!(client
        .send(&claim(&broken, false), &[])
        .await
        .expect("claim")
        .is_landed());
    assert_eq!(
        balance(&client, &recipient).await,
        amount_of(&lisbon_device) + amount_of(&broken)
    );

    service.stop().await;
    let _ = indexer.stop().await;
    localnet.stop().await;
}
