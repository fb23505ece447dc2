/*
 * svc_notify.h — the IM user's notification inbox and the relay role
 * (outbox → Redis stream + inbox, webhooks to content providers).
 */
#ifndef SVC_NOTIFY_H
#define SVC_NOTIFY_H

struct gw_request;
struct gw_thread;

int svc_notify_inbox(struct gw_request *r);

/* Relay role body (runs in its own process under the master). */
int svc_relay_run(struct gw_thread *t);

/* Registers the relay's metrics; before the master forks. */
int svc_notify_init(void);

#endif /* SVC_NOTIFY_H */
