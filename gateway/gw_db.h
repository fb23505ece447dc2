/*
 * gw_db.h — one MariaDB connection per thread (Connector/C), with explicit
 * connect/read/write timeouts, no auto-reconnect, and a small statement
 * formatter that escapes every string argument.
 *
 * Formatting: printf-like, but "%s" is written as an escaped, quoted SQL
 * string literal ('it''s'), or NULL for a NULL pointer; %d %u %ld %lu %lld
 * %llu are integers; "%%" is '%'. Nothing else is accepted, so no caller can
 * paste raw text into SQL by accident. Types are checked by the compiler.
 *
 * Errors: GW_EUNAVAIL when the server cannot be reached (the connection is
 * dropped; the next call reconnects), GW_ERETRY on deadlock or lock wait
 * timeout (roll back and retry the transaction), GW_EDUP on a duplicate key,
 * GW_EOUTCOME when COMMIT fails in a way that leaves its outcome unknown,
 * GW_ERROR otherwise (logged here, once, with the request id).
 *
 * Reconnect: outside a transaction a read-only or transaction-opening
 * statement (SELECT, SET, DO) that fails because the connection died is
 * retried once on a fresh connection, and so is the first statement of a
 * transaction (nothing can have committed without our COMMIT); nothing
 * else that may have changed data is ever re-sent.
 *
 * Round trips are the cost of a money path, so: gw_db_begin() sends
 * nothing and "START TRANSACTION" travels with the transaction's first
 * statement; a statement text may hold several statements separated by
 * ';' (the results of all but the last are consumed, the last one is the
 * result); and db->after_commit (e.g. "DO RELEASE_LOCK('…')") travels with
 * COMMIT.
 *
 * Not thread-safe: a struct gw_db belongs to one thread.
 */
#ifndef GW_DB_H
#define GW_DB_H

#include <stdint.h>

#include <mysql.h>

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_util.h"

struct gw_db {
    MYSQL                  *conn; /* NULL while disconnected */
    const struct gw_config *cfg;
    const char             *rid; /* request id for log lines */
    int                     in_txn;
    int                     begin_pending; /* START TRANSACTION not sent yet */
    int                     after_commit_ran;
    char                    after_commit[128]; /* sent with COMMIT, e.g. a
                                                * RELEASE_LOCK */
    struct gw_buf deferred;                    /* writes sent with COMMIT */
    int           ndeferred;
    unsigned      last_errno;
    int64_t       affected;
    int64_t       insert_id;
    struct gw_buf sql; /* reused statement buffer */
    /* Typed statements (gw_stmt.h): the prepared-statement cache of this
     * connection, and counters of what was sent (tests, bench). */
    struct gw_stmt_cache *stmts;
    uint64_t              stmt_tick;
    uint64_t              nsent;
    const char           *fmt; /* its template, for logs (no values) */
};

/* Prepares db (no connection yet). */
void gw_db_init(struct gw_db *db, const struct gw_config *cfg);

/* Closes the connection and frees buffers. */
void gw_db_fini(struct gw_db *db);

/* Connects if not connected. GW_OK or GW_EUNAVAIL. */
int gw_db_connect(struct gw_db *db);

/* Drops the connection (after a fatal error, or to end a session). */
void gw_db_close(struct gw_db *db);

/* Runs a statement that returns no rows. Sets affected / insert_id. */
int gw_db_exec(struct gw_db *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Runs a query and stores its whole result in *res. With an arena, the
 * result is freed at the arena's reset; without, the caller frees it with
 * mysql_free_result().
 */
int gw_db_query(struct gw_db *db, struct gw_arena *a, MYSQL_RES **res,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Runs a query expected to return at most one row; *row is NULL when there
 * is none. The result lives in the arena (a must not be NULL).
 */
int gw_db_row(struct gw_db *db, struct gw_arena *a, MYSQL_ROW *row,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Queues a write whose result the caller does not need (no affected rows,
 * no insert id) to travel with this transaction's COMMIT in the same round
 * trip; outside a transaction it runs at once. If it fails, COMMIT does
 * not run and gw_db_commit() rolls back and returns the error.
 */
int gw_db_defer(struct gw_db *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* START TRANSACTION / COMMIT / ROLLBACK (rollback never fails). */
int  gw_db_begin(struct gw_db *db);
int  gw_db_commit(struct gw_db *db);
void gw_db_rollback(struct gw_db *db);

/* Round trip to the server (used by /readyz). */
int gw_db_ping(struct gw_db *db);

/* Column helpers: NULL columns read as 0 / NULL. */
int64_t     gw_db_col_i64(MYSQL_ROW row, unsigned col);
const char *gw_db_col_str(MYSQL_ROW row, unsigned col);

/*
 * For gw_stmt.c: sends START TRANSACTION when gw_db_begin() left it
 * pending (connecting first), and maps a server error number to a status
 * the way every gw_db call does (a lost connection is closed).
 */
int gw_db_begin_flush(struct gw_db *db);
int gw_db_status_errno(struct gw_db *db, unsigned e, const char *msg,
                       const char *sql);

/* Appends a formatted statement fragment (same rules) to db->sql. */
int gw_db_vformat(struct gw_db *db, struct gw_buf *out, const char *fmt,
                  va_list ap);

#endif /* GW_DB_H */
