-- 004_notify: what the relay role and the inbox fallback need (issue 5).
-- Re-runnable; the runner records it in schema_migrations.

-- The inbox fallback (Redis down) pages a user's notifications by id.
CREATE INDEX IF NOT EXISTS ix_outbox_user_notif ON outbox (user_id, notif_id);

-- 'skipped': the provider has no webhook_url, nothing was sent.
ALTER TABLE webhook_events
    MODIFY state ENUM('pending','delivered','failed','skipped')
        NOT NULL DEFAULT 'pending';

-- vasctl webhooks list --failed, newest first.
CREATE INDEX IF NOT EXISTS ix_webhook_state_created
    ON webhook_events (state, created_at);
