//! Stateful fuzzer over the whole suite: long random sequences of instructions from all five
//! programs against the real runtime (real SPL Token, real Ed25519 precompile), checked after
//! every step against a simple model kept here.
//!
//! Each case builds two wireless networks (registry, staking, rewards), a storage network
//! with a market and an energy network with a market, then runs `FUZZ_STEPS` random steps:
//! honest operations of every program, and an attacker's: substituting another network's
//! device, claiming against superseded roots, accepting deals with terms it did not see,
//! replaying signed meter readings and whole transactions, churning orders, reporting faults
//! early. The model predicts, for every step, whether the runtime must accept or refuse it,
//! and after every step the invariants are checked:
//!
//! - tokens are conserved: every wallet, vault and treasury of each mint adds up to the
//!   mint's supply; reward supply grows only by claims, never past the latest finalized
//!   total, hence never past the schedule;
//! - no claim pays a device more than its amount in the latest finalized root;
//! - every vault holds exactly what the model says positions, deals and books owe;
//! - no step the model says must fail succeeds, and none that must succeed fails.
//!
//! `FUZZ_CASES` (default 4), `FUZZ_STEPS` (default 150) and `FUZZ_SEED` (default fixed) size
//! the run; a failure prints the case's seed and its steps so far, and
//! `FUZZ_SEED=<seed> FUZZ_CASES=1` replays it. Every case starts its clock at the same
//! time, so a seed's decisions and outcomes are the same from run to run (only addresses
//! differ).

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

mod energy;
mod storage;
mod wireless;

use depin_tests::runtime::{SendError, Suite};

/// SplitMix64: small, seedable, good enough to pick operations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform index into a slice of `len` elements.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Mostly (4 times in 5) an index of `0..len` for which `useful` holds, when there is
    /// one; otherwise any index: random sequences must reach deep states, not only refusals.
    pub fn prefer(&mut self, len: usize, useful: impl Fn(usize) -> bool) -> usize {
        let candidates: Vec<usize> = (0..len).filter(|&i| useful(i)).collect();
        if !candidates.is_empty() && self.chance(80) {
            candidates[self.index(candidates.len())]
        } else {
            self.index(len)
        }
    }
}

/// What one step does to the fuzzer: the runtime, the seeded choices and the trace.
pub struct Ctx {
    pub suite: Suite,
    pub rng: Rng,
    pub trace: Vec<String>,
    /// Accepted and refused steps per kind of operation, over every case.
    pub tally: std::collections::BTreeMap<String, (u64, u64)>,
}

impl Ctx {
    /// Records a step's outcome and fails when it is not what the model expected.
    pub fn expect(
        &mut self,
        what: String,
        must_succeed: bool,
        result: Result<(), SendError>,
    ) -> Result<bool, String> {
        let ok = result.is_ok();
        let kind: String = what
            .split_whitespace()
            .take(2)
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphabetic()))
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
            .collect::<Vec<_>>()
            .join(" ");
        let entry = self.tally.entry(kind).or_default();
        if ok {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        self.trace
            .push(format!("{what} -> {}", if ok { "ok" } else { "refused" }));
        if ok != must_succeed {
            return Err(format!(
                "{what}: the model expected {}, the runtime answered {result:?}",
                if must_succeed { "success" } else { "a refusal" }
            ));
        }
        Ok(ok)
    }

    pub async fn now(&mut self) -> i64 {
        self.suite.clock().await.unix_timestamp
    }

    pub async fn slot(&mut self) -> u64 {
        self.suite.clock().await.slot
    }
}

/// Unix time every case starts at (after any wall clock this suite will run under).
const START_TIME: i64 = 4_000_000_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run_case(
    seed: u64,
    steps: u64,
    tally: &mut std::collections::BTreeMap<String, (u64, u64)>,
) -> Result<(), (String, Vec<String>)> {
    let mut suite = Suite::start().await;
    // the runtime's clock starts at the wall clock; a fixed start makes a seed's run the
    // same every time (which intervals and epochs the steps fall in depends on it)
    suite.set_time(START_TIME).await;
    let mut ctx = Ctx {
        suite,
        rng: Rng::new(seed),
        trace: Vec::new(),
        tally: std::mem::take(tally),
    };
    let mut nets = [
        wireless::Wireless::setup(&mut ctx).await,
        wireless::Wireless::setup(&mut ctx).await,
    ];
    let mut disk = storage::Storage::setup(&mut ctx).await;
    let mut grid = energy::Energy::setup(&mut ctx).await;
    for step in 0..steps {
        let pick = ctx.rng.below(100);
        let result = match pick {
            0..=44 => {
                let (a, b) = nets.split_at_mut(1);
                let (this, other) = if ctx.rng.chance(50) {
                    (&mut a[0], &b[0])
                } else {
                    (&mut b[0], &a[0])
                };
                this.step(&mut ctx, other).await
            }
            45..=69 => disk.step(&mut ctx).await,
            70..=94 => grid.step(&mut ctx).await,
            _ => replay_a_transaction(&mut ctx).await,
        };
        let checked = match result {
            Ok(()) => {
                let mut all = Ok(());
                for net in &nets {
                    all = all.and(net.check(&mut ctx).await);
                }
                all.and(disk.check(&mut ctx).await)
                    .and(grid.check(&mut ctx).await)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            return Err((format!("step {step}: {e}"), ctx.trace));
        }
    }
    *tally = ctx.tally;
    Ok(())
}

/// The attacker resends a transaction the runtime already processed, signatures and all. The
/// runtime either refuses it or (the test bank's behaviour for a signature it has seen)
/// reports the first outcome again; either way it must not execute twice, which the
/// invariants checked right after this step establish (the model changes nothing).
async fn replay_a_transaction(ctx: &mut Ctx) -> Result<(), String> {
    let Some(tx) = ctx.suite.last_processed() else {
        return Ok(());
    };
    let result = ctx.suite.ctx.banks_client.process_transaction(tx).await;
    ctx.trace.push(format!(
        "replay the last transaction -> {}",
        if result.is_ok() {
            "reported ok"
        } else {
            "refused"
        }
    ));
    Ok(())
}

#[tokio::test]
async fn random_sequences_keep_every_invariant() {
    let cases = env_u64("FUZZ_CASES", 4);
    let steps = env_u64("FUZZ_STEPS", 150);
    let base = env_u64("FUZZ_SEED", 0x0dd_5eed);
    let started = std::time::Instant::now();
    let mut tally = std::collections::BTreeMap::new();
    for case in 0..cases {
        let seed = base.wrapping_add(case);
        if let Err((error, trace)) = run_case(seed, steps, &mut tally).await {
            let tail = trace.len().saturating_sub(40);
            panic!(
                "fuzz case with FUZZ_SEED={seed} failed: {error}\nlast steps:\n  {}",
                trace[tail..].join("\n  ")
            );
        }
    }
    println!(
        "fuzz: {cases} cases x {steps} steps, every invariant held ({:.1} s); accepted / refused:",
        started.elapsed().as_secs_f64()
    );
    for (kind, (ok, refused)) in &tally {
        println!("  {kind:24} {ok:>7} {refused:>7}");
    }
    // The run exercised the protocol, not only its refusals.
    for kind in [
        "claim dev",
        "prove deal",
        "report fault",
        "complete deal",
        "meter asks",
        "meter reads",
        "settle ask",
        "settle bid",
        "bond dev",
    ] {
        let accepted = tally.get(kind).map_or(0, |t| t.0);
        assert!(
            cases < 3 || accepted > 0,
            "no {kind:?} step was ever accepted: the fuzzer does not reach that path"
        );
    }
}
