//! Storage prover benchmark: build the piece commitment of files from 1 MiB to 1 GiB
//! (4 KiB chunks), against a baseline measured in the same run: one plain SHA-256 pass over
//! the same file. Then proof size and verification cost per challenge.
//!
//! `cargo bench -p depin-sdk --bench storage` (`DEPIN_BENCH_MAX_MIB` caps the largest file,
//! default 1024). Prints a table; asserts nothing about time.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Instant;

use depin_core::storage::verify_word;
use depin_sdk::oracle::Sha256Hasher;
use depin_sdk::storage::StorageProver;
use depin_sdk::Pubkey;
use sha2::{Digest, Sha256};

const CHUNK: u32 = 4096;

fn write_file(path: &std::path::Path, mib: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..mib {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        file.write_all(&block).expect("write");
    }
    file.flush().expect("flush");
}

fn sha256_file(path: &std::path::Path) -> [u8; 32] {
    let mut file = std::fs::File::open(path).expect("open");
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().into()
}

fn main() {
    let max: usize = std::env::var("DEPIN_BENCH_MAX_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir().expect("temp dir");
    println!("storage prover benchmark, {CHUNK}-byte chunks, 32-byte challenged words");
    println!(
        "{:>9} | {:>10} | {:>12} | {:>14} | {:>7} | {:>11} | {:>12}",
        "file", "chunks", "commit MiB/s", "sha256 MiB/s", "ratio", "proof bytes", "verify us"
    );
    let deal = Pubkey::new_from_array([7; 32]);
    for mib in [1usize, 16, 256, 1024].into_iter().filter(|m| *m <= max) {
        let path = dir.path().join(format!("piece-{mib}"));
        write_file(&path, mib);

        let start = Instant::now();
        black_box(sha256_file(&path));
        let baseline = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let prover = StorageProver::new(&path, CHUNK).expect("prover");
        let commit = start.elapsed().as_secs_f64();

        let challenges = prover
            .challenges(&[3; 32], &deal, 0, 64)
            .expect("challenges");
        let answers: Vec<_> = challenges
            .iter()
            .zip(0u8..)
            .map(|(at, i)| (*at, prover.answer(i, *at).expect("answer")))
            .collect();
        let proof_bytes = 1
            + 32
            + 4
            + 32 * answers[0].1.word_proof.len()
            + 4
            + 32 * answers[0].1.chunk_proof.len();
        let root = prover.piece_root();
        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            for (at, a) in &answers {
                assert!(verify_word::<Sha256Hasher>(
                    &root,
                    *at,
                    &a.word,
                    &a.word_proof,
                    &a.chunk_proof
                ));
            }
        }
        let verify_us = start.elapsed().as_secs_f64() * 1e6 / (rounds * answers.len()) as f64;
        println!(
            "{:>5} MiB | {:>10} | {:>12.0} | {:>14.0} | {:>7.2} | {:>11} | {:>12.2}",
            mib,
            prover.num_chunks(),
            mib as f64 / commit,
            mib as f64 / baseline,
            commit / baseline,
            proof_bytes,
            verify_us
        );
        std::fs::remove_file(&path).expect("remove");
    }
    println!("compute units of submit_proof: see `cargo run -p depin-tests --bin compute-units` (SBF builds only)");
}
