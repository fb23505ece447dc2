/*
 * gw_assert.c — the failure path of gw_assert().
 */
#include <stdio.h>
#include <stdlib.h>

#include "gw_assert.h"
#include "gw_log.h"

void
gw_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    /* stderr first: it is unbuffered and works before the log is open. */
    fprintf(stderr, "vasgw: assertion failed: %s (%s:%d, %s)\n", expr, file,
            line, func);
    gw_log(GW_LOG_ERROR, func, NULL, "assertion failed: %s (%s:%d)", expr, file,
           line);
    abort();
}
