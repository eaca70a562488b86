-- Retention of activity events by segment.
--
-- The state rows are recomputed from the full history of the events they derive from, so
-- those events are kept. The activity kinds no state row reads (meter readings, challenges
-- opened, device audits, claim records opened) grow with every device and interval; when
-- the indexer is configured to keep them for a number of slots (`retention.keep_event_slots`),
-- their new rows go into segments: child tables of their event table, one per slot range,
-- so `SELECT ... FROM energy_reading_submitted` (and `FROM events`) still reads every
-- segment. A segment whose range lies wholly below the newest finalized slot minus the
-- slots kept is retired in one step: dropped, or detached (it leaves its event table and
-- moves to the schema `depin_detached`, rows intact, for an operator to archive and drop).
--
-- A segment has its own primary key; a transaction is written once across segments because
-- its `indexed_transactions` row (one table, one key) is written with its events.

-- The attached segments.
CREATE TABLE event_segments (
    -- The segment table's name: `<kind>__<first_slot>_<end_slot>`.
    segment TEXT PRIMARY KEY,
    -- The event table it belongs to.
    kind TEXT NOT NULL,
    -- The slots it holds: first_slot <= slot < end_slot.
    first_slot BIGINT NOT NULL,
    end_slot BIGINT NOT NULL CHECK (end_slot > first_slot)
);
CREATE INDEX ON event_segments (end_slot);

-- The detached segments, now tables of schema depin_detached (until an operator drops them).
CREATE TABLE detached_event_segments (
    id BIGSERIAL PRIMARY KEY,
    -- Its name in schema depin_detached: `<segment>_d<id>`.
    segment TEXT NOT NULL,
    -- The event table it belonged to.
    kind TEXT NOT NULL,
    -- The slots it holds: first_slot <= slot < end_slot.
    first_slot BIGINT NOT NULL,
    end_slot BIGINT NOT NULL,
    detached_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SCHEMA IF NOT EXISTS depin_detached;

-- The segment of `kind` holding slots first_slot .. end_slot - 1, created when missing (a
-- child of `kind` with its columns, keys and indexes). Returns its name.
CREATE FUNCTION depin_event_segment(q_kind TEXT, q_first BIGINT, q_end BIGINT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    name TEXT := q_kind || '__' || q_first || '_' || q_end;
BEGIN
    IF octet_length(name) > 55 THEN
        -- leaves room for the `_d<id>` of a detached segment within PostgreSQL's 63 bytes
        RAISE EXCEPTION 'event segment name % is too long', name;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM event_segments WHERE segment = name) THEN
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL) INHERITS (%I)',
                       name, q_kind, q_kind);
        INSERT INTO event_segments (segment, kind, first_slot, end_slot)
        VALUES (name, q_kind, q_first, q_end);
    END IF;
    RETURN name;
END $$;

-- Retires the segments whose slots all lie below `horizon`: drops them, or, with `detach`,
-- moves them out of their event table into schema depin_detached (recorded in
-- detached_event_segments). Returns the number retired.
CREATE FUNCTION depin_retire_segments(horizon BIGINT, detach BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    s event_segments;
    n BIGINT;
    i RECORD;
    retired BIGINT := 0;
BEGIN
    FOR s IN SELECT * FROM event_segments WHERE end_slot <= horizon ORDER BY end_slot, segment
    LOOP
        IF detach THEN
            INSERT INTO detached_event_segments (segment, kind, first_slot, end_slot)
            VALUES (s.segment, s.kind, s.first_slot, s.end_slot) RETURNING id INTO n;
            UPDATE detached_event_segments SET segment = s.segment || '_d' || n WHERE id = n;
            EXECUTE format('ALTER TABLE %I NO INHERIT %I', s.segment, s.kind);
            -- its indexes take names of their own (`d<id>_i<k>`): a segment detached again
            -- for the same slots must not meet them in depin_detached
            FOR i IN SELECT c.relname, row_number() OVER (ORDER BY c.relname) AS k
                     FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                     WHERE x.indrelid = s.segment::regclass
            LOOP
                EXECUTE format('ALTER INDEX %I RENAME TO %I', i.relname, 'd' || n || '_i' || i.k);
            END LOOP;
            EXECUTE format('ALTER TABLE %I RENAME TO %I', s.segment, s.segment || '_d' || n);
            EXECUTE format('ALTER TABLE %I SET SCHEMA depin_detached', s.segment || '_d' || n);
        ELSE
            EXECUTE format('DROP TABLE %I', s.segment);
        END IF;
        DELETE FROM event_segments WHERE segment = s.segment;
        retired := retired + 1;
    END LOOP;
    RETURN retired;
END $$;
