/*
 * fin_lookup.c — operator look-ups (subscribers, their purchases and
 * refunds), admin keys, and the download record reconciliation needs.
 * Keyset pagination only (by id), never OFFSET.
 */
#include <stdio.h>
#include <string.h>

#include "bill.h"
#include "fin.h"
#include "fin_internal.h"
#include "gw_json.h"
#include "gw_status.h"
#include "gw_util.h"

int
fin_page_build(struct gw_arena *a, MYSQL_RES *res, int limit,
               fin_row_json_fn row_json, cJSON **items, int64_t *next)
{
    MYSQL_ROW row;
    int64_t   last = 0;
    int       n = 0;

    *next = 0;
    *items = gw_json_own(a, cJSON_CreateArray());
    if (*items == NULL) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (n == limit) {
            *next = last;
            break;
        }
        cJSON_AddItemToArray(*items, row_json(row));
        last = gw_db_col_i64(row, 0);
        n++;
    }
    return GW_OK;
}

/* Escapes LIKE's wildcards: q is digits here, so nothing to escape. */
static int
fin_digits_only(const char *q)
{
    size_t i, n = strlen(q);

    for (i = 0; i < n; i++) {
        if (q[i] < '0' || q[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

static cJSON *
fin_subscriber_json(MYSQL_ROW row)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "id", (double) gw_db_col_i64(row, 0));
    cJSON_AddStringToObject(o, "im_user_id", row[1]);
    cJSON_AddStringToObject(o, "msisdn", row[2]);
    cJSON_AddStringToObject(o, "plan", row[3]);
    cJSON_AddStringToObject(o, "status", row[4]);
    cJSON_AddNumberToObject(o, "balance", (double) gw_db_col_i64(row, 5));
    cJSON_AddNumberToObject(o, "held", (double) gw_db_col_i64(row, 6));
    cJSON_AddNumberToObject(o, "credit_limit", (double) gw_db_col_i64(row, 7));
    cJSON_AddStringToObject(o, "currency", row[8]);
    cJSON_AddStringToObject(o, "created_at", row[9]);
    return o;
}

#define FIN_SUB_COLS                                                           \
    "SELECT s.id, s.im_user_id, s.msisdn, a.plan, a.status, a.balance,"        \
    " a.held, a.credit_limit, a.currency, DATE_FORMAT(s.created_at,"           \
    " '%%Y-%%m-%%dT%%H:%%i:%%sZ') FROM subscribers s JOIN accounts a ON a.id"  \
    " = s.account_id"

int
fin_subscribers_search(struct gw_db *db, struct gw_arena *a, const char *q,
                       int64_t after_id, int limit, cJSON **items,
                       int64_t *next_after)
{
    MYSQL_RES *res;
    int        rc;

    *next_after = 0;
    if (q == NULL || q[0] == '\0') {
        rc = gw_db_query(db, a, &res,
                         FIN_SUB_COLS " WHERE s.id > %lld ORDER BY s.id"
                                      " LIMIT %d",
                         (long long) after_id, limit + 1);
    } else if (fin_digits_only(q)) {
        /* An MSISDN prefix (uk_subscribers_msisdn), or an IM user id
         * made of digits: both. */
        rc = gw_db_query(db, a, &res,
                         FIN_SUB_COLS " WHERE (s.msisdn LIKE CONCAT(%s, '%%')"
                                      " OR s.im_user_id = %s) AND s.id > %lld"
                                      " ORDER BY s.id LIMIT %d",
                         q, q, (long long) after_id, limit + 1);
    } else {
        rc = gw_db_query(db, a, &res,
                         FIN_SUB_COLS " WHERE s.im_user_id = %s AND s.id >"
                                      " %lld ORDER BY s.id LIMIT %d",
                         q, (long long) after_id, limit + 1);
    }
    if (rc != GW_OK) {
        return rc;
    }
    return fin_page_build(a, res, limit, fin_subscriber_json, items,
                          next_after);
}

/* The refunds of one purchase as a JSON array. */
static int
fin_purchase_refunds(struct gw_db *db, struct gw_arena *a, int64_t purchase,
                     cJSON *o)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    cJSON     *arr = cJSON_AddArrayToObject(o, "refunds"), *r;
    int        rc;

    rc = gw_db_query(db, a, &res,
                     "SELECT id, amount, reason, actor, txn_id,"
                     " DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ')"
                     " FROM refunds WHERE purchase_id = %lld ORDER BY id",
                     (long long) purchase);
    if (rc != GW_OK || arr == NULL) {
        return rc != GW_OK ? rc : GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        r = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, r);
        cJSON_AddNumberToObject(r, "id", (double) gw_db_col_i64(row, 0));
        cJSON_AddNumberToObject(r, "amount", (double) gw_db_col_i64(row, 1));
        cJSON_AddStringToObject(r, "reason", row[2]);
        cJSON_AddStringToObject(r, "actor", row[3]);
        cJSON_AddNumberToObject(r, "txn_id", (double) gw_db_col_i64(row, 4));
        cJSON_AddStringToObject(r, "created_at", row[5]);
    }
    return GW_OK;
}

static cJSON *
fin_purchase_json(MYSQL_ROW row)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "id", (double) gw_db_col_i64(row, 0));
    cJSON_AddStringToObject(o, "status", row[1]);
    cJSON_AddNumberToObject(o, "item_id", (double) gw_db_col_i64(row, 2));
    cJSON_AddStringToObject(o, "sku", row[3] ? row[3] : "");
    cJSON_AddStringToObject(o, "title", row[4] ? row[4] : "");
    cJSON_AddNumberToObject(o, "amount", (double) gw_db_col_i64(row, 5));
    cJSON_AddNumberToObject(o, "refunded", (double) gw_db_col_i64(row, 6));
    cJSON_AddStringToObject(o, "currency", row[7]);
    cJSON_AddStringToObject(o, "buyer_user_id", row[8]);
    cJSON_AddStringToObject(o, "recipient_user_id", row[9]);
    if (row[10] != NULL) {
        cJSON_AddNumberToObject(o, "charge_txn_id",
                                (double) gw_db_col_i64(row, 10));
    } else {
        cJSON_AddNullToObject(o, "charge_txn_id");
    }
    cJSON_AddNumberToObject(o, "entitlement_id",
                            (double) gw_db_col_i64(row, 11));
    cJSON_AddStringToObject(o, "created_at", row[12]);
    return o;
}

int
fin_subscriber_purchases(struct gw_db *db, struct gw_arena *a,
                         const char *msisdn, int64_t before_id, int limit,
                         cJSON **items, int64_t *next_before)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    cJSON     *o;
    int        rc;

    *next_before = 0;
    rc = gw_db_row(db, a, &row,
                   "SELECT im_user_id FROM subscribers WHERE msisdn = %s",
                   msisdn);
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    /* The buyer's purchases (ix_purchases_buyer), newest first. */
    rc = gw_db_query(
        db, a, &res,
        "SELECT p.id, p.status, p.item_id, i.sku, i.title, p.amount,"
        " p.refunded, p.currency, p.buyer_user_id, p.recipient_user_id,"
        " p.charge_txn_id, p.entitlement_id, DATE_FORMAT(p.created_at,"
        " '%%Y-%%m-%%dT%%H:%%i:%%sZ') FROM purchases p LEFT JOIN items i ON"
        " i.id = p.item_id WHERE p.buyer_user_id = %s AND p.id < %lld ORDER"
        " BY p.id DESC LIMIT %d",
        row[0], (long long) (before_id > 0 ? before_id : INT64_MAX), limit + 1);
    if (rc == GW_OK) {
        rc = fin_page_build(a, res, limit, fin_purchase_json, items,
                            next_before);
    }
    /* The page's refunds: at most limit purchases, one query each. */
    for (o = rc == GW_OK ? (*items)->child : NULL; o != NULL && rc == GW_OK;
         o = o->next) {
        rc = fin_purchase_refunds(
            db, a, (int64_t) cJSON_GetNumberValue(cJSON_GetObjectItem(o, "id")),
            o);
    }
    return rc;
}

int
fin_admin_keys_list(struct gw_db *db, struct gw_arena *a, cJSON **items)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        rc;

    rc = gw_db_query(db, a, &res,
                     "SELECT id, name, DATE_FORMAT(created_at,"
                     " '%%Y-%%m-%%dT%%H:%%i:%%sZ'), DATE_FORMAT(revoked_at,"
                     " '%%Y-%%m-%%dT%%H:%%i:%%sZ') FROM admin_keys ORDER BY"
                     " id LIMIT 1000");
    if (rc != GW_OK) {
        return rc;
    }
    *items = gw_json_own(a, cJSON_CreateArray());
    if (*items == NULL) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(*items, o);
        cJSON_AddNumberToObject(o, "id", (double) gw_db_col_i64(row, 0));
        cJSON_AddStringToObject(o, "name", row[1]);
        cJSON_AddStringToObject(o, "created_at", row[2]);
        if (row[3] != NULL) {
            cJSON_AddStringToObject(o, "revoked_at", row[3]);
        } else {
            cJSON_AddNullToObject(o, "revoked_at");
        }
        cJSON_AddStringToObject(o, "status", row[3] ? "revoked" : "active");
    }
    return GW_OK;
}

/* With keep_one: locks every active key's row, so two revocations of the
 * last two keys at once cannot each see the other still active. 1 when
 * id is the only active key (and the transaction is rolled back). */
static int
fin_admin_key_last(struct gw_db *db, int64_t id, int *rc)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        n = 0, found = 0;

    *rc = gw_db_begin(db);
    if (*rc == GW_OK) {
        *rc = gw_db_query(db, NULL, &res,
                          "SELECT id FROM admin_keys WHERE revoked_at IS NULL"
                          " FOR UPDATE");
    }
    if (*rc != GW_OK) {
        gw_db_rollback(db);
        return 0;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        n++;
        found |= gw_db_col_i64(row, 0) == id;
    }
    mysql_free_result(res);
    if (found && n == 1) {
        gw_db_rollback(db);
        return 1;
    }
    return 0;
}

int
fin_admin_key_revoke(struct gw_db *db, int64_t id, int keep_one, int *last)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        rc, exists;

    *last = 0;
    if (keep_one && (*last = fin_admin_key_last(db, id, &rc)) != 0) {
        return GW_ECONFLICT;
    }
    if (keep_one && rc != GW_OK) {
        return rc;
    }
    rc = gw_db_exec(db,
                    "UPDATE admin_keys SET revoked_at = UTC_TIMESTAMP() WHERE"
                    " id = %lld AND revoked_at IS NULL",
                    (long long) id);
    if (keep_one) {
        rc = rc == GW_OK ? gw_db_commit(db) : (gw_db_rollback(db), rc);
    }
    if (rc != GW_OK || db->affected == 1) {
        return rc;
    }
    rc = gw_db_query(db, NULL, &res, "SELECT 1 FROM admin_keys WHERE id = %lld",
                     (long long) id);
    if (rc != GW_OK) {
        return rc;
    }
    row = mysql_fetch_row(res);
    exists = row != NULL;
    mysql_free_result(res);
    return exists ? GW_ECONFLICT : GW_ENOTFOUND;
}

/*
 * Downloads of one link repeat (Range requests, retries): each thread
 * remembers the last pairs it recorded and writes only new ones.
 */
#define FIN_DOWNLOADS_CACHED 256

struct fin_download_seen {
    int64_t entitlement_id;
    char    format[8];
};

static __thread struct fin_download_seen
    fin_downloads_seen[FIN_DOWNLOADS_CACHED];

int
fin_download_record(struct gw_db *db, int64_t entitlement_id,
                    const char *format)
{
    struct fin_download_seen *seen;
    int                       rc;

    seen =
        &fin_downloads_seen[(uint64_t) entitlement_id % FIN_DOWNLOADS_CACHED];
    if (seen->entitlement_id == entitlement_id
        && strcmp(seen->format, format) == 0) {
        return GW_OK;
    }
    rc = gw_db_exec(db,
                    "INSERT IGNORE INTO entitlement_downloads"
                    " (entitlement_id, format, first_at) VALUES (%lld, %s,"
                    " UTC_TIMESTAMP(3))",
                    (long long) entitlement_id, format);
    if (rc == GW_OK) {
        seen->entitlement_id = entitlement_id;
        snprintf(seen->format, sizeof(seen->format), "%s", format);
    }
    return rc;
}
