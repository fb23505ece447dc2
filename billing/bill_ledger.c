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
 * A ledger post is prepared once (bill_post_prepare: every value, the
 * invariants asserted) and sent either inside a caller's procedure (the
 * store's purchases, migrations 028/029, where it saves many round trips)
 * or, for top-ups, refunds and captures, as these four typed statements:
 * measured A/B, their CALL of vas_bill_post saved 2-3 round trips but cost
 * mariadbd more than it saved both ends (a procedure call with 27
 * parameters, nested; README, "Performance"). The subscriber's UPDATE
 * (debit or credit) leaves what the warnings need in session variables,
 * and the ledger INSERT returns them with the new txn id (RETURNING), so
 * nothing the writer knows is read back.
 */
#define BILL_TXN_SQL                                                           \
    "INSERT INTO ledger_txns (kind, subscriber_id, amount, currency,"          \
    " provider_id, provider_share, carrier_share, bucket, corrects_txn_id,"    \
    " hold_id, reference, actor, reason, created_at) VALUES (?, ?, ?, ?, ?,"   \
    " ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3)) RETURNING id, @vas_bal,"       \
    " @vas_plan, COALESCE(@vas_cd, -1), @vas_sd, COALESCE(@vas_cm, -1),"       \
    " @vas_sm"
#define BILL_TXN_NPARAMS 13

#define BILL_CDR_SQL                                                           \
    "INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn,"           \
    " im_user_id, purchase_id, lobby_start_id, item_id, sku, provider_id,"     \
    " amount, currency, provider_share, carrier_share, business_day,"          \
    " reference, created_at) SELECT ?, ?, ?, s.id, s.msisdn, s.im_user_id,"    \
    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3) FROM subscribers s"    \
    " WHERE s.id = ?"

#define BILL_POSTINGS2_SQL                                                     \
    "INSERT INTO postings (txn_id, account_id, amount, created_at) VALUES"     \
    " (?, ?, ?, UTC_TIMESTAMP(3)), (?, ?, ?, UTC_TIMESTAMP(3))"
#define BILL_POSTINGS3_SQL BILL_POSTINGS2_SQL ", (?, ?, ?, UTC_TIMESTAMP(3))"

/* Counter-accounts last: their row locks are held the shortest time. */
#define BILL_COUNTERS_SQL                                                      \
    "UPDATE accounts SET balance = balance + IF(id = ?, ?, ?), updated_at ="   \
    " UTC_TIMESTAMP(3) WHERE id IN (?, ?)"

/* Where vas_ledger_post's parameters are in struct bill_post's param. */
enum {
    BILL_P_SUBSCRIBER = 1,
    BILL_P_AMOUNT = 2,
    BILL_P_CURRENCY = 3,
    BILL_P_PROVIDER = 4,
    BILL_P_PSHARE = 5,
    BILL_P_CSHARE = 6,
    BILL_P_REFERENCE = 10,
    BILL_P_CDR_ID = 13,
    BILL_P_CDR_KIND = 14,
    BILL_P_CDR_SIGN = 15,
    BILL_P_PURCHASE = 16,
    BILL_P_LOBBY_START = 17,
    BILL_P_ITEM = 18,
    BILL_P_SKU = 19,
    BILL_P_DAY = 20,
    BILL_P_ACCOUNT = 21
};

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
    struct gw_rows rows;
    size_t         i;
    int            rc, n = 0;

    rc = gw_stmt_query(db, a, &rows,
                       "SELECT bucket, id FROM accounts WHERE kind = ? AND"
                       " owner_id = ?",
                       GW_ARGS(GW_STR(kind), GW_I64(owner)));
    if (rc != GW_OK) {
        return rc;
    }
    for (i = 0; i < rows.n; i++) {
        MYSQL_ROW row = rows.row[i];
        int64_t   b = gw_db_col_i64(row, 0);
        if (b >= 0 && b < BILL_BUCKETS) {
            ids->id[b] = gw_db_col_i64(row, 1);
            n++;
        }
    }
    if (n != BILL_BUCKETS) {
        return GW_ENOTFOUND;
    }
    ids->owner = owner;
    return GW_OK;
}

/* The counter-account of (kind, owner) in bucket b into *id. */
static int
bill_bucket_id(struct gw_db *db, struct gw_arena *a, const char *kind,
               int64_t owner, int b, const char *currency, int64_t *id)
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
        if (rc == GW_ENOTFOUND && strcmp(kind, "provider") == 0) {
            /* A provider made without billing (an SQL load, another
             * module's import): its revenue accounts are made here, in
             * the charge's transaction, once. */
            gw_log_warn(db->rid, "provider %lld had no revenue accounts",
                        (long long) owner);
            rc = bill_provider_accounts_ensure(db, owner, currency);
            if (rc == GW_OK) {
                rc = bill_bucket_ids_load(db, a, kind, owner, ids);
            }
        }
        if (rc == GW_ENOTFOUND) {
            gw_log_error(db->rid, "%s accounts of %lld missing", kind,
                         (long long) owner);
            rc = GW_ERROR;
        }
        if (rc != GW_OK) {
            memset(ids, 0, sizeof(*ids));
            return rc;
        }
    }
    *id = ids->id[b];
    return GW_OK;
}

static int bill_warnings(struct gw_db *db, struct gw_arena *a,
                         const struct bill_ctx *ctx, const struct bill_post *p,
                         MYSQL_ROW row);

/* The counter-accounts' bucket of legs l: the subscriber's, or for a
 * refund the charge's (BILL_BUCKETS grew from 16 to 64: a refund takes
 * the revenue back from the accounts the charge credited). */
static int
bill_legs_bucket(const struct bill_legs *l)
{
    return l->refund_bucket > 0 ? l->refund_bucket - 1
                                : bill_bucket(l->subscriber_id);
}

/* The counter-account ids of legs l (0: no such leg) into ids[3]. */
static int
bill_legs_ids(struct gw_db *db, struct gw_arena *a, const char *currency,
              const struct bill_legs *l, int64_t pa, int64_t ca, int64_t fa,
              int64_t ids[3])
{
    int bucket = bill_legs_bucket(l), rc = GW_OK;

    ids[0] = ids[1] = ids[2] = 0;
    if (pa != 0) {
        rc = bill_bucket_id(db, a, "provider", l->provider_id, bucket, currency,
                            &ids[0]);
    }
    if (rc == GW_OK && ca != 0) {
        rc = bill_bucket_id(db, a, "carrier", 0, bucket, currency, &ids[1]);
    }
    if (rc == GW_OK && fa != 0) {
        rc = bill_bucket_id(db, a, "funding", 0, bucket, currency, &ids[2]);
    }
    return rc;
}

/* The CDR's kind (charges +, refunds -). */
static const char *
bill_cdr_kind(const struct bill_legs *l)
{
    return l->sign > 0                    ? "refund"
        : strcmp(l->kind, "capture") == 0 ? "capture"
                                          : "charge";
}

/* vas_ledger_post's IN list (BILL_POST_NPARAMS, in its order) into p. */
static void
bill_post_params(struct bill_post *p, const struct bill_ctx *ctx,
                 const struct bill_legs *l, const int64_t ids[3], int64_t pa,
                 int64_t ca, int64_t fa)
{
    struct gw_param *q = p->param;
    int64_t          sub_amt = l->sign * l->amount;
    int64_t          acct1 = fa != 0 ? ids[2] : pa != 0 ? ids[0] : ids[1];
    int64_t          leg1 = fa != 0 ? fa : pa != 0 ? pa : ca;
    int              three = pa != 0 && ca != 0;

    *q++ = GW_STR(l->kind);
    *q++ = GW_I64(l->subscriber_id);
    *q++ = GW_I64(l->amount);
    *q++ = GW_STR(ctx->cfg->billing.currency);
    *q++ = GW_I64(l->provider_id);
    *q++ = GW_I64(l->provider_share);
    *q++ = GW_I64(l->carrier_share);
    *q++ = GW_I64(bill_legs_bucket(l));
    *q++ = l->corrects_txn_id ? GW_I64(l->corrects_txn_id) : GW_NULL;
    *q++ = l->hold_id ? GW_I64(l->hold_id) : GW_NULL;
    *q++ = GW_STR(l->reference);
    *q++ = GW_STR(ctx->actor);
    *q++ = GW_STR(ctx->reason);
    /* The CDR (none for top-ups): charges +, refunds -. */
    *q++ = l->funding ? GW_NULL : GW_STR(p->cdr_id);
    *q++ = GW_STR(bill_cdr_kind(l));
    *q++ = GW_I64(l->sign < 0 ? 1 : -1);
    *q++ = l->purchase_id ? GW_I64(l->purchase_id) : GW_NULL;
    *q++ = l->lobby_start_id ? GW_I64(l->lobby_start_id) : GW_NULL;
    *q++ = l->item_id ? GW_I64(l->item_id) : GW_NULL;
    *q++ = GW_STR(l->sku);
    *q++ = GW_STR(p->day);
    /* The postings: the subscriber's leg and one or two counter legs. */
    *q++ = GW_I64(l->account_id);
    *q++ = GW_I64(sub_amt);
    *q++ = GW_I64(acct1);
    *q++ = GW_I64(leg1);
    *q++ = GW_I64(three ? ids[1] : 0);
    *q++ = GW_I64(three ? ca : 0);
    gw_assert(q - p->param == BILL_POST_NPARAMS);
}

/*
 * Everything of legs l's post but the round trip: the counter-accounts
 * (this thread's cache; read once), the CDR id, the business day and the
 * parameters, with the invariants asserted.
 */
static int
bill_post_prepare(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, const struct bill_legs *l,
                  int64_t warn_amount, struct bill_post *p)
{
    /* Counter-accounts move opposite to the subscriber: the provider's and
     * carrier's revenue (charges, refunds) or funding (top-ups), all in
     * the subscriber's bucket, so no row is shared by every movement. */
    int64_t pa = l->funding ? 0 : -l->sign * l->provider_share;
    int64_t ca = l->funding ? 0 : -l->sign * l->carrier_share;
    int64_t fa = l->funding ? -l->sign * l->amount : 0;
    int64_t ids[3];
    int     rc, want = (pa != 0) + (ca != 0) + (fa != 0);

    memset(p, 0, sizeof(*p));
    /* The revenue split is exact: provider + carrier = amount. */
    gw_assert(l->funding || l->provider_share + l->carrier_share == l->amount);
    gw_assert(l->amount > 0 && l->provider_share >= 0 && l->carrier_share >= 0);
    /* Double entry: the legs of one transaction sum to zero. */
    gw_assert(l->sign * l->amount + pa + ca + fa == 0);
    gw_assert(want >= 1 && want <= 2);
    rc = bill_legs_ids(db, a, ctx->cfg->billing.currency, l, pa, ca, fa, ids);
    if (rc != GW_OK) {
        return rc;
    }
    if (!l->funding) {
        gw_outbox_id_new(p->cdr_id);
    }
    bill_business_day(ctx->cfg, p->day);
    p->subscriber_id = l->subscriber_id;
    p->notify_user = l->notify_user;
    p->amount = l->amount;
    p->provider_share = l->provider_share;
    p->carrier_share = l->carrier_share;
    p->warn_amount = warn_amount;
    bill_post_params(p, ctx, l, ids, pa, ca, fa);
    return GW_OK;
}

int
bill_post_done(struct gw_db *db, struct gw_arena *a, const struct bill_ctx *ctx,
               const struct bill_post *p, MYSQL_ROW row,
               struct bill_result *res)
{
    if (row == NULL || row[0] == NULL) {
        gw_log_error(ctx->rid, "ledger post returned no row");
        return GW_ERROR;
    }
    res->txn_id = gw_db_col_i64(row, 0);
    res->balance_after = gw_db_col_i64(row, 1);
    res->amount = p->amount;
    res->provider_share = p->provider_share;
    res->carrier_share = p->carrier_share;
    memcpy(res->cdr_id, p->cdr_id, sizeof(res->cdr_id));
    gw_assert(res->txn_id > 0);
    return p->warn_amount > 0 ? bill_warnings(db, a, ctx, p, row) : GW_OK;
}

/* The CDR of a post whose ledger txn is txn (cdrs.txn_id is unique). */
static int
bill_post_cdr(struct gw_db *db, const struct bill_post *p, int64_t txn)
{
    const struct gw_param *q = p->param;
    int64_t                sign = q[BILL_P_CDR_SIGN].i;

    return gw_stmt_exec(
        db, BILL_CDR_SQL,
        GW_ARGS(q[BILL_P_CDR_ID], q[BILL_P_CDR_KIND], GW_I64(txn),
                q[BILL_P_PURCHASE], q[BILL_P_LOBBY_START], q[BILL_P_ITEM],
                q[BILL_P_SKU], q[BILL_P_PROVIDER],
                GW_I64(sign * q[BILL_P_AMOUNT].i), q[BILL_P_CURRENCY],
                GW_I64(sign * q[BILL_P_PSHARE].i),
                GW_I64(sign * q[BILL_P_CSHARE].i), q[BILL_P_DAY],
                q[BILL_P_REFERENCE], q[BILL_P_SUBSCRIBER]));
}

/* The postings (2 or 3 rows, constant: no table read, no lock taken) and
 * the counter-accounts' balances. */
static int
bill_post_legs(struct gw_db *db, const struct bill_ctx *ctx,
               const struct bill_post *p, int64_t txn)
{
    const struct gw_param *q = p->param + BILL_P_ACCOUNT;
    int64_t                acct1 = q[2].i, acct2 = q[4].i;
    int                    rc, want = 1 + (acct2 != 0);

    if (acct2 != 0) {
        rc = gw_stmt_exec(db, BILL_POSTINGS3_SQL,
                          GW_ARGS(GW_I64(txn), q[0], q[1], GW_I64(txn), q[2],
                                  q[3], GW_I64(txn), q[4], q[5]));
    } else {
        rc = gw_stmt_exec(
            db, BILL_POSTINGS2_SQL,
            GW_ARGS(GW_I64(txn), q[0], q[1], GW_I64(txn), q[2], q[3]));
    }
    if (rc == GW_OK) {
        rc = gw_stmt_exec(
            db, BILL_COUNTERS_SQL,
            GW_ARGS(GW_I64(acct1), q[3], q[5], GW_I64(acct1), GW_I64(acct2)));
    }
    if (rc == GW_OK && db->affected != want) {
        gw_log_error(ctx->rid, "ledger accounts missing (subscriber %lld)",
                     (long long) p->subscriber_id);
        return GW_ERROR;
    }
    return rc;
}

/* The first top-up with this reference of this subscriber, as a conflict. */
static int
bill_topup_conflict(struct gw_db *db, struct gw_arena *a, int64_t subscriber_id,
                    const char *reference, struct bill_result *res)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(db, a, &row,
                     "SELECT txn_id, amount FROM topup_references WHERE"
                     " subscriber_id = ? AND reference = ?",
                     GW_ARGS(GW_I64(subscriber_id), GW_STR(reference)));
    if (rc == GW_OK && row != NULL) {
        res->txn_id = gw_db_col_i64(row, 0);
        res->amount = gw_db_col_i64(row, 1);
    }
    return rc != GW_OK ? rc : GW_ECONFLICT;
}

/*
 * A top-up's reference row, unique per subscriber: concurrent top-ups with
 * one reference queue on this key, the second finds the first. Written
 * before the counter-accounts, so their row locks (shared by every
 * subscriber of the bucket) are not held across this round trip too.
 */
static int
bill_topup_reference(struct gw_db *db, struct gw_arena *a,
                     const struct bill_legs *l, int64_t txn,
                     struct bill_result *res)
{
    int rc;

    rc = gw_stmt_exec(db,
                      "INSERT INTO topup_references (subscriber_id,"
                      " reference, txn_id, amount, created_at) VALUES (?, ?,"
                      " ?, ?, UTC_TIMESTAMP(3))",
                      GW_ARGS(GW_I64(l->subscriber_id), GW_STR(l->reference),
                              GW_I64(txn), GW_I64(l->amount)));
    if (rc == GW_EDUP) {
        return bill_topup_conflict(db, a, l->subscriber_id, l->reference, res);
    }
    return rc;
}

int
bill_legs_post(struct gw_db *db, struct gw_arena *a, const struct bill_ctx *ctx,
               const struct bill_legs *l, int64_t warn_amount,
               struct bill_result *res)
{
    struct bill_post p;
    MYSQL_ROW        row = NULL;
    int64_t          txn;
    int              rc;

    rc = bill_post_prepare(db, a, ctx, l, warn_amount, &p);
    if (rc == GW_OK) {
        rc = gw_stmt_row(db, a, &row, BILL_TXN_SQL, p.param, BILL_TXN_NPARAMS);
    }
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ERROR;
    }
    txn = gw_db_col_i64(row, 0);
    if (!l->funding) {
        rc = bill_post_cdr(db, &p, txn);
    }
    if (rc == GW_OK && l->topup) {
        rc = bill_topup_reference(db, a, l, txn, res);
    }
    if (rc == GW_OK) {
        rc = bill_post_legs(db, ctx, &p, txn);
    }
    return rc != GW_OK ? rc : bill_post_done(db, a, ctx, &p, row, res);
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

    rc = gw_stmt_row(db, a, &row,
                     "SELECT status, balance - held - ? >= -credit_limit,"
                     " cap_daily IS NULL OR IF(spent_day_key = ?, spent_day,"
                     " 0) + ? <= cap_daily, cap_monthly IS NULL OR"
                     " IF(spent_month_key = ?, spent_month, 0) + ? <="
                     " cap_monthly FROM accounts WHERE kind = 'subscriber'"
                     " AND owner_id = ? AND bucket = 0 LOCK IN SHARE MODE",
                     GW_ARGS(GW_I64(amount), GW_I64(day), GW_I64(amount),
                             GW_I64(month), GW_I64(amount),
                             GW_I64(subscriber_id)));
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

/* Whom to warn: the charge's notify_user, else the subscriber. */
static int
bill_warn_user(struct gw_db *db, struct gw_arena *a, const struct bill_post *p,
               const char **user)
{
    MYSQL_ROW row;
    int       rc;

    if (p->notify_user != NULL) {
        *user = p->notify_user;
        return GW_OK;
    }
    rc = gw_stmt_row(db, a, &row,
                     "SELECT im_user_id FROM subscribers WHERE id = ?",
                     GW_ARGS(GW_I64(p->subscriber_id)));
    *user = rc == GW_OK && row != NULL ? row[0] : NULL;
    return rc != GW_OK ? rc : *user != NULL ? GW_OK : GW_ENOTFOUND;
}

/*
 * Cap (80%) and low-balance warnings this debit (of p->warn_amount)
 * crossed; row is the post's row: id, balance, plan, cap_daily,
 * spent_day, cap_monthly, spent_month (as the debit left them).
 */
static int
bill_warnings(struct gw_db *db, struct gw_arena *a, const struct bill_ctx *ctx,
              const struct bill_post *p, MYSQL_ROW row)
{
    int64_t     amount = p->warn_amount;
    int64_t     low = ctx->cfg->billing.low_balance_minor;
    int64_t     bal = gw_db_col_i64(row, 1);
    int64_t     cd = gw_db_col_i64(row, 3), sd = gw_db_col_i64(row, 4);
    int64_t     cm = gw_db_col_i64(row, 5), sm = gw_db_col_i64(row, 6);
    const char *cur = ctx->cfg->billing.currency, *user = NULL;
    int         prepaid = row[2] != NULL && strcmp(row[2], "prepaid") == 0;
    int         rc;
    __int128    wd = (__int128) cd * BILL_CAP_WARN_PCT;
    __int128    wm = (__int128) cm * BILL_CAP_WARN_PCT;

    /* Most debits cross nothing: only then look up whom to tell. */
    if (!(cd >= 0 && (__int128) sd * 100 >= wd
          && (__int128) (sd - amount) * 100 < wd)
        && !(cm >= 0 && (__int128) sm * 100 >= wm
             && (__int128) (sm - amount) * 100 < wm)
        && !(prepaid && bal < low && bal + amount >= low)) {
        return GW_OK;
    }
    rc = bill_warn_user(db, a, p, &user);
    if (rc == GW_OK) {
        rc = bill_cap_warning(db, a, user, "daily", cd, sd, amount, cur);
    }
    if (rc == GW_OK) {
        rc = bill_cap_warning(db, a, user, "monthly", cm, sm, amount, cur);
    }
    if (rc == GW_OK && prepaid && bal < low && bal + amount >= low) {
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
    gw_assert(*provider >= 0 && *carrier >= 0
              && *provider + *carrier == amount);
}

int
bill_credit(struct gw_db *db, int64_t subscriber_id, int64_t amount,
            int64_t *account_id)
{
    int rc;

    rc = gw_stmt_exec(db,
                      "UPDATE accounts SET balance = (@vas_bal := balance +"
                      " ?), updated_at = UTC_TIMESTAMP(3), id ="
                      " LAST_INSERT_ID(id) WHERE kind = 'subscriber' AND"
                      " owner_id = ? AND bucket = 0",
                      GW_ARGS(GW_I64(amount), GW_I64(subscriber_id)));
    if (rc != GW_OK) {
        return rc;
    }
    if (db->affected != 1) {
        return GW_ENOTFOUND;
    }
    *account_id = db->insert_id;
    return GW_OK;
}

/* A charge's amount and revenue share are in range. */
static int
bill_charge_ok(const struct bill_charge *c)
{
    return bill_amount_ok(c->amount) && c->share_bp >= 0
        && c->share_bp <= BILL_SHARE_BP_MAX;
}

/* A charge's legs: the subscriber pays, the revenue split exactly. */
static void
bill_charge_legs(const struct bill_charge *c, int64_t account_id,
                 struct bill_legs *legs)
{
    memset(legs, 0, sizeof(*legs));
    legs->account_id = account_id;
    legs->kind = "charge";
    legs->subscriber_id = c->subscriber_id;
    legs->amount = c->amount;
    legs->sign = -1;
    legs->provider_id = c->provider_id;
    legs->reference = c->reference;
    legs->item_id = c->item_id;
    legs->sku = c->sku;
    legs->purchase_id = c->purchase_id;
    legs->notify_user = c->notify_user;
    bill_split(c->amount, c->provider_id, c->share_bp, &legs->provider_share,
               &legs->carrier_share);
}

int
bill_charge_prepare(struct gw_db *db, struct gw_arena *a,
                    const struct bill_ctx *ctx, const struct bill_charge *c,
                    int64_t account_id, struct bill_post *p)
{
    struct bill_legs legs;
    int              rc;

    if (!bill_charge_ok(c)) {
        return GW_EINVAL;
    }
    bill_charge_legs(c, account_id, &legs);
    rc = bill_post_prepare(db, a, ctx, &legs, c->amount, p);
    if (rc == GW_OK) {
        bill_day_keys(ctx->cfg, gw_now_s(), &p->day_key, &p->month_key);
    }
    return rc;
}

int
bill_charge_refused(struct gw_db *db, struct gw_arena *a,
                    const struct bill_post *p)
{
    return bill_debit_refused(db, a, p->subscriber_id, p->amount, p->day_key,
                              p->month_key);
}

int
bill_topup_apply(struct gw_db *db, struct gw_arena *a,
                 const struct bill_ctx *ctx, int64_t subscriber_id,
                 int64_t amount, const char *reference, struct bill_result *res)
{
    struct bill_legs legs = {0};
    int              rc;

    memset(res, 0, sizeof(*res));
    if (!bill_amount_ok(amount) || reference == NULL) {
        return GW_EINVAL;
    }
    rc = bill_credit(db, subscriber_id, amount, &legs.account_id);
    if (rc != GW_OK) {
        return rc;
    }
    legs.kind = "topup";
    legs.subscriber_id = subscriber_id;
    legs.amount = amount;
    legs.sign = 1;
    legs.funding = 1;
    legs.reference = reference;
    legs.topup = 1; /* its reference row: bill_legs_post */
    return bill_legs_post(db, a, ctx, &legs, 0, res);
}

/* The charge to refund, locked: concurrent refunds of it queue here. */
struct bill_charged {
    int64_t     subscriber_id, amount, refunded, provider_id, pshare, item_id;
    int64_t     purchase_id, bucket;
    const char *sku;
};

static int
bill_charge_lock(struct gw_db *db, struct gw_arena *a, int64_t txn_id,
                 struct bill_charged *c)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(db, a, &row,
                     "SELECT t.subscriber_id, t.amount, t.refunded,"
                     " t.provider_id, t.provider_share, COALESCE(c.item_id,"
                     " 0), c.sku, COALESCE(c.purchase_id, 0), t.bucket FROM"
                     " ledger_txns t LEFT JOIN cdrs c ON c.txn_id = t.id"
                     " WHERE t.id = ? AND t.kind IN ('charge', 'capture')"
                     " FOR UPDATE",
                     GW_ARGS(GW_I64(txn_id)));
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    c->subscriber_id = gw_db_col_i64(row, 0);
    c->amount = gw_db_col_i64(row, 1);
    c->refunded = gw_db_col_i64(row, 2);
    c->provider_id = gw_db_col_i64(row, 3);
    c->pshare = gw_db_col_i64(row, 4);
    c->item_id = gw_db_col_i64(row, 5);
    c->sku = row[6];
    c->purchase_id = gw_db_col_i64(row, 7);
    c->bucket = gw_db_col_i64(row, 8);
    gw_assert(c->bucket >= 0 && c->bucket < BILL_BUCKETS);
    return GW_OK;
}

int
bill_refund_apply(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, int64_t charge_txn_id,
                  int64_t amount, const char *reference,
                  struct bill_result *res)
{
    struct bill_legs    legs = {0};
    struct bill_charged c;
    int                 rc;

    memset(res, 0, sizeof(*res));
    if (amount < 0 || amount > BILL_AMOUNT_MAX) {
        return GW_EINVAL;
    }
    rc = bill_charge_lock(db, a, charge_txn_id, &c);
    if (rc != GW_OK) {
        return rc;
    }
    if (amount == 0) {
        amount = c.amount - c.refunded;
    }
    if (amount <= 0 || amount > c.amount - c.refunded) {
        return GW_ECONFLICT;
    }
    /* A refund never exceeds what is left of its charge. */
    gw_assert(c.refunded >= 0 && c.refunded + amount <= c.amount);
    /* Cumulative floors: the provider part of all refunds so far is
     * floor(pshare * refunded / charged), exactly pshare when complete. */
    legs.provider_share =
        (int64_t) ((__int128) c.pshare * (c.refunded + amount) / c.amount)
        - (int64_t) ((__int128) c.pshare * c.refunded / c.amount);
    legs.carrier_share = amount - legs.provider_share;
    gw_assert(legs.provider_share >= 0 && legs.carrier_share >= 0);
    legs.kind = "refund";
    legs.subscriber_id = c.subscriber_id;
    legs.amount = amount;
    legs.sign = 1;
    legs.provider_id = c.provider_id;
    legs.corrects_txn_id = charge_txn_id;
    legs.reference = reference;
    legs.item_id = c.item_id;
    legs.sku = c.sku;
    legs.purchase_id = c.purchase_id;
    legs.refund_bucket = (int) c.bucket + 1;

    rc = gw_stmt_exec(
        db,
        "UPDATE ledger_txns SET refunded = refunded + ? WHERE"
        " id = ? AND refunded + ? <= amount",
        GW_ARGS(GW_I64(amount), GW_I64(charge_txn_id), GW_I64(amount)));
    if (rc == GW_OK && db->affected != 1) {
        rc = GW_ECONFLICT;
    }
    if (rc == GW_OK) {
        rc = bill_credit(db, c.subscriber_id, amount, &legs.account_id);
    }
    if (rc == GW_OK) {
        rc = bill_legs_post(db, a, ctx, &legs, 0, res);
    }
    res->full_refund = c.refunded + amount == c.amount;
    return rc;
}
