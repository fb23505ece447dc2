-- 032_one_debit: every money limit of a debit written ONCE, in vas_debit, which every debit
-- calls: a purchase for oneself or a gift (vas_buy, one prepared CALL for either), a lobby
-- start's hold (vas_hold) and, for a binary older than this migration still serving during a
-- rolling upgrade, 029's vas_purchase (re-created here as a call of vas_buy, same parameters).
-- Before, the conditional UPDATE existed twice (billing's BILL_DEBIT_SQL for gifts and holds,
-- its copy inside vas_purchase), and a limit changed in one copy only was a limit half-enforced.
--
-- vas_buy is 029's vas_purchase with the gift's steps: a gift debits FIRST (until the buyer is
-- known to be able to pay, nothing may depend on the recipient: bound or not, suspended or not,
-- owns the item or not), then checks the recipient, then grants the recipient's entitlement. A
-- purchase for oneself grants the entitlement first (its row lock orders concurrent buyers of
-- one item; the second is refused without touching the balance), then debits. The C code
-- (store/store_buy.c) still computes every value and makes every decision; the first column of
-- the one row says which step refused (1 owned, 2 the debit matched no row: C asks billing
-- why, 3 the catalog moved: C reads it again and retries, 4 no such recipient, 5 the
-- recipient's account is not active), and the caller rolls the transaction back on any refusal.
DELIMITER //

DROP PROCEDURE IF EXISTS vas_debit //

-- The debit (p_hold = 0) or hold (p_hold = 1) of p_amount from the subscriber's account with
-- every limit in the WHERE clause, so the check and the debit are one atomic step under any
-- concurrency: active, balance - held - amount >= -credit_limit, the daily and the monthly cap
-- of the periods p_day_key / p_month_key. Assignments in a single-table UPDATE run left to
-- right: each spent counter is computed before its key is moved to the current period. The
-- session variables carry what the warnings need to the ledger post's row. o_account: the
-- account's id, 0 when no row matched (billing's bill_debit_refused says why).
CREATE PROCEDURE vas_debit(
    IN  p_subscriber BIGINT UNSIGNED,
    IN  p_amount     BIGINT,
    IN  p_hold       INT,
    IN  p_day_key    INT,
    IN  p_month_key  INT,
    OUT o_account    BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    IF p_amount <= 0 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_debit: amount must be positive';
    END IF;
    UPDATE accounts
    SET spent_day = (@vas_sd := IF(spent_day_key = p_day_key, spent_day, 0) + p_amount),
        spent_day_key = p_day_key,
        spent_month = (@vas_sm := IF(spent_month_key = p_month_key, spent_month, 0) + p_amount),
        spent_month_key = p_month_key,
        balance = (@vas_bal := balance - IF(p_hold, 0, p_amount)),
        held = held + IF(p_hold, p_amount, 0),
        plan = (@vas_plan := plan), cap_daily = (@vas_cd := cap_daily),
        cap_monthly = (@vas_cm := cap_monthly),
        updated_at = UTC_TIMESTAMP(3), id = LAST_INSERT_ID(id)
    WHERE kind = 'subscriber' AND owner_id = p_subscriber AND bucket = 0 AND status = 'active'
      AND balance - held - p_amount >= -credit_limit
      AND (cap_daily IS NULL OR IF(spent_day_key = p_day_key, spent_day, 0) + p_amount
                                <= cap_daily)
      AND (cap_monthly IS NULL OR IF(spent_month_key = p_month_key, spent_month, 0) + p_amount
                                  <= cap_monthly);
    SET o_account = IF(ROW_COUNT() = 1, LAST_INSERT_ID(), 0);
END //

DROP PROCEDURE IF EXISTS vas_hold //

-- A lobby start's hold (billing/bill_hold.c): the held debit and the hold's row, which
-- remembers the periods its cap room was taken from, so a release gives it back to the same
-- day and month. One row: 0 and the hold's id, or 2 (the debit matched no row) and 0.
CREATE PROCEDURE vas_hold(
    IN p_subscriber BIGINT UNSIGNED,
    IN p_amount     BIGINT,
    IN p_day_key    INT,
    IN p_month_key  INT,
    IN p_provider   BIGINT UNSIGNED,
    IN p_share_bp   BIGINT,
    IN p_item       BIGINT UNSIGNED,
    IN p_sku        VARCHAR(64),
    IN p_reference  VARCHAR(128),
    IN p_actor      VARCHAR(80),
    IN p_reason     VARCHAR(255),
    IN p_ttl_s      BIGINT)
    MODIFIES SQL DATA
proc: BEGIN
    DECLARE v_account BIGINT UNSIGNED DEFAULT 0;

    CALL vas_debit(p_subscriber, p_amount, 1, p_day_key, p_month_key, v_account);
    IF v_account = 0 THEN
        SELECT 2, 0;
        LEAVE proc;
    END IF;
    INSERT INTO holds (subscriber_id, account_id, amount, state, provider_id, share_bp, item_id,
                       sku, day_key, month_key, reference, actor, reason, expires_at, created_at)
    VALUES (p_subscriber, v_account, p_amount, 'pending', p_provider, p_share_bp,
            NULLIF(p_item, 0), p_sku, p_day_key, p_month_key, p_reference, p_actor, p_reason,
            UTC_TIMESTAMP(3) + INTERVAL p_ttl_s SECOND, UTC_TIMESTAMP(3));
    SELECT 0, LAST_INSERT_ID();
END //

DROP PROCEDURE IF EXISTS vas_buy //

CREATE PROCEDURE vas_buy(
    IN p_buyer       VARCHAR(64),
    IN p_rcpt        VARCHAR(64),   -- the buyer for a purchase for oneself
    IN p_ent_kind    VARCHAR(16),
    IN p_now         DATETIME(3),
    IN p_pass        INT,
    IN p_days        INT,
    IN p_day_key     INT,
    IN p_month_key   INT,
    IN p_format      VARCHAR(16),
    IN p_gen         BIGINT,
    IN p_buyer_notif CHAR(32),
    IN p_rcpt_notif  CHAR(32),      -- NULL for a purchase for oneself
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
    DECLARE v_gift INT DEFAULT p_rcpt <> p_buyer;
    DECLARE v_expires DATETIME(3);
    DECLARE v_status VARCHAR(16);
    DECLARE v_payload MEDIUMTEXT;

    IF p_amount <= 0 OR p_item IS NULL THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_buy: not a paid item';
    END IF;
    IF v_gift <> (p_rcpt_notif IS NOT NULL) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_buy: a gift has two notifications';
    END IF;

    -- 1. A gift: the debit, then the recipient (bound to an active account).
    IF v_gift THEN
        CALL vas_debit(p_subscriber, p_amount, 0, p_day_key, p_month_key, v_account);
        IF v_account = 0 THEN
            SELECT 2, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
            LEAVE proc;
        END IF;
        SET v_status = (SELECT a.status FROM subscribers s JOIN accounts a ON a.id = s.account_id
                        WHERE s.im_user_id = p_rcpt);
        IF v_status IS NULL OR v_status <> 'active' THEN
            SELECT IF(v_status IS NULL, 4, 5), 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
            LEAVE proc;
        END IF;
    END IF;

    -- 2. The entitlement (store_buy.c's STORE_ENTITLE_SQL): granted, re-granted or a pass
    --    extended.
    INSERT INTO entitlements (owner_user_id, item_id, kind, status, granted_at, expires_at,
                              updated_at)
    VALUES (p_rcpt, p_item, p_ent_kind, 'active', p_now,
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

    -- 3. A purchase for oneself: the debit.
    IF NOT v_gift THEN
        CALL vas_debit(p_subscriber, p_amount, 0, p_day_key, p_month_key, v_account);
        IF v_account = 0 THEN
            SELECT 2, 0, v_ent, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
            LEAVE proc;
        END IF;
    END IF;
    IF v_account <> p_account THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_buy: not the subscriber''s account';
    END IF;

    -- 4. The row, only at the catalog generation the item was read at (STORE_PURCHASE_SQL); a
    --    pass's period is [end - days, end) of the entitlement as it now is.
    INSERT INTO purchases (buyer_user_id, subscriber_id, recipient_user_id, item_id, format,
                           amount, currency, status, entitlement_id, balance_after,
                           period_start, period_end, created_at)
    SELECT p_buyer, p_subscriber, p_rcpt, p_item, p_format, p_amount, p_currency, 'completed',
           v_ent, @vas_bal, IF(p_pass, v_expires - INTERVAL p_days DAY, NULL),
           IF(p_pass, v_expires, NULL), p_now
    FROM catalog_meta WHERE id = 1 AND generation = p_gen;
    IF ROW_COUNT() <> 1 THEN
        SELECT 3, 0, v_ent, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
        LEAVE proc;
    END IF;
    SET v_pid = LAST_INSERT_ID();

    -- 5. The notifications (the buyer's; the recipient's for a gift), the webhook event, the
    --    charge.
    SET v_payload = CONCAT('{"purchase_id":', v_pid, ',"entitlement_id":', v_ent, ',',
                           p_payload);
    IF v_gift THEN
        INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
        VALUES (p_buyer_notif, p_buyer, 'purchase.completed', v_payload, UTC_TIMESTAMP(3)),
               (p_rcpt_notif, p_rcpt, 'gift.received', v_payload, UTC_TIMESTAMP(3));
    ELSE
        INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
        VALUES (p_buyer_notif, p_buyer, 'purchase.completed', v_payload, UTC_TIMESTAMP(3));
    END IF;
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

DROP PROCEDURE IF EXISTS vas_purchase //

-- 029's procedure, same parameters, for a binary older than this migration (a rolling
-- upgrade): a purchase for oneself through vas_buy, so its debit is vas_debit's too.
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
BEGIN
    CALL vas_buy(p_buyer, p_buyer, p_ent_kind, p_now, p_pass, p_days, p_day_key, p_month_key,
                 p_format, p_gen, p_buyer_notif, NULL, p_event_id, p_payload, p_kind,
                 p_subscriber, p_amount, p_currency, p_provider, p_pshare, p_cshare, p_bucket,
                 p_corrects, p_hold, p_reference, p_actor, p_reason, p_cdr_id, p_cdr_kind,
                 p_cdr_sign, p_purch, p_lobby_start, p_item, p_sku, p_day, p_account,
                 p_sub_amount, p_acct1, p_leg1, p_acct2, p_leg2);
END //

DELIMITER ;
