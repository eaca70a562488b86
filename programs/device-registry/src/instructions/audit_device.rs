use anchor_lang::prelude::*;
use depin_core::status;

use crate::error::RegistryError;
use crate::events::{DeviceAudited, DeviceStatusChanged};
use crate::state::{Device, DeviceStatus, Network};

/// Arguments of `audit_device`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditDeviceArgs {
    /// `Suspended` to suspend an active device (it becomes `SuspendedByAuditor`), `Active`
    /// to reinstate one the auditor suspended.
    pub status: DeviceStatus,
    /// Hash of the evidence (the auditor's scores and their inputs); never all zeros.
    pub evidence: [u8; 32],
}

/// Accounts of `audit_device`. Allowed while paused: suspending a device is an incident tool.
#[event_cpi]
#[derive(Accounts)]
pub struct AuditDevice<'info> {
    /// The network's auditor.
    pub auditor: Signer<'info>,
    /// The device's network.
    #[account(
        constraint = network.auditor == Some(auditor.key()) @ RegistryError::NotNetworkAuditor,
    )]
    pub network: Account<'info, Network>,
    /// The device suspended or reinstated (a decommissioned one is refused by the rule).
    #[account(mut, dup, has_one = network)]
    pub device: Account<'info, Device>,
}

/// Suspends an active device (`Active` -> `SuspendedByAuditor`) or reinstates one the
/// auditor suspended (`SuspendedByAuditor` -> `Active`), and records the evidence: emits
/// [`DeviceStatusChanged`] (what every reader of statuses follows) and [`DeviceAudited`]
/// (who, why). A suspended device cannot claim rewards. The auditor never touches a device
/// the authority suspended: its suspension stands until the authority lifts it, and the
/// authority can reverse (or take over) the auditor's with `set_device_status`.
///
/// The rule is [`depin_core::status::audit`], shared with the ink! registry. Refusals
/// after the auditor check, in order: `DeviceDecommissioned`, `MissingEvidence`,
/// `InvalidStatusTransition`.
pub fn handler(ctx: Context<AuditDevice>, args: AuditDeviceArgs) -> Result<()> {
    let paused = ctx.accounts.network.paused;
    let device = &mut ctx.accounts.device;
    let previous_status = device.status;
    let status: DeviceStatus = status::audit(
        previous_status.into(),
        args.status.into(),
        &args.evidence,
        paused,
    )
    .map_err(RegistryError::from)?
    .into();
    device.status = status;
    let auditor = ctx.accounts.auditor.key();
    emit_cpi!(DeviceStatusChanged {
        device: device.key(),
        changed_by: auditor,
        previous_status,
        status,
        timestamp: Clock::get()?.unix_timestamp,
    });
    emit_cpi!(DeviceAudited {
        device: device.key(),
        network: ctx.accounts.network.key(),
        auditor,
        previous_status,
        status,
        evidence: args.evidence,
    });
    Ok(())
}
