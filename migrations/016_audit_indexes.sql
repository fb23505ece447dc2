-- 016_audit_indexes: covering indexes for `vasctl audit` at carrier scale
-- (issue 15; billing/bill_audit.c). Re-runnable; depends only on 002.
--
-- The ledger checks that read every posting group them by transaction
-- (postings sum to zero; every posting's transaction exists) or by account
-- (balance equals the sum of postings). With amount (and account_id) in
-- the index, each is one index-only scan in the grouping order: no row
-- lookup per posting and no temporary table. The new keys start with the
-- old keys' columns, so every query that used the old ones uses these; the
-- money path still maintains two secondary indexes per posting.
ALTER TABLE postings
    ADD KEY IF NOT EXISTS ix_postings_txn_cover (txn_id, account_id, amount),
    ADD KEY IF NOT EXISTS ix_postings_account_cover (account_id, id, amount),
    DROP KEY IF EXISTS ix_postings_txn,
    DROP KEY IF EXISTS ix_postings_account,
    ALGORITHM = INPLACE, LOCK = NONE;
