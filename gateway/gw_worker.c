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
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_fcgi.h"
#include "gw_log.h"
#include "gw_master.h"
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

/* The wake-up signal only has to interrupt accept(2)/read(2). */
static void
gw_worker_on_wake(int sig)
{
    (void) sig;
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
 * Stops a worker without cutting off a request: idle threads are woken
 * out of accept(2) (or the read of an idle kept connection) by a signal
 * and leave; busy ones finish their request, close their connection and
 * leave. A thread is signalled only while it is IDLE under its mutex, so
 * no request's own I/O is ever interrupted. Returns when every thread has
 * left, or at the timeout.
 */
static void
gw_worker_drain(struct gw_worker_thread *wts, int n, int64_t timeout_s)
{
    struct timespec pause = {0, 2 * 1000000L};
    int64_t         deadline = gw_mono_us() + timeout_s * 1000000;
    int             i, left;

    do {
        left = 0;
        for (i = 0; i < n; i++) {
            struct gw_fcgi_slot *s = &wts[i].slot;

            pthread_mutex_lock(&s->mu);
            if (s->state == GW_FCGI_IDLE) {
                pthread_kill(s->tid, GW_FCGI_WAKE_SIGNAL);
            }
            left += s->state != GW_FCGI_EXITED;
            pthread_mutex_unlock(&s->mu);
        }
        if (left > 0) {
            nanosleep(&pause, NULL);
        }
    } while (left > 0 && gw_mono_us() < deadline);
    if (left > 0) {
        gw_log_warn(NULL, "drain timeout: %d threads still busy", left);
    }
}

int
gw_worker_main(const struct gw_config *cfg, int listen_fd)
{
    static struct gw_fcgi_shared sh;
    struct gw_worker_thread     *wts;
    struct timespec              tick = {0, 100 * 1000000L};
    struct sigaction             wake;
    sigset_t                     set;
    int                          sig, n = (int) cfg->server.threads;

    gw_log_role("worker");
    if (gw_fcgi_init() != 0) {
        gw_log_error(NULL, "FCGX_Init failed");
        return 1;
    }
    /* After FCGX_Init (which sets its own handlers): block everything we
     * handle, so it reaches only sigtimedwait below. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    memset(&wake, 0, sizeof(wake));
    wake.sa_handler = gw_worker_on_wake; /* no SA_RESTART: EINTR wanted */
    sigaction(GW_FCGI_WAKE_SIGNAL, &wake, NULL);

    sh.listen_fd = listen_fd;
    sh.max_requests = cfg->server.max_requests;
    wts = calloc((size_t) n, sizeof(*wts));
    if (wts == NULL || gw_worker_start_threads(wts, n, cfg, &sh) != 0) {
        gw_log_error(NULL, "cannot start %d threads", n);
        return 1;
    }
    for (;;) {
        sig = sigtimedwait(&set, NULL, &tick);
        gw_log_flush_all(0);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
            break;
        }
        if (sh.recycle) {
            break;
        }
        if (getppid() == 1) {
            break; /* the master is gone: do not linger as an orphan */
        }
    }
    sh.stopping = 1;
    gw_stop_flag = 1;
    gw_worker_drain(wts, n, cfg->server.drain_timeout_s);
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
    signal(SIGPIPE, SIG_IGN);
    if (gw_thread_init(&t, cfg, 0) != 0) {
        return 1;
    }
    rc = role->run(&t);
    gw_thread_fini(&t);
    return rc;
}
