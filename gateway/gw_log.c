/*
 * gw_log.c — formatting into a stack buffer, then one write(2).
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_limits.h"
#include "gw_log.h"
#include "gw_util.h"

static int gw_log_fd = 2;

/*
 * Access lines are buffered per serving thread (nginx's access_log
 * buffer= flush= is the model): one write(2) per request cost a quarter
 * of a cached catalog read. A buffer is written when full, when its oldest
 * line is GW_LOG_FLUSH_MS old (checked on every append and by the worker's
 * main thread every tick, for threads gone idle), and when its thread
 * leaves. Error and event lines are never buffered.
 */
struct gw_log_buf {
    pthread_mutex_t mu;
    size_t          len;
    int64_t         first_ms;
    char            data[GW_LOG_BUF_BYTES];
};

static __thread struct gw_log_buf *gw_log_tl;
static struct gw_log_buf          *gw_log_bufs[GW_THREADS_MAX];
static int                         gw_log_nbufs;
static pthread_mutex_t             gw_log_bufs_mu = PTHREAD_MUTEX_INITIALIZER;
static const char                 *gw_log_role_name = "vasgw";
static enum gw_log_level           gw_log_min = GW_LOG_INFO;

static const char *gw_log_level_names[] = {"debug", "info", "warn", "error"};

/* The path of the log file, for gw_log_reopen ("" = stderr). */
static char gw_log_path[GW_LOG_PATH_MAX];

int
gw_log_open(const char *path)
{
    int fd;

    if (path == NULL || strcmp(path, "-") == 0 || path[0] == '\0') {
        if (gw_log_fd > 2) {
            close(gw_log_fd);
        }
        gw_log_fd = 2;
        gw_log_path[0] = '\0';
        return 0;
    }
    if (strlen(path) >= sizeof(gw_log_path)) {
        return -1;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    /* The log holds user ids and addresses: never world-readable, also
     * when something else (a shell redirection) created the file. */
    (void) fchmod(fd, 0640);
    if (gw_log_fd > 2) {
        close(gw_log_fd);
    }
    gw_log_fd = fd;
    memcpy(gw_log_path, path, strlen(path) + 1);
    if (getenv("VASGW_LOG_DEBUG") != NULL) {
        gw_log_min = GW_LOG_DEBUG;
    }
    return 0;
}

int
gw_log_reopen(void)
{
    int saved = errno, fd, rc = 0;

    if (gw_log_path[0] == '\0' || gw_log_fd <= 2) {
        return 0; /* stderr: whoever started us owns the file */
    }
    fd = open(gw_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = -1;
    } else {
        rc = dup3(fd, gw_log_fd, O_CLOEXEC) < 0 ? -1 : 0;
        close(fd);
    }
    errno = saved;
    return rc;
}

static void
gw_log_on_reopen(int sig)
{
    (void) sig;
    gw_log_reopen();
}

void
gw_log_reopen_on_signal(int sig)
{
    struct sigaction sa;
    sigset_t         set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = gw_log_on_reopen;
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void
gw_log_role(const char *role)
{
    gw_log_role_name = role;
}

void
gw_log_level_set(enum gw_log_level level)
{
    gw_log_min = level;
}

static void
gw_log_write_all(const char *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(gw_log_fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        p += n;
        len -= (size_t) n;
    }
}

/* Writes b out; b->mu held. */
static void
gw_log_buf_flush(struct gw_log_buf *b)
{
    if (b->len > 0) {
        gw_log_write_all(b->data, b->len);
        b->len = 0;
    }
}

void
gw_log_thread_init(void)
{
    struct gw_log_buf *b;

    if (gw_log_tl != NULL) {
        return;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return; /* unbuffered then */
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_lock(&gw_log_bufs_mu);
    if (gw_log_nbufs < GW_THREADS_MAX) {
        gw_log_bufs[gw_log_nbufs++] = b;
        gw_log_tl = b;
    }
    pthread_mutex_unlock(&gw_log_bufs_mu);
    if (gw_log_tl == NULL) {
        free(b);
    }
}

void
gw_log_thread_flush(void)
{
    if (gw_log_tl != NULL) {
        pthread_mutex_lock(&gw_log_tl->mu);
        gw_log_buf_flush(gw_log_tl);
        pthread_mutex_unlock(&gw_log_tl->mu);
    }
}

void
gw_log_flush_all(int force)
{
    int64_t now = gw_now_ms();
    int     i, n;

    pthread_mutex_lock(&gw_log_bufs_mu);
    n = gw_log_nbufs;
    pthread_mutex_unlock(&gw_log_bufs_mu);
    for (i = 0; i < n; i++) {
        struct gw_log_buf *b = gw_log_bufs[i];

        pthread_mutex_lock(&b->mu);
        if (b->len > 0 && (force || now - b->first_ms >= GW_LOG_FLUSH_MS)) {
            gw_log_buf_flush(b);
        }
        pthread_mutex_unlock(&b->mu);
    }
}

/* Appends one finished line (with its newline) to the thread's buffer. */
static int
gw_log_buffered(const char *line, size_t len)
{
    struct gw_log_buf *b = gw_log_tl;
    int64_t            now;

    if (b == NULL || len > sizeof(b->data)) {
        return 0;
    }
    now = gw_now_ms();
    pthread_mutex_lock(&b->mu);
    if (b->len + len > sizeof(b->data)) {
        gw_log_buf_flush(b);
    }
    if (b->len == 0) {
        b->first_ms = now;
    }
    memcpy(b->data + b->len, line, len);
    b->len += len;
    if (now - b->first_ms >= GW_LOG_FLUSH_MS) {
        gw_log_buf_flush(b);
    }
    pthread_mutex_unlock(&b->mu);
    return 1;
}

/*
 * The process id of the log lines, read once per process: getpid() is a
 * system call on every line otherwise (glibc does not cache it). A fork's
 * child forgets it (pthread_atfork, registered before main runs).
 */
static pid_t gw_log_pid;

static void
gw_log_pid_forget(void)
{
    __atomic_store_n(&gw_log_pid, 0, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void
gw_log_pid_init(void)
{
    pthread_atfork(NULL, NULL, gw_log_pid_forget);
}

static size_t
gw_log_head(char *buf, size_t cap, const char *level)
{
    char        ts[32];
    pid_t       pid = __atomic_load_n(&gw_log_pid, __ATOMIC_RELAXED);
    const char *part[] = {"{\"ts\":\"",      ts,
                          "\",\"level\":\"", level,
                          "\",\"role\":\"",  gw_log_role_name,
                          "\",\"pid\":"};
    size_t      i, o = 0, k;

    if (pid == 0) {
        pid = getpid();
        __atomic_store_n(&gw_log_pid, pid, __ATOMIC_RELAXED);
    }
    gw_time_rfc3339_ms(gw_now_ms(), ts, sizeof(ts));
    /* Pieces copied, not snprintf: every request's access line. */
    for (i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
        k = strlen(part[i]);
        if (o + k + GW_I64_TEXT_MAX >= cap) {
            return 0;
        }
        memcpy(buf + o, part[i], k);
        o += k;
    }
    return o + gw_i64_text(buf + o, (int64_t) pid);
}

/*
 * Masks every run of 8..15 digits (an MSISDN, E.164 without '+') in s, in
 * place: the first 3 and last 4 digits stay, the rest become '*'
 * ("8613812345678" → "861******5678"). Shorter runs (ids, amounts) and
 * longer ones (millisecond times are 13: masked too, an accepted cost) are
 * left alone outside that range.
 */
void
gw_log_mask_msisdn(char *s)
{
    size_t i = 0, j, k;

    while (s[i] != '\0') {
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        for (j = i; s[j] >= '0' && s[j] <= '9'; j++) {
        }
        if (j - i >= 8 && j - i <= 15) {
            for (k = i + 3; k < j - 4; k++) {
                s[k] = '*';
            }
        }
        i = j;
    }
}

/* Appends ,"name":"value" with value escaped into at most max bytes. */
static size_t
gw_log_field(char *buf, size_t pos, size_t cap, const char *name,
             const char *value, size_t max)
{
    size_t room, n = strlen(name);

    if (value == NULL || pos + n + 8 >= cap) {
        return pos;
    }
    /* memcpy, not snprintf: eight fields on every request's line */
    memcpy(buf + pos, ",\"", 2);
    memcpy(buf + pos + 2, name, n);
    memcpy(buf + pos + 2 + n, "\":\"", 3);
    pos += n + 5;
    room = cap - pos - 1;
    if (room > max) {
        room = max;
    }
    pos += gw_json_escape(buf + pos, room, value, strlen(value), NULL);
    buf[pos++] = '"';
    return pos;
}

/* Appends ,"name":v (as gw_log_field, without printf). */
static size_t
gw_log_num(char *buf, size_t pos, size_t cap, const char *name, int64_t v)
{
    size_t n = strlen(name);

    if (pos + n + 4 + GW_I64_TEXT_MAX >= cap) {
        return pos;
    }
    memcpy(buf + pos, ",\"", 2);
    memcpy(buf + pos + 2, name, n);
    memcpy(buf + pos + 2 + n, "\":", 2);
    pos += n + 4;
    return pos + gw_i64_text(buf + pos, v);
}

void
gw_log(enum gw_log_level level, const char *func, const char *rid,
       const char *fmt, ...)
{
    char    line[GW_LOG_LINE_MAX], msg[GW_LOG_LINE_MAX / 2];
    size_t  pos, cap = sizeof(line) - 4;
    va_list ap;

    if (level < gw_log_min) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gw_log_mask_msisdn(msg);

    pos = gw_log_head(line, sizeof(line), gw_log_level_names[level]);
    pos = gw_log_field(line, pos, cap, "func", func, 128);
    if (rid != NULL && rid[0] != '\0') {
        pos = gw_log_field(line, pos, cap, "rid", rid, GW_REQUEST_ID_MAX);
    }
    pos = gw_log_field(line, pos, cap, "msg", msg, cap);
    line[pos++] = '}';
    line[pos++] = '\n';
    gw_log_write_all(line, pos); /* events are never buffered */
}

void
gw_log_access(const struct gw_log_access_rec *a)
{
    char        line[GW_LOG_LINE_MAX], path[GW_LOG_URI_MAX + 1];
    size_t      pos, cap = sizeof(line) - 4;
    const char *p = a->path ? a->path : "-";
    size_t      n = strnlen(p, sizeof(path) - 1);

    memcpy(path, p, n);
    path[n] = '\0';
    gw_log_mask_msisdn(path);
    pos = gw_log_head(line, sizeof(line), "info");
    pos = gw_log_field(line, pos, cap, "rid", a->rid, GW_REQUEST_ID_MAX);
    pos = gw_log_field(line, pos, cap, "method", a->method, 16);
    pos = gw_log_field(line, pos, cap, "route", a->route, 128);
    pos = gw_log_field(line, pos, cap, "path", path, GW_LOG_URI_MAX);
    pos = gw_log_num(line, pos, cap, "status", a->status);
    pos = gw_log_num(line, pos, cap, "dur_us", a->dur_us);
    pos = gw_log_num(line, pos, cap, "bytes_in", a->bytes_in);
    pos = gw_log_num(line, pos, cap, "bytes_out", a->bytes_out);
    pos = gw_log_field(line, pos, cap, "user", a->user, GW_USER_ID_MAX * 6);
    pos = gw_log_field(line, pos, cap, "code", a->code, 48);
    pos = gw_log_field(line, pos, cap, "addr", a->addr, 64);
    pos = gw_log_field(line, pos, cap, "ua", a->ua, GW_LOG_UA_MAX);
    line[pos++] = '}';
    line[pos++] = '\n';
    if (!gw_log_buffered(line, pos)) {
        gw_log_write_all(line, pos);
    }
}
