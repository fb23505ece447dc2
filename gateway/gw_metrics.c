/*
 * gw_metrics.c — counters in shared memory, rendered on demand.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "gw_limits.h"
#include "gw_metrics.h"
#include "gw_router.h"

static const int gw_metrics_statuses[] = {
    200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 402, 403,
    404, 405, 409, 410, 413, 422, 429, 500, 502, 503, 504, 0 /* other */
};
#define GW_NSTATUS (sizeof(gw_metrics_statuses) / sizeof(int))

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const int64_t gw_metrics_buckets_us[] = {
    250,   500,    1000,   2500,   5000,    10000,  25000,
    50000, 100000, 250000, 500000, 1000000, 2500000};
#define GW_NBUCKETS (sizeof(gw_metrics_buckets_us) / sizeof(int64_t))

struct gw_metrics_route {
    int64_t status[GW_NSTATUS];
    int64_t bucket[GW_NBUCKETS + 1];
    int64_t sum_us;
    int64_t count;
};

struct gw_metrics_custom {
    const char         *name;
    const char         *help;
    enum gw_metric_type type;
};

static struct gw_metrics_custom gw_custom[GW_METRICS_CUSTOM_MAX];
static int                      gw_ncustom;

static struct gw_metrics_route *gw_routes_shm; /* nroutes + 1 (unmatched) */
static int64_t                 *gw_custom_shm;
static size_t                   gw_metrics_nroutes;

int
gw_metrics_register(const char *name, const char *help,
                    enum gw_metric_type type)
{
    int i;

    for (i = 0; i < gw_ncustom; i++) {
        if (strcmp(gw_custom[i].name, name) == 0) {
            return i;
        }
    }
    if (gw_ncustom == GW_METRICS_CUSTOM_MAX || gw_routes_shm != NULL) {
        return -1;
    }
    gw_custom[gw_ncustom].name = name;
    gw_custom[gw_ncustom].help = help;
    gw_custom[gw_ncustom].type = type;
    return gw_ncustom++;
}

int
gw_metrics_init(size_t nroutes)
{
    size_t size;
    void  *p;

    size = (nroutes + 1) * sizeof(struct gw_metrics_route)
        + GW_METRICS_CUSTOM_MAX * sizeof(int64_t);
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
             0);
    if (p == MAP_FAILED) {
        return -1;
    }
    gw_routes_shm = p;
    gw_custom_shm = (int64_t *) (gw_routes_shm + nroutes + 1);
    gw_metrics_nroutes = nroutes;
    return 0;
}

static void
gw_metrics_inc(int64_t *cell, int64_t v)
{
    __atomic_fetch_add(cell, v, __ATOMIC_RELAXED);
}

void
gw_metrics_observe(int route, int status, int64_t dur_us)
{
    struct gw_metrics_route *m;
    size_t                   i;

    if (gw_routes_shm == NULL) {
        return;
    }
    m = &gw_routes_shm[route < 0 ? gw_metrics_nroutes : (size_t) route];
    for (i = 0; i < GW_NSTATUS - 1; i++) {
        if (gw_metrics_statuses[i] == status) {
            break;
        }
    }
    gw_metrics_inc(&m->status[i], 1);
    for (i = 0; i < GW_NBUCKETS; i++) {
        if (dur_us <= gw_metrics_buckets_us[i]) {
            break;
        }
    }
    gw_metrics_inc(&m->bucket[i], 1);
    gw_metrics_inc(&m->sum_us, dur_us);
    gw_metrics_inc(&m->count, 1);
}

void
gw_metrics_add(int idx, int64_t v)
{
    if (gw_custom_shm != NULL && idx >= 0 && idx < gw_ncustom) {
        gw_metrics_inc(&gw_custom_shm[idx], v);
    }
}

void
gw_metrics_set(int idx, int64_t v)
{
    if (gw_custom_shm != NULL && idx >= 0 && idx < gw_ncustom) {
        __atomic_store_n(&gw_custom_shm[idx], v, __ATOMIC_RELAXED);
    }
}

static int64_t
gw_metrics_load(const int64_t *cell)
{
    return __atomic_load_n(cell, __ATOMIC_RELAXED);
}

static void
gw_metrics_route_label(size_t i, char *out, size_t cap)
{
    const struct gw_route *rt = gw_router_get(i);

    if (rt == NULL) {
        snprintf(out, cap, "route=\"unmatched\"");
    } else {
        snprintf(out, cap, "method=\"%s\",route=\"%s\"", rt->method,
                 rt->pattern);
    }
}

static void
gw_metrics_render_counts(struct gw_buf *out, size_t i)
{
    const struct gw_metrics_route *m = &gw_routes_shm[i];
    char                           label[GW_PATH_BYTES_MAX];
    int64_t                        v;
    size_t                         s;

    gw_metrics_route_label(i, label, sizeof(label));
    for (s = 0; s < GW_NSTATUS; s++) {
        v = gw_metrics_load(&m->status[s]);
        if (v == 0) {
            continue;
        }
        if (gw_metrics_statuses[s] != 0) {
            gw_buf_printf(out,
                          "vasgw_http_requests_total{%s,status=\"%d\"}"
                          " %lld\n",
                          label, gw_metrics_statuses[s], (long long) v);
        } else {
            gw_buf_printf(out,
                          "vasgw_http_requests_total{%s,"
                          "status=\"other\"} %lld\n",
                          label, (long long) v);
        }
    }
}

static void
gw_metrics_render_hist(struct gw_buf *out, size_t i)
{
    const struct gw_metrics_route *m = &gw_routes_shm[i];
    char                           label[GW_PATH_BYTES_MAX];
    int64_t                        cum = 0;
    size_t                         s;

    if (gw_metrics_load(&m->count) == 0) {
        return;
    }
    gw_metrics_route_label(i, label, sizeof(label));
    for (s = 0; s <= GW_NBUCKETS; s++) {
        cum += gw_metrics_load(&m->bucket[s]);
        if (s < GW_NBUCKETS) {
            gw_buf_printf(out,
                          "vasgw_http_request_duration_seconds_bucket{%s,"
                          "le=\"%g\"} %lld\n",
                          label, (double) gw_metrics_buckets_us[s] / 1e6,
                          (long long) cum);
        } else {
            gw_buf_printf(out,
                          "vasgw_http_request_duration_seconds_bucket{%s,"
                          "le=\"+Inf\"} %lld\n",
                          label, (long long) cum);
        }
    }
    gw_buf_printf(out, "vasgw_http_request_duration_seconds_sum{%s} %.6f\n",
                  label, (double) gw_metrics_load(&m->sum_us) / 1e6);
    gw_buf_printf(out, "vasgw_http_request_duration_seconds_count{%s} %lld\n",
                  label, (long long) gw_metrics_load(&m->count));
}

int
gw_metrics_render(struct gw_buf *out)
{
    size_t i;
    int    c;

    if (gw_routes_shm == NULL) {
        return -1;
    }
    gw_buf_appends(out,
                   "# HELP vasgw_http_requests_total HTTP requests by route"
                   " and status, all worker processes.\n"
                   "# TYPE vasgw_http_requests_total counter\n");
    for (i = 0; i <= gw_metrics_nroutes; i++) {
        gw_metrics_render_counts(out, i);
    }
    gw_buf_appends(out,
                   "# HELP vasgw_http_request_duration_seconds Request"
                   " latency in the gateway.\n"
                   "# TYPE vasgw_http_request_duration_seconds histogram\n");
    for (i = 0; i <= gw_metrics_nroutes; i++) {
        gw_metrics_render_hist(out, i);
    }
    for (c = 0; c < gw_ncustom; c++) {
        gw_buf_printf(
            out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", gw_custom[c].name,
            gw_custom[c].help, gw_custom[c].name,
            gw_custom[c].type == GW_METRIC_GAUGE ? "gauge" : "counter",
            gw_custom[c].name, (long long) gw_metrics_load(&gw_custom_shm[c]));
    }
    return out->data == NULL ? -1 : 0;
}
