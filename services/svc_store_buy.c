/*
 * svc_store_buy.c — POST /v1/purchases: one MariaDB transaction of
 * entitlement, charge (ledger, CDR, warnings), purchase row, outbox rows,
 * provider webhook and idempotency record (docs/store.md, "Purchase").
 *
 * The entitlement row is written FIRST: its UNIQUE (owner, item) key makes
 * concurrent buyers of one item queue on that row lock, so the second one
 * sees the first's committed entitlement and answers 409 already_owned
 * without ever touching the balance. INSERT … ON DUPLICATE KEY UPDATE
 * takes the exclusive lock directly (a plain INSERT + SELECT … FOR UPDATE
 * would take a shared lock first and deadlock under contention).
 */
#include <string.h>

#include "bill.h"
#include "cat.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_outbox.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_account.h"
#include "svc_store.h"
#include "svc_store_internal.h"
#include "svc_tx.h"

struct svc_buy {
    struct bill_subscriber sub;
    struct cat_item        item;
    const char            *format;    /* NULL: games */
    const char            *recipient; /* IM user who is entitled */
    int                    gift, pass;
    int64_t                now_ms;
    /* results */
    int64_t     purchase_id, entitlement_id, balance_after;
    char        expires_at[32];
    const char *body;
};

/* Reads and checks the body and the item; nothing is written. */
static int
svc_buy_prepare(struct gw_request *r, struct svc_buy *b)
{
    const char *why = NULL, *gift = NULL;
    int64_t     item_id, expected = 0;
    int         has_exp = 0, rc;

    rc = gw_json_get_i64(r->arena, r->json, "item_id", 1, 1, GW_JSON_INT_MAX,
                         &item_id, NULL, &why);
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "format", 0, 8, &b->format,
                             NULL, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_i64(r->arena, r->json, "expected_price", 0, 0,
                             GW_JSON_INT_MAX, &expected, &has_exp, &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "gift_to", 0, GW_USER_ID_MAX,
                             &gift, NULL, &why);
    }
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why ? why : "invalid body");
        return rc;
    }
    rc = cat_item_find(&r->thr->db, r->arena, item_id, 1, &b->item);
    if (rc != GW_OK) {
        gw_request_problem(r, "no such item");
        return rc;
    }
    if (has_exp && expected != b->item.price) {
        gw_request_problem(r, "the price is now %lld",
                           (long long) b->item.price);
        r->problem_extra = gw_json_own(r->arena, cJSON_CreateObject());
        if (r->problem_extra) {
            cJSON_AddNumberToObject(r->problem_extra, "price",
                                    (double) b->item.price);
        }
        return GW_EPRICE;
    }
    b->gift = gift != NULL;
    b->recipient = gift ? gift : r->user_id;
    return GW_OK;
}

/* Kind-specific rules: formats, passes, per-play games, gifts. */
static int
svc_buy_check(struct gw_request *r, struct svc_buy *b)
{
    struct bill_subscriber rcpt;
    int                    rc;

    if (strcmp(b->item.kind, "game") == 0) {
        if (b->format != NULL) {
            gw_request_problem(r, "games have no formats");
            return GW_EINVAL;
        }
        if (b->item.pricing == NULL || strcmp(b->item.pricing, "pass") != 0) {
            gw_request_problem(r,
                               "per-play games are charged when a lobby"
                               " starts");
            return GW_EINVAL;
        }
        b->pass = 1;
    } else if (b->format == NULL) {
        b->format = cat_item_asset(&b->item, "midi") ? "midi"
                                                     : b->item.assets[0].format;
    } else if (cat_item_asset(&b->item, b->format) == NULL) {
        gw_request_problem(r, "this item has no %s format", b->format);
        return GW_EINVAL;
    }
    if (strcmp(b->sub.status, "active") != 0) {
        gw_request_problem(r, "the phone account is suspended");
        return GW_ESUSPENDED;
    }
    if (b->gift) {
        if (strcmp(b->recipient, r->user_id) == 0) {
            gw_request_problem(r, "gift_to is yourself");
            return GW_EINVAL;
        }
        rc = bill_subscriber_by_user(&r->thr->db, r->arena, r->cfg,
                                     b->recipient, &rcpt);
        if (rc != GW_OK) {
            if (rc == GW_ENOTFOUND) {
                gw_request_problem(r, "unknown gift recipient");
            }
            return rc;
        }
    }
    return GW_OK;
}

/* Grants or extends the entitlement; GW_EOWNED when already owned. */
static int
svc_buy_entitle(struct gw_request *r, struct svc_buy *b)
{
    struct gw_db *db = &r->thr->db;
    MYSQL_ROW     row;
    int           rc;

    rc = gw_db_exec(db,
                    "INSERT INTO entitlements (owner_user_id, item_id, kind,"
                    " status, granted_at, expires_at, updated_at) VALUES (%s,"
                    " %lld, %s, 'active', UTC_TIMESTAMP(3), IF(%d,"
                    " DATE_ADD(UTC_TIMESTAMP(3), INTERVAL %lld DAY), NULL),"
                    " UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE"
                    " id = LAST_INSERT_ID(id), buy_attempts = buy_attempts + 1",
                    b->recipient, (long long) b->item.id,
                    b->pass ? "pass" : "permanent", b->pass,
                    (long long) b->item.pass_days);
    if (rc != GW_OK) {
        return rc;
    }
    b->entitlement_id = db->insert_id;
    if (db->affected != 1) { /* 2: an existing row, now locked by us */
        rc = gw_db_row(db, r->arena, &row,
                       "SELECT status, expires_at > UTC_TIMESTAMP(3)"
                       " FROM entitlements WHERE id = %lld FOR UPDATE",
                       (long long) b->entitlement_id);
        if (rc != GW_OK || row == NULL) {
            return rc != GW_OK ? rc : GW_ERROR;
        }
        if (!b->pass && strcmp(row[0], "active") == 0) {
            gw_request_problem(r, "%s already own%s this item",
                               b->gift ? "the recipient" : "you",
                               b->gift ? "s" : "");
            return GW_EOWNED;
        }
        /* Re-buy after a refund, or a pass: extend an active one. */
        rc = gw_db_exec(db,
                        "UPDATE entitlements SET expires_at = IF(%d,"
                        " DATE_ADD(IF(status = 'active' AND expires_at >"
                        " UTC_TIMESTAMP(3), expires_at, UTC_TIMESTAMP(3)),"
                        " INTERVAL %lld DAY), NULL), granted_at = IF(status ="
                        " 'active', granted_at, UTC_TIMESTAMP(3)), status ="
                        " 'active', updated_at = UTC_TIMESTAMP(3)"
                        " WHERE id = %lld",
                        b->pass, (long long) b->item.pass_days,
                        (long long) b->entitlement_id);
        if (rc != GW_OK) {
            return rc;
        }
    }
    rc = gw_db_row(db, r->arena, &row,
                   "SELECT DATE_FORMAT(expires_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ')"
                   " FROM entitlements WHERE id = %lld",
                   (long long) b->entitlement_id);
    if (rc == GW_OK && row != NULL && row[0] != NULL) {
        snprintf(b->expires_at, sizeof(b->expires_at), "%s", row[0]);
    }
    return rc;
}

/* The purchase row, then the charge that references it. */
static int
svc_buy_charge(struct gw_request *r, struct svc_buy *b)
{
    struct gw_db      *db = &r->thr->db;
    struct bill_ctx    ctx;
    struct bill_charge c;
    struct bill_result res;
    char               ref[48];
    int                rc;

    rc =
        gw_db_exec(db,
                   "INSERT INTO purchases (buyer_user_id, subscriber_id,"
                   " recipient_user_id, item_id, format, amount, currency,"
                   " status, entitlement_id, balance_after, created_at)"
                   " VALUES (%s, %lld, %s, %lld, %s, %lld, %s, 'completed',"
                   " %lld, %lld, DATE_ADD('1970-01-01', INTERVAL %lld"
                   " MICROSECOND))",
                   r->user_id, (long long) b->sub.id, b->recipient,
                   (long long) b->item.id, b->format, (long long) b->item.price,
                   b->item.currency, (long long) b->entitlement_id,
                   (long long) b->sub.balance, (long long) (b->now_ms * 1000));
    if (rc != GW_OK) {
        return rc;
    }
    b->purchase_id = db->insert_id;
    b->balance_after = b->sub.balance;
    if (b->item.price == 0) {
        return GW_OK; /* free: nothing to charge, no CDR */
    }
    snprintf(ref, sizeof(ref), "purchase:%lld", (long long) b->purchase_id);
    memset(&c, 0, sizeof(c));
    c.subscriber_id = b->sub.id;
    c.amount = b->item.price;
    c.provider_id = b->item.provider_id;
    c.share_bp = b->item.share_bp;
    c.reference = ref;
    c.item_id = b->item.id;
    c.sku = b->item.sku;
    c.notify_user = r->user_id;
    svc_account_ctx(r, &ctx, b->gift ? "gift purchase" : "purchase");
    rc = bill_charge_apply(db, r->arena, &ctx, &c, &res);
    if (rc != GW_OK) {
        return rc;
    }
    b->balance_after = res.balance_after;
    return gw_db_defer(db,
                       "UPDATE purchases SET charge_txn_id = %lld,"
                       " balance_after = %lld WHERE id = %lld",
                       (long long) res.txn_id, (long long) res.balance_after,
                       (long long) b->purchase_id);
}

/* Common payload of the notifications and the webhook. */
static char *
svc_buy_payload(struct gw_request *r, const struct svc_buy *b)
{
    cJSON *o = gw_json_own(r->arena, cJSON_CreateObject());

    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "purchase_id", (double) b->purchase_id);
    cJSON_AddNumberToObject(o, "item_id", (double) b->item.id);
    cJSON_AddStringToObject(o, "sku", b->item.sku);
    cJSON_AddStringToObject(o, "title", b->item.title);
    cJSON_AddNumberToObject(o, "amount", (double) b->item.price);
    cJSON_AddStringToObject(o, "currency", b->item.currency);
    cJSON_AddStringToObject(o, "buyer", r->user_id);
    cJSON_AddStringToObject(o, "recipient", b->recipient);
    cJSON_AddNumberToObject(o, "entitlement_id", (double) b->entitlement_id);
    return gw_json_print(r->arena, o);
}

static int
svc_buy_notify(struct gw_request *r, struct svc_buy *b)
{
    struct gw_db *db = &r->thr->db;
    char         *p = svc_buy_payload(r, b);
    int           rc;

    if (p == NULL) {
        return GW_ERROR;
    }
    rc = gw_db_defer(db,
                     "UPDATE entitlements SET purchase_id = %lld"
                     " WHERE id = %lld",
                     (long long) b->purchase_id, (long long) b->entitlement_id);
    if (rc == GW_OK) {
        rc = gw_outbox_add(db, r->user_id, "purchase.completed", p, NULL);
    }
    if (rc == GW_OK && b->gift) {
        rc = gw_outbox_add(db, b->recipient, "gift.received", p, NULL);
    }
    if (rc == GW_OK) {
        rc = gw_outbox_webhook_add(db, b->item.provider_id,
                                   "purchase.completed", p, NULL);
    }
    return rc;
}

/* The 201 body (stored with the idempotency record, then sent). */
static int
svc_buy_body(struct gw_request *r, struct svc_buy *b)
{
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
    b->body = gw_json_print(r->arena, o);
    return b->body != NULL ? GW_OK : GW_ERROR;
}

static int
svc_buy_txn(struct gw_request *r, void *arg)
{
    struct svc_buy *b = arg;
    int             rc;

    b->now_ms = gw_now_ms();
    b->expires_at[0] = '\0';
    if ((rc = svc_buy_entitle(r, b)) != GW_OK
        || (rc = svc_buy_charge(r, b)) != GW_OK
        || (rc = svc_buy_notify(r, b)) != GW_OK
        || (rc = svc_buy_body(r, b)) != GW_OK) {
        return rc;
    }
    return gw_idem_save(r, 201, b->body);
}

int
svc_store_purchase(struct gw_request *r)
{
    struct svc_buy b;
    int            rc;

    memset(&b, 0, sizeof(b));
    rc = svc_account_caller(r, &b.sub);
    if (rc == GW_OK) {
        rc = svc_buy_prepare(r, &b);
    }
    if (rc == GW_OK) {
        rc = svc_buy_check(r, &b);
    }
    if (rc == GW_OK) {
        /* One transaction; GW_EOUTCOME (503): the retry settles it. */
        rc = svc_tx_run(r, svc_buy_txn, &b);
    }
    if (rc != GW_OK) {
        return rc;
    }
    /* Popularity is not touched here: an UPDATE of the item row per
     * purchase made every buyer of a hit queue on that row (and paid a
     * second commit). The janitor folds new purchases into it
     * (cat_popularity_refresh). */
    return gw_reply_raw(r, 201, "application/json", b.body, strlen(b.body)) == 0
        ? GW_OK
        : GW_ERROR;
}
