/*
 * test_gw_auth.c — HS256 token verification exactly as API.md says, and
 * the admin key format/hash (gateway/gw_auth.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gw_auth.h"
#include "gw_util.h"

static const unsigned char KEY[] = "0123456789abcdef-test-secret\n";
#define KEY_LEN (sizeof(KEY) - 1)
#define NOW     1795860000LL
#define SKEW    60

/* header.payload signed with key (HS256 over the exact encoded bytes). */
static void
make_token(const char *header, const char *payload, const unsigned char *key,
           size_t key_len, char *out, size_t cap)
{
    char          h[1024], p[2048], s[64];
    unsigned char mac[32];
    char          signing[4096];

    gw_b64url_encode((const unsigned char *) header, strlen(header), h);
    gw_b64url_encode((const unsigned char *) payload, strlen(payload), p);
    snprintf(signing, sizeof(signing), "%s.%s", h, p);
    gw_hmac_sha256(key, key_len, signing, strlen(signing), mac);
    gw_b64url_encode(mac, sizeof(mac), s);
    snprintf(out, cap, "%s.%s", signing, s);
}

static enum gw_jwt_result
verify(const char *tok, struct gw_jwt_claims *c)
{
    return gw_auth_jwt_verify(KEY, KEY_LEN, tok, strlen(tok), NOW, SKEW, c);
}

static enum gw_jwt_result
verify_claims(const char *payload)
{
    struct gw_jwt_claims c;
    char                 tok[4096];

    make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, KEY, KEY_LEN,
               tok, sizeof(tok));
    return verify(tok, &c);
}

static enum gw_jwt_result
verify_header(const char *header)
{
    struct gw_jwt_claims c;
    char                 tok[4096];

    make_token(header, "{\"sub\":\"u1\",\"exp\":1795863600}", KEY, KEY_LEN, tok,
               sizeof(tok));
    return verify(tok, &c);
}

/* A minted token verifies and yields sub/exp/iat; the key is the exact
 * bytes (the trailing newline counts: a key read with the newline
 * stripped would not verify). */
static void
test_mint_verify(void **state)
{
    struct gw_jwt_claims c;
    char                 tok[1024];
    long                 n;

    (void) state;
    n = gw_auth_jwt_mint(KEY, KEY_LEN, "im-alice", NOW, 3600, tok, sizeof(tok));
    assert_true(n > 0);
    assert_int_equal((size_t) n, strlen(tok));
    assert_int_equal(verify(tok, &c), GW_JWT_OK);
    assert_string_equal(c.sub, "im-alice");
    assert_true(c.exp == NOW + 3600);
    assert_true(c.iat == NOW);
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN - 1, tok, strlen(tok), NOW, SKEW, &c),
        GW_JWT_SIGNATURE);
    /* Length is honoured: a prefix is not the token. */
    assert_int_not_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, strlen(tok) - 1, NOW, SKEW, &c),
        GW_JWT_OK);
    /* Too small an output buffer is an error, not an overflow. */
    assert_int_equal(
        gw_auth_jwt_mint(KEY, KEY_LEN, "im-alice", NOW, 3600, tok, 40), -1);
    /* A sub with quotes is escaped in the payload and comes back intact. */
    n = gw_auth_jwt_mint(KEY, KEY_LEN, "a\"b\\c", NOW, 60, tok, sizeof(tok));
    assert_true(n > 0);
    assert_int_equal(verify(tok, &c), GW_JWT_OK);
    assert_string_equal(c.sub, "a\"b\\c");
}

/* Tampering: a payload re-encoded with another sub, one flipped signature
 * character, the signature of another key, a missing or truncated or
 * over-long signature. Catches a verifier that does not MAC the exact
 * header.payload bytes or compares only a prefix. */
static void
test_tampered(void **state)
{
    struct gw_jwt_claims c;
    char                 tok[1024], forged[2048], other[1024], p[256];
    char                *dot1, *dot2;

    (void) state;
    gw_auth_jwt_mint(KEY, KEY_LEN, "im-alice", NOW, 3600, tok, sizeof(tok));
    dot1 = strchr(tok, '.');
    dot2 = strchr(dot1 + 1, '.');

    /* Payload swapped for sub=im-mallory, signature kept. */
    gw_b64url_encode((const unsigned char *) "{\"sub\":\"im-mallory\","
                                             "\"exp\":1795863600}",
                     strlen("{\"sub\":\"im-mallory\",\"exp\":1795863600}"), p);
    snprintf(forged, sizeof(forged), "%.*s.%s%s", (int) (dot1 - tok), tok, p,
             dot2);
    assert_int_equal(verify(forged, &c), GW_JWT_SIGNATURE);

    /* One character of the signature changed. */
    snprintf(forged, sizeof(forged), "%s", tok);
    forged[(dot2 - tok) + 5] = forged[(dot2 - tok) + 5] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(forged, &c), GW_JWT_SIGNATURE);

    /* Signed with another key. */
    gw_auth_jwt_mint((const unsigned char *) "another-secret-0123456789", 25,
                     "im-alice", NOW, 3600, other, sizeof(other));
    assert_int_equal(verify(other, &c), GW_JWT_SIGNATURE);

    /* Signature removed ("unsigned": header.payload.). */
    snprintf(forged, sizeof(forged), "%.*s.", (int) (dot2 - tok), tok);
    assert_int_equal(verify(forged, &c), GW_JWT_SIGNATURE);

    /* Signature truncated / one byte too long. */
    snprintf(forged, sizeof(forged), "%.*s", (int) strlen(tok) - 4, tok);
    assert_int_equal(verify(forged, &c), GW_JWT_SIGNATURE);
    snprintf(forged, sizeof(forged), "%sAAAA", tok);
    assert_int_equal(verify(forged, &c), GW_JWT_SIGNATURE);

    /* Signature with non-canonical trailing bits (same 32 bytes). */
    snprintf(forged, sizeof(forged), "%s", tok);
    {
        char       *last = forged + strlen(forged) - 1;
        const char *alpha =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t idx = (size_t) (strchr(alpha, *last) - alpha);
        *last = alpha[idx | 1]; /* 43 chars: the low 2 bits are spare */
        if (*last != tok[strlen(tok) - 1]) {
            assert_int_equal(verify(forged, &c), GW_JWT_SIGNATURE);
        }
    }
}

/* Algorithms: only HS256. "none" (with or without a signature), HS512,
 * RS256, lower-case "hs256", a non-string alg, no alg, a typ other than
 * JWT and a crit header are refused before any claim is trusted. */
static void
test_algorithms(void **state)
{
    struct gw_jwt_claims c;
    char                 tok[1024], h[128], p[256];
    const char          *payload = "{\"sub\":\"u1\",\"exp\":1795863600}";

    (void) state;
    assert_int_equal(verify_header("{\"alg\":\"HS256\"}"), GW_JWT_OK);
    assert_int_equal(verify_header("{\"alg\":\"none\"}"), GW_JWT_ALG);
    assert_int_equal(verify_header("{\"alg\":\"HS512\",\"typ\":\"JWT\"}"),
                     GW_JWT_ALG);
    assert_int_equal(verify_header("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"),
                     GW_JWT_ALG);
    assert_int_equal(verify_header("{\"alg\":\"hs256\"}"), GW_JWT_ALG);
    assert_int_equal(verify_header("{\"alg\":256}"), GW_JWT_ALG);
    assert_int_equal(verify_header("{\"typ\":\"JWT\"}"), GW_JWT_ALG);
    assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"JWS\"}"),
                     GW_JWT_MALFORMED);
    assert_int_equal(verify_header("{\"alg\":\"HS256\",\"crit\":[\"x\"]}"),
                     GW_JWT_MALFORMED);
    /* Not an object / not JSON. */
    assert_int_equal(verify_header("[\"HS256\"]"), GW_JWT_MALFORMED);
    assert_int_equal(verify_header("\"HS256\""), GW_JWT_MALFORMED);
    assert_int_equal(verify_header("{\"alg\":\"HS256\""), GW_JWT_MALFORMED);

    /* alg none with an empty signature: the classic bypass. */
    gw_b64url_encode((const unsigned char *) "{\"alg\":\"none\"}", 14, h);
    gw_b64url_encode((const unsigned char *) payload, strlen(payload), p);
    snprintf(tok, sizeof(tok), "%s.%s.", h, p);
    assert_int_not_equal(verify(tok, &c), GW_JWT_OK);
    snprintf(tok, sizeof(tok), "%s.%s", h, p);
    assert_int_not_equal(verify(tok, &c), GW_JWT_OK);
}

/* Time claims: exp required and numeric; expired beyond the skew is
 * refused, within the skew accepted (boundary: exp + skew == now is
 * expired); iat/nbf in the future beyond the skew refused. */
static void
test_time_claims(void **state)
{
    char p[256];

    (void) state;
    assert_int_equal(verify_claims("{\"sub\":\"u1\"}"), GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":\"u1\",\"exp\":\"1795863600\"}"),
                     GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":\"u1\",\"exp\":null}"),
                     GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":\"u1\",\"exp\":-1}"),
                     GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":\"u1\",\"exp\":1e300}"),
                     GW_JWT_CLAIMS);

    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld}", NOW - SKEW - 1);
    assert_int_equal(verify_claims(p), GW_JWT_EXPIRED);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld}", NOW - SKEW);
    assert_int_equal(verify_claims(p), GW_JWT_EXPIRED);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld}", NOW - SKEW + 1);
    assert_int_equal(verify_claims(p), GW_JWT_OK);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld}", NOW - 1);
    assert_int_equal(verify_claims(p), GW_JWT_OK);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":0}");
    assert_int_equal(verify_claims(p), GW_JWT_EXPIRED);

    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 3600, NOW + SKEW + 1);
    assert_int_equal(verify_claims(p), GW_JWT_NOT_YET);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 3600, NOW + SKEW);
    assert_int_equal(verify_claims(p), GW_JWT_OK);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld,\"nbf\":%lld}",
             NOW + 3600, NOW + SKEW + 100);
    assert_int_equal(verify_claims(p), GW_JWT_NOT_YET);
    snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%lld,\"iat\":\"x\"}",
             NOW + 3600);
    assert_int_equal(verify_claims(p), GW_JWT_CLAIMS);
}

/* sub: a non-empty string of at most GW_USER_ID_MAX bytes. */
static void
test_sub_claim(void **state)
{
    char p[512], sub[GW_USER_ID_MAX + 2];

    (void) state;
    assert_int_equal(verify_claims("{\"exp\":1795863600}"), GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":42,\"exp\":1795863600}"),
                     GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":[\"u\"],\"exp\":1795863600}"),
                     GW_JWT_CLAIMS);
    assert_int_equal(verify_claims("{\"sub\":\"\",\"exp\":1795863600}"),
                     GW_JWT_CLAIMS);
    memset(sub, 'u', sizeof(sub));
    sub[GW_USER_ID_MAX] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"%s\",\"exp\":1795863600}", sub);
    assert_int_equal(verify_claims(p), GW_JWT_OK);
    sub[GW_USER_ID_MAX] = 'u';
    sub[GW_USER_ID_MAX + 1] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"%s\",\"exp\":1795863600}", sub);
    assert_int_equal(verify_claims(p), GW_JWT_CLAIMS);
    /* The payload must be an object. */
    assert_int_equal(verify_claims("[1]"), GW_JWT_MALFORMED);
    /* The identifier rule (issue 11): a NUL escape must not cut the sub to
     * "demo-user"; a trailing space, a control or non-ASCII is no id. */
    assert_int_equal(
        verify_claims("{\"sub\":\"demo-user\\u0000x\",\"exp\":1795863600}"),
        GW_JWT_MALFORMED);
    assert_int_equal(
        verify_claims("{\"sub\":\"demo-user \",\"exp\":1795863600}"),
        GW_JWT_CLAIMS);
    assert_int_equal(
        verify_claims("{\"sub\":\"demo\\tuser\",\"exp\":1795863600}"),
        GW_JWT_CLAIMS);
    assert_int_equal(
        verify_claims("{\"sub\":\"d\xc3\xa9mo\",\"exp\":1795863600}"),
        GW_JWT_CLAIMS);
    /* Invalid UTF-8 (a surrogate) anywhere in the payload. */
    assert_int_equal(
        verify_claims(
            "{\"sub\":\"u1\",\"x\":\"\xed\xa0\x80\",\"exp\":1795863600}"),
        GW_JWT_MALFORMED);
}

/* Minting refuses what verification would refuse. */
static void
test_mint_rule(void **state)
{
    char tok[1024];

    (void) state;
    assert_int_equal(
        gw_auth_jwt_mint(KEY, KEY_LEN, "demo-user ", NOW, 60, tok, sizeof(tok)),
        -1);
    assert_int_equal(
        gw_auth_jwt_mint(KEY, KEY_LEN, "", NOW, 60, tok, sizeof(tok)), -1);
}

/* Shapes: empty, no dots, one dot, extra dots, bad base64 in each part,
 * an empty part, an over-long token. */
static void
test_malformed(void **state)
{
    struct gw_jwt_claims c;
    char                 tok[1024], bad[8192];
    char                *dot1;

    (void) state;
    gw_auth_jwt_mint(KEY, KEY_LEN, "im-alice", NOW, 3600, tok, sizeof(tok));
    dot1 = strchr(tok, '.');

    assert_int_equal(gw_auth_jwt_verify(KEY, KEY_LEN, "", 0, NOW, SKEW, &c),
                     GW_JWT_MALFORMED);
    assert_int_equal(verify("abc", &c), GW_JWT_MALFORMED);
    assert_int_equal(verify("abc.def", &c), GW_JWT_MALFORMED);
    assert_int_equal(verify("..", &c), GW_JWT_MALFORMED);
    assert_int_equal(verify("...", &c), GW_JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s.", tok);
    assert_int_equal(verify(bad, &c), GW_JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s.xyz", tok);
    assert_int_equal(verify(bad, &c), GW_JWT_MALFORMED);
    /* Bad base64 in the header ('+' and '=' are not base64url). */
    snprintf(bad, sizeof(bad), "+%s", tok);
    assert_int_equal(verify(bad, &c), GW_JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%.*s=%s", (int) (dot1 - tok), tok, dot1);
    assert_int_equal(verify(bad, &c), GW_JWT_MALFORMED);
    /* Bad base64 in the payload: header fine, the MAC then fails first. */
    snprintf(bad, sizeof(bad), "%.*s.*%s", (int) (dot1 - tok), tok, dot1 + 1);
    assert_int_not_equal(verify(bad, &c), GW_JWT_OK);
    /* Whitespace around the token. */
    snprintf(bad, sizeof(bad), " %s", tok);
    assert_int_not_equal(verify(bad, &c), GW_JWT_OK);
    snprintf(bad, sizeof(bad), "%s ", tok);
    assert_int_not_equal(verify(bad, &c), GW_JWT_OK);
    /* Over GW_TOKEN_BYTES_MAX. */
    memset(bad, 'A', sizeof(bad) - 1);
    bad[sizeof(bad) - 1] = '\0';
    bad[10] = '.';
    bad[20] = '.';
    assert_int_equal(verify(bad, &c), GW_JWT_MALFORMED);
    /* Payload that decodes to something with a NUL byte. */
    {
        char          h[64], p[64], t[256];
        unsigned char mac[32];
        char          s[64];
        gw_b64url_encode((const unsigned char *) "{\"alg\":\"HS256\"}", 15, h);
        gw_b64url_encode((const unsigned char *) "{\"sub\":\"u\0\"}", 12, p);
        snprintf(t, sizeof(t), "%s.%s", h, p);
        gw_hmac_sha256(KEY, KEY_LEN, t, strlen(t), mac);
        gw_b64url_encode(mac, 32, s);
        snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%s", s);
        assert_int_equal(verify(t, &c), GW_JWT_MALFORMED);
    }
    /* Every reason has a text. */
    assert_string_equal(gw_auth_jwt_reason(GW_JWT_OK), "ok");
    assert_non_null(gw_auth_jwt_reason(GW_JWT_CLAIMS));
    assert_non_null(gw_auth_jwt_reason((enum gw_jwt_result) 99));
}

/* Admin keys: prefix + 43 base64url chars, random, hashed as SHA-256 hex. */
static void
test_admin_key(void **state)
{
    char k1[GW_ADMIN_KEY_LEN + 1], k2[GW_ADMIN_KEY_LEN + 1], h[65], h2[65];
    unsigned char raw[40];

    (void) state;
    assert_int_equal(gw_auth_admin_key_new(k1), 0);
    assert_int_equal(gw_auth_admin_key_new(k2), 0);
    assert_int_equal(strlen(k1), GW_ADMIN_KEY_LEN);
    assert_memory_equal(k1, GW_ADMIN_KEY_PREFIX, 7);
    assert_string_not_equal(k1, k2);
    assert_int_equal(gw_b64url_decode(k1 + 7, 43, raw, sizeof(raw)), 32);
    gw_auth_admin_key_hash(k1, strlen(k1), h);
    gw_sha256_hex(k1, strlen(k1), h2);
    assert_string_equal(h, h2);
    assert_int_equal(strlen(h), 64);
}

/*
 * The per-thread cache of verified tokens answers exactly what the full
 * path would: a token seen before is a hit, but one differing in its last
 * byte, verified with another key, or past its exp never is; nbf/iat are
 * judged at the time of the call.
 */
static void
test_cache(void **state)
{
    struct gw_jwt_claims c;
    char                 tok[1024], other[1024];
    uint64_t             hits;
    size_t               n;

    (void) state;
    gw_auth_jwt_cache_clear();
    gw_auth_jwt_mint(KEY, KEY_LEN, "im-alice", NOW, 3600, tok, sizeof(tok));
    n = strlen(tok);
    assert_int_equal(verify(tok, &c), GW_JWT_OK);
    hits = gw_auth_jwt_cache_hits();
    memset(&c, 0, sizeof(c));
    assert_int_equal(verify(tok, &c), GW_JWT_OK);
    assert_int_equal(gw_auth_jwt_cache_hits(), hits + 1);
    assert_string_equal(c.sub, "im-alice");
    assert_int_equal(c.exp, NOW + 3600);
    assert_int_equal(c.iat, NOW);

    /* The last byte (the signature's last character) changed; the same
     * token one byte shorter; the same token one byte longer. */
    memcpy(other, tok, n + 1);
    other[n - 1] = other[n - 1] == 'A' ? 'Q' : 'A';
    assert_int_equal(verify(other, &c), GW_JWT_SIGNATURE);
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n - 1, NOW, SKEW, &c),
        GW_JWT_SIGNATURE);
    snprintf(other, sizeof(other), "%sA", tok);
    assert_int_not_equal(verify(other, &c), GW_JWT_OK);
    /* A byte of the payload changed, the signature kept. */
    memcpy(other, tok, n + 1);
    other[strchr(tok, '.') - tok + 5] ^= 1;
    assert_int_not_equal(verify(other, &c), GW_JWT_OK);
    /* The same bytes under another key (one byte shorter, last differs). */
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN - 1, tok, n, NOW, SKEW, &c),
        GW_JWT_SIGNATURE);
    assert_int_equal(
        gw_auth_jwt_verify(
            (const unsigned char *) "0123456789abcdef-test-secreX\n", KEY_LEN,
            tok, n, NOW, SKEW, &c),
        GW_JWT_SIGNATURE);
    assert_int_equal(gw_auth_jwt_cache_hits(), hits + 1);
    /* Still a hit with the right key after the other key was tried. */
    assert_int_equal(verify(tok, &c), GW_JWT_OK);

    /* Time: at exp + skew the token is expired, cached or not; just
     * before exp a hit; inside the skew window after exp verified again. */
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n, NOW + 3600 + SKEW, SKEW, &c),
        GW_JWT_EXPIRED);
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n, NOW + 3600, 0, &c),
        GW_JWT_EXPIRED);
    hits = gw_auth_jwt_cache_hits();
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n, NOW + 3599, SKEW, &c),
        GW_JWT_OK);
    assert_int_equal(gw_auth_jwt_cache_hits(), hits + 1);
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n, NOW + 3600, SKEW, &c),
        GW_JWT_OK);
    assert_int_equal(gw_auth_jwt_cache_hits(), hits + 1);
    /* iat is NOW: before NOW - skew it is not yet valid, cached or not. */
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n, NOW - SKEW - 1, SKEW, &c),
        GW_JWT_NOT_YET);
    /* A refused token is never remembered: an expired one stays expired
     * and a later call at a valid time is a miss, not a stale answer. */
    gw_auth_jwt_cache_clear();
    assert_int_equal(
        gw_auth_jwt_verify(KEY, KEY_LEN, tok, n, NOW + 7200, SKEW, &c),
        GW_JWT_EXPIRED);
    assert_int_equal(verify(tok, &c), GW_JWT_OK);
    assert_int_equal(gw_auth_jwt_cache_hits(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_verify), cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_algorithms),  cmocka_unit_test(test_time_claims),
        cmocka_unit_test(test_sub_claim),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_admin_key),   cmocka_unit_test(test_mint_rule),
        cmocka_unit_test(test_cache),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
