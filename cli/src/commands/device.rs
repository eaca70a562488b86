//! `depin device`: onboard, move, transfer, suspend, retire and show devices (the --keypair
//! is the owner; onboarding is co-signed by the maker's and the device's keys).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use depin_sdk::accounts::{Device, Network};
use depin_sdk::registry::{self, Capabilities, DeviceStatus, FeeAccounts, OnboardDeviceArgs};
use depin_sdk::{pda, Instruction, Pubkey};
use serde_json::{json, Value};
use solana_signer::Signer;

use super::NetworkRef;
use crate::context::{after_landing, fetch, get_account, send, Ctx};
use crate::error::CliResult;
use crate::keys::{parse_h3, parse_hash, parse_pubkey, read_keypair_file};
use crate::tokens::{mint_info, MintInfo};
use crate::view;

/// A device of a network, by its key.
#[derive(Args, Debug, Clone)]
pub struct DeviceRef {
    /// The network.
    #[command(flatten)]
    pub network: NetworkRef,
    /// The device's key (its secure element's pubkey).
    #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
    pub device_key: Pubkey,
}

/// Devices.
#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Onboards a device owned by the --keypair, paying the onboarding fee.
    Onboard {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Keypair file of the maker's issuing key.
        #[arg(long, value_name = "KEYPAIR_FILE")]
        maker_keypair: PathBuf,
        /// Keypair file of the device key (neither the maker's key nor the owner's).
        #[arg(long, value_name = "KEYPAIR_FILE")]
        device_keypair: PathBuf,
        /// Device class.
        #[arg(long, default_value_t = 1)]
        class: u8,
        /// H3 cell (hex, as H3 tools print it).
        #[arg(long, value_parser = parse_h3, value_name = "H3")]
        location: Option<u64>,
        /// Radio band bitmap.
        #[arg(long, default_value_t = 0)]
        radio_bands: u32,
        /// Storage capacity in GiB.
        #[arg(long, default_value_t = 0)]
        capacity_gib: u64,
        /// Solar panel watts.
        #[arg(long, default_value_t = 0)]
        panel_watts: u32,
        /// Battery watt-hours.
        #[arg(long, default_value_t = 0)]
        battery_wh: u32,
        /// Fee-mint token account paying the fee [default: the owner's associated account].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        fee_account: Option<Pubkey>,
    },
    /// Moves a device to another H3 cell, paying the location fee.
    Locate {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
        /// The new H3 cell (hex).
        #[arg(long, value_parser = parse_h3, value_name = "H3")]
        location: u64,
        /// Fee-mint token account paying the fee [default: the owner's associated account].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        fee_account: Option<Pubkey>,
    },
    /// Gives a device to another owner (asks first).
    Transfer {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
        /// The new owner.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        new_owner: Pubkey,
    },
    /// Suspends a device (the network authority: the --keypair); an owner may only
    /// decommission, an auditor uses `device audit`.
    Suspend {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
    },
    /// Reactivates a suspended device (the network authority: the --keypair), whichever
    /// suspension it is under.
    Reactivate {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
    },
    /// Suspends or reinstates a device as the network's auditor (the --keypair), with the
    /// hash of the evidence (a 64-character hex string).
    Audit {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
        /// What to do.
        #[arg(long, value_enum)]
        action: AuditAction,
        /// SHA-256 of the evidence, in hex.
        #[arg(long, value_parser = parse_hash, value_name = "HEX")]
        evidence: [u8; 32],
    },
    /// Decommissions a device for good (asks first).
    Retire {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
    },
    /// Prints a device.
    Show {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
    },
}

/// What an auditor does to a device.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    /// Take it out of the reward loop.
    Suspend,
    /// Put it back.
    Reinstate,
}

/// The fee accounts of a payment by `owner`: `fee_account` or the owner's associated account
/// of the fee mint, plus the instruction creating the latter when it does not exist yet.
async fn fee_accounts(
    rpc: &solana_rpc_client::nonblocking::rpc_client::RpcClient,
    network: &Network,
    owner: &Pubkey,
    fee_account: Option<Pubkey>,
) -> CliResult<(FeeAccounts, Option<Instruction>, MintInfo)> {
    let fee_mint = mint_info(rpc, &network.fee_mint).await?;
    let (account, create) = match fee_account {
        Some(account) => (account, None),
        None => {
            let ata = fee_mint.ata(owner);
            let create = match get_account(rpc, &ata).await? {
                Some(_) => None,
                None => Some(fee_mint.create_ata(owner, owner)),
            };
            (ata, create)
        }
    };
    Ok((
        FeeAccounts {
            fee_mint: fee_mint.address,
            payer_token_account: account,
            treasury: network.treasury,
            token_program: fee_mint.token_program,
        },
        create,
        fee_mint,
    ))
}

async fn set_status(ctx: &Ctx, device: DeviceRef, status: DeviceStatus) -> CliResult<Value> {
    let payer = ctx.payer()?;
    let client = ctx.client(payer);
    let (network, _) = device.network.load(client.rpc()).await?;
    let address = pda::device(&network, &device.device_key).0;
    fetch::<Device>(client.rpc(), &address, "device").await?;
    let ix = registry::set_device_status(&client.payer(), &network, &device.device_key, status);
    let signature = send(&client, &[ix], &[]).await?;
    Ok(json!({
        "device": address.to_string(),
        "status": format!("{status:?}").to_lowercase(),
        "signature": signature,
    }))
}

/// Runs a `device` command.
pub async fn run(ctx: &Ctx, cmd: DeviceCommand) -> CliResult<Value> {
    match cmd {
        DeviceCommand::Onboard {
            network,
            maker_keypair,
            device_keypair,
            class,
            location,
            radio_bands,
            capacity_gib,
            panel_watts,
            battery_wh,
            fee_account,
        } => {
            let payer = ctx.payer()?;
            let maker = read_keypair_file(&maker_keypair)?;
            let device_key = read_keypair_file(&device_keypair)?;
            let client = ctx.client(payer);
            let owner = client.payer();
            let (address, net) = network.load(client.rpc()).await?;
            let (fees, create, fee_mint) =
                fee_accounts(client.rpc(), &net, &owner, fee_account).await?;
            let mut ixs: Vec<Instruction> = create.into_iter().collect();
            ixs.push(registry::onboard_device(
                &owner,
                &maker.pubkey(),
                &device_key.pubkey(),
                &address,
                &fees,
                OnboardDeviceArgs {
                    class,
                    capabilities: Capabilities {
                        radio_bands,
                        capacity_gib,
                        panel_watts,
                        battery_wh,
                    },
                    location,
                },
            ));
            let signature = send(&client, &ixs, &[&maker, &device_key]).await?;
            Ok(json!({
                "device": pda::device(&address, &device_key.pubkey()).0.to_string(),
                "device_key": device_key.pubkey().to_string(),
                "owner": owner.to_string(),
                "maker": pda::maker(&address, &maker.pubkey()).0.to_string(),
                "fee_paid": net.onboarding_fee,
                "fee_paid_ui": fee_mint.ui(net.onboarding_fee),
                "signature": signature,
            }))
        }
        DeviceCommand::Locate {
            device,
            location,
            fee_account,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let owner = client.payer();
            let (address, net) = device.network.load(client.rpc()).await?;
            let device_address = pda::device(&address, &device.device_key).0;
            fetch::<Device>(client.rpc(), &device_address, "device").await?;
            let (fees, create, _) = fee_accounts(client.rpc(), &net, &owner, fee_account).await?;
            let mut ixs: Vec<Instruction> = create.into_iter().collect();
            ixs.push(registry::assert_location(
                &owner,
                &address,
                &device.device_key,
                &fees,
                location,
            ));
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "device": device_address.to_string(),
                "location": view::h3(location),
                "fee_paid": net.location_fee,
                "signature": signature,
            }))
        }
        DeviceCommand::Transfer { device, new_owner } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = device.network.load(client.rpc()).await?;
            let device_address = pda::device(&address, &device.device_key).0;
            fetch::<Device>(client.rpc(), &device_address, "device").await?;
            ctx.confirm(&format!("transfer device {device_address} to {new_owner}"))?;
            let ix = registry::transfer_device(
                &client.payer(),
                &address,
                &device.device_key,
                &new_owner,
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "device": device_address.to_string(),
                "new_owner": new_owner.to_string(),
                "signature": signature,
            }))
        }
        DeviceCommand::Suspend { device } => set_status(ctx, device, DeviceStatus::Suspended).await,
        DeviceCommand::Reactivate { device } => set_status(ctx, device, DeviceStatus::Active).await,
        DeviceCommand::Audit {
            device,
            action,
            evidence,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let rpc = client.rpc();
            let (network, _) = device.network.load(rpc).await?;
            let address = pda::device(&network, &device.device_key).0;
            fetch::<Device>(rpc, &address, "device").await?;
            let status = match action {
                AuditAction::Suspend => DeviceStatus::Suspended,
                AuditAction::Reinstate => DeviceStatus::Active,
            };
            let ix = registry::audit_device(
                &client.payer(),
                &network,
                &device.device_key,
                registry::AuditDeviceArgs { status, evidence },
            );
            let signature = send(&client, &[ix], &[]).await?;
            let read = async {
                let state: Device = fetch(rpc, &address, "device").await?;
                Ok(json!({ "status": view::device(&state)["status"] }))
            };
            Ok(after_landing(
                &signature,
                json!({
                    "device": address.to_string(),
                    "evidence": depin_sdk::oracle::hex(&evidence),
                    "signature": signature,
                }),
                read.await,
            ))
        }
        DeviceCommand::Retire { device } => {
            // read first: a missing keypair, network or device is exit 2 before any prompt
            ctx.payer()?;
            let rpc = ctx.rpc();
            let (network, _) = device.network.load(&rpc).await?;
            let address = pda::device(&network, &device.device_key).0;
            fetch::<Device>(&rpc, &address, "device").await?;
            ctx.confirm(&format!("decommission device {address}"))?;
            set_status(ctx, device, DeviceStatus::Decommissioned).await
        }
        DeviceCommand::Show { device } => {
            let rpc = ctx.rpc();
            let (network, _) = device.network.load(&rpc).await?;
            let address = pda::device(&network, &device.device_key).0;
            let state: Device = fetch(&rpc, &address, "device").await?;
            let mut value = view::device(&state);
            value["address"] = json!(address.to_string());
            Ok(value)
        }
    }
}
