//! Finding a challenge's seed in the SlotHashes sysvar.
//!
//! The sysvar holds the hashes of the most recent slots (up to 512), newest first, as
//! `u64 count` followed by `(slot u64, hash [u8; 32])` entries. Deserializing it whole
//! costs more than a program may spend, so the entries are read in place.

use anchor_lang::prelude::*;

/// Address of the SlotHashes sysvar.
pub const SLOT_HASHES_ID: Pubkey = pubkey!("SysvarS1otHashes111111111111111111111111111");

/// Bytes of one entry: the slot (`u64`) and its hash.
const ENTRY: usize = 8 + 32;

/// Why a seed cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedError {
    /// No slot after `after` has a hash yet: wait a slot.
    NotYetKnown,
    /// The first slot after `after` has been evicted (or the data is malformed).
    Unavailable,
}

/// What the SlotHashes sysvar tells of the slots after a challenge's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinceChallenge {
    /// How many slots after it have a block so far. A slot its leader skipped has no block
    /// and no hash, and is not counted: the proof window is counted in these, so skipped
    /// slots never shorten it. When every slot the sysvar holds is after the challenge's,
    /// the number held (a lower bound: older ones were evicted).
    pub produced: u64,
    /// The hash of the first of them (the challenge's seed): `NotYetKnown` while there is
    /// none, `Unavailable` once it has been evicted.
    pub seed: core::result::Result<[u8; 32], SeedError>,
}

/// Reads the slots after `after` from the sysvar's `data` (`Unavailable` when it is
/// malformed).
pub fn since_challenge(data: &[u8], after: u64) -> core::result::Result<SinceChallenge, SeedError> {
    let count = data
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .and_then(|c| usize::try_from(c).ok())
        .ok_or(SeedError::Unavailable)?;
    // every entry is read in place: the whole table must be there
    let table = count
        .checked_mul(ENTRY)
        .and_then(|n| n.checked_add(8))
        .and_then(|end| data.get(8..end))
        .ok_or(SeedError::Unavailable)?;
    let field = |i: usize, from: usize, len: usize| {
        let at = i.checked_mul(ENTRY)?.checked_add(from)?;
        table.get(at..at.checked_add(len)?)
    };
    let slot_at = |i: usize| -> core::result::Result<u64, SeedError> {
        field(i, 0, 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or(SeedError::Unavailable)
    };
    // the entries are newest first, so those after `after` are a prefix: its length by
    // binary search, about nine reads of the 512 entries whatever the window (counting
    // them one by one cost about 10 units an entry: 5,000 for a late report in a 511-slot
    // window). Entries [0, lo) are after `after`, [hi, count) are not.
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if slot_at(mid)? > after {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let produced = u64::try_from(lo).map_err(|_| SeedError::Unavailable)?;
    let seed = if lo == count {
        // every held slot is after `after`: the first one after it may have been evicted
        Err(SeedError::Unavailable)
    } else {
        match lo.checked_sub(1) {
            None => Err(SeedError::NotYetKnown),
            Some(first) => field(first, 8, 32)
                .and_then(|h| h.try_into().ok())
                .ok_or(SeedError::Unavailable),
        }
    };
    Ok(SinceChallenge { produced, seed })
}

/// The hash of the first slot after `after` that has one (slots without a block have no
/// hash): the seed of a challenge opened at `after`.
pub fn first_hash_after(data: &[u8], after: u64) -> core::result::Result<[u8; 32], SeedError> {
    since_challenge(data, after).and_then(|since| since.seed)
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
    fn finds_the_seed_and_counts_only_slots_with_a_block() {
        let data = sysvar(&[10, 9, 7, 6]); // slot 8 had no block
        let since = |after| since_challenge(&data, after).expect("well formed");
        assert_eq!(
            since(6),
            SinceChallenge {
                produced: 3,
                seed: Ok([7; 32])
            }
        );
        assert_eq!(
            since(7),
            SinceChallenge {
                produced: 2,
                seed: Ok([9; 32])
            }
        );
        // slot 8 skipped: after 8 as after 7
        assert_eq!(since(8), since(7));
        assert_eq!(
            since(10),
            SinceChallenge {
                produced: 0,
                seed: Err(SeedError::NotYetKnown)
            }
        );
        // the first slot after 2 may have been evicted: at least the four held came after
        assert_eq!(
            since(2),
            SinceChallenge {
                produced: 4,
                seed: Err(SeedError::Unavailable)
            }
        );
        assert_eq!(
            since_challenge(&sysvar(&[]), 0),
            Ok(SinceChallenge {
                produced: 0,
                seed: Err(SeedError::Unavailable)
            })
        );
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

    /// The binary search against a plain count, over sysvars of every size up to 40
    /// entries with slots skipped here and there, for every challenge slot around them.
    #[test]
    fn the_search_counts_as_a_scan_would() {
        for len in 0..40u64 {
            // newest first, every third slot skipped
            let slots: Vec<u64> = (0..len).map(|i| 100 - i - i / 2).rev().collect();
            let newest_first: Vec<u64> = slots.iter().rev().copied().collect();
            let data = sysvar(&newest_first);
            for after in 30..110 {
                let later: Vec<u64> = newest_first
                    .iter()
                    .copied()
                    .filter(|s| *s > after)
                    .collect();
                let since = since_challenge(&data, after).expect("well formed");
                assert_eq!(
                    since.produced,
                    later.len() as u64,
                    "len {len} after {after}"
                );
                let expected = if later.len() == newest_first.len() {
                    Err(SeedError::Unavailable)
                } else {
                    later
                        .last()
                        .map(|s| [*s as u8; 32])
                        .ok_or(SeedError::NotYetKnown)
                };
                assert_eq!(since.seed, expected, "len {len} after {after}");
            }
        }
    }

    #[test]
    fn malformed_data_is_unavailable() {
        assert_eq!(since_challenge(&[1, 2, 3], 0), Err(SeedError::Unavailable));
        // a count of two entries with one present
        let mut short = sysvar(&[5]);
        short[0] = 2;
        assert_eq!(since_challenge(&short, 0), Err(SeedError::Unavailable));
    }
}
