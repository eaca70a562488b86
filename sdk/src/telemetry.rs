//! Device-signed telemetry: what a gateway reports for its devices between on-chain events
//! (heartbeats and service metrics per device class), signed by the device key the registry
//! knows, so the telemetry service and the auditor can trust who said it.
//!
//! A report is signed over `DOMAIN || borsh(report)`; the domain keeps a telemetry
//! signature from ever being valid as a transaction or a meter reading. Each device numbers
//! its reports (`counter`, strictly increasing): the service refuses a counter at or below
//! the highest it accepted for the device, so a captured report cannot be replayed (and a
//! gateway sends its outbox in counter order).
//!
//! ```
//! use depin_sdk::telemetry::{Metrics, Report};
//! use solana_keypair::Keypair;
//! use solana_signer::Signer;
//!
//! let device = Keypair::new();
//! let report = Report {
//!     network: depin_sdk::pda::network(7).0,
//!     device_key: device.pubkey(),
//!     counter: 1,
//!     timestamp: 1_800_000_000,
//!     metrics: Metrics::Wireless { uptime_secs: 300, bytes_served: 12_000_000, latency_ms: 40 },
//! };
//! let signed = report.sign(&device);
//! assert!(signed.verify().is_ok());
//! ```

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, AnchorSerialize};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Prefix of every signed telemetry message.
pub const DOMAIN: &[u8] = b"depin-telemetry-v1";
/// Longest interval a report may cover, in seconds (a day).
pub const MAX_INTERVAL_SECS: u32 = 86_400;
/// Highest latency a report may claim, in milliseconds (a minute).
pub const MAX_LATENCY_MS: u32 = 60_000;
/// Most bytes a wireless device may serve per second (10 Gbit/s).
pub const MAX_BYTES_PER_SEC: u64 = 10_000_000_000 / 8;
/// Most bytes a wireless device may serve in one report (10 Gbit/s for a day).
pub const MAX_BYTES_PER_REPORT: u64 = MAX_BYTES_PER_SEC * MAX_INTERVAL_SECS as u64;
/// Highest power one meter may produce or consume, in watts (1 MW).
pub const MAX_WATTS: u64 = 1_000_000;
/// Most watt-hours one meter may produce or consume in one report (1 MW for a day).
pub const MAX_WH_PER_REPORT: u64 = MAX_WATTS * MAX_INTERVAL_SECS as u64 / 3_600;
/// Most storage challenges one report may count (in a day).
pub const MAX_CHALLENGES_PER_REPORT: u32 = 100_000;

/// How much longer than the difference of two reports' timestamps the interval between
/// them may have been on the device's own clock: 2 s, or 1% of a longer interval.
/// Timestamps are whole seconds (each end rounded), and a device measures its uptime on a
/// clock that drifts from the one stamping its reports; without it, a healthy device's
/// report stamped a second early would be refused whole. Reports a second apart can claim
/// at most three seconds' worth each.
pub fn interval_slack(elapsed_secs: u64) -> u64 {
    (elapsed_secs / 100).max(2)
}

/// What a device measured, by class.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub enum Metrics {
    /// Alive, nothing else to say.
    Heartbeat,
    /// A hotspot or small cell over the report's interval.
    Wireless {
        /// Seconds it was up.
        uptime_secs: u32,
        /// Bytes it carried.
        bytes_served: u64,
        /// Median round-trip latency, milliseconds.
        latency_ms: u32,
    },
    /// A storage node over the report's interval.
    Storage {
        /// Seconds it was up.
        uptime_secs: u32,
        /// Challenges it answered.
        proofs_answered: u32,
        /// Challenges it missed.
        proofs_missed: u32,
    },
    /// A meter over the report's interval.
    Energy {
        /// Watt-hours produced.
        produced_wh: u64,
        /// Watt-hours consumed.
        consumed_wh: u64,
    },
}

/// One report of one device.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The device's network.
    pub network: Pubkey,
    /// The device key (its secure element), which signs.
    pub device_key: Pubkey,
    /// The device's report number: strictly increasing per device.
    pub counter: u64,
    /// Unix time at the end of the interval the report covers.
    pub timestamp: i64,
    /// What it measured.
    pub metrics: Metrics,
}

/// A report and the device key's signature over [`Report::message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedReport {
    /// The report.
    pub report: Report,
    /// Ed25519 signature by `report.device_key`.
    pub signature: [u8; 64],
}

/// A signed report as it travels in JSON: the report's Borsh bytes in base64 (exactly the
/// bytes signed, after the domain) and the signature in base58.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireReport {
    /// `base64(borsh(report))`.
    pub report: String,
    /// `base58(signature)`.
    pub signature: String,
}

/// A gateway's batch: the reports of its devices, in one request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireBatch {
    /// The gateway that sends it (informational; every report carries its own signature):
    /// a name [`check_gateway_name`] accepts.
    pub gateway: String,
    /// The reports.
    pub reports: Vec<WireReport>,
}

/// The longest gateway name a batch may carry, in bytes. The service stores the name with
/// every report of the batch, so an unbounded one would let any single device multiply
/// what its reports cost the database.
pub const MAX_GATEWAY_NAME_LEN: usize = 64;

/// Why a gateway name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayNameError {
    /// The name is empty.
    #[error("the gateway name is empty")]
    Empty,
    /// The name is longer than [`MAX_GATEWAY_NAME_LEN`] bytes.
    #[error("the gateway name is {0} bytes long, more than {MAX_GATEWAY_NAME_LEN}")]
    TooLong(usize),
    /// The name holds a control character (a NUL, which PostgreSQL text refuses, a
    /// newline...).
    #[error("the gateway name holds the control character {0:?}")]
    Control(char),
}

/// Checks a gateway name: 1 to [`MAX_GATEWAY_NAME_LEN`] bytes, no control character.
pub fn check_gateway_name(name: &str) -> Result<(), GatewayNameError> {
    if name.is_empty() {
        return Err(GatewayNameError::Empty);
    }
    if name.len() > MAX_GATEWAY_NAME_LEN {
        return Err(GatewayNameError::TooLong(name.len()));
    }
    match name.chars().find(|c| c.is_control()) {
        Some(c) => Err(GatewayNameError::Control(c)),
        None => Ok(()),
    }
}

/// Why a report is refused before anything about its device is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// The signature is not the device key's over this report.
    #[error("bad signature: not signed by device key {0}")]
    BadSignature(Pubkey),
    /// A value is outside what the device class can produce.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// The wire form does not decode.
    #[error("malformed report: {0}")]
    Malformed(String),
}

impl Report {
    /// The signed bytes: [`DOMAIN`] then the report's Borsh encoding.
    pub fn message(&self) -> Vec<u8> {
        let mut message = DOMAIN.to_vec();
        // writing Borsh into a Vec cannot fail
        let _ = self.serialize(&mut message);
        message
    }

    /// Signs with the device key (which must be `self.device_key` for the report to verify).
    pub fn sign(self, device: &Keypair) -> SignedReport {
        let signature = device.sign_message(&self.message());
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(signature.as_ref());
        SignedReport {
            report: self,
            signature: bytes,
        }
    }

    /// Checks every value against what its class can produce.
    pub fn check_ranges(&self) -> Result<(), TelemetryError> {
        let out = |what: String| Err(TelemetryError::OutOfRange(what));
        if self.timestamp <= 0 {
            return out(format!("timestamp {} is not a unix time", self.timestamp));
        }
        match &self.metrics {
            Metrics::Heartbeat => Ok(()),
            Metrics::Wireless {
                uptime_secs,
                bytes_served,
                latency_ms,
            } => {
                if *uptime_secs > MAX_INTERVAL_SECS {
                    return out(format!("uptime {uptime_secs} s exceeds a day"));
                }
                if *bytes_served > MAX_BYTES_PER_REPORT {
                    return out(format!("{bytes_served} bytes exceed 10 Gbit/s for a day"));
                }
                if *latency_ms > MAX_LATENCY_MS {
                    return out(format!("latency {latency_ms} ms exceeds a minute"));
                }
                Ok(())
            }
            Metrics::Storage {
                uptime_secs,
                proofs_answered,
                proofs_missed,
            } => {
                if *uptime_secs > MAX_INTERVAL_SECS {
                    return out(format!("uptime {uptime_secs} s exceeds a day"));
                }
                if proofs_answered.saturating_add(*proofs_missed) > MAX_CHALLENGES_PER_REPORT {
                    return out(format!(
                        "{} challenges exceed {MAX_CHALLENGES_PER_REPORT}",
                        u64::from(*proofs_answered) + u64::from(*proofs_missed)
                    ));
                }
                Ok(())
            }
            Metrics::Energy {
                produced_wh,
                consumed_wh,
            } => {
                if *produced_wh > MAX_WH_PER_REPORT || *consumed_wh > MAX_WH_PER_REPORT {
                    return out(format!(
                        "{produced_wh} Wh produced / {consumed_wh} Wh consumed exceed 1 MW for a day"
                    ));
                }
                Ok(())
            }
        }
    }

    /// Checks that what the report measured fits `elapsed_secs`, the time since the
    /// device's last measuring report (a report covers the interval ending at its
    /// timestamp), give or take [`interval_slack`]: uptime at most the interval, bytes at
    /// most [`MAX_BYTES_PER_SEC`] for it, watt-hours at most [`MAX_WATTS`] for it,
    /// challenges at most [`MAX_CHALLENGES_PER_REPORT`] a day for it (each rounded down).
    /// [`Report::check_ranges`] bounds one report by a day; this bounds many reports
    /// stamped close together, which would otherwise each claim a day's worth.
    pub fn check_interval(&self, elapsed_secs: u64) -> Result<(), TelemetryError> {
        let out = |what: String| {
            Err(TelemetryError::OutOfRange(format!(
                "{what} in the {elapsed_secs} s since the device's last report"
            )))
        };
        // per-day maxima scaled to the interval and its slack, rounded down; a day or
        // more is the day's
        let day = u64::from(MAX_INTERVAL_SECS);
        let secs = elapsed_secs
            .saturating_add(interval_slack(elapsed_secs))
            .min(day);
        let scaled = |per_day: u64| u128::from(per_day) * u128::from(secs) / u128::from(day);
        let uptime_fits = |uptime: u32| u64::from(uptime) <= secs;
        match &self.metrics {
            Metrics::Heartbeat => Ok(()),
            Metrics::Wireless {
                uptime_secs,
                bytes_served,
                ..
            } => {
                if !uptime_fits(*uptime_secs) {
                    return out(format!("uptime {uptime_secs} s"));
                }
                if u128::from(*bytes_served) > scaled(MAX_BYTES_PER_REPORT) {
                    return out(format!("{bytes_served} bytes exceed 10 Gbit/s"));
                }
                Ok(())
            }
            Metrics::Storage {
                uptime_secs,
                proofs_answered,
                proofs_missed,
            } => {
                if !uptime_fits(*uptime_secs) {
                    return out(format!("uptime {uptime_secs} s"));
                }
                let challenges = u64::from(*proofs_answered) + u64::from(*proofs_missed);
                if u128::from(challenges) > scaled(u64::from(MAX_CHALLENGES_PER_REPORT)) {
                    return out(format!(
                        "{challenges} challenges exceed {MAX_CHALLENGES_PER_REPORT} a day"
                    ));
                }
                Ok(())
            }
            Metrics::Energy {
                produced_wh,
                consumed_wh,
            } => {
                let most = scaled(MAX_WH_PER_REPORT);
                if u128::from(*produced_wh) > most || u128::from(*consumed_wh) > most {
                    return out(format!(
                        "{produced_wh} Wh produced / {consumed_wh} Wh consumed exceed 1 MW"
                    ));
                }
                Ok(())
            }
        }
    }
}

impl SignedReport {
    /// The JSON wire form.
    pub fn to_wire(&self) -> WireReport {
        use base64::Engine;
        let mut bytes = Vec::new();
        // writing Borsh into a Vec cannot fail
        let _ = self.report.serialize(&mut bytes);
        WireReport {
            report: base64::engine::general_purpose::STANDARD.encode(bytes),
            signature: solana_signature::Signature::from(self.signature).to_string(),
        }
    }

    /// Decodes the JSON wire form (nothing is verified yet: see [`SignedReport::verify`]).
    pub fn from_wire(wire: &WireReport) -> Result<Self, TelemetryError> {
        use base64::Engine;
        use std::str::FromStr;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&wire.report)
            .map_err(|e| TelemetryError::Malformed(format!("report is not base64: {e}")))?;
        let report = Report::try_from_slice(&bytes)
            .map_err(|e| TelemetryError::Malformed(format!("report does not decode: {e}")))?;
        let signature = solana_signature::Signature::from_str(&wire.signature)
            .map_err(|e| TelemetryError::Malformed(format!("signature: {e}")))?;
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(signature.as_ref());
        Ok(SignedReport {
            report,
            signature: bytes,
        })
    }

    /// Checks the signature and the ranges (what can be checked without the chain).
    pub fn verify(&self) -> Result<(), TelemetryError> {
        let signature = solana_signature::Signature::from(self.signature);
        if !signature.verify(self.report.device_key.as_ref(), &self.report.message()) {
            return Err(TelemetryError::BadSignature(self.report.device_key));
        }
        self.report.check_ranges()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_names_are_bounded_and_printable() {
        assert_eq!(check_gateway_name("gw-1"), Ok(()));
        assert_eq!(
            check_gateway_name(&"g".repeat(MAX_GATEWAY_NAME_LEN)),
            Ok(())
        );
        assert_eq!(check_gateway_name("rooftop Zürich 3"), Ok(()));
        assert_eq!(check_gateway_name(""), Err(GatewayNameError::Empty));
        assert_eq!(
            check_gateway_name(&"g".repeat(MAX_GATEWAY_NAME_LEN + 1)),
            Err(GatewayNameError::TooLong(MAX_GATEWAY_NAME_LEN + 1))
        );
        // the limit counts bytes: 33 two-byte letters are 66 bytes
        assert_eq!(
            check_gateway_name(&"ü".repeat(33)),
            Err(GatewayNameError::TooLong(66))
        );
        assert_eq!(
            check_gateway_name("gw\0"),
            Err(GatewayNameError::Control('\0'))
        );
        assert_eq!(
            check_gateway_name("gw\n2"),
            Err(GatewayNameError::Control('\n'))
        );
    }

    fn report(device: &Keypair, metrics: Metrics) -> Report {
        Report {
            network: Pubkey::new_unique(),
            device_key: device.pubkey(),
            counter: 7,
            timestamp: 1_800_000_000,
            metrics,
        }
    }

    #[test]
    fn a_signed_report_verifies_and_any_change_breaks_it() {
        let device = Keypair::new();
        let signed = report(&device, Metrics::Heartbeat).sign(&device);
        assert_eq!(signed.verify(), Ok(()));
        let mut replayed_elsewhere = signed.clone();
        replayed_elsewhere.report.counter += 1;
        assert!(matches!(
            replayed_elsewhere.verify(),
            Err(TelemetryError::BadSignature(_))
        ));
        // signed by another key
        let other = Keypair::new();
        let forged = report(&device, Metrics::Heartbeat).sign(&other);
        assert!(matches!(
            forged.verify(),
            Err(TelemetryError::BadSignature(_))
        ));
        // the domain separates it from the bare encoding
        let bare = other.sign_message(&borsh_of(&signed.report));
        let mut without_domain = signed.clone();
        without_domain.signature.copy_from_slice(bare.as_ref());
        assert!(without_domain.verify().is_err());
    }

    fn borsh_of(report: &Report) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = report.serialize(&mut out);
        out
    }

    #[test]
    fn the_wire_form_round_trips_and_garbage_is_malformed() {
        let device = Keypair::new();
        let signed = report(
            &device,
            Metrics::Energy {
                produced_wh: 5,
                consumed_wh: 1,
            },
        )
        .sign(&device);
        let wire = signed.to_wire();
        assert_eq!(SignedReport::from_wire(&wire), Ok(signed));
        for bad in [
            WireReport {
                report: "!!".into(),
                signature: wire.signature.clone(),
            },
            WireReport {
                report: "AAAA".into(),
                signature: wire.signature.clone(),
            },
            WireReport {
                report: wire.report.clone(),
                signature: "0OIl".into(),
            },
        ] {
            assert!(matches!(
                SignedReport::from_wire(&bad),
                Err(TelemetryError::Malformed(_))
            ));
        }
    }

    #[test]
    fn values_beyond_the_class_are_refused() {
        let device = Keypair::new();
        let cases = [
            Metrics::Wireless {
                uptime_secs: MAX_INTERVAL_SECS + 1,
                bytes_served: 0,
                latency_ms: 0,
            },
            Metrics::Wireless {
                uptime_secs: 0,
                bytes_served: MAX_BYTES_PER_REPORT + 1,
                latency_ms: 0,
            },
            Metrics::Wireless {
                uptime_secs: 0,
                bytes_served: 0,
                latency_ms: MAX_LATENCY_MS + 1,
            },
            Metrics::Storage {
                uptime_secs: 0,
                proofs_answered: u32::MAX,
                proofs_missed: u32::MAX,
            },
            Metrics::Energy {
                produced_wh: MAX_WH_PER_REPORT + 1,
                consumed_wh: 0,
            },
        ];
        for metrics in cases {
            let signed = report(&device, metrics.clone()).sign(&device);
            assert!(
                matches!(signed.verify(), Err(TelemetryError::OutOfRange(_))),
                "{metrics:?}"
            );
        }
        let mut old = report(&device, Metrics::Heartbeat);
        old.timestamp = 0;
        assert!(matches!(
            old.sign(&device).verify(),
            Err(TelemetryError::OutOfRange(_))
        ));
        let at_limits = Metrics::Wireless {
            uptime_secs: MAX_INTERVAL_SECS,
            bytes_served: MAX_BYTES_PER_REPORT,
            latency_ms: MAX_LATENCY_MS,
        };
        assert_eq!(report(&device, at_limits).sign(&device).verify(), Ok(()));
    }

    #[test]
    fn what_a_report_measured_must_fit_the_time_since_the_last() {
        let device = Keypair::new();
        let fits = |metrics: Metrics, secs: u64| report(&device, metrics).check_interval(secs);
        let wireless = |uptime_secs, bytes_served| Metrics::Wireless {
            uptime_secs,
            bytes_served,
            latency_ms: 20,
        };
        let storage = |uptime_secs, proofs_answered, proofs_missed| Metrics::Storage {
            uptime_secs,
            proofs_answered,
            proofs_missed,
        };
        let energy = |produced_wh, consumed_wh| Metrics::Energy {
            produced_wh,
            consumed_wh,
        };
        // at the class's rate for the interval and its slack (2 s, or 1% of a longer
        // one): accepted
        assert_eq!(
            [0, 1, 300, 10_000, u64::MAX].map(interval_slack),
            [2, 2, 3, 100, u64::MAX / 100]
        );
        for (metrics, secs) in [
            (Metrics::Heartbeat, 0),
            (wireless(303, 303 * MAX_BYTES_PER_SEC), 300),
            (wireless(3, 3 * MAX_BYTES_PER_SEC), 1),
            (wireless(2, 0), 0),
            (wireless(10_100, 10_100 * MAX_BYTES_PER_SEC), 10_000),
            (storage(303, 349, 1), 300), // 100,000 a day is 350.7 in 303 s, rounded down
            (energy(84_166, 84_166), 300), // 1 MW for 303 s is 84,166.7 Wh
            (energy(833, 0), 1),         // 833.3 Wh in 3 s
            // a day or more: the day's bound, which `check_ranges` also applies
            (wireless(MAX_INTERVAL_SECS, MAX_BYTES_PER_REPORT), u64::MAX),
            (energy(MAX_WH_PER_REPORT, 0), 10 * 86_400),
        ] {
            assert_eq!(
                fits(metrics.clone(), secs),
                Ok(()),
                "{metrics:?} in {secs} s"
            );
        }
        // one unit past it: refused, saying why
        for (metrics, secs, needle) in [
            (wireless(304, 0), 300, "uptime 304 s"),
            (
                wireless(0, 303 * MAX_BYTES_PER_SEC + 1),
                300,
                "bytes exceed",
            ),
            (wireless(3, 0), 0, "uptime 3 s"),
            (wireless(0, 2 * MAX_BYTES_PER_SEC + 1), 0, "bytes exceed"),
            (wireless(10_101, 0), 10_000, "uptime 10101 s"),
            (storage(303, 350, 1), 300, "351 challenges"),
            (storage(0, 1, 2), 0, "3 challenges"), // 2.3 in 2 s, rounded down: 2
            (energy(0, 84_167), 300, "Wh consumed"),
            (energy(834, 0), 1, "834 Wh produced"),
            (
                wireless(MAX_INTERVAL_SECS + 1, 0),
                u64::MAX,
                "uptime 86401 s",
            ),
        ] {
            match fits(metrics.clone(), secs) {
                Err(TelemetryError::OutOfRange(why)) => {
                    assert!(why.contains(needle), "{why}");
                    assert!(why.contains(&format!("the {secs} s since")), "{why}");
                }
                other => panic!("{metrics:?} in {secs} s: {other:?}"),
            }
        }
    }
}
