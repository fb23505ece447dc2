/*
 * ctl_audit.c — `vasctl audit`: every invariant check of the ledger
 * (billing/bill_audit.c) and of the store (store/store_audit.c), in one
 * consistent snapshot, as batch work:
 *
 *   - its own connection with a batch read timeout (GW_BATCH_READ_TIMEOUT_MS),
 *     not the request path's [mysql] read_timeout_ms;
 *   - each check is one set-based statement whose rows are streamed
 *     (bounded memory at any size: only offending rows come back, the first
 *     AUDIT_SHOW_MAX of each are printed, all are counted);
 *   - a check whose connection broke is retried once on a new connection
 *     (a new snapshot, said so), from that check on — never from the first;
 *   - progress on stderr when it is a terminal, the time at the end.
 *
 * The number of checks run is printed and must equal the tables' sizes: a
 * check that silently dropped out (as the store checks once did, behind a
 * weak symbol the link never pulled in) fails the integration test that
 * counts them.
 */
#include <stdio.h>
#include <unistd.h>

#include "bill.h"
#include "ctl.h"
#include "gw_check.h"
#include "gw_limits.h"
#include "gw_status.h"
#include "gw_util.h"
#include "store.h"

#define CTL_AUDIT_SHOW_MAX 50

static int ctl_audit(struct ctl *c, int argc, char **argv);

const struct ctl_command ctl_audit_commands[] = {
    {"audit", ctl_audit, "", 0, 0, NULL,
     "check every ledger and store invariant; exit 1 and list violations",
     "Read-only, in one consistent snapshot. Each check prints 'ok' or"
     " 'FAIL' and\nits violations (ids); the last line counts checks,"
     " violations and seconds.\nProgress goes to stderr when it is a"
     " terminal.",
     0},
    {0}};

struct ctl_audit_part {
    const char            *label; /* "ledger" | "store" */
    const struct gw_check *checks;
    size_t                 n;
};

static int
ctl_audit_open(struct gw_db *db)
{
    if (gw_db_connect(db) != GW_OK
        || gw_db_exec(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
            != GW_OK) {
        fprintf(stderr, "vasctl: audit: cannot open a snapshot\n");
        return -1;
    }
    return 0;
}

static void
ctl_audit_progress(int tty, size_t k, size_t total, const char *name,
                   int64_t t0)
{
    if (tty) {
        fprintf(stderr, "\r\033[K[%zu/%zu %.1f s] %.60s", k + 1, total,
                (double) (gw_now_ms() - t0) / 1000.0, name);
        fflush(stderr);
    }
}

/* Runs one check, retrying once on a new connection when it broke. */
static long
ctl_audit_check(struct gw_db *db, const struct gw_check *chk)
{
    long n;
    int  lost;

    n = gw_check_run(db, chk, stdout, CTL_AUDIT_SHOW_MAX, &lost);
    if (n < 0 && lost) {
        gw_db_close(db);
        if (ctl_audit_open(db) != 0) {
            return -1;
        }
        printf("audit: connection lost; resuming at this check in a new"
               " snapshot\n");
        n = gw_check_run(db, chk, stdout, CTL_AUDIT_SHOW_MAX, &lost);
    }
    return n;
}

static int
ctl_audit(struct ctl *c, int argc, char **argv)
{
    struct gw_config      bcfg = *c->cfg;
    struct gw_db          db;
    struct ctl_audit_part parts[2];
    size_t                p, k, total, done = 0;
    long                  n, violations = 0;
    int64_t               t0 = gw_now_ms();
    int                   tty = isatty(STDERR_FILENO), rc = CTL_EXIT_OK;

    (void) argc;
    (void) argv;
    parts[0].label = "ledger";
    parts[0].checks = bill_audit_checks(&parts[0].n);
    parts[1].label = "store";
    parts[1].checks = store_audit_checks(&parts[1].n);
    total = parts[0].n + parts[1].n;
    bcfg.mysql.read_timeout_ms = GW_BATCH_READ_TIMEOUT_MS;
    bcfg.mysql.write_timeout_ms = GW_BATCH_READ_TIMEOUT_MS;
    gw_db_init(&db, &bcfg);
    if (ctl_audit_open(&db) != 0) {
        gw_db_fini(&db);
        return CTL_EXIT_FAIL;
    }
    for (p = 0; p < 2 && rc == CTL_EXIT_OK; p++) {
        for (k = 0; k < parts[p].n; k++, done++) {
            int64_t tc = gw_now_ms();

            ctl_audit_progress(tty, done, total, parts[p].checks[k].name, t0);
            if ((n = ctl_audit_check(&db, &parts[p].checks[k])) < 0) {
                rc = CTL_EXIT_FAIL;
                break;
            }
            printf("%-4s %s: %s (%.1f s)\n", n ? "FAIL" : "ok", parts[p].label,
                   parts[p].checks[k].name,
                   (double) (gw_now_ms() - tc) / 1000.0);
            fflush(stdout);
            violations += n;
        }
    }
    if (tty) {
        fprintf(stderr, "\r\033[K");
    }
    gw_db_exec(&db, "COMMIT");
    gw_db_fini(&db);
    if (rc != CTL_EXIT_OK) {
        fprintf(stderr, "vasctl: audit could not run (%zu of %zu checks)\n",
                done, total);
        return rc;
    }
    printf("audit: %zu checks (ledger %zu, store %zu), %ld violation(s),"
           " %.1f s\n",
           done, parts[0].n, parts[1].n, violations,
           (double) (gw_now_ms() - t0) / 1000.0);
    return violations == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
