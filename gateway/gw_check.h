/*
 * gw_check.h — invariant checks as data: a name and one read-only SELECT
 * that returns only the offending rows (so a clean database returns none).
 * The domains own their tables of checks (bill_audit_checks,
 * store_audit_checks); `vasctl audit` runs them all.
 *
 * Running streams the rows (mysql_use_result): memory stays bounded by one
 * row whatever the number of violations; only the first show_max are
 * printed, all are counted. Statements run on the caller's connection, so
 * the caller picks its timeouts (batch work, not the request path's) and
 * its snapshot. Not thread-safe: the db belongs to the calling thread.
 */
#ifndef GW_CHECK_H
#define GW_CHECK_H

#include <stdio.h>

#include "gw_db.h"

struct gw_check {
    const char *name; /* printed with each violation */
    const char *sql;  /* a literal statement, no arguments */
};

/*
 * Runs chk on db, printing "VIOLATION <name>: <columns>" for at most
 * show_max rows and "… N more" after them to out. Returns the number of
 * offending rows, or -1 (the error printed to out) when the statement
 * failed; *lost is set when the connection broke (the check may be
 * retried on a new connection).
 */
long gw_check_run(struct gw_db *db, const struct gw_check *chk, FILE *out,
                  long show_max, int *lost);

#endif /* GW_CHECK_H */
