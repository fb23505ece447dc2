/*
 * ctl_catalog.c — STUB: `vasctl catalog import` (issue 4) replaces this.
 */
#include <stdio.h>

#include "ctl.h"

int
ctl_catalog_import(struct ctl *c, int argc, char **argv)
{
    (void) c;
    (void) argc;
    (void) argv;
    fprintf(stderr, "vasctl: catalog import is not implemented yet\n");
    return 1;
}
