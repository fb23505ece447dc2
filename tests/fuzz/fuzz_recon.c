/*
 * fuzz_recon.c — libFuzzer harness for the carrier's reconciliation file
 * (finance/fin_recon.c, `vasctl recon run FILE --day D`): libcsv, the
 * header, field limits, UTF-8, line counting — the pass that decides
 * whether a file is usable before anything is stored.
 *
 * The database is a socket that does not exist: a usable file reaches the
 * first database call and stops there (GW_EUNAVAIL). Invariants: no
 * crash/hang/leak/UB; a refused file says why; the result is GW_OK,
 * GW_EINVAL or a database status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fin.h"
#include "gw_arena.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_log.h"
#include "gw_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_config cfg;
static struct gw_db     db;
static struct gw_arena  arena;
static char             path[64];

static void
setup(void)
{
    char err[256];

    if (gw_config_load(&cfg, NULL, err, sizeof(err)) != 0) {
        abort();
    }
    snprintf(cfg.mysql.socket, sizeof(cfg.mysql.socket), "%s",
             "/nonexistent/fuzz.sock");
    gw_log_open("/dev/null");
    gw_db_init(&db, &cfg);
    if (gw_arena_init(&arena) != 0) {
        abort();
    }
    snprintf(path, sizeof(path), "/tmp/vas-fuzz-recon-%d.csv", (int) getpid());
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin_recon_run run;
    const char          *why = NULL;
    FILE                *f;
    int                  rc;

    if (path[0] == '\0') {
        setup();
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    rc = fin_recon_run(&db, &arena, &cfg, path, 20600, "fuzz", NULL, NULL, &run,
                       &why);
    if (rc == GW_EINVAL && why == NULL) {
        abort();
    }
    if (rc != GW_OK && rc != GW_EINVAL && rc != GW_EUNAVAIL && rc != GW_ERROR) {
        abort();
    }
    gw_arena_reset(&arena);
    return 0;
}
