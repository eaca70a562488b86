//! The parts of a Yellowstone `SubscribeUpdate` the indexer reads, as protobuf messages of
//! their own.
//!
//! Each message here keeps the field numbers of `geyser.proto` and `solana-storage.proto`
//! (yellowstone-grpc-proto 14) for the fields decoding needs and leaves out the rest, so
//! protobuf skips them on the wire instead of building them: balances, token balances,
//! rewards, top-level instructions, instruction accounts, the header and blockhash, and the
//! update kinds the subscription never asks for. Bytes and log lines are slices of the
//! received frame ([`Bytes`]), not copies; a log line is bytes, read as ASCII where it
//! matters (a line that is not UTF-8 is no reason to drop the stream).
//!
//! The test `wire_decoding_reads_what_the_full_messages_hold` (tests/pipeline.rs) encodes
//! every update of the scenario with the full generated types and checks that these read
//! the same values.

use bytes::Bytes;

/// `geyser.SubscribeUpdate`: only the update kinds the indexer acts on.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeUpdate {
    /// `update_oneof`: a slot status, a transaction, or a ping; `None` for any other kind.
    #[prost(oneof = "UpdateKind", tags = "3, 4, 6")]
    pub update: Option<UpdateKind>,
}

/// The kinds of `geyser.SubscribeUpdate.update_oneof` the indexer reads.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum UpdateKind {
    /// `slot = 3`.
    #[prost(message, tag = "3")]
    Slot(SlotUpdate),
    /// `transaction = 4`.
    #[prost(message, tag = "4")]
    Transaction(TransactionUpdate),
    /// `ping = 6`.
    #[prost(message, tag = "6")]
    Ping(Empty),
}

/// A message whose fields are not read (`SubscribeUpdatePing`, `TransactionError`): only
/// its presence counts.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// `geyser.SubscribeUpdateSlot`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SlotUpdate {
    /// `slot = 1`.
    #[prost(uint64, tag = "1")]
    pub slot: u64,
    /// `parent = 2`.
    #[prost(uint64, optional, tag = "2")]
    pub parent: Option<u64>,
    /// `status = 3` (`geyser.SlotStatus`).
    #[prost(int32, tag = "3")]
    pub status: i32,
}

/// `geyser.SubscribeUpdateTransaction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TransactionUpdate {
    /// `transaction = 1`.
    #[prost(message, optional, tag = "1")]
    pub transaction: Option<TransactionInfo>,
    /// `slot = 2`.
    #[prost(uint64, tag = "2")]
    pub slot: u64,
}

/// `geyser.SubscribeUpdateTransactionInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TransactionInfo {
    /// `signature = 1`.
    #[prost(bytes = "bytes", tag = "1")]
    pub signature: Bytes,
    /// `is_vote = 2`.
    #[prost(bool, tag = "2")]
    pub is_vote: bool,
    /// `transaction = 3`.
    #[prost(message, optional, tag = "3")]
    pub transaction: Option<Transaction>,
    /// `meta = 4`.
    #[prost(message, optional, tag = "4")]
    pub meta: Option<TransactionMeta>,
    /// `index = 5`.
    #[prost(uint64, tag = "5")]
    pub index: u64,
}

/// `solana.storage.ConfirmedBlock.Transaction`: its message only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Transaction {
    /// `message = 2`.
    #[prost(message, optional, tag = "2")]
    pub message: Option<Message>,
}

/// `solana.storage.ConfirmedBlock.Message`: its static account keys only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    /// `account_keys = 2`.
    #[prost(bytes = "bytes", repeated, tag = "2")]
    pub account_keys: Vec<Bytes>,
}

/// `solana.storage.ConfirmedBlock.TransactionStatusMeta`: what finding events needs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TransactionMeta {
    /// `err = 1`: present when the transaction failed.
    #[prost(message, optional, tag = "1")]
    pub err: Option<Empty>,
    /// `inner_instructions = 5`.
    #[prost(message, repeated, tag = "5")]
    pub inner_instructions: Vec<InnerInstructions>,
    /// `log_messages = 6` (`string` on the wire, read as bytes).
    #[prost(bytes = "bytes", repeated, tag = "6")]
    pub log_messages: Vec<Bytes>,
    /// `loaded_writable_addresses = 12`.
    #[prost(bytes = "bytes", repeated, tag = "12")]
    pub loaded_writable_addresses: Vec<Bytes>,
    /// `loaded_readonly_addresses = 13`.
    #[prost(bytes = "bytes", repeated, tag = "13")]
    pub loaded_readonly_addresses: Vec<Bytes>,
}

/// `solana.storage.ConfirmedBlock.InnerInstructions`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InnerInstructions {
    /// `index = 1`.
    #[prost(uint32, tag = "1")]
    pub index: u32,
    /// `instructions = 2`.
    #[prost(message, repeated, tag = "2")]
    pub instructions: Vec<InnerInstruction>,
}

/// `solana.storage.ConfirmedBlock.InnerInstruction`: program and data, not its accounts.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InnerInstruction {
    /// `program_id_index = 1`.
    #[prost(uint32, tag = "1")]
    pub program_id_index: u32,
    /// `data = 3`.
    #[prost(bytes = "bytes", tag = "3")]
    pub data: Bytes,
}
