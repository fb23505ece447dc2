/*
 * gw_util.c — encodings, hashing and time helpers (OpenSSL for the crypto).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gw_limits.h"
#include "gw_util.h"

#define GW_SHA256_BLOCK 64 /* SHA-256 block bytes (HMAC key length) */
#define GW_RFC3339_HEAD 19 /* "YYYY-MM-DDTHH:MM:SS" */

static const char gw_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
gw_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t   i, o = 0;
    uint32_t v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        out[o++] = gw_b64url_alphabet[(v >> 18) & 63];
        out[o++] = gw_b64url_alphabet[(v >> 12) & 63];
        out[o++] = gw_b64url_alphabet[(v >> 6) & 63];
        out[o++] = gw_b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        v = (uint32_t) in[i] << 16;
        out[o++] = gw_b64url_alphabet[(v >> 18) & 63];
        out[o++] = gw_b64url_alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
        out[o++] = gw_b64url_alphabet[(v >> 18) & 63];
        out[o++] = gw_b64url_alphabet[(v >> 12) & 63];
        out[o++] = gw_b64url_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static int
gw_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long
gw_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    size_t   i, o = 0, rem = n % 4;
    uint32_t v = 0;
    int      d, bits = 0;

    if (rem == 1) {
        return -1;
    }
    if ((n / 4) * 3 + (rem ? rem - 1 : 0) > cap) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        d = gw_b64url_value((unsigned char) in[i]);
        if (d < 0) {
            return -1;
        }
        v = (v << 6) | (uint32_t) d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char) (v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero (canonical encoding only). */
    if (v != 0) {
        return -1;
    }
    return (long) o;
}

void
gw_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t            i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/*
 * SHA-256 fetched once per process. OpenSSL 3's one-shot SHA256() and
 * HMAC(EVP_sha256()) fetch the algorithm on every call, under the
 * library's property-cache lock: 2.1 us per HMAC of a JWT single-threaded
 * against 0.67 us with this digest, and under 128 threads the fetch was 9%
 * of a worker's CPU on GET /v1/library. NULL when the fetch failed: the
 * one-shot calls then.
 */
static EVP_MD        *gw_sha256_md;
static pthread_once_t gw_sha256_once = PTHREAD_ONCE_INIT;

static void
gw_sha256_fetch(void)
{
    gw_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
gw_sha256(void)
{
    pthread_once(&gw_sha256_once, gw_sha256_fetch);
    return gw_sha256_md;
}

void
gw_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    if (gw_sha256() == NULL
        || EVP_Digest(data, n, md, NULL, gw_sha256(), NULL) != 1) {
        SHA256(data, n, md);
    }
    gw_hex_encode(md, sizeof(md), out);
}

/* H(key ^ pad || a || b) into out[32]; 1 or 0. */
static int
gw_hmac_pass(EVP_MD_CTX *ctx, const unsigned char k[GW_SHA256_BLOCK],
             unsigned char pad, const void *a, size_t na, unsigned char *out)
{
    unsigned char p[GW_SHA256_BLOCK];
    size_t        i;
    int           ok;

    for (i = 0; i < sizeof(p); i++) {
        p[i] = k[i] ^ pad;
    }
    ok = EVP_DigestInit_ex(ctx, gw_sha256(), NULL) == 1
        && EVP_DigestUpdate(ctx, p, sizeof(p)) == 1
        && EVP_DigestUpdate(ctx, a, na) == 1
        && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    OPENSSL_cleanse(p, sizeof(p));
    return ok;
}

/* RFC 2104 on the fetched digest. */
void
gw_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
               unsigned char mac[32])
{
    unsigned char k[GW_SHA256_BLOCK] = {0}, inner[SHA256_DIGEST_LENGTH];
    unsigned int  len = 32;
    EVP_MD_CTX   *ctx = gw_sha256() ? EVP_MD_CTX_new() : NULL;
    int           ok = ctx != NULL;

    if (ok && key_len > sizeof(k)) {
        ok = EVP_Digest(key, key_len, k, NULL, gw_sha256(), NULL) == 1;
    } else if (ok) {
        memcpy(k, key, key_len);
    }
    ok = ok && gw_hmac_pass(ctx, k, 0x36, data, n, inner)
        && gw_hmac_pass(ctx, k, 0x5c, inner, sizeof(inner), mac);
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        HMAC(EVP_sha256(), key, (int) key_len, data, n, mac, &len);
    }
}

#define GW_FNV1A_BASIS 14695981039346656037ULL
#define GW_FNV1A_PRIME 1099511628211ULL

uint64_t
gw_hash_bytes(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t             h = GW_FNV1A_BASIS;
    size_t               i;

    for (i = 0; i < n; i++) {
        h = (h ^ c[i]) * GW_FNV1A_PRIME;
    }
    return h;
}

uint64_t
gw_hash_str(const char *s)
{
    uint64_t h = GW_FNV1A_BASIS;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char) *s) * GW_FNV1A_PRIME;
    }
    return h;
}

int
gw_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * OpenSSL's DRBG: per thread, seeded from the kernel and reseeded after a
 * fork (a worker never repeats its master's or a sibling's bytes). It
 * replaced a getrandom(2) per call: ~3.6 system calls per lobby request
 * for notification ids and claim tokens, each one a VM exit here.
 *
 * Small requests (ids, tokens: up to GW_RANDOM_SMALL bytes) are served
 * from a per-thread block of GW_RANDOM_BLOCK bytes of RAND_bytes output:
 * OpenSSL 3.0's RAND_bytes calls getpid(2) on every call (its own fork
 * check) and takes its DRBG's lock, ~3.8 system calls per lobby join or
 * leave. The block is the same DRBG's output, each byte handed out once
 * and wiped as it leaves; a fork (pthread_atfork) drops the block in the
 * child, so a child never repeats its parent's bytes. Larger requests
 * (keys) go to RAND_bytes directly.
 */
struct gw_random_block {
    unsigned      gen; /* gw_random_gen when filled */
    size_t        avail;
    unsigned char b[GW_RANDOM_BLOCK];
};

static __thread struct gw_random_block gw_random_tls;
static unsigned                        gw_random_gen = 1;
static pthread_once_t                  gw_random_once = PTHREAD_ONCE_INIT;

/* In the child, whose only thread is the one that forked. */
static void
gw_random_forked(void)
{
    gw_random_gen++;
    gw_random_tls.avail = 0;
}

static void
gw_random_register(void)
{
    (void) pthread_atfork(NULL, NULL, gw_random_forked);
}

int
gw_random_bytes(void *buf, size_t n)
{
    struct gw_random_block *t = &gw_random_tls;
    unsigned char          *src;

    if (n > INT_MAX) {
        return -1;
    }
    if (n > GW_RANDOM_SMALL) {
        return RAND_bytes(buf, (int) n) == 1 ? 0 : -1;
    }
    (void) pthread_once(&gw_random_once, gw_random_register);
    if (t->gen != gw_random_gen || t->avail < n) {
        t->avail = 0;
        if (RAND_bytes(t->b, (int) sizeof(t->b)) != 1) {
            return -1;
        }
        t->gen = gw_random_gen;
        t->avail = sizeof(t->b);
    }
    src = t->b + sizeof(t->b) - t->avail;
    memcpy(buf, src, n);
    OPENSSL_cleanse(src, n);
    t->avail -= n;
    return 0;
}

int64_t
gw_now_s(void)
{
    return (int64_t) time(NULL);
}

int64_t
gw_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gw_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
gw_time_rfc3339(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t    tt = (time_t) t;

    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The date and time of the second last formatted by this thread: a lobby
 * request formats the same second a dozen times (each notification's
 * created_at twice, each member's join time), gmtime_r and snprintf each.
 */
struct gw_time_memo {
    int64_t sec; /* -1: none */
    char    head[GW_RFC3339_HEAD + 1];
};

static __thread struct gw_time_memo gw_time_memo = {-1, ""};

void
gw_time_rfc3339_ms(int64_t t_ms, char *out, size_t cap)
{
    struct gw_time_memo *m = &gw_time_memo;
    struct tm            tm;
    time_t               tt = (time_t) (t_ms / 1000);
    int                  ms = (int) (t_ms % 1000), n;

    if (t_ms >= 0 && cap > GW_RFC3339_HEAD + 5) {
        if (m->sec != t_ms / 1000) {
            gmtime_r(&tt, &tm);
            n = snprintf(m->head, sizeof(m->head),
                         "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
            m->sec = n == GW_RFC3339_HEAD ? t_ms / 1000 : -1;
        }
        if (m->sec == t_ms / 1000) {
            memcpy(out, m->head, GW_RFC3339_HEAD);
            out += GW_RFC3339_HEAD;
            *out++ = '.';
            *out++ = (char) ('0' + ms / 100);
            *out++ = (char) ('0' + ms / 10 % 10);
            *out++ = (char) ('0' + ms % 10);
            *out++ = 'Z';
            *out = '\0';
            return;
        }
    }
    gmtime_r(&tt, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

int
gw_parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0, limit;
    size_t   i = 0;
    int      neg = 0;

    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || n - i > 19) {
        return -1;
    }
    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        if (v > (limit - (uint64_t) (s[i] - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    if (neg) {
        *out = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
    } else {
        *out = (int64_t) v;
    }
    return 0;
}

/* Key names and numbers for Redis are built on every lobby transition and
 * notification: snprintf's format parsing showed in the workers' profile. */
size_t
gw_i64_text(char out[GW_I64_TEXT_MAX], int64_t v)
{
    char     d[GW_I64_TEXT_MAX];
    uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
    size_t   k = 0, n = 0;

    do {
        d[k++] = (char) ('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0) {
        out[n++] = '-';
    }
    while (k > 0) {
        out[n++] = d[--k];
    }
    out[n] = '\0';
    return n;
}

int
gw_tagged_key(char *out, size_t cap, const char *prefix, const char *tag,
              const char *suffix)
{
    size_t p = strlen(prefix), t = strlen(tag), x = strlen(suffix);

    if (p + t + x + 3 > cap) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return -1;
    }
    memcpy(out, prefix, p);
    out[p] = '{';
    memcpy(out + p + 1, tag, t);
    out[p + 1 + t] = '}';
    memcpy(out + p + 2 + t, suffix, x + 1);
    return 0;
}

int
gw_is_token(const char *s, size_t n, size_t max)
{
    size_t i;

    if (n == 0 || n > max) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

int
gw_buf_reserve(struct gw_buf *b, size_t n)
{
    size_t cap;
    char  *p;

    /* A size cap: a runaway producer fails here instead of eating the
     * host's memory; checked first, so len + n + 1 cannot wrap around. */
    if (n > GW_BUF_BYTES_MAX || b->len + n + 1 > GW_BUF_BYTES_MAX) {
        return -1;
    }
    if (b->len + n + 1 <= b->cap) {
        return 0;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
gw_buf_append(struct gw_buf *b, const void *p, size_t n)
{
    if (gw_buf_reserve(b, n) != 0) {
        return -1;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
gw_buf_appends(struct gw_buf *b, const char *s)
{
    return gw_buf_append(b, s, strlen(s));
}

int
gw_buf_vprintf(struct gw_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int     n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || gw_buf_reserve(b, (size_t) n) != 0) {
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
    return 0;
}

int
gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = gw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * The one UTF-8 checker of the code base (RFC 3629): the length of the
 * well-formed sequence at p (1..4), or 0 for a stray continuation byte, a
 * truncated sequence, an overlong form, a surrogate (ED A0..BF) or a code
 * point above U+10FFFF. Reads at most n bytes.
 */
size_t
gw_utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t i, len;

    if (n == 0) {
        return 0;
    }
    if (p[0] < 0x80) {
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f)
        || (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f)) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return len;
}

long
gw_utf8_chars(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0, k;
    long                 chars = 0;

    while (i < n) {
        k = gw_utf8_seq_len(p + i, n - i);
        if (k == 0) {
            return -1;
        }
        i += k;
        chars++;
    }
    return chars;
}

int
gw_utf8_valid(const char *s, size_t n)
{
    return gw_utf8_chars(s, n) >= 0;
}

int
gw_user_id_valid(const char *s, size_t n)
{
    return gw_is_token(s, n, GW_USER_ID_MAX);
}

/* The escaped form of one unit at p (len k, 0 = invalid) into esc. */
static size_t
gw_json_escape_unit(const unsigned char *p, size_t k, char esc[8])
{
    static const char hex[] = "0123456789abcdef";

    if (k == 0) {
        memcpy(esc, "\\ufffd", 6); /* JSON text is UTF-8 (RFC 8259) */
        return 6;
    }
    if (k > 1) {
        memcpy(esc, p, k);
        return k;
    }
    if (*p == '"' || *p == '\\') {
        esc[0] = '\\';
        esc[1] = (char) *p;
        return 2;
    }
    if (*p < 0x20) {
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[*p >> 4];
        esc[5] = hex[*p & 15];
        return 6;
    }
    esc[0] = (char) *p;
    return 1;
}

size_t
gw_json_escape(char *out, size_t cap, const char *s, size_t n, size_t *consumed)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0, o = 0, k, e;
    char                 esc[8];

    while (i < n) {
        /* Printable ASCII other than '"' and '\\' stands for itself: a run
         * of it is copied without a call per byte (every access line's
         * fields are such runs). */
        for (k = i; k < n && (unsigned) (p[k] - 0x20) < 0x5f && p[k] != '"'
             && p[k] != '\\';
             k++) {
        }
        e = k - i < cap - o ? k - i : cap - o;
        if (e > 0) {
            memcpy(out + o, p + i, e);
            o += e;
            i += e;
        }
        if (i == n || o == cap) {
            break;
        }
        k = gw_utf8_seq_len(p + i, n - i);
        e = gw_json_escape_unit(p + i, k, esc);
        if (o + e > cap) {
            break; /* never a split sequence or escape */
        }
        memcpy(out + o, esc, e);
        o += e;
        i += k ? k : 1;
    }
    if (consumed != NULL) {
        *consumed = i;
    }
    return o;
}

int
gw_buf_append_json_str(struct gw_buf *b, const char *s)
{
    size_t n = strlen(s);

    if (gw_buf_reserve(b, n * 6 + 2) != 0) {
        return -1;
    }
    b->data[b->len++] = '"';
    b->len += gw_json_escape(b->data + b->len, n * 6, s, n, NULL);
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return 0;
}

void
gw_buf_free(struct gw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
