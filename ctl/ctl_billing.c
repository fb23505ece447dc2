/* ctl_billing.c — STUB while the billing work lands (lead). */
#include <stdio.h>

#include "ctl.h"

#define STUB(name)                                                          \
    int name(struct ctl *c, int argc, char **argv)                          \
    {                                                                       \
        (void) c;                                                           \
        (void) argc;                                                        \
        (void) argv;                                                        \
        fprintf(stderr, "vasctl: not implemented yet\n");                   \
        return 1;                                                           \
    }
STUB(ctl_subscriber_add)
STUB(ctl_subscriber_show)
STUB(ctl_subscriber_suspend)
STUB(ctl_subscriber_resume)
STUB(ctl_topup)
STUB(ctl_refund)
STUB(ctl_audit)
STUB(ctl_cdr_export)
