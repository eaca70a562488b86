//! Epoch arithmetic: epoch `e` covers `[genesis + e * duration, genesis + (e + 1) * duration)`.

use crate::error::CoreError;

/// Longest epoch, proving period or market interval a network may configure: 366 days.
/// With it (and a genesis at most a year ahead) the end of every epoch below 2^32 fits an
/// `i64` timestamp many times over, so no setting can make later arithmetic overflow.
pub const MAX_DURATION_SECS: u64 = 366 * 86_400;
/// How far after its configuration a genesis (the start of epoch 0) may lie: 366 days.
pub const MAX_GENESIS_LEAD_SECS: i64 = 366 * 86_400;

/// `InvalidEpochDuration` unless `1 <= duration_secs <= MAX_DURATION_SECS`.
pub fn validate_duration(duration_secs: u64) -> Result<(), CoreError> {
    if (1..=MAX_DURATION_SECS).contains(&duration_secs) {
        Ok(())
    } else {
        Err(CoreError::InvalidEpochDuration)
    }
}

/// `InvalidGenesis` unless `0 <= genesis_ts <= now + MAX_GENESIS_LEAD_SECS`.
pub fn validate_genesis(genesis_ts: i64, now: i64) -> Result<(), CoreError> {
    let latest = now.saturating_add(MAX_GENESIS_LEAD_SECS);
    if (0..=latest).contains(&genesis_ts) {
        Ok(())
    } else {
        Err(CoreError::InvalidGenesis)
    }
}

/// Unix time at which `epoch` ends (the first second of the next epoch).
/// `InvalidEpochDuration` for a zero duration, `MathOverflow` past the end of time.
pub fn epoch_end(genesis_ts: i64, duration_secs: u64, epoch: u64) -> Result<i64, CoreError> {
    if duration_secs == 0 {
        return Err(CoreError::InvalidEpochDuration);
    }
    let epochs = i128::from(epoch)
        .checked_add(1)
        .ok_or(CoreError::MathOverflow)?;
    let end = epochs
        .checked_mul(i128::from(duration_secs))
        .and_then(|span| span.checked_add(i128::from(genesis_ts)))
        .ok_or(CoreError::MathOverflow)?;
    i64::try_from(end).map_err(|_| CoreError::MathOverflow)
}

/// The epoch `now` falls in, `None` before genesis or for a zero duration.
pub fn epoch_at(genesis_ts: i64, duration_secs: u64, now: i64) -> Option<u64> {
    let elapsed = u64::try_from(i128::from(now).checked_sub(i128::from(genesis_ts))?).ok()?;
    elapsed.checked_div(duration_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn boundaries() {
        assert_eq!(epoch_end(1_000, 10, 0), Ok(1_010));
        assert_eq!(epoch_end(1_000, 10, 4), Ok(1_050));
        assert_eq!(epoch_end(0, 0, 0), Err(CoreError::InvalidEpochDuration));
        assert_eq!(epoch_end(i64::MAX, 1, 0), Err(CoreError::MathOverflow));
        assert_eq!(
            epoch_end(0, u64::MAX, u64::MAX),
            Err(CoreError::MathOverflow)
        );
        assert_eq!(epoch_at(1_000, 10, 999), None);
        assert_eq!(epoch_at(1_000, 10, 1_000), Some(0));
        assert_eq!(epoch_at(1_000, 10, 1_049), Some(4));
        assert_eq!(epoch_at(1_000, 0, 1_049), None);
    }

    #[test]
    fn settings_are_bounded() {
        assert_eq!(validate_duration(1), Ok(()));
        assert_eq!(validate_duration(MAX_DURATION_SECS), Ok(()));
        assert_eq!(validate_duration(0), Err(CoreError::InvalidEpochDuration));
        assert_eq!(
            validate_duration(MAX_DURATION_SECS + 1),
            Err(CoreError::InvalidEpochDuration)
        );
        let now = 1_800_000_000;
        assert_eq!(validate_genesis(0, now), Ok(()));
        assert_eq!(validate_genesis(now + MAX_GENESIS_LEAD_SECS, now), Ok(()));
        assert_eq!(
            validate_genesis(now + MAX_GENESIS_LEAD_SECS + 1, now),
            Err(CoreError::InvalidGenesis)
        );
        assert_eq!(validate_genesis(-1, now), Err(CoreError::InvalidGenesis));
        assert_eq!(validate_genesis(i64::MAX, i64::MAX), Ok(()));
        // The most extreme valid settings still have an end for every u32 epoch.
        let genesis = now + MAX_GENESIS_LEAD_SECS;
        assert!(epoch_end(genesis, MAX_DURATION_SECS, u64::from(u32::MAX)).is_ok());
    }

    proptest! {
        #[test]
        fn now_is_before_the_end_of_its_epoch(genesis in -1_000_000i64..1_000_000, duration in 1u64..100_000, offset in 0i64..1_000_000_000) {
            let now = genesis + offset;
            let epoch = epoch_at(genesis, duration, now).unwrap();
            let end = epoch_end(genesis, duration, epoch).unwrap();
            prop_assert!(now < end && end - now <= duration as i64);
        }
    }
}
