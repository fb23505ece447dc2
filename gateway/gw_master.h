/*
 * gw_master.h — the vasgw process model (php-fpm is the model).
 *
 * The master opens the FastCGI socket, maps the shared metrics, pre-forks
 * server.workers worker processes (each server.threads threads) and one
 * process per background role, and supervises them:
 *   - a child that dies is restarted, with exponential back-off while it
 *     keeps dying young (GW_RESTART_BACKOFF_*);
 *   - a worker that reaches max_requests tells the master (a queued
 *     GW_MASTER_RETIRING_SIGNAL), which starts its successor at once while
 *     it retires;
 *   - SIGHUP re-reads the config file and secrets; when they are valid a
 *     new generation of children starts and the old workers retire (socket
 *     path and backlog changes need a restart);
 *   - SIGUSR2 (binary upgrade, nginx's model): the binary at the master's
 *     path is started as a new master that inherits the listening socket
 *     (VASGW_LISTEN_FD); when its workers are up it sends SIGQUIT to the
 *     old master. The pid file is ".oldbin" meanwhile;
 *   - SIGQUIT: workers retire, then the master exits;
 *   - SIGTERM / SIGINT: every child drains its in-flight requests (up to
 *     server.drain_timeout_s), then the master removes its socket and pid
 *     file and exits;
 *   - SIGUSR1: every process reopens the log file (logrotate).
 * A retiring worker accepts no new connection and answers what nginx still
 * sends on the connections it keeps until nginx closes them (see
 * gw_fcgi.h), so no request is cut off. With $NOTIFY_SOCKET set the master
 * speaks systemd's notify protocol (READY, RELOADING, STOPPING, MAINPID).
 * The master itself does no request work and holds no connections.
 */
#ifndef GW_MASTER_H
#define GW_MASTER_H

#include <signal.h>

#include "gw_config.h"
#include "gw_thread.h"

/*
 * Runs the master until SIGTERM or SIGQUIT. cfg is copied; roles (may be
 * 0) are started when their config switch is on (server.relay,
 * server.janitor: matched by role name); argv is main's, kept to start the
 * new binary on SIGUSR2. Returns the process exit code.
 */
int gw_master_run(const struct gw_config *cfg, const struct gw_role *roles,
                  int nroles, char *const *argv);

/* Exit code of a worker that retired after max_requests. */
#define GW_EXIT_RECYCLE 75

/* Queued by a worker that reached max_requests (si_pid names it). */
#define GW_MASTER_RETIRING_SIGNAL (SIGRTMIN + 2)

#endif /* GW_MASTER_H */
