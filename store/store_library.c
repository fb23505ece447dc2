/*
 * store_library.c — the user's library and purchases (keyset pages that
 * cost O(page): an index walk from the cursor, no sort of the user's
 * whole history), one purchase with its refunds, download-link checks and
 * download targets.
 */
#include <stdio.h>
#include <string.h>

#include "cat_cache.h"
#include "cat_internal.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"
#include "store_internal.h"

#define STORE_TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
#define STORE_PURCHASE_COLS                                                    \
    "p.id, p.status, p.item_id, p.format, p.amount, p.currency,"               \
    " p.refunded, p.balance_after, p.entitlement_id, p.recipient_user_id,"     \
    " p.buyer_user_id, " STORE_TS("p.created_at")

/*
 * The walk: the (owner, id) index from the cursor backwards, each
 * entitlement and its item's version by primary key as it goes, so ORDER
 * BY is the walk's order and LIMIT stops it: limit + 1 index entries and
 * row reads, whatever the history, no temporary table and no sort. The
 * item objects come from the catalog's fragments by (item, version)
 * (cat_items_fragments): only the items whose fragment is not cached are
 * read, in one more query. The next column says whether the owner is
 * bound to a phone account (an uncorrelated unique-key lookup: MariaDB
 * runs it once per statement), so a non-empty page needs no separate caller
 * lookup; the last one is the catalog generation the versions were read
 * at (the fragments' key, CAT_GENERATION_COL). (Reading every item's
 * columns, provider, category and assets subquery here cost 0.44 ms of
 * mariadbd CPU and 186 buffer-pool page reads per 20-item page at 100,000
 * entitlements; this walk 0.22 ms and 122.)
 */
/* clang-format off */
#define STORE_LIBRARY_SQL                                                      \
    "SELECT STRAIGHT_JOIN e.id, e.status,"                                     \
    " COALESCE(e.expires_at <= UTC_TIMESTAMP(3), 0),"                          \
    " " STORE_TS("e.granted_at") ", " STORE_TS("e.expires_at") ","             \
    " e.kind, e.item_id, i.version,"                                           \
    " (SELECT 1 FROM subscribers s WHERE s.im_user_id = ?),"                   \
    " " CAT_GENERATION_COL                                                     \
    " FROM entitlements e FORCE INDEX (ix_entitlements_owner)"                 \
    " JOIN items i ON i.id = e.item_id"                                        \
    " WHERE e.owner_user_id = ? AND e.id < ?"                                  \
    " ORDER BY e.id DESC LIMIT ?"
/* clang-format on */

static int64_t
store_after(int64_t after_id)
{
    return after_id > 0 ? after_id : INT64_MAX;
}

int
store_library_page(struct store_ctx *ctx, const char *user, int64_t after_id,
                   int64_t limit, struct gw_rows *rows)
{
    gw_assert(limit >= 1 && limit <= STORE_PAGE_MAX);
    /* Prepared (parsed once per connection): 0.145 -> 0.111 ms of
     * mariadbd CPU per page (median of 6 serial runs each, 100,000
     * entitlements). */
    return gw_stmt_query(ctx->db, ctx->a, rows, STORE_LIBRARY_SQL,
                         GW_ARGS(GW_STR(user), GW_STR(user),
                                 GW_I64(store_after(after_id)),
                                 GW_I64(limit + 1)));
}

int
store_purchases_page(struct store_ctx *ctx, const char *user, int64_t after_id,
                     int64_t limit, struct gw_rows *rows)
{
    gw_assert(limit >= 1 && limit <= STORE_PAGE_MAX);
    return gw_stmt_query(ctx->db, ctx->a, rows,
                         "SELECT " STORE_PURCHASE_COLS " FROM purchases p"
                         " FORCE INDEX (ix_purchases_buyer) WHERE"
                         " p.buyer_user_id = ? AND p.id < ? ORDER BY p.id"
                         " DESC LIMIT ?",
                         GW_ARGS(GW_STR(user), GW_I64(store_after(after_id)),
                                 GW_I64(limit + 1)));
}

int
store_purchase_get(struct store_ctx *ctx, const char *buyer, int64_t id,
                   MYSQL_ROW *row, struct gw_rows *refunds)
{
    int rc;

    rc = gw_stmt_row(ctx->db, ctx->a, row,
                     "SELECT " STORE_PURCHASE_COLS " FROM purchases p WHERE"
                     " p.id = ? AND p.buyer_user_id = ?",
                     GW_ARGS(GW_I64(id), GW_STR(buyer)));
    if (rc != GW_OK || *row == NULL) {
        return rc != GW_OK
            ? rc
            : store_refuse(ctx, GW_ENOTFOUND, "no such purchase");
    }
    return gw_stmt_query(
        ctx->db, ctx->a, refunds,
        "SELECT id, amount, reason, " STORE_TS(
            "created_at") " FROM refunds WHERE purchase_id = ? ORDER BY id",
        GW_ARGS(GW_I64(id)));
}

int
store_link_check(struct store_ctx *ctx, const char *user,
                 int64_t entitlement_id, const char *format,
                 const char **canonical)
{
    MYSQL_ROW row;
    int       rc;

    /* A suspended account keeps its history but makes no new links. */
    rc = gw_stmt_row(
        ctx->db, ctx->a, &row,
        "SELECT e.status, COALESCE(e.expires_at <="
        " UTC_TIMESTAMP(3), 0), a.format, (SELECT ac.status FROM"
        " subscribers s JOIN accounts ac ON ac.id ="
        " s.account_id WHERE s.im_user_id = e.owner_user_id)"
        " FROM entitlements e LEFT JOIN item_assets a ON"
        " a.item_id = e.item_id AND a.format = ? WHERE e.id = ?"
        " AND e.owner_user_id = ?",
        GW_ARGS(GW_STR(format), GW_I64(entitlement_id), GW_STR(user)));
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK
            ? rc
            : store_refuse(ctx, GW_ENOTFOUND, "no such entitlement");
    }
    if (row[3] != NULL && strcmp(row[3], "active") != 0) {
        return store_refuse(ctx, GW_ESUSPENDED,
                            "the phone account is suspended");
    }
    if (strcmp(row[0], "active") != 0) {
        return store_refuse(ctx, GW_EREVOKED,
                            "the entitlement was revoked (refunded)");
    }
    if (gw_db_col_i64(row, 1)) {
        return store_refuse(ctx, GW_EEXPIRED, "the entitlement has expired");
    }
    if (row[2] == NULL) {
        return store_refuse(ctx, GW_EINVAL, "this item has no %s format",
                            format);
    }
    *canonical = row[2];
    return GW_OK;
}

/* Splits a cached "path\tmime\tsku" into out (copied into the arena). */
static int
store_download_parse(struct store_ctx *ctx, const char *body, size_t len,
                     struct store_download *out)
{
    char *copy = gw_arena_strndup(ctx->a, body, len), *p, *q;

    if (copy == NULL || (p = strchr(copy, '\t')) == NULL
        || (q = strchr(p + 1, '\t')) == NULL) {
        return GW_ERROR;
    }
    *p++ = '\0';
    *q++ = '\0';
    out->path = copy;
    out->mime = p;
    out->sku = q;
    return GW_OK;
}

int
store_download_find(struct store_ctx *ctx, int64_t entitlement_id,
                    const char *format, struct store_download *out)
{
    const char *body, *etag;
    char        key[96];
    size_t      len;
    int64_t     epoch = store_epoch_get(ctx->db, ctx->a);
    MYSQL_ROW   row;
    int         rc;

    /* Keyed by the entitlement epoch (moved by every revocation) under
     * the catalog's generation (moved by asset changes). */
    snprintf(key, sizeof(key), "dl:%lld:%s:%lld", (long long) entitlement_id,
             format, (long long) epoch);
    if (epoch > 0
        && cat_cache_get(key, cat_cache_generation(ctx->db, ctx->a), ctx->a,
                         &body, &len, &etag)) {
        return store_download_parse(ctx, body, len, out);
    }
    rc = gw_stmt_row(ctx->db, ctx->a, &row,
                     "SELECT e.status, a.path, a.mime, i.sku FROM"
                     " entitlements e JOIN items i ON i.id = e.item_id JOIN"
                     " item_assets a ON a.item_id = e.item_id AND a.format ="
                     " ? WHERE e.id = ?",
                     GW_ARGS(GW_STR(format), GW_I64(entitlement_id)));
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK
            ? rc
            : store_refuse(ctx, GW_ENOTFOUND, "no such download");
    }
    if (strcmp(row[0], "active") != 0) {
        /* Never cached: a re-buy must work at once. */
        return store_refuse(ctx, GW_EREVOKED,
                            "the entitlement was revoked (refunded)");
    }
    out->path = row[1];
    out->mime = row[2];
    out->sku = row[3];
    body = gw_arena_printf(ctx->a, "%s\t%s\t%s", row[1], row[2], row[3]);
    if (body != NULL && epoch > 0) {
        cat_cache_put(key, cat_cache_generation(ctx->db, ctx->a), body,
                      strlen(body), "-");
    }
    return GW_OK;
}
