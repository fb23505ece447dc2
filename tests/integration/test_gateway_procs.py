"""Gateway process model and dependencies against the real test stack:
/readyz while MariaDB or Redis is down, kill -9 of a worker, SIGHUP reload,
SIGTERM drain, metrics summed over workers, --check-config.

These tests stop and start parts of the test stack; each one leaves it
running again (also when it fails half-way: see the fixtures).
"""
import concurrent.futures as cf
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import assert_problem, http
from gw_helpers import (VASGW_BIN, VASGW_INI, debug_routes_on, ensure_vasgw,
                        log_lines_with, master_pid, metric, ready,
                        restart_vasgw, scrape, stack, wait_until, worker_pids)

DEBUG_ENV = {"VASGW_SERVER_DEBUG_ROUTES": "1"}


@pytest.fixture
def debug_vasgw():
    """vasgw with /v1/debug/sleep enabled. The test stack's vasgw.ini has
    debug_routes = 0, so restart it with the environment override; leave it
    running (with the override) afterwards."""
    ensure_vasgw(env=DEBUG_ENV)
    if not debug_routes_on():
        restart_vasgw(env=DEBUG_ENV)
    assert debug_routes_on(), "VASGW_SERVER_DEBUG_ROUTES=1 had no effect"
    yield
    ensure_vasgw(env=DEBUG_ENV)


def _part(action, part):
    r = stack(action, part)
    assert r.returncode == 0, f"stack.sh {action} {part}: {r.stdout}{r.stderr}"


@pytest.mark.parametrize("part", ["mysql", "redis"])
def test_readyz_follows_dependency(part):
    """/readyz is 503 problem+json while the part is down and 200 again once
    it is back — same master pid, no restart. Fails if readiness caches a
    dead connection (no reconnect) or ignores one dependency; /healthz must
    stay 200 all along (liveness does not depend on MariaDB/Redis)."""
    ensure_vasgw()
    pid = master_pid()
    assert ready()
    _part("stop-part", part)
    try:
        assert wait_until(lambda: http("GET", "/readyz").status == 503, 20)
        p = assert_problem(http("GET", "/readyz"), 503, "unavailable")
        assert f"{part}: down" in p["detail"], p
        assert http("GET", "/healthz").status == 200
    finally:
        _part("start-part", part)
    # Every thread's connection must recover; several probes land on
    # different threads, so all of them must be 200.
    assert wait_until(ready, 30), "/readyz did not recover"
    statuses = [http("GET", "/readyz").status for _ in range(30)]
    assert statuses == [200] * 30, statuses
    assert master_pid() == pid, "vasgw was restarted"


def _loop(path, stop, results, errors):
    while not stop.is_set():
        try:
            results.append(http("GET", path, timeout=10).status)
        except OSError as e:  # connection refused/reset: a failed request
            errors.append(repr(e))


def test_kill9_worker_replaced_requests_keep_succeeding():
    """kill -9 of a worker during a GET loop: the master starts a new
    worker (a new pid holds the socket) and requests keep succeeding.
    Fails if the master does not notice (waitpid) or does not restart, or
    if the loop sees failures beyond what nginx cannot retry."""
    ensure_vasgw()
    before = worker_pids()
    assert before, "no worker found"
    stop, results, errors = threading.Event(), [], []
    threads = [threading.Thread(target=_loop,
                                args=("/healthz", stop, results, errors))
               for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    victim = before[-1]
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until(lambda: victim not in worker_pids()
                          and len(worker_pids()) == len(before), 15)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    after = worker_pids()
    bad = [s for s in results if s != 200]
    print(f"kill -9: {len(results)} requests, {len(bad)} non-200 "
          f"({sorted(set(bad))}), {len(errors)} transport errors; "
          f"workers {before} -> {after}")
    assert replaced, f"worker {victim} not replaced: {before} -> {after}"
    assert set(after) - set(before), "no new worker pid"
    assert len(results) > 50
    # Idempotent GETs: nginx retries a dead kept connection on a new one
    # (fastcgi_next_upstream error, the default), so we aim for none.
    assert not errors and not bad, (bad[:10], errors[:5])
    assert all(http("GET", "/healthz").status == 200 for _ in range(20))


def test_sighup_replaces_workers_without_failures():
    """SIGHUP: a new generation of workers (new pids), the old ones drain,
    requests keep succeeding. Fails if reload kills in-flight requests or
    leaves the old workers serving."""
    ensure_vasgw()
    m = master_pid()
    before = set(worker_pids())
    stop, results, errors = threading.Event(), [], []
    threads = [threading.Thread(target=_loop,
                                args=("/healthz", stop, results, errors))
               for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    os.kill(m, signal.SIGHUP)
    changed = wait_until(lambda: set(worker_pids())
                         and not (set(worker_pids()) & before), 20)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    after = set(worker_pids())
    bad = [s for s in results if s != 200]
    print(f"SIGHUP: {len(results)} requests, {len(bad)} non-200, "
          f"{len(errors)} errors; workers {sorted(before)} -> {sorted(after)}")
    assert changed, f"workers not replaced: {before} -> {after}"
    assert master_pid() == m
    assert not errors and not bad, (bad[:10], errors[:5])


def test_metrics_summed_over_workers_under_load(debug_vasgw):
    """More slow requests in flight than one worker has threads, so at
    least two workers answer; the counter must grow by exactly the number
    of requests whichever worker renders /metrics. Fails if metrics are
    per process."""
    threads = int(subprocess.run(
        [VASGW_BIN, "--check-config", "-c", str(VASGW_INI)],
        capture_output=True, text=True).stdout.split("threads = ")[1]
        .split()[0])
    n = threads + 16
    labels = dict(method="GET", route="/v1/debug/sleep", status="200")
    before = metric(scrape(), "vasgw_http_requests_total", **labels)
    rids = [f"gwtest-load-{os.getpid()}-{time.time_ns()}-{i}"
            for i in range(n)]
    with cf.ThreadPoolExecutor(n) as ex:
        st = list(ex.map(lambda rid: http(
            "GET", "/v1/debug/sleep?ms=700",
            headers={"X-Request-Id": rid}).status, rids))
    assert st == [200] * n
    time.sleep(0.3)
    pids = {ln["pid"] for rid in rids for ln in log_lines_with(rid)}
    print(f"{n} slow requests answered by pids {sorted(pids)}")
    for _ in range(5):  # several scrapes, possibly by different workers
        got = metric(scrape(), "vasgw_http_requests_total", **labels)
        assert got - before == n, (got, before, n)
    if len(worker_pids()) > 1:
        assert len(pids) > 1, "one worker served more requests than threads?"


def test_sigterm_drains_in_flight_requests(debug_vasgw):
    """SIGTERM to the master while slow requests run: all of them finish
    with 200 (drain), then the master exits. Fails if workers exit at once
    (libfcgi's own SIGTERM handling) or cut requests off."""
    m = master_pid()
    n = 6
    with cf.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit(http, "GET", "/v1/debug/sleep?ms=1500",
                          timeout=20) for _ in range(n)]
        time.sleep(0.3)
        os.kill(m, signal.SIGTERM)
        statuses = [f.result().status for f in futs]
    assert statuses == [200] * n, statuses
    assert wait_until(lambda: subprocess.run(
        ["kill", "-0", str(m)], capture_output=True).returncode != 0, 20), \
        "master did not exit after draining"
    r = stack("start-part", "vasgw", env=DEBUG_ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(lambda: http("GET", "/healthz").status == 200, 30)


def test_check_config_good_and_bad(tmp_path):
    """--check-config: 0 and the effective values for a good file; 1 with
    a message naming the key and line for a bad one. Fails if a typo'd key
    or a bad value is accepted silently."""
    good = subprocess.run([VASGW_BIN, "--check-config", "-c", str(VASGW_INI)],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "[server]" in good.stdout and "workers = " in good.stdout
    assert "valid" in good.stderr

    text = VASGW_INI.read_text()
    bad = tmp_path / "bad.ini"
    lines = text.splitlines()
    idx = lines.index("[server]") + 1
    lines.insert(idx, "workres = 4")
    bad.write_text("\n".join(lines) + "\n")
    r = subprocess.run([VASGW_BIN, "--check-config", "-c", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{bad}:{idx + 1}:" in r.stderr and "workres" in r.stderr, r.stderr

    lines[idx] = "workers = 0"
    bad.write_text("\n".join(lines) + "\n")
    r = subprocess.run([VASGW_BIN, "--check-config", "-c", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{bad}:{idx + 1}:" in r.stderr and "workers" in r.stderr, r.stderr

    r = subprocess.run([VASGW_BIN, "--check-config", "-c",
                        str(tmp_path / "missing.ini")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "missing.ini" in r.stderr
