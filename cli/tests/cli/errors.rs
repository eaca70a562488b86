//! Bad input exits 2 with one line on stderr and changes nothing on chain; a program error
//! exits 1 with the program's error name; `--output json` prints one parseable object.

use crate::common::{run_depin, Env, SOL};
use depin_sdk::{pda, Pubkey};
use solana_signer::Signer;

/// A network with its mint, created through the CLI by a funded admin.
struct Setup {
    env: Env,
    admin: std::path::PathBuf,
    admin_key: solana_keypair::Keypair,
    mint: Pubkey,
    network: Pubkey,
}

async fn setup(network_id: &str) -> Setup {
    let env = Env::start().await;
    let (admin, admin_key) = env.key("admin", 50 * SOL).await;
    let mint = env
        .depin(&admin, &["token", "create-mint", "--decimals", "6"])
        .await
        .key("mint");
    let created = env
        .depin(
            &admin,
            &[
                "network",
                "create",
                "--network-id",
                network_id,
                "--kind",
                "wireless",
                "--reward-mint",
                &mint.to_string(),
                "--fee-mint",
                &mint.to_string(),
                "--onboarding-fee",
                "1",
            ],
        )
        .await;
    let network = created.key("network");
    Setup {
        env,
        admin,
        admin_key,
        mint,
        network,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_with_one_line_and_sends_nothing() {
    let Setup {
        env,
        admin,
        admin_key,
        mint,
        network,
    } = setup("3").await;
    let maker = solana_keypair::Keypair::new().pubkey().to_string();
    let mint_s = mint.to_string();
    let admin_s = admin_key.pubkey().to_string();

    // Given: the chain as it is now
    let lamports = env.balance(&admin_key.pubkey()).await;
    let supply = env.supply(&mint).await;
    let network_data = env.data(&network).await.expect("network exists");

    // When / Then: each bad input is refused before anything is sent
    let missing = env.path("missing.json");
    env.depin(
        &missing,
        &[
            "token", "mint-to", "--mint", &mint_s, "--to", &admin_s, "--amount", "1",
        ],
    )
    .await
    .assert_bad_input(&format!("keypair file {} not found", missing.display()));

    let malformed = env.path("malformed.json");
    std::fs::write(&malformed, "[1, 2, 3]").unwrap();
    env.depin(
        &malformed,
        &[
            "token", "mint-to", "--mint", &mint_s, "--to", &admin_s, "--amount", "1",
        ],
    )
    .await
    .assert_bad_input("keypair file");

    env.depin(
        &admin,
        &[
            "maker",
            "register",
            "--network-id",
            "3",
            "--maker-authority",
            "not-a-pubkey",
            "--name",
            "Acme",
            "--quota",
            "1",
        ],
    )
    .await
    .assert_bad_input("malformed pubkey");

    let unknown = pda::network(999).0;
    env.depin(
        &admin,
        &[
            "maker",
            "register",
            "--network-id",
            "999",
            "--maker-authority",
            &maker,
            "--name",
            "Acme",
            "--quota",
            "1",
        ],
    )
    .await
    .assert_bad_input(&format!("network {unknown} not found"));
    env.depin(
        &admin,
        &["network", "show", "--network", &unknown.to_string()],
    )
    .await
    .assert_bad_input(&format!("network {unknown} not found"));

    env.depin(
        &admin,
        &[
            "token",
            "mint-to",
            "--mint",
            &mint_s,
            "--to",
            &admin_s,
            "--amount",
            "1.1234567",
        ],
    )
    .await
    .assert_bad_input("more decimals than the mint's 6");
    env.depin(
        &admin,
        &[
            "token", "mint-to", "--mint", &mint_s, "--to", &admin_s, "--amount", "1e6",
        ],
    )
    .await
    .assert_bad_input("not a number");
    env.depin(
        &admin,
        &[
            "network",
            "update",
            "--network-id",
            "3",
            "--onboarding-fee",
            "0.0000001",
        ],
    )
    .await
    .assert_bad_input("more decimals");

    run_depin(&["--url", "nowhere", "network", "show", "--network-id", "3"])
        .await
        .assert_bad_input("unknown cluster");
    env.depin(&admin, &["network", "show"])
        .await
        .assert_bad_input("--network");

    // Then: nothing moved
    assert_eq!(env.balance(&admin_key.pubkey()).await, lamports);
    assert_eq!(env.supply(&mint).await, supply);
    assert_eq!(env.data(&network).await.expect("network"), network_data);
    assert!(env.data(&pda::network(999).0).await.is_none());
    env.localnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_error_exits_1_with_its_name() {
    let Setup {
        env,
        admin,
        mint,
        network,
        ..
    } = setup("4").await;
    // Given: a registered maker the network has not approved, and a funded operator
    let (maker, maker_key) = env.key("maker", 0).await;
    env.depin(
        &admin,
        &[
            "maker",
            "register",
            "--network-id",
            "4",
            "--maker-authority",
            &maker_key.pubkey().to_string(),
            "--name",
            "Unvetted",
            "--quota",
            "5",
        ],
    )
    .await
    .json();
    let (operator, operator_key) = env.key("operator", 5 * SOL).await;
    env.depin(
        &admin,
        &[
            "token",
            "mint-to",
            "--mint",
            &mint.to_string(),
            "--to",
            &operator_key.pubkey().to_string(),
            "--amount",
            "10",
        ],
    )
    .await
    .json();
    let (device_path, device_key) = env.key("device", 0).await;

    // When: the operator onboards a device of that maker
    let run = env
        .depin(
            &operator,
            &[
                "device",
                "onboard",
                "--network-id",
                "4",
                "--maker-keypair",
                maker.to_str().unwrap(),
                "--device-keypair",
                device_path.to_str().unwrap(),
            ],
        )
        .await;

    // Then: exit 1, the registry's error by name, and no device
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("device_registry::MakerNotApproved"),
        "{run:#?}"
    );
    assert!(env
        .data(&pda::device(&network, &device_key.pubkey()).0)
        .await
        .is_none());
    let operator_tokens = env
        .token_balance(&Env::ata(&operator_key.pubkey(), &mint))
        .await;
    assert_eq!(operator_tokens, 10_000_000, "no fee was taken");
    env.localnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_one_parseable_object_and_text_is_key_value_lines() {
    let Setup {
        env,
        admin,
        network,
        mint,
        ..
    } = setup("5").await;
    let network_s = network.to_string();

    // every command below prints exactly one line that parses as a JSON object
    let shown = env
        .depin(&admin, &["network", "show", "--network-id", "5"])
        .await
        .json();
    assert_eq!(shown["address"], network_s);
    assert_eq!(shown["onboarding_fee"], 1_000_000);
    let account = env
        .depin(&admin, &["account", "show", &network_s])
        .await
        .json();
    assert_eq!(account["type"], "Network");
    assert_eq!(account["program"], "device_registry");
    assert_eq!(account["data"]["network_id"], 5);
    let mint_account = env
        .depin(&admin, &["account", "show", &mint.to_string()])
        .await
        .json();
    assert_eq!(mint_account["type"], "Mint");
    assert_eq!(mint_account["data"]["decimals"], 6);
    let balance = env
        .depin(&admin, &["token", "balance", "--mint", &mint.to_string()])
        .await
        .json();
    assert_eq!(balance["amount"], 0);
    let new_key = env.path("new.json");
    let key = env
        .depin(
            &admin,
            &["key", "new", "--outfile", new_key.to_str().unwrap()],
        )
        .await
        .json();
    let pubkey = env
        .depin(&admin, &["key", "pubkey", new_key.to_str().unwrap()])
        .await
        .json();
    assert_eq!(key["pubkey"], pubkey["pubkey"]);
    // an existing key is never overwritten without --force, and replaced whole with it
    let kept = std::fs::read(&new_key).unwrap();
    let again = run_depin(&["key", "new", "--outfile", new_key.to_str().unwrap()]).await;
    assert_ne!(again.code, 0, "{again:#?}");
    assert!(
        again.stderr.contains("exists (use --force to overwrite)"),
        "{again:#?}"
    );
    assert_eq!(std::fs::read(&new_key).unwrap(), kept);
    let forced = run_depin(&[
        "key",
        "new",
        "--force",
        "--outfile",
        new_key.to_str().unwrap(),
    ])
    .await;
    assert_eq!(forced.code, 0, "{forced:#?}");
    assert_ne!(std::fs::read(&new_key).unwrap(), kept);

    // the default output is `key  value` lines for people
    let text = run_depin(&[
        "--url",
        &env.url,
        "--keypair",
        admin.to_str().unwrap(),
        "network",
        "show",
        "--network-id",
        "5",
    ])
    .await;
    assert_eq!(text.code, 0, "{text:#?}");
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with("network_id") && l.ends_with(" 5")),
        "{text:#?}"
    );
    assert!(serde_json::from_str::<serde_json::Value>(&text.stdout).is_err());
    env.localnet.stop().await;
}
