//! Finding a challenge's seed in the SlotHashes sysvar.
//!
//! The sysvar holds the hashes of the most recent slots (up to 512), newest first, as
//! `u64 count` followed by `(slot u64, hash [u8; 32])` entries. Deserializing it whole
//! costs more than a program may spend, so the entries are read in place.

use anchor_lang::prelude::*;

/// Address of the SlotHashes sysvar.
pub const SLOT_HASHES_ID: Pubkey = pubkey!("SysvarS1otHashes111111111111111111111111111");

const ENTRY: usize = 8 + 32;

/// Why a seed cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedError {
    /// No slot after `after` has a hash yet: wait a slot.
    NotYetKnown,
    /// The first slot after `after` has been evicted (or the data is malformed).
    Unavailable,
}

/// The hash of the first slot after `after` that has one (slots without a block have no
/// hash).
pub fn first_hash_after(data: &[u8], after: u64) -> core::result::Result<[u8; 32], SeedError> {
    let entry = |i: usize| -> Option<(u64, [u8; 32])> {
        let at = 8usize.checked_add(i.checked_mul(ENTRY)?)?;
        let bytes = data.get(at..at.checked_add(ENTRY)?)?;
        Some((
            u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?),
            bytes.get(8..)?.try_into().ok()?,
        ))
    };
    let count = data
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .and_then(|c| usize::try_from(c).ok())
        .ok_or(SeedError::Unavailable)?;
    let mut found = None;
    for i in 0..count {
        let (slot, hash) = entry(i).ok_or(SeedError::Unavailable)?;
        if slot <= after {
            // newest first: everything further is older still
            return found.ok_or(SeedError::NotYetKnown);
        }
        found = Some(hash);
    }
    // every known slot is after `after`: the first one after it may have been evicted
    Err(SeedError::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysvar(slots: &[u64]) -> Vec<u8> {
        let mut data = (slots.len() as u64).to_le_bytes().to_vec();
        for slot in slots {
            data.extend_from_slice(&slot.to_le_bytes());
            data.extend_from_slice(&[*slot as u8; 32]);
        }
        data
    }

    #[test]
    fn finds_the_first_later_slot() {
        let data = sysvar(&[10, 9, 7, 6]); // slot 8 had no block
        assert_eq!(first_hash_after(&data, 6), Ok([7; 32]));
        assert_eq!(first_hash_after(&data, 7), Ok([9; 32]));
        assert_eq!(first_hash_after(&data, 10), Err(SeedError::NotYetKnown));
        // the first slot after 2 may have been evicted
        assert_eq!(first_hash_after(&data, 2), Err(SeedError::Unavailable));
        assert_eq!(first_hash_after(&[1, 2, 3], 0), Err(SeedError::Unavailable));
        assert_eq!(
            first_hash_after(&sysvar(&[]), 0),
            Err(SeedError::Unavailable)
        );
    }
}
