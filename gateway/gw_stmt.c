/*
 * gw_stmt.c — prepared statements (binary protocol) with a per-connection
 * cache keyed by the SQL text.
 */
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_log.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"

struct gw_stmt_slot {
    char       *sql;  /* owned copy: the key */
    uintptr_t   seen; /* where the caller's text was last time */
    size_t      len;
    uint64_t    hash;
    uint64_t    used; /* db->stmt_tick of the last use */
    MYSQL_STMT *stmt;
};

struct gw_stmt_cache {
    struct gw_stmt_slot slot[GW_STMT_CACHE_MAX];
};

static void
gw_stmt_slot_free(struct gw_stmt_slot *s)
{
    if (s->stmt != NULL) {
        mysql_stmt_close(s->stmt);
    }
    free(s->sql);
    memset(s, 0, sizeof(*s));
}

void
gw_stmt_cache_clear(struct gw_db *db)
{
    size_t i;

    if (db->stmts == NULL) {
        return;
    }
    for (i = 0; i < GW_STMT_CACHE_MAX; i++) {
        gw_stmt_slot_free(&db->stmts->slot[i]);
    }
    free(db->stmts);
    db->stmts = NULL;
}

uint64_t
gw_stmt_sent(const struct gw_db *db)
{
    return db->nsent;
}

/* Statements that can be re-sent after the connection died before them. */
static int
gw_stmt_resendable(const char *sql)
{
    return strncasecmp(sql, "SELECT", 6) == 0 || strncasecmp(sql, "SET", 3) == 0
        || strncasecmp(sql, "DO", 2) == 0;
}

static int
gw_stmt_error(struct gw_db *db, MYSQL_STMT *st, const char *sql)
{
    return gw_db_status_errno(db, mysql_stmt_errno(st), mysql_stmt_error(st),
                              sql);
}

/* The cached statement for sql, prepared on a miss (LRU eviction). */
static int
gw_stmt_get(struct gw_db *db, const char *sql, MYSQL_STMT **out)
{
    struct gw_stmt_slot *s, *victim = NULL;
    size_t               len = strlen(sql), i;
    uint64_t             h;
    int                  rc;

    if (db->stmts == NULL
        && (db->stmts = calloc(1, sizeof(*db->stmts))) == NULL) {
        return GW_ERROR;
    }
    db->stmt_tick++;
    /* Most texts are constants, at the same address every call: found by
     * it (and checked whole) before the text is hashed. */
    for (i = 0; i < GW_STMT_CACHE_MAX; i++) {
        s = &db->stmts->slot[i];
        if (s->stmt != NULL && s->seen == (uintptr_t) sql && s->len == len
            && memcmp(s->sql, sql, len) == 0) {
            s->used = db->stmt_tick;
            *out = s->stmt;
            return GW_OK;
        }
    }
    h = gw_hash_bytes(sql, len);
    for (i = 0; i < GW_STMT_CACHE_MAX; i++) {
        s = &db->stmts->slot[i];
        if (s->stmt != NULL && s->hash == h && s->len == len
            && memcmp(s->sql, sql, len) == 0) {
            s->used = db->stmt_tick;
            s->seen = (uintptr_t) sql;
            *out = s->stmt;
            return GW_OK;
        }
        if (victim == NULL || s->used < victim->used) {
            victim = s;
        }
    }
    gw_stmt_slot_free(victim);
    victim->stmt = mysql_stmt_init(db->conn);
    victim->sql = malloc(len + 1);
    if (victim->stmt == NULL || victim->sql == NULL) {
        gw_stmt_slot_free(victim);
        return GW_ERROR;
    }
    memcpy(victim->sql, sql, len + 1);
    victim->seen = (uintptr_t) sql;
    victim->len = len;
    victim->hash = h;
    victim->used = db->stmt_tick;
    if (mysql_stmt_prepare(victim->stmt, sql, (unsigned long) len) != 0) {
        rc = gw_stmt_error(db, victim->stmt, sql);
        if (db->stmts != NULL) { /* not dropped by a lost connection */
            gw_stmt_slot_free(victim);
        }
        return rc;
    }
    *out = victim->stmt;
    return GW_OK;
}

static int
gw_stmt_bind_params(MYSQL_STMT *st, const struct gw_param *p, size_t n,
                    MYSQL_BIND *b, unsigned long *lens)
{
    size_t i;

    gw_assert(n <= GW_STMT_PARAMS_MAX);
    gw_assert(mysql_stmt_param_count(st) == n);
    memset(b, 0, n * sizeof(*b));
    for (i = 0; i < n; i++) {
        if (p[i].type == GW_PARAM_I64) {
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *) &p[i].i;
        } else if (p[i].type == GW_PARAM_STR && p[i].s != NULL) {
            lens[i] = p[i].len == (size_t) -1 ? strlen(p[i].s) : p[i].len;
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *) p[i].s;
            b[i].buffer_length = lens[i];
            b[i].length = &lens[i];
        } else {
            b[i].buffer_type = MYSQL_TYPE_NULL;
        }
    }
    return n == 0 || mysql_stmt_bind_param(st, b) == 0 ? GW_OK : GW_ERROR;
}

/* Prepares (cached), binds and executes, reconnecting once when safe. */
static int
gw_stmt_run(struct gw_db *db, const char *sql, const struct gw_param *p,
            size_t n, MYSQL_STMT **out)
{
    MYSQL_BIND    b[GW_STMT_PARAMS_MAX];
    unsigned long lens[GW_STMT_PARAMS_MAX];
    MYSQL_STMT   *st = NULL;
    int           attempt, rc = GW_ERROR, first, safe;

    for (attempt = 0; attempt < 2; attempt++) {
        first = db->begin_pending;
        safe = first || (!db->in_txn && gw_stmt_resendable(sql));
        rc = gw_db_begin_flush(db);
        if (rc == GW_OK) {
            rc = gw_stmt_get(db, sql, &st);
        }
        if (rc == GW_OK) {
            rc = gw_stmt_bind_params(st, p, n, b, lens);
        }
        if (rc == GW_OK) {
            db->nsent++;
            if (mysql_stmt_execute(st) != 0) {
                rc = gw_stmt_error(db, st, sql);
            }
        }
        if (rc == GW_OK) {
            *out = st;
            return GW_OK;
        }
        if (rc != GW_EUNAVAIL || !safe) {
            return rc;
        }
        /* The connection died before anything could commit: when this
         * was the first statement of a transaction, start it again. */
        db->in_txn = db->begin_pending = first;
    }
    return rc;
}

/*
 * A CALL answers with its result sets and then the CALL's own status:
 * read them all, or the connection is out of sync for the next command.
 */
static int
gw_stmt_drain(struct gw_db *db, MYSQL_STMT *st, const char *sql)
{
    int more;

    while (db->conn != NULL && mysql_stmt_more_results(st)) {
        more = mysql_stmt_next_result(st);
        if (more > 0) {
            return gw_stmt_error(db, st, sql);
        }
        if (more < 0) {
            break;
        }
        if (mysql_stmt_field_count(st) > 0) {
            mysql_stmt_free_result(st);
        }
    }
    return GW_OK;
}

int
gw_stmt_exec(struct gw_db *db, const char *sql, const struct gw_param *p,
             size_t n)
{
    MYSQL_STMT *st = NULL;
    int         rc = gw_stmt_run(db, sql, p, n, &st);

    if (rc != GW_OK) {
        return rc;
    }
    db->affected = (int64_t) mysql_stmt_affected_rows(st);
    db->insert_id = (int64_t) mysql_stmt_insert_id(st);
    if (mysql_stmt_field_count(st) > 0) {
        mysql_stmt_free_result(st); /* rows nobody asked for */
    }
    return gw_stmt_drain(db, st, sql);
}

/*
 * Binds every column as a string buffer of GW_STMT_COL_BYTES; a longer
 * value is fetched whole by gw_stmt_row_copy. Not sized from the result's
 * metadata: mysql_stmt_result_metadata copies every column's names into a
 * fresh allocation on each call, and the max_length it would read costs a
 * pass over the stored rows (STMT_ATTR_UPDATE_MAX_LENGTH).
 */
static int
gw_stmt_bind_result(struct gw_arena *a, MYSQL_STMT *st, unsigned ncols,
                    MYSQL_BIND *b, unsigned long *lens, my_bool *nulls)
{
    char    *buf = gw_arena_alloc(a, (size_t) ncols * GW_STMT_COL_BYTES);
    unsigned i;

    if (buf == NULL) {
        return GW_ERROR;
    }
    memset(b, 0, ncols * sizeof(*b));
    for (i = 0; i < ncols; i++) {
        b[i].buffer_type = MYSQL_TYPE_STRING;
        b[i].buffer = buf + (size_t) i * GW_STMT_COL_BYTES;
        b[i].buffer_length = GW_STMT_COL_BYTES;
        b[i].length = &lens[i];
        b[i].is_null = &nulls[i];
    }
    return mysql_stmt_bind_result(st, b) == 0 ? GW_OK : GW_ERROR;
}

/* Copies the fetched row into the arena (long columns fetched whole). */
static MYSQL_ROW
gw_stmt_row_copy(struct gw_arena *a, MYSQL_STMT *st, unsigned ncols,
                 MYSQL_BIND *b, const unsigned long *lens, const my_bool *nulls)
{
    MYSQL_ROW  row = gw_arena_alloc(a, ncols * sizeof(char *));
    MYSQL_BIND big;
    unsigned   i;

    for (i = 0; row != NULL && i < ncols; i++) {
        if (nulls[i]) {
            row[i] = NULL;
            continue;
        }
        row[i] = gw_arena_alloc(a, lens[i] + 1);
        if (row[i] == NULL) {
            return NULL;
        }
        if (lens[i] < b[i].buffer_length) {
            memcpy(row[i], b[i].buffer, lens[i]);
        } else {
            memset(&big, 0, sizeof(big));
            big.buffer_type = MYSQL_TYPE_STRING;
            big.buffer = row[i];
            big.buffer_length = lens[i] + 1;
            if (mysql_stmt_fetch_column(st, &big, i, 0) != 0) {
                return NULL;
            }
        }
        row[i][lens[i]] = '\0';
    }
    return row;
}

/* Frees the stored result and reads what follows it; rc or the drain's. */
static int
gw_stmt_done(struct gw_db *db, MYSQL_STMT *st, const char *sql, int rc)
{
    int f;

    if (db->conn != NULL) {
        mysql_stmt_free_result(st);
        f = gw_stmt_drain(db, st, sql);
        rc = rc == GW_OK ? f : rc;
    }
    return rc;
}

int
gw_stmt_query(struct gw_db *db, struct gw_arena *a, struct gw_rows *out,
              const char *sql, const struct gw_param *p, size_t n)
{
    MYSQL_BIND    b[GW_STMT_COLS_MAX];
    unsigned long lens[GW_STMT_COLS_MAX];
    my_bool       nulls[GW_STMT_COLS_MAX];
    MYSQL_STMT   *st = NULL;
    unsigned      ncols;
    size_t        cap;
    int           rc, f;

    memset(out, 0, sizeof(*out));
    rc = gw_stmt_run(db, sql, p, n, &st);
    if (rc != GW_OK) {
        return rc;
    }
    ncols = mysql_stmt_field_count(st);
    gw_assert(ncols > 0 && ncols <= GW_STMT_COLS_MAX);
    if (mysql_stmt_store_result(st) != 0) {
        return gw_stmt_error(db, st, sql);
    }
    cap = (size_t) mysql_stmt_num_rows(st);
    if (cap > GW_STMT_ROWS_MAX) {
        gw_log_error(db->rid, "%zu rows over %d: %.200s", cap, GW_STMT_ROWS_MAX,
                     sql);
        mysql_stmt_free_result(st);
        return GW_ERROR;
    }
    out->ncols = ncols;
    out->row = gw_arena_alloc(a, (cap + 1) * sizeof(MYSQL_ROW));
    rc = out->row != NULL ? gw_stmt_bind_result(a, st, ncols, b, lens, nulls)
                          : GW_ERROR;
    while (rc == GW_OK && out->n < cap) {
        f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA) {
            break;
        }
        if (f == 1) {
            rc = gw_stmt_error(db, st, sql);
            break;
        }
        out->row[out->n] = gw_stmt_row_copy(a, st, ncols, b, lens, nulls);
        if (out->row[out->n] == NULL) {
            rc = GW_ERROR;
            break;
        }
        out->n++;
    }
    return gw_stmt_done(db, st, sql, rc);
}

/* Room for at least n + 1 rows of out in the arena (doubling; the rows
 * so far are copied). 0 or -1. */
static int
gw_irows_grow(struct gw_arena *a, struct gw_irows *out, size_t *cap)
{
    size_t         want = *cap == 0 ? 32 : 2 * *cap, w = out->ncols;
    int64_t       *v;
    unsigned char *null;

    if (out->n < *cap) {
        return 0;
    }
    v = gw_arena_alloc(a, want * w * sizeof(*v));
    null = gw_arena_alloc(a, want * w);
    if (v == NULL || null == NULL) {
        return -1;
    }
    if (out->n > 0) {
        memcpy(v, out->v, out->n * w * sizeof(*v));
        memcpy(null, out->null, out->n * w);
    }
    out->v = v;
    out->null = null;
    *cap = want;
    return 0;
}

/*
 * Every column bound as a BIGINT: Connector/C copies the binary value
 * (no text made, no MYSQL_RES of metadata per call, nothing parsed back:
 * a catalog page's id statement turned 105 integers into text and back).
 * The rows are fetched as they come (no mysql_stmt_store_result, which
 * copied each row into a list of its own before the fetch copied it out).
 */
int
gw_stmt_query_i64(struct gw_db *db, struct gw_arena *a, struct gw_irows *out,
                  const char *sql, const struct gw_param *p, size_t n)
{
    MYSQL_BIND  b[GW_STMT_COLS_MAX];
    int64_t     v[GW_STMT_COLS_MAX];
    my_bool     nulls[GW_STMT_COLS_MAX];
    MYSQL_STMT *st = NULL;
    unsigned    ncols, i;
    size_t      cap = 0, at;
    int         rc, f;

    memset(out, 0, sizeof(*out));
    rc = gw_stmt_run(db, sql, p, n, &st);
    if (rc != GW_OK) {
        return rc;
    }
    ncols = mysql_stmt_field_count(st);
    gw_assert(ncols > 0 && ncols <= GW_STMT_COLS_MAX);
    out->ncols = ncols;
    memset(b, 0, ncols * sizeof(*b));
    for (i = 0; i < ncols; i++) {
        b[i].buffer_type = MYSQL_TYPE_LONGLONG;
        b[i].buffer = &v[i];
        b[i].is_null = &nulls[i];
    }
    rc = mysql_stmt_bind_result(st, b) == 0 ? GW_OK : GW_ERROR;
    while (rc == GW_OK) {
        f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA) {
            break;
        }
        if (f != 0) { /* 1, or MYSQL_DATA_TRUNCATED: not an integer */
            rc = f == 1 ? gw_stmt_error(db, st, sql) : GW_ERROR;
            break;
        }
        if (out->n == GW_STMT_ROWS_MAX) {
            gw_log_error(db->rid, "rows over %d: %.200s", GW_STMT_ROWS_MAX,
                         sql);
            rc = GW_ERROR;
            break;
        }
        if (gw_irows_grow(a, out, &cap) != 0) {
            rc = GW_ERROR;
            break;
        }
        at = out->n * ncols;
        for (i = 0; i < ncols; i++) {
            out->v[at + i] = nulls[i] ? 0 : v[i];
            out->null[at + i] = nulls[i] != 0;
        }
        out->n++;
    }
    return gw_stmt_done(db, st, sql, rc);
}

int
gw_stmt_row(struct gw_db *db, struct gw_arena *a, MYSQL_ROW *row,
            const char *sql, const struct gw_param *p, size_t n)
{
    struct gw_rows rows;
    int            rc = gw_stmt_query(db, a, &rows, sql, p, n);

    *row = rc == GW_OK && rows.n > 0 ? rows.row[0] : NULL;
    return rc;
}
