use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::Network;

use crate::error::StakingError;
use crate::events::PoolInitialized;
use crate::state::StakePool;

/// Arguments of `initialize_pool`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializePoolArgs {
    /// Active stake each bonded device requires.
    pub min_stake_per_device: u64,
    /// Seconds between `request_unstake` and the earliest `withdraw`.
    pub cooldown_secs: u64,
    /// Key allowed to slash.
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
    /// CHECK: the seeds pin the address; the handler creates the account and refuses a
    /// second pool (`PoolAlreadyExists`).
    #[account(mut, seeds = [StakePool::SEED, network.key().as_ref()], bump)]
    pub pool: UncheckedAccount<'info>,
    /// Mint of the staked token.
    pub stake_mint: InterfaceAccount<'info, Mint>,
    /// The pool's vault: a token account of the stake mint whose authority is the pool PDA.
    /// CHECK: the seeds pin the address; the handler creates and initialises it through the
    /// token program.
    #[account(mut, seeds = [StakePool::VAULT_SEED, pool.key().as_ref()], bump)]
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
    let network_key = ctx.accounts.network.key();
    let payer = ctx.accounts.payer.to_account_info();
    let pool_info = ctx.accounts.pool.to_account_info();
    let vault_info = ctx.accounts.vault.to_account_info();
    pda_create::create_pda_account(
        &payer,
        &pool_info,
        StakePool::SIZE,
        &crate::ID,
        &[StakePool::SEED, network_key.as_ref(), &[ctx.bumps.pool]],
        StakingError::PoolAlreadyExists,
    )?;
    token_vault::create_vault(
        &payer,
        &vault_info,
        &ctx.accounts.stake_mint.to_account_info(),
        &pool_info,
        &ctx.accounts.token_program,
        &[
            StakePool::VAULT_SEED,
            pool_info.key.as_ref(),
            &[ctx.bumps.vault],
        ],
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
        bump: ctx.bumps.pool,
        vault_bump: ctx.bumps.vault,
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
