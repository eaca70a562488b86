use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::MakerApprovalSet;
use crate::state::{Maker, Network};

/// Arguments of `set_maker_approval`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SetMakerApprovalArgs {
    /// Whether the maker may onboard devices.
    pub approved: bool,
    /// Most devices the maker may ever onboard. Lowering it below `devices_onboarded` stops
    /// further onboarding without touching existing devices.
    pub device_quota: u32,
}

/// Accounts of `set_maker_approval`. Allowed while paused, so that a compromised maker can be
/// revoked during an incident.
#[event_cpi]
#[derive(Accounts)]
pub struct SetMakerApproval<'info> {
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The maker's network.
    #[account(
        has_one = authority @ RegistryError::NotNetworkAuthority,
    )]
    pub network: Account<'info, Network>,
    /// The maker to approve or revoke.
    #[account(
        mut,
        dup,
        has_one = network,
    )]
    pub maker: Account<'info, Maker>,
}

/// Sets approval and quota and emits [`MakerApprovalSet`].
pub fn handler(ctx: Context<SetMakerApproval>, args: SetMakerApprovalArgs) -> Result<()> {
    let maker = &mut ctx.accounts.maker;
    maker.approved = args.approved;
    maker.device_quota = args.device_quota;
    emit_cpi!(MakerApprovalSet {
        network: maker.network,
        maker: maker.key(),
        approved: args.approved,
        device_quota: args.device_quota,
    });
    Ok(())
}
