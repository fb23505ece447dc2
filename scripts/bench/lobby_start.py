#!/usr/bin/env python3
"""make bench, lobby-start row: 4-player per-play starts end to end (holds
reserved in MariaDB, the stack's fake allocator over HTTP, capture with CDRs
and outbox rows), 16 at a time.

Players are the bench stack's funded subscribers bench-0..N-1
(scripts/bench/setup.sh). Each round builds N/4 ready lobbies (not timed),
then starts them all from 16 threads (timed: each start's latency, and the
round's wall time). Prints one line: "starts STARTS_PER_S P50_MS P99_MS ERRORS"."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ENV = os.environ
PLAYERS = int(ENV.get("BENCH_START_PLAYERS", "200")) // 4 * 4
ROUNDS = int(ENV.get("BENCH_START_ROUNDS", "4"))
CONC = 16
KEY = open(ENV["VAS_TOKEN_SECRET_FILE"], "rb").read()


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(user):
    now = int(time.time())
    h = b64(b'{"alg":"HS256","typ":"JWT"}')
    p = b64(json.dumps({"sub": user, "iat": now, "exp": now + 86400}).encode())
    return f"{h}.{p}." + b64(hmac.new(KEY, f"{h}.{p}".encode(), hashlib.sha256).digest())


def call(method, path, tok, body=None, headers=None):
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(ENV["VAS_BASE_URL"] + path, method=method, headers=h,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def build(game, group):
    toks = [token(u) for u in group]
    st, lob = call("POST", "/v1/lobbies", toks[0], {"game_id": game, "max_players": 4})
    if st != 201:
        return None
    for t in toks[1:]:
        call("POST", f"/v1/lobbies/{lob['id']}/join", t)
    for t in toks:
        call("POST", f"/v1/lobbies/{lob['id']}/ready", t, {"ready": True})
    return lob["id"], toks[0]


def start(arg):
    lid, tok = arg
    t0 = time.perf_counter()
    st, _ = call("POST", f"/v1/lobbies/{lid}/start", tok,
                 headers={"Idempotency-Key": secrets.token_hex(8)})
    return st, (time.perf_counter() - t0) * 1000


def main():
    env = subprocess.run(["/usr/bin/python3", os.path.join(ENV["VAS_ROOT"],
                                                            "scripts/bench/lobby_setup.py")],
                         check=True, capture_output=True, text=True).stdout
    game = int(dict(l.split("=", 1) for l in env.splitlines() if "=" in l)["START_GAME"])
    users = [f"bench-{i}" for i in range(PLAYERS)]
    lat, errors, wall, n = [], 0, 0.0, 0
    for _ in range(ROUNDS):
        with ThreadPoolExecutor(CONC) as ex:
            lobbies = [x for x in ex.map(lambda i: build(game, users[i:i + 4]),
                                         range(0, PLAYERS, 4)) if x]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(CONC) as ex:
            res = list(ex.map(start, lobbies))
        wall += time.perf_counter() - t0
        for st, ms in res:
            n += st == 200
            errors += st != 200
            lat.append(ms)
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int((len(lat) - 1) * q))] if lat else 0
    print("starts %.0f %.2f %.2f %d" % (n / wall if wall else 0, pick(0.5), pick(0.99), errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
