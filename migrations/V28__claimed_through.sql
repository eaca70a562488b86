-- Each device's claimed-through time: the time up to which its measuring reports (not
-- heartbeats) have claimed its class's highest rate. A measuring report's uptime and usage
-- are claimed from it (at that rate plus 1%) and must end by the report's time plus 2 s,
-- what runs past it carried to the next (`depin_sdk::telemetry::Report::claim_from`).
-- Devices whose reports are already stored start from their newest measuring report still
-- kept (found through the primary key, newest counter first; compute networks' devices
-- send only heartbeats and are skipped).
ALTER TABLE telemetry_counters ADD COLUMN claimed_through_ts BIGINT;
UPDATE telemetry_counters c SET claimed_through_ts = (
    SELECT t.unix_ts FROM telemetry t
    WHERE t.network = c.network AND t.device_key = c.device_key AND t.kind <> 'heartbeat'
    ORDER BY t.counter DESC
    LIMIT 1
)
WHERE c.network NOT IN (SELECT network FROM networks WHERE kind = 'compute');
