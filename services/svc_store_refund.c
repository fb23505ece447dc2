/*
 * svc_store_refund.c — POST /v1/admin/purchases/{id}/refunds: parse,
 * store_refund_apply (store/), reply with the refund object (recorded
 * with the idempotency key in the same transaction).
 */
#include <string.h>

#include "gw_idem.h"
#include "gw_json.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "store.h"
#include "svc_store.h"
#include "svc_store_internal.h"
#include "svc_tx.h"

struct svc_refund {
    struct store_ctx    ctx;
    struct store_refund f;
    const char         *body;
};

static int
svc_refund_txn(struct gw_request *r, void *arg)
{
    struct svc_refund *s = arg;
    int                rc;

    s->ctx.detail[0] = '\0';
    rc = store_refund_apply(&s->ctx, &s->f);
    if (rc == GW_OK) {
        s->body = store_refund_json(&s->ctx, &s->f);
        rc = s->body != NULL ? gw_idem_save(r, 201, s->body) : GW_ERROR;
    }
    return svc_store_refused(r, &s->ctx, rc);
}

int
svc_admin_refund(struct gw_request *r)
{
    struct svc_refund s;
    const char       *why = NULL;
    int               rc;

    memset(&s, 0, sizeof(s));
    svc_store_ctx(r, &s.ctx);
    rc = svc_store_id_param(r, 0, &s.f.purchase_id);
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "amount", 0, 1, BILL_AMOUNT_MAX,
                             &s.f.amount, NULL, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "reason", 1, BILL_REASON_MAX,
                             &s.f.reason, NULL, &why);
    }
    if (rc != GW_OK) {
        if (why != NULL) {
            gw_request_problem(r, "%s", why);
        }
        return rc;
    }
    rc = svc_tx_run(r, svc_refund_txn, &s);
    if (rc != GW_OK) {
        return rc;
    }
    if (s.f.revoked) {
        store_refund_committed(&s.ctx);
    }
    return gw_reply_raw(r, 201, "application/json", s.body, strlen(s.body)) == 0
        ? GW_OK
        : GW_ERROR;
}
