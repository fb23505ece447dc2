/*
 * gw_config.c — the key table and the inih callback.
 *
 * Each key is one row: section, name, type, offset in struct gw_config,
 * default and range. Parsing, environment overrides and dumping all walk
 * the same table, so a key cannot be documented in one place and missed
 * in another.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "gw_config.h"
#include "gw_util.h"

enum gw_config_type { GW_CFG_INT, GW_CFG_STR };

struct gw_config_key {
    const char         *section;
    const char         *name;
    enum gw_config_type type;
    size_t              offset;
    size_t              size; /* GW_CFG_STR: buffer size */
    const char         *def;
    int64_t             min, max; /* GW_CFG_INT */
};

#define S(sec, key, field, def)                                                \
    {                                                                          \
        sec, key, GW_CFG_STR, offsetof(struct gw_config, field),               \
            sizeof(((struct gw_config *) 0)->field), def, 0, 0                 \
    }
#define I(sec, key, field, def, lo, hi)                                        \
    {                                                                          \
        sec, key, GW_CFG_INT, offsetof(struct gw_config, field), 0, def, lo,   \
            hi                                                                 \
    }

static const struct gw_config_key gw_config_keys[] = {
    S("server", "socket", server.socket, "/run/vasgw/vasgw.sock"),
    S("server", "socket_mode", server.socket_mode, "0600"),
    I("server", "backlog", server.backlog, "1024", 1, 65535),
    I("server", "workers", server.workers, "2", 1, GW_WORKERS_MAX),
    I("server", "threads", server.threads, "64", 1, GW_THREADS_MAX),
    I("server", "max_requests", server.max_requests, "200000", 0, INT64_MAX),
    I("server", "drain_timeout_s", server.drain_timeout_s, "10", 1, 3600),
    S("server", "pid_file", server.pid_file, "/run/vasgw/vasgw.pid"),
    S("server", "log_file", server.log_file, "-"),
    S("server", "metrics_trusted", server.metrics_trusted, "127.0.0.1 ::1"),
    I("server", "relay", server.relay, "1", 0, 1),
    I("server", "janitor", server.janitor, "1", 0, 1),
    I("server", "debug_routes", server.debug_routes, "0", 0, 1),
    I("server", "slow_request_ms", server.slow_request_ms, "1000", 0, 3600000),
    S("server", "slowlog_file", server.slowlog_file, ""),

    I("limits", "body_max_bytes", limits.body_max_bytes, "65536", 1,
      GW_BODY_BYTES_MAX),
    I("limits", "json_depth_max", limits.json_depth_max, "32", 1,
      GW_JSON_DEPTH_MAX),

    S("mysql", "socket", mysql.socket, "/run/mysqld/mysqld.sock"),
    S("mysql", "host", mysql.host, "127.0.0.1"),
    I("mysql", "port", mysql.port, "3306", 1, 65535),
    S("mysql", "database", mysql.database, "vas"),
    S("mysql", "user", mysql.user, "vas"),
    S("mysql", "password_file", mysql.password_file,
      "/etc/vasgw/secrets/mysql_password"),
    I("mysql", "connect_timeout_ms", mysql.connect_timeout_ms, "2000", 1,
      600000),
    I("mysql", "read_timeout_ms", mysql.read_timeout_ms, "5000", 1000, 600000),
    I("mysql", "write_timeout_ms", mysql.write_timeout_ms, "5000", 1000,
      600000),
    S("mysql", "migrations_dir", mysql.migrations_dir,
      "/usr/share/vasgw/migrations"),

    S("redis", "host", redis.host, "127.0.0.1"),
    I("redis", "port", redis.port, "6379", 1, 65535),
    I("redis", "connect_timeout_ms", redis.connect_timeout_ms, "500", 1,
      600000),
    I("redis", "timeout_ms", redis.timeout_ms, "1000", 1, 600000),
    S("redis", "notify_stream", redis.notify_stream, "vas:notify"),
    I("redis", "inbox_max", redis.inbox_max, "200", 1, 100000),
    I("redis", "inbox_ttl_s", redis.inbox_ttl_s, "2592000", 60, 315360000),
    I("redis", "stream_maxlen", redis.stream_maxlen, "500000", 1000, 100000000),
    S("redis", "user", redis.user, ""),
    S("redis", "password_file", redis.password_file, ""),

    S("auth", "token_secret_file", auth.token_secret_file,
      "/etc/vasgw/secrets/token_secret"),
    I("auth", "clock_skew_s", auth.clock_skew_s, "60", 0, 3600),

    S("billing", "currency", billing.currency, "CNY"),
    I("billing", "day_offset_min", billing.day_offset_min, "480", -720, 840),
    I("billing", "low_balance_minor", billing.low_balance_minor, "500", 0,
      INT64_MAX),
    I("billing", "hold_ttl_s", billing.hold_ttl_s, "300", 1, 86400 * 7),

    I("finance", "recon_memory_cdrs", finance.recon_memory_cdrs, "1200000", 1,
      100000000),

    S("downloads", "secret_file", downloads.secret_file,
      "/etc/vasgw/secrets/download_secret"),
    I("downloads", "link_ttl_s", downloads.link_ttl_s, "900", 1, 86400 * 7),
    S("downloads", "content_dir", downloads.content_dir,
      "/var/lib/vasgw/content"),
    S("downloads", "internal_prefix", downloads.internal_prefix,
      "/_protected/"),

    I("relay", "batch", relay.batch, "2000", 1, 10000),
    I("relay", "interval_ms", relay.interval_ms, "50", 1, 60000),
    I("relay", "threads", relay.threads, "1", 1, 8),
    I("relay", "webhook_connect_timeout_ms", relay.webhook_connect_timeout_ms,
      "2000", 1, 60000),
    I("relay", "webhook_timeout_ms", relay.webhook_timeout_ms, "5000", 1,
      120000),
    S("relay", "webhook_schedule_s", relay.webhook_schedule_s,
      "10 30 60 300 900 1800 3600 7200 14400 28800 43200"),
    S("relay", "webhook_allow_nets", relay.webhook_allow_nets, ""),

    I("janitor", "interval_ms", janitor.interval_ms, "1000", 10, 3600000),
    I("janitor", "lobby_idle_s", janitor.lobby_idle_s, "300", 1, 86400),

    I("lobby", "closed_ttl_s", lobby.closed_ttl_s, "60", 1, 86400),
    I("lobby", "start_timeout_s", lobby.start_timeout_s, "30", 1, 3600),
    S("lobby", "ticket_secret_file", lobby.ticket_secret_file,
      "/etc/vasgw/secrets/ticket_secret"),
    I("lobby", "ticket_ttl_s", lobby.ticket_ttl_s, "3600", 10, 86400 * 7),
    I("lobby", "allocator_connect_timeout_ms",
      lobby.allocator_connect_timeout_ms, "1000", 1, 60000),
    I("lobby", "allocator_timeout_ms", lobby.allocator_timeout_ms, "3000", 1,
      120000),

    I("catalog", "fragment_cache", catalog.fragment_cache, "1", 0, 1),
    I("catalog", "fragment_cache_mb", catalog.fragment_cache_mb, "64", 1,
      65536),

    I("ratelimit", "enabled", ratelimit.enabled, "1", 0, 1),
    I("ratelimit", "read_per_min", ratelimit.read_per_min, "600", 1,
      1000000000),
    I("ratelimit", "read_burst", ratelimit.read_burst, "120", 1, 1000000000),
    I("ratelimit", "write_per_min", ratelimit.write_per_min, "120", 1,
      1000000000),
    I("ratelimit", "write_burst", ratelimit.write_burst, "30", 1, 1000000000),
    I("ratelimit", "money_per_min", ratelimit.money_per_min, "30", 1,
      1000000000),
    I("ratelimit", "money_burst", ratelimit.money_burst, "10", 1, 1000000000),
    I("ratelimit", "addr_factor", ratelimit.addr_factor, "20", 1, 1000000),
    I("ratelimit", "writes_fail_closed", ratelimit.writes_fail_closed, "0", 0,
      1),
    I("ratelimit", "lease_max", ratelimit.lease_max, "256", 1, 1024),
    I("ratelimit", "lease_ms", ratelimit.lease_ms, "250", 1, 10000),
};

#undef S
#undef I

#define GW_CONFIG_NKEYS (sizeof(gw_config_keys) / sizeof(gw_config_keys[0]))

struct gw_config_parse {
    struct gw_config *cfg;
    char             *err;
    size_t            err_len;
};

static const struct gw_config_key *
gw_config_key_find(const char *section, const char *name)
{
    size_t i;

    for (i = 0; i < GW_CONFIG_NKEYS; i++) {
        if (strcmp(gw_config_keys[i].section, section) == 0
            && strcmp(gw_config_keys[i].name, name) == 0) {
            return &gw_config_keys[i];
        }
    }
    return NULL;
}

static int
gw_config_set(struct gw_config *cfg, const struct gw_config_key *k,
              const char *value, char *err, size_t err_len)
{
    char   *field = (char *) cfg + k->offset;
    int64_t v;
    size_t  len = strlen(value);

    if (k->type == GW_CFG_STR) {
        if (len >= k->size) {
            snprintf(err, err_len, "[%s] %s: value longer than %zu bytes",
                     k->section, k->name, k->size - 1);
            return -1;
        }
        memcpy(field, value, len + 1);
        return 0;
    }
    if (gw_parse_i64(value, len, &v) != 0 || v < k->min || v > k->max) {
        snprintf(err, err_len, "[%s] %s: '%s' is not an integer in %lld..%lld",
                 k->section, k->name, value, (long long) k->min,
                 (long long) k->max);
        return -1;
    }
    memcpy(field, &v, sizeof(v));
    return 0;
}

static int
gw_config_ini_handler(void *user, const char *section, const char *name,
                      const char *value)
{
    struct gw_config_parse     *p = user;
    const struct gw_config_key *k;

    char   scratch[256];
    char  *err = p->err;
    size_t err_len = p->err_len;

    /* inih goes on after an error and reports the first error's line:
     * keep the first reason too, so line and reason match. */
    if (p->err[0] != '\0') {
        err = scratch;
        err_len = sizeof(scratch);
    }
    k = gw_config_key_find(section, name);
    if (k == NULL) {
        snprintf(err, err_len, "unknown key [%s] %s", section, name);
        return 0;
    }
    return gw_config_set(p->cfg, k, value, err, err_len) == 0;
}

/*
 * inih reads lines into INI_MAX_LINE bytes and parses the rest of a longer
 * line as the next line: a long value would be cut silently (or fail with
 * a "syntax" error on the wrong line). Refuse such lines up front.
 */
static int
gw_config_line_lengths(const char *path, char *err, size_t err_len)
{
    FILE  *fp = fopen(path, "r");
    char   line[INI_MAX_LINE + 1];
    size_t len;
    int    lineno = 0, partial = 0;

    if (fp == NULL) {
        return 0; /* ini_parse reports it */
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        len = strlen(line);
        if (!partial) {
            lineno++;
        }
        partial = len > 0 && line[len - 1] != '\n';
        if (len >= INI_MAX_LINE - 1 && (partial || len > INI_MAX_LINE - 1)) {
            snprintf(err, err_len, "%s:%d: line longer than %d bytes", path,
                     lineno, INI_MAX_LINE - 2);
            fclose(fp);
            return -1;
        }
    }
    fclose(fp);
    return 0;
}

static int
gw_config_env(struct gw_config *cfg, char *err, size_t err_len)
{
    char        name[128];
    const char *v;
    size_t      i, j;

    for (i = 0; i < GW_CONFIG_NKEYS; i++) {
        snprintf(name, sizeof(name), "VASGW_%s_%s", gw_config_keys[i].section,
                 gw_config_keys[i].name);
        for (j = 0; name[j]; j++) {
            name[j] = (char) toupper((unsigned char) name[j]);
        }
        v = getenv(name);
        if (v != NULL
            && gw_config_set(cfg, &gw_config_keys[i], v, err, err_len) != 0) {
            size_t n = strlen(err);
            snprintf(err + n, err_len - n, " (from %s)", name);
            return -1;
        }
    }
    return 0;
}

int
gw_config_load(struct gw_config *cfg, const char *path, char *err,
               size_t err_len)
{
    struct gw_config_parse p = {cfg, err, err_len};
    size_t                 i;
    int                    rc;

    memset(cfg, 0, sizeof(*cfg));
    for (i = 0; i < GW_CONFIG_NKEYS; i++) {
        if (gw_config_set(cfg, &gw_config_keys[i], gw_config_keys[i].def, err,
                          err_len)
            != 0) {
            return -1;
        }
    }
    err[0] = '\0';
    if (path != NULL) {
        snprintf(cfg->path, sizeof(cfg->path), "%s", path);
        if (gw_config_line_lengths(path, err, err_len) != 0) {
            return -1;
        }
        rc = ini_parse(path, gw_config_ini_handler, &p);
        if (rc < 0) {
            snprintf(err, err_len, "%s: cannot open", path);
            return -1;
        }
        if (rc > 0) {
            char reason[256];
            snprintf(reason, sizeof(reason), "%s", err[0] ? err : "syntax");
            snprintf(err, err_len, "%s:%d: %s", path, rc, reason);
            return -1;
        }
    }
    if (gw_config_env(cfg, err, err_len) != 0) {
        return -1;
    }
    if (strlen(cfg->billing.currency) != 3) {
        snprintf(err, err_len, "[billing] currency: want a 3-letter code");
        return -1;
    }
    return 0;
}

long
gw_config_read_file(const char *path, void *buf, size_t cap, int strip_newline)
{
    char   *p = buf;
    size_t  len = 0;
    ssize_t n;
    int     fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    for (;;) {
        char extra;

        /* Once cap bytes are in, one more byte means the file is too
         * large: refuse, don't truncate. */
        n = len < cap ? read(fd, p + len, cap - len) : read(fd, &extra, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || len == cap) {
            break;
        }
        len += (size_t) n;
    }
    close(fd);
    if (n != 0) {
        return -1; /* a read error, or more than cap bytes */
    }
    if (strip_newline && len > 0 && p[len - 1] == '\n') {
        len--;
        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
    }
    return (long) len;
}

int
gw_config_load_secrets(struct gw_config *cfg, char *err, size_t err_len)
{
    long n;

    n = gw_config_read_file(cfg->auth.token_secret_file, cfg->token_secret,
                            sizeof(cfg->token_secret), 0);
    if (n < 16) {
        snprintf(err, err_len, "%s: missing, unreadable or under 16 bytes",
                 cfg->auth.token_secret_file);
        return -1;
    }
    cfg->token_secret_len = (size_t) n;

    n = gw_config_read_file(cfg->downloads.secret_file, cfg->download_secret,
                            sizeof(cfg->download_secret), 0);
    if (n < 16) {
        snprintf(err, err_len, "%s: missing, unreadable or under 16 bytes",
                 cfg->downloads.secret_file);
        return -1;
    }
    cfg->download_secret_len = (size_t) n;

    n = gw_config_read_file(cfg->lobby.ticket_secret_file, cfg->ticket_secret,
                            sizeof(cfg->ticket_secret), 0);
    if (n < 16) {
        snprintf(err, err_len, "%s: missing, unreadable or under 16 bytes",
                 cfg->lobby.ticket_secret_file);
        return -1;
    }
    cfg->ticket_secret_len = (size_t) n;

    n = gw_config_read_file(cfg->mysql.password_file, cfg->mysql_password,
                            sizeof(cfg->mysql_password) - 1, 1);
    if (n < 0) {
        snprintf(err, err_len, "%s: missing or unreadable",
                 cfg->mysql.password_file);
        return -1;
    }
    cfg->mysql_password[n] = '\0';

    cfg->redis_password[0] = '\0';
    if (cfg->redis.password_file[0] != '\0') {
        n = gw_config_read_file(cfg->redis.password_file, cfg->redis_password,
                                sizeof(cfg->redis_password) - 1, 1);
        if (n < 1) {
            snprintf(err, err_len, "%s: missing, unreadable or empty",
                     cfg->redis.password_file);
            return -1;
        }
        cfg->redis_password[n] = '\0';
    }
    return 0;
}

void
gw_config_dump(const struct gw_config *cfg, FILE *out)
{
    const char *section = "";
    size_t      i;

    for (i = 0; i < GW_CONFIG_NKEYS; i++) {
        const struct gw_config_key *k = &gw_config_keys[i];
        const char                 *field = (const char *) cfg + k->offset;

        if (strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
            section = k->section;
        }
        if (k->type == GW_CFG_STR) {
            fprintf(out, "%s = %s\n", k->name, field);
        } else {
            int64_t v;
            memcpy(&v, field, sizeof(v));
            fprintf(out, "%s = %lld\n", k->name, (long long) v);
        }
    }
}
