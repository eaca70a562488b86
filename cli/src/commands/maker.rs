//! `depin maker`: register and approve makers (the --keypair is the network authority).

use clap::Subcommand;
use depin_sdk::accounts::Maker;
use depin_sdk::registry::{self, RegisterMakerArgs, SetMakerApprovalArgs};
use depin_sdk::{pda, Pubkey};
use serde_json::{json, Value};

use super::NetworkRef;
use crate::context::{fetch, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::parse_pubkey;
use crate::view;

/// Longest maker name the registry stores.
pub const MAX_NAME_LEN: usize = 32;

/// Makers.
#[derive(Subcommand, Debug)]
pub enum MakerCommand {
    /// Registers a maker (not yet approved to onboard).
    Register {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The maker's issuing key (it co-signs every onboarding).
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        maker_authority: Pubkey,
        /// Its name (at most 32 bytes).
        #[arg(long)]
        name: String,
        /// Devices it may onboard.
        #[arg(long)]
        quota: u32,
    },
    /// Approves a maker (or revokes it with --revoke), optionally with a new quota.
    Approve {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The maker's issuing key.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        maker_authority: Pubkey,
        /// New quota [default: the current one].
        #[arg(long)]
        quota: Option<u32>,
        /// Revoke the approval instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Prints a maker.
    Show {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The maker's issuing key.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        maker_authority: Pubkey,
    },
}

/// Runs a `maker` command.
pub async fn run(ctx: &Ctx, cmd: MakerCommand) -> CliResult<Value> {
    match cmd {
        MakerCommand::Register {
            network,
            maker_authority,
            name,
            quota,
        } => {
            if name.is_empty() || name.len() > MAX_NAME_LEN {
                return Err(CliError::BadInput(format!(
                    "maker name must be 1 to {MAX_NAME_LEN} bytes, got {}",
                    name.len()
                )));
            }
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let ix = registry::register_maker(
                &client.payer(),
                &client.payer(),
                &address,
                RegisterMakerArgs {
                    maker_authority,
                    name: name.clone(),
                    device_quota: quota,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "maker": pda::maker(&address, &maker_authority).0.to_string(),
                "network": address.to_string(),
                "maker_authority": maker_authority.to_string(),
                "name": name,
                "quota": quota,
                "signature": signature,
            }))
        }
        MakerCommand::Approve {
            network,
            maker_authority,
            quota,
            revoke,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let maker_address = pda::maker(&address, &maker_authority).0;
            let maker: Maker = fetch(client.rpc(), &maker_address, "maker").await?;
            let quota = quota.unwrap_or(maker.device_quota);
            let ix = registry::set_maker_approval(
                &client.payer(),
                &address,
                &maker_authority,
                SetMakerApprovalArgs {
                    approved: !revoke,
                    device_quota: quota,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "maker": maker_address.to_string(),
                "approved": !revoke,
                "quota": quota,
                "signature": signature,
            }))
        }
        MakerCommand::Show {
            network,
            maker_authority,
        } => {
            let rpc = ctx.rpc();
            let (address, _) = network.load(&rpc).await?;
            let maker_address = pda::maker(&address, &maker_authority).0;
            let maker: Maker = fetch(&rpc, &maker_address, "maker").await?;
            let mut value = view::maker(&maker);
            value["address"] = json!(maker_address.to_string());
            Ok(value)
        }
    }
}
