use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::AuthorityAccepted;
use crate::state::Network;

/// Accounts of `accept_authority`. Allowed while paused.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthority<'info> {
    /// The proposed successor.
    pub new_authority: Signer<'info>,
    /// The network whose authority rotates.
    #[account(
        mut,
        dup,
        constraint = network.pending_authority == Some(new_authority.key())
            @ RegistryError::NotPendingAuthority,
    )]
    pub network: Account<'info, Network>,
}

/// Makes the successor the authority, clears the proposal and emits [`AuthorityAccepted`].
pub fn handler(ctx: Context<AcceptAuthority>) -> Result<()> {
    let network = &mut ctx.accounts.network;
    let previous_authority = network.authority;
    network.authority = ctx.accounts.new_authority.key();
    network.pending_authority = None;
    emit_cpi!(AuthorityAccepted {
        network: network.key(),
        previous_authority,
        authority: network.authority,
    });
    Ok(())
}
