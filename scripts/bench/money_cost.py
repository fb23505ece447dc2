#!/usr/bin/env python3
"""Load-independent cost of one money operation on the bench stack (issue 8):
a fixed number of requests (not a wall-clock run), and the CPU (utime +
stime from /proc/PID/stat) of mariadbd, of vasgw's FastCGI workers, of its
other processes (relay, janitor), of nginx and of redis-server, the round
trips to MariaDB (Questions: client statements, not those run inside a
stored procedure), the statements run (Queries: those too) and commands,
divided by that number.

  money_cost.py purchase|topup|gift|refund [N] [CONCURRENCY]
  money_cost.py log purchase|topup|gift|refund   the general log of one request

refund: full refunds of purchases made before (run the purchase kind
first: it needs N + warm-up refundable purchases).

Needs the bench stack's env (run/bench/stack.env) and its fixtures
(scripts/bench/setup.sh: buyers, tokens, the bench pass). Every request must
answer 201; anything else is counted and printed (a cost per failed request
would measure the wrong thing)."""
import concurrent.futures as cf
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

import pymysql

ENV = os.environ
TCK = os.sysconf("SC_CLK_TCK")


def db(root=False):
    """root: the private stack's root (unix-socket auth, as the OS user
    that made it) to switch the general log."""
    if root:
        return pymysql.connect(unix_socket=ENV["VAS_MYSQL_SOCKET"],
                               user="root", autocommit=True)
    return pymysql.connect(unix_socket=ENV["VAS_MYSQL_SOCKET"],
                           user=ENV["VAS_MYSQL_USER"],
                           password=ENV["VAS_MYSQL_PASSWORD"],
                           database=ENV["VAS_MYSQL_DATABASE"], autocommit=True)


def bench_env():
    out = {}
    with open(os.path.join(ENV["VAS_STACK_DIR"], "money-bench.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            out[k] = v
    with open(out["TOKENFILE"]) as f:
        out["tokens"] = [t.strip() for t in f if t.strip()]
    return out


def pid_ticks(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def pidfile(name):
    with open(ENV[name]) as f:
        return f.read().strip()


def children(pid):
    with open("/proc/%s/task/%s/children" % (pid, pid)) as f:
        return f.read().split()


def vasgw_procs():
    """(workers, roles): the master's children that hold the FastCGI
    listening socket, and the others (relay, janitor: they close it), as
    scripts/bench/procs.sh finds them."""
    sock = ENV["VAS_VASGW_SOCKET"]
    inode = None
    with open("/proc/net/unix") as f:
        for line in f:
            parts = line.split()
            # the listening socket (flags __SO_ACCEPTCON): the connections
            # nginx made to it carry its path too, each held by one worker
            if len(parts) >= 8 and parts[7] == sock and \
                    parts[3] == "00010000":
                inode = parts[6]
                break
    workers, roles = [], []
    for p in children(pidfile("VAS_VASGW_PID_FILE")):
        (workers if holds(p, "socket:[%s]" % inode) else roles).append(p)
    return workers, roles


def holds(pid, target):
    """pid has an fd open on target. Each fd is read on its own: a worker
    closes fds (its MariaDB and nginx connections) all the time, and one
    closed between listing and reading must not make the whole process
    look like a role."""
    try:
        fds = os.listdir("/proc/%s/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target:
                return True
        except OSError:
            continue
    return False


def procs():
    """Process groups whose CPU is counted, by name."""
    workers, roles = vasgw_procs()
    ngx = pidfile("VAS_NGINX_PID_FILE")
    return {"mariadbd": [pidfile("VAS_MYSQL_PID_FILE")],
            "vasgw workers": workers, "vasgw roles": roles,
            "nginx": [ngx] + children(ngx),
            "redis": [pidfile("VAS_REDIS_PID_FILE")]}


def ticks(groups):
    return {k: sum(pid_ticks(p) for p in v) for k, v in groups.items()}


STATUS = ("Questions", "Queries", "Com_stmt_execute", "Com_stmt_prepare", "Com_commit",
          "Com_call_procedure", "Com_insert", "Com_update", "Com_select",
          "Handler_write", "Handler_update", "Handler_delete",
          "Handler_read_key", "Handler_read_next", "Handler_read_rnd_next",
          "Innodb_row_lock_waits",
          "Innodb_row_lock_time")


def status(c):
    with c.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS")
        rows = dict(cur.fetchall())
    return {k: int(rows.get(k, 0)) for k in STATUS}


class Client:
    def __init__(self):
        u = urllib.parse.urlparse(ENV["VAS_BASE_URL"])
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def post(self, path, token, body, key):
        self.conn.request("POST", path, body=json.dumps(body), headers={
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json", "Idempotency-Key": key})
        r = self.conn.getresponse()
        data = r.read()
        return r.status, data


REFUNDABLE = []


def refundable(n):
    """Purchases still refundable, newest first (the refund kind takes
    each once: warm-up and the measured run share this list)."""
    with db().cursor() as cur:
        cur.execute("SELECT id FROM purchases WHERE charge_txn_id IS NOT NULL"
                    " AND refunded = 0 ORDER BY id DESC LIMIT %s", (n,))
        REFUNDABLE.extend(r[0] for r in cur.fetchall())


def make_request(kind, env, tag, i):
    toks = env["tokens"]
    if kind == "refund":
        return ("/v1/admin/purchases/%d/refunds" % REFUNDABLE.pop(),
                ENV["VAS_ADMIN_KEY"], {"reason": "cost"})
    if kind == "purchase":
        return ("/v1/purchases", random.choice(toks),
                {"item_id": int(env["PASS"])})
    if kind == "gift":
        a = random.randrange(len(toks))
        b = (a + random.randrange(1, len(toks))) % len(toks)
        return ("/v1/purchases", toks[a],
                {"item_id": int(env["PASS"]), "gift_to": "bench-%d" % b})
    msisdn = "86137%08d" % random.randrange(len(toks))
    return ("/v1/admin/subscribers/%s/topups" % msisdn, ENV["VAS_ADMIN_KEY"],
            {"amount": 1, "reference": "cost-%s-%d" % (tag, i)})


def drained(c, timeout=300):
    """Waits until the background work the requests queued is done (the
    relay's outbox queue, the webhook deliverer's due events), so the CPU
    counted is that of the requests and everything they caused."""
    end = time.time() + timeout
    while time.time() < end:
        with c.cursor() as cur:
            cur.execute("SELECT (SELECT COUNT(*) FROM outbox_pending),"
                        " (SELECT COUNT(*) FROM webhook_events WHERE state ="
                        " 'pending' AND next_attempt_at <= UTC_TIMESTAMP(3))")
            a, b = cur.fetchone()
        if a == 0 and b == 0:
            return
        time.sleep(0.2)
    print("  warning: background work not drained in %d s" % timeout)


def run(kind, n, conc):
    env = bench_env()
    tag = "%x" % random.getrandbits(40)
    local = threading.local()
    fails = []

    def one(i):
        if not hasattr(local, "c"):
            local.c = Client()
        path, tok, body = make_request(kind, env, tag, i)
        st, data = local.c.post(path, tok, body, "cost-%s-%d" % (tag, i))
        if st != 201:
            fails.append((st, data[:200]))

    c = db()
    warm = int(ENV.get("COST_WARMUP", "1500"))
    if kind == "refund":
        refundable(n + warm)
        if len(REFUNDABLE) < n + warm:
            sys.exit("refund: only %d refundable purchases, want %d"
                     % (len(REFUNDABLE), n + warm))
    # warm-up: every vasgw thread (2 workers x 64) prepares its statements
    with cf.ThreadPoolExecutor(conc) as ex:
        list(ex.map(one, range(-warm, 0)))
    drained(c)
    groups = procs()
    s0, t0, w0 = status(c), ticks(groups), time.time()
    with cf.ThreadPoolExecutor(conc) as ex:
        list(ex.map(one, range(n)))
    w1 = time.time()
    drained(c)
    t1, s1 = ticks(groups), status(c)
    per = {k: (s1[k] - s0[k]) / n for k in STATUS}
    per["Questions"] = (s1["Questions"] - s0["Questions"] - 1) / n
    per["Queries"] = (s1["Queries"] - s0["Queries"] - 1) / n
    print("%s: %d requests, %d threads, %.1f s wall, %d not 201" %
          (kind, n, conc, w1 - w0, len(fails)))
    cpu = {k: (t1[k] - t0[k]) / TCK * 1000 / n for k in t0}
    print("  CPU ms/op (requests and the relay/webhook work they queued): " +
          ", ".join("%s %.3f" % (k, v) for k, v in cpu.items()) +
          "; mariadbd + vasgw workers %.3f; all %.3f" %
          (cpu["mariadbd"] + cpu["vasgw workers"], sum(cpu.values())))
    print("  " + ", ".join("%s %.2f" % (k, v) for k, v in per.items()))
    for f in fails[:5]:
        print("  failed:", f)


def general_log(kind):
    env = bench_env()
    c = db(root=True)
    cl = Client()
    tag = "%x" % random.getrandbits(40)
    if kind == "refund":
        refundable(4)
    for i in range(3):  # warm: statements prepared
        path, tok, body = make_request(kind, env, tag, i)
        cl.post(path, tok, body, "log-%s-%d" % (tag, i))
    with c.cursor() as cur:
        cur.execute("SET GLOBAL log_output = 'TABLE'")
        cur.execute("TRUNCATE mysql.general_log")
        cur.execute("SET GLOBAL general_log = 1")
    time.sleep(0.2)
    path, tok, body = make_request(kind, env, tag, 99)
    st, _ = cl.post(path, tok, body, "log-%s-99" % tag)
    time.sleep(0.2)
    with c.cursor() as cur:
        cur.execute("SET GLOBAL general_log = 0")
        cur.execute("SELECT thread_id, command_type, argument FROM"
                    " mysql.general_log WHERE thread_id <> CONNECTION_ID()"
                    " ORDER BY event_time")
        rows = cur.fetchall()
    print("%s: HTTP %d" % (kind, st))
    for tid, cmd, arg in rows:
        arg = arg.decode() if isinstance(arg, bytes) else arg
        print("%5d %-8s %s" % (tid, cmd, " ".join(arg.split())[:400]))
    print("%d commands" % len(rows))


if __name__ == "__main__":
    if sys.argv[1] == "log":
        general_log(sys.argv[2])
    else:
        run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000,
            int(sys.argv[3]) if len(sys.argv) > 3 else 8)
