-- Telemetry: device-signed reports (heartbeats and service metrics per device class) that
-- the telemetry service verified (signature by the registered device key, an active device,
-- a counter above every one seen, values within the class's range) and stored. Refused
-- reports are never written.

CREATE TABLE telemetry (
    device_key      TEXT        NOT NULL,
    counter         BIGINT      NOT NULL,
    network         TEXT        NOT NULL,
    device          TEXT        NOT NULL,
    unix_ts         BIGINT      NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    gateway         TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    uptime_secs     BIGINT,
    bytes_served    BIGINT,
    latency_ms      BIGINT,
    proofs_answered BIGINT,
    proofs_missed   BIGINT,
    produced_wh     BIGINT,
    consumed_wh     BIGINT,
    signature       TEXT        NOT NULL,
    PRIMARY KEY (network, device_key, counter)
);
CREATE INDEX ON telemetry (device, unix_ts);
CREATE INDEX ON telemetry (network, unix_ts);

-- The highest counter accepted per device (network and device key): a report at or below
-- it is refused as a replay.
CREATE TABLE telemetry_counters (
    network      TEXT   NOT NULL,
    device_key   TEXT   NOT NULL,
    last_counter BIGINT NOT NULL,
    PRIMARY KEY (network, device_key)
);

-- The service finds a report's device by its key (the state table is keyed by account).
CREATE INDEX devices_by_key ON devices (device_key, network);
