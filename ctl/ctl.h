/*
 * ctl.h — vasctl, the admin/finance command line, and the framework every
 * command is registered through.
 *
 * Commands talk to MariaDB (and Redis) directly with the same config file as
 * vasgw and the same domain code. The framework (ctl_cli.c) owns the rules
 * an operator relies on, so a command never has to re-implement them:
 *
 *   - `--help`/`-h` anywhere and `vasctl help CMD…` print help and exit 0
 *     before anything is loaded or connected: help never runs a command;
 *   - an unknown option, a missing option value, a missing required option,
 *     too few or too many arguments → the reason on stderr, exit 2;
 *   - `-c FILE` / `--config FILE` anywhere on the line, else $VASGW_CONFIG,
 *     else /etc/vasgw/vasgw.ini, else the dev stack's run/dev/vasgw.ini of
 *     the checkout the current directory is in;
 *   - `--name=value` and `--name value` both work; an option given twice
 *     keeps the last value; `--` ends the options;
 *   - bash completion (`vasctl completion bash`) is generated from the
 *     tables, so a registered command completes with its options.
 *
 * Adding commands (one table per file, data that grep finds):
 *
 *   static const struct ctl_option ctl_opts_topup[] = {
 *       {"--reference", "REF", "idempotency reference (required)",
 *        CTL_OPT_REQUIRED},
 *       {"--reason", "TEXT", "why (kept in the audit trail)", 0},
 *       {0}};
 *
 *   const struct ctl_command ctl_billing_commands[] = {
 *       {"topup", ctl_topup, "MSISDN AMOUNT", 2, 2, ctl_opts_topup,
 *        "credit a phone account", NULL, 0},
 *       {0}};
 *
 * then declare the table below and add it to ctl_tables[] in ctl_main.c.
 *
 * What a command's run() receives: argv[0..c->nargs) are the positional
 * arguments (their count already checked against args_min/args_max), then
 * the options that were given, normalised to "--name VALUE" pairs (flags:
 * "--name" alone), in table order. So ctl_opt()/ctl_flag() find them and
 * argv[i] for i < c->nargs never starts an option. run() returns the exit
 * status (CTL_EXIT_*); returning CTL_EXIT_USAGE makes the framework print
 * the usage line after the reason the command printed.
 */
#ifndef CTL_H
#define CTL_H

#include "gw_config.h"
#include "gw_thread.h"

/* Exit statuses of vasctl (documented in `vasctl --help` and README). */
#define CTL_EXIT_OK     0 /* done */
#define CTL_EXIT_FAIL   1 /* the command ran and failed (audit: violations) */
#define CTL_EXIT_USAGE  2 /* bad command line: nothing was done */
#define CTL_EXIT_CONFIG 3 /* no usable configuration: nothing was done */

struct ctl {
    struct gw_config *cfg;
    struct gw_thread  t;          /* db, redis, arena (connected lazily) */
    int               secrets_ok; /* secret files could be read */
    int               nargs;      /* positional arguments in argv */
};

/* A command: returns the process exit status (CTL_EXIT_*). */
typedef int (*ctl_cmd_pt)(struct ctl *c, int argc, char **argv);

#define CTL_OPT_REQUIRED 0x1 /* the command refuses to run without it */
/* One line of text kept in the database (a reason, a reference): the rule
 * the HTTP API applies to JSON strings (gw_text_fault: valid UTF-8, no
 * control characters, no white space at either end), at most CTL_TEXT_MAX
 * characters; the framework refuses anything else with exit 2. */
#define CTL_OPT_TEXT 0x2
#define CTL_TEXT_MAX 255

/* An option of a command. A table ends with {0}. */
struct ctl_option {
    const char *name;  /* "--ttl" */
    const char *arg;   /* "SECONDS" when it takes a value; NULL: a flag */
    const char *help;  /* one line */
    unsigned    flags; /* CTL_OPT_* */
};

#define CTL_CMD_NO_CONFIG 0x1 /* runs without a config (help, completion) */
#define CTL_CMD_HIDDEN    0x2 /* not listed (internal: __complete) */

/* A command. A table ends with {0}. */
struct ctl_command {
    const char              *name; /* words: "token mint" */
    ctl_cmd_pt               run;
    const char              *args;     /* positional synopsis: "USER" */
    int                      args_min; /* positional arguments required */
    int                      args_max; /* -1: no upper bound */
    const struct ctl_option *options;  /* NULL: none */
    const char              *summary;  /* one line */
    const char              *help;     /* more paragraphs, or NULL */
    unsigned                 flags;    /* CTL_CMD_* */
};

/* The command tables, one per ctl_*.c file (listed in ctl_main.c). */
extern const struct ctl_command ctl_main_commands[];    /* ctl_main.c */
extern const struct ctl_command ctl_billing_commands[]; /* ctl_billing.c */
extern const struct ctl_command ctl_catalog_commands[]; /* ctl_catalog.c */
extern const struct ctl_command ctl_audit_commands[];   /* ctl_audit.c */
extern const struct ctl_command ctl_notify_commands[];  /* ctl_notify.c */
extern const struct ctl_command ctl_store_commands[];   /* ctl_store.c */
extern const struct ctl_command ctl_finance_commands[]; /* ctl_finance.c */
extern const struct ctl_command ctl_lobby_commands[];   /* ctl_lobby.c */

/*
 * The framework's entry point (ctl_cli.c): parses argv against tables (a
 * NULL-terminated list of command tables), prints help or a usage error,
 * or loads the config and runs the command. Returns the exit status.
 */
int ctl_cli_main(const struct ctl_command *const *tables, int argc,
                 char **argv);

/* The value of option name in a command's argv, or NULL when absent. */
const char *ctl_opt(int argc, char **argv, const char *name);

/* 1 when the flag name is in a command's argv. */
int ctl_flag(int argc, char **argv, const char *name);

#endif /* CTL_H */
