/*
 * ntf_wire.c — the notification format shared by the relay, direct sends
 * and the inbox.
 *
 * Why a sorted set for the inbox: with every score 0 Redis orders members
 * by bytes, and each member starts with {"id":"<id>" where ids begin with
 * 12 hex digits of milliseconds, so the set is in creation order; ZADD of
 * the same member again (an at-least-once re-delivery) is a no-op, so the
 * inbox de-duplicates itself; paging by id is a ZRANGEBYLEX bound, stable
 * while new items arrive. The delivery log beside it (ntf_wire.h) answers
 * "since", which must follow delivery order.
 *
 * Why no Lua on the write path: an inbox script (dedup + sequence score)
 * measured ~110 us a call in Redis against ~8 us for an XADD, and held the
 * relay to ~5k notifications/s on a loaded machine; four plain pipelined
 * writes (and two EXPIREs, ~1 us each) keep Redis work per notification
 * near four XADDs. The log is a
 * stream, so Redis numbers deliveries itself; the since-read skips
 * re-delivered ids instead of the write refusing them.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/sha.h>

#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_redis.h"
#include "gw_status.h"
#include "ntf_wire.h"

/*
 * KEYS inbox, log (a stream of {id}); ARGV since id ("" = from the
 * oldest), count. Walks the log in delivery order: ids up to and including
 * the since id were delivered before it (the caller has seen them), so a
 * later copy of one (an at-least-once re-delivery) is skipped, as is a
 * second copy after it.
 */
static const char ntf_script_since[] =
    "local log = redis.call('XRANGE', KEYS[2], '-', '+')\n"
    "local seen, out, start = {}, {}, 1\n"
    "if ARGV[1] ~= '' then\n"
    "  for i = 1, #log do\n"
    "    local id = log[i][2][2]\n"
    "    seen[id] = true\n"
    "    if id == ARGV[1] then start = i + 1 break end\n"
    "  end\n"
    "  if start == 1 then seen = {} end\n"
    "end\n"
    "local n = tonumber(ARGV[2])\n"
    "for i = start, #log do\n"
    "  local id = log[i][2][2]\n"
    "  if not seen[id] then\n"
    "    seen[id] = true\n"
    "    local p = '{\"id\":\"' .. id .. '\"'\n"
    "    local m = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. p, '(' .. p .."
    " '-', 'LIMIT', 0, 1)\n"
    "    if m[1] then\n"
    "      out[#out + 1] = m[1]\n"
    "      if #out >= n then break end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

static char ntf_sha_since[NTF_SHA_LEN + 1];
static int  ntf_wire_m_direct = -1;

static void
ntf_script_sha(const char *text, char *out)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    SHA1((const unsigned char *) text, strlen(text), md);
    gw_hex_encode(md, sizeof(md), out);
}

int
ntf_wire_init(void)
{
    ntf_script_sha(ntf_script_since, ntf_sha_since);
    ntf_wire_m_direct = gw_metrics_register(
        "vasgw_notify_direct_total", "Non-money notifications sent directly",
        GW_METRIC_COUNTER);
    return ntf_wire_m_direct < 0 ? -1 : 0;
}

const char *
ntf_script_since_sha(void)
{
    return ntf_sha_since;
}

int
ntf_scripts_load(struct gw_redis *r)
{
    redisReply *rep;
    int         rc;

    rc = gw_redis_cmd(r, NULL, &rep, "SCRIPT LOAD %s", ntf_script_since);
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return rc;
}

int
ntf_id_valid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != NTF_ID_LEN) {
        return 0;
    }
    for (i = 0; i < NTF_ID_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* One user's keys share its hash tag (gw_tagged_key). */
static int
ntf_user_key(const char *prefix, const char *user, char *out, size_t cap)
{
    size_t u = strlen(user);

    if (u == 0 || u > GW_USER_ID_MAX) {
        return -1;
    }
    return gw_tagged_key(out, cap, prefix, user, "");
}

int
ntf_inbox_key(const char *user, char *out, size_t cap)
{
    return ntf_user_key(NTF_INBOX_PREFIX, user, out, cap);
}

int
ntf_seq_key(const char *user, char *out, size_t cap)
{
    return ntf_user_key(NTF_SEQ_PREFIX, user, out, cap);
}

int
ntf_item_json(const struct ntf_item *it, struct gw_buf *out)
{
    char ts[32];

    gw_time_rfc3339_ms(it->created_ms, ts, sizeof(ts));
    if (gw_buf_appends(out, NTF_ITEM_PREFIX) != 0
        || gw_buf_appends(out, it->id) != 0
        || gw_buf_appends(out, "\",\"type\":") != 0
        || gw_buf_append_json_str(out, it->type) != 0
        || gw_buf_appends(out, ",\"created_at\":\"") != 0
        || gw_buf_appends(out, ts) != 0
        || gw_buf_appends(out, "\",\"data\":") != 0
        || gw_buf_appends(out, it->payload) != 0
        || gw_buf_appends(out, "}") != 0) {
        return -1;
    }
    return 0;
}

/*
 * The numbers every append sends (stream length, inbox trim rank, log
 * length, TTL) as text: the same for every item of a thread until the
 * configuration changes, so printed once, not four times per item.
 */
struct ntf_nums {
    long long v[4];
    char      s[4][24];
    size_t    len[4];
};

static const struct ntf_nums *
ntf_nums_get(const struct gw_config *cfg)
{
    static _Thread_local struct ntf_nums n;
    static _Thread_local int             set;
    long long v[4] = {(long long) cfg->redis.stream_maxlen,
                      -(long long) cfg->redis.inbox_max - 1,
                      (long long) cfg->redis.inbox_max,
                      (long long) cfg->redis.inbox_ttl_s};
    int       i;

    if (!set || memcmp(v, n.v, sizeof(v)) != 0) {
        for (i = 0; i < 4; i++) {
            n.v[i] = v[i];
            snprintf(n.s[i], sizeof(n.s[i]), "%lld", v[i]);
            n.len[i] = strlen(n.s[i]);
        }
        set = 1;
    }
    return &n;
}

int
ntf_append(struct gw_redis *r, const struct ntf_item *it, const char *item_json,
           size_t item_len)
{
    char                   key[NTF_INBOX_KEY_MAX], log[NTF_INBOX_KEY_MAX];
    char                   ts[32];
    const struct ntf_nums *nums = ntf_nums_get(r->cfg);
    const char            *xadd[16], *zadd[4], *trim[4], *lg[8], *ex[3];
    size_t                 xlen[16], zlen[4], tlen[4], llen[8], exlen[3];
    size_t                 klen, loglen, idlen, ulen;

    if (ntf_inbox_key(it->user, key, sizeof(key)) != 0
        || ntf_seq_key(it->user, log, sizeof(log)) != 0) {
        return -1;
    }
    gw_time_rfc3339_ms(it->created_ms, ts, sizeof(ts));
    klen = strlen(key), loglen = strlen(log);
    idlen = strlen(it->id), ulen = strlen(it->user);
    xadd[0] = "XADD", xlen[0] = 4;
    xadd[1] = r->cfg->redis.notify_stream, xlen[1] = strlen(xadd[1]);
    xadd[2] = "MAXLEN", xlen[2] = 6, xadd[3] = "~", xlen[3] = 1;
    xadd[4] = nums->s[0], xlen[4] = nums->len[0];
    xadd[5] = "*", xlen[5] = 1, xadd[6] = "id", xlen[6] = 2;
    xadd[7] = it->id, xlen[7] = idlen, xadd[8] = "user", xlen[8] = 4;
    xadd[9] = it->user, xlen[9] = ulen, xadd[10] = "type", xlen[10] = 4;
    xadd[11] = it->type, xlen[11] = strlen(it->type);
    xadd[12] = "payload", xlen[12] = 7;
    xadd[13] = it->payload, xlen[13] = strlen(it->payload);
    xadd[14] = "created_at", xlen[14] = 10, xadd[15] = ts;
    xlen[15] = strlen(ts);
    zadd[0] = "ZADD", zadd[1] = key, zadd[2] = "0", zadd[3] = item_json;
    zlen[0] = 4, zlen[1] = klen, zlen[2] = 1, zlen[3] = item_len;
    trim[0] = "ZREMRANGEBYRANK", trim[1] = key, trim[2] = "0";
    trim[3] = nums->s[1];
    tlen[0] = 15, tlen[1] = klen, tlen[2] = 1, tlen[3] = nums->len[1];
    lg[0] = "XADD", lg[1] = log, lg[2] = "MAXLEN", lg[3] = "~";
    lg[4] = nums->s[2], lg[5] = "*", lg[6] = "id", lg[7] = it->id;
    llen[0] = 4, llen[1] = loglen, llen[2] = 6, llen[3] = 1;
    llen[4] = nums->len[2], llen[5] = 1, llen[6] = 2, llen[7] = idlen;
    ex[0] = "EXPIRE", ex[2] = nums->s[3];
    exlen[0] = 6, exlen[2] = nums->len[3];
    if (gw_redis_append_argv(r->ctx, 16, xadd, xlen) != REDIS_OK
        || gw_redis_append_argv(r->ctx, 4, zadd, zlen) != REDIS_OK
        || gw_redis_append_argv(r->ctx, 4, trim, tlen) != REDIS_OK
        || gw_redis_append_argv(r->ctx, 8, lg, llen) != REDIS_OK) {
        return -1;
    }
    /* The TTL of both inbox keys starts again with each append. */
    ex[1] = key, exlen[1] = klen;
    if (gw_redis_append_argv(r->ctx, 3, ex, exlen) != REDIS_OK) {
        return -1;
    }
    ex[1] = log, exlen[1] = loglen;
    if (gw_redis_append_argv(r->ctx, 3, ex, exlen) != REDIS_OK) {
        return -1;
    }
    return 0;
}

int
ntf_append_read(struct gw_redis *r, const char *id)
{
    redisReply *rep;
    int         k, got, rc = GW_OK;

    for (k = 0; k < NTF_CMDS_PER_ITEM; k++) {
        got = gw_redis_pipeline_get(r, &rep);
        if (got == GW_EUNAVAIL) {
            return got;
        }
        if (got != GW_OK) {
            gw_log_error(r->rid, "notification %s: redis: %s", id,
                         rep != NULL && rep->str != NULL ? rep->str : "?");
            rc = rc == GW_OK ? GW_ERROR : rc;
        }
        if (rep != NULL) {
            freeReplyObject(rep);
        }
    }
    return rc;
}

/* A JSON object text of at most NTF_PAYLOAD_MAX bytes. */
static int
ntf_payload_valid(const char *s)
{
    cJSON *j;
    int    ok;

    if (s == NULL || s[0] != '{' || strlen(s) > NTF_PAYLOAD_MAX) {
        return 0;
    }
    j = cJSON_Parse(s);
    ok = j != NULL && cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

int
ntf_send(struct gw_redis *r, const char *user, const char *type,
         const char *payload_json, char *id_out)
{
    struct ntf_item it;
    struct gw_buf   item = {0};
    char            id[NTF_ID_LEN + 1];
    int             rc = GW_EINVAL, attempt, stale;

    if (user == NULL || *user == '\0' || strlen(user) > GW_USER_ID_MAX
        || type == NULL || *type == '\0' || strlen(type) > NTF_TYPE_MAX
        || !ntf_payload_valid(payload_json)) {
        goto fail;
    }
    gw_outbox_id_new(id);
    it.id = id, it.user = user, it.type = type, it.payload = payload_json;
    it.created_ms = gw_now_ms();
    rc = GW_ERROR;
    if (ntf_item_json(&it, &item) != 0) {
        goto fail;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        /* A connection that predates a Redis restart fails once: one more
         * try on a fresh one (the inbox ignores a repeated id). */
        stale = r->ctx != NULL;
        rc = gw_redis_connect(r);
        if (rc != GW_OK) {
            goto fail;
        }
        if (ntf_append(r, &it, item.data, item.len) != 0) {
            rc = GW_ERROR;
            goto fail;
        }
        rc = ntf_append_read(r, id);
        if (!(rc == GW_EUNAVAIL && stale)) {
            break;
        }
    }
    if (rc == GW_OK) {
        gw_metrics_add(ntf_wire_m_direct, 1);
        if (id_out != NULL) {
            memcpy(id_out, id, sizeof(id));
        }
    }
fail:
    gw_buf_free(&item);
    return rc;
}
