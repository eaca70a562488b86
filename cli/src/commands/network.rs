//! `depin network`: create, update and show a network (the --keypair is its authority).

use clap::{Subcommand, ValueEnum};
use depin_sdk::registry::{self, InitializeNetworkArgs, NetworkKind, UpdateNetworkArgs};
use depin_sdk::{pda, Pubkey};
use serde_json::{json, Value};

use super::NetworkRef;
use crate::amount::UiAmount;
use crate::context::{after_landing, get_account, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::parse_pubkey;
use crate::tokens::{self, mint_info};
use crate::view;

/// What a network's devices do.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Hotspots and small cells.
    Wireless,
    /// Storage nodes.
    Storage,
    /// Compute nodes.
    Compute,
    /// Solar panels, batteries, meters.
    Energy,
}

impl From<Kind> for NetworkKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Wireless => NetworkKind::Wireless,
            Kind::Storage => NetworkKind::Storage,
            Kind::Compute => NetworkKind::Compute,
            Kind::Energy => NetworkKind::Energy,
        }
    }
}

/// Network administration.
#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Creates network N; the --keypair becomes its authority.
    Create {
        /// The network's id (its address is derived from it).
        #[arg(long, value_name = "N")]
        network_id: u32,
        /// What its devices do.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Mint of the rewards (its authority moves to the rewards program at `rewards init`).
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        reward_mint: Pubkey,
        /// Mint of the fees (and, by default, of the stake).
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        fee_mint: Pubkey,
        /// Token account of the fee mint that receives fees [default: the authority's
        /// associated account, created if needed].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        treasury: Option<Pubkey>,
        /// Onboarding fee in UI units of the fee mint.
        #[arg(long, default_value = "0")]
        onboarding_fee: UiAmount,
        /// Location-change fee in UI units of the fee mint.
        #[arg(long, default_value = "0")]
        location_fee: UiAmount,
    },
    /// Changes fees, pauses or unpauses, or moves the treasury.
    Update {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// New onboarding fee in UI units of the fee mint.
        #[arg(long)]
        onboarding_fee: Option<UiAmount>,
        /// New location-change fee in UI units of the fee mint.
        #[arg(long)]
        location_fee: Option<UiAmount>,
        /// Pause onboarding, staking and claims.
        #[arg(long, conflicts_with = "unpause")]
        pause: bool,
        /// Lift a pause.
        #[arg(long)]
        unpause: bool,
        /// New treasury (a token account of the fee mint).
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        treasury: Option<Pubkey>,
    },
    /// Names, rotates or (with --none) removes the network's auditor: the key that may
    /// suspend and reinstate devices with evidence (`depin device audit`).
    SetAuditor {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The auditor's key.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY", required_unless_present = "none")]
        auditor: Option<Pubkey>,
        /// Remove the auditor.
        #[arg(long, conflicts_with = "auditor")]
        none: bool,
    },
    /// Prints a network.
    Show {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
    },
}

/// Runs a `network` command.
pub async fn run(ctx: &Ctx, cmd: NetworkCommand) -> CliResult<Value> {
    match cmd {
        NetworkCommand::Create {
            network_id,
            kind,
            reward_mint,
            fee_mint,
            treasury,
            onboarding_fee,
            location_fee,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let rpc = client.rpc();
            let authority = client.payer();
            let fee = mint_info(rpc, &fee_mint).await?;
            mint_info(rpc, &reward_mint).await?;
            let onboarding_fee = fee.base_units(&onboarding_fee)?;
            let location_fee = fee.base_units(&location_fee)?;
            let address = pda::network(network_id).0;
            if get_account(rpc, &address).await?.is_some() {
                return Err(CliError::BadInput(format!(
                    "network {network_id} already exists at {address}"
                )));
            }
            let mut ixs = Vec::new();
            let treasury = match treasury {
                Some(treasury) => treasury,
                None => {
                    ixs.push(fee.create_ata(&authority, &authority));
                    fee.ata(&authority)
                }
            };
            ixs.push(registry::initialize_network(
                &authority,
                &authority,
                &reward_mint,
                &fee_mint,
                &treasury,
                InitializeNetworkArgs {
                    network_id,
                    kind: kind.into(),
                    onboarding_fee,
                    location_fee,
                },
            ));
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "network": address.to_string(),
                "network_id": network_id,
                "authority": authority.to_string(),
                "treasury": treasury.to_string(),
                "onboarding_fee": onboarding_fee,
                "location_fee": location_fee,
                "signature": signature,
            }))
        }
        NetworkCommand::Update {
            network,
            onboarding_fee,
            location_fee,
            pause,
            unpause,
            treasury,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, current) = network.load(client.rpc()).await?;
            let fee = mint_info(client.rpc(), &current.fee_mint).await?;
            let args = UpdateNetworkArgs {
                onboarding_fee: onboarding_fee.map(|a| fee.base_units(&a)).transpose()?,
                location_fee: location_fee.map(|a| fee.base_units(&a)).transpose()?,
                paused: match (pause, unpause) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            if let Some(treasury) = treasury {
                match tokens::token_account(client.rpc(), &treasury).await? {
                    Some(info) if info.mint == current.fee_mint => {}
                    _ => {
                        return Err(CliError::BadInput(format!(
                            "treasury {treasury} is not a token account of the fee mint {}",
                            current.fee_mint
                        )))
                    }
                }
            }
            let ix = registry::update_network(&client.payer(), &address, treasury, args);
            let signature = send(&client, &[ix], &[]).await?;
            let read = async {
                let updated = crate::context::fetch(client.rpc(), &address, "network").await?;
                Ok(json!({ "state": view::network(&updated) }))
            };
            Ok(after_landing(
                &signature,
                json!({ "network": address.to_string(), "signature": signature }),
                read.await,
            ))
        }
        NetworkCommand::SetAuditor {
            network,
            auditor,
            none,
        } => {
            let auditor = if none { None } else { auditor };
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let ix = registry::set_auditor(&client.payer(), &address, auditor);
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "network": address.to_string(),
                "auditor": auditor.map(|k| k.to_string()),
                "signature": signature,
            }))
        }
        NetworkCommand::Show { network } => {
            let (address, network) = network.load(&ctx.rpc()).await?;
            let mut value = view::network(&network);
            value["address"] = json!(address.to_string());
            Ok(value)
        }
    }
}
