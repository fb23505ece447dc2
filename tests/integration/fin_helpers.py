"""Helpers for the finance tests: generated days of CDRs (set-based SQL,
on days of their own far in the past so tests never see each other's rows)
and the CDR export read back."""
import csv
import datetime
import io
import json
import random
import secrets
from pathlib import Path

from conftest import db_connect, db_query, vasctl

COLUMNS = ["cdr_id", "kind", "business_day", "status", "created_at",
           "msisdn", "im_user_id", "purchase_id", "lobby_start_id",
           "item_id", "sku", "provider_id", "amount", "currency",
           "provider_share", "carrier_share", "txn_id", "reference"]

# Generated CDRs have no ledger transaction: their txn ids live far above
# any AUTO_INCREMENT the tests can reach, so they never collide.
TXN_BASE = 9 * 10**15


def free_day():
    """A business day nobody used: between 2001 and 2019, not closed."""
    while True:
        d = datetime.date(2001, 1, 1) + datetime.timedelta(
            days=random.randrange(0, 6900))
        s = d.isoformat()
        if not db_query("SELECT 1 FROM cdr_days WHERE day = %s", (s,)) and \
                not db_query("SELECT 1 FROM cdrs WHERE business_day = %s"
                             " LIMIT 1", (s,)):
            return s


def today():
    """The current business day (UTC+8, the configured default)."""
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(hours=8)).date().isoformat()


def add_cdrs(day, rows):
    """rows: dicts with amount and optional fields; returns the cdr ids."""
    conn = db_connect()
    ids = []
    try:
        with conn.cursor() as cur:
            for r in rows:
                cid = r.get("cdr_id") or secrets.token_hex(16)
                ids.append(cid)
                amount = r["amount"]
                ps = amount * 7 // 10
                cur.execute(
                    "INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id,"
                    " msisdn, im_user_id, purchase_id, item_id, sku,"
                    " provider_id, amount, currency, provider_share,"
                    " carrier_share, business_day, reference, created_at)"
                    " VALUES (%s, %s, %s, 1, %s, %s, %s, %s, %s, 1, %s, 'CNY',"
                    " %s, %s, %s, %s, %s)",
                    (cid, "charge" if amount >= 0 else "refund",
                     TXN_BASE + random.randrange(10**14),
                     r.get("msisdn", "8613800000000"),
                     r.get("im_user_id", "im-gen"), r.get("purchase_id"),
                     r.get("item_id", 7), r.get("sku", "SKU-1"), amount,
                     ps, amount - ps, day, r.get("reference"),
                     r.get("created_at", day + " 08:00:00.123")))
    finally:
        conn.close()
    return ids


def export_day(day, tmp_path):
    """vasctl cdr export --date DAY --out DIR → (csv bytes, manifest)."""
    out = Path(tmp_path) / f"exp-{secrets.token_hex(4)}"
    out.mkdir()
    p = vasctl("cdr", "export", "--date", day, "--out", out, check=False)
    assert p.returncode == 0, p.stderr
    data = (out / f"cdrs-{day}.csv").read_bytes()
    man = json.loads((out / f"cdrs-{day}.manifest.json").read_text())
    return data, man


def parse(data):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == COLUMNS
    return [dict(zip(COLUMNS, r)) for r in rows[1:]]
