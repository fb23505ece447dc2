/*
 * ctl_store.c — vasctl's store commands: one page of a user's library or
 * purchases through the store's own code (store_library_page,
 * store_purchases_page), with the rows the server read for it — the proof
 * that a page costs O(limit) whatever the user's history.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"
#include "store.h"

static int ctl_store_page(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_store_page[] = {
    {"--after", "ID", "the last id of the previous page (keyset cursor)", 0},
    {"--limit", "N", "rows per page (default 20, at most 100)", 0},
    {"--rows-read", NULL, "print the rows the server read (stderr)", 0},
    {0}};

const struct ctl_command ctl_store_commands[] = {
    {"store page", ctl_store_page, "IM_USER library|purchases", 2, 2,
     ctl_opts_store_page,
     "one page of a user's library or purchases, as the API reads it",
     "Prints the ids of the page. With --rows-read, prints on stderr how many"
     " rows\nand index entries the server read for it (Handler_read_*): a"
     " page costs\nO(limit), whatever the size of the user's history.",
     0},
    {0}};

/* Sum of this session's Handler_read_* counters. */
static int
ctl_store_rows_read(struct ctl *c, int64_t *n)
{
    struct gw_rows rows;
    size_t         i;
    int            rc;

    rc = gw_stmt_query(&c->t.db, &c->t.arena, &rows,
                       "SELECT SUM(VARIABLE_VALUE) FROM"
                       " information_schema.SESSION_STATUS WHERE"
                       " VARIABLE_NAME LIKE 'HANDLER_READ%'",
                       GW_NOARGS);
    *n = 0;
    for (i = 0; rc == GW_OK && i < rows.n; i++) {
        *n += gw_db_col_i64(rows.row[i], 0);
    }
    return rc;
}

static int
ctl_store_page(struct ctl *c, int argc, char **argv)
{
    struct store_ctx ctx;
    struct gw_rows   rows;
    const char      *after = ctl_opt(argc, argv, "--after");
    const char      *limit = ctl_opt(argc, argv, "--limit");
    int64_t          after_id = 0, n = 20, r0, r1, r2;
    size_t           i;
    int              rc, lib = strcmp(argv[1], "library") == 0;

    if ((!lib && strcmp(argv[1], "purchases") != 0)
        || (after != NULL
            && (gw_parse_i64(after, strlen(after), &after_id) != 0
                || after_id < 1))
        || (limit != NULL
            && (gw_parse_i64(limit, strlen(limit), &n) != 0 || n < 1
                || n > STORE_PAGE_MAX))) {
        return CTL_EXIT_USAGE;
    }
    store_ctx_init(&ctx, &c->t.db, &c->t.arena, c->cfg, "vasctl", NULL);
    /* Reading the counters reads rows too: subtract one reading's cost. */
    rc = ctl_store_rows_read(c, &r0);
    if (rc == GW_OK) {
        rc = ctl_store_rows_read(c, &r1);
    }
    if (rc == GW_OK) {
        rc = lib ? store_library_page(&ctx, argv[0], after_id, n, &rows)
                 : store_purchases_page(&ctx, argv[0], after_id, n, &rows);
    }
    if (rc == GW_OK) {
        rc = ctl_store_rows_read(c, &r2);
    }
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: store page: %s\n", gw_status_title(rc));
        return CTL_EXIT_FAIL;
    }
    for (i = 0; i < rows.n && (int64_t) i < n; i++) {
        printf("%s\n", rows.row[i][0]);
    }
    if (ctl_flag(argc, argv, "--rows-read")) {
        fprintf(stderr, "rows_read %lld\n",
                (long long) ((r2 - r1) - (r1 - r0)));
    }
    gw_arena_reset(&c->t.arena);
    return CTL_EXIT_OK;
}
