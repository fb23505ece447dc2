/*
 * cat_link.c — download link tokens (see cat_link.h for the layout).
 */
#include <string.h>

#include "cat_link.h"
#include "gw_util.h"

static const char *const cat_link_formats[] = {"midi", "amr", "mp3"};

#define CAT_LINK_NFORMATS                                                      \
    (sizeof(cat_link_formats) / sizeof(cat_link_formats[0]))
#define CAT_LINK_RAW_BYTES (CAT_LINK_PAYLOAD_BYTES + CAT_LINK_TAG_BYTES)

static void
cat_link_put64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char) (v & 0xff);
        v >>= 8;
    }
}

static uint64_t
cat_link_get64(const unsigned char *p)
{
    uint64_t v = 0;
    int      i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

int
cat_link_sign(const unsigned char *key, size_t key_len,
              const struct cat_link *link, char *out, size_t cap)
{
    unsigned char raw[CAT_LINK_RAW_BYTES], mac[32];
    size_t        f;

    for (f = 0; f < CAT_LINK_NFORMATS; f++) {
        if (link->format != NULL
            && strcmp(link->format, cat_link_formats[f]) == 0) {
            break;
        }
    }
    if (f == CAT_LINK_NFORMATS || cap < GW_B64URL_LEN(sizeof(raw)) + 1) {
        return -1;
    }
    raw[0] = CAT_LINK_VERSION;
    cat_link_put64(raw + 1, (uint64_t) link->entitlement_id);
    raw[9] = (unsigned char) f;
    cat_link_put64(raw + 10, (uint64_t) link->expires_s);
    gw_hmac_sha256(key, key_len, raw, CAT_LINK_PAYLOAD_BYTES, mac);
    memcpy(raw + CAT_LINK_PAYLOAD_BYTES, mac, CAT_LINK_TAG_BYTES);
    gw_b64url_encode(raw, sizeof(raw), out);
    return 0;
}

int
cat_link_verify(const unsigned char *key, size_t key_len, const char *token,
                struct cat_link *link)
{
    unsigned char raw[CAT_LINK_RAW_BYTES + 4], mac[32];
    size_t        len = strlen(token);
    long          n;

    if (len != GW_B64URL_LEN((size_t) CAT_LINK_RAW_BYTES)) {
        return -1;
    }
    n = gw_b64url_decode(token, len, raw, sizeof(raw));
    if (n != CAT_LINK_RAW_BYTES) {
        return -1;
    }
    gw_hmac_sha256(key, key_len, raw, CAT_LINK_PAYLOAD_BYTES, mac);
    if (!gw_ct_equal(mac, raw + CAT_LINK_PAYLOAD_BYTES, CAT_LINK_TAG_BYTES)) {
        return -1;
    }
    if (raw[0] != CAT_LINK_VERSION || raw[9] >= CAT_LINK_NFORMATS) {
        return -1;
    }
    link->entitlement_id = (int64_t) cat_link_get64(raw + 1);
    link->format = cat_link_formats[raw[9]];
    link->expires_s = (int64_t) cat_link_get64(raw + 10);
    return 0;
}
