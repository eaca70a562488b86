//! Per-device features of one scoring window (an epoch: a day in the simulator and the
//! benchmark, the auditor's interval in the live service).
//!
//! [`extract`] reduces a device's raw reports (whatever their interval) to a fixed, compact
//! [`DayFeatures`]: how many reports arrived against how many were expected, the service it
//! reported per time bucket (at most [`MAX_BUCKETS`] buckets of at least one report interval
//! each), the totals of its secondary metric, and the shapes a broken meter leaves (every
//! reading zero, no uptime, the longest run of identical readings). Everything that compares
//! a device with others (its region's baseline, its own history) happens in
//! [`crate::detect`], so the extraction can run where the reports are, device by device.

use serde::Serialize;

/// Most time buckets in a window (hours of a day in the simulator).
pub const MAX_BUCKETS: usize = 24;

/// What a device is, as told by its network's kind (or, for a network not indexed, by the
/// kind of its telemetry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    /// A hotspot or small cell: service is bytes carried.
    Wireless,
    /// A storage node: service is storage challenges answered.
    Storage,
    /// A meter on a producer: service is watt-hours produced.
    Energy,
    /// Heartbeats only (or nothing yet): no service to compare.
    Other,
}

impl DeviceClass {
    /// The class of a telemetry `kind` column.
    pub fn from_kind(kind: &str) -> DeviceClass {
        match kind {
            "wireless" => DeviceClass::Wireless,
            "storage" => DeviceClass::Storage,
            "energy" => DeviceClass::Energy,
            _ => DeviceClass::Other,
        }
    }

    /// The name of its service metric, as the explanations print it.
    pub fn service(self) -> &'static str {
        match self {
            DeviceClass::Wireless => "bytes served",
            DeviceClass::Storage => "challenges answered",
            DeviceClass::Energy => "Wh produced",
            DeviceClass::Other => "reports",
        }
    }

    /// Whether its reports carry an uptime (a device up for none of them is broken).
    pub fn has_uptime(self) -> bool {
        matches!(self, DeviceClass::Wireless | DeviceClass::Storage)
    }
}

/// One report, reduced to what the detectors read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Unix time at the end of the interval the report covers.
    pub ts: i64,
    /// Seconds up in the interval (wireless and storage; 0 otherwise).
    pub uptime_secs: i64,
    /// The service: bytes served, challenges answered or Wh produced.
    pub primary: f64,
    /// The second metric: challenges missed (storage), Wh consumed (energy), 0 otherwise.
    pub secondary: f64,
    /// A heartbeat: the device is alive and measured nothing (its metrics are not zeros).
    pub heartbeat: bool,
}

/// The window a set of features covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First second (unix).
    pub from: i64,
    /// End (unix, a report stamped exactly here still counts).
    pub to: i64,
    /// Seconds between two reports of a healthy device.
    pub interval_secs: i64,
}

impl Window {
    /// Its length in seconds (at least 1).
    pub fn len_secs(&self) -> i64 {
        (self.to - self.from).max(1)
    }

    /// Reports a healthy device sends in it (at least 1).
    pub fn expected(&self) -> u32 {
        u32::try_from((self.len_secs() / self.interval_secs.max(1)).max(1)).unwrap_or(u32::MAX)
    }

    /// Seconds per bucket: the window cut in at most [`MAX_BUCKETS`] buckets, none shorter
    /// than a report interval.
    pub fn bucket_secs(&self) -> i64 {
        let n = MAX_BUCKETS as i64;
        ((self.len_secs() + n - 1) / n).max(self.interval_secs.max(1))
    }

    /// Buckets in the window (1 to [`MAX_BUCKETS`]).
    pub fn buckets(&self) -> usize {
        let b = self.bucket_secs();
        usize::try_from((self.len_secs() + b - 1) / b)
            .unwrap_or(MAX_BUCKETS)
            .clamp(1, MAX_BUCKETS)
    }

    /// The bucket of a report stamped `ts` (stamped at the end of the interval it covers,
    /// so a report stamped at a bucket's end is in that bucket), or `None` outside the
    /// window. A window holds the reports stamped in `(from, to]`: one stamped at `from`
    /// covers the interval before it, in the window before, and counts there only.
    pub fn bucket_of(&self, ts: i64) -> Option<usize> {
        if ts <= self.from || ts > self.to {
            return None;
        }
        let i = usize::try_from((ts - self.from - 1).max(0) / self.bucket_secs()).unwrap_or(0);
        Some(i.min(self.buckets() - 1))
    }

    /// The window of the same length `k` windows earlier.
    pub fn earlier(&self, k: i64) -> Window {
        let shift = self.len_secs().saturating_mul(k);
        Window {
            from: self.from.saturating_sub(shift),
            to: self.to.saturating_sub(shift),
            interval_secs: self.interval_secs,
        }
    }
}

/// One device's features over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct DayFeatures {
    /// What the device is.
    pub class: DeviceClass,
    /// Reports in the window.
    pub reports: u32,
    /// Reports a healthy device sends in it; 0 when the device did not exist yet (it is then
    /// not scored).
    pub expected: u32,
    /// Seconds from its last report to the window's end (the window's length if none).
    pub silent_secs: i64,
    /// Service per bucket, scaled to a full bucket when only some of its reports arrived;
    /// NaN for a bucket without any report.
    pub service: [f32; MAX_BUCKETS],
    /// The service metric over the window, as reported (not scaled).
    pub primary_total: f64,
    /// The secondary metric over the window (challenges missed, Wh consumed).
    pub secondary_total: f64,
    /// Whether every report that measured something (not a heartbeat) said it was up for
    /// no second at all.
    pub no_uptime: bool,
    /// Whether every report that measured something (not a heartbeat) read zero on every
    /// metric.
    pub all_zero: bool,
    /// The longest run of consecutive reports with the same non-zero readings.
    pub stuck_run: u32,
    /// The service reading of that run.
    pub stuck_value: f64,
}

impl DayFeatures {
    /// A device that did not exist during the window.
    pub fn absent(class: DeviceClass) -> DayFeatures {
        DayFeatures {
            class,
            reports: 0,
            expected: 0,
            silent_secs: 0,
            service: [f32::NAN; MAX_BUCKETS],
            primary_total: 0.0,
            secondary_total: 0.0,
            no_uptime: false,
            all_zero: false,
            stuck_run: 0,
            stuck_value: 0.0,
        }
    }

    /// Buckets with at least one report.
    pub fn present_buckets(&self) -> usize {
        self.service.iter().filter(|v| !v.is_nan()).count()
    }

    /// The service over the buckets that have reports.
    pub fn service_total(&self) -> f64 {
        self.service
            .iter()
            .filter(|v| !v.is_nan())
            .map(|v| f64::from(*v))
            .sum()
    }
}

/// Reduces a device's `readings` (in time order) to its features over `window`; readings
/// outside it are ignored.
pub fn extract(class: DeviceClass, window: &Window, readings: &[Reading]) -> DayFeatures {
    let buckets = window.buckets();
    let per_bucket = (window.bucket_secs() / window.interval_secs.max(1)).max(1) as f64;
    let mut sums = [0.0f64; MAX_BUCKETS];
    let mut counts = [0u32; MAX_BUCKETS];
    let mut features = DayFeatures::absent(class);
    features.expected = window.expected();
    features.silent_secs = window.len_secs();
    let mut any_uptime = false;
    let mut any_value = false;
    let mut run = 0u32;
    let mut measured = 0u32;
    let mut previous: Option<(f64, f64)> = None;
    for r in readings {
        let Some(b) = window.bucket_of(r.ts) else {
            continue;
        };
        features.reports += 1;
        features.silent_secs = features.silent_secs.min((window.to - r.ts).max(0));
        if r.heartbeat {
            // alive, nothing measured: neither service nor a zero reading
            continue;
        }
        measured += 1;
        sums[b] += r.primary;
        counts[b] += 1;
        features.primary_total += r.primary;
        features.secondary_total += r.secondary;
        any_uptime |= r.uptime_secs > 0;
        any_value |= r.primary != 0.0 || r.secondary != 0.0 || r.uptime_secs != 0;
        let reading = (r.primary, r.secondary);
        let non_zero = r.primary != 0.0 || r.secondary != 0.0;
        run = match previous {
            Some(p) if p == reading && non_zero => run + 1,
            _ if non_zero => 1,
            _ => 0,
        };
        if run > features.stuck_run {
            features.stuck_run = run;
            features.stuck_value = r.primary;
        }
        previous = Some(reading);
    }
    for b in 0..buckets {
        if counts[b] > 0 {
            // a bucket missing some of its reports is scaled up to a full one, so an
            // outage changes how many buckets there are, not their level
            let scale = (per_bucket / f64::from(counts[b])).max(1.0);
            features.service[b] = (sums[b] * scale) as f32;
        }
    }
    features.no_uptime = class.has_uptime() && measured > 0 && !any_uptime;
    features.all_zero = measured > 0 && !any_value;
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_hourly_reports_fills_twenty_four_buckets_and_an_hour_of_five_minute_ones_twelve() {
        let day = Window {
            from: 0,
            to: 86_400,
            interval_secs: 3_600,
        };
        assert_eq!(
            (day.buckets(), day.bucket_secs(), day.expected()),
            (24, 3_600, 24)
        );
        let hour = Window {
            from: 0,
            to: 3_600,
            interval_secs: 300,
        };
        assert_eq!(
            (hour.buckets(), hour.bucket_secs(), hour.expected()),
            (12, 300, 12)
        );
        let day5 = Window {
            from: 0,
            to: 86_400,
            interval_secs: 300,
        };
        assert_eq!((day5.buckets(), day5.expected()), (24, 288));
        assert_eq!(hour.bucket_of(3_600), Some(11));
        assert_eq!(hour.bucket_of(1), Some(0));
        assert_eq!(hour.bucket_of(-1), None);
        // a report at the window's start covers the interval before: the earlier window's
        assert_eq!(hour.bucket_of(0), None);
        assert_eq!(hour.earlier(1).bucket_of(0), Some(11));
        assert_eq!(hour.earlier(2).from, -7_200);
    }

    #[test]
    fn heartbeats_count_as_reports_and_measure_nothing() {
        let window = Window {
            from: 0,
            to: 3_600,
            interval_secs: 300,
        };
        let beat = |ts| Reading {
            ts,
            heartbeat: true,
            ..Reading::default()
        };
        // heartbeats alone: present every interval, no service, not a zero reading
        let beats: Vec<Reading> = (1..=12).map(|i| beat(i * 300)).collect();
        let f = extract(DeviceClass::Wireless, &window, &beats);
        assert_eq!((f.reports, f.silent_secs), (12, 0));
        assert!(!f.all_zero && !f.no_uptime);
        assert_eq!(f.present_buckets(), 0);
        assert_eq!(f.primary_total, 0.0);
        // beside measurements, heartbeats neither dilute the service nor hide zeros
        let mut mixed: Vec<Reading> = (1..=6)
            .map(|i| Reading {
                ts: i * 600,
                uptime_secs: 600,
                primary: 100.0,
                ..Reading::default()
            })
            .collect();
        mixed.extend((1..=6).map(|i| beat(i * 600 - 300)));
        mixed.sort_by_key(|r| r.ts);
        let with_beats = extract(DeviceClass::Wireless, &window, &mixed);
        let alone: Vec<Reading> = mixed.iter().copied().filter(|r| !r.heartbeat).collect();
        let without = extract(DeviceClass::Wireless, &window, &alone);
        assert_eq!(with_beats.reports, 12);
        assert_eq!(
            with_beats.service.map(f32::to_bits),
            without.service.map(f32::to_bits)
        );
        let zeros: Vec<Reading> = mixed
            .iter()
            .map(|r| Reading {
                primary: 0.0,
                uptime_secs: 0,
                ..*r
            })
            .collect();
        let f = extract(DeviceClass::Wireless, &window, &zeros);
        assert!(f.all_zero && f.no_uptime);
    }

    #[test]
    fn features_count_reports_scale_partial_buckets_and_find_stuck_runs() {
        let window = Window {
            from: 0,
            to: 7_200,
            interval_secs: 300,
        };
        // first hour: 6 of 12 reports at 10 Wh; second hour: 12 reports stuck at 50 Wh
        let mut readings: Vec<Reading> = (1..=6)
            .map(|i| Reading {
                ts: i * 300,
                primary: 10.0 + i as f64,
                secondary: 1.0,
                ..Reading::default()
            })
            .collect();
        readings.extend((13..=24).map(|i| Reading {
            ts: i * 300,
            primary: 50.0,
            secondary: 2.0,
            ..Reading::default()
        }));
        let f = extract(DeviceClass::Energy, &window, &readings);
        assert_eq!((f.reports, f.expected), (18, 24));
        assert_eq!(f.present_buckets(), 18);
        assert_eq!(f.stuck_run, 12);
        assert_eq!(f.stuck_value, 50.0);
        assert_eq!(f.silent_secs, 0);
        assert!(!f.all_zero && !f.no_uptime);
        let hourly = Window {
            from: 0,
            to: 86_400,
            interval_secs: 300,
        };
        let f = extract(DeviceClass::Energy, &hourly, &readings);
        // six reports of twelve in the first hour: scaled to a full hour
        assert!((f64::from(f.service[0]) - (11.0 + 16.0) * 3.0 * 2.0).abs() < 1e-3);
    }
}
