-- CDRs name what they charge for in typed columns (CDR format v2): the purchase of a charge or
-- refund, the lobby start of a per-play capture. Before this the purchase was only free text.
ALTER TABLE cdrs
    MODIFY kind ENUM('charge','refund','capture') NOT NULL,
    ADD COLUMN IF NOT EXISTS purchase_id BIGINT UNSIGNED NULL AFTER im_user_id,
    ADD COLUMN IF NOT EXISTS lobby_start_id BIGINT UNSIGNED NULL AFTER purchase_id,
    ADD KEY IF NOT EXISTS ix_cdrs_purchase (purchase_id);

UPDATE cdrs c JOIN purchases p ON p.charge_txn_id = c.txn_id
SET c.purchase_id = p.id
WHERE c.kind = 'charge' AND c.purchase_id IS NULL;

UPDATE cdrs c JOIN refunds r ON r.txn_id = c.txn_id
SET c.purchase_id = r.purchase_id
WHERE c.kind = 'refund' AND c.purchase_id IS NULL;
