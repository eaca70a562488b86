//! The emission schedule: how many reward tokens each epoch may mint.
//!
//! Epoch `e` (from 0) emits `max(initial_per_epoch >> (e / halving_interval_epochs),
//! tail_per_epoch)`: eras of `halving_interval_epochs` epochs, each emitting half of the one
//! before, until the tail floor takes over for good. A `halving_interval_epochs` of 0 means
//! the emission never halves.
//!
//! [`EmissionSchedule::cumulative_through`] sums the schedule in closed form over at most 64
//! halving eras, so it costs the same for epoch 3 and epoch 2^63, and it works in `u128`:
//! at most 2^64 epochs of at most 2^64 - 1 tokens is below 2^128, so it cannot overflow.

use crate::error::CoreError;

/// An emission curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmissionSchedule {
    /// Emission of every epoch of the first era.
    pub initial_per_epoch: u64,
    /// Epochs per era; 0 means a single era that never ends (no halving).
    pub halving_interval_epochs: u64,
    /// Floor of the per-epoch emission.
    pub tail_per_epoch: u64,
}

impl EmissionSchedule {
    /// Fails with `InvalidSchedule` if the tail exceeds the initial emission (the curve would
    /// never start from its initial value).
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.tail_per_epoch > self.initial_per_epoch {
            return Err(CoreError::InvalidSchedule);
        }
        Ok(())
    }

    /// Era (number of halvings) of `epoch`.
    fn era(&self, epoch: u64) -> u64 {
        epoch.checked_div(self.halving_interval_epochs).unwrap_or(0)
    }

    /// Emission of era `era` before the tail floor.
    fn era_emission(&self, era: u64) -> u64 {
        u32::try_from(era)
            .ok()
            .and_then(|shift| self.initial_per_epoch.checked_shr(shift))
            .unwrap_or(0)
    }

    /// Tokens epoch `epoch` may mint.
    pub fn per_epoch(&self, epoch: u64) -> u64 {
        self.era_emission(self.era(epoch)).max(self.tail_per_epoch)
    }

    /// Tokens epochs `0..=epoch` may mint together.
    pub fn cumulative_through(&self, epoch: u64) -> Result<u128, CoreError> {
        let overflow = || CoreError::MathOverflow;
        // Epochs 0..=epoch, as a count that may be 2^64.
        let epochs = u128::from(epoch).checked_add(1).ok_or_else(overflow)?;
        let interval = u128::from(self.halving_interval_epochs);
        if interval == 0 {
            return epochs
                .checked_mul(u128::from(self.per_epoch(0)))
                .ok_or_else(overflow);
        }
        let mut total: u128 = 0;
        let mut start: u128 = 0; // first epoch of the current era
        let mut era: u64 = 0;
        while start < epochs {
            let emission = self.era_emission(era);
            if emission <= self.tail_per_epoch {
                // The floor holds from here on: every remaining epoch emits the tail.
                let rest = epochs.checked_sub(start).ok_or_else(overflow)?;
                let tail = rest
                    .checked_mul(u128::from(self.tail_per_epoch))
                    .ok_or_else(overflow)?;
                return total.checked_add(tail).ok_or_else(overflow);
            }
            let end = start
                .checked_add(interval)
                .ok_or_else(overflow)?
                .min(epochs);
            let span = end.checked_sub(start).ok_or_else(overflow)?;
            let era_total = span
                .checked_mul(u128::from(emission))
                .ok_or_else(overflow)?;
            total = total.checked_add(era_total).ok_or_else(overflow)?;
            start = end;
            era = era.checked_add(1).ok_or_else(overflow)?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HELIUM_LIKE: EmissionSchedule = EmissionSchedule {
        initial_per_epoch: 1_000,
        halving_interval_epochs: 4,
        tail_per_epoch: 100,
    };

    #[test]
    fn fixed_curve() {
        let per: Vec<u64> = (0..20).map(|e| HELIUM_LIKE.per_epoch(e)).collect();
        assert_eq!(
            per,
            [
                1000, 1000, 1000, 1000, 500, 500, 500, 500, 250, 250, 250, 250, 125, 125, 125, 125,
                100, 100, 100, 100
            ]
        );
        assert_eq!(HELIUM_LIKE.cumulative_through(0), Ok(1000));
        assert_eq!(HELIUM_LIKE.cumulative_through(5), Ok(5000));
        assert_eq!(
            HELIUM_LIKE.cumulative_through(19),
            Ok(4000 + 2000 + 1000 + 500 + 400)
        );
    }

    #[test]
    fn no_halving_and_extremes() {
        let flat = EmissionSchedule {
            initial_per_epoch: u64::MAX,
            halving_interval_epochs: 0,
            tail_per_epoch: 0,
        };
        assert_eq!(
            flat.cumulative_through(u64::MAX),
            Ok(u128::from(u64::MAX) * (u128::from(u64::MAX) + 1))
        );
        let fast = EmissionSchedule {
            initial_per_epoch: u64::MAX,
            halving_interval_epochs: 1,
            tail_per_epoch: 0,
        };
        // sum of u64::MAX >> k for k in 0..64
        let expected: u128 = (0..64).map(|k| u128::from(u64::MAX >> k)).sum();
        assert_eq!(fast.cumulative_through(u64::MAX), Ok(expected));
        assert_eq!(fast.per_epoch(u64::MAX), 0);
        let bad = EmissionSchedule {
            initial_per_epoch: 1,
            halving_interval_epochs: 1,
            tail_per_epoch: 2,
        };
        assert_eq!(bad.validate(), Err(CoreError::InvalidSchedule));
    }

    fn schedule() -> impl Strategy<Value = EmissionSchedule> {
        (
            any::<u64>(),
            prop_oneof![Just(0u64), 1u64..50, any::<u64>()],
            any::<u64>(),
        )
            .prop_map(|(a, h, b)| {
                let (initial, tail) = if a >= b { (a, b) } else { (b, a) };
                EmissionSchedule {
                    initial_per_epoch: initial,
                    halving_interval_epochs: h,
                    tail_per_epoch: tail / 3,
                }
            })
    }

    proptest! {
        #[test]
        fn cumulative_equals_naive_sum(s in schedule(), epochs in 0u64..300) {
            let naive: u128 = (0..=epochs).map(|e| u128::from(s.per_epoch(e))).sum();
            prop_assert_eq!(s.cumulative_through(epochs), Ok(naive));
        }

        #[test]
        fn increments_are_the_per_epoch_amount(s in schedule(), epoch in 1u64..u64::MAX) {
            let now = s.cumulative_through(epoch).unwrap();
            let before = s.cumulative_through(epoch - 1).unwrap();
            prop_assert!(now >= before);
            prop_assert_eq!(now - before, u128::from(s.per_epoch(epoch)));
        }
    }
}
