/*
 * gw_util.h — small pure helpers shared by every layer: encodings, hashes,
 * HMAC, randomness, time, strict number parsing, a growable buffer.
 * All functions are thread-safe. None allocates unless it says so.
 */
#ifndef GW_UTIL_H
#define GW_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the base64url (no padding) encoding of n bytes. */
#define GW_B64URL_LEN(n) (((n) *4 + 2) / 3)

/* Encodes n bytes of in to out (out needs GW_B64URL_LEN(n) + 1). */
size_t gw_b64url_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decodes base64url without padding. Returns the decoded length, or -1 on
 * a bad character, a bad length or when out (of size cap) is too small.
 */
long gw_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void gw_hex_encode(const unsigned char *in, size_t n, char *out);

/* SHA-256 of data as 64 hex chars + NUL into out[65]. */
void gw_sha256_hex(const void *data, size_t n, char out[65]);

/* HMAC-SHA256(key, data) into mac[32]. */
void gw_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                    unsigned char mac[32]);

/*
 * FNV-1a (64-bit) of n bytes, or of a string: slots of in-process tables
 * and caches. Not for anything an attacker must not predict.
 */
uint64_t gw_hash_bytes(const void *p, size_t n);
uint64_t gw_hash_str(const char *s);

/* Constant-time equality of two n-byte regions: 1 equal, 0 not. */
int gw_ct_equal(const void *a, const void *b, size_t n);

/* n cryptographically random bytes; 0 or -1. */
int gw_random_bytes(void *buf, size_t n);

/* Wall clock in seconds / milliseconds; monotonic clock in microseconds. */
int64_t gw_now_s(void);
int64_t gw_now_ms(void);
int64_t gw_mono_us(void);

/* RFC 3339 UTC ("2026-11-28T10:00:00Z") of a Unix time into out[21+]. */
void gw_time_rfc3339(int64_t t, char *out, size_t cap);

/* Same with milliseconds ("...T10:00:00.123Z") into out[25+]. */
void gw_time_rfc3339_ms(int64_t t_ms, char *out, size_t cap);

/*
 * Strict decimal int64: optional '-', digits only, no spaces, no overflow.
 * Returns 0 and sets *out, or -1.
 */
int gw_parse_i64(const char *s, size_t n, int64_t *out);

/* v in decimal into out (NUL-terminated), without printf; its length. */
#define GW_I64_TEXT_MAX 24
size_t gw_i64_text(char out[GW_I64_TEXT_MAX], int64_t v);

/*
 * A Redis key whose hash tag is tag: prefix "{" tag "}" suffix into
 * out[cap] (every key of one user, one lobby, one game lands in one Cluster
 * slot). 0, or -1 and out empty when it does not fit.
 */
int gw_tagged_key(char *out, size_t cap, const char *prefix, const char *tag,
                  const char *suffix);

/* 1 when s (len n) is 1..max printable ASCII (0x21..0x7e), else 0. */
int gw_is_token(const char *s, size_t n, size_t max);

/* A growable byte buffer (malloc'd); always NUL-terminated when data != 0. */
struct gw_buf {
    char  *data;
    size_t len;
    size_t cap;
};

/* Ensures room for n more bytes; 0 or -1 (out of memory, or the buffer
 * would pass GW_BUF_BYTES_MAX). */
int gw_buf_reserve(struct gw_buf *b, size_t n);
int gw_buf_append(struct gw_buf *b, const void *p, size_t n);
int gw_buf_appends(struct gw_buf *b, const char *s);
int gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int gw_buf_vprintf(struct gw_buf *b, const char *fmt, va_list ap);

/*
 * UTF-8 (RFC 3629), the one checker of the code base. gw_utf8_seq_len:
 * length (1..4) of the well-formed sequence at p within n bytes, 0 when
 * invalid (stray continuation, truncated, overlong, surrogate ED A0..BF,
 * above U+10FFFF). gw_utf8_chars: code points in s[0..n), -1 when not
 * valid UTF-8. gw_utf8_valid: 1 valid, 0 not. NUL counts as a character
 * here; callers that refuse it say so.
 */
size_t gw_utf8_seq_len(const unsigned char *p, size_t n);
long   gw_utf8_chars(const char *s, size_t n);
int    gw_utf8_valid(const char *s, size_t n);

/*
 * The identifier rule for IM user ids everywhere (JWT sub, gift_to, admin
 * bodies): 1..GW_USER_ID_MAX bytes of printable ASCII (0x21..0x7e), so no
 * spaces, controls or non-ASCII; ids are compared byte for byte. 1 or 0.
 */
int gw_user_id_valid(const char *s, size_t n);

/*
 * The one JSON-string escaper of the code base: writes s[0..n) escaped
 * (without quotes) into out, at most cap bytes, never splitting a UTF-8
 * sequence or an escape. '"' '\' and controls (C0, DEL) become escapes;
 * bytes that are not valid UTF-8 become �, so the output is always
 * valid UTF-8 JSON. Returns bytes written; *consumed (may be NULL) gets how
 * much of s was used (less than n when out was full). Not NUL-terminated.
 */
size_t gw_json_escape(char *out, size_t cap, const char *s, size_t n,
                      size_t *consumed);

/* Appends s as a JSON string literal (with quotes), via gw_json_escape. */
int gw_buf_append_json_str(struct gw_buf *b, const char *s);

/* Frees data and zeroes the buffer. */
void gw_buf_free(struct gw_buf *b);

#endif /* GW_UTIL_H */
