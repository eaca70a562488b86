-- The time of each device's last measuring report (not a heartbeat): a measuring report
-- covers the time since it, and what it measured must fit that time. `last_ts` stays the
-- time of the last report of any kind (reports are never accepted out of order). Devices
-- whose reports are already stored start from their newest measuring report still kept.
ALTER TABLE telemetry_counters ADD COLUMN last_measured_ts BIGINT;
UPDATE telemetry_counters c SET last_measured_ts = (
    SELECT max(t.unix_ts) FROM telemetry t
    WHERE t.network = c.network AND t.device_key = c.device_key AND t.kind <> 'heartbeat'
);
