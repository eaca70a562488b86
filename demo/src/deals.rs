//! The storage network's deals in real time: a client stores a small file with a few
//! providers for two short proving periods; in each period the provider opens its challenge,
//! waits for the seed (the hash of a later slot) and answers it with the prover from the
//! file it keeps; after the last period the deal completes (the provider paid per proven
//! period less the protocol fee, its collateral returned).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use depin_sdk::accounts::Deal;
use depin_sdk::client::{expect_landed, Client};
use depin_sdk::storage::{
    self, InitializeMarketArgs, PaymentToken, ProposeDealArgs, StorageProver, SubmitProofArgs,
    SLOT_HASHES_ID,
};
use depin_sdk::{pda, Pubkey};
use depin_tests::{Keypair, Signer};

use crate::error::DemoError;
use crate::fleet::FleetNetwork;

/// Length of a proving period, in seconds of the chain's clock.
pub const PERIOD_SECS: u64 = 10;
/// Periods of each deal.
pub const PERIODS: u8 = 2;
/// What the client pays per proven period, per deal.
pub const PRICE_PER_PERIOD: u64 = 1_000_000;
/// The provider's collateral, per deal.
pub const COLLATERAL: u64 = 2_000_000;
/// Words challenged per period.
pub const CHALLENGES: u8 = 2;
/// Payment tokens the provider and the client start with.
pub const FUNDS: u64 = 100_000_000;
/// `PeriodRecord::status` of a proven period.
const PERIOD_PROVEN: u8 = 2;

/// One deal and what proves it.
pub struct StoredDeal {
    /// The `Deal` account.
    pub deal: Pubkey,
    /// The provider's `Device` account.
    pub device: Pubkey,
    /// The provider's prover over its copy of the file.
    pub prover: StorageProver,
    /// Periods the chain recorded as proven (read back after each period's proofs).
    pub proven: u8,
}

/// The storage market of the fleet's storage network and its deals.
pub struct Deals {
    /// The storage network.
    pub network: Pubkey,
    /// The payment token.
    pub token: PaymentToken,
    /// The market's treasury (protocol fees).
    pub treasury: Pubkey,
    /// The providers' operator (owns every provider device).
    pub provider: Keypair,
    /// Its payment account (collateral out, payments and collateral in).
    pub provider_pay: Pubkey,
    /// The client.
    pub client: Keypair,
    /// Its payment account.
    pub client_pay: Pubkey,
    /// The deals.
    pub deals: Vec<StoredDeal>,
    /// Deals completed.
    pub completed: usize,
}

fn write_file(path: &Path, seed: u32) -> Result<(), DemoError> {
    let bytes: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::File::create(path)?.write_all(&bytes)?;
    Ok(())
}

impl Deals {
    /// Opens the market and makes one deal with each of up to three of the first operator's
    /// healthy storage nodes; the files live under `dir`.
    pub async fn open(
        client: &Client,
        network: &FleetNetwork,
        dir: &Path,
    ) -> Result<Deals, DemoError> {
        let step = |s: &str| format!("storage deals: {s}");
        let net = &network.net;
        let mint_authority = Keypair::new();
        let mint = client
            .create_mint(&mint_authority.pubkey(), 6)
            .await
            .map_err(DemoError::chain(step("payment mint")))?;
        let token = PaymentToken {
            mint,
            token_program: net.token.token_program,
        };
        let treasury = client
            .create_token_account(&mint, &net.treasury_owner)
            .await
            .map_err(DemoError::chain(step("treasury")))?;
        let init = storage::initialize_market(
            &client.payer(),
            &net.authority.pubkey(),
            &net.network,
            &token,
            &net.treasury,
            &treasury,
            InitializeMarketArgs {
                proving_period_secs: PERIOD_SECS,
                challenge_window_slots: 100,
                challenges_per_period: CHALLENGES,
                max_consecutive_faults: 2,
                fault_slash_bps: 1_000,
                protocol_fee_bps: 250,
            },
        );
        expect_landed(
            client
                .send(&[init], &[&net.authority])
                .await
                .map_err(DemoError::chain(step("create the market")))?,
        )
        .map_err(DemoError::chain(step("create the market")))?;
        let provider = network
            .operators
            .first()
            .ok_or_else(|| DemoError::Data("the storage network has no operator".into()))?
            .wallet
            .insecure_clone();
        let customer = Keypair::new();
        client
            .transfer(&customer.pubkey(), 10_000_000_000)
            .await
            .map_err(DemoError::chain(step("fund the client")))?;
        let mut accounts = Vec::new();
        for owner in [&provider, &customer] {
            let account = client
                .create_token_account(&mint, &owner.pubkey())
                .await
                .map_err(DemoError::chain(step("payment accounts")))?;
            client
                .mint_to(&mint, &account, &mint_authority, FUNDS)
                .await
                .map_err(DemoError::chain(step("payment accounts")))?;
            accounts.push(account);
        }
        let (provider_pay, client_pay) = (accounts[0], accounts[1]);
        let mut deals = Vec::new();
        let nodes = network
            .devices
            .iter()
            .filter(|d| d.operator == 0 && d.fault.is_none())
            .take(3);
        for (id, node) in nodes.enumerate() {
            let path = dir.join(format!("piece-{id}.bin"));
            write_file(&path, id as u32)?;
            let prover = StorageProver::new(&path, 4096)
                .map_err(|e| DemoError::Data(format!("prover: {e}")))?;
            let deal_id = id as u64;
            let deal = pda::deal(&customer.pubkey(), deal_id).0;
            let propose = storage::propose_deal(
                &customer.pubkey(),
                &net.network,
                &node.account,
                &token,
                &client_pay,
                ProposeDealArgs {
                    deal_id,
                    piece_root: prover.piece_root(),
                    chunk_size: 4096,
                    num_chunks: prover.num_chunks(),
                    price_per_period: PRICE_PER_PERIOD,
                    periods: PERIODS,
                    collateral: COLLATERAL,
                },
            );
            expect_landed(
                client
                    .send(&[propose], &[&customer])
                    .await
                    .map_err(DemoError::chain(step("propose")))?,
            )
            .map_err(DemoError::chain(step("propose")))?;
            deals.push(StoredDeal {
                deal,
                device: node.account,
                prover,
                proven: 0,
            });
        }
        Ok(Deals {
            network: net.network,
            token,
            treasury,
            provider,
            provider_pay,
            client: customer,
            client_pay,
            deals,
            completed: 0,
        })
    }

    async fn deal(client: &Client, deal: &Pubkey) -> Result<Deal, DemoError> {
        let data = client
            .rpc()
            .get_account_data(deal)
            .await
            .map_err(|e| DemoError::Data(format!("deal {deal}: {e}")))?;
        depin_sdk::accounts::decode(&data)
            .map_err(|e| DemoError::Data(format!("deal {deal}: {e:?}")))
    }

    /// Accepts every deal, proves each period from the files, and completes the deals.
    pub async fn run(
        &mut self,
        client: &Client,
        progress: &crate::progress::Progress,
    ) -> Result<(), DemoError> {
        let step = |s: &str| format!("storage deals: {s}");
        for d in &self.deals {
            let on_chain = Self::deal(client, &d.deal).await?;
            // the provider accepts only terms naming the piece it holds, whole
            d.prover
                .check_terms(
                    &on_chain.piece_root,
                    on_chain.chunk_size,
                    on_chain.num_chunks,
                )
                .map_err(|e| DemoError::Data(format!("deal {}: {e}", d.deal)))?;
            let terms = storage::terms_hash(&d.deal, &on_chain);
            let accept = storage::accept_deal(
                &self.provider.pubkey(),
                &self.network,
                &d.deal,
                &d.device,
                &self.token,
                &self.provider_pay,
                terms,
            );
            expect_landed(
                client
                    .send(&[accept], &[&self.provider])
                    .await
                    .map_err(DemoError::chain(step("accept")))?,
            )
            .map_err(DemoError::chain(step("accept")))?;
        }
        progress.detail(format!(
            "storage: {} deals of 64 KiB accepted ({} periods of {} s, {} words challenged per period)",
            self.deals.len(),
            PERIODS,
            PERIOD_SECS,
            CHALLENGES
        ));
        // Each deal is proven by a task of its own: a challenge opens only within its period,
        // so the sends for one deal never hold back the opening of another's.
        let parties = Prover {
            provider: &self.provider,
            network: &self.network,
            token: &self.token,
            provider_pay: &self.provider_pay,
        };
        let starts =
            futures::future::try_join_all(self.deals.iter_mut().map(|d| parties.prove(client, d)))
                .await?;
        progress.detail(format!(
            "storage: {} periods of {} deals challenged and proven by the prover",
            PERIODS,
            self.deals.len()
        ));
        for (d, start_ts) in self.deals.iter().zip(starts) {
            let ends = start_ts + i64::from(PERIODS) * i64::try_from(PERIOD_SECS).unwrap_or(0);
            crate::clock::until(client, ends, &step("complete")).await?;
            let complete = storage::complete_deal(
                &self.network,
                &d.deal,
                &self.client.pubkey(),
                &self.token,
                &self.provider_pay,
                &self.treasury,
            );
            expect_landed(
                client
                    .send(&[complete], &[])
                    .await
                    .map_err(DemoError::chain(step("complete")))?,
            )
            .map_err(DemoError::chain(step("complete")))?;
            self.completed += 1;
        }
        progress.detail(format!(
            "storage: {} deals completed, providers paid and their collateral returned",
            self.completed
        ));
        Ok(())
    }
}

/// What a provider's prover needs to answer its deals' challenges.
#[derive(Clone, Copy)]
struct Prover<'a> {
    provider: &'a Keypair,
    network: &'a Pubkey,
    token: &'a PaymentToken,
    provider_pay: &'a Pubkey,
}

impl Prover<'_> {
    /// Proves every period of `d`: opens the period's challenge once the chain's clock says
    /// it has begun, waits for the seed (the hash of the first slot after the challenge's),
    /// answers it from the provider's file, and counts the period once the chain's record of
    /// it says proven. Returns the deal's start time (unix seconds), from which its end is
    /// counted.
    async fn prove(self, client: &Client, d: &mut StoredDeal) -> Result<i64, DemoError> {
        let step = |s: &str| format!("storage deals: {s}");
        // set once, when the deal was accepted
        let start_ts = Deals::deal(client, &d.deal).await?.start_ts;
        for period in 0..u64::from(PERIODS) {
            let begins = start_ts + i64::try_from(period * PERIOD_SECS).unwrap_or(0);
            crate::clock::until(client, begins, &step("open a challenge")).await?;
            let open =
                storage::open_challenge(&self.provider.pubkey(), self.network, &d.deal, period);
            expect_landed(
                client
                    .send(&[open], &[self.provider])
                    .await
                    .map_err(DemoError::chain(step("open a challenge")))?,
            )
            .map_err(DemoError::chain(step("open a challenge")))?;
            let opened = Deals::deal(client, &d.deal).await?;
            let challenge_slot = usize::try_from(period)
                .ok()
                .and_then(|p| opened.records.get(p))
                .map(|r| r.challenge_slot)
                .unwrap_or_default();
            // the seed: the hash of the first slot after the challenge's (bounded wait)
            let waited = Instant::now();
            let hashes = loop {
                let data = client
                    .rpc()
                    .get_account_data(&SLOT_HASHES_ID)
                    .await
                    .map_err(|e| DemoError::Data(format!("SlotHashes: {e}")))?;
                if storage::first_hash_after(&data, challenge_slot).is_ok() {
                    break data;
                }
                if waited.elapsed() > Duration::from_secs(20) {
                    return Err(DemoError::Timeout(format!(
                        "no slot after {challenge_slot} in SlotHashes"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            let answers = d
                .prover
                .answers(&hashes, challenge_slot, &d.deal, period, CHALLENGES)
                .map_err(|e| DemoError::Data(format!("prover: {e}")))?;
            let proofs: Vec<_> = answers
                .into_iter()
                .map(|response| {
                    vec![storage::submit_proof(
                        &self.provider.pubkey(),
                        self.network,
                        &d.deal,
                        self.token,
                        self.provider_pay,
                        SubmitProofArgs {
                            period,
                            responses: vec![response],
                        },
                    )]
                })
                .collect();
            crate::fleet::landed_all(
                client
                    .send_packed(proofs, &[self.provider], Vec::new())
                    .await
                    .map_err(DemoError::chain(step("proofs")))?,
                &step("proofs"),
            )?;
            // counted only once the chain's record of the period says proven
            let after = Deals::deal(client, &d.deal).await?;
            let proven = usize::try_from(period)
                .ok()
                .and_then(|p| after.records.get(p))
                .is_some_and(|r| r.status == PERIOD_PROVEN);
            d.proven += u8::from(proven);
        }
        Ok(start_ts)
    }
}
