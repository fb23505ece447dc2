#!/usr/bin/env bash
# The private stack of this checkout: MariaDB, Redis, vasgw and nginx, loopback only, everything
# under run/NAME/ (git-ignored). No system services, no Docker.
#
#   stack.sh start NAME                 start what is not running, wait until each part answers
#   stack.sh stop NAME                  stop what this script started (by pid file)
#   stack.sh status NAME                show each part; exit 0 only when all four run
#   stack.sh env NAME                   print run/NAME/stack.env
#   stack.sh start-part NAME PART       PART: mysql redis vasgw nginx floor allocator
#   stack.sh stop-part NAME PART
#   stack.sh restart-part NAME PART     vasgw: in place (binary upgrade, the socket stays)
#
# NAME is dev (make run), test (make test) or bench (make bench); each has its own ports so they
# can run at once. Data survives stop/start; `rm -rf run/NAME` resets a stack.
# Overrides (mainly for sanitizer builds): VASGW_BIN, VASCTL_BIN, FLOOR_BIN, FLOOR_THREADS,
# STACK_START_TIMEOUT (seconds each part gets to answer, default 30), VAS_PORT_OFFSET (added to
# the nginx and Redis ports, so several checkouts on one machine run their stacks at once),
# VAS_FRAGMENT_CACHE_MB (vasgw's [catalog] fragment_cache_mb; make bench sizes it for its catalog),
# VAS_MYSQL_BUFFER_POOL (MariaDB's innodb_buffer_pool_size, default 256M; make bench sizes it
# for BENCH_ITEMS of 500,000 and more).
# FLOOR_THREADS defaults to
# vasgw's FastCGI threads in run/NAME/vasgw.ini ([server] workers x threads), for a fair floor.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat >&2 <<'EOF'
usage: stack.sh start|stop|status|env NAME
       stack.sh start-part|stop-part|restart-part NAME mysql|redis|vasgw|nginx|floor|allocator
NAME: dev (nginx 8080, redis 6390, allocator 8099), test (18080, 16390, 18099),
      bench (28080, 26390, 28099)
EOF
    exit 2
}

START_TIMEOUT=${STACK_START_TIMEOUT:-30}
VASGW_BIN=${VASGW_BIN:-$VAS_ROOT/bin/vasgw}
VASCTL_BIN=${VASCTL_BIN:-$VAS_ROOT/bin/vasctl}
FLOOR_BIN=${FLOOR_BIN:-$VAS_ROOT/bin/vas-floor}

# MariaDB's all-privilege account reached through the unix socket: mariadb-install-db creates
# it (unix_socket authentication) for the OS user that runs it.
if [[ $(id -u) -eq 0 ]]; then
    OS_USER=root
else
    OS_USER=$(id -un)
fi

# stack_init NAME: the ports and paths of one stack (globals used by everything below).
stack_init() {
    STACK=$1
    case $STACK in
    dev) NGINX_PORT=8080 REDIS_PORT=6390 ALLOCATOR_PORT=8099 ;;
    test) NGINX_PORT=18080 REDIS_PORT=16390 ALLOCATOR_PORT=18099 ;;
    bench) NGINX_PORT=28080 REDIS_PORT=26390 ALLOCATOR_PORT=28099 ;;
    *) usage ;;
    esac
    # Several checkouts (git worktrees) on one machine each shift their ports by VAS_PORT_OFFSET.
    # A stack remembers the offset it was started with (run/NAME/port_offset), so a later
    # restart-part or stop without the variable still finds its own ports.
    if [[ -z ${VAS_PORT_OFFSET:-} && -f $VAS_ROOT/run/$STACK/port_offset ]]; then
        VAS_PORT_OFFSET=$(<"$VAS_ROOT/run/$STACK/port_offset")
    fi
    [[ ${VAS_PORT_OFFSET:-0} =~ ^[0-9]+$ ]] || die "VAS_PORT_OFFSET must be a number"
    NGINX_PORT=$((NGINX_PORT + ${VAS_PORT_OFFSET:-0}))
    REDIS_PORT=$((REDIS_PORT + ${VAS_PORT_OFFSET:-0}))
    ALLOCATOR_PORT=$((ALLOCATOR_PORT + ${VAS_PORT_OFFSET:-0}))
    ALLOCATOR_URL=http://127.0.0.1:$ALLOCATOR_PORT/allocate
    ALLOCATOR_PID=$VAS_ROOT/run/$STACK/allocator.pid
    ALLOCATOR_LOG=$VAS_ROOT/run/$STACK/allocator.log
    DIR=$VAS_ROOT/run/$STACK
    SECRETS=$DIR/secrets
    CONTENT_DIR=$DIR/content
    ENV_FILE=$DIR/stack.env
    BASE_URL=http://127.0.0.1:$NGINX_PORT

    MYSQL_DIR=$DIR/mysql
    MYSQL_DATA=$MYSQL_DIR/data
    MYSQL_CNF=$MYSQL_DIR/my.cnf
    MYSQL_PID=$MYSQL_DIR/mariadbd.pid
    MYSQL_LOG=$MYSQL_DIR/error.log
    MYSQL_SOCK=$DIR/mysql.sock
    MYSQL_DATABASE=vas
    MYSQL_USER=vas

    REDIS_DIR=$DIR/redis
    REDIS_CONF=$REDIS_DIR/redis.conf
    REDIS_PID=$REDIS_DIR/redis.pid
    REDIS_LOG=$REDIS_DIR/redis.log

    VASGW_INI=$DIR/vasgw.ini
    VASGW_SOCK=$DIR/vasgw.sock
    VASGW_PID=$DIR/vasgw.pid
    VASGW_LOG=$DIR/vasgw.log

    NGINX_PREFIX=$DIR/nginx
    NGINX_CONF=$NGINX_PREFIX/conf/nginx.conf
    NGINX_PID=$NGINX_PREFIX/nginx.pid
    NGINX_LOG=$NGINX_PREFIX/logs/error.log

    FLOOR_SOCK=$DIR/floor.sock
    FLOOR_PID=$DIR/floor.pid
    FLOOR_LOG=$DIR/floor.log
}

stack_dirs() {
    local sock
    for sock in "$MYSQL_SOCK" "$VASGW_SOCK" "$FLOOR_SOCK"; do
        # sun_path holds 108 bytes; a deep checkout path would fail later in obscure ways.
        ((${#sock} < 100)) || die "socket path too long (${#sock} bytes, max 99): $sock; use a shorter checkout path"
    done
    mkdir -p "$DIR" "$MYSQL_DIR/tmp" "$REDIS_DIR" "$CONTENT_DIR/previews" "$DIR/bench" \
        "$NGINX_PREFIX/conf" "$NGINX_PREFIX/logs" "$NGINX_PREFIX/tmp"
    (umask 077 && mkdir -p "$SECRETS")
}

# secret_ensure FILE BYTES: a random secret, created once, hex without a trailing newline
# (token_secret is the HS256 key: the exact bytes of the file).
secret_ensure() {
    [[ -s $1 ]] && return 0
    (umask 077 && printf '%s' "$(rand_hex "$2")" >"$1.tmp" && mv -f "$1.tmp" "$1")
}

secrets_ensure() {
    secret_ensure "$SECRETS/token_secret" 32
    secret_ensure "$SECRETS/download_secret" 32
    secret_ensure "$SECRETS/ticket_secret" 32
    secret_ensure "$SECRETS/mysql_password" 24
    secret_ensure "$SECRETS/redis_password" 24
    secret_ensure "$SECRETS/redis_admin_password" 24
    chmod 600 "$SECRETS"/*
}

# port_free PORT: nothing listens on 127.0.0.1:PORT (bash's /dev/tcp, no extra tool).
port_free() {
    ! (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# await PART PID LOG CMD...: waits up to START_TIMEOUT for CMD to succeed. Exits with the log's
# tail when the process PID (unless "-") dies first or time runs out.
await() {
    local part=$1 pid=$2 logfile=$3
    shift 3
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if [[ $pid != - ]] && ! kill -0 "$pid" 2>/dev/null; then
            tail_log "$logfile"
            die "$part exited during start-up (see $logfile)"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$logfile"
            die "$part did not answer within ${START_TIMEOUT}s (see $logfile)"
        fi
        sleep 0.2
    done
}

# --- MariaDB ---------------------------------------------------------------------------------

mysql_admin() {
    mariadb --no-defaults --socket="$MYSQL_SOCK" --user="$OS_USER" --batch
}

mysql_ping() {
    mariadb-admin --no-defaults --socket="$MYSQL_SOCK" --user="$OS_USER" \
        --connect-timeout=2 ping
}

mysql_install() {
    # A data dir without the marker is a failed install: it holds nothing worth keeping.
    [[ -f $MYSQL_DIR/installed ]] && return 0
    rm -rf "$MYSQL_DATA"
    log "creating the MariaDB data directory $MYSQL_DATA"
    if ! mariadb-install-db --defaults-file="$MYSQL_CNF" --datadir="$MYSQL_DATA" \
        --auth-root-authentication-method=socket --user="$OS_USER" --skip-test-db \
        >"$MYSQL_DIR/install.log" 2>&1; then
        tail_log "$MYSQL_DIR/install.log"
        die "mariadb-install-db failed (see $MYSQL_DIR/install.log)"
    fi
    touch "$MYSQL_DIR/installed"
}

# The application's database and user. Idempotent, so it runs on every start: the password
# always matches secrets/mysql_password.
mysql_provision() {
    local pw
    pw=$(<"$SECRETS/mysql_password")
    mysql_admin <<EOF || die "could not create database $MYSQL_DATABASE and user $MYSQL_USER"
CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`
    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$MYSQL_USER'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'localhost';
GRANT PROCESS ON *.* TO '$MYSQL_USER'@'localhost';
EOF
}

mysql_start() {
    local pid
    render_template "$VAS_ROOT/etc/mariadb.cnf.in" "$MYSQL_CNF" \
        DATADIR="$MYSQL_DATA" SOCKET="$MYSQL_SOCK" PIDFILE="$MYSQL_PID" \
        ERRLOG="$MYSQL_LOG" TMPDIR="$MYSQL_DIR/tmp" BUFFER_POOL="${VAS_MYSQL_BUFFER_POOL:-256M}"
    if pid=$(pid_of "$MYSQL_PID"); then
        log "mysql already running (pid $pid)"
    else
        mysql_install
        rm -f "$MYSQL_SOCK" "$MYSQL_SOCK.lock"
        # mariadbd refuses to run as root unless told to (and warns about --user otherwise).
        local user_opt=()
        [[ $OS_USER == root ]] && user_opt=(--user=root)
        setsid mariadbd --defaults-file="$MYSQL_CNF" "${user_opt[@]}" \
            >>"$MYSQL_DIR/mariadbd.out" 2>&1 </dev/null 9>&- &
        pid=$!
        await mysql "$pid" "$MYSQL_LOG" mysql_ping
        log "mysql started (pid $pid, socket $MYSQL_SOCK)"
    fi
    mysql_provision
}

mysql_stop() {
    # TERM is a clean shutdown (InnoDB flushes); give it time before KILL.
    stop_pid_file mysql "$MYSQL_PID" 60
}

# --- Redis -----------------------------------------------------------------------------------

# redis_cli ARGS...: redis-cli as the stack's admin user (the password travels in the
# environment, not on the command line).
redis_cli() {
    REDISCLI_AUTH=$(<"$SECRETS/redis_admin_password") \
        redis-cli --no-auth-warning --user vasadmin -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

redis_ping() {
    [[ $(redis_cli ping 2>/dev/null) == PONG ]]
}

sha256_of() {
    printf '%s' "$(<"$1")" | sha256sum | cut -c1-64
}

redis_start() {
    local pid
    (umask 077 && render_template "$VAS_ROOT/etc/redis.conf.in" "$REDIS_CONF" \
        PORT="$REDIS_PORT" PIDFILE="$REDIS_PID" LOGFILE="$REDIS_LOG" DIR="$REDIS_DIR" \
        MAXMEMORY="${REDIS_MAXMEMORY:-512mb}" \
        GW_PASS_SHA="$(sha256_of "$SECRETS/redis_password")" \
        ADMIN_PASS_SHA="$(sha256_of "$SECRETS/redis_admin_password")")
    if pid=$(pid_of "$REDIS_PID"); then
        log "redis already running (pid $pid)"
        return 0
    fi
    port_free "$REDIS_PORT" || die "port $REDIS_PORT is in use by another program (not our redis)"
    # daemonize yes: redis-server forks, writes its pid file and returns.
    redis-server "$REDIS_CONF" >>"$REDIS_DIR/redis.out" 2>&1 </dev/null 9>&- ||
        die "redis-server failed to start (see $REDIS_LOG)"
    await redis - "$REDIS_LOG" redis_ping
    await redis - "$REDIS_LOG" pid_of "$REDIS_PID"
    log "redis started (pid $(pid_of "$REDIS_PID"), port $REDIS_PORT)"
}

redis_stop() {
    # save "" in redis.conf: SIGTERM exits without writing a snapshot.
    stop_pid_file redis "$REDIS_PID" 15
}

# --- vasgw -----------------------------------------------------------------------------------

# run/NAME/vasgw.ini: etc/vasgw.ini with this stack's paths and ports (absolute). Keys missing
# from the template are appended in a repeated [section] (inih reads those fine).
vasgw_ini_generate() {
    local overrides
    overrides="server.socket=$VASGW_SOCK
server.pid_file=$VASGW_PID
server.log_file=$VASGW_LOG
server.slowlog_file=$DIR/vasgw-slow.log
mysql.socket=$MYSQL_SOCK
mysql.migrations_dir=$VAS_ROOT/migrations
mysql.database=$MYSQL_DATABASE
mysql.user=$MYSQL_USER
mysql.password_file=$SECRETS/mysql_password
redis.host=127.0.0.1
redis.port=$REDIS_PORT
redis.user=vasgw
redis.password_file=$SECRETS/redis_password
auth.token_secret_file=$SECRETS/token_secret
downloads.secret_file=$SECRETS/download_secret
lobby.ticket_secret_file=$SECRETS/ticket_secret
downloads.content_dir=$CONTENT_DIR"
    # The test stack serves the test-only /v1/debug/ routes (drain tests).
    if [[ $STACK == test ]]; then
        overrides+=$'\n'"server.debug_routes=1"
        # The webhook tests' fake provider listens on 127.0.0.1: allowed here, explicitly.
        overrides+=$'\n'"relay.webhook_allow_nets=127.0.0.0/8"
    fi
    # The fragment cache's size (make bench sizes it for a large BENCH_ITEMS, as an operator
    # would for the catalog: [catalog] fragment_cache_mb).
    if [[ -n ${VAS_FRAGMENT_CACHE_MB:-} ]]; then
        overrides+=$'\n'"catalog.fragment_cache_mb=$VAS_FRAGMENT_CACHE_MB"
    fi
    # The test and bench stacks keep the limiter on but never let it refuse
    # their suites (hundreds of requests from one user and one address);
    # tests/integration/test_hardening_ratelimit.py restarts vasgw with small
    # limits (VASGW_RATELIMIT_*) to exercise it.
    if [[ $STACK == test || $STACK == bench ]]; then
        local c
        for c in read write money; do
            overrides+=$'\n'"ratelimit.${c}_per_min=100000000"$'\n'"ratelimit.${c}_burst=100000000"
        done
    fi
    {
        printf '; Generated by scripts/stack.sh from etc/vasgw.ini for the %s stack: edit that.\n' "$STACK"
        VAS_INI_OVERRIDES=$overrides awk '
            BEGIN {
                n = split(ENVIRON["VAS_INI_OVERRIDES"], lines, "\n")
                for (i = 1; i <= n; i++) {
                    eq = index(lines[i], "=")
                    if (eq == 0) continue
                    k = substr(lines[i], 1, eq - 1)
                    val[k] = substr(lines[i], eq + 1)
                    order[++cnt] = k
                }
            }
            /^[ \t]*\[[^]]+\][ \t]*$/ {
                section = $0
                gsub(/^[ \t]*\[|\][ \t]*$/, "", section)
                print
                next
            }
            /^[ \t]*[A-Za-z0-9_]+[ \t]*=/ {
                key = $0
                sub(/^[ \t]*/, "", key)
                sub(/[ \t]*=.*$/, "", key)
                if ((section "." key) in val) {
                    print key " = " val[section "." key]
                    done[section "." key] = 1
                    next
                }
            }
            { print }
            END {
                for (i = 1; i <= cnt; i++) {
                    k = order[i]
                    if (k in done) continue
                    dot = index(k, ".")
                    printf "\n[%s]\n%s = %s\n", substr(k, 1, dot - 1), substr(k, dot + 1), val[k]
                }
            }' "$VAS_ROOT/etc/vasgw.ini"
    } >"$VASGW_INI.tmp"
    mv -f "$VASGW_INI.tmp" "$VASGW_INI"
}

need_bin() {
    [[ -x $1 ]] || die "$1 is not built: run 'make all' first"
}

vasgw_migrate() {
    need_bin "$VASCTL_BIN"
    log "applying schema migrations"
    if ! (cd "$VAS_ROOT" && "$VASCTL_BIN" -c "$VASGW_INI" migrate); then
        die "schema migrations failed (see the message above); the $STACK stack is left half-started: fix the migration, then 'scripts/stack.sh start $STACK' again"
    fi
}

vasgw_check_config() {
    if ! (cd "$VAS_ROOT" && "$VASGW_BIN" --check-config -c "$VASGW_INI" >"$DIR/check-config.out" 2>&1); then
        tail_log "$DIR/check-config.out"
        die "vasgw --check-config -c $VASGW_INI failed"
    fi
}

# vasgw_exe_is PID: the master PID runs $VASGW_BIN's path (maybe an older build of it), and
# that build knows the binary upgrade (older ones die of SIGUSR2: they are stopped and started).
vasgw_exe_is() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    [[ ${exe% (deleted)} == "$(readlink -f "$VASGW_BIN")" ]] &&
        grep -q VASGW_LISTEN_FD "/proc/$1/exe" 2>/dev/null
}

# vasgw_exe_changed PID: $VASGW_BIN was rebuilt since the master PID started.
vasgw_exe_changed() {
    [[ $(stat -L -c %i "/proc/$1/exe" 2>/dev/null) != "$(stat -L -c %i "$VASGW_BIN")" ]]
}

# vasgw_upgrade PID: the binary upgrade (SIGUSR2, see gateway/gw_master.h): a new master from
# $VASGW_BIN inherits the listening socket, so nginx never finds it missing; the old master's
# workers retire once the new ones run. On failure the old master keeps serving.
vasgw_upgrade() {
    local old=$1 new deadline=$((SECONDS + START_TIMEOUT)) seen_oldbin=0
    vasgw_check_config
    kill -USR2 "$old"
    while :; do
        [[ -f $VASGW_PID.oldbin ]] && seen_oldbin=1
        if new=$(pid_of "$VASGW_PID") && [[ $new != "$old" ]] && ! kill -0 "$old" 2>/dev/null; then
            break
        fi
        if ((seen_oldbin)) && [[ ! -f $VASGW_PID.oldbin ]] && [[ $(pid_of "$VASGW_PID") == "$old" ]]; then
            tail_log "$VASGW_LOG"
            die "vasgw upgrade failed: the old master (pid $old) keeps serving (see $VASGW_LOG)"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$VASGW_LOG"
            die "vasgw upgrade did not complete within ${START_TIMEOUT}s (see $VASGW_LOG)"
        fi
        sleep 0.1
    done
    log "vasgw upgraded in place (pid $old -> $new, socket kept)"
}

# vasgw_env_of [PID]: the VASGW_<SECTION>_<KEY> configuration overrides (gateway/gw_config.c)
# in this shell's environment, or in that of process PID, sorted; not the two variables an
# upgrade hands its new master (gateway/gw_master.c).
vasgw_env_of() {
    if (($#)); then
        tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null
    else
        env
    fi | grep -E '^VASGW_[A-Z0-9]+_[A-Z0-9_]+=' | grep -Ev '^VASGW_(LISTEN_FD|UPGRADE_FROM)=' |
        sort || true
}

# vasgw_restart: in place (binary upgrade) when the running master is this checkout's
# $VASGW_BIN; otherwise (another binary, e.g. an ASan build, or not running) stop and start.
# The new master of an upgrade inherits the old one's environment, not ours: when our
# VASGW_* overrides differ from the running master's, stop and start, or they would be ignored.
vasgw_restart() {
    local pid
    vasgw_ini_generate
    if pid=$(pid_of "$VASGW_PID") && vasgw_exe_is "$pid"; then
        if [[ $(vasgw_env_of) == "$(vasgw_env_of "$pid")" ]]; then
            vasgw_upgrade "$pid"
            return 0
        fi
        log "VASGW_* overrides differ from the running master's: stop and start, not an upgrade"
    fi
    vasgw_stop
    vasgw_start
}

vasgw_start() {
    local pid
    need_bin "$VASGW_BIN"
    if pid=$(pid_of "$VASGW_PID"); then
        # make run after a rebuild: the new binary takes over in place.
        if vasgw_exe_is "$pid" && vasgw_exe_changed "$pid"; then
            vasgw_upgrade "$pid"
        elif vasgw_exe_changed "$pid"; then
            log "vasgw running (pid $pid) is an older build that cannot upgrade in place: restarting"
            vasgw_stop
            vasgw_start
        else
            log "vasgw already running (pid $pid)"
        fi
        return 0
    fi
    vasgw_check_config
    # Not running, so a socket left there is stale (it would make bind() fail).
    rm -f "$VASGW_SOCK"
    # setsid: the stack outlives the terminal and make; the master writes server.pid_file.
    # The log holds user ids and addresses: 0640, also when created here.
    (umask 027 && : >>"$VASGW_LOG")
    (cd "$VAS_ROOT" && exec setsid "$VASGW_BIN" -c "$VASGW_INI" >>"$VASGW_LOG" 2>&1 </dev/null 9>&-) &
    pid=$!
    await vasgw "$pid" "$VASGW_LOG" test -S "$VASGW_SOCK"
    await vasgw "$pid" "$VASGW_LOG" pid_of "$VASGW_PID"
    log "vasgw started (pid $(pid_of "$VASGW_PID"), socket $VASGW_SOCK)"
}

vasgw_stop() {
    # SIGTERM: the master drains in-flight requests ([server] drain_timeout_s), then exits.
    stop_pid_file vasgw "$VASGW_PID" 30
    rm -f "$VASGW_SOCK"
}

# --- nginx -----------------------------------------------------------------------------------

nginx_cmd() {
    nginx -p "$NGINX_PREFIX/" -c conf/nginx.conf -e logs/error.log "$@"
}

# Any HTTP answer at all (nginx's own 502 included).
nginx_answers() {
    [[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL/_stack_probe") != 000 ]]
}

healthz_ok() {
    curl -fsS -o /dev/null --max-time 2 "$BASE_URL/healthz" 2>/dev/null
}

nginx_start() {
    local pid user_line='# (not root: nginx runs as the invoking user)'
    [[ $OS_USER == root ]] && user_line='user root;'
    local bench_http='    # (bench stack only: the FastCGI floor upstream)'
    local bench_server='        # (bench stack only: /floor, /floor-tx, /bench/)'
    if [[ $STACK == bench ]]; then
        # The benchmark's floors live in their own files, never in the shipped template.
        render_template "$VAS_ROOT/etc/nginx-bench-http.conf.in" \
            "$NGINX_PREFIX/conf/bench-http.conf" STACK_DIR="$DIR"
        render_template "$VAS_ROOT/etc/nginx-bench-server.conf.in" \
            "$NGINX_PREFIX/conf/bench-server.conf" STACK_DIR="$DIR"
        bench_http="    include $NGINX_PREFIX/conf/bench-http.conf;"
        bench_server="        include $NGINX_PREFIX/conf/bench-server.conf;"
    fi
    render_template "$VAS_ROOT/etc/nginx.conf.in" "$NGINX_CONF" \
        USER_LINE="$user_line" PREFIX="$NGINX_PREFIX" STACK_DIR="$DIR" \
        CONTENT_DIR="$CONTENT_DIR" PORT="$NGINX_PORT" WEB_DIR="$VAS_ROOT/web" \
        BENCH_HTTP="$bench_http" BENCH_SERVER="$bench_server"
    if pid=$(pid_of "$NGINX_PID"); then
        log "nginx already running (pid $pid)"
        return 0
    fi
    if ! nginx_cmd -t -q >"$NGINX_PREFIX/logs/configtest.out" 2>&1; then
        tail_log "$NGINX_PREFIX/logs/configtest.out"
        die "nginx rejects $NGINX_CONF"
    fi
    port_free "$NGINX_PORT" || die "port $NGINX_PORT is in use by another program (not our nginx)"
    nginx_cmd </dev/null >>"$NGINX_PREFIX/logs/nginx.out" 2>&1 9>&- ||
        { tail_log "$NGINX_LOG"; die "nginx failed to start"; }
    await nginx - "$NGINX_LOG" nginx_answers
    log "nginx started (pid $(pid_of "$NGINX_PID"), $BASE_URL)"
}

nginx_stop() {
    stop_pid_file nginx "$NGINX_PID" 15
}

# --- the FastCGI floor (make bench) ----------------------------------------------------------

# ini_get SECTION KEY FILE: a value from an INI file (the last one wins, as in inih).
ini_get() {
    awk -v want="$1" -v key="$2" '
        /^[ \t]*\[[^]]+\][ \t]*$/ { s = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", s); next }
        s == want && $0 ~ "^[ \t]*" key "[ \t]*=" { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*$/, "", v) }
        END { if (v != "") print v }' "$3"
}

floor_start() {
    local pid workers threads
    need_bin "$FLOOR_BIN"
    # As many FastCGI threads as vasgw has, so the floor is the same shape as what it measures.
    if [[ -z ${FLOOR_THREADS:-} ]]; then
        [[ -f $VASGW_INI ]] || vasgw_ini_generate
        workers=${VASGW_SERVER_WORKERS:-$(ini_get server workers "$VASGW_INI")}
        threads=${VASGW_SERVER_THREADS:-$(ini_get server threads "$VASGW_INI")}
        FLOOR_THREADS=$((${workers:-2} * ${threads:-64}))
    fi
    if pid=$(pid_of "$FLOOR_PID"); then
        log "floor already running (pid $pid)"
        return 0
    fi
    rm -f "$FLOOR_SOCK"
    setsid "$FLOOR_BIN" -s "$FLOOR_SOCK" -t "$FLOOR_THREADS" -m "$MYSQL_SOCK" \
        -u "$MYSQL_USER" -p "$SECRETS/mysql_password" -d "$MYSQL_DATABASE" \
        -r "$REDIS_PORT" -a "$SECRETS/redis_password" \
        >>"$FLOOR_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$FLOOR_PID"
    await floor "$pid" "$FLOOR_LOG" test -S "$FLOOR_SOCK"
    log "floor started (pid $pid, $FLOOR_THREADS threads, socket $FLOOR_SOCK)"
}

floor_stop() {
    stop_pid_file floor "$FLOOR_PID" 10
    rm -f "$FLOOR_SOCK"
}

# --- the fake game allocator (lobby starts of the demo's per-play games) ----------------------

allocator_answers() {
    [[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 \
        "http://127.0.0.1:$ALLOCATOR_PORT/requests") == 200 ]]
}

allocator_start() {
    local pid
    if pid=$(pid_of "$ALLOCATOR_PID"); then
        log "allocator already running (pid $pid)"
        return 0
    fi
    port_free "$ALLOCATOR_PORT" || die "port $ALLOCATOR_PORT is in use by another program (not our allocator)"
    setsid python3 "$VAS_ROOT/tests/fakes/fake_allocator.py" --port "$ALLOCATOR_PORT" \
        --pid-file "$ALLOCATOR_PID" >>"$ALLOCATOR_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    await allocator "$pid" "$ALLOCATOR_LOG" allocator_answers
    log "allocator started (pid $pid, $ALLOCATOR_URL)"
}

allocator_stop() {
    stop_pid_file allocator "$ALLOCATOR_PID" 10
}

# --- the whole stack -------------------------------------------------------------------------

admin_key_ensure() {
    local out key
    [[ -s $SECRETS/admin_key ]] && return 0
    need_bin "$VASCTL_BIN"
    out=$(cd "$VAS_ROOT" && "$VASCTL_BIN" -c "$VASGW_INI" admin-key create stack) ||
        die "vasctl admin-key create failed"
    key=$(printf '%s\n' "$out" | tail -n 1)
    [[ -n $key ]] || die "vasctl admin-key create printed no key"
    (umask 077 && printf '%s\n' "$key" >"$SECRETS/admin_key")
}

# Values with spaces are double-quoted so the file can be sourced by a shell.
env_line() {
    case $2 in
    *[[:space:]]*) printf '%s="%s"\n' "$1" "$2" ;;
    *) printf '%s=%s\n' "$1" "$2" ;;
    esac
}

env_write() {
    local admin_key
    read -r admin_key <"$SECRETS/admin_key" || true
    (
        umask 077
        {
            printf '# The %s stack, written by scripts/stack.sh start. Holds secrets: mode 0600.\n' "$STACK"
            env_line VAS_STACK_NAME "$STACK"
            env_line VAS_ROOT "$VAS_ROOT"
            env_line VAS_STACK_DIR "$DIR"
            env_line VAS_STACK_SCRIPT "$VAS_ROOT/scripts/stack.sh"
            env_line VAS_BASE_URL "$BASE_URL"
            env_line VAS_PORT_OFFSET "${VAS_PORT_OFFSET:-0}"
            env_line VAS_ADMIN_KEY "$admin_key"
            env_line VAS_TOKEN_SECRET_FILE "$SECRETS/token_secret"
            env_line VAS_DOWNLOAD_SECRET_FILE "$SECRETS/download_secret"
            env_line VAS_MYSQL_SOCKET "$MYSQL_SOCK"
            env_line VAS_MYSQL_DATABASE "$MYSQL_DATABASE"
            env_line VAS_MYSQL_USER "$MYSQL_USER"
            env_line VAS_MYSQL_PASSWORD "$(<"$SECRETS/mysql_password")"
            env_line VAS_REDIS_HOST 127.0.0.1
            env_line VAS_REDIS_PORT "$REDIS_PORT"
            env_line VAS_REDIS_USER vasadmin
            env_line VAS_REDIS_PASSWORD "$(<"$SECRETS/redis_admin_password")"
            env_line VAS_REDIS_GW_USER vasgw
            env_line VAS_REDIS_GW_PASSWORD "$(<"$SECRETS/redis_password")"
            env_line VAS_NOTIFY_STREAM vas:notify
            env_line VAS_ALLOCATOR_URL "$ALLOCATOR_URL"
            env_line VAS_TICKET_SECRET_FILE "$SECRETS/ticket_secret"
            env_line VASCTL "$VASCTL_BIN -c $VASGW_INI"
            env_line VAS_VASGW_INI "$VASGW_INI"
            env_line VAS_VASGW_SOCKET "$VASGW_SOCK"
            env_line VAS_VASGW_LOG "$VASGW_LOG"
            env_line VAS_CONTENT_DIR "$CONTENT_DIR"
            env_line VAS_NGINX_PREFIX "$NGINX_PREFIX"
            env_line VAS_MYSQL_PID_FILE "$MYSQL_PID"
            env_line VAS_REDIS_PID_FILE "$REDIS_PID"
            env_line VAS_VASGW_PID_FILE "$VASGW_PID"
            env_line VAS_NGINX_PID_FILE "$NGINX_PID"
        } >"$ENV_FILE.tmp"
    )
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"
    # The issue's documented location for the dev stack.
    [[ $STACK == dev ]] && ln -sfn dev/stack.env "$VAS_ROOT/run/stack.env"
    return 0
}

stack_start() {
    stack_dirs
    printf '%s\n' "${VAS_PORT_OFFSET:-0}" >"$DIR/port_offset"
    secrets_ensure
    mysql_start
    redis_start
    vasgw_ini_generate
    vasgw_migrate
    vasgw_start
    nginx_start
    allocator_start
    await vasgw - "$VASGW_LOG" healthz_ok
    admin_key_ensure
    env_write
    printf '%s stack up: %s\nenvironment: %s\n' "$STACK" "$BASE_URL" "$ENV_FILE"
}

stack_stop() {
    nginx_stop
    vasgw_stop
    floor_stop
    allocator_stop
    redis_stop
    mysql_stop
}

part_line() {
    local part=$1 file=$2 extra=$3 pid
    if pid=$(pid_of "$file"); then
        printf '  %-6s running (pid %s) %s\n' "$part" "$pid" "$extra"
    else
        printf '  %-6s stopped\n' "$part"
        return 1
    fi
}

stack_status() {
    local rc=0
    printf '%s stack (%s):\n' "$STACK" "$DIR"
    part_line mysql "$MYSQL_PID" "$MYSQL_SOCK" || rc=1
    part_line redis "$REDIS_PID" "127.0.0.1:$REDIS_PORT" || rc=1
    part_line vasgw "$VASGW_PID" "$VASGW_SOCK" || rc=1
    part_line nginx "$NGINX_PID" "$BASE_URL" || rc=1
    part_line floor "$FLOOR_PID" "$FLOOR_SOCK" || true
    part_line allocator "$ALLOCATOR_PID" "$ALLOCATOR_URL" || true
    if healthz_ok; then
        printf '  healthz: 200\n'
    else
        printf '  healthz: not answering\n'
        rc=1
    fi
    return "$rc"
}

part_start() {
    stack_dirs
    secrets_ensure
    case $1 in
    mysql) mysql_start ;;
    redis) redis_start ;;
    vasgw) vasgw_ini_generate && vasgw_start ;;
    nginx) nginx_start ;;
    floor) floor_start ;;
    allocator) allocator_start ;;
    *) usage ;;
    esac
}

part_stop() {
    case $1 in
    mysql) mysql_stop ;;
    redis) redis_stop ;;
    vasgw) vasgw_stop ;;
    nginx) nginx_stop ;;
    floor) floor_stop ;;
    allocator) allocator_stop ;;
    *) usage ;;
    esac
}

# One stack is changed by one stack.sh at a time (lock outside run/NAME, which test.sh wipes).
# Every daemon is started with 9>&- so that it does not inherit, and keep, the lock.
stack_lock() {
    command -v flock >/dev/null 2>&1 || return 0
    mkdir -p "$VAS_ROOT/run"
    exec 9>"$VAS_ROOT/run/.$STACK.lock"
    flock -w 120 9 || die "another stack.sh is busy with the $STACK stack"
}

main() {
    (($# >= 2)) || usage
    local cmd=$1
    stack_init "$2"
    case $cmd in
    start) (($# == 2)) || usage; stack_lock; stack_start ;;
    stop) (($# == 2)) || usage; stack_lock; stack_stop ;;
    status) (($# == 2)) || usage; stack_status ;;
    env)
        (($# == 2)) || usage
        [[ -f $ENV_FILE ]] || die "$ENV_FILE does not exist: run 'scripts/stack.sh start $STACK'"
        cat "$ENV_FILE"
        ;;
    start-part) (($# == 3)) || usage; stack_lock; part_start "$3" ;;
    stop-part) (($# == 3)) || usage; stack_lock; part_stop "$3" ;;
    restart-part)
        (($# == 3)) || usage
        stack_lock
        if [[ $3 == vasgw ]]; then
            stack_dirs
            vasgw_restart
        else
            part_stop "$3"
            part_start "$3"
        fi
        ;;
    *) usage ;;
    esac
}

main "$@"
