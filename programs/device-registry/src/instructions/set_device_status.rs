use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::DeviceStatusChanged;
use crate::state::{Device, DeviceStatus, Network};

/// Accounts of `set_device_status`.
#[event_cpi]
#[derive(Accounts)]
pub struct SetDeviceStatus<'info> {
    /// The network authority (suspend / reactivate) or the device owner (decommission).
    pub signer: Signer<'info>,
    /// The device's network.
    pub network: Account<'info, Network>,
    /// The device whose status changes.
    #[account(
        mut,
        dup,
        has_one = network,
        constraint = device.status != DeviceStatus::Decommissioned
            @ RegistryError::DeviceDecommissioned,
    )]
    pub device: Account<'info, Device>,
}

/// Applies the transition the signer is entitled to and emits [`DeviceStatusChanged`]:
///
/// | signer    | from      | to             | while paused |
/// |-----------|-----------|----------------|--------------|
/// | authority | Active    | Suspended      | yes          |
/// | authority | Suspended | Active         | yes          |
/// | authority | SuspendedByAuditor | Active (reverses the auditor) or Suspended (takes it over) | yes |
/// | owner     | any but Decommissioned | Decommissioned | no |
///
/// The authority may act during a pause because suspending a device is an incident tool.
pub fn handler(ctx: Context<SetDeviceStatus>, status: DeviceStatus) -> Result<()> {
    let signer = ctx.accounts.signer.key();
    let network = &ctx.accounts.network;
    let device = &mut ctx.accounts.device;
    let previous_status = device.status;

    let is_authority = signer == network.authority;
    let is_owner = signer == device.owner;
    require!(
        is_authority || is_owner,
        RegistryError::StatusChangeUnauthorized
    );
    let allowed = match status {
        DeviceStatus::Active | DeviceStatus::Suspended => is_authority && status != previous_status,
        // only the auditor's own instruction puts a device there
        DeviceStatus::SuspendedByAuditor => false,
        DeviceStatus::Decommissioned => {
            if is_owner {
                network.require_not_paused()?;
            }
            is_owner
        }
    };
    require!(allowed, RegistryError::InvalidStatusTransition);

    device.status = status;
    emit_cpi!(DeviceStatusChanged {
        device: device.key(),
        changed_by: signer,
        previous_status,
        status,
    });
    Ok(())
}
