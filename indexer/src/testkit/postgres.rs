//! A throwaway PostgreSQL cluster from the machine's server binaries, or a fresh database on
//! the server `DATABASE_URL` names.
//!
//! The server refuses to run as root, so when the tests run as root the cluster belongs to
//! the `postgres` system user (its data directory is chowned to it and the binaries are
//! spawned with its uid and gid). fsync is off: the cluster lives as long as one test.
//!
//! A cluster is stopped and deleted when its [`TempPostgres`] drops, or when starting it
//! fails; should this process end without either (killed by a signal, or by `kill -9` in
//! the middle of a benchmark), a watchdog it leaves beside the server stops the server and
//! deletes its directory as soon as the process is gone.

use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a cluster could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No server binaries were found.
    #[error("no PostgreSQL server binaries (set PG_BIN or install postgresql): looked in {0}")]
    NoBinaries(String),
    /// Running as root without a `postgres` user to run the server as.
    #[error("running as root and there is no `postgres` user in /etc/passwd")]
    NoPostgresUser,
    /// A step failed.
    #[error("{step}: {reason}")]
    Step {
        /// The step.
        step: &'static str,
        /// What happened.
        reason: String,
    },
}

fn step(step: &'static str) -> impl Fn(std::io::Error) -> PgError {
    move |e| PgError::Step {
        step,
        reason: e.to_string(),
    }
}

/// A running throwaway cluster (stopped and deleted on drop), or a database on an external
/// server.
#[derive(Debug)]
pub struct TempPostgres {
    url: String,
    cluster: Option<Cluster>,
}

/// A throwaway cluster's files and server: stopped and deleted on drop.
#[derive(Debug)]
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    user: Option<(u32, u32)>,
    /// Stops the server and deletes `dir` once this process is gone (a `sh` script, in its
    /// own process group so a Ctrl-C meant for the tests does not end it first; its
    /// standard input is the pipe it waits on, open while this `Child` lives).
    watchdog: Option<Child>,
}

/// The watchdog's script (`$1` the cluster's directory, `$2` the server binaries): it
/// reads its standard input, a pipe only this process writes to, which ends when this
/// process does (however it ends; no /proc, no signal, no permission involved), then stops
/// the server and deletes the directory if they are still there.
const WATCHDOG: &str = r#"
read -r _
if [ -d "$1/data" ]; then
    "$2/pg_ctl" -D "$1/data" stop -m immediate >/dev/null 2>&1
    rm -rf "$1"
fi
"#;

fn find_binaries() -> Result<PathBuf, PgError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("PG_BIN") {
        candidates.push(dir.into());
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .cloned()
        .ok_or_else(|| {
            PgError::NoBinaries(
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

fn postgres_user() -> Result<Option<(u32, u32)>, PgError> {
    // SAFETY-free check of the effective user: /proc/self/status would do too
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .map_err(step("reading /proc/self"))?;
    if uid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(step("reading /etc/passwd"))?;
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() == Some(&"postgres") {
            let uid = fields.get(2).and_then(|v| v.parse().ok());
            let gid = fields.get(3).and_then(|v| v.parse().ok());
            if let (Some(uid), Some(gid)) = (uid, gid) {
                return Ok(Some((uid, gid)));
            }
        }
    }
    Err(PgError::NoPostgresUser)
}

fn free_port() -> Result<u16, PgError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(step("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(step("finding a free port"))?
        .port())
}

impl Cluster {
    /// `program` run as the server's user, its standard input empty.
    fn as_server_user(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command.stdin(Stdio::null());
        command
    }

    /// The server binary `program`, run as the server's user.
    fn command(&self, program: &str) -> Command {
        self.as_server_user(self.bin.join(program))
    }

    /// Leaves the watchdog beside the server (see [`WATCHDOG`]).
    fn watch(&mut self) -> Result<(), PgError> {
        let child = self
            .as_server_user("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("depin-pg-watchdog")
            .arg(&self.dir)
            .arg(&self.bin)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(step("starting the cluster's watchdog"))?;
        self.watchdog = Some(child);
        Ok(())
    }

    fn run(&self, step_name: &'static str, command: &mut Command) -> Result<(), PgError> {
        let output = command.output().map_err(step(step_name))?;
        if output.status.success() {
            return Ok(());
        }
        Err(PgError::Step {
            step: step_name,
            reason: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// Free space `/dev/shm` must have for [`cluster_base`] to choose it: a cluster takes
/// about 40 MB once made, the pipeline benchmark's largest load a few hundred more, and a
/// container's default `/dev/shm` (64 MB) must not be filled by two tests at once.
pub const MEMORY_ROOM: u64 = 1 << 30;

/// Where [`TempPostgres::start`] makes a throwaway cluster's directory: `DEPIN_PG_DIR` when
/// set, else memory (`/dev/shm`) when it has [`MEMORY_ROOM`] free, else the temporary
/// directory.
///
/// Memory first because on this project's build machine's disk, creating relation files
/// grew slow as clusters were made and removed (ext4's inode allocator, seen in a `perf`
/// profile of the pipeline benchmark); the indexer's tests took 64 s on disk and 41 s in
/// memory.
pub fn cluster_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("DEPIN_PG_DIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    let roomy = rustix::fs::statvfs(shm)
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize) >= MEMORY_ROOM)
        .unwrap_or(false);
    if roomy {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

impl TempPostgres {
    /// A fresh, empty database: on `DATABASE_URL`'s server if set (a new database named
    /// after this process and a counter), else in a new throwaway cluster under
    /// [`cluster_base`].
    pub async fn start() -> Result<Self, PgError> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Self::fresh_database(&url).await;
        }
        let base = cluster_base();
        let bin = find_binaries()?;
        let user = postgres_user()?;
        let dir = base.join(format!(
            "depin-pg-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).map_err(step("creating the cluster directory"))?;
        // from here on, a failed step stops and deletes what it started (Cluster's drop)
        let mut cluster = Cluster {
            bin,
            dir,
            user,
            watchdog: None,
        };
        if let Some((uid, gid)) = user {
            chown(&cluster.dir, Some(uid), Some(gid))
                .map_err(step("chowning the cluster directory"))?;
        }
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            cluster.command("initdb").arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ]),
        )?;
        let port = free_port()?;
        // DEPIN_PG_OPTIONS: more server options, for diagnostics (e.g. auto_explain)
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off {}",
            cluster.dir.display(),
            std::env::var("DEPIN_PG_OPTIONS").unwrap_or_default()
        );
        cluster.run(
            "pg_ctl start",
            cluster
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-w", "-t", "30", "-l"])
                .arg(cluster.dir.join("log"))
                .arg("start"),
        )?;
        cluster.watch()?;
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let pg = TempPostgres {
            url,
            cluster: Some(cluster),
        };
        pg.wait_ready().await?;
        Ok(pg)
    }

    async fn fresh_database(url: &str) -> Result<Self, PgError> {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| PgError::Step {
                step: "connecting to DATABASE_URL",
                reason: e.to_string(),
            })?;
        tokio::spawn(connection);
        let name = format!(
            "depin_test_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| PgError::Step {
                step: "creating a test database",
                reason: e.to_string(),
            })?;
        let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
        Ok(TempPostgres {
            url: format!("{base}/{name}"),
            cluster: None,
        })
    }

    async fn wait_ready(&self) -> Result<(), PgError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(PgError::Step {
                        step: "waiting for the server",
                        reason: e.to_string(),
                    })
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Connection URL of the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's directory, when this is a throwaway cluster.
    pub fn dir(&self) -> Option<&Path> {
        self.cluster.as_ref().map(|c| c.dir.as_path())
    }

    /// A new connection to the database (its connection task spawned on the runtime).
    pub async fn connect(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) =
            tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// Polls `sql` (one BIGINT) every 50 ms until it gives exactly `expected`, for at most
    /// `limit`; a query that fails (the tables not created yet) counts as not yet. The error
    /// says what it last gave.
    pub async fn wait_for(&self, sql: &str, expected: i64, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut last = None;
        loop {
            if let Ok(client) = self.connect().await {
                if let Ok(row) = client.query_one(sql, &[]).await {
                    let got: i64 = row.get(0);
                    if got == expected {
                        return Ok(());
                    }
                    last = Some(got);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("{sql} never gave {expected} (last: {last:?})"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        // a server never started refuses the stop: nothing to do then
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["stop", "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
