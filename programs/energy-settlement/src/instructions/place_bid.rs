use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};

use super::{
    free_slot, interval_mut, load_meter, open_interval, record_placement, require_energy_network,
    require_gate_open, require_owned_device, Side,
};
use crate::error::EnergyError;
use crate::events::OrderPlaced;
use crate::state::{BidSlot, EnergyMarket, ORDER_OPEN};

/// Arguments of `place_bid`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct PlaceBidArgs {
    /// Interval index.
    pub interval: u64,
    /// Highest price per kWh accepted, within the market's floor and cap.
    pub limit: u64,
    /// Wh wanted, 1 to `depin_core::energy::MAX_ORDER_WH`.
    pub wh: u64,
}

/// Accounts of `place_bid`.
#[event_cpi]
#[derive(Accounts)]
pub struct PlaceBid<'info> {
    /// The consuming device's owner; pays the escrow (and the interval's rent if it opens
    /// the book).
    #[account(mut)]
    pub owner: Signer<'info>,
    /// The registry network.
    pub network: Box<Account<'info, Network>>,
    /// The market.
    #[account(has_one = network, has_one = quote_mint, has_one = vault)]
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The consuming registry device.
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
    /// The quote mint.
    pub quote_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The owner's quote-mint account the escrow comes from.
    #[account(mut, dup, token::mint = quote_mint, token::authority = owner)]
    pub owner_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's escrow vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the quote mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program, to create the interval.
    pub system_program: Program<'info, System>,
}

/// Counts the placement against the device's allowance, escrows `ceil(limit * wh / 1000)`,
/// adds the bid to the book (in the lowest cancelled slot, else the next one) and emits
/// [`OrderPlaced`].
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
    require!(
        args.wh <= depin_core::energy::MAX_ORDER_WH,
        EnergyError::OrderTooLarge
    );
    let escrow = depin_core::energy::bid_escrow(args.limit, args.wh).map_err(EnergyError::from)?;

    let owner_info = ctx.accounts.owner.to_account_info();
    let device_key = ctx.accounts.device.key();
    let meter_info = ctx.accounts.meter.to_account_info();
    let mut meter = load_meter(&owner_info, &meter_info, &market.key(), &device_key)?;
    record_placement(market, &meter_info, &mut meter, args.interval, false)?;

    let interval_info = ctx.accounts.interval.to_account_info();
    open_interval(&owner_info, &interval_info, &market.key(), args.interval)?;
    let slot = {
        let mut data = interval_info.try_borrow_mut_data()?;
        let book = interval_mut(&mut data)?;
        let (slot, reused) = free_slot(
            book.bids.iter().map(|o| (&o.device, o.status)),
            book.bid_count,
            market.max_orders_per_interval,
            &device_key,
        )?;
        let seq = book.take_seq().ok_or(EnergyError::MathOverflow)?;
        let entry = book
            .bids
            .get_mut(usize::from(slot))
            .ok_or(EnergyError::BookFull)?;
        *entry = BidSlot {
            device: device_key,
            owner: ctx.accounts.owner.key(),
            limit: args.limit,
            wh: args.wh,
            escrow,
            status: ORDER_OPEN,
            seq,
            ..BidSlot::default()
        };
        if reused {
            book.bids_done = book
                .bids_done
                .checked_sub(1)
                .ok_or(EnergyError::MathOverflow)?;
        } else {
            book.bid_count = slot.checked_add(1).ok_or(EnergyError::MathOverflow)?;
        }
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
