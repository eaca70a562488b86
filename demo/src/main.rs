//! `cargo run --release --bin demo [-- --keep] [--small]`: starts the suite on loopback,
//! runs the fleet for a few accelerated epochs and prints the report (see the library).

use std::process::ExitCode;

use depin_demo::progress::Progress;
use depin_demo::sim::Demo;
use depin_demo::{checks, report, DemoError, Scale};

const USAGE: &str = "usage: demo [--keep] [--small]
  --keep   leave everything running after the report (Ctrl-C stops it)
  --small  the test's scale (72 devices, 2 epochs)";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let mut keep = false;
    let mut scale = Scale::full();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--keep" => keep = true,
            "--small" => scale = Scale::small(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match run(scale, keep).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the demo; `Ok(false)` when a check against the chain failed.
async fn run(scale: Scale, keep: bool) -> Result<bool, DemoError> {
    let progress = Progress::new(false);
    progress.step("starting the localnet, PostgreSQL, the indexer and the telemetry service");
    let mut demo = Demo::start(scale, progress.clone()).await?;
    demo.run().await?;
    demo.settle_indexer().await?;
    if demo.off_chain.is_some() {
        progress.step(
            "indexer caught up with every claim, suspension, interval and deal; reading the report",
        );
    } else {
        progress.step("without PostgreSQL there is no indexer, telemetry service or auditor: the oracles paid from the fleet's readings directly");
    }
    let report = report::read(&demo).await?;
    println!("{}", report.render());
    let checks = checks::run(&demo).await?;
    println!("════ Checked against the chain (JSON-RPC account reads) ════");
    let mut all = true;
    for c in &checks {
        all &= c.ok;
        println!(
            "  [{}] {} ({})",
            if c.ok { "ok" } else { "FAILED" },
            c.name,
            c.detail
        );
    }
    progress.step(format!("done in {:.1} s", progress.elapsed_secs()));
    if keep {
        println!("\nStill running (Ctrl-C stops everything):");
        println!("  JSON-RPC  {}", demo.localnet.rpc_url());
        println!("  gRPC      {}", demo.localnet.grpc_url());
        if let Some(off) = &demo.off_chain {
            println!("  psql '{}'", off.pg.url());
            println!("     e.g. SELECT * FROM audit_actions;  SELECT * FROM reward_epochs;");
            println!("  telemetry {}/v1/telemetry", off.telemetry.url());
        }
        if let Some(network) = demo.fleet.networks.first() {
            println!(
                "  cargo run -p depin-cli -- --url {} account show {}",
                demo.localnet.rpc_url(),
                network.net.network
            );
        }
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("waiting for Ctrl-C: {e}");
        }
    }
    progress.step(if demo.off_chain.is_some() {
        "shutting down: telemetry service, indexer, PostgreSQL, localnet"
    } else {
        "shutting down the localnet"
    });
    demo.stop().await?;
    Ok(all)
}
