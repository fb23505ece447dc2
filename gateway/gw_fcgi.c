/*
 * gw_fcgi.c — libfcgi accept loop, body reading and reply writing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "gw_fcgi.h"
#include "gw_http.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"

int
gw_fcgi_listen(const char *path, int backlog, const char *mode)
{
    char *end;
    long  m = strtol(mode, &end, 8);
    int   fd;

    if (mode[0] == '\0' || *end != '\0' || m < 0 || m > 0777) {
        errno = EINVAL;
        return -1;
    }
    unlink(path);
    fd = FCGX_OpenSocket(path, backlog);
    if (fd < 0) {
        return -1;
    }
    if (chmod(path, (mode_t) m) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
gw_fcgi_stop_accepting(int listen_fd)
{
    int dummy = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;

    if (dummy < 0) {
        return -1;
    }
    rc = dup2(dummy, listen_fd) < 0 ? -1 : 0;
    close(dummy);
    return rc;
}

/*
 * What libfcgi is given as its listening socket: an unbound one, so that
 * its own accept (OS_Accept) always fails at once and every connection is
 * accepted by gw_fcgi_accept(). Per process (gw_fcgi_init).
 */
static int gw_fcgi_no_listen_fd = -1;

int
gw_fcgi_init(void)
{
    gw_fcgi_no_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (gw_fcgi_no_listen_fd < 0) {
        return -1;
    }
    return FCGX_Init() == 0 ? 0 : -1;
}

static const char *
gw_fcgi_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return status < 500 ? "Client Error" : "Server Error";
    }
}

/* Reads exactly n body bytes into the arena; GW_EINVAL when short. */
static int
gw_fcgi_read_body(struct gw_request *r, FCGX_Stream *in, size_t n)
{
    int got;

    r->body = gw_arena_alloc(r->arena, n + 1);
    if (r->body == NULL) {
        return GW_ERROR;
    }
    got = n > 0 ? FCGX_GetStr(r->body, (int) n, in) : 0;
    if (got < 0 || (size_t) got != n) {
        gw_request_problem(r, "request body shorter than Content-Length");
        return GW_EINVAL;
    }
    r->body[n] = '\0';
    r->body_len = n;
    return GW_OK;
}

/* Drops what is left of the body so a kept connection stays in sync. */
static void
gw_fcgi_drain(FCGX_Stream *in)
{
    char   buf[8192];
    size_t total = 0;
    int    n;

    while (total < GW_BODY_DRAIN_MAX
           && (n = FCGX_GetStr(buf, sizeof(buf), in)) > 0) {
        total += (size_t) n;
    }
}

/* The transport side of gw_reply_write(): libfcgi buffers and flushes. */
static int
gw_fcgi_put(void *out, const void *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 20) ? 1 << 20 : (int) n;
        if (FCGX_PutStr(p, chunk, out) != chunk) {
            return -1;
        }
        p = (const char *) p + chunk;
        n -= (size_t) chunk;
    }
    return 0;
}

int
gw_fcgi_records(int request_id, const char *head, size_t head_len,
                const char *body, size_t body_len, unsigned char *hdr,
                size_t hdr_max, struct iovec *iov, int iov_max)
{
    size_t total = head_len + body_len, off = 0, end, from, chunk, nrec = 0;
    int    n = 0;

    while (off < total) {
        unsigned char *h = hdr + 8 * nrec;

        chunk =
            total - off < GW_FCGI_RECORD_MAX ? total - off : GW_FCGI_RECORD_MAX;
        if (nrec == hdr_max || n + 3 > iov_max) {
            return 0;
        }
        nrec++;
        h[0] = 1; /* FCGI_VERSION_1 */
        h[1] = 6; /* FCGI_STDOUT */
        h[2] = (unsigned char) ((request_id >> 8) & 0xff);
        h[3] = (unsigned char) (request_id & 0xff);
        h[4] = (unsigned char) (chunk >> 8);
        h[5] = (unsigned char) (chunk & 0xff);
        h[6] = 0; /* no padding */
        h[7] = 0;
        iov[n++] = (struct iovec){h, 8};
        end = off + chunk;
        if (off < head_len) {
            from = end < head_len ? end : head_len;
            iov[n++] = (struct iovec){(void *) (head + off), from - off};
        }
        if (end > head_len) {
            from = off > head_len ? off : head_len;
            iov[n++] =
                (struct iovec){(void *) (body + (from - head_len)), end - from};
        }
        off = end;
    }
    return n;
}

/* writev(2) of all of iov, across partial writes and EINTR. 0 or -1. */
static int
gw_fcgi_writev_all(int fd, struct iovec *iov, int n)
{
    ssize_t w;

    while (n > 0) {
        w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        while (n > 0 && (size_t) w >= iov->iov_len) {
            w -= (ssize_t) iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *) iov->iov_base + w;
            iov->iov_len -= (size_t) w;
        }
    }
    return 0;
}

/*
 * A reply longer than libfcgi's buffer, framed here and written with one
 * writev(2) on the request's connection; libfcgi then adds only the
 * end-of-stream and end-of-request records (FCGX_Finish_r). Nothing may
 * be in req->out's buffer yet. 1 when sent, 0 when the caller must use
 * the stream (too long to frame here), -1 on a write error.
 */
static int
gw_fcgi_write_direct(FCGX_Request *req, const char *head, size_t head_len,
                     const char *body, size_t body_len)
{
    unsigned char hdr[GW_FCGI_RECORDS_MAX * 8];
    struct iovec  iov[GW_FCGI_RECORDS_MAX * 3];
    int           n;

    n = gw_fcgi_records(req->requestId, head, head_len, body, body_len, hdr,
                        GW_FCGI_RECORDS_MAX, iov, GW_FCGI_RECORDS_MAX * 3);
    if (n == 0) {
        return 0;
    }
    /* ipcFd is below libfcgi's "don't use" line, like keepConnection
     * (gw_fcgi_serve): the one place we write past the stream. */
    return gw_fcgi_writev_all(req->ipcFd, iov, n) == 0 ? 1 : -1;
}

/*
 * The reply's FastCGI header lines into head[cap]: Status, X-Request-Id,
 * Content-Type, Content-Length (when `length`), the handler's headers and
 * the blank line; copied, not printed (every reply). Its length, or 0
 * when it does not fit.
 */
static size_t
gw_fcgi_head(const struct gw_request *r, int length, char *head, size_t cap)
{
    char        status[GW_I64_TEXT_MAX], clen[GW_I64_TEXT_MAX];
    const char *ct = r->content_type;
    struct {
        const char *p;
        size_t      n;
    } part[] = {
        {"Status: ", 8},
        {status, gw_i64_text(status, r->status)},
        {" ", 1},
        {gw_fcgi_reason(r->status), 0},
        {"\r\nX-Request-Id: ", 16},
        {r->request_id, 0},
        {"\r\n", 2},
        {ct != NULL ? "Content-Type: " : "", ct != NULL ? 14 : 0},
        {ct != NULL ? ct : "", 0},
        {ct != NULL ? "\r\n" : "", ct != NULL ? 2 : 0},
        {length ? "Content-Length: " : "", length ? 16 : 0},
        {clen, length ? gw_i64_text(clen, (int64_t) r->reply_len) : 0},
        {length ? "\r\n" : "", length ? 2 : 0},
        {r->headers, r->headers_len},
        {"\r\n", 2},
    };
    size_t i, o = 0;

    part[3].n = strlen(part[3].p);
    part[5].n = strlen(part[5].p);
    part[8].n = strlen(part[8].p);
    for (i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
        if (part[i].n >= cap - o) {
            return 0;
        }
        memcpy(head + o, part[i].p, part[i].n);
        o += part[i].n;
    }
    return o;
}

/*
 * A reply whose body is known up front says how long it is: without a
 * Content-Length nginx answers the client chunked and sends the last
 * chunk ("0\r\n\r\n") in a writev(2) of its own after the body's — a
 * second segment and a second wake-up of the client per request. Bodiless
 * replies (X-Accel-Redirect, 204, 304) and streamed ones keep nginx's
 * framing.
 */
static void
gw_fcgi_write(struct gw_request *r, FCGX_Request *req)
{
    FCGX_Stream *out = req->out;
    char         head[GW_REPLY_HEADERS_MAX + 512];
    int          streamed = r->stream != NULL && r->status < 300;
    int          n = (int) gw_fcgi_head(r, !streamed && r->reply_len > 0, head,
                                        sizeof(head));

    if (n == 0) {
        static const char fail[] = "Status: 500 Server Error\r\n\r\n";
        memcpy(head, fail, sizeof(fail));
        n = (int) sizeof(fail) - 1;
    }
    if (!streamed && (size_t) n + r->reply_len > GW_FCGI_BUFFER_CONTENT) {
        int rc = gw_fcgi_write_direct(req, head, (size_t) n, r->reply_body,
                                      r->reply_len);
        if (rc != 0) {
            if (rc < 0) {
                gw_log_error(r->request_id, "reply write failed: %s",
                             strerror(errno));
            }
            return;
        }
    }
    FCGX_PutStr(head, n, out);
    if (streamed) {
        r->stream_write = gw_fcgi_put;
        r->stream_out = out;
        if (r->stream(r, r->stream_ctx) != GW_OK) {
            gw_log_error(r->request_id, "streamed reply cut short");
        }
        r->stream_write = NULL;
        return;
    }
    if (r->reply_len > 0) {
        FCGX_PutStr(r->reply_body, (int) r->reply_len, out);
    }
}

static void
gw_fcgi_handle(FCGX_Request *req, struct gw_thread *t)
{
    struct gw_request r;
    size_t            body_max;
    int               rc;

    gw_http_init(&r, t, req->envp);
    rc = gw_http_prepare(&r, &body_max);
    if (rc == GW_OK) {
        rc = gw_fcgi_read_body(&r, req->in, (size_t) r.content_length);
    }
    if (rc == GW_OK) {
        gw_http_run(&r);
    } else {
        gw_fcgi_drain(req->in);
        gw_http_fail(&r, rc);
    }
    gw_fcgi_write(&r, req);
    gw_http_finish(&r);
}

static void
gw_fcgi_state(struct gw_fcgi_slot *slot, enum gw_fcgi_state state)
{
    pthread_mutex_lock(&slot->mu);
    slot->state = state;
    pthread_mutex_unlock(&slot->mu);
}

/*
 * A new connection, accepted here and not by libfcgi: after accept(2)
 * its OS_Accept waits up to 2 s in poll(2) for the first bytes (a Linux
 * 2.0 work-around, is_af_unix_keeper) and closes the connection when the
 * poll fails. poll(2) fails with EINTR on any signal that runs a handler,
 * SA_RESTART or not (signal(7)), so GW_FCGI_RETIRE_SIGNAL closed
 * connections nginx had just opened and was sending a request on (nginx:
 * "writev() failed (32: Broken pipe) while sending request to upstream",
 * a 502 for a POST). accept4(2) is restarted by RETIRE (and then fails:
 * gw_fcgi_stop_accepting) and interrupted by WAKE. Without libfcgi's 2 s
 * limit a connection that never sends holds its thread until nginx
 * closes it, as a kept one does (a retiring worker's drain deadline
 * ends both). The fd, or -1.
 */
static int
gw_fcgi_accept(int listen_fd)
{
    /* Out of descriptors: the connection stays queued; wait a little
     * instead of spinning on accept(2), as nginx disables accepting. */
    struct timespec pause = {0, 10 * 1000000L};
    int             fd;

    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            static int64_t logged_s; /* one line a second, not per thread */
            int64_t        now = gw_now_s();
            int64_t        was = __atomic_load_n(&logged_s, __ATOMIC_RELAXED);

            if (now != was
                && __atomic_compare_exchange_n(&logged_s, &was, now, 0,
                                               __ATOMIC_RELAXED,
                                               __ATOMIC_RELAXED)) {
                gw_log_error(NULL, "accept: %s", strerror(errno));
            }
            nanosleep(&pause, NULL);
            return -1;
        }
    } while (fd < 0 && (errno == ECONNABORTED || errno == EPROTO));
    return fd;
}

/*
 * The next request: on the kept connection, else on a new one. libfcgi
 * reads from ipcFd when it is open (fields below its "don't use" line,
 * like keepConnection in gw_fcgi_serve); keepConnection set keeps the
 * FCGX_Finish_r that FCGX_Accept_r begins with from closing the new fd.
 * When the kept connection ends, FCGX_Accept_r fails on
 * gw_fcgi_no_listen_fd and the next call accepts here. 0 or < 0.
 */
static int
gw_fcgi_next(FCGX_Request *req, int listen_fd)
{
    int fd;

    if (req->ipcFd < 0) {
        fd = gw_fcgi_accept(listen_fd);
        if (fd < 0) {
            return -1;
        }
        req->ipcFd = fd;
        req->keepConnection = 1;
    }
    return FCGX_Accept_r(req);
}

void
gw_fcgi_serve(struct gw_fcgi_shared *sh, struct gw_fcgi_slot *slot,
              struct gw_thread *t)
{
    FCGX_Request req;
    int64_t      served;
    int          rc;

    gw_log_thread_init();
    if (FCGX_InitRequest(&req, gw_fcgi_no_listen_fd, 0) != 0) {
        gw_log_error(NULL, "FCGX_InitRequest failed");
        gw_fcgi_state(slot, GW_FCGI_EXITED);
        return;
    }
    /* The loop ends only when gw_fcgi_next fails while stopping: a kept
     * connection is then already closed (by nginx, or by close_kept), so
     * leaving never closes one nginx may be sending on. */
    for (;;) {
        rc = gw_fcgi_next(&req, sh->listen_fd);
        /* BUSY before anything else can block: from here on the drainer
         * will not signal this thread. */
        gw_fcgi_state(slot, GW_FCGI_BUSY);
        if (rc < 0) {
            /* Woken by the drainer, accept refused (stop_accepting), or
             * the connection ended (nginx closed it, or it carried no
             * request). */
            gw_fcgi_state(slot, GW_FCGI_IDLE);
            if (sh->stopping) {
                break;
            }
            continue;
        }
        __atomic_fetch_add(&sh->inflight, 1, __ATOMIC_SEQ_CST);
        gw_metrics_worker_busy(sh->metrics_row, 1);
        gw_fcgi_handle(&req, t);
        gw_metrics_worker_busy(sh->metrics_row, -1);
        served = __atomic_add_fetch(&sh->served, 1, __ATOMIC_RELAXED);
        if (sh->max_requests > 0 && served >= sh->max_requests) {
            sh->recycle = 1;
        }
        if (sh->close_kept) {
            /* SIGTERM drain only: see gw_fcgi.h on why not otherwise. */
            req.keepConnection = 0;
        }
        FCGX_Finish_r(&req);
        __atomic_fetch_sub(&sh->inflight, 1, __ATOMIC_SEQ_CST);
        gw_fcgi_state(slot, GW_FCGI_IDLE);
    }
    FCGX_Free(&req, 1);
    gw_log_thread_flush();
    gw_fcgi_state(slot, GW_FCGI_EXITED);
}
