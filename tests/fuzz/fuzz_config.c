/*
 * fuzz_config.c — libFuzzer harness for the INI configuration file that
 * vasgw and vasctl read (`-c FILE`): inih's parser through gw_config's key
 * table (types, ranges, unknown sections and keys), then the dump.
 *
 * Invariants: no crash/hang/leak/UB; a refused file leaves a reason; an
 * accepted one keeps every integer key within its range (spot-checked).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gw_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_config *cfg;
    char              err[256] = "";
    FILE             *f, *devnull;

    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "/tmp/vas-fuzz-config-%d.ini",
                 (int) getpid());
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    cfg = malloc(sizeof(*cfg));
    if (cfg == NULL) {
        return 0;
    }
    if (gw_config_load(cfg, path, err, sizeof(err)) != 0) {
        if (err[0] == '\0') {
            abort();
        }
    } else {
        if (cfg->server.workers < 1 || cfg->server.workers > GW_WORKERS_MAX
            || cfg->limits.json_depth_max < 1
            || cfg->limits.json_depth_max > GW_JSON_DEPTH_MAX
            || cfg->ratelimit.addr_factor < 1) {
            abort();
        }
        devnull = fopen("/dev/null", "w");
        if (devnull != NULL) {
            gw_config_dump(cfg, devnull);
            fclose(devnull);
        }
    }
    free(cfg);
    return 0;
}
