/*
 * gw_auth.h — IM session tokens (HS256 JWT) and admin API keys.
 *
 * Tokens: exactly the rules of API.md. The header must be a JSON object
 * whose "alg" is "HS256" (anything else, "none" included, is refused; "typ"
 * if present must be "JWT"); the signature is HMAC-SHA256 over
 * "header.payload" with the exact bytes of the secret file, compared in
 * constant time; "sub" must be a non-empty string of at most
 * GW_USER_ID_MAX bytes; "exp" is required and numeric; "nbf"/"iat" in the
 * future beyond the skew are refused. gw_auth_jwt_verify does no I/O and
 * is thread-safe.
 *
 * Admin keys: "vasadm_" + 43 base64url chars (32 random bytes). Only the
 * SHA-256 of a key is stored (keys are random, so a fast hash is enough:
 * there is nothing to brute-force).
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"

struct gw_db;
struct gw_arena;

struct gw_jwt_claims {
    char    sub[GW_USER_ID_MAX + 1];
    int64_t exp;
    int64_t iat; /* 0 when absent */
};

/* Reasons a token is refused (for logs and unit tests; clients see 401). */
enum gw_jwt_result {
    GW_JWT_OK = 0,
    GW_JWT_MALFORMED = -1,
    GW_JWT_ALG = -2,
    GW_JWT_SIGNATURE = -3,
    GW_JWT_EXPIRED = -4,
    GW_JWT_NOT_YET = -5,
    GW_JWT_CLAIMS = -6,
};

/* Verifies token (len bytes) at time now. Fills *claims on GW_JWT_OK. */
enum gw_jwt_result gw_auth_jwt_verify(const unsigned char *key, size_t key_len,
                                      const char *token, size_t len,
                                      int64_t now, int64_t skew_s,
                                      struct gw_jwt_claims *claims);

/*
 * Each process remembers its last verified tokens (about
 * GW_AUTH_CACHE_SETS x GW_AUTH_CACHE_WAYS; the whole token bytes and key,
 * compared in full) with their claims; a remembered token is answered
 * GW_JWT_OK only before its exp and under the same nbf/iat rules. Tokens
 * over GW_AUTH_CACHE_TOKEN_MAX bytes, keys over GW_AUTH_CACHE_KEY_MAX and
 * refused tokens are never remembered. About 650 KB per process.
 */
#define GW_AUTH_CACHE_SETS      256
#define GW_AUTH_CACHE_WAYS      4
#define GW_AUTH_CACHE_TOKEN_MAX 384
#define GW_AUTH_CACHE_KEY_MAX   128

/* Cache hits of the calling thread so far; and emptying the cache (tests). */
uint64_t gw_auth_jwt_cache_hits(void);
void     gw_auth_jwt_cache_clear(void);

/* Short reason text for a result. */
const char *gw_auth_jwt_reason(enum gw_jwt_result res);

/*
 * Signs a token for sub, valid ttl_s from now, into out (cap bytes).
 * Used by `vasctl token mint` and the tests. Returns the length or -1.
 */
long gw_auth_jwt_mint(const unsigned char *key, size_t key_len, const char *sub,
                      int64_t now, int64_t ttl_s, char *out, size_t cap);

#define GW_ADMIN_KEY_PREFIX "vasadm_"
#define GW_ADMIN_KEY_LEN    (7 + 43)

/* A new random admin key into out[GW_ADMIN_KEY_LEN + 1]. 0 or -1. */
int gw_auth_admin_key_new(char *out);

/* SHA-256 hex of a key, as stored in admin_keys.key_hash. */
void gw_auth_admin_key_hash(const char *key, size_t len, char out[65]);

/*
 * Looks the key up (not revoked). *key_id > 0 when found, 0 when not.
 * GW_OK or a database status.
 */
int gw_auth_admin_key_find(struct gw_db *db, struct gw_arena *a,
                           const char *key, size_t len, int64_t *key_id);

#endif /* GW_AUTH_H */
