use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::AuditorSet;
use crate::state::Network;

/// Accounts of `set_auditor`. Allowed while paused (authority housekeeping).
#[event_cpi]
#[derive(Accounts)]
pub struct SetAuditor<'info> {
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The network whose auditor changes.
    #[account(
        mut,
        dup,
        has_one = authority @ RegistryError::NotNetworkAuthority,
    )]
    pub network: Account<'info, Network>,
}

/// Names (`Some`), rotates or removes (`None`) the network's auditor and emits
/// [`AuditorSet`]. The default key is refused (`InvalidAuthority`): it would read as "no
/// auditor" to a careless client while still being a key.
pub fn handler(ctx: Context<SetAuditor>, auditor: Option<Pubkey>) -> Result<()> {
    require!(
        auditor != Some(Pubkey::default()),
        RegistryError::InvalidAuthority
    );
    let network = &mut ctx.accounts.network;
    let previous = network.auditor;
    network.auditor = auditor;
    emit_cpi!(AuditorSet {
        network: network.key(),
        previous,
        auditor,
    });
    Ok(())
}
