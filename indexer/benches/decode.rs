//! What reading a Geyser update costs: the same encoded updates decoded as the full
//! generated `SubscribeUpdate` and as the indexer's `wire::SubscribeUpdate` (the fields it
//! reads, the rest skipped on the wire), and the wire decoding followed by the conversion
//! the stream does (events decoded, an `IndexedTransaction` built).
//!
//! The load is the pipeline benchmark's: the scenario driving every instruction, replicated
//! `DEPIN_BENCH_COPIES` times (default 400). The generated feed carries what the test
//! Geyser server sends (no balances, token balances or rewards, which a real endpoint adds
//! and the wire decoding skips), so the gap here is the smallest it gets. Each figure is the
//! median of seven passes over all updates, single-threaded, the two decodings alternating.
//!
//! `cargo bench -p depin-indexer --bench decode`

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use depin_indexer::source::{convert, Update};
use depin_indexer::testkit::chain::{lay_out, replicate, stream_updates};
use depin_indexer::testkit::scenario::{bench_copies, recorded_scenario};
use depin_indexer::wire;
use prost::Message;
use yellowstone_grpc_proto::geyser::SubscribeUpdate;

/// The allocator of the `depin-indexer` binary, as in the pipeline benchmark.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The median of `passes`, each a pass over every encoded update.
fn median(passes: &mut [Duration]) -> Duration {
    passes.sort();
    passes[passes.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let copies = bench_copies();
    let recorded = recorded_scenario().await.expect("scenario");
    let chain = lay_out(replicate(&recorded, 1..=copies), 10_000, 50);
    // as the stream holds them: each message a slice of a received buffer, so a bytes
    // field can be a slice of it too (tonic decodes from its `BytesMut`)
    let encoded: Vec<Bytes> = stream_updates(&chain)
        .iter()
        .map(|u| Bytes::from(u.encode_to_vec()))
        .collect();
    let bytes: usize = encoded.iter().map(Bytes::len).sum();
    println!(
        "load: {} updates ({} transactions), {:.1} MiB encoded",
        encoded.len(),
        chain.len(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    let (mut full, mut slim, mut converted) = (Vec::new(), Vec::new(), Vec::new());
    let mut transactions = 0usize;
    for _ in 0..7 {
        let started = Instant::now();
        for message in &encoded {
            let update = SubscribeUpdate::decode(message.clone()).expect("decodes");
            std::hint::black_box(update);
        }
        full.push(started.elapsed());
        let started = Instant::now();
        for message in &encoded {
            let update = wire::SubscribeUpdate::decode(message.clone()).expect("decodes");
            std::hint::black_box(update);
        }
        slim.push(started.elapsed());
        let started = Instant::now();
        transactions = 0;
        for message in &encoded {
            let update = wire::SubscribeUpdate::decode(message.clone()).expect("decodes");
            if let Update::Transaction(t) = convert(update) {
                transactions += 1;
                std::hint::black_box(t);
            }
        }
        converted.push(started.elapsed());
    }
    assert_eq!(transactions, chain.len(), "every transaction converted");
    let per_tx = |d: Duration| d.as_secs_f64() * 1e6 / chain.len() as f64;
    let (full, slim, converted) = (median(&mut full), median(&mut slim), median(&mut converted));
    println!(
        "decode, generated SubscribeUpdate   {:>7.1} ms = {:.2} us per transaction",
        full.as_secs_f64() * 1e3,
        per_tx(full)
    );
    println!(
        "decode, wire::SubscribeUpdate        {:>7.1} ms = {:.2} us per transaction ({:.2}x the generated)",
        slim.as_secs_f64() * 1e3,
        per_tx(slim),
        slim.as_secs_f64() / full.as_secs_f64()
    );
    println!(
        "wire decode + convert (events, rows' input) {:>7.1} ms = {:.2} us per transaction",
        converted.as_secs_f64() * 1e3,
        per_tx(converted)
    );
}
