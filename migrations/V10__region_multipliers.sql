-- Demand-driven region multipliers: the table each reward epoch of a network uses, as the
-- auditor computed it (forecast demand share over supply share per H3 region, clamped to
-- the policy's bounds). `hash` is the table's canonical SHA-256 (the SDK's
-- `RegionMultipliers::hash`), the value the oracles propose on chain with the epoch's reward
-- root. A published table never changes.

CREATE TABLE region_multiplier_tables (
    network        TEXT        NOT NULL,
    epoch          BIGINT      NOT NULL,
    resolution     SMALLINT    NOT NULL,
    min_bps        INTEGER     NOT NULL,
    max_bps        INTEGER     NOT NULL,
    history_epochs BIGINT      NOT NULL,
    hash           BYTEA       NOT NULL,
    published_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (network, epoch)
);

-- One row per region with a device to pay: its multiplier and what it came from.
CREATE TABLE region_multipliers (
    network         TEXT             NOT NULL,
    epoch           BIGINT           NOT NULL,
    region          TEXT             NOT NULL,
    multiplier_bps  INTEGER          NOT NULL,
    demand_forecast DOUBLE PRECISION NOT NULL,
    supply          BIGINT           NOT NULL,
    method          TEXT             NOT NULL CHECK (method IN ('ets', 'mean', 'none')),
    PRIMARY KEY (network, epoch, region),
    FOREIGN KEY (network, epoch) REFERENCES region_multiplier_tables (network, epoch)
);
