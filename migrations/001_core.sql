-- 001_core: gateway plumbing — admin keys, idempotency records, the outbox.
-- Re-runnable (IF NOT EXISTS); the runner records it in schema_migrations.

CREATE TABLE IF NOT EXISTS admin_keys (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    key_hash    CHAR(64) NOT NULL,              -- SHA-256 hex of the key
    created_at  DATETIME NOT NULL,
    revoked_at  DATETIME NULL,
    UNIQUE KEY uk_admin_keys_hash (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (caller scope, Idempotency-Key) whose request succeeded:
-- written in the same transaction as the effect (see gateway/gw_idem.h).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope       VARCHAR(80) NOT NULL,           -- "u:<im user>" / "a:<key id>"
    idem_key    VARCHAR(255) NOT NULL,
    req_hash    CHAR(64) NOT NULL,              -- SHA-256 of method, path, body
    status      SMALLINT NOT NULL,
    body        MEDIUMTEXT NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (scope, idem_key),
    KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Transactional outbox: notifications for the IM, written with the event.
CREATE TABLE IF NOT EXISTS outbox (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    notif_id        CHAR(32) NOT NULL,          -- unique id consumers de-dup on
    user_id         VARCHAR(64) NOT NULL,       -- IM user id
    type            VARCHAR(64) NOT NULL,
    payload         MEDIUMTEXT NOT NULL,        -- JSON object
    created_at      DATETIME(3) NOT NULL,
    delivered_at    DATETIME(3) NULL,
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(3) NULL,
    last_error      VARCHAR(255) NULL,
    UNIQUE KEY uk_outbox_notif (notif_id),
    KEY ix_outbox_pending (delivered_at, id),
    KEY ix_outbox_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Webhook events to content providers, written in the same transaction as
-- the purchase/refund; the relay role delivers them (signed, with retries)
-- and dead-letters them after the last retry.
CREATE TABLE IF NOT EXISTS webhook_events (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id        CHAR(32) NOT NULL,          -- unique, sent to the provider
    provider_id     BIGINT UNSIGNED NOT NULL,
    type            VARCHAR(64) NOT NULL,       -- purchase.completed, purchase.refunded
    payload         MEDIUMTEXT NOT NULL,        -- JSON object
    state           ENUM('pending','delivered','failed') NOT NULL DEFAULT 'pending',
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(3) NOT NULL,
    last_status     INT NULL,                   -- last HTTP status
    last_error      VARCHAR(255) NULL,
    created_at      DATETIME(3) NOT NULL,
    delivered_at    DATETIME(3) NULL,
    UNIQUE KEY uk_webhook_event (event_id),
    KEY ix_webhook_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
