#!/usr/bin/env python3
"""mariadbd's CPU per call of a purchase procedure, measured inside the
server (issue 8): a loop procedure on the bench database calls it N times,
one transaction each (START, the prepared CALL, COMMIT), for the bench
buyers in turn, buying the bench pass; the CPU (utime + stime of mariadbd
from /proc) over the loop divided by N. No gateway, no network, no relay:
what a procedure body costs the server, so variants of it can be compared.

  proc_cost.py [-n N] PROC...            one loop each, in order
  proc_cost.py [-n N] -k K PROC_A PROC_B K adjacent pairs (AB, then BA, …)
                                         and the median of B/A per pair
  proc_cost.py --install FILE.sql        runs FILE (DELIMITER lines as in
                                         migrations) on the bench database

A procedure takes vas_buy's 41 parameters (migration 032), or 42 with the
payer's msisdn after the payload (scripts/bench/proc_variants/). The CPU
of one loop swings with the other work on the machine (±15 % between two
loops a few seconds apart at load 10): compare variants only by the median
of many adjacent pairs, never by two single runs. Every call writes a real
purchase (pass periods, ledger, CDRs, outbox rows for the relay): bench
stacks only.

Needs the bench stack's env (run/bench/stack.env) and its fixtures
(money-bench.env: the bench pass, 10,000 bench-N subscribers)."""
import argparse
import os
import statistics
import sys
import time

import pymysql

ENV = os.environ
TCK = os.sysconf("SC_CLK_TCK")
BUCKETS = 64  # billing/bill_internal.h BILL_BUCKETS


def db():
    return pymysql.connect(unix_socket=ENV["VAS_MYSQL_SOCKET"], user="root",
                           database=ENV["VAS_MYSQL_DATABASE"],
                           autocommit=True)


def mariadbd_ticks():
    with open(ENV["VAS_MYSQL_PID_FILE"]) as f:
        pid = f.read().strip()
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run_sql(c, text):
    """Statements of text, split as gw_migrate.c does (DELIMITER lines)."""
    delim, buf = ";", []
    with c.cursor() as cur:
        for line in text.splitlines():
            if line.strip().upper().startswith("DELIMITER "):
                delim = line.split()[1]
                continue
            buf.append(line)
            if line.rstrip().endswith(delim):
                stmt = "\n".join(buf).rstrip()[:-len(delim)]
                buf = []
                if stmt.strip() and not all(
                        s.strip().startswith("--") or not s.strip()
                        for s in stmt.splitlines()):
                    cur.execute(stmt)


def pass_item():
    with open(os.path.join(ENV["VAS_STACK_DIR"], "money-bench.env")) as f:
        env = dict(l.strip().split("=", 1) for l in f if "=" in l)
    return int(env["PASS"])


SETUP = """
DROP TABLE IF EXISTS bx_buyers;
CREATE TABLE bx_buyers (
    k INT PRIMARY KEY, im VARCHAR(64), sid BIGINT UNSIGNED, acct BIGINT UNSIGNED,
    msisdn VARCHAR(32), acct1 BIGINT UNSIGNED, acct2 BIGINT UNSIGNED) ENGINE=InnoDB;
INSERT INTO bx_buyers
SELECT ROW_NUMBER() OVER (ORDER BY s.id) - 1, s.im_user_id, s.id, s.account_id, s.msisdn,
       IF(@pshare > 0, p.id, c.id), IF(@pshare > 0 AND @cshare > 0, c.id, 0)
FROM subscribers s
JOIN accounts c ON c.kind = 'carrier' AND c.owner_id = 0 AND c.bucket = s.id % {buckets}
LEFT JOIN accounts p ON p.kind = 'provider' AND p.owner_id = @provider
                    AND p.bucket = s.id % {buckets}
WHERE s.im_user_id LIKE 'bench-%';
"""

# The loop: the gateway's CALL is a prepared statement with bound
# parameters; so is this one (PREPARE … EXECUTE USING).
LOOP = """
DELIMITER //
CREATE OR REPLACE PROCEDURE bx_loop_{arity}(IN p_name VARCHAR(64), IN p_n INT, IN p_off INT)
BEGIN
    DECLARE i INT DEFAULT 0;
    DECLARE v_nb INT;
    SELECT COUNT(*) INTO v_nb FROM bx_buyers;
    SET @bx_q = CONCAT('CALL ', p_name, '(', REPEAT('?, ', {arity} - 1), '?)');
    PREPARE bx_s FROM @bx_q;
    SELECT generation INTO @bx_gen FROM catalog_meta WHERE id = 1;
    SET @bx_day = DATE_FORMAT(UTC_TIMESTAMP() + INTERVAL {offset_min} MINUTE, '%Y-%m-%d');
    SET @bx_day_key = REPLACE(@bx_day, '-', '') + 0, @bx_month_key = LEFT(@bx_day_key, 6) + 0;
    WHILE i < p_n DO
        SELECT im, sid, acct, msisdn, acct1, acct2
        INTO @bx_im, @bx_sid, @bx_acct, @bx_msisdn, @bx_acct1, @bx_acct2
        FROM bx_buyers WHERE k = (i + p_off) % v_nb;
        SET @bx_now = UTC_TIMESTAMP(3), @bx_n1 = REPLACE(UUID(), '-', ''),
            @bx_n2 = REPLACE(UUID(), '-', ''), @bx_n3 = REPLACE(UUID(), '-', ''),
            @bx_leg1 = IF(@pshare > 0, @pshare, @cshare),
            @bx_leg2 = IF(@pshare > 0 AND @cshare > 0, @cshare, 0);
        START TRANSACTION;
        EXECUTE bx_s USING @bx_im, @bx_im, 'pass', @bx_now, 1, @days, @bx_day_key,
            @bx_month_key, NULL, @bx_gen, @bx_n1, NULL, @bx_n2, @payload, {msisdn}'charge',
            @bx_sid, @price, @currency, @provider, @pshare, @cshare, @bx_sid % {buckets}, NULL,
            NULL, NULL, 'user:bench', 'purchase', @bx_n3, 'charge', 1, NULL, NULL, @item, @sku,
            @bx_day, @bx_acct, -@price, @bx_acct1, @bx_leg1, @bx_acct2, @bx_leg2;
        COMMIT;
        SET i = i + 1;
    END WHILE;
    DEALLOCATE PREPARE bx_s;
END //
DELIMITER ;
"""


def setup(c):
    item = pass_item()
    with c.cursor() as cur:
        cur.execute("SELECT i.price, i.currency, i.provider_id, p.revenue_share_bp,"
                    " i.pass_days, i.sku, i.title FROM items i JOIN providers p"
                    " ON p.id = i.provider_id WHERE i.id = %s", (item,))
        price, cur_, prov, bp, days, sku, title = cur.fetchone()
        pshare = price * bp // 10000  # bill_split: floor
        cur.execute("SET @item = %s, @price = %s, @currency = %s, @provider = %s,"
                    " @pshare = %s, @cshare = %s, @days = %s, @sku = %s",
                    (item, price, cur_, prov, pshare, price - pshare, days, sku))
        cur.execute("SET @payload = %s",
                    ('"item_id":%d,"sku":"%s","title":"%s","amount":%d,'
                     '"currency":"%s","buyer":"bench","recipient":"bench"}'
                     % (item, sku, title, price, cur_),))
    run_sql(c, SETUP.format(buckets=BUCKETS))
    offset = day_offset_min()
    for arity, msisdn in ((41, ""), (42, "@bx_msisdn, ")):
        run_sql(c, LOOP.format(arity=arity, msisdn=msisdn, buckets=BUCKETS,
                               offset_min=offset))


def day_offset_min():
    """[billing] day_offset_min of the stack's vasgw.ini (the business
    day's spend keys, as bill_day_keys makes them)."""
    section = None
    with open(os.path.join(ENV["VAS_STACK_DIR"], "vasgw.ini")) as f:
        for line in f:
            line = line.split("#", 1)[0].split(";", 1)[0].strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "billing" and line.startswith("day_offset_min"):
                return int(line.split("=", 1)[1])
    return 0


def arity(c, proc):
    with c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PARAMETERS WHERE"
                    " SPECIFIC_SCHEMA = DATABASE() AND SPECIFIC_NAME = %s", (proc,))
        n = cur.fetchone()[0]
    if n not in (41, 42):
        sys.exit("%s: %d parameters, want 41 (vas_buy's) or 42" % (proc, n))
    return n


OFFSET = [0]


def one(c, proc, n):
    """mariadbd CPU ms per call over a loop of n calls of proc."""
    a = arity(c, proc)
    t0 = mariadbd_ticks()
    with c.cursor() as cur:
        cur.execute("CALL bx_loop_%d(%%s, %%s, %%s)" % a, (proc, n, OFFSET[0]))
        while cur.nextset():
            pass
    t1 = mariadbd_ticks()
    OFFSET[0] += n
    return (t1 - t0) / TCK * 1000 / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=400)
    ap.add_argument("-k", type=int, default=0)
    ap.add_argument("--install")
    ap.add_argument("proc", nargs="*")
    o = ap.parse_args()
    c = db()
    if o.install:
        with open(o.install) as f:
            run_sql(c, f.read())
        return
    setup(c)
    OFFSET[0] = int(time.time()) % 10000
    one(c, o.proc[0], 20)  # this session's first call parses the bodies
    if o.k:
        a, b = o.proc
        one(c, b, 20)
        ratios = []
        for i in range(o.k):
            order = (a, b) if i % 2 == 0 else (b, a)
            got = {p: one(c, p, o.n) for p in order}
            ratios.append(got[b] / got[a])
            print("  %s %.3f  %s %.3f  ratio %.3f  load %s" % (
                a, got[a], b, got[b], ratios[-1],
                open("/proc/loadavg").read().split()[0]), flush=True)
        print("%s/%s: median %.3f over %d pairs (min %.3f, max %.3f)" % (
            b, a, statistics.median(ratios), len(ratios), min(ratios),
            max(ratios)))
        return
    for p in o.proc:
        print("%-16s %.3f ms mariadbd per call (%d calls)" % (p, one(c, p, o.n), o.n),
              flush=True)


if __name__ == "__main__":
    main()
