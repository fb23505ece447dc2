/*
 * ctl_notify.c — watching the notification stream, and webhook operations.
 *
 *   vasctl notifications tail [--count N] [--timeout-ms T] [--from ID]
 *   vasctl notifications tail --group G [--consumer C] [--count N]
 *                             [--timeout-ms T] [--min-idle-ms M] [--new]
 *   vasctl webhooks list [--failed] [--limit N]
 *   vasctl webhooks retry EVENT_ID|--all-failed
 *
 * tail watches by default: XREAD from "$" (or --from) with no consumer
 * group, so it takes nothing from the IM's push servers and leaves no
 * group, consumer or pending entry behind. With --group it reads as the
 * push servers do (docs/notifications.md): first XAUTOCLAIM entries a
 * crashed consumer left pending longer than M ms, then XREADGROUP ">";
 * each entry is printed as one JSON line and then XACKed (print first: a
 * crash between the two re-reads the entry, at-least-once). A consumer
 * name made up by tail (no --consumer) is deleted at exit when it holds
 * nothing pending. tail exits after N entries, or after T ms without one.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "ctl.h"
#include "gw_db.h"
#include "gw_redis.h"
#include "gw_status.h"
#include "gw_util.h"
#include "ntf_relay.h"
#include "ntf_wire.h"

#define CTL_TAIL_COUNT_MAX        1000000
#define CTL_TAIL_TIMEOUT_MS       5000
#define CTL_TAIL_MIN_IDLE_MS      30000
#define CTL_TAIL_READ_MAX         100 /* entries per XREAD(GROUP) */
#define CTL_TAIL_CONSUMER_MAX     64
#define CTL_TAIL_ID_MAX           64
#define CTL_WEBHOOKS_LIST_DEFAULT 50
#define CTL_WEBHOOKS_LIST_MAX     10000

static int ctl_notifications_tail(struct ctl *c, int argc, char **argv);
static int ctl_webhooks_list(struct ctl *c, int argc, char **argv);
static int ctl_webhooks_retry(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_tail[] = {
    {"--from", "ID",
     "watching: start after this stream id (default: new entries only)", 0},
    {"--group", "G",
     "consume as this group (created if missing): print, then XACK", 0},
    {"--consumer", "C",
     "with --group: consumer name (default vasctl-PID, removed at exit when"
     " it holds nothing pending)",
     0},
    {"--min-idle-ms", "M",
     "with --group: first claim entries left pending longer than M ms"
     " (default 30000)",
     0},
    {"--new", NULL,
     "with --group: a group created now starts at the end of the stream", 0},
    {"--count", "N", "exit after N entries (1..1000000)", 0},
    {"--timeout-ms", "T", "exit after T ms without a new entry (default 5000)",
     0},
    {0}};

static const struct ctl_option ctl_opts_webhooks_list[] = {
    {"--failed", NULL, "only dead-lettered deliveries", 0},
    {"--limit", "N", "at most N rows (default 50)", 0},
    {0}};

static const struct ctl_option ctl_opts_webhooks_retry[] = {
    {"--all-failed", NULL, "every dead-lettered delivery", 0}, {0}};

const struct ctl_command ctl_notify_commands[] = {
    {"notifications tail", ctl_notifications_tail, "", 0, 0, ctl_opts_tail,
     "watch the notification stream (--group: consume it as the push"
     " servers do)",
     "Without --group it watches: XREAD from the end of the stream (or"
     " --from), no\nconsumer group, nothing acknowledged, nothing left behind"
     " in Redis. With\n--group it reads with XREADGROUP (after XAUTOCLAIM of"
     " stale entries), prints one\nJSON line per entry and XACKs it: that"
     " consumes entries for the group.",
     0},
    {"webhooks list", ctl_webhooks_list, "", 0, 0, ctl_opts_webhooks_list,
     "list webhook deliveries (dead-lettered with --failed)", NULL, 0},
    {"webhooks retry", ctl_webhooks_retry, "[EVENT_ID]", 0, 1,
     ctl_opts_webhooks_retry,
     "re-queue dead-lettered webhook deliveries (one, or --all-failed)", NULL,
     0},
    {0}};

struct ctl_tail {
    struct gw_redis *r;
    const char      *stream;
    const char      *group; /* NULL: watching */
    char             consumer[CTL_TAIL_CONSUMER_MAX];
    char             last_id[CTL_TAIL_ID_MAX]; /* watching: read after */
    int64_t          want;                     /* entries before exiting */
    int64_t          seen;
};

/* A positive integer option in [1, max], or dflt when absent; -1 if bad. */
static int64_t
ctl_notify_opt_i64(int argc, char **argv, const char *name, int64_t dflt,
                   int64_t max)
{
    const char *s = ctl_opt(argc, argv, name);
    int64_t     v;

    if (s == NULL) {
        return dflt;
    }
    if (gw_parse_i64(s, strlen(s), &v) != 0 || v < 1 || v > max) {
        fprintf(stderr, "vasctl: %s wants an integer from 1 to %lld\n", name,
                (long long) max);
        return -1;
    }
    return v;
}

/* Prints one stream entry [id, [field, value, …]] as a JSON line. */
static void
ctl_tail_print(const redisReply *e)
{
    cJSON      *o = cJSON_CreateObject(), *payload = NULL;
    const char *name, *text;
    char       *line;
    size_t      i;

    if (o == NULL) {
        return;
    }
    cJSON_AddStringToObject(o, "stream_id", e->element[0]->str);
    for (i = 0; i + 1 < e->element[1]->elements; i += 2) {
        name = e->element[1]->element[i]->str;
        text = e->element[1]->element[i + 1]->str;
        if (strcmp(name, "payload") == 0
            && (payload = cJSON_Parse(text)) != NULL) {
            cJSON_AddItemToObject(o, name, payload);
        } else {
            cJSON_AddStringToObject(o, name, text);
        }
    }
    line = cJSON_PrintUnformatted(o);
    if (line != NULL) {
        printf("%s\n", line);
        cJSON_free(line);
    }
    cJSON_Delete(o);
}

/* Prints (and, in a group, acknowledges) entries: an array of [id, fields]. */
static int
ctl_tail_entries(struct ctl_tail *t, const redisReply *entries)
{
    redisReply *rep;
    size_t      i;
    int         rc;

    for (i = 0; i < entries->elements && t->seen < t->want; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
            || e->element[0]->type != REDIS_REPLY_STRING) {
            continue;
        }
        snprintf(t->last_id, sizeof(t->last_id), "%s", e->element[0]->str);
        if (e->element[1]->type != REDIS_REPLY_ARRAY) {
            continue; /* deleted entry (trimmed): nothing to show */
        }
        ctl_tail_print(e);
        fflush(stdout);
        t->seen++;
        if (t->group == NULL) {
            continue;
        }
        rc = gw_redis_cmd(t->r, NULL, &rep, "XACK %s %s %s", t->stream,
                          t->group, e->element[0]->str);
        if (rep != NULL) {
            freeReplyObject(rep);
        }
        if (rc != GW_OK) {
            return rc;
        }
    }
    return GW_OK;
}

/* Takes over entries pending longer than min_idle_ms (crashed consumers). */
static int
ctl_tail_autoclaim(struct ctl_tail *t, int64_t min_idle_ms)
{
    redisReply *rep;
    char        start[CTL_TAIL_ID_MAX] = "0-0";
    int         rc, rounds;

    for (rounds = 0; rounds < CTL_TAIL_COUNT_MAX && t->seen < t->want;
         rounds++) {
        rc = gw_redis_cmd(t->r, NULL, &rep,
                          "XAUTOCLAIM %s %s %s %lld %s COUNT %d", t->stream,
                          t->group, t->consumer, (long long) min_idle_ms, start,
                          CTL_TAIL_READ_MAX);
        if (rc != GW_OK || rep->type != REDIS_REPLY_ARRAY
            || rep->elements < 2) {
            if (rep != NULL) {
                freeReplyObject(rep);
            }
            return rc != GW_OK ? rc : GW_ERROR;
        }
        snprintf(start, sizeof(start), "%s", rep->element[0]->str);
        rc = ctl_tail_entries(t, rep->element[1]);
        freeReplyObject(rep);
        if (rc != GW_OK || strcmp(start, "0-0") == 0) {
            return rc;
        }
    }
    return GW_OK;
}

/* One XREAD or XREADGROUP of up to n entries, blocking up to block_ms. */
static int
ctl_tail_read_once(struct ctl_tail *t, int64_t n, int64_t block_ms,
                   redisReply **rep)
{
    if (t->group == NULL) {
        return gw_redis_cmd(
            t->r, NULL, rep, "XREAD COUNT %lld BLOCK %lld STREAMS %s %s",
            (long long) n, (long long) block_ms, t->stream, t->last_id);
    }
    return gw_redis_cmd(t->r, NULL, rep,
                        "XREADGROUP GROUP %s %s COUNT %lld BLOCK %lld"
                        " STREAMS %s >",
                        t->group, t->consumer, (long long) n,
                        (long long) block_ms, t->stream);
}

/* Reads until want entries or timeout_ms without a new one. */
static int
ctl_tail_read(struct ctl_tail *t, int64_t timeout_ms)
{
    redisReply *rep;
    int64_t     idle_since = gw_mono_us(), block_ms, left_ms, n;
    int         rc = GW_OK;

    block_ms = t->r->cfg->redis.timeout_ms / 2;
    while (t->seen < t->want) {
        left_ms = timeout_ms - (gw_mono_us() - idle_since) / 1000;
        if (left_ms <= 0) {
            return GW_OK;
        }
        n = t->want - t->seen < CTL_TAIL_READ_MAX ? t->want - t->seen
                                                  : CTL_TAIL_READ_MAX;
        rc = ctl_tail_read_once(t, n, left_ms < block_ms ? left_ms : block_ms,
                                &rep);
        if (rc != GW_OK) {
            if (rep != NULL) {
                freeReplyObject(rep);
            }
            return rc;
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0
            && rep->element[0]->elements == 2) {
            rc = ctl_tail_entries(t, rep->element[0]->element[1]);
            idle_since = gw_mono_us();
        }
        freeReplyObject(rep);
        if (rc != GW_OK) {
            return rc;
        }
    }
    return GW_OK;
}

/* The stream's last id now, so "$" means the same thing on every read. */
static int
ctl_tail_start_id(struct ctl_tail *t, const char *from)
{
    redisReply *rep;
    int         rc;

    if (from != NULL) {
        snprintf(t->last_id, sizeof(t->last_id), "%s", from);
        return GW_OK;
    }
    rc = gw_redis_cmd(t->r, NULL, &rep, "XREVRANGE %s + - COUNT 1", t->stream);
    snprintf(t->last_id, sizeof(t->last_id), "0-0");
    if (rc == GW_OK && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1
        && rep->element[0]->type == REDIS_REPLY_ARRAY) {
        snprintf(t->last_id, sizeof(t->last_id), "%s",
                 rep->element[0]->element[0]->str);
    }
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return rc;
}

/* Deletes tail's own made-up consumer if it holds nothing pending. */
static void
ctl_tail_consumer_drop(struct ctl_tail *t)
{
    redisReply *rep;
    int         idle = 0;

    if (gw_redis_cmd(t->r, NULL, &rep, "XPENDING %s %s - + 1 %s", t->stream,
                     t->group, t->consumer)
        == GW_OK) {
        idle = rep->type == REDIS_REPLY_ARRAY && rep->elements == 0;
    }
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    if (idle
        && gw_redis_cmd(t->r, NULL, &rep, "XGROUP DELCONSUMER %s %s %s",
                        t->stream, t->group, t->consumer)
            == GW_OK) {
        freeReplyObject(rep);
    }
}

/* --group: claim what crashed consumers left, then read as the group. */
static int
ctl_tail_group(struct ctl_tail *t, int argc, char **argv, int64_t timeout_ms,
               int64_t min_idle_ms)
{
    const char *consumer = ctl_opt(argc, argv, "--consumer");
    int         rc;

    if (consumer != NULL) {
        snprintf(t->consumer, sizeof(t->consumer), "%s", consumer);
    } else {
        snprintf(t->consumer, sizeof(t->consumer), "vasctl-%ld",
                 (long) getpid());
    }
    rc = ntf_relay_group_ensure(t->r, t->group,
                                ctl_flag(argc, argv, "--new") ? "$" : "0");
    rc = rc == GW_OK ? ctl_tail_autoclaim(t, min_idle_ms) : rc;
    rc = rc == GW_OK ? ctl_tail_read(t, timeout_ms) : rc;
    if (consumer == NULL) {
        ctl_tail_consumer_drop(t);
    }
    return rc;
}

static int
ctl_notifications_tail(struct ctl *c, int argc, char **argv)
{
    struct ctl_tail t;
    int64_t         timeout_ms, min_idle_ms;
    int             rc;

    memset(&t, 0, sizeof(t));
    t.r = &c->t.redis;
    t.stream = c->cfg->redis.notify_stream;
    t.group = ctl_opt(argc, argv, "--group");
    t.want = ctl_notify_opt_i64(argc, argv, "--count", CTL_TAIL_COUNT_MAX,
                                CTL_TAIL_COUNT_MAX);
    timeout_ms = ctl_notify_opt_i64(argc, argv, "--timeout-ms",
                                    CTL_TAIL_TIMEOUT_MS, 3600 * 1000);
    min_idle_ms = ctl_notify_opt_i64(argc, argv, "--min-idle-ms",
                                     CTL_TAIL_MIN_IDLE_MS, 86400 * 1000);
    if (t.want < 0 || timeout_ms < 0 || min_idle_ms < 0) {
        return 2;
    }
    if (t.group == NULL
        && (ctl_opt(argc, argv, "--consumer") != NULL
            || ctl_opt(argc, argv, "--min-idle-ms") != NULL
            || ctl_flag(argc, argv, "--new"))) {
        fprintf(stderr,
                "vasctl: --consumer, --min-idle-ms and --new need"
                " --group (see --help)\n");
        return 2;
    }
    if (t.group != NULL) {
        rc = ctl_tail_group(&t, argc, argv, timeout_ms, min_idle_ms);
    } else {
        rc = ctl_tail_start_id(&t, ctl_opt(argc, argv, "--from"));
        rc = rc == GW_OK ? ctl_tail_read(&t, timeout_ms) : rc;
    }
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: redis %s:%lld: %s\n", c->cfg->redis.host,
                (long long) c->cfg->redis.port, gw_status_code(rc));
        return 1;
    }
    if (t.group != NULL) {
        fprintf(stderr, "%lld notification(s) read as %s in group %s\n",
                (long long) t.seen, t.consumer, t.group);
    } else {
        fprintf(stderr, "%lld notification(s) watched (no group)\n",
                (long long) t.seen);
    }
    return 0;
}

static int
ctl_webhooks_list(struct ctl *c, int argc, char **argv)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int64_t    limit;
    int        failed = ctl_flag(argc, argv, "--failed");

    limit = ctl_notify_opt_i64(argc, argv, "--limit", CTL_WEBHOOKS_LIST_DEFAULT,
                               CTL_WEBHOOKS_LIST_MAX);
    if (limit < 0) {
        return 2;
    }
    if (gw_db_query(&c->t.db, &c->t.arena, &res,
                    "SELECT event_id, provider_id, type, state, attempts,"
                    " COALESCE(last_status, '-'), created_at,"
                    " IF(state = 'pending', next_attempt_at, delivered_at),"
                    " COALESCE(last_error, '') FROM webhook_events"
                    " WHERE (%d = 0 OR state = 'failed')"
                    " ORDER BY created_at DESC, id DESC LIMIT %lld",
                    failed, (long long) limit)
        != GW_OK) {
        fprintf(stderr, "vasctl: cannot read webhook_events\n");
        return 1;
    }
    printf("%-32s %8s %-20s %-9s %8s %6s %-23s %-23s %s\n", "EVENT_ID",
           "PROVIDER", "TYPE", "STATE", "ATTEMPTS", "HTTP", "CREATED_AT",
           "NEXT_OR_DONE_AT", "LAST_ERROR");
    while ((row = mysql_fetch_row(res)) != NULL) {
        printf("%-32s %8s %-20s %-9s %8s %6s %-23s %-23s %s\n", row[0], row[1],
               row[2], row[3], row[4], row[5], row[6], row[7] ? row[7] : "-",
               row[8]);
    }
    return 0;
}

static int
ctl_webhooks_retry(struct ctl *c, int argc, char **argv)
{
    int all = ctl_flag(argc, argv, "--all-failed");
    int rc;

    if (!all && (argc < 1 || !ntf_id_valid(argv[0]))) {
        fprintf(stderr, "vasctl: want an EVENT_ID (32 hex) or --all-failed\n");
        return 2;
    }
    rc = gw_db_exec(&c->t.db,
                    "UPDATE webhook_events SET state = 'pending',"
                    " attempts = 0, next_attempt_at = UTC_TIMESTAMP(3),"
                    " last_error = NULL WHERE state = 'failed'"
                    " AND (%d OR event_id = %s)",
                    all, all ? "" : argv[0]);
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: cannot update webhook_events\n");
        return 1;
    }
    printf("%lld webhook event(s) re-queued\n", (long long) c->t.db.affected);
    return !all && c->t.db.affected == 0 ? 1 : 0;
}
