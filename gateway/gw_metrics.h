/*
 * gw_metrics.h — Prometheus metrics summed over every process.
 *
 * The counters live in one anonymous shared mapping made by the master
 * before it forks, so each worker and role process adds to the same cells
 * with atomic operations and any worker renders the total — not just its
 * own share. Layout is fixed at init (route count, custom metrics), so
 * metrics must be registered before gw_metrics_init().
 *
 * Conventions (checked by `promtool check metrics` in the tests, and by
 * gw_metrics_register): one prefix, GW_METRICS_PREFIX; base units in the
 * name (_seconds, _bytes); counters end in _total; durations are real
 * histograms (GW_METRIC_HISTOGRAM, observed in microseconds, rendered in
 * seconds), never a pair of _sum/_count counters.
 *
 * The process view (php-fpm's status page as metrics): worker processes
 * active/retiring, threads busy/idle, requests per worker, the accept
 * queue of the listening socket, restarts, recycles, reloads, slow
 * requests, build info. Workers and the master report into it with the
 * gw_metrics_proc_* and gw_metrics_worker_* calls below.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gw_config.h"
#include "gw_util.h"

#define GW_METRICS_PREFIX "vasgw_"

enum gw_metric_type { GW_METRIC_COUNTER, GW_METRIC_GAUGE, GW_METRIC_HISTOGRAM };

/*
 * Registers a custom metric (name without labels) before gw_metrics_init.
 * Returns its index for gw_metrics_add/set/observe_us, or -1 when the
 * table is full or the name breaks the conventions above (the reason is
 * logged).
 */
int gw_metrics_register(const char *name, const char *help,
                        enum gw_metric_type type);

/* Maps the shared block for nroutes routes. 0 or -1. Call once, pre-fork. */
int gw_metrics_init(size_t nroutes);

/* Counts one request (route -1 = unmatched) with its status and duration. */
void gw_metrics_observe(int route, int status, int64_t dur_us);

/* Custom metrics: add to a counter/gauge, set a gauge, observe into a
 * histogram (a duration in microseconds). */
void gw_metrics_add(int idx, int64_t v);
void gw_metrics_set(int idx, int64_t v);
void gw_metrics_observe_us(int idx, int64_t us);

/* Renders the Prometheus text exposition into out. 0 or -1. */
int gw_metrics_render(struct gw_buf *out);

/* --- process view ----------------------------------------------------- */

enum gw_metrics_proc_counter {
    GW_PROC_RESTARTS, /* children that died and were restarted */
    GW_PROC_RECYCLES, /* workers retired after server.max_requests */
    GW_PROC_RELOADS,  /* SIGHUP reloads applied */
    GW_PROC_SLOW,     /* requests over server.slow_request_ms */
    GW_PROC_NCOUNTERS
};

void gw_metrics_proc_add(enum gw_metrics_proc_counter which, int64_t v);

/* Master: the settings the view shows (backlog, listening socket, slow
 * threshold) — at start and after each reload. */
void gw_metrics_proc_config(const struct gw_config *cfg, int listen_fd);

/* Master, each loop turn: the current generation. */
void gw_metrics_proc_master(int generation);

/* Worker at start: takes a row of the view; -1 when none is free. */
int gw_metrics_worker_claim(pid_t pid, int threads, int generation);

/* Worker: a request starts (+1) or ends (-1) on one of its threads. */
void gw_metrics_worker_busy(int row, int delta);

/* Worker: it stopped accepting and waits for nginx (retiring). */
void gw_metrics_worker_retiring(int row);

/* Master, when it reaps a worker: frees the worker's row. */
void gw_metrics_worker_gone(pid_t pid);

/* The slow-request threshold in microseconds (0: off). */
int64_t gw_metrics_slow_us(void);

#endif /* GW_METRICS_H */
