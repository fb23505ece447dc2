-- 017_revenue_buckets: 64 revenue and funding buckets instead of 16
-- (issue 8; BILL_BUCKETS in billing/bill.h). Re-runnable; depends on 002.
--
-- Every charge updates the carrier's and the provider's revenue account of
-- the buyer's bucket (subscriber id mod BILL_BUCKETS) and holds those row
-- locks until COMMIT. With 16 buckets, purchases of different buyers
-- queued on them (under 16 concurrent purchases, every lock wait of the
-- bench was on these rows). New buckets start at balance 0 with no
-- postings, so balance = SUM(postings) holds for each; old postings stay
-- in the bucket they were made in, and a refund posts to the buyer's
-- current bucket (revenue per owner is the sum over its buckets).
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, created_at, updated_at)
WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < 63)
SELECT k.kind, 0, b.n, 'CNY', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
FROM b CROSS JOIN (SELECT 'carrier' AS kind UNION ALL SELECT 'funding') k;

INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, created_at, updated_at)
WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < 63)
SELECT 'provider', a.owner_id, b.n, a.currency, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
FROM b CROSS JOIN accounts a WHERE a.kind = 'provider' AND a.bucket = 0;
