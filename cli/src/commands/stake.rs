//! `depin stake`: the network's stake pool, stake, device bonds, unstaking, withdrawal and
//! slashing.

use clap::Subcommand;
use depin_sdk::accounts::{Device, DeviceBond, StakePool, StakePosition};
use depin_sdk::staking::{self, InitializePoolArgs, SlashArgs, StakeToken, UpdatePoolArgs};
use depin_sdk::{pda, Instruction, Pubkey};
use serde_json::{json, Value};
use solana_signer::Signer;

use super::device::DeviceRef;
use super::{sync_treasury, treasury_account, NetworkRef, TreasuryHolder};
use crate::amount::UiAmount;
use crate::context::{after_landing, fetch, fetch_optional, get_account, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::{parse_hash, parse_pubkey};
use crate::tokens::{mint_info, MintInfo};
use crate::view;

/// Stake.
#[derive(Subcommand, Debug)]
pub enum StakeCommand {
    /// Creates the network's stake pool (the --keypair is the network authority).
    PoolCreate {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Stake each bonded device needs, in UI units of the stake mint.
        #[arg(long)]
        min_stake_per_device: UiAmount,
        /// Seconds between an unstake request and its withdrawal.
        #[arg(long)]
        cooldown_secs: u64,
        /// Who may slash [default: the --keypair's pubkey].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        slash_authority: Option<Pubkey>,
        /// Stake mint [default: the network's fee mint].
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        stake_mint: Option<Pubkey>,
        /// Stake-mint account of the network treasury's owner that receives slashed stake
        /// [default: the network treasury when the stake mint is the fee mint, else that
        /// owner's associated account, created if needed].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        slash_treasury: Option<Pubkey>,
    },
    /// Changes the pool's settings (the --keypair is the network authority); what is not
    /// given stays as it is.
    PoolUpdate {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// New stake each bonded device needs, in UI units of the stake mint.
        #[arg(long)]
        min_stake_per_device: Option<UiAmount>,
        /// New cooldown in seconds (applies to unstake requests made from now on).
        #[arg(long)]
        cooldown_secs: Option<u64>,
        /// New slash authority.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        slash_authority: Option<Pubkey>,
    },
    /// Points the pool's slash treasury at the network treasury's current owner, after
    /// `network update --treasury` (anyone may send it).
    PoolSyncTreasury {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Stake-mint account of the network treasury's owner [default: the network
        /// treasury when the stake mint is the fee mint, else that owner's associated
        /// account, created if needed].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        slash_treasury: Option<Pubkey>,
    },
    /// Stakes AMOUNT (UI units) from the --keypair's stake-mint account.
    Deposit {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Amount in UI units of the stake mint.
        #[arg(long)]
        amount: UiAmount,
        /// Token account to stake from [default: the owner's associated account].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        from: Option<Pubkey>,
    },
    /// Bonds one of the --keypair's devices to its stake.
    Bond {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
    },
    /// Unbonds a device (its staker or current owner signs).
    Unbond {
        /// The device.
        #[command(flatten)]
        device: DeviceRef,
    },
    /// Moves AMOUNT (UI units) of active stake into cooldown.
    Unstake {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Amount in UI units of the stake mint.
        #[arg(long)]
        amount: UiAmount,
    },
    /// Withdraws cooled-down stake (asks first).
    Withdraw {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Token account to pay into [default: the owner's associated account].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        to: Option<Pubkey>,
    },
    /// Slashes a staker into the pool's treasury (the --keypair is the slash authority; asks
    /// first).
    Slash {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The staker.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        staker: Pubkey,
        /// Amount in UI units of the stake mint.
        #[arg(long)]
        amount: UiAmount,
        /// Hash of the evidence (64 hex digits).
        #[arg(long, value_parser = parse_hash, value_name = "HEX")]
        evidence: [u8; 32],
    },
    /// Prints the pool and a position.
    Show {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Whose position [default: the --keypair's pubkey].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        owner: Option<Pubkey>,
    },
}

fn stake_token(mint: &MintInfo) -> StakeToken {
    StakeToken {
        mint: mint.address,
        token_program: mint.token_program,
    }
}

/// The network's pool and its stake mint.
async fn load_pool(
    rpc: &solana_rpc_client::nonblocking::rpc_client::RpcClient,
    network: &Pubkey,
) -> CliResult<(Pubkey, StakePool, MintInfo)> {
    let address = pda::stake_pool(network).0;
    let pool: StakePool = fetch(rpc, &address, "stake pool").await?;
    let mint = mint_info(rpc, &pool.stake_mint).await?;
    Ok((address, pool, mint))
}

/// Runs a `stake` command.
pub async fn run(ctx: &Ctx, cmd: StakeCommand) -> CliResult<Value> {
    match cmd {
        StakeCommand::PoolCreate {
            network,
            min_stake_per_device,
            cooldown_secs,
            slash_authority,
            stake_mint,
            slash_treasury,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let rpc = client.rpc();
            let authority = client.payer();
            let (address, net) = network.load(rpc).await?;
            let mint = mint_info(rpc, &stake_mint.unwrap_or(net.fee_mint)).await?;
            let min_stake = mint.base_units(&min_stake_per_device)?;
            let mut ixs: Vec<Instruction> = Vec::new();
            let treasury = match slash_treasury {
                None if mint.address == net.fee_mint => net.treasury,
                given => treasury_account(rpc, &net, &mint, &authority, given, &mut ixs).await?,
            };
            let slash_authority = slash_authority.unwrap_or(authority);
            ixs.push(staking::initialize_pool(
                &authority,
                &authority,
                &address,
                &stake_token(&mint),
                &net.treasury,
                &treasury,
                InitializePoolArgs {
                    min_stake_per_device: min_stake,
                    cooldown_secs,
                    slash_authority,
                },
            ));
            let signature = send(&client, &ixs, &[]).await?;
            let pool = pda::stake_pool(&address).0;
            Ok(json!({
                "pool": pool.to_string(),
                "vault": pda::stake_vault(&pool).0.to_string(),
                "stake_mint": mint.address.to_string(),
                "slash_treasury": treasury.to_string(),
                "slash_authority": slash_authority.to_string(),
                "min_stake_per_device": min_stake,
                "cooldown_secs": cooldown_secs,
                "signature": signature,
            }))
        }
        StakeCommand::PoolUpdate {
            network,
            min_stake_per_device,
            cooldown_secs,
            slash_authority,
        } => {
            if min_stake_per_device.is_none()
                && cooldown_secs.is_none()
                && slash_authority.is_none()
            {
                return Err(CliError::BadInput(
                    "nothing to update: give --min-stake-per-device, --cooldown-secs or --slash-authority"
                        .into(),
                ));
            }
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let rpc = client.rpc();
            let (address, _) = network.load(rpc).await?;
            let (pool_address, _, mint) = load_pool(rpc, &address).await?;
            let min_stake = min_stake_per_device
                .as_ref()
                .map(|amount| mint.base_units(amount))
                .transpose()?;
            let ix = staking::update_pool(
                &client.payer(),
                &address,
                UpdatePoolArgs {
                    min_stake_per_device: min_stake,
                    cooldown_secs,
                    slash_authority,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            let read = async {
                let pool: StakePool = fetch(rpc, &pool_address, "stake pool").await?;
                Ok(json!({
                    "min_stake_per_device": pool.min_stake_per_device,
                    "cooldown_secs": pool.cooldown_secs,
                    "slash_authority": pool.slash_authority.to_string(),
                }))
            };
            Ok(after_landing(
                &signature,
                json!({ "pool": pool_address.to_string(), "signature": signature }),
                read.await,
            ))
        }
        StakeCommand::PoolSyncTreasury {
            network,
            slash_treasury,
        } => {
            let rpc = ctx.rpc();
            let net = network.load(&rpc).await?;
            let (address, pool, _) = load_pool(&rpc, &net.0).await?;
            let holder = TreasuryHolder {
                what: "pool",
                address,
                treasury: pool.treasury,
                mint: pool.stake_mint,
            };
            sync_treasury(
                ctx,
                net,
                holder,
                slash_treasury,
                true,
                staking::sync_treasury,
            )
            .await
        }
        StakeCommand::Deposit {
            network,
            amount,
            from,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let owner = client.payer();
            let (address, _) = network.load(client.rpc()).await?;
            let (_, _, mint) = load_pool(client.rpc(), &address).await?;
            let base = mint.base_units(&amount)?;
            let from = from.unwrap_or_else(|| mint.ata(&owner));
            let ix = staking::stake(&owner, &address, &stake_token(&mint), &from, base);
            let signature = send(&client, &[ix], &[]).await?;
            let position_address = pda::stake_position(&pda::stake_pool(&address).0, &owner).0;
            let read = async {
                let position: StakePosition =
                    fetch(client.rpc(), &position_address, "stake position").await?;
                Ok(json!({ "total": position.amount }))
            };
            Ok(after_landing(
                &signature,
                json!({
                    "position": position_address.to_string(),
                    "staked": base,
                    "staked_ui": mint.ui(base),
                    "signature": signature,
                }),
                read.await,
            ))
        }
        StakeCommand::Bond { device } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = device.network.load(client.rpc()).await?;
            let device_address = pda::device(&address, &device.device_key).0;
            fetch::<Device>(client.rpc(), &device_address, "device").await?;
            let ix = staking::bond_device(&client.payer(), &address, &device_address);
            let signature = send(&client, &[ix], &[]).await?;
            let pool = pda::stake_pool(&address).0;
            Ok(json!({
                "device": device_address.to_string(),
                "bond": pda::device_bond(&pool, &device_address).0.to_string(),
                "signature": signature,
            }))
        }
        StakeCommand::Unbond { device } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = device.network.load(client.rpc()).await?;
            let device_address = pda::device(&address, &device.device_key).0;
            let pool = pda::stake_pool(&address).0;
            let bond_address = pda::device_bond(&pool, &device_address).0;
            let bond: DeviceBond = fetch(client.rpc(), &bond_address, "device bond").await?;
            let ix =
                staking::unbond_device(&client.payer(), &bond.staker, &address, &device_address);
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "device": device_address.to_string(),
                "staker": bond.staker.to_string(),
                "signature": signature,
            }))
        }
        StakeCommand::Unstake { network, amount } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let (_, _, mint) = load_pool(client.rpc(), &address).await?;
            let base = mint.base_units(&amount)?;
            let ix = staking::request_unstake(&client.payer(), &address, base);
            let signature = send(&client, &[ix], &[]).await?;
            let position_address =
                pda::stake_position(&pda::stake_pool(&address).0, &client.payer()).0;
            let read = async {
                let position: StakePosition =
                    fetch(client.rpc(), &position_address, "stake position").await?;
                Ok(json!({ "pending": position.pending, "unlock_ts": position.unlock_ts }))
            };
            Ok(after_landing(
                &signature,
                json!({ "requested": base, "signature": signature }),
                read.await,
            ))
        }
        StakeCommand::Withdraw { network, to } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let owner = client.payer();
            let (address, _) = network.load(client.rpc()).await?;
            let (pool, _, mint) = load_pool(client.rpc(), &address).await?;
            let position: StakePosition = fetch(
                client.rpc(),
                &pda::stake_position(&pool, &owner).0,
                "stake position",
            )
            .await?;
            ctx.confirm(&format!(
                "withdraw {} cooled-down stake",
                mint.ui(position.pending)
            ))?;
            let mut ixs = Vec::new();
            let to = match to {
                Some(to) => to,
                None => {
                    let ata = mint.ata(&owner);
                    if get_account(client.rpc(), &ata).await?.is_none() {
                        ixs.push(mint.create_ata(&owner, &owner));
                    }
                    ata
                }
            };
            ixs.push(staking::withdraw(
                &owner,
                &address,
                &stake_token(&mint),
                &to,
            ));
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "withdrawn": position.pending,
                "withdrawn_ui": mint.ui(position.pending),
                "to": to.to_string(),
                "signature": signature,
            }))
        }
        StakeCommand::Slash {
            network,
            staker,
            amount,
            evidence,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let (_, pool, mint) = load_pool(client.rpc(), &address).await?;
            let base = mint.base_units(&amount)?;
            ctx.confirm(&format!("slash {} of {staker}'s stake", mint.ui(base)))?;
            let ix = staking::slash(
                &client.payer(),
                &address,
                &staker,
                &stake_token(&mint),
                &pool.treasury,
                SlashArgs {
                    amount: base,
                    evidence_hash: evidence,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "staker": staker.to_string(),
                "slashed": base,
                "treasury": pool.treasury.to_string(),
                "signature": signature,
            }))
        }
        StakeCommand::Show { network, owner } => {
            let rpc = ctx.rpc();
            let (address, _) = network.load(&rpc).await?;
            let (pool_address, pool, _) = load_pool(&rpc, &address).await?;
            let owner = match owner {
                Some(owner) => owner,
                None => ctx.payer()?.pubkey(),
            };
            let position_address = pda::stake_position(&pool_address, &owner).0;
            let position: Option<StakePosition> =
                fetch_optional(&rpc, &position_address, "stake position").await?;
            let mut pool_value = view::stake_pool(&pool);
            pool_value["address"] = json!(pool_address.to_string());
            let position_value = position.map(|p| {
                let mut v = view::stake_position(&p);
                v["address"] = json!(position_address.to_string());
                v
            });
            Ok(json!({ "pool": pool_value, "position": position_value }))
        }
    }
}
