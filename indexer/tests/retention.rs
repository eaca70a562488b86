//! Retention of the activity events against a real PostgreSQL server: their rows go into
//! slot-range segments that are dropped or detached once past the kept slots, the events
//! the state is derived from and the state rows stay, and a transaction is still written
//! once when its copies would land in different segments, and a segment still being read is
//! retired later instead of stalling the writer. The energy markets' intervals retire whole,
//! with their state rows, once every row of theirs is past the kept slots. Storage proofs
//! and faults and reward claims retire into tallies the state reads in their place.

mod common;

use anchor_lang::prelude::Pubkey;
use common::{connect, dead, finalized, proposed, scalar, state_and_recompute, transaction};
use depin_indexer::events::{energy, rewards, storage, Event};
use depin_indexer::rows::{ACTIVITY_TABLES, INTERVAL_TABLES, TALLY_TABLES};
use depin_indexer::sink::{
    Batch, Commitment, EventRetention, IndexedTransaction, Sink, RECENT_SLOTS,
};
use depin_indexer::testkit::postgres::TempPostgres;

fn challenge(deal: Pubkey, period: u64) -> Event {
    Event::Storage(storage::Event::ChallengeOpened(storage::ChallengeOpened {
        deal,
        period,
        slot: period,
    }))
}

/// A sink on `url` keeping the activity events as `retention` says.
async fn retaining_sink(url: &str, retention: EventRetention) -> Sink {
    let mut sink = Sink::connect(url, Commitment::Confirmed, "main")
        .await
        .expect("sink");
    sink.retain_events(retention).await.expect("retention");
    sink
}

/// Retention keeping 100 slots in segments of 50, retired segments detached or dropped.
fn keep_100_in_segments_of_50(detach: bool) -> EventRetention {
    EventRetention {
        keep_slots: 100,
        segment_slots: 50,
        detach,
    }
}

/// A database retaining 100 slots in segments of 50 (retired segments detached with
/// `detach`) and one keeping everything, both empty: the retaining database and its sink,
/// then the other.
async fn retaining_and_keeping_all_empty(detach: bool) -> (TempPostgres, Sink, TempPostgres, Sink) {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = retaining_sink(pg.url(), keep_100_in_segments_of_50(detach)).await;
    let all_pg = TempPostgres::start().await.expect("postgres");
    let all = Sink::connect(all_pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    (pg, sink, all_pg, all)
}

/// `transactions` written to a database retaining 100 slots in segments of 50 (retired
/// segments detached with `detach`) and to one keeping everything, then slot 200 finalized
/// in both (the horizon is 100): the retaining database and its sink, then the other.
async fn retaining_and_keeping_all(
    detach: bool,
    transactions: Vec<IndexedTransaction>,
) -> (TempPostgres, Sink, TempPostgres, Sink) {
    let (pg, mut sink, all_pg, mut all) = retaining_and_keeping_all_empty(detach).await;
    for s in [&mut sink, &mut all] {
        write_finalized(s, transactions.clone()).await;
        write_finalized(s, vec![transaction("later", 200, Vec::new())]).await;
    }
    (pg, sink, all_pg, all)
}

/// Writes `transactions` with every one of their slots finalized.
async fn write_finalized(sink: &mut Sink, transactions: Vec<IndexedTransaction>) {
    let mut slots: Vec<u64> = transactions.iter().map(|t| t.slot).collect();
    slots.sort_unstable();
    slots.dedup();
    sink.write(&Batch {
        checkpoint: slots.last().copied(),
        slots: slots.iter().map(|&s| finalized(s)).collect(),
        transactions,
    })
    .await
    .expect("write");
}

/// Writes `transactions` with no slot status: their slots stay at the sink's commitment,
/// neither finalized nor judged.
async fn write_unsettled(sink: &mut Sink, transactions: Vec<IndexedTransaction>) {
    sink.write(&Batch {
        transactions,
        ..Batch::default()
    })
    .await
    .expect("write");
}

/// The attached segments, by their last slot, then name.
async fn segments(sink: &Sink) -> Vec<String> {
    sink.client()
        .query(
            "SELECT segment FROM event_segments ORDER BY end_slot, segment",
            &[],
        )
        .await
        .expect("segments")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Keep 100 slots in segments of 50: challenges at slots 10, 60 and 130 land in three
/// segments, nothing is retired while slot 130 is the newest finalized, then slot 200 is
/// finalized (the two segments ending at or below 100 are then past retention).
async fn three_segments_then_finalize_200(detach: bool) -> (TempPostgres, Sink, Pubkey) {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = retaining_sink(pg.url(), keep_100_in_segments_of_50(detach)).await;
    let deal = Pubkey::new_from_array([4; 32]);
    write_finalized(
        &mut sink,
        vec![
            transaction("p", 10, vec![proposed(deal, 0, 100), challenge(deal, 0)]),
            transaction("c1", 60, vec![challenge(deal, 1)]),
            transaction("c2", 130, vec![challenge(deal, 2)]),
        ],
    )
    .await;
    assert_eq!(
        segments(&sink).await,
        [
            "storage_challenge_opened__0_50",
            "storage_challenge_opened__50_100",
            "storage_challenge_opened__100_150"
        ]
    );
    let client = sink.client();
    assert_eq!(
        scalar(client, "SELECT count(*) FROM storage_challenge_opened").await,
        3,
        "the event table reads its segments"
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM ONLY storage_challenge_opened").await,
        0,
        "the rows are in the segments"
    );
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM event_segments WHERE kind <> 'storage_challenge_opened'"
        )
        .await,
        0,
        "no segment for the events the state is derived from"
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM ONLY storage_deal_proposed").await,
        1
    );
    // slot 130 is the newest finalized: the horizon 30 is below every segment's end
    assert_eq!(sink.retire_events().await.expect("retire"), 0);
    assert_eq!(segments(&sink).await.len(), 3);
    write_finalized(&mut sink, vec![transaction("later", 200, Vec::new())]).await;
    (pg, sink, deal)
}

/// [`three_segments_then_finalize_200`], then the retirement of the two old segments.
async fn two_segments_retired(detach: bool) -> (TempPostgres, Sink, Pubkey) {
    let (pg, mut sink, deal) = three_segments_then_finalize_200(detach).await;
    assert_eq!(sink.segments_past_retention().await.expect("past"), 2);
    assert_eq!(sink.retire_events().await.expect("retire"), 2);
    assert_eq!(sink.segments_past_retention().await.expect("past"), 0);
    assert_eq!(segments(&sink).await, ["storage_challenge_opened__100_150"]);
    (pg, sink, deal)
}

#[tokio::test]
async fn activity_segments_past_retention_are_dropped_and_the_state_stays() {
    let (_pg, mut sink, deal) = two_segments_retired(false).await;
    let client = sink.client();
    assert_eq!(
        scalar(client, "SELECT count(*) FROM storage_challenge_opened").await,
        1
    );
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'storage_challenge_opened__%'"
        )
        .await,
        1,
        "the retired segments are dropped"
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM detached_event_segments").await,
        0
    );
    // the proposal (an event the state is derived from) and its state row stay
    assert_eq!(
        scalar(client, "SELECT count(*) FROM storage_deal_proposed").await,
        1
    );
    let status: String = client
        .query_one(
            "SELECT status FROM deals WHERE deal = $1",
            &[&deal.to_string()],
        )
        .await
        .expect("the deal's state row")
        .get(0);
    assert_eq!(status, "proposed");
    // a later challenge opens a new segment; the state of its deal is still recomputed
    write_finalized(
        &mut sink,
        vec![transaction("c3", 260, vec![challenge(deal, 3)])],
    )
    .await;
    assert_eq!(
        segments(&sink).await,
        [
            "storage_challenge_opened__100_150",
            "storage_challenge_opened__250_300"
        ]
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM deals WHERE status = 'proposed'"
        )
        .await,
        1
    );
    sink.close().await;
}

#[tokio::test]
async fn detached_segments_keep_their_rows_outside_the_event_tables() {
    let (_pg, mut sink, deal) = two_segments_retired(true).await;
    let client = sink.client();
    assert_eq!(
        scalar(client, "SELECT count(*) FROM storage_challenge_opened").await,
        1,
        "detached rows no longer read through the event table"
    );
    let detached: Vec<(String, i64, i64)> = client
        .query(
            "SELECT segment, first_slot, end_slot FROM detached_event_segments ORDER BY id",
            &[],
        )
        .await
        .expect("detached")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        detached,
        [
            ("storage_challenge_opened__0_50_d1".to_owned(), 0, 50),
            ("storage_challenge_opened__50_100_d2".to_owned(), 50, 100)
        ]
    );
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM depin_detached.storage_challenge_opened__0_50_d1 WHERE period = 0"
        )
        .await,
        1,
        "the detached segment keeps its rows"
    );
    // a late transaction for a detached range (a backfill) opens the range again, and its
    // segment is detached under its own name at the next retirement
    write_unsettled(
        &mut sink,
        vec![transaction("late", 20, vec![challenge(deal, 9)])],
    )
    .await;
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM storage_challenge_opened"
        )
        .await,
        2
    );
    assert_eq!(sink.retire_events().await.expect("retire"), 1);
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM depin_detached.storage_challenge_opened__0_50_d3"
        )
        .await,
        1
    );
    sink.close().await;
}

/// `retire_events` while another transaction holds a segment it would drop: it must give up
/// at its lock timeout (1 s) with nothing retired, not wait for that transaction, which
/// ends only after it; 30 s bounds the wait should that guard ever go.
async fn gives_up(sink: &mut Sink) -> u64 {
    tokio::time::timeout(std::time::Duration::from_secs(30), sink.retire_events())
        .await
        .expect("gave up at its lock timeout, not waiting for the holder")
        .expect("gave up, no error")
}

/// A report still reading an old segment does not stall the writer: the retirement gives
/// up after its lock timeout and succeeds at a later prune.
#[tokio::test]
async fn a_segment_in_use_is_retired_at_a_later_prune() {
    let (pg, mut sink, _) = three_segments_then_finalize_200(false).await;
    let mut reader = connect(pg.url()).await;
    let report = reader.transaction().await.expect("begin");
    let read: i64 = report
        .query_one("SELECT count(*) FROM storage_challenge_opened", &[])
        .await
        .expect("report")
        .get(0);
    assert_eq!(read, 3);
    // bounded by its lock timeout: without one it would wait for the report, which ends
    // only after it, for ever
    assert_eq!(gives_up(&mut sink).await, 0);
    assert_eq!(segments(&sink).await.len(), 3, "nothing half retired");
    report.commit().await.expect("report done");
    assert_eq!(sink.retire_events().await.expect("retire"), 2);
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM storage_challenge_opened"
        )
        .await,
        1
    );
    sink.close().await;
}

/// A transaction stored in one segment and delivered again in a slot of another (a fork),
/// remembered or, after a restart beyond the remembered slots, looked up, is not written
/// twice: the segments cannot see each other, the sink's judgement of the transaction
/// covers them all.
#[tokio::test]
async fn a_transaction_is_written_once_across_segments() {
    let pg = TempPostgres::start().await.expect("postgres");
    let retention = EventRetention {
        keep_slots: 1_000,
        segment_slots: 50,
        detach: false,
    };
    let mut sink = retaining_sink(pg.url(), retention).await;
    let deal = Pubkey::new_from_array([6; 32]);
    let first = transaction("twice", 40, vec![challenge(deal, 0)]);
    write_finalized(&mut sink, vec![first.clone()]).await;
    sink.close().await;
    // a new sink remembers `twice` (its slot is recent): restart and deliver it in slot 60,
    // in the same batch as itself in slot 70, then far beyond the remembered slots
    let mut sink = retaining_sink(pg.url(), retention).await;
    let moved = |slot| IndexedTransaction {
        slot,
        ..first.clone()
    };
    let stats = sink
        .write(&Batch {
            transactions: vec![moved(60), moved(70)],
            ..Batch::default()
        })
        .await
        .expect("remembered");
    assert_eq!((stats.transactions, stats.event_rows), (0, 0));
    // forget it: the newest slot far ahead, a new sink loads only the recent slots; then a
    // backfill of the old slots delivers it again in its own slot and in a fork's, each in
    // another segment than the other
    write_finalized(&mut sink, vec![transaction("far", 5_000, Vec::new())]).await;
    sink.close().await;
    let mut sink = retaining_sink(pg.url(), retention).await;
    let stats = sink
        .write(&Batch {
            transactions: vec![
                moved(90),
                first.clone(),
                transaction("new", 90, vec![challenge(deal, 1)]),
            ],
            ..Batch::default()
        })
        .await
        .expect("looked up");
    assert_eq!(stats.looked_up, 3, "every transaction of the old slots");
    assert_eq!(
        (stats.transactions, stats.event_rows),
        (1, 1),
        "only `new` is written"
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM storage_challenge_opened WHERE signature = 'twice'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM storage_challenge_opened"
        )
        .await,
        2
    );
    sink.close().await;
}

/// Retention may only drop what no state row is recomputed from: no state function reads
/// an activity table.
#[tokio::test]
async fn no_state_function_reads_an_activity_table() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let functions = sink
        .client()
        .query(
            "SELECT proname::text, prosrc FROM pg_proc
             WHERE proname LIKE 'depin_refresh_%' OR proname = 'depin_rebuild_state'",
            &[],
        )
        .await
        .expect("functions");
    assert!(functions.len() >= 9, "{} state functions", functions.len());
    for row in functions {
        let (name, source): (String, String) = (row.get(0), row.get(1));
        for table in ACTIVITY_TABLES {
            assert!(!source.contains(table), "{name} reads {table}");
        }
    }
    sink.close().await;
}

/// The sink segments the tables it names (`INTERVAL_TABLES`, `TALLY_TABLES`) and the
/// retirement treats the tables the database names (`depin_interval_kinds()`,
/// `depin_tally_kinds()`) by interval or into tallies: one list each, or a segment would
/// retire by slot range alone or without its tally. A kind that is not tallied is refused.
#[tokio::test]
async fn the_sink_and_the_retirement_name_the_same_segmented_tables() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    for (function, tables) in [
        ("depin_interval_kinds", INTERVAL_TABLES.as_slice()),
        ("depin_tally_kinds", TALLY_TABLES.as_slice()),
    ] {
        let kinds: Vec<String> = sink
            .client()
            .query_one(&format!("SELECT {function}()"), &[])
            .await
            .expect("kinds")
            .get(0);
        assert_eq!(kinds, tables, "{function}");
    }
    let refused = sink
        .client()
        .execute(
            "SELECT depin_tally_segment('storage_challenge_opened', 'storage_challenge_opened')",
            &[],
        )
        .await
        .expect_err("an untallied kind");
    let message = refused.as_db_error().map(|e| e.message().to_owned());
    assert_eq!(
        message.as_deref(),
        Some("event kind storage_challenge_opened is not retired into tallies")
    );
    sink.close().await;
}

#[tokio::test]
async fn retention_needs_slots_to_keep_and_a_segment_width() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    for (keep_slots, segment_slots) in [(0, 50), (100, 0)] {
        let refused = sink
            .retain_events(EventRetention {
                keep_slots,
                segment_slots,
                detach: false,
            })
            .await;
        assert!(
            matches!(refused, Err(depin_indexer::sink::SinkError::Setting(_))),
            "{refused:?}"
        );
    }
    // without retention nothing is retired and activity rows stay in their table
    assert_eq!(sink.retire_events().await.expect("nothing to do"), 0);
    write_finalized(
        &mut sink,
        vec![transaction(
            "c",
            10,
            vec![challenge(Pubkey::new_from_array([1; 32]), 0)],
        )],
    )
    .await;
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM ONLY storage_challenge_opened"
        )
        .await,
        1
    );
    sink.close().await;
}

/// An order placed in `interval` of `market` (the first ask slot of its book).
fn placed(market: Pubkey, interval: u64) -> Event {
    Event::Energy(energy::Event::OrderPlaced(energy::OrderPlaced {
        market,
        interval,
        side: energy_settlement::events::Side::Ask,
        slot: 0,
        device: Pubkey::new_from_array([21; 32]),
        owner: Pubkey::new_from_array([22; 32]),
        price: 100,
        wh: 500,
        escrow: 0,
    }))
}

/// `interval` of `market` cleared, its one ask matched in full.
fn cleared(market: Pubkey, interval: u64) -> Event {
    Event::Energy(energy::Event::IntervalCleared(energy::IntervalCleared {
        market,
        interval,
        clearing_price: 100,
        volume_wh: 500,
        ask_matched_wh: vec![500],
        bid_matched_wh: Vec::new(),
    }))
}

/// `interval` of `market` closed.
fn closed(market: Pubkey, interval: u64) -> Event {
    Event::Energy(energy::Event::IntervalClosed(energy::IntervalClosed {
        market,
        interval,
        rent_payer: Pubkey::new_from_array([23; 32]),
    }))
}

/// `interval` of `market` settled, its one order paid.
fn settled(market: Pubkey, interval: u64) -> Event {
    Event::Energy(energy::Event::IntervalSettled(energy::IntervalSettled {
        market,
        interval,
        delivered_wh: 500,
        rounding: 0,
    }))
}

/// The `energy_intervals` and `energy_orders` rows of `interval`, as text (`|` when none).
async fn interval_state(client: &tokio_postgres::Client, interval: u64) -> String {
    client
        .query_one(
            &format!(
                "SELECT COALESCE((SELECT string_agg(x::text, ';') FROM energy_intervals x
                                  WHERE interval_index = {interval}), '')
                        || '|' ||
                        COALESCE((SELECT string_agg(x::text, ';' ORDER BY x::text)
                                  FROM energy_orders x WHERE interval_index = {interval}), '')"
            ),
            &[],
        )
        .await
        .expect("interval state")
        .get(0)
}

/// Energy intervals in segments of 50 slots, 100 kept, each interval an order placed,
/// cleared and closed: interval 1 at slots 10, 20, 30 (the segments of slots 0-49),
/// interval 2 at 60, 70 (50-99) and 130 (100-149), and with `cascade` interval 3 at 40
/// (0-49) and 90 (50-99, cleared and settled at once), through [`retaining_and_keeping_all`] (detaching retired segments
/// with `detach`, else dropping).
async fn energy_intervals(cascade: bool, detach: bool) -> (TempPostgres, Sink, TempPostgres, Sink) {
    let market = Pubkey::new_from_array([20; 32]);
    let mut transactions = vec![
        transaction("o1", 10, vec![placed(market, 1)]),
        transaction("c1", 20, vec![cleared(market, 1)]),
        transaction("z1", 30, vec![closed(market, 1)]),
        transaction("o2", 60, vec![placed(market, 2)]),
        transaction("c2", 70, vec![cleared(market, 2)]),
        transaction("z2", 130, vec![closed(market, 2)]),
    ];
    if cascade {
        transactions.push(transaction("o3", 40, vec![placed(market, 3)]));
        transactions.push(transaction(
            "c3",
            90,
            vec![cleared(market, 3), settled(market, 3)],
        ));
    }
    transactions.sort_by_key(|t| t.slot);
    retaining_and_keeping_all(detach, transactions).await
}

/// The energy lifecycle events retire by interval: every segment past the kept slots goes,
/// an interval wholly in them with its state rows; an interval still reaching past the
/// kept slots keeps every row (they move on to their kinds' segments of the first kept
/// slots) until it is wholly past. The state left is the state of the kept intervals,
/// exactly, and what a rebuild gives.
#[tokio::test]
async fn energy_intervals_retire_whole_with_their_state_rows() {
    let (_pg, mut sink, _all_pg, all) = energy_intervals(false, false).await;
    assert_eq!(
        segments(&sink).await.len(),
        6,
        "placed, cleared and closed in 0-49; placed and cleared in 50-99; closed in 100-149"
    );
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM energy_intervals").await,
        2
    );
    // interval 1 lies wholly below the horizon, interval 2 reaches slot 130
    assert_eq!(sink.segments_past_retention().await.expect("past"), 5);
    assert_eq!(sink.retire_events().await.expect("retire"), 5);
    assert_eq!(sink.segments_past_retention().await.expect("past"), 0);
    assert_eq!(
        segments(&sink).await,
        [
            "energy_interval_cleared__100_150",
            "energy_interval_closed__100_150",
            "energy_order_placed__100_150"
        ],
        "interval 2's rows of 50-99 moved on to the segments of 100-149"
    );
    let client = sink.client();
    assert_eq!(
        interval_state(client, 1).await,
        "|",
        "interval 1's state left with it"
    );
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM energy_order_placed WHERE interval_index = 1"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM energy_order_placed WHERE interval_index = 2 AND slot = 60"
        )
        .await,
        1,
        "interval 2's order, moved, not lost"
    );
    let kept = interval_state(client, 2).await;
    assert_ne!(kept, "|");
    assert_eq!(
        kept,
        interval_state(all.client(), 2).await,
        "interval 2 whole"
    );
    assert_ne!(interval_state(all.client(), 1).await, "|");
    let (current, recomputed) = state_and_recompute(client).await;
    assert_eq!(
        current, recomputed,
        "the state is the fold of the kept events"
    );

    // once slot 300 is finalized, interval 2 is wholly past too
    write_finalized(&mut sink, vec![transaction("later2", 300, Vec::new())]).await;
    assert_eq!(sink.retire_events().await.expect("retire"), 3);
    assert!(segments(&sink).await.is_empty());
    assert_eq!(sink.segments_past_retention().await.expect("past"), 0);
    let client = sink.client();
    assert_eq!(interval_state(client, 2).await, "|");
    assert_eq!(
        scalar(client, "SELECT count(*) FROM energy_orders").await,
        0
    );
    let (current, recomputed) = state_and_recompute(client).await;
    assert_eq!(current, recomputed);
    sink.close().await;
    all.close().await;
}

/// An interval that stays holds back nothing: interval 3 (slots 40 and 90) shares the
/// segments of 0-49 with interval 1 and those of 50-99 with interval 2, which reaches
/// slot 130. Intervals 1 and 3 retire with all six segments past the kept slots, and
/// interval 2 stays whole. (Before V19 interval 2 held back the segments of 50-99, so
/// interval 3 those of 0-49, so interval 1: nothing retired.)
#[tokio::test]
async fn an_interval_that_stays_holds_back_no_segment() {
    let (_pg, mut sink, _all_pg, all) = energy_intervals(true, false).await;
    assert_eq!(sink.segments_past_retention().await.expect("past"), 6);
    assert_eq!(sink.retire_events().await.expect("retire"), 6);
    assert_eq!(sink.segments_past_retention().await.expect("past"), 0);
    for interval in [1, 3] {
        assert_eq!(interval_state(sink.client(), interval).await, "|");
        assert_ne!(interval_state(all.client(), interval).await, "|");
    }
    let state = interval_state(sink.client(), 2).await;
    assert_ne!(state, "|");
    assert_eq!(state, interval_state(all.client(), 2).await);
    let (current, recomputed) = state_and_recompute(sink.client()).await;
    assert_eq!(current, recomputed);
    write_finalized(&mut sink, vec![transaction("later2", 300, Vec::new())]).await;
    assert_eq!(sink.retire_events().await.expect("retire"), 3);
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM energy_intervals").await,
        0
    );
    sink.close().await;
    all.close().await;
}

/// Defect: an interval whose rows all lay past the kept slots retired with its state rows
/// whether or not it was settled; one placed and cleared but never settled (its orders
/// still holding escrow on chain) vanished from `energy_intervals` and `energy_orders`.
/// Now it stays whole, prune after prune, until settled and wholly past; a settled one
/// beside it retires.
#[tokio::test]
async fn an_interval_never_settled_stays_until_it_is() {
    let market = Pubkey::new_from_array([20; 32]);
    let (_pg, mut sink, _all_pg, mut all) = retaining_and_keeping_all(
        false,
        vec![
            transaction("o1", 10, vec![placed(market, 1)]),
            transaction("c1", 20, vec![cleared(market, 1)]),
            transaction("s1", 30, vec![settled(market, 1)]),
            transaction("o2", 40, vec![placed(market, 2)]),
            transaction("c2", 60, vec![cleared(market, 2)]),
        ],
    )
    .await;
    let unsettled = interval_state(sink.client(), 2).await;
    assert_ne!(unsettled, "|");
    assert!(sink.retire_events().await.expect("retire") > 0);
    // interval 1, settled, retired; interval 2 stays whole, its rows moved on
    assert_eq!(interval_state(sink.client(), 1).await, "|");
    assert_eq!(interval_state(sink.client(), 2).await, unsettled);
    assert_eq!(unsettled, interval_state(all.client(), 2).await);
    for kind in ["energy_order_placed", "energy_interval_cleared"] {
        assert_eq!(
            scalar(
                sink.client(),
                &format!("SELECT count(*) FROM {kind} WHERE interval_index = 2")
            )
            .await,
            1,
            "{kind}"
        );
    }
    let (current, recomputed) = state_and_recompute(sink.client()).await;
    assert_eq!(
        current, recomputed,
        "the state is the fold of the kept events"
    );

    // prune after prune, as the horizon passes its rows again, it stays
    write_finalized(&mut sink, vec![transaction("later2", 400, Vec::new())]).await;
    sink.retire_events().await.expect("retire");
    assert_eq!(sink.segments_past_retention().await.expect("past"), 0);
    assert_eq!(interval_state(sink.client(), 2).await, unsettled);

    // settled at last, then wholly past: it retires with its state rows
    let settle = vec![transaction("s2", 450, vec![settled(market, 2)])];
    write_finalized(&mut sink, settle.clone()).await;
    write_finalized(&mut all, settle).await;
    sink.retire_events().await.expect("retire");
    assert_ne!(
        interval_state(sink.client(), 2).await,
        "|",
        "reaches slot 450"
    );
    write_finalized(&mut sink, vec![transaction("later3", 600, Vec::new())]).await;
    assert!(sink.retire_events().await.expect("retire") > 0);
    assert_eq!(interval_state(sink.client(), 2).await, "|");
    assert_ne!(interval_state(all.client(), 2).await, "|");
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM energy_order_placed").await,
        0
    );
    let (current, recomputed) = state_and_recompute(sink.client()).await;
    assert_eq!(current, recomputed);
    sink.close().await;
    all.close().await;
}

/// Detached, the segments of 50-99 keep what retired from them (interval 3's clearing),
/// not the rows of interval 2, which moved on and stay in the event tables' segments.
#[tokio::test]
async fn a_detached_segment_keeps_only_the_intervals_that_retired() {
    let (_pg, mut sink, _all_pg, all) = energy_intervals(true, true).await;
    assert_eq!(sink.retire_events().await.expect("retire"), 6);
    let client = sink.client();
    let archive: String = client
        .query_one(
            "SELECT segment FROM detached_event_segments
             WHERE segment LIKE 'energy_interval_cleared\\_\\_50\\_100\\_d%'",
            &[],
        )
        .await
        .expect("the detached clearings of 50-99")
        .get(0);
    let intervals: Vec<String> = client
        .query(
            &format!("SELECT interval_index::text FROM depin_detached.{archive} ORDER BY slot"),
            &[],
        )
        .await
        .expect("archive")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(intervals, ["3"]);
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM energy_interval_cleared WHERE interval_index = 2"
        )
        .await,
        1
    );
    assert_eq!(
        interval_state(client, 2).await,
        interval_state(all.client(), 2).await
    );
    sink.close().await;
    all.close().await;
}

/// A market whose intervals all overlap segment boundaries (each placed 5 slots before a
/// multiple of 50, cleared and closed after it), pruned after every interval: every
/// segment past the kept slots retires at each prune, and what is left is exactly the
/// intervals reaching the kept slots, equal to a database keeping every event. Before V19
/// nothing ever retired here, and each prune took longer than the one before.
#[tokio::test]
async fn a_market_active_across_segment_boundaries_retires_as_it_goes() {
    let market = Pubkey::new_from_array([54; 32]);
    let (_pg, mut sink, _all_pg, mut all) = retaining_and_keeping_all_empty(false).await;
    let mut retired = 0;
    for i in 1..=12u64 {
        let b = i * 50;
        let interval = vec![
            transaction(&format!("o{i}a"), b - 5, vec![placed(market, i)]),
            transaction(&format!("o{i}b"), b + 5, vec![placed(market, i)]),
            transaction(&format!("c{i}"), b + 10, vec![cleared(market, i)]),
            transaction(&format!("z{i}"), b + 11, vec![closed(market, i)]),
        ];
        write_finalized(&mut sink, interval.clone()).await;
        write_finalized(&mut all, interval).await;
        retired += sink.retire_events().await.expect("retire");
        assert_eq!(sink.segments_past_retention().await.expect("past"), 0);
    }
    assert!(retired > 0);
    // the newest finalized slot is 611, the horizon 511: interval i spans 50i-5 .. 50i+11
    for i in 1..=9 {
        assert_eq!(interval_state(sink.client(), i).await, "|", "interval {i}");
    }
    for i in 10..=12 {
        let kept = interval_state(sink.client(), i).await;
        assert_ne!(kept, "|", "interval {i}");
        assert_eq!(kept, interval_state(all.client(), i).await, "interval {i}");
    }
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM energy_order_placed").await,
        6,
        "the kept intervals' orders, every one"
    );
    let (current, recomputed) = state_and_recompute(sink.client()).await;
    assert_eq!(current, recomputed);
    sink.close().await;
    all.close().await;
}

/// An interval with rows written before retention was on (in its event tables themselves,
/// never retired) is kept whole: its rows in segments past the kept slots move into its
/// event tables, and the segments retire. Retiring its later rows alone would leave its
/// state to be recomputed from part of its history.
#[tokio::test]
async fn an_interval_begun_before_retention_is_kept_whole_in_its_tables() {
    let market = Pubkey::new_from_array([20; 32]);
    let pg = TempPostgres::start().await.expect("postgres");
    let mut before = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    write_finalized(
        &mut before,
        vec![transaction("o1", 10, vec![placed(market, 1)])],
    )
    .await;
    before.close().await;
    let mut sink = retaining_sink(pg.url(), keep_100_in_segments_of_50(false)).await;
    write_finalized(
        &mut sink,
        vec![
            transaction("c1", 20, vec![cleared(market, 1)]),
            transaction("z1", 30, vec![closed(market, 1)]),
            transaction("later", 200, Vec::new()),
        ],
    )
    .await;
    assert_eq!(
        segments(&sink).await,
        [
            "energy_interval_cleared__0_50",
            "energy_interval_closed__0_50"
        ]
    );
    let state = interval_state(sink.client(), 1).await;
    assert!(
        state.starts_with('(') && state.contains("closed"),
        "{state}"
    );
    assert_eq!(sink.retire_events().await.expect("retire"), 2);
    assert!(segments(&sink).await.is_empty());
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM ONLY energy_interval_closed WHERE interval_index = 1"
        )
        .await,
        1,
        "the closing moved into its event table"
    );
    assert_eq!(interval_state(sink.client(), 1).await, state);
    let (current, recomputed) = state_and_recompute(sink.client()).await;
    assert_eq!(current, recomputed);
    sink.close().await;
}

/// A proof of `period` of `deal`, proven, paying `paid` and a tenth of it in fees.
fn proof(deal: Pubkey, period: u64, paid: u64) -> Event {
    Event::Storage(storage::Event::ProofAccepted(storage::ProofAccepted {
        deal,
        period,
        answered: 3,
        proven: true,
        provider_paid: paid,
        protocol_fee: paid / 10,
    }))
}

/// A fault of `period` of `deal`.
fn fault(deal: Pubkey, period: u64, refunded: u64, slashed: u64) -> Event {
    Event::Storage(storage::Event::FaultReported(storage::FaultReported {
        deal,
        period,
        refunded,
        slashed,
        consecutive_faults: 1,
    }))
}

/// `deal` accepted by the provider.
fn accepted(deal: Pubkey) -> Event {
    Event::Storage(storage::Event::DealAccepted(storage::DealAccepted {
        deal,
        provider: Pubkey::new_from_array([8; 32]),
        collateral: 500,
        start_ts: 1_700_000_000,
    }))
}

/// `deal` cancelled, `refunded` returned to the client.
fn cancelled(deal: Pubkey, refunded: u64) -> Event {
    Event::Storage(storage::Event::DealCancelled(storage::DealCancelled {
        deal,
        refunded,
    }))
}

/// Every `deals` row as text, in address order.
async fn deal_rows(client: &tokio_postgres::Client) -> String {
    client
        .query_one(
            "SELECT COALESCE(string_agg(d::text, ';' ORDER BY deal), '') FROM deals d",
            &[],
        )
        .await
        .expect("deals")
        .get(0)
}

/// Two deals through [`retaining_and_keeping_all`] (retired segments detached with
/// `detach`; the horizon is 100). Address `x` carries two deals: the first proposed at slot 10, proven at
/// 20, faulted at 30 and cancelled at 35; the second proposed at 45, proven at 60, faulted
/// at 70 and proven at 130. Address `y` carries one, proposed at 12 and proven at 21, 61
/// and 140. Returns both databases and the two addresses.
async fn two_deals(detach: bool) -> (TempPostgres, Sink, TempPostgres, Sink, Pubkey, Pubkey) {
    let (x, y) = (
        Pubkey::new_from_array([30; 32]),
        Pubkey::new_from_array([31; 32]),
    );
    let transactions = vec![
        transaction("px1", 10, vec![proposed(x, 1, 100)]),
        transaction("ax1", 11, vec![accepted(x)]),
        transaction("py", 12, vec![proposed(y, 3, 100)]),
        transaction("rx1", 20, vec![proof(x, 0, 100)]),
        transaction("ry0", 21, vec![proof(y, 0, 100)]),
        transaction("fx1", 30, vec![fault(x, 1, 7, 3)]),
        transaction("cx1", 35, vec![cancelled(x, 50)]),
        transaction("px2", 45, vec![proposed(x, 2, 200)]),
        transaction("ax2", 46, vec![accepted(x)]),
        transaction("rx2", 60, vec![proof(x, 0, 200)]),
        transaction("ry1", 61, vec![proof(y, 1, 100)]),
        transaction("fx2", 70, vec![fault(x, 1, 9, 4)]),
        transaction("rx3", 130, vec![proof(x, 2, 200)]),
        transaction("ry2", 140, vec![proof(y, 2, 100)]),
    ];
    let (pg, sink, all_pg, all) = retaining_and_keeping_all(detach, transactions).await;
    (pg, sink, all_pg, all, x, y)
}

/// Storage proofs and faults past the kept slots retire into per-proposal tallies: the
/// `deals` rows stay exactly those of a database keeping every event (the first deal at a
/// reused address keeps its own tally, which the second deal's row does not read), a
/// rebuild gives them again, and later proofs add to the tallies' sums.
async fn proofs_and_faults_retire_into_their_deals_tallies(detach: bool) {
    let (_pg, mut sink, _all_pg, mut all, x, y) = two_deals(detach).await;
    assert_eq!(
        segments(&sink).await,
        [
            "storage_fault_reported__0_50",
            "storage_proof_accepted__0_50",
            "storage_fault_reported__50_100",
            "storage_proof_accepted__50_100",
            "storage_proof_accepted__100_150"
        ]
    );
    let before = deal_rows(sink.client()).await;
    assert_eq!(before, deal_rows(all.client()).await);
    assert_eq!(sink.retire_events().await.expect("retire"), 4);
    assert_eq!(segments(&sink).await, ["storage_proof_accepted__100_150"]);
    let client = sink.client();
    assert_eq!(
        scalar(client, "SELECT count(*) FROM storage_proof_accepted").await,
        2
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM storage_fault_reported").await,
        0
    );
    let tallies: Vec<(String, i64, i64, String, i64, String, String)> = client
        .query(
            "SELECT deal, proposal_slot, proven, provider_paid::text, faults,
                    fault_refunded::text, fault_slashed::text
             FROM deal_tallies ORDER BY deal, proposal_slot",
            &[],
        )
        .await
        .expect("tallies")
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect();
    let (x_text, y_text) = (x.to_string(), y.to_string());
    let mut expected = vec![
        (
            x_text.clone(),
            10,
            1,
            "100".into(),
            1,
            "7".into(),
            "3".into(),
        ),
        (
            x_text.clone(),
            45,
            1,
            "200".into(),
            1,
            "9".into(),
            "4".into(),
        ),
        (y_text, 12, 2, "200".into(), 0, "0".into(), "0".into()),
    ];
    expected.sort();
    assert_eq!(tallies, expected);
    assert_eq!(
        deal_rows(client).await,
        before,
        "the retirement leaves the deals as they were"
    );
    let (current, recomputed) = state_and_recompute(client).await;
    assert_eq!(current, recomputed, "a rebuild reads the tallies");
    assert_eq!(deal_rows(client).await, before);
    let proven: i64 = client
        .query_one(
            "SELECT proven_periods FROM deals WHERE deal = $1",
            &[&x_text],
        )
        .await
        .expect("deal x")
        .get(0);
    assert_eq!(
        proven, 2,
        "the second deal's proofs at 60 (tallied) and 130"
    );

    // a later proof and fault of the second deal refresh its row from tally and rows
    let later = vec![
        transaction("rx4", 260, vec![proof(x, 3, 200)]),
        transaction("fx3", 270, vec![fault(x, 4, 11, 5)]),
    ];
    for s in [&mut sink, &mut all] {
        write_finalized(s, later.clone()).await;
    }
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await
    );
    assert_ne!(deal_rows(sink.client()).await, before);
    if detach {
        assert_eq!(
            scalar(
                sink.client(),
                "SELECT count(*) FROM detached_event_segments
                 WHERE kind IN ('storage_proof_accepted', 'storage_fault_reported')"
            )
            .await,
            4,
            "the detached segments keep their rows for the operator"
        );
    }
    sink.close().await;
    all.close().await;
}

#[tokio::test]
async fn dropped_proofs_and_faults_retire_into_their_deals_tallies() {
    proofs_and_faults_retire_into_their_deals_tallies(false).await;
}

#[tokio::test]
async fn detached_proofs_and_faults_retire_into_their_deals_tallies() {
    proofs_and_faults_retire_into_their_deals_tallies(true).await;
}

/// A reward claim of `device` under `config`.
fn claimed(
    config: Pubkey,
    device: Pubkey,
    owner: u8,
    epoch: u64,
    amount: u64,
    total: u64,
) -> Event {
    Event::Rewards(rewards::Event::RewardsClaimed(rewards::RewardsClaimed {
        config,
        device,
        owner: Pubkey::new_from_array([owner; 32]),
        epoch,
        amount,
        total_claimed: total,
    }))
}

/// The root of `epoch` proposed under `config` (so the epoch has a `reward_epochs` row).
fn root(config: Pubkey, epoch: u64) -> Event {
    Event::Rewards(rewards::Event::RootProposed(rewards::RootProposed {
        config,
        epoch,
        oracle: Pubkey::new_from_array([40; 32]),
        root: [41; 32],
        cumulative_total: 1_000,
        multipliers_hash: [42; 32],
        votes: 1,
    }))
}

/// The `reward_claims` and `reward_epochs` rows as text.
async fn reward_rows(client: &tokio_postgres::Client) -> String {
    client
        .query_one(
            "SELECT COALESCE((SELECT string_agg(c::text, ';' ORDER BY config, device)
                              FROM reward_claims c), '')
                    || '|' ||
                    COALESCE((SELECT string_agg(e::text, ';' ORDER BY config, epoch)
                              FROM reward_epochs e), '')",
            &[],
        )
        .await
        .expect("reward rows")
        .get(0)
}

/// Reward claims past the kept slots retire into tallies per device and per epoch: the
/// owner is the latest claim's, whether that claim is tallied or kept (device `d` has a
/// claim written before retention was on, older than its tallied one; device `e` a kept
/// claim newer than its tallied one), totals, epochs and counts add up, and the
/// `reward_claims` and `reward_epochs` rows equal those of a database keeping everything,
/// before and after a rebuild.
#[tokio::test]
async fn reward_claims_retire_into_tallies_and_the_latest_claim_names_the_owner() {
    let config = Pubkey::new_from_array([43; 32]);
    let (d, e) = (
        Pubkey::new_from_array([44; 32]),
        Pubkey::new_from_array([45; 32]),
    );
    let first = vec![transaction(
        "c0",
        5,
        vec![
            root(config, 1),
            root(config, 2),
            root(config, 3),
            claimed(config, d, 1, 1, 10, 10),
        ],
    )];
    let rest = vec![
        transaction("e1", 20, vec![claimed(config, e, 1, 1, 5, 5)]),
        transaction("d2", 60, vec![claimed(config, d, 2, 2, 20, 30)]),
        transaction("e3", 130, vec![claimed(config, e, 3, 3, 6, 11)]),
        transaction("later", 200, Vec::new()),
    ];
    let pg = TempPostgres::start().await.expect("postgres");
    let mut before = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    write_finalized(&mut before, first.clone()).await;
    before.close().await;
    let mut sink = retaining_sink(pg.url(), keep_100_in_segments_of_50(false)).await;
    write_finalized(&mut sink, rest.clone()).await;
    let all_pg = TempPostgres::start().await.expect("postgres");
    let mut all = Sink::connect(all_pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    write_finalized(&mut all, first).await;
    write_finalized(&mut all, rest).await;
    let kept_all = reward_rows(all.client()).await;
    assert_eq!(reward_rows(sink.client()).await, kept_all);

    assert_eq!(sink.retire_events().await.expect("retire"), 2);
    assert_eq!(segments(&sink).await, ["rewards_rewards_claimed__100_150"]);
    let client = sink.client();
    assert_eq!(
        scalar(client, "SELECT count(*) FROM rewards_rewards_claimed").await,
        2,
        "the claim written before retention and the kept one"
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM reward_claim_tallies").await,
        2
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM reward_epoch_tallies").await,
        2
    );
    assert_eq!(reward_rows(client).await, kept_all);
    let (current, recomputed) = state_and_recompute(client).await;
    assert_eq!(current, recomputed, "a rebuild reads the tallies");
    assert_eq!(reward_rows(client).await, kept_all);
    for (device, owner, claims) in [(d, 2u8, 2i64), (e, 3, 2)] {
        let row = client
            .query_one(
                "SELECT owner, claims FROM reward_claims WHERE device = $1",
                &[&device.to_string()],
            )
            .await
            .expect("claim row");
        assert_eq!(
            row.get::<_, String>(0),
            Pubkey::new_from_array([owner; 32]).to_string()
        );
        assert_eq!(row.get::<_, i64>(1), claims);
    }
    sink.close().await;
    all.close().await;
}

/// A transaction delivered again after its rows were tallied (a backfill over retired
/// slots, beyond the signatures the sink remembers) is looked up and found stored by its
/// `indexed_transactions` row: nothing reaches a segment or a tally twice.
#[tokio::test]
async fn a_tallied_transaction_delivered_again_is_not_counted_twice() {
    let (_pg, mut sink, _all_pg, all, x, _y) = two_deals(false).await;
    // far enough on that slots 20 and 30 are past the remembered signatures
    write_finalized(
        &mut sink,
        vec![transaction("far", RECENT_SLOTS + 100, Vec::new())],
    )
    .await;
    assert_eq!(sink.retire_events().await.expect("retire"), 5);
    let deals = deal_rows(sink.client()).await;
    assert_eq!(deals, deal_rows(all.client()).await);
    let tallies =
        "SELECT string_agg(t::text, ';' ORDER BY deal, proposal_slot) FROM deal_tallies t";
    let tallied: String = sink
        .client()
        .query_one(tallies, &[])
        .await
        .expect("tallies")
        .get(0);
    let stats = sink
        .write(&Batch {
            transactions: vec![
                transaction("rx1", 20, vec![proof(x, 0, 100)]),
                transaction("fx1", 30, vec![fault(x, 1, 7, 3)]),
            ],
            ..Batch::default()
        })
        .await
        .expect("delivered again");
    assert_eq!((stats.looked_up, stats.transactions), (2, 0));
    let client = sink.client();
    assert_eq!(
        scalar(
            client,
            "SELECT count(*) FROM storage_proof_accepted WHERE slot < 100"
        )
        .await
            + scalar(client, "SELECT count(*) FROM storage_fault_reported").await,
        0,
        "the stored transactions added no row"
    );
    sink.retire_events().await.expect("retire");
    let client = sink.client();
    assert_eq!(
        client
            .query_one(tallies, &[])
            .await
            .expect("tallies")
            .get::<_, String>(0),
        tallied
    );
    assert_eq!(deal_rows(client).await, deals);
    let (current, recomputed) = state_and_recompute(client).await;
    assert_eq!(current, recomputed);
    sink.close().await;
    all.close().await;
}

/// A deal proven at slots 20 and 60 (two segments past the horizon of 100) and at 150, the
/// last proof written while the state is left to a refresher (only queued), in a database
/// retaining events (retired segments detached with `detach`) and one keeping all: the
/// retaining database, its sink, and the other.
async fn a_proof_queued_over_two_retiring_segments(
    detach: bool,
) -> (TempPostgres, Sink, TempPostgres, Sink) {
    let x = Pubkey::new_from_array([50; 32]);
    let history = vec![
        transaction("px", 10, vec![proposed(x, 1, 100), accepted(x)]),
        transaction("r0", 20, vec![proof(x, 0, 100)]),
        transaction("r1", 60, vec![proof(x, 1, 100)]),
    ];
    let (pg, mut sink, all_pg, mut all) = retaining_and_keeping_all(detach, history).await;
    // from now on the sink's batches only queue their keys, as beside the indexer's refresher
    sink.refresh_state_with(std::sync::Arc::new(tokio::sync::Notify::new()));
    let recent = vec![transaction("r2", 150, vec![proof(x, 2, 100)])];
    write_finalized(&mut sink, recent.clone()).await;
    write_finalized(&mut all, recent).await;
    (pg, sink, all_pg, all)
}

/// A state refresh under way (its snapshot taken) holds off a retirement: the writer gives
/// up after its lock timeout and retires at the next prune, once the refresh committed.
/// Before V19 the retirement went ahead, the refresh then read the tallies without the
/// retired proofs and the event table without their segments, and wrote a deal proven once
/// instead of three times.
async fn a_refresh_under_way_holds_off_a_retirement(detach: bool) {
    let (pg, mut sink, _all_pg, all) = a_proof_queued_over_two_retiring_segments(detach).await;
    let mut refresher = connect(pg.url()).await;
    let tx = depin_indexer::state::begin_refresh(&mut refresher)
        .await
        .expect("begin");
    let queued: i64 = tx
        .query_one("SELECT count(*) FROM state_queue", &[])
        .await
        .expect("queue")
        .get(0);
    assert_eq!(
        queued, 1,
        "the snapshot is taken, with the last proof queued"
    );
    assert_eq!(gives_up(&mut sink).await, 0);
    depin_indexer::state::apply_queued(&tx)
        .await
        .expect("refresh");
    tx.commit().await.expect("commit");
    assert_eq!(sink.retire_events().await.expect("retire"), 2);
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await,
        "the deal, proven three times"
    );
    sink.close().await;
    all.close().await;
}

#[tokio::test]
async fn a_refresh_under_way_holds_off_a_dropping_retirement() {
    a_refresh_under_way_holds_off_a_retirement(false).await;
}

#[tokio::test]
async fn a_refresh_under_way_holds_off_a_detaching_retirement() {
    a_refresh_under_way_holds_off_a_retirement(true).await;
}

/// A refresh begun while a retirement runs waits for it, then reads what it left: the
/// tallies with the retired proofs.
#[tokio::test]
async fn a_refresh_begun_during_a_retirement_reads_what_it_left() {
    let (pg, sink, _all_pg, all) = a_proof_queued_over_two_retiring_segments(false).await;
    let retirement = connect(pg.url()).await;
    retirement
        .batch_execute(
            "BEGIN;
             SELECT depin_retire_segments(
                 (SELECT max(slot) FROM slots WHERE status = 'finalized') - 100, false);",
        )
        .await
        .expect("retiring");
    let mut refresher = connect(pg.url()).await;
    let refresher_pid: i32 = refresher
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    let observer = connect(pg.url()).await;
    let refresh = async {
        let tx = depin_indexer::state::begin_refresh(&mut refresher).await?;
        let applied = depin_indexer::state::apply_queued(&tx).await?;
        tx.commit().await?;
        Ok::<_, depin_indexer::sink::SinkError>(applied)
    };
    // the retirement commits only once the refresh is seen waiting for its locks: a
    // refresh that read without waiting would never be seen so, and the test fails here
    let commit = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let waiting: Option<String> = observer
                .query_one(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1",
                    &[&refresher_pid],
                )
                .await
                .expect("activity")
                .get(0);
            if waiting.as_deref() == Some("Lock") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the refresh never waited for the retirement's locks"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        retirement.batch_execute("COMMIT").await.expect("retired");
    };
    let (refreshed, ()) = tokio::join!(refresh, commit);
    assert_eq!(refreshed.expect("refresh"), 1);
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM event_segments").await,
        1,
        "the two segments past the horizon are gone"
    );
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await
    );
    sink.close().await;
    all.close().await;
}

/// A batch of one slot status, without transactions.
fn slot_batch(update: depin_indexer::sink::SlotUpdate) -> Batch {
    Batch {
        slots: vec![update],
        ..Batch::default()
    }
}

/// A proof in slot 20, confirmed and never finalized (its parents unknown, so no later
/// finalization judges it), below the newest finalized slot 200: its segment stays until
/// the slot is settled, so when the slot dies the proof leaves the retaining database as it
/// leaves one keeping everything. Before V19 the segment retired into the deal's tally and
/// the proof outlived its slot there.
#[tokio::test]
async fn a_segment_with_a_row_of_an_unsettled_slot_stays() {
    let x = Pubkey::new_from_array([51; 32]);
    let (_pg, mut sink, _all_pg, mut all) = retaining_and_keeping_all_empty(false).await;
    for s in [&mut sink, &mut all] {
        write_finalized(
            s,
            vec![transaction(
                "px",
                10,
                vec![proposed(x, 1, 100), accepted(x)],
            )],
        )
        .await;
        write_unsettled(s, vec![transaction("r", 20, vec![proof(x, 0, 100)])]).await;
        write_finalized(s, vec![transaction("later", 200, Vec::new())]).await;
    }
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM slots WHERE slot = 20 AND status = 'confirmed'"
        )
        .await,
        1,
        "slot 20 unsettled below the newest finalized slot"
    );
    assert_eq!(sink.retire_events().await.expect("retire"), 0);
    assert_eq!(sink.segments_past_retention().await.expect("past"), 1);
    for s in [&mut sink, &mut all] {
        s.write(&slot_batch(dead(20))).await.expect("dead slot");
    }
    assert_eq!(
        scalar(all.client(), "SELECT proven_periods FROM deals").await,
        0
    );
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await,
        "the proof left with its slot"
    );
    // the segment, empty now, goes at the next prune
    assert_eq!(sink.retire_events().await.expect("retire"), 1);
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await
    );
    sink.close().await;
    all.close().await;
}

/// A transaction seen in slot 40 and again in slot 260, then slot 40 dead: its proof moves
/// to slot 260 but stays in the segment of slots 0-50. That segment stays while the row's
/// slot is at or past the horizon, and while the slot is unsettled; once slot 260 is
/// finalized and past the horizon it retires, the proof into the deal's tally. Before V19
/// the segment retired at horizon 100, and a later death of slot 260 left the proof in the
/// tally.
#[tokio::test]
async fn a_row_moved_past_its_segment_holds_the_segment_until_its_slot_is_settled() {
    let x = Pubkey::new_from_array([55; 32]);
    let (_pg, mut sink, _all_pg, mut all) = retaining_and_keeping_all_empty(false).await;
    let r = transaction("r", 40, vec![proof(x, 0, 100)]);
    for s in [&mut sink, &mut all] {
        write_finalized(
            s,
            vec![transaction(
                "px",
                10,
                vec![proposed(x, 1, 100), accepted(x)],
            )],
        )
        .await;
        let mut fork = slot_batch(dead(40));
        fork.transactions = vec![
            r.clone(),
            IndexedTransaction {
                slot: 260,
                ..r.clone()
            },
        ];
        s.write(&fork).await.expect("fork");
        write_finalized(s, vec![transaction("later", 200, Vec::new())]).await;
    }
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT slot FROM storage_proof_accepted__0_50"
        )
        .await,
        260,
        "the moved row kept its segment"
    );
    assert_eq!(sink.retire_events().await.expect("retire"), 0, "260 >= 100");
    for s in [&mut sink, &mut all] {
        write_finalized(s, vec![transaction("much later", 400, Vec::new())]).await;
    }
    assert_eq!(
        sink.retire_events().await.expect("retire"),
        0,
        "slot 260 is below the horizon of 300 but not settled"
    );
    for s in [&mut sink, &mut all] {
        s.write(&slot_batch(finalized(260)))
            .await
            .expect("finalized");
    }
    assert_eq!(sink.retire_events().await.expect("retire"), 1);
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM storage_proof_accepted").await,
        0
    );
    assert_eq!(
        scalar(sink.client(), "SELECT proven FROM deal_tallies").await,
        1,
        "the moved proof tallied once"
    );
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await
    );
    sink.close().await;
    all.close().await;
}

/// A deal whose proposal was first seen in slot 20, never settled, and again in slot 25,
/// and proven at slot 30 (finalized): the proof's segment stays while the proposal it is
/// tallied under could still move. Slot 20 then dies and the proposal moves to slot 25;
/// once slot 25 is finalized the proof retires, under the proposal where it now is, and the deal
/// stays proven once, as in a database keeping everything. Before V19 the proof was
/// tallied under the proposal at slot 20, which no deal row reads once it moved.
#[tokio::test]
async fn a_proof_waits_for_the_proposal_it_is_tallied_under() {
    let x = Pubkey::new_from_array([57; 32]);
    let (_pg, mut sink, _all_pg, mut all) = retaining_and_keeping_all_empty(false).await;
    let proposal = transaction("px", 20, vec![proposed(x, 1, 100), accepted(x)]);
    for s in [&mut sink, &mut all] {
        write_unsettled(s, vec![proposal.clone()]).await;
        // seen again in slot 25
        write_unsettled(
            s,
            vec![IndexedTransaction {
                slot: 25,
                ..proposal.clone()
            }],
        )
        .await;
        write_finalized(s, vec![transaction("r", 30, vec![proof(x, 0, 100)])]).await;
        write_finalized(s, vec![transaction("later", 200, Vec::new())]).await;
    }
    assert_eq!(
        sink.retire_events().await.expect("retire"),
        0,
        "the proposal's slot 20 is unsettled"
    );
    for s in [&mut sink, &mut all] {
        s.write(&slot_batch(dead(20))).await.expect("dead slot");
    }
    assert_eq!(
        scalar(sink.client(), "SELECT slot FROM storage_deal_proposed").await,
        25
    );
    assert_eq!(
        sink.retire_events().await.expect("retire"),
        0,
        "slot 25 is not settled either"
    );
    for s in [&mut sink, &mut all] {
        s.write(&slot_batch(finalized(25)))
            .await
            .expect("finalized");
    }
    assert_eq!(sink.retire_events().await.expect("retire"), 1);
    assert_eq!(
        scalar(sink.client(), "SELECT proposal_slot FROM deal_tallies").await,
        25
    );
    assert_eq!(
        scalar(all.client(), "SELECT proven_periods FROM deals").await,
        1
    );
    assert_eq!(
        deal_rows(sink.client()).await,
        deal_rows(all.client()).await
    );
    sink.close().await;
    all.close().await;
}

/// A slot still unjudged more than the kept slots below the horizon (its parents never
/// reported: a slot update missed) no longer holds its segment back: with slot 400
/// finalized the horizon is 300, and slot 20 lies more than 100 slots below it.
#[tokio::test]
async fn a_slot_unjudged_beyond_the_kept_slots_no_longer_holds_its_segment() {
    let x = Pubkey::new_from_array([58; 32]);
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = retaining_sink(pg.url(), keep_100_in_segments_of_50(false)).await;
    write_finalized(
        &mut sink,
        vec![transaction(
            "px",
            10,
            vec![proposed(x, 1, 100), accepted(x)],
        )],
    )
    .await;
    write_unsettled(
        &mut sink,
        vec![transaction("r", 20, vec![proof(x, 0, 100)])],
    )
    .await;
    write_finalized(&mut sink, vec![transaction("later", 200, Vec::new())]).await;
    assert_eq!(
        sink.retire_events().await.expect("retire"),
        0,
        "held at 100"
    );
    write_finalized(&mut sink, vec![transaction("much later", 400, Vec::new())]).await;
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM slots WHERE slot = 20 AND status = 'confirmed'"
        )
        .await,
        1,
        "still unjudged"
    );
    assert_eq!(sink.retire_events().await.expect("retire"), 1);
    assert_eq!(
        scalar(sink.client(), "SELECT proven FROM deal_tallies").await,
        1
    );
    sink.close().await;
}
