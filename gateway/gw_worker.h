/*
 * gw_worker.h — bodies of the master's children (used by gw_master.c).
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include "gw_config.h"
#include "gw_thread.h"

/* A worker process: serves until SIGTERM or max_requests; never returns. */
int gw_worker_main(const struct gw_config *cfg, int listen_fd);

/* A role process: runs role->run until SIGTERM. Returns its exit code. */
int gw_role_main(const struct gw_config *cfg, const struct gw_role *role);

#endif /* GW_WORKER_H */
