use anchor_lang::prelude::*;
use device_registry::state::{Device, Network};

use crate::error::StakingError;
use crate::events::DeviceBonded;
use crate::state::{DeviceBond, StakePool, StakePosition};

/// Accounts of `bond_device`.
#[event_cpi]
#[derive(Accounts)]
pub struct BondDevice<'info> {
    /// The device's owner and staker; pays the bond's rent.
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The pool's network.
    #[account(constraint = !network.paused @ StakingError::NetworkPaused)]
    pub network: Box<Account<'info, Network>>,
    /// The pool.
    #[account(
        has_one = network @ StakingError::WrongNetwork,
    )]
    pub pool: Box<Account<'info, StakePool>>,
    /// The owner's position; its active stake must cover one more device.
    #[account(
        mut,
        dup,
        has_one = pool @ StakingError::PositionMismatch,
        has_one = owner @ StakingError::PositionMismatch,
    )]
    pub position: Box<Account<'info, StakePosition>>,
    /// The registry device to bond (owner-checked: must belong to the registry).
    #[account(
        constraint = device.network == network.key() @ StakingError::WrongNetwork,
        constraint = device.owner == owner.key() @ StakingError::NotDeviceOwner,
        constraint = device.is_active() @ StakingError::DeviceNotActive,
    )]
    pub device: Box<Account<'info, Device>>,
    /// The new bond; one per device and pool.
    /// CHECK: the handler creates it at the canonical address of `["bond", pool, device]`
    // (`ConstraintSeeds` for any other address) and refuses an address that is already an
    // account (`DeviceAlreadyBonded`).
    #[account(mut)]
    pub bond: UncheckedAccount<'info>,
    /// System program, to create the bond.
    pub system_program: Program<'info, System>,
}

/// Checks `active >= (devices_bonded + 1) * min_stake_per_device`, writes the bond and emits
/// [`DeviceBonded`].
pub fn handler(ctx: Context<BondDevice>) -> Result<()> {
    let position = &mut ctx.accounts.position;
    depin_core::stake::can_bond(
        position.amount,
        position.devices_bonded,
        ctx.accounts.pool.min_stake_per_device,
    )
    .map_err(StakingError::from)?;
    position.devices_bonded = position
        .devices_bonded
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;

    let pool_key = ctx.accounts.pool.key();
    let device_key = ctx.accounts.device.key();
    let bond_info = ctx.accounts.bond.to_account_info();
    let bump = pda_create::create_pda_account(
        &ctx.accounts.owner.to_account_info(),
        &bond_info,
        DeviceBond::SIZE,
        &crate::ID,
        &crate::ID,
        &[DeviceBond::SEED, pool_key.as_ref(), device_key.as_ref()],
        StakingError::DeviceAlreadyBonded,
    )?;
    let bond = DeviceBond {
        pool: pool_key,
        device: device_key,
        position: position.key(),
        staker: ctx.accounts.owner.key(),
        bonded_at: Clock::get()?.unix_timestamp,
        bump,
    };
    pda_create::write_account(&bond_info, &bond)?;
    emit_cpi!(DeviceBonded {
        pool: bond.pool,
        bond: bond_info.key(),
        device: bond.device,
        position: bond.position,
        staker: bond.staker,
        devices_bonded: position.devices_bonded,
    });
    Ok(())
}
