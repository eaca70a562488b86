//! A wireless network: registry, staking and rewards, with the model of each.

use depin_core::merkle::{reward_leaf, verify};
use depin_sdk::accounts::{DeviceStatus, RewardsConfig, StakePool, StakePosition};
use depin_sdk::oracle::{RewardRow, RewardTree, Sha256Hasher};
use depin_sdk::registry;
use depin_sdk::rewards::{self, ClaimArgs};
use depin_sdk::staking::{self, SlashArgs};
use depin_sdk::{pda, Pubkey};
use depin_tests::fixture::{
    DeviceFixture, FixtureBuilder, NetworkFixture, OperatorFixture, PoolFixture, RewardsFixture,
    RewardsParams,
};
use depin_tests::Signer;

use crate::Ctx;

const MIN: u64 = 100;
const COOLDOWN: i64 = 600;
const EPOCH_SECS: u64 = 60;
const OPERATOR_TOKENS: u64 = 10_000;

/// One device as the model sees it.
pub struct Dev {
    pub fx: DeviceFixture,
    /// Index of its owner in `Wireless::ops`.
    pub owner: usize,
    pub active: bool,
    /// The staker whose position backs it.
    pub bond: Option<usize>,
    /// What it has claimed, once its record is open.
    pub claimed: Option<u64>,
}

#[derive(Default, Clone, Copy)]
pub struct Position {
    pub exists: bool,
    pub active: u64,
    pub pending: u64,
    pub unlock: i64,
    pub bonded: u32,
}

pub struct Wireless {
    pub net: NetworkFixture,
    pub pool: PoolFixture,
    pub rw: RewardsFixture,
    pub ops: Vec<OperatorFixture>,
    /// Each operator's reward-mint account.
    pub reward_accounts: Vec<Pubkey>,
    pub devices: Vec<Dev>,
    pub positions: Vec<Position>,
    /// Network-token balance of each operator.
    pub balances: Vec<u64>,
    pub treasury: u64,
    /// Finalized epochs, oldest first, with their trees.
    pub finalized: Vec<(u64, RewardTree)>,
    pub next_epoch: u64,
    pub minted: u64,
}

impl Wireless {
    pub async fn setup(ctx: &mut Ctx) -> Self {
        let fx = FixtureBuilder::default()
            .pool(MIN, COOLDOWN as u64)
            .operators(3, 2)
            .operator_tokens(OPERATOR_TOKENS + 40_000_000 * 2)
            .build(&mut ctx.suite)
            .await;
        let rw = ctx
            .suite
            .create_rewards(
                &fx.net,
                RewardsParams {
                    epoch_duration_secs: EPOCH_SECS,
                    ..RewardsParams::default()
                },
            )
            .await;
        let mut ops = Vec::new();
        let mut devices = Vec::new();
        let mut reward_accounts = Vec::new();
        for (i, (op, ds)) in fx.operators.into_iter().enumerate() {
            for d in ds {
                devices.push(Dev {
                    fx: d,
                    owner: i,
                    active: true,
                    bond: None,
                    claimed: None,
                });
            }
            reward_accounts.push(
                ctx.suite
                    .create_token_account(
                        &fx.net.token.token_program,
                        &fx.net.reward_mint,
                        &op.wallet.pubkey(),
                    )
                    .await,
            );
            ops.push(op);
        }
        let treasury = ctx.suite.token_balance(fx.net.treasury).await;
        let n = ops.len();
        let mut balances = Vec::new();
        for op in &ops {
            balances.push(ctx.suite.token_balance(op.token_account).await);
        }
        Wireless {
            net: fx.net,
            pool: fx.pool,
            rw,
            ops,
            reward_accounts,
            devices,
            positions: vec![Position::default(); n],
            balances,
            treasury,
            finalized: Vec::new(),
            next_epoch: 0,
            minted: 0,
        }
    }

    /// One random operation of this network; `other` is another network, whose devices an
    /// attacker substitutes.
    pub async fn step(&mut self, ctx: &mut Ctx, other: &Wireless) -> Result<(), String> {
        if ctx.rng.chance(50) {
            return self.progress(ctx).await;
        }
        match ctx.rng.below(15) {
            0 | 1 => self.stake(ctx).await,
            2 => self.unstake(ctx).await,
            3 => self.withdraw(ctx).await,
            4 => self.slash(ctx).await,
            5 | 6 => self.bond(ctx, other).await,
            7 => self.unbond(ctx).await,
            8 => self.transfer(ctx).await,
            9 => self.set_status(ctx).await,
            10 => self.finalize(ctx).await,
            11 => self.open_claimed(ctx).await,
            12 | 13 => self.claim(ctx, other).await,
            _ => {
                let secs = ctx.rng.below(2 * COOLDOWN as u64) as i64;
                ctx.suite.advance_time(secs).await;
                ctx.trace.push(format!("advance {secs} s"));
                Ok(())
            }
        }
    }

    /// The next step a device's honest owner would take towards being paid: reactivate,
    /// free it from a previous owner's bond, stake, bond, open its claim record, claim the
    /// latest root, or let the oracles finalize a new epoch.
    async fn progress(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let d = ctx.rng.index(self.devices.len());
        let dev = &self.devices[d];
        let o = dev.owner;
        let p = self.positions[o];
        let covers = |p: &Position, devices: u32| {
            u128::from(p.active) >= u128::from(devices) * u128::from(MIN)
        };
        if !dev.active {
            return self.do_set_status(ctx, d, false).await;
        }
        match dev.bond {
            Some(staker) if staker != o => return self.do_unbond(ctx, d, staker).await,
            None if !covers(&p, p.bonded + 1) => return self.do_stake(ctx, o, 2 * MIN).await,
            None => return self.do_bond(ctx, o, d).await,
            Some(_) if !covers(&p, p.bonded) => return self.do_stake(ctx, o, MIN).await,
            Some(_) => {}
        }
        if dev.claimed.is_none() {
            return self.do_open_claimed(ctx, d).await;
        }
        let latest = self.latest_amount(&dev.fx.device);
        let owed = self.latest().is_some_and(|(_, t)| {
            t.proof(&dev.fx.device)
                .is_some_and(|r| r.row.owner == self.ops[o].wallet.pubkey())
        }) && latest > dev.claimed.unwrap_or(0);
        if owed {
            let n = self.finalized.len();
            self.do_claim(ctx, d, n - 1, n - 1, false).await
        } else {
            self.finalize(ctx).await
        }
    }

    fn amount(ctx: &mut Ctx, typical: u64) -> u64 {
        match ctx.rng.below(10) {
            0 => 0,
            1 => u64::MAX,
            _ => 1 + ctx.rng.below(typical),
        }
    }

    async fn stake(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let o = ctx.rng.index(self.ops.len());
        let amount = Self::amount(ctx, 3 * MIN);
        self.do_stake(ctx, o, amount).await
    }

    async fn do_stake(&mut self, ctx: &mut Ctx, o: usize, amount: u64) -> Result<(), String> {
        let ix = staking::stake(
            &self.ops[o].wallet.pubkey(),
            &self.net.network,
            &self.net.token,
            &self.ops[o].token_account,
            amount,
        );
        let ok = amount > 0 && amount <= self.balances[o];
        let result = ctx.suite.send(&[ix], &[&self.ops[o].wallet]).await;
        if ctx.expect(format!("stake op{o} {amount}"), ok, result)? {
            let p = &mut self.positions[o];
            p.exists = true;
            p.active += amount;
            self.balances[o] -= amount;
        }
        Ok(())
    }

    async fn unstake(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let positions = self.positions.clone();
        let o = ctx.rng.prefer(self.ops.len(), |i| positions[i].active > 0);
        let free = self.positions[o]
            .active
            .saturating_sub(u64::from(self.positions[o].bonded) * MIN);
        let amount = if free > 0 && ctx.rng.chance(70) {
            1 + ctx.rng.below(free)
        } else {
            Self::amount(ctx, 2 * MIN)
        };
        let now = ctx.now().await;
        let p = self.positions[o];
        let ok = p.exists
            && amount > 0
            && amount <= p.active
            && u128::from(p.active - amount) >= u128::from(p.bonded) * u128::from(MIN);
        let ix = staking::request_unstake(&self.ops[o].wallet.pubkey(), &self.net.network, amount);
        let result = ctx.suite.send(&[ix], &[&self.ops[o].wallet]).await;
        if ctx.expect(format!("unstake op{o} {amount}"), ok, result)? {
            let p = &mut self.positions[o];
            p.active -= amount;
            p.pending += amount;
            p.unlock = now + COOLDOWN;
        }
        Ok(())
    }

    async fn withdraw(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let positions = self.positions.clone();
        let o = ctx.rng.prefer(self.ops.len(), |i| positions[i].pending > 0);
        let now = ctx.now().await;
        let p = self.positions[o];
        let ok = p.exists && p.pending > 0 && now >= p.unlock;
        let ix = staking::withdraw(
            &self.ops[o].wallet.pubkey(),
            &self.net.network,
            &self.net.token,
            &self.ops[o].token_account,
        );
        let result = ctx.suite.send(&[ix], &[&self.ops[o].wallet]).await;
        if ctx.expect(format!("withdraw op{o}"), ok, result)? {
            self.balances[o] += self.positions[o].pending;
            self.positions[o].pending = 0;
        }
        Ok(())
    }

    async fn slash(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let positions = self.positions.clone();
        let o = ctx.rng.prefer(self.ops.len(), |i| {
            positions[i].active + positions[i].pending > 0
        });
        let amount = Self::amount(ctx, MIN);
        let by_stranger = ctx.rng.chance(15);
        let signer = if by_stranger {
            self.ops[(o + 1) % self.ops.len()].wallet.insecure_clone()
        } else {
            self.pool.slash_authority.insecure_clone()
        };
        let p = self.positions[o];
        let ok = !by_stranger
            && p.exists
            && amount > 0
            && u128::from(amount) <= u128::from(p.active) + u128::from(p.pending);
        let ix = staking::slash(
            &signer.pubkey(),
            &self.net.network,
            &self.ops[o].wallet.pubkey(),
            &self.net.token,
            &self.pool.treasury,
            SlashArgs {
                amount,
                evidence_hash: [1; 32],
            },
        );
        let result = ctx.suite.send(&[ix], &[&signer]).await;
        let what = format!("slash op{o} {amount} (stranger: {by_stranger})");
        if ctx.expect(what, ok, result)? {
            let p = &mut self.positions[o];
            let from_active = amount.min(p.active);
            p.active -= from_active;
            p.pending -= amount - from_active;
            self.treasury += amount;
        }
        Ok(())
    }

    async fn bond(&mut self, ctx: &mut Ctx, other: &Wireless) -> Result<(), String> {
        let s = ctx.rng.index(self.ops.len());
        // an attacker bonds a device of another network to this network's pool
        if ctx.rng.chance(10) {
            let d = ctx.rng.index(other.devices.len());
            let ix = staking::bond_device(
                &self.ops[s].wallet.pubkey(),
                &self.net.network,
                &other.devices[d].fx.device,
            );
            let result = ctx.suite.send(&[ix], &[&self.ops[s].wallet]).await;
            return ctx
                .expect(format!("bond a foreign device by op{s}"), false, result)
                .map(drop);
        }
        let unbonded: Vec<bool> = self
            .devices
            .iter()
            .map(|d| d.bond.is_none() && d.active)
            .collect();
        let d = ctx.rng.prefer(self.devices.len(), |i| unbonded[i]);
        let s = if ctx.rng.chance(80) {
            self.devices[d].owner
        } else {
            s
        };
        self.do_bond(ctx, s, d).await
    }

    async fn do_bond(&mut self, ctx: &mut Ctx, s: usize, d: usize) -> Result<(), String> {
        let dev = &self.devices[d];
        let p = self.positions[s];
        let ok = dev.owner == s
            && dev.active
            && dev.bond.is_none()
            && p.exists
            && u128::from(p.active) >= u128::from(p.bonded + 1) * u128::from(MIN);
        let ix = staking::bond_device(
            &self.ops[s].wallet.pubkey(),
            &self.net.network,
            &dev.fx.device,
        );
        let result = ctx.suite.send(&[ix], &[&self.ops[s].wallet]).await;
        if ctx.expect(format!("bond dev{d} by op{s}"), ok, result)? {
            self.devices[d].bond = Some(s);
            self.positions[s].bonded += 1;
        }
        Ok(())
    }

    async fn unbond(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let bonded: Vec<Option<usize>> = self.devices.iter().map(|d| d.bond).collect();
        let d = ctx.rng.prefer(self.devices.len(), |i| bonded[i].is_some());
        let s = match bonded[d] {
            Some(staker) if ctx.rng.chance(80) => staker,
            _ => ctx.rng.index(self.ops.len()),
        };
        self.do_unbond(ctx, d, s).await
    }

    async fn do_unbond(&mut self, ctx: &mut Ctx, d: usize, s: usize) -> Result<(), String> {
        let dev = &self.devices[d];
        let staker = dev.bond.unwrap_or(dev.owner);
        let ok = dev.bond.is_some() && (s == staker || s == dev.owner);
        let ix = staking::unbond_device(
            &self.ops[s].wallet.pubkey(),
            &self.ops[staker].wallet.pubkey(),
            &self.net.network,
            &dev.fx.device,
        );
        let result = ctx.suite.send(&[ix], &[&self.ops[s].wallet]).await;
        if ctx.expect(format!("unbond dev{d} by op{s}"), ok, result)? {
            self.devices[d].bond = None;
            self.positions[staker].bonded -= 1;
        }
        Ok(())
    }

    async fn transfer(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let d = ctx.rng.index(self.devices.len());
        let to = ctx.rng.index(self.ops.len());
        let signer = if ctx.rng.chance(85) {
            self.devices[d].owner
        } else {
            ctx.rng.index(self.ops.len())
        };
        let dev = &self.devices[d];
        let ok = signer == dev.owner && to != dev.owner;
        let ix = registry::transfer_device(
            &self.ops[signer].wallet.pubkey(),
            &self.net.network,
            &dev.fx.key.pubkey(),
            &self.ops[to].wallet.pubkey(),
        );
        let result = ctx.suite.send(&[ix], &[&self.ops[signer].wallet]).await;
        if ctx.expect(format!("transfer dev{d} op{signer}->op{to}"), ok, result)? {
            self.devices[d].owner = to;
        }
        Ok(())
    }

    async fn set_status(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let d = ctx.rng.index(self.devices.len());
        let suspend = ctx.rng.chance(50);
        self.do_set_status(ctx, d, suspend).await
    }

    async fn do_set_status(
        &mut self,
        ctx: &mut Ctx,
        d: usize,
        suspend: bool,
    ) -> Result<(), String> {
        let ok = self.devices[d].active == suspend;
        let status = if suspend {
            DeviceStatus::Suspended
        } else {
            DeviceStatus::Active
        };
        let ix = registry::set_device_status(
            &self.net.authority.pubkey(),
            &self.net.network,
            &self.devices[d].fx.key.pubkey(),
            status,
        );
        let result = ctx.suite.send(&[ix], &[&self.net.authority]).await;
        if ctx.expect(format!("set dev{d} suspended={suspend}"), ok, result)? {
            self.devices[d].active = !suspend;
        }
        Ok(())
    }

    fn latest(&self) -> Option<&(u64, RewardTree)> {
        self.finalized.last()
    }

    fn latest_amount(&self, device: &Pubkey) -> u64 {
        self.latest()
            .and_then(|(_, t)| t.proof(device))
            .map_or(0, |p| p.row.cumulative_amount)
    }

    /// The oracles finalize the next epoch: each device earns a little, some are corrected
    /// downward, and the total never falls.
    async fn finalize(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let epoch = self.next_epoch;
        ctx.suite.finish_epoch(&self.rw, epoch).await;
        let previous_total = self.latest().map_or(0, |(_, t)| t.total());
        let mut rows: Vec<RewardRow> = self
            .devices
            .iter()
            .map(|d| {
                let before = self.latest_amount(&d.fx.device);
                let amount = if ctx.rng.chance(20) {
                    ctx.rng.below(before + 1)
                } else {
                    before + ctx.rng.below(500)
                };
                RewardRow {
                    device: d.fx.device,
                    owner: self.ops[d.owner].wallet.pubkey(),
                    cumulative_amount: amount,
                }
            })
            .collect();
        let total: u64 = rows.iter().map(|r| r.cumulative_amount).sum();
        if total < previous_total {
            rows[0].cumulative_amount += previous_total - total;
        }
        let tree = RewardTree::build(rows).map_err(|e| format!("tree: {e}"))?;
        // sometimes an oracle first proposes something else: it does not count
        let (first, second) = match ctx.rng.below(3) {
            0 => (0, 1),
            1 => (1, 2),
            _ => (0, 2),
        };
        if ctx.rng.chance(30) {
            let stray = 3 - first - second;
            let result = ctx
                .suite
                .propose(&self.net, &self.rw, stray, epoch, [9; 32], tree.total())
                .await;
            ctx.expect(format!("stray proposal for epoch {epoch}"), true, result)?;
        }
        for oracle in [first, second] {
            let result = ctx
                .suite
                .propose(
                    &self.net,
                    &self.rw,
                    oracle,
                    epoch,
                    tree.root(),
                    tree.total(),
                )
                .await;
            ctx.expect(
                format!("oracle {oracle} proposes epoch {epoch}"),
                true,
                result,
            )?;
        }
        self.finalized.push((epoch, tree));
        self.next_epoch = epoch + 1 + ctx.rng.below(2);
        Ok(())
    }

    async fn open_claimed(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let open: Vec<bool> = self.devices.iter().map(|d| d.claimed.is_some()).collect();
        let d = ctx.rng.prefer(self.devices.len(), |i| !open[i]);
        self.do_open_claimed(ctx, d).await
    }

    async fn do_open_claimed(&mut self, ctx: &mut Ctx, d: usize) -> Result<(), String> {
        let ok = self.devices[d].claimed.is_none();
        let ix = rewards::open_claimed(
            &ctx.suite.payer(),
            &self.net.network,
            &self.devices[d].fx.device,
        );
        let result = ctx.suite.send(&[ix], &[]).await;
        if ctx.expect(format!("open claimed dev{d}"), ok, result)? {
            self.devices[d].claimed = Some(0);
        }
        Ok(())
    }

    /// A claim: usually honest, sometimes against an older root, with a proof from an older
    /// tree, into someone else's account, or for another network's device.
    async fn claim(&mut self, ctx: &mut Ctx, other: &Wireless) -> Result<(), String> {
        if ctx.rng.chance(8) && !other.finalized.is_empty() {
            let d = ctx.rng.index(other.devices.len());
            let dev = &other.devices[d];
            let (epoch, tree) = other.finalized.last().expect("checked");
            let Some(p) = tree.proof(&dev.fx.device) else {
                return Ok(());
            };
            let ix = rewards::claim(
                &self.net.network,
                &dev.fx.device,
                &other.ops[dev.owner].wallet.pubkey(),
                &self.rw.token,
                &self.reward_accounts[0],
                ClaimArgs {
                    epoch: *epoch,
                    cumulative_amount: p.row.cumulative_amount,
                    proof: p.proof,
                },
            );
            let result = ctx.suite.send(&[ix], &[]).await;
            return ctx
                .expect(format!("claim a foreign device {d}"), false, result)
                .map(drop);
        }
        if self.finalized.is_empty() {
            return Ok(());
        }
        let claimable: Vec<bool> = self
            .devices
            .iter()
            .map(|d| d.claimed.is_some() && d.bond == Some(d.owner) && d.active)
            .collect();
        let d = ctx.rng.prefer(self.devices.len(), |i| claimable[i]);
        let n = self.finalized.len();
        // which epoch it names and which tree its proof comes from
        let named = if ctx.rng.chance(20) {
            ctx.rng.index(n)
        } else {
            n - 1
        };
        let from = if ctx.rng.chance(15) {
            ctx.rng.index(n)
        } else {
            named
        };
        let wrong_recipient = ctx.rng.chance(8);
        self.do_claim(ctx, d, named, from, wrong_recipient).await
    }

    /// Claims for device `d` naming finalized epoch number `named` (an index into
    /// `finalized`) with the proof from tree `from`.
    async fn do_claim(
        &mut self,
        ctx: &mut Ctx,
        d: usize,
        named: usize,
        from: usize,
        wrong_recipient: bool,
    ) -> Result<(), String> {
        let (epoch, _) = &self.finalized[named];
        let epoch = *epoch;
        let dev = &self.devices[d];
        let Some(p) = self.finalized[from].1.proof(&dev.fx.device) else {
            return Ok(());
        };
        let owner = dev.owner;
        let recipient = if wrong_recipient {
            self.reward_accounts[(owner + 1) % self.ops.len()]
        } else {
            self.reward_accounts[owner]
        };
        let (latest_epoch, latest_tree) = self.latest().expect("checked");
        let leaf = reward_leaf::<Sha256Hasher>(
            &dev.fx.device.to_bytes(),
            &self.ops[owner].wallet.pubkey().to_bytes(),
            p.row.cumulative_amount,
        );
        let proves = verify::<Sha256Hasher>(&p.proof, &latest_tree.root(), leaf);
        let covered = dev.bond.is_some_and(|staker| {
            let pos = self.positions[staker];
            staker == owner && u128::from(pos.active) >= u128::from(pos.bonded) * u128::from(MIN)
        });
        let claimed = dev.claimed.unwrap_or(0);
        let delta = p.row.cumulative_amount.saturating_sub(claimed);
        let fits = u128::from(self.minted) + u128::from(delta) <= u128::from(latest_tree.total());
        let ok = dev.claimed.is_some()
            && dev.active
            && covered
            && epoch == *latest_epoch
            && proves
            && !wrong_recipient
            && fits;
        let ix = rewards::claim(
            &self.net.network,
            &dev.fx.device,
            &self.ops[owner].wallet.pubkey(),
            &self.rw.token,
            &recipient,
            ClaimArgs {
                epoch,
                cumulative_amount: p.row.cumulative_amount,
                proof: p.proof.clone(),
            },
        );
        let before = ctx.suite.token_balance(self.reward_accounts[owner]).await;
        let result = ctx.suite.send(&[ix], &[]).await;
        let what = format!(
            "claim dev{d} epoch {epoch} (tree of epoch {}, {} claimed, row {})",
            self.finalized[from].0, claimed, p.row.cumulative_amount
        );
        if ctx.expect(what, ok, result)? {
            let paid = ctx.suite.token_balance(self.reward_accounts[owner]).await - before;
            if paid != delta {
                return Err(format!("claim dev{d} paid {paid}, the model owed {delta}"));
            }
            // never more than the device's amount in the latest root
            let latest = self.latest_amount(&dev.fx.device);
            if delta > 0 && p.row.cumulative_amount != latest {
                return Err(format!(
                    "claim dev{d} paid up to {} while its latest amount is {latest}",
                    p.row.cumulative_amount
                ));
            }
            self.minted += delta;
            if delta > 0 {
                self.devices[d].claimed = Some(p.row.cumulative_amount);
            }
        }
        Ok(())
    }

    /// Conservation and the chain agreeing with the model.
    pub async fn check(&self, ctx: &mut Ctx) -> Result<(), String> {
        let s = &mut ctx.suite;
        // network token: wallets, vault and treasury add up to the supply
        let mut held =
            s.token_balance(self.pool.vault).await + s.token_balance(self.net.treasury).await;
        for (o, op) in self.ops.iter().enumerate() {
            let b = s.token_balance(op.token_account).await;
            if b != self.balances[o] {
                return Err(format!(
                    "op{o} holds {b}, the model says {}",
                    self.balances[o]
                ));
            }
            held += b;
        }
        let supply = s.mint_supply(self.net.token.mint).await;
        if held != supply {
            return Err(format!(
                "network token: accounts hold {held}, supply is {supply}"
            ));
        }
        let staked: u64 = self.positions.iter().map(|p| p.active + p.pending).sum();
        let vault = s.token_balance(self.pool.vault).await;
        let pool: StakePool = s.account(self.pool.pool).await;
        if vault != staked || pool.total_staked + pool.total_pending != staked {
            return Err(format!(
                "stake vault {vault}, pool totals {} + {}, the model's positions {staked}",
                pool.total_staked, pool.total_pending
            ));
        }
        if s.token_balance(self.net.treasury).await != self.treasury {
            return Err("treasury differs from the model".into());
        }
        for (o, p) in self.positions.iter().enumerate() {
            if !p.exists {
                continue;
            }
            let address = pda::stake_position(&self.pool.pool, &self.ops[o].wallet.pubkey()).0;
            let chain: StakePosition = s.account(address).await;
            if (chain.amount, chain.pending, chain.devices_bonded)
                != (p.active, p.pending, p.bonded)
            {
                return Err(format!(
                    "position op{o}: chain ({}, {}, {}), model ({}, {}, {})",
                    chain.amount,
                    chain.pending,
                    chain.devices_bonded,
                    p.active,
                    p.pending,
                    p.bonded
                ));
            }
        }
        // rewards: supply grows only by claims, never past the latest finalized total
        let config: RewardsConfig = s.account(self.rw.config).await;
        let supply = s.mint_supply(self.net.reward_mint).await;
        let mut held = 0;
        for a in &self.reward_accounts {
            held += s.token_balance(*a).await;
        }
        let cap = self.latest().map_or(0, |(_, t)| t.total());
        if supply != self.minted
            || held != supply
            || config.total_minted != self.minted
            || supply > cap
        {
            return Err(format!(
                "rewards: supply {supply}, held {held}, config minted {}, model minted {}, cap {cap}",
                config.total_minted, self.minted
            ));
        }
        Ok(())
    }
}
