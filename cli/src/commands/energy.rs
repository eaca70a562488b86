//! `depin energy`: an Energy network's market, producers' asks, consumers' bids and meters'
//! signed readings.

use std::path::PathBuf;

use clap::Subcommand;
use depin_sdk::accounts::{Device, EnergyMarket};
use depin_sdk::energy::{
    self, InitializeEnergyMarketArgs, MeterSigner, PlaceAskArgs, PlaceBidArgs, QuoteToken, Reading,
};
use depin_sdk::{pda, Instruction, Pubkey};
use serde_json::{json, Value};
use solana_signer::Signer;

use super::{sync_treasury, treasury_account, NetworkRef, TreasuryHolder};
use crate::amount::UiAmount;
use crate::context::{fetch, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::{parse_pubkey, read_keypair_file};
use crate::tokens::{mint_info, MintInfo};

/// Energy markets.
#[derive(Subcommand, Debug)]
pub enum EnergyCommand {
    /// Creates the network's energy market (the --keypair is the network authority).
    MarketCreate {
        /// The network (an Energy network).
        #[command(flatten)]
        network: NetworkRef,
        /// The stablecoin orders are priced and settled in.
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        quote_mint: Pubkey,
        /// Interval length in seconds.
        #[arg(long, default_value_t = 900)]
        interval_secs: u64,
        /// Seconds before an interval's start its book closes.
        #[arg(long, default_value_t = 300)]
        gate_closure_secs: u64,
        /// Seconds after an interval's end readings are accepted (at least 2; a producer
        /// without a reading is settled at zero once they have passed).
        #[arg(long, default_value_t = 600)]
        settlement_delay_secs: u64,
        /// Orders per side of an interval.
        #[arg(long, default_value_t = 32)]
        max_orders_per_interval: u8,
        /// Grid fee in basis points.
        #[arg(long, default_value_t = 200)]
        grid_fee_bps: u16,
        /// Lowest price per kWh, in UI units of the quote mint (more than 0).
        #[arg(long)]
        price_floor: UiAmount,
        /// Highest price per kWh, in UI units of the quote mint.
        #[arg(long)]
        price_cap: UiAmount,
        /// Quote-mint account of the network treasury's owner [default: its associated
        /// account, created if needed].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        treasury: Option<Pubkey>,
    },
    /// Points the market's treasury at the network treasury's current owner, after
    /// `network update --treasury` (anyone may send it).
    MarketSyncTreasury {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Quote-mint account of the network treasury's owner [default: its associated
        /// account, created if needed].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        treasury: Option<Pubkey>,
    },
    /// Offers a producing device's energy for an interval (the --keypair owns it).
    Ask {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The device's key.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        device_key: Pubkey,
        /// Interval index.
        #[arg(long)]
        interval: u64,
        /// Price per kWh, in UI units of the quote mint.
        #[arg(long)]
        price: UiAmount,
        /// Watt-hours offered: at most what the device can deliver in one interval (its
        /// registered panel watts over the interval plus its battery's Wh).
        #[arg(long)]
        wh: u64,
    },
    /// Bids for energy for a consuming device, escrowing limit x wh (the --keypair owns it).
    Bid {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The device's key.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        device_key: Pubkey,
        /// Interval index.
        #[arg(long)]
        interval: u64,
        /// Highest price per kWh, in UI units of the quote mint.
        #[arg(long)]
        limit: UiAmount,
        /// Watt-hours wanted.
        #[arg(long)]
        wh: u64,
    },
    /// Submits a meter reading signed by the device key (the --keypair pays).
    Reading {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Keypair file of the device key (the meter).
        #[arg(long, value_name = "KEYPAIR_FILE")]
        device_keypair: PathBuf,
        /// Interval index.
        #[arg(long)]
        interval: u64,
        /// Watt-hours produced.
        #[arg(long, default_value_t = 0)]
        produced_wh: u64,
        /// Watt-hours consumed.
        #[arg(long, default_value_t = 0)]
        consumed_wh: u64,
        /// The meter's monotonic counter.
        #[arg(long)]
        counter: u64,
    },
}

fn quote(mint: &MintInfo) -> QuoteToken {
    QuoteToken {
        mint: mint.address,
        token_program: mint.token_program,
    }
}

async fn market_mint(
    rpc: &solana_rpc_client::nonblocking::rpc_client::RpcClient,
    network: &Pubkey,
) -> CliResult<MintInfo> {
    let market: EnergyMarket = fetch(rpc, &pda::energy_market(network).0, "energy market").await?;
    mint_info(rpc, &market.quote_mint).await
}

/// Runs an `energy` command.
pub async fn run(ctx: &Ctx, cmd: EnergyCommand) -> CliResult<Value> {
    match cmd {
        EnergyCommand::MarketCreate {
            network,
            quote_mint,
            interval_secs,
            gate_closure_secs,
            settlement_delay_secs,
            max_orders_per_interval,
            grid_fee_bps,
            price_floor,
            price_cap,
            treasury,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let authority = client.payer();
            let (address, net) = network.load(client.rpc()).await?;
            let mint = mint_info(client.rpc(), &quote_mint).await?;
            let args = InitializeEnergyMarketArgs {
                interval_secs,
                gate_closure_secs,
                settlement_delay_secs,
                max_orders_per_interval,
                grid_fee_bps,
                price_floor: mint.base_units(&price_floor)?,
                price_cap: mint.base_units(&price_cap)?,
            };
            let mut ixs: Vec<Instruction> = Vec::new();
            let treasury =
                treasury_account(client.rpc(), &net, &mint, &authority, treasury, &mut ixs).await?;
            ixs.push(energy::initialize_energy_market(
                &authority,
                &authority,
                &address,
                &quote(&mint),
                &net.treasury,
                &treasury,
                args,
            ));
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "market": pda::energy_market(&address).0.to_string(),
                "quote_mint": mint.address.to_string(),
                "treasury": treasury.to_string(),
                "signature": signature,
            }))
        }
        EnergyCommand::MarketSyncTreasury { network, treasury } => {
            let rpc = ctx.rpc();
            let net = network.load(&rpc).await?;
            let address = pda::energy_market(&net.0).0;
            let market: EnergyMarket = fetch(&rpc, &address, "energy market").await?;
            let holder = TreasuryHolder {
                what: "market",
                address,
                treasury: market.treasury,
                mint: market.quote_mint,
            };
            sync_treasury(ctx, net, holder, treasury, false, energy::sync_treasury).await
        }
        EnergyCommand::Ask {
            network,
            device_key,
            interval,
            price,
            wh,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let market: EnergyMarket = fetch(
                client.rpc(),
                &pda::energy_market(&address).0,
                "energy market",
            )
            .await?;
            let mint = mint_info(client.rpc(), &market.quote_mint).await?;
            let price = mint.base_units(&price)?;
            let device = pda::device(&address, &device_key).0;
            let capabilities = fetch::<Device>(client.rpc(), &device, "device")
                .await?
                .capabilities;
            // the program's own bound, checked before paying a fee to hear it
            let capacity = energy::ask_capacity_wh(&capabilities, &market);
            if wh > capacity {
                return Err(CliError::BadInput(format!(
                    "--wh {wh} is above what the device can deliver in one {} s interval: \
                     {capacity} Wh ({} W of panel, {} Wh of battery)",
                    market.interval_secs, capabilities.panel_watts, capabilities.battery_wh
                )));
            }
            let ix = energy::place_ask(
                &client.payer(),
                &address,
                &device,
                PlaceAskArgs {
                    interval,
                    price,
                    wh,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "interval": pda::interval(&pda::energy_market(&address).0, interval).0.to_string(),
                "device": device.to_string(),
                "price": price,
                "wh": wh,
                "signature": signature,
            }))
        }
        EnergyCommand::Bid {
            network,
            device_key,
            interval,
            limit,
            wh,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let owner = client.payer();
            let (address, _) = network.load(client.rpc()).await?;
            let mint = market_mint(client.rpc(), &address).await?;
            let limit = mint.base_units(&limit)?;
            let device = pda::device(&address, &device_key).0;
            fetch::<Device>(client.rpc(), &device, "device").await?;
            let ix = energy::place_bid(
                &owner,
                &address,
                &device,
                &quote(&mint),
                &mint.ata(&owner),
                PlaceBidArgs {
                    interval,
                    limit,
                    wh,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "interval": pda::interval(&pda::energy_market(&address).0, interval).0.to_string(),
                "device": device.to_string(),
                "limit": limit,
                "wh": wh,
                "signature": signature,
            }))
        }
        EnergyCommand::Reading {
            network,
            device_keypair,
            interval,
            produced_wh,
            consumed_wh,
            counter,
        } => {
            let payer = ctx.payer()?;
            let meter_key = read_keypair_file(&device_keypair)?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let device = pda::device(&address, &meter_key.pubkey()).0;
            fetch::<Device>(client.rpc(), &device, "device").await?;
            let signer = MeterSigner {
                key: &meter_key,
                device,
                network: address,
            };
            let reading = Reading {
                interval,
                produced_wh,
                consumed_wh,
                counter,
            };
            let ixs = signer.reading_instructions(&client.payer(), &reading);
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "reading": pda::meter_reading(&device, interval).0.to_string(),
                "device": device.to_string(),
                "interval": interval,
                "produced_wh": produced_wh,
                "consumed_wh": consumed_wh,
                "signature": signature,
            }))
        }
    }
}
