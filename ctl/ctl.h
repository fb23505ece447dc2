/*
 * ctl.h — vasctl, the admin/finance command line. Each ctl_*.c file adds
 * commands to the table in ctl_main.c. Commands talk to MariaDB (and Redis)
 * directly with the same config file as vasgw and the same domain code.
 */
#ifndef CTL_H
#define CTL_H

#include "gw_config.h"
#include "gw_thread.h"

struct ctl {
    struct gw_config *cfg;
    struct gw_thread  t;          /* db, redis, arena */
    int               secrets_ok; /* secret files could be read */
};

/* A command: returns the process exit status (0 ok, 1 failure, 2 usage). */
typedef int (*ctl_cmd_pt)(struct ctl *c, int argc, char **argv);

struct ctl_command {
    const char *name; /* "token mint" */
    ctl_cmd_pt  run;
    const char *usage; /* arguments */
    const char *help;  /* one line */
};

/* Commands of ctl_main.c (migrate, token, admin-key). */
int ctl_migrate(struct ctl *c, int argc, char **argv);
int ctl_token_mint(struct ctl *c, int argc, char **argv);
int ctl_admin_key_create(struct ctl *c, int argc, char **argv);

/* Billing and finance (ctl_billing.c). */
int ctl_subscriber_add(struct ctl *c, int argc, char **argv);
int ctl_subscriber_show(struct ctl *c, int argc, char **argv);
int ctl_subscriber_suspend(struct ctl *c, int argc, char **argv);
int ctl_subscriber_resume(struct ctl *c, int argc, char **argv);
int ctl_topup(struct ctl *c, int argc, char **argv);
int ctl_refund(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv);
int ctl_cdr_export(struct ctl *c, int argc, char **argv);
int ctl_hold_reserve(struct ctl *c, int argc, char **argv);
int ctl_hold_capture(struct ctl *c, int argc, char **argv);
int ctl_hold_release(struct ctl *c, int argc, char **argv);
int ctl_hold_expire(struct ctl *c, int argc, char **argv);

/* Catalog (ctl_catalog.c). */
int ctl_catalog_import(struct ctl *c, int argc, char **argv);

/* Notifications and webhooks (ctl_notify.c). */
int ctl_notifications_tail(struct ctl *c, int argc, char **argv);
int ctl_webhooks_list(struct ctl *c, int argc, char **argv);
int ctl_webhooks_retry(struct ctl *c, int argc, char **argv);

/* Parses "--name VALUE" style options: returns VALUE or NULL. */
const char *ctl_opt(int argc, char **argv, const char *name);

/* 1 when "--flag" is present. */
int ctl_flag(int argc, char **argv, const char *name);

#endif /* CTL_H */
