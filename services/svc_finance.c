/*
 * svc_finance.c — admin finance endpoints: parse, call finance/, render.
 *
 * GET /v1/admin/cdrs streams: the range is checked and the ended days are
 * closed while the handler can still answer a problem; then the CSV is
 * written batch by batch by gw_reply_stream's callback.
 */
#include <string.h>

#include "fin.h"
#include "gw_json.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "svc_finance.h"

struct svc_cdr_stream {
    int64_t from, to;
};

static int
svc_fin_range(struct gw_request *r, int64_t *from, int64_t *to)
{
    const char *why = NULL;

    if (fin_range_parse(gw_request_arg(r, "from"), gw_request_arg(r, "to"),
                        from, to, &why)
        != GW_OK) {
        gw_request_problem(r, "%s", why);
        return GW_EINVAL;
    }
    return GW_OK;
}

/* limit: 1..FIN_PAGE_MAX, default FIN_PAGE_DEFAULT. */
static int
svc_fin_limit(struct gw_request *r, int *limit)
{
    const char *s = gw_request_arg(r, "limit");
    int64_t     v = FIN_PAGE_DEFAULT;

    if (s != NULL
        && (gw_parse_i64(s, strlen(s), &v) != 0 || v < 1 || v > FIN_PAGE_MAX)) {
        gw_request_problem(r, "limit must be 1..%d", FIN_PAGE_MAX);
        return GW_EINVAL;
    }
    *limit = (int) v;
    return GW_OK;
}

static int
svc_fin_sink(void *ctx, const void *p, size_t n)
{
    return gw_reply_write(ctx, p, n) == GW_OK ? 0 : -1;
}

static int
svc_cdr_stream_run(struct gw_request *r, void *ctx)
{
    struct svc_cdr_stream  *s = ctx;
    struct fin_export_stats st;

    return fin_cdr_export(&r->thr->db, r->arena, r->cfg, s->from, s->to,
                          svc_fin_sink, r, &st);
}

int
svc_admin_cdrs(struct gw_request *r)
{
    struct svc_cdr_stream *s = gw_arena_alloc(r->arena, sizeof(*s));
    char                   f[11], t[11];
    int                    rc;

    if (s == NULL) {
        return GW_ERROR;
    }
    rc = svc_fin_range(r, &s->from, &s->to);
    if (rc != GW_OK) {
        return rc;
    }
    rc = fin_days_close(&r->thr->db, r->arena, r->cfg, s->from, s->to,
                        r->caller);
    if (rc != GW_OK) {
        return rc;
    }
    fin_day_format(s->from, f);
    fin_day_format(s->to, t);
    gw_reply_header(r, "Content-Disposition",
                    gw_arena_printf(r->arena,
                                    "attachment; filename=\"cdrs-%s-%s.csv\"",
                                    f, t));
    gw_reply_header(r, "Cache-Control", "no-store");
    return gw_reply_stream(r, 200, "text/csv; charset=utf-8",
                           svc_cdr_stream_run, s);
}

static int
svc_fin_reply(struct gw_request *r, int rc, cJSON *body)
{
    if (rc != GW_OK) {
        return rc;
    }
    return gw_reply_json(r, 200, body) == 0 ? GW_OK : GW_ERROR;
}

int
svc_admin_cdr_days(struct gw_request *r)
{
    int64_t from, to;
    cJSON  *body = NULL;
    int     rc = svc_fin_range(r, &from, &to);

    if (rc == GW_OK) {
        rc = fin_report_days(&r->thr->db, r->arena, r->cfg, from, to, &body);
    }
    return svc_fin_reply(r, rc, body);
}

int
svc_admin_report_revenue(struct gw_request *r)
{
    int64_t from, to;
    cJSON  *body = NULL;
    int     rc = svc_fin_range(r, &from, &to);

    if (rc == GW_OK) {
        rc = fin_report_revenue(&r->thr->db, r->arena, r->cfg, from, to, &body);
    }
    return svc_fin_reply(r, rc, body);
}

int
svc_admin_report_top_items(struct gw_request *r)
{
    int64_t from, to;
    cJSON  *body = NULL;
    int     limit = 0;
    int     rc = svc_fin_range(r, &from, &to);

    if (rc == GW_OK) {
        rc = svc_fin_limit(r, &limit);
    }
    if (rc == GW_OK) {
        rc = fin_report_top_items(&r->thr->db, r->arena, r->cfg, from, to,
                                  limit, &body);
    }
    return svc_fin_reply(r, rc, body);
}
