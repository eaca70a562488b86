//! Off-chain tests: one happy path per message and one test per reachable error,
//! mirroring `tests/tests/storage.rs` of the Solana suite. The registry is a real
//! instance in the same engine, read through the bridge; pieces and proofs are built with
//! the core crate's prover.

use crate::storage_escrow::{
    ChallengeResponse, DealAccepted, DealCancelled, DealCompleted, DealProposed, DealState,
    DealTerminated, DealTerms, Error, FaultReported, OwedWithdrawn, PayoutOwed, PeriodStatus,
    ProofAccepted, StorageEscrow, MAX_CHALLENGE_WINDOW_BLOCKS, MAX_PERIODS,
};
use depin_core::epoch::MAX_DURATION_SECS;
use depin_core::merkle::Hasher;
use depin_core::storage::{challenge, words_per_chunk, PieceCommitment};
use depin_ink_shared::host::InkSha256;
use depin_ink_shared::testing::{
    account, as_contract, balance_of, call, event_count, last_event, set_time, DeviceSigner,
};
use depin_ink_shared::{DeviceId, DeviceStatus, NetworkKind};
use device_registry::device_registry::DeviceRegistry;
use ink::env::DefaultEnvironment as E;
use std::cell::{RefCell, RefMut};
use std::rc::Rc;

const REGISTRY: u8 = 0xA0;
const MARKET: u8 = 0xD0;
const AUTHORITY: u8 = 1;
const TREASURY: u8 = 2;
const MAKER: u8 = 3;
const PROVIDER: u8 = 4;
const CLIENT: u8 = 5;
const OTHER: u8 = 6;
const START: u64 = 50_000;
const PERIOD: u64 = 100;
const WINDOW: u32 = 10;
const PRICE: u64 = 1_000;
const COLLATERAL: u64 = 2_000;
const CHUNK: u32 = 64;
/// The client's first deal: ids are sequential per client, from 0.
const ID: u64 = 0;

struct Market {
    registry: Rc<RefCell<DeviceRegistry>>,
    market: Rc<RefCell<StorageEscrow>>,
    device: DeviceId,
    piece: Vec<u8>,
    commitment: PieceCommitment,
}

fn deploy_market(window: u32, challenges: u8) -> Result<StorageEscrow, Error> {
    StorageEscrow::new(account(REGISTRY), PERIOD, window, challenges, 2, 1_000, 500)
}

/// Funded accounts and a registry of `kind` at REGISTRY.
fn network(kind: NetworkKind) -> Rc<RefCell<DeviceRegistry>> {
    network_with(kind, true)
}

/// [`network`], with the market's account created (balance 0) or not: off chain a transfer
/// fails only when the paying contract has no account, the one way to see a payout fail.
fn network_with(kind: NetworkKind, market_account: bool) -> Rc<RefCell<DeviceRegistry>> {
    depin_ink_shared::bridge::reset();
    for who in [AUTHORITY, MAKER, PROVIDER, CLIENT, OTHER] {
        ink::env::test::set_account_balance::<E>(account(who), 1_000_000);
    }
    ink::env::test::set_account_balance::<E>(account(TREASURY), 0);
    if market_account {
        ink::env::test::set_account_balance::<E>(account(MARKET), 0);
    }
    set_time(START);
    device_registry::live::deploy(
        account(REGISTRY),
        account(AUTHORITY),
        kind,
        account(TREASURY),
        0,
        0,
    )
}

impl Market {
    fn new() -> Self {
        Self::with_market_account(true)
    }

    fn with_market_account(market_account: bool) -> Self {
        let registry = network_with(NetworkKind::Storage, market_account);
        let device = device_registry::live::onboard(
            &registry,
            account(REGISTRY),
            account(MAKER),
            account(PROVIDER),
            &DeviceSigner::new(9),
            1,
        );
        call(account(MARKET), account(AUTHORITY), 0);
        let market = deploy_market(WINDOW, 2);
        let piece: Vec<u8> = (0..=255u8).collect();
        let commitment = PieceCommitment::from_bytes::<InkSha256>(&piece, CHUNK).unwrap();
        Market {
            registry,
            market: Rc::new(RefCell::new(market.unwrap())),
            device,
            piece,
            commitment,
        }
    }

    fn by(&self, who: u8, value: u64) -> RefMut<'_, StorageEscrow> {
        call(account(MARKET), account(who), u128::from(value));
        self.market.borrow_mut()
    }

    fn terms(&self, periods: u8) -> DealTerms {
        DealTerms {
            provider_device: self.device,
            piece_root: self.commitment.root(),
            chunk_size: CHUNK,
            num_chunks: self.commitment.num_chunks(),
            price_per_period: PRICE,
            periods,
            collateral: COLLATERAL,
        }
    }

    /// What the provider's wallet computes for CLIENT's deal `deal_id` with `terms`,
    /// independently of the contract: `DealTerms::hash` with the market's account, the
    /// deal key `sha256("depin-deal" || market || client || deal_id le)`, the client and
    /// the terms.
    fn hash_of(&self, deal_id: u64, terms: &DealTerms) -> [u8; 32] {
        let market = *AsRef::<[u8; 32]>::as_ref(&account(MARKET));
        let client = *AsRef::<[u8; 32]>::as_ref(&account(CLIENT));
        let deal = InkSha256::hashv(&[b"depin-deal", &market, &client, &deal_id.to_le_bytes()]);
        depin_core::storage::DealTerms {
            market,
            deal,
            client,
            provider_device: terms.provider_device,
            piece_root: terms.piece_root,
            chunk_size: terms.chunk_size,
            num_chunks: terms.num_chunks,
            price_per_period: terms.price_per_period,
            periods: terms.periods,
            collateral: terms.collateral,
        }
        .hash::<InkSha256>()
    }

    /// The terms hash of CLIENT's deal `deal_id` proposed with `self.terms(periods)`.
    fn hash(&self, deal_id: u64, periods: u8) -> [u8; 32] {
        self.hash_of(deal_id, &self.terms(periods))
    }

    /// A proposed and accepted deal of `periods` periods starting at `START`.
    fn active(&self, periods: u8) {
        self.by(CLIENT, PRICE * u64::from(periods))
            .propose_deal(ID, self.terms(periods))
            .unwrap();
        self.by(PROVIDER, COLLATERAL)
            .accept_deal(account(CLIENT), ID, self.hash(ID, periods))
            .unwrap();
    }

    /// The correct answer to challenge `i` of `period` under `seed`.
    fn answer(&self, seed: [u8; 32], period: u64, i: u8) -> ChallengeResponse {
        let key = as_contract(account(MARKET), || {
            self.market.borrow().deal_key(account(CLIENT), ID)
        });
        let at = challenge::<InkSha256>(
            &seed,
            &key,
            period,
            i,
            self.commitment.num_chunks(),
            words_per_chunk(CHUNK).unwrap(),
        )
        .unwrap();
        let start = at.chunk as usize * CHUNK as usize;
        let chunk = &self.piece[start..start + CHUNK as usize];
        let a = self.commitment.answer::<InkSha256>(at, chunk).unwrap();
        ChallengeResponse {
            index: i,
            word: a.word,
            word_proof: a.word_proof,
            chunk_proof: a.chunk_proof,
        }
    }

    /// Opens and fully proves `period` (time must be inside it).
    fn prove(&self, period: u64) {
        let seed = self
            .by(PROVIDER, 0)
            .open_challenge(account(CLIENT), ID, period)
            .unwrap();
        ink::env::test::advance_block::<E>();
        let answers = vec![self.answer(seed, period, 0), self.answer(seed, period, 1)];
        assert_eq!(
            self.by(PROVIDER, 0)
                .submit_proof(account(CLIENT), ID, period, answers),
            Ok(true)
        );
    }

    fn deal(&self) -> crate::storage_escrow::Deal {
        as_contract(account(MARKET), || {
            self.market.borrow().get_deal(account(CLIENT), ID)
        })
        .unwrap()
    }

    /// A call by `who` carrying `value` that the contract must refuse. The host reverts
    /// a refused call together with its value transfer; the off-chain engine does not, so
    /// the value goes back here. Returns the error.
    fn refused(
        &self,
        who: u8,
        value: u64,
        f: impl FnOnce(&mut StorageEscrow) -> Result<(), Error>,
    ) -> Error {
        let err = f(&mut self.by(who, value)).expect_err("the call is refused");
        // the engine's callee is still the market
        ink::env::transfer::<E>(account(who), u128::from(value)).unwrap();
        err
    }

    fn pause(&self, paused: bool) {
        call(account(REGISTRY), account(AUTHORITY), 0);
        self.registry
            .borrow_mut()
            .update_network(None, None, Some(paused), None)
            .unwrap();
    }
}

#[ink::test]
fn test_initialize_market_ok() {
    let m = Market::new();
    assert!(as_contract(account(MARKET), || m
        .market
        .borrow()
        .get_deal(account(CLIENT), ID))
    .is_none());
}

#[ink::test]
fn test_initialize_market_errors() {
    let m = Market::new();
    call(account(0xD1), account(OTHER), 0);
    assert_eq!(
        deploy_market(WINDOW, 2).err(),
        Some(Error::NotNetworkAuthority)
    );
    call(account(0xD1), account(AUTHORITY), 0);
    assert_eq!(deploy_market(0, 2).err(), Some(Error::InvalidMarketParams));
    assert_eq!(
        deploy_market(WINDOW, 9).err(),
        Some(Error::InvalidMarketParams)
    );
    m.pause(true);
    call(account(0xD1), account(AUTHORITY), 0);
    assert_eq!(deploy_market(WINDOW, 2).err(), Some(Error::NetworkPaused));
}

#[ink::test]
fn test_initialize_market_not_storage_network() {
    let _registry = network(NetworkKind::Energy);
    call(account(0xD1), account(AUTHORITY), 0);
    assert_eq!(
        deploy_market(WINDOW, 2).err(),
        Some(Error::NotStorageNetwork)
    );
}

#[ink::test]
fn test_propose_deal_ok() {
    let m = Market::new();
    let before = balance_of(account(CLIENT));
    m.by(CLIENT, 3 * PRICE)
        .propose_deal(ID, m.terms(3))
        .unwrap();
    let e: DealProposed = last_event();
    assert_eq!(
        (e.client, e.deal_id, e.provider_device),
        (account(CLIENT), ID, m.device)
    );
    assert_eq!(balance_of(account(CLIENT)), before - u128::from(3 * PRICE));
    assert_eq!(balance_of(account(MARKET)), u128::from(3 * PRICE));
    let deal = m.deal();
    assert_eq!(
        (deal.state, deal.escrow_left, deal.records.len()),
        (DealState::Proposed, 3 * PRICE, 3)
    );
}

#[ink::test]
fn test_propose_deal_errors() {
    let m = Market::new();
    let bad = |f: fn(&mut DealTerms)| {
        let mut t = m.terms(3);
        f(&mut t);
        t
    };
    for terms in [
        bad(|t| t.periods = 0),
        bad(|t| t.periods = 33),
        bad(|t| t.price_per_period = 0),
        bad(|t| t.num_chunks = 0),
        // past 2^32 chunks a chunk proof needs more than 32 siblings: unprovable
        bad(|t| t.num_chunks = (1 << 32) + 1),
        bad(|t| t.num_chunks = u64::MAX),
        bad(|t| t.chunk_size = 33),
    ] {
        assert_eq!(
            m.by(CLIENT, 3 * PRICE).propose_deal(ID, terms),
            Err(Error::InvalidDealTerms)
        );
    }
    assert_eq!(
        m.by(CLIENT, 1)
            .propose_deal(ID, bad(|t| t.price_per_period = u64::MAX)),
        Err(Error::MathOverflow)
    );
    assert_eq!(
        m.by(CLIENT, 3 * PRICE - 1).propose_deal(ID, m.terms(3)),
        Err(Error::WrongPayment)
    );
    assert_eq!(
        m.by(CLIENT, 3 * PRICE)
            .propose_deal(ID, bad(|t| t.provider_device = [1; 32])),
        Err(Error::NotStorageDevice)
    );
    m.by(CLIENT, 3 * PRICE)
        .propose_deal(ID, m.terms(3))
        .unwrap();
    // a used id, or one ahead of the next
    assert_eq!(
        m.by(CLIENT, 3 * PRICE).propose_deal(ID, m.terms(3)),
        Err(Error::DealIdNotNext)
    );
    assert_eq!(
        m.by(CLIENT, 3 * PRICE).propose_deal(ID + 2, m.terms(3)),
        Err(Error::DealIdNotNext)
    );
    m.pause(true);
    assert_eq!(
        m.by(CLIENT, 3 * PRICE).propose_deal(ID + 1, m.terms(3)),
        Err(Error::NetworkPaused)
    );
}

#[ink::test]
fn test_cancel_deal_ok() {
    let m = Market::new();
    let before = balance_of(account(CLIENT));
    m.by(CLIENT, 3 * PRICE)
        .propose_deal(ID, m.terms(3))
        .unwrap();
    m.pause(true); // returns the client's own funds: allowed while paused
    m.by(CLIENT, 0).cancel_deal(ID).unwrap();
    let e: DealCancelled = last_event();
    assert_eq!(e.refunded, 3 * PRICE);
    assert_eq!(balance_of(account(CLIENT)), before);
    assert_eq!(balance_of(account(MARKET)), 0);
    assert!(as_contract(account(MARKET), || m
        .market
        .borrow()
        .get_deal(account(CLIENT), ID))
    .is_none());
}

#[ink::test]
fn test_cancel_deal_errors() {
    let m = Market::new();
    assert_eq!(m.by(CLIENT, 0).cancel_deal(ID), Err(Error::DealNotFound));
    m.active(2);
    assert_eq!(m.by(CLIENT, 0).cancel_deal(ID), Err(Error::DealNotProposed));
    // only the client's own deals: another caller's (client, id) does not exist
    assert_eq!(m.by(OTHER, 0).cancel_deal(ID), Err(Error::DealNotFound));
}

#[ink::test]
fn test_accept_deal_ok() {
    let m = Market::new();
    m.by(CLIENT, 2 * PRICE)
        .propose_deal(ID, m.terms(2))
        .unwrap();
    set_time(START + 5);
    m.by(PROVIDER, COLLATERAL)
        .accept_deal(account(CLIENT), ID, m.hash(ID, 2))
        .unwrap();
    let e: DealAccepted = last_event();
    assert_eq!(
        (e.provider, e.collateral, e.start_ts),
        (account(PROVIDER), COLLATERAL, (START + 5) as i64)
    );
    assert_eq!(
        balance_of(account(MARKET)),
        u128::from(2 * PRICE + COLLATERAL)
    );
    let deal = m.deal();
    assert_eq!(
        (deal.state, deal.collateral_left),
        (DealState::Active, COLLATERAL)
    );
}

#[ink::test]
fn test_accept_deal_errors() {
    let m = Market::new();
    assert_eq!(
        m.by(PROVIDER, COLLATERAL)
            .accept_deal(account(CLIENT), ID, m.hash(ID, 2)),
        Err(Error::DealNotFound)
    );
    m.by(CLIENT, 2 * PRICE)
        .propose_deal(ID, m.terms(2))
        .unwrap();
    assert_eq!(
        m.by(OTHER, COLLATERAL)
            .accept_deal(account(CLIENT), ID, m.hash(ID, 2)),
        Err(Error::NotDeviceOwner)
    );
    assert_eq!(
        m.by(PROVIDER, COLLATERAL - 1)
            .accept_deal(account(CLIENT), ID, m.hash(ID, 2)),
        Err(Error::WrongPayment)
    );
    call(account(REGISTRY), account(AUTHORITY), 0);
    m.registry
        .borrow_mut()
        .set_device_status(m.device, DeviceStatus::Suspended)
        .unwrap();
    assert_eq!(
        m.by(PROVIDER, COLLATERAL)
            .accept_deal(account(CLIENT), ID, m.hash(ID, 2)),
        Err(Error::DeviceNotActive)
    );
    m.pause(true);
    assert_eq!(
        m.by(PROVIDER, COLLATERAL)
            .accept_deal(account(CLIENT), ID, m.hash(ID, 2)),
        Err(Error::NetworkPaused)
    );
    m.pause(false);
    call(account(REGISTRY), account(AUTHORITY), 0);
    m.registry
        .borrow_mut()
        .set_device_status(m.device, DeviceStatus::Active)
        .unwrap();
    m.by(PROVIDER, COLLATERAL)
        .accept_deal(account(CLIENT), ID, m.hash(ID, 2))
        .unwrap();
    assert_eq!(
        m.by(PROVIDER, COLLATERAL)
            .accept_deal(account(CLIENT), ID, m.hash(ID, 2)),
        Err(Error::DealNotProposed)
    );
}

#[ink::test]
fn test_open_challenge_ok() {
    let m = Market::new();
    m.active(2);
    m.pause(true); // proving is allowed while paused
    set_time(START + PERIOD);
    let seed = m
        .by(PROVIDER, 0)
        .open_challenge(account(CLIENT), ID, 1)
        .unwrap();
    let record = m.deal().records[1];
    assert_eq!(
        (record.status, record.seed),
        (PeriodStatus::Challenged, seed)
    );
}

#[ink::test]
fn test_open_challenge_errors() {
    let m = Market::new();
    m.by(CLIENT, 2 * PRICE)
        .propose_deal(ID, m.terms(2))
        .unwrap();
    assert_eq!(
        m.by(PROVIDER, 0).open_challenge(account(CLIENT), ID, 0),
        Err(Error::NotProvider)
    );
    m.by(PROVIDER, COLLATERAL)
        .accept_deal(account(CLIENT), ID, m.hash(ID, 2))
        .unwrap();
    assert_eq!(
        m.by(OTHER, 0).open_challenge(account(CLIENT), ID, 0),
        Err(Error::NotProvider)
    );
    assert_eq!(
        m.by(PROVIDER, 0).open_challenge(account(CLIENT), ID, 1),
        Err(Error::WrongPeriod)
    );
    set_time(START + 2 * PERIOD); // past the deal's last period
    assert_eq!(
        m.by(PROVIDER, 0).open_challenge(account(CLIENT), ID, 2),
        Err(Error::WrongPeriod)
    );
    set_time(START);
    m.by(PROVIDER, 0)
        .open_challenge(account(CLIENT), ID, 0)
        .unwrap();
    assert_eq!(
        m.by(PROVIDER, 0).open_challenge(account(CLIENT), ID, 0),
        Err(Error::ChallengeAlreadyOpen)
    );
    assert_eq!(
        m.by(PROVIDER, 0).open_challenge(account(CLIENT), ID + 1, 0),
        Err(Error::DealNotFound)
    );
}

#[ink::test]
fn test_submit_proof_ok_pays_the_period() {
    let m = Market::new();
    m.active(2);
    let provider_before = balance_of(account(PROVIDER));
    let seed = m
        .by(PROVIDER, 0)
        .open_challenge(account(CLIENT), ID, 0)
        .unwrap();
    ink::env::test::advance_block::<E>();
    // answers may come in several calls
    let first = vec![m.answer(seed, 0, 1)];
    assert_eq!(
        m.by(PROVIDER, 0)
            .submit_proof(account(CLIENT), ID, 0, first),
        Ok(false)
    );
    assert_eq!(balance_of(account(PROVIDER)), provider_before);
    let second = vec![m.answer(seed, 0, 0)];
    assert_eq!(
        m.by(PROVIDER, 0)
            .submit_proof(account(CLIENT), ID, 0, second),
        Ok(true)
    );
    let e: ProofAccepted = last_event();
    assert_eq!(
        (e.answered, e.proven, e.provider_paid, e.protocol_fee),
        (0b11, true, 950, 50)
    );
    assert_eq!(balance_of(account(PROVIDER)), provider_before + 950);
    assert_eq!(balance_of(account(TREASURY)), 50);
    assert_eq!(balance_of(account(MARKET)), u128::from(PRICE + COLLATERAL));
    assert_eq!(m.deal().records[0].status, PeriodStatus::Proven);
}

#[ink::test]
fn test_submit_proof_state_errors() {
    let m = Market::new();
    m.active(2);
    let answer = |seed| vec![m.answer(seed, 0, 0)];
    let unopened = answer([0; 32]);
    assert_eq!(
        m.by(PROVIDER, 0)
            .submit_proof(account(CLIENT), ID, 0, unopened.clone()),
        Err(Error::ChallengeNotOpen)
    );
    assert_eq!(
        m.by(PROVIDER, 0)
            .submit_proof(account(CLIENT), ID, 5, unopened.clone()),
        Err(Error::WrongPeriod)
    );
    assert_eq!(
        m.by(OTHER, 0)
            .submit_proof(account(CLIENT), ID, 0, unopened),
        Err(Error::NotProvider)
    );
    let seed = m
        .by(PROVIDER, 0)
        .open_challenge(account(CLIENT), ID, 0)
        .unwrap();
    let late = answer(seed);
    ink::env::test::set_block_number::<E>(ink::env::block_number::<E>() + WINDOW + 1);
    assert_eq!(
        m.by(PROVIDER, 0)
            .submit_proof(account(CLIENT), ID, 0, late.clone()),
        Err(Error::ProofWindowClosed)
    );
    m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0).unwrap();
    assert_eq!(
        m.by(PROVIDER, 0)
            .submit_proof(account(CLIENT), ID, 0, late.clone()),
        Err(Error::PeriodFaulted)
    );
    set_time(START + PERIOD);
    m.prove(1);
    assert_eq!(
        m.by(PROVIDER, 0).submit_proof(account(CLIENT), ID, 1, late),
        Err(Error::PeriodAlreadyProven)
    );
}

#[ink::test]
fn test_submit_proof_response_errors() {
    let m = Market::new();
    m.active(2);
    let seed = m
        .by(PROVIDER, 0)
        .open_challenge(account(CLIENT), ID, 0)
        .unwrap();
    let submit = |responses| {
        call(account(MARKET), account(PROVIDER), 0);
        m.market
            .borrow_mut()
            .submit_proof(account(CLIENT), ID, 0, responses)
    };
    let mut wrong_index = m.answer(seed, 0, 0);
    wrong_index.index = 2;
    assert_eq!(submit(vec![wrong_index]), Err(Error::NoSuchChallenge));
    let twice = vec![m.answer(seed, 0, 0), m.answer(seed, 0, 0)];
    assert_eq!(submit(twice), Err(Error::DuplicateResponse));
    let mut long = m.answer(seed, 0, 0);
    long.chunk_proof = vec![[0; 32]; 33];
    assert_eq!(submit(vec![long]), Err(Error::ProofTooLong));
    let mut forged = m.answer(seed, 0, 0);
    forged.word[0] ^= 1;
    assert_eq!(submit(vec![forged]), Err(Error::InvalidProof));
    let record = m.deal().records[0];
    assert_eq!(
        (record.status, record.answered),
        (PeriodStatus::Challenged, 0)
    );
}

#[ink::test]
fn test_report_fault_ok_unchallenged_period() {
    let m = Market::new();
    m.active(3);
    let client_before = balance_of(account(CLIENT));
    set_time(START + PERIOD);
    m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0).unwrap();
    let e: FaultReported = last_event();
    assert_eq!(
        (e.refunded, e.slashed, e.consecutive_faults),
        (PRICE, 200, 1)
    );
    assert_eq!(
        balance_of(account(CLIENT)),
        client_before + u128::from(PRICE + 200)
    );
    let deal = m.deal();
    assert_eq!((deal.collateral_left, deal.escrow_left), (1_800, 2 * PRICE));
}

#[ink::test]
fn test_report_fault_terminates_at_the_limit() {
    let m = Market::new();
    m.active(3);
    let client_before = balance_of(account(CLIENT));
    set_time(START + 2 * PERIOD);
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Ok(false)
    );
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 1),
        Ok(true)
    );
    let e: DealTerminated = last_event();
    // 2,000 collateral: 200 then 180 slashed to the client, 1,620 to the treasury
    assert_eq!((e.refunded, e.slashed_to_treasury), (PRICE, 1_620));
    assert_eq!(
        balance_of(account(CLIENT)),
        client_before + u128::from(3 * PRICE + 380)
    );
    assert_eq!(balance_of(account(TREASURY)), 1_620);
    assert_eq!(balance_of(account(MARKET)), 0);
    assert_eq!(m.deal().state, DealState::Terminated);
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 2),
        Err(Error::DealNotActive)
    );
}

#[ink::test]
fn test_report_fault_counts_in_period_order_not_report_order() {
    // Given period 0 missed, period 1 proven, period 2 missed (limit 2)
    let m = Market::new();
    m.active(4);
    set_time(START + PERIOD + 1);
    m.prove(1);
    set_time(START + 3 * PERIOD + 1);
    // When period 0 is reported only now, after period 1's proof, then period 2
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Ok(false)
    );
    // Then the two faults are not in a row: the deal goes on
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 2),
        Ok(false)
    );
    let e: FaultReported = last_event();
    assert_eq!(e.consecutive_faults, 1);
    let deal = m.deal();
    assert_eq!(
        (deal.state, deal.consecutive_faults, deal.total_faults),
        (DealState::Active, 1, 2)
    );
    m.prove(3);
}

/// Periods 1 and 2 missed in a row (limit 2), period 0 proven; period 3's proof lands
/// between the two reports, which come in period order or in `reverse`.
fn a_run_split_by_a_later_proof(reverse: bool) {
    let m = Market::new();
    m.active(4);
    set_time(START + 1);
    m.prove(0);
    set_time(START + 3 * PERIOD + 1);
    let (first, second) = if reverse { (2, 1) } else { (1, 2) };
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, first),
        Ok(false)
    );
    m.prove(3);
    // the second report still terminates the deal
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, second),
        Ok(true)
    );
    let deal = m.deal();
    assert_eq!(
        (deal.state, deal.consecutive_faults, deal.total_faults),
        (DealState::Terminated, 2, 2)
    );
}

#[ink::test]
fn test_report_fault_a_later_proof_does_not_split_a_run() {
    a_run_split_by_a_later_proof(false);
}

#[ink::test]
fn test_report_fault_a_run_reported_in_reverse_still_counts() {
    a_run_split_by_a_later_proof(true);
}

#[ink::test]
fn test_report_fault_errors() {
    let m = Market::new();
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Err(Error::DealNotFound)
    );
    m.active(2);
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Err(Error::FaultNotReportable)
    );
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 9),
        Err(Error::WrongPeriod)
    );
    m.by(PROVIDER, 0)
        .open_challenge(account(CLIENT), ID, 0)
        .unwrap();
    set_time(START + PERIOD); // the period is over but the proof window is not
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Err(Error::FaultNotReportable)
    );
    m.prove(1);
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 1),
        Err(Error::FaultNotReportable)
    );
}

#[ink::test]
fn test_complete_deal_ok() {
    let m = Market::new();
    m.active(2);
    m.prove(0);
    set_time(START + PERIOD);
    m.prove(1);
    let provider_before = balance_of(account(PROVIDER));
    set_time(START + 2 * PERIOD);
    m.by(OTHER, 0).complete_deal(account(CLIENT), ID).unwrap();
    let e: DealCompleted = last_event();
    assert_eq!(
        (e.collateral_returned, e.proven_periods, e.faulted_periods),
        (COLLATERAL, 2, 0)
    );
    assert_eq!(
        balance_of(account(PROVIDER)),
        provider_before + u128::from(COLLATERAL)
    );
    assert_eq!(balance_of(account(MARKET)), 0);
    assert_eq!(balance_of(account(TREASURY)), 100);
    // the completed deal's key is never used again
    assert_eq!(
        m.by(CLIENT, 2 * PRICE).propose_deal(ID, m.terms(2)),
        Err(Error::DealIdNotNext)
    );
    assert_eq!(
        as_contract(account(MARKET), || m
            .market
            .borrow()
            .next_deal_id(account(CLIENT))),
        ID + 1
    );
}

#[ink::test]
fn test_complete_deal_errors() {
    let m = Market::new();
    assert_eq!(
        m.by(OTHER, 0).complete_deal(account(CLIENT), ID),
        Err(Error::DealNotFound)
    );
    m.by(CLIENT, 2 * PRICE)
        .propose_deal(ID, m.terms(2))
        .unwrap();
    assert_eq!(
        m.by(OTHER, 0).complete_deal(account(CLIENT), ID),
        Err(Error::DealNotActive)
    );
    m.by(PROVIDER, COLLATERAL)
        .accept_deal(account(CLIENT), ID, m.hash(ID, 2))
        .unwrap();
    m.prove(0);
    let events = event_count();
    set_time(START + 2 * PERIOD);
    assert_eq!(
        m.by(OTHER, 0).complete_deal(account(CLIENT), ID),
        Err(Error::DealNotFinished)
    );
    assert_eq!(event_count(), events);
}

#[ink::test]
fn test_complete_terminated_deal_returns_nothing_left() {
    let m = Market::new();
    m.active(2);
    set_time(START + 2 * PERIOD);
    m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0).unwrap();
    m.by(OTHER, 0).report_fault(account(CLIENT), ID, 1).unwrap();
    let provider_before = balance_of(account(PROVIDER));
    m.by(OTHER, 0).complete_deal(account(CLIENT), ID).unwrap();
    let e: DealCompleted = last_event();
    assert_eq!((e.collateral_returned, e.faulted_periods), (0, 2));
    assert_eq!(balance_of(account(PROVIDER)), provider_before);
}

#[ink::test]
fn test_initialize_market_param_bounds() {
    let _m = Market::new();
    call(account(0xD1), account(AUTHORITY), 0);
    let new = |period, window, challenges, faults, slash, fee| {
        StorageEscrow::new(
            account(REGISTRY),
            period,
            window,
            challenges,
            faults,
            slash,
            fee,
        )
        .err()
    };
    let invalid = Some(Error::InvalidMarketParams);
    // a proving period whose deals could never end (i64::MAX used to be accepted: every
    // deal's last period then ended past the clock and could never complete)
    assert_eq!(new(0, WINDOW, 2, 2, 1_000, 500), invalid);
    assert_eq!(
        new(MAX_DURATION_SECS + 1, WINDOW, 2, 2, 1_000, 500),
        invalid
    );
    assert_eq!(new(i64::MAX as u64, WINDOW, 2, 2, 1_000, 500), invalid);
    // a proof window that overflows the block number or outlasts a week
    assert_eq!(
        new(PERIOD, MAX_CHALLENGE_WINDOW_BLOCKS + 1, 2, 2, 1_000, 500),
        invalid
    );
    assert_eq!(new(PERIOD, u32::MAX, 2, 2, 1_000, 500), invalid);
    // a fault limit no deal can reach
    assert_eq!(new(PERIOD, WINDOW, 2, 0, 1_000, 500), invalid);
    assert_eq!(new(PERIOD, WINDOW, 2, MAX_PERIODS + 1, 1_000, 500), invalid);
    // rates above 100%
    assert_eq!(new(PERIOD, WINDOW, 2, 2, 10_001, 500), invalid);
    assert_eq!(new(PERIOD, WINDOW, 2, 2, 1_000, 10_001), invalid);
    // every bound itself is valid
    assert_eq!(
        new(
            MAX_DURATION_SECS,
            MAX_CHALLENGE_WINDOW_BLOCKS,
            8,
            MAX_PERIODS,
            10_000,
            10_000
        ),
        None
    );
}

#[ink::test]
fn test_propose_deal_id_not_next() {
    let m = Market::new();
    let next = |who: u8| {
        as_contract(account(MARKET), || {
            m.market.borrow().next_deal_id(account(who))
        })
    };
    assert_eq!(next(CLIENT), 0);
    // a client's first deal is 0
    assert_eq!(
        m.refused(CLIENT, 2 * PRICE, |c| c.propose_deal(5, m.terms(2))),
        Error::DealIdNotNext
    );
    m.by(CLIENT, 2 * PRICE).propose_deal(0, m.terms(2)).unwrap();
    assert_eq!(next(CLIENT), 1);
    // Given the deal is cancelled, When the client proposes at its id again, Then it is
    // refused: a deal key is used once
    m.by(CLIENT, 0).cancel_deal(0).unwrap();
    assert_eq!(
        m.refused(CLIENT, 2 * PRICE, |c| c.propose_deal(0, m.terms(2))),
        Error::DealIdNotNext
    );
    assert!(as_contract(account(MARKET), || m
        .market
        .borrow()
        .get_deal(account(CLIENT), 0))
    .is_none());
    assert_eq!(next(CLIENT), 1);
    m.by(CLIENT, 2 * PRICE).propose_deal(1, m.terms(2)).unwrap();
    assert_eq!(next(CLIENT), 2);
    // every client counts on its own
    assert_eq!(next(OTHER), 0);
    m.by(OTHER, 2 * PRICE).propose_deal(0, m.terms(2)).unwrap();
    assert_eq!(balance_of(account(MARKET)), u128::from(4 * PRICE));
}

#[ink::test]
fn test_deal_terms_hash() {
    let m = Market::new();
    let read = |id| {
        as_contract(account(MARKET), || {
            m.market.borrow().deal_terms_hash(account(CLIENT), id)
        })
    };
    assert_eq!(read(0), None);
    m.by(CLIENT, 2 * PRICE).propose_deal(0, m.terms(2)).unwrap();
    m.by(CLIENT, 2 * PRICE).propose_deal(1, m.terms(2)).unwrap();
    // what a provider's wallet computes from the terms it shows
    assert_eq!(read(0), Some(m.hash(0, 2)));
    assert_eq!(read(1), Some(m.hash(1, 2)));
    // the same terms under another deal key are other terms
    assert_ne!(m.hash(0, 2), m.hash(1, 2));
}

#[ink::test]
fn test_accept_deal_terms_mismatch() {
    // Given a proposed deal whose terms the provider's wallet showed and hashed
    let m = Market::new();
    m.by(CLIENT, 2 * PRICE)
        .propose_deal(ID, m.terms(2))
        .unwrap();
    let seen = m.hash(ID, 2);
    // When the client cancels it and proposes other terms (a price of 1), first at the
    // same id, which is refused, then at its next id
    m.by(CLIENT, 0).cancel_deal(ID).unwrap();
    let worse = DealTerms {
        price_per_period: 1,
        ..m.terms(2)
    };
    assert_eq!(
        m.refused(CLIENT, 2, |c| c.propose_deal(ID, worse)),
        Error::DealIdNotNext
    );
    m.by(CLIENT, 2).propose_deal(ID + 1, worse).unwrap();
    let provider_before = balance_of(account(PROVIDER));
    let events = event_count();
    // Then the provider's acceptance of what it saw lands on nothing
    assert_eq!(
        m.refused(PROVIDER, COLLATERAL, |c| c.accept_deal(
            account(CLIENT),
            ID,
            seen
        )),
        Error::DealNotFound
    );
    assert_eq!(
        m.refused(PROVIDER, COLLATERAL, |c| c.accept_deal(
            account(CLIENT),
            ID + 1,
            seen
        )),
        Error::TermsMismatch
    );
    // any single changed term is a mismatch too
    let more_collateral = m.hash_of(
        ID + 1,
        &DealTerms {
            collateral: COLLATERAL + 1,
            ..worse
        },
    );
    assert_eq!(
        m.refused(PROVIDER, COLLATERAL, |c| c.accept_deal(
            account(CLIENT),
            ID + 1,
            more_collateral
        )),
        Error::TermsMismatch
    );
    let deal = as_contract(account(MARKET), || {
        m.market.borrow().get_deal(account(CLIENT), ID + 1)
    })
    .unwrap();
    assert_eq!(
        (deal.state, deal.provider, deal.collateral_left),
        (DealState::Proposed, None, 0)
    );
    assert_eq!(event_count(), events);
    assert_eq!(balance_of(account(PROVIDER)), provider_before);
    assert_eq!(balance_of(account(MARKET)), 2);
    // and the hash of the terms actually proposed is accepted
    m.by(PROVIDER, COLLATERAL)
        .accept_deal(account(CLIENT), ID + 1, m.hash_of(ID + 1, &worse))
        .unwrap();
    assert_eq!(
        balance_of(account(PROVIDER)),
        provider_before - u128::from(COLLATERAL)
    );
    assert_eq!(balance_of(account(MARKET)), u128::from(2 + COLLATERAL));
}

fn owed(m: &Market, who: u8) -> u64 {
    as_contract(account(MARKET), || m.market.borrow().owed(account(who)))
}

/// A proposed and accepted deal of `periods` periods whose escrow and collateral are sent
/// as values the engine does not move, so the market has no account and every payout it
/// pushes fails until [`fund`] gives it one.
fn active_unfunded(m: &Market, periods: u8) {
    call(account(MARKET), account(CLIENT), 0);
    ink::env::test::set_value_transferred::<E>(u128::from(PRICE * u64::from(periods)));
    m.market
        .borrow_mut()
        .propose_deal(ID, m.terms(periods))
        .unwrap();
    call(account(MARKET), account(PROVIDER), 0);
    ink::env::test::set_value_transferred::<E>(u128::from(COLLATERAL));
    m.market
        .borrow_mut()
        .accept_deal(account(CLIENT), ID, m.hash(ID, periods))
        .unwrap();
}

/// Gives the market what the deal holds (above the engine's existential deposit), from now
/// on able to pay.
fn fund(periods: u8) {
    let held = u128::from(PRICE * u64::from(periods) + COLLATERAL);
    let floor = ink::env::minimum_balance::<E>();
    ink::env::test::set_account_balance::<E>(account(MARKET), floor + held);
}

/// A fault whose refund cannot be pushed to the client (on chain: a client that emptied and
/// reaped its account, the refund below the existential deposit) is reported all the same:
/// the refund is owed, the deal goes on to completion and the provider gets its collateral
/// back. Before, every `report_fault` failed with `TransferFailed`, the period stayed
/// unresolved, `complete_deal` answered `DealNotFinished` for ever and the provider's
/// collateral was locked: a client could do that on purpose.
#[ink::test]
fn test_report_fault_a_refund_that_cannot_be_pushed_is_owed_and_withdrawn() {
    let m = Market::with_market_account(false);
    active_unfunded(&m, 2);
    let client_before = balance_of(account(CLIENT));
    // period 0 never proven: the client's refund (the price and a tenth of the collateral)
    // cannot be pushed, and is owed
    set_time(START + PERIOD);
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Ok(false)
    );
    let e: PayoutOwed = event_before_last(1);
    assert_eq!(
        (e.owner, e.amount, e.owed),
        (account(CLIENT), PRICE + 200, PRICE + 200)
    );
    let e: FaultReported = last_event();
    assert_eq!((e.period, e.refunded, e.slashed), (0, PRICE, 200));
    assert_eq!(owed(&m, CLIENT), PRICE + 200);
    assert_eq!(balance_of(account(CLIENT)), client_before);
    assert_eq!(m.deal().records[0].status, PeriodStatus::Faulted);
    // a withdrawal that cannot be pushed either changes nothing
    assert_eq!(m.by(CLIENT, 0).withdraw_owed(), Err(Error::TransferFailed));
    assert_eq!(owed(&m, CLIENT), PRICE + 200);
    // once the market can pay: period 1 proven, the deal completes
    fund(2);
    m.prove(1);
    set_time(START + 2 * PERIOD);
    let provider_before = balance_of(account(PROVIDER));
    m.by(OTHER, 0).complete_deal(account(CLIENT), ID).unwrap();
    let e: DealCompleted = last_event();
    assert_eq!((e.proven_periods, e.faulted_periods), (1, 1));
    assert_eq!(
        balance_of(account(PROVIDER)),
        provider_before + u128::from(COLLATERAL - 200)
    );
    // and the client takes exactly what it is owed, once
    assert_eq!(m.by(CLIENT, 0).withdraw_owed(), Ok(PRICE + 200));
    let e: OwedWithdrawn = last_event();
    assert_eq!((e.owner, e.amount), (account(CLIENT), PRICE + 200));
    assert_eq!(
        balance_of(account(CLIENT)),
        client_before + u128::from(PRICE + 200)
    );
    assert_eq!(owed(&m, CLIENT), 0);
    assert_eq!(m.by(CLIENT, 0).withdraw_owed(), Err(Error::NothingOwed));
    assert_eq!(m.by(OTHER, 0).withdraw_owed(), Err(Error::NothingOwed));
}

/// A provider that cannot be paid its collateral back does not keep a finished deal in
/// storage: the collateral is owed to it and withdrawn once it can be paid.
#[ink::test]
fn test_complete_deal_collateral_that_cannot_be_pushed_is_owed() {
    let m = Market::with_market_account(false);
    active_unfunded(&m, 1);
    // its one period faulted (a proof would pay the provider, which cannot be pushed here)
    set_time(START + PERIOD);
    assert_eq!(
        m.by(OTHER, 0).report_fault(account(CLIENT), ID, 0),
        Ok(false)
    );
    m.by(OTHER, 0).complete_deal(account(CLIENT), ID).unwrap();
    let e: PayoutOwed = event_before_last(1);
    assert_eq!(
        (e.owner, e.amount, e.owed),
        (account(PROVIDER), COLLATERAL - 200, COLLATERAL - 200)
    );
    let e: DealCompleted = last_event();
    assert_eq!(e.collateral_returned, COLLATERAL - 200);
    assert!(m.by(OTHER, 0).get_deal(account(CLIENT), ID).is_none());
    assert_eq!(owed(&m, PROVIDER), COLLATERAL - 200);
    fund(1);
    let provider_before = balance_of(account(PROVIDER));
    assert_eq!(m.by(PROVIDER, 0).withdraw_owed(), Ok(COLLATERAL - 200));
    assert_eq!(
        balance_of(account(PROVIDER)),
        provider_before + u128::from(COLLATERAL - 200)
    );
    assert_eq!(m.by(CLIENT, 0).withdraw_owed(), Ok(PRICE + 200));
    assert_eq!((owed(&m, PROVIDER), owed(&m, CLIENT)), (0, 0));
}

/// The decoded event `back` places before the last one.
fn event_before_last<T: ink::scale::Decode>(back: usize) -> T {
    let events: Vec<_> = ink::env::test::recorded_events().collect();
    let event = &events[events.len() - 1 - back];
    T::decode(&mut &event.data[..]).expect("the event has the expected type")
}
