//! # Storage-deal escrow (ink!)
//!
//! One storage market per Storage network. A client escrows `price x periods` for a deal
//! with a registered storage device; the device's owner accepts by posting collateral and
//! must answer random challenges each proving period with merkle proofs of the stored
//! piece. A proven period pays the provider (less the protocol fee, to the treasury); an
//! unproven one is refunded to the client with part of the collateral; too many faults in
//! a row terminate the deal. Value is the chain's native token, held in this contract.
//!
//! Piece commitments, challenge derivation, proof checks, periods and money splits come
//! from `depin_core::storage`. The registry is read through [`RegistryReader`].
//!
//! ## Challenge seed
//!
//! On Solana the seed is the hash of a slot after the one that opened the challenge. ink!
//! 5 contracts on `pallet-contracts` get neither block hashes nor randomness from the host,
//! so the seed is fixed when the challenge opens: `sha256("depin-storage-seed-v1" ||
//! block number || block timestamp || deal || period)`. A provider therefore learns its
//! challenges when it opens them and may time the opening within the period; a network
//! that needs unbiasable challenges feeds a randomness beacon in `challenge_seed` (one
//! function). The proof window is counted in blocks.
//!
//! ## Deal ids and accepted terms
//!
//! A deal key `(client, deal_id)` is used once. Each client's deal ids are sequential:
//! `propose_deal` takes exactly `next_deal_id(client)` (0 for a new client) and moves it
//! on, so no deal can ever be proposed again at the key of a cancelled or completed one.
//! The provider's `accept_deal` names the terms it accepts by their hash
//! (`depin_core::storage::DealTerms::hash`, with this contract as market, the deal key as
//! deal, the client's account, the device id and the stored terms; `deal_terms_hash` reads
//! it): an acceptance can never land on terms the provider did not see.
//!
//! ## Payouts that cannot be pushed
//!
//! A payment to a party that is not the caller never blocks the message that owes it: if
//! the transfer fails (the account was reaped and the amount is below the existential
//! deposit), the amount is credited to the party's owed balance (`PayoutOwed`), the message
//! goes on, and the party takes it later with `withdraw_owed`. So a client that empties and
//! reaps its account cannot make its provider's faults unreportable, and with them the deal
//! uncompletable and the provider's collateral locked for good (`report_fault` pays the
//! client); nor can a reaped provider keep a finished deal in storage (`complete_deal`). A
//! caller's own payment (`cancel_deal`, `submit_proof`) and the treasury's still fail with
//! `TransferFailed`.

#![cfg_attr(not(feature = "std"), no_std, no_main)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

#[ink::contract]
pub mod storage_escrow {
    use depin_core::epoch;
    use depin_core::fees::MAX_BPS;
    use depin_core::merkle::Hasher;
    use depin_core::storage::{
        self as core_storage, challenge, fault_run, fault_slash, period_at, period_end,
        period_payment, verify_word, PieceShape,
    };
    use depin_core::CoreError;
    use depin_ink_shared::cross::{self, RegistryReader};
    use depin_ink_shared::host::{self, InkSha256};
    use depin_ink_shared::{DeviceId, NetworkKind};
    use device_registry::device_registry::DeviceRegistryRef;
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;

    /// Most periods a deal may have.
    pub const MAX_PERIODS: u8 = 32;
    /// Longest word or chunk proof accepted (2^32 leaves).
    pub const MAX_PROOF_LEN: usize = 32;
    /// Most challenges per period (one bit each in `PeriodRecord::answered`).
    pub const MAX_CHALLENGES_PER_PERIOD: u8 = 8;
    /// Longest proof window a market may set, in blocks: one week of 6-second blocks, so
    /// a silent provider's challenged period can always be reported as a fault within
    /// about a week (a window near `u32::MAX` made `report_fault` overflow instead).
    pub const MAX_CHALLENGE_WINDOW_BLOCKS: u32 = 100_800;

    /// Lifecycle of a deal. Cancelled and completed deals are removed from storage.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum DealState {
        /// Escrowed, waiting for the provider.
        Proposed,
        /// Accepted: periods running.
        Active,
        /// Ended at the fault limit; waits for `complete_deal` to be removed.
        Terminated,
    }

    /// What happened in one period.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum PeriodStatus {
        /// Nothing yet.
        Pending,
        /// Challenge open.
        Challenged,
        /// Proven and paid.
        Proven,
        /// Faulted, refunded and slashed.
        Faulted,
    }

    /// One period's record.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct PeriodRecord {
        /// Block in which the challenge opened (0 until then).
        pub challenge_block: u32,
        /// The challenge seed (zero until the challenge opens).
        pub seed: [u8; 32],
        /// Where the period stands.
        pub status: PeriodStatus,
        /// Bitmask of the challenges answered.
        pub answered: u8,
    }

    /// A storage deal, stored under `(client, deal_id)`.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Deal {
        /// The provider's registry device.
        pub provider_device: DeviceId,
        /// Provider wallet (the device owner who accepted; `None` until then).
        pub provider: Option<AccountId>,
        /// Root of the piece commitment (`depin_core::storage`).
        pub piece_root: [u8; 32],
        /// Chunk size in bytes.
        pub chunk_size: u32,
        /// Chunks in the piece.
        pub num_chunks: u64,
        /// Paid per proven period.
        pub price_per_period: u64,
        /// Periods in the deal.
        pub periods: u8,
        /// Collateral the provider posts.
        pub collateral: u64,
        /// Collateral still held.
        pub collateral_left: u64,
        /// Escrow still held.
        pub escrow_left: u64,
        /// Lifecycle state.
        pub state: DealState,
        /// Start of period 0 (0 until accepted).
        pub start_ts: i64,
        /// The longest run of faulted periods in a row, in period order (whatever order
        /// the faults were reported in; a proof never shortens a run, it only ends one):
        /// the deal terminates when a run reaches `max_consecutive_faults`.
        pub consecutive_faults: u8,
        /// Faults in all.
        pub total_faults: u8,
        /// One record per period.
        pub records: Vec<PeriodRecord>,
    }

    /// The answer to one challenge.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ChallengeResponse {
        /// Which of the period's challenges (below `challenges_per_period`).
        pub index: u8,
        /// The challenged 32 bytes of the piece.
        pub word: [u8; 32],
        /// Siblings from the word leaf to its chunk root.
        pub word_proof: Vec<[u8; 32]>,
        /// Siblings from the chunk leaf to the piece root.
        pub chunk_proof: Vec<[u8; 32]>,
    }

    /// Terms of a new deal.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DealTerms {
        /// The provider's registry device.
        pub provider_device: DeviceId,
        /// Root of the piece commitment. It does not say how many chunks the data has: a
        /// provider checks `num_chunks` and `chunk_size` against its data before
        /// accepting.
        pub piece_root: [u8; 32],
        /// Chunk size in bytes (a positive multiple of 32).
        pub chunk_size: u32,
        /// Chunks in the piece (1 to 2^32, so every chunk proof fits 32 siblings).
        pub num_chunks: u64,
        /// Paid per proven period (positive).
        pub price_per_period: u64,
        /// Periods, 1 to 32.
        pub periods: u8,
        /// Collateral the provider must post.
        pub collateral: u64,
    }

    /// The market's parameters and every live deal.
    #[ink(storage)]
    pub struct StorageEscrow {
        /// The device registry (a Storage network).
        registry: AccountId,
        /// Length of a proving period in seconds, 1 to
        /// `depin_core::epoch::MAX_DURATION_SECS` (366 days).
        proving_period_secs: u64,
        /// Blocks after a challenge opens within which its proof must land, 1 to
        /// `MAX_CHALLENGE_WINDOW_BLOCKS`.
        challenge_window_blocks: u32,
        /// Challenges per period, 1 to 8.
        challenges_per_period: u8,
        /// Faulted periods in a row (in period order) that terminate a deal, 1 to
        /// `MAX_PERIODS`.
        max_consecutive_faults: u8,
        /// Share of the remaining collateral slashed to the client per fault, in bps
        /// (at most 10,000).
        fault_slash_bps: u16,
        /// Share of each period's payment kept by the protocol, in bps (at most 10,000).
        protocol_fee_bps: u16,
        /// Deals by `(client, deal_id)`.
        deals: Mapping<(AccountId, u64), Deal>,
        /// The id each client's next deal must have (absent: 0). Ids are never reused.
        next_deal_ids: Mapping<AccountId, u64>,
        /// What the market owes each account: payouts it could not push (absent: 0).
        owed: Mapping<AccountId, u64>,
    }

    /// Every way a storage message can refuse its input.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Error {
        /// Returned if the network is paused and the message opens new business.
        NetworkPaused,
        /// Returned if the caller is not the network's authority.
        NotNetworkAuthority,
        /// Returned if the network is not a Storage network.
        NotStorageNetwork,
        /// Returned if market parameters are out of range (see the constructor's bounds).
        InvalidMarketParams,
        /// Returned if deal terms are out of range (no periods or more than 32, zero
        /// price, no chunks or more than 2^32, a chunk size that is not a positive multiple
        /// of 32).
        InvalidDealTerms,
        /// Returned if the value sent is not exactly the escrow or collateral due.
        WrongPayment,
        /// Returned if a deal with this id already exists for the client (defensive: ids
        /// are sequential per client, so `DealIdNotNext` refuses a used id first).
        DealAlreadyExists,
        /// Returned if no deal has this client and id.
        DealNotFound,
        /// Returned if the provider device is not a device of the network.
        NotStorageDevice,
        /// Returned if the provider device is not active.
        DeviceNotActive,
        /// Returned if the caller does not own the provider device.
        NotDeviceOwner,
        /// Returned if the caller is not the deal's provider.
        NotProvider,
        /// Returned if the deal is not awaiting acceptance.
        DealNotProposed,
        /// Returned if the deal is not active.
        DealNotActive,
        /// Returned if a challenge is opened for a period other than the current one, or
        /// a period is past the deal's end.
        WrongPeriod,
        /// Returned if the period's challenge is already open.
        ChallengeAlreadyOpen,
        /// Returned if a proof comes for a period whose challenge is not open.
        ChallengeNotOpen,
        /// Returned if a proof comes after the challenge window.
        ProofWindowClosed,
        /// Returned if the period is already proven.
        PeriodAlreadyProven,
        /// Returned if the period was faulted.
        PeriodFaulted,
        /// Returned if a response names a challenge index outside
        /// `challenges_per_period`.
        NoSuchChallenge,
        /// Returned if the same challenge is answered twice.
        DuplicateResponse,
        /// Returned if a response does not prove the challenged word.
        InvalidProof,
        /// Returned if a proof path is longer than 32 levels.
        ProofTooLong,
        /// Returned if a fault is reported for a period that is not (yet) at fault.
        FaultNotReportable,
        /// Returned if a deal is completed before every period is resolved and over.
        DealNotFinished,
        /// Returned if an amount, count or time would overflow.
        MathOverflow,
        /// Returned if a payment out of the escrow fails.
        TransferFailed,
        /// Returned if a deal is proposed with an id other than the client's next one
        /// (`next_deal_id`): a deal key is used once, never again after a cancellation or
        /// completion.
        DealIdNotNext,
        /// Returned if the terms hash an acceptance names is not the hash of the deal's
        /// stored terms (`deal_terms_hash`).
        TermsMismatch,
        /// Returned if `withdraw_owed` is called by an account owed nothing.
        NothingOwed,
    }

    impl From<CoreError> for Error {
        fn from(e: CoreError) -> Self {
            match e {
                CoreError::InvalidChunkSize | CoreError::InvalidChunkCount => {
                    Error::InvalidDealTerms
                }
                _ => Error::MathOverflow,
            }
        }
    }

    /// Result of a storage message.
    pub type Result<T> = core::result::Result<T, Error>;

    /// Emitted by the constructor.
    #[ink(event)]
    pub struct MarketInitialized {
        /// The registry.
        #[ink(topic)]
        pub registry: AccountId,
        /// Proving period.
        pub proving_period_secs: u64,
        /// Proof window in blocks.
        pub challenge_window_blocks: u32,
        /// Challenges per period.
        pub challenges_per_period: u8,
        /// Faulted periods in a row (in period order) that terminate a deal.
        pub max_consecutive_faults: u8,
        /// Fault slash rate.
        pub fault_slash_bps: u16,
        /// Protocol fee rate.
        pub protocol_fee_bps: u16,
    }

    /// Emitted by `propose_deal`.
    #[ink(event)]
    pub struct DealProposed {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The client's deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// The provider device.
        #[ink(topic)]
        pub provider_device: DeviceId,
        /// The terms.
        pub terms: DealTerms,
    }

    /// Emitted by `cancel_deal`.
    #[ink(event)]
    pub struct DealCancelled {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// Escrow refunded.
        pub refunded: u64,
    }

    /// Emitted by `accept_deal`.
    #[ink(event)]
    pub struct DealAccepted {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// The provider.
        #[ink(topic)]
        pub provider: AccountId,
        /// Collateral posted.
        pub collateral: u64,
        /// Start of period 0.
        pub start_ts: i64,
    }

    /// Emitted by `open_challenge`.
    #[ink(event)]
    pub struct ChallengeOpened {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// The period.
        pub period: u64,
        /// Block of the opening.
        pub block: u32,
        /// The seed the challenges derive from.
        pub seed: [u8; 32],
    }

    /// Emitted by `submit_proof`.
    #[ink(event)]
    pub struct ProofAccepted {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// The period.
        pub period: u64,
        /// Challenges answered so far (bitmask).
        pub answered: u8,
        /// Whether the period is now proven (and paid).
        pub proven: bool,
        /// Paid to the provider.
        pub provider_paid: u64,
        /// Paid to the treasury.
        pub protocol_fee: u64,
    }

    /// Emitted by `report_fault`.
    #[ink(event)]
    pub struct FaultReported {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// The period.
        pub period: u64,
        /// The period's price, refunded to the client.
        pub refunded: u64,
        /// Collateral slashed to the client.
        pub slashed: u64,
        /// Faulted periods in a row (in period order) around this one, this one included.
        pub consecutive_faults: u8,
    }

    /// Emitted by `report_fault` when the deal reaches the fault limit.
    #[ink(event)]
    pub struct DealTerminated {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// Remaining escrow refunded to the client.
        pub refunded: u64,
        /// Remaining collateral slashed to the treasury.
        pub slashed_to_treasury: u64,
    }

    /// Emitted when a payout could not be pushed and is owed instead.
    #[ink(event)]
    pub struct PayoutOwed {
        /// Who is owed.
        #[ink(topic)]
        pub owner: AccountId,
        /// This payout.
        pub amount: u64,
        /// Everything now owed to `owner`.
        pub owed: u64,
    }

    /// Emitted by `withdraw_owed`.
    #[ink(event)]
    pub struct OwedWithdrawn {
        /// Who was paid.
        #[ink(topic)]
        pub owner: AccountId,
        /// The amount paid.
        pub amount: u64,
    }

    /// Emitted by `complete_deal`.
    #[ink(event)]
    pub struct DealCompleted {
        /// The client.
        #[ink(topic)]
        pub client: AccountId,
        /// The deal id.
        #[ink(topic)]
        pub deal_id: u64,
        /// Collateral returned to the provider.
        pub collateral_returned: u64,
        /// Periods proven.
        pub proven_periods: u8,
        /// Periods faulted.
        pub faulted_periods: u8,
    }

    impl StorageEscrow {
        /// Creates the market of the Storage network at `registry` (its authority only,
        /// unpaused). The parameters are fixed for the market's life.
        ///
        /// Bounds: `1 <= proving_period_secs <= depin_core::epoch::MAX_DURATION_SECS`
        /// (366 days, so the end of a deal's last period is a real time and every deal
        /// can complete); `1 <= challenge_window_blocks <= MAX_CHALLENGE_WINDOW_BLOCKS`
        /// (100,800); `1 <= challenges_per_period <= 8`;
        /// `1 <= max_consecutive_faults <= MAX_PERIODS` (32, a longer limit could never be
        /// reached); `fault_slash_bps` and `protocol_fee_bps` at most 10,000.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `NetworkPaused`, `NotStorageNetwork`,
        /// `InvalidMarketParams`.
        #[ink(constructor)]
        pub fn new(
            registry: AccountId,
            proving_period_secs: u64,
            challenge_window_blocks: u32,
            challenges_per_period: u8,
            max_consecutive_faults: u8,
            fault_slash_bps: u16,
            protocol_fee_bps: u16,
        ) -> Result<Self> {
            let network = cross::registry::<DeviceRegistryRef>(registry).network_info();
            if Self::env().caller() != network.authority {
                return Err(Error::NotNetworkAuthority);
            }
            if network.paused {
                return Err(Error::NetworkPaused);
            }
            if network.kind != NetworkKind::Storage {
                return Err(Error::NotStorageNetwork);
            }
            if epoch::validate_duration(proving_period_secs).is_err()
                || !(1..=MAX_CHALLENGE_WINDOW_BLOCKS).contains(&challenge_window_blocks)
                || !(1..=MAX_CHALLENGES_PER_PERIOD).contains(&challenges_per_period)
                || !(1..=MAX_PERIODS).contains(&max_consecutive_faults)
                || fault_slash_bps > MAX_BPS
                || protocol_fee_bps > MAX_BPS
            {
                return Err(Error::InvalidMarketParams);
            }
            Self::env().emit_event(MarketInitialized {
                registry,
                proving_period_secs,
                challenge_window_blocks,
                challenges_per_period,
                max_consecutive_faults,
                fault_slash_bps,
                protocol_fee_bps,
            });
            Ok(Self {
                registry,
                proving_period_secs,
                challenge_window_blocks,
                challenges_per_period,
                max_consecutive_faults,
                fault_slash_bps,
                protocol_fee_bps,
                deals: Mapping::default(),
                next_deal_ids: Mapping::default(),
                owed: Mapping::default(),
            })
        }

        /// Proposes a deal to a registered device; the value sent must be exactly
        /// `price_per_period x periods`, escrowed here. `deal_id` must be the caller's
        /// `next_deal_id`, which then moves on by one: a deal key is used once.
        ///
        /// # Errors
        /// `NetworkPaused`, `InvalidDealTerms`, `MathOverflow`, `WrongPayment`,
        /// `NotStorageDevice`, `DealIdNotNext`, `DealAlreadyExists`.
        #[ink(message, payable)]
        pub fn propose_deal(&mut self, deal_id: u64, terms: DealTerms) -> Result<()> {
            let registry = self.registry();
            if registry.network_info().paused {
                return Err(Error::NetworkPaused);
            }
            if terms.periods == 0 || terms.periods > MAX_PERIODS || terms.price_per_period == 0 {
                return Err(Error::InvalidDealTerms);
            }
            PieceShape::new(terms.num_chunks, terms.chunk_size)?;
            let escrow = terms
                .price_per_period
                .checked_mul(u64::from(terms.periods))
                .ok_or(Error::MathOverflow)?;
            if host::transferred_amount() != Some(escrow) {
                return Err(Error::WrongPayment);
            }
            if registry.device_info(terms.provider_device).is_none() {
                return Err(Error::NotStorageDevice);
            }
            let client = self.env().caller();
            let next = self.next_deal_id(client);
            if deal_id != next {
                return Err(Error::DealIdNotNext);
            }
            if self.deals.contains((client, deal_id)) {
                return Err(Error::DealAlreadyExists);
            }
            let next = next.checked_add(1).ok_or(Error::MathOverflow)?;
            let record = PeriodRecord {
                challenge_block: 0,
                seed: [0; 32],
                status: PeriodStatus::Pending,
                answered: 0,
            };
            self.deals.insert(
                (client, deal_id),
                &Deal {
                    provider_device: terms.provider_device,
                    provider: None,
                    piece_root: terms.piece_root,
                    chunk_size: terms.chunk_size,
                    num_chunks: terms.num_chunks,
                    price_per_period: terms.price_per_period,
                    periods: terms.periods,
                    collateral: terms.collateral,
                    collateral_left: 0,
                    escrow_left: escrow,
                    state: DealState::Proposed,
                    start_ts: 0,
                    consecutive_faults: 0,
                    total_faults: 0,
                    records: ink::prelude::vec![record; usize::from(terms.periods)],
                },
            );
            self.next_deal_ids.insert(client, &next);
            self.env().emit_event(DealProposed {
                client,
                deal_id,
                provider_device: terms.provider_device,
                terms,
            });
            Ok(())
        }

        /// Withdraws a deal before acceptance: the whole escrow goes back to the client.
        /// Allowed while paused: it returns the client's own funds.
        ///
        /// # Errors
        /// `DealNotFound`, `DealNotProposed`, `TransferFailed`.
        #[ink(message)]
        pub fn cancel_deal(&mut self, deal_id: u64) -> Result<()> {
            let client = self.env().caller();
            let deal = self.deal(client, deal_id)?;
            if deal.state != DealState::Proposed {
                return Err(Error::DealNotProposed);
            }
            host::pay(client, deal.escrow_left).map_err(|_| Error::TransferFailed)?;
            self.deals.remove((client, deal_id));
            self.env().emit_event(DealCancelled {
                client,
                deal_id,
                refunded: deal.escrow_left,
            });
            Ok(())
        }

        /// The provider device's owner accepts the deal, sending exactly the collateral;
        /// period 0 starts now. `terms_hash` is the hash of the terms the provider accepts
        /// (what its wallet computed and showed, see `deal_terms_hash`); it must be the
        /// hash of the deal's stored terms.
        ///
        /// # Errors
        /// `NetworkPaused`, `DealNotFound`, `DealNotProposed`, `TermsMismatch`,
        /// `NotStorageDevice`, `NotDeviceOwner`, `DeviceNotActive`, `WrongPayment`.
        #[ink(message, payable)]
        pub fn accept_deal(
            &mut self,
            client: AccountId,
            deal_id: u64,
            terms_hash: [u8; 32],
        ) -> Result<()> {
            let registry = self.registry();
            if registry.network_info().paused {
                return Err(Error::NetworkPaused);
            }
            let mut deal = self.deal(client, deal_id)?;
            if deal.state != DealState::Proposed {
                return Err(Error::DealNotProposed);
            }
            if self.terms_hash(client, deal_id, &deal) != terms_hash {
                return Err(Error::TermsMismatch);
            }
            let device = registry
                .device_info(deal.provider_device)
                .ok_or(Error::NotStorageDevice)?;
            let provider = self.env().caller();
            if device.owner != provider {
                return Err(Error::NotDeviceOwner);
            }
            if !device.is_active() {
                return Err(Error::DeviceNotActive);
            }
            if host::transferred_amount() != Some(deal.collateral) {
                return Err(Error::WrongPayment);
            }
            let start_ts = host::now_secs();
            deal.provider = Some(provider);
            deal.collateral_left = deal.collateral;
            deal.state = DealState::Active;
            deal.start_ts = start_ts;
            self.deals.insert((client, deal_id), &deal);
            self.env().emit_event(DealAccepted {
                client,
                deal_id,
                provider,
                collateral: deal.collateral,
                start_ts,
            });
            Ok(())
        }

        /// The provider opens the current period's challenge; its seed is fixed now (see
        /// the crate docs). Allowed while paused: proving is the provider's obligation.
        /// Returns the seed.
        ///
        /// # Errors
        /// `DealNotFound`, `NotProvider`, `DealNotActive`, `WrongPeriod`,
        /// `ChallengeAlreadyOpen`.
        #[ink(message)]
        pub fn open_challenge(
            &mut self,
            client: AccountId,
            deal_id: u64,
            period: u64,
        ) -> Result<[u8; 32]> {
            let mut deal = self.provider_deal(client, deal_id)?;
            let current = period_at(deal.start_ts, self.proving_period_secs, host::now_secs());
            if current != Some(period) {
                return Err(Error::WrongPeriod);
            }
            let block = self.env().block_number();
            let seed = self.challenge_seed(&client, deal_id, period);
            let record = record_mut(&mut deal, period)?;
            if record.status != PeriodStatus::Pending {
                return Err(Error::ChallengeAlreadyOpen);
            }
            record.status = PeriodStatus::Challenged;
            record.challenge_block = block;
            record.seed = seed;
            self.deals.insert((client, deal_id), &deal);
            self.env().emit_event(ChallengeOpened {
                client,
                deal_id,
                period,
                block,
                seed,
            });
            Ok(seed)
        }

        /// The provider answers some or all of the period's challenges within the window;
        /// once all are answered the period is paid (provider share and protocol fee).
        /// Allowed while paused. Returns whether the period is proven.
        ///
        /// # Errors
        /// `DealNotFound`, `NotProvider`, `DealNotActive`, `WrongPeriod`,
        /// `ChallengeNotOpen`, `PeriodAlreadyProven`, `PeriodFaulted`,
        /// `ProofWindowClosed`, `NoSuchChallenge`, `DuplicateResponse`, `ProofTooLong`,
        /// `InvalidProof`, `MathOverflow`, `TransferFailed`.
        #[ink(message)]
        pub fn submit_proof(
            &mut self,
            client: AccountId,
            deal_id: u64,
            period: u64,
            responses: Vec<ChallengeResponse>,
        ) -> Result<bool> {
            let mut deal = self.provider_deal(client, deal_id)?;
            let block = self.env().block_number();
            let deal_key = self.deal_key(client, deal_id);
            let (piece_root, price) = (deal.piece_root, deal.price_per_period);
            let shape = PieceShape::new(deal.num_chunks, deal.chunk_size)?;
            let record = *record_mut(&mut deal, period)?;
            match record.status {
                PeriodStatus::Challenged => {}
                PeriodStatus::Pending => return Err(Error::ChallengeNotOpen),
                PeriodStatus::Proven => return Err(Error::PeriodAlreadyProven),
                PeriodStatus::Faulted => return Err(Error::PeriodFaulted),
            }
            let window_end = record
                .challenge_block
                .checked_add(self.challenge_window_blocks)
                .ok_or(Error::MathOverflow)?;
            if block > window_end {
                return Err(Error::ProofWindowClosed);
            }
            let mut answered = record.answered;
            for response in &responses {
                if response.index >= self.challenges_per_period {
                    return Err(Error::NoSuchChallenge);
                }
                let bit = 1u8 << response.index;
                if answered & bit != 0 {
                    return Err(Error::DuplicateResponse);
                }
                if response.word_proof.len() > MAX_PROOF_LEN
                    || response.chunk_proof.len() > MAX_PROOF_LEN
                {
                    return Err(Error::ProofTooLong);
                }
                let at = challenge::<InkSha256>(
                    &record.seed,
                    &deal_key,
                    period,
                    response.index,
                    shape.num_chunks(),
                    shape.words_per_chunk(),
                )?;
                if !verify_word::<InkSha256>(
                    &piece_root,
                    at,
                    &response.word,
                    &response.word_proof,
                    &response.chunk_proof,
                ) {
                    return Err(Error::InvalidProof);
                }
                answered |= bit;
            }
            let all = u8::MAX >> (8u8.saturating_sub(self.challenges_per_period));
            let proven = answered == all;
            let payment = if proven {
                deal.escrow_left = deal
                    .escrow_left
                    .checked_sub(price)
                    .ok_or(Error::MathOverflow)?;
                Some(period_payment(price, self.protocol_fee_bps)?)
            } else {
                None
            };
            if let Some(p) = payment {
                let provider = deal.provider.ok_or(Error::NotProvider)?;
                let treasury = self.registry().network_info().treasury;
                host::pay(provider, p.provider).map_err(|_| Error::TransferFailed)?;
                host::pay(treasury, p.protocol_fee).map_err(|_| Error::TransferFailed)?;
            }
            let entry = record_mut(&mut deal, period)?;
            entry.answered = answered;
            if proven {
                entry.status = PeriodStatus::Proven;
            }
            self.deals.insert((client, deal_id), &deal);
            self.env().emit_event(ProofAccepted {
                client,
                deal_id,
                period,
                answered,
                proven,
                provider_paid: payment.map_or(0, |p| p.provider),
                protocol_fee: payment.map_or(0, |p| p.protocol_fee),
            });
            Ok(proven)
        }

        /// Anyone may report a period that is at fault: never challenged and over, or
        /// challenged and past its proof window. The period's price goes back to the
        /// client with `fault_slash_bps` of the remaining collateral; once
        /// `max_consecutive_faults` periods in a row are faulted (in period order, not in
        /// the order they were reported: `depin_core::storage::fault_run`) the deal
        /// terminates (remaining escrow to the client, remaining collateral to the
        /// treasury). What the client cannot be paid is owed to it (`PayoutOwed`), so a
        /// reaped client cannot make the fault unreportable. Returns whether it terminated.
        ///
        /// # Errors
        /// `DealNotFound`, `DealNotActive`, `WrongPeriod`, `FaultNotReportable`,
        /// `MathOverflow`; `TransferFailed` if the treasury's payment fails (never the
        /// client's).
        #[ink(message)]
        pub fn report_fault(
            &mut self,
            client: AccountId,
            deal_id: u64,
            period: u64,
        ) -> Result<bool> {
            let mut deal = self.deal(client, deal_id)?;
            if deal.state != DealState::Active {
                return Err(Error::DealNotActive);
            }
            let ended =
                host::now_secs() >= period_end(deal.start_ts, self.proving_period_secs, period)?;
            let block = self.env().block_number();
            let window = self.challenge_window_blocks;
            let record = record_mut(&mut deal, period)?;
            let at_fault = match record.status {
                PeriodStatus::Pending => ended,
                PeriodStatus::Challenged => {
                    block
                        > record
                            .challenge_block
                            .checked_add(window)
                            .ok_or(Error::MathOverflow)?
                }
                PeriodStatus::Proven | PeriodStatus::Faulted => false,
            };
            if !at_fault {
                return Err(Error::FaultNotReportable);
            }
            record.status = PeriodStatus::Faulted;
            let price = deal.price_per_period;
            let slashed = fault_slash(deal.collateral_left, self.fault_slash_bps)?;
            let overflow = || Error::MathOverflow;
            deal.collateral_left = deal
                .collateral_left
                .checked_sub(slashed)
                .ok_or_else(overflow)?;
            deal.escrow_left = deal.escrow_left.checked_sub(price).ok_or_else(overflow)?;
            // faults count in a row by period, whatever order they are reported in
            let run = fault_run(
                deal.records
                    .iter()
                    .map(|r| r.status == PeriodStatus::Faulted),
                usize::try_from(period).map_err(|_| Error::WrongPeriod)?,
            );
            let run = u8::try_from(run).map_err(|_| Error::MathOverflow)?;
            deal.consecutive_faults = deal.consecutive_faults.max(run);
            deal.total_faults = deal.total_faults.checked_add(1).ok_or_else(overflow)?;
            let mut to_client = price.checked_add(slashed).ok_or_else(overflow)?;
            let terminated = run >= self.max_consecutive_faults;
            let (refunded, slashed_to_treasury) = (deal.escrow_left, deal.collateral_left);
            let mut to_treasury = 0;
            if terminated {
                to_client = to_client.checked_add(refunded).ok_or_else(overflow)?;
                to_treasury = slashed_to_treasury;
                deal.escrow_left = 0;
                deal.collateral_left = 0;
                deal.state = DealState::Terminated;
            }
            let treasury = self.registry().network_info().treasury;
            self.pay_or_owe(client, to_client)?;
            host::pay(treasury, to_treasury).map_err(|_| Error::TransferFailed)?;
            self.deals.insert((client, deal_id), &deal);
            self.env().emit_event(FaultReported {
                client,
                deal_id,
                period,
                refunded: price,
                slashed,
                consecutive_faults: run,
            });
            if terminated {
                self.env().emit_event(DealTerminated {
                    client,
                    deal_id,
                    refunded,
                    slashed_to_treasury,
                });
            }
            Ok(terminated)
        }

        /// Anyone may close a deal once every period is resolved and the last one is over
        /// (or the deal terminated): the remaining collateral goes back to the provider (or
        /// is owed to it when it cannot be paid, `PayoutOwed`) and the deal leaves storage.
        ///
        /// # Errors
        /// `DealNotFound`, `DealNotActive`, `DealNotFinished`, `MathOverflow`.
        #[ink(message)]
        pub fn complete_deal(&mut self, client: AccountId, deal_id: u64) -> Result<()> {
            let deal = self.deal(client, deal_id)?;
            match deal.state {
                DealState::Active => {
                    let last = u64::from(deal.periods)
                        .checked_sub(1)
                        .ok_or(Error::MathOverflow)?;
                    let end = period_end(deal.start_ts, self.proving_period_secs, last)?;
                    let resolved = deal
                        .records
                        .iter()
                        .all(|r| matches!(r.status, PeriodStatus::Proven | PeriodStatus::Faulted));
                    if !resolved || host::now_secs() < end {
                        return Err(Error::DealNotFinished);
                    }
                }
                DealState::Terminated => {}
                DealState::Proposed => return Err(Error::DealNotActive),
            }
            let count = |status: PeriodStatus| {
                let n = deal.records.iter().filter(|r| r.status == status).count();
                // At most MAX_PERIODS (32) records.
                u8::try_from(n).unwrap_or(u8::MAX)
            };
            let provider = deal.provider.ok_or(Error::DealNotActive)?;
            self.pay_or_owe(provider, deal.collateral_left)?;
            self.deals.remove((client, deal_id));
            self.env().emit_event(DealCompleted {
                client,
                deal_id,
                collateral_returned: deal.collateral_left,
                proven_periods: count(PeriodStatus::Proven),
                faulted_periods: count(PeriodStatus::Faulted),
            });
            Ok(())
        }

        /// Pays the caller everything the market owed it but could not push to it (see
        /// the crate docs). Allowed while paused: it only pays people what they are owed.
        /// Returns the amount paid.
        ///
        /// # Errors
        /// `NothingOwed`; `TransferFailed` if the payment fails (then nothing changes and
        /// the amount stays owed).
        #[ink(message)]
        pub fn withdraw_owed(&mut self) -> Result<u64> {
            let caller = self.env().caller();
            let amount = host::withdraw_owed(&mut self.owed, caller).map_err(|e| match e {
                host::WithdrawError::NothingOwed => Error::NothingOwed,
                host::WithdrawError::TransferFailed => Error::TransferFailed,
            })?;
            self.env().emit_event(OwedWithdrawn {
                owner: caller,
                amount,
            });
            Ok(amount)
        }

        /// What the market owes `account` (payouts that could not be pushed to it).
        #[ink(message)]
        pub fn owed(&self, account: AccountId) -> u64 {
            self.owed.get(account).unwrap_or(0)
        }

        /// A deal.
        #[ink(message)]
        pub fn get_deal(&self, client: AccountId, deal_id: u64) -> Option<Deal> {
            self.deals.get((client, deal_id))
        }

        /// The id `client`'s next deal must have: 0 before its first, then one more than
        /// its last proposed deal, cancelled and completed ones included.
        #[ink(message)]
        pub fn next_deal_id(&self, client: AccountId) -> u64 {
            self.next_deal_ids.get(client).unwrap_or(0)
        }

        /// The hash of a stored deal's terms, the one `accept_deal` must name:
        /// `depin_core::storage::DealTerms::hash` over this market's account, the deal key,
        /// the client's account, the provider device id and the stored terms. A provider's
        /// wallet computes it from the terms it shows; `None` if there is no such deal.
        #[ink(message)]
        pub fn deal_terms_hash(&self, client: AccountId, deal_id: u64) -> Option<[u8; 32]> {
            let deal = self.deals.get((client, deal_id))?;
            Some(self.terms_hash(client, deal_id, &deal))
        }

        /// The 32-byte identity of a deal the challenges derive from:
        /// `sha256("depin-deal" || market || client || deal_id le)`.
        #[ink(message)]
        pub fn deal_key(&self, client: AccountId, deal_id: u64) -> [u8; 32] {
            let market = self.env().account_id();
            let market: &[u8; 32] = market.as_ref();
            let client: &[u8; 32] = client.as_ref();
            InkSha256::hashv(&[b"depin-deal", market, client, &deal_id.to_le_bytes()])
        }

        /// The terms hash of `deal` stored under `(client, deal_id)`.
        fn terms_hash(&self, client: AccountId, deal_id: u64, deal: &Deal) -> [u8; 32] {
            let market = self.env().account_id();
            core_storage::DealTerms {
                market: *AsRef::<[u8; 32]>::as_ref(&market),
                deal: self.deal_key(client, deal_id),
                client: *AsRef::<[u8; 32]>::as_ref(&client),
                provider_device: deal.provider_device,
                piece_root: deal.piece_root,
                chunk_size: deal.chunk_size,
                num_chunks: deal.num_chunks,
                price_per_period: deal.price_per_period,
                periods: deal.periods,
                collateral: deal.collateral,
            }
            .hash::<InkSha256>()
        }

        /// The seed of a challenge opened now (see the crate docs).
        fn challenge_seed(&self, client: &AccountId, deal_id: u64, period: u64) -> [u8; 32] {
            let block = self.env().block_number();
            let timestamp = self.env().block_timestamp();
            InkSha256::hashv(&[
                b"depin-storage-seed-v1",
                &block.to_le_bytes(),
                &timestamp.to_le_bytes(),
                &self.deal_key(*client, deal_id),
                &period.to_le_bytes(),
            ])
        }

        fn registry(&self) -> ink::prelude::boxed::Box<dyn RegistryReader> {
            cross::registry::<DeviceRegistryRef>(self.registry)
        }

        /// Pays `owner` `amount`, or, when the transfer fails, credits it to the owner's
        /// owed balance instead and emits `PayoutOwed`, so the message goes on.
        fn pay_or_owe(&mut self, owner: AccountId, amount: u64) -> Result<()> {
            if let Some(owed) = host::pay_or_credit(&mut self.owed, owner, amount)? {
                self.env().emit_event(PayoutOwed {
                    owner,
                    amount,
                    owed,
                });
            }
            Ok(())
        }

        fn deal(&self, client: AccountId, deal_id: u64) -> Result<Deal> {
            self.deals.get((client, deal_id)).ok_or(Error::DealNotFound)
        }

        /// The deal, if the caller is its provider and it is active.
        fn provider_deal(&self, client: AccountId, deal_id: u64) -> Result<Deal> {
            let deal = self.deal(client, deal_id)?;
            if deal.provider != Some(self.env().caller()) {
                return Err(Error::NotProvider);
            }
            if deal.state != DealState::Active {
                return Err(Error::DealNotActive);
            }
            Ok(deal)
        }
    }

    /// The record of `period`, `WrongPeriod` if the deal has no such period.
    fn record_mut(deal: &mut Deal, period: u64) -> Result<&mut PeriodRecord> {
        let index = usize::try_from(period).map_err(|_| Error::WrongPeriod)?;
        deal.records.get_mut(index).ok_or(Error::WrongPeriod)
    }
}

#[cfg(test)]
mod tests;
