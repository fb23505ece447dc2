/*
 * gw_idem.c — named lock + stored reply per (scope, key).
 */
#include <stdio.h>
#include <string.h>

#include "gw_db.h"
#include "gw_idem.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"

/* Lock names are hashed: MariaDB caps them at 64 characters. */
static void
gw_idem_lock_name(const struct gw_request *r, char out[64])
{
    struct gw_buf b = {0};
    char          hex[65];

    gw_buf_appends(&b, r->caller);
    gw_buf_append(&b, "\n", 1);
    gw_buf_appends(&b, r->idem_key);
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
gw_idem_begin(struct gw_request *r)
{
    struct gw_db *db = &r->thr->db;
    char          name[64], hash[65];
    MYSQL_ROW     row;
    int           rc;

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
    db->after_commit_ran = 0;
    gw_idem_lock_name(r, name);
    /* One round trip: the lock attempt, then (a second statement, so it
     * runs after the lock is held) whether we hold it and the record. */
    /* An aggregate without GROUP BY returns exactly one row, record or
     * not, without the temporary table a derived-table join costs. */
    rc = gw_db_row(db, r->arena, &row,
                   "DO GET_LOCK(%s, 0); SELECT IS_USED_LOCK(%s) <=>"
                   " CONNECTION_ID(), MAX(req_hash), MAX(status), MAX(body)"
                   " FROM idempotency_keys WHERE scope = %s AND idem_key ="
                   " %s",
                   name, name, r->caller, r->idem_key);
    if (rc != GW_OK) {
        return rc == GW_EUNAVAIL ? rc : GW_ERROR;
    }
    if (row == NULL || row[0] == NULL || strcmp(row[0], "1") != 0) {
        return GW_EIDEM_BUSY;
    }
    r->idem_locked = 1;
    /* Released in the COMMIT's round trip (gw_db_commit), or below. */
    snprintf(db->after_commit, sizeof(db->after_commit),
             "DO RELEASE_LOCK('%s')", name);
    if (row[1] == NULL) {
        return GW_OK;
    }
    row++;
    gw_idem_request_hash(r, hash);
    if (strcmp(row[0], hash) != 0) {
        gw_request_problem(r,
                           "this Idempotency-Key was used with another"
                           " request");
        return GW_EIDEM_REUSED;
    }
    gw_reply_raw(r, (int) gw_db_col_i64(row, 1), "application/json", row[2],
                 strlen(row[2]));
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
    /* Travels with the COMMIT: the record and the effect commit together
     * in one round trip. */
    return gw_db_defer(&r->thr->db,
                       "INSERT INTO idempotency_keys"
                       " (scope, idem_key, req_hash, status, body, created_at)"
                       " VALUES (%s, %s, %s, %d, %s, UTC_TIMESTAMP(3))",
                       r->caller, r->idem_key, hash, status, body);
}

void
gw_idem_end(struct gw_request *r)
{
    char name[64];

    if (!r->idem_locked) {
        return;
    }
    r->idem_locked = 0;
    r->thr->db.after_commit[0] = '\0';
    if (r->thr->db.conn == NULL || r->thr->db.after_commit_ran) {
        return; /* released with the connection, or with the COMMIT */
    }
    gw_idem_lock_name(r, name);
    if (gw_db_exec(&r->thr->db, "DO RELEASE_LOCK(%s)", name) != GW_OK) {
        gw_db_close(&r->thr->db);
    }
}
