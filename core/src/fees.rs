//! Basis-point fees.
//!
//! Rounding rule: a fee is `floor(amount * bps / 10_000)`. The remainder of the division
//! stays with the main amount (the payer keeps it, or the recipient of the rest gets it), so
//! a fee never exceeds its exact value and `fee + rest == amount` always holds.

use crate::error::CoreError;

/// 100% in basis points.
pub const MAX_BPS: u16 = 10_000;

/// `floor(amount * bps / 10_000)`; `InvalidBps` if `bps > 10_000`.
pub fn bps_of(amount: u64, bps: u16) -> Result<u64, CoreError> {
    if bps > MAX_BPS {
        return Err(CoreError::InvalidBps);
    }
    let product = u128::from(amount)
        .checked_mul(u128::from(bps))
        .ok_or(CoreError::MathOverflow)?;
    let fee = product
        .checked_div(u128::from(MAX_BPS))
        .ok_or(CoreError::MathOverflow)?;
    u64::try_from(fee).map_err(|_| CoreError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fixed_values() {
        assert_eq!(bps_of(10_000, 250), Ok(250));
        assert_eq!(bps_of(199, 100), Ok(1)); // 1.99 rounds down
        assert_eq!(bps_of(u64::MAX, MAX_BPS), Ok(u64::MAX));
        assert_eq!(bps_of(1, 10_001), Err(CoreError::InvalidBps));
    }

    proptest! {
        #[test]
        fn fee_never_exceeds_amount(amount: u64, bps in 0u16..=MAX_BPS) {
            let fee = bps_of(amount, bps).unwrap();
            prop_assert!(fee <= amount);
            // exact value minus less than one unit
            let exact = u128::from(amount) * u128::from(bps);
            prop_assert!(u128::from(fee) * 10_000 <= exact);
            prop_assert!(exact < (u128::from(fee) + 1) * 10_000);
        }
    }
}
