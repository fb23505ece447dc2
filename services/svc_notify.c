/*
 * svc_notify.c — STUB: replaced by the notifications work (issue 5).
 */
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_notify.h"

int
svc_notify_inbox(struct gw_request *r)
{
    gw_request_problem(r, "not implemented yet");
    return GW_ENOTFOUND;
}

int
svc_relay_run(struct gw_thread *t)
{
    (void) t;
    while (!gw_role_stopping()) {
        gw_role_sleep_ms(1000);
    }
    return 0;
}

int
svc_notify_init(void)
{
    return 0;
}
