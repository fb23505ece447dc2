#!/usr/bin/env python3
"""make bench, lobby rows: a per-play game for join+leave and one for the
listing, lobbies and IM tokens, printed as KEY=value lines for
scripts/bench/lobby.lua (cached in run/bench/lobby-bench.env; every wrk
thread runs this, serialised with flock).

join+leave: LOBBY_THREADS x LOBBY_USERS joiners; thread t's user u joins
lobby JOIN<t * per + u // 7> (8 seats: an owner and 7 joiners), so one
thread's users never share a lobby with another thread's, and a user's
leave is sent LOBBY_USERS requests after its join (more than the
connections a thread keeps in flight: the join has been answered).
listing: LIST_LOBBIES open public lobbies of a second game.
User ids carry the run's tag (RUN): a cost run on a kept stack
(scripts/bench/lobby_cost.sh) sets up afresh beside the lobbies of the
runs before it, whose members are still in them."""
import base64
import fcntl
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import pymysql

THREADS, USERS, SEATS, LIST_LOBBIES = 8, 128, 7, 40
ENV = os.environ
OUT = os.path.join(ENV["VAS_STACK_DIR"], "lobby-bench.env")
RUN = f"{int(time.time() * 1000) % (1 << 32):x}"


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(user, key=open(ENV["VAS_TOKEN_SECRET_FILE"], "rb").read()):
    now = int(time.time())
    h = b64(b'{"alg":"HS256","typ":"JWT"}')
    p = b64(json.dumps({"sub": user, "iat": now, "exp": now + 86400}).encode())
    mac = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(mac)}"


def call(method, path, tok, body=None):
    req = urllib.request.Request(ENV["VAS_BASE_URL"] + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + tok,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def games():
    feed = {"feed_version": 1,
            "provider": {"code": "bench-lobby", "name": "Bench lobbies", "revenue_share_bp": 7000},
            "categories": [{"slug": "bench-lobby", "name": "Bench lobbies", "kind": "game"}],
            "items": [{"sku": sku, "kind": "game", "title": title, "category": "bench-lobby",
                       "price": 1, "currency": "CNY", "min_players": 2, "max_players": 8,
                       "pricing": "per_play", "pass_days": None,
                       "allocator_url": ENV["VAS_ALLOCATOR_URL"]}
                      for sku, title in (("GM-BENCH-JOIN", "Bench join"),
                                         ("GM-BENCH-LIST", "Bench list"),
                                         ("GM-BENCH-START", "Bench start"))]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(feed, f)
    subprocess.run(ENV["VASCTL"].split() + ["catalog", "import", f.name], check=True,
                   stdout=subprocess.DEVNULL)
    os.unlink(f.name)
    # By SKU in MariaDB: a kept stack (the test stack after a test run) has
    # more games than a catalog page, and a re-import is not "new".
    db = pymysql.connect(unix_socket=ENV["VAS_MYSQL_SOCKET"], user=ENV["VAS_MYSQL_USER"],
                         password=ENV["VAS_MYSQL_PASSWORD"], database=ENV["VAS_MYSQL_DATABASE"])
    with db.cursor() as cur:
        cur.execute("SELECT sku, id FROM items WHERE sku LIKE 'GM-BENCH-%'")
        ids = dict(cur.fetchall())
    db.close()
    return ids["GM-BENCH-JOIN"], ids["GM-BENCH-LIST"], ids["GM-BENCH-START"]


def main():
    with open(OUT + ".lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.exists(OUT) and os.path.getsize(OUT) > 0:
            sys.stdout.write(open(OUT).read())
            return 0
        join_game, list_game, start_game = games()
        lines = [f"JOIN_GAME={join_game}", f"LIST_GAME={list_game}",
                 f"START_GAME={start_game}", f"USERS={USERS}", f"SEATS={SEATS}"]
        per = -(-USERS // SEATS)
        for i in range(THREADS * per):
            owner = f"bench-lobby-owner-{RUN}-{i}"
            lines.append(f"JOIN{i}=" + call("POST", "/v1/lobbies", token(owner),
                                             {"game_id": join_game, "max_players": 8})["id"])
        for i in range(THREADS * USERS):
            lines.append(f"TOKEN{i}=" + token(f"bench-lobby-user-{RUN}-{i}"))
        for i in range(LIST_LOBBIES):
            call("POST", "/v1/lobbies", token(f"bench-list-owner-{RUN}-{i}"), {"game_id": list_game})
        lines.append("LIST_TOKEN=" + token("bench-lister"))
        text = "\n".join(lines) + "\n"
        with open(OUT + ".tmp", "w") as f:
            f.write(text)
        os.replace(OUT + ".tmp", OUT)
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
