/*
 * svc_routes.h — the route table and the service layer's init.
 */
#ifndef SVC_ROUTES_H
#define SVC_ROUTES_H

#include <stddef.h>

#include "gw_router.h"
#include "gw_thread.h"

struct gw_config;

/* The table of every HTTP route (services/svc_routes.c). */
extern const struct gw_route svc_routes[];
extern const size_t          svc_routes_count;

/* The background roles vasgw's master runs. */
extern const struct gw_role svc_roles[];
extern const int            svc_roles_count;

/* Registers metrics and other process-wide state; before the master forks. */
int svc_init(const struct gw_config *cfg);

#endif /* SVC_ROUTES_H */
