/*
 * gw_config.h — the one INI configuration (inih), with defaults, ranges,
 * VASGW_<SECTION>_<KEY> environment overrides and secrets read from files.
 *
 * A struct gw_config is built once by gw_config_load() and then only read;
 * sharing it between threads is safe. SIGHUP builds a new one in the master.
 * Every key is described in etc/vasgw.ini and in the key table of
 * gw_config.c (the one place to add a key).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gw_limits.h"

#define GW_CONFIG_PATH_MAX 512

/* The file vasgw and vasctl read without -c or $VASGW_CONFIG. */
#ifndef GW_CONFIG_PATH_DEFAULT
#define GW_CONFIG_PATH_DEFAULT "/etc/vasgw/vasgw.ini"
#endif
#define GW_CONFIG_STR_MAX 256

struct gw_config {
    char path[GW_CONFIG_PATH_MAX];

    struct {
        char    socket[GW_CONFIG_PATH_MAX];
        char    socket_mode[8];
        int64_t backlog;
        int64_t workers;
        int64_t threads;
        int64_t max_requests;
        int64_t drain_timeout_s;
        char    pid_file[GW_CONFIG_PATH_MAX];
        char    log_file[GW_CONFIG_PATH_MAX];
        char    metrics_trusted[GW_CONFIG_STR_MAX];
        int64_t relay;
        int64_t janitor;
        int64_t debug_routes;
        int64_t slow_request_ms;
        char    slowlog_file[GW_CONFIG_PATH_MAX];
    } server;

    struct {
        int64_t body_max_bytes;
        int64_t json_depth_max;
    } limits;

    struct {
        char    socket[GW_CONFIG_PATH_MAX];
        char    host[GW_CONFIG_STR_MAX];
        int64_t port;
        char    database[64];
        char    user[64];
        char    password_file[GW_CONFIG_PATH_MAX];
        int64_t connect_timeout_ms;
        int64_t read_timeout_ms;
        int64_t write_timeout_ms;
        char    migrations_dir[GW_CONFIG_PATH_MAX];
    } mysql;

    struct {
        char    host[GW_CONFIG_STR_MAX];
        int64_t port;
        int64_t connect_timeout_ms;
        int64_t timeout_ms;
        char    notify_stream[128];
        int64_t inbox_max;
        int64_t inbox_ttl_s;
        int64_t stream_maxlen;
        char    user[64];
        char    password_file[GW_CONFIG_PATH_MAX];
    } redis;

    struct {
        char    token_secret_file[GW_CONFIG_PATH_MAX];
        int64_t clock_skew_s;
    } auth;

    struct {
        char    currency[8];
        int64_t day_offset_min;
        int64_t low_balance_minor;
        int64_t hold_ttl_s;
    } billing;

    struct {
        int64_t recon_memory_cdrs; /* CDRs a reconciliation holds at once */
    } finance;

    struct {
        char    secret_file[GW_CONFIG_PATH_MAX];
        int64_t link_ttl_s;
        char    content_dir[GW_CONFIG_PATH_MAX];
        char    internal_prefix[128];
    } downloads;

    struct {
        int64_t batch;
        int64_t interval_ms;
        int64_t threads;
        int64_t webhook_connect_timeout_ms;
        int64_t webhook_timeout_ms;
        char    webhook_schedule_s[GW_CONFIG_STR_MAX];
        char    webhook_allow_nets[GW_CONFIG_STR_MAX];
    } relay;

    struct {
        int64_t interval_ms;
        int64_t lobby_idle_s;
    } janitor;

    struct {
        int64_t closed_ttl_s;
        int64_t start_timeout_s;
        char    ticket_secret_file[GW_CONFIG_PATH_MAX];
        int64_t ticket_ttl_s;
        int64_t allocator_connect_timeout_ms;
        int64_t allocator_timeout_ms;
    } lobby;

    struct {
        int64_t fragment_cache;
        int64_t fragment_cache_mb;
    } catalog;

    struct {
        int64_t enabled;
        int64_t read_per_min, read_burst;
        int64_t write_per_min, write_burst;
        int64_t money_per_min, money_burst;
        int64_t addr_factor;
        int64_t writes_fail_closed;
        int64_t lease_max; /* tokens a worker takes at once (1 = none) */
        int64_t lease_ms;  /* a lease older than this goes back */
    } ratelimit;

    /* Secrets, read from the files named above by gw_config_load_secrets. */
    unsigned char token_secret[GW_SECRET_BYTES_MAX];
    size_t        token_secret_len;
    unsigned char download_secret[GW_SECRET_BYTES_MAX];
    size_t        download_secret_len;
    unsigned char ticket_secret[GW_SECRET_BYTES_MAX];
    size_t        ticket_secret_len;
    char          mysql_password[256];
    char          redis_password[256];
};

/*
 * Fills cfg from defaults, then the file at path (NULL: defaults only),
 * then the environment. On error writes a one-line reason into err and
 * returns -1. Unknown sections or keys are errors (typos are caught).
 */
int gw_config_load(struct gw_config *cfg, const char *path, char *err,
                   size_t err_len);

/* Reads the secret files named in cfg. -1 with a reason in err. */
int gw_config_load_secrets(struct gw_config *cfg, char *err, size_t err_len);

/* Writes the effective configuration (no secrets) as INI to out. */
void gw_config_dump(const struct gw_config *cfg, FILE *out);

/*
 * Reads a whole small file (at most cap bytes) into buf; returns its
 * length or -1. With strip_newline, one trailing "\n" or "\r\n" is dropped.
 */
long gw_config_read_file(const char *path, void *buf, size_t cap,
                         int strip_newline);

#endif /* GW_CONFIG_H */
