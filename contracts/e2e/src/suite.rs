//! The suite on the chain: the five codes uploaded once, instances deployed through their
//! real constructors, devices onboarded through real messages and signatures.

use std::fmt;

use depin_ink_shared::testing::{capabilities_for, DeviceSigner};
use depin_ink_shared::{Capabilities, DeviceId, NetworkKind};
use device_registry::device_registry::DeviceRegistryRef;
use energy_settlement::energy_settlement::{EnergySettlementRef, MarketParams};
use ink::codegen::TraitCallBuilder;
use ink::env::call::FromAccountId;
use ink::primitives::AccountId;
use rewards::rewards::{RewardsRef, Schedule};
use staking::staking::StakingRef;
use storage_escrow::storage_escrow::StorageEscrowRef;

use crate::chain::{Chain, ChainError};
use crate::wasm::{self, BuildError};

/// A failed expectation or a call that did not go through, with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<ChainError> for Failure {
    fn from(e: ChainError) -> Self {
        Self(e.to_string())
    }
}

impl From<BuildError> for Failure {
    fn from(e: BuildError) -> Self {
        Self(e.to_string())
    }
}

/// Returns a [`Failure`] from the enclosing function unless both sides are equal.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr $(,)?) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err($crate::suite::Failure::new(format!(
                "{}:{}: `{}` is {:?}, expected {:?}",
                file!(),
                line!(),
                stringify!($left),
                left,
                right
            )));
        }
    }};
}

/// The value of a message that must succeed, or a [`Failure`] naming it.
pub fn must<T, E: fmt::Debug>(answer: Result<T, E>, what: &str) -> Result<T, Failure> {
    answer.map_err(|e| Failure(format!("{what} answered {e:?}")))
}

/// An account made of one repeated byte.
pub fn account(byte: u8) -> AccountId {
    AccountId::from([byte; 32])
}

/// A contract reference to the instance at `at`.
pub fn at<R: FromAccountId<ink::env::DefaultEnvironment>>(at: AccountId) -> R {
    R::from_account_id(at)
}

/// The network's authority in every test (deploys and governs every instance).
pub const AUTHORITY: u8 = 1;
/// Where fees go.
pub const TREASURY: u8 = 2;
/// The device maker.
pub const MAKER: u8 = 3;
/// The onboarding fee of every registry.
pub const ONBOARDING_FEE: u64 = 25;
/// A valid H3 cell (resolution 9).
pub const CELL: u64 = 0x0892_8308_280f_ffff;

/// Code hashes of the uploaded contracts.
#[derive(Clone, Debug)]
pub struct CodeHashes {
    /// `device-registry`.
    pub registry: Vec<u8>,
    /// `staking`.
    pub staking: Vec<u8>,
    /// `rewards`.
    pub rewards: Vec<u8>,
    /// `storage-escrow`.
    pub storage: Vec<u8>,
    /// `energy-settlement`.
    pub energy: Vec<u8>,
}

/// A chain with the five contracts uploaded by the authority.
pub struct Suite {
    /// The chain.
    pub chain: Chain,
    /// What was uploaded.
    pub code: CodeHashes,
    /// Every registry [`Suite::registry`] deployed, with its network's kind.
    networks: Vec<(AccountId, NetworkKind)>,
}

impl Suite {
    /// Builds the contracts (once per process), starts a chain, gives each of `people`
    /// `endowment` and uploads the five codes as [`AUTHORITY`].
    pub fn new(people: &[u8], endowment: u128) -> Result<Self, Failure> {
        let contracts = wasm::contracts()?;
        let mut chain = Chain::new();
        for who in people {
            chain.endow(account(*who), endowment)?;
        }
        let authority = account(AUTHORITY);
        let code = CodeHashes {
            registry: chain.upload("device-registry", &contracts.registry, authority)?,
            staking: chain.upload("staking", &contracts.staking, authority)?,
            rewards: chain.upload("rewards", &contracts.rewards, authority)?,
            storage: chain.upload("storage-escrow", &contracts.storage, authority)?,
            energy: chain.upload("energy-settlement", &contracts.energy, authority)?,
        };
        Ok(Self {
            chain,
            code,
            networks: Vec::new(),
        })
    }

    /// A registry of `kind` with [`ONBOARDING_FEE`], fees to [`TREASURY`].
    pub fn registry(&mut self, kind: NetworkKind) -> Result<AccountId, Failure> {
        let ctor = DeviceRegistryRef::new(kind, account(TREASURY), ONBOARDING_FEE, 0);
        let hash = self.code.registry.clone();
        let at = self
            .chain
            .instantiate("device-registry", &hash, account(AUTHORITY), 0, ctor)?;
        self.networks.push((at, kind));
        Ok(at)
    }

    /// The staking pool of `registry`, slashed by the authority.
    pub fn staking(
        &mut self,
        registry: AccountId,
        min_stake: u64,
        cooldown: u64,
    ) -> Result<AccountId, Failure> {
        let ctor = StakingRef::new(registry, min_stake, cooldown, account(AUTHORITY));
        let hash = self.code.staking.clone();
        Ok(self
            .chain
            .instantiate("staking", &hash, account(AUTHORITY), 0, ctor)?)
    }

    /// The rewards of `registry` and `staking`: 10,000 per epoch, no halving.
    pub fn rewards(
        &mut self,
        registry: AccountId,
        staking: AccountId,
        epoch_secs: u64,
        genesis: i64,
        oracles: Vec<AccountId>,
        quorum: u8,
    ) -> Result<AccountId, Failure> {
        let schedule = Schedule {
            initial_per_epoch: 10_000,
            halving_interval_epochs: 0,
            tail_per_epoch: 0,
        };
        let ctor = RewardsRef::new(
            registry, staking, schedule, epoch_secs, genesis, oracles, quorum,
        );
        let hash = self.code.rewards.clone();
        Ok(self
            .chain
            .instantiate("rewards", &hash, account(AUTHORITY), 0, ctor)?)
    }

    /// The storage market of `registry`: 100 s periods, a 10-block proof window, two
    /// challenges per period, two faults allowed, 10% fault slash, 5% protocol fee.
    pub fn storage(&mut self, registry: AccountId) -> Result<AccountId, Failure> {
        let ctor = StorageEscrowRef::new(registry, 100, 10, 2, 2, 1_000, 500);
        let hash = self.code.storage.clone();
        Ok(self
            .chain
            .instantiate("storage-escrow", &hash, account(AUTHORITY), 0, ctor)?)
    }

    /// The energy market of `registry`: 900 s intervals, gate closure 300 s before,
    /// settlement 600 s after, 8 orders a side, 2% grid fee, prices 1 to 10,000.
    pub fn energy(&mut self, registry: AccountId) -> Result<AccountId, Failure> {
        let ctor = EnergySettlementRef::new(registry, energy_params());
        let hash = self.code.energy.clone();
        Ok(self
            .chain
            .instantiate("energy-settlement", &hash, account(AUTHORITY), 0, ctor)?)
    }

    /// Registers and approves [`MAKER`] on `registry` if it is not yet, issues the device
    /// of `signer` and onboards it for `owner` (who pays the fee). Returns the device id.
    ///
    /// The device gets the capabilities of its network's kind
    /// ([`depin_ink_shared::testing::capabilities_for`]): on an Energy network a rooftop
    /// meter (5 kW of panel, a 13.5 kWh battery), so its asks stay within its capacity;
    /// none elsewhere. [`Suite::onboard_with`] chooses them.
    pub fn onboard(
        &mut self,
        registry: AccountId,
        owner: AccountId,
        signer: &DeviceSigner,
        class: u8,
    ) -> Result<DeviceId, Failure> {
        let kind = self
            .networks
            .iter()
            .find(|(at, _)| *at == registry)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| Failure::new("the registry was not deployed by Suite::registry"))?;
        self.onboard_with(registry, owner, signer, class, capabilities_for(kind))
    }

    /// [`Suite::onboard`], the maker registering the device with `capabilities`.
    pub fn onboard_with(
        &mut self,
        registry: AccountId,
        owner: AccountId,
        signer: &DeviceSigner,
        class: u8,
        capabilities: Capabilities,
    ) -> Result<DeviceId, Failure> {
        let maker = account(MAKER);
        let authority = account(AUTHORITY);
        let mut r: DeviceRegistryRef = at(registry);
        if self
            .chain
            .call("maker", maker, 0, r.call().maker(maker))?
            .is_none()
        {
            let answer = self.chain.call(
                "register_maker",
                authority,
                0,
                r.call_mut().register_maker(maker, "maker".into(), 100),
            )?;
            must(answer, "register_maker")?;
            let answer = self.chain.call(
                "set_maker_approval",
                authority,
                0,
                r.call_mut().set_maker_approval(maker, true, 100),
            )?;
            must(answer, "set_maker_approval")?;
        }
        let answer = self.chain.call(
            "issue_device",
            maker,
            0,
            r.call_mut().issue_device(
                signer.key(),
                class,
                capabilities,
                signer.sign(&device_registry::device_registry::issue_message(
                    &registry,
                    &signer.key(),
                    &maker,
                )),
            ),
        )?;
        must(answer, "issue_device")?;
        let proof = signer.sign(&device_registry::device_registry::onboard_message(
            &registry,
            &signer.key(),
            &owner,
        ));
        let answer = self.chain.call(
            "onboard_device",
            owner,
            u128::from(ONBOARDING_FEE),
            r.call_mut().onboard_device(signer.key(), Some(CELL), proof),
        )?;
        must(answer, "onboard_device")
    }
}

/// The energy market parameters [`Suite::energy`] deploys with.
pub fn energy_params() -> MarketParams {
    MarketParams {
        interval_secs: 900,
        gate_closure_secs: 300,
        settlement_delay_secs: 600,
        max_orders_per_interval: 8,
        grid_fee_bps: 200,
        price_floor: 1,
        price_cap: 10_000,
    }
}
