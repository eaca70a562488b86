use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::energy::{settle_consumer, settle_producer};

use super::{now, pay_from_vault, OrderRef, Side};
use device_registry::state::Network;

use crate::error::EnergyError;
use crate::events::{IntervalSettled, OrderSettled};
use crate::state::{
    EnergyMarket, Interval, MeterReading, INTERVAL_CLEARED, INTERVAL_SETTLED, ORDER_OPEN,
    ORDER_SETTLED,
};

/// Accounts of `settle_order`. Anyone may send it; money only ever goes to the order's
/// owner (into any quote-mint token account the owner holds) and the treasury. An owner
/// without such an account cannot block its interval: creating its associated token account
/// is permissionless, and the SDK's crank puts that instruction first in the same
/// transaction (`depin_sdk::energy::settle_order_instructions`). Allowed while paused: it
/// pays people what they are owed. The one exception is a producer without a reading: a
/// paused network refuses readings, so a missing one counts as zero only while the network
/// runs and once a whole reading window has passed since it last resumed.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: OrderRef)]
pub struct SettleOrder<'info> {
    /// The market.
    #[account(has_one = quote_mint, has_one = vault, has_one = treasury)]
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The market's registry network: whether it is paused, and since when it runs, for a
    /// producer without a reading.
    /// CHECK: pinned to the market's network by address; read as the registry's `Network`
    // (owner and discriminator checked) only when a missing reading is settled, so the other
    // settlements do not pay for decoding it.
    #[account(address = market.network @ EnergyError::UnexpectedAccount)]
    pub network: UncheckedAccount<'info>,
    /// The interval's book.
    #[account(
        mut,
        constraint = interval.load()?.market == market.key() @ EnergyError::UnexpectedAccount,
        constraint = interval.load()?.index == args.interval @ EnergyError::UnexpectedAccount,
    )]
    pub interval: AccountLoader<'info, Interval>,
    /// For an ask: the producing device's reading for this interval, or, when it submitted
    /// none, the address where it would be. Ignored for a bid.
    /// CHECK: the handler reads a `MeterReading` this program wrote for the ask's device
    // and interval, and otherwise requires the canonical reading address of that device
    // and interval (so nobody can settle a producer at zero by leaving its reading out).
    pub reading: UncheckedAccount<'info>,
    /// The quote mint.
    pub quote_mint: Box<InterfaceAccount<'info, Mint>>,
    /// Where the order's owner is paid: a quote-mint token account it owns (the handler
    /// requires the owner recorded in the order).
    #[account(
        mut,
        dup,
        constraint = recipient.mint == quote_mint.key() @ EnergyError::WrongRecipient,
    )]
    pub recipient: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's treasury (grid fees and rounding).
    #[account(mut, dup)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's escrow vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the quote mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Produced Wh the reading account vouches for; zero when no reading was submitted, once
/// the window to submit one has closed: `deadline`, or a whole reading window
/// (`settlement_delay_secs`) after the network last resumed if that is later, and never
/// while the network is paused (it refuses readings, so it must not run their window out).
fn produced_wh(
    reading: &AccountInfo,
    device: &Pubkey,
    interval: u64,
    deadline: i64,
    network: &AccountInfo,
    settlement_delay_secs: u64,
) -> Result<u64> {
    if reading.owner == &crate::ID && !reading.data_is_empty() {
        // Only this program writes readings, each at the canonical address of its device
        // and interval: one it owns for this device and interval is that reading.
        let data = reading.try_borrow_data()?;
        let r = MeterReading::try_deserialize(&mut &data[..])
            .map_err(|_| error!(EnergyError::WrongReading))?;
        require!(
            r.device == *device && r.interval == interval,
            EnergyError::WrongReading
        );
        return Ok(r.produced_wh);
    }
    let (expected, _) = pda_create::find_canonical(
        &[MeterReading::SEED, device.as_ref(), &interval.to_le_bytes()],
        &crate::ID,
    )?;
    require_keys_eq!(reading.key(), expected, EnergyError::WrongReading);
    require_keys_eq!(
        *network.owner,
        device_registry::ID,
        EnergyError::UnexpectedAccount
    );
    let network = Network::try_deserialize(&mut &network.try_borrow_data()?[..])
        .map_err(|_| error!(EnergyError::UnexpectedAccount))?;
    require!(!network.paused, EnergyError::NetworkPaused);
    let since_resume = network
        .resumed_at
        .checked_add(i64::try_from(settlement_delay_secs).map_err(|_| EnergyError::MathOverflow)?)
        .ok_or(EnergyError::MathOverflow)?;
    require!(
        now()? >= deadline.max(since_resume),
        EnergyError::ReadingWindowOpen
    );
    Ok(0)
}

/// Settles one order (asks first, then the bids that matched energy; a bid that matched
/// nothing is refunded whole at any time), pays its owner and the treasury, and emits
/// [`OrderSettled`]; the last order also sends the rounding remainder to the treasury and
/// emits [`IntervalSettled`].
pub fn handler(ctx: Context<SettleOrder>, args: OrderRef) -> Result<()> {
    let market = &ctx.accounts.market;
    let end = market
        .interval_end(args.interval)
        .ok_or(EnergyError::MathOverflow)?;
    let deadline = market
        .reading_deadline(args.interval)
        .ok_or(EnergyError::MathOverflow)?;
    let recipient_owner = ctx.accounts.recipient.owner;
    let mut book = ctx.accounts.interval.load_mut()?;
    require!(
        book.state != crate::state::INTERVAL_OPEN,
        EnergyError::NotCleared
    );
    require!(now()? >= end, EnergyError::IntervalNotOver);
    let price = book.clearing_price;
    let slot = usize::from(args.slot);
    let (event, to_owner, to_treasury) = match args.side {
        Side::Ask => {
            require!(args.slot < book.ask_count, EnergyError::NoSuchOrder);
            let ask = *book.asks.get(slot).ok_or(EnergyError::NoSuchOrder)?;
            require!(ask.status == ORDER_OPEN, EnergyError::OrderNotOpen);
            require_keys_eq!(recipient_owner, ask.owner, EnergyError::WrongRecipient);
            let produced = if ask.matched_wh == 0 {
                0 // nothing to deliver: no reading needed
            } else {
                produced_wh(
                    &ctx.accounts.reading,
                    &ask.device,
                    args.interval,
                    deadline,
                    &ctx.accounts.network,
                    market.settlement_delay_secs,
                )?
            };
            let s = settle_producer(ask.matched_wh, produced, price, market.grid_fee_bps)
                .map_err(EnergyError::from)?;
            let entry = book.asks.get_mut(slot).ok_or(EnergyError::NoSuchOrder)?;
            entry.delivered_wh = s.delivered_wh;
            entry.status = ORDER_SETTLED;
            book.delivered_wh = book
                .delivered_wh
                .checked_add(s.delivered_wh)
                .ok_or(EnergyError::MathOverflow)?;
            book.gross_paid_total = book
                .gross_paid_total
                .checked_add(s.gross)
                .ok_or(EnergyError::MathOverflow)?;
            book.asks_done = book
                .asks_done
                .checked_add(1)
                .ok_or(EnergyError::MathOverflow)?;
            let event = OrderSettled {
                market: market.key(),
                interval: args.interval,
                side: Side::Ask,
                slot: args.slot,
                delivered_wh: s.delivered_wh,
                amount: s.net,
                fee: s.fee,
                refund: 0,
            };
            (event, s.net, s.fee)
        }
        Side::Bid => {
            require!(args.slot < book.bid_count, EnergyError::NoSuchOrder);
            let bid = *book.bids.get(slot).ok_or(EnergyError::NoSuchOrder)?;
            require!(bid.status == ORDER_OPEN, EnergyError::OrderNotOpen);
            require_keys_eq!(recipient_owner, bid.owner, EnergyError::WrongRecipient);
            // a bid that matched nothing is owed its whole escrow whatever the producers
            // deliver: it does not wait for the asks (nor, through them, for a pause)
            require!(
                bid.matched_wh == 0 || book.asks_done == book.ask_count,
                EnergyError::AsksNotSettled
            );
            let s = settle_consumer(
                bid.matched_wh,
                book.delivered_wh,
                book.volume_wh,
                price,
                bid.escrow,
            )
            .map_err(EnergyError::from)?;
            let entry = book.bids.get_mut(slot).ok_or(EnergyError::NoSuchOrder)?;
            entry.charge = s.charge;
            entry.status = ORDER_SETTLED;
            book.charged_total = book
                .charged_total
                .checked_add(s.charge)
                .ok_or(EnergyError::MathOverflow)?;
            book.bids_done = book
                .bids_done
                .checked_add(1)
                .ok_or(EnergyError::MathOverflow)?;
            let event = OrderSettled {
                market: market.key(),
                interval: args.interval,
                side: Side::Bid,
                slot: args.slot,
                delivered_wh: s.delivered_wh,
                amount: s.charge,
                fee: 0,
                refund: s.refund,
            };
            (event, s.refund, 0)
        }
    };
    let finished = book.state == INTERVAL_CLEARED && book.all_done();
    let rounding = if finished {
        book.state = INTERVAL_SETTLED;
        book.charged_total
            .checked_sub(book.gross_paid_total)
            .ok_or(EnergyError::MathOverflow)?
    } else {
        0
    };
    let delivered_total = book.delivered_wh;
    drop(book);

    let accounts = &ctx.accounts;
    pay_from_vault(
        &accounts.market,
        &accounts.vault,
        &accounts.quote_mint,
        &accounts.recipient.to_account_info(),
        &accounts.token_program,
        to_owner,
    )?;
    let treasury_amount = to_treasury
        .checked_add(rounding)
        .ok_or(EnergyError::MathOverflow)?;
    pay_from_vault(
        &accounts.market,
        &accounts.vault,
        &accounts.quote_mint,
        &accounts.treasury.to_account_info(),
        &accounts.token_program,
        treasury_amount,
    )?;
    emit_cpi!(event);
    if finished {
        emit_cpi!(IntervalSettled {
            market: ctx.accounts.market.key(),
            interval: args.interval,
            delivered_wh: delivered_total,
            rounding,
        });
    }
    Ok(())
}
