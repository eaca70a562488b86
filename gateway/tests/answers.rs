//! The outbox against a service whose answer does not account for the batch it was sent:
//! an answer that does not name every report exactly once is refused as
//! [`OutboxError::BadAnswer`] and every report stays pending (a count that overflows
//! panicked the gateway; two refusals naming one report forgot a third report unanswered).
//! The service here is a plain HTTP server on loopback answering a fixed body, which the
//! real telemetry service never sends (`outbox.rs` settles real answers, a refusal among
//! them, against the real service).

use std::time::Duration;

use depin_gateway::{Outbox, OutboxError, Uplink};
use depin_sdk::telemetry::{GatewayNameError, Metrics};
use depin_sdk::Pubkey;
use solana_keypair::Keypair;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server on 127.0.0.1 answering each of up to `requests` requests with `body` (HTTP 200,
/// JSON); returns its base URL.
async fn answering(body: &'static str, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        for _ in 0..requests {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            // the request: its head, then as many bytes as its Content-Length says
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            let complete = |r: &[u8]| {
                let Some(end) = r.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return false;
                };
                let head = String::from_utf8_lossy(&r[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                r.len() >= end + 4 + length
            };
            while !complete(&request) {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}

/// An outbox in `dir` holding `n` reports of one device.
fn outbox_with(dir: &tempfile::TempDir, n: u64) -> Outbox {
    let outbox = Outbox::open(dir.path().join("outbox.redb")).expect("outbox");
    let (network, device) = (Pubkey::new_unique(), Keypair::new());
    for k in 0..n {
        outbox
            .record(
                &network,
                &device,
                1_800_000_000 + k as i64,
                Metrics::Heartbeat,
            )
            .expect("record");
    }
    outbox
}

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn an_answer_whose_counts_overflow_is_refused_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = outbox_with(&dir, 2);
    let url = answering(
        r#"{"accepted":18446744073709551615,"rejected":[{"index":0,"kind":"stale","error":"y"}]}"#,
        1,
    )
    .await;
    let uplink = Uplink::new(&url, "gw-1", TIMEOUT).expect("uplink");
    match outbox.deliver(&uplink).await {
        Err(OutboxError::BadAnswer(why)) => assert!(why.contains("batch of 2"), "{why}"),
        other => panic!("expected BadAnswer, got {other:?}"),
    }
    assert_eq!(outbox.pending_len().expect("pending"), 2);
    assert!(outbox.dead_letters().expect("letters").is_empty());
}

#[tokio::test]
async fn an_answer_naming_one_report_twice_is_refused_and_loses_nothing() {
    // Given three pending reports, When the service accepts one and refuses the first twice
    // (the counts add up to three, the third report is never answered for)
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = outbox_with(&dir, 3);
    let url = answering(
        r#"{"accepted":1,"rejected":[{"index":0,"kind":"replay","error":"r"},{"index":0,"kind":"replay","error":"r"}]}"#,
        1,
    )
    .await;
    let uplink = Uplink::new(&url, "gw-1", TIMEOUT).expect("uplink");
    match outbox.deliver(&uplink).await {
        Err(OutboxError::BadAnswer(why)) => assert!(why.contains("[0, 0]"), "{why}"),
        other => panic!("expected BadAnswer, got {other:?}"),
    }
    // Then all three stay pending
    assert_eq!(outbox.pending_len().expect("pending"), 3);
}

#[test]
fn a_gateway_name_the_service_would_refuse_is_refused_at_the_uplink() {
    for (name, expected) in [
        (String::new(), GatewayNameError::Empty),
        ("g".repeat(65), GatewayNameError::TooLong(65)),
        ("gw\0".to_string(), GatewayNameError::Control('\0')),
    ] {
        match Uplink::new("http://127.0.0.1:1", &name, TIMEOUT) {
            Err(OutboxError::BadGatewayName(e)) => assert_eq!(e, expected),
            other => panic!("{name:?}: expected BadGatewayName, got {other:?}"),
        }
    }
}
