use anchor_lang::prelude::*;
use device_registry::state::Network;

use crate::error::StakingError;
use crate::events::PoolUpdated;
use crate::state::StakePool;

/// Arguments of `update_pool`; `None` leaves a setting as it is. A higher minimum leaves
/// existing bonds in place and applies to the next bond and unstake; a position it leaves
/// short of `devices_bonded * minimum` earns no claims (`UnderCollateralized` in rewards)
/// until its owner stakes more or unbonds devices.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default)]
pub struct UpdatePoolArgs {
    /// New minimum active stake per bonded device (any amount, see `initialize_pool`).
    pub min_stake_per_device: Option<u64>,
    /// New cooldown, at most `depin_core::stake::MAX_COOLDOWN_SECS` (366 days); applies to
    /// unstake requests made from now on.
    pub cooldown_secs: Option<u64>,
    /// New slash authority (not the default key).
    pub slash_authority: Option<Pubkey>,
}

/// Accounts of `update_pool`. Allowed while paused (authority housekeeping).
#[event_cpi]
#[derive(Accounts)]
pub struct UpdatePool<'info> {
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The pool's network.
    #[account(has_one = authority @ StakingError::NotNetworkAuthority)]
    pub network: Account<'info, Network>,
    /// The pool to update.
    #[account(
        mut,
        dup,
        has_one = network @ StakingError::WrongNetwork,
    )]
    pub pool: Box<Account<'info, StakePool>>,
}

/// Applies the changes and emits [`PoolUpdated`].
pub fn handler(ctx: Context<UpdatePool>, args: UpdatePoolArgs) -> Result<()> {
    if let Some(cooldown) = args.cooldown_secs {
        depin_core::stake::validate_cooldown(cooldown).map_err(StakingError::from)?;
    }
    if let Some(authority) = args.slash_authority {
        require_keys_neq!(
            authority,
            Pubkey::default(),
            StakingError::InvalidSlashAuthority
        );
    }
    let pool = &mut ctx.accounts.pool;
    if let Some(min) = args.min_stake_per_device {
        pool.min_stake_per_device = min;
    }
    if let Some(cooldown) = args.cooldown_secs {
        pool.cooldown_secs = cooldown;
    }
    if let Some(authority) = args.slash_authority {
        pool.slash_authority = authority;
    }
    emit_cpi!(PoolUpdated {
        pool: pool.key(),
        min_stake_per_device: pool.min_stake_per_device,
        cooldown_secs: pool.cooldown_secs,
        slash_authority: pool.slash_authority,
    });
    Ok(())
}
