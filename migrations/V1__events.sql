-- Event tables: one per event kind of every suite program, plus the indexer's bookkeeping.
--
-- Every event table inherits `events`, so a statement on `events` reaches all of them
-- (removing a dead slot, raising a slot's commitment, a transaction's events in one query).
-- Rows are keyed by (signature, instruction_index, event_index): replaying a transaction
-- inserts nothing. Column types: account addresses are base58 TEXT, u64 amounts and indices
-- NUMERIC(20,0) (they may exceed BIGINT), hashes BYTEA, H3 cells lowercase hex TEXT, enums
-- lowercase TEXT.

CREATE TABLE events (
    signature         TEXT     NOT NULL,
    instruction_index INTEGER  NOT NULL,
    event_index       INTEGER  NOT NULL,
    slot              BIGINT   NOT NULL,
    tx_index          BIGINT   NOT NULL,
    commitment        TEXT     NOT NULL CHECK (commitment IN ('processed', 'confirmed', 'finalized'))
);

-- Adds the row key and the slot index to an event table, and leaves room in its pages so
-- raising a row's commitment is an in-page (HOT) update that touches no index.
CREATE FUNCTION depin_event_table(t REGCLASS) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s SET (fillfactor = 80)', t);
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (signature, instruction_index, event_index)', t);
    EXECUTE format('CREATE INDEX ON %s (slot)', t);
END $$;

-- Device registry --------------------------------------------------------------------------

CREATE TABLE registry_network_initialized (
    network TEXT NOT NULL, network_id BIGINT NOT NULL, authority TEXT NOT NULL, kind TEXT NOT NULL,
    reward_mint TEXT NOT NULL, fee_mint TEXT NOT NULL, treasury TEXT NOT NULL,
    onboarding_fee NUMERIC(20,0) NOT NULL, location_fee NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_network_initialized');

CREATE TABLE registry_network_updated (
    network TEXT NOT NULL, treasury TEXT NOT NULL, onboarding_fee NUMERIC(20,0) NOT NULL,
    location_fee NUMERIC(20,0) NOT NULL, paused BOOLEAN NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_network_updated');
CREATE INDEX ON registry_network_updated (network);

CREATE TABLE registry_authority_proposed (
    network TEXT NOT NULL, authority TEXT NOT NULL, pending_authority TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_authority_proposed');
CREATE INDEX ON registry_authority_proposed (network);

CREATE TABLE registry_authority_accepted (
    network TEXT NOT NULL, previous_authority TEXT NOT NULL, authority TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_authority_accepted');
CREATE INDEX ON registry_authority_accepted (network);

CREATE TABLE registry_maker_registered (
    network TEXT NOT NULL, maker TEXT NOT NULL, maker_authority TEXT NOT NULL, name TEXT NOT NULL,
    device_quota BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_maker_registered');
CREATE INDEX ON registry_maker_registered (maker);

CREATE TABLE registry_maker_approval_set (
    network TEXT NOT NULL, maker TEXT NOT NULL, approved BOOLEAN NOT NULL, device_quota BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_maker_approval_set');
CREATE INDEX ON registry_maker_approval_set (maker);

CREATE TABLE registry_device_onboarded (
    network TEXT NOT NULL, device TEXT NOT NULL, device_key TEXT NOT NULL, owner TEXT NOT NULL,
    maker TEXT NOT NULL, class SMALLINT NOT NULL, radio_bands BIGINT NOT NULL,
    capacity_gib NUMERIC(20,0) NOT NULL, panel_watts BIGINT NOT NULL, battery_wh BIGINT NOT NULL,
    location TEXT, fee_paid NUMERIC(20,0) NOT NULL, unix_ts BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_device_onboarded');
CREATE INDEX ON registry_device_onboarded (device);
CREATE INDEX ON registry_device_onboarded (owner);
CREATE INDEX ON registry_device_onboarded (network, maker);

CREATE TABLE registry_location_asserted (
    device TEXT NOT NULL, owner TEXT NOT NULL, previous_location TEXT, location TEXT NOT NULL,
    fee_paid NUMERIC(20,0) NOT NULL, unix_ts BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_location_asserted');
CREATE INDEX ON registry_location_asserted (device);

CREATE TABLE registry_device_transferred (
    device TEXT NOT NULL, previous_owner TEXT NOT NULL, new_owner TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_device_transferred');
CREATE INDEX ON registry_device_transferred (device);
CREATE INDEX ON registry_device_transferred (new_owner);

CREATE TABLE registry_device_status_changed (
    device TEXT NOT NULL, changed_by TEXT NOT NULL, previous_status TEXT NOT NULL, status TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('registry_device_status_changed');
CREATE INDEX ON registry_device_status_changed (device);

-- Staking ----------------------------------------------------------------------------------

CREATE TABLE staking_pool_initialized (
    pool TEXT NOT NULL, network TEXT NOT NULL, stake_mint TEXT NOT NULL, vault TEXT NOT NULL,
    treasury TEXT NOT NULL, min_stake_per_device NUMERIC(20,0) NOT NULL,
    cooldown_secs NUMERIC(20,0) NOT NULL, slash_authority TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_pool_initialized');

CREATE TABLE staking_pool_updated (
    pool TEXT NOT NULL, min_stake_per_device NUMERIC(20,0) NOT NULL,
    cooldown_secs NUMERIC(20,0) NOT NULL, slash_authority TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_pool_updated');

CREATE TABLE staking_staked (
    pool TEXT NOT NULL, position TEXT NOT NULL, owner TEXT NOT NULL, amount NUMERIC(20,0) NOT NULL,
    active NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_staked');
CREATE INDEX ON staking_staked (position);
CREATE INDEX ON staking_staked (owner);

CREATE TABLE staking_device_bonded (
    pool TEXT NOT NULL, bond TEXT NOT NULL, device TEXT NOT NULL, position TEXT NOT NULL,
    staker TEXT NOT NULL, devices_bonded BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_device_bonded');
CREATE INDEX ON staking_device_bonded (device);
CREATE INDEX ON staking_device_bonded (position);
CREATE INDEX ON staking_device_bonded (bond);

CREATE TABLE staking_device_unbonded (
    pool TEXT NOT NULL, bond TEXT NOT NULL, device TEXT NOT NULL, position TEXT NOT NULL,
    unbonded_by TEXT NOT NULL, devices_bonded BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_device_unbonded');
CREATE INDEX ON staking_device_unbonded (device);
CREATE INDEX ON staking_device_unbonded (position);
CREATE INDEX ON staking_device_unbonded (bond);

CREATE TABLE staking_unstake_requested (
    pool TEXT NOT NULL, position TEXT NOT NULL, owner TEXT NOT NULL, amount NUMERIC(20,0) NOT NULL,
    pending NUMERIC(20,0) NOT NULL, unlock_ts BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_unstake_requested');
CREATE INDEX ON staking_unstake_requested (position);

CREATE TABLE staking_withdrawn (
    pool TEXT NOT NULL, position TEXT NOT NULL, owner TEXT NOT NULL, amount NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_withdrawn');
CREATE INDEX ON staking_withdrawn (position);

CREATE TABLE staking_slashed (
    pool TEXT NOT NULL, position TEXT NOT NULL, owner TEXT NOT NULL,
    from_active NUMERIC(20,0) NOT NULL, from_pending NUMERIC(20,0) NOT NULL,
    evidence_hash BYTEA NOT NULL
) INHERITS (events);
SELECT depin_event_table('staking_slashed');
CREATE INDEX ON staking_slashed (position);

-- Rewards ----------------------------------------------------------------------------------

CREATE TABLE rewards_rewards_initialized (
    config TEXT NOT NULL, network TEXT NOT NULL, reward_mint TEXT NOT NULL,
    initial_per_epoch NUMERIC(20,0) NOT NULL, halving_interval_epochs NUMERIC(20,0) NOT NULL,
    tail_per_epoch NUMERIC(20,0) NOT NULL, epoch_duration_secs NUMERIC(20,0) NOT NULL,
    genesis_ts BIGINT NOT NULL, oracles TEXT[] NOT NULL, quorum SMALLINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('rewards_rewards_initialized');

CREATE TABLE rewards_oracles_set (
    config TEXT NOT NULL, oracles TEXT[] NOT NULL, quorum SMALLINT NOT NULL,
    oracle_set_version BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('rewards_oracles_set');

CREATE TABLE rewards_root_proposed (
    config TEXT NOT NULL, epoch NUMERIC(20,0) NOT NULL, oracle TEXT NOT NULL, root BYTEA NOT NULL,
    cumulative_total NUMERIC(20,0) NOT NULL, votes SMALLINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('rewards_root_proposed');
CREATE INDEX ON rewards_root_proposed (config, epoch);

CREATE TABLE rewards_root_finalized (
    config TEXT NOT NULL, epoch NUMERIC(20,0) NOT NULL, root BYTEA NOT NULL,
    cumulative_total NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('rewards_root_finalized');
CREATE INDEX ON rewards_root_finalized (config, epoch);

CREATE TABLE rewards_rewards_claimed (
    config TEXT NOT NULL, device TEXT NOT NULL, owner TEXT NOT NULL, epoch NUMERIC(20,0) NOT NULL,
    amount NUMERIC(20,0) NOT NULL, total_claimed NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('rewards_rewards_claimed');
CREATE INDEX ON rewards_rewards_claimed (owner, epoch);
CREATE INDEX ON rewards_rewards_claimed (device);
CREATE INDEX ON rewards_rewards_claimed (config, epoch);

-- Storage escrow ---------------------------------------------------------------------------

CREATE TABLE storage_market_initialized (
    market TEXT NOT NULL, network TEXT NOT NULL, payment_mint TEXT NOT NULL,
    proving_period_secs NUMERIC(20,0) NOT NULL, challenge_window_slots NUMERIC(20,0) NOT NULL,
    challenges_per_period SMALLINT NOT NULL, max_consecutive_faults SMALLINT NOT NULL,
    fault_slash_bps INTEGER NOT NULL, protocol_fee_bps INTEGER NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_market_initialized');

CREATE TABLE storage_deal_proposed (
    deal TEXT NOT NULL, client TEXT NOT NULL, deal_id NUMERIC(20,0) NOT NULL,
    provider_device TEXT NOT NULL, piece_root BYTEA NOT NULL, chunk_size BIGINT NOT NULL,
    num_chunks NUMERIC(20,0) NOT NULL, price_per_period NUMERIC(20,0) NOT NULL,
    periods SMALLINT NOT NULL, collateral NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_deal_proposed');
CREATE INDEX ON storage_deal_proposed (deal);
CREATE INDEX ON storage_deal_proposed (provider_device);
CREATE INDEX ON storage_deal_proposed (client);

CREATE TABLE storage_deal_cancelled (
    deal TEXT NOT NULL, refunded NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_deal_cancelled');
CREATE INDEX ON storage_deal_cancelled (deal);

CREATE TABLE storage_deal_accepted (
    deal TEXT NOT NULL, provider TEXT NOT NULL, collateral NUMERIC(20,0) NOT NULL, start_ts BIGINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_deal_accepted');
CREATE INDEX ON storage_deal_accepted (deal);
CREATE INDEX ON storage_deal_accepted (provider);

CREATE TABLE storage_challenge_opened (
    deal TEXT NOT NULL, period NUMERIC(20,0) NOT NULL, challenge_slot NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_challenge_opened');
CREATE INDEX ON storage_challenge_opened (deal);

CREATE TABLE storage_proof_accepted (
    deal TEXT NOT NULL, period NUMERIC(20,0) NOT NULL, answered SMALLINT NOT NULL,
    proven BOOLEAN NOT NULL, provider_paid NUMERIC(20,0) NOT NULL, protocol_fee NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_proof_accepted');
CREATE INDEX ON storage_proof_accepted (deal);

CREATE TABLE storage_fault_reported (
    deal TEXT NOT NULL, period NUMERIC(20,0) NOT NULL, refunded NUMERIC(20,0) NOT NULL,
    slashed NUMERIC(20,0) NOT NULL, consecutive_faults SMALLINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_fault_reported');
CREATE INDEX ON storage_fault_reported (deal);

CREATE TABLE storage_deal_terminated (
    deal TEXT NOT NULL, refunded NUMERIC(20,0) NOT NULL, slashed_to_treasury NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_deal_terminated');
CREATE INDEX ON storage_deal_terminated (deal);

CREATE TABLE storage_deal_completed (
    deal TEXT NOT NULL, collateral_returned NUMERIC(20,0) NOT NULL, proven_periods SMALLINT NOT NULL,
    faulted_periods SMALLINT NOT NULL
) INHERITS (events);
SELECT depin_event_table('storage_deal_completed');
CREATE INDEX ON storage_deal_completed (deal);

-- Energy settlement ------------------------------------------------------------------------

CREATE TABLE energy_market_initialized (
    market TEXT NOT NULL, network TEXT NOT NULL, quote_mint TEXT NOT NULL,
    interval_secs NUMERIC(20,0) NOT NULL, gate_closure_secs NUMERIC(20,0) NOT NULL,
    settlement_delay_secs NUMERIC(20,0) NOT NULL, max_orders_per_interval SMALLINT NOT NULL,
    grid_fee_bps INTEGER NOT NULL, price_floor NUMERIC(20,0) NOT NULL, price_cap NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_market_initialized');

CREATE TABLE energy_order_placed (
    market TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL, side TEXT NOT NULL,
    order_slot SMALLINT NOT NULL, device TEXT NOT NULL, owner TEXT NOT NULL,
    price NUMERIC(20,0) NOT NULL, wh NUMERIC(20,0) NOT NULL, escrow NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_order_placed');
CREATE INDEX ON energy_order_placed (market, interval_index);
CREATE INDEX ON energy_order_placed (device);

CREATE TABLE energy_order_cancelled (
    market TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL, side TEXT NOT NULL,
    order_slot SMALLINT NOT NULL, refunded NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_order_cancelled');
CREATE INDEX ON energy_order_cancelled (market, interval_index);

CREATE TABLE energy_reading_submitted (
    market TEXT NOT NULL, device TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL,
    produced_wh NUMERIC(20,0) NOT NULL, consumed_wh NUMERIC(20,0) NOT NULL,
    counter NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_reading_submitted');
CREATE INDEX ON energy_reading_submitted (device, interval_index);
CREATE INDEX ON energy_reading_submitted (market, interval_index);

CREATE TABLE energy_interval_cleared (
    market TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL,
    clearing_price NUMERIC(20,0) NOT NULL, volume_wh NUMERIC(20,0) NOT NULL,
    ask_matched_wh NUMERIC(20,0)[] NOT NULL, bid_matched_wh NUMERIC(20,0)[] NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_interval_cleared');
CREATE INDEX ON energy_interval_cleared (market, interval_index);

CREATE TABLE energy_order_settled (
    market TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL, side TEXT NOT NULL,
    order_slot SMALLINT NOT NULL, delivered_wh NUMERIC(20,0) NOT NULL, amount NUMERIC(20,0) NOT NULL,
    fee NUMERIC(20,0) NOT NULL, refund NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_order_settled');
CREATE INDEX ON energy_order_settled (market, interval_index);

CREATE TABLE energy_interval_settled (
    market TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL, delivered_wh NUMERIC(20,0) NOT NULL,
    rounding NUMERIC(20,0) NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_interval_settled');
CREATE INDEX ON energy_interval_settled (market, interval_index);

CREATE TABLE energy_interval_closed (
    market TEXT NOT NULL, interval_index NUMERIC(20,0) NOT NULL, rent_payer TEXT NOT NULL
) INHERITS (events);
SELECT depin_event_table('energy_interval_closed');
CREATE INDEX ON energy_interval_closed (market, interval_index);

-- Bookkeeping ------------------------------------------------------------------------------

-- Every indexed transaction, once.
CREATE TABLE indexed_transactions (
    signature  TEXT    PRIMARY KEY,
    slot       BIGINT  NOT NULL,
    tx_index   BIGINT  NOT NULL,
    commitment TEXT    NOT NULL,
    events     INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('grpc', 'rpc'))
);
CREATE INDEX ON indexed_transactions (slot);

-- Every slot a transaction was seen in: the same transaction can land in two forks, and its
-- rows must survive the fork that dies.
CREATE TABLE transaction_slots (
    signature TEXT   NOT NULL,
    slot      BIGINT NOT NULL,
    tx_index  BIGINT NOT NULL,
    PRIMARY KEY (signature, slot)
);
CREATE INDEX ON transaction_slots (slot);

-- What could not be decoded, with the reason: never dropped silently.
CREATE TABLE decode_failures (
    signature         TEXT    NOT NULL,
    failure_index     INTEGER NOT NULL,
    slot              BIGINT  NOT NULL,
    instruction_index INTEGER,
    program           TEXT,
    reason            TEXT    NOT NULL,
    commitment        TEXT    NOT NULL,
    PRIMARY KEY (signature, failure_index)
);
CREATE INDEX ON decode_failures (slot);

-- Slot statuses seen on the stream.
CREATE TABLE slots (
    slot       BIGINT      PRIMARY KEY,
    parent     BIGINT,
    status     TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Where to resume: written in the same transaction as the rows it covers.
CREATE TABLE indexer_checkpoint (
    name       TEXT        PRIMARY KEY,
    slot       BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
