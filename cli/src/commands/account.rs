//! `depin account show`: any suite account, recognised by its discriminator (and SPL token
//! mints and accounts, which every network uses).

use clap::Subcommand;
use depin_sdk::Pubkey;
use serde_json::{json, Value};

use crate::context::{get_account, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::parse_pubkey;
use crate::tokens;
use crate::view;

/// Accounts.
#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Decodes and prints an account.
    Show {
        /// The account's address.
        #[arg(value_parser = parse_pubkey, value_name = "ADDRESS")]
        address: Pubkey,
    },
}

/// The crate name of the suite program `id`, if it is one.
pub fn program_name(id: &Pubkey) -> Option<&'static str> {
    [
        (depin_sdk::REGISTRY_PROGRAM_ID, "device_registry"),
        (depin_sdk::STAKING_PROGRAM_ID, "staking"),
        (depin_sdk::REWARDS_PROGRAM_ID, "rewards"),
        (depin_sdk::STORAGE_PROGRAM_ID, "storage_escrow"),
        (depin_sdk::ENERGY_PROGRAM_ID, "energy_settlement"),
    ]
    .iter()
    .find(|(program, _)| program == id)
    .map(|(_, name)| *name)
}

/// Runs an `account` command.
pub async fn run(ctx: &Ctx, cmd: AccountCommand) -> CliResult<Value> {
    match cmd {
        AccountCommand::Show { address } => {
            let rpc = ctx.rpc();
            let account = get_account(&rpc, &address)
                .await?
                .ok_or(CliError::NotFound {
                    what: "account",
                    address,
                })?;
            if let Some(program) = program_name(&account.owner) {
                let decoded = depin_sdk::accounts::decode_any(&account.data)
                    .map_err(|e| CliError::BadInput(format!("{address} ({program}): {e}")))?;
                let (kind, fields) = view::suite_account(&decoded);
                return Ok(json!({
                    "address": address.to_string(),
                    "program": program,
                    "type": kind,
                    "lamports": account.lamports,
                    "data": fields,
                }));
            }
            if tokens::is_token_program(&account.owner) {
                if let Some(info) = tokens::unpack_token_account(&account.owner, &account.data) {
                    return Ok(json!({
                        "address": address.to_string(),
                        "program": account.owner.to_string(),
                        "type": "TokenAccount",
                        "lamports": account.lamports,
                        "data": {
                            "mint": info.mint.to_string(),
                            "owner": info.owner.to_string(),
                            "amount": info.amount,
                        },
                    }));
                }
                let mint = tokens::mint_info(&rpc, &address).await?;
                return Ok(json!({
                    "address": address.to_string(),
                    "program": account.owner.to_string(),
                    "type": "Mint",
                    "lamports": account.lamports,
                    "data": {
                        "decimals": mint.decimals,
                        "supply": mint.supply,
                        "mint_authority": mint.mint_authority.map(|k| k.to_string()),
                    },
                }));
            }
            Err(CliError::BadInput(format!(
                "{address} is not a suite account (its program is {})",
                account.owner
            )))
        }
    }
}
