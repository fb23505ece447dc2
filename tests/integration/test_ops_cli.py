"""vasctl's command-line contract (ctl/ctl.h), against the real test stack.

Help never runs anything, at every level and for every command — checked
by comparing a digest of the whole MariaDB database and of Redis before and
after; unknown options, missing values and missing arguments exit 2 with the
reason; -c works anywhere, $VASGW_CONFIG and the checkout's run/dev file are
found; bash completion comes from the same tables.
"""
import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from conftest import ENV, ROOT, db_connect, redis_args

VASCTL = str(ROOT / "bin" / "vasctl")
INI = shlex.split(ENV["VASCTL"])[-1]  # "…/vasctl -c FILE"


def run(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("VASGW_CONFIG", None)
    e.update(env or {})
    return subprocess.run([VASCTL, *args], capture_output=True, text=True,
                          timeout=60, env=e, cwd=cwd)


def commands():
    """Every command listed by `vasctl --help` (the framework's tables)."""
    out = run("--help").stdout.splitlines()
    i = out.index("commands:")
    names = []
    for line in out[i + 1:]:
        if not line.strip():
            break
        words = line.split()
        # "  token mint    summary…": the name is the words before the
        # double space that starts the summary.
        names.append(line.strip().split("  ")[0].strip())
        assert words
    return names


def state_digest():
    """A digest of every table's rows and every Redis key's value."""
    h = hashlib.sha256()
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            for (t,) in sorted(cur.fetchall()):
                cur.execute(f"CHECKSUM TABLE `{t}` EXTENDED")
                h.update(repr(cur.fetchall()).encode())
    finally:
        conn.close()
    r = redis.Redis(**redis_args())  # Redis requires AUTH (issue 12)
    for k in sorted(r.scan_iter(count=1000)):
        h.update(k)
        h.update(r.dump(k) or b"")
    return h.hexdigest()


def stable_digest():
    """The digest once two reads in a row agree (relay/janitor settle)."""
    prev = state_digest()
    for _ in range(20):
        cur = state_digest()
        if cur == prev:
            return cur
        prev = cur
    pytest.skip("the stack's state keeps changing; cannot compare")


def test_every_command_help_has_no_side_effect():
    """`CMD --help`, `CMD -h`, `help CMD` and `CMD ARGS… --help` print help
    (exit 0, on stdout, naming the command) and change nothing in MariaDB
    or Redis. Fails if any command runs when asked for help — as
    `migrate --help` migrated and `audit --help` audited before."""
    names = commands()
    assert "migrate" in names and "audit" in names and "hold expire" in names
    before = stable_digest()
    for name in names:
        words = name.split()
        for argv in (words + ["--help"], words + ["-h"], ["help"] + words,
                     words + ["x", "1", "--reason", "r", "--help"],
                     ["-c", INI] + words + ["--help"]):
            p = run(*argv)
            assert p.returncode == 0, (argv, p.stderr)
            assert f"usage: vasctl {name}" in p.stdout, (argv, p.stdout)
    # Group level too.
    for group in sorted({n.split()[0] for n in names if " " in n}):
        p = run(group, "--help")
        assert p.returncode == 0 and group in p.stdout, p
    after = state_digest()
    assert before == after, "a --help changed the database or Redis"


def test_every_flag_is_in_help():
    """Each option the parser accepts is listed in its command's --help,
    and completion offers the same options (one table drives all)."""
    for name in commands():
        helptext = run(*name.split(), "--help").stdout
        opts = run("__complete", *name.split()).stdout.split()
        for o in opts:
            if o in ("--help", "--config"):
                continue
            assert o in helptext, (name, o)


@pytest.mark.parametrize("argv, reason", [
    (["token", "mint", "u", "--out", "x"], "unknown option '--out'"),
    (["token", "mint", "u", "--ttl"], "--ttl needs SECONDS"),
    (["token", "mint"], "missing argument"),
    (["audit", "extra"], "too many arguments"),
    (["audit", "--verbose"], "unknown option '--verbose'"),
    (["migrate", "--dry-run"], "unknown option '--dry-run'"),
    (["topup", "8613900000000", "100"], "--reference REF is required"),
    (["cdr", "export", "--from", "2026-01-01"], "--to YYYY-MM-DD is required"),
    (["webhooks", "list", "--failed=yes"], "--failed takes no value"),
    (["subscriber", "add", "u1", "not-a-number", "prepaid"], "MSISDN"),
    (["hold", "capture", "x"], "HOLD_ID is a hold number"),
    (["hold"], "'hold' needs a subcommand"),
    (["hold", "expir"], "unknown command 'hold expir'"),
    (["no-such-command"], "unknown command 'no-such-command'"),
    ([], "usage: vasctl"),
])
def test_usage_errors_exit_2_with_reason(argv, reason):
    """Bad command lines exit 2 with the reason on stderr and do nothing.
    Fails if an unknown flag is silently ignored (as --out and --ttl=60
    were) or a missing argument runs the command anyway."""
    before = stable_digest()
    p = run("-c", INI, *argv)
    assert p.returncode == 2, (argv, p.returncode, p.stdout, p.stderr)
    assert reason in p.stderr, (argv, p.stderr)
    assert state_digest() == before


def test_equals_form_and_config_anywhere():
    """--ttl=60 is honoured (the token expires 60 s after issue), and -c
    may come after the command."""
    import base64
    import json
    p = run("token", "mint", "someone", "--ttl=60", "-c", INI)
    assert p.returncode == 0, p.stderr
    payload = p.stdout.strip().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["exp"] - claims["iat"] == 60, claims
    p = run("token", "mint", "someone", "--config", INI, "--ttl", "61")
    assert p.returncode == 0, p.stderr


def test_config_search_order(tmp_path):
    """-c, else $VASGW_CONFIG, else /etc/vasgw/vasgw.ini, else the
    checkout's run/dev/vasgw.ini found by walking up from the current
    directory; none of them → exit 3. Fails if vasctl reads a file relative
    to the cwd (the old etc/vasgw.ini default pointed at the wrong Redis)."""
    if Path("/etc/vasgw/vasgw.ini").exists():
        pytest.skip("a system-wide /etc/vasgw/vasgw.ini is installed")
    p = run("token", "mint", "u", cwd=tmp_path)
    assert p.returncode == 3, p
    assert "no configuration" in p.stderr
    p = run("token", "mint", "u", cwd=tmp_path, env={"VASGW_CONFIG": INI})
    assert p.returncode == 0, p.stderr
    fake = tmp_path / "checkout"
    (fake / "run" / "dev").mkdir(parents=True)
    shutil.copy(INI, fake / "run" / "dev" / "vasgw.ini")
    deep = fake / "a" / "b"
    deep.mkdir(parents=True)
    p = run("token", "mint", "u", cwd=deep)
    assert p.returncode == 0, p.stderr
    # A bad file named explicitly is a configuration error, exit 3.
    p = run("-c", str(tmp_path / "missing.ini"), "audit")
    assert p.returncode == 3, p


def test_bash_completion():
    """`vasctl completion bash` completes command words, subcommands and a
    command's options through `vasctl __complete`."""
    script = run("completion", "bash").stdout
    assert "complete -o filenames -F _vasctl vasctl" in script

    def complete(*words):
        line = " ".join(shlex.quote(w) for w in words)
        cmd = (f"source <({VASCTL} completion bash); "
               f"COMP_WORDS=({VASCTL} {line}); "
               f"COMP_CWORD={len(words)}; _vasctl; "
               'printf "%s\\n" "${COMPREPLY[@]}"')
        out = subprocess.run(["bash", "-c", cmd], capture_output=True,
                             text=True, timeout=30)
        return out.stdout.split()

    assert complete("tok") == ["token"]
    assert sorted(complete("hold", "re")) == ["release", "reserve"]
    assert "--ttl" in complete("token", "mint", "--")
    assert "--reference" in complete("-c", INI, "topup", "--re")
