/*
 * gw_metrics.h — Prometheus metrics summed over every process.
 *
 * The counters live in one anonymous shared mapping made by the master
 * before it forks, so each worker and role process adds to the same cells
 * with atomic operations and any worker renders the total — not just its
 * own share. Layout is fixed at init (route count, custom metrics), so
 * metrics must be registered before gw_metrics_init().
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "gw_util.h"

enum gw_metric_type { GW_METRIC_COUNTER, GW_METRIC_GAUGE };

/*
 * Registers a custom metric (name without labels) before gw_metrics_init.
 * Returns its index for gw_metrics_add/set, or -1 when the table is full.
 */
int gw_metrics_register(const char *name, const char *help,
                        enum gw_metric_type type);

/* Maps the shared block for nroutes routes. 0 or -1. Call once, pre-fork. */
int gw_metrics_init(size_t nroutes);

/* Counts one request (route -1 = unmatched) with its status and duration. */
void gw_metrics_observe(int route, int status, int64_t dur_us);

/* Custom metrics: add to a counter/gauge, or set a gauge. */
void gw_metrics_add(int idx, int64_t v);
void gw_metrics_set(int idx, int64_t v);

/* Renders the Prometheus text exposition into out. 0 or -1. */
int gw_metrics_render(struct gw_buf *out);

#endif /* GW_METRICS_H */
