//! `depin key`: keypair files in the Solana CLI's format.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::keys;

/// Keypair files.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Writes a new keypair file (a JSON array of 64 bytes).
    New {
        /// Where to write it.
        #[arg(long, value_name = "PATH")]
        outfile: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Prints the pubkey of a keypair file (the --keypair one when none is given).
    Pubkey {
        /// The keypair file.
        path: Option<PathBuf>,
    },
}

/// Runs a `key` command.
pub fn run(ctx: &Ctx, cmd: KeyCommand) -> CliResult<Value> {
    match cmd {
        KeyCommand::New { outfile, force } => {
            let keypair = Keypair::new();
            keys::write_keypair_file(&outfile, &keypair, force)?;
            Ok(json!({
                "pubkey": keypair.pubkey().to_string(),
                "path": keys::expand_tilde(&outfile).display().to_string(),
            }))
        }
        KeyCommand::Pubkey { path } => {
            let keypair = match path {
                Some(path) => keys::read_keypair_file(&path)?,
                None => ctx.payer()?,
            };
            Ok(json!({ "pubkey": keypair.pubkey().to_string() }))
        }
    }
}
