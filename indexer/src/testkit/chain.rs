//! Transactions executed by the real programs in the test runtime, laid out as a chain: each
//! gets a slot and a position in its block, and can be served as a Geyser update or as a
//! JSON-RPC `getTransaction` answer.

use depin_tests::runtime::ProcessedTransaction;

use crate::decode::{decode_transaction, CompiledInstruction, InnerInstructions, TransactionView};
use crate::sink::{IndexedTransaction, Source};
use serde_json::{json, Value as Json};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{
    SlotStatus, SubscribeUpdate, SubscribeUpdateSlot, SubscribeUpdateTransaction,
    SubscribeUpdateTransactionInfo,
};
use yellowstone_grpc_proto::solana::storage::confirmed_block as pb;

/// What decoding needs of a runtime transaction: the fields a Geyser update carries.
pub fn transaction_view(tx: &ProcessedTransaction) -> TransactionView {
    TransactionView {
        account_keys: tx.account_keys.clone(),
        inner_instructions: tx
            .inner_instructions
            .iter()
            .map(|(index, group)| InnerInstructions {
                index: *index,
                instructions: group
                    .iter()
                    .map(|ix| CompiledInstruction {
                        program_id_index: ix.program_id_index,
                        data: ix.data.clone(),
                    })
                    .collect(),
            })
            .collect(),
        log_messages: tx
            .log_messages
            .iter()
            .map(|line| bytes::Bytes::copy_from_slice(line.as_bytes()))
            .collect(),
    }
}

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

impl ChainTransaction {
    /// The transaction as the gRPC source hands it to the sink: decoded, in its slot.
    pub fn indexed(&self) -> IndexedTransaction {
        IndexedTransaction {
            signature: self.processed.signature.clone(),
            slot: self.slot,
            tx_index: self.index,
            source: Source::Grpc,
            decoded: decode_transaction(&transaction_view(&self.processed)),
        }
    }
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

/// Instances `copies` (e.g. `1..=400`) of `transactions` for load tests: in copy `c` every
/// account address that is not a program id (and every signature) is replaced by a
/// copy-specific one, everywhere it occurs (account keys and event payloads), so each copy
/// is a separate set of networks, devices and deals with the same history, and disjoint
/// ranges give disjoint loads. Program ids stay, so the copies decode as the programs' own
/// events.
pub fn replicate(
    transactions: &[ProcessedTransaction],
    copies: std::ops::RangeInclusive<u64>,
) -> Vec<ProcessedTransaction> {
    use std::collections::{HashMap, HashSet};

    let mut programs = HashSet::new();
    for tx in transactions {
        for ix in &tx.transaction.message.instructions {
            if let Some(k) = tx.account_keys.get(usize::from(ix.program_id_index)) {
                programs.insert(k.to_bytes());
            }
        }
        for (_, group) in &tx.inner_instructions {
            for ix in group {
                if let Some(k) = tx.account_keys.get(usize::from(ix.program_id_index)) {
                    programs.insert(k.to_bytes());
                }
            }
        }
    }
    let addresses: HashSet<[u8; 32]> = transactions
        .iter()
        .flat_map(|t| t.account_keys.iter().map(|k| k.to_bytes()))
        .filter(|k| !programs.contains(k))
        .collect();

    let mut out = Vec::new();
    for copy in copies {
        let mask = |len: usize, salt: u64| -> Vec<u8> {
            // splitmix64 stream seeded by the copy
            let mut state = copy.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
            (0..len)
                .map(|_| {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    (z ^ (z >> 31)) as u8
                })
                .collect()
        };
        let key_mask = mask(32, 1);
        let signature_mask = mask(64, 2);
        let map: HashMap<[u8; 32], [u8; 32]> = addresses
            .iter()
            .map(|k| {
                let mut new = *k;
                new.iter_mut().zip(&key_mask).for_each(|(b, m)| *b ^= m);
                (*k, new)
            })
            .collect();
        let rekey = |k: &anchor_lang::prelude::Pubkey| match map.get(&k.to_bytes()) {
            Some(new) => anchor_lang::prelude::Pubkey::new_from_array(*new),
            None => *k,
        };
        let rewrite = |data: &[u8]| -> Vec<u8> {
            let mut data = data.to_vec();
            let mut i = 0;
            while i + 32 <= data.len() {
                let window: [u8; 32] = data[i..i + 32].try_into().unwrap_or([0; 32]);
                if let Some(new) = map.get(&window) {
                    data[i..i + 32].copy_from_slice(new);
                    i += 32;
                } else {
                    i += 1;
                }
            }
            data
        };
        for tx in transactions {
            let mut t = tx.clone();
            t.account_keys = tx.account_keys.iter().map(rekey).collect();
            t.transaction.message.account_keys = t.account_keys.clone();
            for signature in &mut t.transaction.signatures {
                let mut bytes = [0u8; 64];
                bytes.copy_from_slice(signature.as_ref());
                bytes
                    .iter_mut()
                    .zip(&signature_mask)
                    .for_each(|(b, m)| *b ^= m);
                *signature = bytes.into();
            }
            t.signature = t.transaction.signatures[0].to_string();
            for (_, group) in &mut t.inner_instructions {
                for ix in group {
                    ix.data = rewrite(&ix.data);
                }
            }
            out.push(t);
        }
    }
    out
}
