-- `sync_treasury` of the staking, storage and energy programs: a pool or market points its
-- treasury at an account of the network treasury's current owner after the authority
-- rotated the treasury. One table per program's `TreasurySynced`, made as V14 makes every
-- event table (identifiers `COLLATE "C"`, the signature's hash index, the slot index), and
-- a key index in history order, as V5 gave the others.

CREATE TABLE staking_treasury_synced (
    pool TEXT COLLATE "C" NOT NULL, previous TEXT COLLATE "C" NOT NULL,
    treasury TEXT COLLATE "C" NOT NULL
) INHERITS (events) WITH (fillfactor = 100);
SELECT depin_event_table('staking_treasury_synced');
CREATE INDEX ON staking_treasury_synced (pool, slot, tx_index, instruction_index, event_index);

CREATE TABLE storage_treasury_synced (
    market TEXT COLLATE "C" NOT NULL, previous TEXT COLLATE "C" NOT NULL,
    treasury TEXT COLLATE "C" NOT NULL
) INHERITS (events) WITH (fillfactor = 100);
SELECT depin_event_table('storage_treasury_synced');
CREATE INDEX ON storage_treasury_synced (market, slot, tx_index, instruction_index, event_index);

CREATE TABLE energy_treasury_synced (
    market TEXT COLLATE "C" NOT NULL, previous TEXT COLLATE "C" NOT NULL,
    treasury TEXT COLLATE "C" NOT NULL
) INHERITS (events) WITH (fillfactor = 100);
SELECT depin_event_table('energy_treasury_synced');
CREATE INDEX ON energy_treasury_synced (market, slot, tx_index, instruction_index, event_index);
