/*
 * gw_idem.c — named lock + stored reply per (scope, key).
 */
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_db.h"
#include "gw_idem.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_router.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_thread.h"
#include "gw_util.h"

#define GW_IDEM_RELEASE_SQL "DO RELEASE_ALL_LOCKS()"

/* Lock names are hashed: MariaDB caps them at 64 characters. */
static void
gw_idem_lock_name(const char *scope, const char *key, char out[64])
{
    struct gw_buf b = {0};
    char          hex[65];

    gw_buf_appends(&b, scope);
    gw_buf_append(&b, "\n", 1);
    gw_buf_appends(&b, key);
    gw_sha256_hex(b.data ? b.data : "", b.len, hex);
    gw_buf_free(&b);
    memcpy(out, "vas:idem:", 9);
    memcpy(out + 9, hex, 40);
    out[49] = '\0';
}

static void
gw_idem_request_hash(const struct gw_request *r, char out[65])
{
    struct gw_buf b = {0};

    gw_buf_appends(&b, r->method);
    gw_buf_append(&b, " ", 1);
    gw_buf_appends(&b, r->path);
    gw_buf_append(&b, "\n", 1);
    if (r->body_len > 0) {
        gw_buf_append(&b, r->body, r->body_len);
    }
    gw_sha256_hex(b.data ? b.data : "", b.len, out);
    gw_buf_free(&b);
}

int
gw_idem_lock(struct gw_db *db, struct gw_arena *a, const char *scope,
             const char *key, struct gw_idem_rec *rec)
{
    char      name[64];
    MYSQL_ROW row;
    int       rc;

    memset(rec, 0, sizeof(*rec));
    db->after_commit_ran = 0;
    gw_idem_lock_name(scope, key, name);
    /* An aggregate without GROUP BY returns exactly one row, record or
     * not; GET_LOCK runs once, when that row is made. */
    rc = gw_stmt_row(db, a, &row,
                     "SELECT GET_LOCK(?, 0), MAX(req_hash), MAX(status),"
                     " MAX(body) FROM idempotency_keys WHERE scope = ? AND"
                     " idem_key = ?",
                     GW_ARGS(GW_STR(name), GW_STR(scope), GW_STR(key)));
    if (rc != GW_OK) {
        return rc == GW_EUNAVAIL ? rc : GW_ERROR;
    }
    if (row == NULL || row[0] == NULL || strcmp(row[0], "1") != 0) {
        return GW_EIDEM_BUSY;
    }
    /* Released in the COMMIT's round trip (gw_db_commit), or by unlock. */
    snprintf(db->after_commit, sizeof(db->after_commit), "%s",
             GW_IDEM_RELEASE_SQL);
    if (row[1] != NULL) {
        rec->req_hash = row[1];
        rec->status = (int) gw_db_col_i64(row, 2);
        rec->body = row[3] ? row[3] : "";
    }
    return GW_OK;
}

int
gw_idem_record(struct gw_db *db, const char *scope, const char *key,
               const char *req_hash, int status, const char *body)
{
    int rc;

    rc = gw_stmt_exec(db,
                      "INSERT INTO idempotency_keys (scope, idem_key,"
                      " req_hash, status, body, created_at) VALUES (?, ?, ?,"
                      " ?, ?, UTC_TIMESTAMP(3))",
                      GW_ARGS(GW_STR(scope), GW_STR(key), GW_STR(req_hash),
                              GW_I64(status), GW_STR(body)));
    return rc == GW_EDUP ? GW_EIDEM_BUSY : rc;
}

void
gw_idem_unlock(struct gw_db *db)
{
    db->after_commit[0] = '\0';
    if (db->conn == NULL || db->after_commit_ran) {
        return; /* released with the connection, or with the COMMIT */
    }
    if (gw_stmt_exec(db, GW_IDEM_RELEASE_SQL, GW_NOARGS) != GW_OK) {
        gw_db_close(db);
    }
}

/* The stored reply of a record into r, or 422 for another request. */
static int
gw_idem_replay(struct gw_request *r, const char *req_hash, int status,
               const char *body)
{
    char hash[65];

    gw_idem_request_hash(r, hash);
    if (strcmp(req_hash, hash) != 0) {
        gw_request_problem(r,
                           "this Idempotency-Key was used with another"
                           " request");
        return GW_EIDEM_REUSED;
    }
    gw_reply_raw(r, status, "application/json", body, strlen(body));
    gw_reply_header(r, "Idempotent-Replayed", "true");
    r->replayed = 1;
    return GW_IDEM_REPLAYED;
}

/* The claim: waits GW_IDEM_WAIT_S at most on a request in flight. */
#define GW_IDEM_STR(x)  #x
#define GW_IDEM_XSTR(x) GW_IDEM_STR(x)
#define GW_IDEM_CLAIM_SQL                                                      \
    "SET STATEMENT innodb_lock_wait_timeout = " GW_IDEM_XSTR(                  \
        GW_IDEM_WAIT_S) " FOR INSERT INTO"                                     \
                        " idempotency_keys (scope, idem_key, req_hash, "       \
                        "status, body, created_at)"                            \
                        " VALUES (?, ?, ?, 0, '', UTC_TIMESTAMP(3))"

int
gw_idem_claim(struct gw_request *r)
{
    struct gw_db *db = &r->thr->db;
    MYSQL_ROW     row;
    char          hash[65];
    int           rc;

    gw_idem_request_hash(r, hash);
    rc = gw_stmt_exec(
        db, GW_IDEM_CLAIM_SQL,
        GW_ARGS(GW_STR(r->caller), GW_STR(r->idem_key), GW_STR(hash)));
    if (rc == GW_ERETRY && db->last_errno == ER_LOCK_WAIT_TIMEOUT) {
        return GW_EIDEM_BUSY; /* the first is still running */
    }
    if (rc != GW_EDUP) {
        return rc;
    }
    /* Committed before us (a duplicate is only reported once the holder
     * commits): this transaction has read nothing yet, so its snapshot
     * starts here and sees the record. */
    rc = gw_stmt_row(db, r->arena, &row,
                     "SELECT req_hash, status, body FROM idempotency_keys"
                     " WHERE scope = ? AND idem_key = ?",
                     GW_ARGS(GW_STR(r->caller), GW_STR(r->idem_key)));
    if (rc != GW_OK) {
        return rc;
    }
    if (row == NULL || row[0] == NULL || gw_db_col_i64(row, 1) == 0) {
        return GW_EIDEM_BUSY; /* not visible yet: let the client retry */
    }
    return gw_idem_replay(r, row[0], (int) gw_db_col_i64(row, 1),
                          row[2] ? row[2] : "");
}

int
gw_idem_begin(struct gw_request *r)
{
    struct gw_idem_rec rec;
    int                rc;

    if (r->idem_key == NULL) {
        return GW_EIDEM_REQUIRED;
    }
    if (!gw_is_token(r->idem_key, strlen(r->idem_key), GW_IDEM_KEY_MAX)) {
        gw_request_problem(r,
                           "Idempotency-Key must be 1 to %d printable"
                           " ASCII characters",
                           GW_IDEM_KEY_MAX);
        return GW_EINVAL;
    }
    if (r->route != NULL && (r->route->flags & GW_ROUTE_IDEM_TXN)) {
        r->idem_txn = 1; /* claimed by the handler's transaction */
        return GW_OK;
    }
    rc = gw_idem_lock(&r->thr->db, r->arena, r->caller, r->idem_key, &rec);
    if (rc != GW_OK) {
        return rc;
    }
    r->idem_locked = 1;
    if (rec.req_hash == NULL) {
        return GW_OK;
    }
    return gw_idem_replay(r, rec.req_hash, rec.status, rec.body);
}

int
gw_idem_save(struct gw_request *r, int status, const char *body)
{
    char hash[65];
    int  rc;

    if (r->idem_key != NULL && r->idem_txn) {
        rc = gw_stmt_exec(&r->thr->db,
                          "UPDATE idempotency_keys SET status = ?, body = ?"
                          " WHERE scope = ? AND idem_key = ?",
                          GW_ARGS(GW_I64(status), GW_STR(body),
                                  GW_STR(r->caller), GW_STR(r->idem_key)));
        /* The claim is this transaction's own row: it must be there. */
        return rc == GW_OK && r->thr->db.affected != 1 ? GW_ERROR : rc;
    }
    if (r->idem_key == NULL || !r->idem_locked) {
        return GW_OK;
    }
    gw_idem_request_hash(r, hash);
    return gw_idem_record(&r->thr->db, r->caller, r->idem_key, hash, status,
                          body);
}

void
gw_idem_end(struct gw_request *r)
{
    if (!r->idem_locked) {
        return;
    }
    r->idem_locked = 0;
    gw_idem_unlock(&r->thr->db);
}
