/*
 * test_gw_util.c — base64url, strict integers, tokens, JSON string escaping,
 * hex/hash/HMAC helpers and the growable buffer (gateway/gw_util.c), and
 * the arena's printf (gateway/gw_arena.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "gw_arena.h"
#include "gw_limits.h"
#include "gw_util.h"

/* Round trips of every length 0..64 and every byte value: catches a wrong
 * tail (1 or 2 leftover bytes) in either direction. */
static void
test_b64url_round_trip(void **state)
{
    unsigned char in[64], out[64];
    char          enc[GW_B64URL_LEN(64) + 1];
    size_t        n, i, elen;
    long          dlen;

    (void) state;
    for (i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char) (i * 37 + 0xF0);
    }
    for (n = 0; n <= sizeof(in); n++) {
        elen = gw_b64url_encode(in, n, enc);
        assert_int_equal(elen, GW_B64URL_LEN(n));
        assert_int_equal(strlen(enc), elen);
        assert_null(strpbrk(enc, "+/="));
        dlen = gw_b64url_decode(enc, elen, out, sizeof(out));
        assert_int_equal(dlen, (long) n);
        assert_memory_equal(in, out, n);
    }
}

/* Known vectors (RFC 4648 section 10, url alphabet, no padding): catches
 * a wrong alphabet or bit order that a pure round trip would not see. */
static void
test_b64url_vectors(void **state)
{
    static const struct {
        const char *plain, *enc;
    } v[] = {
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
        {"\xfb\xff", "-_8"},
    };
    char          enc[32];
    unsigned char dec[32];
    size_t        i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        gw_b64url_encode((const unsigned char *) v[i].plain, strlen(v[i].plain),
                         enc);
        assert_string_equal(enc, v[i].enc);
        assert_int_equal(
            gw_b64url_decode(v[i].enc, strlen(v[i].enc), dec, sizeof(dec)),
            (long) strlen(v[i].plain));
        assert_memory_equal(dec, v[i].plain, strlen(v[i].plain));
    }
}

/* Invalid inputs: standard-alphabet chars, padding, a length of 4k+1,
 * NUL/space inside, non-canonical trailing bits (a second encoding of the
 * same bytes would let a tampered token verify), and a too-small out. */
static void
test_b64url_invalid(void **state)
{
    unsigned char out[16];

    (void) state;
    assert_int_equal(gw_b64url_decode("Zm9v+A", 6, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm9v/A", 6, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zg==", 4, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm9vY", 5, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("A", 1, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm\0v", 4, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm v", 4, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm9\x80", 4, out, sizeof(out)), -1);
    /* "Zg" is 'f'; "Zh" carries the same byte with non-zero spare bits. */
    assert_int_equal(gw_b64url_decode("Zg", 2, out, sizeof(out)), 1);
    assert_int_equal(gw_b64url_decode("Zh", 2, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm9", 3, out, sizeof(out)), -1);
    assert_int_equal(gw_b64url_decode("Zm8", 3, out, sizeof(out)), 2);
    /* Capacity: 6 bytes do not fit in 5; 4 chars need 3 bytes. */
    assert_int_equal(gw_b64url_decode("Zm9vYmFy", 8, out, 5), -1);
    assert_int_equal(gw_b64url_decode("Zm9vYmFy", 8, out, 6), 6);
    assert_int_equal(gw_b64url_decode("Zm9v", 4, out, 2), -1);
    assert_int_equal(gw_b64url_decode("", 0, out, 0), 0);
}

/* Strict integers: overflow at both edges (a wrap would turn a huge value
 * into a small or negative one), signs, spaces, empty, 20 digits. */
static void
test_parse_i64(void **state)
{
    int64_t v = 42;

    (void) state;
#define OK(s, want)                                                            \
    do {                                                                       \
        assert_int_equal(gw_parse_i64(s, strlen(s), &v), 0);                   \
        assert_true(v == (want));                                              \
    } while (0)
#define BAD(s) assert_int_equal(gw_parse_i64(s, strlen(s), &v), -1)
    OK("0", 0);
    OK("-0", 0);
    OK("7", 7);
    OK("-7", -7);
    OK("000123", 123);
    OK("9223372036854775807", INT64_MAX);
    OK("-9223372036854775808", INT64_MIN);
    OK("-9223372036854775807", -INT64_MAX);
    BAD("9223372036854775808");
    BAD("9223372036854775810");
    BAD("-9223372036854775809");
    BAD("18446744073709551615");
    BAD("18446744073709551616");
    BAD("99999999999999999999");
    BAD("00000000000000000001"); /* 20 digits */
    BAD("");
    BAD("-");
    BAD("+1");
    BAD(" 1");
    BAD("1 ");
    BAD("1a");
    BAD("0x10");
    BAD("1.0");
    BAD("--1");
#undef OK
#undef BAD
    /* n bounds the read: "12" out of "123". */
    assert_int_equal(gw_parse_i64("123", 2, &v), 0);
    assert_true(v == 12);
    /* A NUL within n is not a digit. */
    assert_int_equal(gw_parse_i64("1\0"
                                  "2",
                                  3, &v),
                     -1);
}

/* Printable ASCII 1..max: catches control chars, DEL, high bytes (signed
 * char), space, empty and over-long keys reaching SQL/lock names. */
static void
test_is_token(void **state)
{
    char long_key[300];

    (void) state;
    assert_int_equal(gw_is_token("abc-123_~!", 10, 255), 1);
    assert_int_equal(gw_is_token("", 0, 255), 0);
    assert_int_equal(gw_is_token("a b", 3, 255), 0);
    assert_int_equal(gw_is_token("a\tb", 3, 255), 0);
    assert_int_equal(gw_is_token("a\x7f", 2, 255), 0);
    assert_int_equal(gw_is_token("a\x80", 2, 255), 0);
    assert_int_equal(gw_is_token("\xff", 1, 255), 0);
    assert_int_equal(gw_is_token("a\0b", 3, 255), 0);
    memset(long_key, 'k', sizeof(long_key));
    assert_int_equal(gw_is_token(long_key, 255, 255), 1);
    assert_int_equal(gw_is_token(long_key, 256, 255), 0);
}

/* The size cap: a request past GW_BUF_BYTES_MAX (or one whose size would
 * overflow the doubling) fails and leaves the buffer as it was; a runaway
 * producer cannot eat the host's memory. */
static void
test_buf_size_cap(void **state)
{
    struct gw_buf b = {0};

    (void) state;
    assert_int_equal(gw_buf_append(&b, "abc", 3), 0);
    assert_int_equal(gw_buf_reserve(&b, GW_BUF_BYTES_MAX), -1);
    assert_int_equal(gw_buf_reserve(&b, (size_t) -1), -1);
    assert_int_equal(gw_buf_reserve(&b, 1024 * 1024), 0);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    gw_buf_free(&b);
}

/* Escaping: quotes, backslashes and every control byte must come out as
 * JSON that parses back to the same string (a raw newline or quote in a
 * problem detail or log line breaks the document). */
static void
test_buf_append_json_str(void **state)
{
    struct gw_buf b = {0};
    char          in[40];
    cJSON        *j;
    int           i;

    (void) state;
    assert_int_equal(gw_buf_append_json_str(&b, "a\"b\\c/d\n\r\t\x01\x1f"), 0);
    assert_string_equal(b.data,
                        "\"a\\\"b\\\\c/d\\u000a\\u000d\\u0009\\u0001\\u001f\"");
    gw_buf_free(&b);
    assert_null(b.data);

    for (i = 1; i < 40; i++) {
        in[i - 1] = (char) i;
    }
    in[39] = '\0';
    assert_int_equal(gw_buf_append_json_str(&b, in), 0);
    j = cJSON_Parse(b.data);
    assert_non_null(j);
    assert_true(cJSON_IsString(j));
    assert_string_equal(j->valuestring, in);
    cJSON_Delete(j);
    gw_buf_free(&b);

    assert_int_equal(gw_buf_append_json_str(&b, ""), 0);
    assert_string_equal(b.data, "\"\"");
    gw_buf_free(&b);

    /* UTF-8 passes through untouched. */
    assert_int_equal(gw_buf_append_json_str(&b, "\xe9\x93\x83\xe5\xa3\xb0"), 0);
    assert_string_equal(b.data, "\"\xe9\x93\x83\xe5\xa3\xb0\"");
    gw_buf_free(&b);
}

/* Bytes that are not UTF-8 (a decoded request path like /%FF, a header)
 * must not reach a JSON document raw: RFC 8259 JSON is UTF-8, and strict
 * clients (Python's json on bytes, Go) refuse the whole problem+json. Each
 * bad byte becomes \ufffd; well-formed sequences pass through. */
static void
test_buf_append_json_str_utf8(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"/v1/\xff\xfe", "\"/v1/\\ufffd\\ufffd\""},
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},            /* overlong '/' */
        {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""}, /* overlong */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
        {"\xf4\x90\x80\x80x", "\"\\ufffd\\ufffd\\ufffd\\ufffdx\""},
        {"a\xe9\x93", "\"a\\ufffd\\ufffd\""}, /* truncated */
        {"\xe9\x93\x83", "\"\xe9\x93\x83\""},
        {"\xf0\x9f\x8e\xb5!", "\"\xf0\x9f\x8e\xb5!\""},
        {"\xc2\xa9\x7f", "\"\xc2\xa9\x7f\""},
        {"\x80", "\"\\ufffd\""},
    };
    struct gw_buf b = {0};
    size_t        i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(gw_buf_append_json_str(&b, v[i].in), 0);
        assert_string_equal(b.data, v[i].out);
        gw_buf_free(&b);
    }
}

/* The one UTF-8 checker: boundaries of each rule (a checker that lets an
 * overlong, a surrogate or U+110000 through fails here). */
static void
test_utf8(void **state)
{
    static const struct {
        const char *s;
        long        chars;
    } v[] = {
        {"", 0},
        {"abc", 3},
        {"\xc2\x80", 1},  /* U+0080, smallest 2-byte */
        {"\xc1\xbf", -1}, /* overlong */
        {"\xdf\xbf", 1},
        {"\xe0\xa0\x80", 1},      /* U+0800 */
        {"\xe0\x9f\xbf", -1},     /* overlong */
        {"\xed\x9f\xbf", 1},      /* U+D7FF */
        {"\xed\xa0\x80", -1},     /* U+D800 surrogate */
        {"\xed\xbf\xbf", -1},     /* U+DFFF */
        {"\xee\x80\x80", 1},      /* U+E000 */
        {"\xf0\x90\x80\x80", 1},  /* U+10000 */
        {"\xf0\x8f\xbf\xbf", -1}, /* overlong */
        {"\xf4\x8f\xbf\xbf", 1},  /* U+10FFFF */
        {"\xf4\x90\x80\x80", -1}, /* U+110000 */
        {"\xf5\x80\x80\x80", -1},
        {"\x80", -1},
        {"\xe8\x8c", -1}, /* truncated */
        {"\xe8\x8c\x89\xe8\x8e\x89", 2},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(gw_utf8_chars(v[i].s, strlen(v[i].s)), v[i].chars);
        assert_int_equal(gw_utf8_valid(v[i].s, strlen(v[i].s)),
                         v[i].chars >= 0);
    }
    /* Bounded: a sequence cut by n is invalid even if bytes follow. */
    assert_int_equal(gw_utf8_seq_len((const unsigned char *) "\xe8\x8c\x89", 2),
                     0);
}

/* The escaper never splits a sequence or an escape when out is full. */
static void
test_json_escape_bounded(void **state)
{
    char   out[16];
    size_t used, n;

    (void) state;
    n = gw_json_escape(out, 4, "ab\xe8\x8c\x89", 5, &used);
    assert_int_equal(n, 2);
    assert_int_equal(used, 2);
    n = gw_json_escape(out, 7, "a\n", 2, &used);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a\\u000a", 7);
    n = gw_json_escape(out, 6, "a\n", 2, &used);
    assert_int_equal(n, 1);
    assert_int_equal(used, 1);
    assert_int_equal(gw_user_id_valid("demo-user", 9), 1);
    assert_int_equal(gw_user_id_valid("demo-user ", 10), 0);
    assert_int_equal(gw_user_id_valid("", 0), 0);
}

/* Growth across many appends and a large printf (a wrong capacity
 * computation shows up as a heap overflow under ASan/valgrind). */
static void
test_buf_growth(void **state)
{
    struct gw_buf b = {0};
    char          big[5000];
    int           i;

    (void) state;
    for (i = 0; i < 1000; i++) {
        assert_int_equal(gw_buf_printf(&b, "%d,", i % 10), 0);
    }
    assert_int_equal(b.len, 2000);
    assert_int_equal(strlen(b.data), 2000);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(gw_buf_printf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 2000 + 2 + sizeof(big) - 1);
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.cap > b.len);
    assert_int_equal(gw_buf_append(&b, "\0z", 2), 0);
    assert_int_equal(b.len, 2000 + 2 + sizeof(big) - 1 + 2);
    gw_buf_free(&b);
}

/* Hex, SHA-256 and HMAC-SHA256 against published vectors (RFC 4231 test
 * case 2), and the constant-time comparison. */
static void
test_hashes(void **state)
{
    static const unsigned char raw[] = {0x00, 0x0f, 0xa5, 0xff};
    unsigned char              mac[32], big[131];
    char                       hex[65];

    (void) state;
    gw_hex_encode(raw, sizeof(raw), hex);
    assert_string_equal(hex, "000fa5ff");
    gw_sha256_hex("abc", 3, hex);
    assert_string_equal(hex,
                        "ba7816bf8f01cfea414140de5dae2223"
                        "b00361a396177a9cb410ff61f20015ad");
    gw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    gw_hex_encode(mac, 32, hex);
    assert_string_equal(hex,
                        "5bdcc146bf60754e6a042426089575c7"
                        "5a003f089d2739839dec58b964ec3843");
    /* RFC 4231 case 6: a key longer than the block is hashed first. */
    memset(big, 0xaa, sizeof(big));
    gw_hmac_sha256(big, sizeof(big),
                   "Test Using Larger Than Block-Size Key - Hash Key First", 54,
                   mac);
    gw_hex_encode(mac, 32, hex);
    assert_string_equal(hex,
                        "60e431591ee0b67f0d8a26aacbf5b77f"
                        "8e0bc6213728c5140546040f0ee37f54");
    /* A 64-byte key (the block) is used as is. */
    gw_hmac_sha256(big, 64, "abc", 3, mac);
    gw_hex_encode(mac, 32, hex);
    assert_string_equal(hex,
                        "2f8cff867f2668ca93d3c5b03ba9f816"
                        "746742eda349b3bc4bb35aa27816754c");
    assert_int_equal(gw_ct_equal("abcd", "abcd", 4), 1);
    assert_int_equal(gw_ct_equal("abcd", "abce", 4), 0);
    assert_int_equal(gw_ct_equal("xbcd", "abcd", 4), 0);
    assert_int_equal(gw_ct_equal("a", "b", 0), 1);
}

/* RFC 3339 formatting (UTC, zero-padded, milliseconds). */
static void
test_time_format(void **state)
{
    char out[32];

    (void) state;
    gw_time_rfc3339(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    gw_time_rfc3339(1795860000, out, sizeof(out));
    assert_string_equal(out, "2026-11-28T10:00:00Z");
    gw_time_rfc3339_ms(1795860000007LL, out, sizeof(out));
    assert_string_equal(out, "2026-11-28T10:00:00.007Z");
}

/*
 * The millisecond form remembers the last second it formatted: the same
 * second with other milliseconds, the next second, a second seen before,
 * and a buffer too short for the whole text (cut as snprintf cuts it).
 */
static void
test_time_format_ms_memo(void **state)
{
    static const struct {
        int64_t     ms;
        const char *want;
    } v[] = {
        {1795860000007LL, "2026-11-28T10:00:00.007Z"},
        {1795860000999LL, "2026-11-28T10:00:00.999Z"},
        {1795860000120LL, "2026-11-28T10:00:00.120Z"},
        {1795860001000LL, "2026-11-28T10:00:01.000Z"},
        {1795860000450LL, "2026-11-28T10:00:00.450Z"},
        {0, "1970-01-01T00:00:00.000Z"},
        {59999, "1970-01-01T00:00:59.999Z"},
        {1795946399999LL, "2026-11-29T09:59:59.999Z"},
        {1795946400000LL, "2026-11-29T10:00:00.000Z"},
    };
    char   out[32];
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(out, 'z', sizeof(out));
        gw_time_rfc3339_ms(v[i].ms, out, sizeof(out));
        assert_string_equal(out, v[i].want);
    }
    gw_time_rfc3339_ms(1795860000007LL, out, 12);
    assert_string_equal(out, "2026-11-28T");
    gw_time_rfc3339_ms(1795860000007LL, out, 25);
    assert_string_equal(out, "2026-11-28T10:00:00.007Z");
    assert_true(gw_now_s() > 1700000000);
    assert_true(gw_mono_us() > 0);
}

/* FNV-1a 64 test vectors (the reference's): a wrong basis or prime, a
 * sign-extended byte or a string hash that differs from the bytes hash. */
static void
test_hash_fnv1a(void **state)
{
    (void) state;
    assert_true(gw_hash_str("") == 0xcbf29ce484222325ULL);
    assert_true(gw_hash_str("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(gw_hash_str("foobar") == 0x85944171f73967e8ULL);
    assert_true(gw_hash_bytes("foobar", 6) == gw_hash_str("foobar"));
    assert_true(gw_hash_bytes("\xff", 1) == gw_hash_str("\xff"));
    assert_true(gw_hash_bytes("\xff", 1) != gw_hash_str("\x7f"));
}

/*
 * gw_random_bytes hands out a per-thread block of RAND_bytes output: every
 * take is new bytes (no offset handed out twice, none zeroed before it is
 * copied), across block refills and for odd sizes.
 */
static void
test_random_distinct(void **state)
{
    enum { N = 400, LEN = 10 };
    static unsigned char got[N][LEN];
    unsigned char        zero[LEN] = {0}, big[64];
    size_t               i, j;

    (void) state;
    for (i = 0; i < N; i++) {
        assert_int_equal(gw_random_bytes(got[i], (i % 7) ? LEN : 3), 0);
        if (i % 7) {
            assert_memory_not_equal(got[i], zero, LEN);
        }
    }
    for (i = 0; i < N; i++) {
        for (j = i + 1; j < N; j++) {
            if (i % 7 && j % 7) { /* the 3-byte takes may repeat */
                assert_memory_not_equal(got[i], got[j], LEN);
            }
        }
    }
    assert_int_equal(gw_random_bytes(big, sizeof(big)), 0); /* direct */
}

/*
 * A forked child must not repeat its parent's bytes: the parent's block is
 * copied into the child, so without the fork handler both would hand out
 * the same next bytes (a worker's notification ids and claim tokens equal
 * to its siblings').
 */
static void
test_random_fork(void **state)
{
    unsigned char mine[16], child[16];
    int           fd[2], status;
    pid_t         pid;

    (void) state;
    assert_int_equal(gw_random_bytes(mine, 4), 0); /* the block is filled */
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ssize_t w = -1;

        if (gw_random_bytes(child, sizeof(child)) == 0) {
            w = write(fd[1], child, sizeof(child));
        }
        _exit(w == (ssize_t) sizeof(child) ? 0 : 1);
    }
    close(fd[1]);
    assert_int_equal(read(fd[0], child, sizeof(child)),
                     (ssize_t) sizeof(child));
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(gw_random_bytes(mine, sizeof(mine)), 0);
    assert_memory_not_equal(mine, child, sizeof(child));
}

/* gw_arena_printf formats in place when the text fits the current
 * chunk's free space (exactly, with its NUL), else into a new chunk; what
 * it returned is never handed out again. */
/* Catches: a key past its buffer, a wrong tag position, a NUL left out. */
static void
test_tagged_key(void **state)
{
    char out[16];

    (void) state;
    assert_int_equal(gw_tagged_key(out, sizeof(out), "vas:x:", "u1", ":s"), 0);
    assert_string_equal(out, "vas:x:{u1}:s");
    /* 6 + 2 + 6 + 3 = 17 bytes with the NUL: one too many */
    assert_int_equal(gw_tagged_key(out, sizeof(out), "vas:x:", "u1", ":seqs"),
                     0);
    assert_int_equal(gw_tagged_key(out, sizeof(out), "vas:x:", "u1", ":seqss"),
                     -1);
    assert_string_equal(out, "");
}

static void
test_arena_printf(void **state)
{
    struct gw_arena a;
    char           *base, *p, *q, *r, long_text[200];

    (void) state;
    assert_int_equal(gw_arena_init(&a), 0);
    base = gw_arena_alloc(&a, GW_ARENA_FIRST_BYTES - 32); /* 32 bytes left */
    assert_non_null(base);
    p = gw_arena_printf(&a, "%s-%d", "0123456789012345678901234", 12345);
    assert_ptr_equal(p, base + GW_ARENA_FIRST_BYTES - 32); /* 31 + NUL */
    assert_string_equal(p, "0123456789012345678901234-12345");
    q = gw_arena_alloc(&a, 16); /* the first chunk is full */
    assert_non_null(q);
    assert_true(q < base || q >= base + GW_ARENA_FIRST_BYTES);
    memset(q, 'q', 16);
    assert_string_equal(p, "0123456789012345678901234-12345");
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    r = gw_arena_alloc(&a, GW_ARENA_CHUNK_BYTES - 16 - 64); /* 64 left */
    assert_non_null(r);
    p = gw_arena_printf(&a, "<%s>", long_text); /* does not fit: new chunk */
    assert_non_null(p);
    assert_int_equal(strlen(p), sizeof(long_text) + 1);
    assert_true(p[0] == '<' && p[sizeof(long_text)] == '>');
    q = gw_arena_printf(&a, "%d", 7);
    assert_true(q >= p + sizeof(long_text) + 2 || q + 2 <= p);
    assert_string_equal(q, "7");
    assert_int_equal(p[sizeof(long_text)], '>');
    gw_arena_reset(&a);
    p = gw_arena_printf(&a, "%s", "after reset");
    assert_ptr_equal(p, base);
    gw_arena_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_size_cap),
        cmocka_unit_test(test_hash_fnv1a),
        cmocka_unit_test(test_b64url_round_trip),
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_invalid),
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_is_token),
        cmocka_unit_test(test_buf_append_json_str),
        cmocka_unit_test(test_buf_append_json_str_utf8),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_escape_bounded),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_format_ms_memo),
        cmocka_unit_test(test_random_distinct),
        cmocka_unit_test(test_random_fork),
        cmocka_unit_test(test_arena_printf),
        cmocka_unit_test(test_tagged_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
