//! A landed transaction in the shapes clients read: the JSON-RPC `getTransaction`/`getBlock`
//! encodings (built from the RPC's own client types, so a client parses them as it parses a
//! validator's) and the Yellowstone Geyser update.

use base64::Engine;
use solana_message::VersionedMessage;
use solana_transaction::versioned::TransactionVersion;
use solana_transaction_status_client_types::{
    EncodedTransaction, EncodedTransactionWithStatusMeta, TransactionBinaryEncoding,
    UiCompiledInstruction, UiInnerInstructions, UiInstruction, UiLoadedAddresses, UiMessage,
    UiRawMessage, UiTransaction, UiTransactionEncoding, UiTransactionStatusMeta,
};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{
    SlotStatus, SubscribeUpdate, SubscribeUpdateSlot, SubscribeUpdateTransaction,
    SubscribeUpdateTransactionInfo,
};
use yellowstone_grpc_proto::solana::storage::confirmed_block as pb;

use crate::ledger::Landed;

/// The status meta of `tx` as JSON-RPC gives it.
pub fn ui_meta(tx: &Landed) -> UiTransactionStatusMeta {
    use solana_transaction_status_client_types::option_serializer::OptionSerializer;
    let inner = tx
        .inner
        .iter()
        .map(|(index, group)| UiInnerInstructions {
            index: *index,
            instructions: group
                .iter()
                .map(|ix| {
                    UiInstruction::Compiled(UiCompiledInstruction {
                        program_id_index: ix.program_id_index,
                        accounts: ix.accounts.clone(),
                        data: bs58::encode(&ix.data).into_string(),
                        stack_height: ix.stack_height,
                    })
                })
                .collect(),
        })
        .collect();
    UiTransactionStatusMeta {
        err: tx.err.clone().map(Into::into),
        status: match &tx.err {
            None => Ok(()),
            Some(e) => Err(e.clone().into()),
        },
        fee: tx.fee,
        pre_balances: tx.pre_balances.clone(),
        post_balances: tx.post_balances.clone(),
        inner_instructions: OptionSerializer::Some(inner),
        log_messages: OptionSerializer::Some(tx.logs.clone()),
        pre_token_balances: OptionSerializer::Some(Vec::new()),
        post_token_balances: OptionSerializer::Some(Vec::new()),
        rewards: OptionSerializer::Some(Vec::new()),
        loaded_addresses: OptionSerializer::Some(UiLoadedAddresses {
            writable: tx.loaded.0.iter().map(ToString::to_string).collect(),
            readonly: tx.loaded.1.iter().map(ToString::to_string).collect(),
        }),
        return_data: OptionSerializer::Skip,
        compute_units_consumed: OptionSerializer::Some(tx.units),
        cost_units: OptionSerializer::Skip,
    }
}

/// `tx` in `encoding` (`json`, `base64` or `base58`), or `None` for an encoding not served.
pub fn encoded(
    tx: &Landed,
    encoding: UiTransactionEncoding,
) -> Option<EncodedTransactionWithStatusMeta> {
    let bytes = || bincode::serialize(&tx.transaction).ok();
    let transaction = match encoding {
        UiTransactionEncoding::Json => {
            let message = &tx.transaction.message;
            let header = *message.header();
            EncodedTransaction::Json(UiTransaction {
                signatures: tx
                    .transaction
                    .signatures
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                message: UiMessage::Raw(UiRawMessage {
                    header,
                    account_keys: message
                        .static_account_keys()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    recent_blockhash: message.recent_blockhash().to_string(),
                    instructions: message
                        .instructions()
                        .iter()
                        .map(|ix| UiCompiledInstruction::from(ix, Some(1)))
                        .collect(),
                    address_table_lookups: message.address_table_lookups().map(|lookups| {
                        lookups
                            .iter()
                            .map(
                                |l| solana_transaction_status_client_types::UiAddressTableLookup {
                                    account_key: l.account_key.to_string(),
                                    writable_indexes: l.writable_indexes.clone(),
                                    readonly_indexes: l.readonly_indexes.clone(),
                                },
                            )
                            .collect()
                    }),
                }),
            })
        }
        UiTransactionEncoding::Base64 => EncodedTransaction::Binary(
            base64::engine::general_purpose::STANDARD.encode(bytes()?),
            TransactionBinaryEncoding::Base64,
        ),
        UiTransactionEncoding::Base58 => EncodedTransaction::Binary(
            bs58::encode(bytes()?).into_string(),
            TransactionBinaryEncoding::Base58,
        ),
        _ => return None,
    };
    Some(EncodedTransactionWithStatusMeta {
        transaction,
        meta: Some(ui_meta(tx)),
        version: Some(match tx.transaction.message {
            VersionedMessage::Legacy(_) => TransactionVersion::LEGACY,
            VersionedMessage::V0(_) => TransactionVersion::Number(0),
        }),
    })
}

/// The Geyser transaction update of `tx`.
pub fn transaction_update(tx: &Landed) -> SubscribeUpdate {
    let message = &tx.transaction.message;
    let header = message.header();
    let inner_instructions = tx
        .inner
        .iter()
        .map(|(index, group)| pb::InnerInstructions {
            index: u32::from(*index),
            instructions: group
                .iter()
                .map(|ix| pb::InnerInstruction {
                    program_id_index: u32::from(ix.program_id_index),
                    accounts: ix.accounts.clone(),
                    data: ix.data.clone(),
                    stack_height: ix.stack_height,
                })
                .collect(),
        })
        .collect();
    let info = SubscribeUpdateTransactionInfo {
        signature: tx.signature.as_ref().to_vec(),
        is_vote: false,
        transaction: Some(pb::Transaction {
            signatures: tx
                .transaction
                .signatures
                .iter()
                .map(|s| s.as_ref().to_vec())
                .collect(),
            message: Some(pb::Message {
                header: Some(pb::MessageHeader {
                    num_required_signatures: u32::from(header.num_required_signatures),
                    num_readonly_signed_accounts: u32::from(header.num_readonly_signed_accounts),
                    num_readonly_unsigned_accounts: u32::from(
                        header.num_readonly_unsigned_accounts,
                    ),
                }),
                account_keys: message
                    .static_account_keys()
                    .iter()
                    .map(|k| k.to_bytes().to_vec())
                    .collect(),
                recent_blockhash: message.recent_blockhash().to_bytes().to_vec(),
                instructions: message
                    .instructions()
                    .iter()
                    .map(|ix| pb::CompiledInstruction {
                        program_id_index: u32::from(ix.program_id_index),
                        accounts: ix.accounts.clone(),
                        data: ix.data.clone(),
                    })
                    .collect(),
                versioned: matches!(message, VersionedMessage::V0(_)),
                address_table_lookups: message
                    .address_table_lookups()
                    .unwrap_or_default()
                    .iter()
                    .map(|l| pb::MessageAddressTableLookup {
                        account_key: l.account_key.to_bytes().to_vec(),
                        writable_indexes: l.writable_indexes.clone(),
                        readonly_indexes: l.readonly_indexes.clone(),
                    })
                    .collect(),
                config: None,
            }),
        }),
        meta: Some(pb::TransactionStatusMeta {
            err: tx.err.as_ref().map(|e| pb::TransactionError {
                err: bincode::serialize(e).unwrap_or_default(),
            }),
            fee: tx.fee,
            pre_balances: tx.pre_balances.clone(),
            post_balances: tx.post_balances.clone(),
            inner_instructions,
            inner_instructions_none: false,
            log_messages: tx.logs.clone(),
            log_messages_none: false,
            loaded_writable_addresses: tx.loaded.0.iter().map(|k| k.to_bytes().to_vec()).collect(),
            loaded_readonly_addresses: tx.loaded.1.iter().map(|k| k.to_bytes().to_vec()).collect(),
            compute_units_consumed: Some(tx.units),
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
pub fn slot_update(slot: u64, parent: Option<u64>, status: SlotStatus) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: vec!["depin".into()],
        update_oneof: Some(UpdateOneof::Slot(SubscribeUpdateSlot {
            slot,
            parent,
            status: status as i32,
            dead_error: None,
            bank_id: None,
        })),
        ..Default::default()
    }
}
