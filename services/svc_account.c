/*
 * svc_account.c — GET /v1/me and the admin subscriber and top-up
 * endpoints: request validation and JSON around billing/.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "bill.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "svc_account.h"
#include "svc_tx.h"

void
svc_account_ctx(struct gw_request *r, struct bill_ctx *ctx, const char *reason)
{
    ctx->cfg = r->cfg;
    ctx->actor = r->caller ? r->caller : "anonymous";
    ctx->reason = reason;
    ctx->rid = r->request_id;
}

int
svc_account_caller(struct gw_request *r, struct bill_subscriber *sub)
{
    int rc;

    rc =
        bill_subscriber_by_user(&r->thr->db, r->arena, r->cfg, r->user_id, sub);
    if (rc == GW_ENOTFOUND) {
        gw_request_problem(r, "IM user %s is not bound to a phone account",
                           r->user_id);
        return GW_EFORBIDDEN;
    }
    return rc;
}

static cJSON *
svc_account_cap(int64_t cap)
{
    return cap < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double) cap);
}

/* The fields /v1/me and the admin view share. */
static cJSON *
svc_account_json(struct gw_request *r, const struct bill_subscriber *s,
                 int admin)
{
    cJSON *o = gw_json_own(r->arena, cJSON_CreateObject());
    cJSON *caps, *spent;
    char   masked[32];

    if (o == NULL) {
        return NULL;
    }
    if (admin) {
        cJSON_AddNumberToObject(o, "id", (double) s->id);
        cJSON_AddStringToObject(o, "im_user_id", s->im_user_id);
        cJSON_AddStringToObject(o, "msisdn", s->msisdn);
    } else {
        bill_msisdn_mask(s->msisdn, masked, sizeof(masked));
        cJSON_AddStringToObject(o, "user_id", s->im_user_id);
        cJSON_AddStringToObject(o, "msisdn", masked);
    }
    cJSON_AddStringToObject(o, "plan", s->plan);
    cJSON_AddNumberToObject(o, "balance", (double) s->balance);
    cJSON_AddNumberToObject(o, "held", (double) s->held);
    cJSON_AddNumberToObject(o, "available",
                            (double) (s->balance - s->held + s->credit_limit));
    cJSON_AddNumberToObject(o, "credit_limit", (double) s->credit_limit);
    cJSON_AddStringToObject(o, "currency", s->currency);
    caps = cJSON_AddObjectToObject(o, "caps");
    cJSON_AddItemToObject(caps, "daily", svc_account_cap(s->cap_daily));
    cJSON_AddItemToObject(caps, "monthly", svc_account_cap(s->cap_monthly));
    spent = cJSON_AddObjectToObject(o, "spent");
    cJSON_AddNumberToObject(spent, "today", (double) s->spent_today);
    cJSON_AddNumberToObject(spent, "month", (double) s->spent_month);
    cJSON_AddStringToObject(o, "status", s->status);
    if (admin) {
        cJSON_AddStringToObject(o, "created_at", s->created_at);
    }
    return o;
}

int
svc_account_me(struct gw_request *r)
{
    struct bill_subscriber sub;
    cJSON                 *o;
    int                    rc;

    rc = svc_account_caller(r, &sub);
    if (rc != GW_OK) {
        return rc;
    }
    o = svc_account_json(r, &sub, 0);
    if (o == NULL) {
        return GW_ERROR;
    }
    gw_reply_header(r, "Cache-Control", "no-store");
    return gw_reply_json(r, 200, o) == 0 ? GW_OK : GW_ERROR;
}

/* The {msisdn} of the path: 400 when malformed. */
static int
svc_account_path_msisdn(struct gw_request *r, const char **msisdn)
{
    *msisdn = gw_request_route_param(r, 0);
    if (*msisdn == NULL || !bill_msisdn_valid(*msisdn)) {
        gw_request_problem(r,
                           "MSISDN must be 8 to 15 digits, country code"
                           " included, without '+'");
        return GW_EINVAL;
    }
    return GW_OK;
}

static int
svc_account_problem(struct gw_request *r, int rc, const char *why)
{
    if (rc == GW_EINVAL && why != NULL) {
        gw_request_problem(r, "%s", why);
    }
    return rc;
}

/* caps: {"daily"?: int|null, "monthly"?: int|null}; BILL_KEEP if absent. */
static int
svc_account_caps(struct gw_request *r, int64_t *daily, int64_t *monthly)
{
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(r->json, "caps");
    const char  *why = NULL;
    const char  *names[2] = {"daily", "monthly"};
    int64_t     *outs[2] = {daily, monthly};
    int          i, rc, present;

    *daily = *monthly = BILL_KEEP;
    if (caps == NULL) {
        return GW_OK;
    }
    if (!cJSON_IsObject(caps)) {
        gw_request_problem(r, "'caps' must be an object");
        return GW_EINVAL;
    }
    for (i = 0; i < 2; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(caps, names[i]);
        if (f != NULL && cJSON_IsNull(f)) {
            *outs[i] = -1;
            continue;
        }
        rc = gw_json_get_i64(r->arena, caps, names[i], 0, 0, BILL_AMOUNT_MAX,
                             outs[i], &present, &why);
        if (rc != GW_OK) {
            return svc_account_problem(r, rc, why);
        }
    }
    return GW_OK;
}

static int
svc_admin_reply_subscriber(struct gw_request *r, int status, int64_t id,
                           const char *msisdn)
{
    struct bill_subscriber sub;
    cJSON                 *o;
    int                    rc;

    rc = id > 0 ? bill_subscriber_by_id(&r->thr->db, r->arena, r->cfg, id, &sub)
                : bill_subscriber_by_msisdn(&r->thr->db, r->arena, r->cfg,
                                            msisdn, &sub);
    if (rc == GW_ENOTFOUND) {
        gw_request_problem(r, "no subscriber with that MSISDN");
    }
    if (rc != GW_OK) {
        return rc;
    }
    o = svc_account_json(r, &sub, 1);
    if (o == NULL || gw_reply_json(r, status, o) != 0) {
        return GW_ERROR;
    }
    return GW_OK;
}

struct svc_create {
    const char *user, *msisdn, *plan;
    int64_t     credit_limit, cap_daily, cap_monthly, id;
};

static int
svc_admin_create_tx(struct gw_request *r, void *arg)
{
    struct svc_create *c = arg;
    struct bill_ctx    ctx;
    int                rc;

    svc_account_ctx(r, &ctx, "subscriber created");
    rc = bill_subscriber_create(&r->thr->db, &ctx, c->user, c->msisdn, c->plan,
                                c->credit_limit, c->cap_daily, c->cap_monthly,
                                &c->id);
    if (rc == GW_ECONFLICT) {
        gw_request_problem(r, "that IM user or MSISDN is already bound");
    }
    return rc;
}

int
svc_admin_subscriber_create(struct gw_request *r)
{
    struct svc_create c = {0};
    const char       *why = NULL;
    int               rc, present;

    rc = gw_json_get_user_id(r->arena, r->json, "im_user_id", 1, &c.user, NULL,
                             &why);
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "msisdn", 1, BILL_MSISDN_MAX,
                             &c.msisdn, NULL, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "plan", 1, 16, &c.plan, NULL,
                             &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "credit_limit", 0, 0,
                             BILL_AMOUNT_MAX, &c.credit_limit, &present, &why);
    }
    if (rc != GW_OK) {
        return svc_account_problem(r, rc, why);
    }
    if (!bill_msisdn_valid(c.msisdn)) {
        gw_request_problem(r,
                           "'msisdn' must be 8 to 15 digits, country code"
                           " included, without '+'");
        return GW_EINVAL;
    }
    if (strcmp(c.plan, "prepaid") != 0 && strcmp(c.plan, "postpaid") != 0) {
        gw_request_problem(r, "'plan' must be prepaid or postpaid");
        return GW_EINVAL;
    }
    if (strcmp(c.plan, "prepaid") == 0 && c.credit_limit != 0) {
        gw_request_problem(r, "a prepaid account has no credit limit");
        return GW_EINVAL;
    }
    rc = svc_account_caps(r, &c.cap_daily, &c.cap_monthly);
    if (rc != GW_OK) {
        return rc;
    }
    if (c.cap_daily == BILL_KEEP)
        c.cap_daily = -1;
    if (c.cap_monthly == BILL_KEEP)
        c.cap_monthly = -1;
    rc = svc_tx_run(r, svc_admin_create_tx, &c);
    if (rc != GW_OK) {
        return rc;
    }
    gw_reply_header(
        r, "Location",
        gw_arena_printf(r->arena, "/v1/admin/subscribers/%s", c.msisdn));
    r->location =
        gw_arena_printf(r->arena, "/v1/admin/subscribers/%s", c.msisdn);
    return svc_admin_reply_subscriber(r, 201, c.id, NULL);
}

int
svc_admin_subscriber_get(struct gw_request *r)
{
    const char *msisdn;
    int         rc = svc_account_path_msisdn(r, &msisdn);

    return rc == GW_OK ? svc_admin_reply_subscriber(r, 200, 0, msisdn) : rc;
}

int
svc_admin_subscriber_patch(struct gw_request *r)
{
    struct bill_subscriber sub;
    struct bill_ctx        ctx;
    const char            *msisdn, *status = NULL, *why = NULL;
    int64_t                limit = BILL_KEEP, daily, monthly;
    int                    rc, present;

    rc = svc_account_path_msisdn(r, &msisdn);
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "status", 0, 16, &status, NULL,
                             &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "credit_limit", 0, 0,
                             BILL_AMOUNT_MAX, &limit, &present, &why);
    }
    if (rc != GW_OK) {
        return svc_account_problem(r, rc, why);
    }
    if (status != NULL && strcmp(status, "active") != 0
        && strcmp(status, "suspended") != 0) {
        gw_request_problem(r, "'status' must be active or suspended");
        return GW_EINVAL;
    }
    rc = svc_account_caps(r, &daily, &monthly);
    if (rc != GW_OK) {
        return rc;
    }
    rc = bill_subscriber_by_msisdn(&r->thr->db, r->arena, r->cfg, msisdn, &sub);
    if (rc != GW_OK) {
        if (rc == GW_ENOTFOUND) {
            gw_request_problem(r, "no subscriber with that MSISDN");
        }
        return rc;
    }
    if (limit != BILL_KEEP && limit != 0 && strcmp(sub.plan, "prepaid") == 0) {
        gw_request_problem(r, "a prepaid account has no credit limit");
        return GW_EINVAL;
    }
    svc_account_ctx(r, &ctx, "subscriber updated");
    rc = bill_subscriber_update(&r->thr->db, &ctx, sub.id, status, limit, daily,
                                monthly);
    if (rc == GW_ECONFLICT) {
        gw_request_problem(r,
                           "the account owes %lld: a credit limit below that"
                           " is refused",
                           (long long) (sub.held - sub.balance));
    }
    if (rc != GW_OK) {
        return rc;
    }
    gw_log_info(r->request_id, "subscriber %lld updated by %s",
                (long long) sub.id, r->caller);
    return svc_admin_reply_subscriber(r, 200, sub.id, NULL);
}

struct svc_topup {
    const char *msisdn;
    const char *reference;
    int64_t     amount;
};

static int
svc_admin_topup_tx(struct gw_request *r, void *arg)
{
    struct svc_topup      *t = arg;
    struct bill_subscriber sub;
    struct bill_result     res;
    struct bill_ctx        ctx;
    cJSON                 *o;
    char                  *body, ts[32];
    int                    rc;

    rc = bill_subscriber_by_msisdn(&r->thr->db, r->arena, r->cfg, t->msisdn,
                                   &sub);
    if (rc == GW_ENOTFOUND) {
        gw_request_problem(r, "no subscriber with that MSISDN");
    }
    if (rc != GW_OK) {
        return rc;
    }
    svc_account_ctx(r, &ctx, "top-up");
    rc = bill_topup_apply(&r->thr->db, r->arena, &ctx, sub.id, t->amount,
                          t->reference, &res);
    if (rc == GW_ECONFLICT) {
        /* The reference names one top-up of this subscriber. */
        gw_request_problem(r,
                           "reference %s was used by top-up txn %lld"
                           " (amount %lld)",
                           t->reference, (long long) res.txn_id,
                           (long long) res.amount);
        r->problem_extra = gw_json_own(r->arena, cJSON_CreateObject());
        if (r->problem_extra) {
            cJSON_AddNumberToObject(r->problem_extra, "txn_id",
                                    (double) res.txn_id);
        }
    }
    if (rc != GW_OK) {
        return rc;
    }
    gw_time_rfc3339(gw_now_s(), ts, sizeof(ts));
    o = gw_json_own(r->arena, cJSON_CreateObject());
    if (o == NULL) {
        return GW_ERROR;
    }
    cJSON_AddNumberToObject(o, "txn_id", (double) res.txn_id);
    cJSON_AddStringToObject(o, "msisdn", sub.msisdn);
    cJSON_AddNumberToObject(o, "amount", (double) t->amount);
    cJSON_AddNumberToObject(o, "balance", (double) res.balance_after);
    cJSON_AddStringToObject(o, "currency", sub.currency);
    cJSON_AddStringToObject(o, "reference", t->reference);
    cJSON_AddStringToObject(o, "created_at", ts);
    body = gw_json_print(r->arena, o);
    if (body == NULL) {
        return GW_ERROR;
    }
    rc = gw_idem_save(r, 201, body);
    if (rc == GW_OK) {
        gw_reply_raw(r, 201, "application/json", body, strlen(body));
    }
    return rc;
}

int
svc_admin_topup(struct gw_request *r)
{
    struct svc_topup t;
    const char      *why = NULL;
    int              rc;

    rc = svc_account_path_msisdn(r, &t.msisdn);
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "amount", 1, 1, BILL_AMOUNT_MAX,
                             &t.amount, NULL, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "reference", 1,
                             BILL_REFERENCE_MAX, &t.reference, NULL, &why);
    }
    if (rc != GW_OK) {
        return svc_account_problem(r, rc, why);
    }
    return svc_tx_run(r, svc_admin_topup_tx, &t);
}
