# shellcheck shell=bash
# Sourced by the bench's cost scripts (limiter_cost.sh, lobby_cost.sh): the stack's vasgw
# workers and CPU ticks of processes. Needs the stack env (VAS_VASGW_PID_FILE,
# VAS_VASGW_SOCKET) in the environment.

# The worker pids: children of the master that hold the listening socket (roles close it).
workers() {
    local m inode p kids
    m=$(cat "$VAS_VASGW_PID_FILE")
    # The listening socket (flags __SO_ACCEPTCON): nginx's connections to it carry its path
    # too, each held by one worker, and the first line was often one of them, so a worker
    # was counted as a role.
    inode=$(awk -v s="$VAS_VASGW_SOCKET" '$8 == s && $4 == "00010000" { print $7; exit }' \
        /proc/net/unix)
    read -ra kids <"/proc/$m/task/$m/children" || true # no newline at its end
    for p in "${kids[@]}"; do
        if find "/proc/$p/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q .; then
            echo "$p"
        fi
    done
}

# utime + stime of the given pids, in clock ticks (getconf CLK_TCK per second).
ticks() {
    local p t=0
    for p in "$@"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$t"
}
