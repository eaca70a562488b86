//! Oracle benchmark: build the reward tree and every proof for N devices (default
//! 1,000,000; `DEPIN_BENCH_DEVICES` overrides), then verify proofs, and compare with the
//! bare SHA-256 work the same tree needs, measured in the same run.
//!
//! `cargo bench -p depin-sdk --bench oracle`. Prints figures; asserts nothing about time.

use std::hint::black_box;
use std::time::Instant;

use depin_core::merkle::Hasher;
use depin_sdk::oracle::{verify_proof, RewardRow, RewardTree, Sha256Hasher};
use depin_sdk::Pubkey;

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let n: usize = std::env::var("DEPIN_BENCH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("oracle benchmark, {n} devices");

    // Deterministic keys: the row generation is not what is measured.
    let rows: Vec<RewardRow> = (0..n as u64)
        .map(|i| {
            let mut device = [0u8; 32];
            device[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            let mut owner = [1u8; 32];
            owner[..8].copy_from_slice(&i.to_le_bytes());
            RewardRow {
                device: Pubkey::new_from_array(device),
                owner: Pubkey::new_from_array(owner),
                cumulative_amount: 1_000 + i,
            }
        })
        .collect();
    let rss_before = rss_mib().unwrap_or(0.0);

    // Baseline: the SHA-256 calls the tree needs (n leaves of 73 bytes, n - 1 nodes of 65)
    // and nothing else.
    let start = Instant::now();
    let mut acc = [0u8; 32];
    let leaf_msg = [7u8; 72];
    for _ in 0..n {
        acc = Sha256Hasher::hashv(&[&[0], &leaf_msg[..64], &acc[..8]]);
    }
    for _ in 1..n {
        acc = Sha256Hasher::hashv(&[&[1], &acc, &leaf_msg[..32]]);
    }
    black_box(acc);
    let baseline = start.elapsed();

    let start = Instant::now();
    let tree = RewardTree::build(rows).expect("rows are valid");
    let build = start.elapsed();
    let rss_tree = rss_mib().unwrap_or(0.0);

    let start = Instant::now();
    let mut proof_bytes = 0usize;
    for i in 0..tree.len() {
        let p = tree.proof_at(i).expect("index in range");
        proof_bytes += p.proof.len() * 32;
        black_box(&p);
    }
    let proofs = start.elapsed();

    let sample = n.min(200_000);
    let samples: Vec<_> = (0..sample)
        .map(|i| tree.proof_at(i * (n / sample)).expect("index in range"))
        .collect();
    let root = tree.root();
    let start = Instant::now();
    let mut valid = 0usize;
    for p in &samples {
        valid += usize::from(verify_proof(&root, &p.row, &p.proof));
    }
    let verify = start.elapsed();
    assert_eq!(valid, sample, "every proof must verify");

    println!("  tree depth                    {}", tree.depth());
    println!(
        "  build tree (sort + {:>8} hashes)   {:>8.3} s",
        2 * n - 1,
        build.as_secs_f64()
    );
    println!(
        "  baseline: bare SHA-256, same count  {:>8.3} s",
        baseline.as_secs_f64()
    );
    println!(
        "  ratio build / baseline              {:>8.2}",
        build.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "  all {n} proofs                  {:>8.3} s ({:.1} MB of proofs)",
        proofs.as_secs_f64(),
        proof_bytes as f64 / 1e6
    );
    println!(
        "  verifications per second            {:>8.0} ({} verified)",
        sample as f64 / verify.as_secs_f64(),
        sample
    );
    println!(
        "  memory (this process's RSS): with the rows {:.0} MiB, with rows and tree {:.0} MiB, peak {:.0} MiB",
        rss_before,
        rss_tree,
        peak_rss_mib().unwrap_or(0.0)
    );
    println!("  claim compute units at depth 20: skipped here (needs the SBF build of rewards; run `cargo run -p depin-tests --bin compute-units` with SBF_OUT_DIR set)");
}
