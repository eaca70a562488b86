//! Staking rules: how much active stake bonded devices need, how unstaking and slashing
//! move amounts between the active and pending buckets, and when a cooldown ends.

use crate::error::CoreError;

/// Longest unstaking cooldown a pool may set: one year (366 days). Pools are validated
/// against it when created and updated, so `unlock_time` can never overflow and no setting
/// can lock stake away for good.
pub const MAX_COOLDOWN_SECS: u64 = 366 * 86_400;

/// `InvalidCooldown` unless `cooldown_secs <= MAX_COOLDOWN_SECS`.
pub fn validate_cooldown(cooldown_secs: u64) -> Result<(), CoreError> {
    if cooldown_secs <= MAX_COOLDOWN_SECS {
        Ok(())
    } else {
        Err(CoreError::InvalidCooldown)
    }
}

/// Stake `devices` bonded devices need, `devices * min_per_device`, exact in `u128`: a
/// requirement beyond `u64` is simply more than any position can hold, never an error, so
/// no minimum the authority sets can make unstaking or claiming fail with an overflow.
pub fn required_stake(devices: u32, min_per_device: u64) -> u128 {
    // u32 * u64 < 2^96: cannot overflow u128.
    u128::from(devices).saturating_mul(u128::from(min_per_device))
}

/// Whether `active` stake covers `devices` bonded devices.
pub fn covers(active: u64, devices: u32, min_per_device: u64) -> bool {
    u128::from(active) >= required_stake(devices, min_per_device)
}

/// Whether a position with `active` stake and `devices_bonded` bonds may bond one more
/// device: `active >= (devices_bonded + 1) * min_per_device`.
pub fn can_bond(active: u64, devices_bonded: u32, min_per_device: u64) -> Result<(), CoreError> {
    let devices = devices_bonded
        .checked_add(1)
        .ok_or(CoreError::MathOverflow)?;
    if covers(active, devices, min_per_device) {
        Ok(())
    } else {
        Err(CoreError::InsufficientStake)
    }
}

/// Active stake left after unstaking `amount`, if what is left still covers the bonds.
/// `InsufficientStake` if `amount > active` or the rest would be below
/// `devices_bonded * min_per_device`.
pub fn can_unstake(
    active: u64,
    amount: u64,
    devices_bonded: u32,
    min_per_device: u64,
) -> Result<u64, CoreError> {
    let rest = active
        .checked_sub(amount)
        .ok_or(CoreError::InsufficientStake)?;
    if covers(rest, devices_bonded, min_per_device) {
        Ok(rest)
    } else {
        Err(CoreError::InsufficientStake)
    }
}

/// Where a slash takes its amount from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlashSplit {
    /// Taken from active stake.
    pub from_active: u64,
    /// Taken from stake in cooldown.
    pub from_pending: u64,
}

/// Splits a slash of `amount`: active stake first, then pending, because pending stake is
/// on its way out and active stake is what backed the misbehaving devices.
pub fn split_slash(active: u64, pending: u64, amount: u64) -> Result<SlashSplit, CoreError> {
    let from_active = amount.min(active);
    let from_pending = amount
        .checked_sub(from_active)
        .ok_or(CoreError::MathOverflow)?;
    if from_pending > pending {
        return Err(CoreError::SlashExceedsStake);
    }
    Ok(SlashSplit {
        from_active,
        from_pending,
    })
}

/// Unix time at which a cooldown of `cooldown_secs` started at `now` ends.
pub fn unlock_time(now: i64, cooldown_secs: u64) -> Result<i64, CoreError> {
    let cooldown = i64::try_from(cooldown_secs).map_err(|_| CoreError::MathOverflow)?;
    now.checked_add(cooldown).ok_or(CoreError::MathOverflow)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::arithmetic_side_effects,
        reason = "test oracles use plain u128 math"
    )]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bonding_needs_one_more_minimum() {
        assert_eq!(can_bond(200, 1, 100), Ok(()));
        assert_eq!(can_bond(199, 1, 100), Err(CoreError::InsufficientStake));
        assert_eq!(can_bond(0, 0, 0), Ok(()));
        assert_eq!(
            can_bond(u64::MAX, u32::MAX, 1),
            Err(CoreError::MathOverflow)
        );
        assert_eq!(
            can_bond(u64::MAX, 2, u64::MAX),
            Err(CoreError::InsufficientStake)
        );
    }

    #[test]
    fn extreme_minimums_refuse_instead_of_overflowing() {
        // Given a minimum no position can reach, with devices bonded
        // Then unstaking is refused as insufficient (unbond first), never as an overflow,
        // and a position without bonds can always leave.
        assert_eq!(
            can_unstake(u64::MAX, 1, u32::MAX, u64::MAX),
            Err(CoreError::InsufficientStake)
        );
        assert_eq!(can_unstake(u64::MAX, u64::MAX, 0, u64::MAX), Ok(0));
        assert!(!covers(u64::MAX, 2, u64::MAX));
        assert!(covers(u64::MAX, 1, u64::MAX));
        assert_eq!(
            required_stake(u32::MAX, u64::MAX),
            u128::from(u32::MAX) * u128::from(u64::MAX)
        );
    }

    #[test]
    fn cooldowns_are_bounded() {
        assert_eq!(validate_cooldown(0), Ok(()));
        assert_eq!(validate_cooldown(MAX_COOLDOWN_SECS), Ok(()));
        assert_eq!(
            validate_cooldown(MAX_COOLDOWN_SECS + 1),
            Err(CoreError::InvalidCooldown)
        );
        assert_eq!(validate_cooldown(u64::MAX), Err(CoreError::InvalidCooldown));
        // Any valid cooldown from any realistic clock has an unlock time.
        assert!(unlock_time(i64::from(u32::MAX) * 100, MAX_COOLDOWN_SECS).is_ok());
    }

    #[test]
    fn unstaking_keeps_the_bonded_minimum() {
        assert_eq!(can_unstake(300, 100, 2, 100), Ok(200));
        assert_eq!(
            can_unstake(300, 101, 2, 100),
            Err(CoreError::InsufficientStake)
        );
        assert_eq!(
            can_unstake(300, 301, 0, 100),
            Err(CoreError::InsufficientStake)
        );
        assert_eq!(can_unstake(300, 300, 0, 100), Ok(0));
    }

    #[test]
    fn slash_takes_active_first() {
        assert_eq!(
            split_slash(100, 50, 120),
            Ok(SlashSplit {
                from_active: 100,
                from_pending: 20
            })
        );
        assert_eq!(
            split_slash(100, 50, 60),
            Ok(SlashSplit {
                from_active: 60,
                from_pending: 0
            })
        );
        assert_eq!(split_slash(100, 50, 151), Err(CoreError::SlashExceedsStake));
        assert_eq!(
            split_slash(u64::MAX, u64::MAX, u64::MAX),
            Ok(SlashSplit {
                from_active: u64::MAX,
                from_pending: 0
            })
        );
    }

    #[test]
    fn unlock_time_overflow_is_an_error() {
        assert_eq!(unlock_time(10, 5), Ok(15));
        assert_eq!(unlock_time(i64::MAX, 1), Err(CoreError::MathOverflow));
        assert_eq!(unlock_time(0, u64::MAX), Err(CoreError::MathOverflow));
    }

    proptest! {
        #[test]
        fn slash_split_sums_and_respects_buckets(active: u64, pending: u64, amount: u64) {
            match split_slash(active, pending, amount) {
                Ok(s) => {
                    prop_assert_eq!(u128::from(s.from_active) + u128::from(s.from_pending), u128::from(amount));
                    prop_assert!(s.from_active <= active && s.from_pending <= pending);
                    // pending is touched only once active is exhausted
                    prop_assert!(s.from_pending == 0 || s.from_active == active);
                }
                Err(e) => {
                    prop_assert_eq!(e, CoreError::SlashExceedsStake);
                    prop_assert!(u128::from(amount) > u128::from(active) + u128::from(pending));
                }
            }
        }

        #[test]
        fn bond_rule_matches_u128_oracle(active: u64, bonded in 0u32..u32::MAX, min: u64) {
            let need = (u128::from(bonded) + 1) * u128::from(min);
            let ok = u128::from(active) >= need;
            prop_assert_eq!(can_bond(active, bonded, min).is_ok(), ok);
        }

        #[test]
        fn unstake_rule_matches_u128_oracle(active: u64, amount: u64, bonded: u32, min: u64) {
            let ok = amount <= active && u128::from(active - amount.min(active)) >= u128::from(bonded) * u128::from(min);
            prop_assert_eq!(can_unstake(active, amount, bonded, min).is_ok(), ok);
        }
    }
}
