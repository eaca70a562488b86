-- The auditor's actions: every suspension or reinstatement it sent, with the scores that
-- led to it and the hash of that evidence (the same hash the registry's DeviceAudited event
-- records), so the network authority can review each one and reverse it.

CREATE TABLE audit_actions (
    id          BIGSERIAL   PRIMARY KEY,
    device      TEXT        NOT NULL,
    network     TEXT        NOT NULL,
    action      TEXT        NOT NULL,
    evidence    BYTEA       NOT NULL,
    explanation TEXT        NOT NULL,
    findings    JSONB       NOT NULL,
    signature   TEXT,
    outcome     TEXT        NOT NULL,
    acted_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ON audit_actions (device, acted_at);
