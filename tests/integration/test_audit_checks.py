"""vasctl audit runs every check it documents (issue 10, item 6; issue 15).

The store checks once never ran: ctl referenced cat_audit_run through a
weak symbol that the static link never pulled in, so `vasctl audit` printed
13 ledger checks and a clean bill whatever the store's state. These tests
count the checks by name and make a store check fire.
"""
import os
import pty
import re
import subprocess

from conftest import ENV, db_query, vasctl

LEDGER_CHECKS = 13
STORE_CHECKS = [
    "purchase without its entitlement",
    "purchase whose charge has not exactly one CDR",
    "purchase whose charge txn is missing or differs",
    "purchase without exactly one purchase.completed outbox row",
    "refunds not matching the purchase",
    "purchase status inconsistent with refunds",
    "refund without its ledger refund txn",
    "fully refunded ringtone still entitled",
]


def run_audit():
    p = vasctl("audit", check=False)
    return p.returncode, p.stdout, p.stderr


def test_every_check_runs_and_is_counted():
    """Catches a check (or a whole part) that silently drops out."""
    rc, out, err = run_audit()
    assert rc == 0, out + err
    lines = re.findall(r"^(ok|FAIL) +(ledger|store): (.*)$", out, re.M)
    ledger = [l for l in lines if l[1] == "ledger"]
    store = [l for l in lines if l[1] == "store"]
    assert len(ledger) == LEDGER_CHECKS, out
    assert len(store) == len(STORE_CHECKS), out
    for name in STORE_CHECKS:
        assert any(l[2].startswith(name) for l in store), name
    total = LEDGER_CHECKS + len(STORE_CHECKS)
    assert re.search(r"^audit: %d checks \(ledger %d, store %d\), 0 "
                     r"violation\(s\), [0-9.]+ s$" % (
                         total, LEDGER_CHECKS, len(STORE_CHECKS)), out, re.M)


def test_a_store_violation_fails_the_audit():
    """A purchase whose entitlement does not exist (and has no outbox row)
    is named by the store checks and exits 1 (it passed before: the store
    checks never ran)."""
    db_query("INSERT INTO purchases (buyer_user_id, subscriber_id,"
             " recipient_user_id, item_id, amount, currency, status,"
             " entitlement_id, balance_after, created_at) VALUES"
             " ('audit-ghost', 0, 'audit-ghost', 1, 0, 'CNY', 'completed',"
             " 999999999, 0, UTC_TIMESTAMP(3))")
    pid = db_query("SELECT MAX(id) FROM purchases WHERE buyer_user_id ="
                   " 'audit-ghost'")[0][0]
    try:
        rc, out, _ = run_audit()
        assert rc == 1
        assert re.search(r"VIOLATION purchase without its entitlement.*: %d "
                         r"999999999" % pid, out), out
        assert re.search(r"VIOLATION purchase without exactly one "
                         r"purchase.completed outbox row.*: %d 0" % pid, out)
        assert re.search(r"^FAIL store: purchase without its entitlement",
                         out, re.M)
        assert re.search(r"^audit: 21 checks .* 2 violation\(s\)", out, re.M)
    finally:
        db_query("DELETE FROM purchases WHERE id = %s", (pid,))
    assert run_audit()[0] == 0


def test_ledger_reference_and_balance_violations_are_named(subscriber):
    """The set-based rewrites of two ledger checks (issue 15) still find
    what they are for. Catches: the account half of the reference check
    lost (it reads only the distinct accounts of the postings), a posting
    of a missing transaction not reported (or reported twice when its
    account is missing too), an account whose balance differs from its
    postings not reported after the grouping moved to the index."""
    subscriber(balance=100)  # a ledger transaction to point at
    txn = db_query("SELECT MAX(id) FROM ledger_txns")[0][0]
    ghost_txn, ghost_acct = 8999999999999999, 999999999
    try:
        db_query("INSERT INTO accounts (kind, owner_id, bucket, currency,"
                 " balance, created_at, updated_at) VALUES ('funding',"
                 " 987654, 0, 'CNY', 7, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))")
        lone = db_query("SELECT id FROM accounts WHERE kind = 'funding' AND"
                        " owner_id = 987654")[0][0]
        db_query("INSERT INTO postings (txn_id, account_id, amount,"
                 " created_at) VALUES (%s, %s, 0, UTC_TIMESTAMP(3)),"
                 " (%s, %s, 0, UTC_TIMESTAMP(3)), (%s, %s, 0,"
                 " UTC_TIMESTAMP(3))",
                 (ghost_txn, lone, txn, ghost_acct, ghost_txn, ghost_acct))
        ghosts = [r[0] for r in db_query(
            "SELECT id FROM postings WHERE txn_id = %s OR account_id = %s"
            " ORDER BY id", (ghost_txn, ghost_acct))]
        assert len(ghosts) == 3
        rc, out, _ = run_audit()
        assert rc == 1
        for pid in ghosts:
            assert len(re.findall(
                r"^VIOLATION postings only reference existing transactions"
                r" and accounts: posting %d$" % pid, out, re.M)) == 1, out
        assert re.search(r"VIOLATION account balance equals the sum of its"
                         r" postings: account %d \(funding 987654/0\):"
                         r" balance 7 <> postings 0$" % lone, out, re.M), out
        assert re.search(r"^audit: 21 checks .* 4 violation\(s\)", out,
                         re.M), out
    finally:
        db_query("DELETE FROM postings WHERE txn_id = %s OR account_id = %s",
                 (ghost_txn, ghost_acct))
        db_query("DELETE FROM accounts WHERE kind = 'funding' AND owner_id ="
                 " 987654")
    assert run_audit()[0] == 0


def test_progress_on_a_terminal_only():
    """Progress ([k/N …]) goes to stderr when it is a terminal and never
    into the report on stdout."""
    import shlex
    master, slave = pty.openpty()
    p = subprocess.run(shlex.split(ENV["VASCTL"]) + ["audit"],
                       stdout=subprocess.PIPE, stderr=slave, timeout=120,
                       env=dict(os.environ, **ENV))
    os.close(slave)
    seen = b""
    try:
        while True:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    assert p.returncode == 0
    assert b"[1/21 " in seen and b"[21/21 " in seen, seen[-200:]
    assert b"[1/" not in p.stdout
    _, _, err = run_audit()  # stderr a pipe: no progress
    assert "[1/" not in err
