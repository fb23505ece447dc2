/*
 * gw_slowlog.h — the slow-request log (php-fpm's slowlog): each request
 * that took server.slow_request_ms or longer is counted in the metrics
 * (vasgw_slow_requests_total) and, when server.slowlog_file is set,
 * written there as one JSON line. Lines go out with one write(2) on an
 * O_APPEND descriptor, so processes and threads do not interleave them.
 * Thread-safe after gw_slowlog_open().
 */
#ifndef GW_SLOWLOG_H
#define GW_SLOWLOG_H

#include <stdint.h>

/* Opens path ("" = count only). Master, before fork; again on reload. 0/-1 */
int gw_slowlog_open(const char *path);

/* Reopens the file at the same descriptor (SIGUSR1). Async-signal-safe. */
int gw_slowlog_reopen(void);

/* A finished request: counted and logged when it was slow. */
void gw_slowlog_note(const char *rid, const char *method, const char *route,
                     const char *path, int status, int64_t dur_us);

#endif /* GW_SLOWLOG_H */
