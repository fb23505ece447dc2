/*
 * store_buy.c — a purchase: one transaction of entitlement, charge
 * (ledger, CDR, warnings), purchase row with the pass period it paid
 * for, outbox rows and the provider's webhook (docs/store.md, "Purchase").
 *
 * Own purchases write the entitlement FIRST: its UNIQUE (owner, item) key
 * makes concurrent buyers of one item queue on that row lock, so the
 * second sees the first's committed entitlement and answers 409
 * already_owned without touching the balance. INSERT … ON DUPLICATE KEY
 * UPDATE takes the exclusive lock directly (INSERT + SELECT … FOR UPDATE
 * would take a shared lock first and deadlock under contention).
 *
 * Gifts debit FIRST: until the buyer is known to be able to pay, nothing
 * may depend on the recipient (bound or not, suspended or not, owns the
 * item or not), so a gift that cannot be paid reveals nothing about them.
 */
#include <stdio.h>
#include <string.h>

#include "cat_cache.h"
#include "gw_json.h"
#include "gw_outbox.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"
#include "store_internal.h"

#define STORE_DAY_MS (86400LL * 1000)

static int
store_buy_check_item(struct store_ctx *ctx, struct store_buy *b)
{
    if (strcmp(b->item.kind, "game") == 0) {
        if (b->format != NULL) {
            return store_refuse(ctx, GW_EINVAL, "games have no formats");
        }
        if (b->item.pricing == NULL || strcmp(b->item.pricing, "pass") != 0) {
            return store_refuse(ctx, GW_EINVAL,
                                "per-play games are charged when a lobby"
                                " starts");
        }
        b->pass = 1;
    } else if (b->format == NULL) {
        b->format = cat_item_asset(&b->item, "midi") ? "midi"
                                                     : b->item.assets[0].format;
    } else if (cat_item_asset(&b->item, b->format) == NULL) {
        return store_refuse(ctx, GW_EINVAL, "this item has no %s format",
                            b->format);
    }
    return GW_OK;
}

/* The item at the current catalog generation, its price and format. */
static int
store_buy_item(struct store_ctx *ctx, struct store_buy *b)
{
    int rc, fresh = 0;

again:
    b->cat_gen = cat_cache_generation(ctx->db, ctx->a);
    if (b->cat_gen < 0) { /* never read on this host: read it now */
        rc = cat_generation_get(ctx->db, ctx->a, &b->cat_gen);
        if (rc != GW_OK) {
            return rc;
        }
    }
    rc =
        cat_item_find_gen(ctx->db, ctx->a, b->item_id, b->cat_gen, 1, &b->item);
    if (rc != GW_OK && rc != GW_ENOTFOUND) {
        return rc;
    }
    if (!fresh
        && (rc == GW_ENOTFOUND
            || (b->has_expected && b->expected_price != b->item.price))) {
        /* The host's generation may be up to CAT_GEN_POLL_MS old: never
         * refuse on it, read it again first. */
        cat_cache_refresh(ctx->db, ctx->a);
        fresh = 1;
        goto again;
    }
    if (rc == GW_ENOTFOUND) {
        return store_refuse(ctx, rc, "no such item");
    }
    if (b->has_expected && b->expected_price != b->item.price) {
        ctx->price = b->item.price;
        return store_refuse(ctx, GW_EPRICE, "the price is now %lld",
                            (long long) b->item.price);
    }
    return store_buy_check_item(ctx, b);
}

int
store_buy_prepare(struct store_ctx *ctx, struct store_buy *b)
{
    int rc;

    if (b->cat_stale) {
        /* The last attempt found the catalog changed since the item was
         * read: read the generation now, then the item at it. */
        cat_cache_refresh(ctx->db, ctx->a);
        b->cat_stale = 0;
    }
    rc = bill_subscriber_by_user(ctx->db, ctx->a, ctx->cfg, b->buyer, &b->sub);
    if (rc == GW_ENOTFOUND) {
        return store_refuse(ctx, GW_EFORBIDDEN,
                            "IM user %s is not bound to a phone account",
                            b->buyer);
    }
    if (rc != GW_OK) {
        return rc;
    }
    if (strcmp(b->sub.status, "active") != 0) {
        return store_refuse(ctx, GW_ESUSPENDED,
                            "the phone account is suspended");
    }
    rc = store_buy_item(ctx, b);
    if (rc != GW_OK) {
        return rc;
    }
    b->gift = b->gift_to != NULL;
    b->recipient = b->gift ? b->gift_to : b->buyer;
    if (b->gift && strcmp(b->gift_to, b->buyer) == 0) {
        return store_refuse(ctx, GW_EINVAL, "gift_to is yourself");
    }
    return GW_OK;
}

/* The recipient of a gift: bound to an active phone account. Only
 * called once the buyer's debit went through. */
static int
store_buy_recipient(struct store_ctx *ctx, struct store_buy *b)
{
    struct bill_subscriber rcpt;
    int                    rc;

    rc =
        bill_subscriber_by_user(ctx->db, ctx->a, ctx->cfg, b->recipient, &rcpt);
    if (rc == GW_ENOTFOUND) {
        return store_refuse(ctx, rc, "unknown gift recipient");
    }
    if (rc == GW_OK && strcmp(rcpt.status, "active") != 0) {
        return store_refuse(ctx, GW_ESUSPENDED,
                            "the recipient's phone account is suspended");
    }
    return rc;
}

/*
 * Grants, re-grants or extends the entitlement in one statement that
 * returns the row as it now is. ON DUPLICATE KEY UPDATE assigns left to
 * right, each seeing the ones before, so buy_attempts, granted_at and
 * expires_at read the old row, then status becomes active. buy_attempts
 * carries "was already an active ringtone" to RETURNING (> 0: owned; the
 * transaction then rolls back, so it is 0 in every committed row). A
 * timestamp cannot carry it: two buyers in the same millisecond would see
 * each other's granted_at as their own. A pass extends from the end of an
 * active period, else from now: this purchase owns [end - pass_days, end).
 */
#define STORE_ENTITLE_SQL                                                      \
    "INSERT INTO entitlements (owner_user_id, item_id, kind, status,"          \
    " granted_at, expires_at, updated_at) VALUES (?, ?, ?, 'active', ?,"       \
    " IF(?, ? + INTERVAL ? DAY, NULL), ?) ON DUPLICATE KEY UPDATE id ="        \
    " LAST_INSERT_ID(id), buy_attempts = IF(status = 'active' AND kind ="      \
    " 'permanent', buy_attempts + 1, 0), granted_at = IF(status = 'active',"   \
    " granted_at, VALUES(granted_at)), expires_at = IF(kind = 'pass',"         \
    " IF(status = 'active' AND expires_at > VALUES(granted_at), expires_at,"   \
    " VALUES(granted_at)) + INTERVAL ? DAY, NULL), status = 'active',"         \
    " updated_at = VALUES(updated_at) RETURNING id, buy_attempts,"             \
    " COALESCE(CAST(ROUND(UNIX_TIMESTAMP(expires_at) * 1000) AS SIGNED), 0)"

/* Grants, re-grants or extends the entitlement; GW_EOWNED when owned. */
static int
store_buy_entitle(struct store_ctx *ctx, struct store_buy *b, int64_t *start_ms,
                  int64_t *end_ms)
{
    MYSQL_ROW row;
    char      now[32];
    int64_t   days = b->pass ? b->item.pass_days : 0;
    int       rc;

    store_time_sql(b->now_ms, now);
    rc = gw_stmt_row(ctx->db, ctx->a, &row, STORE_ENTITLE_SQL,
                     GW_ARGS(GW_STR(b->recipient), GW_I64(b->item.id),
                             GW_STR(b->pass ? "pass" : "permanent"),
                             GW_STR(now), GW_I64(b->pass), GW_STR(now),
                             GW_I64(days), GW_STR(now), GW_I64(days)));
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ERROR;
    }
    b->entitlement_id = gw_db_col_i64(row, 0);
    if (gw_db_col_i64(row, 1) > 0) {
        return store_refuse(ctx, GW_EOWNED, "%s already own%s this item",
                            b->gift ? "the recipient" : "you",
                            b->gift ? "s" : "");
    }
    *end_ms = b->pass ? gw_db_col_i64(row, 2) : b->now_ms;
    *start_ms = b->pass ? *end_ms - days * STORE_DAY_MS : b->now_ms;
    gw_assert(!b->pass || *start_ms >= b->now_ms);
    if (b->pass) {
        store_time_rfc3339(*end_ms, b->expires_at);
    }
    return GW_OK;
}

/*
 * The purchase row, written only while the catalog generation is the one
 * the item was read at: the SELECT of an INSERT … SELECT is a locking
 * read, so it sees the latest commit and holds a shared lock that a
 * catalog change (which bumps the generation in its own transaction)
 * waits for until this purchase commits. No row: the catalog moved.
 */
#define STORE_PURCHASE_SQL                                                     \
    "INSERT INTO purchases (buyer_user_id, subscriber_id,"                     \
    " recipient_user_id, item_id, format, amount, currency, status,"           \
    " entitlement_id, balance_after, period_start, period_end, created_at)"    \
    " SELECT ?, ?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ? FROM"             \
    " catalog_meta WHERE id = 1 AND generation = ?"

static int
store_buy_row(struct store_ctx *ctx, struct store_buy *b, int64_t start_ms,
              int64_t end_ms)
{
    char created[32], ps[32], pe[32];
    int  rc;

    store_time_sql(b->now_ms, created);
    store_time_sql(start_ms, ps);
    store_time_sql(end_ms, pe);
    rc = gw_stmt_exec(
        ctx->db, STORE_PURCHASE_SQL,
        GW_ARGS(GW_STR(b->buyer), GW_I64(b->sub.id), GW_STR(b->recipient),
                GW_I64(b->item.id), GW_STR(b->format), GW_I64(b->item.price),
                GW_STR(b->item.currency), GW_I64(b->entitlement_id),
                GW_I64(b->sub.balance), b->pass ? GW_STR(ps) : GW_NULL,
                b->pass ? GW_STR(pe) : GW_NULL, GW_STR(created),
                GW_I64(b->cat_gen)));
    if (rc == GW_OK && ctx->db->affected != 1) {
        b->cat_stale = 1; /* the retry reads the generation and the item */
        return GW_ERETRY;
    }
    if (rc == GW_OK) {
        b->purchase_id = ctx->db->insert_id;
        b->balance_after = b->sub.balance;
    }
    return rc;
}

static void
store_buy_charge_init(struct store_ctx *ctx, const struct store_buy *b,
                      struct bill_charge *c, struct bill_ctx *bc, char *ref,
                      size_t cap)
{
    snprintf(ref, cap, "purchase:%lld", (long long) b->purchase_id);
    memset(c, 0, sizeof(*c));
    c->subscriber_id = b->sub.id;
    c->amount = b->item.price;
    c->provider_id = b->item.provider_id;
    c->share_bp = b->item.share_bp;
    c->reference = ref;
    c->item_id = b->item.id;
    c->sku = b->item.sku;
    c->notify_user = b->buyer;
    c->purchase_id = b->purchase_id;
    bc->cfg = ctx->cfg;
    bc->actor = ctx->actor;
    bc->reason = b->gift ? "gift purchase" : "purchase";
    bc->rid = ctx->rid;
}

/* Common payload of the notifications and the webhook; without ids, all
 * but purchase_id and entitlement_id (vas_purchase puts them first). */
static char *
store_buy_payload(struct store_ctx *ctx, const struct store_buy *b, int ids)
{
    cJSON *o = gw_json_own(ctx->a, cJSON_CreateObject());

    if (o == NULL) {
        return NULL;
    }
    if (ids) {
        cJSON_AddNumberToObject(o, "purchase_id", (double) b->purchase_id);
    }
    cJSON_AddNumberToObject(o, "item_id", (double) b->item.id);
    cJSON_AddStringToObject(o, "sku", b->item.sku);
    cJSON_AddStringToObject(o, "title", b->item.title);
    cJSON_AddNumberToObject(o, "amount", (double) b->item.price);
    cJSON_AddStringToObject(o, "currency", b->item.currency);
    cJSON_AddStringToObject(o, "buyer", b->buyer);
    cJSON_AddStringToObject(o, "recipient", b->recipient);
    if (ids) {
        cJSON_AddNumberToObject(o, "entitlement_id",
                                (double) b->entitlement_id);
    }
    return gw_json_print(ctx->a, o);
}

/* A free purchase's outbox rows and the provider's webhook (a paid one
 * writes the same rows in vas_buy). */
static int
store_buy_notify(struct store_ctx *ctx, struct store_buy *b)
{
    char *p = store_buy_payload(ctx, b, 1);
    int   rc;

    if (p == NULL) {
        return GW_ERROR;
    }
    rc = gw_outbox_add(ctx->db, b->buyer, "purchase.completed", p, NULL);
    if (rc == GW_OK && b->gift) {
        rc = gw_outbox_add(ctx->db, b->recipient, "gift.received", p, NULL);
    }
    if (rc == GW_OK) {
        rc = gw_outbox_webhook_add(ctx->db, b->item.provider_id,
                                   "purchase.completed", p, NULL);
    }
    return rc;
}

/* The charge's ledger post as the procedure's row says it went (its
 * columns from row on): the warnings it crossed, its id and the balance. */
static int
store_buy_posted(struct store_ctx *ctx, struct store_buy *b,
                 const struct bill_ctx *bc, const struct bill_post *post,
                 MYSQL_ROW row)
{
    struct bill_result res;
    int                rc;

    memset(&res, 0, sizeof(res));
    rc = bill_post_done(ctx->db, ctx->a, bc, post, row, &res);
    if (rc != GW_OK) {
        return rc;
    }
    gw_assert(res.amount == b->item.price);
    b->charge_txn_id = res.txn_id;
    b->balance_after = res.balance_after;
    return GW_OK;
}

/*
 * A paid purchase, for oneself or a gift, in one prepared CALL
 * (migrations/032_one_debit.sql, vas_buy): the debit (vas_debit, where
 * every money limit is written, once), for a gift the recipient, the
 * entitlement, the row, the outbox rows (the buyer's; the recipient's for
 * a gift), the provider's webhook event and the charge's ledger post
 * (billing prepares its parameters). A gift debits before it looks at the
 * recipient; a purchase for oneself takes the entitlement's row lock
 * first (see the top of this file). The row's first column says which
 * step refused: 1 owned, 2 the debit (billing says why), 3 the catalog
 * moved, 4 no such recipient, 5 the recipient's account is not active.
 */
#define STORE_PAID_NPARAMS 14
#define STORE_PAID_SQL                                                         \
    "CALL vas_buy(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?," \
    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

static void
store_buy_paid_params(const struct store_buy *b, const struct bill_post *post,
                      const char *payload, const char *notif_id,
                      const char *rcpt_id, const char *event_id,
                      const char *now, struct gw_param *prm)
{
    prm[0] = GW_STR(b->buyer);
    prm[1] = GW_STR(b->recipient);
    prm[2] = GW_STR(b->pass ? "pass" : "permanent");
    prm[3] = GW_STR(now);
    prm[4] = GW_I64(b->pass);
    prm[5] = GW_I64(b->pass ? b->item.pass_days : 0);
    prm[6] = GW_I64(post->day_key);
    prm[7] = GW_I64(post->month_key);
    prm[8] = GW_STR(b->format);
    prm[9] = GW_I64(b->cat_gen);
    prm[10] = GW_STR(notif_id);
    prm[11] = b->gift ? GW_STR(rcpt_id) : GW_NULL;
    prm[12] = GW_STR(event_id);
    prm[13] = GW_STR(payload + 1); /* without its '{': after the ids */
    memcpy(prm + STORE_PAID_NPARAMS, post->param, sizeof(post->param));
}

/* What vas_buy's row says: done, or which step refused. */
static int
store_buy_paid_row(struct store_ctx *ctx, struct store_buy *b,
                   const struct bill_ctx *bc, const struct bill_post *post,
                   MYSQL_ROW row)
{
    int64_t days = b->pass ? b->item.pass_days : 0, end_ms;

    if (row == NULL || row[0] == NULL) {
        return GW_ERROR;
    }
    b->entitlement_id = gw_db_col_i64(row, 2);
    switch (gw_db_col_i64(row, 0)) {
    case 0:
        break;
    case 1:
        return store_refuse(ctx, GW_EOWNED, "%s already own%s this item",
                            b->gift ? "the recipient" : "you",
                            b->gift ? "s" : "");
    case 2:
        return bill_charge_refused(ctx->db, ctx->a, post);
    case 3:
        b->cat_stale = 1; /* the retry reads the generation and the item */
        return GW_ERETRY;
    case 4:
        return store_refuse(ctx, GW_ENOTFOUND, "unknown gift recipient");
    case 5:
        return store_refuse(ctx, GW_ESUSPENDED,
                            "the recipient's phone account is suspended");
    default:
        return GW_ERROR;
    }
    b->purchase_id = gw_db_col_i64(row, 1);
    end_ms = b->pass ? gw_db_col_i64(row, 3) : b->now_ms;
    if (b->pass && end_ms == 0) {
        /* vas_buy's UNIX_TIMESTAMP() of the new end is NULL past
         * 2038-01-19 03:14:07 UTC (MariaDB 10.11): a pass stacked that
         * far ahead. Refused; the caller rolls the purchase back. */
        return store_refuse(ctx, GW_ECONFLICT,
                            "this pass cannot be extended past"
                            " 2038-01-19T03:14:07Z");
    }
    gw_assert(!b->pass || end_ms - days * STORE_DAY_MS >= b->now_ms);
    if (b->pass) {
        store_time_rfc3339(end_ms, b->expires_at);
    }
    return store_buy_posted(ctx, b, bc, post, row + 4);
}

static int
store_buy_paid(struct store_ctx *ctx, struct store_buy *b,
               const struct bill_ctx *bc, struct bill_charge *c)
{
    struct gw_param  prm[STORE_PAID_NPARAMS + BILL_POST_NPARAMS];
    struct bill_post post;
    MYSQL_ROW        row;
    char             notif_id[GW_NOTIF_ID_LEN + 1];
    char             rcpt_id[GW_NOTIF_ID_LEN + 1];
    char             event_id[GW_NOTIF_ID_LEN + 1], now[32];
    char            *payload = store_buy_payload(ctx, b, 0);
    int              rc;

    if (payload == NULL || payload[0] != '{') {
        return GW_ERROR;
    }
    /* vas_buy makes the reference and the CDR's purchase id. */
    c->reference = NULL;
    c->purchase_id = 0;
    rc = bill_charge_prepare(ctx->db, ctx->a, bc, c, b->sub.account_id, &post);
    if (rc != GW_OK) {
        return rc;
    }
    gw_outbox_id_new(notif_id);
    gw_outbox_id_new(rcpt_id);
    gw_outbox_id_new(event_id);
    store_time_sql(b->now_ms, now);
    store_buy_paid_params(b, &post, payload, notif_id, rcpt_id, event_id, now,
                          prm);
    rc = gw_stmt_row(ctx->db, ctx->a, &row, STORE_PAID_SQL, prm,
                     STORE_PAID_NPARAMS + BILL_POST_NPARAMS);
    return rc != GW_OK ? rc : store_buy_paid_row(ctx, b, bc, &post, row);
}

int
store_buy_apply(struct store_ctx *ctx, struct store_buy *b)
{
    struct bill_charge c;
    struct bill_ctx    bc;
    int64_t            start_ms = 0, end_ms = 0;
    char               ref[48];
    int                rc = GW_OK;

    gw_assert(!b->cat_stale);
    gw_assert(b->recipient != NULL && b->item.price >= 0);
    b->now_ms = gw_now_ms();
    b->expires_at[0] = '\0';
    b->charge_txn_id = 0;
    if (b->item.price > 0) {
        store_buy_charge_init(ctx, b, &c, &bc, ref, sizeof(ref));
        return store_buy_paid(ctx, b, &bc, &c);
    }
    /* Free: the row is complete as inserted, no money moves. */
    if (b->gift) {
        rc = store_buy_recipient(ctx, b);
    }
    if (rc == GW_OK) {
        rc = store_buy_entitle(ctx, b, &start_ms, &end_ms);
    }
    if (rc == GW_OK) {
        rc = store_buy_row(ctx, b, start_ms, end_ms);
    }
    return rc != GW_OK ? rc : store_buy_notify(ctx, b);
}
