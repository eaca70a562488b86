use anchor_lang::prelude::*;
use device_registry::state::{Device, Network};

use super::{load_meter, now, require_energy_network};
use crate::error::EnergyError;
use crate::events::ReadingSubmitted;
use crate::signature::{reading_message, require_signed_by};
use crate::state::{EnergyMarket, MeterReading};

/// Arguments of `submit_reading`: exactly the fields the meter signed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SubmitReadingArgs {
    /// Interval index (must be over).
    pub interval: u64,
    /// Wh produced during the interval.
    pub produced_wh: u64,
    /// Wh consumed during the interval.
    pub consumed_wh: u64,
    /// The meter's monotonic counter (above every earlier one).
    pub counter: u64,
}

/// Accounts of `submit_reading`. Anyone may relay a reading (a gateway, usually); the
/// device key's signature, checked through the instructions sysvar, is what counts.
#[event_cpi]
#[derive(Accounts)]
pub struct SubmitReading<'info> {
    /// Relays the reading and pays the rent of its account.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The registry network.
    pub network: Box<Account<'info, Network>>,
    /// The market.
    #[account(has_one = network)]
    pub market: Box<Account<'info, EnergyMarket>>,
    /// The meter's registry device.
    #[account(
        constraint = device.network == network.key() @ EnergyError::WrongNetwork,
        constraint = device.is_active() @ EnergyError::DeviceNotActive,
    )]
    pub device: Box<Account<'info, Device>>,
    /// The device's state in this market (the meter's replay counter).
    /// CHECK: loaded as this market's `Meter` of this device (owner, discriminator and
    // identity checked) or created at the canonical address of `["meter", market, device]`.
    #[account(mut)]
    pub meter: UncheckedAccount<'info>,
    /// The new reading.
    /// CHECK: the handler creates it at the canonical address of `["reading", device,
    // interval]` (`ConstraintSeeds` for any other address; `ReadingAlreadySubmitted` if it
    // exists).
    #[account(mut)]
    pub reading: UncheckedAccount<'info>,
    /// The instructions sysvar, to see the Ed25519 instruction before this one.
    /// CHECK: pinned to the sysvar's address.
    #[account(address = solana_instructions_sysvar::ID)]
    pub instructions: UncheckedAccount<'info>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Checks the signature and the counter, stores the reading and emits [`ReadingSubmitted`].
pub fn handler(ctx: Context<SubmitReading>, args: SubmitReadingArgs) -> Result<()> {
    require_energy_network(&ctx.accounts.network)?;
    let market = &ctx.accounts.market;
    let end = market
        .interval_end(args.interval)
        .ok_or(EnergyError::MathOverflow)?;
    require!(now()? >= end, EnergyError::IntervalNotOver);

    let device = &ctx.accounts.device;
    let message = reading_message(
        &market.network,
        &device.key(),
        args.interval,
        args.produced_wh,
        args.consumed_wh,
        args.counter,
    );
    require_signed_by(&ctx.accounts.instructions, &device.device_key, &message)?;

    let payer = ctx.accounts.payer.to_account_info();
    let market_key = market.key();
    let device_key = device.key();
    let meter_info = ctx.accounts.meter.to_account_info();
    let mut meter = load_meter(&payer, &meter_info, &market_key, &device_key)?;
    require!(
        depin_core::meter::counter_is_fresh(meter.last_counter, args.counter),
        EnergyError::StaleCounter
    );
    meter.last_counter = args.counter;
    meter.readings = meter
        .readings
        .checked_add(1)
        .ok_or(EnergyError::MathOverflow)?;
    pda_create::write_account(&meter_info, &meter)?;

    let reading_info = ctx.accounts.reading.to_account_info();
    let bump = pda_create::create_pda_account(
        &payer,
        &reading_info,
        MeterReading::SIZE,
        &crate::ID,
        &crate::ID,
        &[
            MeterReading::SEED,
            device_key.as_ref(),
            &args.interval.to_le_bytes(),
        ],
        EnergyError::ReadingAlreadySubmitted,
    )?;
    let reading = MeterReading {
        device: device_key,
        interval: args.interval,
        produced_wh: args.produced_wh,
        consumed_wh: args.consumed_wh,
        counter: args.counter,
        submitted_at: now()?,
        bump,
    };
    pda_create::write_account(&reading_info, &reading)?;
    emit_cpi!(ReadingSubmitted {
        market: market_key,
        device: device_key,
        interval: args.interval,
        produced_wh: args.produced_wh,
        consumed_wh: args.consumed_wh,
        counter: args.counter,
    });
    Ok(())
}
