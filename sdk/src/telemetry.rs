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

/// How far past its timestamp a device's reports may have claimed, in seconds
/// ([`Report::claim_from`]): timestamps are whole seconds (each end rounded), so a
/// healthy device's report stamped a second early must not be refused whole.
pub const CLAIM_SLACK_SECS: i64 = 2;

/// How much faster than its class's highest rate a device's reports may claim, in percent
/// ([`Report::claim_from`]): a device counts its uptime on a clock that drifts from the
/// one stamping its reports. Within it, the drift is absorbed however long it lasts.
pub const CLAIM_DRIFT_PERCENT: u64 = 1;

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

    /// Seconds what the report measured takes at its class's highest rate, rounded up, and
    /// which measurement sets it: its uptime, its bytes at [`MAX_BYTES_PER_SEC`], its
    /// challenges at [`MAX_CHALLENGES_PER_REPORT`] a day, its watt-hours at [`MAX_WATTS`];
    /// none for a heartbeat.
    pub fn claimed_secs(&self) -> (u64, String) {
        let day = u128::from(MAX_INTERVAL_SECS);
        // seconds `amount` takes at `per_day` a day, rounded up
        let at = |amount: u128, per_day: u128| {
            u64::try_from((amount * day).div_ceil(per_day)).unwrap_or(u64::MAX)
        };
        let uptime = |secs: u32| (u64::from(secs), format!("uptime {secs} s"));
        match &self.metrics {
            Metrics::Heartbeat => (0, "nothing".into()),
            Metrics::Wireless {
                uptime_secs,
                bytes_served,
                ..
            } => uptime(*uptime_secs).max((
                at(u128::from(*bytes_served), u128::from(MAX_BYTES_PER_REPORT)),
                format!("{bytes_served} bytes at 10 Gbit/s"),
            )),
            Metrics::Storage {
                uptime_secs,
                proofs_answered,
                proofs_missed,
            } => {
                let challenges = u64::from(*proofs_answered) + u64::from(*proofs_missed);
                uptime(*uptime_secs).max((
                    at(
                        u128::from(challenges),
                        u128::from(MAX_CHALLENGES_PER_REPORT),
                    ),
                    format!("{challenges} challenges at {MAX_CHALLENGES_PER_REPORT} a day"),
                ))
            }
            Metrics::Energy {
                produced_wh,
                consumed_wh,
            } => {
                let wh = (*produced_wh).max(*consumed_wh);
                (
                    at(u128::from(wh), u128::from(MAX_WH_PER_REPORT)),
                    format!("{wh} Wh at 1 MW"),
                )
            }
        }
    }

    /// Accounts the report against `claimed_through`: the time up to which the device's
    /// earlier measuring reports have claimed its class's highest rate (or when it was
    /// reinstated). What the report measured ([`Report::claimed_secs`]) is claimed from
    /// then on at that rate plus [`CLAIM_DRIFT_PERCENT`], and must end by the report's
    /// timestamp plus [`CLAIM_SLACK_SECS`]; returns the new claimed-through time (the
    /// timestamp, or later when the report claimed past it, which the next report then
    /// claims after). A device's reports can therefore never claim more than the time
    /// that passed, plus the drift and those two seconds: reports a second apart claim a
    /// second each, whatever their number. A report claiming nothing is always accepted.
    /// [`Report::check_ranges`] bounds a device's first report (nothing to account it
    /// against) by a day.
    pub fn claim_from(&self, claimed_through: i64) -> Result<i64, TelemetryError> {
        let (secs, what) = self.claimed_secs();
        // the seconds it takes at the class's highest rate plus the drift, rounded up
        let cost =
            u64::try_from((u128::from(secs) * 100).div_ceil(100 + u128::from(CLAIM_DRIFT_PERCENT)))
                .unwrap_or(u64::MAX);
        let end = claimed_through.saturating_add(i64::try_from(cost).unwrap_or(i64::MAX));
        if cost > 0 && end > self.timestamp.saturating_add(CLAIM_SLACK_SECS) {
            let since = self.timestamp.saturating_sub(claimed_through).max(0);
            return Err(TelemetryError::OutOfRange(format!(
                "{what} make {secs} s of service ({cost} s at the class's highest rate plus \
                 {CLAIM_DRIFT_PERCENT}%), but {since} s have passed since {claimed_through}, \
                 up to which the device's earlier reports claimed"
            )));
        }
        Ok(end.max(self.timestamp))
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
    fn what_a_report_measured_is_claimed_at_its_class_rate_and_the_slack_never_adds_up() {
        let device = Keypair::new();
        let t = report(&device, Metrics::Heartbeat).timestamp;
        let at = |ts: i64, metrics: Metrics| Report {
            timestamp: ts,
            ..report(&device, metrics)
        };
        let wireless = |uptime_secs, bytes_served| Metrics::Wireless {
            uptime_secs,
            bytes_served,
            latency_ms: 20,
        };
        let storage = |uptime_secs, proofs_answered| Metrics::Storage {
            uptime_secs,
            proofs_answered,
            proofs_missed: 1,
        };
        let energy = |produced_wh, consumed_wh| Metrics::Energy {
            produced_wh,
            consumed_wh,
        };
        // claimed from the last claimed-through time at the class's rate plus 1%: within the
        // report's time and 2 s accepted, what runs past its time carried
        for (from, metrics, through) in [
            (t, Metrics::Heartbeat, t),
            (t - 300, wireless(300, 300 * MAX_BYTES_PER_SEC), t), // 297.03 s: 298
            (t - 300, wireless(303, 0), t),                       // 300 s
            (t - 300, wireless(305, 0), t + 2),                   // 301.98 s: 302
            (t - 300, wireless(0, 305 * MAX_BYTES_PER_SEC), t + 2),
            (t - 300, storage(300, 352), t + 2), // 353 challenges: 305 s
            (t - 300, energy(0, 84_722), t + 2), // 305.0 s at 1 MW
            (t - 10_000, wireless(10_102, 0), t + 2),
            (t - 298, wireless(300, 0), t), // 2 s ahead, then back in step
            (t - 10, wireless(1, 0), t),    // claiming less than passed: the time passed
            (t + 2, wireless(0, 0), t + 2), // ahead, claiming nothing
            (i64::MIN, wireless(u32::MAX, u64::MAX), t),
        ] {
            assert_eq!(
                at(t, metrics.clone()).claim_from(from),
                Ok(through),
                "{metrics:?} from {from}"
            );
        }
        // a second more: refused, saying what took how long
        for (from, metrics, needle) in [
            (
                t - 300,
                wireless(306, 0),
                "uptime 306 s make 306 s of service (303 s",
            ),
            (
                t - 300,
                wireless(0, 305 * MAX_BYTES_PER_SEC + 1),
                "bytes at 10 Gbit/s make 306 s",
            ),
            (
                t - 300,
                storage(0, 353),
                "354 challenges at 100000 a day make 306 s",
            ),
            (t - 300, energy(0, 84_723), "84723 Wh at 1 MW make 306 s"),
            (
                t - 10_000,
                wireless(10_103, 0),
                "10003 s at the class's highest rate",
            ),
            (t + 2, wireless(1, 0), "but 0 s have passed"),
            (t, wireless(3, 0), "uptime 3 s make 3 s"),
        ] {
            match at(t, metrics.clone()).claim_from(from) {
                Err(TelemetryError::OutOfRange(why)) => assert!(why.contains(needle), "{why}"),
                other => panic!("{metrics:?} from {from}: {other:?}"),
            }
        }
        // reports a second apart, each claiming three seconds: the first takes the slack,
        // the second finds none left, and a report claiming what passed goes on
        let first = at(t, wireless(3, 0)).claim_from(t - 1);
        assert_eq!(first, Ok(t + 2));
        assert!(at(t + 1, wireless(3, 0)).claim_from(t + 2).is_err());
        assert_eq!(at(t + 1, wireless(1, 0)).claim_from(t + 2), Ok(t + 3));
        // a device counting a second more in every five minutes (0.3%) is never refused;
        // one counting five more (1.7%) is refused by its second report
        for (extra, accepted) in [(1, 1_000), (5, 1)] {
            let mut claimed = t;
            let mut taken = 0;
            for k in 1..=1_000 {
                match at(t + 300 * k, wireless(300 + extra, 0)).claim_from(claimed) {
                    Ok(through) => {
                        claimed = through;
                        taken += 1;
                    }
                    Err(_) => break,
                }
            }
            assert_eq!(taken, accepted, "{extra} s more every 300 s");
        }
    }
}
