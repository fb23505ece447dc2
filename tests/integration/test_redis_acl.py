"""The stack's Redis requires authentication (etc/redis.conf.in): no
anonymous access, the gateway's ACL user may run only what it needs on vas:
keys, and the gateway's old configuration (no password) is refused."""
import os
import shlex
import subprocess

import pytest

from conftest import ENV
from test_notify_helpers import Redis


def gw():
    return Redis(user=ENV["VAS_REDIS_GW_USER"],
                 password=ENV["VAS_REDIS_GW_PASSWORD"])


def test_unauthenticated_connection_is_refused():
    """Catches a Redis whose default user is still on without a password."""
    with Redis(auth=False) as r:
        with pytest.raises(RuntimeError, match="NOAUTH"):
            r.cmd("PING")
        with pytest.raises(RuntimeError, match="NOAUTH"):
            r.cmd("XADD", "vas:notify", "*", "id", "forged")
    with pytest.raises(RuntimeError, match="WRONGPASS"):
        Redis(user=ENV["VAS_REDIS_GW_USER"], password="not-the-password")


def test_gateway_with_old_unauthenticated_config_is_refused():
    """The gateway's own client (gw_redis) without redis.password_file, as
    every config before this change: Redis must refuse it."""
    env = dict(os.environ, VASGW_REDIS_PASSWORD_FILE="", VASGW_REDIS_USER="")
    p = subprocess.run(shlex.split(ENV["VASCTL"]) + [
        "notifications", "tail", "--timeout-ms", "200"], env=env,
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "redis" in p.stderr
    # With the stack's configuration the same command works.
    p = subprocess.run(shlex.split(ENV["VASCTL"]) + [
        "notifications", "tail", "--timeout-ms", "200"],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_gateway_user_has_only_what_it_needs():
    """Catches an ACL that grants everything (+@all ~*) to the gateway."""
    with gw() as r:
        assert r.cmd("PING") == "PONG"
        r.cmd("SET", "vas:acltest", "1")
        assert r.cmd("GET", "vas:acltest") == "1"
        assert r.cmd("EVAL", "return redis.call('GET', KEYS[1])", 1,
                     "vas:acltest") == "1"
        r.cmd("DEL", "vas:acltest")
        for cmd in (["FLUSHALL"], ["KEYS", "*"], ["CONFIG", "GET", "*"],
                    ["ACL", "LIST"], ["MONITOR"],
                    ["SET", "other:key", "1"],
                    ["GET", "other:key"]):
            with pytest.raises(RuntimeError, match="NOPERM"):
                r.cmd(*cmd)
        # Scripts run with the caller's rights.
        with pytest.raises(RuntimeError, match="(?i)noperm|permission"):
            r.cmd("EVAL", "return redis.call('SET', KEYS[1], 1)", 1,
                  "other:key")


def test_memory_is_bounded_and_never_evicts():
    with Redis() as r:
        cfg = r.cmd("CONFIG", "GET", "maxmemory*")
    cfg = dict(zip(cfg[0::2], cfg[1::2]))
    assert int(cfg["maxmemory"]) > 0
    assert cfg["maxmemory-policy"] == "noeviction"
