/*
 * ntf_wire.h — the notification wire format: the leaf of notify/ that the
 * relay, webhooks, inbox reads and lobbies all use (docs/notifications.md
 * is the contract for the IM's push servers).
 *
 * One notification = one stream entry + one inbox member + its place in
 * the inbox's delivery log:
 *   cfg->redis.notify_stream   XADD MAXLEN ~ cfg->redis.stream_maxlen * with
 *                              fields id, user, type, payload, created_at;
 *                              the IM reads it with consumer group NTF_GROUP.
 *   vas:inbox:{<user>}         sorted set, every score 0, members are the
 *                              item JSON {"id","type","created_at","data"}
 *                              starting with the id, so they sort by id (ids
 *                              begin with 12 hex digits of milliseconds);
 *                              trimmed to cfg->redis.inbox_max members.
 *                              EXPIRE cfg->redis.inbox_ttl_s on each append
 *                              (both inbox keys): an idle inbox leaves Redis.
 *   vas:inboxlog:{<user>}      the inbox's delivery log: a stream of
 *                              entries {id}, XADD MAXLEN ~ inbox_max, so
 *                              Redis numbers deliveries in order. "What is
 *                              new since id X" must follow delivery order,
 *                              which creation-ordered ids do not (a
 *                              transaction that commits late; a lobby event
 *                              sent directly while an older purchase waits
 *                              in the outbox). A re-delivered id appears
 *                              twice in the log; the since-read skips it.
 * Both inbox keys share the {user} hash slot (Redis Cluster); ZADD of the
 * same member again is a no-op, so re-deliveries do not grow the inbox.
 * Ids: 32 lower-case hex (gw_outbox_id_new); consumers de-duplicate on them.
 *
 * Non-money events (lobby.*) are sent straight to Redis with ntf_send();
 * anything that involves money goes through the MariaDB outbox
 * (gw_outbox_add inside the money transaction) and the relay.
 *
 * Thread-safety: functions use only the caller's connection and buffers
 * (ntf_wire_init runs once, before threads start).
 * Errors: GW_OK, GW_EINVAL (bad input), GW_EUNAVAIL (Redis down),
 * GW_ERROR (Redis refused, out of memory).
 */
#ifndef NTF_WIRE_H
#define NTF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_outbox.h"
#include "gw_util.h"

struct gw_redis;

#define NTF_GROUP         "im-push" /* consumer group of the IM */
#define NTF_INBOX_PREFIX  "vas:inbox:"
#define NTF_SEQ_PREFIX    "vas:inboxlog:"
#define NTF_INBOX_KEY_MAX (sizeof(NTF_SEQ_PREFIX) + GW_USER_ID_MAX + 2)
#define NTF_ID_LEN        GW_NOTIF_ID_LEN
#define NTF_TYPE_MAX      64
#define NTF_PAYLOAD_MAX   (64 * 1024) /* bytes of payload JSON */
/* XADD, ZADD, ZREMRANGEBYRANK, XADD (log), EXPIRE inbox, EXPIRE log */
#define NTF_CMDS_PER_ITEM 6
#define NTF_ITEM_PREFIX   "{\"id\":\"" /* every inbox member starts so */
#define NTF_SHA_LEN       40           /* SHA1 hex of a script */

/* One notification as written to the stream and the inbox (borrowed). */
struct ntf_item {
    const char *id;         /* NTF_ID_LEN hex chars */
    const char *user;       /* IM user id */
    const char *type;       /* "purchase.completed", "lobby.invited"… */
    const char *payload;    /* JSON object text */
    int64_t     created_ms; /* Unix time, milliseconds */
};

/* Script id and vasgw_notify_direct_total; once, before gw_metrics_init. */
int ntf_wire_init(void);

/* 1 when s is a well-formed notification id (32 lower-case hex). */
int ntf_id_valid(const char *s);

/* "vas:inbox:{<user>}" into out[cap]; -1 when user is empty or too long. */
int ntf_inbox_key(const char *user, char *out, size_t cap);

/* "vas:inboxlog:{<user>}" (the delivery log) into out[cap]; 0 or -1. */
int ntf_seq_key(const char *user, char *out, size_t cap);

/*
 * SCRIPT LOAD of the since-read script on r (after a NOSCRIPT: Redis
 * restarted or its script cache was flushed).
 */
int ntf_scripts_load(struct gw_redis *r);

/*
 * The since-read script's SHA1 hex (KEYS inbox, log; ARGV since id or "",
 * count): the inbox members delivered after that id, oldest first (all of
 * them from the oldest kept when the id is not in the log).
 */
const char *ntf_script_since_sha(void);

/*
 * The inbox item text {"id","type","created_at","data"} of it, appended to
 * out. data is the payload verbatim. 0 or -1 (out of memory).
 */
int ntf_item_json(const struct ntf_item *it, struct gw_buf *out);

/*
 * Appends the NTF_CMDS_PER_ITEM pipelined commands of one item on r->ctx
 * (connected by the caller): XADD to the stream, ZADD of item_json (the
 * ntf_item_json text) to the inbox, its trim, XADD to the delivery log,
 * EXPIRE of the inbox and of the log (redis.inbox_ttl_s). 0 or -1.
 */
int ntf_append(struct gw_redis *r, const struct ntf_item *it,
               const char *item_json, size_t item_len);

/*
 * Reads the NTF_CMDS_PER_ITEM replies of one ntf_append. GW_OK, GW_ERROR
 * (Redis refused a command, e.g. OOM under noeviction: send it again
 * later), GW_EUNAVAIL (connection lost: the rest of the pipeline is gone).
 */
int ntf_append_read(struct gw_redis *r, const char *id);

/*
 * Sends one non-money notification now (lobby events): the same stream
 * entry and inbox member as the relay writes, with a fresh id copied to
 * id_out[NTF_ID_LEN + 1] when not NULL. GW_EINVAL for a bad user, type
 * (1..NTF_TYPE_MAX bytes) or payload (a JSON object text up to
 * NTF_PAYLOAD_MAX); GW_EUNAVAIL: Redis down and the event is lost (use the
 * outbox for anything that must not be).
 */
int ntf_send(struct gw_redis *r, const char *user, const char *type,
             const char *payload_json, char *id_out);

#endif /* NTF_WIRE_H */
