-- The region multiplier table hash each reward root carries (rewards `propose_root`): the
-- SHA-256 of the epoch's table as the oracles publish it off chain (the SDK's
-- `RegionMultipliers::hash`, the auditor's `region_multiplier_tables.hash`), all zeros when
-- the epoch uses no table. Proposals agree only when root, total and hash are identical, and
-- the finalized epoch keeps the hash on chain.
--
-- Rows indexed before this migration were proposed without a table: they get the zero hash,
-- the value the program uses for "no table". The defaults are dropped afterwards so that
-- every new row names its hash.

ALTER TABLE rewards_root_proposed
    ADD COLUMN multipliers_hash BYTEA NOT NULL DEFAULT decode(repeat('00', 32), 'hex');
ALTER TABLE rewards_root_proposed ALTER COLUMN multipliers_hash DROP DEFAULT;

ALTER TABLE rewards_root_finalized
    ADD COLUMN multipliers_hash BYTEA NOT NULL DEFAULT decode(repeat('00', 32), 'hex');
ALTER TABLE rewards_root_finalized ALTER COLUMN multipliers_hash DROP DEFAULT;

-- Current state: the epoch's finalized hash, or its latest proposal's until it finalizes
-- (as for `root` and `cumulative_total`).
ALTER TABLE reward_epochs
    ADD COLUMN multipliers_hash BYTEA NOT NULL DEFAULT decode(repeat('00', 32), 'hex');
ALTER TABLE reward_epochs ALTER COLUMN multipliers_hash DROP DEFAULT;

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
           c.claimed, c.claims,
           COALESCE(f.multipliers_hash, p.multipliers_hash)
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
