//! The decoder against transactions of the real programs, and against crafted logs and
//! payloads for the paths the programs do not take (`emit!` logs, garbage).

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use anchor_lang::event::EVENT_IX_TAG_LE;
use anchor_lang::Discriminator;
use base64::Engine;
use depin_indexer::decode::{
    decode_transaction, CompiledInstruction, EventSource, InnerInstructions, TransactionView,
};
use depin_indexer::events::{registry, staking, Event};
use depin_indexer::testkit::chain::transaction_view;
use depin_sdk::registry as registry_ix;
use depin_sdk::{pda, Pubkey};
use depin_tests::fixture::FixtureBuilder;
use depin_tests::runtime::Suite;
use depin_tests::{Keypair, Signer};

#[tokio::test]
async fn events_of_real_transactions() {
    let mut suite = Suite::start().await;
    let fx = FixtureBuilder::default()
        .operators(1, 1)
        .build(&mut suite)
        .await;
    let (op, _) = &fx.operators[0];

    // Given one transaction with two instructions: onboard a device, then stake
    let key = Keypair::new();
    let onboard = suite.onboard_instruction(
        &fx.net,
        &fx.maker,
        op,
        &key,
        depin_tests::fixture::default_device_args(),
    );
    let stake = depin_sdk::staking::stake(
        &op.wallet.pubkey(),
        &fx.net.network,
        &fx.net.token,
        &op.token_account,
        123,
    );
    let processed = suite
        .send_with_metadata(&[onboard, stake], &[&op.wallet, &fx.maker.authority, &key])
        .await
        .expect("send");

    // When it is decoded
    let decoded = decode_transaction(&transaction_view(&processed));

    // Then both events come out, keyed by instruction and event index, with chain values
    assert!(decoded.failures.is_empty(), "{:?}", decoded.failures);
    assert_eq!(decoded.events.len(), 2);
    let (first, second) = (&decoded.events[0], &decoded.events[1]);
    assert_eq!(
        (first.instruction_index, first.event_index, first.source),
        (0, 0, EventSource::InnerInstruction)
    );
    assert_eq!((second.instruction_index, second.event_index), (1, 0));
    assert_eq!(first.program, device_registry::ID);
    match &first.event {
        Event::Registry(registry::Event::DeviceOnboarded(e)) => {
            assert_eq!(e.device, pda::device(&fx.net.network, &key.pubkey()).0);
            assert_eq!(e.owner, op.wallet.pubkey());
            assert_eq!(e.fee_paid, fx.net.params.onboarding_fee);
        }
        other => panic!("expected DeviceOnboarded, got {other:?}"),
    }
    match &second.event {
        Event::Staking(staking::Event::Staked(e)) => {
            assert_eq!(
                (e.owner, e.amount, e.active),
                (op.wallet.pubkey(), 123, 123)
            );
        }
        other => panic!("expected Staked, got {other:?}"),
    }
    assert_eq!(second.event.kind(), "staking.Staked");

    // A later transaction decodes on its own, with its own keys
    let status = registry_ix::set_device_status(
        &fx.net.authority.pubkey(),
        &fx.net.network,
        &key.pubkey(),
        depin_sdk::accounts::DeviceStatus::Suspended,
    );
    let processed = suite
        .send_with_metadata(&[status], &[&fx.net.authority])
        .await
        .expect("suspend");
    let decoded = decode_transaction(&transaction_view(&processed));
    assert_eq!(decoded.events.len(), 1);
    assert_eq!(
        decoded.events[0].event.kind(),
        "registry.DeviceStatusChanged"
    );
}

fn event_bytes<E: anchor_lang::Event>(event: &E) -> Vec<u8> {
    event.data()
}

#[test]
fn log_events_are_attributed_to_the_invoking_program() {
    let registry = device_registry::ID;
    let other = Pubkey::new_unique();
    let event = device_registry::events::DeviceTransferred {
        device: Pubkey::new_unique(),
        previous_owner: Pubkey::new_unique(),
        new_owner: Pubkey::new_unique(),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(event_bytes(&event));
    let logs = vec![
        format!("Program {other} invoke [1]"),
        format!("Program data: {b64}"), // another program's data: ignored
        format!("Program {other} success"),
        format!("Program {registry} invoke [1]"),
        format!("Program {other} invoke [2]"),
        format!("Program {other} success"),
        format!("Program data: {b64}"),
        "Program data: !!!not-base64".to_string(),
        format!("Program {registry} success"),
    ];
    let decoded = decode_transaction(&TransactionView {
        log_messages: logs.into_iter().map(bytes::Bytes::from).collect(),
        ..Default::default()
    });
    assert_eq!(decoded.events.len(), 1);
    let record = &decoded.events[0];
    assert_eq!(
        (
            record.instruction_index,
            record.event_index,
            record.source,
            record.program
        ),
        (1, 0, EventSource::Log, registry)
    );
    assert_eq!(
        record.event,
        Event::Registry(registry::Event::DeviceTransferred(event))
    );
    assert_eq!(decoded.failures.len(), 1);
    assert!(
        decoded.failures[0].reason.contains("base64"),
        "{:?}",
        decoded.failures
    );
}

#[test]
fn undecodable_events_are_reported_not_dropped() {
    let keys = vec![
        Pubkey::new_unique(),
        device_registry::ID,
        Pubkey::new_unique(),
    ];
    let mut unknown = EVENT_IX_TAG_LE.to_vec();
    unknown.extend_from_slice(&[9; 8]);
    let mut truncated = EVENT_IX_TAG_LE.to_vec();
    truncated.extend_from_slice(device_registry::events::DeviceTransferred::DISCRIMINATOR);
    truncated.extend_from_slice(&[1, 2, 3]);
    let tx = TransactionView {
        account_keys: keys,
        inner_instructions: vec![InnerInstructions {
            index: 0,
            instructions: vec![
                CompiledInstruction {
                    program_id_index: 1,
                    data: unknown,
                },
                CompiledInstruction {
                    program_id_index: 1,
                    data: truncated,
                },
                // a CPI of the registry that is not an event: ignored
                CompiledInstruction {
                    program_id_index: 1,
                    data: vec![1, 2, 3],
                },
                // a non-suite program: ignored
                CompiledInstruction {
                    program_id_index: 2,
                    data: EVENT_IX_TAG_LE.to_vec(),
                },
                // an index outside the keys
                CompiledInstruction {
                    program_id_index: 9,
                    data: vec![],
                },
            ],
        }],
        log_messages: vec![],
    };
    let decoded = decode_transaction(&tx);
    assert!(decoded.events.is_empty());
    let reasons: Vec<&str> = decoded.failures.iter().map(|f| f.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("unknown event discriminator"));
    assert!(reasons[1].starts_with("DeviceTransferred"));
    assert!(reasons[2].contains("outside the account keys"));
}
