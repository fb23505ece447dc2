/*
 * vasctl — the admin/finance command line of the VAS gateway.
 *
 *   vasctl [-c FILE] COMMAND [ARGS]     (vasctl --help lists commands)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gw_auth.h"
#include "gw_log.h"
#include "gw_migrate.h"
#include "gw_status.h"
#include "gw_util.h"

#define VASCTL_VERSION "0.1.0"

static const struct ctl_command ctl_commands[] = {
    {"migrate", ctl_migrate, "", "apply pending schema migrations"},
    {"token mint", ctl_token_mint, "USER [--ttl SECONDS]",
     "print an IM session token (HS256) for USER"},
    {"admin-key create", ctl_admin_key_create, "NAME",
     "create an admin API key; prints it once (only its hash is kept)"},
    {"subscriber add", ctl_subscriber_add,
     "IM_USER MSISDN prepaid|postpaid [--credit-limit FEN] [--cap-daily FEN]"
     " [--cap-monthly FEN]",
     "bind an IM user to a new phone account"},
    {"subscriber show", ctl_subscriber_show, "MSISDN",
     "print a subscriber with balance, caps and status"},
    {"subscriber suspend", ctl_subscriber_suspend, "MSISDN [--reason TEXT]",
     "suspend a phone account (no further charges)"},
    {"subscriber resume", ctl_subscriber_resume, "MSISDN [--reason TEXT]",
     "reactivate a suspended phone account"},
    {"topup", ctl_topup, "MSISDN AMOUNT --reference REF [--reason TEXT]",
     "credit a phone account (prepaid top-up or postpaid payment)"},
    {"refund", ctl_refund, "TXN_ID [AMOUNT] --reason TEXT",
     "refund all or part of a charge transaction"},
    {"audit", ctl_audit, "",
     "check every ledger invariant; exit 1 and list violations if any"},
    {"hold reserve", ctl_hold_reserve,
     "MSISDN AMOUNT [--provider ID --share-bp BP] [--reference REF]",
     "reserve funds (two-phase charge); prints the hold id"},
    {"hold capture", ctl_hold_capture, "HOLD_ID [AMOUNT]",
     "charge all or part of a pending hold; the rest is released"},
    {"hold release", ctl_hold_release, "HOLD_ID",
     "release a pending hold without charging"},
    {"hold expire", ctl_hold_expire, "",
     "release every pending hold past its expiry now (the janitor's job)"},
    {"cdr export", ctl_cdr_export, "--from YYYY-MM-DD --to YYYY-MM-DD",
     "write CDRs of those business days as CSV to stdout"},
    {"catalog import", ctl_catalog_import, "FILE|URL [--content-dir DIR]",
     "validate and upsert a content provider's catalog feed"},
    {"notifications tail", ctl_notifications_tail, "[--group G] [--count N]",
     "read the notification stream as the IM push servers do"},
    {"webhooks list", ctl_webhooks_list, "[--failed]",
     "list webhook deliveries (dead-lettered with --failed)"},
    {"webhooks retry", ctl_webhooks_retry, "EVENT_ID|--all-failed",
     "re-queue dead-lettered webhook deliveries"},
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

const char *
ctl_opt(int argc, char **argv, const char *name)
{
    int i;

    for (i = 0; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return argv[i + 1];
        }
    }
    return NULL;
}

int
ctl_flag(int argc, char **argv, const char *name)
{
    int i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

int
ctl_migrate(struct ctl *c, int argc, char **argv)
{
    (void) argc;
    (void) argv;
    return gw_migrate_run(&c->t.db, c->cfg->mysql.migrations_dir, stdout)
            == GW_OK
        ? 0
        : 1;
}

int
ctl_token_mint(struct ctl *c, int argc, char **argv)
{
    char        token[GW_TOKEN_BYTES_MAX];
    const char *ttl_s = ctl_opt(argc, argv, "--ttl");
    int64_t     ttl = 3600;

    if (argc < 1 || argv[0][0] == '-') {
        return 2;
    }
    if (ttl_s != NULL
        && (gw_parse_i64(ttl_s, strlen(ttl_s), &ttl) != 0 || ttl < 1)) {
        fprintf(stderr, "vasctl: --ttl wants a positive number of seconds\n");
        return 2;
    }
    if (!c->secrets_ok) {
        fprintf(stderr, "vasctl: cannot read %s\n",
                c->cfg->auth.token_secret_file);
        return 1;
    }
    if (gw_auth_jwt_mint(c->cfg->token_secret, c->cfg->token_secret_len,
                         argv[0], gw_now_s(), ttl, token, sizeof(token))
        < 0) {
        fprintf(stderr, "vasctl: user id too long\n");
        return 1;
    }
    printf("%s\n", token);
    return 0;
}

int
ctl_admin_key_create(struct ctl *c, int argc, char **argv)
{
    char key[GW_ADMIN_KEY_LEN + 1], hash[65];

    if (argc < 1 || strlen(argv[0]) > 100) {
        return 2;
    }
    if (gw_auth_admin_key_new(key) != 0) {
        return 1;
    }
    gw_auth_admin_key_hash(key, strlen(key), hash);
    if (gw_db_exec(&c->t.db,
                   "INSERT INTO admin_keys (name, key_hash, created_at)"
                   " VALUES (%s, %s, UTC_TIMESTAMP())",
                   argv[0], hash)
        != GW_OK) {
        fprintf(stderr,
                "vasctl: cannot store the key (is the database"
                " migrated?)\n");
        return 1;
    }
    fprintf(stderr, "admin key '%s' created; it is shown only once:\n",
            argv[0]);
    printf("%s\n", key);
    return 0;
}

static void
ctl_usage(FILE *out)
{
    size_t i;

    fprintf(out,
            "usage: vasctl [-c FILE] COMMAND [ARGS]\n"
            "  -c FILE    configuration (default $VASCTL_CONFIG or"
            " etc/vasgw.ini)\n  --version  print the version\n\n"
            "commands:\n");
    for (i = 0; i < CTL_NCOMMANDS; i++) {
        fprintf(out, "  %s %s\n      %s\n", ctl_commands[i].name,
                ctl_commands[i].usage, ctl_commands[i].help);
    }
}

/* Finds the command whose words start argv; sets *used to their count. */
static const struct ctl_command *
ctl_find(int argc, char **argv, int *used)
{
    size_t i;

    for (i = 0; i < CTL_NCOMMANDS; i++) {
        const char *p = ctl_commands[i].name;
        int         k = 0;

        while (k < argc) {
            size_t n = strlen(argv[k]);
            if (strncmp(p, argv[k], n) != 0 || (p[n] != ' ' && p[n] != 0)) {
                break;
            }
            k++;
            p += n;
            if (*p == '\0') {
                *used = k;
                return &ctl_commands[i];
            }
            p++;
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    static struct gw_config   cfg;
    struct ctl                c;
    const struct ctl_command *cmd;
    const char               *path = getenv("VASCTL_CONFIG");
    char                      err[512];
    int                       i = 1, used = 0, rc;

    if (path == NULL) {
        path = "etc/vasgw.ini";
    }
    if (argc > 2 && strcmp(argv[1], "-c") == 0) {
        path = argv[2];
        i = 3;
    }
    if (i < argc && strcmp(argv[i], "--version") == 0) {
        printf("vasctl %s\n", VASCTL_VERSION);
        return 0;
    }
    if (i >= argc || strcmp(argv[i], "--help") == 0
        || strcmp(argv[i], "-h") == 0) {
        ctl_usage(i >= argc ? stderr : stdout);
        return i >= argc ? 2 : 0;
    }
    cmd = ctl_find(argc - i, argv + i, &used);
    if (cmd == NULL) {
        fprintf(stderr, "vasctl: unknown command '%s' (see vasctl --help)\n",
                argv[i]);
        return 2;
    }
    if (gw_config_load(&cfg, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "vasctl: %s\n", err);
        return 1;
    }
    gw_log_role("vasctl");
    c.cfg = &cfg;
    c.secrets_ok = gw_config_load_secrets(&cfg, err, sizeof(err)) == 0;
    if (gw_thread_init(&c.t, &cfg, 0) != 0) {
        return 1;
    }
    rc = cmd->run(&c, argc - i - used, argv + i + used);
    if (rc == 2) {
        fprintf(stderr, "usage: vasctl %s %s\n", cmd->name, cmd->usage);
    }
    gw_thread_fini(&c.t);
    return rc;
}
