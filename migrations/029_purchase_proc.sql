-- 029_purchase_proc: a paid purchase for oneself as ONE prepared CALL (store/store_buy.c,
-- store_buy_own): the entitlement, the conditional debit, the purchase row and everything
-- vas_purchase_charge writes (028), instead of four round trips. Gifts and free purchases keep
-- their statements (a gift debits first and reads the recipient in between).
--
-- The statements are those of the C code they replace (STORE_ENTITLE_SQL, BILL_DEBIT_SQL,
-- STORE_PURCHASE_SQL; see the comments there for why each is written so), in the same order:
-- the entitlement first (its row lock orders concurrent buyers of one item: the second sees the
-- first's entitlement and is refused without touching the balance), then the debit with every
-- limit in its WHERE clause, then the row only while the catalog generation is the one the item
-- was read at (a locking read). The C code still computes every value and makes every decision:
-- the first column of the one row says which step refused (1: already owned, 2: the debit matched
-- no row — C asks billing why, 3: the catalog moved — C reads it again and retries); the caller
-- rolls the transaction back on any refusal (a procedure's statements are not undone by a later
-- one failing).
--
-- The notifications' payload: C renders every field but the two ids only known here, which are
-- put first. The ledger block (vas_ledger_post's IN list, filled by billing) is passed whole; its
-- reference and purchase id are the purchase's, made here, and its account is checked against
-- the one the debit moved.
DELIMITER //

DROP PROCEDURE IF EXISTS vas_purchase //

CREATE PROCEDURE vas_purchase(
    IN p_buyer       VARCHAR(64),
    IN p_ent_kind    VARCHAR(16),
    IN p_now         DATETIME(3),
    IN p_pass        INT,
    IN p_days        INT,
    IN p_day_key     INT,
    IN p_month_key   INT,
    IN p_format      VARCHAR(16),
    IN p_gen         BIGINT,
    IN p_buyer_notif CHAR(32),
    IN p_event_id    CHAR(32),
    IN p_payload     MEDIUMTEXT,
    -- vas_ledger_post's IN list
    IN p_kind        VARCHAR(16),
    IN p_subscriber  BIGINT UNSIGNED,
    IN p_amount      BIGINT,
    IN p_currency    CHAR(3),
    IN p_provider    BIGINT UNSIGNED,
    IN p_pshare      BIGINT,
    IN p_cshare      BIGINT,
    IN p_bucket      SMALLINT UNSIGNED,
    IN p_corrects    BIGINT UNSIGNED,
    IN p_hold        BIGINT UNSIGNED,
    IN p_reference   VARCHAR(128),
    IN p_actor       VARCHAR(80),
    IN p_reason      VARCHAR(255),
    IN p_cdr_id      CHAR(32),
    IN p_cdr_kind    VARCHAR(16),
    IN p_cdr_sign    BIGINT,
    IN p_purch       BIGINT UNSIGNED,
    IN p_lobby_start BIGINT UNSIGNED,
    IN p_item        BIGINT UNSIGNED,
    IN p_sku         VARCHAR(64),
    IN p_day         VARCHAR(10),
    IN p_account     BIGINT UNSIGNED,
    IN p_sub_amount  BIGINT,
    IN p_acct1       BIGINT UNSIGNED,
    IN p_leg1        BIGINT,
    IN p_acct2       BIGINT UNSIGNED,
    IN p_leg2        BIGINT)
    MODIFIES SQL DATA
proc: BEGIN
    DECLARE v_ent, v_pid, v_txn, v_account BIGINT UNSIGNED DEFAULT 0;
    DECLARE v_attempts INT DEFAULT 0;
    DECLARE v_expires DATETIME(3);
    DECLARE v_payload MEDIUMTEXT;

    IF p_amount <= 0 OR p_item IS NULL THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_purchase: not a paid item';
    END IF;

    -- 1. The entitlement (STORE_ENTITLE_SQL): granted, re-granted or a pass extended.
    INSERT INTO entitlements (owner_user_id, item_id, kind, status, granted_at, expires_at,
                              updated_at)
    VALUES (p_buyer, p_item, p_ent_kind, 'active', p_now,
            IF(p_pass, p_now + INTERVAL p_days DAY, NULL), p_now)
    ON DUPLICATE KEY UPDATE
        id = LAST_INSERT_ID(id),
        buy_attempts = IF(status = 'active' AND kind = 'permanent', buy_attempts + 1, 0),
        granted_at = IF(status = 'active', granted_at, VALUES(granted_at)),
        expires_at = IF(kind = 'pass',
                        IF(status = 'active' AND expires_at > VALUES(granted_at), expires_at,
                           VALUES(granted_at)) + INTERVAL p_days DAY, NULL),
        status = 'active',
        updated_at = VALUES(updated_at);
    SET v_ent = LAST_INSERT_ID();
    SELECT buy_attempts, expires_at INTO v_attempts, v_expires FROM entitlements
    WHERE id = v_ent;
    IF v_attempts > 0 THEN
        SELECT 1, 0, v_ent, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
        LEAVE proc;
    END IF;

    -- 2. The debit (BILL_DEBIT_SQL, no hold): every limit in the WHERE clause.
    UPDATE accounts
    SET spent_day = (@vas_sd := IF(spent_day_key = p_day_key, spent_day, 0) + p_amount),
        spent_day_key = p_day_key,
        spent_month = (@vas_sm := IF(spent_month_key = p_month_key, spent_month, 0) + p_amount),
        spent_month_key = p_month_key,
        balance = (@vas_bal := balance - p_amount),
        plan = (@vas_plan := plan), cap_daily = (@vas_cd := cap_daily),
        cap_monthly = (@vas_cm := cap_monthly),
        updated_at = UTC_TIMESTAMP(3), id = LAST_INSERT_ID(id)
    WHERE kind = 'subscriber' AND owner_id = p_subscriber AND bucket = 0 AND status = 'active'
      AND balance - held - p_amount >= -credit_limit
      AND (cap_daily IS NULL OR IF(spent_day_key = p_day_key, spent_day, 0) + p_amount
                                <= cap_daily)
      AND (cap_monthly IS NULL OR IF(spent_month_key = p_month_key, spent_month, 0) + p_amount
                                  <= cap_monthly);
    IF ROW_COUNT() <> 1 THEN
        SELECT 2, 0, v_ent, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
        LEAVE proc;
    END IF;
    SET v_account = LAST_INSERT_ID();
    IF v_account <> p_account THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_purchase: not the subscriber''s account';
    END IF;

    -- 3. The row, only at the catalog generation the item was read at (STORE_PURCHASE_SQL); a
    --    pass's period is [end - days, end) of the entitlement as it now is.
    INSERT INTO purchases (buyer_user_id, subscriber_id, recipient_user_id, item_id, format,
                           amount, currency, status, entitlement_id, balance_after,
                           period_start, period_end, created_at)
    SELECT p_buyer, p_subscriber, p_buyer, p_item, p_format, p_amount, p_currency, 'completed',
           v_ent, @vas_bal, IF(p_pass, v_expires - INTERVAL p_days DAY, NULL),
           IF(p_pass, v_expires, NULL), p_now
    FROM catalog_meta WHERE id = 1 AND generation = p_gen;
    IF ROW_COUNT() <> 1 THEN
        SELECT 3, 0, v_ent, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
        LEAVE proc;
    END IF;
    SET v_pid = LAST_INSERT_ID();

    -- 4. The notification, the webhook event, the charge (vas_purchase_charge's writes).
    SET v_payload = CONCAT('{"purchase_id":', v_pid, ',"entitlement_id":', v_ent, ',',
                           p_payload);
    INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
    VALUES (p_buyer_notif, p_buyer, 'purchase.completed', v_payload, UTC_TIMESTAMP(3));
    INSERT INTO webhook_events (event_id, provider_id, type, payload, next_attempt_at, created_at)
    SELECT p_event_id, p.id, 'purchase.completed', v_payload, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    FROM providers p
    WHERE p.id = p_provider AND p.webhook_url IS NOT NULL AND p.webhook_url <> '';

    CALL vas_ledger_post(p_kind, p_subscriber, p_amount, p_currency, p_provider, p_pshare,
                         p_cshare, p_bucket, p_corrects, p_hold, CONCAT('purchase:', v_pid),
                         p_actor, p_reason, p_cdr_id, p_cdr_kind, p_cdr_sign, v_pid,
                         p_lobby_start, p_item, p_sku, p_day, v_account, p_sub_amount, p_acct1,
                         p_leg1, p_acct2, p_leg2, v_txn);
    UPDATE purchases SET charge_txn_id = v_txn WHERE id = v_pid;

    SELECT 0, v_pid, v_ent,
           COALESCE(CAST(ROUND(UNIX_TIMESTAMP(v_expires) * 1000) AS SIGNED), 0), v_txn,
           @vas_bal, @vas_plan, COALESCE(@vas_cd, -1), @vas_sd, COALESCE(@vas_cm, -1),
           @vas_sm;
END //

DELIMITER ;
