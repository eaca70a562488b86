//! The sink's own guarantees against a real PostgreSQL server: migrations applied once and
//! recorded, one writer per database, out-of-range input refused whole.

use depin_indexer::decode::DecodedTransaction;
use depin_indexer::sink::{
    Batch, Commitment, IndexedTransaction, Sink, SinkError, SlotStatus, SlotUpdate, Source,
};
use depin_indexer::testkit::postgres::TempPostgres;

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
    assert_eq!(versions, vec![1, 2, 3, 4]);
    second.close().await;
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
        slots: vec![SlotUpdate {
            slot: 5,
            parent: Some(4),
            status: SlotStatus::Reached(Commitment::Confirmed),
        }],
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
