-- V24: the auditor's health of each device per scored window, so the health file the reward
-- oracle reads covers a whole rewards epoch: before, `health.csv` held the last window's
-- scores alone, and a device flagged earlier in the epoch (or scored in earlier windows but
-- not the last) was paid as healthy.
CREATE TABLE audit_health (
    network     TEXT COLLATE "C" NOT NULL,
    device      TEXT COLLATE "C" NOT NULL,
    -- the window scored: reports stamped in (window_from, window_to]
    window_from BIGINT  NOT NULL,
    window_to   BIGINT  NOT NULL CHECK (window_to > window_from),
    health_bps  INTEGER NOT NULL CHECK (health_bps BETWEEN 0 AND 10000),
    -- a window scored again replaces its rows
    PRIMARY KEY (network, window_to, device)
);
