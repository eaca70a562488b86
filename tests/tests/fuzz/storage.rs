//! A storage network: deals proposed, cancelled, accepted, challenged, proven, faulted and
//! completed, with the model of each deal's money.

use std::io::Write;

use depin_core::storage::{fault_slash, period_payment};
use depin_sdk::accounts::{Deal, DealState, NetworkKind};
use depin_sdk::storage::{
    self, ChallengeResponse, InitializeMarketArgs, PaymentToken, ProposeDealArgs, StorageProver,
    SubmitProofArgs, SLOT_HASHES_ID,
};
use depin_sdk::{pda, Pubkey};
use depin_tests::fixture::{DeviceFixture, NetworkFixture, NetworkParams, OperatorFixture};
use depin_tests::{Keypair, Signer};

use crate::Ctx;

const PERIOD: i64 = 600;
const WINDOW: u64 = 10;
const MAX_FAULTS: u8 = 2;
const SLASH_BPS: u16 = 1_000;
const FEE_BPS: u16 = 250;
const CHUNK: u32 = 4096;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Period {
    Pending,
    Challenged(u64),
    Proven,
    Faulted,
}

struct DealM {
    client: usize,
    id: u64,
    state: DealState,
    /// Closed (cancelled or completed): the account is gone.
    closed: bool,
    price: u64,
    collateral: u64,
    escrow_left: u64,
    collateral_left: u64,
    fees_owed: u64,
    start: i64,
    periods: Vec<Period>,
    consecutive: u8,
}

pub struct Storage {
    net: NetworkFixture,
    token: PaymentToken,
    treasury: Pubkey,
    vault: Pubkey,
    provider: OperatorFixture,
    provider_pay: Pubkey,
    device: DeviceFixture,
    clients: Vec<(OperatorFixture, Pubkey)>,
    stranger: Keypair,
    prover: StorageProver,
    _file: tempfile::NamedTempFile,
    deals: Vec<DealM>,
    next_id: Vec<u64>,
    /// Payment-token balances: provider, clients, treasury.
    provider_balance: u64,
    client_balances: Vec<u64>,
    treasury_balance: u64,
}

impl Storage {
    pub async fn setup(ctx: &mut Ctx) -> Self {
        let s = &mut ctx.suite;
        let net = s
            .create_network(NetworkParams {
                kind: NetworkKind::Storage,
                ..NetworkParams::default()
            })
            .await;
        let maker = s.add_maker(&net, "Diskco", 10, true).await;
        let market = s
            .create_storage_market(
                &net,
                InitializeMarketArgs {
                    proving_period_secs: PERIOD as u64,
                    challenge_window_slots: WINDOW,
                    challenges_per_period: 1,
                    max_consecutive_faults: MAX_FAULTS,
                    fault_slash_bps: SLASH_BPS,
                    protocol_fee_bps: FEE_BPS,
                },
            )
            .await
            .expect("storage market");
        let provider = s.add_operator(&net, 1_000_000_000).await;
        let device = s.onboard(&net, &maker, &provider).await.expect("device");
        let provider_pay = s
            .funded_account(
                &market.token.token_program,
                &market.token.mint,
                &provider.wallet.pubkey(),
                50_000,
            )
            .await;
        let mut clients = Vec::new();
        for _ in 0..2 {
            let c = s.add_operator(&net, 0).await;
            let pay = s
                .funded_account(
                    &market.token.token_program,
                    &market.token.mint,
                    &c.wallet.pubkey(),
                    20_000,
                )
                .await;
            clients.push((c, pay));
        }
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        let bytes: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 31 % 251) as u8).collect();
        file.write_all(&bytes).expect("piece");
        file.flush().expect("flush");
        let prover = StorageProver::new(file.path(), CHUNK).expect("prover");
        let stranger = Keypair::new();
        s.airdrop(&stranger.pubkey(), 1_000_000_000).await;
        Storage {
            net,
            token: market.token,
            treasury: market.treasury,
            vault: market.vault,
            provider,
            provider_pay,
            device,
            clients,
            stranger,
            prover,
            _file: file,
            deals: Vec::new(),
            next_id: vec![0; 2],
            provider_balance: 50_000,
            client_balances: vec![20_000; 2],
            treasury_balance: 0,
        }
    }

    pub async fn step(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        if ctx.rng.chance(50) {
            return self.progress(ctx).await;
        }
        match ctx.rng.below(10) {
            0 | 1 => self.propose(ctx).await,
            2 => self.cancel(ctx).await,
            3 => self.accept(ctx).await,
            4 => self.open(ctx).await,
            5 => self.prove(ctx).await,
            6 => self.fault(ctx).await,
            7 => self.complete(ctx).await,
            8 => {
                let n = ctx.rng.below(2 * WINDOW);
                ctx.suite.advance_slots(n).await;
                ctx.trace.push(format!("advance {n} slots"));
                Ok(())
            }
            _ => {
                let secs = ctx.rng.below(2 * PERIOD as u64);
                ctx.suite.advance_time(secs as i64).await;
                ctx.trace.push(format!("advance {secs} s"));
                Ok(())
            }
        }
    }

    /// One of the actions a deal's parties would take next (whichever some deal allows
    /// now), or the passing of time when none does.
    async fn progress(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let slot = ctx.slot().await;
        let live = |d: &&DealM| !d.closed;
        let mut next: Vec<u8> = Vec::new();
        for d in self.deals.iter().filter(live) {
            match d.state {
                DealState::Proposed => next.push(0),
                DealState::Terminated => next.push(4),
                _ => {
                    let current = Self::current_period(d, now).unwrap_or(0);
                    if d.periods.get(current) == Some(&Period::Pending) {
                        next.push(1);
                    }
                    for (p, period) in d.periods.iter().enumerate() {
                        match period {
                            Period::Challenged(at) if slot < at + WINDOW => next.push(2),
                            Period::Challenged(at) if slot > at + WINDOW => next.push(3),
                            Period::Pending if now >= d.start + (p as i64 + 1) * PERIOD => {
                                next.push(3)
                            }
                            _ => {}
                        }
                    }
                    if now >= d.start + d.periods.len() as i64 * PERIOD {
                        next.push(4);
                    }
                }
            }
        }
        if next.is_empty() {
            return if self.deals.iter().filter(live).count() < 2 {
                self.propose(ctx).await
            } else {
                ctx.suite.advance_time(PERIOD / 2).await;
                ctx.trace.push(format!("advance {} s", PERIOD / 2));
                Ok(())
            };
        }
        match next[ctx.rng.index(next.len())] {
            0 => self.accept(ctx).await,
            1 => self.open(ctx).await,
            2 => self.prove(ctx).await,
            3 => self.fault(ctx).await,
            _ => self.complete(ctx).await,
        }
    }

    fn address(&self, d: &DealM) -> Pubkey {
        pda::deal(&self.clients[d.client].0.wallet.pubkey(), d.id).0
    }

    /// A deal the next step acts on: mostly one for which `useful` holds, sometimes any deal
    /// (closed ones included: acting on those must fail).
    fn pick(&self, ctx: &mut Ctx, useful: impl Fn(&DealM) -> bool) -> Option<usize> {
        (!self.deals.is_empty())
            .then(|| ctx.rng.prefer(self.deals.len(), |i| useful(&self.deals[i])))
    }

    async fn propose(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let c = ctx.rng.index(2);
        let next = self.next_id[c];
        // the next id, one ahead, or an id already used (the address-reuse attack)
        let id = match ctx.rng.below(10) {
            0 => next + 1,
            1 if next > 0 => ctx.rng.below(next),
            _ => next,
        };
        let periods = 1 + ctx.rng.below(3) as u8;
        let price = 1 + ctx.rng.below(3_000);
        let collateral = ctx.rng.below(8_000);
        let escrow = price * u64::from(periods);
        let ok = id == next && escrow <= self.client_balances[c];
        let (client, pay) = &self.clients[c];
        let ix = storage::propose_deal(
            &client.wallet.pubkey(),
            &self.net.network,
            &self.device.device,
            &self.token,
            pay,
            ProposeDealArgs {
                deal_id: id,
                piece_root: self.prover.piece_root(),
                chunk_size: CHUNK,
                num_chunks: self.prover.num_chunks(),
                price_per_period: price,
                periods,
                collateral,
            },
        );
        let result = ctx.suite.send(&[ix], &[&client.wallet]).await;
        let what = format!(
            "propose client{c} id {id} (next {next}) {periods}x{price}, collateral {collateral}"
        );
        if ctx.expect(what, ok, result)? {
            self.next_id[c] += 1;
            self.client_balances[c] -= escrow;
            self.deals.push(DealM {
                client: c,
                id,
                state: DealState::Proposed,
                closed: false,
                price,
                collateral,
                escrow_left: escrow,
                collateral_left: 0,
                fees_owed: 0,
                start: 0,
                periods: vec![Period::Pending; usize::from(periods)],
                consecutive: 0,
            });
        }
        Ok(())
    }

    async fn cancel(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let Some(i) = self.pick(ctx, |d| !d.closed && d.state == DealState::Proposed) else {
            return Ok(());
        };
        let by_stranger = ctx.rng.chance(10);
        let d = &self.deals[i];
        let ok = !d.closed && d.state == DealState::Proposed && !by_stranger;
        let (client, pay) = &self.clients[d.client];
        let signer = if by_stranger {
            &self.stranger
        } else {
            &client.wallet
        };
        let ix = storage::cancel_deal(&signer.pubkey(), &self.net.network, d.id, &self.token, pay);
        let result = ctx.suite.send(&[ix], &[signer]).await;
        if ctx.expect(
            format!("cancel deal {i} (stranger: {by_stranger})"),
            ok,
            result,
        )? {
            let d = &mut self.deals[i];
            self.client_balances[d.client] += d.escrow_left;
            d.escrow_left = 0;
            d.state = DealState::Cancelled;
            d.closed = true;
        }
        Ok(())
    }

    async fn accept(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let Some(i) = self.pick(ctx, |d| !d.closed && d.state == DealState::Proposed) else {
            return Ok(());
        };
        let address = self.address(&self.deals[i]);
        let d = &self.deals[i];
        // the terms the provider agreed to: usually the deal's, sometimes other ones
        let stale = ctx.rng.chance(15);
        let by_stranger = ctx.rng.chance(8);
        let terms = {
            let mut t = Deal {
                market: pda::storage_market(&self.net.network).0,
                client: self.clients[d.client].0.wallet.pubkey(),
                deal_id: d.id,
                provider_device: self.device.device,
                provider: Pubkey::default(),
                piece_root: self.prover.piece_root(),
                chunk_size: CHUNK,
                num_chunks: self.prover.num_chunks(),
                price_per_period: d.price,
                periods: d.periods.len() as u8,
                collateral: d.collateral,
                collateral_left: 0,
                escrow_left: 0,
                fees_owed: 0,
                state: DealState::Proposed,
                start_ts: 0,
                consecutive_faults: 0,
                total_faults: 0,
                records: Default::default(),
                bump: 0,
            };
            if stale {
                t.collateral = t.collateral.wrapping_add(1);
            }
            storage::terms_hash(&address, &t)
        };
        let ok = !d.closed
            && d.state == DealState::Proposed
            && !stale
            && !by_stranger
            && d.collateral <= self.provider_balance;
        let (signer, pay) = if by_stranger {
            (&self.stranger, self.clients[0].1)
        } else {
            (&self.provider.wallet, self.provider_pay)
        };
        let ix = storage::accept_deal(
            &signer.pubkey(),
            &self.net.network,
            &address,
            &self.device.device,
            &self.token,
            &pay,
            terms,
        );
        let now = ctx.now().await;
        let result = ctx.suite.send(&[ix], &[signer]).await;
        let what = format!("accept deal {i} (stale terms: {stale}, stranger: {by_stranger})");
        if ctx.expect(what, ok, result)? {
            let d = &mut self.deals[i];
            self.provider_balance -= d.collateral;
            d.collateral_left = d.collateral;
            d.state = DealState::Active;
            d.start = now;
        }
        Ok(())
    }

    fn current_period(d: &DealM, now: i64) -> Option<usize> {
        (now >= d.start).then(|| ((now - d.start) / PERIOD) as usize)
    }

    async fn open(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let Some(i) = self.pick(ctx, |d| {
            !d.closed
                && d.state == DealState::Active
                && Self::current_period(d, now)
                    .and_then(|p| d.periods.get(p))
                    .is_some_and(|p| *p == Period::Pending)
        }) else {
            return Ok(());
        };
        let slot = ctx.slot().await;
        let d = &self.deals[i];
        let current = Self::current_period(d, now).unwrap_or(0);
        let period = if ctx.rng.chance(85) {
            current
        } else {
            ctx.rng.index(4)
        };
        let ok = !d.closed
            && d.state == DealState::Active
            && period == current
            && d.periods.get(period) == Some(&Period::Pending);
        let ix = storage::open_challenge(
            &self.provider.wallet.pubkey(),
            &self.net.network,
            &self.address(d),
            period as u64,
        );
        let result = ctx.suite.send(&[ix], &[&self.provider.wallet]).await;
        if ctx.expect(
            format!("open deal {i} period {period} (current {current})"),
            ok,
            result,
        )? {
            self.deals[i].periods[period] = Period::Challenged(slot);
        }
        Ok(())
    }

    async fn prove(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let Some(i) = self.pick(ctx, |d| {
            !d.closed
                && d.state == DealState::Active
                && d.periods.iter().any(|p| matches!(p, Period::Challenged(_)))
        }) else {
            return Ok(());
        };
        ctx.suite.advance_slots(1).await;
        let slot = ctx.slot().await;
        let address = self.address(&self.deals[i]);
        let d = &self.deals[i];
        let period = ctx.rng.prefer(
            d.periods.len(),
            |p| matches!(d.periods[p], Period::Challenged(at) if slot <= at + WINDOW),
        );
        let tamper = ctx.rng.chance(10);
        // The seed is the hash of the first slot after the challenge's, known only once that
        // slot's hash is in the SlotHashes sysvar.
        let hashes = ctx
            .suite
            .raw_account(SLOT_HASHES_ID)
            .await
            .ok_or("no SlotHashes")?
            .data;
        let (response, seed_known) = match d.periods[period] {
            Period::Challenged(at) if storage::first_hash_after(&hashes, at).is_ok() => {
                let mut answers = self
                    .prover
                    .answers(&hashes, at, &address, period as u64, 1)
                    .map_err(|e| format!("answers: {e}"))?;
                let mut r = answers.remove(0);
                if tamper {
                    r.word[0] ^= 1;
                }
                (r, true)
            }
            _ => (
                ChallengeResponse {
                    index: 0,
                    word: [0; 32],
                    word_proof: vec![],
                    chunk_proof: vec![],
                },
                false,
            ),
        };
        let ok = !d.closed
            && d.state == DealState::Active
            && !tamper
            && seed_known
            && matches!(d.periods[period], Period::Challenged(at) if slot > at && slot <= at + WINDOW);
        let ix = storage::submit_proof(
            &self.provider.wallet.pubkey(),
            &self.net.network,
            &address,
            &self.token,
            &self.provider_pay,
            SubmitProofArgs {
                period: period as u64,
                responses: vec![response],
            },
        );
        let result = ctx.suite.send(&[ix], &[&self.provider.wallet]).await;
        if ctx.expect(
            format!("prove deal {i} period {period} (tampered: {tamper})"),
            ok,
            result,
        )? {
            let d = &mut self.deals[i];
            let pay = period_payment(d.price, FEE_BPS).map_err(|e| e.to_string())?;
            d.periods[period] = Period::Proven;
            d.escrow_left -= d.price;
            d.fees_owed += pay.protocol_fee;
            self.provider_balance += pay.provider;
        }
        Ok(())
    }

    async fn fault(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let slot = ctx.slot().await;
        let at_fault = |d: &DealM, period: usize| match d.periods.get(period) {
            Some(Period::Pending) => now >= d.start + (period as i64 + 1) * PERIOD,
            Some(Period::Challenged(at)) => slot > at + WINDOW,
            _ => false,
        };
        let Some(i) = self.pick(ctx, |d| {
            !d.closed
                && d.state == DealState::Active
                && (0..d.periods.len()).any(|p| at_fault(d, p))
        }) else {
            return Ok(());
        };
        let d = &self.deals[i];
        let period = ctx.rng.prefer(d.periods.len() + 1, |p| at_fault(d, p));
        let at_fault = at_fault(d, period);
        let ok = !d.closed && d.state == DealState::Active && at_fault;
        let pay = self.clients[d.client].1;
        let ix = storage::report_fault(
            &self.net.network,
            &self.address(d),
            &self.token,
            &pay,
            period as u64,
        );
        let result = ctx.suite.send(&[ix], &[]).await;
        if ctx.expect(format!("report fault deal {i} period {period}"), ok, result)? {
            let d = &mut self.deals[i];
            let slashed = fault_slash(d.collateral_left, SLASH_BPS).map_err(|e| e.to_string())?;
            d.periods[period] = Period::Faulted;
            d.collateral_left -= slashed;
            d.escrow_left -= d.price;
            // faults count in a row by period, whatever order they are reported in: the
            // faulted neighbours on both sides, counted here (not through the programs'
            // `fault_run`)
            let faulted = |p: &&Period| matches!(p, Period::Faulted);
            let before = d.periods[..period].iter().rev().take_while(faulted).count();
            let after = d.periods[period + 1..].iter().take_while(faulted).count();
            let run = u8::try_from(before + 1 + after).map_err(|e| e.to_string())?;
            d.consecutive = d.consecutive.max(run);
            let mut to_client = d.price + slashed;
            if run >= MAX_FAULTS {
                to_client += d.escrow_left;
                d.fees_owed += d.collateral_left;
                d.escrow_left = 0;
                d.collateral_left = 0;
                d.state = DealState::Terminated;
            }
            self.client_balances[d.client] += to_client;
        }
        Ok(())
    }

    async fn complete(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let now = ctx.now().await;
        let Some(i) = self.pick(ctx, |d| {
            !d.closed
                && (d.state == DealState::Terminated
                    || (d.state == DealState::Active
                        && now >= d.start + d.periods.len() as i64 * PERIOD))
        }) else {
            return Ok(());
        };
        let d = &self.deals[i];
        let resolved = d
            .periods
            .iter()
            .all(|p| matches!(p, Period::Proven | Period::Faulted));
        let ended = now >= d.start + d.periods.len() as i64 * PERIOD;
        let ok = !d.closed
            && (d.state == DealState::Terminated
                || (d.state == DealState::Active && resolved && ended));
        let ix = storage::complete_deal(
            &self.net.network,
            &self.address(d),
            &self.clients[d.client].0.wallet.pubkey(),
            &self.token,
            &self.provider_pay,
            &self.treasury,
        );
        let result = ctx.suite.send(&[ix], &[]).await;
        if ctx.expect(format!("complete deal {i}"), ok, result)? {
            let d = &mut self.deals[i];
            self.provider_balance += d.collateral_left;
            self.treasury_balance += d.fees_owed;
            d.collateral_left = 0;
            d.fees_owed = 0;
            d.state = DealState::Completed;
            d.closed = true;
        }
        Ok(())
    }

    pub async fn check(&self, ctx: &mut Ctx) -> Result<(), String> {
        let s = &mut ctx.suite;
        let vault = s.token_balance(self.vault).await;
        let owed: u64 = self
            .deals
            .iter()
            .map(|d| d.escrow_left + d.collateral_left + d.fees_owed)
            .sum();
        if vault != owed {
            return Err(format!("storage vault holds {vault}, deals owe {owed}"));
        }
        let provider = s.token_balance(self.provider_pay).await;
        let treasury = s.token_balance(self.treasury).await;
        let mut clients = Vec::new();
        for (_, pay) in &self.clients {
            clients.push(s.token_balance(*pay).await);
        }
        if provider != self.provider_balance
            || treasury != self.treasury_balance
            || clients != self.client_balances
        {
            return Err(format!(
                "storage balances: provider {provider} (model {}), treasury {treasury} (model {}), clients {clients:?} (model {:?})",
                self.provider_balance, self.treasury_balance, self.client_balances
            ));
        }
        let supply = s.mint_supply(self.token.mint).await;
        if vault + provider + treasury + clients.iter().sum::<u64>() != supply {
            return Err("storage payment token not conserved".into());
        }
        for (i, d) in self.deals.iter().enumerate() {
            let address = self.address(d);
            if d.closed {
                if s.exists(address).await {
                    return Err(format!("deal {i} should be closed"));
                }
                continue;
            }
            let chain: Deal = s.account(address).await;
            if (
                chain.state,
                chain.escrow_left,
                chain.collateral_left,
                chain.fees_owed,
                chain.consecutive_faults,
            ) != (
                d.state,
                d.escrow_left,
                d.collateral_left,
                d.fees_owed,
                d.consecutive,
            ) {
                return Err(format!(
                    "deal {i}: chain {:?}/{}/{}/{}/{}, model {:?}/{}/{}/{}/{} (state, escrow, collateral, fees owed, longest fault run)",
                    chain.state,
                    chain.escrow_left,
                    chain.collateral_left,
                    chain.fees_owed,
                    chain.consecutive_faults,
                    d.state,
                    d.escrow_left,
                    d.collateral_left,
                    d.fees_owed,
                    d.consecutive
                ));
            }
        }
        Ok(())
    }
}
