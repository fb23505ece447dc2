/*
 * svc_store_library.c — the caller's purchases and library, download
 * links and downloads. Another user's objects answer 404 (API.md).
 */
#include <stdio.h>
#include <string.h>

#include "cat.h"
#include "cat_cache.h"
#include "cat_internal.h"
#include "cat_link.h"
#include "fin.h"
#include "gw_json.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "svc_account.h"
#include "svc_store.h"
#include "svc_store_internal.h"

#define SVC_TS(col) "DATE_FORMAT(" col ", '%%Y-%%m-%%dT%%H:%%i:%%sZ')"
#define SVC_PURCHASE_COLS                                                      \
    "p.id, p.status, p.item_id, p.format, p.amount, p.currency,"               \
    " p.refunded, p.balance_after, p.entitlement_id, p.recipient_user_id,"     \
    " p.buyer_user_id, " SVC_TS("p.created_at")

static cJSON *
svc_purchase_json(MYSQL_ROW row)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double) gw_db_col_i64(row, 0));
    cJSON_AddStringToObject(o, "status", row[1]);
    cJSON_AddNumberToObject(o, "item_id", (double) gw_db_col_i64(row, 2));
    if (row[3] != NULL) {
        cJSON_AddStringToObject(o, "format", row[3]);
    }
    cJSON_AddNumberToObject(o, "amount", (double) gw_db_col_i64(row, 4));
    cJSON_AddStringToObject(o, "currency", row[5]);
    cJSON_AddNumberToObject(o, "refunded", (double) gw_db_col_i64(row, 6));
    cJSON_AddNumberToObject(o, "balance_after", (double) gw_db_col_i64(row, 7));
    cJSON_AddNumberToObject(o, "entitlement_id",
                            (double) gw_db_col_i64(row, 8));
    if (strcmp(row[9], row[10]) != 0) {
        cJSON_AddStringToObject(o, "gift_to", row[9]);
    }
    cJSON_AddStringToObject(o, "created_at", row[11]);
    return o;
}

/* {"items": [...], "next_cursor"} from rows whose column 0 is the id. */
static cJSON *
svc_page_new(MYSQL_RES *res, int64_t limit,
             cJSON *(*fn)(struct gw_request *, MYSQL_ROW), struct gw_request *r)
{
    cJSON    *page = cJSON_CreateObject(), *arr, *o;
    MYSQL_ROW row;
    int64_t   n = 0, last = 0;
    char      cursor[CAT_CURSOR_MAX + 1];

    arr = page ? cJSON_AddArrayToObject(page, "items") : NULL;
    while (arr != NULL && (row = mysql_fetch_row(res)) != NULL && n < limit) {
        if ((o = fn(r, row)) != NULL) {
            cJSON_AddItemToArray(arr, o);
        }
        last = gw_db_col_i64(row, 0);
        n++;
    }
    if (arr != NULL && row != NULL
        && cat_cursor_encode(CAT_SORT_NEW, last, last, cursor, sizeof(cursor))
            == 0) {
        cJSON_AddStringToObject(page, "next_cursor", cursor);
    } else if (page != NULL) {
        cJSON_AddNullToObject(page, "next_cursor");
    }
    return page;
}

static cJSON *
svc_purchase_row(struct gw_request *r, MYSQL_ROW row)
{
    (void) r;
    return svc_purchase_json(row);
}

int
svc_store_purchases(struct gw_request *r)
{
    struct bill_subscriber sub;
    MYSQL_RES             *res;
    int64_t                limit, after;
    int                    has, rc;
    cJSON                 *page;

    if ((rc = svc_account_caller(r, &sub)) != GW_OK
        || (rc = svc_store_page_args(r, &limit, &has, &after)) != GW_OK) {
        return rc;
    }
    rc = gw_db_query(&r->thr->db, r->arena, &res,
                     "SELECT " SVC_PURCHASE_COLS " FROM purchases p"
                     " WHERE p.buyer_user_id = %s AND (%d = 0 OR p.id < %lld)"
                     " ORDER BY p.id DESC LIMIT %lld",
                     r->user_id, has, (long long) after, (long long) limit + 1);
    if (rc != GW_OK) {
        return rc;
    }
    page = svc_page_new(res, limit, svc_purchase_row, r);
    return page ? svc_store_reply(r, 200, page) : GW_ERROR;
}

static int
svc_purchase_refunds(struct gw_request *r, int64_t id, cJSON *o)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    cJSON     *arr, *x;
    int        rc;

    rc = gw_db_query(
        &r->thr->db, r->arena, &res,
        "SELECT id, amount, reason, " SVC_TS(
            "created_at") " FROM refunds WHERE purchase_id = %lld ORDER BY id",
        (long long) id);
    if (rc != GW_OK || (arr = cJSON_AddArrayToObject(o, "refunds")) == NULL) {
        return rc != GW_OK ? rc : GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL
           && (x = cJSON_CreateObject()) != NULL) {
        cJSON_AddNumberToObject(x, "id", (double) gw_db_col_i64(row, 0));
        cJSON_AddNumberToObject(x, "amount", (double) gw_db_col_i64(row, 1));
        cJSON_AddStringToObject(x, "reason", row[2]);
        cJSON_AddStringToObject(x, "created_at", row[3]);
        cJSON_AddItemToArray(arr, x);
    }
    return GW_OK;
}

int
svc_store_purchase_get(struct gw_request *r)
{
    struct bill_subscriber sub;
    MYSQL_ROW              row;
    int64_t                id;
    cJSON                 *o;
    int                    rc;

    if ((rc = svc_account_caller(r, &sub)) != GW_OK
        || (rc = svc_store_id_param(r, 0, &id)) != GW_OK) {
        return rc;
    }
    rc = gw_db_row(&r->thr->db, r->arena, &row,
                   "SELECT " SVC_PURCHASE_COLS " FROM purchases p"
                   " WHERE p.id = %lld AND p.buyer_user_id = %s",
                   (long long) id, r->user_id);
    if (rc != GW_OK || row == NULL) {
        gw_request_problem(r, "no such purchase");
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    if ((o = svc_purchase_json(row)) == NULL) {
        return GW_ERROR;
    }
    rc = svc_purchase_refunds(r, id, o);
    if (rc != GW_OK) {
        cJSON_Delete(o);
        return rc;
    }
    return svc_store_reply(r, 200, o);
}

/* Library row: entitlement columns 0..5, then CAT_ITEM_COLS from 6. */
static cJSON *
svc_library_row(struct gw_request *r, MYSQL_ROW row)
{
    struct cat_item it;
    cJSON          *o = cJSON_CreateObject();
    const char     *status = row[1];

    if (o == NULL) {
        return NULL;
    }
    cat_item_from_row(r->arena, row + 6, &it);
    if (strcmp(status, "active") == 0 && gw_db_col_i64(row, 2)) {
        status = "expired";
    }
    cJSON_AddNumberToObject(o, "id", (double) gw_db_col_i64(row, 0));
    cJSON_AddItemToObject(o, "item", cat_item_json_new(&it));
    cJSON_AddStringToObject(o, "granted_at", row[3]);
    if (row[4] != NULL) {
        cJSON_AddStringToObject(o, "expires_at", row[4]);
    } else {
        cJSON_AddNullToObject(o, "expires_at");
    }
    cJSON_AddStringToObject(o, "status", status);
    return o;
}

/* The caller's entitlements, newest first, keyset-paged by id. */
/* clang-format off */
#define SVC_LIBRARY_SQL                                                       \
    "SELECT e.id, e.status, COALESCE(e.expires_at <= UTC_TIMESTAMP(3), 0), " \
    SVC_TS("e.granted_at") ", " SVC_TS("e.expires_at") ", e.kind, "           \
    CAT_ITEM_COLS                                                             \
    " FROM entitlements e JOIN items i ON i.id = e.item_id"                   \
    " JOIN providers p ON p.id = i.provider_id"                               \
    " JOIN categories c ON c.id = i.category_id"                              \
    " WHERE e.owner_user_id = %s AND (%d = 0 OR e.id < %lld)"                 \
    " ORDER BY e.id DESC LIMIT %lld"
/* clang-format on */

int
svc_store_library(struct gw_request *r)
{
    struct bill_subscriber sub;
    MYSQL_RES             *res;
    int64_t                limit, after;
    int                    has, rc;
    cJSON                 *page;

    if ((rc = svc_account_caller(r, &sub)) != GW_OK
        || (rc = svc_store_page_args(r, &limit, &has, &after)) != GW_OK) {
        return rc;
    }
    rc = gw_db_query(&r->thr->db, r->arena, &res, SVC_LIBRARY_SQL, r->user_id,
                     has, (long long) after, (long long) limit + 1);
    if (rc != GW_OK) {
        return rc;
    }
    page = svc_page_new(res, limit, svc_library_row, r);
    return page ? svc_store_reply(r, 200, page) : GW_ERROR;
}

int
svc_store_download_link(struct gw_request *r)
{
    struct bill_subscriber sub;
    MYSQL_ROW              row;
    const char            *format = NULL, *why = NULL;
    int64_t                id;
    cJSON                 *link;
    int                    rc;

    if ((rc = svc_account_caller(r, &sub)) != GW_OK
        || (rc = svc_store_id_param(r, 0, &id)) != GW_OK) {
        return rc;
    }
    rc =
        gw_json_get_str(r->arena, r->json, "format", 1, 8, &format, NULL, &why);
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why ? why : "format is required");
        return rc;
    }
    rc = gw_db_row(&r->thr->db, r->arena, &row,
                   "SELECT e.status, COALESCE(e.expires_at <="
                   " UTC_TIMESTAMP(3), 0), a.format FROM entitlements e"
                   " LEFT JOIN item_assets a ON a.item_id = e.item_id"
                   " AND a.format = %s WHERE e.id = %lld"
                   " AND e.owner_user_id = %s",
                   format, (long long) id, r->user_id);
    if (rc != GW_OK || row == NULL) {
        gw_request_problem(r, "no such entitlement");
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    if (strcmp(row[0], "active") != 0) {
        gw_request_problem(r, "the entitlement was revoked (refunded)");
        return GW_EREVOKED;
    }
    if (gw_db_col_i64(row, 1)) {
        gw_request_problem(r, "the entitlement has expired");
        return GW_EEXPIRED;
    }
    if (row[2] == NULL) {
        gw_request_problem(r, "this item has no %s format", format);
        return GW_EINVAL;
    }
    link = svc_store_link_json_new(r, id, row[2]);
    return link ? svc_store_reply(r, 201, link) : GW_ERROR;
}

/* Content-Disposition for sku + the format's extension. */
static const char *
svc_disposition(struct gw_request *r, const char *sku, const char *format)
{
    return gw_arena_printf(r->arena, "attachment; filename=\"%s%s\"", sku,
                           cat_format_ext(format));
}

/*
 * The entitlement's status and the asset (path, MIME, SKU) behind a link.
 * Read through the catalog cache: a download is the hottest read there is
 * and its row only changes on a full refund, which moves the catalog
 * generation in its own transaction (this host sees it at once, others
 * within CAT_GEN_POLL_MS). *row points at 4 arena strings, or NULL.
 */
static int
svc_download_target(struct gw_request *r, const struct cat_link *link,
                    MYSQL_ROW *row)
{
    static const char sep = '\t';
    const char       *body, *etag;
    char              key[96], *copy, **cols, *p;
    size_t            len;
    int64_t           gen;
    int               rc, i;

    snprintf(key, sizeof(key), "dl:%lld:%s", (long long) link->entitlement_id,
             link->format);
    gen = cat_cache_generation(&r->thr->db, r->arena);
    if (!cat_cache_get(key, gen, r->arena, &body, &len, &etag)) {
        rc = gw_db_row(&r->thr->db, r->arena, row,
                       "SELECT e.status, a.path, a.mime, i.sku FROM"
                       " entitlements e JOIN items i ON i.id = e.item_id"
                       " JOIN item_assets a ON a.item_id = e.item_id AND"
                       " a.format = %s WHERE e.id = %lld",
                       link->format, (long long) link->entitlement_id);
        if (rc != GW_OK || *row == NULL) {
            return rc;
        }
        body = gw_arena_printf(r->arena, "%s%c%s%c%s%c%s", (*row)[0], sep,
                               (*row)[1], sep, (*row)[2], sep, (*row)[3]);
        if (body != NULL) {
            cat_cache_put(key, gen, body, strlen(body), "-");
        }
        return GW_OK;
    }
    copy = gw_arena_strndup(r->arena, body, len);
    cols = gw_arena_alloc(r->arena, 4 * sizeof(char *));
    if (copy == NULL || cols == NULL) {
        return GW_ERROR;
    }
    for (i = 0, p = copy; i < 4; i++) {
        cols[i] = p;
        p = strchr(p, sep);
        if (p == NULL) {
            if (i != 3) {
                return GW_ERROR;
            }
            break;
        }
        *p++ = '\0';
    }
    *row = cols;
    return GW_OK;
}

int
svc_store_download(struct gw_request *r)
{
    struct cat_link link;
    MYSQL_ROW       row;
    const char     *token = gw_request_route_param(r, 0), *loc, *disp;
    int             rc;

    if (token == NULL
        || cat_link_verify(r->cfg->download_secret, r->cfg->download_secret_len,
                           token, &link)
            != 0) {
        gw_request_problem(r, "no such download");
        return GW_ENOTFOUND;
    }
    if (link.expires_s < gw_now_s()) {
        gw_request_problem(r, "this download link has expired");
        return GW_EEXPIRED;
    }
    rc = svc_download_target(r, &link, &row);
    if (rc != GW_OK || row == NULL) {
        gw_request_problem(r, "no such download");
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    if (strcmp(row[0], "active") != 0) {
        gw_request_problem(r, "the entitlement was revoked (refunded)");
        return GW_EREVOKED;
    }
    /* Delivered: reconciliation's "charged but never delivered" reads it. */
    rc = fin_download_record(&r->thr->db, link.entitlement_id, link.format);
    if (rc != GW_OK) {
        return rc;
    }
    loc = gw_arena_printf(r->arena, "%s%s", r->cfg->downloads.internal_prefix,
                          row[1]);
    disp = svc_disposition(r, row[3], link.format);
    if (loc == NULL || disp == NULL
        || gw_reply_header(r, "X-Accel-Redirect", loc) != 0
        || gw_reply_header(r, "Content-Disposition", disp) != 0) {
        return GW_ERROR;
    }
    gw_reply_header(r, "Cache-Control", "private, no-store");
    return gw_reply_raw(r, 200, row[2], "", 0) == 0 ? GW_OK : GW_ERROR;
}
