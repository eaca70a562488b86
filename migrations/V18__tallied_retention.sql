-- Retention of storage proofs, faults and reward claims, into tallies.
--
-- Three state-source kinds grow with every device and every period for as long as the
-- network runs: a storage proof or fault per deal and period, a reward claim per device
-- and epoch. The state rows they feed (`deals`, `reward_claims`, the claimed amount and
-- claims of `reward_epochs`) read them only as sums, counts, maxima and the latest claim's
-- owner, so what a slot range of them contributes can be kept as a few numbers per key
-- instead of the rows. With `retention.keep_event_slots` set their rows go into segments
-- like the activity events (V12), and when a segment is retired (dropped or detached) its
-- rows are first added to a tally per key, in the same transaction; the refresh functions
-- add the tallies to what the kept rows give. A retired segment is always wholly below the
-- newest finalized slot, so no fork can remove a tallied row afterwards, and the state
-- rows are unchanged by a retirement: the state is the fold of the kept events and the
-- tallies, and `depin_rebuild_state()` gives the same rows.
--
-- A deal's proofs and faults count from its latest proposal on (V5: an address may carry
-- a new deal once the old one's account is closed), so a deal's tally is kept per
-- proposal, the latest proposal at the deal's address before the tallied row; proposals
-- are never retired. A reward claim's owner is the latest claim's, so a claim tally keeps
-- the position of its latest claim, and the refresh takes the owner of whichever is later,
-- the tally's latest claim or the latest kept row (rows written before retention was on
-- stay in the event table itself and can be older than a tallied one).
--
-- A detached segment of these kinds has been tallied: attaching it back to its event table
-- would count its rows twice.

-- The kinds retired into tallies.
CREATE FUNCTION depin_tally_kinds() RETURNS TEXT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['storage_proof_accepted', 'storage_fault_reported', 'rewards_rewards_claimed'];
$$;

-- What a deal's retired proofs and faults added, per proposal.
CREATE TABLE deal_tallies (
    -- The deal's address.
    deal                       TEXT COLLATE "C" NOT NULL,
    -- The position of the proposal the tallied rows followed (the latest at the address
    -- before them).
    proposal_slot              BIGINT  NOT NULL,
    proposal_tx_index          BIGINT  NOT NULL,
    proposal_instruction_index INTEGER NOT NULL,
    proposal_event_index       INTEGER NOT NULL,
    -- Periods proven, and what their proofs paid the provider and the protocol.
    proven                     BIGINT  NOT NULL,
    provider_paid              NUMERIC NOT NULL,
    protocol_fees              NUMERIC NOT NULL,
    -- Faults reported, and what they refunded to the client and slashed.
    faults                     BIGINT  NOT NULL,
    fault_refunded             NUMERIC NOT NULL,
    fault_slashed              NUMERIC NOT NULL,
    PRIMARY KEY (deal, proposal_slot, proposal_tx_index, proposal_instruction_index,
                 proposal_event_index)
);

-- What a device's retired reward claims added, per rewards config.
CREATE TABLE reward_claim_tallies (
    config            TEXT COLLATE "C" NOT NULL,
    device            TEXT COLLATE "C" NOT NULL,
    -- The owner the latest tallied claim paid, and that claim's position.
    owner             TEXT COLLATE "C" NOT NULL,
    slot              BIGINT  NOT NULL,
    tx_index          BIGINT  NOT NULL,
    instruction_index INTEGER NOT NULL,
    event_index       INTEGER NOT NULL,
    -- The highest cumulative total and epoch claimed, and the number of claims.
    total_claimed     NUMERIC NOT NULL,
    last_epoch        NUMERIC NOT NULL,
    claims            BIGINT  NOT NULL,
    PRIMARY KEY (config, device)
);

-- What the retired reward claims added to each epoch's claimed amount and claims.
CREATE TABLE reward_epoch_tallies (
    config  TEXT COLLATE "C" NOT NULL,
    epoch   NUMERIC NOT NULL,
    -- The amounts claimed for the epoch, and the number of claims.
    claimed NUMERIC NOT NULL,
    claims  BIGINT  NOT NULL,
    PRIMARY KEY (config, epoch)
);

-- Adds the rows of `segment` (a segment of a kind in depin_tally_kinds()) to their tallies.
CREATE FUNCTION depin_tally_segment(segment TEXT, kind TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF kind = 'storage_proof_accepted' THEN
        EXECUTE format($q$
            INSERT INTO deal_tallies AS t
            SELECT e.deal, d.slot, d.tx_index, d.instruction_index, d.event_index,
                   count(*) FILTER (WHERE e.proven), sum(e.provider_paid), sum(e.protocol_fee),
                   0, 0, 0
            FROM %I e
            CROSS JOIN LATERAL (
                SELECT y.slot, y.tx_index, y.instruction_index, y.event_index
                FROM storage_deal_proposed y WHERE y.deal = e.deal
                AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
                    < (e.slot, e.tx_index, e.instruction_index, e.event_index)
                ORDER BY y.slot DESC, y.tx_index DESC, y.instruction_index DESC,
                         y.event_index DESC
                LIMIT 1) d
            GROUP BY e.deal, d.slot, d.tx_index, d.instruction_index, d.event_index
            ON CONFLICT (deal, proposal_slot, proposal_tx_index, proposal_instruction_index,
                         proposal_event_index) DO UPDATE
            SET proven = t.proven + EXCLUDED.proven,
                provider_paid = t.provider_paid + EXCLUDED.provider_paid,
                protocol_fees = t.protocol_fees + EXCLUDED.protocol_fees
            $q$, segment);
    ELSIF kind = 'storage_fault_reported' THEN
        EXECUTE format($q$
            INSERT INTO deal_tallies AS t
            SELECT e.deal, d.slot, d.tx_index, d.instruction_index, d.event_index,
                   0, 0, 0, count(*), sum(e.refunded), sum(e.slashed)
            FROM %I e
            CROSS JOIN LATERAL (
                SELECT y.slot, y.tx_index, y.instruction_index, y.event_index
                FROM storage_deal_proposed y WHERE y.deal = e.deal
                AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
                    < (e.slot, e.tx_index, e.instruction_index, e.event_index)
                ORDER BY y.slot DESC, y.tx_index DESC, y.instruction_index DESC,
                         y.event_index DESC
                LIMIT 1) d
            GROUP BY e.deal, d.slot, d.tx_index, d.instruction_index, d.event_index
            ON CONFLICT (deal, proposal_slot, proposal_tx_index, proposal_instruction_index,
                         proposal_event_index) DO UPDATE
            SET faults = t.faults + EXCLUDED.faults,
                fault_refunded = t.fault_refunded + EXCLUDED.fault_refunded,
                fault_slashed = t.fault_slashed + EXCLUDED.fault_slashed
            $q$, segment);
    ELSIF kind = 'rewards_rewards_claimed' THEN
        EXECUTE format($q$
            INSERT INTO reward_claim_tallies AS t
            SELECT DISTINCT ON (e.config, e.device) e.config, e.device, e.owner,
                   e.slot, e.tx_index, e.instruction_index, e.event_index,
                   max(e.total_claimed) OVER w, max(e.epoch) OVER w, count(*) OVER w
            FROM %I e
            WINDOW w AS (PARTITION BY e.config, e.device)
            ORDER BY e.config, e.device, e.slot DESC, e.tx_index DESC, e.instruction_index DESC,
                     e.event_index DESC
            ON CONFLICT (config, device) DO UPDATE
            SET (owner, slot, tx_index, instruction_index, event_index) =
                    (SELECT CASE WHEN later THEN EXCLUDED.owner ELSE t.owner END,
                            CASE WHEN later THEN EXCLUDED.slot ELSE t.slot END,
                            CASE WHEN later THEN EXCLUDED.tx_index ELSE t.tx_index END,
                            CASE WHEN later THEN EXCLUDED.instruction_index
                                 ELSE t.instruction_index END,
                            CASE WHEN later THEN EXCLUDED.event_index ELSE t.event_index END
                     FROM (SELECT (EXCLUDED.slot, EXCLUDED.tx_index, EXCLUDED.instruction_index,
                                   EXCLUDED.event_index)
                                  > (t.slot, t.tx_index, t.instruction_index, t.event_index)
                                  AS later) l),
                total_claimed = GREATEST(t.total_claimed, EXCLUDED.total_claimed),
                last_epoch = GREATEST(t.last_epoch, EXCLUDED.last_epoch),
                claims = t.claims + EXCLUDED.claims
            $q$, segment);
        EXECUTE format($q$
            INSERT INTO reward_epoch_tallies AS t
            SELECT e.config, e.epoch, sum(e.amount), count(*) FROM %I e
            GROUP BY e.config, e.epoch
            ON CONFLICT (config, epoch) DO UPDATE
            SET claimed = t.claimed + EXCLUDED.claimed, claims = t.claims + EXCLUDED.claims
            $q$, segment);
    ELSE
        RAISE EXCEPTION 'event kind % is not retired into tallies', kind;
    END IF;
END $$;

-- A deal's row (V5), with its tallied proofs and faults added to the kept ones.
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
           a.start_ts,
           proofs.proven + COALESCE(g.proven, 0),
           faults.n + COALESCE(g.faults, 0),
           proofs.paid + COALESCE(g.provider_paid, 0),
           proofs.fees + COALESCE(g.protocol_fees, 0),
           COALESCE(x.refunded, 0) + faults.refunded + COALESCE(g.fault_refunded, 0)
               + COALESCE(t.refunded, 0),
           faults.slashed + COALESCE(g.fault_slashed, 0) + COALESCE(t.slashed_to_treasury, 0),
           c.collateral_returned
    FROM (SELECT DISTINCT ON (deal) * FROM storage_deal_proposed WHERE deal = ANY(keys)
          ORDER BY deal, slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) d
    LEFT JOIN deal_tallies g ON g.deal = d.deal
        AND (g.proposal_slot, g.proposal_tx_index, g.proposal_instruction_index,
             g.proposal_event_index) = (d.slot, d.tx_index, d.instruction_index, d.event_index)
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

-- A device's claim row (V2), with its tallied claims: the owner of the later of the latest
-- kept claim and the tally's latest, the higher total and epoch, the claims of both.
CREATE OR REPLACE FUNCTION depin_refresh_reward_claims(configs TEXT[], devices TEXT[])
RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM reward_claims
    WHERE (config, device) IN (SELECT * FROM unnest(configs, devices));
    INSERT INTO reward_claims
    SELECT k.config, k.device,
           CASE WHEN l.owner IS NULL
                  OR (g.slot, g.tx_index, g.instruction_index, g.event_index)
                     > (l.slot, l.tx_index, l.instruction_index, l.event_index)
                THEN g.owner ELSE l.owner END,
           GREATEST(a.total, g.total_claimed), GREATEST(a.epoch, g.last_epoch),
           a.n + COALESCE(g.claims, 0)
    FROM (SELECT DISTINCT * FROM unnest(configs, devices)) k(config, device)
    LEFT JOIN reward_claim_tallies g ON g.config = k.config AND g.device = k.device
    LEFT JOIN LATERAL (SELECT y.owner, y.slot, y.tx_index, y.instruction_index, y.event_index
        FROM rewards_rewards_claimed y WHERE y.config = k.config AND y.device = k.device
        ORDER BY y.slot DESC, y.tx_index DESC, y.instruction_index DESC, y.event_index DESC
        LIMIT 1) l ON true
    CROSS JOIN LATERAL (SELECT max(y.total_claimed) AS total, max(y.epoch) AS epoch,
        count(*) AS n
        FROM rewards_rewards_claimed y WHERE y.config = k.config AND y.device = k.device) a
    WHERE l.owner IS NOT NULL OR g.owner IS NOT NULL;
$$;

-- An epoch's row (V9), with its tallied claims added to the kept ones.
CREATE OR REPLACE FUNCTION depin_refresh_reward_epochs(configs TEXT[], epochs NUMERIC[])
RETURNS VOID
LANGUAGE sql AS $$
    DELETE FROM reward_epochs
    WHERE (config, epoch) IN (SELECT * FROM unnest(configs, epochs));
    INSERT INTO reward_epochs
        (config, epoch, root, cumulative_total, votes, finalized, claimed, claims,
         multipliers_hash)
    SELECT k.config, k.epoch,
           COALESCE(f.root, p.root), COALESCE(f.cumulative_total, p.cumulative_total),
           COALESCE(p.votes, 0), f.config IS NOT NULL,
           c.claimed + COALESCE(g.claimed, 0), c.claims + COALESCE(g.claims, 0),
           COALESCE(f.multipliers_hash, p.multipliers_hash)
    FROM (SELECT DISTINCT * FROM unnest(configs, epochs) AS k(config, epoch)) k
    LEFT JOIN reward_epoch_tallies g ON g.config = k.config AND g.epoch = k.epoch
    LEFT JOIN LATERAL (SELECT * FROM rewards_root_proposed x
        WHERE x.config = k.config AND x.epoch = k.epoch
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) p ON true
    LEFT JOIN LATERAL (SELECT * FROM rewards_root_finalized x
        WHERE x.config = k.config AND x.epoch = k.epoch
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) f ON true
    CROSS JOIN LATERAL (SELECT COALESCE(sum(amount), 0) AS claimed, count(*) AS claims
        FROM rewards_rewards_claimed x WHERE x.config = k.config AND x.epoch = k.epoch) c
    WHERE p.config IS NOT NULL OR f.config IS NOT NULL;
$$;

-- The full rebuild (V11), with the devices whose claims are all tallied among the keys.
CREATE OR REPLACE FUNCTION depin_rebuild_state() RETURNS VOID LANGUAGE sql AS $$
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

-- A replaced function loses the settings V13 gave it.
ALTER FUNCTION depin_refresh_deals(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_reward_epochs(TEXT[], NUMERIC[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_reward_claims(TEXT[], TEXT[]) SET enable_seqscan = off;

-- Retires the segments whose slots all lie below `horizon` (V17), a segment of a tallied
-- kind after adding its rows to their tallies.
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
