/*
 * gw_stmt.h — typed statements: every value travels as a bind of
 * Connector/C's binary protocol (MYSQL_STMT), never inside SQL text. Use it
 * for every statement that carries a value on a money path.
 *
 *     rc = gw_stmt_exec(db, "UPDATE accounts SET balance = balance + ?"
 *                           " WHERE id = ?",
 *                       GW_ARGS(GW_I64(amount), GW_I64(account_id)));
 *     rc = gw_stmt_row(db, a, &row, "SELECT status, balance FROM accounts"
 *                                   " WHERE id = ?", GW_ARGS(GW_I64(id)));
 *     rc = gw_stmt_exec(db, "DO RELEASE_ALL_LOCKS()", GW_NOARGS);
 *
 * The SQL text must be a constant (or built only from constants, e.g. a
 * number of "(?, ?)" groups): it is the key of a per-thread cache of
 * prepared statements (GW_STMT_CACHE_MAX, least recently used evicted), so
 * each text is prepared once per connection. A reconnect (gw_db_close)
 * drops the cache; statements are prepared again on their next use.
 *
 * Parameters: GW_I64(v) (any integer, sent as BIGINT), GW_STR(s) (a NUL-
 * terminated string; NULL pointer = SQL NULL), GW_STRN(s, n), GW_NULL. The
 * number of '?' must equal the number of arguments (a mismatch is our bug:
 * gw_assert).
 *
 * Results: rows come back as MYSQL_ROW-style arrays of NUL-terminated
 * strings (NULL for SQL NULL) in the arena a, so gw_db_col_i64()/
 * gw_db_col_str() read them; they live until the arena's reset.
 *
 * Transactions are those of gw_db.h: after gw_db_begin() the first typed
 * statement sends START TRANSACTION before it; gw_db_commit() ends it with
 * the same "outcome unknown → GW_EOUTCOME" honesty. Outside a transaction
 * a SELECT/DO/SET whose connection died is re-sent once on a fresh
 * connection, as is the first statement of a transaction; nothing else
 * that may have changed data is ever re-sent.
 *
 * Errors (as gw_db.h): GW_EUNAVAIL, GW_ERETRY (deadlock / lock wait
 * timeout), GW_EDUP (duplicate key), GW_ERROR (logged once here).
 * Sets db->affected and db->insert_id after a statement without a result.
 *
 * Not thread-safe: like struct gw_db, the cache belongs to one thread.
 */
#ifndef GW_STMT_H
#define GW_STMT_H

#include <stddef.h>
#include <stdint.h>

#include "gw_arena.h"
#include "gw_assert.h"
#include "gw_db.h"

/* Prepared statements kept per connection. MariaDB caps them server-wide
 * (max_prepared_stmt_count, 16382 by default): 48 x 2 workers x 128
 * threads stays under it. */
#define GW_STMT_CACHE_MAX  48
#define GW_STMT_PARAMS_MAX 64     /* '?' in one statement */
#define GW_STMT_COLS_MAX   64     /* columns in one result */
#define GW_STMT_ROWS_MAX   100000 /* rows stored from one result */
#define GW_STMT_COL_BYTES  64     /* a column's fetch buffer (longer: whole) */

enum gw_param_type { GW_PARAM_NULL, GW_PARAM_I64, GW_PARAM_STR };

struct gw_param {
    enum gw_param_type type;
    int64_t            i;
    const char        *s;
    size_t             len; /* GW_PARAM_STR; (size_t) -1 = strlen(s) */
};

#define GW_I64(v)     ((struct gw_param){GW_PARAM_I64, (int64_t) (v), NULL, 0})
#define GW_STR(v)     ((struct gw_param){GW_PARAM_STR, 0, (v), (size_t) -1})
#define GW_STRN(v, n) ((struct gw_param){GW_PARAM_STR, 0, (v), (size_t) (n)})
#define GW_NULL       ((struct gw_param){GW_PARAM_NULL, 0, NULL, 0})

/* The (params, count) pair every call takes. */
#define GW_ARGS(...)                                                           \
    ((const struct gw_param[]){__VA_ARGS__}),                                  \
        (sizeof((const struct gw_param[]){__VA_ARGS__})                        \
         / sizeof(struct gw_param))
#define GW_NOARGS NULL, 0

/* A stored result: n rows of ncols columns, in the arena. */
struct gw_rows {
    MYSQL_ROW *row;
    size_t     n;
    unsigned   ncols;
};

/* Runs a statement that returns no rows; sets affected and insert_id. */
int gw_stmt_exec(struct gw_db *db, const char *sql, const struct gw_param *p,
                 size_t n) GW_MUST_CHECK;

/* Runs a query and stores every row (at most GW_STMT_ROWS_MAX) in a. */
int gw_stmt_query(struct gw_db *db, struct gw_arena *a, struct gw_rows *out,
                  const char *sql, const struct gw_param *p,
                  size_t n) GW_MUST_CHECK;

/* A stored result of integer columns, in the arena: row k's column i is
 * v[k * ncols + i] (0 for SQL NULL, and then null[k * ncols + i] is 1). */
struct gw_irows {
    int64_t       *v;
    unsigned char *null;
    size_t         n;
    unsigned       ncols;
};

/* gw_stmt_query for a statement whose every column is an integer (in
 * BIGINT's range): each arrives as a binary BIGINT, never as text. A
 * column that is not (a fetch would truncate it) is GW_ERROR. */
int gw_stmt_query_i64(struct gw_db *db, struct gw_arena *a,
                      struct gw_irows *out, const char *sql,
                      const struct gw_param *p, size_t n) GW_MUST_CHECK;

/* Runs a query expected to return at most one row; *row NULL when none. */
int gw_stmt_row(struct gw_db *db, struct gw_arena *a, MYSQL_ROW *row,
                const char *sql, const struct gw_param *p,
                size_t n) GW_MUST_CHECK;

/* Closes every cached statement (gw_db_close calls it). */
void gw_stmt_cache_clear(struct gw_db *db);

/* Statements sent by this thread since it started (for tests and bench). */
uint64_t gw_stmt_sent(const struct gw_db *db);

#endif /* GW_STMT_H */
