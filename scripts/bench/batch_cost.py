#!/usr/bin/env python3
"""mariadbd's CPU per purchase when N purchases share one transaction
(issue 8, "batching purchases, measured", docs/performance.md), measured
inside the server like proc_cost.py: loop procedures on the bench database
run M purchases of the bench pass by the bench buyers in turn, and the CPU
(utime + stime of mariadbd from /proc) over a loop is divided by M.

  one     one transaction per purchase, as the gateway sends it today:
          START; the idempotency claim (gw_idem.c's INSERT); the buyer's
          row (bill_account.c's SELECT); CALL vas_buy (41 bound parameters);
          the reply's record (UPDATE idempotency_keys); COMMIT. Each a
          prepared statement with bound parameters (PREPARE … EXECUTE USING),
          as the gateway's are.
  bN, tN  N purchases (distinct buyers, sorted by account id) in ONE
          transaction, each step one set-based statement for all N:
          START; the N claims (one INSERT … SELECT FROM JSON_TABLE); the N
          buyers' rows (one SELECT … JOIN JSON_TABLE); CALL of the batch
          procedure with the N purchases as a JSON array
          (proc_variants/buy_batch.tmpl.sql via buy_batch_gen.py: bN bx_buy_batch, a JSON_TABLE in
          every statement; tN bx_buy_batch_t, the JSON parsed once into a
          MEMORY temporary table of the connection); the N replies (one
          INSERT … SELECT … ON DUPLICATE KEY UPDATE of the claimed rows);
          COMMIT. Same rows as N `one`s (--check).
  floor   START; UPDATE one row; INSERT one row; COMMIT (vas-floor's
          floor-tx, prepared), for scale.

The loop's own work (reading bx_buyers, making ids, building the JSON
that a worker would build) is measured by the same loops with the
transaction left out ("dry") and subtracted: net = loop - dry.

  batch_cost.py [-m M] [-k K] [-b 1,4,8,16,32] [--kind b,t] [--floor]
                [--no-client]
      K rounds; each round, for every variant (in an order rotated per
      round), one adjacent pair one/variant (AB in even rounds, BA in odd),
      then both again dry, and prints it; at the end the medians: ms per
      purchase (loop, dry, net), variant/one per pair (net), Queries
      (statements, stored-program ones included) per purchase.
  batch_cost.py --check [-b N] [--kind b,t]
      writes 64 purchases with one, 64 with bN / tN, for other buyers, and
      prints what each wrote (rows per table, sums, cross-checks of the new
      rows), which must be equal; then run
      `bin/vasctl -c run/bench/vasgw.ini audit`.

--no-client leaves out the gateway's client statements (START, CALL,
COMMIT only, as proc_cost.py). Single loops swing ±15 % with the other
work on the 2 CPUs: compare only medians of adjacent pairs. Every loop
writes real purchases (pass periods extended, ledger, CDRs, outbox rows
the relay delivers; the relay's own statements land in the window too):
bench stacks only. Needs run/bench/stack.env exported and the fixtures of
scripts/bench/setup.sh (money-bench.env)."""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proc_cost  # noqa: E402  (db, mariadbd_ticks, run_sql, setup, day_offset_min)

HERE = os.path.dirname(os.path.abspath(__file__))
TCK = proc_cost.TCK
BUCKETS = proc_cost.BUCKETS

SUB_COLS = (
    "SELECT s.id, s.account_id, s.im_user_id, s.msisdn, a.plan, a.status,"
    " a.currency, a.balance, a.held, a.credit_limit,"
    " COALESCE(a.cap_daily, -1), COALESCE(a.cap_monthly, -1),"
    " IF(a.spent_day_key = ?, a.spent_day, 0),"
    " IF(a.spent_month_key = ?, a.spent_month, 0),"
    " DATE_FORMAT(s.created_at, ''%Y-%m-%dT%H:%i:%sZ'')")
NOPAD = "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"

LOOPS = """
DELIMITER //
CREATE OR REPLACE PROCEDURE bx_params()
BEGIN
    SELECT generation INTO @bx_gen FROM catalog_meta WHERE id = 1;
    SET @bx_day = DATE_FORMAT(UTC_TIMESTAMP() + INTERVAL {offset_min} MINUTE, '%Y-%m-%d');
    SET @bx_day_key = REPLACE(@bx_day, '-', '') + 0, @bx_month_key = LEFT(@bx_day_key, 6) + 0;
    SET @bx_leg1 = IF(@pshare > 0, @pshare, @cshare),
        @bx_leg2 = IF(@pshare > 0 AND @cshare > 0, @cshare, 0);
    -- the 201 reply's record: about the size of a purchase's body
    SET @bx_body = CONCAT('{{"purchase_id":1234567,"entitlement_id":1234567,"item_id":', @item,
        ',"sku":"', @sku, '","amount":', @price, ',"currency":"', @currency,
        '","status":"completed","expires_at":"2026-12-03T20:00:00.000Z",',
        '"balance":{{"balance":99999,"currency":"', @currency, '","plan":"prepaid"}},',
        '"warnings":[],"charge_txn_id":12345678,"created_at":"2026-12-02T20:00:00.000Z"}}');
END //

CREATE OR REPLACE PROCEDURE bx_one_loop(IN p_n INT, IN p_off INT, IN p_client INT,
                                        IN p_dry INT)
BEGIN
    DECLARE i INT DEFAULT 0;
    DECLARE v_nb INT;
    SELECT COUNT(*) INTO v_nb FROM bx_buyers;
    CALL bx_params();
    PREPARE bx_call FROM CONCAT('CALL vas_buy(', REPEAT('?, ', 40), '?)');
    PREPARE bx_claim FROM 'SET STATEMENT innodb_lock_wait_timeout = 1 FOR INSERT INTO
        idempotency_keys (scope, idem_key, req_hash, status, body, created_at)
        VALUES (?, ?, ?, 0, '''', UTC_TIMESTAMP(3))';
    PREPARE bx_sub FROM '{sub_cols} FROM subscribers s JOIN accounts a ON a.id = s.account_id
        WHERE s.im_user_id = ?';
    PREPARE bx_reply FROM 'UPDATE idempotency_keys SET status = ?, body = ?
        WHERE scope = ? AND idem_key = ?';
    WHILE i < p_n DO
        SELECT im, sid, acct, acct1, acct2
        INTO @bx_im, @bx_sid, @bx_acct, @bx_acct1, @bx_acct2
        FROM bx_buyers WHERE k = (i + p_off) % v_nb;
        SET @bx_now = UTC_TIMESTAMP(3), @bx_n1 = REPLACE(UUID(), '-', ''),
            @bx_n2 = REPLACE(UUID(), '-', ''), @bx_n3 = REPLACE(UUID(), '-', ''),
            @bx_sc = CONCAT('u:', @bx_im), @bx_ik = REPLACE(UUID(), '-', ''),
            @bx_rh = SHA2(UUID(), 256);
        IF NOT p_dry THEN
            START TRANSACTION;
            IF p_client THEN
                EXECUTE bx_claim USING @bx_sc, @bx_ik, @bx_rh;
                EXECUTE bx_sub USING @bx_day_key, @bx_month_key, @bx_im;
            END IF;
            EXECUTE bx_call USING @bx_im, @bx_im, 'pass', @bx_now, 1, @days, @bx_day_key,
                @bx_month_key, NULL, @bx_gen, @bx_n1, NULL, @bx_n2, @payload, 'charge',
                @bx_sid, @price, @currency, @provider, @pshare, @cshare, @bx_sid % {buckets},
                NULL, NULL, NULL, 'user:bench', 'purchase', @bx_n3, 'charge', 1, NULL, NULL,
                @item, @sku, @bx_day, @bx_acct, -@price, @bx_acct1, @bx_leg1, @bx_acct2,
                @bx_leg2;
            IF p_client THEN
                EXECUTE bx_reply USING 201, @bx_body, @bx_sc, @bx_ik;
            END IF;
            COMMIT;
        END IF;
        SET i = i + 1;
    END WHILE;
    DEALLOCATE PREPARE bx_call;
    DEALLOCATE PREPARE bx_claim;
    DEALLOCATE PREPARE bx_sub;
    DEALLOCATE PREPARE bx_reply;
END //

CREATE OR REPLACE PROCEDURE bx_batch_loop(IN p_proc VARCHAR(64), IN p_n INT, IN p_b INT,
                                          IN p_off INT, IN p_client INT, IN p_dry INT)
BEGIN
    DECLARE i, s INT DEFAULT 0;
    DECLARE v_nb INT;
    SELECT COUNT(*) INTO v_nb FROM bx_buyers;
    CALL bx_params();
    IF p_proc = 'bx_buy_batch_t' THEN
        CALL bx_batch_table();  -- once per connection
    END IF;
    PREPARE bx_bcall FROM CONCAT('CALL ', p_proc, '(?, ?, ?, ?, ?, ?)');
    PREPARE bx_bclaim FROM 'SET STATEMENT innodb_lock_wait_timeout = 1 FOR INSERT INTO
        idempotency_keys (scope, idem_key, req_hash, status, body, created_at)
        SELECT j.sc, j.ik, j.rh, 0, '''', UTC_TIMESTAMP(3)
        FROM JSON_TABLE(?, ''$[*]'' COLUMNS (sc VARCHAR(80) {nopad} PATH ''$.sc'',
            ik VARCHAR(255) {nopad} PATH ''$.ik'', rh CHAR(64) {nopad} PATH ''$.rh'')) j';
    PREPARE bx_bsub FROM '{sub_cols}
        FROM JSON_TABLE(?, ''$[*]'' COLUMNS (im VARCHAR(64) {nopad} PATH ''$.im'')) j
        JOIN subscribers s ON s.im_user_id = j.im JOIN accounts a ON a.id = s.account_id';
    -- the N replies: an upsert of the N claimed rows (a multi-table UPDATE would copy the
    -- bodies into a temporary table, on disk once a body may exceed 512 characters)
    PREPARE bx_breply FROM 'INSERT INTO idempotency_keys (scope, idem_key, req_hash, status,
            body, created_at)
        SELECT j.sc, j.ik, '''''''', 201, j.b, UTC_TIMESTAMP(3)
        FROM JSON_TABLE(?, ''$[*]'' COLUMNS (sc VARCHAR(80) {nopad} PATH ''$.sc'',
            ik VARCHAR(255) {nopad} PATH ''$.ik'', b VARCHAR(2000) {nopad} PATH ''$.b'')) j
        ON DUPLICATE KEY UPDATE status = VALUES(status), body = VALUES(body)';
    WHILE i < p_n DO
        SET s = (i + p_off) % v_nb;
        IF s + p_b > v_nb THEN
            SET s = 0;
        END IF;
        SET @bx_now = UTC_TIMESTAMP(3);
        -- what the worker would send: the N purchases, sorted by account id
        SELECT JSON_ARRAYAGG(JSON_OBJECT(
                   'im', im, 'sid', sid, 'acct', acct, 'bk', sid % {buckets},
                   'a1', acct1, 'l1', @bx_leg1, 'a2', acct2, 'l2', @bx_leg2,
                   'it', @item, 'kd', 'pass', 'ps', 1, 'dy', @days, 'am', @price,
                   'sa', -@price, 'cu', @currency, 'pv', @provider, 'psh', @pshare,
                   'csh', @cshare, 'sku', @sku, 'fmt', NULL,
                   'n1', REPLACE(UUID(), '-', ''), 'ev', REPLACE(UUID(), '-', ''),
                   'cdr', REPLACE(UUID(), '-', ''), 'pl', @payload, 'ac', 'user:bench')
                   ORDER BY acct),
               JSON_ARRAYAGG(JSON_OBJECT('im', im)),
               JSON_ARRAYAGG(JSON_OBJECT('sc', CONCAT('u:', im), 'ik', REPLACE(UUID(), '-', ''),
                                         'rh', SHA2(UUID(), 256)))
        INTO @bx_j, @bx_s, @bx_c
        FROM bx_buyers WHERE k >= s AND k < s + p_b;
        IF p_client THEN
            SELECT JSON_ARRAYAGG(JSON_OBJECT('sc', j.sc, 'ik', j.ik, 'b', @bx_body))
            INTO @bx_r
            FROM JSON_TABLE(@bx_c, '$[*]' COLUMNS (sc VARCHAR(80) PATH '$.sc',
                                                   ik VARCHAR(255) PATH '$.ik')) j;
        END IF;
        IF NOT p_dry THEN
            START TRANSACTION;
            IF p_client THEN
                EXECUTE bx_bclaim USING @bx_c;
                EXECUTE bx_bsub USING @bx_day_key, @bx_month_key, @bx_s;
            END IF;
            EXECUTE bx_bcall USING @bx_j, @bx_now, @bx_day_key, @bx_month_key, @bx_gen,
                @bx_day;
            IF p_client THEN
                EXECUTE bx_breply USING @bx_r;
            END IF;
            COMMIT;
        END IF;
        SET i = i + p_b;
    END WHILE;
    DEALLOCATE PREPARE bx_bcall;
    DEALLOCATE PREPARE bx_bclaim;
    DEALLOCATE PREPARE bx_bsub;
    DEALLOCATE PREPARE bx_breply;
END //

CREATE TABLE IF NOT EXISTS bx_floor_accounts (
    id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB //
CREATE TABLE IF NOT EXISTS bx_floor_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL,
    amount BIGINT NOT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB //
INSERT IGNORE INTO bx_floor_accounts SELECT seq, 1000000000000 FROM seq_1_to_1000 //

CREATE OR REPLACE PROCEDURE bx_floor_loop(IN p_n INT, IN p_off INT, IN p_client INT,
                                          IN p_dry INT)
BEGIN
    DECLARE i INT DEFAULT 0;
    PREPARE bx_fu FROM 'UPDATE bx_floor_accounts SET balance = balance - 1
        WHERE id = ? AND balance >= 1';
    PREPARE bx_fi FROM 'INSERT INTO bx_floor_log (account_id, amount) VALUES (?, 1)';
    WHILE i < p_n DO
        SET @bx_fa = (i + p_off) % 1000 + 1;
        IF NOT p_dry THEN
            START TRANSACTION;
            EXECUTE bx_fu USING @bx_fa;
            EXECUTE bx_fi USING @bx_fa;
            COMMIT;
        END IF;
        SET i = i + 1;
    END WHILE;
    DEALLOCATE PREPARE bx_fu;
    DEALLOCATE PREPARE bx_fi;
END //
DELIMITER ;
"""


def queries(c):
    with c.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Queries'")
        return int(cur.fetchone()[1])


OFFSET = [0]


def run(c, variant, m, client, dry=False):
    """(mariadbd CPU ms, Queries) per purchase over a loop of m purchases."""
    if variant == "one":
        sql, args = "CALL bx_one_loop(%s, %s, %s, %s)", (m, OFFSET[0], client, dry)
    elif variant == "floor":
        sql, args = "CALL bx_floor_loop(%s, %s, %s, %s)", (m, OFFSET[0], client, dry)
    else:  # bN: JSON_TABLE in every statement; tN: the JSON into a temporary table once
        proc = "bx_buy_batch_t" if variant[0] == "t" else "bx_buy_batch"
        sql, args = ("CALL bx_batch_loop(%s, %s, %s, %s, %s, %s)",
                     (proc, m, int(variant[1:]), OFFSET[0], client, dry))
    q0 = queries(c)
    t0 = proc_cost.mariadbd_ticks()
    with c.cursor() as cur:
        cur.execute(sql, args)
        while cur.nextset():
            pass
    t1 = proc_cost.mariadbd_ticks()
    q1 = queries(c)
    OFFSET[0] = (OFFSET[0] + m) % 9000
    return (t1 - t0) / TCK * 1000 / m, (q1 - q0 - 2) / m  # the 2 SHOW STATUS


def setup(c):
    proc_cost.setup(c)
    proc_cost.run_sql(c, LOOPS.format(offset_min=proc_cost.day_offset_min(), buckets=BUCKETS,
                                      sub_cols=SUB_COLS, nopad=NOPAD))
    # The procedures are generated from their template (buy_batch_gen.py): nothing to keep in step.
    v = os.path.join(HERE, "proc_variants")
    proc_cost.run_sql(c, subprocess.run(
        [sys.executable, os.path.join(v, "buy_batch_gen.py"), os.path.join(v, "buy_batch.tmpl.sql")],
        check=True, capture_output=True, text=True).stdout)


CHECK = [
    ("entitlements (rows)", "SELECT COUNT(*) FROM entitlements"),
    ("entitlement days", "SELECT SUM(TIMESTAMPDIFF(DAY, granted_at, expires_at))"
     " FROM entitlements WHERE kind = 'pass'"),
    ("purchases", "SELECT COUNT(*) FROM purchases"),
    ("purchases amount", "SELECT SUM(amount) FROM purchases"),
    ("purchases period days", "SELECT SUM(TIMESTAMPDIFF(DAY, period_start, period_end))"
     " FROM purchases"),
    ("purchases charged", "SELECT COUNT(*) FROM purchases p JOIN ledger_txns t"
     " ON t.id = p.charge_txn_id AND t.reference = CONCAT('purchase:', p.id)"),
    ("new purchases: balance_after = balance",
     "SELECT COUNT(*) FROM purchases p JOIN accounts a ON a.kind = 'subscriber'"
     " AND a.owner_id = p.subscriber_id AND a.bucket = 0"
     " WHERE p.id > @bx_p0 AND p.balance_after = a.balance"),
    ("new purchases: period = entitlement's end",
     "SELECT COUNT(*) FROM purchases p JOIN entitlements e ON e.id = p.entitlement_id"
     " WHERE p.id > @bx_p0 AND p.period_end = e.expires_at"),
    ("outbox", "SELECT COUNT(*) FROM outbox"),
    ("new outbox: payload ids match", "SELECT COUNT(*) FROM outbox o JOIN purchases p"
     " ON p.id > @bx_p0 AND o.payload LIKE CONCAT('{\"purchase_id\":', p.id,"
     " ',\"entitlement_id\":', p.entitlement_id, ',%')"
     " WHERE o.id > @bx_o0 AND o.type = 'purchase.completed'"),
    ("new cdrs: txn, purchase, msisdn", "SELECT COUNT(*) FROM cdrs c JOIN purchases p"
     " ON p.id = c.purchase_id AND p.charge_txn_id = c.txn_id JOIN subscribers s"
     " ON s.id = c.subscriber_id AND s.msisdn = c.msisdn WHERE p.id > @bx_p0"),
    ("webhook_events", "SELECT COUNT(*) FROM webhook_events"),
    ("ledger_txns", "SELECT COUNT(*) FROM ledger_txns"),
    ("ledger_txns amount", "SELECT SUM(amount) FROM ledger_txns"),
    ("cdrs", "SELECT COUNT(*) FROM cdrs"),
    ("cdrs amount", "SELECT SUM(amount) FROM cdrs"),
    ("postings", "SELECT COUNT(*) FROM postings"),
    ("postings sum", "SELECT SUM(amount) FROM postings"),
    ("postings |sum|", "SELECT SUM(ABS(amount)) FROM postings"),
    ("subscriber balances", "SELECT SUM(balance) FROM accounts WHERE kind = 'subscriber'"),
    ("subscriber spent_day", "SELECT SUM(spent_day) FROM accounts WHERE kind = 'subscriber'"),
    ("subscriber spent_month", "SELECT SUM(spent_month) FROM accounts"
     " WHERE kind = 'subscriber'"),
    ("counter balances", "SELECT SUM(balance) FROM accounts WHERE kind <> 'subscriber'"),
    ("idempotency_keys", "SELECT COUNT(*) FROM idempotency_keys"),
    ("idempotency replies", "SELECT SUM(status = 201) FROM idempotency_keys"),
]


def snapshot(c):
    out = []
    with c.cursor() as cur:
        for name, sql in CHECK:
            cur.execute(sql)
            out.append(int(cur.fetchone()[0] or 0))
    return out


def check(c, bv):
    n = 64
    deltas = {}
    for variant in ("one", bv):
        with c.cursor() as cur:
            cur.execute("SELECT @bx_p0 := MAX(id) FROM purchases")
            cur.execute("SELECT @bx_o0 := MAX(id) FROM outbox")
        s0 = snapshot(c)
        run(c, variant, n, 1)
        s1 = snapshot(c)
        deltas[variant] = [x1 - x0 for x0, x1 in zip(s0, s1)]
    bad = 0
    print("%-40s %6s %6s   (what 64 purchases wrote)" % ("", "one", bv))
    for i, (name, _) in enumerate(CHECK):
        a, z = deltas["one"][i], deltas[bv][i]
        # a counter-accounts' and subscribers' sums cancel; equal is what matters
        flag = "" if a == z else "  <-- differs"
        bad += a != z
        print("%-40s %6d %6d%s" % (name, a, z, flag))
    print("differences: %d" % bad)
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", type=int, default=384, help="purchases per loop (multiple of 32)")
    ap.add_argument("-k", type=int, default=8, help="rounds")
    ap.add_argument("-b", default="1,4,8,16,32", help="batch sizes")
    ap.add_argument("--kind", default="b,t",
                    help="b: bx_buy_batch (JSON_TABLE per statement), t: bx_buy_batch_t")
    ap.add_argument("--no-client", action="store_true")
    ap.add_argument("--floor", action="store_true", help="also pair floor/one per round")
    ap.add_argument("--check", action="store_true")
    o = ap.parse_args()
    sizes = [int(x) for x in o.b.split(",")]
    client = 0 if o.no_client else 1
    c = proc_cost.db()
    setup(c)
    OFFSET[0] = int(time.time()) % 9000
    if o.check:
        bad = 0
        for k in o.kind.split(","):
            bad += check(c, "%s%d" % (k, sizes[-1]))
        sys.exit(1 if bad else 0)
    variants = (["%s%d" % (k, b) for b in sizes for k in o.kind.split(",")]
                + (["floor"] if o.floor else []))
    for v in ["one"] + variants:  # parse the bodies, warm the rows
        run(c, v, 32, client)
    got = {v: [] for v in ["one"] + variants}
    qs = {v: [] for v in got}
    ratios = {v: [] for v in variants}
    dry = {v: [] for v in got}
    for r in range(o.k):
        rot = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in rot:
            order = ("one", v) if r % 2 == 0 else (v, "one")
            pair = {}
            for x in order:
                ms, q = run(c, x, o.m, client)
                pair[x] = ms
                got[x].append(ms)
                qs[x].append(q)
            # the loop's own work, right after the pair: same variants, no transaction
            for x in order:
                dry[x].append(run(c, x, o.m, client, dry=True))
            dn = {x: dry[x][-1][0] for x in order}
            ratios[v].append((pair[v] - dn[v]) / (pair["one"] - dn["one"]))
            print("round %d  %-5s %.3f (dry %.3f)  one %.3f (dry %.3f)  net ratio %.3f"
                  "  load %s" % (r, v, pair[v], dn[v], pair["one"], dn["one"],
                                 ratios[v][-1], open("/proc/loadavg").read().split()[0]),
                  flush=True)
    med = statistics.median
    print("\nvariant  loop ms  dry ms  net ms  net/one (median of pairs, min-max)"
          "  Queries  dry Q  net Q   (medians; %d rounds, %d purchases a loop, client %d)"
          % (o.k, o.m, client))
    for v in ["one"] + variants:
        lm, dm = med(got[v]), med([d[0] for d in dry[v]])
        qm, dq = med(qs[v]), med([d[1] for d in dry[v]])
        rr = ("%.3f (%.3f-%.3f)" % (med(ratios[v]), min(ratios[v]), max(ratios[v]))
              if v in ratios else "1")
        print("%-7s  %7.3f  %6.3f  %6.3f  %-30s  %7.2f  %5.2f  %5.2f"
              % (v, lm, dm, lm - dm, rr, qm, dq, qm - dq))


if __name__ == "__main__":
    main()
