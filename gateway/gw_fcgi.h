/*
 * gw_fcgi.h — the FastCGI transport: the only file that touches libfcgi.
 *
 * Each serving thread owns one FCGX_Request, accepts connections itself
 * (never in libfcgi: see gw_fcgi_accept) and reads requests with
 * FCGX_Accept_r. With nginx's fastcgi_keep_conn a thread keeps its
 * connection between requests, so a worker can hold as many kept
 * connections as it has threads (see README: "Connection handling").
 */
#ifndef GW_FCGI_H
#define GW_FCGI_H

#include <stdint.h>

struct gw_thread;

/* Opens the listening unix socket with mode (octal text, e.g. "0600").
 * fd or -1 (errno EINVAL for a bad mode). Master only. */
int gw_fcgi_listen(const char *path, int backlog, const char *mode);

/* Once per worker process, after fork. 0 or -1. */
int gw_fcgi_init(void);

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/uio.h>

/*
 * libfcgi's stdout buffer holds 8192 bytes: 8 of record header and
 * GW_FCGI_BUFFER_CONTENT of content, written out with write(2) each time
 * it fills. A reply that fits is one write (with the end-of-request
 * records); a longer one is framed by gw_fcgi_records and sent with one
 * writev(2) (36 KB page: 5 writes -> 2).
 */
#define GW_FCGI_BUFFER_CONTENT 8184
#define GW_FCGI_RECORD_MAX     65528 /* content per record, a multiple of 8 */
#define GW_FCGI_RECORDS_MAX    64 /* 4 MB; longer replies go through libfcgi */

/*
 * Frames head then body as FCGI_STDOUT records of request_id: each
 * record's 8-byte header is written into hdr (room for hdr_max records)
 * and iov gets header, head part, body part per record. The number of
 * iovecs, or 0 when hdr_max records or iov_max iovecs are too few. Pure.
 */
int gw_fcgi_records(int request_id, const char *head, size_t head_len,
                    const char *body, size_t body_len, unsigned char *hdr,
                    size_t hdr_max, struct iovec *iov, int iov_max);

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
    volatile int stopping;     /* leave when accept fails (set by main) */
    volatile int close_kept;   /* close kept connections after a reply */
    int64_t      inflight;     /* atomic */
    int64_t      served;       /* atomic */
    int64_t      max_requests; /* 0 = unlimited */
    volatile int recycle;      /* max_requests reached */
    int          metrics_row;  /* gw_metrics_worker_claim(), or -1 */
};

/*
 * Thread body: accept/serve until sh->stopping. The drainer can wake it
 * out of accept(2) with a signal while it is IDLE (never while BUSY: the
 * state is changed and read under slot->mu). Between accept(2) and the
 * request it waits only in read(2), which RETIRE restarts: no signal of
 * a retirement can close a connection nginx has opened.
 *
 * Kept connections are closed by the gateway only with sh->close_kept
 * (SIGTERM: no successor will serve them anyway). Otherwise nginx is the
 * one that closes them (upstream keepalive_timeout / keepalive_time):
 * only nginx knows whether it is about to send on one, so a close from
 * our side races with a request in flight (nginx: "upstream prematurely
 * closed connection", a 502 for a POST).
 */
void gw_fcgi_serve(struct gw_fcgi_shared *sh, struct gw_fcgi_slot *slot,
                   struct gw_thread *t);

/*
 * Stops this process from accepting new FastCGI connections, at once and
 * for every thread: the listening descriptor number is made to point to
 * an unbound socket (dup2), so the next accept(2) on it — also one that
 * GW_FCGI_RETIRE_SIGNAL restarts — fails, while the socket stays open in
 * the other processes. Kept connections are untouched. 0 or -1.
 */
int gw_fcgi_stop_accepting(int listen_fd);

/*
 * Signals that wake idle threads (handlers installed by the worker):
 * WAKE without SA_RESTART interrupts accept(2) and the read of an idle
 * kept connection (SIGTERM drain); RETIRE with SA_RESTART restarts both,
 * so after gw_fcgi_stop_accepting() it ends a wait in accept(2) and
 * leaves kept connections waiting for nginx.
 */
#define GW_FCGI_WAKE_SIGNAL   (SIGRTMIN)
#define GW_FCGI_RETIRE_SIGNAL (SIGRTMIN + 1)

#endif /* GW_FCGI_H */
