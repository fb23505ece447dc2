"""Helpers for the gateway integration tests (test_gateway*.py).

Everything here talks to the real private test stack described by
run/test/stack.env (see conftest.py): nginx on loopback, vasgw's master and
its children, MariaDB and Redis controlled through scripts/stack.sh.
"""
import base64
import hashlib
import hmac
import http.client as httpclient
import json
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import conftest

from conftest import ENV, ROOT, http

STACK = ENV.get("VAS_STACK_NAME", "test")
STACK_DIR = Path(ENV.get("VAS_STACK_DIR", ROOT / "run" / STACK))
PID_FILE = Path(ENV.get("VAS_VASGW_PID_FILE", STACK_DIR / "vasgw.pid"))
VASGW_LOG = Path(ENV.get("VAS_VASGW_LOG", STACK_DIR / "vasgw.log"))
VASGW_INI = Path(ENV.get("VAS_VASGW_INI", STACK_DIR / "vasgw.ini"))
STACK_SH = str(ROOT / "scripts" / "stack.sh")
VASGW_BIN = str(ROOT / "bin" / "vasgw")


# --- tokens ---------------------------------------------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_secret():
    """The HS256 key: the exact bytes of the secret file."""
    return Path(ENV["VAS_TOKEN_SECRET_FILE"]).read_bytes()


def make_jwt(claims, header=None, key=None, sign=True):
    """A JWT from raw parts; key defaults to the stack's secret."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing = f"{h}.{p}"
    if not sign:
        return signing + "."
    mac = hmac.new(token_secret() if key is None else key,
                   signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64url(mac)}"


def jwt_raw(payload: bytes):
    """An HS256 token over the payload bytes exactly as given (a claims
    object json.dumps cannot make: a member named twice, odd spacing)."""
    head = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + b64url(payload)
    sig = hmac.new(token_secret(), head.encode(), hashlib.sha256).digest()
    return head + "." + b64url(sig)


def user_claims(sub, ttl=3600, **extra):
    now = int(time.time())
    c = {"sub": sub, "iat": now, "exp": now + ttl}
    c.update(extra)
    return c


# --- processes ------------------------------------------------------------------------------

def master_pid():
    try:
        return int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None


def children(ppid):
    out = subprocess.run(["pgrep", "-P", str(ppid)], capture_output=True,
                         text=True).stdout
    return sorted(int(x) for x in out.split())


def threads_of(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _listen_inode():
    sock = ENV.get("VAS_VASGW_SOCKET", str(STACK_DIR / "vasgw.sock"))
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        f = line.split()
        # Num RefCount Protocol Flags Type St Inode Path; St 01 = listening
        if len(f) >= 8 and f[7] == sock and f[3] == "00010000":
            return f[6]
    return None


def worker_pids():
    """Children of the master that serve FastCGI: those holding the
    listening socket (role processes close it)."""
    m, inode = master_pid(), _listen_inode()
    if m is None or inode is None:
        return []
    out = []
    for p in children(m):
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{p}/fd/{fd}") == f"socket:[{inode}]":
                    out.append(p)
                    break
            except OSError:
                pass
    return out


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stack(action, part=None, env=None, timeout=120):
    args = [STACK_SH, action, STACK] + ([part] if part else [])
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=str(ROOT))


def wait_until(pred, timeout=30.0, step=0.1):
    """conftest.wait_until with the longer default process tests need."""
    return conftest.wait_until(pred, timeout=timeout, step=step)


def healthy():
    try:
        return http("GET", "/healthz", timeout=3).status == 200
    except OSError:
        return False


def ready():
    try:
        return http("GET", "/readyz", timeout=5).status == 200
    except OSError:
        return False


def ensure_vasgw(env=None):
    """Starts vasgw if it is not running (a test that stopped it failed
    half-way) and waits until it serves."""
    if master_pid() is None or not alive(master_pid()) or not healthy():
        r = stack("start-part", "vasgw", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(healthy, 30), "vasgw does not answer /healthz"


def restart_vasgw(env=None):
    r = stack("stop-part", "vasgw")
    assert r.returncode == 0, r.stdout + r.stderr
    r = stack("start-part", "vasgw", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(healthy, 30), "vasgw does not answer after a restart"


def debug_routes_on():
    r = http("GET", "/v1/debug/sleep?ms=0")
    return r.status == 200


# --- HTTP from another loopback address ------------------------------------------------------

def http_from(source_ip, method, path, timeout=10):
    """One request whose client address is source_ip (e.g. 127.0.0.2):
    nginx and vasgw see it as REMOTE_ADDR."""
    u = urlparse(ENV.get("VAS_BASE_URL", "http://127.0.0.1:18080"))
    c = httpclient.HTTPConnection(u.hostname, u.port, timeout=timeout,
                                   source_address=(source_ip, 0))
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


# --- metrics ---------------------------------------------------------------------------------

_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[+-]Inf|NaN)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition → {(name, frozenset(labels)): value}.
    Fails on any line that is not a comment, blank or a valid sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("# TYPE"):
                assert len(line.split()) == 4, line
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in out, f"duplicate series: {line!r}"
        out[key] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape():
    r = http("GET", "/metrics")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    return parse_metrics(r.body.decode())


def log_lines_with(needle):
    """JSON log lines of vasgw that contain needle (parsed)."""
    out = []
    try:
        text = VASGW_LOG.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if needle in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out
