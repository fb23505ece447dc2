/*
 * fin_internal.h — helpers shared by the fin_*.c files only.
 */
#ifndef FIN_INTERNAL_H
#define FIN_INTERNAL_H

#include "fin.h"

/* Turns one row into a new JSON object (the caller adds it somewhere). */
typedef cJSON *(*fin_row_json_fn)(MYSQL_ROW row);

/*
 * One keyset page: the rows of res (at most limit + 1, the id in column
 * 0, in the page's order) as an arena-owned JSON array of at most limit
 * items made by row_json. *next is the id of the page's last row when a
 * row beyond the page was read (the next page's cursor), else 0.
 * GW_OK or GW_ERROR.
 */
int fin_page_build(struct gw_arena *a, MYSQL_RES *res, int limit,
                   fin_row_json_fn row_json, cJSON **items, int64_t *next);

/*
 * Appends a statement fragment to b, formatted as gw_db formats (strings
 * escaped and quoted), for statements of many rows. GW_OK or GW_ERROR.
 */
int fin_sql_add(struct gw_db *db, struct gw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs the statement in b (autocommit) and empties b; errors are logged. */
int fin_sql_run(struct gw_db *db, struct gw_buf *b);

#endif /* FIN_INTERNAL_H */
