/*
 * gw_log.c — formatting into a stack buffer, then one write(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_limits.h"
#include "gw_log.h"
#include "gw_util.h"

static int               gw_log_fd = 2;
static const char       *gw_log_role_name = "vasgw";
static enum gw_log_level gw_log_min = GW_LOG_INFO;

static const char *gw_log_level_names[] = {"debug", "info", "warn", "error"};

int
gw_log_open(const char *path)
{
    int fd;

    if (path == NULL || strcmp(path, "-") == 0 || path[0] == '\0') {
        if (gw_log_fd > 2) {
            close(gw_log_fd);
        }
        gw_log_fd = 2;
        return 0;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    if (gw_log_fd > 2) {
        close(gw_log_fd);
    }
    gw_log_fd = fd;
    if (getenv("VASGW_LOG_DEBUG") != NULL) {
        gw_log_min = GW_LOG_DEBUG;
    }
    return 0;
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

/* snprintf at pos, clamped so pos never passes cap - 1. */
static size_t
gw_log_addf(char *buf, size_t pos, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (pos >= cap - 1) {
        return cap - 1;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf + pos, cap - pos, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return pos;
    }
    pos += (size_t) n;
    return pos >= cap - 1 ? cap - 1 : pos;
}

/* Appends s JSON-escaped (without quotes) to buf; stops at the end. */
static size_t
gw_log_escape(char *buf, size_t pos, size_t cap, const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *) s; *p && pos + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char) *p;
        } else if (*p < 0x20) {
            pos = gw_log_addf(buf, pos, cap, "\\u%04x", *p);
        } else {
            buf[pos++] = (char) *p;
        }
    }
    return pos;
}

static void
gw_log_write(char *line, size_t len, size_t cap)
{
    ssize_t n;

    if (len >= cap - 2) {
        len = cap - 2;
    }
    line[len++] = '\n';
    do {
        n = write(gw_log_fd, line, len);
    } while (n < 0 && errno == EINTR);
}

static size_t
gw_log_head(char *buf, size_t cap, const char *level)
{
    char ts[32];
    int  n;

    gw_time_rfc3339_ms(gw_now_ms(), ts, sizeof(ts));
    n = snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"role\":\"%s\","
                 "\"pid\":%d", ts, level, gw_log_role_name, (int) getpid());
    return n < 0 ? 0 : (size_t) n;
}

void
gw_log(enum gw_log_level level, const char *func, const char *rid,
       const char *fmt, ...)
{
    char    line[GW_LOG_LINE_MAX], msg[GW_LOG_LINE_MAX / 2];
    size_t  pos;
    va_list ap;

    if (level < gw_log_min) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pos = gw_log_head(line, sizeof(line), gw_log_level_names[level]);
    pos = gw_log_addf(line, pos, sizeof(line) - 8,
                             ",\"func\":\"%s\"", func);
    if (rid != NULL && rid[0] != '\0') {
        pos = gw_log_addf(line, pos, sizeof(line) - 8,
                                 ",\"rid\":\"%s\"", rid);
    }
    pos = gw_log_addf(line, pos, sizeof(line) - 8, ",\"msg\":\"");
    pos = gw_log_escape(line, pos, sizeof(line) - 4, msg);
    line[pos++] = '"';
    line[pos++] = '}';
    gw_log_write(line, pos, sizeof(line));
}

void
gw_log_access(const char *rid, const char *method, const char *route,
              const char *path, int status, int64_t dur_us, const char *user,
              const char *code)
{
    char   line[GW_LOG_LINE_MAX];
    size_t pos, cap = sizeof(line) - 8;

    pos = gw_log_head(line, sizeof(line), "info");
    pos = gw_log_addf(line, pos, cap,
                             ",\"rid\":\"%s\",\"method\":\"%s\",\"route\":\"",
                             rid, method);
    pos = gw_log_escape(line, pos, cap, route);
    pos = gw_log_addf(line, pos, cap, "\",\"path\":\"");
    pos = gw_log_escape(line, pos, cap, path);
    pos = gw_log_addf(line, pos, cap,
                             "\",\"status\":%d,\"dur_us\":%lld", status,
                             (long long) dur_us);
    if (user != NULL) {
        pos = gw_log_addf(line, pos, cap, ",\"user\":\"");
        pos = gw_log_escape(line, pos, cap, user);
        line[pos++] = '"';
    }
    if (code != NULL) {
        pos = gw_log_addf(line, pos, cap, ",\"code\":\"%s\"",
                                 code);
    }
    line[pos++] = '}';
    gw_log_write(line, pos, sizeof(line));
}
