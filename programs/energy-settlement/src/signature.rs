//! Reading the Ed25519 program instruction that vouches for a meter reading.
//!
//! The Ed25519 precompile verifies signatures before any program runs; a program cannot
//! call it, only look at it through the instructions sysvar. `submit_reading` therefore
//! requires the instruction right before it to be an Ed25519 instruction with exactly one
//! signature whose public key and message both live inside that instruction's own data,
//! and compares them with the device key and the message it expects. Offsets that point
//! into another instruction are refused: otherwise a signature over other bytes could be
//! passed off as a signature over the reading.

use anchor_lang::prelude::*;
use solana_instructions_sysvar::{load_current_index_checked, load_instruction_at_checked};

use crate::error::EnergyError;

/// The Ed25519 signature-verification precompile.
pub const ED25519_PROGRAM_ID: Pubkey = pubkey!("Ed25519SigVerify111111111111111111111111111");

/// Domain prefix of meter readings (the layout lives in `depin_core::meter`, shared with
/// the ink! contracts).
pub const READING_DOMAIN: &[u8] = depin_core::meter::READING_DOMAIN;

/// Length of the signed reading message.
pub const READING_MESSAGE_LEN: usize = depin_core::meter::READING_MESSAGE_LEN;

/// `"depin-meter-v1" || network || device || interval || produced || consumed || counter`,
/// integers little-endian.
pub fn reading_message(
    network: &Pubkey,
    device: &Pubkey,
    interval: u64,
    produced_wh: u64,
    consumed_wh: u64,
    counter: u64,
) -> [u8; READING_MESSAGE_LEN] {
    depin_core::meter::reading_message(
        &network.to_bytes(),
        &device.to_bytes(),
        interval,
        produced_wh,
        consumed_wh,
        counter,
    )
}

/// Header bytes before the offsets table.
const HEADER: usize = 2;
/// "The instruction itself" in an offsets entry.
const THIS_INSTRUCTION: u16 = u16::MAX;

fn u16_at(data: &[u8], at: usize) -> Result<u16> {
    let bytes = data
        .get(at..at.saturating_add(2))
        .ok_or(EnergyError::MalformedSignature)?;
    Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
}

/// Checks that the instruction before the current one is an Ed25519 verification of
/// exactly `expected_message` by `expected_signer`.
pub fn require_signed_by(
    instructions_sysvar: &AccountInfo,
    expected_signer: &Pubkey,
    expected_message: &[u8],
) -> Result<()> {
    let current = load_current_index_checked(instructions_sysvar)?;
    let previous = current
        .checked_sub(1)
        .ok_or(EnergyError::MissingSignature)?;
    let ix = load_instruction_at_checked(usize::from(previous), instructions_sysvar)?;
    require_keys_eq!(
        ix.program_id,
        ED25519_PROGRAM_ID,
        EnergyError::MissingSignature
    );
    let data = &ix.data;
    require!(data.first() == Some(&1), EnergyError::MalformedSignature);
    let entry = HEADER;
    let signature_ix = u16_at(data, entry.saturating_add(2))?;
    let pubkey_offset = usize::from(u16_at(data, entry.saturating_add(4))?);
    let pubkey_ix = u16_at(data, entry.saturating_add(6))?;
    let message_offset = usize::from(u16_at(data, entry.saturating_add(8))?);
    let message_len = usize::from(u16_at(data, entry.saturating_add(10))?);
    let message_ix = u16_at(data, entry.saturating_add(12))?;
    // Every part must come from the Ed25519 instruction itself.
    for index in [signature_ix, pubkey_ix, message_ix] {
        require!(
            index == THIS_INSTRUCTION || index == previous,
            EnergyError::MalformedSignature
        );
    }
    let signer = data
        .get(pubkey_offset..pubkey_offset.saturating_add(32))
        .ok_or(EnergyError::MalformedSignature)?;
    require!(signer == expected_signer.as_ref(), EnergyError::WrongSigner);
    let message = data
        .get(message_offset..message_offset.saturating_add(message_len))
        .ok_or(EnergyError::MalformedSignature)?;
    require!(message == expected_message, EnergyError::MessageMismatch);
    Ok(())
}
