//! JSON-RPC backfill: the transactions of a slot range that the gRPC endpoint can no longer
//! replay, found with `getSignaturesForAddress` per program, placed in their blocks with
//! `getBlock` (signatures only) and fetched with `getTransaction`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;

use anchor_lang::prelude::Pubkey;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::decode::{decode_or_record, CompiledInstruction, InnerInstructions, TransactionView};
use crate::sink::{Commitment, IndexedTransaction, Source};

/// Why a backfill failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The HTTP request failed.
    #[error("rpc transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The node answered with a JSON-RPC error.
    #[error("rpc {method}: {message}")]
    Node {
        /// Method called.
        method: &'static str,
        /// The node's message.
        message: String,
    },
    /// The node listed a transaction in the range but did not return it (a node behind the
    /// one that listed it, or one that no longer holds it): the backfill stops rather than
    /// leave the transaction out, and is tried again.
    #[error(
        "rpc getTransaction: {signature} was listed in the range but the node did not return it"
    )]
    Missing {
        /// The transaction's signature.
        signature: String,
    },
    /// The node listed a transaction in a slot whose block (`getBlock`) does not hold it, or
    /// has no block for that slot: its answers disagree, and the transaction's place in its
    /// block is unknown.
    #[error("rpc getBlock: {signature} was listed in slot {slot} but the block does not hold it")]
    NotInBlock {
        /// The transaction's signature.
        signature: String,
        /// The slot it was listed in.
        slot: u64,
    },
    /// The range starts before the oldest block the node holds (`getFirstAvailableBlock`):
    /// its listings would silently leave the older transactions out.
    #[error("rpc getFirstAvailableBlock: the node holds blocks from {first_available} on, the backfill needs {from}")]
    Pruned {
        /// First slot of the range.
        from: u64,
        /// The oldest block the node holds.
        first_available: u64,
    },
    /// The node had not reached the end of the range at its commitment in the time given.
    #[error("rpc getSlot: the node is at slot {at}, the backfill needs {needed}")]
    Behind {
        /// The node's slot at the client's commitment, last asked.
        at: u64,
        /// The last slot of the range.
        needed: u64,
    },
    /// The answer did not have the expected shape.
    #[error("rpc {method}: unexpected answer: {reason}")]
    Shape {
        /// Method called.
        method: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// How many times `getTransaction` is asked for a listed transaction the node answers `null`
/// for before the backfill fails with [`RpcError::Missing`] (waiting 0.2, 0.4, 0.8 and 1.6 s
/// between).
pub const MISSING_ATTEMPTS: u32 = 5;

/// How long a backfill waits for the RPC node to reach the end of its range.
pub const CATCH_UP_SECS: u64 = 30;

/// A JSON-RPC client for the methods a backfill needs.
#[derive(Debug, Clone)]
pub struct RpcClient {
    http: reqwest::Client,
    url: String,
    commitment: Commitment,
    page_limit: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignatureInfo {
    signature: String,
    slot: u64,
    err: Option<Json>,
}

#[derive(Deserialize)]
struct RpcBlockSignatures {
    signatures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcTransaction {
    slot: u64,
    transaction: RpcTransactionBody,
    meta: Option<RpcMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcTransactionBody {
    message: RpcMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcMessage {
    account_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcMeta {
    err: Option<Json>,
    #[serde(default)]
    log_messages: Option<Vec<String>>,
    #[serde(default)]
    inner_instructions: Option<Vec<RpcInnerGroup>>,
    #[serde(default)]
    loaded_addresses: Option<RpcLoadedAddresses>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcInnerGroup {
    index: u8,
    instructions: Vec<RpcInstruction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcInstruction {
    program_id_index: u8,
    data: String,
}

#[derive(Deserialize)]
struct RpcLoadedAddresses {
    writable: Vec<String>,
    readonly: Vec<String>,
}

impl RpcClient {
    /// A client for `url`, reading at `commitment` (`processed` is not a valid RPC
    /// commitment for these methods and is raised to `confirmed`).
    pub fn new(url: &str, commitment: Commitment, page_limit: usize) -> Self {
        RpcClient {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            commitment: commitment.max(Commitment::Confirmed),
            page_limit: page_limit.clamp(1, 1000),
        }
    }

    async fn call(&self, method: &'static str, params: Json) -> Result<Json, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer: Json = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if let Some(error) = answer.get("error") {
            return Err(RpcError::Node {
                method,
                message: error.to_string(),
            });
        }
        answer.get("result").cloned().ok_or(RpcError::Shape {
            method,
            reason: "no result".into(),
        })
    }

    /// The node's current slot at the client's commitment.
    pub async fn get_slot(&self) -> Result<u64, RpcError> {
        self.slot_at(self.commitment).await
    }

    /// The node's current slot at `commitment` (`getSlot` takes `processed` too).
    pub async fn slot_at(&self, commitment: Commitment) -> Result<u64, RpcError> {
        self.call_u64("getSlot", json!([{"commitment": commitment.as_str()}]))
            .await
    }

    /// The oldest block the node still holds (`getFirstAvailableBlock`).
    pub async fn first_available(&self) -> Result<u64, RpcError> {
        self.call_u64("getFirstAvailableBlock", json!([])).await
    }

    /// Calls `method`, whose result is one slot number.
    async fn call_u64(&self, method: &'static str, params: Json) -> Result<u64, RpcError> {
        let result = self.call(method, params).await?;
        result.as_u64().ok_or(RpcError::Shape {
            method,
            reason: result.to_string(),
        })
    }

    /// Waits (`within` at most) until the node has reached `slot` at the client's
    /// commitment, so a listing of the range is whole.
    pub async fn reached(&self, slot: u64, within: std::time::Duration) -> Result<(), RpcError> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let at = self.get_slot().await?;
            if at >= slot {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(RpcError::Behind { at, needed: slot });
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Successful signatures mentioning `address` in slots `from..to`, oldest first.
    async fn signatures(
        &self,
        address: &Pubkey,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String)>, RpcError> {
        let mut found = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut options =
                json!({"limit": self.page_limit, "commitment": self.commitment.as_str()});
            if let Some(b) = &before {
                options["before"] = json!(b);
            }
            let page = self
                .call(
                    "getSignaturesForAddress",
                    json!([address.to_string(), options]),
                )
                .await?;
            let page: Vec<SignatureInfo> =
                serde_json::from_value(page).map_err(|e| RpcError::Shape {
                    method: "getSignaturesForAddress",
                    reason: e.to_string(),
                })?;
            let full = page.len() >= self.page_limit;
            let mut older_than_range = false;
            for info in &page {
                if info.slot < from {
                    older_than_range = true;
                    break;
                }
                if info.slot < to && info.err.is_none() {
                    found.push((info.slot, info.signature.clone()));
                }
            }
            match page.last() {
                Some(last) if full && !older_than_range => before = Some(last.signature.clone()),
                _ => break,
            }
        }
        // newest first from the node; block order within a slot is the reverse
        found.reverse();
        Ok(found)
    }

    /// The signatures of the block of `slot` in block order: every transaction of the block
    /// (votes and failures included), so a transaction's position in the list is its index
    /// in the block, the `tx_index` the gRPC stream gives it. `None` when the node has no
    /// block for the slot.
    async fn block_order(&self, slot: u64) -> Result<Option<Vec<String>>, RpcError> {
        let result = self
            .call(
                "getBlock",
                json!([slot, {
                    "encoding": "json",
                    "transactionDetails": "signatures",
                    "rewards": false,
                    "commitment": self.commitment.as_str(),
                    "maxSupportedTransactionVersion": 0,
                }]),
            )
            .await?;
        if result.is_null() {
            return Ok(None);
        }
        let block: RpcBlockSignatures =
            serde_json::from_value(result).map_err(|e| RpcError::Shape {
                method: "getBlock",
                reason: e.to_string(),
            })?;
        Ok(Some(block.signatures))
    }

    /// `signatures`, listed in `slot`, each with its index in the block, in block order.
    async fn in_block_order(
        &self,
        slot: u64,
        signatures: &[String],
    ) -> Result<Vec<(u64, String)>, RpcError> {
        let not_in_block = |signature: &String| RpcError::NotInBlock {
            signature: signature.clone(),
            slot,
        };
        let Some(first) = signatures.first() else {
            return Ok(Vec::new());
        };
        let Some(order) = self.block_order(slot).await? else {
            return Err(not_in_block(first));
        };
        let position: HashMap<&str, u64> = order
            .iter()
            .zip(0u64..)
            .map(|(signature, index)| (signature.as_str(), index))
            .collect();
        let mut placed = Vec::with_capacity(signatures.len());
        for signature in signatures {
            let index = position
                .get(signature.as_str())
                .ok_or_else(|| not_in_block(signature))?;
            placed.push((*index, signature.clone()));
        }
        placed.sort_unstable();
        Ok(placed)
    }

    /// One transaction, decoded. `None` if it failed; [`RpcError::Missing`] if the node does
    /// not have it.
    ///
    /// A node behind the one that listed the transaction answers `null` until it catches up:
    /// the request is repeated [`MISSING_ATTEMPTS`] times, about three seconds in all.
    pub async fn transaction(
        &self,
        signature: &str,
        tx_index: u64,
    ) -> Result<Option<IndexedTransaction>, RpcError> {
        let mut attempt = 0;
        let result = loop {
            let result = self
                .call(
                    "getTransaction",
                    json!([signature, {
                        "encoding": "json",
                        "commitment": self.commitment.as_str(),
                        "maxSupportedTransactionVersion": 0,
                    }]),
                )
                .await?;
            if !result.is_null() {
                break result;
            }
            attempt += 1;
            if attempt >= MISSING_ATTEMPTS {
                return Err(RpcError::Missing {
                    signature: signature.to_owned(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
        };
        let tx: RpcTransaction = serde_json::from_value(result).map_err(|e| RpcError::Shape {
            method: "getTransaction",
            reason: e.to_string(),
        })?;
        if tx.meta.as_ref().is_some_and(|m| m.err.is_some()) {
            return Ok(None);
        }
        let decoded = decode_or_record(view(&tx));
        Ok(Some(IndexedTransaction {
            signature: signature.to_owned(),
            slot: tx.slot,
            tx_index,
            source: Source::Rpc,
            decoded,
        }))
    }

    /// Every successful transaction of `programs` in slots `from..to` (once the node has
    /// reached `to - 1`), in slot order and, within a slot, in block order, each with its
    /// index in the block (`getBlock`'s signatures): the listings per program do not give
    /// it, and two programs' listings of one slot interleave in the block.
    pub async fn backfill(
        &self,
        programs: &[Pubkey],
        from: u64,
        to: u64,
    ) -> Result<Vec<IndexedTransaction>, RpcError> {
        if to > from {
            let first_available = self.first_available().await?;
            if first_available > from {
                return Err(RpcError::Pruned {
                    from,
                    first_available,
                });
            }
            self.reached(to - 1, std::time::Duration::from_secs(CATCH_UP_SECS))
                .await?;
        }
        let mut by_slot: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut seen = HashSet::new();
        for program in programs {
            for (slot, signature) in self.signatures(program, from, to).await? {
                if seen.insert(signature.clone()) {
                    by_slot.entry(slot).or_default().push(signature);
                }
            }
        }
        let total = u64::try_from(seen.len()).unwrap_or(u64::MAX);
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "backfill {bar:40} {pos}/{len} transactions ({per_sec}, eta {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        let mut out = Vec::with_capacity(seen.len());
        for (slot, signatures) in &by_slot {
            for (index, signature) in self.in_block_order(*slot, signatures).await? {
                if let Some(tx) = self.transaction(&signature, index).await? {
                    out.push(tx);
                }
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        Ok(out)
    }
}

fn key(s: &str) -> Result<Pubkey, String> {
    s.parse().map_err(|_| format!("bad account key {s:?}"))
}

fn view(tx: &RpcTransaction) -> Result<TransactionView, String> {
    let meta = tx.meta.as_ref().ok_or("transaction without status meta")?;
    let mut account_keys = Vec::new();
    for k in &tx.transaction.message.account_keys {
        account_keys.push(key(k)?);
    }
    if let Some(loaded) = &meta.loaded_addresses {
        for k in loaded.writable.iter().chain(&loaded.readonly) {
            account_keys.push(key(k)?);
        }
    }
    let mut inner_instructions = Vec::new();
    for group in meta.inner_instructions.iter().flatten() {
        let mut instructions = Vec::new();
        for ix in &group.instructions {
            instructions.push(CompiledInstruction {
                program_id_index: ix.program_id_index,
                data: bs58::decode(&ix.data)
                    .into_vec()
                    .map_err(|e| format!("inner instruction data: {e}"))?,
            });
        }
        inner_instructions.push(InnerInstructions {
            index: group.index,
            instructions,
        });
    }
    Ok(TransactionView {
        account_keys,
        inner_instructions,
        log_messages: meta
            .log_messages
            .iter()
            .flatten()
            .map(|line| bytes::Bytes::copy_from_slice(line.as_bytes()))
            .collect(),
    })
}
