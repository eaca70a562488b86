//! # compute-units
//!
//! Compute units of every instruction of the five programs, measured on the SBF builds in
//! the runtime the tests use, each row naming the scenario it measures. Run it with
//! `SBF_OUT_DIR` holding every program's `.so` (`anchor build` output, or the SBF lane of
//! `../shared/sbf-lane`):
//!
//! ```sh
//! SBF_OUT_DIR=target/deploy cargo run -p depin-tests --bin compute-units [-- --samples N]
//! ```
//!
//! Instructions whose cost depends on an address (creating an account searches its
//! canonical bump) run `--samples` times (default 8) with fresh keys; the table gives the
//! minimum, median and maximum. Every measurement is checked against the budget the SDK
//! gives that instruction (`depin_sdk::compute::units`: its row of `BUDGETS`, plus what a
//! longer proof than the measured one adds), which transaction senders use as compute-unit
//! limits: the binary fails (exit 1) when a measurement exceeds its budget. It then prints each
//! program's size and the rent its deployment locks.
//!
//! Natively compiled programs are not metered, so without SBF builds it says so and exits
//! with status 2 rather than print numbers that measure something else.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::collections::BTreeMap;

use depin_core::merkle::{Hasher, MerkleTree};
use depin_core::storage::{challenge, chunk_leaf, word_leaf, WORD};
use depin_sdk::accounts::{Deal, DeviceStatus, NetworkKind};
use depin_sdk::compute::{instruction_name, units as budget_units};
use depin_sdk::energy::{self, MeterSigner, OrderRef, PlaceAskArgs, PlaceBidArgs, Reading, Side};
use depin_sdk::oracle::{RewardRow, RewardTree, Sha256Hasher};
use depin_sdk::registry::{self, UpdateNetworkArgs};
use depin_sdk::rewards::{self, ClaimArgs, ProposeRootArgs, SetOraclesArgs};
use depin_sdk::staking::{self, SlashArgs, UpdatePoolArgs};
use depin_sdk::storage::{
    self, ChallengeResponse, InitializeMarketArgs, ProposeDealArgs, SubmitProofArgs, SLOT_HASHES_ID,
};
use depin_sdk::{pda, Pubkey};
use depin_tests::fixture::{
    default_device_args, default_energy_args, FixtureBuilder, NetworkParams, RewardsParams,
};
use depin_tests::runtime::{Metered, ProgramBuild, Suite};
use depin_tests::{Keypair, Signer};

type Outcome<T = ()> = Result<T, String>;

fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Proof depth of the reward tree: 2^20 = 1,048,576 devices.
const REWARD_DEPTH: u32 = 20;
/// Chunks of the 1 GiB piece (4 KiB each).
const GIB_CHUNKS: u64 = 1 << 18;
/// Bytes per chunk.
const CHUNK: u32 = 4096;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let samples = match parse_samples() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("compute-units: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let dir = match ProgramBuild::detect() {
        ProgramBuild::Sbf(dir) => dir,
        ProgramBuild::Native => {
            eprintln!(
                "compute-units: no SBF build to measure (set SBF_OUT_DIR to a directory holding \
                 every program's .so; natively compiled programs are not metered)"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let mut suite = Suite::start().await;
    suite.start_metering();
    let run = async {
        registry_and_staking(&mut suite, samples).await?;
        rewards_claims(&mut suite, samples).await?;
        storage_deals(&mut suite, samples).await?;
        energy_interval(&mut suite).await
    };
    if let Err(e) = run.await {
        eprintln!("compute-units: a scenario failed: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let over = print_table(&suite.take_metered());
    print_sizes(&dir);
    if over > 0 {
        eprintln!(
            "compute-units: {over} measurement(s) above their budget in depin_sdk::compute::BUDGETS"
        );
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

fn parse_samples() -> Result<usize, String> {
    let mut args = std::env::args().skip(1);
    let mut samples = 8;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--samples" => {
                samples = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 3)
                    .ok_or("--samples takes a number of at least 3")?;
            }
            other => return Err(format!("unknown argument {other:?} (usage: [--samples N])")),
        }
    }
    Ok(samples)
}

/// One measurement: units consumed and the SDK's budget for that instruction (`None`: it
/// has no row).
type Measured = (u64, Option<u64>);

/// Groups the measurements by instruction and scenario, prints the markdown table and
/// returns how many rows exceed the SDK budget.
fn print_table(metered: &[Metered]) -> usize {
    // per row: each measurement with the budget the SDK gives that very instruction (its
    // data can ask for more, e.g. a longer proof)
    let mut rows: BTreeMap<(&str, &str, &str), Vec<Measured>> = BTreeMap::new();
    for m in metered {
        if m.label.is_empty() {
            continue;
        }
        let program = program_name(&m.program);
        let ix = instruction_name(&m.program, &m.data).unwrap_or("?");
        rows.entry((program, ix, m.label.as_str()))
            .or_default()
            .push((m.units, budget_units(&m.program, &m.data).map(u64::from)));
    }
    println!("| program | instruction | scenario | n | min | median | max | SDK budget |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    let mut over = 0;
    for ((program, ix, label), measured) in rows {
        let mut units: Vec<u64> = measured.iter().map(|(u, _)| *u).collect();
        units.sort_unstable();
        let (min, median, max) = (units[0], units[units.len() / 2], units[units.len() - 1]);
        // the smallest budget of the row is the one printed; any measurement above its own
        // budget fails the row
        let budget = measured.iter().map(|(_, b)| *b).min().flatten();
        let exceeded = measured.iter().any(|(u, b)| b.is_none_or(|b| *u > b));
        let verdict = match budget {
            Some(b) if !exceeded => format!("{b}"),
            Some(b) => {
                over += 1;
                format!("**{b} (exceeded)**")
            }
            None => {
                over += 1;
                "**none**".into()
            }
        };
        println!(
            "| {program} | {ix} | {label} | {} | {min} | {median} | {max} | {verdict} |",
            units.len()
        );
    }
    over
}

fn program_name(id: &Pubkey) -> &'static str {
    depin_tests::runtime::PROGRAMS
        .iter()
        .find(|(_, p)| p == id)
        .map_or("?", |(name, _)| name)
}

/// Each `.so`'s size and the rent-exempt balance of a program-data account holding it
/// (`45 + len` bytes: exactly the program, and twice its size, the room a deployer usually
/// leaves for upgrades).
fn print_sizes(dir: &std::path::Path) {
    println!();
    println!("| program | .so bytes | rent, exact size (SOL) | rent, 2x for upgrades (SOL) |");
    println!("|---|---:|---:|---:|");
    let rent = |len: u64| (128 + 45 + len) as f64 * 3480.0 * 2.0 / 1e9;
    for (name, _) in depin_tests::runtime::PROGRAMS {
        let path = dir.join(format!("{name}.so"));
        match std::fs::metadata(&path) {
            Ok(m) => println!(
                "| {name} | {} | {:.3} | {:.3} |",
                m.len(),
                rent(m.len()),
                rent(2 * m.len())
            ),
            Err(e) => println!("| {name} | unreadable: {e} | | |"),
        }
    }
}

/// Registry and staking: every instruction, creations sampled over fresh addresses.
async fn registry_and_staking(suite: &mut Suite, samples: usize) -> Outcome {
    suite.meter_label("new network id");
    let mut nets = Vec::new();
    for _ in 0..samples {
        nets.push(suite.create_network(NetworkParams::default()).await);
    }
    suite.meter_label("new maker (then approved)");
    let mut makers = Vec::new();
    for net in &nets {
        makers.push(suite.add_maker(net, "Acme Radio", 1_000, true).await);
    }
    let (net, maker) = (&nets[0], &makers[0]);
    let op = suite.add_operator(net, 1_000_000_000_000).await;

    suite.meter_label("with a location (H3 check), fee transfer, device created");
    let mut devices = Vec::new();
    for _ in 0..samples {
        devices.push(suite.onboard(net, maker, &op).await.map_err(fail)?);
    }
    suite.meter_label("without a location, fee transfer, device created");
    for _ in 0..samples {
        let key = Keypair::new();
        let mut args = default_device_args();
        args.location = None;
        let ix = suite.onboard_instruction(net, maker, &op, &key, args);
        suite
            .send(&[ix], &[&op.wallet, &maker.authority, &key])
            .await
            .map_err(fail)?;
    }
    suite.meter_label(
        "address pre-funded by a stranger: top-up, allocate, assign instead of create",
    );
    for _ in 0..samples {
        let key = Keypair::new();
        suite.meter_label("");
        suite
            .airdrop(&pda::device(&net.network, &key.pubkey()).0, 1_000_000)
            .await;
        suite.meter_label(
            "address pre-funded by a stranger: top-up, allocate, assign instead of create",
        );
        let ix = suite.onboard_instruction(net, maker, &op, &key, default_device_args());
        suite
            .send(&[ix], &[&op.wallet, &maker.authority, &key])
            .await
            .map_err(fail)?;
    }
    suite.meter_label("fee transfer");
    let fees = net.fee_accounts(op.token_account);
    let device = &devices[0];
    let ix = registry::assert_location(
        &op.wallet.pubkey(),
        &net.network,
        &device.key.pubkey(),
        &fees,
        0x0892_8308_280f_ffff,
    );
    suite.send(&[ix], &[&op.wallet]).await.map_err(fail)?;
    suite.meter_label("owner changes");
    let buyer = suite.add_operator(net, 1_000_000_000).await;
    let ix = registry::transfer_device(
        &op.wallet.pubkey(),
        &net.network,
        &devices[1].key.pubkey(),
        &buyer.wallet.pubkey(),
    );
    suite.send(&[ix], &[&op.wallet]).await.map_err(fail)?;
    suite.meter_label("auditor named, device suspended and reinstated with evidence");
    let auditor = Keypair::new();
    let ix = registry::set_auditor(
        &net.authority.pubkey(),
        &net.network,
        Some(auditor.pubkey()),
    );
    suite.send(&[ix], &[&net.authority]).await.map_err(fail)?;
    for status in [DeviceStatus::Suspended, DeviceStatus::Active] {
        let ix = registry::audit_device(
            &auditor.pubkey(),
            &net.network,
            &devices[1].key.pubkey(),
            registry::AuditDeviceArgs {
                status,
                evidence: [7; 32],
            },
        );
        suite.send(&[ix], &[&auditor]).await.map_err(fail)?;
    }
    suite.meter_label("suspend, reactivate, decommission");
    for (signer, status) in [
        (&net.authority, DeviceStatus::Suspended),
        (&net.authority, DeviceStatus::Active),
        (&buyer.wallet, DeviceStatus::Decommissioned),
    ] {
        let ix = registry::set_device_status(
            &signer.pubkey(),
            &net.network,
            &devices[1].key.pubkey(),
            status,
        );
        suite.send(&[ix], &[signer]).await.map_err(fail)?;
    }
    suite.meter_label("fees, pause and resume");
    for paused in [true, false] {
        let ix = registry::update_network(
            &net.authority.pubkey(),
            &net.network,
            None,
            UpdateNetworkArgs {
                onboarding_fee: Some(40_000_000),
                location_fee: Some(10_000_000),
                paused: Some(paused),
            },
        );
        suite.send(&[ix], &[&net.authority]).await.map_err(fail)?;
    }
    suite.meter_label("two-step rotation");
    let successor = Keypair::new();
    let ix = registry::propose_authority(
        &nets[1].authority.pubkey(),
        &nets[1].network,
        &successor.pubkey(),
    );
    suite
        .send(&[ix], &[&nets[1].authority])
        .await
        .map_err(fail)?;
    let ix = registry::accept_authority(&successor.pubkey(), &nets[1].network);
    suite.send(&[ix], &[&successor]).await.map_err(fail)?;

    suite.meter_label("pool and vault created (InitializeAccount3 CPI)");
    let mut pools = Vec::new();
    for n in nets.iter().skip(2).chain(std::iter::once(&nets[0])) {
        pools.push(suite.create_pool(n, 1_000_000, 3600).await);
    }
    let pool = pools.last().ok_or("no pool")?;
    suite.meter_label("first stake: position created, transfer");
    let mut stakers = Vec::new();
    for _ in 0..samples {
        let staker = suite.add_operator(net, 1_000_000_000).await;
        suite.stake(net, &staker, 100_000_000).await.map_err(fail)?;
        stakers.push(staker);
    }
    suite.meter_label("top-up: transfer");
    suite.stake(net, &op, 100_000_000).await.map_err(fail)?;
    suite.stake(net, &op, 100_000_000).await.map_err(fail)?;
    suite.meter_label("bond created");
    for d in devices.iter().skip(2) {
        suite.bond(net, &op, d).await.map_err(fail)?;
    }
    suite.meter_label("bond closed, rent to the staker");
    let ix = staking::unbond_device(
        &op.wallet.pubkey(),
        &op.wallet.pubkey(),
        &net.network,
        &devices[2].device,
    );
    suite.send(&[ix], &[&op.wallet]).await.map_err(fail)?;
    suite.meter_label("cooldown starts");
    let ix = staking::request_unstake(&stakers[0].wallet.pubkey(), &net.network, 50_000_000);
    suite
        .send(&[ix], &[&stakers[0].wallet])
        .await
        .map_err(fail)?;
    suite.advance_time(3601).await;
    suite.meter_label("after the cooldown: transfer");
    let ix = staking::withdraw(
        &stakers[0].wallet.pubkey(),
        &net.network,
        &net.token,
        &stakers[0].token_account,
    );
    suite
        .send(&[ix], &[&stakers[0].wallet])
        .await
        .map_err(fail)?;
    suite.meter_label("active then pending, transfer to the treasury");
    let ix = staking::slash(
        &pool.slash_authority.pubkey(),
        &net.network,
        &stakers[1].wallet.pubkey(),
        &net.token,
        &pool.treasury,
        SlashArgs {
            amount: 10_000_000,
            evidence_hash: [9; 32],
        },
    );
    suite
        .send(&[ix], &[&pool.slash_authority])
        .await
        .map_err(fail)?;
    suite.meter_label("every setting");
    let ix = staking::update_pool(
        &net.authority.pubkey(),
        &net.network,
        UpdatePoolArgs {
            min_stake_per_device: Some(1_000_000),
            cooldown_secs: Some(7200),
            slash_authority: Some(pool.slash_authority.pubkey()),
        },
    );
    suite.send(&[ix], &[&net.authority]).await.map_err(fail)?;
    suite.meter_label("");
    let rotated = suite.rotate_treasury(net).await;
    suite.meter_label("after a rotation, to the new owner's account");
    let ix = staking::sync_treasury(&net.network, &rotated.treasury, &rotated.treasury);
    suite.send(&[ix], &[]).await.map_err(fail)?;
    suite.meter_label("");
    Ok(())
}

/// Rewards: a tree of 2^20 devices, two epochs, first and repeat claims.
async fn rewards_claims(suite: &mut Suite, samples: usize) -> Outcome {
    suite.meter_label("");
    let fx = FixtureBuilder::default()
        .operators(samples, 1)
        .stake(100_000_000)
        .bond_all()
        .build(suite)
        .await;
    suite.meter_label("config created, mint authority handed over");
    let rw = suite
        .create_rewards(&fx.net, RewardsParams::default())
        .await;
    suite.meter_label("new set of 3, quorum 2");
    let ix = rewards::set_oracles(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        SetOraclesArgs {
            oracles: rw.oracles.iter().map(|k| k.pubkey()).collect(),
            quorum: 2,
        },
    );
    suite
        .send(&[ix], &[&fx.net.authority])
        .await
        .map_err(fail)?;

    let mut recipients = Vec::new();
    for (op, _) in &fx.operators {
        let to = suite
            .create_token_account(
                &fx.net.token.token_program,
                &fx.net.reward_mint,
                &op.wallet.pubkey(),
            )
            .await;
        recipients.push(to);
    }
    let leaves = 1usize << REWARD_DEPTH;
    let mut finalized_total = 0;
    for (epoch, per_device) in [(0u64, 1_000u64), (1, 2_500)] {
        let mut rows: Vec<RewardRow> = fx
            .operators
            .iter()
            .map(|(op, ds)| RewardRow {
                device: ds[0].device,
                owner: op.wallet.pubkey(),
                cumulative_amount: per_device,
            })
            .collect();
        rows.extend((rows.len()..leaves).map(|i| RewardRow {
            device: Pubkey::new_from_array(synthetic(i as u64, 1)),
            owner: Pubkey::new_from_array(synthetic(i as u64, 2)),
            cumulative_amount: 1,
        }));
        let tree = RewardTree::build(rows).map_err(fail)?;
        finalized_total = tree.total();
        suite.finish_epoch(&rw, epoch).await;
        for oracle in 0..2 {
            suite.meter_label(if oracle == 0 {
                "first proposal: epoch account created"
            } else {
                "second proposal: quorum, finalized"
            });
            // with a region multiplier table: the agreement compares its hash too
            let args = ProposeRootArgs {
                epoch,
                root: tree.root(),
                cumulative_total: tree.total(),
                multipliers_hash: [0x5a; 32],
            };
            suite
                .propose_args(&fx.net, &rw, oracle, args)
                .await
                .map_err(fail)?;
        }
        if epoch == 0 {
            suite.meter_label("claim record created");
            for (_, ds) in &fx.operators {
                let ix = rewards::open_claimed(&suite.payer(), &fx.net.network, &ds[0].device);
                suite.send(&[ix], &[]).await.map_err(fail)?;
            }
        }
        suite.meter_label(if epoch == 0 {
            "depth-20 proof, first claim, mint_to"
        } else {
            "depth-20 proof, later claim, mint_to"
        });
        for ((op, ds), to) in fx.operators.iter().zip(&recipients) {
            let p = tree.proof(&ds[0].device).ok_or("device not in tree")?;
            let args = ClaimArgs {
                epoch,
                cumulative_amount: p.row.cumulative_amount,
                proof: p.proof,
            };
            claim(
                suite,
                &fx,
                &rw,
                (op, &ds[0].device, to),
                args,
                REWARD_DEPTH as usize,
            )
            .await?;
        }
    }
    longest_claims(suite, &fx, &rw, &recipients, finalized_total).await?;
    suite.meter_label("");
    Ok(())
}

/// Epoch 2: claims with the longest proof `claim` accepts ([`rewards::MAX_PROOF_LEN`]
/// siblings, a tree of 2^32 leaves). The samples' devices form a small tree whose root is
/// hashed on up with synthetic siblings (pairs are sorted, so any sibling fits), so every
/// proof is valid and exactly as long as in a full tree of that depth.
async fn longest_claims(
    suite: &mut Suite,
    fx: &depin_tests::fixture::Fixture,
    rw: &depin_tests::fixture::RewardsFixture,
    recipients: &[Pubkey],
    finalized_total: u64,
) -> Outcome {
    const EPOCH: u64 = 2;
    const AMOUNT: u64 = 4_000;
    let mut leaves: Vec<[u8; 32]> = fx
        .operators
        .iter()
        .map(|(op, ds)| {
            depin_core::merkle::reward_leaf::<Sha256Hasher>(
                &ds[0].device.to_bytes(),
                &op.wallet.pubkey().to_bytes(),
                AMOUNT,
            )
        })
        .collect();
    // filled to a power of two, so every device's proof has the same length
    let full = leaves.len().next_power_of_two();
    leaves.extend((leaves.len()..full).map(|i| synthetic(i as u64, 4)));
    let small = MerkleTree::new::<Sha256Hasher>(leaves).map_err(fail)?;
    let small_depth = small.proof(0).map_err(fail)?.len();
    let above: Vec<[u8; 32]> = (small_depth..rewards::MAX_PROOF_LEN)
        .map(|i| synthetic(i as u64, 3))
        .collect();
    let root = depin_core::merkle::root_from_proof::<Sha256Hasher>(&above, small.root());
    suite.finish_epoch(rw, EPOCH).await;
    suite.meter_label("");
    for oracle in 0..2 {
        let args = ProposeRootArgs {
            epoch: EPOCH,
            root,
            // cumulative: never below the last finalized root's total
            cumulative_total: finalized_total + AMOUNT * fx.operators.len() as u64,
            multipliers_hash: [0x5a; 32],
        };
        suite
            .propose_args(&fx.net, rw, oracle, args)
            .await
            .map_err(fail)?;
    }
    suite.meter_label("depth-32 proof (the longest accepted), later claim, mint_to");
    for (i, ((op, ds), to)) in fx.operators.iter().zip(recipients).enumerate() {
        let mut proof = small.proof(i).map_err(fail)?;
        proof.extend_from_slice(&above);
        let args = ClaimArgs {
            epoch: EPOCH,
            cumulative_amount: AMOUNT,
            proof,
        };
        claim(
            suite,
            fx,
            rw,
            (op, &ds[0].device, to),
            args,
            rewards::MAX_PROOF_LEN,
        )
        .await?;
    }
    Ok(())
}

/// Sends one `claim` of `device` (owned by `op`, paid to `to`) with `args`, whose proof must
/// be `depth` nodes long: the measured row is named for its depth.
async fn claim(
    suite: &mut Suite,
    fx: &depin_tests::fixture::Fixture,
    rw: &depin_tests::fixture::RewardsFixture,
    (op, device, to): (&depin_tests::fixture::OperatorFixture, &Pubkey, &Pubkey),
    args: ClaimArgs,
    depth: usize,
) -> Outcome {
    if args.proof.len() != depth {
        return Err(format!(
            "proof depth {} instead of {depth}",
            args.proof.len()
        ));
    }
    let ix = rewards::claim(
        &fx.net.network,
        device,
        &op.wallet.pubkey(),
        &rw.token,
        to,
        args,
    );
    suite.send(&[ix], &[]).await.map_err(fail)
}

/// Deterministic filler bytes for synthetic tree rows.
fn synthetic(i: u64, salt: u8) -> [u8; 32] {
    Sha256Hasher::hashv(&[&i.to_le_bytes(), &[salt]])
}

/// A 1 GiB piece whose 262,144 chunks hold the same 4 KiB: proofs are exactly as long as
/// for any 1 GiB piece (7 word siblings, 18 chunk siblings), without hashing a gigabyte.
struct GibPiece {
    words: Vec<[u8; 32]>,
    word_tree: MerkleTree,
    piece_tree: MerkleTree,
}

impl GibPiece {
    fn build() -> Outcome<Self> {
        let words: Vec<[u8; 32]> = (0..(CHUNK as usize / WORD) as u64)
            .map(|i| synthetic(i, 7))
            .collect();
        let word_tree = MerkleTree::new::<Sha256Hasher>(
            (0u32..)
                .zip(&words)
                .map(|(i, w)| word_leaf::<Sha256Hasher>(i, w))
                .collect(),
        )
        .map_err(|e| format!("{e}"))?;
        let chunk_root = word_tree.root();
        let piece_tree = MerkleTree::new::<Sha256Hasher>(
            (0..GIB_CHUNKS)
                .map(|i| chunk_leaf::<Sha256Hasher>(i, &chunk_root))
                .collect(),
        )
        .map_err(|e| format!("{e}"))?;
        Ok(GibPiece {
            words,
            word_tree,
            piece_tree,
        })
    }

    /// The answer to challenge `index` of `period` of `deal`, seeded by `hashes`.
    fn answer(
        &self,
        hashes: &[u8],
        challenge_slot: u64,
        deal: &Pubkey,
        period: u64,
        index: u8,
    ) -> Outcome<ChallengeResponse> {
        let seed = storage::first_hash_after(hashes, challenge_slot)
            .map_err(|e| format!("seed: {e:?}"))?;
        let at = challenge::<Sha256Hasher>(
            &seed,
            &deal.to_bytes(),
            period,
            index,
            GIB_CHUNKS,
            CHUNK / WORD as u32,
        )
        .map_err(|e| format!("{e}"))?;
        Ok(ChallengeResponse {
            index,
            word: self.words[at.word as usize],
            word_proof: self
                .word_tree
                .proof(at.word as usize)
                .map_err(|e| format!("{e}"))?,
            chunk_proof: self
                .piece_tree
                .proof(at.chunk as usize)
                .map_err(|e| format!("{e}"))?,
        })
    }
}

/// Storage: deals on a 1 GiB piece, two challenges per period.
async fn storage_deals(suite: &mut Suite, samples: usize) -> Outcome {
    suite.meter_label("");
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Storage,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Diskco", 100, true).await;
    suite.meter_label("market and vault created (InitializeAccount3 CPI)");
    let market = suite
        .create_storage_market(
            &net,
            InitializeMarketArgs {
                proving_period_secs: 3600,
                challenge_window_slots: 50,
                challenges_per_period: 2,
                max_consecutive_faults: 2,
                fault_slash_bps: 1_000,
                protocol_fee_bps: 250,
            },
        )
        .await
        .map_err(fail)?;
    suite.meter_label("to the account it names already (a keeper's sync)");
    let ix = storage::sync_treasury(&net.network, &net.treasury, &market.treasury);
    suite.send(&[ix], &[]).await.map_err(fail)?;
    suite.meter_label("");
    let provider = suite.add_operator(&net, 1_000_000_000).await;
    let device = suite.onboard(&net, &maker, &provider).await.map_err(fail)?;
    let provider_pay = suite
        .funded_account(
            &market.token.token_program,
            &market.token.mint,
            &provider.wallet.pubkey(),
            1_000_000_000,
        )
        .await;
    let piece = GibPiece::build()?;
    let propose = |client: &Pubkey, pay: &Pubkey, id: u64| {
        storage::propose_deal(
            client,
            &net.network,
            &device.device,
            &market.token,
            pay,
            ProposeDealArgs {
                deal_id: id,
                piece_root: piece.piece_tree.root(),
                chunk_size: CHUNK,
                num_chunks: GIB_CHUNKS,
                price_per_period: 1_000,
                periods: 2,
                collateral: 5_000,
            },
        )
    };
    // Each client: deal 0 (counter created), deal 1 (cancelled), deal 2 (proven and
    // completed), deal 3 (faulted until terminated).
    let mut deals = Vec::new();
    for _ in 0..samples {
        let client = Keypair::new();
        suite.airdrop(&client.pubkey(), 1_000_000_000).await;
        let pay = suite
            .funded_account(
                &market.token.token_program,
                &market.token.mint,
                &client.pubkey(),
                1_000_000,
            )
            .await;
        for id in 0..4u64 {
            suite.meter_label(if id == 0 {
                "client's first deal: counter and deal created, escrow transfer"
            } else {
                "next deal: deal created, escrow transfer"
            });
            let ix = propose(&client.pubkey(), &pay, id);
            suite.send(&[ix], &[&client]).await.map_err(fail)?;
        }
        suite.meter_label("full refund, account closed");
        let ix = storage::cancel_deal(&client.pubkey(), &net.network, 1, &market.token, &pay);
        suite.send(&[ix], &[&client]).await.map_err(fail)?;
        suite.meter_label("terms hash checked, collateral transfer");
        for id in [2u64, 3] {
            let deal = pda::deal(&client.pubkey(), id).0;
            let terms = storage::terms_hash(&deal, &suite.account::<Deal>(deal).await);
            let ix = storage::accept_deal(
                &provider.wallet.pubkey(),
                &net.network,
                &deal,
                &device.device,
                &market.token,
                &provider_pay,
                terms,
            );
            suite.send(&[ix], &[&provider.wallet]).await.map_err(fail)?;
        }
        deals.push((client, pay));
    }
    // Deal 2 is proven in both periods; deal 3 is never proven: period 0 is never
    // challenged (at fault once it ends), period 1 is challenged and left unanswered.
    for period in 0..2u64 {
        for (client, _) in &deals {
            suite.meter_label("records the slot");
            for id in [2u64, 3] {
                if id == 3 && period == 0 {
                    continue;
                }
                let deal = pda::deal(&client.pubkey(), id).0;
                let ix =
                    storage::open_challenge(&provider.wallet.pubkey(), &net.network, &deal, period);
                suite.send(&[ix], &[&provider.wallet]).await.map_err(fail)?;
            }
        }
        suite.advance_slots(2).await;
        let hashes = suite
            .raw_account(SLOT_HASHES_ID)
            .await
            .ok_or("no SlotHashes")?
            .data;
        for (client, _) in &deals {
            let deal = pda::deal(&client.pubkey(), 2).0;
            let slot = suite.account::<Deal>(deal).await.records[period as usize].challenge_slot;
            for index in 0..2u8 {
                suite.meter_label(if index == 0 {
                    "1 GiB piece, 7 + 18 siblings: first of 2 answers"
                } else {
                    "1 GiB piece, 7 + 18 siblings: last answer, provider paid (transfer)"
                });
                let response = piece.answer(&hashes, slot, &deal, period, index)?;
                let ix = storage::submit_proof(
                    &provider.wallet.pubkey(),
                    &net.network,
                    &deal,
                    &market.token,
                    &provider_pay,
                    SubmitProofArgs {
                        period,
                        responses: vec![response],
                    },
                );
                suite.send(&[ix], &[&provider.wallet]).await.map_err(fail)?;
            }
        }
        if period == 0 {
            // period 0 ends; deal 3's unchallenged period is at fault
            suite.advance_time(3600).await;
        } else {
            // deal 3's period 1 proof window passes
            suite.advance_slots(51).await;
        }
        for (client, pay) in &deals {
            suite.meter_label(if period == 0 {
                "period never challenged: refund and slash (transfer)"
            } else {
                "second fault: terminated, refund (transfer)"
            });
            let deal = pda::deal(&client.pubkey(), 3).0;
            let ix = storage::report_fault(&net.network, &deal, &market.token, pay, period);
            suite.send(&[ix], &[]).await.map_err(fail)?;
        }
    }
    suite.advance_time(3600).await;
    for (client, _) in &deals {
        for (id, label) in [
            (
                2u64,
                "proven deal: collateral and fees paid (2 transfers), closed",
            ),
            (3, "terminated deal: slash paid to the treasury, closed"),
        ] {
            suite.meter_label(label);
            let ix = storage::complete_deal(
                &net.network,
                &pda::deal(&client.pubkey(), id).0,
                &client.pubkey(),
                &market.token,
                &provider_pay,
                &market.treasury,
            );
            suite.send(&[ix], &[]).await.map_err(fail)?;
        }
    }
    suite.meter_label("");
    Ok(())
}

/// Energy: a full 32 x 32 book, every order settled, the book closed.
async fn energy_interval(suite: &mut Suite) -> Outcome {
    suite.meter_label("");
    let net = suite
        .create_network(NetworkParams {
            kind: NetworkKind::Energy,
            ..NetworkParams::default()
        })
        .await;
    let maker = suite.add_maker(&net, "Meterco", 100, true).await;
    suite.meter_label("market and vault created (InitializeAccount3 CPI)");
    let market = suite
        .create_energy_market(&net, default_energy_args())
        .await
        .map_err(fail)?;
    suite.meter_label("to the account it names already (a keeper's sync)");
    let ix = energy::sync_treasury(&net.network, &net.treasury, &market.treasury);
    suite.send(&[ix], &[]).await.map_err(fail)?;
    suite.meter_label("");
    let mut meters = Vec::new();
    for _ in 0..34 {
        let op = suite.add_operator(&net, 1_000_000_000).await;
        let device = suite.onboard(&net, &maker, &op).await.map_err(fail)?;
        let quote = suite
            .quote_account(&market, &op.wallet.pubkey(), 1_000_000_000)
            .await;
        meters.push((op, device, quote));
    }
    let now = suite.clock().await.unix_timestamp as u64;
    let k = now / market.args.interval_secs + 2;
    for (i, (op, device, quote)) in meters.iter().take(32).enumerate() {
        let i = i as u64;
        suite.meter_label(match i {
            0 => "first order of the interval: book (7 KB) and meter created",
            31 => "32nd ask: full duplicate scan, meter created",
            _ => "ask: meter created, duplicate scan",
        });
        let ask = energy::place_ask(
            &op.wallet.pubkey(),
            &net.network,
            &device.device,
            PlaceAskArgs {
                interval: k,
                price: 50 + i,
                wh: 1_000,
            },
        );
        suite.send(&[ask], &[&op.wallet]).await.map_err(fail)?;
        suite.meter_label(if i == 31 {
            "32nd bid: full duplicate scan, escrow transfer"
        } else {
            "bid: escrow transfer"
        });
        let bid = energy::place_bid(
            &op.wallet.pubkey(),
            &net.network,
            &device.device,
            &market.quote,
            quote,
            PlaceBidArgs {
                interval: k,
                limit: 90 - i,
                wh: 1_000,
            },
        );
        suite.send(&[bid], &[&op.wallet]).await.map_err(fail)?;
    }
    // a cancelled bid in another interval
    let (op, device, quote) = &meters[32];
    suite.meter_label(
        "first order of the interval is a bid: book and meter created, escrow transfer",
    );
    let bid = energy::place_bid(
        &op.wallet.pubkey(),
        &net.network,
        &device.device,
        &market.quote,
        quote,
        PlaceBidArgs {
            interval: k + 1,
            limit: 90,
            wh: 1_000,
        },
    );
    suite.send(&[bid], &[&op.wallet]).await.map_err(fail)?;
    suite.meter_label("");
    let ask = energy::place_ask(
        &op.wallet.pubkey(),
        &net.network,
        &device.device,
        PlaceAskArgs {
            interval: k + 1,
            price: 50,
            wh: 1_000,
        },
    );
    suite.send(&[ask], &[&op.wallet]).await.map_err(fail)?;
    for (side, label) in [
        (Side::Ask, "ask: nothing to refund"),
        (Side::Bid, "bid: escrow refunded (transfer)"),
    ] {
        suite.meter_label(label);
        let cancel = energy::cancel_order(
            &op.wallet.pubkey(),
            &net.network,
            &market.quote,
            quote,
            OrderRef {
                interval: k + 1,
                side,
                slot: 0,
            },
        );
        suite.send(&[cancel], &[&op.wallet]).await.map_err(fail)?;
    }

    suite
        .set_time((k * market.args.interval_secs) as i64 - 300)
        .await;
    suite.meter_label("32 x 32 book");
    let ix = energy::clear_interval(&net.network, k);
    suite.send(&[ix], &[]).await.map_err(fail)?;
    suite
        .set_time(((k + 1) * market.args.interval_secs) as i64)
        .await;
    suite.meter_label("Ed25519 instruction checked, counter (meter exists), reading created");
    for (op, device, _) in meters.iter().take(32).skip(1) {
        let signer = MeterSigner {
            key: &device.key,
            device: device.device,
            network: net.network,
        };
        let reading = signer.reading_instructions(
            &suite.payer(),
            &Reading {
                interval: k,
                produced_wh: 800,
                consumed_wh: 100,
                counter: 1,
            },
        );
        suite.send(&reading, &[]).await.map_err(fail)?;
        let _ = op;
    }
    // a meter that never traded reports too: its first reading creates its meter
    suite.meter_label("device's first reading: meter and reading created");
    let (_, device, _) = &meters[33];
    let signer = MeterSigner {
        key: &device.key,
        device: device.device,
        network: net.network,
    };
    let reading = signer.reading_instructions(
        &suite.payer(),
        &Reading {
            interval: k,
            produced_wh: 0,
            consumed_wh: 300,
            counter: 1,
        },
    );
    suite.send(&reading, &[]).await.map_err(fail)?;
    let settle = |device: &Pubkey, quote: &Pubkey, side, slot: usize| {
        energy::settle_order(
            &net.network,
            &market.quote,
            &market.treasury,
            device,
            quote,
            OrderRef {
                interval: k,
                side,
                slot: slot as u8,
            },
        )
    };
    suite
        .set_time(((k + 1) * market.args.interval_secs + market.args.settlement_delay_secs) as i64)
        .await;
    for (slot, (_, device, quote)) in meters.iter().take(32).enumerate() {
        suite.meter_label(if slot == 0 {
            "ask without a reading after the deadline: reading address derived, nothing paid"
        } else {
            "ask: reading read, producer and grid fee paid (2 transfers)"
        });
        let ix = settle(&device.device, quote, Side::Ask, slot);
        suite.send(&[ix], &[]).await.map_err(fail)?;
    }
    for (slot, (_, device, quote)) in meters.iter().take(32).enumerate() {
        suite.meter_label(if slot == 31 {
            "last bid: refund and rounding to the treasury (2 transfers), book settled"
        } else {
            "bid: charged, refund (transfer)"
        });
        let ix = settle(&device.device, quote, Side::Bid, slot);
        suite.send(&[ix], &[]).await.map_err(fail)?;
    }
    suite.meter_label("settled book closed, rent back");
    let payer = {
        let book = suite
            .raw_account(pda::interval(&market.market, k).0)
            .await
            .ok_or("no book")?;
        depin_sdk::accounts::decode_interval(&book.data)
            .map_err(fail)?
            .rent_payer
    };
    let ix = energy::close_interval(&net.network, k, &payer);
    suite.send(&[ix], &[]).await.map_err(fail)?;
    suite.meter_label("");
    Ok(())
}
