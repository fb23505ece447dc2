-- 014_purchase_finish: what the purchase's last UPDATE no longer writes, and
-- an index nothing reads (issue 8). Re-runnable; depends on 002, 003, 005.
--
-- A purchase ended with a two-table UPDATE (purchases JOIN entitlements)
-- that set the charge txn id (a change of ix_purchases_txn: delete-mark
-- and insert) and the entitlement's latest purchase id. Now:
-- * the purchase of a charge is found through the charge's CDR
--   (uk_cdrs_txn; cdrs.purchase_id, filled for old rows by 005), so
--   ix_purchases_txn has no reader;
-- * the entitlement's latest purchase is MAX(purchases.id) of it
--   (ix_purchases_entitlement), so entitlements.purchase_id is not kept;
-- * ix_txns_created (created_at alone) had no reader: the provider
--   statements use ix_txns_provider_created (009).
ALTER TABLE purchases DROP KEY IF EXISTS ix_purchases_txn;
ALTER TABLE ledger_txns DROP KEY IF EXISTS ix_txns_created;
ALTER TABLE entitlements DROP COLUMN IF EXISTS purchase_id;
