//! The sandbox runtime: `ink_sandbox` 5.1.1's `DefaultSandbox` (its `create_sandbox!`,
//! expanded here) with one change: the existential deposit is a per-thread parameter, 1
//! (the default sandbox's) unless a test raises it with [`set_existential_deposit`] before
//! it starts its chain. With a larger one, a payment below it to an account that does not
//! exist fails, as on a real chain; every other test runs exactly as on `DefaultSandbox`.

#![allow(missing_docs)] // `construct_runtime!` and `parameter_types!` generate items

use ink_sandbox::frame_support::{
    construct_runtime, derive_impl, parameter_types,
    sp_runtime::{testing::H256, traits::Convert, AccountId32, Perbill},
    traits::{ConstBool, ConstU128, ConstU32, ConstU64, Currency, Randomness},
    weights::Weight,
};
use ink_sandbox::{frame_system, pallet_balances, pallet_contracts, pallet_timestamp};
use ink_sandbox::{macros::BlockBuilder, Snapshot};

/// Sets the existential deposit of the chains this thread creates from now on (1 unless
/// set). Call it before `Chain::new`: accounts and contracts created under a smaller one
/// may hold less than the new one, which the runtime does not expect.
pub fn set_existential_deposit(amount: u128) {
    ExistentialDeposit::set(amount);
}

construct_runtime!(
    pub enum Runtime {
        System: frame_system,
        Balances: pallet_balances,
        Timestamp: pallet_timestamp,
        Contracts: pallet_contracts,
    }
);

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig as frame_system::DefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = frame_system::mocking::MockBlockU32<Runtime>;
    type Version = ();
    type BlockHashCount = ConstU32<250>;
    type AccountData = pallet_balances::AccountData<u128>;
}

parameter_types! {
    /// The existential deposit: per thread, see [`set_existential_deposit`].
    pub static ExistentialDeposit: u128 = 1;
}

impl pallet_balances::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type Balance = u128;
    type DustRemoval = ();
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
    type ReserveIdentifier = [u8; 8];
    type FreezeIdentifier = ();
    type MaxLocks = ();
    type MaxReserves = ();
    type MaxFreezes = ();
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
}

impl pallet_timestamp::Config for Runtime {
    type Moment = u64;
    type OnTimestampSet = ();
    type MinimumPeriod = ConstU64<1>;
    type WeightInfo = ();
}

/// No randomness, as in the default sandbox (no contract of the suite asks for it).
pub enum SandboxRandomness {}

impl Randomness<H256, u32> for SandboxRandomness {
    fn random(_subject: &[u8]) -> (H256, u32) {
        unreachable!("No randomness")
    }
}

type BalanceOf = <Balances as Currency<AccountId32>>::Balance;

impl Convert<Weight, BalanceOf> for Runtime {
    fn convert(w: Weight) -> BalanceOf {
        w.ref_time().into()
    }
}

parameter_types! {
    pub SandboxSchedule: pallet_contracts::Schedule<Runtime> = Default::default();
    pub DefaultDepositLimit: BalanceOf = 10_000_000;
    pub CodeHashLockupDepositPercent: Perbill = Perbill::from_percent(0);
    pub MaxDelegateDependencies: u32 = 32;
}

impl pallet_contracts::Config for Runtime {
    type Time = Timestamp;
    type Randomness = SandboxRandomness;
    type Currency = Balances;
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type CallFilter = ();
    type WeightPrice = Self;
    type WeightInfo = ();
    type ChainExtension = ();
    type Schedule = SandboxSchedule;
    type CallStack = [pallet_contracts::Frame<Self>; 5];
    type DepositPerByte = ConstU128<1>;
    type DepositPerItem = ConstU128<1>;
    type AddressGenerator = pallet_contracts::DefaultAddressGenerator;
    type MaxCodeLen = ConstU32<{ 123 * 1024 }>;
    type MaxStorageKeyLen = ConstU32<128>;
    type UnsafeUnstableInterface = ConstBool<false>;
    type UploadOrigin = frame_system::EnsureSigned<Self::AccountId>;
    type InstantiateOrigin = frame_system::EnsureSigned<Self::AccountId>;
    type MaxDebugBufferLen = ConstU32<{ 2 * 1024 * 1024 }>;
    type Migrations = ();
    type DefaultDepositLimit = DefaultDepositLimit;
    type Debug = ();
    type CodeHashLockupDepositPercent = CodeHashLockupDepositPercent;
    type MaxDelegateDependencies = MaxDelegateDependencies;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Environment = ();
    type Xcm = ();
    type ApiVersion = ();
}

/// What the default sandbox gives its default account at genesis.
const INITIAL_BALANCE: u128 = 1_000_000_000_000_000;
/// The default sandbox's default account.
const DEFAULT_ACCOUNT: AccountId32 = AccountId32::new([1u8; 32]);

/// The sandbox: the runtime's externalities in the test process.
pub struct Sandbox {
    ext: ink_sandbox::TestExternalities,
}

impl Default for Sandbox {
    fn default() -> Self {
        let ext = BlockBuilder::<Runtime>::new_ext(vec![(DEFAULT_ACCOUNT, INITIAL_BALANCE)]);
        Self { ext }
    }
}

impl ink_sandbox::Sandbox for Sandbox {
    type Runtime = Runtime;

    fn execute_with<T>(&mut self, execute: impl FnOnce() -> T) -> T {
        self.ext.execute_with(execute)
    }

    fn dry_run<T>(&mut self, action: impl FnOnce(&mut Self) -> T) -> T {
        let backend_backup = self.ext.as_backend();
        let result = action(self);
        self.ext.commit_all().expect("Failed to commit changes");
        self.ext.backend = backend_backup;
        result
    }

    fn register_extension<E: ::core::any::Any + ink_sandbox::Extension>(&mut self, ext: E) {
        self.ext.register_extension(ext);
    }

    fn initialize_block(
        height: frame_system::pallet_prelude::BlockNumberFor<Runtime>,
        parent_hash: <Runtime as frame_system::Config>::Hash,
    ) {
        BlockBuilder::<Runtime>::initialize_block(height, parent_hash)
    }

    fn finalize_block(
        height: frame_system::pallet_prelude::BlockNumberFor<Runtime>,
    ) -> <Runtime as frame_system::Config>::Hash {
        BlockBuilder::<Runtime>::finalize_block(height)
    }

    fn default_actor() -> ink_sandbox::AccountIdFor<Runtime> {
        DEFAULT_ACCOUNT
    }

    fn get_metadata() -> ink_sandbox::RuntimeMetadataPrefixed {
        Runtime::metadata()
    }

    fn convert_account_to_origin(
        account: ink_sandbox::AccountIdFor<Runtime>,
    ) -> <RuntimeCall as ink_sandbox::frame_support::sp_runtime::traits::Dispatchable>::RuntimeOrigin
    {
        Some(account).into()
    }

    fn take_snapshot(&mut self) -> Snapshot {
        let mut backend = self.ext.as_backend().clone();
        let raw_key_values = backend
            .backend_storage_mut()
            .drain()
            .into_iter()
            .filter(|(_, (_, r))| *r > 0)
            .collect::<Vec<(Vec<u8>, (Vec<u8>, i32))>>();
        let root = backend.root().to_owned();
        Snapshot {
            storage: raw_key_values,
            storage_root: root,
        }
    }

    fn restore_snapshot(&mut self, snapshot: Snapshot) {
        self.ext = ink_sandbox::TestExternalities::from_raw_snapshot(
            snapshot.storage,
            snapshot.storage_root,
            Default::default(),
        );
    }
}
