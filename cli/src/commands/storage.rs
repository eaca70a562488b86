//! `depin storage`: a Storage network's market and deals (propose as a client; accept and
//! prove as a provider).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use depin_sdk::accounts::{Deal, Device, StorageMarket};
use depin_sdk::client::Client;
use depin_sdk::storage::{
    self, InitializeMarketArgs, PaymentToken, ProposeDealArgs, StorageProver, SubmitProofArgs,
    SLOT_HASHES_ID,
};
use depin_sdk::storage_program::state::{PERIOD_FAULTED, PERIOD_PENDING, PERIOD_PROVEN};
use depin_sdk::{pda, Instruction, Pubkey};
use serde_json::{json, Value};

use super::{sync_treasury, treasury_account, NetworkRef, TreasuryHolder};
use crate::amount::UiAmount;
use crate::context::{fetch, fetch_optional, get_account, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::parse_pubkey;
use crate::tokens::{mint_info, MintInfo};
use crate::view;

/// Storage markets and deals.
#[derive(Subcommand, Debug)]
pub enum StorageCommand {
    /// Creates the network's storage market (the --keypair is the network authority).
    MarketCreate {
        /// The network (a Storage network).
        #[command(flatten)]
        network: NetworkRef,
        /// Mint deals are paid in.
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        payment_mint: Pubkey,
        /// Seconds per proving period.
        #[arg(long)]
        proving_period_secs: u64,
        /// Slots with a block a provider has to answer a challenge in (2 to 511; slots
        /// skipped by their leader do not count).
        #[arg(long)]
        challenge_window_slots: u64,
        /// Words challenged per period.
        #[arg(long)]
        challenges_per_period: u8,
        /// Faulted periods in a row (in period order) that terminate a deal.
        #[arg(long)]
        max_consecutive_faults: u8,
        /// Share of collateral slashed per fault, in basis points.
        #[arg(long)]
        fault_slash_bps: u16,
        /// Protocol fee on each period's payment, in basis points.
        #[arg(long)]
        protocol_fee_bps: u16,
        /// Payment-mint account of the network treasury's owner [default: its associated
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
        /// Payment-mint account of the network treasury's owner [default: its associated
        /// account, created if needed].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        treasury: Option<Pubkey>,
    },
    /// Proposes a deal for FILE to a provider device, escrowing price x periods (the
    /// --keypair is the client).
    Propose {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The provider's device (its key).
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        provider_device_key: Pubkey,
        /// The file to store.
        #[arg(long)]
        file: PathBuf,
        /// Chunk size in bytes (a multiple of 32).
        #[arg(long, default_value_t = 4096)]
        chunk_size: u32,
        /// Price per proving period, in UI units of the payment mint.
        #[arg(long)]
        price_per_period: UiAmount,
        /// Number of periods.
        #[arg(long)]
        periods: u8,
        /// Collateral the provider posts, in UI units of the payment mint.
        #[arg(long)]
        collateral: UiAmount,
    },
    /// Accepts a proposed deal with exactly the terms on chain, posting collateral (the
    /// --keypair owns the provider device), once the terms name FILE cut in chunks of
    /// --chunk-size: its chunk count and root (refused with 2 otherwise, nothing sent; a
    /// count above the file's would name chunks no proof can answer).
    Accept {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The client who proposed it.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        client: Pubkey,
        /// The deal's id.
        #[arg(long)]
        deal_id: u64,
        /// The piece the provider stores for the deal.
        #[arg(long)]
        file: PathBuf,
        /// The chunk size the provider accepts (a multiple of 32): terms naming another
        /// are refused before the file is read.
        #[arg(long, default_value_t = 4096)]
        chunk_size: u32,
    },
    /// Proves a period of a deal: opens its challenge if needed, waits for the seed slot,
    /// then answers every challenge from FILE, one proof per transaction (the --keypair owns
    /// the provider device). A period proven already sends nothing; a faulted one, or one
    /// whose seed has left SlotHashes (its proof window closed), is refused at once (2).
    Prove {
        /// The network.
        #[command(flatten)]
        network: NetworkRef,
        /// The client who proposed the deal.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        client: Pubkey,
        /// The deal's id.
        #[arg(long)]
        deal_id: u64,
        /// The stored file.
        #[arg(long)]
        file: PathBuf,
        /// The period [default: the current one].
        #[arg(long)]
        period: Option<u64>,
    },
    /// Prints a deal.
    Show {
        /// The client who proposed it.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        client: Pubkey,
        /// The deal's id.
        #[arg(long)]
        deal_id: u64,
    },
}

fn payment_token(mint: &MintInfo) -> PaymentToken {
    PaymentToken {
        mint: mint.address,
        token_program: mint.token_program,
    }
}

/// Runs a `storage` command.
pub async fn run(ctx: &Ctx, cmd: StorageCommand) -> CliResult<Value> {
    match cmd {
        StorageCommand::MarketCreate {
            network,
            payment_mint,
            proving_period_secs,
            challenge_window_slots,
            challenges_per_period,
            max_consecutive_faults,
            fault_slash_bps,
            protocol_fee_bps,
            treasury,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let authority = client.payer();
            let (address, net) = network.load(client.rpc()).await?;
            let mint = mint_info(client.rpc(), &payment_mint).await?;
            let mut ixs: Vec<Instruction> = Vec::new();
            let treasury =
                treasury_account(client.rpc(), &net, &mint, &authority, treasury, &mut ixs).await?;
            ixs.push(storage::initialize_market(
                &authority,
                &authority,
                &address,
                &payment_token(&mint),
                &net.treasury,
                &treasury,
                InitializeMarketArgs {
                    proving_period_secs,
                    challenge_window_slots,
                    challenges_per_period,
                    max_consecutive_faults,
                    fault_slash_bps,
                    protocol_fee_bps,
                },
            ));
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "market": pda::storage_market(&address).0.to_string(),
                "payment_mint": mint.address.to_string(),
                "treasury": treasury.to_string(),
                "signature": signature,
            }))
        }
        StorageCommand::MarketSyncTreasury { network, treasury } => {
            let rpc = ctx.rpc();
            let net = network.load(&rpc).await?;
            let address = pda::storage_market(&net.0).0;
            let market: StorageMarket = fetch(&rpc, &address, "storage market").await?;
            let holder = TreasuryHolder {
                what: "market",
                address,
                treasury: market.treasury,
                mint: market.payment_mint,
            };
            sync_treasury(ctx, net, holder, treasury, false, storage::sync_treasury).await
        }
        StorageCommand::Propose {
            network,
            provider_device_key,
            file,
            chunk_size,
            price_per_period,
            periods,
            collateral,
        } => {
            let payer = ctx.payer()?;
            let piece = storage::commit_file(&file, chunk_size)
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            let client = ctx.client(payer);
            let owner = client.payer();
            let (address, _) = network.load(client.rpc()).await?;
            let market: StorageMarket = fetch(
                client.rpc(),
                &pda::storage_market(&address).0,
                "storage market",
            )
            .await?;
            let mint = mint_info(client.rpc(), &market.payment_mint).await?;
            let price = mint.base_units(&price_per_period)?;
            let collateral = mint.base_units(&collateral)?;
            let device = pda::device(&address, &provider_device_key).0;
            fetch::<Device>(client.rpc(), &device, "device").await?;
            let counter: Option<depin_sdk::storage_program::state::DealCounter> =
                fetch_optional(client.rpc(), &pda::deal_counter(&owner).0, "deal counter").await?;
            let deal_id = counter.map_or(0, |c| c.next_deal_id);
            let ix = storage::propose_deal(
                &owner,
                &address,
                &device,
                &payment_token(&mint),
                &mint.ata(&owner),
                ProposeDealArgs {
                    deal_id,
                    piece_root: piece.root(),
                    chunk_size,
                    num_chunks: piece.num_chunks(),
                    price_per_period: price,
                    periods,
                    collateral,
                },
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "deal": pda::deal(&owner, deal_id).0.to_string(),
                "deal_id": deal_id,
                "piece_root": depin_sdk::oracle::hex(&piece.root()),
                "num_chunks": piece.num_chunks(),
                "escrowed": price.saturating_mul(u64::from(periods)),
                "signature": signature,
            }))
        }
        StorageCommand::Accept {
            network,
            client: deal_client,
            deal_id,
            file,
            chunk_size,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let provider = client.payer();
            let (address, _) = network.load(client.rpc()).await?;
            let deal_address = pda::deal(&deal_client, deal_id).0;
            let deal: Deal = fetch(client.rpc(), &deal_address, "deal").await?;
            if deal.chunk_size != chunk_size {
                return Err(CliError::BadInput(format!(
                    "the deal's chunk size is {}, the accepted {chunk_size} (--chunk-size)",
                    deal.chunk_size
                )));
            }
            piece_of(&file, &deal)?;
            let market: StorageMarket = fetch(
                client.rpc(),
                &pda::storage_market(&address).0,
                "storage market",
            )
            .await?;
            let mint = mint_info(client.rpc(), &market.payment_mint).await?;
            let ix = storage::accept_deal(
                &provider,
                &address,
                &deal_address,
                &deal.provider_device,
                &payment_token(&mint),
                &mint.ata(&provider),
                storage::terms_hash(&deal_address, &deal),
            );
            let signature = send(&client, &[ix], &[]).await?;
            Ok(json!({
                "deal": deal_address.to_string(),
                "collateral": deal.collateral,
                "signature": signature,
            }))
        }
        StorageCommand::Prove {
            network,
            client: deal_client,
            deal_id,
            file,
            period,
        } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            prove(&client, &network, &deal_client, deal_id, &file, period).await
        }
        StorageCommand::Show {
            client: deal_client,
            deal_id,
        } => {
            let address = pda::deal(&deal_client, deal_id).0;
            let deal: Deal = fetch(&ctx.rpc(), &address, "deal").await?;
            let mut value = view::deal(&deal);
            value["address"] = json!(address.to_string());
            Ok(value)
        }
    }
}

/// The prover of `file` for `deal`, refused ([`CliError::BadInput`]) unless the file is
/// the piece the deal's terms name (chunk count, checked against the file's length before
/// it is read, then the root).
fn piece_of(file: &Path, deal: &Deal) -> CliResult<StorageProver> {
    StorageProver::for_terms(file, &deal.piece_root, deal.chunk_size, deal.num_chunks)
        .map_err(|e| CliError::BadInput(format!("{} is not the deal's piece: {e}", file.display())))
}

/// Longest wait for the slot whose hash seeds a challenge (a cluster needs one slot).
const SEED_WAIT: Duration = Duration::from_secs(30);

/// Whether the seed of the challenge opened at `challenge_slot` is in `slot_hashes` (the
/// SlotHashes sysvar's data): `false` while no slot after it has a hash yet (wait a slot),
/// an error once it has left the sysvar, which keeps the last 512 slots with a block: the
/// challenge's proof window (at most 511 of them) closed with it, so no wait can help and
/// the period can only be reported as a fault.
fn seed_known(slot_hashes: &[u8], challenge_slot: u64, period: u64) -> CliResult<bool> {
    match storage::first_hash_after(slot_hashes, challenge_slot) {
        Ok(_) => Ok(true),
        Err(storage::SeedError::NotYetKnown) => Ok(false),
        Err(storage::SeedError::Unavailable) => Err(CliError::BadInput(format!(
            "the challenge of period {period} opened at slot {challenge_slot}, which has left \
             SlotHashes: its proof window has closed"
        ))),
    }
}

async fn prove(
    client: &Client,
    network: &NetworkRef,
    deal_client: &Pubkey,
    deal_id: u64,
    file: &Path,
    period: Option<u64>,
) -> CliResult<Value> {
    let rpc = client.rpc();
    let (address, _) = network.load(rpc).await?;
    let deal_address = pda::deal(deal_client, deal_id).0;
    let deal: Deal = fetch(rpc, &deal_address, "deal").await?;
    let market: StorageMarket =
        fetch(rpc, &pda::storage_market(&address).0, "storage market").await?;
    let prover = piece_of(file, &deal)?;
    let period = match period {
        Some(p) => p,
        None => {
            let elapsed = crate::context::unix_now()?
                .checked_sub(deal.start_ts)
                .and_then(|d| u64::try_from(d).ok())
                .ok_or_else(|| CliError::BadInput("the deal has not started".into()))?;
            elapsed / market.proving_period_secs.max(1)
        }
    };
    let record = usize::try_from(period)
        .ok()
        .filter(|p| *p < usize::from(deal.periods))
        .and_then(|p| deal.records.get(p))
        .copied()
        .ok_or_else(|| CliError::BadInput(format!("the deal has no period {period}")))?;
    if record.status == PERIOD_PROVEN {
        // proven already: nothing to send, whatever SlotHashes still holds
        return Ok(json!({
            "deal": deal_address.to_string(),
            "period": period,
            "challenge_slot": record.challenge_slot,
            "answers_sent": 0,
            "proven": true,
            "signatures": Vec::<String>::new(),
        }));
    }
    if record.status == PERIOD_FAULTED {
        return Err(CliError::BadInput(format!(
            "period {period} was reported as a fault: it can no longer be proven"
        )));
    }
    let mut signatures = Vec::new();
    let challenge_slot = if record.status == PERIOD_PENDING {
        let open = storage::open_challenge(&client.payer(), &address, &deal_address, period);
        signatures.push(send(client, &[open], &[]).await?);
        let opened: Deal = fetch(rpc, &deal_address, "deal").await?;
        opened
            .records
            .get(usize::try_from(period).unwrap_or(usize::MAX))
            .map(|r| r.challenge_slot)
            .unwrap_or_default()
    } else {
        record.challenge_slot
    };
    // the seed is the hash of the first slot after the challenge's: wait until it is known
    let started = std::time::Instant::now();
    let slot_hashes = loop {
        let account = get_account(rpc, &SLOT_HASHES_ID)
            .await?
            .ok_or_else(|| CliError::Rpc("the SlotHashes sysvar is missing".into()))?;
        if seed_known(&account.data, challenge_slot, period)? {
            break account.data;
        }
        if started.elapsed() > SEED_WAIT {
            return Err(CliError::Rpc(format!(
                "no slot after {challenge_slot} in SlotHashes after {SEED_WAIT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let answers = prover
        .answers(
            &slot_hashes,
            challenge_slot,
            &deal_address,
            period,
            market.challenges_per_period,
        )
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let mint = mint_info(rpc, &market.payment_mint).await?;
    let provider_account = mint.ata(&client.payer());
    let mut proven = 0usize;
    for response in answers {
        if record.answered & (1u8 << (response.index % 8)) != 0 {
            continue;
        }
        let ix = storage::submit_proof(
            &client.payer(),
            &address,
            &deal_address,
            &payment_token(&mint),
            &provider_account,
            SubmitProofArgs {
                period,
                responses: vec![response],
            },
        );
        signatures.push(send(client, &[ix], &[]).await?);
        proven += 1;
    }
    let after: Deal = fetch(rpc, &deal_address, "deal").await?;
    let status = after
        .records
        .get(usize::try_from(period).unwrap_or(usize::MAX))
        .map(|r| r.status)
        .unwrap_or_default();
    Ok(json!({
        "deal": deal_address.to_string(),
        "period": period,
        "challenge_slot": challenge_slot,
        "answers_sent": proven,
        "proven": status == PERIOD_PROVEN,
        "signatures": signatures,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SlotHashes data holding `slots` (newest first), each slot's hash its number repeated.
    fn slot_hashes(slots: &[u64]) -> Vec<u8> {
        let mut data = (slots.len() as u64).to_le_bytes().to_vec();
        for slot in slots {
            data.extend_from_slice(&slot.to_le_bytes());
            data.extend_from_slice(&[*slot as u8; 32]);
        }
        data
    }

    #[test]
    fn a_seed_not_yet_known_is_waited_for_and_one_gone_is_an_error_at_once() {
        // the sysvar holds slots 600 down to 89 (512 of them)
        let data = slot_hashes(&(89..=600).rev().collect::<Vec<_>>());
        assert!(seed_known(&data, 100, 3).expect("in the sysvar"));
        assert!(!seed_known(&data, 600, 3).expect("no slot after 600 yet"));
        // opened at slot 80: its seed, slot 81's hash, has left the sysvar; before, the
        // command waited 30 s for it and exited as a network error (3)
        match seed_known(&data, 80, 3) {
            Err(e @ CliError::BadInput(_)) => {
                assert!(e.to_string().contains("proof window has closed"), "{e}")
            }
            other => panic!("expected BadInput, got {other:?}"),
        }
    }
}
