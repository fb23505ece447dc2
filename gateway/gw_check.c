/*
 * gw_check.c — runs one invariant check, streaming its rows.
 */
#include <errmsg.h>
#include <string.h>

#include "gw_check.h"

static void
gw_check_print(FILE *out, const struct gw_check *chk, MYSQL_ROW row,
               unsigned ncols)
{
    unsigned c;

    fprintf(out, "VIOLATION %s:", chk->name);
    for (c = 0; c < ncols; c++) {
        fprintf(out, " %s", row[c] != NULL ? row[c] : "NULL");
    }
    fputc('\n', out);
}

long
gw_check_run(struct gw_db *db, const struct gw_check *chk, FILE *out,
             long show_max, int *lost)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    unsigned   err, ncols;
    long       n = 0;

    *lost = 0;
    if (db->conn == NULL
        || mysql_real_query(db->conn, chk->sql, strlen(chk->sql)) != 0
        || (res = mysql_use_result(db->conn)) == NULL) {
        goto fail;
    }
    ncols = mysql_num_fields(res);
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (n++ < show_max) {
            gw_check_print(out, chk, row, ncols);
        }
    }
    err = mysql_errno(db->conn); /* a fetch that ended on an error */
    mysql_free_result(res);
    if (err != 0) {
        goto fail;
    }
    if (n > show_max) {
        fprintf(out, "VIOLATION %s: … %ld more\n", chk->name, n - show_max);
    }
    return n;

fail:
    err = db->conn != NULL ? mysql_errno(db->conn) : CR_SERVER_LOST;
    *lost = err == CR_SERVER_LOST || err == CR_SERVER_GONE_ERROR
        || err == CR_CONNECTION_ERROR;
    fprintf(out, "audit: check '%s' failed: %s\n", chk->name,
            db->conn != NULL ? mysql_error(db->conn) : "not connected");
    return -1;
}
