-- `DeviceStatusChanged` carries the time of the change (the cluster's clock), so the auditor
-- can expect a reinstated device's reports only from its reinstatement, as it expects a new
-- device's only from its onboarding. Rows indexed before this column existed have none.
ALTER TABLE registry_device_status_changed ADD COLUMN unix_ts BIGINT;
