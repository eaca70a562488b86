use anchor_lang::prelude::*;
use device_registry::state::{Device, Network};

use super::{
    interval_mut, open_interval, require_energy_network, require_gate_open, require_owned_device,
    Side,
};
use crate::error::EnergyError;
use crate::events::OrderPlaced;
use crate::state::{AskSlot, EnergyMarket, Interval, ORDER_OPEN};

/// Arguments of `place_ask`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct PlaceAskArgs {
    /// Interval index.
    pub interval: u64,
    /// Price per kWh, within the market's floor and cap.
    pub price: u64,
    /// Wh offered (positive).
    pub wh: u64,
}

/// Accounts of `place_ask`.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: PlaceAskArgs)]
pub struct PlaceAsk<'info> {
    /// The producing device's owner; pays the interval's rent if it opens the book.
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The registry network.
    pub network: Account<'info, Network>,
    /// The market.
    #[account(seeds = [EnergyMarket::SEED, network.key().as_ref()], bump = market.bump, has_one = network)]
    pub market: Account<'info, EnergyMarket>,
    /// The producing registry device.
    pub device: Account<'info, Device>,
    /// The interval's book.
    /// CHECK: the seeds pin the address; created on the interval's first order, otherwise
    /// loaded with its discriminator checked.
    #[account(mut, seeds = [Interval::SEED, market.key().as_ref(), &args.interval.to_le_bytes()], bump)]
    pub interval: UncheckedAccount<'info>,
    /// System program, to create the interval.
    pub system_program: Program<'info, System>,
}

/// Adds the ask to the book and emits [`OrderPlaced`].
pub fn handler(ctx: Context<PlaceAsk>, args: PlaceAskArgs) -> Result<()> {
    let market = &ctx.accounts.market;
    require_energy_network(&ctx.accounts.network)?;
    require_owned_device(
        &ctx.accounts.device,
        &market.network,
        &ctx.accounts.owner.key(),
    )?;
    require_gate_open(market, args.interval)?;
    require!(
        (market.price_floor..=market.price_cap).contains(&args.price),
        EnergyError::PriceOutOfBounds
    );
    require!(args.wh > 0, EnergyError::ZeroVolume);

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
        let slot = book.ask_count;
        require!(slot < market.max_orders_per_interval, EnergyError::BookFull);
        let device = ctx.accounts.device.key();
        require!(
            !book
                .asks
                .iter()
                .take(usize::from(slot))
                .any(|o| o.device == device && o.status == ORDER_OPEN),
            EnergyError::DuplicateOrder
        );
        let entry = book
            .asks
            .get_mut(usize::from(slot))
            .ok_or(EnergyError::BookFull)?;
        *entry = AskSlot {
            device: ctx.accounts.device.key(),
            owner: ctx.accounts.owner.key(),
            price: args.price,
            wh: args.wh,
            status: ORDER_OPEN,
            ..AskSlot::default()
        };
        book.ask_count = slot.checked_add(1).ok_or(EnergyError::MathOverflow)?;
        slot
    };
    emit_cpi!(OrderPlaced {
        market: market.key(),
        interval: args.interval,
        side: Side::Ask,
        slot,
        device: ctx.accounts.device.key(),
        owner: ctx.accounts.owner.key(),
        price: args.price,
        wh: args.wh,
        escrow: 0,
    });
    Ok(())
}
