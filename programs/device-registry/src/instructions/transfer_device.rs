use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::DeviceTransferred;
use crate::state::{Device, DeviceStatus, Network};

/// Accounts of `transfer_device`.
#[event_cpi]
#[derive(Accounts)]
pub struct TransferDevice<'info> {
    /// The current owner.
    pub owner: Signer<'info>,
    /// The device's network.
    #[account(
        constraint = !network.paused @ RegistryError::NetworkPaused,
    )]
    pub network: Account<'info, Network>,
    /// The device that changes hands.
    #[account(
        mut,
        dup,
        has_one = network,
        has_one = owner @ RegistryError::NotDeviceOwner,
        constraint = device.status != DeviceStatus::Decommissioned
            @ RegistryError::DeviceDecommissioned,
    )]
    pub device: Account<'info, Device>,
}

/// Records the new owner and emits [`DeviceTransferred`]. A bond in the staking program stays
/// with the old owner's stake until one of them unbonds it; rewards check that the bond's
/// staker is the current owner.
pub fn handler(ctx: Context<TransferDevice>, new_owner: Pubkey) -> Result<()> {
    let device = &mut ctx.accounts.device;
    require!(
        new_owner != device.owner && new_owner != Pubkey::default(),
        RegistryError::InvalidNewOwner
    );
    require_keys_neq!(
        new_owner,
        device.device_key,
        RegistryError::DeviceKeyIsOwner
    );
    let previous_owner = device.owner;
    device.owner = new_owner;
    emit_cpi!(DeviceTransferred {
        device: device.key(),
        previous_owner,
        new_owner,
    });
    Ok(())
}
