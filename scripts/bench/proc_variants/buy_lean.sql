-- bx_buy_lean: a variant of vas_buy (migration 032) for scripts/bench/proc_cost.py, bench
-- stacks only (issue 8, eighth session; README "Performance"). It was migration 035's vas_buy2
-- while measured through the gateway: 0.915 of vas_buy's mariadbd CPU inside the server
-- (median of 30 adjacent pairs), a wash through the gateway, so it did not land. Against
-- vas_buy:
--   1. the ledger post is written inline instead of a nested CALL of vas_ledger_post (28
--      parameters copied into a second frame), with its checks (legs sum to zero, the
--      counter-accounts exist) and two more (the subscriber's leg is the amount, the shares
--      add up to it);
--   2. the entitlement's buy_attempts and expires_at come back through user variables that
--      its INSERT ... ON DUPLICATE KEY UPDATE assigns, instead of a SELECT of the row just
--      written (a fresh row's values are the ones the INSERT was given: buy_attempts 0);
--   3. the CDR takes the payer's msisdn as a parameter (after the payload: 42 parameters)
--      instead of an INSERT ... SELECT joining subscribers (msisdn and im_user_id are never
--      updated);
--   4. the provider's webhook URL is read by the purchase row's INSERT ... SELECT (the same
--      locking read of the provider's row), and the event is written only when there is one.
-- The debit still calls vas_debit. Same result row and refusal codes as vas_buy.
DELIMITER //

CREATE OR REPLACE PROCEDURE bx_buy_lean(
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
    IN p_msisdn      VARCHAR(32),   -- the payer's (the CDR's)
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
    DECLARE v_gift INT DEFAULT p_rcpt <> p_buyer;
    DECLARE v_expires DATETIME(3);
    DECLARE v_status VARCHAR(16);
    DECLARE v_payload, v_ref MEDIUMTEXT;

    IF p_amount <= 0 OR p_item IS NULL OR p_msisdn IS NULL THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_lean: not a paid item';
    END IF;
    IF v_gift <> (p_rcpt_notif IS NOT NULL) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_lean: a gift has two notifications';
    END IF;
    -- vas_ledger_post's checks, before anything is written.
    IF p_sub_amount + p_leg1 + p_leg2 <> 0 OR p_acct1 = 0 OR (p_acct2 = 0 AND p_leg2 <> 0)
       OR p_sub_amount <> -p_amount OR p_pshare + p_cshare <> p_amount THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_lean: legs do not balance';
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

    -- 2. The entitlement (as in vas_buy): granted, re-granted or a pass extended. Its
    --    ON DUPLICATE KEY UPDATE assigns left to right, so @vas_att and @vas_exp get the row's
    --    new buy_attempts and expires_at; a fresh row keeps the values set before.
    SET @vas_att = 0, @vas_exp = IF(p_pass, p_now + INTERVAL p_days DAY, NULL);
    INSERT INTO entitlements (owner_user_id, item_id, kind, status, granted_at, expires_at,
                              updated_at)
    VALUES (p_rcpt, p_item, p_ent_kind, 'active', p_now, @vas_exp, p_now)
    ON DUPLICATE KEY UPDATE
        id = LAST_INSERT_ID(id),
        buy_attempts = (@vas_att := IF(status = 'active' AND kind = 'permanent',
                                       buy_attempts + 1, 0)),
        granted_at = IF(status = 'active', granted_at, VALUES(granted_at)),
        expires_at = (@vas_exp := IF(kind = 'pass',
                                     IF(status = 'active' AND expires_at > VALUES(granted_at),
                                        expires_at, VALUES(granted_at))
                                     + INTERVAL p_days DAY, NULL)),
        status = 'active',
        updated_at = VALUES(updated_at);
    SET v_ent = LAST_INSERT_ID(), v_expires = @vas_exp;
    IF @vas_att > 0 THEN
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
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_lean: not the subscriber''s account';
    END IF;

    -- 4. The row, only at the catalog generation the item was read at (a locking read of
    --    catalog_meta: a catalog change waits for this purchase's commit); the same read
    --    locks the provider's row and says whether it has a webhook URL (@vas_hook).
    SET @vas_hook = 0;
    INSERT INTO purchases (buyer_user_id, subscriber_id, recipient_user_id, item_id, format,
                           amount, currency, status, entitlement_id, balance_after,
                           period_start, period_end, created_at)
    SELECT p_buyer, p_subscriber, p_rcpt, p_item, p_format, p_amount, p_currency, 'completed',
           v_ent, @vas_bal, IF(p_pass, v_expires - INTERVAL p_days DAY, NULL),
           IF(p_pass, v_expires, NULL), p_now
    FROM catalog_meta m LEFT JOIN providers p ON p.id = p_provider
    WHERE m.id = 1 AND m.generation = p_gen
      AND (@vas_hook := COALESCE(p.webhook_url, '') <> '') IS NOT NULL;
    IF ROW_COUNT() <> 1 THEN
        SELECT 3, 0, v_ent, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
        LEAVE proc;
    END IF;
    SET v_pid = LAST_INSERT_ID(), v_ref = CONCAT('purchase:', v_pid),
        v_payload = CONCAT('{"purchase_id":', v_pid, ',"entitlement_id":', v_ent, ',',
                           p_payload);

    -- 5. The notifications (the buyer's; the recipient's for a gift), the webhook event.
    IF v_gift THEN
        INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
        VALUES (p_buyer_notif, p_buyer, 'purchase.completed', v_payload, UTC_TIMESTAMP(3)),
               (p_rcpt_notif, p_rcpt, 'gift.received', v_payload, UTC_TIMESTAMP(3));
    ELSE
        INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
        VALUES (p_buyer_notif, p_buyer, 'purchase.completed', v_payload, UTC_TIMESTAMP(3));
    END IF;
    IF @vas_hook THEN
        INSERT INTO webhook_events (event_id, provider_id, type, payload, next_attempt_at,
                                    created_at)
        VALUES (p_event_id, p_provider, 'purchase.completed', v_payload, UTC_TIMESTAMP(3),
                UTC_TIMESTAMP(3));
    END IF;

    -- 6. The charge's ledger post (vas_ledger_post's statements): the txn, its CDR, the
    --    postings, the counter-accounts last (their row locks are held the shortest time).
    INSERT INTO ledger_txns (kind, subscriber_id, amount, currency, provider_id, provider_share,
                             carrier_share, bucket, corrects_txn_id, hold_id, reference, actor,
                             reason, created_at)
    VALUES (p_kind, p_subscriber, p_amount, p_currency, p_provider, p_pshare, p_cshare, p_bucket,
            p_corrects, p_hold, v_ref, p_actor, p_reason, UTC_TIMESTAMP(3));
    SET v_txn = LAST_INSERT_ID();
    INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn, im_user_id, purchase_id,
                      lobby_start_id, item_id, sku, provider_id, amount, currency,
                      provider_share, carrier_share, business_day, reference, created_at)
    VALUES (p_cdr_id, p_cdr_kind, v_txn, p_subscriber, p_msisdn, p_buyer, v_pid, p_lobby_start,
            p_item, p_sku, p_provider, p_cdr_sign * p_amount, p_currency, p_cdr_sign * p_pshare,
            p_cdr_sign * p_cshare, p_day, v_ref, UTC_TIMESTAMP(3));
    IF p_acct2 <> 0 THEN
        INSERT INTO postings (txn_id, account_id, amount, created_at)
        VALUES (v_txn, v_account, p_sub_amount, UTC_TIMESTAMP(3)),
               (v_txn, p_acct1, p_leg1, UTC_TIMESTAMP(3)),
               (v_txn, p_acct2, p_leg2, UTC_TIMESTAMP(3));
    ELSE
        INSERT INTO postings (txn_id, account_id, amount, created_at)
        VALUES (v_txn, v_account, p_sub_amount, UTC_TIMESTAMP(3)),
               (v_txn, p_acct1, p_leg1, UTC_TIMESTAMP(3));
    END IF;
    UPDATE accounts
    SET balance = balance + IF(id = p_acct1, p_leg1, p_leg2), updated_at = UTC_TIMESTAMP(3)
    WHERE id IN (p_acct1, p_acct2);
    IF ROW_COUNT() <> 1 + (p_acct2 <> 0) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_lean: ledger accounts missing';
    END IF;
    UPDATE purchases SET charge_txn_id = v_txn WHERE id = v_pid;

    SELECT 0, v_pid, v_ent,
           COALESCE(CAST(ROUND(UNIX_TIMESTAMP(v_expires) * 1000) AS SIGNED), 0), v_txn,
           @vas_bal, @vas_plan, COALESCE(@vas_cd, -1), @vas_sd, COALESCE(@vas_cm, -1),
           @vas_sm;
END //

DELIMITER ;
