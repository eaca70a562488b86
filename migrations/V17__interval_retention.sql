-- Retention of the energy markets' intervals.
--
-- V12 retires the activity events no state row reads. The energy lifecycle events (orders
-- placed, cancelled and settled, intervals cleared, settled and closed) grow with every
-- interval just as meter readings do, but the `energy_intervals` and `energy_orders` rows
-- are recomputed from them, so dropping a slot range of them alone would leave those rows
-- to be recomputed, at the next event of their interval or a rebuild, from part of their
-- history. They are retired by interval instead: with `retention.keep_event_slots` set,
-- their rows go into segments like the activity events, and a segment past the kept slots
-- is retired only together with every other row of each interval it holds (so an interval
-- whose rows reach past the kept slots, or into rows written before retention was on,
-- holds back the segments its rows are in until it is wholly past); the intervals it holds
-- then leave the state tables with it. The state is therefore always the fold of the
-- events that are kept: a rebuild gives the same rows.

-- The energy lifecycle tables, retired by interval.
CREATE FUNCTION depin_interval_kinds() RETURNS TEXT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['energy_order_placed', 'energy_order_cancelled', 'energy_interval_cleared',
                 'energy_order_settled', 'energy_interval_settled', 'energy_interval_closed'];
$$;

-- Whether an interval (market, interval_index) has a row in an energy lifecycle table outside
-- the segments `within`.
CREATE FUNCTION depin_interval_outside(q_market TEXT, q_interval NUMERIC, within TEXT[])
RETURNS BOOLEAN LANGUAGE plpgsql STABLE AS $$
DECLARE
    kind TEXT;
    found BOOLEAN;
BEGIN
    FOREACH kind IN ARRAY depin_interval_kinds() LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I e WHERE e.market = $1
                            AND e.interval_index = $2 AND NOT (e.tableoid::regclass::text = ANY($3)))',
                       kind)
            INTO found USING q_market, q_interval, within;
        IF found THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;

-- Retires the segments whose slots all lie below `horizon` (V12), an energy lifecycle
-- segment only with every row of the intervals it holds, whose state rows go with it.
CREATE OR REPLACE FUNCTION depin_retire_segments(horizon BIGINT, detach BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    s event_segments;
    n BIGINT;
    i RECORD;
    chosen TEXT[];
    blocked TEXT[];
    retired BIGINT := 0;
BEGIN
    chosen := ARRAY(SELECT segment FROM event_segments WHERE end_slot <= horizon);
    CREATE TEMP TABLE IF NOT EXISTS depin_retiring_intervals (
        segment TEXT NOT NULL, market TEXT NOT NULL, interval_index NUMERIC NOT NULL
    ) ON COMMIT DROP;
    DELETE FROM depin_retiring_intervals;
    FOR s IN SELECT * FROM event_segments
             WHERE segment = ANY(chosen) AND kind = ANY(depin_interval_kinds())
    LOOP
        EXECUTE format('INSERT INTO depin_retiring_intervals
                        SELECT DISTINCT %L, market, interval_index FROM %I', s.segment, s.segment);
    END LOOP;
    -- a segment holding an interval with rows outside the chosen segments stays; its
    -- other intervals then have rows outside them too, which holds back the segments
    -- with their other rows: until nothing more is held back
    LOOP
        blocked := ARRAY(
            SELECT DISTINCT r.segment FROM depin_retiring_intervals r
            WHERE depin_interval_outside(r.market, r.interval_index, chosen));
        EXIT WHEN cardinality(blocked) = 0;
        chosen := ARRAY(SELECT unnest(chosen) EXCEPT SELECT unnest(blocked));
        DELETE FROM depin_retiring_intervals WHERE segment = ANY(blocked);
    END LOOP;
    DELETE FROM energy_orders
        WHERE (market, interval_index) IN (SELECT market, interval_index FROM depin_retiring_intervals);
    DELETE FROM energy_intervals
        WHERE (market, interval_index) IN (SELECT market, interval_index FROM depin_retiring_intervals);
    FOR s IN SELECT * FROM event_segments WHERE segment = ANY(chosen) ORDER BY end_slot, segment
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
