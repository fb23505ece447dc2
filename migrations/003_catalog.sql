-- 003_catalog: content providers, the catalog, purchases, entitlements and
-- refunds (catalog/cat.h, services/svc_store*.c, docs/store.md).

CREATE TABLE IF NOT EXISTS providers (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code              VARCHAR(64) NOT NULL,         -- feed identity
    name              VARCHAR(200) NOT NULL,
    revenue_share_bp  INT NOT NULL,                 -- provider's share, 0..10000
    webhook_url       VARCHAR(2048) NULL,
    webhook_secret    VARCHAR(255) NULL,            -- set by vasctl, never by a feed
    status            ENUM('active','suspended') NOT NULL DEFAULT 'active',
    created_at        DATETIME(3) NOT NULL,
    updated_at        DATETIME(3) NOT NULL,
    UNIQUE KEY uk_providers_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS categories (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug        VARCHAR(64) NOT NULL,
    name        VARCHAR(100) NOT NULL,
    kind        ENUM('ringtone','game') NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    UNIQUE KEY uk_categories_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- search_text: lower-cased title + artist (cat_search_normalize), matched
-- with LIKE '%term%' per term (works for CJK; see docs/store.md).
-- popularity: completed purchases, bumped after each purchase commits.
CREATE TABLE IF NOT EXISTS items (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    provider_id     BIGINT UNSIGNED NOT NULL,
    sku             VARCHAR(64) NOT NULL,
    kind            ENUM('ringtone','game') NOT NULL,
    title           VARCHAR(200) NOT NULL,
    artist          VARCHAR(200) NULL,
    category_id     BIGINT UNSIGNED NOT NULL,
    price           BIGINT NOT NULL,
    currency        CHAR(3) NOT NULL,
    status          ENUM('active','retired') NOT NULL DEFAULT 'active',
    search_text     VARCHAR(512) NOT NULL,
    popularity      BIGINT NOT NULL DEFAULT 0,
    preview_path    VARCHAR(255) NULL,
    preview_bytes   BIGINT NULL,
    preview_sha256  CHAR(64) NULL,
    min_players     INT NULL,
    max_players     INT NULL,
    pricing         ENUM('per_play','pass') NULL,
    pass_days       INT NULL,
    allocator_url   VARCHAR(2048) NULL,
    feed_hash       CHAR(64) NULL,                  -- last imported content
    created_at      DATETIME(3) NOT NULL,
    updated_at      DATETIME(3) NOT NULL,
    UNIQUE KEY uk_items_sku (provider_id, sku),
    KEY ix_items_new (status, id),
    KEY ix_items_price (status, price, id),
    KEY ix_items_popular (status, popularity, id),
    KEY ix_items_category (category_id, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS item_assets (
    item_id     BIGINT UNSIGNED NOT NULL,
    format      ENUM('midi','amr','mp3') NOT NULL,
    path        VARCHAR(255) NOT NULL,                 -- under the content store
    mime        VARCHAR(64) NOT NULL,
    bytes       BIGINT NOT NULL,
    sha256      CHAR(64) NOT NULL,
    PRIMARY KEY (item_id, format)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (owner, item): the UNIQUE key is what makes concurrent
-- buyers of one item serialize (it is written first in a purchase).
CREATE TABLE IF NOT EXISTS entitlements (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner_user_id   VARCHAR(64) NOT NULL,
    item_id         BIGINT UNSIGNED NOT NULL,
    kind            ENUM('permanent','pass') NOT NULL,
    status          ENUM('active','revoked') NOT NULL DEFAULT 'active',
    granted_at      DATETIME(3) NOT NULL,
    expires_at      DATETIME(3) NULL,
    purchase_id     BIGINT UNSIGNED NULL,               -- the latest purchase
    buy_attempts    INT NOT NULL DEFAULT 0,             -- upsert marker
    updated_at      DATETIME(3) NOT NULL,
    UNIQUE KEY uk_entitlements_owner_item (owner_user_id, item_id),
    KEY ix_entitlements_owner (owner_user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS purchases (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    buyer_user_id       VARCHAR(64) NOT NULL,
    subscriber_id       BIGINT UNSIGNED NOT NULL,
    recipient_user_id   VARCHAR(64) NOT NULL,           -- = buyer unless a gift
    item_id             BIGINT UNSIGNED NOT NULL,
    format              VARCHAR(8) NULL,
    amount              BIGINT NOT NULL,
    currency            CHAR(3) NOT NULL,
    status              ENUM('completed','partially_refunded','refunded') NOT NULL,
    refunded            BIGINT NOT NULL DEFAULT 0,
    charge_txn_id       BIGINT UNSIGNED NULL,           -- NULL for free items
    entitlement_id      BIGINT UNSIGNED NOT NULL,
    balance_after       BIGINT NOT NULL,
    created_at          DATETIME(3) NOT NULL,
    KEY ix_purchases_buyer (buyer_user_id, id),
    KEY ix_purchases_created (created_at, item_id),
    KEY ix_purchases_txn (charge_txn_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS refunds (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    purchase_id     BIGINT UNSIGNED NOT NULL,
    txn_id          BIGINT UNSIGNED NOT NULL,           -- the refund ledger txn
    amount          BIGINT NOT NULL,
    reason          VARCHAR(255) NOT NULL,
    actor           VARCHAR(80) NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    KEY ix_refunds_purchase (purchase_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The catalog generation: bumped in the same transaction as any catalog
-- change; every gateway host polls it to drop its cached pages.
CREATE TABLE IF NOT EXISTS catalog_meta (
    id          TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    generation  BIGINT UNSIGNED NOT NULL,
    updated_at  DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO catalog_meta (id, generation, updated_at)
VALUES (1, 1, UTC_TIMESTAMP(3));
