/*
 * svc_janitor.h — the janitor role (one process under vasgw's master).
 */
#ifndef SVC_JANITOR_H
#define SVC_JANITOR_H

struct gw_thread;

/* Role body: hold expiry, popularity, idempotency pruning until SIGTERM. */
int svc_janitor_run(struct gw_thread *t);

#endif /* SVC_JANITOR_H */
