"""A fake game-server allocator, answering as a game provider's would (loopback only).

    POST /allocate   {"lobby_id","game_id","start_id","players":[user ids]}
                     -> 200 {"match_id","host","port"}

The gateway calls it when a lobby starts (store/store_start.c). It records
every request and can misbehave on purpose, set in-process or over HTTP:

    POST /control {"mode": "ok" | "fail" | "stall" | "fail_once" | "garbage",
                   "stall_s": S}
        fail       answer 500 to every request
        fail_once  500 to the next request, then ok (the gateway retries once)
        stall      sleep stall_s seconds, then answer ok (a hung allocator)
        garbage    200 with a body that is not an allocation
    GET  /requests   the recorded requests (JSON list; "peer" is the client's
                     TCP port, so a test can count the connections used)

Use it in-process (FakeAllocator().start(); .url; .requests; .mode; .stop())
or from a shell (scripts/stack.sh runs one for make run's demo):
    python3 tests/fakes/fake_allocator.py [--port P] [--host H] [--pid-file F]
"""
import argparse
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 64 * 1024


class Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: the kernel drops the SYNs of a burst of more
    # concurrent connects than that, and the gateway's connect waits out its 1 s timeout.
    request_queue_size = 128


class FakeAllocator:
    def __init__(self, port=0, game_host="127.0.0.1", base_port=7000):
        self.mode = "ok"
        self.stall_s = 10.0
        self.requests = []
        self.lock = threading.Lock()
        self.game_host = game_host
        self.base_port = base_port
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, obj):
                body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(n, BODY_MAX))
                try:
                    return json.loads(raw.decode() or "{}")
                except ValueError:
                    return None

            def do_GET(self):
                if self.path == "/requests":
                    with fake.lock:
                        self._reply(200, list(fake.requests))
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self):
                body = self._body()
                if self.path == "/control":
                    fake.mode = (body or {}).get("mode", "ok")
                    fake.stall_s = float((body or {}).get("stall_s", fake.stall_s))
                    self._reply(200, {"mode": fake.mode})
                    return
                if self.path != "/allocate":
                    self._reply(404, {"error": "not found"})
                    return
                with fake.lock:
                    mode = fake.mode
                    if mode == "fail_once":
                        fake.mode = "ok"
                    fake.requests.append({"body": body, "mode": mode,
                                          "at": time.time(),
                                          "peer": self.client_address[1]})
                if body is None or not body.get("lobby_id"):
                    self._reply(400, {"error": "bad request"})
                elif mode in ("fail", "fail_once"):
                    self._reply(500, {"error": "no capacity"})
                elif mode == "garbage":
                    self._reply(200, b"<html>oops</html>")
                else:
                    if mode == "stall":
                        time.sleep(fake.stall_s)
                    self._reply(200, {
                        "match_id": "m-" + secrets.token_hex(8),
                        "host": fake.game_host,
                        "port": fake.base_port + len(fake.requests) % 1000,
                    })

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/allocate"
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def reset(self):
        with self.lock:
            self.mode = "ok"
            self.requests.clear()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--game-host", default="127.0.0.1")
    ap.add_argument("--pid-file")
    a = ap.parse_args()
    fake = FakeAllocator(port=a.port, game_host=a.game_host)
    if a.pid_file:
        with open(a.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(a.pid_file + ".tmp", a.pid_file)
    print(fake.url, flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
