"""Helpers shared by test_notify*.py and test_webhook*.py (no tests here).

- Redis: a tiny RESP client (the test image has no redis-py), enough for
  XRANGE / ZRANGE / PING against the stack's Redis.
- Outbox rows inserted the way gw_outbox_add() does (the billing module
  writes exactly these rows inside its money transactions).
- The relay process of the stack's vasgw master, and extra relays: a second
  vasgw master with only its relay (what another gateway host would run).
"""
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import ENV, ROOT, db_connect, db_query, wait_until

STREAM = ENV.get("VAS_NOTIFY_STREAM", "vas:notify")
VASGW_BIN = os.environ.get("VASGW_BIN", str(ROOT / "bin/vasgw"))


class Redis:
    """Minimal RESP2 client: one blocking connection, authenticated as the
    stack's admin user (VAS_REDIS_USER / VAS_REDIS_PASSWORD in stack.env)
    unless user/password say otherwise; auth=False for none at all."""

    def __init__(self, host=None, port=None, timeout=10, user=None,
                 password=None, auth=True):
        self.sock = socket.create_connection(
            (host or ENV.get("VAS_REDIS_HOST", "127.0.0.1"),
             int(port or ENV.get("VAS_REDIS_PORT", 16390))), timeout=timeout)
        self.f = self.sock.makefile("rb")
        user = user or ENV.get("VAS_REDIS_USER")
        password = password or ENV.get("VAS_REDIS_PASSWORD")
        if auth and password:
            try:
                self.cmd(*(["AUTH", user, password] if user
                           else ["AUTH", password]))
            except Exception:
                self.close()
                raise

    def close(self):
        self.f.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad RESP line %r" % line)


def redis_up():
    try:
        with Redis(timeout=1) as r:
            return r.cmd("PING") == "PONG"
    except OSError:
        return False


def stream_entries(since_ms, ids=None, page=10000):
    """Stream entries added since since_ms: list of dicts (with stream_id),
    only those whose id is in ids when given."""
    out, start = [], "%d-0" % since_ms
    with Redis() as r:
        while True:
            chunk = r.cmd("XRANGE", STREAM, start, "+", "COUNT", page)
            for sid, fields in chunk:
                e = dict(zip(fields[0::2], fields[1::2]))
                e["stream_id"] = sid
                if ids is None or e.get("id") in ids:
                    out.append(e)
            if len(chunk) < page:
                return out
            ms, seq = chunk[-1][0].split("-")
            start = "%s-%d" % (ms, int(seq) + 1)


def inbox_members(user):
    with Redis() as r:
        return r.cmd("ZRANGE", "vas:inbox:{%s}" % user, 0, -1)


def new_notif_id():
    """Same shape as gw_outbox_id_new(): 12 hex ms + 20 random hex."""
    return "%012x" % (int(time.time() * 1000) & 0xFFFFFFFFFFFF) + \
        secrets.token_hex(10)


def insert_outbox(user, ntype="purchase.completed", payload=None):
    """One outbox row as gw_outbox_add() writes it; returns its notif id."""
    nid = new_notif_id()
    payload = payload or ('{"purchase_id":"%s","item_id":1,"amount":300,'
                          '"currency":"CNY"}' % secrets.token_hex(4))
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO outbox (notif_id, user_id, type, payload,"
                        " created_at) VALUES (%s, %s, %s, %s,"
                        " UTC_TIMESTAMP(3))", (nid, user, ntype, payload))
    finally:
        conn.close()
    return nid


def insert_outbox_bulk(n, user_prefix="im-bulk-"):
    """n rows in one transaction (INSERT … SELECT from the seq engine);
    returns (tag, set of notif ids). Users spread over 100 inboxes."""
    tag = secrets.token_hex(4)
    ms = "%012x" % (int(time.time() * 1000) & 0xFFFFFFFFFFFF)
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO outbox (notif_id, user_id, type, payload,"
                " created_at) SELECT CONCAT(%s, %s, LPAD(LOWER(HEX(seq)), 12,"
                " '0')), CONCAT(%s, seq MOD 100), 'purchase.completed',"
                " CONCAT('{\"seq\":', seq, '}'), UTC_TIMESTAMP(3)"
                " FROM seq_1_to_" + str(int(n)),
                (ms, tag, user_prefix + tag + "-"))
    finally:
        conn.close()
    ids = {ms + tag + "%012x" % i for i in range(1, n + 1)}
    return tag, ids


def undelivered(ids):
    """How many of ids are still undelivered: their outbox rows are still
    queued in outbox_pending (migration 007; the relay deletes the queue
    entries it delivered)."""
    ids = list(ids)
    left = 0
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        rows = db_query("SELECT COUNT(*) FROM outbox o JOIN outbox_pending p"
                        " ON p.id = o.id WHERE o.notif_id IN ("
                        + ",".join(["%s"] * len(chunk)) + ")", chunk)
        left += rows[0][0]
    return left


def undelivered_tag(tag):
    return db_query("SELECT COUNT(*) FROM outbox o JOIN outbox_pending p"
                    " ON p.id = o.id WHERE SUBSTRING(o.notif_id, 13, 8) = %s",
                    (tag,))[0][0]


def master_pid():
    return int(Path(ENV["VAS_VASGW_PID_FILE"]).read_text().strip())


def relay_pid(master=None, log=None, timeout=15):
    """The pid of the relay role under master: a child of the master that
    logged "relay started" (roles are forks, so the log names them)."""
    import json
    master = master or master_pid()
    log = Path(log or ENV["VAS_VASGW_LOG"])
    found = {}

    def look():
        kids = subprocess.run(["pgrep", "-P", str(master)],
                              capture_output=True, text=True).stdout.split()
        kids = {int(k) for k in kids}
        if not log.exists():    # the master has not opened its log yet
            return False
        for line in log.read_text(errors="replace").splitlines()[-5000:]:
            if '"role":"relay"' in line and "relay started" in line:
                pid = json.loads(line)["pid"]
                if pid in kids:
                    found["pid"] = pid
        return "pid" in found

    assert wait_until(look, timeout=timeout), "no relay process found"
    return found["pid"]


class ExtraRelay:
    """A second vasgw master running only its relay role (1 worker on its
    own socket, no janitor): another gateway host, as far as MariaDB and
    Redis can tell. env: extra VASGW_* overrides."""

    def __init__(self, env=None, name=None):
        name = name or "relay-" + secrets.token_hex(3)
        d = Path(ENV["VAS_STACK_DIR"])
        self.log = d / (name + ".log")
        self.env = dict(os.environ)
        self.env.update({
            "VASGW_SERVER_SOCKET": str(d / (name + ".sock")),
            "VASGW_SERVER_PID_FILE": str(d / (name + ".pid")),
            "VASGW_SERVER_LOG_FILE": str(self.log),
            "VASGW_SERVER_WORKERS": "1",
            "VASGW_SERVER_THREADS": "1",
            "VASGW_SERVER_JANITOR": "0",
            "VASGW_SERVER_RELAY": "1",
        })
        self.env.update(env or {})
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [VASGW_BIN, "-c", ENV["VAS_VASGW_INI"]], cwd=str(ROOT),
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            relay_pid(self.proc.pid, self.log)
        except BaseException:
            # A relay left running would deliver for the tests after this one.
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def stack_part(action, part):
    """stop-part / start-part of the test stack (scripts/stack.sh)."""
    env = dict(os.environ)
    subprocess.run([ENV["VAS_STACK_SCRIPT"], action, ENV["VAS_STACK_NAME"],
                    part], check=True, env=env, capture_output=True,
                   timeout=120)
