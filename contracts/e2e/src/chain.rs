//! A `pallet-contracts` chain in the test process (`ink_sandbox`'s default runtime, in
//! [`crate::runtime`]: frame-system, pallet-balances, pallet-timestamp, pallet-contracts
//! 31), driven through the same entry points a node's RPC and extrinsics use
//! (`bare_upload_code`, `bare_instantiate`, `bare_call`), with the weight and storage
//! deposit of every call recorded.

use std::fmt;

use ink::env::call::utils::{ReturnType, Set, Unset};
use ink::env::call::{Call, CallBuilder, CreateBuilder, ExecutionInput, LimitParamsV2};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use ink::scale::{Decode, Encode};
use ink_sandbox::api::prelude::{BalanceAPI, ContractAPI, SystemAPI, TimestampAPI};
use ink_sandbox::frame_support::traits::fungible::{Inspect, Mutate};
use ink_sandbox::frame_support::traits::tokens::{Fortitude, Preservation};
use ink_sandbox::pallet_contracts::{Determinism, StorageDeposit};
use ink_sandbox::{AccountId32, Sandbox as _, Weight};

use crate::runtime::{Runtime, Sandbox};

type E = DefaultEnvironment;

/// A message call as a contract reference builds it (`contract.call_mut().message(..)`).
pub type Message<Args, R> =
    CallBuilder<E, Set<Call<E>>, Set<ExecutionInput<Args>>, Set<ReturnType<R>>>;

/// A constructor call as a contract reference builds it (`ContractRef::new(..)`).
pub type Constructor<ContractRef, Args, R> = CreateBuilder<
    E,
    ContractRef,
    Unset<ink::primitives::Hash>,
    Set<LimitParamsV2<E>>,
    Unset<u128>,
    Set<ExecutionInput<Args>>,
    Unset<ink::env::call::state::Salt>,
    Set<ReturnType<R>>,
>;

/// What one call cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Which contract was called (its crate name).
    pub contract: String,
    /// The message, constructor (`new`) or `upload`.
    pub message: String,
    /// Who called (and paid the storage deposit).
    pub origin: AccountId,
    /// Weight consumed: execution time in picoseconds.
    pub ref_time: u64,
    /// Weight consumed: bytes of storage proof.
    pub proof_size: u64,
    /// Storage deposit charged to the caller (negative: refunded), in the runtime's base
    /// units (this runtime charges 1 per byte and 1 per item).
    pub storage_deposit: i128,
}

/// Why a call did not produce a decodable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// The runtime refused or trapped (out of gas, a Wasm trap, a refused module, ...).
    Dispatch(String),
    /// The contract answered bytes that are not the expected type.
    Decode(String),
    /// A constructor reverted (the encoded error follows).
    Reverted(Vec<u8>),
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dispatch(e) => write!(f, "the runtime refused the call: {e}"),
            Self::Decode(e) => write!(f, "cannot decode the answer: {e}"),
            Self::Reverted(data) => write!(f, "the constructor reverted with {data:?}"),
        }
    }
}

impl std::error::Error for ChainError {}

/// The sandboxed chain and the costs of everything called on it.
pub struct Chain {
    sandbox: Sandbox,
    now_secs: u64,
    salt: u32,
    costs: Vec<Cost>,
    names: Vec<(AccountId, String)>,
}

/// Converts an ink! account to the runtime's.
pub fn to_runtime(account: AccountId) -> AccountId32 {
    AccountId32::new(*AsRef::<[u8; 32]>::as_ref(&account))
}

/// Converts a runtime account to ink!'s.
pub fn from_runtime(account: AccountId32) -> AccountId {
    AccountId::from(<[u8; 32]>::from(account))
}

fn deposit(d: &StorageDeposit<u128>) -> i128 {
    match d {
        StorageDeposit::Charge(v) => i128::try_from(*v).unwrap_or(i128::MAX),
        StorageDeposit::Refund(v) => i128::try_from(*v).map_or(i128::MIN, |v| -v),
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// A fresh chain at block 1 with the clock at 0 seconds.
    pub fn new() -> Self {
        let mut chain = Self {
            sandbox: Sandbox::default(),
            now_secs: 0,
            salt: 0,
            costs: Vec::new(),
            names: Vec::new(),
        };
        chain.set_time(0);
        chain
    }

    /// Gives `account` `amount` of native balance (minted).
    pub fn endow(&mut self, account: AccountId, amount: u128) -> Result<(), ChainError> {
        self.sandbox
            .mint_into(&to_runtime(account), amount)
            .map(|_| ())
            .map_err(|e| ChainError::Dispatch(format!("{e:?}")))
    }

    /// Free native balance of `account`.
    pub fn free_balance(&mut self, account: AccountId) -> u128 {
        self.sandbox.free_balance(&to_runtime(account))
    }

    /// Native balance of `account` including what is held (storage deposits).
    pub fn total_balance(&mut self, account: AccountId) -> u128 {
        let who = to_runtime(account);
        self.sandbox.execute_with(|| {
            <ink_sandbox::pallet_balances::Pallet<Runtime> as Inspect<AccountId32>>::total_balance(
                &who,
            )
        })
    }

    /// Moves all of `from`'s free balance to `to` and lets `from`'s account be reaped:
    /// what a holder who empties its own account does.
    pub fn empty_into(&mut self, from: AccountId, to: AccountId) -> Result<(), ChainError> {
        type Balances = ink_sandbox::pallet_balances::Pallet<Runtime>;
        let (from, to) = (to_runtime(from), to_runtime(to));
        self.sandbox.execute_with(|| {
            let all = <Balances as Inspect<AccountId32>>::reducible_balance(
                &from,
                Preservation::Expendable,
                Fortitude::Polite,
            );
            <Balances as Mutate<AccountId32>>::transfer(&from, &to, all, Preservation::Expendable)
                .map(|_| ())
                .map_err(|e| ChainError::Dispatch(format!("{e:?}")))
        })
    }

    /// Whether `account` exists (holds at least the existential deposit, or is kept alive
    /// by something else).
    pub fn exists(&mut self, account: AccountId) -> bool {
        let who = to_runtime(account);
        self.sandbox
            .execute_with(|| ink_sandbox::frame_system::Pallet::<Runtime>::account_exists(&who))
    }

    /// All native value in existence.
    pub fn total_issuance(&mut self) -> u128 {
        self.sandbox.execute_with(
            <ink_sandbox::pallet_balances::Pallet<Runtime> as Inspect<AccountId32>>::total_issuance,
        )
    }

    /// Sets the block time (the runtime's clock is in milliseconds).
    pub fn set_time(&mut self, secs: u64) {
        self.now_secs = secs;
        self.sandbox.set_timestamp(secs.saturating_mul(1000));
    }

    /// Builds the next block, keeping the clock where the test set it.
    pub fn next_block(&mut self) -> u32 {
        let block = self.sandbox.build_block();
        self.set_time(self.now_secs);
        block
    }

    /// Every cost recorded so far, in call order.
    pub fn costs(&self) -> &[Cost] {
        &self.costs
    }

    /// Storage deposit `who` paid, net of refunds, in the calls recorded from index
    /// `since` of [`Chain::costs`] on.
    pub fn deposits_paid(&self, who: AccountId, since: usize) -> i128 {
        self.costs
            .iter()
            .skip(since)
            .filter(|c| c.origin == who)
            .map(|c| c.storage_deposit)
            .sum()
    }

    fn name_of(&self, at: &AccountId) -> String {
        self.names
            .iter()
            .find(|(a, _)| a == at)
            .map_or_else(|| format!("{at:?}"), |(_, n)| n.clone())
    }

    /// Uploads `code` as `origin`; returns the code hash.
    pub fn upload(
        &mut self,
        contract: &str,
        code: &[u8],
        origin: AccountId,
    ) -> Result<Vec<u8>, ChainError> {
        let result = self
            .sandbox
            .upload_contract(
                code.to_vec(),
                to_runtime(origin),
                None,
                Determinism::Enforced,
            )
            .map_err(|e| ChainError::Dispatch(format!("{e:?}")))?;
        self.costs.push(Cost {
            contract: contract.into(),
            message: "upload".into(),
            origin,
            ref_time: 0,
            proof_size: 0,
            storage_deposit: i128::try_from(result.deposit).unwrap_or(i128::MAX),
        });
        Ok(result.code_hash.encode())
    }

    /// Instantiates uploaded code with a constructor of its contract reference, as
    /// `origin`, endowing it with `value`; returns the new contract's address.
    pub fn instantiate<Ref, Args: Encode, R>(
        &mut self,
        contract: &str,
        code_hash: &[u8],
        origin: AccountId,
        value: u128,
        constructor: Constructor<Ref, Args, R>,
    ) -> Result<AccountId, ChainError> {
        let input = constructor
            .endowment(0)
            .code_hash(ink::primitives::Hash::from([0; 32]))
            .salt_bytes(Vec::<u8>::new())
            .params()
            .exec_input()
            .encode();
        self.salt = self.salt.wrapping_add(1);
        let result = self.sandbox.instantiate_contract(
            code_hash.to_vec(),
            value,
            input,
            self.salt.encode(),
            to_runtime(origin),
            Sandbox::default_gas_limit(),
            None,
        );
        let outcome = result.result.map_err(|e| {
            ChainError::Dispatch(format!(
                "{e:?}: {}",
                String::from_utf8_lossy(&result.debug_message)
            ))
        })?;
        if outcome.result.did_revert() {
            return Err(ChainError::Reverted(outcome.result.data));
        }
        let at = from_runtime(outcome.account_id);
        self.costs.push(Cost {
            contract: contract.into(),
            message: "new".into(),
            origin,
            ref_time: result.gas_consumed.ref_time(),
            proof_size: result.gas_consumed.proof_size(),
            storage_deposit: deposit(&result.storage_deposit),
        });
        self.names.push((at, contract.into()));
        Ok(at)
    }

    /// Calls a message as `origin` carrying `value` and decodes its answer. A message
    /// answering `Err` is reverted by the runtime (state and value) and its error returned
    /// as the answer. `label` names the message in the cost table.
    pub fn call<Args: Encode, R: Decode>(
        &mut self,
        label: &str,
        origin: AccountId,
        value: u128,
        message: Message<Args, R>,
    ) -> Result<R, ChainError> {
        let params = message.params();
        let at = *params.callee();
        let input = params.exec_input().encode();
        self.call_raw(label, at, origin, value, input)
    }

    /// Like [`Chain::call`], with the encoded input given directly (selector and
    /// arguments), for inputs no contract reference builds.
    pub fn call_raw<R: Decode>(
        &mut self,
        label: &str,
        at: AccountId,
        origin: AccountId,
        value: u128,
        input: Vec<u8>,
    ) -> Result<R, ChainError> {
        let result = self.sandbox.call_contract(
            to_runtime(at),
            value,
            input,
            to_runtime(origin),
            Sandbox::default_gas_limit(),
            None,
            Determinism::Enforced,
        );
        let output = result.result.map_err(|e| {
            ChainError::Dispatch(format!(
                "{e:?}: {}",
                String::from_utf8_lossy(&result.debug_message)
            ))
        })?;
        let answer = <ink::MessageResult<R>>::decode(&mut &output.data[..])
            .map_err(|e| ChainError::Decode(e.to_string()))?
            .map_err(|e| ChainError::Decode(format!("{e:?}")))?;
        let contract = self.name_of(&at);
        self.costs.push(Cost {
            contract,
            message: label.into(),
            origin,
            ref_time: result.gas_consumed.ref_time(),
            proof_size: result.gas_consumed.proof_size(),
            storage_deposit: deposit(&result.storage_deposit),
        });
        Ok(answer)
    }

    /// The weight limit every call gets (the sandbox's default, far above any message).
    pub fn gas_limit() -> Weight {
        Sandbox::default_gas_limit()
    }
}
