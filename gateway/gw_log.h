/*
 * gw_log.h — JSON log lines, one per event, to one file descriptor.
 *
 * Each line is written with a single write(2) on an O_APPEND descriptor, so
 * lines from all threads and worker processes do not interleave. Log the
 * cause of an error once, where it is known, with the request id
 * (gw_log_error's rid) and __func__.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdint.h>

enum gw_log_level { GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR };

/* Opens path ("-" or NULL = stderr). 0 or -1. Safe to call again (reopen). */
int gw_log_open(const char *path);

/*
 * Reopens the file of the last gw_log_open (logrotate's postrotate sends
 * SIGUSR1): the new file takes the same descriptor number (dup2), so a
 * thread writing meanwhile writes whole lines to the old or the new file,
 * never to a closed or reused descriptor. Async-signal-safe. 0 or -1.
 */
int gw_log_reopen(void);

/* Installs a handler that calls gw_log_reopen() on sig (role processes). */
void gw_log_reopen_on_signal(int sig);

/* Sets the "role" field ("master", "worker", "relay", "vasctl"…). */
void gw_log_role(const char *role);

/* Minimum level written (default INFO; VASGW_LOG_DEBUG=1 enables debug). */
void gw_log_level_set(enum gw_log_level level);

/* A free-form event: {"ts","level","role","pid","func","rid","msg"}. */
void gw_log(enum gw_log_level level, const char *func, const char *rid,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define gw_log_error(rid, ...) gw_log(GW_LOG_ERROR, __func__, rid, __VA_ARGS__)
#define gw_log_warn(rid, ...)  gw_log(GW_LOG_WARN, __func__, rid, __VA_ARGS__)
#define gw_log_info(rid, ...)  gw_log(GW_LOG_INFO, __func__, rid, __VA_ARGS__)
#define gw_log_debug(rid, ...) gw_log(GW_LOG_DEBUG, __func__, rid, __VA_ARGS__)

/*
 * Access-line buffering for serving threads: gw_log_thread_init() at
 * thread start (else lines are written at once), gw_log_thread_flush() when
 * the thread leaves, gw_log_flush_all() from the process's main thread
 * (force = 1 before exit). See gw_log.c.
 */
void gw_log_thread_init(void);
void gw_log_thread_flush(void);
void gw_log_flush_all(int force);

/*
 * The access line of one request (buffered on serving threads). path is
 * what the route allows to be logged (the template for routes whose path
 * carries a credential); runs of 8..15 digits (MSISDNs) in path and in
 * event messages are masked. Strings are escaped, invalid UTF-8 becomes
 * U+FFFD and long values are cut, so every line is valid UTF-8 JSON.
 */
struct gw_log_access_rec {
    const char *rid, *method, *route, *path, *user, *code, *addr, *ua;
    int         status;
    int64_t     dur_us, bytes_in, bytes_out;
};

void gw_log_access(const struct gw_log_access_rec *a);

/*
 * Masks every run of 8..15 digits (an MSISDN) in s in place, keeping the
 * first 3 and last 4 ("8613812345678" → "861******5678").
 */
void gw_log_mask_msisdn(char *s);

#endif /* GW_LOG_H */
