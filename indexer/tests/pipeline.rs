//! The indexer end to end with real parts: the programs executed in the test runtime, a
//! Yellowstone gRPC server on loopback streaming their transactions, a JSON-RPC server for
//! backfills, and a throwaway PostgreSQL cluster.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use depin_indexer::rows::TABLES;
use depin_indexer::testkit::geyser::GeyserTestServer;
use depin_indexer::testkit::postgres::TempPostgres;
use depin_sdk::accounts::{
    Claimed, Device, DeviceStatus, EpochRoot, Maker, Network, StakePosition,
};
use depin_sdk::Pubkey;

const LIMIT: Duration = Duration::from_secs(60);

fn key(s: &str) -> Pubkey {
    s.parse().expect("stored keys are base58 pubkeys")
}

fn status_name(status: DeviceStatus) -> &'static str {
    match status {
        DeviceStatus::Active => "active",
        DeviceStatus::Suspended => "suspended",
        DeviceStatus::Decommissioned => "decommissioned",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_scenario_is_indexed_row_by_row() {
    // Given the scenario's transactions streamed by a Geyser server
    let mut chain = scenario_chain().await;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    for update in chain.updates() {
        geyser.push(update).await;
    }

    // When the indexer runs until it has checkpointed the last slot
    let indexer = spawn(config(&geyser.endpoint(), pg.url(), None));
    let last = chain.last_slot() as i64;
    assert_eq!(wait_for(pg.url(), CHECKPOINT, last, LIMIT).await, last);
    indexer.shutdown().await;
    let db = connect(pg.url()).await;

    // Then every event kind has its rows, exactly as many as the programs emitted
    let expected = chain.expected_rows();
    assert_eq!(
        expected.len(),
        TABLES.len(),
        "the scenario emits every kind"
    );
    let stored = stored_rows(&db).await;
    let expected: BTreeMap<String, i64> = expected
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(stored, expected);
    // every transaction that mentions a suite program, once (the token-program setup
    // transactions of the fixtures are not streamed)
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM indexed_transactions").await,
        chain.suite_transactions() as i64
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM decode_failures").await, 0);
    // rows carry their slot and the commitment reached (every slot was finalized)
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM events WHERE commitment <> 'finalized'"
        )
        .await,
        0
    );
    for tx in &chain.txs {
        let slots: Vec<i64> = db
            .query(
                "SELECT DISTINCT slot FROM events WHERE signature = $1",
                &[&tx.processed.signature],
            )
            .await
            .expect("query")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(slots.is_empty() || slots == vec![tx.slot as i64]);
    }

    // and the current state matches the chain's accounts, row by row
    let suite = &mut chain.suite;
    for row in db.query("SELECT network, authority, pending_authority, treasury, onboarding_fee::text, location_fee::text, paused FROM networks", &[]).await.expect("networks") {
        let network: Network = suite.account(key(row.get(0))).await;
        assert_eq!(network.authority, key(row.get(1)));
        assert_eq!(network.pending_authority, row.get::<_, Option<&str>>(2).map(key));
        assert_eq!(network.treasury, key(row.get(3)));
        assert_eq!(network.onboarding_fee.to_string(), row.get::<_, String>(4));
        assert_eq!(network.location_fee.to_string(), row.get::<_, String>(5));
        assert_eq!(network.paused, row.get::<_, bool>(6));
    }
    for row in db
        .query("SELECT maker, approved, device_quota FROM makers", &[])
        .await
        .expect("makers")
    {
        let maker: Maker = suite.account(key(row.get(0))).await;
        assert_eq!(maker.approved, row.get::<_, bool>(1));
        assert_eq!(i64::from(maker.device_quota), row.get::<_, i64>(2));
    }
    let devices = db
        .query("SELECT device, owner, status, location FROM devices", &[])
        .await
        .expect("devices");
    assert_eq!(devices.len(), 8);
    for row in devices {
        let device: Device = suite.account(key(row.get(0))).await;
        assert_eq!(
            device.owner,
            key(row.get(1)),
            "owner of {}",
            row.get::<_, &str>(0)
        );
        assert_eq!(status_name(device.status), row.get::<_, &str>(2));
        assert_eq!(
            device.location.map(|c| format!("{c:x}")),
            row.get::<_, Option<String>>(3)
        );
    }
    let positions = db
        .query(
            "SELECT position, active::text, pending::text, devices_bonded FROM stake_positions",
            &[],
        )
        .await
        .expect("positions");
    assert_eq!(positions.len(), 2);
    for row in positions {
        let position: StakePosition = suite.account(key(row.get(0))).await;
        assert_eq!(position.amount.to_string(), row.get::<_, String>(1));
        assert_eq!(position.pending.to_string(), row.get::<_, String>(2));
        assert_eq!(i64::from(position.devices_bonded), row.get::<_, i64>(3));
    }
    let epochs = db
        .query("SELECT config, epoch::text, root, cumulative_total::text, finalized, claimed::text FROM reward_epochs", &[])
        .await
        .expect("epochs");
    assert_eq!(epochs.len(), 1);
    for row in epochs {
        let config = key(row.get(0));
        let epoch: u64 = row.get::<_, String>(1).parse().expect("epoch");
        let root: EpochRoot = suite
            .account(depin_sdk::pda::epoch_root(&config, epoch).0)
            .await;
        assert_eq!(root.root.to_vec(), row.get::<_, Vec<u8>>(2));
        assert_eq!(root.cumulative_total.to_string(), row.get::<_, String>(3));
        assert_eq!(root.finalized, row.get::<_, bool>(4));
        assert_eq!(row.get::<_, String>(5), "100000000");
    }
    let claims = db
        .query(
            "SELECT config, device, total_claimed::text FROM reward_claims",
            &[],
        )
        .await
        .expect("claims");
    assert_eq!(claims.len(), 2);
    for row in claims {
        let claimed: Claimed = suite
            .account(depin_sdk::pda::claimed(&key(row.get(0)), &key(row.get(1))).0)
            .await;
        assert_eq!(claimed.total_claimed.to_string(), row.get::<_, String>(2));
    }
    let deals: BTreeMap<String, (String, i64, i64)> = db
        .query(
            "SELECT deal_id::text, status, proven_periods, faults FROM deals",
            &[],
        )
        .await
        .expect("deals")
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    assert_eq!(
        deals,
        BTreeMap::from([
            ("1".into(), ("completed".into(), 1, 0)),
            ("2".into(), ("cancelled".into(), 0, 0)),
            ("3".into(), ("terminated".into(), 0, 2)),
        ])
    );
    let intervals: Vec<(String, i64, i64, Option<String>)> = db
        .query(
            "SELECT status, asks, bids, volume_wh::text FROM energy_intervals",
            &[],
        )
        .await
        .expect("intervals")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        intervals,
        vec![("closed".into(), 2, 1, Some("2000".into()))]
    );
    type Order = (String, i16, String, Option<String>, Option<String>);
    let orders: Vec<Order> = db
        .query("SELECT side, order_slot, status, matched_wh::text, delivered_wh::text FROM energy_orders ORDER BY side, order_slot", &[])
        .await
        .expect("orders")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        orders,
        vec![
            (
                "ask".into(),
                0,
                "settled".into(),
                Some("2000".into()),
                Some("1800".into())
            ),
            ("ask".into(), 1, "cancelled".into(), None, None),
            (
                "bid".into(),
                0,
                "settled".into(),
                Some("2000".into()),
                Some("1800".into())
            ),
        ]
    );

    // and a full rebuild from the events gives the same state
    let snapshot = "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM devices UNION ALL SELECT * FROM devices WHERE false) t";
    let before: String = db.query_one(snapshot, &[]).await.expect("md5").get(0);
    db.execute("SELECT depin_rebuild_state()", &[])
        .await
        .expect("rebuild");
    let after: String = db.query_one(snapshot, &[]).await.expect("md5").get(0);
    assert_eq!(before, after);
}
