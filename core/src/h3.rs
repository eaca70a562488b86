//! Validation of H3 cell indexes, the location format of devices.
//!
//! An H3 index is a 64-bit word: a reserved high bit (0), a 4-bit mode (1 for a cell), 3
//! reserved bits (0 for a cell), a 4-bit resolution, a 7-bit base cell (0..122) and fifteen
//! 3-bit digits. Digits up to the resolution are 0..=6, the rest are 7. Around the twelve
//! pentagon base cells one direction (digit 1, the deleted "K" axis) does not exist, so the
//! first non-zero digit of a pentagon's descendant must not be 1.

use crate::error::CoreError;

/// Number of base cells of the H3 grid.
pub const BASE_CELLS: u8 = 122;
/// Finest resolution.
pub const MAX_RESOLUTION: u8 = 15;
/// Base cells that are pentagons.
pub const PENTAGON_BASE_CELLS: [u8; 12] = [4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117];

const MODE_CELL: u64 = 1;
const DIGIT_UNUSED: u64 = 7;
const DIGIT_K_AXIS: u64 = 1;

/// What a valid cell index says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H3Cell {
    /// Resolution, 0..=15.
    pub resolution: u8,
    /// Base cell, 0..122.
    pub base_cell: u8,
}

/// Checks every rule of a well-formed H3 cell index.
pub fn validate_cell(index: u64) -> Result<H3Cell, CoreError> {
    let field = |shift: u32, mask: u64| (index >> shift) & mask;
    if field(63, 1) != 0 || field(59, 0xf) != MODE_CELL || field(56, 0x7) != 0 {
        return Err(CoreError::InvalidH3Index);
    }
    // Both fields are masked to 4 and 7 bits, so the casts are lossless.
    let resolution = field(52, 0xf) as u8;
    let base_cell = field(45, 0x7f) as u8;
    if base_cell >= BASE_CELLS {
        return Err(CoreError::InvalidH3Index);
    }
    let is_pentagon = PENTAGON_BASE_CELLS.contains(&base_cell);
    let mut leading_zeroes = true;
    for position in 1..=MAX_RESOLUTION {
        // digit `position` sits at bits 3 * (15 - position) .. +3
        let shift = u32::from(MAX_RESOLUTION.saturating_sub(position)).saturating_mul(3);
        let digit = field(shift, 0x7);
        if position > resolution {
            if digit != DIGIT_UNUSED {
                return Err(CoreError::InvalidH3Index);
            }
            continue;
        }
        if digit == DIGIT_UNUSED {
            return Err(CoreError::InvalidH3Index);
        }
        if is_pentagon && leading_zeroes && digit != 0 {
            if digit == DIGIT_K_AXIS {
                return Err(CoreError::InvalidH3Index);
            }
            leading_zeroes = false;
        }
    }
    Ok(H3Cell {
        resolution,
        base_cell,
    })
}

/// True when `index` is a well-formed H3 cell index.
pub fn is_valid_cell(index: u64) -> bool {
    validate_cell(index).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Real cells produced by the reference H3 library.
    const VALID: [(u64, u8, u8); 5] = [
        (0x08a2_a107_2b59_ffff, 10, 21),
        (0x0852_8347_3fff_ffff, 5, 20),
        (0x0892_8308_280f_ffff, 9, 20),
        (0x0800_1fff_ffff_ffff, 0, 0),
        (0x080f_3fff_ffff_ffff, 0, 121),
    ];

    #[test]
    fn accepts_real_cells() {
        for (index, resolution, base_cell) in VALID {
            assert_eq!(
                validate_cell(index),
                Ok(H3Cell {
                    resolution,
                    base_cell
                }),
                "{index:#x}"
            );
        }
    }

    #[test]
    fn rejects_each_broken_rule() {
        let good = 0x08a2_a107_2b59_ffff_u64;
        let broken = [
            good | 1 << 63,                     // high bit set
            (good & !(0xf << 59)) | 2 << 59,    // mode 2 (directed edge)
            good | 1 << 56,                     // reserved bits
            (good & !(0x7f << 45)) | 122 << 45, // base cell 122
            good & !(0x7 << 12),                // digit 11 used at resolution 10
            (good & !(0x7 << 15)) | 7 << 15,    // digit 10 unused at resolution 10
            0,                                  // nothing at all
            u64::MAX,
        ];
        for index in broken {
            assert_eq!(
                validate_cell(index),
                Err(CoreError::InvalidH3Index),
                "{index:#x}"
            );
        }
    }

    #[test]
    fn pentagon_deleted_axis() {
        // base cell 4 is a pentagon; resolution 1
        let res1 = |base: u64, digit: u64| {
            1 << 59 | 1 << 52 | base << 45 | digit << 42 | ((1u64 << 42) - 1)
        };
        assert!(is_valid_cell(res1(4, 0)));
        assert!(is_valid_cell(res1(4, 2)));
        assert!(!is_valid_cell(res1(4, 1)), "K axis of a pentagon");
        assert!(
            is_valid_cell(res1(5, 1)),
            "hexagon base cells have a K axis"
        );
        // deeper: leading zeroes, then the K axis, is still the deleted subsequence
        let res2 = |d1: u64, d2: u64| {
            1 << 59 | 2 << 52 | 4 << 45 | d1 << 42 | d2 << 39 | ((1u64 << 39) - 1)
        };
        assert!(!is_valid_cell(res2(0, 1)));
        assert!(
            is_valid_cell(res2(2, 1)),
            "only the first non-zero digit matters"
        );
    }

    proptest! {
        #[test]
        fn mode_or_high_bit_flip_invalidates(pick in 0usize..5, bit in prop_oneof![Just(63u32), 59u32..63]) {
            let (index, _, _) = VALID[pick];
            prop_assert!(!is_valid_cell(index ^ (1u64 << bit)));
        }

        #[test]
        fn never_panics(index: u64) {
            let _ = validate_cell(index);
        }
    }
}
