//! The sink's own guarantees against a real PostgreSQL server: migrations applied once and
//! recorded, one writer per database, out-of-range input refused whole, duplicates written
//! once, one deal lifecycle per state row, slot bookkeeping pruned, an upgrade keeping row
//! levels, slots left unjudged counted, the writer task's order and failure.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use common::{confirmed, connect, finalized, proposed, scalar, state_and_recompute, transaction};
use depin_indexer::decode::DecodedTransaction;
use depin_indexer::events::{registry, rewards, staking, storage, Event};
use depin_indexer::metrics::Metrics;
use depin_indexer::run::Hooks;
use depin_indexer::sink::{
    migrate, Batch, Commitment, IndexedTransaction, Prepared, Sink, SinkError, SlotStatus,
    SlotUpdate, Source, COPIES_WITHIN, RECENT_SLOTS,
};
use depin_indexer::state::Refresher;
use depin_indexer::testkit::postgres::TempPostgres;
use depin_indexer::writer::{Writer, WriterError};

#[tokio::test]
async fn migrations_are_applied_once_and_recorded() {
    let pg = TempPostgres::start().await.expect("postgres");
    let first = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("first start migrates");
    first.close().await;
    let second = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("second start finds the schema current");
    let versions: Vec<i32> = second
        .client()
        .query(
            "SELECT version FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .await
        .expect("history")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // every file of migrations/, in order
    let mut files: Vec<i32> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
            .expect("migrations directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|name| name.strip_prefix('V')?.split("__").next()?.parse().ok())
            .collect();
    files.sort_unstable();
    assert_eq!(files.first(), Some(&1));
    assert_eq!(versions, files);
    // V5's history indexes replace the key-only ones the state refresh used to walk past
    let indexes: Vec<String> = second
        .client()
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'storage_deal_proposed'
             ORDER BY indexdef",
            &[],
        )
        .await
        .expect("indexes")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        indexes
            .iter()
            .any(|d| d.ends_with("(deal, slot, tx_index, instruction_index, event_index)")),
        "{indexes:#?}"
    );
    assert!(
        !indexes.iter().any(|d| d.ends_with("(deal)")),
        "{indexes:#?}"
    );
    second.close().await;
}

/// V14: an event table has no unique key of its own (a transaction's rows are written once,
/// with its `indexed_transactions` row) but a hash index on `signature`, and
/// its identifier columns compare as bytes; so do a retention segment made afterwards and
/// the state tables' keys. Free text keeps the database's collation.
#[tokio::test]
async fn event_tables_carry_no_unique_key_and_compare_identifiers_as_bytes() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let client = sink.client();
    client
        .execute(
            "SELECT depin_event_segment('energy_reading_submitted', 0, 1000)",
            &[],
        )
        .await
        .expect("a segment");
    let tables = "WITH RECURSIVE tree(t) AS (
                      SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass
                      UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.t)
                  SELECT t FROM tree";
    let count = |sql: String| async move { scalar(client, &sql).await };
    assert_eq!(
        count(format!("SELECT count(*) FROM ({tables}) x")).await,
        47,
        "46 kinds and the segment"
    );
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM pg_index WHERE indisunique AND indrelid IN ({tables})"
        ))
        .await,
        0,
        "no unique index on an event table"
    );
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM ({tables}) x WHERE NOT EXISTS (
                 SELECT 1 FROM pg_indexes WHERE tablename = x.t::regclass::text
                 AND indexdef LIKE '%USING hash (signature)')"
        ))
        .await,
        0,
        "every event table finds a transaction's rows by signature"
    );
    let not_bytes = |relations: &str| {
        format!(
            "SELECT count(*) FROM pg_attribute a
             WHERE a.attrelid IN ({relations}) AND a.attnum > 0 AND NOT a.attisdropped
               AND a.atttypid IN ('text'::regtype, 'text[]'::regtype) AND a.attname <> 'name'
               AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C')"
        )
    };
    assert_eq!(count(not_bytes(tables)).await, 0);
    assert_eq!(
        count(not_bytes(
            "'devices'::regclass, 'deals'::regclass, 'energy_orders'::regclass"
        ))
        .await,
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'makers'::regclass
             AND attname = 'name' AND attcollation = 100"
                .to_owned()
        )
        .await,
        1,
        "a maker's name keeps the database's default collation"
    );
    sink.close().await;
}

/// Rows built ahead of the write ([`Prepared`], built while the writer writes the batch
/// before) assume every transaction is new. When the sink already wrote one of them in
/// between, the rows are built again: nothing is written twice, and the rows of a batch
/// that is all new are written as built, with the same effect as a plain write.
#[tokio::test]
async fn rows_built_ahead_are_built_again_when_the_sink_wrote_one_meanwhile() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let deal = |b: u8| Pubkey::new_from_array([b; 32]);
    let a = transaction("ahead-a", 10, vec![proposed(deal(1), 0, 100)]);
    let b = transaction("ahead-b", 11, vec![proposed(deal(2), 0, 100)]);
    let c = transaction("ahead-c", 12, vec![proposed(deal(3), 0, 100)]);
    // built while `a` is not written yet, then `a` is written before it
    let later = Prepared::new(Batch {
        transactions: vec![a.clone(), b, a.clone()],
        ..Batch::default()
    });
    let first = sink
        .write(&Batch {
            transactions: vec![a],
            ..Batch::default()
        })
        .await
        .expect("a");
    assert_eq!((first.transactions, first.event_rows), (1, 1));
    let stats = sink.write_prepared(&later).await.expect("b");
    assert_eq!(
        (stats.transactions, stats.event_rows, stats.looked_up),
        (1, 1, 0),
        "only b, the sink remembering a"
    );
    // all new: written as built
    let fresh = Prepared::new(Batch {
        transactions: vec![c],
        checkpoint: Some(12),
        ..Batch::default()
    });
    let stats = sink.write_prepared(&fresh).await.expect("c");
    assert_eq!((stats.transactions, stats.event_rows), (1, 1));
    assert_eq!(fresh.batch().checkpoint, Some(12));
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM storage_deal_proposed").await,
        3
    );
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM indexed_transactions").await,
        3
    );
    assert_eq!(sink.checkpoint().await.expect("checkpoint"), Some(12));
    sink.close().await;
}

/// The value of session setting `name` on `client`.
async fn show(client: &tokio_postgres::Client, name: &str) -> String {
    client
        .query_one(&format!("SHOW {name}"), &[])
        .await
        .unwrap_or_else(|e| panic!("SHOW {name}: {e}"))
        .get(0)
}

/// The indexer's sessions compile nothing (their statements are small keyed reads and
/// writes, and JIT compilation of them cost more than running them once the tables grew),
/// and name themselves in `pg_stat_activity` unless the connection string chose a name.
#[tokio::test]
async fn the_indexer_sessions_run_without_jit_and_name_themselves() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    assert_eq!(show(sink.client(), "jit").await, "off");
    assert_eq!(
        show(sink.client(), "application_name").await,
        "depin-indexer writer main"
    );
    let refresher = Refresher::spawn(pg.url(), Arc::new(Metrics::default()))
        .await
        .expect("refresher");
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'depin-indexer state'"
        )
        .await,
        1,
        "the refresher's session names itself"
    );
    refresher.close().await.expect("refresher closed");
    sink.close().await;

    // a name the operator chose in the connection string is kept
    let named = format!("{}?application_name=ops-indexer", pg.url());
    let sink = Sink::connect(&named, Commitment::Confirmed, "main")
        .await
        .expect("sink");
    assert_eq!(show(sink.client(), "application_name").await, "ops-indexer");
    sink.close().await;
}

#[tokio::test]
async fn a_second_writer_on_the_same_database_is_refused() {
    let pg = TempPostgres::start().await.expect("postgres");
    let holder = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("first writer");
    let second = Sink::connect(pg.url(), Commitment::Confirmed, "main").await;
    assert!(
        matches!(second, Err(SinkError::Locked)),
        "{:?}",
        second.err()
    );
    holder.close().await;
}

#[tokio::test]
async fn out_of_range_values_are_refused_and_nothing_is_written() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let fine = IndexedTransaction {
        signature: "fine".into(),
        slot: 5,
        tx_index: 0,
        source: Source::Grpc,
        decoded: DecodedTransaction::default(),
    };
    let too_far = IndexedTransaction {
        signature: "too-far".into(),
        slot: u64::MAX,
        ..fine.clone()
    };
    let batch = Batch {
        transactions: vec![fine, too_far],
        slots: vec![confirmed(5)],
        checkpoint: Some(5),
    };
    let refused = sink.write(&batch).await;
    assert!(
        matches!(&refused, Err(SinkError::OutOfRange(m)) if m.contains("slot")),
        "{refused:?}"
    );
    assert_eq!(sink.checkpoint().await.expect("checkpoint"), None);
    let rows: i64 = sink
        .client()
        .query_one("SELECT count(*) FROM indexed_transactions", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0);
    sink.close().await;
}

/// Defect: a program's string argument may hold a NUL (a maker's name: Borsh takes any
/// UTF-8), which PostgreSQL's `TEXT` refuses; the batch failed and every restart met the
/// same transaction again, so one cheap transaction stopped the indexer for good. Now the
/// NUL is stored as U+FFFD and the replacement is recorded as the transaction's decode
/// failure: the batch commits and nothing is silently altered.
#[tokio::test]
async fn a_nul_in_an_event_text_is_stored_replaced_and_recorded() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let maker = Pubkey::new_from_array([3; 32]);
    let registered = Event::Registry(registry::Event::MakerRegistered(
        registry::MakerRegistered {
            network: Pubkey::new_from_array([1; 32]),
            maker,
            maker_authority: Pubkey::new_from_array([2; 32]),
            name: "Acme\0\0Radio".into(),
            device_quota: 10,
        },
    ));
    let batch = Batch {
        transactions: vec![transaction("poison", 5, vec![registered])],
        slots: vec![confirmed(5)],
        checkpoint: Some(5),
    };
    sink.write(&batch).await.expect("the batch commits");
    assert_eq!(sink.checkpoint().await.expect("checkpoint"), Some(5));
    let client = sink.client();
    let name: String = client
        .query_one(
            "SELECT name FROM makers WHERE maker = $1",
            &[&maker.to_string()],
        )
        .await
        .expect("the maker's state row")
        .get(0);
    assert_eq!(name, "Acme\u{FFFD}\u{FFFD}Radio");
    let (events, failures): (i32, i32) = client
        .query_one(
            "SELECT events, failures FROM indexed_transactions WHERE signature = 'poison'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .expect("the transaction");
    assert_eq!((events, failures), (1, 1));
    let reason: String = client
        .query_one(
            "SELECT reason FROM decode_failures WHERE signature = 'poison' AND failure_index = 0",
            &[],
        )
        .await
        .expect("the recorded replacement")
        .get(0);
    assert!(
        reason.contains("registry_maker_registered") && reason.contains("NUL"),
        "{reason}"
    );
    sink.close().await;
}

/// Defect: a state column summing many events' amounts was `NUMERIC(20,0)`, which a
/// position's withdrawals pass after six rounds of `u64::MAX` (a pool on a mint its creator
/// controls, no cooldown: one transaction). The refresh failed with numeric_value_out_of_range
/// on that key at every attempt, stopping the refresher (and a rebuild) for good.
#[tokio::test]
async fn sums_past_u64_are_stored_whole() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let (pool, position, owner) = (
        Pubkey::new_from_array([1; 32]),
        Pubkey::new_from_array([2; 32]),
        Pubkey::new_from_array([3; 32]),
    );
    let mut events = Vec::new();
    for _ in 0..6 {
        events.push(Event::Staking(staking::Event::Staked(staking::Staked {
            pool,
            position,
            owner,
            amount: u64::MAX,
            active: u64::MAX,
        })));
        events.push(Event::Staking(staking::Event::UnstakeRequested(
            staking::UnstakeRequested {
                pool,
                position,
                owner,
                amount: u64::MAX,
                pending: u64::MAX,
                unlock_ts: 0,
            },
        )));
        events.push(Event::Staking(staking::Event::Withdrawn(
            staking::Withdrawn {
                pool,
                position,
                owner,
                amount: u64::MAX,
            },
        )));
    }
    let batch = Batch {
        transactions: vec![transaction("rounds", 5, events)],
        slots: vec![confirmed(5)],
        checkpoint: Some(5),
    };
    sink.write(&batch)
        .await
        .expect("the batch and its state commit");
    let row = sink
        .client()
        .query_one(
            "SELECT active::text, pending::text, withdrawn::text FROM stake_positions
             WHERE position = $1",
            &[&position.to_string()],
        )
        .await
        .expect("the position's row");
    let six = (u128::from(u64::MAX) * 6).to_string();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        ("0".to_owned(), "0".to_owned(), six)
    );
    let (current, rebuilt) = state_and_recompute(sink.client()).await;
    assert_eq!(current, rebuilt, "a full rebuild gives the same state");
    sink.close().await;
}

/// A transaction at `slot` carrying `events` (one instruction, events in order).
/// The `deals` row of `deal`: status, price per period, refunded, provider, proven periods.
async fn deal_row(sink: &Sink, deal: Pubkey) -> tokio_postgres::Row {
    sink.client()
        .query_one(
            "SELECT status, price_per_period::text, refunded::text, provider, proven_periods
             FROM deals WHERE deal = $1",
            &[&deal.to_string()],
        )
        .await
        .expect("one deals row")
}

/// Defect: a cancelled deal's address carrying a second deal mixed both histories into one
/// `deals` row (the first deal's cancellation and refund on the live second deal).
#[tokio::test]
async fn a_deal_address_used_twice_shows_only_the_live_deal() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let deal = Pubkey::new_from_array([1; 32]);
    let first = vec![
        transaction("first-proposed", 10, vec![proposed(deal, 0, 100)]),
        transaction(
            "first-cancelled",
            11,
            vec![Event::Storage(storage::Event::DealCancelled(
                storage::DealCancelled {
                    deal,
                    refunded: 300,
                },
            ))],
        ),
    ];
    sink.write(&Batch {
        transactions: first,
        ..Batch::default()
    })
    .await
    .expect("first deal");
    let cancelled = deal_row(&sink, deal).await;
    assert_eq!(cancelled.get::<_, String>(0), "cancelled");
    assert_eq!(cancelled.get::<_, String>(2), "300");

    // the second deal at the same address, accepted and proven once
    let second = vec![
        transaction("second-proposed", 12, vec![proposed(deal, 1, 250)]),
        transaction(
            "second-accepted",
            13,
            vec![
                Event::Storage(storage::Event::DealAccepted(storage::DealAccepted {
                    deal,
                    provider: Pubkey::new_from_array([4; 32]),
                    collateral: 500,
                    start_ts: 1_700_000_000,
                })),
                Event::Storage(storage::Event::ProofAccepted(storage::ProofAccepted {
                    deal,
                    period: 0,
                    answered: 2,
                    proven: true,
                    provider_paid: 245,
                    protocol_fee: 5,
                })),
            ],
        ),
    ];
    sink.write(&Batch {
        transactions: second,
        ..Batch::default()
    })
    .await
    .expect("second deal");
    let live = deal_row(&sink, deal).await;
    assert_eq!(live.get::<_, String>(0), "active");
    assert_eq!(live.get::<_, String>(1), "250");
    assert_eq!(live.get::<_, String>(2), "0", "no refund of the first deal");
    assert_eq!(
        live.get::<_, Option<String>>(3),
        Some(Pubkey::new_from_array([4; 32]).to_string())
    );
    assert_eq!(live.get::<_, i64>(4), 1);
    // both lifecycles stay in the event tables
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM storage_deal_proposed").await,
        2
    );

    // a proof of the first deal replayed late (same address, before the second proposal)
    // does not count for the second
    sink.write(&Batch {
        transactions: vec![transaction(
            "first-proof",
            10,
            vec![Event::Storage(storage::Event::ProofAccepted(
                storage::ProofAccepted {
                    deal,
                    period: 0,
                    answered: 2,
                    proven: true,
                    provider_paid: 90,
                    protocol_fee: 10,
                },
            ))],
        )],
        ..Batch::default()
    })
    .await
    .expect("late row");
    assert_eq!(deal_row(&sink, deal).await.get::<_, i64>(4), 1);
    sink.close().await;
}

/// Exactly once without a key: a duplicate the sink remembers writes nothing; one of a slot
/// older than those it remembers (a new sink, a backfill of old slots) is looked up first,
/// in its own slot or a fork's near it. Either way no row is doubled, no row of the batch
/// is lost, and a slot the duplicate arrived in besides its own is recorded.
#[tokio::test]
async fn duplicates_write_nothing_whether_remembered_or_not() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let deal = Pubkey::new_from_array([2; 32]);
    let old = transaction("old", 5, vec![proposed(deal, 0, 100)]);
    let batch = Batch {
        transactions: vec![old.clone(), old.clone()],
        checkpoint: Some(5),
        ..Batch::default()
    };
    let stats = sink.write(&batch).await.expect("first write");
    assert_eq!(
        (stats.transactions, stats.event_rows),
        (1, 1),
        "twice in one batch"
    );
    let again = sink.write(&batch).await.expect("remembered duplicate");
    assert_eq!((again.transactions, again.event_rows), (0, 0));
    assert_eq!(again.looked_up, 0, "known without asking the database");
    // move the newest slot far ahead, then start a new sink: `old` is outside the window
    // of signatures it loads
    let far = 5 + RECENT_SLOTS + 100;
    sink.write(&Batch {
        transactions: vec![transaction(
            "new",
            far,
            vec![proposed(Pubkey::new_from_array([3; 32]), 0, 1)],
        )],
        ..Batch::default()
    })
    .await
    .expect("far write");
    sink.close().await;
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("restart");
    let fork = IndexedTransaction {
        slot: 205,
        ..old.clone()
    };
    let fresh = transaction(
        "fresh",
        far + 1,
        vec![proposed(Pubkey::new_from_array([5; 32]), 0, 1)],
    );
    let stats = sink
        .write(&Batch {
            transactions: vec![old.clone(), fork.clone(), fresh],
            ..Batch::default()
        })
        .await
        .expect("write with a lookup");
    assert_eq!(
        (stats.transactions, stats.event_rows),
        (1, 1),
        "only `fresh` is new"
    );
    assert_eq!(
        stats.looked_up, 2,
        "both copies of `old` were looked up, `fresh` was not (its slot is remembered)"
    );
    // still older than the remembered slots: looked up again, and still nothing written
    let again = sink
        .write(&Batch {
            transactions: vec![fork],
            ..Batch::default()
        })
        .await
        .expect("again");
    assert_eq!((again.transactions, again.looked_up), (0, 1));
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM storage_deal_proposed").await,
        3
    );
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM indexed_transactions").await,
        3
    );
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM transaction_slots").await,
        1,
        "only the fork's slot: deliveries in a transaction's own slot record nothing"
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT slot FROM transaction_slots WHERE signature = 'old'"
        )
        .await,
        205
    );
    sink.close().await;
}

/// Retention: slot statuses and per-slot bookkeeping below the newest finalized slot go,
/// and the rows of those slots still read as finalized.
#[tokio::test]
async fn pruned_slots_leave_their_rows_finalized() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let mut transactions: Vec<_> = (20..30)
        .map(|slot| transaction(&format!("tx-{slot}"), slot, Vec::new()))
        .collect();
    // tx-20 also seen in slot 25 (a fork carried it too)
    transactions.push(transaction("tx-20", 25, Vec::new()));
    sink.write(&Batch {
        transactions,
        slots: (20..30).map(finalized).collect(),
        checkpoint: Some(29),
    })
    .await
    .expect("write");
    // one confirmed slot above the newest finalized one, which also carries tx-21 again
    sink.write(&Batch {
        transactions: vec![
            transaction("tx-30", 30, Vec::new()),
            transaction("tx-21", 30, Vec::new()),
        ],
        ..Batch::default()
    })
    .await
    .expect("write");
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM transaction_slots").await,
        2,
        "tx-20 in 25 and tx-21 in 30"
    );
    assert_eq!(sink.prune_slots().await.expect("prune"), 9);
    assert_eq!(scalar(sink.client(), "SELECT count(*) FROM slots").await, 2);
    assert_eq!(
        scalar(sink.client(), "SELECT slot FROM transaction_slots").await,
        30,
        "the record below the newest finalized slot went"
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM indexed_transactions WHERE depin_commitment(slot) = 'finalized'"
        )
        .await,
        10
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM indexed_transactions WHERE depin_commitment(slot) = 'confirmed'"
        )
        .await,
        1
    );
    // a late duplicate of a pruned slot does not bring it back below finalized
    sink.write(&Batch {
        transactions: vec![transaction("tx-21", 21, Vec::new())],
        ..Batch::default()
    })
    .await
    .expect("write");
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM slots WHERE slot = 21 AND status = 'finalized'"
        )
        .await,
        1
    );
    assert_eq!(sink.prune_slots().await.expect("prune again"), 1);
    sink.close().await;
}

/// A slot whose ancestry no finalization reached stays confirmed below the newest finalized
/// slot: its rows keep their level and prunes keep its bookkeeping. Each prune counts such
/// slots in the `slots_unjudged` gauge, which falls back to zero once a finalization reaches
/// the slot.
#[tokio::test]
async fn slots_left_unjudged_below_finalized_are_counted_at_each_prune() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    assert_eq!(
        sink.unjudged_slots().await.expect("count"),
        0,
        "nothing is finalized yet"
    );
    let hooks = Hooks::default();
    let metrics = Arc::clone(&hooks.metrics);
    let unjudged = || metrics.slots_unjudged.load(Ordering::Relaxed);
    let mut writer = Writer::spawn(sink, hooks);
    // slot 10 confirmed; slot 20 finalized with its parent 19 never seen, so the
    // finalization cannot tell whether 10 is on its chain
    writer
        .write(Batch {
            transactions: vec![transaction("tx-10", 10, Vec::new())],
            slots: vec![confirmed(10)],
            checkpoint: Some(10),
        })
        .await
        .expect("queued");
    writer
        .write(Batch {
            transactions: vec![transaction("tx-20", 20, Vec::new())],
            slots: vec![finalized(20)],
            checkpoint: Some(20),
        })
        .await
        .expect("queued");
    writer.prune().await.expect("queued");
    writer.settle().await.expect("pruned");
    assert_eq!(unjudged(), 1);
    let db = connect(pg.url()).await;
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM slots WHERE slot = 10 AND status = 'confirmed'"
        )
        .await,
        1,
        "the prune kept the unjudged slot"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM indexed_transactions WHERE depin_commitment(slot) = 'confirmed'"
        )
        .await,
        1,
        "tx-10 still reads as confirmed"
    );

    // the stream tells slot 19 after all, a child of 10: 10 is finalized with it
    writer
        .write(Batch {
            slots: vec![SlotUpdate {
                slot: 19,
                parent: Some(10),
                status: SlotStatus::Reached(Commitment::Finalized),
            }],
            ..Batch::default()
        })
        .await
        .expect("queued");
    writer.prune().await.expect("queued");
    writer.settle().await.expect("pruned");
    assert_eq!(unjudged(), 0);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM indexed_transactions WHERE depin_commitment(slot) = 'finalized'"
        )
        .await,
        2
    );
    writer.close().await.expect("closed");
}

/// A transaction whose slot died lost its rows; landing again in another slot, it must be
/// written again even though the sink saw it before.
#[tokio::test]
async fn a_transaction_of_a_dead_slot_is_written_again_when_it_lands_elsewhere() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Processed, "main")
        .await
        .expect("sink");
    let deal = Pubkey::new_from_array([6; 32]);
    let first = transaction("moving", 40, vec![proposed(deal, 0, 100)]);
    sink.write(&Batch {
        transactions: vec![first.clone()],
        ..Batch::default()
    })
    .await
    .expect("first landing");
    let died = sink
        .write(&Batch {
            slots: vec![SlotUpdate {
                slot: 40,
                parent: Some(39),
                status: SlotStatus::Dead,
            }],
            ..Batch::default()
        })
        .await
        .expect("slot 40 dies");
    assert_eq!(died.dead_slots, 1);
    assert_eq!(
        scalar(sink.client(), "SELECT count(*) FROM storage_deal_proposed").await,
        0
    );
    let again = sink
        .write(&Batch {
            transactions: vec![IndexedTransaction { slot: 42, ..first }],
            ..Batch::default()
        })
        .await
        .expect("second landing");
    assert_eq!((again.transactions, again.event_rows), (1, 1));
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM storage_deal_proposed WHERE slot = 42"
        )
        .await,
        1
    );
    assert_eq!(deal_row(&sink, deal).await.get::<_, String>(0), "proposed");
    sink.close().await;
}

/// A transaction seen in two forks whose first slot dies moves to the other, and the sink
/// knows it there: delivered again in that slot it writes nothing, in a third slot it only
/// records that slot (after slots are removed the sink follows their transactions to where
/// they moved).
#[tokio::test]
async fn a_transaction_moved_out_of_a_dead_slot_is_known_where_it_moved() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Processed, "main")
        .await
        .expect("sink");
    let deal = Pubkey::new_from_array([7; 32]);
    let first = transaction("forked", 40, vec![proposed(deal, 0, 100)]);
    let in_slot = |slot| IndexedTransaction {
        slot,
        ..first.clone()
    };
    let stats = sink
        .write(&Batch {
            transactions: vec![first.clone(), in_slot(41)],
            ..Batch::default()
        })
        .await
        .expect("two forks");
    assert_eq!((stats.transactions, stats.event_rows), (1, 1));
    let died = sink
        .write(&Batch {
            slots: vec![SlotUpdate {
                slot: 40,
                parent: Some(39),
                status: SlotStatus::Dead,
            }],
            ..Batch::default()
        })
        .await
        .expect("slot 40 dies");
    assert_eq!(died.dead_slots, 1);
    async fn stored(client: &tokio_postgres::Client) -> String {
        client
            .query_one(
                "SELECT string_agg(slot::text, ',') FROM (SELECT slot FROM indexed_transactions
                 UNION ALL SELECT slot FROM storage_deal_proposed) s",
                &[],
            )
            .await
            .expect("stored")
            .get(0)
    }
    assert_eq!(stored(sink.client()).await, "41,41", "moved, rows and all");
    let again = sink
        .write(&Batch {
            transactions: vec![in_slot(41), in_slot(43)],
            ..Batch::default()
        })
        .await
        .expect("delivered again");
    assert_eq!(
        (again.transactions, again.event_rows, again.looked_up),
        (0, 0, 0),
        "known from memory, where it moved"
    );
    assert_eq!(stored(sink.client()).await, "41,41");
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM transaction_slots WHERE signature = 'forked' AND slot = 43"
        )
        .await,
        1,
        "the third slot recorded"
    );
    sink.close().await;
}

/// A transaction of a slot far below the newest (a lagging endpoint's fork) written, its
/// slot then removed: it is not remembered there, so its copy in the surviving fork is
/// written (the sink never keeps a signature below the slots it remembers, whose removal
/// it would not follow).
#[tokio::test]
async fn a_removed_old_slot_leaves_nothing_remembered_of_its_transactions() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Processed, "main")
        .await
        .expect("sink");
    let far = 500 + RECENT_SLOTS + COPIES_WITHIN;
    sink.write(&Batch {
        transactions: vec![transaction("far", far, Vec::new())],
        ..Batch::default()
    })
    .await
    .expect("far");
    let first = transaction(
        "late",
        500,
        vec![proposed(Pubkey::new_from_array([8; 32]), 0, 1)],
    );
    let written = sink
        .write(&Batch {
            transactions: vec![first.clone()],
            ..Batch::default()
        })
        .await
        .expect("an old slot");
    assert_eq!(
        (written.transactions, written.looked_up),
        (1, 1),
        "looked up, not found, written"
    );
    let died = sink
        .write(&Batch {
            slots: vec![SlotUpdate {
                slot: 500,
                parent: Some(499),
                status: SlotStatus::Dead,
            }],
            ..Batch::default()
        })
        .await
        .expect("slot 500 dies");
    assert_eq!(died.dead_slots, 1);
    let again = sink
        .write(&Batch {
            transactions: vec![IndexedTransaction { slot: 510, ..first }],
            ..Batch::default()
        })
        .await
        .expect("the surviving fork");
    assert_eq!(
        (again.transactions, again.event_rows, again.looked_up),
        (1, 1, 1)
    );
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM storage_deal_proposed WHERE signature = 'late' AND slot = 510"
        )
        .await,
        1
    );
    sink.close().await;
}

/// V26: no table of the write path keeps a unique key on a transaction's signature, and the
/// slot index the writer's lookups read summarizes each block range as the next begins.
#[tokio::test]
async fn transaction_rows_have_no_unique_key_and_their_slot_index_stays_summarized() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM pg_index
             WHERE indisunique AND indrelid IN ('indexed_transactions'::regclass,
                                               'decode_failures'::regclass)"
        )
        .await,
        0
    );
    let options: Vec<String> = sink
        .client()
        .query_one(
            "SELECT reloptions FROM pg_class WHERE relname = 'indexed_transactions_slot_brin'",
            &[],
        )
        .await
        .expect("the slot index")
        .get(0);
    assert_eq!(options, ["autosummarize=on"]);
    assert_eq!(
        scalar(
            sink.client(),
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'decode_failures'
             AND indexdef LIKE '%USING hash (signature)%'"
        )
        .await,
        1
    );
    sink.close().await;
}

/// V5 moves commitment from the rows to the slots: a database upgraded with data keeps its
/// rows' levels.
#[tokio::test]
async fn upgrading_to_slot_commitment_keeps_the_rows_levels() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut client = connect(pg.url()).await;
    migrate(&mut client, Some(4))
        .await
        .expect("schema before V5");
    client
        .batch_execute(
            "INSERT INTO indexed_transactions
                 (signature, slot, tx_index, commitment, events, failures, source) VALUES
                 ('a', 7, 0, 'finalized', 1, 0, 'grpc'), ('b', 8, 0, 'confirmed', 0, 0, 'grpc');
             INSERT INTO storage_deal_cancelled
                 (signature, instruction_index, event_index, slot, tx_index, commitment, deal,
                  refunded) VALUES ('a', 0, 0, 7, 0, 'finalized', 'deal', 5);
             INSERT INTO slots (slot, status) VALUES (8, 'processed');",
        )
        .await
        .expect("rows at the old schema");
    migrate(&mut client, None).await.expect("V5 and later");
    let level = |slot: i64| {
        let client = &client;
        async move {
            client
                .query_one("SELECT depin_commitment($1)", &[&slot])
                .await
                .expect("commitment")
                .get::<_, Option<String>>(0)
        }
    };
    assert_eq!(level(7).await.as_deref(), Some("finalized"));
    assert_eq!(
        level(8).await.as_deref(),
        Some("confirmed"),
        "raised to its rows' level"
    );
    assert_eq!(level(9).await, None, "a slot never seen");
    let refunded: String = client
        .query_one("SELECT refunded::text FROM storage_deal_cancelled", &[])
        .await
        .expect("row kept")
        .get(0);
    assert_eq!(refunded, "5");
}

/// V14 on a database with rows, a retention segment among them: the unique keys go (the
/// segment's copy too), the identifiers turn to byte order down to the segment, the rows
/// stay and are found by signature, and the state reads them as before.
#[tokio::test]
async fn upgrading_to_cheaper_event_rows_keeps_rows_and_segments() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut client = connect(pg.url()).await;
    migrate(&mut client, Some(13))
        .await
        .expect("schema before V14");
    client
        .batch_execute(
            "SELECT depin_event_segment('energy_reading_submitted', 0, 100);
             INSERT INTO indexed_transactions
                 (signature, slot, tx_index, events, failures, source) VALUES
                 ('a', 7, 0, 1, 0, 'grpc'), ('b', 8, 0, 1, 0, 'grpc');
             INSERT INTO storage_deal_proposed
                 (signature, instruction_index, event_index, slot, tx_index, deal, client,
                  deal_id, provider_device, piece_root, chunk_size, num_chunks,
                  price_per_period, periods, collateral)
             VALUES ('a', 0, 0, 7, 0, 'deal', 'client', 1, 'device', '\\x00', 1024, 4, 10,
                     3, 5);
             INSERT INTO energy_reading_submitted__0_100
                 (signature, instruction_index, event_index, slot, tx_index, market, device,
                  interval_index, produced_wh, consumed_wh, counter)
             VALUES ('b', 0, 0, 8, 0, 'market', 'meter', 1, 500, 20, 1);
             SELECT depin_rebuild_state();",
        )
        .await
        .expect("rows at the old schema");
    let deals_before = scalar(&client, "SELECT count(*) FROM deals").await;
    migrate(&mut client, None).await.expect("V14 and later");
    assert_eq!(
        scalar(
            &client,
            "SELECT count(*) FROM pg_index
             WHERE indisunique AND indrelid IN ('storage_deal_proposed'::regclass,
                   'energy_reading_submitted__0_100'::regclass)"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &client,
            "SELECT count(*) FROM pg_attribute
             WHERE attrelid = 'energy_reading_submitted__0_100'::regclass
               AND attname IN ('signature', 'device') AND attcollation = (
                   SELECT oid FROM pg_collation WHERE collname = 'C')"
        )
        .await,
        2,
        "the segment's identifiers follow its table's"
    );
    assert_eq!(
        scalar(
            &client,
            "SELECT count(*) FROM storage_deal_proposed WHERE signature = 'a'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &client,
            "SELECT count(*) FROM energy_reading_submitted WHERE signature = 'b'"
        )
        .await,
        1,
        "the segment's row, through its table"
    );
    client
        .batch_execute("SELECT depin_rebuild_state()")
        .await
        .expect("rebuild after the upgrade");
    assert_eq!(
        scalar(&client, "SELECT count(*) FROM deals").await,
        deals_before
    );
    assert_eq!(deals_before, 1);
}

/// V9 adds the region multiplier table hash to the reward root rows: roots indexed before
/// it were proposed without a table and read as the zero hash, in the events and in the
/// epoch's state, and new rows carry the hash the event names.
#[tokio::test]
async fn upgrading_to_multipliers_hash_reads_old_roots_as_no_table() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut client = connect(pg.url()).await;
    migrate(&mut client, Some(8))
        .await
        .expect("schema before V9");
    client
        .batch_execute(
            "INSERT INTO rewards_root_proposed
                 (signature, instruction_index, event_index, slot, tx_index, config, epoch,
                  oracle, root, cumulative_total, votes)
                 VALUES ('a', 0, 0, 7, 0, 'cfg', 0, 'oracle', '\\x01', 5, 1);
             INSERT INTO rewards_root_finalized
                 (signature, instruction_index, event_index, slot, tx_index, config, epoch,
                  root, cumulative_total)
                 VALUES ('a', 0, 1, 7, 0, 'cfg', 0, '\\x01', 5);
             SELECT depin_refresh_reward_epochs(ARRAY['cfg'], ARRAY[0::numeric]);",
        )
        .await
        .expect("roots at the old schema");
    migrate(&mut client, None).await.expect("V9 and later");
    let hashes = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .expect("hashes")
                .iter()
                .map(|r| r.get::<_, Vec<u8>>(0))
                .collect::<Vec<_>>()
        }
    };
    let zero = vec![0u8; 32];
    for sql in [
        "SELECT multipliers_hash FROM rewards_root_proposed",
        "SELECT multipliers_hash FROM rewards_root_finalized",
        "SELECT multipliers_hash FROM reward_epochs",
    ] {
        assert_eq!(hashes(sql).await, vec![zero.clone()], "{sql}");
    }
    // a new root names its hash, and the epoch's state follows the finalized one
    client
        .batch_execute(
            "INSERT INTO rewards_root_finalized
                 (signature, instruction_index, event_index, slot, tx_index, config, epoch,
                  root, cumulative_total, multipliers_hash)
                 VALUES ('b', 0, 0, 9, 0, 'cfg', 1, '\\x02', 6, '\\xabcd');
             SELECT depin_refresh_reward_epochs(ARRAY['cfg', 'cfg'], ARRAY[0, 1]::numeric[]);",
        )
        .await
        .expect("a root with a table");
    assert_eq!(
        hashes("SELECT multipliers_hash FROM reward_epochs ORDER BY epoch").await,
        vec![zero, vec![0xab, 0xcd]]
    );
    // and a row without one is refused
    assert!(client
        .batch_execute(
            "INSERT INTO rewards_root_finalized
                 (signature, instruction_index, event_index, slot, tx_index, config, epoch,
                  root, cumulative_total)
                 VALUES ('c', 0, 0, 10, 0, 'cfg', 2, '\\x03', 7);",
        )
        .await
        .is_err());
}

/// The writer task: batches are committed in order behind a checkpoint read; when the
/// database goes away, the failure comes back from the next call as a database error, and
/// nothing is reported as committed.
#[tokio::test]
async fn the_writer_commits_in_order_and_reports_a_database_failure() {
    let pg = TempPostgres::start().await.expect("postgres");
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let (observer, mut commits) = tokio::sync::mpsc::unbounded_channel();
    let hooks = Hooks {
        observer: Some(observer),
        ..Hooks::default()
    };
    let mut writer = Writer::spawn(sink, hooks);
    for slot in 50..53 {
        writer
            .write(Batch {
                transactions: vec![transaction(&format!("w-{slot}"), slot, Vec::new())],
                checkpoint: Some(slot),
                ..Batch::default()
            })
            .await
            .expect("queued");
    }
    assert_eq!(writer.checkpoint().await.expect("checkpoint"), Some(52));
    for slot in 50..53 {
        let committed = commits.try_recv().expect("reported in order");
        assert_eq!(committed.signatures, vec![format!("w-{slot}")]);
    }

    // the database stops: the next write fails in the task, the call after reports it
    drop(pg);
    let queued = writer
        .write(Batch {
            transactions: vec![transaction("lost", 60, Vec::new())],
            ..Batch::default()
        })
        .await;
    let failed = match queued {
        Err(e) => e,
        Ok(()) => writer.settle().await.expect_err("the write failed"),
    };
    assert!(matches!(failed, WriterError::Sink(_)), "{failed}");
    assert!(commits.try_recv().is_err(), "nothing reported as committed");
    writer
        .close()
        .await
        .expect("already stopped: nothing to close");
}

/// Claimed amount and claim count of epoch 1.
async fn epoch_totals(sink: &Sink) -> (String, i64) {
    let row = sink
        .client()
        .query_one(
            "SELECT claimed::text, claims FROM reward_epochs WHERE epoch = 1",
            &[],
        )
        .await
        .expect("epoch row");
    (row.get(0), row.get(1))
}

fn claimed(config: Pubkey, device: u8, amount: u64) -> Event {
    Event::Rewards(rewards::Event::RewardsClaimed(rewards::RewardsClaimed {
        config,
        device: Pubkey::new_from_array([device; 32]),
        owner: Pubkey::new_from_array([device; 32]),
        epoch: 1,
        amount,
        total_claimed: amount,
    }))
}

/// An epoch's claim totals grow by each batch's new claims (not summed again over the
/// epoch), and stay exact when a batch holds a stored claim the sink looked up and when a
/// slot with a claim dies.
#[tokio::test]
async fn epoch_claim_totals_add_up_on_every_path() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Processed, "main")
        .await
        .expect("sink");
    let config = Pubkey::new_from_array([11; 32]);
    let root = Event::Rewards(rewards::Event::RootProposed(rewards::RootProposed {
        config,
        epoch: 1,
        oracle: Pubkey::new_from_array([12; 32]),
        root: [1; 32],
        cumulative_total: 1_000,
        multipliers_hash: [0; 32],
        votes: 1,
    }));
    let write = |transactions: Vec<IndexedTransaction>| Batch {
        transactions,
        ..Batch::default()
    };
    sink.write(&write(vec![transaction("root", 100, vec![root])]))
        .await
        .expect("root");
    let a = transaction("claim-a", 101, vec![claimed(config, 1, 100)]);
    let b = transaction("claim-b", 101, vec![claimed(config, 2, 50)]);
    sink.write(&write(vec![a.clone(), b.clone()]))
        .await
        .expect("claims");
    assert_eq!(epoch_totals(&sink).await, ("150".into(), 2));
    // a remembered duplicate adds nothing
    sink.write(&write(vec![
        a,
        transaction("claim-c", 102, vec![claimed(config, 3, 25)]),
    ]))
    .await
    .expect("duplicate and a new claim");
    assert_eq!(epoch_totals(&sink).await, ("175".into(), 3));

    // a duplicate the sink does not remember (its slot below the remembered ones): looked up,
    // and only the new claim added
    let far = 102 + RECENT_SLOTS + 10;
    sink.write(&write(vec![transaction("far", far, Vec::new())]))
        .await
        .expect("far");
    sink.close().await;
    let mut sink = Sink::connect(pg.url(), Commitment::Processed, "main")
        .await
        .expect("restart");
    let d = transaction("claim-d", far + 1, vec![claimed(config, 4, 10)]);
    let stats = sink.write(&write(vec![b, d])).await.expect("looked up");
    assert_eq!((stats.looked_up, stats.transactions), (1, 1));
    assert_eq!(epoch_totals(&sink).await, ("185".into(), 4));

    // the slot of claim-d dies: its claim leaves the totals
    sink.write(&Batch {
        slots: vec![SlotUpdate {
            slot: far + 1,
            parent: Some(far),
            status: SlotStatus::Dead,
        }],
        ..Batch::default()
    })
    .await
    .expect("dead slot");
    assert_eq!(epoch_totals(&sink).await, ("175".into(), 3));
    sink.close().await;
}

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A stream of slot statuses with forks: slots `first..first + n`, each processed with its
/// parent (usually the slot before; sometimes the one before that, leaving the slot in
/// between as a sibling fork; now and then none reported), most confirmed, and six slots
/// later the slots of the surviving chain finalized (some skipped: their descendants'
/// finality reaches them) and some fork slots reported dead. Returns the statuses and each
/// slot's parent.
fn forked_statuses(rng: &mut Rng, first: u64, n: u64) -> (Vec<SlotUpdate>, Vec<Option<u64>>) {
    let parents: Vec<Option<u64>> = (first..first + n)
        .map(|s| match rng.below(100) {
            _ if s == first => Some(first - 1),
            0..=14 if s >= first + 2 => Some(s - 2),
            15..=19 => None,
            _ => Some(s - 1),
        })
        .collect();
    let parent = |s: u64| parents[usize::try_from(s - first).expect("small")];
    // the surviving chain: the tip's ancestry
    let mut chain = std::collections::BTreeSet::new();
    let mut at = Some(first + n - 1);
    while let Some(s) = at.filter(|s| *s >= first) {
        chain.insert(s);
        at = parent(s);
    }
    let reached = |slot, parent, c| SlotUpdate {
        slot,
        parent,
        status: SlotStatus::Reached(c),
    };
    let mut updates = Vec::new();
    for s in first..first + n {
        updates.push(reached(s, parent(s), Commitment::Processed));
        if rng.below(100) < 80 {
            // not every status repeats the parent
            let p = if rng.below(2) == 0 { parent(s) } else { None };
            updates.push(reached(s, p, Commitment::Confirmed));
        }
        let Some(old) = s.checked_sub(6).filter(|o| *o >= first) else {
            continue;
        };
        if chain.contains(&old) && rng.below(100) < 75 {
            updates.push(reached(old, parent(old), Commitment::Finalized));
        } else if !chain.contains(&old) && rng.below(100) < 40 {
            updates.push(SlotUpdate {
                slot: old,
                parent: parent(old),
                status: SlotStatus::Dead,
            });
        }
    }
    (updates, parents)
}

/// What the slot bookkeeping and the rows of `sink`'s database hold, for comparison.
async fn slot_outcome(sink: &Sink) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT slot::text || ' ' || COALESCE(parent::text, '-') || ' ' || status
         FROM slots ORDER BY slot",
        "SELECT signature || ' ' || slot FROM indexed_transactions ORDER BY signature",
        "SELECT signature || ' ' || slot FROM transaction_slots ORDER BY signature, slot",
        "SELECT signature || ' ' || slot FROM storage_deal_proposed ORDER BY signature",
    ] {
        for row in sink.client().query(sql, &[]).await.expect("outcome") {
            out.push(row.get(0));
        }
        out.push(String::new());
    }
    out
}

/// A batch's slot statuses are applied at once (one upsert; the finalizations only when the
/// chain does not simply extend the previous finalized slot). Whatever the batches, the
/// statuses, the forks removed and the rows left are those of the same statuses applied
/// one at a time: twenty seeded streams with forks, unknown parents, skipped finalizations
/// and dead slots, cut into batches of 1 to 30 statuses on one database and written one
/// status per batch on another.
#[tokio::test]
async fn slot_statuses_applied_at_once_end_as_one_at_a_time() {
    let (pg_at_once, pg_single) = tokio::join!(TempPostgres::start(), TempPostgres::start());
    let (pg_at_once, pg_single) = (pg_at_once.expect("postgres"), pg_single.expect("postgres"));
    let mut at_once = Sink::connect(pg_at_once.url(), Commitment::Processed, "main")
        .await
        .expect("sink");
    let mut single = Sink::connect(pg_single.url(), Commitment::Processed, "main")
        .await
        .expect("sink");
    let (mut removed, mut dead, mut finalized_slots) = (0, 0, 0);
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let first = seed * 1_000;
        let (updates, parents) = forked_statuses(&mut rng, first, 60);
        // two transactions per slot, and a fork's transaction also carried by its sibling
        let mut transactions = Vec::new();
        for (s, parent) in (first..).zip(&parents) {
            for i in 0..2u8 {
                let deal = Pubkey::new_from_array([
                    u8::try_from(seed).expect("small"),
                    i,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    u8::try_from(s % 256).expect("byte"),
                ]);
                transactions.push(transaction(
                    &format!("tx-{s}-{i}"),
                    s,
                    vec![proposed(deal, s, 1)],
                ));
            }
            if *parent == Some(s.saturating_sub(2)) {
                transactions.push(transaction(&format!("tx-{}-0", s - 1), s, Vec::new()));
            }
        }
        for sink in [&mut at_once, &mut single] {
            sink.write(&Batch {
                transactions: transactions.clone(),
                ..Batch::default()
            })
            .await
            .expect("transactions");
        }
        let mut rest = updates.as_slice();
        let mut removed_at_once = 0;
        while !rest.is_empty() {
            let take = usize::try_from(1 + rng.below(30))
                .expect("small")
                .min(rest.len());
            let (batch, after) = rest.split_at(take);
            rest = after;
            removed_at_once += at_once
                .write(&Batch {
                    slots: batch.to_vec(),
                    ..Batch::default()
                })
                .await
                .expect("statuses at once")
                .dead_slots;
        }
        let mut removed_single = 0;
        for update in &updates {
            removed_single += single
                .write(&Batch {
                    slots: vec![*update],
                    ..Batch::default()
                })
                .await
                .expect("one status")
                .dead_slots;
        }
        assert_eq!(
            removed_at_once, removed_single,
            "seed {seed}: slots removed"
        );
        assert_eq!(
            slot_outcome(&at_once).await,
            slot_outcome(&single).await,
            "seed {seed}"
        );
        removed += removed_at_once;
        dead += scalar(
            at_once.client(),
            "SELECT count(*) FROM slots WHERE status = 'dead'",
        )
        .await;
        finalized_slots += scalar(
            at_once.client(),
            "SELECT count(*) FROM slots WHERE status = 'finalized'",
        )
        .await;
        for sink in [&at_once, &single] {
            sink.client()
                .batch_execute(
                    "DELETE FROM slots; DELETE FROM events; DELETE FROM indexed_transactions;
                     DELETE FROM transaction_slots; DELETE FROM state_queue;",
                )
                .await
                .expect("clear");
        }
    }
    // the streams did fork, die and finalize
    assert!(
        removed > 20 && dead > 20 && finalized_slots > 200,
        "{removed} {dead} {finalized_slots}"
    );
    at_once.close().await;
    single.close().await;
}

/// The event tables are copied all at once. When the server refuses one of those copies,
/// the whole batch rolls back (the transactions' rows copied before it included), the
/// error is the refusal itself (not the aborted transaction of the copies after it), it is
/// not retried on that connection, and the batch is written whole by a new sink once the
/// cause is gone.
#[tokio::test]
async fn a_refused_event_copy_rolls_back_the_batch_and_is_not_retried() {
    let pg = TempPostgres::start().await.expect("postgres");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let admin = connect(pg.url()).await;
    // the first event table the batch copies refuses every row; the second is copied
    // after it in the same pipeline
    admin
        .batch_execute(
            "ALTER TABLE rewards_rewards_claimed ADD CONSTRAINT refuse_all CHECK (slot < 0)",
        )
        .await
        .expect("constraint");
    let config = Pubkey::new_from_array([4; 32]);
    let batch = Batch {
        transactions: vec![transaction(
            "both",
            5,
            vec![
                claimed(config, 1, 10),
                proposed(Pubkey::new_from_array([2; 32]), 0, 100),
            ],
        )],
        slots: vec![confirmed(5)],
        checkpoint: Some(5),
    };
    let refused = sink.write(&batch).await;
    match &refused {
        Err(SinkError::Pipelined(e)) => assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION),
            "{e:?}"
        ),
        other => panic!("expected the pipelined refusal, got {other:?}"),
    }
    assert!(refused
        .as_ref()
        .expect_err("refused")
        .to_string()
        .contains("refuse_all"));
    sink.close().await;
    for table in [
        "indexed_transactions",
        "rewards_rewards_claimed",
        "storage_deal_proposed",
        "slots",
        "state_queue",
        "indexer_checkpoint",
    ] {
        assert_eq!(
            scalar(&admin, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }

    admin
        .batch_execute("ALTER TABLE rewards_rewards_claimed DROP CONSTRAINT refuse_all")
        .await
        .expect("constraint dropped");
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "main")
        .await
        .expect("sink");
    let stats = sink.write(&batch).await.expect("written");
    assert_eq!((stats.transactions, stats.event_rows), (1, 2));
    assert_eq!(stats.looked_up, 0);
    assert_eq!(sink.checkpoint().await.expect("checkpoint"), Some(5));
    sink.close().await;
}
