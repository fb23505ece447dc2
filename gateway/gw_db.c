/*
 * gw_db.c — MariaDB Connector/C plumbing.
 */
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_db.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_stmt.h"

void
gw_db_init(struct gw_db *db, const struct gw_config *cfg)
{
    memset(db, 0, sizeof(*db));
    db->cfg = cfg;
}

void
gw_db_close(struct gw_db *db)
{
    gw_stmt_cache_clear(db);
    if (db->conn != NULL) {
        mysql_close(db->conn);
        db->conn = NULL;
    }
    db->in_txn = 0;
    db->begin_pending = 0;
    db->deferred.len = 0;
    db->ndeferred = 0;
}

void
gw_db_fini(struct gw_db *db)
{
    gw_db_close(db);
    gw_buf_free(&db->sql);
    gw_buf_free(&db->deferred);
}

static unsigned
gw_db_seconds(int64_t ms)
{
    return ms < 1000 ? 1 : (unsigned) ((ms + 999) / 1000);
}

int
gw_db_connect(struct gw_db *db)
{
    const struct gw_config *cfg = db->cfg;
    unsigned                t_conn, t_read, t_write;
    my_bool                 no = 0;
    MYSQL                  *m;

    if (db->conn != NULL) {
        return GW_OK;
    }
    m = mysql_init(NULL);
    if (m == NULL) {
        return GW_ERROR;
    }
    t_conn = gw_db_seconds(cfg->mysql.connect_timeout_ms);
    t_read = gw_db_seconds(cfg->mysql.read_timeout_ms);
    t_write = gw_db_seconds(cfg->mysql.write_timeout_ms);
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t_conn);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t_read);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t_write);
    /* Never reconnect silently: a reconnect inside a transaction would
     * run the rest of it in autocommit mode. We reconnect ourselves. */
    mysql_options(m, MYSQL_OPT_RECONNECT, &no);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_INIT_COMMAND,
                  "SET SESSION time_zone = '+00:00', "
                  "SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
                  "NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'");

    if (mysql_real_connect(m, cfg->mysql.socket[0] ? NULL : cfg->mysql.host,
                           cfg->mysql.user, cfg->mysql_password,
                           cfg->mysql.database, (unsigned) cfg->mysql.port,
                           cfg->mysql.socket[0] ? cfg->mysql.socket : NULL,
                           CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS)
        == NULL) {
        gw_log_warn(db->rid, "connect: %s", mysql_error(m));
        db->last_errno = mysql_errno(m);
        mysql_close(m);
        return GW_EUNAVAIL;
    }
    db->conn = m;
    return GW_OK;
}

static int
gw_db_conn_error(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST
        || e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR
        || e == CR_COMMANDS_OUT_OF_SYNC || e == ER_CONNECTION_KILLED
        || e == ER_SERVER_SHUTDOWN;
}

/* Statements that can be re-sent after the connection died before them. */
static int
gw_db_stmt_resendable(const char *sql)
{
    return strncasecmp(sql, "SELECT", 6) == 0
        || strncasecmp(sql, "EXPLAIN", 7) == 0
        || strncasecmp(sql, "START", 5) == 0 || strncasecmp(sql, "SET", 3) == 0
        || strncasecmp(sql, "DO", 2) == 0;
}

int
gw_db_vformat(struct gw_db *db, struct gw_buf *out, const char *fmt, va_list ap)
{
    const char *p, *s;
    size_t      len;
    int         lcount;

    for (p = fmt; *p; p++) {
        if (*p != '%') {
            if (gw_buf_append(out, p, 1) != 0)
                return GW_ERROR;
            continue;
        }
        p++;
        if (*p == '%') {
            if (gw_buf_append(out, "%", 1) != 0)
                return GW_ERROR;
            continue;
        }
        if (*p == 's') {
            s = va_arg(ap, const char *);
            if (s == NULL) {
                if (gw_buf_appends(out, "NULL") != 0)
                    return GW_ERROR;
                continue;
            }
            len = strlen(s);
            if (gw_buf_reserve(out, len * 2 + 3) != 0)
                return GW_ERROR;
            out->data[out->len++] = '\'';
            out->len += mysql_real_escape_string(db->conn, out->data + out->len,
                                                 s, (unsigned long) len);
            out->data[out->len++] = '\'';
            out->data[out->len] = '\0';
            continue;
        }
        for (lcount = 0; *p == 'l'; p++) {
            lcount++;
        }
        if (*p == 'd' && lcount == 0) {
            if (gw_buf_printf(out, "%d", va_arg(ap, int)) != 0)
                return -1;
        } else if (*p == 'u' && lcount == 0) {
            if (gw_buf_printf(out, "%u", va_arg(ap, unsigned)) != 0)
                return -1;
        } else if (*p == 'd' && lcount == 1) {
            if (gw_buf_printf(out, "%ld", va_arg(ap, long)) != 0)
                return -1;
        } else if (*p == 'u' && lcount == 1) {
            if (gw_buf_printf(out, "%lu", va_arg(ap, unsigned long)) != 0)
                return -1;
        } else if (*p == 'd' && lcount == 2) {
            if (gw_buf_printf(out, "%lld", va_arg(ap, long long)) != 0)
                return -1;
        } else if (*p == 'u' && lcount == 2) {
            if (gw_buf_printf(out, "%llu", va_arg(ap, unsigned long long)) != 0)
                return -1;
        } else {
            gw_log_error(db->rid, "bad SQL format near '%.20s'", fmt);
            return GW_ERROR;
        }
    }
    if (out->len > GW_SQL_BYTES_MAX) {
        gw_log_error(db->rid, "statement over %d bytes", GW_SQL_BYTES_MAX);
        return GW_ERROR;
    }
    return GW_OK;
}

/*
 * Errors that the values a client sent can cause (too long, not valid in
 * the column's character set, out of range, a reference to nothing, a
 * failed CHECK): 400, never 500. Anything else is our bug.
 */
static int
gw_db_client_error(unsigned e)
{
    return e == 1406  /* ER_DATA_TOO_LONG */
        || e == 1366  /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (charset) */
        || e == 1292  /* ER_TRUNCATED_WRONG_VALUE */
        || e == 1264  /* ER_WARN_DATA_OUT_OF_RANGE */
        || e == 1265  /* WARN_DATA_TRUNCATED */
        || e == 1048  /* ER_BAD_NULL_ERROR */
        || e == 1452  /* ER_NO_REFERENCED_ROW_2 */
        || e == 1690  /* ER_DATA_OUT_OF_RANGE (arithmetic) */
        || e == 4025; /* ER_CONSTRAINT_FAILED (CHECK) */
}

/*
 * The server's message without the values it quotes ("Duplicate entry
 * '8613...' for key", "Incorrect string value: '\xFF'"): quoted runs
 * become '?'. The log never holds values of a statement.
 */
static void
gw_db_error_text(const char *msg, char *out, size_t cap)
{
    size_t o = 0;
    int    quoted = 0;

    for (; *msg != '\0' && o + 4 < cap; msg++) {
        if (*msg == '\'') {
            quoted = !quoted;
            out[o++] = '\'';
            if (quoted) {
                out[o++] = '?';
            }
        } else if (!quoted) {
            out[o++] = *msg;
        }
    }
    out[o] = '\0';
}

int
gw_db_status_errno(struct gw_db *db, unsigned e, const char *msg,
                   const char *sql)
{
    char text[256];

    db->last_errno = e;
    if (gw_db_conn_error(e)) {
        gw_log_warn(db->rid, "connection lost: %s", msg);
        gw_db_close(db);
        return GW_EUNAVAIL;
    }
    if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT) {
        return GW_ERETRY;
    }
    if (e == ER_DUP_ENTRY) {
        return GW_EDUP;
    }
    /* The statement's template, never its values (MSISDNs, references). */
    gw_db_error_text(msg, text, sizeof(text));
    if (gw_db_client_error(e)) {
        gw_log_warn(db->rid, "mysql %u (client input): %s; sql: %.200s", e,
                    text, sql ? sql : "?");
        return GW_EINVAL;
    }
    gw_log_error(db->rid, "mysql %u: %s; sql: %.300s", e, text,
                 sql ? sql : "?");
    return GW_ERROR;
}

static int
gw_db_status_of(struct gw_db *db)
{
    return gw_db_status_errno(db, mysql_errno(db->conn), mysql_error(db->conn),
                              db->fmt);
}

int
gw_db_begin_flush(struct gw_db *db)
{
    int rc = gw_db_connect(db);

    if (rc != GW_OK || !db->begin_pending) {
        return rc;
    }
    db->nsent++;
    if (mysql_real_query(db->conn, "START TRANSACTION", 17) != 0) {
        /* Nothing ran: a retry of the whole transaction is safe. */
        rc = gw_db_status_errno(db, mysql_errno(db->conn),
                                mysql_error(db->conn), "START TRANSACTION");
        if (rc == GW_EUNAVAIL) {
            db->begin_pending = 1;
            db->in_txn = 1;
        }
        return rc;
    }
    db->begin_pending = 0;
    return GW_OK;
}

/*
 * Sends db->sql and walks every result it produced. The last result set
 * (if any) goes to *res (NULL res: freed); affected/insert_id are those of
 * the last statement that returned no rows. Results are always drained, so
 * the connection stays in sync even on errors.
 */
static int
gw_db_roundtrip(struct gw_db *db, MYSQL_RES **res)
{
    MYSQL_RES *last = NULL, *cur;
    int        more, rc = GW_OK;

    if (mysql_real_query(db->conn, db->sql.data, db->sql.len) != 0) {
        return gw_db_status_of(db);
    }
    do {
        cur = mysql_store_result(db->conn);
        if (cur != NULL) {
            if (last != NULL) {
                mysql_free_result(last);
            }
            last = cur;
        } else if (mysql_field_count(db->conn) == 0) {
            db->affected = (int64_t) mysql_affected_rows(db->conn);
            db->insert_id = (int64_t) mysql_insert_id(db->conn);
        } else {
            rc = gw_db_status_of(db);
            break;
        }
        more = mysql_next_result(db->conn);
        if (more > 0) {
            rc = gw_db_status_of(db);
        }
    } while (more == 0);
    if (rc != GW_OK || res == NULL) {
        if (last != NULL) {
            mysql_free_result(last);
        }
        last = NULL;
    }
    if (res != NULL) {
        *res = last;
    }
    return rc;
}

/* Formats and sends a statement; reconnects and re-sends once if safe. */
static int
gw_db_send(struct gw_db *db, MYSQL_RES **res, const char *fmt, va_list ap)
{
    va_list ap2;
    int     rc = GW_ERROR, attempt, safe, pending;

    db->fmt = fmt;
    for (attempt = 0; attempt < 2; attempt++) {
        rc = gw_db_connect(db);
        if (rc != GW_OK) {
            return rc;
        }
        db->sql.len = 0;
        if (db->begin_pending
            && gw_buf_appends(&db->sql, "START TRANSACTION;") != 0) {
            return GW_ERROR;
        }
        va_copy(ap2, ap);
        rc = gw_db_vformat(db, &db->sql, fmt, ap2);
        va_end(ap2);
        if (rc != GW_OK) {
            return GW_ERROR;
        }
        pending = db->begin_pending;
        safe = pending || (!db->in_txn && gw_db_stmt_resendable(db->sql.data));
        rc = gw_db_roundtrip(db, res);
        if (db->conn != NULL) {
            /* The text reached a live server: START TRANSACTION ran even
             * if the statement after it failed (a duplicate key keeps a
             * lock), so from now on ROLLBACK must be sent. */
            db->begin_pending = 0;
        }
        if (rc == GW_OK) {
            return GW_OK;
        }
        if (rc != GW_EUNAVAIL || !safe) {
            return rc;
        }
        /* The connection died: when this was the first statement of a
         * transaction, the server rolled it back; start it again. */
        db->in_txn = db->begin_pending = pending;
    }
    return rc;
}

int
gw_db_exec(struct gw_db *db, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = gw_db_send(db, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static void
gw_db_free_result(void *res)
{
    mysql_free_result(res);
}

static int
gw_db_vquery(struct gw_db *db, struct gw_arena *a, MYSQL_RES **res,
             const char *fmt, va_list ap)
{
    int rc;

    *res = NULL;
    rc = gw_db_send(db, res, fmt, ap);
    if (rc != GW_OK) {
        return rc;
    }
    if (*res == NULL) {
        gw_log_error(db->rid, "query returned no result set: %.200s", fmt);
        return GW_ERROR;
    }
    if (a != NULL && gw_arena_cleanup_add(a, gw_db_free_result, *res) != 0) {
        *res = NULL;
        return GW_ERROR;
    }
    return GW_OK;
}

int
gw_db_query(struct gw_db *db, struct gw_arena *a, MYSQL_RES **res,
            const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = gw_db_vquery(db, a, res, fmt, ap);
    va_end(ap);
    return rc;
}

int
gw_db_row(struct gw_db *db, struct gw_arena *a, MYSQL_ROW *row, const char *fmt,
          ...)
{
    MYSQL_RES *res;
    va_list    ap;
    int        rc;

    *row = NULL;
    va_start(ap, fmt);
    rc = gw_db_vquery(db, a, &res, fmt, ap);
    va_end(ap);
    if (rc == GW_OK) {
        *row = mysql_fetch_row(res);
    }
    return rc;
}

int
gw_db_begin(struct gw_db *db)
{
    if (db->in_txn) {
        gw_log_error(db->rid, "transaction already open");
        return GW_ERROR;
    }
    /* Sent with the first statement: one round trip less per transaction. */
    db->in_txn = 1;
    db->begin_pending = 1;
    db->deferred.len = 0;
    db->ndeferred = 0;
    db->after_commit_ran = 0;
    return GW_OK;
}

int
gw_db_defer(struct gw_db *db, const char *fmt, ...)
{
    va_list ap;
    size_t  mark = db->deferred.len;
    int     rc;

    if (!db->in_txn) {
        va_start(ap, fmt);
        rc = gw_db_send(db, NULL, fmt, ap);
        va_end(ap);
        return rc;
    }
    rc = gw_db_connect(db); /* the formatter escapes with it */
    if (rc != GW_OK) {
        return rc;
    }
    va_start(ap, fmt);
    rc = gw_db_vformat(db, &db->deferred, fmt, ap);
    va_end(ap);
    if (rc != GW_OK || gw_buf_append(&db->deferred, ";", 1) != 0) {
        db->deferred.len = mark;
        return GW_ERROR;
    }
    db->ndeferred++;
    return GW_OK;
}

static void
gw_db_txn_reset(struct gw_db *db)
{
    db->in_txn = db->begin_pending = 0;
    db->deferred.len = 0;
    db->ndeferred = 0;
}

/*
 * The outcome of statement `failed` of the commit text (whose COMMIT is
 * statement `commit_at`): before COMMIT, the transaction is still open
 * (roll back, report); at COMMIT, a lost connection leaves the outcome
 * unknown.
 */
static int
gw_db_commit_failed(struct gw_db *db, int failed, int commit_at)
{
    int rc = gw_db_status_of(db);

    if (rc == GW_EUNAVAIL) {
        /* The server may or may not have committed: only a retry with the
         * same idempotency key can tell. */
        gw_log_error(db->rid, "COMMIT outcome unknown");
        gw_db_txn_reset(db);
        return GW_EOUTCOME;
    }
    (void) failed;
    (void) commit_at;
    gw_db_rollback(db);
    return rc;
}

int
gw_db_commit(struct gw_db *db)
{
    MYSQL_RES *res;
    int        more, idx, commit_at;

    if (!db->in_txn) {
        return GW_ERROR;
    }
    if (db->begin_pending && db->ndeferred == 0) {
        gw_db_txn_reset(db); /* nothing was sent */
        return GW_OK;
    }
    if (db->conn == NULL) {
        gw_db_txn_reset(db);
        return GW_EOUTCOME;
    }
    commit_at = db->begin_pending + db->ndeferred;
    db->fmt = "COMMIT (with deferred writes)";
    db->sql.len = 0;
    if (db->begin_pending) {
        gw_buf_appends(&db->sql, "START TRANSACTION;");
    }
    if (db->ndeferred > 0) {
        gw_buf_append(&db->sql, db->deferred.data, db->deferred.len);
    }
    gw_buf_appends(&db->sql, "COMMIT");
    if (db->after_commit[0] != '\0') {
        gw_buf_append(&db->sql, ";", 1);
        gw_buf_appends(&db->sql, db->after_commit);
    }
    db->begin_pending = 0;
    if (mysql_real_query(db->conn, db->sql.data, db->sql.len) != 0) {
        return gw_db_commit_failed(db, 0, commit_at);
    }
    for (idx = 0;; idx++) {
        res = mysql_store_result(db->conn);
        if (res != NULL) {
            mysql_free_result(res);
        }
        more = mysql_next_result(db->conn);
        if (more != 0) {
            break;
        }
    }
    if (more > 0 && idx + 1 <= commit_at) {
        return gw_db_commit_failed(db, idx + 1, commit_at);
    }
    gw_db_txn_reset(db);
    if (more > 0) {
        gw_log_warn(db->rid, "after-commit statement failed: %s",
                    mysql_error(db->conn));
        gw_db_close(db); /* releases session locks with it */
    }
    db->after_commit_ran = db->after_commit[0] != '\0';
    db->after_commit[0] = '\0';
    return GW_OK;
}

void
gw_db_rollback(struct gw_db *db)
{
    if (db->conn != NULL && db->in_txn && !db->begin_pending
        && mysql_real_query(db->conn, "ROLLBACK", 8) != 0) {
        gw_log_warn(db->rid, "rollback failed: %s", mysql_error(db->conn));
        gw_db_close(db);
    }
    gw_db_txn_reset(db);
}

int
gw_db_ping(struct gw_db *db)
{
    int rc = gw_db_connect(db);

    if (rc != GW_OK) {
        return rc;
    }
    if (mysql_ping(db->conn) != 0) {
        gw_db_close(db);
        rc = gw_db_connect(db);
        if (rc != GW_OK) {
            return rc;
        }
        if (mysql_ping(db->conn) != 0) {
            gw_db_close(db);
            return GW_EUNAVAIL;
        }
    }
    return GW_OK;
}

int64_t
gw_db_col_i64(MYSQL_ROW row, unsigned col)
{
    return row[col] != NULL ? strtoll(row[col], NULL, 10) : 0;
}

const char *
gw_db_col_str(MYSQL_ROW row, unsigned col)
{
    return row[col];
}
