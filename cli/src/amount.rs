//! Token amounts in UI units (`1.5` of a 6-decimal mint is 1,500,000 base units), parsed with
//! integer arithmetic only: a float cannot hold every u64 amount exactly.

use std::fmt;
use std::str::FromStr;

/// An amount as the user typed it: digits with at most one decimal point, checked for form
/// only. Its value depends on the mint's decimals: see [`UiAmount::to_base_units`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiAmount {
    whole: String,
    fraction: String,
}

/// Why an amount is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not digits with at most one decimal point.
    #[error("amount {0:?} is not a number (digits with at most one '.')")]
    Malformed(String),
    /// More fraction digits than the mint has decimals.
    #[error("amount {amount} has more decimals than the mint's {decimals}")]
    TooManyDecimals {
        /// The amount typed.
        amount: String,
        /// The mint's decimals.
        decimals: u8,
    },
    /// Larger than a u64 of base units.
    #[error("amount {0} is too large for a token amount")]
    Overflow(String),
}

impl FromStr for UiAmount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || AmountError::Malformed(s.to_string());
        let (whole, fraction) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) {
            return Err(malformed());
        }
        if s.contains('.') && fraction.is_empty() {
            return Err(malformed());
        }
        Ok(UiAmount {
            whole: whole.to_string(),
            fraction: fraction.to_string(),
        })
    }
}

impl fmt::Display for UiAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fraction.is_empty() {
            write!(f, "{}", self.whole)
        } else {
            write!(f, "{}.{}", self.whole, self.fraction)
        }
    }
}

impl UiAmount {
    /// Base units at `decimals`; more fraction digits than `decimals` is an error, even
    /// trailing zeros (`1.50` with one decimal), since it says the user had another mint
    /// in mind.
    pub fn to_base_units(&self, decimals: u8) -> Result<u64, AmountError> {
        let overflow = || AmountError::Overflow(self.to_string());
        if self.fraction.len() > usize::from(decimals) {
            return Err(AmountError::TooManyDecimals {
                amount: self.to_string(),
                decimals,
            });
        }
        let scale = 10u64
            .checked_pow(u32::from(decimals))
            .ok_or_else(overflow)?;
        let whole: u64 = self.whole.parse().map_err(|_| overflow())?;
        let mut fraction: u64 = 0;
        if !self.fraction.is_empty() {
            fraction = self.fraction.parse().map_err(|_| overflow())?;
            let pad =
                u32::from(decimals) - u32::try_from(self.fraction.len()).map_err(|_| overflow())?;
            fraction = fraction
                .checked_mul(10u64.checked_pow(pad).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
        }
        whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(fraction))
            .ok_or_else(overflow)
    }
}

/// `amount` base units in UI form at `decimals`, without trailing zeros (`1500000` at 6 is
/// `"1.5"`).
pub fn format_ui(amount: u64, decimals: u8) -> String {
    let Some(scale) = 10u64.checked_pow(u32::from(decimals)) else {
        return amount.to_string();
    };
    let whole = amount / scale;
    let fraction = amount % scale;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str, decimals: u8) -> Result<u64, AmountError> {
        s.parse::<UiAmount>()?.to_base_units(decimals)
    }

    #[test]
    fn ui_amounts_scale_by_the_mint_decimals() {
        assert_eq!(parse("1.5", 6), Ok(1_500_000));
        assert_eq!(parse("1", 6), Ok(1_000_000));
        assert_eq!(parse("0.000001", 6), Ok(1));
        assert_eq!(parse("007", 0), Ok(7));
        assert_eq!(parse("18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(parse("18446744073.709551615", 9), Ok(u64::MAX));
    }

    #[test]
    fn bad_amounts_are_refused_not_rounded() {
        assert!(matches!(
            parse("1.0000001", 6),
            Err(AmountError::TooManyDecimals { decimals: 6, .. })
        ));
        assert!(matches!(
            parse("1.5", 0),
            Err(AmountError::TooManyDecimals { .. })
        ));
        for bad in [
            "", ".5", "1.", "-1", "+1", "1e6", "1.2.3", "one", " 1", "1,5",
        ] {
            assert!(
                matches!(bad.parse::<UiAmount>(), Err(AmountError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse("18446744073709551616", 0),
            Err(AmountError::Overflow(_))
        ));
        assert!(matches!(
            parse("18446744073709.551616", 6),
            Err(AmountError::Overflow(_))
        ));
        assert!(matches!(parse("1", 20), Err(AmountError::Overflow(_))));
    }

    #[test]
    fn base_units_format_back_without_trailing_zeros() {
        assert_eq!(format_ui(1_500_000, 6), "1.5");
        assert_eq!(format_ui(1_000_000, 6), "1");
        assert_eq!(format_ui(1, 6), "0.000001");
        assert_eq!(format_ui(42, 0), "42");
        assert_eq!(format_ui(u64::MAX, 9), "18446744073.709551615");
    }
}
