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
    FROM registry_network_initialized i
    LEFT JOIN LATERAL (SELECT * FROM registry_network_updated x WHERE x.network = i.network
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) u ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_authority_accepted x WHERE x.network = i.network
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) a ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_authority_proposed x WHERE x.network = i.network
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) p ON true
    WHERE i.network = ANY(keys);
$$;

CREATE FUNCTION depin_refresh_makers(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM makers WHERE maker = ANY(keys);
    INSERT INTO makers
    SELECT r.maker, r.network, r.maker_authority, r.name, COALESCE(s.approved, false),
           COALESCE(s.device_quota, r.device_quota)
    FROM registry_maker_registered r
    LEFT JOIN LATERAL (SELECT * FROM registry_maker_approval_set x WHERE x.maker = r.maker
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true
    WHERE r.maker = ANY(keys);
$$;

CREATE FUNCTION depin_refresh_devices(keys TEXT[]) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM devices WHERE device = ANY(keys);
    INSERT INTO devices
    SELECT o.device, o.network, o.device_key, o.maker, o.class,
           COALESCE(t.new_owner, o.owner),
           CASE WHEN l.device IS NOT NULL THEN l.location ELSE o.location END,
           COALESCE(s.status, 'active'), o.unix_ts, o.slot
    FROM registry_device_onboarded o
    LEFT JOIN LATERAL (SELECT * FROM registry_device_transferred x WHERE x.device = o.device
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) t ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_location_asserted x WHERE x.device = o.device
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) l ON true
    LEFT JOIN LATERAL (SELECT * FROM registry_device_status_changed x WHERE x.device = o.device
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true
    WHERE o.device = ANY(keys);
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
    FROM storage_deal_proposed d
    LEFT JOIN storage_deal_accepted a ON a.deal = d.deal
    LEFT JOIN storage_deal_cancelled x ON x.deal = d.deal
    LEFT JOIN storage_deal_terminated t ON t.deal = d.deal
    LEFT JOIN storage_deal_completed c ON c.deal = d.deal
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE proven) AS proven,
        COALESCE(sum(provider_paid), 0) AS paid, COALESCE(sum(protocol_fee), 0) AS fees
        FROM storage_proof_accepted p WHERE p.deal = d.deal) proofs
    CROSS JOIN LATERAL (SELECT count(*) AS n, COALESCE(sum(refunded), 0) AS refunded,
        COALESCE(sum(slashed), 0) AS slashed
        FROM storage_fault_reported f WHERE f.deal = d.deal) faults
    WHERE d.deal = ANY(keys);
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
    FROM energy_order_placed o
    LEFT JOIN energy_order_cancelled x USING (market, interval_index, side, order_slot)
    LEFT JOIN energy_order_settled s USING (market, interval_index, side, order_slot)
    LEFT JOIN energy_interval_cleared c USING (market, interval_index)
    WHERE (o.market, o.interval_index) IN (SELECT * FROM unnest(markets, intervals));
    INSERT INTO energy_intervals
    SELECT k.market, k.interval_index,
           CASE WHEN z.market IS NOT NULL THEN 'closed'
                WHEN s.market IS NOT NULL THEN 'settled'
                WHEN c.market IS NOT NULL THEN 'cleared'
                ELSE 'open' END,
           n.asks, n.bids, c.clearing_price, c.volume_wh, s.delivered_wh
    FROM (SELECT DISTINCT * FROM unnest(markets, intervals) AS k(market, interval_index)) k
    LEFT JOIN energy_interval_cleared c USING (market, interval_index)
    LEFT JOIN energy_interval_settled s USING (market, interval_index)
    LEFT JOIN energy_interval_closed z USING (market, interval_index)
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

-- Removes every row of a dead slot and rebuilds the current state.
CREATE FUNCTION depin_remove_slot(dead BIGINT) RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM events WHERE slot = dead;
    DELETE FROM decode_failures WHERE slot = dead;
    DELETE FROM indexed_transactions WHERE slot = dead;
    SELECT depin_rebuild_state();
$$;

-- Raises the commitment of a slot's rows.
CREATE FUNCTION depin_set_commitment(s BIGINT, level TEXT) RETURNS VOID LANGUAGE sql AS $$
    UPDATE events SET commitment = level WHERE slot = s AND commitment <> level;
    UPDATE decode_failures SET commitment = level WHERE slot = s AND commitment <> level;
    UPDATE indexed_transactions SET commitment = level WHERE slot = s AND commitment <> level;
$$;
