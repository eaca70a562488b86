use anchor_lang::prelude::*;
use device_registry::state::{Device, Network};

use crate::error::RewardsError;
use crate::events::ClaimedOpened;
use crate::state::{Claimed, RewardsConfig};

/// Accounts of `open_claimed`. Anyone may send it (the device's owner, a claim cranker) and
/// pays the record's rent; a device needs it once, before its first claim.
#[event_cpi]
#[derive(Accounts)]
pub struct OpenClaimed<'info> {
    /// Pays the `Claimed` account's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ RewardsError::NetworkPaused)]
    pub network: Box<Account<'info, Network>>,
    /// The network's rewards config.
    #[account(has_one = network @ RewardsError::WrongNetwork)]
    pub config: Box<Account<'info, RewardsConfig>>,
    /// A registry device of the network (owner-checked: must belong to the registry).
    #[account(constraint = device.network == network.key() @ RewardsError::WrongNetwork)]
    pub device: Box<Account<'info, Device>>,
    /// The new record.
    /// CHECK: the handler creates it at the canonical address of `["claimed", config,
    // device]` (`ConstraintSeeds` for any other address), or fails with
    // `ClaimedAlreadyOpen`.
    #[account(mut)]
    pub claimed: UncheckedAccount<'info>,
    /// System program, to create `claimed`.
    pub system_program: Program<'info, System>,
}

/// Creates the device's `Claimed` record (nothing claimed yet) and emits
/// [`ClaimedOpened`]. Creating it here, once, keeps every `claim` free of account creation
/// and its bump search, so a claim costs the same whatever the device.
pub fn handler(ctx: Context<OpenClaimed>) -> Result<()> {
    let config = ctx.accounts.config.key();
    let device = ctx.accounts.device.key();
    let claimed_info = ctx.accounts.claimed.to_account_info();
    let bump = pda_create::create_pda_account(
        &ctx.accounts.payer.to_account_info(),
        &claimed_info,
        Claimed::SIZE,
        &crate::ID,
        &crate::ID,
        &[Claimed::SEED, config.as_ref(), device.as_ref()],
        RewardsError::ClaimedAlreadyOpen,
    )?;
    let claimed = Claimed {
        config,
        device,
        total_claimed: 0,
        last_epoch: 0,
        bump,
    };
    pda_create::write_account(&claimed_info, &claimed)?;
    emit_cpi!(ClaimedOpened {
        config,
        device,
        claimed: claimed_info.key(),
    });
    Ok(())
}
