//! The localnet's Solana JSON-RPC service (HTTP POST, single and batch requests).
//!
//! Every answer is built from the RPC's own client types where one exists, so the Solana
//! clients parse it exactly as they parse a validator's. A method not listed in
//! [`METHODS`] gets JSON-RPC's "method not found", and a parameter or encoding the localnet
//! does not serve gets "invalid params": never a guessed answer.

use std::str::FromStr;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use base64::Engine;
use serde_json::{json, Value};
use solana_account::Account;
use solana_account_decoder_client_types::token::UiTokenAmount;
use solana_account_decoder_client_types::{UiAccount, UiAccountData, UiAccountEncoding};
use solana_hash::Hash;
use solana_message::VersionedMessage;
use solana_program_pack::Pack;
use solana_rpc_client_types::filter::RpcFilterType;
use solana_rpc_client_types::response::{
    RpcBlockhash, RpcConfirmedTransactionStatusWithSignature, RpcKeyedAccount,
    RpcPrioritizationFee, RpcSimulateTransactionResult, RpcVersionInfo,
};
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, TransactionConfirmationStatus, TransactionStatus,
    UiConfirmedBlock, UiTransactionEncoding,
};

use crate::encode;
use crate::ledger::{Commitment, Landed, SubmitError};
use crate::Shared;

/// The methods served.
pub const METHODS: &[&str] = &[
    "getAccountInfo",
    "getBalance",
    "getBlock",
    "getBlockHeight",
    "getBlockTime",
    "getEpochInfo",
    "getFeeForMessage",
    "getFirstAvailableBlock",
    "getGenesisHash",
    "getHealth",
    "getLatestBlockhash",
    "getMinimumBalanceForRentExemption",
    "getMultipleAccounts",
    "getProgramAccounts",
    "getRecentPrioritizationFees",
    "getSignatureStatuses",
    "getSignaturesForAddress",
    "getSlot",
    "getTokenAccountBalance",
    "getTransaction",
    "getVersion",
    "isBlockhashValid",
    "requestAirdrop",
    "sendTransaction",
    "simulateTransaction",
];

/// A JSON-RPC error.
#[derive(Debug)]
pub struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn invalid(message: impl Into<String>) -> Self {
        RpcError {
            code: -32602,
            message: message.into(),
            data: None,
        }
    }

    fn internal(message: impl std::fmt::Display) -> Self {
        RpcError {
            code: -32603,
            message: format!("internal error: {message}"),
            data: None,
        }
    }
}

impl From<SubmitError> for RpcError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Signature => RpcError {
                code: -32003,
                message: "Transaction signature verification failure".into(),
                data: None,
            },
            SubmitError::Invalid(m) => RpcError::invalid(format!("invalid transaction: {m}")),
            SubmitError::Preflight { err, logs, units } => RpcError {
                code: -32002,
                message: format!("Transaction simulation failed: {err}"),
                data: serde_json::to_value(simulation_result(Some(err), logs, units, None)).ok(),
            },
            SubmitError::Runtime(m) => RpcError::internal(m),
        }
    }
}

type Reply = Result<Value, RpcError>;

fn simulation_result(
    err: Option<solana_transaction_error::TransactionError>,
    logs: Vec<String>,
    units: u64,
    replacement: Option<RpcBlockhash>,
) -> RpcSimulateTransactionResult {
    RpcSimulateTransactionResult {
        err: err.map(Into::into),
        logs: Some(logs),
        accounts: None,
        units_consumed: Some(units),
        loaded_accounts_data_size: None,
        return_data: None,
        inner_instructions: None,
        replacement_blockhash: replacement,
        fee: None,
        pre_balances: None,
        post_balances: None,
        pre_token_balances: None,
        post_token_balances: None,
        loaded_addresses: None,
    }
}

/// Answers one JSON-RPC request object.
pub async fn handle(shared: &Arc<Shared>, request: &Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let reply = match request.get("method").and_then(Value::as_str) {
        None => Err(RpcError {
            code: -32600,
            message: "invalid request: no method".into(),
            data: None,
        }),
        Some(method) => {
            let params = request.get("params").cloned().unwrap_or(json!([]));
            let params = match params {
                Value::Array(p) => p,
                Value::Null => Vec::new(),
                _ => {
                    return error_reply(id, RpcError::invalid("params must be an array"));
                }
            };
            dispatch(shared, method, &params).await
        }
    };
    match reply {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => error_reply(id, e),
    }
}

fn error_reply(id: Value, e: RpcError) -> Value {
    let mut error = json!({"code": e.code, "message": e.message});
    if let Some(data) = e.data {
        error["data"] = data;
    }
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

async fn dispatch(shared: &Arc<Shared>, method: &str, params: &[Value]) -> Reply {
    let config = |i: usize| params.get(i).cloned().unwrap_or(Value::Null);
    match method {
        "getHealth" => Ok(json!("ok")),
        "getVersion" => Ok(serde_json::to_value(RpcVersionInfo {
            solana_core: "3.1.10".into(),
            feature_set: None,
        })
        .map_err(RpcError::internal)?),
        "getGenesisHash" => Ok(json!(shared.genesis_hash.to_string())),
        "getSlot" => {
            let chain = shared.chain.lock().await;
            Ok(json!(chain.slot_at(commitment(&config(0))?)))
        }
        "getBlockHeight" => {
            let chain = shared.chain.lock().await;
            Ok(json!(chain.block_height_at(commitment(&config(0))?)))
        }
        "getBlockTime" => {
            let slot = params
                .first()
                .and_then(Value::as_u64)
                .ok_or_else(|| RpcError::invalid("slot (a number) required"))?;
            let chain = shared.chain.lock().await;
            match chain.blocks.get(&slot) {
                Some(block) if slot <= chain.confirmed_slot() => Ok(json!(block.block_time)),
                _ if slot < chain.first_available => Err(cleaned_up(slot, &chain)),
                _ => Err(RpcError {
                    code: -32004,
                    message: format!("Block not available for slot {slot}"),
                    data: None,
                }),
            }
        }
        "getFirstAvailableBlock" => Ok(json!(shared.chain.lock().await.first_available)),
        "getEpochInfo" => {
            let chain = shared.chain.lock().await;
            let slot = chain.slot_at(commitment(&config(0))?);
            let schedule = &shared.epoch_schedule;
            let (epoch, slot_index) = schedule.get_epoch_and_slot_index(slot);
            Ok(json!({
                "absoluteSlot": slot,
                "blockHeight": chain.block_height_at(commitment(&config(0))?),
                "epoch": epoch,
                "slotIndex": slot_index,
                "slotsInEpoch": schedule.get_slots_in_epoch(epoch),
                "transactionCount": chain.landed.len(),
            }))
        }
        "getLatestBlockhash" => {
            let mut chain = shared.chain.lock().await;
            let at = commitment(&config(0))?;
            let (hash, last_valid) = match at {
                Commitment::Processed => chain.latest_blockhash().await?,
                _ => {
                    let slot = chain.slot_at(at);
                    match chain.blocks.get(&slot) {
                        Some(b) if b.blockhash != Hash::default() => (
                            b.blockhash,
                            b.block_height + crate::ledger::MAX_PROCESSING_AGE,
                        ),
                        _ => chain.latest_blockhash().await?,
                    }
                }
            };
            let slot = chain.slot_at(at);
            Ok(with_context(
                slot,
                serde_json::to_value(RpcBlockhash {
                    blockhash: hash.to_string(),
                    last_valid_block_height: last_valid,
                })
                .map_err(RpcError::internal)?,
            ))
        }
        "isBlockhashValid" => {
            let hash = Hash::from_str(str_param(params, 0, "blockhash")?)
                .map_err(|e| RpcError::invalid(format!("invalid blockhash: {e}")))?;
            let mut chain = shared.chain.lock().await;
            chain.latest_blockhash().await?;
            let slot = chain.slot_at(commitment(&config(1))?);
            Ok(with_context(slot, json!(chain.blockhash_valid(&hash))))
        }
        "getMinimumBalanceForRentExemption" => {
            let size = params
                .first()
                .and_then(Value::as_u64)
                .ok_or_else(|| RpcError::invalid("data size (a number) required"))?;
            // the runtime's largest account: 10 MiB
            if size > 10 * 1024 * 1024 {
                return Err(RpcError::invalid(format!(
                    "data size {size} exceeds the 10 MiB account limit"
                )));
            }
            let size = usize::try_from(size).map_err(|e| RpcError::invalid(e.to_string()))?;
            Ok(json!(shared.rent.minimum_balance(size)))
        }
        "getBalance" => {
            let address = pubkey_param(params, 0)?;
            let at = commitment(&config(1))?;
            let chain = shared.chain.lock().await;
            let lamports = chain.account(&address, at).await?.map_or(0, |a| a.lamports);
            Ok(with_context(chain.slot_at(at), json!(lamports)))
        }
        "getAccountInfo" => {
            let address = pubkey_param(params, 0)?;
            let config = config(1);
            let at = commitment(&config)?;
            let encoding = account_encoding(&config)?;
            let slice = data_slice(&config)?;
            let chain = shared.chain.lock().await;
            let account = chain.account(&address, at).await?;
            let value = match account {
                Some(a) => serde_json::to_value(ui_account(&a, encoding, slice))
                    .map_err(RpcError::internal)?,
                None => Value::Null,
            };
            Ok(with_context(chain.slot_at(at), value))
        }
        "getMultipleAccounts" => {
            let addresses = params
                .first()
                .and_then(Value::as_array)
                .ok_or_else(|| RpcError::invalid("an array of addresses required"))?;
            if addresses.len() > 100 {
                return Err(RpcError::invalid("too many addresses: at most 100"));
            }
            let config = config(1);
            let at = commitment(&config)?;
            let encoding = account_encoding(&config)?;
            let slice = data_slice(&config)?;
            let chain = shared.chain.lock().await;
            let mut values = Vec::new();
            for a in addresses {
                let address = parse_pubkey(a)?;
                values.push(match chain.account(&address, at).await? {
                    Some(a) => serde_json::to_value(ui_account(&a, encoding, slice))
                        .map_err(RpcError::internal)?,
                    None => Value::Null,
                });
            }
            Ok(with_context(chain.slot_at(at), Value::Array(values)))
        }
        "getProgramAccounts" => {
            let program = pubkey_param(params, 0)?;
            let config = config(1);
            let at = commitment(&config)?;
            let encoding = account_encoding(&config)?;
            let slice = data_slice(&config)?;
            let filters: Vec<RpcFilterType> = match config.get("filters") {
                None | Some(Value::Null) => Vec::new(),
                Some(f) => serde_json::from_value(f.clone())
                    .map_err(|e| RpcError::invalid(format!("invalid filters: {e}")))?,
            };
            for f in &filters {
                if let RpcFilterType::Memcmp(m) = f {
                    if m.bytes().is_none() {
                        return Err(RpcError::invalid("invalid memcmp filter bytes"));
                    }
                }
            }
            let chain = shared.chain.lock().await;
            let mut keyed = Vec::new();
            for (address, account) in chain.program_accounts(&program, at).await? {
                if filters.iter().all(|f| passes(f, &account)) {
                    keyed.push(RpcKeyedAccount {
                        pubkey: address.to_string(),
                        account: ui_account(&account, encoding, slice),
                    });
                }
            }
            let value = serde_json::to_value(keyed).map_err(RpcError::internal)?;
            if config.get("withContext").and_then(Value::as_bool) == Some(true) {
                Ok(with_context(chain.slot_at(at), value))
            } else {
                Ok(value)
            }
        }
        "getTokenAccountBalance" => {
            let address = pubkey_param(params, 0)?;
            let at = commitment(&config(1))?;
            let chain = shared.chain.lock().await;
            let not_token = || RpcError::invalid("Invalid param: not a Token account");
            let account = chain.account(&address, at).await?.ok_or_else(not_token)?;
            if account.owner != spl_token::ID && account.owner != anchor_spl::token_2022::ID {
                return Err(not_token());
            }
            let base = account
                .data
                .get(..spl_token::state::Account::LEN)
                .ok_or_else(not_token)?;
            let token =
                spl_token::state::Account::unpack_from_slice(base).map_err(|_| not_token())?;
            let mint = chain
                .account(&token.mint, at)
                .await?
                .ok_or_else(|| RpcError::invalid("Invalid param: mint could not be unpacked"))?;
            let decimals = mint
                .data
                .get(..spl_token::state::Mint::LEN)
                .and_then(|d| spl_token::state::Mint::unpack_from_slice(d).ok())
                .ok_or_else(|| RpcError::invalid("Invalid param: mint could not be unpacked"))?
                .decimals;
            Ok(with_context(
                chain.slot_at(at),
                serde_json::to_value(token_amount(token.amount, decimals))
                    .map_err(RpcError::internal)?,
            ))
        }
        "getRecentPrioritizationFees" => {
            let accounts = match params.first() {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(parse_pubkey)
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err(RpcError::invalid("an array of addresses expected")),
            };
            if accounts.len() > 128 {
                return Err(RpcError::invalid("too many accounts: at most 128"));
            }
            let chain = shared.chain.lock().await;
            let fees: Vec<RpcPrioritizationFee> = chain
                .prioritization_fees(&accounts)
                .into_iter()
                .map(|(slot, prioritization_fee)| RpcPrioritizationFee {
                    slot,
                    prioritization_fee,
                })
                .collect();
            Ok(serde_json::to_value(fees).map_err(RpcError::internal)?)
        }
        "getFeeForMessage" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(str_param(params, 0, "message")?)
                .map_err(|e| RpcError::invalid(format!("message is not base64: {e}")))?;
            let message: VersionedMessage = bincode::deserialize(&bytes)
                .map_err(|e| RpcError::invalid(format!("invalid message: {e}")))?;
            let at = commitment(&config(1))?;
            let mut chain = shared.chain.lock().await;
            chain.latest_blockhash().await?;
            let fee = chain
                .blockhash_valid(message.recent_blockhash())
                .then(|| crate::ledger::fee_of(&message));
            Ok(with_context(chain.slot_at(at), json!(fee)))
        }
        "requestAirdrop" => {
            let to = pubkey_param(params, 0)?;
            let lamports = params
                .get(1)
                .and_then(Value::as_u64)
                .ok_or_else(|| RpcError::invalid("lamports (a number) required"))?;
            let signature = shared.airdrop(&to, lamports).await?;
            Ok(json!(signature.to_string()))
        }
        "sendTransaction" => {
            let config = config(1);
            let tx = decode_transaction(params, &config)?;
            let skip = config.get("skipPreflight").and_then(Value::as_bool) == Some(true);
            let signature = tx.signatures.first().copied().unwrap_or_default();
            shared.submit(tx, !skip).await?;
            Ok(json!(signature.to_string()))
        }
        "simulateTransaction" => {
            let config = config(1);
            let mut tx = decode_transaction(params, &config)?;
            let mut chain = shared.chain.lock().await;
            let replace = config
                .get("replaceRecentBlockhash")
                .and_then(Value::as_bool)
                == Some(true);
            let verify = config.get("sigVerify").and_then(Value::as_bool) == Some(true);
            if replace && verify {
                return Err(RpcError::invalid(
                    "sigVerify may not be used with replaceRecentBlockhash",
                ));
            }
            let mut replacement = None;
            if replace {
                let (hash, last_valid) = chain.latest_blockhash().await?;
                tx.message.set_recent_blockhash(hash);
                replacement = Some(RpcBlockhash {
                    blockhash: hash.to_string(),
                    last_valid_block_height: last_valid,
                });
            }
            if verify && !tx.verify_with_results().into_iter().all(|ok| ok) {
                return Err(SubmitError::Signature.into());
            }
            let (result, logs, units, inner) = chain.simulate(&tx).await?;
            let mut value = simulation_result(result.err(), logs, units, replacement);
            if config.get("innerInstructions").and_then(Value::as_bool) == Some(true) {
                let landed = Landed {
                    signature: Signature::default(),
                    slot: chain.slot,
                    index: 0,
                    transaction: tx,
                    loaded: (Vec::new(), Vec::new()),
                    err: None,
                    fee: 0,
                    pre_balances: Vec::new(),
                    post_balances: Vec::new(),
                    logs: Vec::new(),
                    inner,
                    units,
                    block_time: 0,
                };
                if let solana_transaction_status_client_types::option_serializer::OptionSerializer::Some(inner) =
                    encode::ui_meta(&landed).inner_instructions
                {
                    value.inner_instructions = Some(inner);
                }
            }
            Ok(with_context(
                chain.slot,
                serde_json::to_value(value).map_err(RpcError::internal)?,
            ))
        }
        "getSignatureStatuses" => {
            let signatures = params
                .first()
                .and_then(Value::as_array)
                .ok_or_else(|| RpcError::invalid("an array of signatures required"))?;
            if signatures.len() > 256 {
                return Err(RpcError::invalid("too many signatures: at most 256"));
            }
            let chain = shared.chain.lock().await;
            let mut statuses = Vec::new();
            for s in signatures {
                let signature = parse_signature(s)?;
                statuses.push(match chain.landed.get(&signature) {
                    None => Value::Null,
                    Some(tx) => {
                        let reached = chain.commitment_of(tx.slot);
                        let status = TransactionStatus {
                            slot: tx.slot,
                            confirmations: match reached {
                                Commitment::Finalized => None,
                                _ => Some(usize::try_from(chain.slot - tx.slot).unwrap_or(0)),
                            },
                            status: tx.err.clone().map_or(Ok(()), Err),
                            err: tx.err.clone(),
                            confirmation_status: Some(confirmation_status(reached)),
                        };
                        serde_json::to_value(status).map_err(RpcError::internal)?
                    }
                });
            }
            Ok(with_context(chain.slot, Value::Array(statuses)))
        }
        "getTransaction" => {
            let signature = parse_signature(params.first().unwrap_or(&Value::Null))?;
            let config = config(1);
            let at = commitment(&config)?;
            if at == Commitment::Processed {
                return Err(RpcError::invalid(
                    "Method does not support commitment below `confirmed`",
                ));
            }
            let encoding = transaction_encoding(&config)?;
            let chain = shared.chain.lock().await;
            let Some(tx) = chain.landed.get(&signature) else {
                return Ok(Value::Null);
            };
            if chain.commitment_of(tx.slot) < at {
                return Ok(Value::Null);
            }
            check_version(tx, &config)?;
            let transaction = encode::encoded(tx, encoding)
                .ok_or_else(|| RpcError::invalid(format!("encoding {encoding} is not served")))?;
            Ok(
                serde_json::to_value(EncodedConfirmedTransactionWithStatusMeta {
                    slot: tx.slot,
                    transaction,
                    block_time: Some(tx.block_time),
                })
                .map_err(RpcError::internal)?,
            )
        }
        "getBlock" => {
            let slot = params
                .first()
                .and_then(Value::as_u64)
                .ok_or_else(|| RpcError::invalid("slot (a number) required"))?;
            let config = config(1);
            let at = commitment(&config)?;
            if at == Commitment::Processed {
                return Err(RpcError::invalid(
                    "Method does not support commitment below `confirmed`",
                ));
            }
            let encoding = transaction_encoding(&config)?;
            let details = config
                .get("transactionDetails")
                .and_then(Value::as_str)
                .unwrap_or("full");
            let chain = shared.chain.lock().await;
            let block = match chain.blocks.get(&slot) {
                Some(b) if slot <= chain.slot_at(at) => b,
                _ if slot < chain.first_available => return Err(cleaned_up(slot, &chain)),
                _ => {
                    return Err(RpcError {
                        code: -32004,
                        message: format!("Block not available for slot {slot}"),
                        data: None,
                    })
                }
            };
            let previous = chain
                .blocks
                .get(&block.parent)
                .map_or(Hash::default(), |b| b.blockhash);
            let landed: Vec<&Landed> = block
                .signatures
                .iter()
                .filter_map(|s| chain.landed.get(s))
                .collect();
            let (transactions, signatures) = match details {
                "full" => {
                    let mut list = Vec::new();
                    for tx in &landed {
                        check_version(tx, &config)?;
                        list.push(encode::encoded(tx, encoding).ok_or_else(|| {
                            RpcError::invalid(format!("encoding {encoding} is not served"))
                        })?);
                    }
                    (Some(list), None)
                }
                "signatures" => (
                    None,
                    Some(landed.iter().map(|t| t.signature.to_string()).collect()),
                ),
                "none" => (None, None),
                other => {
                    return Err(RpcError::invalid(format!(
                        "transactionDetails {other} is not served (full, signatures, none)"
                    )))
                }
            };
            let rewards = config.get("rewards").and_then(Value::as_bool) != Some(false);
            Ok(serde_json::to_value(UiConfirmedBlock {
                previous_blockhash: previous.to_string(),
                blockhash: block.blockhash.to_string(),
                parent_slot: block.parent,
                transactions,
                signatures,
                rewards: rewards.then(Vec::new),
                num_reward_partitions: None,
                block_time: Some(block.block_time),
                block_height: Some(block.block_height),
            })
            .map_err(RpcError::internal)?)
        }
        "getSignaturesForAddress" => {
            let address = pubkey_param(params, 0)?;
            let config = config(1);
            let at = commitment(&config)?;
            if at == Commitment::Processed {
                return Err(RpcError::invalid(
                    "Method does not support commitment below `confirmed`",
                ));
            }
            let limit = config.get("limit").and_then(Value::as_u64).unwrap_or(1000);
            if !(1..=1000).contains(&limit) {
                return Err(RpcError::invalid("Invalid limit; max 1000"));
            }
            let before = match config.get("before") {
                None | Some(Value::Null) => None,
                Some(s) => Some(parse_signature(s)?),
            };
            let until = match config.get("until") {
                None | Some(Value::Null) => None,
                Some(s) => Some(parse_signature(s)?),
            };
            let chain = shared.chain.lock().await;
            let visible = chain.slot_at(at);
            let list = chain.by_address.get(&address).cloned().unwrap_or_default();
            let mut out = Vec::new();
            let mut started = before.is_none();
            // newest first
            for signature in list.iter().rev() {
                if Some(*signature) == until {
                    break;
                }
                if !started {
                    started = Some(*signature) == before;
                    continue;
                }
                let Some(tx) = chain.landed.get(signature) else {
                    continue;
                };
                if tx.slot > visible {
                    continue;
                }
                out.push(RpcConfirmedTransactionStatusWithSignature {
                    signature: signature.to_string(),
                    slot: tx.slot,
                    err: tx.err.clone().map(Into::into),
                    memo: None,
                    block_time: Some(tx.block_time),
                    confirmation_status: Some(confirmation_status(chain.commitment_of(tx.slot))),
                });
                if out.len() as u64 >= limit {
                    break;
                }
            }
            Ok(serde_json::to_value(out).map_err(RpcError::internal)?)
        }
        other => Err(RpcError {
            code: -32601,
            message: format!("Method not found: {other} is not served by the localnet"),
            data: None,
        }),
    }
}

/// A validator's answer for a block its ledger no longer holds.
fn cleaned_up(slot: u64, chain: &crate::ledger::Chain) -> RpcError {
    RpcError {
        code: -32001,
        message: format!(
            "Block {slot} cleaned up, does not exist on node. First available block: {}",
            chain.first_available
        ),
        data: None,
    }
}

fn with_context(slot: u64, value: Value) -> Value {
    json!({"context": {"slot": slot, "apiVersion": "3.1.10"}, "value": value})
}

fn confirmation_status(c: Commitment) -> TransactionConfirmationStatus {
    match c {
        Commitment::Processed => TransactionConfirmationStatus::Processed,
        Commitment::Confirmed => TransactionConfirmationStatus::Confirmed,
        Commitment::Finalized => TransactionConfirmationStatus::Finalized,
    }
}

/// The commitment of a config object (finalized when absent, as a validator defaults).
fn commitment(config: &Value) -> Result<Commitment, RpcError> {
    match config.get("commitment").and_then(Value::as_str) {
        None => Ok(Commitment::Finalized),
        Some("processed" | "recent" | "single") => Ok(Commitment::Processed),
        Some("confirmed" | "singleGossip") => Ok(Commitment::Confirmed),
        Some("finalized" | "root" | "max") => Ok(Commitment::Finalized),
        Some(other) => Err(RpcError::invalid(format!("unknown commitment {other}"))),
    }
}

fn str_param<'a>(params: &'a [Value], i: usize, what: &str) -> Result<&'a str, RpcError> {
    params
        .get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid(format!("{what} (a string) required")))
}

fn parse_pubkey(v: &Value) -> Result<Pubkey, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| RpcError::invalid("address (a base58 string) required"))?;
    Pubkey::from_str(s).map_err(|e| RpcError::invalid(format!("Invalid param: {s}: {e}")))
}

fn pubkey_param(params: &[Value], i: usize) -> Result<Pubkey, RpcError> {
    parse_pubkey(params.get(i).unwrap_or(&Value::Null))
}

fn parse_signature(v: &Value) -> Result<Signature, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| RpcError::invalid("signature (a base58 string) required"))?;
    Signature::from_str(s).map_err(|e| RpcError::invalid(format!("Invalid param: {s}: {e}")))
}

fn account_encoding(config: &Value) -> Result<UiAccountEncoding, RpcError> {
    match config.get("encoding").and_then(Value::as_str) {
        None | Some("base64") => Ok(UiAccountEncoding::Base64),
        Some("base58") => Ok(UiAccountEncoding::Base58),
        Some("base64+zstd") => Ok(UiAccountEncoding::Base64Zstd),
        Some(other) => Err(RpcError::invalid(format!(
            "account encoding {other} is not served by the localnet (base64, base64+zstd, base58)"
        ))),
    }
}

fn transaction_encoding(config: &Value) -> Result<UiTransactionEncoding, RpcError> {
    match config.get("encoding").and_then(Value::as_str) {
        None | Some("json") => Ok(UiTransactionEncoding::Json),
        Some("base64") => Ok(UiTransactionEncoding::Base64),
        Some("base58") => Ok(UiTransactionEncoding::Base58),
        Some(other) => Err(RpcError::invalid(format!(
            "transaction encoding {other} is not served by the localnet (json, base64, base58)"
        ))),
    }
}

/// A v0 transaction needs the caller to accept version 0, as on a validator.
fn check_version(tx: &Landed, config: &Value) -> Result<(), RpcError> {
    let supported = config
        .get("maxSupportedTransactionVersion")
        .and_then(Value::as_u64);
    match (&tx.transaction.message, supported) {
        (VersionedMessage::V0(_), None) => Err(RpcError {
            code: -32015,
            message: "Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: \"maxSupportedTransactionVersion\": 0".into(),
            data: None,
        }),
        _ => Ok(()),
    }
}

type Slice = Option<(usize, usize)>;

fn data_slice(config: &Value) -> Result<Slice, RpcError> {
    match config.get("dataSlice") {
        None | Some(Value::Null) => Ok(None),
        Some(s) => {
            let offset = s.get("offset").and_then(Value::as_u64);
            let length = s.get("length").and_then(Value::as_u64);
            match (offset, length) {
                (Some(o), Some(l)) => Ok(Some((
                    usize::try_from(o).map_err(|e| RpcError::invalid(e.to_string()))?,
                    usize::try_from(l).map_err(|e| RpcError::invalid(e.to_string()))?,
                ))),
                _ => Err(RpcError::invalid("dataSlice needs offset and length")),
            }
        }
    }
}

fn ui_account(account: &Account, encoding: UiAccountEncoding, slice: Slice) -> UiAccount {
    let data = match slice {
        Some((offset, length)) => {
            let start = offset.min(account.data.len());
            let end = start.saturating_add(length).min(account.data.len());
            &account.data[start..end]
        }
        None => &account.data[..],
    };
    let encoded = match encoding {
        UiAccountEncoding::Base58 => bs58::encode(data).into_string(),
        UiAccountEncoding::Base64Zstd => match zstd::encode_all(data, 0) {
            Ok(compressed) => base64::engine::general_purpose::STANDARD.encode(compressed),
            // compressing bytes in memory does not fail; if it ever did, answer uncompressed
            Err(_) => {
                return ui_account(account, UiAccountEncoding::Base64, slice);
            }
        },
        _ => base64::engine::general_purpose::STANDARD.encode(data),
    };
    UiAccount {
        lamports: account.lamports,
        data: UiAccountData::Binary(encoded, encoding),
        owner: account.owner.to_string(),
        executable: account.executable,
        rent_epoch: account.rent_epoch,
        space: Some(account.data.len() as u64),
    }
}

fn passes(filter: &RpcFilterType, account: &Account) -> bool {
    match filter {
        RpcFilterType::DataSize(size) => account.data.len() as u64 == *size,
        RpcFilterType::Memcmp(m) => m.bytes_match(&account.data),
        RpcFilterType::TokenAccountState => {
            (account.owner == spl_token::ID || account.owner == anchor_spl::token_2022::ID)
                && account
                    .data
                    .get(..spl_token::state::Account::LEN)
                    .is_some_and(|d| spl_token::state::Account::unpack_from_slice(d).is_ok())
        }
    }
}

/// A token amount as the RPC shows it (any decimals a mint may have, 0 to 255).
pub fn token_amount(amount: u64, decimals: u8) -> UiTokenAmount {
    let digits = amount.to_string();
    let places = usize::from(decimals);
    let ui_amount_string = if places == 0 {
        digits.clone()
    } else {
        let padded = format!("{digits:0>width$}", width = places + 1);
        let (whole, frac) = padded.split_at(padded.len() - places);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{frac}")
        }
    };
    UiTokenAmount {
        ui_amount: Some(amount as f64 / 10f64.powi(i32::from(decimals))),
        decimals,
        amount: digits,
        ui_amount_string,
    }
}

fn decode_transaction(params: &[Value], config: &Value) -> Result<VersionedTransaction, RpcError> {
    let data = str_param(params, 0, "transaction")?;
    let bytes = match config.get("encoding").and_then(Value::as_str) {
        None | Some("base58") => bs58::decode(data)
            .into_vec()
            .map_err(|e| RpcError::invalid(format!("transaction is not base58: {e}")))?,
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| RpcError::invalid(format!("transaction is not base64: {e}")))?,
        Some(other) => {
            return Err(RpcError::invalid(format!(
                "unsupported transaction encoding {other}"
            )))
        }
    };
    if bytes.len() > 1232 {
        return Err(RpcError::invalid(format!(
            "transaction too large: {} bytes (max: 1232 bytes)",
            bytes.len()
        )));
    }
    let tx: VersionedTransaction = bincode::deserialize(&bytes)
        .map_err(|e| RpcError::invalid(format!("failed to deserialize transaction: {e}")))?;
    tx.sanitize()
        .map_err(|e| RpcError::invalid(format!("invalid transaction: {e}")))?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::token_amount;

    #[test]
    fn token_amounts_print_at_any_decimals() {
        assert_eq!(token_amount(1_500_000, 6).ui_amount_string, "1.5");
        assert_eq!(token_amount(1_000_000, 6).ui_amount_string, "1");
        assert_eq!(token_amount(5, 6).ui_amount_string, "0.000005");
        assert_eq!(token_amount(0, 6).ui_amount_string, "0");
        assert_eq!(token_amount(42, 0).ui_amount_string, "42");
        let huge = token_amount(u64::MAX, 255);
        assert!(
            huge.ui_amount_string.starts_with("0.000"),
            "{}",
            huge.ui_amount_string
        );
        assert!(huge.ui_amount_string.ends_with("18446744073709551615"));
    }
}
