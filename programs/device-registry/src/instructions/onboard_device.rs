use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::error::RegistryError;
use crate::events::DeviceOnboarded;
use crate::state::{Capabilities, Device, DeviceStatus, Maker, Network};

/// Arguments of `onboard_device`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct OnboardDeviceArgs {
    /// Network-defined device class.
    pub class: u8,
    /// What the device can do.
    pub capabilities: Capabilities,
    /// Initial H3 location, if known at onboarding (no location fee is charged for it).
    pub location: Option<u64>,
}

/// Accounts of `onboard_device`. Three keys sign: the maker's issuing key (the vendor vouches
/// for the hardware), the device key (the secure element proves it holds its key) and the
/// owner (who pays and receives the device).
#[event_cpi]
#[derive(Accounts)]
pub struct OnboardDevice<'info> {
    /// The device's new owner; pays rent and the onboarding fee.
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The maker's issuing key.
    pub maker_authority: Signer<'info>,
    /// The device's own key, held in its secure element: a third key, neither the maker's
    /// nor the owner's, so that three parties sign and an operator never signs its own
    /// device's readings.
    #[account(
        constraint = device_key.key() != maker_authority.key() @ RegistryError::DeviceKeyIsMakerKey,
        constraint = device_key.key() != owner.key() @ RegistryError::DeviceKeyIsOwner,
    )]
    pub device_key: Signer<'info>,
    /// The network the device joins.
    #[account(
        mut,
        dup,
        constraint = !network.paused @ RegistryError::NetworkPaused,
    )]
    pub network: Box<Account<'info, Network>>,
    /// The maker vouching for the device.
    #[account(
        mut,
        dup,
        has_one = network,
        has_one = maker_authority @ RegistryError::NotMakerAuthority,
        constraint = maker.approved @ RegistryError::MakerNotApproved,
    )]
    pub maker: Box<Account<'info, Maker>>,
    /// The new device. Its address derives from the device key, so a device onboards once.
    /// CHECK: the handler creates it at the canonical address of `["device", network,
    // device_key]` (`ConstraintSeeds` for any other address) and refuses an address that is
    // already an account (`DeviceAlreadyOnboarded`).
    #[account(mut)]
    pub device: UncheckedAccount<'info>,
    /// The network's fee mint.
    #[account(address = network.fee_mint @ RegistryError::WrongFeeMint)]
    pub fee_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The owner's token account the fee comes from.
    #[account(mut, dup, token::mint = fee_mint, token::authority = owner)]
    pub owner_fee_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The network's treasury.
    #[account(mut, dup, address = network.treasury)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the fee mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program, to create `device`.
    pub system_program: Program<'info, System>,
}

/// Checks quota and location, charges the fee, writes the device and emits
/// [`DeviceOnboarded`].
pub fn handler(ctx: Context<OnboardDevice>, args: OnboardDeviceArgs) -> Result<()> {
    if let Some(cell) = args.location {
        depin_core::h3::validate_cell(cell).map_err(|_| RegistryError::InvalidLocation)?;
    }
    let maker = &mut ctx.accounts.maker;
    require!(
        maker.devices_onboarded < maker.device_quota,
        RegistryError::MakerQuotaExceeded
    );
    maker.devices_onboarded = maker
        .devices_onboarded
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;
    let network = &mut ctx.accounts.network;
    network.device_count = network
        .device_count
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;

    let fee = network.onboarding_fee;
    token_vault::pay_from_signer(
        &ctx.accounts.owner_fee_account.to_account_info(),
        &ctx.accounts.fee_mint,
        &ctx.accounts.treasury.to_account_info(),
        &ctx.accounts.owner.to_account_info(),
        &ctx.accounts.token_program,
        fee,
    )?;

    let network_key = network.key();
    let device_key = ctx.accounts.device_key.key();
    let device_info = ctx.accounts.device.to_account_info();
    let bump = pda_create::create_pda_account(
        &ctx.accounts.owner.to_account_info(),
        &device_info,
        Device::SIZE,
        &crate::ID,
        &crate::ID,
        &[Device::SEED, network_key.as_ref(), device_key.as_ref()],
        RegistryError::DeviceAlreadyOnboarded,
    )?;

    let now = Clock::get()?.unix_timestamp;
    let device = Device {
        network: network_key,
        device_key,
        owner: ctx.accounts.owner.key(),
        maker: maker.key(),
        class: args.class,
        capabilities: args.capabilities,
        location: args.location,
        status: DeviceStatus::Active,
        onboarded_at: now,
        location_changed_at: if args.location.is_some() { now } else { 0 },
        bump,
    };
    pda_create::write_account(&device_info, &device)?;
    emit_cpi!(DeviceOnboarded {
        network: device.network,
        device: device_info.key(),
        device_key: device.device_key,
        owner: device.owner,
        maker: device.maker,
        class: args.class,
        capabilities: args.capabilities,
        location: args.location,
        fee_paid: fee,
        timestamp: now,
    });
    Ok(())
}
