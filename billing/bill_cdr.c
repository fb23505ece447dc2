/*
 * bill_cdr.c — CDR export as CSV (libcsv quotes the fields), the format
 * shared by `vasctl cdr export` and GET /v1/admin/cdrs.
 *
 * Days are the carrier's business days (billing.day_offset_min). A day
 * that has not ended yet is exported with status "provisional": its rows
 * may still grow, so finance must not close it.
 */
#include <csv.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bill.h"
#include "gw_status.h"
#include "gw_util.h"

static const char *bill_cdr_columns[] = {
    "cdr_id",    "kind",       "business_day",   "status",        "created_at",
    "msisdn",    "im_user_id", "item_id",        "sku",           "provider_id",
    "amount",    "currency",   "provider_share", "carrier_share", "txn_id",
    "reference",
};
#define BILL_CDR_NCOLS (sizeof(bill_cdr_columns) / sizeof(char *))

static int
bill_cdr_field(struct gw_buf *out, const char *v, int last)
{
    char   quoted[2 * 256 + 3];
    size_t n;

    if (v == NULL) {
        v = "";
    }
    if (strlen(v) > 256) {
        return GW_ERROR;
    }
    n = csv_write(quoted, sizeof(quoted), v, strlen(v));
    if (gw_buf_append(out, quoted, n) != 0
        || gw_buf_append(out, last ? "\r\n" : ",", last ? 2 : 1) != 0) {
        return GW_ERROR;
    }
    return GW_OK;
}

int
bill_cdr_day_valid(const char *s)
{
    int  y, m, d;
    char tail;

    return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3
        && y >= 2000 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

int
bill_cdr_days(const char *from, const char *to)
{
    struct tm a = {0}, b = {0};

    if (sscanf(from, "%4d-%2d-%2d", &a.tm_year, &a.tm_mon, &a.tm_mday) != 3
        || sscanf(to, "%4d-%2d-%2d", &b.tm_year, &b.tm_mon, &b.tm_mday) != 3) {
        return -1;
    }
    a.tm_year -= 1900;
    b.tm_year -= 1900;
    a.tm_mon--;
    b.tm_mon--;
    return (int) ((timegm(&b) - timegm(&a)) / 86400) + 1;
}

int
bill_cdr_export(struct gw_db *db, struct gw_arena *a,
                const struct gw_config *cfg, const char *from, const char *to,
                struct gw_buf *out)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    char       today[16];
    size_t     i;
    int        day, month, rc;

    bill_day_keys(cfg, gw_now_s(), &day, &month);
    snprintf(today, sizeof(today), "%04d-%02d-%02d", (day / 10000) % 10000,
             (day / 100) % 100, day % 100);
    for (i = 0; i < BILL_CDR_NCOLS; i++) {
        if (bill_cdr_field(out, bill_cdr_columns[i], i + 1 == BILL_CDR_NCOLS)
            != GW_OK) {
            return GW_ERROR;
        }
    }
    rc = gw_db_query(db, a, &res,
                     "SELECT cdr_id, kind, DATE_FORMAT(business_day,"
                     " '%%Y-%%m-%%d'), IF(business_day >= %s, 'provisional',"
                     " 'final'), DATE_FORMAT(created_at,"
                     " '%%Y-%%m-%%dT%%H:%%i:%%sZ'), msisdn, im_user_id,"
                     " item_id, sku, provider_id, amount, currency,"
                     " provider_share, carrier_share, txn_id, reference"
                     " FROM cdrs WHERE business_day BETWEEN %s AND %s"
                     " ORDER BY business_day, id",
                     today, from, to);
    if (rc != GW_OK) {
        return rc;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        for (i = 0; i < BILL_CDR_NCOLS; i++) {
            if (bill_cdr_field(out, row[i], i + 1 == BILL_CDR_NCOLS) != GW_OK) {
                return GW_ERROR;
            }
        }
    }
    return GW_OK;
}
