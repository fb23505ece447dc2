-- 018_store_epoch_buckets: the entitlement epoch over 64 rows of
-- store_meta instead of one (issue 8; STORE_EPOCH_BUCKETS in
-- store/store.h). Re-runnable; depends on 006.
--
-- Every full refund bumped store_meta row 1 in its transaction, so
-- concurrent refunds queued on that row lock (0.98 lock waits and 78 ms of
-- waiting per refund at 8 clients). A refund now bumps row
-- 1 + purchase id mod 64 and hosts read the epoch as SUM(ent_epoch), which
-- grows with every bump. New rows start at 0: the sum is unchanged.
-- During a rolling upgrade an old build reads row 1 only and would miss a
-- new build's revocation until it is replaced (vasctl migrate, then USR2).
INSERT IGNORE INTO store_meta (id, ent_epoch, updated_at)
SELECT seq, 0, UTC_TIMESTAMP(3) FROM seq_2_to_64;
