//! A JSON-RPC server on loopback answering `getSlot`, `getFirstAvailableBlock`,
//! `getSignaturesForAddress`, `getBlock` (signatures only) and `getTransaction` from a chain
//! of recorded transactions, as a Solana RPC node would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::chain::{rpc_transaction, ChainTransaction};

#[derive(Default)]
struct Store {
    chain: Vec<ChainTransaction>,
    calls: u64,
    /// Signatures `getTransaction` answers `null` for, once each (a node behind).
    hidden: Vec<String>,
    /// The slot `getSlot` answers, when set (a node behind); else the chain's last.
    slot: Option<u64>,
    /// Signatures `getBlock` leaves out of their block, once each (answers that disagree).
    out_of_block: Vec<String>,
    /// The oldest slot the node holds (a node whose older history was purged): nothing
    /// older is listed. 0 unless set.
    first_available: u64,
}

/// The running server.
pub struct RpcTestServer {
    addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    stop: Option<oneshot::Sender<()>>,
}

fn answer(id: Value, result: Value) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn error(id: Value, code: i64, message: &str) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

async fn handle(State(store): State<Arc<Mutex<Store>>>, Json(request): Json<Value>) -> Json<Value> {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let params = request.get("params").cloned().unwrap_or(json!([]));
    let mut store = super::lock(&store);
    store.calls += 1;
    match method {
        "getSlot" => answer(
            id,
            json!(store.slot.unwrap_or_else(|| store
                .chain
                .iter()
                .map(|t| t.slot)
                .max()
                .unwrap_or(0))),
        ),
        "getFirstAvailableBlock" => answer(id, json!(store.first_available)),
        "getSignaturesForAddress" => {
            let Some(address) = params.get(0).and_then(Value::as_str) else {
                return error(id, -32602, "address required");
            };
            let options = params.get(1).cloned().unwrap_or(json!({}));
            let limit = options.get("limit").and_then(Value::as_u64).unwrap_or(1000) as usize;
            let before = options.get("before").and_then(Value::as_str);
            // newest first: by slot descending, then block position descending
            let mut matching: Vec<&ChainTransaction> = store
                .chain
                .iter()
                .filter(|t| t.slot >= store.first_available)
                .filter(|t| {
                    t.processed
                        .account_keys
                        .iter()
                        .any(|k| k.to_string() == address)
                })
                .collect();
            matching.sort_by_key(|t| std::cmp::Reverse((t.slot, t.index)));
            let start = match before {
                Some(sig) => match matching.iter().position(|t| t.processed.signature == sig) {
                    Some(p) => p + 1,
                    None => return error(id, -32602, "unknown before signature"),
                },
                None => 0,
            };
            let page: Vec<Value> = matching
                .iter()
                .skip(start)
                .take(limit)
                .map(|t| {
                    json!({
                        "signature": t.processed.signature,
                        "slot": t.slot,
                        "err": null,
                        "memo": null,
                        "blockTime": null,
                        "confirmationStatus": "finalized",
                    })
                })
                .collect();
            answer(id, Value::Array(page))
        }
        "getBlock" => {
            let Some(slot) = params.get(0).and_then(Value::as_u64) else {
                return error(id, -32602, "slot required");
            };
            let details = params
                .get(1)
                .and_then(|o| o.get("transactionDetails"))
                .and_then(Value::as_str);
            if details != Some("signatures") {
                return error(id, -32602, "only transactionDetails: signatures is served");
            }
            let Store {
                chain,
                out_of_block,
                ..
            } = &mut *store;
            let mut block: Vec<&ChainTransaction> =
                chain.iter().filter(|t| t.slot == slot).collect();
            if block.is_empty() {
                return error(id, -32004, &format!("Block not available for slot {slot}"));
            }
            block.sort_by_key(|t| t.index);
            let (left_out, kept): (Vec<String>, Vec<String>) = std::mem::take(out_of_block)
                .into_iter()
                .partition(|s| block.iter().any(|t| t.processed.signature == *s));
            *out_of_block = kept;
            block.retain(|t| !left_out.contains(&t.processed.signature));
            let signatures: Vec<&str> = block
                .iter()
                .map(|t| t.processed.signature.as_str())
                .collect();
            answer(
                id,
                json!({
                    "blockhash": format!("block-{slot}"),
                    "previousBlockhash": format!("block-{}", slot.saturating_sub(1)),
                    "parentSlot": slot.saturating_sub(1),
                    "signatures": signatures,
                    "blockTime": null,
                    "blockHeight": null,
                }),
            )
        }
        "getTransaction" => {
            let Some(signature) = params.get(0).and_then(Value::as_str) else {
                return error(id, -32602, "signature required");
            };
            if let Some(p) = store.hidden.iter().position(|s| s == signature) {
                store.hidden.remove(p);
                return answer(id, Value::Null);
            }
            let found = store
                .chain
                .iter()
                .find(|t| t.processed.signature == signature);
            answer(id, found.map(rpc_transaction).unwrap_or(Value::Null))
        }
        other => error(id, -32601, &format!("method not found: {other}")),
    }
}

impl RpcTestServer {
    /// Starts on 127.0.0.1 with an ephemeral port, serving `chain`.
    pub async fn start(chain: Vec<ChainTransaction>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Mutex::new(Store {
            chain,
            calls: 0,
            hidden: Vec::new(),
            slot: None,
            out_of_block: Vec::new(),
            first_available: 0,
        }));
        let app = Router::new()
            .route("/", post(handle))
            .with_state(Arc::clone(&store));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(RpcTestServer {
            addr,
            store,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes `getTransaction` answer `null` for `signature` once, as a node that lists a
    /// transaction but has not caught up to it would.
    pub fn hide_once(&self, signature: &str) {
        super::lock(&self.store).hidden.push(signature.to_owned());
    }

    /// Makes `getBlock` leave `signature` out of its block once, as a node whose listing
    /// and blocks disagree would.
    pub fn leave_out_of_block_once(&self, signature: &str) {
        super::lock(&self.store)
            .out_of_block
            .push(signature.to_owned());
    }

    /// Makes `getSlot` answer `slot` (a node behind), or the chain's last slot again.
    pub fn set_slot(&self, slot: Option<u64>) {
        super::lock(&self.store).slot = slot;
    }

    /// Makes the node hold only slots `slot` and later (`getFirstAvailableBlock`, and the
    /// listings leave older transactions out), as a node that purged its older history.
    pub fn set_first_available(&self, slot: u64) {
        super::lock(&self.store).first_available = slot;
    }

    /// Requests served so far.
    pub fn calls(&self) -> u64 {
        super::lock(&self.store).calls
    }
}

impl Drop for RpcTestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
