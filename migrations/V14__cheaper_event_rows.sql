-- Cheaper event rows: a transaction's identity is kept once, and text keys compare as bytes.
--
-- A `perf` profile of the indexer's writer session showed two thirds of its CPU in index
-- maintenance during the event COPYs (`_bt_doinsert`), a fifth of it comparing text keys
-- (`bttextcmp` through `strcoll`).
--
-- 1. No unique key per event table. A transaction's events are written in the same
--    database transaction as its `indexed_transactions` row, whose primary key refuses a
--    second one, and they are removed together (depin_remove_slot); so
--    (signature, instruction_index, event_index) is unique by construction and the unique
--    B-tree on it, a descent over random 88-character keys for every row, checked nothing
--    the transaction's own key had not. A hash index on `signature` serves the lookups by
--    signature (a transaction's events; moving a transaction out of a dead slot) for about
--    a third of the B-tree's insert cost (100,000 rows: 79 ms against 260 ms here).
--
-- 2. Identifiers compare in byte order. Addresses and signatures (base58), H3 cells (hex) and
--    enum words are ASCII, so their order is the same under every collation, but a database
--    created with a linguistic default collation (en_US.UTF-8, or C.UTF-8 on PostgreSQL 15)
--    compares them through `strcoll` on every index probe. `COLLATE "C"` compares them with
--    `memcmp`. Free text (a maker's name) keeps the database's collation. A query comparing
--    these columns with a parameter or a column of the default collation still uses their
--    indexes (the column's collation wins); changing a column rewrites its indexes once.
--
-- 3. Event rows are not updated in place (commitment moved to the slot in V5, which filled
--    the pages of the tables it found); the tables made since (V6) got fillfactor 80 from
--    depin_event_table, so every event table gets 100 here, and the function leaves it be.

-- Every event table: `events`' children and their retention segments.
CREATE FUNCTION depin_event_tables() RETURNS SETOF REGCLASS LANGUAGE sql STABLE AS $$
    WITH RECURSIVE tree(t) AS (
        SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass
        UNION
        SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.t
    )
    SELECT t::regclass FROM tree;
$$;

DO $$
DECLARE
    t REGCLASS;
    c RECORD;
BEGIN
    FOR t IN SELECT * FROM depin_event_tables() LOOP
        FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = t AND contype = 'p' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', t, c.conname);
        END LOOP;
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 100)', t);
    END LOOP;
    -- identifier columns, each altered where it is defined (the change reaches the tables
    -- inheriting it)
    FOR c IN
        SELECT a.attrelid::regclass AS t, a.attname, format_type(a.atttypid, NULL) AS type
        FROM pg_attribute a
        WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attinhcount = 0
          AND a.atttypid IN ('text'::regtype, 'text[]'::regtype)
          AND a.attname <> 'name'
          AND (a.attrelid = 'events'::regclass
               OR a.attrelid IN (SELECT * FROM depin_event_tables())
               OR a.attrelid IN ('networks'::regclass, 'makers'::regclass,
                                 'devices'::regclass, 'stake_positions'::regclass,
                                 'device_bonds'::regclass, 'reward_epochs'::regclass,
                                 'reward_claims'::regclass, 'deals'::regclass,
                                 'energy_intervals'::regclass, 'energy_orders'::regclass)
               OR (a.attrelid, a.attname) IN (('indexed_transactions'::regclass, 'signature'),
                                              ('transaction_slots'::regclass, 'signature'),
                                              ('decode_failures'::regclass, 'signature')))
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE "C"',
                       c.t, c.attname, c.type);
    END LOOP;
    FOR t IN SELECT * FROM depin_event_tables() LOOP
        EXECUTE format('CREATE INDEX ON %s USING hash (signature)', t);
    END LOOP;
END $$;

-- An event kind added later gets the same: its slot index and its signature's hash index.
CREATE OR REPLACE FUNCTION depin_event_table(t REGCLASS) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE INDEX ON %s USING hash (signature)', t);
    EXECUTE format('CREATE INDEX ON %s (slot)', t);
END $$;
