//! The state refresher: the current-state rows leave the write path, are refreshed on a
//! second connection from the queue the batches commit, resume from that queue after a
//! restart, and always equal a full recompute from the committed events.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{confirmed, connect, scalar, scenario_chain, state_and_recompute, STATE_QUEUED};
use depin_indexer::metrics::Metrics;
use depin_indexer::sink::{Batch, Commitment, Sink, SlotStatus, SlotUpdate};
use depin_indexer::state::Refresher;
use depin_indexer::testkit::chain::ChainTransaction;
use depin_indexer::testkit::postgres::TempPostgres;
use tokio::sync::Notify;

/// The transactions of `slots` as one batch, the slots confirmed and checkpointed.
fn batch_of(txs: &[ChainTransaction], slots: &[u64]) -> Batch {
    Batch {
        transactions: txs
            .iter()
            .filter(|t| slots.contains(&t.slot))
            .map(ChainTransaction::indexed)
            .collect(),
        slots: slots.iter().map(|&slot| confirmed(slot)).collect(),
        checkpoint: slots.last().copied(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresher_resumes_from_its_queue_and_the_state_equals_a_full_recompute() {
    let chain = scenario_chain().await;
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let db = connect(pg.url()).await;
    let slots: Vec<u64> = chain
        .txs
        .iter()
        .map(|t| t.slot)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (first, rest) = slots.split_at(slots.len() / 2);

    // Given half the chain committed while no refresher runs (it crashed, or has not
    // started): the batches commit their rows and queue their state keys
    sink.refresh_state_with(Arc::new(Notify::new()));
    for chunk in first.chunks(3) {
        sink.write(&batch_of(&chain.txs, chunk))
            .await
            .expect("written");
    }
    assert!(scalar(&db, STATE_QUEUED).await > 0, "keys queued");
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM devices").await,
        0,
        "no state written on the write path"
    );
    assert_eq!(scalar(&db, "SELECT applied FROM state_watermark").await, 0);

    // When a refresher starts, and the rest of the chain is written while it runs (the
    // writer waking it after each commit), with a slot dying on the way
    let metrics = Arc::new(Metrics::default());
    let refresher = Refresher::spawn(pg.url(), Arc::clone(&metrics))
        .await
        .expect("refresher");
    sink.refresh_state_with(refresher.waker());
    for chunk in rest.chunks(3) {
        sink.write(&batch_of(&chain.txs, chunk))
            .await
            .expect("written");
    }
    let dead = rest[rest.len() / 2];
    assert!(
        scalar(
            &db,
            &format!("SELECT count(*) FROM events WHERE slot = {dead}")
        )
        .await
            > 0
    );
    let stats = sink
        .write(&Batch {
            slots: vec![SlotUpdate {
                slot: dead,
                parent: None,
                status: SlotStatus::Dead,
            }],
            ..Batch::default()
        })
        .await
        .expect("dead slot");
    assert_eq!(stats.dead_slots, 1);
    refresher
        .close()
        .await
        .expect("the refresher applied the queue");

    // Then it resumed with what was queued before it started, nothing is left queued, its
    // watermark is the newest queue row, and the state is exactly a full recompute
    assert_eq!(scalar(&db, STATE_QUEUED).await, 0);
    assert_eq!(
        scalar(&db, "SELECT applied FROM state_watermark").await,
        scalar(&db, "SELECT last_value FROM state_queue_id_seq").await
    );
    assert!(
        metrics
            .state_queue_applied
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert!(scalar(&db, "SELECT count(*) FROM devices").await > 0);
    assert!(scalar(&db, "SELECT count(*) FROM reward_epochs WHERE claims > 0").await > 0);
    let (current, recomputed) = state_and_recompute(&db).await;
    assert_eq!(current, recomputed);
    sink.close().await;
}

/// A refresh looks its keys up through an index: under a sequential scan, `key =
/// ANY(keys)` compares every row with every key (`migrations/V13__refresh_without_scans.sql`),
/// so every refresh function runs with sequential scans off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refresh_function_runs_without_sequential_scans() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("schema");
    let db = connect(pg.url()).await;
    let functions: Vec<(String, Vec<String>)> = db
        .query(
            "SELECT proname::text, COALESCE(proconfig, '{}') FROM pg_proc
             WHERE proname LIKE 'depin\\_refresh\\_%' ORDER BY 1",
            &[],
        )
        .await
        .expect("functions")
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        functions.len(),
        9,
        "the nine kinds of state each have a refresh: {functions:?}"
    );
    for (name, config) in &functions {
        assert!(
            config.iter().any(|c| c == "enable_seqscan=off"),
            "{name} runs with {config:?}"
        );
    }
    sink.close().await;
}
