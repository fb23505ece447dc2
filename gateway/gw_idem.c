/*
 * gw_idem.c — named lock + stored reply per (scope, key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_db.h"
#include "gw_idem.h"
#include "gw_log.h"
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

int
gw_idem_begin(struct gw_request *r)
{
    struct gw_idem_rec rec;
    char               hash[65];
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
    rc = gw_idem_lock(&r->thr->db, r->arena, r->caller, r->idem_key, &rec);
    if (rc != GW_OK) {
        return rc;
    }
    r->idem_locked = 1;
    if (rec.req_hash == NULL) {
        return GW_OK;
    }
    gw_idem_request_hash(r, hash);
    if (strcmp(rec.req_hash, hash) != 0) {
        gw_request_problem(r,
                           "this Idempotency-Key was used with another"
                           " request");
        return GW_EIDEM_REUSED;
    }
    gw_reply_raw(r, rec.status, "application/json", rec.body, strlen(rec.body));
    gw_reply_header(r, "Idempotent-Replayed", "true");
    r->replayed = 1;
    return GW_IDEM_REPLAYED;
}

int
gw_idem_save(struct gw_request *r, int status, const char *body)
{
    char hash[65];

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
