/*
 * svc_notify.h — notifications to the IM (docs/notifications.md is the
 * contract for the push servers): the stream entry format, the per-user
 * capped inbox in Redis, GET /v1/notifications, and direct (non-money)
 * notifications. The relay role that copies outbox rows to Redis lives in
 * svc_relay.c, webhooks to content providers in svc_webhook.c.
 *
 * Redis keys (namespaced, hash-tagged by user for Redis Cluster):
 *   cfg->redis.notify_stream    the stream (default "vas:notify")
 *   vas:inbox:{<user>}          the user's inbox: a sorted set whose members
 *                               are the item JSON texts, all with score 0,
 *                               so they sort by the notification id they
 *                               start with (ids sort by creation time).
 *
 * Thread-safety: functions use only the caller's connections.
 */
#ifndef SVC_NOTIFY_H
#define SVC_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "gw_util.h"

struct gw_redis;
struct gw_request;
struct gw_thread;

#define SVC_NOTIFY_GROUP         "im-push" /* consumer group of the IM */
#define SVC_NOTIFY_STREAM_MAXLEN 1000000   /* XADD MAXLEN ~ (entries) */
#define SVC_NOTIFY_INBOX_PREFIX  "vas:inbox:"
#define SVC_NOTIFY_INBOX_KEY_MAX (sizeof(SVC_NOTIFY_INBOX_PREFIX) + 64 + 2)
#define SVC_NOTIFY_TYPE_MAX      64
#define SVC_NOTIFY_PAYLOAD_MAX   (64 * 1024) /* bytes of payload JSON */
#define SVC_NOTIFY_LIMIT_DEFAULT 20
#define SVC_NOTIFY_LIMIT_MAX     100
#define SVC_NOTIFY_CMDS_PER_ITEM 3 /* XADD, ZADD, ZREMRANGE */

/* One notification as written to the stream and the inbox. */
struct svc_notify_item {
    const char *id;         /* GW_NOTIF_ID_LEN hex chars */
    const char *user;       /* IM user id */
    const char *type;       /* "purchase.completed"… */
    const char *payload;    /* JSON object text */
    int64_t     created_ms; /* Unix time, milliseconds */
};

/* GET /v1/notifications (USER): the caller's inbox, newest first. */
int svc_notify_inbox(struct gw_request *r);

/* Relay role body (svc_relay.c; runs in its own process under the master). */
int svc_relay_run(struct gw_thread *t);

/* Registers the relay's metrics and initialises libcurl; before fork. */
int svc_notify_init(void);

/*
 * Sends a non-money notification (lobby events) straight to Redis: the same
 * stream entry and inbox entry as the relay writes, with a fresh id from
 * gw_outbox_id_new() copied to id_out when not NULL. GW_OK, GW_EINVAL (bad
 * user/type/payload), GW_EUNAVAIL (Redis down: the event is lost — use the
 * outbox for anything that must not be), GW_ERROR.
 */
int svc_notify_direct(struct gw_redis *r, const char *user, const char *type,
                      const char *payload_json, char *id_out);

/*
 * Appends the SVC_NOTIFY_CMDS_PER_ITEM pipelined commands of one item on
 * r->ctx (connected): XADD to the stream, ZADD to the inbox, trim of the
 * inbox to inbox_max. item_json is svc_notify_item_json()'s text. 0 or -1.
 */
int svc_notify_append(struct gw_redis *r, const struct svc_notify_item *it,
                      const char *item_json, size_t item_len);

/*
 * The inbox item text {"id","type","created_at","data"} of it into out
 * (appended). data is the payload verbatim. 0 or -1 (out of memory).
 */
int svc_notify_item_json(const struct svc_notify_item *it, struct gw_buf *out);

/* "vas:inbox:{<user>}" into out[cap]; -1 when it does not fit. */
int svc_notify_inbox_key(const char *user, char *out, size_t cap);

/* 1 when s is a well-formed notification id (32 lower-case hex). */
int svc_notify_id_valid(const char *s);

/*
 * Parses the query of GET /v1/notifications: after (NULL or an id) and
 * limit (NULL or 1..SVC_NOTIFY_LIMIT_MAX). GW_OK or GW_EINVAL with a static
 * reason in *why.
 */
int svc_notify_parse_page(const char *after, const char *limit_s,
                          int64_t *limit, const char **why);

#endif /* SVC_NOTIFY_H */
