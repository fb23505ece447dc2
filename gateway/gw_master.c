/*
 * gw_master.c — pre-fork, supervise, reload, drain.
 *
 * The master is single-threaded and takes its signals synchronously
 * (sigtimedwait), so there is no async-signal-safety puzzle: every event
 * — a signal, a dead child, a restart that is due — is handled in the
 * loop of gw_master_run().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw_fcgi.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_master.h"
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

struct gw_master {
    struct gw_config      cfg; /* current generation's config */
    const struct gw_role *roles;
    int                   nroles;
    int                   listen_fd;
    int                   generation;
    int                   stopping;
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
    sigemptyset(&none);
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

static void
gw_master_signal_generation(int generation, int sig)
{
    int i;

    for (i = 0; i < GW_CHILDREN_MAX; i++) {
        struct gw_child *c = &gw_master.children[i];
        if (c->in_use && (generation == 0 || c->generation == generation)) {
            if (c->pid > 0) {
                kill(c->pid, sig);
            }
            c->retiring = 1;
            if (c->pid == 0) {
                c->in_use = 0;
            }
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

static void
gw_master_child_died(struct gw_child *c, int status)
{
    int64_t lived = gw_now_ms() - c->started_ms;
    int     code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int     sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

    c->pid = 0;
    if (c->retiring || gw_master.stopping) {
        c->in_use = 0;
        return;
    }
    if (code == GW_EXIT_RECYCLE) {
        c->backoff_ms = GW_RESTART_BACKOFF_MIN_MS;
        gw_master_spawn(c);
        return;
    }
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

static void
gw_master_reap(void)
{
    struct gw_child *c;
    pid_t            pid;
    int              status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        c = gw_master_find(pid);
        if (c != NULL) {
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

static void
gw_master_reload(void)
{
    static struct gw_config next;
    char                    err[512];
    int                     old = gw_master.generation;

    if (gw_config_load(&next, gw_master.cfg.path, err, sizeof(err)) != 0
        || gw_config_load_secrets(&next, err, sizeof(err)) != 0) {
        gw_log_error(NULL, "reload refused, keeping the running config: %s",
                     err);
        return;
    }
    if (strcmp(next.server.socket, gw_master.cfg.server.socket) != 0) {
        gw_log_warn(NULL, "server.socket changes need a restart; ignored");
        memcpy(next.server.socket, gw_master.cfg.server.socket,
               sizeof(next.server.socket));
    }
    gw_master.cfg = next;
    gw_log_open(gw_master.cfg.server.log_file);
    gw_master_start_generation();
    gw_master_signal_generation(old, SIGTERM);
    gw_log_info(NULL, "reloaded %s: generation %d", gw_master.cfg.path,
                gw_master.generation);
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

static void
gw_master_shutdown(void)
{
    struct timespec tick = {0, 20 * 1000000L};
    int64_t         deadline;

    gw_master.stopping = 1;
    gw_master_signal_generation(0, SIGTERM);
    deadline = gw_now_ms() + (gw_master.cfg.server.drain_timeout_s + 2) * 1000;
    while (gw_master_live_children() > 0 && gw_now_ms() < deadline) {
        nanosleep(&tick, NULL);
        gw_master_reap();
    }
    if (gw_master_live_children() > 0) {
        gw_log_warn(NULL, "children did not drain in time: SIGKILL");
        gw_master_signal_generation(0, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0) {
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

int
gw_master_run(const struct gw_config *cfg, const struct gw_role *roles,
              int nroles)
{
    struct timespec tick = {0, 100 * 1000000L};
    sigset_t        set;
    int             sig;

    gw_master.cfg = *cfg;
    gw_master.roles = roles;
    gw_master.nroles = nroles;
    gw_log_role("master");

    if (gw_master_pid_file(cfg->server.pid_file) != 0) {
        return 1;
    }
    gw_master.listen_fd =
        gw_fcgi_listen(cfg->server.socket, (int) cfg->server.backlog);
    if (gw_master.listen_fd < 0) {
        fprintf(stderr, "cannot listen on %s: %s\n", cfg->server.socket,
                strerror(errno));
        unlink(cfg->server.pid_file);
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    gw_log_info(NULL, "vasgw master on %s: %lld workers x %lld threads",
                cfg->server.socket, (long long) cfg->server.workers,
                (long long) cfg->server.threads);
    gw_master_start_generation();

    while (!gw_master.stopping) {
        sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            gw_log_info(NULL, "SIGTERM: draining");
            break;
        }
        if (sig == SIGHUP) {
            gw_master_reload();
        }
        gw_master_reap();
        gw_master_restart_due();
    }
    gw_master_shutdown();
    close(gw_master.listen_fd);
    unlink(gw_master.cfg.server.socket);
    unlink(gw_master.cfg.server.pid_file);
    gw_log_info(NULL, "vasgw master exits");
    return 0;
}
