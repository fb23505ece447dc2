/*
 * lob_list.c — the lobby as JSON, the public listing of a game and quick
 * match, and input validation.
 *
 * The listing lives in the GAME's slot (vas:lobbies:{g<game>}), not the
 * lobby's, so it cannot be updated inside a lobby script. It is a hint
 * refreshed after each transition (and at most every lobby_idle_s / 2 on
 * reads) with the rendered lobby and an expiry no later than the lobby's
 * own; listing and put drop expired entries, and joining a listed lobby
 * goes through the lobby's script, which is the authority.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"
#include "lob_internal.h"

int
lob_init(void)
{
    return lob_script_init();
}

int
lob_id_valid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != LOB_ID_LEN) {
        return 0;
    }
    for (i = 0; i < LOB_ID_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

int
lob_text_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0, len;

    while (i < n) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 0; /* NUL and control characters */
        }
        len = gw_utf8_seq_len(p + i, n - i); /* the one UTF-8 checker */
        if (len == 0) {
            return 0;
        }
        i += len;
    }
    return 1;
}

int
lob_user_valid(const char *s)
{
    /* The one IM user id rule (gw_util.h): the id a JWT sub may have. */
    return s != NULL && gw_user_id_valid(s, strlen(s));
}

static int
lob_json_time(struct gw_buf *out, const char *name, int64_t ms)
{
    char ts[32];

    if (ms <= 0) {
        return gw_buf_printf(out, ",\"%s\":null", name);
    }
    gw_time_rfc3339_ms(ms, ts, sizeof(ts));
    return gw_buf_printf(out, ",\"%s\":\"%s\"", name, ts);
}

static int
lob_json_members(const struct lob_lobby *l, struct gw_buf *out)
{
    char   ts[32];
    size_t i;

    if (gw_buf_appends(out, ",\"members\":[") != 0) {
        return -1;
    }
    for (i = 0; i < l->nmembers; i++) {
        gw_time_rfc3339_ms(l->members[i].joined_ms, ts, sizeof(ts));
        if (gw_buf_appends(out, i ? ",{\"user_id\":" : "{\"user_id\":") != 0
            || gw_buf_append_json_str(out, l->members[i].user_id) != 0
            || gw_buf_printf(out, ",\"ready\":%s,\"joined_at\":\"%s\"}",
                             l->members[i].ready ? "true" : "false", ts)
                != 0) {
            return -1;
        }
    }
    return gw_buf_appends(out, "]");
}

int
lob_json(const struct gw_config *cfg, const struct lob_lobby *l,
         struct gw_buf *out)
{
    int closed = l->state == NULL || strcmp(l->state, "closed") == 0;

    if (gw_buf_appends(out, "{\"id\":") != 0
        || gw_buf_append_json_str(out, l->id) != 0
        || gw_buf_printf(
               out, ",\"game_id\":%lld,\"game_title\":", (long long) l->game_id)
            != 0
        || gw_buf_append_json_str(out, l->game_title ? l->game_title : "") != 0
        || gw_buf_appends(out, ",\"name\":") != 0
        || gw_buf_append_json_str(out, l->name ? l->name : "") != 0
        || gw_buf_appends(out, ",\"owner\":") != 0
        || (closed ? gw_buf_appends(out, "null")
                   : gw_buf_append_json_str(out, l->owner ? l->owner : ""))
            != 0
        || gw_buf_appends(out, ",\"state\":") != 0
        || gw_buf_append_json_str(out, l->state ? l->state : "closed") != 0
        || gw_buf_appends(out, ",\"visibility\":") != 0
        || gw_buf_append_json_str(out, l->visibility ? l->visibility : "") != 0
        || gw_buf_printf(out, ",\"max_players\":%lld,\"min_players\":%lld",
                         (long long) l->max_players, (long long) l->min_players)
            != 0
        || lob_json_members(l, out) != 0
        || lob_json_time(out, "created_at", l->created_ms) != 0
        || lob_json_time(
               out, "expires_at",
               closed ? 0 : l->active_ms + cfg->janitor.lobby_idle_s * 1000)
            != 0) {
        return -1;
    }
    if (l->match_id == NULL) {
        return gw_buf_appends(out, ",\"match\":null}");
    }
    if (gw_buf_appends(out, ",\"match\":{\"id\":") != 0
        || gw_buf_append_json_str(out, l->match_id) != 0
        || gw_buf_appends(out, ",\"server\":{\"host\":") != 0
        || gw_buf_append_json_str(out, l->host ? l->host : "") != 0
        || gw_buf_printf(out, ",\"port\":%lld}}", (long long) l->port) != 0) {
        return -1;
    }
    return lob_json_time(out, "started_at", l->started_ms) == 0
        ? gw_buf_appends(out, "}")
        : -1;
}

int
lob_index_args(const struct gw_config *cfg, const struct lob_lobby *l,
               struct gw_buf *json, char keys[LOB_INDEX_KEYS][LOB_KEY_MAX],
               char nums[4][24], const char **argv)
{
    int64_t idle_ms = cfg->janitor.lobby_idle_s * 1000;
    int     listed;

    if (l->id == NULL || l->visibility == NULL
        || strcmp(l->visibility, "public") != 0) {
        return 0; /* private lobbies are never listed */
    }
    listed = l->state != NULL && strcmp(l->state, "open") == 0
        && (int64_t) l->nmembers < l->max_players;
    if (listed && lob_json(cfg, l, json) != 0) {
        return -1;
    }
    lob_keys_index(l->game_id, keys);
    snprintf(nums[0], 24, "%lld", (long long) gw_now_ms());
    snprintf(nums[1], 24, "%lld", (long long) l->created_ms);
    snprintf(nums[2], 24, "%lld", (long long) (l->active_ms + idle_ms));
    snprintf(nums[3], 24, "%lld", (long long) idle_ms);
    argv[0] = nums[0];
    argv[1] = l->id;
    argv[2] = nums[1];
    argv[3] = nums[2];
    argv[4] = listed ? json->data : "";
    argv[5] = nums[3];
    return 1;
}

void
lob_index_update(struct gw_redis *r, struct gw_arena *a,
                 const struct gw_config *cfg, const struct lob_lobby *l)
{
    char          keys[LOB_INDEX_KEYS][LOB_KEY_MAX], nums[4][24];
    const char   *kp[LOB_INDEX_KEYS], *argv[6];
    struct gw_buf json = {0};
    redisReply   *rep;
    int           i;

    if (lob_index_args(cfg, l, &json, keys, nums, argv) != 1) {
        gw_buf_free(&json);
        return;
    }
    for (i = 0; i < LOB_INDEX_KEYS; i++) {
        kp[i] = keys[i];
    }
    if (lob_eval(r, a, LOB_S_IDX_PUT, LOB_INDEX_KEYS, kp, 6, argv, NULL, 0,
                 &rep)
        != GW_OK) {
        gw_log_warn(r->rid, "listing of lobby %s not updated", l->id);
    }
    gw_buf_free(&json);
}

/*
 * The put as plain commands (argv as lob_index_args: now, id, created,
 * expiry, json or "" to remove, ttl): 6 writes, no script. A listing put
 * follows every join and leave; as a script it cost Redis ~110k
 * instructions (callgrind), the plain writes ~40k. Only the sweep of
 * expired entries needs the script's logic: every LOB_INDEX_SWEEP_EVERY-th
 * put of a thread is the script (up to 16 dropped each time), and the page
 * script drops what it passes.
 */
static int
lob_index_append_plain(struct gw_redis *r, const char *const *kp,
                       const char *const *argv)
{
    const char *z[4], *h[4], *e[3];
    int         i, del = argv[4][0] == '\0';

    z[0] = del ? "ZREM" : "ZADD", z[1] = kp[0];
    z[2] = del ? argv[1] : argv[2], z[3] = argv[1];
    h[0] = del ? "HDEL" : "HSET", h[1] = kp[1], h[2] = argv[1];
    h[3] = argv[4];
    if (redisAppendCommandArgv(r->ctx, del ? 3 : 4, z, NULL) != REDIS_OK
        || redisAppendCommandArgv(r->ctx, del ? 3 : 4, h, NULL) != REDIS_OK) {
        return -1;
    }
    z[1] = kp[2], z[2] = del ? argv[1] : argv[3];
    if (redisAppendCommandArgv(r->ctx, del ? 3 : 4, z, NULL) != REDIS_OK) {
        return -1;
    }
    e[0] = "PEXPIRE", e[2] = argv[5];
    for (i = 0; i < LOB_INDEX_KEYS; i++) {
        e[1] = kp[i];
        if (redisAppendCommandArgv(r->ctx, 3, e, NULL) != REDIS_OK) {
            return -1;
        }
    }
    return 0;
}

int
lob_index_append(struct gw_redis *r, const char *const *kp,
                 const char *const *argv)
{
    static _Thread_local unsigned puts;

    if (++puts % LOB_INDEX_SWEEP_EVERY == 0) {
        return lob_append(r, LOB_S_IDX_PUT, LOB_INDEX_KEYS, kp, 6, argv) == 0
            ? 1
            : 0;
    }
    return lob_index_append_plain(r, kp, argv) == 0 ? LOB_INDEX_PLAIN_CMDS : 0;
}

/* Cursor "<created ms>.<lobby id>". */
static int
lob_cursor_parse(const char *c, char *score, char *id)
{
    const char *dot = c != NULL ? strchr(c, '.') : NULL;
    int64_t     v;

    if (dot == NULL || dot - c > 20 || !lob_id_valid(dot + 1)
        || gw_parse_i64(c, (size_t) (dot - c), &v) != 0 || v < 0) {
        return GW_EINVAL;
    }
    snprintf(score, 24, "%lld", (long long) v);
    memcpy(id, dot + 1, LOB_ID_LEN + 1);
    return GW_OK;
}

int
lob_list(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
         int64_t game_id, const char *cursor, int64_t limit, const char **items,
         size_t *nitems, const char **next)
{
    char        keys[LOB_INDEX_KEYS][LOB_KEY_MAX], now[24], lim[24], scan[24];
    char        score[24] = "+inf", cid[LOB_ID_LEN + 1] = "";
    const char *kp[LOB_INDEX_KEYS], *argv[5];
    redisReply *rep, *list;
    size_t      i;
    int         rc;

    (void) cfg;
    *nitems = 0;
    *next = NULL;
    if (cursor != NULL && lob_cursor_parse(cursor, score, cid) != GW_OK) {
        return GW_EINVAL;
    }
    lob_keys_index(game_id, keys);
    for (i = 0; i < LOB_INDEX_KEYS; i++) {
        kp[i] = keys[i];
    }
    snprintf(now, sizeof(now), "%lld", (long long) gw_now_ms());
    snprintf(lim, sizeof(lim), "%lld", (long long) limit);
    snprintf(scan, sizeof(scan), "%d", LOB_LIST_SCAN_MAX);
    argv[0] = now;
    argv[1] = score;
    argv[2] = cid;
    argv[3] = lim;
    argv[4] = scan;
    rc = lob_eval(r, a, LOB_S_IDX_LIST, LOB_INDEX_KEYS, kp, 5, argv, NULL, 0,
                  &rep);
    if (rc != GW_OK) {
        return rc;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4
        || rep->element[0]->type != REDIS_REPLY_ARRAY) {
        return GW_ERROR;
    }
    list = rep->element[0];
    for (i = 0; i < list->elements && i < (size_t) limit; i++) {
        if (list->element[i]->type == REDIS_REPLY_STRING) {
            items[(*nitems)++] = list->element[i]->str;
        }
    }
    if (rep->element[3]->type == REDIS_REPLY_INTEGER
        && rep->element[3]->integer == 1
        && rep->element[1]->type == REDIS_REPLY_STRING
        && rep->element[2]->type == REDIS_REPLY_STRING
        && rep->element[2]->len > 0) {
        *next = gw_arena_printf(a, "%s.%s", rep->element[1]->str,
                                rep->element[2]->str);
    }
    return GW_OK;
}

struct lob_candidate {
    const char *id;
    int         taken;
};

static int
lob_candidate_cmp(const void *x, const void *y)
{
    const struct lob_candidate *a = x, *b = y;

    return b->taken - a->taken; /* fullest first */
}

/* Parses listed lobbies into candidates (id, seats taken). */
static size_t
lob_candidates(struct gw_arena *a, const char **items, size_t n,
               struct lob_candidate *c)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        cJSON *o = cJSON_Parse(items[i]);
        cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "members");

        if (cJSON_IsString(id) && cJSON_IsArray(m)) {
            c[k].id = gw_arena_strdup(a, id->valuestring);
            c[k].taken = cJSON_GetArraySize(m);
            k += c[k].id != NULL;
        }
        cJSON_Delete(o);
    }
    qsort(c, k, sizeof(*c), lob_candidate_cmp);
    return k;
}

int
lob_quick(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
          const char *user, const struct lob_new *n, struct lob_result *out)
{
    const char          *items[LOB_QUICK_CANDIDATES], *next;
    struct lob_candidate c[LOB_QUICK_CANDIDATES];
    size_t               nitems, nc, i;
    int                  rc;

    rc = lob_list(r, a, cfg, n->game_id, NULL, LOB_QUICK_CANDIDATES, items,
                  &nitems, &next);
    if (rc != GW_OK) {
        return rc;
    }
    nc = lob_candidates(a, items, nitems, c);
    for (i = 0; i < nc; i++) {
        rc = lob_join(r, a, cfg, c[i].id, user, out);
        if (rc == GW_OK || rc == GW_EIN_LOBBY || rc == GW_EUNAVAIL
            || rc == GW_ERROR) {
            return rc;
        }
        /* full, closed or gone since it was listed: its listing entry is
         * refreshed now (the next try overwrites out), then the next one */
        lob_after(r, a, cfg, out);
    }
    return lob_create(r, a, cfg, user, n, out);
}
