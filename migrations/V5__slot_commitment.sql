-- Commitment belongs to the slot, not the row; finality reaches a slot's ancestors; a deal
-- address used twice keeps its two lifecycles apart; slot bookkeeping can be pruned.

-- 1. Commitment lives in `slots` only ------------------------------------------------------
--
-- Rows no longer carry a commitment, so finalizing a slot is one small update of `slots`
-- instead of a rewrite of every row in it. `depin_commitment(slot)` gives a row's level.

-- an existing database keeps its rows' levels: each slot gets at least the level its
-- transactions were stored at
INSERT INTO slots (slot, status)
SELECT slot, (ARRAY['processed', 'confirmed', 'finalized'])[
           max(array_position(ARRAY['processed', 'confirmed', 'finalized'], commitment))]
FROM indexed_transactions GROUP BY slot
ON CONFLICT (slot) DO UPDATE SET status = EXCLUDED.status
WHERE slots.status <> 'dead'
  AND array_position(ARRAY['processed', 'confirmed', 'finalized'], EXCLUDED.status)
    > array_position(ARRAY['processed', 'confirmed', 'finalized'], slots.status);

DROP FUNCTION depin_set_commitment(BIGINT[], TEXT);
DROP FUNCTION depin_apply_slots(BIGINT[], BIGINT[], TEXT[], TEXT);
-- the event tables inherit the column, so dropping it from the parent drops it everywhere
ALTER TABLE events DROP COLUMN commitment;
ALTER TABLE decode_failures DROP COLUMN commitment;
ALTER TABLE indexed_transactions DROP COLUMN commitment;

-- Event rows are no longer updated in place (the room left for in-page commitment updates
-- is not needed): new pages are filled.
DO $$
DECLARE
    t REGCLASS;
BEGIN
    FOR t IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'events'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 100)', t);
    END LOOP;
END $$;

CREATE INDEX slots_finalized ON slots (slot) WHERE status = 'finalized';

-- A transaction's first slot is its `indexed_transactions` row; only the other slots it is
-- seen in (a fork carrying it too) are written here, so the common case writes no row.
-- When its slot dies, the transaction moves to one of these (depin_remove_slot).
COMMENT ON TABLE transaction_slots IS
    'Slots a transaction was seen in besides the one of its indexed_transactions row';

-- The commitment of the rows of slot `s`: its status, or 'finalized' when `s` is at or below
-- the newest finalized slot and its own status was pruned (see depin_prune_slots). NULL for
-- a slot never seen.
CREATE FUNCTION depin_commitment(s BIGINT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT status FROM slots WHERE slot = s),
        CASE WHEN s <= (SELECT max(slot) FROM slots WHERE status = 'finalized')
             THEN 'finalized' END);
$$;

-- Records that rows were written in `slot_list` at the stream's level `level`: a slot is
-- at least at the level its transactions arrived at (finalized at or below the newest
-- finalized slot, whose statuses may have been pruned). Statuses only rise; a dead slot
-- stays dead.
CREATE FUNCTION depin_note_slots(slot_list BIGINT[], level TEXT) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO slots (slot, status)
    SELECT DISTINCT s, CASE WHEN s <= f.newest THEN 'finalized' ELSE level END
    FROM unnest(slot_list) AS s,
         (SELECT max(slot) AS newest FROM slots WHERE status = 'finalized') f
    ON CONFLICT (slot) DO UPDATE SET status = EXCLUDED.status, updated_at = now()
    WHERE slots.status <> 'dead'
      AND array_position(ARRAY['processed', 'confirmed', 'finalized'], EXCLUDED.status)
        > array_position(ARRAY['processed', 'confirmed', 'finalized'], slots.status);
$$;

-- 2. Finality reaches ancestors -------------------------------------------------------------
--
-- A finalized slot finalizes every ancestor. Before, only the slot whose finalized status
-- arrived was raised, so slots finalized while the indexer was down (it resumes after its
-- checkpoint and never sees their status) stayed confirmed forever. Now the ancestors found
-- through the parents the stream reported are raised along with `f`, and every slot since
-- the previous finalized one that is not among them is removed as an abandoned fork.

CREATE OR REPLACE FUNCTION depin_finalize(f BIGINT) RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    previous BIGINT;
    ancestors BIGINT[];
    lowest BIGINT;
    lowest_parent BIGINT;
    bound BIGINT;
    orphans BIGINT[];
    orphan BIGINT;
BEGIN
    SELECT COALESCE(max(slot), -1) INTO previous FROM slots
        WHERE status = 'finalized' AND slot < f;
    WITH RECURSIVE ancestry(slot) AS (
        SELECT f
        UNION
        SELECT s.parent FROM slots s JOIN ancestry a ON s.slot = a.slot
        WHERE s.parent IS NOT NULL AND s.parent > previous
    )
    SELECT array_agg(slot), min(slot) INTO ancestors, lowest FROM ancestry;
    SELECT parent INTO lowest_parent FROM slots WHERE slot = lowest;
    -- a chain that reaches back to the previous finalized slot judges everything since it
    bound := CASE WHEN lowest_parent IS NOT NULL AND lowest_parent <= previous
                  THEN previous ELSE lowest END;
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

-- Applies a batch's slot statuses in stream order: records each (statuses only rise),
-- removes dead slots and abandoned forks, finalizes ancestors. Returns the number of slots
-- removed.
CREATE FUNCTION depin_apply_slots(slot_list BIGINT[], parent_list BIGINT[], status_list TEXT[])
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    i INTEGER;
    s BIGINT;
    st TEXT;
    removed BIGINT := 0;
    ranks TEXT[] := ARRAY['processed', 'confirmed', 'finalized'];
BEGIN
    FOR i IN 1 .. COALESCE(array_length(slot_list, 1), 0) LOOP
        s := slot_list[i];
        st := status_list[i];
        INSERT INTO slots (slot, parent, status) VALUES (s, parent_list[i], st)
        ON CONFLICT (slot) DO UPDATE
        SET status = CASE WHEN EXCLUDED.status = 'dead'
                            OR array_position(ranks, EXCLUDED.status)
                             > array_position(ranks, slots.status)
                          THEN EXCLUDED.status ELSE slots.status END,
            parent = COALESCE(EXCLUDED.parent, slots.parent),
            updated_at = now()
        WHERE slots.status <> 'dead';
        IF st = 'dead' THEN
            PERFORM depin_remove_slot(s);
            removed := removed + 1;
        ELSIF st = 'finalized' THEN
            removed := removed + COALESCE(array_length(depin_finalize(s), 1), 0);
        END IF;
    END LOOP;
    RETURN removed;
END $$;

-- 3. One deal lifecycle at a time -----------------------------------------------------------
--
-- A `deals` row follows the latest proposal at its address and only the events after it:
-- when an address carries a second deal (after the first was cancelled, completed or
-- terminated and its account closed), nothing of the first leaks into the row.

CREATE OR REPLACE FUNCTION depin_refresh_deals(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM deals WHERE deal = ANY(keys);
    INSERT INTO deals
    SELECT d.deal, d.client, d.deal_id, d.provider_device, a.provider, d.piece_root, d.num_chunks,
           d.price_per_period, d.periods, COALESCE(a.collateral, d.collateral),
           CASE WHEN c.deal IS NOT NULL THEN 'completed'
                WHEN t.deal IS NOT NULL THEN 'terminated'
                WHEN x.deal IS NOT NULL THEN 'cancelled'
                WHEN a.deal IS NOT NULL THEN 'active'
                ELSE 'proposed' END,
           a.start_ts, proofs.proven, faults.n, proofs.paid, proofs.fees,
           COALESCE(x.refunded, 0) + faults.refunded + COALESCE(t.refunded, 0),
           faults.slashed + COALESCE(t.slashed_to_treasury, 0),
           c.collateral_returned
    FROM (SELECT DISTINCT ON (deal) * FROM storage_deal_proposed WHERE deal = ANY(keys)
          ORDER BY deal, slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) d
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_accepted y WHERE y.deal = d.deal
        AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
            > (d.slot, d.tx_index, d.instruction_index, d.event_index)
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) a ON true
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_cancelled y WHERE y.deal = d.deal
        AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
            > (d.slot, d.tx_index, d.instruction_index, d.event_index)
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) x ON true
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_terminated y WHERE y.deal = d.deal
        AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
            > (d.slot, d.tx_index, d.instruction_index, d.event_index)
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) t ON true
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_completed y WHERE y.deal = d.deal
        AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
            > (d.slot, d.tx_index, d.instruction_index, d.event_index)
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) c ON true
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE proven) AS proven,
        COALESCE(sum(provider_paid), 0) AS paid, COALESCE(sum(protocol_fee), 0) AS fees
        FROM storage_proof_accepted p WHERE p.deal = d.deal
        AND (p.slot, p.tx_index, p.instruction_index, p.event_index)
            > (d.slot, d.tx_index, d.instruction_index, d.event_index)) proofs
    CROSS JOIN LATERAL (SELECT count(*) AS n, COALESCE(sum(refunded), 0) AS refunded,
        COALESCE(sum(slashed), 0) AS slashed
        FROM storage_fault_reported f WHERE f.deal = d.deal
        AND (f.slot, f.tx_index, f.instruction_index, f.event_index)
            > (d.slot, d.tx_index, d.instruction_index, d.event_index)) faults;
$$;

-- 4. Retention of slot bookkeeping ----------------------------------------------------------
--
-- Below the newest finalized slot, a slot judged finalized or dead cannot change any more:
-- its status (its rows read as finalized through depin_commitment) and the record of which
-- such slots a transaction was seen in can go. A slot still processed or confirmed there
-- (its ancestry was never resolved) stays, so it is never read as finalized by default.
-- The newest finalized slot itself stays: it bounds the next finalization and gives older
-- rows their level. Returns the number of slot statuses removed.
CREATE FUNCTION depin_prune_slots() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    newest BIGINT;
    removed BIGINT;
BEGIN
    SELECT max(slot) INTO newest FROM slots WHERE status = 'finalized';
    IF newest IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM slots WHERE slot < newest AND status IN ('finalized', 'dead');
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM transaction_slots t WHERE t.slot < newest
        AND NOT EXISTS (SELECT 1 FROM slots s WHERE s.slot = t.slot);
    RETURN removed;
END $$;

-- 5. History indexes ------------------------------------------------------------------------
--
-- The state refresh asks, per key, for the latest event of a kind ("ORDER BY slot DESC,
-- tx_index DESC, ... LIMIT 1" over one key's rows). With an index on the key alone the
-- planner may walk the whole slot index backwards instead, a cost that grows with the table
-- (measured: 5x slower per row with ten times the rows stored). An index on the key
-- followed by the event position answers it with one descending index probe; it replaces
-- the key-only index (same lookups, no extra index to maintain).

-- Creates the history index of `t` on `keys`, dropping the plain index on `replaces`
-- (default: the same keys).
CREATE FUNCTION depin_history_index(t REGCLASS, keys TEXT, replaces TEXT DEFAULT NULL)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    old REGCLASS;
BEGIN
    FOR old IN
        SELECT i.indexrelid::regclass FROM pg_index i
        WHERE i.indrelid = t AND NOT i.indisprimary AND NOT i.indisunique
          AND (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = t AND a.attnum = k.attnum)
              = COALESCE(replaces, keys)
    LOOP
        EXECUTE format('DROP INDEX %s', old);
    END LOOP;
    EXECUTE format('CREATE INDEX ON %s (%s, slot, tx_index, instruction_index, event_index)',
                   t, keys);
END $$;

SELECT depin_history_index('registry_network_initialized', 'network');
SELECT depin_history_index('registry_network_updated', 'network');
SELECT depin_history_index('registry_authority_proposed', 'network');
SELECT depin_history_index('registry_authority_accepted', 'network');
SELECT depin_history_index('registry_maker_registered', 'maker');
SELECT depin_history_index('registry_maker_approval_set', 'maker');
SELECT depin_history_index('registry_device_onboarded', 'device');
SELECT depin_history_index('registry_location_asserted', 'device');
SELECT depin_history_index('registry_device_transferred', 'device');
SELECT depin_history_index('registry_device_status_changed', 'device');
SELECT depin_history_index('staking_staked', 'position');
SELECT depin_history_index('staking_device_bonded', 'bond');
SELECT depin_history_index('staking_device_unbonded', 'bond');
SELECT depin_history_index('staking_unstake_requested', 'position');
SELECT depin_history_index('rewards_root_proposed', 'config, epoch');
SELECT depin_history_index('rewards_root_finalized', 'config, epoch');
SELECT depin_history_index('rewards_rewards_claimed', 'config, device');
SELECT depin_history_index('storage_deal_proposed', 'deal');
SELECT depin_history_index('storage_deal_accepted', 'deal');
SELECT depin_history_index('storage_deal_cancelled', 'deal');
SELECT depin_history_index('storage_deal_terminated', 'deal');
SELECT depin_history_index('storage_deal_completed', 'deal');
SELECT depin_history_index('energy_order_placed', 'market, interval_index, side, order_slot',
                             'market, interval_index');
SELECT depin_history_index('energy_order_cancelled', 'market, interval_index, side, order_slot',
                             'market, interval_index');
SELECT depin_history_index('energy_order_settled', 'market, interval_index, side, order_slot',
                             'market, interval_index');
SELECT depin_history_index('energy_interval_cleared', 'market, interval_index');
SELECT depin_history_index('energy_interval_settled', 'market, interval_index');
SELECT depin_history_index('energy_interval_closed', 'market, interval_index');
DROP FUNCTION depin_history_index(REGCLASS, TEXT, TEXT);
