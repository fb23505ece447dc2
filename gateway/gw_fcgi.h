/*
 * gw_fcgi.h — the FastCGI transport: the only file that touches libfcgi.
 *
 * Each serving thread owns one FCGX_Request and loops in FCGX_Accept_r.
 * With nginx's fastcgi_keep_conn a thread keeps its connection between
 * requests, so a worker can hold as many kept connections as it has
 * threads (see README: "Connection handling").
 */
#ifndef GW_FCGI_H
#define GW_FCGI_H

#include <stdint.h>

struct gw_thread;

/* Opens the listening unix socket (mode 0600). fd or -1. Master only. */
int gw_fcgi_listen(const char *path, int backlog);

/* Once per worker process, after fork. 0 or -1. */
int gw_fcgi_init(void);

#include <pthread.h>

/* A serving thread's state, read by the draining main thread. */
enum gw_fcgi_state { GW_FCGI_IDLE, GW_FCGI_BUSY, GW_FCGI_EXITED };

struct gw_fcgi_slot {
    pthread_t          tid;
    pthread_mutex_t    mu; /* guards state against the drainer */
    enum gw_fcgi_state state;
};

/* Shared by a worker's threads. */
struct gw_fcgi_shared {
    int          listen_fd;
    volatile int stopping;     /* set by the worker main thread */
    int64_t      inflight;     /* atomic */
    int64_t      served;       /* atomic */
    int64_t      max_requests; /* 0 = unlimited */
    volatile int recycle;      /* max_requests reached */
};

/*
 * Thread body: accept/serve until sh->stopping. The thread waits for
 * requests with FCGI_FAIL_ACCEPT_ON_INTR, so the drainer can wake it out
 * of accept(2) with a signal while it is IDLE (never while BUSY: the
 * state is changed and read under slot->mu).
 */
void gw_fcgi_serve(struct gw_fcgi_shared *sh, struct gw_fcgi_slot *slot,
                   struct gw_thread *t);

/* Signal used to wake idle threads (handler installed by the worker). */
#define GW_FCGI_WAKE_SIGNAL SIGUSR1

#endif /* GW_FCGI_H */
