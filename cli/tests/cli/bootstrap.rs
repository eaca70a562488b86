//! A whole network bootstrapped through the `depin` binary alone, against a real localnet:
//! mints, network, maker, devices, stake pool, stake and bonds, rewards with three oracles,
//! a finalized root, a single claim and a fleet claim; every step checked on chain. The
//! indexer follows the localnet's Yellowstone gRPC stream the whole time, and its tables
//! show what the CLI did.

use crate::common::{Env, SOL};
use depin_sdk::accounts::{
    Claimed, Device, DeviceBond, DeviceStatus, Maker, Network, RewardsConfig, StakePool,
    StakePosition,
};
use depin_sdk::{pda, Pubkey};
use solana_signer::Signer;

const NETWORK_ID: &str = "7";
/// 6 decimals: 1 token is 1,000,000 base units.
const TOKEN: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_bootstrapped_through_the_cli_pays_its_devices() {
    let env = Env::start().await;
    let indexer = crate::common::Indexer::start(&env).await;
    let (admin, admin_key) = env.key("admin", 100 * SOL).await;
    let (op_a, op_a_key) = env.key("operator-a", 10 * SOL).await;
    let (op_b, op_b_key) = env.key("operator-b", 10 * SOL).await;
    let (maker, maker_key) = env.key("maker", 0).await;
    let mut oracles = Vec::new();
    for i in 0..3 {
        oracles.push(env.key(&format!("oracle-{i}"), SOL).await);
    }

    // Given: the network's token (fees and stake) and its reward mint, created by the admin
    let token = env
        .depin(&admin, &["token", "create-mint", "--decimals", "6"])
        .await
        .key("mint");
    let reward = env
        .depin(&admin, &["token", "create-mint", "--decimals", "6"])
        .await
        .key("mint");
    for op in [&op_a_key, &op_b_key] {
        let minted = env
            .depin(
                &admin,
                &[
                    "token",
                    "mint-to",
                    "--mint",
                    &token.to_string(),
                    "--to",
                    &op.pubkey().to_string(),
                    "--amount",
                    "1000",
                ],
            )
            .await
            .json();
        assert_eq!(minted["amount"], 1000 * TOKEN);
    }

    // When: the admin creates the network, registers and approves a maker
    let created = env
        .depin(
            &admin,
            &[
                "network",
                "create",
                "--network-id",
                NETWORK_ID,
                "--kind",
                "wireless",
                "--reward-mint",
                &reward.to_string(),
                "--fee-mint",
                &token.to_string(),
                "--onboarding-fee",
                "40",
                "--location-fee",
                "10.5",
            ],
        )
        .await
        .json();
    let network = pda::network(7).0;
    assert_eq!(created["network"], network.to_string());
    let treasury = Env::ata(&admin_key.pubkey(), &token);
    assert_eq!(created["treasury"], treasury.to_string());
    let shown = env
        .depin(
            &admin,
            &["network", "show", "--network", &network.to_string()],
        )
        .await
        .json();
    assert_eq!(shown["network_id"], 7);
    assert_eq!(shown["location_fee"], 10_500_000);
    assert_eq!(shown["kind"], "wireless");

    env.depin(
        &admin,
        &[
            "maker",
            "register",
            "--network-id",
            NETWORK_ID,
            "--maker-authority",
            &maker_key.pubkey().to_string(),
            "--name",
            "Acme Radio",
            "--quota",
            "10",
        ],
    )
    .await
    .json();
    let approved = env
        .depin(
            &admin,
            &[
                "maker",
                "approve",
                "--network-id",
                NETWORK_ID,
                "--maker-authority",
                &maker_key.pubkey().to_string(),
            ],
        )
        .await
        .json();
    assert_eq!(approved["approved"], true);
    assert_eq!(approved["quota"], 10);

    // operators onboard three devices, each co-signed by the maker and the device key
    let maker_path = maker.to_str().unwrap().to_string();
    let mut devices: Vec<(Pubkey, Pubkey, Pubkey)> = Vec::new(); // (device key, device, owner)
    for (i, (op, op_key)) in [(&op_a, &op_a_key), (&op_a, &op_a_key), (&op_b, &op_b_key)]
        .into_iter()
        .enumerate()
    {
        let (device_path, device_key) = env.key(&format!("device-{i}"), 0).await;
        let onboarded = env
            .depin(
                op,
                &[
                    "device",
                    "onboard",
                    "--network-id",
                    NETWORK_ID,
                    "--maker-keypair",
                    &maker_path,
                    "--device-keypair",
                    device_path.to_str().unwrap(),
                    "--location",
                    "8a2a1072b59ffff",
                    "--radio-bands",
                    "5",
                ],
            )
            .await
            .json();
        let device = pda::device(&network, &device_key.pubkey()).0;
        assert_eq!(onboarded["device"], device.to_string());
        assert_eq!(onboarded["fee_paid"], 40 * TOKEN);
        devices.push((device_key.pubkey(), device, op_key.pubkey()));
    }
    let shown = env
        .depin(
            &op_a,
            &[
                "device",
                "show",
                "--network-id",
                NETWORK_ID,
                "--device-key",
                &devices[0].0.to_string(),
            ],
        )
        .await
        .json();
    assert_eq!(shown["location"], "8a2a1072b59ffff");
    assert_eq!(shown["status"], "active");

    // stake pool (fee mint is the stake mint), stake and bonds
    env.depin(
        &admin,
        &[
            "stake",
            "pool-create",
            "--network-id",
            NETWORK_ID,
            "--min-stake-per-device",
            "100",
            "--cooldown-secs",
            "60",
        ],
    )
    .await
    .json();
    let deposit_a = env
        .depin(
            &op_a,
            &[
                "stake",
                "deposit",
                "--network-id",
                NETWORK_ID,
                "--amount",
                "250",
            ],
        )
        .await
        .json();
    assert_eq!(deposit_a["total"], 250 * TOKEN);
    env.depin(
        &op_b,
        &[
            "stake",
            "deposit",
            "--network-id",
            NETWORK_ID,
            "--amount",
            "100.5",
        ],
    )
    .await
    .json();
    for (device_key, _, owner) in &devices {
        let op = if *owner == op_a_key.pubkey() {
            &op_a
        } else {
            &op_b
        };
        env.depin(
            op,
            &[
                "stake",
                "bond",
                "--network-id",
                NETWORK_ID,
                "--device-key",
                &device_key.to_string(),
            ],
        )
        .await
        .json();
    }

    // rewards: epochs of 60 s starting an hour ago, so epoch 0 is over; 2 of 3 oracles
    let genesis = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600)
        .to_string();
    let mut init = vec![
        "rewards",
        "init",
        "--network-id",
        NETWORK_ID,
        "--initial-per-epoch",
        "1000",
        "--halving-interval-epochs",
        "4",
        "--tail-per-epoch",
        "100",
        "--epoch-secs",
        "60",
        "--genesis-ts",
        &genesis,
        "--quorum",
        "2",
    ];
    let oracle_keys: Vec<String> = oracles
        .iter()
        .map(|(_, k)| k.pubkey().to_string())
        .collect();
    for key in &oracle_keys {
        init.extend(["--oracle", key.as_str()]);
    }
    env.depin(&admin, &init).await.json();

    // the oracles' rows: everything each device earned since genesis (base units)
    let earned = [100 * TOKEN, 50 * TOKEN + 500_000, 200 * TOKEN];
    let rows: String = devices
        .iter()
        .zip(earned)
        .map(|((_, device, owner), amount)| format!("{device},{owner},{amount}\n"))
        .collect();
    std::fs::write(
        env.path("rows.csv"),
        format!("device,owner,cumulative_amount\n{rows}"),
    )
    .unwrap();
    let store = env.path("epoch-0.store");
    let store = store.to_str().unwrap();
    let built = env
        .depin(
            &admin,
            &[
                "rewards",
                "build-tree",
                "--rows",
                env.path("rows.csv").to_str().unwrap(),
                "--store",
                store,
            ],
        )
        .await
        .json();
    assert_eq!(built["devices"], 3);
    assert_eq!(built["cumulative_total"], earned.iter().sum::<u64>());

    // the oracles commit the epoch's region multiplier table by its hash
    let table_hash = "ab".repeat(32);
    let first = env
        .depin(
            &oracles[0].0,
            &[
                "rewards",
                "publish-root",
                "--network-id",
                NETWORK_ID,
                "--epoch",
                "0",
                "--store",
                store,
                "--multipliers-hash",
                &table_hash,
            ],
        )
        .await
        .json();
    assert_eq!(first["multipliers_hash"], table_hash);
    assert_eq!(first["votes"], 1);
    assert_eq!(first["finalized"], false);
    let second = env
        .depin(
            &oracles[1].0,
            &[
                "rewards",
                "publish-root",
                "--network-id",
                NETWORK_ID,
                "--epoch",
                "0",
                "--store",
                store,
                "--multipliers-hash",
                &table_hash,
            ],
        )
        .await
        .json();
    assert_eq!(second["votes"], 2);
    assert_eq!(second["finalized"], true);
    // the finalized epoch keeps the region multiplier table's hash
    let shown = env
        .depin(
            &admin,
            &[
                "rewards",
                "show",
                "--network-id",
                NETWORK_ID,
                "--epoch",
                "0",
            ],
        )
        .await
        .json();
    assert_eq!(shown["epoch_root"]["multipliers_hash"], table_hash);
    assert_eq!(shown["latest_finalized_multipliers_hash"], table_hash);

    // Then: one claim for operator B's device (sent by B), a fleet claim for A's two
    let claim = env
        .depin(
            &op_b,
            &[
                "rewards",
                "claim",
                "--network-id",
                NETWORK_ID,
                "--store",
                store,
                "--device-key",
                &devices[2].0.to_string(),
            ],
        )
        .await
        .json();
    assert_eq!(claim["paid"], 200 * TOKEN);
    let fleet = env
        .depin(
            &op_a,
            &[
                "rewards",
                "claim-fleet",
                "--network-id",
                NETWORK_ID,
                "--store",
                store,
            ],
        )
        .await
        .json();
    assert_eq!(fleet["claimed"].as_array().unwrap().len(), 2, "{fleet}");
    assert_eq!(fleet["paid"], 150 * TOKEN + 500_000);
    assert_eq!(fleet["landed"], fleet["transactions"]);
    assert_eq!(fleet["failed"], 0);
    // a second fleet claim over every device finds nothing left to pay
    let again = env
        .depin(
            &admin,
            &[
                "rewards",
                "claim-fleet",
                "--network-id",
                NETWORK_ID,
                "--store",
                store,
                "--all",
            ],
        )
        .await
        .json();
    assert_eq!(again["transactions"], 0);
    assert_eq!(again["skipped"].as_array().unwrap().len(), 3);

    // on chain: the registry
    let net: Network = env.account(&network).await;
    assert_eq!(net.authority, admin_key.pubkey());
    assert_eq!((net.device_count, net.maker_count), (3, 1));
    assert_eq!(
        (net.onboarding_fee, net.location_fee),
        (40 * TOKEN, 10_500_000)
    );
    assert_eq!(
        (net.fee_mint, net.reward_mint, net.treasury),
        (token, reward, treasury)
    );
    let maker_account: Maker = env
        .account(&pda::maker(&network, &maker_key.pubkey()).0)
        .await;
    assert!(maker_account.approved);
    assert_eq!(maker_account.devices_onboarded, 3);
    for (device_key, device, owner) in &devices {
        let d: Device = env.account(device).await;
        assert_eq!((d.device_key, d.owner), (*device_key, *owner));
        assert_eq!(d.status, DeviceStatus::Active);
        assert_eq!(d.location, Some(0x08a2_a107_2b59_ffff));
        assert_eq!(d.capabilities.radio_bands, 5);
    }
    // fees moved into the treasury, stake into the vault
    assert_eq!(env.token_balance(&treasury).await, 3 * 40 * TOKEN);
    assert_eq!(
        env.token_balance(&Env::ata(&op_a_key.pubkey(), &token))
            .await,
        (1000 - 80 - 250) * TOKEN
    );
    assert_eq!(
        env.token_balance(&Env::ata(&op_b_key.pubkey(), &token))
            .await,
        (1000 - 40 - 100) * TOKEN - 500_000
    );
    let pool_address = pda::stake_pool(&network).0;
    let pool: StakePool = env.account(&pool_address).await;
    assert_eq!(pool.total_staked, 350 * TOKEN + 500_000);
    assert_eq!(pool.min_stake_per_device, 100 * TOKEN);
    assert_eq!(
        env.token_balance(&pda::stake_vault(&pool_address).0).await,
        pool.total_staked
    );
    let position_a: StakePosition = env
        .account(&pda::stake_position(&pool_address, &op_a_key.pubkey()).0)
        .await;
    assert_eq!(
        (position_a.amount, position_a.devices_bonded),
        (250 * TOKEN, 2)
    );
    let bond: DeviceBond = env
        .account(&pda::device_bond(&pool_address, &devices[2].1).0)
        .await;
    assert_eq!(bond.staker, op_b_key.pubkey());

    // rewards minted exactly what the root says, to each device's owner
    let config_address = pda::rewards_config(&network).0;
    let config: RewardsConfig = env.account(&config_address).await;
    assert_eq!(config.latest_finalized_epoch, Some(0));
    assert_eq!(config.total_minted, earned.iter().sum::<u64>());
    assert_eq!(env.supply(&reward).await, earned.iter().sum::<u64>());
    assert_eq!(
        env.token_balance(&Env::ata(&op_a_key.pubkey(), &reward))
            .await,
        earned[0] + earned[1]
    );
    assert_eq!(
        env.token_balance(&Env::ata(&op_b_key.pubkey(), &reward))
            .await,
        earned[2]
    );
    for ((_, device, _), amount) in devices.iter().zip(earned) {
        let claimed: Claimed = env.account(&pda::claimed(&config_address, device).0).await;
        assert_eq!(claimed.total_claimed, amount);
    }

    // account show decodes any suite account by its discriminator
    let shown = env
        .depin(&admin, &["account", "show", &pool_address.to_string()])
        .await
        .json();
    assert_eq!(shown["type"], "StakePool");
    assert_eq!(shown["program"], "staking");
    assert_eq!(shown["data"]["total_staked"], pool.total_staked);

    // retiring asks first: with stdin closed and no --yes it is refused, nothing changes
    let retire = [
        "device",
        "retire",
        "--network-id",
        NETWORK_ID,
        "--device-key",
        &devices[2].0.to_string(),
    ];
    env.depin(&op_b, &retire)
        .await
        .assert_bad_input("without --yes");
    let d: Device = env.account(&devices[2].1).await;
    assert_eq!(d.status, DeviceStatus::Active);
    let mut confirmed = retire.to_vec();
    confirmed.push("--yes");
    let retired = env.depin(&op_b, &confirmed).await.json();
    assert_eq!(retired["status"], "decommissioned");
    let d: Device = env.account(&devices[2].1).await;
    assert_eq!(d.status, DeviceStatus::Decommissioned);

    // the indexer, on the localnet's gRPC, has every step in its tables
    let network = network.to_string();
    indexer
        .wait_for(
            &format!(
                "SELECT count(*) FROM devices WHERE network = '{network}' AND status = 'decommissioned'"
            ),
            1,
        )
        .await;
    indexer
        .expect(
            &format!("SELECT count(*) FROM devices WHERE network = '{network}'"),
            3,
        )
        .await;
    indexer
        .expect(
            &format!("SELECT count(*) FROM makers WHERE network = '{network}' AND approved"),
            1,
        )
        .await;
    let config = config_address.to_string();
    indexer
        .expect(
            &format!("SELECT COALESCE(sum(total_claimed), 0)::int8 FROM reward_claims WHERE config = '{config}'"),
            i64::try_from(earned.iter().sum::<u64>()).expect("small"),
        )
        .await;
    indexer
        .expect(
            &format!("SELECT count(*) FROM reward_epochs WHERE config = '{config}' AND finalized"),
            1,
        )
        .await;
    indexer
        .expect(
            &format!(
                "SELECT active::int8 FROM stake_positions WHERE position = '{}'",
                pda::stake_position(&pool_address, &op_a_key.pubkey()).0
            ),
            i64::try_from(250 * TOKEN).expect("small"),
        )
        .await;
    indexer.stop().await;
    env.localnet.stop().await;
}
