/*
 * ctl_notify.c — STUB: notifications tail / webhooks (issue 5) replace this.
 */
#include <stdio.h>

#include "ctl.h"

int
ctl_notifications_tail(struct ctl *c, int argc, char **argv)
{
    (void) c;
    (void) argc;
    (void) argv;
    fprintf(stderr, "vasctl: not implemented yet\n");
    return 1;
}

int
ctl_webhooks_list(struct ctl *c, int argc, char **argv)
{
    return ctl_notifications_tail(c, argc, argv);
}

int
ctl_webhooks_retry(struct ctl *c, int argc, char **argv)
{
    return ctl_notifications_tail(c, argc, argv);
}
