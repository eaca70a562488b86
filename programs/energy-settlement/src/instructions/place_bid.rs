use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};

use super::{
    interval_mut, open_interval, require_energy_network, require_gate_open, require_owned_device,
    Side,
};
use crate::error::EnergyError;
use crate::events::OrderPlaced;
use crate::state::{BidSlot, EnergyMarket, Interval, ORDER_OPEN};

/// Arguments of `place_bid`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct PlaceBidArgs {
    /// Interval index.
    pub interval: u64,
    /// Highest price per kWh accepted, within the market's floor and cap.
    pub limit: u64,
    /// Wh wanted (positive).
    pub wh: u64,
}

/// Accounts of `place_bid`.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: PlaceBidArgs)]
pub struct PlaceBid<'info> {
    /// The consuming device's owner; pays the escrow (and the interval's rent if it opens
    /// the book).
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The registry network.
    pub network: Account<'info, Network>,
    /// The market.
    #[account(
        seeds = [EnergyMarket::SEED, network.key().as_ref()],
        bump = market.bump,
        has_one = network,
        has_one = quote_mint,
        has_one = vault,
    )]
    pub market: Account<'info, EnergyMarket>,
    /// The consuming registry device.
    pub device: Account<'info, Device>,
    /// The interval's book.
    /// CHECK: the seeds pin the address; created on the interval's first order, otherwise
    /// loaded with its discriminator checked.
    #[account(mut, seeds = [Interval::SEED, market.key().as_ref(), &args.interval.to_le_bytes()], bump)]
    pub interval: UncheckedAccount<'info>,
    /// The quote mint.
    pub quote_mint: InterfaceAccount<'info, Mint>,
    /// The owner's quote-mint account the escrow comes from.
    #[account(mut, token::mint = quote_mint, token::authority = owner)]
    pub owner_token_account: InterfaceAccount<'info, TokenAccount>,
    /// The market's escrow vault.
    #[account(mut)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the quote mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program, to create the interval.
    pub system_program: Program<'info, System>,
}

/// Escrows `ceil(limit * wh / 1000)`, adds the bid to the book and emits [`OrderPlaced`].
pub fn handler(ctx: Context<PlaceBid>, args: PlaceBidArgs) -> Result<()> {
    let market = &ctx.accounts.market;
    require_energy_network(&ctx.accounts.network)?;
    require_owned_device(
        &ctx.accounts.device,
        &market.network,
        &ctx.accounts.owner.key(),
    )?;
    require_gate_open(market, args.interval)?;
    require!(
        (market.price_floor..=market.price_cap).contains(&args.limit),
        EnergyError::PriceOutOfBounds
    );
    require!(args.wh > 0, EnergyError::ZeroVolume);
    let escrow = depin_core::energy::bid_escrow(args.limit, args.wh).map_err(EnergyError::from)?;

    let interval_info = ctx.accounts.interval.to_account_info();
    open_interval(
        &ctx.accounts.owner.to_account_info(),
        &interval_info,
        &market.key(),
        args.interval,
        ctx.bumps.interval,
    )?;
    let slot = {
        let mut data = interval_info.try_borrow_mut_data()?;
        let book = interval_mut(&mut data)?;
        let slot = book.bid_count;
        require!(slot < market.max_orders_per_interval, EnergyError::BookFull);
        let device = ctx.accounts.device.key();
        require!(
            !book
                .bids
                .iter()
                .take(usize::from(slot))
                .any(|o| o.device == device && o.status == ORDER_OPEN),
            EnergyError::DuplicateOrder
        );
        let entry = book
            .bids
            .get_mut(usize::from(slot))
            .ok_or(EnergyError::BookFull)?;
        *entry = BidSlot {
            device: ctx.accounts.device.key(),
            owner: ctx.accounts.owner.key(),
            limit: args.limit,
            wh: args.wh,
            escrow,
            status: ORDER_OPEN,
            ..BidSlot::default()
        };
        book.bid_count = slot.checked_add(1).ok_or(EnergyError::MathOverflow)?;
        book.escrow_total = book
            .escrow_total
            .checked_add(escrow)
            .ok_or(EnergyError::MathOverflow)?;
        slot
    };
    token_vault::pay_from_signer(
        &ctx.accounts.owner_token_account.to_account_info(),
        &ctx.accounts.quote_mint,
        &ctx.accounts.vault.to_account_info(),
        &ctx.accounts.owner.to_account_info(),
        &ctx.accounts.token_program,
        escrow,
    )?;
    emit_cpi!(OrderPlaced {
        market: market.key(),
        interval: args.interval,
        side: Side::Bid,
        slot,
        device: ctx.accounts.device.key(),
        owner: ctx.accounts.owner.key(),
        price: args.limit,
        wh: args.wh,
        escrow,
    });
    Ok(())
}
