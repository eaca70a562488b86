//! One file per instruction: its arguments, its accounts and its handler; shared pieces
//! (order references, interval access, vault payments, device checks) below.
//!
//! The glob re-exports put every accounts struct (and the client modules Anchor generates
//! beside it) at the crate root, where `#[program]` looks for them.
#![allow(
    ambiguous_glob_reexports,
    reason = "every instruction file names its entry point `handler`; lib.rs calls each by its full path"
)]

pub mod cancel_order;
pub mod clear_interval;
pub mod close_interval;
pub mod initialize_energy_market;
pub mod place_ask;
pub mod place_bid;
pub mod settle_order;
pub mod submit_reading;
pub mod sync_treasury;

pub use cancel_order::*;
pub use clear_interval::*;
pub use close_interval::*;
pub use initialize_energy_market::*;
pub use place_ask::*;
pub use place_bid::*;
pub use settle_order::*;
pub use submit_reading::*;
pub use sync_treasury::*;

use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network, NetworkKind};

use crate::error::EnergyError;
pub use crate::events::Side;
use crate::state::{EnergyMarket, Interval, Meter, INTERVAL_OPEN, ORDER_CANCELLED, ORDER_OPEN};

/// Names one order: its interval, side and slot.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRef {
    /// Interval index.
    pub interval: u64,
    /// Ask or bid.
    pub side: Side,
    /// Slot in that side of the book.
    pub slot: u8,
}

/// The network must be an unpaused Energy network.
pub(crate) fn require_energy_network(network: &Network) -> Result<()> {
    require!(!network.paused, EnergyError::NetworkPaused);
    require!(
        network.kind == NetworkKind::Energy,
        EnergyError::NotEnergyNetwork
    );
    Ok(())
}

/// The device must be an active device of `network` owned by `owner`.
pub(crate) fn require_owned_device(
    device: &Device,
    network: &Pubkey,
    owner: &Pubkey,
) -> Result<()> {
    require_keys_eq!(device.network, *network, EnergyError::WrongNetwork);
    require_keys_eq!(device.owner, *owner, EnergyError::NotDeviceOwner);
    require!(device.is_active(), EnergyError::DeviceNotActive);
    Ok(())
}

/// Current unix time.
pub(crate) fn now() -> Result<i64> {
    Ok(Clock::get()?.unix_timestamp)
}

/// Fails with `GateClosed` at or after interval `index`'s gate closure.
pub(crate) fn require_gate_open(market: &EnergyMarket, index: u64) -> Result<()> {
    let closure = market
        .gate_closure(index)
        .ok_or(EnergyError::MathOverflow)?;
    require!(now()? < closure, EnergyError::GateClosed);
    Ok(())
}

/// Borrows the interval behind `data` (discriminator checked, alignment checked: never a
/// panic on foreign bytes).
pub(crate) fn interval_mut(data: &mut [u8]) -> Result<&mut Interval> {
    let (disc, body) = data
        .split_at_mut_checked(8)
        .ok_or(EnergyError::UnexpectedAccount)?;
    require!(
        disc == Interval::DISCRIMINATOR,
        EnergyError::UnexpectedAccount
    );
    let body = body
        .get_mut(..core::mem::size_of::<Interval>())
        .ok_or(EnergyError::UnexpectedAccount)?;
    bytemuck::try_from_bytes_mut(body).map_err(|_| error!(EnergyError::UnexpectedAccount))
}

/// Creates interval `index`'s account on its first order (at the canonical address of
/// `["interval", market, index]`); an existing account must be that interval's book
/// (`UnexpectedAccount` otherwise).
pub(crate) fn open_interval<'info>(
    payer: &AccountInfo<'info>,
    interval: &AccountInfo<'info>,
    market: &Pubkey,
    index: u64,
) -> Result<()> {
    if interval.owner == &crate::ID {
        let mut data = interval.try_borrow_mut_data()?;
        let book = interval_mut(&mut data)?;
        require!(
            book.market == *market && book.index == index,
            EnergyError::UnexpectedAccount
        );
        return Ok(());
    }
    let bump = pda_create::create_pda_account(
        payer,
        interval,
        Interval::SIZE,
        &crate::ID,
        &crate::ID,
        &[Interval::SEED, market.as_ref(), &index.to_le_bytes()],
        EnergyError::UnexpectedAccount,
    )?;
    let mut data = interval.try_borrow_mut_data()?;
    data.get_mut(..8)
        .ok_or(EnergyError::UnexpectedAccount)?
        .copy_from_slice(Interval::DISCRIMINATOR);
    let book = interval_mut(&mut data)?;
    book.market = *market;
    book.index = index;
    book.rent_payer = *payer.key;
    book.state = INTERVAL_OPEN;
    book.bump = bump;
    Ok(())
}

/// Where a new order goes in one side of a book: the lowest cancelled slot (reused, so a
/// cancelled order never holds capacity) or the next unused one. `orders` are the side's
/// used slots as `(device, status)`. `DuplicateOrder` when `device` already has an open order
/// there, `BookFull` when every slot up to `max` is open or settled. Returns the slot and
/// whether it was a cancelled one.
pub(crate) fn free_slot<'a>(
    orders: impl Iterator<Item = (&'a Pubkey, u8)>,
    used: u8,
    max: u8,
    device: &Pubkey,
) -> Result<(u8, bool)> {
    let mut reusable = None;
    for (slot, (owner_device, status)) in (0..used).zip(orders) {
        require!(
            !(owner_device == device && status == ORDER_OPEN),
            EnergyError::DuplicateOrder
        );
        if status == ORDER_CANCELLED && reusable.is_none() {
            reusable = Some(slot);
        }
    }
    match reusable {
        Some(slot) => Ok((slot, true)),
        None if used < max => Ok((used, false)),
        None => err!(EnergyError::BookFull),
    }
}

/// Loads the device's `Meter` of this market, or creates it (at the canonical address of
/// `["meter", market, device]`, rent paid by `payer`) on the device's first order or
/// reading. An account that is not that meter fails with `UnexpectedAccount`.
pub(crate) fn load_meter<'info>(
    payer: &AccountInfo<'info>,
    meter: &AccountInfo<'info>,
    market: &Pubkey,
    device: &Pubkey,
) -> Result<Meter> {
    pda_create::load_or_create(
        payer,
        meter,
        Meter::SIZE,
        &crate::ID,
        &[Meter::SEED, market.as_ref(), device.as_ref()],
        EnergyError::UnexpectedAccount,
        |m: &Meter| m.market == *market && m.device == *device,
        |bump| Meter {
            market: *market,
            device: *device,
            last_counter: 0,
            readings: 0,
            tallies: Default::default(),
            bump,
        },
    )
}

/// Counts the device's placement on `meter` (`TooManyPlacements` past the per-interval
/// allowance, `TooManyOpenIntervals` past the open intervals a device may trade in) and
/// writes the meter back.
pub(crate) fn record_placement(
    market: &EnergyMarket,
    meter_info: &AccountInfo,
    meter: &mut Meter,
    interval: u64,
    ask: bool,
) -> Result<()> {
    let now = now()?;
    meter
        .record_placement(interval, ask, |i| {
            market.gate_closure(i).is_some_and(|closure| now < closure)
        })
        .map_err(EnergyError::from)?;
    pda_create::write_account(meter_info, meter)
}

/// Pays `amount` out of the market vault into the token account `to`, signed by the
/// market PDA. Zero moves nothing.
pub(crate) fn pay_from_vault<'info>(
    market: &Account<'info, EnergyMarket>,
    vault: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    token_vault::pay_from_vault(
        &vault.to_account_info(),
        mint,
        to,
        &market.to_account_info(),
        token_program,
        &[EnergyMarket::SEED, market.network.as_ref(), &[market.bump]],
        amount,
    )
}
