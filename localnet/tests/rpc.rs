//! The localnet over real HTTP on 127.0.0.1, read by Solana's own nonblocking RPC client:
//! every served method parses as a validator's answer would, commitment moves with the
//! slots, and what is not served says so.

use std::time::{Duration, Instant};

use depin_localnet::{Config, Localnet};
use depin_tests::{Keypair, Signer};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::ErrorKind;
use solana_rpc_client_api::config::{
    RpcAccountInfoConfig, RpcBlockConfig, RpcProgramAccountsConfig, RpcTransactionConfig,
};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_api::request::{RpcError, RpcRequest, RpcResponseErrorData};
use solana_transaction::Transaction;
use solana_transaction_status_client_types::{
    TransactionConfirmationStatus, UiTransactionEncoding,
};

const SOL: u64 = 1_000_000_000;

async fn start() -> (Localnet, RpcClient) {
    let localnet = Localnet::start(Config::ephemeral())
        .await
        .expect("localnet starts");
    let client = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    (localnet, client)
}

/// Polls `check` every 20 ms for at most `limit`.
async fn wait_for<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn transfer(from: &Keypair, to: &anchor_lang::prelude::Pubkey, lamports: u64) -> Transaction {
    let ix = solana_system_interface::instruction::transfer(&from.pubkey(), to, lamports);
    Transaction::new_with_payer(&[ix], Some(&from.pubkey()))
}

async fn funded(client: &RpcClient, lamports: u64) -> Keypair {
    let key = Keypair::new();
    let signature = client
        .request_airdrop(&key.pubkey(), lamports)
        .await
        .expect("airdrop");
    assert!(
        wait_for(Duration::from_secs(10), || async {
            client
                .confirm_transaction(&signature)
                .await
                .unwrap_or(false)
        })
        .await,
        "airdrop confirmed"
    );
    key
}

#[tokio::test]
async fn a_transfer_lands_and_every_read_method_sees_it() {
    let (localnet, client) = start().await;
    let alice = funded(&client, 10 * SOL).await;
    assert_eq!(client.get_balance(&alice.pubkey()).await.unwrap(), 10 * SOL);

    let bob = Keypair::new();
    let mut tx = transfer(&alice, &bob.pubkey(), 2 * SOL);
    let (blockhash, last_valid) = client
        .get_latest_blockhash_with_commitment(CommitmentConfig::processed())
        .await
        .unwrap();
    let height = client.get_block_height().await.unwrap();
    assert!(
        last_valid > height && last_valid <= height + 151,
        "{last_valid} vs {height}"
    );
    assert!(client
        .is_blockhash_valid(&blockhash, CommitmentConfig::processed())
        .await
        .unwrap());
    let fee = client.get_fee_for_message(&tx.message).await;
    tx.sign(&[&alice], blockhash);
    let fee = client
        .get_fee_for_message(&tx.message)
        .await
        .unwrap_or_else(|e| panic!("fee: {e} (unsigned: {fee:?})"));
    assert_eq!(fee, 5_000);
    let signature = client.send_and_confirm_transaction(&tx).await.unwrap();

    assert_eq!(client.get_balance(&bob.pubkey()).await.unwrap(), 2 * SOL);
    assert_eq!(
        client.get_balance(&alice.pubkey()).await.unwrap(),
        8 * SOL - fee
    );

    // status, then the transaction and its block
    let status = client
        .get_signature_statuses(&[signature])
        .await
        .unwrap()
        .value[0]
        .clone()
        .expect("status");
    assert!(status.err.is_none());
    let landed = client
        .get_transaction_with_config(
            &signature,
            RpcTransactionConfig {
                encoding: Some(UiTransactionEncoding::Json),
                commitment: Some(CommitmentConfig::confirmed()),
                max_supported_transaction_version: Some(0),
            },
        )
        .await
        .unwrap();
    assert_eq!(landed.slot, status.slot);
    let meta = landed.transaction.meta.expect("meta");
    assert_eq!(meta.fee, fee);
    let decoded = landed.transaction.transaction.decode().is_none();
    assert!(decoded, "json encoding is not binary");
    let block = client
        .get_block_with_config(
            status.slot,
            RpcBlockConfig {
                encoding: Some(UiTransactionEncoding::Base64),
                commitment: Some(CommitmentConfig::confirmed()),
                max_supported_transaction_version: Some(0),
                ..RpcBlockConfig::default()
            },
        )
        .await
        .unwrap();
    let in_block: Vec<_> = block
        .transactions
        .unwrap()
        .iter()
        .filter_map(|t| t.transaction.decode())
        .map(|t| t.signatures[0])
        .collect();
    assert!(in_block.contains(&signature));
    assert_eq!(block.parent_slot + 1, status.slot);

    // accounts, one at a time, several, and by owner with filters
    let account = client.get_account(&bob.pubkey()).await.unwrap();
    assert_eq!(account.lamports, 2 * SOL);
    let many = client
        .get_multiple_accounts(&[alice.pubkey(), bob.pubkey(), Keypair::new().pubkey()])
        .await
        .unwrap();
    assert_eq!(many[1].as_ref().map(|a| a.lamports), Some(2 * SOL));
    assert!(many[2].is_none(), "an unknown address has no account");
    let system = anchor_lang::solana_program::system_program::ID;
    let owned = client
        .get_program_ui_accounts_with_config(
            &system,
            RpcProgramAccountsConfig {
                filters: Some(vec![RpcFilterType::DataSize(0)]),
                account_config: RpcAccountInfoConfig {
                    commitment: Some(CommitmentConfig::confirmed()),
                    ..RpcAccountInfoConfig::default()
                },
                ..RpcProgramAccountsConfig::default()
            },
        )
        .await
        .unwrap();
    assert!(owned.iter().any(|(k, _)| *k == bob.pubkey()));
    let none = client
        .get_program_ui_accounts_with_config(
            &system,
            RpcProgramAccountsConfig {
                filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                    0,
                    vec![1],
                ))]),
                ..RpcProgramAccountsConfig::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "no zero-length account matches a byte");
    assert_eq!(
        client
            .get_minimum_balance_for_rent_exemption(0)
            .await
            .unwrap(),
        890_880
    );
    localnet.stop().await;
}

#[tokio::test]
async fn commitment_moves_from_processed_to_finalized_and_reads_follow_it() {
    let (localnet, client) = start().await;
    let alice = funded(&client, 10 * SOL).await;
    let bob = Keypair::new();
    let mut tx = transfer(&alice, &bob.pubkey(), SOL);
    tx.sign(&[&alice], client.get_latest_blockhash().await.unwrap());
    let signature = client
        .send_transaction_with_config(
            &tx,
            solana_rpc_client_api::config::RpcSendTransactionConfig {
                skip_preflight: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // landed in the open slot: processed, and invisible to a finalized read
    let status = client
        .get_signature_statuses(&[signature])
        .await
        .unwrap()
        .value[0]
        .clone()
        .expect("landed at once");
    let first = status.confirmation_status.clone().expect("a level");
    let finalized_balance = client
        .get_balance_with_commitment(&bob.pubkey(), CommitmentConfig::finalized())
        .await
        .unwrap()
        .value;
    assert_eq!(finalized_balance, 0, "not finalized yet");
    let mut seen = vec![first];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10)
        && seen.last() != Some(&TransactionConfirmationStatus::Finalized)
    {
        let level = client
            .get_signature_statuses(&[signature])
            .await
            .unwrap()
            .value[0]
            .clone()
            .and_then(|s| s.confirmation_status);
        if let Some(level) = level {
            if seen.last() != Some(&level) {
                seen.push(level);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // every level seen once, in order (the first poll may already find the slot closed)
    let rank = |l: &TransactionConfirmationStatus| match l {
        TransactionConfirmationStatus::Processed => 0,
        TransactionConfirmationStatus::Confirmed => 1,
        TransactionConfirmationStatus::Finalized => 2,
    };
    assert!(
        seen.windows(2).all(|w| rank(&w[0]) < rank(&w[1])),
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&TransactionConfirmationStatus::Finalized));
    assert!(seen.len() >= 2, "seen before finality: {seen:?}");
    assert_eq!(
        client
            .get_balance_with_commitment(&bob.pubkey(), CommitmentConfig::finalized())
            .await
            .unwrap()
            .value,
        SOL
    );
    let processed = client
        .get_slot_with_commitment(CommitmentConfig::processed())
        .await
        .unwrap();
    let confirmed = client
        .get_slot_with_commitment(CommitmentConfig::confirmed())
        .await
        .unwrap();
    let finalized = client
        .get_slot_with_commitment(CommitmentConfig::finalized())
        .await
        .unwrap();
    assert!(processed >= confirmed && confirmed >= finalized);
    assert!(processed > finalized);
    localnet.stop().await;
}

#[tokio::test]
async fn failures_are_answered_as_a_validator_answers_them() {
    let (localnet, client) = start().await;
    let alice = funded(&client, SOL).await;

    // a method not served
    let err = client
        .send::<serde_json::Value>(
            RpcRequest::Custom {
                method: "getStakeMinimumDelegation",
            },
            json!([]),
        )
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => assert_eq!(*code, -32601),
        other => panic!("expected method not found, got {other:?}"),
    }
    // a malformed address
    let err = client
        .send::<serde_json::Value>(RpcRequest::GetBalance, json!(["not-a-key"]))
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => assert_eq!(*code, -32602),
        other => panic!("expected invalid params, got {other:?}"),
    }

    // preflight: spending more than the account holds fails simulation, nothing lands
    let bob = Keypair::new();
    let mut tx = transfer(&alice, &bob.pubkey(), 2 * SOL);
    tx.sign(&[&alice], client.get_latest_blockhash().await.unwrap());
    let err = client.send_transaction(&tx).await.unwrap_err();
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError {
            code,
            data: RpcResponseErrorData::SendTransactionPreflightFailure(result),
            ..
        }) => {
            assert_eq!(*code, -32002);
            assert!(result.err.is_some());
            assert!(!result.logs.clone().unwrap_or_default().is_empty());
        }
        other => panic!("expected a preflight failure, got {other:?}"),
    }
    assert!(client
        .get_signature_statuses(&[tx.signatures[0]])
        .await
        .unwrap()
        .value[0]
        .is_none());
    assert_eq!(client.get_balance(&alice.pubkey()).await.unwrap(), SOL);

    // a forged signature is refused before anything runs
    let mut forged = transfer(&alice, &bob.pubkey(), 1);
    forged.sign(&[&alice], client.get_latest_blockhash().await.unwrap());
    forged.signatures[0] = Keypair::new().sign_message(b"not the message");
    let err = client.send_transaction(&forged).await.unwrap_err();
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => assert_eq!(*code, -32003),
        other => panic!("expected a signature failure, got {other:?}"),
    }

    // the same signed transaction twice lands once
    let mut once = transfer(&alice, &bob.pubkey(), SOL / 10);
    once.sign(&[&alice], client.get_latest_blockhash().await.unwrap());
    client.send_and_confirm_transaction(&once).await.unwrap();
    let again = client.send_transaction(&once).await.unwrap_err();
    assert!(
        again.to_string().contains("already been processed"),
        "{again}"
    );
    assert_eq!(client.get_balance(&bob.pubkey()).await.unwrap(), SOL / 10);
    localnet.stop().await;
}

#[tokio::test]
async fn an_expired_blockhash_is_refused_and_prioritization_fees_follow_the_writes() {
    let (localnet, client) = start().await;
    let alice = funded(&client, 10 * SOL).await;
    let old = client
        .get_latest_blockhash_with_commitment(CommitmentConfig::processed())
        .await
        .unwrap()
        .0;

    // a transaction that pays 5,000 micro-lamports per unit for writing alice
    let bob = Keypair::new();
    let price = anchor_lang::solana_program::instruction::Instruction {
        program_id: depin_sdk::compute::COMPUTE_BUDGET_ID,
        accounts: vec![],
        data: [vec![3u8], 5_000u64.to_le_bytes().to_vec()].concat(),
    };
    let pay = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob.pubkey(), SOL);
    let mut tx = Transaction::new_with_payer(&[price, pay], Some(&alice.pubkey()));
    tx.sign(&[&alice], client.get_latest_blockhash().await.unwrap());
    client.send_and_confirm_transaction(&tx).await.unwrap();
    let fees = client
        .get_recent_prioritization_fees(&[alice.pubkey()])
        .await
        .unwrap();
    assert!(
        fees.iter().any(|f| f.prioritization_fee == 5_000),
        "{fees:?}"
    );
    let untouched = client
        .get_recent_prioritization_fees(&[Keypair::new().pubkey()])
        .await
        .unwrap();
    assert!(untouched.iter().all(|f| f.prioritization_fee == 0));

    // wait out the old blockhash: 150 newer ones at 50 ms slots
    assert!(
        wait_for(Duration::from_secs(20), || async {
            !client
                .is_blockhash_valid(&old, CommitmentConfig::processed())
                .await
                .unwrap()
        })
        .await,
        "the blockhash expires"
    );
    let mut late = transfer(&alice, &bob.pubkey(), 1);
    late.sign(&[&alice], old);
    let err = client.send_transaction(&late).await.unwrap_err();
    assert!(err.to_string().contains("Blockhash not found"), "{err}");
    localnet.stop().await;
}

#[tokio::test]
async fn old_blocks_and_transactions_are_cleaned_up_as_a_validator_cleans_its_ledger() {
    let localnet = Localnet::start(Config {
        history_slots: 20,
        ..Config::ephemeral()
    })
    .await
    .expect("localnet starts");
    let client = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    let alice = funded(&client, SOL).await;
    let mut tx = transfer(&alice, &Keypair::new().pubkey(), SOL / 10);
    tx.sign(&[&alice], client.get_latest_blockhash().await.unwrap());
    let signature = client.send_and_confirm_transaction(&tx).await.unwrap();
    let slot = client
        .get_signature_statuses(&[signature])
        .await
        .unwrap()
        .value[0]
        .clone()
        .expect("landed")
        .slot;
    assert!(client.get_first_available_block().await.unwrap() <= slot);

    // 20 slots later the block and its transaction are gone, and the node says so
    assert!(
        wait_for(Duration::from_secs(20), || async {
            client.get_first_available_block().await.unwrap() > slot
        })
        .await,
        "history moves on"
    );
    let err = client.get_block(slot).await.unwrap_err();
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, message, .. }) => {
            assert_eq!(*code, -32001);
            assert!(message.contains("cleaned up"), "{message}");
        }
        other => panic!("expected cleaned up, got {other:?}"),
    }
    assert!(client
        .get_signature_statuses(&[signature])
        .await
        .unwrap()
        .value[0]
        .is_none());
    let gone = client
        .get_transaction(&signature, UiTransactionEncoding::Json)
        .await;
    assert!(gone.is_err(), "a cleaned-up transaction is not found");
    // accounts are state, not history: the balance is still there
    assert_eq!(
        client.get_balance(&alice.pubkey()).await.unwrap(),
        SOL - SOL / 10 - 5_000
    );
    localnet.stop().await;
}
