//! The cross-module scenario of `scenario/tests/cross_module.rs`, on the chain: every
//! contract is its compiled Wasm, every message a real call, every read of another
//! contract a real cross-contract call, every transfer a real balance transfer.
//!
//! 1. Wireless: a maker issues a hotspot, its owner onboards it, stakes and bonds it;
//!    oracles finalize an epoch; the owner receives exactly what the reward tree says.
//! 2. Storage: a client's first deal with a registered storage node, accepted by the hash
//!    of the terms the provider saw, runs to completion, every period proven against the
//!    real piece.
//! 3. Energy: a producer and a consumer trade in one interval; the meter's signed reading
//!    settles it.
//!
//! Native value is conserved: the total issuance never moves, and the balances of every
//! account of the scenario (free plus held storage deposits) always add up to it.

use depin_core::merkle::{reward_leaf, MerkleTree};
use depin_core::storage::{self as core_storage, challenge, words_per_chunk, PieceCommitment};
use depin_ink_shared::host::InkSha256;
use depin_ink_shared::testing::DeviceSigner;
use depin_ink_shared::NetworkKind;
use energy_settlement::energy_settlement::{EnergySettlementRef, IntervalState, Side};
use ink::codegen::TraitCallBuilder;
use ink::primitives::AccountId;
use rewards::rewards::RewardsRef;
use staking::staking::StakingRef;
use storage_escrow::storage_escrow::{ChallengeResponse, DealTerms, StorageEscrowRef};

use crate::ensure_eq;
use crate::suite::{account, at, must, Failure, Suite, AUTHORITY, MAKER, ONBOARDING_FEE, TREASURY};

/// The device owner / storage provider / energy producer.
pub const OPERATOR: u8 = 4;
/// The storage client, who also cranks claims and relays readings.
pub const CLIENT: u8 = 5;
/// The energy consumer.
pub const CONSUMER: u8 = 6;
/// The two reward oracles.
pub const ORACLES: [u8; 2] = [11, 12];
/// Everyone with a balance.
pub const PEOPLE: [u8; 8] = [
    AUTHORITY, TREASURY, MAKER, OPERATOR, CLIENT, CONSUMER, 11, 12,
];
/// What each of them starts with.
pub const ENDOWMENT: u128 = 1_000_000_000_000;
/// The existential deposit of the sandbox runtime: a contract's free balance never
/// drops below it.
pub const EXISTENTIAL_DEPOSIT: u128 = 1;
/// SHA-256 of the epoch's region multiplier table the oracles commit with the root.
const TABLE_HASH: [u8; 32] = [0x3c; 32];

/// The contracts the scenario deployed.
#[derive(Clone, Debug)]
pub struct Deployed {
    /// The wireless network's registry, staking and rewards.
    pub wireless: [AccountId; 3],
    /// The storage network's registry and market.
    pub storage: [AccountId; 2],
    /// The energy network's registry and market.
    pub energy: [AccountId; 2],
}

impl Deployed {
    /// Every contract address.
    pub fn all(&self) -> Vec<AccountId> {
        self.wireless
            .iter()
            .chain(&self.storage)
            .chain(&self.energy)
            .copied()
            .collect()
    }
}

/// Sum of the total balances of every person and contract of the scenario.
fn total_value(suite: &mut Suite, contracts: &[AccountId]) -> u128 {
    let mut accounts: Vec<AccountId> = PEOPLE.iter().map(|p| account(*p)).collect();
    accounts.extend_from_slice(contracts);
    accounts.iter().map(|a| suite.chain.total_balance(*a)).sum()
}

/// Value a contract can pay out (its free balance above the existential deposit).
fn spendable(suite: &mut Suite, contract: AccountId) -> u128 {
    suite
        .chain
        .free_balance(contract)
        .saturating_sub(EXISTENTIAL_DEPOSIT)
}

/// Free balance of `who` after paying back the storage deposits its own calls since
/// cost index `since` left held: what it holds apart from deposits.
fn without_deposits(suite: &mut Suite, who: AccountId, since: usize) -> i128 {
    let free = i128::try_from(suite.chain.free_balance(who)).unwrap_or(i128::MAX);
    free + suite.chain.deposits_paid(who, since)
}

/// Runs the whole scenario on a fresh chain; every expectation is checked and the first
/// one that fails is returned.
pub fn run() -> Result<(Suite, Deployed), Failure> {
    let mut suite = Suite::new(&PEOPLE, ENDOWMENT)?;
    let chain_issuance = suite.chain.total_issuance();
    let operator = account(OPERATOR);
    let client = account(CLIENT);
    let consumer = account(CONSUMER);
    let nobody = account(0);
    let mut deployed = Deployed {
        wireless: [nobody; 3],
        storage: [nobody; 2],
        energy: [nobody; 2],
    };
    let start_value = total_value(&mut suite, &[]);
    let treasury_start = suite.chain.free_balance(account(TREASURY));
    suite.chain.set_time(10_000);

    // ---- 1. Wireless: register, stake, earn, claim ------------------------------------
    let wireless = suite.registry(NetworkKind::Wireless)?;
    let hotspot = suite.onboard(wireless, operator, &DeviceSigner::new(9), 1)?;
    let pool = suite.staking(wireless, 500, 3_600)?;
    let mut staking: StakingRef = at(pool);
    let staked = suite
        .chain
        .call("stake", operator, 500, staking.call_mut().stake())?;
    ensure_eq!(must(staked, "stake")?, 500);
    let bonded = suite.chain.call(
        "bond_device",
        operator,
        0,
        staking.call_mut().bond_device(hotspot),
    )?;
    must(bonded, "bond_device")?;
    ensure_eq!(spendable(&mut suite, pool), 500);

    let oracles = ORACLES.iter().map(|o| account(*o)).collect();
    let rewards_at = suite.rewards(wireless, pool, 600, 10_000, oracles, 2)?;
    deployed.wireless = [wireless, pool, rewards_at];
    let mut rewards: RewardsRef = at(rewards_at);
    let funded = suite.chain.call(
        "fund",
        account(AUTHORITY),
        10_000,
        rewards.call_mut().fund(),
    )?;
    must(funded, "fund")?;
    let rows: [([u8; 32], AccountId, u64); 2] =
        [(hotspot, operator, 1_234), ([0xEE; 32], client, 766)];
    let leaves = rows
        .iter()
        .map(|(d, o, a)| reward_leaf::<InkSha256>(d, o.as_ref(), *a))
        .collect();
    let tree = must(MerkleTree::new::<InkSha256>(leaves), "reward tree")?;
    suite.chain.set_time(10_600);
    for (i, oracle) in ORACLES.iter().enumerate() {
        let finalized = suite.chain.call(
            "propose_root",
            account(*oracle),
            0,
            rewards
                .call_mut()
                .propose_root(0, tree.root(), 2_000, TABLE_HASH),
        )?;
        // the second of two oracles reaches the quorum
        ensure_eq!(must(finalized, "propose_root")?, i == 1);
    }
    let epoch = suite
        .chain
        .call("epoch_root", client, 0, rewards.call().epoch_root(0))?;
    let epoch = epoch.ok_or_else(|| Failure::new("epoch 0 is not stored"))?;
    ensure_eq!(
        (epoch.finalized, epoch.multipliers_hash),
        (true, TABLE_HASH)
    );
    let proof = must(tree.proof(0), "reward proof")?;
    let operator_before = suite.chain.free_balance(operator);
    // anyone may crank the claim: the client pays its storage deposit, the operator is paid
    let paid = suite.chain.call(
        "claim",
        client,
        0,
        rewards.call_mut().claim(hotspot, 0, 1_234, proof),
    )?;
    ensure_eq!(must(paid, "claim")?, 1_234);
    ensure_eq!(suite.chain.free_balance(operator), operator_before + 1_234);
    ensure_eq!(spendable(&mut suite, rewards_at), 10_000 - 1_234);

    // ---- 2. Storage: a deal to completion --------------------------------------------
    let storage_net = suite.registry(NetworkKind::Storage)?;
    let node = suite.onboard(storage_net, operator, &DeviceSigner::new(8), 1)?;
    let market_at = suite.storage(storage_net)?;
    deployed.storage = [storage_net, market_at];
    let mut market: StorageEscrowRef = at(market_at);
    let piece: Vec<u8> = (0..=255u8).rev().collect();
    let commitment = must(
        PieceCommitment::from_bytes::<InkSha256>(&piece, 64),
        "piece commitment",
    )?;
    let terms = DealTerms {
        provider_device: node,
        piece_root: commitment.root(),
        chunk_size: 64,
        num_chunks: commitment.num_chunks(),
        price_per_period: 1_000,
        periods: 2,
        collateral: 3_000,
    };
    let deal_id = suite.chain.call(
        "next_deal_id",
        client,
        0,
        market.call().next_deal_id(client),
    )?;
    ensure_eq!(deal_id, 0);
    let proposed = suite.chain.call(
        "propose_deal",
        client,
        2_000,
        market.call_mut().propose_deal(deal_id, terms),
    )?;
    must(proposed, "propose_deal")?;
    let deal_key = suite.chain.call(
        "deal_key",
        client,
        0,
        market.call().deal_key(client, deal_id),
    )?;
    // the provider's wallet hashes the terms it shows and accepts exactly those
    let seen = core_storage::DealTerms {
        market: *AsRef::<[u8; 32]>::as_ref(&market_at),
        deal: deal_key,
        client: *AsRef::<[u8; 32]>::as_ref(&client),
        provider_device: terms.provider_device,
        piece_root: terms.piece_root,
        chunk_size: terms.chunk_size,
        num_chunks: terms.num_chunks,
        price_per_period: terms.price_per_period,
        periods: terms.periods,
        collateral: terms.collateral,
    }
    .hash::<InkSha256>();
    let shown = suite.chain.call(
        "deal_terms_hash",
        operator,
        0,
        market.call().deal_terms_hash(client, deal_id),
    )?;
    ensure_eq!(shown, Some(seen));
    suite.chain.set_time(20_000);
    let since = suite.chain.costs().len();
    let operator_before = without_deposits(&mut suite, operator, since);
    let accepted = suite.chain.call(
        "accept_deal",
        operator,
        3_000,
        market.call_mut().accept_deal(client, deal_id, seen),
    )?;
    must(accepted, "accept_deal")?;
    for period in 0..2u64 {
        suite.chain.set_time(20_000 + period * 100);
        let seed = suite.chain.call(
            "open_challenge",
            operator,
            0,
            market.call_mut().open_challenge(client, deal_id, period),
        )?;
        let seed = must(seed, "open_challenge")?;
        suite.chain.next_block();
        let mut responses = Vec::new();
        for i in 0..2u8 {
            let words = must(words_per_chunk(64), "words per chunk")?;
            let point =
                challenge::<InkSha256>(&seed, &deal_key, period, i, commitment.num_chunks(), words);
            let point = must(point, "challenge")?;
            let from = usize::try_from(point.chunk)
                .unwrap_or(usize::MAX)
                .saturating_mul(64);
            let chunk = piece
                .get(from..from + 64)
                .ok_or_else(|| Failure::new("chunk out of the piece"))?;
            let answer = must(
                commitment.answer::<InkSha256>(point, chunk),
                "challenge answer",
            )?;
            responses.push(ChallengeResponse {
                index: i,
                word: answer.word,
                word_proof: answer.word_proof,
                chunk_proof: answer.chunk_proof,
            });
        }
        let proven = suite.chain.call(
            "submit_proof",
            operator,
            0,
            market
                .call_mut()
                .submit_proof(client, deal_id, period, responses),
        )?;
        ensure_eq!(must(proven, "submit_proof")?, true);
    }
    suite.chain.set_time(20_200);
    let completed = suite.chain.call(
        "complete_deal",
        client,
        0,
        market.call_mut().complete_deal(client, deal_id),
    )?;
    must(completed, "complete_deal")?;
    // two periods at 1,000 less a 5% fee, and the 3,000 collateral back
    ensure_eq!(
        without_deposits(&mut suite, operator, since),
        operator_before + 2 * 950
    );
    ensure_eq!(spendable(&mut suite, market_at), 0);

    // ---- 3. Energy: an interval to settlement ----------------------------------------
    let energy_net = suite.registry(NetworkKind::Energy)?;
    let meter = DeviceSigner::new(7);
    let panel = suite.onboard(energy_net, operator, &meter, 3)?;
    let home = suite.onboard(energy_net, consumer, &DeviceSigner::new(6), 3)?;
    let energy_at = suite.energy(energy_net)?;
    deployed.energy = [energy_net, energy_at];
    let mut energy: EnergySettlementRef = at(energy_at);
    let iv = 100u64; // [90_000, 90_900)
    suite.chain.set_time(80_000);
    let ask = suite.chain.call(
        "place_ask",
        operator,
        0,
        energy.call_mut().place_ask(iv, panel, 120, 2_000),
    )?;
    ensure_eq!(must(ask, "place_ask")?, 0);
    // escrow ceil(180 * 1_500 / 1_000) = 270
    let bid = suite.chain.call(
        "place_bid",
        consumer,
        270,
        energy.call_mut().place_bid(iv, home, 180, 1_500),
    )?;
    ensure_eq!(must(bid, "place_bid")?, 0);
    suite.chain.set_time(89_700);
    let price = suite.chain.call(
        "clear_interval",
        client,
        0,
        energy.call_mut().clear_interval(iv),
    )?;
    ensure_eq!(must(price, "clear_interval")?, 150);
    suite.chain.set_time(90_900);
    let message = depin_core::meter::reading_message(energy_at.as_ref(), &panel, iv, 1_200, 40, 1);
    // a gateway relays the meter's signed reading
    let read = suite.chain.call(
        "submit_reading",
        client,
        0,
        energy
            .call_mut()
            .submit_reading(panel, iv, 1_200, 40, 1, meter.sign(&message)),
    )?;
    must(read, "submit_reading")?;
    let (operator_before, consumer_before) = (
        suite.chain.free_balance(operator),
        suite.chain.free_balance(consumer),
    );
    // delivered 1,200 Wh at 150: gross 180, grid fee 3, net 177
    let ask_paid = suite.chain.call(
        "settle_order",
        client,
        0,
        energy.call_mut().settle_order(iv, Side::Ask, 0),
    )?;
    ensure_eq!(must(ask_paid, "settle_order")?, 177);
    // the consumer pays for the 1,200 Wh delivered (180) and gets 90 back
    let refund = suite.chain.call(
        "settle_order",
        client,
        0,
        energy.call_mut().settle_order(iv, Side::Bid, 0),
    )?;
    ensure_eq!(must(refund, "settle_order")?, 90);
    ensure_eq!(suite.chain.free_balance(operator), operator_before + 177);
    ensure_eq!(suite.chain.free_balance(consumer), consumer_before + 90);
    ensure_eq!(spendable(&mut suite, energy_at), 0);
    let book = suite
        .chain
        .call("interval", client, 0, energy.call().interval(iv))?;
    let book = book.ok_or_else(|| Failure::new("interval 100 is not stored"))?;
    ensure_eq!(book.state, IntervalState::Settled);
    let closed = suite.chain.call(
        "close_interval",
        client,
        0,
        energy.call_mut().close_interval(iv),
    )?;
    must(closed, "close_interval")?;

    // ---- Value conservation ---------------------------------------------------------
    // 4 onboarding fees, the storage protocol fees (2 x 50) and the grid fee (3) went to
    // the treasury (which never called, so paid no deposit); nothing was created or
    // destroyed, deposits included.
    ensure_eq!(
        suite.chain.free_balance(account(TREASURY)),
        treasury_start + 4 * u128::from(ONBOARDING_FEE) + 100 + 3
    );
    let contracts = deployed.all();
    ensure_eq!(total_value(&mut suite, &contracts), start_value);
    ensure_eq!(suite.chain.total_issuance(), chain_issuance);
    Ok((suite, deployed))
}
