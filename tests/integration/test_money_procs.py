"""Money writes as stored procedures (migrations/028_money_procs.sql, issue 8
speed): a purchase's statements on the wire, and the procedures' own checks.

Each test names the bug it catches."""
import json
import secrets
import time
from pathlib import Path

import pymysql
import pytest

from conftest import (ENV, audit_clean, db_connect, db_query, http)
from store_helpers import feed_items
from test_store import balance, buy


@pytest.fixture(scope="module")
def tune():
    return feed_items(2, 300)[0]


def root():
    """The stack's root over its unix socket (the OS user that made it), to
    switch the general log."""
    return pymysql.connect(unix_socket=ENV["VAS_MYSQL_SOCKET"], user="root",
                           autocommit=True)


def logged(fn):
    """Runs fn() with MariaDB's general log on; returns its rows
    (thread_id, command_type, argument) in order."""
    c = root()
    try:
        with c.cursor() as cur:
            cur.execute("SET GLOBAL log_output = 'TABLE'")
            cur.execute("TRUNCATE mysql.general_log")
            cur.execute("SET GLOBAL general_log = 1")
        try:
            fn()
        finally:
            with c.cursor() as cur:
                cur.execute("SET GLOBAL general_log = 0")
        with c.cursor() as cur:
            cur.execute("SELECT thread_id, command_type, argument FROM"
                        " mysql.general_log WHERE thread_id <> CONNECTION_ID()"
                        " ORDER BY event_time")
            rows = cur.fetchall()
            cur.execute("TRUNCATE mysql.general_log")
    finally:
        c.close()
    return [(t, k, a.decode() if isinstance(a, bytes) else a)
            for t, k, a in rows]


def transaction_of(rows, marker):
    """The commands of the transaction (START … COMMIT) on the connection
    that sent a statement containing marker."""
    tid = next(t for t, _, a in rows if marker in a)
    mine = [(k, a) for t, k, a in rows if t == tid]
    at = max(i for i, (_, a) in enumerate(mine) if marker in a)
    start = max(i for i, (_, a) in enumerate(mine[:at])
                if a.startswith("START TRANSACTION"))
    end = next(i for i, (_, a) in enumerate(mine) if i > at and
               a.startswith("COMMIT"))
    return [a for k, a in mine[start:end + 1]
            if k in ("Query", "Execute")
            # cache fills, not per request: the host's catalog generation
            # poll (CAT_GEN_POLL_MS), the first read of an item on this
            # host and of a provider's counter-accounts on this thread
            and not a.startswith("SELECT generation FROM catalog_meta")
            and not a.startswith("SELECT bucket, id FROM accounts")
            and not (a.startswith("SELECT i.id, i.kind")
                     and "FROM items i" in a)]


def test_purchase_is_one_call(subscriber, tune):
    """Bug: a paid purchase's writes (entitlement, debit, row, outbox row,
    webhook event, ledger txn, CDR, postings, counter-accounts, the charge
    id) went back to one round trip each: 15 client statements per purchase
    (9 with only the charge's writes in vas_purchase_charge) instead of 6:
    START, the Idempotency-Key's claim, the buyer's row, the CALL, the
    reply's record, COMMIT."""
    s = subscriber(balance=10000)
    r = {}
    rows = logged(lambda: r.setdefault("r", buy(s, {"item_id": tune[0]})))
    assert r["r"].status == 201, r["r"]
    txn = transaction_of(rows, "CALL vas_buy(")
    assert len(txn) <= 6, "\n".join(txn)
    for table in ("entitlements", "UPDATE accounts", "INTO purchases",
                  "ledger_txns", "cdrs", "postings", "outbox "):
        assert not any(table in a and not a.startswith("CALL") for a in txn), \
            "\n".join(txn)
    body = r["r"].json()
    pid = body["id"]
    got = db_query("SELECT p.charge_txn_id, p.balance_after, t.amount,"
                   " c.purchase_id, c.amount, t.reference, p.entitlement_id"
                   " FROM purchases p JOIN ledger_txns t ON t.id ="
                   " p.charge_txn_id JOIN cdrs c ON c.txn_id = t.id"
                   " WHERE p.id = %s", (pid,))
    assert got and got[0][1] == 9700 and got[0][2] == 300, got
    assert got[0][3] == pid and got[0][4] == 300, got
    assert got[0][5] == "purchase:%d" % pid, got
    assert got[0][6] == body["entitlement_id"], got
    assert body["balance_after"] == 9700 == balance(s)
    out = db_query("SELECT payload FROM outbox WHERE user_id = %s AND type ="
                   " 'purchase.completed'", (s["user"],))
    assert len(out) == 1
    payload = json.loads(out[0][0])
    assert payload["purchase_id"] == pid, payload
    assert payload["entitlement_id"] == body["entitlement_id"], payload
    assert payload["item_id"] == tune[0] and payload["amount"] == 300
    ok, out = audit_clean()
    assert ok, out


def test_gift_posts_in_one_call(subscriber, tune):
    """Bug: a gift's writes (the debit, the recipient's check, entitlement,
    row, two outbox rows, webhook event, ledger txn, CDR, postings,
    counter-accounts, the charge id) went back to one round trip each (10
    client statements with only the charge's writes in one CALL) instead of
    vas_buy's one CALL: START, the claim, the buyer's row, the CALL, the
    reply's record, COMMIT."""
    a, b = subscriber(balance=10000), subscriber(balance=0)
    r = {}
    rows = logged(lambda: r.setdefault("r", buy(
        a, {"item_id": tune[1], "gift_to": b["user"]})))
    assert r["r"].status == 201, r["r"]
    txn = transaction_of(rows, "CALL vas_buy(")
    assert len(txn) <= 6, "\n".join(txn)
    for table in ("entitlements", "UPDATE accounts", "INTO purchases",
                  "ledger_txns", "cdrs", "postings", "outbox ",
                  "FROM subscribers"):
        assert not any(table in a and not a.startswith("CALL")
                       for a in txn[3:]), "\n".join(txn)
    assert balance(a) == 10000 - r["r"].json()["amount"]
    assert db_query("SELECT COUNT(*) FROM outbox WHERE user_id = %s AND type ="
                    " 'gift.received'", (b["user"],))[0][0] == 1


def test_topup_posts_with_statements(admin_key, subscriber):
    """A top-up's ledger post is four typed statements, not vas_bill_post's
    CALL (measured: the procedure call cost mariadbd more than the round
    trips it saved). Catches a post that loses one of its writes: the
    ledger row, the postings and the funding counter, 10 statements in
    all, and the audit clean. And the order: the funding counter (a row
    lock every subscriber of its bucket shares) is the last write before
    the reply's record and COMMIT; the reference row came after it, and
    concurrent top-ups of a bucket queued behind one more round trip
    (issue 8, seventh session: row-lock waits 0.20 -> 0.15 per top-up at
    64 clients)."""
    s = subscriber(balance=0)
    r = {}
    rows = logged(lambda: r.setdefault("r", http(
        "POST", f"/v1/admin/subscribers/{s['msisdn']}/topups",
        {"amount": 700, "reference": "proc-" + secrets.token_hex(4)},
        token=admin_key, headers={"Idempotency-Key": secrets.token_hex(8)})))
    assert r["r"].status == 201, r["r"]
    txn = transaction_of(rows, "INSERT INTO topup_references")
    assert len(txn) <= 10, "\n".join(txn)
    for stmt in ("INSERT INTO ledger_txns", "INSERT INTO postings",
                 "UPDATE accounts SET balance = balance + IF"):
        assert any(a.startswith(stmt) for a in txn), "\n".join(txn)
    assert txn[-3].startswith("UPDATE accounts SET balance = balance + IF"), \
        "\n".join(txn)
    assert txn[-2].startswith("UPDATE idempotency_keys"), "\n".join(txn)
    assert balance(s) == 700
    ok, out = audit_clean()
    assert ok, out


def _post_args(acct1, leg1, acct2=0, leg2=0, sub_amount=-100):
    """vas_ledger_post's IN arguments for a 100-fen charge of subscriber 1 with
    the given legs (nothing of it need exist: the checks come first)."""
    return ["charge", 1, 100, "CNY", 0, 0, 100, 1, None, None, "proc-test",
            "test", "test", None, "charge", 1, None, None, None, None,
            "2026-01-01", 1, sub_amount, acct1, leg1, acct2, leg2]


def test_ledger_post_refuses_unbalanced_legs():
    """Bug: the procedure wrote whatever legs it was given; legs that do not
    sum to zero (a caller's bug) must fail before anything is written."""
    before = db_query("SELECT COUNT(*) FROM ledger_txns")[0][0]
    c = db_connect()
    try:
        with c.cursor() as cur, pytest.raises(pymysql.MySQLError) as e:
            cur.execute("CALL vas_ledger_post(%s, @txn)"
                        % ", ".join(["%s"] * 27), _post_args(1, 60, 2, 30))
        assert "legs do not balance" in str(e.value)
    finally:
        c.close()
    assert db_query("SELECT COUNT(*) FROM ledger_txns")[0][0] == before


def test_ledger_post_refuses_missing_counter_account():
    """Bug: an UPDATE of counter-accounts that matched no row went
    unnoticed: the postings would name an account whose balance never
    moved (the audit's balance = SUM(postings) then fails)."""
    c = db_connect()
    c.autocommit(False)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) + 1000 FROM accounts")
            missing = cur.fetchone()[0]
            cur.execute("SELECT COUNT(*) FROM ledger_txns")
            before = cur.fetchone()[0]
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute("CALL vas_ledger_post(%s, @txn)"
                            % ", ".join(["%s"] * 27),
                            _post_args(missing, 100))
            assert "ledger accounts missing" in str(e.value)
        c.rollback()
    finally:
        c.close()
    assert db_query("SELECT COUNT(*) FROM ledger_txns")[0][0] == before


def test_debit_limits_written_once():
    """Bug: a debit's limits written in two places again (as BILL_DEBIT_SQL
    in billing/ and its copy inside vas_purchase were until migration 032),
    so a limit changed in one copy is enforced on some paths only. Every
    stored procedure that debits with limits must do it by calling
    vas_debit; the only conditional debit in the database is vas_debit's
    (the C code has none: it only explains a refusal, bill_debit_refused)."""
    rows = db_query("SELECT ROUTINE_NAME, ROUTINE_DEFINITION FROM"
                    " information_schema.ROUTINES WHERE ROUTINE_SCHEMA ="
                    " DATABASE() AND ROUTINE_TYPE = 'PROCEDURE'")
    body = {n: (d.decode() if isinstance(d, bytes) else d) for n, d in rows}
    limits = sorted(n for n, d in body.items() if ">= -credit_limit" in d)
    assert limits == ["vas_debit"], limits
    callers = sorted(n for n, d in body.items() if "CALL vas_debit(" in d)
    assert callers == ["vas_buy", "vas_hold"], callers
    src = Path(__file__).resolve().parents[2]
    debits = [str(p) for d in ("billing", "store", "services", "ctl", "lobby")
              for p in (src / d).glob("*.c")
              if "UPDATE accounts SET spent_day" in p.read_text()]
    assert debits == [], debits


def test_purchase_after_lost_connections(subscriber, tune):
    """Bug: the first statement of a transaction (START TRANSACTION and the
    Idempotency-Key's claim) not sent again on a fresh connection when the
    worker's connection had died (server restart, wait_timeout): the first
    purchase on each such thread would answer 503. Every vasgw connection
    is killed, then every purchase must go through, once."""
    s = subscriber(balance=10000)
    r = root()
    try:
        with r.cursor() as cur:
            cur.execute("SELECT id FROM information_schema.PROCESSLIST WHERE"
                        " USER = %s", (ENV["VAS_MYSQL_USER"],))
            ids = [row[0] for row in cur.fetchall()]
            assert ids
            for i in ids:
                try:
                    cur.execute("KILL CONNECTION %d" % i)
                except pymysql.MySQLError:
                    pass  # already gone
    finally:
        r.close()
    for _ in range(8):
        got = buy(s, {"item_id": tune[1]})
        assert got.status in (201, 409), got
        if got.status == 409:
            assert got.json()["code"] == "already_owned", got.json()
    assert db_query("SELECT COUNT(*) FROM purchases WHERE buyer_user_id = %s",
                    (s["user"],))[0][0] == 1
    ok, out = audit_clean()
    assert ok, out
