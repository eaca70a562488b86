//! `depin localnet`: the suite's programs and the real SPL Token programs in the in-process
//! Solana runtime, served over JSON-RPC and Yellowstone gRPC on loopback until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use depin_localnet::{Config, Localnet, LocalnetError};
use depin_sdk::Pubkey;
use serde_json::json;
use solana_signer::Signer;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::keys;

/// Lamports the --keypair's account is funded with at start: 1,000 SOL.
pub const KEYPAIR_FUNDING: u64 = 1_000_000_000_000;

/// Options of `depin localnet`.
#[derive(Args, Debug)]
pub struct LocalnetArgs {
    /// Slot length in milliseconds (10 to 400).
    #[arg(long, default_value_t = 400)]
    pub slot_ms: u64,
    /// JSON-RPC port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8899)]
    pub rpc_port: u16,
    /// Yellowstone gRPC port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 10000)]
    pub grpc_port: u16,
    /// Funds an account at start: a pubkey or a keypair file, then lamports (repeatable).
    #[arg(long, num_args = 2, value_names = ["PUBKEY_OR_KEYPAIR_FILE", "LAMPORTS"])]
    pub fund: Vec<String>,
}

fn localnet_error(e: LocalnetError) -> CliError {
    match e {
        LocalnetError::Config(reason) => CliError::BadInput(reason),
        other => CliError::Localnet(other.to_string()),
    }
}

/// Runs the localnet until Ctrl-C; prints its URLs once it serves.
pub async fn run(ctx: &Ctx, args: LocalnetArgs) -> CliResult<()> {
    let mut fund: Vec<(Pubkey, u64)> = Vec::new();
    for pair in args.fund.chunks(2) {
        let [key, lamports] = pair else {
            return Err(CliError::BadInput("--fund takes a key and lamports".into()));
        };
        let lamports: u64 = lamports.parse().map_err(|_| {
            CliError::BadInput(format!("--fund: {lamports:?} is not a lamport amount"))
        })?;
        fund.push((keys::pubkey_or_keypair_file(key)?, lamports));
    }
    // the Solana CLI's keypair gets SOL, as solana-test-validator's faucet would give it;
    // a missing default file is no error (there may be no Solana CLI on this machine)
    match ctx.payer() {
        Ok(payer) => fund.push((payer.pubkey(), KEYPAIR_FUNDING)),
        Err(CliError::KeypairMissing(_)) if !ctx.keypair_explicit => {}
        Err(e) => return Err(e),
    }
    let config = Config {
        slot_time: Duration::from_millis(args.slot_ms),
        rpc_addr: SocketAddr::from(([127, 0, 0, 1], args.rpc_port)),
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], args.grpc_port)),
        fund: fund.clone(),
        ..Config::default()
    };
    let localnet = Localnet::start(config).await.map_err(localnet_error)?;
    let funded: Vec<_> = fund
        .iter()
        .map(|(key, lamports)| json!({"pubkey": key.to_string(), "lamports": lamports}))
        .collect();
    ctx.emit(&json!({
        "rpc_url": localnet.rpc_url(),
        "grpc_url": localnet.grpc_url(),
        "slot_ms": args.slot_ms,
        "funded": funded,
    }));
    let _ = std::io::stdout().flush();
    if ctx.output == crate::output::OutputFormat::Text {
        eprintln!("localnet running; Ctrl-C stops it");
    }
    let stopped = tokio::signal::ctrl_c().await;
    localnet.stop().await;
    stopped.map_err(|e| CliError::Localnet(format!("waiting for Ctrl-C: {e}")))
}
