/*
 * svc_store_library.c — the caller's purchases and library, download
 * links and downloads. Another user's objects answer 404 (API.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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
#include "store.h"
#include "svc_account.h"
#include "svc_store.h"
#include "svc_store_internal.h"

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

/* {"items": [...], "next_cursor"} from rows whose column 0 is the id
 * (limit + 1 rows at most: one more means there is a next page). */
static cJSON *
svc_page_new(const struct gw_rows *rows, int64_t limit,
             cJSON *(*fn)(struct gw_request *, MYSQL_ROW), struct gw_request *r)
{
    cJSON  *page = cJSON_CreateObject(), *arr, *o;
    int64_t last = 0;
    size_t  i;
    char    cursor[CAT_CURSOR_MAX + 1];

    arr = page ? cJSON_AddArrayToObject(page, "items") : NULL;
    for (i = 0; arr != NULL && i < rows->n && (int64_t) i < limit; i++) {
        if ((o = fn(r, rows->row[i])) != NULL) {
            cJSON_AddItemToArray(arr, o);
        }
        last = gw_db_col_i64(rows->row[i], 0);
    }
    if (arr != NULL && (int64_t) rows->n > limit
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
    struct store_ctx       ctx;
    struct gw_rows         rows;
    int64_t                limit, after;
    int                    has, rc;
    cJSON                 *page;

    if ((rc = svc_account_caller(r, &sub)) != GW_OK
        || (rc = svc_store_page_args(r, &limit, &has, &after)) != GW_OK) {
        return rc;
    }
    svc_store_ctx(r, &ctx);
    rc = store_purchases_page(&ctx, r->user_id, has ? after : 0, limit, &rows);
    if (rc != GW_OK) {
        return rc;
    }
    page = svc_page_new(&rows, limit, svc_purchase_row, r);
    return page ? svc_store_reply(r, 200, page) : GW_ERROR;
}

static int
svc_purchase_refunds(const struct gw_rows *rows, cJSON *o)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "refunds"), *x;
    size_t i;

    if (arr == NULL) {
        return GW_ERROR;
    }
    for (i = 0; i < rows->n && (x = cJSON_CreateObject()) != NULL; i++) {
        MYSQL_ROW row = rows->row[i];

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
    struct store_ctx       ctx;
    struct gw_rows         refunds;
    MYSQL_ROW              row;
    int64_t                id;
    cJSON                 *o;
    int                    rc;

    if ((rc = svc_account_caller(r, &sub)) != GW_OK
        || (rc = svc_store_id_param(r, 0, &id)) != GW_OK) {
        return rc;
    }
    svc_store_ctx(r, &ctx);
    rc = store_purchase_get(&ctx, r->user_id, id, &row, &refunds);
    if (rc != GW_OK) {
        return svc_store_refused(r, &ctx, rc);
    }
    if ((o = svc_purchase_json(row)) == NULL) {
        return GW_ERROR;
    }
    rc = svc_purchase_refunds(&refunds, o);
    if (rc != GW_OK) {
        cJSON_Delete(o);
        return rc;
    }
    return svc_store_reply(r, 200, o);
}

/* Bytes of a library entry besides its item object and timestamps. */
#define SVC_LIBRARY_ENTRY_BYTES 128

/* One library entry, {"id","item","granted_at","expires_at","status"},
 * into out (room for it: svc_library_body counts); its length. */
static size_t
svc_library_entry(char *out, size_t cap, MYSQL_ROW row, const char *item,
                  size_t item_len)
{
    const char *status = row[1];
    int         n;

    if (strcmp(status, "active") == 0 && gw_db_col_i64(row, 2)) {
        status = "expired";
    }
    /* Timestamps are DATE_FORMAT's digits and status an enum: no escapes. */
    n = snprintf(out, cap,
                 "{\"id\":%lld,\"item\":%.*s,\"granted_at\":\"%s\","
                 "\"expires_at\":%s%s%s,\"status\":\"%s\"}",
                 (long long) gw_db_col_i64(row, 0), (int) item_len, item,
                 row[3], row[4] ? "\"" : "", row[4] ? row[4] : "null",
                 row[4] ? "\"" : "", status);
    return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

/* {"items":[...],"next_cursor":...} of a library page (rows: at most
 * limit + 1) with each item's object from the catalog's fragments. An
 * entitlement whose item is gone (cannot happen: items are retired, not
 * deleted) is left out. */
static int
svc_library_body(struct gw_request *r, const struct gw_rows *rows,
                 int64_t limit, const char **body, size_t *len)
{
    size_t       n = rows->n < (size_t) limit ? rows->n : (size_t) limit;
    size_t       k, cap;
    int64_t     *ids = gw_arena_alloc(r->arena, (n + 1) * sizeof(*ids));
    int64_t     *vers = gw_arena_alloc(r->arena, (n + 1) * sizeof(*vers));
    const char **frag = gw_arena_alloc(r->arena, (n + 1) * sizeof(*frag));
    size_t      *flen = gw_arena_alloc(r->arena, (n + 1) * sizeof(*flen));
    char         cursor[CAT_CURSOR_MAX + 1], *entry;
    int          rc, has_cursor;
    int64_t      gen = -1; /* of the rows' snapshot, not the host's copy */

    if (ids == NULL || vers == NULL || frag == NULL || flen == NULL) {
        return GW_ERROR;
    }
    if (n > 0 && rows->row[0][STORE_LIBRARY_GEN_COL] != NULL) {
        gen = gw_db_col_i64(rows->row[0], STORE_LIBRARY_GEN_COL);
        cat_cache_advance(gen);
    }
    for (k = 0; k < n; k++) {
        ids[k] = gw_db_col_i64(rows->row[k], STORE_LIB_ITEM_COL);
        vers[k] = gw_db_col_i64(rows->row[k], STORE_LIBRARY_VERSION_COL);
    }
    rc = cat_items_fragments(&r->thr->db, r->arena, svc_store_frags(r), gen, n,
                             ids, vers, frag, flen);
    if (rc != GW_OK) {
        return rc;
    }
    for (k = 0; k < n; k++) { /* each item object becomes its entry */
        if (frag[k] == NULL) {
            continue;
        }
        cap = flen[k] + SVC_LIBRARY_ENTRY_BYTES + strlen(rows->row[k][3])
            + (rows->row[k][4] ? strlen(rows->row[k][4]) : 0);
        if ((entry = gw_arena_alloc(r->arena, cap)) == NULL) {
            return GW_ERROR;
        }
        flen[k] = svc_library_entry(entry, cap, rows->row[k], frag[k], flen[k]);
        frag[k] = entry;
    }
    has_cursor = rows->n > n
        && cat_cursor_encode(CAT_SORT_NEW, gw_db_col_i64(rows->row[n - 1], 0),
                             gw_db_col_i64(rows->row[n - 1], 0), cursor,
                             sizeof(cursor))
            == 0;
    return cat_page_join(r->arena, frag, flen, n, has_cursor ? cursor : NULL,
                         body, len);
}

int
svc_store_library(struct gw_request *r)
{
    struct bill_subscriber sub;
    struct store_ctx       ctx;
    struct gw_rows         rows;
    int64_t                limit, after;
    int                    has, rc;
    const char            *body;
    size_t                 len;

    /* The caller must be bound to a phone account (403, before any 400).
     * A non-empty page says so itself (STORE_LIBRARY_BOUND_COL): the
     * lookup is a statement of its own only for an empty page or bad
     * arguments. */
    if ((rc = svc_store_page_args(r, &limit, &has, &after)) != GW_OK) {
        int bound = svc_account_caller(r, &sub);
        return bound != GW_OK ? bound : rc;
    }
    svc_store_ctx(r, &ctx);
    rc = store_library_page(&ctx, r->user_id, has ? after : 0, limit, &rows);
    if (rc == GW_OK
        && (rows.n == 0 || rows.row[0][STORE_LIBRARY_BOUND_COL] == NULL)) {
        rc = svc_account_caller(r, &sub);
    }
    if (rc == GW_OK) {
        rc = svc_library_body(r, &rows, limit, &body, &len);
    }
    if (rc != GW_OK) {
        return rc;
    }
    return gw_reply_raw(r, 200, "application/json", body, len) == 0 ? GW_OK
                                                                    : GW_ERROR;
}

int
svc_store_download_link(struct gw_request *r)
{
    struct bill_subscriber sub;
    struct store_ctx       ctx;
    const char            *format = NULL, *why = NULL, *canonical = NULL;
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
    svc_store_ctx(r, &ctx);
    rc = store_link_check(&ctx, r->user_id, id, format, &canonical);
    if (rc != GW_OK) {
        return svc_store_refused(r, &ctx, rc);
    }
    link = svc_store_link_json_new(r, id, canonical);
    if (link != NULL) {
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(link, "url");
        r->location = cJSON_IsString(url)
            ? gw_arena_strdup(r->arena, url->valuestring)
            : NULL;
    }
    return link ? svc_store_reply(r, 201, link) : GW_ERROR;
}

/* Content-Disposition for sku + the format's extension. */
static const char *
svc_disposition(struct gw_request *r, const char *sku, const char *format)
{
    return gw_arena_printf(r->arena, "attachment; filename=\"%s%s\"", sku,
                           cat_format_ext(format));
}

/* The decimal number at *p (at least one digit, no overflow) into v, then
 * the spaces after it; -1 when there is none or it overflows. */
static int
svc_range_number(const char **p, int64_t *v)
{
    const char *q = *p;

    if (*q < '0' || *q > '9') {
        return -1;
    }
    for (*v = 0; *q >= '0' && *q <= '9'; q++) {
        if (*v > (INT64_MAX - 9) / 10) {
            return -1;
        }
        *v = *v * 10 + (*q - '0');
    }
    while (*q == ' ') {
        q++;
    }
    *p = q;
    return 0;
}

/*
 * 1 when nginx will answer this download 416 (no byte of the file sent):
 * the Range is read as ngx_http_range_parse reads it against the file's
 * size. 0 (deliver, record) when there is no Range, an If-Range (nginx may
 * then send the whole file), or the file cannot be stat'ed here.
 */
static int
svc_range_unsatisfiable(struct gw_request *r, const char *path)
{
    const char *p = gw_request_param(r, "HTTP_RANGE");
    struct stat st;
    int64_t     size, start, end;
    int         suffix, to_end, any = 0;
    char       *file;

    if (p == NULL || strncasecmp(p, "bytes=", 6) != 0
        || gw_request_param(r, "HTTP_IF_RANGE") != NULL) {
        return 0;
    }
    file =
        gw_arena_printf(r->arena, "%s/%s", r->cfg->downloads.content_dir, path);
    if (file == NULL || stat(file, &st) != 0) {
        return 0;
    }
    size = (int64_t) st.st_size;
    p += 6;
    for (;;) { /* each pass consumes at least one byte of the header */
        start = 0;
        end = 0;
        suffix = 0;
        to_end = 0;
        while (*p == ' ') {
            p++;
        }
        if (*p == '-') { /* "-N": the last N bytes */
            suffix = 1;
            p++;
        } else {
            if (svc_range_number(&p, &start) != 0 || *p++ != '-') {
                return 1;
            }
            while (*p == ' ') {
                p++;
            }
            to_end = *p == ',' || *p == '\0'; /* "N-": to the end */
        }
        if (to_end) {
            end = size;
        } else {
            if (svc_range_number(&p, &end) != 0 || (*p != ',' && *p != '\0')) {
                return 1;
            }
            if (suffix) {
                start = end < size ? size - end : 0;
                end = size - 1;
            }
            end = end >= size ? size : end + 1;
        }
        if (start < end) {
            any = 1;
        } else if (start == 0) {
            return 0; /* nginx sends the whole file */
        }
        if (*p++ != ',') {
            break;
        }
    }
    return !any;
}

int
svc_store_download(struct gw_request *r)
{
    struct cat_link       link;
    struct store_ctx      ctx;
    struct store_download d;
    const char           *token = gw_request_route_param(r, 0), *loc, *disp;
    int                   rc;

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
    svc_store_ctx(r, &ctx);
    rc = store_download_find(&ctx, link.entitlement_id, link.format, &d);
    if (rc != GW_OK) {
        return svc_store_refused(r, &ctx, rc);
    }
    /* Delivered: reconciliation's "charged but never delivered" reads it.
     * A HEAD (a chat's link preview, a scanner) and a Range nginx will
     * answer 416 send no byte of the file. */
    if (strcmp(r->method, "HEAD") != 0 && !svc_range_unsatisfiable(r, d.path)) {
        rc = fin_download_record(&r->thr->db, link.entitlement_id, link.format);
        if (rc != GW_OK) {
            return rc;
        }
    }
    loc = gw_arena_printf(r->arena, "%s%s", r->cfg->downloads.internal_prefix,
                          d.path);
    disp = svc_disposition(r, d.sku, link.format);
    if (loc == NULL || disp == NULL
        || gw_reply_header(r, "X-Accel-Redirect", loc) != 0
        || gw_reply_header(r, "Content-Disposition", disp) != 0) {
        return GW_ERROR;
    }
    gw_reply_header(r, "Cache-Control", "private, no-store");
    return gw_reply_raw(r, 200, d.mime, "", 0) == 0 ? GW_OK : GW_ERROR;
}
