/*
 * vasgw — the VAS gateway's FastCGI server (master + workers + roles).
 *
 *   vasgw -c FILE                 run (foreground master; SIGTERM drains,
 *                                 SIGHUP reloads)
 *   vasgw -c FILE --check-config  validate the file, secrets included,
 *                                 print the effective configuration
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gw_config.h"
#include "gw_log.h"
#include "gw_master.h"
#include "gw_metrics.h"
#include "gw_router.h"
#include "gw_slowlog.h"
#include "gw_version.h"
#include "svc_routes.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: vasgw [-c FILE] [--check-config] [--version]\n"
            "  -c FILE          configuration (default $VASGW_CONFIG, else\n"
            "                   " GW_CONFIG_PATH_DEFAULT ")\n"
            "  --check-config   validate the configuration and secrets,\n"
            "                   print the effective values, exit\n"
            "Environment VASGW_<SECTION>_<KEY> overrides any key.\n"
            "Signals to the master: HUP reload, USR2 binary upgrade (a new\n"
            "master takes the socket over), QUIT graceful stop, TERM drain\n"
            "and stop, USR1 reopen log files.\n");
}

int
main(int argc, char **argv)
{
    static struct gw_config cfg;
    const char             *path = getenv("VASGW_CONFIG");
    char                    err[512];
    int                     i, check = 0;

    if (path == NULL || path[0] == '\0') {
        path = GW_CONFIG_PATH_DEFAULT;
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0
                   || strcmp(argv[i], "-t") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("vasgw %s\n", GW_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0
                   || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (gw_config_load(&cfg, path, err, sizeof(err)) != 0
        || gw_config_load_secrets(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "vasgw: %s\n", err);
        return 1;
    }
    if (check) {
        gw_config_dump(&cfg, stdout);
        fprintf(stderr, "vasgw: configuration %s is valid\n", path);
        return 0;
    }
    if (gw_log_open(cfg.server.log_file) != 0) {
        fprintf(stderr, "vasgw: cannot open log %s\n", cfg.server.log_file);
        return 1;
    }
    if (gw_slowlog_open(cfg.server.slowlog_file) != 0) {
        fprintf(stderr, "vasgw: cannot open slowlog %s\n",
                cfg.server.slowlog_file);
        return 1;
    }
    /* libcurl (webhooks, feed URLs): once, before threads and forks. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || svc_init(&cfg) != 0
        || gw_router_init(svc_routes, svc_routes_count) != 0
        || gw_metrics_init(svc_routes_count) != 0) {
        fprintf(stderr, "vasgw: initialisation failed\n");
        return 1;
    }
    return gw_master_run(&cfg, svc_roles, svc_roles_count, argv);
}
