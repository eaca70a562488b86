use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022::instruction::AuthorityType;
use anchor_spl::token_interface::{self, Mint, SetAuthority, TokenInterface};
use device_registry::state::Network;

use super::pack_oracles;
use crate::error::RewardsError;
use crate::events::RewardsInitialized;
use crate::state::{RewardsConfig, Schedule};

/// Arguments of `initialize_rewards`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializeRewardsArgs {
    /// Emission schedule.
    pub schedule: Schedule,
    /// Epoch length in seconds, 1 to `depin_core::epoch::MAX_DURATION_SECS` (366 days).
    pub epoch_duration_secs: u64,
    /// Unix time at which epoch 0 starts: not negative, and at most
    /// `depin_core::epoch::MAX_GENESIS_LEAD_SECS` (366 days) after initialization.
    pub genesis_ts: i64,
    /// Oracle keys (1 to 11, distinct).
    pub oracles: Vec<Pubkey>,
    /// Identical proposals needed to finalize an epoch (a majority of `oracles`).
    pub quorum: u8,
}

/// Accounts of `initialize_rewards`.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeRewards<'info> {
    /// Pays the config's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The registry network.
    #[account(
        has_one = authority @ RewardsError::NotNetworkAuthority,
        constraint = !network.paused @ RewardsError::NetworkPaused,
    )]
    pub network: Account<'info, Network>,
    /// The new config.
    /// CHECK: the handler creates it at the canonical address of `["rewards", network]`
    // (`ConstraintSeeds` for any other address) and refuses a second one
    // (`RewardsAlreadyInitialized`).
    #[account(mut)]
    pub config: UncheckedAccount<'info>,
    /// The network's reward mint; its mint authority moves to `config`.
    #[account(mut, dup, address = network.reward_mint @ RewardsError::RewardMintMismatch)]
    pub reward_mint: InterfaceAccount<'info, Mint>,
    /// The reward mint's current mint authority.
    pub mint_authority: Signer<'info>,
    /// Token program of the reward mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program, to create `config`.
    pub system_program: Program<'info, System>,
}

/// Validates the schedule and oracles, creates the config, hands it the mint authority and
/// emits [`RewardsInitialized`].
pub fn handler(ctx: Context<InitializeRewards>, args: InitializeRewardsArgs) -> Result<()> {
    depin_core::emission::EmissionSchedule::from(args.schedule)
        .validate()
        .map_err(|_| RewardsError::InvalidSchedule)?;
    depin_core::epoch::validate_duration(args.epoch_duration_secs)
        .map_err(|_| RewardsError::InvalidEpochDuration)?;
    depin_core::epoch::validate_genesis(args.genesis_ts, Clock::get()?.unix_timestamp)
        .map_err(|_| RewardsError::InvalidGenesis)?;
    let oracles = pack_oracles(&args.oracles, args.quorum)?;

    let network_key = ctx.accounts.network.key();
    let config_info = ctx.accounts.config.to_account_info();
    let bump = pda_create::create_pda_account(
        &ctx.accounts.payer.to_account_info(),
        &config_info,
        RewardsConfig::SIZE,
        &crate::ID,
        &crate::ID,
        &[RewardsConfig::SEED, network_key.as_ref()],
        RewardsError::RewardsAlreadyInitialized,
    )?;
    let config = RewardsConfig {
        network: network_key,
        reward_mint: ctx.accounts.reward_mint.key(),
        schedule: args.schedule,
        epoch_duration_secs: args.epoch_duration_secs,
        genesis_ts: args.genesis_ts,
        oracles,
        // validated above: at most 11
        oracle_count: u8::try_from(args.oracles.len())
            .map_err(|_| RewardsError::InvalidOracleSet)?,
        quorum: args.quorum,
        oracle_set_version: 0,
        total_minted: 0,
        latest_finalized_epoch: None,
        latest_finalized_total: 0,
        latest_finalized_root: [0; 32],
        bump,
    };
    pda_create::write_account(&config_info, &config)?;

    token_interface::set_authority(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            SetAuthority {
                current_authority: ctx.accounts.mint_authority.to_account_info(),
                account_or_mint: ctx.accounts.reward_mint.to_account_info(),
            },
        ),
        AuthorityType::MintTokens,
        Some(config_info.key()),
    )?;

    emit_cpi!(RewardsInitialized {
        config: config_info.key(),
        network: network_key,
        reward_mint: config.reward_mint,
        schedule: args.schedule,
        epoch_duration_secs: args.epoch_duration_secs,
        genesis_ts: args.genesis_ts,
        oracles: args.oracles,
        quorum: args.quorum,
    });
    Ok(())
}
