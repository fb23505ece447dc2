/*
 * fuzz_feed.c — libFuzzer harness for the catalog feed importer
 * (catalog/cat_feed.c: its raw-text lexer, the line/offset finder, cJSON
 * and every shape check), as `vasctl catalog import FILE` runs it.
 *
 * The database is a socket that does not exist: a feed that passes every
 * check reaches cat_feed_apply, whose first statement fails to connect
 * (GW_EUNAVAIL), so nothing outside the process is touched. Invariants:
 * no crash/hang/leak/UB; the result is GW_OK, GW_EINVAL or a database
 * status; a rejected feed printed at least one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_feed.h"
#include "gw_arena.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_log.h"
#include "gw_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_config cfg;
static struct gw_db     db;
static struct gw_arena  arena;
static int              ready;

static void
setup(void)
{
    char err[256];

    if (gw_config_load(&cfg, NULL, err, sizeof(err)) != 0) {
        abort();
    }
    snprintf(cfg.mysql.socket, sizeof(cfg.mysql.socket), "%s",
             "/nonexistent/fuzz.sock");
    cfg.mysql.connect_timeout_ms = 1;
    gw_log_open("/dev/null");
    gw_db_init(&db, &cfg);
    if (gw_arena_init(&arena) != 0) {
        abort();
    }
    ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char  *text, *report = NULL;
    size_t report_len = 0;
    FILE  *out;
    int    rc;

    if (!ready) {
        setup();
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    out = open_memstream(&report, &report_len);
    if (out == NULL) {
        free(text);
        return 0;
    }
    rc = cat_feed_import(&db, &arena, "fuzz.json", text, size,
                         "/nonexistent/content", "CNY", out, NULL, NULL);
    fclose(out);
    if (rc != GW_OK && rc != GW_EINVAL && rc != GW_EUNAVAIL && rc != GW_ERROR) {
        abort();
    }
    if (rc == GW_EINVAL && report_len == 0) {
        abort(); /* a rejected feed always says why */
    }
    free(report);
    free(text);
    gw_arena_reset(&arena);
    return 0;
}
