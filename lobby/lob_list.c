/*
 * lob_list.c — the lobby as JSON, the public listing of a game and quick
 * match, and input validation.
 *
 * The listing lives in the GAME's slot (vas:lobbies:{g<game>}:rows and
 * :exps, lob_internal.h), not the lobby's, so it cannot be updated inside
 * a lobby script. It is a hint refreshed after each transition (and at
 * most every lobby_idle_s / 2 on reads) with the rendered lobby and an
 * expiry no later than the lobby's own; joining a listed lobby goes
 * through the lobby's script, which is the authority.
 *
 * A row is "<created ms>.<id>.<expiry ms>.<lobby JSON>" (ms in 13 digits)
 * in a zset whose scores are all 0, so Redis keeps the rows in the list's
 * order (created, then id) and a page is ONE plain ZREVRANGEBYLEX from
 * the cursor: no script. The page script it replaced cost Redis ~760k
 * instructions for a page of 20 (callgrind: each 400-byte JSON hashed
 * into Lua and out again, 42 scores formatted as doubles, a ZMSCORE of
 * the expiries), the ZREVRANGEBYLEX ~28k. Expired rows are skipped here
 * and removed by their exact text after the page; the sweep script
 * (every LOB_ROWS_SWEEP_EVERY-th put) drops up to 16 by expiry.
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

/*
 * The lobby's JSON is rendered for every transition (the response and the
 * listing's row): its pieces are appended, not printed (printf was a
 * third of it).
 */
static int
lob_json_time(struct gw_buf *out, const char *name, int64_t ms)
{
    char ts[32];

    if (gw_buf_appends(out, ",\"") != 0 || gw_buf_appends(out, name) != 0) {
        return -1;
    }
    if (ms <= 0) {
        return gw_buf_appends(out, "\":null");
    }
    gw_time_rfc3339_ms(ms, ts, sizeof(ts));
    return gw_buf_appends(out, "\":\"") != 0 || gw_buf_appends(out, ts) != 0
        ? -1
        : gw_buf_appends(out, "\"");
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
            || gw_buf_appends(out,
                              l->members[i].ready
                                  ? ",\"ready\":true,\"joined_at\":\""
                                  : ",\"ready\":false,\"joined_at\":\"")
                != 0
            || gw_buf_appends(out, ts) != 0
            || gw_buf_appends(out, "\"}") != 0) {
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

#define LOB_JSON_GUESS 512

const char *
lob_json_get(const struct gw_config *cfg, struct gw_arena *a,
             struct lob_lobby *l)
{
    struct gw_buf *b;

    /* about 300 bytes and 100 a member: one allocation, not a doubling
     * per string */
    if (l->json == NULL && (b = gw_arena_buf_new(a)) != NULL
        && gw_buf_reserve(b, LOB_JSON_GUESS + 128 * l->nmembers) == 0
        && lob_json(cfg, l, b) == 0) {
        l->json = b->data;
        l->json_len = b->len;
    }
    return l->json;
}

/* ms (0..LOB_ROW_MS_MAX) in LOB_ROW_MS_DIGITS digits, zero-padded. */
static char *
lob_row_ms(char *out, int64_t ms)
{
    int i;

    for (i = LOB_ROW_MS_DIGITS - 1; i >= 0; i--) {
        out[i] = (char) ('0' + ms % 10);
        ms /= 10;
    }
    return out;
}

int
lob_row_args(const struct gw_config *cfg, const struct lob_lobby *l,
             struct lob_row *row)
{
    int64_t idle_ms = cfg->janitor.lobby_idle_s * 1000;
    int64_t exp = l->active_ms + idle_ms;
    char    head[LOB_ROW_MS_DIGITS];
    int     listed;

    memset(row, 0, sizeof(*row));
    if (l->id == NULL || l->visibility == NULL
        || strcmp(l->visibility, "public") != 0 || !lob_id_valid(l->id)
        || l->created_ms < 0 || l->created_ms > LOB_ROW_MS_MAX) {
        return 0; /* private lobbies are never listed */
    }
    listed = l->state != NULL && strcmp(l->state, "open") == 0
        && (int64_t) l->nmembers < l->max_players && exp > 0
        && exp <= LOB_ROW_MS_MAX;
    lob_keys_index(l->game_id, row->keys);
    lob_row_ms(row->key, l->created_ms);
    row->key[LOB_ROW_MS_DIGITS] = '.';
    memcpy(row->key + LOB_ROW_MS_DIGITS + 1, l->id, LOB_ID_LEN + 1);
    row->lo[0] = row->hi[0] = '[';
    memcpy(row->lo + 1, row->key, LOB_ROW_KEY_LEN);
    memcpy(row->hi + 1, row->key, LOB_ROW_KEY_LEN);
    memcpy(row->lo + 1 + LOB_ROW_KEY_LEN, ".", 2);
    memcpy(row->hi + 1 + LOB_ROW_KEY_LEN, "/", 2);
    gw_i64_text(row->exp, exp);
    gw_i64_text(row->ttl, idle_ms);
    gw_i64_text(row->now, gw_now_ms());
    if (listed
        && (gw_buf_append(&row->member, row->key, LOB_ROW_KEY_LEN) != 0
            || gw_buf_append(&row->member, ".", 1) != 0
            || gw_buf_append(&row->member, lob_row_ms(head, exp),
                             LOB_ROW_MS_DIGITS)
                != 0
            || gw_buf_append(&row->member, ".", 1) != 0
            || (l->json != NULL
                    ? gw_buf_append(&row->member, l->json, l->json_len)
                    : lob_json(cfg, l, &row->member))
                != 0)) {
        gw_buf_free(&row->member);
        return -1;
    }
    return 1;
}

static int
lob_row_cmd(struct gw_redis *r, int argc, const char **argv)
{
    size_t lens[4];
    int    i;

    for (i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]); /* the JSON has no NUL (escaped) */
    }
    return gw_redis_append_argv(r->ctx, argc, argv, lens) == REDIS_OK ? 1 : -9;
}

/*
 * The put as plain commands: a listed lobby's row replaces whatever row
 * of it is there (its prefix "<created>.<id>." never changes) inside
 * MULTI/EXEC, so two puts of one lobby racing never leave two rows; an
 * unlisted lobby's row and expiry go. Returns the replies to read, or a
 * negative number.
 */
static int
lob_row_put(struct gw_redis *r, const struct lob_row *row)
{
    const char *rows = row->keys[0], *exps = row->keys[1];
    const char *del[4] = {"ZREMRANGEBYLEX", rows, row->lo, row->hi};
    const char *add[4] = {"ZADD", rows, "0", row->member.data};
    const char *due[4] = {"ZADD", exps, row->exp, row->key};
    const char *rem[3] = {"ZREM", exps, row->key};
    const char *ttl1[3] = {"PEXPIRE", rows, row->ttl};
    const char *ttl2[3] = {"PEXPIRE", exps, row->ttl};
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};

    if (row->member.len == 0) {
        return lob_row_cmd(r, 4, del) + lob_row_cmd(r, 3, rem);
    }
    return lob_row_cmd(r, 1, multi) + lob_row_cmd(r, 4, del)
        + lob_row_cmd(r, 4, add) + lob_row_cmd(r, 4, due)
        + lob_row_cmd(r, 3, ttl1) + lob_row_cmd(r, 3, ttl2)
        + lob_row_cmd(r, 1, exec);
}

int
lob_row_append_sweep(struct gw_redis *r, const struct lob_row *row)
{
    const char *kp[LOB_INDEX_KEYS] = {row->keys[0], row->keys[1]};
    const char *argv[1] = {row->now};

    return lob_append(r, LOB_S_ROWS_SWEEP, LOB_INDEX_KEYS, kp, 1, argv);
}

int
lob_row_append(struct gw_redis *r, const struct lob_row *row)
{
    static _Thread_local unsigned puts;
    int                           n = lob_row_put(r, row);

    if (n <= 0) {
        return 0;
    }
    if (++puts % LOB_ROWS_SWEEP_EVERY == 0
        && lob_row_append_sweep(r, row) == 0) {
        n++;
    }
    return n;
}

void
lob_index_update(struct gw_redis *r, struct gw_arena *a,
                 const struct gw_config *cfg, const struct lob_lobby *l)
{
    struct lob_row row;
    redisReply    *rep;
    const char    *kp[LOB_INDEX_KEYS], *argv[1];
    int            n = 0, i, rc = GW_OK;

    if (lob_row_args(cfg, l, &row) != 1 || gw_redis_connect(r) != GW_OK) {
        gw_buf_free(&row.member);
        return;
    }
    n = lob_row_put(r, &row);
    for (i = 0; i < n && rc != GW_EUNAVAIL; i++) {
        rc = gw_redis_pipeline_get(r, &rep);
        if (rc != GW_EUNAVAIL) {
            freeReplyObject(rep);
        }
    }
    kp[0] = row.keys[0], kp[1] = row.keys[1], argv[0] = row.now;
    if (n <= 0 || rc == GW_EUNAVAIL
        || lob_eval(r, a, LOB_S_ROWS_SWEEP, LOB_INDEX_KEYS, kp, 1, argv, NULL,
                    0, &rep)
            != GW_OK) {
        gw_log_warn(r->rid, "listing of lobby %s not updated", l->id);
    }
    gw_buf_free(&row.member);
}

/* Cursor "<created ms>.<lobby id>" into the exclusive bound "(<row key>". */
static int
lob_cursor_parse(const char *c, char *start)
{
    const char *dot = c != NULL ? strchr(c, '.') : NULL;
    int64_t     v;

    if (dot == NULL || dot - c > 20 || !lob_id_valid(dot + 1)
        || gw_parse_i64(c, (size_t) (dot - c), &v) != 0 || v < 0) {
        return GW_EINVAL;
    }
    if (v <= LOB_ROW_MS_MAX) { /* else newer than any row: start stays "+" */
        snprintf(start, LOB_ROW_KEY_LEN + 2, "(%0*lld.%s", LOB_ROW_MS_DIGITS,
                 (long long) v, dot + 1);
    }
    return GW_OK;
}

/* The expiry of a row, or -1 when it is not one ("<created>.<id>.<exp>."). */
static int64_t
lob_row_expiry(const redisReply *m)
{
    int64_t exp;

    if (m->type != REDIS_REPLY_STRING || m->len <= LOB_ROW_HEAD
        || m->str[LOB_ROW_MS_DIGITS] != '.' || m->str[LOB_ROW_KEY_LEN] != '.'
        || m->str[LOB_ROW_HEAD - 1] != '.'
        || gw_parse_i64(m->str + LOB_ROW_KEY_LEN + 1, LOB_ROW_MS_DIGITS, &exp)
            != 0) {
        return -1;
    }
    return exp;
}

/* What one listing has read so far. */
struct lob_page {
    const char **items;
    size_t      *nitems, looked, ndead;
    int64_t      limit, now;
    const char  *dead[LOB_LIST_SCAN_MAX];
    size_t       deadlen[LOB_LIST_SCAN_MAX];
    char         last[LOB_ROW_KEY_LEN + 2]; /* "(<row key>" of the last row */
    int          more;
};

/* Takes the rows of one ZREVRANGEBYLEX; 1 when the listing ended. */
static int
lob_page_take(struct lob_page *p, const redisReply *rep)
{
    size_t i;

    for (i = 0; i < rep->elements; i++) {
        const redisReply *m = rep->element[i];
        int64_t           exp = lob_row_expiry(m);

        if (exp >= 0 && exp > p->now && *p->nitems == (size_t) p->limit) {
            p->more = 1; /* one live row past the page */
            return 0;
        }
        p->looked++;
        if (exp > p->now) {
            p->items[(*p->nitems)++] = m->str + LOB_ROW_HEAD;
        } else if (m->type == REDIS_REPLY_STRING
                   && p->ndead < LOB_LIST_SCAN_MAX) {
            p->dead[p->ndead] = m->str; /* dropped after the page */
            p->deadlen[p->ndead++] = m->len;
        }
        if (m->type == REDIS_REPLY_STRING && m->len >= LOB_ROW_KEY_LEN) {
            p->last[0] = '(';
            memcpy(p->last + 1, m->str, LOB_ROW_KEY_LEN);
            p->last[LOB_ROW_KEY_LEN + 1] = '\0';
        }
    }
    return rep->elements < (size_t) p->limit + 1;
}

/*
 * Drops the expired rows a listing passed, by their exact text (a row
 * refreshed meanwhile is another member and stays); their expiries go
 * with the next sweep. One more round trip, only when there were some.
 */
static void
lob_page_drop(struct gw_redis *r, struct gw_arena *a, const char *rows,
              struct lob_page *p)
{
    const char **argv = gw_arena_alloc(a, sizeof(char *) * (p->ndead + 2));
    size_t      *lens = gw_arena_alloc(a, sizeof(size_t) * (p->ndead + 2));
    redisReply  *rep;
    size_t       i;

    if (argv == NULL || lens == NULL) {
        return;
    }
    argv[0] = "ZREM", lens[0] = 4;
    argv[1] = rows, lens[1] = strlen(rows);
    for (i = 0; i < p->ndead; i++) {
        argv[i + 2] = p->dead[i], lens[i + 2] = p->deadlen[i];
    }
    if (gw_redis_cmdv(r, a, &rep, (int) p->ndead + 2, argv, lens) != GW_OK) {
        gw_log_warn(r->rid, "expired listing rows not dropped");
    }
}

int
lob_list(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
         int64_t game_id, const char *cursor, int64_t limit, const char **items,
         size_t *nitems, const char **next)
{
    char             keys[LOB_INDEX_KEYS][LOB_KEY_MAX], lim[24];
    char             start[LOB_ROW_KEY_LEN + 2] = "+";
    struct lob_page *p = gw_arena_calloc(a, sizeof(*p));
    redisReply      *rep;
    int              rc, ended = 0;

    (void) cfg;
    *nitems = 0;
    *next = NULL;
    if (cursor != NULL && lob_cursor_parse(cursor, start) != GW_OK) {
        return GW_EINVAL;
    }
    if (p == NULL) {
        return GW_ERROR;
    }
    p->items = items, p->nitems = nitems, p->limit = limit;
    p->now = gw_now_ms();
    lob_keys_index(game_id, keys);
    snprintf(lim, sizeof(lim), "%lld", (long long) limit + 1);
    /* limit + 1 rows at a time: usually one round trip, more only while
     * expired rows fill the page, LOB_LIST_SCAN_MAX rows at most. */
    while (!p->more && !ended && p->looked < LOB_LIST_SCAN_MAX) {
        rc = gw_redis_cmd(r, a, &rep, "ZREVRANGEBYLEX %s %s - LIMIT 0 %s",
                          keys[0], p->last[0] ? p->last : start, lim);
        if (rc != GW_OK) {
            return rc;
        }
        if (rep->type != REDIS_REPLY_ARRAY) {
            return GW_ERROR;
        }
        ended = lob_page_take(p, rep);
    }
    if (p->ndead > 0) {
        lob_page_drop(r, a, keys[0], p);
    }
    if ((p->more || !ended) && p->last[0] != '\0') {
        /* "<created ms>.<id>", the created ms without its zero padding */
        *next = gw_arena_printf(a, "%lld.%s", strtoll(p->last + 1, NULL, 10),
                                p->last + 2 + LOB_ROW_MS_DIGITS);
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
