-- 028_money_procs: the writes of a money movement that never refuse for a business reason, as
-- stored procedures called as ONE prepared CALL each (billing/bill_ledger.c, store/store_buy.c):
-- every statement a client sends costs a round trip, and on this kind of machine each round trip
-- costs tens of microseconds of CPU on both sides (two context switches, a wake-up, a poll) —
-- more than most of these statements cost to run.
--
-- The C code stays the owner of every rule: it computes every value (shares, legs, the bucketed
-- counter-account ids, the CDR's id and sign, the outbox ids and payloads) and asserts the legs
-- sum to zero before the CALL; the procedures only write what they are given, in the order the C
-- code used to, and check what a statement alone can check (affected rows; the legs again).
--
-- The subscriber's account was debited or credited just before, by the UPDATE that leaves
-- @vas_bal, @vas_plan, @vas_cd, @vas_sd, @vas_cm and @vas_sm (bill_debit, bill_credit); the
-- result row returns them with the new ledger txn id, as BILL_TXN_SQL's RETURNING did.
--
-- Re-runnable: DROP PROCEDURE IF EXISTS + CREATE. Bodies are delimited with DELIMITER lines
-- (gw_migrate.c). A change of a procedure is a new migration that drops and re-creates it.
DELIMITER //

DROP PROCEDURE IF EXISTS vas_ledger_post //

-- The ledger txn, its CDR (p_cdr_id NULL: none, top-ups), its postings (the subscriber's leg and
-- one or two counter legs: p_acct2 = 0 for one) and the counter-accounts' balances.
CREATE PROCEDURE vas_ledger_post(
    IN  p_kind        VARCHAR(16),
    IN  p_subscriber  BIGINT UNSIGNED,
    IN  p_amount      BIGINT,
    IN  p_currency    CHAR(3),
    IN  p_provider    BIGINT UNSIGNED,
    IN  p_pshare      BIGINT,
    IN  p_cshare      BIGINT,
    IN  p_bucket      SMALLINT UNSIGNED,
    IN  p_corrects    BIGINT UNSIGNED,
    IN  p_hold        BIGINT UNSIGNED,
    IN  p_reference   VARCHAR(128),
    IN  p_actor       VARCHAR(80),
    IN  p_reason      VARCHAR(255),
    IN  p_cdr_id      CHAR(32),
    IN  p_cdr_kind    VARCHAR(16),
    IN  p_cdr_sign    BIGINT,
    IN  p_purchase    BIGINT UNSIGNED,
    IN  p_lobby_start BIGINT UNSIGNED,
    IN  p_item        BIGINT UNSIGNED,
    IN  p_sku         VARCHAR(64),
    IN  p_day         VARCHAR(10),
    IN  p_account     BIGINT UNSIGNED,
    IN  p_sub_amount  BIGINT,
    IN  p_acct1       BIGINT UNSIGNED,
    IN  p_leg1        BIGINT,
    IN  p_acct2       BIGINT UNSIGNED,
    IN  p_leg2        BIGINT,
    OUT o_txn         BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    IF p_sub_amount + p_leg1 + p_leg2 <> 0 OR p_acct1 = 0 OR (p_acct2 = 0 AND p_leg2 <> 0) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_ledger_post: legs do not balance';
    END IF;

    INSERT INTO ledger_txns (kind, subscriber_id, amount, currency, provider_id, provider_share,
                             carrier_share, bucket, corrects_txn_id, hold_id, reference, actor,
                             reason, created_at)
    VALUES (p_kind, p_subscriber, p_amount, p_currency, p_provider, p_pshare, p_cshare, p_bucket,
            p_corrects, p_hold, p_reference, p_actor, p_reason, UTC_TIMESTAMP(3));
    SET o_txn = LAST_INSERT_ID();

    IF p_cdr_id IS NOT NULL THEN
        INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn, im_user_id, purchase_id,
                          lobby_start_id, item_id, sku, provider_id, amount, currency,
                          provider_share, carrier_share, business_day, reference, created_at)
        SELECT p_cdr_id, p_cdr_kind, o_txn, s.id, s.msisdn, s.im_user_id, p_purchase,
               p_lobby_start, p_item, p_sku, p_provider, p_cdr_sign * p_amount, p_currency,
               p_cdr_sign * p_pshare, p_cdr_sign * p_cshare, p_day, p_reference,
               UTC_TIMESTAMP(3)
        FROM subscribers s WHERE s.id = p_subscriber;
        IF ROW_COUNT() <> 1 THEN
            SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_ledger_post: no such subscriber';
        END IF;
    END IF;

    IF p_acct2 <> 0 THEN
        INSERT INTO postings (txn_id, account_id, amount, created_at)
        VALUES (o_txn, p_account, p_sub_amount, UTC_TIMESTAMP(3)),
               (o_txn, p_acct1, p_leg1, UTC_TIMESTAMP(3)),
               (o_txn, p_acct2, p_leg2, UTC_TIMESTAMP(3));
    ELSE
        INSERT INTO postings (txn_id, account_id, amount, created_at)
        VALUES (o_txn, p_account, p_sub_amount, UTC_TIMESTAMP(3)),
               (o_txn, p_acct1, p_leg1, UTC_TIMESTAMP(3));
    END IF;

    -- Counter-accounts last: their row locks are held the shortest time.
    UPDATE accounts
    SET balance = balance + IF(id = p_acct1, p_leg1, p_leg2), updated_at = UTC_TIMESTAMP(3)
    WHERE id IN (p_acct1, p_acct2);
    IF ROW_COUNT() <> 1 + (p_acct2 <> 0) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_ledger_post: ledger accounts missing';
    END IF;
END //

DROP PROCEDURE IF EXISTS vas_bill_post //

-- A movement's ledger post (top-ups, refunds, lobby captures): one row, BILL_TXN_SQL's columns.
CREATE PROCEDURE vas_bill_post(
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
    IN p_purchase    BIGINT UNSIGNED,
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
    DECLARE v_txn BIGINT UNSIGNED;

    CALL vas_ledger_post(p_kind, p_subscriber, p_amount, p_currency, p_provider, p_pshare,
                         p_cshare, p_bucket, p_corrects, p_hold, p_reference, p_actor, p_reason,
                         p_cdr_id, p_cdr_kind, p_cdr_sign, p_purchase, p_lobby_start, p_item,
                         p_sku, p_day, p_account, p_sub_amount, p_acct1, p_leg1, p_acct2, p_leg2,
                         v_txn);
    SELECT v_txn, @vas_bal, @vas_plan, COALESCE(@vas_cd, -1), @vas_sd, COALESCE(@vas_cm, -1),
           @vas_sm;
END //

DROP PROCEDURE IF EXISTS vas_purchase_charge //

-- A paid purchase after its row: the buyer's notification (and the recipient's for a gift: its
-- id NULL otherwise), the provider's webhook event (only for a provider with a URL, read with a
-- locking read as gw_outbox_webhook_add does), the charge's ledger post, and the charge's id and
-- the balance it left on the purchase row. One row: BILL_TXN_SQL's columns.
CREATE PROCEDURE vas_purchase_charge(
    IN p_purchase    BIGINT UNSIGNED,
    IN p_buyer       VARCHAR(64),
    IN p_buyer_notif CHAR(32),
    IN p_rcpt        VARCHAR(64),
    IN p_rcpt_notif  CHAR(32),
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
    DECLARE v_txn BIGINT UNSIGNED;

    INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
    VALUES (p_buyer_notif, p_buyer, 'purchase.completed', p_payload, UTC_TIMESTAMP(3));
    IF p_rcpt_notif IS NOT NULL THEN
        INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
        VALUES (p_rcpt_notif, p_rcpt, 'gift.received', p_payload, UTC_TIMESTAMP(3));
    END IF;
    INSERT INTO webhook_events (event_id, provider_id, type, payload, next_attempt_at, created_at)
    SELECT p_event_id, p.id, 'purchase.completed', p_payload, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    FROM providers p
    WHERE p.id = p_provider AND p.webhook_url IS NOT NULL AND p.webhook_url <> '';

    CALL vas_ledger_post(p_kind, p_subscriber, p_amount, p_currency, p_provider, p_pshare,
                         p_cshare, p_bucket, p_corrects, p_hold, p_reference, p_actor, p_reason,
                         p_cdr_id, p_cdr_kind, p_cdr_sign, p_purch, p_lobby_start, p_item, p_sku,
                         p_day, p_account, p_sub_amount, p_acct1, p_leg1, p_acct2, p_leg2, v_txn);

    UPDATE purchases SET charge_txn_id = v_txn, balance_after = @vas_bal WHERE id = p_purchase;
    IF ROW_COUNT() <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_purchase_charge: no such purchase';
    END IF;
    SELECT v_txn, @vas_bal, @vas_plan, COALESCE(@vas_cd, -1), @vas_sd, COALESCE(@vas_cm, -1),
           @vas_sm;
END //

DELIMITER ;
