//! # Staking (ink!)
//!
//! One stake pool per network: operators stake the chain's native token, bond devices they
//! own against that stake, unstake through a cooldown and can be slashed to the network
//! treasury. The contract's own balance is the pool's vault.
//!
//! Every rule (bond coverage, unstake floor, slash split, unlock time, the cooldown bound)
//! comes from `depin_core::stake`; this contract only keeps positions and bonds in
//! storage, checks callers against the registry (read through [`RegistryReader`]) and
//! moves value.
//! The rewards contract reads bonds through [`StakingReader`], implemented here for the
//! generated [`staking::StakingRef`].

#![cfg_attr(not(feature = "std"), no_std, no_main)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use depin_ink_shared::cross::StakingReader;
use depin_ink_shared::{BondInfo, DeviceId};

#[ink::contract]
pub mod staking {
    use super::*;
    use depin_core::stake;
    use depin_core::CoreError;
    use depin_ink_shared::cross::{self, RegistryReader};
    use depin_ink_shared::{host, NetworkInfo};
    use device_registry::device_registry::DeviceRegistryRef;
    use ink::storage::Mapping;

    /// One staker's stake.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Position {
        /// Active stake: backs bonds and can be slashed.
        pub amount: u64,
        /// Stake in cooldown: can still be slashed, withdrawable from `unlock_ts`.
        pub pending: u64,
        /// Unix time from which `pending` may be withdrawn.
        pub unlock_ts: i64,
        /// Devices currently bonded to this position.
        pub devices_bonded: u32,
    }

    /// Proof that a device is backed by a staker's stake.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Bond {
        /// Whose position backs the device (its owner when bonded).
        pub staker: AccountId,
        /// Unix time of bonding.
        pub bonded_at: i64,
    }

    /// The pool: settings, totals, positions and bonds.
    #[ink(storage)]
    pub struct Staking {
        /// The device registry (the network) this pool backs.
        registry: AccountId,
        /// Active stake each bonded device requires (any value: requirements are computed
        /// in `u128`, so no minimum can make unstaking or claiming overflow).
        min_stake_per_device: u64,
        /// Seconds between `request_unstake` and the earliest `withdraw`, at most
        /// `depin_core::stake::MAX_COOLDOWN_SECS` (366 days).
        cooldown_secs: u64,
        /// Account allowed to slash (never the zero account).
        slash_authority: AccountId,
        /// Sum of all positions' active stake.
        total_staked: u64,
        /// Sum of all positions' stake in cooldown.
        total_pending: u64,
        /// Stake slashed to the treasury since the pool began.
        total_slashed: u64,
        /// Positions by staker.
        positions: Mapping<AccountId, Position>,
        /// Bonds by device.
        bonds: Mapping<DeviceId, Bond>,
    }

    /// Every way a staking message can refuse its input.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Error {
        /// Returned if the network is paused and the message is not a withdrawal of the
        /// caller's own funds.
        NetworkPaused,
        /// Returned if the caller is not the network's authority.
        NotNetworkAuthority,
        /// Returned if the caller is not the pool's slash authority.
        NotSlashAuthority,
        /// Returned if the device is not registered in the pool's network.
        DeviceNotFound,
        /// Returned if a bond is requested for a device the caller does not own.
        NotDeviceOwner,
        /// Returned if a bond is requested for a device that is not active.
        DeviceNotActive,
        /// Returned if bonding or unstaking would leave active stake below
        /// `devices_bonded * min_stake_per_device`.
        StakeBelowMinimum,
        /// Returned if an unstake asks for more than the active stake.
        InsufficientStake,
        /// Returned if an amount is zero.
        ZeroAmount,
        /// Returned if `withdraw` comes before the cooldown ends.
        CooldownNotElapsed,
        /// Returned if `withdraw` finds nothing pending.
        NothingToWithdraw,
        /// Returned if a slash asks for more than active plus pending stake.
        SlashExceedsStake,
        /// Returned if `unbond_device` comes from neither the bond's staker nor the
        /// device's current owner.
        NotBondParty,
        /// Returned if the device is already bonded in this pool.
        DeviceAlreadyBonded,
        /// Returned if the device has no bond in this pool.
        DeviceNotBonded,
        /// Returned if the caller has no stake position.
        NoPosition,
        /// Returned if a counter, amount or time would overflow.
        MathOverflow,
        /// Returned if a payment out of the pool fails.
        TransferFailed,
        /// Returned if a cooldown exceeds `depin_core::stake::MAX_COOLDOWN_SECS` (366 days),
        /// at instantiation or in `update_pool`.
        InvalidCooldown,
        /// Returned if the slash authority is the zero account, at instantiation or in
        /// `update_pool`.
        InvalidSlashAuthority,
    }

    impl From<CoreError> for Error {
        fn from(e: CoreError) -> Self {
            match e {
                CoreError::InsufficientStake => Error::StakeBelowMinimum,
                CoreError::SlashExceedsStake => Error::SlashExceedsStake,
                CoreError::InvalidCooldown => Error::InvalidCooldown,
                _ => Error::MathOverflow,
            }
        }
    }

    /// Result of a staking message.
    pub type Result<T> = core::result::Result<T, Error>;

    /// Emitted by the constructor.
    #[ink(event)]
    pub struct PoolInitialized {
        /// The registry.
        #[ink(topic)]
        pub registry: AccountId,
        /// Minimum stake per bonded device.
        pub min_stake_per_device: u64,
        /// Cooldown.
        pub cooldown_secs: u64,
        /// Slash authority.
        pub slash_authority: AccountId,
    }

    /// Emitted by `stake`.
    #[ink(event)]
    pub struct Staked {
        /// The staker.
        #[ink(topic)]
        pub owner: AccountId,
        /// Amount added.
        pub amount: u64,
        /// Active stake now.
        pub active: u64,
    }

    /// Emitted by `bond_device`.
    #[ink(event)]
    pub struct DeviceBonded {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// The staker.
        #[ink(topic)]
        pub staker: AccountId,
        /// Devices the position backs now.
        pub devices_bonded: u32,
    }

    /// Emitted by `unbond_device`.
    #[ink(event)]
    pub struct DeviceUnbonded {
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// The staker whose position backed it.
        #[ink(topic)]
        pub staker: AccountId,
        /// Who unbonded it.
        pub unbonded_by: AccountId,
        /// Devices the position backs now.
        pub devices_bonded: u32,
    }

    /// Emitted by `request_unstake`.
    #[ink(event)]
    pub struct UnstakeRequested {
        /// The staker.
        #[ink(topic)]
        pub owner: AccountId,
        /// Amount moved to cooldown.
        pub amount: u64,
        /// Pending now.
        pub pending: u64,
        /// When it unlocks.
        pub unlock_ts: i64,
    }

    /// Emitted by `withdraw`.
    #[ink(event)]
    pub struct Withdrawn {
        /// The staker.
        #[ink(topic)]
        pub owner: AccountId,
        /// Amount paid out.
        pub amount: u64,
    }

    /// Emitted by `slash`.
    #[ink(event)]
    pub struct Slashed {
        /// The slashed staker.
        #[ink(topic)]
        pub owner: AccountId,
        /// Taken from active stake.
        pub from_active: u64,
        /// Taken from pending stake.
        pub from_pending: u64,
        /// Hash of the off-chain evidence.
        #[ink(topic)]
        pub evidence_hash: [u8; 32],
    }

    /// Emitted by `update_pool` with the settings now in force.
    #[ink(event)]
    pub struct PoolUpdated {
        /// Minimum stake per bonded device.
        pub min_stake_per_device: u64,
        /// Cooldown.
        pub cooldown_secs: u64,
        /// Slash authority.
        pub slash_authority: AccountId,
    }

    impl Staking {
        /// Creates the pool of the network at `registry` (its authority only, unpaused).
        ///
        /// Bounds: `cooldown_secs <= depin_core::stake::MAX_COOLDOWN_SECS` (366 days, so an
        /// unlock time always exists); `slash_authority` is not the zero account;
        /// `min_stake_per_device` may be any value (a position without bonds can always
        /// leave).
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `NetworkPaused`, `InvalidCooldown`,
        /// `InvalidSlashAuthority`.
        #[ink(constructor)]
        pub fn new(
            registry: AccountId,
            min_stake_per_device: u64,
            cooldown_secs: u64,
            slash_authority: AccountId,
        ) -> Result<Self> {
            let network = cross::registry::<DeviceRegistryRef>(registry).network_info();
            if Self::env().caller() != network.authority {
                return Err(Error::NotNetworkAuthority);
            }
            if network.paused {
                return Err(Error::NetworkPaused);
            }
            Self::validate_settings(cooldown_secs, &slash_authority)?;
            Self::env().emit_event(PoolInitialized {
                registry,
                min_stake_per_device,
                cooldown_secs,
                slash_authority,
            });
            Ok(Self {
                registry,
                min_stake_per_device,
                cooldown_secs,
                slash_authority,
                total_staked: 0,
                total_pending: 0,
                total_slashed: 0,
                positions: Mapping::default(),
                bonds: Mapping::default(),
            })
        }

        /// Adds the value sent to the caller's active stake. Returns the active stake.
        ///
        /// # Errors
        /// `NetworkPaused`, `ZeroAmount`, `MathOverflow`.
        #[ink(message, payable)]
        pub fn stake(&mut self) -> Result<u64> {
            self.require_not_paused()?;
            let amount = host::transferred_amount().ok_or(Error::MathOverflow)?;
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            let owner = self.env().caller();
            let mut position = self.positions.get(owner).unwrap_or_default();
            position.amount = position
                .amount
                .checked_add(amount)
                .ok_or(Error::MathOverflow)?;
            let total = self
                .total_staked
                .checked_add(amount)
                .ok_or(Error::MathOverflow)?;
            self.total_staked = total;
            self.positions.insert(owner, &position);
            self.env().emit_event(Staked {
                owner,
                amount,
                active: position.amount,
            });
            Ok(position.amount)
        }

        /// Bonds the caller's active device to the caller's stake, which must cover one
        /// more device.
        ///
        /// # Errors
        /// `NetworkPaused`, `DeviceNotFound`, `NotDeviceOwner`, `DeviceNotActive`,
        /// `DeviceAlreadyBonded`, `NoPosition`, `StakeBelowMinimum`, `MathOverflow`.
        #[ink(message)]
        pub fn bond_device(&mut self, device: DeviceId) -> Result<()> {
            let registry = self.registry_reader();
            Self::require_running(&registry.network_info())?;
            let info = registry.device_info(device).ok_or(Error::DeviceNotFound)?;
            let owner = self.env().caller();
            if info.owner != owner {
                return Err(Error::NotDeviceOwner);
            }
            if !info.is_active() {
                return Err(Error::DeviceNotActive);
            }
            if self.bonds.contains(device) {
                return Err(Error::DeviceAlreadyBonded);
            }
            let mut position = self.positions.get(owner).ok_or(Error::NoPosition)?;
            stake::can_bond(
                position.amount,
                position.devices_bonded,
                self.min_stake_per_device,
            )?;
            position.devices_bonded = position
                .devices_bonded
                .checked_add(1)
                .ok_or(Error::MathOverflow)?;
            self.positions.insert(owner, &position);
            self.bonds.insert(
                device,
                &Bond {
                    staker: owner,
                    bonded_at: host::now_secs(),
                },
            );
            self.env().emit_event(DeviceBonded {
                device,
                staker: owner,
                devices_bonded: position.devices_bonded,
            });
            Ok(())
        }

        /// Releases a bond; the bond's staker or the device's current owner may. Allowed
        /// while paused: it only reduces the caller's exposure.
        ///
        /// # Errors
        /// `DeviceNotBonded`, `NotBondParty`, `MathOverflow`.
        #[ink(message)]
        pub fn unbond_device(&mut self, device: DeviceId) -> Result<()> {
            let bond = self.bonds.get(device).ok_or(Error::DeviceNotBonded)?;
            let caller = self.env().caller();
            if caller != bond.staker {
                let owner = self.registry_reader().device_info(device).map(|d| d.owner);
                if owner != Some(caller) {
                    return Err(Error::NotBondParty);
                }
            }
            let mut position = self.positions.get(bond.staker).unwrap_or_default();
            position.devices_bonded = position
                .devices_bonded
                .checked_sub(1)
                .ok_or(Error::MathOverflow)?;
            self.positions.insert(bond.staker, &position);
            self.bonds.remove(device);
            self.env().emit_event(DeviceUnbonded {
                device,
                staker: bond.staker,
                unbonded_by: caller,
                devices_bonded: position.devices_bonded,
            });
            Ok(())
        }

        /// Moves `amount` from active to pending and (re)starts the cooldown of the whole
        /// pending amount. Allowed while paused: pending stake stays slashable.
        ///
        /// # Errors
        /// `ZeroAmount`, `NoPosition`, `InsufficientStake`, `StakeBelowMinimum`,
        /// `MathOverflow`.
        #[ink(message)]
        pub fn request_unstake(&mut self, amount: u64) -> Result<i64> {
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            let owner = self.env().caller();
            let mut position = self.positions.get(owner).ok_or(Error::NoPosition)?;
            if amount > position.amount {
                return Err(Error::InsufficientStake);
            }
            let active = stake::can_unstake(
                position.amount,
                amount,
                position.devices_bonded,
                self.min_stake_per_device,
            )?;
            let pending = position
                .pending
                .checked_add(amount)
                .ok_or(Error::MathOverflow)?;
            let unlock_ts = stake::unlock_time(host::now_secs(), self.cooldown_secs)?;
            let total_staked = self
                .total_staked
                .checked_sub(amount)
                .ok_or(Error::MathOverflow)?;
            let total_pending = self
                .total_pending
                .checked_add(amount)
                .ok_or(Error::MathOverflow)?;
            position.amount = active;
            position.pending = pending;
            position.unlock_ts = unlock_ts;
            self.positions.insert(owner, &position);
            self.total_staked = total_staked;
            self.total_pending = total_pending;
            self.env().emit_event(UnstakeRequested {
                owner,
                amount,
                pending,
                unlock_ts,
            });
            Ok(unlock_ts)
        }

        /// Pays out all pending stake once the cooldown is over. Allowed while paused.
        /// Returns the amount paid.
        ///
        /// # Errors
        /// `NoPosition`, `NothingToWithdraw`, `CooldownNotElapsed`, `MathOverflow`,
        /// `TransferFailed`.
        #[ink(message)]
        pub fn withdraw(&mut self) -> Result<u64> {
            let owner = self.env().caller();
            let mut position = self.positions.get(owner).ok_or(Error::NoPosition)?;
            let amount = position.pending;
            if amount == 0 {
                return Err(Error::NothingToWithdraw);
            }
            if host::now_secs() < position.unlock_ts {
                return Err(Error::CooldownNotElapsed);
            }
            let total_pending = self
                .total_pending
                .checked_sub(amount)
                .ok_or(Error::MathOverflow)?;
            host::pay(owner, amount).map_err(|_| Error::TransferFailed)?;
            position.pending = 0;
            self.positions.insert(owner, &position);
            self.total_pending = total_pending;
            self.env().emit_event(Withdrawn { owner, amount });
            Ok(amount)
        }

        /// Takes `amount` from `owner`'s stake (active first, then pending) into the
        /// network treasury. Bonds stay; an under-collateralised position earns nothing
        /// until it stakes again or unbonds. Allowed while paused: an incident tool.
        ///
        /// # Errors
        /// `NotSlashAuthority`, `ZeroAmount`, `NoPosition`, `SlashExceedsStake`,
        /// `MathOverflow`, `TransferFailed`.
        #[ink(message)]
        pub fn slash(
            &mut self,
            owner: AccountId,
            amount: u64,
            evidence_hash: [u8; 32],
        ) -> Result<()> {
            if self.env().caller() != self.slash_authority {
                return Err(Error::NotSlashAuthority);
            }
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            let mut position = self.positions.get(owner).ok_or(Error::NoPosition)?;
            let split = stake::split_slash(position.amount, position.pending, amount)?;
            let overflow = || Error::MathOverflow;
            position.amount = position
                .amount
                .checked_sub(split.from_active)
                .ok_or_else(overflow)?;
            position.pending = position
                .pending
                .checked_sub(split.from_pending)
                .ok_or_else(overflow)?;
            let total_staked = self
                .total_staked
                .checked_sub(split.from_active)
                .ok_or_else(overflow)?;
            let total_pending = self
                .total_pending
                .checked_sub(split.from_pending)
                .ok_or_else(overflow)?;
            let total_slashed = self
                .total_slashed
                .checked_add(amount)
                .ok_or_else(overflow)?;
            let treasury = self.registry_reader().network_info().treasury;
            host::pay(treasury, amount).map_err(|_| Error::TransferFailed)?;
            self.positions.insert(owner, &position);
            self.total_staked = total_staked;
            self.total_pending = total_pending;
            self.total_slashed = total_slashed;
            self.env().emit_event(Slashed {
                owner,
                from_active: split.from_active,
                from_pending: split.from_pending,
                evidence_hash,
            });
            Ok(())
        }

        /// Changes pool settings (network authority; allowed while paused); `None` keeps a
        /// setting. A higher minimum leaves existing bonds in place and applies to the next
        /// bond and unstake; a position it leaves short of `devices_bonded * minimum` earns
        /// no claims (`UnderCollateralized` in rewards) until it stakes more or unbonds
        /// devices. Bounds as in the constructor: a cooldown of at most 366 days, a non-zero
        /// slash authority, any minimum. Nothing changes unless every new setting is valid.
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `InvalidCooldown`, `InvalidSlashAuthority`.
        #[ink(message)]
        pub fn update_pool(
            &mut self,
            min_stake_per_device: Option<u64>,
            cooldown_secs: Option<u64>,
            slash_authority: Option<AccountId>,
        ) -> Result<()> {
            if self.env().caller() != self.registry_reader().network_info().authority {
                return Err(Error::NotNetworkAuthority);
            }
            let cooldown_secs = cooldown_secs.unwrap_or(self.cooldown_secs);
            let slash_authority = slash_authority.unwrap_or(self.slash_authority);
            Self::validate_settings(cooldown_secs, &slash_authority)?;
            self.min_stake_per_device = min_stake_per_device.unwrap_or(self.min_stake_per_device);
            self.cooldown_secs = cooldown_secs;
            self.slash_authority = slash_authority;
            self.env().emit_event(PoolUpdated {
                min_stake_per_device: self.min_stake_per_device,
                cooldown_secs: self.cooldown_secs,
                slash_authority: self.slash_authority,
            });
            Ok(())
        }

        /// A staker's position.
        #[ink(message)]
        pub fn position(&self, owner: AccountId) -> Option<Position> {
            self.positions.get(owner)
        }

        /// A device's bond.
        #[ink(message)]
        pub fn bond(&self, device: DeviceId) -> Option<Bond> {
            self.bonds.get(device)
        }

        /// A device's bond and the stake behind it, as the rewards contract reads it.
        #[ink(message)]
        pub fn bond_info(&self, device: DeviceId) -> Option<BondInfo> {
            let bond = self.bonds.get(device)?;
            let position = self.positions.get(bond.staker).unwrap_or_default();
            Some(BondInfo {
                staker: bond.staker,
                active: position.amount,
                devices_bonded: position.devices_bonded,
                min_stake_per_device: self.min_stake_per_device,
            })
        }

        /// `(total_staked, total_pending, total_slashed)`.
        #[ink(message)]
        pub fn totals(&self) -> (u64, u64, u64) {
            (self.total_staked, self.total_pending, self.total_slashed)
        }

        /// `(registry, min_stake_per_device, cooldown_secs, slash_authority)`.
        #[ink(message)]
        pub fn settings(&self) -> (AccountId, u64, u64, AccountId) {
            (
                self.registry,
                self.min_stake_per_device,
                self.cooldown_secs,
                self.slash_authority,
            )
        }

        /// The settings every pool must satisfy, at creation and at every update.
        fn validate_settings(cooldown_secs: u64, slash_authority: &AccountId) -> Result<()> {
            stake::validate_cooldown(cooldown_secs)?;
            if host::is_zero(slash_authority) {
                return Err(Error::InvalidSlashAuthority);
            }
            Ok(())
        }

        fn registry_reader(&self) -> ink::prelude::boxed::Box<dyn RegistryReader> {
            cross::registry::<DeviceRegistryRef>(self.registry)
        }

        fn require_running(network: &NetworkInfo) -> Result<()> {
            if network.paused {
                return Err(Error::NetworkPaused);
            }
            Ok(())
        }

        fn require_not_paused(&self) -> Result<()> {
            Self::require_running(&self.registry_reader().network_info())
        }
    }
}

impl StakingReader for staking::StakingRef {
    fn bond_info(&self, device: DeviceId) -> Option<BondInfo> {
        staking::StakingRef::bond_info(self, device)
    }
    fn registry(&self) -> ink::primitives::AccountId {
        staking::StakingRef::settings(self).0
    }
}

/// Off-chain support for contracts that read staking (feature `testing`).
#[cfg(feature = "testing")]
pub mod live {
    use super::staking::Staking;
    use super::*;
    use depin_ink_shared::bridge::register_staking;
    use depin_ink_shared::testing::{as_contract, call};
    use ink::primitives::AccountId;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A deployed staking instance answering reads with its own code and storage.
    pub struct LiveStaking {
        /// The instance's address.
        pub at: AccountId,
        /// The instance.
        pub contract: Rc<RefCell<Staking>>,
    }

    /// Deploys a pool at `at` for the registry at `registry` (called by `authority`) and
    /// routes cross-contract reads for `at` to it.
    pub fn deploy(
        at: AccountId,
        authority: AccountId,
        registry: AccountId,
        min_stake_per_device: u64,
        cooldown_secs: u64,
        slash_authority: AccountId,
    ) -> Rc<RefCell<Staking>> {
        call(at, authority, 0);
        let contract = Rc::new(RefCell::new(
            Staking::new(
                registry,
                min_stake_per_device,
                cooldown_secs,
                slash_authority,
            )
            .expect("pool created"),
        ));
        register_staking(
            at,
            Rc::new(LiveStaking {
                at,
                contract: contract.clone(),
            }),
        );
        contract
    }

    impl StakingReader for LiveStaking {
        fn bond_info(&self, device: DeviceId) -> Option<BondInfo> {
            as_contract(self.at, || self.contract.borrow().bond_info(device))
        }
        fn registry(&self) -> AccountId {
            as_contract(self.at, || self.contract.borrow().settings().0)
        }
    }
}

#[cfg(test)]
mod tests;
