//! The localnet's chain: the runtime's bank advanced one slot at a time, and what a validator
//! keeps beside it for its RPC and Geyser services (blocks, landed transactions with their
//! status meta, account versions per slot for reads at a commitment, recent blockhashes,
//! prioritization fees).

use std::collections::{BTreeMap, HashMap, VecDeque};

use anchor_lang::prelude::Pubkey;
use depin_tests::runtime::Suite;
use depin_tests::Signer;
use solana_account::Account;
use solana_address_lookup_table_interface::state::AddressLookupTable;
use solana_clock::Clock;
use solana_hash::Hash;
use solana_message::VersionedMessage;
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_error::TransactionError;

/// A blockhash is valid for this many newer blockhashes (the runtime's `MAX_PROCESSING_AGE`).
pub const MAX_PROCESSING_AGE: u64 = 150;
/// Slots of prioritization fees kept (as a validator's fee cache).
pub const FEE_CACHE_SLOTS: u64 = 150;
/// Program id of the compute budget program.
const COMPUTE_BUDGET_ID: Pubkey =
    anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");
/// Program id of the Ed25519 precompile (its signatures are paid like the transaction's).
const ED25519_ID: Pubkey = anchor_lang::pubkey!("Ed25519SigVerify111111111111111111111111111");
/// Lamports per signature of the runtime's genesis.
const LAMPORTS_PER_SIGNATURE: u64 = 5_000;

/// How far along a slot (and what it holds) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Commitment {
    /// In the open slot: executed, may still change order on a real cluster.
    Processed,
    /// In a closed slot.
    Confirmed,
    /// In a slot at least `finalize_depth` slots below the newest closed one.
    Finalized,
}

impl Commitment {
    /// The JSON-RPC name.
    pub fn as_str(self) -> &'static str {
        match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        }
    }
}

/// One inner instruction as a validator records it.
#[derive(Debug, Clone)]
pub struct Inner {
    /// Index of the invoked program in the transaction's keys.
    pub program_id_index: u8,
    /// Indexes of its accounts in the transaction's keys.
    pub accounts: Vec<u8>,
    /// Its data.
    pub data: Vec<u8>,
    /// Invocation depth (2 for a CPI from a top-level instruction).
    pub stack_height: Option<u32>,
}

/// A transaction that landed in a block, with its status meta.
#[derive(Debug, Clone)]
pub struct Landed {
    /// First signature.
    pub signature: Signature,
    /// Slot it landed in.
    pub slot: u64,
    /// Position in its block.
    pub index: u64,
    /// The transaction as signed.
    pub transaction: VersionedTransaction,
    /// Addresses loaded from lookup tables: writable, then readonly.
    pub loaded: (Vec<Pubkey>, Vec<Pubkey>),
    /// The execution error, if it failed (it still landed and paid its fee).
    pub err: Option<TransactionError>,
    /// Fee paid, in lamports.
    pub fee: u64,
    /// Balances of every key before and after.
    pub pre_balances: Vec<u64>,
    /// See `pre_balances`.
    pub post_balances: Vec<u64>,
    /// Log messages.
    pub logs: Vec<String>,
    /// Inner instructions per top-level instruction index.
    pub inner: Vec<(u8, Vec<Inner>)>,
    /// Compute units consumed.
    pub units: u64,
    /// Unix time of its block.
    pub block_time: i64,
}

impl Landed {
    /// Static keys then loaded ones: the indexes instructions use.
    pub fn account_keys(&self) -> Vec<Pubkey> {
        let mut keys = self.transaction.message.static_account_keys().to_vec();
        keys.extend(self.loaded.0.iter().chain(&self.loaded.1));
        keys
    }
}

/// A slot's block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its slot.
    pub slot: u64,
    /// Parent slot.
    pub parent: u64,
    /// Blockhash registered when it closed (default while open).
    pub blockhash: Hash,
    /// Its block height.
    pub block_height: u64,
    /// Unix time it opened at.
    pub block_time: i64,
    /// Its transactions in order.
    pub signatures: Vec<Signature>,
    /// Per transaction: the compute-unit price it paid (micro-lamports) and its writable keys.
    pub fees: Vec<(u64, Vec<Pubkey>)>,
}

/// Why a submission was refused before it landed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// A signature does not verify.
    #[error("transaction signature verification failure")]
    Signature,
    /// The transaction could not be read.
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// Preflight simulation failed.
    #[error("transaction simulation failed: {err}")]
    Preflight {
        /// The error.
        err: TransactionError,
        /// Its logs.
        logs: Vec<String>,
        /// Units consumed.
        units: u64,
    },
    /// The runtime could not be reached.
    #[error("runtime: {0}")]
    Runtime(String),
}

fn runtime(e: impl std::fmt::Display) -> SubmitError {
    SubmitError::Runtime(e.to_string())
}

/// The chain and its runtime.
pub struct Chain {
    /// The runtime with the suite's programs.
    pub suite: Suite,
    /// The open slot.
    pub slot: u64,
    /// Block height of the open slot.
    pub block_height: u64,
    /// The first slot served.
    pub first_slot: u64,
    /// Confirmed slots below the newest closed one before a slot is finalized.
    pub finalize_depth: u64,
    /// Slots of blocks and transactions kept (older ones are cleaned up, as a validator's
    /// ledger is).
    pub history_slots: u64,
    /// The oldest block still kept.
    pub first_available: u64,
    /// Blocks by slot, the open one included.
    pub blocks: BTreeMap<u64, Block>,
    /// Landed transactions by signature.
    pub landed: HashMap<Signature, Landed>,
    /// Signatures per address, oldest first.
    pub by_address: HashMap<Pubkey, Vec<Signature>>,
    /// Versions of every account a transaction wrote, oldest first: `(slot, state)`; a first
    /// version at slot 0 holds the state before the first write.
    pub accounts: HashMap<Pubkey, Vec<(u64, Option<Account>)>>,
    /// The runtime's recent blockhashes with their registration number.
    hashes: VecDeque<(Hash, u64)>,
    next_hash_index: u64,
}

impl Chain {
    /// Wraps a started runtime.
    pub async fn new(
        suite: Suite,
        finalize_depth: u64,
        history_slots: u64,
    ) -> Result<Self, SubmitError> {
        let banks = &suite.ctx.banks_client;
        let clock: Clock = banks.get_sysvar().await.map_err(runtime)?;
        let slot = clock.slot;
        let block_height = working_block_height(banks).await?;
        let mut chain = Chain {
            suite,
            slot,
            block_height,
            first_slot: slot,
            finalize_depth,
            history_slots: history_slots.max(finalize_depth + 1),
            first_available: slot,
            blocks: BTreeMap::new(),
            landed: HashMap::new(),
            by_address: HashMap::new(),
            accounts: HashMap::new(),
            hashes: VecDeque::new(),
            next_hash_index: 0,
        };
        chain.open_block(clock.unix_timestamp);
        chain.observe_blockhash().await?;
        Ok(chain)
    }

    fn open_block(&mut self, block_time: i64) {
        self.blocks.insert(
            self.slot,
            Block {
                slot: self.slot,
                parent: self.slot.saturating_sub(1),
                blockhash: Hash::default(),
                block_height: self.block_height,
                block_time,
                signatures: Vec::new(),
                fees: Vec::new(),
            },
        );
    }

    /// Notes the runtime's latest blockhash (the slot clock's warp registers one per slot),
    /// so validity is judged by the runtime's own age rule.
    async fn observe_blockhash(&mut self) -> Result<Hash, SubmitError> {
        let (hash, _) = working_blockhash(&self.suite.ctx.banks_client).await?;
        if self.hashes.back().map(|(h, _)| *h) != Some(hash) {
            self.hashes.push_back((hash, self.next_hash_index));
            self.next_hash_index += 1;
            while self.hashes.len() > 300 {
                self.hashes.pop_front();
            }
        }
        Ok(hash)
    }

    /// The latest blockhash and the last block height it is valid at.
    pub async fn latest_blockhash(&mut self) -> Result<(Hash, u64), SubmitError> {
        let hash = self.observe_blockhash().await?;
        Ok((hash, self.block_height + MAX_PROCESSING_AGE))
    }

    /// Whether a transaction with this blockhash would still be accepted.
    pub fn blockhash_valid(&self, hash: &Hash) -> bool {
        let newest = self.next_hash_index.saturating_sub(1);
        self.hashes
            .iter()
            .any(|(h, i)| h == hash && newest - i <= MAX_PROCESSING_AGE)
    }

    /// Every blockhash a transaction may still use, newest last.
    pub fn valid_blockhashes(&self) -> Vec<Hash> {
        let newest = self.next_hash_index.saturating_sub(1);
        self.hashes
            .iter()
            .filter(|(_, i)| newest - i <= MAX_PROCESSING_AGE)
            .map(|(h, _)| *h)
            .collect()
    }

    /// Newest closed slot.
    pub fn confirmed_slot(&self) -> u64 {
        self.slot.saturating_sub(1).max(self.first_slot)
    }

    /// Newest finalized slot.
    pub fn finalized_slot(&self) -> u64 {
        self.confirmed_slot()
            .saturating_sub(self.finalize_depth)
            .max(self.first_slot)
    }

    /// The slot a read at `commitment` sees.
    pub fn slot_at(&self, commitment: Commitment) -> u64 {
        match commitment {
            Commitment::Processed => self.slot,
            Commitment::Confirmed => self.confirmed_slot(),
            Commitment::Finalized => self.finalized_slot(),
        }
    }

    /// Block height at `commitment`.
    pub fn block_height_at(&self, commitment: Commitment) -> u64 {
        let slot = self.slot_at(commitment);
        self.blocks
            .get(&slot)
            .map_or(self.block_height, |b| b.block_height)
    }

    /// Commitment reached by a transaction in `slot`.
    pub fn commitment_of(&self, slot: u64) -> Commitment {
        if slot >= self.slot {
            Commitment::Processed
        } else if slot > self.finalized_slot() {
            Commitment::Confirmed
        } else {
            Commitment::Finalized
        }
    }

    /// Closes the open slot and opens the next one, with the clock at `now` (unix seconds).
    /// Returns the closed block.
    pub async fn advance(&mut self, now: i64) -> Result<Block, SubmitError> {
        // a blockhash the runtime's own timer registered since the last look
        self.observe_blockhash().await?;
        let closed = self.slot;
        self.suite
            .ctx
            .warp_to_slot(closed + 1)
            .map_err(|e| runtime(format!("{e:?}")))?;
        let banks = &self.suite.ctx.banks_client;
        let mut clock: Clock = banks.get_sysvar().await.map_err(runtime)?;
        // programs see wall-clock time, never going back
        let previous = self.blocks.get(&closed).map_or(0, |b| b.block_time);
        clock.unix_timestamp = clock.unix_timestamp.max(now).max(previous);
        self.suite.ctx.set_sysvar(&clock);
        self.block_height = working_block_height(banks).await?;
        let blockhash = self.observe_blockhash().await?;
        let block = self
            .blocks
            .get_mut(&closed)
            .ok_or_else(|| runtime("open block missing"))?;
        block.blockhash = blockhash;
        let block = block.clone();
        self.slot = closed + 1;
        self.open_block(clock.unix_timestamp);
        self.prune();
        self.clean_up_history();
        Ok(block)
    }

    /// Drops account versions no read can reach (older than the newest one at or below the
    /// finalized slot).
    fn prune(&mut self) {
        let finalized = self.finalized_slot();
        for versions in self.accounts.values_mut() {
            let keep_from = versions
                .iter()
                .rposition(|(slot, _)| *slot <= finalized)
                .unwrap_or(0);
            if keep_from > 0 {
                versions.drain(..keep_from);
            }
        }
    }

    /// Drops blocks (and their transactions) older than `history_slots`; the per-address
    /// signature lists are compacted every 256 slots.
    fn clean_up_history(&mut self) {
        let keep_from = self.slot.saturating_sub(self.history_slots);
        if keep_from <= self.first_available {
            return;
        }
        let old: Vec<u64> = self.blocks.range(..keep_from).map(|(s, _)| *s).collect();
        for slot in old {
            if let Some(block) = self.blocks.remove(&slot) {
                for signature in &block.signatures {
                    self.landed.remove(signature);
                }
            }
        }
        self.first_available = keep_from;
        if self.slot.is_multiple_of(256) {
            let landed = &self.landed;
            self.by_address.retain(|_, list| {
                list.retain(|s| landed.contains_key(s));
                !list.is_empty()
            });
        }
    }

    /// An account as a read at `commitment` sees it.
    pub async fn account(
        &self,
        address: &Pubkey,
        commitment: Commitment,
    ) -> Result<Option<Account>, SubmitError> {
        if commitment != Commitment::Processed {
            if let Some(versions) = self.accounts.get(address) {
                let at = self.slot_at(commitment);
                return Ok(versions
                    .iter()
                    .rev()
                    .find(|(slot, _)| *slot <= at)
                    .and_then(|(_, state)| state.clone()));
            }
        }
        // never written by a transaction: the same at every commitment
        self.suite
            .ctx
            .banks_client
            .get_account(*address)
            .await
            .map_err(runtime)
    }

    /// Every account the chain knows of owned by `program`, at `commitment`.
    pub async fn program_accounts(
        &self,
        program: &Pubkey,
        commitment: Commitment,
    ) -> Result<Vec<(Pubkey, Account)>, SubmitError> {
        let mut out = Vec::new();
        let mut addresses: Vec<&Pubkey> = self.accounts.keys().collect();
        addresses.sort();
        for address in addresses {
            if let Some(account) = self.account(address, commitment).await? {
                if account.owner == *program {
                    out.push((*address, account));
                }
            }
        }
        Ok(out)
    }

    /// Loaded addresses of a v0 message, from the lookup tables in the bank.
    async fn loaded_addresses(
        &self,
        message: &VersionedMessage,
    ) -> Result<(Vec<Pubkey>, Vec<Pubkey>), SubmitError> {
        let mut writable = Vec::new();
        let mut readonly = Vec::new();
        for lookup in message.address_table_lookups().unwrap_or_default() {
            let table = self
                .account(&lookup.account_key, Commitment::Processed)
                .await?
                .ok_or_else(|| {
                    SubmitError::Invalid(format!("lookup table {} not found", lookup.account_key))
                })?;
            let table = AddressLookupTable::deserialize(&table.data).map_err(|e| {
                SubmitError::Invalid(format!("lookup table {}: {e}", lookup.account_key))
            })?;
            for (indexes, out) in [
                (&lookup.writable_indexes, &mut writable),
                (&lookup.readonly_indexes, &mut readonly),
            ] {
                for &i in indexes {
                    let address = table.addresses.get(usize::from(i)).ok_or_else(|| {
                        SubmitError::Invalid(format!(
                            "lookup table {} has no index {i}",
                            lookup.account_key
                        ))
                    })?;
                    out.push(*address);
                }
            }
        }
        Ok((writable, readonly))
    }

    /// Runs `tx` without committing it: `(result, logs, units, inner instructions)`.
    pub async fn simulate(
        &self,
        tx: &VersionedTransaction,
    ) -> Result<
        (
            Result<(), TransactionError>,
            Vec<String>,
            u64,
            Vec<(u8, Vec<Inner>)>,
        ),
        SubmitError,
    > {
        let simulation = self
            .suite
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .map_err(runtime)?;
        let result = simulation.result.unwrap_or(Ok(()));
        let Some(details) = simulation.simulation_details else {
            return Ok((result, Vec::new(), 0, Vec::new()));
        };
        let mut inner = Vec::new();
        for (index, group) in details
            .inner_instructions
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let Ok(index) = u8::try_from(index) else {
                break;
            };
            if group.is_empty() {
                continue;
            }
            inner.push((
                index,
                group
                    .into_iter()
                    .map(|i| Inner {
                        program_id_index: i.instruction.program_id_index,
                        accounts: i.instruction.accounts,
                        data: i.instruction.data,
                        stack_height: Some(u32::from(i.stack_height)),
                    })
                    .collect(),
            ));
        }
        Ok((result, details.logs, details.units_consumed, inner))
    }

    /// Executes `tx` in the open slot. With `preflight`, a transaction whose simulation fails
    /// is refused; without it, such a transaction lands failed (paying its fee) if it passes
    /// the runtime's checks, and is dropped silently if it does not, as on a cluster.
    /// Returns the landed transaction, or `None` when it was dropped or already landed.
    pub async fn submit(
        &mut self,
        tx: VersionedTransaction,
        preflight: bool,
    ) -> Result<Option<Landed>, SubmitError> {
        if tx.signatures.is_empty() || !tx.verify_with_results().into_iter().all(|ok| ok) {
            return Err(SubmitError::Signature);
        }
        let signature = tx.signatures[0];
        if self.landed.contains_key(&signature) {
            // as a validator: the transaction's age (its blockhash, or its nonce, which its
            // landing advanced) is checked before the status cache
            let (simulated, logs, units, _) = self.simulate(&tx).await?;
            let err = match simulated {
                Err(TransactionError::BlockhashNotFound) => TransactionError::BlockhashNotFound,
                _ => TransactionError::AlreadyProcessed,
            };
            if preflight {
                let (logs, units) = if err == TransactionError::AlreadyProcessed {
                    (Vec::new(), 0)
                } else {
                    (logs, units)
                };
                return Err(SubmitError::Preflight { err, logs, units });
            }
            return Ok(None);
        }
        let loaded = self.loaded_addresses(&tx.message).await?;
        let (simulated, logs, units, inner) = self.simulate(&tx).await?;
        if let (true, Err(err)) = (preflight, &simulated) {
            return Err(SubmitError::Preflight {
                err: err.clone(),
                logs,
                units,
            });
        }
        let mut keys = tx.message.static_account_keys().to_vec();
        keys.extend(loaded.0.iter().chain(&loaded.1));
        let banks = self.suite.ctx.banks_client.clone();
        let fee = match &tx.message {
            // the runtime's own figure where its client can compute one
            VersionedMessage::Legacy(message) => banks
                .get_fee_for_message(message.clone())
                .await
                .map_err(runtime)?
                .unwrap_or_else(|| fee_of(&tx.message)),
            VersionedMessage::V0(_) => fee_of(&tx.message),
        };
        let mut pre = Vec::with_capacity(keys.len());
        for key in &keys {
            pre.push(banks.get_account(*key).await.map_err(runtime)?);
        }
        let processed = banks
            .process_transaction_with_metadata(tx.clone())
            .await
            .map_err(runtime)?;
        let err = match processed.result {
            Ok(()) => None,
            // refused by the runtime's checks (stale blockhash, unpaid fee, ...): not landed
            Err(e) if processed.metadata.is_none() => {
                if preflight {
                    return Err(SubmitError::Preflight {
                        err: e,
                        logs: Vec::new(),
                        units: 0,
                    });
                }
                return Ok(None);
            }
            Err(e) => Some(e),
        };
        let (meta_logs, meta_units) = processed
            .metadata
            .map(|m| (m.log_messages, m.compute_units_consumed))
            .unwrap_or_default();
        let writable: Vec<Pubkey> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| is_writable(&tx.message, &loaded, *i))
            .map(|(_, k)| *k)
            .collect();
        let mut post_balances = Vec::with_capacity(keys.len());
        for (key, before) in keys.iter().zip(&pre) {
            let after = banks.get_account(*key).await.map_err(runtime)?;
            post_balances.push(after.as_ref().map_or(0, |a| a.lamports));
            if writable.contains(key) {
                let versions = self.accounts.entry(*key).or_default();
                if versions.is_empty() {
                    versions.push((0, before.clone()));
                }
                match versions.last_mut() {
                    Some((slot, state)) if *slot == self.slot => *state = after,
                    _ => versions.push((self.slot, after)),
                }
            }
        }
        let block = self
            .blocks
            .get_mut(&self.slot)
            .ok_or_else(|| runtime("open block missing"))?;
        let landed = Landed {
            signature,
            slot: self.slot,
            index: block.signatures.len() as u64,
            fee,
            transaction: tx,
            loaded,
            err,
            pre_balances: pre
                .iter()
                .map(|a| a.as_ref().map_or(0, |a| a.lamports))
                .collect(),
            post_balances,
            logs: if meta_logs.is_empty() {
                logs
            } else {
                meta_logs
            },
            inner,
            units: meta_units.max(units),
            block_time: block.block_time,
        };
        block.signatures.push(signature);
        block
            .fees
            .push((compute_unit_price(&landed.transaction.message), writable));
        for key in &keys {
            let list = self.by_address.entry(*key).or_default();
            if list.last() != Some(&signature) {
                list.push(signature);
            }
        }
        self.landed.insert(signature, landed.clone());
        Ok(Some(landed))
    }

    /// Per recent slot, the prioritization fee a transaction writing `accounts` had to beat
    /// (the highest over `accounts` of the lowest price among that slot's transactions
    /// writing it; with no accounts, the lowest price in the slot), oldest first.
    pub fn prioritization_fees(&self, accounts: &[Pubkey]) -> Vec<(u64, u64)> {
        let from = self.confirmed_slot().saturating_sub(FEE_CACHE_SLOTS - 1);
        self.blocks
            .range(from..=self.confirmed_slot())
            .map(|(slot, block)| {
                let fee = if accounts.is_empty() {
                    block.fees.iter().map(|(p, _)| *p).min().unwrap_or(0)
                } else {
                    accounts
                        .iter()
                        .filter_map(|a| {
                            block
                                .fees
                                .iter()
                                .filter(|(_, w)| w.contains(a))
                                .map(|(p, _)| *p)
                                .min()
                        })
                        .max()
                        .unwrap_or(0)
                };
                (*slot, fee)
            })
            .collect()
    }

    /// The payer every airdrop comes from.
    pub fn faucet(&self) -> Pubkey {
        self.suite.ctx.payer.pubkey()
    }
}

/// Block height of the working bank: the runtime reports the latest blockhash as valid
/// through `block height + MAX_PROCESSING_AGE`.
async fn working_block_height(
    banks: &solana_program_test::BanksClient,
) -> Result<u64, SubmitError> {
    let (_, last_valid) = working_blockhash(banks).await?;
    Ok(last_valid.saturating_sub(MAX_PROCESSING_AGE))
}

/// The working bank's latest blockhash and its last valid block height (the client's plain
/// `get_latest_blockhash` reads the root bank instead).
async fn working_blockhash(
    banks: &solana_program_test::BanksClient,
) -> Result<(Hash, u64), SubmitError> {
    banks
        .get_latest_blockhash_with_commitment(solana_commitment_config::CommitmentLevel::Processed)
        .await
        .map_err(runtime)?
        .ok_or_else(|| runtime("the runtime has no working bank"))
}

fn is_writable(message: &VersionedMessage, loaded: &(Vec<Pubkey>, Vec<Pubkey>), i: usize) -> bool {
    let statics = message.static_account_keys().len();
    if i < statics {
        message.is_maybe_writable(i, None)
    } else {
        i - statics < loaded.0.len()
    }
}

/// Compute-unit price (micro-lamports) a message sets, 0 if none.
pub fn compute_unit_price(message: &VersionedMessage) -> u64 {
    compute_budget(message).1
}

/// `(unit limit, unit price)` a message's compute budget instructions set.
fn compute_budget(message: &VersionedMessage) -> (Option<u32>, u64) {
    let keys = message.static_account_keys();
    let mut limit = None;
    let mut price = 0;
    for ix in message.instructions() {
        if keys.get(usize::from(ix.program_id_index)) != Some(&COMPUTE_BUDGET_ID) {
            continue;
        }
        match ix.data.split_first() {
            Some((2, rest)) => {
                limit = rest
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_le_bytes)
            }
            Some((3, rest)) => {
                price = rest
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_le_bytes)
            }
            _ => {}
        }
    }
    (limit, price)
}

/// The fee the runtime charges a message: 5,000 lamports per signature (the transaction's and
/// its Ed25519 precompile's) plus the priority fee, price times requested units rounded up.
pub fn fee_of(message: &VersionedMessage) -> u64 {
    let keys = message.static_account_keys();
    let precompile_signatures: u64 = message
        .instructions()
        .iter()
        .filter(|ix| keys.get(usize::from(ix.program_id_index)) == Some(&ED25519_ID))
        .map(|ix| u64::from(ix.data.first().copied().unwrap_or(0)))
        .sum();
    let signatures = u64::from(message.header().num_required_signatures) + precompile_signatures;
    let (limit, price) = compute_budget(message);
    let suite_instructions = message
        .instructions()
        .iter()
        .filter(|ix| keys.get(usize::from(ix.program_id_index)) != Some(&COMPUTE_BUDGET_ID))
        .count() as u64;
    // the runtime's default: 200,000 units per instruction that is not a compute budget one
    let units = limit.map_or(200_000 * suite_instructions, u64::from);
    let priority = (u128::from(price) * u128::from(units)).div_ceil(1_000_000);
    signatures * LAMPORTS_PER_SIGNATURE + u64::try_from(priority).unwrap_or(u64::MAX)
}
