-- 033_drop_txns_subscriber: ledger_txns' index on (subscriber_id, id) goes. No query reads it
-- (the audit, finance statements and look-ups, refunds and vasctl read ledger_txns by primary key,
-- by provider and time (ix_txns_provider_created) or by the charge a refund corrects
-- (ix_txns_corrects)), and every money movement (purchase, gift, refund, top-up, capture) wrote
-- an entry into it. A subscriber's movements are found through their CDRs and postings
-- (ix_postings_account_cover on the subscriber's account). Re-runnable.
ALTER TABLE ledger_txns DROP INDEX IF EXISTS ix_txns_subscriber;
