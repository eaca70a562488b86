//! What the CLI tests share: a real localnet on 127.0.0.1, keypair files in a tempdir, the
//! built `depin` binary run against it, and on-chain reads for the assertions.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of the helpers"
)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use anchor_spl::token::spl_token;
use depin_localnet::{Config, Localnet};
use depin_sdk::Pubkey;
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;

/// One SOL in lamports.
pub const SOL: u64 = 1_000_000_000;

/// A localnet, a tempdir for keypair files and stores, and an RPC client for assertions.
pub struct Env {
    /// The running localnet.
    pub localnet: Localnet,
    /// Its JSON-RPC URL.
    pub url: String,
    /// Reads for the assertions.
    pub rpc: RpcClient,
    /// Keypair files, CSVs, stores.
    pub dir: tempfile::TempDir,
}

/// What a `depin` run left behind.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The one JSON object printed on stdout; panics with the run's output otherwise.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "depin failed: {self:#?}");
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line of JSON: {self:#?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// A field of the JSON object as a pubkey.
    pub fn key(&self, field: &str) -> Pubkey {
        let json = self.json();
        json[field]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no pubkey at {field}: {json}"))
    }

    /// Asserts a bad-input exit: code 2, nothing on stdout, one line on stderr containing
    /// `needle`.
    pub fn assert_bad_input(&self, needle: &str) {
        assert_eq!(self.code, 2, "{self:#?}");
        assert!(self.stdout.is_empty(), "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(lines[0].contains(needle), "{needle:?} not in {self:#?}");
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The built binary.
pub fn depin_bin() -> &'static str {
    env!("CARGO_BIN_EXE_depin")
}

impl Env {
    /// Starts a localnet with fast slots on free ports.
    pub async fn start() -> Env {
        let localnet = Localnet::start(Config::ephemeral())
            .await
            .expect("localnet starts");
        let url = localnet.rpc_url();
        let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());
        Env {
            localnet,
            url,
            rpc,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A path in the tempdir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a new keypair file `name.json`, funded with `lamports` (none when 0).
    pub async fn key(&self, name: &str, lamports: u64) -> (PathBuf, Keypair) {
        let keypair = Keypair::new();
        let path = self.path(&format!("{name}.json"));
        std::fs::write(
            &path,
            serde_json::to_string(&keypair.to_bytes().to_vec()).expect("json"),
        )
        .expect("write keypair");
        if lamports > 0 {
            self.localnet
                .airdrop(&keypair.pubkey(), lamports)
                .await
                .expect("airdrop");
            self.wait_for_balance(&keypair.pubkey(), lamports).await;
        }
        (path, keypair)
    }

    /// Waits (at most 10 s) until `key` holds at least `lamports` at confirmed commitment.
    pub async fn wait_for_balance(&self, key: &Pubkey, lamports: u64) {
        for _ in 0..200 {
            if self.rpc.get_balance(key).await.unwrap_or(0) >= lamports {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{key} never reached {lamports} lamports");
    }

    /// Runs `depin --url <localnet> --keypair <keypair> --output json <args>`, stdin closed.
    pub async fn depin(&self, keypair: &Path, args: &[&str]) -> Run {
        let mut all = vec![
            "--url",
            &self.url,
            "--keypair",
            keypair.to_str().expect("utf-8 path"),
            "--output",
            "json",
        ];
        all.extend_from_slice(args);
        run_depin(&all).await
    }

    /// Lamports of `key`.
    pub async fn balance(&self, key: &Pubkey) -> u64 {
        self.rpc.get_balance(key).await.expect("balance")
    }

    /// Raw data of `address`, `None` when it does not exist.
    pub async fn data(&self, address: &Pubkey) -> Option<Vec<u8>> {
        self.rpc
            .get_account_with_commitment(address, CommitmentConfig::confirmed())
            .await
            .expect("account")
            .value
            .map(|a| a.data)
    }

    /// Decodes the suite account at `address`.
    pub async fn account<T: anchor_lang::AccountDeserialize + anchor_lang::Discriminator>(
        &self,
        address: &Pubkey,
    ) -> T {
        let data = self
            .rpc
            .get_account_data(address)
            .await
            .unwrap_or_else(|e| panic!("{address}: {e}"));
        depin_sdk::accounts::decode(&data).unwrap_or_else(|e| panic!("{address}: {e}"))
    }

    /// Balance of token account `address` (0 when it does not exist).
    pub async fn token_balance(&self, address: &Pubkey) -> u64 {
        match self.data(address).await {
            Some(data) => {
                spl_token::state::Account::unpack_from_slice(
                    &data[..spl_token::state::Account::LEN],
                )
                .expect("token account")
                .amount
            }
            None => 0,
        }
    }

    /// Supply of mint `mint`.
    pub async fn supply(&self, mint: &Pubkey) -> u64 {
        let data = self.data(mint).await.expect("mint exists");
        spl_token::state::Mint::unpack_from_slice(&data[..spl_token::state::Mint::LEN])
            .expect("mint")
            .supply
    }

    /// `owner`'s associated token account of SPL Token mint `mint`.
    pub fn ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
        anchor_spl::associated_token::get_associated_token_address_with_program_id(
            owner,
            mint,
            &spl_token::ID,
        )
    }
}

/// Runs the binary with `args` and a closed stdin; at most 120 s.
pub async fn run_depin(args: &[&str]) -> Run {
    let child = tokio::process::Command::new(depin_bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .unwrap_or_else(|_| panic!("depin {args:?} did not finish in 120 s"))
        .expect("depin runs");
    output.into()
}

/// The indexer running in this process on the localnet's Yellowstone gRPC (and JSON-RPC for
/// backfill), writing to a throwaway PostgreSQL cluster.
pub struct Indexer {
    /// The cluster.
    pub pg: depin_indexer::testkit::postgres::TempPostgres,
    following: depin_indexer::testkit::follow::Following,
}

impl Indexer {
    /// Starts PostgreSQL and the indexer, following the localnet from its first slot.
    pub async fn start(env: &Env) -> Indexer {
        let pg = depin_indexer::testkit::postgres::TempPostgres::start()
            .await
            .expect("postgres");
        let following = depin_indexer::testkit::follow::Following::start(
            &env.localnet.grpc_url(),
            &env.url,
            pg.url(),
        );
        Indexer { pg, following }
    }

    async fn value(&self, sql: &str) -> Option<i64> {
        let (client, connection) = tokio_postgres::connect(self.pg.url(), tokio_postgres::NoTls)
            .await
            .ok()?;
        tokio::spawn(connection);
        client.query_one(sql, &[]).await.ok().map(|row| row.get(0))
    }

    /// Waits (at most 60 s) until `sql` (one BIGINT) gives `expected`.
    pub async fn wait_for(&self, sql: &str, expected: i64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut last = None;
        while std::time::Instant::now() < deadline {
            last = self.value(sql).await;
            if last == Some(expected) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{sql}: {last:?}, expected {expected}");
    }

    /// `sql` (one BIGINT) gives `expected` now.
    pub async fn expect(&self, sql: &str, expected: i64) {
        assert_eq!(self.value(sql).await, Some(expected), "{sql}");
    }

    /// Stops the indexer (bounded) and checks it returned cleanly.
    pub async fn stop(self) {
        self.following
            .stop()
            .await
            .expect("the indexer stops cleanly");
    }
}

/// A network of `kind` with one approved maker; returns (admin, mint, network, maker file).
pub async fn network(env: &Env, id: &str, kind: &str) -> (PathBuf, Pubkey, Pubkey, PathBuf) {
    let (admin, _) = env.key("admin", 50 * SOL).await;
    let (maker, maker_key) = env.key("maker", 0).await;
    let mint = env
        .depin(&admin, &["token", "create-mint", "--decimals", "6"])
        .await
        .key("mint");
    let network = env
        .depin(
            &admin,
            &[
                "network",
                "create",
                "--network-id",
                id,
                "--kind",
                kind,
                "--reward-mint",
                &mint.to_string(),
                "--fee-mint",
                &mint.to_string(),
            ],
        )
        .await
        .key("network");
    let maker_s = maker_key.pubkey().to_string();
    env.depin(
        &admin,
        &[
            "maker",
            "register",
            "--network-id",
            id,
            "--maker-authority",
            &maker_s,
            "--name",
            "Acme",
            "--quota",
            "5",
        ],
    )
    .await
    .json();
    env.depin(
        &admin,
        &[
            "maker",
            "approve",
            "--network-id",
            id,
            "--maker-authority",
            &maker_s,
        ],
    )
    .await
    .json();
    (admin, mint, network, maker)
}

/// A loopback HTTP proxy to a node's JSON-RPC that, once a `sendTransaction` has gone
/// through it, answers every account read (`getAccountInfo`, `getMultipleAccounts`) with a
/// server error until re-armed: the node lost between a command's send and its read back.
pub struct ReadBackFails {
    /// The proxy's URL.
    pub url: String,
    sent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sends: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ReadBackFails {
    /// Starts the proxy in front of `target`.
    pub async fn start(target: String) -> ReadBackFails {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;

        use axum::extract::State;
        use axum::routing::post;
        use axum::{Json, Router};
        use serde_json::json;

        #[derive(Clone)]
        struct Proxy {
            target: String,
            http: reqwest::Client,
            sent: Arc<AtomicBool>,
            sends: Arc<AtomicUsize>,
        }
        async fn forward(State(p): State<Proxy>, Json(request): Json<Value>) -> Json<Value> {
            let method = request.get("method").and_then(Value::as_str).unwrap_or("");
            let read = matches!(method, "getAccountInfo" | "getMultipleAccounts");
            if read && p.sent.load(Ordering::SeqCst) {
                return Json(json!({"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32603, "message": "backend unavailable"}}));
            }
            let answer = match p.http.post(&p.target).json(&request).send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(e) => json!({"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32603, "message": e.to_string()}}),
            };
            if method == "sendTransaction" && answer.get("result").is_some() {
                p.sends.fetch_add(1, Ordering::SeqCst);
                p.sent.store(true, Ordering::SeqCst);
            }
            Json(answer)
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let proxy = Proxy {
            target,
            http: reqwest::Client::new(),
            sent: Arc::new(AtomicBool::new(false)),
            sends: Arc::new(AtomicUsize::new(0)),
        };
        let handle = ReadBackFails {
            url,
            sent: Arc::clone(&proxy.sent),
            sends: Arc::clone(&proxy.sends),
        };
        let app = Router::new().route("/", post(forward)).with_state(proxy);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        handle
    }

    /// Lets account reads through again, until the next send.
    pub fn rearm(&self) {
        self.sent.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Transactions the node accepted through the proxy.
    pub fn sends(&self) -> usize {
        self.sends.load(std::sync::atomic::Ordering::SeqCst)
    }
}
