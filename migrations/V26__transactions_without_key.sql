-- V26: a transaction's `indexed_transactions` row has no unique key; the writer keeps it
-- unique.
--
-- The primary key on `signature` was the backstop of exactly-once: a transaction the writer
-- did not remember was refused by it and the batch written again through staging tables.
-- Keeping it was the largest cost of the write path beside the event rows themselves (the
-- COPY of a batch's transaction rows took 136-216 ms for 28,000 rows with it, 30-52 ms
-- without: a descent over random 88-character keys per row). What it caught, the writer
-- now knows without it (README.md, Indexer, "Exactly once"):
-- * a transaction lands once per fork, and the stream delivers one again only in its own
--   slot (a replay after a reconnect or a restart, a backfill) or in another fork's slot
--   within the life of its blockhash; the writer remembers every signature stored in the
--   1,024 slots below the newest (RECENT_SLOTS, loaded at start, following the
--   transactions of removed slots), and
-- * a transaction whose copies could be older than those is looked up in the database
--   among the transactions stored within 512 slots of it (the BRIN index on `slot`) before
--   the batch is written.
-- One writer per database (the advisory lock) makes that lookup the truth.
--
-- `decode_failures` loses its key for the same reason and gets the event tables' hash index
-- on `signature` (a transaction's failures; moving them out of a dead slot). Nothing looks
-- an `indexed_transactions` row up by signature alone: `depin_remove_slot` finds the ones to
-- move by the dead slot (below), and the event tables' hash indexes serve a transaction's
-- events.

ALTER TABLE indexed_transactions DROP CONSTRAINT indexed_transactions_pkey;
-- The slot's BRIN index now finds the rows of the writer's lookups (its recent slots at
-- start, a removed slot's moved transactions, a redelivery of old slots), all near the newest
-- rows: a block range not summarized yet matches every probe, and without autosummarize
-- the ranges written since the last vacuum stay so (on a large table, millions of rows read
-- for one slot). Each range is summarized as soon as the next one starts.
ALTER INDEX indexed_transactions_slot_brin SET (autosummarize = on);
SELECT brin_summarize_new_values('indexed_transactions_slot_brin');
ALTER TABLE decode_failures DROP CONSTRAINT decode_failures_pkey;
CREATE INDEX decode_failures_signature ON decode_failures USING hash (signature);

-- As in V11, but a moved transaction's rows are found by its dead slot as well as its
-- signature (without the key, its row by signature alone would be a scan of the table; and
-- only the dying copy's rows move).
CREATE OR REPLACE FUNCTION depin_remove_slot(dead BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    moved RECORD;
    k_networks TEXT[];
    k_makers TEXT[];
    k_devices TEXT[];
    k_positions TEXT[];
    k_bonds TEXT[];
    k_epochs RECORD;
    k_claims RECORD;
    k_deals TEXT[];
    k_intervals RECORD;
BEGIN
    k_networks := ARRAY(
        SELECT network FROM registry_network_initialized WHERE slot = dead
        UNION SELECT network FROM registry_network_updated WHERE slot = dead
        UNION SELECT network FROM registry_authority_proposed WHERE slot = dead
        UNION SELECT network FROM registry_authority_accepted WHERE slot = dead);
    k_makers := ARRAY(
        SELECT maker FROM registry_maker_registered WHERE slot = dead
        UNION SELECT maker FROM registry_maker_approval_set WHERE slot = dead);
    k_devices := ARRAY(
        SELECT device FROM registry_device_onboarded WHERE slot = dead
        UNION SELECT device FROM registry_location_asserted WHERE slot = dead
        UNION SELECT device FROM registry_device_transferred WHERE slot = dead
        UNION SELECT device FROM registry_device_status_changed WHERE slot = dead);
    k_positions := ARRAY(
        SELECT position FROM staking_staked WHERE slot = dead
        UNION SELECT position FROM staking_device_bonded WHERE slot = dead
        UNION SELECT position FROM staking_device_unbonded WHERE slot = dead
        UNION SELECT position FROM staking_unstake_requested WHERE slot = dead
        UNION SELECT position FROM staking_withdrawn WHERE slot = dead
        UNION SELECT position FROM staking_slashed WHERE slot = dead);
    k_bonds := ARRAY(
        SELECT bond FROM staking_device_bonded WHERE slot = dead
        UNION SELECT bond FROM staking_device_unbonded WHERE slot = dead);
    SELECT array_agg(config) AS configs, array_agg(epoch) AS epochs INTO k_epochs FROM (
        SELECT config, epoch FROM rewards_root_proposed WHERE slot = dead
        UNION SELECT config, epoch FROM rewards_root_finalized WHERE slot = dead
        UNION SELECT config, epoch FROM rewards_rewards_claimed WHERE slot = dead) k;
    SELECT array_agg(config) AS configs, array_agg(device) AS devices INTO k_claims FROM (
        SELECT DISTINCT config, device FROM rewards_rewards_claimed WHERE slot = dead) k;
    k_deals := ARRAY(
        SELECT deal FROM storage_deal_proposed WHERE slot = dead
        UNION SELECT deal FROM storage_deal_cancelled WHERE slot = dead
        UNION SELECT deal FROM storage_deal_accepted WHERE slot = dead
        UNION SELECT deal FROM storage_challenge_opened WHERE slot = dead
        UNION SELECT deal FROM storage_proof_accepted WHERE slot = dead
        UNION SELECT deal FROM storage_fault_reported WHERE slot = dead
        UNION SELECT deal FROM storage_deal_terminated WHERE slot = dead
        UNION SELECT deal FROM storage_deal_completed WHERE slot = dead);
    SELECT array_agg(market) AS markets, array_agg(interval_index) AS intervals INTO k_intervals
    FROM (
        SELECT market, interval_index FROM energy_order_placed WHERE slot = dead
        UNION SELECT market, interval_index FROM energy_order_cancelled WHERE slot = dead
        UNION SELECT market, interval_index FROM energy_interval_cleared WHERE slot = dead
        UNION SELECT market, interval_index FROM energy_order_settled WHERE slot = dead
        UNION SELECT market, interval_index FROM energy_interval_settled WHERE slot = dead
        UNION SELECT market, interval_index FROM energy_interval_closed WHERE slot = dead) k;

    DELETE FROM transaction_slots WHERE slot = dead;
    FOR moved IN
        SELECT DISTINCT ON (t.signature) t.signature, s.slot, s.tx_index
        FROM indexed_transactions t JOIN transaction_slots s USING (signature)
        WHERE t.slot = dead
        ORDER BY t.signature, s.slot
    LOOP
        UPDATE events SET slot = moved.slot, tx_index = moved.tx_index
            WHERE slot = dead AND signature = moved.signature;
        UPDATE decode_failures SET slot = moved.slot
            WHERE slot = dead AND signature = moved.signature;
        UPDATE indexed_transactions SET slot = moved.slot, tx_index = moved.tx_index
            WHERE slot = dead AND signature = moved.signature;
    END LOOP;
    DELETE FROM events WHERE slot = dead;
    DELETE FROM decode_failures WHERE slot = dead;
    DELETE FROM indexed_transactions WHERE slot = dead;
    UPDATE slots SET status = 'dead', updated_at = now() WHERE slot = dead;

    PERFORM depin_queue_state('networks', k_networks);
    PERFORM depin_queue_state('makers', k_makers);
    PERFORM depin_queue_state('devices', k_devices);
    PERFORM depin_queue_state('stake_positions', k_positions);
    PERFORM depin_queue_state('device_bonds', k_bonds);
    PERFORM depin_queue_state('reward_epochs', k_epochs.configs, k_epochs.epochs::TEXT[]);
    PERFORM depin_queue_state('reward_claims', k_claims.configs, k_claims.devices);
    PERFORM depin_queue_state('deals', k_deals);
    PERFORM depin_queue_state('energy', k_intervals.markets, k_intervals.intervals::TEXT[]);
END $$;
