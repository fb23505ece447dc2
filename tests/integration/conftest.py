"""Shared fixtures for the integration tests.

The tests run against the private *test* stack started by scripts/test.sh
(real nginx, vasgw, MariaDB and Redis); its coordinates come from
run/test/stack.env (exported into the environment by scripts/test.sh, or
read here when missing). Nothing is mocked: partners reached over HTTP get
small fake servers under tests/fakes/.
"""
import json
import os
import secrets
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pymysql
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_env():
    env = {}
    f = Path(os.environ.get("VAS_STACK_ENV", ROOT / "run/test/stack.env"))
    if f.exists():
        for line in f.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v.strip().strip('"')
    env.update({k: v for k, v in os.environ.items() if k.startswith("VAS")})
    return env


ENV = _load_env()
BASE = ENV.get("VAS_BASE_URL", "http://127.0.0.1:18080")


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return f"<Resp {self.status} {self.body[:300]!r}>"


def http(method, path, body=None, headers=None, token=None, raw=None,
         timeout=15):
    """One HTTP request to the stack; never raises on HTTP errors."""
    h = dict(headers or {})
    data = None
    if raw is not None:
        data = raw if isinstance(raw, bytes) else raw.encode()
        h.setdefault("Content-Type", "application/json")
    elif body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if token:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Resp(r.status, {k.lower(): v for k, v in r.headers.items()},
                        r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, {k.lower(): v for k, v in e.headers.items()},
                    e.read())


def assert_problem(resp, status, code=None):
    """resp is an RFC 9457 problem with this status (and code)."""
    assert resp.status == status, resp
    assert resp.headers.get("content-type", "").startswith(
        "application/problem+json"), resp.headers
    p = resp.json()
    assert p["status"] == status, p
    assert p["title"] and p["type"], p
    if code is not None:
        assert p["code"] == code, p
    return p


def vasctl(*args, check=True, input=None):
    """Runs vasctl against the test stack; returns CompletedProcess."""
    cmd = shlex.split(ENV["VASCTL"]) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check,
                          input=input, timeout=120)


def mint_token(user, ttl=3600):
    return vasctl("token", "mint", user, "--ttl", ttl).stdout.strip()


def db_connect():
    return pymysql.connect(unix_socket=ENV["VAS_MYSQL_SOCKET"],
                           user=ENV["VAS_MYSQL_USER"],
                           password=ENV["VAS_MYSQL_PASSWORD"],
                           database=ENV["VAS_MYSQL_DATABASE"],
                           autocommit=True, charset="utf8mb4")


def db_query(sql, args=None):
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def new_msisdn():
    return "86139" + "".join(secrets.choice("0123456789") for _ in range(8))


def new_user():
    return "im-" + secrets.token_hex(6)


def audit_clean():
    """vasctl audit over the whole database: returns (ok, output)."""
    p = vasctl("audit", check=False)
    return p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="session")
def admin_key():
    return ENV["VAS_ADMIN_KEY"]


@pytest.fixture
def subscriber(admin_key):
    """Factory: creates a bound subscriber; returns dict with token."""

    def make(plan="prepaid", balance=0, credit_limit=None, caps=None):
        user, msisdn = new_user(), new_msisdn()
        body = {"im_user_id": user, "msisdn": msisdn, "plan": plan}
        if credit_limit is not None:
            body["credit_limit"] = credit_limit
        if caps is not None:
            body["caps"] = caps
        r = http("POST", "/v1/admin/subscribers", body, token=admin_key)
        assert r.status == 201, r
        if balance:
            r = http("POST", f"/v1/admin/subscribers/{msisdn}/topups",
                     {"amount": balance, "reference": "seed"},
                     token=admin_key,
                     headers={"Idempotency-Key": secrets.token_hex(8)})
            assert r.status == 201, r
        return {"user": user, "msisdn": msisdn, "token": mint_token(user),
                "plan": plan}

    return make


def wait_until(pred, timeout=20.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def redis_args():
    """Connection arguments for the stack's Redis, which requires AUTH
    (etc/redis.conf.in): the admin user of stack.env, for tests and tools.
    redis-py: redis.Redis(**redis_args(), decode_responses=True). The
    gateway's own, restricted user is VAS_REDIS_GW_USER/_PASSWORD."""
    return {"host": ENV.get("VAS_REDIS_HOST", "127.0.0.1"),
            "port": int(ENV.get("VAS_REDIS_PORT", 16390)),
            "username": ENV.get("VAS_REDIS_USER"),
            "password": ENV.get("VAS_REDIS_PASSWORD")}


def redis_client(**kw):
    """A redis-py client (python3-redis) on the stack's Redis, authenticated."""
    import redis
    args = redis_args()
    args.update(kw)
    return redis.Redis(**args)
