//! `depin-auditor`: scores a network's devices every interval and suspends the ones whose
//! findings warrant it, as the network's auditor key.
//!
//! Environment: `DATABASE_URL` (the indexer's database), `DEPIN_AUDITOR_RPC_URL` (a Solana
//! JSON-RPC endpoint), `DEPIN_AUDITOR_KEYPAIR` (the auditor's Solana CLI keypair file),
//! `DEPIN_AUDITOR_NETWORK` (the `Network` address), `DEPIN_AUDITOR_INTERVAL_SECS` (how often,
//! and the window scored; default 3600: windows lie on the interval's grid, and each is
//! scored `DEPIN_AUDITOR_GRACE_SECS` after it ends, default 60, so reports still on their
//! way are in it; a restart scores the last window again whole, a run that outlasts the
//! interval catches up the windows it missed, acting on the latest only: see
//! `depin_auditor::windows_due`),
//! `DEPIN_AUDITOR_DRY_RUN=1` to score without acting,
//! `DEPIN_AUDITOR_OUT_DIR` (optional) to write the oracle's inputs there after each run:
//! `health-<epoch>.csv` (`device,health_bps`: each device's mean health over the windows
//! scored in that rewards epoch so far, from `audit_health`; the epoch is the one the
//! scored window ends in) and the current epoch's region multipliers
//! `multipliers-<epoch>.json` (published in PostgreSQL first; see
//! `depin_auditor::regions`), or, until the network's rewards are indexed, `health.csv`
//! (the window's scores alone).
//! Prints one JSON line per flagged device, per action and per file set written (the
//! health file and the epoch it covers, the multipliers); exits 2 on bad configuration,
//! 1 when the database or the chain fails, 0 on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use depin_auditor::{act, next_due, score_network, windows_due, write_oracle_inputs, Thresholds};
use depin_sdk::client::{Client, ClientConfig};
use depin_sdk::Pubkey;
use solana_keypair::Keypair;

fn config_error(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn read_keypair(path: &str) -> Result<Keypair, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("keypair file {path}: {e}"))?;
    let bytes: Vec<u8> =
        serde_json::from_str(&text).map_err(|e| format!("keypair file {path}: {e}"))?;
    Keypair::try_from(bytes.as_slice()).map_err(|e| format!("keypair file {path}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = (|| -> Result<_, String> {
        let database = env("DATABASE_URL")?;
        let rpc = env("DEPIN_AUDITOR_RPC_URL")?;
        let auditor = read_keypair(&env("DEPIN_AUDITOR_KEYPAIR")?)?;
        let network: Pubkey = env("DEPIN_AUDITOR_NETWORK")?
            .parse()
            .map_err(|e| format!("DEPIN_AUDITOR_NETWORK: {e}"))?;
        let interval: u64 = match std::env::var("DEPIN_AUDITOR_INTERVAL_SECS") {
            Ok(v) => v.parse().ok().filter(|v| *v > 0).ok_or_else(|| {
                format!("DEPIN_AUDITOR_INTERVAL_SECS {v:?} is not a positive number")
            })?,
            Err(_) => 3_600,
        };
        let grace: u64 = match std::env::var("DEPIN_AUDITOR_GRACE_SECS") {
            Ok(v) => v.parse().map_err(|_| {
                format!("DEPIN_AUDITOR_GRACE_SECS {v:?} is not a number of seconds")
            })?,
            Err(_) => 60,
        };
        let dry_run = std::env::var("DEPIN_AUDITOR_DRY_RUN").is_ok_and(|v| v == "1");
        let out_dir = std::env::var("DEPIN_AUDITOR_OUT_DIR")
            .ok()
            .map(PathBuf::from);
        Ok((
            database,
            rpc,
            auditor,
            network,
            (interval, grace),
            dry_run,
            out_dir,
        ))
    })();
    let (database, rpc, auditor, network, (interval, grace), dry_run, out_dir) = match settings {
        Ok(s) => s,
        Err(e) => return config_error(e),
    };
    let mut db = match tokio_postgres::connect(&database, tokio_postgres::NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client
        }
        Err(e) => {
            eprintln!("error: database: {e}");
            return ExitCode::from(1);
        }
    };
    // the auditor pays its own transactions
    let signer = auditor.insecure_clone();
    let client = Client::new(rpc, signer, ClientConfig::default());
    let thresholds = Thresholds::default();
    let interval = i64::try_from(interval).unwrap_or(i64::MAX);
    let grace = i64::try_from(grace).unwrap_or(i64::MAX);
    let mut last_scored = None;
    let mut wait = Duration::ZERO;
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            eprintln!("error: cannot watch SIGTERM: {e}");
            return ExitCode::from(1);
        }
    };
    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
            _ = term.recv() => return ExitCode::SUCCESS,
        }
        let due = windows_due(now(), interval, grace, last_scored, CATCH_UP_WINDOWS);
        if let (Some(last), Some((first, _))) = (last_scored, due.first()) {
            let skipped = first.saturating_sub(last) / interval.max(1);
            if skipped > 0 {
                eprintln!(
                    "warning: {skipped} windows between {last} and {first} not scored (at most {CATCH_UP_WINDOWS} are caught up)"
                );
            }
        }
        let latest = due.last().map(|(_, to)| *to);
        for (from, to) in due {
            last_scored = Some(to);
            let scores = match score_network(&db, &network.to_string(), from, to, &thresholds).await
            {
                Ok(scores) => scores,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            };
            for score in scores.iter().filter(|s| !s.findings.is_empty()) {
                println!(
                    "{}",
                    serde_json::json!({
                        "device": score.device,
                        "health": score.health,
                        "explanation": score.explanation(),
                    })
                );
            }
            if let Some(dir) = &out_dir {
                match write_oracle_inputs(&mut db, dir, &network, &scores, (from, to)).await {
                    Ok(inputs) => {
                        println!(
                            "{}",
                            serde_json::json!({
                                "health_epoch": inputs.health_epoch,
                                "health": inputs.health.display().to_string(),
                            })
                        );
                        if let Some((epoch, path, hash)) = inputs.multipliers {
                            println!(
                                "{}",
                                serde_json::json!({
                                    "epoch": epoch,
                                    "multipliers": path.display().to_string(),
                                    "hash": depin_sdk::oracle::hex(&hash),
                                })
                            );
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                }
            }
            // a window caught up is scored and recorded; only the latest acts (a device
            // suspended for one window would be flagged again by the next, as indexed,
            // before the suspension reaches the indexer)
            if dry_run || Some(to) != latest {
                continue;
            }
            match act(&db, &client, &auditor, &network, &scores).await {
                Ok(actions) => {
                    for action in actions {
                        println!(
                            "{}",
                            serde_json::json!({
                                "suspended": action.device,
                                "evidence": depin_sdk::oracle::hex(&action.evidence),
                                "outcome": action.outcome,
                            })
                        );
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        // at once if another window fell due meanwhile, else at the next window's end plus
        // the grace, on the wall clock
        wait = if windows_due(now(), interval, grace, last_scored, 1).is_empty() {
            let until = next_due(now(), interval, grace).saturating_sub(now());
            Duration::from_secs(until.max(1).unsigned_abs())
        } else {
            Duration::ZERO
        };
    }
}

/// Most windows one run scores when it finds several due (after a run that outlasted the
/// interval, or a clock step): the latest ones, a day of hourly windows.
const CATCH_UP_WINDOWS: usize = 24;
