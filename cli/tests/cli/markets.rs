//! The storage and energy markets through the CLI: a deal proposed, accepted and proven for
//! a period; an energy market with an ask, a bid escrowing the stablecoin, and a meter's
//! signed reading; each checked on chain.

use std::path::{Path, PathBuf};

use crate::common::{network, Env, SOL};
use depin_sdk::accounts::{Deal, DealState, Interval, MeterReading};
use depin_sdk::{pda, Pubkey};
use solana_keypair::Keypair;
use solana_signer::Signer;

const TOKEN: u64 = 1_000_000;

/// A funded owner holding `tokens` of `mint`, with one device onboarded.
async fn operator(
    env: &Env,
    name: &str,
    admin: &Path,
    mint: &Pubkey,
    tokens: &str,
    id: &str,
    maker: &Path,
) -> (PathBuf, Keypair, PathBuf, Keypair) {
    let (wallet, wallet_key) = env.key(name, 5 * SOL).await;
    env.depin(
        admin,
        &[
            "token",
            "mint-to",
            "--mint",
            &mint.to_string(),
            "--to",
            &wallet_key.pubkey().to_string(),
            "--amount",
            tokens,
        ],
    )
    .await
    .json();
    let (device, device_key) = env.key(&format!("{name}-device"), 0).await;
    env.depin(
        &wallet,
        &[
            "device",
            "onboard",
            "--network-id",
            id,
            "--maker-keypair",
            maker.to_str().unwrap(),
            "--device-keypair",
            device.to_str().unwrap(),
            "--capacity-gib",
            "100",
            "--panel-watts",
            "400",
            "--battery-wh",
            "5000",
        ],
    )
    .await
    .json();
    (wallet, wallet_key, device, device_key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_deal_is_proposed_accepted_and_proven() {
    let env = Env::start().await;
    let (admin, mint, net, maker) = network(&env, "21", "storage").await;
    let (provider, provider_key, _, device_key) =
        operator(&env, "provider", &admin, &mint, "100", "21", &maker).await;
    let (client, client_key) = env.key("client", 5 * SOL).await;
    env.depin(
        &admin,
        &[
            "token",
            "mint-to",
            "--mint",
            &mint.to_string(),
            "--to",
            &client_key.pubkey().to_string(),
            "--amount",
            "50",
        ],
    )
    .await
    .json();
    env.depin(
        &admin,
        &[
            "storage",
            "market-create",
            "--network-id",
            "21",
            "--payment-mint",
            &mint.to_string(),
            "--proving-period-secs",
            "60",
            "--challenge-window-slots",
            "500",
            "--challenges-per-period",
            "2",
            "--max-consecutive-faults",
            "2",
            "--fault-slash-bps",
            "1000",
            "--protocol-fee-bps",
            "100",
        ],
    )
    .await
    .json();
    sync_changes_nothing(&env, &client, "storage", "21").await;

    // Given: 10 KB of data the client wants stored for 3 periods at 1 token each
    let file = env.path("piece.bin");
    let data: Vec<u8> = (0u32..10_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, data).unwrap();
    let file_s = file.to_str().unwrap();
    let proposed = env
        .depin(
            &client,
            &[
                "storage",
                "propose",
                "--network-id",
                "21",
                "--provider-device-key",
                &device_key.pubkey().to_string(),
                "--file",
                file_s,
                "--price-per-period",
                "1",
                "--periods",
                "3",
                "--collateral",
                "5",
            ],
        )
        .await
        .json();
    assert_eq!(proposed["deal_id"], 0);
    assert_eq!(proposed["escrowed"], 3 * TOKEN);
    let deal_address = pda::deal(&client_key.pubkey(), 0).0;
    let vault = pda::storage_vault(&pda::storage_market(&net).0).0;
    assert_eq!(env.token_balance(&vault).await, 3 * TOKEN);

    // When: the provider accepts the terms on chain, for the file it holds, and proves
    // period 0
    let client_s = client_key.pubkey().to_string();
    // files that are not the deal's piece: one chunk where the terms name three, and
    // three chunks of other bytes
    std::fs::write(env.path("other.bin"), b"other data").unwrap();
    let other_s = env.path("other.bin").to_str().unwrap().to_string();
    std::fs::write(env.path("same-size.bin"), vec![7u8; 10_000]).unwrap();
    let same_size_s = env.path("same-size.bin").to_str().unwrap().to_string();
    let accept = |file: &str, chunk_size: &str| {
        [
            "storage",
            "accept",
            "--network-id",
            "21",
            "--client",
            &client_s,
            "--deal-id",
            "0",
            "--file",
            file,
            "--chunk-size",
            chunk_size,
        ]
        .map(str::to_string)
    };
    let provider_tokens = Env::ata(&provider_key.pubkey(), &mint);
    // each refused before anything is sent: no collateral posted
    for (file, chunk_size, why) in [
        (
            other_s.as_str(),
            "4096",
            "is not the deal's piece: the deal's chunk count is 3, the file's 1",
        ),
        (
            same_size_s.as_str(),
            "4096",
            "is not the deal's piece: the deal's piece root is",
        ),
        (
            file_s,
            "1024",
            "the deal's chunk size is 4096, the accepted 1024",
        ),
    ] {
        let refused = accept(file, chunk_size);
        let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
        env.depin(&provider, &refused).await.assert_bad_input(why);
    }
    assert_eq!(env.token_balance(&provider_tokens).await, 100 * TOKEN);
    let accepted = accept(file_s, "4096");
    let accepted: Vec<&str> = accepted.iter().map(String::as_str).collect();
    env.depin(&provider, &accepted).await.json();
    assert_eq!(env.token_balance(&provider_tokens).await, 95 * TOKEN);
    // `storage prove` of deal 0 with `file`, then `extra`
    let prove = |file: &str, extra: &[&str]| {
        let mut args = vec![
            "storage".to_string(),
            "prove".into(),
            "--network-id".into(),
            "21".into(),
            "--client".into(),
            client_s.clone(),
            "--deal-id".into(),
            "0".into(),
            "--file".into(),
            file.to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let run = |args: Vec<String>| {
        let env = &env;
        let provider = provider.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            env.depin(&provider, &args).await
        }
    };
    let proven = run(prove(file_s, &[])).await.json();

    // Then: both challenges answered, the period paid less the 1% protocol fee
    assert_eq!(proven["period"], 0);
    assert_eq!(proven["answers_sent"], 2);
    assert_eq!(proven["proven"], true);
    let deal: Deal = env.account(&deal_address).await;
    assert_eq!(deal.state, DealState::Active);
    assert_eq!(
        deal.records[0].status,
        depin_sdk::storage_program::state::PERIOD_PROVEN
    );
    assert_eq!(
        env.token_balance(&provider_tokens).await,
        95 * TOKEN + 990_000
    );
    // proving it again sends nothing and says it is proven
    let again = run(prove(file_s, &["--period", "0"])).await.json();
    assert_eq!(again["answers_sent"], 0);
    assert_eq!(again["proven"], true);
    assert_eq!(again["signatures"], serde_json::json!([]));
    let shown = env
        .depin(
            &client,
            &["storage", "show", "--client", &client_s, "--deal-id", "0"],
        )
        .await
        .json();
    assert_eq!(shown["state"], "active");
    // a file that is not the deal's is refused before anything is sent
    run(prove(&other_s, &[]))
        .await
        .assert_bad_input("is not the deal's piece: the deal's chunk count is 3, the file's 1");
    run(prove(&same_size_s, &[]))
        .await
        .assert_bad_input("is not the deal's piece: the deal's piece root is");
    env.localnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_energy_market_takes_asks_bids_and_signed_readings() {
    let env = Env::start().await;
    let (admin, mint, net, maker) = network(&env, "22", "energy").await;
    let stable = env
        .depin(&admin, &["token", "create-mint", "--decimals", "6"])
        .await
        .key("mint");
    let (producer, producer_wallet, producer_device, producer_key) =
        operator(&env, "producer", &admin, &mint, "1", "22", &maker).await;
    let (consumer, consumer_key, _, consumer_device) =
        operator(&env, "consumer", &admin, &mint, "1", "22", &maker).await;
    env.depin(
        &admin,
        &[
            "token",
            "mint-to",
            "--mint",
            &stable.to_string(),
            "--to",
            &consumer_key.pubkey().to_string(),
            "--amount",
            "10",
        ],
    )
    .await
    .json();
    env.depin(
        &admin,
        &[
            "energy",
            "market-create",
            "--network-id",
            "22",
            "--quote-mint",
            &stable.to_string(),
            "--interval-secs",
            "60",
            "--gate-closure-secs",
            "10",
            "--settlement-delay-secs",
            "600",
            "--price-floor",
            "0.000001",
            "--price-cap",
            "1",
        ],
    )
    .await
    .json();
    sync_changes_nothing(&env, &admin, "energy", "22").await;
    let market = pda::energy_market(&net).0;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let open = (now / 60 + 2).to_string();
    let past = (now / 60 - 1).to_string();

    let device = producer_key.pubkey().to_string();
    let ask = |wh: &'static str| {
        [
            "energy",
            "ask",
            "--network-id",
            "22",
            "--device-key",
            &device,
            "--interval",
            &open,
            "--price",
            "0.1",
            "--wh",
            wh,
        ]
    };
    // an ask above what the meter can deliver in one 60 s interval (6 Wh of its 400 W
    // panel and its 5,000 Wh battery) is refused before anything is sent
    let lamports = env
        .rpc
        .get_balance(&producer_wallet.pubkey())
        .await
        .unwrap();
    env.depin(&producer, &ask("5007")).await
    .assert_bad_input(
        "--wh 5007 is above what the device can deliver in one 60 s interval: 5006 Wh (400 W of panel, 5000 Wh of battery)",
    );
    assert_eq!(
        env.rpc
            .get_balance(&producer_wallet.pubkey())
            .await
            .unwrap(),
        lamports,
        "no fee paid"
    );

    // When: a producer asks, a consumer bids (escrowing limit x kWh), the meter reads
    env.depin(&producer, &ask("500")).await.json();
    env.depin(
        &consumer,
        &[
            "energy",
            "bid",
            "--network-id",
            "22",
            "--device-key",
            &consumer_device.pubkey().to_string(),
            "--interval",
            &open,
            "--limit",
            "0.2",
            "--wh",
            "1000",
        ],
    )
    .await
    .json();
    env.depin(
        &producer,
        &[
            "energy",
            "reading",
            "--network-id",
            "22",
            "--device-keypair",
            producer_device.to_str().unwrap(),
            "--interval",
            &past,
            "--produced-wh",
            "300",
            "--counter",
            "1",
        ],
    )
    .await
    .json();

    // Then: the book holds both orders, the escrow moved, the reading is stored
    let data = env
        .data(&pda::interval(&market, open.parse().unwrap()).0)
        .await
        .expect("interval");
    let interval: Interval = depin_sdk::accounts::decode_interval(&data).expect("interval decodes");
    assert_eq!((interval.ask_count, interval.bid_count), (1, 1));
    assert_eq!(
        (interval.asks[0].price, interval.asks[0].wh),
        (100_000, 500)
    );
    assert_eq!(
        (interval.bids[0].limit, interval.bids[0].wh),
        (200_000, 1000)
    );
    assert_eq!(
        env.token_balance(&pda::energy_vault(&market).0).await,
        200_000
    );
    assert_eq!(
        env.token_balance(&Env::ata(&consumer_key.pubkey(), &stable))
            .await,
        10 * TOKEN - 200_000
    );
    let device = pda::device(&net, &producer_key.pubkey()).0;
    let reading: MeterReading = env
        .account(&pda::meter_reading(&device, past.parse().unwrap()).0)
        .await;
    assert_eq!((reading.produced_wh, reading.counter), (300, 1));
    let shown = env
        .depin(
            &admin,
            &[
                "account",
                "show",
                &pda::interval(&market, open.parse().unwrap()).0.to_string(),
            ],
        )
        .await
        .json();
    assert_eq!(shown["type"], "Interval");
    assert_eq!(shown["data"]["asks"][0]["wh"], 500);
    env.localnet.stop().await;
}

/// `<group> market-sync-treasury` by anyone, on a network whose treasury never moved: the
/// market's treasury, already the treasury owner's associated account, stays.
async fn sync_changes_nothing(env: &Env, keypair: &Path, group: &str, network_id: &str) {
    let synced = env
        .depin(
            keypair,
            &[group, "market-sync-treasury", "--network-id", network_id],
        )
        .await
        .json();
    assert_eq!(synced["previous"], synced["treasury"], "{synced}");
    assert!(synced["market"].is_string(), "{synced}");
}
