use anchor_lang::prelude::*;

use crate::error::RegistryError;
use crate::events::MakerRegistered;
use crate::state::{Maker, Network, MAX_MAKER_NAME_LEN};

/// Arguments of `register_maker`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RegisterMakerArgs {
    /// The vendor's issuing key (part of the maker's address).
    pub maker_authority: Pubkey,
    /// Display name, 1 to 32 bytes.
    pub name: String,
    /// Most devices the maker may onboard.
    pub device_quota: u32,
}

/// Accounts of `register_maker`.
#[event_cpi]
#[derive(Accounts)]
pub struct RegisterMaker<'info> {
    /// Pays the rent of the maker account.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The network the maker joins.
    #[account(
        mut,
        dup,
        has_one = authority @ RegistryError::NotNetworkAuthority,
        constraint = !network.paused @ RegistryError::NetworkPaused,
    )]
    pub network: Account<'info, Network>,
    /// The new maker.
    /// CHECK: the handler creates it at the canonical address of `["maker", network,
    // maker_authority]` (`ConstraintSeeds` for any other address) and refuses a maker that
    // is already registered (`MakerAlreadyRegistered`).
    #[account(mut)]
    pub maker: UncheckedAccount<'info>,
    /// System program, to create `maker`.
    pub system_program: Program<'info, System>,
}

/// Writes the maker (unapproved) and emits [`MakerRegistered`].
pub fn handler(ctx: Context<RegisterMaker>, args: RegisterMakerArgs) -> Result<()> {
    require!(
        !args.name.is_empty() && args.name.len() <= MAX_MAKER_NAME_LEN,
        RegistryError::InvalidMakerName
    );
    let network = &mut ctx.accounts.network;
    network.maker_count = network
        .maker_count
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;
    let network_key = network.key();
    let maker_info = ctx.accounts.maker.to_account_info();
    let bump = pda_create::create_pda_account(
        &ctx.accounts.payer.to_account_info(),
        &maker_info,
        Maker::SIZE,
        &crate::ID,
        &crate::ID,
        &[
            Maker::SEED,
            network_key.as_ref(),
            args.maker_authority.as_ref(),
        ],
        RegistryError::MakerAlreadyRegistered,
    )?;
    let maker = Maker {
        network: network_key,
        maker_authority: args.maker_authority,
        name: args.name.clone(),
        approved: false,
        device_quota: args.device_quota,
        devices_onboarded: 0,
        bump,
    };
    pda_create::write_account(&maker_info, &maker)?;
    emit_cpi!(MakerRegistered {
        network: network_key,
        maker: maker_info.key(),
        maker_authority: args.maker_authority,
        name: args.name,
        device_quota: args.device_quota,
    });
    Ok(())
}
