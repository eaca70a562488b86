-- Current state, derived from the event tables only.
--
-- Each `depin_refresh_*` function recomputes the rows of the given keys from every event of
-- those keys (deleting a row whose creating event is gone), so the indexer refreshes what a
-- batch touched, and `depin_rebuild_state` recomputes everything after a dead slot's rows are
-- removed. "Latest" means highest (slot, tx_index, instruction_index, event_index).

CREATE TABLE networks (
    network           TEXT PRIMARY KEY,
    network_id        BIGINT NOT NULL,
    kind              TEXT NOT NULL,
    authority         TEXT NOT NULL,
    pending_authority TEXT,
    reward_mint       TEXT NOT NULL,
    fee_mint          TEXT NOT NULL,
    treasury          TEXT NOT NULL,
    onboarding_fee    NUMERIC(20,0) NOT NULL,
    location_fee      NUMERIC(20,0) NOT NULL,
    paused            BOOLEAN NOT NULL
);

CREATE TABLE makers (
    maker           TEXT PRIMARY KEY,
    network         TEXT NOT NULL,
    maker_authority TEXT NOT NULL,
    name            TEXT NOT NULL,
    approved        BOOLEAN NOT NULL,
    device_quota    BIGINT NOT NULL
);

CREATE TABLE devices (
    device         TEXT PRIMARY KEY,
    network        TEXT NOT NULL,
    device_key     TEXT NOT NULL,
    maker          TEXT NOT NULL,
    class          SMALLINT NOT NULL,
    owner          TEXT NOT NULL,
    location       TEXT,
    status         TEXT NOT NULL,
    onboarded_ts   BIGINT NOT NULL,
    onboarded_slot BIGINT NOT NULL
);
CREATE INDEX ON devices (owner);
CREATE INDEX ON devices (network, status);

CREATE TABLE stake_positions (
    position       TEXT PRIMARY KEY,
    pool           TEXT NOT NULL,
    owner          TEXT NOT NULL,
    active         NUMERIC(20,0) NOT NULL,
    pending        NUMERIC(20,0) NOT NULL,
    unlock_ts      BIGINT,
    slashed        NUMERIC(20,0) NOT NULL,
    withdrawn      NUMERIC(20,0) NOT NULL,
    devices_bonded BIGINT NOT NULL
);
CREATE INDEX ON stake_positions (owner);

CREATE TABLE device_bonds (
    bond     TEXT PRIMARY KEY,
    pool     TEXT NOT NULL,
    device   TEXT NOT NULL,
    position TEXT NOT NULL,
    staker   TEXT NOT NULL,
    bonded   BOOLEAN NOT NULL
);
CREATE INDEX ON device_bonds (device);
CREATE INDEX ON device_bonds (position);

CREATE TABLE reward_epochs (
    config           TEXT NOT NULL,
    epoch            NUMERIC(20,0) NOT NULL,
    root             BYTEA NOT NULL,
    cumulative_total NUMERIC(20,0) NOT NULL,
    votes            SMALLINT NOT NULL,
    finalized        BOOLEAN NOT NULL,
    claimed          NUMERIC(20,0) NOT NULL,
    claims           BIGINT NOT NULL,
    PRIMARY KEY (config, epoch)
);

CREATE TABLE reward_claims (
    config        TEXT NOT NULL,
    device        TEXT NOT NULL,
    owner         TEXT NOT NULL,
    total_claimed NUMERIC(20,0) NOT NULL,
    last_epoch    NUMERIC(20,0) NOT NULL,
    claims        BIGINT NOT NULL,
    PRIMARY KEY (config, device)
);
CREATE INDEX ON reward_claims (owner);

CREATE TABLE deals (
    deal                TEXT PRIMARY KEY,
    client              TEXT NOT NULL,
    deal_id             NUMERIC(20,0) NOT NULL,
    provider_device     TEXT NOT NULL,
    provider            TEXT,
    piece_root          BYTEA NOT NULL,
    num_chunks          NUMERIC(20,0) NOT NULL,
    price_per_period    NUMERIC(20,0) NOT NULL,
    periods             SMALLINT NOT NULL,
    collateral          NUMERIC(20,0) NOT NULL,
    status              TEXT NOT NULL,
    start_ts            BIGINT,
    proven_periods      BIGINT NOT NULL,
    faults              BIGINT NOT NULL,
    provider_paid       NUMERIC(20,0) NOT NULL,
    protocol_fees       NUMERIC(20,0) NOT NULL,
    refunded            NUMERIC(20,0) NOT NULL,
    slashed             NUMERIC(20,0) NOT NULL,
    collateral_returned NUMERIC(20,0)
);
CREATE INDEX ON deals (provider_device);
CREATE INDEX ON deals (provider);
CREATE INDEX ON deals (client);

CREATE TABLE energy_intervals (
    market         TEXT NOT NULL,
    interval_index NUMERIC(20,0) NOT NULL,
    status         TEXT NOT NULL,
    asks           BIGINT NOT NULL,
    bids           BIGINT NOT NULL,
    clearing_price NUMERIC(20,0),
    volume_wh      NUMERIC(20,0),
    delivered_wh   NUMERIC(20,0),
    PRIMARY KEY (market, interval_index)
);

CREATE TABLE energy_orders (
    market         TEXT NOT NULL,
    interval_index NUMERIC(20,0) NOT NULL,
    side           TEXT NOT NULL,
    order_slot     SMALLINT NOT NULL,
    device         TEXT NOT NULL,
    owner          TEXT NOT NULL,
    price          NUMERIC(20,0) NOT NULL,
    wh             NUMERIC(20,0) NOT NULL,
    escrow         NUMERIC(20,0) NOT NULL,
    status         TEXT NOT NULL,
    matched_wh     NUMERIC(20,0),
    delivered_wh   NUMERIC(20,0),
    amount         NUMERIC(20,0),
    fee            NUMERIC(20,0),
    refund         NUMERIC(20,0),
    PRIMARY KEY (market, interval_index, side, order_slot)
);
CREATE INDEX ON energy_orders (device);
CREATE INDEX ON energy_orders (owner);

-- Refresh functions -------------------------------------------------------------------------

CREATE FUNCTION depin_refresh_networks(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM networks WHERE network = ANY(keys);
    INSERT INTO networks
    SELECT i.network, i.network_id, i.kind,
           COALESCE(a.authority, i.authority),
           CASE WHEN p.network IS NOT NULL AND (a.network IS NULL
                     OR (p.slot, p.tx_index, p.instruction_index, p.event_index)
                        > (a.slot, a.tx_index, a.instruction_index, a.event_index))
                THEN p.pending_authority END,
           i.reward_mint, i.fee_mint,
           COALESCE(u.treasury, i.treasury), COALESCE(u.onboarding_fee, i.onboarding_fee),
           COALESCE(u.location_fee, i.location_fee), COALESCE(u.paused, false)
    FROM (SELECT DISTINCT ON (network) * FROM registry_network_initialized
          WHERE network = ANY(keys)
          ORDER BY network, slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) i
    LEFT JOIN LATERAL (SELECT * FROM registry_network_updated x WHERE x.network = i.network
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) u ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_authority_accepted x WHERE x.network = i.network
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) a ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_authority_proposed x WHERE x.network = i.network
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) p ON true;
$$;

CREATE FUNCTION depin_refresh_makers(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM makers WHERE maker = ANY(keys);
    INSERT INTO makers
    SELECT r.maker, r.network, r.maker_authority, r.name, COALESCE(s.approved, false),
           COALESCE(s.device_quota, r.device_quota)
    FROM (SELECT DISTINCT ON (maker) * FROM registry_maker_registered WHERE maker = ANY(keys)
          ORDER BY maker, slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) r
    LEFT JOIN LATERAL (SELECT * FROM registry_maker_approval_set x WHERE x.maker = r.maker
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true;
$$;

CREATE FUNCTION depin_refresh_devices(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM devices WHERE device = ANY(keys);
    INSERT INTO devices
    SELECT o.device, o.network, o.device_key, o.maker, o.class,
           COALESCE(t.new_owner, o.owner),
           CASE WHEN l.device IS NOT NULL THEN l.location ELSE o.location END,
           COALESCE(s.status, 'active'), o.unix_ts, o.slot
    FROM (SELECT DISTINCT ON (device) * FROM registry_device_onboarded WHERE device = ANY(keys)
          ORDER BY device, slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) o
    LEFT JOIN LATERAL (SELECT * FROM registry_device_transferred x WHERE x.device = o.device
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) t ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_location_asserted x WHERE x.device = o.device
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) l ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_device_status_changed x WHERE x.device = o.device
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true;
$$;

-- Amounts are sums, so they do not depend on the order of events within a slot.
CREATE FUNCTION depin_refresh_stake_positions(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM stake_positions WHERE position = ANY(keys);
    INSERT INTO stake_positions
    SELECT f.position, f.pool, f.owner,
           staked.total - unstaked.total - slashed.active,
           unstaked.total - withdrawn.total - slashed.pending,
           unstaked.unlock_ts,
           slashed.active + slashed.pending,
           withdrawn.total,
           bonded.n - unbonded.n
    FROM (SELECT DISTINCT ON (position) position, pool, owner FROM staking_staked
          WHERE position = ANY(keys)
          ORDER BY position, slot, tx_index, instruction_index, event_index) f
    CROSS JOIN LATERAL (SELECT COALESCE(sum(amount), 0) AS total FROM staking_staked x
        WHERE x.position = f.position) staked
    CROSS JOIN LATERAL (SELECT COALESCE(sum(amount), 0) AS total,
        (array_agg(unlock_ts ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC))[1] AS unlock_ts
        FROM staking_unstake_requested x WHERE x.position = f.position) unstaked
    CROSS JOIN LATERAL (SELECT COALESCE(sum(amount), 0) AS total FROM staking_withdrawn x
        WHERE x.position = f.position) withdrawn
    CROSS JOIN LATERAL (SELECT COALESCE(sum(from_active), 0) AS active,
        COALESCE(sum(from_pending), 0) AS pending FROM staking_slashed x
        WHERE x.position = f.position) slashed
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM staking_device_bonded x
        WHERE x.position = f.position) bonded
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM staking_device_unbonded x
        WHERE x.position = f.position) unbonded;
$$;

CREATE FUNCTION depin_refresh_device_bonds(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM device_bonds WHERE bond = ANY(keys);
    INSERT INTO device_bonds
    SELECT DISTINCT ON (bond) bond, pool, device, position, staker, bonded
    FROM (
        SELECT bond, pool, device, position, staker, true AS bonded,
               slot, tx_index, instruction_index, event_index
        FROM staking_device_bonded WHERE bond = ANY(keys)
        UNION ALL
        SELECT u.bond, u.pool, u.device, u.position, b.staker, false,
               u.slot, u.tx_index, u.instruction_index, u.event_index
        FROM staking_device_unbonded u
        JOIN LATERAL (SELECT staker FROM staking_device_bonded x WHERE x.bond = u.bond
            ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) b ON true
        WHERE u.bond = ANY(keys)
    ) e
    ORDER BY bond, slot DESC, tx_index DESC, instruction_index DESC, event_index DESC;
$$;

CREATE FUNCTION depin_refresh_reward_epochs(configs TEXT[], epochs NUMERIC[]) RETURNS VOID
LANGUAGE sql AS $$
    DELETE FROM reward_epochs
    WHERE (config, epoch) IN (SELECT * FROM unnest(configs, epochs));
    INSERT INTO reward_epochs
    SELECT k.config, k.epoch,
           COALESCE(f.root, p.root), COALESCE(f.cumulative_total, p.cumulative_total),
           COALESCE(p.votes, 0), f.config IS NOT NULL,
           c.claimed, c.claims
    FROM (SELECT DISTINCT * FROM unnest(configs, epochs) AS k(config, epoch)) k
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

CREATE FUNCTION depin_refresh_reward_claims(configs TEXT[], devices TEXT[]) RETURNS VOID
LANGUAGE sql AS $$
    DELETE FROM reward_claims
    WHERE (config, device) IN (SELECT * FROM unnest(configs, devices));
    INSERT INTO reward_claims
    SELECT DISTINCT ON (x.config, x.device) x.config, x.device, x.owner,
           max(x.total_claimed) OVER w, max(x.epoch) OVER w, count(*) OVER w
    FROM rewards_rewards_claimed x
    WHERE (x.config, x.device) IN (SELECT * FROM unnest(configs, devices))
    WINDOW w AS (PARTITION BY x.config, x.device)
    ORDER BY x.config, x.device, x.slot DESC, x.tx_index DESC, x.instruction_index DESC, x.event_index DESC;
$$;

CREATE FUNCTION depin_refresh_deals(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
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
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) a ON true
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_cancelled y WHERE y.deal = d.deal
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) x ON true
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_terminated y WHERE y.deal = d.deal
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) t ON true
    LEFT JOIN LATERAL (SELECT * FROM storage_deal_completed y WHERE y.deal = d.deal
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) c ON true
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE proven) AS proven,
        COALESCE(sum(provider_paid), 0) AS paid, COALESCE(sum(protocol_fee), 0) AS fees
        FROM storage_proof_accepted p WHERE p.deal = d.deal) proofs
    CROSS JOIN LATERAL (SELECT count(*) AS n, COALESCE(sum(refunded), 0) AS refunded,
        COALESCE(sum(slashed), 0) AS slashed
        FROM storage_fault_reported f WHERE f.deal = d.deal) faults;
$$;

CREATE FUNCTION depin_refresh_energy(markets TEXT[], intervals NUMERIC[]) RETURNS VOID
LANGUAGE sql AS $$
    DELETE FROM energy_orders
    WHERE (market, interval_index) IN (SELECT * FROM unnest(markets, intervals));
    DELETE FROM energy_intervals
    WHERE (market, interval_index) IN (SELECT * FROM unnest(markets, intervals));
    INSERT INTO energy_orders
    SELECT o.market, o.interval_index, o.side, o.order_slot, o.device, o.owner, o.price, o.wh,
           o.escrow,
           CASE WHEN s.market IS NOT NULL THEN 'settled'
                WHEN x.market IS NOT NULL THEN 'cancelled'
                ELSE 'open' END,
           CASE WHEN c.market IS NULL OR x.market IS NOT NULL THEN NULL
                WHEN o.side = 'ask' THEN c.ask_matched_wh[o.order_slot + 1]
                ELSE c.bid_matched_wh[o.order_slot + 1] END,
           s.delivered_wh, s.amount, s.fee, COALESCE(s.refund, x.refunded)
    FROM (SELECT DISTINCT ON (market, interval_index, side, order_slot) * FROM energy_order_placed
          WHERE (market, interval_index) IN (SELECT * FROM unnest(markets, intervals))
          ORDER BY market, interval_index, side, order_slot,
                   slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) o
    LEFT JOIN LATERAL (SELECT * FROM energy_order_cancelled y WHERE y.market = o.market
        AND y.interval_index = o.interval_index AND y.side = o.side AND y.order_slot = o.order_slot
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) x ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_order_settled y WHERE y.market = o.market
        AND y.interval_index = o.interval_index AND y.side = o.side AND y.order_slot = o.order_slot
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_cleared y WHERE y.market = o.market
        AND y.interval_index = o.interval_index
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) c ON true;
    INSERT INTO energy_intervals
    SELECT k.market, k.interval_index,
           CASE WHEN z.market IS NOT NULL THEN 'closed'
                WHEN s.market IS NOT NULL THEN 'settled'
                WHEN c.market IS NOT NULL THEN 'cleared'
                ELSE 'open' END,
           n.asks, n.bids, c.clearing_price, c.volume_wh, s.delivered_wh
    FROM (SELECT DISTINCT * FROM unnest(markets, intervals) AS k(market, interval_index)) k
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_cleared y WHERE y.market = k.market
        AND y.interval_index = k.interval_index ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) c ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_settled y WHERE y.market = k.market
        AND y.interval_index = k.interval_index ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_closed y WHERE y.market = k.market
        AND y.interval_index = k.interval_index ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) z ON true
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE side = 'ask') AS asks,
        count(*) FILTER (WHERE side = 'bid') AS bids
        FROM energy_order_placed o WHERE o.market = k.market AND o.interval_index = k.interval_index) n
    WHERE n.asks + n.bids > 0 OR c.market IS NOT NULL;
$$;

-- Recomputes every state table from the event tables.
CREATE FUNCTION depin_rebuild_state() RETURNS VOID LANGUAGE sql AS $$
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

-- Removes a dead (or orphaned) slot: its transactions that were also seen in a surviving
-- slot move there, every other row of the slot goes, and the state rows those events
-- touched are recomputed.
CREATE FUNCTION depin_remove_slot(dead BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
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

    PERFORM depin_refresh_networks(k_networks);
    PERFORM depin_refresh_makers(k_makers);
    PERFORM depin_refresh_devices(k_devices);
    PERFORM depin_refresh_stake_positions(k_positions);
    PERFORM depin_refresh_device_bonds(k_bonds);
    IF k_epochs.configs IS NOT NULL THEN
        PERFORM depin_refresh_reward_epochs(k_epochs.configs, k_epochs.epochs);
    END IF;
    IF k_claims.configs IS NOT NULL THEN
        PERFORM depin_refresh_reward_claims(k_claims.configs, k_claims.devices);
    END IF;
    PERFORM depin_refresh_deals(k_deals);
    IF k_intervals.markets IS NOT NULL THEN
        PERFORM depin_refresh_energy(k_intervals.markets, k_intervals.intervals);
    END IF;
END $$;

-- When `f` is finalized, every slot since the previous finalized one that is not among
-- f's ancestors is on an abandoned fork: it is removed like a dead slot. Ancestors are
-- followed through the parents the stream reported; where that chain is broken, only the
-- slots above the break are judged. Returns the slots removed.
CREATE FUNCTION depin_finalize(f BIGINT) RETURNS BIGINT[] LANGUAGE plpgsql AS $$
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
    RETURN orphans;
END $$;

-- Raises the rows of `slot_list` to commitment `level`; rows already there or above stay.
CREATE FUNCTION depin_set_commitment(slot_list BIGINT[], level TEXT) RETURNS VOID
LANGUAGE sql AS $$
    UPDATE events SET commitment = level WHERE slot = ANY(slot_list)
        AND array_position(ARRAY['processed', 'confirmed', 'finalized'], commitment)
          < array_position(ARRAY['processed', 'confirmed', 'finalized'], level);
    UPDATE decode_failures SET commitment = level WHERE slot = ANY(slot_list)
        AND array_position(ARRAY['processed', 'confirmed', 'finalized'], commitment)
          < array_position(ARRAY['processed', 'confirmed', 'finalized'], level);
    UPDATE indexed_transactions SET commitment = level WHERE slot = ANY(slot_list)
        AND array_position(ARRAY['processed', 'confirmed', 'finalized'], commitment)
          < array_position(ARRAY['processed', 'confirmed', 'finalized'], level);
$$;

-- Applies a batch's slot statuses in stream order: records each, removes dead slots and
-- abandoned forks, raises commitments above the stream's own level. Returns the number of
-- slots removed.
CREATE FUNCTION depin_apply_slots(slot_list BIGINT[], parent_list BIGINT[], status_list TEXT[],
                                  stream_level TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    i INTEGER;
    s BIGINT;
    st TEXT;
    removed BIGINT := 0;
    ranks TEXT[] := ARRAY['processed', 'confirmed', 'finalized'];
    confirmed BIGINT[] := '{}';
    finalized BIGINT[] := '{}';
BEGIN
    FOR i IN 1 .. COALESCE(array_length(slot_list, 1), 0) LOOP
        s := slot_list[i];
        st := status_list[i];
        INSERT INTO slots (slot, parent, status) VALUES (s, parent_list[i], st)
        ON CONFLICT (slot) DO UPDATE
        SET status = EXCLUDED.status, parent = COALESCE(EXCLUDED.parent, slots.parent),
            updated_at = now()
        WHERE slots.status <> 'dead' AND (EXCLUDED.status = 'dead'
            OR array_position(ranks, EXCLUDED.status) > array_position(ranks, slots.status));
        IF st = 'dead' THEN
            PERFORM depin_remove_slot(s);
            removed := removed + 1;
        ELSIF st = 'finalized' THEN
            -- abandoned forks first: their transactions may move into this slot
            removed := removed + COALESCE(array_length(depin_finalize(s), 1), 0);
            finalized := finalized || s;
        ELSIF st = 'confirmed' THEN
            confirmed := confirmed || s;
        END IF;
    END LOOP;
    -- commitments last, once per level: rows moved into a slot above are raised too
    IF array_position(ranks, stream_level) < 2 AND cardinality(confirmed) > 0 THEN
        PERFORM depin_set_commitment(confirmed, 'confirmed');
    END IF;
    IF array_position(ranks, stream_level) < 3 AND cardinality(finalized) > 0 THEN
        PERFORM depin_set_commitment(finalized, 'finalized');
    END IF;
    RETURN removed;
END $$;
