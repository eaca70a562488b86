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
    pub network: Account<'info, Network>,
    /// The pool.
    #[account(
        seeds = [StakePool::SEED, network.key().as_ref()],
        bump = pool.bump,
        has_one = network,
    )]
    pub pool: Account<'info, StakePool>,
    /// The owner's position; its active stake must cover one more device.
    #[account(
        mut,
        seeds = [StakePosition::SEED, pool.key().as_ref(), owner.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Account<'info, StakePosition>,
    /// The registry device to bond (owner-checked: must belong to the registry).
    #[account(
        constraint = device.network == network.key() @ StakingError::WrongNetwork,
        constraint = device.owner == owner.key() @ StakingError::NotDeviceOwner,
        constraint = device.is_active() @ StakingError::DeviceNotActive,
    )]
    pub device: Account<'info, Device>,
    /// The new bond; one per device and pool.
    /// CHECK: the seeds pin the address; the handler creates the account and refuses an
    /// address that is already an account (`DeviceAlreadyBonded`).
    #[account(
        mut,
        seeds = [DeviceBond::SEED, pool.key().as_ref(), device.key().as_ref()],
        bump,
    )]
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
    pda_create::create_pda_account(
        &ctx.accounts.owner.to_account_info(),
        &bond_info,
        DeviceBond::SIZE,
        &crate::ID,
        &[
            DeviceBond::SEED,
            pool_key.as_ref(),
            device_key.as_ref(),
            &[ctx.bumps.bond],
        ],
        StakingError::DeviceAlreadyBonded,
    )?;
    let bond = DeviceBond {
        pool: pool_key,
        device: device_key,
        position: position.key(),
        staker: ctx.accounts.owner.key(),
        bonded_at: Clock::get()?.unix_timestamp,
        bump: ctx.bumps.bond,
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
