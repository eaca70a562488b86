-- V23: an energy interval retires only once it is settled.
--
-- V19 retired an interval as soon as every row of it lay in segments past the kept slots,
-- settled or not. An interval whose orders were placed (or cleared) and never settled,
-- because nobody sent the settlements yet, lost its `energy_intervals` and `energy_orders`
-- rows while its orders still held escrow on chain: the state no longer showed what the
-- chain held. Now an interval without an `energy_interval_settled` (or
-- `energy_interval_closed`, which only a settled interval reaches) row stays: its rows move
-- on to their kinds' segments of the first kept slots, as those of an interval reaching the
-- kept slots do, and it retires whole once settled and wholly past.
--
-- Restates depin_retire_segments (V19) with that one statement added.

CREATE OR REPLACE FUNCTION depin_retire_segments(horizon BIGINT, detach BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    s event_segments;
    n BIGINT;
    i RECORD;
    chosen TEXT[];
    retired BIGINT := 0;
    unsettled BIGINT[];
    held BOOLEAN;
    width BIGINT;
    onward TEXT;
    newest BIGINT;
    interval_kind TEXT;
BEGIN
    -- most prunes have nothing to retire: they take no lock
    IF NOT EXISTS (SELECT 1 FROM event_segments WHERE end_slot <= horizon) THEN
        RETURN 0;
    END IF;
    -- one retirement at a time, never inside a state refresh (see above)
    LOCK TABLE deal_tallies, reward_claim_tallies, reward_epoch_tallies
        IN SHARE ROW EXCLUSIVE MODE;
    chosen := ARRAY(SELECT segment FROM event_segments WHERE end_slot <= horizon);
    -- a segment whose rows a fork may still take or move stays: one holding a row moved
    -- past its own slots (depin_remove_slot moves a transaction seen again in a later
    -- slot, and the row keeps its segment), or a row of a slot neither finalized nor
    -- judged yet (its fork is not known while its parents are not). A stream judges a
    -- slot within a few dozen slots; one still unjudged more than the kept slots below
    -- the horizon lost its parents (a slot update missed) and counts as settled, as it
    -- does in a database keeping everything, where its rows stay too.
    SELECT max(slot) INTO newest FROM slots WHERE status = 'finalized';
    unsettled := ARRAY(SELECT slot FROM slots
                       WHERE slot < horizon AND slot >= 2 * horizon - newest
                         AND status IN ('processed', 'confirmed'));
    FOR s IN SELECT * FROM event_segments WHERE segment = ANY(chosen) LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE slot >= $1)
                            OR EXISTS (SELECT 1 FROM %I WHERE slot = ANY($2))',
                       s.segment, s.segment)
            INTO held USING horizon, unsettled;
        -- a deal's proofs and faults are tallied under the proposal before them, which
        -- must be settled too
        IF NOT held AND s.kind IN ('storage_proof_accepted', 'storage_fault_reported') THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I e
                                           JOIN storage_deal_proposed y ON y.deal = e.deal
                                           WHERE y.slot >= $1 OR y.slot = ANY($2))',
                           s.segment)
                INTO held USING horizon, unsettled;
        END IF;
        IF held THEN
            chosen := array_remove(chosen, s.segment);
        END IF;
    END LOOP;
    -- the energy intervals with rows in the segments to retire: an interval retires when
    -- all its rows are in them; the rows of the others move out of them first (below)
    CREATE TEMP TABLE IF NOT EXISTS depin_interval_fates (
        market TEXT NOT NULL,
        interval_index NUMERIC NOT NULL,
        retires BOOLEAN,
        in_table BOOLEAN,
        PRIMARY KEY (market, interval_index)
    ) ON COMMIT DROP;
    DELETE FROM depin_interval_fates;
    FOR s IN SELECT * FROM event_segments
             WHERE segment = ANY(chosen) AND kind = ANY(depin_interval_kinds())
    LOOP
        EXECUTE format('INSERT INTO depin_interval_fates (market, interval_index)
                        SELECT DISTINCT market, interval_index FROM %I
                        ON CONFLICT DO NOTHING', s.segment);
    END LOOP;
    -- one statement per kind for all the intervals (not per interval: a retirement in a
    -- day of many markets meets thousands)
    UPDATE depin_interval_fates SET retires = true, in_table = false;
    FOREACH interval_kind IN ARRAY depin_interval_kinds() LOOP
        EXECUTE format('UPDATE depin_interval_fates f SET retires = false
                        WHERE f.retires AND EXISTS (
                            SELECT 1 FROM %I e
                            WHERE e.market = f.market AND e.interval_index = f.interval_index
                              AND NOT (e.tableoid::regclass::text = ANY($1)))',
                       interval_kind)
            USING chosen;
    END LOOP;
    -- an interval retires only once settled (closing needs it settled): until then its
    -- orders hold escrow on chain, and its state rows are what shows them
    UPDATE depin_interval_fates f SET retires = false
        WHERE f.retires
          AND NOT EXISTS (SELECT 1 FROM energy_interval_settled e
                          WHERE e.market = f.market AND e.interval_index = f.interval_index)
          AND NOT EXISTS (SELECT 1 FROM energy_interval_closed e
                          WHERE e.market = f.market AND e.interval_index = f.interval_index);
    FOREACH interval_kind IN ARRAY depin_interval_kinds() LOOP
        EXECUTE format('UPDATE depin_interval_fates f SET in_table = true
                        WHERE NOT f.retires AND NOT f.in_table AND EXISTS (
                            SELECT 1 FROM ONLY %I e
                            WHERE e.market = f.market AND e.interval_index = f.interval_index)',
                       interval_kind);
    END LOOP;
    -- an interval staying keeps every row: one with rows in the event tables themselves
    -- (written before retention was on, never retired) gathers the others there; any other
    -- moves them to its kind's segment of the first kept slots, to retire with its later
    -- rows once it is wholly past
    FOR s IN SELECT * FROM event_segments
             WHERE segment = ANY(chosen) AND kind = ANY(depin_interval_kinds())
             ORDER BY end_slot, segment
    LOOP
        EXECUTE format('WITH moved AS (
                            DELETE FROM %I e USING depin_interval_fates f
                            WHERE e.market = f.market AND e.interval_index = f.interval_index
                              AND NOT f.retires AND f.in_table
                            RETURNING e.*)
                        INSERT INTO %I SELECT * FROM moved', s.segment, s.kind);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I e JOIN depin_interval_fates f
                                       ON e.market = f.market
                                      AND e.interval_index = f.interval_index
                                       WHERE NOT f.retires)', s.segment)
            INTO held;
        IF held THEN
            width := s.end_slot - s.first_slot;
            onward := depin_event_segment(s.kind, horizon - horizon % width,
                                          horizon - horizon % width + width);
            EXECUTE format('WITH moved AS (
                                DELETE FROM %I e USING depin_interval_fates f
                                WHERE e.market = f.market AND e.interval_index = f.interval_index
                                  AND NOT f.retires
                                RETURNING e.*)
                            INSERT INTO %I SELECT * FROM moved', s.segment, onward);
        END IF;
    END LOOP;
    DELETE FROM energy_orders
        WHERE (market, interval_index) IN
              (SELECT market, interval_index FROM depin_interval_fates WHERE retires);
    DELETE FROM energy_intervals
        WHERE (market, interval_index) IN
              (SELECT market, interval_index FROM depin_interval_fates WHERE retires);
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
