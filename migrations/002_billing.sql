-- 002_billing: phone accounts and the double-entry ledger (billing/bill.h).

-- Accounts: subscribers' phone accounts, and bucketed revenue/funding
-- accounts (kind, owner_id, bucket) so that no row is locked by every
-- purchase. balance = SUM(postings.amount) for the account, always.
CREATE TABLE IF NOT EXISTS accounts (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind            ENUM('subscriber','provider','carrier','funding') NOT NULL,
    owner_id        BIGINT UNSIGNED NOT NULL DEFAULT 0, -- subscriber/provider id
    bucket          SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    currency        CHAR(3) NOT NULL,
    plan            ENUM('prepaid','postpaid','none') NOT NULL DEFAULT 'none',
    status          ENUM('active','suspended') NOT NULL DEFAULT 'active',
    balance         BIGINT NOT NULL DEFAULT 0,
    held            BIGINT NOT NULL DEFAULT 0,        -- pending holds
    credit_limit    BIGINT NOT NULL DEFAULT 0,        -- postpaid floor = -limit
    cap_daily       BIGINT NULL,                      -- NULL: no cap
    cap_monthly     BIGINT NULL,
    spent_day       BIGINT NOT NULL DEFAULT 0,
    spent_day_key   INT NOT NULL DEFAULT 0,           -- YYYYMMDD business day
    spent_month     BIGINT NOT NULL DEFAULT 0,
    spent_month_key INT NOT NULL DEFAULT 0,           -- YYYYMM
    created_at      DATETIME(3) NOT NULL,
    updated_at      DATETIME(3) NOT NULL,
    UNIQUE KEY uk_accounts_owner (kind, owner_id, bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS subscribers (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    im_user_id  VARCHAR(64) NOT NULL,
    msisdn      VARCHAR(15) NOT NULL,
    account_id  BIGINT UNSIGNED NULL,
    created_at  DATETIME(3) NOT NULL,
    created_by  VARCHAR(80) NOT NULL,
    UNIQUE KEY uk_subscribers_user (im_user_id),
    UNIQUE KEY uk_subscribers_msisdn (msisdn)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per money movement; postings hold its legs.
CREATE TABLE IF NOT EXISTS ledger_txns (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind            ENUM('charge','capture','refund','topup') NOT NULL,
    subscriber_id   BIGINT UNSIGNED NOT NULL,
    amount          BIGINT NOT NULL,                  -- > 0, gross
    currency        CHAR(3) NOT NULL,
    provider_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    provider_share  BIGINT NOT NULL DEFAULT 0,
    carrier_share   BIGINT NOT NULL DEFAULT 0,
    bucket          SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    refunded        BIGINT NOT NULL DEFAULT 0,        -- charges: sum of refunds
    corrects_txn_id BIGINT UNSIGNED NULL,             -- refunds: their charge
    hold_id         BIGINT UNSIGNED NULL,             -- captures: their hold
    reference       VARCHAR(128) NULL,
    actor           VARCHAR(80) NOT NULL,
    reason          VARCHAR(255) NULL,
    created_at      DATETIME(3) NOT NULL,
    KEY ix_txns_subscriber (subscriber_id, id),
    KEY ix_txns_corrects (corrects_txn_id),
    KEY ix_txns_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only legs: + money arrives in the account, - it leaves.
CREATE TABLE IF NOT EXISTS postings (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    txn_id      BIGINT UNSIGNED NOT NULL,
    account_id  BIGINT UNSIGNED NOT NULL,
    amount      BIGINT NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    KEY ix_postings_txn (txn_id),
    KEY ix_postings_account (account_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Reservations (two-phase charges) with expiry.
CREATE TABLE IF NOT EXISTS holds (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    subscriber_id   BIGINT UNSIGNED NOT NULL,
    account_id      BIGINT UNSIGNED NOT NULL,
    amount          BIGINT NOT NULL,
    captured        BIGINT NOT NULL DEFAULT 0,
    state           ENUM('pending','captured','released','expired') NOT NULL,
    provider_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    share_bp        INT NOT NULL DEFAULT 0,
    item_id         BIGINT UNSIGNED NULL,
    sku             VARCHAR(64) NULL,
    day_key         INT NOT NULL,                     -- caps counted on
    month_key       INT NOT NULL,
    reference       VARCHAR(128) NULL,
    actor           VARCHAR(80) NOT NULL,
    reason          VARCHAR(255) NULL,
    expires_at      DATETIME(3) NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    settled_at      DATETIME(3) NULL,
    capture_txn_id  BIGINT UNSIGNED NULL,
    KEY ix_holds_pending (state, expires_at),
    KEY ix_holds_account (account_id, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Charging data records: one per charge and per refund, stable cdr_id.
CREATE TABLE IF NOT EXISTS cdrs (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    cdr_id          CHAR(32) NOT NULL,
    kind            ENUM('charge','refund') NOT NULL,
    txn_id          BIGINT UNSIGNED NOT NULL,
    subscriber_id   BIGINT UNSIGNED NOT NULL,
    msisdn          VARCHAR(15) NOT NULL,
    im_user_id      VARCHAR(64) NOT NULL,
    item_id         BIGINT UNSIGNED NULL,
    sku             VARCHAR(64) NULL,
    provider_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,
    amount          BIGINT NOT NULL,                  -- refunds negative
    currency        CHAR(3) NOT NULL,
    provider_share  BIGINT NOT NULL,
    carrier_share   BIGINT NOT NULL,
    business_day    DATE NOT NULL,
    reference       VARCHAR(128) NULL,
    created_at      DATETIME(3) NOT NULL,
    UNIQUE KEY uk_cdrs_cdr (cdr_id),
    UNIQUE KEY uk_cdrs_txn (txn_id),
    KEY ix_cdrs_day (business_day, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The carrier's revenue and the funding (cash received) accounts, bucketed.
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, created_at, updated_at)
WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < 15)
SELECT k.kind, 0, b.n, 'CNY', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
FROM b CROSS JOIN (SELECT 'carrier' AS kind UNION ALL SELECT 'funding') k;
