/*
 * ctl_lobby.c — `vasctl ticket verify`: checks a game ticket offline, as a
 * game server would (lobby/lob_ticket.c), and exits 0 only for a valid one.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "gw_status.h"
#include "gw_util.h"
#include "lob.h"

static int ctl_ticket_verify(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_ticket[] = {
    {"--secret-file", "FILE",
     "the ticket key (default: [lobby] ticket_secret_file)", 0},
    {0}};

const struct ctl_command ctl_lobby_commands[] = {
    {"ticket verify", ctl_ticket_verify, "[TICKET|-]", 0, 1, ctl_opts_ticket,
     "verify a game ticket; exit 0 only when it is valid",
     "Checks the HMAC-SHA256 signature (constant time), the payload and the\n"
     "expiry, then prints the payload as JSON. Without TICKET (or with -) the\n"
     "ticket is read from standard input. Exit 0: valid; 1: invalid,\n"
     "tampered or expired (the reason on stderr).",
     0},
    {0}};

/* The ticket from argv or one line of stdin into buf. */
static int
ctl_ticket_read(int nargs, char **argv, char *buf, size_t cap)
{
    size_t n;

    if (nargs == 1 && strcmp(argv[0], "-") != 0) {
        n = strlen(argv[0]);
        if (n >= cap) {
            return -1;
        }
        memcpy(buf, argv[0], n + 1);
        return 0;
    }
    if (fgets(buf, (int) cap, stdin) == NULL) {
        return -1;
    }
    n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && n == cap - 1) {
        return -1; /* longer than any ticket */
    }
    buf[n] = '\0';
    return 0;
}

static int
ctl_ticket_verify(struct ctl *c, int argc, char **argv)
{
    const char   *file = ctl_opt(argc, argv, "--secret-file");
    unsigned char key[GW_SECRET_BYTES_MAX];
    char          ticket[LOB_TICKET_MAX + 2], payload[LOB_TICKET_MAX];
    long          klen;
    int           rc;

    if (file == NULL) {
        file = c->cfg->lobby.ticket_secret_file;
    }
    klen = gw_config_read_file(file, key, sizeof(key), 0);
    if (klen < 16) {
        fprintf(stderr, "vasctl: cannot read the ticket key %s\n", file);
        return CTL_EXIT_FAIL;
    }
    if (ctl_ticket_read(c->nargs, argv, ticket, sizeof(ticket)) != 0) {
        fprintf(stderr, "vasctl: no ticket (or one too long)\n");
        return CTL_EXIT_FAIL;
    }
    rc = lob_ticket_verify(key, (size_t) klen, ticket, gw_now_s(), payload,
                           sizeof(payload));
    if (rc == GW_EEXPIRED) {
        fprintf(stderr, "vasctl: ticket expired\n");
        return CTL_EXIT_FAIL;
    }
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: invalid ticket (bad signature or shape)\n");
        return CTL_EXIT_FAIL;
    }
    printf("%s\n", payload);
    return CTL_EXIT_OK;
}
