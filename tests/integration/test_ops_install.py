"""`make install` (issue 13): the documented FHS tree in a DESTDIR, a
configuration with no path relative to the current directory, systemd
units that `systemd-analyze verify` accepts, a logrotate file that signals
the master. Nothing here touches the real /etc, /usr or /var."""
import configparser
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

TREE = [
    "usr/sbin/vasgw",
    "usr/bin/vasctl",
    "etc/vasgw/vasgw.ini",
    "etc/vasgw/secrets",
    "usr/share/vasgw/migrations/001_core.sql",
    "usr/share/vasgw/nginx/vasgw-upstream.conf",
    "usr/share/vasgw/nginx/vasgw-locations.conf",
    "usr/share/vasgw/web/store/index.html",
    "usr/share/vasgw/web/store/store.js",
    "usr/share/vasgw/web/console/index.html",
    "usr/share/vasgw/web/lib/common.js",
    "usr/lib/systemd/system/vasgw.service",
    "usr/lib/sysusers.d/vasgw.conf",
    "usr/share/bash-completion/completions/vasctl",
    "usr/share/doc/vasgw/README.md",
    "usr/share/doc/vasgw/grafana-dashboard.json",
    "etc/logrotate.d/vasgw",
    "var/lib/vasgw/content",
    "var/log/vasgw",
]

PATH_KEYS = {("server", "socket"), ("server", "pid_file"),
             ("server", "log_file"), ("server", "slowlog_file"),
             ("mysql", "socket"), ("mysql", "password_file"),
             ("mysql", "migrations_dir"), ("auth", "token_secret_file"),
             ("downloads", "secret_file"), ("downloads", "content_dir")}


def make_install(*args):
    p = subprocess.run(["make", "--no-print-directory", "install", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    make_install(f"DESTDIR={d}", "PREFIX=/usr")
    return d


def test_tree(dest):
    """Every documented file is there; binaries are executable; the config
    and secrets directories are not world-readable."""
    missing = [p for p in TREE if not (dest / p).exists()]
    assert not missing, missing
    for b in ("usr/sbin/vasgw", "usr/bin/vasctl"):
        assert (dest / b).stat().st_mode & 0o111, b
    for p in ("etc/vasgw", "etc/vasgw/secrets", "etc/vasgw/vasgw.ini"):
        assert not (dest / p).stat().st_mode & 0o007, p
    n = len(list((ROOT / "migrations").glob("*.sql")))
    assert len(list((dest / "usr/share/vasgw/migrations").glob("*.sql"))) == n


def test_config_paths_are_absolute_and_fhs(dest):
    """The installed vasgw.ini names only absolute paths, in the FHS
    places the README documents. Fails if a default is relative to the
    current directory (run/dev/…, migrations)."""
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.read(dest / "etc/vasgw/vasgw.ini")
    for sec, key in PATH_KEYS:
        v = ini.get(sec, key)
        assert v.startswith("/"), (sec, key, v)
    assert ini.get("server", "socket") == "/run/vasgw/vasgw.sock"
    assert ini.get("server", "log_file") == "/var/log/vasgw/vasgw.log"
    assert ini.get("mysql", "migrations_dir") == "/usr/share/vasgw/migrations"
    assert ini.get("downloads", "content_dir") == "/var/lib/vasgw/content"
    assert ini.get("server", "socket_mode") == "0660"


def test_existing_config_is_kept(dest):
    """A second install never overwrites the operator's vasgw.ini."""
    ini = dest / "etc/vasgw/vasgw.ini"
    ini.write_text(ini.read_text() + "\n; operator's edit\n")
    make_install(f"DESTDIR={dest}", "PREFIX=/usr")
    assert "; operator's edit" in ini.read_text()
    assert (dest / "etc/vasgw/vasgw.ini.dist").exists()


def test_unit_and_logrotate_contents(dest):
    """The unit: notify type, reload = SIGHUP, a dedicated user, hardening;
    logrotate's postrotate sends SIGUSR1 to the master."""
    unit = (dest / "usr/lib/systemd/system/vasgw.service").read_text()
    for want in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                 "User=vasgw", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ExecStart=/usr/sbin/vasgw -c", "PIDFile=/run/vasgw/vasgw.pid",
                 "NotifyAccess=all"):
        assert want in unit, want
    assert not re.search(r"@[A-Z_]+@", unit), "unsubstituted placeholder"
    rot = (dest / "etc/logrotate.d/vasgw").read_text()
    assert "/var/log/vasgw/*.log" in rot and "kill -USR1" in rot
    assert "vasgw" in (dest / "usr/lib/sysusers.d/vasgw.conf").read_text()
    snippet = (dest / "usr/share/vasgw/nginx/vasgw-upstream.conf").read_text()
    assert "server unix:/run/vasgw/vasgw.sock;" in snippet
    assert "keepalive_time" in snippet


def test_systemd_analyze_verify(tmp_path):
    """systemd-analyze verify accepts the unit. It checks that ExecStart
    and friends exist, so this install uses a prefix (not a DESTDIR) under
    a temporary directory, every directory included."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    make_install(f"PREFIX={tmp_path}", f"SYSCONFDIR={tmp_path}/etc",
                 f"LOCALSTATEDIR={tmp_path}/var")
    unit = tmp_path / "lib/systemd/system/vasgw.service"
    p = subprocess.run([tool, "verify", str(unit)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and "vasgw.service" not in p.stderr, \
        p.stdout + p.stderr


def test_logrotate_parses(dest, tmp_path):
    """logrotate --debug accepts the file (when logrotate is installed)."""
    tool = shutil.which("logrotate") or shutil.which("/usr/sbin/logrotate")
    if tool is None:
        pytest.skip("logrotate is not installed")
    p = subprocess.run([tool, "--debug", "--state", str(tmp_path / "state"),
                        str(dest / "etc/logrotate.d/vasgw")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "error" not in p.stderr.lower(), p.stderr
