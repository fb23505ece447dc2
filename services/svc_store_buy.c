/*
 * svc_store_buy.c — POST /v1/purchases: parse, store_buy_* (store/), the
 * 201 body (stored with the idempotency record in the same transaction),
 * reply.
 */
#include <string.h>

#include "gw_idem.h"
#include "gw_json.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "store.h"
#include "svc_store.h"
#include "svc_store_internal.h"
#include "svc_tx.h"

struct svc_buy {
    struct store_ctx ctx;
    struct store_buy b;
    const char      *body;
};

static int
svc_buy_parse(struct gw_request *r, struct store_buy *b)
{
    const char *why = NULL;
    int         rc;

    rc = gw_json_get_i64(r->arena, r->json, "item_id", 1, 1, GW_JSON_INT_MAX,
                         &b->item_id, NULL, &why);
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "format", 0, 8, &b->format,
                             NULL, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "expected_price", 0, 0,
                             GW_JSON_INT_MAX, &b->expected_price,
                             &b->has_expected, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_user_id(r->arena, r->json, "gift_to", 0, &b->gift_to,
                                 NULL, &why);
    }
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why ? why : "invalid body");
    }
    return rc;
}

/* The 201 body. */
static int
svc_buy_body(struct gw_request *r, struct svc_buy *s)
{
    const struct store_buy *b = &s->b;
    cJSON *o = gw_json_own(r->arena, cJSON_CreateObject()), *dl = NULL;
    char   created[32];

    if (o == NULL) {
        return GW_ERROR;
    }
    gw_time_rfc3339(b->now_ms / 1000, created, sizeof(created));
    cJSON_AddNumberToObject(o, "id", (double) b->purchase_id);
    cJSON_AddStringToObject(o, "status", "completed");
    cJSON_AddNumberToObject(o, "item_id", (double) b->item.id);
    if (b->format) {
        cJSON_AddStringToObject(o, "format", b->format);
    }
    cJSON_AddNumberToObject(o, "amount", (double) b->item.price);
    cJSON_AddStringToObject(o, "currency", b->item.currency);
    cJSON_AddNumberToObject(o, "balance_after", (double) b->balance_after);
    cJSON_AddNumberToObject(o, "entitlement_id", (double) b->entitlement_id);
    if (b->gift) {
        cJSON_AddStringToObject(o, "gift_to", b->recipient);
    }
    if (b->pass && b->expires_at[0]) {
        cJSON_AddStringToObject(o, "expires_at", b->expires_at);
    }
    if (!b->gift && b->format != NULL) {
        dl = svc_store_link_json_new(r, b->entitlement_id, b->format);
    }
    if (dl != NULL) {
        cJSON_AddItemToObject(o, "download", dl);
    } else {
        cJSON_AddNullToObject(o, "download");
    }
    cJSON_AddStringToObject(o, "created_at", created);
    s->body = gw_json_print(r->arena, o);
    return s->body != NULL ? GW_OK : GW_ERROR;
}

static int
svc_buy_txn(struct gw_request *r, void *arg)
{
    struct svc_buy *s = arg;
    int             rc;

    s->ctx.detail[0] = '\0';
    /* After the Idempotency-Key's claim (svc_tx_run): a retry of a
     * purchase that went through is replayed, whatever changed since. */
    rc = store_buy_prepare(&s->ctx, &s->b);
    if (rc == GW_OK) {
        rc = store_buy_apply(&s->ctx, &s->b);
    }
    if (rc == GW_OK) {
        rc = svc_buy_body(r, s);
    }
    if (rc == GW_OK) {
        rc = gw_idem_save(r, 201, s->body);
    }
    return svc_store_refused(r, &s->ctx, rc);
}

int
svc_store_purchase(struct gw_request *r)
{
    struct svc_buy s;
    int            rc;

    memset(&s, 0, sizeof(s));
    svc_store_ctx(r, &s.ctx);
    s.b.buyer = r->user_id;
    rc = svc_buy_parse(r, &s.b);
    if (rc == GW_OK) {
        /* One transaction; GW_EOUTCOME (503): the retry settles it. */
        rc = svc_tx_run(r, svc_buy_txn, &s);
    }
    if (rc != GW_OK) {
        return rc;
    }
    r->location = gw_arena_printf(r->arena, "/v1/purchases/%lld",
                                  (long long) s.b.purchase_id);
    return gw_reply_raw(r, 201, "application/json", s.body, strlen(s.body)) == 0
        ? GW_OK
        : GW_ERROR;
}
