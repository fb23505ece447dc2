"""Metrics that follow Prometheus conventions, the php-fpm-style process
view, the slowlog and SIGUSR1 log reopening (issue 13), against the live
test stack."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ENV, http
from gw_helpers import (STACK_DIR, VASGW_LOG, master_pid, metric,
                        restart_vasgw, scrape, wait_until, worker_pids)

SLOWLOG = STACK_DIR / "vasgw-slow.log"


def test_promtool_accepts_live_metrics():
    """`promtool check metrics` on a live /metrics prints nothing and exits
    0. Fails on a counter without _total, an abbreviated unit (_ms), a
    _sum/_count pair posing as counters, a second prefix."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/deps.sh installs prometheus"
    http("GET", "/healthz")
    body = http("GET", "/metrics").body
    p = subprocess.run([promtool, "check", "metrics"], input=body,
                       capture_output=True, timeout=30)
    assert p.returncode == 0 and not p.stdout and not p.stderr, \
        (p.stdout + p.stderr).decode()
    names = {line.split()[2] for line in body.decode().splitlines()
             if line.startswith("# TYPE ")}
    assert all(n.startswith("vasgw_") for n in names), names


def test_process_view():
    """Workers active, threads busy + idle = workers x threads, requests
    per live worker pid, accept queue and backlog, build info."""
    http("GET", "/healthz")
    m = scrape()
    pids = worker_pids()
    active = metric(m, "vasgw_worker_processes", state="active")
    assert active == len(pids), (active, pids)
    threads = int(subprocess.run(
        [str(Path(ENV.get("VAS_ROOT", ".")) / "bin" / "vasgw"),
         "--check-config", "-c", ENV["VAS_VASGW_INI"]],
        capture_output=True, text=True).stdout.split("threads = ")[1]
        .split()[0])
    busy = metric(m, "vasgw_worker_threads", state="busy")
    idle = metric(m, "vasgw_worker_threads", state="idle")
    assert busy >= 1, "the scrape itself is a busy thread"
    assert busy + idle >= active * threads, (busy, idle, active, threads)
    for pid in pids:
        assert (("vasgw_worker_requests", frozenset({("pid", str(pid))}))
                in m), pid
    assert ("vasgw_listen_queue_connections", frozenset()) in m
    assert metric(m, "vasgw_listen_backlog_connections") > 0
    build = [k for k in m if k[0] == "vasgw_build_info"]
    assert len(build) == 1 and dict(build[0][1])["version"], build


@pytest.fixture
def slow_vasgw():
    """Debug routes on, slow requests from 200 ms."""
    restart_vasgw(env={"VASGW_SERVER_DEBUG_ROUTES": "1",
                       "VASGW_SERVER_SLOW_REQUEST_MS": "200"})
    yield
    restart_vasgw(env={"VASGW_SERVER_DEBUG_ROUTES": "1"})


def _slowlog_lines():
    try:
        return [json.loads(x) for x in SLOWLOG.read_text().splitlines() if x]
    except FileNotFoundError:
        return []


def test_slow_requests_counted_and_logged(slow_vasgw):
    """A 300 ms request over a 200 ms threshold is counted and written to
    the slowlog with its request id; a fast one is neither."""
    before = metric(scrape(), "vasgw_slow_requests_total")
    rid_fast = f"ops-fast-{time.time_ns()}"
    rid_slow = f"ops-slow-{time.time_ns()}"
    assert http("GET", "/v1/debug/sleep?ms=0",
                headers={"X-Request-Id": rid_fast}).status == 200
    assert http("GET", "/v1/debug/sleep?ms=300",
                headers={"X-Request-Id": rid_slow}).status == 200
    assert metric(scrape(), "vasgw_slow_requests_total") - before == 1
    assert metric(scrape(), "vasgw_slow_request_threshold_seconds") == 0.2
    lines = _slowlog_lines()
    slow = [x for x in lines if x["rid"] == rid_slow]
    assert slow and slow[0]["dur_us"] >= 300000, lines[-3:]
    assert slow[0]["route"] == "/v1/debug/sleep"
    assert not [x for x in lines if x["rid"] == rid_fast]


def _vasgw_pids():
    m = master_pid()
    out = subprocess.run(["pgrep", "-P", str(m)], capture_output=True,
                         text=True).stdout.split()
    return [m] + [int(p) for p in out]


def _holding(path):
    """vasgw processes with path open on a descriptor other than stdout and
    stderr (which belong to whoever started the master)."""
    holders = []
    for pid in _vasgw_pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            if fd in ("1", "2"):
                continue
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    holders.append((pid, fd))
            except OSError:
                pass
    return holders


def test_sigusr1_reopens_logs(tmp_path):
    """logrotate's postrotate: after the log and slowlog are renamed and
    SIGUSR1 is sent to the master, no vasgw process (master, workers,
    roles) keeps the renamed files open, new lines go to new files, and no
    process died (a role without a handler would be killed by SIGUSR1)."""
    http("GET", "/healthz")
    pids = _vasgw_pids()
    rotated = Path(str(VASGW_LOG) + ".1")
    slow_rotated = Path(str(SLOWLOG) + ".1")
    if not SLOWLOG.exists():
        SLOWLOG.touch()
    os.rename(VASGW_LOG, rotated)
    os.rename(SLOWLOG, slow_rotated)
    try:
        os.kill(master_pid(), signal.SIGUSR1)
        assert wait_until(lambda: not _holding(rotated)
                          and not _holding(slow_rotated), 10), \
            (_holding(rotated), _holding(slow_rotated))
        rid = f"ops-rotate-{time.time_ns()}"
        # An unmatched path: access-logged (/healthz is not).
        assert http("GET", "/v1/ops-rotate-probe",
                    headers={"X-Request-Id": rid}).status == 404
        assert wait_until(lambda: VASGW_LOG.exists()
                          and rid in VASGW_LOG.read_text(), 5)
        assert "log files reopened" in VASGW_LOG.read_text()
        assert all(os.path.exists(f"/proc/{p}") for p in pids), \
            "a process died of SIGUSR1"
    finally:
        # Keep the stack's log in one file for the other tests.
        rest = VASGW_LOG.read_bytes() if VASGW_LOG.exists() else b""
        with open(rotated, "ab") as f:
            f.write(rest)
        os.replace(rotated, VASGW_LOG)
        os.kill(master_pid(), signal.SIGUSR1)
        slow_rotated.unlink(missing_ok=True)
