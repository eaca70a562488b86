-- The derived state leaves the write path.
--
-- A batch's database transaction commits its event rows, slot statuses and checkpoint, and
-- queues the state keys its events touched (one `state_queue` row per kind of state, the
-- keys as arrays). A refresher on its own connection takes every queued row in one
-- REPEATABLE READ transaction, recomputes those keys from the events of the same snapshot,
-- adds the queued claim totals, deletes the rows it took and raises `state_watermark`: the
-- queue is its durable position, so after a crash or restart it resumes with what is still
-- queued, and the state is always the fold of the events committed up to its snapshot. Only
-- the refresher writes state rows (removing a dead slot or an abandoned fork queues its keys
-- like a batch does), so the two connections never contend for a row.

-- Keys of one kind of state to recompute. `kind` names the state (`networks`, `makers`,
-- `devices`, `stake_positions`, `device_bonds`, `deals`: `keys` alone; `reward_epochs`
-- (config, epoch), `reward_claims` (config, device), `energy` (market, interval): `keys`
-- and `keys2`), or is `epoch_claims`: claims to add to `reward_epochs` totals (config,
-- epoch, amount, count), an epoch not recomputed by the same refresh.
CREATE TABLE state_queue (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    keys TEXT[] NOT NULL,
    keys2 TEXT[],
    amounts NUMERIC[],
    counts BIGINT[],
    queued_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The refresher's position: the newest queue row it has applied (every row up to it is
-- gone) and when.
CREATE TABLE state_watermark (
    name TEXT PRIMARY KEY,
    applied BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO state_watermark (name, applied) VALUES ('state', 0);

-- Queues `a` (and `b`, the second key part) for a refresh of `kind`; nothing when empty.
CREATE FUNCTION depin_queue_state(q_kind TEXT, a TEXT[], b TEXT[] DEFAULT NULL) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO state_queue (kind, keys, keys2)
    SELECT q_kind, a, b WHERE cardinality(a) > 0;
$$;

-- Removing a slot queues the state its events touched instead of refreshing it.
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
            WHERE signature = moved.signature;
        UPDATE decode_failures SET slot = moved.slot WHERE signature = moved.signature;
        UPDATE indexed_transactions SET slot = moved.slot, tx_index = moved.tx_index
            WHERE signature = moved.signature;
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

-- A full rebuild takes the queue with it: every state row is recomputed from the events,
-- so what is queued (claims to add included) is already in it. The lock keeps a batch
-- from queueing keys between the two (it waits, and its keys are applied after).
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
    WITH k AS (SELECT DISTINCT config, device FROM rewards_rewards_claimed)
    SELECT depin_refresh_reward_claims(ARRAY(SELECT config FROM k ORDER BY config, device),
                                       ARRAY(SELECT device FROM k ORDER BY config, device));
    SELECT depin_refresh_deals(ARRAY(SELECT deal FROM storage_deal_proposed));
    WITH k AS (SELECT market, interval_index FROM energy_order_placed
               UNION SELECT market, interval_index FROM energy_interval_cleared)
    SELECT depin_refresh_energy(ARRAY(SELECT market FROM k ORDER BY market, interval_index),
                                ARRAY(SELECT interval_index FROM k ORDER BY market, interval_index));
$$;
