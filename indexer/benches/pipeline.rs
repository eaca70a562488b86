//! Indexer throughput and latency: events per second from a Yellowstone gRPC stream into
//! PostgreSQL, against a plain binary COPY of the same rows measured in the same run, and
//! the end-to-end latency from the server sending an update to its rows being committed.
//!
//! The load is the scenario that drives every instruction of the five programs (run once in
//! the test runtime), replicated `DEPIN_BENCH_COPIES` times (default 400) with every
//! non-program address and signature rewritten per copy, so each copy is a separate set of
//! networks, devices and deals. Everything runs on loopback: a throwaway PostgreSQL cluster
//! (fsync off), the test Geyser server, the indexer with its default batching.
//!
//! Three rounds each run the baseline and then, right after it, the saturated indexer, the
//! write path alone and the stream alone; each figure is the median of its rounds and each
//! ratio the median of the rounds' own ratios (this machine's speed drifts between runs
//! more than between two runs seconds apart). The write path alone (the same transactions
//! decoded beforehand and written through the sink and its state refresher in the
//! indexer's batches, no stream) shows what the database side costs without the stream,
//! the decoding and this load generator sharing the two cores; the stream and decoding
//! alone (rows built, no database) show the other side's bound.
//!
//! Then the `depin-indexer` binary alone (a child process, default settings) indexes the
//! load and `DEPIN_BENCH_SCALE` (default 10) times it, with its peak RSS; and the state
//! refresh cost of the same load (queueing the keys and applying them, measured in each
//! batch's own transaction with the sink alone, so no other work shares its timing) is
//! compared between an empty database and one already holding the scaled load, beside a
//! plain COPY of the same rows into that database (rolled back) against the baseline's:
//! what larger tables cost work that never reads them. The
//! saturated run also reports when the state rows were current (the refresher, on its own
//! connection, had applied every batch), and the CPU time the indexer in this process
//! (stream, decoding, rows), the writer's database session, the refresher's and the load
//! generator (the Geyser server and its feed, on a thread of their own) spent until every
//! row was committed (from `/proc`, so the cluster must run on this machine, as the
//! throwaway one does): what the two cores were busy with, and the floor that CPU sets
//! (spread over the cores with none ever idle, the fastest the run could have been).
//!
//! `cargo bench -p depin-indexer --bench pipeline` (add
//! `CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16` for a quicker build).
//! `DEPIN_BENCH_BATCH` overrides `batch.max_transactions` of the in-process runs;
//! `DEPIN_PG_OPTIONS` passes server options to the throwaway clusters, e.g.
//! `-c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=15
//! -c auto_explain.log_nested_statements=on -c logging_collector=on -c log_directory=/tmp/pglog`
//! to see the plans of slow statements. `DEPIN_BENCH_STATEMENTS=N` (with
//! `-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all` in
//! `DEPIN_PG_OPTIONS`) instead indexes the load once and prints the N statements that spent
//! the most time executing, with their planning time when
//! `-c pg_stat_statements.track_planning=on` is added, and the rows the state tables and
//! the bookkeeping received (inserted, updated, deleted, live). The throwaway clusters live in
//! memory (`/dev/shm`) when the machine has room there, or under `DEPIN_PG_DIR` when set:
//! on this machine's disk, creating relation files grew slow as clusters were created and
//! removed (ext4's inode allocator), which weighed on the short baseline COPY more than on
//! the indexer and lifted the ratio from 0.33-0.37 in memory to 0.39.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use depin_indexer::config::Config;
use depin_indexer::metrics::Metrics;
use depin_indexer::rows::Value;
use depin_indexer::run::{run, Committed, Hooks};
use depin_indexer::sink::{
    event_rows, Batch, Commitment, Sink, SlotStatus, SlotUpdate, StagedTable,
};
use depin_indexer::source::{convert, subscribe, suite_programs, GrpcSettings, Update};
use depin_indexer::state::Refresher;
use depin_indexer::testkit::chain::{lay_out, replicate, stream_updates, ChainTransaction};
use depin_indexer::testkit::geyser::GeyserTestServer;
use depin_indexer::testkit::postgres::TempPostgres;
use depin_indexer::testkit::scenario::{bench_copies, recorded_scenario};
use futures::{pin_mut, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// The allocator of the `depin-indexer` binary (see its `main.rs`), so the in-process runs
/// measure what the binary does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const FIRST_SLOT: u64 = 10_000;
const PER_SLOT: usize = 50;

/// The event rows of `chain`, per table with its columns, built by the sink itself.
fn rows_of(chain: &[ChainTransaction]) -> Vec<StagedTable> {
    let batch = Batch {
        transactions: chain.iter().map(ChainTransaction::indexed).collect(),
        ..Batch::default()
    };
    event_rows(&batch).expect("slots fit in BIGINT")
}

fn row_count(tables: &[StagedTable]) -> u64 {
    tables.iter().map(|(_, _, rows)| rows.len() as u64).sum()
}

fn config(endpoint: &str, database: &str) -> Config {
    let mut config = Config::default();
    config.source.endpoint = endpoint.to_owned();
    config.source.commitment = Commitment::Confirmed;
    config.source.start_slot = Some(FIRST_SLOT);
    config.database.url = database.to_owned();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    if let Some(n) = std::env::var("DEPIN_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.batch.max_transactions = n;
    }
    config
}

/// Waits (at most a minute) until the indexer has subscribed to `geyser`.
async fn subscribed(geyser: &GeyserTestServer) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while geyser.subscriptions() == 0 {
        assert!(Instant::now() < deadline, "the indexer did not subscribe");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One round: the baseline and, right after it, every variant of the same load.
struct Round {
    copy: Duration,
    run: Run,
    written: Duration,
    current: Duration,
    streamed: Duration,
}

struct Run {
    elapsed: Duration,
    /// Until the state refresher had applied every batch (the state rows current).
    state_current: Duration,
    rows: u64,
    batches: u64,
    latencies: Vec<Duration>,
    /// CPU time spent until every row was committed.
    cpu: Cpu,
}

/// CPU time (user and system) of the parties of a run: the indexer in this process (the
/// stream and its decoding, the rows built), the load generator (the Geyser server and its
/// feed, on threads of their own), the indexer's writer session and its state refresher
/// session (the two PostgreSQL backends, found by their application names).
#[derive(Clone, Copy, Default)]
struct Cpu {
    indexer: Duration,
    generator: Duration,
    writer: Duration,
    refresher: Duration,
}

impl Cpu {
    fn total(&self) -> Duration {
        self.indexer + self.generator + self.writer + self.refresher
    }
}

/// The name of the load generator's threads.
const GENERATOR_THREAD: &str = "load-generator";

/// The load generator (the test Geyser server and the task feeding it) on a runtime of its
/// own, one thread named [`GENERATOR_THREAD`], so its CPU time is told apart from the
/// indexer's: on a real deployment the endpoint runs elsewhere.
struct Generator {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Generator {
    fn new() -> Generator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(GENERATOR_THREAD)
            .enable_all()
            .build()
            .expect("the load generator's runtime");
        Generator {
            runtime: Some(runtime),
        }
    }

    /// Runs `task` on the generator's thread.
    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime
            .as_ref()
            .expect("running until dropped")
            .spawn(task)
    }

    /// CPU time so far of the generator's threads.
    fn cpu(&self) -> Duration {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Duration::ZERO;
        };
        tasks
            .filter_map(Result::ok)
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|comm| comm.trim_end() == GENERATOR_THREAD)
            })
            .map(|t| cpu_in(&t.path().join("stat")))
            .sum()
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// CPU time so far of process `pid` ("self" for this one); zero when it is gone.
fn cpu_of(pid: &str) -> Duration {
    cpu_in(std::path::Path::new(&format!("/proc/{pid}/stat")))
}

/// CPU time so far of the process or thread whose `stat` file is `path` (`utime` +
/// `stime`, in Linux's fixed 100 Hz user ticks); zero when it is gone.
fn cpu_in(path: &std::path::Path) -> Duration {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return Duration::ZERO;
    };
    // the fields after the command name, which is in parentheses and may hold spaces
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The process ids of the indexer's writer and state refresher sessions in `pg`.
async fn session_pids(client: &tokio_postgres::Client) -> (String, String) {
    let pid = |name: &'static str| async move {
        let row = client
            .query_opt(
                "SELECT pid::text FROM pg_stat_activity WHERE application_name LIKE $1",
                &[&name],
            )
            .await
            .expect("sessions");
        row.map(|r| r.get::<_, String>(0)).unwrap_or_default()
    };
    (
        pid("depin-indexer writer%").await,
        pid("depin-indexer state").await,
    )
}

/// Streams `chain` through the indexer (in this process) into `pg`; `pace` spaces the
/// slots (None: as fast as the indexer takes them).
async fn index(
    pg: &TempPostgres,
    chain: &[ChainTransaction],
    expected_rows: u64,
    pace: Option<Duration>,
) -> Run {
    let generator = Generator::new();
    let geyser = Arc::new(
        generator
            .spawn(GeyserTestServer::start())
            .await
            .expect("the generator runs")
            .expect("geyser"),
    );
    // nobody resumes from this feed: keeping its history would copy every update
    geyser.without_replay();
    geyser.record_send_times();
    let (observer, mut commits) = mpsc::unbounded_channel::<Committed>();
    let hooks = Hooks {
        observer: Some(observer),
        ..Hooks::default()
    };
    let (stop, stopped) = watch::channel(false);
    let indexer = tokio::spawn(run(config(&geyser.endpoint(), pg.url()), hooks, stopped));
    subscribed(&geyser).await;
    let (client, connection) = tokio_postgres::connect(pg.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let (writer_pid, refresher_pid) = session_pids(&client).await;
    assert!(
        !writer_pid.is_empty() && !refresher_pid.is_empty(),
        "the indexer's sessions are connected once it subscribed"
    );
    let cpu_now = || {
        let generator = generator.cpu();
        Cpu {
            indexer: cpu_of("self").saturating_sub(generator),
            generator,
            writer: cpu_of(&writer_pid),
            refresher: cpu_of(&refresher_pid),
        }
    };
    let updates = stream_updates(chain);
    let cpu_before = cpu_now();
    let started = Instant::now();
    let feeder = Arc::clone(&geyser);
    let feed = generator.spawn(async move {
        let mut next = Instant::now();
        for update in updates {
            let is_status = matches!(
                update.update_oneof,
                Some(yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof::Slot(_))
            );
            feeder.push(update).await;
            if let (Some(pace), true) = (pace, is_status) {
                next += pace / 3;
                tokio::time::sleep_until(next.into()).await;
            }
        }
    });
    let mut committed_at: HashMap<String, Instant> = HashMap::new();
    let (mut rows, mut batches, mut last) = (0u64, 0u64, started);
    while rows < expected_rows {
        let c = tokio::time::timeout(Duration::from_secs(120), commits.recv())
            .await
            .expect("commits keep coming")
            .expect("observer open");
        rows += c.stats.event_rows;
        batches += 1;
        last = c.at;
        for s in c.signatures {
            committed_at.insert(s, c.at);
        }
    }
    let elapsed = last - started;
    let cpu_after = cpu_now();
    let cpu = Cpu {
        indexer: cpu_after.indexer.saturating_sub(cpu_before.indexer),
        generator: cpu_after.generator.saturating_sub(cpu_before.generator),
        writer: cpu_after.writer.saturating_sub(cpu_before.writer),
        refresher: cpu_after.refresher.saturating_sub(cpu_before.refresher),
    };
    // the state rows follow on the refresher's connection: until nothing is queued
    loop {
        let queued: i64 = client
            .query_one("SELECT count(*) FROM state_queue", &[])
            .await
            .expect("queue")
            .get(0);
        if queued == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let state_current = started.elapsed().max(elapsed);
    feed.await.expect("feed");
    let _ = stop.send(true);
    indexer.await.expect("join").expect("indexer ran");
    let mut latencies: Vec<Duration> = geyser
        .send_times()
        .into_iter()
        .filter_map(|(sig, sent)| {
            committed_at
                .get(&sig)
                .map(|at| at.saturating_duration_since(sent))
        })
        .collect();
    latencies.sort();
    Run {
        elapsed,
        state_current,
        rows,
        batches,
        latencies,
        cpu,
    }
}

/// Streams `chain` through the `depin-indexer` binary (a child process, default settings)
/// into `pg`; returns the time until every row was committed and the binary's peak
/// resident set (`VmHWM`, KiB), read before it is stopped.
async fn index_in_child(
    pg: &TempPostgres,
    chain: &[ChainTransaction],
    expected_rows: u64,
) -> (Duration, u64) {
    let geyser = GeyserTestServer::start().await.expect("geyser");
    geyser.without_replay();
    let dir = tempfile::tempdir().expect("tempdir");
    let config_file = dir.path().join("indexer.toml");
    std::fs::write(
        &config_file,
        format!(
            "[source]\ncommitment = \"confirmed\"\nstart_slot = {}\n",
            chain[0].slot
        ),
    )
    .expect("config file");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_depin-indexer"))
        .arg("--config")
        .arg(&config_file)
        .env("DEPIN_INDEXER_ENDPOINT", geyser.endpoint())
        .env("DATABASE_URL", pg.url())
        .env("DEPIN_INDEXER_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the indexer binary");
    subscribed(&geyser).await;
    let (client, connection) = tokio_postgres::connect(pg.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let started = Instant::now();
    for update in stream_updates(chain) {
        geyser.push(update).await;
    }
    // done when the checkpoint reaches the last slot (a cheap query, so the polling does
    // not compete with the indexer); then every row is counted once
    let last_slot = chain.last().map_or(0, |t| t.slot) as i64;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let checkpoint: Option<i64> = client
            .query_opt("SELECT slot FROM indexer_checkpoint", &[])
            .await
            .expect("checkpoint")
            .map(|r| r.get(0));
        if checkpoint >= Some(last_slot) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the binary did not index the load in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let rows: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows as u64, expected_rows, "every row once");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    child.kill().expect("stop the binary");
    let _ = child.wait();
    (elapsed, peak_kib)
}

/// The write path alone: `chain` decoded beforehand and written through the sink (with its
/// state refresher) in batches of `batch` transactions, each with its slots' statuses and
/// checkpoint, as the indexer writes them, but with no stream and no decoding to share the
/// machine with. Returns the time until every batch was committed and until the state rows
/// were current.
async fn write_alone(chain: &[ChainTransaction], batch: usize) -> (Duration, Duration) {
    let pg = cluster().await;
    let mut sink = Sink::connect(pg.url(), Commitment::Confirmed, "bench")
        .await
        .expect("sink");
    let refresher = Refresher::spawn(pg.url(), Arc::new(Metrics::default()))
        .await
        .expect("refresher");
    sink.refresh_state_with(refresher.waker());
    let batches = batches_of(chain, batch);
    let started = Instant::now();
    for b in &batches {
        sink.write(b).await.expect("write");
    }
    let written = started.elapsed();
    refresher.close().await.expect("state refreshed");
    let current = started.elapsed();
    sink.close().await;
    (written, current)
}

/// `chain` in batches of `batch` transactions as the indexer writes them: each with its
/// slots confirmed and finalized (parent: the slot before) and its checkpoint.
fn batches_of(chain: &[ChainTransaction], batch: usize) -> Vec<Batch> {
    chain
        .chunks(batch.max(1))
        .map(|part| {
            let mut slots: Vec<u64> = part.iter().map(|t| t.slot).collect();
            slots.dedup();
            Batch {
                transactions: part.iter().map(ChainTransaction::indexed).collect(),
                slots: slots
                    .iter()
                    .flat_map(|&slot| {
                        [Commitment::Confirmed, Commitment::Finalized].map(|c| SlotUpdate {
                            slot,
                            parent: Some(slot - 1),
                            status: SlotStatus::Reached(c),
                        })
                    })
                    .collect(),
                checkpoint: slots.last().copied(),
            }
        })
        .collect()
}

/// The state refresh cost of writing `chain` into `url`: the sink alone (no refresher), so
/// each batch's transaction queues its keys and applies them itself, one after the other
/// on one connection, with nothing running beside it. Returns the time spent queueing and
/// applying, summed over the batches.
async fn refresh_cost(url: &str, chain: &[ChainTransaction], batch: usize) -> Duration {
    let mut sink = Sink::connect(url, Commitment::Confirmed, "refresh-cost")
        .await
        .expect("sink");
    let mut total = Duration::ZERO;
    for b in &batches_of(chain, batch) {
        total += sink.write(b).await.expect("write").state_refresh;
    }
    sink.close().await;
    total
}

/// The indexer's side without a database: `chain` streamed by the test Geyser server over
/// loopback gRPC, each update converted and decoded as the indexer does, and the rows built
/// (in the indexer's batches) as the sink would write them, then dropped. Returns the time
/// until the last transaction's rows were built: what this process alone (load generator
/// included) takes, the bound on the whole pipeline from this side.
async fn stream_alone(chain: &[ChainTransaction], batch: usize) -> Duration {
    let geyser = Arc::new(GeyserTestServer::start().await.expect("geyser"));
    geyser.without_replay();
    let settings = GrpcSettings {
        endpoint: geyser.endpoint(),
        x_token: None,
        commitment: Commitment::Confirmed,
        connect_timeout: Duration::from_secs(5),
        programs: suite_programs().to_vec(),
    };
    let mut subscription = subscribe(&settings, None).await.expect("subscribe");
    subscribed(&geyser).await;
    let updates = stream_updates(chain);
    let started = Instant::now();
    let feeder = Arc::clone(&geyser);
    let feed = tokio::spawn(async move {
        for update in updates {
            feeder.push(update).await;
        }
    });
    let (mut received, mut rows) = (0usize, 0u64);
    let mut pending = Batch::default();
    while received < chain.len() {
        let update = tokio::time::timeout(Duration::from_secs(60), subscription.updates.next())
            .await
            .expect("updates keep coming")
            .expect("stream open")
            .expect("update");
        if let Update::Transaction(t) = convert(update) {
            received += 1;
            pending.transactions.push(*t);
            if pending.transactions.len() == batch || received == chain.len() {
                rows += row_count(&event_rows(&pending).expect("rows"));
                pending = Batch::default();
            }
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(rows, row_count(&rows_of(chain)), "every row built once");
    feed.await.expect("feed");
    elapsed
}

/// Binary COPY of the same rows straight into the event tables (no staging, no conflict
/// handling, no state): the database's own limit for these rows here.
async fn plain_copy(tables: &[StagedTable]) -> Duration {
    let pg = cluster().await;
    let sink = Sink::connect(pg.url(), Commitment::Confirmed, "bench")
        .await
        .expect("schema");
    sink.close().await;
    copy_into(pg.url(), tables, true).await
}

/// One binary `COPY` of `tables` into the database at `url`, in one transaction, committed
/// or rolled back; returns the time until it ended.
async fn copy_into(url: &str, tables: &[StagedTable], commit: bool) -> Duration {
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let started = Instant::now();
    let tx = client.transaction().await.expect("begin");
    for (table, columns, rows) in tables {
        let types: Vec<Type> = rows[0].iter().map(Value::pg_type).collect();
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({}) FROM STDIN BINARY",
                columns.join(", ")
            ))
            .await
            .expect("copy");
        let writer = BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        for row in rows {
            let refs: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            writer.as_mut().write(&refs).await.expect("row");
        }
        writer.finish().await.expect("finish");
    }
    if commit {
        tx.commit().await.expect("commit");
    } else {
        tx.rollback().await.expect("rollback");
    }
    started.elapsed()
}

/// Indexes the load once, saturated, into a cluster that tracks statements
/// (`pg_stat_statements`, nested ones included), and prints the `n` statements that spent
/// the most time executing in the writer's and the refresher's sessions (and the time spent
/// planning them, with `-c pg_stat_statements.track_planning=on`), with the baseline
/// COPY and the run's time and CPU beside them: where the database side of the indexer
/// goes. The cluster must load the module: `DEPIN_PG_OPTIONS="-c
/// shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"`.
async fn statements(chain: &[ChainTransaction], tables: &[StagedTable], total: u64, n: i64) {
    let copy = plain_copy(tables).await;
    let pg = cluster().await;
    let run = index(&pg, chain, total, None).await;
    let ms = |d: Duration| d.as_millis();
    println!(
        "COPY baseline {} ms; indexed in {} ms, state current at {} ms; CPU ms: indexer {}, writer {}, refresher {}, load generator {}",
        ms(copy),
        ms(run.elapsed),
        ms(run.state_current),
        ms(run.cpu.indexer),
        ms(run.cpu.writer),
        ms(run.cpu.refresher),
        ms(run.cpu.generator)
    );
    let client = pg.connect().await.expect("connect");
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .expect("pg_stat_statements installs");
    let top = client
        .query(
            "SELECT total_exec_time, calls, rows, regexp_replace(query, '\\s+', ' ', 'g'),
                    total_plan_time
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
            &[&n],
        )
        .await
        .expect("statements tracked: preload pg_stat_statements through DEPIN_PG_OPTIONS");
    println!(
        "{:>10} {:>10} {:>7} {:>8}  statement",
        "ms", "plan ms", "calls", "rows"
    );
    for row in top {
        let statement: String = row.get(3);
        println!(
            "{:>10.1} {:>10.1} {:>7} {:>8}  {}",
            row.get::<_, f64>(0),
            row.get::<_, f64>(4),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
            statement.chars().take(150).collect::<String>()
        );
    }
    // what the state refresh did to its tables: rows inserted and deleted (a refreshed key
    // is deleted and inserted again) against the rows they end with, beside the bookkeeping
    let tables = client
        .query(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup
             FROM pg_stat_user_tables
             WHERE relname IN ('networks', 'makers', 'devices', 'stake_positions',
                               'device_bonds', 'deals', 'reward_epochs', 'reward_claims',
                               'energy_intervals', 'energy_orders', 'indexed_transactions',
                               'slots', 'state_queue')
             ORDER BY n_tup_ins DESC",
            &[],
        )
        .await
        .expect("table statistics");
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "table", "inserted", "updated", "hot", "deleted", "live"
    );
    for row in tables {
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9}",
            row.get::<_, &str>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
            row.get::<_, i64>(3),
            row.get::<_, i64>(4),
            row.get::<_, i64>(5)
        );
    }
}

/// A throwaway cluster for one measurement (in memory when the machine has room: see
/// `cluster_base` in the testkit).
async fn cluster() -> TempPostgres {
    TempPostgres::start().await.expect("postgres")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var_os("DEPIN_BENCH_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("depin_indexer=debug")
            .with_writer(std::io::stderr)
            .try_init();
    }
    let copies = bench_copies();
    let recorded = recorded_scenario().await.expect("scenario");
    let scale: u64 = std::env::var("DEPIN_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let chain = lay_out(replicate(&recorded, 1..=copies), FIRST_SLOT, PER_SLOT);
    let tables = rows_of(&chain);
    let total = row_count(&tables);
    println!(
        "load: {} transactions, {} event rows in {} tables ({} copies of the scenario, {} per slot)",
        chain.len(),
        total,
        tables.len(),
        copies,
        PER_SLOT
    );

    // Three rounds, each measuring the baseline and then every variant right after it, so a
    // ratio compares runs seconds apart: this machine's speed drifts between runs (the
    // same COPY took 0.25 to 0.59 s over one day), and the ratio of a round is steadier than
    // a median of each figure alone. Every figure printed is the median of its three
    // rounds, every ratio the median of the three rounds' ratios.
    let batch = Config::default().batch.max_transactions;
    if let Some(n) = std::env::var("DEPIN_BENCH_STATEMENTS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        statements(&chain, &tables, total, n).await;
        return;
    }
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let copy = plain_copy(&tables).await;
        let run = index(&cluster().await, &chain, total, None).await;
        assert_eq!(run.rows, total, "every row indexed once");
        let (written, current) = write_alone(&chain, batch).await;
        let streamed = stream_alone(&chain, batch).await;
        rounds.push(Round {
            copy,
            run,
            written,
            current,
            streamed,
        });
    }
    let per_sec = |d: Duration| total as f64 / d.as_secs_f64();
    // the median over the rounds of `figure`, and of its ratio to the round's COPY
    let median = |figure: &dyn Fn(&Round) -> Duration| -> (f64, f64) {
        let mut rates: Vec<f64> = rounds.iter().map(|r| per_sec(figure(r))).collect();
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|r| per_sec(figure(r)) / per_sec(r.copy))
            .collect();
        rates.sort_by(f64::total_cmp);
        ratios.sort_by(f64::total_cmp);
        (rates[1], ratios[1])
    };
    let seconds = |figure: &dyn Fn(&Round) -> Duration| -> String {
        rounds
            .iter()
            .map(|r| format!("{:.3}", figure(r).as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let (copy_rate, _) = median(&|r| r.copy);
    println!(
        "binary COPY baseline   {:>9.0} rows/s  ({} rows, one transaction; rounds {} s)",
        copy_rate,
        total,
        seconds(&|r| r.copy)
    );
    let (rate, ratio) = median(&|r| r.run.elapsed);
    println!(
        "indexer, saturated     {:>9.0} events/s = {:.2} of COPY (rounds {} s; ratios {})",
        rate,
        ratio,
        seconds(&|r| r.run.elapsed),
        rounds
            .iter()
            .map(|r| format!("{:.2}", per_sec(r.run.elapsed) / per_sec(r.copy)))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    let (current_rate, current_ratio) = median(&|r| r.run.state_current);
    println!(
        "  state rows current   {:>9.0} events/s = {:.2} of COPY (refresher on its own connection)",
        current_rate, current_ratio
    );
    // the latency of the round with the median saturated time
    let mut by_time: Vec<&Round> = rounds.iter().collect();
    by_time.sort_by_key(|r| r.run.elapsed);
    let median_round = by_time[1];
    let saturated = &median_round.run;
    println!(
        "  latency send->commit p50 {:.1} ms, p99 {:.1} ms ({} batches; queued behind the backlog)",
        percentile(&saturated.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&saturated.latencies, 0.99).as_secs_f64() * 1e3,
        saturated.batches
    );
    let ms = |d: Duration| d.as_millis();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    println!(
        "  CPU until committed  indexer process {} ms (stream, decoding, rows), writer session {} ms, state refresher {} ms, load generator {} ms: {} ms of the {} ms {cores} cores give in that time",
        ms(saturated.cpu.indexer),
        ms(saturated.cpu.writer),
        ms(saturated.cpu.refresher),
        ms(saturated.cpu.generator),
        ms(saturated.cpu.total()),
        ms(saturated.elapsed * cores)
    );
    // the CPU is the floor: spread perfectly over the cores it would still take this long
    let floor = saturated.cpu.total() / cores;
    println!(
        "  that CPU on {cores} cores with no idle moment: {} ms = at best {:.2} of this round's COPY ({} ms)",
        ms(floor),
        median_round.copy.as_secs_f64() / floor.as_secs_f64().max(1e-9),
        ms(median_round.copy)
    );
    // the write path alone: what the database side costs without the stream and decoding
    // sharing the two cores
    let (written_rate, written_ratio) = median(&|r| r.written);
    let (_, current_alone_ratio) = median(&|r| r.current);
    println!(
        "write path alone       {:>9.0} events/s = {:.2} of COPY (batches of {batch}); state rows current at {:.2} of COPY",
        written_rate, written_ratio, current_alone_ratio
    );
    // the other side: streaming, decoding and row building with no database
    let (streamed_rate, streamed_ratio) = median(&|r| r.streamed);
    println!(
        "stream + decode alone  {:>9.0} events/s = {:.2} of COPY (rows built, no database)",
        streamed_rate, streamed_ratio
    );

    // paced at half the measured rate: latency of a keeping-up indexer
    let paced_chain: Vec<_> = chain.iter().take(chain.len() / 4).cloned().collect();
    let paced_rows = row_count(&rows_of(&paced_chain));
    let txs_per_sec = (rate / (total as f64 / chain.len() as f64)) / 2.0;
    let slot_every = Duration::from_secs_f64(PER_SLOT as f64 / txs_per_sec);
    let paced = index(&cluster().await, &paced_chain, paced_rows, Some(slot_every)).await;
    println!(
        "indexer, paced at {:.0} tx/s (one {}-tx slot every {:.1} ms): latency p50 {:.1} ms, p99 {:.1} ms over {} transactions",
        txs_per_sec,
        PER_SLOT,
        slot_every.as_secs_f64() * 1e3,
        percentile(&paced.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&paced.latencies, 0.99).as_secs_f64() * 1e3,
        paced.latencies.len()
    );

    // memory: the binary alone (a child process), at this load and at `scale` times it
    let pg = cluster().await;
    let (time_1x, rss_1x) = index_in_child(&pg, &chain, total).await;
    drop(pg);
    let big = lay_out(
        replicate(&recorded, copies + 1..=copies * (scale + 1)),
        FIRST_SLOT,
        PER_SLOT,
    );
    let big_rows = row_count(&rows_of(&big));
    let pg = cluster().await;
    let (time_big, rss_big) = index_in_child(&pg, &big, big_rows).await;
    for (label, rows, time, rss) in [
        ("1x", total, time_1x, rss_1x),
        (&format!("{scale}x") as &str, big_rows, time_big, rss_big),
    ] {
        println!(
            "depin-indexer binary, {label} load: {} rows in {:.3} s = {:.0} events/s, peak RSS {:.1} MiB",
            rows,
            time.as_secs_f64(),
            rows as f64 / time.as_secs_f64(),
            rss as f64 / 1024.0
        );
    }

    // state refresh with `scale` times the load already stored: the same load again (new
    // slots, its own keys) into the database the big run filled, against the load into an
    // empty one; both through the sink alone, so the refresh runs serially in each batch's
    // transaction with nothing beside it
    let after = big.last().map(|t| t.slot + 1).unwrap_or(FIRST_SLOT);
    drop(big);
    let again = lay_out(replicate(&recorded, 1..=copies), after, PER_SLOT);
    let empty_pg = cluster().await;
    let empty = refresh_cost(empty_pg.url(), &chain, batch).await;
    drop(empty_pg);
    let loaded = refresh_cost(pg.url(), &again, batch).await;
    let per_row = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
    println!(
        "state refresh of the same load: {:.1} us per event row into an empty database, {:.1} us per event row with {} rows stored ({:.2}x; in the write transaction, nothing beside it)",
        per_row(empty),
        per_row(loaded),
        big_rows,
        per_row(loaded) / per_row(empty)
    );
    // what larger tables cost work that does not look at them at all: the same load's
    // event rows, plain-COPYed into the database now holding every load above (rolled
    // back, so nothing stays), against the baseline's COPY into an empty one
    let copy_loaded = copy_into(pg.url(), &rows_of(&again), false).await;
    let copy_empty = Duration::from_secs_f64(total as f64 / copy_rate);
    println!(
        "  for scale, a plain COPY of those event rows: {:.3} s into an empty database (the baseline), {:.3} s with {} rows stored ({:.2}x)",
        copy_empty.as_secs_f64(),
        copy_loaded.as_secs_f64(),
        big_rows + total,
        copy_loaded.as_secs_f64() / copy_empty.as_secs_f64()
    );
}
