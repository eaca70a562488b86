-- `DeviceStatusChanged` carries the time of the change (the cluster's clock), so the auditor
-- can expect a reinstated device's reports only from its reinstatement, as it expects a new
-- device's only from its onboarding. Rows indexed before this column existed have none.
ALTER TABLE registry_device_status_changed ADD COLUMN unix_ts BIGINT;

-- When `device` was last made active by a status change (its reinstatement; NULL when it
-- never was, or only by changes indexed before this column): what the telemetry service
-- refuses reports up to and the auditor judges a device from.
CREATE FUNCTION depin_reinstated_ts(device TEXT) RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT x.unix_ts FROM registry_device_status_changed x
    WHERE x.device = depin_reinstated_ts.device AND x.status = 'active'
    ORDER BY x.slot DESC, x.tx_index DESC, x.instruction_index DESC, x.event_index DESC
    LIMIT 1
$$;
