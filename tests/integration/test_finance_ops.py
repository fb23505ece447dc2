"""Provider statements, operator look-ups and actions (issue 10, items 4, 5)."""
import csv
import io
import json
import secrets
import time

import pytest

from conftest import (ENV, assert_problem, audit_clean, db_query, http,
                      vasctl, wait_until)
from store_helpers import feed_items


@pytest.fixture
def shop():
    return feed_items(2, 1000)


def buy(sub, item):
    r = http("POST", "/v1/purchases", {"item_id": item}, token=sub["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    return r.json()


def month_of(ts_sql):
    return db_query("SELECT DATE_FORMAT(%s + INTERVAL 8 HOUR, '%%Y-%%m')",
                    (ts_sql,))[0][0]


def statement(provider, month):
    p = vasctl("statement", "--provider", provider, "--month", month)
    rows = list(csv.DictReader(io.StringIO(p.stdout, newline="")))
    return rows[:-1], rows[-1]


def ledger_totals(provider, month):
    """The same figures straight from postings (business month, UTC+8)."""
    r = db_query(
        "SELECT COALESCE(SUM(IF(t.kind <> 'refund' AND a.kind = 'subscriber',"
        " -p.amount, 0)), 0), COALESCE(SUM(IF(t.kind = 'refund' AND a.kind ="
        " 'subscriber', p.amount, 0)), 0), COALESCE(SUM(IF(a.kind ="
        " 'provider', p.amount, 0)), 0), COALESCE(SUM(IF(a.kind = 'carrier',"
        " p.amount, 0)), 0) FROM ledger_txns t JOIN postings p ON p.txn_id ="
        " t.id JOIN accounts a ON a.id = p.account_id WHERE t.provider_id = %s"
        " AND DATE_FORMAT(t.created_at + INTERVAL 8 HOUR, '%%Y-%%m') = %s",
        (provider, month))[0]
    return [int(x) for x in r]


def test_statement_totals_equal_postings_and_refunds_land_when_booked(
        subscriber, shop, admin_key):
    # Catches: a statement computed from prices or purchases instead of the
    # ledger, a refund counted in its purchase's month, shares that do not
    # add up to net.
    items, provider = shop
    s = subscriber(balance=10000)
    p1 = buy(s, items[0])
    p2 = buy(s, items[1])
    # p1 was booked last month: move its charge back (rows only carry dates)
    txn = db_query("SELECT charge_txn_id FROM purchases WHERE id = %s",
                   (p1["id"],))[0][0]
    db_query("UPDATE ledger_txns SET created_at = created_at - INTERVAL 40"
             " DAY WHERE id = %s", (txn,))
    r = http("POST", f"/v1/admin/purchases/{p1['id']}/refunds",
             {"amount": 300, "reason": "test"}, token=admin_key,
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    now = month_of(db_query("SELECT UTC_TIMESTAMP()")[0][0])
    then = month_of(db_query("SELECT created_at FROM ledger_txns WHERE id ="
                             " %s", (txn,))[0][0])
    assert now != then
    for month in (now, then):
        rows, tot = statement(provider, month)
        gross, refunds, prov, carr = ledger_totals(provider, month)
        assert tot["sku"] == "TOTAL"
        assert (int(tot["gross"]), int(tot["refunds"]),
                int(tot["provider_share"]), int(tot["carrier_share"])) == \
            (gross, refunds, prov, carr)
        assert int(tot["net"]) == gross - refunds == prov + carr
        assert sum(int(r["net"]) for r in rows) == int(tot["net"])
    rows, tot = statement(provider, then)
    assert (int(tot["gross"]), int(tot["refunds"])) == (p1["amount"], 0)
    rows, tot = statement(provider, now)
    assert (int(tot["gross"]), int(tot["refunds"])) == (p2["amount"], 300)
    assert int(tot["charges"]) == 1
    assert audit_clean()[0]


@pytest.mark.parametrize("args", [
    ["--provider", "1", "--month", "2026-13"],
    ["--provider", "x", "--month", "2026-01"],
    ["--provider", "1", "--month", "2026-1"],
])
def test_statement_bad_arguments_exit_2(args):
    p = vasctl("statement", *args, check=False)
    assert p.returncode == 2 and p.stderr


def test_purchase_refund_from_cli_is_the_api_refund(subscriber, shop):
    # Catches: a CLI refund that moves money but leaves the purchase,
    # entitlement or user behind, or refunds twice when re-run.
    items, _ = shop
    s = subscriber(balance=5000)
    p = buy(s, items[0])
    r1 = vasctl("purchase", "refund", p["id"], "--amount", "400", "--reason",
                "customer call")
    out = json.loads(r1.stdout)
    assert out["amount"] == 400 and out["purchase_id"] == p["id"]
    again = vasctl("purchase", "refund", p["id"], "--amount", "400",
                   "--reason", "customer call")
    assert "replayed" in again.stdout
    assert db_query("SELECT refunded, status FROM purchases WHERE id = %s",
                    (p["id"],))[0] == (400, "partially_refunded")
    rest = vasctl("purchase", "refund", p["id"], "--reason", "rest")
    assert json.loads(rest.stdout)["amount"] == p["amount"] - 400
    assert db_query("SELECT e.status FROM entitlements e JOIN purchases p ON"
                    " p.entitlement_id = e.id WHERE p.id = %s",
                    (p["id"],))[0][0] == "revoked"
    over = vasctl("purchase", "refund", p["id"], "--amount", "1", "--reason",
                  "too much", check=False)
    assert over.returncode == 1 and "exceed" in over.stderr
    missing = vasctl("purchase", "refund", "999999999", "--reason", "x",
                     check=False)
    assert missing.returncode == 1
    assert audit_clean()[0]


def test_subscriber_search_and_purchases_with_refunds(subscriber, shop,
                                                      admin_key):
    # Catches: OFFSET paging that skips or repeats, a prefix search that
    # matches the middle of a number, refunds missing from the history.
    items, _ = shop
    s = subscriber(balance=5000)
    p1 = buy(s, items[0])
    p2 = buy(s, items[1])
    http("POST", f"/v1/admin/purchases/{p1['id']}/refunds",
         {"reason": "x"}, token=admin_key,
         headers={"Idempotency-Key": secrets.token_hex(8)})
    r = http("GET", f"/v1/admin/subscribers?q={s['msisdn'][:11]}&limit=100",
             token=admin_key).json()
    assert s["msisdn"] in [i["msisdn"] for i in r["items"]]
    assert all(i["msisdn"].startswith(s["msisdn"][:11]) for i in r["items"])
    r = http("GET", f"/v1/admin/subscribers?q={s['user']}",
             token=admin_key).json()
    assert [i["msisdn"] for i in r["items"]] == [s["msisdn"]]
    assert http("GET", f"/v1/admin/subscribers?q={s['msisdn'][3:]}",
                token=admin_key).json()["items"] == []
    # keyset pages: all subscribers once each
    seen, cursor = [], None
    while True:
        q = "/v1/admin/subscribers?limit=3" + (f"&cursor={cursor}" if cursor
                                               else "")
        page = http("GET", q, token=admin_key).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == db_query(
        "SELECT COUNT(*) FROM subscribers")[0][0]
    h = http("GET", f"/v1/admin/subscribers/{s['msisdn']}/purchases?limit=1",
             token=admin_key).json()
    assert [i["id"] for i in h["items"]] == [p2["id"]] and h["next_cursor"]
    h2 = http("GET", f"/v1/admin/subscribers/{s['msisdn']}/purchases?limit=1"
              f"&cursor={h['next_cursor']}", token=admin_key).json()
    assert h2["items"][0]["id"] == p1["id"]
    assert h2["items"][0]["status"] == "refunded"
    assert [x["amount"] for x in h2["items"][0]["refunds"]] == [p1["amount"]]
    cli = vasctl("subscriber", "purchases", s["msisdn"]).stdout.splitlines()
    assert [json.loads(x)["id"] for x in cli] == [p2["id"], p1["id"]]
    cli = vasctl("subscriber", "search", s["user"]).stdout.splitlines()
    assert json.loads(cli[0])["msisdn"] == s["msisdn"]


@pytest.mark.parametrize("path", [
    "/v1/admin/subscribers?q=" + "1" * 65,
    "/v1/admin/subscribers?q=%C0%AF",
    "/v1/admin/subscribers?limit=0",
    "/v1/admin/subscribers?cursor=bm9wZQ",
    "/v1/admin/subscribers/12/purchases",
    "/v1/admin/reconciliations?limit=101",
])
def test_lookups_bad_input_400(admin_key, path):
    assert_problem(http("GET", path, token=admin_key), 400, "invalid_request")


def test_unknown_subscriber_purchases_404(admin_key):
    assert_problem(http("GET", "/v1/admin/subscribers/8613999999999/purchases",
                        token=admin_key), 404, "not_found")


def test_only_active_admin_key_is_not_revoked_over_http(admin_key):
    """Bug: POST /v1/admin/keys/{id}/revoke revoked the last active key,
    leaving the carrier no way into the admin API but the host. Now 409
    conflict saying so, and the key keeps working; vasctl on the host may
    still revoke it (a leaked last key must go at once)."""
    key = vasctl("admin-key", "create", "last-" + secrets.token_hex(3))
    key = key.stdout.strip()
    kid = db_query("SELECT MAX(id) FROM admin_keys")[0][0]
    others = [r[0] for r in db_query(
        "SELECT id FROM admin_keys WHERE revoked_at IS NULL AND id <> %s",
        (kid,))]
    assert others
    ids = ",".join(str(i) for i in others)
    db_query(f"UPDATE admin_keys SET revoked_at = UTC_TIMESTAMP()"
             f" WHERE id IN ({ids})")
    try:
        p = assert_problem(http("POST", f"/v1/admin/keys/{kid}/revoke",
                                token=key), 409, "conflict")
        assert "only active admin key" in p["detail"], p
        assert db_query("SELECT revoked_at FROM admin_keys WHERE id = %s",
                        (kid,))[0][0] is None
        assert http("GET", "/v1/admin/keys", token=key).status == 200
        out = vasctl("admin-key", "revoke", kid)
        assert "revoked" in out.stdout
    finally:
        db_query(f"UPDATE admin_keys SET revoked_at = NULL WHERE id IN ({ids})")
    assert wait_until(lambda: http("GET", "/v1/admin/keys", token=admin_key)
                      .status == 200, timeout=8)


def test_admin_key_list_and_revoke_within_window(admin_key):
    # Catches: a revoked key that keeps working past the documented window,
    # a list that leaks key hashes.
    out = vasctl("admin-key", "create", "temp-" + secrets.token_hex(3))
    key = out.stdout.strip()
    assert http("GET", "/v1/admin/keys", token=key).status == 200
    keys = http("GET", "/v1/admin/keys", token=admin_key).json()
    assert keys["revocation_delay_ms"] == 5000
    assert all("hash" not in json.dumps(k) for k in keys["items"])
    kid = max(k["id"] for k in keys["items"])
    r = http("POST", f"/v1/admin/keys/{kid}/revoke", token=admin_key)
    assert r.status == 200 and r.json()["status"] == "revoked"
    assert_problem(http("POST", f"/v1/admin/keys/{kid}/revoke",
                        token=admin_key), 409, "conflict")
    assert_problem(http("POST", "/v1/admin/keys/99999999/revoke",
                        token=admin_key), 404, "not_found")
    start = time.time()
    assert wait_until(lambda: http("GET", "/v1/admin/keys", token=key).status
                      == 401, timeout=8)
    assert time.time() - start < 6.5
    listed = vasctl("admin-key", "list").stdout
    assert any(ln.split()[0] == str(kid) and "revoked" in ln
               for ln in listed.splitlines()[1:])
    p = vasctl("admin-key", "revoke", kid, check=False)
    assert p.returncode == 1 and "already revoked" in p.stderr
