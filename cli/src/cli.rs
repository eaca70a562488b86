//! The command tree.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{
    account, device, energy, key, localnet, maker, network, rewards, stake, storage, token,
};
use crate::output::OutputFormat;

/// The exit codes, as `depin --help` lists them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (also when the transaction landed and reading its result back failed: the
     output names why in \"unread\" and a warning goes to stderr; sending again would
     repeat it)
  1  the transaction failed on chain or in its simulation (the program error is printed by name)
  2  bad input: usage, missing or malformed keypair file, malformed pubkey, bad amount,
     unknown network or account, confirmation refused; nothing was sent
  3  RPC or network error
  4  the transaction expired before landing
  5  the transaction was sent and its outcome is unknown (the node stopped answering):
     look its signature up before sending again

Every command prints one JSON object on success with --output json.";

/// The DePIN suite from the command line: networks, makers, devices, stake, rewards, storage
/// and energy markets, and a localnet.
#[derive(Parser, Debug)]
#[command(name = "depin", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, in the Solana CLI's spelling.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// JSON-RPC URL or moniker: l (localhost:8899), d (devnet), m (mainnet-beta), t (testnet).
    #[arg(
        short = 'u',
        long,
        global = true,
        default_value = "l",
        value_name = "URL_OR_MONIKER"
    )]
    pub url: String,
    /// Keypair file of the payer and signer [default: ~/.config/solana/id.json].
    #[arg(short = 'k', long, global = true, value_name = "KEYPAIR_FILE")]
    pub keypair: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Do not ask before irreversible actions (retire, transfer, withdraw, slash).
    #[arg(long, global = true)]
    pub yes: bool,
}

/// The command groups.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs a localnet with the suite's programs until Ctrl-C.
    Localnet(localnet::LocalnetArgs),
    /// Keypair files.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// SPL token mints and accounts (to bootstrap a network's tokens).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Networks (network admins).
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Makers (network admins).
    #[command(subcommand)]
    Maker(maker::MakerCommand),
    /// Devices (operators and makers).
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Stake pools, stake and device bonds.
    #[command(subcommand)]
    Stake(stake::StakeCommand),
    /// Rewards: configuration, oracle roots, claims.
    #[command(subcommand)]
    Rewards(rewards::RewardsCommand),
    /// Storage markets and deals.
    #[command(subcommand)]
    Storage(storage::StorageCommand),
    /// Energy markets, orders and meter readings.
    #[command(subcommand)]
    Energy(energy::EnergyCommand),
    /// Any suite account.
    #[command(subcommand)]
    Account(account::AccountCommand),
}
