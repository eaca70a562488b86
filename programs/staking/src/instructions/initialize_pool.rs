use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::Network;

use crate::error::StakingError;
use crate::events::PoolInitialized;
use crate::state::StakePool;

/// Arguments of `initialize_pool`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializePoolArgs {
    /// Active stake each bonded device requires. Any amount: requirements are computed
    /// exactly in `u128`, so no minimum can make unstaking overflow, and a position without
    /// bonds can always leave.
    pub min_stake_per_device: u64,
    /// Seconds between `request_unstake` and the earliest `withdraw`, at most
    /// `depin_core::stake::MAX_COOLDOWN_SECS` (366 days).
    pub cooldown_secs: u64,
    /// Key allowed to slash (not the default key).
    pub slash_authority: Pubkey,
}

/// Accounts of `initialize_pool`.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializePool<'info> {
    /// Pays the rent of the pool and its vault.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The registry network the pool backs (owner-checked: must belong to the registry).
    #[account(
        has_one = authority @ StakingError::NotNetworkAuthority,
        constraint = !network.paused @ StakingError::NetworkPaused,
    )]
    pub network: Account<'info, Network>,
    /// The new pool.
    /// CHECK: the handler creates it at the canonical address of `["stake_pool", network]`
    // (`ConstraintSeeds` for any other address) and refuses a second pool
    // (`PoolAlreadyExists`).
    #[account(mut)]
    pub pool: UncheckedAccount<'info>,
    /// Mint of the staked token.
    pub stake_mint: InterfaceAccount<'info, Mint>,
    /// The pool's vault: a token account of the stake mint whose authority is the pool PDA.
    /// CHECK: the handler creates it at the canonical address of `["vault", pool]`
    // (`ConstraintSeeds` for any other address) and initialises it through the token
    // program.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// The network's treasury (its owner must also own `treasury`).
    #[account(address = network.treasury)]
    pub network_treasury: InterfaceAccount<'info, TokenAccount>,
    /// Stake-mint account that receives slashed stake.
    #[account(
        constraint = treasury.mint == stake_mint.key() @ StakingError::WrongStakeMint,
        constraint = treasury.owner == network_treasury.owner @ StakingError::TreasuryMismatch,
    )]
    pub treasury: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the stake mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Creates the pool and its vault and emits [`PoolInitialized`].
pub fn handler(ctx: Context<InitializePool>, args: InitializePoolArgs) -> Result<()> {
    depin_core::stake::validate_cooldown(args.cooldown_secs).map_err(StakingError::from)?;
    require_keys_neq!(
        args.slash_authority,
        Pubkey::default(),
        StakingError::InvalidSlashAuthority
    );
    let network_key = ctx.accounts.network.key();
    let payer = ctx.accounts.payer.to_account_info();
    let pool_info = ctx.accounts.pool.to_account_info();
    let vault_info = ctx.accounts.vault.to_account_info();
    let bump = pda_create::create_pda_account(
        &payer,
        &pool_info,
        StakePool::SIZE,
        &crate::ID,
        &crate::ID,
        &[StakePool::SEED, network_key.as_ref()],
        StakingError::PoolAlreadyExists,
    )?;
    let vault_bump = token_vault::create_vault(
        &payer,
        &vault_info,
        &ctx.accounts.stake_mint.to_account_info(),
        &pool_info,
        &ctx.accounts.token_program,
        &crate::ID,
        &[StakePool::VAULT_SEED, pool_info.key.as_ref()],
        StakingError::PoolAlreadyExists,
    )?;

    let pool = StakePool {
        network: network_key,
        stake_mint: ctx.accounts.stake_mint.key(),
        vault: ctx.accounts.vault.key(),
        treasury: ctx.accounts.treasury.key(),
        min_stake_per_device: args.min_stake_per_device,
        cooldown_secs: args.cooldown_secs,
        slash_authority: args.slash_authority,
        total_staked: 0,
        total_pending: 0,
        total_slashed: 0,
        bump,
        vault_bump,
    };
    pda_create::write_account(&pool_info, &pool)?;
    emit_cpi!(PoolInitialized {
        pool: pool_info.key(),
        network: pool.network,
        stake_mint: pool.stake_mint,
        vault: pool.vault,
        treasury: pool.treasury,
        min_stake_per_device: args.min_stake_per_device,
        cooldown_secs: args.cooldown_secs,
        slash_authority: args.slash_authority,
    });
    Ok(())
}
