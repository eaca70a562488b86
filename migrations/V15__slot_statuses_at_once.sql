-- A batch's slot statuses at once.
--
-- depin_apply_slots took a batch's slot updates one at a time: an upsert per update and a
-- depin_finalize per finalized slot, whose ancestry walk was a recursive query the planner
-- could answer by scanning `slots` once per step. A batch of 5,000 transactions carries
-- about 200 updates, and they cost the writer 8-11 ms per batch (a tenth of its time).
--
-- Now, when no slot of the batch died, the statuses are upserted in one statement (each
-- slot at the highest level among its updates, with the last parent reported: the same
-- end state as one at a time, since statuses only rise). A batch with a dead slot goes
-- through V5's one-at-a-time function (now `depin_apply_slots_in_order`), so a slot's
-- death removes its rows before any later status is applied. When every finalized slot's parent is the finalized slot before it and no other
-- slot waits in between (what a stream sends while nothing forks), the upsert is all there
-- is to do; otherwise the finalized slots are finalized one by one, in stream order.
-- depin_finalize walks the parents one indexed lookup at a time and stops at the previous
-- finalized slot (usually the first parent), with the same result as before.

CREATE OR REPLACE FUNCTION depin_finalize(f BIGINT) RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    previous BIGINT;
    ancestors BIGINT[] := ARRAY[f];
    lowest BIGINT := f;
    up BIGINT;
    bound BIGINT;
    orphans BIGINT[];
    orphan BIGINT;
BEGIN
    SELECT COALESCE(max(slot), -1) INTO previous FROM slots
        WHERE status = 'finalized' AND slot < f;
    -- down the reported parents to the previous finalized slot (a parent is always an
    -- older slot; one that is not ends the walk, as an unknown parent does)
    LOOP
        SELECT parent INTO up FROM slots WHERE slot = lowest;
        EXIT WHEN up IS NULL OR up <= previous OR up >= lowest;
        ancestors := ancestors || up;
        lowest := up;
    END LOOP;
    -- a chain that reaches back to the previous finalized slot judges everything since it
    bound := CASE WHEN up IS NOT NULL AND up <= previous THEN previous ELSE lowest END;
    SELECT COALESCE(array_agg(s.slot ORDER BY s.slot), '{}') INTO orphans FROM slots s
        WHERE s.slot > bound AND s.slot < f
          AND s.status IN ('processed', 'confirmed')
          AND NOT (s.slot = ANY(ancestors));
    FOREACH orphan IN ARRAY orphans LOOP
        PERFORM depin_remove_slot(orphan);
    END LOOP;
    UPDATE slots SET status = 'finalized', updated_at = now()
        WHERE slot = ANY(ancestors) AND status IN ('processed', 'confirmed');
    RETURN orphans;
END $$;

-- The one-at-a-time path is V5's function, kept under a name of its own (it finalizes
-- through the depin_finalize above).
ALTER FUNCTION depin_apply_slots(BIGINT[], BIGINT[], TEXT[]) RENAME TO depin_apply_slots_in_order;

CREATE FUNCTION depin_apply_slots(slot_list BIGINT[], parent_list BIGINT[], status_list TEXT[])
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    f BIGINT;
    finals BIGINT[];
    before BIGINT;
    removed BIGINT := 0;
    ranks TEXT[] := ARRAY['processed', 'confirmed', 'finalized'];
BEGIN
    IF 'dead' = ANY(status_list) THEN
        RETURN depin_apply_slots_in_order(slot_list, parent_list, status_list);
    END IF;
    SELECT max(slot) INTO before FROM slots WHERE status = 'finalized';
    INSERT INTO slots (slot, parent, status)
    SELECT u.slot,
           (array_agg(u.parent ORDER BY u.pos DESC) FILTER (WHERE u.parent IS NOT NULL))[1],
           ranks[max(array_position(ranks, u.status))]
    FROM unnest(slot_list, parent_list, status_list)
         WITH ORDINALITY AS u(slot, parent, status, pos)
    GROUP BY u.slot
    ON CONFLICT (slot) DO UPDATE
    SET status = CASE WHEN array_position(ranks, EXCLUDED.status)
                         > array_position(ranks, slots.status)
                      THEN EXCLUDED.status ELSE slots.status END,
        parent = COALESCE(EXCLUDED.parent, slots.parent),
        updated_at = now()
    WHERE slots.status <> 'dead';
    finals := ARRAY(SELECT u.slot
                    FROM unnest(slot_list, status_list) WITH ORDINALITY AS u(slot, status, pos)
                    WHERE u.status = 'finalized' ORDER BY u.pos);
    -- the usual batch: each finalized slot is finalized now (none was dead before), its
    -- parent is the finalized slot before it, and no other slot waits in between.
    -- Finalizing them one by one would then find no ancestor to raise and no fork to
    -- remove: the upsert has done it all.
    IF cardinality(finals) = 0 OR (
        before IS NOT NULL
        AND NOT EXISTS (
            SELECT 1
            FROM (SELECT y.fin, lag(y.fin, 1, before) OVER (ORDER BY y.pos) AS prior
                  FROM unnest(finals) WITH ORDINALITY AS y(fin, pos)) x
            LEFT JOIN slots s ON s.slot = x.fin
            WHERE x.fin <= x.prior OR s.parent IS DISTINCT FROM x.prior
               OR s.status IS DISTINCT FROM 'finalized')
        AND NOT EXISTS (
            SELECT 1 FROM slots s
            WHERE s.slot > before AND s.slot < finals[cardinality(finals)]
              AND s.status IN ('processed', 'confirmed')))
    THEN
        RETURN 0;
    END IF;
    FOREACH f IN ARRAY finals
    LOOP
        removed := removed + COALESCE(array_length(depin_finalize(f), 1), 0);
    END LOOP;
    RETURN removed;
END $$;
