/*
 * bill.h — the billing domain: phone accounts and a double-entry ledger in
 * MariaDB (DESIGN.md "Money rules"). No HTTP here.
 *
 * Every function that moves money runs INSIDE the caller's open
 * transaction (gw_db_begin … gw_db_commit): a purchase is one transaction
 * of idempotency record, debit, postings, entitlement, CDR and outbox row.
 * The caller commits; on any error it rolls back and nothing happened.
 *
 * Accounts and signs. Every account has balance = SUM(its postings); a
 * posting is + when money arrives in the account. A subscriber's account
 * holds what the subscriber may spend (prepaid ≥ 0; postpaid ≥ −credit
 * limit). Revenue is split over BILL_BUCKETS rows per provider and for the
 * carrier (bucket = subscriber id mod BILL_BUCKETS) so concurrent
 * purchases of different subscribers never queue on one row lock. Top-ups
 * come from the "funding" accounts (cash received), also bucketed.
 *
 * Amounts are int64 minor units (fen). A charge's revenue split is
 * provider = amount * share_bp / 10000 (floor), carrier = the rest, so the
 * parts add up exactly; refunds return each part pro rata by cumulative
 * floors, so a full refund returns each part exactly.
 *
 * Errors: GW_EFUNDS, GW_ECAP, GW_ESUSPENDED, GW_ENOTFOUND, GW_EINVAL,
 * GW_ECONFLICT (state: hold not pending, refund above charge), GW_EEXPIRED
 * (hold expired), GW_ERETRY (deadlock: roll back, retry), database errors.
 *
 * Thread-safety: functions are reentrant; the db belongs to the caller's
 * thread.
 */
#ifndef BILL_H
#define BILL_H

#include <stdint.h>
#include <stdio.h>

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_assert.h"
#include "gw_db.h"
#include "gw_stmt.h"

#define BILL_BUCKETS       64
#define BILL_AMOUNT_MAX    100000000000LL /* 10^11 fen per movement */
#define BILL_SHARE_BP_MAX  10000
#define BILL_CAP_WARN_PCT  80
#define BILL_REFERENCE_MAX 128
#define BILL_REASON_MAX    255
#define BILL_ACTOR_MAX     80
#define BILL_MSISDN_MIN    8
#define BILL_MSISDN_MAX    15

/* Who acts and why: recorded on every ledger transaction. */
struct bill_ctx {
    const struct gw_config *cfg;
    const char             *actor;  /* "u:<im user>", "a:<key id>", "vasctl" */
    const char             *reason; /* free text or NULL */
    const char             *rid;    /* request id for logs */
};

struct bill_subscriber {
    int64_t     id;
    int64_t     account_id;
    const char *im_user_id;
    const char *msisdn;
    const char *plan;   /* "prepaid" | "postpaid" */
    const char *status; /* "active" | "suspended" */
    const char *currency;
    int64_t     balance;
    int64_t     held;
    int64_t     credit_limit;
    int64_t     cap_daily;   /* -1: no cap */
    int64_t     cap_monthly; /* -1: no cap */
    int64_t     spent_today;
    int64_t     spent_month;
    const char *created_at;
};

/* 1 when s is 8..15 digits (E.164 without '+'). */
int bill_msisdn_valid(const char *s);

/* "8613812345678" → "138****5678" (national part masked) into out[32]. */
void bill_msisdn_mask(const char *msisdn, char *out, size_t cap);

/* Business day (UTC + day_offset_min) as YYYYMMDD and YYYYMM for time t. */
void bill_day_keys(const struct gw_config *cfg, int64_t t, int *day,
                   int *month);

/*
 * Creates a subscriber and its account (own transaction NOT required: it
 * runs inside the caller's). plan "prepaid"|"postpaid"; caps -1 = none.
 * GW_ECONFLICT when the IM user or MSISDN is already bound.
 */
int bill_subscriber_create(struct gw_db *db, const struct bill_ctx *ctx,
                           const char *im_user_id, const char *msisdn,
                           const char *plan, int64_t credit_limit,
                           int64_t cap_daily, int64_t cap_monthly,
                           int64_t *subscriber_id) GW_MUST_CHECK;

/* Looks up by IM user id / MSISDN / id (strings live in the arena). */
int bill_subscriber_by_user(struct gw_db *db, struct gw_arena *a,
                            const struct gw_config *cfg, const char *im_user_id,
                            struct bill_subscriber *out);
int bill_subscriber_by_msisdn(struct gw_db *db, struct gw_arena *a,
                              const struct gw_config *cfg, const char *msisdn,
                              struct bill_subscriber *out);
int bill_subscriber_by_id(struct gw_db *db, struct gw_arena *a,
                          const struct gw_config *cfg, int64_t id,
                          struct bill_subscriber *out);

/*
 * Changes status ("active"|"suspended", NULL = keep), credit limit and caps
 * (BILL_KEEP = keep, -1 = remove the cap). A credit limit below what the
 * account already owes (balance - held < -limit) is GW_ECONFLICT and
 * nothing changes.
 */
#define BILL_KEEP INT64_MIN
int bill_subscriber_update(struct gw_db *db, const struct bill_ctx *ctx,
                           int64_t subscriber_id, const char *status,
                           int64_t credit_limit, int64_t cap_daily,
                           int64_t cap_monthly) GW_MUST_CHECK;

/* Ensures the BILL_BUCKETS revenue accounts of a content provider exist. */
int bill_provider_accounts_ensure(struct gw_db *db, int64_t provider_id,
                                  const char *currency) GW_MUST_CHECK;

/* A charge: debit a subscriber, credit provider and carrier revenue. */
struct bill_charge {
    int64_t     subscriber_id;
    int64_t     amount;      /* > 0 */
    int64_t     provider_id; /* 0: all revenue to the carrier */
    int64_t     share_bp;    /* provider's share, 0..10000 */
    const char *reference;   /* e.g. "purchase:123" (CDR, reconciliation) */
    int64_t     item_id;     /* for the CDR, 0 if none */
    const char *sku;         /* for the CDR, may be NULL */
    const char *notify_user; /* IM user for warnings (NULL: subscriber's) */
    int64_t     purchase_id; /* for the CDR (cdrs.purchase_id), 0 if none */
};

struct bill_result {
    int64_t txn_id;
    int64_t balance_after; /* the subscriber's balance */
    int64_t provider_share;
    int64_t carrier_share;
    int64_t amount; /* what moved */
    char    cdr_id[33];
    int     full_refund; /* refunds: the charge is now fully refunded */
};

/*
 * A charge's ledger post, sent by the caller with its own writes
 * in one prepared CALL of a stored procedure (the store's purchase,
 * migrations/028, 032): bill_charge_prepare checks the charge (GW_EINVAL)
 * and computes the spend counters' keys, the split, the legs and
 * the counter-accounts (asserting the double entry) and fills p->param
 * with vas_ledger_post's IN list (BILL_POST_NPARAMS parameters, in its
 * order), which the caller's procedure passes on; bill_post_done reads
 * the CALL's row (txn id, balance, plan, cap_daily, spent_day,
 * cap_monthly, spent_month: vas_buy's columns from the fifth on) into res and
 * queues the warnings the debit crossed. p's parameters point into p itself:
 * keep it in place between the two calls.
 */
#define BILL_POST_NPARAMS 27

struct bill_post {
    struct gw_param param[BILL_POST_NPARAMS];
    int64_t         subscriber_id, amount, provider_share, carrier_share;
    int64_t         warn_amount; /* > 0: queue the warnings it crossed */
    const char     *notify_user;
    char            cdr_id[33];
    char            day[16];
    int             day_key, month_key; /* a charge's spend counters */
};

int bill_charge_prepare(struct gw_db *db, struct gw_arena *a,
                        const struct bill_ctx *ctx, const struct bill_charge *c,
                        int64_t account_id, struct bill_post *p) GW_MUST_CHECK;
int bill_post_done(struct gw_db *db, struct gw_arena *a,
                   const struct bill_ctx *ctx, const struct bill_post *p,
                   MYSQL_ROW row, struct bill_result *res) GW_MUST_CHECK;

/*
 * A caller's procedure that also makes the charge's conditional debit
 * (CALL vas_debit, migrations/032: the one place every money limit is
 * written, with p->day_key and p->month_key) and found it matched no row: why
 * (GW_ESUSPENDED, GW_EFUNDS, GW_ECAP), or GW_ERETRY when the row changed in
 * between. A locking read.
 */
int bill_charge_refused(struct gw_db *db, struct gw_arena *a,
                        const struct bill_post *p) GW_MUST_CHECK;

/*
 * Refunds amount (0 = all that is left) of the charge (or capture)
 * transaction charge_txn_id: credit the subscriber, debit the revenue
 * pro rata. Total refunds never exceed the charge (GW_ECONFLICT).
 */
int bill_refund_apply(struct gw_db *db, struct gw_arena *a,
                      const struct bill_ctx *ctx, int64_t charge_txn_id,
                      int64_t amount, const char *reference,
                      struct bill_result *res) GW_MUST_CHECK;

/*
 * A top-up (prepaid) or payment received (postpaid): credit a subscriber.
 * The reference is unique per subscriber: a second top-up with it is
 * GW_ECONFLICT with res->txn_id and res->amount of the first.
 */
int bill_topup_apply(struct gw_db *db, struct gw_arena *a,
                     const struct bill_ctx *ctx, int64_t subscriber_id,
                     int64_t amount, const char *reference,
                     struct bill_result *res) GW_MUST_CHECK;

/*
 * Two-phase charges (TigerBeetle's pending transfers): reserve holds
 * amount (counted against balance, credit limit and caps) until
 * hold_ttl_s; capture takes part or all of it as a charge and releases the
 * rest; release gives it back. Capture after expiry is GW_EEXPIRED.
 */
struct bill_hold {
    int64_t     subscriber_id;
    int64_t     amount;
    int64_t     provider_id;
    int64_t     share_bp;
    const char *reference;
    int64_t     item_id;
    const char *sku;
};

int bill_hold_reserve(struct gw_db *db, struct gw_arena *a,
                      const struct bill_ctx *ctx, const struct bill_hold *h,
                      int64_t *hold_id) GW_MUST_CHECK;
int bill_hold_capture(struct gw_db *db, struct gw_arena *a,
                      const struct bill_ctx *ctx, int64_t hold_id,
                      int64_t amount, struct bill_result *res) GW_MUST_CHECK;
/*
 * bill_hold_capture with the CDR naming the lobby start it pays for
 * (cdrs.lobby_start_id; the CDR's kind is 'capture'). One capture is one
 * ledger transaction and one CDR (cdrs.txn_id is unique).
 */
int bill_hold_capture_start(struct gw_db *db, struct gw_arena *a,
                            const struct bill_ctx *ctx, int64_t hold_id,
                            int64_t amount, int64_t lobby_start_id,
                            struct bill_result *res) GW_MUST_CHECK;
int bill_hold_release(struct gw_db *db, struct gw_arena *a,
                      const struct bill_ctx *ctx,
                      int64_t                hold_id) GW_MUST_CHECK;

/* Expires up to limit stale holds (own transactions). Count or < 0. */
int bill_holds_expire(struct gw_db *db, struct gw_arena *a,
                      const struct bill_ctx *ctx, int limit);

/*
 * Checks every ledger invariant of DESIGN.md over the whole database and
 * prints each violation with ids to out. Returns the number of
 * violations (0 = clean) or < 0 when the check itself failed.
 */
int bill_audit_run(struct gw_db *db, FILE *out);

/*
 * The ledger checks themselves (static table, n set to its length), for
 * `vasctl audit`, which runs them with the store's under one snapshot.
 */
struct gw_check;
const struct gw_check *bill_audit_checks(size_t *n);

#endif /* BILL_H */
