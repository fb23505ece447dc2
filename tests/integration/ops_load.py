"""A purchase load for the zero-downtime tests (and for measuring by hand):
N client threads, each on its own kept-alive HTTP connection to nginx, buy a
game pass over and over with a fresh Idempotency-Key per request and never
retry. Every answer is counted; any 5xx or transport error is a dropped
request.

    python3 tests/integration/ops_load.py SECONDS [reload|recycle|upgrade]…

runs it against the stack of $VAS_STACK_ENV (run/test/stack.env) and prints
the counts.
"""
import collections
import http.client
import json
import os
import secrets
import sys
import threading
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(__file__))

from conftest import ENV, http as http1, mint_token, new_msisdn, new_user  # noqa: E402
from store_helpers import import_feed, make_feed  # noqa: E402


def setup_buyers(n):
    """n postpaid subscribers with a large credit limit, and a game pass
    item. Returns (tokens, item_id)."""
    from conftest import db_query
    feed, tag = make_feed(1, price=1, games=[("pass", 1)])
    import_feed(feed)
    (item,) = db_query("SELECT i.id FROM items i JOIN providers p ON"
                       " p.id = i.provider_id WHERE p.code = %s AND"
                       " i.kind = 'game'", (f"p-{tag}",))[0]
    tokens = []
    for _ in range(n):
        user, msisdn = new_user(), new_msisdn()
        r = http1("POST", "/v1/admin/subscribers",
                  {"im_user_id": user, "msisdn": msisdn, "plan": "postpaid",
                   "credit_limit": 10**11},
                  token=ENV["VAS_ADMIN_KEY"])
        assert r.status == 201, r
        tokens.append(mint_token(user, ttl=7200))
    return tokens, item


class Load:
    """Runs the clients in the background until stop()."""

    def __init__(self, tokens, item, base=None):
        u = urlparse(base or ENV.get("VAS_BASE_URL", "http://127.0.0.1:18080"))
        self.host, self.port = u.hostname, u.port
        self.tokens, self.item = tokens, item
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.statuses = collections.Counter()
        self.errors = []
        self.bad = []  # (status, body) of 5xx answers
        self.threads = [threading.Thread(target=self._client, args=(t,))
                        for t in tokens]

    def _client(self, token):
        conn = None
        body = json.dumps({"item_id": self.item})
        while not self.stop_ev.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port,
                                                  timeout=30)
            key = "ld-" + secrets.token_hex(12)
            try:
                conn.request("POST", "/v1/purchases", body=body, headers={
                    "Authorization": "Bearer " + token,
                    "Content-Type": "application/json",
                    "Idempotency-Key": key})
                r = conn.getresponse()
                data = r.read()
                status = r.status
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.errors.append(f"{key}: {e!r}")
                conn.close()
                conn = None
                continue
            with self.lock:
                self.statuses[status] += 1
                if status >= 500:
                    self.bad.append((status, key, data[:200]))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join()

    def total(self):
        with self.lock:
            return sum(self.statuses.values())

    def summary(self):
        return (f"{self.total()} requests {dict(self.statuses)}, "
                f"{len(self.bad)} 5xx, {len(self.errors)} transport errors")


def main():
    from gw_helpers import master_pid
    import signal
    secs = float(sys.argv[1])
    events = sys.argv[2:]
    tokens, item = setup_buyers(16)
    load = Load(tokens, item).start()
    time.sleep(1)
    gap = secs / (len(events) + 1)
    for ev in events:
        time.sleep(gap)
        if ev == "reload":
            os.kill(master_pid(), signal.SIGHUP)
        elif ev == "upgrade":
            os.kill(master_pid(), signal.SIGUSR2)
        print(f"{time.strftime('%T')} {ev}: {load.summary()}", flush=True)
    time.sleep(gap)
    load.stop()
    print(load.summary())
    for b in load.bad[:5]:
        print("  5xx:", b)
    for e in load.errors[:5]:
        print("  error:", e)


if __name__ == "__main__":
    main()
