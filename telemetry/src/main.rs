//! `depin-telemetry`: the telemetry ingest service. `DATABASE_URL` names the indexer's
//! database; `DEPIN_TELEMETRY_LISTEN` the address to listen on (default 127.0.0.1:8900);
//! `DEPIN_TELEMETRY_CONNECTIONS` the most database connections at once (default 4);
//! `DEPIN_TELEMETRY_RETAIN_SECS` how long reports are kept (default: all; at least the
//! week a report is accepted for), pruned every ten minutes (`GET /v1/pruning` tells how
//! the rounds went).
//! Stops cleanly on Ctrl-C or SIGTERM; exits 2 on bad configuration, 1 when it cannot start.

use std::process::ExitCode;

use depin_telemetry::{serve, Config, IngestError};

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(database_url) = std::env::var("DATABASE_URL") else {
        eprintln!("error: DATABASE_URL is not set (the indexer's PostgreSQL database)");
        return ExitCode::from(2);
    };
    let mut config = Config::new(database_url);
    if let Ok(listen) = std::env::var("DEPIN_TELEMETRY_LISTEN") {
        match listen.parse() {
            Ok(addr) => config.listen = addr,
            Err(e) => {
                eprintln!("error: DEPIN_TELEMETRY_LISTEN {listen:?}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Ok(connections) = std::env::var("DEPIN_TELEMETRY_CONNECTIONS") {
        match connections.parse::<usize>() {
            Ok(n) if n > 0 => config.connections = n,
            _ => {
                eprintln!("error: DEPIN_TELEMETRY_CONNECTIONS {connections:?}: a count above 0");
                return ExitCode::from(2);
            }
        }
    }
    if let Ok(keep) = std::env::var("DEPIN_TELEMETRY_RETAIN_SECS") {
        match keep.parse::<i64>() {
            Ok(secs) if secs > 0 => config.retain_secs = Some(secs),
            _ => {
                eprintln!("error: DEPIN_TELEMETRY_RETAIN_SECS {keep:?}: seconds above 0");
                return ExitCode::from(2);
            }
        }
    }
    let running = match serve(config).await {
        Ok(running) => running,
        Err(e @ IngestError::Config(_)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("telemetry ingest on {}/v1/telemetry", running.url());
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            eprintln!("error: cannot watch SIGTERM: {e}");
            return ExitCode::from(1);
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    running.stop().await;
    eprintln!("stopped");
    ExitCode::SUCCESS
}
