-- State columns that sum many events' u64 amounts can pass NUMERIC(20,0)'s 10^20 - 1 (about
-- 5.4 times u64::MAX): on a network whose pool takes a mint its creator controls and a zero
-- cooldown, six stake / unstake / withdraw rounds of u64::MAX (one transaction) sum a
-- position's withdrawals past it. The refresh then failed with numeric_value_out_of_range,
-- and the refresher, and every restart of it, stopped on the queued key for good (a rebuild
-- too). Every state column that holds a sum is now unbounded NUMERIC, as the tallies of V18
-- are; a single event's amount still fits NUMERIC(20,0) in its own table. Relaxing the
-- precision rewrites no table.
ALTER TABLE stake_positions
    ALTER COLUMN active TYPE NUMERIC,
    ALTER COLUMN pending TYPE NUMERIC,
    ALTER COLUMN slashed TYPE NUMERIC,
    ALTER COLUMN withdrawn TYPE NUMERIC;
ALTER TABLE reward_epochs ALTER COLUMN claimed TYPE NUMERIC;
ALTER TABLE reward_claims ALTER COLUMN total_claimed TYPE NUMERIC;
ALTER TABLE deals
    ALTER COLUMN provider_paid TYPE NUMERIC,
    ALTER COLUMN protocol_fees TYPE NUMERIC,
    ALTER COLUMN refunded TYPE NUMERIC,
    ALTER COLUMN slashed TYPE NUMERIC;
ALTER TABLE energy_intervals
    ALTER COLUMN volume_wh TYPE NUMERIC,
    ALTER COLUMN delivered_wh TYPE NUMERIC;
