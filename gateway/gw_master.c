/*
 * gw_master.c — pre-fork, supervise, reload, recycle, upgrade, drain.
 *
 * The master is single-threaded and takes its signals synchronously
 * (sigtimedwait), so there is no async-signal-safety puzzle: every event
 * — a signal, a dead child, a restart that is due, an upgrade that has
 * settled — is handled in the loop of gw_master_run().
 *
 * Nothing here closes a FastCGI connection nginx keeps: workers that give
 * way to successors (reload, recycle, upgrade) are sent SIGQUIT and retire
 * (gw_worker.c), only SIGTERM drains them at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw_fcgi.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_master.h"
#include "gw_metrics.h"
#include "gw_slowlog.h"
#include "gw_util.h"
#include "gw_worker.h"

extern volatile sig_atomic_t gw_stop_flag;

#define GW_CHILDREN_MAX (2 * (GW_WORKERS_MAX + GW_ROLES_MAX))

struct gw_child {
    pid_t   pid; /* 0: slot free or waiting for restart */
    int     in_use;
    int     role; /* -1 for a worker, else index in roles */
    int     generation;
    int     retiring; /* old generation: do not restart */
    int64_t started_ms;
    int64_t restart_at_ms; /* 0: no restart pending */
    int64_t backoff_ms;
};

enum gw_master_stop { GW_RUNNING, GW_STOP_DRAIN, GW_STOP_RETIRE };

struct gw_master {
    struct gw_config      cfg; /* current generation's config */
    const struct gw_role *roles;
    int                   nroles;
    int                   listen_fd;
    int                   generation;
    enum gw_master_stop   stopping;
    char *const          *argv;          /* to exec the new binary (SIGUSR2) */
    char                  exe[PATH_MAX]; /* this binary's path at start */
    pid_t                 upgrade_pid;   /* new master starting, or 0 */
    int                   handed_over;   /* it took socket and pid file */
    pid_t                 retire_old;    /* we are new: old master, or 0 */
    int64_t               settle_at_ms;  /* when to tell it to retire */
    struct gw_child       children[GW_CHILDREN_MAX];
};

static struct gw_master gw_master;

static void
gw_master_child_signals(void)
{
    struct sigaction sa;
    sigset_t         none;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    /* SIGUSR1 (reopen logs) stays blocked until the child handles it. */
    sigemptyset(&none);
    sigaddset(&none, SIGUSR1);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
gw_role_on_term(int sig)
{
    (void) sig;
    gw_stop_flag = 1;
}

static void
gw_master_spawn(struct gw_child *c)
{
    pid_t pid = fork();

    if (pid < 0) {
        gw_log_error(NULL, "fork: %s", strerror(errno));
        c->restart_at_ms = gw_now_ms() + c->backoff_ms;
        return;
    }
    if (pid == 0) {
        gw_master_child_signals();
        if (c->role < 0) {
            _exit(gw_worker_main(&gw_master.cfg, gw_master.listen_fd));
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = gw_role_on_term;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGQUIT, &sa, NULL);
        gw_log_reopen_on_signal(SIGUSR1);
        gw_slowlog_open(NULL); /* roles serve no request */
        close(gw_master.listen_fd);
        _exit(gw_role_main(&gw_master.cfg, &gw_master.roles[c->role]));
    }
    c->pid = pid;
    c->started_ms = gw_now_ms();
    c->restart_at_ms = 0;
}

static int
gw_master_role_enabled(const struct gw_config *cfg, const char *name)
{
    if (strcmp(name, "relay") == 0) {
        return cfg->server.relay != 0;
    }
    if (strcmp(name, "janitor") == 0) {
        return cfg->server.janitor != 0;
    }
    return 1;
}

static struct gw_child *
gw_master_slot(void)
{
    int i;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        if (!gw_master.children[i].in_use) {
            memset(&gw_master.children[i], 0, sizeof(struct gw_child));
            gw_master.children[i].in_use = 1;
            return &gw_master.children[i];
        }
    }
    return NULL;
}

/* Starts one generation: the workers and the enabled roles. */
static void
gw_master_start_generation(void)
{
    struct gw_child *c;
    int              i;

    gw_master.generation++;
    for (i = 0; i < gw_master.cfg.server.workers + gw_master.nroles; i++) {
        int role = i < gw_master.cfg.server.workers
            ? -1
            : i - (int) gw_master.cfg.server.workers;
        if (role >= 0
            && !gw_master_role_enabled(&gw_master.cfg,
                                       gw_master.roles[role].name)) {
            continue;
        }
        c = gw_master_slot();
        if (c == NULL) {
            gw_log_error(NULL, "no child slot left");
            return;
        }
        c->role = role;
        c->generation = gw_master.generation;
        c->backoff_ms = GW_RESTART_BACKOFF_MIN_MS;
        gw_master_spawn(c);
    }
}

/*
 * Signals the children of a generation (0: all) — workers with wsig, role
 * processes with rsig — and marks them retiring (not restarted).
 */
static void
gw_master_signal_generation(int generation, int wsig, int rsig)
{
    int i;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        struct gw_child *c = &gw_master.children[i];
        if (c->in_use && (generation == 0 || c->generation == generation)) {
            if (c->pid > 0) {
                kill(c->pid, c->role < 0 ? wsig : rsig);
            }
            c->retiring = 1;
            if (c->pid == 0) {
                c->in_use = 0;
            }
        }
    }
}

static void
gw_master_signal_all(int sig)
{
    int i;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        if (gw_master.children[i].in_use && gw_master.children[i].pid > 0) {
            kill(gw_master.children[i].pid, sig);
        }
    }
}

static struct gw_child *
gw_master_find(pid_t pid)
{
    int i;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        if (gw_master.children[i].in_use && gw_master.children[i].pid == pid) {
            return &gw_master.children[i];
        }
    }
    return NULL;
}

/* A worker reached max_requests and retires: its successor starts now,
 * while it lets nginx close the connections it keeps. */
static void
gw_master_child_retiring(pid_t pid)
{
    struct gw_child *old = gw_master_find(pid), *c;

    if (old == NULL || old->retiring || old->role >= 0
        || gw_master.stopping != GW_RUNNING) {
        return;
    }
    old->retiring = 1;
    gw_metrics_proc_add(GW_PROC_RECYCLES, 1);
    if (old->generation != gw_master.generation
        || (c = gw_master_slot()) == NULL) {
        return;
    }
    c->role = -1;
    c->generation = old->generation;
    c->backoff_ms = GW_RESTART_BACKOFF_MIN_MS;
    gw_master_spawn(c);
}

static void
gw_master_child_died(struct gw_child *c, int status)
{
    int64_t lived = gw_now_ms() - c->started_ms;
    int     code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int     sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

    c->pid = 0;
    if (c->retiring || gw_master.stopping != GW_RUNNING) {
        c->in_use = 0;
        return;
    }
    if (code == GW_EXIT_RECYCLE) {
        /* Exited before its retiring notice was handled. */
        gw_metrics_proc_add(GW_PROC_RECYCLES, 1);
        c->backoff_ms = GW_RESTART_BACKOFF_MIN_MS;
        gw_master_spawn(c);
        return;
    }
    gw_metrics_proc_add(GW_PROC_RESTARTS, 1);
    gw_log_warn(NULL,
                "%s exited (code %d, signal %d) after %lld ms;"
                " restart in %lld ms",
                c->role < 0 ? "worker" : gw_master.roles[c->role].name, code,
                sig, (long long) lived, (long long) c->backoff_ms);
    c->restart_at_ms = gw_now_ms() + c->backoff_ms;
    if (lived < GW_WORKER_HEALTHY_MS) {
        c->backoff_ms *= 2;
        if (c->backoff_ms > GW_RESTART_BACKOFF_MAX_MS) {
            c->backoff_ms = GW_RESTART_BACKOFF_MAX_MS;
        }
    } else {
        c->backoff_ms = GW_RESTART_BACKOFF_MIN_MS;
    }
}

/* The pid file of the master being replaced (nginx's ".oldbin"). */
static void
gw_master_oldbin(char *out, size_t cap)
{
    snprintf(out, cap, "%s.oldbin", gw_master.cfg.server.pid_file);
}

/* The new binary we started exited before it took over: keep serving. */
static void
gw_master_upgrade_failed(int status)
{
    char oldbin[GW_CONFIG_PATH_MAX + 8];

    gw_master_oldbin(oldbin, sizeof(oldbin));
    rename(oldbin, gw_master.cfg.server.pid_file);
    gw_log_error(NULL,
                 "upgrade: the new master %d exited (status %d) before"
                 " taking over; this master keeps serving",
                 (int) gw_master.upgrade_pid, status);
    gw_master.upgrade_pid = 0;
}

static void
gw_master_reap(void)
{
    struct gw_child *c;
    pid_t            pid;
    int              status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == gw_master.upgrade_pid && !gw_master.handed_over) {
            gw_master_upgrade_failed(status);
            continue;
        }
        c = gw_master_find(pid);
        if (c != NULL) {
            if (c->role < 0) {
                gw_metrics_worker_gone(pid);
            }
            gw_master_child_died(c, status);
        }
    }
}

static void
gw_master_restart_due(void)
{
    int64_t now = gw_now_ms();
    int     i;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        struct gw_child *c = &gw_master.children[i];
        if (c->in_use && c->pid == 0 && c->restart_at_ms != 0
            && c->restart_at_ms <= now && !c->retiring) {
            gw_master_spawn(c);
        }
    }
}

/*
 * A line to systemd's notification socket ($NOTIFY_SOCKET, Type=notify);
 * nothing without one. The protocol is one datagram of KEY=VALUE lines.
 */
static void
gw_master_notify(const char *fmt, ...)
{
    const char        *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    char               msg[256];
    va_list            ap;
    socklen_t          len;
    int                fd, n;

    if (path == NULL || (path[0] != '/' && path[0] != '@')
        || strlen(path) >= sizeof(sa.sun_path)) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof(msg)) {
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    if (path[0] == '@') {
        sa.sun_path[0] = '\0'; /* abstract namespace */
    }
    len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        sendto(fd, msg, (size_t) n, MSG_NOSIGNAL, (struct sockaddr *) &sa, len);
        close(fd);
    }
}

static void
gw_master_reload(void)
{
    static struct gw_config next;
    char                    err[512];
    int                     old = gw_master.generation;

    gw_master_notify("RELOADING=1");
    if (gw_config_load(&next, gw_master.cfg.path, err, sizeof(err)) != 0
        || gw_config_load_secrets(&next, err, sizeof(err)) != 0) {
        gw_log_error(NULL, "reload refused, keeping the running config: %s",
                     err);
        gw_master_notify("READY=1\nSTATUS=reload refused: %.180s", err);
        return;
    }
    if (strcmp(next.server.socket, gw_master.cfg.server.socket) != 0) {
        gw_log_warn(NULL, "server.socket changes need a restart; ignored");
        memcpy(next.server.socket, gw_master.cfg.server.socket,
               sizeof(next.server.socket));
    }
    gw_master.cfg = next;
    gw_log_open(gw_master.cfg.server.log_file);
    gw_metrics_proc_config(&gw_master.cfg, gw_master.listen_fd);
    if (gw_slowlog_open(gw_master.cfg.server.slowlog_file) != 0) {
        gw_log_warn(NULL, "cannot open %s", gw_master.cfg.server.slowlog_file);
    }
    gw_master_start_generation();
    /* Old workers retire (nginx closes what they keep); roles just stop. */
    gw_master_signal_generation(old, SIGQUIT, SIGTERM);
    gw_metrics_proc_add(GW_PROC_RELOADS, 1);
    gw_log_info(NULL, "reloaded %s: generation %d", gw_master.cfg.path,
                gw_master.generation);
    gw_master_notify("READY=1\nSTATUS=generation %d", gw_master.generation);
}

/*
 * SIGUSR2: starts the binary at our path (rebuilt or reinstalled) as a new
 * master that inherits the listening socket (VASGW_LISTEN_FD, nginx's
 * NGINX variable, php-fpm's FPM_SOCKETS), so the socket never goes away.
 * Our pid file becomes ".oldbin"; once the new master's workers are up it
 * sends us SIGQUIT and we retire. If it dies first we take our pid file
 * back and go on serving.
 */
static void
gw_master_upgrade(void)
{
    char  oldbin[GW_CONFIG_PATH_MAX + 8], fd_s[16], from_s[16];
    pid_t pid;

    if (gw_master.upgrade_pid != 0 || gw_master.retire_old != 0) {
        gw_log_warn(NULL, "upgrade already in progress: SIGUSR2 ignored");
        return;
    }
    gw_master_oldbin(oldbin, sizeof(oldbin));
    if (rename(gw_master.cfg.server.pid_file, oldbin) != 0) {
        gw_log_error(NULL, "upgrade: rename %s: %s",
                     gw_master.cfg.server.pid_file, strerror(errno));
        return;
    }
    snprintf(fd_s, sizeof(fd_s), "%d", gw_master.listen_fd);
    snprintf(from_s, sizeof(from_s), "%d", (int) getpid());
    pid = fork();
    if (pid == 0) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        fcntl(gw_master.listen_fd, F_SETFD, 0); /* survives exec */
        setenv("VASGW_LISTEN_FD", fd_s, 1);
        setenv("VASGW_UPGRADE_FROM", from_s, 1);
        execv(gw_master.exe, gw_master.argv);
        _exit(127);
    }
    if (pid < 0) {
        rename(oldbin, gw_master.cfg.server.pid_file);
        gw_log_error(NULL, "upgrade: fork: %s", strerror(errno));
        return;
    }
    gw_master.upgrade_pid = pid;
    gw_log_info(NULL, "upgrade: started %s as pid %d", gw_master.exe,
                (int) pid);
}

/* We are the new master: once our workers have stayed up a moment, the
 * old master retires. If they did not, we leave and it keeps serving. */
static void
gw_master_settle(void)
{
    int i, ok = 1;

    if (gw_master.retire_old == 0 || gw_now_ms() < gw_master.settle_at_ms) {
        return;
    }
    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        const struct gw_child *c = &gw_master.children[i];
        if (c->in_use && c->role < 0 && (c->pid == 0 || c->restart_at_ms)) {
            ok = 0;
        }
    }
    if (!ok) {
        gw_log_error(NULL,
                     "upgrade: workers of the new binary die; leaving"
                     " the old master %d in charge",
                     (int) gw_master.retire_old);
        gw_master.handed_over = 1; /* socket and pid file are not ours */
        gw_master.stopping = GW_STOP_DRAIN;
        return;
    }
    gw_log_info(NULL, "upgrade: taking over from pid %d",
                (int) gw_master.retire_old);
    gw_master_notify("MAINPID=%d\nREADY=1", (int) getpid());
    kill(gw_master.retire_old, SIGQUIT);
    gw_master.retire_old = 0;
}

static int
gw_master_live_children(void)
{
    int i, n = 0;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        if (gw_master.children[i].in_use && gw_master.children[i].pid > 0) {
            n++;
        }
    }
    return n;
}

/* Stops every child: SIGTERM drains at once; SIGQUIT lets workers retire
 * (a SIGTERM meanwhile turns it into a drain). */
static void
gw_master_shutdown(const sigset_t *set)
{
    struct timespec tick = {0, 20 * 1000000L};
    int64_t         deadline;
    int             sig;

    gw_master_notify("STOPPING=1");
    gw_master_signal_generation(
        0, gw_master.stopping == GW_STOP_RETIRE ? SIGQUIT : SIGTERM, SIGTERM);
    deadline = gw_now_ms() + (gw_master.cfg.server.drain_timeout_s + 2) * 1000;
    while (gw_master_live_children() > 0 && gw_now_ms() < deadline) {
        sig = sigtimedwait(set, NULL, &tick);
        if ((sig == SIGTERM || sig == SIGINT)
            && gw_master.stopping == GW_STOP_RETIRE) {
            gw_master.stopping = GW_STOP_DRAIN;
            gw_master_signal_all(SIGTERM);
        }
        gw_master_reap();
    }
    if (gw_master_live_children() > 0) {
        gw_log_warn(NULL, "children did not drain in time: SIGKILL");
        gw_master_signal_all(SIGKILL);
        while (gw_master_live_children() > 0 && waitpid(-1, NULL, 0) > 0) {
            gw_master_reap();
        }
    }
}

static int
gw_master_pid_file(const char *path)
{
    char  buf[32];
    long  n;
    pid_t other;
    int   fd;

    n = gw_config_read_file(path, buf, sizeof(buf) - 1, 1);
    if (n > 0) {
        buf[n] = '\0';
        other = (pid_t) strtol(buf, NULL, 10);
        if (other > 0 && other != getpid() && kill(other, 0) == 0) {
            fprintf(stderr, "vasgw already running as pid %d (%s)\n",
                    (int) other, path);
            return -1;
        }
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
    if (write(fd, buf, (size_t) n) != n) {
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/*
 * The listening socket: inherited from the master we replace (checked to
 * be a listening unix socket at our configured path), or a new one.
 */
static int
gw_master_listen(const struct gw_config *cfg)
{
    const char        *inherit = getenv("VASGW_LISTEN_FD");
    const char        *from = getenv("VASGW_UPGRADE_FROM");
    struct sockaddr_un sa;
    socklen_t          len = sizeof(sa);
    int                fd, listening = 0;
    socklen_t          ilen = sizeof(listening);

    if (inherit == NULL) {
        return gw_fcgi_listen(cfg->server.socket, (int) cfg->server.backlog,
                              cfg->server.socket_mode);
    }
    fd = (int) strtol(inherit, NULL, 10);
    gw_master.retire_old = from != NULL ? (pid_t) strtol(from, NULL, 10) : 0;
    unsetenv("VASGW_LISTEN_FD");
    unsetenv("VASGW_UPGRADE_FROM");
    memset(&sa, 0, sizeof(sa));
    if (fd < 3 || getsockname(fd, (struct sockaddr *) &sa, &len) != 0
        || sa.sun_family != AF_UNIX
        || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) != 0
        || !listening
        || strncmp(sa.sun_path, cfg->server.socket, sizeof(sa.sun_path)) != 0) {
        fprintf(stderr,
                "vasgw: VASGW_LISTEN_FD=%s is not a socket listening on %s"
                " (a changed server.socket needs a restart)\n",
                inherit, cfg->server.socket);
        errno = EINVAL;
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    gw_log_info(NULL, "upgrade: inherited %s (fd %d) from pid %d",
                cfg->server.socket, fd, (int) gw_master.retire_old);
    return fd;
}

static void
gw_master_loop(const sigset_t *set)
{
    struct timespec tick = {0, 100 * 1000000L};
    siginfo_t       info;
    int             sig;

    while (gw_master.stopping == GW_RUNNING) {
        sig = sigtimedwait(set, &info, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            gw_log_info(NULL, "SIGTERM: draining");
            gw_master.stopping = GW_STOP_DRAIN;
        } else if (sig == SIGQUIT) {
            gw_log_info(NULL, "SIGQUIT: workers retire, then exit");
            gw_master.stopping = GW_STOP_RETIRE;
            /* From the new master of an upgrade: it owns socket and pid
             * file now. */
            gw_master.handed_over = gw_master.upgrade_pid != 0;
        } else if (sig == SIGHUP) {
            gw_master_reload();
        } else if (sig == SIGUSR1) {
            gw_log_reopen();
            gw_slowlog_reopen();
            gw_master_signal_all(SIGUSR1);
            gw_log_info(NULL, "SIGUSR1: log files reopened");
        } else if (sig == SIGUSR2) {
            gw_master_upgrade();
        } else if (sig == GW_MASTER_RETIRING_SIGNAL) {
            gw_master_child_retiring(info.si_pid);
        }
        gw_master_reap();
        gw_master_restart_due();
        gw_master_settle();
        gw_metrics_proc_master(gw_master.generation);
    }
}

int
gw_master_run(const struct gw_config *cfg, const struct gw_role *roles,
              int nroles, char *const *argv)
{
    char     oldbin[GW_CONFIG_PATH_MAX + 8];
    sigset_t set;
    ssize_t  n;

    gw_master.cfg = *cfg;
    gw_master.roles = roles;
    gw_master.nroles = nroles;
    gw_master.argv = argv;
    gw_log_role("master");
    /* Our path now: after a rebuild it names the new binary (SIGUSR2). */
    n = readlink("/proc/self/exe", gw_master.exe, sizeof(gw_master.exe) - 1);
    gw_master.exe[n > 0 ? n : 0] = '\0';

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, GW_MASTER_RETIRING_SIGNAL);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The pid file first: its check keeps a second master from taking
     * the socket path of a running one. */
    if (gw_master_pid_file(cfg->server.pid_file) != 0) {
        return 1;
    }
    gw_master.listen_fd = gw_master_listen(cfg);
    if (gw_master.listen_fd < 0) {
        fprintf(stderr, "cannot listen on %s: %s\n", cfg->server.socket,
                strerror(errno));
        unlink(cfg->server.pid_file);
        return 1;
    }
    gw_metrics_proc_config(cfg, gw_master.listen_fd);
    gw_log_info(NULL, "vasgw master on %s: %lld workers x %lld threads",
                cfg->server.socket, (long long) cfg->server.workers,
                (long long) cfg->server.threads);
    gw_master_start_generation();
    gw_master.settle_at_ms = gw_now_ms() + GW_UPGRADE_SETTLE_MS;
    if (gw_master.retire_old == 0) {
        gw_master_notify("READY=1\nMAINPID=%d", (int) getpid());
    }

    gw_master_loop(&set);
    gw_master_shutdown(&set);
    close(gw_master.listen_fd);
    if (!gw_master.handed_over) {
        unlink(gw_master.cfg.server.socket);
        unlink(gw_master.cfg.server.pid_file);
    } else {
        gw_master_oldbin(oldbin, sizeof(oldbin));
        unlink(oldbin);
    }
    gw_log_info(NULL, "vasgw master exits%s",
                gw_master.handed_over ? " (handed over)" : "");
    return 0;
}
