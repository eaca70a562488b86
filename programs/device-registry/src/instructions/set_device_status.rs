use anchor_lang::prelude::*;
use depin_core::status::{self, Caller};

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
    /// The device whose status changes (a decommissioned one is refused by the rule).
    #[account(mut, dup, has_one = network)]
    pub device: Account<'info, Device>,
}

/// Applies the transition the signer is entitled to and emits [`DeviceStatusChanged`].
/// The rule is [`depin_core::status::set_status`], shared with the ink! registry:
///
/// | signer    | from      | to             | while paused |
/// |-----------|-----------|----------------|--------------|
/// | authority | Active    | Suspended      | yes          |
/// | authority | Suspended | Active         | yes          |
/// | authority | SuspendedByAuditor | Active (reverses the auditor) or Suspended (takes it over) | yes |
/// | owner     | any but Decommissioned | Decommissioned | no |
///
/// The authority may act during a pause because suspending a device is an incident tool.
/// Refusals, in order: `DeviceDecommissioned`, `StatusChangeUnauthorized`, `NetworkPaused`,
/// `InvalidStatusTransition`.
pub fn handler(ctx: Context<SetDeviceStatus>, status: DeviceStatus) -> Result<()> {
    let signer = ctx.accounts.signer.key();
    let network = &ctx.accounts.network;
    let device = &mut ctx.accounts.device;
    let previous_status = device.status;

    let caller = Caller {
        authority: signer == network.authority,
        owner: signer == device.owner,
    };
    let status: DeviceStatus = status::set_status(
        caller,
        previous_status.into(),
        status.into(),
        network.paused,
    )
    .map_err(RegistryError::from)?
    .into();

    device.status = status;
    emit_cpi!(DeviceStatusChanged {
        device: device.key(),
        changed_by: signer,
        previous_status,
        status,
        timestamp: Clock::get()?.unix_timestamp,
    });
    Ok(())
}
