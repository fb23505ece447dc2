/*
 * gw_auth.c — JWT HS256 and admin keys.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "gw_auth.h"
#include "gw_db.h"
#include "gw_json.h"
#include "gw_status.h"
#include "gw_util.h"

const char *
gw_auth_jwt_reason(enum gw_jwt_result res)
{
    switch (res) {
    case GW_JWT_OK:
        return "ok";
    case GW_JWT_MALFORMED:
        return "malformed token";
    case GW_JWT_ALG:
        return "unsupported algorithm";
    case GW_JWT_SIGNATURE:
        return "bad signature";
    case GW_JWT_EXPIRED:
        return "token expired";
    case GW_JWT_NOT_YET:
        return "token not yet valid";
    case GW_JWT_CLAIMS:
        return "bad claims";
    }
    return "invalid token";
}

/* Decodes one base64url part into a NUL-terminated JSON object. */
static cJSON *
gw_auth_jwt_part(const char *s, size_t n)
{
    unsigned char buf[GW_JWT_PART_MAX + 1];
    const char   *why;
    long          len;

    len = gw_b64url_decode(s, n, buf, GW_JWT_PART_MAX);
    if (len <= 0) {
        return NULL;
    }
    /* The request-body rule: UTF-8, no NUL, no \u0000 escape (a sub of
     * "demo-user\u0000x" must not read as "demo-user"). */
    if (gw_json_text_check((const char *) buf, (size_t) len, &why) != GW_OK) {
        return NULL;
    }
    buf[len] = '\0';
    cJSON *obj = cJSON_ParseWithLength((const char *) buf, (size_t) len);
    /* RFC 7519 section 4: a claim named twice is refused (cJSON would
     * answer the first, the issuer's library may have meant the last). */
    if (obj != NULL && (!cJSON_IsObject(obj) || gw_json_dup_names(obj) != 0)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* base64url of {"alg":"HS256","typ":"JWT"}, the header every issuer we
 * know of sends (ours, PyJWT, jsonwebtoken): these exact bytes pass every
 * header rule, so they are accepted without decoding or parsing. Any other
 * spelling takes the full path. */
static const char gw_auth_jwt_header_std[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

static enum gw_jwt_result
gw_auth_jwt_header_ok(const char *s, size_t n)
{
    cJSON             *h;
    const cJSON       *alg, *typ;
    enum gw_jwt_result res = GW_JWT_OK;

    if (n == sizeof(gw_auth_jwt_header_std) - 1
        && memcmp(s, gw_auth_jwt_header_std, n) == 0) {
        return GW_JWT_OK;
    }
    h = gw_auth_jwt_part(s, n);
    if (h == NULL) {
        return GW_JWT_MALFORMED;
    }
    alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
        res = GW_JWT_ALG;
    } else if (typ != NULL
               && (!cJSON_IsString(typ)
                   || strcmp(typ->valuestring, "JWT") != 0)) {
        res = GW_JWT_MALFORMED;
    } else if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL) {
        res = GW_JWT_MALFORMED; /* we understand no extensions */
    }
    cJSON_Delete(h);
    return res;
}

static int
gw_auth_num(const cJSON *obj, const char *name, int64_t *out, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    *present = v != NULL;
    if (v == NULL) {
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0
        || v->valuedouble > 253402300799.0) {
        return -1;
    }
    *out = (int64_t) v->valuedouble;
    return 0;
}

/*
 * The time rules, shared by the full path and the cache: exp + skew must
 * be after now; nbf and iat (when present) no later than now + skew.
 */
static enum gw_jwt_result
gw_auth_jwt_times(int64_t exp, int has_nbf, int64_t nbf, int has_iat,
                  int64_t iat, int64_t now, int64_t skew)
{
    if (exp + skew <= now) {
        return GW_JWT_EXPIRED;
    }
    if ((has_nbf && nbf > now + skew) || (has_iat && iat > now + skew)) {
        return GW_JWT_NOT_YET;
    }
    return GW_JWT_OK;
}

static enum gw_jwt_result
gw_auth_jwt_claims(const char *s, size_t n, int64_t now, int64_t skew,
                   struct gw_jwt_claims *claims, int64_t *not_before)
{
    cJSON             *p = gw_auth_jwt_part(s, n);
    const cJSON       *sub;
    int64_t            nbf = 0;
    int                has_exp, has_iat = 0, has_nbf = 0;
    enum gw_jwt_result res = GW_JWT_OK;

    if (p == NULL) {
        return GW_JWT_MALFORMED;
    }
    memset(claims, 0, sizeof(*claims));
    sub = cJSON_GetObjectItemCaseSensitive(p, "sub");
    if (!cJSON_IsString(sub)
        || !gw_user_id_valid(sub->valuestring, strlen(sub->valuestring))
        || gw_auth_num(p, "exp", &claims->exp, &has_exp) != 0 || !has_exp
        || gw_auth_num(p, "iat", &claims->iat, &has_iat) != 0
        || gw_auth_num(p, "nbf", &nbf, &has_nbf) != 0) {
        res = GW_JWT_CLAIMS;
    } else {
        res = gw_auth_jwt_times(claims->exp, has_nbf, nbf, has_iat, claims->iat,
                                now, skew);
    }
    if (res == GW_JWT_OK) {
        memcpy(claims->sub, sub->valuestring, strlen(sub->valuestring) + 1);
        /* The latest of nbf and iat: the cache's "not yet" test. */
        *not_before = has_nbf ? nbf : INT64_MIN;
        if (has_iat && claims->iat > *not_before) {
            *not_before = claims->iat;
        }
    }
    cJSON_Delete(p);
    return res;
}

/*
 * Tokens verified by this worker, so that a client's next request with the
 * same token costs a comparison instead of base64 decoding and two JSON
 * parses (a user's requests land on any of the worker's threads, hence one
 * cache per process, not per thread). GW_AUTH_CACHE_SETS sets of
 * GW_AUTH_CACHE_WAYS entries, one mutex per set; a hash of 8 bytes of the
 * signature only picks the set: an entry answers only a token equal to it
 * in every byte, verified with a key equal in every byte (compared in
 * constant time: the entries are other users' tokens, and an early exit
 * would tell a prober how much of one it has guessed). It only ever
 * answers GW_JWT_OK, and only while now is before exp
 * and the nbf/iat rule holds at now (stricter than the full path at the
 * end: a token inside its exp skew window is verified again). Refused
 * tokens are never stored.
 */
struct gw_auth_cache_entry {
    size_t               len; /* 0: empty */
    size_t               key_len;
    char                 token[GW_AUTH_CACHE_TOKEN_MAX];
    unsigned char        key[GW_AUTH_CACHE_KEY_MAX];
    struct gw_jwt_claims claims;
    int64_t              not_before; /* latest of nbf and iat */
};

struct gw_auth_cache_set {
    pthread_mutex_t            mu;
    unsigned                   next; /* round-robin victim */
    struct gw_auth_cache_entry e[GW_AUTH_CACHE_WAYS];
};

static struct gw_auth_cache_set gw_auth_cache[GW_AUTH_CACHE_SETS];
static pthread_once_t           gw_auth_cache_once = PTHREAD_ONCE_INIT;
static __thread uint64_t        gw_auth_cache_hits_tl;

static void
gw_auth_cache_init(void)
{
    size_t i;

    for (i = 0; i < GW_AUTH_CACHE_SETS; i++) {
        pthread_mutex_init(&gw_auth_cache[i].mu, NULL);
    }
}

/*
 * The set a token belongs to: FNV-1a over 8 bytes of its signature, not
 * the last ones, so that tokens differing only at their end share a set and
 * the full comparison is what tells them apart (test_cache relies on it).
 */
static struct gw_auth_cache_set *
gw_auth_cache_set_of(const char *token, size_t len)
{
    size_t   i = len > 16 ? len - 16 : 0, end = len > 8 ? len - 8 : len;
    uint32_t h = 2166136261u;

    for (; i < end; i++) {
        h = (h ^ (unsigned char) token[i]) * 16777619u;
    }
    pthread_once(&gw_auth_cache_once, gw_auth_cache_init);
    return &gw_auth_cache[h % GW_AUTH_CACHE_SETS];
}

static int
gw_auth_cache_fits(size_t key_len, size_t len)
{
    return len <= GW_AUTH_CACHE_TOKEN_MAX && key_len <= GW_AUTH_CACHE_KEY_MAX;
}

/* 1 and *claims filled when this exact token, verified with this exact
 * key, is remembered and still valid at now; 0 otherwise. */
static int
gw_auth_cache_get(const unsigned char *key, size_t key_len, const char *token,
                  size_t len, int64_t now, int64_t skew,
                  struct gw_jwt_claims *claims)
{
    struct gw_auth_cache_set   *set;
    struct gw_auth_cache_entry *e;
    int                         hit = 0;
    unsigned                    i;

    if (!gw_auth_cache_fits(key_len, len)) {
        return 0;
    }
    set = gw_auth_cache_set_of(token, len);
    pthread_mutex_lock(&set->mu);
    for (i = 0; i < GW_AUTH_CACHE_WAYS && !hit; i++) {
        e = &set->e[i];
        if (e->len == len && e->key_len == key_len
            && gw_ct_equal(e->token, token, len)
            && gw_ct_equal(e->key, key, key_len) && now < e->claims.exp
            && gw_auth_jwt_times(e->claims.exp, 0, 0,
                                 e->not_before != INT64_MIN, e->not_before, now,
                                 skew)
                == GW_JWT_OK) {
            *claims = e->claims;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&set->mu);
    gw_auth_cache_hits_tl += (uint64_t) hit;
    return hit;
}

static void
gw_auth_cache_put(const unsigned char *key, size_t key_len, const char *token,
                  size_t len, const struct gw_jwt_claims *claims,
                  int64_t not_before)
{
    struct gw_auth_cache_set   *set;
    struct gw_auth_cache_entry *e;

    if (!gw_auth_cache_fits(key_len, len)) {
        return;
    }
    set = gw_auth_cache_set_of(token, len);
    pthread_mutex_lock(&set->mu);
    e = &set->e[set->next++ % GW_AUTH_CACHE_WAYS];
    memcpy(e->token, token, len);
    e->len = len;
    memcpy(e->key, key, key_len);
    e->key_len = key_len;
    e->claims = *claims;
    e->not_before = not_before;
    pthread_mutex_unlock(&set->mu);
}

uint64_t
gw_auth_jwt_cache_hits(void)
{
    return gw_auth_cache_hits_tl;
}

void
gw_auth_jwt_cache_clear(void)
{
    size_t i;

    pthread_once(&gw_auth_cache_once, gw_auth_cache_init);
    for (i = 0; i < GW_AUTH_CACHE_SETS; i++) {
        pthread_mutex_lock(&gw_auth_cache[i].mu);
        memset(gw_auth_cache[i].e, 0, sizeof(gw_auth_cache[i].e));
        pthread_mutex_unlock(&gw_auth_cache[i].mu);
    }
    gw_auth_cache_hits_tl = 0;
}

enum gw_jwt_result
gw_auth_jwt_verify(const unsigned char *key, size_t key_len, const char *token,
                   size_t len, int64_t now, int64_t skew_s,
                   struct gw_jwt_claims *claims)
{
    const char        *dot1, *dot2;
    unsigned char      mac[32], sig[33];
    long               sig_len;
    int64_t            not_before;
    enum gw_jwt_result res;

    if (len == 0 || len > GW_TOKEN_BYTES_MAX) {
        return GW_JWT_MALFORMED;
    }
    if (gw_auth_cache_get(key, key_len, token, len, now, skew_s, claims)) {
        return GW_JWT_OK;
    }
    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return GW_JWT_MALFORMED;
    }
    dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token));
    if (dot2 == NULL
        || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)) != NULL) {
        return GW_JWT_MALFORMED;
    }
    res = gw_auth_jwt_header_ok(token, (size_t) (dot1 - token));
    if (res != GW_JWT_OK) {
        return res;
    }
    sig_len = gw_b64url_decode(dot2 + 1, len - (size_t) (dot2 + 1 - token), sig,
                               sizeof(sig));
    if (sig_len != 32) {
        return GW_JWT_SIGNATURE;
    }
    gw_hmac_sha256(key, key_len, token, (size_t) (dot2 - token), mac);
    if (!gw_ct_equal(mac, sig, 32)) {
        return GW_JWT_SIGNATURE;
    }
    res = gw_auth_jwt_claims(dot1 + 1, (size_t) (dot2 - dot1 - 1), now, skew_s,
                             claims, &not_before);
    if (res == GW_JWT_OK) {
        gw_auth_cache_put(key, key_len, token, len, claims, not_before);
    }
    return res;
}

long
gw_auth_jwt_mint(const unsigned char *key, size_t key_len, const char *sub,
                 int64_t now, int64_t ttl_s, char *out, size_t cap)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    struct gw_buf     payload = {0};
    unsigned char     mac[32];
    size_t            pos, need;

    if (!gw_user_id_valid(sub, strlen(sub))) {
        return -1; /* the verifier would refuse it */
    }
    if (gw_buf_appends(&payload, "{\"sub\":") != 0
        || gw_buf_append_json_str(&payload, sub) != 0
        || gw_buf_printf(&payload, ",\"iat\":%lld,\"exp\":%lld}",
                         (long long) now, (long long) (now + ttl_s))
            != 0) {
        gw_buf_free(&payload);
        return -1;
    }
    need = GW_B64URL_LEN(sizeof(header) - 1) + GW_B64URL_LEN(payload.len)
        + GW_B64URL_LEN(32) + 3;
    if (need > cap) {
        gw_buf_free(&payload);
        return -1;
    }
    pos = gw_b64url_encode((const unsigned char *) header, sizeof(header) - 1,
                           out);
    out[pos++] = '.';
    pos += gw_b64url_encode((const unsigned char *) payload.data, payload.len,
                            out + pos);
    gw_buf_free(&payload);
    gw_hmac_sha256(key, key_len, out, pos, mac);
    out[pos++] = '.';
    pos += gw_b64url_encode(mac, 32, out + pos);
    return (long) pos;
}

int
gw_auth_admin_key_new(char *out)
{
    unsigned char raw[32];

    if (gw_random_bytes(raw, sizeof(raw)) != 0) {
        return -1;
    }
    memcpy(out, GW_ADMIN_KEY_PREFIX, 7);
    gw_b64url_encode(raw, sizeof(raw), out + 7);
    return 0;
}

void
gw_auth_admin_key_hash(const char *key, size_t len, char out[65])
{
    gw_sha256_hex(key, len, out);
}

int
gw_auth_admin_key_find(struct gw_db *db, struct gw_arena *a, const char *key,
                       size_t len, int64_t *key_id)
{
    char      hash[65];
    MYSQL_ROW row;
    int       rc;

    *key_id = 0;
    if (len != GW_ADMIN_KEY_LEN || memcmp(key, GW_ADMIN_KEY_PREFIX, 7) != 0) {
        return GW_OK;
    }
    gw_auth_admin_key_hash(key, len, hash);
    rc = gw_db_row(db, a, &row,
                   "SELECT id FROM admin_keys WHERE key_hash = %s"
                   " AND revoked_at IS NULL",
                   hash);
    if (rc == GW_OK && row != NULL) {
        *key_id = gw_db_col_i64(row, 0);
    }
    return rc;
}
