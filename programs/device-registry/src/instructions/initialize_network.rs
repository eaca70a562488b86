use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::error::RegistryError;
use crate::events::NetworkInitialized;
use crate::state::{Network, NetworkKind};

/// Arguments of `initialize_network`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializeNetworkArgs {
    /// Identifier of the new network (part of its address).
    pub network_id: u32,
    /// What the network's devices do.
    pub kind: NetworkKind,
    /// Fee charged by `onboard_device`, in fee-mint base units.
    pub onboarding_fee: u64,
    /// Fee charged by `assert_location`, in fee-mint base units.
    pub location_fee: u64,
}

/// Accounts of `initialize_network`.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeNetwork<'info> {
    /// Pays the rent of the new account.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// Becomes the network's authority; signs so that nobody names an authority by mistake.
    pub authority: Signer<'info>,
    /// The new network.
    /// CHECK: the handler creates it at the canonical address of `["network", network_id]`
    // (`ConstraintSeeds` for any other address) and refuses an id that is taken
    // (`NetworkIdTaken`).
    #[account(mut)]
    pub network: UncheckedAccount<'info>,
    /// Mint of the network's rewards.
    pub reward_mint: InterfaceAccount<'info, Mint>,
    /// Mint in which fees are charged.
    pub fee_mint: InterfaceAccount<'info, Mint>,
    /// Token account of `fee_mint` that receives fees.
    #[account(constraint = treasury.mint == fee_mint.key() @ RegistryError::WrongFeeMint)]
    pub treasury: InterfaceAccount<'info, TokenAccount>,
    /// System program, to create `network`.
    pub system_program: Program<'info, System>,
}

/// Writes the new network and emits [`NetworkInitialized`].
pub fn handler(ctx: Context<InitializeNetwork>, args: InitializeNetworkArgs) -> Result<()> {
    let network_info = ctx.accounts.network.to_account_info();
    let bump = pda_create::create_pda_account(
        &ctx.accounts.payer.to_account_info(),
        &network_info,
        Network::SIZE,
        &crate::ID,
        &crate::ID,
        &[Network::SEED, &args.network_id.to_le_bytes()],
        RegistryError::NetworkIdTaken,
    )?;
    let network = Network {
        network_id: args.network_id,
        authority: ctx.accounts.authority.key(),
        pending_authority: None,
        auditor: None,
        kind: args.kind,
        reward_mint: ctx.accounts.reward_mint.key(),
        fee_mint: ctx.accounts.fee_mint.key(),
        treasury: ctx.accounts.treasury.key(),
        onboarding_fee: args.onboarding_fee,
        location_fee: args.location_fee,
        device_count: 0,
        maker_count: 0,
        paused: false,
        resumed_at: 0,
        bump,
    };
    pda_create::write_account(&network_info, &network)?;
    emit_cpi!(NetworkInitialized {
        network: network_info.key(),
        network_id: args.network_id,
        authority: network.authority,
        kind: args.kind,
        reward_mint: network.reward_mint,
        fee_mint: network.fee_mint,
        treasury: network.treasury,
        onboarding_fee: args.onboarding_fee,
        location_fee: args.location_fee,
    });
    Ok(())
}
