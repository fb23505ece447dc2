-- 007_outbox_queue: the relay's queue apart from the outbox record (issue 12).
-- Re-runnable; the runner records it in schema_migrations.
--
-- outbox rows stay the permanent record (vasctl audit, the inbox fallback while Redis is down)
-- and are no longer updated: marking 100,000 rows delivered by UPDATE cost ~20 us a row because
-- it moved the (delivered_at, id) index entry. A new row's id is queued in outbox_pending by a
-- trigger, in the writer's transaction (gw_outbox_add keeps its one INSERT); the relay claims
-- queue entries with FOR UPDATE SKIP LOCKED and deletes the delivered ones, one statement a batch.
-- outbox.delivered_at, attempts, next_attempt_at and last_error are no longer written.

CREATE TABLE IF NOT EXISTS outbox_pending (
    id              BIGINT UNSIGNED NOT NULL PRIMARY KEY,  -- outbox.id
    attempts        INT NOT NULL DEFAULT 0,                -- failed relay attempts
    next_attempt_at DATETIME(3) NULL,                      -- after Redis refused the entry
    last_error      VARCHAR(255) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The trigger first, then the backlog: a row committed in between is queued by both (IGNORE).
CREATE TRIGGER IF NOT EXISTS tr_outbox_queue AFTER INSERT ON outbox FOR EACH ROW INSERT INTO outbox_pending (id) VALUES (NEW.id);

INSERT IGNORE INTO outbox_pending (id, attempts, next_attempt_at, last_error)
SELECT id, attempts, next_attempt_at, last_error FROM outbox WHERE delivered_at IS NULL;

-- Only the old relay read this index; every outbox INSERT paid for it.
DROP INDEX IF EXISTS ix_outbox_pending ON outbox;

-- GET /v1/admin/notifications/status pages dead letters by id, newest first.
CREATE INDEX IF NOT EXISTS ix_webhook_state_id ON webhook_events (state, id);
