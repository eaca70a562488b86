//! The README's first command: a scripted tour of the suite on the embedded runtime.
//!
//! 1. Registry and staking: a wireless network, an approved maker, two operators with two
//!    devices each, a stake pool, stake and bonds; the state printed as the programs wrote it.
//! 2. Rewards: the oracles' tree over the devices, a root finalized by quorum, every device
//!    claiming its rewards.
//! 3. Energy: a producer and a consumer trade one interval; the meter signs its reading.
//! 4. Storage: a client stores 1 MiB with a provider for one period, proven on chain.
//!
//! Sections 2 to 4 live in `tours.rs`.

mod tours;

use std::process::ExitCode;

use depin_sdk::accounts::{Device, DeviceBond, Maker, Network, StakePool, StakePosition};
use depin_sdk::pda;
use depin_tests::fixture::{FixtureBuilder, NetworkParams};
use depin_tests::runtime::{ProgramBuild, Suite};
use depin_tests::Signer;

const DECIMALS: u32 = 6;

pub(crate) fn tokens(base_units: u64) -> String {
    let unit = 10u64.pow(DECIMALS);
    format!(
        "{}.{:0width$}",
        base_units / unit,
        base_units % unit,
        width = DECIMALS as usize
    )
}

pub(crate) fn short(key: &impl ToString) -> String {
    let s = key.to_string();
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut suite = Suite::start().await;
    match &suite.build {
        ProgramBuild::Native => println!("runtime: in-process Solana bank, programs compiled natively, SPL Token as its BPF program"),
        ProgramBuild::Sbf(dir) => println!("runtime: in-process Solana bank, SBF programs from {}", dir.display()),
    }

    println!(
        "\n1. network, maker, pool, 2 operators x 2 devices, stake 250 each, bond all devices"
    );
    let fx = FixtureBuilder::default()
        .network(NetworkParams::default())
        .maker_quota(10)
        .operators(2, 2)
        .operator_tokens(1_000_000_000)
        .pool(100_000_000, 7 * 24 * 3600)
        .stake(250_000_000)
        .bond_all()
        .build(&mut suite)
        .await;

    let network: Network = suite.account(fx.net.network).await;
    println!(
        "\nNetwork {} (id {})",
        short(&fx.net.network),
        network.network_id
    );
    println!("  kind            {:?}", network.kind);
    println!("  authority       {}", short(&network.authority));
    println!("  devices         {}", network.device_count);
    println!("  makers          {}", network.maker_count);
    println!("  onboarding fee  {}", tokens(network.onboarding_fee));
    println!("  location fee    {}", tokens(network.location_fee));
    println!("  paused          {}", network.paused);

    let maker: Maker = suite.account(fx.maker.maker).await;
    println!("\nMaker {} \"{}\"", short(&fx.maker.maker), maker.name);
    println!(
        "  approved {}  quota {}  onboarded {}",
        maker.approved, maker.device_quota, maker.devices_onboarded
    );

    let pool: StakePool = suite.account(fx.pool.pool).await;
    println!("\nStake pool {}", short(&fx.pool.pool));
    println!(
        "  min stake/device {}  cooldown {} s",
        tokens(pool.min_stake_per_device),
        pool.cooldown_secs
    );
    println!(
        "  total staked {}  pending {}  slashed {}",
        tokens(pool.total_staked),
        tokens(pool.total_pending),
        tokens(pool.total_slashed)
    );

    for (i, (op, devices)) in fx.operators.iter().enumerate() {
        let owner = op.wallet.pubkey();
        let position: StakePosition = suite
            .account(pda::stake_position(&fx.pool.pool, &owner).0)
            .await;
        let balance = suite.token_balance(op.token_account).await;
        println!("\nOperator {} {}", i + 1, short(&owner));
        println!(
            "  wallet balance {}  staked {}  bonded devices {}",
            tokens(balance),
            tokens(position.amount),
            position.devices_bonded
        );
        for d in devices {
            let device: Device = suite.account(d.device).await;
            let bond: DeviceBond = suite
                .account(pda::device_bond(&fx.pool.pool, &d.device).0)
                .await;
            println!(
                "  device {}  status {:?}  class {}  h3 {:#x}  bonded to {}",
                short(&d.device),
                device.status,
                device.class,
                device.location.unwrap_or_default(),
                short(&bond.position)
            );
        }
    }

    let treasury = suite.token_balance(fx.net.treasury).await;
    let vault = suite.token_balance(fx.pool.vault).await;
    let supply = suite.mint_supply(fx.net.token.mint).await;
    println!("\nTokens");
    println!("  treasury (fees)  {}", tokens(treasury));
    println!("  stake vault      {}", tokens(vault));
    println!("  supply           {}", tokens(supply));

    let mut held = treasury.saturating_add(vault);
    for (op, _) in &fx.operators {
        held = held.saturating_add(suite.token_balance(op.token_account).await);
    }
    if held != supply || vault != pool.total_staked.saturating_add(pool.total_pending) {
        eprintln!("value conservation violated: held {held}, supply {supply}, vault {vault}");
        return ExitCode::FAILURE;
    }
    println!(
        "  conservation     ok (wallets + treasury + vault = supply; vault = staked + pending)"
    );

    let tours = [
        ("rewards", tours::rewards(&mut suite, &fx).await),
        ("energy", tours::energy(&mut suite).await),
        ("storage", tours::storage(&mut suite).await),
    ];
    for (name, result) in tours {
        if let Err(e) = result {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
