//! `depin-oracle`: the reward oracle's command-line tool.
//!
//! ```text
//! depin-oracle generate --devices 1000000 --out rows.csv     # synthetic rows (demos, benchmarks)
//! depin-oracle build --rows rows.csv --store epoch-7.store   # prints root, total, depth
//! depin-oracle proof --store epoch-7.store --device <DEVICE> # prints the claim arguments
//! depin-oracle verify --root <HEX> --device <D> --owner <O> --amount <N> --proof <HEX,HEX,...>
//! depin-oracle bonds --url <RPC> --network <NETWORK> --out bonds-7.csv  # at an epoch boundary
//! depin-oracle epoch --earnings earned.csv --budget <N> [--previous epoch-6.store]
//!     --bonds-start bonds-6.csv --bonds-end bonds-7.csv
//!     [--health health.csv --unscored-bps <N>] [--multipliers table.json] --store epoch-7.store
//! depin-oracle table-hash --multipliers table.json            # what publish-root commits
//! ```
//!
//! `bonds` snapshots the bonds of a network's stake pool (its pool and slot, then
//! `device,staker,bonded_at,collateralized`; at `finalized` unless told otherwise); taken at
//! every epoch boundary, one epoch's end is the next one's start. `epoch` computes an
//! epoch's rows ([`depin_sdk::incentives::epoch_rows`]): the previous store's cumulative
//! amounts plus the earnings (`device,owner,region,amount`) of each device that one bond to
//! its owner's stake covered from the epoch's start to its end (the same bond, its stake
//! covering its devices, in both snapshots of one pool, the start older than the end; the
//! others earn nothing and are named on stderr)
//! times its health (`device,health_bps`, from the auditor; a device that earned without a
//! score counts at `--unscored-bps`, which every oracle of the network must set alike, and
//! is named on stderr) times its region's multiplier (the published table, JSON), scaled
//! down to `--budget` if they exceed it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use clap::{Parser, Subcommand};
use depin_sdk::client::{Client, ClientConfig, CommitmentConfig};
use depin_sdk::incentives::{self, IncentiveError, RegionMultipliers};
use depin_sdk::oracle::{
    hex, parse_hex, parse_rows, verify_proof, OracleError, RewardRow, RewardTree,
};
use depin_sdk::Pubkey;
use solana_keypair::Keypair;

#[derive(Parser)]
#[command(
    name = "depin-oracle",
    about = "Build reward trees, serve and verify proofs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes synthetic rows (random devices and owners, increasing amounts).
    Generate {
        /// Number of devices.
        #[arg(long)]
        devices: usize,
        /// Output CSV file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Builds the tree from a CSV of `device,owner,cumulative_amount` and writes the proof store.
    Build {
        /// Input CSV.
        #[arg(long)]
        rows: PathBuf,
        /// Proof store to write.
        #[arg(long)]
        store: PathBuf,
    },
    /// Prints one device's claim arguments from a proof store.
    Proof {
        /// Proof store.
        #[arg(long)]
        store: PathBuf,
        /// The registry `Device` account (base58).
        #[arg(long)]
        device: String,
    },
    /// Checks a proof against a root, as the program does.
    Verify {
        /// Root (64 hex digits).
        #[arg(long)]
        root: String,
        /// Device (base58).
        #[arg(long)]
        device: String,
        /// Owner (base58).
        #[arg(long)]
        owner: String,
        /// Cumulative amount.
        #[arg(long)]
        amount: u64,
        /// Comma-separated sibling hashes (may be empty for a one-device tree).
        #[arg(long, default_value = "")]
        proof: String,
    },
    /// Snapshots the bonds of a network's stake pool: what `epoch` reads to tell which
    /// devices a bond covered all epoch. Take one at every epoch boundary.
    Bonds {
        /// The JSON-RPC endpoint.
        #[arg(long)]
        url: String,
        /// The registry `Network` account (base58) whose stake pool is read.
        #[arg(long)]
        network: String,
        /// Commitment of the snapshot: every oracle of a network must use the same
        /// snapshots, so the default is one no fork can undo.
        #[arg(long, default_value = "finalized", value_parser = ["processed", "confirmed", "finalized"])]
        commitment: String,
        /// CSV to write: `# bonds of pool <POOL> at slot <SLOT>`, then
        /// `device,staker,bonded_at,collateralized`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Builds an epoch's tree from the previous store, earnings, bonds, healths and
    /// multipliers.
    Epoch {
        /// The previous epoch's proof store (none for the first epoch).
        #[arg(long)]
        previous: Option<PathBuf>,
        /// CSV of `device,owner,region,amount`: what each device earned this epoch.
        #[arg(long)]
        earnings: PathBuf,
        /// The pool's bonds when the epoch began (`depin-oracle bonds` at its start).
        #[arg(long)]
        bonds_start: PathBuf,
        /// The pool's bonds when it ended (the same pool, a later slot). A device earns only
        /// if both snapshots hold the same bond (staker and bonding time), collateralized,
        /// with its owner as the staker.
        #[arg(long)]
        bonds_end: PathBuf,
        /// CSV of `device,health_bps`, from the auditor; without it every device counts as
        /// healthy.
        #[arg(long, requires = "unscored_bps")]
        health: Option<PathBuf>,
        /// Health (bps, 0 to 10000; needed with `--health`) of a device that earned but is
        /// not in `--health`: the auditor never found it active at a scoring run of the epoch
        /// (onboarded after the last one, suspended throughout, or windows the auditor did
        /// not score). Such devices are named on stderr. Every oracle must use the same
        /// value, or their roots differ.
        #[arg(long, requires = "health", value_parser = clap::value_parser!(u16).range(0..=10_000))]
        unscored_bps: Option<u16>,
        /// The epoch's region multiplier table (JSON); without it every region counts as 1.
        #[arg(long)]
        multipliers: Option<PathBuf>,
        /// Most the epoch may pay (the schedule's cumulative cap minus the previous total).
        #[arg(long)]
        budget: u64,
        /// Proof store to write.
        #[arg(long)]
        store: PathBuf,
    },
    /// Prints the hash of a region multiplier table (what the oracles propose with the root).
    TableHash {
        /// The table (JSON).
        #[arg(long)]
        multipliers: PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Oracle(#[from] OracleError),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
    /// An I/O error of a file being written, named by [`replace`] with its path.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Incentive(#[from] IncentiveError),
}

fn read_table(path: &PathBuf) -> Result<RegionMultipliers, CliError> {
    let table: RegionMultipliers = serde_json::from_reader(BufReader::new(open(path)?))
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    table.validate()?;
    Ok(table)
}

fn open(path: &PathBuf) -> Result<File, CliError> {
    File::open(path).map_err(|source| CliError::File {
        path: path.clone(),
        source,
    })
}

/// Writes `path` whole through `write` ([`depin_sdk::file::replace`]): a failure leaves the
/// file as it was.
fn replace(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), CliError>,
) -> Result<(), CliError> {
    depin_sdk::file::replace(path, false, write).map_err(|e| match e {
        CliError::Io(source) => CliError::File {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}

fn key(s: &str, what: &str) -> Result<Pubkey, CliError> {
    Pubkey::from_str(s).map_err(|e| CliError::Input(format!("{what} {s:?}: {e}")))
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Generate { devices, out } => {
            replace(&out, |file| {
                writeln!(file, "device,owner,cumulative_amount")?;
                for i in 0..devices {
                    writeln!(
                        file,
                        "{},{},{}",
                        Pubkey::new_unique(),
                        Pubkey::new_unique(),
                        1_000 + i as u64
                    )?;
                }
                Ok(())
            })?;
            println!("wrote {devices} rows to {}", out.display());
        }
        Command::Build { rows, store } => {
            let rows = parse_rows(BufReader::new(open(&rows)?))?;
            let tree = RewardTree::build(rows)?;
            replace(&store, |w| Ok(tree.write_store(w)?))?;
            println!("devices          {}", tree.len());
            println!("depth            {}", tree.depth());
            println!("root             {}", hex(&tree.root()));
            println!("cumulative_total {}", tree.total());
            println!("store            {}", store.display());
        }
        Command::Proof { store, device } => {
            let device = key(&device, "device")?;
            let tree = RewardTree::read_store(BufReader::new(open(&store)?))?;
            let proof = tree
                .proof(&device)
                .ok_or_else(|| CliError::Input(format!("device {device} is not in the tree")))?;
            let siblings: Vec<String> = proof.proof.iter().map(hex).collect();
            println!("{{");
            println!("  \"root\": \"{}\",", hex(&tree.root()));
            println!("  \"device\": \"{}\",", proof.row.device);
            println!("  \"owner\": \"{}\",", proof.row.owner);
            println!("  \"cumulative_amount\": {},", proof.row.cumulative_amount);
            println!(
                "  \"proof\": [{}]",
                siblings
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("}}");
        }
        Command::Verify {
            root,
            device,
            owner,
            amount,
            proof,
        } => {
            let root = parse_hex(&root)
                .ok_or_else(|| CliError::Input("root: expected 64 hex digits".into()))?;
            let row = RewardRow {
                device: key(&device, "device")?,
                owner: key(&owner, "owner")?,
                cumulative_amount: amount,
            };
            let siblings = proof
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    parse_hex(s).ok_or_else(|| {
                        CliError::Input(format!("proof element {s:?}: expected 64 hex digits"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if verify_proof(&root, &row, &siblings) {
                println!("valid");
            } else {
                return Err(CliError::Input(
                    "invalid: the proof does not lead to the root".into(),
                ));
            }
        }
        Command::Bonds {
            url,
            network,
            commitment,
            out,
        } => {
            let network = key(&network, "network")?;
            let commitment = CommitmentConfig::from_str(&commitment)
                .map_err(|e| CliError::Input(format!("commitment {commitment:?}: {e}")))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            // a read-only client: its payer never signs
            let client = Client::new(url, Keypair::new(), ClientConfig::default());
            let bonds = runtime
                .block_on(client.bonds(&network, commitment))
                .map_err(|e| CliError::Input(format!("bonds of network {network}: {e}")))?;
            replace(&out, |w| Ok(incentives::write_bonds(&bonds, w)?))?;
            let short = bonds.bonds.values().filter(|b| !b.collateralized).count();
            println!("pool             {}", bonds.pool);
            println!("slot             {}", bonds.slot);
            println!("bonds            {}", bonds.bonds.len());
            println!("undercollateralized {short}");
            println!("out              {}", out.display());
        }
        Command::Epoch {
            previous,
            earnings,
            bonds_start,
            bonds_end,
            health,
            unscored_bps,
            multipliers,
            budget,
            store,
        } => {
            let previous = previous
                .map(|p| RewardTree::read_store(BufReader::new(open(&p)?)).map_err(CliError::from))
                .transpose()?;
            let earnings = incentives::parse_earnings(BufReader::new(open(&earnings)?))?;
            let read_bonds = |path: &PathBuf| {
                incentives::parse_bonds(BufReader::new(open(path)?))
                    .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
            };
            let (start, end) = (read_bonds(&bonds_start)?, read_bonds(&bonds_end)?);
            let coverage = incentives::Coverage {
                start: &start,
                end: &end,
            };
            let scores = health
                .map(|p| Ok::<_, CliError>(incentives::parse_health(BufReader::new(open(&p)?))?))
                .transpose()?;
            let health = match (&scores, unscored_bps) {
                (Some(scores), Some(unscored_bps)) => Some(incentives::Health {
                    scores,
                    unscored_bps,
                }),
                (None, None) => None,
                // clap refuses it first
                _ => {
                    return Err(CliError::Input(
                        "--health and --unscored-bps go together".into(),
                    ))
                }
            };
            let table = multipliers.as_ref().map(read_table).transpose()?;
            let previous_rows = previous.as_ref().map_or(&[][..], |t| t.rows());
            let out = incentives::epoch_rows(
                previous_rows,
                &earnings,
                coverage,
                health,
                table.as_ref(),
                budget,
            )?;
            let tree = RewardTree::build(out.rows)?;
            replace(&store, |w| Ok(tree.write_store(w)?))?;
            println!("devices          {}", tree.len());
            println!("root             {}", hex(&tree.root()));
            println!("cumulative_total {}", tree.total());
            println!("paid             {}", out.paid);
            println!("weighted         {}", out.weighted);
            println!("scaled           {}", out.scaled);
            println!("unbonded         {}", out.unbonded.len());
            for device in &out.unbonded {
                eprintln!(
                    "device {device}: earned without one bond to its owner's stake all epoch, paid nothing for it"
                );
            }
            println!("unlisted         {}", out.unlisted.len());
            for (device, region) in &out.unlisted {
                eprintln!(
                    "device {device}: region {region:x} not in the table, paid at its min_bps"
                );
            }
            if let Some(h) = health {
                println!(
                    "unscored         {} at {} bps",
                    out.unscored.len(),
                    h.unscored_bps
                );
                for device in &out.unscored {
                    eprintln!(
                        "device {device}: earned without a health score, paid at {} bps",
                        h.unscored_bps
                    );
                }
            }
            println!(
                "multipliers_hash {}",
                hex(&table.as_ref().map_or([0; 32], RegionMultipliers::hash))
            );
            println!("store            {}", store.display());
        }
        Command::TableHash { multipliers } => {
            println!("{}", hex(&read_table(&multipliers)?.hash()));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("depin-oracle: {e}");
            ExitCode::FAILURE
        }
    }
}
