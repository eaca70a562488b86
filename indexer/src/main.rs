//! `depin-indexer`: streams the suite's events from a Yellowstone gRPC endpoint into
//! PostgreSQL. Configuration: `--config <file>` (see `indexer.example.toml`) and the
//! environment variables named there. Stops cleanly on SIGINT or SIGTERM, committing what it
//! has received.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use depin_indexer::config::Config;
use depin_indexer::metrics::serve;
use depin_indexer::run::{run, Hooks};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// jemalloc, not glibc's malloc: streaming and decoding allocate and free many small
/// buffers per transaction, and glibc's allocator took about a third of that time
/// (`_int_malloc`, `malloc_consolidate`). Measured in the pipeline benchmark: stream and
/// decoding alone 1.6-2x as fast, peak RSS about 13 MiB higher (mimalloc: as fast, about
/// 1.5x jemalloc's RSS).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const USAGE: &str = "usage: depin-indexer [--config <file>]\n\
    environment: DEPIN_INDEXER_CONFIG, DEPIN_INDEXER_ENDPOINT, DEPIN_INDEXER_X_TOKEN,\n\
    DEPIN_INDEXER_COMMITMENT, DEPIN_INDEXER_RPC_URL, DATABASE_URL, DEPIN_INDEXER_LISTEN,\n\
    DEPIN_INDEXER_LOG_FORMAT, RUST_LOG";

fn config_path() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args().skip(1);
    let mut path = std::env::var_os("DEPIN_INDEXER_CONFIG").map(PathBuf::from);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                path = Some(args.next().ok_or("--config needs a file")?.into());
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(path)
}

#[tokio::main]
async fn main() -> ExitCode {
    let path = match config_path() {
        Ok(path) => path,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(path.as_deref(), |k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    if config.log.format == "json" {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }

    let (stop, stopped) = watch::channel(false);
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        _ => {
            tracing::error!("cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = sigint.recv() => tracing::info!("SIGINT"),
            _ = sigterm.recv() => tracing::info!("SIGTERM"),
        }
        let _ = stop.send(true);
    });

    let hooks = Hooks::default();
    let mut server_stop = stopped.clone();
    let served = serve(
        config.server.listen,
        hooks.metrics.clone(),
        Duration::from_secs(config.server.max_idle_secs),
        async move {
            let _ = server_stop.wait_for(|s| *s).await;
        },
    )
    .await;
    match served {
        Ok(addr) => tracing::info!(%addr, "metrics and health listening"),
        Err(e) => {
            tracing::error!(error = %e, listen = %config.server.listen, "cannot listen");
            return ExitCode::FAILURE;
        }
    }
    match run(config, hooks, stopped).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "indexer failed");
            ExitCode::FAILURE
        }
    }
}
