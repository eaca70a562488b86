-- V19: a retirement and a state refresh never overlap, and a segment retires only once
-- its rows are settled.
--
-- The state refresher reads in one REPEATABLE READ transaction. A retirement that
-- committed after the refresher's snapshot was taken but before it read a retired
-- segment's event table left it reading the tallies as they were (without the segment's
-- rows) and the event table without the segment (a dropped or detached child leaves the
-- catalog, which is not read through the snapshot): it wrote a `deals` or `reward_claims`
-- row missing those rows, which stayed wrong until the key was touched again. Now the
-- retirement first locks the three tally tables (SHARE ROW EXCLUSIVE), and the refresher
-- begins its transaction with `LOCK ... IN SHARE MODE` on them, a statement that takes no
-- snapshot: a refresh takes its snapshot only once no retirement is running, and a
-- retirement waits for the refresh in progress (the writer gives up after its lock
-- timeout and tries again at the next prune).
--
-- Two cases where a retired row could still change, now held back:
-- * `depin_remove_slot` moves a transaction seen again in another slot (its first slot
--   died) by updating the rows' slot; a row stays in the segment it was written into,
--   possibly past that segment's slots. A segment with a row at or past the horizon stays.
-- * a slot below the newest finalized one can be neither finalized nor judged dead while
--   its parents are unknown (depin_finalize judges only the slots above an unbroken parent
--   chain); a segment with a row of such a slot stays until the slot is settled.
--
-- Restates depin_retire_segments (V18) with both.

CREATE OR REPLACE FUNCTION depin_retire_segments(horizon BIGINT, detach BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    s event_segments;
    n BIGINT;
    i RECORD;
    chosen TEXT[];
    blocked TEXT[];
    retired BIGINT := 0;
    unsettled BIGINT[];
    held BOOLEAN;
BEGIN
    -- one retirement at a time, never inside a state refresh (see above)
    LOCK TABLE deal_tallies, reward_claim_tallies, reward_epoch_tallies
        IN SHARE ROW EXCLUSIVE MODE;
    chosen := ARRAY(SELECT segment FROM event_segments WHERE end_slot <= horizon);
    -- a segment whose rows a fork may still take or move stays: one holding a row moved
    -- past its own slots (depin_remove_slot moves a transaction seen again in a later
    -- slot, and the row keeps its segment), or a row of a slot neither finalized nor
    -- judged yet (its fork is not known while its parents are not)
    unsettled := ARRAY(SELECT slot FROM slots
                       WHERE slot < horizon AND status IN ('processed', 'confirmed'));
    FOR s IN SELECT * FROM event_segments WHERE segment = ANY(chosen) LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE slot >= $1)
                            OR EXISTS (SELECT 1 FROM %I WHERE slot = ANY($2))',
                       s.segment, s.segment)
            INTO held USING horizon, unsettled;
        IF held THEN
            chosen := array_remove(chosen, s.segment);
        END IF;
    END LOOP;
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
        IF s.kind = ANY(depin_tally_kinds()) THEN
            PERFORM depin_tally_segment(s.segment, s.kind);
        END IF;
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
