/*
 * fin_report.c — what the web console shows: the export status of each
 * business day, revenue per day and the top items.
 *
 * Closed days are read from their summaries (cdr_days, cdr_day_items,
 * written once by the export that closed them); only days still open are
 * summed from cdrs, each over its own range of ix_cdrs_day. Nothing scans
 * more than the open days' CDRs.
 */
#include <string.h>

#include "fin.h"
#include "gw_json.h"
#include "gw_status.h"

/* One day's figures. */
struct fin_day_sum {
    int     closed, summed;
    int64_t rows, charges, refunds, pshare, cshare;
    char    sha[65], closed_at[32];
};

static int
fin_report_day(struct gw_db *db, int64_t d, struct fin_day_sum *s)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    char       day[11];
    int        rc;

    memset(s, 0, sizeof(*s));
    fin_day_format(d, day);
    rc = gw_db_query(db, NULL, &res,
                     "SELECT rows_total, charges, refunds, provider_share,"
                     " carrier_share, COALESCE(csv_sha256, ''),"
                     " DATE_FORMAT(closed_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ')"
                     " FROM cdr_days WHERE day = %s",
                     day);
    if (rc != GW_OK) {
        return rc;
    }
    if ((row = mysql_fetch_row(res)) != NULL) {
        s->closed = 1;
        s->summed = row[0] != NULL;
        snprintf(s->sha, sizeof(s->sha), "%s", row[5]);
        snprintf(s->closed_at, sizeof(s->closed_at), "%s", row[6]);
    }
    mysql_free_result(res);
    rc = s->summed ? gw_db_query(db, NULL, &res,
                                 "SELECT rows_total, charges, refunds,"
                                 " provider_share, carrier_share FROM"
                                 " cdr_days WHERE day = %s",
                                 day)
                   : gw_db_query(db, NULL, &res,
                                 "SELECT COUNT(*), COALESCE(SUM(GREATEST("
                                 "amount, 0)), 0), COALESCE(SUM(GREATEST("
                                 "-amount, 0)), 0), COALESCE(SUM("
                                 "provider_share), 0), COALESCE(SUM("
                                 "carrier_share), 0) FROM cdrs WHERE"
                                 " business_day = %s",
                                 day);
    if (rc != GW_OK) {
        return rc;
    }
    if ((row = mysql_fetch_row(res)) != NULL) {
        s->rows = gw_db_col_i64(row, 0);
        s->charges = gw_db_col_i64(row, 1);
        s->refunds = gw_db_col_i64(row, 2);
        s->pshare = gw_db_col_i64(row, 3);
        s->cshare = gw_db_col_i64(row, 4);
    }
    mysql_free_result(res);
    return GW_OK;
}

static const char *
fin_report_status(const struct gw_config *cfg, int64_t d,
                  const struct fin_day_sum *s)
{
    if (s->closed) {
        return "final";
    }
    return d < fin_day_today(cfg) ? "open" : "provisional";
}

/* Fills the item of day d from its sums. */
typedef void (*fin_day_item_fn)(cJSON *o, int64_t d,
                                const struct fin_day_sum *s, void *ctx);

/*
 * A report of one item per day of from..to, {"items": [{"day": …}, …]}
 * (arena-owned, into *out): each day's sums read and its item started
 * here, filled by fill.
 */
static int
fin_report_each_day(struct gw_db *db, struct gw_arena *a, int64_t from,
                    int64_t to, cJSON **out, fin_day_item_fn fill, void *ctx)
{
    struct fin_day_sum s;
    cJSON             *items, *o;
    char               day[11];
    int64_t            d;
    int                rc;

    *out = gw_json_own(a, cJSON_CreateObject());
    if ((items = cJSON_AddArrayToObject(*out, "items")) == NULL) {
        return GW_ERROR;
    }
    for (d = from; d <= to; d++) {
        if ((rc = fin_report_day(db, d, &s)) != GW_OK) {
            return rc;
        }
        fin_day_format(d, day);
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(items, o);
        cJSON_AddStringToObject(o, "day", day);
        fill(o, d, &s, ctx);
    }
    return GW_OK;
}

static void
fin_report_days_item(cJSON *o, int64_t d, const struct fin_day_sum *s,
                     void *ctx)
{
    cJSON_AddStringToObject(o, "status", fin_report_status(ctx, d, s));
    cJSON_AddNumberToObject(o, "rows", (double) s->rows);
    cJSON_AddNumberToObject(o, "amount_total",
                            (double) (s->charges - s->refunds));
    if (s->closed) {
        cJSON_AddStringToObject(o, "closed_at", s->closed_at);
    } else {
        cJSON_AddNullToObject(o, "closed_at");
    }
    if (s->sha[0] != '\0') {
        cJSON_AddStringToObject(o, "sha256", s->sha);
    } else {
        cJSON_AddNullToObject(o, "sha256");
    }
}

int
fin_report_days(struct gw_db *db, struct gw_arena *a,
                const struct gw_config *cfg, int64_t from, int64_t to,
                cJSON **out)
{
    return fin_report_each_day(db, a, from, to, out, fin_report_days_item,
                               (void *) cfg);
}

static void
fin_report_money(cJSON *o, const struct gw_config *cfg,
                 const struct fin_day_sum *s)
{
    cJSON_AddNumberToObject(o, "charges", (double) s->charges);
    cJSON_AddNumberToObject(o, "refunds", (double) s->refunds);
    cJSON_AddNumberToObject(o, "net", (double) (s->charges - s->refunds));
    cJSON_AddNumberToObject(o, "provider_share", (double) s->pshare);
    cJSON_AddNumberToObject(o, "carrier_share", (double) s->cshare);
    cJSON_AddStringToObject(o, "currency", cfg->billing.currency);
    cJSON_AddNumberToObject(o, "count", (double) s->rows);
}

struct fin_revenue {
    const struct gw_config *cfg;
    struct fin_day_sum      tot;
};

static void
fin_report_revenue_item(cJSON *o, int64_t d, const struct fin_day_sum *s,
                        void *ctx)
{
    struct fin_revenue *r = ctx;

    (void) d;
    cJSON_AddStringToObject(o, "status", s->closed ? "final" : "provisional");
    fin_report_money(o, r->cfg, s);
    r->tot.rows += s->rows;
    r->tot.charges += s->charges;
    r->tot.refunds += s->refunds;
    r->tot.pshare += s->pshare;
    r->tot.cshare += s->cshare;
}

int
fin_report_revenue(struct gw_db *db, struct gw_arena *a,
                   const struct gw_config *cfg, int64_t from, int64_t to,
                   cJSON **out)
{
    struct fin_revenue r = {.cfg = cfg};
    cJSON             *o;
    int                rc;

    rc = fin_report_each_day(db, a, from, to, out, fin_report_revenue_item, &r);
    if (rc != GW_OK) {
        return rc;
    }
    if ((o = cJSON_AddObjectToObject(*out, "totals")) == NULL) {
        return GW_ERROR;
    }
    fin_report_money(o, cfg, &r.tot);
    return GW_OK;
}

/* The first and last day of from..to without a per-item summary. */
static int
fin_report_open_span(struct gw_db *db, int64_t from, int64_t to, int64_t *first,
                     int64_t *last)
{
    int64_t d;
    int     rc;

    *first = 0;
    *last = -1;
    for (d = from; d <= to; d++) {
        MYSQL_RES *res;
        char       day[11];
        int        summed;

        fin_day_format(d, day);
        rc = gw_db_query(db, NULL, &res,
                         "SELECT 1 FROM cdr_days d WHERE day = %s AND"
                         " (rows_total = 0 OR EXISTS (SELECT 1 FROM"
                         " cdr_day_items i WHERE i.day = d.day))",
                         day);
        if (rc != GW_OK) {
            return rc;
        }
        summed = mysql_fetch_row(res) != NULL;
        mysql_free_result(res);
        if (!summed) {
            if (*last < *first) {
                *first = d;
            }
            *last = d;
        }
    }
    return GW_OK;
}

int
fin_report_top_items(struct gw_db *db, struct gw_arena *a,
                     const struct gw_config *cfg, int64_t from, int64_t to,
                     int limit, cJSON **out)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    cJSON     *items, *o;
    char       f[11], t[11], of[11], ot[11];
    int64_t    first, last;
    int        rc;

    rc = fin_report_open_span(db, from, to, &first, &last);
    if (rc != GW_OK) {
        return rc;
    }
    fin_day_format(from, f);
    fin_day_format(to, t);
    fin_day_format(last >= first ? first : 0, of);
    fin_day_format(last >= first ? last : -1, ot);
    /* Closed days from their per-item summary; the open span from cdrs
     * (its summarised days excluded). */
    rc = gw_db_query(
        db, a, &res,
        "SELECT x.item_id, COALESCE(i.sku, ''), COALESCE(i.title, ''),"
        " SUM(x.n), SUM(x.ch), SUM(x.rf), SUM(x.ch) - SUM(x.rf) AS net,"
        " SUM(x.ps), SUM(x.cs) FROM (SELECT item_id, rows_total n, charges"
        " ch, refunds rf, provider_share ps, carrier_share cs FROM"
        " cdr_day_items WHERE day BETWEEN %s AND %s UNION ALL SELECT"
        " COALESCE(item_id, 0), COUNT(*), SUM(GREATEST(amount, 0)),"
        " SUM(GREATEST(-amount, 0)), SUM(provider_share), SUM(carrier_share)"
        " FROM cdrs WHERE business_day BETWEEN %s AND %s AND business_day"
        " NOT IN (SELECT day FROM cdr_day_items)"
        " GROUP BY COALESCE(item_id, 0)) x LEFT JOIN items i ON i.id ="
        " x.item_id GROUP BY x.item_id ORDER BY net DESC, x.item_id LIMIT %d",
        f, t, of, ot, limit);
    if (rc != GW_OK) {
        return rc;
    }
    *out = gw_json_own(a, cJSON_CreateObject());
    items = cJSON_AddArrayToObject(*out, "items");
    if (items == NULL) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(items, o);
        cJSON_AddNumberToObject(o, "item_id", (double) gw_db_col_i64(row, 0));
        cJSON_AddStringToObject(o, "sku", row[1]);
        cJSON_AddStringToObject(o, "title", row[2]);
        cJSON_AddNumberToObject(o, "count", (double) gw_db_col_i64(row, 3));
        cJSON_AddNumberToObject(o, "charges", (double) gw_db_col_i64(row, 4));
        cJSON_AddNumberToObject(o, "refunds", (double) gw_db_col_i64(row, 5));
        cJSON_AddNumberToObject(o, "net", (double) gw_db_col_i64(row, 6));
        cJSON_AddNumberToObject(o, "provider_share",
                                (double) gw_db_col_i64(row, 7));
        cJSON_AddNumberToObject(o, "carrier_share",
                                (double) gw_db_col_i64(row, 8));
        cJSON_AddStringToObject(o, "currency", cfg->billing.currency);
    }
    return GW_OK;
}
