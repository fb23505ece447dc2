/*
 * bill_ledger.c — charges, refunds and top-ups as double-entry postings.
 *
 * Each movement: one conditional UPDATE of the subscriber's account (the
 * limits are in its WHERE clause, so the check and the debit are one
 * atomic step under any concurrency), one UPDATE of the bucketed
 * counter-accounts, one ledger_txns row, one multi-row INSERT of postings
 * and, for charges and refunds, one CDR. All inside the caller's
 * transaction.
 */
#include <stdio.h>
#include <string.h>

#include "bill_internal.h"
#include "gw_log.h"
#include "gw_outbox.h"
#include "gw_status.h"
#include "gw_util.h"

/*
 * One round trip: the ledger transaction, the CDR, the postings (constant
 * rows: no table is read, so no lock is taken), then the counter-accounts
 * (last, so their row locks are held for the shortest time before COMMIT),
 * then the subscriber's account read back (own writes are visible) with
 * ROW_COUNT() of the counter UPDATE.
 */
#define BILL_POST_SQL                                                          \
    "INSERT INTO ledger_txns (kind, subscriber_id, amount, currency,"          \
    " provider_id, provider_share, carrier_share, bucket, corrects_txn_id,"    \
    " hold_id, reference, actor, reason, created_at) VALUES (%s, %lld,"        \
    " %lld, %s, %lld, %lld, %lld, %d, NULLIF(%lld, 0), NULLIF(%lld, 0), %s,"   \
    " %s, %s, UTC_TIMESTAMP(3));"                                              \
    " SET @vas_txn = LAST_INSERT_ID();"                                        \
    " INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn,"          \
    " im_user_id, item_id, sku, provider_id, amount, currency,"                \
    " provider_share, carrier_share, business_day, reference, created_at)"     \
    " SELECT %s, %s, @vas_txn, s.id, s.msisdn, s.im_user_id,"                  \
    " NULLIF(%lld, 0), %s, %lld, %lld, %s, %lld, %lld, %s, %s,"                \
    " UTC_TIMESTAMP(3) FROM subscribers s WHERE s.id = %lld AND %d;"           \
    " INSERT INTO postings (txn_id, account_id, amount, created_at)"           \
    " VALUES (@vas_txn, %lld, %lld, UTC_TIMESTAMP(3)),"                        \
    " (@vas_txn, %lld, %lld, UTC_TIMESTAMP(3));"                               \
    " INSERT INTO postings (txn_id, account_id, amount, created_at)"           \
    " SELECT @vas_txn, %lld, %lld, UTC_TIMESTAMP(3) FROM DUAL WHERE %d;"       \
    " UPDATE accounts SET balance = balance + CASE id"                         \
    " WHEN %lld THEN %lld WHEN %lld THEN %lld ELSE %lld END,"                  \
    " updated_at = UTC_TIMESTAMP(3) WHERE id IN (%lld, %lld, %lld);"           \
    " SELECT @vas_txn, ROW_COUNT(), a.balance, a.plan,"                        \
    " COALESCE(a.cap_daily, -1), a.spent_day, COALESCE(a.cap_monthly, -1),"    \
    " a.spent_month, s.im_user_id FROM accounts a JOIN subscribers s ON"       \
    " s.id = a.owner_id WHERE a.id = %lld"

/*
 * Account ids of the bucketed counter-accounts never change once created,
 * so each thread remembers them: the postings then name literal ids and no
 * statement reads (or locks) the accounts table to find them.
 */
#define BILL_PROVIDERS_CACHED 64

struct bill_bucket_ids {
    int64_t owner; /* provider id; 0 = unused slot */
    int64_t id[BILL_BUCKETS];
};

static __thread struct bill_bucket_ids bill_carrier_ids, bill_funding_ids;
static __thread struct bill_bucket_ids bill_provider_ids[BILL_PROVIDERS_CACHED];

static int
bill_bucket_ids_load(struct gw_db *db, struct gw_arena *a, const char *kind,
                     int64_t owner, struct bill_bucket_ids *ids)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        rc, n = 0;

    rc = gw_db_query(db, a, &res,
                     "SELECT bucket, id FROM accounts WHERE kind = %s AND"
                     " owner_id = %lld",
                     kind, (long long) owner);
    if (rc != GW_OK) {
        return rc;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        int64_t b = gw_db_col_i64(row, 0);
        if (b >= 0 && b < BILL_BUCKETS) {
            ids->id[b] = gw_db_col_i64(row, 1);
            n++;
        }
    }
    if (n != BILL_BUCKETS) {
        gw_log_error(db->rid, "%s accounts of %lld missing", kind,
                     (long long) owner);
        return GW_ERROR;
    }
    ids->owner = owner;
    return GW_OK;
}

/* The counter-account of (kind, owner) in bucket b into *id. */
static int
bill_bucket_id(struct gw_db *db, struct gw_arena *a, const char *kind,
               int64_t owner, int b, int64_t *id)
{
    struct bill_bucket_ids *ids;
    int                     rc;

    if (strcmp(kind, "carrier") == 0) {
        ids = &bill_carrier_ids;
    } else if (strcmp(kind, "funding") == 0) {
        ids = &bill_funding_ids;
    } else {
        ids = &bill_provider_ids[(uint64_t) owner % BILL_PROVIDERS_CACHED];
    }
    if (ids->id[b] == 0 || ids->owner != owner) {
        memset(ids, 0, sizeof(*ids));
        rc = bill_bucket_ids_load(db, a, kind, owner, ids);
        if (rc != GW_OK) {
            memset(ids, 0, sizeof(*ids));
            return rc;
        }
    }
    *id = ids->id[b];
    return GW_OK;
}

static int bill_warnings(struct gw_db *db, struct gw_arena *a,
                         const struct bill_ctx *ctx, MYSQL_ROW row,
                         int64_t amount);

int
bill_legs_post(struct gw_db *db, struct gw_arena *a, const struct bill_ctx *ctx,
               const struct bill_legs *l, int64_t warn_amount,
               struct bill_result *res)
{
    /* Counter-accounts move opposite to the subscriber: the provider's and
     * carrier's revenue (charges, refunds) or funding (top-ups), all in
     * the subscriber's bucket, so no row is shared by every movement. */
    int64_t     sub_amt = l->sign * l->amount;
    int64_t     pa = l->funding ? 0 : -l->sign * l->provider_share;
    int64_t     ca = l->funding ? 0 : -l->sign * l->carrier_share;
    int64_t     fa = l->funding ? -sub_amt : 0;
    int64_t     csign = l->sign < 0 ? 1 : -1; /* CDR: charges +, refunds - */
    int64_t     pid = 0, cid = 0, fid = 0, leg1_id, leg1;
    int         bucket = bill_bucket(l->subscriber_id), rc, want;
    const char *currency = ctx->cfg->billing.currency;
    char        day[16];
    MYSQL_ROW   row;

    rc = GW_OK;
    if (pa != 0) {
        rc = bill_bucket_id(db, a, "provider", l->provider_id, bucket, &pid);
    }
    if (rc == GW_OK && ca != 0) {
        rc = bill_bucket_id(db, a, "carrier", 0, bucket, &cid);
    }
    if (rc == GW_OK && fa != 0) {
        rc = bill_bucket_id(db, a, "funding", 0, bucket, &fid);
    }
    if (rc != GW_OK) {
        return rc;
    }
    /* Legs: funding (top-ups) or provider and/or carrier. The first
     * non-zero one goes in the VALUES row; the carrier's follows when
     * both revenue parts are non-zero. (Constant rows: no temporary
     * table, no read of accounts.) */
    leg1_id = fa != 0 ? fid : pa != 0 ? pid : cid;
    leg1 = fa != 0 ? fa : pa != 0 ? pa : ca;
    gw_outbox_id_new(res->cdr_id);
    bill_business_day(ctx->cfg, day);
    want = (pa != 0) + (ca != 0) + (fa != 0);
    rc = gw_db_row(
        db, a, &row, BILL_POST_SQL, l->kind, (long long) l->subscriber_id,
        (long long) l->amount, currency, (long long) l->provider_id,
        (long long) l->provider_share, (long long) l->carrier_share, bucket,
        (long long) l->corrects_txn_id, (long long) l->hold_id, l->reference,
        ctx->actor, ctx->reason,
        /* CDR */
        res->cdr_id, l->sign < 0 ? "charge" : "refund", (long long) l->item_id,
        l->sku, (long long) l->provider_id, (long long) (csign * l->amount),
        currency, (long long) (csign * l->provider_share),
        (long long) (csign * l->carrier_share), day, l->reference,
        (long long) l->subscriber_id, !l->funding,
        /* postings: the subscriber and the first counter leg,
         * then the second one when a charge splits revenue */
        (long long) l->account_id, (long long) sub_amt, (long long) leg1_id,
        (long long) leg1, (long long) cid, (long long) ca, pa != 0 && ca != 0,
        /* counter-accounts */
        (long long) pid, (long long) pa, (long long) cid, (long long) ca,
        (long long) fa, (long long) pid, (long long) cid, (long long) fid,
        /* read back */
        (long long) l->account_id);
    if (rc != GW_OK) {
        return rc;
    }
    if (row == NULL || gw_db_col_i64(row, 1) != want) {
        gw_log_error(ctx->rid,
                     "ledger accounts missing (subscriber %lld,"
                     " provider %lld, bucket %d)",
                     (long long) l->subscriber_id, (long long) l->provider_id,
                     bucket);
        return GW_ERROR;
    }
    if (l->funding) {
        res->cdr_id[0] = '\0';
    }
    res->txn_id = gw_db_col_i64(row, 0);
    res->balance_after = gw_db_col_i64(row, 2);
    res->amount = l->amount;
    res->provider_share = l->provider_share;
    res->carrier_share = l->carrier_share;
    return warn_amount > 0 ? bill_warnings(db, a, ctx, row, warn_amount)
                           : GW_OK;
}

/*
 * The diagnosis is a locking read: a plain SELECT would read the
 * transaction's snapshot, older than the row the UPDATE just judged.
 */
int
bill_debit_refused(struct gw_db *db, struct gw_arena *a, int64_t subscriber_id,
                   int64_t amount, int day, int month)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT status, balance - held - %lld >= -credit_limit,"
                   " cap_daily IS NULL OR IF(spent_day_key = %d, spent_day, 0)"
                   " + %lld <= cap_daily, cap_monthly IS NULL OR"
                   " IF(spent_month_key = %d, spent_month, 0) + %lld <="
                   " cap_monthly FROM accounts WHERE kind = 'subscriber'"
                   " AND owner_id = %lld AND bucket = 0 LOCK IN SHARE MODE",
                   (long long) amount, day, (long long) amount, month,
                   (long long) amount, (long long) subscriber_id);
    if (rc != GW_OK) {
        return rc;
    }
    if (row == NULL) {
        return GW_ENOTFOUND;
    }
    if (strcmp(row[0], "active") != 0) {
        return GW_ESUSPENDED;
    }
    if (strcmp(row[1], "1") != 0) {
        return GW_EFUNDS;
    }
    if (strcmp(row[2], "1") != 0 || strcmp(row[3], "1") != 0) {
        return GW_ECAP;
    }
    /* The row changed between the two statements: let the caller retry. */
    return GW_ERETRY;
}

/* Queues account.cap_warning when spent crossed 80% of cap with amount. */
static int
bill_cap_warning(struct gw_db *db, struct gw_arena *a, const char *user,
                 const char *period, int64_t cap, int64_t spent, int64_t amount,
                 const char *currency)
{
    __int128 warn = (__int128) cap * BILL_CAP_WARN_PCT;

    if (cap < 0 || (__int128) spent * 100 < warn
        || (__int128) (spent - amount) * 100 >= warn) {
        return GW_OK;
    }
    return gw_outbox_add(db, user, "account.cap_warning",
                         gw_arena_printf(a,
                                         "{\"period\":\"%s\",\"cap\":%lld,"
                                         "\"spent\":%lld,\"currency\":\"%s\"}",
                                         period, (long long) cap,
                                         (long long) spent, currency),
                         NULL);
}

/* Cap (80%) and low-balance warnings this debit crossed; row is the
 * read-back of BILL_POST_SQL. */
static int
bill_warnings(struct gw_db *db, struct gw_arena *a, const struct bill_ctx *ctx,
              MYSQL_ROW row, int64_t amount)
{
    int64_t     low = ctx->cfg->billing.low_balance_minor;
    int64_t     bal = gw_db_col_i64(row, 2);
    const char *cur = ctx->cfg->billing.currency, *user = row[8];
    int         rc;

    rc = bill_cap_warning(db, a, user, "daily", gw_db_col_i64(row, 4),
                          gw_db_col_i64(row, 5), amount, cur);
    if (rc == GW_OK) {
        rc = bill_cap_warning(db, a, user, "monthly", gw_db_col_i64(row, 6),
                              gw_db_col_i64(row, 7), amount, cur);
    }
    if (rc == GW_OK && strcmp(row[3], "prepaid") == 0 && bal < low
        && bal + amount >= low) {
        rc = gw_outbox_add(db, user, "account.low_balance",
                           gw_arena_printf(a,
                                           "{\"balance\":%lld,"
                                           "\"threshold\":%lld,"
                                           "\"currency\":\"%s\"}",
                                           (long long) bal, (long long) low,
                                           cur),
                           NULL);
    }
    return rc;
}

static int
bill_amount_ok(int64_t amount)
{
    return amount > 0 && amount <= BILL_AMOUNT_MAX;
}

/* Splits amount into the provider's and the carrier's parts exactly. */
static void
bill_split(int64_t amount, int64_t provider_id, int64_t share_bp,
           int64_t *provider, int64_t *carrier)
{
    *provider = provider_id > 0
        ? (int64_t) ((__int128) amount * share_bp / BILL_SHARE_BP_MAX)
        : 0;
    *carrier = amount - *provider;
}

int
bill_debit(struct gw_db *db, struct gw_arena *a, const struct bill_ctx *ctx,
           int64_t subscriber_id, int64_t amount, int hold, int64_t *account_id,
           int *day_key, int *month_key)
{
    int day, month, rc;

    bill_day_keys(ctx->cfg, gw_now_s(), &day, &month);
    if (day_key != NULL) {
        *day_key = day;
        *month_key = month;
    }
    /* The debit (or hold) and every limit in one statement. Assignments
     * in a single-table UPDATE run left to right: each spent counter is
     * computed before its key is moved to the current period. */
    rc = gw_db_exec(db,
                    "UPDATE accounts SET"
                    " spent_day = IF(spent_day_key = %d, spent_day, 0) + %lld,"
                    " spent_day_key = %d,"
                    " spent_month = IF(spent_month_key = %d, spent_month, 0)"
                    " + %lld, spent_month_key = %d,"
                    " balance = balance - %lld, held = held + %lld,"
                    " updated_at = UTC_TIMESTAMP(3), id = LAST_INSERT_ID(id)"
                    " WHERE kind = 'subscriber' AND owner_id = %lld AND"
                    " bucket = 0 AND status = 'active'"
                    " AND balance - held - %lld >= -credit_limit"
                    " AND (cap_daily IS NULL OR IF(spent_day_key = %d,"
                    " spent_day, 0) + %lld <= cap_daily)"
                    " AND (cap_monthly IS NULL OR IF(spent_month_key = %d,"
                    " spent_month, 0) + %lld <= cap_monthly)",
                    day, (long long) amount, day, month, (long long) amount,
                    month, (long long) (hold ? 0 : amount),
                    (long long) (hold ? amount : 0), (long long) subscriber_id,
                    (long long) amount, day, (long long) amount, month,
                    (long long) amount);
    if (rc != GW_OK) {
        return rc;
    }
    if (db->affected != 1) {
        return bill_debit_refused(db, a, subscriber_id, amount, day, month);
    }
    *account_id = db->insert_id; /* SET id = LAST_INSERT_ID(id) */
    return GW_OK;
}

int
bill_charge_apply(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, const struct bill_charge *c,
                  struct bill_result *res)
{
    struct bill_legs legs = {0};
    int              rc;

    memset(res, 0, sizeof(*res));
    if (!bill_amount_ok(c->amount) || c->share_bp < 0
        || c->share_bp > BILL_SHARE_BP_MAX) {
        return GW_EINVAL;
    }
    rc = bill_debit(db, a, ctx, c->subscriber_id, c->amount, 0,
                    &legs.account_id, NULL, NULL);
    if (rc != GW_OK) {
        return rc;
    }
    legs.kind = "charge";
    legs.subscriber_id = c->subscriber_id;
    legs.amount = c->amount;
    legs.sign = -1;
    legs.provider_id = c->provider_id;
    legs.reference = c->reference;
    legs.item_id = c->item_id;
    legs.sku = c->sku;
    bill_split(c->amount, c->provider_id, c->share_bp, &legs.provider_share,
               &legs.carrier_share);
    return bill_legs_post(db, a, ctx, &legs, c->amount, res);
}

int
bill_topup_apply(struct gw_db *db, struct gw_arena *a,
                 const struct bill_ctx *ctx, int64_t subscriber_id,
                 int64_t amount, const char *reference, struct bill_result *res)
{
    struct bill_legs legs = {0};
    int              rc;

    memset(res, 0, sizeof(*res));
    if (!bill_amount_ok(amount)) {
        return GW_EINVAL;
    }
    rc = gw_db_exec(db,
                    "UPDATE accounts SET balance = balance + %lld,"
                    " updated_at = UTC_TIMESTAMP(3), id = LAST_INSERT_ID(id)"
                    " WHERE kind = 'subscriber'"
                    " AND owner_id = %lld AND bucket = 0",
                    (long long) amount, (long long) subscriber_id);
    if (rc != GW_OK) {
        return rc;
    }
    if (db->affected != 1) {
        return GW_ENOTFOUND;
    }
    legs.account_id = db->insert_id;
    legs.kind = "topup";
    legs.subscriber_id = subscriber_id;
    legs.amount = amount;
    legs.sign = 1;
    legs.funding = 1;
    legs.reference = reference;
    return bill_legs_post(db, a, ctx, &legs, 0, res);
}

int
bill_refund_apply(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, int64_t charge_txn_id,
                  int64_t amount, const char *reference,
                  struct bill_result *res)
{
    struct bill_legs legs = {0};
    MYSQL_ROW        row;
    int64_t          charged, refunded, pshare, item_id;
    int              rc;

    memset(res, 0, sizeof(*res));
    if (amount < 0 || amount > BILL_AMOUNT_MAX) {
        return GW_EINVAL;
    }
    /* Lock the charge: concurrent refunds of it queue here. */
    rc = gw_db_row(db, a, &row,
                   "SELECT t.subscriber_id, t.amount, t.refunded,"
                   " t.provider_id, t.provider_share, COALESCE(c.item_id, 0),"
                   " c.sku FROM ledger_txns t LEFT JOIN cdrs c ON c.txn_id ="
                   " t.id WHERE t.id = %lld AND t.kind IN ('charge',"
                   " 'capture') FOR UPDATE",
                   (long long) charge_txn_id);
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    legs.subscriber_id = gw_db_col_i64(row, 0);
    charged = gw_db_col_i64(row, 1);
    refunded = gw_db_col_i64(row, 2);
    legs.provider_id = gw_db_col_i64(row, 3);
    pshare = gw_db_col_i64(row, 4);
    item_id = gw_db_col_i64(row, 5);
    const char *sku = row[6];
    if (amount == 0) {
        amount = charged - refunded;
    }
    if (amount <= 0 || amount > charged - refunded) {
        return GW_ECONFLICT;
    }
    /* Cumulative floors: the provider part of all refunds so far is
     * floor(pshare * refunded / charged), exactly pshare when complete. */
    legs.provider_share =
        (int64_t) ((__int128) pshare * (refunded + amount) / charged)
        - (int64_t) ((__int128) pshare * refunded / charged);
    legs.carrier_share = amount - legs.provider_share;
    legs.kind = "refund";
    legs.amount = amount;
    legs.sign = 1;
    legs.corrects_txn_id = charge_txn_id;
    legs.reference = reference;

    rc = gw_db_exec(db,
                    "UPDATE ledger_txns SET refunded = refunded + %lld"
                    " WHERE id = %lld AND refunded + %lld <= amount",
                    (long long) amount, (long long) charge_txn_id,
                    (long long) amount);
    if (rc == GW_OK && db->affected != 1) {
        rc = GW_ECONFLICT;
    }
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "UPDATE accounts SET balance = balance + %lld,"
                        " updated_at = UTC_TIMESTAMP(3), id ="
                        " LAST_INSERT_ID(id) WHERE kind ="
                        " 'subscriber' AND owner_id = %lld AND bucket = 0",
                        (long long) amount, (long long) legs.subscriber_id);
    }
    if (rc == GW_OK) {
        legs.account_id = db->insert_id;
        legs.item_id = item_id;
        legs.sku = sku;
        rc = bill_legs_post(db, a, ctx, &legs, 0, res);
    }
    res->full_refund = refunded + amount == charged;
    return rc;
}
