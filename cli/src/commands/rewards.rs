//! `depin rewards`: configure a network's rewards, build and publish the oracles' roots,
//! claim for one device or a whole fleet.
//!
//! Claims read the oracle's proof store (`rewards build-tree`, or the `depin-oracle`
//! binary's `build`): the store must hold the tree of the latest finalized root, the only
//! one the program pays against.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use depin_sdk::accounts::{Claimed, Device, EpochRoot, Proposal, RewardsConfig};
use depin_sdk::client::{ClientError, Outcome};
use depin_sdk::oracle::{hex, parse_rows, RewardTree};
use depin_sdk::pack::Packer;
use depin_sdk::rewards::{
    self, ClaimArgs, InitializeRewardsArgs, ProposeRootArgs, RewardToken, Schedule, SetOraclesArgs,
};
use depin_sdk::{pda, Instruction, Pubkey};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;

use super::NetworkRef;
use crate::amount::UiAmount;
use crate::context::{
    after_landing, client_error, decode, fetch, fetch_optional, get_accounts, send, Ctx,
};
use crate::error::{CliError, CliResult};
use crate::keys::{parse_hash, parse_pubkey, read_keypair_file};
use crate::output::OutputFormat;
use crate::tokens::{mint_info, MintInfo};
use crate::view;

/// Rewards.
#[derive(Subcommand, Debug)]
pub enum RewardsCommand {
    /// Configures rewards: emission schedule, epochs, oracles; the reward mint's authority
    /// moves to the rewards program (the --keypair is the network authority).
    Init {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Emission of each early epoch, in UI units of the reward mint.
        #[arg(long)]
        initial_per_epoch: UiAmount,
        /// Epochs between halvings.
        #[arg(long)]
        halving_interval_epochs: u64,
        /// Emission floor per epoch, in UI units of the reward mint.
        #[arg(long)]
        tail_per_epoch: UiAmount,
        /// Length of an epoch in seconds.
        #[arg(long)]
        epoch_secs: u64,
        /// Unix time epoch 0 starts [default: now].
        #[arg(long, value_name = "UNIX_TS")]
        genesis_ts: Option<i64>,
        /// An oracle's key (repeat for each).
        #[arg(long = "oracle", value_parser = parse_pubkey, value_name = "PUBKEY", required = true)]
        oracles: Vec<Pubkey>,
        /// Matching proposals that finalize a root (a strict majority).
        #[arg(long)]
        quorum: u8,
        /// Keypair file of the reward mint's current authority [default: the --keypair].
        #[arg(long, value_name = "KEYPAIR_FILE")]
        mint_authority_keypair: Option<PathBuf>,
    },
    /// Replaces the oracle set (the --keypair is the network authority).
    SetOracles {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// An oracle's key (repeat for each).
        #[arg(long = "oracle", value_parser = parse_pubkey, value_name = "PUBKEY", required = true)]
        oracles: Vec<Pubkey>,
        /// Matching proposals that finalize a root.
        #[arg(long)]
        quorum: u8,
    },
    /// Builds the reward tree from a CSV of `device,owner,cumulative_amount` (base units)
    /// and writes the proof store.
    BuildTree {
        /// Input CSV.
        #[arg(long, value_name = "CSV")]
        rows: PathBuf,
        /// Proof store to write.
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
    },
    /// Proposes an epoch's root and total as an oracle (the --keypair); the root is final
    /// once a quorum of oracles proposed the same.
    PublishRoot {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The epoch (it must be over).
        #[arg(long)]
        epoch: u64,
        /// Proof store whose root and total to propose.
        #[arg(long, value_name = "PATH", conflicts_with_all = ["root", "cumulative_total"], required_unless_present = "root")]
        store: Option<PathBuf>,
        /// Root to propose (64 hex digits).
        #[arg(long, value_parser = parse_hash, value_name = "HEX", requires = "cumulative_total")]
        root: Option<[u8; 32]>,
        /// Cumulative total to propose, in UI units of the reward mint.
        #[arg(long, requires = "root")]
        cumulative_total: Option<UiAmount>,
        /// SHA-256 of the epoch's region multiplier table as published off chain (64 hex
        /// digits; `depin-oracle table-hash` prints it) [default: zeros, no table]. Oracles
        /// agree only when root, total and this hash are identical.
        #[arg(long, value_parser = parse_hash, value_name = "HEX")]
        multipliers_hash: Option<[u8; 32]>,
    },
    /// Claims a device's rewards into its owner's reward-token account (anyone may send).
    Claim {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Proof store of the latest finalized root.
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// The device's key.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        device_key: Pubkey,
    },
    /// Claims for every device of an owner (or all devices of the store), packed into as few
    /// transactions as fit, with a progress bar.
    ClaimFleet {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// Proof store of the latest finalized root.
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// Whose devices [default: the --keypair's pubkey].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY", conflicts_with = "all")]
        owner: Option<Pubkey>,
        /// Every device in the store.
        #[arg(long)]
        all: bool,
    },
    /// Prints the rewards configuration (and an epoch's root with --epoch).
    Show {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// An epoch whose root, proposals and multiplier table hash to print.
        #[arg(long)]
        epoch: Option<u64>,
    },
}

fn read_store(path: &Path) -> CliResult<RewardTree> {
    let file = File::open(path)
        .map_err(|e| CliError::BadInput(format!("proof store {}: {e}", path.display())))?;
    RewardTree::read_store(BufReader::new(file))
        .map_err(|e| CliError::BadInput(format!("proof store {}: {e}", path.display())))
}

fn reward_token(mint: &MintInfo) -> RewardToken {
    RewardToken {
        mint: mint.address,
        token_program: mint.token_program,
    }
}

/// What a claim needs: the network, its rewards config, the reward mint, and the store's
/// tree checked against the latest finalized root.
struct ClaimSetup {
    network: Pubkey,
    config_address: Pubkey,
    mint: MintInfo,
    epoch: u64,
    tree: RewardTree,
}

async fn claim_setup(rpc: &RpcClient, network: &NetworkRef, store: &Path) -> CliResult<ClaimSetup> {
    let tree = read_store(store)?;
    let (address, net) = network.load(rpc).await?;
    let config_address = pda::rewards_config(&address).0;
    let config: RewardsConfig = fetch(rpc, &config_address, "rewards config").await?;
    let epoch = config.latest_finalized_epoch.ok_or_else(|| {
        CliError::BadInput(format!(
            "network {address} has no finalized reward root yet"
        ))
    })?;
    if tree.root() != config.latest_finalized_root {
        return Err(CliError::BadInput(format!(
            "proof store root {} is not the latest finalized root {} (epoch {epoch})",
            hex(&tree.root()),
            hex(&config.latest_finalized_root)
        )));
    }
    let mint = mint_info(rpc, &net.reward_mint).await?;
    Ok(ClaimSetup {
        network: address,
        config_address,
        mint,
        epoch,
        tree,
    })
}

/// Runs a `rewards` command.
pub async fn run(ctx: &Ctx, cmd: RewardsCommand) -> CliResult<Value> {
    match cmd {
        RewardsCommand::Init {
            network,
            initial_per_epoch,
            halving_interval_epochs,
            tail_per_epoch,
            epoch_secs,
            genesis_ts,
            oracles,
            quorum,
            mint_authority_keypair,
        } => {
            let payer = ctx.payer()?;
            let mint_authority = mint_authority_keypair
                .map(|path| read_keypair_file(&path))
                .transpose()?;
            let genesis_ts = match genesis_ts {
                Some(ts) => ts,
                None => crate::context::unix_now()?,
            };
            let client = ctx.client(payer);
            let (address, net) = network.load(client.rpc()).await?;
            let mint = mint_info(client.rpc(), &net.reward_mint).await?;
            let schedule = Schedule {
                initial_per_epoch: mint.base_units(&initial_per_epoch)?,
                halving_interval_epochs,
                tail_per_epoch: mint.base_units(&tail_per_epoch)?,
            };
            let authority_key = mint_authority
                .as_ref()
                .map_or_else(|| client.payer(), |k| k.pubkey());
            let ix = rewards::initialize_rewards(
                &client.payer(),
                &client.payer(),
                &address,
                &reward_token(&mint),
                &authority_key,
                InitializeRewardsArgs {
                    schedule,
                    epoch_duration_secs: epoch_secs,
                    genesis_ts,
                    oracles: oracles.clone(),
                    quorum,
                },
            );
            let signers: Vec<&solana_keypair::Keypair> = mint_authority.iter().collect();
            let signature = send(&client, &[ix], &signers).await?;
            Ok(json!({
                "config": pda::rewards_config(&address).0.to_string(),
                "reward_mint": mint.address.to_string(),
                "genesis_ts": genesis_ts,
                "epoch_secs": epoch_secs,
                "oracles": oracles.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "quorum": quorum,
                "signature": signature,
            }))
        }
        RewardsCommand::SetOracles {
            network,
            oracles,
            quorum,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let (address, _) = network.load(client.rpc()).await?;
            let ix = rewards::set_oracles(
                &client.payer(),
                &address,
                SetOraclesArgs {
                    oracles: oracles.clone(),
                    quorum,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            let read = async {
                let config: RewardsConfig = fetch(
                    client.rpc(),
                    &pda::rewards_config(&address).0,
                    "rewards config",
                )
                .await?;
                Ok(json!({ "oracle_set_version": config.oracle_set_version }))
            };
            Ok(after_landing(
                &signature,
                json!({
                    "oracles": oracles.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "quorum": quorum,
                    "signature": signature,
                }),
                read.await,
            ))
        }
        RewardsCommand::BuildTree { rows, store } => {
            let input = File::open(&rows)
                .map_err(|e| CliError::BadInput(format!("rows {}: {e}", rows.display())))?;
            let parsed = parse_rows(BufReader::new(input))
                .map_err(|e| CliError::BadInput(format!("rows {}: {e}", rows.display())))?;
            let tree = RewardTree::build(parsed).map_err(|e| CliError::BadInput(e.to_string()))?;
            // the store the claims are served from is replaced whole or not at all
            depin_sdk::file::replace(&store, false, |w| tree.write_store(w))
                .map_err(|e| CliError::BadInput(format!("store {}: {e}", store.display())))?;
            Ok(json!({
                "devices": tree.len(),
                "depth": tree.depth(),
                "root": hex(&tree.root()),
                "cumulative_total": tree.total(),
                "store": store.display().to_string(),
            }))
        }
        RewardsCommand::PublishRoot {
            network,
            epoch,
            store,
            root,
            cumulative_total,
            multipliers_hash,
        } => {
            let multipliers_hash = multipliers_hash.unwrap_or_default();
            let payer = ctx.payer()?;
            let tree = store.as_deref().map(read_store).transpose()?;
            let client = ctx.client(payer);
            let (address, net) = network.load(client.rpc()).await?;
            let (root, total) = match (tree, root, cumulative_total) {
                (Some(tree), _, _) => (tree.root(), tree.total()),
                (None, Some(root), Some(total)) => {
                    let mint = mint_info(client.rpc(), &net.reward_mint).await?;
                    (root, mint.base_units(&total)?)
                }
                _ => {
                    return Err(CliError::Usage(
                        "give --store, or --root with --cumulative-total".into(),
                    ))
                }
            };
            let ix = rewards::propose_root(
                &client.payer(),
                &address,
                ProposeRootArgs {
                    epoch,
                    root,
                    cumulative_total: total,
                    multipliers_hash,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            let config_address = pda::rewards_config(&address).0;
            let epoch_address = pda::epoch_root(&config_address, epoch).0;
            let read = async {
                let state: EpochRoot = fetch(client.rpc(), &epoch_address, "epoch root").await?;
                Ok(json!({
                    "votes": state.votes_for(&Proposal {
                        submitted: true,
                        root,
                        cumulative_total: total,
                        multipliers_hash,
                    }),
                    "finalized": state.finalized,
                }))
            };
            Ok(after_landing(
                &signature,
                json!({
                    "epoch_root": epoch_address.to_string(),
                    "epoch": epoch,
                    "root": hex(&root),
                    "cumulative_total": total,
                    "multipliers_hash": hex(&multipliers_hash),
                    "signature": signature,
                }),
                read.await,
            ))
        }
        RewardsCommand::Claim {
            network,
            store,
            device_key,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let setup = claim_setup(client.rpc(), &network, &store).await?;
            let device_address = pda::device(&setup.network, &device_key).0;
            let device: Device = fetch(client.rpc(), &device_address, "device").await?;
            let proof = setup.tree.proof(&device_address).ok_or_else(|| {
                CliError::BadInput(format!("device {device_address} is not in the proof store"))
            })?;
            let claimed_address = pda::claimed(&setup.config_address, &device_address).0;
            let before: Option<Claimed> =
                fetch_optional(client.rpc(), &claimed_address, "claim record").await?;
            let recipient = setup.mint.ata(&device.owner);
            let mut ixs = vec![setup.mint.create_ata(&client.payer(), &device.owner)];
            ixs.extend(rewards::claim_instructions(
                &client.payer(),
                &setup.network,
                &device_address,
                &device.owner,
                &reward_token(&setup.mint),
                &recipient,
                ClaimArgs {
                    epoch: setup.epoch,
                    cumulative_amount: proof.row.cumulative_amount,
                    proof: proof.proof,
                },
                before.is_some(),
            ));
            let signature = send(&client, &ixs, &[]).await?;
            let already = before.map_or(0, |c| c.total_claimed);
            let paid = proof.row.cumulative_amount.saturating_sub(already);
            Ok(json!({
                "device": device_address.to_string(),
                "owner": device.owner.to_string(),
                "recipient": recipient.to_string(),
                "epoch": setup.epoch,
                "cumulative_amount": proof.row.cumulative_amount,
                "paid": paid,
                "paid_ui": setup.mint.ui(paid),
                "signature": signature,
            }))
        }
        RewardsCommand::ClaimFleet {
            network,
            store,
            owner,
            all,
        } => {
            let payer = ctx.payer()?;
            let owner = if all {
                None
            } else {
                Some(owner.unwrap_or_else(|| payer.pubkey()))
            };
            let client = ctx.client(payer);
            claim_fleet(ctx, &client, &network, &store, owner).await
        }
        RewardsCommand::Show { network, epoch } => {
            let rpc = ctx.rpc();
            let (address, _) = network.load(&rpc).await?;
            let config_address = pda::rewards_config(&address).0;
            let config: RewardsConfig = fetch(&rpc, &config_address, "rewards config").await?;
            let mut value = view::rewards_config(&config);
            value["address"] = json!(config_address.to_string());
            if let Some(epoch) = epoch {
                let epoch_address = pda::epoch_root(&config_address, epoch).0;
                let root: Option<EpochRoot> =
                    fetch_optional(&rpc, &epoch_address, "epoch root").await?;
                value["epoch_root"] = root.map_or(Value::Null, |r| view::epoch_root(&r));
            }
            // The config keeps the latest finalized root; its table hash is in the epoch's
            // account.
            if let Some(latest) = config.latest_finalized_epoch {
                let epoch_address = pda::epoch_root(&config_address, latest).0;
                let root: Option<EpochRoot> =
                    fetch_optional(&rpc, &epoch_address, "epoch root").await?;
                value["latest_finalized_multipliers_hash"] =
                    root.map_or(Value::Null, |r| json!(hex(&r.multipliers_hash)));
            }
            Ok(value)
        }
    }
}

/// One device of a fleet claim that will be sent.
struct FleetClaim {
    device: Pubkey,
    paid: u64,
    group: Vec<Instruction>,
}

/// Claims for the store's devices of `owner` (all of them when `None`): devices that cannot
/// be paid (gone, moved to another owner, not active, not bonded) or have nothing left to
/// claim are skipped with their reason, so one of them cannot sink a packed transaction;
/// the rest go out as `[create recipient account] [open_claimed] claim` groups, packed.
async fn claim_fleet(
    ctx: &Ctx,
    client: &depin_sdk::client::Client,
    network: &NetworkRef,
    store: &Path,
    owner: Option<Pubkey>,
) -> CliResult<Value> {
    let rpc = client.rpc();
    let setup = claim_setup(rpc, network, store).await?;
    let rows: Vec<_> = setup
        .tree
        .rows()
        .iter()
        .filter(|row| owner.is_none_or(|o| row.owner == o))
        .copied()
        .collect();
    let pool = pda::stake_pool(&setup.network).0;
    let mut addresses = Vec::with_capacity(rows.len() * 3);
    for row in &rows {
        addresses.push(row.device);
        addresses.push(pda::claimed(&setup.config_address, &row.device).0);
        addresses.push(pda::device_bond(&pool, &row.device).0);
    }
    let accounts = get_accounts(rpc, &addresses).await?;
    let owners: Vec<Pubkey> = {
        let mut seen = HashSet::new();
        rows.iter()
            .map(|r| r.owner)
            .filter(|o| seen.insert(*o))
            .collect()
    };
    let recipients: Vec<Pubkey> = owners.iter().map(|o| setup.mint.ata(o)).collect();
    let existing = get_accounts(rpc, &recipients).await?;
    let mut needs_recipient: HashSet<Pubkey> = owners
        .iter()
        .zip(&existing)
        .filter(|(_, account)| account.is_none())
        .map(|(o, _)| *o)
        .collect();

    let mut claims = Vec::new();
    let mut skipped = Vec::new();
    for (row, chunk) in rows.iter().zip(accounts.chunks(3)) {
        let [device, claimed, bond] = chunk else {
            continue;
        };
        let skip = |reason: &str| json!({"device": row.device.to_string(), "reason": reason});
        let Some(device) = device else {
            skipped.push(skip("device account not found"));
            continue;
        };
        let device: Device = match decode(&device.data, "device", &row.device) {
            Ok(d) => d,
            Err(_) => {
                skipped.push(skip("not a device account"));
                continue;
            }
        };
        if device.owner != row.owner {
            skipped.push(skip("the device changed owner since the tree was built"));
            continue;
        }
        if !device.is_active() {
            skipped.push(skip("device not active"));
            continue;
        }
        if bond.is_none() {
            skipped.push(skip("device not bonded"));
            continue;
        }
        let already = match claimed {
            Some(c) => decode::<Claimed>(&c.data, "claim record", &row.device)?.total_claimed,
            None => 0,
        };
        let paid = row.cumulative_amount.saturating_sub(already);
        if paid == 0 {
            skipped.push(skip("nothing left to claim"));
            continue;
        }
        let proof = setup
            .tree
            .proof(&row.device)
            .ok_or_else(|| CliError::BadInput(format!("device {} has no proof", row.device)))?;
        let mut group = Vec::with_capacity(3);
        if needs_recipient.remove(&row.owner) {
            group.push(setup.mint.create_ata(&client.payer(), &row.owner));
        }
        group.extend(rewards::claim_instructions(
            &client.payer(),
            &setup.network,
            &row.device,
            &row.owner,
            &reward_token(&setup.mint),
            &setup.mint.ata(&row.owner),
            ClaimArgs {
                epoch: setup.epoch,
                cumulative_amount: row.cumulative_amount,
                proof: proof.proof,
            },
            claimed.is_some(),
        ));
        claims.push(FleetClaim {
            device: row.device,
            paid,
            group,
        });
    }

    // pack once to know the transactions, then send them one by one for the progress bar
    let groups: Vec<Vec<Instruction>> = claims.iter().map(|c| c.group.clone()).collect();
    let packed = Packer::legacy(client.payer())
        .pack(groups.clone(), |ixs| {
            vec![depin_sdk::client::set_unit_limit(
                depin_sdk::compute::compute_unit_limit(ixs),
            )]
        })
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let bar = if ctx.output == OutputFormat::Json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(
            Some(u64::try_from(claims.len()).unwrap_or(u64::MAX)),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} devices claimed {msg}")
        {
            bar.set_style(style);
        }
        bar
    };
    let mut landed = 0usize;
    let mut failed = 0usize;
    let mut expired = 0usize;
    let mut transactions = 0usize;
    let mut first_problem: Option<String> = None;
    let mut paid_devices = Vec::new();
    let mut paid_total: u64 = 0;
    // an error stops the claims, but what landed before it is still counted and printed
    let mut stopped: Option<CliError> = None;
    for batch in &packed {
        let range = batch.groups.clone();
        let chunk = groups.get(range.clone()).unwrap_or_default().to_vec();
        let outcomes = match client.send_packed(chunk, &[], Vec::new()).await {
            Ok(outcomes) => outcomes,
            Err(ClientError::PartlySent { sent, error, .. }) => {
                stopped = Some(client_error(*error));
                sent
            }
            Err(error) => {
                stopped = Some(client_error(error));
                Vec::new()
            }
        };
        for (sub, outcome) in outcomes {
            transactions += 1;
            let devices = &claims[range.start + sub.start..range.start + sub.end];
            match outcome {
                Outcome::Landed { .. } => {
                    landed += 1;
                    for claim in devices {
                        paid_total = paid_total.saturating_add(claim.paid);
                        paid_devices.push(json!({
                            "device": claim.device.to_string(),
                            "paid": claim.paid,
                        }));
                    }
                }
                Outcome::Failed {
                    signature, failure, ..
                } => {
                    failed += 1;
                    first_problem.get_or_insert_with(|| format!("{signature}: {failure}"));
                }
                Outcome::Expired { signature, .. } => {
                    expired += 1;
                    first_problem.get_or_insert_with(|| format!("{signature} expired"));
                }
            }
            bar.inc(u64::try_from(devices.len()).unwrap_or(0));
        }
        if stopped.is_some() {
            break;
        }
    }
    bar.finish_and_clear();
    let summary = json!({
        "epoch": setup.epoch,
        "root": hex(&setup.tree.root()),
        "owner": owner.map(|o| o.to_string()),
        "devices_in_store": rows.len(),
        "claimed": paid_devices,
        "skipped": skipped,
        "transactions": transactions,
        "landed": landed,
        "failed": failed,
        "expired": expired,
        "stopped": stopped.as_ref().map(ToString::to_string),
        "paid": paid_total,
        "paid_ui": setup.mint.ui(paid_total),
    });
    if let Some(error) = stopped {
        // the devices in "claimed" were paid; the rest of the store was not sent
        ctx.emit(&summary);
        return Err(error);
    }
    if failed + expired > 0 {
        ctx.emit(&summary);
        return Err(CliError::Batch {
            transactions,
            failed,
            expired,
            first: first_problem.unwrap_or_default(),
        });
    }
    Ok(summary)
}
