//! `depin localnet` serves JSON-RPC on the ports it was given, funds what it was told to,
//! answers the CLI, and stops cleanly on Ctrl-C (SIGINT).

use std::process::Stdio;
use std::time::Duration;

use crate::common::{run_depin, SOL};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_localnet_command_serves_funds_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let keypair = Keypair::new();
    let keypair_path = dir.path().join("id.json");
    std::fs::write(
        &keypair_path,
        serde_json::to_string(&keypair.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let extra = Keypair::new().pubkey();

    let mut child = tokio::process::Command::new(crate::common::depin_bin())
        .args([
            "--keypair",
            keypair_path.to_str().unwrap(),
            "--output",
            "json",
            "localnet",
            "--rpc-port",
            "0",
            "--grpc-port",
            "0",
            "--slot-ms",
            "50",
            "--fund",
            &extra.to_string(),
            "5000000000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("depin localnet starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("the localnet prints its URLs within 120 s")
        .expect("stdout readable")
        .expect("one line");
    let started: serde_json::Value = serde_json::from_str(&first).expect("one JSON object");
    let url = started["rpc_url"].as_str().expect("rpc_url").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{started}");
    assert!(started["grpc_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(started["funded"].as_array().unwrap().len(), 2, "{started}");

    // the --fund account and the --keypair's account hold their SOL once a slot confirms
    let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());
    let mut funded = (0, 0);
    for _ in 0..200 {
        funded = (
            rpc.get_balance(&extra).await.unwrap_or(0),
            rpc.get_balance(&keypair.pubkey()).await.unwrap_or(0),
        );
        if funded.0 > 0 && funded.1 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(funded, (5 * SOL, 1_000 * SOL));

    // the CLI talks to it: a token mint paid by the funded keypair
    let created = run_depin(&[
        "--url",
        &url,
        "--keypair",
        keypair_path.to_str().unwrap(),
        "--output",
        "json",
        "token",
        "create-mint",
        "--decimals",
        "2",
    ])
    .await
    .json();
    assert_eq!(created["decimals"], 2);

    // Ctrl-C stops it cleanly
    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stops within 20 s of Ctrl-C")
        .expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(
        tokio::time::timeout(Duration::from_secs(5), lines.next_line())
            .await
            .expect("stdout closes")
            .expect("readable")
            .is_none(),
        "nothing more on stdout after the one object"
    );
}
