//! The SDK's gateway client against a localnet over real HTTP on 127.0.0.1: a network built
//! and a fleet of 200 devices claiming through packed transactions, program errors by name,
//! a priority fee that follows the node, a blockhash that expires before its transaction
//! lands, a durable-nonce transaction sent after the blockhash window, and a landed
//! transaction sent again once it can no longer land.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use depin_localnet::{scenario, Config, Localnet};
use depin_sdk::client::{Client, ClientConfig, ClientError, ComputeLimit, Outcome};
use depin_sdk::oracle::{RewardRow, RewardTree};
use depin_sdk::pack::{Packer, PACKET_DATA_SIZE};
use depin_sdk::rewards::{
    self, ClaimArgs, InitializeRewardsArgs, ProposeRootArgs, RewardToken, Schedule,
};
use depin_sdk::staking::{self, InitializePoolArgs};
use depin_sdk::{pda, Instruction};
use depin_tests::{Keypair, Signer};
use solana_commitment_config::CommitmentConfig;
use solana_transaction_status_client_types::UiTransactionEncoding;

const SOL: u64 = 1_000_000_000;

/// A client tuned to the localnet's 50 ms slots.
fn client_config() -> ClientConfig {
    ClientConfig {
        poll_interval: Duration::from_millis(25),
        rebroadcast_interval: Duration::from_millis(200),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..ClientConfig::default()
    }
}

async fn funded_client(localnet: &Localnet, url: &str, config: ClientConfig) -> Client {
    let payer = Keypair::new();
    localnet
        .airdrop(&payer.pubkey(), 1_000 * SOL)
        .await
        .expect("airdrop");
    Client::new(url, payer, config)
}

/// The transaction `outcome` names, as the node stored it (at confirmed).
async fn landed_transaction(
    client: &Client,
    outcome: &Outcome,
) -> solana_transaction::versioned::VersionedTransaction {
    client
        .rpc()
        .get_transaction_with_config(
            &outcome.signature(),
            solana_rpc_client_api::config::RpcTransactionConfig {
                encoding: Some(UiTransactionEncoding::Base64),
                commitment: Some(CommitmentConfig::confirmed()),
                max_supported_transaction_version: Some(0),
            },
        )
        .await
        .unwrap()
        .transaction
        .transaction
        .decode()
        .unwrap()
}

/// Waits (30 s at most) until the node no longer accepts blockhash `recent`.
async fn expire(client: &Client, recent: &solana_message::Hash) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .rpc()
        .is_blockhash_valid(recent, CommitmentConfig::processed())
        .await
        .unwrap()
    {
        assert!(Instant::now() < deadline, "the blockhash never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn landed(outcome: Result<Outcome, ClientError>, what: &str) -> Outcome {
    match outcome {
        Ok(o @ Outcome::Landed { .. }) => o,
        other => panic!("{what}: {other:?}"),
    }
}

#[tokio::test]
async fn a_fleet_of_200_devices_onboards_bonds_and_claims_in_packed_transactions() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let net = scenario::network(&client, 7, true).await.expect("network");
    let op = &net.operator;

    // 200 devices onboarded, packed (three signers each: operator, maker, device)
    let devices: Vec<Keypair> = (0..200).map(|_| Keypair::new()).collect();
    let groups: Vec<Vec<Instruction>> = devices
        .iter()
        .map(|d| vec![net.onboard(d, scenario::LOCATION)])
        .collect();
    let mut signers: Vec<&Keypair> = vec![op, &net.maker];
    signers.extend(devices.iter());
    let outcomes = client
        .send_packed(groups, &signers, Vec::new())
        .await
        .expect("onboarding");
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()), "{outcomes:?}");
    assert_eq!(outcomes.iter().map(|(g, _)| g.len()).sum::<usize>(), 200);

    // a pool, stake for all, every device bonded (packed)
    let pool = staking::initialize_pool(
        &client.payer(),
        &net.authority.pubkey(),
        &net.network,
        &net.token,
        &net.treasury,
        &net.treasury,
        InitializePoolArgs {
            min_stake_per_device: 1_000,
            cooldown_secs: 60,
            slash_authority: net.authority.pubkey(),
        },
    );
    landed(client.send(&[pool], &[&net.authority]).await, "pool");
    let stake = staking::stake(
        &op.pubkey(),
        &net.network,
        &net.token,
        &net.operator_tokens,
        200_000,
    );
    landed(client.send(&[stake], &[op]).await, "stake");
    let device_accounts: Vec<Pubkey> = devices
        .iter()
        .map(|d| pda::device(&net.network, &d.pubkey()).0)
        .collect();
    let bonds: Vec<Vec<Instruction>> = device_accounts
        .iter()
        .map(|d| vec![staking::bond_device(&op.pubkey(), &net.network, d)])
        .collect();
    let outcomes = client
        .send_packed(bonds, &[op], Vec::new())
        .await
        .expect("bonds");
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()));

    // rewards: one oracle, epochs of 60 s from an hour ago, so epoch 58 is over
    let oracle = Keypair::new();
    localnet.airdrop(&oracle.pubkey(), SOL).await.unwrap();
    let now = client
        .rpc()
        .get_block_time(client.rpc().get_slot().await.unwrap())
        .await
        .unwrap();
    let token = RewardToken {
        mint: net.reward_mint,
        token_program: spl_token::ID,
    };
    let init = rewards::initialize_rewards(
        &client.payer(),
        &net.authority.pubkey(),
        &net.network,
        &token,
        &net.mint_authority.pubkey(),
        InitializeRewardsArgs {
            schedule: Schedule {
                initial_per_epoch: 1_000_000_000,
                halving_interval_epochs: 4,
                tail_per_epoch: 100_000_000,
            },
            epoch_duration_secs: 60,
            genesis_ts: now - 3_600,
            oracles: vec![oracle.pubkey()],
            quorum: 1,
        },
    );
    landed(
        client
            .send(&[init], &[&net.authority, &net.mint_authority])
            .await,
        "rewards",
    );
    let rows: Vec<RewardRow> = device_accounts
        .iter()
        .enumerate()
        .map(|(i, d)| RewardRow {
            device: *d,
            owner: op.pubkey(),
            cumulative_amount: 1_000 + i as u64,
        })
        .collect();
    let tree = RewardTree::build(rows).unwrap();
    let propose = rewards::propose_root(
        &oracle.pubkey(),
        &net.network,
        ProposeRootArgs {
            epoch: 0,
            root: tree.root(),
            cumulative_total: tree.total(),
            multipliers_hash: [0; 32],
        },
    );
    landed(client.send(&[propose], &[&oracle]).await, "root");

    // every device claims into the operator's reward account: open its record, then claim
    let recipient = client
        .create_token_account(&net.reward_mint, &op.pubkey())
        .await
        .expect("recipient");
    let claims: Vec<Vec<Instruction>> = device_accounts
        .iter()
        .map(|d| {
            let proof = tree.proof(d).expect("a row per device");
            rewards::claim_instructions(
                &client.payer(),
                &net.network,
                d,
                &op.pubkey(),
                &token,
                &recipient,
                ClaimArgs {
                    epoch: 0,
                    cumulative_amount: proof.row.cumulative_amount,
                    proof: proof.proof,
                },
                false,
            )
        })
        .collect();
    // what a legacy packing would take, for comparison
    let legacy = Packer::legacy(client.payer())
        .pack(claims.clone(), |ixs| {
            depin_sdk::compute::with_compute_budget(ixs)[..1].to_vec()
        })
        .unwrap()
        .len();
    // the accounts every claim shares go into a lookup table
    let config = pda::rewards_config(&net.network).0;
    let shared = vec![
        net.network,
        config,
        net.reward_mint,
        spl_token::ID,
        op.pubkey(),
        recipient,
        pda::stake_pool(&net.network).0,
        pda::stake_position(&pda::stake_pool(&net.network).0, &op.pubkey()).0,
        anchor_lang::solana_program::system_program::ID,
        depin_sdk::REWARDS_PROGRAM_ID,
        pda::event_authority(&depin_sdk::REWARDS_PROGRAM_ID).0,
    ];
    let table = client
        .create_lookup_table(&shared)
        .await
        .expect("lookup table");
    // the plan: the fee the client will pay (none on this quiet localnet) decides the prefix
    assert_eq!(
        client
            .priority_fee(&depin_sdk::client::writable(&claims.concat()))
            .await
            .unwrap(),
        0
    );
    let planned = Packer::v0(client.payer(), vec![table.clone()])
        .pack(claims.clone(), |ixs| {
            depin_sdk::compute::with_compute_budget(ixs)[..1].to_vec()
        })
        .unwrap();
    assert!(planned.iter().all(|p| p.size <= PACKET_DATA_SIZE));
    let outcomes = client
        .send_packed(claims, &[], vec![table])
        .await
        .expect("claims");
    assert_eq!(
        outcomes.len(),
        planned.len(),
        "one transaction per planned batch"
    );
    assert_eq!(
        outcomes.iter().map(|(g, _)| g.clone()).collect::<Vec<_>>(),
        planned.iter().map(|p| p.groups.clone()).collect::<Vec<_>>()
    );
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()), "{outcomes:?}");
    assert_eq!(outcomes.iter().map(|(g, _)| g.len()).sum::<usize>(), 200);
    assert!(
        outcomes.len() < legacy,
        "a lookup table packs tighter: {} v0 against {legacy} legacy",
        outcomes.len()
    );
    for (_, outcome) in &outcomes {
        let wire = bincode::serialize(&landed_transaction(&client, outcome).await).unwrap();
        assert!(wire.len() <= PACKET_DATA_SIZE, "{} bytes", wire.len());
    }
    let paid = client
        .rpc()
        .get_token_account_balance(&recipient)
        .await
        .unwrap();
    assert_eq!(paid.amount, tree.total().to_string());
    println!(
        "200 claims: {} v0 transactions with a lookup table ({legacy} legacy)",
        outcomes.len()
    );
    localnet.stop().await;
}

#[tokio::test]
async fn program_errors_surface_by_name_and_nothing_is_sent() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    for limit in [ComputeLimit::Simulate, ComputeLimit::Table] {
        let client = funded_client(
            &localnet,
            &localnet.rpc_url(),
            ClientConfig {
                compute_limit: limit,
                ..client_config()
            },
        )
        .await;
        let id = if limit == ComputeLimit::Simulate {
            1
        } else {
            2
        };
        let net = scenario::network(&client, id, false)
            .await
            .expect("network");
        let device = Keypair::new();
        let before = client.rpc().get_balance(&client.payer()).await.unwrap();
        let err = client
            .send(
                &[net.onboard(&device, scenario::LOCATION)],
                &[&net.operator, &net.maker, &device],
            )
            .await
            .unwrap_err();
        match &err {
            ClientError::Simulation { failure, .. } => {
                assert_eq!(failure.name(), Some("MakerNotApproved"), "{err}");
                assert!(
                    err.to_string()
                        .contains("device_registry::MakerNotApproved"),
                    "{err}"
                );
            }
            other => panic!("expected a simulation failure, got {other:?}"),
        }
        assert_eq!(
            client.rpc().get_balance(&client.payer()).await.unwrap(),
            before,
            "nothing was paid"
        );
    }
    localnet.stop().await;
}

#[tokio::test]
async fn the_priority_fee_follows_recent_prioritization_fees() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let hot = Keypair::new();
    assert_eq!(client.priority_fee(&[hot.pubkey()]).await.unwrap(), 0);
    for price in [1_000u64, 2_000, 3_000, 4_000] {
        // a transaction with its own price, signed elsewhere, sent through the client
        let blockhash = client.rpc().get_latest_blockhash().await.unwrap();
        let payer = Keypair::new();
        localnet.airdrop(&payer.pubkey(), 2 * SOL).await.unwrap();
        let ixs = [
            depin_sdk::client::set_unit_limit(10_000),
            depin_sdk::client::set_unit_price(price),
            solana_system_interface::instruction::transfer(&payer.pubkey(), &hot.pubkey(), SOL),
        ];
        let tx = solana_transaction::Transaction::new_signed_with_payer(
            &ixs,
            Some(&payer.pubkey()),
            &[&payer],
            blockhash,
        );
        landed(client.submit_signed(tx).await, "priced");
    }
    // 75th percentile (nearest rank) over the recent slots writing `hot`
    let fees = client
        .rpc()
        .get_recent_prioritization_fees(&[hot.pubkey()])
        .await
        .unwrap();
    let mut values: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
    let expected = depin_sdk::client::percentile(&mut values, 75);
    assert!(expected > 0, "{fees:?}");
    assert_eq!(
        client.priority_fee(&[hot.pubkey()]).await.unwrap(),
        expected
    );
    // clamped to the configured ceiling
    let capped = Client::new(
        localnet.rpc_url(),
        Keypair::new(),
        ClientConfig {
            priority_fee_bounds: (0, 500),
            ..client_config()
        },
    );
    assert_eq!(capped.priority_fee(&[hot.pubkey()]).await.unwrap(), 500);
    localnet.stop().await;
}

/// A loopback HTTP proxy to the localnet's RPC that, while `drop_sends` is set, answers
/// `sendTransaction` as a node does and then drops the transaction (a lossy uplink, a leader
/// that never forwards it), and while `blind_statuses` is set answers every status query
/// with a server error (a backend behind a load balancer going down), which it sets itself
/// once asked to send more distinct signatures than `blind_after`; it counts the distinct
/// signatures it was asked to send.
struct LossyUplink {
    url: String,
    drop_sends: Arc<AtomicBool>,
    blind_statuses: Arc<AtomicBool>,
    blind_after: Arc<AtomicUsize>,
    signatures: Arc<Mutex<Vec<String>>>,
    dropped: Arc<AtomicUsize>,
}

async fn lossy_uplink(target: String) -> LossyUplink {
    use axum::extract::State;
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::{json, Value};

    #[derive(Clone)]
    struct Proxy {
        target: String,
        http: reqwest::Client,
        drop_sends: Arc<AtomicBool>,
        blind_statuses: Arc<AtomicBool>,
        blind_after: Arc<AtomicUsize>,
        signatures: Arc<Mutex<Vec<String>>>,
        dropped: Arc<AtomicUsize>,
    }
    async fn forward(State(p): State<Proxy>, Json(request): Json<Value>) -> Json<Value> {
        let method = request.get("method").and_then(Value::as_str);
        if method == Some("getSignatureStatuses") && p.blind_statuses.load(Ordering::SeqCst) {
            return Json(json!({"jsonrpc": "2.0", "id": request["id"],
                "error": {"code": -32603, "message": "backend unavailable"}}));
        }
        if request.get("method").and_then(Value::as_str) == Some("sendTransaction") {
            let wire = request["params"][0].as_str().unwrap_or_default();
            let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, wire)
                .unwrap_or_default();
            let tx: Option<solana_transaction::versioned::VersionedTransaction> =
                bincode::deserialize(&bytes).ok();
            if let Some(tx) = tx {
                let signature = tx.signatures[0].to_string();
                {
                    let mut seen = p.signatures.lock().unwrap();
                    if !seen.contains(&signature) {
                        seen.push(signature.clone());
                    }
                    if seen.len() > p.blind_after.load(Ordering::SeqCst) {
                        p.blind_statuses.store(true, Ordering::SeqCst);
                    }
                }
                if p.drop_sends.load(Ordering::SeqCst) {
                    p.dropped.fetch_add(1, Ordering::SeqCst);
                    return Json(
                        json!({"jsonrpc": "2.0", "id": request["id"], "result": signature}),
                    );
                }
            }
        }
        let answer = p.http.post(&p.target).json(&request).send().await;
        match answer {
            Ok(r) => Json(r.json().await.unwrap_or(Value::Null)),
            Err(e) => Json(
                json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32603, "message": e.to_string()}}),
            ),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let proxy = Proxy {
        target,
        http: reqwest::Client::new(),
        drop_sends: Arc::new(AtomicBool::new(true)),
        blind_statuses: Arc::new(AtomicBool::new(false)),
        blind_after: Arc::new(AtomicUsize::new(usize::MAX)),
        signatures: Arc::new(Mutex::new(Vec::new())),
        dropped: Arc::new(AtomicUsize::new(0)),
    };
    let uplink = LossyUplink {
        url,
        drop_sends: Arc::clone(&proxy.drop_sends),
        blind_statuses: Arc::clone(&proxy.blind_statuses),
        blind_after: Arc::clone(&proxy.blind_after),
        signatures: Arc::clone(&proxy.signatures),
        dropped: Arc::clone(&proxy.dropped),
    };
    let app = Router::new().route("/", post(forward)).with_state(proxy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    uplink
}

#[tokio::test]
async fn a_blockhash_that_expires_before_landing_is_re_signed_once_it_can_never_land() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let uplink = lossy_uplink(localnet.rpc_url()).await;
    let client = funded_client(&localnet, &uplink.url, client_config()).await;
    let to = Keypair::new();
    let transfer =
        solana_system_interface::instruction::transfer(&client.payer(), &to.pubkey(), SOL);

    // the uplink loses every send: the client re-broadcasts, then reports it expired
    let one_attempt = Client::new(
        uplink.url.clone(),
        Keypair::new(),
        ClientConfig {
            max_attempts: 1,
            ..client_config()
        },
    );
    localnet
        .airdrop(&one_attempt.payer(), 10 * SOL)
        .await
        .unwrap();
    let lost =
        solana_system_interface::instruction::transfer(&one_attempt.payer(), &to.pubkey(), SOL);
    let started = Instant::now();
    match one_attempt.send(&[lost], &[]).await.unwrap() {
        Outcome::Expired { attempts, .. } => assert_eq!(attempts, 1),
        other => panic!("expected expiry, got {other:?}"),
    }
    assert!(
        uplink.dropped.load(Ordering::SeqCst) > 1,
        "re-broadcast while valid"
    );
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), 0);
    println!("expired after {:?}", started.elapsed());

    // with attempts left, the uplink comes back while the first signature is pending: the
    // first attempt expires, the second lands, and only once
    uplink.signatures.lock().unwrap().clear();
    let restore = Arc::clone(&uplink.drop_sends);
    let signatures = Arc::clone(&uplink.signatures);
    tokio::spawn(async move {
        // restore after the first attempt's blockhash can no longer land
        for _ in 0..2_000 {
            if signatures.lock().unwrap().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        restore.store(false, Ordering::SeqCst);
    });
    let outcome = landed(client.send(&[transfer], &[]).await, "second attempt");
    let sent = uplink.signatures.lock().unwrap().clone();
    assert!(sent.len() >= 2, "re-signed: {sent:?}");
    assert_eq!(outcome.signature().to_string(), *sent.last().unwrap());
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    localnet.stop().await;
}

/// A gateway's payment of one SOL to a new account, signed offline with a durable nonce.
struct OfflinePayment {
    tx: solana_transaction::Transaction,
    /// The nonce account.
    nonce: Keypair,
    /// The nonce value the transaction carries.
    value: solana_message::Hash,
    /// The payee.
    to: Keypair,
}

/// A funded gateway key with a nonce account (created through `client`), and its payment
/// signed with that nonce.
async fn offline_payment(localnet: &Localnet, client: &Client) -> OfflinePayment {
    let gateway = Keypair::new();
    localnet.airdrop(&gateway.pubkey(), 10 * SOL).await.unwrap();
    let nonce = Keypair::new();
    landed(
        client.create_nonce_account(&nonce, &gateway.pubkey()).await,
        "nonce account",
    );
    let value = client.nonce_value(&nonce.pubkey()).await.unwrap();
    let to = Keypair::new();
    let pay = solana_system_interface::instruction::transfer(&gateway.pubkey(), &to.pubkey(), SOL);
    let tx = depin_sdk::client::sign_with_nonce(
        &gateway.pubkey(),
        &nonce.pubkey(),
        &gateway.pubkey(),
        value,
        &[pay],
        &[&gateway],
    )
    .unwrap();
    OfflinePayment {
        tx,
        nonce,
        value,
        to,
    }
}

#[tokio::test]
async fn a_durable_nonce_transaction_signed_offline_lands_after_the_blockhash_window() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    // signed now, offline: only the nonce value is needed
    let OfflinePayment {
        tx,
        nonce,
        value,
        to,
    } = offline_payment(&localnet, &client).await;
    let recent = client.rpc().get_latest_blockhash().await.unwrap();

    // later: every blockhash of signing time has expired
    expire(&client, &recent).await;
    let outcome = landed(client.submit_signed(tx.clone()).await, "nonce transaction");
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    // the nonce advanced: the same transaction cannot land a second time
    assert_ne!(client.nonce_value(&nonce.pubkey()).await.unwrap(), value);
    // sent again (a gateway retrying after losing the answer): the node refuses its stale
    // nonce before looking at its status cache, and the client still answers that it
    // landed, not that it expired (which would have the caller sign and pay again)
    let again = landed(client.submit_signed(tx).await, "the same transaction again");
    assert_eq!(
        again.signature(),
        outcome.signature(),
        "the same landed transaction"
    );
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    localnet.stop().await;
}

/// Defect: a durable-nonce transaction the cluster kept dropping was re-broadcast forever
/// (it has no blockhash to expire), so `submit_signed` never returned. Now the client stops
/// after `nonce_patience` with the signature to look up; the transaction can still land,
/// and does once sent again.
#[tokio::test]
async fn a_durable_nonce_transaction_the_cluster_keeps_dropping_is_given_up_and_can_land_later() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let direct = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let uplink = lossy_uplink(localnet.rpc_url()).await;
    let patience = Duration::from_secs(2);
    let client = Client::new(
        uplink.url.clone(),
        Keypair::new(),
        ClientConfig {
            nonce_patience: patience,
            ..client_config()
        },
    );
    let OfflinePayment {
        tx,
        nonce,
        value,
        to,
    } = offline_payment(&localnet, &direct).await;

    // the uplink drops every send: the client gives up after its patience, not never
    let started = Instant::now();
    let given_up = tokio::time::timeout(Duration::from_secs(60), client.submit_signed(tx.clone()))
        .await
        .expect("the client stops following a nonce transaction that never lands");
    let waited = started.elapsed();
    let Err(ClientError::Unconfirmed { signature, reason }) = given_up else {
        panic!("expected the signature to look up: {given_up:?}");
    };
    assert_eq!(signature, tx.signatures[0]);
    assert!(reason.contains("nonce is unchanged"), "{reason}");
    assert!(
        waited >= patience,
        "followed {waited:?}, patience {patience:?}"
    );
    assert!(
        uplink.dropped.load(Ordering::SeqCst) > 1,
        "re-broadcast meanwhile"
    );
    assert_eq!(direct.rpc().get_balance(&to.pubkey()).await.unwrap(), 0);
    assert_eq!(direct.nonce_value(&nonce.pubkey()).await.unwrap(), value);

    // the uplink back: the same signed transaction lands, once
    uplink.drop_sends.store(false, Ordering::SeqCst);
    let outcome = landed(client.submit_signed(tx).await, "sent again");
    assert_eq!(outcome.signature(), signature);
    assert_eq!(direct.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    assert_ne!(direct.nonce_value(&nonce.pubkey()).await.unwrap(), value);
    localnet.stop().await;
}

/// Defect: `send_packed` returned only the error when a later transaction failed to reach
/// an outcome, and the outcomes of the transactions that had landed before it were lost: a
/// caller could not tell which groups were done and sent them again. Now the error carries
/// them.
#[tokio::test]
async fn a_packed_send_stopped_by_an_error_keeps_the_outcomes_that_landed_before_it() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let uplink = lossy_uplink(localnet.rpc_url()).await;
    uplink.drop_sends.store(false, Ordering::SeqCst);
    // the node's statuses go dark once the second transaction is sent
    uplink.blind_after.store(1, Ordering::SeqCst);
    let client = funded_client(&localnet, &uplink.url, client_config()).await;
    let recipients: Vec<Pubkey> = (0..60).map(|_| Pubkey::new_unique()).collect();
    let each = SOL / 100;
    let groups: Vec<Vec<Instruction>> = recipients
        .iter()
        .map(|to| {
            vec![solana_system_interface::instruction::transfer(
                &client.payer(),
                to,
                each,
            )]
        })
        .collect();
    let error = client
        .send_packed(groups, &[], Vec::new())
        .await
        .expect_err("the second transaction's status cannot be read");
    let ClientError::PartlySent {
        sent,
        stopped_at,
        error,
    } = error
    else {
        panic!("expected the outcomes sent before the error: {error:?}");
    };
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (first, outcome) = &sent[0];
    assert!(outcome.is_landed(), "{outcome:?}");
    assert_eq!(first.start, 0);
    assert_eq!(stopped_at.start, first.end, "the next groups");
    assert!(
        stopped_at.end < recipients.len(),
        "a third transaction never sent"
    );
    assert!(
        matches!(*error, ClientError::Unconfirmed { .. }),
        "{error:?}"
    );
    let direct = Client::new(localnet.rpc_url(), Keypair::new(), client_config());
    let balances = direct
        .rpc()
        .get_multiple_accounts(&recipients)
        .await
        .unwrap();
    for (i, account) in balances.iter().enumerate() {
        let lamports = account.as_ref().map_or(0, |a| a.lamports);
        if first.contains(&i) {
            assert_eq!(lamports, each, "group {i} landed");
        } else if i >= stopped_at.end {
            assert_eq!(lamports, 0, "group {i} was never sent");
        }
    }
    assert_eq!(
        uplink.signatures.lock().unwrap().len(),
        2,
        "two transactions sent"
    );
    localnet.stop().await;
}

/// Defect: a transaction signed with a recent blockhash, landed, then sent again once its
/// blockhash had expired was answered `Expired` ("it never will land") without a look at
/// the node's history, so a gateway retrying after a lost answer signed and paid twice.
#[tokio::test]
async fn a_landed_transaction_sent_again_after_its_blockhash_expired_is_answered_landed() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let from = Keypair::new();
    localnet.airdrop(&from.pubkey(), 10 * SOL).await.unwrap();
    let to = Keypair::new();
    let recent = client.rpc().get_latest_blockhash().await.unwrap();
    let signed = |lamports: u64| {
        let pay =
            solana_system_interface::instruction::transfer(&from.pubkey(), &to.pubkey(), lamports);
        solana_transaction::Transaction::new_signed_with_payer(
            &[pay],
            Some(&from.pubkey()),
            &[&from],
            recent,
        )
    };
    let tx = signed(SOL);
    let first = landed(client.submit_signed(tx.clone()).await, "first send");

    expire(&client, &recent).await;
    let again = landed(client.submit_signed(tx).await, "the same transaction again");
    assert_eq!(again.signature(), first.signature());
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);

    // one never sent, its blockhash expired: that one has expired
    let outcome = client.submit_signed(signed(SOL / 2)).await.unwrap();
    assert!(matches!(outcome, Outcome::Expired { .. }), "{outcome:?}");
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    localnet.stop().await;
}

/// Defect: once sent, a transaction whose status the node stopped answering was reported as
/// a plain RPC error with no signature, so a caller retrying on it signed and paid again
/// while the first had landed. Now the error names the signature, to look up first.
#[tokio::test]
async fn a_send_whose_status_cannot_be_read_names_its_signature() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let uplink = lossy_uplink(localnet.rpc_url()).await;
    uplink.drop_sends.store(false, Ordering::SeqCst);
    uplink.blind_statuses.store(true, Ordering::SeqCst);
    let client = funded_client(&localnet, &uplink.url, client_config()).await;
    let to = Keypair::new();
    let transfer =
        solana_system_interface::instruction::transfer(&client.payer(), &to.pubkey(), SOL);
    let error = client.send(&[transfer], &[]).await.unwrap_err();
    let ClientError::Unconfirmed { signature, reason } = error else {
        panic!("expected the signature to look up: {error:?}");
    };
    assert!(reason.contains("backend unavailable"), "{reason}");
    // it did land: looked up directly, the signature is the one that paid
    let direct = Client::new(localnet.rpc_url(), Keypair::new(), client_config());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = direct
            .rpc()
            .get_signature_statuses(&[signature])
            .await
            .unwrap()
            .value
            .remove(0);
        if status.is_some_and(|s| s.satisfies_commitment(CommitmentConfig::confirmed())) {
            break;
        }
        assert!(Instant::now() < deadline, "{signature} never confirmed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(direct.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    localnet.stop().await;
}

/// Defect: instructions that set their own compute-unit limit (`energy::batch_readings`
/// does) got a second one from `Client::send`, and two in one transaction fail it whole
/// (`DuplicateInstruction`): the gateway helper's batches could never be sent.
#[tokio::test]
async fn instructions_with_their_own_compute_budget_are_sent_with_it_alone() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let to = Keypair::new();
    let transfer =
        solana_system_interface::instruction::transfer(&client.payer(), &to.pubkey(), SOL);
    let own = depin_sdk::client::set_unit_limit(40_000);
    let outcome = landed(
        client.send(&[own.clone(), transfer.clone()], &[]).await,
        "with its own limit",
    );
    let sent = landed_transaction(&client, &outcome).await;
    let tags: Vec<u8> = sent
        .message
        .instructions()
        .iter()
        .filter(|ix| {
            sent.message.static_account_keys()[usize::from(ix.program_id_index)]
                == depin_sdk::compute::COMPUTE_BUDGET_ID
        })
        .map(|ix| ix.data[0])
        .collect();
    let limits: Vec<&u8> = tags.iter().filter(|t| **t == 2).collect();
    assert_eq!(
        limits.len(),
        1,
        "one unit limit, the instructions' own: {tags:?}"
    );
    assert!(tags.iter().filter(|t| **t == 3).count() <= 1, "{tags:?}");
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);

    // packed sends set the budget per transaction: a group setting its own is refused
    let refused = client
        .send_packed(
            vec![vec![transfer.clone()], vec![own, transfer]],
            &[],
            vec![],
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Pack(
                depin_sdk::pack::PackError::OwnComputeBudget { group: 1 }
            ))
        ),
        "{refused:?}"
    );
    assert_eq!(client.rpc().get_balance(&to.pubkey()).await.unwrap(), SOL);
    localnet.stop().await;
}

#[tokio::test]
async fn the_chain_time_is_the_clock_the_next_transaction_lands_under() {
    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let wall = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let before = client.chain_time().await.unwrap();
    assert!(
        (before - wall).abs() <= 5,
        "the localnet's clock follows the wall clock: {before} against {wall}"
    );
    // a transaction sent after the read lands in a block no earlier than it
    let to = Keypair::new().pubkey();
    let transfer = solana_system_interface::instruction::transfer(&client.payer(), &to, SOL);
    let Outcome::Landed { slot, .. } = landed(client.send(&[transfer], &[]).await, "transfer")
    else {
        unreachable!("landed() returns only landed outcomes");
    };
    let block_time = client.rpc().get_block_time(slot).await.unwrap();
    assert!(block_time >= before, "{block_time} before {before}");
    assert!(client.chain_time().await.unwrap() >= block_time);
    // no node: a typed error, not a default time
    let nowhere = Client::new("http://127.0.0.1:9", Keypair::new(), client_config());
    assert!(matches!(
        nowhere.chain_time().await,
        Err(ClientError::Rpc(_))
    ));
    localnet.stop().await;
}

#[tokio::test]
async fn a_stake_moved_between_devices_within_an_epoch_earns_for_neither() {
    use depin_sdk::incentives::{self, Coverage, Earning};

    let localnet = Localnet::start(Config::ephemeral()).await.unwrap();
    let client = funded_client(&localnet, &localnet.rpc_url(), client_config()).await;
    let confirmed = CommitmentConfig::confirmed();
    let net = scenario::network(&client, 7, true).await.expect("network");
    let op = &net.operator;
    // four devices; stake for three, bonded to three of them
    let [steady, hopped_from, hopped_to, rebonded] = [0; 4].map(|_| Keypair::new());
    let all = [&steady, &hopped_from, &hopped_to, &rebonded];
    let onboard: Vec<Vec<Instruction>> = all
        .iter()
        .map(|d| vec![net.onboard(d, scenario::LOCATION)])
        .collect();
    let mut signers: Vec<&Keypair> = vec![op, &net.maker];
    signers.extend(all);
    let outcomes = client
        .send_packed(onboard, &signers, Vec::new())
        .await
        .expect("onboarding");
    assert!(outcomes.iter().all(|(_, o)| o.is_landed()), "{outcomes:?}");
    net.open_stake(&client, 3).await.expect("stake");
    let bonds: Vec<Instruction> = [&steady, &hopped_from, &rebonded]
        .iter()
        .map(|d| net.bond(d))
        .collect();
    landed(client.send(&bonds, &[op]).await, "bonds");
    // another network's pool: its bond is in no snapshot of this one
    let other = scenario::network(&client, 8, true).await.expect("network");
    let elsewhere = Keypair::new();
    landed(
        client
            .send(
                &[other.onboard(&elsewhere, scenario::LOCATION)],
                &[&other.operator, &other.maker, &elsewhere],
            )
            .await,
        "onboard elsewhere",
    );
    other.open_stake(&client, 1).await.expect("stake elsewhere");
    landed(
        client
            .send(&[other.bond(&elsewhere)], &[&other.operator])
            .await,
        "bond elsewhere",
    );

    // the epoch's start
    let start = client.bonds(&net.network, confirmed).await.expect("bonds");
    assert_eq!(start.pool, pda::stake_pool(&net.network).0);
    let bonded: Vec<Pubkey> = start.bonds.keys().copied().collect();
    let mut expected = vec![
        net.device(&steady),
        net.device(&hopped_from),
        net.device(&rebonded),
    ];
    expected.sort();
    assert_eq!(bonded, expected);
    assert!(start
        .bonds
        .values()
        .all(|b| b.staker == op.pubkey() && b.collateralized));
    assert_eq!(
        client
            .bonds(&other.network, confirmed)
            .await
            .expect("bonds")
            .bonds
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![other.device(&elsewhere)]
    );

    // within it: the stake moves from one device to another in one transaction, and once
    // the chain's clock has moved on, another device is unbonded and bonded again
    // the operator's bond moved from device `from` to device `to` in one transaction
    let move_bond = |from: &Keypair, to: &Keypair| {
        [
            depin_sdk::staking::unbond_device(
                &op.pubkey(),
                &op.pubkey(),
                &net.network,
                &net.device(from),
            ),
            net.bond(to),
        ]
    };
    landed(
        client
            .send(&move_bond(&hopped_from, &hopped_to), &[op])
            .await,
        "hop",
    );
    let first_bonded = start.bonds[&net.device(&rebonded)].bonded_at;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.chain_time().await.unwrap() <= first_bonded {
        assert!(Instant::now() < deadline, "the chain's clock stands still");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    landed(
        client.send(&move_bond(&rebonded, &rebonded), &[op]).await,
        "rebond",
    );

    // its end: three bonds again, but only one of them the same bond all epoch
    let end = client.bonds(&net.network, confirmed).await.expect("bonds");
    assert!(end.slot > start.slot);
    assert_eq!(end.bonds.len(), 3);
    assert!(end.bonds[&net.device(&rebonded)].bonded_at > first_bonded);
    let earnings: Vec<Earning> = all
        .iter()
        .map(|d| Earning {
            device: net.device(d),
            owner: op.pubkey(),
            region: 0,
            amount: 1_000,
        })
        .collect();
    let coverage = Coverage {
        start: &start,
        end: &end,
    };
    let rows =
        incentives::epoch_rows(&[], &earnings, coverage, None, None, u64::MAX).expect("rows");
    assert_eq!(rows.paid, 1_000, "only the steady device earned its epoch");
    assert_eq!(
        rows.rows.iter().map(|r| r.device).collect::<Vec<_>>(),
        vec![net.device(&steady)]
    );
    let mut unbonded = rows.unbonded.clone();
    unbonded.sort();
    let mut expected = vec![
        net.device(&hopped_from),
        net.device(&hopped_to),
        net.device(&rebonded),
    ];
    expected.sort();
    assert_eq!(unbonded, expected);

    // a slash below the three devices' minimum: the next snapshot holds the same bonds,
    // none of them collateralized, so no device earns the epoch that ends with it
    let slash = depin_sdk::staking::slash(
        &net.authority.pubkey(),
        &net.network,
        &op.pubkey(),
        &net.token,
        &net.treasury,
        depin_sdk::staking::SlashArgs {
            amount: 1,
            evidence_hash: [7; 32],
        },
    );
    landed(client.send(&[slash], &[&net.authority]).await, "slash");
    let slashed = client.bonds(&net.network, confirmed).await.expect("bonds");
    assert_eq!(
        slashed.bonds.keys().collect::<Vec<_>>(),
        end.bonds.keys().collect::<Vec<_>>()
    );
    assert!(slashed.bonds.values().all(|b| !b.collateralized));
    let coverage = Coverage {
        start: &end,
        end: &slashed,
    };
    let rows =
        incentives::epoch_rows(&[], &earnings, coverage, None, None, u64::MAX).expect("rows");
    assert_eq!(rows.paid, 0);
    assert_eq!(
        rows.unbonded.len(),
        all.len(),
        "the three bonded and the one unbonded"
    );

    // a network without a stake pool: refused, not an empty snapshot
    let unpooled = scenario::network(&client, 9, true).await.expect("network");
    assert!(matches!(
        client.bonds(&unpooled.network, confirmed).await,
        Err(ClientError::Rpc(e)) if e.contains("no stake pool")
    ));
    // no node: a typed error, not an empty snapshot
    let nowhere = Client::new("http://127.0.0.1:9", Keypair::new(), client_config());
    assert!(matches!(
        nowhere.bonds(&net.network, confirmed).await,
        Err(ClientError::Rpc(_))
    ));
    localnet.stop().await;
}
