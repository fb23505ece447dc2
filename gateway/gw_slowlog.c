/*
 * gw_slowlog.c — one JSON line per slow request, one write(2) each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gw_limits.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_slowlog.h"
#include "gw_util.h"

static int  gw_slowlog_fd = -1;
static char gw_slowlog_path[GW_LOG_PATH_MAX];

int
gw_slowlog_open(const char *path)
{
    int fd;

    if (path == NULL || path[0] == '\0') {
        if (gw_slowlog_fd >= 0) {
            close(gw_slowlog_fd);
        }
        gw_slowlog_fd = -1;
        gw_slowlog_path[0] = '\0';
        return 0;
    }
    if (strlen(path) >= sizeof(gw_slowlog_path)) {
        return -1;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    if (gw_slowlog_fd >= 0) {
        dup3(fd, gw_slowlog_fd, O_CLOEXEC); /* threads may be writing */
        close(fd);
    } else {
        gw_slowlog_fd = fd;
    }
    memcpy(gw_slowlog_path, path, strlen(path) + 1);
    return 0;
}

int
gw_slowlog_reopen(void)
{
    int saved = errno, fd, rc = 0;

    if (gw_slowlog_fd < 0) {
        return 0;
    }
    fd = open(gw_slowlog_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = -1;
    } else {
        rc = dup3(fd, gw_slowlog_fd, O_CLOEXEC) < 0 ? -1 : 0;
        close(fd);
    }
    errno = saved;
    return rc;
}

/* Copies s JSON-escaped into out (at most cap - 1 bytes, NUL-terminated),
 * with the one escaper (valid UTF-8 out, never a split sequence). */
static void
gw_slowlog_escape(char *out, size_t cap, const char *s)
{
    size_t k = 0;

    if (s != NULL) {
        k = gw_json_escape(out, cap - 1, s, strlen(s), NULL);
    }
    out[k] = '\0';
}

void
gw_slowlog_note(const char *rid, const char *method, const char *route,
                const char *path, int status, int64_t dur_us)
{
    int64_t slow_us = gw_metrics_slow_us();
    char    line[GW_LOG_LINE_MAX], ts[32], p[GW_PATH_BYTES_MAX / 2],
        rt[GW_PATH_BYTES_MAX / 4];
    int n;

    if (slow_us <= 0 || dur_us < slow_us) {
        return;
    }
    gw_metrics_proc_add(GW_PROC_SLOW, 1);
    if (gw_slowlog_fd < 0) {
        return;
    }
    gw_time_rfc3339_ms(gw_now_ms(), ts, sizeof(ts));
    gw_slowlog_escape(p, sizeof(p), path);
    gw_log_mask_msisdn(p);
    gw_slowlog_escape(rt, sizeof(rt), route);
    n = snprintf(line, sizeof(line),
                 "{\"ts\":\"%s\",\"pid\":%d,\"rid\":\"%s\",\"method\":\"%s\","
                 "\"route\":\"%s\",\"path\":\"%s\",\"status\":%d,"
                 "\"dur_us\":%lld,\"threshold_us\":%lld}\n",
                 ts, (int) getpid(), rid ? rid : "", method ? method : "-", rt,
                 p, status, (long long) dur_us, (long long) slow_us);
    if (n > 0 && (size_t) n < sizeof(line)) {
        ssize_t w = write(gw_slowlog_fd, line, (size_t) n);
        (void) w; /* a lost slowlog line is not worth more */
    }
}
