/*
 * gw_auth.c — JWT HS256 and admin keys.
 */
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

static enum gw_jwt_result
gw_auth_jwt_header_ok(const char *s, size_t n)
{
    cJSON             *h = gw_auth_jwt_part(s, n);
    const cJSON       *alg, *typ;
    enum gw_jwt_result res = GW_JWT_OK;

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

static enum gw_jwt_result
gw_auth_jwt_claims(const char *s, size_t n, int64_t now, int64_t skew,
                   struct gw_jwt_claims *claims)
{
    cJSON             *p = gw_auth_jwt_part(s, n);
    const cJSON       *sub;
    int64_t            nbf = 0;
    int                has_exp, has_iat, has_nbf;
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
    } else if (claims->exp + skew <= now) {
        res = GW_JWT_EXPIRED;
    } else if ((has_nbf && nbf > now + skew)
               || (has_iat && claims->iat > now + skew)) {
        res = GW_JWT_NOT_YET;
    } else {
        memcpy(claims->sub, sub->valuestring, strlen(sub->valuestring) + 1);
    }
    cJSON_Delete(p);
    return res;
}

enum gw_jwt_result
gw_auth_jwt_verify(const unsigned char *key, size_t key_len, const char *token,
                   size_t len, int64_t now, int64_t skew_s,
                   struct gw_jwt_claims *claims)
{
    const char        *dot1, *dot2;
    unsigned char      mac[32], sig[33];
    long               sig_len;
    enum gw_jwt_result res;

    if (len == 0 || len > GW_TOKEN_BYTES_MAX) {
        return GW_JWT_MALFORMED;
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
    return gw_auth_jwt_claims(dot1 + 1, (size_t) (dot2 - dot1 - 1), now, skew_s,
                              claims);
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
