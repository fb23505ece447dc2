"""Webhooks must not be a way into the gateway's own network: a provider
URL that resolves to loopback or link-local (cloud metadata) is refused at
connect time and dead-lettered with a clear reason, and a provider without a
signing secret gets nothing. Runs a vasgw whose relay has no allowlist
(relay.webhook_allow_nets empty), unlike the test stack's, which allows
127.0.0.0/8 for the fake providers of test_webhook_delivery.py.
"""
import secrets
import sys
import time

import pytest

from conftest import ENV, ROOT, wait_until
from test_notify_helpers import ExtraRelay, stack_part
from test_webhook_delivery import add_event, event_row, make_provider

sys.path.insert(0, str(ROOT / "tests/fakes"))
from fake_provider import FakeProvider  # noqa: E402

REFUSED = "refused: the webhook URL resolves to a loopback, link-local or" \
    " private address"


@pytest.fixture(scope="module")
def strict_relay():
    """The stack's vasgw restarted with no allowlist and a short schedule."""
    from pathlib import Path
    stack_part("stop-part", "vasgw")
    env = {"VASGW_RELAY_WEBHOOK_ALLOW_NETS": "",
           "VASGW_RELAY_WEBHOOK_SCHEDULE_S": "1 2",
           "VASGW_RELAY_WEBHOOK_CONNECT_TIMEOUT_MS": "500",
           "VASGW_RELAY_WEBHOOK_TIMEOUT_MS": "1500",
           "VASGW_SERVER_SOCKET": ENV["VAS_VASGW_SOCKET"],
           "VASGW_SERVER_PID_FILE": ENV["VAS_VASGW_PID_FILE"],
           "VASGW_SERVER_LOG_FILE": ENV["VAS_VASGW_LOG"],
           "VASGW_SERVER_WORKERS": "2", "VASGW_SERVER_THREADS": "8",
           "VASGW_SERVER_JANITOR": "1"}
    r = ExtraRelay(env=env, name="vasgw")
    r.log = Path(ENV["VAS_VASGW_LOG"])
    try:
        r.start()
        yield
    finally:
        r.stop()
        stack_part("start-part", "vasgw")


def _dead(eid):
    assert wait_until(lambda: event_row(eid)["state"] == "failed",
                      timeout=30), event_row(eid)
    return event_row(eid)


def test_loopback_and_metadata_addresses_refused_and_dead_lettered(
        strict_relay):
    """Catches a relay that checks nothing (the fake provider would get the
    POST), or checks only the URL text (localhost is a name)."""
    secret = "whsec_" + secrets.token_hex(8)
    fake = FakeProvider(secret).start()
    try:
        port = fake.url.split(":")[2].split("/")[0]
        for url in (fake.url, "http://localhost:%s/hook" % port):
            eid, _ = add_event(make_provider(url, secret))
            row = _dead(eid)
            assert row["last_error"].startswith(REFUSED), row
            assert row["attempts"] == 1, row        # not retried: final
            assert row["last_status"] is None
        time.sleep(1)
        assert fake.requests == [], "the refused URL got a request"
    finally:
        fake.stop()
    # Only once loopback is proven refused: the cloud metadata address (the
    # check runs before connect(), so nothing is sent to it).
    eid, _ = add_event(make_provider(
        "http://169.254.169.254/latest/meta-data/", secret))
    row = _dead(eid)
    assert row["last_error"].startswith(REFUSED), row
    assert row["attempts"] == 1


def test_provider_without_signing_secret_gets_nothing(strict_relay):
    """Catches signing with an empty key: anyone could forge such events."""
    for secret in (None, ""):
        # TEST-NET-3: never contacted (the secret is checked first, and the
        # address guard would refuse it anyway).
        eid, _ = add_event(make_provider("http://203.0.113.1/hook", secret))
        row = _dead(eid)
        assert row["last_error"] == \
            "refused: the provider has no webhook signing secret", row
        assert row["attempts"] == 1
