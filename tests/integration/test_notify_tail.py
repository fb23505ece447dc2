"""vasctl notifications tail: the reference consumer of the stream (consumer
group, XACK, XAUTOCLAIM of a crashed consumer's pending entries, exit on
--count or --timeout-ms) and svc_notify_direct's format, via the relay."""
import json
import secrets
import time

from conftest import new_user, vasctl, wait_until
from test_notify_helpers import STREAM, Redis, insert_outbox, undelivered


def _group():
    g = "t-" + secrets.token_hex(4)
    with Redis() as r:
        r.cmd("XGROUP", "CREATE", STREAM, g, "$", "MKSTREAM")
    return g


def _lines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_tail_reads_acks_and_exits_after_count():
    g = _group()
    user = new_user()
    ids = [insert_outbox(user, "lobby.invited", '{"lobby_id":"L%d"}' % i)
           for i in range(3)]
    assert wait_until(lambda: undelivered(ids) == 0)
    p = vasctl("notifications", "tail", "--group", g, "--count", 3,
               "--timeout-ms", 5000)
    got = _lines(p.stdout)
    assert [e["id"] for e in got] == ids            # stream order
    for e in got:
        assert e["user"] == user and e["type"] == "lobby.invited"
        assert isinstance(e["payload"], dict) and e["stream_id"]
    with Redis() as r:
        pending = r.cmd("XPENDING", STREAM, g)
    assert pending[0] == 0                          # all acknowledged
    # Nothing new: exits on the timeout with nothing printed.
    t0 = time.time()
    p = vasctl("notifications", "tail", "--group", g, "--timeout-ms", 700)
    assert p.stdout == "" and time.time() - t0 < 10


def test_tail_claims_entries_of_a_crashed_consumer():
    g = _group()
    user = new_user()
    ids = [insert_outbox(user) for _ in range(2)]
    assert wait_until(lambda: undelivered(ids) == 0)
    with Redis() as r:
        # A push server reads and dies before XACK.
        r.cmd("XREADGROUP", "GROUP", g, "crashed", "COUNT", 10, "STREAMS",
              STREAM, ">")
        assert r.cmd("XPENDING", STREAM, g)[0] == 2
    time.sleep(0.3)
    p = vasctl("notifications", "tail", "--group", g, "--min-idle-ms", 200,
               "--count", 2, "--timeout-ms", 1000)
    assert [e["id"] for e in _lines(p.stdout)] == ids
    with Redis() as r:
        assert r.cmd("XPENDING", STREAM, g)[0] == 0


def test_tail_rejects_bad_options():
    assert vasctl("notifications", "tail", "--count", "0",
                  check=False).returncode == 2
    assert vasctl("notifications", "tail", "--timeout-ms", "x",
                  check=False).returncode == 2


def _groups():
    with Redis() as r:
        try:
            return {dict(zip(g[0::2], g[1::2]))["name"]: dict(zip(g[0::2], g[1::2]))
                    for g in r.cmd("XINFO", "GROUPS", STREAM)}
        except RuntimeError:
            return {}


def _consumers(group):
    with Redis() as r:
        return [dict(zip(c[0::2], c[1::2]))["name"]
                for c in r.cmd("XINFO", "CONSUMERS", STREAM, group)]


def test_tail_watches_without_a_group_and_leaves_nothing_behind():
    """Catches a tail that reads through a consumer group by default: it
    would create a group or consumer (or take entries from im-push)."""
    import subprocess
    import shlex
    from conftest import ENV
    before = _groups()
    user = new_user()
    p = subprocess.Popen(shlex.split(ENV["VASCTL"]) + [
        "notifications", "tail", "--count", "3", "--timeout-ms", "15000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)                     # tail starts at "$": entries after it
    ids = [insert_outbox(user, "lobby.invited", '{"lobby_id":"W%d"}' % i)
           for i in range(3)]
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    got = [e for e in _lines(out) if e["user"] == user]
    assert [e["id"] for e in got] == ids
    after = _groups()
    assert set(after) == set(before), "tail left a consumer group behind"
    for name, g in before.items():
        assert after[name]["consumers"] == g["consumers"], name
    # im-push still has every entry to deliver: tail consumed nothing.
    assert "no group" in err


def test_tail_group_made_up_consumer_is_removed():
    """--group without --consumer: the vasctl-<pid> consumer must not stay
    in the group after a clean exit (nothing pending)."""
    g = _group()
    user = new_user()
    ids = [insert_outbox(user) for _ in range(2)]
    assert wait_until(lambda: undelivered(ids) == 0)
    p = vasctl("notifications", "tail", "--group", g, "--timeout-ms", 500)
    assert [e["id"] for e in _lines(p.stdout)] == ids
    assert _consumers(g) == []


def test_tail_help_lists_every_flag_and_unknown_ones_fail():
    p = vasctl("notifications", "tail", "--help")
    for flag in ("--from", "--group", "--consumer", "--min-idle-ms", "--new",
                 "--count", "--timeout-ms", "--help"):
        assert flag in p.stdout, flag
    assert vasctl("notifications", "tail", "--bogus", check=False).returncode == 2
    assert vasctl("notifications", "tail", "--group", check=False).returncode == 2
    # Group-only options without a group are refused, not ignored.
    assert vasctl("notifications", "tail", "--consumer", "c",
                  check=False).returncode == 2
