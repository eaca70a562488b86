-- V19: a retirement and a state refresh never overlap, a segment retires only once its
-- rows are settled, and an energy interval no longer holds back the segments it shares.
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
-- timeout and tries again at the next prune). A prune with no segment past the kept slots
-- takes no lock. `depin_rebuild_state` locks the tallies first too.
--
-- Cases where a retired row could still change, now held back:
-- * `depin_remove_slot` moves a transaction seen again in another slot (its first slot
--   died) by updating the rows' slot; a row stays in the segment it was written into,
--   possibly past that segment's slots. A segment with a row at or past the horizon stays.
-- * a slot below the newest finalized one can be neither finalized nor judged dead while
--   its parents are unknown (depin_finalize judges only the slots above an unbroken parent
--   chain); a segment with a row of such a slot stays until the slot is settled, or until
--   it lies more than the kept slots below the horizon: a slot left unjudged that long
--   lost its parents for good, and a database keeping every event keeps its rows too.
-- * a deal's proofs and faults are tallied under the proposal before them: their segment
--   also stays while a proposal of one of their deals is in such a slot or at or past the
--   horizon (a fork could still move or remove it).
--
-- Energy intervals (V17): a segment holding an interval with rows outside the segments
-- being retired stayed, and held back the other intervals it holds, and the segments with
-- their rows, and so on. In a market whose intervals overlap segment boundaries (any busy
-- one) nothing ever retired, and each prune repeated that search over every segment past
-- the kept slots (40 intervals, 112 segments: 13 s on the writer's connection). Now every
-- settled segment past the kept slots retires; the rows of an interval that cannot go
-- whole move out of it first: into the event tables themselves when the interval has rows
-- there (written before retention was on: such an interval is kept whole, as before),
-- otherwise into their kind's segment of the first kept slots, with which they retire
-- once the interval is wholly past. Which intervals stay is found by one statement per
-- kind rather than V17's query per interval and kind (1,600 intervals of 40 markets in one
-- retirement: 113 ms against 4.1-4.3 s). The retiring intervals' state rows go as before.
-- A segment can then hold rows older than its `first_slot` (as a fork can leave one with a
-- row past its `end_slot`): a segment's slot range, in `event_segments` and in
-- `detached_event_segments`, names the slots it was made for, not bounds on its rows'.
--
-- Restates depin_retire_segments and depin_rebuild_state (V18).

-- Replaced by one statement per kind in depin_retire_segments below.
DROP FUNCTION depin_interval_outside(TEXT, NUMERIC, TEXT[]);

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

-- The state rebuilt from the events (V18), after any retirement in progress: like the
-- refresher, it locks the tallies before it reads anything.
CREATE OR REPLACE FUNCTION depin_rebuild_state() RETURNS VOID LANGUAGE sql AS $$
    LOCK TABLE deal_tallies, reward_claim_tallies, reward_epoch_tallies IN SHARE MODE;
    LOCK TABLE state_queue IN EXCLUSIVE MODE;
    DELETE FROM state_queue;
    TRUNCATE networks, makers, devices, stake_positions, device_bonds, reward_epochs,
             reward_claims, deals, energy_intervals, energy_orders;
    SELECT depin_refresh_networks(ARRAY(SELECT network FROM registry_network_initialized));
    SELECT depin_refresh_makers(ARRAY(SELECT maker FROM registry_maker_registered));
    SELECT depin_refresh_devices(ARRAY(SELECT device FROM registry_device_onboarded));
    SELECT depin_refresh_stake_positions(ARRAY(SELECT DISTINCT position FROM staking_staked));
    SELECT depin_refresh_device_bonds(ARRAY(SELECT DISTINCT bond FROM staking_device_bonded));
    WITH k AS (SELECT config, epoch FROM rewards_root_proposed
               UNION SELECT config, epoch FROM rewards_root_finalized)
    SELECT depin_refresh_reward_epochs(ARRAY(SELECT config FROM k ORDER BY config, epoch),
                                       ARRAY(SELECT epoch FROM k ORDER BY config, epoch));
    WITH k AS (SELECT config, device FROM rewards_rewards_claimed
               UNION SELECT config, device FROM reward_claim_tallies)
    SELECT depin_refresh_reward_claims(ARRAY(SELECT config FROM k ORDER BY config, device),
                                       ARRAY(SELECT device FROM k ORDER BY config, device));
    SELECT depin_refresh_deals(ARRAY(SELECT deal FROM storage_deal_proposed));
    WITH k AS (SELECT market, interval_index FROM energy_order_placed
               UNION SELECT market, interval_index FROM energy_interval_cleared)
    SELECT depin_refresh_energy(ARRAY(SELECT market FROM k ORDER BY market, interval_index),
                                ARRAY(SELECT interval_index FROM k ORDER BY market, interval_index));
$$;
