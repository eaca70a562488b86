-- State refreshes look their keys up; they never scan a table for them.
--
-- Every refresh function finds the events of a batch's keys (`key = ANY(keys)` or a join
-- with `unnest(keys)`). Through an index that costs in proportion to the keys. Where the
-- planner picked a sequential scan instead (a small table, or one whose statistics are
-- older than its growth), it compared every row with every key, since PostgreSQL does
-- not hash an array that arrives as a parameter: `auto_explain` on the benchmark showed
-- such scans in six of the nine functions. Refreshing 641 devices among 1,240 onboardings
-- took 15-17 ms that way and 7.4-7.6 ms through the index; with 300,000 devices stored
-- both took 32 ms (and a full rebuild of all 300,000, 3.5-4.4 s either way).
--
-- Rewriting the filters as joins (`key IN (SELECT unnest(keys))`) was tried first: faster
-- on small tables, but the refresh per event row with 308,000 rows stored went from 1.15x
-- to 2.62x of an empty database, as the planner then scanned the large tables. So the
-- functions keep their text and run with sequential scans off: the planner takes the
-- index whatever its estimates.

ALTER FUNCTION depin_refresh_networks(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_makers(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_devices(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_stake_positions(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_device_bonds(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_reward_epochs(TEXT[], NUMERIC[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_reward_claims(TEXT[], TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_deals(TEXT[]) SET enable_seqscan = off;
ALTER FUNCTION depin_refresh_energy(TEXT[], NUMERIC[]) SET enable_seqscan = off;
