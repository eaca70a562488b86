use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::{pay_from_vault, require_gate_open, OrderRef, Side};
use crate::error::EnergyError;
use crate::events::OrderCancelled;
use crate::state::{EnergyMarket, Interval, ORDER_CANCELLED, ORDER_OPEN};

/// Accounts of `cancel_order`. Allowed while the network is paused: it only returns the
/// signer's own escrow.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: OrderRef)]
pub struct CancelOrder<'info> {
    /// The order's owner.
    pub owner: Signer<'info>,
    /// The market.
    #[account(has_one = quote_mint, has_one = vault)]
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The interval's book.
    #[account(
        mut,
        constraint = interval.load()?.market == market.key() @ EnergyError::UnexpectedAccount,
        constraint = interval.load()?.index == args.interval @ EnergyError::UnexpectedAccount,
    )]
    pub interval: AccountLoader<'info, Interval>,
    /// The quote mint.
    pub quote_mint: Box<InterfaceAccount<'info, Mint>>,
    /// Where a bid's escrow is refunded: a quote-mint account of the owner.
    #[account(mut, dup, token::mint = quote_mint, token::authority = owner)]
    pub owner_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's escrow vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the quote mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Marks the order cancelled (its slot is free for the next order, but the placement still
/// counts against the device's allowance), refunds a bid's escrow and emits
/// [`OrderCancelled`].
pub fn handler(ctx: Context<CancelOrder>, args: OrderRef) -> Result<()> {
    require_gate_open(&ctx.accounts.market, args.interval)?;
    let owner = ctx.accounts.owner.key();
    let refund = {
        let mut book = ctx.accounts.interval.load_mut()?;
        let slot = usize::from(args.slot);
        match args.side {
            Side::Ask => {
                require!(args.slot < book.ask_count, EnergyError::NoSuchOrder);
                let ask = book.asks.get_mut(slot).ok_or(EnergyError::NoSuchOrder)?;
                require_keys_eq!(ask.owner, owner, EnergyError::NotOrderOwner);
                require!(ask.status == ORDER_OPEN, EnergyError::OrderNotOpen);
                ask.status = ORDER_CANCELLED;
                book.asks_done = book
                    .asks_done
                    .checked_add(1)
                    .ok_or(EnergyError::MathOverflow)?;
                0
            }
            Side::Bid => {
                require!(args.slot < book.bid_count, EnergyError::NoSuchOrder);
                let bid = book.bids.get_mut(slot).ok_or(EnergyError::NoSuchOrder)?;
                require_keys_eq!(bid.owner, owner, EnergyError::NotOrderOwner);
                require!(bid.status == ORDER_OPEN, EnergyError::OrderNotOpen);
                bid.status = ORDER_CANCELLED;
                let escrow = bid.escrow;
                book.escrow_total = book
                    .escrow_total
                    .checked_sub(escrow)
                    .ok_or(EnergyError::MathOverflow)?;
                book.bids_done = book
                    .bids_done
                    .checked_add(1)
                    .ok_or(EnergyError::MathOverflow)?;
                escrow
            }
        }
    };
    pay_from_vault(
        &ctx.accounts.market,
        &ctx.accounts.vault,
        &ctx.accounts.quote_mint,
        &ctx.accounts.owner_token_account.to_account_info(),
        &ctx.accounts.token_program,
        refund,
    )?;
    emit_cpi!(OrderCancelled {
        market: ctx.accounts.market.key(),
        interval: args.interval,
        side: args.side,
        slot: args.slot,
        refunded: refund,
    });
    Ok(())
}
