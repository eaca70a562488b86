//! Energy settlement: instruction builders, the meter-side signer and a gateway helper.
//!
//! A meter's reading is accepted only if the transaction carries, right before
//! `submit_reading`, an Ed25519 program instruction in which the device key signed
//! `"depin-meter-v1" || network || device || interval || produced || consumed || counter`.
//! [`MeterSigner::reading_instructions`] produces exactly that pair from the device key.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use energy_settlement::accounts as acc;
use energy_settlement::instruction as ix;
use solana_signer::Signer;

pub use energy_settlement::instructions::{
    InitializeEnergyMarketArgs, OrderRef, PlaceAskArgs, PlaceBidArgs, Side, SubmitReadingArgs,
};
pub use energy_settlement::signature::{reading_message, ED25519_PROGRAM_ID, READING_MESSAGE_LEN};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: energy_settlement::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn event_authority() -> Pubkey {
    pda::event_authority(&energy_settlement::ID).0
}

/// The market's quote token: mint and token program.
#[derive(Debug, Clone, Copy)]
pub struct QuoteToken {
    /// The stablecoin mint.
    pub mint: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
}

/// `initialize_energy_market`: the network authority creates the market; grid fees go to
/// `treasury`, a quote-mint account of the network treasury's owner.
pub fn initialize_energy_market(
    payer: &Pubkey,
    authority: &Pubkey,
    network: &Pubkey,
    quote: &QuoteToken,
    network_treasury: &Pubkey,
    treasury: &Pubkey,
    args: InitializeEnergyMarketArgs,
) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::InitializeEnergyMarket {
            payer: *payer,
            authority: *authority,
            network: *network,
            market,
            quote_mint: quote.mint,
            vault: pda::energy_vault(&market).0,
            network_treasury: *network_treasury,
            treasury: *treasury,
            token_program: quote.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::InitializeEnergyMarket { args },
    )
}

/// The most Wh `capabilities` let a device ask in one of `market`'s intervals, the bound
/// `place_ask` enforces (`AskAboveCapacity` beyond it): its panel's peak output over
/// `market.interval_secs`, rounded down, plus a full battery. Zero for a meter with
/// neither, which can only bid. A gateway sizes its asks with it before sending.
pub fn ask_capacity_wh(
    capabilities: &crate::accounts::Capabilities,
    market: &crate::accounts::EnergyMarket,
) -> u64 {
    depin_core::energy::ask_capacity_wh(
        capabilities.panel_watts,
        capabilities.battery_wh,
        market.interval_secs,
    )
}

/// `place_ask` for the producing `device` (its `Device` account), signed by its owner; at
/// most [`ask_capacity_wh`] of the device's capabilities.
pub fn place_ask(
    owner: &Pubkey,
    network: &Pubkey,
    device: &Pubkey,
    args: PlaceAskArgs,
) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::PlaceAsk {
            owner: *owner,
            network: *network,
            market,
            device: *device,
            meter: pda::meter(&market, device).0,
            interval: pda::interval(&market, args.interval).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::PlaceAsk { args },
    )
}

/// `place_bid` for the consuming `device`, escrowing from `owner_token_account`.
pub fn place_bid(
    owner: &Pubkey,
    network: &Pubkey,
    device: &Pubkey,
    quote: &QuoteToken,
    owner_token_account: &Pubkey,
    args: PlaceBidArgs,
) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::PlaceBid {
            owner: *owner,
            network: *network,
            market,
            device: *device,
            meter: pda::meter(&market, device).0,
            interval: pda::interval(&market, args.interval).0,
            quote_mint: quote.mint,
            owner_token_account: *owner_token_account,
            vault: pda::energy_vault(&market).0,
            token_program: quote.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::PlaceBid { args },
    )
}

/// `cancel_order`: a bid's escrow returns to `owner_token_account`.
pub fn cancel_order(
    owner: &Pubkey,
    network: &Pubkey,
    quote: &QuoteToken,
    owner_token_account: &Pubkey,
    order: OrderRef,
) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::CancelOrder {
            owner: *owner,
            market,
            interval: pda::interval(&market, order.interval).0,
            quote_mint: quote.mint,
            owner_token_account: *owner_token_account,
            vault: pda::energy_vault(&market).0,
            token_program: quote.token_program,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::CancelOrder { args: order },
    )
}

/// `clear_interval` (anyone).
pub fn clear_interval(network: &Pubkey, interval: u64) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::ClearInterval {
            market,
            interval: pda::interval(&market, interval).0,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::ClearInterval { interval },
    )
}

/// `close_interval` (anyone) once every order of `interval` is settled; the rent goes back
/// to `rent_payer`, the interval's recorded payer (`Interval::rent_payer`).
pub fn close_interval(network: &Pubkey, interval: u64, rent_payer: &Pubkey) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::CloseInterval {
            market,
            interval: pda::interval(&market, interval).0,
            rent_payer: *rent_payer,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::CloseInterval { interval },
    )
}

/// `sync_treasury` (anyone): after the network authority rotated the network treasury to
/// `network_treasury`, points the market's treasury (grid fees and rounding) at `treasury`, a quote-mint
/// account of the same owner.
pub fn sync_treasury(
    network: &Pubkey,
    network_treasury: &Pubkey,
    treasury: &Pubkey,
) -> Instruction {
    build(
        acc::SyncTreasury {
            network: *network,
            network_treasury: *network_treasury,
            market: pda::energy_market(network).0,
            treasury: *treasury,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::SyncTreasury {},
    )
}

/// `settle_order` (anyone may crank). `order_device` is the order's device; the payment goes
/// to `recipient`, a quote-mint token account of the order's owner that exists.
pub fn settle_order(
    network: &Pubkey,
    quote: &QuoteToken,
    treasury: &Pubkey,
    order_device: &Pubkey,
    recipient: &Pubkey,
    order: OrderRef,
) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::SettleOrder {
            market,
            network: *network,
            interval: pda::interval(&market, order.interval).0,
            reading: pda::meter_reading(order_device, order.interval).0,
            quote_mint: quote.mint,
            recipient: *recipient,
            treasury: *treasury,
            vault: pda::energy_vault(&market).0,
            token_program: quote.token_program,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::SettleOrder { args: order },
    )
}

/// The crank of one order as a cranker sends it: the owner's associated quote-mint account
/// is created first (idempotent: nothing happens when it exists; `payer` pays its rent),
/// then `settle_order` pays into it. So an owner without an account never blocks an
/// interval.
pub fn settle_order_instructions(
    payer: &Pubkey,
    network: &Pubkey,
    quote: &QuoteToken,
    treasury: &Pubkey,
    order_device: &Pubkey,
    order_owner: &Pubkey,
    order: OrderRef,
) -> [Instruction; 2] {
    let create = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        payer,
        order_owner,
        &quote.mint,
        &quote.token_program,
    );
    let recipient = quote_account(order_owner, quote);
    [
        create,
        settle_order(network, quote, treasury, order_device, &recipient, order),
    ]
}

/// `owner`'s associated quote-mint account: where settlements pay.
pub fn quote_account(owner: &Pubkey, quote: &QuoteToken) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address_with_program_id(
        owner,
        &quote.mint,
        &quote.token_program,
    )
}

/// The bare `submit_reading` instruction (without its Ed25519 companion; see
/// [`MeterSigner::reading_instructions`]).
pub fn submit_reading(
    payer: &Pubkey,
    network: &Pubkey,
    device: &Pubkey,
    args: SubmitReadingArgs,
) -> Instruction {
    let market = pda::energy_market(network).0;
    build(
        acc::SubmitReading {
            payer: *payer,
            network: *network,
            market,
            device: *device,
            meter: pda::meter(&market, device).0,
            reading: pda::meter_reading(device, args.interval).0,
            instructions: solana_instructions_sysvar_id(),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: energy_settlement::ID,
        },
        ix::SubmitReading { args },
    )
}

/// The instructions sysvar's address.
pub fn solana_instructions_sysvar_id() -> Pubkey {
    anchor_lang::prelude::pubkey!("Sysvar1nstructions1111111111111111111111111")
}

/// An Ed25519 program instruction verifying one `signature` by `signer` over a reading
/// `message`, with every part inside the instruction itself (the layout the program
/// requires).
pub fn ed25519_instruction(
    signer: &Pubkey,
    signature: &[u8; 64],
    message: &[u8; READING_MESSAGE_LEN],
) -> Instruction {
    const HEADER: usize = 2 + 14;
    const PUBKEY_AT: usize = HEADER;
    const SIGNATURE_AT: usize = PUBKEY_AT + 32;
    const MESSAGE_AT: usize = SIGNATURE_AT + 64;
    const THIS_INSTRUCTION: u16 = u16::MAX;
    let mut data = Vec::with_capacity(MESSAGE_AT + message.len());
    data.extend_from_slice(&[1, 0]); // one signature, padding
    for field in [
        SIGNATURE_AT as u16,
        THIS_INSTRUCTION,
        PUBKEY_AT as u16,
        THIS_INSTRUCTION,
        MESSAGE_AT as u16,
        READING_MESSAGE_LEN as u16,
        THIS_INSTRUCTION,
    ] {
        data.extend_from_slice(&field.to_le_bytes());
    }
    data.extend_from_slice(signer.as_ref());
    data.extend_from_slice(signature);
    data.extend_from_slice(message);
    Instruction {
        program_id: ED25519_PROGRAM_ID,
        accounts: vec![],
        data,
    }
}

/// One interval's reading of one meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Interval index.
    pub interval: u64,
    /// Wh produced.
    pub produced_wh: u64,
    /// Wh consumed.
    pub consumed_wh: u64,
    /// The meter's monotonic counter (persist it across reboots: a lower one is refused).
    pub counter: u64,
}

/// The meter side: the device key (any [`Signer`], e.g. a secure element behind a trait
/// object) and the device's registry address.
pub struct MeterSigner<'a> {
    /// The device key.
    pub key: &'a dyn Signer,
    /// The registry `Device` account.
    pub device: Pubkey,
    /// The device's network.
    pub network: Pubkey,
}

impl MeterSigner<'_> {
    /// The exact bytes the device signs for `reading`.
    pub fn message(&self, reading: &Reading) -> [u8; READING_MESSAGE_LEN] {
        reading_message(
            &self.network,
            &self.device,
            reading.interval,
            reading.produced_wh,
            reading.consumed_wh,
            reading.counter,
        )
    }

    /// The Ed25519 instruction and the `submit_reading` instruction, in that order, ready
    /// to go into one transaction paid by `payer`.
    pub fn reading_instructions(&self, payer: &Pubkey, reading: &Reading) -> [Instruction; 2] {
        let message = self.message(reading);
        let signature: [u8; 64] = self.key.sign_message(&message).into();
        [
            ed25519_instruction(&self.key.pubkey(), &signature, &message),
            submit_reading(
                payer,
                &self.network,
                &self.device,
                SubmitReadingArgs {
                    interval: reading.interval,
                    produced_wh: reading.produced_wh,
                    consumed_wh: reading.consumed_wh,
                    counter: reading.counter,
                },
            ),
        ]
    }
}

/// Readings that fit one transaction: each needs an Ed25519 instruction of 222 bytes, a
/// `submit_reading` of 11 accounts and three accounts of its own, so two fit in the 1,232
/// bytes of a packet next to the shared accounts (a test checks the size).
pub const READINGS_PER_TRANSACTION: usize = 2;

/// Groups a gateway's meter readings into instruction lists, one per transaction, each
/// holding at most [`READINGS_PER_TRANSACTION`] signed readings after a
/// `SetComputeUnitLimit` for exactly what they were measured to need
/// ([`crate::compute::with_compute_budget`]: fees follow requested units).
pub fn batch_readings(
    payer: &Pubkey,
    readings: &[(MeterSigner<'_>, Reading)],
) -> Vec<Vec<Instruction>> {
    readings
        .chunks(READINGS_PER_TRANSACTION)
        .map(|chunk| {
            let ixs: Vec<Instruction> = chunk
                .iter()
                .flat_map(|(meter, reading)| meter.reading_instructions(payer, reading))
                .collect();
            crate::compute::with_compute_budget(&ixs)
        })
        .collect()
}
