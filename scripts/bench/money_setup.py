#!/usr/bin/env python3
"""make bench, money rows: BENCH_SUBSCRIBERS (10,000) buyers bench-0..N-1 get
a funded prepaid account through the real top-up API (parallel HTTP), and an
HS256 token each (minted here with the stack's key: vasctl token mint would
take minutes for 10,000). Prints KEY=value lines for the wrk scripts:
PASS (the bench game pass), BUYERS, TOKENFILE (one token per line).

  money_setup.py accounts   subscribers, accounts and top-ups (before
                            store_setup.sh, whose buyers bench-0..31 are these)
  money_setup.py env        tokens and the KEY=value lines"""
import base64
import concurrent.futures as cf
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request

import pymysql

N = int(os.environ.get("BENCH_SUBSCRIBERS", "10000"))
BASE = os.environ["VAS_BASE_URL"]
ADMIN = os.environ["VAS_ADMIN_KEY"]
OUT = os.path.join(os.environ["VAS_STACK_DIR"], "money-tokens.txt")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(key, user):
    now = int(time.time())
    # Compact, as PyJWT, jsonwebtoken and vasctl write them: json.dumps'
    # default ", " and ": " made a header no issuer sends, which took the
    # gateway's full header parse on every bench request (gw_auth.c).
    h = b64(b'{"alg":"HS256","typ":"JWT"}')
    p = b64(json.dumps({"sub": user, "iat": now, "exp": now + 86400},
                       separators=(",", ":")).encode())
    sig = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def topup(i):
    msisdn = "86137%08d" % i
    req = urllib.request.Request(
        f"{BASE}/v1/admin/subscribers/{msisdn}/topups", method="POST",
        data=json.dumps({"amount": 100000000,
                         "reference": f"bench-seed-{msisdn}"}).encode(),
        headers={"Authorization": f"Bearer {ADMIN}",
                 "Content-Type": "application/json",
                 "Idempotency-Key": f"bench-seed-{msisdn}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code  # 409: seeded by an earlier run


def main():
    phase = sys.argv[1] if len(sys.argv) > 1 else "env"
    db = pymysql.connect(unix_socket=os.environ["VAS_MYSQL_SOCKET"],
                         user=os.environ["VAS_MYSQL_USER"],
                         password=os.environ["VAS_MYSQL_PASSWORD"],
                         database=os.environ["VAS_MYSQL_DATABASE"],
                         autocommit=True)
    cur = db.cursor()
    if phase == "env":
        return env(cur)
    # Accounts of the subscribers scripts/bench/setup.sh made (same rows).
    cur.execute("SET STATEMENT max_recursive_iterations = 1000000 FOR"
                " INSERT IGNORE INTO subscribers (im_user_id, msisdn,"
                " created_at, created_by) WITH RECURSIVE k(i) AS (SELECT 0"
                " UNION ALL SELECT i + 1 FROM k WHERE i < %s) SELECT"
                " CONCAT('bench-', i), CONCAT('86137', LPAD(i, 8, '0')),"
                " UTC_TIMESTAMP(3), 'bench' FROM k", (N - 1,))
    cur.execute("INSERT IGNORE INTO accounts (kind, owner_id, bucket,"
                " currency, plan, created_at, updated_at) SELECT 'subscriber',"
                " id, 0, 'CNY', 'prepaid', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)"
                " FROM subscribers WHERE created_by = 'bench'")
    cur.execute("UPDATE subscribers s JOIN accounts a ON a.kind ="
                " 'subscriber' AND a.owner_id = s.id SET s.account_id = a.id"
                " WHERE s.created_by = 'bench'")
    with cf.ThreadPoolExecutor(16) as ex:
        codes = list(ex.map(topup, range(N)))
    bad = [c for c in codes if c not in (201, 409)]
    if bad:
        sys.exit(f"money_setup: {len(bad)} top-ups failed: {bad[:5]}")


def env(cur):
    with open(os.environ["VAS_TOKEN_SECRET_FILE"], "rb") as f:
        key = f.read()
    with open(OUT, "w") as f:
        for i in range(N):
            f.write(token(key, f"bench-{i}") + "\n")
    cur.execute("SELECT id FROM items WHERE sku = 'GM-BENCH-PASS'")
    print(f"PASS={cur.fetchone()[0]}")
    print(f"BUYERS={N}")
    print(f"TOKENFILE={OUT}")


if __name__ == "__main__":
    main()
