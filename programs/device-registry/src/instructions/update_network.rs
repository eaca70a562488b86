use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenAccount;

use crate::error::RegistryError;
use crate::events::NetworkUpdated;
use crate::state::Network;

/// Arguments of `update_network`; `None` leaves a setting as it is.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default)]
pub struct UpdateNetworkArgs {
    /// New onboarding fee.
    pub onboarding_fee: Option<u64>,
    /// New location fee.
    pub location_fee: Option<u64>,
    /// Pause (`true`) or resume (`false`) the network.
    pub paused: Option<bool>,
}

/// Accounts of `update_network`. Allowed while paused: it is how a network resumes.
#[event_cpi]
#[derive(Accounts)]
pub struct UpdateNetwork<'info> {
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The network to update.
    #[account(
        mut,
        dup,
        has_one = authority @ RegistryError::NotNetworkAuthority,
    )]
    pub network: Account<'info, Network>,
    /// New treasury, when it changes: a token account of the network's fee mint.
    #[account(constraint = new_treasury.mint == network.fee_mint @ RegistryError::WrongFeeMint)]
    pub new_treasury: Option<InterfaceAccount<'info, TokenAccount>>,
}

/// Applies the changes and emits [`NetworkUpdated`] with the settings now in force; a
/// resume records its time (`Network::resumed_at`).
pub fn handler(ctx: Context<UpdateNetwork>, args: UpdateNetworkArgs) -> Result<()> {
    let network = &mut ctx.accounts.network;
    if let Some(fee) = args.onboarding_fee {
        network.onboarding_fee = fee;
    }
    if let Some(fee) = args.location_fee {
        network.location_fee = fee;
    }
    if let Some(paused) = args.paused {
        if network.paused && !paused {
            network.resumed_at = Clock::get()?.unix_timestamp;
        }
        network.paused = paused;
    }
    if let Some(treasury) = &ctx.accounts.new_treasury {
        network.treasury = treasury.key();
    }
    emit_cpi!(NetworkUpdated {
        network: network.key(),
        treasury: network.treasury,
        onboarding_fee: network.onboarding_fee,
        location_fee: network.location_fee,
        paused: network.paused,
    });
    Ok(())
}
