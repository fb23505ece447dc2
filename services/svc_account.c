/* svc_account.c — STUB while the billing work lands (lead). */
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_account.h"

#define STUB(name)                                                          \
    int name(struct gw_request *r)                                          \
    {                                                                       \
        gw_request_problem(r, "not implemented yet");                       \
        return GW_ENOTFOUND;                                                \
    }
STUB(svc_account_me)
STUB(svc_admin_subscriber_create)
STUB(svc_admin_subscriber_get)
STUB(svc_admin_subscriber_patch)
STUB(svc_admin_topup)
STUB(svc_admin_cdrs)

int
svc_account_caller(struct gw_request *r, struct bill_subscriber *sub)
{
    (void) r;
    (void) sub;
    return GW_EFORBIDDEN;
}

void
svc_account_ctx(struct gw_request *r, struct bill_ctx *ctx, const char *reason)
{
    ctx->cfg = r->cfg;
    ctx->actor = r->caller;
    ctx->reason = reason;
    ctx->rid = r->request_id;
}

int
svc_janitor_run(struct gw_thread *t)
{
    (void) t;
    while (!gw_role_stopping()) {
        gw_role_sleep_ms(1000);
    }
    return 0;
}
