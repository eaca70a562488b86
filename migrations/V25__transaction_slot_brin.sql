-- V25: the slot index of `indexed_transactions` becomes a BRIN index. Transactions are
-- written in slot order, so a block range index finds a slot's rows (a dead slot's removal,
-- a fork's move) as a B-tree does, at a fraction of the cost of keeping one: the B-tree took
-- a fifth of the COPY of a batch's transaction rows, the largest statement of the write
-- path outside the event rows themselves. The sink finds the newest slot in `slots` (its
-- primary key), no longer as the maximum of this index.
DROP INDEX indexed_transactions_slot_idx;
CREATE INDEX indexed_transactions_slot_brin ON indexed_transactions USING brin (slot);
