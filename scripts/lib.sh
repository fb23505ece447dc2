# shellcheck shell=bash
# Shared helpers for the scripts in scripts/. Source it; it does not run anything by itself.
#
#   VAS_ROOT           absolute path of the checkout
#   log / warn / die   messages on stderr, prefixed with the script's name
#   as_root CMD...     runs CMD as root (directly when we are root, else through sudo)
#   pid_of FILE        prints the pid in FILE if that process is alive, else fails
#   wait_for SECS DESC CMD...   polls CMD until it succeeds or SECS have passed
#   stop_pid_file NAME FILE SECS   TERM, wait, then KILL the process of a pid file
#   rand_hex BYTES     BYTES random bytes as lower-case hex, no newline

# shellcheck disable=SC2034 # used by the scripts that source this file
VAS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Bash 5.2 expands '&' in the replacement of ${var//pat/rep}; render_template must not.
shopt -u patsub_replacement 2>/dev/null || true

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
warn() { log "warning: $*"; }
die() {
    log "error: $*"
    exit 1
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $* (and sudo is not installed)"
    fi
}

# pid_of FILE: the pid stored in FILE, if that process still exists.
pid_of() {
    local file=$1 pid
    [[ -s $file ]] || return 1
    read -r pid <"$file" || true
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

# wait_for SECS DESC CMD...: polls CMD every 0.2 s. Fails (without exiting) after SECS.
wait_for() {
    local secs=$1 desc=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${secs}s waiting for $desc"
            return 1
        fi
        sleep 0.2
    done
}

# stop_pid_file NAME FILE SECS: ends the process named by FILE (only that one):
# SIGTERM, up to SECS for it to exit, then SIGKILL. Quiet when it is not running.
stop_pid_file() {
    local name=$1 file=$2 secs=$3 pid
    if ! pid=$(pid_of "$file"); then
        rm -f "$file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            warn "$name (pid $pid) still running after ${secs}s: sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    rm -f "$file"
    log "stopped $name (pid $pid)"
}

rand_hex() {
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# render_template IN OUT KEY=VALUE...: copies IN to OUT replacing every @KEY@ by VALUE.
# Pure bash (no sed), so paths with any character are safe.
render_template() {
    local in=$1 out=$2 text kv
    shift 2
    text=$(<"$in")
    for kv in "$@"; do
        text=${text//"@${kv%%=*}@"/"${kv#*=}"}
    done
    if [[ $text =~ @[A-Z_]+@ ]]; then
        die "$in: placeholder ${BASH_REMATCH[0]} has no value"
    fi
    printf '%s\n' "$text" >"$out.tmp"
    mv -f "$out.tmp" "$out"
}

# tail_log FILE: the end of a log file, to show why something did not start.
tail_log() {
    if [[ -s $1 ]]; then
        log "last lines of $1:"
        tail -n "${2:-20}" "$1" | sed 's/^/    /' >&2
    fi
}

# Daemons live in sbin, which a normal user's PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
