//! Prints the cost table of `contracts/README.md`: each contract's Wasm size and code
//! deposit, and the weight and storage deposit of every message of the cross-module
//! scenario, as measured by the runtime executing it.
//!
//! `cargo run --release --bin cost-report` (from `contracts/e2e`).

use std::process::ExitCode;

use depin_ink_e2e::chain::Cost;
use depin_ink_e2e::{scenario, wasm};

fn range(values: &[i128]) -> String {
    let (min, max) = (values.iter().min(), values.iter().max());
    match (min, max) {
        (Some(a), Some(b)) if a == b => group(*a),
        (Some(a), Some(b)) => format!("{} to {}", group(*a), group(*b)),
        _ => String::new(),
    }
}

fn group(value: i128) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn main() -> ExitCode {
    let contracts = match wasm::contracts() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let (suite, _) = match scenario::run() {
        Ok(run) => run,
        Err(e) => {
            eprintln!("the scenario failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let costs = suite.chain.costs();

    println!("| Contract | `.wasm` (bytes) | code deposit |");
    println!("|---|---:|---:|");
    for (name, code) in contracts.all() {
        let deposit = costs
            .iter()
            .find(|c| c.contract == name && c.message == "upload")
            .map_or(0, |c| c.storage_deposit);
        println!(
            "| `{name}` | {} | {} |",
            group(code.len() as i128),
            group(deposit)
        );
    }

    println!();
    println!(
        "| Contract | Message | calls | ref_time (max) | proof_size (max) | storage deposit |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for cost in costs.iter().filter(|c| c.message != "upload") {
        let key = (cost.contract.as_str(), cost.message.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let same: Vec<&Cost> = costs
            .iter()
            .filter(|c| (c.contract.as_str(), c.message.as_str()) == key)
            .collect();
        let ref_time = same.iter().map(|c| c.ref_time).max().unwrap_or(0);
        let proof_size = same.iter().map(|c| c.proof_size).max().unwrap_or(0);
        let deposits: Vec<i128> = same.iter().map(|c| c.storage_deposit).collect();
        println!(
            "| {} | `{}` | {} | {} | {} | {} |",
            key.0,
            key.1,
            same.len(),
            group(i128::from(ref_time)),
            group(i128::from(proof_size)),
            range(&deposits)
        );
    }
    ExitCode::SUCCESS
}
