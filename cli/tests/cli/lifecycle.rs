//! After onboarding, through the CLI: fees change, a device moves and changes hands, stake
//! cools down and is withdrawn, a bond is released, a staker is slashed; each checked on
//! chain, with the token movements balanced.

use std::time::Duration;

use crate::common::{Env, SOL};
use depin_sdk::accounts::{Device, Network, StakePool, StakePosition};
use depin_sdk::pda;
use solana_signer::Signer;

const TOKEN: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_and_stake_through_their_lifecycle() {
    let env = Env::start().await;
    let (admin, admin_key) = env.key("admin", 50 * SOL).await;
    let (operator, operator_key) = env.key("operator", 5 * SOL).await;
    let (maker, maker_key) = env.key("maker", 0).await;
    let (device_path, device_key) = env.key("device", 0).await;
    let buyer = solana_keypair::Keypair::new().pubkey();

    // Given: a network with an approved maker, a device onboarded, bonded to 30 of stake
    let mint = env
        .depin(&admin, &["token", "create-mint", "--decimals", "6"])
        .await
        .key("mint");
    let mint_s = mint.to_string();
    env.depin(
        &admin,
        &[
            "token",
            "mint-to",
            "--mint",
            &mint_s,
            "--to",
            &operator_key.pubkey().to_string(),
            "--amount",
            "100",
        ],
    )
    .await
    .json();
    let network = env
        .depin(
            &admin,
            &[
                "network",
                "create",
                "--network-id",
                "11",
                "--kind",
                "wireless",
                "--reward-mint",
                &mint_s,
                "--fee-mint",
                &mint_s,
                "--onboarding-fee",
                "1",
                "--location-fee",
                "0.5",
            ],
        )
        .await
        .key("network");
    let maker_s = maker_key.pubkey().to_string();
    env.depin(
        &admin,
        &[
            "maker",
            "register",
            "--network-id",
            "11",
            "--maker-authority",
            &maker_s,
            "--name",
            "Acme",
            "--quota",
            "2",
        ],
    )
    .await
    .json();
    env.depin(
        &admin,
        &[
            "maker",
            "approve",
            "--network-id",
            "11",
            "--maker-authority",
            &maker_s,
            "--quota",
            "5",
        ],
    )
    .await
    .json();
    env.depin(
        &operator,
        &[
            "device",
            "onboard",
            "--network-id",
            "11",
            "--maker-keypair",
            maker.to_str().unwrap(),
            "--device-keypair",
            device_path.to_str().unwrap(),
            "--location",
            "8a2a1072b59ffff",
        ],
    )
    .await
    .json();
    let device_s = device_key.pubkey().to_string();
    let device = pda::device(&network, &device_key.pubkey()).0;
    env.depin(
        &admin,
        &[
            "stake",
            "pool-create",
            "--network-id",
            "11",
            "--min-stake-per-device",
            "10",
            "--cooldown-secs",
            "1",
        ],
    )
    .await
    .json();
    // the authority changes the pool's settings; an empty update is refused
    env.depin(&admin, &["stake", "pool-update", "--network-id", "11"])
        .await
        .assert_bad_input("nothing to update");
    let pool_updated = env
        .depin(
            &admin,
            &[
                "stake",
                "pool-update",
                "--network-id",
                "11",
                "--min-stake-per-device",
                "20",
                "--cooldown-secs",
                "1",
            ],
        )
        .await
        .json();
    assert_eq!(pool_updated["min_stake_per_device"], 20 * TOKEN);
    let pool: depin_sdk::accounts::StakePool = env.account(&pda::stake_pool(&network).0).await;
    assert_eq!(
        (pool.min_stake_per_device, pool.cooldown_secs),
        (20 * TOKEN, 1)
    );
    // anyone syncs the pool's slash treasury with the network's (the stake mint is the fee
    // mint, so the network treasury itself); an account of another owner is refused
    let synced = env
        .depin(
            &operator,
            &["stake", "pool-sync-treasury", "--network-id", "11"],
        )
        .await
        .json();
    let network_treasury = Env::ata(&admin_key.pubkey(), &mint).to_string();
    assert_eq!(synced["previous"], network_treasury.as_str());
    assert_eq!(synced["treasury"], network_treasury.as_str());
    let foreign = Env::ata(&operator_key.pubkey(), &mint).to_string();
    let refused = env
        .depin(
            &operator,
            &[
                "stake",
                "pool-sync-treasury",
                "--network-id",
                "11",
                "--slash-treasury",
                &foreign,
            ],
        )
        .await;
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains("staking::TreasuryMismatch"),
        "{refused:#?}"
    );
    env.depin(
        &operator,
        &["stake", "deposit", "--network-id", "11", "--amount", "30"],
    )
    .await
    .json();
    env.depin(
        &operator,
        &[
            "stake",
            "bond",
            "--network-id",
            "11",
            "--device-key",
            &device_s,
        ],
    )
    .await
    .json();
    let treasury = Env::ata(&admin_key.pubkey(), &mint);
    let operator_tokens = Env::ata(&operator_key.pubkey(), &mint);
    assert_eq!(env.token_balance(&operator_tokens).await, 69 * TOKEN);

    // When: the admin raises the location fee; the operator moves the device
    let updated = env
        .depin(
            &admin,
            &[
                "network",
                "update",
                "--network-id",
                "11",
                "--location-fee",
                "2",
            ],
        )
        .await
        .json();
    assert_eq!(updated["state"]["location_fee"], 2 * TOKEN);
    let moved = env
        .depin(
            &operator,
            &[
                "device",
                "locate",
                "--network-id",
                "11",
                "--device-key",
                &device_s,
                "--location",
                "8928308280fffff",
            ],
        )
        .await
        .json();
    assert_eq!(moved["fee_paid"], 2 * TOKEN);
    let d: Device = env.account(&device).await;
    assert_eq!(d.location, Some(0x0892_8308_280f_ffff));
    assert_eq!(env.token_balance(&treasury).await, 3 * TOKEN);

    // a pause and its lifting
    env.depin(
        &admin,
        &["network", "update", "--network-id", "11", "--pause"],
    )
    .await
    .json();
    let net: Network = env.account(&network).await;
    assert!(net.paused);
    env.depin(
        &admin,
        &["network", "update", "--network-id", "11", "--unpause"],
    )
    .await
    .json();
    let net: Network = env.account(&network).await;
    assert!(!net.paused);

    // stake: 5 into cooldown, withdrawn once it is over
    let pool = pda::stake_pool(&network).0;
    let unstake = env
        .depin(
            &operator,
            &["stake", "unstake", "--network-id", "11", "--amount", "5"],
        )
        .await
        .json();
    assert_eq!(unstake["pending"], 5 * TOKEN);
    let unlock = unstake["unlock_ts"].as_i64().unwrap();
    for _ in 0..100 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if i64::try_from(now).unwrap() > unlock {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let withdraw = ["stake", "withdraw", "--network-id", "11"];
    env.depin(&operator, &withdraw)
        .await
        .assert_bad_input("without --yes");
    let mut confirmed = withdraw.to_vec();
    confirmed.push("--yes");
    let mut withdrawn = env.depin(&operator, &confirmed).await;
    // the cluster's clock may trail this machine's by a second
    for _ in 0..20 {
        if withdrawn.code == 0 {
            break;
        }
        assert!(withdrawn.stderr.contains("Cooldown"), "{withdrawn:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
        withdrawn = env.depin(&operator, &confirmed).await;
    }
    assert_eq!(withdrawn.json()["withdrawn"], 5 * TOKEN);
    assert_eq!(env.token_balance(&operator_tokens).await, 72 * TOKEN);
    let position: StakePosition = env
        .account(&pda::stake_position(&pool, &operator_key.pubkey()).0)
        .await;
    assert_eq!((position.amount, position.pending), (25 * TOKEN, 0));

    // the admin (slash authority) slashes 1.5 into the treasury
    let slash = [
        "stake",
        "slash",
        "--network-id",
        "11",
        "--staker",
        &operator_key.pubkey().to_string(),
        "--amount",
        "1.5",
        "--evidence",
        &"ab".repeat(32),
        "--yes",
    ];
    env.depin(&admin, &slash).await.json();
    assert_eq!(env.token_balance(&treasury).await, 4 * TOKEN + 500_000);
    let pool_state: StakePool = env.account(&pool).await;
    assert_eq!(pool_state.total_slashed, 1_500_000);
    assert_eq!(
        env.token_balance(&pda::stake_vault(&pool).0).await,
        pool_state.total_staked + pool_state.total_pending
    );

    // the bond is released, then the device changes hands (asking first)
    env.depin(
        &operator,
        &[
            "stake",
            "unbond",
            "--network-id",
            "11",
            "--device-key",
            &device_s,
        ],
    )
    .await
    .json();
    assert!(env
        .data(&pda::device_bond(&pool, &device).0)
        .await
        .is_none());
    let transfer = [
        "device",
        "transfer",
        "--network-id",
        "11",
        "--device-key",
        &device_s,
        "--new-owner",
        &buyer.to_string(),
    ];
    env.depin(&operator, &transfer)
        .await
        .assert_bad_input("without --yes");
    let mut confirmed = transfer.to_vec();
    confirmed.push("--yes");
    env.depin(&operator, &confirmed).await.json();
    let d: Device = env.account(&device).await;
    assert_eq!(d.owner, buyer);
    let shown = env
        .depin(&operator, &["stake", "show", "--network-id", "11"])
        .await
        .json();
    assert_eq!(shown["position"]["devices_bonded"], 0);
    assert_eq!(shown["position"]["amount"], 23 * TOKEN + 500_000);

    // the admin names an auditor; the auditor suspends the device with its evidence; the
    // admin reverses it; a stranger may not audit
    let (auditor, auditor_key) = env.key("auditor", SOL).await;
    let named = env
        .depin(
            &admin,
            &[
                "network",
                "set-auditor",
                "--network-id",
                "11",
                "--auditor",
                &auditor_key.pubkey().to_string(),
            ],
        )
        .await
        .json();
    assert_eq!(named["auditor"], auditor_key.pubkey().to_string());
    let network_state: depin_sdk::accounts::Network = env.account(&network).await;
    assert_eq!(network_state.auditor, Some(auditor_key.pubkey()));
    let evidence = "ab".repeat(32);
    let audit = |action: &'static str| {
        vec![
            "device".to_string(),
            "audit".into(),
            "--network-id".into(),
            "11".into(),
            "--device-key".into(),
            device_s.clone(),
            "--action".into(),
            action.into(),
            "--evidence".into(),
            evidence.clone(),
        ]
    };
    let args = audit("suspend");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let suspended = env.depin(&auditor, &args).await.json();
    assert_eq!(suspended["status"], "suspended_by_auditor");
    let d: Device = env.account(&device).await;
    assert_eq!(
        d.status,
        depin_sdk::accounts::DeviceStatus::SuspendedByAuditor
    );
    let refused = env.depin(&operator, &args).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("NotNetworkAuditor"), "{refused:?}");
    env.depin(
        &admin,
        &[
            "device",
            "reactivate",
            "--network-id",
            "11",
            "--device-key",
            &device_s,
        ],
    )
    .await
    .json();
    let d: Device = env.account(&device).await;
    assert_eq!(d.status, depin_sdk::accounts::DeviceStatus::Active);
    env.localnet.stop().await;
}
