//! A Geyser gRPC server on loopback, speaking the real Yellowstone protocol (the server
//! trait `yellowstone-grpc-proto` generates), fed with updates by its owner: the localnet as
//! its chain advances, or a test replaying a recorded chain.
//!
//! It keeps the updates of its replay window; a subscription with `from_slot` is replayed
//! from that slot when it is inside the window, and refused the way Dragon's Mouth refuses it
//! when it is older (an `OutOfRange` status as the stream's first item). Filters honoured:
//! transactions by `account_include`, `vote` and `failed`. The unary calls (`GetSlot`,
//! `GetBlockHeight`, `GetLatestBlockhash`, `IsBlockhashValid`) answer from the tip its owner
//! sets with [`GeyserFeed::set_tip`]; without one, only `GetSlot` is served.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use tonic::{Request, Response, Status, Streaming};
use yellowstone_grpc_proto::geyser::geyser_server::{Geyser, GeyserServer};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::*;

type UpdateStream = Pin<Box<dyn Stream<Item = Result<SubscribeUpdate, Status>> + Send>>;

/// What the unary calls answer: the chain's newest state, set by the feed's owner.
#[derive(Debug, Clone, Default)]
pub struct Tip {
    /// Slot per commitment: processed, confirmed, finalized.
    pub slots: [u64; 3],
    /// Block height per commitment, in the same order.
    pub block_heights: [u64; 3],
    /// The latest blockhash (base58) and the last block height it is valid at.
    pub latest_blockhash: (String, u64),
    /// Every blockhash (base58) a transaction may still use.
    pub valid_blockhashes: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct State {
    history: std::collections::VecDeque<SubscribeUpdate>,
    tip: Option<Tip>,
    disconnect_lagging: bool,
    first_replayable: u64,
    /// Pushed updates are not kept for replay (see [`GeyserFeed::without_replay`]).
    no_replay: bool,
    /// The newest slot pushed (what `GetSlot` answers without a tip).
    newest_slot: u64,
    /// `GetSlot` is refused (see [`GeyserFeed::without_get_slot`]).
    no_get_slot: bool,
    subscribers: Vec<Subscriber>,
    subscriptions: u64,
    /// Raw signatures and when they were sent (encoded to base58 only when read, so the
    /// bookkeeping costs the feed little).
    sent: Vec<(Vec<u8>, Instant)>,
    record_send_times: bool,
}

struct Subscriber {
    filter: Filter,
    tx: mpsc::Sender<Result<SubscribeUpdate, Status>>,
    // dropping it ends the subscription's stream
    _alive: oneshot::Sender<()>,
}

#[derive(Clone, Default)]
struct Filter {
    accounts: HashSet<Vec<u8>>,
    vote: Option<bool>,
    failed: Option<bool>,
}

impl Filter {
    fn of(request: &SubscribeRequest) -> Self {
        let mut filter = Filter::default();
        for f in request.transactions.values() {
            for account in &f.account_include {
                if let Ok(bytes) = bs58::decode(account).into_vec() {
                    filter.accounts.insert(bytes);
                }
            }
            filter.vote = f.vote;
            filter.failed = f.failed;
        }
        filter
    }

    fn passes(&self, update: &SubscribeUpdate) -> bool {
        let Some(UpdateOneof::Transaction(tx)) = &update.update_oneof else {
            return true;
        };
        let Some(info) = &tx.transaction else {
            return true;
        };
        if self.vote.is_some_and(|v| v != info.is_vote) {
            return false;
        }
        let failed = info.meta.as_ref().is_some_and(|m| m.err.is_some());
        if self.failed.is_some_and(|f| f != failed) {
            return false;
        }
        if self.accounts.is_empty() {
            return true;
        }
        let keys = info
            .transaction
            .as_ref()
            .and_then(|t| t.message.as_ref())
            .map(|m| m.account_keys.as_slice())
            .unwrap_or_default();
        keys.iter().any(|k| self.accounts.contains(k))
    }
}

/// Slot of an update (transactions and slot statuses; 0 otherwise).
pub fn update_slot(update: &SubscribeUpdate) -> u64 {
    match &update.update_oneof {
        Some(UpdateOneof::Transaction(t)) => t.slot,
        Some(UpdateOneof::Slot(s)) => s.slot,
        _ => 0,
    }
}

fn signature_of(update: &SubscribeUpdate) -> Option<Vec<u8>> {
    match &update.update_oneof {
        Some(UpdateOneof::Transaction(t)) => t.transaction.as_ref().map(|i| i.signature.clone()),
        _ => None,
    }
}

#[derive(Clone)]
struct Service {
    state: Arc<Mutex<State>>,
}

/// The running server.
pub struct GeyserFeed {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
}

impl GeyserFeed {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts listening on `addr`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let service = Service {
            state: Arc::clone(&state),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(GeyserServer::new(service).max_decoding_message_size(64 << 20))
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(GeyserFeed {
            addr,
            state,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Keeps `update` and sends it to every live subscription whose filter it passes. By
    /// default it waits while a subscriber's queue is full (a slow client slows the feed
    /// down instead of losing updates: what a test replaying a chain wants); after
    /// [`GeyserFeed::disconnect_lagging`] it never waits, and a subscriber whose queue is
    /// full is disconnected instead, as Dragon's Mouth drops a lagging client, which then
    /// reconnects and replays from its last slot.
    pub async fn push(&self, update: SubscribeUpdate) {
        let targets: Vec<_> = {
            let mut state = lock(&self.state);
            let slot = update_slot(&update);
            state.newest_slot = state.newest_slot.max(slot);
            if state.no_replay {
                state.first_replayable = state.first_replayable.max(slot.saturating_add(1));
            } else {
                state.history.push_back(update.clone());
            }
            state.subscribers.retain(|s| !s.tx.is_closed());
            if state.record_send_times {
                if let Some(sig) = signature_of(&update) {
                    state.sent.push((sig, Instant::now()));
                }
            }
            if state.disconnect_lagging {
                // a full queue is a lagging client: dropping its sender ends its stream
                state.subscribers.retain(|s| {
                    !s.filter.passes(&update) || s.tx.try_send(Ok(update.clone())).is_ok()
                });
                return;
            }
            state
                .subscribers
                .iter()
                .filter(|s| s.filter.passes(&update))
                .map(|s| s.tx.clone())
                .collect()
        };
        // every target but the last gets a copy; the last gets the update itself
        let mut targets = targets.into_iter().peekable();
        while let Some(tx) = targets.next() {
            if targets.peek().is_some() {
                let _ = tx.send(Ok(update.clone())).await;
            } else {
                let _ = tx.send(Ok(update)).await;
                break;
            }
        }
    }

    /// From now on, never wait for a subscriber: disconnect one whose queue is full (for a
    /// feed whose owner must not stall, like the localnet's slot clock).
    pub fn disconnect_lagging(&self) {
        lock(&self.state).disconnect_lagging = true;
    }

    /// Keeps no updates from now on and drops those kept, so a subscription can only start
    /// live: one asking `from_slot` at or before the newest slot pushed is refused as out of
    /// range. For a feed nobody resumes from, such as a benchmark's load, whose history
    /// would otherwise be a copy of every update it sends.
    pub fn without_replay(&self) {
        let mut state = lock(&self.state);
        state.no_replay = true;
        state.history.clear();
        state.first_replayable = state
            .first_replayable
            .max(state.newest_slot.saturating_add(1));
    }

    /// Slots below `slot` can no longer be replayed (`from_slot` before it is refused).
    pub fn forget_before(&self, slot: u64) {
        lock(&self.state).first_replayable = slot;
    }

    /// Drops the kept updates of slots below `slot`: they can no longer be replayed.
    pub fn retain_from(&self, slot: u64) {
        let mut state = lock(&self.state);
        while state.history.front().is_some_and(|u| update_slot(u) < slot) {
            state.history.pop_front();
        }
        state.first_replayable = state.first_replayable.max(slot);
    }

    /// Refuses `GetSlot` from now on (`unimplemented`), as an endpoint serving only
    /// subscriptions would.
    pub fn without_get_slot(&self) {
        lock(&self.state).no_get_slot = true;
    }

    /// Sets what the unary calls answer.
    pub fn set_tip(&self, tip: Tip) {
        lock(&self.state).tip = Some(tip);
    }

    /// Ends every open subscription, as a dropped connection would.
    pub fn disconnect_all(&self) {
        lock(&self.state).subscribers.clear();
    }

    /// Subscriptions opened so far.
    pub fn subscriptions(&self) -> u64 {
        lock(&self.state).subscriptions
    }

    /// Records when each transaction update is sent (for latency measurements).
    pub fn record_send_times(&self) {
        lock(&self.state).record_send_times = true;
    }

    /// The recorded send times, by signature.
    pub fn send_times(&self) -> Vec<(String, Instant)> {
        let sent = std::mem::take(&mut lock(&self.state).sent);
        sent.into_iter()
            .map(|(signature, at)| (bs58::encode(signature).into_string(), at))
            .collect()
    }
}

impl Drop for GeyserFeed {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Service {
    fn tip(&self) -> Result<Tip, Status> {
        lock(&self.state)
            .tip
            .clone()
            .ok_or_else(|| Status::unimplemented("this feed has no chain tip"))
    }
}

/// Index into a [`Tip`]'s per-commitment arrays (processed when absent, as Yellowstone does).
fn commitment_index(commitment: Option<i32>) -> usize {
    match commitment.and_then(|c| CommitmentLevel::try_from(c).ok()) {
        Some(CommitmentLevel::Confirmed) => 1,
        Some(CommitmentLevel::Finalized) => 2,
        _ => 0,
    }
}

#[tonic::async_trait]
impl Geyser for Service {
    type SubscribeStream = UpdateStream;
    type SubscribeDeshredStream =
        Pin<Box<dyn Stream<Item = Result<SubscribeUpdateDeshred, Status>> + Send>>;
    type SubscribeGossipStream =
        Pin<Box<dyn Stream<Item = Result<SubscribeUpdateGossip, Status>> + Send>>;

    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let mut inbound = request.into_inner();
        let first = inbound
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no subscribe request"))?;
        let filter = Filter::of(&first);
        let (tx, rx) = mpsc::channel(4096);
        let (alive, killed) = oneshot::channel::<()>();
        let replay: Vec<SubscribeUpdate> = {
            let mut state = lock(&self.state);
            state.subscriptions += 1;
            let replay = match first.from_slot {
                Some(from) if from < state.first_replayable => {
                    // as Dragon's Mouth does: the refusal is the stream's first item
                    let refusal = Status::out_of_range(format!(
                        "broadcast from {from} is not available, last available: {}",
                        state.first_replayable
                    ));
                    let (tx, rx) = mpsc::channel(1);
                    let _ = tx.try_send(Err(refusal));
                    return Ok(Response::new(Box::pin(
                        tokio_stream::wrappers::ReceiverStream::new(rx),
                    )));
                }
                Some(from) => state
                    .history
                    .iter()
                    .filter(|u| update_slot(u) >= from && filter.passes(u))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            state.subscribers.push(Subscriber {
                filter,
                tx: tx.clone(),
                _alive: alive,
            });
            replay
        };
        // later requests on the same stream (pings, filter changes) are read and answered
        let pong_tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(request)) = inbound.message().await {
                if let Some(ping) = request.ping {
                    let pong = SubscribeUpdate {
                        update_oneof: Some(UpdateOneof::Pong(SubscribeUpdatePong { id: ping.id })),
                        ..Default::default()
                    };
                    if pong_tx.send(Ok(pong)).await.is_err() {
                        break;
                    }
                }
            }
        });
        let (out_tx, out_rx) = mpsc::channel(4096);
        tokio::spawn(async move {
            let forward = async {
                for update in replay {
                    if out_tx.send(Ok(update)).await.is_err() {
                        return;
                    }
                }
                let mut rx = rx;
                while let Some(update) = rx.recv().await {
                    if out_tx.send(update).await.is_err() {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = forward => {}
                _ = killed => {}
            }
        });
        drop(tx);
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(out_rx),
        )))
    }

    async fn subscribe_deshred(
        &self,
        _: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented("not served by the test server"))
    }

    async fn subscribe_gossip(
        &self,
        _: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented("not served by the test server"))
    }

    async fn subscribe_replay_info(
        &self,
        _: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        let first = lock(&self.state).first_replayable;
        Ok(Response::new(SubscribeReplayInfoResponse {
            first_available: Some(first),
        }))
    }

    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Ok(Response::new(PongResponse {
            count: request.into_inner().count,
        }))
    }

    async fn get_latest_blockhash(
        &self,
        request: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        let _ = request;
        let tip = self.tip()?;
        Ok(Response::new(GetLatestBlockhashResponse {
            slot: tip.slots[0],
            blockhash: tip.latest_blockhash.0,
            last_valid_block_height: tip.latest_blockhash.1,
        }))
    }

    async fn get_block_height(
        &self,
        request: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        let tip = self.tip()?;
        let at = commitment_index(request.into_inner().commitment);
        Ok(Response::new(GetBlockHeightResponse {
            block_height: tip.block_heights[at],
        }))
    }

    async fn get_slot(
        &self,
        request: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        let state = lock(&self.state);
        if state.no_get_slot {
            return Err(Status::unimplemented("this feed does not answer GetSlot"));
        }
        let slot = match &state.tip {
            Some(tip) => tip.slots[commitment_index(request.into_inner().commitment)],
            None => state.newest_slot,
        };
        Ok(Response::new(GetSlotResponse { slot }))
    }

    async fn is_blockhash_valid(
        &self,
        request: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        let tip = self.tip()?;
        let hash = request.into_inner().blockhash;
        Ok(Response::new(IsBlockhashValidResponse {
            slot: tip.slots[0],
            valid: tip.valid_blockhashes.contains(&hash),
        }))
    }

    async fn get_version(
        &self,
        _: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Ok(Response::new(GetVersionResponse {
            version: concat!("depin-localnet ", env!("CARGO_PKG_VERSION")).into(),
        }))
    }
}
