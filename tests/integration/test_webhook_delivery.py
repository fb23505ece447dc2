"""Signed webhooks to content providers, sent by the relay role: retries on
5xx, dead-lettering after the last retry (vasctl webhooks list/retry), the
timeout against a slow provider, and a signature the provider can verify.

The retry schedule must be short for these tests. When the test stack's
vasgw.ini already has one ([relay] webhook_schedule_s summing under 10 s),
the stack's own relay is used; otherwise the stack's vasgw is swapped for
one started with VASGW_RELAY_* overrides for the module, and restored after.
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ENV, ROOT, db_connect, db_query, vasctl, wait_until
from test_notify_helpers import ExtraRelay, stack_part

sys.path.insert(0, str(ROOT / "tests/fakes"))
from fake_provider import FakeProvider, verify_signature  # noqa: E402

SCHEDULE = "1 2"                    # 3 attempts in all
TIMEOUT_MS = 1500
OVERRIDES = {"VASGW_RELAY_WEBHOOK_SCHEDULE_S": SCHEDULE,
             "VASGW_RELAY_WEBHOOK_TIMEOUT_MS": str(TIMEOUT_MS),
             "VASGW_RELAY_WEBHOOK_CONNECT_TIMEOUT_MS": "500"}


def _stack_schedule_short():
    ini = Path(ENV["VAS_VASGW_INI"]).read_text().splitlines()
    section, sched, tmo = None, None, None
    for line in ini:
        s = line.strip()
        if s.startswith("["):
            section = s.strip("[]")
        elif section == "relay" and s.startswith("webhook_schedule_s"):
            sched = s.split("=", 1)[1].split()
        elif section == "relay" and s.startswith("webhook_timeout_ms"):
            tmo = int(s.split("=", 1)[1])
    return (sched is not None and sum(int(x) for x in sched) <= 10
            and len(sched) == 2 and tmo is not None and tmo <= 2000)


@pytest.fixture(scope="module")
def relay():
    """A relay with the short schedule; yields its (schedule, timeout)."""
    if _stack_schedule_short():
        yield
        return
    stack_part("stop-part", "vasgw")
    env = dict(OVERRIDES)
    # Same socket and pid file as the stack: HTTP keeps working meanwhile.
    env.update({"VASGW_SERVER_SOCKET": ENV["VAS_VASGW_SOCKET"],
                "VASGW_SERVER_PID_FILE": ENV["VAS_VASGW_PID_FILE"],
                "VASGW_SERVER_LOG_FILE": ENV["VAS_VASGW_LOG"],
                "VASGW_SERVER_WORKERS": "2", "VASGW_SERVER_THREADS": "8",
                "VASGW_SERVER_JANITOR": "1"})
    r = ExtraRelay(env=env, name="vasgw")
    r.log = Path(ENV["VAS_VASGW_LOG"])
    try:
        r.start()
        yield
    finally:
        r.stop()
        stack_part("start-part", "vasgw")


def make_provider(url, secret):
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO providers (code, name, revenue_share_bp,"
                        " webhook_url, webhook_secret, created_at, updated_at)"
                        " VALUES (%s, %s, 7000, %s, %s, UTC_TIMESTAMP(3),"
                        " UTC_TIMESTAMP(3))",
                        ("wh-" + secrets.token_hex(4), "Webhook test", url,
                         secret))
            return cur.lastrowid
    finally:
        conn.close()


def add_event(provider_id, etype="purchase.completed", data=None):
    """A webhook event as gw_outbox_webhook_add() writes it."""
    eid = "%012x" % (int(time.time() * 1000) & 0xFFFFFFFFFFFF) + \
        secrets.token_hex(10)
    data = data or {"purchase_id": secrets.token_hex(6), "item_id": 3,
                    "amount": 600, "currency": "CNY"}
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO webhook_events (event_id, provider_id,"
                        " type, payload, next_attempt_at, created_at) VALUES"
                        " (%s, %s, %s, %s, UTC_TIMESTAMP(3),"
                        " UTC_TIMESTAMP(3))",
                        (eid, provider_id, etype, json.dumps(data)))
    finally:
        conn.close()
    return eid, data


def event_row(eid):
    rows = db_query("SELECT state, attempts, last_status, last_error"
                    " FROM webhook_events WHERE event_id = %s", (eid,))
    return dict(zip(("state", "attempts", "last_status", "last_error"),
                    rows[0]))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_signature_recipe_rejects_tampering():
    body = b'{"id":"x"}'
    secret = "whsec_" + secrets.token_hex(8)
    import hashlib
    import hmac
    t = int(time.time())
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256)
    header = "t=%d,v1=%s" % (t, mac.hexdigest())
    assert verify_signature(secret, header, body)
    assert not verify_signature(secret, header, body + b" ")
    assert not verify_signature("other", header, body)
    assert not verify_signature(secret, header, body, now=t + 3600)


def test_500_twice_then_200_delivered_once(relay):
    secret = "whsec_" + secrets.token_hex(12)
    fake = FakeProvider(secret, fail_first=2).start()
    try:
        eid, data = add_event(make_provider(fake.url, secret))
        assert wait_until(lambda: event_row(eid)["state"] == "delivered",
                          timeout=30), event_row(eid)
        row = event_row(eid)
        assert row["attempts"] == 3 and row["last_status"] == 200
        reqs = fake.for_event(eid)
        assert [r["status"] for r in reqs] == [500, 500, 200]
        assert all(r["sig_ok"] for r in reqs)
        assert all(r["header_event_id"] == eid for r in reqs)
        ev = reqs[-1]["event"]
        assert ev["id"] == eid and ev["type"] == "purchase.completed"
        assert ev["data"] == data and ev["created_at"].endswith("Z")
        time.sleep(3)               # nothing more arrives after the 200
        assert len(fake.for_event(eid)) == 3
    finally:
        fake.stop()


def test_wrong_secret_is_detected_by_the_provider(relay):
    fake = FakeProvider("whsec_provider_side").start()
    try:
        eid, _ = add_event(make_provider(fake.url, "whsec_gateway_side"))
        assert wait_until(lambda: len(fake.for_event(eid)) >= 1, timeout=20)
        assert fake.for_event(eid)[0]["sig_ok"] is False
        assert wait_until(lambda: event_row(eid)["last_status"] == 400,
                          timeout=10)
    finally:
        fake.stop()


def test_unreachable_url_dead_lettered_then_retried(relay):
    url = "http://127.0.0.1:%d/hook" % free_port()
    secret = "whsec_" + secrets.token_hex(8)
    pid = make_provider(url, secret)
    eid, _ = add_event(pid)
    assert wait_until(lambda: event_row(eid)["state"] == "failed",
                      timeout=40), event_row(eid)
    row = event_row(eid)
    assert row["attempts"] == len(SCHEDULE.split()) + 1
    assert row["last_error"] and "curl" in row["last_error"]
    out = vasctl("webhooks", "list", "--failed", "--limit", "1000").stdout
    assert eid in out
    # The operator fixes the URL and re-queues the dead letter.
    fake = FakeProvider(secret).start()
    try:
        db_query("UPDATE providers SET webhook_url = %s WHERE id = %s",
                 (fake.url, pid))
        p = vasctl("webhooks", "retry", eid)
        assert "1 webhook event(s) re-queued" in p.stdout
        assert wait_until(lambda: event_row(eid)["state"] == "delivered",
                          timeout=20), event_row(eid)
        assert [r["status"] for r in fake.for_event(eid)] == [200]
        assert eid not in vasctl("webhooks", "list", "--failed",
                                 "--limit", "1000").stdout
        assert vasctl("webhooks", "retry", eid, check=False).returncode == 1
    finally:
        fake.stop()


def test_slow_provider_cut_off_by_timeout(relay):
    secret = "whsec_" + secrets.token_hex(8)
    fake = FakeProvider(secret, delay_s=TIMEOUT_MS / 1000 * 3).start()
    try:
        eid, _ = add_event(make_provider(fake.url, secret))
        assert wait_until(lambda: event_row(eid)["attempts"] >= 1
                          and event_row(eid)["last_error"] is not None,
                          timeout=20), event_row(eid)
        first = fake.for_event(eid)[0]["t"]
        row = event_row(eid)
        assert "timed out" in row["last_error"].lower() or \
            "timeout" in row["last_error"].lower(), row
        assert row["state"] == "pending"          # retried per schedule
        # The relay gave up at the timeout, not when the server answered.
        assert time.time() - first < TIMEOUT_MS / 1000 * 3
    finally:
        fake.stop()


def test_provider_without_url_is_skipped(relay):
    eid, _ = add_event(make_provider(None, None))
    assert wait_until(lambda: event_row(eid)["state"] == "skipped",
                      timeout=20), event_row(eid)
