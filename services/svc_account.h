/*
 * svc_account.h — the caller's phone account and the admin subscriber,
 * top-up endpoints (orchestration over billing/).
 */
#ifndef SVC_ACCOUNT_H
#define SVC_ACCOUNT_H

#include "bill.h"

struct gw_request;
struct gw_thread;

int svc_account_me(struct gw_request *r);
int svc_admin_subscriber_create(struct gw_request *r);
int svc_admin_subscriber_get(struct gw_request *r);
int svc_admin_subscriber_patch(struct gw_request *r);
int svc_admin_topup(struct gw_request *r);

/*
 * Resolves the authenticated IM user to its subscriber: GW_EFORBIDDEN when
 * the user is not bound to a phone account (API.md).
 */
int svc_account_caller(struct gw_request *r, struct bill_subscriber *sub);

/* A bill_ctx for this request (actor = caller, request id). */
void svc_account_ctx(struct gw_request *r, struct bill_ctx *ctx,
                     const char *reason);

#endif /* SVC_ACCOUNT_H */
