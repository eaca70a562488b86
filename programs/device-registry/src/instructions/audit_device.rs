use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::{DeviceAudited, DeviceStatusChanged};
use crate::state::{Device, DeviceStatus, Network};

/// Arguments of `audit_device`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditDeviceArgs {
    /// `Suspended` or `Active` (reinstated).
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
    /// The device suspended or reinstated.
    #[account(
        mut,
        dup,
        has_one = network,
        constraint = device.status != DeviceStatus::Decommissioned
            @ RegistryError::DeviceDecommissioned,
    )]
    pub device: Account<'info, Device>,
}

/// Suspends an active device or reinstates a suspended one, as the authority can with
/// `set_device_status` (which also reverses what the auditor did), and records the evidence:
/// emits [`DeviceStatusChanged`] (what every reader of statuses follows) and
/// [`DeviceAudited`] (who, why). A suspended device cannot claim rewards.
pub fn handler(ctx: Context<AuditDevice>, args: AuditDeviceArgs) -> Result<()> {
    require!(args.evidence != [0; 32], RegistryError::MissingEvidence);
    let device = &mut ctx.accounts.device;
    let previous_status = device.status;
    require!(
        matches!(args.status, DeviceStatus::Active | DeviceStatus::Suspended)
            && args.status != previous_status,
        RegistryError::InvalidStatusTransition
    );
    device.status = args.status;
    let auditor = ctx.accounts.auditor.key();
    emit_cpi!(DeviceStatusChanged {
        device: device.key(),
        changed_by: auditor,
        previous_status,
        status: args.status,
    });
    emit_cpi!(DeviceAudited {
        device: device.key(),
        network: ctx.accounts.network.key(),
        auditor,
        previous_status,
        status: args.status,
        evidence: args.evidence,
    });
    Ok(())
}
