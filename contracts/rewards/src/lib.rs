//! # Rewards (ink!)
//!
//! Cumulative merkle distribution of one network's rewards. Oracles propose, per finished
//! epoch, a root over `(device, owner, cumulative_amount)` leaves, the total and the SHA-256
//! of the epoch's region multiplier table (published off chain; zeros for no table);
//! `quorum` identical proposals finalize it, and the epoch keeps the table hash. A claim pays the device owner
//! `cumulative_amount - already_claimed`, exactly, once the device is active in the
//! registry and bonded to its owner's sufficient stake in staking (both read through
//! contract references).
//!
//! On the Solana chain the program is the reward mint's authority; a contract cannot mint
//! the native token, so here the network funds a reward reserve (`fund`, the contract's
//! balance) and claims pay out of it. The emission schedule caps what may ever be paid,
//! exactly as it caps minting: `total_paid <= latest finalized cumulative total <=
//! cumulative emission through that epoch`.
//!
//! A claim proves against the latest finalized root only (SPEC section 3). An earlier
//! root is superseded the moment a later epoch finalizes: the oracles may have corrected a
//! device's amount downwards, and a claim against the old root would pay the difference
//! on top of what the correction allows. So no device is ever paid more than its amount
//! in the latest root.
//!
//! Schedule, epoch boundaries, quorum rules, leaves and proofs all come from `depin_core`.

#![cfg_attr(not(feature = "std"), no_std, no_main)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

#[ink::contract]
pub mod rewards {
    use depin_core::emission::EmissionSchedule;
    use depin_core::{epoch, merkle, oracle, stake, CoreError};
    use depin_ink_shared::cross::{self, RegistryReader};
    use depin_ink_shared::host::{self, InkSha256};
    use depin_ink_shared::DeviceId;
    use device_registry::device_registry::DeviceRegistryRef;
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;
    use staking::staking::StakingRef;

    /// Longest proof accepted: enough for 2^32 devices, and a bound on a claim's cost.
    pub const MAX_PROOF_LEN: usize = 32;

    /// Emission schedule: epoch `e` emits
    /// `max(initial_per_epoch >> (e / halving_interval_epochs), tail_per_epoch)`.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Schedule {
        /// Emission of the first era, per epoch.
        pub initial_per_epoch: u64,
        /// Epochs per halving; 0 means the emission never halves.
        pub halving_interval_epochs: u64,
        /// Floor of the per-epoch emission.
        pub tail_per_epoch: u64,
    }

    impl From<Schedule> for EmissionSchedule {
        fn from(s: Schedule) -> Self {
            EmissionSchedule {
                initial_per_epoch: s.initial_per_epoch,
                halving_interval_epochs: s.halving_interval_epochs,
                tail_per_epoch: s.tail_per_epoch,
            }
        }
    }

    /// One oracle's proposal for an epoch.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Proposal {
        /// Proposed merkle root.
        pub root: [u8; 32],
        /// Proposed cumulative total.
        pub cumulative_total: u64,
        /// Proposed SHA-256 of the epoch's region multiplier table, as the oracles publish
        /// it off chain (all zeros: the epoch uses no table).
        pub multipliers_hash: [u8; 32],
    }

    /// Proposals and, once quorum is reached, the finalized root of one epoch.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct EpochRoot {
        /// Oracle-set version the proposals were made under.
        pub oracle_set_version: u32,
        /// Proposals by oracle index (`None`: that oracle has not proposed).
        pub proposals: Vec<Option<Proposal>>,
        /// Whether quorum was reached.
        pub finalized: bool,
        /// Finalized root (zero until finalized).
        pub root: [u8; 32],
        /// Finalized cumulative total (zero until finalized).
        pub cumulative_total: u64,
        /// Finalized SHA-256 of the epoch's region multiplier table (zero until finalized,
        /// and after it when the epoch uses no table).
        pub multipliers_hash: [u8; 32],
        /// Unix time of finalization (zero until finalized).
        pub finalized_at: i64,
    }

    /// What one device has been paid so far.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Claimed {
        /// Total paid for the device so far.
        pub total_claimed: u64,
        /// Epoch of the latest claim that paid something.
        pub last_epoch: u64,
    }

    /// The network's rewards configuration, epochs and claims.
    #[ink(storage)]
    pub struct Rewards {
        /// The device registry (the network).
        registry: AccountId,
        /// The network's staking pool.
        staking: AccountId,
        /// Emission schedule.
        schedule: Schedule,
        /// Length of an epoch in seconds, 1 to `depin_core::epoch::MAX_DURATION_SECS`
        /// (366 days).
        epoch_duration_secs: u64,
        /// Unix time at which epoch 0 starts: not negative, at most
        /// `depin_core::epoch::MAX_GENESIS_LEAD_SECS` (366 days) after instantiation.
        genesis_ts: i64,
        /// Oracle accounts (1 to 11, distinct).
        oracles: Vec<AccountId>,
        /// Identical proposals needed to finalize an epoch.
        quorum: u8,
        /// Incremented by every `set_oracles`; older proposals stop counting.
        oracle_set_version: u32,
        /// Rewards paid so far.
        total_paid: u64,
        /// Latest finalized epoch, `None` before the first.
        latest_finalized_epoch: Option<u64>,
        /// Cumulative total of the latest finalized epoch: the most ever payable until a
        /// later epoch finalizes.
        latest_finalized_total: u64,
        /// Epochs by index.
        epochs: Mapping<u64, EpochRoot>,
        /// Claims by device.
        claimed: Mapping<DeviceId, Claimed>,
    }

    /// Every way a rewards message can refuse its input.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Error {
        /// Returned if the network is paused and the message is not the authority's.
        NetworkPaused,
        /// Returned if the caller is not the network's authority.
        NotNetworkAuthority,
        /// Returned if the emission schedule's tail exceeds its initial amount.
        InvalidSchedule,
        /// Returned if the epoch duration is zero or longer than
        /// `depin_core::epoch::MAX_DURATION_SECS` (366 days).
        InvalidEpochDuration,
        /// Returned if the oracle set is empty, larger than 11, has a duplicate or the
        /// zero account.
        InvalidOracleSet,
        /// Returned if the quorum is not a majority of the oracle set.
        InvalidQuorum,
        /// Returned if the caller of `propose_root` is not an oracle.
        NotOracle,
        /// Returned if a root is proposed for an epoch that has not ended.
        EpochNotOver,
        /// Returned if a root is proposed for an epoch that is already finalized.
        EpochAlreadyFinalized,
        /// Returned if a root is proposed for an epoch before the latest finalized one.
        StaleEpoch,
        /// Returned if a proposed total exceeds the schedule's cumulative emission.
        ExceedsEmissionSchedule,
        /// Returned if a proposed total is below the previous finalized total.
        DecreasingTotal,
        /// Returned if a claim names an epoch whose root is not finalized.
        EpochNotFinalized,
        /// Returned if the merkle proof does not lead to the epoch's root.
        InvalidProof,
        /// Returned if a proof has more than 32 levels.
        ProofTooLong,
        /// Returned if the device is not registered in the network.
        DeviceNotFound,
        /// Returned if the device is not active in the registry.
        DeviceNotActive,
        /// Returned if the device has no bond in the network's stake pool.
        DeviceNotBonded,
        /// Returned if the device's bond is backed by someone other than its owner.
        BondStakerNotOwner,
        /// Returned if the owner's active stake no longer covers its bonded devices at the
        /// pool's current minimum (after a slash, or after the minimum was raised).
        UnderCollateralized,
        /// Returned if a claim would pay past the latest finalized total.
        MintCapExceeded,
        /// Returned if the reward reserve cannot cover the claim.
        ReserveExhausted,
        /// Returned if `fund` carries no value.
        ZeroAmount,
        /// Returned if a counter, time or amount would overflow.
        MathOverflow,
        /// Returned if paying the owner fails.
        TransferFailed,
        /// Returned if a claim names a finalized epoch other than the latest finalized
        /// one: a later root superseded it, and claims prove against the latest only.
        SupersededRoot,
        /// Returned if the genesis time is negative or more than
        /// `depin_core::epoch::MAX_GENESIS_LEAD_SECS` (366 days) after instantiation.
        InvalidGenesis,
        /// Returned if the staking pool given at instantiation serves another registry's
        /// network: its bonds would decide this network's eligibility (Solana checks
        /// `pool.network == network` on every claim).
        StakingOfAnotherNetwork,
    }

    impl From<CoreError> for Error {
        fn from(e: CoreError) -> Self {
            match e {
                CoreError::InvalidSchedule => Error::InvalidSchedule,
                CoreError::InvalidEpochDuration => Error::InvalidEpochDuration,
                CoreError::InvalidGenesis => Error::InvalidGenesis,
                CoreError::InvalidOracleSet => Error::InvalidOracleSet,
                CoreError::InvalidQuorum => Error::InvalidQuorum,
                _ => Error::MathOverflow,
            }
        }
    }

    /// Result of a rewards message.
    pub type Result<T> = core::result::Result<T, Error>;

    /// Emitted by the constructor.
    #[ink(event)]
    pub struct RewardsInitialized {
        /// The registry.
        #[ink(topic)]
        pub registry: AccountId,
        /// The staking pool.
        pub staking: AccountId,
        /// Emission schedule.
        pub schedule: Schedule,
        /// Epoch length.
        pub epoch_duration_secs: u64,
        /// Start of epoch 0.
        pub genesis_ts: i64,
        /// Oracles.
        pub oracles: Vec<AccountId>,
        /// Quorum.
        pub quorum: u8,
    }

    /// Emitted by `set_oracles`.
    #[ink(event)]
    pub struct OraclesSet {
        /// Oracles now.
        pub oracles: Vec<AccountId>,
        /// Quorum now.
        pub quorum: u8,
        /// Oracle-set version now.
        pub oracle_set_version: u32,
    }

    /// Emitted by `fund`.
    #[ink(event)]
    pub struct RewardsFunded {
        /// Who funded.
        #[ink(topic)]
        pub funder: AccountId,
        /// Amount added to the reserve.
        pub amount: u64,
    }

    /// Emitted by `propose_root`.
    #[ink(event)]
    pub struct RootProposed {
        /// The epoch.
        #[ink(topic)]
        pub epoch: u64,
        /// The proposing oracle.
        #[ink(topic)]
        pub oracle: AccountId,
        /// Proposed root.
        pub root: [u8; 32],
        /// Proposed total.
        pub cumulative_total: u64,
        /// Proposed SHA-256 of the epoch's region multiplier table (all zeros: no table).
        pub multipliers_hash: [u8; 32],
        /// Identical proposals (root, total and table hash) so far.
        pub votes: u8,
    }

    /// Emitted by `propose_root` when an epoch reaches quorum.
    #[ink(event)]
    pub struct RootFinalized {
        /// The epoch.
        #[ink(topic)]
        pub epoch: u64,
        /// Finalized root.
        pub root: [u8; 32],
        /// Finalized total.
        pub cumulative_total: u64,
        /// Finalized SHA-256 of the epoch's region multiplier table (all zeros: no table).
        pub multipliers_hash: [u8; 32],
    }

    /// Emitted by `claim` when it pays something.
    #[ink(event)]
    pub struct RewardsClaimed {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// Its owner, who was paid.
        #[ink(topic)]
        pub owner: AccountId,
        /// The epoch whose root the proof led to.
        pub epoch: u64,
        /// Amount paid now.
        pub amount: u64,
        /// Paid for the device in all.
        pub total_claimed: u64,
    }

    impl Rewards {
        /// Creates the rewards configuration of the network at `registry` with its pool at
        /// `staking` (network authority only, unpaused; the pool must serve `registry`).
        ///
        /// Bounds (`depin_core::epoch`): `schedule.tail_per_epoch <=
        /// schedule.initial_per_epoch`; `1 <= epoch_duration_secs <= MAX_DURATION_SECS`
        /// (366 days); `0 <= genesis_ts <= now + MAX_GENESIS_LEAD_SECS` (366 days); 1 to 11
        /// distinct, non-zero oracles and a quorum that is a strict majority of them. With
        /// these bounds every epoch below 2^32 has an end time, so no setting can make
        /// `propose_root` overflow.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `NetworkPaused`, `StakingOfAnotherNetwork`,
        /// `InvalidSchedule`, `InvalidEpochDuration`, `InvalidGenesis`, `InvalidOracleSet`,
        /// `InvalidQuorum`.
        #[ink(constructor)]
        pub fn new(
            registry: AccountId,
            staking: AccountId,
            schedule: Schedule,
            epoch_duration_secs: u64,
            genesis_ts: i64,
            oracles: Vec<AccountId>,
            quorum: u8,
        ) -> Result<Self> {
            let network = cross::registry::<DeviceRegistryRef>(registry).network_info();
            if Self::env().caller() != network.authority {
                return Err(Error::NotNetworkAuthority);
            }
            if network.paused {
                return Err(Error::NetworkPaused);
            }
            if cross::staking::<StakingRef>(staking).registry() != registry {
                return Err(Error::StakingOfAnotherNetwork);
            }
            EmissionSchedule::from(schedule).validate()?;
            epoch::validate_duration(epoch_duration_secs)?;
            epoch::validate_genesis(genesis_ts, host::now_secs())?;
            validate_oracles(&oracles, quorum)?;
            Self::env().emit_event(RewardsInitialized {
                registry,
                staking,
                schedule,
                epoch_duration_secs,
                genesis_ts,
                oracles: oracles.clone(),
                quorum,
            });
            Ok(Self {
                registry,
                staking,
                schedule,
                epoch_duration_secs,
                genesis_ts,
                oracles,
                quorum,
                oracle_set_version: 0,
                total_paid: 0,
                latest_finalized_epoch: None,
                latest_finalized_total: 0,
                epochs: Mapping::default(),
                claimed: Mapping::default(),
            })
        }

        /// Replaces the oracle set and bumps its version, so pending proposals of the old
        /// set stop counting (network authority; allowed while paused). Bounds as in the
        /// constructor: 1 to 11 distinct, non-zero oracles, a strict-majority quorum.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `InvalidOracleSet`, `InvalidQuorum`, `MathOverflow`.
        #[ink(message)]
        pub fn set_oracles(&mut self, oracles: Vec<AccountId>, quorum: u8) -> Result<()> {
            if self.env().caller() != self.registry().network_info().authority {
                return Err(Error::NotNetworkAuthority);
            }
            validate_oracles(&oracles, quorum)?;
            let version = self
                .oracle_set_version
                .checked_add(1)
                .ok_or(Error::MathOverflow)?;
            self.oracles = oracles.clone();
            self.quorum = quorum;
            self.oracle_set_version = version;
            self.env().emit_event(OraclesSet {
                oracles,
                quorum,
                oracle_set_version: version,
            });
            Ok(())
        }

        /// Adds the value sent to the reward reserve claims are paid from.
        ///
        /// # Errors
        /// `ZeroAmount`, `MathOverflow`.
        #[ink(message, payable)]
        pub fn fund(&mut self) -> Result<()> {
            let amount = host::transferred_amount().ok_or(Error::MathOverflow)?;
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            self.env().emit_event(RewardsFunded {
                funder: self.env().caller(),
                amount,
            });
            Ok(())
        }

        /// Records the calling oracle's proposal for a finished epoch and finalizes the
        /// epoch when `quorum` proposals agree exactly: same root, same total and same
        /// `multipliers_hash`, the SHA-256 of the epoch's region multiplier table as
        /// published off chain (all zeros: no table). An oracle's new proposal replaces its
        /// earlier one. Returns whether the epoch is finalized.
        ///
        /// # Errors
        /// `NetworkPaused`, `NotOracle`, `EpochNotOver`, `EpochAlreadyFinalized`,
        /// `StaleEpoch`, `ExceedsEmissionSchedule`, `DecreasingTotal`, `MathOverflow`.
        #[ink(message)]
        pub fn propose_root(
            &mut self,
            epoch: u64,
            root: [u8; 32],
            cumulative_total: u64,
            multipliers_hash: [u8; 32],
        ) -> Result<bool> {
            self.require_not_paused()?;
            let oracle = self.env().caller();
            let index = self
                .oracles
                .iter()
                .position(|o| *o == oracle)
                .ok_or(Error::NotOracle)?;
            let now = host::now_secs();
            let end = epoch::epoch_end(self.genesis_ts, self.epoch_duration_secs, epoch)?;
            if now < end {
                return Err(Error::EpochNotOver);
            }
            if let Some(latest) = self.latest_finalized_epoch {
                if epoch == latest {
                    return Err(Error::EpochAlreadyFinalized);
                }
                if epoch < latest {
                    return Err(Error::StaleEpoch);
                }
            }
            let cap = EmissionSchedule::from(self.schedule).cumulative_through(epoch)?;
            if u128::from(cumulative_total) > cap {
                return Err(Error::ExceedsEmissionSchedule);
            }
            if cumulative_total < self.latest_finalized_total {
                return Err(Error::DecreasingTotal);
            }
            let mut entry = self.epochs.get(epoch).unwrap_or(EpochRoot {
                oracle_set_version: self.oracle_set_version,
                proposals: Vec::new(),
                finalized: false,
                root: [0; 32],
                cumulative_total: 0,
                multipliers_hash: [0; 32],
                finalized_at: 0,
            });
            if entry.oracle_set_version != self.oracle_set_version {
                // The set changed since these proposals: indexes no longer name the same
                // oracles.
                entry.proposals.clear();
                entry.oracle_set_version = self.oracle_set_version;
            }
            entry.proposals.resize(self.oracles.len(), None);
            let proposal = Proposal {
                root,
                cumulative_total,
                multipliers_hash,
            };
            if let Some(slot) = entry.proposals.get_mut(index) {
                *slot = Some(proposal);
            }
            let votes = entry
                .proposals
                .iter()
                .filter(|p| **p == Some(proposal))
                .count();
            // At most 11 oracles.
            let votes = u8::try_from(votes).map_err(|_| Error::MathOverflow)?;
            self.env().emit_event(RootProposed {
                epoch,
                oracle,
                root,
                cumulative_total,
                multipliers_hash,
                votes,
            });
            let finalized = votes >= self.quorum;
            if finalized {
                entry.finalized = true;
                entry.root = root;
                entry.cumulative_total = cumulative_total;
                entry.multipliers_hash = multipliers_hash;
                entry.finalized_at = now;
                self.latest_finalized_epoch = Some(epoch);
                self.latest_finalized_total = cumulative_total;
                self.env().emit_event(RootFinalized {
                    epoch,
                    root,
                    cumulative_total,
                    multipliers_hash,
                });
            }
            self.epochs.insert(epoch, &entry);
            Ok(finalized)
        }

        /// Pays the owner of an eligible device `cumulative_amount - already_claimed`
        /// (anyone may crank it). Eligible: active in the registry, bonded in staking to
        /// its current owner, whose active stake still covers every device it backs.
        /// `epoch` must be the latest finalized epoch: the proof is checked against its
        /// root only. Returns the amount paid; a claim with nothing new changes nothing.
        ///
        /// # Errors
        /// `NetworkPaused`, `ProofTooLong`, `EpochNotFinalized`, `SupersededRoot`,
        /// `DeviceNotFound`, `DeviceNotActive`, `DeviceNotBonded`, `BondStakerNotOwner`,
        /// `UnderCollateralized`, `InvalidProof`, `MintCapExceeded`, `ReserveExhausted`,
        /// `MathOverflow`, `TransferFailed`.
        #[ink(message)]
        pub fn claim(
            &mut self,
            device: DeviceId,
            epoch: u64,
            cumulative_amount: u64,
            proof: Vec<[u8; 32]>,
        ) -> Result<u64> {
            let registry = self.registry();
            if registry.network_info().paused {
                return Err(Error::NetworkPaused);
            }
            if proof.len() > MAX_PROOF_LEN {
                return Err(Error::ProofTooLong);
            }
            let root = self
                .epochs
                .get(epoch)
                .filter(|e| e.finalized)
                .ok_or(Error::EpochNotFinalized)?
                .root;
            // Finalized epochs only ever move forward, so any finalized epoch other than
            // the latest is an earlier one whose root was superseded.
            if self.latest_finalized_epoch != Some(epoch) {
                return Err(Error::SupersededRoot);
            }
            let info = registry.device_info(device).ok_or(Error::DeviceNotFound)?;
            if !info.is_active() {
                return Err(Error::DeviceNotActive);
            }
            let bond = cross::staking::<StakingRef>(self.staking)
                .bond_info(device)
                .ok_or(Error::DeviceNotBonded)?;
            if bond.staker != info.owner {
                return Err(Error::BondStakerNotOwner);
            }
            // A slash may have left the stake below what the bonded devices require.
            if !stake::covers(bond.active, bond.devices_bonded, bond.min_stake_per_device) {
                return Err(Error::UnderCollateralized);
            }
            let owner: &[u8; 32] = info.owner.as_ref();
            let leaf = merkle::reward_leaf::<InkSha256>(&device, owner, cumulative_amount);
            if !merkle::verify::<InkSha256>(&proof, &root, leaf) {
                return Err(Error::InvalidProof);
            }
            let mut claimed = self.claimed.get(device).unwrap_or_default();
            let amount = cumulative_amount.saturating_sub(claimed.total_claimed);
            if amount == 0 {
                return Ok(0);
            }
            let total_paid = self
                .total_paid
                .checked_add(amount)
                .ok_or(Error::MathOverflow)?;
            if total_paid > self.latest_finalized_total {
                return Err(Error::MintCapExceeded);
            }
            if self.env().balance() < host::balance(amount) {
                return Err(Error::ReserveExhausted);
            }
            host::pay(info.owner, amount).map_err(|_| Error::TransferFailed)?;
            self.total_paid = total_paid;
            claimed.total_claimed = cumulative_amount;
            claimed.last_epoch = epoch;
            self.claimed.insert(device, &claimed);
            self.env().emit_event(RewardsClaimed {
                device,
                owner: info.owner,
                epoch,
                amount,
                total_claimed: cumulative_amount,
            });
            Ok(amount)
        }

        /// An epoch's proposals and finalized root.
        #[ink(message)]
        pub fn epoch_root(&self, epoch: u64) -> Option<EpochRoot> {
            self.epochs.get(epoch)
        }

        /// What a device has been paid so far.
        #[ink(message)]
        pub fn claimed(&self, device: DeviceId) -> Option<Claimed> {
            self.claimed.get(device)
        }

        /// `(total_paid, latest_finalized_epoch, latest_finalized_total)`.
        #[ink(message)]
        pub fn totals(&self) -> (u64, Option<u64>, u64) {
            (
                self.total_paid,
                self.latest_finalized_epoch,
                self.latest_finalized_total,
            )
        }

        /// `(oracles, quorum, oracle_set_version)`.
        #[ink(message)]
        pub fn oracles(&self) -> (Vec<AccountId>, u8, u32) {
            (self.oracles.clone(), self.quorum, self.oracle_set_version)
        }

        fn registry(&self) -> ink::prelude::boxed::Box<dyn RegistryReader> {
            cross::registry::<DeviceRegistryRef>(self.registry)
        }

        fn require_not_paused(&self) -> Result<()> {
            if self.registry().network_info().paused {
                return Err(Error::NetworkPaused);
            }
            Ok(())
        }
    }

    /// Checks an oracle set and quorum with the core rules.
    fn validate_oracles(oracles: &[AccountId], quorum: u8) -> Result<()> {
        let keys: Vec<[u8; 32]> = oracles
            .iter()
            .map(|o| *AsRef::<[u8; 32]>::as_ref(o))
            .collect();
        oracle::validate_oracle_set(&keys, quorum)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
