//! A small network built through the SDK client over JSON-RPC, as an operator would build it:
//! the network token and reward mints, a treasury, the network, a maker (approved or not),
//! and an operator holding network tokens. Tests and the demo start from it.

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use depin_sdk::client::{expect_landed, Client, ClientError};
use depin_sdk::registry::{
    self, Capabilities, FeeAccounts, InitializeNetworkArgs, NetworkKind, OnboardDeviceArgs,
    RegisterMakerArgs, SetMakerApprovalArgs,
};
use depin_sdk::rewards::{InitializeRewardsArgs, RewardToken, Schedule};
use depin_sdk::staking::{InitializePoolArgs, StakeToken};
use depin_sdk::{pda, Instruction};
use depin_tests::{Keypair, Signer};

/// Lamports the operator is given for rent and fees.
pub const OPERATOR_LAMPORTS: u64 = 100_000_000_000;
/// Network tokens (base units) the operator is given.
pub const OPERATOR_TOKENS: u64 = 1_000_000_000_000;
/// Onboarding fee of the network, in base units.
pub const ONBOARDING_FEE: u64 = 1_000_000;
/// Network tokens each bonded device needs staked behind it.
pub const STAKE_PER_DEVICE: u64 = 1_000_000;
/// A well-formed H3 cell (resolution 10).
pub const LOCATION: u64 = 0x08a2_a107_2b59_ffff;

/// A created network and the keys that run it.
pub struct Network {
    /// The `Network` account.
    pub network: Pubkey,
    /// Its id.
    pub network_id: u32,
    /// Its kind: what its devices do, and so the capabilities they are onboarded with.
    pub kind: NetworkKind,
    /// Its authority.
    pub authority: Keypair,
    /// The network token (fees and stake).
    pub token: StakeToken,
    /// The reward mint (its authority is `mint_authority` until rewards are configured).
    pub reward_mint: Pubkey,
    /// Authority of both mints.
    pub mint_authority: Keypair,
    /// The treasury token account.
    pub treasury: Pubkey,
    /// The treasury's owner (a market's treasury in another mint must belong to it too).
    pub treasury_owner: Pubkey,
    /// The maker's issuing key.
    pub maker: Keypair,
    /// The operator's wallet.
    pub operator: Keypair,
    /// The operator's network-token account.
    pub operator_tokens: Pubkey,
}

/// What the scenario's devices of a `kind` network can do: a home meter (a 5 kW rooftop
/// array and a 13.5 kWh battery, so its asks reach 13,505 Wh in a 4-second interval and
/// 14,750 in a 15-minute one) on an energy network, a hotspot's two radio bands on any
/// other.
pub fn capabilities(kind: NetworkKind) -> Capabilities {
    match kind {
        NetworkKind::Energy => Capabilities {
            panel_watts: 5_000,
            battery_wh: 13_500,
            ..Capabilities::default()
        },
        _ => Capabilities {
            radio_bands: 0b101,
            ..Capabilities::default()
        },
    }
}

/// An operator besides the network's first: a wallet with lamports and network tokens.
pub struct Operator {
    /// The operator's wallet.
    pub wallet: Keypair,
    /// Its network-token account.
    pub tokens: Pubkey,
}

/// Builds a wireless network `network_id` with a maker (approved when `approve_maker`) and a
/// funded operator, paid by `client`'s payer.
pub async fn network(
    client: &Client,
    network_id: u32,
    approve_maker: bool,
) -> Result<Network, ClientError> {
    network_of_kind(client, network_id, NetworkKind::Wireless, approve_maker).await
}

/// Builds a network `network_id` of `kind` (wireless, storage or energy) with a maker
/// (approved when `approve_maker`) and a funded operator, paid by `client`'s payer.
pub async fn network_of_kind(
    client: &Client,
    network_id: u32,
    kind: NetworkKind,
    approve_maker: bool,
) -> Result<Network, ClientError> {
    let authority = Keypair::new();
    let mint_authority = Keypair::new();
    let treasury_owner = Keypair::new();
    let maker = Keypair::new();
    let operator = Keypair::new();
    let mint = client.create_mint(&mint_authority.pubkey(), 6).await?;
    let reward_mint = client.create_mint(&mint_authority.pubkey(), 6).await?;
    let treasury = client
        .create_token_account(&mint, &treasury_owner.pubkey())
        .await?;
    let operator_tokens = client
        .create_token_account(&mint, &operator.pubkey())
        .await?;
    client
        .transfer(&operator.pubkey(), OPERATOR_LAMPORTS)
        .await?;
    client
        .mint_to(&mint, &operator_tokens, &mint_authority, OPERATOR_TOKENS)
        .await?;
    let network = pda::network(network_id).0;
    let mut ixs = vec![
        registry::initialize_network(
            &client.payer(),
            &authority.pubkey(),
            &reward_mint,
            &mint,
            &treasury,
            InitializeNetworkArgs {
                network_id,
                kind,
                onboarding_fee: ONBOARDING_FEE,
                location_fee: 0,
            },
        ),
        registry::register_maker(
            &client.payer(),
            &authority.pubkey(),
            &network,
            RegisterMakerArgs {
                maker_authority: maker.pubkey(),
                name: "acme".into(),
                device_quota: 10_000,
            },
        ),
    ];
    if approve_maker {
        ixs.push(registry::set_maker_approval(
            &authority.pubkey(),
            &network,
            &maker.pubkey(),
            SetMakerApprovalArgs {
                approved: true,
                device_quota: 10_000,
            },
        ));
    }
    expect_landed(client.send(&ixs, &[&authority]).await?)?;
    Ok(Network {
        network,
        network_id,
        kind,
        authority,
        token: StakeToken {
            mint,
            token_program: spl_token::ID,
        },
        reward_mint,
        mint_authority,
        treasury,
        treasury_owner: treasury_owner.pubkey(),
        maker,
        operator,
        operator_tokens,
    })
}

impl Network {
    /// The instruction onboarding `device` for the operator at `location` (signed by the
    /// operator, the maker and the device key).
    pub fn onboard(&self, device: &Keypair, location: u64) -> Instruction {
        self.onboard_for(&self.operator, &self.operator_tokens, device, location)
    }

    /// Creates and funds another operator (lamports and network tokens, as the first).
    pub async fn add_operator(&self, client: &Client) -> Result<Operator, ClientError> {
        let wallet = Keypair::new();
        let tokens = client
            .create_token_account(&self.token.mint, &wallet.pubkey())
            .await?;
        client.transfer(&wallet.pubkey(), OPERATOR_LAMPORTS).await?;
        client
            .mint_to(
                &self.token.mint,
                &tokens,
                &self.mint_authority,
                OPERATOR_TOKENS,
            )
            .await?;
        Ok(Operator { wallet, tokens })
    }

    /// The instruction onboarding `device` for `operator` (paying the fee from
    /// `operator_tokens`) at `location`, signed by the operator, the maker and the device key.
    pub fn onboard_for(
        &self,
        operator: &Keypair,
        operator_tokens: &Pubkey,
        device: &Keypair,
        location: u64,
    ) -> Instruction {
        registry::onboard_device(
            &operator.pubkey(),
            &self.maker.pubkey(),
            &device.pubkey(),
            &self.network,
            &FeeAccounts {
                fee_mint: self.token.mint,
                payer_token_account: *operator_tokens,
                treasury: self.treasury,
                token_program: spl_token::ID,
            },
            OnboardDeviceArgs {
                class: 1,
                capabilities: capabilities(self.kind),
                location: Some(location),
            },
        )
    }

    /// Opens the network's stake pool (`STAKE_PER_DEVICE` per bonded device, no cooldown
    /// beyond a minute, slashed stake to the treasury) and stakes `devices` devices' worth of
    /// the operator's tokens, so the operator's devices can be bonded (see [`Network::bond`]).
    pub async fn open_stake(&self, client: &Client, devices: u64) -> Result<(), ClientError> {
        let pool = self.pool_instruction(client);
        let stake = self.stake_instruction(&self.operator, &self.operator_tokens, devices);
        expect_landed(
            client
                .send(&[pool, stake], &[&self.authority, &self.operator])
                .await?,
        )?;
        Ok(())
    }

    /// Opens the network's stake pool alone (as [`Network::open_stake`] does).
    pub async fn open_pool(&self, client: &Client) -> Result<(), ClientError> {
        let pool = self.pool_instruction(client);
        expect_landed(client.send(&[pool], &[&self.authority]).await?)?;
        Ok(())
    }

    /// Stakes `devices` devices' worth of `operator`'s network tokens in the open pool.
    pub async fn stake_for(
        &self,
        client: &Client,
        operator: &Operator,
        devices: u64,
    ) -> Result<(), ClientError> {
        let stake = self.stake_instruction(&operator.wallet, &operator.tokens, devices);
        expect_landed(client.send(&[stake], &[&operator.wallet]).await?)?;
        Ok(())
    }

    /// The instruction bonding `operator`'s `device` to its stake (signed by the operator).
    pub fn bond_for(&self, operator: &Keypair, device: &Keypair) -> Instruction {
        depin_sdk::staking::bond_device(&operator.pubkey(), &self.network, &self.device(device))
    }

    fn stake_instruction(&self, operator: &Keypair, tokens: &Pubkey, devices: u64) -> Instruction {
        depin_sdk::staking::stake(
            &operator.pubkey(),
            &self.network,
            &self.token,
            tokens,
            STAKE_PER_DEVICE.saturating_mul(devices),
        )
    }

    fn pool_instruction(&self, client: &Client) -> Instruction {
        depin_sdk::staking::initialize_pool(
            &client.payer(),
            &self.authority.pubkey(),
            &self.network,
            &self.token,
            &self.treasury,
            &self.treasury,
            InitializePoolArgs {
                min_stake_per_device: STAKE_PER_DEVICE,
                cooldown_secs: 60,
                slash_authority: self.authority.pubkey(),
            },
        )
    }

    /// The instruction bonding the operator's `device` to its stake (signed by the operator).
    pub fn bond(&self, device: &Keypair) -> Instruction {
        self.bond_for(&self.operator, device)
    }

    /// Configures the network's rewards: `schedule`, epochs of `epoch_secs` from
    /// `genesis_ts`, `oracles` with `quorum`. The reward mint's authority moves to the config.
    pub async fn enable_rewards(
        &self,
        client: &Client,
        schedule: Schedule,
        epoch_secs: u64,
        genesis_ts: i64,
        oracles: Vec<Pubkey>,
        quorum: u8,
    ) -> Result<(), ClientError> {
        let ix = depin_sdk::rewards::initialize_rewards(
            &client.payer(),
            &self.authority.pubkey(),
            &self.network,
            &self.reward_token(),
            &self.mint_authority.pubkey(),
            InitializeRewardsArgs {
                schedule,
                epoch_duration_secs: epoch_secs,
                genesis_ts,
                oracles,
                quorum,
            },
        );
        expect_landed(
            client
                .send(&[ix], &[&self.authority, &self.mint_authority])
                .await?,
        )?;
        Ok(())
    }

    /// The reward mint and its token program.
    pub fn reward_token(&self) -> RewardToken {
        RewardToken {
            mint: self.reward_mint,
            token_program: spl_token::ID,
        }
    }

    /// The `Device` account of `device`.
    pub fn device(&self, device: &Keypair) -> Pubkey {
        pda::device(&self.network, &device.pubkey()).0
    }
}
