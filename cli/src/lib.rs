//! # `depin`: the DePIN suite's command line
//!
//! One binary for network admins, makers, operators, oracles and gateways, built on the SDK
//! (`depin_sdk`): instruction builders, PDAs, account decoders, the oracle's reward tree,
//! and the gateway client that sends and confirms.
//!
//! ## Modules overview
//!
//! - [`cli`]: the command tree (clap derive) and the global options (`--url`, `--keypair`,
//!   `--output`, `--yes`).
//! - [`commands`]: one module per command group (`network`, `maker`, `device`, `stake`,
//!   `rewards`, `storage`, `energy`, `token`, `account`, `key`, `localnet`), each returning
//!   the JSON object it prints.
//! - [`context`]: what commands share: the payer, RPC reads, sending a transaction and
//!   mapping its outcome, the confirmation prompt.
//! - [`error`]: typed errors and their exit codes (0 ok, 1 failed transaction, 2 bad input,
//!   3 RPC, 4 expired, 5 sent with its outcome unknown).
//! - [`amount`]: UI amounts parsed with integer arithmetic at a mint's decimals.
//! - [`keys`]: keypair files, pubkeys, cluster monikers, hex and H3 values.
//! - [`tokens`]: SPL Token mints, token accounts and associated accounts.
//! - [`view`]: every suite account as JSON; [`output`]: JSON or aligned text.
//!
//! Every input is checked before anything is sent: a bad one exits 2 with one line on
//! stderr and leaves the chain untouched.

#![warn(missing_docs)]

pub mod amount;
pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod keys;
pub mod output;
pub mod tokens;
pub mod view;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_BAD_INPUT, EXIT_OK};

/// Runs a parsed command line; the JSON object a command returns is printed here.
pub async fn run(cli: Cli) -> CliResult<()> {
    let ctx = Ctx {
        url: keys::resolve_url(&cli.global.url)?,
        keypair_explicit: cli.global.keypair.is_some(),
        keypair_path: cli
            .global
            .keypair
            .map(|p| keys::expand_tilde(&p))
            .unwrap_or_else(keys::default_keypair_path),
        output: cli.global.output,
        yes: cli.global.yes,
    };
    let value = match cli.command {
        // runs until Ctrl-C and prints as it goes
        Command::Localnet(args) => return commands::localnet::run(&ctx, args).await,
        Command::Key(cmd) => commands::key::run(&ctx, cmd)?,
        Command::Token(cmd) => commands::token::run(&ctx, cmd).await?,
        Command::Network(cmd) => commands::network::run(&ctx, cmd).await?,
        Command::Maker(cmd) => commands::maker::run(&ctx, cmd).await?,
        Command::Device(cmd) => commands::device::run(&ctx, cmd).await?,
        Command::Stake(cmd) => commands::stake::run(&ctx, cmd).await?,
        Command::Rewards(cmd) => commands::rewards::run(&ctx, cmd).await?,
        Command::Storage(cmd) => commands::storage::run(&ctx, cmd).await?,
        Command::Energy(cmd) => commands::energy::run(&ctx, cmd).await?,
        Command::Account(cmd) => commands::account::run(&ctx, cmd).await?,
    };
    ctx.emit(&value);
    Ok(())
}

/// The whole program: parse, run, print one error line, exit with its code.
pub fn main_entry() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        EXIT_BAD_INPUT
                    } else {
                        EXIT_OK
                    },
                );
            }
            eprintln!("error: {} (see --help)", one_line(&e.to_string()));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(error::EXIT_RPC);
        }
    };
    let result = runtime.block_on(run(cli));
    // the localnet leaves a runtime thread of its own behind: do not wait for it
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => report(&e),
    }
}

/// clap's message without its usage and tip, on one line.
fn one_line(rendered: &str) -> String {
    let message = rendered
        .split("\nUsage:")
        .next()
        .unwrap_or(rendered)
        .split("\n\nFor more information")
        .next()
        .unwrap_or(rendered);
    let words: Vec<&str> = message.split_whitespace().collect();
    let line = words.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

fn report(e: &CliError) -> ExitCode {
    let message = e
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("error: {message}");
    ExitCode::from(e.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let e = Cli::try_parse_from(["depin", "network", "show"]).unwrap_err();
        let line = one_line(&e.to_string());
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--network"), "{line}");
        let e = Cli::try_parse_from([
            "depin",
            "maker",
            "show",
            "--network-id",
            "1",
            "--maker-authority",
            "x",
        ])
        .unwrap_err();
        assert!(one_line(&e.to_string()).contains("malformed pubkey"));
    }

    #[test]
    fn the_command_tree_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
