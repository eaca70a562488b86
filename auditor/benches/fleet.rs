//! The auditor on a simulated fleet: quality per fault kind against the ground truth, and
//! the cost of scoring.
//!
//! `cargo bench -p depin-auditor --bench fleet` simulates `FLEET_DEVICES` devices
//! (default 100,000) over `FLEET_DAYS` days (default 30) with `FLEET_FAULTY` (default
//! 0.02) of the fleet faulty with each kind, scores every day, and prints per kind the
//! precision, the recall and the hours from a fault's start to its first flag; the healthy
//! devices suspended; the time and peak memory to score one day of the fleet. Each day's
//! storage deals go through the closed-market search over the last seven days' deals,
//! whose findings count as collusion. It then
//! generates one day of features of `FLEET_SCALE_DEVICES` devices (default 1,000,000)
//! after `FLEET_SCALE_WARMUP` days (default 3) of history, and times scoring that day
//! alone against the goal of 30 s. Nothing is asserted: the figures are for reading.

use std::time::Instant;

use depin_auditor::detect::Auditor;
use depin_auditor::market::MarketThresholds;
use depin_auditor::sim::{DealWindow, Fleet, FleetConfig, Tally};
use depin_auditor::{FindingKind, Thresholds};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process so far (kB), from /proc/self/status.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_now_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let config = FleetConfig {
        devices: env("FLEET_DEVICES", 100_000),
        days: env("FLEET_DAYS", 30),
        faulty_fraction: env("FLEET_FAULTY", 0.02),
        seed: env("FLEET_SEED", 2026),
        ..FleetConfig::default()
    };
    println!(
        "fleet: {} devices, {} days, {:.1}% faulty with each of {} kinds, seed {}",
        config.devices,
        config.days,
        100.0 * config.faulty_fraction,
        FindingKind::ALL.len(),
        config.seed
    );
    let started = Instant::now();
    let fleet = Fleet::new(config);
    let infos = fleet.device_infos();
    println!(
        "generated the fleet in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut auditor = Auditor::new(Thresholds::default(), infos.clone(), Vec::new());
    let mut tally = Tally::new(&fleet);
    let mut deals = DealWindow::new(7);
    let (mut market, mut market_deals) = (0.0f64, 0usize);
    let (mut generate, mut extract, mut scoring) = (0.0f64, 0.0f64, Vec::new());
    let mut peak_during_scoring = 0u64;
    for day in 0..config.days {
        let t = Instant::now();
        let sim = fleet.day(day);
        generate += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let features = sim.features(&infos);
        extract += t.elapsed().as_secs_f64();
        drop(sim.hours);
        let t = Instant::now();
        let mut findings = match auditor.score(&sim.window, &features, &sim.assertions) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return;
            }
        };
        scoring.push(t.elapsed().as_secs_f64());
        peak_during_scoring = peak_during_scoring.max(rss_now_kb().unwrap_or(0));
        let day_deals = fleet.deals(day);
        market_deals += day_deals.len();
        let t = Instant::now();
        deals.push_and_audit(day_deals, &MarketThresholds::default(), &mut findings);
        market += t.elapsed().as_secs_f64();
        tally.record(sim.window.to, &findings);
    }
    println!();
    println!(
        "| kind                | labelled | flagged | true pos. | precision | recall | hours to flag: median | p95 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for q in tally.quality() {
        println!(
            "| {:<19} | {:>8} | {:>7} | {:>9} | {:>9.4} | {:>6.4} | {:>21.1} | {:>5.1} |",
            q.kind.name(),
            q.labelled,
            q.flagged,
            q.true_positives,
            q.precision(),
            q.recall(),
            q.hours_to_flag_median,
            q.hours_to_flag_p95
        );
    }
    println!();
    println!(
        "healthy devices suspended: {} (healthy devices flagged at all, lagging included: {})",
        tally.healthy_suspended(),
        tally.healthy_flagged()
    );
    let mut sorted = scoring.clone();
    sorted.sort_by(f64::total_cmp);
    let stats = auditor.stats();
    println!(
        "scoring one day of {} devices: median {:.3} s, slowest {:.3} s (after its history fills); generation {:.1} s and feature extraction {:.1} s over all {} days",
        config.devices,
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN),
        sorted.last().copied().unwrap_or(f64::NAN),
        generate,
        extract,
        config.days
    );
    println!(
        "augurs MSTL: {} regional forecasts in {:.3} s in total ({:.2} ms each); collusion pairs checked: {}",
        stats.mstl_fits,
        stats.mstl_secs,
        1e3 * stats.mstl_secs / stats.mstl_fits.max(1) as f64,
        stats.pairs_checked
    );
    println!(
        "storage market: {} deals over {} days, closed circles searched over the last 7 days' deals each day in {:.3} s in total",
        market_deals, config.days, market
    );
    println!(
        "resident memory: {} MB at most after a day's scoring, peak of the process so far (VmHWM) {} MB",
        peak_during_scoring / 1024,
        peak_rss_kb().unwrap_or(0) / 1024
    );
    for ((label, found), text) in tally.examples() {
        let label = label.map_or("healthy", FindingKind::name);
        println!("  example [{label} -> {}]: {text}", found.name());
    }

    // scale: score one day of a million devices' features
    let scale = FleetConfig {
        devices: env("FLEET_SCALE_DEVICES", 1_000_000),
        days: 30,
        seed: config.seed + 1,
        ..config
    };
    if scale.devices == 0 {
        return;
    }
    let warmup: u32 = env("FLEET_SCALE_WARMUP", 3);
    let fleet = Fleet::new(scale);
    let infos = fleet.device_infos();
    let mut auditor = Auditor::new(Thresholds::default(), infos.clone(), Vec::new());
    for day in 0..=warmup {
        let sim = fleet.day(day);
        let features = sim.features(&infos);
        let t = Instant::now();
        let result = auditor.score(&sim.window, &features, &sim.assertions);
        let secs = t.elapsed().as_secs_f64();
        if let Err(e) = result {
            eprintln!("error: {e}");
            return;
        }
        if day == warmup {
            println!();
            println!(
                "scoring one day of {} devices' features (day {}, after {} days of history): {:.2} s; goal 30 s for 1,000,000 on 2 cores: {:.1}% of the budget (single thread); peak RSS {} MB",
                scale.devices,
                day,
                warmup,
                secs,
                100.0 * secs / 30.0 * 1_000_000.0 / scale.devices as f64,
                peak_rss_kb().unwrap_or(0) / 1024
            );
        }
    }
}
