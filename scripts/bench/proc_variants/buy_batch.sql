-- bx_buy_batch, bx_buy_batch_t: N purchases for oneself in ONE call, set-based (issue 8,
-- "batching purchases, measured"; docs/performance.md), for scripts/bench/batch_cost.py
-- (variants bN and tN), bench stacks only. Generated from a template (the JSON_TABLE column
-- lists are written out in every statement). Not a
-- migration and not shippable as is: the happy path only (every purchase in the batch goes
-- through; any refusal SIGNALs and the caller rolls the whole batch back), to measure what
-- group commit would cost mariadbd per purchase against N calls of vas_buy (migration 032).
--
-- p_json is a JSON array of the N purchases, one object each with what vas_buy takes as
-- parameters (the buyer, subscriber, account, the item, the amounts, the billing legs, the ids
-- C makes), SORTED BY ACCOUNT ID by the caller: every statement below visits the buyers'
-- accounts in id order, so two batches lock in the same order. Distinct buyers only (checked).
-- The same rows as N calls of vas_buy (entitlement granted or pass extended, the debit with
-- every limit of vas_debit, purchase row, outbox row + its outbox_pending trigger row, webhook
-- event when the provider has a URL, ledger txn, CDR + its closed-day trigger, 2-3 postings,
-- counter-account balances, charge_txn_id), one multi-row statement per table:
--   0. the batch's checks (legs balance, positive amounts, distinct accounts, counter-accounts
--      counted for step 12's check): one SELECT over the JSON;
--   1. entitlements: one INSERT ... SELECT ... ON DUPLICATE KEY UPDATE (vas_buy's, a pass's
--      days taken from the inserted row: expires - granted);
--   2. the debits' locking read in id order (SELECT ... FOR UPDATE, every limit of vas_debit
--      evaluated per row): MariaDB 10.11 has no UPDATE ... RETURNING and a multi-row UPDATE's
--      ROW_COUNT() does not say WHICH row missed, so a real batch reads first and decides
--      (here: all pass, or SIGNAL);
--   3. the debits: one UPDATE accounts JOIN JSON_TABLE with vas_debit's WHERE clause (spent
--      counters before their keys: correct whether the multi-table UPDATE assigns left to right
--      or from the row as read);
--   4. purchases: one INSERT ... SELECT joining the entitlement (buy_attempts = 0), the account
--      (balance_after) and catalog_meta at the generation read (the locking read of vas_buy);
--   5. the ids: innodb_autoinc_lock_mode is 2 here (interleaved), so a multi-row INSERT's ids
--      need not be consecutive; each purchase is found by its entitlement (whose row lock this
--      transaction holds) and id >= the statement's first id: one SELECT into a JSON map
--      (small values only: JSON_ARRAYAGG's temporary table goes to disk, Aria, as soon as a
--      value may exceed 512 characters; so the later steps join JSON_TABLE(p_json) with
--      JSON_TABLE(map) on the ordinal);
--   6. outbox rows (payload with the purchase's and entitlement's ids), 7. webhook events;
--   8. ledger txns, 9. their ids found by (provider_id, created_at) index + reference, the map
--      rebuilt with them (all N txns share that index key: N x N index entries read; a real
--      design would give the txn a unique key it can be found by, a migration); 10. CDRs (msisdn by join of subscribers, as vas_ledger_post);
--   11. postings (2 or 3 legs per txn); 12. counter-accounts: one UPDATE by the legs summed
--      per account (several purchases of a batch can share a bucket), in id order;
--   13. purchases.charge_txn_id; 14. one result row per purchase (vas_buy's columns).
DELIMITER //

CREATE OR REPLACE PROCEDURE bx_buy_batch(
    IN p_json      MEDIUMTEXT,
    IN p_now       DATETIME(3),
    IN p_day_key   INT,
    IN p_month_key INT,
    IN p_gen       BIGINT,
    IN p_day       VARCHAR(10))
    MODIFIES SQL DATA
BEGIN
    DECLARE v_n, v_bad, v_nacct, v_nctr, v_rc INT DEFAULT 0;
    DECLARE v_first BIGINT UNSIGNED DEFAULT 0;
    DECLARE v_ts DATETIME(3) DEFAULT UTC_TIMESTAMP(3);
    DECLARE v_map MEDIUMTEXT;

    -- 0. The checks (vas_buy's and vas_ledger_post's, per purchase), distinct accounts, and
    --    the number of distinct counter-accounts for step 12.
    SELECT COUNT(*), SUM(j.am <= 0 OR j.it IS NULL OR j.sa + j.l1 + j.l2 <> 0 OR j.a1 = 0
                         OR (j.a2 = 0 AND j.l2 <> 0) OR j.sa <> -j.am
                         OR j.psh + j.csh <> j.am),
           COUNT(DISTINCT j.acct),
           (SELECT COUNT(DISTINCT c.a) FROM
              (SELECT j.a1 AS a FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, a1 BIGINT UNSIGNED PATH '$.a1')) j UNION SELECT j.a2 FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, a2 BIGINT UNSIGNED PATH '$.a2')) j WHERE j.a2 <> 0) c)
    INTO v_n, v_bad, v_nacct, v_nctr
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, acct BIGINT UNSIGNED PATH '$.acct', a1 BIGINT UNSIGNED PATH '$.a1', l1 BIGINT PATH '$.l1', a2 BIGINT UNSIGNED PATH '$.a2', l2 BIGINT PATH '$.l2', it BIGINT UNSIGNED PATH '$.it', am BIGINT PATH '$.am', sa BIGINT PATH '$.sa', psh BIGINT PATH '$.psh', csh BIGINT PATH '$.csh')) j;
    IF v_n = 0 OR v_bad <> 0 OR v_nacct <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: bad batch';
    END IF;

    -- 1. Entitlements: granted, re-granted or a pass extended (vas_buy's step 2).
    INSERT INTO entitlements (owner_user_id, item_id, kind, status, granted_at, expires_at,
                              updated_at)
    SELECT j.im, j.it, j.kd, 'active', p_now, IF(j.ps, p_now + INTERVAL j.dy DAY, NULL), p_now
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, im VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.im', it BIGINT UNSIGNED PATH '$.it', kd VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.kd', ps INT PATH '$.ps', dy INT PATH '$.dy')) j
    ON DUPLICATE KEY UPDATE
        buy_attempts = IF(status = 'active' AND kind = 'permanent', buy_attempts + 1, 0),
        granted_at = IF(status = 'active', granted_at, VALUES(granted_at)),
        expires_at = IF(kind = 'pass',
                        IF(status = 'active' AND expires_at > VALUES(granted_at), expires_at,
                           VALUES(granted_at))
                        + INTERVAL TIMESTAMPDIFF(DAY, VALUES(granted_at), VALUES(expires_at))
                          DAY, NULL),
        status = 'active',
        updated_at = VALUES(updated_at);

    -- 2. The debits' locking read, in account id order, every limit of vas_debit.
    SELECT COUNT(*) INTO v_rc
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, sid BIGINT UNSIGNED PATH '$.sid', acct BIGINT UNSIGNED PATH '$.acct', am BIGINT PATH '$.am')) j JOIN accounts a ON a.id = j.acct
    WHERE a.kind = 'subscriber' AND a.owner_id = j.sid AND a.bucket = 0 AND a.status = 'active'
      AND a.balance - a.held - j.am >= -a.credit_limit
      AND (a.cap_daily IS NULL OR IF(a.spent_day_key = p_day_key, a.spent_day, 0) + j.am
                                  <= a.cap_daily)
      AND (a.cap_monthly IS NULL OR IF(a.spent_month_key = p_month_key, a.spent_month, 0) + j.am
                                    <= a.cap_monthly)
    FOR UPDATE;
    IF v_rc <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: a debit refused (not measured)';
    END IF;

    -- 3. The debits (vas_debit's SET and WHERE, p_hold = 0).
    UPDATE JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, sid BIGINT UNSIGNED PATH '$.sid', acct BIGINT UNSIGNED PATH '$.acct', am BIGINT PATH '$.am')) j JOIN accounts a ON a.id = j.acct
    SET a.spent_day = IF(a.spent_day_key = p_day_key, a.spent_day, 0) + j.am,
        a.spent_day_key = p_day_key,
        a.spent_month = IF(a.spent_month_key = p_month_key, a.spent_month, 0) + j.am,
        a.spent_month_key = p_month_key,
        a.balance = a.balance - j.am,
        a.updated_at = UTC_TIMESTAMP(3)
    WHERE a.kind = 'subscriber' AND a.owner_id = j.sid AND a.bucket = 0 AND a.status = 'active'
      AND a.balance - a.held - j.am >= -a.credit_limit
      AND (a.cap_daily IS NULL OR IF(a.spent_day_key = p_day_key, a.spent_day, 0) + j.am
                                  <= a.cap_daily)
      AND (a.cap_monthly IS NULL OR IF(a.spent_month_key = p_month_key, a.spent_month, 0) + j.am
                                    <= a.cap_monthly);
    IF ROW_COUNT() <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: a debit matched no row';
    END IF;

    -- 4. The purchase rows, only at the catalog generation read, only where the entitlement
    --    was not already owned (buy_attempts 0), with the balance after the debit.
    INSERT INTO purchases (buyer_user_id, subscriber_id, recipient_user_id, item_id, format,
                           amount, currency, status, entitlement_id, balance_after,
                           period_start, period_end, created_at)
    SELECT j.im, j.sid, j.im, j.it, j.fmt, j.am, j.cu, 'completed', e.id, a.balance,
           IF(j.ps, e.expires_at - INTERVAL j.dy DAY, NULL), IF(j.ps, e.expires_at, NULL), p_now
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, im VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.im', sid BIGINT UNSIGNED PATH '$.sid', acct BIGINT UNSIGNED PATH '$.acct', it BIGINT UNSIGNED PATH '$.it', ps INT PATH '$.ps', dy INT PATH '$.dy', am BIGINT PATH '$.am', cu CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.cu', fmt VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.fmt')) j
    JOIN entitlements e ON e.owner_user_id = j.im AND e.item_id = j.it
    JOIN accounts a ON a.id = j.acct
    JOIN catalog_meta m ON m.id = 1 AND m.generation = p_gen
    WHERE e.buy_attempts = 0;
    SET v_rc = ROW_COUNT(), v_first = LAST_INSERT_ID();
    IF v_rc <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: owned or catalog moved';
    END IF;

    -- 5. The purchases' and entitlements' ids, by the entitlement's key, into the batch's
    --    map (small values only: a string over 512 characters would put JSON_ARRAYAGG's
    --    temporary table on disk).
    SELECT JSON_ARRAYAGG(JSON_OBJECT('jo', j.o, 'p', p.id, 'e', e.id, 'x', e.expires_at))
    INTO v_map
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, im VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.im', it BIGINT UNSIGNED PATH '$.it')) j
    JOIN entitlements e ON e.owner_user_id = j.im AND e.item_id = j.it
    JOIN purchases p ON p.entitlement_id = e.id AND p.id >= v_first;

    -- 6. The buyers' notifications; 7. the providers' webhook events.
    INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
    SELECT j.n1, j.im, 'purchase.completed',
           CONCAT('{"purchase_id":', m.p, ',"entitlement_id":', m.e, ',', j.pl),
           UTC_TIMESTAMP(3)
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, im VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.im', n1 CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.n1', pl VARCHAR(1000) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.pl')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', e BIGINT UNSIGNED PATH '$.e', jo INT PATH '$.jo')) m ON m.jo = j.o;
    INSERT INTO webhook_events (event_id, provider_id, type, payload, next_attempt_at,
                                created_at)
    SELECT j.ev, p.id, 'purchase.completed',
           CONCAT('{"purchase_id":', m.p, ',"entitlement_id":', m.e, ',', j.pl),
           UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, pv BIGINT UNSIGNED PATH '$.pv', ev CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.ev', pl VARCHAR(1000) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.pl')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', e BIGINT UNSIGNED PATH '$.e', jo INT PATH '$.jo')) m ON m.jo = j.o
    JOIN providers p ON p.id = j.pv
    WHERE p.webhook_url IS NOT NULL AND p.webhook_url <> '';

    -- 8. The charges' ledger txns; 9. their ids (provider and v_ts by index, then the
    --    reference) into the map.
    INSERT INTO ledger_txns (kind, subscriber_id, amount, currency, provider_id, provider_share,
                             carrier_share, bucket, corrects_txn_id, hold_id, reference, actor,
                             reason, created_at)
    SELECT 'charge', j.sid, j.am, j.cu, j.pv, j.psh, j.csh, j.bk, NULL, NULL,
           CONCAT('purchase:', m.p), j.ac, 'purchase', v_ts
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, sid BIGINT UNSIGNED PATH '$.sid', bk SMALLINT UNSIGNED PATH '$.bk', am BIGINT PATH '$.am', cu CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.cu', pv BIGINT UNSIGNED PATH '$.pv', psh BIGINT PATH '$.psh', csh BIGINT PATH '$.csh', ac VARCHAR(80) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.ac')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', jo INT PATH '$.jo')) m ON m.jo = j.o;
    SELECT JSON_ARRAYAGG(JSON_OBJECT('jo', m.jo, 'p', m.p, 'e', m.e, 'x', m.x, 't', t.id))
    INTO v_map
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, pv BIGINT UNSIGNED PATH '$.pv')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', e BIGINT UNSIGNED PATH '$.e', x DATETIME(3) PATH '$.x', jo INT PATH '$.jo')) m ON m.jo = j.o
    JOIN ledger_txns t ON t.provider_id = j.pv AND t.created_at = v_ts
                      AND t.reference = CONCAT('purchase:', m.p);
    IF JSON_LENGTH(v_map) <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: txn ids';
    END IF;

    -- 10. The CDRs (vas_ledger_post's INSERT ... SELECT of subscribers).
    INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn, im_user_id, purchase_id,
                      lobby_start_id, item_id, sku, provider_id, amount, currency,
                      provider_share, carrier_share, business_day, reference, created_at)
    SELECT j.cdr, 'charge', m.t, s.id, s.msisdn, s.im_user_id, m.p, NULL, j.it, j.sku, j.pv,
           j.am, j.cu, j.psh, j.csh, p_day, CONCAT('purchase:', m.p), UTC_TIMESTAMP(3)
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, sid BIGINT UNSIGNED PATH '$.sid', it BIGINT UNSIGNED PATH '$.it', am BIGINT PATH '$.am', cu CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.cu', pv BIGINT UNSIGNED PATH '$.pv', psh BIGINT PATH '$.psh', csh BIGINT PATH '$.csh', sku VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.sku', cdr CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.cdr')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', t BIGINT UNSIGNED PATH '$.t', jo INT PATH '$.jo')) m ON m.jo = j.o
    JOIN subscribers s ON s.id = j.sid;
    IF ROW_COUNT() <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: no such subscriber';
    END IF;

    -- 11. The postings: the buyer's leg, the first counter-leg, the second when there is one.
    INSERT INTO postings (txn_id, account_id, amount, created_at)
    SELECT m.t, CASE l.leg WHEN 0 THEN j.acct WHEN 1 THEN j.a1 ELSE j.a2 END,
           CASE l.leg WHEN 0 THEN j.sa WHEN 1 THEN j.l1 ELSE j.l2 END, UTC_TIMESTAMP(3)
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, acct BIGINT UNSIGNED PATH '$.acct', a1 BIGINT UNSIGNED PATH '$.a1', l1 BIGINT PATH '$.l1', a2 BIGINT UNSIGNED PATH '$.a2', l2 BIGINT PATH '$.l2', sa BIGINT PATH '$.sa')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, t BIGINT UNSIGNED PATH '$.t', jo INT PATH '$.jo')) m ON m.jo = j.o
    JOIN JSON_TABLE('[0, 1, 2]', '$[*]' COLUMNS (leg INT PATH '$')) l
      ON l.leg < 2 OR j.a2 <> 0;

    -- 12. The counter-accounts, each once with its legs summed, in id order (GROUP BY).
    UPDATE accounts a
    JOIN (SELECT c.a, SUM(c.l) AS s FROM
            (SELECT j.a1 AS a, j.l1 AS l FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, a1 BIGINT UNSIGNED PATH '$.a1', l1 BIGINT PATH '$.l1')) j
             UNION ALL SELECT j.a2, j.l2 FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, a2 BIGINT UNSIGNED PATH '$.a2', l2 BIGINT PATH '$.l2')) j WHERE j.a2 <> 0) c
          GROUP BY c.a) d ON a.id = d.a
    SET a.balance = a.balance + d.s, a.updated_at = UTC_TIMESTAMP(3);
    IF ROW_COUNT() <> v_nctr THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch: ledger accounts missing';
    END IF;

    -- 13. The purchases' charge.
    UPDATE JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', t BIGINT UNSIGNED PATH '$.t')) m JOIN purchases p ON p.id = m.p SET p.charge_txn_id = m.t;

    -- 14. One row per purchase, vas_buy's columns, in the batch's order.
    SELECT 0, m.p, m.e, COALESCE(CAST(ROUND(UNIX_TIMESTAMP(m.x) * 1000) AS SIGNED), 0), m.t,
           a.balance, a.plan, COALESCE(a.cap_daily, -1), a.spent_day,
           COALESCE(a.cap_monthly, -1), a.spent_month
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, acct BIGINT UNSIGNED PATH '$.acct')) j JOIN JSON_TABLE(v_map, '$[*]' COLUMNS (o FOR ORDINALITY, p BIGINT UNSIGNED PATH '$.p', e BIGINT UNSIGNED PATH '$.e', x DATETIME(3) PATH '$.x', t BIGINT UNSIGNED PATH '$.t', jo INT PATH '$.jo')) m ON m.jo = j.o JOIN accounts a ON a.id = j.acct
    ORDER BY j.o;
END //

-- bx_buy_batch_t: the same batch, the JSON parsed ONCE into a temporary table of the
-- connection (bx_batch, ENGINE=MEMORY, made by bx_batch_table() once per connection, as a
-- batching worker would at connect) that every later step reads by primary key, instead of
-- a JSON_TABLE in every statement (each one parses the whole array again). Same steps, same
-- rows; the ids land in the table's p, e, x, t columns (steps 5 and 9 become UPDATEs).
CREATE OR REPLACE PROCEDURE bx_batch_table()
    MODIFIES SQL DATA
BEGIN
    CREATE OR REPLACE TEMPORARY TABLE bx_batch (
        o INT NOT NULL,
        im VARCHAR(64) NOT NULL, sid BIGINT UNSIGNED NOT NULL, acct BIGINT UNSIGNED NOT NULL,
        bk SMALLINT UNSIGNED NOT NULL, a1 BIGINT UNSIGNED NOT NULL, l1 BIGINT NOT NULL,
        a2 BIGINT UNSIGNED NOT NULL, l2 BIGINT NOT NULL, it BIGINT UNSIGNED, kd VARCHAR(16),
        ps INT, dy INT, am BIGINT, sa BIGINT, cu CHAR(3), pv BIGINT UNSIGNED, psh BIGINT,
        csh BIGINT, sku VARCHAR(64), fmt VARCHAR(16), n1 CHAR(32), ev CHAR(32), cdr CHAR(32),
        pl VARCHAR(1000), ac VARCHAR(80),
        p BIGINT UNSIGNED, e BIGINT UNSIGNED, x DATETIME(3), t BIGINT UNSIGNED,
        PRIMARY KEY (o) USING BTREE, UNIQUE KEY (acct), KEY (p)
    ) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
END //

CREATE OR REPLACE PROCEDURE bx_buy_batch_t(
    IN p_json      MEDIUMTEXT,
    IN p_now       DATETIME(3),
    IN p_day_key   INT,
    IN p_month_key INT,
    IN p_gen       BIGINT,
    IN p_day       VARCHAR(10))
    MODIFIES SQL DATA
BEGIN
    DECLARE v_n, v_bad, v_nctr, v_rc INT DEFAULT 0;
    DECLARE v_first BIGINT UNSIGNED DEFAULT 0;
    DECLARE v_ts DATETIME(3) DEFAULT UTC_TIMESTAMP(3);

    -- 0. The batch into the table (a buyer twice is a duplicate key: refused), the checks.
    DELETE FROM bx_batch;
    INSERT INTO bx_batch (o, im, sid, acct, bk, a1, l1, a2, l2, it, kd, ps, dy, am, sa, cu, pv,
                          psh, csh, sku, fmt, n1, ev, cdr, pl, ac)
    SELECT j.o, j.im, j.sid, j.acct, j.bk, j.a1, j.l1, j.a2, j.l2, j.it, j.kd, j.ps, j.dy, j.am,
           j.sa, j.cu, j.pv, j.psh, j.csh, j.sku, j.fmt, j.n1, j.ev, j.cdr, j.pl, j.ac
    FROM JSON_TABLE(p_json, '$[*]' COLUMNS (o FOR ORDINALITY, im VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.im', sid BIGINT UNSIGNED PATH '$.sid', acct BIGINT UNSIGNED PATH '$.acct', bk SMALLINT UNSIGNED PATH '$.bk', a1 BIGINT UNSIGNED PATH '$.a1', l1 BIGINT PATH '$.l1', a2 BIGINT UNSIGNED PATH '$.a2', l2 BIGINT PATH '$.l2', it BIGINT UNSIGNED PATH '$.it', kd VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.kd', ps INT PATH '$.ps', dy INT PATH '$.dy', am BIGINT PATH '$.am', sa BIGINT PATH '$.sa', cu CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.cu', pv BIGINT UNSIGNED PATH '$.pv', psh BIGINT PATH '$.psh', csh BIGINT PATH '$.csh', sku VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.sku', fmt VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.fmt', n1 CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.n1', ev CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.ev', cdr CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.cdr', pl VARCHAR(1000) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.pl', ac VARCHAR(80) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.ac')) j;
    SET v_n = ROW_COUNT();
    SELECT SUM(am <= 0 OR it IS NULL OR sa + l1 + l2 <> 0 OR a1 = 0
                         OR (a2 = 0 AND l2 <> 0) OR sa <> -am OR psh + csh <> am),
           COUNT(DISTINCT IF(l.leg = 1, a1, a2))
    INTO v_bad, v_nctr
    FROM bx_batch JOIN (SELECT 1 AS leg UNION ALL SELECT 2) l ON l.leg = 1 OR a2 <> 0;
    IF v_n = 0 OR v_bad <> 0 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: bad batch';
    END IF;

    -- 1. Entitlements.
    INSERT INTO entitlements (owner_user_id, item_id, kind, status, granted_at, expires_at,
                              updated_at)
    SELECT b.im, b.it, b.kd, 'active', p_now, IF(b.ps, p_now + INTERVAL b.dy DAY, NULL), p_now
    FROM bx_batch b
    ON DUPLICATE KEY UPDATE
        buy_attempts = IF(status = 'active' AND kind = 'permanent', buy_attempts + 1, 0),
        granted_at = IF(status = 'active', granted_at, VALUES(granted_at)),
        expires_at = IF(kind = 'pass',
                        IF(status = 'active' AND expires_at > VALUES(granted_at), expires_at,
                           VALUES(granted_at))
                        + INTERVAL TIMESTAMPDIFF(DAY, VALUES(granted_at), VALUES(expires_at))
                          DAY, NULL),
        status = 'active',
        updated_at = VALUES(updated_at);

    -- 2. The debits' locking read, every limit. In account id order: the JSON is sorted by
    --    account, and a MEMORY table emptied by DELETE without WHERE (heap_clear) is scanned
    --    in insertion order.
    SELECT COUNT(*) INTO v_rc
    FROM bx_batch b JOIN accounts a ON a.id = b.acct
    WHERE a.kind = 'subscriber' AND a.owner_id = b.sid AND a.bucket = 0 AND a.status = 'active'
      AND a.balance - a.held - b.am >= -a.credit_limit
      AND (a.cap_daily IS NULL OR IF(a.spent_day_key = p_day_key, a.spent_day, 0) + b.am
                                  <= a.cap_daily)
      AND (a.cap_monthly IS NULL OR IF(a.spent_month_key = p_month_key, a.spent_month, 0) + b.am
                                    <= a.cap_monthly)
    FOR UPDATE;
    IF v_rc <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: a debit refused';
    END IF;

    -- 3. The debits.
    UPDATE bx_batch b JOIN accounts a ON a.id = b.acct
    SET a.spent_day = IF(a.spent_day_key = p_day_key, a.spent_day, 0) + b.am,
        a.spent_day_key = p_day_key,
        a.spent_month = IF(a.spent_month_key = p_month_key, a.spent_month, 0) + b.am,
        a.spent_month_key = p_month_key,
        a.balance = a.balance - b.am,
        a.updated_at = UTC_TIMESTAMP(3)
    WHERE a.kind = 'subscriber' AND a.owner_id = b.sid AND a.bucket = 0 AND a.status = 'active'
      AND a.balance - a.held - b.am >= -a.credit_limit
      AND (a.cap_daily IS NULL OR IF(a.spent_day_key = p_day_key, a.spent_day, 0) + b.am
                                  <= a.cap_daily)
      AND (a.cap_monthly IS NULL OR IF(a.spent_month_key = p_month_key, a.spent_month, 0) + b.am
                                    <= a.cap_monthly);
    IF ROW_COUNT() <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: a debit matched no row';
    END IF;

    -- 4. The purchase rows.
    INSERT INTO purchases (buyer_user_id, subscriber_id, recipient_user_id, item_id, format,
                           amount, currency, status, entitlement_id, balance_after,
                           period_start, period_end, created_at)
    SELECT b.im, b.sid, b.im, b.it, b.fmt, b.am, b.cu, 'completed', e.id, a.balance,
           IF(b.ps, e.expires_at - INTERVAL b.dy DAY, NULL), IF(b.ps, e.expires_at, NULL), p_now
    FROM bx_batch b
    JOIN entitlements e ON e.owner_user_id = b.im AND e.item_id = b.it
    JOIN accounts a ON a.id = b.acct
    JOIN catalog_meta m ON m.id = 1 AND m.generation = p_gen
    WHERE e.buy_attempts = 0;
    SET v_rc = ROW_COUNT(), v_first = LAST_INSERT_ID();
    IF v_rc <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: owned or catalog moved';
    END IF;

    -- 5. The purchases' and entitlements' ids.
    UPDATE bx_batch b
    JOIN entitlements e ON e.owner_user_id = b.im AND e.item_id = b.it
    JOIN purchases p ON p.entitlement_id = e.id AND p.id >= v_first
    SET b.p = p.id, b.e = e.id, b.x = e.expires_at;

    -- 6. Notifications; 7. webhook events.
    INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
    SELECT b.n1, b.im, 'purchase.completed',
           CONCAT('{"purchase_id":', b.p, ',"entitlement_id":', b.e, ',', b.pl),
           UTC_TIMESTAMP(3)
    FROM bx_batch b;
    INSERT INTO webhook_events (event_id, provider_id, type, payload, next_attempt_at,
                                created_at)
    SELECT b.ev, p.id, 'purchase.completed',
           CONCAT('{"purchase_id":', b.p, ',"entitlement_id":', b.e, ',', b.pl),
           UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    FROM bx_batch b JOIN providers p ON p.id = b.pv
    WHERE p.webhook_url IS NOT NULL AND p.webhook_url <> '';

    -- 8. Ledger txns; 9. their ids.
    INSERT INTO ledger_txns (kind, subscriber_id, amount, currency, provider_id, provider_share,
                             carrier_share, bucket, corrects_txn_id, hold_id, reference, actor,
                             reason, created_at)
    SELECT 'charge', b.sid, b.am, b.cu, b.pv, b.psh, b.csh, b.bk, NULL, NULL,
           CONCAT('purchase:', b.p), b.ac, 'purchase', v_ts
    FROM bx_batch b;
    --    Each provider's txns of this batch are read once from the (provider_id, created_at)
    --    index and matched to the batch by purchase id (the MEMORY table's hash key on p):
    --    N rows read, where a lookup per purchase would read the N txns that share the key
    --    N times (bx_buy_batch's step 9, 19 % of mariadbd's samples at N = 32 under perf).
    UPDATE (SELECT DISTINCT pv FROM bx_batch) d
    STRAIGHT_JOIN ledger_txns t ON t.provider_id = d.pv AND t.created_at = v_ts
    STRAIGHT_JOIN bx_batch b ON b.p = CAST(SUBSTRING(t.reference, 10) AS UNSIGNED)
    SET b.t = t.id;
    IF ROW_COUNT() <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: txn ids';
    END IF;

    -- 10. CDRs.
    INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn, im_user_id, purchase_id,
                      lobby_start_id, item_id, sku, provider_id, amount, currency,
                      provider_share, carrier_share, business_day, reference, created_at)
    SELECT b.cdr, 'charge', b.t, s.id, s.msisdn, s.im_user_id, b.p, NULL, b.it, b.sku, b.pv,
           b.am, b.cu, b.psh, b.csh, p_day, CONCAT('purchase:', b.p), UTC_TIMESTAMP(3)
    FROM bx_batch b JOIN subscribers s ON s.id = b.sid;
    IF ROW_COUNT() <> v_n THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: no such subscriber';
    END IF;

    -- 11. Postings.
    INSERT INTO postings (txn_id, account_id, amount, created_at)
    SELECT b.t, CASE l.leg WHEN 0 THEN b.acct WHEN 1 THEN b.a1 ELSE b.a2 END,
           CASE l.leg WHEN 0 THEN b.sa WHEN 1 THEN b.l1 ELSE b.l2 END, UTC_TIMESTAMP(3)
    FROM bx_batch b
    JOIN (SELECT 0 AS leg UNION ALL SELECT 1 UNION ALL SELECT 2) l ON l.leg < 2 OR b.a2 <> 0;

    -- 12. Counter-accounts, legs summed per account, in id order.
    UPDATE accounts a
    JOIN (SELECT IF(l.leg = 1, b.a1, b.a2) AS a, SUM(IF(l.leg = 1, b.l1, b.l2)) AS s
          FROM bx_batch b JOIN (SELECT 1 AS leg UNION ALL SELECT 2) l
            ON l.leg = 1 OR b.a2 <> 0
          GROUP BY 1) d ON a.id = d.a
    SET a.balance = a.balance + d.s, a.updated_at = UTC_TIMESTAMP(3);
    IF ROW_COUNT() <> v_nctr THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bx_buy_batch_t: ledger accounts missing';
    END IF;

    -- 13. The purchases' charge.
    UPDATE bx_batch b JOIN purchases p ON p.id = b.p SET p.charge_txn_id = b.t;

    -- 14. One row per purchase.
    SELECT 0, b.p, b.e, COALESCE(CAST(ROUND(UNIX_TIMESTAMP(b.x) * 1000) AS SIGNED), 0), b.t,
           a.balance, a.plan, COALESCE(a.cap_daily, -1), a.spent_day,
           COALESCE(a.cap_monthly, -1), a.spent_month
    FROM bx_batch b JOIN accounts a ON a.id = b.acct
    ORDER BY b.o;
END //

DELIMITER ;
