-- Rewards: a device's claim record is opened once, before its first claim
-- (`open_claimed`), so that claims never create accounts.

CREATE TABLE rewards_claimed_opened (
    config TEXT NOT NULL, device TEXT NOT NULL, claimed TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('rewards_claimed_opened');
CREATE INDEX ON rewards_claimed_opened (device);
