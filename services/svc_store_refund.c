/*
 * svc_store_refund.c — POST /v1/admin/purchases/{id}/refunds: one
 * transaction of ledger refund (billing caps the total at the charge),
 * refund row, purchase status, entitlement revocation on a full refund
 * (which kills its download links: links are checked against the
 * entitlement at download time), notifications, webhook, idempotency.
 */
#include <string.h>

#include "bill.h"
#include "cat_cache.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "gw_outbox.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_account.h"
#include "svc_store.h"
#include "svc_store_internal.h"
#include "svc_tx.h"

struct svc_refund {
    int64_t            purchase_id, amount, charge_txn, entitlement_id;
    int64_t            provider_id, pass_days, refund_id;
    const char        *reason, *buyer, *recipient, *currency, *body;
    struct bill_result res;
};

/* Locks the purchase and reads what the refund needs. */
static int
svc_refund_load(struct gw_request *r, struct svc_refund *f)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(&r->thr->db, r->arena, &row,
                   "SELECT p.charge_txn_id, p.entitlement_id, p.buyer_user_id,"
                   " p.recipient_user_id, p.currency, i.provider_id,"
                   " COALESCE(i.pass_days, 0) FROM purchases p JOIN items i"
                   " ON i.id = p.item_id WHERE p.id = %lld FOR UPDATE",
                   (long long) f->purchase_id);
    if (rc != GW_OK || row == NULL) {
        gw_request_problem(r, "no such purchase");
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    if (row[0] == NULL) {
        gw_request_problem(r, "a free purchase has nothing to refund");
        return GW_ECONFLICT;
    }
    f->charge_txn = gw_db_col_i64(row, 0);
    f->entitlement_id = gw_db_col_i64(row, 1);
    f->buyer = row[2];
    f->recipient = row[3];
    f->currency = row[4];
    f->provider_id = gw_db_col_i64(row, 5);
    f->pass_days = gw_db_col_i64(row, 6);
    return GW_OK;
}

static int
svc_refund_write(struct gw_request *r, struct svc_refund *f)
{
    struct gw_db *db = &r->thr->db;
    int           rc, full = f->res.full_refund;

    rc = gw_db_exec(db,
                    "INSERT INTO refunds (purchase_id, txn_id, amount,"
                    " reason, actor, created_at) VALUES (%lld, %lld, %lld,"
                    " %s, %s, UTC_TIMESTAMP(3))",
                    (long long) f->purchase_id, (long long) f->res.txn_id,
                    (long long) f->res.amount, f->reason, r->caller);
    if (rc != GW_OK) {
        return rc;
    }
    f->refund_id = db->insert_id;
    rc =
        gw_db_exec(db,
                   "UPDATE purchases SET refunded = refunded + %lld,"
                   " status = IF(%d, 'refunded', 'partially_refunded')"
                   " WHERE id = %lld",
                   (long long) f->res.amount, full, (long long) f->purchase_id);
    if (rc != GW_OK || !full) {
        return rc;
    }
    /* Downloads read entitlements through the catalog cache: a full
     * refund moves the generation so revoked links stop at once. */
    rc = cat_generation_bump(db);
    if (rc != GW_OK) {
        return rc;
    }
    /* Ringtones: revoked. Passes: the refunded days are taken back. */
    return gw_db_exec(db,
                      "UPDATE entitlements SET status = IF(kind ="
                      " 'permanent' OR DATE_SUB(expires_at, INTERVAL %lld"
                      " DAY) <= UTC_TIMESTAMP(3), 'revoked', status),"
                      " expires_at = IF(kind = 'pass', DATE_SUB(expires_at,"
                      " INTERVAL %lld DAY), NULL), updated_at ="
                      " UTC_TIMESTAMP(3) WHERE id = %lld",
                      (long long) f->pass_days, (long long) f->pass_days,
                      (long long) f->entitlement_id);
}

static int
svc_refund_notify(struct gw_request *r, struct svc_refund *f)
{
    struct gw_db *db = &r->thr->db;
    cJSON        *o = gw_json_own(r->arena, cJSON_CreateObject());
    const char   *p;
    int           rc;

    if (o == NULL) {
        return GW_ERROR;
    }
    cJSON_AddNumberToObject(o, "id", (double) f->refund_id);
    cJSON_AddNumberToObject(o, "purchase_id", (double) f->purchase_id);
    cJSON_AddNumberToObject(o, "amount", (double) f->res.amount);
    cJSON_AddStringToObject(o, "currency", f->currency);
    cJSON_AddStringToObject(o, "reason", f->reason);
    cJSON_AddBoolToObject(o, "full", f->res.full_refund);
    cJSON_AddBoolToObject(o, "entitlement_revoked", f->res.full_refund);
    cJSON_AddNumberToObject(o, "balance_after", (double) f->res.balance_after);
    if ((p = gw_json_print(r->arena, o)) == NULL) {
        return GW_ERROR;
    }
    rc = gw_outbox_add(db, f->buyer, "purchase.refunded", p, NULL);
    if (rc == GW_OK && strcmp(f->buyer, f->recipient) != 0) {
        rc = gw_outbox_add(db, f->recipient, "purchase.refunded", p, NULL);
    }
    if (rc == GW_OK) {
        rc = gw_outbox_webhook_add(db, f->provider_id, "purchase.refunded", p,
                                   NULL);
    }
    f->body = p; /* the refund object is also the reply */
    return rc;
}

static int
svc_refund_txn(struct gw_request *r, void *arg)
{
    struct svc_refund *f = arg;
    struct bill_ctx    ctx;
    char               ref[48];
    int                rc;

    if ((rc = svc_refund_load(r, f)) != GW_OK) {
        return rc;
    }
    snprintf(ref, sizeof(ref), "refund:purchase:%lld",
             (long long) f->purchase_id);
    svc_account_ctx(r, &ctx, f->reason);
    rc = bill_refund_apply(&r->thr->db, r->arena, &ctx, f->charge_txn,
                           f->amount, ref, &f->res);
    if (rc == GW_ECONFLICT) {
        gw_request_problem(r, "the refund would exceed what was charged");
    }
    if (rc != GW_OK || (rc = svc_refund_write(r, f)) != GW_OK
        || (rc = svc_refund_notify(r, f)) != GW_OK) {
        return rc;
    }
    return gw_idem_save(r, 201, f->body);
}

int
svc_admin_refund(struct gw_request *r)
{
    struct svc_refund f;
    const char       *why = NULL;
    int               rc;

    memset(&f, 0, sizeof(f));
    rc = svc_store_id_param(r, 0, &f.purchase_id);
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "amount", 0, 1, BILL_AMOUNT_MAX,
                             &f.amount, NULL, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "reason", 1, BILL_REASON_MAX,
                             &f.reason, NULL, &why);
    }
    if (rc != GW_OK) {
        if (why != NULL) {
            gw_request_problem(r, "%s", why);
        }
        return rc;
    }
    rc = svc_tx_run(r, svc_refund_txn, &f);
    if (rc != GW_OK) {
        return rc;
    }
    if (f.res.full_refund) {
        cat_cache_refresh(&r->thr->db, r->arena);
    }
    return gw_reply_raw(r, 201, "application/json", f.body, strlen(f.body)) == 0
        ? GW_OK
        : GW_ERROR;
}
