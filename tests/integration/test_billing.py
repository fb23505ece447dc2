"""Billing against the real private stack: accounts, top-ups, holds,
refunds, the audit, idempotency and faults (issue 3).

Each test names the bug it exists to catch.
"""
import concurrent.futures as cf
import os
import secrets
import signal
import subprocess
import time

import pytest

from conftest import (ENV, ROOT, assert_problem, audit_clean, db_query, http,
                      mint_token, new_msisdn, new_user, vasctl, wait_until)


def topup(admin_key, msisdn, amount, key=None, reference="test"):
    return http("POST", f"/v1/admin/subscribers/{msisdn}/topups",
                {"amount": amount, "reference": reference}, token=admin_key,
                headers={"Idempotency-Key": key or secrets.token_hex(8)})


def account(msisdn):
    (row,) = db_query(
        "SELECT a.balance, a.held, a.spent_day FROM accounts a JOIN"
        " subscribers s ON s.account_id = a.id WHERE s.msisdn = %s",
        (msisdn,))
    return {"balance": row[0], "held": row[1], "spent_day": row[2]}


def ledger_size():
    return db_query("SELECT (SELECT COUNT(*) FROM ledger_txns),"
                    " (SELECT COUNT(*) FROM postings),"
                    " (SELECT COUNT(*) FROM cdrs),"
                    " (SELECT COUNT(*) FROM outbox)")[0]


def assert_audit():
    ok, out = audit_clean()
    assert ok, out


# --- subscribers -----------------------------------------------------------

def test_subscriber_lifecycle(admin_key, subscriber):
    """Create/get/patch round-trip; catches lost fields and a suspend that
    does not stop charging."""
    s = subscriber(plan="postpaid", credit_limit=5000,
                   caps={"daily": 2000, "monthly": None})
    r = http("GET", f"/v1/admin/subscribers/{s['msisdn']}", token=admin_key)
    assert r.status == 200, r
    body = r.json()
    assert body["plan"] == "postpaid" and body["credit_limit"] == 5000
    assert body["caps"] == {"daily": 2000, "monthly": None}
    assert body["status"] == "active" and body["balance"] == 0

    r = http("PATCH", f"/v1/admin/subscribers/{s['msisdn']}",
             {"status": "suspended", "caps": {"daily": None}},
             token=admin_key)
    assert r.status == 200, r
    assert r.json()["status"] == "suspended"
    assert r.json()["caps"]["daily"] is None

    me = http("GET", "/v1/me", token=s["token"])
    assert me.status == 200, me
    m = me.json()
    assert m["status"] == "suspended" and m["user_id"] == s["user"]
    # The MSISDN is masked for the user: national part 3 + **** + 4.
    assert "****" in m["msisdn"] and s["msisdn"] not in m["msisdn"]
    # A suspended account cannot reserve (the same check guards charges).
    p = vasctl("hold", "reserve", s["msisdn"], 100, check=False)
    assert p.returncode != 0 and "suspended" in p.stderr.lower()


def test_duplicate_binding_conflicts(admin_key, subscriber):
    """An IM user or MSISDN bound twice must be refused, not overwritten."""
    s = subscriber()
    for body in ({"im_user_id": s["user"], "msisdn": new_msisdn(),
                  "plan": "prepaid"},
                 {"im_user_id": new_user(), "msisdn": s["msisdn"],
                  "plan": "prepaid"}):
        r = http("POST", "/v1/admin/subscribers", body, token=admin_key)
        assert_problem(r, 409, "conflict")


def test_refused_first_statement_rolls_back(admin_key, subscriber):
    """A duplicate key on the first statement of a transaction (sent with
    START TRANSACTION in one round trip) must still be rolled back: the
    failed INSERT keeps a next-key lock on the duplicate, and creates into
    that gap from other connections hung until the read timeout and
    answered 503 (a bug this caught in CI)."""
    s = subscriber()
    below = s["user"][:-1] + chr(ord(s["user"][-1]) - 1)   # sorts just before

    def create(i):
        t0 = time.time()
        r = http("POST", "/v1/admin/subscribers",
                 {"im_user_id": f"{below}{i:02d}", "msisdn": new_msisdn(),
                  "plan": "prepaid"}, token=admin_key)
        return r, time.time() - t0

    n = 0
    for _ in range(3):
        dup = http("POST", "/v1/admin/subscribers",
                   {"im_user_id": s["user"], "msisdn": new_msisdn(),
                    "plan": "prepaid"}, token=admin_key)
        assert_problem(dup, 409, "conflict")
        # Sequential creates on new client connections reach other vasgw
        # threads (nginx workers share the load) while the one that saw
        # the duplicate sits idle.
        for _ in range(6):
            r, took = create(n)
            n += 1
            assert r.status == 201, r
            assert took < 2, took


def test_unbound_user_is_forbidden():
    """A valid IM token whose user has no phone account: 403, not 500."""
    r = http("GET", "/v1/me", token=mint_token(new_user()))
    assert_problem(r, 403, "forbidden")


def test_user_token_on_admin_route_is_forbidden(subscriber):
    s = subscriber()
    r = http("GET", f"/v1/admin/subscribers/{s['msisdn']}", token=s["token"])
    assert_problem(r, 403, "forbidden")


BAD_CREATE = [
    {"msisdn": "8613812345678", "plan": "prepaid"},                 # no user
    {"im_user_id": "u x", "msisdn": "8613812345678", "plan": "prepaid"},
    {"im_user_id": 12, "msisdn": "8613812345678", "plan": "prepaid"},
    {"im_user_id": "u1", "msisdn": "+8613812345678", "plan": "prepaid"},
    {"im_user_id": "u1", "msisdn": "8613", "plan": "prepaid"},
    {"im_user_id": "u1", "msisdn": "86138123456781234", "plan": "prepaid"},
    {"im_user_id": "u1", "msisdn": "86138abc45678", "plan": "prepaid"},
    {"im_user_id": "u1", "msisdn": 8613812345678, "plan": "prepaid"},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "gold"},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "prepaid",
     "credit_limit": 100},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "postpaid",
     "credit_limit": -1},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "postpaid",
     "credit_limit": 2 ** 63},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "prepaid",
     "caps": {"daily": -5}},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "prepaid",
     "caps": "lots"},
    {"im_user_id": "u1", "msisdn": "8613812345678", "plan": "prepaid",
     "caps": {"monthly": "100"}},
]


@pytest.mark.parametrize("body", BAD_CREATE)
def test_create_subscriber_bad_input(admin_key, body):
    """Each malformed field is a 400 problem and creates nothing."""
    before = db_query("SELECT COUNT(*) FROM subscribers")[0][0]
    r = http("POST", "/v1/admin/subscribers", body, token=admin_key)
    assert_problem(r, 400, "invalid_request")
    assert db_query("SELECT COUNT(*) FROM subscribers")[0][0] == before


# --- top-ups: bad input, idempotency ---------------------------------------

BAD_AMOUNTS = ["100", -1, 0, 2 ** 63, 2 ** 53 + 1, 1.5, None, True, [], {},
               1e300, 10 ** 12]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_topup_bad_amount_changes_nothing(admin_key, subscriber, amount):
    """Wrong-typed, negative, zero, fractional and overflowing amounts:
    400 and no movement (catches a cast that wraps 2^63 to negative)."""
    s = subscriber(balance=1000)
    before = ledger_size()
    r = topup(admin_key, s["msisdn"], amount)
    assert_problem(r, 400, "invalid_request")
    assert account(s["msisdn"])["balance"] == 1000
    assert ledger_size() == before


@pytest.mark.parametrize("case", ["no-reference", "long-reference",
                                  "number-reference", "not-json", "array",
                                  "no-key", "bad-key", "long-key"])
def test_topup_bad_request(admin_key, subscriber, case):
    s = subscriber(balance=1000)
    path = f"/v1/admin/subscribers/{s['msisdn']}/topups"
    key = {"Idempotency-Key": secrets.token_hex(8)}
    body, raw, code = {"amount": 5, "reference": "x"}, None, "invalid_request"
    if case == "no-reference":
        body = {"amount": 5}
    elif case == "long-reference":
        body["reference"] = "r" * 129
    elif case == "number-reference":
        body["reference"] = 7
    elif case == "not-json":
        raw = "{amount: 5"
    elif case == "array":
        raw = "[1,2]"
    elif case == "no-key":
        key, code = {}, "idempotency_key_required"
    elif case == "bad-key":
        key = {"Idempotency-Key": "has space"}
    elif case == "long-key":
        key = {"Idempotency-Key": "k" * 256}
    r = http("POST", path, None if raw else body, raw=raw, headers=key,
             token=admin_key)
    assert_problem(r, 400, code)
    assert account(s["msisdn"])["balance"] == 1000


def test_topup_unknown_and_malformed_msisdn(admin_key):
    assert_problem(topup(admin_key, new_msisdn(), 100), 404, "not_found")
    assert_problem(topup(admin_key, "12ab", 100), 400, "invalid_request")
    r = http("GET", "/v1/admin/subscribers/86100000000001", token=admin_key)
    assert_problem(r, 404, "not_found")


def test_topup_replay_and_reuse(admin_key, subscriber):
    """Same key + same body replays byte-for-byte; another body is 422;
    catches a retry that moves money twice."""
    s = subscriber()
    key = secrets.token_hex(8)
    first = topup(admin_key, s["msisdn"], 700, key)
    assert first.status == 201, first
    again = topup(admin_key, s["msisdn"], 700, key)
    assert again.status == 201 and again.body == first.body
    assert again.headers.get("idempotent-replayed") == "true"
    other = topup(admin_key, s["msisdn"], 701, key)
    assert_problem(other, 422, "idempotency_key_reused")
    assert account(s["msisdn"])["balance"] == 700


def test_topup_same_key_concurrently_moves_money_once(admin_key, subscriber):
    """20 concurrent requests with one key: one top-up; the others replay
    it or get 409 in progress (catches a missing lock on the key)."""
    s = subscriber()
    key = secrets.token_hex(8)
    with cf.ThreadPoolExecutor(20) as ex:
        rs = list(ex.map(lambda _: topup(admin_key, s["msisdn"], 300, key),
                         range(20)))
    ok = [r for r in rs if r.status == 201]
    busy = [r for r in rs if r.status == 409]
    assert len(ok) + len(busy) == 20, rs
    assert ok and all(r.body == ok[0].body for r in ok)
    for r in busy:
        assert_problem(r, 409, "idempotency_in_progress")
    assert account(s["msisdn"])["balance"] == 300
    n = db_query("SELECT COUNT(*) FROM ledger_txns t JOIN subscribers s ON"
                 " s.id = t.subscriber_id WHERE s.msisdn = %s",
                 (s["msisdn"],))[0][0]
    assert n == 1
    assert_audit()


# --- concurrency on the conditional debit -----------------------------------

def reserve(msisdn, amount):
    p = vasctl("hold", "reserve", msisdn, amount, check=False)
    return p.returncode == 0, p.stdout.strip() or p.stderr.strip()


@pytest.mark.parametrize("k", [1, 3, 7])
def test_race_prepaid_exactly_k(subscriber, k):
    """Balance for exactly K reservations, 3K+2 concurrent attempts: exactly
    K succeed and available funds end at 0 (catches read-then-write)."""
    s = subscriber(balance=100 * k)
    with cf.ThreadPoolExecutor(12) as ex:
        res = list(ex.map(lambda _: reserve(s["msisdn"], 100),
                          range(3 * k + 2)))
    assert sum(ok for ok, _ in res) == k, res
    assert all("insufficient" in msg.lower() for ok, msg in res if not ok)
    acc = account(s["msisdn"])
    assert acc["balance"] - acc["held"] == 0
    assert_audit()


def test_race_postpaid_stops_at_credit_limit(subscriber):
    """Postpaid: K charges take the balance to exactly -limit."""
    s = subscriber(plan="postpaid", credit_limit=500)
    with cf.ThreadPoolExecutor(12) as ex:
        holds = [h for ok, h in ex.map(lambda _: reserve(s["msisdn"], 100),
                                       range(16)) if ok]
    assert len(holds) == 5
    for h in holds:
        vasctl("hold", "capture", h)
    acc = account(s["msisdn"])
    assert acc == {"balance": -500, "held": 0, "spent_day": 500}
    assert_audit()


def test_race_daily_cap(subscriber):
    """A daily cap of 300 with plenty of money: exactly 3 of 100 pass."""
    s = subscriber(balance=10000, caps={"daily": 300})
    with cf.ThreadPoolExecutor(12) as ex:
        res = list(ex.map(lambda _: reserve(s["msisdn"], 100), range(12)))
    assert sum(ok for ok, _ in res) == 3
    assert all("cap" in msg.lower() for ok, msg in res if not ok)
    assert account(s["msisdn"])["spent_day"] == 300


# --- holds ------------------------------------------------------------------

def test_hold_capture_less_releases_rest(subscriber):
    """Capture 100 of 300: balance -100, nothing stays held, cap room of
    the uncaptured 200 is given back."""
    s = subscriber(balance=500, caps={"daily": 400})
    ok, h = reserve(s["msisdn"], 300)
    assert ok, h
    assert account(s["msisdn"]) == {"balance": 500, "held": 300,
                                    "spent_day": 300}
    vasctl("hold", "capture", h, 100)
    assert account(s["msisdn"]) == {"balance": 400, "held": 0,
                                    "spent_day": 100}
    again = vasctl("hold", "capture", h, check=False)
    assert again.returncode != 0            # a hold is captured once
    assert_audit()


def test_hold_release_gives_everything_back(subscriber):
    s = subscriber(balance=500)
    ok, h = reserve(s["msisdn"], 500)
    assert ok
    assert not reserve(s["msisdn"], 1)[0]   # held funds are not available
    vasctl("hold", "release", h)
    assert account(s["msisdn"]) == {"balance": 500, "held": 0,
                                    "spent_day": 0}


def test_expired_hold_released_by_janitor_and_not_capturable(subscriber):
    """A hold past its TTL: capture is refused and the janitor (inside
    vasgw) releases it (catches holds that lock funds forever)."""
    s = subscriber(balance=500)
    p = subprocess.run(
        ENV["VASCTL"].split() + ["hold", "reserve", s["msisdn"], "200"],
        env=dict(os.environ, VASGW_BILLING_HOLD_TTL_S="1"),
        capture_output=True, text=True, check=True)
    h = p.stdout.strip()
    time.sleep(1.2)
    cap = vasctl("hold", "capture", h, check=False)
    assert cap.returncode != 0 and "expired" in cap.stderr.lower()
    assert wait_until(lambda: account(s["msisdn"])["held"] == 0, 10)
    state = db_query("SELECT state FROM holds WHERE id = %s", (h,))[0][0]
    assert state == "expired"
    assert account(s["msisdn"])["balance"] == 500
    assert_audit()


# --- refunds ----------------------------------------------------------------

@pytest.fixture
def charged(subscriber):
    """A subscriber with one 1000-fen charge split 70/30 with a provider."""
    provider = 900000 + secrets.randbelow(99999)
    db_query("INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency,"
             " created_at, updated_at) WITH RECURSIVE b(n) AS (SELECT 0 UNION"
             " ALL SELECT n + 1 FROM b WHERE n < 15) SELECT 'provider', %s, n,"
             " 'CNY', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM b", (provider,))
    s = subscriber(balance=1500)
    h = vasctl("hold", "reserve", s["msisdn"], 1000, "--provider", provider,
               "--share-bp", 7000).stdout.strip()
    out = vasctl("hold", "capture", h).stdout
    s["txn"] = out.split("txn ")[1].split(",")[0]
    s["provider"] = provider
    return s


def test_refund_partial_rest_then_refused(charged):
    """Partial + rest refund; one more fen is refused; the pro-rata split
    returns exactly the provider's and carrier's parts (700/300)."""
    s, txn = charged, charged["txn"]
    out = vasctl("refund", txn, 333, "--reason", "partial").stdout
    assert "provider 233, carrier 100" in out     # floor(700 * 333 / 1000)
    vasctl("refund", txn, "--reason", "rest")
    more = vasctl("refund", txn, 1, "--reason", "more", check=False)
    assert more.returncode != 0
    assert account(s["msisdn"])["balance"] == 1500
    parts = db_query("SELECT SUM(provider_share), SUM(carrier_share),"
                     " COUNT(*) FROM ledger_txns WHERE corrects_txn_id = %s",
                     (txn,))[0]
    assert (parts[0], parts[1], parts[2]) == (700, 300, 2)
    cdrs = db_query("SELECT SUM(c.amount), COUNT(*) FROM cdrs c JOIN"
                    " ledger_txns t ON t.id = c.txn_id WHERE t.id = %s OR"
                    " t.corrects_txn_id = %s", (txn, txn))[0]
    assert (cdrs[0], cdrs[1]) == (0, 3)
    revenue = db_query("SELECT COALESCE(SUM(balance), 0) FROM accounts"
                       " WHERE kind = 'provider' AND owner_id = %s",
                       (s["provider"],))[0][0]
    assert revenue == 0
    assert_audit()


def test_full_refund_is_idempotent(charged):
    s, txn = charged, charged["txn"]
    first = vasctl("refund", txn, "--reason", "dup", "--key", "r-" + txn)
    again = vasctl("refund", txn, "--reason", "dup", "--key", "r-" + txn)
    assert "replayed" in again.stdout and "fully refunded" in first.stdout
    assert account(s["msisdn"])["balance"] == 1500
    assert_audit()


def test_refund_takes_revenue_back_from_the_charges_bucket(charged):
    """A charge made before the bucket count changed (migration 017: 16 ->
    64) sits in another bucket than the subscriber's current one: the
    refund must post to the counter-accounts the charge credited. Catches
    a refund posted to the subscriber's current bucket (the old bucket's
    revenue would stay, the new one go negative)."""
    s, txn = charged, charged["txn"]
    (b,) = db_query("SELECT bucket FROM ledger_txns WHERE id = %s", (txn,))[0]
    old = (b + 1) % 64  # where the charge would have gone with 16 buckets
    for kind, owner in (("provider", s["provider"]), ("carrier", 0)):
        (src, dst) = [db_query("SELECT id FROM accounts WHERE kind = %s AND"
                               " owner_id = %s AND bucket = %s",
                               (kind, owner, k))[0][0] for k in (b, old)]
        (amt,) = db_query("SELECT amount FROM postings WHERE txn_id = %s AND"
                          " account_id = %s", (txn, src))[0]
        db_query("UPDATE postings SET account_id = %s WHERE txn_id = %s AND"
                 " account_id = %s", (dst, txn, src))
        db_query("UPDATE accounts SET balance = balance + IF(id = %s, %s,"
                 " -%s) WHERE id IN (%s, %s)", (dst, amt, amt, src, dst))
    db_query("UPDATE ledger_txns SET bucket = %s WHERE id = %s", (old, txn))
    assert_audit()
    vasctl("refund", txn, "--reason", "old bucket")
    (refund,) = db_query("SELECT id FROM ledger_txns WHERE corrects_txn_id ="
                         " %s", (txn,))[0]
    buckets = db_query("SELECT a.kind, a.bucket FROM postings p JOIN"
                       " accounts a ON a.id = p.account_id WHERE p.txn_id = %s"
                       " AND a.kind <> 'subscriber'", (refund,))
    assert sorted(buckets) == [("carrier", old), ("provider", old)], buckets
    assert db_query("SELECT bucket FROM ledger_txns WHERE id = %s",
                    (refund,))[0][0] == old
    revenue = db_query("SELECT balance FROM accounts WHERE kind = 'provider'"
                       " AND owner_id = %s AND bucket = %s",
                       (s["provider"], old))[0][0]
    assert revenue == 0
    assert_audit()


# --- the audit can fail ------------------------------------------------------

def test_audit_reports_a_corrupted_posting(charged):
    """Corrupt one posting directly in SQL: the audit must name it (a
    check that cannot fail proves nothing), then restore it."""
    pid, txn = db_query("SELECT id, txn_id FROM postings ORDER BY id DESC"
                        " LIMIT 1")[0]
    db_query("UPDATE postings SET amount = amount + 1 WHERE id = %s", (pid,))
    try:
        ok, out = audit_clean()
        assert not ok
        assert f"txn {txn}: sum 1" in out
        assert "balance equals the sum of its postings" in out
    finally:
        db_query("UPDATE postings SET amount = amount - 1 WHERE id = %s",
                 (pid,))
    assert_audit()


# --- faults -------------------------------------------------------------------

def master_pid():
    return int(open(ENV["VAS_VASGW_PID_FILE"]).read())


def worker_pids():
    out = subprocess.run(["pgrep", "-P", str(master_pid())],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def kill_workers_randomly(seconds, kills_max=4):
    """kill -9 a random child of the master every ~1 s for a while;
    returns how many were killed."""
    stop, n = time.time() + seconds, 0
    while time.time() < stop and n < kills_max:
        time.sleep(0.7 + secrets.randbelow(500) / 1000)
        pids = worker_pids()
        if pids:
            os.kill(secrets.choice(pids), signal.SIGKILL)
            n += 1
    return n


def settle_topups(admin_key, msisdn, keys, amount, deadline=60):
    """Retries each key until it answers 201 (the client's duty after a
    503 or a dropped connection); returns the final bodies."""
    done, end = {}, time.time() + deadline
    while len(done) < len(keys) and time.time() < end:
        for k in keys:
            if k not in done:
                r = topup(admin_key, msisdn, amount, k, reference=k)
                if r.status == 201:
                    done[k] = r.json()
        time.sleep(0.2)
    return done


def test_kill_workers_during_topups(admin_key, subscriber):
    """kill -9 workers at random moments under a loop of money writes:
    every key ends in the ledger exactly once, audit clean."""
    s = subscriber()
    keys = [secrets.token_hex(8) for _ in range(120)]

    with cf.ThreadPoolExecutor(9) as ex:
        k = ex.submit(kill_workers_randomly, 6)
        list(ex.map(lambda key: topup(admin_key, s["msisdn"], 10, key,
                                      reference=key), keys))
        assert k.result() >= 1
    done = settle_topups(admin_key, s["msisdn"], keys, 10)
    assert len(done) == len(keys)
    rows = db_query("SELECT reference, COUNT(*) FROM ledger_txns t JOIN"
                    " subscribers s ON s.id = t.subscriber_id WHERE"
                    " s.msisdn = %s GROUP BY reference", (s["msisdn"],))
    counts = {r[0]: r[1] for r in rows}
    assert all(counts.get(k) == 1 for k in keys), counts
    assert account(s["msisdn"])["balance"] == 10 * len(keys)
    assert_audit()


def test_mysql_restart_under_load(admin_key, subscriber):
    """MariaDB stopped and started during load: clear 503 problems, no
    partial transaction, and service resumes without restarting vasgw."""
    s = subscriber()
    master = master_pid()
    stack = [str(ROOT / "scripts/stack.sh")]
    name = ENV.get("VAS_STACK_NAME", "test")
    keys = [secrets.token_hex(8) for _ in range(60)]
    statuses = []

    def load():
        for k in keys:
            r = topup(admin_key, s["msisdn"], 5, k, reference=k)
            statuses.append(r.status)
            if r.status >= 500:
                assert r.headers["content-type"].startswith(
                    "application/problem+json"), r
            time.sleep(0.05)

    with cf.ThreadPoolExecutor(2) as ex:
        f = ex.submit(load)
        time.sleep(0.5)
        subprocess.run(stack + ["stop-part", name, "mysql"], check=True,
                       capture_output=True)
        time.sleep(2)
        subprocess.run(stack + ["start-part", name, "mysql"], check=True,
                       capture_output=True)
        f.result()
    assert 503 in statuses, statuses
    assert set(statuses) <= {201, 503}, statuses
    done = settle_topups(admin_key, s["msisdn"], keys, 5)
    assert len(done) == len(keys)
    assert account(s["msisdn"])["balance"] == 5 * len(keys)
    assert master_pid() == master
    assert_audit()
