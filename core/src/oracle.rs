//! Oracle sets: who may propose reward roots, and how many must agree.

use crate::error::CoreError;

/// Most oracles a network may have.
pub const MAX_ORACLES: usize = 11;

/// Checks an oracle set: 1 to [`MAX_ORACLES`] distinct keys, none all-zero (the default key
/// nobody holds), and a quorum that is a strict majority of the set (so two different roots
/// can never both gather a quorum from honest-majority oracles) and at most its size.
pub fn validate_oracle_set(oracles: &[[u8; 32]], quorum: u8) -> Result<(), CoreError> {
    if oracles.is_empty() || oracles.len() > MAX_ORACLES {
        return Err(CoreError::InvalidOracleSet);
    }
    for (i, key) in oracles.iter().enumerate() {
        if *key == [0u8; 32] || oracles.iter().skip(i.saturating_add(1)).any(|k| k == key) {
            return Err(CoreError::InvalidOracleSet);
        }
    }
    let n = oracles.len();
    let q = usize::from(quorum);
    // strict majority: 2q > n, written without overflow (q <= 255)
    if q > n || q.saturating_mul(2) <= n {
        return Err(CoreError::InvalidQuorum);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> Vec<[u8; 32]> {
        (1..=n).map(|i| [i; 32]).collect()
    }

    #[test]
    fn sets_and_quorums() {
        assert_eq!(validate_oracle_set(&keys(1), 1), Ok(()));
        assert_eq!(validate_oracle_set(&keys(3), 2), Ok(()));
        assert_eq!(validate_oracle_set(&keys(11), 6), Ok(()));
        assert_eq!(
            validate_oracle_set(&keys(4), 2),
            Err(CoreError::InvalidQuorum)
        );
        assert_eq!(
            validate_oracle_set(&keys(3), 4),
            Err(CoreError::InvalidQuorum)
        );
        assert_eq!(
            validate_oracle_set(&keys(3), 0),
            Err(CoreError::InvalidQuorum)
        );
        assert_eq!(
            validate_oracle_set(&[], 0),
            Err(CoreError::InvalidOracleSet)
        );
        assert_eq!(
            validate_oracle_set(&keys(12), 7),
            Err(CoreError::InvalidOracleSet)
        );
        assert_eq!(
            validate_oracle_set(&[[1; 32], [1; 32]], 2),
            Err(CoreError::InvalidOracleSet)
        );
        assert_eq!(
            validate_oracle_set(&[[0; 32]], 1),
            Err(CoreError::InvalidOracleSet)
        );
    }
}
