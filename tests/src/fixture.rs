//! Typed fixtures: a network with its maker, operators, devices and stake pool, built
//! through the SDK's instruction builders exactly as a client would.
//!
//! Tests that need only part of the setup call the [`Suite`] methods here one by one;
//! tests that need the whole picture use [`FixtureBuilder`].

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use depin_sdk::energy::{self as energy_ix, InitializeEnergyMarketArgs, QuoteToken};
use depin_sdk::registry::{
    self, Capabilities, FeeAccounts, InitializeNetworkArgs, NetworkKind, OnboardDeviceArgs,
    RegisterMakerArgs, SetMakerApprovalArgs,
};
use depin_sdk::rewards::{
    self as rewards_ix, InitializeRewardsArgs, ProposeRootArgs, RewardToken, Schedule,
};
use depin_sdk::staking::{self, InitializePoolArgs, StakeToken};
use depin_sdk::storage::{self as storage_ix, InitializeMarketArgs, PaymentToken};
use depin_sdk::{pda, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::runtime::{SendError, Suite};

/// A well-formed H3 cell (resolution 10) used as the default device location.
pub const DEFAULT_LOCATION: u64 = 0x08a2_a107_2b59_ffff;

/// Settings of a new network.
#[derive(Debug, Clone)]
pub struct NetworkParams {
    /// What its devices do.
    pub kind: NetworkKind,
    /// Onboarding fee in base units.
    pub onboarding_fee: u64,
    /// Location fee in base units.
    pub location_fee: u64,
    /// Token program of the network token (fees and stake).
    pub token_program: Pubkey,
    /// Decimals of the network token.
    pub decimals: u8,
}

impl Default for NetworkParams {
    fn default() -> Self {
        NetworkParams {
            kind: NetworkKind::Wireless,
            onboarding_fee: 40_000_000,
            location_fee: 10_000_000,
            token_program: spl_token::ID,
            decimals: 6,
        }
    }
}

/// A created network.
pub struct NetworkFixture {
    /// Its id.
    pub network_id: u32,
    /// The `Network` account.
    pub network: Pubkey,
    /// Its authority.
    pub authority: Keypair,
    /// The network token: fee mint and stake mint.
    pub token: StakeToken,
    /// The reward mint.
    pub reward_mint: Pubkey,
    /// The treasury token account.
    pub treasury: Pubkey,
    /// Owner of the treasury.
    pub treasury_owner: Keypair,
    /// The settings it was created with.
    pub params: NetworkParams,
}

impl NetworkFixture {
    /// Fee accounts for a payment by `payer_token_account`.
    pub fn fee_accounts(&self, payer_token_account: Pubkey) -> FeeAccounts {
        FeeAccounts {
            fee_mint: self.token.mint,
            payer_token_account,
            treasury: self.treasury,
            token_program: self.token.token_program,
        }
    }
}

/// A registered maker.
pub struct MakerFixture {
    /// The maker's issuing key.
    pub authority: Keypair,
    /// The `Maker` account.
    pub maker: Pubkey,
}

/// A device operator: a funded wallet with a token account of the network token.
pub struct OperatorFixture {
    /// The wallet.
    pub wallet: Keypair,
    /// Its token account of the network token.
    pub token_account: Pubkey,
}

/// An onboarded device.
pub struct DeviceFixture {
    /// The device's key (its secure element).
    pub key: Keypair,
    /// The `Device` account.
    pub device: Pubkey,
}

/// A created stake pool.
pub struct PoolFixture {
    /// The `StakePool` account.
    pub pool: Pubkey,
    /// Its vault.
    pub vault: Pubkey,
    /// Where slashed stake goes (the network treasury: same mint, same owner).
    pub treasury: Pubkey,
    /// The slash authority.
    pub slash_authority: Keypair,
    /// Minimum stake per bonded device.
    pub min_stake_per_device: u64,
    /// Cooldown in seconds.
    pub cooldown_secs: u64,
}

/// A network treasury rotated to a new owner ([`Suite::rotate_treasury`]).
pub struct RotatedTreasury {
    /// The new owner.
    pub owner: Keypair,
    /// The network's treasury now: a network-token account of `owner`.
    pub treasury: Pubkey,
}

impl Suite {
    /// The network authority hands `net`'s treasury to a new owner (`update_network`), as
    /// after a leaked key; the markets and the pool still name their old treasuries until
    /// someone sends their `sync_treasury`.
    pub async fn rotate_treasury(&mut self, net: &NetworkFixture) -> RotatedTreasury {
        let owner = Keypair::new();
        let treasury = self
            .create_token_account(&net.token.token_program, &net.token.mint, &owner.pubkey())
            .await;
        let ix = registry::update_network(
            &net.authority.pubkey(),
            &net.network,
            Some(treasury),
            registry::UpdateNetworkArgs::default(),
        );
        self.send(&[ix], &[&net.authority])
            .await
            .expect("rotate the treasury");
        RotatedTreasury { owner, treasury }
    }
}

impl Suite {
    /// Creates the network token, a reward mint, a treasury and the network itself.
    pub async fn create_network(&mut self, params: NetworkParams) -> NetworkFixture {
        let network_id = self.fresh_network_id();
        let authority = Keypair::new();
        let treasury_owner = Keypair::new();
        let mint = self
            .create_mint(&params.token_program, params.decimals)
            .await;
        let reward_mint = self
            .create_mint(&params.token_program, params.decimals)
            .await;
        let treasury = self
            .create_token_account(&params.token_program, &mint, &treasury_owner.pubkey())
            .await;
        let ix = registry::initialize_network(
            &self.payer(),
            &authority.pubkey(),
            &reward_mint,
            &mint,
            &treasury,
            InitializeNetworkArgs {
                network_id,
                kind: params.kind,
                onboarding_fee: params.onboarding_fee,
                location_fee: params.location_fee,
            },
        );
        self.send(&[ix], &[&authority])
            .await
            .expect("initialize_network");
        NetworkFixture {
            network_id,
            network: pda::network(network_id).0,
            authority,
            token: StakeToken {
                mint,
                token_program: params.token_program,
            },
            reward_mint,
            treasury,
            treasury_owner,
            params,
        }
    }

    /// Registers a maker and, when `approve`, approves it with `quota`.
    pub async fn add_maker(
        &mut self,
        net: &NetworkFixture,
        name: &str,
        quota: u32,
        approve: bool,
    ) -> MakerFixture {
        let authority = Keypair::new();
        let register = registry::register_maker(
            &self.payer(),
            &net.authority.pubkey(),
            &net.network,
            RegisterMakerArgs {
                maker_authority: authority.pubkey(),
                name: name.to_string(),
                device_quota: quota,
            },
        );
        let mut ixs = vec![register];
        if approve {
            ixs.push(registry::set_maker_approval(
                &net.authority.pubkey(),
                &net.network,
                &authority.pubkey(),
                SetMakerApprovalArgs {
                    approved: true,
                    device_quota: quota,
                },
            ));
        }
        self.send(&ixs, &[&net.authority])
            .await
            .expect("register maker");
        MakerFixture {
            maker: pda::maker(&net.network, &authority.pubkey()).0,
            authority,
        }
    }

    /// Creates an operator wallet with SOL for rent and `tokens` of the network token.
    pub async fn add_operator(&mut self, net: &NetworkFixture, tokens: u64) -> OperatorFixture {
        let wallet = Keypair::new();
        self.airdrop(&wallet.pubkey(), 1_000_000_000).await;
        let token_account = self
            .create_token_account(&net.token.token_program, &net.token.mint, &wallet.pubkey())
            .await;
        if tokens > 0 {
            self.mint_to(
                &net.token.token_program,
                &net.token.mint,
                &token_account,
                tokens,
            )
            .await;
        }
        OperatorFixture {
            wallet,
            token_account,
        }
    }

    /// The `onboard_device` instruction for a fresh device key, without sending it.
    pub fn onboard_instruction(
        &self,
        net: &NetworkFixture,
        maker: &MakerFixture,
        owner: &OperatorFixture,
        device_key: &Keypair,
        args: OnboardDeviceArgs,
    ) -> Instruction {
        registry::onboard_device(
            &owner.wallet.pubkey(),
            &maker.authority.pubkey(),
            &device_key.pubkey(),
            &net.network,
            &net.fee_accounts(owner.token_account),
            args,
        )
    }

    /// Onboards a new device owned by `owner`, at [`DEFAULT_LOCATION`], with the network
    /// kind's default capabilities ([`default_args_for`]).
    pub async fn onboard(
        &mut self,
        net: &NetworkFixture,
        maker: &MakerFixture,
        owner: &OperatorFixture,
    ) -> Result<DeviceFixture, SendError> {
        self.onboard_with(net, maker, owner, default_args_for(net.params.kind))
            .await
    }

    /// Onboards a new device owned by `owner` with `args`.
    pub async fn onboard_with(
        &mut self,
        net: &NetworkFixture,
        maker: &MakerFixture,
        owner: &OperatorFixture,
        args: OnboardDeviceArgs,
    ) -> Result<DeviceFixture, SendError> {
        let key = Keypair::new();
        let ix = self.onboard_instruction(net, maker, owner, &key, args);
        self.send(&[ix], &[&owner.wallet, &maker.authority, &key])
            .await?;
        Ok(DeviceFixture {
            device: pda::device(&net.network, &key.pubkey()).0,
            key,
        })
    }

    /// Creates the network's stake pool; slashed stake goes to the network treasury.
    pub async fn create_pool(
        &mut self,
        net: &NetworkFixture,
        min_stake_per_device: u64,
        cooldown_secs: u64,
    ) -> PoolFixture {
        let slash_authority = Keypair::new();
        let ix = staking::initialize_pool(
            &self.payer(),
            &net.authority.pubkey(),
            &net.network,
            &net.token,
            &net.treasury,
            &net.treasury,
            InitializePoolArgs {
                min_stake_per_device,
                cooldown_secs,
                slash_authority: slash_authority.pubkey(),
            },
        );
        self.send(&[ix], &[&net.authority])
            .await
            .expect("initialize_pool");
        let pool = pda::stake_pool(&net.network).0;
        PoolFixture {
            pool,
            vault: pda::stake_vault(&pool).0,
            treasury: net.treasury,
            slash_authority,
            min_stake_per_device,
            cooldown_secs,
        }
    }

    /// Stakes `amount` from the operator's token account.
    pub async fn stake(
        &mut self,
        net: &NetworkFixture,
        op: &OperatorFixture,
        amount: u64,
    ) -> Result<(), SendError> {
        let ix = staking::stake(
            &op.wallet.pubkey(),
            &net.network,
            &net.token,
            &op.token_account,
            amount,
        );
        self.send(&[ix], &[&op.wallet]).await
    }

    /// Bonds `device` to the operator's stake.
    pub async fn bond(
        &mut self,
        net: &NetworkFixture,
        op: &OperatorFixture,
        device: &DeviceFixture,
    ) -> Result<(), SendError> {
        let ix = staking::bond_device(&op.wallet.pubkey(), &net.network, &device.device);
        self.send(&[ix], &[&op.wallet]).await
    }
}

/// Onboarding arguments of a plain outdoor hotspot at [`DEFAULT_LOCATION`].
pub fn default_device_args() -> OnboardDeviceArgs {
    OnboardDeviceArgs {
        class: 1,
        capabilities: Capabilities {
            radio_bands: 0b101,
            ..Capabilities::default()
        },
        location: Some(DEFAULT_LOCATION),
    }
}

/// Onboarding arguments of a home energy meter at [`DEFAULT_LOCATION`]: a 5 kW rooftop
/// array and a 13.5 kWh battery, so it may ask up to
/// `depin_core::energy::ask_capacity_wh(5_000, 13_500, interval_secs)` Wh an interval
/// (14,750 in a 15-minute one).
pub fn default_meter_args() -> OnboardDeviceArgs {
    OnboardDeviceArgs {
        class: 1,
        capabilities: Capabilities {
            panel_watts: 5_000,
            battery_wh: 13_500,
            ..Capabilities::default()
        },
        location: Some(DEFAULT_LOCATION),
    }
}

/// The onboarding arguments [`Suite::onboard`] uses on a network of `kind`: a home meter
/// ([`default_meter_args`]) on an energy network, a plain outdoor hotspot
/// ([`default_device_args`]) on any other.
pub fn default_args_for(kind: NetworkKind) -> OnboardDeviceArgs {
    match kind {
        NetworkKind::Energy => default_meter_args(),
        _ => default_device_args(),
    }
}

/// A whole network: maker, operators each owning devices, pool, stake and bonds.
pub struct Fixture {
    /// The network.
    pub net: NetworkFixture,
    /// Its approved maker.
    pub maker: MakerFixture,
    /// Operators, each with their devices.
    pub operators: Vec<(OperatorFixture, Vec<DeviceFixture>)>,
    /// The stake pool.
    pub pool: PoolFixture,
}

/// Builds a [`Fixture`] step by step; every step goes through the real programs.
#[derive(Debug, Clone)]
pub struct FixtureBuilder {
    params: NetworkParams,
    maker_quota: u32,
    operators: usize,
    devices_per_operator: usize,
    operator_tokens: u64,
    min_stake_per_device: u64,
    cooldown_secs: u64,
    stake_per_operator: u64,
    bond: bool,
}

impl Default for FixtureBuilder {
    fn default() -> Self {
        FixtureBuilder {
            params: NetworkParams::default(),
            maker_quota: 100,
            operators: 1,
            devices_per_operator: 1,
            operator_tokens: 1_000_000_000,
            min_stake_per_device: 100_000_000,
            cooldown_secs: 7 * 24 * 3600,
            stake_per_operator: 0,
            bond: false,
        }
    }
}

impl FixtureBuilder {
    /// Network settings.
    pub fn network(mut self, params: NetworkParams) -> Self {
        self.params = params;
        self
    }
    /// Maker quota.
    pub fn maker_quota(mut self, quota: u32) -> Self {
        self.maker_quota = quota;
        self
    }
    /// Number of operators and devices each.
    pub fn operators(mut self, operators: usize, devices_each: usize) -> Self {
        self.operators = operators;
        self.devices_per_operator = devices_each;
        self
    }
    /// Network tokens each operator starts with.
    pub fn operator_tokens(mut self, tokens: u64) -> Self {
        self.operator_tokens = tokens;
        self
    }
    /// Pool settings.
    pub fn pool(mut self, min_stake_per_device: u64, cooldown_secs: u64) -> Self {
        self.min_stake_per_device = min_stake_per_device;
        self.cooldown_secs = cooldown_secs;
        self
    }
    /// Each operator stakes this much (0: no stake).
    pub fn stake(mut self, amount: u64) -> Self {
        self.stake_per_operator = amount;
        self
    }
    /// Each operator bonds all its devices.
    pub fn bond_all(mut self) -> Self {
        self.bond = true;
        self
    }

    /// Runs every step against `suite`.
    pub async fn build(self, suite: &mut Suite) -> Fixture {
        let net = suite.create_network(self.params.clone()).await;
        let maker = suite
            .add_maker(&net, "Acme Radio", self.maker_quota, true)
            .await;
        let pool = suite
            .create_pool(&net, self.min_stake_per_device, self.cooldown_secs)
            .await;
        let mut operators = Vec::with_capacity(self.operators);
        for _ in 0..self.operators {
            let op = suite.add_operator(&net, self.operator_tokens).await;
            let mut devices = Vec::with_capacity(self.devices_per_operator);
            for _ in 0..self.devices_per_operator {
                devices.push(suite.onboard(&net, &maker, &op).await.expect("onboard"));
            }
            if self.stake_per_operator > 0 {
                suite
                    .stake(&net, &op, self.stake_per_operator)
                    .await
                    .expect("stake");
            }
            if self.bond {
                for device in &devices {
                    suite.bond(&net, &op, device).await.expect("bond");
                }
            }
            operators.push((op, devices));
        }
        Fixture {
            net,
            maker,
            operators,
            pool,
        }
    }
}

/// Settings of a network's rewards.
#[derive(Debug, Clone)]
pub struct RewardsParams {
    /// Emission schedule.
    pub schedule: Schedule,
    /// Epoch length in seconds.
    pub epoch_duration_secs: u64,
    /// Number of oracles.
    pub oracles: usize,
    /// Quorum.
    pub quorum: u8,
}

impl Default for RewardsParams {
    fn default() -> Self {
        RewardsParams {
            schedule: Schedule {
                initial_per_epoch: 1_000_000_000,
                halving_interval_epochs: 4,
                tail_per_epoch: 100_000_000,
            },
            epoch_duration_secs: 3600,
            oracles: 3,
            quorum: 2,
        }
    }
}

/// A network's rewards configuration.
pub struct RewardsFixture {
    /// The `RewardsConfig` account (the reward mint's authority).
    pub config: Pubkey,
    /// The oracles, in config order.
    pub oracles: Vec<Keypair>,
    /// The reward mint and its token program.
    pub token: RewardToken,
    /// Start of epoch 0.
    pub genesis_ts: i64,
    /// The settings it was created with.
    pub params: RewardsParams,
}

impl Suite {
    /// Configures rewards for `net` with epoch 0 starting now; the harness mint authority
    /// hands the reward mint to the config.
    pub async fn create_rewards(
        &mut self,
        net: &NetworkFixture,
        params: RewardsParams,
    ) -> RewardsFixture {
        let oracles: Vec<Keypair> = (0..params.oracles).map(|_| Keypair::new()).collect();
        for oracle in &oracles {
            self.airdrop(&oracle.pubkey(), 100_000_000).await;
        }
        let genesis_ts = self.clock().await.unix_timestamp;
        let token = RewardToken {
            mint: net.reward_mint,
            token_program: net.token.token_program,
        };
        let ix = rewards_ix::initialize_rewards(
            &self.payer(),
            &net.authority.pubkey(),
            &net.network,
            &token,
            &self.mint_authority.pubkey(),
            InitializeRewardsArgs {
                schedule: params.schedule,
                epoch_duration_secs: params.epoch_duration_secs,
                genesis_ts,
                oracles: oracles.iter().map(|k| k.pubkey()).collect(),
                quorum: params.quorum,
            },
        );
        let mint_authority = self.mint_authority.insecure_clone();
        self.send(&[ix], &[&net.authority, &mint_authority])
            .await
            .expect("initialize_rewards");
        RewardsFixture {
            config: pda::rewards_config(&net.network).0,
            oracles,
            token,
            genesis_ts,
            params,
        }
    }

    /// Oracle `index` proposes `(root, total)` for `epoch`, without a region multiplier
    /// table (zero hash).
    pub async fn propose(
        &mut self,
        net: &NetworkFixture,
        rw: &RewardsFixture,
        index: usize,
        epoch: u64,
        root: [u8; 32],
        total: u64,
    ) -> Result<(), SendError> {
        let args = ProposeRootArgs {
            epoch,
            root,
            cumulative_total: total,
            multipliers_hash: [0; 32],
        };
        self.propose_args(net, rw, index, args).await
    }

    /// Oracle `index` proposes `args` (with its region multiplier table hash).
    pub async fn propose_args(
        &mut self,
        net: &NetworkFixture,
        rw: &RewardsFixture,
        index: usize,
        args: ProposeRootArgs,
    ) -> Result<(), SendError> {
        let oracle = &rw.oracles[index];
        let ix = rewards_ix::propose_root(&oracle.pubkey(), &net.network, args);
        self.send(&[ix], &[oracle]).await
    }

    /// Moves the clock past the end of `epoch`.
    pub async fn finish_epoch(&mut self, rw: &RewardsFixture, epoch: u64) {
        let end = depin_core::epoch::epoch_end(rw.genesis_ts, rw.params.epoch_duration_secs, epoch)
            .expect("epoch end");
        let now = self.clock().await.unix_timestamp;
        if now < end {
            self.advance_time(end - now).await;
        }
    }
}

/// A network's energy market.
pub struct EnergyFixture {
    /// The `EnergyMarket` account.
    pub market: Pubkey,
    /// The stablecoin.
    pub quote: QuoteToken,
    /// The escrow vault.
    pub vault: Pubkey,
    /// Quote-mint account of the network treasury's owner (grid fees).
    pub treasury: Pubkey,
    /// The settings it was created with.
    pub args: InitializeEnergyMarketArgs,
}

/// Default energy market settings: 15-minute intervals, gate closing 5 minutes before,
/// a 10-minute reading window, a 2% grid fee.
pub fn default_energy_args() -> InitializeEnergyMarketArgs {
    InitializeEnergyMarketArgs {
        interval_secs: 900,
        gate_closure_secs: 300,
        settlement_delay_secs: 600,
        max_orders_per_interval: 32,
        grid_fee_bps: 200,
        price_floor: 1,
        price_cap: 1_000_000,
    }
}

impl Suite {
    /// Creates a stablecoin and `net`'s energy market.
    pub async fn create_energy_market(
        &mut self,
        net: &NetworkFixture,
        args: InitializeEnergyMarketArgs,
    ) -> Result<EnergyFixture, SendError> {
        let quote = QuoteToken {
            mint: self.create_mint(&net.token.token_program, 6).await,
            token_program: net.token.token_program,
        };
        let treasury = self
            .create_token_account(
                &quote.token_program,
                &quote.mint,
                &net.treasury_owner.pubkey(),
            )
            .await;
        let ix = energy_ix::initialize_energy_market(
            &self.payer(),
            &net.authority.pubkey(),
            &net.network,
            &quote,
            &net.treasury,
            &treasury,
            args.clone(),
        );
        self.send(&[ix], &[&net.authority]).await?;
        let market = pda::energy_market(&net.network).0;
        Ok(EnergyFixture {
            market,
            quote,
            vault: pda::energy_vault(&market).0,
            treasury,
            args,
        })
    }

    /// `owner`'s associated quote-mint account (where settlements pay), holding `amount`.
    pub async fn quote_account(
        &mut self,
        energy: &EnergyFixture,
        owner: &Pubkey,
        amount: u64,
    ) -> Pubkey {
        let ix = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account(
            &self.payer(),
            owner,
            &energy.quote.mint,
            &energy.quote.token_program,
        );
        self.send(&[ix], &[])
            .await
            .expect("create associated token account");
        let account = energy_ix::quote_account(owner, &energy.quote);
        if amount > 0 {
            self.mint_to(
                &energy.quote.token_program,
                &energy.quote.mint,
                &account,
                amount,
            )
            .await;
        }
        account
    }

    /// Sets the clock to `unix_time` (forward only).
    pub async fn set_time(&mut self, unix_time: i64) {
        let now = self.clock().await.unix_timestamp;
        if unix_time > now {
            self.advance_time(unix_time - now).await;
        }
    }
}

/// A Storage network's market.
pub struct StorageFixture {
    /// The `StorageMarket` account.
    pub market: Pubkey,
    /// The payment mint.
    pub token: PaymentToken,
    /// The market's vault.
    pub vault: Pubkey,
    /// Payment-mint account of the network treasury's owner (fees, terminal slashes).
    pub treasury: Pubkey,
}

impl Suite {
    /// Creates a payment mint and `net`'s storage market (`net` must be a Storage network).
    pub async fn create_storage_market(
        &mut self,
        net: &NetworkFixture,
        args: InitializeMarketArgs,
    ) -> Result<StorageFixture, SendError> {
        let token = PaymentToken {
            mint: self.create_mint(&net.token.token_program, 6).await,
            token_program: net.token.token_program,
        };
        let treasury = self
            .create_token_account(
                &token.token_program,
                &token.mint,
                &net.treasury_owner.pubkey(),
            )
            .await;
        let ix = storage_ix::initialize_market(
            &self.payer(),
            &net.authority.pubkey(),
            &net.network,
            &token,
            &net.treasury,
            &treasury,
            args,
        );
        self.send(&[ix], &[&net.authority]).await?;
        let market = pda::storage_market(&net.network).0;
        Ok(StorageFixture {
            market,
            token,
            vault: pda::storage_vault(&market).0,
            treasury,
        })
    }

    /// A token account of `mint` for `owner`, holding `amount`.
    pub async fn funded_account(
        &mut self,
        token_program: &Pubkey,
        mint: &Pubkey,
        owner: &Pubkey,
        amount: u64,
    ) -> Pubkey {
        let account = self.create_token_account(token_program, mint, owner).await;
        if amount > 0 {
            self.mint_to(token_program, mint, &account, amount).await;
        }
        account
    }
}
