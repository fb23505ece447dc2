"""Reconciliation with the carrier's billed-records file (issue 10, item 3)."""
import os
import random
import secrets
import shlex
import subprocess

import pytest

from conftest import ENV, db_query, http, vasctl
from fin_helpers import add_cdrs, free_day, today
from store_helpers import feed_items

HEADER = "cdr_id,msisdn,amount,currency,billed_at\r\n"


def run(*args, cwd=None):
    cmd = shlex.split(ENV["VASCTL"]) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, cwd=cwd, timeout=300)


def line(cid, amount, msisdn="8613800000000", cur="CNY",
         billed="2026-01-01T00:00:00Z"):
    return f"{cid},{msisdn},{amount},{cur},{billed}\r\n".encode()


def counts():
    return db_query("SELECT (SELECT COUNT(*) FROM recon_runs),"
                    " (SELECT COUNT(*) FROM recon_items),"
                    " (SELECT COUNT(*) FROM recon_lines)")[0]


def classes(stdout):
    out = {}
    for ln in stdout.decode().splitlines():
        parts = ln.split()
        if len(parts) == 3 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = (int(parts[1]), int(parts[2]))
    return out


@pytest.fixture(scope="module")
def ringtones():
    return feed_items(3, 150)[0]


def buy_on(day, sub, item):
    """A real purchase whose CDR is moved to `day` (still open)."""
    r = http("POST", "/v1/purchases", {"item_id": item}, token=sub["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    p = r.json()
    cdr, amount = db_query("SELECT c.cdr_id, c.amount FROM cdrs c JOIN"
                           " purchases p ON p.charge_txn_id = c.txn_id"
                           " WHERE p.id = %s", (p["id"],))[0]
    db_query("UPDATE cdrs SET business_day = %s WHERE cdr_id = %s",
             (day, cdr))
    return p, cdr, amount


def test_every_class_found_no_false_positive_and_rerun_is_idempotent(
        subscriber, ringtones, tmp_path):
    # Catches: a discrepancy class missed or mis-counted, a duplicate's first
    # line counted as a duplicate too, a matched record reported, a bad line
    # aborting the run, a re-run stored twice.
    day = free_day()
    rnd = random.Random(7)
    amounts = [rnd.randrange(1, 2000) * (1 if i % 9 else -1)
               for i in range(200)]
    ids = add_cdrs(day, [{"amount": a} for a in amounts])
    other = add_cdrs(free_day(), [{"amount": 77}])[0]
    sub = subscriber(balance=5000)
    p_dl, cdr_dl, amt_dl = buy_on(day, sub, ringtones[0])
    p_nd, cdr_nd, amt_nd = buy_on(day, sub, ringtones[1])
    r = http("GET", p_dl["download"]["url"])
    assert r.status == 200, r

    not_billed = set(ids[10:14])
    mismatch = ids[20:23]
    twice = {ids[30]: 1, ids[31]: 2}          # extra lines per CDR
    body = [HEADER.encode()]
    exp_matched = exp_matched_amt = 0
    for cid, a in zip(ids, amounts):
        if cid in not_billed:
            continue
        if cid in mismatch:
            body.append(line(cid, a + 5))
            continue
        body.append(line(cid, a))
        exp_matched += 1
        exp_matched_amt += a
        for _ in range(twice.get(cid, 0)):
            body.append(line(cid, a))
    body.append(line(cdr_dl, amt_dl))          # delivered: matched
    exp_matched += 1
    exp_matched_amt += amt_dl
    body.append(line(cdr_nd, amt_nd))          # never downloaded
    unknown = [secrets.token_hex(16), secrets.token_hex(16), other]
    for u in unknown:
        body.append(line(u, 42))
    # malformed lines of every kind, each reported with its line number
    bad = [b"only,three,fields\r\n",
           line(secrets.token_hex(16), "12.5"),
           line(secrets.token_hex(16), 10, cur="cny"),
           line("", 10),
           line(secrets.token_hex(16), 10, msisdn="+86138"),
           secrets.token_hex(16).encode() + b",8613800000000,10,CNY,caf\xe9\r\n",
           secrets.token_hex(16).encode() + b",8613800000000,10,CNY,\xc0\xaf\r\n",
           secrets.token_hex(16).encode() + b",8613800000000,10,CNY,\xed\xa0\x80\r\n",
           line(secrets.token_hex(16), 10, billed="x" * 100)]
    bad_lines = []
    for b in bad:
        body.append(b)
        bad_lines.append(len(body))
    # a quoted field with a comma and LF-only line ends are fine
    body.append(f'"{ids[40]}",8613800000000,{amounts[40]},CNY,'
                '"2026-01-01, late"\n'.encode())
    body.remove(line(ids[40], amounts[40]))
    bad_lines = [n - 1 for n in bad_lines]
    f = tmp_path / "carrier.csv"
    f.write_bytes(b"".join(body))

    before = counts()
    p = run("reconcile", "--carrier-file", f, "--date", day, cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    got = classes(p.stdout)
    assert got["matched"] == (exp_matched, exp_matched_amt)
    assert got["amount_mismatch"] == (3, 15)
    assert got["charged_not_billed"] == (
        4, sum(a for c, a in zip(ids, amounts) if c in not_billed))
    assert got["billed_unknown"] == (3, 126)
    assert got["billed_twice"] == (3, amounts[30] + 2 * amounts[31])
    assert got["charged_not_delivered"] == (1, amt_nd)
    assert got["malformed"][0] == len(bad)
    report = next(tmp_path.glob(f"reconcile-{day}-*.csv")).read_bytes()
    rows = report.decode().splitlines()
    assert rows[0] == "class,line_no,cdr_id,our_amount,their_amount,detail"
    mal = sorted(int(r.split(",")[1]) for r in rows if r.startswith(
        '"malformed"'))
    assert mal == bad_lines
    assert f'"{cdr_nd}"' in next(r for r in rows if "not_delivered" in r)
    assert not any(cdr_dl in r for r in rows)
    assert len(rows) == 1 + 3 + 4 + 3 + 3 + 1 + len(bad)
    mid = counts()
    assert mid[0] == before[0] + 1 and mid[2] == 0  # staging emptied

    # the same inputs again: the same run, nothing stored again
    p2 = run("reconcile", "--carrier-file", f, "--date", day, cwd=tmp_path)
    assert p2.returncode == 1
    assert b"reconciled before" in p2.stdout
    assert classes(p2.stdout) == got
    assert counts() == mid
    run_id = int(p.stdout.split()[2])
    show = vasctl("reconcile", "show", run_id).stdout
    assert f'"day":\t"{day}"' in show or f'"day": "{day}"' in show
    api = http("GET", f"/v1/admin/reconciliations/{run_id}",
               token=ENV["VAS_ADMIN_KEY"]).json()
    assert api["classes"]["billed_twice"] == {"count": 3, "amount":
                                              amounts[30] + 2 * amounts[31]}
    assert api["discrepancies"] == sum(
        v[0] for k, v in got.items() if k != "matched")
    assert db_query("SELECT 1 FROM cdr_days WHERE day = %s", (day,))


def test_clean_file_exits_0(tmp_path):
    # Catches: false positives on an exact file (exit status 1 for nothing).
    day = free_day()
    amounts = [100, -50, 75]
    ids = add_cdrs(day, [{"amount": a} for a in amounts])
    f = tmp_path / "clean.csv"
    f.write_bytes("\ufeff".encode() + HEADER.encode()
                  + b"".join(line(c, a) for c, a in zip(ids, amounts)))
    p = run("reconcile", "--carrier-file", f, "--date", day, "--report",
            tmp_path / "r.csv")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert classes(p.stdout)["matched"] == (3, 125)
    assert (tmp_path / "r.csv").read_text().strip().count("\n") == 0


@pytest.mark.parametrize("content,why", [
    (None, b"cannot read"),
    (b"", b"empty"),
    (b"id,amount\r\nx,1\r\n", b"wrong header"),
    (b"cdr_id,msisdn,amount,currency,billed\xe9\r\n", b"wrong header"),
    (HEADER.encode() + b"a,8613800000000,1,CNY," + b"x" * 5000 + b"\r\n",
     b"over 4096 bytes"),
    (HEADER.encode() + b'a,8613800000000,1,CNY,"never closed\r\n'
     + b"b,8613800000000,1,CNY,x\r\n" * 200, b"over 4096 bytes"),
])
def test_unusable_file_is_refused_and_nothing_stored(tmp_path, content, why):
    # Catches: a half-loaded run left behind, a crash or a silent success on
    # a file that cannot be a carrier file.
    day = free_day()
    add_cdrs(day, [{"amount": 10}])
    f = tmp_path / "in.csv"
    if content is not None:
        f.write_bytes(content)
    before = counts()
    p = run("reconcile", "--carrier-file", f, "--date", day)
    assert p.returncode == 2 and why in p.stderr, p.stderr
    assert counts() == before


@pytest.mark.parametrize("date", ["2026-02-31", "2026-2-1", "tomorrow"])
def test_impossible_or_open_day_is_refused(tmp_path, date):
    f = tmp_path / "in.csv"
    f.write_bytes(HEADER.encode())
    before = counts()
    p = run("reconcile", "--carrier-file", f, "--date", date)
    assert p.returncode == 2, p.stderr
    p = run("reconcile", "--carrier-file", f, "--date", today())
    assert p.returncode == 2 and b"has not ended" in p.stderr
    assert counts() == before


def test_list_and_api_pages(tmp_path, admin_key):
    for _ in range(3):
        day = free_day()
        add_cdrs(day, [{"amount": 1}])
        f = tmp_path / f"{day}.csv"
        f.write_bytes(HEADER.encode())
        run("reconcile", "--carrier-file", f, "--date", day, "--report",
            tmp_path / "r.csv")
    p = vasctl("reconcile", "list", "--limit", "2")
    assert len(p.stdout.strip().splitlines()) == 3
    r = http("GET", "/v1/admin/reconciliations?limit=2", token=admin_key)
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    r2 = http("GET", "/v1/admin/reconciliations?limit=2&cursor="
              + page["next_cursor"], token=admin_key).json()
    assert r2["items"][0]["id"] < page["items"][1]["id"]
    bad = http("GET", "/v1/admin/reconciliations?cursor=xyz",
               token=admin_key)
    assert bad.status == 400
    assert http("GET", "/v1/admin/reconciliations/999999999",
                token=admin_key).status == 404


def test_day_larger_than_memory_is_matched_in_parts(subscriber, ringtones,
                                                    tmp_path):
    # [finance] recon_memory_cdrs = 7 splits a 60-CDR day into 9 parts by
    # hash, one pass over the file each. Catches: a record counted, stored
    # or staged once per part (malformed lines, read count, unknown ids),
    # a CDR of another part reported as not billed, a duplicate missed when
    # its lines fall in different passes, an unknown id billed twice missed
    # (the staged path), another day's CDR without its day in the detail.
    day = free_day()
    amounts = [(i + 1) * (1 if i % 7 else -1) for i in range(60)]
    ids = add_cdrs(day, [{"amount": a} for a in amounts])
    other_day = free_day()
    other = add_cdrs(other_day, [{"amount": 5}])[0]
    sub = subscriber(balance=5000)
    _, cdr_nd, amt_nd = buy_on(day, sub, ringtones[2])
    ghost = secrets.token_hex(16)
    body = [HEADER.encode()]
    for i, (c, a) in enumerate(zip(ids, amounts)):
        if i in (3, 33):
            continue                                  # not billed
        body.append(line(c, a + 1 if i in (5, 50) else a))
        if i in (8, 44):
            body.append(line(c, a))                   # twice
    body.append(line(cdr_nd, amt_nd))
    body += [line(ghost, 9), line(other, 5), line(ghost, 9),
             b"bad,line\r\n"]
    f = tmp_path / "parts.csv"
    f.write_bytes(b"".join(body))
    env = dict(os.environ, VASGW_FINANCE_RECON_MEMORY_CDRS="7")
    cmd = shlex.split(ENV["VASCTL"]) + [
        "reconcile", "--carrier-file", str(f), "--date", day, "--report",
        str(tmp_path / "r.csv")]
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    assert p.returncode == 1, p.stderr
    got = classes(p.stdout)
    assert got["matched"] == (
        56, sum(a for i, a in enumerate(amounts)
                if i not in (3, 33, 5, 50)))
    assert got["amount_mismatch"] == (2, 2)
    assert got["charged_not_billed"] == (2, amounts[3] + amounts[33])
    assert got["billed_twice"] == (3, amounts[8] + amounts[44] + 9)
    assert got["billed_unknown"] == (2, 14)
    assert got["charged_not_delivered"] == (1, amt_nd)
    assert got["malformed"][0] == 1
    assert f"{len(body) - 1} carrier records read".encode() in p.stdout
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 + 2 + 3 + 2 + 1 + 1
    assert sorted(r.split(",")[2] for r in rows[1:3]) == sorted(
        [f'"{ids[3]}"', f'"{ids[33]}"'])              # not billed first
    assert all(r.startswith('"charged_not_billed"') for r in rows[1:3])
    assert any(f'"{other}"' in r and f"a CDR of {other_day}" in r
               for r in rows)
    assert counts()[2] == 0                            # staging emptied
