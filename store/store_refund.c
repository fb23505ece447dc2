/*
 * store_refund.c — refunds: the ledger refund (billing caps the total at
 * the charge), the refund row, the purchase's status and, on a full
 * refund, the entitlement: a ringtone is revoked (its download links die:
 * they are checked against the entitlement), a pass loses what is left of
 * the period THIS purchase paid for (later purchases keep theirs), then
 * notifications and the provider's webhook. One entry point for HTTP,
 * vasctl and finance.
 */
#include <stdio.h>
#include <string.h>

#include "gw_json.h"
#include "gw_outbox.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"
#include "store_internal.h"

struct store_refund_row {
    int64_t     charge_txn, entitlement_id, pass_days, provider_id;
    int64_t     ps_ms, pe_ms; /* the pass period paid for; 0: none */
    const char *buyer, *recipient, *kind;
};

/*
 * Locks the entitlement, then the purchase, and reads what the refund
 * needs. The entitlement first, as a purchase does (vas_buy writes it
 * before its purchase row): a full refund of a pass moves the later
 * periods of the entitlement's other purchases, so two refunds of one
 * pass that each locked their own purchase first then waited for each
 * other's (a deadlock per pair; 16 concurrent refunds of one pass ran out
 * of retries). The purchase's entitlement is read first without a lock
 * (it never changes); the locking read then names both rows, entitlement
 * first (STRAIGHT_JOIN), and finds none if they no longer belong together.
 * That first read opens the transaction's snapshot before the lock waits,
 * so what a refund decides by must be read by locking reads (they read the
 * latest rows): the charge (bill_charge_lock), this load, the UPDATEs.
 * The item's columns come from scalar subqueries, which FOR UPDATE does
 * not lock: a join locked the item's row, so every refund of one item
 * (a popular one; every refund of the bench) queued on it until the one
 * before committed (0.95 lock waits per refund at 8 clients).
 */
#define STORE_REFUND_ENTITLEMENT_SQL                                           \
    "SELECT entitlement_id FROM purchases WHERE id = ?"
#define STORE_REFUND_LOAD_SQL                                                  \
    "SELECT p.charge_txn_id, p.entitlement_id, p.buyer_user_id,"               \
    " p.recipient_user_id, p.currency, (SELECT i.provider_id FROM items i"     \
    " WHERE i.id = p.item_id), (SELECT COALESCE(i.pass_days, 0) FROM items i"  \
    " WHERE i.id = p.item_id), COALESCE(CAST(ROUND(UNIX_TIMESTAMP("            \
    "p.period_start) * 1000) AS SIGNED), 0), COALESCE(CAST(ROUND("             \
    "UNIX_TIMESTAMP(p.period_end) * 1000) AS SIGNED), 0), e.kind FROM"         \
    " entitlements e STRAIGHT_JOIN purchases p ON p.entitlement_id = e.id"     \
    " WHERE e.id = ? AND p.id = ? FOR UPDATE"

static int
store_refund_load(struct store_ctx *ctx, struct store_refund *f,
                  struct store_refund_row *p)
{
    MYSQL_ROW row;
    int64_t   ent = 0;
    int       rc;

    rc = gw_stmt_row(ctx->db, ctx->a, &row, STORE_REFUND_ENTITLEMENT_SQL,
                     GW_ARGS(GW_I64(f->purchase_id)));
    if (rc == GW_OK && row != NULL && row[0] != NULL) {
        ent = gw_db_col_i64(row, 0);
        rc = gw_stmt_row(ctx->db, ctx->a, &row, STORE_REFUND_LOAD_SQL,
                         GW_ARGS(GW_I64(ent), GW_I64(f->purchase_id)));
    }
    if (rc != GW_OK || ent == 0 || row == NULL) {
        return rc != GW_OK
            ? rc
            : store_refuse(ctx, GW_ENOTFOUND, "no such purchase");
    }
    if (row[0] == NULL) {
        return store_refuse(ctx, GW_ECONFLICT,
                            "a free purchase has nothing to refund");
    }
    p->charge_txn = gw_db_col_i64(row, 0);
    p->entitlement_id = gw_db_col_i64(row, 1);
    p->buyer = row[2];
    p->recipient = row[3];
    f->currency = row[4];
    p->provider_id = gw_db_col_i64(row, 5);
    p->pass_days = gw_db_col_i64(row, 6);
    p->ps_ms = gw_db_col_i64(row, 7);
    p->pe_ms = gw_db_col_i64(row, 8);
    p->kind = row[9];
    return GW_OK;
}

/*
 * A full refund of a pass takes back what is left of this purchase's
 * period: [max(now, start), end). Later purchases' periods move back by
 * as much, so each keeps its length (and its own later refund).
 */
static int
store_refund_pass(struct store_ctx *ctx, const struct store_refund *f,
                  const struct store_refund_row *p)
{
    int64_t now = gw_now_ms(), from, left_us;
    int     rc;

    if (p->pe_ms == 0) { /* bought before periods were recorded */
        left_us = p->pass_days * 86400LL * 1000000;
    } else {
        from = now > p->ps_ms ? now : p->ps_ms;
        left_us = p->pe_ms > from ? (p->pe_ms - from) * 1000 : 0;
    }
    gw_assert(left_us >= 0);
    rc = gw_stmt_exec(
        ctx->db,
        "UPDATE entitlements SET expires_at = DATE_SUB("
        "expires_at, INTERVAL ? MICROSECOND), status = IF("
        "DATE_SUB(expires_at, INTERVAL ? MICROSECOND) <="
        " UTC_TIMESTAMP(3), 'revoked', status), updated_at ="
        " UTC_TIMESTAMP(3) WHERE id = ?",
        GW_ARGS(GW_I64(left_us), GW_I64(left_us), GW_I64(p->entitlement_id)));
    if (rc != GW_OK || left_us == 0 || p->pe_ms == 0) {
        return rc;
    }
    return gw_stmt_exec(ctx->db,
                        "UPDATE purchases SET period_start = DATE_SUB("
                        "period_start, INTERVAL ? MICROSECOND), period_end ="
                        " DATE_SUB(period_end, INTERVAL ? MICROSECOND) WHERE"
                        " entitlement_id = ? AND id <> ? AND period_start >="
                        " FROM_UNIXTIME(? / 1000)",
                        GW_ARGS(GW_I64(left_us), GW_I64(left_us),
                                GW_I64(p->entitlement_id),
                                GW_I64(f->purchase_id), GW_I64(p->pe_ms)));
}

static int
store_refund_write(struct store_ctx *ctx, struct store_refund *f,
                   const struct store_refund_row *p)
{
    struct gw_db *db = ctx->db;
    int           rc;

    rc = gw_stmt_exec(db,
                      "INSERT INTO refunds (purchase_id, txn_id, amount,"
                      " reason, actor, created_at) VALUES (?, ?, ?, ?, ?,"
                      " UTC_TIMESTAMP(3))",
                      GW_ARGS(GW_I64(f->purchase_id), GW_I64(f->res.txn_id),
                              GW_I64(f->res.amount), GW_STR(f->reason),
                              GW_STR(ctx->actor)));
    if (rc != GW_OK) {
        return rc;
    }
    f->refund_id = db->insert_id;
    rc = gw_stmt_exec(db,
                      "UPDATE purchases SET refunded = refunded + ?, status ="
                      " IF(?, 'refunded', 'partially_refunded') WHERE id = ?",
                      GW_ARGS(GW_I64(f->res.amount), GW_I64(f->full),
                              GW_I64(f->purchase_id)));
    if (rc != GW_OK || !f->full) {
        return rc;
    }
    /* Cached download targets of this host and others must drop it:
     * the entitlement epoch, not the catalog's generation. */
    rc = store_epoch_bump(db, f->purchase_id);
    if (rc != GW_OK) {
        return rc;
    }
    f->revoked = 1;
    if (strcmp(p->kind, "pass") == 0) {
        return store_refund_pass(ctx, f, p);
    }
    return gw_stmt_exec(db,
                        "UPDATE entitlements SET status = 'revoked',"
                        " updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
                        GW_ARGS(GW_I64(p->entitlement_id)));
}

const char *
store_refund_json(struct store_ctx *ctx, const struct store_refund *f)
{
    cJSON *o = gw_json_own(ctx->a, cJSON_CreateObject());

    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double) f->refund_id);
    cJSON_AddNumberToObject(o, "purchase_id", (double) f->purchase_id);
    cJSON_AddNumberToObject(o, "amount", (double) f->res.amount);
    cJSON_AddStringToObject(o, "currency", f->currency);
    cJSON_AddStringToObject(o, "reason", f->reason);
    cJSON_AddBoolToObject(o, "full", f->full);
    cJSON_AddBoolToObject(o, "entitlement_revoked", f->revoked);
    cJSON_AddNumberToObject(o, "balance_after", (double) f->res.balance_after);
    return gw_json_print(ctx->a, o);
}

static int
store_refund_notify(struct store_ctx *ctx, const struct store_refund *f,
                    const struct store_refund_row *p)
{
    const char *body = store_refund_json(ctx, f);
    int         rc;

    if (body == NULL) {
        return GW_ERROR;
    }
    rc = gw_outbox_add(ctx->db, p->buyer, "purchase.refunded", body, NULL);
    if (rc == GW_OK && strcmp(p->buyer, p->recipient) != 0) {
        rc = gw_outbox_add(ctx->db, p->recipient, "purchase.refunded", body,
                           NULL);
    }
    if (rc == GW_OK) {
        rc = gw_outbox_webhook_add(ctx->db, p->provider_id, "purchase.refunded",
                                   body, NULL);
    }
    return rc;
}

/* A charge that is not a purchase's (holds, captures): the ledger alone. */
static int
store_refund_ledger(struct store_ctx *ctx, struct store_refund *f,
                    struct bill_ctx *bc)
{
    int rc = bill_refund_apply(ctx->db, ctx->a, bc, f->charge_txn_id, f->amount,
                               "vasctl refund", &f->res);

    if (rc == GW_ECONFLICT) {
        return store_refuse(ctx, rc,
                            "the refund would exceed what was charged");
    }
    if (rc == GW_ENOTFOUND) {
        return store_refuse(ctx, rc, "no such charge");
    }
    f->full = f->res.full_refund;
    return rc;
}

/* The purchase whose charge is txn, if any (vasctl names charges): its
 * charge CDR names it (the audit holds the two to each other). */
static int
store_refund_purchase_of(struct store_ctx *ctx, struct store_refund *f)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(ctx->db, ctx->a, &row,
                     "SELECT purchase_id FROM cdrs WHERE txn_id = ? AND kind"
                     " = 'charge' AND purchase_id IS NOT NULL",
                     GW_ARGS(GW_I64(f->charge_txn_id)));
    if (rc == GW_OK && row != NULL) {
        f->purchase_id = gw_db_col_i64(row, 0);
    }
    return rc;
}

int
store_refund_apply(struct store_ctx *ctx, struct store_refund *f)
{
    struct store_refund_row p = {0};
    struct bill_ctx         bc = {ctx->cfg, ctx->actor, f->reason, ctx->rid};
    char                    ref[48];
    int                     rc;

    f->refund_id = 0;
    f->full = f->revoked = 0;
    if (f->purchase_id == 0) {
        rc = store_refund_purchase_of(ctx, f);
        if (rc != GW_OK) {
            return rc;
        }
        if (f->purchase_id == 0) {
            return store_refund_ledger(ctx, f, &bc);
        }
    }
    rc = store_refund_load(ctx, f, &p);
    if (rc != GW_OK) {
        return rc;
    }
    f->charge_txn_id = p.charge_txn;
    snprintf(ref, sizeof(ref), "refund:purchase:%lld",
             (long long) f->purchase_id);
    rc = bill_refund_apply(ctx->db, ctx->a, &bc, p.charge_txn, f->amount, ref,
                           &f->res);
    if (rc == GW_ECONFLICT) {
        return store_refuse(ctx, rc,
                            "the refund would exceed what was charged");
    }
    if (rc != GW_OK) {
        return rc;
    }
    f->full = f->res.full_refund;
    rc = store_refund_write(ctx, f, &p);
    return rc == GW_OK ? store_refund_notify(ctx, f, &p) : rc;
}

void
store_refund_committed(struct store_ctx *ctx)
{
    store_epoch_refresh(ctx->db, ctx->a);
}
