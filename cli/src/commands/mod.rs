//! One module per command group; each has its clap `Subcommand` enum and a `run` that
//! returns the JSON object the command prints.

pub mod account;
pub mod device;
pub mod energy;
pub mod key;
pub mod localnet;
pub mod maker;
pub mod network;
pub mod rewards;
pub mod stake;
pub mod storage;
pub mod token;

use clap::Args;
use depin_sdk::accounts::Network;
use depin_sdk::{pda, Instruction, Pubkey};
use serde_json::{json, Value};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::context::{fetch, get_account, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::parse_pubkey;
use crate::tokens::{self, MintInfo};

/// Which network: its address, or its id (the address is derived from it).
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct NetworkRef {
    /// The network's address.
    #[arg(long, value_parser = parse_pubkey, value_name = "ADDRESS")]
    pub network: Option<Pubkey>,
    /// The network's id (its address is derived from it).
    #[arg(long, value_name = "N")]
    pub network_id: Option<u32>,
}

impl NetworkRef {
    /// The network's address.
    pub fn address(&self) -> Pubkey {
        match (self.network, self.network_id) {
            (Some(address), _) => address,
            (None, Some(id)) => pda::network(id).0,
            // clap's group makes one of them required
            (None, None) => Pubkey::default(),
        }
    }

    /// Reads the network; a missing one is "network <addr> not found" (exit 2).
    pub async fn load(&self, rpc: &RpcClient) -> CliResult<(Pubkey, Network)> {
        let address = self.address();
        let network = fetch::<Network>(rpc, &address, "network").await?;
        Ok((address, network))
    }
}

/// The owner of the network's treasury token account (who market treasuries belong to).
async fn treasury_owner(
    rpc: &solana_rpc_client::nonblocking::rpc_client::RpcClient,
    treasury: &Pubkey,
) -> CliResult<Pubkey> {
    let account = get_account(rpc, treasury)
        .await?
        .ok_or(CliError::NotFound {
            what: "treasury",
            address: *treasury,
        })?;
    tokens::unpack_token_account(&account.owner, &account.data)
        .map(|t| t.owner)
        .ok_or_else(|| CliError::BadInput(format!("treasury {treasury} is not a token account")))
}

/// Where a market or pool pays the network treasury's share in `mint`: `given`, or else
/// the treasury owner's associated account of `mint`, whose creation (paid by `payer`) is
/// appended to `ixs`.
pub async fn treasury_account(
    rpc: &RpcClient,
    network: &Network,
    mint: &MintInfo,
    payer: &Pubkey,
    given: Option<Pubkey>,
    ixs: &mut Vec<depin_sdk::Instruction>,
) -> CliResult<Pubkey> {
    if let Some(treasury) = given {
        return Ok(treasury);
    }
    let owner = treasury_owner(rpc, &network.treasury).await?;
    ixs.push(mint.create_ata(payer, &owner));
    Ok(mint.ata(&owner))
}

/// A pool or market whose treasury a `sync-treasury` command points at the network
/// treasury's current owner.
pub struct TreasuryHolder {
    /// How the output names it (`pool`, `market`).
    pub what: &'static str,
    /// Its address.
    pub address: Pubkey,
    /// Its treasury now.
    pub treasury: Pubkey,
    /// The mint it pays its treasury in.
    pub mint: Pubkey,
}

/// Runs a `sync-treasury` command: sends `build(network, network treasury, new treasury)`,
/// the new treasury being `given`, or else the current network treasury owner's associated
/// account of the holder's mint (its creation sent first; `fee_mint_is_treasury`: the
/// network treasury itself when the mint is the fee mint, as `stake pool-create` defaults).
pub async fn sync_treasury(
    ctx: &Ctx,
    (network, net): (Pubkey, Network),
    holder: TreasuryHolder,
    given: Option<Pubkey>,
    fee_mint_is_treasury: bool,
    build: fn(&Pubkey, &Pubkey, &Pubkey) -> Instruction,
) -> CliResult<Value> {
    let payer = ctx.payer()?;
    let client = ctx.client(payer);
    let rpc = client.rpc();
    let mint = tokens::mint_info(rpc, &holder.mint).await?;
    let mut ixs = Vec::new();
    let treasury = match given {
        None if fee_mint_is_treasury && mint.address == net.fee_mint => net.treasury,
        given => treasury_account(rpc, &net, &mint, &client.payer(), given, &mut ixs).await?,
    };
    ixs.push(build(&network, &net.treasury, &treasury));
    let signature = send(&client, &ixs, &[]).await?;
    Ok(json!({
        (holder.what): holder.address.to_string(),
        "previous": holder.treasury.to_string(),
        "treasury": treasury.to_string(),
        "signature": signature,
    }))
}
