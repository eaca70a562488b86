use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::error::RegistryError;
use crate::events::LocationAsserted;
use crate::state::{Device, Network};

/// Accounts of `assert_location`.
#[event_cpi]
#[derive(Accounts)]
pub struct AssertLocation<'info> {
    /// The device's owner; pays the location fee.
    pub owner: Signer<'info>,
    /// The device's network.
    #[account(
        constraint = !network.paused @ RegistryError::NetworkPaused,
    )]
    pub network: Account<'info, Network>,
    /// The device that moves.
    #[account(
        mut,
        dup,
        has_one = network,
        has_one = owner @ RegistryError::NotDeviceOwner,
        constraint = device.is_active() @ RegistryError::DeviceNotActive,
    )]
    pub device: Account<'info, Device>,
    /// The network's fee mint.
    #[account(address = network.fee_mint @ RegistryError::WrongFeeMint)]
    pub fee_mint: InterfaceAccount<'info, Mint>,
    /// The owner's token account the fee comes from.
    #[account(mut, dup, token::mint = fee_mint, token::authority = owner)]
    pub owner_fee_account: InterfaceAccount<'info, TokenAccount>,
    /// The network's treasury.
    #[account(mut, dup, address = network.treasury)]
    pub treasury: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the fee mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Validates the H3 cell, charges the fee, records the location and emits
/// [`LocationAsserted`].
pub fn handler(ctx: Context<AssertLocation>, location: u64) -> Result<()> {
    depin_core::h3::validate_cell(location).map_err(|_| RegistryError::InvalidLocation)?;
    let fee = ctx.accounts.network.location_fee;
    token_vault::pay_from_signer(
        &ctx.accounts.owner_fee_account.to_account_info(),
        &ctx.accounts.fee_mint,
        &ctx.accounts.treasury.to_account_info(),
        &ctx.accounts.owner.to_account_info(),
        &ctx.accounts.token_program,
        fee,
    )?;
    let now = Clock::get()?.unix_timestamp;
    let device = &mut ctx.accounts.device;
    let previous_location = device.location.replace(location);
    device.location_changed_at = now;
    emit_cpi!(LocationAsserted {
        device: device.key(),
        owner: device.owner,
        previous_location,
        location,
        fee_paid: fee,
        timestamp: now,
    });
    Ok(())
}
