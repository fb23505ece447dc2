-- 006_store: the store module's own state (store/store.h, docs/store.md).

-- Each pass purchase owns the period it paid for, so a refund takes back
-- what is left of that period and never a later purchase's days.
ALTER TABLE purchases
    ADD COLUMN IF NOT EXISTS period_start DATETIME(3) NULL AFTER balance_after,
    ADD COLUMN IF NOT EXISTS period_end DATETIME(3) NULL AFTER period_start,
    ADD KEY IF NOT EXISTS ix_purchases_entitlement (entitlement_id, id);

-- A top-up reference is unique per subscriber: the second top-up with the
-- same reference (under any Idempotency-Key, HTTP or vasctl) is refused
-- with the first one's transaction.
CREATE TABLE IF NOT EXISTS topup_references (
    subscriber_id   BIGINT UNSIGNED NOT NULL,
    reference       VARCHAR(128) NOT NULL,
    txn_id          BIGINT UNSIGNED NOT NULL,
    amount          BIGINT NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    PRIMARY KEY (subscriber_id, reference)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO topup_references (subscriber_id, reference, txn_id, amount,
                                     created_at)
SELECT subscriber_id, reference, MIN(id), MIN(amount), MIN(created_at)
FROM ledger_txns WHERE kind = 'topup' AND reference IS NOT NULL
GROUP BY subscriber_id, reference;

-- The entitlement epoch: moved by full refunds (revocations), polled by
-- every host to drop cached download targets. Separate from catalog_meta
-- so a refund no longer flushes every catalog cache.
CREATE TABLE IF NOT EXISTS store_meta (
    id          TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    ent_epoch   BIGINT UNSIGNED NOT NULL,
    updated_at  DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO store_meta (id, ent_epoch, updated_at)
VALUES (1, 1, UTC_TIMESTAMP(3));
