/*
 * gw_master.h — the vasgw process model (php-fpm is the model).
 *
 * The master opens the FastCGI socket, maps the shared metrics, pre-forks
 * server.workers worker processes (each server.threads threads) and one
 * process per background role, and supervises them:
 *   - a child that dies is restarted, with exponential back-off while it
 *     keeps dying young (GW_RESTART_BACKOFF_*); a worker that exits after
 *     max_requests is replaced at once;
 *   - SIGHUP re-reads the config file and secrets; when they are valid a
 *     new generation of children starts and the old one drains (socket
 *     path and backlog changes need a restart);
 *   - SIGTERM / SIGINT: every child drains its in-flight requests (up to
 *     server.drain_timeout_s), then the master removes its socket and pid
 *     file and exits.
 * The master itself does no request work and holds no connections.
 */
#ifndef GW_MASTER_H
#define GW_MASTER_H

#include "gw_config.h"
#include "gw_thread.h"

/*
 * Runs the master until SIGTERM. cfg is copied; roles (may be 0) are
 * started when their config switch is on (server.relay, server.janitor:
 * matched by role name). Returns the process exit code.
 */
int gw_master_run(const struct gw_config *cfg, const struct gw_role *roles,
                  int nroles);

/* Exit code of a worker that retired after max_requests. */
#define GW_EXIT_RECYCLE 75

#endif /* GW_MASTER_H */
