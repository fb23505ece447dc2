"""A fake content provider's webhook endpoint (loopback only).

It verifies the Vas-Signature header exactly as docs/notifications.md tells
providers to (HMAC-SHA256 over "<t>.<raw body>", constant-time compare,
5-minute tolerance), records every request, and can misbehave on purpose:

    fail_first=N   answer 500 to the first N valid requests, then 200
    delay_s=S      sleep S seconds before answering (a slow provider)

Use it in-process (FakeProvider(...).start(); .url; .requests; .stop()) or
from a shell:  python3 tests/fakes/fake_provider.py --secret S [--fail-first N]
[--delay-s S] [--port P]   (prints the URL, logs one JSON line per request).
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300
BODY_MAX = 1024 * 1024


class Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: the kernel drops the SYNs of a burst of more
    # concurrent connects than that, and the gateway's connect waits out its 1 s timeout.
    request_queue_size = 128


def verify_signature(secret, header, body, now=None, tolerance=TOLERANCE_S):
    """True when header ("t=…,v1=…") signs body with secret, recently."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        return False
    want = hmac.new(secret.encode(), str(t).encode() + b"." + body,
                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get("v1", ""))


class FakeProvider:
    def __init__(self, secret, fail_first=0, delay_s=0.0, port=0):
        self.secret = secret
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.requests = []          # dicts: event_id, sig_ok, status, body
        self.lock = threading.Lock()
        self._valid_seen = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, BODY_MAX))
                fake._handle(self, body)

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d/webhooks/vas" % self.server.server_port

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h, body):
        sig_ok = verify_signature(self.secret, h.headers.get("Vas-Signature"),
                                  body)
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        with self.lock:
            if not sig_ok:
                status = 400
            else:
                self._valid_seen += 1
                status = 500 if self._valid_seen <= self.fail_first else 200
            rec = {"event_id": event.get("id"), "sig_ok": sig_ok,
                   "status": status, "event": event, "t": time.time(),
                   "header_event_id": h.headers.get("Vas-Event-Id")}
            self.requests.append(rec)
        if self.delay_s:
            time.sleep(self.delay_s)
        reply = json.dumps({"ok": status == 200}).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(reply)))
            h.end_headers()
            h.wfile.write(reply)
        except OSError:
            pass                    # the relay gave up (timeout): fine
        if __name__ == "__main__":
            print(json.dumps({k: rec[k] for k in
                              ("event_id", "sig_ok", "status")}), flush=True)

    def for_event(self, event_id):
        with self.lock:
            return [r for r in self.requests if r["event_id"] == event_id]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secret", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--delay-s", type=float, default=0.0)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    fake = FakeProvider(a.secret, a.fail_first, a.delay_s, a.port)
    print(fake.url, flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
