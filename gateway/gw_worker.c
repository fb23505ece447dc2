/*
 * gw_worker.c — one worker process: T serving threads and a main thread
 * that waits for signals and decides when the process ends.
 *
 * libfcgi's FCGX_Init installs a SIGTERM handler that only sets a flag,
 * and threads blocked in accept(2) never look at it. So every signal is
 * blocked in all threads and taken synchronously here with sigtimedwait:
 * on SIGTERM (or after max_requests) the process stops accepting, lets
 * in-flight requests finish, and exits without waiting for idle threads.
 */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_fcgi.h"
#include "gw_log.h"
#include "gw_master.h"
#include "gw_metrics.h"
#include "gw_ratelimit.h"
#include "gw_slowlog.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "gw_worker.h"

extern volatile sig_atomic_t gw_stop_flag;

struct gw_worker_thread {
    struct gw_fcgi_slot    slot;
    struct gw_thread       t;
    struct gw_fcgi_shared *sh;
};

static void *
gw_worker_thread_main(void *arg)
{
    struct gw_worker_thread *wt = arg;

    gw_fcgi_serve(wt->sh, &wt->slot, &wt->t);
    return NULL;
}

/* The wake-up signals only have to interrupt accept(2)/read(2). */
static void
gw_worker_on_wake(int sig)
{
    (void) sig;
}

static void
gw_worker_wake_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = gw_worker_on_wake;
    sigaction(GW_FCGI_WAKE_SIGNAL, &sa, NULL); /* no SA_RESTART: EINTR */
    sa.sa_flags = SA_RESTART;
    sigaction(GW_FCGI_RETIRE_SIGNAL, &sa, NULL);
}

static int
gw_worker_start_threads(struct gw_worker_thread *wts, int n,
                        const struct gw_config *cfg, struct gw_fcgi_shared *sh)
{
    pthread_attr_t attr;
    int            i;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, GW_THREAD_STACK_BYTES);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (i = 0; i < n; i++) {
        wts[i].sh = sh;
        pthread_mutex_init(&wts[i].slot.mu, NULL);
        wts[i].slot.state = GW_FCGI_IDLE;
        if (gw_thread_init(&wts[i].t, cfg, i) != 0
            || pthread_create(&wts[i].slot.tid, &attr, gw_worker_thread_main,
                              &wts[i])
                != 0) {
            pthread_attr_destroy(&attr);
            return -1;
        }
    }
    pthread_attr_destroy(&attr);
    return 0;
}

/*
 * One pass over the threads: signals the IDLE ones with sig (under the
 * slot mutex, so never a BUSY one) and returns how many have not exited.
 */
static int
gw_worker_poke(struct gw_worker_thread *wts, int n, int sig)
{
    int i, left = 0;

    for (i = 0; i < n; i++) {
        struct gw_fcgi_slot *s = &wts[i].slot;

        pthread_mutex_lock(&s->mu);
        if (s->state == GW_FCGI_IDLE) {
            pthread_kill(s->tid, sig);
        }
        left += s->state != GW_FCGI_EXITED;
        pthread_mutex_unlock(&s->mu);
    }
    return left;
}

/*
 * SIGTERM: stops a worker without cutting off a request: idle threads are
 * woken out of accept(2) or the read of an idle kept connection and
 * leave; busy ones finish their request, close their connection and
 * leave. Returns when every thread has left, or at the deadline.
 */
static void
gw_worker_drain(struct gw_worker_thread *wts, int n, struct gw_fcgi_shared *sh,
                int64_t deadline_us)
{
    struct timespec pause = {0, 2 * 1000000L};
    int             left;

    sh->close_kept = 1;
    sh->stopping = 1;
    gw_fcgi_stop_accepting(sh->listen_fd);
    while ((left = gw_worker_poke(wts, n, GW_FCGI_WAKE_SIGNAL)) > 0
           && gw_mono_us() < deadline_us) {
        nanosleep(&pause, NULL);
    }
    if (left > 0) {
        gw_log_warn(NULL, "drain timeout: %d threads still busy", left);
    }
}

/*
 * Retirement (SIGQUIT from a reload or an upgrade, or max_requests): a
 * successor serves new connections, so this worker stops accepting and
 * lets nginx close the connections it keeps here — idle ones after the
 * upstream keepalive_timeout, busy ones after keepalive_time — answering
 * what arrives on them meanwhile. Closing them from here would race with
 * a request nginx is sending (a 502). A SIGTERM meanwhile, or the
 * deadline, turns it into a drain. Returns 1 when every thread left.
 */
static int
gw_worker_retire(struct gw_worker_thread *wts, int n, struct gw_fcgi_shared *sh,
                 const sigset_t *set, int64_t deadline_us)
{
    struct timespec tick = {0, 20 * 1000000L};
    int             sig;

    sh->stopping = 1;
    gw_metrics_worker_retiring(sh->metrics_row);
    if (gw_fcgi_stop_accepting(sh->listen_fd) != 0) {
        gw_log_error(NULL, "cannot stop accepting: %s", strerror(errno));
        return 0;
    }
    while (gw_worker_poke(wts, n, GW_FCGI_RETIRE_SIGNAL) > 0) {
        if (gw_mono_us() >= deadline_us) {
            return 0;
        }
        sig = sigtimedwait(set, NULL, &tick);
        gw_log_flush_all(0);
        if (sig == SIGTERM || sig == SIGINT) {
            return 0;
        }
        if (sig == SIGUSR1) {
            gw_log_reopen();
            gw_slowlog_reopen();
        }
    }
    return 1;
}

/* Tells the master that a successor is needed now (max_requests). */
static void
gw_worker_announce_retire(void)
{
    union sigval v = {0};

    if (sigqueue(getppid(), GW_MASTER_RETIRING_SIGNAL, v) != 0) {
        gw_log_warn(NULL, "cannot tell the master: %s", strerror(errno));
    }
}

/* Waits for a signal or max_requests. Returns 1 to retire, 0 to drain. */
static int
gw_worker_wait(struct gw_fcgi_shared *sh, const sigset_t *set)
{
    struct timespec tick = {0, 100 * 1000000L};
    int             sig;

    for (;;) {
        sig = sigtimedwait(set, NULL, &tick);
        gw_log_flush_all(0);
        if (sig == SIGTERM || sig == SIGINT) {
            return 0;
        }
        if (sig == SIGQUIT) {
            return 1;
        }
        if (sig == SIGUSR1) {
            gw_log_reopen();
            gw_slowlog_reopen();
        }
        if (sh->recycle) {
            gw_worker_announce_retire();
            return 1;
        }
        if (getppid() == 1) {
            return 0; /* the master is gone: do not linger as an orphan */
        }
    }
}

int
gw_worker_main(const struct gw_config *cfg, int listen_fd)
{
    static struct gw_fcgi_shared sh;
    struct gw_worker_thread     *wts;
    sigset_t                     set;
    int64_t                      deadline_us;
    int                          retire, n = (int) cfg->server.threads;

    gw_log_role("worker");
    if (gw_fcgi_init() != 0) {
        gw_log_error(NULL, "FCGX_Init failed");
        return 1;
    }
    /* After FCGX_Init (which sets its own handlers): block everything we
     * handle, so it reaches only sigtimedwait in the main thread. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    gw_worker_wake_handlers();

    sh.listen_fd = listen_fd;
    sh.max_requests = cfg->server.max_requests;
    sh.metrics_row = gw_metrics_worker_claim(getpid(), n, 0);
    if (gw_ratelimit_start(cfg) != 0) {
        gw_log_warn(NULL,
                    "no rate-limit refill thread: leases are topped up"
                    " on the request's path");
    }
    wts = calloc((size_t) n, sizeof(*wts));
    if (wts == NULL || gw_worker_start_threads(wts, n, cfg, &sh) != 0) {
        gw_log_error(NULL, "cannot start %d threads", n);
        return 1;
    }
    retire = gw_worker_wait(&sh, &set);
    deadline_us = gw_mono_us() + cfg->server.drain_timeout_s * 1000000;
    if (!retire || !gw_worker_retire(wts, n, &sh, &set, deadline_us)) {
        gw_worker_drain(wts, n, &sh, deadline_us);
    }
    gw_log_flush_all(1);
    gw_log_info(NULL, "worker exits after %lld requests%s",
                (long long) sh.served, sh.recycle ? " (recycled)" : "");
    /* Idle threads sit in accept/read; the process exit closes them. */
    _exit(sh.recycle ? GW_EXIT_RECYCLE : 0);
}

int
gw_role_main(const struct gw_config *cfg, const struct gw_role *role)
{
    struct gw_thread t;
    sigset_t         set;
    int              rc;

    gw_log_role(role->name);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    gw_log_reopen_on_signal(SIGUSR1);
    signal(SIGPIPE, SIG_IGN);
    if (gw_thread_init(&t, cfg, 0) != 0) {
        return 1;
    }
    rc = role->run(&t);
    gw_thread_fini(&t);
    return rc;
}
