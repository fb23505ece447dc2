/*
 * svc_finance.c — admin finance endpoints: parse, call finance/, render.
 *
 * GET /v1/admin/cdrs streams: the range is checked and the ended days are
 * closed while the handler can still answer a problem; then the CSV is
 * written batch by batch by gw_reply_stream's callback. A HEAD checks the
 * range and answers the same headers, closing nothing.
 */
#include <string.h>

#include "bill.h"
#include "fin.h"
#include "gw_limits.h"
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
    int                    rc, head;

    if (s == NULL) {
        return GW_ERROR;
    }
    rc = svc_fin_range(r, &s->from, &s->to);
    if (rc != GW_OK) {
        return rc;
    }
    /* A HEAD must be safe (RFC 9110 §9.2.1): a link checker or a proxy
     * gets the GET's status and headers, but no day is closed and no
     * export runs (its first run of a closed day records the totals). */
    head = strcmp(r->method, "HEAD") == 0;
    if (!head) {
        rc = fin_days_close(&r->thr->db, r->arena, r->cfg, s->from, s->to,
                            r->caller);
        if (rc != GW_OK) {
            return rc;
        }
    }
    fin_day_format(s->from, f);
    fin_day_format(s->to, t);
    gw_reply_header(r, "Content-Disposition",
                    gw_arena_printf(r->arena,
                                    "attachment; filename=\"cdrs-%s-%s.csv\"",
                                    f, t));
    gw_reply_header(r, "Cache-Control", "no-store");
    if (head) {
        return gw_reply_raw(r, 200, "text/csv; charset=utf-8", NULL, 0);
    }
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

/* ---- cursors: opaque, base64url of "fin:<tag>:<id>" ---- */

static int
svc_fin_cursor_get(struct gw_request *r, const char *tag, int64_t *id)
{
    const char   *c = gw_request_arg(r, "cursor");
    unsigned char raw[64];
    char          want[16];
    long          n;
    size_t        tl;

    *id = 0;
    if (c == NULL) {
        return GW_OK;
    }
    tl = (size_t) snprintf(want, sizeof(want), "fin:%s:", tag);
    n = strlen(c) <= 80 ? gw_b64url_decode(c, strlen(c), raw, sizeof(raw) - 1)
                        : -1;
    if (n <= (long) tl || memcmp(raw, want, tl) != 0
        || gw_parse_i64((char *) raw + tl, (size_t) n - tl, id) != 0
        || *id < 1) {
        gw_request_problem(r, "cursor is not one this list gave out");
        return GW_EINVAL;
    }
    return GW_OK;
}

static int
svc_fin_page(struct gw_request *r, const char *tag, cJSON *items, int64_t next)
{
    cJSON *page = gw_json_own(r->arena, cJSON_CreateObject());
    char   raw[48], enc[GW_B64URL_LEN(48) + 1];
    int    n;

    if (page == NULL) {
        return GW_ERROR;
    }
    cJSON_AddItemReferenceToObject(page, "items", items);
    if (next > 0) {
        n = snprintf(raw, sizeof(raw), "fin:%s:%lld", tag, (long long) next);
        gw_b64url_encode((const unsigned char *) raw, (size_t) n, enc);
        cJSON_AddStringToObject(page, "next_cursor", enc);
    } else {
        cJSON_AddNullToObject(page, "next_cursor");
    }
    return gw_reply_json(r, 200, page) == 0 ? GW_OK : GW_ERROR;
}

/* A positive integer path parameter, else 404 (as item ids). */
static int
svc_fin_path_id(struct gw_request *r, int64_t *id)
{
    const char *s = gw_request_route_param(r, 0);

    if (s == NULL || gw_parse_i64(s, strlen(s), id) != 0 || *id < 1) {
        gw_request_problem(r, "no such id");
        return GW_ENOTFOUND;
    }
    return GW_OK;
}

int
svc_admin_reconciliations(struct gw_request *r)
{
    cJSON  *items = NULL;
    int64_t before, next = 0;
    int     limit = 0;
    int     rc = svc_fin_limit(r, &limit);

    if (rc == GW_OK) {
        rc = svc_fin_cursor_get(r, "rr", &before);
    }
    if (rc == GW_OK) {
        rc =
            fin_recon_list(&r->thr->db, r->arena, before, limit, &items, &next);
    }
    return rc == GW_OK ? svc_fin_page(r, "rr", items, next) : rc;
}

int
svc_admin_reconciliation(struct gw_request *r)
{
    cJSON  *body = NULL;
    int64_t id;
    int     rc = svc_fin_path_id(r, &id);

    if (rc == GW_OK) {
        rc = fin_recon_get(&r->thr->db, r->arena, id, &body);
        if (rc == GW_ENOTFOUND) {
            gw_request_problem(r, "no such reconciliation run");
        }
    }
    return svc_fin_reply(r, rc, body);
}

int
svc_admin_subscribers_search(struct gw_request *r)
{
    const char *q = gw_request_arg(r, "q");
    cJSON      *items = NULL;
    int64_t     after, next = 0;
    int         limit = 0;
    int         rc = svc_fin_limit(r, &limit);

    if (rc == GW_OK && q != NULL
        && (strlen(q) > FIN_QUERY_MAX || !fin_utf8_valid(q, strlen(q)))) {
        gw_request_problem(r, "q must be UTF-8 text of at most %d bytes",
                           FIN_QUERY_MAX);
        rc = GW_EINVAL;
    }
    if (rc == GW_OK) {
        rc = svc_fin_cursor_get(r, "sub", &after);
    }
    if (rc == GW_OK) {
        rc = fin_subscribers_search(&r->thr->db, r->arena, q, after, limit,
                                    &items, &next);
    }
    return rc == GW_OK ? svc_fin_page(r, "sub", items, next) : rc;
}

int
svc_admin_subscriber_purchases(struct gw_request *r)
{
    const char *msisdn = gw_request_route_param(r, 0);
    cJSON      *items = NULL;
    int64_t     before, next = 0;
    int         limit = 0;
    int         rc = svc_fin_limit(r, &limit);

    if (rc == GW_OK && (msisdn == NULL || !bill_msisdn_valid(msisdn))) {
        gw_request_problem(r,
                           "MSISDN must be 8 to 15 digits, country code"
                           " included, without '+'");
        rc = GW_EINVAL;
    }
    if (rc == GW_OK) {
        rc = svc_fin_cursor_get(r, "pur", &before);
    }
    if (rc == GW_OK) {
        rc = fin_subscriber_purchases(&r->thr->db, r->arena, msisdn, before,
                                      limit, &items, &next);
        if (rc == GW_ENOTFOUND) {
            gw_request_problem(r, "no such subscriber");
        }
    }
    return rc == GW_OK ? svc_fin_page(r, "pur", items, next) : rc;
}

int
svc_admin_keys(struct gw_request *r)
{
    cJSON *items = NULL, *body;
    int    rc = fin_admin_keys_list(&r->thr->db, r->arena, &items);

    if (rc != GW_OK) {
        return rc;
    }
    body = gw_json_own(r->arena, cJSON_CreateObject());
    if (body == NULL) {
        return GW_ERROR;
    }
    cJSON_AddItemReferenceToObject(body, "items", items);
    cJSON_AddNumberToObject(body, "revocation_delay_ms", GW_ADMIN_KEY_CACHE_MS);
    return svc_fin_reply(r, GW_OK, body);
}

int
svc_admin_key_revoke(struct gw_request *r)
{
    cJSON  *body;
    int64_t id;
    int     rc = svc_fin_path_id(r, &id), last = 0;

    if (rc == GW_OK) {
        rc = fin_admin_key_revoke(&r->thr->db, id, 1, &last);
    }
    if (rc == GW_ENOTFOUND) {
        gw_request_problem(r, "no such admin key");
    } else if (rc == GW_ECONFLICT && last) {
        gw_request_problem(r,
                           "this is the only active admin key: create"
                           " another (vasctl admin-key create) first");
    } else if (rc == GW_ECONFLICT) {
        gw_request_problem(r, "this admin key is already revoked");
    }
    if (rc != GW_OK) {
        return rc;
    }
    body = gw_json_own(r->arena, cJSON_CreateObject());
    if (body == NULL) {
        return GW_ERROR;
    }
    cJSON_AddNumberToObject(body, "id", (double) id);
    cJSON_AddStringToObject(body, "status", "revoked");
    cJSON_AddNumberToObject(body, "effective_within_ms", GW_ADMIN_KEY_CACHE_MS);
    return svc_fin_reply(r, GW_OK, body);
}
