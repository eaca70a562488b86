//! The `depin-oracle` binary end to end: generate rows, build the store, serve a proof,
//! verify it, and refuse what is wrong.

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
