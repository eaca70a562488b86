//! Defect: a command whose transaction landed, then whose read back of the result failed
//! (the node lost between the two), exited 3 as if nothing had happened, so a script
//! retrying on the exit code staked twice. Now it exits 0, says which read failed, and the
//! chain holds the stake once.

use depin_sdk::accounts::{StakePool, StakePosition};
use depin_sdk::pda;
use solana_signer::Signer;

use crate::common::{network, run_depin, Env, ReadBackFails, SOL};

const TOKEN: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landed_transaction_whose_read_back_fails_exits_0_and_names_the_failure() {
    let env = Env::start().await;
    let (admin, mint, network, _) = network(&env, "31", "wireless").await;
    let (operator, operator_key) = env.key("operator", 5 * SOL).await;
    let (mint, owner) = (mint.to_string(), operator_key.pubkey().to_string());
    env.depin(
        &admin,
        &[
            "token", "mint-to", "--mint", &mint, "--to", &owner, "--amount", "100",
        ],
    )
    .await
    .json();
    env.depin(
        &admin,
        &[
            "stake",
            "pool-create",
            "--network-id",
            "31",
            "--min-stake-per-device",
            "10",
            "--cooldown-secs",
            "1",
        ],
    )
    .await
    .json();
    let pool = pda::stake_pool(&network).0;
    let position = pda::stake_position(&pool, &operator_key.pubkey()).0;

    // through a node that fails every account read once the stake was sent
    let proxy = ReadBackFails::start(env.url.clone()).await;
    let through = |keypair: &std::path::Path| {
        vec![
            "--url".to_owned(),
            proxy.url.clone(),
            "--keypair".to_owned(),
            keypair.to_str().expect("utf-8 path").to_owned(),
            "--output".to_owned(),
            "json".to_owned(),
        ]
    };
    let mut args = through(&operator);
    args.extend(["stake", "deposit", "--network-id", "31", "--amount", "30"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_depin(&args).await;
    let out = run.json(); // exit 0, one JSON object
    assert_eq!(out["staked"], 30 * TOKEN, "{out}");
    assert_eq!(out["position"], position.to_string().as_str(), "{out}");
    assert!(out["signature"].is_string(), "{out}");
    assert!(out.get("total").is_none(), "nothing read back: {out}");
    let unread = out["unread"].as_str().unwrap_or_default();
    assert!(unread.contains("backend unavailable"), "{out}");
    assert!(
        run.stderr.contains("landed") && run.stderr.contains("warning"),
        "{run:#?}"
    );
    assert_eq!(proxy.sends(), 1, "sent once");
    let staked: StakePosition = env.account(&position).await;
    assert_eq!(staked.amount, 30 * TOKEN, "the stake landed, once");

    // the pool's authority, the same way: the update landed, the command says so
    proxy.rearm();
    let mut args = through(&admin);
    args.extend(
        [
            "stake",
            "pool-update",
            "--network-id",
            "31",
            "--min-stake-per-device",
            "20",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_depin(&args).await.json();
    assert!(out["unread"].is_string(), "{out}");
    assert!(out.get("min_stake_per_device").is_none(), "{out}");
    assert_eq!(proxy.sends(), 2);
    let updated: StakePool = env.account(&pool).await;
    assert_eq!(updated.min_stake_per_device, 20 * TOKEN);

    // with the node answering, the read back is in the output and nothing is unread
    let out = env
        .depin(
            &operator,
            &["stake", "deposit", "--network-id", "31", "--amount", "5"],
        )
        .await
        .json();
    assert_eq!(out["total"], 35 * TOKEN, "{out}");
    assert!(out.get("unread").is_none(), "{out}");
    env.localnet.stop().await;
}
