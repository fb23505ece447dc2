/*
 * bill_hold.c — two-phase charges: reserve, capture, release, expire.
 *
 * A pending hold raises the account's "held" column, so available funds
 * (balance - held) and caps already count it; only a capture writes
 * postings. Releasing gives back the cap room it took when still in the
 * same business day / month.
 */
#include <string.h>

#include "bill_internal.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"

/*
 * The held debit (every limit: vas_debit, the one place they are written)
 * and the hold's row, which remembers the periods its cap room was taken
 * from, so a release gives it back to the same day and month: one
 * prepared CALL (migrations/032_one_debit.sql). Its row: 0 and the hold's
 * id, or 2 when the debit matched no row.
 */
#define BILL_HOLD_SQL "CALL vas_hold(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

int
bill_hold_reserve(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, const struct bill_hold *h,
                  int64_t *hold_id)
{
    MYSQL_ROW row;
    int       day, month, rc;

    if (h->amount <= 0 || h->amount > BILL_AMOUNT_MAX || h->share_bp < 0
        || h->share_bp > BILL_SHARE_BP_MAX) {
        return GW_EINVAL;
    }
    bill_day_keys(ctx->cfg, gw_now_s(), &day, &month);
    rc = gw_stmt_row(db, a, &row, BILL_HOLD_SQL,
                     GW_ARGS(GW_I64(h->subscriber_id), GW_I64(h->amount),
                             GW_I64(day), GW_I64(month), GW_I64(h->provider_id),
                             GW_I64(h->share_bp), GW_I64(h->item_id),
                             GW_STR(h->sku), GW_STR(h->reference),
                             GW_STR(ctx->actor), GW_STR(ctx->reason),
                             GW_I64(ctx->cfg->billing.hold_ttl_s)));
    if (rc != GW_OK || row == NULL || row[0] == NULL) {
        return rc != GW_OK ? rc : GW_ERROR;
    }
    if (gw_db_col_i64(row, 0) != 0) {
        return bill_debit_refused(db, a, h->subscriber_id, h->amount, day,
                                  month);
    }
    *hold_id = gw_db_col_i64(row, 1);
    gw_assert(*hold_id > 0);
    return GW_OK;
}

struct bill_hold_row {
    int64_t     subscriber_id;
    int64_t     amount;
    int64_t     provider_id;
    int64_t     share_bp;
    int64_t     item_id;
    const char *sku;
    const char *reference;
    int         day_key, month_key;
    int         expired;
};

/* Locks a pending hold. GW_ECONFLICT when it is settled already. */
static int
bill_hold_lock(struct gw_db *db, struct gw_arena *a, int64_t hold_id,
               struct bill_hold_row *h)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT state, subscriber_id, amount, provider_id,"
                   " share_bp, COALESCE(item_id, 0), sku, reference, day_key,"
                   " month_key, expires_at <= UTC_TIMESTAMP(3) FROM holds"
                   " WHERE id = %lld FOR UPDATE",
                   (long long) hold_id);
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    if (strcmp(row[0], "pending") != 0) {
        return strcmp(row[0], "expired") == 0 ? GW_EEXPIRED : GW_ECONFLICT;
    }
    h->subscriber_id = gw_db_col_i64(row, 1);
    h->amount = gw_db_col_i64(row, 2);
    h->provider_id = gw_db_col_i64(row, 3);
    h->share_bp = gw_db_col_i64(row, 4);
    h->item_id = gw_db_col_i64(row, 5);
    h->sku = row[6];
    h->reference = row[7];
    h->day_key = (int) gw_db_col_i64(row, 8);
    h->month_key = (int) gw_db_col_i64(row, 9);
    h->expired = strcmp(row[10], "1") == 0;
    return GW_OK;
}

/* Takes the hold off the account; debit moves the balance; giveback is
 * the cap room returned (the part not captured). */
static int
bill_hold_unhold(struct gw_db *db, const struct bill_hold_row *h, int64_t debit,
                 int64_t giveback)
{
    return gw_db_exec(
        db,
        "UPDATE accounts SET held = held - %lld,"
        " balance = (@vas_bal := balance - %lld),"
        " spent_day = spent_day - IF(spent_day_key = %d, %lld,"
        " 0), spent_month = spent_month - IF(spent_month_key ="
        " %d, %lld, 0), updated_at = UTC_TIMESTAMP(3),"
        " id = LAST_INSERT_ID(id)"
        " WHERE kind = 'subscriber' AND owner_id = %lld AND bucket = 0",
        (long long) h->amount, (long long) debit, h->day_key,
        (long long) giveback, h->month_key, (long long) giveback,
        (long long) h->subscriber_id);
}

int
bill_hold_capture(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, int64_t hold_id, int64_t amount,
                  struct bill_result *res)
{
    return bill_hold_capture_start(db, a, ctx, hold_id, amount, 0, res);
}

int
bill_hold_capture_start(struct gw_db *db, struct gw_arena *a,
                        const struct bill_ctx *ctx, int64_t hold_id,
                        int64_t amount, int64_t lobby_start_id,
                        struct bill_result *res)
{
    struct bill_hold_row h;
    struct bill_legs     legs = {0};
    int                  rc;

    memset(res, 0, sizeof(*res));
    rc = bill_hold_lock(db, a, hold_id, &h);
    if (rc != GW_OK) {
        return rc;
    }
    if (h.expired) {
        return GW_EEXPIRED;
    }
    if (amount == 0) {
        amount = h.amount;
    }
    if (amount < 0 || amount > h.amount) {
        return GW_EINVAL;
    }
    rc = bill_hold_unhold(db, &h, amount, h.amount - amount);
    if (rc != GW_OK) {
        return rc;
    }
    legs.account_id = db->insert_id;
    legs.kind = "capture";
    legs.subscriber_id = h.subscriber_id;
    legs.amount = amount;
    legs.sign = -1;
    legs.provider_id = h.provider_id;
    legs.hold_id = hold_id;
    legs.reference = h.reference;
    legs.item_id = h.item_id;
    legs.sku = h.sku;
    legs.lobby_start_id = lobby_start_id;
    legs.provider_share = h.provider_id > 0
        ? (int64_t) ((__int128) amount * h.share_bp / BILL_SHARE_BP_MAX)
        : 0;
    legs.carrier_share = amount - legs.provider_share;
    if (amount > 0) {
        rc = bill_legs_post(db, a, ctx, &legs, 0, res);
    }
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "UPDATE holds SET state = 'captured', captured = %lld,"
                        " capture_txn_id = NULLIF(%lld, 0), settled_at ="
                        " UTC_TIMESTAMP(3) WHERE id = %lld",
                        (long long) amount, (long long) res->txn_id,
                        (long long) hold_id);
    }
    res->amount = amount;
    res->provider_share = legs.provider_share;
    res->carrier_share = legs.carrier_share;
    return rc;
}

static int
bill_hold_settle(struct gw_db *db, struct gw_arena *a, int64_t hold_id,
                 const char *state)
{
    struct bill_hold_row h;
    int                  rc;

    rc = bill_hold_lock(db, a, hold_id, &h);
    if (rc == GW_OK) {
        rc = bill_hold_unhold(db, &h, 0, h.amount);
    }
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "UPDATE holds SET state = %s, settled_at ="
                        " UTC_TIMESTAMP(3) WHERE id = %lld",
                        state, (long long) hold_id);
    }
    return rc;
}

int
bill_hold_release(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, int64_t hold_id)
{
    (void) ctx;
    return bill_hold_settle(db, a, hold_id, "released");
}

int
bill_holds_expire(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, int limit)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        n = 0, rc;

    rc = gw_db_query(db, a, &res,
                     "SELECT id FROM holds WHERE state = 'pending' AND"
                     " expires_at <= UTC_TIMESTAMP(3) ORDER BY expires_at"
                     " LIMIT %d",
                     limit);
    if (rc != GW_OK) {
        return -1;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        int64_t id = gw_db_col_i64(row, 0);

        rc = gw_db_begin(db);
        if (rc == GW_OK) {
            rc = bill_hold_settle(db, a, id, "expired");
        }
        if (rc == GW_OK) {
            rc = gw_db_commit(db);
        } else {
            gw_db_rollback(db);
        }
        if (rc == GW_OK) {
            n++;
            gw_log_info(ctx->rid, "hold %lld expired", (long long) id);
        } else if (rc != GW_ECONFLICT && rc != GW_EEXPIRED) {
            return -1;
        }
    }
    return n;
}
