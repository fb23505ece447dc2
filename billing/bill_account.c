/*
 * bill_account.c — subscribers, their phone accounts, provider accounts.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bill_internal.h"
#include "gw_stmt.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"

int
bill_msisdn_valid(const char *s)
{
    size_t i, n = strlen(s);

    if (n < BILL_MSISDN_MIN || n > BILL_MSISDN_MAX || s[0] == '0') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

void
bill_msisdn_mask(const char *msisdn, char *out, size_t cap)
{
    size_t      n = strlen(msisdn);
    const char *national = msisdn;

    /* Drop the country code for display: China's "86" is the common case;
     * elsewhere keep all digits. Then keep 3 + 4 digits around "****". */
    if (n > 11 && strncmp(msisdn, "86", 2) == 0) {
        national = msisdn + 2;
    }
    n = strlen(national);
    if (n < 8) {
        snprintf(out, cap, "****");
        return;
    }
    snprintf(out, cap, "%.3s****%s", national, national + n - 4);
}

void
bill_day_keys(const struct gw_config *cfg, int64_t t, int *day, int *month)
{
    time_t    local = (time_t) (t + cfg->billing.day_offset_min * 60);
    struct tm tm;

    gmtime_r(&local, &tm);
    *day = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    *month = (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

void
bill_business_day(const struct gw_config *cfg, char *out)
{
    int day, month;

    bill_day_keys(cfg, gw_now_s(), &day, &month);
    snprintf(out, 16, "%04d-%02d-%02d", (day / 10000) % 10000,
             (day / 100) % 100, day % 100);
}

int
bill_bucket(int64_t subscriber_id)
{
    return (int) (subscriber_id % BILL_BUCKETS);
}

static int64_t
bill_cap_or_null(int64_t cap)
{
    return cap < 0 ? -1 : cap;
}

int
bill_subscriber_create(struct gw_db *db, const struct bill_ctx *ctx,
                       const char *im_user_id, const char *msisdn,
                       const char *plan, int64_t credit_limit,
                       int64_t cap_daily, int64_t cap_monthly,
                       int64_t *subscriber_id)
{
    int rc;

    rc = gw_db_exec(db,
                    "INSERT INTO subscribers (im_user_id, msisdn, created_at,"
                    " created_by) VALUES (%s, %s, UTC_TIMESTAMP(3), %s)",
                    im_user_id, msisdn, ctx->actor);
    if (rc == GW_EDUP) {
        return GW_ECONFLICT;
    }
    if (rc != GW_OK) {
        return rc;
    }
    *subscriber_id = db->insert_id;
    rc = gw_db_exec(db,
                    "INSERT INTO accounts (kind, owner_id, bucket, currency,"
                    " plan, credit_limit, cap_daily, cap_monthly, created_at,"
                    " updated_at) VALUES ('subscriber', %lld, 0, %s, %s, %lld,"
                    " NULLIF(%lld, -1), NULLIF(%lld, -1), UTC_TIMESTAMP(3),"
                    " UTC_TIMESTAMP(3))",
                    (long long) *subscriber_id, ctx->cfg->billing.currency,
                    plan, (long long) credit_limit,
                    (long long) bill_cap_or_null(cap_daily),
                    (long long) bill_cap_or_null(cap_monthly));
    if (rc != GW_OK) {
        return rc;
    }
    return gw_db_exec(db,
                      "UPDATE subscribers SET account_id = %lld"
                      " WHERE id = %lld",
                      (long long) db->insert_id, (long long) *subscriber_id);
}

/* Column order shared by the three lookups. */
#define BILL_SUB_COLUMNS                                                       \
    "SELECT s.id, s.account_id, s.im_user_id, s.msisdn, a.plan, a.status,"     \
    " a.currency, a.balance, a.held, a.credit_limit,"                          \
    " COALESCE(a.cap_daily, -1), COALESCE(a.cap_monthly, -1),"                 \
    " IF(a.spent_day_key = ?, a.spent_day, 0),"                                \
    " IF(a.spent_month_key = ?, a.spent_month, 0),"                            \
    " DATE_FORMAT(s.created_at, '%Y-%m-%dT%H:%i:%sZ')"                         \
    " FROM subscribers s JOIN accounts a ON a.id = s.account_id"

static void
bill_subscriber_fill(MYSQL_ROW row, struct bill_subscriber *out)
{
    out->id = gw_db_col_i64(row, 0);
    out->account_id = gw_db_col_i64(row, 1);
    out->im_user_id = row[2];
    out->msisdn = row[3];
    out->plan = row[4];
    out->status = row[5];
    out->currency = row[6];
    out->balance = gw_db_col_i64(row, 7);
    out->held = gw_db_col_i64(row, 8);
    out->credit_limit = gw_db_col_i64(row, 9);
    out->cap_daily = gw_db_col_i64(row, 10);
    out->cap_monthly = gw_db_col_i64(row, 11);
    out->spent_today = gw_db_col_i64(row, 12);
    out->spent_month = gw_db_col_i64(row, 13);
    out->created_at = row[14];
}

static int
bill_subscriber_row(int rc, MYSQL_ROW row, struct bill_subscriber *out)
{
    if (rc != GW_OK) {
        return rc;
    }
    if (row == NULL) {
        return GW_ENOTFOUND;
    }
    bill_subscriber_fill(row, out);
    return GW_OK;
}

int
bill_subscriber_by_user(struct gw_db *db, struct gw_arena *a,
                        const struct gw_config *cfg, const char *im_user_id,
                        struct bill_subscriber *out)
{
    MYSQL_ROW row;
    int       day, month, rc;

    bill_day_keys(cfg, gw_now_s(), &day, &month);
    rc = gw_stmt_row(db, a, &row, BILL_SUB_COLUMNS " WHERE s.im_user_id = ?",
                     GW_ARGS(GW_I64(day), GW_I64(month), GW_STR(im_user_id)));
    return bill_subscriber_row(rc, row, out);
}

int
bill_subscriber_by_msisdn(struct gw_db *db, struct gw_arena *a,
                          const struct gw_config *cfg, const char *msisdn,
                          struct bill_subscriber *out)
{
    MYSQL_ROW row;
    int       day, month, rc;

    bill_day_keys(cfg, gw_now_s(), &day, &month);
    rc = gw_stmt_row(db, a, &row, BILL_SUB_COLUMNS " WHERE s.msisdn = ?",
                     GW_ARGS(GW_I64(day), GW_I64(month), GW_STR(msisdn)));
    return bill_subscriber_row(rc, row, out);
}

int
bill_subscriber_by_id(struct gw_db *db, struct gw_arena *a,
                      const struct gw_config *cfg, int64_t id,
                      struct bill_subscriber *out)
{
    MYSQL_ROW row;
    int       day, month, rc;

    bill_day_keys(cfg, gw_now_s(), &day, &month);
    rc = gw_stmt_row(db, a, &row, BILL_SUB_COLUMNS " WHERE s.id = ?",
                     GW_ARGS(GW_I64(day), GW_I64(month), GW_I64(id)));
    return bill_subscriber_row(rc, row, out);
}

/* Zero rows matched a credit-limit change: unknown, or below the debt. */
static int
bill_limit_refused(struct gw_db *db, int64_t subscriber_id)
{
    /* Matched rows (CLIENT_FOUND_ROWS) of a write that changes nothing. */
    int rc = gw_stmt_exec(db,
                          "UPDATE accounts SET updated_at = updated_at WHERE"
                          " kind = 'subscriber' AND owner_id = ? AND bucket"
                          " = 0",
                          GW_ARGS(GW_I64(subscriber_id)));

    if (rc != GW_OK) {
        return rc;
    }
    return db->affected > 0 ? GW_ECONFLICT : GW_ENOTFOUND;
}

int
bill_subscriber_update(struct gw_db *db, const struct bill_ctx *ctx,
                       int64_t subscriber_id, const char *status,
                       int64_t credit_limit, int64_t cap_daily,
                       int64_t cap_monthly)
{
    int rc;

    int keep = credit_limit == BILL_KEEP;

    (void) ctx;
    /* BILL_KEEP leaves a column as it is; -1 clears a cap. One statement,
     * so a concurrent debit sees either the old or the new limits, and a
     * credit limit never goes below what is already owed (held included:
     * the audit's floor) — zero rows matched then means refused. */
    rc = gw_stmt_exec(
        db,
        "UPDATE accounts SET status = COALESCE(?, status), credit_limit ="
        " IF(?, credit_limit, ?), cap_daily = IF(?, cap_daily, NULLIF(?,"
        " -1)), cap_monthly = IF(?, cap_monthly, NULLIF(?, -1)), updated_at ="
        " UTC_TIMESTAMP(3) WHERE kind = 'subscriber' AND owner_id = ? AND"
        " bucket = 0 AND (? OR balance - held >= -?)",
        GW_ARGS(GW_STR(status), GW_I64(keep), GW_I64(keep ? 0 : credit_limit),
                GW_I64(cap_daily == BILL_KEEP),
                GW_I64(cap_daily == BILL_KEEP ? 0 : cap_daily),
                GW_I64(cap_monthly == BILL_KEEP),
                GW_I64(cap_monthly == BILL_KEEP ? 0 : cap_monthly),
                GW_I64(subscriber_id), GW_I64(keep),
                GW_I64(keep ? 0 : credit_limit)));
    if (rc == GW_OK && db->affected == 0) {
        return keep ? GW_ENOTFOUND : bill_limit_refused(db, subscriber_id);
    }
    return rc;
}

int
bill_provider_accounts_ensure(struct gw_db *db, int64_t provider_id,
                              const char *currency)
{
    return gw_db_exec(db,
                      "INSERT IGNORE INTO accounts (kind, owner_id, bucket,"
                      " currency, created_at, updated_at)"
                      " WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL"
                      " SELECT n + 1 FROM b WHERE n < %d)"
                      " SELECT 'provider', %lld, n, %s, UTC_TIMESTAMP(3),"
                      " UTC_TIMESTAMP(3) FROM b",
                      BILL_BUCKETS - 1, (long long) provider_id, currency);
}
