//! Clearing benchmark: the double auction over a full book (32 asks x 32 bids, prices
//! interleaved so that most orders cross), against a baseline measured in the same run:
//! sorting the same 64 prices with the standard library.
//!
//! `cargo bench -p depin-core --bench clearing`. Prints figures; asserts nothing about time.

use std::hint::black_box;
use std::time::Instant;

use depin_core::energy::{clear, Order, MAX_ORDERS_PER_SIDE};

fn main() {
    let mut seed: u64 = 0x1234_5678_9abc_def0;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    const BOOKS: usize = 1_000;
    let books: Vec<(Vec<Order>, Vec<Order>)> = (0..BOOKS)
        .map(|_| {
            let asks = (0..MAX_ORDERS_PER_SIDE)
                .map(|_| Order {
                    price: 50 + next(100),
                    wh: 1 + next(5_000),
                })
                .collect();
            let bids = (0..MAX_ORDERS_PER_SIDE)
                .map(|_| Order {
                    price: 100 + next(100),
                    wh: 1 + next(5_000),
                })
                .collect();
            (asks, bids)
        })
        .collect();

    let rounds = 200;
    let start = Instant::now();
    let mut volume = 0u64;
    let mut am = [0u64; MAX_ORDERS_PER_SIDE];
    let mut bm = [0u64; MAX_ORDERS_PER_SIDE];
    for _ in 0..rounds {
        for (asks, bids) in &books {
            let c = clear(black_box(asks), black_box(bids), &mut am, &mut bm).expect("valid book");
            volume = volume.wrapping_add(c.map_or(0, |c| c.volume_wh));
        }
    }
    let clearing = start.elapsed();
    black_box(volume);

    let start = Instant::now();
    let mut prices = [0u64; 2 * MAX_ORDERS_PER_SIDE];
    for _ in 0..rounds {
        for (asks, bids) in &books {
            for (p, o) in prices.iter_mut().zip(asks.iter().chain(bids.iter())) {
                *p = o.price;
            }
            prices.sort_unstable();
            black_box(&prices);
        }
    }
    let baseline = start.elapsed();

    let n = (rounds * BOOKS) as f64;
    println!("clearing benchmark, full book ({MAX_ORDERS_PER_SIDE} asks x {MAX_ORDERS_PER_SIDE} bids), {} clearings", rounds * BOOKS);
    println!(
        "  clear one full book             {:>8.2} us",
        clearing.as_secs_f64() * 1e6 / n
    );
    println!(
        "  baseline: std sort of 64 prices {:>8.2} us",
        baseline.as_secs_f64() * 1e6 / n
    );
    println!(
        "  ratio clear / baseline          {:>8.2}",
        clearing.as_secs_f64() / baseline.as_secs_f64()
    );
    println!("  compute units of clear_interval / submit_reading: see `cargo run -p depin-tests --bin compute-units` (SBF builds only)");
}
