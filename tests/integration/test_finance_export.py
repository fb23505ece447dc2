"""CDR export v2, day close and the admin reports (issue 10, items 1, 2, 6)."""
import hashlib
import secrets
import shlex
import subprocess

import pytest

from conftest import ENV, assert_problem, db_query, http, vasctl
from fin_helpers import (COLUMNS, add_cdrs, export_day, free_day, parse,
                         today)
from store_helpers import feed_items


def test_columns_and_formula_cells_are_neutralised(tmp_path):
    # Catches: a subscriber id starting with '=' written as a live formula,
    # or a refund's negative amount turned into text by the neutraliser.
    day = free_day()
    add_cdrs(day, [{"amount": 500, "im_user_id": "=HYPERLINK(\"x\")",
                    "reference": "+cmd|' /C calc'!A0", "sku": "@SUM(1)"},
                   {"amount": -200, "im_user_id": "-2+3",
                    "reference": "\tx"}])
    data, man = export_day(day, tmp_path)
    rows = parse(data)
    assert [r["im_user_id"] for r in rows] == ["'=HYPERLINK(\"x\")", "'-2+3"]
    assert rows[0]["reference"] == "'+cmd|' /C calc'!A0"
    assert rows[0]["sku"] == "'@SUM(1)"
    assert rows[1]["reference"] == "'\tx"
    assert [r["amount"] for r in rows] == ["500", "-200"]
    # numeric cells are unquoted in the bytes: a spreadsheet keeps numbers
    assert b",-200,CNY," in data or b",-200,\"CNY\"," in data
    assert rows[0]["status"] == "final" and rows[0]["business_day"] == day
    assert list(rows[0].keys()) == COLUMNS


def test_created_at_is_rfc3339_utc_with_milliseconds(tmp_path):
    # Catches: the timestamp formatted in C (not by DATE_FORMAT on the
    # server) losing its T, its Z or its milliseconds, or the day's per-item
    # sums (added up while the day streams) disagreeing with the rows.
    day = free_day()
    add_cdrs(day, [{"amount": 300, "item_id": 77,
                    "created_at": day + " 23:59:59.007"},
                   {"amount": -100, "item_id": 77,
                    "created_at": day + " 00:00:00.000"},
                   {"amount": 50, "item_id": None}])
    data, _ = export_day(day, tmp_path)
    rows = parse(data)
    assert [r["created_at"] for r in rows] == [
        f"{day}T23:59:59.007Z", f"{day}T00:00:00.000Z",
        f"{day}T08:00:00.123Z"]
    assert sorted(db_query(
        "SELECT item_id, rows_total, charges, refunds FROM cdr_day_items"
        " WHERE day = %s", (day,))) == [(0, 1, 50, 0), (77, 2, 300, 100)]


def test_export_deterministic_manifest_matches_and_day_closes(tmp_path):
    # Catches: rows out of order or generated_at in the CSV (bytes differ),
    # a manifest whose hash/rows/total disagree with the file.
    day = free_day()
    amounts = [100, 250, -100, 999, 1]
    add_cdrs(day, [{"amount": a} for a in amounts])
    a, man = export_day(day, tmp_path)
    b, man2 = export_day(day, tmp_path)
    assert a == b
    assert man["sha256"] == hashlib.sha256(a).hexdigest() == man2["sha256"]
    assert man["rows"] == len(parse(a)) == 5
    assert man["amount_total"] == sum(amounts)
    assert man["status"] == "final" and man["day"] == day
    assert "generated_at" in man and b"generated_at" not in a
    closed = db_query("SELECT rows_total, amount_total, csv_sha256 FROM"
                      " cdr_days WHERE day = %s", (day,))
    assert closed == ((5, sum(amounts), man["sha256"]),)
    # stdout export of the same day: the same bytes
    p = subprocess.run(shlex.split(ENV["VASCTL"]) + [
        "cdr", "export", "--from", day, "--to", day], capture_output=True,
        check=True)
    assert p.stdout == a


def test_closed_day_never_changes(tmp_path):
    # Catches: a CDR updated, deleted or inserted into a day already closed
    # (finance would hold a file that no longer matches the database).
    day = free_day()
    ids = add_cdrs(day, [{"amount": 300}, {"amount": 400}])
    before, _ = export_day(day, tmp_path)
    with pytest.raises(Exception):
        db_query("UPDATE cdrs SET amount = 1 WHERE cdr_id = %s", (ids[0],))
    with pytest.raises(Exception):
        db_query("DELETE FROM cdrs WHERE cdr_id = %s", (ids[1],))
    # a late CDR (a movement that committed after the close) moves on
    late = add_cdrs(day, [{"amount": 50}])[0]
    moved = db_query("SELECT business_day FROM cdrs WHERE cdr_id = %s",
                     (late,))[0][0]
    assert moved.isoformat() > day
    after, man = export_day(day, tmp_path)
    assert after == before and man["rows"] == 2


def test_today_is_provisional_and_stays_open(subscriber, tmp_path):
    # Catches: today closed by an export (later purchases would be lost
    # from the day), or a purchase missing from today's next export.
    items, _ = feed_items(2, 120)
    s = subscriber(balance=1000)

    def buy(item):
        r = http("POST", "/v1/purchases", {"item_id": item}, token=s["token"],
                 headers={"Idempotency-Key": secrets.token_hex(8)})
        assert r.status == 201, r
        return r.json()["id"]

    p1 = buy(items[0])
    day = db_query("SELECT DATE_FORMAT(business_day, '%%Y-%%m-%%d') FROM"
                   " cdrs c JOIN purchases p ON p.charge_txn_id = c.txn_id"
                   " WHERE p.id = %s", (p1,))[0][0]
    if day != today():
        pytest.skip("business day changed during the test")
    first, man = export_day(day, tmp_path)
    assert man["status"] == "provisional"
    assert not db_query("SELECT 1 FROM cdr_days WHERE day = %s", (day,))
    p2 = buy(items[1])
    second, man2 = export_day(day, tmp_path)
    rows = parse(second)
    txns = {str(t) for (t,) in db_query(
        "SELECT charge_txn_id FROM purchases WHERE id IN (%s, %s)", (p1, p2))}
    assert txns <= {r["txn_id"] for r in rows}
    assert {str(p1), str(p2)} <= {r["purchase_id"] for r in rows}
    assert len(rows) == len(parse(first)) + 1
    assert man2["rows"] == man["rows"] + 1
    assert all(r["status"] == "provisional" for r in rows)


def test_http_export_streams_the_same_csv(admin_key, tmp_path):
    # Catches: the API and the CLI drifting apart, a wrong content type.
    day = free_day()
    add_cdrs(day, [{"amount": a} for a in (10, 20, -5)])
    r = http("GET", f"/v1/admin/cdrs?from={day}&to={day}", token=admin_key)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/csv")
    data, man = export_day(day, tmp_path)
    assert r.body == data
    assert man["status"] == "final"


@pytest.mark.parametrize("q", [
    "from=2026-02-31&to=2026-03-01", "from=2026-13-01&to=2026-13-02",
    "from=2026-2-3&to=2026-02-04", "from=2026-03-02&to=2026-03-01",
    "from=2001-01-01&to=2003-01-01", "to=2026-01-01", "from=%2B2026-01-01&to=x",
])
def test_bad_ranges_are_400_and_close_nothing(admin_key, q):
    # Catches: sscanf-style parsing that accepts 2026-02-31 (and closes
    # March 3rd) or a range too long to stream.
    before = db_query("SELECT COUNT(*) FROM cdr_days")[0][0]
    for path in ("/v1/admin/cdrs", "/v1/admin/cdrs/days",
                 "/v1/admin/reports/revenue", "/v1/admin/reports/top-items"):
        assert_problem(http("GET", f"{path}?{q}", token=admin_key), 400,
                       "invalid_request")
    assert db_query("SELECT COUNT(*) FROM cdr_days")[0][0] == before


def test_cli_impossible_date_exits_2():
    before = db_query("SELECT COUNT(*) FROM cdr_days")[0][0]
    p = vasctl("cdr", "export", "--date", "2026-02-31", check=False)
    assert p.returncode == 2 and "calendar day" in p.stderr
    p = vasctl("cdr", "export", "--from", "2026-03-01", check=False)
    assert p.returncode == 2
    assert db_query("SELECT COUNT(*) FROM cdr_days")[0][0] == before


def test_reports_revenue_days_and_top_items(admin_key, tmp_path):
    # Catches: closed days summed from the wrong source, net/share totals
    # that disagree with the CDRs.
    day = free_day()
    add_cdrs(day, [{"amount": 1000, "item_id": 901}, {"amount": 500,
                   "item_id": 902}, {"amount": -300, "item_id": 901}])
    r = http("GET", f"/v1/admin/reports/revenue?from={day}&to={day}",
             token=admin_key).json()
    it = r["items"][0]
    assert (it["status"], it["charges"], it["refunds"], it["net"],
            it["count"]) == ("provisional", 1500, 300, 1200, 3)
    assert it["provider_share"] + it["carrier_share"] == 1200
    export_day(day, tmp_path)
    r2 = http("GET", f"/v1/admin/reports/revenue?from={day}&to={day}",
              token=admin_key).json()
    it2 = r2["items"][0]
    assert it2["status"] == "final"
    assert {k: v for k, v in it2.items() if k != "status"} == \
        {k: v for k, v in it.items() if k != "status"}
    days = http("GET", f"/v1/admin/cdrs/days?from={day}&to={day}",
                token=admin_key).json()["items"]
    assert days[0]["status"] == "final" and days[0]["rows"] == 3
    assert len(days[0]["sha256"]) == 64
    top = http("GET", f"/v1/admin/reports/top-items?from={day}&to={day}"
               "&limit=5", token=admin_key).json()["items"]
    assert [(t["item_id"], t["net"]) for t in top] == [(901, 700), (902, 500)]


def test_refund_after_close_lands_on_an_open_day(subscriber, admin_key,
                                                tmp_path):
    # Catches: a correction booked on the charge's (closed) day, which would
    # change a file finance already sent to the carrier.
    item = feed_items(1, 500)[0][0]
    s = subscriber(balance=1000)
    r = http("POST", "/v1/purchases", {"item_id": item}, token=s["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    pid = r.json()["id"]
    day = free_day()
    db_query("UPDATE cdrs SET business_day = %s WHERE purchase_id = %s",
             (day, pid))
    before, man = export_day(day, tmp_path)
    assert man["status"] == "final" and man["rows"] == 1
    r = http("POST", f"/v1/admin/purchases/{pid}/refunds", {"reason": "x"},
             token=admin_key, headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    days = db_query("SELECT kind, DATE_FORMAT(business_day, '%%Y-%%m-%%d')"
                    " FROM cdrs WHERE purchase_id = %s ORDER BY id", (pid,))
    assert days[0] == ("charge", day)
    assert days[1][0] == "refund" and days[1][1] > day
    after, _ = export_day(day, tmp_path)
    assert after == before
