//! Transactions executed by the real programs in the test runtime, laid out as a chain: each
//! gets a slot and a position in its block, and can be served as a Geyser update or as a
//! JSON-RPC `getTransaction` answer.

use depin_tests::runtime::ProcessedTransaction;
use serde_json::{json, Value as Json};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{
    SlotStatus, SubscribeUpdate, SubscribeUpdateSlot, SubscribeUpdateTransaction,
    SubscribeUpdateTransactionInfo,
};
use yellowstone_grpc_proto::solana::storage::confirmed_block as pb;

/// One transaction placed in a slot.
#[derive(Debug, Clone)]
pub struct ChainTransaction {
    /// Slot it lands in.
    pub slot: u64,
    /// Its position in the block.
    pub index: u64,
    /// What the runtime reported.
    pub processed: ProcessedTransaction,
}

/// Places `transactions` into consecutive slots from `first_slot`, `per_slot` per slot.
pub fn lay_out(
    transactions: Vec<ProcessedTransaction>,
    first_slot: u64,
    per_slot: usize,
) -> Vec<ChainTransaction> {
    let per_slot = per_slot.max(1);
    transactions
        .into_iter()
        .enumerate()
        .map(|(i, processed)| ChainTransaction {
            slot: first_slot + (i / per_slot) as u64,
            index: (i % per_slot) as u64,
            processed,
        })
        .collect()
}

/// The Geyser transaction update of `tx`.
pub fn transaction_update(tx: &ChainTransaction) -> SubscribeUpdate {
    let t = &tx.processed.transaction;
    let message = &t.message;
    let inner_instructions = tx
        .processed
        .inner_instructions
        .iter()
        .map(|(index, group)| pb::InnerInstructions {
            index: u32::from(*index),
            instructions: group
                .iter()
                .map(|ix| pb::InnerInstruction {
                    program_id_index: u32::from(ix.program_id_index),
                    accounts: Vec::new(),
                    data: ix.data.clone(),
                    stack_height: Some(2),
                })
                .collect(),
        })
        .collect();
    let info = SubscribeUpdateTransactionInfo {
        signature: t.signatures[0].as_ref().to_vec(),
        is_vote: false,
        transaction: Some(pb::Transaction {
            signatures: t.signatures.iter().map(|s| s.as_ref().to_vec()).collect(),
            message: Some(pb::Message {
                header: Some(pb::MessageHeader {
                    num_required_signatures: u32::from(message.header.num_required_signatures),
                    num_readonly_signed_accounts: u32::from(
                        message.header.num_readonly_signed_accounts,
                    ),
                    num_readonly_unsigned_accounts: u32::from(
                        message.header.num_readonly_unsigned_accounts,
                    ),
                }),
                account_keys: message
                    .account_keys
                    .iter()
                    .map(|k| k.to_bytes().to_vec())
                    .collect(),
                recent_blockhash: message.recent_blockhash.to_bytes().to_vec(),
                instructions: message
                    .instructions
                    .iter()
                    .map(|ix| pb::CompiledInstruction {
                        program_id_index: u32::from(ix.program_id_index),
                        accounts: ix.accounts.clone(),
                        data: ix.data.clone(),
                    })
                    .collect(),
                versioned: false,
                address_table_lookups: Vec::new(),
                config: None,
            }),
        }),
        meta: Some(pb::TransactionStatusMeta {
            err: None,
            fee: 5000,
            inner_instructions,
            inner_instructions_none: false,
            log_messages: tx.processed.log_messages.clone(),
            log_messages_none: false,
            ..Default::default()
        }),
        index: tx.index,
    };
    SubscribeUpdate {
        filters: vec!["depin".into()],
        update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
            transaction: Some(info),
            slot: tx.slot,
            bank_id: 0,
        })),
        ..Default::default()
    }
}

/// A slot status update.
pub fn slot_update(slot: u64, status: SlotStatus) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: vec!["depin".into()],
        update_oneof: Some(UpdateOneof::Slot(SubscribeUpdateSlot {
            slot,
            parent: slot.checked_sub(1),
            status: status as i32,
            dead_error: None,
            bank_id: None,
        })),
        ..Default::default()
    }
}

/// Every update of `chain` in stream order: each slot's transactions, then the slot's
/// processed, confirmed and finalized statuses.
pub fn stream_updates(chain: &[ChainTransaction]) -> Vec<SubscribeUpdate> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chain.len() {
        let slot = chain[i].slot;
        while i < chain.len() && chain[i].slot == slot {
            out.push(transaction_update(&chain[i]));
            i += 1;
        }
        for status in [
            SlotStatus::SlotProcessed,
            SlotStatus::SlotConfirmed,
            SlotStatus::SlotFinalized,
        ] {
            out.push(slot_update(slot, status));
        }
    }
    out
}

/// The JSON-RPC `getTransaction` (encoding `json`) result of `tx`.
pub fn rpc_transaction(tx: &ChainTransaction) -> Json {
    let t = &tx.processed.transaction;
    let inner: Vec<Json> = tx
        .processed
        .inner_instructions
        .iter()
        .map(|(index, group)| {
            json!({
                "index": index,
                "instructions": group.iter().map(|ix| json!({
                    "programIdIndex": ix.program_id_index,
                    "accounts": [],
                    "data": bs58::encode(&ix.data).into_string(),
                    "stackHeight": 2,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "slot": tx.slot,
        "blockTime": null,
        "transaction": {
            "signatures": t.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "message": {
                "accountKeys": t.message.account_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                "recentBlockhash": t.message.recent_blockhash.to_string(),
                "instructions": t.message.instructions.iter().map(|ix| json!({
                    "programIdIndex": ix.program_id_index,
                    "accounts": ix.accounts,
                    "data": bs58::encode(&ix.data).into_string(),
                })).collect::<Vec<_>>(),
            },
        },
        "meta": {
            "err": null,
            "fee": 5000,
            "logMessages": tx.processed.log_messages,
            "innerInstructions": inner,
            "loadedAddresses": {"writable": [], "readonly": []},
        },
    })
}
