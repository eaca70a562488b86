-- The time of each device's last accepted report, beside its counter: a report is refused
-- when it is older than that one (a device numbers and stamps its reports in order), so a
-- backdated report cannot land in a window the auditor has already scored. NULL for the
-- devices whose last report came before this column: their next report sets it.
ALTER TABLE telemetry_counters ADD COLUMN last_ts BIGINT;
