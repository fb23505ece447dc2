-- 034_idem_calls: a money request's transaction opens and closes in one round trip each
-- (gateway/gw_idem.c). Before, a request on a TXKEY route (purchases, gifts, top-ups, refunds,
-- lobby starts) sent START TRANSACTION, the Idempotency-Key's claim, …, the reply's record and
-- COMMIT as four round trips; on this kind of machine each costs tens of microseconds of CPU on
-- both ends, and the last two ran while the transaction held its counter-account row locks
-- (taken last), so concurrent movements of one bucket queued behind two client round trips.
-- Now the first is CALL vas_idem_claim (START TRANSACTION + the claim) and the last
-- CALL vas_idem_commit (the reply's record + COMMIT).
--
-- Guarantees unchanged: the claim is still the transaction's first statement and waits at most
-- p_wait_s on a request in flight with the same key (its duplicate-key or lock-wait error
-- reaches the caller as before, the transaction left open for the caller to read the stored
-- reply or roll back); a worker killed at any point leaves an open transaction that the server
-- rolls back on disconnect, or a committed one with its reply. Added procedures only: a binary
-- older than this migration sends the statements, which still work.
DELIMITER //

-- START TRANSACTION and the claim of (p_scope, p_key). Refuses to run inside a transaction:
-- START TRANSACTION would commit it.
CREATE OR REPLACE PROCEDURE vas_idem_claim(
    IN p_scope  VARCHAR(80),
    IN p_key    VARCHAR(255),
    IN p_hash   CHAR(64),
    IN p_wait_s INT)
    MODIFIES SQL DATA
BEGIN
    IF @@in_transaction THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_idem_claim: a transaction is open';
    END IF;
    START TRANSACTION;
    SET STATEMENT innodb_lock_wait_timeout = p_wait_s FOR
    INSERT INTO idempotency_keys (scope, idem_key, req_hash, status, body, created_at)
    VALUES (p_scope, p_key, p_hash, 0, '', UTC_TIMESTAMP(3));
END //

-- The reply's record into this transaction's claim, then COMMIT. No claim row: nothing is
-- committed (the caller rolls back).
CREATE OR REPLACE PROCEDURE vas_idem_commit(
    IN p_scope  VARCHAR(80),
    IN p_key    VARCHAR(255),
    IN p_status INT,
    IN p_body   MEDIUMTEXT)
    MODIFIES SQL DATA
BEGIN
    IF NOT @@in_transaction THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_idem_commit: no transaction';
    END IF;
    UPDATE idempotency_keys SET status = p_status, body = p_body
    WHERE scope = p_scope AND idem_key = p_key;
    IF ROW_COUNT() <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'vas_idem_commit: not this transaction''s claim';
    END IF;
    COMMIT;
END //

DELIMITER ;
