/*
 * svc_ops.h — operations endpoints: /healthz, /readyz, /metrics.
 */
#ifndef SVC_OPS_H
#define SVC_OPS_H

struct gw_request;

/* GET /healthz: 200 while the process serves (no I/O). */
int svc_ops_healthz(struct gw_request *r);

/* GET /readyz: 200 when MariaDB and Redis answer, else 503 unavailable. */
int svc_ops_readyz(struct gw_request *r);

/* GET /metrics: Prometheus text, all processes summed. */
int svc_ops_metrics(struct gw_request *r);

/* GET /v1/debug/sleep?ms=N: test-only (server.debug_routes), else 404. */
int svc_ops_debug_sleep(struct gw_request *r);

#endif /* SVC_OPS_H */
