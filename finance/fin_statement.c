/*
 * fin_statement.c — a content provider's monthly statement, from postings.
 *
 * The month is the carrier's (business time, UTC + day_offset_min), and a
 * movement counts in the month its ledger transaction was booked, so a
 * refund of last month's purchase lowers this month. Per transaction the
 * postings give: the subscriber's leg (gross for a charge or capture, the
 * refund for a refund), the provider's and the carrier's legs (their
 * shares). Double entry makes net = provider + carrier exactly; a
 * statement where it does not hold is refused (the ledger is broken).
 */
#include <string.h>

#include "fin.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"

/* One row per item of the provider's movements of [from, to) (UTC). */
#define FIN_STATEMENT_SQL                                                      \
    "SELECT COALESCE(c.item_id, 0), COALESCE(c.sku, ''),"                      \
    " SUM(x.kind <> 'refund'), SUM(IF(x.kind <> 'refund', -x.sub, 0)),"        \
    " SUM(IF(x.kind = 'refund', x.sub, 0)), SUM(x.prov), SUM(x.carr) FROM"     \
    " (SELECT t.id, t.kind, SUM(IF(a.kind = 'subscriber', p.amount, 0)) sub,"  \
    " SUM(IF(a.kind = 'provider', p.amount, 0)) prov, SUM(IF(a.kind ="         \
    " 'carrier', p.amount, 0)) carr FROM ledger_txns t JOIN postings p ON"     \
    " p.txn_id = t.id JOIN accounts a ON a.id = p.account_id WHERE"            \
    " t.provider_id = %lld AND t.created_at >= %s AND t.created_at < %s AND"   \
    " t.kind IN ('charge', 'capture', 'refund') GROUP BY t.id, t.kind) x"      \
    " LEFT JOIN cdrs c ON c.txn_id = x.id GROUP BY COALESCE(c.item_id, 0),"    \
    " COALESCE(c.sku, '') ORDER BY 1, 2"

static const char *const fin_statement_cols[] = {
    "provider_id",    "month",         "item_id",  "sku",
    "charges",        "gross",         "refunds",  "net",
    "provider_share", "carrier_share", "currency",
};
#define FIN_STATEMENT_NCOLS                                                    \
    (sizeof(fin_statement_cols) / sizeof(fin_statement_cols[0]))

/* The UTC instant business month (y, m) starts, as "YYYY-MM-DD HH:MM:SS". */
static void
fin_month_start_utc(const struct gw_config *cfg, int y, int m, char out[32])
{
    char    d[16];
    int64_t day, t;

    snprintf(d, sizeof(d), "%04d-%02d-01", y, m);
    if (fin_day_parse(d, &day) != GW_OK) {
        day = 0;
    }
    t = day * 86400 - cfg->billing.day_offset_min * 60;
    gw_time_rfc3339(t, out, 32);
    out[10] = ' ';
    out[19] = '\0';
}

static int
fin_statement_row(struct gw_buf *b, const char *const *v)
{
    size_t i;
    int    rc = GW_OK;

    for (i = 0; i < FIN_STATEMENT_NCOLS && rc == GW_OK; i++) {
        /* text: month, sku, currency (the rest are integers of ours) */
        int text = i == 1 || i == 3 || i == 10;
        rc = fin_csv_cell(b, v[i], text, i + 1 == FIN_STATEMENT_NCOLS);
    }
    return rc;
}

static void
fin_statement_add(struct fin_statement_totals *t, MYSQL_ROW row)
{
    t->charges += gw_db_col_i64(row, 2);
    t->gross += gw_db_col_i64(row, 3);
    t->refunds += gw_db_col_i64(row, 4);
    t->net += gw_db_col_i64(row, 3) - gw_db_col_i64(row, 4);
    t->provider_share += gw_db_col_i64(row, 5);
    t->carrier_share += gw_db_col_i64(row, 6);
}

int
fin_statement_run(struct gw_db *db, struct gw_arena *a,
                  const struct gw_config *cfg, int64_t provider_id, int year,
                  int month, fin_sink_fn sink, void *ctx,
                  struct fin_statement_totals *tot)
{
    struct gw_buf b = {0};
    MYSQL_RES    *res;
    MYSQL_ROW     row;
    char          from[32], to[32], mon[8], pid[24], n[6][24];
    const char   *v[FIN_STATEMENT_NCOLS];
    int           rc, i;

    memset(tot, 0, sizeof(*tot));
    fin_month_start_utc(cfg, year, month, from);
    fin_month_start_utc(cfg, month == 12 ? year + 1 : year,
                        month == 12 ? 1 : month + 1, to);
    snprintf(mon, sizeof(mon), "%04d-%02d", year, month);
    snprintf(pid, sizeof(pid), "%lld", (long long) provider_id);
    rc = gw_db_query(db, a, &res, FIN_STATEMENT_SQL, (long long) provider_id,
                     from, to);
    if (rc != GW_OK) {
        return rc;
    }
    for (i = 0; i < 6; i++) {
        v[4 + i] = n[i];
    }
    v[0] = pid, v[1] = mon, v[10] = cfg->billing.currency;
    rc = fin_statement_row(&b, fin_statement_cols);
    while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
        struct fin_statement_totals one = {0};
        fin_statement_add(&one, row);
        fin_statement_add(tot, row);
        v[2] = row[0], v[3] = row[1];
        snprintf(n[0], 24, "%lld", (long long) one.charges);
        snprintf(n[1], 24, "%lld", (long long) one.gross);
        snprintf(n[2], 24, "%lld", (long long) one.refunds);
        snprintf(n[3], 24, "%lld", (long long) one.net);
        snprintf(n[4], 24, "%lld", (long long) one.provider_share);
        snprintf(n[5], 24, "%lld", (long long) one.carrier_share);
        rc = fin_statement_row(&b, v);
    }
    if (rc == GW_OK && tot->net != tot->provider_share + tot->carrier_share) {
        gw_log_error(db->rid, "provider %lld %s: net %lld <> shares %lld",
                     (long long) provider_id, mon, (long long) tot->net,
                     (long long) (tot->provider_share + tot->carrier_share));
        rc = GW_ERROR;
    }
    if (rc == GW_OK) {
        v[2] = "", v[3] = "TOTAL";
        snprintf(n[0], 24, "%lld", (long long) tot->charges);
        snprintf(n[1], 24, "%lld", (long long) tot->gross);
        snprintf(n[2], 24, "%lld", (long long) tot->refunds);
        snprintf(n[3], 24, "%lld", (long long) tot->net);
        snprintf(n[4], 24, "%lld", (long long) tot->provider_share);
        snprintf(n[5], 24, "%lld", (long long) tot->carrier_share);
        rc = fin_statement_row(&b, v);
    }
    if (rc == GW_OK && sink(ctx, b.data, b.len) != 0) {
        rc = GW_ERROR;
    }
    gw_buf_free(&b);
    return rc;
}
