/*
 * fuzz_jwt.c — libFuzzer harness for IM token verification (gw_auth.c)
 * and the base64url decoder it relies on (gw_util.c).
 *
 * Invariants checked: no crash/UB on any bytes; a random token never
 * verifies under the fixed key unless it carries the right MAC (the
 * harness re-signs half the inputs so claim parsing is reached too);
 * decode(encode(x)) == x.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_auth.h"
#include "gw_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char KEY[] = "fuzz-key-0123456789abcdef";
#define NOW 1795860000LL

/* Re-signs "h.p" with KEY so the fuzzer reaches the claims checks. */
static size_t
resign(const uint8_t *data, size_t size, char *out, size_t cap)
{
    unsigned char  mac[32];
    const uint8_t *dot1 = memchr(data, '.', size), *dot2;
    size_t         n;

    if (dot1 == NULL) {
        return 0;
    }
    dot2 = memchr(dot1 + 1, '.', size - (size_t) (dot1 + 1 - data));
    n = dot2 ? (size_t) (dot2 - data) : size;
    if (n + 1 + GW_B64URL_LEN(32) + 1 > cap) {
        return 0;
    }
    memcpy(out, data, n);
    gw_hmac_sha256(KEY, sizeof(KEY) - 1, out, n, mac);
    out[n] = '.';
    return n + 1 + gw_b64url_encode(mac, 32, out + n + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_jwt_claims c;
    enum gw_jwt_result   res;
    unsigned char        dec[8192];
    char                 enc[GW_B64URL_LEN(8192) + 1], *tok, *signed_tok;
    long                 n;
    size_t               len;

    /* Exactly size bytes, not NUL-terminated. */
    tok = malloc(size ? size : 1);
    if (tok == NULL) {
        return 0;
    }
    memcpy(tok, data, size);
    res = gw_auth_jwt_verify(KEY, sizeof(KEY) - 1, tok, size, NOW, 60, &c);
    (void) gw_auth_jwt_reason(res);

    signed_tok = malloc(size + 64);
    if (signed_tok != NULL) {
        len = resign(data, size, signed_tok, size + 64);
        /* Accepted means: exactly header.payload.HMAC — anything else
         * verifying is a forged token. */
        if (res == GW_JWT_OK
            && (len != size || memcmp(signed_tok, data, size) != 0)) {
            abort();
        }
        if (len > 0) {
            res = gw_auth_jwt_verify(KEY, sizeof(KEY) - 1, signed_tok, len, NOW,
                                     60, &c);
            if (res == GW_JWT_OK
                && (c.sub[0] == '\0' || strlen(c.sub) > GW_USER_ID_MAX
                    || c.exp + 60 <= NOW)) {
                abort();
            }
        }
        free(signed_tok);
    }

    /* base64url: decode anything; encode/decode round trip. */
    n = gw_b64url_decode(tok, size, dec, sizeof(dec));
    if (n >= 0) {
        len = gw_b64url_encode(dec, (size_t) n, enc);
        if (len != size || memcmp(enc, tok, size) != 0) {
            abort(); /* canonical encoding only */
        }
    }
    if (size <= sizeof(dec)) {
        len = gw_b64url_encode(data, size, enc);
        if (gw_b64url_decode(enc, len, dec, sizeof(dec)) != (long) size
            || memcmp(dec, data, size) != 0) {
            abort();
        }
    }
    free(tok);
    return 0;
}
