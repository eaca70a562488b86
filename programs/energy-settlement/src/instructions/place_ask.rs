use anchor_lang::prelude::*;
use device_registry::state::{Device, Network};

use super::{
    free_slot, interval_mut, load_meter, open_interval, record_placement, require_energy_network,
    require_gate_open, require_owned_device, Side,
};
use crate::error::EnergyError;
use crate::events::OrderPlaced;
use crate::state::{AskSlot, EnergyMarket, ORDER_OPEN};

/// Arguments of `place_ask`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct PlaceAskArgs {
    /// Interval index.
    pub interval: u64,
    /// Price per kWh, within the market's floor and cap.
    pub price: u64,
    /// Wh offered: at least 1, at most `depin_core::energy::MAX_ORDER_WH` and at most what
    /// the device can deliver in one interval (`depin_core::energy::ask_capacity_wh`).
    pub wh: u64,
}

/// Accounts of `place_ask`.
#[event_cpi]
#[derive(Accounts)]
pub struct PlaceAsk<'info> {
    /// The producing device's owner; pays the interval's rent if it opens the book.
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The registry network.
    pub network: Box<Account<'info, Network>>,
    /// The market.
    #[account(has_one = network)]
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The producing registry device.
    pub device: Box<Account<'info, Device>>,
    /// The device's state in this market (its placements), created by its first order.
    /// CHECK: loaded as this market's `Meter` of this device (owner, discriminator and
    // identity checked) or created at the canonical address of `["meter", market, device]`.
    #[account(mut)]
    pub meter: UncheckedAccount<'info>,
    /// The interval's book.
    /// CHECK: created on the interval's first order at the canonical address of
    // `["interval", market, index]`, otherwise loaded with its discriminator, market and
    // index checked.
    #[account(mut)]
    pub interval: UncheckedAccount<'info>,
    /// System program, to create the interval.
    pub system_program: Program<'info, System>,
}

/// Checks the ask against the market's bounds and the device's capacity for one interval
/// (its panel's peak output over the interval plus a full battery, as its maker registered
/// them), counts the placement against the device's allowance, adds the ask to the book (in
/// the lowest cancelled slot, else the next one) and emits [`OrderPlaced`].
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
    require!(
        args.wh <= depin_core::energy::MAX_ORDER_WH,
        EnergyError::OrderTooLarge
    );
    let capabilities = &ctx.accounts.device.capabilities;
    require!(
        args.wh
            <= depin_core::energy::ask_capacity_wh(
                capabilities.panel_watts,
                capabilities.battery_wh,
                market.interval_secs,
            ),
        EnergyError::AskAboveCapacity
    );

    let owner_info = ctx.accounts.owner.to_account_info();
    let device_key = ctx.accounts.device.key();
    let meter_info = ctx.accounts.meter.to_account_info();
    let mut meter = load_meter(&owner_info, &meter_info, &market.key(), &device_key)?;
    record_placement(market, &meter_info, &mut meter, args.interval, true)?;

    let interval_info = ctx.accounts.interval.to_account_info();
    open_interval(&owner_info, &interval_info, &market.key(), args.interval)?;
    let slot = {
        let mut data = interval_info.try_borrow_mut_data()?;
        let book = interval_mut(&mut data)?;
        let (slot, reused) = free_slot(
            book.asks.iter().map(|o| (&o.device, o.status)),
            book.ask_count,
            market.max_orders_per_interval,
            &device_key,
        )?;
        let seq = book.take_seq().ok_or(EnergyError::MathOverflow)?;
        let entry = book
            .asks
            .get_mut(usize::from(slot))
            .ok_or(EnergyError::BookFull)?;
        *entry = AskSlot {
            device: device_key,
            owner: ctx.accounts.owner.key(),
            price: args.price,
            wh: args.wh,
            status: ORDER_OPEN,
            seq,
            ..AskSlot::default()
        };
        if reused {
            book.asks_done = book
                .asks_done
                .checked_sub(1)
                .ok_or(EnergyError::MathOverflow)?;
        } else {
            book.ask_count = slot.checked_add(1).ok_or(EnergyError::MathOverflow)?;
        }
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
