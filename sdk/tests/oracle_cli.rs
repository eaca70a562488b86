//! The `depin-oracle` binary end to end: generate rows, build the store, serve a proof,
//! verify it, snapshot a live pool's bonds (a localnet on 127.0.0.1) and build an epoch
//! from two snapshots, and refuse what is wrong.

use std::process::{Command, Output};

fn oracle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depin-oracle"))
        .args(args)
        .output()
        .expect("run depin-oracle")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every device's cumulative amount in the proof store at `path`.
fn stored_amounts(path: &str) -> std::collections::BTreeMap<depin_sdk::Pubkey, u64> {
    let store = std::fs::File::open(path).expect("store");
    depin_sdk::oracle::RewardTree::read_store(std::io::BufReader::new(store))
        .expect("read the store")
        .rows()
        .iter()
        .map(|r| (r.device, r.cumulative_amount))
        .collect()
}

/// The value of `"key": ...` in the proof command's JSON-shaped output.
fn field(json: &str, key: &str) -> String {
    let line = json
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("\"{key}\"")))
        .unwrap_or_else(|| panic!("no {key} in {json}"));
    let value = line.split_once(':').expect("key: value").1.trim();
    value
        .trim_end_matches(',')
        .trim_matches(|c| c == '"' || c == '[' || c == ']')
        .replace(['"', ' '], "")
}

#[test]
fn build_prove_verify_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = dir.path().join("rows.csv");
    let store = dir.path().join("epoch.store");
    let (rows, store) = (rows.to_str().unwrap(), store.to_str().unwrap());

    assert!(oracle(&["generate", "--devices", "37", "--out", rows])
        .status
        .success());
    let built = oracle(&["build", "--rows", rows, "--store", store]);
    assert!(built.status.success(), "{built:?}");
    let summary = stdout(&built);
    assert!(summary.contains("devices          37"), "{summary}");
    assert!(summary.contains("depth            6"), "{summary}");
    // 1000 + 1001 + ... + 1036
    assert!(
        summary.contains(&format!("cumulative_total {}", (1000..1037).sum::<u64>())),
        "{summary}"
    );

    let device = std::fs::read_to_string(rows)
        .unwrap()
        .lines()
        .nth(5)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let proof = oracle(&["proof", "--store", store, "--device", &device]);
    assert!(proof.status.success(), "{proof:?}");
    let json = stdout(&proof);
    let (root, owner, amount, siblings) = (
        field(&json, "root"),
        field(&json, "owner"),
        field(&json, "cumulative_amount"),
        field(&json, "proof"),
    );
    assert_eq!(field(&json, "device"), device);

    let verify = |amount: &str| {
        oracle(&[
            "verify", "--root", &root, "--device", &device, "--owner", &owner, "--amount", amount,
            "--proof", &siblings,
        ])
    };
    let ok = verify(&amount);
    assert!(
        ok.status.success() && stdout(&ok).trim() == "valid",
        "{ok:?}"
    );
    let inflated = (amount.parse::<u64>().unwrap() + 1).to_string();
    let bad = verify(&inflated);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid"),
        "{bad:?}"
    );
}

#[test]
fn refuses_bad_input_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "device,owner,cumulative_amount\nnot-a-key,x,1\n").unwrap();
    let out = oracle(&[
        "build",
        "--rows",
        csv.to_str().unwrap(),
        "--store",
        dir.path().join("s").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{out:?}"
    );

    let out = oracle(&[
        "proof",
        "--store",
        csv.to_str().unwrap(),
        "--device",
        "11111111111111111111111111111111",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid proof store"),
        "{out:?}"
    );

    let out = oracle(&[
        "proof",
        "--store",
        dir.path().join("missing").to_str().unwrap(),
        "--device",
        "x",
    ]);
    assert!(!out.status.success());
}

#[test]
fn an_epoch_weights_earnings_by_health_and_region_and_commits_the_table() {
    use depin_sdk::incentives::{RegionMultiplier, RegionMultipliers};
    use depin_sdk::oracle::{hex, RewardTree};
    use depin_sdk::Pubkey;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();
    let (a, b, owner) = (
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
    );
    let table = RegionMultipliers {
        network: Pubkey::new_unique(),
        epoch: 2,
        resolution: 5,
        min_bps: 5_000,
        max_bps: 20_000,
        regions: vec![
            RegionMultiplier {
                region: 0x0852_8347_3fff_ffff,
                bps: 20_000,
            },
            RegionMultiplier {
                region: 0x0852_8347_7fff_ffff,
                bps: 5_000,
            },
        ],
    };
    std::fs::write(
        path("table.json"),
        serde_json::to_string(&table).expect("json"),
    )
    .expect("write");
    // both devices bonded to their owner's stake all epoch, every epoch below
    let pool = Pubkey::new_unique();
    let (bonds_start, bonds_end) = (path("bonds-start.csv"), path("bonds-end.csv"));
    for (file, slot) in [(&bonds_start, 1), (&bonds_end, 2)] {
        std::fs::write(
            file,
            format!(
                "# bonds of pool {pool} at slot {slot}\n{a},{owner},1,true\n{b},{owner},1,true\n"
            ),
        )
        .expect("write");
    }
    // `depin-oracle epoch` over those two snapshots, with `args`
    let epoch = |args: &[&str]| {
        let mut command = vec![
            "epoch",
            "--bonds-start",
            &bonds_start,
            "--bonds-end",
            &bonds_end,
        ];
        command.extend_from_slice(args);
        oracle(&command)
    };
    std::fs::write(
        path("earned.csv"),
        format!("device,owner,region,amount\n{a},{owner},85283473fffffff,100\n{b},{owner},85283477fffffff,100\n"),
    )
    .expect("write");
    std::fs::write(
        path("health.csv"),
        format!("device,health_bps\n{a},10000\n{b},5000\n"),
    )
    .expect("write");

    // the first epoch: a in the 2x region, b in the 0.5x region at half health
    let first = epoch(&[
        "--earnings",
        &path("earned.csv"),
        "--health",
        &path("health.csv"),
        "--unscored-bps",
        "0",
        "--multipliers",
        &path("table.json"),
        "--budget",
        "1000",
        "--store",
        &path("e1.store"),
    ]);
    assert!(first.status.success(), "{first:?}");
    let summary = stdout(&first);
    assert!(summary.contains("cumulative_total 225"), "{summary}");
    assert!(summary.contains("scaled           false"), "{summary}");
    assert!(
        summary.contains(&format!("multipliers_hash {}", hex(&table.hash()))),
        "{summary}"
    );
    let hash = oracle(&["table-hash", "--multipliers", &path("table.json")]);
    assert_eq!(stdout(&hash).trim(), hex(&table.hash()));

    // the next epoch adds to the previous store, scaled down to its budget
    let second = epoch(&[
        "--previous",
        &path("e1.store"),
        "--earnings",
        &path("earned.csv"),
        "--budget",
        "100",
        "--store",
        &path("e2.store"),
    ]);
    assert!(second.status.success(), "{second:?}");
    let summary = stdout(&second);
    assert!(summary.contains("cumulative_total 325"), "{summary}");
    assert!(summary.contains("scaled           true"), "{summary}");
    assert!(
        summary.contains(&format!("multipliers_hash {}", "0".repeat(64))),
        "{summary}"
    );
    let amounts = stored_amounts(&path("e2.store"));
    assert_eq!(amounts.get(&a), Some(&(200 + 50)));
    assert_eq!(amounts.get(&b), Some(&(25 + 50)));

    // a region the table lacks (entered after it was computed): paid at the table's floor
    // and named, not failing the epoch
    std::fs::write(
        path("stray.csv"),
        format!("{a},{owner},85283447fffffff,1000\n"),
    )
    .expect("write");
    let stray = epoch(&[
        "--earnings",
        &path("stray.csv"),
        "--multipliers",
        &path("table.json"),
        "--budget",
        "100000",
        "--store",
        &path("stray.store"),
    ]);
    assert!(stray.status.success(), "{stray:?}");
    assert!(
        String::from_utf8_lossy(&stray.stdout).contains("unlisted         1"),
        "{stray:?}"
    );
    assert!(
        String::from_utf8_lossy(&stray.stderr).contains("not in the table, paid at its min_bps"),
        "{stray:?}"
    );
    let stray_rows = RewardTree::read_store(std::io::BufReader::new(
        std::fs::File::open(path("stray.store")).expect("store"),
    ))
    .expect("the stray epoch's store");
    assert_eq!(
        stray_rows.rows()[0].cumulative_amount,
        1000 * u64::from(table.min_bps) / 10_000
    );

    // a device that earned without a health score (never active at a scoring run): paid
    // at --unscored-bps, and named
    std::fs::write(path("b-only.csv"), format!("{b},10000\n")).expect("write");
    for (bps, paid) in [("0", 0), ("10000", 100)] {
        let out = epoch(&[
            "--earnings",
            &path("earned.csv"),
            "--health",
            &path("b-only.csv"),
            "--unscored-bps",
            bps,
            "--budget",
            "100000",
            "--store",
            &path("unscored.store"),
        ]);
        assert!(out.status.success(), "{out:?}");
        assert!(
            stdout(&out).contains(&format!("unscored         1 at {bps} bps")),
            "{out:?}"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!(
                "device {a}: earned without a health score, paid at {bps} bps"
            )),
            "{out:?}"
        );
        let amounts = stored_amounts(&path("unscored.store"));
        assert_eq!(amounts.get(&a), Some(&paid));
        assert_eq!(amounts.get(&b), Some(&100));
    }
    // refused as usage errors: --health and --unscored-bps one without the other, or the
    // health of unscored devices above full health
    let (earned, b_only, store) = (path("earned.csv"), path("b-only.csv"), path("x.store"));
    for (extra, says) in [
        (vec!["--unscored-bps", "5000"], "--health"),
        (vec!["--health", &b_only], "--unscored-bps"),
        (
            vec!["--health", &b_only, "--unscored-bps", "10001"],
            "10001 is not in 0..=10000",
        ),
    ] {
        let mut command = vec!["--earnings", &earned, "--budget", "10", "--store", &store];
        command.extend(extra);
        let out = epoch(&command);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{says}: {out:?}"
        );
    }

    // refused: a multiplier out of its bounds, a bad health
    let mut wide = table.clone();
    wide.regions[0].bps = 30_000;
    std::fs::write(
        path("wide.json"),
        serde_json::to_string(&wide).expect("json"),
    )
    .expect("write");
    let out = oracle(&["table-hash", "--multipliers", &path("wide.json")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside [5000, 20000]"),
        "{out:?}"
    );
    std::fs::write(path("bad-health.csv"), format!("{a},12000\n")).expect("write");
    let out = epoch(&[
        "--earnings",
        &path("earned.csv"),
        "--health",
        &path("bad-health.csv"),
        "--unscored-bps",
        "0",
        "--budget",
        "10",
        "--store",
        &path("x.store"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("above 10000"),
        "{out:?}"
    );
    assert!(
        !dir.path().join("x.store").exists(),
        "a refused epoch writes no store"
    );
}

#[test]
fn an_epoch_pays_only_the_devices_one_bond_covered_and_names_the_others() {
    use depin_sdk::Pubkey;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();
    let [steady, rebonded, owner] = [0; 3].map(|_| Pubkey::new_unique());
    std::fs::write(
        path("earned.csv"),
        format!("{steady},{owner},0,100\n{rebonded},{owner},0,100\n"),
    )
    .expect("write");
    let pool = Pubkey::new_unique();
    std::fs::write(
        path("start.csv"),
        format!("# bonds of pool {pool} at slot 100\ndevice,staker,bonded_at,collateralized\n{steady},{owner},10,true\n{rebonded},{owner},10,true\n"),
    )
    .expect("write");
    // within the epoch `rebonded` was unbonded (its stake free to back another device)
    // and bonded again
    std::fs::write(
        path("end.csv"),
        format!("# bonds of pool {pool} at slot 200\n{steady},{owner},10,true\n{rebonded},{owner},55,true\n"),
    )
    .expect("write");
    let epoch = |start: &str, end: &str| {
        oracle(&[
            "epoch",
            "--earnings",
            &path("earned.csv"),
            "--bonds-start",
            &path(start),
            "--bonds-end",
            &path(end),
            "--budget",
            "1000",
            "--store",
            &path("e.store"),
        ])
    };
    let out = epoch("start.csv", "end.csv");
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("paid             100"), "{out:?}");
    assert!(stdout(&out).contains("unbonded         1"), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "device {rebonded}: earned without one bond to its owner's stake all epoch"
        )),
        "{out:?}"
    );
    let amounts = stored_amounts(&path("e.store"));
    assert_eq!(amounts.get(&steady), Some(&100));
    assert_eq!(
        amounts.get(&rebonded),
        None,
        "no row for an uncovered device"
    );

    // refused: a snapshot naming a device twice (the file named), a missing snapshot, and
    // either snapshot left out (a usage error); none writes a store
    std::fs::remove_file(path("e.store")).expect("remove");
    std::fs::write(
        path("twice.csv"),
        format!("# bonds of pool {pool} at slot 200\n{steady},{owner},10,true\n{steady},{owner},11,true\n"),
    )
    .expect("write");
    let out = epoch("start.csv", "twice.csv");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("twice.csv") && stderr.contains("appears twice"),
        "{out:?}"
    );
    // the same snapshot as start and end, or the two swapped: they bound no epoch
    for (start, end) in [("end.csv", "end.csv"), ("end.csv", "start.csv")] {
        let out = epoch(start, end);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not older than the end one"),
            "{out:?}"
        );
    }
    let out = epoch("missing.csv", "end.csv");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.csv"),
        "{out:?}"
    );
    let (earned, store) = (path("earned.csv"), path("e.store"));
    for (flag, file) in [("--bonds-start", "start.csv"), ("--bonds-end", "end.csv")] {
        let file = path(file);
        let out = oracle(&[
            "epoch",
            "--earnings",
            &earned,
            flag,
            &file,
            "--budget",
            "1000",
            "--store",
            &store,
        ]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let missing = if flag == "--bonds-start" {
            "--bonds-end"
        } else {
            "--bonds-start"
        };
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(missing),
            "{out:?}"
        );
    }
    assert!(!dir.path().join("e.store").exists());

    // the snapshot command names the node it could not read, and writes nothing
    let out = oracle(&[
        "bonds",
        "--url",
        "http://127.0.0.1:9",
        "--network",
        &owner.to_string(),
        "--out",
        &path("bonds.csv"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("bonds of network {owner}")),
        "{out:?}"
    );
    assert!(!dir.path().join("bonds.csv").exists());
}

/// `depin-oracle bonds --commitment confirmed` of `network`'s pool at `url` into `out`, run
/// off the runtime that serves the node.
async fn snapshot_bonds(url: &str, network: &depin_sdk::Pubkey, out: &std::path::Path) -> Output {
    let args: Vec<String> = [
        "bonds",
        "--url",
        url,
        "--network",
        &network.to_string(),
        "--commitment",
        "confirmed",
        "--out",
        &out.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    tokio::task::spawn_blocking(move || {
        oracle(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .expect("the command ran")
}

/// `bonds` against a live node: the snapshot it writes is the pool's bonds as the SDK reads
/// them (the same pool, the same devices, stakers, bond times and collateral), and `epoch`
/// takes it and a later one as an epoch's ends: the devices they hold are paid, another
/// network's device (bonded in its own pool) is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bonds_writes_the_live_pool_as_the_sdk_reads_it() {
    use depin_localnet::{scenario, Config, Localnet};
    use depin_sdk::client::{Client, ClientConfig};
    use depin_sdk::incentives;
    use solana_commitment_config::CommitmentConfig;
    use solana_keypair::Keypair;
    use solana_signer::Signer;

    let localnet = Localnet::start(Config::ephemeral())
        .await
        .expect("localnet");
    let payer = Keypair::new();
    localnet
        .airdrop(&payer.pubkey(), 1_000_000_000_000)
        .await
        .expect("airdrop");
    let client = Client::new(localnet.rpc_url(), payer, ClientConfig::default());
    let net = scenario::network(&client, 3, true).await.expect("network");
    let other = scenario::network(&client, 4, true).await.expect("network");
    let devices = [Keypair::new(), Keypair::new()];
    let elsewhere = Keypair::new();
    let onboard: Vec<_> = devices
        .iter()
        .map(|d| net.onboard(d, scenario::LOCATION))
        .collect();
    let mut signers: Vec<&Keypair> = vec![&net.operator, &net.maker];
    signers.extend(&devices);
    assert!(client
        .send(&onboard, &signers)
        .await
        .expect("onboard")
        .is_landed());
    net.open_stake(&client, 2).await.expect("stake");
    let bonds: Vec<_> = devices.iter().map(|d| net.bond(d)).collect();
    assert!(client
        .send(&bonds, &[&net.operator])
        .await
        .expect("bond")
        .is_landed());
    let elsewhere_onboard = other.onboard(&elsewhere, scenario::LOCATION);
    assert!(client
        .send(
            &[elsewhere_onboard],
            &[&other.operator, &other.maker, &elsewhere]
        )
        .await
        .expect("onboard elsewhere")
        .is_landed());
    other.open_stake(&client, 1).await.expect("stake elsewhere");
    assert!(client
        .send(&[other.bond(&elsewhere)], &[&other.operator])
        .await
        .expect("bond elsewhere")
        .is_landed());

    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("bonds.csv");
    let out = snapshot_bonds(&localnet.rpc_url(), &net.network, &out_path).await;
    assert!(out.status.success(), "{out:?}");
    let written = incentives::parse_bonds(std::io::BufReader::new(
        std::fs::File::open(&out_path).expect("the snapshot"),
    ))
    .expect("the snapshot parses");
    let read = client
        .bonds(&net.network, CommitmentConfig::confirmed())
        .await
        .expect("bonds");
    assert_eq!(written.pool, read.pool);
    assert_eq!(written.pool, depin_sdk::pda::stake_pool(&net.network).0);
    assert!(written.slot > 0 && written.slot <= read.slot);
    assert_eq!(written.bonds, read.bonds, "the same bonds, field for field");
    let mut expected: Vec<_> = devices.iter().map(|d| net.device(d)).collect();
    expected.sort();
    assert_eq!(written.bonds.keys().copied().collect::<Vec<_>>(), expected);
    assert!(written
        .bonds
        .values()
        .all(|b| b.staker == net.operator.pubkey() && b.collateralized));
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("pool             {}", read.pool)),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("slot             {}", written.slot)),
        "{printed}"
    );
    assert!(printed.contains("bonds            2\n"), "{printed}");
    assert!(printed.contains("undercollateralized 0\n"), "{printed}");

    // `epoch` from that snapshot to a later one: the two devices bonded all along are
    // paid, the other network's device (its bond in another pool) is named and not paid
    let owner = net.operator.pubkey();
    let earnings = dir.path().join("earned.csv");
    let mut csv = String::from("device,owner,region,amount\n");
    for device in devices.iter().map(|d| net.device(d)) {
        csv.push_str(&format!("{device},{owner},85283473fffffff,100\n"));
    }
    csv.push_str(&format!(
        "{},{},85283473fffffff,100\n",
        other.device(&elsewhere),
        other.operator.pubkey()
    ));
    std::fs::write(&earnings, csv).expect("write");
    // the epoch's end: the same bonds at a later slot
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while client.rpc().get_slot().await.expect("slot") <= written.slot {
        assert!(
            std::time::Instant::now() < deadline,
            "the slot stands still"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let end_path = dir.path().join("bonds-end.csv");
    let out = snapshot_bonds(&localnet.rpc_url(), &net.network, &end_path).await;
    assert!(out.status.success(), "{out:?}");
    let store = dir.path().join("e1.store");
    let epoch = oracle(&[
        "epoch",
        "--earnings",
        &earnings.display().to_string(),
        "--bonds-start",
        &out_path.display().to_string(),
        "--bonds-end",
        &end_path.display().to_string(),
        "--budget",
        "1000",
        "--store",
        &store.display().to_string(),
    ]);
    assert!(epoch.status.success(), "{epoch:?}");
    let summary = stdout(&epoch);
    assert!(summary.contains("paid             200\n"), "{summary}");
    assert!(summary.contains("unbonded         1\n"), "{summary}");
    let paid = stored_amounts(&store.display().to_string());
    assert_eq!(paid.keys().copied().collect::<Vec<_>>(), expected);
    assert!(paid.values().all(|&amount| amount == 100));
    localnet.stop().await;
}
