//! Decoding of the events the programs emit with `emit_cpi!`.
//!
//! An event CPI is an instruction from a suite program to itself whose data is
//! `EVENT_IX_TAG (8 bytes, le) || event discriminator (8 bytes) || borsh(event)`. It appears
//! among the transaction's inner instructions, so it survives log truncation.

use anchor_lang::event::EVENT_IX_TAG_LE;
use anchor_lang::{AnchorDeserialize, Discriminator};

use crate::error::SdkError;

/// The event payload (discriminator and fields) of an event-CPI instruction's data, or
/// `None` when the data is not an event CPI.
pub fn event_payload(ix_data: &[u8]) -> Option<&[u8]> {
    ix_data.strip_prefix(EVENT_IX_TAG_LE)
}

/// Decodes an event of type `T` from an event-CPI instruction's data (tag and
/// discriminator checked).
pub fn decode_event<T: AnchorDeserialize + Discriminator>(ix_data: &[u8]) -> Result<T, SdkError> {
    let error = |reason: &str| SdkError::EventDecode {
        expected: crate::accounts::short_type_name::<T>(),
        reason: reason.into(),
    };
    let payload = event_payload(ix_data).ok_or_else(|| error("not an event CPI"))?;
    let mut body = payload
        .strip_prefix(T::DISCRIMINATOR)
        .ok_or_else(|| error("another event's discriminator"))?;
    let event = T::deserialize(&mut body).map_err(|e| error(&e.to_string()))?;
    if !body.is_empty() {
        return Err(error("trailing bytes"));
    }
    Ok(event)
}
