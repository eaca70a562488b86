//! The indexer end to end with real parts: the programs executed in the test runtime, a
//! Yellowstone gRPC server on loopback streaming their transactions, a JSON-RPC server for
//! backfills, and a throwaway PostgreSQL cluster.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::*;
use depin_indexer::rows::{ACTIVITY_TABLES, TABLES, TALLY_TABLES};
use depin_indexer::testkit::geyser::GeyserTestServer;
use depin_indexer::testkit::postgres::TempPostgres;
use depin_indexer::testkit::scenario::SCENARIO_MULTIPLIERS_HASH;
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
        DeviceStatus::SuspendedByAuditor => "suspended_by_auditor",
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
    // the state rows follow on the refresher's connection
    assert_eq!(wait_for(pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    indexer.shutdown().await;
    let db = connect(pg.url()).await;

    // Then every event kind has its rows, exactly as many as the programs emitted
    let expected = chain.expected_rows();
    assert_eq!(
        expected.len(),
        TABLES.len(),
        "the scenario emits every kind"
    );
    assert_eq!(stored_rows(&db).await, expected);
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
            "SELECT count(*) FROM events WHERE depin_commitment(slot) <> 'finalized'"
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
        .query("SELECT config, epoch::text, root, cumulative_total::text, finalized, claimed::text, multipliers_hash FROM reward_epochs", &[])
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
        assert_eq!(root.multipliers_hash.to_vec(), row.get::<_, Vec<u8>>(6));
        assert_eq!(root.multipliers_hash, SCENARIO_MULTIPLIERS_HASH);
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
            ("0".into(), ("completed".into(), 1, 0)),
            ("1".into(), ("cancelled".into(), 0, 0)),
            ("2".into(), ("terminated".into(), 0, 2)),
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
            // slot 1 was cancelled, then reused by the same device's second ask, which
            // cleared unmatched and was settled: the row follows the second order only
            (
                "ask".into(),
                1,
                "settled".into(),
                Some("0".into()),
                Some("0".into())
            ),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_dropped_and_resumed_from_the_checkpoint() {
    let chain = scenario_chain().await;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let indexer = spawn(config(&geyser.endpoint(), pg.url(), None));
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let addr = depin_indexer::metrics::serve(
        "127.0.0.1:0".parse().expect("address"),
        indexer.hooks.metrics.clone(),
        Duration::from_secs(60),
        async {
            let _ = server_stopped.await;
        },
    )
    .await
    .expect("metrics server");

    // Given the first half of the chain indexed
    let middle = FIRST_SLOT + 15;
    for update in chain.updates_of(FIRST_SLOT, middle) {
        geyser.push(update).await;
    }
    let checkpoint = (middle - 1) as i64;
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, checkpoint, LIMIT).await,
        checkpoint
    );
    let health = reqwest::get(format!("http://{addr}/health"))
        .await
        .expect("health");
    assert_eq!(health.status(), 200);

    // When the connection drops and the rest of the chain is produced meanwhile
    geyser.disconnect_all();
    for update in chain.updates_of(middle, chain.last_slot() + 1) {
        geyser.push(update).await;
    }

    // Then the indexer reconnects, replays from its checkpoint and misses nothing
    let last = chain.last_slot() as i64;
    assert_eq!(wait_for(pg.url(), CHECKPOINT, last, LIMIT).await, last);
    let db = connect(pg.url()).await;
    let expected = chain.expected_rows();
    assert_eq!(stored_rows(&db).await, expected);
    assert!(geyser.subscriptions() >= 2);
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("depin_indexer_{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
    };
    assert!(value("reconnects_total") >= 1);
    assert_eq!(value("rows_written_total") as i64, chain.expected_total());
    assert_eq!(value("checkpoint_slot") as i64, last);
    assert_eq!(value("slot_lag"), 0);
    assert_eq!(value("decode_failures_total"), 0);
    assert_eq!(value("slots_unjudged"), 0);
    indexer.shutdown().await;
    let _ = stop_server.send(());
}

/// Whether `update` is a slot's finalized status.
fn is_finalized_status(update: &yellowstone_grpc_proto::geyser::SubscribeUpdate) -> bool {
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::geyser::SlotStatus;
    matches!(&update.update_oneof,
        Some(UpdateOneof::Slot(s)) if s.status == SlotStatus::SlotFinalized as i32)
}

/// Defect: stopped between its slots' confirmation and their finalization, the indexer
/// resumed after its checkpoint, never saw those slots' finalized status, and left their
/// rows confirmed forever. A finalized slot finalizes its ancestors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_finalized_while_the_indexer_was_down_are_finalized_after_restart() {
    let chain = scenario_chain().await;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");

    // Given the first slots indexed and confirmed, but not yet finalized
    let middle = FIRST_SLOT + 10;
    let (finalizations, first_part): (Vec<_>, Vec<_>) = chain
        .updates_of(FIRST_SLOT, middle)
        .into_iter()
        .partition(is_finalized_status);
    assert_eq!(finalizations.len() as u64, middle - FIRST_SLOT);
    let indexer = spawn(config(&geyser.endpoint(), pg.url(), None));
    for update in first_part {
        geyser.push(update).await;
    }
    let checkpoint = (middle - 1) as i64;
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, checkpoint, LIMIT).await,
        checkpoint
    );
    // When it stops cleanly, the slots are finalized while it is down, and it starts again
    indexer.shutdown().await;
    for update in finalizations {
        geyser.push(update).await;
    }
    let indexer = spawn(config(&geyser.endpoint(), pg.url(), None));
    for update in chain.updates_of(middle, chain.last_slot() + 1) {
        geyser.push(update).await;
    }

    // Then every row is finalized, the ones of the slots it missed the finalization of too
    let last = chain.last_slot() as i64;
    assert_eq!(wait_for(pg.url(), CHECKPOINT, last, LIMIT).await, last);
    let unfinalized = "SELECT count(*) FROM events WHERE depin_commitment(slot) <> 'finalized'";
    assert_eq!(wait_for(pg.url(), unfinalized, 0, LIMIT).await, 0);
    let db = connect(pg.url()).await;
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT count(*) FROM slots WHERE slot < {middle} AND status <> 'finalized'")
        )
        .await,
        0
    );
    assert!(
        scalar(
            &db,
            &format!("SELECT count(*) FROM events WHERE slot < {middle}")
        )
        .await
            > 0
    );
    assert_eq!(stored_rows(&db).await, chain.expected_rows());
    indexer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_a_dead_slot_are_removed_and_state_rebuilt() {
    use depin_indexer::testkit::chain::{slot_update, transaction_update};
    use yellowstone_grpc_proto::geyser::SlotStatus;

    let chain = scenario_chain().await;
    // the slot holding the device transfer
    let transfer = chain
        .txs
        .iter()
        .find(|t| {
            t.processed
                .log_messages
                .iter()
                .any(|l| l.contains("Instruction: TransferDevice"))
                || decode_kinds(t).contains(&"registry_device_transferred")
        })
        .expect("the scenario transfers a device");
    let dead = transfer.slot;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let mut cfg = config(&geyser.endpoint(), pg.url(), None);
    cfg.source.commitment = depin_indexer::sink::Commitment::Processed;
    let indexer = spawn(cfg);

    // Given slots before it finalized, and it processed only
    for update in chain.updates_of(FIRST_SLOT, dead) {
        geyser.push(update).await;
    }
    for tx in chain.txs.iter().filter(|t| t.slot == dead) {
        geyser.push(transaction_update(tx)).await;
    }
    geyser
        .push(slot_update(dead, SlotStatus::SlotProcessed))
        .await;
    let recorded = format!("SELECT count(*) FROM slots WHERE slot = {dead}");
    assert_eq!(wait_for(pg.url(), &recorded, 1, LIMIT).await, 1);
    let db = connect(pg.url()).await;
    // at processed the checkpoint follows confirmed slots
    assert_eq!(scalar(&db, CHECKPOINT).await, (dead - 1) as i64);
    let in_dead_slot = format!("SELECT count(*) FROM events WHERE slot = {dead}");
    assert!(scalar(&db, &in_dead_slot).await > 0);
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT count(*) FROM events WHERE slot = {dead} AND depin_commitment(slot) <> 'processed'"
            )
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT count(*) FROM events WHERE slot < {dead} AND depin_commitment(slot) <> 'finalized'"
            )
        )
        .await,
        0
    );
    assert_eq!(wait_for(pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    let row = db
        .query_one(
            "SELECT t.device, t.previous_owner, t.new_owner, d.owner FROM registry_device_transferred t JOIN devices d USING (device)",
            &[],
        )
        .await
        .expect("transfer indexed");
    let (device, previous, new, owner): (String, String, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(owner, new);

    // When the slot dies
    geyser.push(slot_update(dead, SlotStatus::SlotDead)).await;

    // Then its rows are gone and the device's owner is what the surviving events say
    assert_eq!(wait_for(pg.url(), &in_dead_slot, 0, LIMIT).await, 0);
    assert_eq!(wait_for(pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    let owner: String = db
        .query_one("SELECT owner FROM devices WHERE device = $1", &[&device])
        .await
        .expect("device still onboarded")
        .get(0);
    assert_eq!(owner, previous);
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT count(*) FROM indexed_transactions WHERE slot = {dead}")
        )
        .await,
        0
    );
    let status: String = db
        .query_one(
            "SELECT status FROM slots WHERE slot = $1",
            &[&(dead as i64)],
        )
        .await
        .expect("slot recorded")
        .get(0);
    assert_eq!(status, "dead");
    indexer.shutdown().await;
}

fn decode_kinds(tx: &depin_indexer::testkit::chain::ChainTransaction) -> Vec<&'static str> {
    depin_indexer::decode::decode_transaction(&depin_indexer::testkit::chain::transaction_view(
        &tx.processed,
    ))
    .events
    .iter()
    .map(|r| depin_indexer::rows::event_row(&r.event).table)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_older_than_the_replay_window_is_backfilled_over_json_rpc() {
    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    assert!(b < chain.last_slot());
    restart_over_a_gap(&chain, &rpc, Vec::new(), (a, b)).await;
}

/// The slots `a..b` the backfill tests leave out of the stream's replay window.
const GAP: (u64, u64) = (FIRST_SLOT + 10, FIRST_SLOT + 25);

/// The scenario's chain, and a JSON-RPC server answering from it.
async fn chain_and_rpc() -> (Chain, depin_indexer::testkit::rpc_server::RpcTestServer) {
    let chain = scenario_chain().await;
    let rpc = depin_indexer::testkit::rpc_server::RpcTestServer::start(chain.txs.clone())
        .await
        .expect("rpc server");
    (chain, rpc)
}

/// Given slots before `a` indexed and the indexer stopped, slots `a..b` of `chain` produced
/// while it was down and gone from the endpoint's window; when it restarts (its replay
/// request refused, then live), `live_first` is pushed on the live subscription, then the
/// chain from `b` on. Then every row is stored once and every transaction of the gap came
/// over JSON-RPC, counted once in the `backfilled` metric.
async fn restart_over_a_gap(
    chain: &Chain,
    rpc: &depin_indexer::testkit::rpc_server::RpcTestServer,
    live_first: Vec<yellowstone_grpc_proto::geyser::SubscribeUpdate>,
    (a, b): (u64, u64),
) {
    restart_over_a_gap_at(
        depin_indexer::sink::Commitment::Confirmed,
        Tips::Agree,
        chain,
        rpc,
        live_first,
        (a, b),
    )
    .await;
}

/// What the endpoint's `GetSlot` and the RPC node's `getSlot` answer when the indexer
/// restarts over a gap `a..b`.
#[derive(Debug, Clone, Copy)]
enum Tips {
    /// Both the last slot produced, `b - 1`.
    Agree,
    /// The RPC node behind, at this slot, until it catches up a moment after the first
    /// live update.
    RpcBehind(u64),
    /// The RPC node ahead, at this slot: its range reaches slots that also come live.
    RpcAhead(u64),
    /// The endpoint refuses `GetSlot`; the RPC node at `b - 1`.
    EndpointSilent,
}

/// [`restart_over_a_gap`] with an indexer of `commitment`, the nodes' slots as `tips` say.
async fn restart_over_a_gap_at(
    commitment: depin_indexer::sink::Commitment,
    tips: Tips,
    chain: &Chain,
    rpc: &depin_indexer::testkit::rpc_server::RpcTestServer,
    live_first: Vec<yellowstone_grpc_proto::geyser::SubscribeUpdate>,
    (a, b): (u64, u64),
) {
    let (pg, geyser, subscribed) = down_over_a_gap(chain, rpc, commitment, (a, b)).await;
    // what the backfill covers: up to the endpoint's next slot, or past the RPC node's
    let end = match tips {
        Tips::Agree => b,
        Tips::EndpointSilent => {
            geyser.without_get_slot();
            b
        }
        Tips::RpcBehind(slot) => {
            rpc.set_slot(Some(slot));
            b
        }
        Tips::RpcAhead(slot) => {
            rpc.set_slot(Some(slot));
            slot + 1
        }
    };
    let mut settings = config(&geyser.endpoint(), pg.url(), Some(&rpc.url()));
    settings.source.commitment = commitment;
    let indexer = spawn(settings);
    refused_then_live(&geyser, subscribed).await;
    for update in live_first {
        geyser.push(update).await;
    }
    if let Tips::RpcBehind(_) = tips {
        // the backfill waits for the node to reach the endpoint's slot
        tokio::time::sleep(Duration::from_millis(300)).await;
        rpc.set_slot(Some(b - 1));
    }
    for update in chain.updates_of(b, chain.last_slot() + 1) {
        geyser.push(update).await;
    }

    let last = chain.last_slot() as i64;
    assert_eq!(wait_for(pg.url(), CHECKPOINT, last, LIMIT).await, last);
    // the backfill commits the gap before the live batches: once the last slot is
    // checkpointed, every row is in
    let db = connect(pg.url()).await;
    assert_eq!(stored_rows(&db).await, chain.expected_rows());
    let gap_txs = gap_transactions(chain, a, end).len() as i64;
    assert!(gap_txs > 0);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM indexed_transactions WHERE source = 'rpc'"
        )
        .await,
        gap_txs
    );
    assert_eq!(
        indexer
            .hooks
            .metrics
            .backfilled
            .load(std::sync::atomic::Ordering::Relaxed) as i64,
        gap_txs
    );
    // in one session: a backfill that failed and started over (a transaction the node did
    // not return at once, asked for again) would have counted a reconnect
    assert_eq!(
        indexer
            .hooks
            .metrics
            .reconnects
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "the backfill never failed and started over"
    );
    // each backfilled transaction at its place in its block, as the stream would give it
    // (two programs' listings of one slot interleave in the block)
    let placed: HashMap<String, i64> = db
        .query(
            "SELECT signature, tx_index FROM indexed_transactions WHERE source = 'rpc'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for t in chain
        .txs
        .iter()
        .filter(|t| placed.contains_key(&t.processed.signature))
    {
        assert_eq!(
            placed[&t.processed.signature], t.index as i64,
            "tx_index of {} in slot {}",
            t.processed.signature, t.slot
        );
    }
    assert!(rpc.calls() > 0);
    indexer.shutdown().await;
}

/// The suite's transactions of `chain` in slots `a..b`.
fn gap_transactions(chain: &Chain, a: u64, b: u64) -> Vec<String> {
    chain
        .txs
        .iter()
        .filter(|t| (a..b).contains(&t.slot))
        .filter(|t| {
            t.processed
                .account_keys
                .iter()
                .any(|k| depin_indexer::source::suite_programs().contains(k))
        })
        .map(|t| t.processed.signature.clone())
        .collect()
}

/// A live subscription at `confirmed` may open with the finalized status of a slot ~32 slots
/// behind the tip. Taking that slot as the end of the backfill left every slot between it
/// and the first slot confirmed live out of both the backfill and the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalized_status_first_on_the_live_stream_does_not_end_the_backfill_early() {
    use depin_indexer::testkit::chain::slot_update;
    use yellowstone_grpc_proto::geyser::SlotStatus;

    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    assert!(b < chain.last_slot());
    // an old slot of the gap, finalized now, with transactions of the suite after it
    let old = a + 2;
    assert!(gap_transactions(&chain, old + 1, b).len() > 1);
    let live_first = vec![slot_update(old, SlotStatus::SlotFinalized)];
    restart_over_a_gap(&chain, &rpc, live_first, (a, b)).await;
}

/// A block of a minority fork, processed late, may be the first update on the live stream:
/// its slot lies below the slots the endpoint had reached before the subscription. Taking
/// it as the end of the backfill left the slots between it and the first slot delivered
/// live out of both. Now the backfill runs through the endpoint's slot (`GetSlot`) and the
/// RPC node's as well: with the RPC node at the endpoint's slot, behind it (the backfill
/// waits for it), ahead of it (the slots that come both ways are written once), or alone
/// (an endpoint that refuses `GetSlot`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_fork_block_first_on_the_live_stream_does_not_end_the_backfill_early() {
    use depin_indexer::sink::Commitment;
    use depin_indexer::testkit::chain::slot_update;
    use yellowstone_grpc_proto::geyser::SlotStatus;

    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    let fork = a + 2;
    assert!(gap_transactions(&chain, fork + 1, b).len() > 1);
    assert!(b + 3 < chain.last_slot());
    for (commitment, tips) in [
        (Commitment::Confirmed, Tips::Agree),
        (Commitment::Processed, Tips::Agree),
        (Commitment::Confirmed, Tips::RpcBehind(a + 1)),
        (Commitment::Processed, Tips::RpcBehind(a + 1)),
        (Commitment::Confirmed, Tips::RpcAhead(b + 3)),
        (Commitment::Confirmed, Tips::EndpointSilent),
    ] {
        // the late block's slot, processed on the live stream before anything else
        let live_first = vec![slot_update(fork, SlotStatus::SlotProcessed)];
        restart_over_a_gap_at(commitment, tips, &chain, &rpc, live_first, (a, b)).await;
    }
}

/// Slots before `a` of `chain` indexed by an indexer of `commitment`, which is then stopped
/// while slots `a..b` are produced and leave the endpoint's window; returns the database,
/// the endpoint and the number of subscriptions it had served.
async fn down_over_a_gap(
    chain: &Chain,
    rpc: &depin_indexer::testkit::rpc_server::RpcTestServer,
    commitment: depin_indexer::sink::Commitment,
    (a, b): (u64, u64),
) -> (TempPostgres, GeyserTestServer, u64) {
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let mut settings = config(&geyser.endpoint(), pg.url(), Some(&rpc.url()));
    settings.source.commitment = commitment;
    let indexer = spawn(settings);
    for update in chain.updates_of(FIRST_SLOT, a) {
        geyser.push(update).await;
    }
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, (a - 1) as i64, LIMIT).await,
        (a - 1) as i64
    );
    indexer.shutdown().await;
    for update in chain.updates_of(a, b) {
        geyser.push(update).await;
    }
    geyser.forget_before(b);
    // the endpoint and the RPC node (which holds the whole recorded chain) are at the last
    // slot produced when the indexer comes back
    geyser.set_tip(depin_indexer::testkit::geyser::Tip {
        slots: [b - 1; 3],
        ..Default::default()
    });
    rpc.set_slot(Some(b - 1));
    let subscribed = geyser.subscriptions();
    (pg, geyser, subscribed)
}

/// Waits (bounded) until the restarted indexer's replay request was refused and its live
/// subscription is in place: two subscriptions past the `subscribed` before the restart.
async fn refused_then_live(geyser: &GeyserTestServer, subscribed: u64) {
    let deadline = std::time::Instant::now() + LIMIT;
    while geyser.subscriptions() < subscribed + 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(geyser.subscriptions(), subscribed + 2, "refused, then live");
}

/// At `processed` the checkpoint follows confirmed slots, and a slot above the gap may be
/// confirmed on the live stream before any update starts the backfill (a higher
/// commitment never ends it). The checkpoint committed with the batch holding that status
/// moved past the gap before a row of it was written, so a crash, a failed backfill or a
/// stop then resumed past the gap for good. Now nothing moves the checkpoint while the
/// backfill is pending; the backfill moves it, and the gap is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_processed_the_checkpoint_waits_for_the_backfill_of_a_gap() {
    use depin_indexer::sink::Commitment;
    use depin_indexer::testkit::chain::slot_update;
    use yellowstone_grpc_proto::geyser::SlotStatus;
    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    let (pg, geyser, subscribed) =
        down_over_a_gap(&chain, &rpc, Commitment::Processed, (a, b)).await;
    let mut settings = config(&geyser.endpoint(), pg.url(), Some(&rpc.url()));
    settings.source.commitment = Commitment::Processed;
    let indexer = spawn(settings);
    refused_then_live(&geyser, subscribed).await;
    // Given a slot past the gap confirmed first on the live stream
    geyser
        .push(slot_update(b - 2, SlotStatus::SlotConfirmed))
        .await;
    // Then, while the backfill has not run, the checkpoint stays below the gap (it was
    // b - 2 within a flush interval, 20 ms here)
    let db = connect(pg.url()).await;
    let watch_until = std::time::Instant::now() + Duration::from_secs(1);
    while std::time::Instant::now() < watch_until {
        assert_eq!(scalar(&db, CHECKPOINT).await, (a - 1) as i64);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // and once the live slots come, the gap is backfilled and every row is in
    for update in chain.updates_of(b, chain.last_slot() + 1) {
        geyser.push(update).await;
    }
    let last = chain.last_slot() as i64;
    assert_eq!(wait_for(pg.url(), CHECKPOINT, last, LIMIT).await, last);
    assert_eq!(stored_rows(&db).await, chain.expected_rows());
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM indexed_transactions WHERE source = 'rpc'"
        )
        .await,
        gap_transactions(&chain, a, b).len() as i64
    );
    indexer.shutdown().await;
}

/// A gap older than the RPC node's history (its older blocks purged) cannot be backfilled
/// from it: its listings leave the older transactions out without a word, and the
/// checkpoint moved past them for good. Now the indexer stops with the reason, its
/// checkpoint below the gap, and nothing of the gap written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_older_than_the_rpc_nodes_history_stops_the_indexer_with_the_reason() {
    use depin_indexer::run::RunError;
    use depin_indexer::sink::Commitment;
    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    let (pg, geyser, subscribed) =
        down_over_a_gap(&chain, &rpc, Commitment::Confirmed, (a, b)).await;
    // Given a node that holds blocks from a + 3 on
    rpc.set_first_available(a + 3);
    let indexer = spawn(config(&geyser.endpoint(), pg.url(), Some(&rpc.url())));
    refused_then_live(&geyser, subscribed).await;
    for update in chain.updates_of(b, chain.last_slot() + 1) {
        geyser.push(update).await;
    }
    // Then the indexer stops, naming the gap and the node's history
    let ended = tokio::time::timeout(LIMIT, indexer.handle)
        .await
        .expect("the indexer stops")
        .expect("no panic");
    match ended {
        Err(RunError::GapBeyondRpcHistory {
            from,
            first_available,
        }) => assert_eq!((from, first_available), (a, a + 3)),
        other => panic!("expected GapBeyondRpcHistory, got {other:?}"),
    }
    let db = connect(pg.url()).await;
    assert_eq!(scalar(&db, CHECKPOINT).await, (a - 1) as i64);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM indexed_transactions WHERE source = 'rpc'"
        )
        .await,
        0
    );
}

/// A node that lists a transaction of the range but answers `null` for it (behind the node
/// that listed it) must not make the backfill leave it out: it is asked again, and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_transaction_the_node_does_not_return_yet_is_asked_for_again() {
    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    let gap = gap_transactions(&chain, a, b);
    rpc.hide_once(&gap[gap.len() / 2]);
    restart_over_a_gap(&chain, &rpc, Vec::new(), (a, b)).await;
}

/// A node that never returns a transaction it listed fails the backfill with the
/// transaction's signature (the session then starts over) instead of leaving it out; a node
/// that has not reached the end of the range fails it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_or_missing_a_listed_transaction_fails_the_backfill() {
    use depin_indexer::rpc::{RpcClient, RpcError, MISSING_ATTEMPTS};
    use depin_indexer::sink::Commitment;
    let (chain, rpc) = chain_and_rpc().await;
    let (a, b) = GAP;
    let gap = gap_transactions(&chain, a, b);
    let missing = &gap[gap.len() / 2];
    for _ in 0..MISSING_ATTEMPTS {
        rpc.hide_once(missing);
    }
    let client = RpcClient::new(&rpc.url(), Commitment::Confirmed, 100);
    let programs = depin_indexer::source::suite_programs();
    // a node that has not reached the end of the range is waited for, then refused
    rpc.set_slot(Some(b - 2));
    match client.reached(b - 1, Duration::from_millis(300)).await {
        Err(RpcError::Behind { at, needed }) => assert_eq!((at, needed), (b - 2, b - 1)),
        other => panic!("expected Behind, got {other:?}"),
    }
    rpc.set_slot(Some(b - 1));
    client
        .reached(b - 1, Duration::from_millis(300))
        .await
        .expect("reached");
    rpc.set_slot(None);
    match client.backfill(&programs, a, b).await {
        Err(RpcError::Missing { signature }) => assert_eq!(&signature, missing),
        other => panic!("expected Missing, got {:?}", other.map(|t| t.len())),
    }
    // a block that does not hold a transaction listed in its slot: its place is unknown
    rpc.leave_out_of_block_once(missing);
    let slot = chain
        .txs
        .iter()
        .find(|t| &t.processed.signature == missing)
        .map(|t| t.slot)
        .unwrap();
    match client.backfill(&programs, a, b).await {
        Err(RpcError::NotInBlock {
            signature,
            slot: listed,
        }) => assert_eq!((&signature, listed), (missing, slot)),
        other => panic!("expected NotInBlock, got {:?}", other.map(|t| t.len())),
    }
    // once the node has it, the same range comes whole, each transaction at its place in
    // its block, in block order
    let all = client.backfill(&programs, a, b).await.expect("backfill");
    let places: Vec<(u64, u64)> = all.iter().map(|t| (t.slot, t.tx_index)).collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{places:?}");
    for t in &all {
        let on_chain = chain
            .txs
            .iter()
            .find(|c| c.processed.signature == t.signature)
            .unwrap();
        assert_eq!((t.slot, t.tx_index), (on_chain.slot, on_chain.index));
    }
    let mut got: Vec<String> = all.into_iter().map(|t| t.signature).collect();
    let mut want = gap.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_transactions_are_recorded_not_dropped() {
    use anchor_lang::event::EVENT_IX_TAG_LE;
    use depin_indexer::testkit::chain::slot_update;
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::geyser::{
        SlotStatus, SubscribeUpdate, SubscribeUpdateTransaction, SubscribeUpdateTransactionInfo,
    };
    use yellowstone_grpc_proto::solana::storage::confirmed_block as pb;

    let registry = depin_indexer::source::suite_programs()[0];
    let crafted =
        |n: u8, keys: Vec<Vec<u8>>, inner: Vec<Vec<u8>>, logs: Vec<String>, failed: bool| {
            SubscribeUpdate {
                update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
                    slot: FIRST_SLOT,
                    bank_id: 0,
                    transaction: Some(SubscribeUpdateTransactionInfo {
                        signature: vec![n; 64],
                        is_vote: false,
                        index: u64::from(n),
                        transaction: Some(pb::Transaction {
                            signatures: vec![vec![n; 64]],
                            message: Some(pb::Message {
                                account_keys: keys,
                                ..Default::default()
                            }),
                        }),
                        meta: Some(pb::TransactionStatusMeta {
                            err: failed.then(|| pb::TransactionError { err: vec![1] }),
                            inner_instructions: vec![pb::InnerInstructions {
                                index: 0,
                                instructions: inner
                                    .into_iter()
                                    .map(|data| pb::InnerInstruction {
                                        program_id_index: 1,
                                        accounts: vec![],
                                        data,
                                        stack_height: Some(2),
                                    })
                                    .collect(),
                            }],
                            log_messages: logs,
                            ..Default::default()
                        }),
                    }),
                })),
                ..Default::default()
            }
        };
    let payer = vec![7u8; 32];
    let program = registry.to_bytes().to_vec();
    let garbage_event = [EVENT_IX_TAG_LE, &[0xAB; 12][..]].concat();
    let updates = vec![
        // an event CPI whose discriminator no registry event has
        crafted(
            1,
            vec![payer.clone(), program.clone()],
            vec![garbage_event.clone()],
            vec![],
            false,
        ),
        // a 31-byte account key: the transaction's shape is broken
        crafted(2, vec![vec![1; 31], program.clone()], vec![], vec![], false),
        // a `Program data:` log that is not base64
        crafted(
            3,
            vec![payer.clone(), program.clone()],
            vec![],
            vec![
                format!("Program {registry} invoke [1]"),
                "Program data: ***".into(),
                format!("Program {registry} success"),
            ],
            false,
        ),
        // a failed transaction: excluded by the subscription
        crafted(
            4,
            vec![payer.clone(), program.clone()],
            vec![garbage_event],
            vec![],
            true,
        ),
        slot_update(FIRST_SLOT, SlotStatus::SlotProcessed),
        slot_update(FIRST_SLOT, SlotStatus::SlotConfirmed),
    ];
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    for update in updates {
        geyser.push(update).await;
    }
    let indexer = spawn(config(&geyser.endpoint(), pg.url(), None));
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, FIRST_SLOT as i64, LIMIT).await,
        FIRST_SLOT as i64
    );
    let db = connect(pg.url()).await;
    let failures: Vec<(String, Option<i32>, Option<String>, String)> = db
        .query(
            "SELECT signature, instruction_index, program, reason FROM decode_failures ORDER BY signature",
            &[],
        )
        .await
        .expect("failures")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let sig = |n: u8| bs58::encode([n; 64]).into_string();
    let mut expected = vec![
        (
            sig(1),
            Some(0),
            Some(registry.to_string()),
            "unknown event discriminator [ab, ab, ab, ab, ab, ab, ab, ab]".to_owned(),
        ),
        (sig(2), None, None, "account key of 31 bytes".to_owned()),
        (
            sig(3),
            Some(0),
            Some(registry.to_string()),
            "bad base64 in log: Invalid symbol 42, offset 0.".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(failures, expected);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM indexed_transactions").await,
        3
    );
    assert_eq!(scalar(&db, EVENT_ROWS).await, 0);
    assert_eq!(
        indexer
            .hooks
            .metrics
            .decode_failures
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    indexer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_in_an_abandoned_fork_survives_in_the_finalized_one() {
    use depin_indexer::testkit::chain::{slot_update, transaction_update};
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::geyser::SlotStatus;

    let chain = scenario_chain().await;
    let fork_slot = chain
        .txs
        .iter()
        .find(|t| decode_kinds(t).contains(&"registry_device_transferred"))
        .expect("the scenario transfers a device")
        .slot;
    let winner = fork_slot + 1_000;
    let with_parent = |slot: u64, parent: u64, status: SlotStatus| {
        let mut update = slot_update(slot, status);
        if let Some(UpdateOneof::Slot(s)) = &mut update.update_oneof {
            s.parent = Some(parent);
        }
        update
    };
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let mut cfg = config(&geyser.endpoint(), pg.url(), None);
    cfg.source.commitment = depin_indexer::sink::Commitment::Processed;
    let indexer = spawn(cfg);

    // Given everything before the fork finalized
    for update in chain.updates_of(FIRST_SLOT, fork_slot) {
        geyser.push(update).await;
    }
    // and the same transactions in two sibling slots: first in one fork, then in the other
    let in_fork: Vec<_> = chain.txs.iter().filter(|t| t.slot == fork_slot).collect();
    for tx in &in_fork {
        geyser.push(transaction_update(tx)).await;
    }
    geyser
        .push(with_parent(
            fork_slot,
            fork_slot - 1,
            SlotStatus::SlotProcessed,
        ))
        .await;
    for tx in &in_fork {
        let mut copy = (*tx).clone();
        copy.slot = winner;
        geyser.push(transaction_update(&copy)).await;
    }
    geyser
        .push(with_parent(
            winner,
            fork_slot - 1,
            SlotStatus::SlotProcessed,
        ))
        .await;
    let db = connect(pg.url()).await;
    let at = |slot: u64| format!("SELECT count(*) FROM events WHERE slot = {slot}");
    let recorded = format!("SELECT count(*) FROM slots WHERE slot = {winner}");
    assert_eq!(wait_for(pg.url(), &recorded, 1, LIMIT).await, 1);
    // at processed the checkpoint follows confirmed slots: both forks lie above it
    assert_eq!(scalar(&db, CHECKPOINT).await, (fork_slot - 1) as i64);
    let rows = scalar(&db, &at(fork_slot)).await;
    assert!(rows > 0);
    assert_eq!(scalar(&db, &at(winner)).await, 0, "the copy is a replay");

    // When the sibling is finalized, the first fork is abandoned
    geyser
        .push(with_parent(
            winner,
            fork_slot - 1,
            SlotStatus::SlotConfirmed,
        ))
        .await;
    geyser
        .push(with_parent(
            winner,
            fork_slot - 1,
            SlotStatus::SlotFinalized,
        ))
        .await;

    // Then the rows live on in the finalized slot, and the abandoned one is marked dead
    assert_eq!(wait_for(pg.url(), &at(winner), rows, LIMIT).await, rows);
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, winner as i64, LIMIT).await,
        winner as i64
    );
    assert_eq!(wait_for(pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    assert_eq!(scalar(&db, &at(fork_slot)).await, 0);
    let status: String = db
        .query_one(
            "SELECT status FROM slots WHERE slot = $1",
            &[&(fork_slot as i64)],
        )
        .await
        .expect("slot recorded")
        .get(0);
    assert_eq!(status, "dead");
    let (new_owner, owner): (String, String) = {
        let row = db
            .query_one(
                "SELECT t.new_owner, d.owner FROM registry_device_transferred t JOIN devices d USING (device)",
                &[],
            )
            .await
            .expect("transfer kept");
        (row.get(0), row.get(1))
    };
    assert_eq!(owner, new_owner);
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT count(*) FROM events WHERE slot = {winner} AND depin_commitment(slot) = 'finalized'"
            )
        )
        .await,
        rows
    );
    indexer.shutdown().await;
}

/// Defect: at `processed` the checkpoint was the highest slot processed. Slots are processed
/// on every fork and out of order, so a sibling slot processed later than a higher one (on
/// the fork that then won) lay below the checkpoint: after a restart the resume began above
/// it and its rows were never indexed. Now the checkpoint follows confirmed slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_processed_a_sibling_slot_arriving_after_a_higher_one_survives_a_restart() {
    use depin_indexer::testkit::chain::slot_update;
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::geyser::SlotStatus;

    let chain = scenario_chain().await;
    let late = FIRST_SLOT + 12;
    let late_rows = chain
        .event_rows()
        .iter()
        .filter(|(s, _)| *s == late)
        .count() as i64;
    assert!(late_rows > 0, "slot {late} carries events");
    let sibling = late + 1_000;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let mut cfg = config(&geyser.endpoint(), pg.url(), None);
    cfg.source.commitment = depin_indexer::sink::Commitment::Processed;

    // Given everything before `late` indexed, and a sibling of `late` (same parent, a higher
    // slot) processed before `late` arrives
    let indexer = spawn(cfg.clone());
    for update in chain.updates_of(FIRST_SLOT, late) {
        geyser.push(update).await;
    }
    let mut processed = slot_update(sibling, SlotStatus::SlotProcessed);
    if let Some(UpdateOneof::Slot(s)) = &mut processed.update_oneof {
        s.parent = Some(late - 1);
    }
    geyser.push(processed).await;
    let recorded = format!("SELECT count(*) FROM slots WHERE slot = {sibling}");
    assert_eq!(wait_for(pg.url(), &recorded, 1, LIMIT).await, 1);
    assert_eq!(
        scalar(&connect(pg.url()).await, CHECKPOINT).await,
        (late - 1) as i64,
        "a processed slot does not move the checkpoint"
    );

    // When the indexer stops, `late` arrives and wins, and the indexer starts again
    indexer.shutdown().await;
    for update in chain.updates_of(late, chain.last_slot() + 1) {
        geyser.push(update).await;
    }
    let indexer = spawn(cfg);

    // Then the resume replays `late` and every row is indexed once
    let last = chain.last_slot() as i64;
    assert_eq!(wait_for(pg.url(), CHECKPOINT, last, LIMIT).await, last);
    let db = connect(pg.url()).await;
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT count(*) FROM events WHERE slot = {late}")
        )
        .await,
        late_rows
    );
    assert_eq!(stored_rows(&db).await, chain.expected_rows());
    indexer.shutdown().await;
}

/// Retention end to end: with a few slots kept, the activity rows and the tallied rows
/// (storage proofs and faults, reward claims) of the retired slot ranges are gone on the
/// prune schedule, every other event row is there (the scenario's energy interval lies
/// within the kept slots: its retirement is tested in `retention.rs`), and the state rows
/// equal both a full rebuild from what is stored and the state of a second database that
/// indexed the same stream keeping everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_past_retention_are_retired_and_the_state_stays_whole() {
    let chain = scenario_chain().await;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    for update in chain.updates() {
        geyser.push(update).await;
    }
    let mut config = config(&geyser.endpoint(), pg.url(), None);
    let (keep, width) = (4u64, 4u64);
    config.retention.keep_event_slots = keep;
    config.retention.event_segment_slots = width;
    config.retention.prune_slots_interval_secs = 1;
    let indexer = spawn(config);
    let last = chain.last_slot();
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, last as i64, LIMIT).await,
        last as i64
    );
    assert_eq!(wait_for(pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    // every slot is finalized: the segments ending at or below last - keep go
    let horizon = last - keep;
    let past = format!("SELECT count(*) FROM event_segments WHERE end_slot <= {horizon}");
    if wait_for(pg.url(), &past, 0, LIMIT).await != 0 {
        // seen once in a while on two busy cores, never reproduced alone: say what held
        // the segments back
        let db = connect(pg.url()).await;
        let text = |sql: &'static str| {
            let db = &db;
            async move {
                db.query_one(sql, &[])
                    .await
                    .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
                    .unwrap_or_else(|e| e.to_string())
            }
        };
        let segments = text(
            "SELECT string_agg(segment || ' ' || first_slot || '-' || end_slot, ', ')
             FROM event_segments",
        )
        .await;
        let unsettled = text(
            "SELECT string_agg(slot || ' ' || status || ' parent ' || COALESCE(parent::text, '?'),
                               ', ' ORDER BY slot)
             FROM slots WHERE status <> 'finalized' OR slot = (SELECT max(slot) FROM slots)",
        )
        .await;
        let metrics = &indexer.hooks.metrics;
        panic!(
            "segments past the horizon {horizon} stay: {segments}; slots not finalized (and \
             the newest): {unsettled}; retired {} segments, {} slots unjudged",
            metrics
                .event_segments_retired
                .load(std::sync::atomic::Ordering::Relaxed),
            metrics
                .slots_unjudged
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    assert!(
        indexer
            .hooks
            .metrics
            .event_segments_retired
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    indexer.shutdown().await;

    // what stays: every row of the other kinds, the activity and tallied rows of unretired
    // segments
    let mut expected: BTreeMap<&str, i64> = TABLES.iter().map(|t| (t.name, 0)).collect();
    let (mut retired, mut tallied) = (0, 0);
    for (slot, table) in chain.event_rows() {
        let segment_end = slot - slot % width + width;
        if ACTIVITY_TABLES.contains(&table) && segment_end <= horizon {
            retired += 1;
        } else if TALLY_TABLES.contains(&table) && segment_end <= horizon {
            tallied += 1;
        } else {
            *expected.entry(table).or_default() += 1;
        }
    }
    assert!(retired > 0, "the scenario has activity events to retire");
    assert!(
        tallied > 0,
        "the scenario has proofs, faults or claims to tally"
    );
    let db = connect(pg.url()).await;
    for (table, rows) in expected {
        assert_eq!(
            scalar(&db, &format!("SELECT count(*) FROM {table}")).await,
            rows,
            "{table}"
        );
    }
    let (before, after) = state_and_recompute(&db).await;
    assert_eq!(after, before);

    // the same stream into a database keeping everything gives the same state
    let all_pg = TempPostgres::start().await.expect("postgres");
    let all = spawn(common::config(&geyser.endpoint(), all_pg.url(), None));
    assert_eq!(
        wait_for(all_pg.url(), CHECKPOINT, last as i64, LIMIT).await,
        last as i64
    );
    assert_eq!(wait_for(all_pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    all.shutdown().await;
    let kept_all = state_digest(&connect(all_pg.url()).await).await;
    assert_eq!(
        before, kept_all,
        "the state of a database keeping every event"
    );
}

/// The benchmark's feed keeps no history: what it pushed is not replayed (a resume from an
/// older slot is refused the way an endpoint past its window refuses it, not answered with
/// an empty replay), while live subscribers and `GetSlot` go on as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_without_replay_refuses_a_resume_and_serves_live_subscribers() {
    use depin_indexer::source::{
        convert, convert_update, is_replay_unavailable, subscribe, GrpcSettings, Update,
    };
    use futures::StreamExt;
    use prost::Message;

    let chain = scenario_chain().await;
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let settings = GrpcSettings {
        endpoint: geyser.endpoint(),
        x_token: None,
        commitment: depin_indexer::sink::Commitment::Confirmed,
        connect_timeout: LIMIT,
        programs: depin_indexer::source::suite_programs().to_vec(),
    };
    let updates = chain.updates();
    let (first, rest) = updates.split_at(updates.len() / 2);
    for update in first {
        geyser.push(update.clone()).await;
    }
    geyser.without_replay();
    let newest = first
        .iter()
        .map(depin_localnet::geyser::update_slot)
        .max()
        .expect("updates");
    assert!(newest > FIRST_SLOT);

    // a resume from the newest slot pushed (inside any replay window) is refused, as the
    // stream's first item
    let mut resumed = subscribe(&settings, Some(newest))
        .await
        .expect("subscribed");
    let refusal = tokio::time::timeout(LIMIT, resumed.updates.next())
        .await
        .expect("an answer")
        .expect("an item")
        .expect_err("refused");
    assert!(is_replay_unavailable(&refusal), "{refusal:?}");

    // a live subscriber gets what is pushed from now on, each update once
    let mut live = subscribe(&settings, None).await.expect("subscribed");
    let deadline = std::time::Instant::now() + LIMIT;
    while geyser.subscriptions() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        geyser.subscriptions(),
        2,
        "the live subscription is in place before anything is pushed"
    );
    for update in rest {
        geyser.push(update.clone()).await;
    }
    // everything up to the last update pushed arrives: transactions pushed after the
    // subscription only, in push order, each once
    let pushed: Vec<String> = rest
        .iter()
        .filter_map(|u| match convert_update(u).expect("decodes") {
            Update::Transaction(t) => Some(t.signature),
            _ => None,
        })
        .collect();
    // the last update pushed, as the stream reads it
    let last = depin_indexer::wire::SubscribeUpdate::decode(
        rest.last().expect("updates").encode_to_vec().as_slice(),
    )
    .expect("decodes");
    let mut received = Vec::new();
    loop {
        let update = tokio::time::timeout(LIMIT, live.updates.next())
            .await
            .expect("updates keep coming")
            .expect("stream open")
            .expect("an update");
        let is_last = update == last;
        if let Update::Transaction(t) = convert(update) {
            received.push(t.signature);
        }
        if is_last {
            break;
        }
    }
    assert!(!received.is_empty(), "the second half holds transactions");
    let mut unread = pushed.iter();
    for signature in &received {
        assert!(
            unread.any(|p| p == signature),
            "{signature} was pushed after the subscription, once, in this order"
        );
    }
    let mut client =
        yellowstone_grpc_client::GeyserGrpcClient::build_from_shared(geyser.endpoint())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
    let slot = client.get_slot(None).await.expect("GetSlot").slot;
    assert_eq!(
        slot,
        chain.last_slot(),
        "GetSlot answers the newest slot pushed"
    );
}

/// The stream decodes updates as `depin_indexer::wire` messages, which read a subset of
/// each full message's fields and skip the rest on the wire. Every update of the scenario,
/// with the fields a real endpoint adds and the bench's feed leaves out (balances, token
/// balances, rewards, return data, loaded addresses, compute units), encoded with the full
/// generated types, reads back the same values; a failed transaction, a vote and the kinds
/// the indexer does not act on read as nothing to keep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_decoding_reads_what_the_full_messages_hold() {
    use depin_indexer::source::{convert_update, Update};
    use depin_indexer::wire;
    use prost::Message;
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::geyser::{
        SubscribeUpdate, SubscribeUpdateAccount, SubscribeUpdatePing, SubscribeUpdatePong,
    };
    use yellowstone_grpc_proto::solana::storage::confirmed_block as pb;

    let chain = scenario_chain().await;
    let mut updates = chain.updates();
    // what a real endpoint adds to a transaction update
    for (n, update) in updates.iter_mut().enumerate() {
        if let Some(UpdateOneof::Transaction(tx)) = &mut update.update_oneof {
            let info = tx.transaction.as_mut().expect("info");
            let meta = info.meta.as_mut().expect("meta");
            meta.pre_balances = vec![1_000_000, 2, 3];
            meta.post_balances = vec![995_000, 2, 3];
            meta.pre_token_balances = vec![pb::TokenBalance {
                account_index: 1,
                mint: "mint".into(),
                owner: "owner".into(),
                ..Default::default()
            }];
            meta.rewards = vec![pb::Reward {
                pubkey: "validator".into(),
                lamports: 5,
                ..Default::default()
            }];
            meta.return_data = Some(pb::ReturnData {
                program_id: vec![7; 32],
                data: vec![1, 2, 3],
            });
            meta.compute_units_consumed = Some(12_345);
            meta.cost_units = Some(1_400);
            if n % 3 == 0 {
                meta.loaded_writable_addresses = vec![vec![n as u8; 32]];
                meta.loaded_readonly_addresses = vec![vec![9; 32], vec![10; 32]];
            }
        }
    }
    let mut transactions = 0;
    for update in &updates {
        let read =
            wire::SubscribeUpdate::decode(update.encode_to_vec().as_slice()).expect("decodes");
        match (&update.update_oneof, read.update) {
            (Some(UpdateOneof::Transaction(full)), Some(wire::UpdateKind::Transaction(slim))) => {
                transactions += 1;
                assert_eq!(slim.slot, full.slot);
                let (full, slim) = (
                    full.transaction.as_ref().expect("info"),
                    slim.transaction.expect("info"),
                );
                assert_eq!(
                    (&slim.signature[..], slim.is_vote, slim.index),
                    (&full.signature[..], full.is_vote, full.index)
                );
                let (full_message, slim_message) = (
                    full.transaction.as_ref().and_then(|t| t.message.as_ref()),
                    slim.transaction.and_then(|t| t.message).expect("message"),
                );
                let keys: Vec<&[u8]> = slim_message.account_keys.iter().map(|k| &k[..]).collect();
                let full_keys: Vec<&[u8]> = full_message
                    .expect("message")
                    .account_keys
                    .iter()
                    .map(|k| &k[..])
                    .collect();
                assert_eq!(keys, full_keys);
                let (full_meta, meta) =
                    (full.meta.as_ref().expect("meta"), slim.meta.expect("meta"));
                assert!(meta.err.is_none());
                let logs: Vec<&[u8]> = meta.log_messages.iter().map(|l| &l[..]).collect();
                let full_logs: Vec<&[u8]> = full_meta
                    .log_messages
                    .iter()
                    .map(|l| l.as_bytes())
                    .collect();
                assert_eq!(logs, full_logs);
                assert_eq!(
                    meta.inner_instructions.len(),
                    full_meta.inner_instructions.len()
                );
                for (slim, full) in meta
                    .inner_instructions
                    .iter()
                    .zip(&full_meta.inner_instructions)
                {
                    assert_eq!(
                        (slim.index, slim.instructions.len()),
                        (full.index, full.instructions.len())
                    );
                    for (s, f) in slim.instructions.iter().zip(&full.instructions) {
                        assert_eq!(
                            (s.program_id_index, &s.data[..]),
                            (f.program_id_index, &f.data[..])
                        );
                    }
                }
                let loaded = |l: &[bytes::Bytes]| l.iter().map(|k| k.to_vec()).collect::<Vec<_>>();
                assert_eq!(
                    (
                        loaded(&meta.loaded_writable_addresses),
                        loaded(&meta.loaded_readonly_addresses)
                    ),
                    (
                        full_meta.loaded_writable_addresses.clone(),
                        full_meta.loaded_readonly_addresses.clone()
                    )
                );
            }
            (Some(UpdateOneof::Slot(full)), Some(wire::UpdateKind::Slot(slim))) => {
                assert_eq!(
                    (slim.slot, slim.parent, slim.status),
                    (full.slot, full.parent, full.status)
                );
            }
            (full, slim) => panic!("{full:?} read as {slim:?}"),
        }
        // and the indexer's view of it is the runtime's: the same events
        if let Update::Transaction(t) = convert_update(update).expect("decodes") {
            let recorded = chain
                .txs
                .iter()
                .find(|c| c.slot == t.slot && c.index == t.tx_index)
                .expect("a transaction of the chain");
            assert_eq!(t.decoded, recorded.indexed().decoded);
        }
    }
    assert_eq!(transactions, chain.txs.len());

    // a log line that is not UTF-8 is a line like any other: the events beside it are
    // decoded, the stream goes on (the generated types refused the whole message)
    let (update, expected) = updates
        .iter()
        .find_map(|u| match convert_update(u).expect("decodes") {
            Update::Transaction(t) if !t.decoded.events.is_empty() => Some((u, t.decoded)),
            _ => None,
        })
        .expect("a transaction with events");
    let mut read =
        wire::SubscribeUpdate::decode(update.encode_to_vec().as_slice()).expect("decodes");
    if let Some(wire::UpdateKind::Transaction(tx)) = &mut read.update {
        let meta = tx
            .transaction
            .as_mut()
            .and_then(|i| i.meta.as_mut())
            .expect("meta");
        meta.log_messages.insert(
            0,
            bytes::Bytes::from_static(b"Program log: \xff\xfe not UTF-8"),
        );
    }
    let full = SubscribeUpdate::decode(read.encode_to_vec().as_slice());
    assert!(
        full.is_err(),
        "the generated types refuse a non-UTF-8 string"
    );
    match depin_indexer::source::convert(read) {
        Update::Transaction(t) => assert_eq!(t.decoded, expected),
        other => panic!("{other:?}"),
    }

    // a failed transaction and a vote are not kept; pings are told apart; other kinds skip
    let mut failed = updates
        .iter()
        .find(|u| matches!(u.update_oneof, Some(UpdateOneof::Transaction(_))))
        .expect("a transaction")
        .clone();
    let mut vote = failed.clone();
    if let Some(UpdateOneof::Transaction(tx)) = &mut failed.update_oneof {
        let meta = tx
            .transaction
            .as_mut()
            .and_then(|i| i.meta.as_mut())
            .expect("meta");
        meta.err = Some(pb::TransactionError { err: vec![1, 2] });
    }
    if let Some(UpdateOneof::Transaction(tx)) = &mut vote.update_oneof {
        tx.transaction.as_mut().expect("info").is_vote = true;
    }
    let of = |kind| SubscribeUpdate {
        update_oneof: Some(kind),
        ..Default::default()
    };
    for (update, expected) in [
        (failed, "skip"),
        (vote, "skip"),
        (of(UpdateOneof::Ping(SubscribeUpdatePing {})), "ping"),
        (of(UpdateOneof::Pong(SubscribeUpdatePong { id: 3 })), "skip"),
        (
            of(UpdateOneof::Account(SubscribeUpdateAccount::default())),
            "skip",
        ),
        (SubscribeUpdate::default(), "skip"),
    ] {
        let read = match convert_update(&update).expect("decodes") {
            Update::Ping => "ping",
            Update::Skip => "skip",
            other => panic!("{other:?}"),
        };
        assert_eq!(read, expected, "{update:?}");
    }
}
