//! The `depin-indexer` binary as an operator runs it: killed with SIGKILL in the middle of
//! its work and restarted (nothing lost, nothing doubled), then stopped with SIGTERM (clean
//! exit after committing). Bad configuration exits with a message and status 2. And a
//! killed test process leaves no throwaway cluster behind.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use depin_indexer::testkit::geyser::GeyserTestServer;
use depin_indexer::testkit::postgres::TempPostgres;

const LIMIT: Duration = Duration::from_secs(60);

/// A running indexer process and everything it has logged so far.
struct Process {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Process {
    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

fn start(config_file: &std::path::Path, endpoint: &str, database: &str) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_depin-indexer"))
        .args(["--config"])
        .arg(config_file)
        .env("DEPIN_INDEXER_ENDPOINT", endpoint)
        .env("DATABASE_URL", database)
        .env("DEPIN_INDEXER_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "depin_indexer=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the indexer binary");
    // drain stderr so the process never blocks on a full pipe
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr piped");
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if let Ok(mut log) = sink.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
    Process { child, log }
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the indexer did not exit in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_batch_then_restarted_loses_and_doubles_nothing() {
    let chain = scenario_chain().await;
    let pg = TempPostgres::start().await.expect("postgres");
    let geyser = GeyserTestServer::start().await.expect("geyser server");
    let dir = tempfile::tempdir().expect("tempdir");
    let config_file = dir.path().join("indexer.toml");
    std::fs::write(
        &config_file,
        format!(
            "[source]\ncommitment = \"confirmed\"\nstart_slot = {FIRST_SLOT}\n\
             [batch]\nmax_transactions = 2\nflush_interval_ms = 5\n\
             [reconnect]\ninitial_backoff_ms = 20\nmax_backoff_ms = 200\n\
             [log]\nformat = \"json\"\n"
        ),
    )
    .expect("config file");

    // Given the indexer working through a stream that keeps coming
    let mut first = start(&config_file, &geyser.endpoint(), pg.url());
    let updates = chain.updates();
    let geyser = Arc::new(geyser);
    let feeder = Arc::clone(&geyser);
    let feed = tokio::spawn(async move {
        for update in updates {
            feeder.push(update).await;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    });
    // some rows are in, the stream is not finished
    assert_eq!(
        wait_for(pg.url(), "SELECT LEAST(count(*), 1) FROM events", 1, LIMIT).await,
        1,
        "{}",
        first.log()
    );

    // When it is killed without warning
    first.child.kill().expect("SIGKILL");
    let status = wait_exit(&mut first.child, LIMIT);
    assert!(!status.success());
    let db = connect(pg.url()).await;
    let rows_at_kill = scalar(&db, EVENT_ROWS).await;
    assert!(
        rows_at_kill < chain.expected_total(),
        "killed before the end"
    );
    feed.await.expect("feed");

    // and started again
    let mut second = start(&config_file, &geyser.endpoint(), pg.url());
    let last = chain.last_slot() as i64;
    assert_eq!(
        wait_for(pg.url(), CHECKPOINT, last, LIMIT).await,
        last,
        "{}",
        second.log()
    );

    // Then every row is there exactly once
    let expected = chain.expected_rows();
    assert_eq!(stored_rows(&db).await, expected);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM indexed_transactions").await,
        chain.suite_transactions() as i64
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COALESCE(sum(events), 0)::int8 FROM indexed_transactions"
        )
        .await,
        chain.expected_total()
    );

    // and the state rows, refreshed on their own connection (a refresh cut by the kill
    // rolled back; the restarted refresher resumed from the queue), are exactly a full
    // recompute from the events
    assert_eq!(wait_for(pg.url(), STATE_QUEUED, 0, LIMIT).await, 0);
    let (current, recomputed) = state_and_recompute(&db).await;
    assert_eq!(current, recomputed);

    // When it gets SIGTERM, it exits cleanly
    let pid = second.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());
    let status = wait_exit(&mut second.child, LIMIT);
    assert!(status.success(), "exit status {status:?}");
    // its last lines reach the log once its output is drained
    let deadline = std::time::Instant::now() + LIMIT;
    let mut log = second.log();
    while !log.contains("\"stopped\"") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        log = second.log();
    }
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("\"stopped\""), "{log}");
}

#[test]
fn bad_configuration_exits_with_status_2_and_the_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_depin-indexer"))
        .env_remove("DEPIN_INDEXER_ENDPOINT")
        .env_remove("DEPIN_INDEXER_CONFIG")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("source.endpoint"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_depin-indexer"))
        .args(["--bogus"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument"));
}

/// Set in the child process of the test below.
const ORPHAN_CHILD: &str = "DEPIN_TEST_ORPHAN_CHILD";

/// A throwaway cluster does not outlive its test process: killed with SIGKILL, when no
/// drop runs, the process leaves a watchdog that stops the server and deletes the
/// cluster's directory (before it, a killed benchmark left servers running and gigabytes
/// in /tmp).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_test_process_leaves_no_cluster_behind() {
    if std::env::var_os(ORPHAN_CHILD).is_some() {
        // the child: start a cluster, say where it is, and wait to be killed
        let pg = TempPostgres::start().await.expect("postgres");
        let dir = pg.dir().expect("a throwaway cluster");
        println!("CLUSTER {}", dir.display());
        std::io::Write::flush(&mut std::io::stdout()).expect("flush");
        tokio::time::sleep(LIMIT).await;
        return;
    }
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "a_killed_test_process_leaves_no_cluster_behind",
            "--nocapture",
        ])
        .env(ORPHAN_CHILD, "1")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child");
    let stdout = child.stdout.take().expect("the child's output");
    // the child prints the line within its LIMIT, or ends (and the lines end)
    let dir = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("CLUSTER ").map(std::path::PathBuf::from))
        .expect("the child started a cluster");
    let postmaster = std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .expect("the server runs")
        .lines()
        .next()
        .expect("its pid")
        .to_owned();
    let server = std::path::PathBuf::from(format!("/proc/{postmaster}"));
    assert!(server.exists(), "the server runs");

    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");

    let deadline = Instant::now() + Duration::from_secs(15);
    while (dir.exists() || server.exists()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!server.exists(), "the server {postmaster} still runs");
    assert!(!dir.exists(), "{} is still there", dir.display());
}
