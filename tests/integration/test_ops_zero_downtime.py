"""Zero-downtime operations under a purchase load (issue 13): SIGHUP
reloads, worker recycling (server.max_requests) and a binary upgrade
(SIGUSR2) while 16 clients buy with unique Idempotency-Keys and never
retry. Not one 5xx and not one transport error may reach a client, and the
ledger audit stays clean.

What each part catches:
- reloads / recycles: a retiring worker that closes a FastCGI connection
  nginx keeps (nginx was sending a POST on it: 502 "upstream prematurely
  closed connection", which nginx does not retry for a POST);
- the upgrade: a gap with no listening socket (connect() refused, 502) or
  a second socket (the old master unlinking the new one's path), and a new
  master that does not take over (pid file, old master still running).
"""
import os
import signal
import time

import pytest

from conftest import audit_clean
from gw_helpers import (_listen_inode, alive, ensure_vasgw, master_pid,
                        metric, restart_vasgw, scrape, wait_until)
from ops_load import Load, setup_buyers

RECYCLE_ENV = {"VASGW_SERVER_MAX_REQUESTS": "5"}


@pytest.fixture
def recycling_vasgw():
    """vasgw whose workers retire every 5 requests; the default afterwards."""
    restart_vasgw(env=RECYCLE_ENV)
    yield
    restart_vasgw()


def _upgrade():
    """SIGUSR2 to the master; returns (old pid, new pid) once the new master
    owns the pid file and the old one has exited."""
    old = master_pid()
    os.kill(old, signal.SIGUSR2)
    assert wait_until(lambda: master_pid() not in (None, old)
                      and not alive(old), 30), "the upgrade did not finish"
    return old, master_pid()


def test_reloads_recycles_and_upgrade_drop_no_request(recycling_vasgw):
    tokens, item = setup_buyers(16)
    inode = _listen_inode()
    assert inode is not None
    load = Load(tokens, item).start()
    try:
        time.sleep(1.5)
        for _ in range(3):
            os.kill(master_pid(), signal.SIGHUP)
            time.sleep(1.5)
        old, new = _upgrade()
        # The same listening socket all along: nginx never lost it.
        assert _listen_inode() == inode, "the socket was re-created"
        # 100 recycles in the new master (its counters start at 0).
        assert wait_until(lambda: metric(
            scrape(), "vasgw_worker_recycles_total") >= 100, 120), \
            f"too few recycles: {load.summary()}"
        recycles = metric(scrape(), "vasgw_worker_recycles_total")
        time.sleep(1.0)
    finally:
        load.stop()
    print(f"master {old} -> {new}; {recycles:.0f} recycles after the upgrade;"
          f" {load.summary()}")
    assert load.total() > 300, load.summary()
    assert not load.errors, load.errors[:5]
    assert not load.bad, load.bad[:5]
    assert set(load.statuses) == {201}, load.summary()
    ok, out = audit_clean()
    assert ok, out


def test_restart_part_keeps_the_socket():
    """scripts/stack.sh restart-part vasgw is an in-place upgrade: a new
    master pid, the same listening socket, /healthz answering throughout.
    Fails if restart-part stops vasgw and starts it again (the ~2 s with
    no socket of old)."""
    from gw_helpers import healthy, stack
    import threading
    ensure_vasgw()
    old, inode = master_pid(), _listen_inode()
    stop, fails = threading.Event(), []

    def probe():
        while not stop.is_set():
            if not healthy():
                fails.append(time.time())
            time.sleep(0.02)

    t = threading.Thread(target=probe)
    t.start()
    try:
        r = stack("restart-part", "vasgw")
    finally:
        stop.set()
        t.join()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "upgraded in place" in r.stderr, r.stderr
    assert master_pid() != old and not alive(old)
    assert _listen_inode() == inode
    assert not fails, f"{len(fails)} failed /healthz probes"


def test_restart_part_applies_changed_overrides():
    """An upgrade's new master inherits the old one's environment, so
    restart-part with VASGW_* overrides that differ from the running
    master's stops and starts vasgw (the overrides take effect), and with
    the same overrides upgrades in place. Fails if restart-part upgrades
    regardless (the override is silently ignored)."""
    from gw_helpers import stack
    ensure_vasgw()

    def environ():
        with open(f"/proc/{master_pid()}/environ", "rb") as f:
            return f.read().split(b"\0")

    flag = b"VASGW_SERVER_MAX_REQUESTS=190000"
    try:
        r = stack("restart-part", "vasgw",
                  env={"VASGW_SERVER_MAX_REQUESTS": "190000"})
        assert r.returncode == 0, r.stdout + r.stderr
        assert "stop and start" in r.stderr, r.stderr
        assert flag in environ()
        r = stack("restart-part", "vasgw",
                  env={"VASGW_SERVER_MAX_REQUESTS": "190000"})
        assert r.returncode == 0 and "upgraded in place" in r.stderr, r.stderr
        assert flag in environ()
    finally:
        r = stack("restart-part", "vasgw")
    assert r.returncode == 0, r.stdout + r.stderr
    assert flag not in environ()
