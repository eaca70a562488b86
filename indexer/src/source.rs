//! The Yellowstone gRPC source: the subscription request, and Geyser updates turned into
//! decoded transactions and slot statuses.

use std::collections::HashMap;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use futures::channel::mpsc;
use prost::Message as _;
use tonic::codec::Streaming;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use yellowstone_grpc_client::{GeyserGrpcClient, InterceptorXToken};
use yellowstone_grpc_proto::geyser::{
    CommitmentLevel, GetSlotRequest, GetSlotResponse, SlotStatus as ProtoSlotStatus,
    SubscribeRequest, SubscribeRequestFilterSlots, SubscribeRequestFilterTransactions,
    SubscribeUpdate,
};

use crate::decode::{decode_or_record, CompiledInstruction, InnerInstructions, TransactionView};
use crate::sink::{Commitment, IndexedTransaction, SlotStatus, SlotUpdate, Source};
use crate::wire;

/// The suite's program ids, whose transactions the indexer subscribes to.
pub use crate::events::suite_programs;

/// What one stream message means to the indexer.
#[derive(Debug, Clone)]
pub enum Update {
    /// A successful transaction touching a suite program, decoded.
    Transaction(Box<IndexedTransaction>),
    /// A slot reached a commitment or died.
    Slot(SlotUpdate),
    /// The server pinged; answer to keep the stream open.
    Ping,
    /// Nothing the indexer keeps (failed or vote transaction, other slot statuses, pongs).
    Skip,
}

/// Why the source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The endpoint or token is invalid, or the connection failed.
    #[error("connect: {0}")]
    Connect(String),
    /// The server answered the subscription with an error.
    #[error("subscribe: {0}")]
    Subscribe(#[from] tonic::Status),
}

/// Connection settings of the gRPC source.
#[derive(Debug, Clone)]
pub struct GrpcSettings {
    /// `http(s)://host:port`.
    pub endpoint: String,
    /// `x-token` header, if the endpoint wants one.
    pub x_token: Option<String>,
    /// Commitment of the subscription.
    pub commitment: Commitment,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Programs whose transactions to stream.
    pub programs: Vec<Pubkey>,
}

/// The subscription request: successful non-vote transactions that mention any of
/// `programs`, every slot status, at `commitment`, replayed from `from_slot` if given.
pub fn subscribe_request(
    programs: &[Pubkey],
    commitment: Commitment,
    from_slot: Option<u64>,
) -> SubscribeRequest {
    let transactions = SubscribeRequestFilterTransactions {
        vote: Some(false),
        failed: Some(false),
        account_include: programs.iter().map(Pubkey::to_string).collect(),
        ..Default::default()
    };
    let slots = SubscribeRequestFilterSlots {
        filter_by_commitment: Some(false),
        interslot_updates: Some(false),
    };
    SubscribeRequest {
        transactions: HashMap::from([("depin".to_owned(), transactions)]),
        slots: HashMap::from([("depin".to_owned(), slots)]),
        commitment: Some(level(commitment) as i32),
        from_slot,
        ..Default::default()
    }
}

/// Geyser's name of `commitment`.
fn level(commitment: Commitment) -> CommitmentLevel {
    match commitment {
        Commitment::Processed => CommitmentLevel::Processed,
        Commitment::Confirmed => CommitmentLevel::Confirmed,
        Commitment::Finalized => CommitmentLevel::Finalized,
    }
}

/// A gRPC client of a Geyser endpoint, with its `x-token` header.
pub type GeyserChannel = tonic::client::Grpc<InterceptedService<Channel, InterceptorXToken>>;

/// An open subscription: the client that keeps its connection, the sender of further
/// requests (a ping's answer), and the stream of updates, decoded as [`wire`] messages.
pub struct Subscription {
    /// The gRPC client; the connection lives as long as it does.
    pub client: GeyserChannel,
    /// Requests sent on the open subscription.
    pub requests: mpsc::UnboundedSender<SubscribeRequest>,
    /// The updates.
    pub updates: Streaming<wire::SubscribeUpdate>,
}

/// The method [`subscribe`] calls (`geyser.proto`'s `Geyser.Subscribe`).
const SUBSCRIBE_PATH: &str = "/geyser.Geyser/Subscribe";

/// The method [`endpoint_slot`] calls (`Geyser.GetSlot`).
const GET_SLOT_PATH: &str = "/geyser.Geyser/GetSlot";

/// The endpoint's current slot at `commitment` (`Geyser.GetSlot`), asked on a
/// subscription's connection ([`Subscription::client`]).
pub async fn endpoint_slot(
    client: &mut GeyserChannel,
    commitment: Commitment,
) -> Result<u64, tonic::Status> {
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::unavailable(connect_error(&e)))?;
    let request = GetSlotRequest {
        commitment: Some(level(commitment) as i32),
    };
    let response = client
        .unary(
            tonic::Request::new(request),
            tonic::codegen::http::uri::PathAndQuery::from_static(GET_SLOT_PATH),
            tonic_prost::ProstCodec::<GetSlotRequest, GetSlotResponse>::default(),
        )
        .await?;
    Ok(response.into_inner().slot)
}

/// Opens a subscription. The connection is configured as yellowstone-grpc-client's builder
/// configures it (its endpoint, `x-token` header, connect timeout); the updates are decoded
/// as [`wire::SubscribeUpdate`], which reads only what the indexer uses.
pub async fn subscribe(
    settings: &GrpcSettings,
    from_slot: Option<u64>,
) -> Result<Subscription, SourceError> {
    let (endpoint, interceptor) = connection(settings)?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| SourceError::Connect(connect_error(&e)))?;
    let mut client = tonic::client::Grpc::new(InterceptedService::new(channel, interceptor))
        .max_decoding_message_size(64 * 1024 * 1024);
    client
        .ready()
        .await
        .map_err(|e| SourceError::Connect(connect_error(&e)))?;
    let (requests, queued) = mpsc::unbounded();
    requests
        .unbounded_send(subscribe_request(
            &settings.programs,
            settings.commitment,
            from_slot,
        ))
        .map_err(|e| SourceError::Connect(e.to_string()))?;
    let updates = client
        .streaming(
            tonic::Request::new(queued),
            tonic::codegen::http::uri::PathAndQuery::from_static(SUBSCRIBE_PATH),
            tonic_prost::ProstCodec::<SubscribeRequest, wire::SubscribeUpdate>::default(),
        )
        .await?
        .into_inner();
    Ok(Subscription {
        client,
        requests,
        updates,
    })
}

/// The endpoint to connect to and the interceptor adding the `x-token` header, as
/// yellowstone-grpc-client's builder makes them (HTTP/2 adaptive window, TLS for `https`).
fn connection(settings: &GrpcSettings) -> Result<(Endpoint, InterceptorXToken), SourceError> {
    let builder = GeyserGrpcClient::build_from_shared(settings.endpoint.clone())
        .map_err(|e| SourceError::Connect(e.to_string()))?
        .x_token(settings.x_token.clone())
        .map_err(|e| SourceError::Connect(e.to_string()))?
        .connect_timeout(settings.connect_timeout);
    let interceptor = InterceptorXToken {
        x_token: builder.x_token,
        x_request_snapshot: false,
    };
    Ok((builder.endpoint, interceptor))
}

/// A transport error with its causes ("transport error" alone says nothing).
fn connect_error(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether `status` says the server cannot replay from the requested slot, so the gap must
/// be backfilled another way. Dragon's Mouth answers a `from_slot` older than its window
/// with "broadcast from {slot} is not available, last available: {first}" as the stream's
/// first item (`OutOfRange`; `Internal` in older releases), and "from_slot is not
/// supported" when it keeps no replay buffer at all.
pub fn is_replay_unavailable(status: &tonic::Status) -> bool {
    let message = status.message();
    matches!(
        status.code(),
        tonic::Code::OutOfRange | tonic::Code::Internal | tonic::Code::InvalidArgument
    ) && (message.contains("is not available") || message.contains("from_slot is not supported"))
}

/// What `update` means to the indexer.
pub fn convert(update: wire::SubscribeUpdate) -> Update {
    match update.update {
        Some(wire::UpdateKind::Transaction(tx)) => match tx.transaction {
            Some(info) => match indexed_transaction(info, tx.slot) {
                Some(t) => Update::Transaction(Box::new(t)),
                None => Update::Skip,
            },
            None => Update::Skip,
        },
        Some(wire::UpdateKind::Slot(slot)) => {
            let status = match ProtoSlotStatus::try_from(slot.status) {
                Ok(ProtoSlotStatus::SlotProcessed) => SlotStatus::Reached(Commitment::Processed),
                Ok(ProtoSlotStatus::SlotConfirmed) => SlotStatus::Reached(Commitment::Confirmed),
                Ok(ProtoSlotStatus::SlotFinalized) => SlotStatus::Reached(Commitment::Finalized),
                Ok(ProtoSlotStatus::SlotDead) => SlotStatus::Dead,
                _ => return Update::Skip,
            };
            Update::Slot(SlotUpdate {
                slot: slot.slot,
                parent: slot.parent,
                status,
            })
        }
        Some(wire::UpdateKind::Ping(_)) => Update::Ping,
        None => Update::Skip,
    }
}

/// What a full generated `update` means to the indexer, read as the stream reads it: encoded,
/// then decoded as a [`wire::SubscribeUpdate`]. For updates built in memory (tests, the
/// benchmark's prepared load); the stream itself never holds a full update.
pub fn convert_update(update: &SubscribeUpdate) -> Result<Update, prost::DecodeError> {
    wire::SubscribeUpdate::decode(update.encode_to_vec().as_slice()).map(convert)
}

fn pubkey(bytes: &[u8]) -> Result<Pubkey, String> {
    <[u8; 32]>::try_from(bytes)
        .map(Pubkey::new_from_array)
        .map_err(|_| format!("account key of {} bytes", bytes.len()))
}

/// A Geyser transaction decoded; `None` for failed and vote transactions. A transaction
/// whose shape is broken (bad key length, missing message) comes back with the reason as a
/// decode failure, so it is recorded rather than dropped.
pub fn indexed_transaction(info: wire::TransactionInfo, slot: u64) -> Option<IndexedTransaction> {
    if info.is_vote {
        return None;
    }
    if info.meta.as_ref().is_some_and(|m| m.err.is_some()) {
        return None;
    }
    let signature = signature_text(&info.signature);
    let tx_index = info.index;
    let decoded = decode_or_record(transaction_view(info));
    Some(IndexedTransaction {
        signature,
        slot,
        tx_index,
        source: Source::Grpc,
        decoded,
    })
}

/// The base58 text of a signature (a wrong length, which [`transaction_view`] records as a
/// decode failure, is encoded as it is).
fn signature_text(signature: &[u8]) -> String {
    match <&[u8; 64]>::try_from(signature) {
        Ok(bytes) => {
            let mut out = [0u8; five8::BASE58_ENCODED_64_MAX_LEN];
            let len = usize::from(five8::encode_64(bytes, &mut out));
            // base58 digits are ASCII
            String::from_utf8_lossy(&out[..len]).into_owned()
        }
        Err(_) => bs58::encode(signature).into_string(),
    }
}

/// The parts of `info` decoding reads, moved out of it (the update is not used again).
fn transaction_view(info: wire::TransactionInfo) -> Result<TransactionView, String> {
    if info.signature.len() != 64 {
        return Err(format!("signature of {} bytes", info.signature.len()));
    }
    let message = info
        .transaction
        .and_then(|t| t.message)
        .ok_or("transaction without a message")?;
    let meta = info.meta.ok_or("transaction without status meta")?;
    let mut account_keys = Vec::with_capacity(
        message.account_keys.len()
            + meta.loaded_writable_addresses.len()
            + meta.loaded_readonly_addresses.len(),
    );
    for key in message
        .account_keys
        .iter()
        .chain(&meta.loaded_writable_addresses)
        .chain(&meta.loaded_readonly_addresses)
    {
        account_keys.push(pubkey(key)?);
    }
    let mut inner_instructions = Vec::with_capacity(meta.inner_instructions.len());
    for group in meta.inner_instructions {
        let index = u8::try_from(group.index)
            .map_err(|_| format!("inner instructions of instruction {}", group.index))?;
        let mut instructions = Vec::with_capacity(group.instructions.len());
        for ix in group.instructions {
            instructions.push(CompiledInstruction {
                program_id_index: u8::try_from(ix.program_id_index)
                    .map_err(|_| format!("program index {}", ix.program_id_index))?,
                data: ix.data.to_vec(),
            });
        }
        inner_instructions.push(InnerInstructions {
            index,
            instructions,
        });
    }
    Ok(TransactionView {
        account_keys,
        inner_instructions,
        log_messages: meta.log_messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_read_as_base58_like_any_encoder_writes_them() {
        // leading zero bytes are leading '1's; the largest value; a typical one; a wrong length
        let mut samples = vec![vec![0u8; 64], vec![255u8; 64], vec![0, 0, 7, 1, 2, 3]];
        let mut leading = vec![0u8; 3];
        leading.extend((0..61u8).map(|i| i.wrapping_mul(37).wrapping_add(11)));
        samples.push(leading);
        samples.push((0..64u8).map(|i| i.wrapping_mul(101)).collect());
        for bytes in samples {
            assert_eq!(signature_text(&bytes), bs58::encode(&bytes).into_string());
        }
    }

    #[test]
    fn the_token_goes_in_every_requests_header_and_a_bad_one_is_refused() {
        use tonic::service::Interceptor;

        let mut settings = GrpcSettings {
            endpoint: "http://127.0.0.1:10000".to_owned(),
            x_token: Some("secret-token".to_owned()),
            commitment: Commitment::Confirmed,
            connect_timeout: Duration::from_secs(1),
            programs: suite_programs().to_vec(),
        };
        let (endpoint, mut interceptor) = connection(&settings).expect("valid settings");
        assert_eq!(endpoint.uri().port_u16(), Some(10000));
        let request = interceptor
            .call(tonic::Request::new(()))
            .expect("intercepted");
        assert_eq!(
            request.metadata().get("x-token").map(|v| v.to_str().ok()),
            Some(Some("secret-token"))
        );
        settings.x_token = None;
        let (_, mut interceptor) = connection(&settings).expect("valid settings");
        let request = interceptor
            .call(tonic::Request::new(()))
            .expect("intercepted");
        assert!(request.metadata().get("x-token").is_none());
        // a header cannot carry a line break; an endpoint must be a URI
        settings.x_token = Some("line\nbreak".to_owned());
        assert!(matches!(
            connection(&settings),
            Err(SourceError::Connect(_))
        ));
        settings.x_token = None;
        settings.endpoint = "not a uri".to_owned();
        assert!(matches!(
            connection(&settings),
            Err(SourceError::Connect(_))
        ));
    }

    #[test]
    fn replay_refusals_are_recognized_and_other_errors_are_not() {
        let refused = "broadcast from 450649411 is not available, last available: 450649417";
        assert!(is_replay_unavailable(&tonic::Status::out_of_range(refused)));
        assert!(is_replay_unavailable(&tonic::Status::internal(refused)));
        assert!(is_replay_unavailable(&tonic::Status::internal(
            "from_slot is not supported"
        )));
        assert!(!is_replay_unavailable(&tonic::Status::unavailable(refused)));
        assert!(!is_replay_unavailable(&tonic::Status::internal(
            "connection reset"
        )));
    }

    #[test]
    fn the_request_filters_successful_suite_transactions_and_every_slot() {
        let request = subscribe_request(&suite_programs(), Commitment::Processed, Some(7));
        let filter = &request.transactions["depin"];
        assert_eq!((filter.vote, filter.failed), (Some(false), Some(false)));
        assert_eq!(filter.account_include.len(), 5);
        assert_eq!(request.slots["depin"].filter_by_commitment, Some(false));
        assert_eq!(request.from_slot, Some(7));
        assert_eq!(request.commitment, Some(CommitmentLevel::Processed as i32));
    }
}
