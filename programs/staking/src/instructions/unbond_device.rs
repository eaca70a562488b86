use anchor_lang::prelude::*;
use device_registry::state::Device;

use crate::error::StakingError;
use crate::events::DeviceUnbonded;
use crate::state::{DeviceBond, StakePool, StakePosition};

/// Accounts of `unbond_device`. Allowed while paused: it only reduces the signer's exposure.
#[event_cpi]
#[derive(Accounts)]
pub struct UnbondDevice<'info> {
    /// The bond's staker, or the device's current owner (after a transfer the new owner may
    /// free the device to bond it with their own stake).
    pub signer: Signer<'info>,
    /// The bond's staker; receives the bond's rent.
    /// CHECK: only receives lamports; pinned to `bond.staker` by the constraint.
    #[account(mut, address = bond.staker)]
    pub staker: UncheckedAccount<'info>,
    /// The pool.
    pub pool: Box<Account<'info, StakePool>>,
    /// The position that backs the device.
    #[account(mut, dup, address = bond.position)]
    pub position: Box<Account<'info, StakePosition>>,
    /// The bonded registry device.
    #[account(address = bond.device)]
    pub device: Box<Account<'info, Device>>,
    /// The bond to close.
    #[account(
        mut,
        dup,
        close = staker,
        has_one = pool @ StakingError::PositionMismatch,
        constraint = signer.key() == bond.staker || signer.key() == device.owner
            @ StakingError::NotBondParty,
    )]
    pub bond: Box<Account<'info, DeviceBond>>,
}

/// Releases the bond, returns its rent to the staker and emits [`DeviceUnbonded`].
pub fn handler(ctx: Context<UnbondDevice>) -> Result<()> {
    let position = &mut ctx.accounts.position;
    position.devices_bonded = position
        .devices_bonded
        .checked_sub(1)
        .ok_or(StakingError::MathOverflow)?;
    emit_cpi!(DeviceUnbonded {
        pool: ctx.accounts.pool.key(),
        bond: ctx.accounts.bond.key(),
        device: ctx.accounts.device.key(),
        position: position.key(),
        unbonded_by: ctx.accounts.signer.key(),
        devices_bonded: position.devices_bonded,
    });
    Ok(())
}
