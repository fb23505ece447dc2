/*
 * vasctl — the admin/finance command line of the VAS gateway.
 *
 *   vasctl [-c FILE] COMMAND [ARGS]     (vasctl --help lists commands)
 *
 * main() hands argv to the framework (ctl_cli.c) with every command table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gw_auth.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_migrate.h"
#include "gw_status.h"
#include "gw_util.h"

/* Every command table, in the order `vasctl --help` lists them. Add yours
 * here (and declare it in ctl.h). */
static const struct ctl_command *const ctl_tables[] = {
    ctl_main_commands,    ctl_billing_commands, ctl_finance_commands,
    ctl_catalog_commands, ctl_notify_commands,  ctl_audit_commands,
    ctl_store_commands,   ctl_lobby_commands,   NULL};

static int ctl_migrate(struct ctl *c, int argc, char **argv);
static int ctl_token_mint(struct ctl *c, int argc, char **argv);
static int ctl_admin_key_create(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_token_mint[] = {
    {"--ttl", "SECONDS", "lifetime of the token (default 3600)", 0}, {0}};

const struct ctl_command ctl_main_commands[] = {
    {"migrate", ctl_migrate, "", 0, 0, NULL, "apply pending schema migrations",
     "Applies the numbered files of [mysql] migrations_dir that are not yet"
     " in\nschema_migrations, each in order; an applied file that changed is"
     " an error.",
     0},
    {"token mint", ctl_token_mint, "USER", 1, 1, ctl_opts_token_mint,
     "print an IM session token (HS256) for USER", NULL, 0},
    {"admin-key create", ctl_admin_key_create, "NAME", 1, 1, NULL,
     "create an admin API key; prints it once (only its hash is kept)", NULL,
     0},
    {0}};

static int
ctl_migrate(struct ctl *c, int argc, char **argv)
{
    (void) argc;
    (void) argv;
    /* Batch work: an ALTER or a backfill of a big table outlasts the
     * request path's read timeout (the server would finish it unseen). */
    if (c->cfg->mysql.read_timeout_ms < GW_BATCH_READ_TIMEOUT_MS) {
        c->cfg->mysql.read_timeout_ms = GW_BATCH_READ_TIMEOUT_MS;
        c->cfg->mysql.write_timeout_ms = GW_BATCH_READ_TIMEOUT_MS;
        gw_db_close(&c->t.db);
    }
    return gw_migrate_run(&c->t.db, c->cfg->mysql.migrations_dir, stdout)
            == GW_OK
        ? 0
        : 1;
}

static int
ctl_token_mint(struct ctl *c, int argc, char **argv)
{
    char        token[GW_TOKEN_BYTES_MAX];
    const char *ttl_s = ctl_opt(argc, argv, "--ttl");
    int64_t     ttl = 3600;

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

static int
ctl_admin_key_create(struct ctl *c, int argc, char **argv)
{
    char key[GW_ADMIN_KEY_LEN + 1], hash[65];

    (void) argc;
    if (strlen(argv[0]) > 100) {
        fprintf(stderr, "vasctl: NAME is longer than 100 bytes\n");
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

int
main(int argc, char **argv)
{
    return ctl_cli_main(ctl_tables, argc, argv);
}
