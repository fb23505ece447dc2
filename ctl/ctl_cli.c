/*
 * ctl_cli.c — vasctl's command framework: global options, command lookup,
 * help at every level, option parsing against each command's table, the
 * configuration search, and bash completion. The rules are in ctl.h.
 *
 * Order matters and is the point of this file: help and every usage error
 * are decided from argv alone, before the configuration is read or any
 * connection is made, so `vasctl X --help` can never do X.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_version.h"

#define CTL_WORDS_MAX       4  /* words in a command name */
#define CTL_CHECKOUT_UP_MAX 32 /* directories walked up to find run/dev */
#define CTL_DEV_CONFIG      "run/dev/vasgw.ini"

/* What the command line asked for, before anything runs. */
struct ctl_line {
    const char *config; /* -c / --config, or NULL */
    int         help;   /* -h / --help seen */
    int         version;
    int         nrest;
    char      **rest;     /* argv without the global options */
    int         dashdash; /* index in rest of the first token after "--" */
};

static const struct ctl_command *const *ctl_tables;

static int ctl_builtin_help(struct ctl *c, int argc, char **argv);
static int ctl_builtin_version(struct ctl *c, int argc, char **argv);
static int ctl_builtin_completion(struct ctl *c, int argc, char **argv);
static int ctl_complete(int argc, char **argv);

static const struct ctl_command ctl_builtin_commands[] = {
    {"help", ctl_builtin_help, "[COMMAND…]", 0, -1, NULL,
     "show the help of vasctl, a command group or a command",
     "`vasctl help CMD` is the same as `vasctl CMD --help`: it prints and"
     " exits 0, and never runs CMD.",
     CTL_CMD_NO_CONFIG},
    {"version", ctl_builtin_version, "", 0, 0, NULL, "print vasctl's version",
     NULL, CTL_CMD_NO_CONFIG},
    {"completion bash", ctl_builtin_completion, "", 0, 0, NULL,
     "print the bash completion script",
     "Install it as /usr/share/bash-completion/completions/vasctl (make"
     " install does), or try it with: source <(vasctl completion bash)",
     CTL_CMD_NO_CONFIG},
    {0}};

/* --- the tables -------------------------------------------------------- */

#define CTL_FOREACH(cmd)                                                       \
    for (const struct ctl_command *const *tab_ = ctl_tables; *tab_; tab_++)    \
        for ((cmd) = *tab_; (cmd)->name != NULL; (cmd)++)

/* Number of words in s ("token mint" → 2). */
static int
ctl_words(const char *s)
{
    int n = 1;

    for (; *s; s++) {
        n += *s == ' ';
    }
    return n;
}

/* 1 when name's first k words are words[0..k). */
static int
ctl_name_starts(const char *name, char **words, int k)
{
    int i;

    for (i = 0; i < k; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(name, words[i], n) != 0) {
            return 0;
        }
        name += n;
        if (i + 1 < k) {
            if (*name != ' ') {
                return 0;
            }
            name++;
        } else if (*name != ' ' && *name != '\0') {
            return 0;
        }
    }
    return 1;
}

/* The command named exactly by words[0..k), or NULL. */
static const struct ctl_command *
ctl_lookup(char **words, int k)
{
    const struct ctl_command *cmd;

    CTL_FOREACH(cmd)
    {
        if (ctl_words(cmd->name) == k && ctl_name_starts(cmd->name, words, k)) {
            return cmd;
        }
    }
    return NULL;
}

/* 1 when some longer command starts with words[0..k) (a group). */
static int
ctl_is_group(char **words, int k)
{
    const struct ctl_command *cmd;

    CTL_FOREACH(cmd)
    {
        if (ctl_words(cmd->name) > k && ctl_name_starts(cmd->name, words, k)) {
            return 1;
        }
    }
    return 0;
}

/* --- help -------------------------------------------------------------- */

static void
ctl_print_synopsis(FILE *out, const struct ctl_command *cmd)
{
    const struct ctl_option *o;

    fprintf(out, "vasctl %s", cmd->name);
    if (cmd->args != NULL && cmd->args[0] != '\0') {
        fprintf(out, " %s", cmd->args);
    }
    for (o = cmd->options; o != NULL && o->name != NULL; o++) {
        int req = (o->flags & CTL_OPT_REQUIRED) != 0;
        fprintf(out, " %s%s%s%s%s", req ? "" : "[", o->name, o->arg ? " " : "",
                o->arg ? o->arg : "", req ? "" : "]");
    }
    fputc('\n', out);
}

static void
ctl_print_globals(FILE *out)
{
    fprintf(out,
            "\nglobal options (anywhere on the line):\n"
            "  -c, --config FILE   configuration file; default: $VASGW_CONFIG,"
            "\n                      else " GW_CONFIG_PATH_DEFAULT
            ", else " CTL_DEV_CONFIG "\n"
            "                      of the checkout the current directory is"
            " in\n"
            "  -h, --help          show help and exit; never runs a command\n"
            "\nexit status: 0 done; 1 the command failed (audit: violations"
            " found);\n"
            "2 usage error, nothing was done; 3 no usable configuration,"
            " nothing was done.\n");
}

/* A command that is also a group ("reconcile", "reconcile list"). */
static void
ctl_help_subcommands(FILE *out, const struct ctl_command *cmd)
{
    const struct ctl_command *sub;
    int                       n = ctl_words(cmd->name), first = 1;

    CTL_FOREACH(sub)
    {
        if (ctl_words(sub->name) > n && !(sub->flags & CTL_CMD_HIDDEN)
            && strncmp(sub->name, cmd->name, strlen(cmd->name)) == 0
            && sub->name[strlen(cmd->name)] == ' ') {
            if (first) {
                fprintf(out, "\nsubcommands:\n");
                first = 0;
            }
            fprintf(out, "  %-22s %s\n", sub->name, sub->summary);
        }
    }
}

static void
ctl_help_command(FILE *out, const struct ctl_command *cmd)
{
    const struct ctl_option *o;

    fprintf(out, "usage: ");
    ctl_print_synopsis(out, cmd);
    fprintf(out, "\n%s.\n", cmd->summary);
    if (cmd->help != NULL) {
        fprintf(out, "\n%s\n", cmd->help);
    }
    ctl_help_subcommands(out, cmd);
    if (cmd->options != NULL && cmd->options->name != NULL) {
        fprintf(out, "\noptions:\n");
        for (o = cmd->options; o->name != NULL; o++) {
            char lhs[64];
            snprintf(lhs, sizeof(lhs), "%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
            fprintf(out, "  %-22s %s%s\n", lhs, o->help,
                    o->flags & CTL_OPT_REQUIRED ? " (required)" : "");
        }
    }
    ctl_print_globals(out);
}

/* Lists the commands under words[0..k) (k = 0: all of them). */
static void
ctl_help_list(FILE *out, char **words, int k)
{
    const struct ctl_command *cmd;

    if (k == 0) {
        fprintf(out,
                "usage: vasctl [-c FILE] COMMAND [ARGS] [OPTIONS]\n\n"
                "The VAS gateway's admin and finance command line.\n"
                "`vasctl help COMMAND` or `vasctl COMMAND --help` shows"
                " a command's arguments\nand options.\n\ncommands:\n");
    } else {
        fprintf(out, "usage: vasctl");
        for (int i = 0; i < k; i++) {
            fprintf(out, " %s", words[i]);
        }
        fprintf(out, " SUBCOMMAND [ARGS] [OPTIONS]\n\nsubcommands:\n");
    }
    CTL_FOREACH(cmd)
    {
        if (!(cmd->flags & CTL_CMD_HIDDEN)
            && (k == 0 || ctl_name_starts(cmd->name, words, k))) {
            fprintf(out, "  %-22s %s\n", cmd->name, cmd->summary);
        }
    }
    ctl_print_globals(out);
}

/*
 * Help for words[0..k): a command, a group, or everything. Returns the
 * exit status: 0, or 2 when the words name nothing.
 */
static int
ctl_help_words(FILE *out, char **words, int k)
{
    const struct ctl_command *cmd = k > 0 ? ctl_lookup(words, k) : NULL;

    if (cmd != NULL) {
        ctl_help_command(out, cmd);
        return CTL_EXIT_OK;
    }
    if (k == 0 || ctl_is_group(words, k)) {
        ctl_help_list(out, words, k);
        return CTL_EXIT_OK;
    }
    fprintf(stderr, "vasctl: unknown command '%s' (see vasctl --help)\n",
            words[0]);
    return CTL_EXIT_USAGE;
}

/* --- parsing ----------------------------------------------------------- */

/* Takes -c/--config/-h/--help/--version out of argv (up to "--"). */
static int
ctl_line_parse(struct ctl_line *l, int argc, char **argv)
{
    int i, after = 0;

    memset(l, 0, sizeof(*l));
    l->rest = calloc((size_t) argc + 1, sizeof(char *));
    if (l->rest == NULL) {
        return CTL_EXIT_FAIL;
    }
    l->dashdash = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (after) {
            l->rest[l->nrest++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            after = 1;
            l->dashdash = l->nrest;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vasctl: %s needs a FILE\n", a);
                return CTL_EXIT_USAGE;
            }
            l->config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            l->config = a + 9;
        } else if (strncmp(a, "-c", 2) == 0 && a[2] != '-') {
            l->config = a + 2;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            l->help = 1;
        } else if (strcmp(a, "--version") == 0) {
            l->version = 1;
        } else {
            l->rest[l->nrest++] = argv[i];
        }
    }
    if (l->config != NULL && l->config[0] == '\0') {
        fprintf(stderr, "vasctl: -c needs a FILE\n");
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

static const struct ctl_option *
ctl_option_find(const struct ctl_command *cmd, const char *name, size_t len)
{
    const struct ctl_option *o;

    for (o = cmd->options; o != NULL && o->name != NULL; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
            return o;
        }
    }
    return NULL;
}

/*
 * Builds the command's argv: positionals, then the given options as
 * "--name VALUE" in table order. tok[0..n) are the tokens after the
 * command words; tokens from index dd on are positionals ("--" seen).
 */
/* An option's text that the HTTP API would refuse (CTL_OPT_TEXT): says
 * why on stderr, 1. */
static int
ctl_text_refused(const struct ctl_command *cmd, const struct ctl_option *o,
                 const char *v)
{
    const char *fault = gw_text_fault(v, CTL_TEXT_MAX, 0);

    if (fault == NULL) {
        return 0;
    }
    if (strcmp(fault, "length") == 0) {
        fprintf(stderr, "vasctl %s: %s must be 1 to %d characters\n", cmd->name,
                o->name, CTL_TEXT_MAX);
    } else {
        fprintf(stderr, "vasctl %s: %s %s\n", cmd->name, o->name, fault);
    }
    return 1;
}

static int
ctl_args_build(const struct ctl_command *cmd, char **tok, int n, int dd,
               char **out, int *nout, int *npos)
{
    const char *val[64] = {0};
    int         given[64] = {0}, i, k = 0, nopt = 0;

    while (cmd->options != NULL && cmd->options[nopt].name != NULL) {
        nopt++;
    }
    if (nopt > 64) {
        return CTL_EXIT_FAIL;
    }
    for (i = 0; i < n; i++) {
        const char              *a = tok[i], *eq;
        const struct ctl_option *o;
        size_t                   len;

        if ((dd >= 0 && i >= dd) || a[0] != '-' || a[1] == '\0') {
            out[k++] = tok[i];
            continue;
        }
        eq = strchr(a, '=');
        len = eq != NULL ? (size_t) (eq - a) : strlen(a);
        o = ctl_option_find(cmd, a, len);
        if (o == NULL) {
            fprintf(stderr, "vasctl %s: unknown option '%.*s'\n", cmd->name,
                    (int) len, a);
            return CTL_EXIT_USAGE;
        }
        if (o->arg == NULL && eq != NULL) {
            fprintf(stderr, "vasctl %s: %s takes no value\n", cmd->name,
                    o->name);
            return CTL_EXIT_USAGE;
        }
        if (o->arg != NULL && eq == NULL && i + 1 >= n) {
            fprintf(stderr, "vasctl %s: %s needs %s\n", cmd->name, o->name,
                    o->arg);
            return CTL_EXIT_USAGE;
        }
        given[o - cmd->options] = 1;
        if (o->arg != NULL) {
            val[o - cmd->options] = eq != NULL ? eq + 1 : tok[++i];
        }
        if ((o->flags & CTL_OPT_TEXT)
            && ctl_text_refused(cmd, o, val[o - cmd->options])) {
            return CTL_EXIT_USAGE;
        }
    }
    *npos = k;
    for (i = 0; i < nopt; i++) {
        const struct ctl_option *o = &cmd->options[i];
        if (!given[i] && (o->flags & CTL_OPT_REQUIRED)) {
            fprintf(stderr, "vasctl %s: %s %s is required\n", cmd->name,
                    o->name, o->arg ? o->arg : "");
            return CTL_EXIT_USAGE;
        }
        if (given[i]) {
            out[k++] = (char *) o->name;
            if (o->arg != NULL) {
                out[k++] = (char *) val[i];
            }
        }
    }
    out[k] = NULL;
    *nout = k;
    return CTL_EXIT_OK;
}

static int
ctl_args_count(const struct ctl_command *cmd, int npos)
{
    if (npos < cmd->args_min) {
        fprintf(stderr, "vasctl %s: missing argument%s: wants %s\n", cmd->name,
                cmd->args_min - npos > 1 ? "s" : "", cmd->args);
        return CTL_EXIT_USAGE;
    }
    if (cmd->args_max >= 0 && npos > cmd->args_max) {
        fprintf(stderr, "vasctl %s: too many arguments%s%s\n", cmd->name,
                cmd->args && cmd->args[0] ? ": wants " : " (takes none)",
                cmd->args && cmd->args[0] ? cmd->args : "");
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

/* --- configuration ----------------------------------------------------- */

/* Walks up from the current directory to a checkout's run/dev/vasgw.ini. */
static int
ctl_config_checkout(char *out, size_t cap)
{
    char dir[GW_CONFIG_PATH_MAX];
    int  i;

    if (getcwd(dir, sizeof(dir)) == NULL) {
        return -1;
    }
    for (i = 0; i < CTL_CHECKOUT_UP_MAX; i++) {
        char  *slash;
        size_t n =
            (size_t) snprintf(out, cap, "%s/%s",
                              strcmp(dir, "/") == 0 ? "" : dir, CTL_DEV_CONFIG);
        if (n < cap && access(out, R_OK) == 0) {
            return 0;
        }
        slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir) {
            break;
        }
        *slash = '\0';
    }
    return -1;
}

/* The configuration file to use (see ctl.h), or NULL with a reason. */
static const char *
ctl_config_path(const char *given, char *buf, size_t cap)
{
    const char *env = getenv("VASGW_CONFIG");

    if (given != NULL) {
        return given;
    }
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    if (access(GW_CONFIG_PATH_DEFAULT, F_OK) == 0) {
        return GW_CONFIG_PATH_DEFAULT;
    }
    if (ctl_config_checkout(buf, cap) == 0) {
        return buf;
    }
    fprintf(stderr,
            "vasctl: no configuration: pass -c FILE, set VASGW_CONFIG, or"
            " install " GW_CONFIG_PATH_DEFAULT "\n");
    return NULL;
}

static int
ctl_run(const struct ctl_command *cmd, const char *config, int argc,
        char **argv, int npos)
{
    static struct gw_config cfg;
    struct ctl              c;
    char                    err[512], found[GW_CONFIG_PATH_MAX];
    const char             *path;
    int                     rc;

    memset(&c, 0, sizeof(c));
    c.nargs = npos;
    if (cmd->flags & CTL_CMD_NO_CONFIG) {
        return cmd->run(&c, argc, argv);
    }
    path = ctl_config_path(config, found, sizeof(found));
    if (path == NULL) {
        return CTL_EXIT_CONFIG;
    }
    if (gw_config_load(&cfg, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "vasctl: %s\n", err);
        return CTL_EXIT_CONFIG;
    }
    gw_log_role("vasctl");
    c.cfg = &cfg;
    c.secrets_ok = gw_config_load_secrets(&cfg, err, sizeof(err)) == 0;
    if (gw_thread_init(&c.t, &cfg, 0) != 0) {
        return CTL_EXIT_FAIL;
    }
    rc = cmd->run(&c, argc, argv);
    if (rc == CTL_EXIT_USAGE) {
        fprintf(stderr, "usage: ");
        ctl_print_synopsis(stderr, cmd);
    }
    gw_thread_fini(&c.t);
    return rc;
}

/* The command words at the start of rest; their count in *k. */
static const struct ctl_command *
ctl_resolve(struct ctl_line *l, int *k)
{
    const struct ctl_command *best = NULL;
    int                       n = 0, i, group = 0;

    while (n < l->nrest && n < CTL_WORDS_MAX
           && (l->dashdash < 0 || n < l->dashdash) && l->rest[n][0] != '-') {
        n++;
    }
    *k = 0;
    for (i = 1; i <= n; i++) {
        const struct ctl_command *cmd = ctl_lookup(l->rest, i);
        if (cmd != NULL) {
            best = cmd;
            *k = i;
        } else if (!ctl_is_group(l->rest, i)) {
            break;
        } else if (best == NULL) {
            group = i;
        }
    }
    if (best == NULL) {
        *k = group; /* the words that name a group (0: none) */
    }
    return best;
}

/* No command found in the words: a group, nothing, or a typo. */
static int
ctl_no_command(struct ctl_line *l, int k)
{
    if (k == 0) {
        if (l->version) {
            return ctl_builtin_version(NULL, 0, NULL);
        }
        if (l->help) {
            ctl_help_list(stdout, NULL, 0);
            return CTL_EXIT_OK;
        }
        if (l->nrest == 0) {
            ctl_help_list(stderr, NULL, 0);
            return CTL_EXIT_USAGE;
        }
    }
    if (k > 0 && ctl_is_group(l->rest, k)) {
        if (l->help) {
            ctl_help_list(stdout, l->rest, k);
            return CTL_EXIT_OK;
        }
        if (k < l->nrest && l->rest[k][0] != '-') {
            fprintf(stderr, "vasctl: unknown command '%s %s'\n", l->rest[k - 1],
                    l->rest[k]);
        } else {
            fprintf(stderr, "vasctl: '%s' needs a subcommand\n", l->rest[0]);
        }
        ctl_help_list(stderr, l->rest, k);
        return CTL_EXIT_USAGE;
    }
    fprintf(stderr, "vasctl: unknown command '%s' (see vasctl --help)\n",
            l->rest[0]);
    return CTL_EXIT_USAGE;
}

int
ctl_cli_main(const struct ctl_command *const *tables, int argc, char **argv)
{
    const struct ctl_command **all;
    const struct ctl_command  *cmd;
    struct ctl_line            l;
    char                     **args = NULL;
    int                        rc, k, nargs = 0, npos = 0, n;

    /* The framework's own commands come last, after the tables given. */
    for (n = 0; tables[n] != NULL; n++) {
    }
    all = calloc((size_t) n + 2, sizeof(const struct ctl_command *));
    if (all == NULL) {
        return CTL_EXIT_FAIL;
    }
    for (k = 0; k < n; k++) {
        all[k] = tables[k];
    }
    all[n] = ctl_builtin_commands;
    ctl_tables = all;

    memset(&l, 0, sizeof(l));
    if (argc > 1 && strcmp(argv[1], "__complete") == 0) {
        /* Raw words: completion must see options, --help and -c too. */
        rc = ctl_complete(argc - 2, argv + 2);
        goto done;
    }
    rc = ctl_line_parse(&l, argc, argv);
    if (rc != CTL_EXIT_OK) {
        goto done;
    }
    cmd = ctl_resolve(&l, &k);
    if (cmd == NULL) {
        rc = ctl_no_command(&l, k);
        goto done;
    }
    if (l.help) {
        rc = ctl_help_words(stdout, l.rest, k);
        goto done;
    }
    args = calloc((size_t) (l.nrest - k) * 2 + 1, sizeof(char *));
    if (args == NULL) {
        rc = CTL_EXIT_FAIL;
        goto done;
    }
    rc = ctl_args_build(cmd, l.rest + k, l.nrest - k,
                        l.dashdash < 0 ? -1 : l.dashdash - k, args, &nargs,
                        &npos);
    if (rc == CTL_EXIT_OK) {
        rc = ctl_args_count(cmd, npos);
    }
    if (rc == CTL_EXIT_OK) {
        rc = ctl_run(cmd, l.config, nargs, args, npos);
    } else {
        fprintf(stderr, "usage: ");
        ctl_print_synopsis(stderr, cmd);
    }
done:
    free(args);
    free(l.rest);
    free(all);
    return rc;
}

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

/* --- builtins ---------------------------------------------------------- */

static int
ctl_builtin_help(struct ctl *c, int argc, char **argv)
{
    (void) argc;
    return ctl_help_words(stdout, argv, c->nargs);
}

static int
ctl_builtin_version(struct ctl *c, int argc, char **argv)
{
    (void) c;
    (void) argc;
    (void) argv;
    printf("vasctl %s\n", GW_VERSION);
    return CTL_EXIT_OK;
}

static const char ctl_bash_completion[] =
    "# bash completion for vasctl (generated by `vasctl completion bash`)\n"
    "_vasctl() {\n"
    "    local cur=${COMP_WORDS[COMP_CWORD]} cands\n"
    "    cands=$(\"${COMP_WORDS[0]}\" __complete"
    " \"${COMP_WORDS[@]:1:COMP_CWORD-1}\" 2>/dev/null)\n"
    "    if [[ $cands == __files__ ]]; then\n"
    "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
    "    else\n"
    "        mapfile -t COMPREPLY < <(compgen -W \"$cands\" -- \"$cur\")\n"
    "    fi\n"
    "}\n"
    "complete -o filenames -F _vasctl vasctl\n";

static int
ctl_builtin_completion(struct ctl *c, int argc, char **argv)
{
    (void) c;
    (void) argc;
    (void) argv;
    fputs(ctl_bash_completion, stdout);
    return CTL_EXIT_OK;
}

/* Prints the next words of commands under words[0..k). */
static void
ctl_complete_next(char **words, int k)
{
    const struct ctl_command *cmd;
    const char               *last = "";
    int                       last_len = -1;

    CTL_FOREACH(cmd)
    {
        const char *p = cmd->name;
        int         i, len;

        if (cmd->flags & CTL_CMD_HIDDEN || ctl_words(cmd->name) <= k
            || (k > 0 && !ctl_name_starts(cmd->name, words, k))) {
            continue;
        }
        for (i = 0; i < k; i++) {
            p = strchr(p, ' ') + 1;
        }
        len = (int) strcspn(p, " ");
        if (len != last_len || strncmp(p, last, (size_t) len) != 0) {
            printf("%.*s\n", len, p); /* once per group */
        }
        last = p;
        last_len = len;
    }
}

/*
 * `vasctl __complete WORD…`: the candidates for the word after WORD… (the
 * script filters them by the prefix typed). Global options are skipped;
 * after an option that takes a value, "__files__" asks for file names.
 */
static int
ctl_complete(int argc, char **argv)
{
    const struct ctl_command *cmd = NULL;
    const struct ctl_option  *o;
    char                     *words[CTL_WORDS_MAX + 1];
    const char               *prev = argc > 0 ? argv[argc - 1] : NULL;
    int                       i, k, n = 0;

    if (prev != NULL
        && (strcmp(prev, "-c") == 0 || strcmp(prev, "--config") == 0)) {
        printf("__files__\n");
        return CTL_EXIT_OK;
    }
    for (i = 0; i < argc && n < CTL_WORDS_MAX; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            i++;
        } else if (argv[i][0] != '-') {
            words[n++] = argv[i];
        } else {
            break; /* options follow the command words */
        }
    }
    for (k = n; k > 0; k--) {
        if ((cmd = ctl_lookup(words, k)) != NULL) {
            break;
        }
    }
    if (cmd == NULL) {
        ctl_complete_next(words, n);
        return CTL_EXIT_OK;
    }
    o = prev != NULL && prev[0] == '-'
        ? ctl_option_find(cmd, prev, strlen(prev))
        : NULL;
    if (o != NULL && o->arg != NULL) {
        printf("__files__\n");
        return CTL_EXIT_OK;
    }
    for (o = cmd->options; o != NULL && o->name != NULL; o++) {
        printf("%s\n", o->name);
    }
    printf("--help\n--config\n");
    return CTL_EXIT_OK;
}
