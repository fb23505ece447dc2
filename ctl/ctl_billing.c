/*
 * ctl_billing.c — vasctl's billing and finance commands: subscribers,
 * top-ups, refunds and the ledger audit (CDR export: ctl_finance.c). They call
 * the same billing/ functions as the HTTP API, each in one transaction.
 *
 * Idempotency from the command line: a top-up is keyed by its --reference
 * and a refund by its --key (default: "TXN:AMOUNT:REASON"), through the
 * same protocol as the HTTP API (gw_idem: named lock, record in the same
 * transaction), so re-running a command that may or may not have gone
 * through never moves money twice. A top-up reference is also unique per
 * subscriber across HTTP and vasctl (billing refuses a second use).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bill.h"
#include "ctl.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "store.h"
#include "gw_status.h"
#include "gw_util.h"

static int ctl_subscriber_add(struct ctl *c, int argc, char **argv);
static int ctl_subscriber_show(struct ctl *c, int argc, char **argv);
static int ctl_subscriber_suspend(struct ctl *c, int argc, char **argv);
static int ctl_subscriber_resume(struct ctl *c, int argc, char **argv);
static int ctl_topup(struct ctl *c, int argc, char **argv);
static int ctl_refund(struct ctl *c, int argc, char **argv);
static int ctl_hold_reserve(struct ctl *c, int argc, char **argv);
static int ctl_hold_capture(struct ctl *c, int argc, char **argv);
static int ctl_hold_release(struct ctl *c, int argc, char **argv);
static int ctl_hold_expire(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_subscriber_add[] = {
    {"--credit-limit", "FEN", "postpaid credit limit (default 0)", 0},
    {"--cap-daily", "FEN", "daily spending cap (default: none)", 0},
    {"--cap-monthly", "FEN", "monthly spending cap (default: none)", 0},
    {0}};

static const struct ctl_option ctl_opts_reason[] = {
    {"--reason", "TEXT", "why (kept in the audit trail)", CTL_OPT_TEXT}, {0}};

static const struct ctl_option ctl_opts_topup[] = {
    {"--reference", "REF",
     "the payment's reference; a re-run with the same one changes nothing",
     CTL_OPT_REQUIRED | CTL_OPT_TEXT},
    {"--reason", "TEXT", "why (kept in the audit trail)", CTL_OPT_TEXT},
    {0}};

static const struct ctl_option ctl_opts_refund[] = {
    {"--reason", "TEXT", "why (kept in the audit trail)",
     CTL_OPT_REQUIRED | CTL_OPT_TEXT},
    {"--key", "KEY",
     "idempotency key (default: TXN:AMOUNT:REASON); a re-run replays",
     CTL_OPT_TEXT},
    {0}};

static const struct ctl_option ctl_opts_hold_reserve[] = {
    {"--provider", "ID", "content provider who shares the revenue", 0},
    {"--share-bp", "BP", "the provider's share in basis points", 0},
    {"--reference", "REF", "the caller's reference for the hold", CTL_OPT_TEXT},
    {"--reason", "TEXT", "why (kept in the audit trail)", CTL_OPT_TEXT},
    {0}};

const struct ctl_command ctl_billing_commands[] = {
    {"subscriber add", ctl_subscriber_add, "IM_USER MSISDN prepaid|postpaid", 3,
     3, ctl_opts_subscriber_add, "bind an IM user to a new phone account", NULL,
     0},
    {"subscriber show", ctl_subscriber_show, "MSISDN", 1, 1, NULL,
     "print a subscriber with balance, caps and status (JSON)", NULL, 0},
    {"subscriber suspend", ctl_subscriber_suspend, "MSISDN", 1, 1,
     ctl_opts_reason, "suspend a phone account (no further charges)", NULL, 0},
    {"subscriber resume", ctl_subscriber_resume, "MSISDN", 1, 1,
     ctl_opts_reason, "reactivate a suspended phone account", NULL, 0},
    {"topup", ctl_topup, "MSISDN AMOUNT", 2, 2, ctl_opts_topup,
     "credit a phone account (prepaid top-up or postpaid payment)",
     "AMOUNT is in fen (minor units). Idempotent by --reference.", 0},
    {"refund", ctl_refund, "TXN_ID [AMOUNT]", 1, 2, ctl_opts_refund,
     "refund all or part of a charge transaction",
     "Without AMOUNT the whole remaining charge is refunded. A purchase's"
     " charge is\nrefunded as that purchase (the store's refund: entitlement"
     " and user follow).",
     0},
    {"hold reserve", ctl_hold_reserve, "MSISDN AMOUNT", 2, 2,
     ctl_opts_hold_reserve, "reserve funds (two-phase charge); prints the id",
     NULL, 0},
    {"hold capture", ctl_hold_capture, "HOLD_ID [AMOUNT]", 1, 2, NULL,
     "charge all or part of a pending hold; the rest is released", NULL, 0},
    {"hold release", ctl_hold_release, "HOLD_ID", 1, 1, NULL,
     "release a pending hold without charging", NULL, 0},
    {"hold expire", ctl_hold_expire, "", 0, 0, NULL,
     "release every pending hold past its expiry now (the janitor's job)", NULL,
     0},
    {0}};

static const char *
ctl_actor(void)
{
    static char actor[BILL_ACTOR_MAX];
    const char *user = getenv("SUDO_USER");

    if (user == NULL) {
        user = getenv("USER");
    }
    snprintf(actor, sizeof(actor), "vasctl:%s", user ? user : "?");
    return actor;
}

static void
ctl_bill_ctx(struct ctl *c, struct bill_ctx *ctx, const char *reason)
{
    ctx->cfg = c->cfg;
    ctx->actor = ctl_actor();
    ctx->reason = reason;
    ctx->rid = NULL;
}

static int
ctl_amount(const char *s, int64_t min, int64_t *out)
{
    if (s == NULL || gw_parse_i64(s, strlen(s), out) != 0 || *out < min
        || *out > BILL_AMOUNT_MAX) {
        fprintf(stderr, "vasctl: '%s' is not an amount in fen (%lld..%lld)\n",
                s ? s : "", (long long) min, (long long) BILL_AMOUNT_MAX);
        return -1;
    }
    return 0;
}

static int
ctl_fail(int rc, const char *what)
{
    fprintf(stderr, "vasctl: %s: %s\n", what, gw_status_title(rc));
    return 1;
}

static void
ctl_subscriber_print(const struct bill_subscriber *s)
{
    printf("{\"id\":%lld,\"im_user_id\":\"%s\",\"msisdn\":\"%s\","
           "\"plan\":\"%s\",\"status\":\"%s\",\"balance\":%lld,"
           "\"held\":%lld,\"credit_limit\":%lld,\"currency\":\"%s\","
           "\"cap_daily\":%lld,\"cap_monthly\":%lld,\"spent_today\":%lld,"
           "\"spent_month\":%lld}\n",
           (long long) s->id, s->im_user_id, s->msisdn, s->plan, s->status,
           (long long) s->balance, (long long) s->held,
           (long long) s->credit_limit, s->currency, (long long) s->cap_daily,
           (long long) s->cap_monthly, (long long) s->spent_today,
           (long long) s->spent_month);
}

static int
ctl_subscriber_add(struct ctl *c, int argc, char **argv)
{
    struct bill_ctx ctx;
    const char     *opt;
    int64_t         limit = 0, daily = -1, monthly = -1, id;
    int             rc;

    if (argc < 3 || !bill_msisdn_valid(argv[1])
        || (strcmp(argv[2], "prepaid") != 0 && strcmp(argv[2], "postpaid") != 0)
        || !gw_is_token(argv[0], strlen(argv[0]), GW_USER_ID_MAX)) {
        fprintf(stderr,
                "vasctl: want IM_USER (token of at most %d bytes),"
                " MSISDN (E.164 digits) and prepaid|postpaid\n",
                GW_USER_ID_MAX);
        return 2;
    }
    if (((opt = ctl_opt(argc, argv, "--credit-limit")) != NULL
         && ctl_amount(opt, 0, &limit) != 0)
        || ((opt = ctl_opt(argc, argv, "--cap-daily")) != NULL
            && ctl_amount(opt, 0, &daily) != 0)
        || ((opt = ctl_opt(argc, argv, "--cap-monthly")) != NULL
            && ctl_amount(opt, 0, &monthly) != 0)) {
        return 2;
    }
    if (strcmp(argv[2], "prepaid") == 0 && limit != 0) {
        fprintf(stderr, "vasctl: a prepaid account has no credit limit\n");
        return 2;
    }
    ctl_bill_ctx(c, &ctx, "subscriber created");
    rc = gw_db_begin(&c->t.db);
    if (rc == GW_OK) {
        rc = bill_subscriber_create(&c->t.db, &ctx, argv[0], argv[1], argv[2],
                                    limit, daily, monthly, &id);
    }
    rc = rc == GW_OK ? gw_db_commit(&c->t.db) : (gw_db_rollback(&c->t.db), rc);
    if (rc == GW_ECONFLICT) {
        fprintf(stderr, "vasctl: %s or %s is already bound\n", argv[0],
                argv[1]);
        return 1;
    }
    if (rc != GW_OK) {
        return ctl_fail(rc, "subscriber add");
    }
    printf("subscriber %lld: %s <-> %s (%s)\n", (long long) id, argv[0],
           argv[1], argv[2]);
    return 0;
}

static int
ctl_subscriber_show(struct ctl *c, int argc, char **argv)
{
    struct bill_subscriber s;
    int                    rc;

    (void) argc;
    rc = bill_subscriber_by_msisdn(&c->t.db, &c->t.arena, c->cfg, argv[0], &s);
    if (rc != GW_OK) {
        return ctl_fail(rc, argv[0]);
    }
    ctl_subscriber_print(&s);
    return 0;
}

static int
ctl_subscriber_status(struct ctl *c, int argc, char **argv, const char *status)
{
    struct bill_subscriber s;
    struct bill_ctx        ctx;
    int                    rc;

    (void) argc;
    rc = bill_subscriber_by_msisdn(&c->t.db, &c->t.arena, c->cfg, argv[0], &s);
    if (rc == GW_OK) {
        ctl_bill_ctx(c, &ctx, ctl_opt(argc, argv, "--reason"));
        rc = bill_subscriber_update(&c->t.db, &ctx, s.id, status, BILL_KEEP,
                                    BILL_KEEP, BILL_KEEP);
    }
    if (rc != GW_OK) {
        return ctl_fail(rc, argv[0]);
    }
    printf("%s is %s\n", argv[0], status);
    return 0;
}

static int
ctl_subscriber_suspend(struct ctl *c, int argc, char **argv)
{
    return ctl_subscriber_status(c, argc, argv, "suspended");
}

static int
ctl_subscriber_resume(struct ctl *c, int argc, char **argv)
{
    return ctl_subscriber_status(c, argc, argv, "active");
}

/*
 * The one idempotency protocol (gw_idem.h) from the command line: the
 * named lock on (scope, key), then the stored result: GW_OK (go on),
 * GW_EDUP with *stored = the earlier result (NULL when the key was used
 * for another request) or GW_EIDEM_BUSY (the same command is running).
 */
static int
ctl_idem_begin(struct ctl *c, const char *scope, const char *key,
               const char *request, const char **stored)
{
    struct gw_idem_rec rec;
    char               hash[65];
    int                rc;

    *stored = NULL;
    rc = gw_idem_lock(&c->t.db, &c->t.arena, scope, key, &rec);
    if (rc != GW_OK || rec.req_hash == NULL) {
        return rc;
    }
    gw_sha256_hex(request, strlen(request), hash);
    if (strcmp(rec.req_hash, hash) == 0) {
        *stored = rec.body;
    }
    return GW_EDUP;
}

static int
ctl_idem_save(struct ctl *c, const char *scope, const char *key,
              const char *request, const char *result)
{
    char hash[65];

    gw_sha256_hex(request, strlen(request), hash);
    return gw_idem_record(&c->t.db, scope, key, hash, 201, result);
}

/* Commits, or rolls back; prints the result (or the earlier one). */
static int
ctl_finish(struct ctl *c, int rc, const char *result, const char *stored,
           const char *what, const char *detail)
{
    if (rc == GW_OK) {
        rc = gw_db_commit(&c->t.db);
    } else {
        gw_db_rollback(&c->t.db);
    }
    gw_idem_unlock(&c->t.db);
    if (rc == GW_EDUP) {
        if (stored == NULL) {
            fprintf(stderr,
                    "vasctl: %s: this key was used for another"
                    " request\n",
                    what);
            return 1;
        }
        printf("%s (replayed: already done)\n", stored);
        return 0;
    }
    if (rc != GW_OK) {
        if (detail != NULL && detail[0] != '\0') {
            fprintf(stderr, "vasctl: %s: %s (%s)\n", what, gw_status_title(rc),
                    detail);
            return 1;
        }
        return ctl_fail(rc, what);
    }
    printf("%s\n", result);
    return 0;
}

static int
ctl_topup(struct ctl *c, int argc, char **argv)
{
    struct bill_subscriber s;
    struct bill_result     res = {0};
    struct bill_ctx        ctx;
    const char            *ref = ctl_opt(argc, argv, "--reference"), *stored;
    char                   request[128], result[256], detail[160] = "";
    int64_t                amount;
    int                    rc;

    /* The HTTP top-up's rule: 1 to BILL_REFERENCE_MAX characters (the
     * framework has checked the rest of it, CTL_OPT_TEXT). */
    if (argc < 2 || ref == NULL
        || gw_text_fault(ref, BILL_REFERENCE_MAX, 0) != NULL) {
        fprintf(stderr,
                "vasctl: --reference of 1 to %d characters is required\n",
                BILL_REFERENCE_MAX);
        return 2;
    }
    if (ctl_amount(argv[1], 1, &amount) != 0) {
        return 2;
    }
    ctl_bill_ctx(c, &ctx, ctl_opt(argc, argv, "--reason"));
    snprintf(request, sizeof(request), "%s:%lld", argv[0], (long long) amount);
    rc = ctl_idem_begin(c, "vasctl:topup", ref, request, &stored);
    if (rc == GW_OK) {
        rc = bill_subscriber_by_msisdn(&c->t.db, &c->t.arena, c->cfg, argv[0],
                                       &s);
    }
    if (rc == GW_OK) {
        rc = gw_db_begin(&c->t.db);
    }
    if (rc == GW_OK) {
        rc = bill_topup_apply(&c->t.db, &c->t.arena, &ctx, s.id, amount, ref,
                              &res);
    }
    if (rc == GW_ECONFLICT) {
        snprintf(detail, sizeof(detail),
                 "reference %s was used by top-up txn %lld (amount %lld)", ref,
                 (long long) res.txn_id, (long long) res.amount);
    }
    snprintf(result, sizeof(result), "topup txn %lld: %s +%lld, balance %lld",
             (long long) res.txn_id, argv[0], (long long) amount,
             (long long) res.balance_after);
    if (rc == GW_OK) {
        rc = ctl_idem_save(c, "vasctl:topup", ref, request, result);
    }
    return ctl_finish(c, rc, result, stored, "topup", detail);
}

/*
 * Refunds go through the store's one entry point: a purchase's charge is
 * refunded as that purchase (entitlement, notifications, webhook), any
 * other charge as a ledger refund.
 */
static int
ctl_refund(struct ctl *c, int argc, char **argv)
{
    struct store_ctx    sc;
    struct store_refund f;
    const char         *reason = ctl_opt(argc, argv, "--reason");
    const char         *key = ctl_opt(argc, argv, "--key"), *stored = NULL;
    char                request[512], result[256];
    int64_t             txn, amount = 0;
    int                 rc;

    if (argc < 1 || reason == NULL
        || gw_parse_i64(argv[0], strlen(argv[0]), &txn) != 0) {
        fprintf(stderr, "vasctl: TXN_ID is a transaction number\n");
        return 2;
    }
    if (argc > 1 && argv[1][0] != '-' && ctl_amount(argv[1], 1, &amount) != 0) {
        return 2;
    }
    snprintf(request, sizeof(request), "%lld:%lld:%s", (long long) txn,
             (long long) amount, reason);
    if (key == NULL) {
        key = request;
    }
    memset(&f, 0, sizeof(f));
    f.charge_txn_id = txn;
    f.amount = amount;
    f.reason = reason;
    store_ctx_init(&sc, &c->t.db, &c->t.arena, c->cfg, ctl_actor(), NULL);
    rc = ctl_idem_begin(c, "vasctl:refund", key, request, &stored);
    if (rc == GW_OK) {
        rc = gw_db_begin(&c->t.db);
    }
    if (rc == GW_OK) {
        rc = store_refund_apply(&sc, &f);
    }
    snprintf(result, sizeof(result),
             "refund txn %lld of txn %lld: %lld (provider %lld, carrier"
             " %lld)%s",
             (long long) f.res.txn_id, (long long) txn,
             (long long) f.res.amount, (long long) f.res.provider_share,
             (long long) f.res.carrier_share, f.full ? ", fully refunded" : "");
    if (rc == GW_OK) {
        rc = ctl_idem_save(c, "vasctl:refund", key, request, result);
    }
    return ctl_finish(c, rc, result, stored, "refund", sc.detail);
}

static int
ctl_hold_reserve(struct ctl *c, int argc, char **argv)
{
    struct bill_subscriber s;
    struct bill_hold       h = {0};
    struct bill_ctx        ctx;
    const char            *opt;
    int64_t                id = 0;
    int                    rc;

    if (argc < 2 || ctl_amount(argv[1], 1, &h.amount) != 0) {
        return 2;
    }
    if ((opt = ctl_opt(argc, argv, "--provider")) != NULL
        && gw_parse_i64(opt, strlen(opt), &h.provider_id) != 0) {
        fprintf(stderr, "vasctl: --provider wants a provider id\n");
        return 2;
    }
    if ((opt = ctl_opt(argc, argv, "--share-bp")) != NULL
        && gw_parse_i64(opt, strlen(opt), &h.share_bp) != 0) {
        fprintf(stderr, "vasctl: --share-bp wants basis points\n");
        return 2;
    }
    h.reference = ctl_opt(argc, argv, "--reference");
    ctl_bill_ctx(c, &ctx, ctl_opt(argc, argv, "--reason"));
    rc = gw_db_begin(&c->t.db);
    if (rc == GW_OK) {
        rc = bill_subscriber_by_msisdn(&c->t.db, &c->t.arena, c->cfg, argv[0],
                                       &s);
    }
    if (rc == GW_OK) {
        h.subscriber_id = s.id;
        rc = bill_hold_reserve(&c->t.db, &c->t.arena, &ctx, &h, &id);
    }
    rc = rc == GW_OK ? gw_db_commit(&c->t.db) : (gw_db_rollback(&c->t.db), rc);
    if (rc != GW_OK) {
        return ctl_fail(rc, "hold reserve");
    }
    printf("%lld\n", (long long) id);
    return 0;
}

static int
ctl_hold_settle(struct ctl *c, int argc, char **argv, int capture)
{
    struct bill_result res = {0};
    struct bill_ctx    ctx;
    int64_t            id, amount = 0;
    int                rc;

    if (argc < 1 || gw_parse_i64(argv[0], strlen(argv[0]), &id) != 0) {
        fprintf(stderr, "vasctl: HOLD_ID is a hold number\n");
        return 2;
    }
    if (capture && argc > 1 && ctl_amount(argv[1], 0, &amount) != 0) {
        return 2;
    }
    ctl_bill_ctx(c, &ctx, capture ? "hold captured" : "hold released");
    rc = gw_db_begin(&c->t.db);
    if (rc == GW_OK) {
        rc = capture
            ? bill_hold_capture(&c->t.db, &c->t.arena, &ctx, id, amount, &res)
            : bill_hold_release(&c->t.db, &c->t.arena, &ctx, id);
    }
    rc = rc == GW_OK ? gw_db_commit(&c->t.db) : (gw_db_rollback(&c->t.db), rc);
    if (rc != GW_OK) {
        return ctl_fail(rc, capture ? "hold capture" : "hold release");
    }
    if (capture) {
        printf("hold %lld captured %lld: txn %lld, balance %lld\n",
               (long long) id, (long long) res.amount, (long long) res.txn_id,
               (long long) res.balance_after);
    } else {
        printf("hold %lld released\n", (long long) id);
    }
    return 0;
}

static int
ctl_hold_capture(struct ctl *c, int argc, char **argv)
{
    return ctl_hold_settle(c, argc, argv, 1);
}

static int
ctl_hold_release(struct ctl *c, int argc, char **argv)
{
    return ctl_hold_settle(c, argc, argv, 0);
}

static int
ctl_hold_expire(struct ctl *c, int argc, char **argv)
{
    struct bill_ctx ctx;
    int             n;

    (void) argc;
    (void) argv;
    ctl_bill_ctx(c, &ctx, "hold expired");
    n = bill_holds_expire(&c->t.db, &c->t.arena, &ctx, 1000);
    if (n < 0) {
        return ctl_fail(GW_ERROR, "hold expire");
    }
    printf("%d hold(s) expired\n", n);
    return 0;
}
