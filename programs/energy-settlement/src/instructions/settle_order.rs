use anchor_lang::prelude::*;
use anchor_spl::associated_token::{
    self, get_associated_token_address_with_program_id, AssociatedToken,
};
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::energy::{settle_consumer, settle_producer};

use super::{now, pay_from_vault, OrderRef, Side};
use crate::error::EnergyError;
use crate::events::{IntervalSettled, OrderSettled};
use crate::state::{
    EnergyMarket, Interval, MeterReading, INTERVAL_CLEARED, INTERVAL_SETTLED, ORDER_OPEN,
    ORDER_SETTLED,
};

/// Accounts of `settle_order`. Anyone may send it; money only ever goes to the order's
/// owner (into the owner's associated token account, which the cranker creates if it is
/// missing, so no owner can block an interval by having no account) and the treasury.
/// Allowed while paused: it pays people what they are owed.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: OrderRef)]
pub struct SettleOrder<'info> {
    /// Whoever cranks; pays for the owner's token account if it has to be created.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The market.
    #[account(has_one = quote_mint, has_one = vault, has_one = treasury)]
    pub market: Account<'info, EnergyMarket>,
    /// The interval's book.
    #[account(
        mut,
        seeds = [Interval::SEED, market.key().as_ref(), &args.interval.to_le_bytes()],
        bump = interval.load()?.bump,
    )]
    pub interval: AccountLoader<'info, Interval>,
    /// For an ask: the producing device's reading address for this interval, whether or
    /// not a reading was submitted. Ignored for a bid.
    /// CHECK: the handler requires the reading PDA of the ask's device and interval, and
    /// reads it only if this program wrote a `MeterReading` there.
    pub reading: UncheckedAccount<'info>,
    /// The quote mint.
    pub quote_mint: InterfaceAccount<'info, Mint>,
    /// The order's owner.
    /// CHECK: the handler requires the owner recorded in the order.
    pub order_owner: UncheckedAccount<'info>,
    /// The order owner's associated quote-mint account.
    /// CHECK: the handler requires the associated token address of `order_owner` and
    /// creates the account if it does not exist.
    #[account(mut)]
    pub recipient: UncheckedAccount<'info>,
    /// The market's treasury (grid fees and rounding).
    #[account(mut)]
    pub treasury: InterfaceAccount<'info, TokenAccount>,
    /// The market's escrow vault.
    #[account(mut)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the quote mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// Associated token program, to create `recipient` when missing.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Produced Wh the reading account vouches for; zero, once the window has closed, when
/// no reading was submitted.
fn produced_wh(
    reading: &AccountInfo,
    device: &Pubkey,
    interval: u64,
    deadline: i64,
) -> Result<u64> {
    let (expected, _) = Pubkey::find_program_address(
        &[MeterReading::SEED, device.as_ref(), &interval.to_le_bytes()],
        &crate::ID,
    );
    require_keys_eq!(reading.key(), expected, EnergyError::WrongReading);
    if reading.owner == &crate::ID && !reading.data_is_empty() {
        let data = reading.try_borrow_data()?;
        return Ok(MeterReading::try_deserialize(&mut &data[..])?.produced_wh);
    }
    require!(now()? >= deadline, EnergyError::ReadingWindowOpen);
    Ok(0)
}

/// Settles one order (asks first, then bids), pays its owner and the treasury, and emits
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
    let recipient_owner = ctx.accounts.order_owner.key();
    let expected = get_associated_token_address_with_program_id(
        &recipient_owner,
        &ctx.accounts.quote_mint.key(),
        &ctx.accounts.token_program.key(),
    );
    require_keys_eq!(
        ctx.accounts.recipient.key(),
        expected,
        EnergyError::WrongRecipient
    );

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
                produced_wh(&ctx.accounts.reading, &ask.device, args.interval, deadline)?
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
            require!(
                book.asks_done == book.ask_count,
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
            let share = if book.volume_wh == 0 {
                0
            } else {
                u64::try_from(
                    u128::from(bid.matched_wh) * u128::from(book.delivered_wh)
                        / u128::from(book.volume_wh),
                )
                .map_err(|_| EnergyError::MathOverflow)?
            };
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
                delivered_wh: share,
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
    if to_owner > 0 {
        associated_token::create_idempotent(CpiContext::new(
            accounts.associated_token_program.key(),
            associated_token::Create {
                payer: accounts.payer.to_account_info(),
                associated_token: accounts.recipient.to_account_info(),
                authority: accounts.order_owner.to_account_info(),
                mint: accounts.quote_mint.to_account_info(),
                system_program: accounts.system_program.to_account_info(),
                token_program: accounts.token_program.to_account_info(),
            },
        ))?;
    }
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
