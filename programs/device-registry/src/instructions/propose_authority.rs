use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::AuthorityProposed;
use crate::state::Network;

/// Accounts of `propose_authority`. Allowed while paused.
#[event_cpi]
#[derive(Accounts)]
pub struct ProposeAuthority<'info> {
    /// The current authority.
    pub authority: Signer<'info>,
    /// The network whose authority rotates.
    #[account(
        mut,
        dup,
        has_one = authority @ RegistryError::NotNetworkAuthority,
    )]
    pub network: Account<'info, Network>,
}

/// Records `new_authority` as pending (replacing any earlier proposal) and emits
/// [`AuthorityProposed`]. Nothing changes hands until the successor accepts.
pub fn handler(ctx: Context<ProposeAuthority>, new_authority: Pubkey) -> Result<()> {
    require_keys_neq!(
        new_authority,
        Pubkey::default(),
        RegistryError::InvalidAuthority
    );
    let network = &mut ctx.accounts.network;
    network.pending_authority = Some(new_authority);
    emit_cpi!(AuthorityProposed {
        network: network.key(),
        authority: network.authority,
        pending_authority: new_authority,
    });
    Ok(())
}
