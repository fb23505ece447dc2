/*
 * cat_link.h — signed, expiring download links (docs/store.md, "Links").
 *
 * A token is base64url(payload || tag): payload = version (1 byte),
 * entitlement id (8, big-endian), format index (1), expiry Unix seconds
 * (8); tag = the first CAT_LINK_TAG_BYTES of HMAC-SHA256(secret, payload).
 * Nothing is stored: the signature proves we issued it, the expiry is in
 * it, and revocation is checked against the entitlement at download time.
 * Pure functions, thread-safe, no allocation.
 */
#ifndef CAT_LINK_H
#define CAT_LINK_H

#include <stddef.h>
#include <stdint.h>

#define CAT_LINK_VERSION       1
#define CAT_LINK_PAYLOAD_BYTES 18
#define CAT_LINK_TAG_BYTES     16
#define CAT_LINK_TOKEN_MAX     64 /* base64url of 34 bytes is 46 chars */

struct cat_link {
    int64_t     entitlement_id;
    const char *format; /* "midi" | "amr" | "mp3" */
    int64_t     expires_s;
};

/* Writes the token for link into out[cap]. 0, or -1 (unknown format). */
int cat_link_sign(const unsigned char *key, size_t key_len,
                  const struct cat_link *link, char *out, size_t cap);

/*
 * Verifies token (constant-time tag compare) and fills *link. Returns 0,
 * or -1 for anything malformed or tampered (expiry is NOT checked here:
 * the caller compares link->expires_s with the clock).
 */
int cat_link_verify(const unsigned char *key, size_t key_len, const char *token,
                    struct cat_link *link);

#endif /* CAT_LINK_H */
